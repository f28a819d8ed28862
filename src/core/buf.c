/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * buf: the only place that does index arithmetic on wire bytes.  Every
 * getter checks what is left before reading; every putter checks (or
 * grows) the room before writing.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WBUF_MIN_GROW 256

void
rbuf_init(struct rbuf *b, const void *p, size_t len)
{
	b->p = p;
	b->len = len;
	b->off = 0;
}

size_t
rbuf_remaining(const struct rbuf *b)
{
	return b->len - b->off;
}

int
buf_get_bytes(struct rbuf *b, size_t n, const uint8_t **ret)
{
	if (rbuf_remaining(b) < n)
		return -EBADMSG;
	*ret = b->p + b->off;
	b->off += n;
	return 0;
}

int
buf_skip(struct rbuf *b, size_t n)
{
	const uint8_t *p;

	return buf_get_bytes(b, n, &p);
}

int
buf_get_u8(struct rbuf *b, uint8_t *ret)
{
	const uint8_t *p;

	if (buf_get_bytes(b, 1, &p) < 0)
		return -EBADMSG;
	*ret = p[0];
	return 0;
}

int
buf_get_u16(struct rbuf *b, uint16_t *ret)
{
	const uint8_t *p;

	if (buf_get_bytes(b, 2, &p) < 0)
		return -EBADMSG;
	*ret = (uint16_t)((unsigned)p[0] << 8 | p[1]);
	return 0;
}

int
buf_get_u32(struct rbuf *b, uint32_t *ret)
{
	const uint8_t *p;

	if (buf_get_bytes(b, 4, &p) < 0)
		return -EBADMSG;
	*ret = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int
buf_get_u64(struct rbuf *b, uint64_t *ret)
{
	const uint8_t *p;
	uint64_t v = 0;
	int i;

	if (buf_get_bytes(b, 8, &p) < 0)
		return -EBADMSG;
	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	*ret = v;
	return 0;
}

void
wbuf_init(struct wbuf *b, void *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->max = cap;
	b->growable = false;
}

void
wbuf_init_growable(struct wbuf *b, size_t max)
{
	b->p = NULL;
	b->cap = 0;
	b->len = 0;
	b->max = max;
	b->growable = true;
}

void
wbuf_fini(struct wbuf *b)
{
	if (b->growable) {
		free(b->p);
		b->p = NULL;
		b->cap = b->len = 0;
	}
}

/* Make room for n more bytes. */
static int
reserve(struct wbuf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *np;

	/* max holds even where the array has room (a lowered max). */
	if (n > b->max - b->len)
		return -ENOBUFS;
	if (b->cap - b->len >= n)
		return 0;
	if (!b->growable)
		return -ENOBUFS;
	need = b->len + n;
	ncap = b->cap < WBUF_MIN_GROW ? WBUF_MIN_GROW : b->cap;
	while (ncap < need)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if (ncap > b->max)
		ncap = b->max;
	np = realloc(b->p, ncap);
	if (np == NULL)
		return -ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

uint8_t *
buf_put_space(struct wbuf *b, size_t n)
{
	uint8_t *p;

	if (reserve(b, n) < 0)
		return NULL;
	p = b->p + b->len;
	b->len += n;
	return p;
}

int
buf_put_bytes(struct wbuf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = reserve(b, n)) < 0)
		return r;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_put_u8(struct wbuf *b, uint8_t v)
{
	return buf_put_bytes(b, &v, 1);
}

int
buf_put_u16(struct wbuf *b, uint16_t v)
{
	uint8_t p[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return buf_put_bytes(b, p, sizeof(p));
}

int
buf_put_u32(struct wbuf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	return buf_put_bytes(b, p, sizeof(p));
}

int
buf_put_u64(struct wbuf *b, uint64_t v)
{
	uint8_t p[8];
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
	return buf_put_bytes(b, p, sizeof(p));
}

int
buf_printf(struct wbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	/* vsnprintf needs room for the NUL it always writes. */
	if ((r = reserve(b, (size_t)n + 1)) < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}
