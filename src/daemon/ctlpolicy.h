/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctlpolicy: the policy's side of the control socket.  Builds the
 * messages that show the policy in force (epmdctl policy), answer a
 * policy test (epmdctl policy test), add the policy's fields to status
 * and to each node of a listing, and decides who may stop a node.
 * Writes into a wbuf; never touches libuv.
 */
#ifndef EPMDD_CTLPOLICY_H
#define EPMDD_CTLPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "ctlproto.h"
#include "dispatch.h"
#include "registry.h"

/* Entries of an access list per CTL_POLICY_RULE message (a long list
 * takes several, each within CTL_MAX_VALUE). */
#define CTLPOLICY_ENTRIES_PER_RULE 64

/*
 * The whole policy in force: CTL_POLICY_REPLY, a CTL_POLICY_RULE per
 * access kind (more for long lists) and per ownership rule, CTL_END.
 * Returns 0 or a negative errno (w then holds nothing of it).
 */
int ctlpolicy_put_policy(struct wbuf *w, const struct config *cfg);

/*
 * Answer a CTL_POLICY_TEST request m: a CTL_VERDICT in w.  Returns 0,
 * -EINVAL with a message for the client in err (a bad address or
 * request), or -ENOBUFS.  Group membership comes from dctx's member
 * (never blocking: one not known yet counts as none, and is looked up).
 */
int ctlpolicy_put_verdict(struct wbuf *w, const struct config *cfg,
    const struct dispatch_ctx *dctx, const struct ctl_msg *m, char *err,
    size_t errlen);

/* The policy's status fields (source, counters) into a message. */
int ctlpolicy_put_status(struct wbuf *w, const struct config *cfg,
    const struct dispatch_stats *ds);

/*
 * For a node of a listing: the ownership rule covering its name (of
 * dctx's policy, which may be NULL), and whether its holder is one the
 * rule allows now; a group membership not known yet counts as none.
 */
int ctlpolicy_put_node(struct wbuf *w, const struct dispatch_ctx *dctx,
    const struct node *n);

/*
 * May a control client of uid stop the node name?  When an ownership
 * rule of dctx's policy gives the name to uid (or a group of uid's; a
 * membership not known yet counts as none, and is looked up).
 */
bool ctlpolicy_may_stop(const struct dispatch_ctx *dctx, uint32_t uid,
    const uint8_t *name, size_t nlen);

#endif
