/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * sockdiag: an exact-match SOCK_DIAG_BY_FAMILY request (no dump) for the
 * socket whose source is our peer and whose destination is us.  A peer
 * that reached a dual-stack listener through an IPv4-mapped address is
 * an AF_INET socket, so that family is asked for with the addresses
 * unmapped.  The kernel answers an exact request with the best socket
 * it finds, which need not be the one asked for: a listening socket on
 * the peer's port when the peer is on another host (any local user's, or
 * our own, root's, listener), or a TIME_WAIT one (uid 0, no inode) when
 * the peer has gone.  Only an established socket with exactly the
 * four-tuple asked for, and an inode, is the peer.  A link-local
 * address is an address only within its interface: a socket connected
 * to one is bound to that interface, and the kernel finds it only when
 * asked with that interface too (our end's scope id).
 */
#include "sockdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long one kernel answer may take (it is local, so: never long). */
#define SOCKDIAG_TIMEOUT_MS 200

struct sockdiag {
	int fd;
	uint32_t seq;
};

struct sockdiag *
sockdiag_new(void)
{
	struct sockdiag *sd = calloc(1, sizeof(*sd));

	if (sd != NULL)
		sd->fd = -1;
	return sd;
}

void
sockdiag_free(struct sockdiag *sd)
{
	if (sd == NULL)
		return;
	if (sd->fd >= 0)
		close(sd->fd);
	free(sd);
}

static int
nl_open(struct sockdiag *sd)
{
	struct timeval tv = { 0, SOCKDIAG_TIMEOUT_MS * 1000 };

	if (sd->fd >= 0)
		return 0;
	sd->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG);
	if (sd->fd < 0)
		return -errno;
	setsockopt(sd->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* Is this v6 address ::ffff:a.b.c.d? */
static int
is_mapped(const struct in6_addr *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	return memcmp(a->s6_addr, prefix, sizeof(prefix)) == 0;
}

static int
query(struct sockdiag *sd, uint8_t family, const void *src, uint16_t sport,
    const void *dst, uint16_t dport, uint32_t ifindex, uint32_t *ret_uid,
    uint64_t *ret_inode)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	union {
		struct nlmsghdr nlh;
		uint8_t raw[8192];
	} ans;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	size_t alen = family == AF_INET ? 4 : 16;
	struct nlmsghdr *h;
	ssize_t n;
	int len;

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.nlh.nlmsg_seq = ++sd->seq;
	msg.req.sdiag_family = family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0u;
	msg.req.id.idiag_sport = sport;
	msg.req.id.idiag_dport = dport;
	msg.req.id.idiag_if = ifindex;
	memcpy(msg.req.id.idiag_src, src, alen);
	memcpy(msg.req.id.idiag_dst, dst, alen);
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (sendto(sd->fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel,
		sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		n = recv(sd->fd, &ans, sizeof(ans), 0);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		len = (int)n;
		for (h = &ans.nlh; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			const struct inet_diag_msg *d;

			if (h->nlmsg_seq != sd->seq)
				continue; /* a late answer to a timed-out ask */
			if (h->nlmsg_type == NLMSG_ERROR)
				return -ENOENT;
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*d)))
				return -ENOENT;
			d = NLMSG_DATA(h);
			if (d->idiag_state != TCP_ESTABLISHED ||
			    d->idiag_inode == 0 ||
			    d->id.idiag_sport != sport ||
			    d->id.idiag_dport != dport ||
			    memcmp(d->id.idiag_src, src, alen) != 0 ||
			    memcmp(d->id.idiag_dst, dst, alen) != 0)
				return -ENOENT;
			*ret_uid = d->idiag_uid;
			*ret_inode = d->idiag_inode;
			return 0;
		}
	}
}

int
sockdiag_peer_owner(struct sockdiag *sd, int fd, uint32_t *ret_uid,
    uint64_t *ret_inode)
{
	struct sockaddr_storage self, peer;
	socklen_t slen = sizeof(self), plen = sizeof(peer);
	int r;

	if ((r = nl_open(sd)) < 0)
		return r;
	if (getsockname(fd, (struct sockaddr *)&self, &slen) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		return -errno;
	if (self.ss_family == AF_INET && peer.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&self;
		const struct sockaddr_in *p = (const void *)&peer;

		return query(sd, AF_INET, &p->sin_addr, p->sin_port,
		    &s->sin_addr, s->sin_port, 0, ret_uid, ret_inode);
	}
	if (self.ss_family == AF_INET6 && peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&self;
		const struct sockaddr_in6 *p = (const void *)&peer;

		r = query(sd, AF_INET6, &p->sin6_addr, p->sin6_port,
		    &s->sin6_addr, s->sin6_port, s->sin6_scope_id, ret_uid,
		    ret_inode);
		if (r == -ENOENT && is_mapped(&p->sin6_addr) &&
		    is_mapped(&s->sin6_addr))
			r = query(sd, AF_INET, p->sin6_addr.s6_addr + 12,
			    p->sin6_port, s->sin6_addr.s6_addr + 12,
			    s->sin6_port, 0, ret_uid, ret_inode);
		return r;
	}
	return -ENOENT;
}
