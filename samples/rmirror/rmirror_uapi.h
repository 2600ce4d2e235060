/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * ioctl interface of /dev/rmirror: each open file is a secondary MMU that
 * mirrors one range of the address space of the process that set it up.
 * Shared with selftests/rmirror.
 */
#ifndef _RMIRROR_UAPI_H
#define _RMIRROR_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The largest range one file mirrors, and the most bytes one READ/WRITE moves. */
#define RMIRROR_MAX_LEN		(1ULL << 30)
#define RMIRROR_MAX_RW		(1U << 20)

/* Mirror [addr, addr + len) of the caller's address space; faults it in. */
struct rmirror_range {
	__u64 addr;	/* page aligned */
	__u64 len;	/* page aligned, 1 .. RMIRROR_MAX_LEN */
};

/* A device access of [addr, addr + len) through the mirror, to or from buf. */
struct rmirror_rw {
	__u64 addr;
	__u64 buf;
	__u64 len;	/* 1 .. RMIRROR_MAX_RW */
};

/* Per-page flags of the shadow table from addr into buf (one byte a page). */
struct rmirror_snapshot {
	__u64 addr;
	__u64 buf;
	__u64 npages;
};

#define RMIRROR_VALID		(1 << 0)
#define RMIRROR_WRITE		(1 << 1)
#define RMIRROR_ACCESSED	(1 << 2)
#define RMIRROR_DIRTY		(1 << 3)

/* Index of rmirror_stats.invalidations[], from enum mmu_notifier_event. */
enum rmirror_event {
	RMIRROR_EV_UNMAP,
	RMIRROR_EV_CLEAR,
	RMIRROR_EV_PROTECTION_VMA,
	RMIRROR_EV_PROTECTION_PAGE,
	RMIRROR_EV_SOFT_DIRTY,
	RMIRROR_EV_RELEASE,
	RMIRROR_EV_MIGRATE,
	RMIRROR_EV_EXCLUSIVE,
	RMIRROR_EV_OTHER,
	RMIRROR_NR_EVENTS,
};

struct rmirror_stats {
	__u64 start;
	__u64 end;
	__u64 mirrored;		/* valid entries now */
	__u64 faults;		/* entries faulted in */
	__u64 write_faults;	/* of which for writing */
	__u64 retries;		/* faults retried after an invalidation raced */
	__u64 young_calls;	/* clear_young, clear_flush_young, test_young */
	__u64 young;		/* of which answered young */
	__u64 released;		/* 1 once the mirrored address space went away */
	__u64 invalidations[RMIRROR_NR_EVENTS];	/* overlapping invalidations */
	__u64 dropped[RMIRROR_NR_EVENTS];	/* valid entries they dropped */
	__u64 nonblock;		/* of the invalidations, non-blockable ones (OOM reaper) */
	__u64 tables;		/* pages of the shadow page table now */
	__u64 tables_migrated;	/* table pages migrated (compaction, offlining) */
	__u64 slow_harvests;	/* young callbacks that met a table being migrated */
	__u64 table_migrate_ns;	/* time the driver spent migrating table pages */
};

#define RMIRROR_IOC_MIRROR	_IOW('M', 0x00, struct rmirror_range)
#define RMIRROR_IOC_READ	_IOW('M', 0x01, struct rmirror_rw)
#define RMIRROR_IOC_WRITE	_IOW('M', 0x02, struct rmirror_rw)
#define RMIRROR_IOC_SNAPSHOT	_IOW('M', 0x03, struct rmirror_snapshot)
#define RMIRROR_IOC_STATS	_IOR('M', 0x04, struct rmirror_stats)
/*
 * The device invalidates its whole table itself (a slow device TLB
 * shootdown) and holds the invalidation for msecs milliseconds (at most
 * RMIRROR_MAX_HOLD_MS) unless a signal comes: device accesses meanwhile wait,
 * and fail with EBUSY after a second.
 */
#define RMIRROR_IOC_INVALIDATE	_IOW('M', 0x05, __u32)
#define RMIRROR_MAX_HOLD_MS	10000
/*
 * The device ages [addr, addr + len) of its table itself, as the VM's
 * clear_young does (and through the same lock-free walk): clears every
 * accessed bit of the range; returns 1 if any was set, else 0.
 */
#define RMIRROR_IOC_AGE		_IOW('M', 0x06, struct rmirror_range)
/* Whether a page of [addr, addr + len) is young, clearing nothing: 1 or 0. */
#define RMIRROR_IOC_YOUNG	_IOW('M', 0x07, struct rmirror_range)
/*
 * Only the mirrored process may use the device: READ, WRITE, SNAPSHOT and
 * INVALIDATE from another address space fail with EIO. A WRITE where the
 * mapping is read-only fails with EPERM (as hmm_range_fault() answers), where
 * nothing readable is mapped with EFAULT.
 */

#endif /* _RMIRROR_UAPI_H */
