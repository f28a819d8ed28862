/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * log: formatting, filtering, rate limiting and the three destinations.
 * The only process-wide state outside main; errno is preserved across
 * every call so callers can log before they look at it.
 */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
	const char *progname;
	enum log_dest dest;
	int verbosity;
	log_sink_fn *sink;
	void *sink_arg;
	struct log_limit peer; /* log_peer's */
} L = { "epmdd", LOG_TO_STDERR, 0, NULL, NULL,
	LOG_LIMIT_INIT(LOG_PEER_BURST, LOG_PEER_INTERVAL,
	    "messages about peers") };

static struct {
	const char *what[LOG_MAX_MARKS];
	double ms[LOG_MAX_MARKS];
	size_t n;
} M;

void
log_mark(const char *what)
{
	struct timespec ts;

	if (M.n == LOG_MAX_MARKS)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	M.what[M.n] = what;
	M.ms[M.n++] = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void
log_marks(const char *title)
{
	char line[LOG_MAX_LINE];
	size_t i, len;
	int w;

	if (M.n == 0)
		return;
	w = snprintf(line, sizeof(line), "%s: at %.1f ms", title, M.ms[0]);
	len = w > 0 ? (size_t)w : 0;
	for (i = 0; i < M.n && len < sizeof(line); i++) {
		w = snprintf(line + len, sizeof(line) - len, " %s +%.1f",
		    M.what[i], M.ms[i] - M.ms[i > 0 ? i - 1 : 0]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	M.n = 0;
	log_debug("%s", line);
}

void
log_init(const char *progname, enum log_dest dest, int verbosity)
{
	L.progname = progname;
	L.dest = dest;
	L.verbosity = verbosity;
	if (dest == LOG_TO_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_verbosity(int verbosity)
{
	L.verbosity = verbosity;
}

int
log_get_verbosity(void)
{
	return L.verbosity;
}

void
log_set_sink(log_sink_fn *fn, void *arg)
{
	L.sink = fn;
	L.sink_arg = arg;
}

/* Is a message at this priority (and trace depth) shown at all? */
static int
wanted(int priority, int depth)
{
	if (priority < LOG_DEBUG)
		return 1;
	return L.verbosity >= depth;
}

static const char *
level_name(int priority)
{
	switch (priority) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void
emit(int priority, const struct log_src *src, const char *msg,
    const struct log_field *fields, size_t nfields)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	if (L.sink != NULL) {
		L.sink(L.sink_arg, priority, src, msg, fields, nfields);
		return;
	}
	switch (L.dest) {
	case LOG_TO_SYSLOG:
		syslog(priority, "%s", msg);
		break;
	case LOG_TO_JOURNAL:
		fprintf(stderr, "<%d>%s\n", priority, msg);
		break;
	case LOG_TO_STDERR:
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s: %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, L.progname, level_name(priority),
		    msg);
		break;
	}
}

static void
vlog(int priority, int depth, const struct log_src *src,
    const struct log_field *fields, size_t nfields, const char *suffix,
    const char *fmt, va_list ap)
{
	char msg[LOG_MAX_LINE];
	int saved = errno;
	int n;

	if (!wanted(priority, depth)) {
		errno = saved;
		return;
	}
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n >= 0 && suffix != NULL && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", suffix);
	emit(priority, src, msg, fields, nfields);
	errno = saved;
}

#define LOG_WRAPPER(name, prio, depth)                                 \
	void name(LOG_AT_PARAMS, const char *fmt, ...)                \
	{                                                             \
		struct log_src src = { file, line, func };            \
		va_list ap;                                           \
		va_start(ap, fmt);                                    \
		vlog(prio, depth, &src, NULL, 0, NULL, fmt, ap);      \
		va_end(ap);                                           \
	}

LOG_WRAPPER(log_errx_at, LOG_ERR, 0)
LOG_WRAPPER(log_warnx_at, LOG_WARNING, 0)
LOG_WRAPPER(log_notice_at, LOG_NOTICE, 0)
LOG_WRAPPER(log_info_at, LOG_INFO, 0)
LOG_WRAPPER(log_debug_at, LOG_DEBUG, 1)
LOG_WRAPPER(log_trace_at, LOG_DEBUG, 2)

void
log_warn_at(LOG_AT_PARAMS, const char *fmt, ...)
{
	struct log_src src = { file, line, func };
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_WARNING, 0, &src, NULL, 0, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

/*
 * May one more message go out under limit?  Opens a new window when the
 * last one is over, first saying how many the last one dropped.
 */
static bool
limit_admit(struct log_limit *limit, int priority)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec - limit->window >= (long long)limit->interval) {
		if (limit->suppressed > 0) {
			char msg[128];

			snprintf(msg, sizeof(msg), "%lu %s suppressed",
			    limit->suppressed, limit->what);
			emit(priority, NULL, msg, NULL, 0);
		}
		limit->window = ts.tv_sec;
		limit->in_window = 0;
		limit->suppressed = 0;
	}
	if (limit->in_window >= limit->burst) {
		limit->suppressed++;
		return false;
	}
	limit->in_window++;
	return true;
}

bool
log_admit(struct log_limit *limit, int priority)
{
	return wanted(priority, priority == LOG_DEBUG ? 1 : 0) &&
	    limit_admit(limit, priority);
}

void
log_peer_at(LOG_AT_PARAMS, const char *fmt, ...)
{
	struct log_src src = { file, line, func };
	va_list ap;
	int saved = errno;

	if (!wanted(LOG_DEBUG, 1) || !limit_admit(&L.peer, LOG_DEBUG)) {
		errno = saved;
		return;
	}
	va_start(ap, fmt);
	vlog(LOG_DEBUG, 1, &src, NULL, 0, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_limited_at(LOG_AT_PARAMS, struct log_limit *limit, int priority,
    const struct log_field *fields, size_t n, const char *fmt, ...)
{
	struct log_src src = { file, line, func };
	int depth = priority == LOG_DEBUG ? 1 : 0;
	va_list ap;
	int saved = errno;

	if (!wanted(priority, depth) || !limit_admit(limit, priority)) {
		errno = saved;
		return;
	}
	va_start(ap, fmt);
	vlog(priority, depth, &src, fields, n, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_fields_at(LOG_AT_PARAMS, int priority, const struct log_field *fields,
    size_t n, const char *fmt, ...)
{
	struct log_src src = { file, line, func };
	va_list ap;

	va_start(ap, fmt);
	vlog(priority, priority == LOG_DEBUG ? 1 : 0, &src, fields, n, NULL,
	    fmt, ap);
	va_end(ap);
}

int
log_errno_at(LOG_AT_PARAMS, int priority, int err, const char *fmt, ...)
{
	struct log_src src = { file, line, func };
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(priority, priority == LOG_DEBUG ? 1 : 0, &src, NULL, 0,
	    strerror(err < 0 ? -err : err), fmt, ap);
	va_end(ap);
	errno = saved;
	return err;
}

void
fatal_at(LOG_AT_PARAMS, const char *fmt, ...)
{
	struct log_src src = { file, line, func };
	va_list ap;
	const char *err = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_ERR, 0, &src, NULL, 0, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx_at(LOG_AT_PARAMS, const char *fmt, ...)
{
	struct log_src src = { file, line, func };
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 0, &src, NULL, 0, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
