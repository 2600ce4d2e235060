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
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rzpool_uapi.h"

#define RZPOOL_DEV "/dev/rzpool"
#define PAGE_SZ 4096

/* --- small helpers: each returns 0 or -errno --- */

static int rz_alloc(int fd, uint32_t size, uint64_t *handle)
{
	struct rzpool_alloc a = { .size = size };

	if (ioctl(fd, RZPOOL_IOC_ALLOC, &a))
		return -errno;
	*handle = a.handle;
	return 0;
}

static int rz_free(int fd, uint64_t handle)
{
	return ioctl(fd, RZPOOL_IOC_FREE, &handle) ? -errno : 0;
}

static int rz_write(int fd, uint64_t handle, uint32_t off, const void *buf, uint32_t len)
{
	struct rzpool_rw rw = {
		.handle = handle, .addr = (uintptr_t)buf, .offset = off, .len = len,
	};

	return ioctl(fd, RZPOOL_IOC_WRITE, &rw) ? -errno : 0;
}

static int rz_read(int fd, uint64_t handle, uint32_t off, void *buf, uint32_t len)
{
	struct rzpool_rw rw = {
		.handle = handle, .addr = (uintptr_t)buf, .offset = off, .len = len,
	};

	return ioctl(fd, RZPOOL_IOC_READ, &rw) ? -errno : 0;
}

static int rz_stats(int fd, struct rzpool_stats *st)
{
	return ioctl(fd, RZPOOL_IOC_STATS, st) ? -errno : 0;
}

/* Deterministic contents: the object's bytes follow from a seed. */
static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		buf[i] = x >> (8 * (i % 8));
	}
}

static int check(int fd, uint64_t handle, uint32_t size, uint64_t seed)
{
	uint8_t want[RZPOOL_MAX_SIZE], got[RZPOOL_MAX_SIZE];
	int ret;

	fill(want, size, seed);
	ret = rz_read(fd, handle, 0, got, size);
	if (ret)
		return ret;
	return memcmp(want, got, size) ? -EILSEQ : 0;
}

static int put(int fd, uint64_t handle, uint32_t size, uint64_t seed)
{
	uint8_t buf[RZPOOL_MAX_SIZE];

	fill(buf, size, seed);
	return rz_write(fd, handle, 0, buf, size);
}

static unsigned long vmstat(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	unsigned long v = 0;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ' ')
			v = strtoul(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

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
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		_exit(open(RZPOOL_DEV, O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
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
	ASSERT_EQ(syscall(SYS_delete_module, "rzpool", O_NONBLOCK), -1);
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	ASSERT_EQ(st.objs, 1);
	ASSERT_EQ(check(self->fd, h, 1000, 3), 0);
}

/* Under memory pressure the shrinker compacts: drop_caches runs it. */
TEST_F(rzpool, shrinker_frees_pages)
{
	enum { N = 4096 };
	static uint64_t h[N];
	struct rzpool_stats before, after;
	int i;

	for (i = 0; i < N; i++) {
		ASSERT_EQ(rz_alloc(self->fd, 300, &h[i]), 0);
		ASSERT_EQ(put(self->fd, h[i], 300, i), 0);
	}
	for (i = 0; i < N; i++)
		if (i % 4)
			ASSERT_EQ(rz_free(self->fd, h[i]), 0);
	ASSERT_EQ(rz_stats(self->fd, &before), 0);
	/* "2": reclaim slab objects, i.e. call every shrinker. */
	ASSERT_EQ(write_file("/proc/sys/vm/drop_caches", "2"), 0);
	ASSERT_EQ(rz_stats(self->fd, &after), 0);
	TH_LOG("shrinker: %llu -> %llu pages, shrink_freed %llu",
	       (unsigned long long)before.pages, (unsigned long long)after.pages,
	       (unsigned long long)after.shrink_freed);
	ASSERT_GT(after.shrink_freed, before.shrink_freed);
	ASSERT_LT(after.pages, before.pages);
	for (i = 0; i < N; i += 4)
		ASSERT_EQ(check(self->fd, h[i], 300, i), 0);
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

#define STRESS_BYTES (256UL << 20)	/* at least 256 MiB of objects */
#define STRESS_ROUNDS 3

struct obj {
	uint64_t handle;
	uint32_t size;
	uint32_t seed;
};

struct worker {
	int fd;
	int id;
	struct obj *objs;
	size_t n;
	volatile int *stop;
	unsigned long ops;
	int error;
};

static uint32_t stress_size(uint64_t i)
{
	/* A mixed stream: small, middle, spanning and page-sized objects. */
	static const uint32_t sizes[] = { 64, 200, 700, 1632, 2100, 3264, 4096, 900 };

	return sizes[i % 8] - (i % 13);
}

/* Each worker owns its objects: frees, reallocates, rewrites and checks them. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t x = w->id + 1;

	while (!*w->stop) {
		struct obj *o;
		int ret;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		o = &w->objs[x % w->n];
		switch ((x >> 32) % 3) {
		case 0:	/* check */
			ret = check(w->fd, o->handle, o->size, o->seed);
			break;
		case 1:	/* rewrite */
			o->seed++;
			ret = put(w->fd, o->handle, o->size, o->seed);
			break;
		default: /* free and reallocate */
			ret = rz_free(w->fd, o->handle);
			if (!ret)
				ret = rz_alloc(w->fd, o->size, &o->handle);
			if (!ret)
				ret = put(w->fd, o->handle, o->size, o->seed);
			break;
		}
		if (ret) {
			w->error = ret;
			break;
		}
		w->ops++;
	}
	return NULL;
}

TEST_F(rzpool, compaction_stress)
{
	enum { WORKERS = 2, WORKER_OBJS = 2048 };
	struct rzpool_stats st0, st;
	struct worker workers[WORKERS];
	pthread_t threads[WORKERS];
	unsigned long mig0, mig, round;
	size_t n = 0, cap = 1 << 16, i, frag_pages = 0;
	uint64_t bytes = 0;
	struct obj *objs = malloc(cap * sizeof(*objs));
	char *frag[64];
	size_t chunk = 4UL << 20;
	volatile int stop;

	ASSERT_NE(objs, NULL);
	ASSERT_EQ(rz_stats(self->fd, &st0), 0);

	/*
	 * Fill the pool, interleaving it with anonymous memory in 4 MiB steps;
	 * freeing that memory afterwards leaves holes all over the zone, so
	 * compaction has pool pages to move and free pages to move them to.
	 */
	while (bytes < STRESS_BYTES) {
		uint64_t step = bytes + chunk;

		while (bytes < step) {
			if (n == cap) {
				cap *= 2;
				objs = realloc(objs, cap * sizeof(*objs));
				ASSERT_NE(objs, NULL);
			}
			objs[n].size = stress_size(n);
			objs[n].seed = n;
			ASSERT_EQ(rz_alloc(self->fd, objs[n].size, &objs[n].handle), 0);
			ASSERT_EQ(put(self->fd, objs[n].handle, objs[n].size, n), 0);
			bytes += objs[n].size;
			n++;
		}
		if (frag_pages < 64) {
			frag[frag_pages] = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
			ASSERT_NE(frag[frag_pages], MAP_FAILED);
			frag_pages++;
		}
	}
	for (i = 0; i < frag_pages; i++)
		munmap(frag[i], chunk);
	ASSERT_EQ(rz_stats(self->fd, &st), 0);
	TH_LOG("filled: %zu objects, %llu bytes in %llu pages",
	       n, (unsigned long long)st.bytes, (unsigned long long)st.pages);
	ASSERT_GE(st.bytes, STRESS_BYTES);

	/* The workers own the first objects; the rest stay still. */
	for (i = 0; i < WORKERS; i++) {
		workers[i] = (struct worker){
			.fd = self->fd, .id = i, .objs = objs + i * WORKER_OBJS,
			.n = WORKER_OBJS, .stop = &stop,
		};
	}

	mig0 = vmstat("pgmigrate_success");
	for (round = 0; round < STRESS_ROUNDS; round++) {
		stop = 0;
		for (i = 0; i < WORKERS; i++)
			ASSERT_EQ(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
		ASSERT_EQ(write_file("/proc/sys/vm/compact_memory", "1"), 0);
		stop = 1;
		for (i = 0; i < WORKERS; i++) {
			ASSERT_EQ(pthread_join(threads[i], NULL), 0);
			ASSERT_EQ(workers[i].error, 0);
		}
		ASSERT_EQ(rz_stats(self->fd, &st), 0);
		TH_LOG("round %lu: isolate %llu migrate %llu fail %llu putback %llu; worker ops %lu+%lu",
		       round, (unsigned long long)st.isolate, (unsigned long long)st.migrate,
		       (unsigned long long)st.migrate_fail, (unsigned long long)st.putback,
		       workers[0].ops, workers[1].ops);
		/* Every object, moved or not, still has its contents. */
		for (i = 0; i < n; i++)
			ASSERT_EQ(check(self->fd, objs[i].handle, objs[i].size, objs[i].seed), 0);
	}
	mig = vmstat("pgmigrate_success");
	TH_LOG("%zu objects intact; rzpool pages migrated %llu, pgmigrate_success +%lu",
	       n, (unsigned long long)(st.migrate - st0.migrate), mig - mig0);
	/* Our migrate callback ran, and the VM counted the migrations. */
	ASSERT_GT(st.migrate - st0.migrate, 0);
	ASSERT_GE(mig - mig0, st.migrate - st0.migrate);
	free(objs);
}

TEST_HARNESS_MAIN
