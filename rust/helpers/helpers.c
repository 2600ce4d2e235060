// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Out-of-line wrappers for the static inline functions and macros that
 * Rust cannot call directly, one file per subsystem, as the kernel's
 * rust/helpers/. Each is a wrapper and nothing more: what decides
 * something belongs in Rust, or in a C file of rust/ that says why it
 * must be C (see rust/rmm.c).
 *
 * Sorted alphabetically.
 */

#include "barrier.c"
#include "cpu.c"
#include "memcg.c"
#include "mm.c"
#include "mmu_notifier.c"
#include "module.c"
#include "page.c"
#include "percpu.c"
#include "pgtable.c"
#include "rcu.c"
#include "shrinker.c"
#include "task.c"
