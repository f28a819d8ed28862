/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * cmd_daemon: epmdctl's commands about the daemon itself: status (its
 * figures, as text or one JSON document), and shutdown, upgrade and
 * reload, each a request answered by CTL_OK or CTL_ERROR (cmd_simple,
 * which stop uses too).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "ctlproto.h"
#include "ctlschema.h"
#include "epmdctl.h"
#include "format.h"
#include "output.h"

/* Print every field whose key starts with prefix, as "name N". */
static void
print_group(const struct ctl_msg *m, const char *label, const char *prefix)
{
	size_t plen = strlen(prefix), i;
	bool first = true;

	printf("%-15s", label);
	for (i = 0; i < m->nfields; i++) {
		const struct ctl_field *f = &m->fields[i];

		if (f->kind != CTL_U64 || f->klen <= plen ||
		    memcmp(f->key, prefix, plen) != 0)
			continue;
		printf("%s%.*s %llu", first ? "" : ", ",
		    (int)(f->klen - plen), f->key + plen,
		    (unsigned long long)f->u);
		first = false;
	}
	putchar('\n');
}

/*
 * The policy's lines of status, when there is a policy (or a failed
 * load to report): where it comes from and what it refused.
 */
static void
print_policy_status(const struct ctl_msg *m)
{
	char source[CTL_MAX_VALUE + 1], error[CTL_MAX_VALUE + 1], age[32];
	uint64_t ar = ctlproto_u64(m, CTL_KEY(POLICY_ACCESS_RULES), 0);
	uint64_t or = ctlproto_u64(m, CTL_KEY(POLICY_OWNER_RULES), 0);

	ctlproto_str(m, CTL_KEY(POLICY_SOURCE), source, sizeof(source));
	ctlproto_str(m, CTL_KEY(POLICY_ERROR), error, sizeof(error));
	if (source[0] == '\0' && error[0] == '\0')
		return;
	format_duration((int64_t)time(NULL) -
		(int64_t)ctlproto_u64(m, CTL_KEY(POLICY_LOADED_AT), 0),
	    age, sizeof(age));
	if (source[0] == '\0')
		printf("%-15snone (OTP's rules)\n", "policy");
	else
		printf("%-15s%s%s, loaded %s ago: %llu access rule%s, %llu "
		       "ownership rule%s\n",
		    "policy", source,
		    ctlproto_u64(m, CTL_KEY(POLICY_SAVED),
		0) ? " (as saved by the "
							 "previous process)"
						       : "",
		    age, (unsigned long long)ar, ar == 1 ? "" : "s",
		    (unsigned long long)or, or == 1 ? "" : "s");
	if (error[0] != '\0')
		printf("%-15slast load failed: %s\n", "", error);
	print_group(m, "access refused", CTL_KEY(ACCESS_REFUSED_));
	printf("%-15s%llu\n", "not owner",
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(OWNER_REFUSED), 0));
}

static void
print_status(const struct ctl_msg *m)
{
	char version[128], listen[CTL_MAX_VALUE + 1], control[256], up[32];

	format_duration((int64_t)ctlproto_u64(m, CTL_KEY(UPTIME), 0), up,
	    sizeof(up));
	printf("epmdd %s, pid %llu, up %s\n",
	    ctlproto_str(m, CTL_KEY(VERSION), version, sizeof(version)),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(PID), 0), up);
	printf("%-15s%s\n", "listening",
	    ctlproto_str(m, CTL_KEY(LISTEN), listen, sizeof(listen)));
	printf("%-15s%s\n", "control",
	    ctlproto_str(m, CTL_KEY(CONTROL), control, sizeof(control)));
	printf("%-15srelaxed command check %s, packet timeout %llu s\n",
	    "settings", ctlproto_u64(m, CTL_KEY(RELAXED), 0) ? "on" : "off",
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(PACKET_TIMEOUT), 0));
	printf("%-15s%llu registered, %llu old names remembered\n", "nodes",
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(NODES), 0),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(OLD_NAMES), 0));
	printf("%-15s%llu\n", "registrations",
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(REGISTRATIONS), 0));
	print_group(m, "unregistered", CTL_KEY(UNREGISTERED_));
	printf("%-15shit %llu, miss %llu\n", "lookups",
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(LOOKUPS_HIT), 0),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(LOOKUPS_MISS), 0));
	printf("%-15snames %llu, dump %llu, kill %llu, stop %llu\n",
	    "requests",
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(NAMES_REQUESTS), 0),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(DUMP_REQUESTS), 0),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(KILL_REQUESTS), 0),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(STOP_REQUESTS), 0));
	print_group(m, "refused", CTL_KEY(REFUSED_));
	print_policy_status(m);
	printf("%-15s%llu now, %llu peak, %llu limit; %llu accepted, %llu "
	       "accept errors\n",
	    "connections",
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(CONNECTIONS), 0),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(CONNECTIONS_PEAK), 0),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(CONNECTIONS_LIMIT), 0),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(ACCEPTED), 0),
	    (unsigned long long)ctlproto_u64(m, CTL_KEY(ACCEPT_ERRORS), 0));
}

int
cmd_status(int argc, char **argv)
{
	struct conn *c = conn_new();
	struct conn_req req;
	struct ctl_msg m;
	int r;

	(void)argc;
	(void)argv;
	if (c == NULL)
		return EXIT_FAIL;
	conn_req_begin(&req, CTL_STATUS);
	r = conn_call(c, &req, "status", CTL_STATUS_REPLY, &m);
	if (r == EXIT_OK) {
		if (opts.json) {
			/* status --json: every field of the reply, in its
			 * order, as ctlschema says. */
			json_t *doc = json_object();

			output_json_message(doc, &m);
			output_json(doc);
		}
		else
			print_status(&m);
	}
	conn_free(c);
	return r;
}

/* ------------------------------------------------- shutdown etc. */

int
cmd_simple(const char *what, uint8_t type, const char *key,
    const char *value, const char *done)
{
	struct conn *c = conn_new();
	struct conn_req req;
	struct ctl_msg m;
	int r;

	if (c == NULL)
		return EXIT_FAIL;
	conn_req_begin(&req, type);
	if (key != NULL)
		conn_req_str(&req, key, value);
	r = conn_call(c, &req, what, 0, &m);
	conn_free(c);
	if (r != EXIT_OK)
		return r;
	if (opts.json)
		output_json(json_pack("{s:b}", "ok", 1));
	else
		printf("%s\n", done);
	return EXIT_OK;
}

int
cmd_shutdown(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_simple("shutdown", CTL_SHUTDOWN, NULL, NULL,
	    "epmdd is shutting down");
}

int
cmd_upgrade(int argc, char **argv)
{
	return cmd_simple("upgrade", CTL_UPGRADE, argc > 0 ? "path" : NULL,
	    argc > 0 ? argv[0] : NULL, "epmdd is re-executing itself");
}

int
cmd_reload(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_simple("reload", CTL_RELOAD, NULL, NULL,
	    "epmdd reloaded its configuration");
}
