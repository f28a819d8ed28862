/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_registry: OTP's creation rules with an injected clock, the
 * old-name memory and its recycling, duplicates, list orders, the
 * observer, cursors across unregistration and recycling, and the hash
 * table at 15000 and more names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "unit.h"

static struct registry *reg;

static void
setup(void)
{
	reg = registry_new(REGISTRY_OLD_KEEP, unit_key);
	ck_assert_ptr_nonnull(reg);
}

static void
setup_debug(void)
{
	reg = registry_new(REGISTRY_OLD_KEEP_DEBUG, unit_key);
	ck_assert_ptr_nonnull(reg);
}

static void
teardown(void)
{
	registry_free(reg);
	reg = NULL;
}

static struct node *
reg_name(const char *name, uint16_t hv, int64_t now, void *owner)
{
	struct registry_entry e;
	struct node *n = NULL;

	memset(&e, 0, sizeof(e));
	e.name = (const uint8_t *)name;
	e.nlen = strlen(name);
	e.port = 5000;
	e.type = 77;
	e.hv = hv;
	e.lv = 5;
	e.owner = owner;
	e.fd = 7;
	e.uid = REGISTRY_UID_UNKNOWN;
	ck_assert_int_eq(registry_register(reg, &e, now, &n), 0);
	return n;
}

START_TEST(t_creation_fresh)
{
	struct node *a = reg_name("a", 6, 1795517942, NULL);
	struct node *b = reg_name("b", 6, 1795517942, NULL);

	/* Unix time + 1, the same for names registered in one second. */
	ck_assert_uint_eq(registry_creation(a), 1795517943u);
	ck_assert_uint_eq(registry_creation(b), 1795517943u);
	ck_assert_ptr_eq(a->owner, NULL);
	ck_assert(a->active);
	ck_assert_int_eq(a->registered_at, 1795517942);
}
END_TEST

START_TEST(t_creation_reregister)
{
	uint32_t cr[4];
	int i;

	/* Successive registrations of one name count up by one. */
	for (i = 0; i < 4; i++) {
		struct node *n = reg_name("again", 6, 1000 + i * 100, NULL);

		cr[i] = registry_creation(n);
		registry_unregister(reg, n, REGISTRY_CLOSED, 1000 + i * 100);
	}
	ck_assert_uint_eq(cr[0], 1001);
	ck_assert_uint_eq(cr[1], 1002);
	ck_assert_uint_eq(cr[2], 1003);
	ck_assert_uint_eq(cr[3], 1004);
}
END_TEST

START_TEST(t_creation_old_form)
{
	/* hv < 6: cr % 3 + 1, shared counter across versions. */
	struct node *n = reg_name("old", 5, 1795517941, NULL);

	ck_assert_uint_eq(n->cr, 1795517942u);
	ck_assert_uint_eq(registry_creation(n), 1795517942u % 3 + 1);
	registry_unregister(reg, n, REGISTRY_CLOSED, 0);
	n = reg_name("old", 6, 5, NULL);
	ck_assert_uint_eq(registry_creation(n), 1795517943u);
	registry_unregister(reg, n, REGISTRY_CLOSED, 0);
	n = reg_name("old", 0, 5, NULL);
	ck_assert_uint_eq(registry_creation(n), 1795517944u % 3 + 1);
	ck_assert_uint_ge(registry_creation(n), 1);
	ck_assert_uint_le(registry_creation(n), 3);
}
END_TEST

START_TEST(t_creation_never_below_4)
{
	ck_assert_uint_eq(reg_name("zero", 6, 0, NULL)->cr, 4);
	ck_assert_uint_eq(reg_name("two", 6, 2, NULL)->cr, 4);
	ck_assert_uint_eq(reg_name("three", 6, 3, NULL)->cr, 4);
	ck_assert_uint_eq(reg_name("wrap", 6, 0xffffffff, NULL)->cr, 4);
	ck_assert_uint_eq(reg_name("big", 6, 0xfffffffe, NULL)->cr,
	    0xffffffffu);
}
END_TEST

/* With -d, more than 5 old names: the oldest is recycled, unbumped. */
START_TEST(t_old_recycled)
{
	uint32_t a1;
	struct node *n;
	char name[8];
	int i;

	for (i = 1; i <= 6; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		n = reg_name(name, 6, 100 * i, NULL);
		if (i == 1)
			a1 = n->cr;
		registry_unregister(reg, n, REGISTRY_CLOSED, 100 * i);
	}
	n = reg_name("b", 6, 5000, NULL);
	ck_assert_uint_eq(n->cr, a1);
	/* a1 is forgotten: it starts afresh from the clock. */
	n = reg_name("a1", 6, 7000, NULL);
	ck_assert_uint_eq(n->cr, 7001);
	/* a2 is still remembered. */
	n = reg_name("a2", 6, 7000, NULL);
	ck_assert_uint_eq(n->cr, 202);
}
END_TEST

/* Exactly old_keep old names: no recycling yet ("more than"). */
START_TEST(t_old_threshold)
{
	struct registry_stats st;
	struct node *n;
	char name[8];
	int i;

	for (i = 1; i <= 5; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		n = reg_name(name, 6, 100 * i, NULL);
		registry_unregister(reg, n, REGISTRY_CLOSED, 0);
	}
	n = reg_name("b", 6, 5000, NULL);
	ck_assert_uint_eq(n->cr, 5001);
	registry_get_stats(reg, &st);
	ck_assert_uint_eq(st.old, 5);
	ck_assert_uint_eq(st.active, 1);
}
END_TEST

START_TEST(t_duplicate)
{
	struct registry_entry e;
	struct node *a, *n = NULL;

	a = reg_name("dup", 6, 10, (void *)1);
	memset(&e, 0, sizeof(e));
	e.name = (const uint8_t *)"dup";
	e.nlen = 3;
	e.owner = (void *)2;
	ck_assert_int_eq(registry_register(reg, &e, 20, &n), -EEXIST);
	ck_assert_ptr_null(n);
	ck_assert_ptr_eq(registry_lookup(reg, (const uint8_t *)"dup", 3), a);
	ck_assert_ptr_eq(a->owner, (void *)1);
	/* Case matters; exact bytes only. */
	ck_assert_ptr_null(registry_lookup(reg, (const uint8_t *)"Dup", 3));
	ck_assert_ptr_null(registry_lookup(reg, (const uint8_t *)"du", 2));
	/* Once unregistered, the name is free at once. */
	registry_unregister(reg, a, REGISTRY_CLOSED, 30);
	ck_assert_ptr_null(registry_lookup(reg, (const uint8_t *)"dup", 3));
	n = reg_name("dup", 6, 40, (void *)3);
	ck_assert_uint_eq(n->cr, 12);
}
END_TEST

START_TEST(t_empty_name)
{
	struct node *n = reg_name("", 6, 10, NULL);

	ck_assert_uint_eq(n->nlen, 0);
	ck_assert_ptr_eq(registry_lookup(reg, (const uint8_t *)"", 0), n);
}
END_TEST

START_TEST(t_orders)
{
	struct node *n[5], *it;
	char name[8];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "node%d", i);
		n[i] = reg_name(name, 6, 10, NULL);
	}
	registry_unregister(reg, n[2], REGISTRY_CLOSED, 11);
	registry_unregister(reg, n[0], REGISTRY_CLOSED, 12);
	/* Active: newest first. */
	it = registry_first_active(reg);
	ck_assert_ptr_eq(it, n[4]);
	ck_assert_ptr_eq(it = registry_next(it), n[3]);
	ck_assert_ptr_eq(it = registry_next(it), n[1]);
	ck_assert_ptr_null(registry_next(it));
	/* Old: in unregistration order. */
	it = registry_first_old(reg);
	ck_assert_ptr_eq(it, n[2]);
	ck_assert_ptr_eq(it = registry_next(it), n[0]);
	ck_assert_ptr_null(registry_next(it));
	ck_assert(!n[2]->active);
	ck_assert_ptr_null(n[2]->owner);
	ck_assert_int_eq(n[2]->unregistered_at, 11);
}
END_TEST

struct seen {
	int registered;
	int unregistered;
	enum registry_reason last;
};

static void
observe(void *arg, struct node *n, enum registry_event ev,
    enum registry_reason reason)
{
	struct seen *s = arg;

	(void)n;
	if (ev == REGISTRY_REGISTERED)
		s->registered++;
	else {
		s->unregistered++;
		s->last = reason;
	}
}

START_TEST(t_observer_and_stats)
{
	struct registry_stats st;
	struct seen seen = { 0, 0, REGISTRY_CLOSED };
	struct node *a, *b;

	registry_set_observer(reg, observe, &seen);
	a = reg_name("a", 6, 1, NULL);
	b = reg_name("b", 6, 1, NULL);
	registry_unregister(reg, a, REGISTRY_STRAY, 2);
	registry_unregister(reg, a, REGISTRY_STRAY, 2); /* already old */
	registry_unregister(reg, b, REGISTRY_STOPPED, 2);
	ck_assert_int_eq(seen.registered, 2);
	ck_assert_int_eq(seen.unregistered, 2);
	ck_assert_int_eq(seen.last, REGISTRY_STOPPED);
	registry_get_stats(reg, &st);
	ck_assert_uint_eq(st.registrations, 2);
	ck_assert_uint_eq(st.unregistrations[REGISTRY_STRAY], 1);
	ck_assert_uint_eq(st.unregistrations[REGISTRY_STOPPED], 1);
	ck_assert_uint_eq(st.active, 0);
	ck_assert_uint_eq(st.old, 2);
}
END_TEST

START_TEST(t_record_fields)
{
	struct registry_entry e;
	struct node *n;

	memset(&e, 0, sizeof(e));
	e.name = (const uint8_t *)"n\xc3\xa9";
	e.nlen = 3;
	e.extra = (const uint8_t *)"E\0X";
	e.elen = 3;
	e.port = 65535;
	e.type = 104;
	e.proto = 9;
	e.hv = 300;
	e.lv = 200;
	e.fd = 42;
	e.uid = 1000;
	e.peer.family = 4;
	e.peer.addr[0] = 127;
	e.peer.port = 4242;
	ck_assert_int_eq(registry_register(reg, &e, 77, &n), 0);
	ck_assert_mem_eq(n->data, "n\xc3\xa9", 3);
	ck_assert_mem_eq(n->data + 3, "E\0X", 3);
	ck_assert_uint_eq(n->port, 65535);
	ck_assert_uint_eq(n->type, 104);
	ck_assert_uint_eq(n->proto, 9);
	ck_assert_uint_eq(n->hv, 300);
	ck_assert_uint_eq(n->lv, 200);
	ck_assert_int_eq(n->fd, 42);
	ck_assert_uint_eq(n->uid, 1000);
	ck_assert_uint_eq(n->peer.port, 4242);
}
END_TEST

/* A cursor steps over records unregistered before their turn. */
START_TEST(t_cursor_unregister)
{
	struct registry_cursor cur, cur2;
	struct node *a = reg_name("a", 6, 1000, NULL);
	struct node *b = reg_name("b", 6, 1000, NULL);
	struct node *c = reg_name("c", 6, 1000, NULL);

	registry_cursor_init(reg, &cur);
	registry_cursor_init(reg, &cur2);
	ck_assert_ptr_eq(registry_cursor_next(&cur), c);
	ck_assert_ptr_eq(registry_cursor_next(&cur2), c);
	/* Both stand on b: both move on to a. */
	registry_unregister(reg, b, REGISTRY_CLOSED, 1001);
	/* One passed already: unaffected. */
	registry_unregister(reg, c, REGISTRY_CLOSED, 1001);
	ck_assert_ptr_eq(registry_cursor_next(&cur), a);
	/* The last one: the walk ends. */
	registry_unregister(reg, a, REGISTRY_CLOSED, 1001);
	ck_assert_ptr_null(registry_cursor_next(&cur2));
	ck_assert_ptr_null(registry_cursor_next(&cur));
	ck_assert_ptr_null(registry_cursor_next(&cur));
	registry_cursor_fini(reg, &cur);
	registry_cursor_fini(reg, &cur2);
}
END_TEST

/* Registrations during a walk are not seen; an empty registry ends it. */
START_TEST(t_cursor_register)
{
	struct registry_cursor cur;
	struct node *late, *a;

	registry_cursor_init(reg, &cur);
	late = reg_name("late", 6, 1000, NULL);
	ck_assert_ptr_null(registry_cursor_next(&cur));
	registry_cursor_fini(reg, &cur);

	a = reg_name("a", 6, 1000, NULL);
	registry_cursor_init(reg, &cur);
	reg_name("b", 6, 1000, NULL);
	ck_assert_ptr_eq(registry_cursor_next(&cur), a);
	ck_assert_ptr_eq(registry_cursor_next(&cur), late);
	ck_assert_ptr_null(registry_cursor_next(&cur));
	registry_cursor_fini(reg, &cur);
}
END_TEST

/*
 * With 5 old names kept (-d), unregistered records are freed by later
 * registrations: a cursor must never reach one.  Run under ASan, a
 * stale pointer would be a use after free.
 */
START_TEST(t_cursor_recycling)
{
	static struct node *nodes[64];
	struct registry_cursor cur;
	struct node *n;
	char name[32];
	int i, seen = 0, expect[64] = { 0 };

	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		nodes[i] = reg_name(name, 6, 1000, NULL);
	}
	registry_cursor_init(reg, &cur);
	/* Newest first: n63, n62. */
	ck_assert_ptr_eq(registry_cursor_next(&cur), nodes[63]);
	ck_assert_ptr_eq(registry_cursor_next(&cur), nodes[62]);
	/* Unregister every odd one left (n61 is where the cursor stands),
	 * then register enough new names to free every old record. */
	for (i = 61; i >= 0; i--)
		if (i % 2 == 1)
			registry_unregister(reg, nodes[i], REGISTRY_CLOSED,
			    1001);
		else
			expect[i] = 1;
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "new%d", i);
		reg_name(name, 6, 1002, NULL);
	}
	for (i = 61; i >= 0; i--) {
		if (!expect[i])
			continue;
		n = registry_cursor_next(&cur);
		ck_assert_ptr_eq(n, nodes[i]);
		ck_assert(n->active);
		seen++;
	}
	ck_assert_int_eq(seen, 31);
	ck_assert_ptr_null(registry_cursor_next(&cur));
	registry_cursor_fini(reg, &cur);
}
END_TEST

/* 15000 active plus 5000 old names: O(1) chains and every name found. */
START_TEST(t_hash_at_scale)
{
	static struct node *nodes[20000];
	char name[32];
	size_t chain;
	int i;

	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "node%d@host", i);
		nodes[i] = reg_name(name, 6, 1000, (void *)(intptr_t)(i + 1));
	}
	for (i = 15000; i < 20000; i++)
		registry_unregister(reg, nodes[i], REGISTRY_CLOSED, 1001);
	/* Load factor <= REGISTRY_MAX_LOAD after growth. */
	ck_assert_uint_ge(registry_bucket_count(reg), 20000 / REGISTRY_MAX_LOAD);
	chain = registry_longest_chain(reg);
	ck_assert_msg(chain <= 12, "longest chain %zu", chain);
	for (i = 0; i < 20000; i++) {
		struct node *n;

		snprintf(name, sizeof(name), "node%d@host", i);
		n = registry_lookup(reg, (const uint8_t *)name, strlen(name));
		if (i < 15000)
			ck_assert_ptr_eq(n, nodes[i]);
		else
			ck_assert_ptr_null(n);
	}
}
END_TEST

/* A scratch registry handed over whole: same records, orders, lookups. */
START_TEST(t_take)
{
	struct registry *scratch = registry_new_like(reg), *saved = reg;
	struct registry_stats st;
	struct node *a, *b, *c;
	char name[16];
	int i;

	ck_assert_ptr_nonnull(scratch);
	reg = scratch;
	a = reg_name("a", 6, 100, NULL);
	b = reg_name("b", 6, 100, NULL);
	c = reg_name("c", 6, 100, NULL);
	for (i = 0; i < 200; i++) { /* past the initial buckets */
		snprintf(name, sizeof(name), "n%d", i);
		reg_name(name, 6, 100, NULL);
	}
	registry_unregister(reg, b, REGISTRY_CLOSED, 101);
	reg = saved;
	registry_take(reg, scratch);
	registry_get_stats(reg, &st);
	ck_assert_uint_eq(st.active, 202);
	ck_assert_uint_eq(st.old, 1);
	ck_assert_ptr_eq(registry_lookup(reg, (const uint8_t *)"a", 1), a);
	ck_assert_ptr_eq(registry_lookup(reg, (const uint8_t *)"c", 1), c);
	ck_assert_ptr_null(registry_lookup(reg, (const uint8_t *)"b", 1));
	ck_assert_ptr_eq(registry_first_old(reg), b);
	ck_assert_ptr_eq(registry_last_active(reg), a);
	ck_assert_uint_eq(registry_next_id(reg), 204);
	registry_get_stats(scratch, &st);
	ck_assert_uint_eq(st.active + st.old, 0);
	ck_assert_ptr_null(registry_first_active(scratch));
	/* Both go on working: a fresh name in each. */
	reg_name("d", 6, 102, NULL);
	reg = scratch;
	reg_name("a", 6, 102, NULL);
	reg = saved;
	registry_free(scratch);
}
END_TEST

Suite *
registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc;

	tc = tcase_create("creation");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_creation_fresh);
	tcase_add_test(tc, t_creation_reregister);
	tcase_add_test(tc, t_creation_old_form);
	tcase_add_test(tc, t_creation_never_below_4);
	suite_add_tcase(s, tc);
	tc = tcase_create("old names");
	tcase_add_checked_fixture(tc, setup_debug, teardown);
	tcase_add_test(tc, t_old_recycled);
	tcase_add_test(tc, t_old_threshold);
	suite_add_tcase(s, tc);
	tc = tcase_create("table");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_duplicate);
	tcase_add_test(tc, t_empty_name);
	tcase_add_test(tc, t_orders);
	tcase_add_test(tc, t_observer_and_stats);
	tcase_add_test(tc, t_record_fields);
	tcase_add_test(tc, t_take);
	suite_add_tcase(s, tc);
	tc = tcase_create("cursor");
	tcase_add_checked_fixture(tc, setup_debug, teardown);
	tcase_add_test(tc, t_cursor_unregister);
	tcase_add_test(tc, t_cursor_register);
	tcase_add_test(tc, t_cursor_recycling);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_hash_at_scale);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
