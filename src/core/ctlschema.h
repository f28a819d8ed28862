/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctlschema: every field of the control messages in one table, shared
 * by epmdd and epmdctl: its key, its kind (a number, text the daemon
 * makes, or bytes from a peer), the message types that must carry it,
 * and how epmdctl renders it in JSON.  Both sides name a field by its
 * CTL_F_ index (CTL_KEY), so each key is written once.  Pure.
 */
#ifndef EPMDD_CTLSCHEMA_H
#define EPMDD_CTLSCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlproto.h"

/* What a field holds: CTLSCHEMA_U64 is CTL_U64 on the wire, the others
 * CTL_BYTES. */
enum ctlschema_kind {
	CTLSCHEMA_U64 = 1,
	CTLSCHEMA_STR,	 /* text the daemon makes (ASCII, a path...) */
	CTLSCHEMA_BYTES, /* bytes from a peer or a file: a name, a pattern */
};

/* How epmdctl writes a field in a JSON document made from a message. */
enum ctlschema_json {
	CTLSCHEMA_JSON_NUMBER = 1,
	CTLSCHEMA_JSON_STRING, /* escaped as epmdctl(1) says */
	CTLSCHEMA_JSON_BOOL,   /* 0 false, else true */
	CTLSCHEMA_JSON_WORDS,  /* "a b c": an array of strings */
	CTLSCHEMA_JSON_TYPE,   /* a node type: "type" by name, "type_code" */
	CTLSCHEMA_JSON_UID,    /* a uid, or null when not known */
	CTLSCHEMA_JSON_HEX,    /* bytes as a hex string */
};

/* The bit of a message type in a field's required set. */
#define CTLSCHEMA_IN(type) \
	((uint32_t)1 << ((type) >= 64 ? (type) - 64 + 16 : (type)))

/*
 * The fields, by index.  A key ending in '_' names a family: the fields
 * whose key is that prefix and a reason or a kind ("refused_timeout").
 */
enum ctlschema_field_id {
	CTL_F_CODE,
	CTL_F_MESSAGE,
	CTL_F_COUNT,
	CTL_F_NAME,
	CTL_F_PATH,
	CTL_F_ADDRESS,
	CTL_F_REQUEST,
	CTL_F_UID,
	CTL_F_PORT,
	CTL_F_TYPE,
	CTL_F_PROTOCOL,
	CTL_F_HIGHEST_VERSION,
	CTL_F_LOWEST_VERSION,
	CTL_F_CREATION,
	CTL_F_EXTRA,
	CTL_F_REGISTERED_AT,
	CTL_F_PEER,
	CTL_F_INODE,
	CTL_F_FD,
	CTL_F_OWNER_RULE,
	CTL_F_OWNER_RULE_LINE,
	CTL_F_OWNER_IDS,
	CTL_F_OWNER_ALLOWED,
	CTL_F_VERSION,
	CTL_F_PID,
	CTL_F_STARTED_AT,
	CTL_F_UPTIME,
	CTL_F_LISTEN,
	CTL_F_CONTROL,
	CTL_F_RELAXED,
	CTL_F_PACKET_TIMEOUT,
	CTL_F_HANDOVER,
	CTL_F_HANDOVER_RESTORED,
	CTL_F_NODES,
	CTL_F_OLD_NAMES,
	CTL_F_REGISTRATIONS,
	CTL_F_UNREGISTERED_,
	CTL_F_LOOKUPS_HIT,
	CTL_F_LOOKUPS_MISS,
	CTL_F_NAMES_REQUESTS,
	CTL_F_DUMP_REQUESTS,
	CTL_F_KILL_REQUESTS,
	CTL_F_STOP_REQUESTS,
	CTL_F_REFUSED_,
	CTL_F_ACCESS_REFUSED_,
	CTL_F_OWNER_REFUSED,
	CTL_F_POLICY_SOURCE,
	CTL_F_POLICY_SAVED,
	CTL_F_POLICY_LOADED_AT,
	CTL_F_POLICY_ACCESS_RULES,
	CTL_F_POLICY_OWNER_RULES,
	CTL_F_POLICY_LOADS,
	CTL_F_POLICY_LOAD_FAILURES,
	CTL_F_POLICY_ERROR,
	CTL_F_CONNECTIONS,
	CTL_F_CONNECTIONS_PEAK,
	CTL_F_CONNECTIONS_LIMIT,
	CTL_F_ACCEPTED,
	CTL_F_ACCEPT_ERRORS,
	CTL_F_ANSWERED_AT_ONCE,
	CTL_F_CONTROL_CLIENTS,
	CTL_F_HASH_BUCKETS,
	CTL_F_HASH_LONGEST_CHAIN,
	CTL_F_EVENT,
	CTL_F_TIME_MS,
	CTL_F_REASON,
	CTL_F_RULE,
	CTL_F_SOURCE,
	CTL_F_FILE,
	CTL_F_CONFIGURED,
	CTL_F_SAVED,
	CTL_F_LOADED_AT,
	CTL_F_LOADS,
	CTL_F_LOAD_FAILURES,
	CTL_F_ERROR,
	CTL_F_KIND,
	CTL_F_LINE,
	CTL_F_ORIGIN,
	CTL_F_OWNER,
	CTL_F_ALLOWED,
	CTL_F_LOCAL,
	CTL_F_ACCESS_ALLOWED,
	CTL_F_ACCESS_MODE,
	CTL_F_ACCESS_ORIGIN,
	CTL_F_ACCESS_LINE,
	CTL_F_ACCESS_ENTRY,
	CTL_F_OWNER_LINE,
	CTLSCHEMA_NFIELDS
};

struct ctlschema_field {
	const char *key;
	uint8_t kind;	   /* enum ctlschema_kind */
	uint8_t json;	   /* enum ctlschema_json */
	uint32_t required; /* CTLSCHEMA_IN() of each type that must carry it */
};

extern const struct ctlschema_field ctlschema_fields[CTLSCHEMA_NFIELDS];

/* The key of field CTL_F_X, for ctlproto's getters and putters. */
#define CTL_KEY(x) (ctlschema_fields[CTL_F_##x].key)

/* Whether a field's key names a family (ends in '_'). */
bool ctlschema_is_family(const struct ctlschema_field *f);

/*
 * The field a key (klen bytes, not NUL-terminated) belongs to: the one
 * with that key, else the family whose prefix it starts with (the
 * longest); NULL when the table has neither.
 */
const struct ctlschema_field *ctlschema_lookup(const char *key, size_t klen);

/* The wire kind of a field (CTL_U64 or CTL_BYTES). */
uint8_t ctlschema_wire_kind(const struct ctlschema_field *f);

#endif
