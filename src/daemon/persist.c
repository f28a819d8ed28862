/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * persist: two memfd slots take turns.  The active one holds a snapshot
 * and the journal appended after it; compaction rewrites the other one
 * (emptied first, header written last) and only then makes it active,
 * so that a crash at any point leaves one complete, loadable slot: the
 * newer valid generation wins at start-up.  A snapshot writes the
 * configuration in force before the registrations, so that a state too
 * full for all of them still saves the configuration.
 */
#include "persist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "park.h"
#include "sysd.h"

struct persist {
	struct registry *reg;
	bool fdstore;	  /* slots and sockets go to the store */
	bool journal;	  /* append records as nodes come and go */
	bool compact_due; /* a fresh snapshot is owed since start-up */
	int slot[PERSIST_SLOTS];
	int active;	  /* index of the slot in use, -1 before any */
	uint32_t gen;	  /* the active slot's generation */
	size_t end;	  /* bytes in the active slot */
	size_t snapshot;  /* of which the snapshot */
	struct wbuf out;  /* a record or snapshot being written */
	struct park *park; /* the registration sockets, under the store */
	bool policy;	  /* a configuration is known (set_policy) */
	bool policy_file;
	char *policy_text;
	size_t policy_len;
};

static int
write_at(int fd, const uint8_t *p, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int
persist_read_slot(int fd, uint8_t **ret, size_t *ret_len)
{
	struct stat st;
	uint8_t *p;
	size_t got = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADF;
	if ((size_t)st.st_size > STATE_MAX_SIZE)
		return -EMSGSIZE;
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, p + got, (size_t)st.st_size - got,
		    (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*ret = p;
	*ret_len = got;
	return 0;
}

static const char base36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

uint64_t
persist_reg_id(const char *name)
{
	size_t plen = strlen(PERSIST_REG_PREFIX), i;
	uint64_t v = 0;

	if (strncmp(name, PERSIST_REG_PREFIX, plen) != 0 ||
	    name[plen] == '\0' || name[plen] == '0')
		return 0;
	for (i = plen; name[i] != '\0'; i++) {
		const char *d = strchr(base36, name[i]);

		if (d == NULL || name[i] == '\0' ||
		    v > (UINT64_MAX - (uint64_t)(d - base36)) / 36)
			return 0;
		v = v * 36 + (uint64_t)(d - base36);
	}
	return v;
}

void
persist_reg_name(uint64_t id, char *buf, size_t size)
{
	char digits[16];
	size_t n = 0;

	do {
		digits[n++] = base36[id % 36];
		id /= 36;
	} while (id > 0 && n < sizeof(digits));
	snprintf(buf, size, "%s", PERSIST_REG_PREFIX);
	while (n > 0 && strlen(buf) + 1 < size) {
		size_t l = strlen(buf);

		buf[l] = digits[--n];
		buf[l + 1] = '\0';
	}
}

int
persist_slot_index(const char *name)
{
	size_t plen = strlen(PERSIST_STATE_PREFIX);

	if (strncmp(name, PERSIST_STATE_PREFIX, plen) != 0 ||
	    name[plen] < '0' || name[plen] >= '0' + PERSIST_SLOTS ||
	    name[plen + 1] != '\0')
		return -1;
	return name[plen] - '0';
}

static void
slot_name(int i, char *buf, size_t size)
{
	snprintf(buf, size, "%s%d", PERSIST_STATE_PREFIX, i);
}

static int
new_slot(void)
{
	int fd = memfd_create("epmdd-state", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	return fd;
}

/*
 * Write a snapshot of the registry into slot i with generation gen:
 * empty it, write the records, then the header, then make it active.
 * The records go out PERSIST_CHUNK bytes at a time, not built whole in
 * memory first.  The configuration goes first, so that it always has
 * its room; with fit, registrations that do not fit after it are left
 * out (*ret_whole false), else such a snapshot is not written
 * (-ENOBUFS).  A slot left without its header by a failure here is
 * skipped by the loader: the active one is still whole.
 */
static int
write_slot(struct persist *p, int fd, uint32_t gen, bool fit, bool *ret_whole,
    size_t *ret_len)
{
	uint8_t hbuf[STATE_HEADER_SIZE];
	struct state_walk walk;
	struct wbuf h;
	size_t off;
	int more, r;

	wbuf_init(&h, hbuf, sizeof(hbuf));
	if ((r = state_put_header(&h, gen, registry_next_id(p->reg))) < 0)
		return r;
	off = h.len;
	p->out.len = 0;
	p->out.max = STATE_MAX_SIZE - off;
	if (p->policy &&
	    (r = state_put_policy(&p->out, p->policy_file, p->policy_text,
		 p->policy_len)) < 0)
		return r;
	if (ftruncate(fd, 0) < 0)
		return -errno;
	*ret_whole = true;
	state_walk_init(&walk);
	do {
		more = state_put_records_some(&p->out, p->reg, &walk,
		    PERSIST_CHUNK, fit, ret_whole);
		if (more < 0)
			return more;
		if ((r = write_at(fd, p->out.p, p->out.len, (off_t)off)) < 0)
			return r;
		off += p->out.len;
		/* What is written counts against the bound. */
		p->out.max -= p->out.len;
		p->out.len = 0;
	} while (more > 0);
	if ((r = write_at(fd, h.p, h.len, 0)) < 0)
		return r;
	*ret_len = off;
	return 0;
}

static int
write_snapshot(struct persist *p, int i, uint32_t gen, bool fit,
    bool *ret_whole)
{
	size_t len = 0;
	int r = write_slot(p, p->slot[i], gen, fit, ret_whole, &len);

	/* Journal records need little: give the chunk's bytes back. */
	wbuf_fini(&p->out);
	wbuf_init_growable(&p->out, STATE_MAX_SIZE);
	if (r < 0)
		return r;
	p->active = i;
	p->gen = gen;
	p->end = p->snapshot = len;
	return 0;
}

/*
 * A fresh snapshot in the other slot.  One that cannot hold every
 * registration still holds the configuration in force and the oldest
 * registrations that fit, and the journal stops (its records could name
 * registrations the snapshot left out, which a loader refuses): from
 * then on only a change of configuration writes the state again
 * (persist_set_policy), until the next start.
 */
static void
compact(struct persist *p)
{
	int next = p->active < 0 ? 0 : (p->active + 1) % PERSIST_SLOTS;
	bool whole = true;
	int r;

	p->compact_due = false;
	r = write_snapshot(p, next, p->gen + 1, true, &whole);

	if (r < 0) {
		log_errno(LOG_WARNING, r, "cannot write the saved state, "
		    "stopping the journal");
		p->journal = false;
	} else if (!whole) {
		if (p->journal)
			log_warnx("the saved state is full (%u MiB): it keeps "
				  "the configuration in force and the oldest "
				  "registrations that fit, and stops "
				  "following registrations until the next "
				  "start",
			    STATE_MAX_SIZE >> 20);
		p->journal = false;
	}
}

/* Keep a copy of a configuration for the snapshots; false if no memory. */
static bool
keep_policy(struct persist *p, bool file, const char *text, size_t len)
{
	char *copy;

	if (text == NULL)
		len = 0;
	copy = malloc(len + 1);
	if (copy == NULL) {
		log_warnx("out of memory for the saved configuration: a "
			  "restart will read the file only");
		return false;
	}
	memcpy(copy, text != NULL ? text : "", len);
	copy[len] = '\0';
	free(p->policy_text);
	p->policy = true;
	p->policy_file = file;
	p->policy_text = copy;
	p->policy_len = len;
	return true;
}

struct persist *
persist_new(struct registry *reg, bool fdstore, const int slots[PERSIST_SLOTS],
    int active, uint32_t gen, size_t length,
    const struct persist_config *saved)
{
	struct persist *p = calloc(1, sizeof(*p));
	char name[32];
	int i;

	if (p == NULL)
		return NULL;
	if (saved != NULL && !keep_policy(p, saved->file, saved->text,
				 saved->len)) {
		free(p);
		return NULL;
	}
	p->reg = reg;
	p->fdstore = fdstore;
	if (fdstore && (p->park = park_new(reg)) == NULL) {
		free(p->policy_text);
		free(p);
		return NULL;
	}
	p->journal = fdstore;
	p->active = active;
	p->gen = gen;
	wbuf_init_growable(&p->out, STATE_MAX_SIZE);
	for (i = 0; i < PERSIST_SLOTS; i++)
		p->slot[i] = slots != NULL ? slots[i] : -1;
	if (!p->journal)
		return p;
	for (i = 0; i < PERSIST_SLOTS; i++) {
		if (p->slot[i] >= 0)
			continue;
		p->slot[i] = new_slot();
		if (p->slot[i] < 0) {
			log_errno(LOG_WARNING, p->slot[i], "memfd_create");
			p->journal = false;
			return p;
		}
		if (p->active == i)
			p->active = -1;
		slot_name(i, name, sizeof(name));
		sysd_fdstore_add(p->slot[i], name);
	}
	/*
	 * Go on with the loaded slot: whole records, then ours.  The fresh
	 * snapshot (in the other slot: the loaded one stays whole until
	 * that is done) waits for persist_compact_due.
	 */
	if (p->active >= 0 && ftruncate(p->slot[p->active], (off_t)length) == 0) {
		p->end = p->snapshot = length;
		p->compact_due = true;
		return p;
	}
	compact(p);
	return p;
}

void
persist_compact_due(struct persist *p)
{
	if (p != NULL && p->compact_due && p->journal)
		compact(p);
	if (p != NULL)
		park_tidy(p->park);
}

void
persist_free(struct persist *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < PERSIST_SLOTS; i++)
		if (p->slot[i] >= 0)
			close(p->slot[i]);
	park_free(p->park);
	wbuf_fini(&p->out);
	free(p->policy_text);
	free(p);
}

/*
 * Append the record in p->out to the active slot.  The registry already
 * holds the change, so where the slot is due for compaction (or the
 * record would take it past what a loader accepts), a fresh snapshot
 * replaces the record.
 */
static void
append(struct persist *p)
{
	int r;

	if (state_needs_compaction(p->end, p->snapshot, p->out.len)) {
		p->out.len = 0;
		compact(p);
		return;
	}
	r = write_at(p->slot[p->active], p->out.p, p->out.len, (off_t)p->end);
	if (r < 0) {
		log_errno(LOG_WARNING, r, "cannot append to the saved state");
		p->out.len = 0;
		compact(p);
		return;
	}
	p->end += p->out.len;
	p->out.len = 0;
}

void
persist_registered(struct persist *p, struct node *n)
{
	if (p == NULL)
		return;
	if (p->journal && p->active >= 0) {
		p->out.len = 0;
		if (state_put_registered(&p->out, n) == 0)
			append(p);
	}
	if (p->park != NULL)
		park_add(p->park, n);
}

void
persist_restored(struct persist *p, struct node *n)
{
	char name[32];

	if (p == NULL || p->park == NULL)
		return;
	park_add(p->park, n);
	/* Dropped from the store only once parked: else kept as it is. */
	if (n->parked != 0) {
		persist_reg_name(n->id, name, sizeof(name));
		sysd_fdstore_remove(name);
	}
}

void
persist_unregistered(struct persist *p, struct node *n,
    enum registry_reason reason)
{
	/* At shutdown the store keeps the sockets for the next process. */
	if (p == NULL || reason == REGISTRY_SHUTDOWN)
		return;
	park_remove(p->park, n);
	if (p->journal && p->active >= 0) {
		p->out.len = 0;
		if (state_put_unregistered(&p->out, n->id,
			n->unregistered_at) == 0)
			append(p);
	}
}

void
persist_set_policy(struct persist *p, bool file, const char *text,
    size_t len)
{
	if (p == NULL || !keep_policy(p, file, text, len))
		return;
	if (p->journal && p->active >= 0) {
		p->out.len = 0;
		if (state_put_policy(&p->out, file, p->policy_text,
			p->policy_len) == 0)
			append(p);
		return;
	}
	/*
	 * The journal has stopped (the state is full, or could not be
	 * written): the configuration in force is saved all the same, in
	 * a fresh snapshot, so that a restart never runs an older one.
	 */
	if (p->fdstore && p->slot[0] >= 0 && p->slot[1] >= 0)
		compact(p);
}

struct park *
persist_park(const struct persist *p)
{
	return p != NULL ? p->park : NULL;
}

bool
persist_keeps_sockets(const struct persist *p)
{
	return p != NULL && p->fdstore;
}

void
persist_drop_name(struct persist *p, const char *name)
{
	if (p != NULL && p->fdstore)
		sysd_fdstore_remove(name);
}

int
persist_handover(struct persist *p, int ret_fds[PERSIST_SLOTS], size_t *ret_n)
{
	bool whole;
	int r;

	if (!p->journal) {
		/* No journal kept: a snapshot in a fresh slot 0. */
		if (p->slot[0] < 0 && (p->slot[0] = new_slot()) < 0)
			return p->slot[0];
		if ((r = write_snapshot(p, 0, p->gen + 1, false, &whole)) < 0)
			return r;
		ret_fds[0] = p->slot[0];
		*ret_n = 1;
		return 0;
	}
	ret_fds[0] = p->slot[0];
	ret_fds[1] = p->slot[1];
	*ret_n = PERSIST_SLOTS;
	return 0;
}
