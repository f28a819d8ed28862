/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * fuzz_ctlproto: libFuzzer target for the control protocol decoder.
 * Decodes every message in the input; each accepted message is encoded
 * again field by field and must decode to the same fields.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t again[CTL_MAX_MESSAGE];

static void
roundtrip(const struct ctl_msg *m)
{
	static struct ctl_msg m2;
	struct wbuf w;
	size_t start, i;
	char key[CTL_MAX_KEY + 1];

	wbuf_init(&w, again, sizeof(again));
	assert(ctlproto_begin(&w, m->type, &start) == 0);
	for (i = 0; i < m->nfields; i++) {
		const struct ctl_field *f = &m->fields[i];

		memcpy(key, f->key, f->klen);
		key[f->klen] = '\0';
		/* Keys with a NUL inside cannot be re-encoded as strings. */
		if (strlen(key) != f->klen)
			return;
		if (f->kind == CTL_U64)
			assert(ctlproto_put_u64(&w, key, f->u) == 0);
		else
			assert(ctlproto_put_bytes(&w, key, f->p, f->len) == 0);
	}
	assert(ctlproto_end(&w, start) == 0);
	assert(ctlproto_decode(again, w.len, &m2) == (ssize_t)w.len);
	assert(m2.type == m->type && m2.nfields == m->nfields);
	for (i = 0; i < m->nfields; i++) {
		assert(m2.fields[i].kind == m->fields[i].kind);
		assert(m2.fields[i].u == m->fields[i].u);
		assert(m2.fields[i].len == m->fields[i].len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_msg m;
	size_t off = 0;

	while (off < size) {
		ssize_t n = ctlproto_decode(data + off, size - off, &m);

		if (n <= 0) {
			assert(n == 0 || n == -EPROTO || n == -EMSGSIZE ||
			    n == -ENOTSUP || n == -EBADMSG);
			break;
		}
		assert((size_t)n <= size - off);
		assert((size_t)n == CTL_HEADER_SIZE + m.length);
		roundtrip(&m);
		off += (size_t)n;
	}
	return 0;
}
