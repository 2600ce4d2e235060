/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Finds a registered zpool driver by name, for the benchmark and the test
 * modules, which call zsmalloc, zbud and rzpool through the same
 * struct zpool_driver callbacks zswap reaches through zpool_*().
 *
 * zpool_create_pool() and friends are not exported (zswap is built in), and
 * the list of drivers is private to mm/zpool.c. zpool_register_driver() adds
 * a driver at the head of that list (list_add()), so a dummy driver's
 * list.prev is the list head: walk from there, then unregister the dummy.
 * The walk does not hold mm/zpool.c's drivers_lock: call it while no driver
 * is being registered or unregistered (module load of the caller).
 *
 * The driver's module is pinned (try_module_get()) until rmm_zpool_put().
 */
#ifndef _RMM_ZPOOL_FIND_H
#define _RMM_ZPOOL_FIND_H

#include <linux/list.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/zpool.h>

static struct zpool_driver rmm_zpool_probe = {
	.type = "rmm-zpool-probe",
	.owner = THIS_MODULE,
};

static inline struct zpool_driver *rmm_zpool_find(const char *type)
{
	struct zpool_driver *driver, *found = NULL;
	struct list_head *head;

	zpool_register_driver(&rmm_zpool_probe);
	head = rmm_zpool_probe.list.prev;
	list_for_each_entry(driver, head, list) {
		if (driver == &rmm_zpool_probe || strcmp(driver->type, type))
			continue;
		if (try_module_get(driver->owner))
			found = driver;
		break;
	}
	zpool_unregister_driver(&rmm_zpool_probe);
	return found;
}

static inline void rmm_zpool_put(struct zpool_driver *driver)
{
	if (driver)
		module_put(driver->owner);
}

#endif /* _RMM_ZPOOL_FIND_H */
