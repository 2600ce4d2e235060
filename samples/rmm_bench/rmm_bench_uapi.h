/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * ioctl interface of /dev/rmm_bench: in-kernel benchmarks of rzpool against
 * zsmalloc (and zbud) through the same harness. Shared with bench/.
 */
#ifndef _RMM_BENCH_UAPI_H
#define _RMM_BENCH_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

enum rmm_bench_pool {
	/* Through their own APIs: zs_*() (as zram), rzpool_kapi.h. */
	RMM_BENCH_ZSMALLOC,
	RMM_BENCH_RZPOOL,
	/*
	 * Through their struct zpool_driver callbacks, with zswap's gfp and
	 * map modes. -ENODEV if the driver was not registered when rmm_bench
	 * was loaded (zbud.ko); -ENOSPC from zbud for objects over
	 * PAGE_SIZE - 2 * PAGE_SIZE / 64 bytes. Their mixed stream stays
	 * within that (32 .. 3968 bytes with 4 KiB pages), for all three.
	 */
	RMM_BENCH_ZPOOL_ZSMALLOC,
	RMM_BENCH_ZPOOL_ZBUD,
	RMM_BENCH_ZPOOL_RZPOOL,
	/*
	 * rzpool's object states under one spinlock, in C (STATES only):
	 * what rzpool's lock-free transitions are measured against.
	 */
	RMM_BENCH_LOCKED_STATES,
};

enum rmm_bench_test {
	/* Per batch: nr_objs allocations, then nr_objs frees; ns per pair. */
	RMM_BENCH_ALLOC_FREE,
	/* nr_objs objects; per batch: write then read each; ns per pair. */
	RMM_BENCH_WRITE_READ,
	/*
	 * Fill bytes of the size stream, free half (every other object); pages
	 * before and after the pool's own compaction (none for zpool kinds).
	 */
	RMM_BENCH_MEMORY,
	/*
	 * Fill a pool kept by the module with bytes of the size stream,
	 * interleaved with pages that are then freed (fragmentation).
	 */
	RMM_BENCH_FILL,
	/* Check and free the kept pool. */
	RMM_BENCH_DRAIN,
	/* Per batch: nr_objs copy_page() calls; ns per copy. */
	RMM_BENCH_COPY_PAGE,
	/*
	 * nr_objs objects; per batch: make each volatile, then each stable;
	 * ns per pair. RZPOOL (lock-free) and LOCKED_STATES only.
	 */
	RMM_BENCH_STATES,
	/*
	 * WRITE_READ on a zpool kind is zswap's store and load of each object:
	 * map (WO), copy size bytes in, unmap; map (RO), copy out, unmap.
	 */
	RMM_BENCH_MAP_COPY = RMM_BENCH_WRITE_READ,
};

/*
 * ALLOC_FREE and WRITE_READ, one thread: the batches run between the two
 * markers of bench/qemu/rmm_prof.c (NOPs anywhere else), whose counts then
 * hold this run's work alone. x86 only (EINVAL elsewhere).
 */
#define RMM_BENCH_F_PROFILE	(1U << 0)

#define RMM_BENCH_MAX_BATCHES 64
#define RMM_BENCH_MAX_THREADS 2

struct rmm_bench_req {
	__u32 pool;		/* enum rmm_bench_pool */
	__u32 test;		/* enum rmm_bench_test */
	__u32 size;		/* object size; 0: the mixed stream */
	__u32 threads;		/* 1 .. RMM_BENCH_MAX_THREADS, each on the same pool */
	__u32 nr_objs;		/* objects (or copies) per batch */
	__u32 batches;		/* 1 .. RMM_BENCH_MAX_BATCHES */
	__u32 flags;		/* RMM_BENCH_F_* */
	__u32 pad;		/* 0 */
	__u64 bytes;		/* MEMORY, FILL: bytes to store */
	__u64 seed;		/* of the mixed stream */
	/* out */
	__u64 ns[RMM_BENCH_MAX_THREADS][RMM_BENCH_MAX_BATCHES];	/* per batch */
	__u64 pages_full;	/* MEMORY, FILL: pool pages when filled */
	__u64 pages_before;	/* MEMORY: after freeing half, before compaction */
	__u64 pages_after;	/* MEMORY: after compaction */
	__u64 stored_full;	/* MEMORY, FILL: bytes stored when filled */
	__u64 stored;		/* MEMORY: bytes stored after freeing half */
	__u64 objs;		/* MEMORY, FILL: objects stored */
	__u64 errors;		/* DRAIN: objects whose contents were wrong */
};

#define RMM_BENCH_RUN	_IOWR('B', 0x00, struct rmm_bench_req)
/*
 * Registers an MMU notifier with no callbacks on the caller's address space,
 * until the file is closed: the cost of the notifier core alone (SRCU, the
 * list walk), the floor of any secondary MMU's young harvesting. EBUSY if the
 * file has one already.
 */
#define RMM_BENCH_EMPTY_NOTIFIER	_IO('B', 0x01)
/*
 * Executes marker 1 (start) or 2 (stop) of bench/qemu/rmm_prof.c, around a
 * kernel path that user space drives (a mirror's fault-in, a page_idle
 * pass). EINVAL for another value or off x86.
 */
#define RMM_BENCH_PROF_MARK	_IO('B', 0x02)

#endif /* _RMM_BENCH_UAPI_H */
