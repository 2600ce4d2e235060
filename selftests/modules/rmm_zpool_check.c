// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Test helper: zswap's store, through the struct zpool_driver callbacks of
 * the zpool driver named by the "driver" parameter (rmm_liar by default):
 * malloc an object, map it for writing, write the whole object at the
 * pointer, unmap, free. A driver whose mapping covers less than the object
 * makes this write past it, unless its abstraction catches the lie.
 */

#include <linux/module.h>
#include <linux/string.h>

#include "../../samples/rmm_bench/rmm_zpool_find.h"

static char *driver = "rmm_liar";
module_param(driver, charp, 0444);
MODULE_PARM_DESC(driver, "the zpool driver to store an object in");

static unsigned int size = 64;
module_param(size, uint, 0444);
MODULE_PARM_DESC(size, "the object's size");

static int __init rmm_zpool_check_init(void)
{
	struct zpool_driver *zd = rmm_zpool_find(driver);
	unsigned long handle;
	void *pool, *p;
	int ret;

	if (!zd)
		return -ENODEV;
	pool = zd->create("rmm_zpool_check", GFP_KERNEL);
	if (!pool) {
		ret = -ENOMEM;
		goto out;
	}
	ret = zd->malloc(pool, size, GFP_KERNEL, &handle);
	if (ret)
		goto destroy;
	p = zd->map(pool, handle, ZPOOL_MM_WO);
	if (p) {
		memset(p, 0x5a, size);
		zd->unmap(pool, handle);
		pr_info("rmm_zpool_check: wrote %u bytes through %s's mapping\n", size, driver);
	} else {
		ret = -EINVAL;
	}
	zd->free(pool, handle);
destroy:
	zd->destroy(pool);
out:
	rmm_zpool_put(zd);
	return ret;
}

static void __exit rmm_zpool_check_exit(void)
{
}

module_init(rmm_zpool_check_init);
module_exit(rmm_zpool_check_exit);
MODULE_DESCRIPTION("rmm test helper: zswap's store through a zpool driver's callbacks");
MODULE_AUTHOR("The rmm authors");
MODULE_LICENSE("GPL");
