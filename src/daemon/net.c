/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * net: listeners and connections on libuv.  Reads follow epmd_srv.c:
 * while the request length is unknown a read may take up to
 * CODEC_FIRST_READ bytes, after that exactly what is missing, so bytes
 * beyond a request are never read and a first read holding more than
 * one request closes the connection, as OTP does.  Most requests arrive
 * whole in one read and are decoded from a shared scratch buffer with
 * no allocation; a connection allocates only for a partial request.  A
 * registration leaves its connection for held.c once its reply is
 * written (conn_hold).
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "held.h"
#include "log.h"
#include "sockdiag.h"
#include "util.h"

/*
 * A connection answering its request.  One that registers stays one
 * only until its reply is written: it then becomes a record of held.c
 * (conn_hold).  h.node is the registration it holds meanwhile.
 */
struct conn {
	struct held_owner h;	/* first: the owner token (held.h) */
	struct net *net;
	TAILQ_ENTRY(conn) link; /* net->timeq, or net->keepq once registered */
	uint64_t deadline;	/* ms (uv_hrtime clock) for the request */
	uint8_t *buf;		/* partial request (want bytes), or NULL */
	uint16_t got;
	uint16_t want;		/* 0 while the length is unknown */
	uint16_t listen_port;
	uint8_t head;		/* the first byte, while got == 1 */
	bool is_local;
	bool in_list;
	bool shell;		/* on the stack: no libuv handle (yet) */
	bool replying;		/* a reply is queued, waiting for the peer */
	uint8_t after_write;	/* enum dispatch_fate once a reply is queued */
	bool waiting;		/* on net->waitq: a membership is looked up */
	TAILQ_ENTRY(conn) wlink;
	uint32_t uid;		/* the peer socket's owner, once learned */
	uint64_t inode;
	struct registry_addr peer;
	uv_tcp_t tcp;		/* last: a shell leaves it untouched */
};

TAILQ_HEAD(conn_list, conn);

struct listener {
	uv_poll_t poll;
	struct net *net;
	int fd;
	uint16_t port;
	char text[NET_ADDR_TEXT];
};

struct write_req {
	uv_write_t req;
	struct conn *conn;
	uint8_t data[];
};

struct net {
	uv_loop_t *loop;
	struct dispatch_ctx *dctx;
	struct net_config cfg;
	struct sockdiag *diag;
	struct listener *listeners[OPTIONS_MAX_LISTEN];
	size_t nlisteners;
	struct conn_list timeq; /* not registered, in deadline order */
	/* Registered, their reply not written yet (or not held: conn_hold). */
	struct conn_list keepq;
	struct held_set *held;	/* registrations whose reply is written */
	struct conn_list waitq;	/* ALIVE2 waiting for a group membership */
	uv_timer_t sweep;
	bool stopping;
	bool killed;
	bool draining;		/* not accepting; waiting for timeq to empty */
	uint64_t drain_deadline; /* ms */
	net_drained_fn *drained;
	void *drained_arg;
	int reserve_fd;		/* spare descriptor for shedding on EMFILE */
	time_t accept_logged;
	struct log_limit owner_log; /* notices of refused local owners */
	struct log_limit refusal_log; /* log_refusal's */
	/* conns and conns_peak: see conns_open. */
	struct net_stats stats;
	size_t nconns;		/* connections with a handle */
	struct wbuf out; /* reply being built, reused */
	uint8_t scratch[CODEC_INBUF_SIZE];
};

static void conn_close(struct conn *c, enum registry_reason reason);
static struct conn *shell_promote(struct conn *shell);
static void conn_process(struct conn *c, const uint8_t *frame, size_t len);
static void drain_check(struct net *net);

void
net_addr_text(const struct registry_addr *a, char buf[NET_ADDR_TEXT])
{
	char host[INET6_ADDRSTRLEN];

	if (a->family == 4) {
		inet_ntop(AF_INET, a->addr, host, sizeof(host));
		snprintf(buf, NET_ADDR_TEXT, "%s:%u", host, a->port);
	} else if (a->family == 6) {
		inet_ntop(AF_INET6, a->addr, host, sizeof(host));
		snprintf(buf, NET_ADDR_TEXT, "[%s]:%u", host, a->port);
	} else
		util_strlcpy(buf, "(unknown)", NET_ADDR_TEXT);
}

static void
addr_from_sockaddr(const struct sockaddr_storage *ss,
    struct registry_addr *ret)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	memset(ret, 0, sizeof(*ret));
	if (ss->ss_family == AF_INET) {
		ret->family = 4;
		memcpy(ret->addr, &sin->sin_addr, 4);
		ret->port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		ret->family = 6;
		memcpy(ret->addr, &sin6->sin6_addr, 16);
		ret->port = ntohs(sin6->sin6_port);
	}
}

/*
 * epmd_srv.c's local-peer rule: ::1, 127.0.0.0/8, or the same address
 * as our end of the connection.  An IPv4-mapped IPv6 peer (dual-stack
 * listener) is judged as the IPv4 address it carries.
 */
static bool
peer_is_local(const struct registry_addr *peer,
    const struct registry_addr *self)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	if (peer->family == 6 &&
	    memcmp(peer->addr, &in6addr_loopback, 16) == 0)
		return true;
	if (peer->family == 4 && peer->addr[0] == 127)
		return true;
	if (peer->family == 6 && memcmp(peer->addr, mapped, 12) == 0 &&
	    peer->addr[12] == 127)
		return true;
	if (peer->family == 0 || peer->family != self->family)
		return false;
	return memcmp(peer->addr, self->addr, peer->family == 4 ? 4 : 16) ==
	    0;
}

static uint64_t
now_ms(void)
{
	return uv_hrtime() / 1000000;
}

static int64_t
wall_seconds(void)
{
	return (int64_t)time(NULL);
}

/*
 * The refusals worth a ban: requests no Erlang node sends (malformed,
 * unknown, oversized, pipelined, never finished) and requests from where
 * they are not allowed (OTP's local-only rule, the access policy).  A
 * duplicate or bad name, a KILL refused and the connection limit are a
 * node's or the operator's business, or not one peer's doing.
 */
static bool
ban_worthy(enum dispatch_refusal why)
{
	switch (why) {
	case DISPATCH_MALFORMED:
	case DISPATCH_UNKNOWN_REQUEST:
	case DISPATCH_NON_LOCAL:
	case DISPATCH_BAD_SIZE:
	case DISPATCH_PIPELINED:
	case DISPATCH_TIMEOUT:
	case DISPATCH_POLICY:
		return true;
	default:
		return false;
	}
}

/*
 * The one stable line fail2ban reads (man/epmdd.8, LOGGING):
 *   refused REQUEST from ADDRESS port PORT: REASON
 * REQUEST is the request's name (PORT_PLEASE2_REQ...) or "connection"
 * when none was read, ADDRESS the peer's address (an IPv4-mapped one as
 * IPv4), REASON a status counter's name.  The journal gets EPMD_EVENT=
 * refused, EPMD_PEER_ADDR, EPMD_PEER_PORT, EPMD_REQUEST and EPMD_REASON.
 */
static void
log_refusal(struct net *net, const struct registry_addr *peer, int tag,
    enum dispatch_refusal why)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };
	char host[INET6_ADDRSTRLEN] = "(unknown)", port[8];
	const char *request = tag < 0 ? "connection"
				      : dispatch_tag_name((uint8_t)tag);
	const char *reason = why == DISPATCH_POLICY
	    ? "access_policy"
	    : dispatch_refusal_name(why);
	struct log_field f[5];

	if (!ban_worthy(why) || !log_admit(&net->refusal_log, LOG_NOTICE))
		return;
	if (peer->family == 4 ||
	    (peer->family == 6 && memcmp(peer->addr, mapped, 12) == 0))
		inet_ntop(AF_INET, peer->family == 4 ? peer->addr
						     : peer->addr + 12,
		    host, sizeof(host));
	else if (peer->family == 6)
		inet_ntop(AF_INET6, peer->addr, host, sizeof(host));
	snprintf(port, sizeof(port), "%u", peer->port);
	f[0] = (struct log_field) { "EPMD_EVENT", "refused" };
	f[1] = (struct log_field) { "EPMD_PEER_ADDR", host };
	f[2] = (struct log_field) { "EPMD_PEER_PORT", port };
	f[3] = (struct log_field) { "EPMD_REQUEST", request };
	f[4] = (struct log_field) { "EPMD_REASON", reason };
	log_fields(LOG_NOTICE, f, ARRAY_SIZE(f), "refused %s from %s port %s: "
	    "%s", request, host, port, reason);
}

/* Count a refusal decided here and tell the watchers. */
static void
refused(struct net *net, const struct registry_addr *peer,
    enum dispatch_refusal why)
{
	struct dispatch_result res;

	log_refusal(net, peer, -1, why);
	net->dctx->stats.refused[why]++;
	if (net->cfg.on_refused == NULL)
		return;
	memset(&res, 0, sizeof(res));
	res.fate = DISPATCH_CLOSE;
	res.refusal = why;
	net->cfg.on_refused(net->cfg.arg, &res, peer);
}

/* ---------------------------------------------------------- timeouts */

static void sweep_cb(uv_timer_t *t);

/* (Re)arm the sweep for the oldest pending request, if any. */
static void
sweep_arm(struct net *net)
{
	struct conn *c = TAILQ_FIRST(&net->timeq);
	uint64_t now;

	uint64_t due;

	if (c == NULL || net->stopping)
		return;
	now = now_ms();
	due = c->deadline;
	if (net->draining && net->drain_deadline < due)
		due = net->drain_deadline;
	/* +1: a uv timer may fire up to a millisecond early in real time. */
	uv_timer_start(&net->sweep, sweep_cb, due > now ? due - now + 1 : 0, 0);
}

static void
sweep_cb(uv_timer_t *t)
{
	struct net *net = t->data;
	struct conn *c, *tmp;
	char peer[NET_ADDR_TEXT];
	uint64_t now = now_ms();

	if (net->draining && TAILQ_EMPTY(&net->timeq)) {
		drain_check(net);
		return;
	}
	if (net->draining && now >= net->drain_deadline) {
		/* Past the drain bound: whatever is left is closed. */
		TAILQ_FOREACH_SAFE(c, &net->timeq, link, tmp)
			conn_close(c, REGISTRY_CLOSED);
		drain_check(net);
		return;
	}
	while ((c = TAILQ_FIRST(&net->timeq)) != NULL && c->deadline <= now) {
		net_addr_text(&c->peer, peer);
		if (c->replying)
			log_peer("closing connection from %s: reply not taken "
				 "within %u s",
			    peer, net->cfg.packet_timeout);
		else
			log_peer("closing connection from %s: no complete "
				 "request within %u s (%u bytes received)",
			    peer, net->cfg.packet_timeout, c->got);
		refused(net, &c->peer, DISPATCH_TIMEOUT);
		conn_close(c, REGISTRY_CLOSED);
	}
	sweep_arm(net);
}

/* ---------------------------------------------------------- connections */

static void
conn_close_cb(uv_handle_t *h)
{
	struct conn *c = h->data;

	free(c->buf);
	free(c);
}

static void
conn_unlink(struct conn *c)
{
	struct net *net = c->net;

	if (!c->in_list)
		return;
	if (c->h.node != NULL)
		TAILQ_REMOVE(&net->keepq, c, link);
	else
		TAILQ_REMOVE(&net->timeq, c, link);
	c->in_list = false;
}

/*
 * Close a connection; idempotent.  A registration it holds ends with
 * reason first (OTP's node_unreg_sock).
 */
static void
conn_close(struct conn *c, enum registry_reason reason)
{
	struct net *net = c->net;

	if (c->h.closing)
		return;
	c->h.closing = true;
	conn_unlink(c);
	if (c->waiting) {
		TAILQ_REMOVE(&net->waitq, c, wlink);
		c->waiting = false;
	}
	if (c->h.node != NULL) {
		struct node *n = c->h.node;

		c->h.node = NULL;
		registry_unregister(net->dctx->reg, n, reason, wall_seconds());
	}
	if (c->shell) {
		/* Never had a handle: just the descriptor. */
		close(c->h.fd);
		return;
	}
	net->nconns--;
	uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
	drain_check(net);
}

/*
 * A connection registers n: no deadline from now on, and any later
 * byte ends it.  It is held once its reply is written (conn_hold); until
 * then, or if it cannot be, an in-place upgrade passes its descriptor
 * on as any registration's (net_registration_fds), which must therefore
 * not be close-on-exec (see held_add).
 */
static void
keepq_insert(struct conn *c, struct node *n)
{
	conn_unlink(c);
	c->h.node = n;
	TAILQ_INSERT_TAIL(&c->net->keepq, c, link);
	c->in_list = true;
	(void)fcntl(c->h.fd, F_SETFD, 0);
}

/*
 * Connections open, as epmdctl status counts them and the ceiling
 * bounds them: those with a handle and the held registrations, which
 * are connections to their peers all the same.
 */
static size_t
conns_open(const struct net *net)
{
	return net->nconns + held_count(net->held);
}

static void
conns_note_peak(struct net *net)
{
	size_t n = conns_open(net);

	if (n > net->stats.conns_peak)
		net->stats.conns_peak = n;
}

/*
 * Close the holder (a held record or a connection) of a registration
 * that has already ended in the registry.
 */
static void
owner_drop(struct net *net, struct held_owner *o, enum registry_reason reason)
{
	struct conn *c;

	if (o == NULL || o->closing)
		return;
	if (!o->is_conn) {
		o->node = NULL;
		held_close(net->held, o, reason);
		return;
	}
	c = container_of(o, struct conn, h);
	conn_unlink(c); /* from keepq, by its node */
	o->node = NULL;
	conn_close(c, reason);
}

/*
 * The reply to c's registration is written: from now on nothing is
 * written to c and anything read ends it, so it leaves its connection
 * for a record of held.c (Decision 19 (doc/DECISIONS)).  A shell hands
 * its descriptor over and never gets a handle.  A connection that has
 * one (its request or its reply took more than one read or write) keeps
 * a duplicate of its descriptor; libuv closes its own with the handle.
 * Should either fail, c stays the registration's connection, as before
 * held.c: it costs more memory, but nothing is lost.
 */
static void
conn_hold(struct conn *c)
{
	struct net *net = c->net;
	struct node *n = c->h.node;
	int fd;

	if (c->shell) {
		if (held_add(net->held, c->h.fd, n) == NULL) {
			shell_promote(c);
			return;
		}
		c->h.node = NULL;
		c->h.closing = true; /* its descriptor is the record's */
		conns_note_peak(net);
		return;
	}
	/*
	 * Not close-on-exec (dup's descriptors never are): held.c wants
	 * it so for an in-place upgrade, see held_add.
	 */
	fd = dup(c->h.fd);
	if (fd < 0)
		return;
	if (held_add(net->held, fd, n) == NULL) {
		close(fd);
		return;
	}
	/* The record owns the registration now: closing c ends nothing. */
	conn_unlink(c);
	c->h.node = NULL;
	conn_close(c, REGISTRY_CLOSED);
}

/* The fate of a connection once its reply has been written. */
static void
conn_written(struct conn *c)
{
	struct net *net = c->net;

	switch ((enum dispatch_fate)c->after_write) {
	case DISPATCH_REPLY_KEEP:
		conn_hold(c);
		break;
	case DISPATCH_REPLY_KILL:
		conn_close(c, REGISTRY_SHUTDOWN);
		if (!net->killed) {
			net->killed = true;
			net->cfg.on_kill(net->cfg.arg);
		}
		break;
	default:
		conn_close(c, REGISTRY_CLOSED);
		break;
	}
}

static void
conn_write_cb(uv_write_t *req, int status)
{
	struct write_req *w = container_of(req, struct write_req, req);
	struct conn *c = w->conn;
	char peer[NET_ADDR_TEXT];

	free(w);
	if (c->h.closing)
		return;
	if (status < 0) {
		net_addr_text(&c->peer, peer);
		log_peer("write to %s failed: %s", peer, uv_strerror(status));
		/*
		 * Decision 5 (doc/DECISIONS): only this connection's own
		 * registration ends.
		 */
		conn_close(c, REGISTRY_ERROR);
		return;
	}
	conn_written(c);
}

/*
 * Send a reply in as few writes as the kernel allows: try it at once;
 * queue what is left.  fate is carried out once all of it is written.
 */
static void
conn_send(struct conn *c, uint8_t *p, size_t len, unsigned writes,
    enum dispatch_fate fate)
{
	struct net *net = c->net;
	struct write_req *w;
	char peer[NET_ADDR_TEXT];
	uv_buf_t b;
	size_t off = 0;
	int r;

	if (net->cfg.delay_write > 0)
		sleep(net->cfg.delay_write * writes);
	c->after_write = (uint8_t)fate;
	if (c->shell) {
		ssize_t n = send(c->h.fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		r = n >= 0 ? (int)n
		    : errno == EAGAIN || errno == EWOULDBLOCK ? UV_EAGAIN
							     : -errno;
	} else {
		b = uv_buf_init((char *)p, (unsigned)len);
		r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	}
	if (r >= 0 && (size_t)r == len) {
		conn_written(c);
		return;
	}
	if (r < 0 && r != UV_EAGAIN) {
		net_addr_text(&c->peer, peer);
		log_peer("write to %s failed: %s", peer, uv_strerror(r));
		conn_close(c, REGISTRY_ERROR);
		return;
	}
	if (r > 0)
		off = (size_t)r;
	if (c->shell) {
		/* The rest waits for the socket: it needs a handle. */
		struct conn *full = shell_promote(c);

		if (full == NULL)
			return;
		if (fate != DISPATCH_REPLY_KEEP)
			uv_read_stop((uv_stream_t *)&full->tcp);
		full->after_write = (uint8_t)fate;
		c = full;
	}
	c->replying = true;
	w = malloc(sizeof(*w) + len - off);
	if (w == NULL) {
		log_warnx("out of memory for a reply, closing connection");
		conn_close(c, REGISTRY_ERROR);
		return;
	}
	w->conn = c;
	memcpy(w->data, p + off, len - off);
	b = uv_buf_init((char *)w->data, (unsigned)(len - off));
	r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_write_cb);
	if (r < 0) {
		free(w);
		net_addr_text(&c->peer, peer);
		log_peer("write to %s failed: %s", peer, uv_strerror(r));
		conn_close(c, REGISTRY_ERROR);
	}
}

static bool
holder_gone(void *arg, void *owner)
{
	const struct held_owner *o = owner;
	uint8_t byte;
	ssize_t r;

	(void)arg;
	/*
	 * No owner yet: a registration restored at start-up whose socket
	 * adopt.c has not taken (it will within milliseconds, and ends it
	 * then if its node is gone); until then the name is held.
	 */
	if (o == NULL)
		return false;
	if (o->closing)
		return true;
	/* Let go at a stop (held_let_go): registered until the exit. */
	if (o->fd < 0)
		return false;
	/*
	 * End-of-file, a reset, or stray bytes waiting unread: each ends
	 * the registration as soon as it is read, so the name is free.
	 */
	r = recv(o->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r >= 0)
		return true;
	return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/*
 * Who owns the socket at the other end of connection owner: asked of
 * the kernel for a registration of an owned name (dispatch decides).
 */
static int
peer_owner(void *arg, void *owner, uint32_t *ret_uid, uint64_t *ret_inode)
{
	struct net *net = arg;
	const struct held_owner *o = owner;

	return sockdiag_peer_owner(net->diag, o->fd, ret_uid, ret_inode);
}

/*
 * An ALIVE2 whose answer hangs on a group membership being looked up
 * (off the loop): keep the request (frame, len bytes) and the uid
 * learned, and wait, reading only to see the peer go or send more;
 * net_member_ready hands it to dispatch again.  The request's deadline
 * still holds.
 */
static void
conn_wait(struct conn *c, const uint8_t *frame, size_t len,
    const struct dispatch_result *res)
{
	struct net *net = c->net;

	if (c->shell && (c = shell_promote(c)) == NULL)
		return;
	if (c->buf == NULL) {
		if ((c->buf = malloc(len)) == NULL) {
			log_warnx("out of memory for a request, closing "
				  "connection");
			conn_close(c, REGISTRY_CLOSED);
			return;
		}
		memcpy(c->buf, frame, len);
	}
	c->got = c->want = (uint16_t)len;
	c->uid = res->uid;
	c->inode = res->inode;
	c->waiting = true;
	TAILQ_INSERT_TAIL(&net->waitq, c, wlink);
}

/* The first connection in the wait queue for uid's groups, or NULL. */
static struct conn *
first_waiting(struct net *net, uint32_t uid)
{
	struct conn *c;

	TAILQ_FOREACH(c, &net->waitq, wlink)
		if (c->uid == uid)
			return c;
	return NULL;
}

void
net_member_ready(struct net *net, uint32_t uid)
{
	struct conn *c;
	size_t n = 0, i;

	/*
	 * As many as wait for uid now, one at a time from the head: one
	 * that has to wait again goes to the tail, and handling one may
	 * close others.
	 */
	TAILQ_FOREACH(c, &net->waitq, wlink)
		n += c->uid == uid;
	for (i = 0; i < n && (c = first_waiting(net, uid)) != NULL; i++) {
		TAILQ_REMOVE(&net->waitq, c, wlink);
		c->waiting = false;
		conn_process(c, c->buf, c->want);
	}
}

/*
 * A local peer was refused a name by an ownership rule.  Its node only
 * fails to start distribution (RabbitMQ's tools say "nodistribution"),
 * so this is a notice, not peer-caused debug: the operator has to see
 * which rule refused which uid.  Rate-limited all the same, as any local
 * user can repeat it.  Other hosts' attempts stay at debug (log_peer).
 */
static void
log_not_owner(struct net *net, const struct dispatch_result *res,
    const char *peer, const char *rule)
{
	char name[LOG_NAME_SIZE], uid[16];
	struct log_field f[4];
	size_t nf = 0;

	util_escape(name, sizeof(name), res->name, res->nlen);
	f[nf++] = (struct log_field) { "EPMD_EVENT", "refused" };
	f[nf++] = (struct log_field) { "EPMD_NODE", name };
	f[nf++] = (struct log_field) { "EPMD_PEER", peer };
	if (res->uid != REGISTRY_UID_UNKNOWN) {
		snprintf(uid, sizeof(uid), "%u", res->uid);
		f[nf++] = (struct log_field) { "EPMD_UID", uid };
	}
	log_limited(&net->owner_log, LOG_NOTICE, f, nf,
	    "refused to register '%s' from %s: %s", name, peer, rule);
}

/* Handle one complete request (frame includes the length prefix). */
static void
conn_process(struct conn *c, const uint8_t *frame, size_t len)
{
	struct net *net = c->net;
	struct dispatch_peer peer;
	struct dispatch_result res;
	char text[NET_ADDR_TEXT];

	memset(&peer, 0, sizeof(peer));
	peer.owner = &c->h;
	peer.fd = c->h.fd;
	peer.is_local = c->is_local;
	peer.listen_port = c->listen_port;
	peer.uid = c->uid;
	peer.inode = c->inode;
	peer.addr = c->peer;
	if (log_get_verbosity() >= 2) {
		/* Before dispatch, so that it precedes what the request does. */
		net_addr_text(&c->peer, text);
		log_trace("got %s (%zu bytes) from %s",
		    dispatch_tag_name(frame[2]), len - 2, text);
	}
	net->out.len = 0;
	dispatch_request(net->dctx, &peer, frame + 2, len - 2, wall_seconds(),
	    &net->out, &res);
	if (res.fate == DISPATCH_WAIT) {
		conn_wait(c, frame, len, &res);
		return;
	}
	/* Its registration has already ended in the registry. */
	owner_drop(net, res.released, REGISTRY_CLOSED);
	if (res.refusal != DISPATCH_OK) {
		char rule[256];

		net_addr_text(&c->peer, text);
		dispatch_rule_text(&res, rule, sizeof(rule));
		log_refusal(net, &c->peer, res.tag, res.refusal);
		if (res.refusal == DISPATCH_NOT_OWNER && c->is_local)
			log_not_owner(net, &res, text, rule);
		else
			log_peer("%s from %s: %s (%s%s%s)",
			    dispatch_tag_name(res.tag), text,
			    res.why != NULL ? res.why : "refused",
			    res.fate == DISPATCH_CLOSE ? "closed"
						       : "error reply",
			    rule[0] != '\0' ? "; " : "", rule);
		if (net->cfg.on_refused != NULL)
			net->cfg.on_refused(net->cfg.arg, &res, &c->peer);
	}
	/* The request (and res.name in it) is not needed past here. */
	if (c->buf != NULL) {
		free(c->buf);
		c->buf = NULL;
	}
	if (res.fate == DISPATCH_CLOSE) {
		conn_close(c, REGISTRY_CLOSED);
		return;
	}
	if (res.fate == DISPATCH_REPLY_KEEP && c->shell)
		c->h.node = res.node; /* held once its reply is written */
	else if (res.fate == DISPATCH_REPLY_KEEP)
		keepq_insert(c, res.node);
	else if (!c->shell)
		uv_read_stop((uv_stream_t *)&c->tcp);
	conn_send(c, net->out.p, net->out.len, res.writes, res.fate);
}

static void
conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	struct net *net = c->net;

	(void)suggested;
	if (c->h.node != NULL || c->waiting) {
		/* Any byte on a registration ends it; read a few to see. */
		*buf = uv_buf_init((char *)net->scratch, 64);
	} else if (c->want == 0) {
		/* Length unknown: one read of up to INBUF_SIZE-1 bytes. */
		if (c->got > 0)
			net->scratch[0] = c->head;
		*buf = uv_buf_init((char *)net->scratch + c->got,
		    CODEC_FIRST_READ - c->got);
	} else
		*buf = uv_buf_init((char *)c->buf + c->got,
		    (unsigned)(c->want - c->got));
}

/*
 * The first bytes of a request, total of them in net->scratch, on a
 * connection whose request length is not known yet: OTP's framing.  A
 * whole request is answered; a part is kept for the rest (a shell gets
 * its handle for that); a bad length or more bytes than the request
 * holds closes the connection.
 */
static void
first_bytes(struct conn *c, size_t total)
{
	struct net *net = c->net;
	char peer[NET_ADDR_TEXT];
	ssize_t fs = codec_frame_size(net->scratch, total);

	if (fs < 0 || (fs > 0 && total > (size_t)fs)) {
		net_addr_text(&c->peer, peer);
		if (fs < 0)
			log_peer("invalid packet size (%u) from %s, closing",
			    (unsigned)(net->scratch[0] << 8 | net->scratch[1]),
			    peer);
		else
			log_peer("got %zu bytes in packet from %s, expected "
				 "%zd, closing",
			    total, peer, fs);
		refused(net, &c->peer,
		    fs < 0 ? DISPATCH_BAD_SIZE : DISPATCH_PIPELINED);
		conn_close(c, REGISTRY_CLOSED);
		return;
	}
	if (fs > 0 && total == (size_t)fs) {
		if (c->shell)
			net->stats.at_once++;
		conn_process(c, net->scratch, total);
		return;
	}
	/* Part of a request: the rest comes through libuv. */
	if (c->shell && (c = shell_promote(c)) == NULL)
		return;
	if (fs == 0) {
		c->head = net->scratch[0];
		c->got = (uint16_t)total;
		return;
	}
	c->buf = malloc((size_t)fs);
	if (c->buf == NULL) {
		log_warnx("out of memory for a request, closing connection");
		conn_close(c, REGISTRY_CLOSED);
		return;
	}
	memcpy(c->buf, net->scratch, total);
	c->got = (uint16_t)total;
	c->want = (uint16_t)fs;
}

static void
conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	char peer[NET_ADDR_TEXT];

	(void)buf;
	if (nread == 0 || c->h.closing)
		return;
	if (nread < 0) {
		if (c->h.node == NULL && (c->got > 0 || nread != UV_EOF)) {
			net_addr_text(&c->peer, peer);
			log_peer("connection from %s ended after %u of %u bytes"
				 ": %s",
			    peer, c->got, c->want, uv_err_name((int)nread));
		}
		conn_close(c, REGISTRY_CLOSED);
		return;
	}
	if (c->h.node != NULL) {
		net_addr_text(&c->peer, peer);
		log_peer("%zd bytes of stray data on the registration of %s, "
			 "closing",
		    nread, peer);
		conn_close(c, REGISTRY_STRAY);
		return;
	}
	if (c->waiting) {
		/* More than one request: closed, as OTP closes it. */
		net_addr_text(&c->peer, peer);
		log_peer("%zd bytes after a request from %s, closing", nread,
		    peer);
		refused(c->net, &c->peer, DISPATCH_PIPELINED);
		conn_close(c, REGISTRY_CLOSED);
		return;
	}
	if (c->want > 0) {
		c->got = (uint16_t)(c->got + nread);
		if (c->got == c->want)
			conn_process(c, c->buf, c->want);
		return;
	}

	first_bytes(c, c->got + (size_t)nread);
}

/* ---------------------------------------------------------- accepting */

/* The scope (interface) of an IPv6 address, 0 for none or IPv4. */
static uint32_t
sockaddr_scope(const struct sockaddr_storage *ss)
{
	if (ss->ss_family != AF_INET6)
		return 0;
	return ((const struct sockaddr_in6 *)(const void *)ss)->sin6_scope_id;
}

/*
 * Who is at the other end (peer, from accept), and is it local?  Our
 * own address matters only for peers that are not loopback.  A scoped
 * (link-local) address is the same address only on the same interface,
 * so the scopes must match too; for a connection between the host's own
 * addresses they always do.
 */
static void
conn_facts(int fd, const struct sockaddr_storage *peer,
    struct registry_addr *ret_peer, bool *ret_local)
{
	struct sockaddr_storage ss;
	struct registry_addr self;
	socklen_t len;

	addr_from_sockaddr(peer, ret_peer);
	memset(&self, 0, sizeof(self));
	*ret_local = peer_is_local(ret_peer, &self);
	if (!*ret_local) {
		uint32_t scope = sockaddr_scope(peer);

		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
			addr_from_sockaddr(&ss, &self);
			*ret_local = peer_is_local(ret_peer, &self) &&
			    sockaddr_scope(&ss) == scope;
		}
	}
}

/*
 * Wrap a connected socket in a libuv-driven connection: one that did
 * not answer at once (its request, or its reply, came in parts).  Takes
 * the descriptor: on failure it is closed.
 */
static struct conn *
conn_open(struct net *net, int fd, uint16_t listen_port,
    const struct registry_addr *peer, bool is_local)
{
	struct conn *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_warnx("out of memory for a connection, closing it");
		close(fd);
		return NULL;
	}
	c->net = net;
	c->tcp.data = c;
	c->h.fd = fd;
	c->h.is_conn = true;
	c->uid = REGISTRY_UID_UNKNOWN;
	c->listen_port = listen_port;
	c->peer = *peer;
	c->is_local = is_local;
	uv_tcp_init(net->loop, &c->tcp);
	if (uv_tcp_open(&c->tcp, fd) < 0) {
		close(fd);
		c->h.closing = true;
		uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
		return NULL;
	}
	net->nconns++;
	conns_note_peak(net);
	/* Rounded up, so that no connection is closed a moment early. */
	c->deadline = now_ms() + 1 + (uint64_t)net->cfg.packet_timeout * 1000;
	TAILQ_INSERT_TAIL(&net->timeq, c, link);
	c->in_list = true;
	if (!uv_is_active((uv_handle_t *)&net->sweep))
		sweep_arm(net);
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb,
		conn_read_cb) < 0) {
		conn_close(c, REGISTRY_CLOSED);
		return NULL;
	}
	return c;
}

/*
 * A shell with more to read, or a reply to finish, gets a handle; one
 * that holds a registration passes it on (the registry learns its new
 * owner).  The shell itself is done with.
 */
static struct conn *
shell_promote(struct conn *shell)
{
	struct net *net = shell->net;
	struct node *n = shell->h.node;
	struct conn *c = conn_open(net, shell->h.fd, shell->listen_port,
	    &shell->peer, shell->is_local);

	shell->h.node = NULL;
	shell->h.closing = true;
	if (c == NULL) {
		if (n != NULL)
			registry_unregister(net->dctx->reg, n, REGISTRY_ERROR,
			    wall_seconds());
		return NULL;
	}
	if (n != NULL) {
		keepq_insert(c, n);
		registry_set_owner(net->dctx->reg, n, &c->h, c->h.fd);
	}
	return c;
}

/*
 * Serve a connection just accepted, without a libuv handle when the
 * request is already there whole (most lookups from loopback): read
 * it, answer it, close.  Anything slower gets a handle.  The read is
 * OTP's first read (up to CODEC_FIRST_READ bytes), so the framing rules
 * are those of net's other path.
 */
static void
serve_accepted(struct net *net, int fd, const struct sockaddr_storage *ss,
    uint16_t listen_port)
{
	struct conn shell;
	char peer[NET_ADDR_TEXT];
	ssize_t n;

	/* Everything but the handle, which a shell never uses. */
	memset(&shell, 0, offsetof(struct conn, tcp));
	shell.net = net;
	shell.h.fd = fd;
	shell.h.is_conn = true;
	shell.uid = REGISTRY_UID_UNKNOWN; /* not 0: that is root */
	shell.listen_port = listen_port;
	shell.shell = true;
	conn_facts(fd, ss, &shell.peer, &shell.is_local);
	n = read(fd, net->scratch, CODEC_FIRST_READ);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		conn_open(net, fd, listen_port, &shell.peer, shell.is_local);
		return;
	}
	if (n <= 0) {
		if (n < 0) {
			net_addr_text(&shell.peer, peer);
			log_peer("read from %s failed: %s", peer,
			    strerror(errno));
		}
		close(fd);
		return;
	}
	first_bytes(&shell, (size_t)n);
}

/*
 * Out of descriptors: give back the reserve, accept and close what is
 * pending (those clients see a close instead of a hang), take the
 * reserve again.  Returns how many were shed.
 */
static unsigned
shed_pending(struct net *net, struct listener *l)
{
	unsigned n = 0;
	int fd;

	if (net->reserve_fd >= 0) {
		close(net->reserve_fd);
		net->reserve_fd = -1;
	}
	while (n < NET_ACCEPT_BATCH &&
	    (fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		close(fd);
		n++;
	}
	net->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return n;
}

static void
accept_failed(struct net *net, struct listener *l, int err)
{
	unsigned shed = 0;
	time_t now;

	if (err == EMFILE || err == ENFILE)
		shed = shed_pending(net, l);
	net->stats.accept_errors++;
	net->dctx->stats.refused[DISPATCH_CONN_LIMIT] += shed;
	now = time(NULL);
	if (now != net->accept_logged) {
		net->accept_logged = now;
		log_warnx("accept on %s failed: %s, shed %u pending "
			  "connection%s",
		    l->text, strerror(err), shed, shed == 1 ? "" : "s");
	}
}

/* Accept and serve up to NET_ACCEPT_BATCH pending connections. */
static void
listener_accept(struct listener *l)
{
	struct net *net = l->net;
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned i;
	int fd;

	/* A bounded batch per wake-up keeps the loop fair to readers. */
	for (i = 0; i < NET_ACCEPT_BATCH && !net->stopping; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO)
				continue;
			accept_failed(net, l, errno);
			return;
		}
		if (conns_open(net) >= net->cfg.max_conns) {
			struct registry_addr peer;

			close(fd);
			addr_from_sockaddr(&ss, &peer);
			refused(net, &peer, DISPATCH_CONN_LIMIT);
			log_peer("connection limit (%lu) reached, closed a new "
				 "connection on %s",
			    net->cfg.max_conns, l->text);
			continue;
		}
		net->stats.accepted++;
		serve_accepted(net, fd, &ss, l->port);
	}
}

static void
listener_poll_cb(uv_poll_t *p, int status, int events)
{
	struct listener *l = p->data;

	(void)events;
	if (status < 0) {
		log_warnx("listener %s: %s", l->text, uv_strerror(status));
		return;
	}
	/* OTP sleeps once per wake-up of its select() loop. */
	if (l->net->cfg.delay_accept > 0)
		sleep(l->net->cfg.delay_accept);
	listener_accept(l);
}

/* ---------------------------------------------------------- listeners */

static void
listener_close_cb(uv_handle_t *h)
{
	struct listener *l = h->data;

	close(l->fd);
	free(l);
}

/* Start polling a listening socket; takes fd. */
static int
listener_add(struct net *net, int fd)
{
	struct sockaddr_storage ss;
	struct registry_addr a;
	struct listener *l;
	socklen_t len = sizeof(ss);
	int r;

	if (net->nlisteners >= ARRAY_SIZE(net->listeners)) {
		close(fd);
		return -EMFILE;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		close(fd);
		return -ENOMEM;
	}
	l->net = net;
	l->fd = fd;
	l->poll.data = l;
	memset(&a, 0, sizeof(a));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_from_sockaddr(&ss, &a);
	l->port = a.port;
	net_addr_text(&a, l->text);
	r = uv_poll_init_socket(net->loop, &l->poll, fd);
	if (r < 0) {
		close(fd);
		free(l);
		return r;
	}
	r = uv_poll_start(&l->poll, UV_READABLE, listener_poll_cb);
	if (r < 0) {
		uv_close((uv_handle_t *)&l->poll, listener_close_cb);
		return r;
	}
	net->listeners[net->nlisteners++] = l;
	return 0;
}

static int
listen_one(struct net *net, const struct options_addr *a, uint16_t port,
    bool best_effort)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct registry_addr ra;
	char text[NET_ADDR_TEXT];
	socklen_t len;
	int fd, on = 1, err;

	memset(&ss, 0, sizeof(ss));
	memset(&ra, 0, sizeof(ra));
	ra.port = port;
	if (a->family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->addr, 4);
		len = sizeof(*sin);
		ra.family = 4;
		memcpy(ra.addr, a->addr, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a->addr, 16);
		len = sizeof(*sin6);
		ra.family = 6;
		memcpy(ra.addr, a->addr, 16);
	}
	net_addr_text(&ra, text);

	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	/* As OTP: SO_REUSEADDR, and v6 sockets never take IPv4 traffic. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (a->family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) <
		    0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, NET_BACKLOG) < 0) {
		err = errno;
		close(fd);
		goto fail;
	}
	if ((err = listener_add(net, fd)) < 0) {
		err = -err;
		goto fail;
	}
	return 0;
fail:
	if (err == EADDRINUSE) {
		log_debug("there is already an epmd running at port %u on %s",
		    port, text);
		return -EADDRINUSE;
	}
	if (best_effort) {
		log_debug("cannot listen on %s: %s, ignoring", text,
		    strerror(err));
		return 0;
	}
	log_errx("failed to bind on %s: %s", text, strerror(err));
	return -err;
}

int
net_listen(struct net *net, const struct options *o)
{
	size_t i;
	int r;

	for (i = 0; i < o->naddrs; i++) {
		/*
		 * Loopback (first two with -address) and the wildcard
		 * sockets are best effort: a host without IPv6 still runs.
		 */
		bool best_effort = o->any_address || i < 2;

		r = listen_one(net, &o->addrs[i], o->port, best_effort);
		if (r < 0)
			return r;
	}
	if (net->nlisteners == 0) {
		log_errx("unable to bind any address");
		return -EADDRNOTAVAIL;
	}
	return 0;
}

int
net_adopt_listener(struct net *net, int fd)
{
	int r = listener_add(net, fd);

	if (r < 0)
		log_errx("cannot adopt listening socket %d: %s", fd,
		    strerror(-r));
	return r;
}

size_t
net_listener_count(const struct net *net)
{
	return net->nlisteners;
}

void
net_describe_listeners(const struct net *net, char *buf, size_t size)
{
	size_t i, off = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < net->nlisteners && off < size; i++) {
		int n = snprintf(buf + off, size - off, "%s%s", i ? " " : "",
		    net->listeners[i]->text);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* ---------------------------------------------------------- lifecycle */

int
net_new(uv_loop_t *loop, struct dispatch_ctx *dctx,
    const struct net_config *cfg, struct net **ret)
{
	struct net *net = calloc(1, sizeof(*net));
	int r;

	if (net == NULL)
		return -ENOMEM;
	net->diag = sockdiag_new();
	if (net->diag == NULL) {
		free(net);
		return -ENOMEM;
	}
	if ((r = held_new(loop, dctx->reg, &net->held)) < 0) {
		sockdiag_free(net->diag);
		free(net);
		return r;
	}
	net->loop = loop;
	net->dctx = dctx;
	net->cfg = *cfg;
	net->stats.conns_limit = cfg->max_conns;
	net->owner_log = (struct log_limit)LOG_LIMIT_INIT(NET_OWNER_LOG_BURST,
	    NET_OWNER_LOG_INTERVAL, "notices of refused registrations");
	net->refusal_log = (struct log_limit)LOG_LIMIT_INIT(
	    NET_REFUSAL_LOG_BURST, NET_REFUSAL_LOG_INTERVAL,
	    "notices of refused requests");
	TAILQ_INIT(&net->timeq);
	TAILQ_INIT(&net->keepq);
	TAILQ_INIT(&net->waitq);
	wbuf_init_growable(&net->out, DISPATCH_MAX_REPLY);
	net->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	uv_timer_init(loop, &net->sweep);
	net->sweep.data = net;
	dctx->holder_gone = holder_gone;
	dctx->peer_owner = peer_owner;
	dctx->arg = net;
	*ret = net;
	return 0;
}

void
net_stop(struct net *net)
{
	struct conn *c, *tmp;
	size_t i;

	if (net->stopping)
		return;
	net->stopping = true;
	for (i = 0; i < net->nlisteners; i++)
		uv_close((uv_handle_t *)&net->listeners[i]->poll,
		    listener_close_cb);
	net->nlisteners = 0;
	held_stop(net->held);
	TAILQ_FOREACH_SAFE(c, &net->keepq, link, tmp)
		conn_close(c, REGISTRY_SHUTDOWN);
	TAILQ_FOREACH_SAFE(c, &net->timeq, link, tmp)
		conn_close(c, REGISTRY_SHUTDOWN);
	uv_close((uv_handle_t *)&net->sweep, NULL);
}

void
net_free(struct net *net)
{
	if (net == NULL)
		return;
	wbuf_fini(&net->out);
	held_free(net->held);
	if (net->reserve_fd >= 0)
		close(net->reserve_fd);
	sockdiag_free(net->diag);
	free(net);
}

void
net_get_stats(const struct net *net, struct net_stats *ret)
{
	*ret = net->stats;
	ret->conns = conns_open(net);
}

int
net_adopt_registration(struct net *net, int fd, struct node *n)
{
	/* Its reply was written long ago: held at once, no handle. */
	if (held_add(net->held, fd, n) == NULL)
		return -ENOMEM;
	conns_note_peak(net);
	return 0;
}

static void
drain_check(struct net *net)
{
	net_drained_fn *fn = net->drained;

	if (!net->draining || fn == NULL || !TAILQ_EMPTY(&net->timeq))
		return;
	net->drained = NULL;
	fn(net->drained_arg);
}

void
net_drain(struct net *net, unsigned timeout_ms, net_drained_fn *fn,
    void *arg)
{
	size_t i;

	if (net->draining || net->stopping)
		return;
	net->draining = true;
	net->drained = fn;
	net->drained_arg = arg;
	net->drain_deadline = now_ms() + timeout_ms;
	/*
	 * Serve first what waits in the backlog: the caller may have held
	 * the loop (an upgrade's --version check), and those clients would
	 * otherwise wait through the whole handover too.  Then stop
	 * accepting: new connections wait in the kernel's backlog.
	 */
	for (i = 0; i < net->nlisteners; i++) {
		listener_accept(net->listeners[i]);
		uv_poll_stop(&net->listeners[i]->poll);
	}
	/* fn runs from the loop, never from inside the caller. */
	uv_timer_start(&net->sweep, sweep_cb, 0, 0);
}

size_t
net_listener_fds(const struct net *net, int *fds, size_t max)
{
	size_t i;

	for (i = 0; i < net->nlisteners && i < max; i++)
		fds[i] = net->listeners[i]->fd;
	return i;
}

bool
net_let_go(struct net *net, size_t budget)
{
	return held_let_go(net->held, budget);
}

size_t
net_registration_fds(const struct net *net, int *fds, struct node **nodes,
    size_t max)
{
	const struct conn *c;
	size_t n = held_fds(net->held, fds, nodes, max);

	/* A registration whose reply is still being written, or not held. */
	for (c = TAILQ_FIRST(&net->keepq); c != NULL && n < max;
	     c = TAILQ_NEXT(c, link), n++) {
		fds[n] = c->h.fd;
		nodes[n] = c->h.node;
	}
	return n;
}

void
net_resolve_owner(struct net *net, struct node *n)
{
	const struct held_owner *o = n->owner;
	uint32_t uid;
	uint64_t inode;

	if (!n->active || n->uid != REGISTRY_UID_UNKNOWN || o == NULL ||
	    o->closing)
		return;
	if (sockdiag_peer_owner(net->diag, o->fd, &uid, &inode) == 0)
		registry_set_uid(net->dctx->reg, n, uid, inode);
}

void
net_release(struct net *net, void *owner)
{
	owner_drop(net, owner, REGISTRY_STOPPED);
}
