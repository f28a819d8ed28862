/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * config: the configuration file and the policy in force.  Reads the
 * file (bounded, and only one that no other user may write), resolves
 * the user and group names of its rules through NSS, lays the -allow
 * rules over it, and swaps the result in only when all of that worked:
 * a bad file changes nothing and says why, with its line and column.
 * (Group membership for ownership rules is member's.)
 */
#ifndef EPMDD_CONFIG_H
#define EPMDD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* -config none: no file, not even the default one. */
#define CONFIG_NONE "none"
#define CONFIG_ERROR_SIZE (PATH_MAX + 256)

struct config {
	char path[PATH_MAX];	/* the file; "" with -config none */
	bool required;		/* named with -config: it must exist */
	const char *allow[POLICY_KIND_COUNT]; /* -allow rules, or NULL */
	/*
	 * The policy in force, or NULL when nothing is configured (no
	 * file, no -allow): then the daemon is OTP's epmd.
	 */
	struct policy *policy;
	char *text;		/* the file's text in force, NULL: no file */
	size_t len;
	bool from_saved;	/* text came from the saved state, not the file */
	int64_t loaded_at;	/* Unix seconds of the last successful load */
	uint64_t loads;		/* successful loads */
	uint64_t failures;	/* loads that failed (the policy stayed) */
	char error[CONFIG_ERROR_SIZE]; /* why the last load failed, or "" */
};

/*
 * path: -config's value (NULL: the default file, which may be absent;
 * CONFIG_NONE: no file).  allow[kind]: -allow rules (borrowed; the
 * array is copied).  Loads nothing yet.
 */
void config_init(struct config *c, const char *path,
    const char *const allow[POLICY_KIND_COUNT]);
void config_fini(struct config *c);

/*
 * Read the file and build its policy with the -allow rules.  On success
 * the new policy is in force (the old one is freed: pointers into it
 * must not outlive this call) and 0 is returned; else -EINVAL, -ENOENT,
 * -EACCES... with the reason in c->error ("FILE:LINE:COLUMN: ...", one
 * line), and the policy in force is unchanged.
 */
int config_load(struct config *c, int64_t now);

/*
 * The same from text saved by an earlier process of this daemon (for a
 * restart that finds the file no longer loads).  An empty text means
 * the earlier process had no file.
 */
int config_load_text(struct config *c, const char *text, size_t len,
    int64_t now);

/* Room for config_describe's line. */
#define CONFIG_DESCRIBE_SIZE (PATH_MAX + 128)

/*
 * One line on the policy in force, for logs and -check_config: where it
 * comes from and how many rules it has.
 */
void config_describe(const struct config *c, char *buf, size_t size);

/* The policy for requests: the one in force, or OTP's rules. */
const struct policy *config_policy(const struct config *c);

#endif
