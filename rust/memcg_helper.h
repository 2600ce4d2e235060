/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Moving a page's memory cgroup charge in migration (rust/memcg_helper.c).
 */
#ifndef RMM_MEMCG_HELPER_H
#define RMM_MEMCG_HELPER_H

struct page;

void rmm_page_move_memcg(struct page *dst, struct page *src);

#endif /* RMM_MEMCG_HELPER_H */
