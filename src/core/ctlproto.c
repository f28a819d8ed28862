/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctlproto: encoding and table-driven validation of control messages.
 * Every byte is read through an rbuf; a message is accepted only whole,
 * within CTL_MAX_PAYLOAD, with every field well formed and every field
 * its type requires present with the right kind.
 */
#include "ctlproto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctlschema.h"
#include "util.h"

struct type_rule {
	uint8_t type;
	const char *name;
};

/* Every known type; the fields each must carry are ctlschema's. */
static const struct type_rule rules[] = {
	{ CTL_NAMES, "names" },
	{ CTL_STATUS, "status" },
	{ CTL_STOP, "stop" },
	{ CTL_SHUTDOWN, "shutdown" },
	{ CTL_WATCH, "watch" },
	{ CTL_UPGRADE, "upgrade" },
	{ CTL_RELOAD, "reload" },
	{ CTL_POLICY, "policy" },
	{ CTL_POLICY_TEST, "policy_test" },
	{ CTL_NODE, "node" },
	{ CTL_END, "end" },
	{ CTL_STATUS_REPLY, "status_reply" },
	{ CTL_OK, "ok" },
	{ CTL_ERROR, "error" },
	{ CTL_EVENT, "event" },
	{ CTL_POLICY_REPLY, "policy_reply" },
	{ CTL_POLICY_RULE, "policy_rule" },
	{ CTL_VERDICT, "verdict" },
};

static const struct type_rule *
rule_for(uint8_t type)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rules); i++)
		if (rules[i].type == type)
			return &rules[i];
	return NULL;
}

const char *
ctlproto_type_name(uint8_t type)
{
	const struct type_rule *r = rule_for(type);

	return r != NULL ? r->name : "unknown";
}

static const struct ctl_field *
find(const struct ctl_field *f, size_t n, const char *key)
{
	size_t klen = strlen(key), i;

	for (i = 0; i < n; i++)
		if (f[i].klen == klen && memcmp(f[i].key, key, klen) == 0)
			return &f[i];
	return NULL;
}

const struct ctl_field *
ctlproto_find(const struct ctl_msg *m, const char *key)
{
	return find(m->fields, m->nfields, key);
}

bool
ctlproto_is_key(const struct ctl_field *f, const char *key)
{
	size_t klen = strlen(key);

	return f->klen == klen && memcmp(f->key, key, klen) == 0;
}

uint64_t
ctlproto_u64(const struct ctl_msg *m, const char *key, uint64_t def)
{
	const struct ctl_field *f = ctlproto_find(m, key);

	return f != NULL && f->kind == CTL_U64 ? f->u : def;
}

char *
ctlproto_str(const struct ctl_msg *m, const char *key, char *buf, size_t size)
{
	const struct ctl_field *f = ctlproto_find(m, key);
	size_t n = 0;

	if (size == 0)
		return buf;
	if (f != NULL && f->kind == CTL_BYTES) {
		n = f->len < size - 1 ? f->len : size - 1;
		memcpy(buf, f->p, n);
	}
	buf[n] = '\0';
	return buf;
}

static int
parse_fields(const uint8_t *p, size_t len, struct ctl_msg *m)
{
	struct rbuf b;

	rbuf_init(&b, p, len);
	m->nfields = 0;
	while (rbuf_remaining(&b) > 0) {
		struct ctl_field *f;
		const uint8_t *key;

		if (m->nfields >= CTL_MAX_FIELDS)
			return -EBADMSG;
		f = &m->fields[m->nfields];
		memset(f, 0, sizeof(*f));
		if (buf_get_u8(&b, &f->klen) < 0 || f->klen == 0 ||
		    f->klen > CTL_MAX_KEY ||
		    buf_get_bytes(&b, f->klen, &key) < 0 ||
		    buf_get_u8(&b, &f->kind) < 0)
			return -EBADMSG;
		f->key = (const char *)key;
		if (f->kind == CTL_U64) {
			if (buf_get_u64(&b, &f->u) < 0)
				return -EBADMSG;
		} else if (f->kind == CTL_BYTES) {
			if (buf_get_u16(&b, &f->len) < 0 ||
			    f->len > CTL_MAX_VALUE ||
			    buf_get_bytes(&b, f->len, &f->p) < 0)
				return -EBADMSG;
		} else
			return -EBADMSG;
		m->nfields++;
	}
	return 0;
}

ssize_t
ctlproto_decode(const uint8_t *p, size_t len, struct ctl_msg *ret)
{
	const struct type_rule *rule;
	size_t i;
	struct rbuf b;
	int r;

	if (len < CTL_HEADER_SIZE)
		return 0;
	rbuf_init(&b, p, len);
	buf_get_u8(&b, &ret->version);
	buf_get_u8(&b, &ret->type);
	buf_get_u16(&b, &ret->flags);
	buf_get_u32(&b, &ret->length);
	ret->nfields = 0;
	if (ret->version != CTL_PROTOCOL_VERSION)
		return -EPROTO;
	if (ret->length > CTL_MAX_PAYLOAD)
		return -EMSGSIZE;
	rule = rule_for(ret->type);
	if (rule == NULL)
		return -ENOTSUP;
	if (rbuf_remaining(&b) < ret->length)
		return 0;
	r = parse_fields(p + CTL_HEADER_SIZE, ret->length, ret);
	if (r < 0)
		return r;
	for (i = 0; i < CTLSCHEMA_NFIELDS; i++) {
		const struct ctlschema_field *sf = &ctlschema_fields[i];
		const struct ctl_field *f;

		if (!(sf->required & CTLSCHEMA_IN(ret->type)))
			continue;
		f = ctlproto_find(ret, sf->key);
		if (f == NULL || f->kind != ctlschema_wire_kind(sf))
			return -EBADMSG;
	}
	return (ssize_t)(CTL_HEADER_SIZE + ret->length);
}

int
ctlproto_begin(struct wbuf *w, uint8_t type, size_t *ret_start)
{
	size_t start = w->len;
	int r = 0;

	r |= buf_put_u8(w, CTL_PROTOCOL_VERSION);
	r |= buf_put_u8(w, type);
	r |= buf_put_u16(w, 0);
	r |= buf_put_u32(w, 0);
	if (r != 0) {
		w->len = start;
		return -ENOBUFS;
	}
	*ret_start = start;
	return 0;
}

static int
put_key(struct wbuf *w, const char *key, uint8_t kind)
{
	size_t klen = strlen(key);
	int r;

	if (klen == 0 || klen > CTL_MAX_KEY)
		return -EINVAL;
	if ((r = buf_put_u8(w, (uint8_t)klen)) < 0 ||
	    (r = buf_put_bytes(w, key, klen)) < 0 ||
	    (r = buf_put_u8(w, kind)) < 0)
		return r;
	return 0;
}

int
ctlproto_put_u64(struct wbuf *w, const char *key, uint64_t v)
{
	int r = put_key(w, key, CTL_U64);

	return r < 0 ? r : buf_put_u64(w, v);
}

int
ctlproto_put_bytes(struct wbuf *w, const char *key, const void *p, size_t len)
{
	int r;

	if (len > CTL_MAX_VALUE)
		return -EINVAL;
	if ((r = put_key(w, key, CTL_BYTES)) < 0 ||
	    (r = buf_put_u16(w, (uint16_t)len)) < 0)
		return r;
	return buf_put_bytes(w, p, len);
}

int
ctlproto_put_str(struct wbuf *w, const char *key, const char *s)
{
	return ctlproto_put_bytes(w, key, s, strlen(s));
}

int
ctlproto_end(struct wbuf *w, size_t start)
{
	size_t payload = w->len - start - CTL_HEADER_SIZE;
	uint8_t *h = w->p + start;

	if (payload > CTL_MAX_PAYLOAD)
		return -EMSGSIZE;
	h[4] = (uint8_t)(payload >> 24);
	h[5] = (uint8_t)(payload >> 16);
	h[6] = (uint8_t)(payload >> 8);
	h[7] = (uint8_t)payload;
	return 0;
}

int
ctlproto_put_empty(struct wbuf *w, uint8_t type)
{
	size_t start;
	int r = ctlproto_begin(w, type, &start);

	return r < 0 ? r : ctlproto_end(w, start);
}

int
ctlproto_put_error(struct wbuf *w, enum ctl_error code, const char *message)
{
	size_t start;
	int r;

	if ((r = ctlproto_begin(w, CTL_ERROR, &start)) < 0)
		return r;
	if ((r = ctlproto_put_u64(w, "code", (uint64_t)code)) < 0 ||
	    (r = ctlproto_put_str(w, "message", message)) < 0 ||
	    (r = ctlproto_end(w, start)) < 0) {
		w->len = start;
		return r;
	}
	return 0;
}

int
ctlproto_default_path(uint16_t port, unsigned uid, const char *xdg, char *buf,
    size_t size)
{
	char suffix[16] = "";
	int n;

	if (port != CTL_DEFAULT_PORT)
		snprintf(suffix, sizeof(suffix), ".%u", port);
	if (uid == 0)
		n = snprintf(buf, size, "%s/control%s", CTL_RUN_DIR, suffix);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, size, "%s/epmdd/control%s", xdg, suffix);
	else
		n = snprintf(buf, size, "/tmp/epmdd-%u/control%s", uid, suffix);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
