// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Out-of-line wrappers for static inline functions and macros that Rust
 * cannot call directly. Each module builds this file through a shim of its
 * own (samples/<module>/<module>_helpers.c): Kbuild warns about one object
 * linked into several modules.
 */

#include <linux/cacheflush.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/mmu_notifier.h>
#include <linux/migrate.h>
#include <linux/namei.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/swap.h>

#include "helpers.h"

/*
 * An order-0 page for a movable non-LRU user, with the caller's flags:
 * __GFP_MOVABLE puts it in a movable pageblock or ZONE_MOVABLE, where
 * compaction and memory offlining look for pages to migrate; __GFP_ACCOUNT
 * (if account) charges it to the current (or active) memory cgroup. Not
 * zeroed: like zsmalloc, the user owns the contents, and must
 * not let old ones reach user space.
 */
struct page *rmm_alloc_movable_page(gfp_t gfp, bool account)
{
	gfp |= __GFP_MOVABLE | __GFP_HIGHMEM | __GFP_NOWARN;
	if (account)
		gfp |= __GFP_ACCOUNT;
	return alloc_page(gfp);
}

bool rmm_trylock_page(struct page *page)
{
	return trylock_page(page);
}

/*
 * Makes a new page movable with @mops, its index word @index and private
 * word @private, under its lock taken without waiting; false (nothing done)
 * if someone else holds the lock. One call instead of six per page.
 */
bool rmm_movable_init(struct page *page, unsigned long index, unsigned long private,
		      const struct movable_operations *mops)
{
	if (!trylock_page(page))
		return false;
	page->index = index;
	set_page_private(page, private);
	__SetPageMovable(page, mops);
	unlock_page(page);
	return true;
}

/*
 * Gives up a movable page whose lock is held (by the caller, or by the VM
 * around a callback of the caller's): clears movable and takes its private
 * word (returned). Its index word is the caller's to clear: mappings of the
 * page may still count themselves in it (rust/movable.rs, Access).
 */
unsigned long rmm_movable_release(struct page *page)
{
	unsigned long private = page_private(page);

	__ClearPageMovable(page);
	set_page_private(page, 0);
	return private;
}

void *rmm_current_task(void)
{
	return current;
}

bool rmm_in_reclaim(void)
{
	return current->flags & PF_MEMALLOC;
}

void rmm_module_pin(struct module *module)
{
	__module_get(module);
}

bool rmm_try_module_get(struct module *module)
{
	return try_module_get(module);
}

/* Whether the init of @module has returned successfully (true if built in). */
bool rmm_module_live(struct module *module)
{
#ifdef CONFIG_MODULES
	return !module || READ_ONCE(module->state) == MODULE_STATE_LIVE;
#else
	return true;
#endif
}

/* The references to @module besides the loader's (0 without MODULE_UNLOAD). */
int rmm_module_refcount(struct module *module)
{
#ifdef CONFIG_MODULE_UNLOAD
	return module ? module_refcount(module) : 0;
#else
	return 0;
#endif
}

/*
 * Moves the memory cgroup charge of a kmem-accounted page (__GFP_ACCOUNT)
 * to the page that replaces it in migration: the charge and its obj_cgroup
 * reference live in ->memcg_data, which free_pages() uncharges. Both pages
 * are locked by migration and the driver's alone.
 */
void rmm_page_move_memcg(struct page *dst, struct page *src)
{
#ifdef CONFIG_MEMCG
	struct folio *d = page_folio(dst), *s = page_folio(src);

	if (!folio_memcg_kmem(s))
		return;
	VM_WARN_ON_ONCE_FOLIO(d->memcg_data, d);
	d->memcg_data = s->memcg_data;
	s->memcg_data = 0;
#endif
}

/* Whether the current task has a fatal signal pending (SIGKILL). */
bool rmm_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

/* The memory cgroup of current's mm with a reference, or NULL. */
void *rmm_get_current_memcg(void)
{
#ifdef CONFIG_MEMCG
	if (mem_cgroup_disabled() || !current->mm)
		return NULL;
	return get_mem_cgroup_from_mm(current->mm);
#else
	return NULL;
#endif
}

void rmm_mem_cgroup_put(void *memcg)
{
	mem_cgroup_put(memcg);
}

void *rmm_set_active_memcg(void *memcg)
{
	return set_active_memcg(memcg);
}

bool rmm_current_mm_is(struct mm_struct *mm)
{
	return current->mm == mm;
}

void rmm_flush_dcache_page(struct page *page)
{
	flush_dcache_page(page);
}

void rmm_get_page(struct page *page)
{
	get_page(page);
}

void rmm_put_page(struct page *page)
{
	put_page(page);
}

bool rmm_gfpflags_allow_blocking(gfp_t gfp)
{
	return gfpflags_allow_blocking(gfp);
}

/*
 * The page's reference count, ordered before the caller's later reads of
 * the page: it pairs with the full barrier of put_page() by whoever dropped
 * a reference after writing the page (a zpool mapping), so that a caller
 * that sees the reference gone also sees what was written through it.
 */
int rmm_page_count(struct page *page)
{
	int count = page_count(page);

	/* Pairs with the put_page() after a mapping's writes (see above). */
	smp_rmb();
	return count;
}

unsigned int rmm_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

/* With preemption disabled (zpool mappings). */
unsigned int rmm_smp_processor_id(void)
{
	return smp_processor_id();
}

/*
 * A zpool mapping begins: from task context only, with preemption disabled
 * until rmm_zpool_map_end(), and @page (if set) mapped at *@vaddr
 * (kmap_local_page). Returns this CPU, or -1 outside task context (nothing
 * begun, nothing mapped). One call instead of four on zswap's hot path.
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

/* n counts per CPU, zeroed; a plain pointer for bindgen. */
s64 *rmm_alloc_percpu_s64(size_t n, gfp_t gfp)
{
	return (s64 __force *)__alloc_percpu_gfp(n * sizeof(s64), __alignof__(s64), gfp);
}

void rmm_free_percpu_s64(s64 *counts)
{
	free_percpu((s64 __percpu __force *)counts);
}

void rmm_this_cpu_add_s64(s64 *counts, s64 v)
{
	this_cpu_add(*(s64 __percpu __force *)counts, v);
}

s64 rmm_percpu_sum_s64(s64 *counts)
{
	s64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr((s64 __percpu __force *)counts, cpu));
	return sum;
}

void rmm_account_reclaimed_pages(unsigned long pages)
{
	mm_account_reclaimed_pages(pages);
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

/*
 * A zeroed order-0 page for a table read without kmap (page_address()):
 * movable, never highmem; charged to the current memory cgroup if account.
 * Without CONFIG_HIGHMEM every page has a kernel address, and
 * __GFP_HIGHMEM | __GFP_MOVABLE is what lets the page come from ZONE_MOVABLE
 * (__GFP_MOVABLE alone stays in ZONE_NORMAL), where memory offlining and
 * compaction look for pages to move.
 */
struct page *rmm_alloc_table_page(bool account)
{
	gfp_t gfp = GFP_KERNEL | __GFP_MOVABLE | __GFP_ZERO | __GFP_NOWARN;

	if (!IS_ENABLED(CONFIG_HIGHMEM))
		gfp |= __GFP_HIGHMEM;

	if (account)
		gfp |= __GFP_ACCOUNT;
	return alloc_page(gfp);
}

/* The kernel address of a page, or NULL for a highmem page. */
void *rmm_page_address(struct page *page)
{
	if (PageHighMem(page))
		return NULL;
	return page_address(page);
}

/* The page of a linear-map address. */
struct page *rmm_virt_to_page(void *addr)
{
	return virt_to_page(addr);
}

struct page *rmm_pfn_to_page(unsigned long pfn)
{
	return pfn_to_page(pfn);
}

void rmm_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rmm_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

unsigned long rmm_get_state_synchronize_rcu(void)
{
	return get_state_synchronize_rcu();
}

void rmm_cond_synchronize_rcu(unsigned long cookie)
{
	cond_synchronize_rcu(cookie);
}

bool rmm_poll_state_synchronize_rcu(unsigned long cookie)
{
	return poll_state_synchronize_rcu(cookie);
}

void rmm_synchronize_rcu_expedited(void)
{
	synchronize_rcu_expedited();
}

/* The VMA covering addr: its end and flags; false if none does. */
bool rmm_vma_at(struct mm_struct *mm, unsigned long addr, unsigned long *end,
		unsigned long *flags)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);

	if (!vma)
		return false;
	*end = vma->vm_end;
	*flags = vma->vm_flags;
	return true;
}

/* A zeroed order-0 kernel page to map into a process, charged to its memcg. */
struct page *rmm_alloc_zeroed_page(void)
{
	return alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
}

#ifdef CONFIG_MMU_NOTIFIER
void rmm_mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long seq)
{
	mmu_interval_set_seq(sub, seq);
}

bool rmm_mmu_interval_read_retry(struct mmu_interval_notifier *sub, unsigned long seq)
{
	return mmu_interval_read_retry(sub, seq);
}
#endif

bool rmm_is_zero_pfn(unsigned long pfn)
{
	return is_zero_pfn(pfn);
}

unsigned int rmm_pmd_order(void)
{
	return PMD_SHIFT - PAGE_SHIFT;
}

unsigned int rmm_pud_order(void)
{
	return PUD_SHIFT - PAGE_SHIFT;
}

/* Whether a path exists (e.g. another driver's device node). */
bool rmm_path_exists(const char *name)
{
	struct path path;

	if (kern_path(name, 0, &path))
		return false;
	path_put(&path);
	return true;
}

/*
 * A page reference dropped after an RCU grace period (call_rcu), for a page
 * that lock-free readers may still be reading: rmm_rcu_put_alloc() first
 * (it may fail), then rmm_rcu_put_page() (it cannot), or rmm_rcu_put_free().
 * A module that queued any must call rmm_rcu_barrier() before it goes away:
 * the callback is its code.
 */
struct rmm_rcu_put {
	struct rcu_head rcu;
	struct page *page;
};

void *rmm_rcu_put_alloc(void)
{
	return kmalloc(sizeof(struct rmm_rcu_put), GFP_NOWAIT | __GFP_NOWARN);
}

void rmm_rcu_put_free(void *node)
{
	kfree(node);
}

static void rmm_rcu_put_cb(struct rcu_head *head)
{
	struct rmm_rcu_put *r = container_of(head, struct rmm_rcu_put, rcu);

	put_page(r->page);
	kfree(r);
}

void rmm_rcu_put_page(void *node, struct page *page)
{
	struct rmm_rcu_put *r = node;

	r->page = page;
	call_rcu(&r->rcu, rmm_rcu_put_cb);
}

void rmm_rcu_barrier(void)
{
	rcu_barrier();
}
