/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * codec: EPMD requests and replies as OTP 25's epmd reads and writes
 * them.  Every peer byte is read through an rbuf; the order of the
 * ALIVE2 checks follows epmd_srv.c so that the same malformed request
 * gets the same fate (silent close or error reply).
 */
#include "codec.h"

#include <errno.h>
#include <string.h>

ssize_t
codec_frame_size(const uint8_t *p, size_t len)
{
	size_t body;

	if (len < 2)
		return 0;
	body = (size_t)p[0] << 8 | p[1];
	if (body == 0)
		return -EBADMSG;
	if (body > CODEC_MAX_BODY)
		return -EMSGSIZE;
	return (ssize_t)(body + 2);
}

static bool
is_cont(uint8_t c)
{
	return (c & 0xc0) == 0x80;
}

ssize_t
codec_utf8_count(const uint8_t *s, size_t len)
{
	size_t i = 0;
	ssize_t chars = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;

		if (c < 0x80)
			n = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			n = 2;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4;
		else
			return -EILSEQ; /* continuation, C0/C1, F5..FF */
		if (len - i < n)
			return -EILSEQ;
		if (n >= 2 && !is_cont(s[i + 1]))
			return -EILSEQ;
		if (n >= 3 && !is_cont(s[i + 2]))
			return -EILSEQ;
		if (n == 4 && !is_cont(s[i + 3]))
			return -EILSEQ;
		if (c == 0xe0 && s[i + 1] < 0xa0)
			return -EILSEQ; /* overlong 3-byte form */
		if (c == 0xed && s[i + 1] >= 0xa0)
			return -EILSEQ; /* UTF-16 surrogate */
		if (c == 0xf0 && s[i + 1] < 0x90)
			return -EILSEQ; /* overlong 4-byte form */
		if (c == 0xf4 && s[i + 1] >= 0x90)
			return -EILSEQ; /* above U+10FFFF */
		i += n;
		chars++;
	}
	return chars;
}

int
codec_parse_alive2(const uint8_t *body, size_t bsize, struct codec_alive2 *ret,
    const char **why)
{
	struct codec_alive2 a;
	struct rbuf b;
	uint8_t tag;

	/*
	 * epmd_srv.c: bsize <= 13 is "packet to small", then the name and
	 * extra sizes must fit.  Bytes after the extra are ignored.
	 */
	if (bsize <= 13) {
		*why = "packet too small for ALIVE2_REQ";
		return -EBADMSG;
	}
	rbuf_init(&b, body, bsize);
	if (buf_get_u8(&b, &tag) < 0 || tag != CODEC_ALIVE2_REQ ||
	    buf_get_u16(&b, &a.port) < 0 || buf_get_u8(&b, &a.type) < 0 ||
	    buf_get_u8(&b, &a.proto) < 0 || buf_get_u16(&b, &a.hv) < 0 ||
	    buf_get_u16(&b, &a.lv) < 0 || buf_get_u16(&b, &a.nlen) < 0) {
		*why = "packet too small for ALIVE2_REQ";
		return -EBADMSG;
	}
	/* The Elen field must fit after the name as well (Nlen + 13). */
	if (rbuf_remaining(&b) < (size_t)a.nlen + 2 ||
	    buf_get_bytes(&b, a.nlen, &a.name) < 0) {
		*why = "node name size error in ALIVE2_REQ";
		return -EBADMSG;
	}
	if (buf_get_u16(&b, &a.elen) < 0 ||
	    buf_get_bytes(&b, a.elen, &a.extra) < 0) {
		*why = "extra info size error in ALIVE2_REQ";
		return -EBADMSG;
	}
	if (memchr(a.name, '\0', a.nlen) != NULL) {
		*why = "node name contains ascii 0 in ALIVE2_REQ";
		return -EBADMSG;
	}
	*ret = a;
	return 0;
}

enum codec_alive2_fault
codec_check_alive2(const struct codec_alive2 *a)
{
	ssize_t chars;
	size_t i;

	if (a->nlen > CODEC_MAX_NAME_BYTES)
		return CODEC_ALIVE2_NAME_TOO_LONG;
	chars = codec_utf8_count(a->name, a->nlen);
	if (chars < 0)
		return CODEC_ALIVE2_NAME_ENCODING;
	if (chars > CODEC_MAX_NAME_CHARS)
		return CODEC_ALIVE2_NAME_TOO_LONG;
	for (i = 0; i < a->nlen; i++)
		if (a->name[i] < 0x20 || a->name[i] == 0x7f)
			return CODEC_ALIVE2_NAME_CONTROL;
	if (a->elen > CODEC_MAX_EXTRA)
		return CODEC_ALIVE2_EXTRA_TOO_LONG;
	return CODEC_ALIVE2_OK;
}

int
codec_parse_port2(const uint8_t *body, size_t bsize, const uint8_t **ret_name,
    size_t *ret_len, const char **why)
{
	const uint8_t *name;
	size_t len;
	ssize_t chars;

	if (bsize < 1 || body[0] != CODEC_PORT_PLEASE2_REQ) {
		*why = "not a PORT_PLEASE2_REQ";
		return -EBADMSG;
	}
	name = body + 1;
	len = bsize - 1;
	/* One trailing NUL is tolerated, as old C clients sent one. */
	if (len > 0 && name[len - 1] == '\0')
		len--;
	if (len == 0) {
		*why = "empty name in PORT2_REQ";
		return -EBADMSG;
	}
	if (memchr(name, '\0', len) != NULL) {
		*why = "node name contains ascii 0 in PORT2_REQ";
		return -EBADMSG;
	}
	/*
	 * OTP counts one character too many here and so closes on names of
	 * 255 characters; we answer every name ALIVE2 can register.
	 */
	chars = codec_utf8_count(name, len);
	if (chars < 1 || chars > CODEC_MAX_NAME_CHARS) {
		*why = "invalid node name in PORT2_REQ";
		return -EBADMSG;
	}
	*ret_name = name;
	*ret_len = len;
	return 0;
}

int
codec_parse_stop(const uint8_t *body, size_t bsize, const uint8_t **ret_name,
    size_t *ret_len)
{
	const uint8_t *nul;
	size_t len;

	if (bsize <= 1 || body[0] != CODEC_STOP_REQ)
		return -EBADMSG;
	len = bsize - 1;
	nul = memchr(body + 1, '\0', len);
	if (nul != NULL)
		len = (size_t)(nul - (body + 1));
	*ret_name = body + 1;
	*ret_len = len;
	return 0;
}

int
codec_put_alive2_resp(struct wbuf *w, uint16_t hv, uint8_t result,
    uint32_t creation)
{
	uint8_t tmp[6];
	struct wbuf t;

	/* Build aside so that a short buffer leaves w untouched. */
	wbuf_init(&t, tmp, sizeof(tmp));
	if (hv >= CODEC_X_RESP_VERSION) {
		buf_put_u8(&t, CODEC_ALIVE2_X_RESP);
		buf_put_u8(&t, result);
		buf_put_u32(&t, creation);
	} else {
		buf_put_u8(&t, CODEC_ALIVE2_RESP);
		buf_put_u8(&t, result);
		buf_put_u16(&t, (uint16_t)creation);
	}
	return buf_put_bytes(w, tmp, t.len);
}

int
codec_put_port2_resp(struct wbuf *w, const struct codec_alive2 *n)
{
	uint8_t *p = buf_put_space(w, 14u + n->nlen + n->elen);

	if (p == NULL)
		return -ENOBUFS;
	*p++ = CODEC_PORT2_RESP;
	*p++ = 0;
	p = buf_store_u16(p, n->port);
	*p++ = n->type;
	*p++ = n->proto;
	p = buf_store_u16(p, n->hv);
	p = buf_store_u16(p, n->lv);
	p = buf_store_u16(p, n->nlen);
	if (n->nlen > 0)
		memcpy(p, n->name, n->nlen);
	p = buf_store_u16(p + n->nlen, n->elen);
	if (n->elen > 0)
		memcpy(p, n->extra, n->elen);
	return 0;
}

int
codec_put_port2_missing(struct wbuf *w)
{
	static const uint8_t miss[2] = { CODEC_PORT2_RESP, 1 };

	return buf_put_bytes(w, miss, sizeof(miss));
}

int
codec_put_names_header(struct wbuf *w, uint32_t port)
{
	return buf_put_u32(w, port);
}

int
codec_put_names_line(struct wbuf *w, const uint8_t *name, size_t nlen,
    uint16_t port)
{
	return buf_printf(w, "name %.*s at port %u\n", (int)nlen,
	    (const char *)name, port);
}

int
codec_put_dump_active(struct wbuf *w, const uint8_t *name, size_t nlen,
    uint16_t port, int fd)
{
	/* The binary's format (epmd_srv.c), not the documented one. */
	int r = buf_printf(w, "active name     <%.*s> at port %u, fd = %d\n",
	    (int)nlen, (const char *)name, port, fd);

	return r < 0 ? r : buf_put_u8(w, 0);
}

int
codec_put_dump_old(struct wbuf *w, const uint8_t *name, size_t nlen,
    uint16_t port, int fd)
{
	int r = buf_printf(w, "old/unused name <%.*s>, port = %u, fd = %d \n",
	    (int)nlen, (const char *)name, port, fd);

	return r < 0 ? r : buf_put_u8(w, 0);
}

/* Put the 2-byte length for a body built after it, at offset at. */
static int
patch_length(struct wbuf *w, size_t at)
{
	size_t body = w->len - at - 2;

	if (body == 0 || body > CODEC_MAX_BODY) {
		w->len = at;
		return -EMSGSIZE;
	}
	w->p[at] = (uint8_t)(body >> 8);
	w->p[at + 1] = (uint8_t)body;
	return 0;
}

int
codec_put_alive2_req(struct wbuf *w, const struct codec_alive2 *a)
{
	size_t at = w->len;
	int r = 0;

	r |= buf_put_u16(w, 0);
	r |= buf_put_u8(w, CODEC_ALIVE2_REQ);
	r |= buf_put_u16(w, a->port);
	r |= buf_put_u8(w, a->type);
	r |= buf_put_u8(w, a->proto);
	r |= buf_put_u16(w, a->hv);
	r |= buf_put_u16(w, a->lv);
	r |= buf_put_u16(w, a->nlen);
	r |= buf_put_bytes(w, a->name, a->nlen);
	r |= buf_put_u16(w, a->elen);
	r |= buf_put_bytes(w, a->extra, a->elen);
	if (r != 0) {
		w->len = at;
		return -ENOBUFS;
	}
	return patch_length(w, at);
}

static int
put_tag_name(struct wbuf *w, uint8_t tag, const uint8_t *name, size_t nlen)
{
	size_t at = w->len;

	if (buf_put_u16(w, 0) < 0 || buf_put_u8(w, tag) < 0 ||
	    buf_put_bytes(w, name, nlen) < 0) {
		w->len = at;
		return -ENOBUFS;
	}
	return patch_length(w, at);
}

int
codec_put_port2_req(struct wbuf *w, const uint8_t *name, size_t nlen)
{
	return put_tag_name(w, CODEC_PORT_PLEASE2_REQ, name, nlen);
}

int
codec_put_stop_req(struct wbuf *w, const uint8_t *name, size_t nlen)
{
	return put_tag_name(w, CODEC_STOP_REQ, name, nlen);
}

int
codec_put_simple_req(struct wbuf *w, uint8_t tag)
{
	return put_tag_name(w, tag, NULL, 0);
}

ssize_t
codec_parse_port2_resp(const uint8_t *p, size_t len, struct codec_port2 *ret)
{
	struct codec_port2 n;
	struct rbuf b;
	uint8_t tag;

	rbuf_init(&b, p, len);
	if (buf_get_u8(&b, &tag) < 0)
		return 0;
	if (tag != CODEC_PORT2_RESP)
		return -EBADMSG;
	if (buf_get_u8(&b, &n.result) < 0)
		return 0;
	if (n.result != 0) {
		uint8_t result = n.result;

		memset(&n, 0, sizeof(n));
		n.result = result;
		*ret = n;
		return 2;
	}
	if (buf_get_u16(&b, &n.port) < 0 || buf_get_u8(&b, &n.type) < 0 ||
	    buf_get_u8(&b, &n.proto) < 0 || buf_get_u16(&b, &n.hv) < 0 ||
	    buf_get_u16(&b, &n.lv) < 0 || buf_get_u16(&b, &n.nlen) < 0 ||
	    buf_get_bytes(&b, n.nlen, &n.name) < 0 ||
	    buf_get_u16(&b, &n.elen) < 0 ||
	    buf_get_bytes(&b, n.elen, &n.extra) < 0)
		return 0;
	*ret = n;
	return (ssize_t)b.off;
}

ssize_t
codec_parse_alive2_resp(const uint8_t *p, size_t len, uint8_t *ret_result,
    uint32_t *ret_creation)
{
	struct rbuf b;
	uint8_t tag, result;
	uint16_t c16;
	uint32_t c32;

	rbuf_init(&b, p, len);
	if (buf_get_u8(&b, &tag) < 0)
		return 0;
	if (tag == CODEC_ALIVE2_X_RESP) {
		if (buf_get_u8(&b, &result) < 0 || buf_get_u32(&b, &c32) < 0)
			return 0;
	} else if (tag == CODEC_ALIVE2_RESP) {
		if (buf_get_u8(&b, &result) < 0 || buf_get_u16(&b, &c16) < 0)
			return 0;
		c32 = c16;
	} else
		return -EBADMSG;
	*ret_result = result;
	*ret_creation = c32;
	return (ssize_t)b.off;
}
