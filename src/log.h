/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * log: the logging front end.  Levels are syslog priorities; the
 * destination is chosen once (stderr, stderr for journald with <N>
 * prefixes, or syslog) and a sink hook can take over (structured
 * journal records, tests).  Messages caused by remote peers go through
 * log_peer, which is rate-limited.  Never writes to stdout.
 */
#ifndef EPMDD_LOG_H
#define EPMDD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

/* Peer-caused debug messages: at most BURST per INTERVAL seconds. */
#define LOG_PEER_BURST 20
#define LOG_PEER_INTERVAL 1
#define LOG_MAX_LINE 1024

enum log_dest {
	LOG_TO_STDERR,	/* timestamped lines on stderr */
	LOG_TO_JOURNAL, /* "<N>message" lines on stderr (JOURNAL_STREAM) */
	LOG_TO_SYSLOG,	/* syslog(3), for -daemon */
};

/* One structured field (KEY=value) for sinks that keep them. */
struct log_field {
	const char *key;
	const char *value;
};

/*
 * A sink receives every message that passes the verbosity filter,
 * instead of the destination.  fields may be NULL.
 */
typedef void log_sink_fn(void *arg, int priority, const char *msg,
    const struct log_field *fields, size_t nfields);

/*
 * Set the program name shown in lines, the destination and the
 * verbosity: 0 shows up to LOG_INFO, 1 adds LOG_DEBUG, 2 adds per-request
 * traces (log_trace).
 */
void log_init(const char *progname, enum log_dest dest, int verbosity);
void log_set_verbosity(int verbosity);
int log_get_verbosity(void);
void log_set_sink(log_sink_fn *fn, void *arg);

/* A failure that ends the daemon, logged where the cause is known. */
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Per-request detail, shown from verbosity 2 (-d -d). */
void log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug message caused by a remote peer: rate-limited. */
void log_peer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A message with structured fields (for journald). */
void log_fields(int priority, const struct log_field *fields, size_t n,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Log at priority with ": strerror(-err)" appended; returns err (a
 * negative errno) so callers can "return log_errno(...)".
 */
int log_errno(int priority, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Startup only: log and exit(1). */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
