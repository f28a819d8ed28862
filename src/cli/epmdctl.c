/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * epmdctl: the command-line client's entry point: the options, the
 * usage text and the command table (which options each command takes),
 * then the command.  Talks to epmdd over its control socket (names,
 * status, stop, shutdown, watch, upgrade, reload, policy, metrics,
 * check) and to any epmd over the public TCP protocol (names --host,
 * lookup, check --host); the commands are in cmd_*.c and epmdctl_*.c.
 */
#include "epmdctl.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlproto.h"
#include "epmdctl_obs.h"
#include "output.h"
#include "util.h"

#ifndef EPMDD_VERSION
#define EPMDD_VERSION "unknown"
#endif

struct epmdctl_opts opts;

/* ------------------------------------------------- metrics, check */

/* In epmdctl_metrics.c and epmdctl_check.c. */
static int
cmd_obs(int argc, char **argv, bool check)
{
	struct obs_opts o = { .path = opts.path, .host = opts.host,
		.port = opts.port, .node_port = opts.node_port,
		.http = opts.http };

	return check ? obs_check(&o, argc, argv) : obs_metrics(&o);
}

static int
cmd_metrics(int argc, char **argv)
{
	return cmd_obs(argc, argv, false);
}

static int
cmd_check(int argc, char **argv)
{
	return cmd_obs(argc, argv, true);
}

/* ---------------------------------------------------------- main */

/* Which options a command takes besides -s (--json unless CMD_NO_JSON). */
#define CMD_HOST 0x01	   /* --host */
#define CMD_UID 0x02	   /* --uid */
#define CMD_RECONNECT 0x04 /* --no-reconnect */
#define CMD_HTTP 0x08	   /* --http */
#define CMD_NODE_PORT 0x10 /* --node-port */
#define CMD_NO_JSON 0x20   /* not --json */

static const struct command {
	const char *name;
	int min_args;
	int max_args;
	int (*fn)(int, char **);
	unsigned flags;
	const char *usage;
} commands[] = {
	{ "names", 0, 0, cmd_names, CMD_HOST, "names [--host H] [--port P]" },
	{ "lookup", 1, 1, cmd_lookup, CMD_HOST,
	    "lookup NAME [--host H] [--port P]" },
	{ "status", 0, 0, cmd_status, 0, "status" },
	{ "stop", 1, 1, cmd_stop, 0, "stop NAME" },
	{ "shutdown", 0, 0, cmd_shutdown, 0, "shutdown" },
	{ "watch", 0, 0, cmd_watch, CMD_RECONNECT, "watch [--no-reconnect]" },
	{ "upgrade", 0, 1, cmd_upgrade, 0, "upgrade [PATH]" },
	{ "reload", 0, 0, cmd_reload, 0, "reload" },
	{ "policy", 0, 4, cmd_policy, CMD_UID,
	    "policy [test ADDRESS REQUEST [NAME] [--uid USER]]" },
	{ "metrics", 0, 0, cmd_metrics, CMD_HTTP | CMD_NO_JSON,
	    "metrics [--http]" },
	{ "check", 0, 64, cmd_check, CMD_HOST | CMD_NODE_PORT | CMD_NO_JSON,
	    "check NAME... [--node-port N] [--host H] [--port P]" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: epmdctl [-s PATH] [--json] COMMAND [ARGS]\n\n"
		   "commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f,
	    "\noptions:\n"
	    "  -s, --socket PATH   control socket (default: $EPMDCTL_SOCKET,\n"
	    "                      else epmdd's default for the port)\n"
	    "  -j, --json          one JSON document (one per line for "
	    "watch)\n"
	    "  -H, --host HOST     names/lookup/check over TCP against "
	    "HOST's epmd\n"
	    "  -p, --port PORT     its port (default $ERL_EPMD_PORT or "
	    "4369)\n"
	    "  -u, --uid USER      policy test: the user whose socket "
	    "registers\n"
	    "      --http          metrics: answer one HTTP request on "
	    "standard input\n"
	    "      --node-port N   check: the node must have port N\n"
	    "      --no-reconnect  watch: exit 3 when epmdd goes away "
	    "(by default\n"
	    "                      watch says so and reconnects)\n"
	    "  -h, --help          this text\n"
	    "  -V, --version       the version\n"
	    "\nexit status: 0 success, 1 failure (name not found, refused),\n"
	    "2 usage error, 3 daemon unreachable (check: 0 OK, 2 CRITICAL,\n"
	    "3 UNKNOWN).  See epmdctl(1).\n");
}

/*
 * The daemon's default socket for the port: the one a daemon of our
 * user would make, if it is there, else the system daemon's.
 */
static int
default_socket(void)
{
	struct stat st;
	unsigned uid = (unsigned)geteuid();

	if (ctlproto_default_path((uint16_t)opts.port, uid,
		getenv("XDG_RUNTIME_DIR"), opts.path, sizeof(opts.path)) < 0)
		return -1;
	if (uid == 0 || stat(opts.path, &st) == 0)
		return 0;
	return ctlproto_default_path((uint16_t)opts.port, 0, NULL, opts.path,
	    sizeof(opts.path));
}

/* A command by name or unambiguous prefix. */
static const struct command *
find_command(const char *name)
{
	const struct command *hit = NULL;
	size_t i, len = strlen(name);

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
		if (strncmp(commands[i].name, name, len) == 0) {
			if (hit != NULL)
				return NULL;
			hit = &commands[i];
		}
	}
	return hit;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "uid", required_argument, NULL, 'u' },
		{ "no-reconnect", no_argument, NULL, 'R' },
		{ "http", no_argument, NULL, 'T' },
		{ "node-port", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd;
	const char *env, *socket_arg;
	unsigned long long v;
	int ch, nargs, status;

	opts.port = CTL_DEFAULT_PORT;
	opts.node_port = -1;
	if ((env = getenv("ERL_EPMD_PORT")) != NULL) {
		if (util_parse_uint(env, 1, 65535, &v) < 0) {
			output_warn("ERL_EPMD_PORT: \"%s\" is not a port", env);
			return EXIT_USAGE;
		}
		opts.port = (unsigned)v;
	}
	socket_arg = getenv("EPMDCTL_SOCKET");
	/* GNU getopt permutes: options may come before or after the words. */
	while ((ch = getopt_long(argc, argv, "s:jH:p:hVu:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			socket_arg = optarg;
			break;
		case 'j':
			opts.json = true;
			break;
		case 'H':
			opts.host = optarg;
			break;
		case 'p':
			if (util_parse_uint(optarg, 1, 65535, &v) < 0) {
				output_warn("--port: \"%s\" is not a port",
				    optarg);
				return EXIT_USAGE;
			}
			opts.port = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("epmdctl %s\n", EPMDD_VERSION);
			return EXIT_OK;
		case 'u':
			opts.uid = optarg;
			break;
		case 'R':
			opts.no_reconnect = true;
			break;
		case 'T':
			opts.http = true;
			break;
		case 'N':
			if (util_parse_uint(optarg, 1, 65535, &v) < 0) {
				output_warn("--node-port: \"%s\" is not a port",
				    optarg);
				return EXIT_USAGE;
			}
			opts.node_port = (long)v;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (cmd == NULL) {
		output_warn("unknown or ambiguous command \"%s\"",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	optind++;
	argc -= optind;
	argv += optind;
	nargs = argc;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, "usage: epmdctl %s\n", cmd->usage);
		return EXIT_USAGE;
	}
	if (opts.host != NULL && !(cmd->flags & CMD_HOST)) {
		output_warn("--host applies to names, lookup and check only");
		return EXIT_USAGE;
	}
	if (opts.uid != NULL && !(cmd->flags & CMD_UID)) {
		output_warn("--uid applies to policy test only");
		return EXIT_USAGE;
	}
	if (opts.no_reconnect && !(cmd->flags & CMD_RECONNECT)) {
		output_warn("--no-reconnect applies to watch only");
		return EXIT_USAGE;
	}
	if ((opts.http && !(cmd->flags & CMD_HTTP)) ||
	    (opts.node_port >= 0 && !(cmd->flags & CMD_NODE_PORT)) ||
	    (opts.json && (cmd->flags & CMD_NO_JSON))) {
		output_warn("--http applies to metrics, --node-port to check, "
			    "and neither takes --json");
		return EXIT_USAGE;
	}
	if (socket_arg != NULL) {
		if (util_strlcpy(opts.path, socket_arg, sizeof(opts.path)) >=
		    sizeof(opts.path)) {
			output_warn("%s: socket path too long (at most %zu "
				    "bytes)",
			    socket_arg, sizeof(opts.path) - 1);
			return EXIT_USAGE;
		}
	} else if (default_socket() < 0) {
		output_warn("the default control socket path is too long");
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	status = cmd->fn(nargs, argv);
	output_failure(opts.json, status);
	return status;
}

