/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * buf: bounds-checked big-endian cursors over byte buffers.  rbuf reads
 * peer bytes and never moves past its end; wbuf writes replies into a
 * fixed array or, when made growable, into a heap array it owns.
 * Pure: no I/O, no global state.
 */
#ifndef EPMDD_BUF_H
#define EPMDD_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A read cursor.  Borrows p; never writes it. */
struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
};

/*
 * A write cursor.  With a fixed array (wbuf_init) it borrows p and puts
 * fail with -ENOBUFS when cap is reached.  A growable wbuf
 * (wbuf_init_growable) owns p, grows it with realloc up to max bytes and
 * must be released with wbuf_fini.
 */
struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	size_t max;
	bool growable;
};

void rbuf_init(struct rbuf *b, const void *p, size_t len);

/* Bytes not yet consumed. */
size_t rbuf_remaining(const struct rbuf *b);

/*
 * Getters: on success advance the cursor, store the value in *ret and
 * return 0; with too few bytes left return -EBADMSG and leave both the
 * cursor and *ret untouched.
 */
int buf_get_u8(struct rbuf *b, uint8_t *ret);
int buf_get_u16(struct rbuf *b, uint16_t *ret);
int buf_get_u32(struct rbuf *b, uint32_t *ret);
int buf_get_u64(struct rbuf *b, uint64_t *ret);
/* Borrow n bytes: *ret points into the buffer. */
int buf_get_bytes(struct rbuf *b, size_t n, const uint8_t **ret);
int buf_skip(struct rbuf *b, size_t n);

void wbuf_init(struct wbuf *b, void *p, size_t cap);
/*
 * A growable buffer starting empty, never larger than max bytes; a
 * caller may lower max later (not below len), and then it holds even
 * where the array already has room.
 */
void wbuf_init_growable(struct wbuf *b, size_t max);
/* Free a growable buffer's array; a no-op for fixed ones. */
void wbuf_fini(struct wbuf *b);

/*
 * Putters: append and return 0, or return -ENOBUFS (no room, or max
 * reached) / -ENOMEM (growth failed) and append nothing.
 */
int buf_put_u8(struct wbuf *b, uint8_t v);
int buf_put_u16(struct wbuf *b, uint16_t v);
int buf_put_u32(struct wbuf *b, uint32_t v);
int buf_put_u64(struct wbuf *b, uint64_t v);
int buf_put_bytes(struct wbuf *b, const void *p, size_t n);
/*
 * Room for n more bytes: returns where to write them (and counts them
 * as written), or NULL (-ENOBUFS/-ENOMEM cases) with nothing changed.
 * For encoders that know a reply's size up front.
 */
uint8_t *buf_put_space(struct wbuf *b, size_t n);
/* Big-endian stores into such space. */
static inline uint8_t *
buf_store_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

/* printf into the buffer (no NUL stored). */
int buf_printf(struct wbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
