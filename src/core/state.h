/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * state: the registry as bytes, for a restart.  A versioned header, then
 * records (each with its length and a CRC-32): a snapshot of old names
 * and active registrations, and journal records appended as nodes come
 * and go.  Loading validates everything before it touches the registry;
 * a foreign or corrupt blob changes nothing.  Pure: no I/O.
 */
#ifndef EPMDD_STATE_H
#define EPMDD_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "policy.h"
#include "registry.h"

#define STATE_MAGIC "EPMDDST\0"
/* Bump when a record changes layout; older blobs are then refused. */
#define STATE_VERSION 1
#define STATE_HEADER_SIZE 32
/*
 * Largest blob loaded (30000 nodes of the longest names and extras).
 * The tests build a second daemon with a smaller one (the Makefile's
 * small-state binary), to fill it with the registrations a test can
 * hold; nothing else sets it.
 */
#ifndef STATE_MAX_SIZE
#define STATE_MAX_SIZE (64u << 20)
#endif
/* Largest record (header of 9 bytes + the longest registration). */
#define STATE_MAX_RECORD 2200
/* Largest POLICY record: flags, length, the largest configuration. */
#define STATE_MAX_POLICY_RECORD (6 + POLICY_MAX_FILE)
/* A journal may grow to twice its snapshot plus this before compaction. */
#define STATE_COMPACT_SLACK (256u << 10)

enum state_record {
	STATE_REGISTERED = 1,	/* an active registration */
	STATE_UNREGISTERED = 2, /* a registration ended (by id) */
	STATE_OLD = 3,		/* a remembered old name */
	STATE_POLICY = 4,	/* the configuration text in force */
};

/*
 * Header for a blob: its generation (which of two blobs is newer) and
 * the next registration id to hand out.
 */
int state_put_header(struct wbuf *w, uint32_t generation, uint64_t next_id);
/* Journal records. */
int state_put_registered(struct wbuf *w, const struct node *n);
int state_put_unregistered(struct wbuf *w, uint64_t id, int64_t when);
int state_put_old(struct wbuf *w, const struct node *n);
/*
 * The configuration in force: file says whether there was a file, text
 * (len bytes, at most POLICY_MAX_FILE) is its content.  The last one in
 * a blob counts.
 */
int state_put_policy(struct wbuf *w, bool file, const void *text,
    size_t len);
/* The records of a snapshot: registrations oldest first, old names. */
int state_put_records(struct wbuf *w, const struct registry *reg);
/*
 * The same, for a snapshot that has to be written whatever the registry
 * holds: the registrations (oldest first) and old names that fit in w
 * (a snapshot's buffer stops at STATE_MAX_SIZE, which the loader
 * accepts), the rest left out; *ret_whole says whether all of them fit.
 * The POLICY record goes before them, so that the configuration in
 * force always has its room: registrations get what it leaves.
 */
int state_put_records_fitting(struct wbuf *w, const struct registry *reg,
    bool *ret_whole);
/*
 * The same a piece at a time, so that a snapshot need not be built
 * whole in memory (issue 17: about 1 MB at 15000 registrations): walk
 * starts zeroed (state_walk_init), and each call appends records to w
 * from where the walk stands until w holds at least chunk bytes or the
 * records are done.  Returns 1 while records remain, 0 when done, or a
 * negative errno; fit and *ret_whole as above (*ret_whole is only
 * cleared, never set: start with true).  The registry must not change
 * between calls.
 */
struct state_walk {
	const struct node *n;
	int part;	/* 0: not started, 1: registrations, 2: old, 3: done */
};
void state_walk_init(struct state_walk *walk);
int state_put_records_some(struct wbuf *w, const struct registry *reg,
    struct state_walk *walk, size_t chunk, bool fit, bool *ret_whole);
/* A whole snapshot: header and records. */
/*
 * Whether a blob of len bytes, snapshot of them the snapshot, should be
 * rewritten as a fresh snapshot instead of taking a record of add bytes:
 * when the journal would outgrow twice the snapshot plus
 * STATE_COMPACT_SLACK, or the blob would pass STATE_MAX_SIZE, which the
 * loader refuses.
 */
bool state_needs_compaction(size_t len, size_t snapshot, size_t add);
int state_put_snapshot(struct wbuf *w, uint32_t generation,
    const struct registry *reg);
/*
 * A blob's generation, if its header is valid: 0, or -EPROTO/-EBADMSG
 * as state_load would answer.
 */
int state_generation(const uint8_t *p, size_t len, uint32_t *ret);

struct state_summary {
	size_t active;	  /* registrations restored, waiting for a holder */
	size_t old;	  /* old names restored */
	size_t records;	  /* records read */
	bool torn_tail;	  /* the last record was cut short (ignored) */
	size_t length;	  /* bytes up to the end of the last whole record */
	/* The last POLICY record, if any (policy_text malloc'd). */
	bool policy;
	bool policy_file;
	uint8_t *policy_text;
	size_t policy_len;
};

/*
 * Load a blob into reg, which must be empty.  Restored registrations
 * are active with no owner (the caller gives them their sockets and
 * unregisters the rest).  Returns 0, or -EPROTO for a foreign blob
 * (magic, version), -EBADMSG for a corrupt one (bad CRC, bad record,
 * inconsistent journal), -EMSGSIZE past STATE_MAX_SIZE, -EBUSY if reg is
 * not empty, -ENOMEM; on these errors reg is left as it was.  A last record cut short (a crash
 * while appending) is ignored, and said so in *ret.
 */
int state_load(const uint8_t *p, size_t len, struct registry *reg,
    struct state_summary *ret);

/* Free what a summary holds (the policy text). */
void state_summary_fini(struct state_summary *s);

/* CRC-32 (IEEE 802.3), as the records use it. */
uint32_t state_crc32(const uint8_t *p, size_t len);

#endif
