/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * loadgen: the load generator behind `make bench`.  Closed-loop EPMD
 * clients on one epoll loop, in three modes: lookup (connect,
 * PORT_PLEASE2_REQ, read to EOF, close, again), churn (ALIVE2_REQ, the
 * 6-byte reply, close, again) and hold (K registrations kept open).
 * Every reply is checked.  Every loop ends by itself, by time or count.
 * Results go to stdout as key=value lines, a summary to stderr.
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
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* <linux/in.h>, Linux 4.2 */
#endif

#define LG_MAX_CLIENTS 100000
#define LG_MAX_NAMES 64		/* --name and --missing, together */
#define LG_MAX_NODES 1000000	/* --nodes */
#define LG_MAX_PREFIX 32
#define LG_NAME_MAX 255		/* characters in a node name (OTP) */
#define LG_REPLY_MAX 4096	/* a PORT2_RESP is at most 2056 bytes */
#define LG_ALIVE_REPLY 6	/* ALIVE2_X_RESP: 'v', result, creation */
#define LG_FRAME_MAX 64		/* our own ALIVE2_REQ frames */
#define LG_EVENTS 256
#define LG_BACKOFF_NS 1000000ULL /* after a connect error: 1 ms */
#define LG_TICK_MS 50		/* deadline scan interval */
#define LG_BIND_TRIES 16	/* explicit source ports tried per connect */
#define LG_AUTO_POOL 4096	/* --src-ports auto: at most this many */

/* Latency histogram: 1 us buckets to 100 ms, then 1 ms buckets to 60 s. */
#define HIST_US 100000
#define HIST_MS 60000

#define NS 1000000000ULL

enum mode {
	MODE_LOOKUP,
	MODE_CHURN,
	MODE_HOLD,
};

enum state {
	ST_IDLE,	/* no socket; the loop (re)starts it */
	ST_CONNECTING,
	ST_SENDING,
	ST_READING,
	ST_HELD,	/* hold: registered, kept open */
	ST_WAIT,	/* backing off after a connect error */
	ST_DONE,	/* hold: settled without a registration, or lost */
};

enum err {
	ERR_REFUSED,	/* connect: ECONNREFUSED */
	ERR_NOPORT,	/* connect: EADDRNOTAVAIL, no ephemeral port left */
	ERR_RESET,	/* ECONNRESET or EPIPE */
	ERR_CLOSED,	/* EOF before any reply byte */
	ERR_SHORT,	/* EOF inside a reply */
	ERR_WRONG,	/* a reply other than the expected one */
	ERR_FAILED,	/* ALIVE2 answered with a result other than 0 */
	ERR_TIMEOUT,	/* no complete reply within --timeout */
	ERR_OTHER,	/* anything else (EMFILE...) */
	ERR_MAX,
};

static const char *const err_names[ERR_MAX] = {
	"refused", "noport", "reset", "closed", "short", "wrong", "failed",
	"timeout", "other",
};

/* One PORT_PLEASE2_REQ frame and what its answer must be. */
struct request {
	uint8_t *frame;
	size_t len;
	const char *name;
	size_t nlen;
	bool missing;
};

struct client {
	int fd;
	enum state state;
	unsigned id;
	uint32_t seq;		/* churn: registrations attempted */
	uint64_t t0;		/* ns, at socket() */
	uint64_t deadline;	/* ns */
	uint64_t wake;		/* ns, while ST_WAIT */
	const uint8_t *req;	/* frame being sent */
	size_t reqlen;
	size_t sent;
	size_t ri;		/* lookup: index into lg->reqs */
	size_t got;
	uint8_t *reply;
	uint8_t frame[LG_FRAME_MAX];
};

struct hist {
	uint32_t us[HIST_US];
	uint32_t ms[HIST_MS];
	uint64_t over;
	uint64_t n;
	uint64_t max_ns;
};

struct lg {
	/* configuration */
	enum mode mode;
	struct sockaddr_in dst;
	struct sockaddr_in src;
	bool has_src;
	unsigned port_lo, port_hi; /* explicit source ports; 0: kernel's */
	unsigned nclients;
	double seconds;
	double warmup;
	double timeout;
	uint64_t requests;	/* stop after this many (0: by time) */
	const char *prefix;
	unsigned nodes;
	unsigned window;	/* hold: connections being set up at once */
	unsigned node_port;
	bool quiet;

	/* state */
	int ep;
	struct client *clients;
	uint8_t *replies;
	size_t reply_cap;
	struct request *reqs;
	size_t nreqs;
	size_t next_req;
	uint64_t timeout_ns;
	uint64_t t_begin, t_start, t_end, t_stop;
	bool measuring;
	unsigned active;	/* clients with a socket */
	unsigned waiting;	/* clients in ST_WAIT */
	uint64_t started;	/* measured requests started (count mode) */
	unsigned port_next;	/* explicit source ports: the next one */
	unsigned next_hold;	/* hold: next client to open */
	unsigned inflight;	/* hold: opened, not settled */
	unsigned settled;	/* hold */
	uint64_t held, lost;	/* hold */
	bool stdin_watched, stdin_eof;
	bool starting;		/* inside client_start: restart later */
	struct rusage ru0;

	/* results of the measured window */
	uint64_t ok;
	uint64_t errs[ERR_MAX];
	struct hist hist;
};

static volatile sig_atomic_t stop_flag;

static void client_start(struct lg *lg, struct client *c);

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* ---------------------------------------------------------- statistics */

static void
hist_add(struct hist *h, uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (us < HIST_US)
		h->us[us]++;
	else if (us / 1000 < HIST_MS)
		h->ms[us / 1000]++;
	else
		h->over++;
	h->n++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

/* The latency (us) at quantile q: the lower edge of its bucket. */
static double
hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;
	size_t i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_US; i++)
		if ((seen += h->us[i]) >= want)
			return (double)i;
	for (i = 0; i < HIST_MS; i++)
		if ((seen += h->ms[i]) >= want)
			return (double)i * 1000;
	return (double)h->max_ns / 1000;
}

static void
record(struct lg *lg, int err, uint64_t latency_ns)
{
	if (!lg->measuring)
		return;
	if (err >= 0) {
		lg->errs[err]++;
		return;
	}
	lg->ok++;
	hist_add(&lg->hist, latency_ns);
}

static void
stats_reset(struct lg *lg)
{
	lg->ok = 0;
	memset(lg->errs, 0, sizeof(lg->errs));
	memset(&lg->hist, 0, sizeof(lg->hist));
	getrusage(RUSAGE_SELF, &lg->ru0);
}

static uint64_t
errors_total(const struct lg *lg)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < ERR_MAX; i++)
		n += lg->errs[i];
	return n;
}

static double
tv_diff(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_usec - a->tv_usec) / 1e6;
}

/* The error counters as " refused=0 noport=0 ..." */
static void
print_errs(FILE *f, const struct lg *lg)
{
	int i;

	fprintf(f, " errors=%" PRIu64, errors_total(lg));
	for (i = 0; i < ERR_MAX; i++)
		fprintf(f, " %s=%" PRIu64, err_names[i], lg->errs[i]);
}

/* One line naming the non-zero error counters, for people. */
static void
print_errs_human(FILE *f, const struct lg *lg)
{
	bool any = false;
	int i;

	for (i = 0; i < ERR_MAX; i++) {
		if (lg->errs[i] == 0)
			continue;
		fprintf(f, "%s%" PRIu64 " %s", any ? ", " : " (", lg->errs[i],
		    err_names[i]);
		any = true;
	}
	if (any)
		fputc(')', f);
}

/* ---------------------------------------------------------- EPMD frames */

/* ALIVE2_REQ as an OTP 25 node sends it: type M, proto 0, hv 6, lv 5. */
static size_t
put_alive2(uint8_t *p, size_t cap, const char *name, unsigned port)
{
	size_t nlen = strlen(name), body = 13 + nlen;

	if (2 + body > cap)
		return 0;
	p[0] = (uint8_t)(body >> 8);
	p[1] = (uint8_t)body;
	p[2] = 'x';
	p[3] = (uint8_t)(port >> 8);
	p[4] = (uint8_t)port;
	p[5] = 77;
	p[6] = 0;
	p[7] = 0;
	p[8] = 6;
	p[9] = 0;
	p[10] = 5;
	p[11] = (uint8_t)(nlen >> 8);
	p[12] = (uint8_t)nlen;
	memcpy(p + 13, name, nlen);
	p[13 + nlen] = 0;
	p[14 + nlen] = 0;
	return 2 + body;
}

static void
add_request(struct lg *lg, const char *name, bool missing)
{
	struct request *r;
	size_t nlen = strlen(name);

	if (nlen == 0 || nlen > LG_NAME_MAX)
		die("bad node name '%s'", name);
	r = &lg->reqs[lg->nreqs++];
	r->frame = malloc(3 + nlen);
	r->name = strdup(name);
	if (r->frame == NULL || r->name == NULL)
		die("out of memory");
	r->frame[0] = (uint8_t)((nlen + 1) >> 8);
	r->frame[1] = (uint8_t)(nlen + 1);
	r->frame[2] = 'z';
	memcpy(r->frame + 3, name, nlen);
	r->len = 3 + nlen;
	r->nlen = nlen;
	r->missing = missing;
}

/*
 * Judge a complete lookup reply (the server closed after it): -1 if it
 * is the expected PORT2_RESP, else an enum err.
 */
static int
check_port2(const struct request *r, const uint8_t *p, size_t len)
{
	size_t nlen, elen;

	if (len == 0)
		return ERR_CLOSED;
	if (r->missing) {
		if (len < 2 && p[0] == 'w')
			return ERR_SHORT;
		return len == 2 && p[0] == 'w' && p[1] == 1 ? -1 : ERR_WRONG;
	}
	if (p[0] != 'w' || (len >= 2 && p[1] != 0))
		return ERR_WRONG;
	if (len < 14)
		return ERR_SHORT;
	nlen = (size_t)p[10] << 8 | p[11];
	if (len < 14 + nlen)
		return ERR_SHORT;
	elen = (size_t)p[12 + nlen] << 8 | p[13 + nlen];
	if (len < 14 + nlen + elen)
		return ERR_SHORT;
	if (len > 14 + nlen + elen || nlen != r->nlen ||
	    memcmp(p + 12, r->name, nlen) != 0)
		return ERR_WRONG;
	return -1;
}

/* The same for an ALIVE2_X_RESP (exactly 6 bytes, result 0). */
static int
check_alive2(const uint8_t *p, size_t len)
{
	if (len == 0)
		return ERR_CLOSED;
	if (p[0] != 'v' || len > LG_ALIVE_REPLY)
		return ERR_WRONG;
	if (len < LG_ALIVE_REPLY)
		return ERR_SHORT;
	return p[1] == 0 ? -1 : ERR_FAILED;
}

/* ---------------------------------------------------------- clients */

static int
connect_error(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return ERR_REFUSED;
	case EADDRNOTAVAIL:
		return ERR_NOPORT;
	case ECONNRESET:
	case EPIPE:
		return ERR_RESET;
	case ETIMEDOUT:
		return ERR_TIMEOUT;
	default:
		return ERR_OTHER;
	}
}

static void
close_socket(struct lg *lg, struct client *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		lg->active--;
	}
}

/* Should a finished lookup/churn client start its next request now? */
static bool
may_start(const struct lg *lg)
{
	if (stop_flag)
		return false;
	if (lg->requests > 0)
		return lg->started < lg->requests;
	return now_ns() < lg->t_end;
}

/*
 * A request is over: err < 0 is success.  Lookup and churn clients go
 * again (after a pause if the connect failed); hold clients stay.
 */
static void
client_end(struct lg *lg, struct client *c, int err)
{
	uint64_t now = now_ns();

	if (lg->mode == MODE_HOLD) {
		lg->inflight--;
		lg->settled++;
		if (err < 0) {
			c->state = ST_HELD;
			lg->held++;
		} else {
			close_socket(lg, c);
			c->state = ST_DONE;
		}
		record(lg, err, now - c->t0);
		return;
	}
	close_socket(lg, c);
	record(lg, err, now - c->t0);
	c->state = ST_IDLE;
	if (err == ERR_REFUSED || err == ERR_NOPORT || err == ERR_OTHER ||
	    lg->starting) {
		/* A pause after a failed connect; never recurse. */
		c->state = ST_WAIT;
		c->wake = lg->starting && err != ERR_REFUSED &&
			err != ERR_NOPORT && err != ERR_OTHER
		    ? now
		    : now + LG_BACKOFF_NS;
		lg->waiting++;
		return;
	}
	if (may_start(lg))
		client_start(lg, c);
}

static void
client_read(struct lg *lg, struct client *c)
{
	ssize_t n;
	int err;

	for (;;) {
		if (c->got == lg->reply_cap) {
			client_end(lg, c, ERR_WRONG);
			return;
		}
		n = read(c->fd, c->reply + c->got, lg->reply_cap - c->got);
		if (n > 0) {
			c->got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* Registrations are answered, not closed. */
			if (lg->mode != MODE_LOOKUP &&
			    c->got >= LG_ALIVE_REPLY)
				client_end(lg, c, check_alive2(c->reply,
						      c->got));
			return;
		}
		client_end(lg, c, connect_error(errno));
		return;
	}
	/* End of file. */
	if (lg->mode == MODE_LOOKUP)
		err = check_port2(&lg->reqs[c->ri], c->reply, c->got);
	else {
		err = check_alive2(c->reply, c->got);
		if (err < 0) /* the reply, then a close: not a registration */
			err = ERR_CLOSED;
	}
	client_end(lg, c, err);
}

static void
client_send(struct lg *lg, struct client *c)
{
	ssize_t n;

	while (c->sent < c->reqlen) {
		n = send(c->fd, c->req + c->sent, c->reqlen - c->sent,
		    MSG_NOSIGNAL);
		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* EPOLLOUT comes back (edge-triggered) */
		client_end(lg, c, connect_error(errno));
		return;
	}
	c->state = ST_READING;
}

/*
 * Bind the next port of the explicit pool, with SO_REUSEADDR: connect()
 * then takes over the TIME_WAIT our last close on that 4-tuple left
 * (tcp_twsk_unique: at once for a bound port, with timestamps), so
 * TIME_WAITs stay bounded by the pool and no port search happens.
 */
static int
bind_pool_port(struct lg *lg, int fd)
{
	struct sockaddr_in sin = lg->src;
	unsigned n = lg->port_hi - lg->port_lo + 1, i;
	int on = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		return -1;
	for (i = 0; i < LG_BIND_TRIES; i++) {
		sin.sin_port = htons((uint16_t)(lg->port_lo +
		    lg->port_next++ % n));
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -1;
	}
	errno = EADDRNOTAVAIL;
	return -1;
}

static void
client_open(struct lg *lg, struct client *c)
{
	struct epoll_event ev;
	char name[LG_MAX_PREFIX + 32];
	int fd, on = 1;

	c->t0 = now_ns();
	c->deadline = c->t0 + lg->timeout_ns;
	c->got = 0;
	c->sent = 0;
	if (lg->measuring)
		lg->started++;
	switch (lg->mode) {
	case MODE_LOOKUP:
		c->ri = lg->next_req++ % lg->nreqs;
		c->req = lg->reqs[c->ri].frame;
		c->reqlen = lg->reqs[c->ri].len;
		break;
	case MODE_CHURN:
		/* A name never used before: no race with our own unregister. */
		snprintf(name, sizeof(name), "%s%u_%" PRIu32, lg->prefix,
		    c->id, c->seq++);
		c->reqlen = put_alive2(c->frame, sizeof(c->frame), name,
		    lg->node_port + c->id % 20000);
		c->req = c->frame;
		break;
	case MODE_HOLD:
		snprintf(name, sizeof(name), "%s%u", lg->prefix, c->id);
		c->reqlen = put_alive2(c->frame, sizeof(c->frame), name,
		    lg->node_port + c->id % 20000);
		c->req = c->frame;
		lg->inflight++;
		break;
	}

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		client_end(lg, c, ERR_OTHER);
		return;
	}
	c->fd = fd;
	lg->active++;
	if (lg->has_src && lg->port_lo == 0) {
		/* The port is chosen at connect(), by the whole 4-tuple. */
		if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
			sizeof(on)) < 0 ||
		    bind(fd, (struct sockaddr *)&lg->src, sizeof(lg->src)) <
			0) {
			client_end(lg, c, connect_error(errno));
			return;
		}
	} else if (lg->has_src && bind_pool_port(lg, fd) < 0) {
		client_end(lg, c, connect_error(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&lg->dst, sizeof(lg->dst)) == 0)
		c->state = ST_SENDING;
	else if (errno == EINPROGRESS)
		c->state = ST_CONNECTING;
	else {
		client_end(lg, c, connect_error(errno));
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		client_end(lg, c, ERR_OTHER);
		return;
	}
	if (c->state == ST_SENDING)
		client_send(lg, c);
}

static void
client_start(struct lg *lg, struct client *c)
{
	lg->starting = true;
	client_open(lg, c);
	lg->starting = false;
}

static void
client_event(struct lg *lg, struct client *c, uint32_t events)
{
	socklen_t len = sizeof(int);
	int e = 0;

	switch (c->state) {
	case ST_CONNECTING:
		if (events & EPOLLERR) {
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len);
			client_end(lg, c, connect_error(e ? e : ECONNRESET));
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLHUP)))
			return;
		c->state = ST_SENDING;
		/* FALLTHROUGH */
	case ST_SENDING:
		client_send(lg, c);
		if (c->state != ST_READING ||
		    !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
			return;
		/* FALLTHROUGH */
	case ST_READING:
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			client_read(lg, c);
		return;
	case ST_HELD:
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
			/* The daemon closed a registration (or sent data). */
			lg->lost++;
			lg->held--;
			close_socket(lg, c);
			c->state = ST_DONE;
		}
		return;
	default:
		return;
	}
}

/* Time out stuck requests; wake clients that were backing off. */
static void
clients_tick(struct lg *lg, uint64_t now)
{
	struct client *c;
	unsigned i;

	for (i = 0; i < lg->nclients; i++) {
		c = &lg->clients[i];
		switch (c->state) {
		case ST_CONNECTING:
		case ST_SENDING:
		case ST_READING:
			if (now >= c->deadline)
				client_end(lg, c, ERR_TIMEOUT);
			break;
		case ST_WAIT:
			if (now < c->wake)
				break;
			lg->waiting--;
			c->state = ST_IDLE;
			if (may_start(lg))
				client_start(lg, c);
			break;
		default:
			break;
		}
	}
}

/* ---------------------------------------------------------- modes */

static void
open_holds(struct lg *lg)
{
	while (lg->next_hold < lg->nclients && lg->inflight < lg->window &&
	    !stop_flag)
		client_start(lg, &lg->clients[lg->next_hold++]);
}

static void
watch_stdin(struct lg *lg)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	/* Regular files and /dev/null cannot be watched: hold by time. */
	lg->stdin_watched = epoll_ctl(lg->ep, EPOLL_CTL_ADD, 0, &ev) == 0;
}

static void
stdin_event(struct lg *lg)
{
	char buf[256];
	ssize_t n = read(0, buf, sizeof(buf));

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		lg->stdin_eof = true;
		epoll_ctl(lg->ep, EPOLL_CTL_DEL, 0, NULL);
	}
}

static void
print_hold(struct lg *lg, const char *state, uint64_t now)
{
	printf("mode=hold state=%s k=%u ok=%" PRIu64 " held=%" PRIu64
	       " lost=%" PRIu64,
	    state, lg->nclients, lg->ok, lg->held, lg->lost);
	print_errs(stdout, lg);
	printf(" seconds=%.3f\n", (double)(now - lg->t_begin) / 1e9);
	fflush(stdout);
	if (lg->quiet)
		return;
	fprintf(stderr, "loadgen hold: %s, %" PRIu64 " of %u registered, %"
			PRIu64 " held, %" PRIu64 " lost",
	    state, lg->ok, lg->nclients, lg->held, lg->lost);
	print_errs_human(stderr, lg);
	fprintf(stderr, ", %.3f s\n", (double)(now - lg->t_begin) / 1e9);
}

static void
print_result(struct lg *lg, uint64_t now)
{
	struct rusage ru;
	double secs, rate, p50, p90, p99, max;
	const char *what = lg->mode == MODE_LOOKUP ? "lookup" : "churn";

	getrusage(RUSAGE_SELF, &ru);
	if (now > lg->t_end && lg->requests == 0)
		now = lg->t_end;
	secs = lg->measuring ? (double)(now - lg->t_start) / 1e9 : 0;
	rate = secs > 0 ? (double)lg->ok / secs : 0;
	p50 = hist_quantile(&lg->hist, 0.50);
	p90 = hist_quantile(&lg->hist, 0.90);
	p99 = hist_quantile(&lg->hist, 0.99);
	max = (double)lg->hist.max_ns / 1000;
	printf("mode=%s clients=%u seconds=%.3f ok=%" PRIu64 " rate=%.1f "
	       "p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f",
	    what, lg->nclients, secs, lg->ok, rate, p50, p90, p99, max);
	print_errs(stdout, lg);
	printf(" cpu_user=%.3f cpu_sys=%.3f\n", tv_diff(&lg->ru0.ru_utime,
						     &ru.ru_utime),
	    tv_diff(&lg->ru0.ru_stime, &ru.ru_stime));
	fflush(stdout);
	if (lg->quiet)
		return;
	fprintf(stderr, "loadgen %s: %.0f %s/s (%" PRIu64 " in %.2f s, %u "
			"clients), latency p50 %.0f us, p99 %.0f us, max %.0f "
			"us, %" PRIu64 " errors",
	    what, rate, lg->mode == MODE_LOOKUP ? "lookups" : "registrations",
	    lg->ok, secs, lg->nclients, p50, p99, max, errors_total(lg));
	print_errs_human(stderr, lg);
	fputc('\n', stderr);
}

static int
run(struct lg *lg)
{
	struct epoll_event evs[LG_EVENTS];
	uint64_t now, next_tick, hold_until = 0;
	bool settled_printed = false;
	int i, n, timeout;
	unsigned k;

	lg->ep = epoll_create1(EPOLL_CLOEXEC);
	if (lg->ep < 0)
		die("epoll_create1: %s", strerror(errno));
	lg->timeout_ns = (uint64_t)(lg->timeout * 1e9);
	now = now_ns();
	lg->t_begin = now;
	lg->t_start = now + (uint64_t)(lg->warmup * 1e9);
	lg->t_end = lg->t_start + (uint64_t)(lg->seconds * 1e9);
	stats_reset(lg);
	lg->measuring = lg->mode == MODE_HOLD || lg->warmup <= 0;
	if (lg->mode == MODE_HOLD) {
		watch_stdin(lg);
		open_holds(lg);
	} else
		for (k = 0; k < lg->nclients && may_start(lg); k++)
			client_start(lg, &lg->clients[k]);
	next_tick = now_ns() + LG_TICK_MS * 1000000ULL;

	for (;;) {
		now = now_ns();
		if (stop_flag)
			break;
		if (lg->mode == MODE_HOLD) {
			open_holds(lg);
			if (!settled_printed && lg->settled == lg->nclients) {
				print_hold(lg, "settled", now);
				settled_printed = true;
				hold_until = now +
				    (uint64_t)(lg->seconds * 1e9);
			}
			if (lg->stdin_eof ||
			    (settled_printed && now >= hold_until))
				break;
		} else {
			if (!lg->measuring && now >= lg->t_start) {
				stats_reset(lg);
				lg->measuring = true;
			}
			if (lg->requests > 0 && lg->started >= lg->requests &&
			    lg->active == 0)
				break;
			if (now >= lg->t_end)
				break;
		}
		if (now >= next_tick || lg->waiting > 0) {
			clients_tick(lg, now);
			next_tick = now + LG_TICK_MS * 1000000ULL;
		}
		timeout = lg->waiting > 0 ? 1 : LG_TICK_MS;
		if (lg->mode != MODE_HOLD && lg->t_end > now &&
		    (lg->t_end - now) / 1000000 < (uint64_t)timeout)
			timeout = (int)((lg->t_end - now) / 1000000) + 1;
		n = epoll_wait(lg->ep, evs, LG_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				stdin_event(lg);
			else
				client_event(lg, evs[i].data.ptr,
				    evs[i].events);
		}
	}
	now = now_ns();
	if (lg->mode == MODE_HOLD) {
		if (!settled_printed)
			print_hold(lg, "aborted", now);
		print_hold(lg, "done", now);
	} else
		print_result(lg, now);
	for (k = 0; k < lg->nclients; k++)
		close_socket(lg, &lg->clients[k]);
	close(lg->ep);
	return 0;
}

/* ---------------------------------------------------------- setup */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: loadgen lookup|churn|hold -p PORT [options]\n"
	    "\n"
	    "  lookup  closed-loop clients: connect, PORT_PLEASE2_REQ, read\n"
	    "          to EOF, check the reply, close, again.  Names: --name,\n"
	    "          --missing, or --prefix P --nodes N (P0..PN-1), taken\n"
	    "          round robin.\n"
	    "  churn   closed-loop clients: connect, ALIVE2_REQ (hv 6) with a\n"
	    "          name never used before (PREFIX<client>_<seq>), read\n"
	    "          the 6-byte reply (result 0), close, again.\n"
	    "  hold    register --nodes K names PREFIX0..PREFIXK-1 and keep\n"
	    "          them open; print a 'state=settled' line once every\n"
	    "          one is answered, then hold until stdin reaches EOF,\n"
	    "          --seconds pass, or SIGINT/SIGTERM.\n"
	    "\n"
	    "  -p, --port PORT       daemon port (required)\n"
	    "  -a, --address ADDR    daemon IPv4 address (127.0.0.1)\n"
	    "  -s, --src ADDR|none   bind this source address with\n"
	    "                        IP_BIND_ADDRESS_NO_PORT (hold:\n"
	    "                        127.0.0.2, churn: 127.0.0.3, lookup:\n"
	    "                        none)\n"
	    "      --src-ports LO-HI|auto|none\n"
	    "                        with --src, bind source ports from this\n"
	    "                        pool in turn (SO_REUSEADDR) instead:\n"
	    "                        TIME_WAITs of our own closes are reused,\n"
	    "                        not searched around.  auto: up to 4096\n"
	    "                        ports outside ip_local_port_range.\n"
	    "                        (churn: auto, else none)\n"
	    "  -c, --clients N       concurrent clients (32)\n"
	    "  -t, --seconds S       measured time (5); hold: time to hold\n"
	    "                        after settling (3600)\n"
	    "  -w, --warmup S        unmeasured time first (0)\n"
	    "  -n, --requests N      stop after N requests instead (then\n"
	    "                        --seconds is an upper bound)\n"
	    "  -T, --timeout S       per-request limit (10)\n"
	    "      --name NAME       look up NAME, expect it registered\n"
	    "      --missing NAME    look up NAME, expect 'w 1'\n"
	    "      --prefix P        name prefix (hold: hold, churn: churn)\n"
	    "      --nodes N         names P0..PN-1 (lookup), K (hold)\n"
	    "      --window N        hold: registrations in progress at once"
	    " (64)\n"
	    "      --node-port N     first port put in ALIVE2 (20000)\n"
	    "  -q, --quiet           no summary on stderr\n"
	    "  -h, --help\n"
	    "\n"
	    "stdout: one key=value line per result (hold: 'settled' then\n"
	    "'done'); errors are counted by kind: refused noport reset\n"
	    "closed short wrong failed timeout other.  Exit 0, or 2 on a\n"
	    "usage or setup error.\n");
}

static double
parse_double(const char *s, const char *what, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		die("bad %s '%s'", what, s);
	return v;
}

static void
parse_addr(const char *s, struct sockaddr_in *sin, const char *what)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, s, &sin->sin_addr) != 1)
		die("bad %s '%s' (an IPv4 address)", what, s);
}

/* --src-ports: LO-HI, none, or auto (a pool beside the ephemeral range). */
static void
parse_ports(struct lg *lg, const char *s)
{
	unsigned lo, hi;
	FILE *f;
	char tail;

	if (strcmp(s, "none") == 0 || !lg->has_src)
		return;
	if (strcmp(s, "auto") == 0) {
		f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
		if (f == NULL || fscanf(f, "%u %u", &lo, &hi) != 2) {
			if (f != NULL)
				fclose(f);
			return;
		}
		fclose(f);
		if (hi + 1024 <= 65535) {
			lg->port_lo = hi + 1;
			lg->port_hi = hi + LG_AUTO_POOL <= 65535
			    ? hi + LG_AUTO_POOL
			    : 65535;
		} else if (lo >= 2048) {
			lg->port_hi = lo - 1;
			lg->port_lo = lo - 1 >= 1024 + LG_AUTO_POOL
			    ? lo - LG_AUTO_POOL
			    : 1024;
		}
		return;
	}
	if (sscanf(s, "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1 ||
	    hi > 65535 || lo > hi)
		die("bad --src-ports '%s' (LO-HI, auto or none)", s);
	lg->port_lo = lo;
	lg->port_hi = hi;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "address", required_argument, NULL, 'a' },
		{ "src", required_argument, NULL, 's' },
		{ "clients", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "requests", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "name", required_argument, NULL, 'N' },
		{ "missing", required_argument, NULL, 'M' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "nodes", required_argument, NULL, 'K' },
		{ "window", required_argument, NULL, 'W' },
		{ "node-port", required_argument, NULL, 'O' },
		{ "src-ports", required_argument, NULL, 'R' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct lg lg;
	const char *names[LG_MAX_NAMES], *src = NULL, *ports = NULL, *mode;
	bool missing[LG_MAX_NAMES], have_port = false, have_clients = false,
				    have_seconds = false;
	size_t nnames = 0, i;
	struct sigaction sa;
	char name[LG_MAX_PREFIX + 16];
	int ch;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
			     strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	if (strcmp(mode, "lookup") == 0)
		lg.mode = MODE_LOOKUP;
	else if (strcmp(mode, "churn") == 0)
		lg.mode = MODE_CHURN;
	else if (strcmp(mode, "hold") == 0)
		lg.mode = MODE_HOLD;
	else {
		usage(stderr);
		return 2;
	}
	parse_addr("127.0.0.1", &lg.dst, "address");
	lg.nclients = 32;
	lg.seconds = 5;
	lg.timeout = 10;
	lg.window = 64;
	lg.node_port = 20000;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "p:a:s:c:t:w:n:T:qh", longopts,
		    NULL)) != -1) {
		switch (ch) {
		case 'p':
			lg.dst.sin_port = htons((uint16_t)parse_double(optarg,
			    "port", 1, 65535));
			have_port = true;
			break;
		case 'a':
			parse_addr(optarg, &lg.dst, "address");
			break;
		case 's':
			src = optarg;
			break;
		case 'c':
			lg.nclients = (unsigned)parse_double(optarg,
			    "client count", 1, LG_MAX_CLIENTS);
			have_clients = true;
			break;
		case 't':
			lg.seconds = parse_double(optarg, "seconds", 0,
			    86400);
			have_seconds = true;
			break;
		case 'w':
			lg.warmup = parse_double(optarg, "warmup", 0, 3600);
			break;
		case 'n':
			lg.requests = (uint64_t)parse_double(optarg,
			    "request count", 1, 1e12);
			break;
		case 'T':
			lg.timeout = parse_double(optarg, "timeout", 0.001,
			    3600);
			break;
		case 'N':
		case 'M':
			if (nnames == LG_MAX_NAMES)
				die("at most %d --name/--missing",
				    LG_MAX_NAMES);
			missing[nnames] = ch == 'M';
			names[nnames++] = optarg;
			break;
		case 'P':
			if (strlen(optarg) > LG_MAX_PREFIX)
				die("prefix longer than %d", LG_MAX_PREFIX);
			lg.prefix = optarg;
			break;
		case 'K':
			lg.nodes = (unsigned)parse_double(optarg,
			    "node count", 1, LG_MAX_NODES);
			break;
		case 'W':
			lg.window = (unsigned)parse_double(optarg, "window", 1,
			    LG_MAX_CLIENTS);
			break;
		case 'O':
			lg.node_port = (unsigned)parse_double(optarg,
			    "node port", 1, 45535);
			break;
		case 'R':
			ports = optarg;
			break;
		case 'q':
			lg.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !have_port) {
		usage(stderr);
		return 2;
	}

	if (src == NULL)
		src = lg.mode == MODE_HOLD ? "127.0.0.2"
		    : lg.mode == MODE_CHURN ? "127.0.0.3"
					    : "none";
	if (strcmp(src, "none") != 0) {
		parse_addr(src, &lg.src, "source address");
		lg.has_src = true;
	}
	if (ports == NULL)
		ports = lg.mode == MODE_CHURN ? "auto" : "none";
	parse_ports(&lg, ports);
	switch (lg.mode) {
	case MODE_LOOKUP:
		if (lg.nodes > 0 && lg.prefix == NULL)
			die("--nodes needs --prefix for lookups");
		lg.reqs = calloc(nnames + lg.nodes, sizeof(*lg.reqs));
		if (lg.reqs == NULL)
			die("out of memory");
		for (i = 0; i < nnames; i++)
			add_request(&lg, names[i], missing[i]);
		for (i = 0; i < lg.nodes; i++) {
			snprintf(name, sizeof(name), "%s%zu", lg.prefix, i);
			add_request(&lg, name, false);
		}
		if (lg.nreqs == 0)
			die("lookup needs --name, --missing or "
			    "--prefix/--nodes");
		lg.reply_cap = LG_REPLY_MAX;
		break;
	case MODE_CHURN:
		if (lg.prefix == NULL)
			lg.prefix = "churn";
		lg.reply_cap = LG_ALIVE_REPLY + 2;
		break;
	case MODE_HOLD:
		if (lg.nodes == 0)
			die("hold needs --nodes K");
		if (have_clients)
			die("hold takes --nodes, not --clients");
		if (lg.prefix == NULL)
			lg.prefix = "hold";
		lg.nclients = lg.nodes;
		if (!have_seconds)
			lg.seconds = 3600;
		lg.reply_cap = LG_ALIVE_REPLY + 2;
		break;
	}
	if (lg.requests > 0)
		lg.warmup = 0;

	lg.clients = calloc(lg.nclients, sizeof(*lg.clients));
	lg.replies = malloc((size_t)lg.nclients * lg.reply_cap);
	if (lg.clients == NULL || lg.replies == NULL)
		die("out of memory");
	for (i = 0; i < lg.nclients; i++) {
		lg.clients[i].fd = -1;
		lg.clients[i].id = (unsigned)i;
		lg.clients[i].reply = lg.replies + i * lg.reply_cap;
	}

	raise_nofile();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return run(&lg);
}
