/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * What the rmisc driver's Rust code takes from C, for bindgen (see
 * rust/rmm.kbuild): rmisc_uapi.h, with its ioctl numbers as enum constants
 * (bindgen does not expand function-like macros, but evaluates enums).
 */

#include "rmisc_uapi.h"

enum rmisc_ioctl {
	RMISC_IOCTL_HELLO = RMISC_IOC_HELLO,
	RMISC_IOCTL_SET_COOKIE = RMISC_IOC_SET_COOKIE,
};
