// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Reading a process's page tables with `hmm_range_fault()`, faulting
//! nothing: what a device driver reports as the CPU's view of a range.
//!
//! C headers: [`include/linux/hmm.h`](srctree/include/linux/hmm.h),
//! [`include/linux/mmu_notifier.h`](srctree/include/linux/mmu_notifier.h)
//! (interval notifiers), [`Documentation/mm/hmm.rst`](srctree/Documentation/mm/hmm.rst).
//!
//! `hmm_range_fault()` walks the page tables under `mmap_lock` and fails with
//! `-EBUSY` if an invalidation of the range ran meanwhile, which it learns
//! from an interval notifier's sequence. [`snapshot`] inserts one for the
//! range, walks it in chunks, retrying a chunk that raced an invalidation
//! for up to a second (`HMM_RANGE_DEFAULT_TIMEOUT`), and removes the
//! notifier before it returns, so no callback of ours outlives the call.
//!
//! # Examples
//!
//! `samples/rmirror/dmirror.rs` answers test_hmm's snapshot ioctl with
//! [`snapshot`], turning each [`CpuPte`] into test_hmm's protection byte.

use super::{bindings as rmm_bindings, mm::MmWithUser};
use kernel::{
    error::to_result,
    ffi::c_ulong,
    new_spinlock,
    prelude::*,
    sync::SpinLock,
    time::{self, Ktime},
    types::Opaque,
};

/// The interval notifier of one [`snapshot`], and the lock its invalidate
/// callback moves the sequence under, which the reader holds to check it
/// (`mmu_interval_read_retry()`'s contract).
#[pin_data]
struct Sub {
    #[pin]
    sub: Opaque<rmm_bindings::mmu_interval_notifier>,
    #[pin]
    lock: SpinLock<()>,
}

/// What the CPU page table holds for one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuPte {
    /// Nothing a device may access can be here: no VMA, a VMA that is not
    /// readable or is I/O or raw PFN memory, or a special mapping.
    Error,
    /// Nothing is mapped now (never touched, swapped out, `PROT_NONE`,
    /// migrating).
    None,
    /// A page is mapped.
    Mapped {
        /// Writable.
        write: bool,
        /// The shared zero page.
        zero: bool,
        /// The order of the mapping (9 for a 2 MiB PMD, 18 for a 1 GiB PUD
        /// on x86-64).
        order: u32,
    },
}

/// Pages per `hmm_range_fault()` call.
const CHUNK: usize = 64;
/// How long a chunk may keep racing invalidations.
const TIMEOUT_MS: i64 = 1000;

/// The interval notifier of one [`snapshot`]: its invalidations only move
/// the sequence on, which makes `hmm_range_fault()` retry.
static OPS: rmm_bindings::mmu_interval_notifier_ops = rmm_bindings::mmu_interval_notifier_ops {
    invalidate: Some(invalidate),
};

/// # Safety
///
/// Called by the notifier core for an interval notifier inserted by
/// [`snapshot`] and not yet removed.
unsafe extern "C" fn invalidate(
    sub: *mut rmm_bindings::mmu_interval_notifier,
    _range: *const kernel::bindings::mmu_notifier_range,
    cur_seq: c_ulong,
) -> bool {
    // `sub` is the `sub` field of a live `Sub` (only `snapshot` inserts
    // notifiers with `OPS`).
    // SAFETY: as just said; the `Sub` outlives the notifier's insertion.
    let this = unsafe { &*kernel::container_of!(sub, Sub, sub) };
    let _guard = this.lock.lock();
    // SAFETY: `sub` is live for the call (safety contract).
    unsafe { rmm_bindings::rmm_mmu_interval_set_seq(sub, cur_seq) };
    true
}

/// The order of a PMD mapping (9 with 4 KiB pages on x86-64 and arm64).
pub fn pmd_order() -> u32 {
    // SAFETY: returns a constant.
    unsafe { rmm_bindings::rmm_pmd_order() }
}

/// The order of a PUD mapping (18 with 4 KiB pages on x86-64 and arm64).
pub fn pud_order() -> u32 {
    // SAFETY: returns a constant.
    unsafe { rmm_bindings::rmm_pud_order() }
}

/// Decodes one `hmm_range_fault()` output word.
fn decode(v: u64) -> CpuPte {
    let valid = rmm_bindings::hmm_pfn_flags_HMM_PFN_VALID as u64;
    let write = rmm_bindings::hmm_pfn_flags_HMM_PFN_WRITE as u64;
    let error = rmm_bindings::hmm_pfn_flags_HMM_PFN_ERROR as u64;
    let shift = rmm_bindings::hmm_pfn_flags_HMM_PFN_ORDER_SHIFT as u32;
    let flags = rmm_bindings::hmm_pfn_flags_HMM_PFN_FLAGS as u64;
    if v & error != 0 {
        CpuPte::Error
    } else if v & valid == 0 {
        CpuPte::None
    } else {
        CpuPte::Mapped {
            write: v & write != 0,
            // SAFETY: only compares the frame number with the zero page's.
            zero: unsafe { rmm_bindings::rmm_is_zero_pfn((v & !flags) as c_ulong) },
            order: ((v >> shift) & 0x1f) as u32,
        }
    }
}

/// Reads what the CPU page tables of `mm` hold for each page from `start`
/// into `out`, faulting nothing.
///
/// `EINVAL` for an unaligned, empty or wrapping range; `EBUSY` if
/// invalidations kept a chunk from being read for a second; `EINTR` on a
/// fatal signal.
///
/// # Context
///
/// Sleeps; takes `mmap_lock` for reading: none of `mm`'s locks may be held.
pub fn snapshot(mm: &MmWithUser, start: usize, out: &mut [CpuPte]) -> Result {
    let len = out
        .len()
        .checked_mul(kernel::page::PAGE_SIZE)
        .ok_or(EINVAL)?;
    start.checked_add(len).ok_or(EINVAL)?;
    if start % kernel::page::PAGE_SIZE != 0 || len == 0 {
        return Err(EINVAL);
    }
    // SAFETY: all zeros is a valid `struct mmu_interval_notifier` before insertion.
    let zeroed = unsafe { core::mem::zeroed::<rmm_bindings::mmu_interval_notifier>() };
    let sub = KBox::pin_init(
        pin_init!(Sub {
            sub: Opaque::new(zeroed),
            lock <- new_spinlock!((), "rmm::hmm::snapshot"),
        }),
        GFP_KERNEL,
    )?;
    // The notifier is zeroed, boxed (it does not move), and removed below
    // before the box is freed; `OPS` is static.
    // SAFETY: `mm` has users; we hold none of its locks (caller).
    to_result(unsafe {
        rmm_bindings::mmu_interval_notifier_insert(
            sub.sub.get(),
            mm.as_raw(),
            start as c_ulong,
            len as c_ulong,
            &OPS,
        )
    })?;
    let mut ret = Ok(());
    for (k, chunk) in out.chunks_mut(CHUNK).enumerate() {
        ret = read_chunk(mm, &sub, start + k * CHUNK * kernel::page::PAGE_SIZE, chunk);
        if ret.is_err() {
            break;
        }
    }
    // After this no callback runs, and none will.
    // SAFETY: inserted above, removed once.
    unsafe { rmm_bindings::mmu_interval_notifier_remove(sub.sub.get()) };
    ret
}

/// One `hmm_range_fault()` of up to [`CHUNK`] pages, retried while it races
/// invalidations: the answer is what the page tables held at one moment.
fn read_chunk(mm: &MmWithUser, sub: &Sub, start: usize, out: &mut [CpuPte]) -> Result {
    let mut pfns = [0 as c_ulong; CHUNK];
    let began = Ktime::ktime_get();
    loop {
        if super::fatal_signal_pending() {
            return Err(EINTR);
        }
        // SAFETY: `sub` is inserted (our caller removes it after this).
        let seq = unsafe { rmm_bindings::mmu_interval_read_begin(sub.sub.get()) };
        // No fault flags (`default_flags` and `pfn_flags_mask` zero): only
        // a read of the page tables.
        let mut range = rmm_bindings::hmm_range {
            notifier: sub.sub.get(),
            notifier_seq: seq,
            start: start as c_ulong,
            end: (start + out.len() * kernel::page::PAGE_SIZE) as c_ulong,
            hmm_pfns: pfns.as_mut_ptr(),
            default_flags: 0,
            pfn_flags_mask: 0,
            dev_private_owner: core::ptr::null_mut(),
        };
        let ret = {
            let _lock = mm.mmap_read_lock();
            // `pfns` has room for the range's pages, and `mmap_lock` is held.
            // SAFETY: `range` is valid, its notifier inserted on `mm`.
            unsafe { rmm_bindings::hmm_range_fault(&mut range) }
        };
        // `hmm_range_fault()` checks the sequence only between the steps of
        // its walk: an invalidation that began during the last one (a
        // `MADV_DONTNEED` of another thread, which holds `mmap_lock` for
        // reading as we did) may have zapped entries it read. The answer
        // stands only if no invalidation began since `seq` (test_hmm checks
        // the same under its lock before using the pfns).
        // Checked under the lock `invalidate` moves the sequence under: an
        // invalidation that began after the check changes entries only
        // after it, once the walk is over.
        let raced = ret == EBUSY.to_errno() || {
            let _guard = sub.lock.lock();
            // SAFETY: `sub` is inserted, `seq` from its `read_begin`.
            ret == 0 && unsafe { rmm_bindings::rmm_mmu_interval_read_retry(sub.sub.get(), seq) }
        };
        if raced {
            if time::ktime_ms_delta(Ktime::ktime_get(), began) > TIMEOUT_MS {
                return Err(EBUSY);
            }
            continue;
        }
        to_result(ret)?;
        for (o, v) in out.iter_mut().zip(pfns.iter()) {
            *o = decode(*v as u64);
        }
        return Ok(());
    }
}
