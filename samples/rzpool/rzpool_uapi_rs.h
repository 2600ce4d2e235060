/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * What the rzpool driver's Rust code takes from C, for bindgen (see
 * rust/rmm.kbuild): rzpool_uapi.h, with its ioctl numbers as enum constants
 * (bindgen does not expand function-like macros, but evaluates enums).
 */

#include "rzpool_uapi.h"
#include "rzpool_kapi.h"

enum rzpool_ioctl {
	RZPOOL_IOCTL_ALLOC = RZPOOL_IOC_ALLOC,
	RZPOOL_IOCTL_FREE = RZPOOL_IOC_FREE,
	RZPOOL_IOCTL_WRITE = RZPOOL_IOC_WRITE,
	RZPOOL_IOCTL_READ = RZPOOL_IOC_READ,
	RZPOOL_IOCTL_COMPACT = RZPOOL_IOC_COMPACT,
	RZPOOL_IOCTL_STATS = RZPOOL_IOC_STATS,
	RZPOOL_IOCTL_MAKE_VOLATILE = RZPOOL_IOC_MAKE_VOLATILE,
	RZPOOL_IOCTL_MAKE_STABLE = RZPOOL_IOC_MAKE_STABLE,
};
