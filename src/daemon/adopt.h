/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * adopt: taking over what a previous process left (socket activation,
 * the file descriptor store, an in-place upgrade): listeners and the
 * control socket by their type, the saved state by its name, and every
 * registration's socket matched to its saved record by name, never by
 * order.  Stale, unknown and dead ones are dropped, not fatal.
 */
#ifndef EPMDD_ADOPT_H
#define EPMDD_ADOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "persist.h"
#include "registry.h"
#include "sysd.h"

/* Names for what an upgrade hands over besides state and registrations. */
#define ADOPT_LISTEN_NAME "listen"
#define ADOPT_CONTROL_NAME "control"
#define ADOPT_CONTROL_OWNED_NAME "control.owned"
/*
 * An upgrade leaves registration sockets at their numbers (not close-on-
 * exec) and passes, under this name, a memfd listing them: an array of
 * struct adopt_inplace, in the host's byte order (same machine, same
 * pid), with the key of the segment each is parked in (0: none; epmdd
 * before 0.3 wrote 0 there and stored each socket as "r<id>").
 * Renumbering 15000 descriptors cost 500 ms (issue 17).
 */
#define ADOPT_INPLACE_NAME "inplace"
/* Registration sockets taken per turn of the loop after start-up. */
#define ADOPT_BATCH 256

struct adopt_inplace {
	int32_t fd;
	uint32_t park;
	uint64_t id;
};

struct adopt;

struct adopt_summary {
	size_t listeners;   /* TCP listeners taken */
	size_t restored;    /* registrations that live on */
	size_t gone;	    /* saved registrations whose node went away */
	size_t stale;	    /* descriptors with no saved record, dropped */
	bool state_found;   /* a saved state was passed */
	bool state_loaded;  /* and loaded */
	/* The configuration the previous process had, if it saved one. */
	bool policy_saved;
	bool policy_file;   /* it had a file (else rules from options only) */
	uint8_t *policy_text; /* malloc'd: adopt_summary_fini */
	size_t policy_len;
};

/* Free what a summary holds. */
void adopt_summary_fini(struct adopt_summary *sum);

/*
 * Take the TCP listeners into net and pick the control socket
 * (*ret_control, -1 if none; *ret_owned if its file is ours to remove).
 * Exits (fatal) on descriptors no daemon could use: a datagram socket, a
 * second Unix listener, or no TCP listener at all.
 */
void adopt_listeners(struct net *net, const struct sysd_fd *fds, size_t n,
    int *ret_control, bool *ret_owned, struct adopt_summary *sum);

/*
 * Load the saved state (the newest valid slot) into reg, which must be
 * empty, start persisting, then match each passed registration socket
 * (by its name, or from an upgrade's in-place table) to its record, in
 * memory only.  Records with no socket end now (as "closed"); sockets
 * with no record are closed and dropped from the store.  The rest wait
 * in *ret_adopt for adopt_step: until then their nodes are listed and
 * answered, with no owner.  The persist context goes to *ret before any
 * of that, so that the registry's observer can journal it.
 */
void adopt_state(struct registry *reg, struct net *net,
    const struct sysd_fd *fds, size_t n, bool fdstore, int64_t now,
    struct adopt_summary *sum, struct persist **ret,
    struct adopt **ret_adopt);

/* For sysd_listen_fds: a registration's name, checked later. */
bool adopt_defer_name(const char *name);

/*
 * Take up to budget waiting sockets: each must be a connected TCP
 * socket (of the node's peer, for an in-place one) without end-of-file
 * or stray bytes, or its registration ends then ("closed").  sum (given
 * to adopt_state) counts them.  Returns true when none is left.
 */
bool adopt_step(struct adopt *a, size_t budget, int64_t now);

/* How many sockets still wait. */
size_t adopt_remaining(const struct adopt *a);

/*
 * Node n ended before its socket was taken (stopped, or its name taken
 * over): its socket is closed when its turn comes.  Call for every
 * unregistration; does nothing for a node not waiting.
 */
void adopt_forget(struct adopt *a, struct node *n);

/* Close the sockets still waiting (a stop: the store keeps them). */
void adopt_free(struct adopt *a);

#endif
