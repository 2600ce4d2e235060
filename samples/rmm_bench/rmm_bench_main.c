// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rmm_bench: in-kernel benchmarks of rzpool against zsmalloc (and zbud).
 *
 * Every pool sits behind one table of operations, so the loops, the timing
 * and the size stream are the same code for each: zsmalloc through the
 * kernel's own zs_*() API (as zram uses it), rzpool through its in-kernel
 * API (rzpool_kapi.h), and the zpool drivers zsmalloc, zbud and rzpool
 * through their struct zpool_driver callbacks, as zswap reaches them through
 * zpool_*(). Nothing goes through a system call inside a timed loop. User
 * space (bench/) runs the tests in alternation and computes the statistics;
 * /dev/rmm_bench (root only) runs one test per ioctl.
 *
 * Lock order: bench_mutex (one test at a time), then the pools' own locks.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/zpool.h>
#include <linux/zsmalloc.h>

#include "../rzpool/rzpool_kapi.h"
#include "rmm_bench_states.h"
#include "rmm_bench_uapi.h"
#include "rmm_zpool_find.h"

/* One pool of any kind. */
struct pool_ops {
	const char *name;
	void *(*create)(const struct pool_ops *ops);	/* NULL on failure */
	void (*destroy)(void *pool);
	int (*malloc)(void *pool, size_t size, u64 *handle);
	void (*free)(void *pool, u64 handle);
	int (*write)(void *pool, u64 handle, const void *src, size_t len);
	int (*read)(void *pool, u64 handle, void *dst, size_t len);
	unsigned long (*total_pages)(void *pool);
	unsigned long (*compact)(void *pool);		/* NULL: none */
	/* Object states (STATES): NULL for a pool without them. */
	int (*make_volatile)(void *pool, u64 handle);
	int (*make_stable)(void *pool, u64 handle);
	/* Sizes of the mixed stream: 32 .. mixed_max bytes. */
	u32 mixed_max;
	/* zpool kinds: the driver (NULL while not registered). */
	struct zpool_driver **zpool;
};

/* --- zsmalloc, as zram uses it --- */

static void *zs_op_create(const struct pool_ops *ops)
{
	return zs_create_pool("rmm_bench");
}

static void zs_op_destroy(void *pool)
{
	zs_destroy_pool(pool);
}

static int zs_op_malloc(void *pool, size_t size, u64 *handle)
{
	unsigned long h = zs_malloc(pool, size, GFP_NOIO | __GFP_HIGHMEM | __GFP_MOVABLE);

	if (IS_ERR_VALUE(h))
		return (int)h;
	*handle = h;
	return 0;
}

static void zs_op_free(void *pool, u64 handle)
{
	zs_free(pool, handle);
}

static int zs_op_write(void *pool, u64 handle, const void *src, size_t len)
{
	void *dst = zs_map_object(pool, handle, ZS_MM_WO);

	memcpy(dst, src, len);
	zs_unmap_object(pool, handle);
	return 0;
}

static int zs_op_read(void *pool, u64 handle, void *dst, size_t len)
{
	void *src = zs_map_object(pool, handle, ZS_MM_RO);

	memcpy(dst, src, len);
	zs_unmap_object(pool, handle);
	return 0;
}

static unsigned long zs_op_total_pages(void *pool)
{
	return zs_get_total_pages(pool);
}

static unsigned long zs_op_compact(void *pool)
{
	return zs_compact(pool);
}

/* --- rzpool, through its in-kernel API --- */

static void *rz_op_create(const struct pool_ops *ops)
{
	return rzpool_create();
}

static void rz_op_destroy(void *pool)
{
	rzpool_destroy(pool);
}

static int rz_op_malloc(void *pool, size_t size, u64 *handle)
{
	*handle = rzpool_malloc(pool, size);
	return *handle ? 0 : -ENOMEM;
}

static void rz_op_free(void *pool, u64 handle)
{
	rzpool_free(pool, handle);
}

static int rz_op_write(void *pool, u64 handle, const void *src, size_t len)
{
	return rzpool_write(pool, handle, 0, src, len);
}

static int rz_op_read(void *pool, u64 handle, void *dst, size_t len)
{
	return rzpool_read(pool, handle, 0, dst, len);
}

static unsigned long rz_op_total_pages(void *pool)
{
	return rzpool_total_pages(pool);
}

static unsigned long rz_op_compact(void *pool)
{
	return rzpool_compact(pool);
}

static int rz_op_make_volatile(void *pool, u64 handle)
{
	return rzpool_make_volatile(pool, handle);
}

static int rz_op_make_stable(void *pool, u64 handle)
{
	return rzpool_make_stable(pool, handle);
}

/* --- the same states under a spinlock (rmm_bench_states.c) --- */

static void *ls_op_create(const struct pool_ops *ops)
{
	return locked_states_create();
}

static void ls_op_destroy(void *pool)
{
	locked_states_destroy(pool);
}

static int ls_op_malloc(void *pool, size_t size, u64 *handle)
{
	return locked_states_alloc(pool, handle);
}

static void ls_op_free(void *pool, u64 handle)
{
	locked_states_free(pool, handle);
}

static int ls_op_make_volatile(void *pool, u64 handle)
{
	return locked_states_make_volatile(pool, handle);
}

static int ls_op_make_stable(void *pool, u64 handle)
{
	return locked_states_make_stable(pool, handle);
}

/*
 * --- zpool drivers, as zswap uses them ---
 *
 * What zpool_create_pool() returns (struct zpool, private to mm/zpool.c):
 * the driver and its pool, one pointer away from every call as in zswap.
 * The gfp, the map modes and the copies are zswap_compress()'s (store) and
 * zswap_decompress()'s (load) in mm/zswap.c. No compaction: zpool has none.
 */
struct bench_zpool {
	const struct zpool_driver *driver;
	void *pool;
};

/*
 * The largest object zbud stores (mm/zbud.c, zbud_alloc()): a page less its
 * header chunk and one chunk (3968 bytes of 4096); bigger: -ENOSPC.
 */
#define ZBUD_MAX_SIZE	(PAGE_SIZE - 2 * (PAGE_SIZE >> 6))

static struct zpool_driver *zpool_zsmalloc, *zpool_zbud, *zpool_rzpool;

static void *zp_op_create(const struct pool_ops *ops)
{
	struct bench_zpool *zp = kmalloc(sizeof(*zp), GFP_KERNEL);

	if (!zp)
		return NULL;
	zp->driver = *ops->zpool;
	/* zswap_pool_create()'s gfp; zsmalloc wants a name per pool. */
	zp->pool = zp->driver->create("rmm_bench_zpool",
				      __GFP_NORETRY | __GFP_NOWARN | __GFP_KSWAPD_RECLAIM);
	if (!zp->pool) {
		kfree(zp);
		return NULL;
	}
	return zp;
}

static void zp_op_destroy(void *pool)
{
	struct bench_zpool *zp = pool;

	zp->driver->destroy(zp->pool);
	kfree(zp);
}

static int zp_op_malloc(void *pool, size_t size, u64 *handle)
{
	struct bench_zpool *zp = pool;
	gfp_t gfp = __GFP_NORETRY | __GFP_NOWARN | __GFP_KSWAPD_RECLAIM;
	unsigned long h;
	int ret;

	if (zp->driver->malloc_support_movable)
		gfp |= __GFP_HIGHMEM | __GFP_MOVABLE;
	ret = zp->driver->malloc(zp->pool, size, gfp, &h);
	if (!ret)
		*handle = h;
	return ret;
}

static void zp_op_free(void *pool, u64 handle)
{
	struct bench_zpool *zp = pool;

	zp->driver->free(zp->pool, handle);
}

/*
 * zswap does not check the mapping; rzpool's is NULL outside task context or
 * while this CPU has one already (rust/zpool.rs): an error here, not an Oops.
 */
static int zp_op_write(void *pool, u64 handle, const void *src, size_t len)
{
	struct bench_zpool *zp = pool;
	void *dst = zp->driver->map(zp->pool, handle, ZPOOL_MM_WO);

	if (!dst)
		return -EIO;
	memcpy(dst, src, len);
	zp->driver->unmap(zp->pool, handle);
	return 0;
}

static int zp_op_read(void *pool, u64 handle, void *dst, size_t len)
{
	struct bench_zpool *zp = pool;
	void *src = zp->driver->map(zp->pool, handle, ZPOOL_MM_RO);

	if (!src)
		return -EIO;
	memcpy(dst, src, len);
	zp->driver->unmap(zp->pool, handle);
	return 0;
}

static unsigned long zp_op_total_pages(void *pool)
{
	struct bench_zpool *zp = pool;

	return zp->driver->total_pages(zp->pool);
}

#define ZPOOL_OPS(type, driver)						\
	{								\
		.name = type, .create = zp_op_create,			\
		.destroy = zp_op_destroy, .malloc = zp_op_malloc,	\
		.free = zp_op_free, .write = zp_op_write,		\
		.read = zp_op_read, .total_pages = zp_op_total_pages,	\
		.mixed_max = ZBUD_MAX_SIZE, .zpool = &(driver),		\
	}

/*
 * The zpool kinds share one mixed stream, within what all three drivers
 * store (32 .. ZBUD_MAX_SIZE bytes), so each stores the same objects.
 */
static const struct pool_ops pools[] = {
	[RMM_BENCH_ZSMALLOC] = {
		.name = "zsmalloc", .create = zs_op_create, .destroy = zs_op_destroy,
		.malloc = zs_op_malloc, .free = zs_op_free, .write = zs_op_write,
		.read = zs_op_read, .total_pages = zs_op_total_pages,
		.compact = zs_op_compact, .mixed_max = PAGE_SIZE,
	},
	[RMM_BENCH_RZPOOL] = {
		.name = "rzpool", .create = rz_op_create, .destroy = rz_op_destroy,
		.malloc = rz_op_malloc, .free = rz_op_free, .write = rz_op_write,
		.read = rz_op_read, .total_pages = rz_op_total_pages,
		.compact = rz_op_compact, .mixed_max = PAGE_SIZE,
		.make_volatile = rz_op_make_volatile, .make_stable = rz_op_make_stable,
	},
	[RMM_BENCH_ZPOOL_ZSMALLOC] = ZPOOL_OPS("zsmalloc", zpool_zsmalloc),
	[RMM_BENCH_ZPOOL_ZBUD] = ZPOOL_OPS("zbud", zpool_zbud),
	[RMM_BENCH_ZPOOL_RZPOOL] = ZPOOL_OPS("rzpool", zpool_rzpool),
	[RMM_BENCH_LOCKED_STATES] = {
		.name = "locked states", .create = ls_op_create, .destroy = ls_op_destroy,
		.malloc = ls_op_malloc, .free = ls_op_free, .mixed_max = PAGE_SIZE,
		.make_volatile = ls_op_make_volatile, .make_stable = ls_op_make_stable,
	},
};

/*
 * The size stream: a fixed size, or sizes spread over 32 .. max bytes from
 * a seeded xorshift, the same for every pool with the same max.
 */
static u32 next_size(u32 fixed, u32 max, u64 *state)
{
	u64 x = *state;

	if (fixed)
		return fixed;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return 32 + x % (max - 32 + 1);
}

/* Contents of object i of a kept pool, checked when it is drained. */
static void fill_obj(u8 *buf, u32 len, u64 i)
{
	memset(buf, (u8)(i * 31 + 7), len);
	memcpy(buf, &i, min_t(u32, len, sizeof(i)));
}

/*
 * A marker of bench/qemu/rmm_prof.c: a multi-byte NOP whose displacement
 * 0x524d4d00 | action the plugin looks for ("RMM"; 1: start, 2: stop).
 */
#ifdef CONFIG_X86
static __always_inline void prof_start(void)
{
	asm volatile(".byte 0x0f, 0x1f, 0x80, 0x01, 0x4d, 0x4d, 0x52" ::: "memory");
}

static __always_inline void prof_stop(void)
{
	asm volatile(".byte 0x0f, 0x1f, 0x80, 0x02, 0x4d, 0x4d, 0x52" ::: "memory");
}
#else
static inline void prof_start(void) { }
static inline void prof_stop(void) { }
#endif

/* One thread's share of a timed test. */
struct worker {
	const struct rmm_bench_req *req;
	const struct pool_ops *ops;
	void *pool;
	int id;
	u64 ns[RMM_BENCH_MAX_BATCHES];
	int ret;
	atomic_t *start;
	struct completion done;
};

static int run_alloc_free(struct worker *w, u64 *h, u32 *sz)
{
	const struct rmm_bench_req *req = w->req;
	u64 state = req->seed + w->id;
	u32 b, i;
	int ret;

	for (i = 0; i < req->nr_objs; i++)
		sz[i] = next_size(req->size, w->ops->mixed_max, &state);
	if (req->flags & RMM_BENCH_F_PROFILE)
		prof_start();
	for (b = 0; b < req->batches; b++) {
		u64 t0 = ktime_get_ns();

		for (i = 0; i < req->nr_objs; i++) {
			ret = w->ops->malloc(w->pool, sz[i], &h[i]);
			if (ret) {
				/* A pool is destroyed empty (zbud's frees no object). */
				while (i--)
					w->ops->free(w->pool, h[i]);
				return ret;
			}
		}
		for (i = 0; i < req->nr_objs; i++)
			w->ops->free(w->pool, h[i]);
		w->ns[b] = ktime_get_ns() - t0;
		cond_resched();
	}
	if (req->flags & RMM_BENCH_F_PROFILE)
		prof_stop();
	return 0;
}

static int run_write_read(struct worker *w, u64 *h, u32 *sz)
{
	const struct rmm_bench_req *req = w->req;
	u64 state = req->seed + w->id;
	u8 *src, *dst;
	u32 b, i;
	int ret = 0;

	src = kmalloc(PAGE_SIZE, GFP_KERNEL);
	dst = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!src || !dst) {
		ret = -ENOMEM;
		goto out;
	}
	get_random_bytes(src, PAGE_SIZE);
	for (i = 0; i < req->nr_objs; i++) {
		sz[i] = next_size(req->size, w->ops->mixed_max, &state);
		ret = w->ops->malloc(w->pool, sz[i], &h[i]);
		if (ret)
			goto free;
	}
	if (req->flags & RMM_BENCH_F_PROFILE)
		prof_start();
	for (b = 0; b < req->batches; b++) {
		u64 t0 = ktime_get_ns();
		u32 j;

		/* For the zpool kinds: zswap's store, then its load. */
		for (j = 0; j < req->nr_objs; j++) {
			ret = w->ops->write(w->pool, h[j], src, sz[j]);
			if (!ret)
				ret = w->ops->read(w->pool, h[j], dst, sz[j]);
			if (ret)
				goto free;
		}
		w->ns[b] = ktime_get_ns() - t0;
		/* Not timed: the pool returned what it was given. */
		if (memcmp(src, dst, sz[req->nr_objs - 1])) {
			ret = -EILSEQ;
			goto free;
		}
		cond_resched();
	}
	if (req->flags & RMM_BENCH_F_PROFILE)
		prof_stop();
free:
	while (i--)
		w->ops->free(w->pool, h[i]);
out:
	kfree(src);
	kfree(dst);
	return ret;
}

/*
 * STATES: nr_objs objects; per batch, each made volatile, then each made
 * stable again (a cache unpinning its cold set, then pinning it back).
 */
static int run_states(struct worker *w, u64 *h, u32 *sz)
{
	const struct rmm_bench_req *req = w->req;
	u64 state = req->seed + w->id;
	u32 b, i;
	int ret = 0;

	for (i = 0; i < req->nr_objs; i++) {
		sz[i] = next_size(req->size, w->ops->mixed_max, &state);
		ret = w->ops->malloc(w->pool, sz[i], &h[i]);
		if (ret)
			goto free;
	}
	for (b = 0; b < req->batches; b++) {
		u64 t0 = ktime_get_ns();
		u32 j;

		for (j = 0; j < req->nr_objs; j++) {
			ret = w->ops->make_volatile(w->pool, h[j]);
			if (ret)
				goto free;
		}
		/* 1: discarded meanwhile by the shrinker; refilled, stable. */
		for (j = 0; j < req->nr_objs; j++) {
			ret = w->ops->make_stable(w->pool, h[j]);
			if (ret < 0)
				goto free;
		}
		ret = 0;
		w->ns[b] = ktime_get_ns() - t0;
		cond_resched();
	}
free:
	while (i--)
		w->ops->free(w->pool, h[i]);
	return ret;
}

static int worker_run(struct worker *w)
{
	u64 *h = kvmalloc_array(w->req->nr_objs, sizeof(*h), GFP_KERNEL);
	u32 *sz = kvmalloc_array(w->req->nr_objs, sizeof(*sz), GFP_KERNEL);
	int ret = -ENOMEM;

	/* Start together: a two-thread run measures contention. */
	atomic_dec(w->start);
	while (atomic_read(w->start) > 0)
		cpu_relax();
	if (h && sz) {
		if (w->req->test == RMM_BENCH_ALLOC_FREE)
			ret = run_alloc_free(w, h, sz);
		else if (w->req->test == RMM_BENCH_STATES)
			ret = run_states(w, h, sz);
		else
			ret = run_write_read(w, h, sz);
	}
	kvfree(h);
	kvfree(sz);
	return ret;
}

static int worker_thread(void *arg)
{
	struct worker *w = arg;

	w->ret = worker_run(w);
	complete(&w->done);
	return 0;
}

/* ALLOC_FREE and WRITE_READ: threads on one pool, ns per batch each. */
static int run_timed(struct rmm_bench_req *req, const struct pool_ops *ops)
{
	struct worker *w;
	atomic_t start;
	void *pool;
	int t, ret = 0;

	w = kcalloc(req->threads, sizeof(*w), GFP_KERNEL);
	pool = ops->create(ops);
	if (!w || !pool) {
		ret = -ENOMEM;
		goto out;
	}
	atomic_set(&start, req->threads);
	for (t = 0; t < req->threads; t++) {
		w[t] = (struct worker){ .req = req, .ops = ops, .pool = pool, .id = t, .start = &start };
		init_completion(&w[t].done);
	}
	/* Thread 0 runs here; the others in kthreads. */
	for (t = 1; t < req->threads; t++) {
		struct task_struct *k = kthread_run(worker_thread, &w[t], "rmm_bench/%d", t);

		if (IS_ERR(k)) {
			/* Let the started ones go, then report the failure. */
			atomic_sub(req->threads - t, &start);
			ret = PTR_ERR(k);
			req->threads = t;
			break;
		}
	}
	w[0].ret = worker_run(&w[0]);
	for (t = 1; t < req->threads; t++)
		wait_for_completion(&w[t].done);
	for (t = 0; t < req->threads; t++) {
		memcpy(req->ns[t], w[t].ns, sizeof(w[t].ns));
		if (!ret)
			ret = w[t].ret;
	}
out:
	if (pool)
		ops->destroy(pool);
	kfree(w);
	return ret;
}

/* MEMORY: fill, free every other object, compact; count pages. */
static int run_memory(struct rmm_bench_req *req, const struct pool_ops *ops)
{
	size_t cap = 1 << 16, n = 0, i;
	u64 state = req->seed, stored = 0;
	u64 *h = NULL;
	u32 *sz = NULL;
	u8 *buf;
	void *pool;
	int ret = 0;

	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	pool = ops->create(ops);
	h = kvmalloc_array(cap, sizeof(*h), GFP_KERNEL);
	sz = kvmalloc_array(cap, sizeof(*sz), GFP_KERNEL);
	if (!buf || !pool || !h || !sz) {
		ret = -ENOMEM;
		goto out;
	}
	while (stored < req->bytes && n < cap) {
		sz[n] = next_size(req->size, ops->mixed_max, &state);
		ret = ops->malloc(pool, sz[n], &h[n]);
		if (ret)
			goto free;
		fill_obj(buf, sz[n], n);
		ret = ops->write(pool, h[n], buf, sz[n]);
		stored += sz[n++];
		if (ret)
			goto free;
		cond_resched();
	}
	req->pages_full = ops->total_pages(pool);
	req->stored_full = stored;
	for (i = 0; i < n; i += 2) {
		ops->free(pool, h[i]);
		stored -= sz[i];
	}
	req->stored = stored;
	req->objs = n / 2;
	req->pages_before = ops->total_pages(pool);
	if (ops->compact)
		ops->compact(pool);
	req->pages_after = ops->total_pages(pool);
	/* The odd ones are left. */
	for (i = 1; i < n; i += 2)
		ops->free(pool, h[i]);
	goto out;
free:
	/* Failed while filling: every one is left. */
	for (i = 0; i < n; i++)
		ops->free(pool, h[i]);
out:
	if (pool)
		ops->destroy(pool);
	kvfree(h);
	kvfree(sz);
	kfree(buf);
	return ret;
}

/* The pool FILL keeps for user space to migrate, and DRAIN checks. */
static struct {
	const struct pool_ops *ops;
	void *pool;
	u64 *h;
	u32 *sz;
	size_t n;
} kept;

/* Frees the objects left, then the pool: zbud's destroy frees none. */
static void kept_free(void)
{
	size_t i;

	for (i = 0; i < kept.n; i++) {
		kept.ops->free(kept.pool, kept.h[i]);
		cond_resched();
	}
	if (kept.pool)
		kept.ops->destroy(kept.pool);
	kvfree(kept.h);
	kvfree(kept.sz);
	memset(&kept, 0, sizeof(kept));
}

static int run_fill(struct rmm_bench_req *req, const struct pool_ops *ops)
{
	const u64 step = 4 << 20;
	size_t cap = req->bytes / 32 + 1;
	u64 state = req->seed, stored = 0, next_frag = step;
	LIST_HEAD(frag);
	struct page *p, *tmp;
	u8 *buf;
	int ret = 0;

	if (kept.pool)
		return -EBUSY;
	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	kept.ops = ops;
	kept.pool = ops->create(ops);
	kept.h = kvmalloc_array(cap, sizeof(*kept.h), GFP_KERNEL);
	kept.sz = kvmalloc_array(cap, sizeof(*kept.sz), GFP_KERNEL);
	if (!buf || !kept.pool || !kept.h || !kept.sz) {
		ret = -ENOMEM;
		goto out;
	}
	while (stored < req->bytes && kept.n < cap) {
		size_t i = kept.n;

		kept.sz[i] = next_size(req->size, ops->mixed_max, &state);
		ret = ops->malloc(kept.pool, kept.sz[i], &kept.h[i]);
		if (ret)
			goto out;
		fill_obj(buf, kept.sz[i], i);
		ret = ops->write(kept.pool, kept.h[i], buf, kept.sz[i]);
		stored += kept.sz[kept.n++];
		if (ret)
			goto out;
		/* Every 4 MiB, 4 MiB of movable pages between the pool's. */
		if (stored >= next_frag) {
			int j;

			for (j = 0; j < step / PAGE_SIZE; j++) {
				p = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
				if (p)
					list_add(&p->lru, &frag);
			}
			next_frag += step;
			cond_resched();
		}
	}
	req->stored_full = stored;
	req->objs = kept.n;
	req->pages_full = ops->total_pages(kept.pool);
out:
	/* The holes: free the pages between the pool's. */
	list_for_each_entry_safe(p, tmp, &frag, lru) {
		list_del(&p->lru);
		__free_page(p);
	}
	kfree(buf);
	if (ret)
		kept_free();
	return ret;
}

static int run_drain(struct rmm_bench_req *req)
{
	u8 *want, *got;
	size_t i;

	if (!kept.pool)
		return -ENOENT;
	want = kmalloc(PAGE_SIZE, GFP_KERNEL);
	got = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!want || !got) {
		kfree(want);
		kfree(got);
		return -ENOMEM;
	}
	req->objs = kept.n;
	req->pages_full = kept.ops->total_pages(kept.pool);
	for (i = 0; i < kept.n; i++) {
		fill_obj(want, kept.sz[i], i);
		if (kept.ops->read(kept.pool, kept.h[i], got, kept.sz[i]) ||
		    memcmp(want, got, kept.sz[i]))
			req->errors++;
		cond_resched();
	}
	/* Frees every object, then the pool. */
	kept_free();
	kfree(want);
	kfree(got);
	return 0;
}

/* COPY_PAGE: the floor a page migration cannot beat. */
static int run_copy_page(struct rmm_bench_req *req)
{
	struct page *src = alloc_page(GFP_HIGHUSER_MOVABLE);
	struct page *dst = alloc_page(GFP_HIGHUSER_MOVABLE);
	u32 b, i;

	if (!src || !dst) {
		if (src)
			__free_page(src);
		if (dst)
			__free_page(dst);
		return -ENOMEM;
	}
	for (b = 0; b < req->batches; b++) {
		u64 t0 = ktime_get_ns();

		for (i = 0; i < req->nr_objs; i++)
			copy_highpage(dst, src);
		req->ns[0][b] = ktime_get_ns() - t0;
		cond_resched();
	}
	__free_page(src);
	__free_page(dst);
	return 0;
}

static DEFINE_MUTEX(bench_mutex);

static int bench_check(const struct rmm_bench_req *req)
{
	if (req->pool >= ARRAY_SIZE(pools) || req->test > RMM_BENCH_STATES)
		return -EINVAL;
	/* Object states: only the two pools that have them, only that test. */
	if (req->test == RMM_BENCH_STATES ? !pools[req->pool].make_volatile :
	    req->pool == RMM_BENCH_LOCKED_STATES)
		return -EINVAL;
	if (req->size > PAGE_SIZE || !req->threads || req->threads > RMM_BENCH_MAX_THREADS)
		return -EINVAL;
	if (!req->batches || req->batches > RMM_BENCH_MAX_BATCHES)
		return -EINVAL;
	if (!req->nr_objs || req->nr_objs > (1 << 20))
		return -EINVAL;
	if (req->bytes > (1ULL << 31))
		return -EINVAL;
	if (req->pad || req->flags & ~RMM_BENCH_F_PROFILE)
		return -EINVAL;
	if (req->flags & RMM_BENCH_F_PROFILE &&
	    (!IS_ENABLED(CONFIG_X86) || req->threads != 1 ||
	     (req->test != RMM_BENCH_ALLOC_FREE && req->test != RMM_BENCH_WRITE_READ)))
		return -EINVAL;
	/* A zpool kind whose driver was not registered when we were loaded. */
	if (req->test != RMM_BENCH_DRAIN && req->test != RMM_BENCH_COPY_PAGE &&
	    pools[req->pool].zpool && !*pools[req->pool].zpool)
		return -ENODEV;
	return 0;
}

/* A notifier with no callbacks (RMM_BENCH_EMPTY_NOTIFIER). */
static const struct mmu_notifier_ops empty_notifier_ops;

static DEFINE_MUTEX(empty_notifier_mutex);

static long bench_empty_notifier(struct file *file)
{
	struct mmu_notifier *n;
	int ret;

	mutex_lock(&empty_notifier_mutex);
	if (file->private_data) {
		ret = -EBUSY;
		goto out;
	}
	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n) {
		ret = -ENOMEM;
		goto out;
	}
	n->ops = &empty_notifier_ops;
	ret = mmu_notifier_register(n, current->mm);
	if (ret)
		kfree(n);
	else
		file->private_data = n;
out:
	mutex_unlock(&empty_notifier_mutex);
	return ret;
}

static int bench_release(struct inode *inode, struct file *file)
{
	struct mmu_notifier *n = file->private_data;

	if (n) {
		/* Synchronous: no callback runs after this (there are none anyway). */
		mmu_notifier_unregister(n, n->mm);
		kfree(n);
	}
	return 0;
}

static long bench_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct rmm_bench_req *req;
	int ret;

	if (cmd == RMM_BENCH_EMPTY_NOTIFIER)
		return bench_empty_notifier(file);
	if (cmd == RMM_BENCH_PROF_MARK) {
		if (!IS_ENABLED(CONFIG_X86) || (arg != 1 && arg != 2))
			return -EINVAL;
		if (arg == 1)
			prof_start();
		else
			prof_stop();
		return 0;
	}
	if (cmd != RMM_BENCH_RUN)
		return -ENOTTY;
	req = memdup_user((void __user *)arg, sizeof(*req));
	if (IS_ERR(req))
		return PTR_ERR(req);
	ret = bench_check(req);
	if (ret)
		goto out;
	memset(req->ns, 0, sizeof(req->ns));
	req->pages_full = req->pages_before = req->pages_after = 0;
	req->stored_full = req->stored = req->objs = req->errors = 0;

	mutex_lock(&bench_mutex);
	switch (req->test) {
	case RMM_BENCH_ALLOC_FREE:
	case RMM_BENCH_WRITE_READ:
	case RMM_BENCH_STATES:
		ret = run_timed(req, &pools[req->pool]);
		break;
	case RMM_BENCH_MEMORY:
		ret = run_memory(req, &pools[req->pool]);
		break;
	case RMM_BENCH_FILL:
		ret = run_fill(req, &pools[req->pool]);
		break;
	case RMM_BENCH_DRAIN:
		ret = run_drain(req);
		break;
	case RMM_BENCH_COPY_PAGE:
		ret = run_copy_page(req);
		break;
	}
	mutex_unlock(&bench_mutex);
	if (!ret && copy_to_user((void __user *)arg, req, sizeof(*req)))
		ret = -EFAULT;
out:
	kfree(req);
	return ret;
}

static int bench_open(struct inode *inode, struct file *file)
{
	/* misc_open() set private_data to the miscdevice: ours is the notifier. */
	file->private_data = NULL;
	return 0;
}

static const struct file_operations bench_fops = {
	.owner = THIS_MODULE,
	.open = bench_open,
	.release = bench_release,
	.unlocked_ioctl = bench_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice bench_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "rmm_bench",
	.fops = &bench_fops,
	.mode = 0600,
};

static void bench_put_drivers(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pools); i++) {
		if (pools[i].zpool) {
			rmm_zpool_put(*pools[i].zpool);
			*pools[i].zpool = NULL;
		}
	}
}

static int __init bench_init(void)
{
	size_t i;
	int ret;

	/*
	 * The zpool drivers, pinned until exit: found now, while modules are
	 * loaded one by one (rmm_zpool_find() walks zpool's list unlocked).
	 * A module loaded later (zbud.ko) is not seen: load it first.
	 */
	for (i = 0; i < ARRAY_SIZE(pools); i++) {
		if (!pools[i].zpool)
			continue;
		*pools[i].zpool = rmm_zpool_find(pools[i].name);
		if (!*pools[i].zpool)
			pr_info("no zpool driver %s: its pool kind fails with -ENODEV\n",
				pools[i].name);
	}
	ret = misc_register(&bench_dev);
	if (ret)
		bench_put_drivers();
	return ret;
}

static void __exit bench_exit(void)
{
	misc_deregister(&bench_dev);
	mutex_lock(&bench_mutex);
	kept_free();
	mutex_unlock(&bench_mutex);
	bench_put_drivers();
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_AUTHOR("The rmm authors");
MODULE_DESCRIPTION("rmm: in-kernel benchmarks of rzpool against zsmalloc and zbud");
MODULE_LICENSE("GPL");
