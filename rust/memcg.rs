// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Memory cgroups: charging a driver's pages to the cgroup of a user.
//!
//! C header: [`include/linux/memcontrol.h`](srctree/include/linux/memcontrol.h),
//! [`include/linux/sched/mm.h`](srctree/include/linux/sched/mm.h)
//! (`set_active_memcg()`).
//!
//! A page allocated with `__GFP_ACCOUNT` is charged to the current task's
//! memory cgroup, or to the *active* one if the task set one. A driver that
//! allocates on behalf of whoever opened a file remembers the opener's cgroup
//! ([`MemCgroup::of_current`]) and makes it active around its allocations
//! ([`MemCgroup::charge`]). The charge lives in the page and is given
//! back when the page is freed; [`super::movable`] moves it along when a
//! page migrates.
//!
//! # Examples
//!
//! `samples/rzpool/device.rs` remembers the opener's cgroup
//! ([`MemCgroup::of_current`]) for the pool of each open file, and
//! `samples/rzpool/pool/mod.rs` (`Pool::charged`) makes it active around the
//! pool's page allocations.

use core::{ffi::c_void, ptr::NonNull};

/// A memory cgroup with a reference on it.
///
/// # Invariants
///
/// `memcg` is a `struct mem_cgroup` on which we hold a css reference.
pub struct MemCgroup {
    memcg: NonNull<c_void>,
}

// SAFETY: a css reference may be used and dropped on any thread.
unsafe impl Send for MemCgroup {}
// SAFETY: the `&self` methods only pass the pointer to C, which locks.
unsafe impl Sync for MemCgroup {}

impl MemCgroup {
    /// The memory cgroup of the calling task's address space; `None` without
    /// one (memory cgroups disabled, or a kernel thread).
    pub fn of_current() -> Option<Self> {
        // SAFETY: only reads a static key.
        if unsafe { super::bindings::rmm_mem_cgroup_disabled() } {
            return None;
        }
        // SAFETY: `current` is always valid; only reads its `mm` pointer.
        let mm = unsafe { super::bindings::rmm_current_mm() };
        // A kernel thread has none (`get_mem_cgroup_from_mm(NULL)` would give
        // the active or root cgroup instead).
        if mm.is_null() {
            return None;
        }
        // SAFETY: the calling task's `mm`, alive while the task runs.
        let memcg = unsafe { super::bindings::rmm_get_mem_cgroup_from_mm(mm) };
        // INVARIANT: `get_mem_cgroup_from_mm()` returns a reference.
        NonNull::new(memcg).map(|memcg| Self { memcg })
    }

    /// Runs `f` with this cgroup as the one that `__GFP_ACCOUNT`
    /// allocations of the calling task are charged to, then restores the
    /// previous one.
    ///
    /// A closure rather than a guard: guards could be dropped out of order
    /// (or leaked), leaving the task's active cgroup pointing at one whose
    /// reference is gone.
    pub fn charge<R>(&self, f: impl FnOnce() -> R) -> R {
        // SAFETY: `memcg` is referenced (type invariant) for the whole call.
        let old = unsafe { super::bindings::rmm_set_active_memcg(self.memcg.as_ptr()) };
        let r = f();
        // Last in, first out: panics abort in the kernel, so this always runs.
        // SAFETY: restores what was active before `f`, on the same task.
        unsafe { super::bindings::rmm_set_active_memcg(old) };
        r
    }
}

impl Drop for MemCgroup {
    fn drop(&mut self) {
        // SAFETY: our reference (type invariant).
        unsafe { super::bindings::rmm_mem_cgroup_put(self.memcg.as_ptr()) };
    }
}
