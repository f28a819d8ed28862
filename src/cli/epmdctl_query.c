/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * epmdctl_query: the one-shot control-socket client of metrics and
 * check: connect, send one request, read the answer message by message
 * within OBS_CTL_TIMEOUT_MS.  Errors are returned as text, never
 * printed: each command words its own failure.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "epmdctl_obs.h"
#include "util.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
obs_ctl_request(struct obs_conn *c, const char *path, uint8_t type,
    char *err, size_t errlen)
{
	struct sockaddr_un sun;
	uint8_t out[CTL_HEADER_SIZE];
	struct wbuf w;
	size_t off = 0;

	c->len = c->off = 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (util_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "cannot reach epmdd at %s: %s", path,
		    strerror(errno));
		obs_ctl_close(c);
		return -1;
	}
	wbuf_init(&w, out, sizeof(out));
	ctlproto_put_empty(&w, type);
	while (off < w.len) {
		ssize_t n = write(c->fd, out + off, w.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: write: %s", path,
			    strerror(errno));
			obs_ctl_close(c);
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

int
obs_ctl_next(struct obs_conn *c, struct ctl_msg *m, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + OBS_CTL_TIMEOUT_MS;

	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n = ctlproto_decode(c->buf + c->off, c->len - c->off,
		    m);

		if (n > 0) {
			c->off += (size_t)n;
			return 1;
		}
		if (n < 0) {
			snprintf(err, errlen, "bad message from epmdd: %s",
			    strerror((int)-n));
			return -1;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (left <= 0 || (n = poll(&pfd, 1, (int)left)) == 0) {
			snprintf(err, errlen, "no answer from epmdd within "
			    "%d ms", OBS_CTL_TIMEOUT_MS);
			return -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "epmdd closed the connection");
			return -1;
		}
		c->len += (size_t)n;
	}
}

void
obs_ctl_close(struct obs_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
