/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * fuzz_state: libFuzzer target for the saved-state loader (state_load),
 * which reads a blob left by an earlier daemon: after a crash, it may
 * hold anything.
 *
 * Random bytes would almost never pass the header's and the records'
 * CRCs, so the input is re-framed: its first byte chooses what to keep
 * wrong (bit 0: a raw blob, as is; bit 1: the header's CRC; bit 2: the
 * records' CRCs), then generation:u32 next_id:u64, then records as
 * len:u16 body.  The harness writes a real blob around them with correct
 * CRCs (unless told otherwise) and loads it.  A loaded registry is saved
 * as a snapshot and loaded again: that must succeed with the same
 * registrations and old names.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "registry.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_BLOB (1u << 20)

static uint8_t blob[FUZZ_MAX_BLOB];
static uint8_t again[FUZZ_MAX_BLOB * 2];

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Build a blob from the input; returns its length. */
static size_t
frame(const uint8_t *data, size_t size, uint8_t how)
{
	struct rbuf in;
	struct wbuf w;
	uint32_t gen = 0;
	uint64_t next_id = 0;
	uint16_t blen;
	const uint8_t *body;

	rbuf_init(&in, data, size);
	(void)buf_get_u32(&in, &gen);
	(void)buf_get_u64(&in, &next_id);
	wbuf_init(&w, blob, sizeof(blob));
	if (state_put_header(&w, gen, next_id) < 0)
		return 0;
	if (how & 2)
		blob[24] ^= 0x5a;
	while (buf_get_u16(&in, &blen) == 0) {
		size_t at = w.len;

		if (blen > rbuf_remaining(&in))
			blen = (uint16_t)rbuf_remaining(&in);
		(void)buf_get_bytes(&in, blen, &body);
		if (w.len + 8 + blen > w.cap)
			break;
		w.len += 8;
		(void)buf_put_bytes(&w, body, blen);
		put_be32(blob + at, blen);
		put_be32(blob + at + 4,
		    state_crc32(body, blen) ^ ((how & 4) ? 1u : 0u));
	}
	return w.len;
}

static void
check(const uint8_t *p, size_t len)
{
	static const uint8_t key[REGISTRY_KEY_SIZE] = { 1 };
	struct registry *reg = registry_new(REGISTRY_OLD_KEEP, key);
	struct registry *reg2;
	struct registry_stats st, st2;
	struct state_summary sum, sum2;
	struct wbuf w;
	int r;

	assert(reg != NULL);
	r = state_load(p, len, reg, &sum);
	assert(r == 0 || r == -EPROTO || r == -EBADMSG || r == -EMSGSIZE ||
	    r == -ENOMEM);
	registry_get_stats(reg, &st);
	if (r != 0) {
		/* A refused blob leaves the registry as it was: empty. */
		assert(st.active == 0 && st.old == 0);
		registry_free(reg);
		return;
	}
	assert(st.active == sum.active && st.old == sum.old);
	wbuf_init(&w, again, sizeof(again));
	/* A saved policy is written again as the daemon does it. */
	assert(state_put_header(&w, 7, registry_next_id(reg)) == 0);
	if (sum.policy)
		assert(state_put_policy(&w, sum.policy_file, sum.policy_text,
			   sum.policy_len) == 0);
	assert(state_put_records(&w, reg) == 0);
	reg2 = registry_new(REGISTRY_OLD_KEEP, key);
	assert(reg2 != NULL);
	assert(state_load(w.p, w.len, reg2, &sum2) == 0);
	registry_get_stats(reg2, &st2);
	assert(st2.active == st.active && st2.old == st.old);
	assert(!sum2.torn_tail);
	/* The policy comes back byte for byte. */
	assert(sum2.policy == sum.policy);
	if (sum.policy)
		assert(sum2.policy_file == sum.policy_file &&
		    sum2.policy_len == sum.policy_len &&
		    memcmp(sum2.policy_text, sum.policy_text,
			sum.policy_len) == 0);
	state_summary_fini(&sum2);
	state_summary_fini(&sum);
	registry_free(reg2);
	registry_free(reg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t how;
	size_t len;

	if (size < 1)
		return 0;
	how = data[0];
	if (how & 1) {
		check(data + 1, size - 1);
		return 0;
	}
	len = frame(data + 1, size - 1, how);
	if (len > 0)
		check(blob, len);
	return 0;
}
