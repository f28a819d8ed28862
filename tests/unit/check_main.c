/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright (c) 2026 The epmdd authors */
/*
 * check_main: runs every unit suite.  Select parts with CK_RUN_SUITE and
 * CK_RUN_CASE; CK_FORK=no for valgrind.
 */
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(buf_suite());
	srunner_add_suite(sr, codec_suite());
	srunner_add_suite(sr, registry_suite());
	srunner_add_suite(sr, dispatch_suite());
	srunner_add_suite(sr, options_suite());
	srunner_add_suite(sr, ctlproto_suite());
	srunner_add_suite(sr, ctlschema_suite());
	srunner_add_suite(sr, state_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
