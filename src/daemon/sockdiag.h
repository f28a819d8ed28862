/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * sockdiag: who is at the other end of a local TCP connection.  Asks
 * the kernel (NETLINK_SOCK_DIAG, inet_diag) for the peer's socket by its
 * four-tuple (and a link-local one's interface) and returns the
 * socket's owning uid and inode.  Linux only; the only file that speaks
 * netlink.
 */
#ifndef EPMDD_SOCKDIAG_H
#define EPMDD_SOCKDIAG_H

#include <stdint.h>

struct sockdiag;

/* A diag context holding one netlink socket (opened on first use). */
struct sockdiag *sockdiag_new(void);
void sockdiag_free(struct sockdiag *sd);

/*
 * For our connected TCP socket fd, find the peer's socket on this host:
 * established, with exactly this connection's four-tuple.  Returns 0
 * with its owner uid and inode, or a negative errno (-ENOENT when the
 * peer is not a local socket, has gone, or the kernel cannot say).
 */
int sockdiag_peer_owner(struct sockdiag *sd, int fd, uint32_t *ret_uid,
    uint64_t *ret_inode);

#endif
