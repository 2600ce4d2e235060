// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Selftests for rmirror's test_hmm interface (/dev/hmm_dmirror0, or
 * /dev/rmirror_hmm0 when rmirror is loaded with hmm_names=0) beyond what
 * the kernel's hmm-tests check: the parameter that names the devices,
 * device faults that fail leave no page tables behind, and a snapshot
 * racing MADV_DONTNEED is what the page tables held at one moment, never a
 * mix of before and after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../rmm_selftest.h"
/* From the kernel source tree, as hmm-tests.c includes it. */
#include <lib/test_hmm_uapi.h>

#define PAGE_SZ 4096UL
#define TABLES_CG CG_ROOT "/rmirror_tables"

#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif

#define HMM_NAMES "/sys/module/rmirror/parameters/hmm_names"

/*
 * rmirror's device 0 of test_hmm's interface, as the parameter hmm_names
 * names it, or NULL if rmirror is not loaded.
 */
static const char *dmirror_path(void)
{
	char v[8];

	if (read_file(HMM_NAMES, v, sizeof(v)))
		return NULL;
	return v[0] == 'Y' ? "/dev/hmm_dmirror0" : "/dev/rmirror_hmm0";
}

/*
 * hmm_names is a bool (Y or N) that names both devices, and read-only:
 * sysfs refuses to open it for writing, even to root.
 */
TEST(hmm_names_names_the_devices)
{
	static const char *const names[2][2] = {
		{ "/dev/rmirror_hmm0", "/dev/rmirror_hmm1" },
		{ "/dev/hmm_dmirror0", "/dev/hmm_dmirror1" },
	};
	struct stat st;
	char v[8];
	int i, y;

	if (read_file(HMM_NAMES, v, sizeof(v)))
		SKIP(return, "no %s (rmirror not loaded?)", HMM_NAMES);
	ASSERT_TRUE(!strcmp(v, "Y\n") || !strcmp(v, "N\n")) TH_LOG("hmm_names reads '%s'", v);
	y = v[0] == 'Y';
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, stat(names[y][i], &st)) TH_LOG("%s: %s", names[y][i], strerror(errno));
		EXPECT_TRUE(S_ISCHR(st.st_mode));
	}
	if (getuid() == 0)
		EXPECT_EQ(-EACCES, write_file(HMM_NAMES, y ? "N" : "Y"));
}

static int dmirror_cmd(int fd, unsigned long req, void *addr, void *buf, unsigned long npages)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr,
		.ptr = (uintptr_t)buf,
		.npages = npages,
	};

	return ioctl(fd, req, &cmd) ? -errno : 0;
}

static long memory_current(void)
{
	char buf[64];

	if (read_file(TABLES_CG "/memory.current", buf, sizeof(buf)))
		return -1;
	return atol(buf);
}

FIXTURE(dmirror)
{
	int fd;
};

FIXTURE_SETUP(dmirror)
{
	const char *path = dmirror_path();

	if (!path)
		SKIP(return, "rmirror's test_hmm interface is not there (rmirror not loaded?)");
	self->fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", path, strerror(errno));
}

FIXTURE_TEARDOWN(dmirror)
{
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * 20,000 device reads of unmapped addresses 2 MiB apart, each in a leaf
 * table of its own: every one fails with EFAULT, and the tables the faults
 * made for them are given back (they were charged to this cgroup: before
 * the fix each probe kept a 4 KiB table until close, 80 MiB in all). Nor do
 * later invalidations pay for them: clear_refs (soft-dirty, an invalidation
 * of the whole address space) takes no longer after the probes than before
 * them, within twice the time plus 2 ms (TCG's noise).
 */
#define PROBES 20000
#define PROBE_STRIDE (2UL << 20)

/* How long an invalidation of the whole address space takes, in ns. */
static long clear_refs_ns(void)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (write_file("/proc/self/clear_refs", "4"))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
}

TEST_F_TIMEOUT(dmirror, failed_reads_hold_no_tables, 600)
{
	char *base;
	long before, after, fresh_ns, after_ns;
	uint64_t buf[PAGE_SZ / 8];
	int i, efault = 0;

	if (cg_memory_controller())
		SKIP(return, "no cgroup v2 memory controller at /sys/fs/cgroup");
	ASSERT_EQ(cg_create(TABLES_CG), 0);
	ASSERT_EQ(cg_enter(TABLES_CG), 0);

	/* Addresses nothing is mapped at: reserved, then unmapped. */
	base = mmap(NULL, PROBES * PROBE_STRIDE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(base, MAP_FAILED);
	ASSERT_EQ(munmap(base, PROBES * PROBE_STRIDE), 0);

	/* One probe first, so that the upper tables are there before counting. */
	dmirror_cmd(self->fd, HMM_DMIRROR_READ, base, buf, 1);
	fresh_ns = clear_refs_ns();
	dmirror_cmd(self->fd, HMM_DMIRROR_READ, base, buf, 1);
	before = memory_current();
	for (i = 0; i < PROBES; i++)
		efault += dmirror_cmd(self->fd, HMM_DMIRROR_READ,
				      base + i * PROBE_STRIDE, buf, 1) == -EFAULT;
	after = memory_current();
	after_ns = clear_refs_ns();
	ksft_print_msg("%d failed reads: memory.current %ld -> %ld bytes (%+ld KiB)\n",
		       PROBES, before, after, (after - before) / 1024);
	ksft_print_msg("clear_refs: %ld us before the reads, %ld us after\n",
		       fresh_ns / 1000, after_ns / 1000);

	cg_leave(TABLES_CG);
	EXPECT_EQ(PROBES, efault);
	ASSERT_GT(before, 0);
	/* A few tables (the last faults', those waiting for a grace period). */
	EXPECT_LT(after - before, 1L << 20);
	ASSERT_GE(fresh_ns, 0);
	ASSERT_GE(after_ns, 0);
	EXPECT_LE(after_ns, 2 * fresh_ns + 2000000);
}

/*
 * A snapshot of 64 pages (one hmm_range_fault() call) while a sibling
 * thread zaps the second half with MADV_DONTNEED and writes it again, over
 * and over: over any stretch of time without a write, the half must read
 * as all mapped or all unmapped (one moment of the page tables), never
 * torn; with nothing but unmapped time, all unmapped. The first half is
 * always mapped.
 */
#define SNAP_PAGES 64
#define HALF (SNAP_PAGES / 2)

struct zapper {
	char *buf;
	atomic_bool stop;
	/* 4k: mapped; 4k+1: zapping; 4k+2: unmapped; 4k+3: writing. */
	atomic_ulong phase;
};

static void *zap_loop(void *arg)
{
	struct zapper *z = arg;
	char *half = z->buf + HALF * PAGE_SZ;
	int i;

	/*
	 * A pause in each stable state, so that many snapshots fall within
	 * stretches without a write, and many of those across a zap.
	 */
	while (!atomic_load(&z->stop)) {
		atomic_fetch_add(&z->phase, 1);
		madvise(half, HALF * PAGE_SZ, MADV_DONTNEED);
		atomic_fetch_add(&z->phase, 1);
		usleep(2000);
		atomic_fetch_add(&z->phase, 1);
		for (i = 0; i < HALF; i++)
			half[i * PAGE_SZ] = 1;
		atomic_fetch_add(&z->phase, 1);
		usleep(2000);
	}
	return NULL;
}

TEST_F_TIMEOUT(dmirror, snapshot_racing_dontneed_is_one_moment, 300)
{
	struct zapper z = { 0 };
	unsigned char prot[SNAP_PAGES];
	unsigned long snapshots = 0, checked = 0, across = 0, unmapped_only = 0;
	unsigned long torn = 0, lost = 0, zaps;
	struct timespec t0, t;
	pthread_t thread;
	int i, ret;

	z.buf = mmap(NULL, SNAP_PAGES * PAGE_SZ, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(z.buf, MAP_FAILED);
	madvise(z.buf, SNAP_PAGES * PAGE_SZ, MADV_NOHUGEPAGE);
	for (i = 0; i < SNAP_PAGES; i++)
		z.buf[i * PAGE_SZ] = 1;
	ASSERT_EQ(0, pthread_create(&thread, NULL, zap_loop, &z));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		unsigned long p1, p2;
		int mapped = 0, none = 0;

		p1 = atomic_load(&z.phase);
		ret = dmirror_cmd(self->fd, HMM_DMIRROR_SNAPSHOT, z.buf, prot, SNAP_PAGES);
		p2 = atomic_load(&z.phase);
		if (ret)
			break;
		snapshots++;
		for (i = 0; i < HALF; i++)
			lost += !(prot[i] & HMM_DMIRROR_PROT_WRITE);
		/* Only the stretches in which no write happened are judged. */
		if (p1 / 4 != p2 / 4 || p1 % 4 == 3 || p2 % 4 == 3)
			goto next;
		for (i = HALF; i < SNAP_PAGES; i++) {
			mapped += !!(prot[i] & HMM_DMIRROR_PROT_WRITE);
			none += prot[i] == HMM_DMIRROR_PROT_NONE;
		}
		checked++;
		across += p1 != p2;
		if (mapped != HALF && none != HALF)
			torn++;
		if (p1 == p2 && p1 % 4 == 2) {
			unmapped_only++;
			torn += none != HALF;
		}
next:
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 5);
	atomic_store(&z.stop, true);
	pthread_join(thread, NULL);
	zaps = atomic_load(&z.phase) / 4;

	ksft_print_msg("%lu zaps, %lu snapshots; judged %lu (%lu across a zap, %lu in unmapped time): %lu torn, %lu stable pages lost\n",
		       zaps, snapshots, checked, across, unmapped_only, torn, lost);
	ASSERT_EQ(0, ret) TH_LOG("snapshot: %s", strerror(-ret));
	EXPECT_GT(checked, 0);
	EXPECT_EQ(0, torn);
	EXPECT_EQ(0, lost);
	munmap(z.buf, SNAP_PAGES * PAGE_SZ);
}

TEST_HARNESS_MAIN
