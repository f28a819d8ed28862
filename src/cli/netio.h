/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * netio: blocking sockets with deadlines for the command-line side:
 * timed writes and reads, OTP's read_fill, and one request-reply
 * exchange with any epmd over TCP (epmdctl's lookup and names --host).
 * Deadlines are CLOCK_MONOTONIC milliseconds.  No libuv.
 */
#ifndef EPMDD_NETIO_H
#define EPMDD_NETIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The deadline ms milliseconds from now. */
long long netio_deadline(int ms);

/* Milliseconds left until deadline, at least 0. */
int netio_left_ms(long long deadline);

/* Write all of p to a blocking fd; 0, or -1 with errno. */
int netio_write_all(int fd, const uint8_t *p, size_t len);

/* Write all of p to a non-blocking fd within the deadline. */
int netio_write_all_timed(int fd, const uint8_t *p, size_t len,
    long long deadline);

/*
 * One read of up to max bytes once data arrives before the deadline.
 * Returns the count, 0 at end-of-file, -1 on error or timeout.
 */
ssize_t netio_read_some(int fd, uint8_t *p, size_t max, long long deadline);

/*
 * Read until n bytes, end-of-file or the deadline: OTP's read_fill.
 * Returns bytes read (short on EOF), or -1 on error or timeout.
 */
ssize_t netio_read_fill(int fd, uint8_t *p, size_t n, long long deadline);

/*
 * Connect to host:port (numeric or a name, any family), send req and
 * read the reply until the server closes (or max bytes), all within
 * timeout_ms.  Returns the number of bytes read into buf, or -1 with a
 * message in err.
 */
long netio_exchange(const char *host, uint16_t port, const uint8_t *req,
    size_t len, uint8_t *buf, size_t max, int timeout_ms, char *err,
    size_t errlen);

#endif
