// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Per-CPU counters: counts that many CPUs change often and few read.
//!
//! C header: [`include/linux/percpu.h`](srctree/include/linux/percpu.h).
//!
//! An atomic counter that every CPU adds to is one cache line that every
//! CPU must own in turn, and an atomic read-modify-write on each change.
//! [`PerCpuCounters`] keeps `N` signed counts per possible CPU: a change is
//! one `this_cpu_add()` (a single non-atomic instruction on x86, safe
//! against preemption and interrupts), and a read sums one count over every
//! CPU. The sum is exact when nothing changes meanwhile; while counts
//! change it may miss changes made during the walk, so it suits statistics
//! and hints, not decisions that need the exact value. Which count a call
//! names is checked at compile time.
//!
//! # Examples
//!
//! `selftests/compile_pass/percpu.rs` (built by `make check`): two counts
//! changed from this CPU and summed; `selftests/compile_fail/` has a count
//! index out of range, which must not build.

use super::bindings as rmm_bindings;
use crate::rmm::page::Gfp;
use core::ptr::NonNull;
use kernel::{ffi::c_int, prelude::*};

/// `N` signed counts per possible CPU.
///
/// # Invariants
///
/// `counts` was returned by `__alloc_percpu_gfp()` for `N` `i64`s and is
/// freed only in [`Drop`].
pub struct PerCpuCounters<const N: usize> {
    counts: NonNull<i64>,
}

// SAFETY: the per-CPU counts are changed only through `this_cpu_add()`,
// which is safe from any CPU and context, and read with `READ_ONCE()`.
unsafe impl<const N: usize> Send for PerCpuCounters<N> {}
// SAFETY: as for `Send`: `&self` methods only add to this CPU's counts or
// read all of them.
unsafe impl<const N: usize> Sync for PerCpuCounters<N> {}

impl<const N: usize> PerCpuCounters<N> {
    /// `N` counts at zero on every CPU, allocated with `gfp`.
    pub fn new(gfp: Gfp) -> Result<Self> {
        const { assert!(N > 0) };
        // SAFETY: the helper calls `__alloc_percpu_gfp()`, which zeroes.
        let counts = unsafe { rmm_bindings::rmm_alloc_percpu_s64(N, gfp.as_raw()) };
        // INVARIANT: allocated by `__alloc_percpu_gfp()` for `N` counts.
        Ok(Self {
            counts: NonNull::new(counts).ok_or(ENOMEM)?,
        })
    }

    /// Adds `v` (which may be negative) to this CPU's count `I`.
    #[inline]
    pub fn add<const I: usize>(&self, v: i64) {
        const { assert!(I < N, "no such count") };
        // `counts` holds `N` counts (type invariant), and `I < N` (checked above).
        // SAFETY: count `I` is inside the live per-CPU allocation `counts`.
        unsafe { rmm_bindings::rmm_this_cpu_add_s64(self.counts.as_ptr().add(I), v) };
    }

    /// The sum of count `I` over every CPU.
    pub fn sum<const I: usize>(&self) -> i64 {
        const { assert!(I < N, "no such count") };
        // SAFETY: as in `add`.
        let count = unsafe { self.counts.as_ptr().add(I) };
        // SAFETY: only reads a constant.
        let nr = unsafe { rmm_bindings::rmm_nr_cpu_ids() };
        let mut sum: i64 = 0;
        // `for_each_possible_cpu()`.
        let mut cpu: c_int = -1;
        loop {
            // SAFETY: only reads `cpu_possible_mask`; `cpu` is -1 or a CPU.
            let next = unsafe { rmm_bindings::rmm_next_possible_cpu(cpu) };
            if next >= nr {
                break sum;
            }
            cpu = next as c_int;
            // `cpu` is a possible CPU, and count `I` is inside the live
            // per-CPU allocation `counts` (as in `add`).
            // SAFETY: as just said.
            let v = unsafe { rmm_bindings::rmm_per_cpu_ptr_s64(count, cpu) };
            // Other CPUs may be adding to their counts meanwhile: each is
            // read once (`READ_ONCE()`), and the sum wraps as the C one did.
            // `v` is CPU `cpu`'s count `I`, an aligned `i64` that lives as
            // long as `self`.
            // SAFETY: as just said.
            sum = sum.wrapping_add(unsafe { v.read_volatile() });
        }
    }
}

impl<const N: usize> Drop for PerCpuCounters<N> {
    fn drop(&mut self) {
        // No longer used (`&mut self`).
        // SAFETY: `counts` was allocated by `__alloc_percpu_gfp()` (type invariant).
        unsafe { rmm_bindings::rmm_free_percpu_s64(self.counts.as_ptr()) };
    }
}
