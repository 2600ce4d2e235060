/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The C of rust/shadow.rs's tables (rust/shadow_helper.c).
 */
#ifndef RMM_SHADOW_HELPER_H
#define RMM_SHADOW_HELPER_H

struct page;

void *rmm_page_address(struct page *page);
void *rmm_rcu_put_alloc(void);
void rmm_rcu_put_free(void *node);
void rmm_rcu_put_page(void *node, struct page *page);

#endif /* RMM_SHADOW_HELPER_H */
