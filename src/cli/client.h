/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * client: OTP epmd's interactive commands (-names, -dump, -started,
 * -kill, -stop NAME) with its exact output and exit statuses, as a plain
 * blocking client of the daemon on the local port.  Also the blocking
 * connect/request/read helpers epmdctl uses for the public protocol.
 */
#ifndef EPMDD_CLIENT_H
#define EPMDD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"

/* Seconds a client command waits for the daemon's answer. */
#define CLIENT_TIMEOUT 10

/* Run the client command in o->mode; returns the exit status. */
int client_run(const struct options *o);

/*
 * Connect to host:port (numeric or a name, any family), send req and
 * read the reply until the server closes (or max bytes), all within
 * timeout_ms.  Returns the number of bytes read into buf, or -1 with a
 * message in err.
 */
long client_exchange(const char *host, uint16_t port, const uint8_t *req,
    size_t len, uint8_t *buf, size_t max, int timeout_ms, char *err,
    size_t errlen);

#endif
