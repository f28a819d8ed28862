/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * fuzz_config: libFuzzer target for the configuration parser
 * (policy_parse) and -allow values (policy_set_access): whatever the
 * bytes, a parse either fails with a one-line message that names a line
 * of the text, or gives a policy whose every part keeps the limits of
 * policy.h.  A policy is then asked the daemon's questions, and each of
 * its entries, written out as text, parses back to the same entry.
 *
 * The first input byte chooses: bit 0 clear, the rest is a file; set,
 * it is an -allow value for kind (byte >> 1) % 5.  Users and groups
 * named by one lower-case letter exist (uid/gid 1000 + the letter).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
resolve(void *arg, const char *name, uint32_t *ret)
{
	(void)arg;
	if (name[0] >= 'a' && name[0] <= 'z' && name[1] == '\0') {
		*ret = 1000u + (uint32_t)(name[0] - 'a');
		return 0;
	}
	return -ENOENT;
}

static const struct policy_resolver names = { resolve, resolve, NULL };

static int
member(void *arg, uint32_t uid, uint32_t gid)
{
	(void)arg;
	return uid % 7 == gid % 7;
}

/* Entry i of a, written out, parses back to the same entry. */
static void
check_entry(const struct policy_entry *e)
{
	char text[POLICY_ENTRY_TEXT + 16], word[POLICY_ENTRY_TEXT];
	struct policy_error err;
	struct policy *p = NULL;
	const struct policy_entry *back;
	unsigned max = e->family == 4 ? 32 : 128, i;

	if (e->family != 0) {
		assert(e->family == 4 || e->family == 6);
		assert(e->bits <= max);
		for (i = e->bits; i < max; i++)
			assert((e->addr[i / 8] & (0x80 >> (i % 8))) == 0);
	}
	policy_entry_text(e, word, sizeof(word));
	snprintf(text, sizeof(text), "names %s\n", word);
	assert(policy_parse(text, strlen(text), NULL, &p, &err) == 0);
	back = &p->access[POLICY_NAMES].entries[0];
	assert(p->access[POLICY_NAMES].n == 1);
	assert(back->family == e->family && back->bits == e->bits &&
	    memcmp(back->addr, e->addr, 16) == 0);
	policy_free(p);
}

static void
check_policy(const struct policy *p)
{
	static const char *const peers[] = { "127.0.0.1", "10.1.2.3", "::1",
		"::ffff:10.1.2.3", "fd00::1", "0.0.0.0", "255.255.255.255",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" };
	struct policy_decision d;
	struct registry_addr a;
	size_t i, j;
	int k;

	for (k = 0; k < POLICY_KIND_COUNT; k++) {
		const struct policy_access *acc = &p->access[k];

		assert(acc->n <= POLICY_MAX_ENTRIES);
		assert(acc->mode == POLICY_LIST || acc->n == 0);
		for (i = 0; i < acc->n; i++) {
			check_entry(&acc->entries[i]);
			/* No entry twice. */
			for (j = 0; j < i; j++)
				assert(acc->entries[i].family !=
					acc->entries[j].family ||
				    acc->entries[i].bits !=
					acc->entries[j].bits ||
				    memcmp(acc->entries[i].addr,
					acc->entries[j].addr, 16) != 0);
		}
		/* Each network's first and last address, and one just past
		 * it: the quick answer is the reported one, and matches. */
		for (i = 0; i < acc->n; i++) {
			const struct policy_entry *e = &acc->entries[i];
			unsigned max = e->family == 4 ? 32 : 128, b;
			int edge;

			if (e->family == 0)
				continue;
			for (edge = 0; edge < 3; edge++) {
				memset(&a, 0, sizeof(a));
				a.family = e->family;
				memcpy(a.addr, e->addr, 16);
				for (b = e->bits; edge > 0 && b < max; b++)
					a.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
				if (edge == 2 && e->bits > 0)
					a.addr[(e->bits - 1) / 8] ^=
					    (uint8_t)(0x80 >> ((e->bits - 1) % 8));
				policy_allows(p, (enum policy_kind)k, &a, false,
				    &d);
				assert(policy_allows(p, (enum policy_kind)k,
					   &a, false, NULL) == d.allowed);
				/* ... except an IPv4-mapped one, matched as
				 * IPv4 (a v6 network may cover some). */
				assert(edge == 2 || d.allowed ||
				    (a.family == 6 &&
					memcmp(a.addr,
					    "\0\0\0\0\0\0\0\0\0\0\xff\xff",
					    12) == 0));
			}
		}
		for (i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
			assert(policy_parse_addr(peers[i], &a) == 0);
			policy_allows(p, (enum policy_kind)k, &a, i % 2 == 0,
			    &d);
			/* The quick answer is the reported one. */
			assert(policy_allows(p, (enum policy_kind)k, &a,
				   i % 2 == 0, NULL) == d.allowed);
			assert(d.entry == NULL ||
			    (d.entry >= acc->entries &&
				d.entry < acc->entries + acc->n));
			assert(!d.allowed || acc->mode != POLICY_NONE);
		}
	}
	assert(p->nowners <= POLICY_MAX_OWNERS);
	for (i = 0; i < p->nowners; i++) {
		const struct policy_owner *o = &p->owners[i], *hit;
		char text[64];

		assert(o->nids >= 1 && o->nids <= POLICY_MAX_IDS);
		assert(o->plen <= 1020);
		/* The rule's own name: covered by it or a more specific one. */
		hit = policy_owner_of(p, o->pattern, o->plen);
		assert(hit != NULL);
		assert(hit->plen <= o->plen &&
		    memcmp(hit->pattern, o->pattern, hit->plen) == 0);
		if (!o->prefix)
			assert(hit == o);
		else
			assert(hit->plen >= o->plen || !hit->prefix);
		policy_owner_allows(o, 1000, member, NULL);
		policy_owner_allows(o, REGISTRY_UID_UNKNOWN, member, NULL);
		policy_pattern_text(o, text, sizeof(text));
		for (j = 0; j < o->nids; j++)
			policy_id_text(&o->ids[j], text, sizeof(text));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error err;
	struct policy *p = NULL;
	char *text;
	int r;

	if (size < 1 || size > POLICY_MAX_FILE + 2)
		return 0;
	text = malloc(size);
	assert(text != NULL);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	memset(&err, 0, sizeof(err));
	if (data[0] & 1) {
		p = policy_new();
		assert(p != NULL);
		/* A NUL ends the value, as it does in argv. */
		r = policy_set_access(p, (enum policy_kind)((data[0] >> 1) % 5),
		    text, &err);
		assert(r == 0 || r == -EINVAL);
		if (r < 0)
			assert(err.line == 0 && err.column >= 1 &&
			    err.column <= strlen(text) + 1);
	} else {
		r = policy_parse(text, size - 1, &names, &p, &err);
		assert(r == 0 || r == -EINVAL);
		if (r < 0) {
			size_t lines = 1, i;

			for (i = 0; i + 1 < size; i++)
				lines += text[i] == '\n';
			assert(p == NULL);
			assert(err.line <= lines);
			assert(err.line > 0 || err.column == 0);
			assert(err.column <= POLICY_MAX_LINE + 1);
		}
	}
	assert(memchr(err.message, '\n', sizeof(err.message)) == NULL);
	assert(memchr(err.message, '\0', sizeof(err.message)) != NULL);
	if (r == 0)
		check_policy(p);
	policy_free(p);
	free(text);
	return 0;
}
