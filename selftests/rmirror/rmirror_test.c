// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Selftests for rmirror.ko, a secondary MMU kept by MMU notifiers: device
 * reads and writes through the mirror, invalidation by every kind of
 * mapping change (the next device access sees the new page, never a stale
 * one), accessed-bit harvesting through page_idle, release on process exit,
 * an invalidation storm against device reads, and bad input.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../rmm_selftest.h"
#include "rmirror_ioctl.h"

#define PAGE_SZ 4096UL
#define HPAGE_SZ (2UL << 20)

#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif

static uint64_t total_invalidations(const struct rmirror_stats *st)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < RMIRROR_NR_EVENTS; i++)
		n += st->invalidations[i];
	return n;
}

static const char *const event_names[RMIRROR_NR_EVENTS] = {
	"unmap", "clear", "protection_vma", "protection_page", "soft_dirty",
	"release", "migrate", "exclusive", "other",
};

/* "unmap 1 clear 2" for the events that moved between two stats. */
static const char *event_delta(const struct rmirror_stats *a, const struct rmirror_stats *b)
{
	static char buf[256];
	size_t n = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < RMIRROR_NR_EVENTS; i++)
		if (b->invalidations[i] != a->invalidations[i])
			n += snprintf(buf + n, sizeof(buf) - n, "%s%s %llu (%llu entries)",
				      n ? ", " : "", event_names[i],
				      (unsigned long long)(b->invalidations[i] - a->invalidations[i]),
				      (unsigned long long)(b->dropped[i] - a->dropped[i]));
	return buf;
}

static void *map_pages(size_t npages)
{
	void *p = mmap(NULL, npages * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Page i of a region holds the byte (seed + i) everywhere. */
static void fill_pages(char *p, size_t npages, int seed)
{
	size_t i;

	for (i = 0; i < npages; i++)
		memset(p + i * PAGE_SZ, (char)(seed + i), PAGE_SZ);
}

static int pages_are(const char *buf, size_t npages, int seed)
{
	size_t i, j;

	for (i = 0; i < npages; i++)
		for (j = 0; j < PAGE_SZ; j++)
			if (buf[i * PAGE_SZ + j] != (char)(seed + i))
				return 0;
	return 1;
}

static long read_long(const char *path)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	long v;

	if (fd < 0)
		return -1;
	v = read(fd, buf, sizeof(buf) - 1) > 0 ? strtol(buf, NULL, 10) : -1;
	close(fd);
	return v;
}

FIXTURE(rmirror)
{
	int fd;
	char *mem;
	char *buf;
};

#define NPAGES 16

FIXTURE_SETUP(rmirror)
{
	self->mem = NULL;
	self->buf = malloc(RMIRROR_MAX_RW);
	ASSERT_NE(self->buf, NULL);
	self->fd = open(RMIRROR_DEV, O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, RMIRROR_DEV " does not exist: rmirror.ko is not loaded");
	ASSERT_GE(self->fd, 0);
	self->mem = map_pages(NPAGES);
	ASSERT_NE(self->mem, NULL);
	fill_pages(self->mem, NPAGES, 1);
}

FIXTURE_TEARDOWN(rmirror)
{
	if (self->fd >= 0)
		close(self->fd);
	free(self->buf);
}

/* Device reads see the CPU's data; CPU reads see the device's writes. */
TEST_F(rmirror, read_write_roundtrip)
{
	uint8_t snap[NPAGES];
	struct rmirror_stats st;
	int i;

	/* Every page is faulted in (read-only) at setup. */
	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, NPAGES, 1));
	/* An unaligned read across a page boundary. */
	ASSERT_EQ(dev_read(self->fd, self->mem + PAGE_SZ - 10, self->buf, 20), 0);
	ASSERT_EQ(self->buf[0], 1);
	ASSERT_EQ(self->buf[9], 1);
	ASSERT_EQ(self->buf[10], 2);
	ASSERT_EQ(self->buf[19], 2);

	fill_pages(self->buf, NPAGES / 2, 100);
	ASSERT_EQ(dev_write(self->fd, self->mem, self->buf, NPAGES / 2 * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->mem, NPAGES / 2, 100));
	ASSERT_TRUE(pages_are(self->mem + NPAGES / 2 * PAGE_SZ, NPAGES / 2, 1 + NPAGES / 2));

	ASSERT_EQ(dev_snapshot(self->fd, self->mem, snap, NPAGES), 0);
	for (i = 0; i < NPAGES; i++) {
		ASSERT_TRUE(snap[i] & RMIRROR_VALID);
		ASSERT_TRUE(snap[i] & RMIRROR_ACCESSED);
		/* Writable (and dirty) exactly where the device wrote. */
		ASSERT_EQ(!!(snap[i] & RMIRROR_WRITE), i < NPAGES / 2);
		ASSERT_EQ(!!(snap[i] & RMIRROR_DIRTY), i < NPAGES / 2);
	}
	ASSERT_EQ(dev_stats(self->fd, &st), 0);
	ASSERT_EQ(st.mirrored, NPAGES);
	ASSERT_EQ(st.start, (uintptr_t)self->mem);
	ASSERT_EQ(st.end, (uintptr_t)self->mem + NPAGES * PAGE_SZ);
	ASSERT_GE(st.faults, NPAGES + NPAGES / 2);
	ASSERT_EQ(st.write_faults, NPAGES / 2);
}

/* munmap drops the entries; a new mapping at the same place is seen. */
TEST_F(rmirror, munmap_invalidates)
{
	struct rmirror_stats a, b;
	uint8_t snap[NPAGES];
	char *p;

	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	ASSERT_EQ(munmap(self->mem + 4 * PAGE_SZ, 2 * PAGE_SZ), 0);
	ASSERT_EQ(dev_stats(self->fd, &b), 0);
	TH_LOG("munmap: %s", event_delta(&a, &b));
	ASSERT_GT(b.invalidations[RMIRROR_EV_UNMAP], a.invalidations[RMIRROR_EV_UNMAP]);
	ASSERT_EQ(b.mirrored, NPAGES - 2);
	ASSERT_EQ(dev_snapshot(self->fd, self->mem, snap, NPAGES), 0);
	ASSERT_FALSE(snap[4] & RMIRROR_VALID);
	ASSERT_FALSE(snap[5] & RMIRROR_VALID);
	ASSERT_TRUE(snap[6] & RMIRROR_VALID);
	/* Nothing mapped there: the device faults. */
	ASSERT_EQ(dev_read(self->fd, self->mem + 4 * PAGE_SZ, self->buf, PAGE_SZ), -EFAULT);
	/* A new mapping in the hole is what the device sees next. */
	p = mmap(self->mem + 4 * PAGE_SZ, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(p, self->mem + 4 * PAGE_SZ);
	fill_pages(p, 2, 77);
	ASSERT_EQ(dev_read(self->fd, p, self->buf, 2 * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, 2, 77));
}

/* mprotect drops the entries; writes fault until write access returns. */
TEST_F(rmirror, mprotect_invalidates)
{
	struct rmirror_stats a, b;
	uint8_t snap[NPAGES];

	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	fill_pages(self->buf, 1, 50);
	ASSERT_EQ(dev_write(self->fd, self->mem, self->buf, PAGE_SZ), 0);
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	ASSERT_EQ(mprotect(self->mem, NPAGES * PAGE_SZ, PROT_READ), 0);
	ASSERT_EQ(dev_stats(self->fd, &b), 0);
	TH_LOG("mprotect: %s", event_delta(&a, &b));
	ASSERT_GT(b.invalidations[RMIRROR_EV_PROTECTION_VMA], a.invalidations[RMIRROR_EV_PROTECTION_VMA]);
	ASSERT_EQ(dev_snapshot(self->fd, self->mem, snap, 1), 0);
	ASSERT_FALSE(snap[0] & RMIRROR_WRITE);
	/* Read-only now: the device may read, not write (EPERM, as hmm_range_fault()). */
	ASSERT_EQ(dev_write(self->fd, self->mem, self->buf, PAGE_SZ), -EPERM);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, 1, 50));
	ASSERT_EQ(mprotect(self->mem, NPAGES * PAGE_SZ, PROT_READ | PROT_WRITE), 0);
	fill_pages(self->mem, 1, 60);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, 1, 60));
}

/* madvise(DONTNEED) drops the pages: the device sees zero-fill, not the old data. */
TEST_F(rmirror, dontneed_invalidates)
{
	struct rmirror_stats a, b;

	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	ASSERT_EQ(madvise(self->mem, NPAGES * PAGE_SZ, MADV_DONTNEED), 0);
	ASSERT_EQ(dev_stats(self->fd, &b), 0);
	TH_LOG("madvise(DONTNEED): %s", event_delta(&a, &b));
	ASSERT_GT(total_invalidations(&b), total_invalidations(&a));
	ASSERT_EQ(b.mirrored, 0);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
	ASSERT_TRUE(mem_is_zero(self->buf, NPAGES * PAGE_SZ));
}

/* mremap moves the pages away: the old range is invalidated and faults. */
TEST_F(rmirror, mremap_invalidates)
{
	struct rmirror_stats a, b;
	char *dst, *moved;

	dst = mmap(NULL, NPAGES * PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(dst, MAP_FAILED);
	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	moved = mremap(self->mem, NPAGES * PAGE_SZ, NPAGES * PAGE_SZ,
		       MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(moved, dst);
	ASSERT_EQ(dev_stats(self->fd, &b), 0);
	TH_LOG("mremap: %s", event_delta(&a, &b));
	ASSERT_GT(total_invalidations(&b), total_invalidations(&a));
	ASSERT_EQ(b.mirrored, 0);
	ASSERT_TRUE(pages_are(moved, NPAGES, 1));
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, PAGE_SZ), -EFAULT);
	/* New memory at the old address is what the device sees. */
	ASSERT_EQ(mmap(self->mem, NPAGES * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), self->mem);
	fill_pages(self->mem, NPAGES, 33);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, NPAGES, 33));
}

/*
 * fork write-protects the parent's pages (an invalidation). A device write
 * then breaks copy-on-write in the parent: the child keeps its own copy,
 * the parent sees the device's data.
 */
TEST_F(rmirror, fork_cow_invalidates)
{
	struct rmirror_stats a, b;
	int go[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* Wait for the parent's device write, then check our copy. */
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(pages_are(self->mem, NPAGES, 1) ? 0 : 1);
	}
	ASSERT_EQ(dev_stats(self->fd, &b), 0);
	TH_LOG("fork: %s", event_delta(&a, &b));
	ASSERT_GT(b.invalidations[RMIRROR_EV_PROTECTION_PAGE], a.invalidations[RMIRROR_EV_PROTECTION_PAGE]);

	fill_pages(self->buf, NPAGES, 90);
	ASSERT_EQ(dev_write(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
	ASSERT_EQ(write(go[1], "x", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	/* 0: the child's pages kept the data of before the fork. */
	ASSERT_EQ(WEXITSTATUS(status), 0);
	ASSERT_TRUE(pages_are(self->mem, NPAGES, 90));
	close(go[0]);
	close(go[1]);
}

/* Splitting a THP invalidates the whole huge page's range. */
TEST_F(rmirror, thp_split_invalidates)
{
	struct rmirror_stats a, b;
	uint8_t snap[HPAGE_SZ / PAGE_SZ];
	char *raw, *huge;
	size_t n = HPAGE_SZ / PAGE_SZ, i, valid = 0;
	int fd;

	raw = mmap(NULL, 2 * HPAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(raw, MAP_FAILED);
	huge = (char *)(((uintptr_t)raw + HPAGE_SZ - 1) & ~(HPAGE_SZ - 1));
	if (madvise(huge, HPAGE_SZ, MADV_HUGEPAGE))
		SKIP(return, "madvise(MADV_HUGEPAGE) failed: no THP in this kernel");
	fill_pages(huge, n, 7);
	/* Mirroring a huge page: the first entry faulted in maps it all. */
	ASSERT_EQ(dev_mirror(self->fd, huge, HPAGE_SZ), n);
	fd = open("/proc/self/smaps_rollup", O_RDONLY);
	if (fd >= 0) {
		char s[4096] = { 0 };

		read(fd, s, sizeof(s) - 1);
		close(fd);
		if (!strstr(s, "AnonHugePages:") || strstr(s, "AnonHugePages:         0 kB"))
			SKIP(return, "no transparent huge page was allocated");
	}
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	/* Zapping one 4 KiB page splits the PMD. */
	ASSERT_EQ(madvise(huge + 100 * PAGE_SZ, PAGE_SZ, MADV_DONTNEED), 0);
	ASSERT_EQ(dev_stats(self->fd, &b), 0);
	TH_LOG("THP split: %s", event_delta(&a, &b));
	ASSERT_EQ(dev_snapshot(self->fd, huge, snap, n), 0);
	for (i = 0; i < n; i++)
		valid += !!(snap[i] & RMIRROR_VALID);
	/* The split invalidated the whole 2 MiB, not just the zapped page. */
	ASSERT_EQ(valid, 0);
	ASSERT_EQ(b.invalidations[RMIRROR_EV_CLEAR] > a.invalidations[RMIRROR_EV_CLEAR], 1);
	ASSERT_EQ(dev_read(self->fd, huge + 99 * PAGE_SZ, self->buf, 3 * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, 1, 7 + 99));
	ASSERT_TRUE(mem_is_zero(self->buf + PAGE_SZ, PAGE_SZ));
	ASSERT_TRUE(pages_are(self->buf + 2 * PAGE_SZ, 1, 7 + 101));
	munmap(raw, 2 * HPAGE_SZ);
}

/* KSM merging replaces the pages: invalidated; after the merge, COW is seen. */
TEST_F_TIMEOUT(rmirror, ksm_merge_invalidates, 120)
{
	struct rmirror_stats a, b;
	long run, scan, sleep;
	char *p;
	int i;

	run = read_long("/sys/kernel/mm/ksm/run");
	if (run < 0)
		SKIP(return, "no /sys/kernel/mm/ksm: KSM is not built in");
	scan = read_long("/sys/kernel/mm/ksm/pages_to_scan");
	sleep = read_long("/sys/kernel/mm/ksm/sleep_millisecs");
	p = map_pages(4);
	ASSERT_NE(p, NULL);
	for (i = 0; i < 4; i++)
		memset(p + i * PAGE_SZ, 0x5a, PAGE_SZ);
	ASSERT_EQ(madvise(p, 4 * PAGE_SZ, MADV_MERGEABLE), 0);
	ASSERT_EQ(dev_mirror(self->fd, p, 4 * PAGE_SZ), 4);
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	ASSERT_EQ(write_file("/sys/kernel/mm/ksm/pages_to_scan", "1000"), 0);
	ASSERT_EQ(write_file("/sys/kernel/mm/ksm/sleep_millisecs", "0"), 0);
	ASSERT_EQ(write_file("/sys/kernel/mm/ksm/run", "1"), 0);
	/* Wait (up to 60 s) for ksmd to merge our pages. */
	for (i = 0; i < 600; i++) {
		ASSERT_EQ(dev_stats(self->fd, &b), 0);
		if (b.mirrored == 0 && total_invalidations(&b) > total_invalidations(&a))
			break;
		usleep(100000);
	}
	write_file("/sys/kernel/mm/ksm/run", "0");
	{
		char v[32];

		snprintf(v, sizeof(v), "%ld", scan);
		write_file("/sys/kernel/mm/ksm/pages_to_scan", v);
		snprintf(v, sizeof(v), "%ld", sleep);
		write_file("/sys/kernel/mm/ksm/sleep_millisecs", v);
	}
	TH_LOG("KSM: %s after %.1f s", event_delta(&a, &b), i / 10.0);
	ASSERT_LT(i, 600);
	ASSERT_GT(b.invalidations[RMIRROR_EV_CLEAR], a.invalidations[RMIRROR_EV_CLEAR]);
	/* Same data through the merged page... */
	ASSERT_EQ(dev_read(self->fd, p, self->buf, 4 * PAGE_SZ), 0);
	for (i = 0; i < 4 * (int)PAGE_SZ; i++)
		ASSERT_EQ(self->buf[i], 0x5a);
	/* ...and a CPU write breaks the merge for that page only. */
	p[PAGE_SZ] = 1;
	ASSERT_EQ(dev_read(self->fd, p, self->buf, 2 * PAGE_SZ), 0);
	ASSERT_EQ(self->buf[0], 0x5a);
	ASSERT_EQ(self->buf[PAGE_SZ], 1);
	munmap(p, 4 * PAGE_SZ);
	write_file("/sys/kernel/mm/ksm/run", run == 1 ? "1" : "2");
}

/*
 * Migrating the pages to another node invalidates; the data moves with them.
 * 6.12 reports CPU page migration (try_to_migrate_one() in mm/rmap.c) as
 * MMU_NOTIFY_CLEAR; MMU_NOTIFY_MIGRATE is only migrate_vma()'s, for device
 * memory.
 */
TEST_F(rmirror, migration_invalidates)
{
	void *pages[NPAGES];
	int nodes[NPAGES], status[NPAGES], i, target;
	struct rmirror_stats a, b;

	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node: nowhere to move pages to");
	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	for (i = 0; i < NPAGES; i++)
		pages[i] = self->mem + i * PAGE_SZ;
	ASSERT_EQ(syscall(SYS_move_pages, 0, NPAGES, pages, NULL, status, 0), 0);
	target = status[0] == 0 ? 1 : 0;
	for (i = 0; i < NPAGES; i++)
		nodes[i] = target;
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	ASSERT_EQ(syscall(SYS_move_pages, 0, NPAGES, pages, nodes, status, MPOL_MF_MOVE), 0);
	ASSERT_EQ(dev_stats(self->fd, &b), 0);
	TH_LOG("move_pages to node %d: %s", target, event_delta(&a, &b));
	for (i = 0; i < NPAGES; i++)
		ASSERT_EQ(status[i], target);
	ASSERT_GT(b.invalidations[RMIRROR_EV_CLEAR], a.invalidations[RMIRROR_EV_CLEAR]);
	ASSERT_EQ(b.dropped[RMIRROR_EV_CLEAR] - a.dropped[RMIRROR_EV_CLEAR], NPAGES);
	ASSERT_EQ(b.mirrored, 0);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, NPAGES, 1));
	fill_pages(self->buf, NPAGES, 40);
	ASSERT_EQ(dev_write(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->mem, NPAGES, 40));
}

/* The pfn of the page at addr, from /proc/self/pagemap (root sees pfns). */
static uint64_t pfn_of(void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (uintptr_t)addr / PAGE_SZ * 8) != 8)
		e = 0;
	close(fd);
	return (e & (1ULL << 63)) ? e & ((1ULL << 55) - 1) : 0;
}

/* Marks a page idle (1), or reads whether it is still idle. */
static int idle_bit(int fd, uint64_t pfn, int set)
{
	uint64_t word = 1ULL << (pfn % 64);
	off_t off = pfn / 64 * 8;

	if (set)
		return pwrite(fd, &word, 8, off) == 8 ? 0 : -errno;
	if (pread(fd, &word, 8, off) != 8)
		return -errno;
	return !!(word & (1ULL << (pfn % 64)));
}

/*
 * page_idle: marking a page idle clears the accessed bits of every mapping,
 * ours included (clear_young); reading asks again. A device access between
 * the two makes the page young exactly once; with none, it stays idle.
 */
TEST_F(rmirror, young_through_page_idle)
{
	struct rmirror_stats a, b;
	uint64_t pfn[4];
	int idle, i;

	idle = open("/sys/kernel/mm/page_idle/bitmap", O_RDWR);
	if (idle < 0)
		SKIP(return, "no /sys/kernel/mm/page_idle/bitmap: IDLE_PAGE_TRACKING is off");
	/* Drain the per-CPU LRU batches: page_idle only sees pages on the LRU. */
	write_file("/proc/sys/vm/compact_memory", "1");
	ASSERT_EQ(dev_mirror(self->fd, self->mem, 4 * PAGE_SZ), 4);
	for (i = 0; i < 4; i++) {
		pfn[i] = pfn_of(self->mem + i * PAGE_SZ);
		ASSERT_NE(pfn[i], 0);
	}
	/* The CPU does not touch the pages from here on. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(idle_bit(idle, pfn[i], 1), 0);
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	/* The device reads pages 0 and 2. */
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, 1), 0);
	ASSERT_EQ(dev_read(self->fd, self->mem + 2 * PAGE_SZ, self->buf, 1), 0);
	/* Young (not idle) where the device read, idle elsewhere. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(idle_bit(idle, pfn[i], 0), i % 2 == 1);
	ASSERT_EQ(dev_stats(self->fd, &b), 0);
	TH_LOG("young: %llu of %llu young callbacks answered young",
	       (unsigned long long)(b.young - a.young),
	       (unsigned long long)(b.young_calls - a.young_calls));
	ASSERT_EQ(b.young - a.young, 2);
	/* Reported once: marked idle again, nothing accessed, all idle now. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(idle_bit(idle, pfn[i], 1), 0);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(idle_bit(idle, pfn[i], 0), 1);
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	ASSERT_EQ(a.young, b.young);
	close(idle);
}

/* --- the shadow page table's own pages migrate --- */

/*
 * Mirrored 2 MiB chunks (one leaf table each), pages used in each, rounds.
 * A round writes one quarter of the pages and reads another, so 8 rounds
 * write and read each page twice; the loop goes on past them until table
 * pages have moved.
 */
#define TBL_CHUNKS 64
#define TBL_USED 8
#define TBL_PAGES (TBL_CHUNKS * TBL_USED)
#define TBL_ROUNDS 8
#define KPF_LRU (1ULL << 5)

/* Compacts and offlines memory until told to stop. */
struct migrator {
	pthread_t thread;
	volatile int stop;
	int rounds;
	int offlined;		/* blocks offlined and onlined again */
	int offline_err;	/* the last offlining error, if any */
};

static void *migrator_main(void *arg)
{
	struct migrator *m = arg;
	struct offline_result off = { 0 };

	while (!m->stop) {
		write_file("/proc/sys/vm/compact_memory", "1");
		if (offline_movable_blocks(&off))
			m->offline_err = EIO;
		m->offlined += off.offlined;
		if (off.failed)
			m->offline_err = off.last_errno;
		m->rounds++;
	}
	return NULL;
}

/*
 * Reads and harvests other pages of the same leaf tables (pages TBL_USED to
 * 2 * TBL_USED - 1 of each chunk) without a pause, through page_idle and
 * through the device's own aging: lock-free walks of the tables that are
 * being migrated, meeting their frozen entries.
 */
struct harvester {
	pthread_t thread;
	volatile int stop;
	volatile int fd;	/* the mirror now */
	int idle;
	char *mem;
	char buf[8];
	unsigned long passes;
};

static void *harvester_main(void *arg)
{
	struct harvester *h = arg;
	size_t i;

	while (!h->stop) {
		for (i = 0; i < TBL_PAGES; i++) {
			char *p = h->mem + (i / TBL_USED) * HPAGE_SZ + (TBL_USED + i % TBL_USED) * PAGE_SZ;
			uint64_t pfn;

			dev_read(h->fd, p, h->buf, sizeof(h->buf));
			pfn = pfn_of(p);
			if (pfn)
				idle_bit(h->idle, pfn, 1);
		}
		/*
		 * And many more lock-free walks than page_idle makes: the device
		 * ages the same pages itself, table by table, and looks at every
		 * accessed bit of the mirror, clearing none, a hundred times.
		 */
		for (i = 0; i < 100 * TBL_CHUNKS; i++) {
			struct rmirror_range r = {
				.addr = (uintptr_t)h->mem + (i % TBL_CHUNKS) * HPAGE_SZ + TBL_USED * PAGE_SZ,
				.len = TBL_USED * PAGE_SZ,
			};

			ioctl(h->fd, RMIRROR_IOC_AGE, &r);
			if (i % TBL_CHUNKS == 0) {
				r.addr = (uintptr_t)h->mem;
				r.len = TBL_CHUNKS * HPAGE_SZ;
				ioctl(h->fd, RMIRROR_IOC_YOUNG, &r);
			}
		}
		h->passes++;
	}
	return NULL;
}

/* The flags of /proc/kpageflags for a pfn, or 0. */
static uint64_t kpageflags(uint64_t pfn)
{
	uint64_t f = 0;
	int fd = open("/proc/kpageflags", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &f, 8, pfn * 8) != 8)
		f = 0;
	close(fd);
	return f;
}

/*
 * Seed thread 001's hazard: a device sets accessed and dirty bits in its page
 * table while the table page is being copied to a new place. The mirror's
 * table pages are movable: compaction and memory offlining run without a
 * pause while the device reads and writes pages of 64 leaf tables, and
 * page_idle clears the accessed bits (clear_young, without the mirror's
 * lock), of the checked pages after each round and of their neighbours in
 * the same tables all the time. After each round of accesses every valid entry of an accessed page
 * must have its accessed bit (and dirty bit if written), after each harvest
 * none may; no page the device never wrote may look dirty. An entry the VM
 * invalidated meanwhile (its page migrated) is counted, not checked.
 */
/*
 * A new mirror of [mem, mem + len), its tables made while a ballast of user
 * pages holds half of the free memory: each mirror's tables land somewhere
 * else. The fd, or -errno.
 */
static int table_mirror(char *mem, size_t len)
{
	size_t ballast_len = mem_available() / 2 & ~(PAGE_SZ - 1);
	char *ballast = ballast_len ? mmap(NULL, ballast_len, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0) : NULL;
	int fd = open(RMIRROR_DEV, O_RDWR), ret;

	if (fd < 0)
		return -errno;
	ret = dev_mirror(fd, mem, len);
	if (ballast && ballast != MAP_FAILED)
		munmap(ballast, ballast_len);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * A contiguous allocation (alloc_contig_range(): CMA, gigantic hugetlb
 * pages, virtio-mem) over memory that holds table pages migrates them, and
 * must then find every page of the range free: the old copy of a migrated
 * table may not wait for an RCU callback, or the range is busy (EBUSY)
 * right after. rmm_contig.ko allocates, one pageblock at a time, the run
 * from the first to the last non-LRU movable page (here: the mirror's table
 * pages) of each pageblock of ZONE_MOVABLE, and tries a busy one again once
 * the pending RCU callbacks have run. None may be busy only until then. (A
 * run that stays busy holds a page someone pins: not the tables' doing.)
 */
#define BALLAST (16UL << 20)

TEST_F_TIMEOUT(rmirror, contig_alloc_over_tables, 900)
{
	struct rmirror_stats a, b;
	struct contig_result res;
	size_t len = 64 * HPAGE_SZ, i;
	char *mem, *ballast;
	int fd, ret;

	if (access(CONTIG_MOVABLE, W_OK))
		SKIP(return, "no " CONTIG_MOVABLE " (rmm_contig.ko not loaded)");
	if (access(MEMORY_DIR "/block_size_bytes", R_OK))
		SKIP(return, "no " MEMORY_DIR " (CONFIG_MEMORY_HOTPLUG)");

	/* Table pages are allocated in our ioctls: in ZONE_MOVABLE's node. */
	prefer_movable_node();
	mem = mmap(NULL, len + HPAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(mem, MAP_FAILED);
	mem = (char *)(((uintptr_t)mem + HPAGE_SZ - 1) & ~(HPAGE_SZ - 1));
	ASSERT_EQ(madvise(mem, len, MADV_NOHUGEPAGE), 0);
	/* One page a leaf table: 64 leaf tables. */
	for (i = 0; i < len; i += HPAGE_SZ)
		mem[i] = 1;
	/*
	 * The tables are to come from ZONE_MOVABLE, where a table page is
	 * allocated first when it has room; table_mirror()'s ballast would
	 * fill it with user pages first. A small one instead, kept to the
	 * end: the first free pages handed out after boot are those of the
	 * last pageblock of RAM, which holds reserved memory and so can never
	 * be allocated.
	 */
	ballast = mmap(NULL, BALLAST, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(ballast, MAP_FAILED);
	fd = open(RMIRROR_DEV, O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_GE(dev_mirror(fd, mem, len), 0);
	ASSERT_EQ(dev_stats(fd, &a), 0);
	ret = contig_movable_blocks(&res);
	ASSERT_EQ(ret, 0) TH_LOG("%s: %s", CONTIG_MOVABLE, strerror(-ret));
	ASSERT_EQ(dev_stats(fd, &b), 0);
	TH_LOG("%lu runs of movable pages in ZONE_MOVABLE tried: %lu allocated, %lu busy until the RCU callbacks ran, %lu busy; %llu table pages migrated",
	       res.tried, res.allocated, res.busy_until_rcu, res.busy,
	       (unsigned long long)(b.tables_migrated - a.tables_migrated));
	/* Every table is still there, and the mirror still answers. */
	EXPECT_EQ(b.tables, a.tables);
	ASSERT_EQ(dev_read(fd, mem, self->buf, 8), 0);
	close(fd);
	munmap(ballast, BALLAST);
	if (b.tables_migrated == a.tables_migrated)
		SKIP(return, "no table page of ZONE_MOVABLE could be migrated (%lu runs tried, %lu busy)",
		     res.tried, res.busy);
	EXPECT_EQ(0, res.busy_until_rcu);
}

TEST_F_TIMEOUT(rmirror, table_pages_migrate_keep_ad_bits, 900)
{
	struct migrator mig = { 0 };
	struct harvester hv = { 0 };
	struct rmirror_stats a, b;
	unsigned long long moved = 0, slow = 0;
	int fd, remade = 0, mig_at_make = 0;
	static uint8_t snap[TBL_CHUNKS * (HPAGE_SZ / PAGE_SZ)];
	static uint8_t ever_written[TBL_PAGES];
	unsigned long a_checked = 0, d_checked = 0, clear_checked = 0, invalid = 0;
	unsigned long lost_a = 0, lost_d = 0, lost_clear = 0, false_d = 0, in_flight = 0;
	size_t len = TBL_CHUNKS * HPAGE_SZ, i;
	int idle, round, after_pass = -1;
	char *mem;

	idle = open("/sys/kernel/mm/page_idle/bitmap", O_RDWR);
	if (idle < 0)
		SKIP(return, "no /sys/kernel/mm/page_idle/bitmap: IDLE_PAGE_TRACKING is off");
	/* Table pages are allocated in our ioctls: in ZONE_MOVABLE's node. */
	prefer_movable_node();
	mem = mmap(NULL, len + HPAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(mem, MAP_FAILED);
	mem = (char *)(((uintptr_t)mem + HPAGE_SZ - 1) & ~(HPAGE_SZ - 1));
	ASSERT_EQ(madvise(mem, len, MADV_NOHUGEPAGE), 0);
	/*
	 * The pages we use, and the harvester's after them, are the CPU's own
	 * (on the LRU, so page_idle sees them).
	 */
	for (i = 0; i < 2 * TBL_PAGES; i++)
		memset(mem + (i / (2 * TBL_USED)) * HPAGE_SZ + (i % (2 * TBL_USED)) * PAGE_SZ,
		       (char)i, PAGE_SZ);
	fd = table_mirror(mem, len);
	ASSERT_GE(fd, 0) TH_LOG("MIRROR: %s", strerror(-fd));
	ASSERT_EQ(dev_stats(fd, &a), 0);
	TH_LOG("mirror of %zu MiB: %llu table pages", len >> 20, (unsigned long long)a.tables);
	ASSERT_GE(a.tables, TBL_CHUNKS);
	ASSERT_EQ(pthread_create(&mig.thread, NULL, migrator_main, &mig), 0);
	hv.fd = fd;
	hv.idle = idle;
	hv.mem = mem;
	ASSERT_EQ(pthread_create(&hv.thread, NULL, harvester_main, &hv), 0);
	/*
	 * At least TBL_ROUNDS rounds, one whole migrator pass and two rounds
	 * after it (they check the bits of the tables it moved), and until
	 * table pages have moved: a mirror whose tables two passes did not move
	 * (they sit in a block that cannot be offlined) is made again, up to 6
	 * times.
	 */
	for (round = 0; round < 100 * TBL_ROUNDS; round++) {
		ASSERT_EQ(dev_stats(fd, &b), 0);
		if (mig.rounds >= 1 && after_pass < 0)
			after_pass = round;
		if (round >= TBL_ROUNDS && after_pass >= 0 && round >= after_pass + 2 &&
		    (moved + b.tables_migrated - a.tables_migrated || remade == 6))
			break;
		if (b.tables_migrated == a.tables_migrated && mig.rounds - mig_at_make >= 2 &&
		    remade < 6) {
			int old = fd;

			slow += b.slow_harvests - a.slow_harvests;
			fd = table_mirror(mem, len);
			ASSERT_GE(fd, 0) TH_LOG("MIRROR: %s", strerror(-fd));
			hv.fd = fd;
			close(old);
			ASSERT_EQ(dev_stats(fd, &a), 0);
			memset(ever_written, 0, sizeof(ever_written));
			mig_at_make = mig.rounds;
			remade++;
		}
		/* The device writes a quarter of the pages and reads another quarter. */
		for (i = 0; i < TBL_PAGES; i++) {
			char *p = mem + (i / TBL_USED) * HPAGE_SZ + (i % TBL_USED) * PAGE_SZ;

			if ((i + round) % 4 == 0) {
				ASSERT_EQ(dev_write(fd, p, self->buf, 8), 0);
				ever_written[i] = 1;
			} else if ((i + round) % 4 == 1) {
				ASSERT_EQ(dev_read(fd, p, self->buf, 8), 0);
			}
		}
		ASSERT_EQ(dev_snapshot(fd, mem, snap, sizeof(snap)), 0);
		for (i = 0; i < TBL_PAGES; i++) {
			uint8_t f = snap[(i / TBL_USED) * (HPAGE_SZ / PAGE_SZ) + i % TBL_USED];
			int w = (i + round) % 4 == 0, r = (i + round) % 4 == 1;

			if (!(f & RMIRROR_VALID)) {
				invalid++;
				continue;
			}
			if ((f & RMIRROR_DIRTY) && !ever_written[i])
				false_d++;
			if (w || r) {
				a_checked++;
				lost_a += !(f & RMIRROR_ACCESSED);
			}
			if (w) {
				d_checked++;
				lost_d += !(f & RMIRROR_DIRTY);
			}
		}
		/* page_idle clears the accessed bits: the CPU's and the mirror's. */
		write_file("/proc/sys/vm/compact_memory", "1");	/* drains the LRU caches */
		for (i = 0; i < TBL_PAGES; i++) {
			uint64_t pfn = pfn_of(mem + (i / TBL_USED) * HPAGE_SZ + (i % TBL_USED) * PAGE_SZ);

			if (pfn)
				idle_bit(idle, pfn, 1);
		}
		ASSERT_EQ(dev_snapshot(fd, mem, snap, sizeof(snap)), 0);
		for (i = 0; i < TBL_PAGES; i++) {
			char *p = mem + (i / TBL_USED) * HPAGE_SZ + (i % TBL_USED) * PAGE_SZ;
			uint8_t f = snap[(i / TBL_USED) * (HPAGE_SZ / PAGE_SZ) + i % TBL_USED];
			uint64_t pfn;

			if (!(f & RMIRROR_VALID) || !(f & RMIRROR_ACCESSED)) {
				clear_checked += !!(f & RMIRROR_VALID);
				continue;
			}
			/*
			 * Still accessed: lost, unless page_idle could not see the
			 * page (off the LRU while the VM migrated it).
			 */
			pfn = pfn_of(p);
			if (!pfn || !(kpageflags(pfn) & KPF_LRU)) {
				in_flight++;
				continue;
			}
			idle_bit(idle, pfn, 1);
			ASSERT_EQ(dev_snapshot(fd, p, snap, 1), 0);
			if (snap[0] & RMIRROR_ACCESSED) {
				/* A second harvest did not clear it either: not a race. */
				lost_clear++;
			} else {
				in_flight++;
			}
		}
	}
	mig.stop = 1;
	hv.stop = 1;
	pthread_join(mig.thread, NULL);
	pthread_join(hv.thread, NULL);
	close(idle);
	ASSERT_EQ(dev_stats(fd, &b), 0);
	close(fd);
	moved += b.tables_migrated - a.tables_migrated;
	slow += b.slow_harvests - a.slow_harvests;
	TH_LOG("%d rounds against %d compaction+offlining passes (%d blocks offlined) and %lu "
	       "harvester passes, %d mirrors made again: %llu table pages migrated, "
	       "%llu harvests met a table being moved",
	       round, mig.rounds, mig.offlined, hv.passes, remade, moved, slow);
	TH_LOG("checked: %lu accessed bits, %lu dirty bits, %lu cleared bits; %lu entries invalidated "
	       "(their pages migrated), %lu pages page_idle could not see",
	       a_checked, d_checked, clear_checked, invalid, in_flight);
	if (mig.offline_err)
		TH_LOG("offlining failed at least once: %s%s", strerror(mig.offline_err),
		       mig.offline_err == EINTR ? " (a block did not offline within 20 s)" : "");
	TH_LOG("lost: %lu accessed, %lu dirty, %lu clears; %lu dirty bits never set by the device",
	       lost_a, lost_d, lost_clear, false_d);
	ASSERT_EQ(lost_a, 0);
	ASSERT_EQ(lost_d, 0);
	ASSERT_EQ(lost_clear, 0);
	ASSERT_EQ(false_d, 0);
	/* Most entries must have been checked, or the test proved nothing. */
	ASSERT_GT(a_checked, TBL_ROUNDS * TBL_PAGES / 4);
	if (!moved)
		SKIP(return, "no table page migrated: %d blocks offlined, none held one of %d mirrors' tables%s%s",
		     mig.offlined, remade + 1, mig.offline_err ? "; offlining: " : "",
		     mig.offline_err ? strerror(mig.offline_err) : "");
}

/* The mirrored process exits: release runs, the device can no longer access. */
TEST_F(rmirror, process_exit_releases)
{
	struct rmirror_stats st;
	int status;
	pid_t pid;

	/* The child mirrors its own address space on our file, then exits. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ) == NPAGES ? 0 : 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	ASSERT_EQ(dev_stats(self->fd, &st), 0);
	ASSERT_EQ(st.released, 1);
	ASSERT_EQ(st.mirrored, 0);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, PAGE_SZ), -ESRCH);
	/* The file stays set up: it cannot mirror again. */
	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), -EBUSY);
}

/* An invalidation storm against device reads: never freed memory. */
struct storm {
	char *mem;
	volatile int stop;
	unsigned long rounds;
};

static void *storm_main(void *arg)
{
	struct storm *s = arg;
	size_t i;

	while (!s->stop) {
		madvise(s->mem, NPAGES * PAGE_SZ, MADV_DONTNEED);
		for (i = 0; i < NPAGES; i++)
			memset(s->mem + i * PAGE_SZ, 0x40 + i, PAGE_SZ);
		s->rounds++;
	}
	return NULL;
}

/* Keeps reusing freed pages with a poison pattern. */
static void *poison_main(void *arg)
{
	struct storm *s = arg;

	while (!s->stop) {
		char *p = map_pages(64);

		if (!p)
			continue;
		memset(p, 0xee, 64 * PAGE_SZ);
		munmap(p, 64 * PAGE_SZ);
	}
	return NULL;
}

TEST_F(rmirror, invalidate_storm_vs_reads)
{
	struct storm s = { .mem = self->mem };
	struct rmirror_stats st;
	pthread_t inv, poison;
	unsigned long reads = 0;
	time_t end = time(NULL) + 5;
	size_t i, j;

	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_EQ(pthread_create(&inv, NULL, storm_main, &s), 0);
	ASSERT_EQ(pthread_create(&poison, NULL, poison_main, &s), 0);
	while (time(NULL) < end) {
		ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
		/* Each byte is what the page held at some point: old, zero or new. */
		for (i = 0; i < NPAGES; i++)
			for (j = 0; j < PAGE_SZ; j++) {
				char c = self->buf[i * PAGE_SZ + j];

				if (c != 0 && c != (char)(0x40 + i) && c != (char)(1 + i)) {
					s.stop = 1;
					pthread_join(inv, NULL);
					pthread_join(poison, NULL);
					ASSERT_TRUE(0) TH_LOG("page %zu byte %zu: 0x%02x", i, j, c & 0xff);
				}
			}
		reads++;
	}
	s.stop = 1;
	pthread_join(inv, NULL);
	pthread_join(poison, NULL);
	ASSERT_EQ(dev_stats(self->fd, &st), 0);
	TH_LOG("%lu device reads against %lu invalidation rounds: %llu invalidations, %llu retries",
	       reads, s.rounds, (unsigned long long)total_invalidations(&st),
	       (unsigned long long)st.retries);
	ASSERT_GT(reads, 0);
	ASSERT_GT(s.rounds, 0);
}

/* Bad input: a clear errno, and nothing changes. */
TEST_F(rmirror, bad_input)
{
	struct rmirror_stats st;
	struct rmirror_snapshot snap = { 0 };
	struct rmirror_range age;
	int i;
	uint8_t flags[NPAGES];
	void *unmapped;
	char *hole;

	unmapped = mmap(NULL, PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(unmapped, MAP_FAILED);
	/* Not set up yet. */
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, 1), -EINVAL);
	ASSERT_EQ(dev_stats(self->fd, &st), 0);
	ASSERT_EQ(st.mirrored, 0);
	/* Ranges. */
	ASSERT_EQ(dev_mirror(self->fd, self->mem + 1, PAGE_SZ), -EINVAL);
	ASSERT_EQ(dev_mirror(self->fd, self->mem, PAGE_SZ + 1), -EINVAL);
	ASSERT_EQ(dev_mirror(self->fd, self->mem, 0), -EINVAL);
	ASSERT_EQ(dev_mirror(self->fd, (void *)(-PAGE_SZ), 2 * PAGE_SZ), -EINVAL);
	ASSERT_EQ(dev_mirror(self->fd, self->mem, RMIRROR_MAX_LEN + PAGE_SZ), -EINVAL);
	/* A range with a hole in it is not mapped. */
	hole = map_pages(3);
	ASSERT_NE(hole, NULL);
	ASSERT_EQ(munmap(hole + PAGE_SZ, PAGE_SZ), 0);
	ASSERT_EQ(dev_mirror(self->fd, hole, 3 * PAGE_SZ), -EFAULT);
	ASSERT_EQ(dev_stats(self->fd, &st), 0);
	ASSERT_EQ(st.mirrored, 0);
	/* Requests at bad addresses. */
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_MIRROR, NULL), -1);
	ASSERT_EQ(errno, EFAULT);
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_STATS, unmapped), -1);
	ASSERT_EQ(errno, EFAULT);
	ASSERT_EQ(ioctl(self->fd, _IO('M', 0x7f)), -1);
	ASSERT_EQ(errno, ENOTTY);

	/* Now set up; the failures above left nothing behind. */
	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), -EBUSY);
	/* Lengths and ranges of device accesses. */
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, 0), -EINVAL);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, RMIRROR_MAX_RW + 1), -EINVAL);
	ASSERT_EQ(dev_read(self->fd, self->mem - PAGE_SZ, self->buf, 1), -EINVAL);
	ASSERT_EQ(dev_read(self->fd, self->mem + NPAGES * PAGE_SZ - 1, self->buf, 2), -EINVAL);
	ASSERT_EQ(dev_read(self->fd, (void *)-1UL, self->buf, 2), -EINVAL);
	/* Bad user buffers. */
	ASSERT_EQ(dev_read(self->fd, self->mem, unmapped, 10), -EFAULT);
	ASSERT_EQ(dev_write(self->fd, self->mem, unmapped, 10), -EFAULT);
	ASSERT_EQ(dev_write(self->fd, self->mem, NULL, 10), -EFAULT);
	/* Snapshots. */
	ASSERT_EQ(dev_snapshot(self->fd, self->mem, flags, 0), -EINVAL);
	ASSERT_EQ(dev_snapshot(self->fd, self->mem, flags, NPAGES + 1), -EINVAL);
	ASSERT_EQ(dev_snapshot(self->fd, self->mem + PAGE_SZ, flags, NPAGES), -EINVAL);
	snap.addr = (uintptr_t)self->mem;
	snap.buf = (uintptr_t)unmapped;
	snap.npages = 1;
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_SNAPSHOT, &snap), -1);
	ASSERT_EQ(errno, EFAULT);
	/* Aging: inside the window only; answers whether a page was young. */
	age.addr = (uintptr_t)self->mem;
	age.len = 0;
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_AGE, &age), -1);
	ASSERT_EQ(errno, EINVAL);
	age.len = (NPAGES + 1) * PAGE_SZ;
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_AGE, &age), -1);
	ASSERT_EQ(errno, EINVAL);
	age.addr = -PAGE_SZ;
	age.len = 2 * PAGE_SZ;
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_AGE, &age), -1);
	ASSERT_EQ(errno, EINVAL);
	age.addr = (uintptr_t)self->mem;
	age.len = NPAGES * PAGE_SZ;
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, 1), 0);
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_YOUNG, &age), 1);
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_YOUNG, &age), 1);
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_AGE, &age), 1);
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_AGE, &age), 0);
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_YOUNG, &age), 0);
	ASSERT_EQ(dev_snapshot(self->fd, self->mem, flags, NPAGES), 0);
	for (i = 0; i < NPAGES; i++) {
		ASSERT_FALSE(flags[i] & RMIRROR_ACCESSED);
	}
	/* The failed write changed nothing. */
	ASSERT_TRUE(pages_are(self->mem, NPAGES, 1));
	munmap(unmapped, PAGE_SZ);
}

/* The device node is root only. */
TEST_F(rmirror, root_only)
{
	ASSERT_EQ(nonroot_open_refused(RMIRROR_DEV), 0);
}

/* A live mirror pins the module: unloading is refused. */
TEST_F(rmirror, unload_refused_while_mirroring)
{
	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_TRUE(unload_refused("rmirror"));
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, 1, 1));
}

/*
 * Who may use a mirror, faults that wait for invalidations, the OOM reaper
 * and unloading. Only what these cases need more than the ones above.
 */
#include <limits.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>

#define MIB (1UL << 20)

/* A clock (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID) in milliseconds. */
static long clock_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/*
 * Device accesses from an address space that is not the mirrored one: a bit
 * set for each that did not fail with EIO (READ 1, WRITE 2, SNAPSHOT 4,
 * INVALIDATE 8), and 16 if STATS, which anyone may use, failed.
 */
static int foreign_ops(int fd, char *mem, char *buf)
{
	struct rmirror_stats st;
	uint8_t snap[NPAGES];
	int bad = 0;

	if (dev_read(fd, mem, buf, PAGE_SZ) != -EIO)
		bad |= 1;
	memset(buf, 0x77, PAGE_SZ);
	if (dev_write(fd, mem, buf, PAGE_SZ) != -EIO)
		bad |= 2;
	if (dev_snapshot(fd, mem, snap, NPAGES) != -EIO)
		bad |= 4;
	if (dev_invalidate(fd, 10) != -EIO)
		bad |= 8;
	if (dev_stats(fd, &st) || st.start != (uintptr_t)mem)
		bad |= 16;
	return bad;
}

/* The exit code of a child, or -1 if it did not exit. */
static int exit_code(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int send_fd(int sock, int fd)
{
	char c = 'f', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

/* The fd that came with one byte on sock, or -1. */
static int recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * Only the mirrored process may use the device: a fork()ed child, one that
 * dropped its privileges, and a process that received the file over a
 * socket all get EIO, and the mirrored memory does not change.
 */
TEST_F(rmirror, other_mm_gets_eio)
{
	int sv[2], code;
	pid_t pid;

	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);

	/* A fork()ed child: the same file, another mm. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(foreign_ops(self->fd, self->mem, self->buf));
	code = exit_code(pid);
	ASSERT_EQ(code, 0) TH_LOG("forked child: not EIO for mask 0x%x", code);
	/* The parent still reads through the mirror. */
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, NPAGES, 1));

	/* A child that dropped its privileges first. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(0x40);
		_exit(foreign_ops(self->fd, self->mem, self->buf));
	}
	code = exit_code(pid);
	ASSERT_EQ(code, 0) TH_LOG("unprivileged child: not EIO for mask 0x%x", code);

	/* A process that never had the file gets it over a unix socket. */
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd;

		close(self->fd);
		close(sv[0]);
		fd = recv_fd(sv[1]);
		if (fd < 0)
			_exit(0x20);
		_exit(foreign_ops(fd, self->mem, self->buf));
	}
	close(sv[1]);
	ASSERT_EQ(send_fd(sv[0], self->fd), 0);
	code = exit_code(pid);
	close(sv[0]);
	ASSERT_EQ(code, 0) TH_LOG("receiver of the fd: not EIO for mask 0x%x", code);

	/* None of the children's WRITEs landed. */
	ASSERT_TRUE(pages_are(self->mem, NPAGES, 1));
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, NPAGES, 1));
}

/*
 * A re-fault installs only the entry that was dropped: the valid neighbours
 * keep their write, accessed and dirty bits, and are not counted again.
 */
TEST_F(rmirror, refault_keeps_neighbours)
{
	enum { N = 128, ZAPPED = 5 };
	const uint8_t wdv = RMIRROR_WRITE | RMIRROR_DIRTY | RMIRROR_VALID;
	struct rmirror_stats a, b;
	uint8_t snap[N];
	char *p;
	int i;

	p = map_pages(N);
	ASSERT_NE(p, NULL);
	/* 4 KiB pages only: a THP split would invalidate every neighbour. */
	madvise(p, N * PAGE_SZ, MADV_NOHUGEPAGE);
	fill_pages(p, N, 1);
	ASSERT_EQ(dev_mirror(self->fd, p, N * PAGE_SZ), N);

	/* The device writes every page: all writable and dirty. */
	fill_pages(self->buf, N, 50);
	ASSERT_EQ(dev_write(self->fd, p, self->buf, N * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(p, N, 50));

	/* One page goes. */
	ASSERT_EQ(madvise(p + ZAPPED * PAGE_SZ, PAGE_SZ, MADV_DONTNEED), 0);
	ASSERT_EQ(dev_stats(self->fd, &a), 0);
	ASSERT_EQ(a.mirrored, N - 1);

	/* A read of everything faults that one page in, nothing else. */
	ASSERT_EQ(dev_read(self->fd, p, self->buf, N * PAGE_SZ), 0);
	ASSERT_EQ(dev_stats(self->fd, &b), 0);
	TH_LOG("faults %llu -> %llu, write faults %llu -> %llu, mirrored %llu",
	       (unsigned long long)a.faults, (unsigned long long)b.faults,
	       (unsigned long long)a.write_faults, (unsigned long long)b.write_faults,
	       (unsigned long long)b.mirrored);
	ASSERT_EQ(b.faults - a.faults, 1);
	ASSERT_EQ(b.write_faults, a.write_faults);
	ASSERT_EQ(b.mirrored, N);

	ASSERT_EQ(dev_snapshot(self->fd, p, snap, N), 0);
	for (i = 0; i < N; i++) {
		if (i == ZAPPED) {
			/* Faulted in again for reading: valid, clean, read-only. */
			ASSERT_TRUE(snap[i] & RMIRROR_VALID);
			ASSERT_FALSE(snap[i] & RMIRROR_DIRTY);
			ASSERT_FALSE(snap[i] & RMIRROR_WRITE);
			/* Anonymous memory after DONTNEED reads as zeros. */
			ASSERT_TRUE(mem_is_zero(self->buf + i * PAGE_SZ, PAGE_SZ));
		} else {
			ASSERT_EQ(snap[i] & wdv, wdv) TH_LOG("page %d: flags 0x%x", i, snap[i]);
			ASSERT_TRUE(pages_are(self->buf + i * PAGE_SZ, 1, 50 + i));
		}
	}
	munmap(p, N * PAGE_SZ);
}

/* A thread holding a device invalidation (RMIRROR_IOC_INVALIDATE). */
struct holder {
	int fd;
	uint32_t ms;
	int ret;	/* 0 or -errno */
	long took;	/* ms */
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	long t0 = clock_ms(CLOCK_MONOTONIC);

	h->ret = dev_invalidate(h->fd, h->ms);
	h->took = clock_ms(CLOCK_MONOTONIC) - t0;
	return NULL;
}

/* Waits (up to 5 s) until an invalidation has dropped the whole table. */
static int wait_held(int fd)
{
	struct rmirror_stats st;
	int i;

	for (i = 0; i < 5000; i++) {
		if (!dev_stats(fd, &st) && st.mirrored == 0)
			return 0;
		usleep(1000);
	}
	return -1;
}

/*
 * A device read during a held invalidation sleeps, and gives up with EBUSY
 * after about a second; once the invalidation ends, reads work again.
 */
TEST_F_TIMEOUT(rmirror, fault_waits_then_ebusy, 60)
{
	struct holder h = { .fd = self->fd, .ms = 3000 };
	long t0, cpu0, took, cpu;
	pthread_t t;
	int ret;

	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_EQ(pthread_create(&t, NULL, holder_main, &h), 0);
	ASSERT_EQ(wait_held(self->fd), 0);
	usleep(100000);

	/* The read waits for the held invalidation, asleep. */
	cpu0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
	t0 = clock_ms(CLOCK_MONOTONIC);
	ret = dev_read(self->fd, self->mem, self->buf, PAGE_SZ);
	took = clock_ms(CLOCK_MONOTONIC) - t0;
	cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	TH_LOG("read during the invalidation: %d (%s) after %ld ms, %ld ms of CPU",
	       ret, strerror(-ret), took, cpu);
	ASSERT_EQ(ret, -EBUSY);
	ASSERT_GE(took, 700);
	ASSERT_LE(took, 2500);
	ASSERT_LT(cpu, 300);

	/* The hold ends after its 3 s; then the device reads again. */
	ASSERT_EQ(pthread_join(t, NULL), 0);
	TH_LOG("invalidation held %ld ms", h.took);
	ASSERT_EQ(h.ret, 0);
	ASSERT_GE(h.took, 2900);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, NPAGES, 1));
}

/* A thread doing one device read, timed. */
struct waiter {
	int fd;
	char *mem;
	char *buf;
	int started;	/* set (atomically) before the read */
	int ret;	/* 0 or -errno */
	long took;	/* ms */
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	long t0 = clock_ms(CLOCK_MONOTONIC);

	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	w->ret = dev_read(w->fd, w->mem, w->buf, PAGE_SZ);
	w->took = clock_ms(CLOCK_MONOTONIC) - t0;
	return NULL;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

/*
 * A signal whose handler has no SA_RESTART ends a waiting device read with
 * EINTR at once, and cuts a held invalidation short (EINTR too).
 */
TEST_F(rmirror, signal_interrupts_fault)
{
	struct holder h = { .fd = self->fd, .ms = 5000 };
	struct waiter w = { .fd = self->fd, .mem = self->mem, .buf = self->buf };
	struct sigaction sa = { .sa_handler = on_sigusr1 }, old;
	pthread_t ht, wt;
	int i;

	/* No SA_RESTART: an interrupted ioctl fails with EINTR. */
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
	ASSERT_EQ(dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
	ASSERT_EQ(pthread_create(&ht, NULL, holder_main, &h), 0);
	ASSERT_EQ(wait_held(self->fd), 0);

	/* The reader waits; 200 ms later it gets SIGUSR1. */
	ASSERT_EQ(pthread_create(&wt, NULL, waiter_main, &w), 0);
	for (i = 0; i < 2000 && !__atomic_load_n(&w.started, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	usleep(200000);
	ASSERT_EQ(pthread_kill(wt, SIGUSR1), 0);
	ASSERT_EQ(pthread_join(wt, NULL), 0);
	TH_LOG("read: %d (%s) after %ld ms", w.ret, strerror(-w.ret), w.took);
	ASSERT_EQ(w.ret, -EINTR);
	ASSERT_LT(w.took, 700);

	/* The holder's sleep is cut short as well. */
	ASSERT_EQ(pthread_kill(ht, SIGUSR1), 0);
	ASSERT_EQ(pthread_join(ht, NULL), 0);
	TH_LOG("invalidation: %d (%s) after %ld ms", h.ret, strerror(-h.ret), h.took);
	ASSERT_EQ(h.ret, -EINTR);
	ASSERT_LT(h.took, 5000);
	ASSERT_EQ(dev_read(self->fd, self->mem, self->buf, PAGE_SZ), 0);
	ASSERT_TRUE(pages_are(self->buf, 1, 1));
	ASSERT_EQ(sigaction(SIGUSR1, &old, NULL), 0);
}

/*
 * SIGKILL ends a process whose threads wait in device reads behind a held
 * invalidation at once, not when the hold is over.
 */
TEST_F_TIMEOUT(rmirror, sigkill_ends_waiting_fault, 60)
{
	struct rmirror_stats st;
	int ready[2], status = 0, reaped = 0;
	long t0, took;
	pid_t pid;
	char c;

	ASSERT_EQ(pipe(ready), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct holder h = { .fd = self->fd, .ms = 8000 };
		pthread_t t;

		/* The child mirrors, holds an 8 s invalidation and reads. */
		close(ready[0]);
		if (dev_mirror(self->fd, self->mem, NPAGES * PAGE_SZ) != NPAGES)
			_exit(1);
		if (pthread_create(&t, NULL, holder_main, &h) || wait_held(self->fd))
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		for (;;)
			dev_read(self->fd, self->mem, self->buf, PAGE_SZ);
	}
	close(ready[1]);
	ASSERT_EQ(read(ready[0], &c, 1), 1) TH_LOG("the child failed to set up");
	close(ready[0]);
	usleep(300000);

	/* Killed while waiting: reaped within 2 s. */
	t0 = clock_ms(CLOCK_MONOTONIC);
	ASSERT_EQ(kill(pid, SIGKILL), 0);
	while (clock_ms(CLOCK_MONOTONIC) - t0 < 2000) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			reaped = 1;
			break;
		}
		usleep(5000);
	}
	took = clock_ms(CLOCK_MONOTONIC) - t0;
	/* Not gone: wait for it anyway (the hold ends within 8 s). */
	if (!reaped)
		waitpid(pid, &status, 0);
	TH_LOG("SIGKILLed child %s after %ld ms", reaped ? "reaped" : "still there", took);
	ASSERT_TRUE(reaped);
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(WTERMSIG(status), SIGKILL);
	ASSERT_EQ(dev_stats(self->fd, &st), 0);
	ASSERT_EQ(st.released, 1);
}

#define OOM_CG CG_ROOT "/rmirror_oom"

/* Whether a swap area is in use (/proc/swaps has more than its header). */
static int swap_on(void)
{
	char buf[512], *nl;

	if (read_file("/proc/swaps", buf, sizeof(buf)))
		return 0;
	nl = strchr(buf, '\n');
	return nl && nl[1];
}

/* Whether a kernel log record contains s: 1, 0, or -1 if unreadable. */
static int kmsg_has(const char *s)
{
	char rec[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK), found = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		/* EPIPE: records were overwritten meanwhile; read on. */
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		if (strstr(rec, s)) {
			found = 1;
			break;
		}
	}
	close(fd);
	return found;
}

/* Polls the stats until an invalidation came non-blockable: after how many ms, or -1. */
static long wait_nonblock(int fd, long max_ms)
{
	long t0 = clock_ms(CLOCK_MONOTONIC);
	struct rmirror_stats st;

	do {
		if (!dev_stats(fd, &st) && st.nonblock)
			return clock_ms(CLOCK_MONOTONIC) - t0;
		usleep(20000);
	} while (clock_ms(CLOCK_MONOTONIC) - t0 < max_ms);
	return -1;
}

struct oom_reader {
	int fd;
	char *mem;
	char *buf;
};

/* Device reads over the 8 MiB mirror, until the process dies. */
static void *oom_reader_main(void *arg)
{
	struct oom_reader *r = arg;
	unsigned long i;

	for (i = 0;; i++)
		dev_read(r->fd, r->mem + i % 8 * MIB, r->buf, MIB);
	return NULL;
}

/*
 * The OOM test's child: joins the cgroup, mirrors 8 MiB on the inherited
 * file, reads it from a thread and allocates until it is killed. Returns
 * only if something failed (or nothing killed it).
 */
static int oom_child(int fd, int go, char *buf)
{
	struct oom_reader r = { .fd = fd, .buf = buf };
	pthread_t t;
	size_t mb;
	char *p, c;

	if (read(go, &c, 1) != 1)
		return 1;
	if (cg_enter(OOM_CG))
		return 2;
	r.mem = mmap(NULL, 8 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r.mem == MAP_FAILED)
		return 3;
	memset(r.mem, 0x5a, 8 * MIB);
	if (dev_mirror(fd, r.mem, 8 * MIB) != (int)(8 * MIB / PAGE_SZ))
		return 4;
	if (pthread_create(&t, NULL, oom_reader_main, &r))
		return 5;
	for (mb = 0; mb < 512; mb++) {
		p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 6;
		memset(p, (int)mb, MIB);
	}
	return 7;
}

/*
 * An OOM-killed mirrored process: the OOM reaper's invalidations are
 * non-blockable, and the mirror counts them before release.
 *
 * In 6.12 exit_mmap() runs release first (the notifier is then gone) and
 * its unmap is blockable; the OOM reaper only starts 2 s (OOM_REAPER_DELAY)
 * after the kill, and skips an mm that exit_mmap() already tore down. A
 * victim that exits at once would never show the mirror a non-blockable
 * invalidation, so the child is traced with PTRACE_O_TRACEEXIT: killed, it
 * stops in do_exit() before exit_mm(), its mm stays for the reaper, and it
 * goes on once the mirror has seen the reaper.
 */
TEST_F_TIMEOUT(rmirror, oom_victim_nonblock_invalidation, 150)
{
	struct rmirror_stats st = { 0 };
	char line[64];
	long t0, deadline, stop_ms = -1, reap_ms = -1;
	int go[2], status = 0, reaped = 0, seized, seize_err = 0, stuck = 0, logged, ret, i;
	unsigned long code = 0;
	pid_t pid;

	/* cgroup v2 with the memory controller, mounted if need be. */
	ret = cg_memory_controller();
	if (ret < 0)
		SKIP(return, "no cgroup v2 at /sys/fs/cgroup (CONFIG_CGROUPS)");
	if (ret)
		SKIP(return, "\"memory\" is not in cgroup.controllers (CONFIG_MEMCG)");
	ASSERT_EQ(cg_create(OOM_CG), 0);
	/* 64 MiB, no swap: the child is OOM-killed, not swapped out. */
	ASSERT_EQ(write_file(OOM_CG "/memory.max", "64M"), 0);
	ret = write_file(OOM_CG "/memory.swap.max", "0");
	if (ret == -ENOENT && swap_on()) {
		rmdir(OOM_CG);
		SKIP(return, "swap is on, and no memory.swap.max to keep the child off it");
	}
	ASSERT_TRUE(ret == 0 || ret == -ENOENT) TH_LOG("memory.swap.max: %s", strerror(-ret));
	ASSERT_EQ(pipe(go), 0);

	/* Markers: the guest's dmesg check ignores the OOM report between them. */
	write_file("/dev/kmsg", "rmm: oom test begin\n");
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		_exit(oom_child(self->fd, go[0], self->buf));
	}
	close(go[0]);
	/* Traced before it starts; if that fails, EOF on the pipe ends it. */
	seized = pid > 0 && !ptrace(PTRACE_SEIZE, pid, NULL,
				     (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
	seize_err = seized ? 0 : errno;
	if (seized && write(go[1], "g", 1) != 1)
		seized = 0;
	close(go[1]);

	/* Up to 60 s for the kill; at the exit stop, 20 s for the reaper, 10 s to exit. */
	t0 = clock_ms(CLOCK_MONOTONIC);
	deadline = t0 + 60000;
	while (pid > 0 && clock_ms(CLOCK_MONOTONIC) < deadline) {
		if (waitpid(pid, &status, WNOHANG) != pid) {
			usleep(10000);
			continue;
		}
		if (!WIFSTOPPED(status)) {
			reaped = 1;
			break;
		}
		if (status >> 8 != (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			/* Another stop: resume, passing a signal on. */
			ptrace(PTRACE_CONT, pid, NULL,
			       (void *)(long)(status >> 16 ? 0 : WSTOPSIG(status)));
			continue;
		}
		/* Stopped on its way out, its mm still there. */
		ptrace(PTRACE_GETEVENTMSG, pid, NULL, &code);
		stop_ms = clock_ms(CLOCK_MONOTONIC) - t0;
		if (WIFSIGNALED((int)code) && WTERMSIG((int)code) == SIGKILL)
			reap_ms = wait_nonblock(self->fd, 20000);
		ptrace(PTRACE_CONT, pid, NULL, NULL);
		deadline = clock_ms(CLOCK_MONOTONIC) + 10000;
	}
	if (pid > 0 && !reaped) {
		/* Not gone in time: kill it and wait, resuming any stop. */
		stuck = 1;
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == pid && WIFSTOPPED(status))
			ptrace(PTRACE_CONT, pid, NULL, NULL);
	}
	write_file("/dev/kmsg", "rmm: oom test end\n");

	snprintf(line, sizeof(line), "oom_reaper: reaped process %d ", pid);
	logged = kmsg_has(line);
	for (i = 0; i < 100 && rmdir(OOM_CG) && errno == EBUSY; i++)
		usleep(10000);
	dev_stats(self->fd, &st);
	TH_LOG("child %d: exit stop %ld ms after go (exit code 0x%lx)", pid, stop_ms, code);
	TH_LOG("non-blockable invalidation %ld ms after the exit stop", reap_ms);
	TH_LOG("nonblock %llu, unmap invalidations %llu (%llu entries), released %llu",
	       (unsigned long long)st.nonblock,
	       (unsigned long long)st.invalidations[RMIRROR_EV_UNMAP],
	       (unsigned long long)st.dropped[RMIRROR_EV_UNMAP],
	       (unsigned long long)st.released);
	TH_LOG("kernel log %s \"%s\"",
	       logged > 0 ? "has" : logged ? "unreadable for" : "has no", line);
	ASSERT_GT(pid, 0);
	ASSERT_TRUE(seized) TH_LOG("PTRACE_SEIZE of the child failed: %s", strerror(seize_err));
	ASSERT_FALSE(stuck) TH_LOG("the child was not gone in time");
	ASSERT_TRUE(WIFSIGNALED(status))
		TH_LOG("the child exited with %d: not killed", WEXITSTATUS(status));
	ASSERT_EQ(WTERMSIG(status), SIGKILL);
	ASSERT_GT(st.nonblock, 0);
	ASSERT_EQ(st.released, 1);
}

/*
 * Closing the last file unregisters the notifier synchronously: the module
 * can be unloaded right after, and loaded again, round after round.
 */
TEST_F_TIMEOUT(rmirror, unload_right_after_close, 240)
{
	char exe[PATH_MAX], ko[PATH_MAX + 32];
	long t0, unload = 0, load = 0, t;
	int round, fd, kfd, ret, err, i;
	ssize_t n;

	/* rmirror.ko is ../../rmirror.ko from this binary's directory. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_GT(n, 0);
	exe[n] = 0;
	ASSERT_NE(strrchr(exe, '/'), NULL);
	*strrchr(exe, '/') = 0;
	snprintf(ko, sizeof(ko), "%s/../../rmirror.ko", exe);
	if (access(ko, R_OK))
		SKIP(return, "no %.900s to load again", ko);
	if (access("/sys/module/rmirror/refcnt", F_OK))
		SKIP(return, "rmirror is built in, or not a module that can be unloaded");
	/* The fixture's file would pin the module. */
	close(self->fd);
	self->fd = -1;

	for (round = 0; round < 20; round++) {
		/* Use the device, then close its only file. */
		fd = open(RMIRROR_DEV, O_RDWR);
		ASSERT_GE(fd, 0) TH_LOG("round %d: open: %s", round, strerror(errno));
		ASSERT_EQ(dev_mirror(fd, self->mem, NPAGES * PAGE_SZ), NPAGES);
		ASSERT_EQ(dev_read(fd, self->mem, self->buf, NPAGES * PAGE_SZ), 0);
		ASSERT_TRUE(pages_are(self->buf, NPAGES, 1));
		ASSERT_EQ(close(fd), 0);

		/* Nothing of it is left: the module goes at once. */
		t0 = clock_ms(CLOCK_MONOTONIC);
		ret = syscall(SYS_delete_module, "rmirror", O_NONBLOCK);
		err = errno;
		unload += clock_ms(CLOCK_MONOTONIC) - t0;
		if (ret) {
			const char *why = "unexpected error";
			char refcnt[32] = "?";

			if (err == EBUSY || err == EWOULDBLOCK)
				why = "still busy after close (or open in another process)";
			read_file("/sys/module/rmirror/refcnt", refcnt, sizeof(refcnt));
			refcnt[strcspn(refcnt, "\n")] = 0;
			ASSERT_EQ(ret, 0)
				TH_LOG("round %d: delete_module(rmirror): %s, refcnt %s: %s",
				       round, strerror(err), refcnt, why);
		}

		/* Loaded again, /dev/rmirror comes back. */
		t0 = clock_ms(CLOCK_MONOTONIC);
		kfd = open(ko, O_RDONLY | O_CLOEXEC);
		ASSERT_GE(kfd, 0) TH_LOG("round %d: %s: %s", round, ko, strerror(errno));
		ret = syscall(SYS_finit_module, kfd, "", 0);
		err = errno;
		close(kfd);
		ASSERT_EQ(ret, 0)
			TH_LOG("round %d: finit_module(%s): %s", round, ko, strerror(err));
		for (i = 0; i < 200 && access(RMIRROR_DEV, F_OK); i++)
			usleep(10000);
		t = clock_ms(CLOCK_MONOTONIC) - t0;
		load += t;
		ASSERT_EQ(access(RMIRROR_DEV, F_OK), 0)
			TH_LOG("round %d: no %s %ld ms after loading", round, RMIRROR_DEV, t);
	}
	TH_LOG("20 rounds: unload %ld ms, load %ld ms on average", unload / 20, load / 20);
}

TEST_HARNESS_MAIN
