/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * fuzz_codec: libFuzzer target for the EPMD side of the pure core.  The
 * input is a sequence of connections, each a chunk of bytes framed as
 * net.c frames them, every complete request dispatched against one
 * scratch registry, so that registrations made by earlier chunks meet
 * later lookups, duplicates, STOPs and KILLs.  Checks invariants of the
 * replies as it goes.  With the input's first byte's bit 2, a policy
 * with access lists and ownership rules is in force, peers come from
 * inside or outside its network, and their sockets' owners vary.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "dispatch.h"
#include "policy.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Owners are small integers; "gone" is decided by the input. */
static bool gone_answer;

static bool
fuzz_gone(void *arg, void *owner)
{
	(void)arg;
	(void)owner;
	return gone_answer;
}

static const char policy_text[] = "names local 10.0.0.0/8\n"
				  "register local 10.0.0.0/8\n"
				  "admin 10.9.9.9\n"
				  "owner a* user=1\n"
				  "owner b group=2\n"
				  "owner * user=3\n";
static uint32_t owner_uid;

static int
fuzz_owner(void *arg, void *owner, uint32_t *ret_uid, uint64_t *ret_inode)
{
	(void)arg;
	(void)owner;
	if (owner_uid == 7)
		return -2; /* not a local peer */
	*ret_uid = owner_uid;
	*ret_inode = 1;
	return 0;
}

static int
fuzz_member(void *arg, uint32_t uid, uint32_t gid)
{
	(void)arg;
	return uid == gid;
}

static void
check_reply(const struct dispatch_result *r, const struct wbuf *out,
    struct registry *reg)
{
	/* The policy's refusals: a close, or the taken-name reply. */
	if (r->refusal == DISPATCH_POLICY)
		assert(r->fate == DISPATCH_CLOSE && r->kind >= 0);
	if (r->refusal == DISPATCH_NOT_OWNER)
		assert(r->fate == DISPATCH_REPLY_CLOSE &&
		    (out->len == 4 || out->len == 6) && out->p[1] == 1 &&
		    r->owner_rule != NULL);
	switch (r->fate) {
	case DISPATCH_CLOSE:
		assert(out->len == 0);
		break;
	case DISPATCH_REPLY_KEEP:
		/* A registration: the 4- or 6-byte success reply, and the
		 * node is findable under its own name. */
		assert(out->len == 4 || out->len == 6);
		assert(out->p[1] == 0);
		assert(r->node != NULL && r->node->active);
		assert(registry_lookup(reg, r->node->data, r->node->nlen) ==
		    r->node);
		break;
	default:
		assert(out->len > 0);
		break;
	}
	if (r->refusal != DISPATCH_OK)
		assert(r->why != NULL || r->fate != DISPATCH_CLOSE ||
		    r->refusal == DISPATCH_UNKNOWN_REQUEST);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[REGISTRY_KEY_SIZE] = { 7 };
	struct registry *reg;
	struct dispatch_ctx ctx;
	struct wbuf out;
	struct policy *policy = NULL;
	struct policy_error perr;
	size_t off = 0;
	uintptr_t owner = 1;

	if (size < 1)
		return 0;
	if (data[0] & 4)
		assert(policy_parse(policy_text, sizeof(policy_text) - 1, NULL,
			   &policy, &perr) == 0);
	reg = registry_new(data[0] & 1 ? REGISTRY_OLD_KEEP_DEBUG
				       : REGISTRY_OLD_KEEP,
	    key);
	assert(reg != NULL);
	memset(&ctx, 0, sizeof(ctx));
	ctx.reg = reg;
	ctx.relaxed = (data[0] & 2) != 0;
	ctx.holder_gone = fuzz_gone;
	ctx.policy = policy;
	ctx.peer_owner = fuzz_owner;
	ctx.member = fuzz_member;
	wbuf_init_growable(&out, DISPATCH_MAX_REPLY);
	off = 1;
	/*
	 * Each connection: a flags byte (1 local, 2 from 10.1.2.3 rather
	 * than 11.1.2.3, 4 holders have gone, 8 clock at 0, 16 keep the
	 * registration, the top 3 bits the uid of its socket: 7 for none
	 * known), a big-endian u16 length, then its bytes.
	 */
	while (off + 3 <= size) {
		uint8_t ctl = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		const uint8_t *p = data + off + 3;
		struct dispatch_peer peer;
		struct dispatch_result r;
		ssize_t fs;

		if (len > size - off - 3)
			len = size - off - 3;
		off += 3 + len;
		gone_answer = (ctl & 4) != 0;
		/* As net.c: the frame must be exactly what was read. */
		fs = codec_frame_size(p, len);
		if (fs <= 0 || (size_t)fs != len)
			continue;
		memset(&peer, 0, sizeof(peer));
		peer.owner = (void *)owner++;
		peer.fd = (int)owner;
		peer.is_local = (ctl & 1) != 0;
		peer.listen_port = 4369;
		peer.uid = REGISTRY_UID_UNKNOWN;
		peer.addr.family = 4;
		peer.addr.addr[0] = ctl & 2 ? 10 : 11;
		peer.addr.addr[1] = 1;
		peer.addr.addr[2] = 2;
		peer.addr.addr[3] = 3;
		owner_uid = ctl >> 5;
		out.len = 0;
		dispatch_request(&ctx, &peer, p + 2, len - 2,
		    (int64_t)(ctl & 8 ? 0 : 1795517942), &out, &r);
		check_reply(&r, &out, reg);
		/* Sometimes the connection goes away again. */
		if (r.fate == DISPATCH_REPLY_KEEP && (ctl & 0x10) == 0)
			registry_unregister(reg, r.node, REGISTRY_CLOSED, 0);
	}
	wbuf_fini(&out);
	registry_free(reg);
	policy_free(policy);
	return 0;
}
