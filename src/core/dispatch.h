/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * dispatch: one complete EPMD request, the registry and the facts about
 * the peer in; the reply bytes and the connection's fate out.  This is
 * where OTP epmd's rules are carried out (relaxed command check, "ALIVE2
 * keeps the connection open", KILL and STOP) and where the access policy
 * and name ownership are applied (OTP's local-peer rule is the policy's
 * default).  Pure: no I/O, no libuv, time passed in; the network layer
 * carries out the fate.
 */
#ifndef EPMDD_DISPATCH_H
#define EPMDD_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "policy.h"
#include "registry.h"

/* Upper bound of one NAMES or DUMP reply. */
#define DISPATCH_MAX_REPLY (64u << 20)

/* What the network layer must do with the connection after a request. */
enum dispatch_fate {
	DISPATCH_CLOSE,	      /* close now, no reply */
	DISPATCH_REPLY_CLOSE, /* write the reply, then close */
	DISPATCH_REPLY_KEEP,  /* write the reply; the connection holds a node */
	DISPATCH_REPLY_KILL,  /* write the reply, then stop the daemon */
	/*
	 * No reply yet: the registering uid's group membership is being
	 * looked up (ret->uid says whose).  Keep the request and hand it
	 * to dispatch_request again once the answer is known; nothing has
	 * changed meanwhile.
	 */
	DISPATCH_WAIT,
};

/*
 * Why a request was refused.  The first group is decided here, the
 * second by the network layer; all are counted in dispatch_stats.
 */
enum dispatch_refusal {
	DISPATCH_OK = 0,
	DISPATCH_MALFORMED,	  /* closed: inconsistent fields */
	DISPATCH_UNKNOWN_REQUEST, /* closed: unknown or legacy tag */
	DISPATCH_NON_LOCAL,	  /* closed: ALIVE2/DUMP/KILL/STOP from afar */
	DISPATCH_DUPLICATE,	  /* error reply: name in use */
	DISPATCH_NAME_TOO_LONG,	  /* error reply */
	DISPATCH_NAME_ENCODING,	  /* error reply: not UTF-8 */
	DISPATCH_NAME_CONTROL,	  /* error reply: C0 or DEL in the name */
	DISPATCH_EXTRA_TOO_LONG,  /* error reply */
	DISPATCH_NOT_RELAXED,	  /* closed: STOP without relaxed check */
	DISPATCH_KILL_REFUSED,	  /* "NO": live nodes, not relaxed */
	DISPATCH_NO_MEMORY,	  /* closed: allocation failed */
	/* Decided by the network layer. */
	DISPATCH_BAD_SIZE,	  /* closed: Length 0 or too large */
	DISPATCH_PIPELINED,	  /* closed: bytes beyond the request */
	DISPATCH_TIMEOUT,	  /* closed: request not complete in time */
	DISPATCH_CONN_LIMIT,	  /* closed at accept: too many connections */
	/*
	 * epmdd's own controls, counted per request kind instead
	 * (dispatch_stats.access_refused) and after the others: the
	 * refusals before DISPATCH_POLICY are OTP's and the network
	 * layer's, with a counter each.
	 */
	DISPATCH_POLICY,	  /* closed: an access rule of the operator */
	DISPATCH_NOT_OWNER,	  /* error reply: the name belongs to others */
	DISPATCH_REFUSAL_COUNT
};

struct dispatch_stats {
	uint64_t lookups_hit;
	uint64_t lookups_miss;
	uint64_t names;
	uint64_t dumps;
	uint64_t kills;
	uint64_t stops;
	uint64_t refused[DISPATCH_REFUSAL_COUNT];
	/* Requests the access policy refused (OTP's default rules too). */
	uint64_t access_refused[POLICY_KIND_COUNT];
};

/*
 * Ask the network layer whether the connection holding a registration
 * has already been closed by its peer (end-of-file or reset pending,
 * not yet processed).  May be NULL: then a holder is never gone.
 */
typedef bool dispatch_holder_gone_fn(void *arg, void *owner);

/*
 * Ask the network layer who owns the socket at the other end of the
 * connection owner (a local peer): 0 with its uid and inode, or a
 * negative errno (a peer on another host).  May be NULL.
 */
typedef int dispatch_peer_owner_fn(void *arg, void *owner, uint32_t *ret_uid,
    uint64_t *ret_inode);

/* Long-lived dispatch state; reg and policy are borrowed. */
struct dispatch_ctx {
	struct registry *reg;
	bool relaxed;
	/* The policy in force; NULL: nothing configured (OTP's rules). */
	const struct policy *policy;
	dispatch_holder_gone_fn *holder_gone;
	dispatch_peer_owner_fn *peer_owner;
	void *arg; /* for holder_gone and peer_owner */
	policy_member_fn *member; /* group membership; may be NULL */
	void *member_arg;
	struct dispatch_stats stats;
};

/* What is known about the connection a request came on. */
struct dispatch_peer {
	void *owner;	      /* this connection's token */
	int fd;		      /* shown by DUMP */
	bool is_local;	      /* 127/8, ::1, or peer == local address */
	uint32_t listen_port; /* port in NAMES/DUMP headers */
	uint32_t uid;	      /* REGISTRY_UID_UNKNOWN if not known */
	uint64_t inode;	      /* with uid: its socket's inode */
	struct registry_addr addr;
};

struct dispatch_result {
	enum dispatch_fate fate;
	enum dispatch_refusal refusal;
	uint8_t tag;	   /* request tag, 0 if none */
	const char *why;   /* with a refusal: text for a debug log */
	/* ALIVE2: the name asked for (points into the request). */
	const uint8_t *name;
	size_t nlen;
	struct node *node; /* REPLY_KEEP: the registration now held */
	/*
	 * Refused by the access policy (DISPATCH_NON_LOCAL, DISPATCH_POLICY):
	 * the request's kind and what decided; else kind is -1.
	 */
	int kind;
	struct policy_decision decision;
	/*
	 * DISPATCH_NOT_OWNER: the ownership rule of the name and the uid
	 * of the registering socket (REGISTRY_UID_UNKNOWN if not learned).
	 * The rule is borrowed from the policy: use it before returning to
	 * the loop.
	 */
	const struct policy_owner *owner_rule;
	uint32_t uid;
	uint64_t inode; /* DISPATCH_WAIT: with uid, for the second time */
	/*
	 * With uid unknown, why: the peer is not local (owner_local false),
	 * or it is and asking who owns its socket failed (owner_err, a
	 * negative errno; -ENOENT: no such established socket found).
	 */
	bool owner_local;
	int owner_err;
	/*
	 * Another connection whose registration this request ended (STOP,
	 * or a duplicate whose holder had gone): close it, it no longer
	 * holds a node.
	 */
	void *released;
	unsigned writes; /* write() calls OTP makes for it (-delay_write) */
};

/* Human name of a refusal, for logs and counters ("duplicate"...). */
const char *dispatch_refusal_name(enum dispatch_refusal r);

/* Human name of a request tag ("ALIVE2_REQ"...), or "unknown". */
const char *dispatch_tag_name(uint8_t tag);

/* The policy kind of a request tag, or -1 (unknown tags). */
int dispatch_tag_kind(uint8_t tag);

/*
 * For a refusal by the policy (DISPATCH_POLICY, DISPATCH_NOT_OWNER):
 * which rule decided, as text for logs and watchers ("names rule on
 * line 3", "-allow register", "owner rabbit* on line 7, socket of uid
 * 1001"); "" for other results.
 */
void dispatch_rule_text(const struct dispatch_result *res, char *buf,
    size_t size);

/*
 * Handle the request body (bsize >= 1 bytes: tag and payload, without
 * the length prefix) at time now.  The reply is appended to out; *ret
 * says what to do next.  Never fails: every problem is a fate.
 */
void dispatch_request(struct dispatch_ctx *ctx,
    const struct dispatch_peer *peer, const uint8_t *body, size_t bsize,
    int64_t now, struct wbuf *out, struct dispatch_result *ret);

#endif
