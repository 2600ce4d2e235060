/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * ioctl interface of /dev/rzpool: each open file is one object pool. Shared
 * with selftests/rzpool.
 */
#ifndef _RZPOOL_UAPI_H
#define _RZPOOL_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Object sizes are 1 .. RZPOOL_MAX_SIZE bytes (one page). */
#define RZPOOL_MAX_SIZE 4096

struct rzpool_alloc {
	__u32 size;	/* in: object size, 1 .. RZPOOL_MAX_SIZE */
	__u32 flags;	/* in: must be 0 */
	__u64 handle;	/* out: the object's handle */
};

/* Read or write len bytes at offset of an object, from or to user addr. */
struct rzpool_rw {
	__u64 handle;
	__u64 addr;
	__u32 offset;
	__u32 len;	/* 1 .. size - offset */
};

struct rzpool_stats {
	__u32 pool_id;
	__u32 nr_classes;	/* size classes after merging */
	__u64 objs;		/* live objects */
	__u64 bytes;		/* sum of live objects' sizes */
	__u64 pages;		/* pages held by the pool */
	__u64 zspages;
	__u64 isolate;		/* isolate_page calls on this pool's pages */
	__u64 migrate;		/* pages migrated (migrate_page successes) */
	__u64 migrate_fail;	/* migrate_page failures (-EAGAIN) */
	__u64 putback;		/* putback_page calls */
	__u64 compact_freed;	/* pages freed by internal compaction */
	__u64 shrink_freed;	/* of which by the shrinker */
	__u64 release_busy;	/* empty zspages kept: a page was locked */
	/* Object states (see "Volatile objects" below). */
	__u64 volatile_objs;	/* objects volatile now (exact when none changes) */
	__u64 made_volatile;	/* RZPOOL_IOC_MAKE_VOLATILE successes */
	__u64 kept;		/* RZPOOL_IOC_MAKE_STABLE answers "kept" */
	__u64 discard_shrink;	/* volatile objects discarded by the shrinker */
	__u64 discard_migrate;	/* ... by page migration (instead of a copy) */
	__u64 discard_compact;	/* ... by internal compaction */
	__u64 discard_pages;	/* pages freed by discarding alone */
	__u64 migrate_copied;	/* stable objects on migrated pages */
	__u64 compact_moved;	/* objects copied by internal compaction */
};

/*
 * Volatile objects.
 *
 * Every object is stable when allocated: its contents are kept. A cache
 * that can rebuild an object lets the pool throw its contents away under
 * memory pressure by making it volatile, and makes it stable again before
 * it reads or writes it:
 *
 *   stable --MAKE_VOLATILE--> volatile --MAKE_STABLE--> stable (kept)
 *                                 |
 *                          (memory pressure, compaction, migration)
 *                                 v
 *                             discarded --MAKE_STABLE--> stable (discarded:
 *                                                        zero-filled, same size)
 *
 * Neither transition takes a lock: each is one compare-and-swap on the
 * object's state word, and the pool discards an object with the same
 * compare-and-swap, so that MAKE_STABLE either keeps the contents intact or
 * reports RZPOOL_DISCARDED; never a mix. READ and WRITE of a volatile or
 * discarded object fail with ESTALE; FREE works in every state. Made
 * volatile, an object's bytes count as free space: the shrinker first
 * frees zspages whose objects are all volatile (no copy), compaction and
 * migration drop volatile objects instead of copying them.
 *
 * Both ioctls take a batch: handles[i] is changed and results[i] says how,
 * 0 (made volatile; or kept, for MAKE_STABLE), RZPOOL_DISCARDED (MAKE_STABLE
 * only), or a negative errno: -ENOENT (freed or forged handle), -EINVAL
 * (another pool's handle), -EALREADY (already volatile, or already stable),
 * -ENOMEM (a discarded object could not be refilled: it stays discarded,
 * try again). The ioctl itself fails only if the batch cannot be read or
 * its results written (-EFAULT), or count or flags are bad (-EINVAL); a
 * batch that cannot be copied in at all fails with -ENOMEM, changing
 * nothing.
 *
 * Results are written as they are known: first all are set to -EINPROGRESS
 * (an EFAULT there changes nothing), then one by one. MAKE_STABLE writes
 * RZPOOL_DISCARDED into results[i] before it changes handles[i], 0 after if
 * the contents were kept. So if results become unwritable in the middle
 * (another thread unmapping them: the ioctl then fails with -EFAULT and
 * stops), what can still be read errs on the safe side: -EINPROGRESS for
 * a handle not reached (or, for MAKE_VOLATILE, one whose answer could not
 * be written: treat it as volatile), RZPOOL_DISCARDED for one that may
 * have been kept. Zeroes are never passed off as kept contents.
 */
#define RZPOOL_MAX_BATCH	1024
#define RZPOOL_DISCARDED	1

struct rzpool_states {
	__u64 handles;	/* in: user address of count __u64 handles */
	__u64 results;	/* in: user address of count __s32 results (out) */
	__u32 count;	/* 1 .. RZPOOL_MAX_BATCH */
	__u32 flags;	/* must be 0 */
};

#define RZPOOL_IOC_ALLOC	_IOWR('Z', 0x00, struct rzpool_alloc)
#define RZPOOL_IOC_FREE		_IOW('Z', 0x01, __u64)
#define RZPOOL_IOC_WRITE	_IOW('Z', 0x02, struct rzpool_rw)
#define RZPOOL_IOC_READ		_IOW('Z', 0x03, struct rzpool_rw)
/* Internal compaction; writes the number of pages freed. */
#define RZPOOL_IOC_COMPACT	_IOR('Z', 0x04, __u64)
#define RZPOOL_IOC_STATS	_IOR('Z', 0x05, struct rzpool_stats)
#define RZPOOL_IOC_MAKE_VOLATILE	_IOW('Z', 0x06, struct rzpool_states)
#define RZPOOL_IOC_MAKE_STABLE		_IOW('Z', 0x07, struct rzpool_states)

#endif /* _RZPOOL_UAPI_H */
