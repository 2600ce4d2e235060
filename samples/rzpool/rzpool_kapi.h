/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rzpool's in-kernel API, exported by rzpool.ko for other modules (the
 * benchmark, or any zsmalloc-like user): the same shape as zsmalloc's zs_*
 * functions, on movable pages. All functions may sleep. A pool must not be
 * used after rzpool_destroy(); buffers must be valid for len bytes.
 */
#ifndef _RZPOOL_KAPI_H
#define _RZPOOL_KAPI_H

#include <linux/types.h>

struct rzpool;

/* A new, empty pool, or NULL. */
struct rzpool *rzpool_create(void);
/* Frees every object and the pool. */
void rzpool_destroy(struct rzpool *pool);
/*
 * An object of 1 .. PAGE_SIZE bytes: its handle, or 0 on failure. As with
 * zs_malloc(), its contents are undefined until written.
 */
u64 rzpool_malloc(struct rzpool *pool, size_t size);
/* 0, or -EINVAL (other pool's handle) / -ENOENT (freed or forged). */
int rzpool_free(struct rzpool *pool, u64 handle);
/* Copy len bytes to / from offset of an object: 0 or -errno. */
int rzpool_write(struct rzpool *pool, u64 handle, size_t offset, const void *src, size_t len);
int rzpool_read(struct rzpool *pool, u64 handle, size_t offset, void *dst, size_t len);
/* Pages held by the pool. */
unsigned long rzpool_total_pages(struct rzpool *pool);
/* Internal compaction: the pages freed. */
unsigned long rzpool_compact(struct rzpool *pool);
/*
 * Object states (rzpool_uapi.h, "Volatile objects"): rzpool_make_volatile()
 * lets the pool discard an object's contents under memory pressure (0, or
 * -EALREADY if it is not stable); rzpool_make_stable() takes it back: 0 with
 * its contents kept, 1 if they were discarded (the object is then one of
 * the same size with undefined contents), -EALREADY if it is stable,
 * -ENOMEM if a discarded object could not be given storage again (it stays
 * discarded). Neither takes a lock on the way that keeps the contents;
 * rzpool_make_stable() may sleep to refill a discarded object.
 * rzpool_read() and rzpool_write() of a volatile object fail with -ESTALE.
 */
int rzpool_make_volatile(struct rzpool *pool, u64 handle);
int rzpool_make_stable(struct rzpool *pool, u64 handle);

#endif /* _RZPOOL_KAPI_H */
