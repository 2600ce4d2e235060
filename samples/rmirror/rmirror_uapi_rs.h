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
	RMIRROR_IOCTL_AGE = RMIRROR_IOC_AGE,
	RMIRROR_IOCTL_YOUNG = RMIRROR_IOC_YOUNG,
};

/*
 * test_hmm's interface (lib/test_hmm_uapi.h, from the kernel source the
 * module is built against), which /dev/hmm_dmirror0 and 1 speak: its command
 * struct under rmirror's name (bindgen takes only rmirror's names), checked
 * field by field against the original, and its ioctl numbers and snapshot
 * flags as enum constants.
 */
#include <linux/stddef.h>
#include <lib/test_hmm_uapi.h>

struct rmirror_hmm_cmd {
	__u64 addr;
	__u64 ptr;
	__u64 npages;
	__u64 cpages;
	__u64 faults;
};

#define RMIRROR_HMM_SAME(f) \
	_Static_assert(offsetof(struct rmirror_hmm_cmd, f) == \
		       offsetof(struct hmm_dmirror_cmd, f), #f)
RMIRROR_HMM_SAME(addr);
RMIRROR_HMM_SAME(ptr);
RMIRROR_HMM_SAME(npages);
RMIRROR_HMM_SAME(cpages);
RMIRROR_HMM_SAME(faults);
_Static_assert(sizeof(struct rmirror_hmm_cmd) == sizeof(struct hmm_dmirror_cmd), "size");

enum rmirror_hmm_ioctl {
	RMIRROR_HMM_READ = HMM_DMIRROR_READ,
	RMIRROR_HMM_WRITE = HMM_DMIRROR_WRITE,
	RMIRROR_HMM_MIGRATE_TO_DEV = HMM_DMIRROR_MIGRATE_TO_DEV,
	RMIRROR_HMM_MIGRATE_TO_SYS = HMM_DMIRROR_MIGRATE_TO_SYS,
	RMIRROR_HMM_SNAPSHOT = HMM_DMIRROR_SNAPSHOT,
	RMIRROR_HMM_EXCLUSIVE = HMM_DMIRROR_EXCLUSIVE,
	RMIRROR_HMM_CHECK_EXCLUSIVE = HMM_DMIRROR_CHECK_EXCLUSIVE,
	RMIRROR_HMM_RELEASE = HMM_DMIRROR_RELEASE,
};

enum rmirror_hmm_prot {
	RMIRROR_HMM_PROT_ERROR = HMM_DMIRROR_PROT_ERROR,
	RMIRROR_HMM_PROT_NONE = HMM_DMIRROR_PROT_NONE,
	RMIRROR_HMM_PROT_READ = HMM_DMIRROR_PROT_READ,
	RMIRROR_HMM_PROT_WRITE = HMM_DMIRROR_PROT_WRITE,
	RMIRROR_HMM_PROT_PMD = HMM_DMIRROR_PROT_PMD,
	RMIRROR_HMM_PROT_PUD = HMM_DMIRROR_PROT_PUD,
	RMIRROR_HMM_PROT_ZERO = HMM_DMIRROR_PROT_ZERO,
};
