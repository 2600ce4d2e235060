// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Moving a page's memory cgroup charge in migration (rust/movable.rs).
 *
 * Must be C: ->memcg_data is memcg's own word of struct folio (inside its
 * unions, present only with CONFIG_MEMCG), read through the static inline
 * folio_memcg_kmem(); mm/ moves it in C too (folio_migrate_flags() and
 * mem_cgroup_migrate() for LRU pages).
 */

#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mmdebug.h>

#include "memcg_helper.h"

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
