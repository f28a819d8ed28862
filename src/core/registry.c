/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * registry: node records in a chained hash table keyed by SipHash-1-3
 * of the name, with O(1) lookup, registration and unregistration at any
 * size.  The creation rules and the old-name FIFO reproduce epmd_srv.c
 * (node_reg2 / node_unreg_sock).
 */
#include "registry.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

TAILQ_HEAD(node_list, node);
TAILQ_HEAD(cursor_list, registry_cursor);

struct registry {
	struct node **buckets;
	size_t nbuckets; /* a power of two */
	size_t records;	 /* active + old */
	struct node_list active;
	struct node_list old;
	struct cursor_list cursors; /* walks in progress, to move on unregister */
	size_t old_keep;
	uint64_t k0, k1;
	struct registry_stats stats;
	uint64_t next_id;
	registry_observer_fn *observer;
	void *observer_arg;
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

/*
 * SipHash-1-3 (Aumasson and Bernstein; one compression and three
 * finalisation rounds, the variant hash tables use), written from the
 * paper: keyed, so peers cannot aim names at one bucket.
 */
static uint64_t
siphash(uint64_t k0, uint64_t k1, const uint8_t *p, size_t len)
{
	uint64_t v[4] = { k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
		k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL };
	uint8_t last[8] = { 0 };
	size_t i, tail = len & 7;
	uint64_t m;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v[3] ^= m;
		sip_round(v);
		v[0] ^= m;
	}
	memcpy(last, p + i, tail);
	last[7] = (uint8_t)len;
	m = le64(last);
	v[3] ^= m;
	sip_round(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (i = 0; i < 3; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

struct registry *
registry_new(size_t old_keep, const uint8_t key[REGISTRY_KEY_SIZE])
{
	struct registry *reg = calloc(1, sizeof(*reg));

	if (reg == NULL)
		return NULL;
	reg->nbuckets = REGISTRY_MIN_BUCKETS;
	reg->buckets = calloc(reg->nbuckets, sizeof(*reg->buckets));
	if (reg->buckets == NULL) {
		free(reg);
		return NULL;
	}
	TAILQ_INIT(&reg->active);
	TAILQ_INIT(&reg->old);
	TAILQ_INIT(&reg->cursors);
	reg->old_keep = old_keep;
	reg->next_id = 1;
	reg->k0 = le64(key);
	reg->k1 = le64(key + 8);
	return reg;
}

void
registry_free(struct registry *reg)
{
	struct node *n, *next;
	size_t i;

	if (reg == NULL)
		return;
	assert(TAILQ_EMPTY(&reg->cursors));
	for (i = 0; i < reg->nbuckets; i++)
		for (n = reg->buckets[i]; n != NULL; n = next) {
			next = n->hnext;
			free(n);
		}
	free(reg->buckets);
	free(reg);
}

struct registry *
registry_new_like(const struct registry *reg)
{
	uint8_t key[REGISTRY_KEY_SIZE];
	struct registry *like;
	int i;

	for (i = 0; i < 8; i++) {
		key[i] = (uint8_t)(reg->k0 >> (8 * i));
		key[8 + i] = (uint8_t)(reg->k1 >> (8 * i));
	}
	like = registry_new(reg->old_keep, key);
	memset(key, 0, sizeof(key));
	return like;
}

void
registry_take(struct registry *reg, struct registry *from)
{
	struct node **buckets = reg->buckets;
	size_t nbuckets = reg->nbuckets;

	assert(reg->records == 0 && TAILQ_EMPTY(&reg->cursors) &&
	    TAILQ_EMPTY(&from->cursors));
	assert(reg->k0 == from->k0 && reg->k1 == from->k1);
	reg->buckets = from->buckets;
	reg->nbuckets = from->nbuckets;
	reg->records = from->records;
	from->buckets = buckets;
	from->nbuckets = nbuckets;
	from->records = 0;
	TAILQ_CONCAT(&reg->active, &from->active, link);
	TAILQ_CONCAT(&reg->old, &from->old, link);
	reg->stats.active = from->stats.active;
	reg->stats.old = from->stats.old;
	from->stats.active = from->stats.old = 0;
	if (from->next_id > reg->next_id)
		reg->next_id = from->next_id;
}

void
registry_set_observer(struct registry *reg, registry_observer_fn *fn,
    void *arg)
{
	reg->observer = fn;
	reg->observer_arg = arg;
}

static struct node **
bucket(const struct registry *reg, uint64_t hash)
{
	return &reg->buckets[hash & (reg->nbuckets - 1)];
}

/* Any record, active or old, with these name bytes. */
static struct node *
find(const struct registry *reg, const uint8_t *name, size_t nlen,
    uint64_t hash)
{
	struct node *n;

	for (n = *bucket(reg, hash); n != NULL; n = n->hnext)
		if (n->hash == hash && n->nlen == nlen &&
		    memcmp(n->data, name, nlen) == 0)
			return n;
	return NULL;
}

struct node *
registry_lookup(const struct registry *reg, const uint8_t *name, size_t nlen)
{
	struct node *n;

	if (nlen > UINT16_MAX)
		return NULL;
	n = find(reg, name, nlen, siphash(reg->k0, reg->k1, name, nlen));
	return n != NULL && n->active ? n : NULL;
}

static void
hash_unlink(struct registry *reg, struct node *n)
{
	struct node **pp;

	for (pp = bucket(reg, n->hash); *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			reg->records--;
			return;
		}
}

/* Double the bucket array; on ENOMEM keep the longer chains. */
static void
grow(struct registry *reg)
{
	size_t nb = reg->nbuckets * 2, i;
	struct node **nt, *n, *next;

	if (nb > REGISTRY_MAX_BUCKETS)
		return;
	nt = calloc(nb, sizeof(*nt));
	if (nt == NULL)
		return;
	for (i = 0; i < reg->nbuckets; i++)
		for (n = reg->buckets[i]; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = nt[n->hash & (nb - 1)];
			nt[n->hash & (nb - 1)] = n;
		}
	free(reg->buckets);
	reg->buckets = nt;
	reg->nbuckets = nb;
}

static void
hash_link(struct registry *reg, struct node *n)
{
	struct node **b;

	if (reg->records + 1 > reg->nbuckets * REGISTRY_MAX_LOAD)
		grow(reg);
	b = bucket(reg, n->hash);
	n->hnext = *b;
	*b = n;
	reg->records++;
}

/* OTP's bump: +1, and never below 4 (creations 0..3 are reserved). */
static uint32_t
bump(uint32_t cr)
{
	cr++;
	return cr < 4 ? 4 : cr;
}

/* Drop an old record entirely. */
static void
forget_old(struct registry *reg, struct node *o)
{
	TAILQ_REMOVE(&reg->old, o, link);
	reg->stats.old--;
	hash_unlink(reg, o);
	free(o);
}

/* A new record for e (not linked anywhere). */
static struct node *
node_new(const struct registry_entry *e, uint64_t hash)
{
	struct node *n = malloc(sizeof(*n) + e->nlen + e->elen);

	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->hash = hash;
	n->owner = e->owner;
	n->uid = e->uid;
	n->inode = e->inode;
	n->fd = e->fd;
	n->peer = e->peer;
	n->port = e->port;
	n->type = e->type;
	n->proto = e->proto;
	n->hv = e->hv;
	n->lv = e->lv;
	n->nlen = (uint16_t)e->nlen;
	n->elen = (uint16_t)e->elen;
	if (e->nlen > 0)
		memcpy(n->data, e->name, e->nlen);
	if (e->elen > 0)
		memcpy(n->data + e->nlen, e->extra, e->elen);
	return n;
}

int
registry_register(struct registry *reg, const struct registry_entry *e,
    int64_t now, struct node **ret)
{
	struct node *n, *prev;
	uint64_t hash;
	uint32_t cr;

	if (e->nlen > UINT16_MAX || e->elen > UINT16_MAX)
		return -EINVAL;
	hash = siphash(reg->k0, reg->k1, e->name, e->nlen);
	prev = find(reg, e->name, e->nlen, hash);
	if (prev != NULL && prev->active)
		return -EEXIST;
	n = node_new(e, hash);
	if (n == NULL)
		return -ENOMEM;

	if (prev != NULL) {
		/* A remembered name: continue its counter. */
		cr = bump(prev->cr);
		forget_old(reg, prev);
	} else if (reg->stats.old > reg->old_keep) {
		/* Recycle the oldest record: its counter, not bumped. */
		prev = TAILQ_FIRST(&reg->old);
		cr = prev->cr;
		forget_old(reg, prev);
	} else
		cr = bump((uint32_t)now);

	n->registered_at = now;
	n->cr = cr;
	n->id = reg->next_id++;
	n->active = true;
	hash_link(reg, n);
	TAILQ_INSERT_HEAD(&reg->active, n, link);
	reg->stats.active++;
	reg->stats.registrations++;
	if (reg->observer != NULL)
		reg->observer(reg->observer_arg, n, REGISTRY_REGISTERED,
		    REGISTRY_CLOSED);
	*ret = n;
	return 0;
}

int
registry_restore(struct registry *reg, const struct registry_entry *e,
    bool active, uint32_t cr, int64_t registered_at, int64_t unregistered_at,
    uint64_t id, struct node **ret)
{
	struct node *n, *prev;
	uint64_t hash;

	if (e->nlen > UINT16_MAX || e->elen > UINT16_MAX)
		return -EINVAL;
	hash = siphash(reg->k0, reg->k1, e->name, e->nlen);
	prev = find(reg, e->name, e->nlen, hash);
	if (prev != NULL && (prev->active || !active))
		return -EEXIST;
	n = node_new(e, hash);
	if (n == NULL)
		return -ENOMEM;
	/* As registry_register would have: the old record is used up. */
	if (active && prev != NULL)
		forget_old(reg, prev);
	else if (active && reg->stats.old > reg->old_keep)
		forget_old(reg, TAILQ_FIRST(&reg->old));
	n->cr = cr;
	n->registered_at = registered_at;
	n->unregistered_at = unregistered_at;
	n->id = id;
	n->active = active;
	hash_link(reg, n);
	if (active) {
		TAILQ_INSERT_HEAD(&reg->active, n, link);
		reg->stats.active++;
	} else {
		n->owner = NULL;
		TAILQ_INSERT_TAIL(&reg->old, n, link);
		reg->stats.old++;
	}
	if (id >= reg->next_id)
		reg->next_id = id + 1;
	if (ret != NULL)
		*ret = n;
	return 0;
}

void
registry_set_uid(struct registry *reg, struct node *n, uint32_t uid,
    uint64_t inode)
{
	(void)reg;
	n->uid = uid;
	n->inode = inode;
}

void
registry_set_owner(struct registry *reg, struct node *n, void *owner, int fd)
{
	(void)reg;
	n->owner = owner;
	n->fd = fd;
}

uint64_t
registry_next_id(const struct registry *reg)
{
	return reg->next_id;
}

size_t
registry_old_keep(const struct registry *reg)
{
	return reg->old_keep;
}

void
registry_set_next_id(struct registry *reg, uint64_t next)
{
	if (next > reg->next_id)
		reg->next_id = next;
}

void
registry_unregister(struct registry *reg, struct node *n,
    enum registry_reason reason, int64_t now)
{
	struct registry_cursor *cur;

	if (!n->active)
		return;
	/* Before n leaves the list, so that its successor is known. */
	TAILQ_FOREACH(cur, &reg->cursors, link)
		if (cur->next == n)
			cur->next = TAILQ_NEXT(n, link);
	TAILQ_REMOVE(&reg->active, n, link);
	reg->stats.active--;
	n->active = false;
	n->owner = NULL;
	n->unregistered_at = now;
	TAILQ_INSERT_TAIL(&reg->old, n, link);
	reg->stats.old++;
	if ((unsigned)reason < REGISTRY_REASON_COUNT)
		reg->stats.unregistrations[reason]++;
	if (reg->observer != NULL)
		reg->observer(reg->observer_arg, n, REGISTRY_UNREGISTERED,
		    reason);
}

const char *
registry_reason_name(enum registry_reason r)
{
	static const char *const names[REGISTRY_REASON_COUNT] = {
		[REGISTRY_CLOSED] = "closed",
		[REGISTRY_STRAY] = "stray_data",
		[REGISTRY_STOPPED] = "stopped",
		[REGISTRY_SHUTDOWN] = "shutdown",
		[REGISTRY_ERROR] = "write_error",
	};

	return (unsigned)r < REGISTRY_REASON_COUNT ? names[r] : "unknown";
}

uint32_t
registry_creation(const struct node *n)
{
	return n->hv >= REGISTRY_CR32_VERSION ? n->cr : n->cr % 3 + 1;
}

struct node *
registry_first_active(const struct registry *reg)
{
	return TAILQ_FIRST(&reg->active);
}

struct node *
registry_first_old(const struct registry *reg)
{
	return TAILQ_FIRST(&reg->old);
}

struct node *
registry_next(const struct node *n)
{
	return TAILQ_NEXT(n, link);
}

struct node *
registry_last_active(const struct registry *reg)
{
	return TAILQ_LAST(&reg->active, node_list);
}

struct node *
registry_prev_active(const struct node *n)
{
	return TAILQ_PREV(n, node_list, link);
}

void
registry_cursor_init(struct registry *reg, struct registry_cursor *cur)
{
	cur->next = TAILQ_FIRST(&reg->active);
	TAILQ_INSERT_TAIL(&reg->cursors, cur, link);
}

struct node *
registry_cursor_next(struct registry_cursor *cur)
{
	struct node *n = cur->next;

	if (n != NULL)
		cur->next = TAILQ_NEXT(n, link);
	return n;
}

void
registry_cursor_fini(struct registry *reg, struct registry_cursor *cur)
{
	TAILQ_REMOVE(&reg->cursors, cur, link);
	cur->next = NULL;
}

void
registry_get_stats(const struct registry *reg, struct registry_stats *ret)
{
	*ret = reg->stats;
}

size_t
registry_bucket_count(const struct registry *reg)
{
	return reg->nbuckets;
}

size_t
registry_longest_chain(const struct registry *reg)
{
	size_t i, len, longest = 0;
	const struct node *n;

	for (i = 0; i < reg->nbuckets; i++) {
		for (len = 0, n = reg->buckets[i]; n != NULL; n = n->hnext)
			len++;
		if (len > longest)
			longest = len;
	}
	return longest;
}
