/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * ctl: the daemon's control socket.  A Unix stream socket on libuv,
 * peers identified by SO_PEERCRED, requests decoded with ctlproto and
 * answered from a table (names, status, stop, shutdown, watch, upgrade,
 * reload, policy, policy test), node lists made as the client reads
 * them; state-changing requests only for uid 0 or the daemon's own uid
 * (and stop for a name's owner).  A slow, silent or hostile control
 * client costs only its own connection; clients are counted per uid and
 * per login, and watchers never take the slots kept for requests.
 */
#ifndef EPMDD_CTL_H
#define EPMDD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "ctlproto.h"
#include "dispatch.h"
#include "net.h"
#include "registry.h"

#define CTL_MAX_CLIENTS 64	      /* control connections at once */
#define CTL_PRIVILEGED_SLOTS 4	      /* of those, only for root/our uid */
#define CTL_MAX_PER_UID 16	      /* per other uid */
#define CTL_MAX_PER_LOGIN 16	      /* per login, from uids not its own */
#define CTL_REQUEST_SLOTS 16	      /* of the rest, never for watchers */
#define CTL_IDLE_TIMEOUT 30	      /* seconds to send a request */
#define CTL_MAX_QUEUED (8u << 20)     /* unsent reply bytes per client */
/* A node list is made as it is sent: at most this much of it unsent, */
#define CTL_LIST_AHEAD (256u << 10)
#define CTL_LIST_CHUNK 65536	      /* in writes of about this size, */
#define CTL_LIST_BATCH 256	      /* and this many nodes per loop turn */
#define CTL_WATCH_BACKLOG (1u << 20)  /* unsent events before a watcher goes */
#define CTL_SOCKET_MODE 0660
#define CTL_BACKLOG 128

/*
 * How this process began (status "handover"): from nothing, or taking
 * over the registrations a previous process saved, after a restart (the
 * service manager's descriptor store) or an upgrade (re-execution).
 */
enum ctl_handover {
	CTL_HANDOVER_NONE = 0,
	CTL_HANDOVER_RESTART = 1,
	CTL_HANDOVER_UPGRADE = 2,
};

/* What status reports that the control socket does not own. */
struct ctl_info {
	const char *version;
	int64_t started_at; /* Unix seconds */
	bool relaxed;
	unsigned packet_timeout;
	enum ctl_handover handover;
	uint64_t restored; /* registrations taken over at startup */
};

typedef void ctl_shutdown_fn(void *arg);
/* Re-execute the daemon (path NULL: the same binary); 0 or -errno. */
typedef int ctl_upgrade_fn(void *arg, const char *path);
/* Read the configuration again: 0, or -errno with the reason in err. */
typedef int ctl_reload_fn(void *arg, char *err, size_t errlen);

struct ctl_config {
	const char *path; /* where to bind, or the adopted socket's path */
	int fd;		  /* an adopted listening socket, or -1 */
	bool owns_path;	  /* adopted, but ours to remove at exit */
	int group;	  /* group for the socket file, or -1 */
	struct registry *reg;
	struct dispatch_ctx *dctx;
	struct net *net;
	const struct config *config; /* the policy in force and its file */
	struct ctl_info info;
	ctl_shutdown_fn *shutdown;
	ctl_upgrade_fn *upgrade; /* may be NULL: not supported */
	ctl_reload_fn *reload;	 /* may be NULL: not supported */
	void *arg;
};

struct ctl;

/*
 * Start the control socket.  Creates the parent directory if needed,
 * refuses (-EADDRINUSE) when a live daemon answers on the path, replaces
 * a stale socket, binds with mode CTL_SOCKET_MODE.  Errors are logged
 * here.  Returns 0 and *ret.
 */
int ctl_start(uv_loop_t *loop, const struct ctl_config *cfg,
    struct ctl **ret);

/* Close every handle (the socket file is removed if we made it). */
void ctl_stop(struct ctl *ctl);
/* Free after the loop has run the close callbacks. */
void ctl_free(struct ctl *ctl);

const char *ctl_path(const struct ctl *ctl);

/* The listening socket (to hand over in an upgrade), and whether the
 * socket file is ours to remove. */
int ctl_listen_fd(const struct ctl *ctl);
bool ctl_owns_path(const struct ctl *ctl);

/* Is anyone watching events (so that they are worth preparing)? */
bool ctl_has_watchers(const struct ctl *ctl);

/* Tell watchers about a registry change. */
void ctl_node_event(struct ctl *ctl, const struct node *n,
    enum registry_event ev, enum registry_reason reason);
/* Tell watchers about a refused request. */
void ctl_refused_event(struct ctl *ctl, const struct dispatch_result *res,
    const struct registry_addr *peer);

#endif
