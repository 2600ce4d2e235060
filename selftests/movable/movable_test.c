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

/* The pages rmm_drop_test dropped inside migrate_page, summed over its "closed" lines. */
static long dropped_in_callback_total(void)
{
	FILE *f = popen("dmesg | sed -n 's/.*rmm_drop_test: \\([0-9]*\\) pages dropped inside migrate_page.*/\\1/p'", "r");
	long n = 0, v;

	if (!f)
		return 0;
	while (fscanf(f, "%ld", &v) == 1)
		n += v;
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

/*
 * Where the helper's pages land is up to the page allocator, and only some
 * ZONE_MOVABLE blocks can be offlined (others hold boot-time memory): after
 * offlining, the run of the helper's pages in each pageblock of
 * ZONE_MOVABLE is allocated with alloc_contig_range() (rmm_contig.ko, if
 * loaded), which migrates them too; the file is opened again up to 6 times,
 * with half the free memory held by a ballast, until some were migrated.
 */
TEST_F_TIMEOUT(movable, drop_page_being_migrated, 1800)
{
	struct offline_result res = { 0 };
	struct contig_result contig;
	unsigned long pageblocks = 0;
	int fd, bugs = bug_lines(), ret, tries;
	long dropped = 0, before = dropped_in_callback_total();

	if (access(DROP_DEV, F_OK))
		SKIP(return, DROP_DEV " not there (rmm_drop_test.ko not loaded)");
	/* Its pages are allocated at open, in this task's (movable) node. */
	prefer_movable_node();
	for (tries = 0; tries < 7 && dropped <= 0; tries++) {
		size_t ballast_len = tries ? mem_available() / 2 & ~4095UL : 0;
		char *ballast = ballast_len ? mmap(NULL, ballast_len, PROT_READ | PROT_WRITE,
						   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0) : NULL;

		fd = open(DROP_DEV, O_RDWR);
		if (ballast && ballast != MAP_FAILED)
			munmap(ballast, ballast_len);
		ASSERT_GE(fd, 0) TH_LOG("open: %s", strerror(errno));
		ret = offline_movable_blocks(&res);
		ASSERT_EQ(0, ret) TH_LOG("offlining: %s", strerror(-ret));
		if (!access(CONTIG_MOVABLE, W_OK)) {
			ret = contig_movable_blocks(&contig);
			ASSERT_EQ(0, ret) TH_LOG("%s: %s", CONTIG_MOVABLE, strerror(-ret));
			pageblocks += contig.tried;
		}
		close(fd);
		EXPECT_EQ(0, res.failed) TH_LOG("block %d: %s", res.last_block, strerror(res.last_errno));
		dropped = dropped_in_callback_total() - before;
	}
	TH_LOG("%d tries; %d movable blocks: %d offlined, %d unfit, %d failed; %lu runs allocated over; %ld pages dropped inside migrate_page",
	       tries, res.blocks, res.offlined, res.unfit, res.failed, pageblocks, dropped);
	/* Released under the VM's lock: nothing leaked, nothing reported. */
	EXPECT_EQ(bugs, bug_lines());
	if (dropped <= 0)
		SKIP(return, "no page of the helper landed in a block that can be offlined in %d tries",
		     tries);
}

TEST_HARNESS_MAIN
