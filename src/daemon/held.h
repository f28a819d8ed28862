/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * held: the registrations whose reply is written, each a descriptor in
 * one epoll set and a small record, with no libuv handle of its own
 * (Decision 19 (doc/DECISIONS)).  One uv_poll_t watches the epoll set;
 * a byte read on a registration ends it as stray data, end-of-file or an
 * error as closed.  Owns the epoll set, the records and their
 * descriptors; borrows the loop and the registry.
 */
#ifndef EPMDD_HELD_H
#define EPMDD_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "registry.h"

/* Ready registrations handled per wake-up before others get a turn. */
#define HELD_BATCH 64
/* Descriptors held_let_go closes per turn of the loop at a stop. */
#define HELD_LET_GO_BATCH 512
/* Bytes read from a registration to see that the peer sent some. */
#define HELD_PEEK 64

/*
 * The registry's owner token (node->owner) and dispatch's peer token:
 * the head of a held record, or of a connection of net.c still
 * answering its request (is_conn).  Those who get a token read these
 * fields and nothing else.
 */
struct held_owner {
	struct node *node;	/* the registration held, or NULL */
	int fd;
	bool closing;		/* closed, or being closed: holds nothing */
	bool is_conn;		/* net.c's struct conn, else a held record */
};

struct held_set;

/*
 * An empty set on loop; its registrations end in reg.  Returns 0 and
 * *ret, or a negative errno.
 */
int held_new(uv_loop_t *loop, struct registry *reg, struct held_set **ret);

/*
 * Hold registration n on fd, which is connected and whose reply is
 * written; n's owner becomes the new record (registry_set_owner).
 * Returns the record, which owns fd from then on, or NULL (out of
 * memory, or stopped: fd and n are left to the caller).
 */
struct held_owner *held_add(struct held_set *s, int fd, struct node *n);

/*
 * Close a record: its registration, if it still has one, ends with
 * reason first.  Idempotent.
 */
void held_close(struct held_set *s, struct held_owner *o,
    enum registry_reason reason);

/* Records held now. */
size_t held_count(const struct held_set *s);

/* Descriptors and registrations of the records, up to max. */
size_t held_fds(const struct held_set *s, int *fds, struct node **nodes,
    size_t max);

/*
 * Stopping while the service manager's store keeps every registration's
 * socket: close up to budget descriptors (first out of the epoll set),
 * leaving their registrations registered and answered, so that the
 * process's exit, which would otherwise drop them all at once while no
 * daemon answers, has little left to do (issue 17).  A registration let
 * go no longer sees its node leave (the next process does) and shows fd
 * -1.  Returns whether some are left.
 */
bool held_let_go(struct held_set *s, size_t budget);

/*
 * End every registration (REGISTRY_SHUTDOWN), close every record and
 * the poll handle; call held_free once the loop has run.
 */
void held_stop(struct held_set *s);
void held_free(struct held_set *s);

#endif
