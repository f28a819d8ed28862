/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * epmdctl_obs: epmdctl's monitoring commands, metrics (Prometheus text,
 * or one HTTP answer on standard input and output) and check (a
 * monitoring-plugin check), and the time limit they share.  They ask
 * the control socket through conn, as every command does.  Kept apart
 * from epmdctl.c, which only parses their options.
 */
#ifndef EPMDD_EPMDCTL_OBS_H
#define EPMDD_EPMDCTL_OBS_H

#include <stdbool.h>

/*
 * Milliseconds metrics and check wait for the daemon's answer: under
 * Prometheus' default scrape timeout (10 s) with the HTTP request's own
 * METRICS_HTTP_TIMEOUT_MS, and under the 10 s monitoring plugins use.
 */
#define OBS_CTL_TIMEOUT_MS 4000

/* What epmdctl's options say, for these commands. */
struct obs_opts {
	const char *path;  /* the control socket (opts.path: conn's) */
	const char *host;  /* check --host: ask this epmd over TCP */
	unsigned port;	   /* its port */
	long node_port;	   /* check --node-port, or -1 */
	bool http;	   /* metrics --http */
};

/* epmdctl metrics [--http]: returns epmdctl's exit status. */
int obs_metrics(const struct obs_opts *o);

/*
 * epmdctl check NAME...: returns the monitoring-plugin status (0 OK,
 * 2 CRITICAL, 3 UNKNOWN).
 */
#define CHECK_OK 0
#define CHECK_CRITICAL 2
#define CHECK_UNKNOWN 3
int obs_check(const struct obs_opts *o, int argc, char **argv);

#endif
