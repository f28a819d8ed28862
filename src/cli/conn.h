/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * conn: epmdctl's one client of epmdd's control socket, for every
 * command: a request built field by field, sent on a new connection,
 * and its answer read message by message, errors reported on standard
 * error (and with --json as a document; output_last_warning gives the
 * words to a command that says them elsewhere).  One blocking
 * connection at a time; no libuv.
 */
#ifndef EPMDD_CONN_H
#define EPMDD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ctlproto.h"

/*
 * A connection and its input: the messages conn_next returns point into
 * buf and stay valid until the next call.  On the heap (conn_new): the
 * buffer holds the largest message.
 */
struct conn {
	int fd;		/* -1 when closed */
	int timeout_ms; /* for each message of an answer (conn_answer) */
	size_t len;
	size_t off;
	uint8_t buf[CTL_MAX_MESSAGE];
};

/*
 * A request being built.  A field that does not fit marks it bad;
 * conn_open then refuses it as a usage error.
 */
struct conn_req {
	struct wbuf w;
	size_t start;
	bool bad;
	uint8_t buf[CTL_MAX_REQUEST];
};

/* Start a request of this type; then add fields, then conn_open it. */
void conn_req_begin(struct conn_req *r, uint8_t type);
void conn_req_str(struct conn_req *r, const char *key, const char *value);
void conn_req_u64(struct conn_req *r, const char *key, uint64_t v);

/*
 * A closed connection, or NULL (said) when out of memory.  It waits
 * EPMDCTL_TIMEOUT for each message of an answer.
 */
struct conn *conn_new(void);
/*
 * Wait at most timeout_ms for each message of an answer instead of
 * EPMDCTL_TIMEOUT s (metrics and check, under a monitor's own limit).
 */
void conn_set_timeout(struct conn *c, int timeout_ms);
/* Close and free; NULL is a no-op. */
void conn_free(struct conn *c);
/* Close the socket; the last message read stays readable. */
void conn_close(struct conn *c);

/*
 * Connect to the control socket (opts.path) and send the request.
 * Returns EXIT_OK, or the exit status after a warning: EXIT_UNREACHABLE
 * (no daemon, a write error), EXIT_USAGE (a request too large).  A
 * daemon that refuses the connection (too many clients) sends an error
 * and closes, maybe before the request is out: the next read then finds
 * the error, or the close.
 */
int conn_open(struct conn *c, struct conn_req *r);

/*
 * The next message, within timeout_ms (-1: no limit).  Returns 1 with
 * *m, 0 if the daemon closed, -1 on a bad message (said), a timeout
 * (said) or an interrupt (conn_interrupt).
 */
int conn_next(struct conn *c, struct ctl_msg *m, int timeout_ms);

/*
 * The next message of the answer to a request for what, within the
 * connection's time limit: 1 with *m; else 0 with the exit status in
 * *status (the daemon gone or silent: unreachable; an error message:
 * reported).
 */
int conn_answer(struct conn *c, struct ctl_msg *m, const char *what,
    int *status);

/*
 * The request-reply helper: open, read one answer, close.  EXIT_OK with
 * *m (whose type is expect, unless expect is 0), or the exit status,
 * said; after an error message *m holds it, else its type is 0.
 */
int conn_call(struct conn *c, struct conn_req *r, const char *what,
    uint8_t expect, struct ctl_msg *m);

/* The bytes of message m, which conn_next has just returned. */
const uint8_t *conn_raw(const struct conn *c, const struct ctl_msg *m);

/*
 * Report a CTL_ERROR answer to a request for what (and with --json
 * print its document); returns EXIT_FAIL.
 */
int conn_report_error(const char *what, const struct ctl_msg *m);

/* From a signal handler: conn_next stops waiting. */
void conn_interrupt(void);
bool conn_interrupted(void);

#endif
