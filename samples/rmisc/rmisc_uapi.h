/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * ioctl interface of /dev/rmisc, the smallest rmm module: it exercises the
 * misc-device abstraction and user copies in both directions. Shared with
 * selftests/rmisc.
 */
#ifndef _RMISC_UAPI_H
#define _RMISC_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The answer RMISC_IOC_HELLO writes. */
#define RMISC_MAGIC 0x726d6d31 /* "rmm1" */

struct rmisc_hello {
	__u32 magic;	/* out: RMISC_MAGIC */
	__u32 opens;	/* out: files opened on the device since load */
	__u64 cookie;	/* in: any value; out: the value of the last SET_COOKIE */
};

/* Write the answer; leaves cookie as the file's current cookie. */
#define RMISC_IOC_HELLO		_IOR('R', 0x00, struct rmisc_hello)
/* Set this file's cookie. */
#define RMISC_IOC_SET_COOKIE	_IOW('R', 0x01, __u64)

#endif /* _RMISC_UAPI_H */
