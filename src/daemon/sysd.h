/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * sysd: everything epmdd asks of systemd, and the only file that
 * includes <systemd/...>: the sockets passed by socket activation (and
 * their names), sd_notify messages (READY, STATUS, STOPPING, WATCHDOG,
 * MAINPID), the watchdog interval, and a log sink that writes structured
 * journal records.  Every call is harmless outside systemd.
 */
#ifndef EPMDD_SYSD_H
#define EPMDD_SYSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"

enum sysd_fd_kind {
	SYSD_TCP_LISTENER,  /* a listening TCP socket (IPv4, IPv6, dual) */
	SYSD_UNIX_LISTENER, /* a listening AF_UNIX stream socket */
	SYSD_TCP_CONNECTED, /* a connected TCP socket */
	SYSD_FILE,	    /* not a socket (a memfd with saved state) */
	SYSD_OTHER,	    /* another kind of socket (datagram...) */
	SYSD_DEFERRED,	    /* not looked at yet: sysd_classify later */
};

struct sysd_fd {
	int fd;
	enum sysd_fd_kind kind;
	int family;	/* AF_INET, AF_INET6, AF_UNIX or 0 */
	/*
	 * LISTEN_FDNAMES entry, "" if none (or 256 bytes or longer): in
	 * the same allocation as the array, so that 15000 of them take
	 * their length, not 256 bytes each (issue 17).
	 */
	const char *name;
};

/*
 * Take the descriptors passed with LISTEN_FDS (and LISTEN_FDNAMES, or
 * the names memfd an upgrade passes when they are too many) for this
 * process, classified; the variables are unset so that children do not
 * see them.  A descriptor whose name defer() accepts is left as it is
 * (SYSD_DEFERRED, close-on-exec not set): no system call is made for it
 * here, so that start-up costs the same with 15000 of them (issue 17);
 * the caller classifies it later with sysd_classify.  The others get
 * close-on-exec.  defer may be NULL.  Returns the number of descriptors
 * (0 if none were passed; *ret is then NULL) with a malloc'd array in
 * *ret (one free() releases it and the names), or a negative errno.
 */
int sysd_listen_fds(bool (*defer)(const char *name), struct sysd_fd **ret);

/* What fd is (never SYSD_DEFERRED); *family as in struct sysd_fd. */
enum sysd_fd_kind sysd_classify(int fd, int *family);

/* Is stderr connected to the journal (JOURNAL_STREAM matches)? */
bool sysd_stderr_is_journal(void);

/*
 * A log sink writing native journal records (MESSAGE, PRIORITY,
 * SYSLOG_IDENTIFIER (the program's name), CODE_FILE, CODE_LINE and
 * CODE_FUNC (where log_*() was called, when src is given) and the fields
 * given); falls
 * back to "<N>" lines on stderr if the journal cannot be reached.
 * Install with log_set_sink(sysd_journal_sink, NULL).
 */
void sysd_journal_sink(void *arg, int priority, const struct log_src *src,
    const char *msg, const struct log_field *fields, size_t nfields);

/*
 * sd_notify messages; each returns nothing and is silent when there is
 * no NOTIFY_SOCKET.  status may be NULL.
 */
void sysd_notify_ready(const char *status);
void sysd_notify_status(const char *status);
void sysd_notify_stopping(void);
/* RELOADING=1 (with MONOTONIC_USEC) and the STATUS text. */
void sysd_notify_reloading(const char *status);
void sysd_notify_watchdog(void);
void sysd_notify_mainpid(pid_t pid);

/* Is there a service manager to talk to (NOTIFY_SOCKET is set)? */
bool sysd_notify_available(void);

/*
 * The file descriptor store: keep a duplicate of fd under name (sent
 * with FDSTORE=1, FDNAME= and FDPOLL=0: kept even when it polls
 * EPOLLHUP), and drop every descriptor stored under
 * name.  Names are at most 255 characters, without ':'.  Return 0, or a
 * negative errno when the message could not be sent.
 */
int sysd_fdstore_add(int fd, const char *name);
int sysd_fdstore_remove(const char *name);

/* The watchdog interval in microseconds, or 0 when it is off. */
uint64_t sysd_watchdog_usec(void);

#endif
