/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * output: what epmdctl writes besides its tables: warnings on standard
 * error (the last one kept for --json's failure document), and the JSON
 * writer: strings of arbitrary bytes escaped as epmdctl(1) documents,
 * hex strings, and the document a failed command prints with --json.
 */
#ifndef EPMDD_OUTPUT_H
#define EPMDD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctlproto.h"

/*
 * "epmdctl: MESSAGE" on standard error (standard output flushed first),
 * unless quiet; the message is kept either way for output_failure.
 */
void output_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Keep warnings from standard error (true) or not (false). */
void output_quiet(bool quiet);

/*
 * A JSON string of arbitrary bytes.  Bytes that are not UTF-8 (a
 * refused name in watch) are written as the code point of the same
 * value, so the document stays valid.  Control characters, C1 (U+0080
 * to U+009F, which some terminals obey) included, and the other
 * characters that look like a space or like nothing (policy_char_hidden)
 * are escaped as \uXXXX.
 */
void output_json_bytes(FILE *f, const uint8_t *p, size_t len);

/* A JSON string of a C string, escaped as output_json_bytes. */
void output_json_str(FILE *f, const char *s);

/* Bytes that may not be UTF-8 (extra data): as a hex string. */
void output_json_hex(FILE *f, const uint8_t *p, size_t len);

/*
 * The words of the bytes field key ("a b c") as JSON strings, each
 * after a comma but the first (*first, then false).
 */
void output_json_words(const struct ctl_msg *m, const char *key,
    bool *first);

/*
 * The command has printed its JSON document, failure or not: the
 * document output_failure would print is not wanted.
 */
void output_json_done(void);

/*
 * With --json (json true), a command that failed (status not 0) without
 * a document of its own (the daemon or host unreachable, no answer)
 * still prints one, built from its exit status and the last warning.
 */
void output_failure(bool json, int status);

#endif
