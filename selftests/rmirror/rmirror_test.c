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
#include "rmirror_uapi.h"

#define RMIRROR_DEV "/dev/rmirror"
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

static int dev_mirror(int fd, void *addr, size_t len)
{
	struct rmirror_range r = { .addr = (uintptr_t)addr, .len = len };
	int ret = ioctl(fd, RMIRROR_IOC_MIRROR, &r);

	return ret < 0 ? -errno : ret;
}

static int dev_rw(int fd, unsigned long cmd, void *addr, void *buf, size_t len)
{
	struct rmirror_rw rw = { .addr = (uintptr_t)addr, .buf = (uintptr_t)buf, .len = len };

	return ioctl(fd, cmd, &rw) ? -errno : 0;
}

static int dev_read(int fd, void *addr, void *buf, size_t len)
{
	return dev_rw(fd, RMIRROR_IOC_READ, addr, buf, len);
}

static int dev_write(int fd, void *addr, const void *buf, size_t len)
{
	return dev_rw(fd, RMIRROR_IOC_WRITE, addr, (void *)buf, len);
}

static int dev_snapshot(int fd, void *addr, uint8_t *out, size_t npages)
{
	struct rmirror_snapshot s = {
		.addr = (uintptr_t)addr, .buf = (uintptr_t)out, .npages = npages,
	};

	return ioctl(fd, RMIRROR_IOC_SNAPSHOT, &s) ? -errno : 0;
}

static int dev_stats(int fd, struct rmirror_stats *st)
{
	return ioctl(fd, RMIRROR_IOC_STATS, st) ? -errno : 0;
}

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

static int is_zero(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i])
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
	/* Read-only now: the device may read, not write. */
	ASSERT_EQ(dev_write(self->fd, self->mem, self->buf, PAGE_SZ), -EFAULT);
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
	ASSERT_TRUE(is_zero(self->buf, NPAGES * PAGE_SZ));
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
	ASSERT_TRUE(is_zero(self->buf + PAGE_SZ, PAGE_SZ));
	ASSERT_TRUE(pages_are(self->buf + 2 * PAGE_SZ, 1, 7 + 101));
	munmap(raw, 2 * HPAGE_SZ);
}

/* KSM merging replaces the pages: invalidated; after the merge, COW is seen. */
TEST_F(rmirror, ksm_merge_invalidates)
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

TEST_HARNESS_MAIN
