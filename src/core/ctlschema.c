/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctlschema: the table of control message fields, and lookups in it.
 * Adding a field: a CTL_F_ index in ctlschema.h and its row here;
 * check_ctlschema.c checks the table.  Pure.
 */
#include "ctlschema.h"

#include <string.h>

#define F(id, key, kind, json, required) \
	[CTL_F_##id] = { key, CTLSCHEMA_##kind, CTLSCHEMA_JSON_##json, \
		required }
#define IN(type) CTLSCHEMA_IN(type)

const struct ctlschema_field ctlschema_fields[CTLSCHEMA_NFIELDS] = {
	F(CODE, "code", U64, NUMBER, IN(CTL_ERROR)),
	F(MESSAGE, "message", STR, STRING, IN(CTL_ERROR)),
	F(COUNT, "count", U64, NUMBER, IN(CTL_END)),
	F(NAME, "name", BYTES, STRING, IN(CTL_STOP) | IN(CTL_NODE)),
	F(PATH, "path", STR, STRING, 0),
	F(ADDRESS, "address", STR, STRING, IN(CTL_POLICY_TEST)),
	F(REQUEST, "request", STR, STRING, IN(CTL_POLICY_TEST)),
	F(UID, "uid", U64, UID, 0),
	F(PORT, "port", U64, NUMBER, IN(CTL_NODE)),
	F(TYPE, "type", U64, TYPE, 0),
	F(PROTOCOL, "protocol", U64, NUMBER, 0),
	F(HIGHEST_VERSION, "highest_version", U64, NUMBER, 0),
	F(LOWEST_VERSION, "lowest_version", U64, NUMBER, 0),
	F(CREATION, "creation", U64, NUMBER, IN(CTL_NODE)),
	F(EXTRA, "extra", BYTES, HEX, 0),
	F(REGISTERED_AT, "registered_at", U64, NUMBER, 0),
	F(PEER, "peer", STR, STRING, 0),
	F(INODE, "inode", U64, NUMBER, 0),
	F(FD, "fd", U64, NUMBER, 0),
	F(OWNER_RULE, "owner_rule", BYTES, STRING, 0),
	F(OWNER_RULE_LINE, "owner_rule_line", U64, NUMBER, 0),
	F(OWNER_IDS, "owner_ids", BYTES, WORDS, 0),
	F(OWNER_ALLOWED, "owner_allowed", U64, BOOL, 0),
	F(VERSION, "version", STR, STRING, IN(CTL_STATUS_REPLY)),
	F(PID, "pid", U64, NUMBER, 0),
	F(STARTED_AT, "started_at", U64, NUMBER, 0),
	F(UPTIME, "uptime", U64, NUMBER, 0),
	F(LISTEN, "listen", STR, WORDS, 0),
	F(CONTROL, "control", STR, STRING, 0),
	F(RELAXED, "relaxed", U64, BOOL, 0),
	F(PACKET_TIMEOUT, "packet_timeout", U64, NUMBER, 0),
	F(HANDOVER, "handover", U64, NUMBER, 0),
	F(HANDOVER_RESTORED, "handover_restored", U64, NUMBER, 0),
	F(NODES, "nodes", U64, NUMBER, IN(CTL_STATUS_REPLY)),
	F(OLD_NAMES, "old_names", U64, NUMBER, 0),
	F(REGISTRATIONS, "registrations", U64, NUMBER, 0),
	F(UNREGISTERED_, "unregistered_", U64, NUMBER, 0),
	F(LOOKUPS_HIT, "lookups_hit", U64, NUMBER, 0),
	F(LOOKUPS_MISS, "lookups_miss", U64, NUMBER, 0),
	F(NAMES_REQUESTS, "names_requests", U64, NUMBER, 0),
	F(DUMP_REQUESTS, "dump_requests", U64, NUMBER, 0),
	F(KILL_REQUESTS, "kill_requests", U64, NUMBER, 0),
	F(STOP_REQUESTS, "stop_requests", U64, NUMBER, 0),
	F(REFUSED_, "refused_", U64, NUMBER, 0),
	F(ACCESS_REFUSED_, "access_refused_", U64, NUMBER, 0),
	F(OWNER_REFUSED, "owner_refused", U64, NUMBER, 0),
	F(POLICY_SOURCE, "policy_source", STR, STRING, 0),
	F(POLICY_SAVED, "policy_saved", U64, BOOL, 0),
	F(POLICY_LOADED_AT, "policy_loaded_at", U64, NUMBER, 0),
	F(POLICY_ACCESS_RULES, "policy_access_rules", U64, NUMBER, 0),
	F(POLICY_OWNER_RULES, "policy_owner_rules", U64, NUMBER, 0),
	F(POLICY_LOADS, "policy_loads", U64, NUMBER, 0),
	F(POLICY_LOAD_FAILURES, "policy_load_failures", U64, NUMBER, 0),
	F(POLICY_ERROR, "policy_error", BYTES, STRING, 0),
	F(CONNECTIONS, "connections", U64, NUMBER, 0),
	F(CONNECTIONS_PEAK, "connections_peak", U64, NUMBER, 0),
	F(CONNECTIONS_LIMIT, "connections_limit", U64, NUMBER, 0),
	F(ACCEPTED, "accepted", U64, NUMBER, 0),
	F(ACCEPT_ERRORS, "accept_errors", U64, NUMBER, 0),
	F(ANSWERED_AT_ONCE, "answered_at_once", U64, NUMBER, 0),
	F(CONTROL_CLIENTS, "control_clients", U64, NUMBER, 0),
	F(HASH_BUCKETS, "hash_buckets", U64, NUMBER, 0),
	F(HASH_LONGEST_CHAIN, "hash_longest_chain", U64, NUMBER, 0),
	F(EVENT, "event", STR, STRING, IN(CTL_EVENT)),
	F(TIME_MS, "time_ms", U64, NUMBER, IN(CTL_EVENT)),
	F(REASON, "reason", STR, STRING, 0),
	F(RULE, "rule", BYTES, STRING, IN(CTL_POLICY_RULE)),
	F(SOURCE, "source", STR, STRING, IN(CTL_POLICY_REPLY)),
	F(FILE, "file", STR, STRING, 0),
	F(CONFIGURED, "configured", U64, BOOL, 0),
	F(SAVED, "saved", U64, BOOL, 0),
	F(LOADED_AT, "loaded_at", U64, NUMBER, 0),
	F(LOADS, "loads", U64, NUMBER, 0),
	F(LOAD_FAILURES, "load_failures", U64, NUMBER, 0),
	F(ERROR, "error", BYTES, STRING, 0),
	F(KIND, "kind", STR, STRING, IN(CTL_POLICY_RULE)),
	F(LINE, "line", U64, NUMBER, 0),
	F(ORIGIN, "origin", STR, STRING, 0),
	F(OWNER, "owner", BYTES, STRING, 0),
	F(ALLOWED, "allowed", U64, BOOL, IN(CTL_VERDICT)),
	F(LOCAL, "local", U64, BOOL, 0),
	F(ACCESS_ALLOWED, "access_allowed", U64, BOOL, 0),
	F(ACCESS_MODE, "access_mode", STR, STRING, 0),
	F(ACCESS_ORIGIN, "access_origin", STR, STRING, 0),
	F(ACCESS_LINE, "access_line", U64, NUMBER, 0),
	F(ACCESS_ENTRY, "access_entry", STR, STRING, 0),
	F(OWNER_LINE, "owner_line", U64, NUMBER, 0),
};

bool
ctlschema_is_family(const struct ctlschema_field *f)
{
	size_t len = strlen(f->key);

	return len > 0 && f->key[len - 1] == '_';
}

const struct ctlschema_field *
ctlschema_lookup(const char *key, size_t klen)
{
	const struct ctlschema_field *family = NULL;
	size_t i, best = 0;

	for (i = 0; i < CTLSCHEMA_NFIELDS; i++) {
		const struct ctlschema_field *f = &ctlschema_fields[i];
		size_t len = strlen(f->key);

		if (!ctlschema_is_family(f)) {
			if (len == klen && memcmp(f->key, key, klen) == 0)
				return f;
		} else if (len < klen && len > best &&
		    memcmp(f->key, key, len) == 0) {
			family = f;
			best = len;
		}
	}
	return family;
}

uint8_t
ctlschema_wire_kind(const struct ctlschema_field *f)
{
	return f->kind == CTLSCHEMA_U64 ? CTL_U64 : CTL_BYTES;
}
