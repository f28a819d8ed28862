/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * log: the logging front end.  Levels are syslog priorities; the
 * destination is chosen once (stderr, stderr for journald with <N>
 * prefixes, or syslog) and a sink hook can take over (structured
 * journal records, tests).  Messages caused by remote peers go through
 * log_peer, which is rate-limited; log_limited applies a limit of the
 * caller's to other messages a peer can repeat.  The log_*() macros pass their
 * caller's file, line and function along for the sink.  Never writes to
 * stdout.
 */
#ifndef EPMDD_LOG_H
#define EPMDD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/* Peer-caused debug messages: at most BURST per INTERVAL seconds. */
#define LOG_PEER_BURST 20
#define LOG_PEER_INTERVAL 1
#define LOG_MAX_LINE 1024
/* Node names (escaped) are cut to this many bytes in log lines. */
#define LOG_NAME_SIZE 512

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
 * Where a message was logged: the file, line and function that called
 * log_*() (the macros below fill it in).  Sinks get NULL for messages
 * that have no single caller, such as a summary of suppressed ones.
 */
struct log_src {
	const char *file;
	int line;
	const char *func;
};

/*
 * A sink receives every message that passes the verbosity filter,
 * instead of the destination.  src and fields may be NULL.
 */
typedef void log_sink_fn(void *arg, int priority, const struct log_src *src,
    const char *msg, const struct log_field *fields, size_t nfields);

/*
 * Set the program name shown in lines, the destination and the
 * verbosity: 0 shows up to LOG_INFO, 1 adds LOG_DEBUG, 2 adds per-request
 * traces (log_trace).
 */
void log_init(const char *progname, enum log_dest dest, int verbosity);
void log_set_verbosity(int verbosity);
int log_get_verbosity(void);
void log_set_sink(log_sink_fn *fn, void *arg);

/*
 * A rate limit for one kind of message: at most burst messages in a
 * window of interval seconds; the first message after a window in which
 * some were dropped is preceded by "N <what> suppressed", at the same
 * priority.  Initialise with LOG_LIMIT_INIT.
 */
struct log_limit {
	unsigned burst;
	unsigned interval;
	const char *what;
	long long window;
	unsigned in_window;
	unsigned long suppressed;
};
#define LOG_LIMIT_INIT(burst, interval, what) \
	{ (burst), (interval), (what), 0, 0, 0 }

/*
 * Would a message at priority pass the verbosity filter and limit?  If
 * so it counts against the limit, and the caller logs it (log_fields);
 * if not, it is counted as suppressed.  A caller that asks first spends
 * nothing on formatting a message that would be dropped.
 */
bool log_admit(struct log_limit *limit, int priority);

/*
 * The log_*() names below are macros that pass the caller's location to
 * the *_at() functions; call the macros.
 */
#define LOG_AT __FILE__, __LINE__, __func__
#define LOG_AT_PARAMS const char *file, int line, const char *func

/* A failure that ends the daemon, logged where the cause is known. */
#define log_errx(...) log_errx_at(LOG_AT, __VA_ARGS__)
#define log_warn(...) log_warn_at(LOG_AT, __VA_ARGS__)
#define log_warnx(...) log_warnx_at(LOG_AT, __VA_ARGS__)
#define log_notice(...) log_notice_at(LOG_AT, __VA_ARGS__)
#define log_info(...) log_info_at(LOG_AT, __VA_ARGS__)
#define log_debug(...) log_debug_at(LOG_AT, __VA_ARGS__)
/* Per-request detail, shown from verbosity 2 (-d -d). */
#define log_trace(...) log_trace_at(LOG_AT, __VA_ARGS__)
/* Debug message caused by a remote peer: rate-limited. */
#define log_peer(...) log_peer_at(LOG_AT, __VA_ARGS__)
/* A message with structured fields (for journald). */
#define log_fields(...) log_fields_at(LOG_AT, __VA_ARGS__)
/* A message with fields, at priority, within a rate limit. */
#define log_limited(...) log_limited_at(LOG_AT, __VA_ARGS__)
/*
 * Log at priority with ": strerror(-err)" appended; returns err (a
 * negative errno) so callers can "return log_errno(...)".
 */
#define log_errno(...) log_errno_at(LOG_AT, __VA_ARGS__)
/* Startup only: log and exit(1). */
#define fatal(...) fatal_at(LOG_AT, __VA_ARGS__)
#define fatalx(...) fatalx_at(LOG_AT, __VA_ARGS__)

void log_errx_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_warn_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_warnx_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Phase marks (issue 17): log_mark notes CLOCK_MONOTONIC under a name
 * (a static string; at most LOG_MAX_MARKS are kept); log_marks logs
 * them at debug level as one line, "title: at T ms what +ms ...", T
 * absolute, so that the lines of an old and a new process line up, and
 * forgets them.
 */
#define LOG_MAX_MARKS 16
void log_mark(const char *what);
void log_marks(const char *title);

void log_notice_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_info_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_debug_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_trace_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_peer_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_fields_at(LOG_AT_PARAMS, int priority,
    const struct log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void log_limited_at(LOG_AT_PARAMS, struct log_limit *limit, int priority,
    const struct log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
int log_errno_at(LOG_AT_PARAMS, int priority, int err, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void fatal_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
void fatalx_at(LOG_AT_PARAMS, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));

#endif
