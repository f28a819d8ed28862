/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_ctlschema: the table of control message fields is consistent:
 * every index has a key, no key twice, no key a family also covers,
 * keys that fit the wire, JSON renderings that fit the kind, required
 * fields that ctlproto_decode enforces, and a family for every counter
 * the daemon names after a reason or a kind.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "ctlproto.h"
#include "ctlschema.h"
#include "dispatch.h"
#include "policy.h"
#include "registry.h"
#include "unit.h"

START_TEST(t_keys_unique)
{
	size_t i, j;

	for (i = 0; i < CTLSCHEMA_NFIELDS; i++) {
		const char *k = ctlschema_fields[i].key;

		ck_assert_msg(k != NULL, "field %zu has no key", i);
		ck_assert_uint_gt(strlen(k), 0);
		ck_assert_uint_le(strlen(k), CTL_MAX_KEY);
		ck_assert_msg(strspn(k, "abcdefghijklmnopqrstuvwxyz_") ==
			strlen(k), "key %s: lower case and _ only", k);
		for (j = i + 1; j < CTLSCHEMA_NFIELDS; j++)
			ck_assert_msg(strcmp(k, ctlschema_fields[j].key) != 0,
			    "key %s twice", k);
	}
}
END_TEST

/* A plain key that a family's prefix covers would be ambiguous. */
START_TEST(t_families_disjoint)
{
	size_t i, j;

	for (i = 0; i < CTLSCHEMA_NFIELDS; i++) {
		const struct ctlschema_field *fam = &ctlschema_fields[i];
		size_t len = strlen(fam->key);

		if (!ctlschema_is_family(fam))
			continue;
		for (j = 0; j < CTLSCHEMA_NFIELDS; j++)
			ck_assert_msg(j == i ||
				strncmp(ctlschema_fields[j].key, fam->key,
				    len) != 0,
			    "%s falls in the family %s",
			    ctlschema_fields[j].key, fam->key);
	}
}
END_TEST

START_TEST(t_kinds_fit_json)
{
	size_t i;

	for (i = 0; i < CTLSCHEMA_NFIELDS; i++) {
		const struct ctlschema_field *f = &ctlschema_fields[i];
		bool number = f->json == CTLSCHEMA_JSON_NUMBER ||
		    f->json == CTLSCHEMA_JSON_BOOL ||
		    f->json == CTLSCHEMA_JSON_TYPE ||
		    f->json == CTLSCHEMA_JSON_UID;

		ck_assert_msg(f->kind >= CTLSCHEMA_U64 &&
			f->kind <= CTLSCHEMA_BYTES, "%s: kind", f->key);
		ck_assert_msg(f->json >= CTLSCHEMA_JSON_NUMBER &&
			f->json <= CTLSCHEMA_JSON_HEX, "%s: json", f->key);
		ck_assert_msg(number == (f->kind == CTLSCHEMA_U64),
		    "%s: its JSON does not fit its kind", f->key);
		ck_assert_msg(!ctlschema_is_family(f) || f->required == 0,
		    "%s: a family cannot be required", f->key);
	}
}
END_TEST

START_TEST(t_lookup)
{
	size_t i;
	char key[64];

	/* A family's own prefix is no key: its members are. */
	for (i = 0; i < CTLSCHEMA_NFIELDS; i++) {
		const struct ctlschema_field *f = &ctlschema_fields[i];

		snprintf(key, sizeof(key), "%s%s", f->key,
		    ctlschema_is_family(f) ? "x" : "");
		ck_assert_ptr_eq(ctlschema_lookup(key, strlen(key)), f);
	}
	ck_assert_ptr_null(ctlschema_lookup("no_such_key", 11));
	/* "access_refused_x" is the access family's, not "refused_". */
	snprintf(key, sizeof(key), "%sregister", CTL_KEY(ACCESS_REFUSED_));
	ck_assert_ptr_eq(ctlschema_lookup(key, strlen(key)),
	    &ctlschema_fields[CTL_F_ACCESS_REFUSED_]);
	ck_assert_ptr_eq(ctlschema_lookup("port", 4),
	    &ctlschema_fields[CTL_F_PORT]);
	ck_assert_ptr_null(ctlschema_lookup("por", 3));
}
END_TEST

/* Every counter status names after a reason or a kind has its family. */
START_TEST(t_families_cover_counters)
{
	char key[CTL_MAX_KEY + 16];
	int i;

	for (i = 0; i < REGISTRY_REASON_COUNT; i++) {
		snprintf(key, sizeof(key), "%s%s", CTL_KEY(UNREGISTERED_),
		    registry_reason_name((enum registry_reason)i));
		ck_assert_uint_le(strlen(key), CTL_MAX_KEY);
		ck_assert_ptr_eq(ctlschema_lookup(key, strlen(key)),
		    &ctlschema_fields[CTL_F_UNREGISTERED_]);
	}
	for (i = 1; i < DISPATCH_POLICY; i++) {
		snprintf(key, sizeof(key), "%s%s", CTL_KEY(REFUSED_),
		    dispatch_refusal_name((enum dispatch_refusal)i));
		ck_assert_uint_le(strlen(key), CTL_MAX_KEY);
		ck_assert_ptr_eq(ctlschema_lookup(key, strlen(key)),
		    &ctlschema_fields[CTL_F_REFUSED_]);
	}
	for (i = 0; i < POLICY_KIND_COUNT; i++) {
		snprintf(key, sizeof(key), "%s%s", CTL_KEY(ACCESS_REFUSED_),
		    policy_kind_name((enum policy_kind)i));
		ck_assert_uint_le(strlen(key), CTL_MAX_KEY);
		ck_assert_ptr_eq(ctlschema_lookup(key, strlen(key)),
		    &ctlschema_fields[CTL_F_ACCESS_REFUSED_]);
	}
}
END_TEST

/*
 * For each type: a message with all its required fields decodes, and
 * without any one of them it does not.
 */
static size_t
build(uint8_t *out, size_t size, uint8_t type, size_t skip)
{
	struct wbuf w;
	size_t start, i;

	wbuf_init(&w, out, size);
	ck_assert_int_eq(ctlproto_begin(&w, type, &start), 0);
	for (i = 0; i < CTLSCHEMA_NFIELDS; i++) {
		const struct ctlschema_field *f = &ctlschema_fields[i];
		bool u64 = f->kind == CTLSCHEMA_U64;

		if (!(f->required & CTLSCHEMA_IN(type)) || i == skip)
			continue;
		if (u64)
			ck_assert_int_eq(ctlproto_put_u64(&w, f->key, 1), 0);
		else
			ck_assert_int_eq(ctlproto_put_str(&w, f->key, "x"), 0);
	}
	ck_assert_int_eq(ctlproto_end(&w, start), 0);
	return w.len;
}

START_TEST(t_required_enforced)
{
	static const uint8_t types[] = { CTL_NAMES, CTL_STATUS, CTL_STOP,
		CTL_SHUTDOWN, CTL_WATCH, CTL_UPGRADE, CTL_RELOAD, CTL_POLICY,
		CTL_POLICY_TEST, CTL_NODE, CTL_END, CTL_STATUS_REPLY, CTL_OK,
		CTL_ERROR, CTL_EVENT, CTL_POLICY_REPLY, CTL_POLICY_RULE,
		CTL_VERDICT };
	static struct ctl_msg m;
	uint8_t out[4096];
	size_t t, i, len;

	for (t = 0; t < sizeof(types); t++) {
		len = build(out, sizeof(out), types[t], SIZE_MAX);
		ck_assert_int_eq(ctlproto_decode(out, len, &m), (ssize_t)len);
		for (i = 0; i < CTLSCHEMA_NFIELDS; i++) {
			if (!(ctlschema_fields[i].required &
				CTLSCHEMA_IN(types[t])))
				continue;
			len = build(out, sizeof(out), types[t], i);
			ck_assert_int_eq(ctlproto_decode(out, len, &m),
			    -EBADMSG);
		}
	}
}
END_TEST

Suite *
ctlschema_suite(void)
{
	Suite *s = suite_create("ctlschema");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, t_keys_unique);
	tcase_add_test(tc, t_families_disjoint);
	tcase_add_test(tc, t_kinds_fit_json);
	tcase_add_test(tc, t_lookup);
	tcase_add_test(tc, t_families_cover_counters);
	tcase_add_test(tc, t_required_enforced);
	suite_add_tcase(s, tc);
	return s;
}
