// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The C of rust/shadow.rs's tables: a table page's kernel address, and page
 * references dropped after an RCU grace period (RcuPut), for a table that
 * lock-free readers may still be reading.
 *
 * In C for now, not because it must be: rust/shadow.rs is being split and
 * calls these by name. Both can then move to Rust over plain wrappers
 * (PageHighMem(), page_address(); the node with its callback).
 */

#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "shadow_helper.h"

/* The kernel address of a page, or NULL for a highmem page. */
void *rmm_page_address(struct page *page)
{
	if (PageHighMem(page))
		return NULL;
	return page_address(page);
}

/*
 * rmm_rcu_put_alloc() first (it may fail), then rmm_rcu_put_page() (it
 * cannot), or rmm_rcu_put_free(). A module that queued any must call
 * rcu_barrier() before it goes away: the callback is its code.
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
