/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * registry: the node table.  Active registrations and the memory of
 * unregistered ("old") names, kept in one keyed hash table by exact name
 * bytes, plus two lists: active newest first (NAMES order) and old in
 * unregistration order (OTP's unreg FIFO), and cursors that walk the
 * active list across changes.  Creation numbers follow OTP 25's epmd.
 * Knows names, not bytes on a wire nor connections: a registration's
 * holder is an opaque owner token.  Pure: no I/O, time is passed in; it
 * allocates one block per record and the bucket array.
 */
#ifndef EPMDD_REGISTRY_H
#define EPMDD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

/* An old name is recycled once more than this many are remembered. */
#define REGISTRY_OLD_KEEP 1000	  /* epmd_int.h MAX_UNREG_COUNT */
#define REGISTRY_OLD_KEEP_DEBUG 5 /* DEBUG_MAX_UNREG_COUNT, with -d */
#define REGISTRY_MIN_BUCKETS 64
/* The table doubles when records exceed buckets * this. */
#define REGISTRY_MAX_LOAD 1
#define REGISTRY_MAX_BUCKETS (1u << 24)
#define REGISTRY_UID_UNKNOWN UINT32_MAX
#define REGISTRY_KEY_SIZE 16
/* HighestVersion from which the full 32-bit creation is reported. */
#define REGISTRY_CR32_VERSION 6

/* A peer address as plain data (no sockaddr: this module is pure). */
struct registry_addr {
	uint8_t family; /* 0 unknown, 4 or 6 */
	uint8_t addr[16];
	uint16_t port;
};

/* Why a registration ended. */
enum registry_reason {
	REGISTRY_CLOSED,   /* the node closed or reset its connection */
	REGISTRY_STRAY,	   /* it sent bytes on its registration socket */
	REGISTRY_STOPPED,  /* STOP_REQ or epmdctl stop */
	REGISTRY_SHUTDOWN, /* the daemon is stopping (KILL, signal) */
	REGISTRY_ERROR,	   /* the reply could not be written */
	REGISTRY_REASON_COUNT
};

enum registry_event {
	REGISTRY_REGISTERED,
	REGISTRY_UNREGISTERED,
};

/*
 * One record, active or old.  Owned by the registry; callers read it but
 * never write it.  The name and extra bytes live in data[].  A pointer to
 * an active record stays valid until registry_unregister; after that the
 * record may be freed by a later registry_register (recycling).
 */
struct node {
	struct node *hnext;
	TAILQ_ENTRY(node) link;
	uint64_t hash;
	uint64_t id;		/* unique per registration, never reused */
	void *owner;		/* holder's token while active, else NULL */
	int64_t registered_at;	/* caller's clock, seconds */
	int64_t unregistered_at;
	uint32_t cr;		/* creation counter (OTP's cr) */
	uint32_t uid;		/* owner uid or REGISTRY_UID_UNKNOWN */
	int fd;			/* holder's descriptor, shown by DUMP */
	uint16_t port;		/* here, not after peer: no hole before inode */
	uint8_t type;
	uint8_t proto;
	uint64_t inode;		/* the registering peer's socket inode, or 0 */
	struct registry_addr peer;
	uint16_t hv;
	uint16_t lv;
	uint16_t nlen;
	uint16_t elen;
	bool active;
	uint16_t parked;	/* its socket's segment in the service
				 * manager's store, plus one; 0: none
				 * (the daemon's park.c's business) */
	uint8_t data[];
};

/* What a new registration says; borrowed by registry_register. */
struct registry_entry {
	const uint8_t *name;
	size_t nlen;
	const uint8_t *extra;
	size_t elen;
	uint16_t port;
	uint8_t type;
	uint8_t proto;
	uint16_t hv;
	uint16_t lv;
	void *owner;
	int fd;
	uint32_t uid;
	uint64_t inode;
	struct registry_addr peer;
};

struct registry_stats {
	uint64_t registrations;
	uint64_t unregistrations[REGISTRY_REASON_COUNT];
	size_t active;
	size_t old;
};

typedef void registry_observer_fn(void *arg, struct node *n,
    enum registry_event ev, enum registry_reason reason);

struct registry;

/*
 * Create an empty registry.  old_keep is the old-name threshold
 * (REGISTRY_OLD_KEEP, or REGISTRY_OLD_KEEP_DEBUG); key seeds the hash
 * so that peers cannot aim names at one bucket.  Returns NULL on ENOMEM.
 */
struct registry *registry_new(size_t old_keep,
    const uint8_t key[REGISTRY_KEY_SIZE]);
/*
 * Free the registry and every record (every cursor must have been
 * finished).  registry_free(NULL) is a no-op.
 */
void registry_free(struct registry *reg);

/*
 * Called after every registration and unregistration (for logging,
 * counters, notifications).  One observer; NULL removes it.
 */
void registry_set_observer(struct registry *reg, registry_observer_fn *fn,
    void *arg);

/* The active record with exactly these name bytes, or NULL. */
struct node *registry_lookup(const struct registry *reg, const uint8_t *name,
    size_t nlen);

/*
 * Register e at time now (seconds).  The creation counter is OTP's: a
 * remembered old name is bumped, a new name starts at now + 1, and with
 * more than old_keep old names the oldest one's counter is reused.
 * Returns 0 and the new record in *ret, -EEXIST if the name is active,
 * -EINVAL if the name or extra is longer than 65535 bytes, -ENOMEM.
 */
int registry_register(struct registry *reg, const struct registry_entry *e,
    int64_t now, struct node **ret);

/* End an active registration; the record joins the old names. */
void registry_unregister(struct registry *reg, struct node *n,
    enum registry_reason reason, int64_t now);

/* Name of a reason ("closed", "stray_data"...), for logs and clients. */
const char *registry_reason_name(enum registry_reason r);

/* The creation to report: cr for hv >= 6, else cr % 3 + 1 (1..3). */
uint32_t registry_creation(const struct node *n);

/* Iteration: active newest first; old oldest first.  NULL at the end. */
struct node *registry_first_active(const struct registry *reg);
struct node *registry_first_old(const struct registry *reg);
struct node *registry_next(const struct node *n);
/* Active oldest first (for saving in registration order). */
struct node *registry_last_active(const struct registry *reg);
struct node *registry_prev_active(const struct node *n);

/*
 * A place in the active list (NAMES order) that stays valid while the
 * registry changes, for walks spread over time (a long listing sent a
 * piece at a time).  The caller embeds it and the registry keeps track
 * of it: registry_unregister moves a cursor that stands on the record it
 * removes to the record after it, so a cursor never points to an old
 * record, which a later registration may free.  A walk sees every record
 * that was active when it started and still is when its turn comes, in
 * order, once; records registered meanwhile go to the front and are not
 * seen.  Callers write no field.
 */
struct registry_cursor {
	TAILQ_ENTRY(registry_cursor) link;
	struct node *next; /* the record to return next, or NULL */
};

/* Start a walk at the newest active record.  Pair with _fini. */
void registry_cursor_init(struct registry *reg, struct registry_cursor *cur);
/* The next record (and step past it), or NULL at the end. */
struct node *registry_cursor_next(struct registry_cursor *cur);
/* End the walk; needed before the cursor or the registry is freed. */
void registry_cursor_fini(struct registry *reg, struct registry_cursor *cur);

/*
 * Saving and restoring (across a restart).  Ids count up from 1; a
 * restored registry continues from the saved next id.
 */
uint64_t registry_next_id(const struct registry *reg);
size_t registry_old_keep(const struct registry *reg);
void registry_set_next_id(struct registry *reg, uint64_t next);

/*
 * Put back a saved record without telling the observer: an active one
 * (as the newest registration, with owner e->owner; like
 * registry_register it uses up an old record of the same name, or
 * recycles the oldest one past old_keep) or an old one (as the most
 * recently unregistered).  The creation counter, times and id are the
 * saved ones.  Returns 0 and the record in *ret (may be NULL), -EEXIST
 * if the name is active (or known at all, for an old one), -EINVAL,
 * -ENOMEM.
 */
int registry_restore(struct registry *reg, const struct registry_entry *e,
    bool active, uint32_t cr, int64_t registered_at, int64_t unregistered_at,
    uint64_t id, struct node **ret);

/*
 * An empty registry that hashes as reg does (same key, same old_keep),
 * without its observer: a scratch one to load into and then hand over
 * whole with registry_take.  Returns NULL on ENOMEM.
 */
struct registry *registry_new_like(const struct registry *reg);
/*
 * Move every record of from (and its next id, and its counts of active
 * and old records) into reg, which must be empty, in O(1): the
 * buckets change hands, nothing is copied, the observer is not told.
 * from is left empty.  Both must come from the same key (new_like).
 */
void registry_take(struct registry *reg, struct registry *from);
/* Note who owns the registering socket, once known. */
void registry_set_uid(struct registry *reg, struct node *n, uint32_t uid,
    uint64_t inode);

/* Give an active record its (new) holder after a restart. */
void registry_set_owner(struct registry *reg, struct node *n, void *owner,
    int fd);

void registry_get_stats(const struct registry *reg,
    struct registry_stats *ret);

/* Buckets in use now, and the longest chain (for tests and status). */
size_t registry_bucket_count(const struct registry *reg);
size_t registry_longest_chain(const struct registry *reg);

#endif
