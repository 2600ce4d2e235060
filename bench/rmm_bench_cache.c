// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The cache group of rmm_bench: a purgeable cache of small objects kept in
 * rzpool volatile objects, against the same cache on anonymous memory with
 * MADV_FREE.
 *
 * The cache holds N objects of one size (or of mixed sizes, 64 .. 2048
 * bytes). A tenth is hot and stays pinned; the other nine tenths are cold
 * and unpinned, so that memory pressure may take them. Two layouts: every
 * tenth object hot (hotness unrelated to the order of insertion: every
 * page of a packed cache then holds a hot object, which must be copied for
 * the page to be freed), and the newest tenth hot (cold objects are the
 * oldest, as in an LRU cache). On MADV_FREE, whose unit is the page, each object
 * needs pages of its own to be unpinned alone: one object per page. (Packed
 * objects could only give back the pages whose every object is cold, which
 * here is almost none.)
 *
 * Per run and side, in a memory cgroup of its own (rmm_bench_cache):
 *   1. fill: N objects written, with contents that follow from their index;
 *      memory.current's growth over what the cached bytes need is the
 *      memory per cached byte (the pool's pages and its tables, or the
 *      anonymous pages and their page tables);
 *   2. unpin the cold objects: RZPOOL_IOC_MAKE_VOLATILE in batches of
 *      1,024, or one madvise(MADV_FREE) per run of cold pages;
 *   3. give back M bytes (a quarter of the cached bytes): memory.reclaim
 *      of the root cgroup, in steps of M / 8, until the cache's own cgroup
 *      has shrunk by M (at most 64 steps), reading every hot object between
 *      steps. Root, because the kernel calls a shrinker that is not memcg
 *      aware (rzpool's) only in reclaim of the root; the rest of the guest
 *      is the same for both sides. Timed: the reclaim writes only;
 *   4. pin everything back: RZPOOL_IOC_MAKE_STABLE, or a locked write to
 *      each page (a page reclaimed before it reads back as zeroes, one not
 *      reclaimed cannot be any more); every object said kept is checked
 *      byte for byte (a mismatch ends the benchmark), and the cold hit rate
 *      is the share of cold objects kept.
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
#include <sys/stat.h>
#include <unistd.h>

#include "rmm_bench.h"
#include "rzpool/rzpool_lib.h"

#define CG		CG_ROOT "/rmm_bench_cache"
#define HOT_EVERY	10

/*
 * Which objects are hot: every tenth (hotness unrelated to age: the worst
 * case for a packed cache, whose pages then all hold a hot object), or the
 * newest tenth (a cache whose cold objects are its oldest, as under LRU).
 */
enum layout { INTERLEAVED, BY_AGE, LAYOUTS };
static const char *const layout_name[LAYOUTS] = { "interleaved", "by age" };
static enum layout layout;
static size_t nr_objs;

static int is_hot(size_t i)
{
	if (layout == INTERLEAVED)
		return i % HOT_EVERY == 0;
	return i * HOT_EVERY >= nr_objs * (HOT_EVERY - 1);
}
#define MAX_STEPS	64

enum { RZPOOL, MADV_FREE_PAGES, SIDES };
static const char *const side_name[SIDES] = { "rzpool", "MADV_FREE" };

/* One run's results. */
struct cache_run {
	double per_byte;	/* memory held / cached bytes */
	double unpin_ns;	/* per cold object */
	double give_ms;		/* reclaim writes until the cache shrank by M */
	double hit;		/* cold objects kept, % */
	int gave;		/* the cache did shrink by M */
};

static uint32_t obj_size(uint32_t fixed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL;

	if (fixed)
		return fixed;
	x ^= x >> 29;
	return 64 + x % (2048 - 64 + 1);
}

static long cg_current(void)
{
	char buf[64];

	if (read_file(CG "/memory.current", buf, sizeof(buf)))
		die(CG "/memory.current");
	return atol(buf);
}

/* Root reclaim of bytes; its errors (EAGAIN: not all found) do not matter. */
static uint64_t reclaim_root(long bytes)
{
	char buf[32];
	uint64_t t0 = now_ns();

	snprintf(buf, sizeof(buf), "%ld", bytes);
	write_file(CG_ROOT "/memory.reclaim", buf);
	return now_ns() - t0;
}

/* --- the rzpool side --- */

struct rz_cache {
	int fd;
	uint64_t *h;
};

static void rz_fill(struct rz_cache *c, uint32_t size, size_t n)
{
	size_t i;

	c->fd = open(RZPOOL_DEV, O_RDWR);
	if (c->fd < 0)
		die(RZPOOL_DEV);
	for (i = 0; i < n; i++) {
		uint32_t sz = obj_size(size, i);

		if (rz_alloc(c->fd, sz, &c->h[i]) || put(c->fd, c->h[i], sz, i))
			die("rzpool fill");
	}
}

/* Every cold object (or every hot one) through a batch ioctl. */
static uint64_t hs[RZPOOL_MAX_BATCH];
static int32_t res[RZPOOL_MAX_BATCH];

static void rz_cold(struct rz_cache *c, size_t n, unsigned long cmd, size_t *kept)
{
	size_t i = 0, k;

	while (i < n) {
		size_t m = 0;

		for (; i < n && m < RZPOOL_MAX_BATCH; i++)
			if (!is_hot(i))
				hs[m++] = c->h[i];
		if (!m)
			break;
		if (rz_states(c->fd, cmd, hs, res, m))
			die("rzpool states");
		for (k = 0; k < m; k++) {
			if (res[k] < 0) {
				errno = -res[k];
				die("rzpool state of an object");
			}
			if (kept && res[k] == 0)
				(*kept)++;
		}
	}
}

static void rz_touch_hot(struct rz_cache *c, uint32_t size, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_hot(i) && check(c->fd, c->h[i], obj_size(size, i), i))
			die("rzpool: a hot object changed");
}

/* Pins all back; checks every kept object; returns the cold ones kept. */
static size_t rz_pin(struct rz_cache *c, uint32_t size, size_t n)
{
	size_t kept = 0, i, seen = 0;

	rz_cold(c, n, RZPOOL_IOC_MAKE_STABLE, &kept);
	/* Refilled, a discarded object reads back as zeroes. */
	for (i = 0; i < n; i++) {
		int ret = check(c->fd, c->h[i], obj_size(size, i), i);

		if (ret == 0)
			seen++;
		else if (is_hot(i) || ret != -EILSEQ)
			die("rzpool: a kept object is not intact");
	}
	for (i = 0; i < n; i++)
		seen -= is_hot(i);
	if (seen != kept) {
		errno = EILSEQ;
		die("rzpool: kept objects and intact ones differ");
	}
	return kept;
}

/* --- the MADV_FREE side: one object per page --- */

static char *mf_fill(uint32_t size, size_t n)
{
	char *p = mmap(NULL, n * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		die("mmap");
	for (i = 0; i < n; i++)
		fill((uint8_t *)p + i * PAGE_SZ, obj_size(size, i), i);
	return p;
}

static void mf_unpin(char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j;

		if (is_hot(i)) {
			i++;
			continue;
		}
		for (j = i; j < n && !is_hot(j); j++)
			;
		if (madvise(p + i * PAGE_SZ, (j - i) * PAGE_SZ, MADV_FREE))
			die("madvise(MADV_FREE)");
		i = j;
	}
}

static int mf_intact(const char *obj, uint32_t sz, uint64_t i)
{
	static uint8_t want[PAGE_SZ];

	fill(want, sz, i);
	return !memcmp(obj, want, sz);
}

static void mf_touch_hot(const char *p, uint32_t size, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_hot(i) && !mf_intact(p + i * PAGE_SZ, obj_size(size, i), i))
			die("MADV_FREE: a hot object changed");
}

static size_t mf_pin(char *p, uint32_t size, size_t n)
{
	size_t kept = 0, i;

	for (i = 0; i < n; i++) {
		char *obj = p + i * PAGE_SZ;
		uint32_t sz = obj_size(size, i);
		size_t k;

		/*
		 * A locked write of zero cancels MADV_FREE: from here on the
		 * page is kept. If reclaim took it before, this write lands in
		 * a new zeroed page, which the check below finds.
		 */
		__atomic_fetch_or((uint64_t *)obj, 0, __ATOMIC_SEQ_CST);
		if (mf_intact(obj, sz, i)) {
			if (!is_hot(i))
				kept++;
			continue;
		}
		for (k = 0; k < sz && !obj[k]; k++)
			;
		if (k < sz || is_hot(i)) {
			errno = EILSEQ;
			die("MADV_FREE: an object is torn");
		}
	}
	return kept;
}

/* --- one run of one side --- */

static void cache_run(int side, uint32_t size, size_t n, uint64_t *h, struct cache_run *r)
{
	struct rz_cache rz = { .fd = -1, .h = h };
	uint64_t cached = 0, t0, given = 0;
	size_t i, cold = 0, kept;
	long base, full, want;
	char *p = NULL;
	int step;

	for (i = 0; i < n; i++) {
		cached += obj_size(size, i);
		cold += !is_hot(i);
	}
	/* A quiet start: no page cache or slab of an earlier run left. */
	write_file("/proc/sys/vm/drop_caches", "3");
	base = cg_current();
	if (side == RZPOOL)
		rz_fill(&rz, size, n);
	else
		p = mf_fill(size, n);
	full = cg_current();
	r->per_byte = (double)(full - base) / cached;

	t0 = now_ns();
	if (side == RZPOOL)
		rz_cold(&rz, n, RZPOOL_IOC_MAKE_VOLATILE, NULL);
	else
		mf_unpin(p, n);
	r->unpin_ns = (double)(now_ns() - t0) / cold;

	/* Give back a quarter of the cached bytes, under root reclaim. */
	want = cached / 4;
	r->gave = 0;
	for (step = 0; step < MAX_STEPS; step++) {
		given += reclaim_root(want / 8);
		if (full - cg_current() >= want) {
			r->gave = 1;
			break;
		}
		if (side == RZPOOL)
			rz_touch_hot(&rz, size, n);
		else
			mf_touch_hot(p, size, n);
	}
	r->give_ms = given / 1e6;

	kept = side == RZPOOL ? rz_pin(&rz, size, n) : mf_pin(p, size, n);
	r->hit = 100.0 * kept / cold;
	if (side == RZPOOL)
		close(rz.fd);
	else
		munmap(p, n * PAGE_SZ);
}

static int cg_setup(void)
{
	char buf[256];

	if (read_file(CG_ROOT "/cgroup.subtree_control", buf, sizeof(buf)) ||
	    !strstr(buf, "memory") || access(CG_ROOT "/memory.reclaim", W_OK) ||
	    access(RZPOOL_DEV, R_OK | W_OK))
		return -1;
	if (mkdir(CG, 0755) && errno != EEXIST)
		return -1;
	return cg_enter(CG);
}

static const char *const what[] = {
	"memory per cached byte", "unpin, per cold object",
	"give back 1/4", "cold hit rate after",
};
static const char *const unit[] = { "x", "ns/op", "ms", "%" };

/* Every side, runs times, for objects of size (0: mixed) in this layout. */
static void cache_case(uint32_t size, size_t n, uint64_t *h)
{
	static double v[SIDES][4][64];
	int nv[SIDES] = { 0 }, failed[SIDES] = { 0 };
	char key[96];
	int r, p, k;

	for (r = 0; r < runs; r++) {
		for (p = 0; p < SIDES; p++) {
			int side = (r + p) % SIDES;
			struct cache_run cr;

			cache_run(side, size, n, h, &cr);
			if (!cr.gave) {
				failed[side]++;
				continue;
			}
			v[side][0][nv[side]] = cr.per_byte;
			v[side][1][nv[side]] = cr.unpin_ns;
			v[side][2][nv[side]] = cr.give_ms;
			v[side][3][nv[side]] = cr.hit;
			nv[side]++;
		}
	}
	for (k = 0; k < 4; k++) {
		if (size)
			snprintf(key, sizeof(key), "%u B, %s: %s", size, layout_name[layout], what[k]);
		else
			snprintf(key, sizeof(key), "mixed, %s: %s", layout_name[layout], what[k]);
		for (p = 0; p < SIDES; p++) {
			if (failed[p])
				record_na("cache", key, side_name[p], unit[k], NULL, 0,
					  "the cache did not shrink by 1/4 in 64 reclaim steps");
			else
				record("cache", key, side_name[p], unit[k], v[p][k], nv[p]);
		}
	}
}

void bench_cache(void)
{
	static const uint32_t sizes[] = { 64, 256, 1024, 2048, 0 };
	size_t n = quick ? 4096 : 16384;
	uint64_t *h = calloc(n, sizeof(*h));
	int si, k;

	if (!h)
		die("calloc");
	if (cg_setup()) {
		for (k = 0; k < 4; k++)
			record_na("cache", what[k], "rzpool", unit[k], NULL, 0,
				  "needs cgroup2 with the memory controller, root's memory.reclaim and /dev/rzpool");
		free(h);
		return;
	}
	/* Charged now, before any run counts its cgroup's memory. */
	memset(h, 0, n * sizeof(*h));
	memset(hs, 0, sizeof(hs));
	memset(res, 0, sizeof(res));
	nr_objs = n;
	for (layout = 0; layout < LAYOUTS; layout++)
		for (si = 0; si < 5; si++)
			cache_case(sizes[si], n, h);
	cg_leave(CG);
	free(h);
}
