/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * epmdctl_metrics: the daemon's status as Prometheus' text exposition
 * format (version 0.0.4), and with --http one HTTP/1.x answer to the
 * request on standard input (a socket-activated connection,
 * contrib/systemd/epmdd-metrics.socket): GET or HEAD of /metrics only,
 * the request bounded by METRICS_HTTP_MAX_REQUEST and
 * METRICS_HTTP_TIMEOUT_MS.  The daemon itself serves no HTTP.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "ctlschema.h"
#include "epmdctl.h"
#include "epmdctl_obs.h"
#include "netio.h"
#include "output.h"
#include "util.h"

/*
 * The request line and headers of one scrape: Prometheus sends about
 * 300 bytes; anything longer than METRICS_HTTP_MAX_REQUEST is answered
 * 431, anything not complete within METRICS_HTTP_TIMEOUT_MS 408.
 */
#define METRICS_HTTP_MAX_REQUEST 8192
#define METRICS_HTTP_TIMEOUT_MS 5000
/*
 * After an answer, what the client sent beyond the request head is read
 * and dropped, for at most METRICS_HTTP_LINGER_MS, before closing:
 * closing with unread bytes would reset the connection and lose the
 * answer (a 431 in particular).
 */
#define METRICS_HTTP_LINGER_MS 1000
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * A status field as a sample.  Rows of one family are adjacent; a row
 * whose key ends in '_' takes every field with that prefix, the rest of
 * the key becoming the value of label.
 */
struct metric {
	const char *key;
	const char *name;
	const char *type;
	const char *help;
	const char *labels; /* fixed labels, or NULL */
	const char *label;  /* for a prefix row */
};

static const struct metric metrics[] = {
	{ "started_at", "epmdd_start_time_seconds", "gauge",
	    "Start time of the epmdd process since the Unix epoch.", NULL,
	    NULL },
	{ "uptime", "epmdd_uptime_seconds", "gauge",
	    "Seconds since the epmdd process started.", NULL, NULL },
	{ "handover", "epmdd_handover", "gauge",
	    "1 if this process took over the registrations of a previous "
	    "one, by kind (restart: the service manager's descriptor "
	    "store; upgrade: re-execution).",
	    NULL, NULL },
	{ "handover_restored", "epmdd_handover_restored_registrations",
	    "gauge",
	    "Registrations this process took over from the previous one "
	    "at startup.",
	    NULL, NULL },
	{ "relaxed", "epmdd_relaxed_command_check", "gauge",
	    "1 if the relaxed command check (-relaxed_command_check) is "
	    "on.",
	    NULL, NULL },
	{ "packet_timeout", "epmdd_packet_timeout_seconds", "gauge",
	    "Seconds a client has to send a complete request.", NULL, NULL },
	{ "nodes", "epmdd_registered_nodes", "gauge",
	    "Nodes registered now.", NULL, NULL },
	{ "old_names", "epmdd_remembered_names", "gauge",
	    "Names of ended registrations remembered for their next "
	    "creation.",
	    NULL, NULL },
	{ "registrations", "epmdd_registrations_total", "counter",
	    "Registrations (ALIVE2 requests) accepted.", NULL, NULL },
	{ "unregistered_", "epmdd_unregistrations_total", "counter",
	    "Registrations ended, by reason.", NULL, "reason" },
	{ "lookups_hit", "epmdd_lookups_total", "counter",
	    "Lookups (PORT_PLEASE2 requests) answered, by result.",
	    "result=\"found\"", NULL },
	{ "lookups_miss", "epmdd_lookups_total", NULL, NULL,
	    "result=\"not_found\"", NULL },
	{ "names_requests", "epmdd_requests_total", "counter",
	    "NAMES, DUMP and administrative (KILL, STOP) requests served, "
	    "by request.",
	    "request=\"names\"", NULL },
	{ "dump_requests", "epmdd_requests_total", NULL, NULL,
	    "request=\"dump\"", NULL },
	{ "kill_requests", "epmdd_requests_total", NULL, NULL,
	    "request=\"kill\"", NULL },
	{ "stop_requests", "epmdd_requests_total", NULL, NULL,
	    "request=\"stop\"", NULL },
	{ "refused_connection_limit", "epmdd_connections_shed_total",
	    "counter",
	    "Connections closed at accept because the connection limit "
	    "was reached.",
	    NULL, NULL },
	{ "refused_", "epmdd_refusals_total", "counter",
	    "Requests refused by OTP's rules, the request limits and "
	    "ownership rules, by reason (access rules: "
	    "epmdd_access_refusals_total).",
	    NULL, "reason" },
	{ "owner_refused", "epmdd_refusals_total", NULL, NULL,
	    "reason=\"not_owner\"", NULL },
	{ "access_refused_", "epmdd_access_refusals_total", "counter",
	    "Requests refused by the access policy (OTP's default rules "
	    "included), by request kind.",
	    NULL, "request" },
	{ "policy_loads", "epmdd_config_loads_total", "counter",
	    "Configuration loads that succeeded (startup and reloads).",
	    NULL, NULL },
	{ "policy_load_failures", "epmdd_config_load_failures_total",
	    "counter", "Configuration loads that failed.", NULL, NULL },
	{ "policy_loaded_at", "epmdd_config_loaded_timestamp_seconds",
	    "gauge",
	    "When the configuration in force was loaded, since the Unix "
	    "epoch.",
	    NULL, NULL },
	{ "policy_saved", "epmdd_config_from_saved_state", "gauge",
	    "1 if the configuration in force is the one a previous process "
	    "saved.",
	    NULL, NULL },
	{ "policy_access_rules", "epmdd_config_access_rules", "gauge",
	    "Access rules the configuration sets.", NULL, NULL },
	{ "policy_owner_rules", "epmdd_config_owner_rules", "gauge",
	    "Ownership rules the configuration sets.", NULL, NULL },
	{ "connections", "epmdd_connections", "gauge",
	    "TCP connections open now.", NULL, NULL },
	{ "connections_peak", "epmdd_connections_peak", "gauge",
	    "Most TCP connections open at once since the start.", NULL,
	    NULL },
	{ "connections_limit", "epmdd_connections_limit", "gauge",
	    "Most TCP connections allowed at once.", NULL, NULL },
	{ "accepted", "epmdd_connections_accepted_total", "counter",
	    "TCP connections accepted.", NULL, NULL },
	{ "accept_errors", "epmdd_accept_errors_total", "counter",
	    "Failed accepts.", NULL, NULL },
	{ "answered_at_once", "epmdd_connections_answered_at_accept_total",
	    "counter",
	    "Connections whose request was answered straight after "
	    "accept.",
	    NULL, NULL },
	{ "control_clients", "epmdd_control_clients", "gauge",
	    "Control socket clients connected now (this scrape included).",
	    NULL, NULL },
	{ "hash_buckets", "epmdd_registry_hash_buckets", "gauge",
	    "Buckets of the node table.", NULL, NULL },
	{ "hash_longest_chain", "epmdd_registry_hash_longest_chain",
	    "gauge", "Longest chain in the node table.", NULL, NULL },
};

/* A label value: backslash, double quote and newline escaped. */
static void
put_label_value(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\\' || p[i] == '"')
			fputc('\\', f);
		if (p[i] == '\n')
			fputs("\\n", f);
		else
			fputc(p[i], f);
	}
}

static void
put_family(FILE *f, const struct metric *mt)
{
	if (mt->type == NULL)
		return;
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", mt->name, mt->help,
	    mt->name, mt->type);
}

/* The handover field as one sample per kind. */
static void
put_handover(FILE *f, uint64_t v)
{
	fprintf(f, "epmdd_handover{kind=\"restart\"} %d\n", v == 1);
	fprintf(f, "epmdd_handover{kind=\"upgrade\"} %d\n", v == 2);
}

/* Every sample of a prefix row (refused_connection_limit has its own). */
static void
put_prefixed(FILE *f, const struct ctl_msg *m, const struct metric *mt)
{
	size_t plen = strlen(mt->key), i;

	for (i = 0; i < m->nfields; i++) {
		const struct ctl_field *fl = &m->fields[i];

		if (fl->kind != CTL_U64 || fl->klen <= plen ||
		    memcmp(fl->key, mt->key, plen) != 0 ||
		    (fl->klen == 24 &&
			memcmp(fl->key, "refused_connection_limit", 24) == 0))
			continue;
		fprintf(f, "%s{%s=\"%.*s\"} %llu\n", mt->name, mt->label,
		    (int)(fl->klen - plen), fl->key + plen,
		    (unsigned long long)fl->u);
	}
}

static void
put_metrics(FILE *f, const struct ctl_msg *m)
{
	const struct ctl_field *v = ctlproto_find(m, CTL_KEY(VERSION));
	const struct ctl_field *e = ctlproto_find(m, CTL_KEY(POLICY_ERROR));
	size_t i;

	fputs("# HELP epmdd_build_info The running epmdd's version.\n"
	      "# TYPE epmdd_build_info gauge\nepmdd_build_info{version=\"",
	    f);
	if (v != NULL && v->kind == CTL_BYTES)
		put_label_value(f, v->p, v->len);
	fputs("\"} 1\n", f);
	for (i = 0; i < ARRAY_SIZE(metrics); i++) {
		const struct metric *mt = &metrics[i];
		const struct ctl_field *fl;

		put_family(f, mt);
		if (mt->label != NULL) {
			put_prefixed(f, m, mt);
			continue;
		}
		fl = ctlproto_find(m, mt->key);
		if (fl == NULL || fl->kind != CTL_U64) {
			/* An older daemon: a family with no sample. */
			continue;
		}
		if (strcmp(mt->key, "handover") == 0) {
			put_handover(f, fl->u);
			continue;
		}
		fprintf(f, "%s%s%s%s %llu\n", mt->name,
		    mt->labels != NULL ? "{" : "",
		    mt->labels != NULL ? mt->labels : "",
		    mt->labels != NULL ? "}" : "", (unsigned long long)fl->u);
	}
	fprintf(f,
	    "# HELP epmdd_config_last_load_failed 1 if the last "
	    "configuration load (a reload) failed and the previous "
	    "configuration stays in force.\n"
	    "# TYPE epmdd_config_last_load_failed gauge\n"
	    "epmdd_config_last_load_failed %d\n",
	    e != NULL && e->kind == CTL_BYTES && e->len > 0);
}

/*
 * The status as metrics into a malloc'd text (*ret, *ret_len): 0, or -1
 * after a warning (output_last_warning).
 */
static int
fetch_metrics(char **ret, size_t *ret_len)
{
	struct conn *c = conn_new();
	struct conn_req req;
	struct ctl_msg m;
	FILE *f = NULL;
	int r;

	if (c == NULL)
		return -1;
	conn_set_timeout(c, OBS_CTL_TIMEOUT_MS);
	conn_req_begin(&req, CTL_STATUS);
	r = conn_call(c, &req, "status", CTL_STATUS_REPLY, &m);
	if (r == EXIT_OK && (f = open_memstream(ret, ret_len)) != NULL)
		put_metrics(f, &m);
	conn_free(c);
	if (r != EXIT_OK)
		return -1;
	if (f != NULL && fclose(f) == 0)
		return 0;
	if (f != NULL)
		free(*ret);
	output_warn("out of memory");
	return -1;
}

/* ------------------------------------------------------------ HTTP */

/*
 * Read the request head from fd 0 into buf (NUL-terminated): its length,
 * or -408 (too slow), -431 (too long), -400 (closed before the end).
 */
static long
read_head(char *buf, size_t size)
{
	long long deadline = netio_deadline(METRICS_HTTP_TIMEOUT_MS);
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		int left = netio_left_ms(deadline);
		ssize_t n;

		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL ||
		    strstr(buf, "\n\n") != NULL)
			return (long)len;
		if (len >= size - 1)
			return -431;
		if (left <= 0)
			return -408;
		n = poll(&pfd, 1, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -408 : -400;
		n = read(0, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -400;
		if (memchr(buf + len, '\0', (size_t)n) != NULL)
			return -400;
		len += (size_t)n;
	}
}

static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_'))
			return false;
	return true;
}

/*
 * Decide the answer to the request head: 200, or an error status.
 * *head is set for HEAD.
 */
static int
classify(char *req, bool *head)
{
	char *eol = strpbrk(req, "\r\n"), *method, *target, *version, *save;
	char *q;

	*head = false;
	if (eol == NULL)
		return 400;
	*eol = '\0';
	method = strtok_r(req, " ", &save);
	target = strtok_r(NULL, " ", &save);
	version = strtok_r(NULL, " ", &save);
	if (method == NULL || target == NULL || version == NULL ||
	    strtok_r(NULL, " ", &save) != NULL || !is_token(method) ||
	    target[0] != '/' ||
	    (strcmp(version, "HTTP/1.0") != 0 &&
		strcmp(version, "HTTP/1.1") != 0))
		return 400;
	if ((q = strchr(target, '?')) != NULL)
		*q = '\0';
	if (strcmp(target, "/metrics") != 0)
		return 404;
	if (strcmp(method, "HEAD") == 0)
		*head = true;
	else if (strcmp(method, "GET") != 0)
		return 405;
	return 200;
}

static const char *
reason_phrase(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Service Unavailable";
	}
}

/* Write the answer to fd 1; 0, or -1 if the client went away. */
static int
answer(int code, const char *type, const char *body, size_t len,
    bool head)
{
	char hdr[512];
	int n;
	size_t off = 0;

	n = snprintf(hdr, sizeof(hdr),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "%sConnection: close\r\n\r\n",
	    code, reason_phrase(code), type, len,
	    code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (fwrite(hdr, 1, (size_t)n, stdout) != (size_t)n)
		return -1;
	if (!head && len > 0)
		off = fwrite(body, 1, len, stdout);
	if (fflush(stdout) != 0 || (!head && off != len))
		return -1;
	return 0;
}

/* Half-close, then drop what the client still sends, for a while. */
static void
linger(void)
{
	long long deadline = netio_deadline(METRICS_HTTP_LINGER_MS);
	char sink[4096];

	if (shutdown(1, SHUT_WR) < 0)
		return; /* not a socket (a test's pipe) */
	for (;;) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		int left = netio_left_ms(deadline);

		if (left <= 0 || poll(&pfd, 1, left) <= 0 ||
		    read(0, sink, sizeof(sink)) <= 0)
			return;
	}
}

static int
serve_http(void)
{
	char req[METRICS_HTTP_MAX_REQUEST], body[600];
	char *text = NULL;
	size_t len = 0;
	bool head = false;
	long n = read_head(req, sizeof(req));
	int code = n < 0 ? (int)-n : classify(req, &head), r;

	if (code != 200) {
		snprintf(body, sizeof(body), "%d %s\n", code,
		    reason_phrase(code));
		answer(code, "text/plain; charset=utf-8", body, strlen(body),
		    false);
		linger();
		return 1;
	}
	if (fetch_metrics(&text, &len) < 0) {
		snprintf(body, sizeof(body), "503 Service Unavailable: %s\n",
		    output_last_warning());
		answer(503, "text/plain; charset=utf-8", body, strlen(body),
		    head);
		linger();
		return 3;
	}
	r = answer(200, METRICS_CONTENT_TYPE, text, len, head);
	free(text);
	linger();
	return r < 0 ? 1 : 0;
}

int
obs_metrics(const struct obs_opts *o)
{
	char *text = NULL;
	size_t len = 0;

	if (o->http)
		return serve_http();
	if (fetch_metrics(&text, &len) < 0)
		return 3;
	fwrite(text, 1, len, stdout);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}
