/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * unit: declarations shared by the Check unit tests: one suite per pure
 * module, hex helpers, and the loader for the golden captures in
 * tests/data (*.hex: "> " request bytes, "< " reply bytes, "# clock: T").
 */
#ifndef EPMDD_UNIT_H
#define EPMDD_UNIT_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNIT_GOLDEN_MAX 8192

Suite *buf_suite(void);
Suite *codec_suite(void);
Suite *registry_suite(void);
Suite *dispatch_suite(void);
Suite *options_suite(void);
Suite *ctlproto_suite(void);
Suite *ctlschema_suite(void);
Suite *state_suite(void);
Suite *policy_suite(void);

/* Decode "00 12 78 ..." (spaces optional) into out; returns the length. */
size_t unit_hex(const char *hex, uint8_t *out, size_t max);

/* A malloc'd copy of exactly len bytes, so ASan sees any over-read. */
uint8_t *unit_dup(const void *p, size_t len);

struct golden {
	uint8_t req[UNIT_GOLDEN_MAX];
	size_t reqlen;
	uint8_t rep[UNIT_GOLDEN_MAX];
	size_t replen;
	bool has_clock;
	int64_t clock;
};

/*
 * Load tests/data/<name> (directory from EPMDD_TEST_DATA, default
 * "tests/data").  Fails the current test if the file is missing.
 */
void unit_golden(const char *name, struct golden *g);

/* A fixed hash key for registries under test. */
extern const uint8_t unit_key[16];

#endif
