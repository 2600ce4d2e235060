// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The beginning and end of a zpool mapping (rust/zpool.rs: map, unmap).
 *
 * Must be C: it is zswap's hot path (every store and load maps an object),
 * and each step (in_task(), preempt_disable(), kmap_local_page(), ...) is a
 * static inline that Rust could only reach through an out-of-line wrapper:
 * one call each way here instead of four, with the order of the steps
 * (unmap, flush, preemption back on, then the last put_page()) in one place.
 */

#include <linux/cacheflush.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/smp.h>

#include "zpool_map_helper.h"

/*
 * A zpool mapping begins: from task context only, with preemption disabled
 * until rmm_zpool_map_end(), and @page (if set) mapped at *@vaddr
 * (kmap_local_page). Returns this CPU, or -1 outside task context (nothing
 * begun, nothing mapped).
 */
int rmm_zpool_map_begin(struct page *page, void **vaddr)
{
	if (!in_task())
		return -1;
	preempt_disable();
	if (page)
		*vaddr = kmap_local_page(page);
	return smp_processor_id();
}

/*
 * A zpool mapping ends: unmaps @vaddr if set (kunmap_local), flushes @page
 * if it was written through the mapping, enables preemption again, and
 * drops the mapping's reference on @page if set.
 */
void rmm_zpool_map_end(void *vaddr, struct page *page, bool written)
{
	if (vaddr)
		kunmap_local(vaddr);
	if (page && written)
		flush_dcache_page(page);
	preempt_enable();
	/* The last reference may free the page: not with preemption off. */
	if (page)
		put_page(page);
}
