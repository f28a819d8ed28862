/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * options: argument parsing with the semantics of OTP's epmd.c main():
 * left to right, a client command must come last and runs with the
 * options before it, ERL_EPMD_* variables are read first and options
 * override them.  Stricter than atoi (Decision 11, doc/DECISIONS).
 */
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

static int
fail(int kind, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(int kind, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return kind;
}

static void
add_addr(struct options *o, int family, const void *addr)
{
	struct options_addr *a = &o->addrs[o->naddrs++];

	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->addr, addr, family == AF_INET ? 4 : 16);
}

/*
 * An address list as OTP reads it: tokens split on commas and spaces,
 * each tried as IPv6 then IPv4; 127.0.0.1 and ::1 are always bound first
 * so exact repeats of them are skipped.
 */
static int
parse_addresses(struct options *o, const char *list, char *err, size_t errlen)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	char tok[128];
	const char *p = list;
	struct options_addr *prev;
	uint8_t a[16];
	size_t n, i;

	o->naddrs = 0;
	o->any_address = true;
	while (*p != '\0') {
		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if (n == 0)
			break;
		if (n >= sizeof(tok))
			return fail(OPTIONS_FAIL, err, errlen,
			    "cannot parse IP address \"%.*s\"", (int)n, p);
		memcpy(tok, p, n);
		tok[n] = '\0';
		p += n;
		if (o->any_address) {
			/* The first real token: loopback goes first. */
			o->any_address = false;
			add_addr(o, AF_INET, lo4);
			add_addr(o, AF_INET6, &in6addr_loopback);
		}
		if (inet_pton(AF_INET6, tok, a) == 1) {
			if (memcmp(a, &in6addr_loopback, 16) == 0)
				continue;
			for (i = 0, prev = o->addrs; i < o->naddrs; i++, prev++)
				if (prev->family == AF_INET6 &&
				    memcmp(prev->addr, a, 16) == 0)
					break;
			if (i < o->naddrs)
				continue;
			if (o->naddrs + 1 >= OPTIONS_MAX_LISTEN)
				goto toomany;
			add_addr(o, AF_INET6, a);
		} else if (inet_pton(AF_INET, tok, a) == 1) {
			if (memcmp(a, lo4, 4) == 0)
				continue;
			for (i = 0, prev = o->addrs; i < o->naddrs; i++, prev++)
				if (prev->family == AF_INET &&
				    memcmp(prev->addr, a, 4) == 0)
					break;
			if (i < o->naddrs)
				continue;
			if (o->naddrs + 1 >= OPTIONS_MAX_LISTEN)
				goto toomany;
			add_addr(o, AF_INET, a);
		} else
			return fail(OPTIONS_FAIL, err, errlen,
			    "cannot parse IP address \"%s\"", tok);
	}
	return 0;
toomany:
	return fail(OPTIONS_FAIL, err, errlen,
	    "cannot listen on more than %d IP addresses",
	    OPTIONS_MAX_LISTEN);
}

static void
set_any_address(struct options *o)
{
	static const uint8_t any4[4] = { 0, 0, 0, 0 };

	o->any_address = true;
	o->naddrs = 0;
	add_addr(o, AF_INET, any4);
	add_addr(o, AF_INET6, &in6addr_any);
}

/*
 * -allow KIND=RULES: the kind known and given once, the rules as
 * policy_set_access takes them (checked on a scratch policy).
 */
static int
parse_allow(struct options *o, const char *arg, char *err, size_t errlen)
{
	const char *eq = arg != NULL ? strchr(arg, '=') : NULL;
	struct policy_error pe;
	struct policy *scratch;
	char kind[16];
	size_t klen;
	int k, r;

	if (eq == NULL)
		return fail(OPTIONS_USAGE, err, errlen,
		    "-allow needs KIND=RULES (KIND: register, lookup, names, "
		    "dump or admin)");
	klen = (size_t)(eq - arg);
	k = -1;
	if (klen < sizeof(kind)) {
		memcpy(kind, arg, klen);
		kind[klen] = '\0';
		k = policy_kind_from_name(kind);
	}
	if (k < 0)
		return fail(OPTIONS_USAGE, err, errlen,
		    "-allow %s: the kind is register, lookup, names, dump or "
		    "admin",
		    arg);
	if (o->allow[k] != NULL)
		return fail(OPTIONS_USAGE, err, errlen,
		    "-allow %s is given twice", kind);
	if ((scratch = policy_new()) == NULL)
		return fail(OPTIONS_FAIL, err, errlen, "out of memory");
	r = policy_set_access(scratch, (enum policy_kind)k, eq + 1, &pe);
	policy_free(scratch);
	if (r == -ENOMEM)
		return fail(OPTIONS_FAIL, err, errlen, "out of memory");
	if (r < 0)
		return fail(OPTIONS_FAIL, err, errlen,
		    "-allow %s: column %u: %s", arg, pe.column, pe.message);
	o->allow[k] = eq + 1;
	return 0;
}

/* A positive number of seconds for -packet_timeout and the delays. */
static int
parse_seconds(const char *opt, const char *arg, unsigned long long max,
    unsigned *ret, char *err, size_t errlen)
{
	unsigned long long v;

	if (arg == NULL)
		return fail(OPTIONS_USAGE, err, errlen, "%s needs a value",
		    opt);
	if (util_parse_uint(arg, 1, max, &v) < 0)
		return fail(OPTIONS_USAGE, err, errlen,
		    "%s: \"%s\" is not a number of seconds in 1..%llu", opt,
		    arg, max);
	*ret = (unsigned)v;
	return 0;
}

static int
parse_port(const char *what, const char *arg, uint16_t *ret, char *err,
    size_t errlen)
{
	unsigned long long v;

	if (arg == NULL)
		return fail(OPTIONS_USAGE, err, errlen, "%s needs a value",
		    what);
	if (util_parse_uint(arg, 1, 65535, &v) < 0)
		return fail(OPTIONS_USAGE, err, errlen,
		    "%s: \"%s\" is not a port number in 1..65535", what, arg);
	*ret = (uint16_t)v;
	return 0;
}

int
options_parse(int argc, char *const argv[], const struct options_env *env,
    struct options *ret, char *err, size_t errlen)
{
	struct options o;
	const char *addresses = NULL;
	unsigned long long v;
	int i, r;

	err[0] = '\0';
	memset(&o, 0, sizeof(o));
	o.mode = OPTIONS_SERVER;
	o.port = OPTIONS_DEFAULT_PORT;
	o.packet_timeout = OPTIONS_DEFAULT_PACKET_TIMEOUT;
	if (env->port != NULL &&
	    (r = parse_port("ERL_EPMD_PORT", env->port, &o.port, err,
		 errlen)) < 0)
		return OPTIONS_FAIL;
	if (env->address != NULL)
		addresses = env->address;
	if (env->relaxed != NULL)
		o.relaxed = true;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		bool last = i + 1 == argc;

		if (strcmp(a, "-d") == 0 || strcmp(a, "-debug") == 0)
			o.debug++;
		else if (strcmp(a, "-packet_timeout") == 0) {
			if ((r = parse_seconds(a, next,
				 OPTIONS_MAX_PACKET_TIMEOUT, &o.packet_timeout,
				 err, errlen)) < 0)
				return r;
			i++;
		} else if (strcmp(a, "-delay_accept") == 0) {
			if ((r = parse_seconds(a, next, OPTIONS_MAX_DELAY,
				 &o.delay_accept, err, errlen)) < 0)
				return r;
			i++;
		} else if (strcmp(a, "-delay_write") == 0) {
			if ((r = parse_seconds(a, next, OPTIONS_MAX_DELAY,
				 &o.delay_write, err, errlen)) < 0)
				return r;
			i++;
		} else if (strcmp(a, "-daemon") == 0)
			o.daemon = true;
		else if (strcmp(a, "-relaxed_command_check") == 0)
			o.relaxed = true;
		else if (strcmp(a, "-systemd") == 0)
			o.systemd = true;
		else if (strcmp(a, "-address") == 0) {
			if (next == NULL)
				return fail(OPTIONS_USAGE, err, errlen,
				    "-address needs a list of addresses");
			addresses = next;
			i++;
		} else if (strcmp(a, "-port") == 0) {
			if ((r = parse_port(a, next, &o.port, err, errlen)) < 0)
				return r;
			i++;
		} else if (strcmp(a, "-max_connections") == 0) {
			if (next == NULL ||
			    util_parse_uint(next, 1, OPTIONS_MAX_CONNECTIONS,
				&v) < 0)
				return fail(OPTIONS_USAGE, err, errlen,
				    "-max_connections needs a number in 1..%d",
				    OPTIONS_MAX_CONNECTIONS);
			o.max_connections = (unsigned long)v;
			i++;
		} else if (strcmp(a, "-control") == 0 ||
		    strcmp(a, "-control_group") == 0) {
			if (next == NULL || next[0] == '\0')
				return fail(OPTIONS_USAGE, err, errlen,
				    "%s needs a value", a);
			if (a[8] == '\0')
				o.control = next;
			else
				o.control_group = next;
			i++;
		} else if (strcmp(a, "-config") == 0) {
			if (next == NULL || next[0] == '\0')
				return fail(OPTIONS_USAGE, err, errlen,
				    "-config needs a file (or none)");
			o.config = next;
			i++;
		} else if (strcmp(a, "-allow") == 0) {
			if ((r = parse_allow(&o, next, err, errlen)) < 0)
				return r;
			i++;
		} else if (strcmp(a, "-check_config") == 0) {
			if (!last)
				return fail(OPTIONS_USAGE, err, errlen,
				    "-check_config must be the last option");
			o.mode = OPTIONS_CHECK_CONFIG;
		} else if (strcmp(a, "-names") == 0 ||
		    strcmp(a, "-dump") == 0 || strcmp(a, "-started") == 0 ||
		    strcmp(a, "-kill") == 0) {
			/* Client commands come last, as in OTP. */
			if (!last)
				return fail(OPTIONS_USAGE, err, errlen,
				    "%s must be the last option", a);
			o.mode = a[1] == 'n' ? OPTIONS_NAMES
			    : a[1] == 'd'    ? OPTIONS_DUMP
			    : a[1] == 's'    ? OPTIONS_STARTED
					     : OPTIONS_KILL;
		} else if (strcmp(a, "-stop") == 0) {
			if (next == NULL || i + 2 != argc)
				return fail(OPTIONS_USAGE, err, errlen,
				    "-stop takes one node name and must come "
				    "last");
			o.mode = OPTIONS_STOP;
			o.stop_name = next;
			i++;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
		    strcmp(a, "-help") == 0) {
			o.mode = OPTIONS_HELP;
			break;
		} else if (strcmp(a, "--version") == 0 ||
		    strcmp(a, "-version") == 0) {
			o.mode = OPTIONS_VERSION;
			break;
		} else
			return fail(OPTIONS_USAGE, err, errlen,
			    "unknown option \"%s\"", a);
	}

	if (addresses != NULL &&
	    (r = parse_addresses(&o, addresses, err, errlen)) < 0)
		return r;
	if (o.naddrs == 0)
		set_any_address(&o);
	*ret = o;
	return 0;
}

void
options_usage(FILE *f, const char *prog)
{
	fprintf(f,
	    "usage: %s [-d|-debug ...] [-address LIST] [-port NO] [-daemon]\n"
	    "       [-relaxed_command_check] [-packet_timeout SECONDS]\n"
	    "       [-delay_accept SECONDS] [-delay_write SECONDS]\n"
	    "       [-max_connections N] [-control PATH|none]\n"
	    "       [-control_group GROUP] [-config FILE|none]\n"
	    "       [-allow KIND=RULES ...] [-systemd]\n"
	    "       %s [-port NO] -names | -dump | -started | -kill |"
	    " -stop NAME\n"
	    "       %s [-config FILE] [-allow KIND=RULES ...] -check_config\n"
	    "       %s --help | --version\n"
	    "\n"
	    "An EPMD-compatible Erlang port mapper daemon.\n"
	    "\n"
	    "Server options:\n"
	    "  -d, -debug           more log detail (repeatable)\n"
	    "  -address LIST        listen on these addresses (comma or"
	    " space separated)\n"
	    "                       as well as 127.0.0.1 and ::1;"
	    " default: every address\n"
	    "  -port NO             TCP port (default %d, or ERL_EPMD_PORT)\n"
	    "  -daemon              detach and log to syslog\n"
	    "  -relaxed_command_check\n"
	    "                       allow -kill with live nodes and -stop\n"
	    "  -packet_timeout S    close a connection whose request is not"
	    " complete\n"
	    "                       S seconds after it was accepted"
	    " (default %d)\n"
	    "  -delay_accept S      sleep S seconds before accepting what is"
	    " pending\n"
	    "                       (for tests)\n"
	    "  -delay_write S       sleep S seconds before each reply write"
	    " (for tests)\n"
	    "  -max_connections N   at most N simultaneous connections"
	    " (default: the\n"
	    "                       descriptor limit less a reserve)\n"
	    "  -control PATH        control socket for epmdctl (default:\n"
	    "                       /run/epmdd/control as root; 'none': off)\n"
	    "  -control_group GROUP group that may use the control socket\n"
	    "  -config FILE         the access policy and name owners"
	    " (default:\n"
	    "                       %s if it exists; 'none': no file)\n"
	    "  -allow KIND=RULES    who may send KIND (register, lookup,"
	    " names, dump,\n"
	    "                       admin): any, none, or local and"
	    " addresses, comma\n"
	    "                       separated; replaces the file's rule"
	    " (repeatable)\n"
	    "  -systemd             take the listening sockets from systemd\n"
	    "\n"
	    "Client commands (talk to the daemon on the local port):\n"
	    "  -names               list registered names\n"
	    "  -dump                list active and old names (debugging)\n"
	    "  -started             exit 0 if a daemon answers, else 1\n"
	    "  -kill                stop the daemon (refused with live nodes"
	    " unless relaxed)\n"
	    "  -stop NAME           unregister NAME (relaxed daemons only)\n"
	    "  -check_config        load the configuration, say if it is"
	    " good, exit\n"
	    "\n"
	    "Environment: ERL_EPMD_PORT, ERL_EPMD_ADDRESS,"
	    " ERL_EPMD_RELAXED_COMMAND_CHECK.\n"
	    "See epmdd(8) and epmdd.conf(5).\n",
	    prog, prog, prog, prog, OPTIONS_DEFAULT_PORT,
	    OPTIONS_DEFAULT_PACKET_TIMEOUT, POLICY_DEFAULT_FILE);
}
