/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_ctlproto: control messages round trip; every truncation length
 * is "need more" and never a read past the end; oversize, unknown
 * types, other versions, bad fields and missing required fields are
 * rejected; the default socket paths.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "unit.h"

static uint8_t msgbuf[CTL_MAX_MESSAGE + 64];

/* A CTL_NODE message with a few fields; returns its length. */
static size_t
node_message(uint8_t *out, size_t cap)
{
	struct wbuf w;
	size_t start;

	wbuf_init(&w, out, cap);
	ck_assert_int_eq(ctlproto_begin(&w, CTL_NODE, &start), 0);
	ck_assert_int_eq(ctlproto_put_str(&w, "name", "tnode"), 0);
	ck_assert_int_eq(ctlproto_put_u64(&w, "port", 42571), 0);
	ck_assert_int_eq(ctlproto_put_u64(&w, "creation", 0x6b057e3e), 0);
	ck_assert_int_eq(ctlproto_put_bytes(&w, "extra", "\0\1\2", 3), 0);
	ck_assert_int_eq(ctlproto_put_u64(&w, "future_field", ~0ULL), 0);
	ck_assert_int_eq(ctlproto_end(&w, start), 0);
	return w.len;
}

START_TEST(t_roundtrip)
{
	struct ctl_msg m;
	char name[16];
	size_t len = node_message(msgbuf, sizeof(msgbuf));
	const struct ctl_field *f;

	ck_assert_int_eq(ctlproto_decode(msgbuf, len, &m), (ssize_t)len);
	ck_assert_uint_eq(m.version, CTL_PROTOCOL_VERSION);
	ck_assert_uint_eq(m.type, CTL_NODE);
	ck_assert_uint_eq(m.length, len - CTL_HEADER_SIZE);
	ck_assert_uint_eq(m.nfields, 5);
	ck_assert_str_eq(ctlproto_str(&m, "name", name, sizeof(name)), "tnode");
	ck_assert_uint_eq(ctlproto_u64(&m, "port", 0), 42571);
	ck_assert_uint_eq(ctlproto_u64(&m, "creation", 0), 0x6b057e3e);
	ck_assert(ctlproto_u64(&m, "future_field", 0) == ~0ULL);
	f = ctlproto_find(&m, "extra");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->len, 3);
	ck_assert_mem_eq(f->p, "\0\1\2", 3);
	/* Absent or of another kind: the default. */
	ck_assert_uint_eq(ctlproto_u64(&m, "nosuch", 7), 7);
	ck_assert_uint_eq(ctlproto_u64(&m, "name", 7), 7);
	ck_assert_str_eq(ctlproto_str(&m, "port", name, sizeof(name)), "");
	/* Cut to the buffer. */
	ck_assert_str_eq(ctlproto_str(&m, "name", name, 3), "tn");
	ck_assert_str_eq(ctlproto_type_name(CTL_NODE), "node");
	ck_assert_str_eq(ctlproto_type_name(200), "unknown");
}
END_TEST

/* Every prefix: need more (0), from an exact-size copy. */
START_TEST(t_truncated)
{
	size_t len = node_message(msgbuf, sizeof(msgbuf));
	struct ctl_msg m;
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t *p = unit_dup(msgbuf, i);

		ck_assert_msg(ctlproto_decode(p, i, &m) == 0,
		    "prefix %zu of %zu not 'need more'", i, len);
		free(p);
	}
	/* Two messages back to back: the first alone is taken. */
	memcpy(msgbuf + len, msgbuf, len);
	ck_assert_int_eq(ctlproto_decode(msgbuf, 2 * len, &m), (ssize_t)len);
}
END_TEST

START_TEST(t_header_errors)
{
	struct ctl_msg m;
	uint8_t h[CTL_HEADER_SIZE];

	/* Another version: refused once the header is in. */
	unit_hex("02 01 00 00 00 00 00 00", h, sizeof(h));
	ck_assert_int_eq(ctlproto_decode(h, 7, &m), 0);
	ck_assert_int_eq(ctlproto_decode(h, 8, &m), -EPROTO);
	ck_assert_uint_eq(m.version, 2);
	unit_hex("00 01 00 00 00 00 00 00", h, sizeof(h));
	ck_assert_int_eq(ctlproto_decode(h, 8, &m), -EPROTO);
	/* Oversize: refused before the payload arrives. */
	unit_hex("01 01 00 00 00 01 00 01", h, sizeof(h));
	ck_assert_int_eq(ctlproto_decode(h, 8, &m), -EMSGSIZE);
	unit_hex("01 01 00 00 ff ff ff ff", h, sizeof(h));
	ck_assert_int_eq(ctlproto_decode(h, 8, &m), -EMSGSIZE);
	/* Exactly the maximum is a size we wait for. */
	unit_hex("01 01 00 00 00 01 00 00", h, sizeof(h));
	ck_assert_int_eq(ctlproto_decode(h, 8, &m), 0);
	ck_assert_uint_eq(m.length, CTL_MAX_PAYLOAD);
	/* Unknown types, including 0. */
	unit_hex("01 00 00 00 00 00 00 00", h, sizeof(h));
	ck_assert_int_eq(ctlproto_decode(h, 8, &m), -ENOTSUP);
	unit_hex("01 07 00 00 00 00 00 00", h, sizeof(h));
	ck_assert_int_eq(ctlproto_decode(h, 8, &m), -ENOTSUP);
	unit_hex("01 ff 00 00 00 00 00 00", h, sizeof(h));
	ck_assert_int_eq(ctlproto_decode(h, 8, &m), -ENOTSUP);
	/* A request with no fields is whole at 8 bytes. */
	unit_hex("01 02 00 00 00 00 00 00", h, sizeof(h));
	ck_assert_int_eq(ctlproto_decode(h, 8, &m), 8);
	ck_assert_uint_eq(m.type, CTL_STATUS);
}
END_TEST

static ssize_t
decode_hex(const char *hex)
{
	struct ctl_msg m;
	size_t n = unit_hex(hex, msgbuf, sizeof(msgbuf));
	uint8_t *p = unit_dup(msgbuf, n);
	ssize_t r = ctlproto_decode(p, n, &m);

	free(p);
	return r;
}

START_TEST(t_bad_fields)
{
	/* STOP needs "name" as bytes. */
	ck_assert_int_eq(decode_hex("01 03 00 00 00 00 00 00"), -EBADMSG);
	ck_assert_int_eq(decode_hex("01 03 00 00 00 00 00 0e"
				    "04 6e 61 6d 65 01 00 00 00 00 00 00 00 01"),
	    -EBADMSG);
	ck_assert_int_eq(decode_hex("01 03 00 00 00 00 00 0a"
				    "04 6e 61 6d 65 02 00 02 61 62"),
	    18);
	/* Key length 0, key past the end, unknown kind. */
	ck_assert_int_eq(decode_hex("01 02 00 00 00 00 00 02 00 01"), -EBADMSG);
	ck_assert_int_eq(decode_hex("01 02 00 00 00 00 00 03 09 61 62"),
	    -EBADMSG);
	ck_assert_int_eq(decode_hex("01 02 00 00 00 00 00 03 01 61 03"),
	    -EBADMSG);
	/* A u64 cut short; a bytes value longer than the payload. */
	ck_assert_int_eq(decode_hex("01 02 00 00 00 00 00 05 01 61 01 00 00"),
	    -EBADMSG);
	ck_assert_int_eq(decode_hex("01 02 00 00 00 00 00 06 01 61 02 00 09 61"),
	    -EBADMSG);
	/* A key longer than CTL_MAX_KEY. */
	ck_assert_int_eq(decode_hex("01 02 00 00 00 00 00 02 21 61"), -EBADMSG);
}
END_TEST

START_TEST(t_too_many_fields)
{
	struct wbuf w;
	struct ctl_msg m;
	size_t start;
	int i;

	wbuf_init(&w, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(ctlproto_begin(&w, CTL_STATUS, &start), 0);
	for (i = 0; i < CTL_MAX_FIELDS + 1; i++)
		ck_assert_int_eq(ctlproto_put_u64(&w, "k", (uint64_t)i), 0);
	ck_assert_int_eq(ctlproto_end(&w, start), 0);
	ck_assert_int_eq(ctlproto_decode(msgbuf, w.len, &m), -EBADMSG);
	/* One fewer is fine. */
	wbuf_init(&w, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(ctlproto_begin(&w, CTL_STATUS, &start), 0);
	for (i = 0; i < CTL_MAX_FIELDS; i++)
		ck_assert_int_eq(ctlproto_put_u64(&w, "k", (uint64_t)i), 0);
	ck_assert_int_eq(ctlproto_end(&w, start), 0);
	ck_assert_int_eq(ctlproto_decode(msgbuf, w.len, &m), (ssize_t)w.len);
}
END_TEST

START_TEST(t_encoder_limits)
{
	static char big[CTL_MAX_VALUE + 2];
	struct wbuf w;
	size_t start;
	int i;

	memset(big, 'x', sizeof(big) - 1);
	wbuf_init_growable(&w, 2 * CTL_MAX_MESSAGE);
	ck_assert_int_eq(ctlproto_begin(&w, CTL_STATUS, &start), 0);
	ck_assert_int_eq(ctlproto_put_str(&w, "", "v"), -EINVAL);
	ck_assert_int_eq(ctlproto_put_str(&w,
			     "a_key_that_is_longer_than_32_bytes", "v"),
	    -EINVAL);
	ck_assert_int_eq(ctlproto_put_str(&w, "big", big), -EINVAL);
	big[CTL_MAX_VALUE] = '\0';
	ck_assert_int_eq(ctlproto_put_str(&w, "big", big), 0);
	/* Past CTL_MAX_PAYLOAD, end refuses. */
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(ctlproto_put_str(&w, "big", big), 0);
	ck_assert_int_eq(ctlproto_end(&w, start), -EMSGSIZE);
	wbuf_fini(&w);
	/* A fixed buffer that is too small. */
	wbuf_init(&w, msgbuf, 12);
	ck_assert_int_eq(ctlproto_put_error(&w, CTL_ERR_NOT_FOUND, "no such"),
	    -ENOBUFS);
	ck_assert_uint_eq(w.len, 0);
}
END_TEST

START_TEST(t_error_message)
{
	struct ctl_msg m;
	struct wbuf w;
	char text[32];

	wbuf_init(&w, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(ctlproto_put_error(&w, CTL_ERR_PERMISSION, "denied"),
	    0);
	ck_assert_int_eq(ctlproto_decode(msgbuf, w.len, &m), (ssize_t)w.len);
	ck_assert_uint_eq(m.type, CTL_ERROR);
	ck_assert_uint_eq(ctlproto_u64(&m, "code", 0), CTL_ERR_PERMISSION);
	ck_assert_str_eq(ctlproto_str(&m, "message", text, sizeof(text)),
	    "denied");
	wbuf_init(&w, msgbuf, sizeof(msgbuf));
	ck_assert_int_eq(ctlproto_put_empty(&w, CTL_OK), 0);
	ck_assert_uint_eq(w.len, CTL_HEADER_SIZE);
	ck_assert_int_eq(ctlproto_decode(msgbuf, w.len, &m), CTL_HEADER_SIZE);
}
END_TEST

START_TEST(t_default_path)
{
	char p[108];

	ck_assert_int_eq(ctlproto_default_path(4369, 0, "/run/user/0", p,
			     sizeof(p)),
	    0);
	ck_assert_str_eq(p, "/run/epmdd/control");
	ck_assert_int_eq(ctlproto_default_path(14369, 0, NULL, p, sizeof(p)),
	    0);
	ck_assert_str_eq(p, "/run/epmdd/control.14369");
	ck_assert_int_eq(ctlproto_default_path(4369, 1000, "/run/user/1000", p,
			     sizeof(p)),
	    0);
	ck_assert_str_eq(p, "/run/user/1000/epmdd/control");
	ck_assert_int_eq(ctlproto_default_path(4370, 1000, NULL, p, sizeof(p)),
	    0);
	ck_assert_str_eq(p, "/tmp/epmdd-1000/control.4370");
	ck_assert_int_eq(ctlproto_default_path(4369, 1000, "relative", p,
			     sizeof(p)),
	    0);
	ck_assert_str_eq(p, "/tmp/epmdd-1000/control");
	ck_assert_int_eq(ctlproto_default_path(4369, 0, NULL, p, 10),
	    -ENAMETOOLONG);
}
END_TEST

Suite *
ctlproto_suite(void)
{
	Suite *s = suite_create("ctlproto");
	TCase *tc = tcase_create("messages");

	tcase_add_test(tc, t_roundtrip);
	tcase_add_test(tc, t_truncated);
	tcase_add_test(tc, t_header_errors);
	tcase_add_test(tc, t_bad_fields);
	tcase_add_test(tc, t_too_many_fields);
	tcase_add_test(tc, t_encoder_limits);
	tcase_add_test(tc, t_error_message);
	tcase_add_test(tc, t_default_path);
	suite_add_tcase(s, tc);
	return s;
}
