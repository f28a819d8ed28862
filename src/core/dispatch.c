/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * dispatch: OTP 25 epmd's request handling (epmd_srv.c do_request),
 * with the deviations doc/DECISIONS lists (numbered there): a failed
 * ALIVE2 is closed after its reply, STOP of an unknown name answers
 * NOEXIST alone, a duplicate whose holder has gone is replaced, and a
 * name holding a control character gets the error reply.
 * Every request of a known kind first passes the access policy, whose
 * default is epmd's local-peer check (and refuses as it does: a close,
 * no reply); a registration of an owned name then needs its owner.
 */
#include "dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"

static const char *const refusal_names[DISPATCH_REFUSAL_COUNT] = {
	[DISPATCH_OK] = "ok",
	[DISPATCH_MALFORMED] = "malformed",
	[DISPATCH_UNKNOWN_REQUEST] = "unknown_request",
	[DISPATCH_NON_LOCAL] = "non_local",
	[DISPATCH_DUPLICATE] = "duplicate_name",
	[DISPATCH_NAME_TOO_LONG] = "name_too_long",
	[DISPATCH_NAME_ENCODING] = "name_encoding",
	[DISPATCH_NAME_CONTROL] = "name_control",
	[DISPATCH_EXTRA_TOO_LONG] = "extra_too_long",
	[DISPATCH_NOT_RELAXED] = "not_relaxed",
	[DISPATCH_KILL_REFUSED] = "kill_refused",
	[DISPATCH_NO_MEMORY] = "no_memory",
	[DISPATCH_BAD_SIZE] = "bad_size",
	[DISPATCH_PIPELINED] = "pipelined",
	[DISPATCH_TIMEOUT] = "timeout",
	[DISPATCH_CONN_LIMIT] = "connection_limit",
	[DISPATCH_POLICY] = "policy",
	[DISPATCH_NOT_OWNER] = "not_owner",
};

const char *
dispatch_refusal_name(enum dispatch_refusal r)
{
	if ((unsigned)r >= DISPATCH_REFUSAL_COUNT || refusal_names[r] == NULL)
		return "unknown";
	return refusal_names[r];
}

const char *
dispatch_tag_name(uint8_t tag)
{
	switch (tag) {
	case CODEC_ALIVE2_REQ:
		return "ALIVE2_REQ";
	case CODEC_PORT_PLEASE2_REQ:
		return "PORT_PLEASE2_REQ";
	case CODEC_NAMES_REQ:
		return "NAMES_REQ";
	case CODEC_DUMP_REQ:
		return "DUMP_REQ";
	case CODEC_KILL_REQ:
		return "KILL_REQ";
	case CODEC_STOP_REQ:
		return "STOP_REQ";
	default:
		return "unknown";
	}
}

int
dispatch_tag_kind(uint8_t tag)
{
	switch (tag) {
	case CODEC_ALIVE2_REQ:
		return POLICY_REGISTER;
	case CODEC_PORT_PLEASE2_REQ:
		return POLICY_LOOKUP;
	case CODEC_NAMES_REQ:
		return POLICY_NAMES;
	case CODEC_DUMP_REQ:
		return POLICY_DUMP;
	case CODEC_KILL_REQ:
	case CODEC_STOP_REQ:
		return POLICY_ADMIN;
	default:
		return -1;
	}
}

void
dispatch_rule_text(const struct dispatch_result *res, char *buf, size_t size)
{
	char pattern[64];

	if (size == 0)
		return;
	buf[0] = '\0';
	if (res->refusal == DISPATCH_POLICY && res->kind >= 0) {
		const char *kn = policy_kind_name((enum policy_kind)res->kind);

		if (res->decision.origin == POLICY_OPTION)
			snprintf(buf, size, "-allow %s", kn);
		else
			snprintf(buf, size, "%s rule on line %u", kn,
			    res->decision.line);
	} else if (res->refusal == DISPATCH_NOT_OWNER &&
	    res->owner_rule != NULL) {
		policy_pattern_text(res->owner_rule, pattern, sizeof(pattern));
		if (res->uid == REGISTRY_UID_UNKNOWN && !res->owner_local)
			snprintf(buf, size, "owner %s on line %u, socket owner "
			    "unknown (not a local peer)", pattern,
			    res->owner_rule->line);
		else if (res->uid == REGISTRY_UID_UNKNOWN &&
		    (res->owner_err == -ENOENT || res->owner_err == 0))
			snprintf(buf, size, "owner %s on line %u, socket owner "
			    "unknown (a local peer, but its socket was not "
			    "found on this host)", pattern,
			    res->owner_rule->line);
		else if (res->uid == REGISTRY_UID_UNKNOWN)
			snprintf(buf, size, "owner %s on line %u, socket owner "
			    "unknown (a local peer; asking the kernel failed: "
			    "%s)", pattern, res->owner_rule->line,
			    strerror(-res->owner_err));
		else
			snprintf(buf, size, "owner %s on line %u, socket of "
			    "uid %u", pattern, res->owner_rule->line, res->uid);
	}
}

static void
refuse(struct dispatch_ctx *ctx, struct dispatch_result *ret,
    enum dispatch_fate fate, enum dispatch_refusal why, const char *text)
{
	ret->fate = fate;
	ret->refusal = why;
	ret->why = text;
	ctx->stats.refused[why]++;
}

/* Write a fixed reply; if even that fails, close without one. */
static void
reply(struct dispatch_ctx *ctx, struct dispatch_result *ret, struct wbuf *out,
    const void *p, size_t len, enum dispatch_fate fate)
{
	if (buf_put_bytes(out, p, len) < 0) {
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_NO_MEMORY,
		    "no memory for the reply");
		return;
	}
	ret->fate = fate;
	ret->writes = 1;
}

static void
alive2_error(struct dispatch_ctx *ctx, struct dispatch_result *ret,
    struct wbuf *out, uint16_t hv, enum dispatch_refusal why, const char *text)
{
	/*
	 * Decision 4 (doc/DECISIONS): the error reply, then the connection is
	 * closed.
	 */
	if (codec_put_alive2_resp(out, hv, 1, CODEC_ERROR_CREATION) < 0) {
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_NO_MEMORY,
		    "no memory for the reply");
		return;
	}
	refuse(ctx, ret, DISPATCH_REPLY_CLOSE, why, text);
	ret->writes = 1;
}

/* OTP's log text for a privileged request from a non-local peer. */
static const char *
non_local_text(uint8_t tag)
{
	switch (tag) {
	case CODEC_ALIVE2_REQ:
		return "ALIVE2_REQ from a non-local address";
	case CODEC_DUMP_REQ:
		return "DUMP_REQ from a non-local address";
	case CODEC_KILL_REQ:
		return "KILL_REQ from a non-local address";
	case CODEC_STOP_REQ:
		return "STOP_REQ from a non-local address";
	default:
		return "request from a non-local address";
	}
}

/*
 * The access policy for a request of kind from peer.  A refusal closes
 * the connection without a reply, as OTP does for a non-local admin
 * request; one by OTP's own rule is counted and logged as OTP's.
 */
static bool
access_allowed(struct dispatch_ctx *ctx, const struct dispatch_peer *peer,
    uint8_t tag, enum policy_kind kind, struct dispatch_result *ret)
{
	const struct policy *p = ctx->policy != NULL ? ctx->policy
						     : policy_defaults();

	if (policy_allows(p, kind, &peer->addr, peer->is_local, NULL))
		return true;
	/* Refused: which rule, for the log and the watchers. */
	policy_allows(p, kind, &peer->addr, peer->is_local, &ret->decision);
	ret->kind = (int)kind;
	ctx->stats.access_refused[kind]++;
	if (ret->decision.origin == POLICY_DEFAULT)
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_NON_LOCAL,
		    non_local_text(tag));
	else
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_POLICY,
		    "refused by the access policy");
	return false;
}

/*
 * May this peer register the name?  Yes (1) when no ownership rule
 * covers it; else when the owner of the registering socket (learned
 * here, for local peers only) is one the rule names; -EAGAIN when that
 * hangs on a group membership not known yet.  *ret_uid and *ret_inode
 * get what was learned.
 */
static int
owner_allowed(struct dispatch_ctx *ctx, const struct dispatch_peer *peer,
    const uint8_t *name, size_t nlen, uint32_t *ret_uid, uint64_t *ret_inode,
    struct dispatch_result *ret)
{
	const struct policy_owner *o;
	uint32_t uid = peer->uid;
	uint64_t inode = peer->inode;
	int err = 0, r;

	if (ctx->policy == NULL ||
	    (o = policy_owner_of(ctx->policy, name, nlen)) == NULL)
		return 1;
	/* Only a local peer's socket can be on this host to ask about. */
	if (uid == REGISTRY_UID_UNKNOWN && peer->is_local &&
	    ctx->peer_owner != NULL &&
	    (err = ctx->peer_owner(ctx->arg, peer->owner, &uid, &inode)) < 0) {
		uid = REGISTRY_UID_UNKNOWN;
		inode = 0;
	}
	*ret_uid = uid;
	*ret_inode = inode;
	r = policy_owner_check(o, uid, ctx->member, ctx->member_arg);
	if (r > 0)
		return 1;
	ret->uid = uid;
	if (r == -EAGAIN)
		return r;
	ret->owner_rule = o;
	ret->owner_local = peer->is_local;
	ret->owner_err = err;
	return 0;
}

static void
do_alive2(struct dispatch_ctx *ctx, const struct dispatch_peer *peer,
    const uint8_t *body, size_t bsize, int64_t now, struct wbuf *out,
    struct dispatch_result *ret)
{
	struct registry_entry e;
	struct codec_alive2 a;
	struct node *n, *held;
	const char *why = NULL;
	uint32_t uid = peer->uid;
	uint64_t inode = 0;
	int r;

	if (codec_parse_alive2(body, bsize, &a, &why) < 0) {
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_MALFORMED, why);
		return;
	}
	ret->name = a.name;
	ret->nlen = a.nlen;
	switch (codec_check_alive2(&a)) {
	case CODEC_ALIVE2_OK:
		break;
	case CODEC_ALIVE2_NAME_TOO_LONG:
		alive2_error(ctx, ret, out, a.hv, DISPATCH_NAME_TOO_LONG,
		    "node name is too long");
		return;
	case CODEC_ALIVE2_NAME_ENCODING:
		alive2_error(ctx, ret, out, a.hv, DISPATCH_NAME_ENCODING,
		    "invalid node name encoding");
		return;
	case CODEC_ALIVE2_NAME_CONTROL:
		alive2_error(ctx, ret, out, a.hv, DISPATCH_NAME_CONTROL,
		    "control character in node name");
		return;
	case CODEC_ALIVE2_EXTRA_TOO_LONG:
		alive2_error(ctx, ret, out, a.hv, DISPATCH_EXTRA_TOO_LONG,
		    "extra data is too long");
		return;
	}
	/*
	 * An owned name taken by someone else gets what a taken name gets:
	 * the node cannot tell, and a squatter learns nothing more.
	 */
	r = owner_allowed(ctx, peer, a.name, a.nlen, &uid, &inode, ret);
	if (r == -EAGAIN) {
		/* Asked again when the membership is known: no reply yet. */
		ret->fate = DISPATCH_WAIT;
		ret->inode = inode;
		return;
	}
	if (r == 0) {
		alive2_error(ctx, ret, out, a.hv, DISPATCH_NOT_OWNER,
		    "the name belongs to another user");
		return;
	}

	/*
	 * Decision 6 (doc/DECISIONS): a holder whose peer has already closed
	 * (EOF not yet processed) gives the name up now rather than refusing
	 * it.
	 */
	held = registry_lookup(ctx->reg, a.name, a.nlen);
	if (held != NULL && ctx->holder_gone != NULL &&
	    ctx->holder_gone(ctx->arg, held->owner)) {
		ret->released = held->owner;
		registry_unregister(ctx->reg, held, REGISTRY_CLOSED, now);
		held = NULL;
	}
	if (held != NULL) {
		alive2_error(ctx, ret, out, a.hv, DISPATCH_DUPLICATE,
		    "node name already occupied");
		return;
	}

	memset(&e, 0, sizeof(e));
	e.name = a.name;
	e.nlen = a.nlen;
	e.extra = a.extra;
	e.elen = a.elen;
	e.port = a.port;
	e.type = a.type;
	e.proto = a.proto;
	e.hv = a.hv;
	e.lv = a.lv;
	e.owner = peer->owner;
	e.fd = peer->fd;
	e.uid = uid;
	e.inode = inode;
	e.peer = peer->addr;
	r = registry_register(ctx->reg, &e, now, &n);
	if (r == -EEXIST) {
		alive2_error(ctx, ret, out, a.hv, DISPATCH_DUPLICATE,
		    "node name already occupied");
		return;
	}
	if (r < 0) {
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_NO_MEMORY,
		    "no memory for the registration");
		return;
	}
	if (codec_put_alive2_resp(out, a.hv, 0, registry_creation(n)) < 0) {
		registry_unregister(ctx->reg, n, REGISTRY_ERROR, now);
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_NO_MEMORY,
		    "no memory for the reply");
		return;
	}
	ret->fate = DISPATCH_REPLY_KEEP;
	ret->node = n;
	ret->writes = 1;
}

static void
do_port2(struct dispatch_ctx *ctx, const uint8_t *body, size_t bsize,
    struct wbuf *out, struct dispatch_result *ret)
{
	const uint8_t *name;
	const char *why = NULL;
	struct codec_alive2 a;
	struct node *n;
	size_t len;
	int r;

	if (codec_parse_port2(body, bsize, &name, &len, &why) < 0) {
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_MALFORMED, why);
		return;
	}
	n = registry_lookup(ctx->reg, name, len);
	if (n == NULL) {
		ctx->stats.lookups_miss++;
		r = codec_put_port2_missing(out);
	} else {
		ctx->stats.lookups_hit++;
		memset(&a, 0, sizeof(a));
		a.port = n->port;
		a.type = n->type;
		a.proto = n->proto;
		a.hv = n->hv;
		a.lv = n->lv;
		a.nlen = n->nlen;
		a.name = n->data;
		a.elen = n->elen;
		a.extra = n->data + n->nlen;
		r = codec_put_port2_resp(out, &a);
	}
	if (r < 0) {
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_NO_MEMORY,
		    "no memory for the reply");
		return;
	}
	ret->fate = DISPATCH_REPLY_CLOSE;
	ret->writes = 1;
}

/* NAMES and DUMP: a port header and lines. */
static void
do_list(struct dispatch_ctx *ctx, const struct dispatch_peer *peer,
    bool dump, struct wbuf *out, struct dispatch_result *ret)
{
	size_t start = out->len;
	struct node *n;
	unsigned writes = 1;
	int r;

	r = codec_put_names_header(out, peer->listen_port);
	for (n = registry_first_active(ctx->reg); n != NULL && r == 0;
	     n = registry_next(n), writes++)
		r = dump ? codec_put_dump_active(out, n->data, n->nlen,
			       n->port, n->fd)
			 : codec_put_names_line(out, n->data, n->nlen,
			       n->port);
	for (n = dump ? registry_first_old(ctx->reg) : NULL;
	     n != NULL && r == 0; n = registry_next(n), writes++)
		r = codec_put_dump_old(out, n->data, n->nlen, n->port, n->fd);
	if (r < 0) {
		out->len = start;
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_NO_MEMORY,
		    "no memory for the reply");
		return;
	}
	if (dump)
		ctx->stats.dumps++;
	else
		ctx->stats.names++;
	ret->fate = DISPATCH_REPLY_CLOSE;
	ret->writes = writes;
}

static void
do_kill(struct dispatch_ctx *ctx, struct wbuf *out,
    struct dispatch_result *ret)
{
	struct registry_stats st;

	registry_get_stats(ctx->reg, &st);
	if (!ctx->relaxed && st.active > 0) {
		reply(ctx, ret, out, "NO", 2, DISPATCH_REPLY_CLOSE);
		if (ret->refusal == DISPATCH_OK)
			refuse(ctx, ret, DISPATCH_REPLY_CLOSE,
			    DISPATCH_KILL_REFUSED,
			    "KILL_REQ refused, live nodes");
		return;
	}
	ctx->stats.kills++;
	reply(ctx, ret, out, "OK", 2, DISPATCH_REPLY_KILL);
}

static void
do_stop(struct dispatch_ctx *ctx, const uint8_t *body, size_t bsize,
    int64_t now, struct wbuf *out, struct dispatch_result *ret)
{
	const uint8_t *name;
	struct node *n;
	size_t len;

	if (!ctx->relaxed) {
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_NOT_RELAXED,
		    "STOP_REQ refused, no relaxed command check");
		return;
	}
	if (codec_parse_stop(body, bsize, &name, &len) < 0) {
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_MALFORMED,
		    "packet too small for STOP_REQ");
		return;
	}
	ctx->stats.stops++;
	n = registry_lookup(ctx->reg, name, len);
	if (n == NULL) {
		/*
		 * Decision 2 (doc/DECISIONS): OTP falls through to
		 * "NOEXISTSTOPPED".
		 */
		reply(ctx, ret, out, "NOEXIST", 7, DISPATCH_REPLY_CLOSE);
		return;
	}
	reply(ctx, ret, out, "STOPPED", 7, DISPATCH_REPLY_CLOSE);
	if (ret->fate == DISPATCH_REPLY_CLOSE) {
		ret->released = n->owner;
		registry_unregister(ctx->reg, n, REGISTRY_STOPPED, now);
	}
}

void
dispatch_request(struct dispatch_ctx *ctx, const struct dispatch_peer *peer,
    const uint8_t *body, size_t bsize, int64_t now, struct wbuf *out,
    struct dispatch_result *ret)
{
	int kind;

	memset(ret, 0, sizeof(*ret));
	ret->kind = -1;
	if (bsize == 0) {
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_MALFORMED,
		    "empty request");
		return;
	}
	ret->tag = body[0];
	kind = dispatch_tag_kind(body[0]);
	if (kind >= 0 && !access_allowed(ctx, peer, body[0],
			     (enum policy_kind)kind, ret))
		return;
	switch (body[0]) {
	case CODEC_ALIVE2_REQ:
		do_alive2(ctx, peer, body, bsize, now, out, ret);
		break;
	case CODEC_PORT_PLEASE2_REQ:
		do_port2(ctx, body, bsize, out, ret);
		break;
	case CODEC_NAMES_REQ:
		do_list(ctx, peer, false, out, ret);
		break;
	case CODEC_DUMP_REQ:
		do_list(ctx, peer, true, out, ret);
		break;
	case CODEC_KILL_REQ:
		do_kill(ctx, out, ret);
		break;
	case CODEC_STOP_REQ:
		do_stop(ctx, body, bsize, now, out, ret);
		break;
	default:
		refuse(ctx, ret, DISPATCH_CLOSE, DISPATCH_UNKNOWN_REQUEST,
		    "got garbage");
		break;
	}
}
