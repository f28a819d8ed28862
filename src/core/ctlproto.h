/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctlproto: the control-socket message format shared by epmdd and
 * epmdctl.  A message is a fixed big-endian header (version u8, type u8,
 * flags u16, payload length u32) and a payload of self-describing
 * fields (key, kind, value); each type's required fields are checked as
 * ctlschema's table says.  Pure: no I/O, no libuv.
 */
#ifndef EPMDD_CTLPROTO_H
#define EPMDD_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/*
 * Bump CTL_PROTOCOL_VERSION when a message changes meaning or a required
 * field is added or removed.  New optional fields and new message types
 * do not need a bump: receivers skip keys they do not know.
 */
#define CTL_PROTOCOL_VERSION 1
#define CTL_HEADER_SIZE 8
#define CTL_MAX_PAYLOAD 65536 /* bytes after the header */
#define CTL_MAX_MESSAGE (CTL_HEADER_SIZE + CTL_MAX_PAYLOAD)
#define CTL_MAX_FIELDS 96
#define CTL_MAX_KEY 32
#define CTL_MAX_VALUE 4096 /* longest bytes field */
#define CTL_MAX_REQUEST 8192 /* longest request a daemon accepts */

enum ctl_type {
	/* Requests (epmdctl to epmdd). */
	CTL_NAMES = 1,	  /* list nodes: CTL_NODE..., CTL_END */
	CTL_STATUS = 2,	  /* CTL_STATUS_REPLY */
	CTL_STOP = 3,	  /* "name": unregister it (privileged) */
	CTL_SHUTDOWN = 4, /* stop the daemon (privileged) */
	CTL_WATCH = 5,	  /* CTL_OK, then CTL_EVENT until closed */
	CTL_UPGRADE = 6,  /* re-execute ["path"] (privileged) */
	/* 7 is unassigned. */
	CTL_RELOAD = 8,	  /* read the configuration again (privileged) */
	CTL_POLICY = 9,	  /* CTL_POLICY_REPLY, CTL_POLICY_RULE..., CTL_END */
	CTL_POLICY_TEST = 10, /* "address", "request" ["name", "uid"]:
			       * CTL_VERDICT */
	/* Replies and events. */
	CTL_NODE = 64,
	CTL_END = 65,	       /* "count" */
	CTL_STATUS_REPLY = 66,
	CTL_OK = 67,
	CTL_ERROR = 68,	       /* "code", "message" */
	CTL_EVENT = 69,	       /* "event", "time_ms", ... */
	CTL_POLICY_REPLY = 70, /* "source", ...: where the policy comes from */
	CTL_POLICY_RULE = 71,  /* "kind", "rule", ...: one rule */
	CTL_VERDICT = 72,      /* "allowed", ...: a policy test's answer */
};

/* CTL_ERROR codes. */
enum ctl_error {
	CTL_ERR_PERMISSION = 1, /* not uid 0 or the daemon's uid */
	CTL_ERR_NOT_FOUND = 2,
	CTL_ERR_BAD_REQUEST = 3,
	CTL_ERR_VERSION = 4,
	CTL_ERR_UNSUPPORTED = 5,
	CTL_ERR_BUSY = 6,
	CTL_ERR_INTERNAL = 7,
	CTL_ERR_CONFIG = 8,	/* the configuration does not load */
};

enum ctl_kind {
	CTL_U64 = 1,
	CTL_BYTES = 2,
};

/* A decoded field; key and p point into the message. */
struct ctl_field {
	const char *key; /* not NUL-terminated */
	uint8_t klen;
	uint8_t kind;
	uint16_t len;	  /* CTL_BYTES */
	uint64_t u;	  /* CTL_U64 */
	const uint8_t *p; /* CTL_BYTES */
};

struct ctl_msg {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t length; /* payload bytes */
	size_t nfields;
	struct ctl_field fields[CTL_MAX_FIELDS];
};

/*
 * Decode one message from the start of p.  Returns the bytes it takes
 * (> 0), 0 if more are needed, or: -EPROTO for another protocol version
 * (as soon as the header is in, *ret holds the header), -EMSGSIZE for a
 * payload over CTL_MAX_PAYLOAD, -ENOTSUP for an unknown type, -EBADMSG
 * for bad fields (truncated, too many, a required field missing or of
 * the wrong kind).
 */
ssize_t ctlproto_decode(const uint8_t *p, size_t len, struct ctl_msg *ret);

/* Name of a message type ("names", "node"...), or "unknown". */
const char *ctlproto_type_name(uint8_t type);

/* The field with this key, or NULL. */
const struct ctl_field *ctlproto_find(const struct ctl_msg *m,
    const char *key);
/* Whether field f has this key. */
bool ctlproto_is_key(const struct ctl_field *f, const char *key);
/* A u64 field's value, or def if absent or of another kind. */
uint64_t ctlproto_u64(const struct ctl_msg *m, const char *key, uint64_t def);
/*
 * A bytes field copied into buf as a NUL-terminated string (cut to
 * size-1 bytes); "" if absent.  Returns buf.
 */
char *ctlproto_str(const struct ctl_msg *m, const char *key, char *buf,
    size_t size);

/*
 * Encoding: ctlproto_begin writes a header and remembers where; add
 * fields; ctlproto_end fills in the length.  Each returns 0 or a
 * negative errno (-ENOBUFS/-ENOMEM from the wbuf, -EMSGSIZE past
 * CTL_MAX_PAYLOAD, -EINVAL for a key or value too long); after a failure
 * the caller drops the message by resetting w->len to *ret_start.
 */
int ctlproto_begin(struct wbuf *w, uint8_t type, size_t *ret_start);
int ctlproto_put_u64(struct wbuf *w, const char *key, uint64_t v);
int ctlproto_put_bytes(struct wbuf *w, const char *key, const void *p,
    size_t len);
int ctlproto_put_str(struct wbuf *w, const char *key, const char *s);
int ctlproto_end(struct wbuf *w, size_t start);

/*
 * The default control socket path for a daemon on port: for uid 0
 * "/run/epmdd/control", for others "$XDG_RUNTIME_DIR/epmdd/control" or
 * "/tmp/epmdd-UID/control"; ".PORT" is appended for ports other than
 * 4369.  xdg may be NULL.  Returns 0 or -ENAMETOOLONG.
 */
#define CTL_DEFAULT_PORT 4369
#define CTL_RUN_DIR "/run/epmdd"
int ctlproto_default_path(uint16_t port, unsigned uid, const char *xdg,
    char *buf, size_t size);

/* A whole message with no fields (requests, CTL_OK). */
int ctlproto_put_empty(struct wbuf *w, uint8_t type);
/* A whole CTL_ERROR message. */
int ctlproto_put_error(struct wbuf *w, enum ctl_error code,
    const char *message);

#endif
