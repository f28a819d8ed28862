/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * epmdctl: the command-line client.  Talks to epmdd over its control
 * socket (names, status, stop, shutdown, watch, upgrade, reload, policy)
 * and to any epmd over the public TCP protocol (names --host, lookup).
 * Human tables or --json; a plain blocking client, no libuv.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "ctlproto.h"
#include "epmdctl_obs.h"
#include "netio.h"
#include "policy.h"
#include "util.h"

#ifndef EPMDD_VERSION
#define EPMDD_VERSION "unknown"
#endif

/* Exit statuses (documented in epmdctl(1)). */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

/* Seconds to wait for a control reply or a TCP answer. */
#define EPMDCTL_TIMEOUT 10
/* Largest NAMES reply read over TCP. */
#define EPMDCTL_MAX_NAMES (16u << 20)
/*
 * watch, when the daemon goes away (an upgrade, a restart): the first
 * attempt to reconnect after WATCH_RETRY_MIN_MS, each next one twice as
 * late, at most WATCH_RETRY_MAX_MS apart, until subscribed or
 * interrupted.
 */
#define WATCH_RETRY_MIN_MS 100
#define WATCH_RETRY_MAX_MS 1000

static struct {
	const char *socket;
	bool json;
	const char *host;
	unsigned port;
	const char *uid;	/* --uid, for policy test */
	bool no_reconnect;	/* --no-reconnect, for watch */
	bool http;		/* --http, for metrics */
	long node_port;		/* --node-port, for check */
	bool quiet;		/* warnings recorded, not printed */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* With --json: the last warning, and whether a failure has its
	 * JSON document already. */
	char last_warning[512];
	bool json_failure_done;
} G;

static volatile sig_atomic_t interrupted;

static void iso_time(uint64_t ms, char *buf, size_t size);

static void
warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
warnx_(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vsnprintf(G.last_warning, sizeof(G.last_warning), fmt, ap);
	va_end(ap);
	if (!G.quiet)
		fprintf(stderr, "epmdctl: %s\n", G.last_warning);
}

/* ---------------------------------------------------------- JSON */

/* Length of a valid UTF-8 sequence at p (OTP's rules), or 0. */
static size_t
utf8_seq(const uint8_t *p, size_t left)
{
	size_t n;

	for (n = 1; n <= 4 && n <= left; n++)
		if (codec_utf8_count(p, n) == 1)
			return n;
	return 0;
}

/*
 * A JSON string.  Bytes that are not UTF-8 (a refused name in watch)
 * are written as the code point of the same value, so the document
 * stays valid.  Control characters, C1 (U+0080 to U+009F, which some
 * terminals obey) included, and the other characters that look like a
 * space or like nothing (policy_char_hidden) are escaped as \uXXXX.
 */
static void
json_bytes(FILE *f, const uint8_t *p, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	fputc('"', f);
	while (i < len) {
		uint8_t c = p[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else if (c >= 0x80) {
			if ((n = utf8_seq(p + i, len - i)) == 0) {
				fprintf(f, "\\u%04x", c);
				i++;
				continue;
			}
			if (policy_find_hidden(p + i, n, &cp) == 0)
				fprintf(f, "\\u%04x", (unsigned)cp);
			else
				fwrite(p + i, 1, n, f);
			i += n;
			continue;
		} else
			fputc(c, f);
		i++;
	}
	fputc('"', f);
}

/*
 * A name or pattern for a terminal: as it is when it is UTF-8 without
 * control characters (C0, DEL, C1) or characters that look like a space
 * or like nothing (policy_char_hidden), else escaped (\xNN).  Those
 * must not reach a terminal, nor pass for a space or for nothing.
 */
static void
safe_text(const uint8_t *p, size_t len, char *buf, size_t size)
{
	uint32_t cp;
	bool plain = len < size && codec_utf8_count(p, len) >= 0 &&
	    policy_find_hidden(p, len, &cp) < 0;

	if (plain) {
		memcpy(buf, p, len);
		buf[len] = '\0';
	} else
		util_escape(buf, size, p, len);
}

static void
json_str(FILE *f, const char *s)
{
	json_bytes(f, (const uint8_t *)s, strlen(s));
}

/* Bytes that may not be UTF-8 (extra data): as a hex string. */
static void
json_hex(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

/* ---------------------------------------------------------- formatting */

static const char *
type_name(uint64_t t)
{
	switch (t) {
	case 77:
		return "normal";
	case 72:
		return "hidden";
	case 104:
		return "c_node";
	default:
		return "other";
	}
}

/* "normal", "hidden", "C node", or the number. */
static void
type_text(uint64_t t, char *buf, size_t size)
{
	if (t == 104)
		util_strlcpy(buf, "C node", size);
	else if (t == 77 || t == 72)
		util_strlcpy(buf, type_name(t), size);
	else
		snprintf(buf, size, "%llu", (unsigned long long)t);
}

/* "tcp" for protocol 0, else the number. */
static void
proto_text(uint64_t p, char *buf, size_t size)
{
	if (p == 0)
		util_strlcpy(buf, "tcp", size);
	else
		snprintf(buf, size, "%llu", (unsigned long long)p);
}

/* "5-6", or "6" when both ends are the same. */
static void
versions_text(uint64_t lv, uint64_t hv, char *buf, size_t size)
{
	if (hv == lv)
		snprintf(buf, size, "%llu", (unsigned long long)hv);
	else
		snprintf(buf, size, "%llu-%llu", (unsigned long long)lv,
		    (unsigned long long)hv);
}

/* "45s", "5m02s", "2h03m", "4d02h". */
static void
duration_text(int64_t secs, char *buf, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(buf, size, "%llds", (long long)secs);
	else if (secs < 3600)
		snprintf(buf, size, "%lldm%02llds", (long long)secs / 60,
		    (long long)secs % 60);
	else if (secs < 86400)
		snprintf(buf, size, "%lldh%02lldm", (long long)secs / 3600,
		    (long long)(secs % 3600) / 60);
	else
		snprintf(buf, size, "%lldd%02lldh", (long long)secs / 86400,
		    (long long)(secs % 86400) / 3600);
}

static void
user_text(uint64_t uid, char *buf, size_t size)
{
	struct passwd *pw;

	if (uid > UINT32_MAX - 1) {
		util_strlcpy(buf, "-", size);
		return;
	}
	pw = getpwuid((uid_t)uid);
	if (pw != NULL)
		util_strlcpy(buf, pw->pw_name, size);
	else
		snprintf(buf, size, "%llu", (unsigned long long)uid);
}

/* Display width of UTF-8 text, counted in code points. */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((uint8_t)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
print_padded(const char *s, size_t width, bool last)
{
	size_t w = text_width(s);

	fputs(s, stdout);
	if (!last)
		for (; w < width + 2; w++)
			fputc(' ', stdout);
}

/* ---------------------------------------------------------- /proc */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Find which process holds each socket inode: pids[i] for inodes[i]
 * (sorted), -1 where not found (or /proc is not readable to us).
 */
static void
find_pids(const uint64_t *inodes, long *pids, size_t n)
{
	DIR *proc, *fds;
	struct dirent *p, *fd;
	char path[PATH_MAX], link[64];
	size_t i;

	for (i = 0; i < n; i++)
		pids[i] = -1;
	if (n == 0 || (proc = opendir("/proc")) == NULL)
		return;
	while ((p = readdir(proc)) != NULL) {
		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		if ((fds = opendir(path)) == NULL)
			continue;
		while ((fd = readdir(fds)) != NULL) {
			unsigned long long ino;
			uint64_t key;
			const uint64_t *hit;
			ssize_t len;

			if (fd->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
			    p->d_name, fd->d_name);
			len = readlink(path, link, sizeof(link) - 1);
			if (len <= 0)
				continue;
			link[len] = '\0';
			if (sscanf(link, "socket:[%llu]", &ino) != 1)
				continue;
			key = ino;
			hit = bsearch(&key, inodes, n, sizeof(*inodes),
			    cmp_u64);
			if (hit != NULL && pids[hit - inodes] < 0)
				pids[hit - inodes] = strtol(p->d_name, NULL, 10);
		}
		closedir(fds);
	}
	closedir(proc);
}

/* ---------------------------------------------------------- control */

struct ctl_conn {
	int fd;
	uint8_t buf[CTL_MAX_MESSAGE];
	size_t len;
	size_t off;
};

static int
ctl_connect(struct ctl_conn *c)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (util_strlcpy(sun.sun_path, G.path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		warnx_("%s: path too long", G.path);
		return -1;
	}
	c->len = c->off = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		warnx_("cannot reach epmdd at %s: %s%s", G.path, strerror(e),
		    e == EACCES ? " (join the socket's group, or use sudo)"
				: "");
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/*
 * Write it all.  0, -EPIPE when the daemon has closed (quietly: it may
 * have said why first, see ctl_request), or -1 after a message.
 */
static int
ctl_send(struct ctl_conn *c, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(c->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return -EPIPE;
		if (n <= 0) {
			warnx_("%s: write: %s", G.path, strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Next message.  Returns 1 with *m, 0 if the daemon closed, -1 on a
 * bad message, a timeout (timeout_ms >= 0) or an interruption.
 */
static int
ctl_next(struct ctl_conn *c, struct ctl_msg *m, int timeout_ms)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		ssize_t n = ctlproto_decode(c->buf + c->off, c->len - c->off,
		    m);

		if (n > 0) {
			c->off += (size_t)n;
			return 1;
		}
		if (n < 0) {
			warnx_("bad message from the daemon: %s%s",
			    strerror((int)-n),
			    n == -EPROTO ? " (epmdd and epmdctl versions "
					   "differ)"
					 : "");
			return -1;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (interrupted)
			return -1;
		n = poll(&pfd, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			warnx_("no answer from epmdd within %d s",
			    timeout_ms / 1000);
			return -1;
		}
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		c->len += (size_t)n;
	}
}

static const char *
error_name(uint64_t code)
{
	switch (code) {
	case CTL_ERR_PERMISSION:
		return "permission_denied";
	case CTL_ERR_NOT_FOUND:
		return "not_found";
	case CTL_ERR_BAD_REQUEST:
		return "bad_request";
	case CTL_ERR_VERSION:
		return "version_mismatch";
	case CTL_ERR_UNSUPPORTED:
		return "unsupported";
	case CTL_ERR_BUSY:
		return "busy";
	case CTL_ERR_CONFIG:
		return "invalid_config";
	default:
		return "internal";
	}
}

/* Report a CTL_ERROR; returns the exit status for it. */
static int
report_error(const char *what, const struct ctl_msg *m)
{
	char msg[512];
	uint64_t code = ctlproto_u64(m, "code", CTL_ERR_INTERNAL);

	ctlproto_str(m, "message", msg, sizeof(msg));
	if (G.json) {
		printf("{\"ok\":false,\"error\":\"%s\",\"message\":",
		    error_name(code));
		json_str(stdout, msg);
		printf("}\n");
		G.json_failure_done = true;
	}
	warnx_("%s: %s", what, msg);
	return EXIT_FAIL;
}

/*
 * With --json, a command that failed without a document of its own (the
 * daemon or host unreachable, no answer) still prints one, built from
 * its exit status and the warning it wrote to standard error.
 */
static void
json_failure(int status)
{
	if (!G.json || status == EXIT_OK || G.json_failure_done)
		return;
	printf("{\"ok\":false,\"error\":\"%s\",\"message\":",
	    status == EXIT_UNREACHABLE ? "unreachable"
	    : status == EXIT_USAGE     ? "usage"
				       : "failed");
	json_str(stdout, G.last_warning);
	printf("}\n");
}

/* Send a request with no fields (or one bytes field) and connect first. */
static int
ctl_request(struct ctl_conn *c, uint8_t type, const char *key,
    const char *value)
{
	uint8_t out[CTL_MAX_REQUEST];
	struct wbuf w;
	size_t start;

	if (ctl_connect(c) < 0)
		return EXIT_UNREACHABLE;
	wbuf_init(&w, out, sizeof(out));
	if (ctlproto_begin(&w, type, &start) < 0 ||
	    (key != NULL && ctlproto_put_str(&w, key, value) < 0) ||
	    ctlproto_end(&w, start) < 0) {
		warnx_("request too large");
		return EXIT_USAGE;
	}
	/* A daemon that refuses the connection (too many clients) sends
	 * an error and closes, maybe before the request is out: the
	 * caller's read then finds the error, or the close. */
	if (ctl_send(c, out, w.len) == -1)
		return EXIT_UNREACHABLE;
	return EXIT_OK;
}

/*
 * The next message of the answer to a request for what: 1 with *m; else
 * 0 with the exit status in *status (the daemon gone or silent:
 * unreachable; an error message: reported).
 */
static int
answer_next(struct ctl_conn *c, struct ctl_msg *m, const char *what,
    int *status)
{
	int r = ctl_next(c, m, EPMDCTL_TIMEOUT * 1000);

	if (r <= 0) {
		if (r == 0)
			warnx_("epmdd closed the connection");
		*status = EXIT_UNREACHABLE;
		return 0;
	}
	if (m->type == CTL_ERROR) {
		*status = report_error(what, m);
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------- names */

struct row {
	struct ctl_msg m; /* fields point into data */
	uint8_t *data;
};

/*
 * The ownership rule covering a node, for the RULE column: "rabbit*
 * (line 7)", with a warning when the holder is not one the rule allows
 * (it registered before a reload).  False (and "-") when none does.
 */
static bool
rule_cell(const struct ctl_msg *m, char *buf, size_t size)
{
	const struct ctl_field *f = ctlproto_find(m, "owner_rule");
	char pattern[64]; /* a long one is cut (JSON has it whole) */

	if (f == NULL || f->kind != CTL_BYTES) {
		util_strlcpy(buf, "-", size);
		return false;
	}
	safe_text(f->p, f->len, pattern, sizeof(pattern));
	snprintf(buf, size, "%s (line %llu%s)", pattern,
	    (unsigned long long)ctlproto_u64(m, "owner_rule_line", 0),
	    ctlproto_u64(m, "owner_allowed", 1) ? ""
						 : ", holder not allowed");
	return true;
}

/* JSON strings for the words of a bytes field ("a b c"). */
static void
json_words(const struct ctl_msg *m, const char *key, bool *first)
{
	char text[CTL_MAX_VALUE + 1], *tok, *save = NULL;

	ctlproto_str(m, key, text, sizeof(text));
	for (tok = strtok_r(text, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		printf("%s", *first ? "" : ",");
		json_str(stdout, tok);
		*first = false;
	}
}

/* ,"owner_rule":{...} or null. */
static void
json_owner_rule(const struct ctl_msg *m)
{
	const struct ctl_field *f = ctlproto_find(m, "owner_rule");
	bool first = true;

	if (f == NULL || f->kind != CTL_BYTES) {
		printf(",\"owner_rule\":null");
		return;
	}
	printf(",\"owner_rule\":{\"pattern\":");
	json_bytes(stdout, f->p, f->len);
	printf(",\"line\":%llu,\"owners\":[",
	    (unsigned long long)ctlproto_u64(m, "owner_rule_line", 0));
	json_words(m, "owner_ids", &first);
	printf("],\"holder_allowed\":%s}",
	    ctlproto_u64(m, "owner_allowed", 0) ? "true" : "false");
}

static int
print_nodes(struct row *rows, size_t n)
{
	static const char *const head[] = { "NAME", "PORT", "TYPE", "PROTO",
		"VERSIONS", "CREATION", "REGISTERED", "OWNER", "RULE" };
	enum { NCOL = 9 };
	char (*cells)[NCOL][128];
	uint64_t *inodes;
	long *pids;
	size_t width[NCOL], i, k, ni = 0, ncol = NCOL - 1;
	time_t now = time(NULL);

	cells = calloc(n + 1, sizeof(*cells));
	inodes = calloc(n + 1, sizeof(*inodes));
	pids = calloc(n + 1, sizeof(*pids));
	if (cells == NULL || inodes == NULL || pids == NULL) {
		warnx_("out of memory");
		free(cells);
		free(inodes);
		free(pids);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		if ((inodes[ni] = ctlproto_u64(&rows[i].m, "inode", 0)) != 0)
			ni++;
	qsort(inodes, ni, sizeof(*inodes), cmp_u64);
	find_pids(inodes, pids, ni);

	for (i = 0; i < n; i++) {
		const struct ctl_msg *m = &rows[i].m;
		const struct ctl_field *name = ctlproto_find(m, "name");
		uint64_t hv = ctlproto_u64(m, "highest_version", 0);
		uint64_t lv = ctlproto_u64(m, "lowest_version", 0);
		uint64_t proto = ctlproto_u64(m, "protocol", 0);
		uint64_t ino = ctlproto_u64(m, "inode", 0);
		char user[64];
		const uint64_t *hit;

		safe_text(name->p, name->len, cells[i][0],
		    sizeof(cells[i][0]));
		snprintf(cells[i][1], 128, "%llu",
		    (unsigned long long)ctlproto_u64(m, "port", 0));
		type_text(ctlproto_u64(m, "type", 0), cells[i][2], 128);
		proto_text(proto, cells[i][3], 128);
		versions_text(lv, hv, cells[i][4], 128);
		snprintf(cells[i][5], 128, "%llu",
		    (unsigned long long)ctlproto_u64(m, "creation", 0));
		duration_text((int64_t)now -
			(int64_t)ctlproto_u64(m, "registered_at", 0),
		    cells[i][6], 128);
		user_text(ctlproto_u64(m, "uid", UINT32_MAX), user,
		    sizeof(user));
		hit = ino != 0 ? bsearch(&ino, inodes, ni, sizeof(*inodes),
				     cmp_u64)
			       : NULL;
		if (hit != NULL && pids[hit - inodes] > 0)
			snprintf(cells[i][7], 128, "%s (pid %ld)", user,
			    pids[hit - inodes]);
		else
			util_strlcpy(cells[i][7], user, 128);
		/* The ownership rule column, only when a rule covers a node. */
		if (rule_cell(m, cells[i][8], 128))
			ncol = NCOL;
	}

	if (G.json) {
		printf("{\"count\":%zu,\"nodes\":[", n);
		for (i = 0; i < n; i++) {
			const struct ctl_msg *m = &rows[i].m;
			const struct ctl_field *f = ctlproto_find(m, "name");
			const struct ctl_field *ex = ctlproto_find(m, "extra");
			uint64_t uid = ctlproto_u64(m, "uid", UINT32_MAX);
			uint64_t ino = ctlproto_u64(m, "inode", 0);
			const uint64_t *hit = ino != 0
			    ? bsearch(&ino, inodes, ni, sizeof(*inodes),
				  cmp_u64)
			    : NULL;
			char peer[128], user[64];

			printf("%s{\"name\":", i ? "," : "");
			json_bytes(stdout, f->p, f->len);
			printf(",\"port\":%llu,\"type\":\"%s\","
			       "\"type_code\":%llu,\"protocol\":%llu,"
			       "\"highest_version\":%llu,"
			       "\"lowest_version\":%llu,\"creation\":%llu,"
			       "\"extra\":",
			    (unsigned long long)ctlproto_u64(m, "port", 0),
			    type_name(ctlproto_u64(m, "type", 0)),
			    (unsigned long long)ctlproto_u64(m, "type", 0),
			    (unsigned long long)ctlproto_u64(m, "protocol", 0),
			    (unsigned long long)ctlproto_u64(m,
				"highest_version", 0),
			    (unsigned long long)ctlproto_u64(m,
				"lowest_version", 0),
			    (unsigned long long)ctlproto_u64(m, "creation",
				0));
			json_hex(stdout, ex != NULL ? ex->p : NULL,
			    ex != NULL ? ex->len : 0);
			printf(",\"registered_at\":%llu,"
			       "\"registered_seconds\":%lld,\"peer\":",
			    (unsigned long long)ctlproto_u64(m,
				"registered_at", 0),
			    (long long)((int64_t)now -
				(int64_t)ctlproto_u64(m, "registered_at", 0)));
			json_str(stdout, ctlproto_str(m, "peer", peer,
					     sizeof(peer)));
			if (uid > UINT32_MAX - 1)
				printf(",\"uid\":null,\"user\":null");
			else {
				user_text(uid, user, sizeof(user));
				printf(",\"uid\":%llu,\"user\":",
				    (unsigned long long)uid);
				json_str(stdout, user);
			}
			if (hit != NULL && pids[hit - inodes] > 0)
				printf(",\"pid\":%ld", pids[hit - inodes]);
			else
				printf(",\"pid\":null");
			json_owner_rule(m);
			putchar('}');
		}
		printf("]}\n");
	} else {
		for (k = 0; k < ncol; k++) {
			width[k] = text_width(head[k]);
			for (i = 0; i < n; i++)
				width[k] = UTIL_MAX(width[k],
				    text_width(cells[i][k]));
		}
		for (k = 0; k < ncol; k++)
			print_padded(head[k], width[k], k == ncol - 1);
		putchar('\n');
		for (i = 0; i < n; i++) {
			for (k = 0; k < ncol; k++)
				print_padded(cells[i][k], width[k],
				    k == ncol - 1);
			putchar('\n');
		}
	}
	free(cells);
	free(inodes);
	free(pids);
	return EXIT_OK;
}

static int
cmd_names_ctl(void)
{
	static struct ctl_conn c;
	struct row *rows = NULL;
	size_t n = 0, cap = 0, i;
	struct ctl_msg m;
	int r, status = EXIT_FAIL;

	if ((r = ctl_request(&c, CTL_NAMES, NULL, NULL)) != EXIT_OK)
		return r;
	while (answer_next(&c, &m, "names", &status)) {
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
				warnx_("out of memory");
				break;
			}
			rows = nr;
		}
		/* Keep the message bytes: the fields point into them. */
		rows[n].data = malloc(CTL_HEADER_SIZE + m.length);
		if (rows[n].data == NULL) {
			warnx_("out of memory");
			break;
		}
		memcpy(rows[n].data, c.buf + c.off - CTL_HEADER_SIZE - m.length,
		    CTL_HEADER_SIZE + m.length);
		ctlproto_decode(rows[n].data, CTL_HEADER_SIZE + m.length,
		    &rows[n].m);
		n++;
	}
	for (i = 0; i < n; i++)
		free(rows[i].data);
	free(rows);
	close(c.fd);
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
	bool first = true;

	buf = malloc(EPMDCTL_MAX_NAMES + 1);
	if (buf == NULL) {
		warnx_("out of memory");
		return EXIT_FAIL;
	}
	wbuf_init(&w, req, sizeof(req));
	codec_put_simple_req(&w, CODEC_NAMES_REQ);
	n = netio_exchange(G.host, (uint16_t)G.port, req, w.len, buf,
	    EPMDCTL_MAX_NAMES, EPMDCTL_TIMEOUT * 1000, err, sizeof(err));
	if (n < 4) {
		if (n >= 0)
			snprintf(err, sizeof(err), "short NAMES answer from %s "
			    "port %u", G.host, G.port);
		warnx_("%s", err);
		free(buf);
		return EXIT_UNREACHABLE;
	}
	port = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	buf[n] = '\0';
	if (G.json) {
		printf("{\"host\":");
		json_str(stdout, G.host);
		printf(",\"port\":%u,\"epmd_port\":%u,\"nodes\":[", G.port,
		    port);
	}
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
		if (G.json) {
			printf("%s{\"name\":", first ? "" : ",");
			json_str(stdout, line + 5);
			printf(",\"port\":%lu}", p);
		} else {
			safe_text((const uint8_t *)line + 5, strlen(line + 5),
			    shown, sizeof(shown));
			printf("%-20s %lu\n", shown, p);
		}
		first = false;
	}
	if (G.json)
		printf("]}\n");
	free(buf);
	return EXIT_OK;
}

static int
cmd_names(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return G.host != NULL ? cmd_names_tcp() : cmd_names_ctl();
}

/* ---------------------------------------------------------- lookup */

static int
cmd_lookup(int argc, char **argv)
{
	const char *name = argv[0], *host = G.host ? G.host : "localhost";
	uint8_t req[CODEC_MAX_BODY + 2], ans[CODEC_MAX_PORT2_RESP];
	struct codec_port2 p;
	struct wbuf w;
	char type[32], proto[32], versions[48], err[256],
	    shown[CODEC_MAX_NAME_BYTES * 4 + 1];
	long n;

	(void)argc;
	wbuf_init(&w, req, sizeof(req));
	if (codec_put_port2_req(&w, (const uint8_t *)name, strlen(name)) < 0) {
		warnx_("%s: name too long", name);
		return EXIT_USAGE;
	}
	n = netio_exchange(host, (uint16_t)G.port, req, w.len, ans,
	    sizeof(ans), EPMDCTL_TIMEOUT * 1000, err, sizeof(err));
	if (n < 0) {
		warnx_("%s", err);
		return EXIT_UNREACHABLE;
	}
	if (n == 0 || codec_parse_port2_resp(ans, (size_t)n, &p) <= 0) {
		warnx_("%s port %u closed without an answer for \"%s\" (not a"
		       " valid name?)",
		    host, G.port, name);
		return EXIT_FAIL;
	}
	if (p.result != 0) {
		if (G.json) {
			printf("{\"name\":");
			json_str(stdout, name);
			printf(",\"found\":false}\n");
			G.json_failure_done = true;
		}
		warnx_("%s: not registered at %s port %u", name, host, G.port);
		return EXIT_FAIL;
	}
	type_text(p.type, type, sizeof(type));
	proto_text(p.proto, proto, sizeof(proto));
	versions_text(p.lv, p.hv, versions, sizeof(versions));
	safe_text(p.name, p.nlen, shown, sizeof(shown));
	if (G.json) {
		printf("{\"name\":");
		json_bytes(stdout, p.name, p.nlen);
		printf(",\"found\":true,\"port\":%u,\"type\":\"%s\","
		       "\"type_code\":%u,\"protocol\":%u,"
		       "\"highest_version\":%u,\"lowest_version\":%u,"
		       "\"extra\":",
		    p.port, type_name(p.type), p.type, p.proto, p.hv, p.lv);
		json_hex(stdout, p.extra, p.elen);
		printf("}\n");
	} else
		printf("%s port %u type %s proto %s versions %s extra %u "
		       "bytes\n",
		    shown, p.port, type, proto, versions, p.elen);
	return EXIT_OK;
}

/* ---------------------------------------------------------- status */

static void
print_status_json(const struct ctl_msg *m)
{
	size_t i;

	putchar('{');
	for (i = 0; i < m->nfields; i++) {
		const struct ctl_field *f = &m->fields[i];

		printf("%s", i ? "," : "");
		json_bytes(stdout, (const uint8_t *)f->key, f->klen);
		putchar(':');
		if ((f->klen == 7 && memcmp(f->key, "relaxed", 7) == 0) ||
		    (f->klen == 12 && memcmp(f->key, "policy_saved", 12) == 0))
			printf("%s", f->u ? "true" : "false");
		else if (f->klen == 6 && memcmp(f->key, "listen", 6) == 0) {
			char list[CTL_MAX_VALUE + 1], *tok, *save = NULL;
			bool first = true;

			memcpy(list, f->p, f->len);
			list[f->len] = '\0';
			putchar('[');
			for (tok = strtok_r(list, " ", &save); tok != NULL;
			     tok = strtok_r(NULL, " ", &save)) {
				printf("%s", first ? "" : ",");
				json_str(stdout, tok);
				first = false;
			}
			putchar(']');
		} else if (f->kind == CTL_U64)
			printf("%llu", (unsigned long long)f->u);
		else
			json_bytes(stdout, f->p, f->len);
	}
	printf("}\n");
}

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
	uint64_t ar = ctlproto_u64(m, "policy_access_rules", 0);
	uint64_t or = ctlproto_u64(m, "policy_owner_rules", 0);

	ctlproto_str(m, "policy_source", source, sizeof(source));
	ctlproto_str(m, "policy_error", error, sizeof(error));
	if (source[0] == '\0' && error[0] == '\0')
		return;
	duration_text((int64_t)time(NULL) -
		(int64_t)ctlproto_u64(m, "policy_loaded_at", 0),
	    age, sizeof(age));
	if (source[0] == '\0')
		printf("%-15snone (OTP's rules)\n", "policy");
	else
		printf("%-15s%s%s, loaded %s ago: %llu access rule%s, %llu "
		       "ownership rule%s\n",
		    "policy", source,
		    ctlproto_u64(m, "policy_saved", 0) ? " (as saved by the "
							 "previous process)"
						       : "",
		    age, (unsigned long long)ar, ar == 1 ? "" : "s",
		    (unsigned long long)or, or == 1 ? "" : "s");
	if (error[0] != '\0')
		printf("%-15slast load failed: %s\n", "", error);
	print_group(m, "access refused", "access_refused_");
	printf("%-15s%llu\n", "not owner",
	    (unsigned long long)ctlproto_u64(m, "owner_refused", 0));
}

static void
print_status(const struct ctl_msg *m)
{
	char version[128], listen[CTL_MAX_VALUE + 1], control[256], up[32];

	duration_text((int64_t)ctlproto_u64(m, "uptime", 0), up, sizeof(up));
	printf("epmdd %s, pid %llu, up %s\n",
	    ctlproto_str(m, "version", version, sizeof(version)),
	    (unsigned long long)ctlproto_u64(m, "pid", 0), up);
	printf("%-15s%s\n", "listening",
	    ctlproto_str(m, "listen", listen, sizeof(listen)));
	printf("%-15s%s\n", "control",
	    ctlproto_str(m, "control", control, sizeof(control)));
	printf("%-15srelaxed command check %s, packet timeout %llu s\n",
	    "settings", ctlproto_u64(m, "relaxed", 0) ? "on" : "off",
	    (unsigned long long)ctlproto_u64(m, "packet_timeout", 0));
	printf("%-15s%llu registered, %llu old names remembered\n", "nodes",
	    (unsigned long long)ctlproto_u64(m, "nodes", 0),
	    (unsigned long long)ctlproto_u64(m, "old_names", 0));
	printf("%-15s%llu\n", "registrations",
	    (unsigned long long)ctlproto_u64(m, "registrations", 0));
	print_group(m, "unregistered", "unregistered_");
	printf("%-15shit %llu, miss %llu\n", "lookups",
	    (unsigned long long)ctlproto_u64(m, "lookups_hit", 0),
	    (unsigned long long)ctlproto_u64(m, "lookups_miss", 0));
	printf("%-15snames %llu, dump %llu, kill %llu, stop %llu\n",
	    "requests",
	    (unsigned long long)ctlproto_u64(m, "names_requests", 0),
	    (unsigned long long)ctlproto_u64(m, "dump_requests", 0),
	    (unsigned long long)ctlproto_u64(m, "kill_requests", 0),
	    (unsigned long long)ctlproto_u64(m, "stop_requests", 0));
	print_group(m, "refused", "refused_");
	print_policy_status(m);
	printf("%-15s%llu now, %llu peak, %llu limit; %llu accepted, %llu "
	       "accept errors\n",
	    "connections",
	    (unsigned long long)ctlproto_u64(m, "connections", 0),
	    (unsigned long long)ctlproto_u64(m, "connections_peak", 0),
	    (unsigned long long)ctlproto_u64(m, "connections_limit", 0),
	    (unsigned long long)ctlproto_u64(m, "accepted", 0),
	    (unsigned long long)ctlproto_u64(m, "accept_errors", 0));
}

static int
cmd_status(int argc, char **argv)
{
	static struct ctl_conn c;
	struct ctl_msg m;
	int r;

	(void)argc;
	(void)argv;
	if ((r = ctl_request(&c, CTL_STATUS, NULL, NULL)) != EXIT_OK)
		return r;
	r = ctl_next(&c, &m, EPMDCTL_TIMEOUT * 1000);
	close(c.fd);
	if (r <= 0) {
		if (r == 0)
			warnx_("epmdd closed the connection");
		return EXIT_UNREACHABLE;
	}
	if (m.type == CTL_ERROR)
		return report_error("status", &m);
	if (m.type != CTL_STATUS_REPLY) {
		warnx_("unexpected %s reply", ctlproto_type_name(m.type));
		return EXIT_FAIL;
	}
	if (G.json)
		print_status_json(&m);
	else
		print_status(&m);
	return EXIT_OK;
}

/* ---------------------------------------------------------- stop etc. */

/* A request answered by CTL_OK or CTL_ERROR. */
static int
simple(const char *what, uint8_t type, const char *key, const char *value,
    const char *done)
{
	static struct ctl_conn c;
	struct ctl_msg m;
	int r;

	if ((r = ctl_request(&c, type, key, value)) != EXIT_OK)
		return r;
	r = ctl_next(&c, &m, EPMDCTL_TIMEOUT * 1000);
	close(c.fd);
	if (r <= 0) {
		if (r == 0)
			warnx_("epmdd closed the connection");
		return EXIT_UNREACHABLE;
	}
	if (m.type == CTL_ERROR)
		return report_error(what, &m);
	if (G.json)
		printf("{\"ok\":true}\n");
	else
		printf("%s\n", done);
	return EXIT_OK;
}

static int
cmd_stop(int argc, char **argv)
{
	char done[300];

	(void)argc;
	snprintf(done, sizeof(done), "stopped %s", argv[0]);
	return simple(argv[0], CTL_STOP, "name", argv[0], done);
}

static int
cmd_shutdown(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return simple("shutdown", CTL_SHUTDOWN, NULL, NULL,
	    "epmdd is shutting down");
}

static int
cmd_upgrade(int argc, char **argv)
{
	return simple("upgrade", CTL_UPGRADE, argc > 0 ? "path" : NULL,
	    argc > 0 ? argv[0] : NULL, "epmdd is re-executing itself");
}

static int
cmd_reload(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return simple("reload", CTL_RELOAD, NULL, NULL,
	    "epmdd reloaded its configuration");
}

/* ---------------------------------------------------------- policy */

/* "line 3", "-allow", "default: OTP's rule". */
static void
origin_note(const char *origin, uint64_t line, char *buf, size_t size)
{
	if (strcmp(origin, "file") == 0)
		snprintf(buf, size, "line %llu", (unsigned long long)line);
	else if (strcmp(origin, "option") == 0)
		util_strlcpy(buf, "-allow", size);
	else
		util_strlcpy(buf, "default: OTP's rule", size);
}

static void
policy_head(const struct ctl_msg *m)
{
	char source[CTL_MAX_VALUE + 1], file[CTL_MAX_VALUE + 1],
	    error[CTL_MAX_VALUE + 1], when[48];

	ctlproto_str(m, "source", source, sizeof(source));
	ctlproto_str(m, "file", file, sizeof(file));
	ctlproto_str(m, "error", error, sizeof(error));
	if (G.json) {
		printf("{\"source\":");
		json_str(stdout, source);
		printf(",\"file\":");
		json_str(stdout, file);
		printf(",\"configured\":%s,\"saved\":%s,\"loaded_at\":%llu,"
		       "\"loads\":%llu,\"load_failures\":%llu,\"error\":",
		    ctlproto_u64(m, "configured", 0) ? "true" : "false",
		    ctlproto_u64(m, "saved", 0) ? "true" : "false",
		    (unsigned long long)ctlproto_u64(m, "loaded_at", 0),
		    (unsigned long long)ctlproto_u64(m, "loads", 0),
		    (unsigned long long)ctlproto_u64(m, "load_failures", 0));
		if (error[0] != '\0')
			json_str(stdout, error);
		else
			printf("null");
		printf(",\"access\":{");
		return;
	}
	iso_time(ctlproto_u64(m, "loaded_at", 0) * 1000, when, sizeof(when));
	if (!ctlproto_u64(m, "configured", 0) && ctlproto_u64(m, "saved", 0))
		printf("# no configuration, as the previous process had none: "
		       "OTP's rules\n");
	else if (!ctlproto_u64(m, "configured", 0))
		printf("# no configuration%s%s%s: OTP's rules\n",
		    file[0] ? " (" : "", file, file[0] ? " absent)" : "");
	else if (ctlproto_u64(m, "saved", 0))
		printf("# the policy in force: %s as the previous process had "
		       "it, since %s\n",
		    source, when);
	else
		printf("# the policy in force: %s, loaded %s\n", source, when);
	if (error[0] != '\0')
		printf("# the last load failed, this stayed in force: %s\n",
		    error);
}

/*
 * One rule: a configuration line, or its part of the JSON document.
 * Rules come in order: each access kind (a long list in several
 * pieces), then the ownership rules.  *state: the kind being written
 * ("" before the first), "owner" once the owners have begun.
 */
static void
policy_rule(const struct ctl_msg *m, char *state, size_t size)
{
	const struct ctl_field *rule = ctlproto_find(m, "rule");
	char kind[16], origin[16], note[48],
	    owners[POLICY_MAX_IDS * (POLICY_MAX_ID_NAME + 8) + 1],
	    shown[CODEC_MAX_NAME_BYTES * 4 + 1],
	    line[sizeof(owners) + CTL_MAX_VALUE * 4 + 32];
	uint64_t lineno = ctlproto_u64(m, "line", 0);
	bool owner, first;
	size_t i, len = 0;

	ctlproto_str(m, "kind", kind, sizeof(kind));
	ctlproto_str(m, "origin", origin, sizeof(origin));
	owner = strcmp(kind, "owner") == 0;
	owners[0] = '\0';
	for (i = 0; i < m->nfields; i++) {
		const struct ctl_field *o = &m->fields[i];

		if (o->kind != CTL_BYTES || o->klen != 5 ||
		    memcmp(o->key, "owner", 5) != 0 ||
		    len + o->len + 2 > sizeof(owners))
			continue;
		if (len > 0)
			owners[len++] = ' ';
		memcpy(owners + len, o->p, o->len);
		len += o->len;
		owners[len] = '\0';
	}
	if (!G.json) {
		safe_text(rule->p, rule->len, shown, sizeof(shown));
		origin_note(origin, lineno, note, sizeof(note));
		snprintf(line, sizeof(line), "%s %s%s%s", kind, shown,
		    owners[0] ? " " : "", owners);
		printf("%-40s # %s\n", line, note);
		return;
	}
	if (owner) {
		if (strcmp(state, "owner") != 0) {
			printf("%s},\"owners\":[", state[0] ? "]}" : "");
			util_strlcpy(state, "owner", size);
		} else
			putchar(',');
		printf("{\"pattern\":");
		json_bytes(stdout, rule->p, rule->len);
		printf(",\"line\":%llu,\"owners\":[",
		    (unsigned long long)lineno);
		/* One "owner" field per user or group. */
		for (i = 0, first = true; i < m->nfields; i++) {
			const struct ctl_field *o = &m->fields[i];

			if (o->kind != CTL_BYTES || o->klen != 5 ||
			    memcmp(o->key, "owner", 5) != 0)
				continue;
			printf("%s", first ? "" : ",");
			json_bytes(stdout, o->p, o->len);
			first = false;
		}
		printf("]}");
		return;
	}
	if (strcmp(state, kind) != 0) {
		/* A new kind: its origin and line, then its entries. */
		printf("%s\"%s\":{\"origin\":", state[0] ? "]}," : "", kind);
		json_str(stdout, origin);
		if (strcmp(origin, "file") == 0)
			printf(",\"line\":%llu,\"entries\":[",
			    (unsigned long long)lineno);
		else
			printf(",\"line\":null,\"entries\":[");
		util_strlcpy(state, kind, size);
		first = true;
	} else
		first = false;
	json_words(m, "rule", &first);
}

/* epmdctl policy: the policy in force, as a configuration file. */
static int
show_policy(void)
{
	static struct ctl_conn c;
	struct ctl_msg m;
	char state[16] = "";
	bool have_head = false;
	int r, status = EXIT_FAIL;

	if ((r = ctl_request(&c, CTL_POLICY, NULL, NULL)) != EXIT_OK)
		return r;
	while (answer_next(&c, &m, "policy", &status)) {
		if (m.type == CTL_POLICY_REPLY && !have_head) {
			policy_head(&m);
			have_head = true;
		} else if (m.type == CTL_POLICY_RULE && have_head)
			policy_rule(&m, state, sizeof(state));
		else if (m.type == CTL_END && have_head) {
			if (G.json)
				printf("%s%s]}\n",
				    strcmp(state, "owner") == 0 ? ""
				    : state[0]		      ? "]}},\"owners\":["
							      : "},\"owners\":[",
				    "");
			status = EXIT_OK;
			break;
		}
	}
	close(c.fd);
	return status;
}

/* epmdctl policy test ADDR REQUEST [NAME] [--uid U] */
static int
test_policy(int argc, char **argv)
{
	static struct ctl_conn c;
	uint8_t out[CTL_MAX_REQUEST];
	const char *name = argc > 2 ? argv[2] : NULL;
	char kind[16], addr[64], rule[CODEC_MAX_NAME_BYTES * 4 + 1],
	    ids[CTL_MAX_VALUE + 1], entry[64], origin[16], user[64],
	    shown[CODEC_MAX_NAME_BYTES * 4 + 1];
	unsigned long long uid = UINT32_MAX;
	const struct ctl_field *f;
	struct ctl_msg m;
	struct wbuf w;
	size_t start;
	bool allowed;
	int r;

	if (G.uid != NULL) {
		struct passwd *pw;

		if (util_parse_uint(G.uid, 0, UINT32_MAX - 1, &uid) < 0) {
			if ((pw = getpwnam(G.uid)) == NULL) {
				warnx_("--uid: no user \"%s\"", G.uid);
				return EXIT_USAGE;
			}
			uid = pw->pw_uid;
		}
	}
	if (ctl_connect(&c) < 0)
		return EXIT_UNREACHABLE;
	wbuf_init(&w, out, sizeof(out));
	if (ctlproto_begin(&w, CTL_POLICY_TEST, &start) < 0 ||
	    ctlproto_put_str(&w, "address", argv[0]) < 0 ||
	    ctlproto_put_str(&w, "request", argv[1]) < 0 ||
	    (name != NULL && ctlproto_put_str(&w, "name", name) < 0) ||
	    (uid < UINT32_MAX && ctlproto_put_u64(&w, "uid", uid) < 0) ||
	    ctlproto_end(&w, start) < 0) {
		warnx_("request too large");
		close(c.fd);
		return EXIT_USAGE;
	}
	if (ctl_send(&c, out, w.len) == -1) {
		close(c.fd);
		return EXIT_UNREACHABLE;
	}
	r = ctl_next(&c, &m, EPMDCTL_TIMEOUT * 1000);
	close(c.fd);
	if (r <= 0) {
		if (r == 0)
			warnx_("epmdd closed the connection");
		return EXIT_UNREACHABLE;
	}
	if (m.type == CTL_ERROR) {
		r = report_error("policy test", &m);
		/* A request the daemon cannot read is a usage error. */
		return ctlproto_u64(&m, "code", 0) == CTL_ERR_BAD_REQUEST
		    ? EXIT_USAGE
		    : r;
	}
	if (m.type != CTL_VERDICT) {
		warnx_("unexpected %s reply", ctlproto_type_name(m.type));
		return EXIT_FAIL;
	}
	allowed = ctlproto_u64(&m, "allowed", 0) != 0;
	ctlproto_str(&m, "kind", kind, sizeof(kind));
	ctlproto_str(&m, "address", addr, sizeof(addr));
	ctlproto_str(&m, "access_entry", entry, sizeof(entry));
	ctlproto_str(&m, "access_origin", origin, sizeof(origin));
	f = ctlproto_find(&m, "owner_rule");
	if (G.json) {
		printf("{\"allowed\":%s,\"kind\":\"%s\",\"address\":",
		    allowed ? "true" : "false", kind);
		json_str(stdout, addr);
		printf(",\"local\":%s,\"access\":{\"allowed\":%s,"
		       "\"mode\":",
		    ctlproto_u64(&m, "local", 0) ? "true" : "false",
		    ctlproto_u64(&m, "access_allowed", 0) ? "true" : "false");
		json_str(stdout, ctlproto_str(&m, "access_mode", ids,
				     sizeof(ids)));
		printf(",\"origin\":");
		json_str(stdout, origin);
		if (strcmp(origin, "file") == 0)
			printf(",\"line\":%llu",
			    (unsigned long long)ctlproto_u64(&m, "access_line",
				0));
		else
			printf(",\"line\":null");
		printf(",\"entry\":");
		if (entry[0] != '\0')
			json_str(stdout, entry);
		else
			printf("null");
		printf("},\"name\":");
		if (name != NULL)
			json_str(stdout, name);
		else
			printf("null");
		if (ctlproto_find(&m, "uid") != NULL)
			printf(",\"uid\":%llu",
			    (unsigned long long)ctlproto_u64(&m, "uid", 0));
		else
			printf(",\"uid\":null");
		printf(",\"owner_rule\":");
		if (f == NULL)
			printf("null");
		else {
			bool first = true;

			printf("{\"pattern\":");
			json_bytes(stdout, f->p, f->len);
			printf(",\"line\":%llu,\"allowed\":%s,\"owners\":[",
			    (unsigned long long)ctlproto_u64(&m, "owner_line",
				0),
			    ctlproto_u64(&m, "owner_allowed", 0) ? "true"
								  : "false");
			json_words(&m, "owner_ids", &first);
			printf("]}");
		}
		printf("}\n");
		G.json_failure_done = true;
		return allowed ? EXIT_OK : EXIT_FAIL;
	}
	if (name != NULL)
		safe_text((const uint8_t *)name, strlen(name), shown,
		    sizeof(shown));
	printf("%s: %s%s%s from %s (%s)", allowed ? "allowed" : "refused",
	    kind, name != NULL ? " " : "", name != NULL ? shown : "", addr,
	    ctlproto_u64(&m, "local", 0) ? "local" : "not local");
	if (ctlproto_find(&m, "uid") != NULL) {
		user_text(ctlproto_u64(&m, "uid", 0), user, sizeof(user));
		printf(", uid %llu (%s)",
		    (unsigned long long)ctlproto_u64(&m, "uid", 0), user);
	}
	putchar('\n');
	ctlproto_str(&m, "access_mode", ids, sizeof(ids));
	printf("  access: %s by ",
	    ctlproto_u64(&m, "access_allowed", 0) ? "allowed" : "refused");
	if (strcmp(ids, "list") != 0)
		printf("\"%s %s\"", kind, ids);
	else if (entry[0] != '\0')
		printf("the entry %s of the %s rule", entry, kind);
	else
		printf("the %s rule: no entry matches", kind);
	if (strcmp(origin, "file") == 0)
		printf(" (line %llu)\n",
		    (unsigned long long)ctlproto_u64(&m, "access_line", 0));
	else if (strcmp(origin, "option") == 0)
		printf(" (-allow)\n");
	else
		printf(" (default: OTP's rule)\n");
	if (strcmp(kind, "register") == 0 && name != NULL) {
		if (f == NULL)
			printf("  owner: no ownership rule covers %s\n", shown);
		else {
			safe_text(f->p, f->len, rule, sizeof(rule));
			ctlproto_str(&m, "owner_ids", ids, sizeof(ids));
			printf("  owner: %s by owner %s %s (line %llu)%s\n",
			    ctlproto_u64(&m, "owner_allowed", 0) ? "allowed"
								 : "refused",
			    rule, ids,
			    (unsigned long long)ctlproto_u64(&m, "owner_line",
				0),
			    ctlproto_find(&m, "uid") != NULL ? ""
			    : !ctlproto_u64(&m, "local", 0)
				? ": the owner of a socket on another host "
				  "is never known"
				: ": the socket's owner is not known (--uid "
				  "says whose it is)");
		}
	}
	return allowed ? EXIT_OK : EXIT_FAIL;
}

static int
cmd_policy(int argc, char **argv)
{
	if (argc == 0) {
		if (G.uid != NULL) {
			warnx_("--uid applies to policy test only");
			return EXIT_USAGE;
		}
		return show_policy();
	}
	if (strcmp(argv[0], "test") != 0 || argc < 3 || argc > 4) {
		fprintf(stderr, "usage: epmdctl policy\n"
				"       epmdctl policy test ADDRESS REQUEST "
				"[NAME] [--uid USER]\n");
		/* As for the other usage errors: the usage text only. */
		G.json_failure_done = true;
		return EXIT_USAGE;
	}
	return test_policy(argc - 1, argv + 1);
}

/* ---------------------------------------------------------- watch */

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ISO 8601 local time with milliseconds and the offset. */
static void
iso_time(uint64_t ms, char *buf, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	char date[32], zone[8];
	struct tm tm;

	localtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm); /* +hhmm */
	snprintf(buf, size, "%s.%03u%.3s:%.2s", date, (unsigned)(ms % 1000),
	    zone, zone + 3);
}

static void
print_event(const struct ctl_msg *m)
{
	char ev[32], peer[128], reason[64], request[32], stamp[48], user[64],
	    shown[CODEC_MAX_NAME_BYTES * 4 + 1], type[32], rule[256];
	const struct ctl_field *name = ctlproto_find(m, "name");
	size_t i;

	iso_time(ctlproto_u64(m, "time_ms", 0), stamp, sizeof(stamp));
	ctlproto_str(m, "event", ev, sizeof(ev));
	if (G.json) {
		printf("{\"time\":\"%s\"", stamp);
		for (i = 0; i < m->nfields; i++) {
			const struct ctl_field *f = &m->fields[i];

			putchar(',');
			json_bytes(stdout, (const uint8_t *)f->key, f->klen);
			putchar(':');
			/* As in names: type by name, an unknown uid is null. */
			if (f->kind == CTL_U64 && f->klen == 4 &&
			    memcmp(f->key, "type", 4) == 0)
				printf("\"%s\",\"type_code\":%llu",
				    type_name(f->u), (unsigned long long)f->u);
			else if (f->kind == CTL_U64 && f->klen == 3 &&
			    memcmp(f->key, "uid", 3) == 0 && f->u >= UINT32_MAX)
				printf("null");
			else if (f->kind == CTL_U64)
				printf("%llu", (unsigned long long)f->u);
			else
				json_bytes(stdout, f->p, f->len);
		}
		printf("}\n");
		fflush(stdout);
		return;
	}
	printf("%s %s", stamp, ev);
	if (name != NULL) {
		safe_text(name->p, name->len, shown, sizeof(shown));
		printf(" %s", shown);
	}
	if (strcmp(ev, "registered") == 0) {
		type_text(ctlproto_u64(m, "type", 0), type, sizeof(type));
		user_text(ctlproto_u64(m, "uid", UINT32_MAX), user,
		    sizeof(user));
		printf(" port %llu creation %llu type %s from %s (user %s)",
		    (unsigned long long)ctlproto_u64(m, "port", 0),
		    (unsigned long long)ctlproto_u64(m, "creation", 0), type,
		    ctlproto_str(m, "peer", peer, sizeof(peer)), user);
	} else if (strcmp(ev, "unregistered") == 0)
		printf(" port %llu creation %llu: %s",
		    (unsigned long long)ctlproto_u64(m, "port", 0),
		    (unsigned long long)ctlproto_u64(m, "creation", 0),
		    ctlproto_str(m, "reason", reason, sizeof(reason)));
	else {
		printf(" %s from %s: %s",
		    ctlproto_str(m, "request", request, sizeof(request)),
		    ctlproto_str(m, "peer", peer, sizeof(peer)),
		    ctlproto_str(m, "reason", reason, sizeof(reason)));
		/* The policy's refusals say which rule decided. */
		if (ctlproto_find(m, "rule") != NULL)
			printf(" (%s)", ctlproto_str(m, "rule", rule,
					    sizeof(rule)));
	}
	putchar('\n');
	fflush(stdout);
}

/*
 * watch's own lines, shaped like events: "disconnected" when the daemon
 * went away, "reconnected" when subscribed again.
 */
static void
print_watch_state(const char *ev, const char *text)
{
	struct timespec ts;
	char stamp[48];
	uint64_t ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	iso_time(ms, stamp, sizeof(stamp));
	if (G.json) {
		printf("{\"time\":\"%s\",\"time_ms\":%llu,\"event\":\"%s\","
		       "\"socket\":",
		    stamp, (unsigned long long)ms, ev);
		json_str(stdout, G.path);
		printf("}\n");
	} else
		printf("%s %s %s: %s\n", stamp, ev, G.path, text);
	fflush(stdout);
}

/*
 * Connect and subscribe.  1 when subscribed; 0 when it may work later
 * (the daemon unreachable, gone before answering, silent, or busy);
 * -1 when it will not (an error answer, reported; an interrupt).  Either
 * way, *status is the exit status for it.  again: a reconnection, whose
 * failed attempts say nothing.
 */
static int
watch_subscribe(struct ctl_conn *c, bool again, int *status)
{
	struct ctl_msg m;
	int r;

	c->fd = -1;
	G.quiet = again;
	*status = ctl_request(c, CTL_WATCH, NULL, NULL);
	r = *status == EXIT_OK ? ctl_next(c, &m, EPMDCTL_TIMEOUT * 1000) : -1;
	G.quiet = false;
	if (r > 0 && m.type == CTL_OK)
		return 1;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (interrupted)
		return -1;
	if (r > 0 && m.type == CTL_ERROR &&
	    !(again && ctlproto_u64(&m, "code", 0) == CTL_ERR_BUSY)) {
		*status = report_error("watch", &m);
		return -1;
	}
	if (r == 0 && !again)
		warnx_("epmdd closed the connection");
	if (*status == EXIT_OK)
		*status = EXIT_UNREACHABLE;
	return again ? 0 : -1;
}

/*
 * Subscribe again after the daemon went away, waiting longer between
 * attempts up to WATCH_RETRY_MAX_MS.  1 when subscribed, -1 as
 * watch_subscribe or when interrupted (SIGINT and SIGTERM are blocked
 * but during the waits, so that none is missed).
 */
static int
watch_reconnect(struct ctl_conn *c, int *status)
{
	unsigned wait_ms = WATCH_RETRY_MIN_MS;
	sigset_t block, old;
	struct timespec ts;
	int r;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	for (;;) {
		sigprocmask(SIG_BLOCK, &block, &old);
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = (long)(wait_ms % 1000) * 1000000;
		if (!interrupted)
			(void)ppoll(NULL, 0, &ts, &old);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (interrupted) {
			*status = EXIT_OK;
			return -1;
		}
		if ((r = watch_subscribe(c, true, status)) != 0)
			return r;
		wait_ms = UTIL_MIN(wait_ms * 2, WATCH_RETRY_MAX_MS);
	}
}

static int
cmd_watch(int argc, char **argv)
{
	static struct ctl_conn c;
	struct sigaction sa;
	struct ctl_msg m;
	int r, status;

	(void)argc;
	(void)argv;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (watch_subscribe(&c, false, &status) < 0)
		return interrupted ? EXIT_OK : status;
	for (;;) {
		while ((r = ctl_next(&c, &m, -1)) > 0)
			if (m.type == CTL_EVENT)
				print_event(&m);
		close(c.fd);
		if (interrupted)
			return EXIT_OK;
		if (r < 0)
			return EXIT_UNREACHABLE; /* a bad message, told */
		if (G.no_reconnect) {
			warnx_("epmdd closed the connection");
			return EXIT_UNREACHABLE;
		}
		print_watch_state("disconnected",
		    "epmdd closed the connection; reconnecting");
		if (watch_reconnect(&c, &status) < 0)
			return interrupted ? EXIT_OK : status;
		print_watch_state("reconnected",
		    "events while disconnected were not seen");
	}
}

/* ------------------------------------------------- metrics, check */

/* In epmdctl_metrics.c and epmdctl_check.c. */
static int
cmd_obs(int argc, char **argv, bool check)
{
	struct obs_opts o = { .path = G.path, .host = G.host, .port = G.port,
		.node_port = G.node_port, .http = G.http };

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

static const struct command {
	const char *name;
	int min_args;
	int max_args;
	int (*fn)(int, char **);
	const char *usage;
} commands[] = {
	{ "names", 0, 0, cmd_names, "names [--host H] [--port P]" },
	{ "lookup", 1, 1, cmd_lookup, "lookup NAME [--host H] [--port P]" },
	{ "status", 0, 0, cmd_status, "status" },
	{ "stop", 1, 1, cmd_stop, "stop NAME" },
	{ "shutdown", 0, 0, cmd_shutdown, "shutdown" },
	{ "watch", 0, 0, cmd_watch, "watch [--no-reconnect]" },
	{ "upgrade", 0, 1, cmd_upgrade, "upgrade [PATH]" },
	{ "reload", 0, 0, cmd_reload, "reload" },
	{ "policy", 0, 4, cmd_policy,
	    "policy [test ADDRESS REQUEST [NAME] [--uid USER]]" },
	{ "metrics", 0, 0, cmd_metrics, "metrics [--http]" },
	{ "check", 0, 64, cmd_check,
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
	    "  -H, --host HOST     names/lookup over TCP against HOST's "
	    "epmd\n"
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

	if (ctlproto_default_path((uint16_t)G.port, uid,
		getenv("XDG_RUNTIME_DIR"), G.path, sizeof(G.path)) < 0)
		return -1;
	if (uid == 0 || stat(G.path, &st) == 0)
		return 0;
	return ctlproto_default_path((uint16_t)G.port, 0, NULL, G.path,
	    sizeof(G.path));
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
	const char *env;
	unsigned long long v;
	int ch, nargs, status;

	G.port = CTL_DEFAULT_PORT;
	G.node_port = -1;
	if ((env = getenv("ERL_EPMD_PORT")) != NULL) {
		if (util_parse_uint(env, 1, 65535, &v) < 0) {
			warnx_("ERL_EPMD_PORT: \"%s\" is not a port", env);
			return EXIT_USAGE;
		}
		G.port = (unsigned)v;
	}
	G.socket = getenv("EPMDCTL_SOCKET");
	/* GNU getopt permutes: options may come before or after the words. */
	while ((ch = getopt_long(argc, argv, "s:jH:p:hVu:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			G.socket = optarg;
			break;
		case 'j':
			G.json = true;
			break;
		case 'H':
			G.host = optarg;
			break;
		case 'p':
			if (util_parse_uint(optarg, 1, 65535, &v) < 0) {
				warnx_("--port: \"%s\" is not a port", optarg);
				return EXIT_USAGE;
			}
			G.port = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("epmdctl %s\n", EPMDD_VERSION);
			return EXIT_OK;
		case 'u':
			G.uid = optarg;
			break;
		case 'R':
			G.no_reconnect = true;
			break;
		case 'T':
			G.http = true;
			break;
		case 'N':
			if (util_parse_uint(optarg, 1, 65535, &v) < 0) {
				warnx_("--node-port: \"%s\" is not a port",
				    optarg);
				return EXIT_USAGE;
			}
			G.node_port = (long)v;
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
		warnx_("unknown or ambiguous command \"%s\"", argv[optind]);
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
	if (G.host != NULL && cmd->fn != cmd_names && cmd->fn != cmd_lookup &&
	    cmd->fn != cmd_check) {
		warnx_("--host applies to names, lookup and check only");
		return EXIT_USAGE;
	}
	if (G.uid != NULL && cmd->fn != cmd_policy) {
		warnx_("--uid applies to policy test only");
		return EXIT_USAGE;
	}
	if (G.no_reconnect && cmd->fn != cmd_watch) {
		warnx_("--no-reconnect applies to watch only");
		return EXIT_USAGE;
	}
	if ((G.http && cmd->fn != cmd_metrics) ||
	    (G.node_port >= 0 && cmd->fn != cmd_check) ||
	    (G.json && (cmd->fn == cmd_metrics || cmd->fn == cmd_check))) {
		warnx_("--http applies to metrics, --node-port to check, and "
		       "neither takes --json");
		return EXIT_USAGE;
	}
	if (G.socket != NULL) {
		if (util_strlcpy(G.path, G.socket, sizeof(G.path)) >=
		    sizeof(G.path)) {
			warnx_("%s: socket path too long (at most %zu bytes)",
			    G.socket, sizeof(G.path) - 1);
			return EXIT_USAGE;
		}
	} else if (default_socket() < 0) {
		warnx_("the default control socket path is too long");
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	status = cmd->fn(nargs, argv);
	json_failure(status);
	return status;
}
