/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * member: group membership for ownership rules, without blocking the
 * event loop.  A bounded per-uid cache of each user's groups; a uid
 * not known (or known for too long, or since before a reload) is
 * looked up through NSS in libuv's thread pool, and whoever asked is
 * told when the answer is there.  Until then the answer is "not known",
 * never a guess.
 */
#ifndef EPMDD_MEMBER_H
#define EPMDD_MEMBER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Users whose groups are remembered (a power of two). */
#define MEMBER_MAX_UIDS 4096
/* An answer older than this is looked up again (ms). */
#define MEMBER_MAX_AGE 60000
/* A lookup that failed (NSS unreachable...) is tried again after (ms). */
#define MEMBER_RETRY 5000
/* A lookup not done after this is answered "not a member" (ms). */
#define MEMBER_WAIT 5000
/* Supplementary groups looked at for one user. */
#define MEMBER_MAX_GROUPS 65536
/* NSS answers larger than this are treated as failures (bytes). */
#define MEMBER_MAX_NSS_BUF (1u << 20)

struct member;

/* A lookup for uid has ended (answered, failed or timed out): ask again. */
typedef void member_ready_fn(void *arg, uint32_t uid);

struct member *member_new(uv_loop_t *loop, member_ready_fn *ready,
    void *arg);
/* Close the timer and cancel lookups not started; the loop then ends. */
void member_stop(struct member *m);
/* After the loop has ended. */
void member_free(struct member *m);

/*
 * policy_member_fn: is uid in group gid?  1 or 0 from the cache; else
 * -EAGAIN and a lookup is started (ready is called when it ends).  A
 * uid the cache has no room for, or whose lookup failed or takes
 * longer than MEMBER_WAIT, is not a member (0): fail closed.
 */
int member_query(void *m, uint32_t uid, uint32_t gid);

/*
 * Forget every answer (a reload): each is looked up again before it is
 * used, and the uids known are looked up now, in the background.
 */
void member_refresh(struct member *m);

#endif
