// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Out-of-line wrappers for static inline functions and macros that Rust
 * cannot call directly. Each module builds this file through a shim of its
 * own (samples/<module>/<module>_helpers.c): Kbuild warns about one object
 * linked into several modules.
 */

#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/migrate.h>
#include <linux/mmap_lock.h>
#include <linux/sched/mm.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/shrinker.h>

#include "helpers.h"

/*
 * A page for a movable non-LRU user: __GFP_MOVABLE puts it in a movable
 * pageblock (or ZONE_MOVABLE), where compaction and memory offlining look
 * for pages to migrate. Not zeroed: like zsmalloc, the user owns the
 * contents, and must not let old ones reach user space.
 */
struct page *rmm_alloc_movable_page(void)
{
	return alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
}

void rmm_get_page(struct page *page)
{
	get_page(page);
}

void rmm_put_page(struct page *page)
{
	put_page(page);
}

void rmm_lock_page(struct page *page)
{
	lock_page(page);
}

void rmm_unlock_page(struct page *page)
{
	unlock_page(page);
}

bool rmm_page_isolated(struct page *page)
{
	return PageIsolated(page);
}

unsigned long rmm_page_private(struct page *page)
{
	return page_private(page);
}

void rmm_set_page_private(struct page *page, unsigned long private)
{
	set_page_private(page, private);
}

unsigned long rmm_page_index(struct page *page)
{
	return page->index;
}

void rmm_set_page_index(struct page *page, unsigned long index)
{
	page->index = index;
}

unsigned long rmm_page_to_pfn(struct page *page)
{
	return page_to_pfn(page);
}

void rmm_copy_highpage(struct page *to, struct page *from)
{
	copy_highpage(to, from);
}

/* shrinker_alloc() is variadic: a fixed-argument form for Rust. */
struct shrinker *rmm_shrinker_alloc(const char *name)
{
	return shrinker_alloc(0, "%s", name);
}

/* The caller's address space with a reference on its users, or NULL. */
struct mm_struct *rmm_get_current_mm(void)
{
	return get_task_mm(current);
}

bool rmm_mmget_not_zero(struct mm_struct *mm)
{
	return mmget_not_zero(mm);
}

void rmm_mmap_read_lock(struct mm_struct *mm)
{
	mmap_read_lock(mm);
}

void rmm_mmap_read_unlock(struct mm_struct *mm)
{
	mmap_read_unlock(mm);
}

void rmm_cond_resched(void)
{
	cond_resched();
}
