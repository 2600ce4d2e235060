// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Selftests for rzpool's volatile objects (rzpool_uapi.h, "Volatile
 * objects"): the state changes and their errors, discards by the shrinker,
 * internal compaction and page migration, and a race of users flipping
 * objects between stable and volatile against all three discarders and
 * memory offlining, where every answer must be "kept, intact" or
 * "discarded", and the counts must add up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rzpool_lib.h"

static int make_volatile1(int fd, uint64_t h)
{
	int32_t r;
	int ret = rz_states(fd, RZPOOL_IOC_MAKE_VOLATILE, &h, &r, 1);

	return ret ? ret : r;
}

static int make_stable1(int fd, uint64_t h)
{
	int32_t r;
	int ret = rz_states(fd, RZPOOL_IOC_MAKE_STABLE, &h, &r, 1);

	return ret ? ret : r;
}

/* Whether the object's bytes are all zero (a refilled discarded object). */
static int is_zero(int fd, uint64_t h, uint32_t size)
{
	uint8_t buf[RZPOOL_MAX_SIZE];

	return !rz_read(fd, h, 0, buf, size) && mem_is_zero(buf, size);
}

FIXTURE(rzvol)
{
	int fd;
};

FIXTURE_SETUP(rzvol)
{
	self->fd = open(RZPOOL_DEV, O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, RZPOOL_DEV " does not exist: rzpool.ko is not loaded");
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(rzvol)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Without pressure nothing is discarded: volatile and back, contents kept. */
TEST_F(rzvol, volatile_and_back_keeps_contents)
{
	enum { N = 512 };
	static uint64_t h[N];
	static int32_t res[N];
	struct rzpool_stats st;
	uint8_t buf[64];
	int i;

	for (i = 0; i < N; i++) {
		ASSERT_EQ(rz_alloc(self->fd, 1 + i * 7 % RZPOOL_MAX_SIZE, &h[i]), 0);
		ASSERT_EQ(put(self->fd, h[i], 1 + i * 7 % RZPOOL_MAX_SIZE, i), 0);
	}
	ASSERT_EQ(rz_states(self->fd, RZPOOL_IOC_MAKE_VOLATILE, h, res, N), 0);
	for (i = 0; i < N; i++)
		ASSERT_EQ(res[i], 0);
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	ASSERT_EQ(st.volatile_objs, N);
	ASSERT_EQ(st.made_volatile, N);
	/* Volatile contents are not there to read or write. */
	ASSERT_EQ(rz_read(self->fd, h[0], 0, buf, 1), -ESTALE);
	ASSERT_EQ(rz_write(self->fd, h[0], 0, buf, 1), -ESTALE);
	ASSERT_EQ(rz_states(self->fd, RZPOOL_IOC_MAKE_STABLE, h, res, N), 0);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(res[i], 0);
		ASSERT_EQ(check(self->fd, h[i], 1 + i * 7 % RZPOOL_MAX_SIZE, i), 0);
	}
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	ASSERT_EQ(st.volatile_objs, 0);
	ASSERT_EQ(st.kept, N);
	ASSERT_EQ(st.discard_shrink + st.discard_compact + st.discard_migrate, 0);
}

/* Bad input gets a clear errno and changes nothing. */
TEST_F(rzvol, bad_input)
{
	struct rzpool_states s = { 0 };
	uint64_t h, other = 0, hs[2];
	int32_t res[2], *edge;
	char *ro;
	int fd2;

	ASSERT_EQ(rz_alloc(self->fd, 100, &h), 0);
	ASSERT_EQ(put(self->fd, h, 100, 7), 0);
	/* Batch sizes and flags. */
	ASSERT_EQ(rz_states(self->fd, RZPOOL_IOC_MAKE_VOLATILE, &h, res, 0), -EINVAL);
	ASSERT_EQ(rz_states(self->fd, RZPOOL_IOC_MAKE_VOLATILE, &h, res, RZPOOL_MAX_BATCH + 1),
		  -EINVAL);
	s.handles = (uintptr_t)&h;
	s.results = (uintptr_t)res;
	s.count = 1;
	s.flags = 1;
	ASSERT_EQ(ioctl(self->fd, RZPOOL_IOC_MAKE_VOLATILE, &s), -1);
	ASSERT_EQ(errno, EINVAL);
	/* Bad pointers: EFAULT, and the object is still stable. */
	ASSERT_EQ(rz_states(self->fd, RZPOOL_IOC_MAKE_VOLATILE, (void *)16, res, 1), -EFAULT);
	ASSERT_EQ(rz_states(self->fd, RZPOOL_IOC_MAKE_VOLATILE, &h, (void *)16, 1), -EFAULT);
	ASSERT_EQ(make_stable1(self->fd, h), -EALREADY);
	ASSERT_EQ(check(self->fd, h, 100, 7), 0);
	/* Results that end on a read-only page: EFAULT, nothing changed. */
	ro = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(ro, MAP_FAILED);
	edge = (int32_t *)(ro + PAGE_SZ) - 1;
	ASSERT_EQ(mprotect(ro + PAGE_SZ, PAGE_SZ, PROT_READ), 0);
	hs[0] = h;
	hs[1] = h;
	ASSERT_EQ(rz_states(self->fd, RZPOOL_IOC_MAKE_VOLATILE, hs, edge, 2), -EFAULT);
	ASSERT_EQ(make_stable1(self->fd, h), -EALREADY);
	ASSERT_EQ(check(self->fd, h, 100, 7), 0);
	munmap(ro, 2 * PAGE_SZ);
	/* Double transitions. */
	ASSERT_EQ(make_volatile1(self->fd, h), 0);
	ASSERT_EQ(make_volatile1(self->fd, h), -EALREADY);
	ASSERT_EQ(make_stable1(self->fd, h), 0);
	ASSERT_EQ(make_stable1(self->fd, h), -EALREADY);
	/* Forged handles: one bad entry does not stop the batch. */
	hs[0] = h ^ (1ULL << 40);	/* another generation */
	hs[1] = h;
	ASSERT_EQ(rz_states(self->fd, RZPOOL_IOC_MAKE_VOLATILE, hs, res, 2), 0);
	ASSERT_EQ(res[0], -ENOENT);
	ASSERT_EQ(res[1], 0);
	ASSERT_EQ(make_volatile1(self->fd, 0), -EINVAL);
	ASSERT_EQ(make_volatile1(self->fd, h | 0xffffff), -ENOENT);
	/* Another pool's handle. */
	fd2 = open(RZPOOL_DEV, O_RDWR);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(rz_alloc(fd2, 100, &other), 0);
	ASSERT_EQ(make_volatile1(self->fd, other), -EINVAL);
	ASSERT_EQ(make_stable1(self->fd, other), -EINVAL);
	ASSERT_EQ(make_stable1(fd2, other), -EALREADY);
	close(fd2);
	/* Free works in the volatile state; the handle is stale after. */
	ASSERT_EQ(rz_free(self->fd, h), 0);
	ASSERT_EQ(make_volatile1(self->fd, h), -ENOENT);
	ASSERT_EQ(make_stable1(self->fd, h), -ENOENT);
	ASSERT_EQ(rz_free(self->fd, h), -ENOENT);
	/* Its slot reused: the stale handle still names nothing. */
	ASSERT_EQ(rz_alloc(self->fd, 100, &other), 0);
	ASSERT_EQ(make_stable1(self->fd, h), -ENOENT);
	ASSERT_EQ(make_volatile1(self->fd, h), -ENOENT);
	ASSERT_EQ(make_stable1(self->fd, other), -EALREADY);
}

/*
 * Objects N/2.. volatile, 0..N/2 stable: allocated in order, so whole
 * zspages are volatile. The shrinker (drop_caches) frees those zspages
 * without a copy; no stable object is touched; every volatile one answers
 * "kept" (intact) or "discarded" (zero-filled, same size), and the answers
 * add up.
 */
static void split_fill(struct __test_metadata *_metadata, int fd, uint64_t *h, int n,
		       uint32_t size, int every)
{
	static int32_t res[RZPOOL_MAX_BATCH];
	static uint64_t batch[RZPOOL_MAX_BATCH];
	int i, k = 0;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(rz_alloc(fd, size, &h[i]), 0);
		ASSERT_EQ(put(fd, h[i], size, i), 0);
	}
	/* every == 0: the second half; else every every-th object. */
	for (i = 0; i < n; i++) {
		if (every ? i % every : i < n / 2)
			continue;
		batch[k++] = h[i];
		if (k == RZPOOL_MAX_BATCH || i == n - 1) {
			ASSERT_EQ(rz_states(fd, RZPOOL_IOC_MAKE_VOLATILE, batch, res, k), 0);
			while (k--)
				ASSERT_EQ(res[k], 0);
			k = 0;
		}
	}
	if (k) {
		ASSERT_EQ(rz_states(fd, RZPOOL_IOC_MAKE_VOLATILE, batch, res, k), 0);
		while (k--)
			ASSERT_EQ(res[k], 0);
	}
}

/*
 * Makes the volatile ones stable again and counts kept and discarded: each
 * volatile object is one of the two, and the discarded ones are all that
 * the pool counted as discarded by the time of `st`.
 */
static void take_back(struct __test_metadata *_metadata, int fd, uint64_t *h, int n,
		      uint32_t size, int every, const struct rzpool_stats *st,
		      int *kept, int *discarded)
{
	int i, r, cold = 0;

	*kept = *discarded = 0;
	for (i = 0; i < n; i++) {
		if (every ? i % every : i < n / 2) {
			ASSERT_EQ(check(fd, h[i], size, i), 0)
				TH_LOG("stable object %d changed", i);
			continue;
		}
		cold++;
		r = make_stable1(fd, h[i]);
		ASSERT_TRUE(r == 0 || r == RZPOOL_DISCARDED)
			TH_LOG("object %d: %d", i, r);
		if (r == 0) {
			ASSERT_EQ(check(fd, h[i], size, i), 0)
				TH_LOG("object %d was kept torn", i);
			(*kept)++;
		} else {
			ASSERT_TRUE(is_zero(fd, h[i], size));
			/* Refillable. */
			ASSERT_EQ(put(fd, h[i], size, i), 0);
			(*discarded)++;
		}
	}
	ASSERT_EQ(*kept + *discarded, cold);
	ASSERT_EQ((uint64_t)*discarded,
		  st->discard_shrink + st->discard_compact + st->discard_migrate);
}

TEST_F(rzvol, shrinker_discards_whole_volatile_zspages)
{
	enum { N = 8192, SIZE = 1000 };
	static uint64_t h[N];
	struct rzpool_stats before, after;
	int kept, discarded;

	split_fill(_metadata, self->fd, h, N, SIZE, 0);
	ASSERT_EQ(rz_stats(self->fd, &before), 0);
	ASSERT_EQ(before.volatile_objs, N / 2);
	/* "2": reclaim slab objects, i.e. call every shrinker. */
	ASSERT_EQ(write_file("/proc/sys/vm/drop_caches", "2"), 0);
	ASSERT_EQ(rz_stats(self->fd, &after), 0);
	TH_LOG("shrinker: %llu -> %llu pages; %llu objects discarded, %llu pages freed by discards alone",
	       (unsigned long long)before.pages, (unsigned long long)after.pages,
	       (unsigned long long)(after.discard_shrink - before.discard_shrink),
	       (unsigned long long)(after.discard_pages - before.discard_pages));
	ASSERT_GT(after.discard_shrink, before.discard_shrink);
	ASSERT_GT(after.discard_pages, before.discard_pages);
	ASSERT_LT(after.pages, before.pages);
	take_back(_metadata, self->fd, h, N, SIZE, 0, &after, &kept, &discarded);
	ASSERT_EQ(kept + discarded, N / 2);
	TH_LOG("of %d volatile objects: %d kept, %d discarded", N / 2, kept, discarded);
}

/* Internal compaction counts volatile objects as room and drops them. */
TEST_F(rzvol, compaction_drops_instead_of_copying)
{
	enum { N = 8192, SIZE = 700 };
	static uint64_t h[N];
	struct rzpool_stats before, after;
	uint64_t freed = 0;
	int kept, discarded;

	/* Every other object volatile: no zspage all volatile, none stable. */
	split_fill(_metadata, self->fd, h, N, SIZE, 2);
	ASSERT_EQ(rz_stats(self->fd, &before), 0);
	ASSERT_EQ(ioctl(self->fd, RZPOOL_IOC_COMPACT, &freed), 0);
	ASSERT_EQ(rz_stats(self->fd, &after), 0);
	TH_LOG("compaction: %llu -> %llu pages, %llu freed, %llu objects dropped",
	       (unsigned long long)before.pages, (unsigned long long)after.pages,
	       (unsigned long long)freed,
	       (unsigned long long)(after.discard_compact - before.discard_compact));
	ASSERT_GT(freed, 0);
	ASSERT_GT(after.discard_compact, before.discard_compact);
	take_back(_metadata, self->fd, h, N, SIZE, 2, &after, &kept, &discarded);
	ASSERT_EQ(kept + discarded, N / 2);
}

/*
 * Page migration drops the volatile objects on a page and carries the
 * stable ones: every other object volatile, then offline the memory blocks
 * that hold the pool's pages (every page there must migrate) and compact
 * all memory (which moves only what lies in its way: after the other
 * tests, often nothing of ours).
 */
TEST_F_TIMEOUT(rzvol, migration_drops_volatile_objects, 1800)
{
	enum { N = 16384, SIZE = 1500 };
	static uint64_t h[N];
	static unsigned char want[1 << 16];
	struct offline_result off = { .only = want, .nr_only = sizeof(want) };
	struct rzpool_stats before, after;
	int kept, discarded, round;
	size_t pages;

	prefer_movable_node();
	split_fill(_metadata, self->fd, h, N, SIZE, 2);
	syscall(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0);
	ASSERT_EQ(rz_stats(self->fd, &before), 0);
	if (!access(MEMORY_DIR "/auto_online_blocks", F_OK) &&
	    !pool_blocks(self->fd, want, sizeof(want), &pages))
		offline_movable_blocks(&off);
	for (round = 0; round < 3; round++)
		ASSERT_EQ(compact_memory(NULL), 0);
	ASSERT_EQ(rz_stats(self->fd, &after), 0);
	TH_LOG("%d of %d blocks holding pool pages offlined (%d refused at once, the last "
	       "with errno %d; %d failed, the last with errno %d), then compact_memory: "
	       "%llu pages migrated, %llu objects dropped, %llu stable copied",
	       off.offlined, off.blocks, off.unfit, off.unfit_errno, off.failed, off.last_errno,
	       (unsigned long long)(after.migrate - before.migrate),
	       (unsigned long long)(after.discard_migrate - before.discard_migrate),
	       (unsigned long long)(after.migrate_copied - before.migrate_copied));
	if (after.migrate == before.migrate)
		SKIP(return, "neither offlining nor compaction migrated a page of the pool "
			     "(%d of %d blocks holding its pages offlined; %d refused, errno %d; "
			     "%d failed): nothing to judge",
			     off.offlined, off.blocks, off.unfit, off.unfit_errno, off.failed);
	ASSERT_GT(after.discard_migrate, before.discard_migrate);
	ASSERT_GT(after.migrate_copied, before.migrate_copied);
	take_back(_metadata, self->fd, h, N, SIZE, 2, &after, &kept, &discarded);
	ASSERT_EQ(kept + discarded, N / 2);
}

/*
 * The race: threads flip their objects between volatile and stable while
 * the shrinker, internal compaction, compact_memory and memory offlining
 * run. Every make_stable answer is "kept" with intact contents or
 * "discarded"; user and pool counts agree.
 */
#define RACE_THREADS 2
#define RACE_OBJS 4096
#define RACE_SECONDS 6

struct flipper {
	int fd;
	int id;
	uint64_t h[RACE_OBJS];
	uint32_t size[RACE_OBJS];
	uint64_t made, kept, discarded, torn, errors;
	int last_err;
};

static atomic_int race_stop;

static void *flipper_main(void *arg)
{
	struct flipper *f = arg;
	static __thread int32_t res[256];
	uint64_t seed;
	int i, j, k;

	for (i = 0; !atomic_load(&race_stop); i = (i + 256) % RACE_OBJS) {
		if (rz_states(f->fd, RZPOOL_IOC_MAKE_VOLATILE, &f->h[i], res, 256)) {
			f->errors++;
			continue;
		}
		for (j = 0; j < 256; j++) {
			if (res[j]) {
				f->errors++;
				f->last_err = res[j];
			} else {
				f->made++;
			}
		}
		usleep(200);
		if (rz_states(f->fd, RZPOOL_IOC_MAKE_STABLE, &f->h[i], res, 256)) {
			f->errors++;
			continue;
		}
		for (j = 0; j < 256; j++) {
			k = i + j;
			seed = (uint64_t)f->id << 32 | k;
			if (res[j] == 0) {
				f->kept++;
				if (check(f->fd, f->h[k], f->size[k], seed))
					f->torn++;
			} else if (res[j] == RZPOOL_DISCARDED) {
				f->discarded++;
				if (!is_zero(f->fd, f->h[k], f->size[k]))
					f->torn++;
				put(f->fd, f->h[k], f->size[k], seed);
			} else {
				f->errors++;
				f->last_err = res[j];
			}
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(rzvol, flips_race_discarders, 1800)
{
	static struct flipper fl[RACE_THREADS];
	static unsigned char want[1 << 16];
	struct offline_result off = { .only = want, .nr_only = sizeof(want) };
	struct rzpool_stats st;
	pthread_t th[RACE_THREADS];
	uint64_t made = 0, kept = 0, discarded = 0, freed;
	time_t end;
	int t, i, rounds = 0, offlined = 0;

	prefer_movable_node();
	for (t = 0; t < RACE_THREADS; t++) {
		fl[t].fd = self->fd;
		fl[t].id = t;
		for (i = 0; i < RACE_OBJS; i++) {
			fl[t].size[i] = 64 + (i * 37 + t * 11) % 1500;
			ASSERT_EQ(rz_alloc(self->fd, fl[t].size[i], &fl[t].h[i]), 0);
			ASSERT_EQ(put(self->fd, fl[t].h[i], fl[t].size[i],
				      (uint64_t)t << 32 | i), 0);
		}
	}
	syscall(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0);
	atomic_store(&race_stop, 0);
	for (t = 0; t < RACE_THREADS; t++)
		ASSERT_EQ(pthread_create(&th[t], NULL, flipper_main, &fl[t]), 0);
	end = time(NULL) + RACE_SECONDS;
	while (time(NULL) < end || rounds < 4) {
		switch (rounds++ % 4) {
		case 0:
			write_file("/proc/sys/vm/drop_caches", "2");
			break;
		case 1:
			ioctl(self->fd, RZPOOL_IOC_COMPACT, &freed);
			break;
		case 2:
			compact_memory(NULL);
			break;
		case 3:
			/* Offline what holds pool pages, if this machine can. */
			if (!offlined && !access(MEMORY_DIR "/auto_online_blocks", F_OK)) {
				size_t pages;

				if (!pool_blocks(self->fd, want, sizeof(want), &pages) &&
				    !offline_movable_blocks(&off))
					offlined = off.offlined;
			}
			break;
		}
	}
	atomic_store(&race_stop, 1);
	for (t = 0; t < RACE_THREADS; t++) {
		pthread_join(th[t], NULL);
		EXPECT_EQ(fl[t].torn, 0);
		EXPECT_EQ(fl[t].errors, 0)
			TH_LOG("thread %d: last error %d", t, fl[t].last_err);
		made += fl[t].made;
		kept += fl[t].kept;
		discarded += fl[t].discarded;
	}
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	TH_LOG("%d discarder rounds (%d blocks offlined): %llu made volatile, %llu kept, %llu discarded "
	       "(shrinker %llu, compaction %llu, migration %llu; %llu pages migrated)",
	       rounds, offlined, (unsigned long long)made, (unsigned long long)kept,
	       (unsigned long long)discarded, (unsigned long long)st.discard_shrink,
	       (unsigned long long)st.discard_compact, (unsigned long long)st.discard_migrate,
	       (unsigned long long)st.migrate);
	ASSERT_EQ(kept + discarded, made);
	ASSERT_EQ(st.made_volatile, made);
	ASSERT_EQ(st.kept, kept);
	ASSERT_EQ(st.discard_shrink + st.discard_compact + st.discard_migrate, discarded);
	ASSERT_EQ(st.volatile_objs, 0);
	/* The discarders really ran into volatile objects. */
	ASSERT_GT(discarded, 0);
	for (t = 0; t < RACE_THREADS; t++)
		for (i = 0; i < RACE_OBJS; i++)
			ASSERT_EQ(check(self->fd, fl[t].h[i], fl[t].size[i],
					(uint64_t)t << 32 | i), 0);
}

TEST_HARNESS_MAIN
