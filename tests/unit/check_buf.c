/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_buf: the bounds-checked cursors: every getter at every shortfall,
 * fixed and growable writers, and the growable cap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

START_TEST(t_get_values)
{
	static const uint8_t p[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
	struct rbuf b;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *bytes;

	rbuf_init(&b, p, sizeof(p));
	ck_assert_int_eq(buf_get_u8(&b, &u8), 0);
	ck_assert_uint_eq(u8, 0x01);
	ck_assert_int_eq(buf_get_u16(&b, &u16), 0);
	ck_assert_uint_eq(u16, 0x0203);
	ck_assert_int_eq(buf_get_u32(&b, &u32), 0);
	ck_assert_uint_eq(u32, 0x04050607);
	ck_assert_int_eq(buf_get_u64(&b, &u64), 0);
	ck_assert(u64 == 0x08090a0b0c0d0e0fULL);
	ck_assert_uint_eq(rbuf_remaining(&b), 0);
	ck_assert_int_eq(buf_get_u8(&b, &u8), -EBADMSG);
	ck_assert_int_eq(buf_get_bytes(&b, 0, &bytes), 0);
}
END_TEST

/* For every length 0..8, each getter that needs more fails cleanly. */
START_TEST(t_get_short)
{
	uint8_t *p = unit_dup("\xff\xff\xff\xff\xff\xff\xff\xff", (size_t)_i);
	struct rbuf b;
	uint8_t u8 = 7;
	uint16_t u16 = 7;
	uint32_t u32 = 7;
	uint64_t u64 = 7;
	const uint8_t *bytes = NULL;

	rbuf_init(&b, p, (size_t)_i);
	ck_assert_int_eq(buf_get_u8(&b, &u8), _i >= 1 ? 0 : -EBADMSG);
	rbuf_init(&b, p, (size_t)_i);
	ck_assert_int_eq(buf_get_u16(&b, &u16), _i >= 2 ? 0 : -EBADMSG);
	rbuf_init(&b, p, (size_t)_i);
	ck_assert_int_eq(buf_get_u32(&b, &u32), _i >= 4 ? 0 : -EBADMSG);
	rbuf_init(&b, p, (size_t)_i);
	ck_assert_int_eq(buf_get_u64(&b, &u64), _i >= 8 ? 0 : -EBADMSG);
	rbuf_init(&b, p, (size_t)_i);
	ck_assert_int_eq(buf_get_bytes(&b, 5, &bytes), _i >= 5 ? 0 : -EBADMSG);
	if (_i < 5) {
		/* A failed get moves nothing and writes nothing. */
		ck_assert_uint_eq(b.off, 0);
		ck_assert_ptr_null(bytes);
	}
	if (_i < 1)
		ck_assert_uint_eq(u8, 7);
	if (_i < 2)
		ck_assert_uint_eq(u16, 7);
	if (_i < 4)
		ck_assert_uint_eq(u32, 7);
	if (_i < 8)
		ck_assert(u64 == 7);
	free(p);
}
END_TEST

START_TEST(t_put_fixed)
{
	uint8_t p[7];
	struct wbuf w;

	wbuf_init(&w, p, sizeof(p));
	ck_assert_int_eq(buf_put_u8(&w, 0x11), 0);
	ck_assert_int_eq(buf_put_u16(&w, 0x2233), 0);
	ck_assert_int_eq(buf_put_u32(&w, 0x44556677), 0);
	ck_assert_uint_eq(w.len, 7);
	ck_assert_mem_eq(p, "\x11\x22\x33\x44\x55\x66\x77", 7);
	ck_assert_int_eq(buf_put_u8(&w, 0), -ENOBUFS);
	ck_assert_uint_eq(w.len, 7);
	wbuf_init(&w, p, 3);
	ck_assert_int_eq(buf_printf(&w, "abc"), -ENOBUFS); /* room for NUL */
	ck_assert_int_eq(buf_printf(&w, "ab"), 0);
	ck_assert_uint_eq(w.len, 2);
	wbuf_fini(&w); /* no-op on fixed buffers */
}
END_TEST

START_TEST(t_put_growable)
{
	struct wbuf w;
	size_t i;

	wbuf_init_growable(&w, 10000);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_printf(&w, "%04zu", i), 0);
	ck_assert_uint_eq(w.len, 4000);
	ck_assert_mem_eq(w.p + 3996, "0999", 4);
	ck_assert_int_eq(buf_put_u64(&w, 1), 0);
	/* The cap holds: 5992 more bytes fit, 5993 do not. */
	{
		uint8_t *big = calloc(1, 6000);

		ck_assert_int_eq(buf_put_bytes(&w, big, 5993), -ENOBUFS);
		ck_assert_int_eq(buf_put_bytes(&w, big, 5992), 0);
		ck_assert_uint_eq(w.len, 10000);
		free(big);
	}
	wbuf_fini(&w);
	ck_assert_ptr_null(w.p);
}
END_TEST

/* A lowered max holds though the array has room (a snapshot's bound). */
START_TEST(t_put_lowered_max)
{
	struct wbuf w;

	wbuf_init_growable(&w, 10000);
	ck_assert_int_eq(buf_put_u64(&w, 1), 0);
	ck_assert_uint_ge(w.cap, 16);
	w.len = 0;
	w.max = 4;
	ck_assert_int_eq(buf_put_u64(&w, 2), -ENOBUFS);
	ck_assert_int_eq(buf_put_u32(&w, 3), 0);
	ck_assert_int_eq(buf_put_u8(&w, 4), -ENOBUFS);
	ck_assert_uint_eq(w.len, 4);
	wbuf_fini(&w);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc;

	tc = tcase_create("get");
	tcase_add_test(tc, t_get_values);
	tcase_add_loop_test(tc, t_get_short, 0, 9);
	suite_add_tcase(s, tc);
	tc = tcase_create("put");
	tcase_add_test(tc, t_put_fixed);
	tcase_add_test(tc, t_put_growable);
	tcase_add_test(tc, t_put_lowered_max);
	suite_add_tcase(s, tc);
	return s;
}
