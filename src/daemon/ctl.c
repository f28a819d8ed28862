/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctl: control socket server.  Start-up follows OpenNTPD's
 * control_check/control_init: a live daemon on the path is an error, a
 * dead one's socket is replaced.  Each client has a bounded input
 * buffer, a deadline for its request or for reading its reply (watchers
 * excepted) and a cap on unsent output; past either it is dropped, and
 * nothing it does blocks the loop that serves port 4369.  A node list is
 * made a batch at a time as the client takes it, from a registry cursor,
 * so that its length costs neither memory nor a long turn of the loop.
 * Slots are counted per uid and per login (the audit login uid), and
 * watchers never get the last ones, so no local user can lock others
 * out of the short requests.  What a node, the status and an event say
 * is ctlmsg.c's; this file only sends it.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlmsg.h"
#include "ctlpolicy.h"
#include "ctlproto.h"
#include "ctlschema.h"
#include "log.h"
#include "util.h"

struct ctl_client {
	uv_pipe_t pipe;
	struct ctl *ctl;
	TAILQ_ENTRY(ctl_client) link;
	uint32_t uid;
	uint32_t login;	   /* audit login uid at accept, or uid */
	int32_t pid;
	bool privileged;
	bool admitted;	   /* holds one of the CTL_MAX_CLIENTS slots */
	bool watching;
	bool closing;
	bool close_when_sent;
	bool shutdown_when_sent;
	bool listing;	   /* a names reply is being made and sent */
	bool paused;	   /* reading stopped until the listing is sent */
	struct registry_cursor cursor; /* while listing: the next node */
	uint64_t listed;   /* nodes sent in this listing */
	uint64_t deadline; /* ms, monotonic; 0 while watching */
	size_t queued;	   /* bytes handed to uv_write, not yet written */
	size_t inlen;
	uint8_t in[CTL_MAX_REQUEST];
};

TAILQ_HEAD(ctl_client_list, ctl_client);

struct ctl_write {
	uv_write_t req;
	struct ctl_client *client;
	size_t len;
	uint8_t data[];
};

struct ctl {
	uv_loop_t *loop;
	struct ctl_config cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool unlink_on_stop;
	bool stopping;
	uv_pipe_t server;
	uv_timer_t sweep;
	struct ctl_client_list clients;
	size_t nclients;   /* in the list, refused ones on their way out too */
	size_t nadmitted;  /* holding a slot */
	size_t nwatchers;  /* unprivileged clients watching */
	struct wbuf out;
};

static uint64_t
mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------- clients */

static void
client_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void list_more(struct ctl_client *c);
static void client_process(struct ctl_client *c);
static void client_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void client_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* End a listing in progress (its cursor must not outlive it). */
static void
list_stop(struct ctl_client *c)
{
	if (!c->listing)
		return;
	c->listing = false;
	registry_cursor_fini(c->ctl->cfg.reg, &c->cursor);
}

static void
client_close(struct ctl_client *c)
{
	struct ctl *ctl = c->ctl;

	if (c->closing)
		return;
	c->closing = true;
	list_stop(c);
	TAILQ_REMOVE(&ctl->clients, c, link);
	ctl->nclients--;
	if (c->admitted)
		ctl->nadmitted--;
	if (c->watching && !c->privileged)
		ctl->nwatchers--;
	uv_close((uv_handle_t *)&c->pipe, client_close_cb);
	if (ctl->nclients == 0 && !ctl->stopping)
		uv_timer_stop(&ctl->sweep);
}

static void
client_write_cb(uv_write_t *req, int status)
{
	struct ctl_write *w = container_of(req, struct ctl_write, req);
	struct ctl_client *c = w->client;
	struct ctl *ctl = c->ctl;

	c->queued -= w->len;
	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		log_debug("control client (pid %d): write failed: %s", c->pid,
		    uv_strerror(status));
		client_close(c);
		return;
	}
	if (c->listing) {
		/* It reads: its deadline counts from now. */
		if (!c->watching)
			c->deadline = mono_ms() + CTL_IDLE_TIMEOUT * 1000;
		list_more(c);
		if (c->closing || c->listing)
			return;
		/* Done: requests that came meanwhile, then read again. */
		if (c->paused) {
			c->paused = false;
			client_process(c);
			if (c->closing)
				return;
			if (!c->paused && !c->close_when_sent)
				uv_read_start((uv_stream_t *)&c->pipe,
				    client_alloc_cb, client_read_cb);
		}
	}
	if (c->queued > 0)
		return;
	if (c->shutdown_when_sent && !ctl->stopping) {
		c->shutdown_when_sent = false;
		ctl->cfg.shutdown(ctl->cfg.arg);
		return;
	}
	if (c->close_when_sent)
		client_close(c);
}

/* Queue len bytes of ctl->out for the client; false if it was dropped. */
static bool
client_send(struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct ctl_write *w;
	uv_buf_t b;

	if (c->closing || len == 0)
		return !c->closing;
	if (c->queued + len > CTL_MAX_QUEUED ||
	    (c->watching && c->queued + len > CTL_WATCH_BACKLOG)) {
		log_debug("control client (pid %d) does not read its replies "
			  "(%zu bytes unsent), closing",
		    c->pid, c->queued);
		client_close(c);
		return false;
	}
	w = malloc(sizeof(*w) + len);
	if (w == NULL) {
		log_warnx("out of memory for a control reply, closing client");
		client_close(c);
		return false;
	}
	w->client = c;
	w->len = len;
	memcpy(w->data, p, len);
	b = uv_buf_init((char *)w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1,
		client_write_cb) < 0) {
		free(w);
		client_close(c);
		return false;
	}
	c->queued += len;
	return true;
}

/* Send ctl->out and reset it. */
static void
client_flush(struct ctl_client *c)
{
	struct ctl *ctl = c->ctl;

	client_send(c, ctl->out.p, ctl->out.len);
	ctl->out.len = 0;
}

static void
client_error(struct ctl_client *c, enum ctl_error code, const char *msg,
    bool then_close)
{
	struct ctl *ctl = c->ctl;

	ctl->out.len = 0;
	if (ctlproto_put_error(&ctl->out, code, msg) == 0)
		client_flush(c);
	if (then_close) {
		c->close_when_sent = true;
		uv_read_stop((uv_stream_t *)&c->pipe);
		if (c->queued == 0)
			client_close(c);
	}
}

/* ---------------------------------------------------------- replies */

/* Answer CTL_OK.  False when the answer could not be built. */
static bool
client_ok(struct ctl_client *c)
{
	struct ctl *ctl = c->ctl;

	ctl->out.len = 0;
	if (ctlproto_put_empty(&ctl->out, CTL_OK) < 0)
		return false;
	client_flush(c);
	return true;
}

/*
 * Make and send the next part of a node list: nodes while less than
 * CTL_LIST_AHEAD bytes are unsent, at most CTL_LIST_BATCH of them, in
 * writes of about CTL_LIST_CHUNK; then CTL_END once the cursor is done.
 * Called when the request comes and again as each write completes, so a
 * list of any length holds little memory and no turn of the loop does
 * much of it.  A node that unregisters before its turn is left out, one
 * that registers meanwhile is not seen (it would come before the
 * cursor), and the END count is what was sent.
 */
static void
list_more(struct ctl_client *c)
{
	struct ctl *ctl = c->ctl;
	struct node *n;
	unsigned batch;
	size_t start;

	ctl->out.len = 0;
	for (batch = 0; batch < CTL_LIST_BATCH &&
	     c->queued + ctl->out.len < CTL_LIST_AHEAD; batch++) {
		if ((n = registry_cursor_next(&c->cursor)) == NULL)
			goto end;
		if (ctlmsg_node(&ctl->out, ctl->cfg.net, ctl->cfg.dctx,
			n) < 0) {
			list_stop(c);
			client_error(c, CTL_ERR_INTERNAL,
			    "out of memory for the list", false);
			return;
		}
		c->listed++;
		if (ctl->out.len >= CTL_LIST_CHUNK) {
			client_flush(c);
			if (c->closing)
				return;
		}
	}
	/* More when a write completes (one is always pending here). */
	client_flush(c);
	return;
end:
	list_stop(c);
	if (ctlproto_begin(&ctl->out, CTL_END, &start) == 0 &&
	    ctlproto_put_u64(&ctl->out, CTL_KEY(COUNT), c->listed) == 0 &&
	    ctlproto_end(&ctl->out, start) == 0)
		client_flush(c);
	else
		client_error(c, CTL_ERR_INTERNAL, "out of memory", false);
}

static void
do_names(struct ctl_client *c, const struct ctl_msg *m)
{
	(void)m;
	registry_cursor_init(c->ctl->cfg.reg, &c->cursor);
	c->listing = true;
	c->listed = 0;
	list_more(c);
}

static void
do_status(struct ctl_client *c, const struct ctl_msg *m)
{
	struct ctl *ctl = c->ctl;
	const struct ctlmsg_status st = { .info = &ctl->cfg.info,
		.reg = ctl->cfg.reg, .net = ctl->cfg.net,
		.dctx = ctl->cfg.dctx, .config = ctl->cfg.config,
		.control = ctl->path, .control_clients = ctl->nclients };

	(void)m;
	ctl->out.len = 0;
	if (ctlmsg_status(&ctl->out, &st) < 0) {
		client_error(c, CTL_ERR_INTERNAL, "cannot build the status",
		    false);
		return;
	}
	client_flush(c);
}

static void
do_stop(struct ctl_client *c, const struct ctl_msg *m)
{
	struct ctl *ctl = c->ctl;
	const struct ctl_field *f = ctlproto_find(m, CTL_KEY(NAME));
	char name[512];
	struct node *n;
	void *owner;

	/* Root, the daemon's user, or the user an ownership rule names. */
	if (!c->privileged &&
	    !ctlpolicy_may_stop(ctl->cfg.dctx, c->uid, f->p, f->len)) {
		log_debug("control client uid %u (pid %d): stop refused, not "
			  "privileged and not the name's owner",
		    c->uid, c->pid);
		client_error(c, CTL_ERR_PERMISSION,
		    "permission denied: needs root, the daemon's user or the "
		    "owner of the name",
		    false);
		return;
	}
	n = registry_lookup(ctl->cfg.reg, f->p, f->len);
	if (n == NULL) {
		client_error(c, CTL_ERR_NOT_FOUND, "no such node", false);
		return;
	}
	util_escape(name, sizeof(name), f->p, f->len);
	log_notice("stopping node '%s' at the request of uid %u (pid %d)",
	    name, c->uid, c->pid);
	owner = n->owner;
	registry_unregister(ctl->cfg.reg, n, REGISTRY_STOPPED,
	    (int64_t)time(NULL));
	net_release(ctl->cfg.net, owner);
	client_ok(c);
}

static void
do_shutdown(struct ctl_client *c, const struct ctl_msg *m)
{
	(void)m;
	log_notice("shutdown requested by uid %u (pid %d)", c->uid, c->pid);
	/* The daemon stops once the client has its answer. */
	c->shutdown_when_sent = true;
	if (!client_ok(c))
		c->shutdown_when_sent = false;
}

static void
do_watch(struct ctl_client *c, const struct ctl_msg *m)
{
	struct ctl *ctl = c->ctl;

	(void)m;
	if (c->watching)
		return;
	/* The last CTL_REQUEST_SLOTS unprivileged slots stay free of
	 * watchers, which never time out: short requests find room. */
	if (!c->privileged &&
	    ctl->nwatchers >= CTL_MAX_CLIENTS - CTL_PRIVILEGED_SLOTS -
		    CTL_REQUEST_SLOTS) {
		log_peer("control client uid %u (pid %d): %d clients watch "
			 "already, closing",
		    c->uid, c->pid,
		    CTL_MAX_CLIENTS - CTL_PRIVILEGED_SLOTS - CTL_REQUEST_SLOTS);
		client_error(c, CTL_ERR_BUSY,
		    "too many watchers (the last slots are kept for other "
		    "requests)",
		    true);
		return;
	}
	if (!c->privileged)
		ctl->nwatchers++;
	c->watching = true;
	c->deadline = 0;
	client_ok(c);
}

static void
do_upgrade(struct ctl_client *c, const struct ctl_msg *m)
{
	struct ctl *ctl = c->ctl;
	char path[CTL_MAX_VALUE + 1];
	int r;

	if (ctl->cfg.upgrade == NULL) {
		client_error(c, CTL_ERR_UNSUPPORTED,
		    "this daemon cannot upgrade in place", false);
		return;
	}
	ctlproto_str(m, CTL_KEY(PATH), path, sizeof(path));
	log_notice("upgrade requested by uid %u (pid %d)%s%s", c->uid,
	    c->pid, path[0] ? ": " : "", path);
	/* The new binary is checked first; the switch itself comes later,
	 * once this answer is out. */
	r = ctl->cfg.upgrade(ctl->cfg.arg, path[0] ? path : NULL);
	if (r < 0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "upgrade refused: %s",
		    r == -ENOEXEC ? "the new binary does not run"
				  : strerror(-r));
		client_error(c, CTL_ERR_INTERNAL, msg, false);
		return;
	}
	client_ok(c);
}

static void
do_reload(struct ctl_client *c, const struct ctl_msg *m)
{
	struct ctl *ctl = c->ctl;
	char err[CONFIG_ERROR_SIZE];

	(void)m;
	if (ctl->cfg.reload == NULL) {
		client_error(c, CTL_ERR_UNSUPPORTED,
		    "this daemon cannot reload", false);
		return;
	}
	log_notice("reload requested by uid %u (pid %d)", c->uid, c->pid);
	err[0] = '\0';
	if (ctl->cfg.reload(ctl->cfg.arg, err, sizeof(err)) < 0) {
		/* The reason is one line: FILE:LINE:COLUMN: what. */
		err[CTL_MAX_VALUE] = '\0';
		client_error(c, CTL_ERR_CONFIG, err, false);
		return;
	}
	client_ok(c);
}

static void
do_policy(struct ctl_client *c, const struct ctl_msg *m)
{
	struct ctl *ctl = c->ctl;

	(void)m;
	ctl->out.len = 0;
	if (ctlpolicy_put_policy(&ctl->out, ctl->cfg.config) < 0) {
		client_error(c, CTL_ERR_INTERNAL, "cannot build the policy",
		    false);
		return;
	}
	client_flush(c);
}

static void
do_policy_test(struct ctl_client *c, const struct ctl_msg *m)
{
	struct ctl *ctl = c->ctl;
	char err[256];
	int r;

	ctl->out.len = 0;
	r = ctlpolicy_put_verdict(&ctl->out, ctl->cfg.config, ctl->cfg.dctx,
	    m, err, sizeof(err));
	if (r == -EINVAL) {
		client_error(c, CTL_ERR_BAD_REQUEST, err, false);
		return;
	}
	if (r < 0) {
		client_error(c, CTL_ERR_INTERNAL, "cannot build the answer",
		    false);
		return;
	}
	client_flush(c);
}

static const struct {
	uint8_t type;
	bool privileged;
	void (*fn)(struct ctl_client *, const struct ctl_msg *);
} handlers[] = {
	{ CTL_NAMES, false, do_names },
	{ CTL_STATUS, false, do_status },
	{ CTL_STOP, false, do_stop }, /* privileged, or the name's owner */
	{ CTL_SHUTDOWN, true, do_shutdown },
	{ CTL_WATCH, false, do_watch },
	{ CTL_UPGRADE, true, do_upgrade },
	{ CTL_RELOAD, true, do_reload },
	{ CTL_POLICY, false, do_policy },
	{ CTL_POLICY_TEST, false, do_policy_test },
};

static void
client_handle(struct ctl_client *c, const struct ctl_msg *m)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(handlers); i++) {
		if (handlers[i].type != m->type)
			continue;
		if (handlers[i].privileged && !c->privileged) {
			log_debug("control client uid %u (pid %d): %s refused, "
				  "not privileged",
			    c->uid, c->pid, ctlproto_type_name(m->type));
			client_error(c, CTL_ERR_PERMISSION,
			    "permission denied: needs root or the daemon's "
			    "user",
			    false);
			return;
		}
		handlers[i].fn(c, m);
		return;
	}
	client_error(c, CTL_ERR_BAD_REQUEST, "not a request", true);
}

static void
client_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_client *c = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)c->in + c->inlen,
	    (unsigned)(sizeof(c->in) - c->inlen));
}

/*
 * Answer the complete requests in the input buffer, in order.  While a
 * node list is being sent, the next request waits in the buffer and
 * reading stops (so that replies never interleave and the buffer stays
 * bounded); the write callback carries on once the list is out.
 */
static void
client_process(struct ctl_client *c)
{
	struct ctl_msg m;
	size_t off = 0;
	ssize_t n;

	while (!c->closing && !c->close_when_sent && !c->listing) {
		n = ctlproto_decode(c->in + off, c->inlen - off, &m);
		if (n == 0) {
			if (c->inlen - off >= CTL_HEADER_SIZE &&
			    CTL_HEADER_SIZE + (size_t)m.length >
				sizeof(c->in)) {
				log_debug("control client uid %u (pid %d): "
					  "request of %u bytes too large, "
					  "closing",
				    c->uid, c->pid, (unsigned)m.length);
				client_error(c, CTL_ERR_BAD_REQUEST,
				    "request too large", true);
				return;
			}
			break;
		}
		if (n < 0) {
			char msg[96];

			if (n == -EPROTO)
				snprintf(msg, sizeof(msg),
				    "protocol version %u not supported (this "
				    "daemon speaks %u)",
				    m.version, (unsigned)CTL_PROTOCOL_VERSION);
			else
				snprintf(msg, sizeof(msg), "bad request: %s",
				    strerror((int)-n));
			log_debug("control client uid %u (pid %d): %s, "
				  "closing",
			    c->uid, c->pid, msg);
			client_error(c,
			    n == -EPROTO ? CTL_ERR_VERSION : CTL_ERR_BAD_REQUEST,
			    msg, true);
			return;
		}
		off += (size_t)n;
		if (!c->watching)
			c->deadline = mono_ms() + CTL_IDLE_TIMEOUT * 1000;
		client_handle(c, &m);
	}
	if (c->closing)
		return;
	if (off > 0) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	if (c->listing && !c->paused) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->paused = true;
	}
}

static void
client_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_client *c = s->data;

	(void)buf;
	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		client_close(c);
		return;
	}
	c->inlen += (size_t)nread;
	client_process(c);
}

static void
sweep_cb(uv_timer_t *t)
{
	struct ctl *ctl = t->data;
	struct ctl_client *c, *tmp;
	uint64_t now = mono_ms();

	TAILQ_FOREACH_SAFE(c, &ctl->clients, link, tmp) {
		if (c->deadline == 0 || c->deadline > now)
			continue;
		if (c->listing || c->queued > 0)
			log_debug("control client uid %u (pid %d) does not "
				  "read its replies (%zu bytes unsent for %d "
				  "s), closing",
			    c->uid, c->pid, c->queued, CTL_IDLE_TIMEOUT);
		else
			log_debug("control client uid %u (pid %d) idle for "
				  "%d s, closing",
			    c->uid, c->pid, CTL_IDLE_TIMEOUT);
		client_close(c);
	}
}

/*
 * The audit login uid of the process that connected, read once at
 * accept through a descriptor of its /proc directory (so both reads are
 * of the same process, even if the pid is reused meanwhile).  It
 * survives user namespaces, and once set at login no unprivileged
 * process can change it.  Unset (4294967295: a service, no login), or a
 * process that is gone or no longer runs as uid: uid itself.  procfs
 * answers from memory, so this does not hold up the loop.
 */
static uint32_t
peer_login(int32_t pid, uint32_t uid)
{
	char path[32], text[2048], *p;
	unsigned long long v;
	uint32_t login = uid;
	unsigned euid;
	ssize_t n;
	int dir, fd;

	if (pid <= 0)
		return uid;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return uid;
	/* Still the process SO_PEERCRED described: the same effective uid. */
	fd = openat(dir, "status", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		goto out;
	text[n] = '\0';
	if ((p = strstr(text, "\nUid:")) == NULL ||
	    sscanf(p, "\nUid: %*u %u", &euid) != 1 || euid != uid)
		goto out;
	fd = openat(dir, "loginuid", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, 15);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		goto out;
	text[n] = '\0';
	if (util_parse_uint(text, 0, UINT32_MAX - 1, &v) == 0)
		login = (uint32_t)v;
out:
	close(dir);
	return login;
}

/*
 * May c take a slot?  NULL if so; else logs why (rate-limited: the peer
 * causes it) and returns the error text for the client.  The last
 * CTL_PRIVILEGED_SLOTS slots are for privileged clients, and no other
 * uid may hold more than CTL_MAX_PER_UID, so that a local user's
 * watchers (which never time out) cannot lock root out of status, stop
 * and shutdown.  Clients whose uid is not their login's own (subordinate
 * uids in a user namespace, su to another user) share CTL_MAX_PER_LOGIN
 * per login, so that one login cannot take every slot through many uids.
 * A login's own uid is not charged to that pool: a process with no login
 * may set its login uid once, to any value, and must not be able to use
 * up someone else's.
 */
static const char *
client_admit(struct ctl *ctl, const struct ctl_client *c)
{
	const struct ctl_client *o;
	size_t mine = 0, login = 0;

	if (ctl->nadmitted >= CTL_MAX_CLIENTS) {
		log_peer("control client uid %u (pid %d): all %d slots taken, "
			 "closing",
		    c->uid, c->pid, CTL_MAX_CLIENTS);
		return "too many control clients";
	}
	if (c->privileged)
		return NULL;
	if (ctl->nadmitted >= CTL_MAX_CLIENTS - CTL_PRIVILEGED_SLOTS) {
		log_peer("control client uid %u (pid %d): only the %d slots "
			 "kept for privileged clients are free, closing",
		    c->uid, c->pid, CTL_PRIVILEGED_SLOTS);
		return "too many control clients (the last slots are kept "
		       "for root and the daemon's user)";
	}
	TAILQ_FOREACH(o, &ctl->clients, link) {
		if (!o->admitted)
			continue;
		if (o->uid == c->uid)
			mine++;
		if (o->login == c->login && o->uid != o->login)
			login++;
	}
	if (mine >= CTL_MAX_PER_UID) {
		log_peer("control client uid %u (pid %d): uid %u holds %d "
			 "slots already, closing",
		    c->uid, c->pid, c->uid, CTL_MAX_PER_UID);
		return "too many control clients for this user";
	}
	if (c->uid != c->login && login >= CTL_MAX_PER_LOGIN) {
		log_peer("control client uid %u (pid %d): login uid %u holds "
			 "%d slots through other uids already, closing",
		    c->uid, c->pid, c->login, CTL_MAX_PER_LOGIN);
		return "too many control clients for this login";
	}
	return NULL;
}

static void
server_cb(uv_stream_t *server, int status)
{
	struct ctl *ctl = server->data;
	struct ctl_client *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	const char *why;
	uv_os_fd_t fd;

	if (status < 0) {
		log_warnx("control socket: accept failed: %s",
		    uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		uv_pipe_t *p = malloc(sizeof(*p));

		log_warnx("out of memory for a control client");
		if (p != NULL) {
			uv_pipe_init(ctl->loop, p, 0);
			p->data = p;
			if (uv_accept(server, (uv_stream_t *)p) == 0)
				log_debug("control client refused");
			uv_close((uv_handle_t *)p, client_close_cb);
		}
		return;
	}
	c->ctl = ctl;
	c->pipe.data = c;
	uv_pipe_init(ctl->loop, &c->pipe, 0);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		uv_close((uv_handle_t *)&c->pipe, client_close_cb);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl->clients, c, link);
	ctl->nclients++;
	c->uid = UINT32_MAX;
	c->login = UINT32_MAX;
	c->pid = -1;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->uid = cred.uid;
		c->pid = cred.pid;
		c->privileged = cred.uid == 0 || cred.uid == geteuid();
		c->login = c->privileged ? cred.uid : peer_login(cred.pid,
							  cred.uid);
	}
	if ((why = client_admit(ctl, c)) != NULL) {
		client_error(c, CTL_ERR_BUSY, why, true);
		return;
	}
	c->admitted = true;
	ctl->nadmitted++;
	c->deadline = mono_ms() + CTL_IDLE_TIMEOUT * 1000;
	if (!uv_is_active((uv_handle_t *)&ctl->sweep))
		uv_timer_start(&ctl->sweep, sweep_cb, 1000, 1000);
	uv_read_start((uv_stream_t *)&c->pipe, client_alloc_cb,
	    client_read_cb);
}

/* ---------------------------------------------------------- events */

static void
broadcast(struct ctl *ctl)
{
	struct ctl_client *c, *tmp;

	TAILQ_FOREACH_SAFE(c, &ctl->clients, link, tmp)
		if (c->watching && !c->closing)
			client_send(c, ctl->out.p, ctl->out.len);
	ctl->out.len = 0;
}

bool
ctl_has_watchers(const struct ctl *ctl)
{
	const struct ctl_client *c;

	if (ctl == NULL)
		return false;
	TAILQ_FOREACH(c, &ctl->clients, link)
		if (c->watching)
			return true;
	return false;
}

void
ctl_node_event(struct ctl *ctl, const struct node *n, enum registry_event ev,
    enum registry_reason reason)
{
	if (ctl == NULL || ctl->stopping || !ctl_has_watchers(ctl))
		return;
	ctl->out.len = 0;
	if (ctlmsg_node_event(&ctl->out, n, ev, reason, wall_ms()) == 0)
		broadcast(ctl);
	ctl->out.len = 0;
}

void
ctl_refused_event(struct ctl *ctl, const struct dispatch_result *res,
    const struct registry_addr *addr)
{
	if (ctl == NULL || ctl->stopping || !ctl_has_watchers(ctl))
		return;
	ctl->out.len = 0;
	if (ctlmsg_refused_event(&ctl->out, res, addr, wall_ms()) == 0)
		broadcast(ctl);
	ctl->out.len = 0;
}

/* ---------------------------------------------------------- lifecycle */

/* mkdir -p for the socket's directory (the last component only). */
static int
make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	util_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* A shared /tmp: the directory must be ours and not writable by others. */
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return -EPERM;
	if ((st.st_mode & 0022) != 0 && st.st_uid != 0)
		return -EPERM;
	return 0;
}

/* Is a daemon answering on path?  1 yes, 0 no (stale or absent). */
static int
live_daemon(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	util_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return r == 0;
}

int
ctl_start(uv_loop_t *loop, const struct ctl_config *cfg, struct ctl **ret)
{
	struct ctl *ctl;
	struct stat st;
	mode_t old;
	int r;

	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return log_errno(LOG_ERR, -ENOMEM, "control socket");
	ctl->loop = loop;
	ctl->cfg = *cfg;
	TAILQ_INIT(&ctl->clients);
	wbuf_init_growable(&ctl->out, CTL_MAX_QUEUED);
	if (cfg->path != NULL &&
	    util_strlcpy(ctl->path, cfg->path, sizeof(ctl->path)) >=
		sizeof(ctl->path)) {
		free(ctl);
		return log_errno(LOG_ERR, -ENAMETOOLONG, "control socket %s",
		    cfg->path);
	}
	uv_pipe_init(loop, &ctl->server, 0);
	ctl->server.data = ctl;
	uv_timer_init(loop, &ctl->sweep);
	ctl->sweep.data = ctl;

	if (cfg->fd >= 0) {
		r = uv_pipe_open(&ctl->server, cfg->fd);
		if (r < 0) {
			log_warnx("cannot adopt control socket %d: %s",
			    cfg->fd, uv_strerror(r));
			goto fail;
		}
		ctl->unlink_on_stop = cfg->owns_path && ctl->path[0] != '\0';
	} else {
		if ((r = make_parent(ctl->path)) < 0) {
			log_errno(LOG_ERR, r, "control socket directory for %s",
			    ctl->path);
			goto fail;
		}
		if (live_daemon(ctl->path)) {
			log_warnx("another epmdd answers on %s", ctl->path);
			r = -EADDRINUSE;
			goto fail;
		}
		if (lstat(ctl->path, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				log_warnx("%s exists and is not a socket",
				    ctl->path);
				r = -EEXIST;
				goto fail;
			}
			unlink(ctl->path);
		}
		old = umask(0117);
		r = uv_pipe_bind(&ctl->server, ctl->path);
		umask(old);
		if (r < 0) {
			log_warnx("cannot bind control socket %s: %s",
			    ctl->path, uv_strerror(r));
			goto fail;
		}
		ctl->unlink_on_stop = true;
		if (chmod(ctl->path, CTL_SOCKET_MODE) < 0 ||
		    (cfg->group >= 0 &&
			chown(ctl->path, (uid_t)-1, (gid_t)cfg->group) < 0)) {
			r = -errno;
			log_errno(LOG_ERR, r, "control socket %s", ctl->path);
			goto fail;
		}
	}
	r = uv_listen((uv_stream_t *)&ctl->server, CTL_BACKLOG, server_cb);
	if (r < 0) {
		log_warnx("cannot listen on control socket %s: %s", ctl->path,
		    uv_strerror(r));
		goto fail;
	}
	*ret = ctl;
	return 0;
fail:
	if (ctl->unlink_on_stop)
		unlink(ctl->path);
	ctl->unlink_on_stop = false;
	ctl->stopping = true;
	uv_close((uv_handle_t *)&ctl->server, NULL);
	uv_close((uv_handle_t *)&ctl->sweep, NULL);
	/* Freed by the caller after the loop ran the close callbacks. */
	*ret = ctl;
	return r < 0 ? r : -EIO;
}

void
ctl_stop(struct ctl *ctl)
{
	struct ctl_client *c, *tmp;

	if (ctl == NULL || ctl->stopping)
		return;
	ctl->stopping = true;
	TAILQ_FOREACH_SAFE(c, &ctl->clients, link, tmp)
		client_close(c);
	uv_close((uv_handle_t *)&ctl->server, NULL);
	uv_close((uv_handle_t *)&ctl->sweep, NULL);
	if (ctl->unlink_on_stop)
		unlink(ctl->path);
}

void
ctl_free(struct ctl *ctl)
{
	if (ctl == NULL)
		return;
	wbuf_fini(&ctl->out);
	free(ctl);
}

const char *
ctl_path(const struct ctl *ctl)
{
	return ctl->path;
}

int
ctl_listen_fd(const struct ctl *ctl)
{
	uv_os_fd_t fd;

	return uv_fileno((const uv_handle_t *)&ctl->server, &fd) == 0 ? fd
								      : -1;
}

bool
ctl_owns_path(const struct ctl *ctl)
{
	return ctl->unlink_on_stop;
}
