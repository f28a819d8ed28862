/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * epmdctl_check: epmdctl check NAME..., a check in the monitoring
 * plugins' convention (one line "EPMDD OK - ...", exit 0 OK, 2
 * CRITICAL, 3 UNKNOWN) that every named node is registered, on the port
 * asked for if any: from epmdd's control socket, or with --host from
 * any epmd over TCP (PORT_PLEASE2, so OTP's epmd too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "conn.h"
#include "ctlschema.h"
#include "epmdctl.h"
#include "epmdctl_obs.h"
#include "netio.h"
#include "output.h"
#include "util.h"

/* The findings, one sentence fragment per node, at most this long. */
#define CHECK_MAX_LINE 4096

struct found {
	bool registered;
	unsigned port;
};

/* The part of a node name epmd knows: "rabbit" of "rabbit@host". */
static size_t
alive_len(const char *name)
{
	const char *at = strchr(name, '@');

	return at != NULL ? (size_t)(at - name) : strlen(name);
}

/* Name as shown on the line: control characters as '?'. */
static void
put_name(char *line, size_t size, const char *name)
{
	size_t len = strlen(line), i, n = alive_len(name);

	for (i = 0; i < n && len + 1 < size; i++)
		line[len++] = (unsigned char)name[i] < 0x20 ||
			name[i] == 0x7f ? '?' : name[i];
	line[len] = '\0';
}

static void
append(char *line, size_t size, const char *text)
{
	size_t len = strlen(line);

	if (len < size)
		snprintf(line + len, size - len, "%s", text);
}

/* A node of the control socket's list: one of the names? */
static void
mark_node(const struct ctl_msg *m, int argc, char **argv, struct found *found)
{
	const struct ctl_field *name = ctlproto_find(m, CTL_KEY(NAME));
	int i;

	if (m->type != CTL_NODE || name == NULL)
		return;
	for (i = 0; i < argc; i++)
		if (alive_len(argv[i]) == name->len &&
		    memcmp(argv[i], name->p, name->len) == 0) {
			found[i].registered = true;
			found[i].port =
			    (unsigned)ctlproto_u64(m, CTL_KEY(PORT), 0);
		}
}

/* Ask the control socket for every node: 0, or -1 with err. */
static int
from_control(int argc, char **argv, struct found *found, char *err,
    size_t errlen)
{
	struct conn *c;
	struct conn_req req;
	struct ctl_msg m;
	int status, r = -1;

	/* The failure goes on check's line, not to standard error. */
	output_quiet(true);
	if ((c = conn_new()) != NULL) {
		conn_set_timeout(c, OBS_CTL_TIMEOUT_MS);
		conn_req_begin(&req, CTL_NAMES);
		if (conn_open(c, &req) == EXIT_OK)
			while (r < 0 && conn_answer(c, &m, "names", &status)) {
				if (m.type == CTL_END)
					r = 0;
				else
					mark_node(&m, argc, argv, found);
			}
	}
	conn_free(c);
	output_quiet(false);
	if (r < 0)
		snprintf(err, errlen, "%s", output_last_warning());
	return r;
}

/* PORT_PLEASE2 for each name at host: 0, or -1 with err. */
static int
from_tcp(const struct obs_opts *o, int argc, char **argv, struct found *found,
    char *err, size_t errlen)
{
	uint8_t req[CODEC_MAX_BODY + 2], ans[CODEC_MAX_PORT2_RESP];
	struct codec_port2 p;
	struct wbuf w;
	long n;
	int i;

	for (i = 0; i < argc; i++) {
		wbuf_init(&w, req, sizeof(req));
		if (codec_put_port2_req(&w, (const uint8_t *)argv[i],
			alive_len(argv[i])) < 0) {
			snprintf(err, errlen, "a name is too long");
			return -1;
		}
		n = netio_exchange(o->host, (uint16_t)o->port, req, w.len,
		    ans, sizeof(ans), OBS_CTL_TIMEOUT_MS, err, errlen);
		if (n < 0)
			return -1;
		/* OTP's epmd closes without a word on a name it cannot
		 * hold (empty, too long): not registered either. */
		if (n == 0 || codec_parse_port2_resp(ans, (size_t)n, &p) <= 0 ||
		    p.result != 0)
			continue;
		found[i].registered = true;
		found[i].port = p.port;
	}
	return 0;
}

int
obs_check(const struct obs_opts *o, int argc, char **argv)
{
	char line[CHECK_MAX_LINE] = "", where[300], err[512], num[48];
	struct found *found;
	int i, bad = 0, r;

	if (o->host != NULL)
		snprintf(where, sizeof(where), "epmd at %s port %u", o->host,
		    o->port);
	else
		snprintf(where, sizeof(where), "epmdd at %s", o->path);
	if (argc == 0) {
		printf("EPMDD UNKNOWN - no node names to check\n");
		return CHECK_UNKNOWN;
	}
	if ((found = calloc((size_t)argc, sizeof(*found))) == NULL) {
		printf("EPMDD UNKNOWN - out of memory\n");
		return CHECK_UNKNOWN;
	}
	r = o->host != NULL ? from_tcp(o, argc, argv, found, err, sizeof(err))
			    : from_control(argc, argv, found, err, sizeof(err));
	if (r < 0) {
		printf("EPMDD UNKNOWN - %s\n", err);
		free(found);
		return CHECK_UNKNOWN;
	}
	/* The failures first, then what is fine. */
	for (r = 0; r < 2; r++)
		for (i = 0; i < argc; i++) {
			bool ok = found[i].registered &&
			    (o->node_port < 0 ||
				found[i].port == (unsigned)o->node_port);

			if (ok != (r == 1))
				continue;
			bad += !ok;
			append(line, sizeof(line), line[0] != '\0' ? ", " : "");
			put_name(line, sizeof(line), argv[i]);
			if (!found[i].registered)
				append(line, sizeof(line), " not registered");
			else {
				snprintf(num, sizeof(num), " on port %u",
				    found[i].port);
				append(line, sizeof(line), num);
				if (!ok) {
					snprintf(num, sizeof(num), " (not %ld)",
					    o->node_port);
					append(line, sizeof(line), num);
				}
			}
		}
	printf("EPMDD %s - %s (%s)\n", bad > 0 ? "CRITICAL" : "OK", line,
	    where);
	free(found);
	return bad > 0 ? CHECK_CRITICAL : CHECK_OK;
}
