/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * state: encoding and loading of the saved registry.  Loading replays
 * the records into a scratch registry first, checking every field as
 * ALIVE2 would and every journal step for consistency, and only hands
 * the result over to the caller's registry (whole, not copied: one
 * registry's worth of memory and time, issue 17) when all of it is sound.
 *
 * Blob:    magic[8] version:u32 generation:u32 next_id:u64 crc32:u32
 *          reserved:u32   (crc32 covers the 24 bytes before it)
 * Record:  len:u32 crc32:u32 | type:u8 payload   (len and crc cover
 *          type and payload)
 * REGISTERED: id:u64 cr:u32 registered_at:i64 uid:u32 inode:u64
 *          family:u8 addr:16 peer_port:u16 port:u16 type:u8 proto:u8
 *          hv:u16 lv:u16 fd:i32 nlen:u16 name elen:u16 extra
 * UNREGISTERED: id:u64 when:i64
 * OLD:     cr:u32 unregistered_at:i64 port:u16 fd:i32 nlen:u16 name
 * POLICY:  flags:u8 (bit 0: a file was in force) len:u32 text
 */
#include "state.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "util.h"

#define RECORD_HEADER 8

#include "crc32tab.h"

/*
 * Eight bytes a step (slicing by 8): the bit-wise loop cost about 25 ms
 * per 15000 registrations on every load and snapshot (issue 17).
 */
uint32_t
state_crc32(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu, lo, hi;

	for (; len >= 8; len -= 8, p += 8) {
		lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][lo >> 8 & 0xff] ^
		    crc_table[5][lo >> 16 & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][hi & 0xff] ^ crc_table[2][hi >> 8 & 0xff] ^
		    crc_table[1][hi >> 16 & 0xff] ^ crc_table[0][hi >> 24];
	}
	while (len-- > 0)
		crc = crc >> 8 ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

int
state_put_header(struct wbuf *w, uint32_t generation, uint64_t next_id)
{
	size_t start = w->len;
	int r = 0;

	r |= buf_put_bytes(w, STATE_MAGIC, 8);
	r |= buf_put_u32(w, STATE_VERSION);
	r |= buf_put_u32(w, generation);
	r |= buf_put_u64(w, next_id);
	if (r == 0)
		r |= buf_put_u32(w, state_crc32(w->p + start, 24));
	r |= buf_put_u32(w, 0);
	if (r != 0) {
		w->len = start;
		return -ENOBUFS;
	}
	return 0;
}

/* Start a record: room for len and crc, then the type. */
static int
record_begin(struct wbuf *w, uint8_t type, size_t *ret_start)
{
	size_t start = w->len;

	if (buf_put_u32(w, 0) < 0 || buf_put_u32(w, 0) < 0 ||
	    buf_put_u8(w, type) < 0) {
		w->len = start;
		return -ENOBUFS;
	}
	*ret_start = start;
	return 0;
}

static int
record_end(struct wbuf *w, size_t start, int r)
{
	size_t body = w->len - start - RECORD_HEADER;
	uint32_t crc;
	uint8_t *h = w->p + start;

	if (r != 0) {
		w->len = start;
		return -ENOBUFS;
	}
	crc = state_crc32(w->p + start + RECORD_HEADER, body);
	h[0] = (uint8_t)(body >> 24);
	h[1] = (uint8_t)(body >> 16);
	h[2] = (uint8_t)(body >> 8);
	h[3] = (uint8_t)body;
	h[4] = (uint8_t)(crc >> 24);
	h[5] = (uint8_t)(crc >> 16);
	h[6] = (uint8_t)(crc >> 8);
	h[7] = (uint8_t)crc;
	return 0;
}

int
state_put_registered(struct wbuf *w, const struct node *n)
{
	size_t start;
	int r = 0;

	if (record_begin(w, STATE_REGISTERED, &start) < 0)
		return -ENOBUFS;
	r |= buf_put_u64(w, n->id);
	r |= buf_put_u32(w, n->cr);
	r |= buf_put_u64(w, (uint64_t)n->registered_at);
	r |= buf_put_u32(w, n->uid);
	r |= buf_put_u64(w, n->inode);
	r |= buf_put_u8(w, n->peer.family);
	r |= buf_put_bytes(w, n->peer.addr, 16);
	r |= buf_put_u16(w, n->peer.port);
	r |= buf_put_u16(w, n->port);
	r |= buf_put_u8(w, n->type);
	r |= buf_put_u8(w, n->proto);
	r |= buf_put_u16(w, n->hv);
	r |= buf_put_u16(w, n->lv);
	r |= buf_put_u32(w, (uint32_t)n->fd);
	r |= buf_put_u16(w, n->nlen);
	r |= buf_put_bytes(w, n->data, n->nlen);
	r |= buf_put_u16(w, n->elen);
	r |= buf_put_bytes(w, n->data + n->nlen, n->elen);
	return record_end(w, start, r);
}

int
state_put_unregistered(struct wbuf *w, uint64_t id, int64_t when)
{
	size_t start;
	int r = 0;

	if (record_begin(w, STATE_UNREGISTERED, &start) < 0)
		return -ENOBUFS;
	r |= buf_put_u64(w, id);
	r |= buf_put_u64(w, (uint64_t)when);
	return record_end(w, start, r);
}

int
state_put_old(struct wbuf *w, const struct node *n)
{
	size_t start;
	int r = 0;

	if (record_begin(w, STATE_OLD, &start) < 0)
		return -ENOBUFS;
	r |= buf_put_u32(w, n->cr);
	r |= buf_put_u64(w, (uint64_t)n->unregistered_at);
	r |= buf_put_u16(w, n->port);
	r |= buf_put_u32(w, (uint32_t)n->fd);
	r |= buf_put_u16(w, n->nlen);
	r |= buf_put_bytes(w, n->data, n->nlen);
	return record_end(w, start, r);
}

int
state_put_policy(struct wbuf *w, bool file, const void *text, size_t len)
{
	size_t start;
	int r = 0;

	if (len > POLICY_MAX_FILE || (!file && len > 0))
		return -EINVAL;
	if (record_begin(w, STATE_POLICY, &start) < 0)
		return -ENOBUFS;
	r |= buf_put_u8(w, file ? 1 : 0);
	r |= buf_put_u32(w, (uint32_t)len);
	r |= buf_put_bytes(w, text, len);
	return record_end(w, start, r);
}

void
state_walk_init(struct state_walk *walk)
{
	walk->n = NULL;
	walk->part = 0;
}

/*
 * The snapshot's records; with fit, a record that does not fit ends its
 * part (registrations, then old names) instead of the whole: a record
 * that fails leaves w as it was before it (record_end), so what is
 * written is whole records, the oldest registrations first.
 * Registrations come first, oldest first, so that replaying them meets
 * no old names (no recycling) and rebuilds the NAMES order.
 */
int
state_put_records_some(struct wbuf *w, const struct registry *reg,
    struct state_walk *walk, size_t chunk, bool fit, bool *ret_whole)
{
	int r;

	if (walk->part == 0) {
		walk->part = 1;
		walk->n = registry_last_active(reg);
	}
	while (walk->part < 3) {
		if (walk->n == NULL) {
			walk->part++;
			walk->n = walk->part == 2 ? registry_first_old(reg)
						  : NULL;
			continue;
		}
		if (w->len >= chunk)
			return 1;
		r = walk->part == 1 ? state_put_registered(w, walk->n)
				    : state_put_old(w, walk->n);
		if (r < 0) {
			if (!fit || r != -ENOBUFS)
				return r;
			*ret_whole = false;
			walk->n = NULL; /* this part ends here */
			continue;
		}
		walk->n = walk->part == 1 ? registry_prev_active(walk->n)
					  : registry_next(walk->n);
	}
	return 0;
}

static int
put_records(struct wbuf *w, const struct registry *reg, bool fit,
    bool *ret_whole)
{
	struct state_walk walk;

	*ret_whole = true;
	state_walk_init(&walk);
	return state_put_records_some(w, reg, &walk, SIZE_MAX, fit, ret_whole);
}

int
state_put_records(struct wbuf *w, const struct registry *reg)
{
	bool whole;

	return put_records(w, reg, false, &whole);
}

int
state_put_records_fitting(struct wbuf *w, const struct registry *reg,
    bool *ret_whole)
{
	return put_records(w, reg, true, ret_whole);
}

int
state_put_snapshot(struct wbuf *w, uint32_t generation,
    const struct registry *reg)
{
	int r = state_put_header(w, generation, registry_next_id(reg));

	return r < 0 ? r : state_put_records(w, reg);
}

bool
state_needs_compaction(size_t len, size_t snapshot, size_t add)
{
	if (add > STATE_MAX_SIZE || len > STATE_MAX_SIZE - add)
		return true;
	if (snapshot > (SIZE_MAX - STATE_COMPACT_SLACK) / 2)
		return false;
	return len + add > 2 * snapshot + STATE_COMPACT_SLACK;
}

/* The header fields, or a negative errno as state_load would give. */
static int
read_header(struct rbuf *b, uint32_t *ret_gen, uint64_t *ret_next)
{
	const uint8_t *magic;
	uint32_t version, gen, hcrc, reserved;
	uint64_t next_id;

	if (buf_get_bytes(b, 8, &magic) < 0 || buf_get_u32(b, &version) < 0 ||
	    buf_get_u32(b, &gen) < 0 || buf_get_u64(b, &next_id) < 0 ||
	    buf_get_u32(b, &hcrc) < 0 || buf_get_u32(b, &reserved) < 0)
		return -EPROTO;
	if (memcmp(magic, STATE_MAGIC, 8) != 0 || version != STATE_VERSION)
		return -EPROTO;
	if (hcrc != state_crc32(b->p, 24) || reserved != 0 || next_id == 0)
		return -EBADMSG;
	*ret_gen = gen;
	*ret_next = next_id;
	return 0;
}

int
state_generation(const uint8_t *p, size_t len, uint32_t *ret)
{
	struct rbuf b;
	uint64_t next_id;

	rbuf_init(&b, p, len);
	return read_header(&b, ret, &next_id);
}

/* ---------------------------------------------------------- loading */

/*
 * id -> active node, for the journal's UNREGISTERED records: open
 * addressing; an unregistered id's slot becomes a tombstone, since the
 * node itself may be freed later (recycled or registered again).
 */
struct id_index {
	struct node **slots;
	size_t cap; /* power of two */
	size_t used; /* live entries and tombstones */
};

static struct node tombstone;

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static int
index_put(struct id_index *ix, struct node *n)
{
	size_t i;

	if ((ix->used + 1) * 2 > ix->cap) {
		struct id_index bigger = { NULL, ix->cap ? ix->cap * 2 : 64,
			0 };
		size_t k;

		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (bigger.slots == NULL)
			return -ENOMEM;
		for (k = 0; k < ix->cap; k++)
			if (ix->slots[k] != NULL &&
			    ix->slots[k] != &tombstone &&
			    index_put(&bigger, ix->slots[k]) < 0) {
				free(bigger.slots);
				return -ENOMEM;
			}
		free(ix->slots);
		*ix = bigger;
	}
	for (i = mix(n->id) & (ix->cap - 1); ix->slots[i] != NULL;
	     i = (i + 1) & (ix->cap - 1))
		;
	ix->slots[i] = n;
	ix->used++;
	return 0;
}

/* The slot holding this id's node, or NULL. */
static struct node **
index_slot(const struct id_index *ix, uint64_t id)
{
	size_t i;

	if (ix->cap == 0)
		return NULL;
	for (i = mix(id) & (ix->cap - 1); ix->slots[i] != NULL;
	     i = (i + 1) & (ix->cap - 1))
		if (ix->slots[i] != &tombstone && ix->slots[i]->id == id)
			return &ix->slots[i];
	return NULL;
}

static struct node *
index_get(const struct id_index *ix, uint64_t id)
{
	struct node **slot = index_slot(ix, id);

	return slot != NULL ? *slot : NULL;
}

/* A name as ALIVE2 would accept it. */
static bool
name_ok(const uint8_t *name, size_t nlen, size_t elen)
{
	ssize_t chars;

	if (nlen > CODEC_MAX_NAME_BYTES || elen > CODEC_MAX_EXTRA ||
	    memchr(name, '\0', nlen) != NULL)
		return false;
	chars = codec_utf8_count(name, nlen);
	return chars >= 0 && chars <= CODEC_MAX_NAME_CHARS;
}

static int
load_registered(struct rbuf *b, struct registry *scratch,
    struct id_index *ix)
{
	struct registry_entry e;
	struct node *n;
	uint64_t id, at, inode;
	uint32_t cr, uid, fd;
	uint16_t nlen, elen;
	const uint8_t *addr;
	int r;

	memset(&e, 0, sizeof(e));
	if (buf_get_u64(b, &id) < 0 || buf_get_u32(b, &cr) < 0 ||
	    buf_get_u64(b, &at) < 0 || buf_get_u32(b, &uid) < 0 ||
	    buf_get_u64(b, &inode) < 0 || buf_get_u8(b, &e.peer.family) < 0 ||
	    buf_get_bytes(b, 16, &addr) < 0 ||
	    buf_get_u16(b, &e.peer.port) < 0 || buf_get_u16(b, &e.port) < 0 ||
	    buf_get_u8(b, &e.type) < 0 || buf_get_u8(b, &e.proto) < 0 ||
	    buf_get_u16(b, &e.hv) < 0 || buf_get_u16(b, &e.lv) < 0 ||
	    buf_get_u32(b, &fd) < 0 || buf_get_u16(b, &nlen) < 0 ||
	    buf_get_bytes(b, nlen, &e.name) < 0 ||
	    buf_get_u16(b, &elen) < 0 || buf_get_bytes(b, elen, &e.extra) < 0 ||
	    rbuf_remaining(b) != 0)
		return -EBADMSG;
	if (id == 0 || cr < 4 || (e.peer.family != 0 && e.peer.family != 4 &&
	    e.peer.family != 6) || !name_ok(e.name, nlen, elen) ||
	    index_get(ix, id) != NULL)
		return -EBADMSG;
	memcpy(e.peer.addr, addr, 16);
	e.nlen = nlen;
	e.elen = elen;
	e.uid = uid;
	e.inode = inode;
	e.fd = (int)fd;
	r = registry_restore(scratch, &e, true, cr, (int64_t)at, 0, id, &n);
	if (r == -EEXIST)
		return -EBADMSG; /* a name registered twice at once */
	if (r < 0)
		return r;
	return index_put(ix, n);
}

static int
load_unregistered(struct rbuf *b, struct registry *scratch,
    struct id_index *ix)
{
	uint64_t id, when;
	struct node *n, **slot;

	if (buf_get_u64(b, &id) < 0 || buf_get_u64(b, &when) < 0 ||
	    rbuf_remaining(b) != 0)
		return -EBADMSG;
	slot = index_slot(ix, id);
	if (slot == NULL)
		return -EBADMSG;
	n = *slot;
	*slot = &tombstone;
	registry_unregister(scratch, n, REGISTRY_CLOSED, (int64_t)when);
	return 0;
}

static int
load_old(struct rbuf *b, struct registry *scratch)
{
	struct registry_entry e;
	uint64_t when;
	uint32_t cr, fd;
	uint16_t nlen;
	int r;

	memset(&e, 0, sizeof(e));
	if (buf_get_u32(b, &cr) < 0 || buf_get_u64(b, &when) < 0 ||
	    buf_get_u16(b, &e.port) < 0 || buf_get_u32(b, &fd) < 0 ||
	    buf_get_u16(b, &nlen) < 0 || buf_get_bytes(b, nlen, &e.name) < 0 ||
	    rbuf_remaining(b) != 0)
		return -EBADMSG;
	if (cr < 4 || !name_ok(e.name, nlen, 0))
		return -EBADMSG;
	e.nlen = nlen;
	e.fd = (int)fd;
	e.uid = REGISTRY_UID_UNKNOWN;
	r = registry_restore(scratch, &e, false, cr, 0, (int64_t)when, 0, NULL);
	return r == -EEXIST ? -EBADMSG : r;
}

/* A POLICY record: kept in sum, replacing an earlier one. */
static int
load_policy(struct rbuf *b, struct state_summary *sum)
{
	const uint8_t *text;
	uint32_t len;
	uint8_t flags;
	uint8_t *copy;

	if (buf_get_u8(b, &flags) < 0 || buf_get_u32(b, &len) < 0 ||
	    len > POLICY_MAX_FILE || buf_get_bytes(b, len, &text) < 0 ||
	    rbuf_remaining(b) != 0 || (flags & ~1u) != 0 ||
	    (!(flags & 1) && len > 0))
		return -EBADMSG;
	copy = malloc((size_t)len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = 0;
	free(sum->policy_text);
	sum->policy = true;
	sum->policy_file = flags & 1;
	sum->policy_text = copy;
	sum->policy_len = len;
	return 0;
}

void
state_summary_fini(struct state_summary *s)
{
	free(s->policy_text);
	s->policy_text = NULL;
	s->policy = false;
}

int
state_load(const uint8_t *p, size_t len, struct registry *reg,
    struct state_summary *ret)
{
	struct state_summary sum;
	struct registry_stats st;
	struct id_index ix = { NULL, 0, 0 };
	struct registry *scratch;
	struct rbuf b;
	const uint8_t *body;
	uint32_t gen, blen, crc;
	uint64_t next_id;
	uint8_t type;
	int r = 0;

	memset(&sum, 0, sizeof(sum));
	registry_get_stats(reg, &st);
	if (st.active != 0 || st.old != 0)
		return -EBUSY;
	if (len > STATE_MAX_SIZE)
		return -EMSGSIZE;
	rbuf_init(&b, p, len);
	if ((r = read_header(&b, &gen, &next_id)) < 0)
		return r;
	/*
	 * The scratch recycles old names as reg (and the saver) does, and
	 * hashes as reg does, so that it is handed over whole, not copied.
	 */
	scratch = registry_new_like(reg);
	if (scratch == NULL)
		return -ENOMEM;
	while (rbuf_remaining(&b) > 0) {
		struct rbuf rec;

		sum.length = b.off;
		if (rbuf_remaining(&b) < RECORD_HEADER) {
			sum.torn_tail = true;
			break;
		}
		buf_get_u32(&b, &blen);
		buf_get_u32(&b, &crc);
		if (blen == 0 || blen > STATE_MAX_POLICY_RECORD) {
			r = -EBADMSG;
			break;
		}
		if (rbuf_remaining(&b) < blen) {
			/* Cut short while it was appended: a crash. */
			sum.torn_tail = true;
			break;
		}
		buf_get_bytes(&b, blen, &body);
		if (state_crc32(body, blen) != crc) {
			r = -EBADMSG;
			break;
		}
		rbuf_init(&rec, body, blen);
		buf_get_u8(&rec, &type);
		if (type == STATE_REGISTERED)
			r = load_registered(&rec, scratch, &ix);
		else if (type == STATE_UNREGISTERED)
			r = load_unregistered(&rec, scratch, &ix);
		else if (type == STATE_OLD)
			r = load_old(&rec, scratch);
		else if (type == STATE_POLICY)
			r = load_policy(&rec, &sum);
		else
			r = -EBADMSG;
		if (r < 0)
			break;
		sum.records++;
	}
	if (!sum.torn_tail)
		sum.length = b.off;
	/* Journal records may carry ids past the snapshot's next id. */
	if (r == 0) {
		registry_set_next_id(scratch, next_id);
		registry_get_stats(scratch, &st);
		sum.active = st.active;
		sum.old = st.old;
		registry_take(reg, scratch);
	}
	free(ix.slots);
	registry_free(scratch);
	if (r < 0) {
		state_summary_fini(&sum);
		return r;
	}
	*ret = sum;
	return 0;
}
