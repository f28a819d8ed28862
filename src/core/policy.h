/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * policy: the access policy and name ownership, epmdd's own controls.
 * Parses the configuration file's text (and -allow rules) into rules,
 * says whether a request kind is allowed from a peer and which rule
 * decided, and which ownership rule covers a name and whether a uid may
 * register it.  With no rules it is OTP's epmd: register, dump and admin
 * from local peers, lookup and names from anyone.  Pure: no I/O; user
 * and group names are resolved through callbacks, group membership is
 * asked through one.
 */
#ifndef EPMDD_POLICY_H
#define EPMDD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/* The configuration file read when -config names none. */
#ifndef EPMDD_SYSCONFDIR
#define EPMDD_SYSCONFDIR "/etc"
#endif
#define POLICY_DEFAULT_FILE EPMDD_SYSCONFDIR "/epmdd/epmdd.conf"

#define POLICY_MAX_FILE (1u << 20) /* bytes of configuration text */
#define POLICY_MAX_LINE 4096	   /* bytes in one line */
#define POLICY_MAX_ENTRIES 1024	   /* addresses in one kind's list */
#define POLICY_MAX_OWNERS 4096	   /* ownership rules */
#define POLICY_MAX_IDS 32	   /* users and groups in one rule */
#define POLICY_MAX_ID_NAME 255	   /* a user or group name, bytes */
/*
 * Bytes of the file's text an error message quotes, escaped: a file
 * that is not a configuration (-config /etc/shadow) must not show its
 * content to control clients through the error.
 */
#define POLICY_MAX_QUOTE 32
/* Longest text of one entry ("ffff:...:ffff/128") or id ("group=..."). */
#define POLICY_ENTRY_TEXT 48

/* The request kinds a rule can be given for. */
enum policy_kind {
	POLICY_REGISTER, /* ALIVE2_REQ */
	POLICY_LOOKUP,	 /* PORT_PLEASE2_REQ */
	POLICY_NAMES,	 /* NAMES_REQ */
	POLICY_DUMP,	 /* DUMP_REQ */
	POLICY_ADMIN,	 /* KILL_REQ, STOP_REQ */
	POLICY_KIND_COUNT
};

/* Where a rule comes from. */
enum policy_origin {
	POLICY_DEFAULT, /* OTP's rule: nothing configured for the kind */
	POLICY_FILE,	/* the configuration file (line known) */
	POLICY_OPTION,	/* an -allow option */
};

enum policy_mode {
	POLICY_ANY,  /* everyone */
	POLICY_NONE, /* no one */
	POLICY_LIST, /* peers matching an entry */
};

/* One entry of a list: "local", or an address with a prefix length. */
struct policy_entry {
	uint8_t family;	  /* 0: local (OTP's local-peer rule), 4 or 6 */
	uint8_t bits;	  /* prefix length: 0..32 or 0..128 */
	uint8_t addr[16]; /* the network; bits past the prefix are zero */
	unsigned line;	  /* where it was given (0: not in the file) */
};

/* An IPv4 network for matching: (address & mask) == net, host order. */
struct policy_net4 {
	uint32_t net;
	uint32_t mask;
};

/* An IPv6 network for matching, as two halves of each. */
struct policy_net6 {
	uint64_t net[2];
	uint64_t mask[2];
};

/*
 * The rule for one kind.  Read-only to callers.  The entries as given,
 * for reports; the same by family, for matching requests without a
 * call or a byte loop per entry.
 */
struct policy_access {
	enum policy_mode mode;
	enum policy_origin origin;
	unsigned line; /* first line that set it (0: not in the file) */
	size_t n;
	struct policy_entry *entries;
	bool local;    /* a `local' entry is listed */
	size_t n4, n6;
	struct policy_net4 *net4;
	struct policy_net6 *net6;
};

/* A user or group that may register the names of an ownership rule. */
struct policy_id {
	bool group;
	uint32_t id;	/* uid or gid */
	char *name;	/* as written: a name or a number */
};

/* "owner PATTERN user=U group=G ...".  Read-only to callers. */
struct policy_owner {
	uint8_t *pattern; /* the name, or the prefix without its '*' */
	size_t plen;
	bool prefix;	  /* the pattern ended in '*' */
	unsigned line;
	size_t nids;
	struct policy_id *ids;
};

struct policy {
	struct policy_access access[POLICY_KIND_COUNT];
	size_t nowners;
	struct policy_owner *owners;
};

/* A parse error: where (line and column count from 1, bytes) and why. */
struct policy_error {
	unsigned line;	 /* 0: not about one line */
	unsigned column; /* 0: the whole line */
	char message[200];
};

/*
 * Resolve a user or group name to its id: 0, or a negative errno
 * (-ENOENT: no such user or group).  Numbers are never passed here.
 */
typedef int policy_resolve_fn(void *arg, const char *name, uint32_t *ret);

struct policy_resolver {
	policy_resolve_fn *user;
	policy_resolve_fn *group;
	void *arg;
};

/*
 * Is uid a member of group gid (primary or supplementary)?  1 yes, 0
 * no, or a negative errno when it cannot say now (-EAGAIN: the answer
 * is being looked up; ask again when it is known).
 */
typedef int policy_member_fn(void *arg, uint32_t uid, uint32_t gid);

/* The decision of policy_allows, for logs and `epmdctl policy test`. */
struct policy_decision {
	bool allowed;
	enum policy_origin origin;
	unsigned line;			/* the deciding entry's, or the rule's */
	const struct policy_entry *entry; /* the matching entry, or NULL */
};

/*
 * Parse configuration text (len bytes, not NUL-terminated) into a new
 * policy: kinds not given keep OTP's rules.  names resolves user= and
 * group= names (NULL: only numbers are accepted).  Returns 0 and
 * *ret, -EINVAL with *err filled in, or -ENOMEM.
 */
int policy_parse(const char *text, size_t len,
    const struct policy_resolver *names, struct policy **ret,
    struct policy_error *err);

/*
 * Replace kind's rule by one given on the command line: "any", "none",
 * or a list of "local" and addresses separated by commas or spaces.
 * Returns 0, -EINVAL with *err (column within rules), or -ENOMEM.
 */
int policy_set_access(struct policy *p, enum policy_kind kind,
    const char *rules, struct policy_error *err);

/*
 * Is cp a character that looks like a space or like nothing: C0 and C1
 * controls, DEL, no-break and other non-ASCII spaces, zero-width
 * characters, bidirectional marks, the soft hyphen and the byte-order
 * mark?  Patterns may not hold one; whoever shows a pattern escapes it.
 */
bool policy_char_hidden(uint32_t cp);

/*
 * The byte offset of the first hidden character (policy_char_hidden)
 * in the UTF-8 text p, with its code point in *ret_cp; -1 if there is
 * none.  Decoding stops at the first byte that is not UTF-8.
 */
long policy_find_hidden(const uint8_t *p, size_t len, uint32_t *ret_cp);

/* A policy with OTP's rules only; free with policy_free. */
struct policy *policy_new(void);
void policy_free(struct policy *p);

/* OTP's rules, shared and read-only (for when nothing is configured). */
const struct policy *policy_defaults(void);

/* Does p say anything of its own (a rule not OTP's, or an owner)? */
bool policy_is_configured(const struct policy *p);

/* "register"... and back; -1 for an unknown name. */
const char *policy_kind_name(enum policy_kind kind);
int policy_kind_from_name(const char *name);
/* "default", "file", "option". */
const char *policy_origin_name(enum policy_origin origin);

/*
 * May a request of kind come from peer (is_local: OTP's local-peer
 * rule says so)?  An IPv4-mapped IPv6 peer is matched as IPv4.  With
 * ret, the first matching entry is found and reported; without, the
 * answer (the same) comes the quickest way: `local' first, then only
 * the networks of the peer's family, a mask and a compare each.
 */
bool policy_allows(const struct policy *p, enum policy_kind kind,
    const struct registry_addr *peer, bool is_local,
    struct policy_decision *ret);

/*
 * The ownership rule covering name: an exact one, else the longest
 * prefix; NULL if none does.
 */
const struct policy_owner *policy_owner_of(const struct policy *p,
    const uint8_t *name, size_t nlen);

/*
 * May uid register the names of rule o?  An unknown uid
 * (REGISTRY_UID_UNKNOWN: a peer on another host) may not.  member is
 * asked for group ids only when no user id matches; it may be NULL
 * (then groups never match).
 */
bool policy_owner_allows(const struct policy_owner *o, uint32_t uid,
    policy_member_fn *member, void *arg);
/*
 * The same, saying when it cannot tell yet: 1 allowed, 0 refused, or
 * -EAGAIN when no user id matches, no group is known to, and the
 * membership of some group was not known (member said -EAGAIN).
 * policy_owner_allows refuses then: it never guesses.
 */
int policy_owner_check(const struct policy_owner *o, uint32_t uid,
    policy_member_fn *member, void *arg);

/*
 * Text forms, NUL-terminated, cut to size: an entry ("10.0.0.0/8",
 * "local", "::1"), an id ("user=rabbitmq"), a rule's pattern ("rabbit*",
 * escaped as \xNN where not printable).
 */
void policy_entry_text(const struct policy_entry *e, char *buf,
    size_t size);
void policy_id_text(const struct policy_id *id, char *buf, size_t size);
void policy_pattern_text(const struct policy_owner *o, char *buf,
    size_t size);

/*
 * An address as the peer of a request would have it: IPv4 or IPv6
 * text, no prefix.  Returns 0 or -EINVAL.
 */
int policy_parse_addr(const char *s, struct registry_addr *ret);

#endif
