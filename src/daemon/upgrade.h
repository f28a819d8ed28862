/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * upgrade: re-executing the daemon in place (same pid) with its
 * listeners, control socket, saved state and registrations handed over
 * in the LISTEN_FDS / LISTEN_FDNAMES convention that socket activation
 * uses, so that one start-up path adopts them either way.
 */
#ifndef EPMDD_UPGRADE_H
#define EPMDD_UPGRADE_H

#include <stddef.h>

/* Seconds the new binary has to answer --version before it is trusted. */
#define UPGRADE_CHECK_TIMEOUT 5
/* LISTEN_FDNAMES longer than this go through a memfd instead. */
#define UPGRADE_MAX_ENV_NAMES 65536
/* The variable naming that memfd, and the one marking a re-execution. */
#define UPGRADE_NAMES_ENV "EPMDD_FDNAMES_FD"
#define UPGRADE_REEXEC_ENV "EPMDD_REEXEC"

struct upgrade_fd {
	int fd;
	char name[32];
};

/*
 * Is path an executable that runs and answers --version with status 0
 * within UPGRADE_CHECK_TIMEOUT?  Returns 0 or a negative errno (logged).
 */
int upgrade_check(const char *path);

/*
 * Replace this process with path (argv as given), passing fds[0..n) as
 * descriptors 3.. with their names.  Returns only on failure, with a
 * negative errno; by then descriptors below 3 + n may have been
 * replaced, so the caller must exit.
 */
int upgrade_exec(const char *path, char *const argv[],
    const struct upgrade_fd *fds, size_t n);

#endif
