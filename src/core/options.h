/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * options: the command line and environment of OTP's epmd (-port,
 * -address, -d, -daemon, -relaxed_command_check, -packet_timeout,
 * -delay_accept, -delay_write, -systemd, and the client commands -names,
 * -dump, -started, -kill, -stop), plus epmdd's own options (the control
 * socket, the configuration file and -allow rules), parsed left to right
 * into a struct.  No I/O except printing the usage text.
 */
#ifndef EPMDD_OPTIONS_H
#define EPMDD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

#define OPTIONS_DEFAULT_PORT 4369	  /* EPMD_PORT_NO */
#define OPTIONS_DEFAULT_PACKET_TIMEOUT 60 /* CLOSE_TIMEOUT, seconds */
#define OPTIONS_MAX_PACKET_TIMEOUT 86400
#define OPTIONS_MAX_DELAY 3600
/* Listening sockets, loopback included (MAX_LISTEN_SOCKETS). */
#define OPTIONS_MAX_LISTEN 16
#define OPTIONS_MAX_CONNECTIONS 10000000

enum options_mode {
	OPTIONS_SERVER,
	OPTIONS_NAMES,	 /* -names */
	OPTIONS_DUMP,	 /* -dump */
	OPTIONS_STARTED, /* -started */
	OPTIONS_KILL,	 /* -kill */
	OPTIONS_STOP,	 /* -stop NAME */
	OPTIONS_HELP,	 /* --help */
	OPTIONS_VERSION, /* --version */
	OPTIONS_CHECK_CONFIG, /* -check_config */
};

struct options_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
};

struct options {
	enum options_mode mode;
	int debug;		/* number of -d */
	bool daemon;		/* -daemon */
	bool relaxed;		/* -relaxed_command_check or the variable */
	bool systemd;		/* -systemd */
	uint16_t port;		/* -port or ERL_EPMD_PORT, else 4369 */
	unsigned packet_timeout; /* seconds */
	unsigned delay_accept;	/* seconds, 0 = none */
	unsigned delay_write;	/* seconds, 0 = none */
	unsigned long max_connections; /* 0: derive from RLIMIT_NOFILE */
	const char *control;	/* -control PATH, "none", or NULL: default */
	const char *control_group; /* -control_group GROUP, or NULL */
	const char *config;	/* -config PATH or "none"; NULL: the default */
	/* -allow KIND=RULES: each kind's rules (borrowed), or NULL. */
	const char *allow[POLICY_KIND_COUNT];
	/*
	 * With -address or ERL_EPMD_ADDRESS: 127.0.0.1 and ::1 first, then
	 * the listed addresses; without, 0.0.0.0 and :: (v6 only).
	 */
	bool any_address;
	size_t naddrs;
	struct options_addr addrs[OPTIONS_MAX_LISTEN];
	const char *stop_name;	/* -stop NAME, borrowed from argv */
};

/* The environment the parser reads; NULL means unset. */
struct options_env {
	const char *port;    /* ERL_EPMD_PORT */
	const char *address; /* ERL_EPMD_ADDRESS */
	const char *relaxed; /* ERL_EPMD_RELAXED_COMMAND_CHECK: set = on */
};

/* options_parse results besides 0. */
#define OPTIONS_USAGE (-1) /* print err (if any) and the usage; exit 1 */
#define OPTIONS_FAIL (-2)  /* print err alone; exit 1 */

/*
 * Parse argv (argv[0] is the program) with env into *ret.  Returns 0, or
 * OPTIONS_USAGE / OPTIONS_FAIL with a message in err (possibly empty).
 */
int options_parse(int argc, char *const argv[], const struct options_env *env,
    struct options *ret, char *err, size_t errlen);

/* Print the usage text for program name prog. */
void options_usage(FILE *f, const char *prog);

#endif
