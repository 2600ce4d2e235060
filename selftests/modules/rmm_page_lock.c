// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Test helper: holds pages locked, as migration holds a page locked while
 * it allocates (and maybe reclaims) its target. A selftest writes page frame
 * numbers to /sys/kernel/debug/rmm_page_lock/ctl ("lock PFN", one a line)
 * and drives reclaim, which must not sleep on those locks; "unlock" (or the
 * safety timer, RMM_PAGE_LOCK_MS after the last lock, or unloading) unlocks
 * them all.
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#define RMM_PAGE_LOCK_MAX	8192
#define RMM_PAGE_LOCK_MS	20000

static struct page *locked[RMM_PAGE_LOCK_MAX];
static unsigned int nr_locked;
static DEFINE_MUTEX(lock_mutex);
static struct dentry *dir;

static void unlock_all(void)
{
	mutex_lock(&lock_mutex);
	while (nr_locked) {
		struct page *page = locked[--nr_locked];

		unlock_page(page);
		put_page(page);
	}
	mutex_unlock(&lock_mutex);
}

static void unlock_work_fn(struct work_struct *work)
{
	unlock_all();
}

static DECLARE_DELAYED_WORK(unlock_work, unlock_work_fn);

/* Locks the page at pfn if it is online and in use; -EINVAL otherwise. */
static int lock_pfn(unsigned long pfn)
{
	struct page *page = pfn_to_online_page(pfn);

	if (!page || !get_page_unless_zero(page))
		return -EINVAL;
	if (!trylock_page(page)) {
		put_page(page);
		return -EBUSY;
	}
	mutex_lock(&lock_mutex);
	if (nr_locked == RMM_PAGE_LOCK_MAX) {
		mutex_unlock(&lock_mutex);
		unlock_page(page);
		put_page(page);
		return -ENOSPC;
	}
	locked[nr_locked++] = page;
	mutex_unlock(&lock_mutex);
	mod_delayed_work(system_wq, &unlock_work, msecs_to_jiffies(RMM_PAGE_LOCK_MS));
	return 0;
}

static ssize_t ctl_write(struct file *file, const char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	char buf[64];
	unsigned long pfn;
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sysfs_streq(buf, "unlock")) {
		cancel_delayed_work_sync(&unlock_work);
		unlock_all();
		return len;
	}
	if (sscanf(buf, "lock %lu", &pfn) != 1)
		return -EINVAL;
	ret = lock_pfn(pfn);
	return ret ? ret : len;
}

static ssize_t ctl_read(struct file *file, char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[32];
	int n = scnprintf(buf, sizeof(buf), "%u\n", READ_ONCE(nr_locked));

	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations ctl_fops = {
	.owner = THIS_MODULE,
	.write = ctl_write,
	.read = ctl_read,
};

static int __init rmm_page_lock_init(void)
{
	dir = debugfs_create_dir("rmm_page_lock", NULL);
	debugfs_create_file("ctl", 0600, dir, NULL, &ctl_fops);
	return 0;
}

static void __exit rmm_page_lock_exit(void)
{
	debugfs_remove(dir);
	cancel_delayed_work_sync(&unlock_work);
	unlock_all();
}

module_init(rmm_page_lock_init);
module_exit(rmm_page_lock_exit);
MODULE_AUTHOR("The rmm authors");
MODULE_DESCRIPTION("rmm test helper: holds pages locked");
MODULE_LICENSE("GPL");
