/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * netio: blocking sockets with deadlines for the command-line side:
 * timed writes and reads, OTP's read_fill, and one request-reply
 * exchange with any epmd over TCP (epmdctl's lookup and names --host).
 * Deadlines are CLOCK_MONOTONIC milliseconds.  No libuv.
 */
#include "netio.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* write_all for a non-blocking socket, within the deadline. */
int
netio_write_all_timed(int fd, const uint8_t *p, size_t len,
    long long deadline)
{
	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n = write(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (poll(&pfd, 1, netio_left_ms(deadline)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

int
netio_write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC ms), at least 0. */
int
netio_left_ms(long long deadline)
{
	struct timespec ts;
	long long now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return deadline > now ? (int)(deadline - now) : 0;
}

long long
netio_deadline(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms;
}

/*
 * One read of up to max bytes once data arrives before the deadline.
 * Returns the count, 0 at end-of-file, -1 on error or timeout.
 */
ssize_t
netio_read_some(int fd, uint8_t *p, size_t max, long long deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = poll(&pfd, 1, netio_left_ms(deadline));
		ssize_t r;

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		r = read(fd, p, max);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

/*
 * Read until n bytes, end-of-file or the deadline: OTP's read_fill.
 * Returns bytes read (short on EOF), or -1 on error or timeout.
 */
ssize_t
netio_read_fill(int fd, uint8_t *p, size_t n, long long deadline)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = netio_read_some(fd, p + got, n - got, deadline);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* connect() with a deadline; fd is non-blocking afterwards. */
static int
connect_timed(int fd, const struct sockaddr *sa, socklen_t len,
    long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int flags = fcntl(fd, F_GETFL), e = 0, r;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	do
		r = poll(&pfd, 1, netio_left_ms(deadline));
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		return -errno;
	return -e;
}

long
netio_exchange(const char *host, uint16_t port, const uint8_t *req,
    size_t len, uint8_t *buf, size_t max, int timeout_ms, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char service[8];
	long long deadline = netio_deadline(timeout_ms);
	size_t got = 0;
	int fd = -1, e = ECONNREFUSED, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%u", port);
	if ((r = getaddrinfo(host, service, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		r = connect_timed(fd, ai->ai_addr, ai->ai_addrlen, deadline);
		if (r == 0)
			break;
		e = -r;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s port %u: %s", host,
		    port, strerror(e));
		return -1;
	}
	if (netio_write_all_timed(fd, req, len, deadline) < 0) {
		snprintf(err, errlen, "%s port %u: write: %s", host, port,
		    strerror(errno));
		close(fd);
		return -1;
	}
	while (got < max) {
		ssize_t n = netio_read_some(fd, buf + got, max - got, deadline);

		if (n < 0) {
			close(fd);
			if (got > 0)
				return (long)got;
			snprintf(err, errlen, "no answer from %s port %u",
			    host, port);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (long)got;
}
