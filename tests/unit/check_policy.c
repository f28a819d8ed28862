/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_policy: the configuration grammar and the two questions.  OTP's
 * rules when nothing is given; lists that add up across lines; address
 * matching at every prefix boundary, IPv4-mapped peers as IPv4; the
 * ownership rule that covers a name (exact, else longest prefix) and who
 * may register it; -allow values; and every parse error, with the line
 * and column it names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "unit.h"
#include "util.h"

/* Users and groups the fake resolver knows. */
static int
fake_user(void *arg, const char *name, uint32_t *ret)
{
	(void)arg;
	if (strcmp(name, "rabbitmq") == 0)
		*ret = 120;
	else if (strcmp(name, "alice") == 0)
		*ret = 1001;
	else if (strcmp(name, "broken") == 0)
		return -EIO;
	else
		return -ENOENT;
	return 0;
}

static int
fake_group(void *arg, const char *name, uint32_t *ret)
{
	(void)arg;
	if (strcmp(name, "ejabberd") == 0)
		*ret = 130;
	else
		return -ENOENT;
	return 0;
}

static const struct policy_resolver names = { fake_user, fake_group, NULL };

/*
 * uid 2000 is in group 130; uid 3000's groups are not known yet (being
 * looked up); nobody else is in any group.
 */
static int
fake_member(void *arg, uint32_t uid, uint32_t gid)
{
	(void)arg;
	if (uid == 3000)
		return -EAGAIN;
	return uid == 2000 && gid == 130;
}

static struct policy *
parse_ok(const char *text)
{
	struct policy_error err;
	struct policy *p = NULL;
	int r = policy_parse(text, strlen(text), &names, &p, &err);

	if (r != 0)
		ck_abort_msg("parse of \"%s\" failed: %u:%u: %s", text,
		    err.line, err.column, err.message);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* A parse that must fail at line:column with a message holding what. */
static void
parse_fails(const char *text, size_t len, unsigned line, unsigned column,
    const char *what)
{
	struct policy_error err;
	struct policy *p = NULL;
	char *copy = (char *)unit_dup(text, len);
	int r = policy_parse(copy, len, &names, &p, &err);

	free(copy);
	ck_assert_msg(r == -EINVAL, "\"%.60s\": expected an error, got %d",
	    text, r);
	ck_assert_ptr_null(p);
	ck_assert_msg(err.line == line && err.column == column,
	    "\"%.60s\": error at %u:%u (%s), expected %u:%u", text, err.line,
	    err.column, err.message, line, column);
	ck_assert_msg(strstr(err.message, what) != NULL,
	    "\"%.60s\": message \"%s\" lacks \"%s\"", text, err.message, what);
	/* One line: the daemon prints it as such. */
	ck_assert_ptr_null(strchr(err.message, '\n'));
}

#define FAILS(text, line, col, what) \
	parse_fails(text, strlen(text), line, col, what)

static struct registry_addr
addr(const char *text)
{
	struct registry_addr a;

	ck_assert_int_eq(policy_parse_addr(text, &a), 0);
	return a;
}

/* Both ways of asking (the quick answer, the reported decision) agree. */
static bool
both(const struct policy *p, enum policy_kind k,
    const struct registry_addr *a, bool local)
{
	struct policy_decision d;
	bool quick = policy_allows(p, k, a, local, NULL);

	ck_assert_int_eq(policy_allows(p, k, a, local, &d), quick);
	ck_assert_int_eq(d.allowed, quick);
	ck_assert(quick || d.entry == NULL);
	return quick;
}

static bool
allows(const struct policy *p, enum policy_kind k, const char *peer,
    bool local)
{
	struct registry_addr a = addr(peer);

	return both(p, k, &a, local);
}

START_TEST(t_defaults)
{
	const struct policy *d = policy_defaults();
	struct policy *p = parse_ok("# nothing but a comment\n\n   \n");
	int k;

	/* OTP: register, dump, admin from local peers; the rest from anyone. */
	for (k = 0; k < POLICY_KIND_COUNT; k++) {
		bool open = k == POLICY_LOOKUP || k == POLICY_NAMES;

		ck_assert(allows(d, (enum policy_kind)k, "127.0.0.1", true));
		ck_assert(allows(d, (enum policy_kind)k, "10.1.2.3", false) ==
		    open);
		ck_assert(allows(p, (enum policy_kind)k, "10.1.2.3", false) ==
		    open);
		ck_assert_int_eq(p->access[k].origin, POLICY_DEFAULT);
	}
	ck_assert(!policy_is_configured(d));
	ck_assert(!policy_is_configured(p));
	ck_assert(!policy_is_configured(NULL));
	ck_assert_uint_eq(p->nowners, 0);
	policy_free(p);
	policy_free(NULL);
}
END_TEST

START_TEST(t_kinds)
{
	static const char *const kn[] = { "register", "lookup", "names", "dump",
		"admin" };
	int k;

	for (k = 0; k < POLICY_KIND_COUNT; k++) {
		ck_assert_str_eq(policy_kind_name((enum policy_kind)k), kn[k]);
		ck_assert_int_eq(policy_kind_from_name(kn[k]), k);
	}
	ck_assert_int_eq(policy_kind_from_name("owner"), -1);
	ck_assert_int_eq(policy_kind_from_name(""), -1);
	ck_assert_str_eq(policy_kind_name(POLICY_KIND_COUNT), "unknown");
	ck_assert_str_eq(policy_origin_name(POLICY_FILE), "file");
	ck_assert_str_eq(policy_origin_name(POLICY_OPTION), "option");
	ck_assert_str_eq(policy_origin_name(POLICY_DEFAULT), "default");
}
END_TEST

START_TEST(t_lists)
{
	struct policy *p = parse_ok("names local 10.0.0.0/8\n"
				    "  names\t192.168.1.7   # one host\n"
				    "lookup any\n"
				    "dump none\n"
				    "register 10.2.0.0/16\r\n"
				    "admin fd00:1::/64 ::1\n");
	struct policy_decision d;
	struct registry_addr a;

	ck_assert(policy_is_configured(p));
	ck_assert_int_eq(p->access[POLICY_NAMES].mode, POLICY_LIST);
	ck_assert_uint_eq(p->access[POLICY_NAMES].n, 3);
	ck_assert_uint_eq(p->access[POLICY_NAMES].line, 1);
	ck_assert(allows(p, POLICY_NAMES, "127.0.0.1", true));
	ck_assert(allows(p, POLICY_NAMES, "10.255.255.255", false));
	ck_assert(allows(p, POLICY_NAMES, "192.168.1.7", false));
	ck_assert(!allows(p, POLICY_NAMES, "192.168.1.8", false));
	ck_assert(!allows(p, POLICY_NAMES, "11.0.0.0", false));
	ck_assert(!allows(p, POLICY_NAMES, "::1", false));
	/* The entry that decided, and its own line. */
	a = addr("192.168.1.7");
	ck_assert(policy_allows(p, POLICY_NAMES, &a, false, &d));
	ck_assert(d.allowed);
	ck_assert_int_eq(d.origin, POLICY_FILE);
	ck_assert_uint_eq(d.line, 2);
	ck_assert_ptr_eq(d.entry, &p->access[POLICY_NAMES].entries[2]);
	/* No entry: refused, and the rule's first line. */
	a = addr("8.8.8.8");
	ck_assert(!policy_allows(p, POLICY_NAMES, &a, false, &d));
	ck_assert(!d.allowed);
	ck_assert_ptr_null(d.entry);
	ck_assert_uint_eq(d.line, 1);
	/* any and none. */
	ck_assert(allows(p, POLICY_LOOKUP, "203.0.113.9", false));
	ck_assert(!allows(p, POLICY_DUMP, "127.0.0.1", true));
	/* A list without local refuses local peers. */
	ck_assert(!allows(p, POLICY_REGISTER, "127.0.0.1", true));
	ck_assert(allows(p, POLICY_REGISTER, "10.2.200.1", false));
	/* CRLF: the line parsed all the same. */
	ck_assert_uint_eq(p->access[POLICY_REGISTER].n, 1);
	/* IPv6, and ::1 by address. */
	ck_assert(allows(p, POLICY_ADMIN, "fd00:1::ffff:1", false));
	ck_assert(!allows(p, POLICY_ADMIN, "fd00:1:0:1::1", false));
	ck_assert(allows(p, POLICY_ADMIN, "::1", false));
	ck_assert(!allows(p, POLICY_ADMIN, "127.0.0.1", true));
	policy_free(p);
}
END_TEST

/* Every prefix length of both families, on each side of the boundary. */
START_TEST(t_prefix_boundaries)
{
	unsigned bits = (unsigned)_i;
	char text[128], peer[64];
	struct policy *p;
	struct registry_addr in, out;
	unsigned max = bits <= 32 ? 32 : 128, b = bits <= 32 ? bits : bits - 33;

	/* Network 0xff..ff with b bits, zero after. */
	memset(&in, 0, sizeof(in));
	in.family = max == 32 ? 4 : 6;
	for (unsigned i = 0; i < b; i++)
		in.addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	{
		struct policy_entry e;

		memset(&e, 0, sizeof(e));
		e.family = in.family;
		e.bits = (uint8_t)b;
		memcpy(e.addr, in.addr, 16);
		policy_entry_text(&e, peer, sizeof(peer));
	}
	snprintf(text, sizeof(text), "names %s\n", peer);
	p = parse_ok(text);
	ck_assert_uint_eq(p->access[POLICY_NAMES].entries[0].bits, b);
	/* The network itself and its last address match. */
	ck_assert(both(p, POLICY_NAMES, &in, false));
	out = in;
	for (unsigned i = b; i < max; i++)
		out.addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	ck_assert(both(p, POLICY_NAMES, &out, false));
	/* One bit inside the prefix flipped: outside. */
	if (b > 0) {
		out = in;
		out.addr[(b - 1) / 8] ^= (uint8_t)(0x80 >> ((b - 1) % 8));
		ck_assert(!both(p, POLICY_NAMES, &out, false));
	}
	/* The other family never matches. */
	memset(&out, 0, sizeof(out));
	out.family = in.family == 4 ? 6 : 4;
	ck_assert(!both(p, POLICY_NAMES, &out, false));
	policy_free(p);
}
END_TEST

START_TEST(t_mapped_peer)
{
	struct policy *p = parse_ok("names 10.0.0.0/8\nlookup ::/0\n");

	/* A dual-stack listener sees an IPv4 peer as ::ffff:a.b.c.d. */
	ck_assert(allows(p, POLICY_NAMES, "::ffff:10.9.8.7", false));
	ck_assert(!allows(p, POLICY_NAMES, "::ffff:11.9.8.7", false));
	/* ... and matches it as IPv4 only. */
	ck_assert(!allows(p, POLICY_LOOKUP, "::ffff:10.9.8.7", false));
	ck_assert(allows(p, POLICY_LOOKUP, "2001:db8::1", false));
	policy_free(p);
}
END_TEST

START_TEST(t_owners)
{
	struct policy *p = parse_ok(
	    "owner rabbit* user=rabbitmq\n"
	    "owner rabbit user=rabbitmq user=alice\n"
	    "owner rabbitmq* group=ejabberd user=42 #many\n"
	    "owner ejabberd group=ejabberd\n"
	    "owner * group=130\n"
	    "owner a#b user=alice\n"
	    "owner n\xc5\x93ud user=alice\n");
	const struct policy_owner *o;

	ck_assert_uint_eq(p->nowners, 7);
	/* Exact beats any prefix; the longest prefix beats a shorter. */
	o = policy_owner_of(p, (const uint8_t *)"rabbit", 6);
	ck_assert_ptr_eq(o, &p->owners[1]);
	ck_assert(!o->prefix);
	o = policy_owner_of(p, (const uint8_t *)"rabbit2", 7);
	ck_assert_ptr_eq(o, &p->owners[0]);
	o = policy_owner_of(p, (const uint8_t *)"rabbitmqcli-1", 13);
	ck_assert_ptr_eq(o, &p->owners[2]);
	ck_assert_uint_eq(o->line, 3);
	o = policy_owner_of(p, (const uint8_t *)"rabbi", 5);
	ck_assert_ptr_eq(o, &p->owners[4]);
	ck_assert_uint_eq(o->plen, 0);
	o = policy_owner_of(p, (const uint8_t *)"a#b", 3);
	ck_assert_ptr_eq(o, &p->owners[5]);
	o = policy_owner_of(p, (const uint8_t *)"n\xc5\x93ud", 5);
	ck_assert_ptr_eq(o, &p->owners[6]);
	/* Users by id; groups through membership; unknown is never. */
	ck_assert(policy_owner_allows(&p->owners[1], 120, fake_member, NULL));
	ck_assert(policy_owner_allows(&p->owners[1], 1001, fake_member, NULL));
	ck_assert(!policy_owner_allows(&p->owners[1], 0, fake_member, NULL));
	ck_assert(policy_owner_allows(&p->owners[2], 42, NULL, NULL));
	ck_assert(policy_owner_allows(&p->owners[2], 2000, fake_member, NULL));
	ck_assert(!policy_owner_allows(&p->owners[2], 2000, NULL, NULL));
	ck_assert(!policy_owner_allows(&p->owners[2], 2001, fake_member,
	    NULL));
	ck_assert(!policy_owner_allows(&p->owners[0], REGISTRY_UID_UNKNOWN,
	    fake_member, NULL));
	/*
	 * A membership not known yet: "cannot tell" from the check, a
	 * refusal from allows (never a guess); a user id still decides.
	 */
	ck_assert_int_eq(policy_owner_check(&p->owners[2], 3000, fake_member,
			     NULL),
	    -EAGAIN);
	ck_assert(!policy_owner_allows(&p->owners[2], 3000, fake_member,
	    NULL));
	ck_assert_int_eq(policy_owner_check(&p->owners[2], 42, fake_member,
			     NULL),
	    1);
	ck_assert_int_eq(policy_owner_check(&p->owners[2], 2000, fake_member,
			     NULL),
	    1);
	ck_assert_int_eq(policy_owner_check(&p->owners[2], 2001, fake_member,
			     NULL),
	    0);
	ck_assert_int_eq(policy_owner_check(&p->owners[1], 3000, fake_member,
			     NULL),
	    0); /* a rule naming no group never asks */
	ck_assert_uint_eq(p->owners[4].ids[0].id, 130);
	ck_assert(p->owners[4].ids[0].group);
	ck_assert_str_eq(p->owners[4].ids[0].name, "130");
	policy_free(p);
	/* Without any owner rule, nothing is owned. */
	p = parse_ok("names any\n");
	ck_assert_ptr_null(policy_owner_of(p, (const uint8_t *)"x", 1));
	policy_free(p);
}
END_TEST

START_TEST(t_texts)
{
	struct policy *p = parse_ok("names 10.0.0.0/8 10.1.2.3 fd00::/8 ::1 "
				    "local 0.0.0.0/0\n"
				    "owner rab* user=rabbitmq group=ejabberd\n");
	static const char *const want[] = { "10.0.0.0/8", "10.1.2.3",
		"fd00::/8", "::1", "local", "0.0.0.0/0" };
	char buf[POLICY_ENTRY_TEXT];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		policy_entry_text(&p->access[POLICY_NAMES].entries[i], buf,
		    sizeof(buf));
		ck_assert_str_eq(buf, want[i]);
	}
	policy_pattern_text(&p->owners[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "rab*");
	policy_id_text(&p->owners[0].ids[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "user=rabbitmq");
	policy_id_text(&p->owners[0].ids[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "group=ejabberd");
	policy_free(p);
}
END_TEST

START_TEST(t_set_access)
{
	struct policy *p = parse_ok("names 10.0.0.0/8\nlookup none\n");
	struct policy_error err;

	/* An option replaces the file's rule. */
	ck_assert_int_eq(policy_set_access(p, POLICY_NAMES,
			     "local,192.168.0.0/16 ::1", &err),
	    0);
	ck_assert_int_eq(p->access[POLICY_NAMES].origin, POLICY_OPTION);
	ck_assert_uint_eq(p->access[POLICY_NAMES].n, 3);
	ck_assert_uint_eq(p->access[POLICY_NAMES].line, 0);
	ck_assert(!allows(p, POLICY_NAMES, "10.0.0.1", false));
	ck_assert(allows(p, POLICY_NAMES, "192.168.3.4", false));
	ck_assert_int_eq(policy_set_access(p, POLICY_LOOKUP, "any", &err), 0);
	ck_assert(allows(p, POLICY_LOOKUP, "1.2.3.4", false));
	/* Errors name the column within the value. */
	ck_assert_int_eq(policy_set_access(p, POLICY_DUMP, "local,10.0.0.1/33",
			     &err),
	    -EINVAL);
	ck_assert_uint_eq(err.line, 0);
	ck_assert_uint_eq(err.column, 16);
	ck_assert_int_eq(policy_set_access(p, POLICY_DUMP, "", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "needs a rule"));
	ck_assert_int_eq(policy_set_access(p, POLICY_DUMP, "none,local", &err),
	    -EINVAL);
	ck_assert_uint_eq(err.column, 1);
	/* '#' is no comment in an option: not an address. */
	ck_assert_int_eq(policy_set_access(p, POLICY_DUMP, "#x", &err),
	    -EINVAL);
	policy_free(p);
}
END_TEST

START_TEST(t_errors)
{
	char *big;
	size_t i;

	FAILS("names 10.0.0.0/8\nfoo any\n", 2, 1, "unknown keyword \"foo\"");
	FAILS("  names\n", 1, 8, "needs a rule");
	FAILS("names # only a comment\n", 1, 23, "needs a rule");
	FAILS("names any local\n", 1, 7, "stands alone");
	FAILS("names local any\n", 1, 13, "stands alone");
	FAILS("names local\nnames none\n", 2, 7, "stands alone");
	FAILS("names any\nnames local\n", 2, 1, "since line 1");
	FAILS("names 10.0.0.0/8 300.1.2.3\n", 1, 18, "not an address");
	FAILS("names fe80::1%eth0\n", 1, 7, "not an address");
	FAILS("names ::ffff:10.0.0.1\n", 1, 7, "IPv4-mapped");
	FAILS("names 10.0.0.0/\n", 1, 16, "not a prefix length");
	FAILS("names 10.0.0.0/8x\n", 1, 16, "not in 0..32");
	FAILS("names 10.0.0.0/33\n", 1, 16, "not in 0..32");
	FAILS("names ::/129\n", 1, 10, "not in 0..128");
	FAILS("names 10.0.0.0/-1\n", 1, 16, "not in 0..32");
	FAILS("names 10.1.0.0/8\n", 1, 7, "the network is 10.0.0.0/8");
	FAILS("names fd00::1/64\n", 1, 7, "the network is fd00::/64");
	FAILS("names 10.0.0.0/8 local 10.0.0.0/8\n", 1, 24, "listed twice");
	FAILS("names local\nnames 1.2.3.4 local\n", 2, 15,
	    "first on line 1");
	FAILS("owner\n", 1, 6, "needs a name");
	FAILS("owner rabbit\n", 1, 13, "at least one user= or group=");
	FAILS("owner ra*bbit user=alice\n", 1, 9, "'*' may only end");
	FAILS("owner rabbit@host user=alice\n", 1, 7, "without \"@host\"");
	FAILS("owner \xc0\x80 user=alice\n", 1, 7, "not UTF-8");
	FAILS("owner rabbit user=alice\nowner rabbit group=ejabberd\n", 2, 7,
	    "already given on line 1");
	FAILS("owner rabbit alice\n", 1, 14, "expected user=NAME or group=NAME");
	FAILS("owner rabbit user=\n", 1, 14, "expected user=NAME");
	FAILS("owner rabbit user=nosuch\n", 1, 19, "user \"nosuch\" does not "
						  "exist");
	FAILS("owner rabbit group=nosuch\n", 1, 20, "does not exist");
	FAILS("owner rabbit user=broken\n", 1, 19, "cannot be looked up");
	FAILS("owner rabbit user=4294967295\n", 1, 19, "not a user id");
	FAILS("owner rabbit group=12x\n", 1, 20, "not a group id");
	FAILS("owner rabbit user=alice user=1001\n", 1, 25, "given twice");
	/* Line 3, past a comment and a blank line; a NUL byte. */
	parse_fails("# x\n\nnames lo\0cal\n", 15, 3, 9, "NUL byte");

	/* Limits: one past each. */
	big = malloc(POLICY_MAX_FILE + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', POLICY_MAX_LINE + 1);
	memcpy(big, "names ", 6);
	parse_fails(big, POLICY_MAX_LINE + 1, 1, POLICY_MAX_LINE + 1,
	    "longer than");
	/* The longest line is fine (spaces after a rule). */
	memset(big, ' ', POLICY_MAX_LINE);
	memcpy(big, "names any", 9);
	{
		struct policy_error err;
		struct policy *p = NULL;

		ck_assert_int_eq(policy_parse(big, POLICY_MAX_LINE, &names, &p,
				     &err),
		    0);
		policy_free(p);
	}
	memset(big, '\n', POLICY_MAX_FILE + 1);
	parse_fails(big, POLICY_MAX_FILE + 1, 0, 0, "larger than");
	/* A name of 256 characters (255 is the longest a node has). */
	{
		char line[600];
		int n = snprintf(line, sizeof(line), "owner ");

		for (i = 0; i < 256; i++)
			line[n++] = 'a';
		snprintf(line + n, sizeof(line) - (size_t)n, " user=alice\n");
		parse_fails(line, strlen(line), 1, 7, "longer than a node name");
		/* 255 with a '*' is fine. */
		line[6 + 255] = '*';
		{
			struct policy_error err;
			struct policy *p = NULL;

			ck_assert_int_eq(policy_parse(line, strlen(line),
					     &names, &p, &err),
			    0);
			ck_assert(p->owners[0].prefix);
			ck_assert_uint_eq(p->owners[0].plen, 255);
			policy_free(p);
		}
	}
	free(big);
}
END_TEST

/*
 * A pattern with a character that looks like a space or like nothing
 * would own another name than the one it seems to: refused, with the
 * column of that character.
 */
START_TEST(t_hidden_chars)
{
	static const struct {
		const char *seq;
		const char *cp;
	} hidden[] = {
		{ "\x01", "U+0001" }, { "\x1f", "U+001F" }, { "\x7f", "U+007F" },
		{ "\xc2\x80", "U+0080" }, { "\xc2\x9b", "U+009B" },
		{ "\xc2\xa0", "U+00A0" }, { "\xc2\xad", "U+00AD" },
		{ "\xe1\x9a\x80", "U+1680" }, { "\xe2\x80\x80", "U+2000" },
		{ "\xe2\x80\x8b", "U+200B" }, { "\xe2\x80\x8f", "U+200F" },
		{ "\xe2\x80\xa8", "U+2028" }, { "\xe2\x80\xaf", "U+202F" },
		{ "\xe2\x81\x9f", "U+205F" }, { "\xe2\x81\xaf", "U+206F" },
		{ "\xe3\x80\x80", "U+3000" }, { "\xef\xbb\xbf", "U+FEFF" },
	};
	char line[128];
	struct policy *p;
	size_t i;
	uint32_t cp;

	for (i = 0; i < ARRAY_SIZE(hidden); i++) {
		/* After the name, inside it, and before a '*'. */
		snprintf(line, sizeof(line), "owner rabbit%s user=alice\n",
		    hidden[i].seq);
		FAILS(line, 1, 13, hidden[i].cp);
		snprintf(line, sizeof(line), "owner ra%sbbit user=alice\n",
		    hidden[i].seq);
		FAILS(line, 1, 9, hidden[i].cp);
		snprintf(line, sizeof(line), "\nowner rabbit%s* user=alice\n",
		    hidden[i].seq);
		FAILS(line, 2, 13, "an invisible character");
	}
	/* The neighbours of each range are names like any other. */
	p = parse_ok("owner a\xc2\xa1 user=alice\n"
		     "owner b\xe1\x9a\x81 user=alice\n"
		     "owner c\xe2\x80\x90 user=alice\n"
		     "owner d\xe2\x80\xb0 user=alice\n"
		     "owner e\xe2\x81\xb0 user=alice\n"
		     "owner f\xe3\x80\x81 user=alice\n"
		     "owner g\xef\xbb\xbe~ user=alice\n"
		     "owner caf\xc3\xa9* user=alice\n");
	ck_assert_uint_eq(p->nowners, 8);
	policy_free(p);
	ck_assert_int_eq(policy_find_hidden((const uint8_t *)"abc", 3, &cp), -1);
	ck_assert_int_eq(policy_find_hidden((const uint8_t *)"ab\xe2\x80\x8b",
			     5, &cp), 2);
	ck_assert_uint_eq(cp, 0x200b);
}
END_TEST

/*
 * -config pointed at a file that is not a configuration (/etc/shadow):
 * the error quotes at most POLICY_MAX_QUOTE bytes of it, escaped.
 */
START_TEST(t_error_quotes)
{
	static const char secret[] = "root:$6$Zx9QWk2LmN8pR4tS$Qf7Hk2Jd9sLm3N"
				     "p5Rt8Vw1Xy4Za6Bc0De2Fg4Hi6Jk8Lm0No2Pq4"
				     "Rs6Tu8Vw0Xy2Za4Bc6De8Fg0Hi2Jk4Lm6No8P:"
				     "19000:0:99999:7:::";
	static const char *const frames[][2] = { { "", "\n" },
		{ "owner *", " user=1\n" }, { "names ", "\n" },
		{ "owner rabbit user=", "\n" }, { "owner rabbit ", "\n" } };
	struct policy_error err;
	struct policy *p;
	char text[512], run[POLICY_MAX_QUOTE + 2];
	size_t i, k;

	/* No run of the secret one byte longer than the quote may be. */
	run[POLICY_MAX_QUOTE + 1] = '\0';
	for (i = 0; i < ARRAY_SIZE(frames); i++) {
		p = NULL;
		snprintf(text, sizeof(text), "%s%s%s", frames[i][0], secret,
		    frames[i][1]);
		ck_assert_int_eq(policy_parse(text, strlen(text), &names, &p,
				     &err),
		    -EINVAL);
		/* The token's first bytes, then "...", nothing more. */
		ck_assert_msg(strstr(err.message, "\"root:$6$") != NULL ||
			strstr(err.message, "\"*root:$6$") != NULL,
		    "frame %zu: %s", i, err.message);
		ck_assert_msg(strstr(err.message, "...\"") != NULL, "%s",
		    err.message);
		for (k = 0; k + POLICY_MAX_QUOTE + 1 < sizeof(secret); k++) {
			memcpy(run, secret + k, POLICY_MAX_QUOTE + 1);
			ck_assert_msg(strstr(err.message, run) == NULL,
			    "frame %zu quotes more than %d bytes: %s", i,
			    POLICY_MAX_QUOTE, err.message);
		}
	}
	/* Escaped bytes: at most POLICY_MAX_QUOTE of them, each \xNN. */
	memset(text, 0, sizeof(text));
	memcpy(text, "owner ", 6);
	memset(text + 6, 0x80, 100);
	memcpy(text + 106, " user=1\n", 8);
	ck_assert_int_eq(policy_parse(text, strlen(text), &names, &p, &err),
	    -EINVAL);
	ck_assert_msg(strlen(err.message) < sizeof(err.message) - 1, "%s",
	    err.message);
	ck_assert_msg(strstr(err.message, "\\x80...") != NULL, "%s",
	    err.message);
}
END_TEST

/* POLICY_MAX_ENTRIES, POLICY_MAX_OWNERS and POLICY_MAX_IDS: at and past. */
START_TEST(t_limits)
{
	size_t cap = (POLICY_MAX_OWNERS + 2) * 40, len, i;
	char *text = malloc(cap);
	struct policy_error err;
	struct policy *p;

	ck_assert_ptr_nonnull(text);
	/* Entries over several lines, up to the limit. */
	len = 0;
	for (i = 0; i < POLICY_MAX_ENTRIES; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "names 10.%zu.%zu.0/24\n", i / 256, i % 256);
	p = NULL;
	ck_assert_int_eq(policy_parse(text, len, &names, &p, &err), 0);
	ck_assert_uint_eq(p->access[POLICY_NAMES].n, POLICY_MAX_ENTRIES);
	policy_free(p);
	len += (size_t)snprintf(text + len, cap - len, "names 11.0.0.0/8\n");
	parse_fails(text, len, POLICY_MAX_ENTRIES + 1, 7, "more than 1024");

	len = 0;
	for (i = 0; i < POLICY_MAX_OWNERS; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "owner n%zu user=alice\n", i);
	p = NULL;
	ck_assert_int_eq(policy_parse(text, len, &names, &p, &err), 0);
	ck_assert_uint_eq(p->nowners, POLICY_MAX_OWNERS);
	policy_free(p);
	len += (size_t)snprintf(text + len, cap - len, "owner x user=alice\n");
	parse_fails(text, len, POLICY_MAX_OWNERS + 1, 1, "more than 4096");

	len = (size_t)snprintf(text, cap, "owner x");
	for (i = 0; i < POLICY_MAX_IDS; i++)
		len += (size_t)snprintf(text + len, cap - len, " user=%zu", i);
	p = NULL;
	ck_assert_int_eq(policy_parse(text, len, &names, &p, &err), 0);
	ck_assert_uint_eq(p->owners[0].nids, POLICY_MAX_IDS);
	policy_free(p);
	len += (size_t)snprintf(text + len, cap - len, " user=999");
	parse_fails(text, len, 1, (unsigned)(len - 7), "more than 32");
	free(text);
}
END_TEST

START_TEST(t_no_resolver)
{
	struct policy_error err;
	struct policy *p = NULL;
	const char *text = "owner x user=12 group=13\nowner y user=alice\n";

	/* Without a resolver, numbers only. */
	ck_assert_int_eq(policy_parse(text, strlen(text), NULL, &p, &err),
	    -EINVAL);
	ck_assert_uint_eq(err.line, 2);
	ck_assert_uint_eq(err.column, 14);
}
END_TEST

START_TEST(t_parse_addr)
{
	struct registry_addr a;

	ck_assert_int_eq(policy_parse_addr("10.1.2.3", &a), 0);
	ck_assert_uint_eq(a.family, 4);
	ck_assert_int_eq(policy_parse_addr("::ffff:1.2.3.4", &a), 0);
	ck_assert_uint_eq(a.family, 6);
	ck_assert_int_eq(policy_parse_addr("10.0.0.0/8", &a), -EINVAL);
	ck_assert_int_eq(policy_parse_addr("", &a), -EINVAL);
	ck_assert_int_eq(policy_parse_addr("host", &a), -EINVAL);
}
END_TEST

Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = tcase_create("rules");
	tcase_add_test(tc, t_defaults);
	tcase_add_test(tc, t_kinds);
	tcase_add_test(tc, t_lists);
	tcase_add_loop_test(tc, t_prefix_boundaries, 0, 33 + 129);
	tcase_add_test(tc, t_mapped_peer);
	tcase_add_test(tc, t_owners);
	tcase_add_test(tc, t_texts);
	tcase_add_test(tc, t_set_access);
	tcase_add_test(tc, t_parse_addr);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, t_errors);
	tcase_add_test(tc, t_hidden_chars);
	tcase_add_test(tc, t_error_quotes);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_no_resolver);
	suite_add_tcase(s, tc);
	return s;
}
