/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctlpolicy: the policy as control messages.  A long access list is
 * sent in pieces of CTLPOLICY_ENTRIES_PER_RULE entries and an ownership
 * rule's users and groups as one field each, so that no field passes
 * CTL_MAX_VALUE whatever the configuration holds.  For a policy test,
 * an address is local when it is loopback or one of this host's: what
 * OTP's rule makes of a peer that connects from that address to itself.
 */
#include "ctlpolicy.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "codec.h"
#include "ctlschema.h"
#include "util.h"

/* Fields of one message; any failure makes r non-zero. */
#define PUT(call) (r |= (call) < 0)

static int
put_access(struct wbuf *w, const struct policy_access *a,
    enum policy_kind kind, uint64_t *count)
{
	char text[CTL_MAX_VALUE + 1], entry[POLICY_ENTRY_TEXT];
	size_t i = 0, start, len, n;
	int r;

	do {
		text[0] = '\0';
		len = 0;
		if (a->mode != POLICY_LIST)
			util_strlcpy(text, a->mode == POLICY_ANY ? "any" : "none",
			    sizeof(text));
		for (n = 0; a->mode == POLICY_LIST && i < a->n &&
		     n < CTLPOLICY_ENTRIES_PER_RULE;
		     i++, n++) {
			policy_entry_text(&a->entries[i], entry, sizeof(entry));
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%s%s", n > 0 ? " " : "", entry);
		}
		if (ctlproto_begin(w, CTL_POLICY_RULE, &start) < 0)
			return -ENOBUFS;
		r = 0;
		PUT(ctlproto_put_str(w, CTL_KEY(KIND), policy_kind_name(kind)));
		PUT(ctlproto_put_str(w, CTL_KEY(RULE), text));
		PUT(ctlproto_put_str(w, CTL_KEY(ORIGIN),
		    policy_origin_name(a->origin)));
		PUT(ctlproto_put_u64(w, CTL_KEY(LINE), a->line));
		if (r != 0 || ctlproto_end(w, start) < 0)
			return -ENOBUFS;
		(*count)++;
	} while (a->mode == POLICY_LIST && i < a->n);
	return 0;
}

/* A rule's pattern as bytes, '*' included: buf holds at least plen+1. */
static size_t
pattern_bytes(const struct policy_owner *o, uint8_t *buf)
{
	memcpy(buf, o->pattern, o->plen);
	if (o->prefix)
		buf[o->plen] = '*';
	return o->plen + o->prefix;
}

static int
put_owner(struct wbuf *w, const struct policy_owner *o, uint64_t *count)
{
	uint8_t pattern[CODEC_MAX_NAME_BYTES + 1];
	char id[POLICY_MAX_ID_NAME + 8];
	size_t start, i;
	int r = 0;

	if (ctlproto_begin(w, CTL_POLICY_RULE, &start) < 0)
		return -ENOBUFS;
	PUT(ctlproto_put_str(w, CTL_KEY(KIND), "owner"));
	PUT(ctlproto_put_bytes(w, CTL_KEY(RULE), pattern, pattern_bytes(o,
	    pattern)));
	PUT(ctlproto_put_str(w, CTL_KEY(ORIGIN),
	    policy_origin_name(POLICY_FILE)));
	PUT(ctlproto_put_u64(w, CTL_KEY(LINE), o->line));
	for (i = 0; i < o->nids; i++) {
		policy_id_text(&o->ids[i], id, sizeof(id));
		PUT(ctlproto_put_str(w, CTL_KEY(OWNER), id));
	}
	if (r != 0 || ctlproto_end(w, start) < 0)
		return -ENOBUFS;
	(*count)++;
	return 0;
}

/* A rule's users and groups, "user=a group=b", cut to fit one field. */
static void
ids_text(const struct policy_owner *o, char *buf, size_t size)
{
	char id[POLICY_MAX_ID_NAME + 8];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < o->nids; i++) {
		size_t n;

		policy_id_text(&o->ids[i], id, sizeof(id));
		n = strlen(id) + (i > 0);
		if (len + n >= size)
			break; /* whole ids only */
		snprintf(buf + len, size - len, "%s%s", i > 0 ? " " : "", id);
		len += n;
	}
}

/* Where the policy in force comes from: the file, -allow, or nothing. */
static const char *
source(const struct config *cfg)
{
	if (cfg->policy == NULL)
		return "";
	return cfg->text != NULL ? cfg->path : "-allow";
}

int
ctlpolicy_put_policy(struct wbuf *w, const struct config *cfg)
{
	const struct policy *p = config_policy(cfg);
	size_t start0 = w->len, start, i;
	uint64_t count = 0;
	int k, r = 0;

	if (ctlproto_begin(w, CTL_POLICY_REPLY, &start) < 0)
		goto fail;
	PUT(ctlproto_put_str(w, CTL_KEY(SOURCE), source(cfg)));
	PUT(ctlproto_put_str(w, CTL_KEY(FILE), cfg->path));
	PUT(ctlproto_put_u64(w, CTL_KEY(CONFIGURED), cfg->policy != NULL));
	PUT(ctlproto_put_u64(w, CTL_KEY(SAVED), cfg->from_saved));
	PUT(ctlproto_put_u64(w, CTL_KEY(LOADED_AT), (uint64_t)cfg->loaded_at));
	PUT(ctlproto_put_u64(w, CTL_KEY(LOADS), cfg->loads));
	PUT(ctlproto_put_u64(w, CTL_KEY(LOAD_FAILURES), cfg->failures));
	PUT(ctlproto_put_bytes(w, CTL_KEY(ERROR), cfg->error,
	    UTIL_MIN(strlen(cfg->error), (size_t)CTL_MAX_VALUE)));
	if (r != 0 || ctlproto_end(w, start) < 0)
		goto fail;
	for (k = 0; k < POLICY_KIND_COUNT; k++)
		if (put_access(w, &p->access[k], (enum policy_kind)k, &count) <
		    0)
			goto fail;
	for (i = 0; i < p->nowners; i++)
		if (put_owner(w, &p->owners[i], &count) < 0)
			goto fail;
	if (ctlproto_begin(w, CTL_END, &start) < 0 ||
	    ctlproto_put_u64(w, CTL_KEY(COUNT), count) < 0 ||
	    ctlproto_end(w, start) < 0)
		goto fail;
	return 0;
fail:
	w->len = start0;
	return -ENOBUFS;
}

/* -------------------------------------------------------------- test */

static bool
same_addr(const struct registry_addr *a, const struct sockaddr *sa)
{
	if (sa == NULL)
		return false;
	if (a->family == 4 && sa->sa_family == AF_INET)
		return memcmp(a->addr,
			   &((const struct sockaddr_in *)(const void *)sa)
				->sin_addr,
			   4) == 0;
	if (a->family == 6 && sa->sa_family == AF_INET6)
		return memcmp(a->addr,
			   &((const struct sockaddr_in6 *)(const void *)sa)
				->sin6_addr,
			   16) == 0;
	return false;
}

/*
 * Would OTP's rule call a peer at this address local?  Loopback always;
 * one of this host's addresses when it connects to that same address.
 */
static bool
address_is_local(const struct registry_addr *in)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };
	struct registry_addr a = *in;
	struct ifaddrs *ifs, *i;
	bool local = false;

	if (a.family == 6 && memcmp(a.addr, mapped, 12) == 0) {
		a.family = 4;
		memmove(a.addr, a.addr + 12, 4);
		memset(a.addr + 4, 0, 12);
	}
	if ((a.family == 4 && a.addr[0] == 127) ||
	    (a.family == 6 && memcmp(a.addr, &in6addr_loopback, 16) == 0))
		return true;
	if (getifaddrs(&ifs) < 0)
		return false;
	for (i = ifs; i != NULL && !local; i = i->ifa_next)
		local = same_addr(&a, i->ifa_addr);
	freeifaddrs(ifs);
	return local;
}

/* The kind a request word names: the kind itself, or a request. */
static int
request_kind(const char *word)
{
	static const struct {
		const char *word;
		enum policy_kind kind;
	} aliases[] = {
		{ "alive2", POLICY_REGISTER },
		{ "port_please2", POLICY_LOOKUP },
		{ "port2", POLICY_LOOKUP },
		{ "kill", POLICY_ADMIN },
		{ "stop", POLICY_ADMIN },
	};
	size_t i;
	int k = policy_kind_from_name(word);

	for (i = 0; k < 0 && i < ARRAY_SIZE(aliases); i++)
		if (strcmp(word, aliases[i].word) == 0)
			k = (int)aliases[i].kind;
	return k;
}

int
ctlpolicy_put_verdict(struct wbuf *w, const struct config *cfg,
    const struct dispatch_ctx *dctx, const struct ctl_msg *m, char *err,
    size_t errlen)
{
	const struct policy *p = config_policy(cfg);
	const struct ctl_field *name = ctlproto_find(m, CTL_KEY(NAME));
	const struct policy_owner *o = NULL;
	struct policy_decision d;
	struct registry_addr addr;
	char text[64], request[32], entry[POLICY_ENTRY_TEXT],
	    ids[CTL_MAX_VALUE + 1];
	uint8_t pattern[CODEC_MAX_NAME_BYTES + 1];
	uint64_t uid64 = ctlproto_u64(m, CTL_KEY(UID), REGISTRY_UID_UNKNOWN);
	uint32_t uid = uid64 < REGISTRY_UID_UNKNOWN ? (uint32_t)uid64
						    : REGISTRY_UID_UNKNOWN;
	bool local, owner_ok = true;
	size_t start0 = w->len, start;
	int kind, r = 0;

	ctlproto_str(m, CTL_KEY(ADDRESS), text, sizeof(text));
	if (policy_parse_addr(text, &addr) < 0) {
		snprintf(err, errlen, "not an IPv4 or IPv6 address: \"%s\"",
		    text);
		return -EINVAL;
	}
	ctlproto_str(m, CTL_KEY(REQUEST), request, sizeof(request));
	if ((kind = request_kind(request)) < 0) {
		snprintf(err, errlen,
		    "unknown request \"%s\" (register, lookup, names, dump, "
		    "admin)",
		    request);
		return -EINVAL;
	}
	if (name != NULL && name->kind != CTL_BYTES)
		name = NULL;
	local = address_is_local(&addr);
	/* The daemon learns the owner of local peers' sockets only. */
	if (!local)
		uid = REGISTRY_UID_UNKNOWN;
	policy_allows(p, (enum policy_kind)kind, &addr, local, &d);
	if (kind == POLICY_REGISTER && name != NULL &&
	    (o = policy_owner_of(p, name->p, name->len)) != NULL)
		owner_ok = policy_owner_allows(o, uid, dctx->member,
		    dctx->member_arg);

	if (ctlproto_begin(w, CTL_VERDICT, &start) < 0)
		goto fail;
	PUT(ctlproto_put_u64(w, CTL_KEY(ALLOWED), d.allowed && owner_ok));
	PUT(ctlproto_put_str(w, CTL_KEY(KIND),
	    policy_kind_name((enum policy_kind)kind)));
	PUT(ctlproto_put_str(w, CTL_KEY(ADDRESS), text));
	PUT(ctlproto_put_u64(w, CTL_KEY(LOCAL), local));
	PUT(ctlproto_put_u64(w, CTL_KEY(ACCESS_ALLOWED), d.allowed));
	PUT(ctlproto_put_str(w, CTL_KEY(ACCESS_ORIGIN),
	    policy_origin_name(d.origin)));
	PUT(ctlproto_put_u64(w, CTL_KEY(ACCESS_LINE), d.line));
	if (d.entry != NULL) {
		policy_entry_text(d.entry, entry, sizeof(entry));
		PUT(ctlproto_put_str(w, CTL_KEY(ACCESS_ENTRY), entry));
	}
	PUT(ctlproto_put_str(w, CTL_KEY(ACCESS_MODE),
	    p->access[kind].mode == POLICY_ANY	  ? "any"
	    : p->access[kind].mode == POLICY_NONE ? "none"
						  : "list"));
	if (name != NULL)
		PUT(ctlproto_put_bytes(w, CTL_KEY(NAME), name->p, name->len));
	if (uid != REGISTRY_UID_UNKNOWN)
		PUT(ctlproto_put_u64(w, CTL_KEY(UID), uid));
	if (o != NULL) {
		PUT(ctlproto_put_bytes(w, CTL_KEY(OWNER_RULE), pattern,
		    pattern_bytes(o, pattern)));
		PUT(ctlproto_put_u64(w, CTL_KEY(OWNER_LINE), o->line));
		ids_text(o, ids, sizeof(ids));
		PUT(ctlproto_put_bytes(w, CTL_KEY(OWNER_IDS), ids,
		    UTIL_MIN(strlen(ids), (size_t)CTL_MAX_VALUE)));
		PUT(ctlproto_put_u64(w, CTL_KEY(OWNER_ALLOWED), owner_ok));
	}
	if (r != 0 || ctlproto_end(w, start) < 0)
		goto fail;
	return 0;
fail:
	w->len = start0;
	return -ENOBUFS;
}

/* -------------------------------------------------------------- status */

int
ctlpolicy_put_status(struct wbuf *w, const struct config *cfg,
    const struct dispatch_stats *ds)
{
	char key[CTL_MAX_KEY + 1];
	unsigned rules = 0;
	int k, r = 0;

	for (k = 0; k < POLICY_KIND_COUNT; k++) {
		snprintf(key, sizeof(key), "%s%s",
		    CTL_KEY(ACCESS_REFUSED_),
		    policy_kind_name((enum policy_kind)k));
		PUT(ctlproto_put_u64(w, key, ds->access_refused[k]));
		if (cfg->policy != NULL)
			rules += cfg->policy->access[k].origin !=
			    POLICY_DEFAULT;
	}
	PUT(ctlproto_put_u64(w, CTL_KEY(OWNER_REFUSED),
	    ds->refused[DISPATCH_NOT_OWNER]));
	PUT(ctlproto_put_str(w, CTL_KEY(POLICY_SOURCE), source(cfg)));
	PUT(ctlproto_put_u64(w, CTL_KEY(POLICY_SAVED), cfg->from_saved));
	PUT(ctlproto_put_u64(w, CTL_KEY(POLICY_LOADED_AT),
	    (uint64_t)cfg->loaded_at));
	PUT(ctlproto_put_u64(w, CTL_KEY(POLICY_ACCESS_RULES), rules));
	PUT(ctlproto_put_u64(w, CTL_KEY(POLICY_OWNER_RULES),
	    cfg->policy != NULL ? cfg->policy->nowners : 0));
	PUT(ctlproto_put_u64(w, CTL_KEY(POLICY_LOADS), cfg->loads));
	PUT(ctlproto_put_u64(w, CTL_KEY(POLICY_LOAD_FAILURES), cfg->failures));
	PUT(ctlproto_put_bytes(w, CTL_KEY(POLICY_ERROR), cfg->error,
	    UTIL_MIN(strlen(cfg->error), (size_t)CTL_MAX_VALUE)));
	return r != 0 ? -ENOBUFS : 0;
}

/* -------------------------------------------------------------- nodes */

int
ctlpolicy_put_node(struct wbuf *w, const struct dispatch_ctx *dctx,
    const struct node *n)
{
	const struct policy *policy = dctx->policy;
	const struct policy_owner *o;
	uint8_t pattern[CODEC_MAX_NAME_BYTES + 1];
	char ids[CTL_MAX_VALUE + 1];
	int r = 0;

	if (policy == NULL ||
	    (o = policy_owner_of(policy, n->data, n->nlen)) == NULL)
		return 0;
	ids_text(o, ids, sizeof(ids));
	PUT(ctlproto_put_bytes(w, CTL_KEY(OWNER_RULE), pattern,
	    pattern_bytes(o, pattern)));
	PUT(ctlproto_put_u64(w, CTL_KEY(OWNER_RULE_LINE), o->line));
	PUT(ctlproto_put_bytes(w, CTL_KEY(OWNER_IDS), ids,
	    UTIL_MIN(strlen(ids), (size_t)CTL_MAX_VALUE)));
	PUT(ctlproto_put_u64(w, CTL_KEY(OWNER_ALLOWED),
	    policy_owner_allows(o, n->uid, dctx->member, dctx->member_arg)));
	return r != 0 ? -ENOBUFS : 0;
}

bool
ctlpolicy_may_stop(const struct dispatch_ctx *dctx, uint32_t uid,
    const uint8_t *name, size_t nlen)
{
	const struct policy_owner *o;

	if (dctx->policy == NULL ||
	    (o = policy_owner_of(dctx->policy, name, nlen)) == NULL)
		return false;
	return policy_owner_allows(o, uid, dctx->member, dctx->member_arg);
}
