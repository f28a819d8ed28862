/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * output: epmdctl's warnings on standard error, and its JSON writer:
 * arbitrary bytes as JSON strings (epmdctl(1), JSON), hex strings, and
 * the document of a failed command.  Tables and other text are
 * format.c's.
 */
#include "output.h"

#include <stdarg.h>
#include <string.h>

#include "codec.h"
#include "epmdctl.h"
#include "policy.h"

static struct {
	bool quiet;		/* warnings recorded, not printed */
	char last_warning[512]; /* for output_failure */
	bool json_done;		/* a document was printed, failure or not */
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

void
output_json_bytes(FILE *f, const uint8_t *p, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	fputc('"', f);
	while (i < len) {
		uint8_t c = p[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else if (c >= 0x80) {
			if ((n = utf8_seq(p + i, len - i)) == 0) {
				fprintf(f, "\\u%04x", c);
				i++;
				continue;
			}
			if (policy_find_hidden(p + i, n, &cp) == 0)
				fprintf(f, "\\u%04x", (unsigned)cp);
			else
				fwrite(p + i, 1, n, f);
			i += n;
			continue;
		} else
			fputc(c, f);
		i++;
	}
	fputc('"', f);
}

void
output_json_str(FILE *f, const char *s)
{
	output_json_bytes(f, (const uint8_t *)s, strlen(s));
}

void
output_json_hex(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

void
output_json_words(const struct ctl_msg *m, const char *key, bool *first)
{
	char text[CTL_MAX_VALUE + 1], *tok, *save = NULL;

	ctlproto_str(m, key, text, sizeof(text));
	for (tok = strtok_r(text, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		printf("%s", *first ? "" : ",");
		output_json_str(stdout, tok);
		*first = false;
	}
}

void
output_json_done(void)
{
	S.json_done = true;
}

void
output_failure(bool json, int status)
{
	if (!json || status == EXIT_OK || S.json_done)
		return;
	printf("{\"ok\":false,\"error\":\"%s\",\"message\":",
	    status == EXIT_UNREACHABLE ? "unreachable"
	    : status == EXIT_USAGE     ? "usage"
				       : "failed");
	output_json_str(stdout, S.last_warning);
	printf("}\n");
}
