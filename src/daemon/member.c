/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * member: the cache is a table of MEMBER_MAX_UIDS entries; a uid lives
 * in one of MEMBER_PROBE slots from its hash, and a new one takes a free
 * slot there or the oldest answer not being looked up.  A lookup
 * (getpwuid_r, then getgrouplist) runs in the thread pool on its own
 * copy of the uid and returns a sorted list of gids, which the loop
 * thread alone puts into the table.  Each answer carries the
 * generation of the reload it was asked under; an older one is looked
 * up again.
 */
#include "member.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MEMBER_PROBE 8
/* How often waiting lookups are checked against MEMBER_WAIT (ms). */
#define MEMBER_TICK (MEMBER_WAIT / 5)

enum { ENTRY_FREE, ENTRY_ASKED, ENTRY_KNOWN };

struct member_entry {
	uint32_t uid;
	uint8_t state;
	bool busy;	/* a lookup is in flight */
	bool failed;	/* the last lookup failed: member of nothing */
	bool late;	/* busy past MEMBER_WAIT: answer 0 meanwhile */
	uint32_t gen;	/* of the answer */
	uint64_t asked; /* ms, loop clock */
	uint64_t known; /* ms, loop clock */
	gid_t *gids;	/* sorted */
	size_t n;
};

struct member_work {
	uv_work_t req;
	struct member *m;
	uint32_t uid;
	uint32_t gen;
	int r; /* 0, or a negative errno */
	gid_t *gids;
	size_t n;
};

struct member {
	uv_loop_t *loop;
	member_ready_fn *ready;
	void *arg;
	uv_timer_t tick;
	bool stopped;
	uint32_t gen;
	size_t busy; /* lookups in flight */
	time_t full_logged;
	struct member_entry slots[MEMBER_MAX_UIDS];
};

static size_t
slot_of(uint32_t uid, unsigned k)
{
	uint32_t h = uid * 0x9e3779b1u;

	return ((h ^ h >> 15) + k) & (MEMBER_MAX_UIDS - 1);
}

static struct member_entry *
find(struct member *m, uint32_t uid)
{
	unsigned k;

	for (k = 0; k < MEMBER_PROBE; k++) {
		struct member_entry *e = &m->slots[slot_of(uid, k)];

		if (e->state != ENTRY_FREE && e->uid == uid)
			return e;
	}
	return NULL;
}

/* A slot for uid: a free one, else the oldest answer not in flight. */
static struct member_entry *
claim(struct member *m, uint32_t uid)
{
	struct member_entry *best = NULL;
	unsigned k;

	for (k = 0; k < MEMBER_PROBE; k++) {
		struct member_entry *e = &m->slots[slot_of(uid, k)];

		if (e->state == ENTRY_FREE) {
			best = e;
			break;
		}
		if (!e->busy && (best == NULL || e->known < best->known))
			best = e;
	}
	if (best == NULL)
		return NULL;
	free(best->gids);
	memset(best, 0, sizeof(*best));
	best->uid = uid;
	best->state = ENTRY_ASKED;
	return best;
}

static int
by_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

/* In the thread pool: the user's groups, primary included. */
static void
lookup_work(uv_work_t *req)
{
	struct member_work *w = container_of(req, struct member_work, req);
	struct passwd pw, *res = NULL;
	size_t size = 4096;
	char *buf = NULL, *nb;
	gid_t *groups = NULL, *ng;
	int n = 64, want, r;

	for (;;) {
		if ((nb = realloc(buf, size)) == NULL) {
			w->r = -ENOMEM;
			goto out;
		}
		buf = nb;
		r = getpwuid_r((uid_t)w->uid, &pw, buf, size, &res);
		if (r != ERANGE || size >= MEMBER_MAX_NSS_BUF)
			break;
		size *= 2;
	}
	if (r != 0) {
		w->r = -r;
		goto out;
	}
	if (res == NULL) {
		/* No such user: a member of no group. */
		w->r = 0;
		goto out;
	}
	for (;;) {
		want = n;
		if ((ng = realloc(groups, (size_t)n * sizeof(*groups))) ==
		    NULL) {
			w->r = -ENOMEM;
			goto out;
		}
		groups = ng;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &want) >= 0) {
			n = want;
			break;
		}
		/* Too small: want says how many there are. */
		if (want <= n || want > MEMBER_MAX_GROUPS) {
			w->r = -E2BIG;
			goto out;
		}
		n = want;
	}
	qsort(groups, (size_t)n, sizeof(*groups), by_gid);
	w->gids = groups;
	w->n = (size_t)n;
	groups = NULL;
	w->r = 0;
out:
	free(groups);
	free(buf);
}

static void
lookup_done(uv_work_t *req, int status)
{
	struct member_work *w = container_of(req, struct member_work, req);
	struct member *m = w->m;
	struct member_entry *e = find(m, w->uid);

	m->busy--;
	if (e != NULL && e->busy) {
		free(e->gids);
		e->gids = w->gids;
		e->n = w->n;
		w->gids = NULL;
		e->failed = status < 0 || w->r < 0;
		if (e->failed && status == 0)
			log_errno(LOG_WARNING, w->r, "cannot look up the groups "
			    "of uid %u: not a member of any, for now",
			    (unsigned)w->uid);
		e->gen = w->gen;
		e->known = uv_now(m->loop);
		e->state = ENTRY_KNOWN;
		e->busy = e->late = false;
	}
	if (!m->stopped)
		m->ready(m->arg, w->uid);
	free(w->gids);
	free(w);
}

static void
tick_cb(uv_timer_t *t)
{
	struct member *m = container_of(t, struct member, tick);
	uint64_t now = uv_now(m->loop);
	size_t i;

	if (m->busy == 0) {
		uv_timer_stop(t);
		return;
	}
	for (i = 0; i < MEMBER_MAX_UIDS; i++) {
		struct member_entry *e = &m->slots[i];

		if (!e->busy || e->late || now - e->asked < MEMBER_WAIT)
			continue;
		e->late = true;
		log_warnx("the groups of uid %u are not known after %u ms: "
			  "not a member of any until they are",
		    (unsigned)e->uid, MEMBER_WAIT);
		m->ready(m->arg, e->uid);
	}
}

/* Start looking uid up (e is its entry); false if that cannot be done. */
static bool
start_lookup(struct member *m, struct member_entry *e)
{
	struct member_work *w;

	if (m->stopped || (w = calloc(1, sizeof(*w))) == NULL)
		return false;
	w->m = m;
	w->uid = e->uid;
	w->gen = m->gen;
	if (uv_queue_work(m->loop, &w->req, lookup_work, lookup_done) < 0) {
		free(w);
		return false;
	}
	e->busy = true;
	e->late = false;
	e->asked = uv_now(m->loop);
	m->busy++;
	if (!uv_is_active((uv_handle_t *)&m->tick))
		uv_timer_start(&m->tick, tick_cb, MEMBER_TICK, MEMBER_TICK);
	return true;
}

int
member_query(void *arg, uint32_t uid, uint32_t gid)
{
	struct member *m = arg;
	struct member_entry *e = find(m, uid);
	uint64_t now = uv_now(m->loop);
	gid_t g = (gid_t)gid;

	if (e != NULL && e->state == ENTRY_KNOWN && e->gen == m->gen &&
	    now - e->known < (e->failed ? MEMBER_RETRY : MEMBER_MAX_AGE))
		return bsearch(&g, e->gids, e->n, sizeof(g), by_gid) != NULL;
	if (e != NULL && e->busy)
		return e->late ? 0 : -EAGAIN;
	if (e == NULL && (e = claim(m, uid)) == NULL) {
		time_t t = time(NULL);

		if (t != m->full_logged)
			log_warnx("no room to look up the groups of uid %u "
				  "(%u lookups in flight): not a member",
			    (unsigned)uid, (unsigned)m->busy);
		m->full_logged = t;
		return 0;
	}
	if (!start_lookup(m, e)) {
		if (e->state == ENTRY_ASKED)
			e->state = ENTRY_FREE;
		return 0;
	}
	return -EAGAIN;
}

void
member_refresh(struct member *m)
{
	size_t i;

	m->gen++;
	for (i = 0; i < MEMBER_MAX_UIDS; i++) {
		struct member_entry *e = &m->slots[i];

		if (e->state == ENTRY_KNOWN && !e->busy)
			(void)start_lookup(m, e);
	}
}

struct member *
member_new(uv_loop_t *loop, member_ready_fn *ready, void *arg)
{
	struct member *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->loop = loop;
	m->ready = ready;
	m->arg = arg;
	uv_timer_init(loop, &m->tick);
	return m;
}

void
member_stop(struct member *m)
{
	if (m == NULL || m->stopped)
		return;
	m->stopped = true;
	uv_close((uv_handle_t *)&m->tick, NULL);
}

void
member_free(struct member *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < MEMBER_MAX_UIDS; i++)
		free(m->slots[i].gids);
	free(m);
}
