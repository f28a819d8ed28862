/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * conn: epmdctl's one client of the control socket, every command's:
 * requests built into a bounded buffer, one blocking connection each,
 * answers read message by message with ctlproto_decode within a
 * deadline (netio's clock), and the daemon's error messages reported
 * for the commands.  The warnings are output.c's.
 */
#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlschema.h"
#include "epmdctl.h"
#include "netio.h"
#include "output.h"
#include "util.h"

static volatile sig_atomic_t interrupted;

void
conn_interrupt(void)
{
	interrupted = 1;
}

bool
conn_interrupted(void)
{
	return interrupted != 0;
}

void
conn_req_begin(struct conn_req *r, uint8_t type)
{
	wbuf_init(&r->w, r->buf, sizeof(r->buf));
	r->bad = ctlproto_begin(&r->w, type, &r->start) < 0;
}

void
conn_req_str(struct conn_req *r, const char *key, const char *value)
{
	if (!r->bad && ctlproto_put_str(&r->w, key, value) < 0)
		r->bad = true;
}

void
conn_req_u64(struct conn_req *r, const char *key, uint64_t v)
{
	if (!r->bad && ctlproto_put_u64(&r->w, key, v) < 0)
		r->bad = true;
}

struct conn *
conn_new(void)
{
	struct conn *c = malloc(sizeof(*c));

	if (c == NULL) {
		output_warn("out of memory");
		return NULL;
	}
	c->fd = -1;
	c->timeout_ms = EPMDCTL_TIMEOUT * 1000;
	c->len = c->off = 0;
	return c;
}

void
conn_set_timeout(struct conn *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	conn_close(c);
	free(c);
}

static int
conn_connect(struct conn *c)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (util_strlcpy(sun.sun_path, opts.path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		output_warn("%s: path too long", opts.path);
		return -1;
	}
	conn_close(c);
	c->len = c->off = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		output_warn("cannot reach epmdd at %s: %s%s", opts.path,
		    strerror(e),
		    e == EACCES ? " (join the socket's group, or use sudo)"
			: "");
		conn_close(c);
		return -1;
	}
	return 0;
}

/*
 * Write it all.  0, -EPIPE when the daemon has closed (quietly: it may
 * have said why first, see conn_open), or -1
 * after a message.
 */
static int
conn_send(struct conn *c, const uint8_t *p, size_t len)
{
	if (netio_write_all(c->fd, p, len) == 0)
		return 0;
	if (errno == EPIPE || errno == ECONNRESET)
		return -EPIPE;
	output_warn("%s: write: %s", opts.path, strerror(errno));
	return -1;
}

int
conn_open(struct conn *c, struct conn_req *r)
{
	if (conn_connect(c) < 0)
		return EXIT_UNREACHABLE;
	if (r->bad || ctlproto_end(&r->w, r->start) < 0) {
		output_warn("request too large");
		conn_close(c);
		return EXIT_USAGE;
	}
	if (conn_send(c, r->w.p, r->w.len) == -1) {
		conn_close(c);
		return EXIT_UNREACHABLE;
	}
	return EXIT_OK;
}

/* No answer within timeout_ms, said. */
static void
conn_timed_out(int timeout_ms)
{
	if (timeout_ms % 1000 != 0)
		output_warn("no answer from epmdd within %d ms", timeout_ms);
	else
		output_warn("no answer from epmdd within %d s",
		    timeout_ms / 1000);
}

/* A message ctlproto_decode refused (n < 0), said. */
static void
conn_bad_message(ssize_t n)
{
	output_warn("bad message from the daemon: %s%s", strerror((int)-n),
	    n == -EPROTO ? " (epmdd and epmdctl versions differ)" : "");
}

int
conn_next(struct conn *c, struct ctl_msg *m, int timeout_ms)
{
	long long deadline = netio_deadline(timeout_ms);

	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		ssize_t n = ctlproto_decode(c->buf + c->off, c->len - c->off,
		    m);

		if (n > 0) {
			c->off += (size_t)n;
			return 1;
		}
		if (n < 0) {
			conn_bad_message(n);
			return -1;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (interrupted)
			return -1;
		n = poll(&pfd, 1,
		    timeout_ms < 0 ? -1 : netio_left_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			conn_timed_out(timeout_ms);
			return -1;
		}
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		c->len += (size_t)n;
	}
}

int
conn_answer(struct conn *c, struct ctl_msg *m, const char *what,
    int *status)
{
	int r = conn_next(c, m, c->timeout_ms);

	if (r <= 0) {
		if (r == 0)
			output_warn("epmdd closed the connection");
		*status = EXIT_UNREACHABLE;
		return 0;
	}
	if (m->type == CTL_ERROR) {
		*status = conn_report_error(what, m);
		return 0;
	}
	return 1;
}

int
conn_call(struct conn *c, struct conn_req *r, const char *what,
    uint8_t expect, struct ctl_msg *m)
{
	int status;

	m->type = 0;
	m->nfields = 0;
	if ((status = conn_open(c, r)) != EXIT_OK)
		return status;
	if (!conn_answer(c, m, what, &status)) {
		conn_close(c);
		return status;
	}
	conn_close(c);
	if (expect != 0 && m->type != expect) {
		output_warn("unexpected %s reply",
		    ctlproto_type_name(m->type));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const uint8_t *
conn_raw(const struct conn *c, const struct ctl_msg *m)
{
	return c->buf + c->off - CTL_HEADER_SIZE - m->length;
}

static const char *
error_name(uint64_t code)
{
	switch (code) {
	case CTL_ERR_PERMISSION:
		return "permission_denied";
	case CTL_ERR_NOT_FOUND:
		return "not_found";
	case CTL_ERR_BAD_REQUEST:
		return "bad_request";
	case CTL_ERR_VERSION:
		return "version_mismatch";
	case CTL_ERR_UNSUPPORTED:
		return "unsupported";
	case CTL_ERR_BUSY:
		return "busy";
	case CTL_ERR_CONFIG:
		return "invalid_config";
	default:
		return "internal";
	}
}

int
conn_report_error(const char *what, const struct ctl_msg *m)
{
	char msg[512];
	uint64_t code = ctlproto_u64(m, CTL_KEY(CODE), CTL_ERR_INTERNAL);

	ctlproto_str(m, CTL_KEY(MESSAGE), msg, sizeof(msg));
	if (opts.json)
		output_json(json_pack("{s:b,s:s,s:o}", "ok", 0, "error",
		    error_name(code), "message", output_json_str(msg)));
	output_warn("%s: %s", what, msg);
	return EXIT_FAIL;
}
