/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * codec: the EPMD wire format of OTP 25 (erts/epmd), both directions.
 * Framing, request decoders (server side), reply encoders (server side),
 * and the request encoders / reply decoders that clients (epmd -names,
 * epmdctl lookup, the benchmark) use.  Bytes in, structs out; no policy,
 * no I/O, no state.  Decoded structs borrow pointers into the caller's
 * buffer.
 */
#ifndef EPMDD_CODEC_H
#define EPMDD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/* Sizes, from erts/epmd/src/epmd_int.h. */
#define CODEC_MAXSYMLEN 1020	/* MAXSYMLEN: 255 chars of 4 bytes */
#define CODEC_INBUF_SIZE (3 * CODEC_MAXSYMLEN) /* INBUF_SIZE = 3060 */
/* The most bytes OTP's first read() of a request asks for. */
#define CODEC_FIRST_READ (CODEC_INBUF_SIZE - 1)
/* Largest accepted body (Length); Length + 2 >= INBUF_SIZE is refused. */
#define CODEC_MAX_BODY (CODEC_INBUF_SIZE - 3)
#define CODEC_MAX_NAME_BYTES CODEC_MAXSYMLEN
#define CODEC_MAX_NAME_CHARS 255 /* epmd_srv.c: utf8 count 1..255 */
#define CODEC_MAX_EXTRA CODEC_MAXSYMLEN
/* Longest name the OTP epmd client (-stop) accepts on its command line. */
#define CODEC_CLIENT_MAX_NAME 1000

/* Request tags (erts/epmd/src/epmd.h). */
#define CODEC_ALIVE2_REQ 'x'	  /* 120 */
#define CODEC_PORT_PLEASE2_REQ 'z' /* 122 */
#define CODEC_NAMES_REQ 'n'	  /* 110 */
#define CODEC_DUMP_REQ 'd'	  /* 100 */
#define CODEC_KILL_REQ 'k'	  /* 107 */
#define CODEC_STOP_REQ 's'	  /* 115 */
/* Reply tags. */
#define CODEC_ALIVE2_RESP 'y'	/* 121, 16-bit creation */
#define CODEC_ALIVE2_X_RESP 'v' /* 118, 32-bit creation */
#define CODEC_PORT2_RESP 'w'	/* 119 */

/* HighestVersion from which the 32-bit ALIVE2_X_RESP is sent. */
#define CODEC_X_RESP_VERSION 6
/* Creation sent with a failed ALIVE2 (epmd_srv.c). */
#define CODEC_ERROR_CREATION 99

/* Longest reply that is not a list: PORT2_RESP with the longest name/extra. */
#define CODEC_MAX_PORT2_RESP (14 + CODEC_MAX_BODY)

/* A decoded ALIVE2_REQ; name and extra point into the request. */
struct codec_alive2 {
	uint16_t port;
	uint8_t type;
	uint8_t proto;
	uint16_t hv;
	uint16_t lv;
	uint16_t nlen;
	uint16_t elen;
	const uint8_t *name;
	const uint8_t *extra;
};

/* A decoded PORT2_RESP (client side). */
struct codec_port2 {
	uint8_t result;
	uint16_t port;
	uint8_t type;
	uint8_t proto;
	uint16_t hv;
	uint16_t lv;
	uint16_t nlen;
	uint16_t elen;
	const uint8_t *name;
	const uint8_t *extra;
};

/*
 * Framing.  Given the first len bytes of a connection, return the whole
 * frame size (2 + Length) once both length bytes are present, 0 while
 * fewer than 2 bytes are there, -EBADMSG for Length 0 and -EMSGSIZE for
 * Length > CODEC_MAX_BODY.
 */
ssize_t codec_frame_size(const uint8_t *p, size_t len);

/*
 * Count the characters of a UTF-8 string with OTP epmd's strict rules
 * (no overlong forms, no surrogates, nothing above U+10FFFF, no
 * truncated sequences).  Returns the count, or -EILSEQ.
 */
ssize_t codec_utf8_count(const uint8_t *s, size_t len);

/*
 * Decode an ALIVE2_REQ body (bsize bytes, tag included).  Returns 0, or
 * -EBADMSG for the inputs OTP closes without a reply (too short, name or
 * extra size past the end, NUL in the name); *why then names the fault
 * for a debug log.  Semantic limits (name length and encoding, extra
 * length) are not checked here: see codec_check_alive2.
 */
int codec_parse_alive2(const uint8_t *body, size_t bsize,
    struct codec_alive2 *ret, const char **why);

/* Why a well-formed ALIVE2 is refused with an error reply. */
enum codec_alive2_fault {
	CODEC_ALIVE2_OK = 0,
	CODEC_ALIVE2_NAME_TOO_LONG,
	CODEC_ALIVE2_NAME_ENCODING,
	CODEC_ALIVE2_NAME_CONTROL,
	CODEC_ALIVE2_EXTRA_TOO_LONG,
};

/*
 * Check a decoded ALIVE2 against the name and extra limits, OTP's order.
 * One check is epmdd's own, after OTP's encoding check: a name holding a
 * control character (C0 or DEL; NUL is already malformed) is refused, as
 * it would forge lines in NAMES replies and no Erlang node has one.
 */
enum codec_alive2_fault codec_check_alive2(const struct codec_alive2 *a);

/*
 * Decode a PORT_PLEASE2_REQ body.  One trailing NUL is dropped.  Returns
 * 0 with the name in *ret_name and *ret_len, or -EBADMSG (empty name, NUL
 * inside, bad UTF-8, more than CODEC_MAX_NAME_CHARS characters).
 */
int codec_parse_port2(const uint8_t *body, size_t bsize,
    const uint8_t **ret_name, size_t *ret_len, const char **why);

/*
 * Decode a STOP_REQ body: the name ends at the first NUL or the end.
 * Returns 0, or -EBADMSG for an empty body.
 */
int codec_parse_stop(const uint8_t *body, size_t bsize,
    const uint8_t **ret_name, size_t *ret_len);

/* Reply encoders.  Each returns 0 or the putter's negative errno. */

/* ALIVE2_RESP or ALIVE2_X_RESP, chosen by the request's HighestVersion. */
int codec_put_alive2_resp(struct wbuf *w, uint16_t hv, uint8_t result,
    uint32_t creation);
int codec_put_port2_resp(struct wbuf *w, const struct codec_alive2 *n);
int codec_put_port2_missing(struct wbuf *w);
/* The u32 port header of NAMES and DUMP replies. */
int codec_put_names_header(struct wbuf *w, uint32_t port);
int codec_put_names_line(struct wbuf *w, const uint8_t *name, size_t nlen,
    uint16_t port);
int codec_put_dump_active(struct wbuf *w, const uint8_t *name, size_t nlen,
    uint16_t port, int fd);
int codec_put_dump_old(struct wbuf *w, const uint8_t *name, size_t nlen,
    uint16_t port, int fd);

/* Client side: request encoders (framed, length prefix included). */
int codec_put_alive2_req(struct wbuf *w, const struct codec_alive2 *a);
int codec_put_port2_req(struct wbuf *w, const uint8_t *name, size_t nlen);
int codec_put_stop_req(struct wbuf *w, const uint8_t *name, size_t nlen);
/* NAMES, DUMP, KILL: a bare tag. */
int codec_put_simple_req(struct wbuf *w, uint8_t tag);

/*
 * Client side: decode a PORT2_RESP.  Returns the number of bytes used
 * (> 0), 0 if more bytes are needed, -EBADMSG if it is not a PORT2_RESP.
 * A miss is a 2-byte reply with result != 0.
 */
ssize_t codec_parse_port2_resp(const uint8_t *p, size_t len,
    struct codec_port2 *ret);

/*
 * Client side: decode an ALIVE2 reply of either form.  Returns bytes
 * used (4 or 6), 0 if more are needed, -EBADMSG otherwise.
 */
ssize_t codec_parse_alive2_resp(const uint8_t *p, size_t len,
    uint8_t *ret_result, uint32_t *ret_creation);

#endif
