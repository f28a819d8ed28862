/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * unit_util: hex decoding and the golden capture loader for the unit
 * tests.
 */
#include "unit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t unit_key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	14, 15, 16 };

static int
nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t
unit_hex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (*hex != '\0') {
		int hi, lo;

		if (isspace((unsigned char)*hex)) {
			hex++;
			continue;
		}
		hi = nibble(hex[0]);
		lo = hex[1] != '\0' ? nibble(hex[1]) : -1;
		ck_assert_msg(hi >= 0 && lo >= 0, "bad hex near \"%s\"", hex);
		ck_assert_msg(n < max, "hex longer than %zu bytes", max);
		out[n++] = (uint8_t)(hi << 4 | lo);
		hex += 2;
	}
	return n;
}

uint8_t *
unit_dup(const void *p, size_t len)
{
	uint8_t *q = malloc(len > 0 ? len : 1);

	ck_assert_ptr_nonnull(q);
	if (len > 0)
		memcpy(q, p, len);
	return q;
}

void
unit_golden(const char *name, struct golden *g)
{
	const char *dir = getenv("EPMDD_TEST_DATA");
	char path[512], line[1024];
	FILE *f;

	memset(g, 0, sizeof(*g));
	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "tests/data",
	    name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open golden capture %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		long long t;

		if (sscanf(line, "# clock: %lld", &t) == 1) {
			g->has_clock = true;
			g->clock = t;
		} else if (line[0] == '>' && line[1] == ' ')
			g->reqlen += unit_hex(line + 2, g->req + g->reqlen,
			    sizeof(g->req) - g->reqlen);
		else if (line[0] == '<' && line[1] == ' ')
			g->replen += unit_hex(line + 2, g->rep + g->replen,
			    sizeof(g->rep) - g->replen);
	}
	fclose(f);
	ck_assert_msg(g->reqlen > 0, "%s holds no request", path);
}
