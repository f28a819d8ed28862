/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * floor: the benchmark's floor.  A minimal single-threaded epoll server
 * with no registry: accept, read one EPMD frame, write a fixed reply,
 * close.  PORT_PLEASE2 gets a success PORT2_RESP for the asked-for name,
 * ALIVE2 a 6-byte 'v' reply and a connection kept open until EOF, NAMES
 * its 4-byte header.  It is what one request per TCP connection costs on
 * this machine, and nothing else; it is not a daemon to deploy.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define FLOOR_INBUF 3060	/* OTP's INBUF_SIZE: 3 * MAXSYMLEN */
#define FLOOR_EVENTS 256
#define FLOOR_ACCEPT_BATCH 64	/* as epmdd's NET_ACCEPT_BATCH */
#define FLOOR_NODE_PORT 20000	/* the port every PORT2_RESP names */

struct conn {
	int fd;
	bool held;		/* answered an ALIVE2: open until EOF */
	uint16_t got;
	uint16_t want;		/* frame size once known, else 0 */
	uint8_t head;		/* the first byte, while got == 1 */
	uint8_t *buf;		/* a frame split over reads, or NULL */
};

struct floor_stats {
	uint64_t accepted;
	uint64_t port2, alive2, names, other;
	uint64_t short_writes;
	uint64_t held, held_peak;
};

static volatile sig_atomic_t stop_flag;
static struct floor_stats st;
static uint8_t scratch[FLOOR_INBUF];
static uint8_t reply[FLOOR_INBUF];
static uint16_t listen_port;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
conn_close(struct conn *c)
{
	if (c->held)
		st.held--;
	close(c->fd);	/* also leaves the epoll set */
	free(c->buf);
	free(c);
}

/* Answer one complete frame (length prefix included). */
static void
conn_process(struct conn *c, const uint8_t *f, size_t len)
{
	size_t n = 0, nlen;
	ssize_t w;

	switch (len > 2 ? f[2] : 0) {
	case 'z':	/* PORT_PLEASE2_REQ: found, as registered by OTP 25 */
		nlen = len - 3;
		reply[n++] = 'w';
		reply[n++] = 0;
		reply[n++] = FLOOR_NODE_PORT >> 8;
		reply[n++] = FLOOR_NODE_PORT & 0xff;
		reply[n++] = 77;
		reply[n++] = 0;
		reply[n++] = 0;
		reply[n++] = 6;
		reply[n++] = 0;
		reply[n++] = 5;
		reply[n++] = (uint8_t)(nlen >> 8);
		reply[n++] = (uint8_t)nlen;
		memcpy(reply + n, f + 3, nlen);
		n += nlen;
		reply[n++] = 0;
		reply[n++] = 0;
		st.port2++;
		break;
	case 'x':	/* ALIVE2_REQ: ALIVE2_X_RESP, creation 1; keep open */
		memcpy(reply, "v\0\0\0\0\1", 6);
		n = 6;
		c->held = true;
		st.alive2++;
		if (++st.held > st.held_peak)
			st.held_peak = st.held;
		break;
	case 'n':	/* NAMES_REQ: the port header, no names */
		reply[0] = reply[1] = 0;
		reply[2] = (uint8_t)(listen_port >> 8);
		reply[3] = (uint8_t)listen_port;
		n = 4;
		st.names++;
		break;
	default:
		st.other++;
		conn_close(c);
		return;
	}
	w = write(c->fd, reply, n);
	if (w != (ssize_t)n) {
		st.short_writes++;
		conn_close(c);
		return;
	}
	free(c->buf);
	c->buf = NULL;
	if (!c->held)
		conn_close(c);
}

static void
conn_readable(struct conn *c)
{
	ssize_t r;
	size_t total, want;

	if (c->held) {
		/* EOF (or any byte) ends a registration. */
		conn_close(c);
		return;
	}
	if (c->buf != NULL) {
		r = read(c->fd, c->buf + c->got, (size_t)(c->want - c->got));
		if (r <= 0) {
			if (r < 0 && errno == EAGAIN)
				return;
			conn_close(c);
			return;
		}
		c->got = (uint16_t)(c->got + r);
		if (c->got == c->want)
			conn_process(c, c->buf, c->want);
		return;
	}
	/* The scratch buffer is shared: put back a lone first byte. */
	if (c->got == 1)
		scratch[0] = c->head;
	r = read(c->fd, scratch + c->got, sizeof(scratch) - 1 - c->got);
	if (r <= 0) {
		if (r < 0 && errno == EAGAIN)
			return;
		conn_close(c);
		return;
	}
	total = c->got + (size_t)r;
	if (total < 2) {
		c->head = scratch[0];
		c->got = 1;
		return;
	}
	want = (size_t)(scratch[0] << 8 | scratch[1]) + 2;
	/* OTP's limits: no empty frame, nothing pipelined after one. */
	if (want == 2 || want >= FLOOR_INBUF || total > want) {
		conn_close(c);
		return;
	}
	c->want = (uint16_t)want;
	if (total == c->want) {
		conn_process(c, scratch, total);
		return;
	}
	c->buf = malloc(c->want);
	if (c->buf == NULL) {
		conn_close(c);
		return;
	}
	memcpy(c->buf, scratch, total);
	c->got = (uint16_t)total;
}

static void
accept_some(int ep, int lfd)
{
	struct epoll_event ev;
	struct conn *c;
	int fd, i;

	for (i = 0; i < FLOOR_ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		st.accepted++;
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(c);
	}
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: floor -p PORT [-a ADDR]\n"
	    "\n"
	    "The benchmark's floor: accept, read one EPMD frame, write a\n"
	    "fixed reply, close.  PORT_PLEASE2 -> a PORT2_RESP for that name\n"
	    "(port %d, type M, proto 0, versions 5..6, no extra); ALIVE2 ->\n"
	    "'v' 0 creation 1, kept open until EOF; NAMES -> the 4-byte\n"
	    "header; anything else -> close.  No registry.  Runs until\n"
	    "SIGINT or SIGTERM, then prints its counters on stderr.\n"
	    "\n"
	    "  -p, --port PORT     port to listen on (required)\n"
	    "  -a, --address ADDR  IPv4 address (127.0.0.1)\n"
	    "  -h, --help\n",
	    FLOOR_NODE_PORT);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "address", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct epoll_event evs[FLOOR_EVENTS], ev;
	struct sockaddr_in sin;
	struct sigaction sa;
	struct rlimit rl;
	sigset_t block, waitmask;
	const char *addr = "127.0.0.1";
	long port = 0;
	int ch, ep, lfd, n, i, on = 1;

	while ((ch = getopt_long(argc, argv, "p:a:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 'a':
			addr = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (optind != argc || port < 1 || port > 65535 ||
	    inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		usage(stderr);
		return 2;
	}
	listen_port = (uint16_t)port;
	sin.sin_port = htons(listen_port);

	/* As epmdd: the soft descriptor limit up to the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/*
	 * SIGINT and SIGTERM are blocked except inside epoll_pwait, so a
	 * signal cannot slip in between the flag test and the wait.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, SOMAXCONN) < 0) {
		fprintf(stderr, "floor: %s:%ld: %s\n", addr, port,
		    strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		fprintf(stderr, "floor: epoll_create1: %s\n", strerror(errno));
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		fprintf(stderr, "floor: epoll_ctl: %s\n", strerror(errno));
		return 1;
	}

	while (!stop_flag) {
		n = epoll_pwait(ep, evs, FLOOR_EVENTS, -1, &waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "floor: epoll_pwait: %s\n",
			    strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_some(ep, lfd);
			else
				conn_readable(evs[i].data.ptr);
		}
	}
	fprintf(stderr,
	    "floor: accepted %" PRIu64 ", port2 %" PRIu64 ", alive2 %" PRIu64
	    ", names %" PRIu64 ", other %" PRIu64 ", short writes %" PRIu64
	    ", held peak %" PRIu64 "\n",
	    st.accepted, st.port2, st.alive2, st.names, st.other,
	    st.short_writes, st.held_peak);
	return 0;
}
