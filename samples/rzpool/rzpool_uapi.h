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
};

#define RZPOOL_IOC_ALLOC	_IOWR('Z', 0x00, struct rzpool_alloc)
#define RZPOOL_IOC_FREE		_IOW('Z', 0x01, __u64)
#define RZPOOL_IOC_WRITE	_IOW('Z', 0x02, struct rzpool_rw)
#define RZPOOL_IOC_READ		_IOW('Z', 0x03, struct rzpool_rw)
/* Internal compaction; writes the number of pages freed. */
#define RZPOOL_IOC_COMPACT	_IOR('Z', 0x04, __u64)
#define RZPOOL_IOC_STATS	_IOR('Z', 0x05, struct rzpool_stats)

#endif /* _RZPOOL_UAPI_H */
