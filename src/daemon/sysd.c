/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * sysd: thin wrappers over libsystemd's sd-daemon and sd-journal.
 * Sockets are told apart by what they are (sd_is_socket_*), never by
 * their order or by a name alone: one .socket unit gives all of its
 * sockets the same FileDescriptorName=.
 */
#include "sysd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
/*
 * Without this, sd_journal_sendv() is a macro that stamps every record
 * with its own location (this file's sink); the sink adds the caller's.
 */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "upgrade.h"
#include "util.h"

static enum sysd_fd_kind
classify(int fd, int *family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	struct stat st;

	*family = 0;
	if (fstat(fd, &st) == 0 && !S_ISSOCK(st.st_mode))
		return SYSD_FILE;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		*family = ss.ss_family;
	if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0)
		return SYSD_TCP_LISTENER;
	if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0)
		return SYSD_UNIX_LISTENER;
	if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 0, 0) > 0)
		return SYSD_TCP_CONNECTED;
	return SYSD_OTHER;
}

/*
 * The names an upgrade passes when they do not fit in the environment:
 * the same colon-separated list, in a memfd named by UPGRADE_NAMES_ENV.
 * Returns a malloc'd string, or NULL if there is none.
 */
static char *
names_from_memfd(void)
{
	const char *e = getenv(UPGRADE_NAMES_ENV);
	struct stat st;
	char *buf = NULL;
	ssize_t got;
	int fd;

	if (e == NULL)
		return NULL;
	fd = atoi(e);
	unsetenv(UPGRADE_NAMES_ENV);
	if (fd < 3 || fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size > 16 * 1024 * 1024) {
		if (fd >= 3)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf != NULL) {
		got = pread(fd, buf, (size_t)st.st_size, 0);
		buf[got > 0 ? got : 0] = '\0';
	}
	close(fd);
	return buf;
}

enum sysd_fd_kind
sysd_classify(int fd, int *family)
{
	return classify(fd, family);
}

/*
 * LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES read here rather than by
 * sd_listen_fds_with_names(), which sets close-on-exec on every
 * descriptor (two fcntl calls each) before returning: with 15000
 * registrations passed that is most of a restart's pause.  The same
 * checks: the variables must name this process, and are unset.
 */
static int
passed_count(void)
{
	const char *e;
	char *end;
	unsigned long v;

	e = getenv("LISTEN_PID");
	if (e == NULL)
		return 0;
	errno = 0;
	v = strtoul(e, &end, 10);
	if (errno != 0 || end == e || *end != '\0' || v == 0)
		return -EINVAL;
	if ((pid_t)v != getpid())
		return 0;
	e = getenv("LISTEN_FDS");
	if (e == NULL)
		return 0;
	errno = 0;
	v = strtoul(e, &end, 10);
	if (errno != 0 || end == e || *end != '\0' ||
	    v > (unsigned long)(INT_MAX - SD_LISTEN_FDS_START))
		return -EINVAL;
	return (int)v;
}

int
sysd_listen_fds(bool (*defer)(const char *name), struct sysd_fd **ret)
{
	struct sysd_fd *fds;
	const char *env;
	char *names, *from_memfd, *tok;
	size_t nlen;
	int n, i;

	*ret = NULL;
	n = passed_count();
	from_memfd = n > 0 ? names_from_memfd() : NULL;
	env = getenv("LISTEN_FDNAMES");
	if (from_memfd != NULL)
		env = from_memfd;
	nlen = env != NULL ? strlen(env) : 0;
	/* The array, then a copy of the names, split in place. */
	fds = n > 0 ? calloc(1, (size_t)n * sizeof(*fds) + nlen + 1) : NULL;
	if (fds == NULL) {
		free(from_memfd);
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		unsetenv(UPGRADE_NAMES_ENV);
		return n > 0 ? -ENOMEM : n;
	}
	names = (char *)(fds + n);
	if (nlen > 0)
		memcpy(names, env, nlen);
	free(from_memfd);
	tok = env != NULL ? names : NULL;
	for (i = 0; i < n; i++) {
		size_t len;

		fds[i].fd = SD_LISTEN_FDS_START + i;
		fds[i].name = names + nlen; /* "" */
		if (tok == NULL)
			continue;
		len = strcspn(tok, ":");
		if (len < 256 && !(len == 7 && strncmp(tok, "unknown", 7) == 0))
			fds[i].name = tok;
		if (tok[len] == ':') {
			tok[len] = '\0';
			tok += len + 1;
		} else
			tok = NULL;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (i = 0; i < n; i++) {
		if (defer != NULL && fds[i].name[0] != '\0' &&
		    defer(fds[i].name)) {
			fds[i].kind = SYSD_DEFERRED;
			continue;
		}
		(void)fcntl(fds[i].fd, F_SETFD, FD_CLOEXEC);
		fds[i].kind = classify(fds[i].fd, &fds[i].family);
	}
	*ret = fds;
	return n;
}

bool
sysd_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return dev == (unsigned long long)st.st_dev &&
	    ino == (unsigned long long)st.st_ino;
}

/*
 * Fields beyond MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and the three
 * CODE_* ones.
 */
#define SYSD_MAX_FIELDS 16
#define SYSD_FIXED_FIELDS 6

void
sysd_journal_sink(void *arg, int priority, const struct log_src *src,
    const char *msg, const struct log_field *fields, size_t nfields)
{
	const char *ident = program_invocation_short_name;
	struct iovec iov[SYSD_FIXED_FIELDS + SYSD_MAX_FIELDS];
	char buf[SYSD_FIXED_FIELDS + SYSD_MAX_FIELDS][LOG_MAX_LINE + 32];
	size_t n = 0, i;

	(void)arg;
	snprintf(buf[n], sizeof(buf[n]), "MESSAGE=%s", msg);
	n++;
	snprintf(buf[n], sizeof(buf[n]), "PRIORITY=%d", priority);
	n++;
	snprintf(buf[n], sizeof(buf[n]), "SYSLOG_IDENTIFIER=%s", ident);
	n++;
	if (src != NULL) {
		snprintf(buf[n], sizeof(buf[n]), "CODE_FILE=%s", src->file);
		n++;
		snprintf(buf[n], sizeof(buf[n]), "CODE_LINE=%d", src->line);
		n++;
		snprintf(buf[n], sizeof(buf[n]), "CODE_FUNC=%s", src->func);
		n++;
	}
	for (i = 0; i < nfields && i < SYSD_MAX_FIELDS; i++, n++)
		snprintf(buf[n], sizeof(buf[n]), "%s=%s", fields[i].key,
		    fields[i].value);
	for (i = 0; i < n; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = strlen(buf[i]);
	}
	if (sd_journal_sendv(iov, (int)n) < 0)
		fprintf(stderr, "<%d>%s\n", priority, msg);
}

static void
notify(const char *msg)
{
	/* 0 (not under systemd) and errors are both not worth a log line. */
	(void)sd_notify(0, msg);
}

void
sysd_notify_ready(const char *status)
{
	char msg[1200];

	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld%s%s", (long)getpid(),
	    status != NULL ? "\nSTATUS=" : "", status != NULL ? status : "");
	notify(msg);
}

void
sysd_notify_status(const char *status)
{
	char msg[1200];

	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	notify(msg);
}

void
sysd_notify_stopping(void)
{
	notify("STOPPING=1\nSTATUS=Stopping.");
}

void
sysd_notify_reloading(const char *status)
{
	struct timespec ts;
	char msg[1200];

	/* MONOTONIC_USEC: what systemd 253 and later want with it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s",
	    (unsigned long long)ts.tv_sec * 1000000ull +
		(unsigned long long)ts.tv_nsec / 1000ull,
	    status);
	notify(msg);
}

void
sysd_notify_watchdog(void)
{
	notify("WATCHDOG=1");
}

void
sysd_notify_mainpid(pid_t pid)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "MAINPID=%ld", (long)pid);
	notify(msg);
}

bool
sysd_notify_available(void)
{
	const char *e = getenv("NOTIFY_SOCKET");

	return e != NULL && e[0] != '\0';
}

int
sysd_fdstore_add(int fd, const char *name)
{
	char msg[300];
	int r;

	/*
	 * FDPOLL=0: systemd otherwise drops a stored descriptor that polls
	 * EPOLLHUP, as a parked segment's reading end does once its writing
	 * end is closed (park.c).
	 */
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDPOLL=0\nFDNAME=%s", name);
	r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	return r < 0 ? r : 0;
}

int
sysd_fdstore_remove(const char *name)
{
	char msg[300];
	int r;

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	r = sd_notify(0, msg);
	return r < 0 ? r : 0;
}

uint64_t
sysd_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
	return 0;
}
