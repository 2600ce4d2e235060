// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Test helper: maps objects of rzpool's zpool driver, as zswap does, while
 * the VM migrates the pool's pages, to show that a mapped object never
 * moves and an unmapped one may (Documentation/rzpool.rst, "zswap's pool:
 * the zpool driver"). rzpool's map takes references on the object's pages
 * under the class lock, Migration::commit refuses (-EAGAIN) a page with
 * references beyond the pool's and the isolation's, and unmap drops them.
 *
 * /sys/kernel/debug/rzpool_map_race/:
 *
 *   ctl     "start <nr_objs> <seconds>": makes a pool with zpool's
 *           callbacks, allocates nr_objs objects of mixed sizes, fills each
 *           with a pattern of (index, generation 1), and starts a thread on
 *           CPU 0 that, for <seconds>, maps a random object read-write,
 *           checks it, writes its next generation in steps across a
 *           busy-wait of 5 to 15 ms (preemption is off: the mapping turned
 *           it off), checks that the page under the mapping is still the
 *           pool's page, unmaps, maps the object again read-only and checks
 *           that every write is there. "stop" stops the thread, checks every
 *           object, frees them and destroys the pool.
 *   result  rounds=... verified=... lost=... moved_unmapped=...
 *           moved_mapped=... errors=... running=... objs=...
 *           inplace_objs=... inplace_rounds=...
 *
 * rounds: rounds of the thread; inplace_rounds those whose object was
 * mapped in place (an object that spans two pages is mapped through a
 * per-CPU buffer, and has no page to watch); verified: content checks that
 * passed; lost: those that did not (must be 0); moved_unmapped: objects
 * found in another page than at their last mapping (moved while unmapped:
 * expected when migration is driven); moved_mapped: objects whose page was
 * migrated while mapped, seen from the page (its movable state changed
 * before unmap) or from the contents (in another page with writes lost):
 * must be 0; errors: map failing, or preemption not off while mapped (must
 * be 0); inplace_objs: objects mapped in place when filled.
 *
 * Lock order:
 *
 * 1. race_lock (a mutex of ours): start, stop and module exit. Held across
 *    kthread_stop(): the thread never takes it.
 * 2. rzpool's class lock (a spinlock), inside the driver's map only (it
 *    takes the page references under it and releases it before returning),
 *    and in migration, under the page lock the VM holds.
 *
 * From map to unmap preemption is off, as with zsmalloc: the thread holds
 * no lock there and does not sleep (udelay(), and usleep_range() only
 * between rounds). The counters are atomics; `result` reads them without
 * race_lock. The objects are the thread's while it runs, race_lock's
 * holder's otherwise.
 */

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/zpool.h>

#include "../../samples/rmm_bench/rmm_zpool_find.h"

#define RACE_MAX_OBJS		(1U << 16)
#define RACE_MAX_SECONDS	3600
/* The thread's CPU; the selftest drives migration from another one. */
#define RACE_CPU		0
/* Each mapping lasts this long (µs), well under any stall detector. */
#define RACE_WINDOW_MIN_US	5000
#define RACE_WINDOW_MAX_US	15000
/* The new generation is written in this many steps across the window. */
#define RACE_STEPS		4
/* How many lost-write reports reach the log. */
#define RACE_MAX_REPORTS	5

/*
 * zswap's gfp for zpool_malloc() with a driver whose pages are movable
 * (mm/zswap.c): the objects sit where zswap's would (ZONE_MOVABLE is
 * allowed), and the pool sees the flags it sees under zswap: no direct
 * reclaim, no retry, so its metadata comes from GFP_NOWAIT. Allocation
 * happens at "start", from the writer's process context and under its
 * memory policy (the selftest prefers the node with the most ZONE_MOVABLE);
 * a test guest has plenty of free memory, and a failure is -ENOMEM from
 * "start", not a false result.
 */
#define RACE_GFP (__GFP_NORETRY | __GFP_NOWARN | __GFP_KSWAPD_RECLAIM | \
		  __GFP_HIGHMEM | __GFP_MOVABLE)

/*
 * Object sizes, by index. In rzpool's size classes (samples/rzpool/shape.rs,
 * 4 KiB pages): PAGE_SIZE fills a page (in place; object 0 is one, see
 * race_learn_ops()); 1360 is 3 to a page and 64 is 64 to a page (in
 * place); 3264 is 5 to 4 pages (3 of them span two pages), 2720 3 to
 * 2 pages (1 spans), 1632 5 to 2 pages (1 spans), 700 (class 704) 29 to
 * 5 pages (4 span), 200 (class 208) 59 to 3 pages (2 span).
 */
static const unsigned int race_sizes[] = {
	PAGE_SIZE, 64, 3264, 200, 1360, 2720, 700, 1632,
};

struct race_obj {
	unsigned long handle;
	unsigned int size;
	/* The generation of the pattern the object holds. */
	unsigned int gen;
	/* The page of the last in-place mapping; 0 if mapped through the buffer. */
	unsigned long pfn;
};

/* One run, from "start" to "stop". */
struct race_run {
	struct zpool_driver *driver;
	void *pool;
	struct race_obj *objs;
	unsigned int nr_objs;
	/* page->mapping of rzpool's pages: its movable_operations, tagged. */
	unsigned long ops_word;
	unsigned long end;
	struct task_struct *thread;
};

struct race_counters {
	atomic_long_t rounds;
	atomic_long_t inplace_rounds;
	atomic_long_t verified;
	atomic_long_t lost;
	atomic_long_t moved_unmapped;
	atomic_long_t moved_mapped;
	atomic_long_t errors;
	atomic_t reports;
};

static DEFINE_MUTEX(race_lock);
/* rzpool's zpool driver, pinned from load to unload. */
static struct zpool_driver *race_driver;
/* Under race_lock; race.pool is set from "start" to "stop". */
static struct race_run race;
static struct race_counters cnt;
static unsigned int race_inplace_objs;
static bool race_running;
static struct dentry *race_dir;

/* A 64-bit word of the pattern of object idx, generation gen (splitmix64). */
static u64 pattern_word(unsigned int idx, unsigned int gen, size_t word)
{
	u64 x = (((u64)idx << 32) | gen) * 0x9e3779b97f4a7c15ULL + word;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Writes bytes [from, to) of the pattern to dst (the object's start). */
static void pattern_fill(u8 *dst, size_t from, size_t to, unsigned int idx,
			 unsigned int gen)
{
	u64 w = 0;
	size_t i;

	for (i = from; i < to; i++) {
		if (i == from || i % 8 == 0)
			w = pattern_word(idx, gen, i / 8);
		dst[i] = w >> (8 * (i % 8));
	}
}

/* The first byte of src[0, len) that is not the pattern, or len. */
static size_t pattern_check(const u8 *src, size_t len, unsigned int idx,
			    unsigned int gen)
{
	u64 w = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			w = pattern_word(idx, gen, i / 8);
		if (src[i] != (u8)(w >> (8 * (i % 8))))
			return i;
	}
	return len;
}

/* Checks object idx at addr; counts and reports what it finds. */
static bool race_check(struct race_run *r, unsigned int idx, const u8 *addr,
		       const char *when)
{
	struct race_obj *o = &r->objs[idx];
	size_t bad = pattern_check(addr, o->size, idx, o->gen);

	if (bad == o->size) {
		atomic_long_inc(&cnt.verified);
		return true;
	}
	atomic_long_inc(&cnt.lost);
	if (atomic_inc_return(&cnt.reports) <= RACE_MAX_REPORTS)
		pr_err("rzpool_map_race: object %u (%u bytes), %s: byte %zu is not generation %u's\n",
		       idx, o->size, when, bad, o->gen);
	return false;
}

/*
 * The pool page an in-place mapping points into, or NULL for the per-CPU
 * buffer of an object that spans two pages (slab memory). Without highmem
 * (x86_64) kmap_local_page() returns the page's linear address, which
 * virt_to_page() turns back into the page; with highmem, NULL: no page is
 * watched, only the contents.
 */
static struct page *race_page(struct race_run *r, const void *addr,
			      unsigned int size)
{
	struct page *page;

	if (IS_ENABLED(CONFIG_HIGHMEM) || !virt_addr_valid(addr) ||
	    offset_in_page(addr) + size > PAGE_SIZE)
		return NULL;
	page = virt_to_page(addr);
	return (unsigned long)READ_ONCE(page->mapping) == r->ops_word ? page : NULL;
}

/*
 * Learns page->mapping of rzpool's pages from object 0, of PAGE_SIZE bytes:
 * it fills a page, so it is mapped in place. The source page a migration
 * leaves behind loses it: __ClearPageMovable() keeps only
 * PAGE_MAPPING_MOVABLE.
 */
static int race_learn_ops(struct race_run *r, const void *addr)
{
	unsigned long mapping;

	if (IS_ENABLED(CONFIG_HIGHMEM) || !virt_addr_valid(addr) ||
	    offset_in_page(addr))
		return -EIO;
	mapping = (unsigned long)READ_ONCE(virt_to_page(addr)->mapping);
	if ((mapping & PAGE_MAPPING_FLAGS) != PAGE_MAPPING_MOVABLE ||
	    !(mapping & ~PAGE_MAPPING_FLAGS))
		return -EIO;
	r->ops_word = mapping;
	return 0;
}

/* Busy-waits: nothing may sleep while an object is mapped. */
static void race_delay_us(unsigned int us)
{
	for (; us >= 1000; us -= 1000)
		udelay(1000);
	udelay(us);
}

/* One round on object idx; see the top of the file. */
static void race_round(struct race_run *r, unsigned int idx)
{
	struct race_obj *o = &r->objs[idx];
	unsigned long handle = o->handle, pfn = 0, mapping = 0, index = 0, priv = 0;
	unsigned int window = RACE_WINDOW_MIN_US +
		get_random_u32_below(RACE_WINDOW_MAX_US - RACE_WINDOW_MIN_US + 1);
	int pc = preempt_count();
	unsigned int step;
	bool moved = false, intact;
	struct page *page, *again;
	u8 *addr, *nested;

	addr = r->driver->map(r->pool, handle, ZPOOL_MM_RW);
	if (!addr) {
		atomic_long_inc(&cnt.errors);
		return;
	}
	/* Preemption is off until unmap. */
	if (IS_ENABLED(CONFIG_PREEMPT_COUNT) && preempt_count() == pc)
		atomic_long_inc(&cnt.errors);
	page = race_page(r, addr, o->size);
	if (page) {
		pfn = page_to_pfn(page);
		mapping = (unsigned long)READ_ONCE(page->mapping);
		index = READ_ONCE(page->index);
		priv = page_private(page);
		if (o->pfn && o->pfn != pfn)
			atomic_long_inc(&cnt.moved_unmapped);
		atomic_long_inc(&cnt.inplace_rounds);
	}
	race_check(r, idx, addr, "mapped read-write");

	/* One mapping per CPU: a second one is refused. */
	nested = r->driver->map(r->pool, r->objs[(idx + 1) % r->nr_objs].handle,
				ZPOOL_MM_RO);
	if (nested) {
		atomic_long_inc(&cnt.errors);
		r->driver->unmap(r->pool, r->objs[(idx + 1) % r->nr_objs].handle);
	}

	/*
	 * The next generation, in steps across the window: a migration that
	 * copied the page meanwhile would miss the later steps.
	 */
	o->gen++;
	for (step = 0; step < RACE_STEPS; step++) {
		race_delay_us(window / RACE_STEPS);
		pattern_fill(addr, (size_t)o->size * step / RACE_STEPS,
			     (size_t)o->size * (step + 1) / RACE_STEPS, idx, o->gen);
	}

	/*
	 * Right before unmap: the page under the mapping is still the pool's.
	 * A migration would have cleared its movable operations, its tag
	 * (index) and its private data (Migration::commit).
	 */
	if (page && (page_to_pfn(virt_to_page(addr)) != pfn ||
		     (unsigned long)READ_ONCE(page->mapping) != mapping ||
		     READ_ONCE(page->index) != index || page_private(page) != priv)) {
		atomic_long_inc(&cnt.moved_mapped);
		moved = true;
	}
	r->driver->unmap(r->pool, handle);
	if (preempt_count() != pc)
		atomic_long_inc(&cnt.errors);

	/* Every write is in the object, wherever it is now. */
	addr = r->driver->map(r->pool, handle, ZPOOL_MM_RO);
	if (!addr) {
		atomic_long_inc(&cnt.errors);
		return;
	}
	again = race_page(r, addr, o->size);
	intact = race_check(r, idx, addr, "mapped again");
	if (page && again && page_to_pfn(again) != pfn) {
		if (intact)
			/* Moved in the instant between unmap and map. */
			atomic_long_inc(&cnt.moved_unmapped);
		else if (!moved)
			/* Moved while mapped, losing writes. */
			atomic_long_inc(&cnt.moved_mapped);
	}
	o->pfn = again ? page_to_pfn(again) : 0;
	r->driver->unmap(r->pool, handle);
	atomic_long_inc(&cnt.rounds);
}

static int race_thread(void *arg)
{
	struct race_run *r = arg;

	while (!kthread_should_stop() && time_before(jiffies, r->end)) {
		race_round(r, get_random_u32_below(r->nr_objs));
		/* Let the CPU's other work and RCU in between mappings. */
		usleep_range(500, 1000);
	}
	WRITE_ONCE(race_running, false);
	/* Wait for kthread_stop(), which needs the task. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* Frees objects [0, n) and the pool. Under race_lock. */
static void race_release(struct race_run *r, unsigned int n)
{
	while (n--)
		r->driver->free(r->pool, r->objs[n].handle);
	r->driver->destroy(r->pool);
	kvfree(r->objs);
	r->pool = NULL;
	r->objs = NULL;
}

/* Under race_lock. */
static int race_start(unsigned int nr_objs, unsigned int seconds)
{
	struct race_run *r = &race;
	unsigned int i;
	int ret;

	if (!nr_objs || nr_objs > RACE_MAX_OBJS || !seconds || seconds > RACE_MAX_SECONDS)
		return -EINVAL;
	if (r->pool)
		return -EBUSY;
	r->driver = race_driver;
	r->objs = kvcalloc(nr_objs, sizeof(*r->objs), GFP_KERNEL);
	if (!r->objs)
		return -ENOMEM;
	r->pool = r->driver->create("map_race", GFP_KERNEL);
	if (!r->pool) {
		kvfree(r->objs);
		r->objs = NULL;
		return -ENOMEM;
	}
	r->nr_objs = nr_objs;
	/* No thread runs: the counters start again. */
	memset(&cnt, 0, sizeof(cnt));
	race_inplace_objs = 0;
	for (i = 0; i < nr_objs; i++) {
		struct race_obj *o = &r->objs[i];
		u8 *addr;

		o->size = race_sizes[i % ARRAY_SIZE(race_sizes)];
		o->gen = 1;
		ret = r->driver->malloc(r->pool, o->size, RACE_GFP, &o->handle);
		if (ret)
			goto fail;
		addr = r->driver->map(r->pool, o->handle, ZPOOL_MM_WO);
		if (!addr) {
			ret = -EIO;
			i++;
			goto fail;
		}
		pattern_fill(addr, 0, o->size, i, o->gen);
		ret = i ? 0 : race_learn_ops(r, addr);
		if (!ret) {
			struct page *page = race_page(r, addr, o->size);

			o->pfn = page ? page_to_pfn(page) : 0;
			race_inplace_objs += !!page;
		}
		r->driver->unmap(r->pool, o->handle);
		if (ret) {
			pr_err("rzpool_map_race: a page-sized object is not mapped in place\n");
			i++;
			goto fail;
		}
		cond_resched();
	}
	r->end = jiffies + seconds * HZ;
	r->thread = kthread_create(race_thread, r, "rzpool_map_race");
	if (IS_ERR(r->thread)) {
		ret = PTR_ERR(r->thread);
		goto fail;
	}
	kthread_bind(r->thread, RACE_CPU);
	WRITE_ONCE(race_running, true);
	wake_up_process(r->thread);
	return 0;

fail:
	race_release(r, i);
	return ret;
}

/* Under race_lock. */
static int race_stop(void)
{
	struct race_run *r = &race;
	unsigned int i;

	if (!r->pool)
		return -EINVAL;
	kthread_stop(r->thread);
	WRITE_ONCE(race_running, false);
	/* Every object holds its last generation, wherever it is now. */
	for (i = 0; i < r->nr_objs; i++) {
		struct race_obj *o = &r->objs[i];
		struct page *page;
		u8 *addr;

		addr = r->driver->map(r->pool, o->handle, ZPOOL_MM_RO);
		if (!addr) {
			atomic_long_inc(&cnt.errors);
			continue;
		}
		page = race_page(r, addr, o->size);
		if (page && o->pfn && page_to_pfn(page) != o->pfn)
			atomic_long_inc(&cnt.moved_unmapped);
		race_check(r, i, addr, "at stop");
		r->driver->unmap(r->pool, o->handle);
		cond_resched();
	}
	race_release(r, r->nr_objs);
	return 0;
}

static ssize_t ctl_write(struct file *file, const char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	unsigned int nr_objs, seconds;
	char buf[64];
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	mutex_lock(&race_lock);
	if (sysfs_streq(buf, "stop"))
		ret = race_stop();
	else if (sscanf(buf, "start %u %u", &nr_objs, &seconds) == 2)
		ret = race_start(nr_objs, seconds);
	else
		ret = -EINVAL;
	mutex_unlock(&race_lock);
	return ret ? ret : len;
}

static ssize_t result_read(struct file *file, char __user *ubuf, size_t len,
			   loff_t *ppos)
{
	char buf[320];
	int n;

	n = scnprintf(buf, sizeof(buf),
		      "rounds=%ld verified=%ld lost=%ld moved_unmapped=%ld moved_mapped=%ld errors=%ld running=%d objs=%u inplace_objs=%u inplace_rounds=%ld\n",
		      atomic_long_read(&cnt.rounds), atomic_long_read(&cnt.verified),
		      atomic_long_read(&cnt.lost), atomic_long_read(&cnt.moved_unmapped),
		      atomic_long_read(&cnt.moved_mapped), atomic_long_read(&cnt.errors),
		      READ_ONCE(race_running), READ_ONCE(race.nr_objs),
		      READ_ONCE(race_inplace_objs), atomic_long_read(&cnt.inplace_rounds));
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations ctl_fops = {
	.owner = THIS_MODULE,
	.write = ctl_write,
};

static const struct file_operations result_fops = {
	.owner = THIS_MODULE,
	.read = result_read,
};

static int __init rzpool_map_race_init(void)
{
	/* Found now, while modules are loaded one by one (rmm_zpool_find.h). */
	race_driver = rmm_zpool_find("rzpool");
	if (!race_driver) {
		pr_info("rzpool_map_race: no zpool driver \"rzpool\" (load rzpool.ko first)\n");
		return -ENODEV;
	}
	race_dir = debugfs_create_dir("rzpool_map_race", NULL);
	debugfs_create_file("ctl", 0200, race_dir, NULL, &ctl_fops);
	debugfs_create_file("result", 0400, race_dir, NULL, &result_fops);
	return 0;
}

static void __exit rzpool_map_race_exit(void)
{
	/* No command runs once the files are gone. */
	debugfs_remove(race_dir);
	mutex_lock(&race_lock);
	if (race.pool)
		race_stop();
	mutex_unlock(&race_lock);
	rmm_zpool_put(race_driver);
}

module_init(rzpool_map_race_init);
module_exit(rzpool_map_race_exit);
MODULE_AUTHOR("The rmm authors");
MODULE_DESCRIPTION("rmm test helper: rzpool's zpool mappings against migration");
MODULE_LICENSE("GPL");
