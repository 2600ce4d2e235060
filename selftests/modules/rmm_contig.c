// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Test helper: a contiguous allocation, as CMA, gigantic hugetlb pages and
 * virtio-mem make them. Writing "<start pfn> <pages>" to
 * /sys/kernel/debug/rmm_contig/alloc calls alloc_contig_range() on that
 * range (migrating whatever movable pages it holds) and frees it again at
 * once; the write fails with the allocation's errno (EBUSY: a page of the
 * range could not be freed).
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/uaccess.h>

static struct dentry *rmm_contig_dir;

static ssize_t rmm_contig_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	unsigned long start, nr;
	char buf[64];
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%lu %lu", &start, &nr) != 2 || !nr ||
	    !IS_ALIGNED(start | nr, pageblock_nr_pages))
		return -EINVAL;
	ret = alloc_contig_range(start, start + nr, MIGRATE_MOVABLE,
				 GFP_KERNEL | __GFP_NOWARN);
	if (ret)
		return ret;
	free_contig_range(start, nr);
	return len;
}

static const struct file_operations rmm_contig_fops = {
	.owner = THIS_MODULE,
	.write = rmm_contig_write,
};

static int __init rmm_contig_init(void)
{
	rmm_contig_dir = debugfs_create_dir("rmm_contig", NULL);
	debugfs_create_file("alloc", 0200, rmm_contig_dir, NULL, &rmm_contig_fops);
	return 0;
}

static void __exit rmm_contig_exit(void)
{
	debugfs_remove(rmm_contig_dir);
}

module_init(rmm_contig_init);
module_exit(rmm_contig_exit);
MODULE_DESCRIPTION("rmm test helper: alloc_contig_range() on a range");
MODULE_AUTHOR("The rmm authors");
MODULE_LICENSE("GPL");
