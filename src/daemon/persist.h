/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * persist: keeping registrations across a restart.  The registry's
 * state lives in two memfd slots (a snapshot plus a journal appended as
 * nodes come and go, see state.h); under a service manager both slots
 * sit in its file descriptor store, and every registration's socket is
 * parked in a segment that does (park.h), so that a restart, even after
 * a crash, finds them in LISTEN_FDS.  Also what an in-place upgrade
 * hands to the next binary.
 */
#ifndef EPMDD_PERSIST_H
#define EPMDD_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "state.h"

#define PERSIST_SLOTS 2
/*
 * FDNAMEs: "state.0", "state.1", and the segments of parked registration
 * sockets, "p<key>" (park.h).  "r<id in base 36>" named a registration's
 * own socket, stored on its own by epmdd before 0.3: a restart or an
 * upgrade from such a process still takes them, and parks them.
 */
#define PERSIST_STATE_PREFIX "state."
#define PERSIST_REG_PREFIX "r"
/* A snapshot is written this many bytes (and a record) at a time. */
#define PERSIST_CHUNK (64u << 10)

struct persist;

/* A configuration as saved: whether there was a file, and its text. */
struct persist_config {
	bool file;
	const char *text;
	size_t len;
};

/*
 * Start persisting reg.  With fdstore, the slots go to the service
 * manager's store, registration sockets are parked and a journal is
 * kept; else
 * nothing is written until persist_handover.  slots[] are adopted slot
 * descriptors (-1 where none), taken over; active is the slot holding
 * the state that was loaded (-1: none), whose generation was gen and
 * whose whole records end at length.  Records are appended to that
 * slot, as the previous process did (a torn last record is cut off
 * first), and the fresh snapshot is left to persist_compact_due, once
 * the daemon serves: writing it here cost ~20 ms per 15000
 * registrations before the listeners answered (issue 17).  saved is
 * the configuration that state held (NULL: none), carried into the
 * snapshots, so that a process that dies before it knows its own
 * configuration leaves the one it found.  Returns NULL on failure
 * (logged).
 */
struct persist *persist_new(struct registry *reg, bool fdstore,
    const int slots[PERSIST_SLOTS], int active, uint32_t gen, size_t length,
    const struct persist_config *saved);
/*
 * Write the snapshot persist_new left for later, if still due, and
 * tidy the segments the previous process left (park_tidy).
 */
void persist_compact_due(struct persist *p);
void persist_free(struct persist *p);

/* Registry events: journal them and keep the parked sockets in step. */
void persist_registered(struct persist *p, struct node *n);
void persist_unregistered(struct persist *p, struct node *n,
    enum registry_reason reason);
/*
 * A registration adopted at start whose socket is not parked (an older
 * epmdd stored it on its own as "r<id>"): park it, and once it is
 * parked drop "r<id>" from the store.
 */
void persist_restored(struct persist *p, struct node *n);
/* The parked sockets (NULL without the store). */
struct park *persist_park(const struct persist *p);

/*
 * The configuration in force changed (or is known for the first time):
 * file says whether there is a file, text its content (copied).  Saved
 * with the registrations, so that a restart that finds the file broken
 * can keep the policy it had; saved even when the state is too full for
 * every registration (the oldest that fit are kept with it).
 */
void persist_set_policy(struct persist *p, bool file, const char *text,
    size_t len);

/*
 * For an upgrade: bring the state up to date and return the slot
 * descriptors to pass on (their names are "state.N"); *ret_n is how
 * many.  Returns 0 or a negative errno.
 */
int persist_handover(struct persist *p, int ret_fds[PERSIST_SLOTS],
    size_t *ret_n);

/* Read a whole slot (a memfd) into a malloc'd buffer. */
int persist_read_slot(int fd, uint8_t **ret, size_t *ret_len);

/* "r<id>" -> id; 0 if the name is not one. */
uint64_t persist_reg_id(const char *name);
/* id -> "r<id>" (at most 15 bytes with the NUL). */
void persist_reg_name(uint64_t id, char *buf, size_t size);
/* "state.<n>" -> n (0 or 1); -1 if the name is not one. */
int persist_slot_index(const char *name);

/*
 * Whether the service manager's store keeps the registration sockets
 * (and the state) across this process's exit.
 */
bool persist_keeps_sockets(const struct persist *p);

/* Forget a stored descriptor by name (stale or gone at start-up). */
void persist_drop_name(struct persist *p, const char *name);

#endif
