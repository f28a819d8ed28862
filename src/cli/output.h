/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * output: what epmdctl writes besides its tables: warnings on standard
 * error (the last one kept for --json's failure document), and JSON:
 * values for jansson documents from arbitrary bytes, the writer that
 * escapes them as epmdctl(1) documents, and the document a failed
 * command prints with --json.
 */
#ifndef EPMDD_OUTPUT_H
#define EPMDD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ctlproto.h"

/*
 * "epmdctl: MESSAGE" on standard error (standard output flushed first),
 * unless quiet; the message is kept either way for output_failure.
 */
void output_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Keep warnings from standard error (true) or not (false). */
void output_quiet(bool quiet);

/*
 * The last warning, said or kept ("" if none): for a command that words
 * its failure elsewhere (metrics --http in its answer, check on its
 * line).
 */
const char *output_last_warning(void);

/*
 * JSON values for documents built with jansson.  Each returns a new
 * reference (NULL when out of memory: jansson's setters then fail and
 * the document lacks the value).
 *
 * output_json_bytes: a string of arbitrary bytes.  Bytes that are not
 * UTF-8 (a refused name in watch) become the code point of the same
 * value, so the document stays valid; output_json escapes them.
 */
json_t *output_json_bytes(const uint8_t *p, size_t len);
/* A string of a C string, as output_json_bytes. */
json_t *output_json_str(const char *s);
/* Bytes that may not be UTF-8 (extra data): a hex string. */
json_t *output_json_hex(const uint8_t *p, size_t len);
/* The words of text ("a b c") as an array of strings. */
json_t *output_json_words(const char *text);
/* An unsigned number (at most INT64_MAX, as every counter is). */
json_t *output_json_u64(uint64_t v);

/*
 * Set key (arbitrary bytes, made a string as output_json_bytes) in the
 * object obj to value, whose reference it takes.
 */
void output_json_set(json_t *obj, const uint8_t *key, size_t klen,
    json_t *value);

/*
 * Every field of message m into the object doc, in the message's order,
 * each as ctlschema's table says (a field not in it, or not of the
 * table's kind, as a number or a string by its kind on the wire).
 * CTLSCHEMA_JSON_TYPE sets two keys: the type's name under the field's
 * key, and its number under "type_code".
 */
void output_json_message(json_t *doc, const struct ctl_msg *m);

/*
 * Print a document on one line of standard output, compact, keys in
 * the order they were set, and take its reference.  Control characters
 * (C0, DEL, C1) and the characters that look like a space or like
 * nothing (policy_char_hidden) are written as \uXXXX, as epmdctl(1)
 * says, so that no string reaches a terminal as it is.
 */
void output_json(json_t *doc);

/*
 * The command said all it had to say on standard error (a usage text):
 * with --json, output_failure prints no document for it.
 */
void output_json_none(void);

/*
 * With --json (json true), a command that failed (status not 0) without
 * a document of its own (the daemon or host unreachable, no answer)
 * still prints one, built from its exit status and the last warning.
 * A command that printed a document (output_json) has one.
 */
void output_failure(bool json, int status);

#endif
