/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctlmsg: the bodies of the control messages epmdd makes about its
 * state: a listed node, the status reply, and the registered,
 * unregistered and refused events, each field named by ctlschema's
 * table.  No sockets: ctl.c sends what these write.
 */
#ifndef EPMDD_CTLMSG_H
#define EPMDD_CTLMSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "dispatch.h"
#include "net.h"
#include "registry.h"

struct ctl_info;

/* What the status reply reports, from the daemon's parts. */
struct ctlmsg_status {
	const struct ctl_info *info;
	struct registry *reg;
	struct net *net;
	const struct dispatch_ctx *dctx;
	const struct config *config;
	const char *control;	/* the control socket's path */
	uint64_t control_clients;
};

/*
 * Each appends one whole message to w and returns 0, or a negative
 * errno with w as it was (the message did not fit).
 *
 * ctlmsg_node: CTL_NODE for n, with its policy fields; resolves the
 * owner of n's socket first (net_resolve_owner).
 */
int ctlmsg_node(struct wbuf *w, struct net *net, struct dispatch_ctx *dctx,
    struct node *n);
/* CTL_STATUS_REPLY. */
int ctlmsg_status(struct wbuf *w, const struct ctlmsg_status *s);
/* CTL_EVENT "registered" or "unregistered" (with its reason). */
int ctlmsg_node_event(struct wbuf *w, const struct node *n,
    enum registry_event ev, enum registry_reason reason, uint64_t time_ms);
/* CTL_EVENT "refused": a request the dispatcher refused, from addr. */
int ctlmsg_refused_event(struct wbuf *w, const struct dispatch_result *res,
    const struct registry_addr *addr, uint64_t time_ms);

#endif
