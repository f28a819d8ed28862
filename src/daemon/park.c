/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * park: the registration sockets in flight in a few socket pairs, so
 * that the descriptor store holds a segment, not a socket, per up to
 * PARK_SEGMENT_FDS registrations (Decision 22, doc/DECISIONS).  Two
 * segments are open at a time: "fresh" takes each new registration as a
 * message of its own; "dense" takes the sockets a rewrite moves, a
 * message of up to PARK_MSG_FDS.  A segment closed to new sockets is
 * rewritten into "dense" (and dropped) once a quarter of its sockets
 * are dead, or at once if it was fresh and holds few sockets a message;
 * one whose sockets are all dead is dropped.  An open one is closed
 * once a quarter of it, and at least PARK_DEAD_MIN sockets, are dead.  Every segment's reading
 * end is stored before a socket is sent into it, and dropped from the
 * store only after its live sockets are in another stored segment: a
 * crash at any point leaves every registration's socket in the store.
 */
#include "park.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "sysd.h"

struct seg {
	int rfd;		/* reading end: in the store, never read */
	int wfd;		/* writing end while open, else -1 */
	uint32_t key;		/* FDNAME "p<key>"; 0: a free slot */
	uint32_t parked;	/* sockets sent into it (or peeked) */
	uint32_t live;		/* of which still registered */
	uint32_t msgs;		/* messages in it */
	bool fresh;		/* one socket a message */
	bool peeked;		/* park_peek: read to its end */
	bool adopted;		/* passed by the previous process */
	bool broken;		/* not read whole: never dropped or rewritten */
};

struct park {
	struct registry *reg;
	struct seg seg[PARK_MAX_SEGMENTS];
	int fresh, dense;	/* open segments, -1 if none */
	uint32_t next_key;
	bool adopting;		/* until park_adopted: no rewrite */
	bool frozen;		/* park_freeze: no rewrite, no drop */
	size_t peek_seg;	/* park_peek's segment */
	struct log_limit limit;
};

/* Room for one message's SCM_RIGHTS, aligned for struct cmsghdr. */
union park_cmsg {
	char buf[CMSG_SPACE(PARK_MSG_FDS * sizeof(int))];
	struct cmsghdr align;
};

static const char base36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

void
park_name(uint32_t key, char *buf, size_t size)
{
	char digits[8];
	size_t n = 0, l;

	do {
		digits[n++] = base36[key % 36];
		key /= 36;
	} while (key > 0);
	l = strlen(PARK_PREFIX);
	if (size < l + n + 1)
		return;
	memcpy(buf, PARK_PREFIX, l);
	while (n > 0)
		buf[l++] = digits[--n];
	buf[l] = '\0';
}

uint32_t
park_key(const char *name)
{
	size_t plen = strlen(PARK_PREFIX), i;
	uint64_t v = 0;

	if (strncmp(name, PARK_PREFIX, plen) != 0 || name[plen] == '\0' ||
	    name[plen] == '0')
		return 0;
	for (i = plen; name[i] != '\0'; i++) {
		const char *d = strchr(base36, name[i]);

		if (d == NULL || (v = v * 36 + (uint64_t)(d - base36)) >
		    UINT32_MAX)
			return 0;
	}
	return (uint32_t)v;
}

struct park *
park_new(struct registry *reg)
{
	struct park *p = calloc(1, sizeof(*p));
	size_t i;

	if (p == NULL)
		return NULL;
	p->reg = reg;
	p->fresh = p->dense = -1;
	p->next_key = 1;
	for (i = 0; i < PARK_MAX_SEGMENTS; i++)
		p->seg[i].rfd = p->seg[i].wfd = -1;
	p->limit = (struct log_limit)LOG_LIMIT_INIT(1, 60,
	    "messages on registrations not kept for a restart");
	return p;
}

void
park_free(struct park *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < PARK_MAX_SEGMENTS; i++) {
		if (p->seg[i].rfd >= 0)
			close(p->seg[i].rfd);
		if (p->seg[i].wfd >= 0)
			close(p->seg[i].wfd);
	}
	free(p);
}

static int
free_slot(const struct park *p)
{
	size_t i;

	for (i = 0; i < PARK_MAX_SEGMENTS; i++)
		if (p->seg[i].key == 0)
			return (int)i;
	return -1;
}

/* A new open segment, stored before anything is sent into it. */
static int
seg_open(struct park *p, bool fresh)
{
	int sv[2], i = free_slot(p), size = PARK_SNDBUF, r;
	char name[16];
	struct seg *s;

	if (i < 0)
		return -EMFILE;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		sv) < 0)
		return -errno;
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	s = &p->seg[i];
	s->key = p->next_key++;
	if (p->next_key == 0)
		p->next_key = 1;
	park_name(s->key, name, sizeof(name));
	if ((r = sysd_fdstore_add(sv[0], name)) < 0) {
		close(sv[0]);
		close(sv[1]);
		s->key = 0;
		return r;
	}
	s->rfd = sv[0];
	s->wfd = sv[1];
	s->parked = s->live = s->msgs = 0;
	s->fresh = fresh;
	s->peeked = true;
	return i;
}

/* Drop segment i: out of the store, and its sockets with it. */
static void
seg_drop(struct park *p, int i)
{
	struct seg *s = &p->seg[i];
	char name[16];

	park_name(s->key, name, sizeof(name));
	sysd_fdstore_remove(name);
	close(s->rfd);
	if (s->wfd >= 0)
		close(s->wfd);
	if (p->fresh == i)
		p->fresh = -1;
	if (p->dense == i)
		p->dense = -1;
	memset(s, 0, sizeof(*s));
	s->rfd = s->wfd = -1;
}

static void seg_check(struct park *p, int i);

/* Close open segment *which to new sockets. */
static void
seg_seal(struct park *p, int *which)
{
	int i = *which;

	*which = -1;
	close(p->seg[i].wfd);
	p->seg[i].wfd = -1;
	seg_check(p, i);
}

/*
 * Send k nodes' sockets (k <= PARK_MSG_FDS) into the open segment
 * *which (opened, or sealed and replaced, as needed).  Returns 0 or a
 * negative errno.
 */
static int
seg_send(struct park *p, int *which, bool fresh, struct node **nodes,
    size_t k)
{
	uint64_t ids[PARK_MSG_FDS];
	union park_cmsg u;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	int *fds, tries, r = -EAGAIN;
	ssize_t sent;
	size_t j;
	struct seg *s;

	for (tries = 0; tries < 2; tries++) {
		/* A seal may rewrite into a new "dense" one: check again. */
		while (*which >= 0 &&
		    (p->seg[*which].msgs >= PARK_SEGMENT_MSGS ||
			p->seg[*which].parked + k > PARK_SEGMENT_FDS))
			seg_seal(p, which);
		if (*which < 0 && (r = seg_open(p, fresh)) >= 0)
			*which = r;
		if (*which < 0)
			return r;
		s = &p->seg[*which];
		memset(&mh, 0, sizeof(mh));
		memset(&u, 0, sizeof(u));
		for (j = 0; j < k; j++)
			ids[j] = nodes[j]->id;
		iov.iov_base = ids;
		iov.iov_len = k * sizeof(ids[0]);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(k * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(k * sizeof(int));
		fds = (int *)(void *)CMSG_DATA(cm);
		for (j = 0; j < k; j++)
			fds[j] = nodes[j]->fd;
		sent = sendmsg(s->wfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent > 0) {
			/* The descriptors went with the first byte. */
			s->parked += (uint32_t)k;
			s->live += (uint32_t)k;
			s->msgs++;
			for (j = 0; j < k; j++)
				nodes[j]->parked = (uint16_t)(*which + 1);
			if (sent != (ssize_t)iov.iov_len)
				seg_seal(p, which); /* nothing after it */
			return 0;
		}
		r = -errno;
		/* A stream socket takes a message with descriptors whole. */
		if (r != -EAGAIN && r != -ENOBUFS)
			return r;
		seg_seal(p, which);	/* full: the next one */
	}
	return -EAGAIN;
}

void
park_add(struct park *p, struct node *n)
{
	int r;

	if (p == NULL || n->fd < 0 || n->parked != 0)
		return;
	r = seg_send(p, &p->fresh, true, &n, 1);
	if (r < 0 && log_admit(&p->limit, LOG_WARNING))
		log_errno(LOG_WARNING, r,
		    "cannot keep the socket of registration %llu for a "
		    "restart (it survives an upgrade)",
		    (unsigned long long)n->id);
}

/* Send a rewrite's batch into "dense"; false (logged) on failure. */
static bool
rewrite_batch(struct park *p, struct seg *s, struct node **batch, size_t k)
{
	int r = seg_send(p, &p->dense, false, batch, k);

	if (r < 0) {
		log_errno(LOG_WARNING, r, "cannot rewrite a segment of parked "
					  "sockets");
		return false;
	}
	s->live -= s->live < k ? s->live : (uint32_t)k;
	return true;
}

/*
 * Move segment i's live sockets into "dense", then drop i.  On failure
 * i stays, and what moved is counted dead in it.
 */
static void
seg_rewrite(struct park *p, int i)
{
	struct node *batch[PARK_MSG_FDS], *n;
	struct seg *s = &p->seg[i];
	uint16_t mine = (uint16_t)(i + 1);
	size_t k = 0;

	for (n = registry_first_active(p->reg); n != NULL;
	     n = registry_next(n)) {
		if (n->parked != mine)
			continue;
		batch[k++] = n;
		if (k == PARK_MSG_FDS) {
			if (!rewrite_batch(p, s, batch, k))
				return;
			k = 0;
		}
	}
	if (k > 0 && !rewrite_batch(p, s, batch, k))
		return;
	seg_drop(p, i);
}

/* Drop or rewrite a closed segment as its dead ones require. */
static void
seg_check(struct park *p, int i)
{
	struct seg *s = &p->seg[i];
	uint32_t dead = s->parked - s->live;

	if (p->adopting || p->frozen || s->key == 0 || s->broken)
		return;
	if (s->wfd >= 0) {
		/* Open: closed to new sockets once enough of it is dead. */
		if (dead >= PARK_DEAD_MIN && dead * 4 >= s->parked)
			seg_seal(p, p->fresh == i ? &p->fresh : &p->dense);
		return;
	}
	if (s->live == 0)
		seg_drop(p, i);
	else if (dead * 4 >= s->parked ||
	    (s->fresh && s->parked < s->msgs * 16))
		seg_rewrite(p, i);
}

void
park_remove(struct park *p, struct node *n)
{
	int i;

	if (p == NULL || n->parked == 0)
		return;
	i = n->parked - 1;
	n->parked = 0;
	/* The copy in flight must not keep the connection open. */
	if (n->fd >= 0)
		(void)shutdown(n->fd, SHUT_RDWR);
	if (p->seg[i].live > 0)
		p->seg[i].live--;
	seg_check(p, i);
}

uint32_t
park_node_key(const struct park *p, const struct node *n)
{
	return p == NULL || n->parked == 0 ? 0 : p->seg[n->parked - 1].key;
}

int
park_adopt(struct park *p, int fd, uint32_t key)
{
	int i = free_slot(p), zero = 0;
	size_t j;

	for (j = 0; j < PARK_MAX_SEGMENTS; j++)
		if (p->seg[j].key == key)
			i = -1; /* a duplicate name: keep the first */
	if (i < 0 || key == 0) {
		close(fd);
		return -1;
	}
	p->adopting = true;
	memset(&p->seg[i], 0, sizeof(p->seg[i]));
	p->seg[i].rfd = fd;
	p->seg[i].wfd = -1;
	p->seg[i].key = key;
	p->seg[i].adopted = true;
	/* Read by peeking, each message once: the segment stays whole. */
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		log_errno(LOG_WARNING, -errno, "a passed segment of parked "
					       "sockets (%s%u)",
		    PARK_PREFIX, key);
		p->seg[i].peeked = p->seg[i].broken = true;
	}
	if (key >= p->next_key)
		p->next_key = key + 1 == 0 ? 1 : key + 1;
	return i;
}

static int
seg_by_key(const struct park *p, uint32_t key)
{
	size_t i;

	for (i = 0; key != 0 && i < PARK_MAX_SEGMENTS; i++)
		if (p->seg[i].key == key)
			return (int)i;
	return -1;
}

void
park_adopt_node(struct park *p, struct node *n, uint32_t key)
{
	int i;

	if (p == NULL || (i = seg_by_key(p, key)) < 0)
		return;
	/* Its dead ones are not known: counted from here on. */
	p->seg[i].peeked = true;
	p->seg[i].parked++;
	p->seg[i].live++;
	n->parked = (uint16_t)(i + 1);
}

/* Done with park_peek's segment; broken: not read whole. */
static void
peek_next(struct park *p, struct seg *s, bool broken)
{
	s->peeked = true;
	s->broken = s->broken || broken;
	p->peek_seg++;
}

size_t
park_peek(struct park *p, uint64_t *ids, int *fds, int *ret_seg)
{
	union park_cmsg u;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct seg *s;
	size_t nfd, nid, j;
	ssize_t r;

	while (p != NULL && p->peek_seg < PARK_MAX_SEGMENTS) {
		s = &p->seg[p->peek_seg];
		if (s->key == 0 || s->peeked) {
			p->peek_seg++;
			continue;
		}
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = ids;
		iov.iov_len = PARK_MSG_FDS * sizeof(*ids);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		r = recvmsg(s->rfd, &mh,
		    MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r == 0 || (r < 0 && errno == EAGAIN)) {
			peek_next(p, s, false); /* read to its end */
			continue;
		}
		if (r < 0) {
			log_errno(LOG_WARNING, -errno, "reading segment %s%u of "
						       "parked sockets; kept "
						       "as it is",
			    PARK_PREFIX, s->key);
			peek_next(p, s, true);
			continue;
		}
		s->msgs++;
		nfd = 0;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		     cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_RIGHTS) {
				size_t c = (cm->cmsg_len - CMSG_LEN(0)) /
				    sizeof(int);

				memcpy(fds + nfd, CMSG_DATA(cm),
				    c * sizeof(int));
				nfd += c;
			}
		if (mh.msg_flags & MSG_CTRUNC) {
			/*
			 * Not every socket of the message came (out of
			 * descriptors): the segment stays as it is, for a
			 * process that can hold them.
			 */
			for (j = 0; j < nfd; j++)
				close(fds[j]);
			log_warnx("segment %s%u of parked sockets cannot be "
				  "read whole (out of descriptors?); kept as "
				  "it is, its registrations are not restored",
			    PARK_PREFIX, s->key);
			peek_next(p, s, true);
			continue;
		}
		nid = (size_t)r / sizeof(*ids);
		s->parked += (uint32_t)nfd;
		if (nid != nfd || (size_t)r % sizeof(*ids) != 0) {
			/* Not one of ours: its sockets are not trusted. */
			for (j = 0; j < nfd; j++)
				close(fds[j]);
			log_warnx("segment %s%u of parked sockets holds a "
				  "message that is not one of ours",
			    PARK_PREFIX, s->key);
			continue;
		}
		*ret_seg = (int)p->peek_seg;
		return nfd;
	}
	return 0;
}

void
park_claim(struct park *p, struct node *n, int seg)
{
	p->seg[seg].live++;
	n->parked = (uint16_t)(seg + 1);
}

void
park_adopted(struct park *p)
{
	size_t i;

	if (p == NULL || !p->adopting)
		return;
	p->adopting = false;
	for (i = 0; i < PARK_MAX_SEGMENTS; i++) {
		p->seg[i].peeked = true;
		if (p->seg[i].key != 0)
			seg_check(p, (int)i);
	}
}

/* A segment passed by the previous process that park_tidy rewrites. */
static bool
tidy_small(const struct seg *s)
{
	return s->key != 0 && s->adopted && !s->broken && s->wfd < 0 &&
	    s->live > 0 && s->parked < PARK_SEGMENT_FDS / 4;
}

static bool
tidy_sparse(const struct seg *s)
{
	return tidy_small(s) && s->msgs > 16 && s->parked < s->msgs * 16;
}

void
park_tidy(struct park *p)
{
	size_t i, small = 0;

	if (p == NULL || p->adopting)
		return;
	for (i = 0; i < PARK_MAX_SEGMENTS; i++)
		small += tidy_small(&p->seg[i]);
	/* Two small ones or more are merged; one alone only if sparse. */
	for (i = 0; i < PARK_MAX_SEGMENTS; i++) {
		if ((small >= 2 && tidy_small(&p->seg[i])) ||
		    tidy_sparse(&p->seg[i]))
			seg_rewrite(p, (int)i);
		p->seg[i].adopted = false;
	}
}

void
park_freeze(struct park *p)
{
	if (p != NULL)
		p->frozen = true;
}

size_t
park_handover(const struct park *p, int *fds, uint32_t *keys, size_t max)
{
	size_t i, n = 0;

	for (i = 0; p != NULL && i < PARK_MAX_SEGMENTS && n < max; i++)
		if (p->seg[i].key != 0) {
			fds[n] = p->seg[i].rfd;
			keys[n++] = p->seg[i].key;
		}
	return n;
}
