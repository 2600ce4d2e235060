/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * What the rmirror driver's Rust code takes from C, for bindgen (see
 * rust/rmm.kbuild): rmirror_uapi.h, with its ioctl numbers as enum constants
 * (bindgen does not expand function-like macros, but evaluates enums).
 */

#include "rmirror_uapi.h"

enum rmirror_ioctl {
	RMIRROR_IOCTL_MIRROR = RMIRROR_IOC_MIRROR,
	RMIRROR_IOCTL_READ = RMIRROR_IOC_READ,
	RMIRROR_IOCTL_WRITE = RMIRROR_IOC_WRITE,
	RMIRROR_IOCTL_SNAPSHOT = RMIRROR_IOC_SNAPSHOT,
	RMIRROR_IOCTL_STATS = RMIRROR_IOC_STATS,
	RMIRROR_IOCTL_INVALIDATE = RMIRROR_IOC_INVALIDATE,
};
