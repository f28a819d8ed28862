/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * output: epmdctl's warnings on standard error, and its JSON writer:
 * arbitrary bytes as JSON strings (epmdctl(1), JSON), hex strings, and
 * the document of a failed command.  Tables and other text are
 * format.c's.
 */
#include "output.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctlschema.h"
#include "epmdctl.h"
#include "format.h"
#include "policy.h"

static struct {
	bool quiet;		/* warnings recorded, not printed */
	char last_warning[512]; /* for output_failure */
	bool json_done;		/* a document went out, or none is due */
} S;

void
output_warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vsnprintf(S.last_warning, sizeof(S.last_warning), fmt, ap);
	va_end(ap);
	if (!S.quiet)
		fprintf(stderr, "epmdctl: %s\n", S.last_warning);
}

void
output_quiet(bool quiet)
{
	S.quiet = quiet;
}

const char *
output_last_warning(void)
{
	return S.last_warning;
}

/* Length of a valid UTF-8 sequence at p (OTP's rules), or 0. */
static size_t
utf8_seq(const uint8_t *p, size_t left)
{
	size_t n;

	for (n = 1; n <= 4 && n <= left; n++)
		if (codec_utf8_count(p, n) == 1)
			return n;
	return 0;
}

json_t *
output_json_bytes(const uint8_t *p, size_t len)
{
	char *text;
	size_t i = 0, n, out = 0;
	json_t *v;

	/* Each byte that is not UTF-8 takes two as a code point. */
	if ((text = malloc(len * 2 + 1)) == NULL)
		return NULL;
	while (i < len) {
		if (p[i] < 0x80)
			n = 1;
		else if ((n = utf8_seq(p + i, len - i)) == 0) {
			text[out++] = (char)(0xc0 | p[i] >> 6);
			text[out++] = (char)(0x80 | (p[i] & 0x3f));
			i++;
			continue;
		}
		memcpy(text + out, p + i, n);
		out += n;
		i += n;
	}
	v = json_stringn(text, out);
	free(text);
	return v;
}

json_t *
output_json_str(const char *s)
{
	return output_json_bytes((const uint8_t *)s, strlen(s));
}

json_t *
output_json_hex(const uint8_t *p, size_t len)
{
	char *text;
	size_t i;
	json_t *v;

	if ((text = malloc(len * 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		snprintf(text + i * 2, 3, "%02x", p[i]);
	text[len * 2] = '\0';
	v = json_string(text);
	free(text);
	return v;
}

json_t *
output_json_words(const char *text)
{
	char *copy = strdup(text), *tok, *save = NULL;
	json_t *a = json_array();

	if (copy == NULL || a == NULL) {
		free(copy);
		json_decref(a);
		return NULL;
	}
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save))
		json_array_append_new(a, output_json_str(tok));
	free(copy);
	return a;
}

json_t *
output_json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

void
output_json_set(json_t *obj, const uint8_t *key, size_t klen, json_t *value)
{
	json_t *k = output_json_bytes(key, klen);

	if (k != NULL)
		json_object_setn_new(obj, json_string_value(k),
		    json_string_length(k), value);
	else
		json_decref(value);
	json_decref(k);
}

/* One field's value as the table says; NULL for a type (two keys). */
static json_t *
field_json(json_t *doc, const struct ctl_field *f)
{
	const struct ctlschema_field *sf = ctlschema_lookup(f->key, f->klen);
	char text[CTL_MAX_VALUE + 1];

	if (sf == NULL || ctlschema_wire_kind(sf) != f->kind)
		return f->kind == CTL_U64 ? output_json_u64(f->u)
					  : output_json_bytes(f->p, f->len);
	switch (sf->json) {
	case CTLSCHEMA_JSON_BOOL:
		return json_boolean(f->u != 0);
	case CTLSCHEMA_JSON_WORDS:
		memcpy(text, f->p, f->len);
		text[f->len] = '\0';
		return output_json_words(text);
	case CTLSCHEMA_JSON_TYPE:
		output_json_set(doc, (const uint8_t *)f->key, f->klen,
		    json_string(format_type_name(f->u)));
		json_object_set_new(doc, "type_code", output_json_u64(f->u));
		return NULL;
	case CTLSCHEMA_JSON_UID:
		return f->u >= UINT32_MAX ? json_null() : output_json_u64(f->u);
	case CTLSCHEMA_JSON_HEX:
		return output_json_hex(f->p, f->len);
	case CTLSCHEMA_JSON_STRING:
		return output_json_bytes(f->p, f->len);
	default:
		return output_json_u64(f->u);
	}
}

void
output_json_message(json_t *doc, const struct ctl_msg *m)
{
	size_t i;

	for (i = 0; doc != NULL && i < m->nfields; i++) {
		const struct ctl_field *f = &m->fields[i];
		json_t *v = field_json(doc, f);

		if (v != NULL)
			output_json_set(doc, (const uint8_t *)f->key, f->klen,
			    v);
	}
}

/*
 * Write jansson's compact text with epmdctl's escapes: \uXXXX (lower
 * case, never \b, \f or \r) for C0, DEL, C1 and hidden characters.
 * Outside strings the text is ASCII without controls, so only strings
 * change.
 */
static void
write_escaped(const char *text, FILE *f)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t len = strlen(text), i = 0, n;
	uint32_t cp;

	while (i < len) {
		uint8_t c = p[i];

		if (c == '\\' && i + 1 < len) {
			char e = (char)p[i + 1];

			if (e == 'b' || e == 'f' || e == 'r') {
				fprintf(f, "\\u%04x",
				    e == 'b' ? 8u : e == 'f' ? 12u : 13u);
				i += 2;
			} else if (e == 'u' && i + 6 <= len) {
				fputs("\\u", f);
				for (n = 2; n < 6; n++)
					fputc(tolower(p[i + n]), f);
				i += 6;
			} else {
				fwrite(p + i, 1, 2, f);
				i += 2;
			}
			continue;
		}
		if (c == 0x7f) {
			fputs("\\u007f", f);
			i++;
			continue;
		}
		if (c < 0x80 || (n = utf8_seq(p + i, len - i)) == 0) {
			fputc(c, f);
			i++;
			continue;
		}
		if (policy_find_hidden(p + i, n, &cp) == 0)
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(p + i, 1, n, f);
		i += n;
	}
}

void
output_json(json_t *doc)
{
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

	S.json_done = true;
	json_decref(doc);
	if (text == NULL) {
		output_warn("out of memory");
		return;
	}
	write_escaped(text, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	free(text);
}

void
output_json_none(void)
{
	S.json_done = true;
}

void
output_failure(bool json, int status)
{
	if (!json || status == EXIT_OK || S.json_done)
		return;
	output_json(json_pack("{s:b,s:s,s:o}", "ok", 0, "error",
	    status == EXIT_UNREACHABLE ? "unreachable"
	    : status == EXIT_USAGE     ? "usage"
				       : "failed",
	    "message", output_json_str(S.last_warning)));
}
