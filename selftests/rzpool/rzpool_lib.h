/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Helpers shared by rzpool_test (the kselftest) and rzpool_stress (the
 * compaction-stress tool of `make run`): the ioctl wrappers (rzpool_ioctl.h),
 * deterministic object contents, and the worker threads that use a pool
 * while it is migrated.
 */
#ifndef RZPOOL_LIB_H
#define RZPOOL_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rzpool_ioctl.h"
#include "../rmm_selftest.h"

#define PAGE_SZ 4096

/* Deterministic contents: the object's bytes follow from a seed. */
static inline void fill(uint8_t *buf, size_t len, uint64_t seed)
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

static inline int check(int fd, uint64_t handle, uint32_t size, uint64_t seed)
{
	uint8_t want[RZPOOL_MAX_SIZE], got[RZPOOL_MAX_SIZE];
	int ret;

	fill(want, size, seed);
	ret = rz_read(fd, handle, 0, got, size);
	if (ret)
		return ret;
	return memcmp(want, got, size) ? -EILSEQ : 0;
}

static inline int put(int fd, uint64_t handle, uint32_t size, uint64_t seed)
{
	uint8_t buf[RZPOOL_MAX_SIZE];

	fill(buf, size, seed);
	return rz_write(fd, handle, 0, buf, size);
}

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

static inline uint32_t stress_size(uint64_t i)
{
	/* A mixed stream: small, middle, spanning and page-sized objects. */
	static const uint32_t sizes[] = { 64, 200, 700, 1632, 2100, 3264, 4096, 900 };

	return sizes[i % 8] - (i % 13);
}

/* Each worker owns its objects: frees, reallocates, rewrites and checks them. */
static inline void *worker_main(void *arg)
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

#define STRESS_WORKERS 2
#define STRESS_WORKER_OBJS 2048

/* A pool filled for a compaction stress, and the workers that use it. */
struct stress {
	int fd;
	struct obj *objs;
	size_t n;
	struct worker workers[STRESS_WORKERS];
	volatile int stop;
};

/*
 * Fills the pool with at least @bytes of objects, interleaving it with
 * anonymous memory in 4 MiB steps; freeing that memory afterwards leaves
 * holes all over the zone, so compaction has pool pages to move and free
 * pages to move them to. Returns 0 or -errno.
 */
static inline int stress_fill(struct stress *st, int fd, uint64_t bytes)
{
	const size_t chunk = 4UL << 20;
	size_t cap = 1 << 16, nfrag = 0, i;
	uint64_t filled = 0;
	char *frag[64];
	int ret = 0;

	memset(st, 0, sizeof(*st));
	st->fd = fd;
	st->objs = malloc(cap * sizeof(*st->objs));
	if (!st->objs)
		return -ENOMEM;
	while (filled < bytes && !ret) {
		uint64_t step = filled + chunk;

		while (filled < step && !ret) {
			struct obj *o;

			if (st->n == cap) {
				struct obj *more = realloc(st->objs, 2 * cap * sizeof(*more));

				if (!more) {
					ret = -ENOMEM;
					break;
				}
				st->objs = more;
				cap *= 2;
			}
			o = &st->objs[st->n];
			o->size = stress_size(st->n);
			o->seed = st->n;
			ret = rz_alloc(fd, o->size, &o->handle);
			if (!ret)
				ret = put(fd, o->handle, o->size, o->seed);
			if (!ret) {
				filled += o->size;
				st->n++;
			}
		}
		if (nfrag < 64) {
			frag[nfrag] = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
			if (frag[nfrag] != MAP_FAILED)
				nfrag++;
		}
	}
	for (i = 0; i < nfrag; i++)
		munmap(frag[i], chunk);
	for (i = 0; i < STRESS_WORKERS; i++) {
		st->workers[i] = (struct worker){
			.fd = fd, .id = i, .objs = st->objs + i * STRESS_WORKER_OBJS,
			.n = STRESS_WORKER_OBJS, .stop = &st->stop,
		};
	}
	return st->n < STRESS_WORKERS * STRESS_WORKER_OBJS && !ret ? -ENOSPC : ret;
}

/*
 * Runs @trigger (compaction, memory offlining) while the workers free,
 * reallocate, rewrite and check their objects. Returns @trigger's result,
 * or the first worker error.
 */
static inline int stress_round(struct stress *st, int (*trigger)(void *), void *arg)
{
	pthread_t threads[STRESS_WORKERS];
	int i, ret;

	st->stop = 0;
	for (i = 0; i < STRESS_WORKERS; i++)
		if (pthread_create(&threads[i], NULL, worker_main, &st->workers[i]))
			return -EAGAIN;
	ret = trigger(arg);
	st->stop = 1;
	for (i = 0; i < STRESS_WORKERS; i++) {
		pthread_join(threads[i], NULL);
		if (!ret && st->workers[i].error)
			ret = st->workers[i].error;
	}
	return ret;
}

/* Checks every object; returns 0, or -errno with the first bad index. */
static inline int stress_verify(struct stress *st, size_t *bad)
{
	size_t i;
	int ret;

	for (i = 0; i < st->n; i++) {
		ret = check(st->fd, st->objs[i].handle, st->objs[i].size, st->objs[i].seed);
		if (ret) {
			*bad = i;
			return ret;
		}
	}
	return 0;
}

static inline int compact_memory(void *arg)
{
	return write_file("/proc/sys/vm/compact_memory", "1");
}

/* The value of the "key value" line of a file (a pool's debugfs `stats`,
 * memory.stat, memory.events), or -1. */
static inline long key_value(const char *path, const char *key)
{
	char name[64];
	long v, found = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &v) == 2)
		if (!strcmp(name, key))
			found = v;
	fclose(f);
	return found;
}

/*
 * Marks in want[] (nr blocks, cleared first) the memory blocks that hold a
 * pool's pages, from its debugfs `pfns` file, e.g.
 * /sys/kernel/debug/rzpool/pool-<id>/pfns; counts the pages in *pages if
 * not NULL. 0 or -ENOENT.
 */
static inline int pfns_to_blocks(const char *pfns, unsigned char *want, size_t nr, size_t *pages)
{
	unsigned long long pfn;
	unsigned long block_pages;
	char buf[64];
	size_t n = 0;
	FILE *f;

	if (read_file(MEMORY_DIR "/block_size_bytes", buf, sizeof(buf)))
		return -ENOENT;
	block_pages = strtoul(buf, NULL, 16) / PAGE_SZ;
	f = fopen(pfns, "r");
	if (!f)
		return -ENOENT;
	if (!block_pages) {
		fclose(f);
		return -ENOENT;
	}
	memset(want, 0, nr);
	while (fscanf(f, "%llu", &pfn) == 1) {
		if (pfn / block_pages < nr)
			want[pfn / block_pages] = 1;
		n++;
	}
	fclose(f);
	if (pages)
		*pages = n;
	return 0;
}

/* Marks in want[] the memory blocks that hold pages of the pool; 0 or -errno. */
static inline int pool_blocks(int fd, unsigned char *want, size_t nr, size_t *pages)
{
	struct rzpool_stats st;
	char path[128];

	if (rz_stats(fd, &st))
		return -ENOENT;
	snprintf(path, sizeof(path), "/sys/kernel/debug/rzpool/pool-%u/pfns", st.pool_id);
	return pfns_to_blocks(path, want, nr, pages);
}

#endif /* RZPOOL_LIB_H */
