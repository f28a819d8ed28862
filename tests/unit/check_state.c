/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_state: the saved registry.  Snapshots and journals round trip
 * (names, fields, creation counters, old names, order, ids); a cut
 * last record is ignored; every truncation and every flipped byte of a
 * blob is loaded or refused, never crashes, and a refused blob leaves
 * the registry empty; a state too full for every registration still
 * holds the configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "unit.h"

static struct node *
reg_name(struct registry *reg, const char *name, uint16_t port, int64_t now)
{
	struct registry_entry e;
	struct node *n = NULL;

	memset(&e, 0, sizeof(e));
	e.name = (const uint8_t *)name;
	e.nlen = strlen(name);
	e.extra = (const uint8_t *)"x\0y";
	e.elen = 3;
	e.port = port;
	e.type = 77;
	e.hv = 6;
	e.lv = 5;
	e.owner = (void *)1;
	e.fd = 9;
	e.uid = 1000;
	e.inode = 123456;
	e.peer.family = 4;
	e.peer.addr[0] = 127;
	e.peer.addr[3] = 1;
	e.peer.port = 5555;
	ck_assert_int_eq(registry_register(reg, &e, now, &n), 0);
	return n;
}

/* A registry with history: 3 active, 1 old (beta came back). */
static struct registry *
sample(void)
{
	struct registry *reg = registry_new(REGISTRY_OLD_KEEP, unit_key);
	struct node *a, *b;

	a = reg_name(reg, "alpha", 4001, 1000);
	b = reg_name(reg, "beta", 4002, 1001);
	reg_name(reg, "gamma", 4003, 1002);
	registry_unregister(reg, a, REGISTRY_CLOSED, 1003);
	registry_unregister(reg, b, REGISTRY_STRAY, 1004);
	reg_name(reg, "beta", 4012, 1005); /* cr bumped from b's */
	reg_name(reg, "delta\xc3\xa9", 4004, 1006);
	return reg;
}

static void
assert_same(const struct registry *x, const struct registry *y)
{
	const struct node *a, *b;

	for (a = registry_first_active(x), b = registry_first_active(y);
	     a != NULL || b != NULL; a = registry_next(a), b = registry_next(b)) {
		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(b);
		ck_assert_uint_eq(a->nlen, b->nlen);
		ck_assert_mem_eq(a->data, b->data, a->nlen + a->elen);
		ck_assert_uint_eq(a->elen, b->elen);
		ck_assert_uint_eq(a->cr, b->cr);
		ck_assert_uint_eq(a->id, b->id);
		ck_assert_uint_eq(a->port, b->port);
		ck_assert_uint_eq(a->hv, b->hv);
		ck_assert_uint_eq(a->lv, b->lv);
		ck_assert_uint_eq(a->type, b->type);
		ck_assert_uint_eq(a->uid, b->uid);
		ck_assert(a->inode == b->inode);
		ck_assert_int_eq(a->registered_at, b->registered_at);
		ck_assert_mem_eq(&a->peer, &b->peer, sizeof(a->peer));
		ck_assert(b->active);
	}
	for (a = registry_first_old(x), b = registry_first_old(y);
	     a != NULL || b != NULL; a = registry_next(a), b = registry_next(b)) {
		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(b);
		ck_assert_uint_eq(a->nlen, b->nlen);
		ck_assert_mem_eq(a->data, b->data, a->nlen);
		ck_assert_uint_eq(a->cr, b->cr);
		ck_assert_uint_eq(a->port, b->port);
		ck_assert(!b->active);
	}
	ck_assert_uint_eq(registry_next_id(x), registry_next_id(y));
}

START_TEST(t_snapshot_roundtrip)
{
	struct registry *reg = sample(), *copy;
	struct state_summary sum;
	struct wbuf w;

	wbuf_init_growable(&w, STATE_MAX_SIZE);
	ck_assert_int_eq(state_put_snapshot(&w, 1, reg), 0);
	copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), 0);
	ck_assert_uint_eq(sum.active, 3);
	ck_assert_uint_eq(sum.old, 1);
	ck_assert(!sum.torn_tail);
	ck_assert_uint_eq(sum.length, w.len);
	assert_same(reg, copy);
	/* Restored registrations wait for a holder. */
	ck_assert_ptr_null(registry_first_active(copy)->owner);
	/* Counters continue: beta again gets its next creation. */
	{
		struct node *b = registry_lookup(copy, (const uint8_t *)"beta", 4);
		uint32_t cr = b->cr;

		registry_unregister(copy, b, REGISTRY_CLOSED, 2000);
		ck_assert_uint_eq(reg_name(copy, "beta", 1, 2001)->cr, cr + 1);
		ck_assert_uint_eq(reg_name(copy, "alpha", 1, 2001)->cr, 1001 + 1);
	}
	/* Loading into a non-empty registry is refused. */
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), -EBUSY);
	wbuf_fini(&w);
	registry_free(copy);
	registry_free(reg);
}
END_TEST

/* A snapshot, then journal records appended as nodes come and go. */
START_TEST(t_journal_replay)
{
	struct registry *live = registry_new(REGISTRY_OLD_KEEP_DEBUG, unit_key);
	struct registry *copy;
	struct state_summary sum;
	struct node *n[10];
	struct wbuf w;
	char name[16];
	int i;

	wbuf_init_growable(&w, STATE_MAX_SIZE);
	ck_assert_int_eq(state_put_snapshot(&w, 1, live), 0);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		n[i] = reg_name(live, name, (uint16_t)(5000 + i), 100 + i);
		ck_assert_int_eq(state_put_registered(&w, n[i]), 0);
	}
	/* Seven go: with -d only 5 old names are kept before recycling. */
	for (i = 0; i < 7; i++) {
		ck_assert_int_eq(state_put_unregistered(&w, n[i]->id, 200 + i),
		    0);
		registry_unregister(live, n[i], REGISTRY_CLOSED, 200 + i);
	}
	/* A new name recycles the oldest old record's counter. */
	n[0] = reg_name(live, "fresh", 6000, 300);
	ck_assert_int_eq(state_put_registered(&w, n[0]), 0);
	/* A remembered name comes back. */
	n[1] = reg_name(live, "n5", 6001, 301);
	ck_assert_int_eq(state_put_registered(&w, n[1]), 0);
	copy = registry_new(REGISTRY_OLD_KEEP_DEBUG, unit_key);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), 0);
	ck_assert_uint_eq(sum.records, 19);
	assert_same(live, copy);
	wbuf_fini(&w);
	registry_free(copy);
	registry_free(live);
}
END_TEST

/* A snapshot written a piece at a time is the same bytes as whole. */
START_TEST(t_records_in_pieces)
{
	struct registry *reg = sample();
	struct state_walk walk;
	struct wbuf whole, piece, all;
	bool w1 = true, w2 = true;
	int more, calls = 0;

	wbuf_init_growable(&whole, STATE_MAX_SIZE);
	wbuf_init_growable(&piece, STATE_MAX_SIZE);
	wbuf_init_growable(&all, STATE_MAX_SIZE);
	ck_assert_int_eq(state_put_records_fitting(&whole, reg, &w1), 0);
	state_walk_init(&walk);
	do {
		more = state_put_records_some(&piece, reg, &walk, 1, true, &w2);
		ck_assert_int_ge(more, 0);
		ck_assert_int_eq(buf_put_bytes(&all, piece.p, piece.len), 0);
		piece.len = 0;
		calls++;
	} while (more > 0);
	ck_assert(w1 && w2);
	/* A record a call with a chunk of 1 byte: 3 active, 1 old. */
	ck_assert_int_eq(calls, 4);
	ck_assert_uint_eq(all.len, whole.len);
	ck_assert_mem_eq(all.p, whole.p, whole.len);
	wbuf_fini(&whole);
	wbuf_fini(&piece);
	wbuf_fini(&all);
	registry_free(reg);
}
END_TEST

START_TEST(t_torn_tail)
{
	struct registry *reg = sample(), *copy;
	struct state_summary sum;
	struct node *extra;
	struct wbuf w;
	size_t whole;

	wbuf_init_growable(&w, STATE_MAX_SIZE);
	ck_assert_int_eq(state_put_snapshot(&w, 1, reg), 0);
	whole = w.len;
	extra = reg_name(reg, "late", 4100, 3000);
	ck_assert_int_eq(state_put_registered(&w, extra), 0);
	/* Cut the last record at every length: the rest still loads. */
	for (size_t cut = whole + 1; cut < w.len; cut++) {
		copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
		ck_assert_int_eq(state_load(w.p, cut, copy, &sum), 0);
		ck_assert(sum.torn_tail);
		/* Where the next record goes: the torn one is cut off. */
		ck_assert_uint_eq(sum.length, whole);
		ck_assert_uint_eq(sum.active, 3);
		ck_assert_ptr_null(registry_lookup(copy,
		    (const uint8_t *)"late", 4));
		registry_free(copy);
	}
	wbuf_fini(&w);
	registry_free(reg);
}
END_TEST

START_TEST(t_foreign_and_corrupt)
{
	struct registry *reg = sample(), *copy;
	struct state_summary sum;
	struct wbuf w;
	uint8_t *p;

	wbuf_init_growable(&w, STATE_MAX_SIZE);
	ck_assert_int_eq(state_put_snapshot(&w, 1, reg), 0);
	copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
	p = unit_dup(w.p, w.len);
	p[0] ^= 1; /* magic */
	ck_assert_int_eq(state_load(p, w.len, copy, &sum), -EPROTO);
	memcpy(p, w.p, w.len);
	p[11] = 2; /* version */
	ck_assert_int_eq(state_load(p, w.len, copy, &sum), -EPROTO);
	memcpy(p, w.p, w.len);
	p[17] ^= 1; /* next id: caught by the header's CRC */
	ck_assert_int_eq(state_load(p, w.len, copy, &sum), -EBADMSG);
	memcpy(p, w.p, w.len);
	p[STATE_HEADER_SIZE + 20] ^= 0x40; /* inside the first record */
	ck_assert_int_eq(state_load(p, w.len, copy, &sum), -EBADMSG);
	ck_assert_ptr_null(registry_first_active(copy));
	ck_assert_ptr_null(registry_first_old(copy));
	/* Too short for a header; nothing at all. */
	ck_assert_int_eq(state_load(p, 10, copy, &sum), -EPROTO);
	ck_assert_int_eq(state_load(p, 0, copy, &sum), -EPROTO);
	free(p);
	wbuf_fini(&w);
	registry_free(copy);
	registry_free(reg);
}
END_TEST

START_TEST(t_inconsistent_journal)
{
	struct registry *reg = registry_new(REGISTRY_OLD_KEEP, unit_key);
	struct registry *copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
	struct state_summary sum;
	struct node *a;
	struct wbuf w;

	wbuf_init_growable(&w, STATE_MAX_SIZE);
	a = reg_name(reg, "a", 1, 10);
	ck_assert_int_eq(state_put_header(&w, 1, 100), 0);
	/* Unregistering an id never registered. */
	ck_assert_int_eq(state_put_unregistered(&w, 77, 11), 0);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), -EBADMSG);
	/* The same name registered twice with no end between. */
	w.len = 0;
	ck_assert_int_eq(state_put_header(&w, 1, 100), 0);
	ck_assert_int_eq(state_put_registered(&w, a), 0);
	a->id = 2; /* as if another registration */
	ck_assert_int_eq(state_put_registered(&w, a), 0);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), -EBADMSG);
	/* Unregistering the same id twice. */
	w.len = 0;
	a->id = 1;
	ck_assert_int_eq(state_put_header(&w, 1, 100), 0);
	ck_assert_int_eq(state_put_registered(&w, a), 0);
	ck_assert_int_eq(state_put_unregistered(&w, 1, 12), 0);
	ck_assert_int_eq(state_put_unregistered(&w, 1, 13), 0);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), -EBADMSG);
	ck_assert_ptr_null(registry_first_active(copy));
	wbuf_fini(&w);
	registry_free(copy);
	registry_free(reg);
}
END_TEST

/* Every truncation and every flipped byte: loaded or refused, clean. */
START_TEST(t_every_truncation_and_flip)
{
	struct registry *reg = sample();
	struct state_summary sum;
	struct wbuf w;
	size_t i;

	wbuf_init_growable(&w, STATE_MAX_SIZE);
	ck_assert_int_eq(state_put_snapshot(&w, 1, reg), 0);
	for (i = 0; i < w.len; i++) {
		struct registry *copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
		uint8_t *p = unit_dup(w.p, i);
		int r = state_load(p, i, copy, &sum);

		ck_assert_msg(r == 0 || r == -EPROTO || r == -EBADMSG,
		    "cut at %zu: %d", i, r);
		if (r < 0)
			ck_assert_ptr_null(registry_first_active(copy));
		free(p);
		registry_free(copy);
	}
	for (i = 0; i < w.len; i++) {
		struct registry *copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
		uint8_t *p = unit_dup(w.p, w.len);
		int r;

		p[i] ^= 0xa5;
		r = state_load(p, w.len, copy, &sum);
		/*
		 * A flip is caught (bad CRC, bad header) unless it lands in
		 * a length field so that the record seems cut short: then
		 * only a prefix of valid records is taken.
		 */
		ck_assert_msg(r == -EPROTO || r == -EBADMSG ||
			(r == 0 && sum.torn_tail),
		    "flip at %zu: %d", i, r);
		if (r < 0)
			ck_assert_ptr_null(registry_first_active(copy));
		free(p);
		registry_free(copy);
	}
	wbuf_fini(&w);
	registry_free(reg);
}
END_TEST

START_TEST(t_generation)
{
	struct registry *reg = sample();
	struct wbuf w;
	uint32_t gen = 0;

	wbuf_init_growable(&w, STATE_MAX_SIZE);
	ck_assert_int_eq(state_put_snapshot(&w, 77, reg), 0);
	ck_assert_int_eq(state_generation(w.p, w.len, &gen), 0);
	ck_assert_uint_eq(gen, 77);
	ck_assert_int_eq(state_generation(w.p, 20, &gen), -EPROTO);
	w.p[12] ^= 1;
	ck_assert_int_eq(state_generation(w.p, w.len, &gen), -EBADMSG);
	wbuf_fini(&w);
	registry_free(reg);
}
END_TEST

START_TEST(t_crc32)
{
	/* The standard check value. */
	ck_assert_uint_eq(state_crc32((const uint8_t *)"123456789", 9),
	    0xcbf43926u);
	ck_assert_uint_eq(state_crc32(NULL, 0), 0);
}
END_TEST

/* The bit-wise definition, which the table-driven one must match. */
static uint32_t
crc32_bitwise(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	int k;

	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

START_TEST(t_crc32_slices)
{
	uint8_t data[300];
	uint32_t seed = 4369;
	size_t i, off, len;

	for (i = 0; i < sizeof(data); i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (uint8_t)(seed >> 16);
	}
	/* Every alignment and every tail length of the 8-byte steps. */
	for (off = 0; off < 8; off++)
		for (len = 0; len + off <= sizeof(data); len += 7)
			ck_assert_msg(state_crc32(data + off, len) ==
				crc32_bitwise(data + off, len),
			    "offset %zu length %zu (seed 4369)", off, len);
}
END_TEST

/*
 * A journal never grows a blob past what the loader accepts: with a
 * snapshot over half of STATE_MAX_SIZE, the doubling rule alone would
 * let it (this is how a crash could once lose every registration).
 */
START_TEST(t_compaction_bounds)
{
	const size_t big = STATE_MAX_SIZE / 2 + 1024;

	/* The doubling rule, at its edge. */
	ck_assert(!state_needs_compaction(1000, 1000, 1000 +
	    STATE_COMPACT_SLACK));
	ck_assert(state_needs_compaction(1000, 1000, 1000 +
	    STATE_COMPACT_SLACK + 1));
	/* A big snapshot: the size bound decides, at its edge. */
	ck_assert(!state_needs_compaction(big, big, STATE_MAX_SIZE - big));
	ck_assert(state_needs_compaction(big, big,
	    STATE_MAX_SIZE - big + 1));
	ck_assert(state_needs_compaction(STATE_MAX_SIZE, big, 1));
	/* No overflow on absurd inputs. */
	ck_assert(state_needs_compaction(SIZE_MAX, 0, SIZE_MAX));
	ck_assert(state_needs_compaction(0, SIZE_MAX, STATE_MAX_SIZE + 1));
	ck_assert(!state_needs_compaction(0, SIZE_MAX, 1));
}
END_TEST


/* The configuration in force rides along; the last record counts. */
START_TEST(t_policy_records)
{
	static const char text1[] = "names local\n", text2[] = "owner x user=1\n";
	struct registry *reg = sample(), *copy;
	struct state_summary sum;
	struct wbuf w;
	size_t hdr;

	wbuf_init_growable(&w, STATE_MAX_SIZE);
	ck_assert_int_eq(state_put_header(&w, 1, registry_next_id(reg)), 0);
	hdr = w.len;
	ck_assert_int_eq(state_put_policy(&w, true, text1, strlen(text1)), 0);
	ck_assert_int_eq(state_put_records(&w, reg), 0);
	copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), 0);
	assert_same(reg, copy);
	ck_assert(sum.policy && sum.policy_file);
	ck_assert_uint_eq(sum.policy_len, strlen(text1));
	ck_assert_mem_eq(sum.policy_text, text1, strlen(text1));
	state_summary_fini(&sum);
	registry_free(copy);
	/* A later one (a reload) replaces it; then "no file" replaces that. */
	ck_assert_int_eq(state_put_policy(&w, true, text2, strlen(text2)), 0);
	copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), 0);
	ck_assert_uint_eq(sum.policy_len, strlen(text2));
	ck_assert_mem_eq(sum.policy_text, text2, strlen(text2));
	state_summary_fini(&sum);
	registry_free(copy);
	ck_assert_int_eq(state_put_policy(&w, false, NULL, 0), 0);
	copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), 0);
	ck_assert(sum.policy && !sum.policy_file);
	ck_assert_uint_eq(sum.policy_len, 0);
	state_summary_fini(&sum);
	ck_assert_ptr_null(sum.policy_text);
	registry_free(copy);
	/* Text without a file, or more than a file may hold: refused. */
	ck_assert_int_eq(state_put_policy(&w, false, text1, 3), -EINVAL);
	ck_assert_int_eq(state_put_policy(&w, true, text1,
			     POLICY_MAX_FILE + 1),
	    -EINVAL);
	/* A record with bad flags is corruption: nothing is loaded. */
	w.len = hdr;
	ck_assert_int_eq(state_put_policy(&w, true, text1, strlen(text1)), 0);
	w.p[hdr + 9] = 3; /* after len:u32 crc:u32 type:u8, the flags */
	/* The CRC no longer holds either; make it hold. */
	{
		uint32_t crc = state_crc32(w.p + hdr + 8, w.len - hdr - 8);

		w.p[hdr + 4] = (uint8_t)(crc >> 24);
		w.p[hdr + 5] = (uint8_t)(crc >> 16);
		w.p[hdr + 6] = (uint8_t)(crc >> 8);
		w.p[hdr + 7] = (uint8_t)crc;
	}
	copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), -EBADMSG);
	registry_free(copy);
	/* The largest configuration fits in a record and loads. */
	{
		char *big = malloc(POLICY_MAX_FILE);

		ck_assert_ptr_nonnull(big);
		memset(big, '#', POLICY_MAX_FILE);
		w.len = hdr;
		ck_assert_int_eq(state_put_policy(&w, true, big,
				     POLICY_MAX_FILE),
		    0);
		copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
		ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), 0);
		ck_assert_uint_eq(sum.policy_len, POLICY_MAX_FILE);
		state_summary_fini(&sum);
		registry_free(copy);
		free(big);
	}
	wbuf_fini(&w);
	registry_free(reg);
}
END_TEST

/*
 * A registry whose snapshot passes STATE_MAX_SIZE: registrations of the
 * longest names and extras (990 and 1020 bytes, about 2100 bytes a
 * record), more than the bound holds.
 */
#define FULL_NODES 32500
#define FULL_LONG 1020
#define FULL_NAME (10 + 245 * 4)

static struct registry *
full_registry(void)
{
	struct registry *reg = registry_new(REGISTRY_OLD_KEEP, unit_key);
	uint8_t name[FULL_NAME + 16], extra[FULL_LONG];
	struct registry_entry e;
	struct node *n;
	int i;

	/* 10 ASCII characters, then 245 of 4 bytes: 255, ALIVE2's most. */
	for (i = 10; i + 4 <= FULL_NAME; i += 4)
		memcpy(name + i, "\xf0\x9f\x98\x80", 4);
	memset(extra, 'x', sizeof(extra));
	memset(&e, 0, sizeof(e));
	e.name = name;
	e.nlen = FULL_NAME;
	e.extra = extra;
	e.elen = sizeof(extra);
	e.type = 77;
	e.hv = 6;
	e.lv = 5;
	e.owner = (void *)1;
	e.fd = 9;
	for (i = 0; i < FULL_NODES; i++) {
		snprintf((char *)name, 16, "full%06d", i);
		memcpy(name + 10, "\xf0\x9f\x98\x80", 4); /* the NUL */
		e.port = (uint16_t)(1000 + i);
		n = NULL;
		ck_assert_int_eq(registry_register(reg, &e, 1000 + i, &n), 0);
	}
	return reg;
}

/*
 * Issue 15: a state too full for every registration still saves the
 * configuration in force, the largest one included, with the oldest
 * registrations that fit after it, and loads.
 */
START_TEST(t_full_keeps_policy)
{
	struct registry *reg = full_registry(), *copy;
	struct state_summary sum;
	const struct node *n;
	struct wbuf w;
	char *big = malloc(POLICY_MAX_FILE), want[16];
	size_t hdr, i;
	bool whole = true;

	ck_assert_ptr_nonnull(big);
	memset(big, '#', POLICY_MAX_FILE);
	wbuf_init_growable(&w, STATE_MAX_SIZE);
	ck_assert_int_eq(state_put_header(&w, 1, registry_next_id(reg)), 0);
	hdr = w.len;
	/* All of them do not fit: the plain snapshot is refused. */
	ck_assert_int_eq(state_put_policy(&w, true, big, POLICY_MAX_FILE), 0);
	ck_assert_int_eq(state_put_records(&w, reg), -ENOBUFS);
	/* Fitting: the policy, then as many as fit, whole records. */
	w.len = hdr;
	ck_assert_int_eq(state_put_policy(&w, true, big, POLICY_MAX_FILE), 0);
	ck_assert_int_eq(state_put_records_fitting(&w, reg, &whole), 0);
	ck_assert(!whole);
	ck_assert_uint_le(w.len, STATE_MAX_SIZE);
	ck_assert_uint_gt(w.len, STATE_MAX_SIZE - STATE_MAX_RECORD);
	copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), 0);
	ck_assert(sum.policy && sum.policy_file);
	ck_assert_uint_eq(sum.policy_len, POLICY_MAX_FILE);
	ck_assert_mem_eq(sum.policy_text, big, POLICY_MAX_FILE);
	ck_assert(!sum.torn_tail);
	ck_assert_uint_gt(sum.active, FULL_NODES * 9 / 10);
	ck_assert_uint_lt(sum.active, FULL_NODES);
	/* The oldest ones, in NAMES order (newest first). */
	for (n = registry_first_active(copy), i = sum.active; n != NULL;
	     n = registry_next(n)) {
		snprintf(want, sizeof(want), "full%06zu", --i);
		ck_assert_mem_eq(n->data, want, 10);
	}
	ck_assert_uint_eq(i, 0);
	state_summary_fini(&sum);
	registry_free(copy);
	/* When everything fits, fitting is the plain snapshot. */
	registry_free(reg);
	reg = sample();
	w.len = 0;
	ck_assert_int_eq(state_put_header(&w, 1, registry_next_id(reg)), 0);
	ck_assert_int_eq(state_put_records_fitting(&w, reg, &whole), 0);
	ck_assert(whole);
	copy = registry_new(REGISTRY_OLD_KEEP, unit_key);
	ck_assert_int_eq(state_load(w.p, w.len, copy, &sum), 0);
	assert_same(reg, copy);
	state_summary_fini(&sum);
	registry_free(copy);
	wbuf_fini(&w);
	registry_free(reg);
	free(big);
}
END_TEST

Suite *
state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("save and load");

	tcase_add_test(tc, t_crc32);
	tcase_add_test(tc, t_crc32_slices);
	tcase_add_test(tc, t_generation);
	tcase_add_test(tc, t_snapshot_roundtrip);
	tcase_add_test(tc, t_journal_replay);
	tcase_add_test(tc, t_torn_tail);
	tcase_add_test(tc, t_records_in_pieces);
	tcase_add_test(tc, t_foreign_and_corrupt);
	tcase_add_test(tc, t_inconsistent_journal);
	tcase_add_test(tc, t_every_truncation_and_flip);
	tcase_add_test(tc, t_compaction_bounds);
	tcase_add_test(tc, t_policy_records);
	suite_add_tcase(s, tc);
	/* 64 MiB of records, made, written and loaded (and CRC-checked). */
	tc = tcase_create("full");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_full_keeps_policy);
	suite_add_tcase(s, tc);
	return s;
}
