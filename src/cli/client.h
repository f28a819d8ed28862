/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * client: OTP epmd's interactive commands (-names, -dump, -started,
 * -kill, -stop NAME) with its exact output and exit statuses, as a plain
 * blocking client of the daemon on the local port.
 */
#ifndef EPMDD_CLIENT_H
#define EPMDD_CLIENT_H

#include "options.h"

/* Seconds a client command waits for the daemon's answer. */
#define CLIENT_TIMEOUT 10

/* Run the client command in o->mode; returns the exit status. */
int client_run(const struct options *o);

#endif
