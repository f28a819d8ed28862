/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * util: tiny helpers shared by every module: container_of, ARRAY_SIZE,
 * a TAILQ_FOREACH_SAFE fallback, bounded string copy and strict decimal
 * parsing.  Pure: no I/O, no global state.
 */
#ifndef EPMDD_UTIL_H
#define EPMDD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)             \
	for ((var) = TAILQ_FIRST(head);                        \
	     (var) && ((tvar) = TAILQ_NEXT(var, field), 1);    \
	     (var) = (tvar))
#endif

#define UTIL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define UTIL_MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Parse a whole string as an unsigned decimal number in [min, max].
 * Leading '+', '-', spaces or trailing garbage are rejected.
 * Returns 0 and stores the value in *ret, or -EINVAL / -ERANGE.
 */
int util_parse_uint(const char *s, unsigned long long min,
    unsigned long long max, unsigned long long *ret);

/*
 * Copy at most size-1 bytes of src into dst and NUL-terminate it
 * (size > 0).  Returns the length of src, so truncation is
 * detectable as a return value >= size (strlcpy semantics).
 */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/*
 * Format len bytes as printable text into dst (size > 0): printable
 * ASCII is copied, anything else becomes \xNN.  Always NUL-terminates,
 * truncating with "..." if needed.  For logging peer-supplied names.
 */
void util_escape(char *dst, size_t size, const uint8_t *src, size_t len);

#endif
