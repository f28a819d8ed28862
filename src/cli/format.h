/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * format: epmdctl's text for people: names made safe for a terminal,
 * node types, protocols, versions, durations, users, local times, and
 * padded table cells.  Each writes into the caller's buffer, cut to
 * size; nothing here writes JSON (output.c does).
 */
#ifndef EPMDD_FORMAT_H
#define EPMDD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A name or pattern for a terminal: as it is when it is UTF-8 without
 * control characters (C0, DEL, C1) or characters that look like a space
 * or like nothing (policy_char_hidden), else escaped (\xNN).  Those
 * must not reach a terminal, nor pass for a space or for nothing.
 */
void format_safe(const uint8_t *p, size_t len, char *buf, size_t size);

/* A node type for JSON: "normal", "hidden", "c_node" or "other". */
const char *format_type_name(uint64_t t);

/* A node type for people: "normal", "hidden", "C node", or the number. */
void format_type(uint64_t t, char *buf, size_t size);

/* "tcp" for protocol 0, else the number. */
void format_proto(uint64_t p, char *buf, size_t size);

/* "5-6", or "6" when both ends are the same. */
void format_versions(uint64_t lv, uint64_t hv, char *buf, size_t size);

/* "45s", "5m02s", "2h03m", "4d02h"; a negative count is 0s. */
void format_duration(int64_t secs, char *buf, size_t size);

/* The user's name, else the number; "-" for an unknown uid. */
void format_user(uint64_t uid, char *buf, size_t size);

/* ISO 8601 local time with milliseconds and the offset. */
void format_time(uint64_t ms, char *buf, size_t size);

/* Display width of UTF-8 text, counted in code points. */
size_t format_width(const char *s);

/*
 * A table cell on standard output, padded to width plus two spaces
 * unless it is the last of its line.
 */
void format_cell(const char *s, size_t width, bool last);

#endif
