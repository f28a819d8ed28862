/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_dispatch: request in, reply bytes and fate out.  Golden
 * exchanges replayed with the capture's clock give the captured reply
 * byte for byte; local-peer rules; relaxed mode; KILL and STOP; every
 * unknown tag; every truncation of every golden request; the access
 * policy and name ownership.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "dispatch.h"
#include "unit.h"
#include "util.h"

static struct registry *reg;
static struct dispatch_ctx ctx;
static struct wbuf out;
static bool gone_answer;
static void *gone_asked;

static bool
fake_gone(void *arg, void *owner)
{
	(void)arg;
	gone_asked = owner;
	return gone_answer;
}

static void
setup(void)
{
	reg = registry_new(REGISTRY_OLD_KEEP, unit_key);
	ck_assert_ptr_nonnull(reg);
	memset(&ctx, 0, sizeof(ctx));
	ctx.reg = reg;
	ctx.holder_gone = fake_gone;
	gone_answer = false;
	gone_asked = NULL;
	wbuf_init_growable(&out, DISPATCH_MAX_REPLY);
}

static void
teardown(void)
{
	wbuf_fini(&out);
	registry_free(reg);
}

static struct dispatch_peer
peer(void *owner, bool local, uint32_t port)
{
	struct dispatch_peer p;

	memset(&p, 0, sizeof(p));
	p.owner = owner;
	p.fd = (int)(intptr_t)owner;
	p.is_local = local;
	p.listen_port = port;
	p.uid = REGISTRY_UID_UNKNOWN;
	return p;
}

/* Dispatch a whole frame (length prefix included) from owner. */
static struct dispatch_result
run(const uint8_t *frame, size_t len, void *owner, bool local, int64_t now)
{
	struct dispatch_peer p = peer(owner, local, 4369);
	struct dispatch_result r;
	uint8_t *body = unit_dup(frame + 2, len - 2);

	ck_assert_int_eq(codec_frame_size(frame, len), (ssize_t)len);
	out.len = 0;
	dispatch_request(&ctx, &p, body, len - 2, now, &out, &r);
	free(body);
	return r;
}

static struct dispatch_result
run_hex(const char *hex, void *owner, bool local)
{
	uint8_t frame[512];
	size_t len = unit_hex(hex, frame, sizeof(frame));

	return run(frame, len, owner, local, 1000);
}

static struct dispatch_result
register_name(const char *name, uint16_t port, uint16_t hv, void *owner,
    int64_t now)
{
	struct codec_alive2 a;
	uint8_t frame[1200];
	struct wbuf w;

	memset(&a, 0, sizeof(a));
	a.port = port;
	a.type = 77;
	a.hv = hv;
	a.lv = 5;
	a.name = (const uint8_t *)name;
	a.nlen = (uint16_t)strlen(name);
	wbuf_init(&w, frame, sizeof(frame));
	ck_assert_int_eq(codec_put_alive2_req(&w, &a), 0);
	return run(frame, w.len, owner, true, now);
}

static void
assert_out(const char *hex)
{
	uint8_t want[512];
	size_t n = unit_hex(hex, want, sizeof(want));

	ck_assert_uint_eq(out.len, n);
	ck_assert_mem_eq(out.p, want, n);
}

/* ------------------------------------------------------------ golden */

static void
replay_alive2(const char *file)
{
	struct dispatch_result r;
	struct golden g;

	unit_golden(file, &g);
	ck_assert(g.has_clock);
	r = run(g.req, g.reqlen, (void *)1, true, g.clock);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	ck_assert_int_eq(r.refusal, DISPATCH_OK);
	ck_assert_ptr_nonnull(r.node);
	ck_assert_ptr_eq(r.node->owner, (void *)1);
	ck_assert_uint_eq(r.writes, 1);
	ck_assert_uint_eq(out.len, g.replen);
	ck_assert_mem_eq(out.p, g.rep, g.replen);
}

START_TEST(t_golden_alive2)
{
	replay_alive2("alive2_otp25.hex");
}
END_TEST

START_TEST(t_golden_alive2_hidden)
{
	replay_alive2("alive2_hidden_otp25.hex");
}
END_TEST

START_TEST(t_golden_alive2_hv5)
{
	replay_alive2("alive2_hv5_otp25.hex");
}
END_TEST

START_TEST(t_golden_duplicate)
{
	struct dispatch_result r;
	struct golden g;

	unit_golden("alive2_otp25.hex", &g);
	r = run(g.req, g.reqlen, (void *)1, true, g.clock);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	unit_golden("alive2_duplicate_otp25.hex", &g);
	r = run(g.req, g.reqlen, (void *)2, true, g.clock);
	/* The holder is asked about, found alive, and keeps its name. */
	ck_assert_ptr_eq(gone_asked, (void *)1);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE); /* Decision 4 */
	ck_assert_int_eq(r.refusal, DISPATCH_DUPLICATE);
	ck_assert_ptr_null(r.released);
	ck_assert_uint_eq(out.len, g.replen);
	ck_assert_mem_eq(out.p, g.rep, g.replen);
	ck_assert_ptr_eq(registry_lookup(reg, (const uint8_t *)"tnode", 5)->owner,
	    (void *)1);
	ck_assert_uint_eq(ctx.stats.refused[DISPATCH_DUPLICATE], 1);
}
END_TEST

START_TEST(t_golden_port2)
{
	struct dispatch_result r;
	struct golden g;

	unit_golden("alive2_otp25.hex", &g);
	run(g.req, g.reqlen, (void *)1, true, g.clock);
	unit_golden("port2_found_otp25.hex", &g);
	r = run(g.req, g.reqlen, (void *)2, false, 0);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_uint_eq(out.len, g.replen);
	ck_assert_mem_eq(out.p, g.rep, g.replen);
	unit_golden("port2_missing_otp25.hex", &g);
	r = run(g.req, g.reqlen, (void *)3, false, 0);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_uint_eq(out.len, g.replen);
	ck_assert_mem_eq(out.p, g.rep, g.replen);
	ck_assert_uint_eq(ctx.stats.lookups_hit, 1);
	ck_assert_uint_eq(ctx.stats.lookups_miss, 1);
}
END_TEST

START_TEST(t_golden_names)
{
	struct dispatch_peer p = peer((void *)9, false, 14391);
	struct dispatch_result r;
	struct golden g;

	register_name("tnode", 42571, 6, (void *)1, 10);
	register_name("t2", 37859, 6, (void *)2, 11);
	unit_golden("names_otp25.hex", &g);
	out.len = 0;
	dispatch_request(&ctx, &p, g.req + 2, g.reqlen - 2, 12, &out, &r);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_uint_eq(r.writes, 3);
	ck_assert_uint_eq(out.len, g.replen);
	ck_assert_mem_eq(out.p, g.rep, g.replen);
}
END_TEST

START_TEST(t_golden_names_empty)
{
	struct dispatch_peer p = peer((void *)9, true, 14393);
	struct dispatch_result r;
	struct golden g;

	unit_golden("names_empty_otp25.hex", &g);
	out.len = 0;
	dispatch_request(&ctx, &p, g.req + 2, g.reqlen - 2, 12, &out, &r);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_uint_eq(out.len, g.replen);
	ck_assert_mem_eq(out.p, g.rep, g.replen);
}
END_TEST

START_TEST(t_golden_kill)
{
	struct dispatch_result r;
	struct golden g;

	register_name("live", 5001, 6, (void *)1, 10);
	unit_golden("epmd_client_kill_refused.hex", &g);
	r = run(g.req, g.reqlen, (void *)2, true, 0);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_int_eq(r.refusal, DISPATCH_KILL_REFUSED);
	ck_assert_uint_eq(out.len, g.replen);
	ck_assert_mem_eq(out.p, g.rep, g.replen);
	/* Relaxed: allowed with live nodes. */
	ctx.relaxed = true;
	unit_golden("epmd_client_kill.hex", &g);
	r = run(g.req, g.reqlen, (void *)2, true, 0);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KILL);
	ck_assert_uint_eq(out.len, g.replen);
	ck_assert_mem_eq(out.p, g.rep, g.replen);
}
END_TEST

START_TEST(t_kill_empty)
{
	struct dispatch_result r;

	r = run_hex("00 01 6b", (void *)1, true);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KILL);
	assert_out("4f 4b");
	/* Trailing bytes are ignored. */
	r = run_hex("00 04 6b 58 59 5a", (void *)1, true);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KILL);
	/* A failed ALIVE2 is not a registration: KILL still allowed. */
	register_name("x", 1, 6, (void *)5, 1);
	r = register_name("x", 2, 6, (void *)6, 1);
	ck_assert_int_eq(r.refusal, DISPATCH_DUPLICATE);
	r = run_hex("00 01 6b", (void *)1, true);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	assert_out("4e 4f");
}
END_TEST

START_TEST(t_golden_stop)
{
	struct dispatch_result r;
	struct golden g;

	ctx.relaxed = true;
	r = register_name("tstop", 5001, 6, (void *)1, 10);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	unit_golden("epmd_client_stop.hex", &g);
	r = run(g.req, g.reqlen, (void *)2, true, 11);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_ptr_eq(r.released, (void *)1);
	ck_assert_uint_eq(out.len, g.replen);
	ck_assert_mem_eq(out.p, g.rep, g.replen);
	ck_assert_ptr_null(registry_lookup(reg, (const uint8_t *)"tstop", 5));
	/*
	 * Decision 2 (doc/DECISIONS): an unknown name gets NOEXIST alone, not
	 * OTP's 14.
	 */
	unit_golden("epmd_client_stop_noexist.hex", &g);
	r = run(g.req, g.reqlen, (void *)2, true, 11);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_ptr_null(r.released);
	ck_assert_uint_eq(out.len, 7);
	ck_assert_mem_eq(out.p, g.rep, 7);
	/* The name ends at the first NUL. */
	register_name("bar", 5002, 6, (void *)3, 12);
	r = run_hex("00 09 73 62 61 72 00 6a 75 6e 6b", (void *)2, true);
	ck_assert_ptr_eq(r.released, (void *)3);
	assert_out("53 54 4f 50 50 45 44");
}
END_TEST

START_TEST(t_stop_not_relaxed)
{
	struct dispatch_result r;

	register_name("live", 5001, 6, (void *)1, 10);
	r = run_hex("00 05 73 6c 69 76 65", (void *)2, true);
	ck_assert_int_eq(r.fate, DISPATCH_CLOSE);
	ck_assert_int_eq(r.refusal, DISPATCH_NOT_RELAXED);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_ptr_nonnull(registry_lookup(reg, (const uint8_t *)"live", 4));
	/* Empty STOP body when relaxed: closed. */
	ctx.relaxed = true;
	r = run_hex("00 01 73", (void *)2, true);
	ck_assert_int_eq(r.fate, DISPATCH_CLOSE);
}
END_TEST

/* ------------------------------------------------------------ policy */

START_TEST(t_non_local)
{
	static const char *const admin[] = {
		"00 12 78 a6 4b 4d 00 00 06 00 05 00 05 74 6e 6f 64 65 00 00",
		"00 01 64", "00 01 6b", "00 06 73 74 6e 6f 64 65",
	};
	struct dispatch_result r;
	size_t i;

	ctx.relaxed = true; /* relaxed does not relax the local rule */
	register_name("tnode", 42571, 6, (void *)1, 10);
	for (i = 0; i < sizeof(admin) / sizeof(admin[0]); i++) {
		r = run_hex(admin[i], (void *)2, false);
		ck_assert_int_eq(r.fate, DISPATCH_CLOSE);
		ck_assert_int_eq(r.refusal, DISPATCH_NON_LOCAL);
		ck_assert_uint_eq(out.len, 0);
	}
	ck_assert_uint_eq(ctx.stats.refused[DISPATCH_NON_LOCAL], 4);
	ck_assert_ptr_nonnull(registry_lookup(reg, (const uint8_t *)"tnode", 5));
	/* PORT2 and NAMES are for everyone. */
	r = run_hex("00 06 7a 74 6e 6f 64 65", (void *)2, false);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_uint_gt(out.len, 2);
	r = run_hex("00 01 6e", (void *)2, false);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_uint_gt(out.len, 4);
}
END_TEST

START_TEST(t_unknown_tags)
{
	int tag;

	for (tag = 0; tag < 256; tag++) {
		struct dispatch_result r;
		uint8_t frame[3] = { 0, 1, (uint8_t)tag };

		if (strchr("xzndks", tag) != NULL && tag != 0)
			continue;
		r = run(frame, 3, (void *)1, true, 0);
		ck_assert_int_eq(r.fate, DISPATCH_CLOSE);
		ck_assert_int_eq(r.refusal, DISPATCH_UNKNOWN_REQUEST);
		ck_assert_uint_eq(out.len, 0);
	}
	/* Legacy ALIVE_REQ and PORT_PLEASE_REQ are garbage in OTP 25. */
	ck_assert_int_eq(run_hex("00 04 70 66 6f 6f", (void *)1, true).refusal,
	    DISPATCH_UNKNOWN_REQUEST);
	ck_assert_int_eq(run_hex("00 07 61 00 00 00 00 00 00", (void *)1,
			     true).refusal,
	    DISPATCH_UNKNOWN_REQUEST);
}
END_TEST

START_TEST(t_alive2_error_replies)
{
	static char name[700];
	struct dispatch_result r;

	memset(name, 'a', 256);
	r = register_name(name, 1, 6, (void *)1, 1);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_int_eq(r.refusal, DISPATCH_NAME_TOO_LONG);
	assert_out("76 01 00 00 00 63");
	r = register_name("caf\xe9", 1, 5, (void *)1, 1);
	ck_assert_int_eq(r.refusal, DISPATCH_NAME_ENCODING);
	assert_out("79 01 00 63");
	r = register_name("x\xed\xa0\x80", 1, 6, (void *)1, 1);
	ck_assert_int_eq(r.refusal, DISPATCH_NAME_ENCODING);
	ck_assert_uint_eq(registry_first_active(reg) == NULL, 1);
	/* 255 characters register. */
	name[255] = '\0';
	r = register_name(name, 1, 6, (void *)1, 1);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
}
END_TEST

/*
 * A name holding a control character would forge lines in a NAMES reply
 * ("zz at port 1\nname rabbit"): refused with the error reply, counted.
 */
START_TEST(t_alive2_control_chars)
{
	static const char *const bad[] = { "zz at port 1\nname rabbit",
		"a\rb", "\x01x", "x\x1f", "tab\there", "del\x7f", "\x1b[2Jx" };
	struct dispatch_result r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		out.len = 0;
		r = register_name(bad[i], 31337, 6, (void *)1, 1);
		ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
		ck_assert_int_eq(r.refusal, DISPATCH_NAME_CONTROL);
		assert_out("76 01 00 00 00 63");
	}
	ck_assert_ptr_null(registry_first_active(reg));
	ck_assert_uint_eq(ctx.stats.refused[DISPATCH_NAME_CONTROL],
	    ARRAY_SIZE(bad));
	ck_assert_str_eq(dispatch_refusal_name(DISPATCH_NAME_CONTROL),
	    "name_control");
	/* Space, '~' and C1 characters (U+009B) are not C0 or DEL. */
	r = register_name("a b~", 1, 6, (void *)1, 1);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	r = register_name("csi\xc2\x9b", 2, 6, (void *)2, 1);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
}
END_TEST

START_TEST(t_holder_gone)
{
	struct dispatch_result r;

	register_name("foo", 5001, 6, (void *)1, 10);
	gone_answer = true;
	r = register_name("foo", 5002, 6, (void *)2, 11);
	/*
	 * Decision 6 (doc/DECISIONS): the gone holder gives way; creation
	 * continues.
	 */
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	ck_assert_ptr_eq(r.released, (void *)1);
	ck_assert_ptr_eq(r.node->owner, (void *)2);
	ck_assert_uint_eq(r.node->cr, 12);
	ck_assert_uint_eq(r.node->port, 5002);
}
END_TEST

START_TEST(t_dump)
{
	struct dispatch_result r;
	static const char want[] =
	    "\x00\x00\x11\x11"
	    "active name     <beta> at port 5002, fd = 6\n\0"
	    "old/unused name <alpha>, port = 5001, fd = 5 \n\0";
	struct dispatch_peer p = peer((void *)9, true, 0x1111);
	uint8_t req[1] = { 'd' };

	r = register_name("alpha", 5001, 6, (void *)5, 1);
	register_name("beta", 5002, 6, (void *)6, 1);
	registry_unregister(reg, r.node, REGISTRY_CLOSED, 2);
	out.len = 0;
	dispatch_request(&ctx, &p, req, 1, 3, &out, &r);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_uint_eq(r.writes, 3);
	ck_assert_uint_eq(out.len, sizeof(want) - 1);
	ck_assert_mem_eq(out.p, want, sizeof(want) - 1);
}
END_TEST

START_TEST(t_names_empty_name)
{
	struct dispatch_result r;
	uint8_t frame[32];
	size_t len;

	/* Nlen 0 with one byte after Elen registers the empty name. */
	len = unit_hex("00 0e 78 13 88 4d 00 00 06 00 05 00 00 00 00 21",
	    frame, sizeof(frame));
	r = run(frame, len, (void *)1, true, 5);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	r = run_hex("00 01 6e", (void *)2, false);
	ck_assert_uint_eq(out.len, 4 + 19);
	ck_assert_mem_eq(out.p + 4, "name  at port 5000\n", 19);
}
END_TEST

/* ------------------------------------------------------------ truncation */

/* Every prefix of every golden request body: a fate, never a crash. */
START_TEST(t_truncated_requests)
{
	static const char *const files[] = { "alive2_otp25.hex",
		"alive2_hv5_otp25.hex", "port2_found_otp25.hex",
		"names_otp25.hex", "epmd_client_kill.hex",
		"epmd_client_stop.hex" };
	size_t k, i;

	ctx.relaxed = true;
	for (k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		struct golden g;

		unit_golden(files[k], &g);
		for (i = 0; i + 2 < g.reqlen; i++) {
			struct dispatch_peer p = peer((void *)7, true, 4369);
			struct dispatch_result r;
			uint8_t *body = unit_dup(g.req + 2, i);

			out.len = 0;
			dispatch_request(&ctx, &p, body, i, 1, &out, &r);
			free(body);
			if (r.fate == DISPATCH_CLOSE)
				ck_assert_uint_eq(out.len, 0);
			else
				ck_assert_uint_gt(out.len, 0);
			if (g.req[2] == 'x')
				/* A cut ALIVE2 never registers. */
				ck_assert_int_eq(r.fate, DISPATCH_CLOSE);
		}
	}
}
END_TEST


/* ------------------------------------------------------------ policy */

static struct policy *
policy_of(const char *text)
{
	struct policy_error err;
	struct policy *p = NULL;

	ck_assert_int_eq(policy_parse(text, strlen(text), NULL, &p, &err), 0);
	return p;
}

/* Dispatch a hex frame from a peer at text, local or not. */
static struct dispatch_result
run_from(const char *hex, void *owner, const char *text, bool local)
{
	struct dispatch_peer p = peer(owner, local, 4369);
	struct dispatch_result r;
	uint8_t frame[512], *body;
	size_t len = unit_hex(hex, frame, sizeof(frame));

	ck_assert_int_eq(policy_parse_addr(text, &p.addr), 0);
	body = unit_dup(frame + 2, len - 2);
	out.len = 0;
	dispatch_request(&ctx, &p, body, len - 2, 1000, &out, &r);
	free(body);
	return r;
}

#define ALIVE2_TNODE \
	"00 12 78 a6 4b 4d 00 00 06 00 05 00 05 74 6e 6f 64 65 00 00"
#define ALIVE2_OTHER \
	"00 12 78 a6 4c 4d 00 00 06 00 05 00 05 6f 74 68 65 72 00 00"

static void
assert_refused(struct dispatch_result r, enum dispatch_refusal why, int kind)
{
	ck_assert_int_eq(r.fate, DISPATCH_CLOSE);
	ck_assert_int_eq(r.refusal, why);
	ck_assert_int_eq(r.kind, kind);
	ck_assert_uint_eq(out.len, 0);
}

START_TEST(t_policy_access)
{
	struct policy *p = policy_of("names 10.0.0.0/8\n"
				     "register local 192.168.5.0/24\n"
				     "dump none\n"
				     "admin 10.9.9.9\n"
				     "lookup none\n");
	struct dispatch_result r;
	char rule[128];

	ctx.policy = p;
	/* names: the list, nothing else; refused ones closed, no reply. */
	r = run_from("00 01 6e", (void *)1, "10.1.1.1", false);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_int_eq(r.refusal, DISPATCH_OK);
	r = run_from("00 01 6e", (void *)1, "11.1.1.1", false);
	assert_refused(r, DISPATCH_POLICY, POLICY_NAMES);
	ck_assert_uint_eq(r.decision.line, 1);
	ck_assert_ptr_null(r.decision.entry);
	dispatch_rule_text(&r, rule, sizeof(rule));
	ck_assert_str_eq(rule, "names rule on line 1");
	r = run_from("00 01 6e", (void *)1, "127.0.0.1", true);
	assert_refused(r, DISPATCH_POLICY, POLICY_NAMES);
	/* register: from the listed network too, not from elsewhere. */
	r = run_from(ALIVE2_TNODE, (void *)2, "192.168.5.7", false);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	ck_assert_ptr_nonnull(r.node);
	ck_assert_uint_eq(r.node->peer.family, 4);
	r = run_from(ALIVE2_OTHER, (void *)3, "10.1.1.1", false);
	assert_refused(r, DISPATCH_POLICY, POLICY_REGISTER);
	ck_assert_ptr_null(registry_lookup(reg, (const uint8_t *)"other", 5));
	r = run_from(ALIVE2_OTHER, (void *)3, "::1", true);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	/* dump none: not even from loopback. */
	r = run_from("00 01 64", (void *)4, "127.0.0.1", true);
	assert_refused(r, DISPATCH_POLICY, POLICY_DUMP);
	/* admin from one host, which is not local: KILL gets its answer. */
	r = run_from("00 01 6b", (void *)5, "10.9.9.9", false);
	ck_assert_int_eq(r.refusal, DISPATCH_KILL_REFUSED);
	assert_out("4e 4f");
	r = run_from("00 01 6b", (void *)5, "127.0.0.1", true);
	assert_refused(r, DISPATCH_POLICY, POLICY_ADMIN);
	r = run_from("00 06 73 74 6e 6f 64 65", (void *)5, "10.9.9.8", false);
	assert_refused(r, DISPATCH_POLICY, POLICY_ADMIN);
	/* lookup none. */
	r = run_from("00 06 7a 74 6e 6f 64 65", (void *)6, "127.0.0.1", true);
	assert_refused(r, DISPATCH_POLICY, POLICY_LOOKUP);
	/* Unknown tags are no kind: closed as before, never counted here. */
	r = run_from("00 01 51", (void *)6, "11.1.1.1", false);
	ck_assert_int_eq(r.refusal, DISPATCH_UNKNOWN_REQUEST);
	ck_assert_int_eq(r.kind, -1);

	ck_assert_uint_eq(ctx.stats.access_refused[POLICY_NAMES], 2);
	ck_assert_uint_eq(ctx.stats.access_refused[POLICY_REGISTER], 1);
	ck_assert_uint_eq(ctx.stats.access_refused[POLICY_DUMP], 1);
	ck_assert_uint_eq(ctx.stats.access_refused[POLICY_ADMIN], 2);
	ck_assert_uint_eq(ctx.stats.access_refused[POLICY_LOOKUP], 1);
	ck_assert_uint_eq(ctx.stats.refused[DISPATCH_POLICY], 7);
	ck_assert_uint_eq(ctx.stats.refused[DISPATCH_NON_LOCAL], 0);
	policy_free(p);
}
END_TEST

/* OTP's rule decides a kind the policy leaves alone: refused as OTP does. */
START_TEST(t_policy_default_kinds)
{
	struct policy *p = policy_of("names local\n");
	struct dispatch_result r;
	char rule[128];

	ctx.policy = p;
	r = run_from(ALIVE2_TNODE, (void *)1, "10.1.1.1", false);
	assert_refused(r, DISPATCH_NON_LOCAL, POLICY_REGISTER);
	ck_assert_str_eq(r.why, "ALIVE2_REQ from a non-local address");
	ck_assert_int_eq(r.decision.origin, POLICY_DEFAULT);
	dispatch_rule_text(&r, rule, sizeof(rule));
	ck_assert_str_eq(rule, "");
	r = run_from("00 06 7a 74 6e 6f 64 65", (void *)2, "10.1.1.1", false);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_uint_eq(ctx.stats.refused[DISPATCH_NON_LOCAL], 1);
	ck_assert_uint_eq(ctx.stats.access_refused[POLICY_REGISTER], 1);
	/* Without a policy, OTP's refusals are counted per kind as well. */
	ctx.policy = NULL;
	r = run_from("00 01 64", (void *)3, "10.1.1.1", false);
	assert_refused(r, DISPATCH_NON_LOCAL, POLICY_DUMP);
	ck_assert_str_eq(r.why, "DUMP_REQ from a non-local address");
	ck_assert_uint_eq(ctx.stats.access_refused[POLICY_DUMP], 1);
	r = run_from("00 01 6e", (void *)3, "10.1.1.1", false);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	policy_free(p);
}
END_TEST

static uint32_t fake_uid;
static int fake_owner_err;
static unsigned owner_asked;

static int
fake_owner(void *arg, void *owner, uint32_t *ret_uid, uint64_t *ret_inode)
{
	(void)arg;
	(void)owner;
	owner_asked++;
	if (fake_owner_err < 0)
		return fake_owner_err;
	*ret_uid = fake_uid;
	*ret_inode = 7000 + fake_uid;
	return 0;
}

/* uid 3000's groups are being looked up until fake_known is set. */
static bool fake_known;

static int
fake_member(void *arg, uint32_t uid, uint32_t gid)
{
	(void)arg;
	if (uid == 3000)
		return fake_known ? gid == 130 : -EAGAIN;
	return uid == 2000 && gid == 130;
}

START_TEST(t_policy_owner)
{
	struct policy *p = policy_of("owner tno* user=120\n"
				     "owner ejab group=130\n");
	struct policy *remote = policy_of("register any\n"
					  "owner tno* user=120\n");
	struct dispatch_result r;
	char rule[128];

	ctx.policy = p;
	ctx.peer_owner = fake_owner;
	ctx.member = fake_member;
	owner_asked = 0;
	fake_owner_err = 0;
	/* Someone else: the reply a taken name gets, then a close. */
	fake_uid = 5;
	r = run_from(ALIVE2_TNODE, (void *)1, "127.0.0.1", true);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_CLOSE);
	ck_assert_int_eq(r.refusal, DISPATCH_NOT_OWNER);
	assert_out("76 01 00 00 00 63");
	ck_assert_ptr_eq(r.owner_rule, &p->owners[0]);
	ck_assert_uint_eq(r.uid, 5);
	dispatch_rule_text(&r, rule, sizeof(rule));
	ck_assert_str_eq(rule, "owner tno* on line 1, socket of uid 5");
	ck_assert_ptr_null(registry_lookup(reg, (const uint8_t *)"tnode", 5));
	/* The 16-bit form for an old node. */
	r = run_from("00 12 78 a6 4b 4d 00 00 05 00 05 00 05 74 6e 6f 64 65 00 00",
	    (void *)1, "127.0.0.1", true);
	assert_out("79 01 00 63");
	/* The owner: registered, and the registry knows its uid. */
	fake_uid = 120;
	r = run_from(ALIVE2_TNODE, (void *)2, "127.0.0.1", true);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	ck_assert_uint_eq(r.node->uid, 120);
	ck_assert_uint_eq(r.node->inode, 7120);
	/* A squatter on the taken name hears the same, and the holder is
	 * not even asked about. */
	fake_uid = 5;
	gone_asked = NULL;
	r = run_from(ALIVE2_TNODE, (void *)3, "127.0.0.1", true);
	ck_assert_int_eq(r.refusal, DISPATCH_NOT_OWNER);
	ck_assert_ptr_null(gone_asked);
	assert_out("76 01 00 00 00 63");
	/*
	 * A peer on another host: the kernel is not even asked (it could
	 * answer with a local listener on the peer's port, someone else's:
	 * even the owner's), and the owner stays unknown.
	 */
	ctx.policy = remote;
	fake_owner_err = 0;
	fake_uid = 120;
	owner_asked = 0;
	r = run_from(ALIVE2_TNODE, (void *)4, "10.1.1.1", false);
	ck_assert_int_eq(r.refusal, DISPATCH_NOT_OWNER);
	ck_assert_uint_eq(r.uid, REGISTRY_UID_UNKNOWN);
	ck_assert_uint_eq(owner_asked, 0);
	/* A local peer whose owner the kernel cannot give: refused too. */
	fake_owner_err = -ENOENT;
	r = run_from(ALIVE2_TNODE, (void *)4, "127.0.0.1", true);
	ck_assert_int_eq(r.refusal, DISPATCH_NOT_OWNER);
	ck_assert_uint_eq(owner_asked, 1);
	/* The text says so, not "not a local peer". */
	dispatch_rule_text(&r, rule, sizeof(rule));
	ck_assert_str_eq(rule, "owner tno* on line 2, socket owner unknown "
			       "(a local peer, but its socket was not found "
			       "on this host)");
	fake_owner_err = -EACCES;
	r = run_from(ALIVE2_TNODE, (void *)4, "127.0.0.1", true);
	dispatch_rule_text(&r, rule, sizeof(rule));
	ck_assert_str_eq(rule, "owner tno* on line 2, socket owner unknown "
			       "(a local peer; asking the kernel failed: "
			       "Permission denied)");
	fake_owner_err = -ENOENT;
	r = run_from(ALIVE2_TNODE, (void *)4, "10.1.1.1", false);
	ck_assert_int_eq(r.refusal, DISPATCH_NOT_OWNER);
	ck_assert_uint_eq(r.uid, REGISTRY_UID_UNKNOWN);
	dispatch_rule_text(&r, rule, sizeof(rule));
	ck_assert_str_eq(rule, "owner tno* on line 2, socket owner unknown "
			       "(not a local peer)");
	ctx.policy = p;
	/* A group member. */
	fake_owner_err = 0;
	fake_uid = 2000;
	r = run_from("00 11 78 a6 4d 4d 00 00 06 00 05 00 04 65 6a 61 62 00 00",
	    (void *)5, "127.0.0.1", true);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	/* A name no rule covers: nobody is asked whose socket it is. */
	owner_asked = 0;
	r = run_from(ALIVE2_OTHER, (void *)6, "127.0.0.1", true);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	ck_assert_uint_eq(owner_asked, 0);
	ck_assert_uint_eq(r.node->uid, REGISTRY_UID_UNKNOWN);
	ck_assert_uint_eq(ctx.stats.refused[DISPATCH_NOT_OWNER], 7);
	/*
	 * A uid whose groups are not known yet: no reply and no change
	 * until they are (never a guess), then the same request again.
	 */
	registry_unregister(reg, registry_lookup(reg, (const uint8_t *)"ejab",
				     4),
	    REGISTRY_CLOSED, 1000);
	fake_uid = 3000;
	fake_known = false;
	r = run_from("00 11 78 a6 4d 4d 00 00 06 00 05 00 04 65 6a 61 62 00 00",
	    (void *)7, "127.0.0.1", true);
	ck_assert_int_eq(r.fate, DISPATCH_WAIT);
	ck_assert_int_eq(r.refusal, DISPATCH_OK);
	ck_assert_uint_eq(r.uid, 3000);
	ck_assert(r.inode == 10000);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_ptr_null(registry_lookup(reg, (const uint8_t *)"ejab", 4));
	fake_known = true;
	r = run_from("00 11 78 a6 4d 4d 00 00 06 00 05 00 04 65 6a 61 62 00 00",
	    (void *)7, "127.0.0.1", true);
	ck_assert_int_eq(r.fate, DISPATCH_REPLY_KEEP);
	ck_assert_uint_eq(r.node->uid, 3000);
	ck_assert_uint_eq(ctx.stats.refused[DISPATCH_NOT_OWNER], 7);
	policy_free(remote);
	policy_free(p);
}
END_TEST

Suite *
dispatch_suite(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc;

	tc = tcase_create("golden");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_golden_alive2);
	tcase_add_test(tc, t_golden_alive2_hidden);
	tcase_add_test(tc, t_golden_alive2_hv5);
	tcase_add_test(tc, t_golden_duplicate);
	tcase_add_test(tc, t_golden_port2);
	tcase_add_test(tc, t_golden_names);
	tcase_add_test(tc, t_golden_names_empty);
	tcase_add_test(tc, t_golden_kill);
	tcase_add_test(tc, t_golden_stop);
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_kill_empty);
	tcase_add_test(tc, t_stop_not_relaxed);
	tcase_add_test(tc, t_non_local);
	tcase_add_test(tc, t_unknown_tags);
	tcase_add_test(tc, t_alive2_error_replies);
	tcase_add_test(tc, t_alive2_control_chars);
	tcase_add_test(tc, t_holder_gone);
	tcase_add_test(tc, t_dump);
	tcase_add_test(tc, t_names_empty_name);
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_policy_access);
	tcase_add_test(tc, t_policy_default_kinds);
	tcase_add_test(tc, t_policy_owner);
	suite_add_tcase(s, tc);
	tc = tcase_create("truncation");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_truncated_requests);
	suite_add_tcase(s, tc);
	return s;
}
