/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * park: where the registration sockets wait for the next process under
 * a service manager (Decision 22, doc/DECISIONS).  Each socket is sent
 * (SCM_RIGHTS) into one of a few AF_UNIX stream socket pairs, the
 * segments, and never read there: the kernel keeps a socket in flight
 * open.  Only a segment's reading end goes to the descriptor store, so
 * the store holds a few descriptors, not one per registration, and a
 * restart is passed a few.  The next process peeks (MSG_PEEK) every
 * message: a segment stays whole until it is dropped.  A message carries
 * the registration ids of its sockets.  Owns the segments; borrows the
 * registry, whose node->parked it keeps.
 */
#ifndef EPMDD_PARK_H
#define EPMDD_PARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/* FDNAME of a segment: "p" and its key in base 36. */
#define PARK_PREFIX "p"
/* Sockets in one message: the kernel's SCM_MAX_FD. */
#define PARK_MSG_FDS 253
/* A segment is closed to new sockets past this many sockets ... */
#define PARK_SEGMENT_FDS 4096
/* ... or messages (one per registration parked on its own). */
#define PARK_SEGMENT_MSGS 256
/* Dead sockets that close an open segment (with a quarter of it). */
#define PARK_DEAD_MIN 64
/* Send buffer asked for a segment (the kernel caps it at wmem_max). */
#define PARK_SNDBUF (1u << 20)
/* Segments at most: 4 million sockets at PARK_SEGMENT_FDS. */
#define PARK_MAX_SEGMENTS 1024

struct park;

/* Segments for reg's registrations.  NULL when out of memory. */
struct park *park_new(struct registry *reg);
/* Close our ends; the store keeps the segments. */
void park_free(struct park *p);

/* Park n's socket (n->fd); logs (rate-limited) when it cannot. */
void park_add(struct park *p, struct node *n);
/*
 * n's registration ended: its socket is shut down (so that the copy in
 * flight does not keep the connection open) and counted dead in its
 * segment, which is rewritten without its dead ones once a quarter of it
 * is dead.  Does nothing for a node not parked.
 */
void park_remove(struct park *p, struct node *n);

/* key -> "p<key>" (at most 8 bytes with the NUL). */
void park_name(uint32_t key, char *buf, size_t size);
/* "p<key>" -> key; 0 if the name is not one. */
uint32_t park_key(const char *name);
/* n's segment's key, 0 if n is not parked. */
uint32_t park_node_key(const struct park *p, const struct node *n);

/*
 * Take a segment passed under name "p<key>" (fd is ours from now on).
 * Returns its index, or -1 (fd closed).
 */
int park_adopt(struct park *p, int fd, uint32_t key);
/* n's socket is in segment key already (an upgrade's table). */
void park_adopt_node(struct park *p, struct node *n, uint32_t key);

/*
 * Read the next message of the adopted segments, from the first: its
 * sockets into fds[] and their ids into ids[] (at most PARK_MSG_FDS),
 * *ret_seg the segment.  Returns how many, or 0 when every segment is
 * read.  The segments keep their sockets.
 */
size_t park_peek(struct park *p, uint64_t *ids, int *fds, int *ret_seg);
/* n's socket, read from segment seg by park_peek, is n's. */
void park_claim(struct park *p, struct node *n, int seg);
/*
 * Start-up is over: every node that is parked is known.  Segments are
 * dropped or rewritten as their dead ones require.
 */
void park_adopted(struct park *p);

/*
 * Once the daemon serves: segments passed by the previous process that
 * are small (under a quarter of PARK_SEGMENT_FDS) are rewritten into
 * "dense" when there are two or more, or one holds one socket a message,
 * so that segments do not pile up across restarts.
 */
void park_tidy(struct park *p);
/*
 * A stop that leaves the registrations to the store: from now on no
 * segment is rewritten or dropped (held_let_go closes the descriptors a
 * rewrite would send).
 */
void park_freeze(struct park *p);

/* Segment reading ends, for an upgrade: fds[] and keys[], up to max. */
size_t park_handover(const struct park *p, int *fds, uint32_t *keys,
    size_t max);

#endif
