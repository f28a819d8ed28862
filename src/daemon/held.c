/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * held: registrations held without a libuv handle each (Decision 19
 * (doc/DECISIONS)).  Nothing is ever written to a registration once its
 * reply is, and anything read on it ends it, so it needs no read buffer,
 * no write queue and no deadline: a record of 32 bytes (its node, its
 * descriptor, a list link) and an entry in one epoll set, watched by a
 * single uv_poll_t, instead of a connection with its uv_tcp_t (about 380
 * bytes).  A uv_poll_t each would still be 160 bytes, and libuv's own
 * table of watched descriptors would grow with the registrations'.  The
 * list is for the upgrade's table, for stopping and for freeing; the
 * epoll set is level-triggered, so a batch cut short at HELD_BATCH is
 * taken up again at the loop's next turn.
 *
 * A registration socket's file description outlives our descriptor: the
 * service manager's descriptor store holds a copy, and an in-place
 * upgrade keeps it across exec.  Closing our descriptor therefore does
 * not take it out of the epoll set (the kernel drops an entry only when
 * the description itself goes), so every record leaves the set
 * (EPOLL_CTL_DEL) before its descriptor is closed; otherwise the set
 * would report events for a freed record (070-restart under ASan sees
 * that use after free when the removal is left out).
 */
#include "held.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "util.h"

struct held {
	struct held_owner o; /* first: node->owner points here */
	TAILQ_ENTRY(held) link;
};

TAILQ_HEAD(held_list, held);

struct held_set {
	uv_poll_t poll; /* on epfd */
	struct registry *reg;
	struct held_list live;
	/* Closed during a batch: freed after it, as the batch may name them. */
	struct held_list dead;
	/* Let go (held_let_go): still registered, descriptor closed. */
	struct held_list gone;
	size_t n;
	int epfd;
	bool in_batch;
	bool stopped;
};

static void held_poll_cb(uv_poll_t *p, int status, int events);

/* The close callback of a set that never started. */
static void
held_abandon_cb(uv_handle_t *hd)
{
	struct held_set *s = hd->data;

	close(s->epfd);
	free(s);
}

int
held_new(uv_loop_t *loop, struct registry *reg, struct held_set **ret)
{
	struct held_set *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL)
		return -ENOMEM;
	s->reg = reg;
	TAILQ_INIT(&s->live);
	TAILQ_INIT(&s->dead);
	TAILQ_INIT(&s->gone);
	/* Close-on-exec: an upgrade's new image builds a set of its own. */
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		r = -errno;
		free(s);
		return r;
	}
	s->poll.data = s;
	if ((r = uv_poll_init(loop, &s->poll, s->epfd)) < 0) {
		close(s->epfd);
		free(s);
		return r;
	}
	if ((r = uv_poll_start(&s->poll, UV_READABLE, held_poll_cb)) < 0) {
		/* The handle is the loop's now: freed once it is closed. */
		uv_close((uv_handle_t *)&s->poll, held_abandon_cb);
		return r;
	}
	*ret = s;
	return 0;
}

struct held_owner *
held_add(struct held_set *s, int fd, struct node *n)
{
	struct epoll_event ev;
	struct held *h;

	if (s->stopped)
		return NULL;
	h = malloc(sizeof(*h));
	if (h == NULL) {
		log_warnx("out of memory for a registration's record");
		return NULL;
	}
	h->o.node = n;
	h->o.fd = fd;
	h->o.closing = false;
	h->o.is_conn = false;
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = h;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warn("cannot watch registration socket %d", fd);
		free(h);
		return NULL;
	}
	/*
	 * The descriptor stays open across an in-place upgrade at the same
	 * number (upgrade.c), so it loses close-on-exec now, once, rather
	 * than at the upgrade, which then costs nothing per registration
	 * (issue 17).  The only other exec, the upgrade's --version check,
	 * closes every inherited descriptor first.
	 */
	(void)fcntl(fd, F_SETFD, 0);
	TAILQ_INSERT_TAIL(&s->live, h, link);
	s->n++;
	registry_set_owner(s->reg, n, &h->o, fd);
	return &h->o;
}

void
held_close(struct held_set *s, struct held_owner *o,
    enum registry_reason reason)
{
	struct held *h = container_of(o, struct held, o);

	if (o->closing)
		return;
	o->closing = true;
	if (o->node != NULL) {
		struct node *n = o->node;

		o->node = NULL;
		registry_unregister(s->reg, n, reason, (int64_t)time(NULL));
	}
	if (o->fd >= 0) {
		/* Out of the set first: the store may keep the socket open. */
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, o->fd, NULL);
		close(o->fd);
		o->fd = -1;
		TAILQ_REMOVE(&s->live, h, link);
	} else
		TAILQ_REMOVE(&s->gone, h, link);
	s->n--;
	if (s->in_batch)
		TAILQ_INSERT_TAIL(&s->dead, h, link);
	else
		free(h);
}

/* Free every record of a list. */
static void
held_free_list(struct held_list *l)
{
	struct held *h;

	while ((h = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, h, link);
		free(h);
	}
}

/* A registration is readable: stray bytes, end-of-file or an error. */
static void
held_ready(struct held_set *s, struct held *h)
{
	uint8_t buf[HELD_PEEK];
	char peer[NET_ADDR_TEXT];
	ssize_t r;

	r = recv(h->o.fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (r > 0) {
		net_addr_text(&h->o.node->peer, peer);
		log_peer("%zd bytes of stray data on the registration of %s, "
			 "closing",
		    r, peer);
		held_close(s, &h->o, REGISTRY_STRAY);
	} else if (r == 0 ||
	    (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		held_close(s, &h->o, REGISTRY_CLOSED);
}

static void
held_poll_cb(uv_poll_t *p, int status, int events)
{
	struct held_set *s = p->data;
	struct epoll_event ev[HELD_BATCH];
	struct held *h;
	int n, i;

	(void)events;
	if (status < 0) {
		log_warnx("registrations' epoll set: %s", uv_strerror(status));
		return;
	}
	n = epoll_wait(s->epfd, ev, HELD_BATCH, 0);
	s->in_batch = true;
	for (i = 0; i < n; i++) {
		h = ev[i].data.ptr;
		/* Closed earlier in this batch (held_close): skip it. */
		if (!h->o.closing)
			held_ready(s, h);
	}
	s->in_batch = false;
	/* The records closed during the batch (held_close). */
	held_free_list(&s->dead);
}

size_t
held_count(const struct held_set *s)
{
	return s->n;
}

size_t
held_fds(const struct held_set *s, int *fds, struct node **nodes,
    size_t max)
{
	const struct held *h;
	size_t n = 0;

	for (h = TAILQ_FIRST(&s->live); h != NULL && n < max;
	     h = TAILQ_NEXT(h, link), n++) {
		fds[n] = h->o.fd;
		nodes[n] = h->o.node; /* a live record has its node */
	}
	return n;
}

bool
held_let_go(struct held_set *s, size_t budget)
{
	struct held *h;

	while (budget-- > 0 && (h = TAILQ_FIRST(&s->live)) != NULL) {
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, h->o.fd, NULL);
		close(h->o.fd);
		h->o.fd = -1;
		registry_set_owner(s->reg, h->o.node, &h->o, -1);
		TAILQ_REMOVE(&s->live, h, link);
		TAILQ_INSERT_TAIL(&s->gone, h, link);
	}
	return !TAILQ_EMPTY(&s->live);
}

void
held_stop(struct held_set *s)
{
	struct held *h, *tmp;

	if (s->stopped)
		return;
	s->stopped = true;
	TAILQ_FOREACH_SAFE(h, &s->live, link, tmp)
		held_close(s, &h->o, REGISTRY_SHUTDOWN);
	TAILQ_FOREACH_SAFE(h, &s->gone, link, tmp)
		held_close(s, &h->o, REGISTRY_SHUTDOWN);
	uv_close((uv_handle_t *)&s->poll, NULL);
}

void
held_free(struct held_set *s)
{
	if (s == NULL)
		return;
	/* Records left by a stop from inside a batch, or never stopped. */
	held_free_list(&s->dead);
	held_free_list(&s->live);
	held_free_list(&s->gone);
	close(s->epfd);
	free(s);
}
