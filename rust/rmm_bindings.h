/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The C interfaces rmm binds itself: our bindgen pass (see Kbuild and
 * rust/bindgen_parameters) turns what is allowlisted from these headers into
 * rust/bindings_generated.rs.
 */

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/migrate.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/seq_file.h>
#include <linux/shrinker.h>
#include <linux/zpool.h>

#include "helpers/helpers.h"
#include "memcg_helper.h"
#include "zpool_map_helper.h"

/* GFP flags the 6.12 kernel crate does not name (see rust/page.rs). */
const gfp_t RMM_GFP_ACCOUNT = __GFP_ACCOUNT;
const gfp_t RMM_GFP_MOVABLE = __GFP_MOVABLE;

/*
 * Where a page's index word is (rust/movable.rs's access word): a constant
 * of bindgen's, so that zswap's map and unmap call no helper for it.
 */
enum { RMM_PAGE_INDEX_OFFSET = offsetof(struct page, index) };
