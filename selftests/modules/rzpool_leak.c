// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Test helper: a careless in-kernel user of rzpool. It creates a pool
 * through the kernel API, stores objects in it, and is unloaded without
 * destroying it. rzpool must then stay loaded (its pages still point at
 * its code) and compaction must keep working on the orphaned pool.
 */

#include <linux/module.h>
#include <linux/string.h>

#include "../../samples/rzpool/rzpool_kapi.h"

static unsigned int objs = 2000;
module_param(objs, uint, 0444);
MODULE_PARM_DESC(objs, "objects to store in the leaked pool");

static int __init rzpool_leak_init(void)
{
	struct rzpool *pool = rzpool_create();
	char buf[256];
	unsigned int i;

	if (!pool)
		return -ENOMEM;
	for (i = 0; i < objs; i++) {
		size_t size = 64 + (i * 37) % 3000;
		u64 handle = rzpool_malloc(pool, size);

		if (!handle)
			break;
		memset(buf, i, sizeof(buf));
		rzpool_write(pool, handle, 0, buf, min(size, sizeof(buf)));
	}
	pr_info("rzpool_leak: %u objects in %lu pages, never to be destroyed\n",
		i, rzpool_total_pages(pool));
	return 0;
}

static void __exit rzpool_leak_exit(void)
{
	/* The bug under test: the pool is not destroyed. */
}

module_init(rzpool_leak_init);
module_exit(rzpool_leak_exit);
MODULE_AUTHOR("The rmm authors");
MODULE_DESCRIPTION("rmm test helper: leaks an rzpool pool");
MODULE_LICENSE("GPL");
