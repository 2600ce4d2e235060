/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The beginning and end of a zpool mapping (rust/zpool_map_helper.c).
 */
#ifndef RMM_ZPOOL_MAP_HELPER_H
#define RMM_ZPOOL_MAP_HELPER_H

#include <linux/types.h>

struct page;

int rmm_zpool_map_begin(struct page *page, void **vaddr);
void rmm_zpool_map_end(void *vaddr, struct page *page, bool written);

#endif /* RMM_ZPOOL_MAP_HELPER_H */
