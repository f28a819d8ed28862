/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * adopt: start-up with inherited descriptors.  Every registration
 * socket is checked for end-of-file before it is trusted: a node may
 * have died while no daemon ran, and the service manager keeps a stored
 * socket whose peer has closed it.  That check, and taking the socket
 * into the loop, happen in batches once the listeners serve (issue 17):
 * before that, sockets are only matched to records by id, in memory.
 */
#include "adopt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "park.h"
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
		case SYSD_DEFERRED:
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
};

static int
by_generation_desc(const void *a, const void *b)
{
	const struct slot_blob *x = a, *y = b;

	return x->gen < y->gen ? 1 : x->gen > y->gen ? -1 : 0;
}

/* A slot's generation from its header alone; -1 if it has none. */
static int
slot_generation(int fd, uint32_t *ret_gen)
{
	uint8_t hdr[STATE_HEADER_SIZE];
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);

	if (n != (ssize_t)sizeof(hdr))
		return -1;
	return state_generation(hdr, sizeof(hdr), ret_gen) < 0 ? -1 : 0;
}

/*
 * Load the newest slot that loads; returns its index (its generation
 * in *ret_gen, where its whole records end in *ret_len), or -1.  Slot
 * descriptors go to slots[] whatever their content.  Slots are read
 * one at a time, newest first: one blob in memory, not two.
 */
static int
load_slots(struct registry *reg, const struct sysd_fd *fds, size_t n,
    int slots[PERSIST_SLOTS], uint32_t *ret_gen, size_t *ret_len,
    struct adopt_summary *sum)
{
	struct slot_blob blobs[PERSIST_SLOTS] = { 0 };
	struct state_summary ss;
	size_t nb = 0, i, len;
	uint8_t *p;
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
		/* Emptied in a compaction that did not finish: none. */
		if (slot_generation(fds[i].fd, &blobs[nb].gen) == 0)
			nb++;
	}
	qsort(blobs, nb, sizeof(blobs[0]), by_generation_desc);
	for (i = 0; i < nb && loaded < 0; i++) {
		r = persist_read_slot(blobs[i].fd, &p, &len);
		if (r < 0) {
			log_errno(LOG_WARNING, r, "saved state %s%d unreadable",
			    PERSIST_STATE_PREFIX, blobs[i].index);
			continue;
		}
		r = state_load(p, len, reg, &ss);
		free(p);
		if (r == 0) {
			loaded = blobs[i].index;
			*ret_gen = blobs[i].gen;
			*ret_len = ss.length;
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

static int
cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Is the peer still there: no end-of-file, no error, no stray byte? */
static bool
socket_alive(int fd)
{
	uint8_t byte;
	ssize_t r = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* A registration socket still to be taken (or dropped). */
struct adopt_item {
	int fd;
	struct node *node;	/* NULL: its record ended meanwhile */
	bool inplace;		/* inherited at its number (an upgrade) */
	bool parked;		/* in a segment already (an upgrade) */
};

struct adopt {
	struct registry *reg;
	struct net *net;
	struct persist *p;
	struct park *park;
	struct adopt_item *items;
	size_t n, next;
	size_t *by_fd;		/* fd -> item index + 1 (0: none) */
	size_t nfd;
	/*
	 * The loaded records by id (act[k] NULL once ended), until every
	 * socket is known: parked ones are read after start-up.
	 */
	uint64_t *act_id;
	struct node **act;
	bool *claimed;
	size_t na;
	bool peek;		/* segments to read (a restart) */
	struct adopt_summary *sum;
};

bool
adopt_defer_name(const char *name)
{
	return persist_reg_id(name) != 0 || park_key(name) != 0;
}

/* The in-place table an upgrade passes: (fd:i32, id:u64) pairs. */
static int
read_inplace(int fd, struct adopt_inplace **ret, size_t *ret_n)
{
	uint8_t *p = NULL;
	size_t len = 0;
	int r;

	r = persist_read_slot(fd, &p, &len);
	close(fd);
	if (r < 0)
		return r;
	if (len % sizeof(struct adopt_inplace) != 0) {
		free(p);
		return -EBADMSG;
	}
	*ret = (struct adopt_inplace *)(void *)p;
	*ret_n = len / sizeof(struct adopt_inplace);
	return 0;
}

static void
drop_fd(struct persist *p, int fd, const char *name, bool unknown,
    struct adopt_summary *sum)
{
	log_warnx("dropping passed fd %d (\"%s\"): no saved registration "
		  "matches it",
	    fd, name);
	close(fd);
	if (unknown && name[0] != '\0')
		persist_drop_name(p, name);
	sum->stale++;
}

/* The index of the loaded record with this id, or -1. */
static ssize_t
find(const struct adopt *a, uint64_t id)
{
	const uint64_t *hit = id != 0 && a->na > 0
	    ? bsearch(&id, a->act_id, a->na, sizeof(*a->act_id), cmp_id)
	    : NULL;

	return hit == NULL ? -1 : hit - a->act_id;
}

/* Claim the record with this id for fd; false if none (or taken). */
static bool
claim(struct adopt *a, uint64_t id, int fd, bool inplace, bool *ret_known)
{
	ssize_t k = find(a, id);

	*ret_known = k >= 0;
	if (k < 0 || a->claimed[k] || a->act[k] == NULL || fd < 0 ||
	    (size_t)fd >= a->nfd)
		return false;
	a->claimed[k] = true;
	a->items[a->n].fd = fd;
	a->items[a->n].node = a->act[k];
	a->items[a->n].inplace = inplace;
	a->by_fd[fd] = ++a->n;
	/* What DUMP shows until it is taken. */
	a->act[k]->fd = fd;
	return true;
}

/* Every loaded record that found no socket ends now. */
static void
sweep(struct adopt *a, int64_t now)
{
	size_t k;

	for (k = 0; k < a->na; k++)
		if (!a->claimed[k] && a->act[k] != NULL) {
			registry_unregister(a->reg, a->act[k], REGISTRY_CLOSED,
			    now);
			a->sum->gone++;
		}
	free(a->act_id);
	free(a->act);
	free(a->claimed);
	a->act_id = NULL;
	a->act = NULL;
	a->claimed = NULL;
	a->na = 0;
	a->peek = false;
	park_adopted(a->park);
}

void
adopt_state(struct registry *reg, struct net *net, const struct sysd_fd *fds,
    size_t n, bool fdstore, int64_t now, struct adopt_summary *sum,
    struct persist **ret, struct adopt **ret_adopt)
{
	int slots[PERSIST_SLOTS] = { -1, -1 };
	struct node *node;
	struct adopt_inplace *inplace = NULL;
	struct registry_stats st;
	struct persist *p;
	struct persist_config saved;
	struct adopt *a;
	bool known, table = false;
	uint32_t gen = 0, key;
	size_t ninplace = 0, i, maxfd = 0, length = 0, nseg = 0;
	int loaded;

	loaded = load_slots(reg, fds, n, slots, &gen, &length, sum);
	log_mark("load");
	saved.file = sum->policy_file;
	saved.text = (const char *)sum->policy_text;
	saved.len = sum->policy_len;
	p = persist_new(reg, fdstore, slots, loaded, gen, length,
	    sum->policy_saved ? &saved : NULL);
	if (p == NULL)
		fatalx("out of memory");
	log_mark("persist");
	/* Set now: the registry's observer journals what ends below. */
	*ret = p;
	*ret_adopt = NULL;

	for (i = 0; i < n; i++)
		if (fds[i].kind == SYSD_FILE &&
		    strcmp(fds[i].name, ADOPT_INPLACE_NAME) == 0) {
			table = true;
			if (inplace != NULL ||
			    read_inplace(fds[i].fd, &inplace, &ninplace) < 0)
				log_warnx("the upgrade's table of "
					  "registrations is unreadable");
		}
	for (i = 0; i < n; i++)
		if ((size_t)fds[i].fd > maxfd)
			maxfd = (size_t)fds[i].fd;
	for (i = 0; i < ninplace; i++)
		if (inplace[i].fd > 0 && (size_t)inplace[i].fd > maxfd)
			maxfd = (size_t)inplace[i].fd;

	/* The restored registrations, by id. */
	registry_get_stats(reg, &st);
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		fatalx("out of memory");
	a->reg = reg;
	a->net = net;
	a->p = p;
	a->park = persist_park(p);
	a->sum = sum;
	a->nfd = maxfd + 1;
	a->items = calloc(st.active + 1, sizeof(*a->items));
	a->by_fd = calloc(a->nfd, sizeof(*a->by_fd));
	a->act = calloc(st.active + 1, sizeof(*a->act));
	a->act_id = calloc(st.active + 1, sizeof(*a->act_id));
	a->claimed = calloc(st.active + 1, sizeof(*a->claimed));
	if (a->items == NULL || a->by_fd == NULL || a->act == NULL ||
	    a->act_id == NULL || a->claimed == NULL)
		fatalx("out of memory");
	for (node = registry_first_active(reg); node != NULL;
	     node = registry_next(node))
		a->act[a->na++] = node;
	qsort(a->act, a->na, sizeof(*a->act), by_id);
	for (i = 0; i < a->na; i++)
		a->act_id[i] = a->act[i]->id;
	/*
	 * Match each socket to its record by id only: no system call here.
	 * Whether it is a connected TCP socket, and whether its node is
	 * still there, is found out by adopt_step, on the loop, once the
	 * listeners serve: a record stays listed (and answered) meanwhile.
	 * Parked sockets are read there too.
	 */
	for (i = 0; i < n; i++) {
		const struct sysd_fd *f = &fds[i];

		if (f->kind == SYSD_TCP_LISTENER ||
		    f->kind == SYSD_UNIX_LISTENER ||
		    persist_slot_index(f->name) >= 0 ||
		    (f->kind == SYSD_FILE &&
			strcmp(f->name, ADOPT_INPLACE_NAME) == 0))
			continue;
		if ((key = park_key(f->name)) != 0) {
			if (a->park == NULL)
				drop_fd(p, f->fd, f->name, false, sum);
			else if (park_adopt(a->park, f->fd, key) >= 0)
				nseg++;
			continue;
		}
		if (!claim(a, persist_reg_id(f->name), f->fd, false, &known))
			/* No record (stale or unknown), or a duplicate. */
			drop_fd(p, f->fd, f->name, !known, sum);
	}
	for (i = 0; i < ninplace; i++) {
		char name[32];

		if (inplace[i].fd < 3)
			continue;
		if (!claim(a, inplace[i].id, inplace[i].fd, true, &known)) {
			persist_reg_name(inplace[i].id, name, sizeof(name));
			drop_fd(p, inplace[i].fd, name, !known, sum);
			continue;
		}
		if (inplace[i].park != 0 && a->park != NULL) {
			park_adopt_node(a->park, a->items[a->n - 1].node,
			    inplace[i].park);
			a->items[a->n - 1].parked =
			    a->items[a->n - 1].node->parked != 0;
		}
	}
	/*
	 * A restart (or an upgrade whose table is unreadable): the parked
	 * sockets are read once the listeners serve, and records that find
	 * none end then.  Otherwise they end now.
	 */
	a->peek = (!table || inplace == NULL) && nseg > 0;
	free(inplace);
	if (!a->peek)
		sweep(a, now);
	log_mark("match");
	*ret_adopt = a;
}

/* Is fd the socket of n: a connected TCP socket with n's peer? */
static bool
same_peer(int fd, const struct node *n)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return n->peer.family == 4 &&
		    memcmp(n->peer.addr, &sin->sin_addr, 4) == 0 &&
		    n->peer.port == ntohs(sin->sin_port);
	if (ss.ss_family == AF_INET6)
		return n->peer.family == 6 &&
		    memcmp(n->peer.addr, &sin6->sin6_addr, 16) == 0 &&
		    n->peer.port == ntohs(sin6->sin6_port);
	return false;
}

/* Take one socket, or drop it and end its registration. */
static void
take(struct adopt *a, struct adopt_item *it, int64_t now)
{
	struct node *n = it->node;
	int family;

	a->by_fd[it->fd] = 0;
	if (n == NULL) {
		/* Ended meanwhile (stopped, or taken over): drop it. */
		close(it->fd);
		return;
	}
	if (sysd_classify(it->fd, &family) != SYSD_TCP_CONNECTED ||
	    (it->inplace && !same_peer(it->fd, n))) {
		log_warnx("dropping passed fd %d: not the connected socket of "
			  "registration %llu",
		    it->fd, (unsigned long long)n->id);
		registry_unregister(a->reg, n, REGISTRY_CLOSED, now);
		close(it->fd);
		a->sum->stale++;
	} else if (!socket_alive(it->fd)) {
		/* Gone while no daemon ran. */
		registry_unregister(a->reg, n, REGISTRY_CLOSED, now);
		close(it->fd);
		a->sum->gone++;
	} else if (net_adopt_registration(a->net, it->fd, n) < 0) {
		registry_unregister(a->reg, n, REGISTRY_ERROR, now);
		close(it->fd);
	} else {
		a->sum->restored++;
		if (!it->parked)
			persist_restored(a->p, n);
		return;
	}
	/* Stored on its own by an older epmdd: out of the store. */
	if (!it->parked && !it->inplace) {
		char name[32];

		persist_reg_name(n->id, name, sizeof(name));
		persist_drop_name(a->p, name);
	}
}

/* A socket read from a segment: its record's, or one to forget. */
static void
take_parked(struct adopt *a, uint64_t id, int fd, int seg, int64_t now)
{
	ssize_t k = find(a, id);
	struct node *n;

	if (k >= 0 && a->claimed[k]) {
		/* A second copy of a socket taken (a rewrite cut short). */
		close(fd);
		return;
	}
	if (k < 0 || (n = a->act[k]) == NULL) {
		/*
		 * Its registration ended before (a dead one, shut down then,
		 * or one that ended while it waited here): shut down, so that
		 * the copy left in the segment does not keep it open.
		 */
		(void)shutdown(fd, SHUT_RDWR);
		close(fd);
		return;
	}
	a->claimed[k] = true;
	n->fd = fd;
	/* Parked from now on: an end below shuts the socket down. */
	park_claim(a->park, n, seg);
	if (!socket_alive(fd)) {
		/* Gone while no daemon ran, or stray bytes came. */
		registry_unregister(a->reg, n, REGISTRY_CLOSED, now);
		close(fd);
		a->sum->gone++;
		return;
	}
	if (net_adopt_registration(a->net, fd, n) < 0) {
		registry_unregister(a->reg, n, REGISTRY_ERROR, now);
		close(fd);
		return;
	}
	a->sum->restored++;
}

bool
adopt_step(struct adopt *a, size_t budget, int64_t now)
{
	uint64_t ids[PARK_MSG_FDS];
	int fds[PARK_MSG_FDS], seg;
	size_t k, i;

	if (a == NULL)
		return true;
	while (a->next < a->n && budget > 0) {
		take(a, &a->items[a->next++], now);
		budget--;
	}
	if (a->next < a->n)
		return false;
	while (a->peek && budget > 0) {
		if ((k = park_peek(a->park, ids, fds, &seg)) == 0) {
			sweep(a, now);
			break;
		}
		for (i = 0; i < k; i++)
			take_parked(a, ids[i], fds[i], seg, now);
		budget -= k < budget ? k : budget;
	}
	return !a->peek;
}

void
adopt_forget(struct adopt *a, struct node *n)
{
	ssize_t k;
	size_t i;

	if (a != NULL && a->act != NULL && (k = find(a, n->id)) >= 0 &&
	    a->act[k] == n)
		a->act[k] = NULL;
	if (a == NULL || n->owner != NULL || n->fd < 0 ||
	    (size_t)n->fd >= a->nfd || (i = a->by_fd[n->fd]) == 0)
		return;
	if (a->items[i - 1].node == n)
		a->items[i - 1].node = NULL;
}

size_t
adopt_remaining(const struct adopt *a)
{
	/* Parked ones are counted as one until read. */
	return a == NULL ? 0 : a->n - a->next + (a->peek ? 1 : 0);
}

void
adopt_free(struct adopt *a)
{
	if (a == NULL)
		return;
	/* Stopping before every socket was taken: they stay in the store. */
	for (; a->next < a->n; a->next++)
		close(a->items[a->next].fd);
	free(a->items);
	free(a->by_fd);
	free(a->act_id);
	free(a->act);
	free(a->claimed);
	free(a);
}
