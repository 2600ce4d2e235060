/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Out-of-line wrappers for static inline functions and macros that Rust
 * cannot call directly. Built into every rmm module by a one-line shim.
 */
#ifndef RMM_HELPERS_H
#define RMM_HELPERS_H

#include <linux/types.h>

struct mm_struct;
struct page;

struct module;
struct movable_operations;

struct page *rmm_alloc_movable_page(gfp_t gfp, bool account);
bool rmm_trylock_page(struct page *page);
bool rmm_movable_init(struct page *page, unsigned long index, unsigned long private,
		      const struct movable_operations *mops);
unsigned long rmm_movable_release(struct page *page);
void *rmm_current_task(void);
bool rmm_in_reclaim(void);
bool rmm_try_module_get(struct module *module);
void rmm_module_pin(struct module *module);
bool rmm_module_live(struct module *module);
int rmm_module_refcount(struct module *module);
void rmm_page_move_memcg(struct page *dst, struct page *src);
bool rmm_fatal_signal_pending(void);
void rmm_flush_dcache_page(struct page *page);
bool rmm_current_mm_is(struct mm_struct *mm);
void *rmm_get_current_memcg(void);
void rmm_mem_cgroup_put(void *memcg);
void *rmm_set_active_memcg(void *memcg);
void rmm_get_page(struct page *page);
void rmm_put_page(struct page *page);
int rmm_page_count(struct page *page);
bool rmm_gfpflags_allow_blocking(gfp_t gfp);
unsigned int rmm_nr_cpu_ids(void);
unsigned int rmm_smp_processor_id(void);
int rmm_zpool_map_begin(struct page *page, void **vaddr);
void rmm_zpool_map_end(void *vaddr, struct page *page, bool written);
void rmm_lock_page(struct page *page);
void rmm_unlock_page(struct page *page);
bool rmm_page_isolated(struct page *page);
unsigned long rmm_page_private(struct page *page);
void rmm_set_page_private(struct page *page, unsigned long private);
unsigned long rmm_page_to_pfn(struct page *page);
void rmm_set_page_index(struct page *page, unsigned long index);
void rmm_copy_highpage(struct page *to, struct page *from);
struct shrinker *rmm_shrinker_alloc(const char *name);
void rmm_account_reclaimed_pages(unsigned long pages);
s64 *rmm_alloc_percpu_s64(size_t n, gfp_t gfp);
void rmm_free_percpu_s64(s64 *counts);
void rmm_this_cpu_add_s64(s64 *counts, s64 v);
s64 rmm_percpu_sum_s64(s64 *counts);
struct mm_struct *rmm_get_current_mm(void);
bool rmm_mmget_not_zero(struct mm_struct *mm);
void rmm_mmap_read_lock(struct mm_struct *mm);
void rmm_mmap_read_unlock(struct mm_struct *mm);

struct page *rmm_alloc_table_page(bool account);
void *rmm_page_address(struct page *page);
struct page *rmm_virt_to_page(void *addr);
struct page *rmm_pfn_to_page(unsigned long pfn);
void rmm_rcu_read_lock(void);
void rmm_rcu_read_unlock(void);
unsigned long rmm_get_state_synchronize_rcu(void);
void rmm_cond_synchronize_rcu(unsigned long cookie);
bool rmm_poll_state_synchronize_rcu(unsigned long cookie);
void rmm_synchronize_rcu_expedited(void);
bool rmm_vma_at(struct mm_struct *mm, unsigned long addr, unsigned long *end,
		unsigned long *flags);
struct page *rmm_alloc_zeroed_page(void);
struct mmu_interval_notifier;
void rmm_mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long seq);
bool rmm_mmu_interval_read_retry(struct mmu_interval_notifier *sub, unsigned long seq);
bool rmm_is_zero_pfn(unsigned long pfn);
unsigned int rmm_pmd_order(void);
unsigned int rmm_pud_order(void);
bool rmm_path_exists(const char *name);
void *rmm_rcu_put_alloc(void);
void rmm_rcu_put_free(void *node);
void rmm_rcu_put_page(void *node, struct page *page);
void rmm_rcu_barrier(void);

#endif /* RMM_HELPERS_H */
