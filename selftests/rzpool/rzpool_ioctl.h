/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The ioctl wrappers of /dev/rzpool, shared by every rzpool selftest and
 * tool: each returns 0 or -errno. Their arguments follow the request's
 * fields: handle, offset in the object, user buffer, length.
 */
#ifndef RZPOOL_IOCTL_H
#define RZPOOL_IOCTL_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "rzpool_uapi.h"

#define RZPOOL_DEV "/dev/rzpool"

static inline int rz_alloc(int fd, uint32_t size, uint64_t *handle)
{
	struct rzpool_alloc a = { .size = size };

	if (ioctl(fd, RZPOOL_IOC_ALLOC, &a))
		return -errno;
	*handle = a.handle;
	return 0;
}

static inline int rz_free(int fd, uint64_t handle)
{
	return ioctl(fd, RZPOOL_IOC_FREE, &handle) ? -errno : 0;
}

/* READ or WRITE (cmd) with any user address, faulting ones included. */
static inline int rz_rw(int fd, unsigned long cmd, uint64_t handle, uint32_t off,
			uint64_t addr, uint32_t len)
{
	struct rzpool_rw rw = { .handle = handle, .addr = addr, .offset = off, .len = len };

	return ioctl(fd, cmd, &rw) ? -errno : 0;
}

static inline int rz_write(int fd, uint64_t handle, uint32_t off, const void *buf, uint32_t len)
{
	return rz_rw(fd, RZPOOL_IOC_WRITE, handle, off, (uintptr_t)buf, len);
}

static inline int rz_read(int fd, uint64_t handle, uint32_t off, void *buf, uint32_t len)
{
	return rz_rw(fd, RZPOOL_IOC_READ, handle, off, (uintptr_t)buf, len);
}

static inline int rz_stats(int fd, struct rzpool_stats *st)
{
	return ioctl(fd, RZPOOL_IOC_STATS, st) ? -errno : 0;
}

/* A batch of state changes: results[i] is 0, RZPOOL_DISCARDED or -errno. */
static inline int rz_states(int fd, unsigned long cmd, const uint64_t *h, int32_t *res,
			    uint32_t n)
{
	struct rzpool_states s = {
		.handles = (uintptr_t)h, .results = (uintptr_t)res, .count = n,
	};

	return ioctl(fd, cmd, &s) ? -errno : 0;
}

#endif /* RZPOOL_IOCTL_H */
