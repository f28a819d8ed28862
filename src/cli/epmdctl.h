/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * epmdctl: what the command-line client's files share: the options as
 * epmdctl.c parsed them, the exit statuses, the time limits, and the
 * commands (one file per subject: cmd_nodes.c, cmd_daemon.c,
 * cmd_policy.c, cmd_watch.c), each called by epmdctl.c's command table.
 */
#ifndef EPMDD_EPMDCTL_H
#define EPMDD_EPMDCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

/* Exit statuses (documented in epmdctl(1)). */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

/* Seconds to wait for a control reply or a TCP answer. */
#define EPMDCTL_TIMEOUT 10

/*
 * The command line, as parsed by main (epmdctl.c) before the command
 * runs; the commands only read it.
 */
struct epmdctl_opts {
	bool json;		/* --json */
	const char *host;	/* --host, for names, lookup and check */
	unsigned port;		/* --port, or $ERL_EPMD_PORT, or 4369 */
	const char *uid;	/* --uid, for policy test */
	bool no_reconnect;	/* --no-reconnect, for watch */
	bool http;		/* --http, for metrics */
	long node_port;		/* --node-port, for check, or -1 */
	/* The control socket: -s, $EPMDCTL_SOCKET or the default. */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

extern struct epmdctl_opts opts;

/*
 * The commands: argc and argv are the words after the command's name,
 * as many as its row in the table allows.  Each returns the exit status
 * and has said why on standard error when it is not EXIT_OK.
 */
/*
 * A request of this type (with one string field key: value, unless key
 * is NULL) answered by CTL_OK or CTL_ERROR: prints done (with --json
 * {"ok":true}) or reports the error about what.
 */
int cmd_simple(const char *what, uint8_t type, const char *key,
    const char *value, const char *done); /* cmd_daemon.c */

int cmd_names(int argc, char **argv);	 /* cmd_nodes.c */
int cmd_lookup(int argc, char **argv);	 /* cmd_nodes.c */
int cmd_stop(int argc, char **argv);	 /* cmd_nodes.c */
int cmd_status(int argc, char **argv);	 /* cmd_daemon.c */
int cmd_shutdown(int argc, char **argv); /* cmd_daemon.c */
int cmd_upgrade(int argc, char **argv);	 /* cmd_daemon.c */
int cmd_reload(int argc, char **argv);	 /* cmd_daemon.c */
int cmd_policy(int argc, char **argv);	 /* cmd_policy.c */
int cmd_watch(int argc, char **argv);	 /* cmd_watch.c */

#endif
