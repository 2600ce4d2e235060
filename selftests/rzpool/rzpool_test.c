// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Selftests for rzpool.ko: objects of every size class round-trip, objects
 * spanning pages, bad input, internal compaction, and memory compaction
 * migrating the pool's pages under concurrent use while every object keeps
 * its contents.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rzpool_lib.h"
#include "rmm_bench_uapi.h"

/* rmm_page_lock.ko's control file (selftests/modules/rmm_page_lock.c). */
#define PAGE_LOCK_CTL "/sys/kernel/debug/rmm_page_lock/ctl"

#define STRESS_BYTES (64UL << 20)	/* at least 64 MiB of objects (make run: 256) */
#define STRESS_ROUNDS 2

/*
 * Time limits of the long cases, sized by their work rather than by one
 * machine's speed: compaction_stress fills 64 MiB of objects (41,600), then
 * compacts all memory twice while two threads use the pool, checking
 * every object after each round (make run's rzpool_stress does three rounds
 * of 256 MiB). Under TCG with KASAN one 64 MiB fill took
 * about 45 s here, a round a few minutes; machines of the same kind differ
 * up to 13x. The harness kills a case at its limit (30 s by default).
 */
#define STRESS_TIMEOUT 1800
#define OFFLINE_TIMEOUT 1800

FIXTURE(rzpool)
{
	int fd;
};

FIXTURE_SETUP(rzpool)
{
	self->fd = open(RZPOOL_DEV, O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, RZPOOL_DEV " does not exist: rzpool.ko is not loaded");
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(rzpool)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Every size from 1 to a page, in 16-byte steps plus odd sizes: each class. */
TEST_F(rzpool, roundtrip_every_class)
{
	static uint64_t handles[2 * RZPOOL_MAX_SIZE / 16 + 2];
	static uint32_t sizes[2 * RZPOOL_MAX_SIZE / 16 + 2];
	struct rzpool_stats st;
	int n = 0, i;
	uint32_t s;

	for (s = 1; s <= RZPOOL_MAX_SIZE; s += (s < 32 ? 31 : 16)) {
		sizes[n] = s;
		sizes[n + 1] = s + 7 <= RZPOOL_MAX_SIZE ? s + 7 : s;
		n += 2;
	}
	for (i = 0; i < n; i++) {
		ASSERT_EQ(rz_alloc(self->fd, sizes[i], &handles[i]), 0);
		ASSERT_EQ(put(self->fd, handles[i], sizes[i], i), 0);
	}
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	ASSERT_EQ(st.objs, n);
	TH_LOG("%u size classes after merging", st.nr_classes);
	/* zsmalloc's merging leaves far fewer classes than 16-byte steps. */
	ASSERT_LT(st.nr_classes, RZPOOL_MAX_SIZE / 16);
	ASSERT_GT(st.nr_classes, 16);
	for (i = 0; i < n; i++)
		ASSERT_EQ(check(self->fd, handles[i], sizes[i], i), 0);
	for (i = 0; i < n; i++)
		ASSERT_EQ(rz_free(self->fd, handles[i]), 0);
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	ASSERT_EQ(st.objs, 0);
	ASSERT_EQ(st.bytes, 0);
	/* Empty zspages go back at once. */
	ASSERT_EQ(st.pages, 0);
}

/*
 * 3264-byte objects: their class packs several pages per zspage, so most
 * objects cross a page boundary. Write and read ranges that cross it.
 */
TEST_F(rzpool, objects_span_pages)
{
	enum { N = 40, SIZE = 3264 };
	uint64_t h[N];
	uint8_t buf[SIZE], got[SIZE];
	struct rzpool_stats st;
	int i;

	for (i = 0; i < N; i++) {
		ASSERT_EQ(rz_alloc(self->fd, SIZE, &h[i]), 0);
		ASSERT_EQ(put(self->fd, h[i], SIZE, 1000 + i), 0);
	}
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	/* More objects than pages: objects share, and so span, pages. */
	ASSERT_LT(st.pages, N);
	for (i = 0; i < N; i++) {
		uint32_t off = (i * 97) % (SIZE - 1500);

		/* A partial write in the middle, then the whole object back. */
		fill(buf, SIZE, 1000 + i);
		memset(buf + off, 0xa5, 1500);
		ASSERT_EQ(rz_write(self->fd, h[i], off, buf + off, 1500), 0);
		ASSERT_EQ(rz_read(self->fd, h[i], 0, got, SIZE), 0);
		ASSERT_EQ(memcmp(buf, got, SIZE), 0);
		/* A partial read of the same range. */
		memset(got, 0, SIZE);
		ASSERT_EQ(rz_read(self->fd, h[i], off, got, 1500), 0);
		ASSERT_EQ(memcmp(buf + off, got, 1500), 0);
	}
}

/* A new object reads as zeroes: no old contents leak. */
TEST_F(rzpool, new_objects_are_zeroed)
{
	uint8_t buf[PAGE_SZ], zero[PAGE_SZ] = { 0 };
	uint64_t h = 0;

	ASSERT_EQ(rz_alloc(self->fd, PAGE_SZ, &h), 0);
	memset(buf, 0xff, sizeof(buf));
	ASSERT_EQ(rz_read(self->fd, h, 0, buf, PAGE_SZ), 0);
	ASSERT_EQ(memcmp(buf, zero, PAGE_SZ), 0);
}

/* Bad input gets a clear errno and changes nothing. */
TEST_F(rzpool, bad_input)
{
	struct rzpool_alloc a = { .size = 100, .flags = 1 };
	struct rzpool_stats before, after;
	uint8_t buf[128] = { 0 };
	uint64_t h = 0, other_h = 0;
	void *unmapped;
	int other;

	unmapped = mmap(NULL, PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(unmapped, MAP_FAILED);
	ASSERT_EQ(rz_alloc(self->fd, 100, &h), 0);
	ASSERT_EQ(put(self->fd, h, 100, 7), 0);
	ASSERT_EQ(rz_stats(self->fd, &before), 0);

	/* Unknown ioctls, and a known number with another size. */
	ASSERT_EQ(ioctl(self->fd, _IO('Z', 0x7f)), -1);
	ASSERT_EQ(errno, ENOTTY);
	ASSERT_EQ(ioctl(self->fd, _IOW('Z', 0x01, uint32_t), &h), -1);
	ASSERT_EQ(errno, ENOTTY);
	/* Sizes. */
	ASSERT_EQ(rz_alloc(self->fd, 0, &other_h), -EINVAL);
	ASSERT_EQ(rz_alloc(self->fd, RZPOOL_MAX_SIZE + 1, &other_h), -E2BIG);
	ASSERT_EQ(rz_alloc(self->fd, UINT32_MAX, &other_h), -E2BIG);
	ASSERT_EQ(ioctl(self->fd, RZPOOL_IOC_ALLOC, &a), -1);
	ASSERT_EQ(errno, EINVAL);
	/* Lengths and offsets outside the object. */
	ASSERT_EQ(rz_write(self->fd, h, 0, buf, 0), -EINVAL);
	ASSERT_EQ(rz_write(self->fd, h, 0, buf, 101), -EINVAL);
	ASSERT_EQ(rz_write(self->fd, h, 99, buf, 2), -EINVAL);
	ASSERT_EQ(rz_write(self->fd, h, UINT32_MAX, buf, 2), -EINVAL);
	ASSERT_EQ(rz_read(self->fd, h, 100, buf, 1), -EINVAL);
	ASSERT_EQ(rz_read(self->fd, h, 0, buf, RZPOOL_MAX_SIZE + 1), -EINVAL);
	/* Forged handles: wrong generation, wrong slot, wrong pool, garbage. */
	ASSERT_EQ(rz_free(self->fd, h + (1ULL << 32)), -ENOENT);
	ASSERT_EQ(rz_free(self->fd, h + 12345), -ENOENT);
	ASSERT_EQ(rz_free(self->fd, h ^ (1ULL << 48)), -EINVAL);
	ASSERT_EQ(rz_read(self->fd, 0, 0, buf, 1), -EINVAL);
	ASSERT_EQ(rz_read(self->fd, ~0ULL, 0, buf, 1), -EINVAL);
	/* Another pool's handle. */
	other = open(RZPOOL_DEV, O_RDWR);
	ASSERT_GE(other, 0);
	ASSERT_EQ(rz_alloc(other, 100, &other_h), 0);
	ASSERT_EQ(rz_free(self->fd, other_h), -EINVAL);
	ASSERT_EQ(rz_read(self->fd, other_h, 0, buf, 1), -EINVAL);
	/* Bad user pointers, both ways and for the request itself. */
	ASSERT_EQ(rz_write(self->fd, h, 0, unmapped, 10), -EFAULT);
	ASSERT_EQ(rz_write(self->fd, h, 0, NULL, 10), -EFAULT);
	ASSERT_EQ(rz_read(self->fd, h, 0, unmapped, 10), -EFAULT);
	ASSERT_EQ(rz_read(self->fd, h, 0, (void *)0xffffffff81000000UL, 10), -EFAULT);
	ASSERT_EQ(ioctl(self->fd, RZPOOL_IOC_ALLOC, unmapped), -1);
	ASSERT_EQ(errno, EFAULT);
	ASSERT_EQ(ioctl(self->fd, RZPOOL_IOC_STATS, NULL), -1);
	ASSERT_EQ(errno, EFAULT);

	/* Nothing changed: same counts, same data. */
	ASSERT_EQ(rz_stats(self->fd, &after), 0);
	ASSERT_EQ(after.objs, before.objs);
	ASSERT_EQ(after.bytes, before.bytes);
	ASSERT_EQ(after.pages, before.pages);
	ASSERT_EQ(check(self->fd, h, 100, 7), 0);

	/* A freed handle is gone, and stays gone after its slot is reused. */
	ASSERT_EQ(rz_free(self->fd, h), 0);
	ASSERT_EQ(rz_free(self->fd, h), -ENOENT);
	ASSERT_EQ(rz_read(self->fd, h, 0, buf, 1), -ENOENT);
	ASSERT_EQ(rz_alloc(self->fd, 100, &other_h), 0);
	ASSERT_NE(other_h, h);
	ASSERT_EQ(rz_read(self->fd, h, 0, buf, 1), -ENOENT);
	close(other);
	munmap(unmapped, PAGE_SZ);
}

/* Pools are independent: closing one frees its objects, not the other's. */
TEST_F(rzpool, pools_are_independent)
{
	struct rzpool_stats a, b;
	uint64_t ha = 0, hb = 0;
	int other = open(RZPOOL_DEV, O_RDWR);

	ASSERT_GE(other, 0);
	ASSERT_EQ(rz_alloc(self->fd, 500, &ha), 0);
	ASSERT_EQ(rz_alloc(other, 500, &hb), 0);
	ASSERT_EQ(put(self->fd, ha, 500, 1), 0);
	ASSERT_EQ(put(other, hb, 500, 2), 0);
	ASSERT_EQ(rz_stats(self->fd, &a), 0);
	ASSERT_EQ(rz_stats(other, &b), 0);
	ASSERT_NE(a.pool_id, b.pool_id);
	close(other);
	ASSERT_EQ(check(self->fd, ha, 500, 1), 0);
}

/* The device node is root only. */
TEST_F(rzpool, root_only)
{
	ASSERT_EQ(nonroot_open_refused(RZPOOL_DEV), 0);
}

/* Internal compaction: free most objects sparsely, compact, fewer pages. */
TEST_F(rzpool, internal_compaction_frees_pages)
{
	enum { N = 4096 };
	static uint64_t h[N];
	static uint32_t size[N];
	struct rzpool_stats before, after;
	uint64_t freed = 0;
	int i;

	for (i = 0; i < N; i++) {
		size[i] = 200 + (i % 3) * 600;
		ASSERT_EQ(rz_alloc(self->fd, size[i], &h[i]), 0);
		ASSERT_EQ(put(self->fd, h[i], size[i], i), 0);
	}
	/* Keep one object in four: every zspage stays, mostly empty. */
	for (i = 0; i < N; i++)
		if (i % 4)
			ASSERT_EQ(rz_free(self->fd, h[i]), 0);
	ASSERT_EQ(rz_stats(self->fd, &before), 0);
	ASSERT_EQ(ioctl(self->fd, RZPOOL_IOC_COMPACT, &freed), 0);
	ASSERT_EQ(rz_stats(self->fd, &after), 0);
	TH_LOG("internal compaction: %llu -> %llu pages, %llu freed",
	       (unsigned long long)before.pages, (unsigned long long)after.pages,
	       (unsigned long long)freed);
	ASSERT_GT(freed, 0);
	ASSERT_LT(after.pages, before.pages);
	ASSERT_EQ(before.pages - after.pages, freed);
	ASSERT_EQ(after.compact_freed - before.compact_freed, freed);
	ASSERT_EQ(after.objs, N / 4);
	for (i = 0; i < N; i += 4)
		ASSERT_EQ(check(self->fd, h[i], size[i], i), 0);
	/* A second pass finds nothing more to free. */
	ASSERT_EQ(ioctl(self->fd, RZPOOL_IOC_COMPACT, &freed), 0);
	ASSERT_EQ(freed, 0);
}

/* An open pool with live objects pins the module: unloading is refused. */
TEST_F(rzpool, unload_refused_while_in_use)
{
	struct rzpool_stats st;
	uint64_t h = 0;

	ASSERT_EQ(rz_alloc(self->fd, 1000, &h), 0);
	ASSERT_EQ(put(self->fd, h, 1000, 3), 0);
	ASSERT_TRUE(unload_refused("rzpool"));
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	ASSERT_EQ(st.objs, 1);
	ASSERT_EQ(check(self->fd, h, 1000, 3), 0);
}

/*
 * Fills a pool with n objects of 300 bytes (object i written with seed i),
 * then frees three of every four: most zspages can then be emptied.
 * Returns 0 or -errno.
 */
static int fill_sparse(int fd, uint64_t *h, int n)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = rz_alloc(fd, 300, &h[i]);
		if (!ret)
			ret = put(fd, h[i], 300, i);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		ret = i % 4 ? rz_free(fd, h[i]) : 0;
		if (ret)
			return ret;
	}
	return 0;
}

/* Checks the objects fill_sparse() kept; 0 or -errno. */
static int check_sparse(int fd, const uint64_t *h, int n)
{
	int i, ret;

	for (i = 0; i < n; i += 4) {
		ret = check(fd, h[i], 300, i);
		if (ret)
			return ret;
	}
	return 0;
}

/* Under memory pressure the shrinker compacts: drop_caches runs it. */
TEST_F(rzpool, shrinker_frees_pages)
{
	enum { N = 4096 };
	static uint64_t h[N];
	struct rzpool_stats before, after;

	ASSERT_EQ(fill_sparse(self->fd, h, N), 0);
	ASSERT_EQ(rz_stats(self->fd, &before), 0);
	/* "2": reclaim slab objects, i.e. call every shrinker. */
	ASSERT_EQ(write_file("/proc/sys/vm/drop_caches", "2"), 0);
	ASSERT_EQ(rz_stats(self->fd, &after), 0);
	TH_LOG("shrinker: %llu -> %llu pages, shrink_freed %llu",
	       (unsigned long long)before.pages, (unsigned long long)after.pages,
	       (unsigned long long)after.shrink_freed);
	ASSERT_GT(after.shrink_freed, before.shrink_freed);
	ASSERT_LT(after.pages, before.pages);
	ASSERT_EQ(check_sparse(self->fd, h, N), 0);
}

/* Reads a "name value" line of a debugfs stats file. */
static long stat_line(const char *path, const char *name)
{
	char line[128];
	size_t n = strlen(name);
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ' ')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* debugfs: rzpool/pool-<id>/{stats,classes} follow the pool. */
TEST_F(rzpool, debugfs_files)
{
	char stats[128], classes[128], line[256];
	struct rzpool_stats st;
	long used = 0, zspages = 0;
	uint64_t h[10];
	FILE *f;
	int i;

	if (access("/sys/kernel/debug/rzpool", F_OK))
		mount("none", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access("/sys/kernel/debug/rzpool", F_OK))
		SKIP(return, "debugfs is not mounted and cannot be mounted");
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	snprintf(stats, sizeof(stats), "/sys/kernel/debug/rzpool/pool-%u/stats", st.pool_id);
	snprintf(classes, sizeof(classes), "/sys/kernel/debug/rzpool/pool-%u/classes", st.pool_id);
	ASSERT_EQ(stat_line(stats, "objs"), 0);

	for (i = 0; i < 10; i++)
		ASSERT_EQ(rz_alloc(self->fd, 100 + 1000 * (i % 3), &h[i]), 0);
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	ASSERT_EQ(stat_line(stats, "objs"), 10);
	ASSERT_EQ(stat_line(stats, "pages"), st.pages);
	ASSERT_EQ(stat_line(stats, "classes"), st.nr_classes);

	/* The classes table adds up to the same objects and zspages. */
	f = fopen(classes, "r");
	ASSERT_NE(f, NULL);
	ASSERT_NE(fgets(line, sizeof(line), f), NULL);	/* header */
	while (fgets(line, sizeof(line), f)) {
		long c, size, pages, objs, zs, u, a;

		ASSERT_EQ(sscanf(line, "%ld %ld %ld %ld %ld %ld %ld", &c, &size, &pages, &objs,
				 &zs, &u, &a), 7);
		zspages += zs;
		used += u;
	}
	fclose(f);
	ASSERT_EQ(used, 10);
	ASSERT_EQ(zspages, st.zspages);

	/* Closing the pool removes its directory. */
	close(self->fd);
	self->fd = -1;
	ASSERT_NE(access(stats, F_OK), 0);
}

/* --- compaction stress --- */

TEST_F_TIMEOUT(rzpool, compaction_stress, STRESS_TIMEOUT)
{
	struct rzpool_stats st0, st;
	unsigned long mig0, mig, round;
	struct stress stress;
	size_t bad = 0;

	ASSERT_EQ(rz_stats(self->fd, &st0), 0);
	ASSERT_EQ(stress_fill(&stress, self->fd, STRESS_BYTES), 0);
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	TH_LOG("filled: %zu objects, %llu bytes in %llu pages",
	       stress.n, (unsigned long long)st.bytes, (unsigned long long)st.pages);
	ASSERT_GE(st.bytes, STRESS_BYTES);

	mig0 = vmstat("pgmigrate_success");
	for (round = 0; round < STRESS_ROUNDS; round++) {
		/* Compact all memory while two workers use the pool. */
		ASSERT_EQ(stress_round(&stress, compact_memory, NULL), 0);
		ASSERT_EQ(rz_stats(self->fd, &st), 0);
		TH_LOG("round %lu: isolate %llu migrate %llu fail %llu putback %llu; worker ops %lu+%lu",
		       round, (unsigned long long)st.isolate, (unsigned long long)st.migrate,
		       (unsigned long long)st.migrate_fail, (unsigned long long)st.putback,
		       stress.workers[0].ops, stress.workers[1].ops);
		/* Every object, moved or not, still has its contents. */
		ASSERT_EQ(stress_verify(&stress, &bad), 0)
			TH_LOG("object %zu of %zu is corrupt", bad, stress.n);
	}
	mig = vmstat("pgmigrate_success");
	TH_LOG("%zu objects intact; rzpool pages migrated %llu, pgmigrate_success +%lu",
	       stress.n, (unsigned long long)(st.migrate - st0.migrate), mig - mig0);
	/* Our migrate callback ran, and the VM counted the migrations. */
	ASSERT_GT(st.migrate - st0.migrate, 0);
	ASSERT_GE(mig - mig0, st.migrate - st0.migrate);
	free(stress.objs);
}

/*
 * Offlining a memory block must migrate every movable page in it: offline
 * exactly the ZONE_MOVABLE blocks that hold pool pages (rzpool/pool-<id>/pfns
 * says which), under concurrent use. Every one must go offline, the pool's
 * pages must have moved, and every object must be intact.
 */
TEST_F_TIMEOUT(rzpool, offline_memory_migrates_pool, OFFLINE_TIMEOUT)
{
	static unsigned char want[1 << 16];
	struct offline_result off = { .only = want, .nr_only = sizeof(want) };
	struct rzpool_stats st0, st;
	struct stress stress;
	size_t bad = 0, pages = 0;
	char buf[64];

	if (read_file(MEMORY_DIR "/auto_online_blocks", buf, sizeof(buf)))
		SKIP(return, "no memory hotplug in this kernel (%s)", MEMORY_DIR);
	if (access("/sys/kernel/debug/rzpool", F_OK))
		mount("none", "/sys/kernel/debug", "debugfs", 0, NULL);
	/* Where the pool's pages come from: the largest ZONE_MOVABLE. */
	prefer_movable_node();
	ASSERT_EQ(stress_fill(&stress, self->fd, 64UL << 20), 0);
	syscall(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0);
	if (pool_blocks(self->fd, want, sizeof(want), &pages)) {
		free(stress.objs);
		SKIP(return, "no debugfs: cannot tell which memory blocks hold the pool");
	}
	ASSERT_EQ(rz_stats(self->fd, &st0), 0);
	ASSERT_EQ(stress_round(&stress, offline_movable_blocks, &off), 0);
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	TH_LOG("offline: %d ZONE_MOVABLE blocks hold pool pages: %d offlined and onlined, "
	       "%d not offlinable (unmovable memory or holes), %d failed; rzpool pages migrated %llu (of %zu)",
	       off.blocks, off.offlined, off.unfit, off.failed,
	       (unsigned long long)(st.migrate - st0.migrate), pages);
	if (!off.blocks) {
		free(stress.objs);
		SKIP(return, "no pool page is in ZONE_MOVABLE: boot with movablecore=");
	}
	/*
	 * Only EBUSY or EINVAL, found before any migration, may stop a block: a
	 * page of ours that does not migrate makes the offline retry until the
	 * timeout.
	 */
	ASSERT_EQ(off.failed, 0)
		TH_LOG("memory%d: %s", off.last_block, strerror(off.last_errno));
	if (!off.offlined) {
		free(stress.objs);
		SKIP(return, "every block holding pool pages holds unmovable memory or holes");
	}
	ASSERT_GT(st.migrate - st0.migrate, 0);
	ASSERT_EQ(stress_verify(&stress, &bad), 0)
		TH_LOG("object %zu of %zu is corrupt", bad, stress.n);
	free(stress.objs);
}

/*
 * A slot's generation is 16 bits: after 65,536 reuses a stale handle would
 * name a newer object. The slot is retired instead: the stale handle stays
 * ENOENT and the new object gets another handle.
 */
TEST_F_TIMEOUT(rzpool, stale_handle_after_generation_wrap, 600)
{
	uint64_t h0 = 0, h = 0;
	uint8_t buf[16];
	long i;

	ASSERT_EQ(rz_alloc(self->fd, 100, &h0), 0);
	ASSERT_EQ(rz_free(self->fd, h0), 0);
	/* The slot is reused at once (LIFO): cycle it through every generation. */
	for (i = 0; i < 65536; i++) {
		ASSERT_EQ(rz_alloc(self->fd, 100, &h), 0);
		ASSERT_NE(h, h0) TH_LOG("handle %#llx reused after %ld cycles",
					 (unsigned long long)h, i);
		ASSERT_EQ(rz_free(self->fd, h), 0);
	}
	ASSERT_EQ(rz_alloc(self->fd, 100, &h), 0);
	ASSERT_NE(h, h0);
	ASSERT_EQ(put(self->fd, h, 100, 7), 0);
	/* The stale handle names nothing. */
	ASSERT_EQ(rz_read(self->fd, h0, 0, buf, sizeof(buf)), -ENOENT);
	ASSERT_EQ(rz_free(self->fd, h0), -ENOENT);
	ASSERT_EQ(check(self->fd, h, 100, 7), 0);
	TH_LOG("65,537 allocations of one slot: stale handle %#llx is ENOENT, new %#llx",
	       (unsigned long long)h0, (unsigned long long)h);
}

/* Writes the pfns of a pool's pages to rmm_page_lock's ctl; returns how many. */
static int lock_pool_pages(int fd)
{
	struct rzpool_stats st;
	unsigned long long pfn;
	char path[128], cmd[64];
	int n = 0;
	FILE *f;

	if (rz_stats(fd, &st))
		return -1;
	snprintf(path, sizeof(path), "/sys/kernel/debug/rzpool/pool-%u/pfns", st.pool_id);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%llu", &pfn) == 1) {
		snprintf(cmd, sizeof(cmd), "lock %llu", pfn);
		if (!write_file(PAGE_LOCK_CTL, cmd))
			n++;
	}
	fclose(f);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Reclaim must never sleep on a pool page's lock: migration holds a page
 * locked while it allocates its target, and that allocation may reclaim
 * and call our shrinker. With every page of the pool locked (by
 * rmm_page_lock.ko, for 20 s; it holds a reference on each page, as the VM
 * does on a page it isolates), the shrinker must come back at once and free
 * nothing. Freeing every object then empties zspages whose pages cannot be
 * locked without waiting: they must be kept (release_busy), not waited for,
 * and released by the shrinker once unlocked.
 */
TEST_F_TIMEOUT(rzpool, shrinker_never_sleeps_on_page_lock, 300)
{
	enum { N = 4096 };
	static uint64_t h[N];
	struct rzpool_stats before, after, freed, unlocked;
	double t0, t, tf;
	int locked, i;

	if (access(PAGE_LOCK_CTL, W_OK))
		SKIP(return, PAGE_LOCK_CTL " missing: rmm_page_lock.ko is not loaded");
	ASSERT_EQ(fill_sparse(self->fd, h, N), 0);
	ASSERT_EQ(rz_stats(self->fd, &before), 0);
	locked = lock_pool_pages(self->fd);
	ASSERT_EQ(locked, (int)before.pages);

	t0 = now_s();
	ASSERT_EQ(write_file("/proc/sys/vm/drop_caches", "2"), 0);
	t = now_s() - t0;
	ASSERT_EQ(rz_stats(self->fd, &after), 0);
	ASSERT_EQ(check_sparse(self->fd, h, N), 0);
	t0 = now_s();
	for (i = 0; i < N; i += 4)
		ASSERT_EQ(rz_free(self->fd, h[i]), 0);
	tf = now_s() - t0;
	ASSERT_EQ(rz_stats(self->fd, &freed), 0);
	ASSERT_EQ(write_file(PAGE_LOCK_CTL, "unlock"), 0);
	TH_LOG("%d pages locked: shrinker took %.2f s, %llu -> %llu pages; freeing every object took %.2f s, kept %llu busy zspages (%llu pages)",
	       locked, t, (unsigned long long)before.pages, (unsigned long long)after.pages,
	       tf, (unsigned long long)(freed.release_busy - before.release_busy),
	       (unsigned long long)freed.pages);
	/* Sleeping on a lock would last until the 20 s unlock. */
	ASSERT_LT(t, 10.0);
	ASSERT_LT(tf, 10.0);
	ASSERT_EQ(after.pages, before.pages);
	ASSERT_EQ(freed.objs, 0);
	ASSERT_GT(freed.release_busy, before.release_busy);
	ASSERT_GT(freed.pages, 0);

	/* Unlocked, the kept zspages go. */
	ASSERT_EQ(write_file("/proc/sys/vm/drop_caches", "2"), 0);
	ASSERT_EQ(rz_stats(self->fd, &unlocked), 0);
	TH_LOG("unlocked: %llu pages", (unsigned long long)unlocked.pages);
	ASSERT_LT(unlocked.pages, freed.pages);
}

/* A number of a cgroup's file ("memory.current"), or -1. */
static long long cg_read(const char *cg, const char *file)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10);
}

#define CG_TEST CG_ROOT "/rzpool_test"

/*
 * A pool of /dev/rzpool is charged to the memory cgroup of the process that
 * opened it, page by page, and uncharged when it is closed, migrated pages
 * included.
 */
TEST(pool_charged_to_opener_memcg)
{
	enum { N = 8192 };
	struct rzpool_stats st;
	long long base, full, after;
	uint64_t *h;
	int fd, i;

	if (cg_memory_controller())
		SKIP(return, "no cgroup v2 memory controller (CONFIG_MEMCG)");
	ASSERT_EQ(cg_create(CG_TEST), 0);
	ASSERT_EQ(cg_enter(CG_TEST), 0);
	h = calloc(N, sizeof(*h));
	ASSERT_NE(h, NULL);

	base = cg_read(CG_TEST, "memory.current");
	fd = open(RZPOOL_DEV, O_RDWR);
	ASSERT_GE(fd, 0);
	for (i = 0; i < N; i++)
		ASSERT_EQ(rz_alloc(fd, 1000, &h[i]), 0);
	ASSERT_EQ(rz_stats(fd, &st), 0);
	full = cg_read(CG_TEST, "memory.current");
	/* Compaction may move the pool's pages: the charge moves with them. */
	ASSERT_EQ(compact_memory(NULL), 0);
	after = cg_read(CG_TEST, "memory.current");
	TH_LOG("memory.current %lld -> %lld (pool %llu pages) -> %lld after compact_memory",
	       base, full, (unsigned long long)st.pages, after);
	ASSERT_GE(full - base, (long long)st.pages * PAGE_SZ);
	ASSERT_GE(after - base, (long long)st.pages * PAGE_SZ);
	close(fd);
	after = cg_read(CG_TEST, "memory.current");
	TH_LOG("closed: memory.current %lld", after);
	ASSERT_LT(after - base, (long long)st.pages * PAGE_SZ / 2);

	/* Back to the root cgroup, and the test cgroup goes. */
	ASSERT_EQ(cg_leave(CG_TEST), 0);
	free(h);
}

/*
 * The pool's metadata is charged with its pages: for 32-byte objects the
 * slot table (16 bytes an object), the object maps (4) and the zspage
 * records add about 60 % to the pages, which a cgroup limit must see. At
 * least 12 bytes an object beyond the pages must show in memory.current
 * (per-CPU charge batching blurs it by up to 64 pages a CPU).
 */
TEST(pool_metadata_charged_to_opener_memcg)
{
	enum { N = 131072, SIZE = 32 };
	struct rzpool_stats st;
	long long base, full, after, want;
	uint64_t *h;
	int fd, i;

	if (cg_memory_controller())
		SKIP(return, "no cgroup v2 memory controller (CONFIG_MEMCG)");
	ASSERT_EQ(cg_create(CG_TEST), 0);
	ASSERT_EQ(cg_enter(CG_TEST), 0);
	h = calloc(N, sizeof(*h));
	ASSERT_NE(h, NULL);
	memset(h, 0, N * sizeof(*h));

	base = cg_read(CG_TEST, "memory.current");
	fd = open(RZPOOL_DEV, O_RDWR);
	ASSERT_GE(fd, 0);
	for (i = 0; i < N; i++)
		ASSERT_EQ(rz_alloc(fd, SIZE, &h[i]), 0);
	ASSERT_EQ(rz_stats(fd, &st), 0);
	full = cg_read(CG_TEST, "memory.current");
	want = (long long)st.pages * PAGE_SZ + 12LL * N;
	TH_LOG("%d objects of %d bytes: memory.current %lld -> %lld, pool %llu pages: %lld bytes beyond them (%.1f an object)",
	       N, SIZE, base, full, (unsigned long long)st.pages,
	       full - base - (long long)st.pages * PAGE_SZ,
	       (double)(full - base - (long long)st.pages * PAGE_SZ) / N);
	EXPECT_GE(full - base, want);
	close(fd);
	/* The handles' array (1 MiB of this cgroup's own memory) goes too. */
	free(h);
	after = cg_read(CG_TEST, "memory.current");
	TH_LOG("closed: memory.current %lld", after);
	/* Everything is given back with the pool. */
	EXPECT_LT(after - base, (full - base) / 8);

	ASSERT_EQ(cg_leave(CG_TEST), 0);
}

/*
 * rzpool's in-kernel API (rzpool_kapi.h), through rmm_bench.ko, the C module
 * that uses it: accounting and compaction, then objects kept through
 * compact_memory and checked when drained. zsmalloc through the same harness
 * is the control.
 */
TEST(kernel_api)
{
	static const char *const names[] = { "zsmalloc", "rzpool" };
	int fd = open("/dev/rmm_bench", O_RDWR), pool;

	if (fd < 0)
		SKIP(return, "/dev/rmm_bench does not exist: rmm_bench.ko is not loaded");
	for (pool = RMM_BENCH_ZSMALLOC; pool <= RMM_BENCH_RZPOOL; pool++) {
		struct rmm_bench_req req = {
			.pool = pool, .test = RMM_BENCH_MEMORY, .threads = 1, .nr_objs = 1,
			.batches = 1, .bytes = 8 << 20, .seed = 1,
		};

		ASSERT_EQ(ioctl(fd, RMM_BENCH_RUN, &req), 0);
		TH_LOG("%s: %llu bytes in %llu pages; half freed %llu pages, compacted %llu",
		       names[pool], (unsigned long long)req.stored_full,
		       (unsigned long long)req.pages_full, (unsigned long long)req.pages_before,
		       (unsigned long long)req.pages_after);
		ASSERT_GE(req.stored_full, 8 << 20);
		/* At least the bytes stored, and not absurdly more. */
		ASSERT_GE(req.pages_full * PAGE_SZ, req.stored_full);
		ASSERT_LT(req.pages_full * PAGE_SZ, req.stored_full * 2);
		ASSERT_LT(req.pages_after, req.pages_before);

		req.test = RMM_BENCH_FILL;
		req.bytes = 16 << 20;
		ASSERT_EQ(ioctl(fd, RMM_BENCH_RUN, &req), 0);
		ASSERT_GT(req.objs, 0);
		ASSERT_EQ(write_file("/proc/sys/vm/compact_memory", "1"), 0);
		req.test = RMM_BENCH_DRAIN;
		ASSERT_EQ(ioctl(fd, RMM_BENCH_RUN, &req), 0);
		ASSERT_EQ(req.errors, 0);
	}
	/* Bad requests: unknown pool, test or thread count, and no kept pool. */
	{
		struct rmm_bench_req bad = {
			.pool = 7, .test = RMM_BENCH_MEMORY, .threads = 1, .nr_objs = 1, .batches = 1,
		};

		ASSERT_EQ(ioctl(fd, RMM_BENCH_RUN, &bad), -1);
		ASSERT_EQ(errno, EINVAL);
		bad.pool = RMM_BENCH_RZPOOL;
		bad.threads = 3;
		ASSERT_EQ(ioctl(fd, RMM_BENCH_RUN, &bad), -1);
		ASSERT_EQ(errno, EINVAL);
		bad.threads = 1;
		bad.test = RMM_BENCH_DRAIN;
		ASSERT_EQ(ioctl(fd, RMM_BENCH_RUN, &bad), -1);
		ASSERT_EQ(errno, ENOENT);
	}
	close(fd);
}

TEST_HARNESS_MAIN
