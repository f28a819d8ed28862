/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * procfd: which process holds a socket, found by scanning /proc/PID/fd
 * (as ss -p does), for the OWNER column of epmdctl names.
 */
#ifndef EPMDD_PROCFD_H
#define EPMDD_PROCFD_H

#include <stddef.h>
#include <stdint.h>

/* qsort and bsearch order of socket inodes. */
int procfd_cmp_inode(const void *a, const void *b);

/*
 * Find which process holds each socket inode: pids[i] for inodes[i]
 * (sorted by procfd_cmp_inode), -1 where not found (or /proc is not
 * readable to us).
 */
void procfd_find_pids(const uint64_t *inodes, long *pids, size_t n);

#endif
