/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_codec: framing limits, every request at every truncation length
 * (decoded from exact-size heap copies, so a read past the end is an
 * ASan error), OTP's UTF-8 rules, the error-reply limits, and the golden
 * bytes captured from real erl <-> OTP epmd traffic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "unit.h"

/* ------------------------------------------------------------ framing */

START_TEST(t_frame_limits)
{
	uint8_t p[2] = { 0, 0 };

	ck_assert_int_eq(codec_frame_size(p, 0), 0);
	p[0] = 0;
	ck_assert_int_eq(codec_frame_size(p, 1), 0);
	p[1] = 0;
	ck_assert_int_eq(codec_frame_size(p, 2), -EBADMSG); /* length 0 */
	p[1] = 1;
	ck_assert_int_eq(codec_frame_size(p, 2), 3);
	/* 3057 is the largest body OTP answers; 3058 is closed. */
	p[0] = 3057 >> 8;
	p[1] = 3057 & 0xff;
	ck_assert_int_eq(codec_frame_size(p, 2), 3059);
	ck_assert_int_eq(CODEC_MAX_BODY, 3057);
	p[0] = 3058 >> 8;
	p[1] = 3058 & 0xff;
	ck_assert_int_eq(codec_frame_size(p, 2), -EMSGSIZE);
	p[0] = 0xff;
	p[1] = 0xff;
	ck_assert_int_eq(codec_frame_size(p, 2), -EMSGSIZE);
	ck_assert_int_eq(CODEC_FIRST_READ, 3059);
}
END_TEST

/* Every prefix of a golden frame: "need more" until complete. */
START_TEST(t_frame_every_prefix)
{
	static const char *const files[] = { "alive2_otp25.hex",
		"port2_found_otp25.hex", "names_otp25.hex",
		"epmd_client_stop.hex" };
	struct golden g;
	size_t i, k;

	for (k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		unit_golden(files[k], &g);
		for (i = 0; i <= g.reqlen; i++) {
			uint8_t *p = unit_dup(g.req, i);
			ssize_t r = codec_frame_size(p, i);

			if (i < 2)
				ck_assert_int_eq(r, 0);
			else
				ck_assert_int_eq(r, (ssize_t)g.reqlen);
			free(p);
		}
	}
}
END_TEST

/* ------------------------------------------------------------ UTF-8 */

START_TEST(t_utf8_rules)
{
	static const struct {
		const char *bytes;
		ssize_t chars;
	} cases[] = {
		{ "abc", 3 },
		{ "ok\xc3\xa9", 3 },
		{ "\xf0\x9f\x98\x88", 1 },
		{ "\xef\xbf\xbf", 1 },		 /* U+FFFF is allowed */
		{ "\xf4\x8f\xbf\xbf", 1 },	 /* U+10FFFF */
		{ "x\xc0\x80", -EILSEQ },	 /* overlong NUL */
		{ "\xc1\xbf", -EILSEQ },	 /* overlong */
		{ "\xe0\x9f\xbf", -EILSEQ },	 /* overlong 3-byte */
		{ "\xed\xa0\x80", -EILSEQ },	 /* surrogate */
		{ "\xed\x9f\xbf", 1 },		 /* last before surrogates */
		{ "\xf0\x8f\xbf\xbf", -EILSEQ }, /* overlong 4-byte */
		{ "x\xf4\x90\x80\x80", -EILSEQ }, /* above U+10FFFF */
		{ "\xf5\x80\x80\x80", -EILSEQ },
		{ "\xf8\x88\x80\x80\x80", -EILSEQ },
		{ "\xff", -EILSEQ },
		{ "x\xe2\x82", -EILSEQ },	 /* truncated */
		{ "\x80x", -EILSEQ },		 /* lone continuation */
		{ "caf\xe9", -EILSEQ },		 /* latin-1 */
		{ "\xc3\x28", -EILSEQ },	 /* bad continuation */
		{ "\xe2\x28\xa1", -EILSEQ },
		{ "\xf0\x90\x28\xbc", -EILSEQ },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].bytes);
		uint8_t *p = unit_dup(cases[i].bytes, len);

		ck_assert_msg(codec_utf8_count(p, len) == cases[i].chars,
		    "case %zu: got %zd want %zd", i, codec_utf8_count(p, len),
		    cases[i].chars);
		free(p);
	}
	ck_assert_int_eq(codec_utf8_count((const uint8_t *)"", 0), 0);
}
END_TEST

/* ------------------------------------------------------------ ALIVE2 */

static size_t
alive2_body(uint8_t *out, size_t max, const char *name, size_t nlen,
    const void *extra, size_t elen, uint16_t hv)
{
	struct codec_alive2 a;
	struct wbuf w;

	memset(&a, 0, sizeof(a));
	a.port = 5001;
	a.type = 77;
	a.hv = hv;
	a.lv = 5;
	a.name = (const uint8_t *)name;
	a.nlen = (uint16_t)nlen;
	a.extra = extra;
	a.elen = (uint16_t)elen;
	wbuf_init(&w, out, max);
	ck_assert_int_eq(codec_put_alive2_req(&w, &a), 0);
	/* Return the body: drop the length prefix. */
	memmove(out, out + 2, w.len - 2);
	return w.len - 2;
}

START_TEST(t_alive2_golden)
{
	struct codec_alive2 a;
	struct golden g;
	const char *why = NULL;
	uint8_t *body;

	unit_golden("alive2_otp25.hex", &g);
	body = unit_dup(g.req + 2, g.reqlen - 2);
	ck_assert_int_eq(codec_parse_alive2(body, g.reqlen - 2, &a, &why), 0);
	ck_assert_uint_eq(a.port, 42571);
	ck_assert_uint_eq(a.type, 77);
	ck_assert_uint_eq(a.proto, 0);
	ck_assert_uint_eq(a.hv, 6);
	ck_assert_uint_eq(a.lv, 5);
	ck_assert_uint_eq(a.nlen, 5);
	ck_assert_mem_eq(a.name, "tnode", 5);
	ck_assert_uint_eq(a.elen, 0);
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_OK);
	free(body);
}
END_TEST

/* Every truncation of an ALIVE2 body with an extra is rejected. */
START_TEST(t_alive2_truncated)
{
	uint8_t full[64], *p;
	struct codec_alive2 a;
	const char *why = NULL;
	size_t len = alive2_body(full, sizeof(full), "abc", 3, "EX", 2, 6);
	size_t i = (size_t)_i;

	ck_assert_uint_eq(len, 18);
	if (i > len)
		return;
	p = unit_dup(full, i);
	if (i < len) {
		ck_assert_int_eq(codec_parse_alive2(p, i, &a, &why), -EBADMSG);
		ck_assert_ptr_nonnull(why);
	} else {
		ck_assert_int_eq(codec_parse_alive2(p, i, &a, &why), 0);
		ck_assert_mem_eq(a.extra, "EX", 2);
	}
	free(p);
}
END_TEST

START_TEST(t_alive2_malformed)
{
	uint8_t full[64], *p;
	struct codec_alive2 a;
	const char *why;
	size_t len;

	/* Nlen pointing past the end. */
	len = alive2_body(full, sizeof(full), "abc", 3, NULL, 0, 6);
	full[10] = 40;
	p = unit_dup(full, len);
	ck_assert_int_eq(codec_parse_alive2(p, len, &a, &why), -EBADMSG);
	ck_assert_str_eq(why, "node name size error in ALIVE2_REQ");
	free(p);
	/* Elen pointing past the end. */
	len = alive2_body(full, sizeof(full), "abc", 3, NULL, 0, 6);
	full[15] = 40;
	p = unit_dup(full, len);
	ck_assert_int_eq(codec_parse_alive2(p, len, &a, &why), -EBADMSG);
	ck_assert_str_eq(why, "extra info size error in ALIVE2_REQ");
	free(p);
	/* NUL inside the name, and a NUL-terminated name. */
	len = alive2_body(full, sizeof(full), "foo\0bar", 7, NULL, 0, 6);
	p = unit_dup(full, len);
	ck_assert_int_eq(codec_parse_alive2(p, len, &a, &why), -EBADMSG);
	free(p);
	len = alive2_body(full, sizeof(full), "foobar\0", 7, NULL, 0, 6);
	p = unit_dup(full, len);
	ck_assert_int_eq(codec_parse_alive2(p, len, &a, &why), -EBADMSG);
	free(p);
	/* Trailing bytes after the extra are accepted and ignored. */
	len = alive2_body(full, sizeof(full), "abc", 3, NULL, 0, 6);
	memcpy(full + len, "JUNK", 4);
	p = unit_dup(full, len + 4);
	ck_assert_int_eq(codec_parse_alive2(p, len + 4, &a, &why), 0);
	ck_assert_uint_eq(a.nlen, 3);
	free(p);
	/* An empty name with one trailing byte is a valid request. */
	len = alive2_body(full, sizeof(full), "", 0, NULL, 0, 6);
	ck_assert_uint_eq(len, 13);
	full[len] = 'x';
	p = unit_dup(full, len + 1);
	ck_assert_int_eq(codec_parse_alive2(p, len + 1, &a, &why), 0);
	ck_assert_uint_eq(a.nlen, 0);
	free(p);
	/* ...and without the trailing byte it is "too small". */
	p = unit_dup(full, len);
	ck_assert_int_eq(codec_parse_alive2(p, len, &a, &why), -EBADMSG);
	free(p);
}
END_TEST

START_TEST(t_alive2_limits)
{
	struct codec_alive2 a;
	static uint8_t name[1100], extra[1100];
	size_t i;

	memset(&a, 0, sizeof(a));
	memset(name, 'a', sizeof(name));
	memset(extra, 0, sizeof(extra));
	a.name = name;
	a.extra = extra;
	a.nlen = 255;
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_OK);
	a.nlen = 256;
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_NAME_TOO_LONG);
	a.nlen = 600;
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_NAME_TOO_LONG);
	/* 255 four-byte characters: 1020 bytes, the maximum. */
	for (i = 0; i < 255; i++)
		memcpy(name + 4 * i, "\xf0\x9f\x98\x80", 4);
	a.nlen = 1020;
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_OK);
	name[1020] = 'a';
	a.nlen = 1021;
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_NAME_TOO_LONG);
	/* Too long wins over a bad encoding (OTP checks the size first). */
	name[0] = 0xff;
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_NAME_TOO_LONG);
	a.nlen = 10;
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_NAME_ENCODING);
	/* A bad encoding wins over a control character (OTP's check first). */
	name[1] = '\n';
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_NAME_ENCODING);
	memset(name, 'a', sizeof(name));
	for (i = 1; i < 0x80; i = i == 0x1f ? 0x7f : i + 1) {
		name[2] = (uint8_t)i;
		ck_assert_int_eq(codec_check_alive2(&a),
		    CODEC_ALIVE2_NAME_CONTROL);
	}
	name[2] = ' ';
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_OK);
	memset(name, 'a', sizeof(name));
	a.nlen = 3;
	a.elen = 1020;
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_OK);
	a.elen = 1021;
	ck_assert_int_eq(codec_check_alive2(&a), CODEC_ALIVE2_EXTRA_TOO_LONG);
}
END_TEST

/* ------------------------------------------------------------ PORT2, STOP */

static int
port2(const char *body, size_t len, const uint8_t **name, size_t *nlen)
{
	uint8_t *p = unit_dup(body, len);
	const char *why;
	int r = codec_parse_port2(p, len, name, nlen, &why);

	/* name points into p: compare before freeing, via a copy. */
	if (r == 0) {
		static uint8_t keep[2048];

		memcpy(keep, *name, *nlen);
		*name = keep;
	}
	free(p);
	return r;
}

START_TEST(t_port2_rules)
{
	static char body[1200];
	const uint8_t *name;
	size_t nlen, i;

	ck_assert_int_eq(port2("zfoo", 4, &name, &nlen), 0);
	ck_assert_uint_eq(nlen, 3);
	ck_assert_mem_eq(name, "foo", 3);
	ck_assert_int_eq(port2("zfoo\0", 5, &name, &nlen), 0);
	ck_assert_uint_eq(nlen, 3);
	ck_assert_int_eq(port2("zfoo\0\0", 6, &name, &nlen), -EBADMSG);
	ck_assert_int_eq(port2("zf\0oo", 5, &name, &nlen), -EBADMSG);
	ck_assert_int_eq(port2("z", 1, &name, &nlen), -EBADMSG);
	ck_assert_int_eq(port2("z\0", 2, &name, &nlen), -EBADMSG);
	ck_assert_int_eq(port2("zcaf\xe9", 5, &name, &nlen), -EBADMSG);
	ck_assert_int_eq(port2("zcaf\xc3\xa9", 6, &name, &nlen), 0);
	/*
	 * Decision 3 (doc/DECISIONS): 255 characters are answered; 256 are not
	 * names.
	 */
	body[0] = 'z';
	memset(body + 1, 'c', 256);
	ck_assert_int_eq(port2(body, 1 + 255, &name, &nlen), 0);
	ck_assert_uint_eq(nlen, 255);
	ck_assert_int_eq(port2(body, 1 + 256, &name, &nlen), -EBADMSG);
	for (i = 0; i < 255; i++)
		memcpy(body + 1 + 4 * i, "\xf0\x9f\x98\x80", 4);
	ck_assert_int_eq(port2(body, 1 + 1020, &name, &nlen), 0);
	ck_assert_uint_eq(nlen, 1020);
	ck_assert_int_eq(port2("nfoo", 4, &name, &nlen), -EBADMSG);
}
END_TEST

/* Every prefix of the golden PORT2 body: never a read past the end. */
START_TEST(t_port2_truncated)
{
	struct golden g;
	const uint8_t *name;
	size_t nlen, i;

	unit_golden("port2_found_otp25.hex", &g);
	for (i = 0; i <= g.reqlen - 2; i++) {
		int r = port2((const char *)g.req + 2, i, &name, &nlen);

		/* "z" alone is empty; "zt".."ztnode" are shorter names. */
		ck_assert_int_eq(r, i <= 1 ? -EBADMSG : 0);
		if (r == 0)
			ck_assert_uint_eq(nlen, i - 1);
	}
}
END_TEST

START_TEST(t_stop_parse)
{
	static const struct {
		const char *body;
		size_t len;
		int r;
		size_t nlen;
	} cases[] = {
		{ "s", 1, -EBADMSG, 0 },
		{ "", 0, -EBADMSG, 0 },
		{ "sbar", 4, 0, 3 },
		{ "sbar\0junk", 9, 0, 3 },
		{ "s\0", 2, 0, 0 },
		{ "xbar", 4, -EBADMSG, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *p = unit_dup(cases[i].body, cases[i].len);
		const uint8_t *name;
		size_t nlen = 99;

		ck_assert_int_eq(codec_parse_stop(p, cases[i].len, &name, &nlen),
		    cases[i].r);
		if (cases[i].r == 0)
			ck_assert_uint_eq(nlen, cases[i].nlen);
		free(p);
	}
}
END_TEST

/* ------------------------------------------------------------ replies */

START_TEST(t_alive2_reply_forms)
{
	static const struct {
		uint16_t hv;
		uint8_t result;
		uint32_t creation;
		const char *hex;
	} cases[] = {
		{ 6, 0, 0x6b056df7, "76 00 6b 05 6d f7" },
		{ 7, 0, 5, "76 00 00 00 00 05" },
		{ 65535, 0, 4, "76 00 00 00 00 04" },
		{ 5, 0, 2, "79 00 00 02" },
		{ 1, 0, 3, "79 00 00 03" },
		{ 0, 0, 1, "79 00 00 01" },
		{ 6, 1, 99, "76 01 00 00 00 63" },
		{ 5, 1, 99, "79 01 00 63" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[8], want[8];
		struct wbuf w;
		size_t n = unit_hex(cases[i].hex, want, sizeof(want));

		wbuf_init(&w, out, sizeof(out));
		ck_assert_int_eq(codec_put_alive2_resp(&w, cases[i].hv,
				     cases[i].result, cases[i].creation),
		    0);
		ck_assert_uint_eq(w.len, n);
		ck_assert_mem_eq(out, want, n);
	}
	{
		uint8_t small[5];
		struct wbuf w;

		wbuf_init(&w, small, sizeof(small));
		ck_assert_int_eq(codec_put_alive2_resp(&w, 6, 0, 1), -ENOBUFS);
		ck_assert_uint_eq(w.len, 0);
	}
}
END_TEST

START_TEST(t_golden_replies)
{
	struct golden g;
	struct codec_alive2 a;
	uint8_t out[256];
	struct wbuf w;

	/* PORT2_RESP for the node in alive2_otp25.hex. */
	unit_golden("port2_found_otp25.hex", &g);
	memset(&a, 0, sizeof(a));
	a.port = 42571;
	a.type = 77;
	a.hv = 6;
	a.lv = 5;
	a.nlen = 5;
	a.name = (const uint8_t *)"tnode";
	wbuf_init(&w, out, sizeof(out));
	ck_assert_int_eq(codec_put_port2_resp(&w, &a), 0);
	ck_assert_uint_eq(w.len, g.replen);
	ck_assert_mem_eq(out, g.rep, g.replen);

	unit_golden("port2_missing_otp25.hex", &g);
	wbuf_init(&w, out, sizeof(out));
	ck_assert_int_eq(codec_put_port2_missing(&w), 0);
	ck_assert_uint_eq(w.len, g.replen);
	ck_assert_mem_eq(out, g.rep, g.replen);

	/* NAMES: header with the port, then newest first. */
	unit_golden("names_otp25.hex", &g);
	wbuf_init(&w, out, sizeof(out));
	ck_assert_int_eq(codec_put_names_header(&w, 14391), 0);
	ck_assert_int_eq(codec_put_names_line(&w, (const uint8_t *)"t2", 2,
			     37859),
	    0);
	ck_assert_int_eq(codec_put_names_line(&w, (const uint8_t *)"tnode", 5,
			     42571),
	    0);
	ck_assert_uint_eq(w.len, g.replen);
	ck_assert_mem_eq(out, g.rep, g.replen);
}
END_TEST

START_TEST(t_dump_format)
{
	static const char want[] =
	    "active name     <bar> at port 5002, fd = 6\n\0"
	    "old/unused name <foo>, port = 5001, fd = 5 \n\0";
	uint8_t out[256];
	struct wbuf w;

	wbuf_init(&w, out, sizeof(out));
	ck_assert_int_eq(codec_put_dump_active(&w, (const uint8_t *)"bar", 3,
			     5002, 6),
	    0);
	ck_assert_int_eq(codec_put_dump_old(&w, (const uint8_t *)"foo", 3,
			     5001, 5),
	    0);
	ck_assert_uint_eq(w.len, sizeof(want) - 1);
	ck_assert_mem_eq(out, want, sizeof(want) - 1);
}
END_TEST

/* ------------------------------------------------------------ client side */

START_TEST(t_client_requests_golden)
{
	static const struct {
		const char *file;
		uint8_t tag;
		const char *name;
	} cases[] = {
		{ "names_otp25.hex", CODEC_NAMES_REQ, NULL },
		{ "epmd_client_kill.hex", CODEC_KILL_REQ, NULL },
		{ "epmd_client_stop.hex", CODEC_STOP_REQ, "tstop" },
		{ "port2_missing_otp25.hex", CODEC_PORT_PLEASE2_REQ, "nosuch" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct golden g;
		uint8_t out[64];
		struct wbuf w;
		int r;

		unit_golden(cases[i].file, &g);
		wbuf_init(&w, out, sizeof(out));
		if (cases[i].name == NULL)
			r = codec_put_simple_req(&w, cases[i].tag);
		else if (cases[i].tag == CODEC_STOP_REQ)
			r = codec_put_stop_req(&w,
			    (const uint8_t *)cases[i].name,
			    strlen(cases[i].name));
		else
			r = codec_put_port2_req(&w,
			    (const uint8_t *)cases[i].name,
			    strlen(cases[i].name));
		ck_assert_int_eq(r, 0);
		ck_assert_uint_eq(w.len, g.reqlen);
		ck_assert_mem_eq(out, g.req, g.reqlen);
	}
}
END_TEST

START_TEST(t_client_alive2_roundtrip)
{
	struct golden g;
	struct codec_alive2 a;
	uint8_t out[64], result;
	uint32_t creation;
	struct wbuf w;
	const char *why;
	size_t i;

	unit_golden("alive2_otp25.hex", &g);
	ck_assert_int_eq(codec_parse_alive2(g.req + 2, g.reqlen - 2, &a, &why),
	    0);
	wbuf_init(&w, out, sizeof(out));
	ck_assert_int_eq(codec_put_alive2_req(&w, &a), 0);
	ck_assert_uint_eq(w.len, g.reqlen);
	ck_assert_mem_eq(out, g.req, g.reqlen);
	for (i = 0; i < g.replen; i++) {
		uint8_t *p = unit_dup(g.rep, i);

		ck_assert_int_eq(codec_parse_alive2_resp(p, i, &result,
				     &creation),
		    0);
		free(p);
	}
	ck_assert_int_eq(codec_parse_alive2_resp(g.rep, g.replen, &result,
			     &creation),
	    6);
	ck_assert_uint_eq(result, 0);
	ck_assert_uint_eq(creation, (uint32_t)g.clock + 1);
	unit_golden("alive2_hv5_otp25.hex", &g);
	ck_assert_int_eq(codec_parse_alive2_resp(g.rep, g.replen, &result,
			     &creation),
	    4);
	ck_assert_uint_eq(creation, 1);
	ck_assert_int_eq(codec_parse_alive2_resp((const uint8_t *)"w", 1,
			     &result, &creation),
	    -EBADMSG);
}
END_TEST

START_TEST(t_client_port2_resp)
{
	struct golden g;
	struct codec_port2 n;
	size_t i;

	unit_golden("port2_found_otp25.hex", &g);
	for (i = 0; i < g.replen; i++) {
		uint8_t *p = unit_dup(g.rep, i);

		ck_assert_int_eq(codec_parse_port2_resp(p, i, &n), 0);
		free(p);
	}
	ck_assert_int_eq(codec_parse_port2_resp(g.rep, g.replen, &n),
	    (ssize_t)g.replen);
	ck_assert_uint_eq(n.result, 0);
	ck_assert_uint_eq(n.port, 42571);
	ck_assert_uint_eq(n.hv, 6);
	ck_assert_uint_eq(n.lv, 5);
	ck_assert_mem_eq(n.name, "tnode", 5);
	unit_golden("port2_missing_otp25.hex", &g);
	ck_assert_int_eq(codec_parse_port2_resp(g.rep, g.replen, &n), 2);
	ck_assert_uint_eq(n.result, 1);
	ck_assert_int_eq(codec_parse_port2_resp((const uint8_t *)"v", 1, &n),
	    -EBADMSG);
}
END_TEST

START_TEST(t_request_too_big)
{
	static uint8_t name[CODEC_MAX_BODY + 10];
	uint8_t out[CODEC_MAX_BODY + 16];
	struct wbuf w;

	memset(name, 'a', sizeof(name));
	wbuf_init(&w, out, sizeof(out));
	/* Body "z" + 3056 name bytes = 3057: the largest frame. */
	ck_assert_int_eq(codec_put_port2_req(&w, name, CODEC_MAX_BODY - 1), 0);
	ck_assert_uint_eq(w.len, CODEC_MAX_BODY + 2);
	wbuf_init(&w, out, sizeof(out));
	ck_assert_int_eq(codec_put_port2_req(&w, name, CODEC_MAX_BODY),
	    -EMSGSIZE);
	ck_assert_uint_eq(w.len, 0);
}
END_TEST

Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;

	tc = tcase_create("frame");
	tcase_add_test(tc, t_frame_limits);
	tcase_add_test(tc, t_frame_every_prefix);
	suite_add_tcase(s, tc);
	tc = tcase_create("utf8");
	tcase_add_test(tc, t_utf8_rules);
	suite_add_tcase(s, tc);
	tc = tcase_create("alive2");
	tcase_add_test(tc, t_alive2_golden);
	tcase_add_loop_test(tc, t_alive2_truncated, 0, 19);
	tcase_add_test(tc, t_alive2_malformed);
	tcase_add_test(tc, t_alive2_limits);
	suite_add_tcase(s, tc);
	tc = tcase_create("port2 and stop");
	tcase_add_test(tc, t_port2_rules);
	tcase_add_test(tc, t_port2_truncated);
	tcase_add_test(tc, t_stop_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("replies");
	tcase_add_test(tc, t_alive2_reply_forms);
	tcase_add_test(tc, t_golden_replies);
	tcase_add_test(tc, t_dump_format);
	suite_add_tcase(s, tc);
	tc = tcase_create("client");
	tcase_add_test(tc, t_client_requests_golden);
	tcase_add_test(tc, t_client_alive2_roundtrip);
	tcase_add_test(tc, t_client_port2_resp);
	tcase_add_test(tc, t_request_too_big);
	suite_add_tcase(s, tc);
	return s;
}
