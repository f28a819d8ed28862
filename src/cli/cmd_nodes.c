/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * cmd_nodes: epmdctl's commands about nodes: names (from the control
 * socket, with each node's owner, pid and ownership rule, or with
 * --host from any epmd over TCP), lookup (PORT_PLEASE2 over TCP) and
 * stop.  A table or one JSON document each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "codec.h"
#include "conn.h"
#include "ctlproto.h"
#include "ctlschema.h"
#include "epmdctl.h"
#include "format.h"
#include "netio.h"
#include "output.h"
#include "procfd.h"
#include "util.h"

/* Largest NAMES reply read over TCP. */
#define EPMDCTL_MAX_NAMES (16u << 20)

struct row {
	struct ctl_msg m; /* fields point into data */
	uint8_t *data;
};

/*
 * The ownership rule covering a node (its JSON object), for the RULE
 * column: "rabbit* (line 7)", with a warning when the holder is not one
 * the rule allows (it registered before a reload).  False (and "-")
 * when none does.
 */
static bool
rule_cell(const json_t *node, char *buf, size_t size)
{
	const json_t *rule = json_object_get(node, "owner_rule");
	const json_t *pat = json_object_get(rule, "pattern");
	char pattern[64]; /* a long one is cut (JSON has it whole) */

	if (!json_is_object(rule) || !json_is_string(pat)) {
		util_strlcpy(buf, "-", size);
		return false;
	}
	format_safe((const uint8_t *)json_string_value(pat),
	    json_string_length(pat), pattern, sizeof(pattern));
	snprintf(buf, size, "%s (line %lld%s)", pattern,
	    (long long)json_integer_value(json_object_get(rule, "line")),
	    json_is_false(json_object_get(rule, "holder_allowed"))
		? ", holder not allowed"
		: "");
	return true;
}

/* The ownership rule covering a node, for JSON: {...} or null. */
static json_t *
owner_rule_json(const struct ctl_msg *m)
{
	const struct ctl_field *f = ctlproto_find(m, CTL_KEY(OWNER_RULE));
	char ids[CTL_MAX_VALUE + 1];

	if (f == NULL || f->kind != CTL_BYTES)
		return json_null();
	return json_pack("{s:o,s:o,s:o,s:b}", "pattern",
	    output_json_bytes(f->p, f->len), "line",
	    output_json_u64(ctlproto_u64(m, CTL_KEY(OWNER_RULE_LINE), 0)),
	"owners",
	    output_json_words(ctlproto_str(m, CTL_KEY(OWNER_IDS), ids,
	sizeof(ids))),
	    "holder_allowed", ctlproto_u64(m, CTL_KEY(OWNER_ALLOWED), 0) != 0);
}

/* One node for names --json; pid is -1 when not known. */
static json_t *
node_json(const struct ctl_msg *m, long pid, time_t now)
{
	const struct ctl_field *f = ctlproto_find(m, CTL_KEY(NAME));
	const struct ctl_field *ex = ctlproto_find(m, CTL_KEY(EXTRA));
	uint64_t uid = ctlproto_u64(m, CTL_KEY(UID), UINT32_MAX);
	uint64_t type = ctlproto_u64(m, CTL_KEY(TYPE), 0);
	uint64_t at = ctlproto_u64(m, CTL_KEY(REGISTERED_AT), 0);
	char peer[128], user[64];
	json_t *node;

	node = json_pack("{s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o}",
	    "name", output_json_bytes(f->p, f->len), "port",
	    output_json_u64(ctlproto_u64(m, CTL_KEY(PORT), 0)), "type",
	    format_type_name(type), "type_code", output_json_u64(type),
	    "protocol", output_json_u64(ctlproto_u64(m, CTL_KEY(PROTOCOL), 0)),
	    "highest_version",
	    output_json_u64(ctlproto_u64(m, CTL_KEY(HIGHEST_VERSION), 0)),
	    "lowest_version",
	    output_json_u64(ctlproto_u64(m, CTL_KEY(LOWEST_VERSION), 0)),
	"creation",
	    output_json_u64(ctlproto_u64(m, CTL_KEY(CREATION), 0)), "extra",
	    output_json_hex(ex != NULL ? ex->p : NULL,
		ex != NULL ? ex->len : 0),
	    "registered_at", output_json_u64(at), "registered_seconds",
	    (json_int_t)((int64_t)now - (int64_t)at), "peer",
	    output_json_str(ctlproto_str(m, CTL_KEY(PEER), peer,
	sizeof(peer))));
	if (node == NULL)
		return NULL;
	if (uid > UINT32_MAX - 1) {
		json_object_set_new(node, "uid", json_null());
		json_object_set_new(node, "user", json_null());
	} else {
		format_user(uid, user, sizeof(user));
		json_object_set_new(node, "uid", output_json_u64(uid));
		json_object_set_new(node, "user", output_json_str(user));
	}
	json_object_set_new(node, "pid",
	    pid > 0 ? json_integer(pid) : json_null());
	json_object_set_new(node, "owner_rule", owner_rule_json(m));
	return node;
}

/* An integer of a node's JSON object (0 when absent or null). */
static long long
node_int(const json_t *node, const char *key)
{
	return (long long)json_integer_value(json_object_get(node, key));
}

/* One row of the names table, from the node's JSON object. */
static bool
node_cells(const json_t *node, char (*cells)[128])
{
	const json_t *name = json_object_get(node, "name");
	const json_t *user = json_object_get(node, "user");
	const char *who = json_is_string(user) ? json_string_value(user) : "-";

	format_safe((const uint8_t *)json_string_value(name),
	    json_string_length(name), cells[0], 128);
	snprintf(cells[1], 128, "%lld", node_int(node, "port"));
	format_type((uint64_t)node_int(node, "type_code"), cells[2], 128);
	format_proto((uint64_t)node_int(node, "protocol"), cells[3], 128);
	format_versions((uint64_t)node_int(node, "lowest_version"),
	    (uint64_t)node_int(node, "highest_version"), cells[4], 128);
	snprintf(cells[5], 128, "%lld", node_int(node, "creation"));
	format_duration(node_int(node, "registered_seconds"), cells[6], 128);
	if (node_int(node, "pid") > 0)
		snprintf(cells[7], 128, "%s (pid %lld)", who,
		    node_int(node, "pid"));
	else
		util_strlcpy(cells[7], who, 128);
	/* The ownership rule column, only when a rule covers a node. */
	return rule_cell(node, cells[8], 128);
}

/*
 * names: the nodes as JSON objects (node_json), then printed as they
 * are with --json, else as a table made from them.
 */
static int
print_nodes(struct row *rows, size_t n)
{
	static const char *const head[] = { "NAME", "PORT", "TYPE", "PROTO",
		"VERSIONS", "CREATION", "REGISTERED", "OWNER", "RULE" };
	enum { NCOL = 9 };
	char (*cells)[NCOL][128] = NULL;
	uint64_t *inodes;
	long *pids;
	size_t width[NCOL], i, k, ni = 0, ncol = NCOL - 1;
	time_t now = time(NULL);
	json_t *nodes = json_array();

	inodes = calloc(n + 1, sizeof(*inodes));
	pids = calloc(n + 1, sizeof(*pids));
	if (!opts.json)
		cells = calloc(n + 1, sizeof(*cells));
	if (inodes == NULL || pids == NULL || nodes == NULL ||
	    (!opts.json && cells == NULL)) {
		output_warn("out of memory");
		free(cells);
		free(inodes);
		free(pids);
		json_decref(nodes);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		if ((inodes[ni] = ctlproto_u64(&rows[i].m, CTL_KEY(INODE),
		    0)) != 0)
			ni++;
	qsort(inodes, ni, sizeof(*inodes), procfd_cmp_inode);
	procfd_find_pids(inodes, pids, ni);
	for (i = 0; i < n; i++) {
		uint64_t ino = ctlproto_u64(&rows[i].m, CTL_KEY(INODE), 0);
		const uint64_t *hit = ino != 0
		    ? bsearch(&ino, inodes, ni, sizeof(*inodes),
			  procfd_cmp_inode)
		    : NULL;

		json_array_append_new(nodes, node_json(&rows[i].m,
		    hit != NULL ? pids[hit - inodes] : -1, now));
	}
	free(inodes);
	free(pids);
	if (opts.json) {
		output_json(json_pack("{s:I,s:o}", "count", (json_int_t)n,
		    "nodes", nodes));
		return EXIT_OK;
	}
	for (i = 0; i < n; i++)
		if (node_cells(json_array_get(nodes, i), cells[i]))
			ncol = NCOL;
	for (k = 0; k < ncol; k++) {
		width[k] = format_width(head[k]);
		for (i = 0; i < n; i++)
			width[k] = UTIL_MAX(width[k], format_width(cells[i][k]));
	}
	for (k = 0; k < ncol; k++)
		format_cell(head[k], width[k], k == ncol - 1);
	putchar('\n');
	for (i = 0; i < n; i++) {
		for (k = 0; k < ncol; k++)
			format_cell(cells[i][k], width[k], k == ncol - 1);
		putchar('\n');
	}
	free(cells);
	json_decref(nodes);
	return EXIT_OK;
}

static int
cmd_names_ctl(void)
{
	struct conn *c = conn_new();
	struct conn_req req;
	struct row *rows = NULL;
	size_t n = 0, cap = 0, i;
	struct ctl_msg m;
	int r, status = EXIT_FAIL;

	if (c == NULL)
		return EXIT_FAIL;
	conn_req_begin(&req, CTL_NAMES);
	if ((r = conn_open(c, &req)) != EXIT_OK) {
		conn_free(c);
		return r;
	}
	while (conn_answer(c, &m, "names", &status)) {
		if (m.type == CTL_END) {
			status = print_nodes(rows, n);
			break;
		}
		if (m.type != CTL_NODE)
			continue;
		if (n == cap) {
			struct row *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(rows, cap * sizeof(*rows));
			if (nr == NULL) {
				output_warn("out of memory");
				break;
			}
			rows = nr;
		}
		/* Keep the message bytes: the fields point into them. */
		rows[n].data = malloc(CTL_HEADER_SIZE + m.length);
		if (rows[n].data == NULL) {
			output_warn("out of memory");
			break;
		}
		memcpy(rows[n].data, conn_raw(c, &m),
		    CTL_HEADER_SIZE + m.length);
		ctlproto_decode(rows[n].data, CTL_HEADER_SIZE + m.length,
		    &rows[n].m);
		n++;
	}
	for (i = 0; i < n; i++)
		free(rows[i].data);
	free(rows);
	conn_free(c);
	return status;
}

/* names --host: the public NAMES request over TCP. */
static int
cmd_names_tcp(void)
{
	uint8_t req[3], *buf;
	struct wbuf w;
	long n;
	uint32_t port;
	char err[256], shown[CODEC_MAX_NAME_BYTES * 4 + 1];
	char *line, *save = NULL;
	json_t *nodes = NULL;

	buf = malloc(EPMDCTL_MAX_NAMES + 1);
	if (buf == NULL) {
		output_warn("out of memory");
		return EXIT_FAIL;
	}
	wbuf_init(&w, req, sizeof(req));
	codec_put_simple_req(&w, CODEC_NAMES_REQ);
	n = netio_exchange(opts.host, (uint16_t)opts.port, req, w.len, buf,
	    EPMDCTL_MAX_NAMES, EPMDCTL_TIMEOUT * 1000, err, sizeof(err));
	if (n < 4) {
		if (n >= 0)
			snprintf(err, sizeof(err), "short NAMES answer from %s "
			    "port %u", opts.host, opts.port);
		output_warn("%s", err);
		free(buf);
		return EXIT_UNREACHABLE;
	}
	port = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	buf[n] = '\0';
	if (opts.json)
		nodes = json_array();
	else
		printf("%-20s %s\n", "NAME", "PORT");
	for (line = strtok_r((char *)buf + 4, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *at = strstr(line, " at port ");
		unsigned long p;

		if (strncmp(line, "name ", 5) != 0 || at == NULL)
			continue;
		*at = '\0';
		p = strtoul(at + 9, NULL, 10);
		if (opts.json)
			json_array_append_new(nodes, json_pack("{s:o,s:I}",
			    "name", output_json_str(line + 5), "port",
			    (json_int_t)p));
		else {
			format_safe((const uint8_t *)line + 5, strlen(line + 5),
			    shown, sizeof(shown));
			printf("%-20s %lu\n", shown, p);
		}
	}
	if (opts.json)
		output_json(json_pack("{s:o,s:I,s:I,s:o}", "host",
		    output_json_str(opts.host), "port", (json_int_t)opts.port,
		    "epmd_port", (json_int_t)port, "nodes", nodes));
	free(buf);
	return EXIT_OK;
}

int
cmd_names(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return opts.host != NULL ? cmd_names_tcp() : cmd_names_ctl();
}

/* ---------------------------------------------------------- lookup */

int
cmd_lookup(int argc, char **argv)
{
	const char *name = argv[0], *host = opts.host ? opts.host : "localhost";
	uint8_t req[CODEC_MAX_BODY + 2], ans[CODEC_MAX_PORT2_RESP];
	struct codec_port2 p;
	struct wbuf w;
	char type[32], proto[32], versions[48], err[256],
	    shown[CODEC_MAX_NAME_BYTES * 4 + 1];
	long n;

	(void)argc;
	wbuf_init(&w, req, sizeof(req));
	if (codec_put_port2_req(&w, (const uint8_t *)name, strlen(name)) < 0) {
		output_warn("%s: name too long", name);
		return EXIT_USAGE;
	}
	n = netio_exchange(host, (uint16_t)opts.port, req, w.len, ans,
	    sizeof(ans), EPMDCTL_TIMEOUT * 1000, err, sizeof(err));
	if (n < 0) {
		output_warn("%s", err);
		return EXIT_UNREACHABLE;
	}
	if (n == 0 || codec_parse_port2_resp(ans, (size_t)n, &p) <= 0) {
		output_warn("%s port %u closed without an answer for \"%s\" "
			    "(not a valid name?)",
		    host, opts.port, name);
		return EXIT_FAIL;
	}
	if (p.result != 0) {
		if (opts.json)
			output_json(json_pack("{s:o,s:b}", "name",
			    output_json_str(name), "found", 0));
		output_warn("%s: not registered at %s port %u", name, host,
		    opts.port);
		return EXIT_FAIL;
	}
	format_type(p.type, type, sizeof(type));
	format_proto(p.proto, proto, sizeof(proto));
	format_versions(p.lv, p.hv, versions, sizeof(versions));
	format_safe(p.name, p.nlen, shown, sizeof(shown));
	if (opts.json)
		output_json(json_pack("{s:o,s:b,s:I,s:s,s:I,s:I,s:I,s:I,s:o}",
		    "name", output_json_bytes(p.name, p.nlen), "found", 1,
		    "port", (json_int_t)p.port, "type",
		    format_type_name(p.type),
		    "type_code", (json_int_t)p.type, "protocol",
		    (json_int_t)p.proto, "highest_version", (json_int_t)p.hv,
		    "lowest_version", (json_int_t)p.lv, "extra",
		    output_json_hex(p.extra, p.elen)));
	else
		printf("%s port %u type %s proto %s versions %s extra %u "
		       "bytes\n",
		    shown, p.port, type, proto, versions, p.elen);
	return EXIT_OK;
}

int
cmd_stop(int argc, char **argv)
{
	char done[300];

	(void)argc;
	snprintf(done, sizeof(done), "stopped %s", argv[0]);
	return cmd_simple(argv[0], CTL_STOP, "name", argv[0], done);
}
