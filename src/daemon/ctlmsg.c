/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctlmsg: the node, status and event messages, field by field in
 * ctlschema's names.  The policy's own fields are ctlpolicy.c's; the
 * sending, to one client or to every watcher, is ctl.c's.
 */
#include "ctlmsg.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctlpolicy.h"
#include "ctlproto.h"
#include "ctlschema.h"

/* Close the message begun at start, or drop it. */
static int
finish(struct wbuf *w, size_t start, int r)
{
	if (r != 0 || (r = ctlproto_end(w, start)) < 0) {
		w->len = start;
		return r < 0 ? r : -ENOBUFS;
	}
	return 0;
}

int
ctlmsg_node(struct wbuf *w, struct net *net, struct dispatch_ctx *dctx,
    struct node *n)
{
	char peer[NET_ADDR_TEXT];
	size_t start;
	int r;

	net_resolve_owner(net, n);
	net_addr_text(&n->peer, peer);
	if ((r = ctlproto_begin(w, CTL_NODE, &start)) < 0)
		return r;
	r = 0;
	r |= ctlproto_put_bytes(w, CTL_KEY(NAME), n->data, n->nlen);
	r |= ctlproto_put_u64(w, CTL_KEY(PORT), n->port);
	r |= ctlproto_put_u64(w, CTL_KEY(TYPE), n->type);
	r |= ctlproto_put_u64(w, CTL_KEY(PROTOCOL), n->proto);
	r |= ctlproto_put_u64(w, CTL_KEY(HIGHEST_VERSION), n->hv);
	r |= ctlproto_put_u64(w, CTL_KEY(LOWEST_VERSION), n->lv);
	r |= ctlproto_put_u64(w, CTL_KEY(CREATION), registry_creation(n));
	r |= ctlproto_put_bytes(w, CTL_KEY(EXTRA), n->data + n->nlen,
	    n->elen);
	r |= ctlproto_put_u64(w, CTL_KEY(REGISTERED_AT),
	    (uint64_t)n->registered_at);
	r |= ctlproto_put_str(w, CTL_KEY(PEER), peer);
	r |= ctlproto_put_u64(w, CTL_KEY(UID), n->uid);
	r |= ctlproto_put_u64(w, CTL_KEY(INODE), n->inode);
	r |= ctlproto_put_u64(w, CTL_KEY(FD), (uint64_t)n->fd);
	r |= ctlpolicy_put_node(w, dctx, n);
	return finish(w, start, r);
}

int
ctlmsg_status(struct wbuf *w, const struct ctlmsg_status *s)
{
	const struct ctl_info *in = s->info;
	const struct dispatch_stats *ds = &s->dctx->stats;
	struct registry_stats rs;
	struct net_stats ns;
	char listen[OPTIONS_MAX_LISTEN * NET_ADDR_TEXT], key[CTL_MAX_KEY + 1];
	size_t start;
	int r, i;

	registry_get_stats(s->reg, &rs);
	net_get_stats(s->net, &ns);
	net_describe_listeners(s->net, listen, sizeof(listen));
	if ((r = ctlproto_begin(w, CTL_STATUS_REPLY, &start)) < 0)
		return r;
	r = 0;
	r |= ctlproto_put_str(w, CTL_KEY(VERSION), in->version);
	r |= ctlproto_put_u64(w, CTL_KEY(PID), (uint64_t)getpid());
	r |= ctlproto_put_u64(w, CTL_KEY(STARTED_AT),
	    (uint64_t)in->started_at);
	r |= ctlproto_put_u64(w, CTL_KEY(UPTIME),
	    (uint64_t)(time(NULL) - in->started_at));
	r |= ctlproto_put_str(w, CTL_KEY(LISTEN), listen);
	r |= ctlproto_put_str(w, CTL_KEY(CONTROL), s->control);
	r |= ctlproto_put_u64(w, CTL_KEY(RELAXED), in->relaxed);
	r |= ctlproto_put_u64(w, CTL_KEY(PACKET_TIMEOUT), in->packet_timeout);
	r |= ctlproto_put_u64(w, CTL_KEY(HANDOVER), in->handover);
	r |= ctlproto_put_u64(w, CTL_KEY(HANDOVER_RESTORED), in->restored);
	r |= ctlproto_put_u64(w, CTL_KEY(NODES), rs.active);
	r |= ctlproto_put_u64(w, CTL_KEY(OLD_NAMES), rs.old);
	r |= ctlproto_put_u64(w, CTL_KEY(REGISTRATIONS), rs.registrations);
	for (i = 0; i < REGISTRY_REASON_COUNT; i++) {
		snprintf(key, sizeof(key), "%s%s", CTL_KEY(UNREGISTERED_),
		    registry_reason_name((enum registry_reason)i));
		r |= ctlproto_put_u64(w, key, rs.unregistrations[i]);
	}
	r |= ctlproto_put_u64(w, CTL_KEY(LOOKUPS_HIT), ds->lookups_hit);
	r |= ctlproto_put_u64(w, CTL_KEY(LOOKUPS_MISS), ds->lookups_miss);
	r |= ctlproto_put_u64(w, CTL_KEY(NAMES_REQUESTS), ds->names);
	r |= ctlproto_put_u64(w, CTL_KEY(DUMP_REQUESTS), ds->dumps);
	r |= ctlproto_put_u64(w, CTL_KEY(KILL_REQUESTS), ds->kills);
	r |= ctlproto_put_u64(w, CTL_KEY(STOP_REQUESTS), ds->stops);
	/* The policy's refusals are counted per kind, below. */
	for (i = 1; i < DISPATCH_POLICY; i++) {
		snprintf(key, sizeof(key), "%s%s", CTL_KEY(REFUSED_),
		    dispatch_refusal_name((enum dispatch_refusal)i));
		r |= ctlproto_put_u64(w, key, ds->refused[i]);
	}
	r |= ctlpolicy_put_status(w, s->config, ds);
	r |= ctlproto_put_u64(w, CTL_KEY(CONNECTIONS), ns.conns);
	r |= ctlproto_put_u64(w, CTL_KEY(CONNECTIONS_PEAK), ns.conns_peak);
	r |= ctlproto_put_u64(w, CTL_KEY(CONNECTIONS_LIMIT), ns.conns_limit);
	r |= ctlproto_put_u64(w, CTL_KEY(ACCEPTED), ns.accepted);
	r |= ctlproto_put_u64(w, CTL_KEY(ACCEPT_ERRORS), ns.accept_errors);
	r |= ctlproto_put_u64(w, CTL_KEY(ANSWERED_AT_ONCE), ns.at_once);
	r |= ctlproto_put_u64(w, CTL_KEY(CONTROL_CLIENTS), s->control_clients);
	r |= ctlproto_put_u64(w, CTL_KEY(HASH_BUCKETS),
	    registry_bucket_count(s->reg));
	r |= ctlproto_put_u64(w, CTL_KEY(HASH_LONGEST_CHAIN),
	    registry_longest_chain(s->reg));
	return finish(w, start, r);
}

int
ctlmsg_node_event(struct wbuf *w, const struct node *n,
    enum registry_event ev, enum registry_reason reason, uint64_t time_ms)
{
	char peer[NET_ADDR_TEXT];
	size_t start;
	int r;

	if ((r = ctlproto_begin(w, CTL_EVENT, &start)) < 0)
		return r;
	r = 0;
	r |= ctlproto_put_str(w, CTL_KEY(EVENT),
	    ev == REGISTRY_REGISTERED ? "registered" : "unregistered");
	r |= ctlproto_put_u64(w, CTL_KEY(TIME_MS), time_ms);
	r |= ctlproto_put_bytes(w, CTL_KEY(NAME), n->data, n->nlen);
	r |= ctlproto_put_u64(w, CTL_KEY(PORT), n->port);
	r |= ctlproto_put_u64(w, CTL_KEY(CREATION), registry_creation(n));
	if (ev == REGISTRY_REGISTERED) {
		net_addr_text(&n->peer, peer);
		r |= ctlproto_put_u64(w, CTL_KEY(TYPE), n->type);
		r |= ctlproto_put_str(w, CTL_KEY(PEER), peer);
		r |= ctlproto_put_u64(w, CTL_KEY(UID), n->uid);
	} else
		r |= ctlproto_put_str(w, CTL_KEY(REASON),
		    registry_reason_name(reason));
	return finish(w, start, r);
}

int
ctlmsg_refused_event(struct wbuf *w, const struct dispatch_result *res,
    const struct registry_addr *addr, uint64_t time_ms)
{
	char peer[NET_ADDR_TEXT], rule[256];
	size_t start;
	int r;

	net_addr_text(addr, peer);
	if ((r = ctlproto_begin(w, CTL_EVENT, &start)) < 0)
		return r;
	r = 0;
	r |= ctlproto_put_str(w, CTL_KEY(EVENT), "refused");
	r |= ctlproto_put_u64(w, CTL_KEY(TIME_MS), time_ms);
	r |= ctlproto_put_str(w, CTL_KEY(REQUEST),
	    dispatch_tag_name(res->tag));
	r |= ctlproto_put_str(w, CTL_KEY(REASON),
	    dispatch_refusal_name(res->refusal));
	r |= ctlproto_put_str(w, CTL_KEY(PEER), peer);
	if (res->name != NULL && res->nlen <= CTL_MAX_VALUE)
		r |= ctlproto_put_bytes(w, CTL_KEY(NAME), res->name,
		    res->nlen);
	dispatch_rule_text(res, rule, sizeof(rule));
	if (rule[0] != '\0')
		r |= ctlproto_put_str(w, CTL_KEY(RULE), rule);
	if (res->refusal == DISPATCH_NOT_OWNER)
		r |= ctlproto_put_u64(w, CTL_KEY(UID), res->uid);
	return finish(w, start, r);
}
