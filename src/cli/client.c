/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * client: the epmd command-line client (epmd_cli.c), byte for byte in
 * its output: "epmd: up and running on port P with data:", "Killed",
 * "STOPPED"/"NOEXIST" and the error lines, on the same streams and with
 * the same exit statuses, and all of stdout in one write as OTP's
 * buffered stdio gives it.  Blocking sockets (netio), no libuv.
 */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "netio.h"

static int
connect_to(int family, const void *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* OTP's conn_to_epmd: [::1] first, then 127.0.0.1. */
static int
connect_local(uint16_t port)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	int fd = connect_to(AF_INET6, &in6addr_loopback, port);

	if (fd < 0)
		fd = connect_to(AF_INET, lo4, port);
	return fd;
}

/* Copy the rest of the reply to out until the server closes. */
static void
copy_reply(FILE *out, int fd, long long deadline)
{
	uint8_t buf[4096];
	ssize_t n;

	while ((n = netio_read_some(fd, buf, sizeof(buf), deadline)) > 0)
		fwrite(buf, 1, (size_t)n, out);
}

static int
call_list(FILE *out, const struct options *o, uint8_t tag, int silent)
{
	uint8_t req[3], hdr[4];
	struct wbuf w;
	long long deadline = netio_deadline(CLIENT_TIMEOUT * 1000);
	int fd;

	fd = connect_local(o->port);
	if (fd < 0) {
		if (!silent)
			fprintf(stderr, "epmd: Cannot connect to local epmd\n");
		return 1;
	}
	wbuf_init(&w, req, sizeof(req));
	codec_put_simple_req(&w, tag);
	if (netio_write_all(fd, req, w.len) < 0) {
		if (!silent)
			fprintf(out, "epmd: Can't write to epmd\n");
		close(fd);
		return 1;
	}
	if (netio_read_fill(fd, hdr, 4, deadline) != 4) {
		if (!silent)
			fprintf(out, "epmd: no response from local epmd\n");
		close(fd);
		return 1;
	}
	if (!silent) {
		fprintf(out, "epmd: up and running on port %u with data:\n",
		    (unsigned)hdr[0] << 24 | (unsigned)hdr[1] << 16 |
			(unsigned)hdr[2] << 8 | hdr[3]);
		copy_reply(out, fd, deadline);
	}
	close(fd);
	return 0;
}

/*
 * -kill and -stop: send req, expect exactly want bytes.  Returns the
 * byte count read (want on success) or -1, printing OTP's messages for
 * the failures.
 */
static int
call_fixed(FILE *out, const struct options *o, const uint8_t *req, size_t len,
    uint8_t *ans, size_t want)
{
	ssize_t n;
	int fd;

	fd = connect_local(o->port);
	if (fd < 0) {
		fprintf(stderr, "epmd: Cannot connect to local epmd\n");
		return -1;
	}
	if (netio_write_all(fd, req, len) < 0) {
		fprintf(out, "epmd: Can't write to epmd\n");
		close(fd);
		return -1;
	}
	n = netio_read_fill(fd, ans, want, netio_deadline(CLIENT_TIMEOUT * 1000));
	close(fd);
	if (n < 0) {
		fprintf(out, "epmd: failed to read answer from local epmd\n");
		return -1;
	}
	if ((size_t)n != want) {
		/* OTP prints what it got, which is always nothing here. */
		fprintf(out, "epmd: local epmd responded with <>\n");
		return -1;
	}
	return (int)n;
}

static int
do_kill(FILE *out, const struct options *o)
{
	uint8_t req[3], ans[2];
	struct wbuf w;

	wbuf_init(&w, req, sizeof(req));
	codec_put_simple_req(&w, CODEC_KILL_REQ);
	if (call_fixed(out, o, req, w.len, ans, 2) < 0)
		return 1;
	if (ans[0] == 'O' && ans[1] == 'K') {
		fprintf(out, "Killed\n");
		return 0;
	}
	fprintf(out, "Killing not allowed - living nodes in database.\n");
	return 1;
}

static int
do_stop(FILE *out, const struct options *o)
{
	uint8_t req[3 + CODEC_CLIENT_MAX_NAME], ans[7];
	size_t nlen = strlen(o->stop_name);
	struct wbuf w;

	if (nlen > CODEC_CLIENT_MAX_NAME) {
		fprintf(out, "epmd: Name too long!");
		return 1;
	}
	wbuf_init(&w, req, sizeof(req));
	if (codec_put_stop_req(&w, (const uint8_t *)o->stop_name, nlen) < 0) {
		fprintf(out, "epmd: Name too long!");
		return 1;
	}
	if (call_fixed(out, o, req, w.len, ans, 7) < 0)
		return 1;
	fprintf(out, "%.7s\n", (const char *)ans);
	return 0;
}

/*
 * The whole of a command's standard output goes out in one write(2), as
 * OTP's client does (its stdout is fully buffered and flushed at exit):
 * a reader that takes the first chunk of a pipe, as OTP's own test of
 * "epmd -names" does, must see the names along with the header.
 */
int
client_run(const struct options *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int r = 1;

	fflush(stdout);
	out = open_memstream(&text, &len);
	if (out == NULL)
		out = stdout;
	switch (o->mode) {
	case OPTIONS_NAMES:
		r = call_list(out, o, CODEC_NAMES_REQ, 0);
		break;
	case OPTIONS_DUMP:
		r = call_list(out, o, CODEC_DUMP_REQ, 0);
		break;
	case OPTIONS_STARTED:
		r = call_list(out, o, CODEC_NAMES_REQ, 1);
		break;
	case OPTIONS_KILL:
		r = do_kill(out, o);
		break;
	case OPTIONS_STOP:
		r = do_stop(out, o);
		break;
	default:
		break;
	}
	if (out == stdout) {
		fflush(stdout);
		return r;
	}
	if (fclose(out) == 0 && len > 0)
		(void)netio_write_all(STDOUT_FILENO, (const uint8_t *)text, len);
	free(text);
	return r;
}
