/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * main: the epmdd (and epmd) entry point.  Reads the command line and
 * the ERL_EPMD_* variables, then prints help or the version, checks the
 * configuration, runs one of OTP epmd's client commands, or hands over
 * to the daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "config.h"
#include "daemon.h"
#include "options.h"

#ifndef EPMDD_VERSION
#define EPMDD_VERSION "unknown"
#endif

/* -check_config: load the file and the -allow rules as the daemon would. */
static int
check_config(const struct options *o, const char *prog)
{
	struct config c;
	char what[CONFIG_DESCRIBE_SIZE];
	int r;

	config_init(&c, o->config, o->allow);
	r = config_load(&c, (int64_t)time(NULL));
	if (r < 0)
		fprintf(stderr, "%s: %s\n", prog, c.error);
	else {
		config_describe(&c, what, sizeof(what));
		printf("%s\n", what);
	}
	config_fini(&c);
	return r < 0 ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	static struct options opts;
	struct options_env env;
	const char *prog;
	char err[256];
	int r;

	prog = strrchr(argv[0], '/');
	prog = prog != NULL ? prog + 1 : argv[0];
	env.port = getenv("ERL_EPMD_PORT");
	env.address = getenv("ERL_EPMD_ADDRESS");
	env.relaxed = getenv("ERL_EPMD_RELAXED_COMMAND_CHECK");
	r = options_parse(argc, argv, &env, &opts, err, sizeof(err));
	if (r < 0) {
		if (err[0] != '\0')
			fprintf(stderr, "%s: %s\n", prog, err);
		if (r == OPTIONS_USAGE)
			options_usage(stderr, prog);
		return 1;
	}
	switch (opts.mode) {
	case OPTIONS_HELP:
		options_usage(stdout, prog);
		return 0;
	case OPTIONS_VERSION:
		printf("epmdd %s\n", EPMDD_VERSION);
		return 0;
	case OPTIONS_CHECK_CONFIG:
		return check_config(&opts, prog);
	case OPTIONS_SERVER:
		return daemon_run(&opts, prog, argv);
	default:
		return client_run(&opts);
	}
}
