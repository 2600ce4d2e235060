// SPDX-License-Identifier: GPL-2.0

#include <linux/shrinker.h>
#include <linux/swap.h>

#include "helpers.h"

void rmm_account_reclaimed_pages(unsigned long pages)
{
	mm_account_reclaimed_pages(pages);
}

/* shrinker_alloc() is variadic: a fixed-argument form for Rust. */
struct shrinker *rmm_shrinker_alloc(const char *name)
{
	return shrinker_alloc(0, "%s", name);
}
