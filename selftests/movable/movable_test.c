// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Selftests for rust/movable.rs beyond what a driver's own tests see.
 *
 * A driver that drops the MovablePage of the page being migrated, inside
 * its own migrate_page (rmm_drop_test.ko, safe Rust), must not deadlock on
 * the page lock the VM holds for that call: the abstraction releases the
 * page under the VM's lock, and the VM frees it. Memory offlining of every
 * ZONE_MOVABLE block migrates the helper's pages; each offline must finish
 * (within 20 s), and the helper must have dropped pages in its callback.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../rmm_selftest.h"

#define DROP_DEV "/dev/rmm_drop_test"

/* The last "rmm_drop_test: N pages dropped" line of the kernel log, or -1. */
static long dropped_in_callback(void)
{
	FILE *f = popen("dmesg | grep 'rmm_drop_test: .* dropped inside migrate_page' | tail -n 1", "r");
	char line[256] = "", *p;
	long n = -1;

	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f) && (p = strstr(line, "rmm_drop_test: ")))
		n = strtol(p + strlen("rmm_drop_test: "), NULL, 10);
	pclose(f);
	return n;
}

static int bug_lines(void)
{
	FILE *f = popen("dmesg | grep -c 'rmm: BUG'", "r");
	int n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

FIXTURE(movable)
{
};

FIXTURE_SETUP(movable)
{
}

FIXTURE_TEARDOWN(movable)
{
}

TEST_F_TIMEOUT(movable, drop_page_being_migrated, 900)
{
	struct offline_result res = { 0 };
	int fd, bugs = bug_lines(), ret;
	long dropped;

	if (access(DROP_DEV, F_OK))
		SKIP(return, DROP_DEV " not there (rmm_drop_test.ko not loaded)");
	/* Its pages are allocated at open, in this task's (movable) node. */
	prefer_movable_node();
	fd = open(DROP_DEV, O_RDWR);
	ASSERT_GE(fd, 0) TH_LOG("open: %s", strerror(errno));
	ret = offline_movable_blocks(&res);
	ASSERT_EQ(0, ret) TH_LOG("offlining: %s", strerror(-ret));
	close(fd);
	dropped = dropped_in_callback();
	TH_LOG("%d movable blocks: %d offlined, %d unfit, %d failed; %ld pages dropped inside migrate_page",
	       res.blocks, res.offlined, res.unfit, res.failed, dropped);
	EXPECT_EQ(0, res.failed) TH_LOG("block %d: %s", res.last_block, strerror(res.last_errno));
	EXPECT_GT(dropped, 0);
	/* Released under the VM's lock: nothing leaked, nothing reported. */
	EXPECT_EQ(bugs, bug_lines());
}

TEST_HARNESS_MAIN
