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
 *
 * Writing "<start pfn> <pages>" to /sys/kernel/debug/rmm_contig/movable
 * does the same, one pageblock of the range after the other, for the run
 * of each pageblock from its first to its last non-LRU movable page (a
 * driver's, such as a shadow table page). A run that is busy is tried
 * once more after every pending RCU callback has run: if it can be
 * allocated then, the first try found only pages waiting for a grace
 * period (old copies of migrated pages). Reading
 * the file gives the counts of the last write: "tried T allocated A
 * busy_until_rcu R busy B".
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mmzone.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmdebug.h>
#include <linux/module.h>
#include <linux/page-flags.h>
#include <linux/rcupdate.h>
#include <linux/uaccess.h>

static struct dentry *rmm_contig_dir;

/* "<start pfn> <pages>" from user space, both pageblock-aligned. */
static int parse_range(const char __user *ubuf, size_t len, unsigned long *start,
		       unsigned long *nr)
{
	char buf[64];

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%lu %lu", start, nr) != 2 || !*nr ||
	    !IS_ALIGNED(*start | *nr, pageblock_nr_pages))
		return -EINVAL;
	return 0;
}

static ssize_t rmm_contig_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	unsigned long start, nr;
	int ret;

	ret = parse_range(ubuf, len, &start, &nr);
	if (ret)
		return ret;
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

static DEFINE_MUTEX(rmm_contig_lock);
static unsigned long tried, allocated, busy_until_rcu, busy;

/*
 * The run of the pageblock at @start from its first to its last non-LRU
 * movable page, in [*lo, *hi); false if it holds none. Only the run is
 * allocated: the rest of a pageblock may hold memory that is never free
 * (firmware or boot-time reservations at the top of RAM).
 */
static bool movable_ops_run(unsigned long start, unsigned long *lo, unsigned long *hi)
{
	unsigned long pfn;

	*lo = *hi = 0;
	for (pfn = start; pfn < start + pageblock_nr_pages; pfn++) {
		struct page *page = pfn_to_online_page(pfn);

		if (!page || !__PageMovable(page))
			continue;
		if (!*hi)
			*lo = pfn;
		*hi = pfn + 1;
	}
	return *hi;
}

/* What keeps a run busy: its first pages that are neither free nor on an LRU. */
static void report_busy(unsigned long lo, unsigned long hi, int ret)
{
	unsigned long pfn;
	int shown = 0;

	pr_info("rmm_contig: pfns [%lu, %lu) stay busy: %d\n", lo, hi, ret);
	for (pfn = lo; pfn < hi && shown < 4; pfn++) {
		struct page *page = pfn_to_online_page(pfn);

		if (!page || PageBuddy(page) || PageLRU(page) || !page_count(page))
			continue;
		dump_page(page, "rmm_contig: in a busy range");
		shown++;
	}
}

static int alloc_run(unsigned long lo, unsigned long hi)
{
	int ret = alloc_contig_range(lo, hi, MIGRATE_MOVABLE, GFP_KERNEL | __GFP_NOWARN);

	if (!ret)
		free_contig_range(lo, hi - lo);
	return ret;
}

static ssize_t rmm_contig_movable_write(struct file *file, const char __user *ubuf,
					size_t len, loff_t *ppos)
{
	unsigned long start, nr, pfn;
	int ret;

	ret = parse_range(ubuf, len, &start, &nr);
	if (ret)
		return ret;
	mutex_lock(&rmm_contig_lock);
	tried = allocated = busy_until_rcu = busy = 0;
	for (pfn = start; pfn < start + nr; pfn += pageblock_nr_pages) {
		unsigned long lo, hi;

		if (!movable_ops_run(pfn, &lo, &hi))
			continue;
		tried++;
		if (!alloc_run(lo, hi)) {
			allocated++;
			continue;
		}
		/* Every grace period and RCU callback pending now is over. */
		synchronize_rcu();
		rcu_barrier();
		ret = alloc_run(lo, hi);
		if (!ret) {
			busy_until_rcu++;
		} else {
			busy++;
			report_busy(lo, hi, ret);
		}
		cond_resched();
	}
	mutex_unlock(&rmm_contig_lock);
	return len;
}

static ssize_t rmm_contig_movable_read(struct file *file, char __user *ubuf,
				       size_t len, loff_t *ppos)
{
	char buf[128];
	int n;

	mutex_lock(&rmm_contig_lock);
	n = scnprintf(buf, sizeof(buf), "tried %lu allocated %lu busy_until_rcu %lu busy %lu\n",
		      tried, allocated, busy_until_rcu, busy);
	mutex_unlock(&rmm_contig_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations rmm_contig_movable_fops = {
	.owner = THIS_MODULE,
	.read = rmm_contig_movable_read,
	.write = rmm_contig_movable_write,
};

static int __init rmm_contig_init(void)
{
	rmm_contig_dir = debugfs_create_dir("rmm_contig", NULL);
	debugfs_create_file("alloc", 0200, rmm_contig_dir, NULL, &rmm_contig_fops);
	debugfs_create_file("movable", 0600, rmm_contig_dir, NULL, &rmm_contig_movable_fops);
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
