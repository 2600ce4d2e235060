/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The ioctl wrappers of /dev/rmirror, shared by the rmirror selftests: each
 * returns the result (>= 0) or -errno. Their arguments follow the request's
 * fields: mirrored address, user buffer, length.
 */
#ifndef RMIRROR_IOCTL_H
#define RMIRROR_IOCTL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "rmirror_uapi.h"

#define RMIRROR_DEV "/dev/rmirror"

/* MIRROR [addr, addr + len): the number of pages mirrored. */
static inline int dev_mirror(int fd, void *addr, size_t len)
{
	struct rmirror_range r = { .addr = (uintptr_t)addr, .len = len };
	int ret = ioctl(fd, RMIRROR_IOC_MIRROR, &r);

	return ret < 0 ? -errno : ret;
}

/* READ or WRITE (cmd) of len bytes at addr, to or from buf. */
static inline int dev_rw(int fd, unsigned long cmd, const void *addr, const void *buf, size_t len)
{
	struct rmirror_rw rw = { .addr = (uintptr_t)addr, .buf = (uintptr_t)buf, .len = len };

	return ioctl(fd, cmd, &rw) ? -errno : 0;
}

static inline int dev_read(int fd, const void *addr, void *buf, size_t len)
{
	return dev_rw(fd, RMIRROR_IOC_READ, addr, buf, len);
}

static inline int dev_write(int fd, void *addr, const void *buf, size_t len)
{
	return dev_rw(fd, RMIRROR_IOC_WRITE, addr, buf, len);
}

/* The flags of npages pages from addr into out, one byte a page. */
static inline int dev_snapshot(int fd, const void *addr, void *out, size_t npages)
{
	struct rmirror_snapshot s = {
		.addr = (uintptr_t)addr, .buf = (uintptr_t)out, .npages = npages,
	};

	return ioctl(fd, RMIRROR_IOC_SNAPSHOT, &s) ? -errno : 0;
}

static inline int dev_stats(int fd, struct rmirror_stats *st)
{
	return ioctl(fd, RMIRROR_IOC_STATS, st) ? -errno : 0;
}

/* The device drops its whole table and holds the invalidation for ms. */
static inline int dev_invalidate(int fd, uint32_t ms)
{
	return ioctl(fd, RMIRROR_IOC_INVALIDATE, &ms) ? -errno : 0;
}

#endif /* RMIRROR_IOCTL_H */
