/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * cmd_watch: epmdctl watch, the daemon's events as they happen, one
 * line (or one JSON document) each, until interrupted; when the daemon
 * goes away (an upgrade, a restart) it says so and subscribes again,
 * unless --no-reconnect.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "codec.h"
#include "conn.h"
#include "ctlproto.h"
#include "ctlschema.h"
#include "epmdctl.h"
#include "format.h"
#include "output.h"
#include "util.h"

/*
 * When the daemon goes away: the first attempt to reconnect after
 * WATCH_RETRY_MIN_MS, each next one twice as late, at most
 * WATCH_RETRY_MAX_MS apart, until subscribed or interrupted.
 */
#define WATCH_RETRY_MIN_MS 100
#define WATCH_RETRY_MAX_MS 1000

static void
on_interrupt(int sig)
{
	(void)sig;
	conn_interrupt();
}

/* watch --json: the time, then the event's fields as ctlschema says. */
static json_t *
event_json(const struct ctl_msg *m, const char *stamp)
{
	json_t *doc = json_pack("{s:s}", "time", stamp);

	output_json_message(doc, m);
	return doc;
}

static void
print_event(const struct ctl_msg *m)
{
	char ev[32], peer[128], reason[64], request[32], stamp[48], user[64],
	    shown[CODEC_MAX_NAME_BYTES * 4 + 1], type[32], rule[256];
	const struct ctl_field *name = ctlproto_find(m, CTL_KEY(NAME));

	format_time(ctlproto_u64(m, CTL_KEY(TIME_MS), 0), stamp, sizeof(stamp));
	ctlproto_str(m, CTL_KEY(EVENT), ev, sizeof(ev));
	if (opts.json) {
		output_json(event_json(m, stamp));
		return;
	}
	printf("%s %s", stamp, ev);
	if (name != NULL) {
		format_safe(name->p, name->len, shown, sizeof(shown));
		printf(" %s", shown);
	}
	if (strcmp(ev, "registered") == 0) {
		format_type(ctlproto_u64(m, CTL_KEY(TYPE), 0), type,
		    sizeof(type));
		format_user(ctlproto_u64(m, CTL_KEY(UID), UINT32_MAX), user,
		    sizeof(user));
		printf(" port %llu creation %llu type %s from %s (user %s)",
		    (unsigned long long)ctlproto_u64(m, CTL_KEY(PORT), 0),
		    (unsigned long long)ctlproto_u64(m, CTL_KEY(CREATION), 0),
		type,
		    ctlproto_str(m, CTL_KEY(PEER), peer, sizeof(peer)), user);
	} else if (strcmp(ev, "unregistered") == 0)
		printf(" port %llu creation %llu: %s",
		    (unsigned long long)ctlproto_u64(m, CTL_KEY(PORT), 0),
		    (unsigned long long)ctlproto_u64(m, CTL_KEY(CREATION), 0),
		    ctlproto_str(m, CTL_KEY(REASON), reason, sizeof(reason)));
	else {
		printf(" %s from %s: %s",
		    ctlproto_str(m, CTL_KEY(REQUEST), request, sizeof(request)),
		    ctlproto_str(m, CTL_KEY(PEER), peer, sizeof(peer)),
		    ctlproto_str(m, CTL_KEY(REASON), reason, sizeof(reason)));
		/* The policy's refusals say which rule decided. */
		if (ctlproto_find(m, CTL_KEY(RULE)) != NULL)
			printf(" (%s)", ctlproto_str(m, CTL_KEY(RULE), rule,
					    sizeof(rule)));
	}
	putchar('\n');
	fflush(stdout);
}

/*
 * watch's own lines, shaped like events: "disconnected" when the daemon
 * went away, "reconnected" when subscribed again.
 */
static void
print_watch_state(const char *ev, const char *text)
{
	struct timespec ts;
	char stamp[48];
	uint64_t ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	format_time(ms, stamp, sizeof(stamp));
	if (opts.json)
		output_json(json_pack("{s:s,s:o,s:s,s:o}", "time", stamp,
		    "time_ms", output_json_u64(ms), "event", ev, "socket",
		    output_json_str(opts.path)));
	else
		printf("%s %s %s: %s\n", stamp, ev, opts.path, text);
	fflush(stdout);
}

/*
 * Connect and subscribe.  1 when subscribed; 0 when it may work later
 * (the daemon unreachable, gone before answering, silent, or busy);
 * -1 when it will not (an error answer, reported; an interrupt).  Either
 * way, *status is the exit status for it.  again: a reconnection, whose
 * failed attempts say nothing.
 */
static int
watch_subscribe(struct conn *c, bool again, int *status)
{
	struct conn_req req;
	struct ctl_msg m;
	int r;

	conn_req_begin(&req, CTL_WATCH);
	output_quiet(again);
	*status = conn_open(c, &req);
	r = *status == EXIT_OK ? conn_next(c, &m, EPMDCTL_TIMEOUT * 1000) : -1;
	output_quiet(false);
	if (r > 0 && m.type == CTL_OK)
		return 1;
	conn_close(c);
	if (conn_interrupted())
		return -1;
	if (r > 0 && m.type == CTL_ERROR &&
	    !(again && ctlproto_u64(&m, CTL_KEY(CODE), 0) == CTL_ERR_BUSY)) {
		*status = conn_report_error("watch", &m);
		return -1;
	}
	if (r == 0 && !again)
		output_warn("epmdd closed the connection");
	if (*status == EXIT_OK)
		*status = EXIT_UNREACHABLE;
	return again ? 0 : -1;
}

/*
 * Subscribe again after the daemon went away, waiting longer between
 * attempts up to WATCH_RETRY_MAX_MS.  1 when subscribed, -1 as
 * watch_subscribe or when interrupted (SIGINT and SIGTERM are blocked
 * but during the waits, so that none is missed).
 */
static int
watch_reconnect(struct conn *c, int *status)
{
	unsigned wait_ms = WATCH_RETRY_MIN_MS;
	sigset_t block, old;
	struct timespec ts;
	int r;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	for (;;) {
		sigprocmask(SIG_BLOCK, &block, &old);
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = (long)(wait_ms % 1000) * 1000000;
		if (!conn_interrupted())
			(void)ppoll(NULL, 0, &ts, &old);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (conn_interrupted()) {
			*status = EXIT_OK;
			return -1;
		}
		if ((r = watch_subscribe(c, true, status)) != 0)
			return r;
		wait_ms = UTIL_MIN(wait_ms * 2, WATCH_RETRY_MAX_MS);
	}
}

/* Events until interrupted, through reconnections. */
static int
watch(struct conn *c)
{
	struct ctl_msg m;
	int r, status;

	if (watch_subscribe(c, false, &status) < 0)
		return conn_interrupted() ? EXIT_OK : status;
	for (;;) {
		while ((r = conn_next(c, &m, -1)) > 0)
			if (m.type == CTL_EVENT)
				print_event(&m);
		conn_close(c);
		if (conn_interrupted())
			return EXIT_OK;
		if (r < 0)
			return EXIT_UNREACHABLE; /* a bad message, told */
		if (opts.no_reconnect) {
			output_warn("epmdd closed the connection");
			return EXIT_UNREACHABLE;
		}
		print_watch_state("disconnected",
		    "epmdd closed the connection; reconnecting");
		if (watch_reconnect(c, &status) < 0)
			return conn_interrupted() ? EXIT_OK : status;
		print_watch_state("reconnected",
		    "events while disconnected were not seen");
	}
}


int
cmd_watch(int argc, char **argv)
{
	struct conn *c;
	struct sigaction sa;
	int r;

	(void)argc;
	(void)argv;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((c = conn_new()) == NULL)
		return EXIT_FAIL;
	r = watch(c);
	conn_free(c);
	return r;
}
