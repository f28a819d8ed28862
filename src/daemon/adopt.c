/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * adopt: start-up with inherited descriptors.  Every registration
 * socket is checked for end-of-file before it is trusted: a node may
 * have died while no daemon ran, and the service manager keeps a stored
 * socket whose peer has closed it.
 */
#include "adopt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "state.h"

void
adopt_listeners(struct net *net, const struct sysd_fd *fds, size_t n,
    int *ret_control, bool *ret_owned, struct adopt_summary *sum)
{
	size_t i;

	*ret_control = -1;
	*ret_owned = false;
	for (i = 0; i < n; i++) {
		const struct sysd_fd *f = &fds[i];

		switch (f->kind) {
		case SYSD_TCP_LISTENER:
			if (net_adopt_listener(net, f->fd) < 0)
				exit(1);
			sum->listeners++;
			break;
		case SYSD_UNIX_LISTENER:
			if (*ret_control >= 0)
				fatalx("more than one listening Unix socket "
				       "passed (fd %d and %d)",
				    *ret_control, f->fd);
			*ret_control = f->fd;
			*ret_owned =
			    strcmp(f->name, ADOPT_CONTROL_OWNED_NAME) == 0;
			break;
		case SYSD_TCP_CONNECTED:
		case SYSD_FILE:
			/*
			 * Saved state and registrations, always named by
			 * the process that stored them: adopt_state.  One
			 * without a name is not ours (Accept=yes, or a
			 * launcher passing something else).
			 */
			if (f->name[0] == '\0')
				fatalx("fd %d was passed without a name and is "
				       "not a listening socket; only listening "
				       "sockets may come unnamed (Accept=yes "
				       "is not supported)",
				    f->fd);
			break;
		case SYSD_OTHER:
			fatalx("fd %d%s%s%s was passed, which is neither a "
			       "listening TCP socket nor a listening Unix "
			       "stream socket",
			    f->fd, f->name[0] ? " (\"" : "", f->name,
			    f->name[0] ? "\")" : "");
		}
	}
	if (sum->listeners == 0)
		fatalx("no listening TCP socket was passed");
}

struct slot_blob {
	int index;
	int fd;
	uint32_t gen;
	uint8_t *p;
	size_t len;
};

static int
by_generation_desc(const void *a, const void *b)
{
	const struct slot_blob *x = a, *y = b;

	return x->gen < y->gen ? 1 : x->gen > y->gen ? -1 : 0;
}

/*
 * Load the newest slot that loads; returns its index (and generation),
 * or -1.  Slot descriptors go to slots[] whatever their content.
 */
static int
load_slots(struct registry *reg, const struct sysd_fd *fds, size_t n,
    int slots[PERSIST_SLOTS], uint32_t *ret_gen, struct adopt_summary *sum)
{
	struct slot_blob blobs[PERSIST_SLOTS];
	struct state_summary ss;
	size_t nb = 0, i;
	int loaded = -1, r;

	for (i = 0; i < n; i++) {
		int idx = persist_slot_index(fds[i].name);

		if (idx < 0 || fds[i].kind != SYSD_FILE)
			continue;
		if (slots[idx] >= 0) { /* a duplicate name: keep the first */
			close(fds[i].fd);
			continue;
		}
		slots[idx] = fds[i].fd;
		sum->state_found = true;
		memset(&blobs[nb], 0, sizeof(blobs[nb]));
		blobs[nb].index = idx;
		blobs[nb].fd = fds[i].fd;
		r = persist_read_slot(fds[i].fd, &blobs[nb].p, &blobs[nb].len);
		if (r < 0) {
			log_errno(LOG_WARNING, r, "saved state %s unreadable",
			    fds[i].name);
			continue;
		}
		if (state_generation(blobs[nb].p, blobs[nb].len,
			&blobs[nb].gen) < 0) {
			/* Emptied in a compaction that did not finish. */
			free(blobs[nb].p);
			continue;
		}
		nb++;
	}
	qsort(blobs, nb, sizeof(blobs[0]), by_generation_desc);
	for (i = 0; i < nb && loaded < 0; i++) {
		r = state_load(blobs[i].p, blobs[i].len, reg, &ss);
		if (r == 0) {
			loaded = blobs[i].index;
			*ret_gen = blobs[i].gen;
			sum->state_loaded = true;
			log_notice("loaded saved state %s%d (generation %u): %zu "
				   "registrations, %zu old names%s%s",
			    PERSIST_STATE_PREFIX, blobs[i].index, blobs[i].gen,
			    ss.active, ss.old,
			    ss.policy ? ", the configuration in force" : "",
			    ss.torn_tail ? ", last record cut short" : "");
			sum->policy_saved = ss.policy;
			sum->policy_file = ss.policy_file;
			sum->policy_text = ss.policy_text;
			sum->policy_len = ss.policy_len;
		} else
			log_errno(LOG_WARNING, r,
			    "saved state %s%d (generation %u) rejected",
			    PERSIST_STATE_PREFIX, blobs[i].index, blobs[i].gen);
	}
	for (i = 0; i < nb; i++)
		free(blobs[i].p);
	return loaded;
}

void
adopt_summary_fini(struct adopt_summary *sum)
{
	free(sum->policy_text);
	sum->policy_text = NULL;
	sum->policy_saved = false;
}

static int
by_id(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a;
	const struct node *y = *(struct node *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Is the peer still there: no end-of-file, no error, no stray byte? */
static bool
socket_alive(int fd)
{
	uint8_t byte;
	ssize_t r = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void
adopt_state(struct registry *reg, struct net *net, const struct sysd_fd *fds,
    size_t n, bool fdstore, int64_t now, struct adopt_summary *sum,
    struct persist **ret)
{
	int slots[PERSIST_SLOTS] = { -1, -1 };
	struct node **active = NULL, *node, *key, **hit;
	struct registry_stats st;
	struct persist *p;
	struct persist_config saved;
	uint32_t gen = 0;
	size_t na = 0, i;
	int loaded;

	loaded = load_slots(reg, fds, n, slots, &gen, sum);
	saved.file = sum->policy_file;
	saved.text = (const char *)sum->policy_text;
	saved.len = sum->policy_len;
	p = persist_new(reg, fdstore, slots, loaded, gen,
	    sum->policy_saved ? &saved : NULL);
	if (p == NULL)
		fatalx("out of memory");
	/* Set now: the registry's observer journals what ends below. */
	*ret = p;

	/* The restored registrations, by id. */
	registry_get_stats(reg, &st);
	if (st.active > 0) {
		active = calloc(st.active, sizeof(*active));
		if (active == NULL)
			fatalx("out of memory");
		for (node = registry_first_active(reg); node != NULL;
		     node = registry_next(node))
			active[na++] = node;
		qsort(active, na, sizeof(*active), by_id);
	}
	for (i = 0; i < n; i++) {
		const struct sysd_fd *f = &fds[i];
		struct node probe;
		uint64_t id;

		if (f->kind == SYSD_TCP_LISTENER ||
		    f->kind == SYSD_UNIX_LISTENER ||
		    persist_slot_index(f->name) >= 0)
			continue;
		id = persist_reg_id(f->name);
		probe.id = id;
		key = &probe;
		hit = id != 0 && f->kind == SYSD_TCP_CONNECTED && na > 0
		    ? bsearch(&key, active, na, sizeof(*active), by_id)
		    : NULL;
		if (hit == NULL || (*hit)->owner != NULL) {
			/* No record (stale or unknown), or a duplicate. */
			log_warnx("dropping passed fd %d (\"%s\"): no saved "
				  "registration matches it",
			    f->fd, f->name);
			close(f->fd);
			if (hit == NULL && f->name[0] != '\0')
				persist_drop_name(p, f->name);
			sum->stale++;
			continue;
		}
		/* Its name is in the store until it ends. */
		persist_restored(p, *hit);
		if (!socket_alive(f->fd)) {
			/* Gone while no daemon ran: ended below. */
			close(f->fd);
			continue;
		}
		if (net_adopt_registration(net, f->fd, *hit, 0) < 0)
			continue;
		sum->restored++;
	}
	/* Every record left without a live socket ends now. */
	for (i = 0; i < na; i++)
		if (active[i]->owner == NULL) {
			registry_unregister(reg, active[i], REGISTRY_CLOSED, now);
			sum->gone++;
		}
	free(active);
}
