/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * daemon: the server's life: start-up in order (logging, -daemon,
 * sockets from systemd or bound here, registry, control socket, signals,
 * watchdog, READY), the event loop, what happens on each registry event
 * (log, watchers, STATUS), and a teardown that closes every handle.
 */
#ifndef EPMDD_DAEMON_H
#define EPMDD_DAEMON_H

#include "options.h"

/* Seconds between two STATUS= updates at most. */
#define DAEMON_STATUS_INTERVAL 1
/* Milliseconds that requests in progress get to finish at a stop or an
 * upgrade before their connections are closed. */
#define DAEMON_DRAIN_TIMEOUT 2000
/* Seconds -daemon's parent waits for the daemon to be ready or gone
 * before it exits 0 anyway (Decision 20, doc/DECISIONS). */
#define DAEMON_DETACH_WAIT 10
/* Allocations this large or larger are mapped, and unmapped when freed. */
#define DAEMON_MMAP_THRESHOLD (128u << 10)

/*
 * The exit status of a stop asked for by KILL_REQ or `epmdctl shutdown`
 * while a service manager watches (NOTIFY_SOCKET): epmdd.service lists
 * it in SuccessExitStatus= and RestartPreventExitStatus=, so that such a
 * stop ends the service while a SIGTERM from anyone else is restarted.
 */
#define DAEMON_EXIT_REQUESTED 10

/*
 * Run the daemon with options o until it is stopped; argv is kept for
 * an in-place upgrade.  Returns the exit status; start-up failures
 * exit(1) from here.
 */
int daemon_run(const struct options *o, const char *prog,
    char *const argv[]);

#endif
