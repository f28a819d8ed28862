/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_options: OTP epmd's command line and environment: defaults,
 * ports, the address list rules, client commands last, and the errors.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "options.h"
#include "unit.h"

static struct options o;
static char err[256];

static int
parse_env(const char *port, const char *addr, const char *relaxed, ...)
{
	char *argv[32];
	struct options_env env = { port, addr, relaxed };
	va_list ap;
	int argc = 0;
	char *a;

	argv[argc++] = (char *)"epmd";
	va_start(ap, relaxed);
	while ((a = va_arg(ap, char *)) != NULL && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	memset(&o, 0xa5, sizeof(o));
	return options_parse(argc, argv, &env, &o, err, sizeof(err));
}

#define parse(...) parse_env(NULL, NULL, NULL, __VA_ARGS__, (char *)NULL)

static void
assert_addr(size_t i, int family, const char *text)
{
	uint8_t a[16];

	ck_assert_uint_lt(i, o.naddrs);
	ck_assert_int_eq(o.addrs[i].family, family);
	ck_assert_int_eq(inet_pton(family, text, a), 1);
	ck_assert_mem_eq(o.addrs[i].addr, a, family == AF_INET ? 4 : 16);
}

START_TEST(t_defaults)
{
	ck_assert_int_eq(parse_env(NULL, NULL, NULL, (char *)NULL), 0);
	ck_assert_int_eq(o.mode, OPTIONS_SERVER);
	ck_assert_uint_eq(o.port, 4369);
	ck_assert_uint_eq(o.packet_timeout, 60);
	ck_assert_int_eq(o.debug, 0);
	ck_assert(!o.relaxed && !o.daemon && !o.systemd);
	ck_assert(o.any_address);
	ck_assert_uint_eq(o.naddrs, 2);
	assert_addr(0, AF_INET, "0.0.0.0");
	assert_addr(1, AF_INET6, "::");
	ck_assert_uint_eq(o.max_connections, 0);
}
END_TEST

START_TEST(t_server_options)
{
	ck_assert_int_eq(parse("-d", "-debug", "-d", "-port", "14369",
			     "-relaxed_command_check", "-daemon",
			     "-packet_timeout", "5", "-delay_accept", "1",
			     "-delay_write", "2", "-max_connections", "100",
			     "-systemd"),
	    0);
	ck_assert_int_eq(o.debug, 3);
	ck_assert_uint_eq(o.port, 14369);
	ck_assert(o.relaxed && o.daemon && o.systemd);
	ck_assert_uint_eq(o.packet_timeout, 5);
	ck_assert_uint_eq(o.delay_accept, 1);
	ck_assert_uint_eq(o.delay_write, 2);
	ck_assert_uint_eq(o.max_connections, 100);
}
END_TEST

START_TEST(t_bad_values)
{
	static const char *const bad[][2] = {
		{ "-port", "0" }, { "-port", "65536" }, { "-port", "80000" },
		{ "-port", "abc" }, { "-port", "12abc" }, { "-port", "-1" },
		{ "-packet_timeout", "0" }, { "-packet_timeout", "x" },
		{ "-delay_accept", "0" }, { "-delay_write", "" },
		{ "-max_connections", "0" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i][0], bad[i][1]) == OPTIONS_USAGE,
		    "%s %s accepted", bad[i][0], bad[i][1]);
	ck_assert_int_eq(parse("-port"), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-address"), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-packet_timeout"), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-bogus"), OPTIONS_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "-bogus"));
	ck_assert_int_eq(parse("--port=1"), OPTIONS_USAGE);
}
END_TEST

START_TEST(t_environment)
{
	ck_assert_int_eq(parse_env("14370", "127.0.0.1", "", (char *)NULL), 0);
	ck_assert_uint_eq(o.port, 14370);
	ck_assert(o.relaxed); /* present, even empty, means relaxed */
	ck_assert(!o.any_address);
	ck_assert_uint_eq(o.naddrs, 2);
	/* Options win over the environment. */
	ck_assert_int_eq(parse_env("14370", "10.1.2.3", NULL, "-port", "14371",
			     "-address", "127.0.0.1", (char *)NULL),
	    0);
	ck_assert_uint_eq(o.port, 14371);
	ck_assert_uint_eq(o.naddrs, 2);
	ck_assert_int_eq(parse_env("abc", NULL, NULL, (char *)NULL),
	    OPTIONS_FAIL);
	ck_assert_ptr_nonnull(strstr(err, "ERL_EPMD_PORT"));
}
END_TEST

START_TEST(t_addresses)
{
	ck_assert_int_eq(parse("-address", "10.0.0.1,::ffff:10.0.0.2 fe80::1"),
	    0);
	ck_assert(!o.any_address);
	ck_assert_uint_eq(o.naddrs, 5);
	assert_addr(0, AF_INET, "127.0.0.1");
	assert_addr(1, AF_INET6, "::1");
	assert_addr(2, AF_INET, "10.0.0.1");
	assert_addr(3, AF_INET6, "::ffff:10.0.0.2");
	assert_addr(4, AF_INET6, "fe80::1");
	/* Exact loopback tokens and repeats are skipped; 127.0.0.2 is not. */
	ck_assert_int_eq(parse("-address", "127.0.0.1,::1,127.0.0.2,127.0.0.2"),
	    0);
	ck_assert_uint_eq(o.naddrs, 3);
	assert_addr(2, AF_INET, "127.0.0.2");
	/* Only separators: every address. */
	ck_assert_int_eq(parse("-address", " ,"), 0);
	ck_assert(o.any_address);
	ck_assert_uint_eq(o.naddrs, 2);
	assert_addr(0, AF_INET, "0.0.0.0");
	ck_assert_int_eq(parse("-address", "1.2.3.4,nonsense"), OPTIONS_FAIL);
	ck_assert_str_eq(err, "cannot parse IP address \"nonsense\"");
}
END_TEST

START_TEST(t_address_limit)
{
	char list[512] = "";
	int i;

	/* 13 extra addresses + 2 loopback = 15 sockets: fine. */
	for (i = 1; i <= 13; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "10.0.0.%d,", i);
	ck_assert_int_eq(parse("-address", list), 0);
	ck_assert_uint_eq(o.naddrs, 15);
	strcat(list, "10.0.0.14");
	ck_assert_int_eq(parse("-address", list), OPTIONS_FAIL);
	ck_assert_str_eq(err, "cannot listen on more than 16 IP addresses");
}
END_TEST

START_TEST(t_client_commands)
{
	ck_assert_int_eq(parse("-names"), 0);
	ck_assert_int_eq(o.mode, OPTIONS_NAMES);
	ck_assert_int_eq(parse("-port", "2243", "-packet_timeout", "1",
			     "-names"),
	    0);
	ck_assert_int_eq(o.mode, OPTIONS_NAMES);
	ck_assert_uint_eq(o.port, 2243);
	ck_assert_int_eq(parse("-dump"), 0);
	ck_assert_int_eq(o.mode, OPTIONS_DUMP);
	ck_assert_int_eq(parse("-started"), 0);
	ck_assert_int_eq(o.mode, OPTIONS_STARTED);
	ck_assert_int_eq(parse("-kill"), 0);
	ck_assert_int_eq(o.mode, OPTIONS_KILL);
	ck_assert_int_eq(parse("-stop", "foo"), 0);
	ck_assert_int_eq(o.mode, OPTIONS_STOP);
	ck_assert_str_eq(o.stop_name, "foo");
	/* A client command must come last. */
	ck_assert_int_eq(parse("-names", "-port", "1"), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-kill", "-d"), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-stop"), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-stop", "a", "b"), OPTIONS_USAGE);
}
END_TEST

START_TEST(t_help_version)
{
	ck_assert_int_eq(parse("--help"), 0);
	ck_assert_int_eq(o.mode, OPTIONS_HELP);
	ck_assert_int_eq(parse("-d", "--version"), 0);
	ck_assert_int_eq(o.mode, OPTIONS_VERSION);
}
END_TEST


START_TEST(t_policy_options)
{
	ck_assert_int_eq(parse((char *)NULL), 0);
	ck_assert_ptr_null(o.config);
	for (int k = 0; k < POLICY_KIND_COUNT; k++)
		ck_assert_ptr_null(o.allow[k]);
	ck_assert_int_eq(parse("-config", "/etc/x.conf", "-allow",
			     "names=local,10.0.0.0/8", "-allow", "admin=none"),
	    0);
	ck_assert_str_eq(o.config, "/etc/x.conf");
	ck_assert_str_eq(o.allow[POLICY_NAMES], "local,10.0.0.0/8");
	ck_assert_str_eq(o.allow[POLICY_ADMIN], "none");
	ck_assert_ptr_null(o.allow[POLICY_LOOKUP]);
	ck_assert_int_eq(parse("-config", "none"), 0);
	ck_assert_str_eq(o.config, "none");
	/* -check_config comes last, like a client command. */
	ck_assert_int_eq(parse("-config", "a", "-check_config"), 0);
	ck_assert_int_eq(o.mode, OPTIONS_CHECK_CONFIG);
	ck_assert_int_eq(parse("-check_config", "-d"), OPTIONS_USAGE);
	/* Errors. */
	ck_assert_int_eq(parse("-config"), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-config", ""), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-allow"), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-allow", "names"), OPTIONS_USAGE);
	ck_assert_int_eq(parse("-allow", "owner=x"), OPTIONS_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "register, lookup, names"));
	ck_assert_int_eq(parse("-allow", "names=any", "-allow", "names=none"),
	    OPTIONS_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "given twice"));
	ck_assert_int_eq(parse("-allow", "names=local,10.0.0.1/8"),
	    OPTIONS_FAIL);
	ck_assert_str_eq(err, "-allow names=local,10.0.0.1/8: column 7: "
			      "\"10.0.0.1/8\" has bits set past its prefix "
			      "length (the network is 10.0.0.0/8)");
	ck_assert_int_eq(parse("-allow", "names="), OPTIONS_FAIL);
}
END_TEST

Suite *
options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, t_defaults);
	tcase_add_test(tc, t_server_options);
	tcase_add_test(tc, t_bad_values);
	tcase_add_test(tc, t_environment);
	tcase_add_test(tc, t_addresses);
	tcase_add_test(tc, t_address_limit);
	tcase_add_test(tc, t_client_commands);
	tcase_add_test(tc, t_help_version);
	tcase_add_test(tc, t_policy_options);
	suite_add_tcase(s, tc);
	return s;
}
