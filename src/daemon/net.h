/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * net: the EPMD side of the daemon on libuv.  TCP listeners, one
 * uv_tcp_t per connection that is not answered at once, OTP's read
 * discipline (one request per connection, exact-size reads), replies
 * and connection fates carried out for dispatch, idle-request timeouts
 * by one sweeping timer, and the connection ceiling.  A registration
 * whose reply is written goes to held.c.  Owns its listeners,
 * connections and held set; borrows the loop and the dispatch context.
 */
#ifndef EPMDD_NET_H
#define EPMDD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "dispatch.h"
#include "options.h"
#include "registry.h"

/* Descriptors kept back from the connection ceiling (listeners, logs...). */
#define NET_FD_RESERVE 32
#define NET_BACKLOG SOMAXCONN
/* Connections accepted per listener wake-up before others get a turn. */
#define NET_ACCEPT_BATCH 64
/* Text form of a registry_addr: "[v6addr]:port". */
#define NET_ADDR_TEXT 56
/*
 * Notices of local peers refused a name by an ownership rule: at most
 * BURST per INTERVAL seconds (a local user can repeat them at will).
 */
#define NET_OWNER_LOG_BURST 5
#define NET_OWNER_LOG_INTERVAL 10
/*
 * The refusals a scanner or an attacker causes (see net.c, log_refusal),
 * at notice so that fail2ban sees them at the default level: at most
 * BURST per INTERVAL seconds over all peers (an average of 2 a second),
 * so that a flood costs a clock read and a counter per request beyond
 * the limit, and the log a line per window saying how many were dropped.
 */
#define NET_REFUSAL_LOG_BURST 20
#define NET_REFUSAL_LOG_INTERVAL 10

/* Called once when an accepted KILL_REQ asks the daemon to stop. */
typedef void net_kill_fn(void *arg);
/* Called once when a drain is over. */
typedef void net_drained_fn(void *arg);
/* Called after each refused request (for watchers). */
typedef void net_refused_fn(void *arg, const struct dispatch_result *res,
    const struct registry_addr *peer);

struct net_config {
	unsigned packet_timeout; /* seconds a request may take */
	unsigned delay_accept;	 /* seconds slept before each accept */
	unsigned delay_write;	 /* seconds slept before each reply write */
	unsigned long max_conns; /* connection ceiling, >= 1 */
	net_kill_fn *on_kill;
	net_refused_fn *on_refused; /* may be NULL */
	void *arg;		 /* for the callbacks */
};

struct net_stats {
	size_t conns;	   /* open now */
	size_t conns_peak;
	size_t conns_limit;
	uint64_t accepted;
	uint64_t accept_errors;
	uint64_t at_once;  /* answered straight after accept, no handle */
};

struct net;

/*
 * Create the network layer (no sockets yet); it installs its
 * holder_gone hook in dctx.  Returns 0 and *ret, or
 * -ENOMEM.
 */
int net_new(uv_loop_t *loop, struct dispatch_ctx *dctx,
    const struct net_config *cfg, struct net **ret);

/*
 * Bind and listen on every address of o (options' rules: loopback
 * sockets are best effort, explicit addresses must bind).  Returns 0,
 * -EADDRINUSE if the port is taken (another epmd runs: the caller exits
 * 0), or another negative errno, logged here.
 */
int net_listen(struct net *net, const struct options *o);

/*
 * Adopt an already listening TCP socket (from systemd or a previous
 * process).  Returns 0 or a negative errno, logged here.
 */
int net_adopt_listener(struct net *net, int fd);

/* Number of listeners open. */
size_t net_listener_count(const struct net *net);

/* Describe the listeners ("127.0.0.1:4369 [::1]:4369") into buf. */
void net_describe_listeners(const struct net *net, char *buf, size_t size);

/*
 * Close every listener and connection (registrations end with reason
 * REGISTRY_SHUTDOWN) and the timer.  Handles are freed in their close
 * callbacks as the loop runs; call net_free after uv_run returns.
 */
void net_stop(struct net *net);
void net_free(struct net *net);

void net_get_stats(const struct net *net, struct net_stats *ret);

/* Format a peer address for logs. */
void net_addr_text(const struct registry_addr *a, char buf[NET_ADDR_TEXT]);

/*
 * Close the connection that holds owner's registration (epmdctl stop):
 * the registration must already have been ended by the caller.
 */
void net_release(struct net *net, void *owner);

/*
 * Find out, once, who owns the socket that registered n (uid and
 * inode, through inet_diag) and note it in the registry.  Costs a
 * netlink query, so it is done only when someone wants to know.
 */
void net_resolve_owner(struct net *net, struct node *n);

/*
 * The group membership of uid is known now (or will not be soon): the
 * registrations that waited for it are handled again.
 */
void net_member_ready(struct net *net, uint32_t uid);

/*
 * Take over a connection that already holds registration n (restored
 * after a restart or an upgrade): held as any registration whose reply
 * is written (held.h), it gets n's owner.  Takes fd, and returns 0; or
 * -ENOMEM, fd then still the caller's (to shut down if its registration
 * ends, and close).
 */
int net_adopt_registration(struct net *net, int fd, struct node *n);

/*
 * Stop accepting (the listeners stay open: new connections wait in the
 * backlog) and call fn once every request in progress is answered, or
 * after timeout_ms, when the rest are closed.  Before a restart or an
 * upgrade, so that no request is cut short.
 */
void net_drain(struct net *net, unsigned timeout_ms, net_drained_fn *fn,
    void *arg);

/* held_let_go on the held registrations: whether some are left. */
bool net_let_go(struct net *net, size_t budget);

/* Descriptors of the listeners / of the connections holding nodes. */
size_t net_listener_fds(const struct net *net, int *fds, size_t max);
size_t net_registration_fds(const struct net *net, int *fds,
    struct node **nodes, size_t max);

#endif
