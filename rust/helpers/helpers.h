/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The wrappers of rust/helpers/, for our bindgen pass (rust/rmm_bindings.h):
 * one block per file, each sorted.
 */
#ifndef RMM_HELPERS_H
#define RMM_HELPERS_H

#include <linux/types.h>

struct mm_struct;
struct mmu_interval_notifier;
struct module;
struct page;
struct shrinker;
struct vm_area_struct;

/* barrier.c */
void rmm_smp_rmb(void);

/* cpu.c */
unsigned int rmm_next_possible_cpu(int cpu);
unsigned int rmm_nr_cpu_ids(void);
unsigned int rmm_smp_processor_id(void);

/* memcg.c */
void *rmm_get_mem_cgroup_from_mm(struct mm_struct *mm);
bool rmm_mem_cgroup_disabled(void);
void rmm_mem_cgroup_put(void *memcg);
void *rmm_set_active_memcg(void *memcg);

/* mm.c */
struct mm_struct *rmm_current_mm(void);
struct mm_struct *rmm_get_current_mm(void);
void rmm_mmap_read_lock(struct mm_struct *mm);
void rmm_mmap_read_unlock(struct mm_struct *mm);
void rmm_mmget(struct mm_struct *mm);
bool rmm_mmget_not_zero(struct mm_struct *mm);
void rmm_mmgrab(struct mm_struct *mm);
void rmm_mmdrop(struct mm_struct *mm);
struct vm_area_struct *rmm_vma_lookup(struct mm_struct *mm, unsigned long addr);

/* mmu_notifier.c (CONFIG_MMU_NOTIFIER) */
bool rmm_mmu_interval_read_retry(struct mmu_interval_notifier *sub, unsigned long seq);
void rmm_mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long seq);

/* module.c */
void rmm_module_pin(struct module *module);
int rmm_module_refcount(struct module *module);
int rmm_module_state(struct module *module);
bool rmm_try_module_get(struct module *module);

/* page.c */
void rmm_copy_highpage(struct page *to, struct page *from);
void rmm_flush_dcache_page(struct page *page);
void rmm_get_page(struct page *page);
bool rmm_gfpflags_allow_blocking(gfp_t gfp);
void rmm_lock_page(struct page *page);
void *rmm_page_address(struct page *page);
int rmm_page_count(struct page *page);
bool rmm_page_highmem(struct page *page);
bool rmm_page_isolated(struct page *page);
unsigned long rmm_page_private(struct page *page);
unsigned long rmm_page_to_pfn(struct page *page);
struct page *rmm_pfn_to_page(unsigned long pfn);
void rmm_put_page(struct page *page);
void rmm_set_page_index(struct page *page, unsigned long index);
void rmm_set_page_private(struct page *page, unsigned long private);
bool rmm_trylock_page(struct page *page);
void rmm_unlock_page(struct page *page);
struct page *rmm_virt_to_page(void *addr);

/* percpu.c */
s64 *rmm_alloc_percpu_s64(size_t n, gfp_t gfp);
void rmm_free_percpu_s64(s64 *counts);
s64 *rmm_per_cpu_ptr_s64(s64 *counts, int cpu);
void rmm_this_cpu_add_s64(s64 *counts, s64 v);

/* pgtable.c */
bool rmm_is_zero_pfn(unsigned long pfn);
unsigned int rmm_pmd_order(void);
unsigned int rmm_pud_order(void);

/* rcu.c */
void rmm_cond_synchronize_rcu(unsigned long cookie);
unsigned long rmm_get_state_synchronize_rcu(void);
bool rmm_poll_state_synchronize_rcu(unsigned long cookie);
void rmm_rcu_barrier(void);
void rmm_rcu_read_lock(void);
void rmm_rcu_read_unlock(void);
void rmm_synchronize_rcu_expedited(void);

/* shrinker.c */
void rmm_account_reclaimed_pages(unsigned long pages);
struct shrinker *rmm_shrinker_alloc(const char *name);

/* task.c */
void *rmm_current_task(void);
bool rmm_fatal_signal_pending(void);
bool rmm_in_reclaim(void);

#endif /* RMM_HELPERS_H */
