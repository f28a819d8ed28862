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
 * empty, start persisting, then give each passed registration socket
 * back its node.  Registrations whose socket is missing, closed or
 * holding stray bytes end (as "closed"); sockets with no record are
 * closed and dropped from the store.  The persist context goes to *ret
 * before any of that, so that the registry's observer can journal it.
 */
void adopt_state(struct registry *reg, struct net *net,
    const struct sysd_fd *fds, size_t n, bool fdstore, int64_t now,
    struct adopt_summary *sum, struct persist **ret);

#endif
