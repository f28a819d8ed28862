/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * util: number parsing, bounded copies and escaping of untrusted bytes
 * for log lines.  Pure helpers with no state.
 */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
util_parse_uint(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *ret)
{
	unsigned long long v = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (~0ULL - (unsigned)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

size_t
util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

void
util_escape(char *dst, size_t size, const uint8_t *src, size_t len)
{
	size_t o = 0, i;

	if (size == 0)
		return;
	for (i = 0; i < len; i++) {
		uint8_t c = src[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > size) {
			if (o + 4 <= size) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1)
			dst[o++] = (char)c;
		else {
			snprintf(dst + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	dst[o] = '\0';
}
