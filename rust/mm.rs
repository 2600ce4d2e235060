// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Address spaces: `struct mm_struct`, its `mmap_lock`, GUP and its VMAs.
//!
//! C headers: [`include/linux/sched/mm.h`](srctree/include/linux/sched/mm.h),
//! [`include/linux/mmap_lock.h`](srctree/include/linux/mmap_lock.h),
//! [`include/linux/mm.h`](srctree/include/linux/mm.h) (`get_user_pages_remote()`,
//! `get_user_pages_fast()`).
//!
//! An `mm_struct` has two counts: `mm_count` keeps the structure allocated,
//! `mm_users` keeps the address space (its VMAs and page tables). [`Mm`] is
//! the structure, `ARef<Mm>` holds the first count; [`MmWithUser`] is an
//! address space whose users are known to be non-zero, and
//! `ARef<MmWithUser>` holds the second, which is what faulting pages in
//! requires. The names and shapes are those of mainline's `kernel::mm`
//! (newer than 6.12), and [`virt`] is its `kernel::mm::virt`.
//!
//! # Examples
//!
//! `selftests/compile_pass/invalidate_seq.rs` (`fault_in()`): the caller's
//! address space ([`MmWithUser::current`]), its `mmap_lock` and one page
//! faulted in; `samples/rmirror/dmirror.rs` maps pages into a new VMA
//! ([`virt::VmaNew`]).

#[path = "mm/virt.rs"]
pub mod virt;

use super::bindings as rmm_bindings;
use super::page::PageRef;
use core::{marker::PhantomData, ops::Deref, ptr::NonNull};
use kernel::{
    bindings,
    error::code::{EFAULT, EPERM},
    ffi::c_long,
    prelude::*,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use virt::VmaRef;

/// The most pages one call of a `get_user_pages()` method faults in: the
/// array GUP fills is on the stack.
const GUP_BATCH: usize = 64;

/// An address space's `struct mm_struct`, kept allocated (`mm_count`).
///
/// Whether the address space itself (its VMAs and page tables) is still
/// there is not known: [`Mm::mmget_not_zero`] gives an [`MmWithUser`] if
/// it is. `ARef<Mm>` holds an `mmgrab()` reference; dropping it may sleep.
///
/// # Invariants
///
/// Values of this type are always refcounted with `mmgrab()`.
#[repr(transparent)]
pub struct Mm {
    mm: Opaque<bindings::mm_struct>,
}

// SAFETY: `mmdrop()` may be called from any thread.
unsafe impl Send for Mm {}
// SAFETY: the `&self` methods are safe to call concurrently.
unsafe impl Sync for Mm {}

// SAFETY: by the type invariant, `mm_count` keeps the structure allocated.
unsafe impl AlwaysRefCounted for Mm {
    fn inc_ref(&self) {
        // SAFETY: `self` is a valid `mm_struct`, kept allocated while borrowed.
        unsafe { rmm_bindings::rmm_mmgrab(self.as_raw()) };
    }

    /// Drops an `mmgrab()` reference (`mmdrop()`): may free the structure.
    ///
    /// # Safety
    ///
    /// As [`AlwaysRefCounted::dec_ref`]: the caller owns the reference it
    /// gives up, and `obj` is not used afterwards.
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up one `mmgrab()` reference.
        unsafe { rmm_bindings::rmm_mmdrop(obj.cast().as_ptr()) };
    }
}

/// An address space whose users (`mm_users`) are non-zero.
///
/// `ARef<MmWithUser>` holds a users reference (`mmget()`/`mmput()`); its
/// drop may tear the address space down, and may sleep. Every method of
/// [`Mm`] is available through `Deref`.
///
/// # Invariants
///
/// Values of this type are always refcounted with `mmget()`: `mm_users` is
/// non-zero while one is borrowed.
#[repr(transparent)]
pub struct MmWithUser {
    mm: Mm,
}

// SAFETY: `mmput()` may be called from any thread.
unsafe impl Send for MmWithUser {}
// SAFETY: the `&self` methods are safe to call concurrently.
unsafe impl Sync for MmWithUser {}

// SAFETY: by the type invariant, `mm_users` counts the references.
unsafe impl AlwaysRefCounted for MmWithUser {
    fn inc_ref(&self) {
        // SAFETY: `self` has users while borrowed (type invariant).
        unsafe { rmm_bindings::rmm_mmget(self.as_raw()) };
    }

    /// Drops a users reference (`mmput()`): may tear the address space
    /// down, and may sleep.
    ///
    /// # Safety
    ///
    /// As [`AlwaysRefCounted::dec_ref`]: the caller owns the reference it
    /// gives up, and `obj` is not used afterwards.
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up one users reference.
        unsafe { bindings::mmput(obj.cast().as_ptr()) };
    }
}

impl Deref for MmWithUser {
    type Target = Mm;

    fn deref(&self) -> &Mm {
        &self.mm
    }
}

// Usable whether or not the address space still has users.
impl Mm {
    /// Returns the raw pointer.
    pub fn as_raw(&self) -> *mut bindings::mm_struct {
        self.mm.get()
    }

    /// Borrows the `mm_struct` at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an `mm_struct` kept allocated (`mm_count`) for
    /// `'a`.
    pub unsafe fn from_raw<'a>(ptr: *const bindings::mm_struct) -> &'a Mm {
        // SAFETY: valid for `'a` (caller); `Mm` is a transparent `mm_struct`.
        unsafe { &*ptr.cast() }
    }

    /// Takes a users reference unless the address space is already gone
    /// (`mmget_not_zero()`).
    pub fn mmget_not_zero(&self) -> Option<ARef<MmWithUser>> {
        // SAFETY: `self` is allocated while borrowed.
        if unsafe { rmm_bindings::rmm_mmget_not_zero(self.as_raw()) } {
            let mm = NonNull::from(self).cast::<MmWithUser>();
            // INVARIANT: we just took a users reference.
            // SAFETY: that reference is the one the `ARef` owns.
            Some(unsafe { ARef::from_raw(mm) })
        } else {
            None
        }
    }

    /// Whether this is the calling task's own address space.
    pub fn is_current(&self) -> bool {
        // SAFETY: `current` is always valid; only reads its `mm` pointer.
        let mm = unsafe { rmm_bindings::rmm_current_mm() };
        mm == self.as_raw()
    }
}

// These need `mm_users` to be non-zero.
impl MmWithUser {
    /// The address space of the calling task, if it has one (kernel threads
    /// do not).
    pub fn current() -> Option<ARef<Self>> {
        // SAFETY: the helper calls `get_task_mm(current)`.
        let mm = unsafe { rmm_bindings::rmm_get_current_mm() };
        // INVARIANT: `get_task_mm()` returns a reference on `mm_users`.
        // SAFETY: that reference is the one the `ARef` owns.
        NonNull::new(mm).map(|mm| unsafe { ARef::from_raw(mm.cast()) })
    }

    /// Borrows the address space at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an `mm_struct` whose `mm_users` stays non-zero
    /// for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *const bindings::mm_struct) -> &'a MmWithUser {
        // SAFETY: valid for `'a` (caller); `MmWithUser` is a transparent `mm_struct`.
        unsafe { &*ptr.cast() }
    }

    /// Faults in up to `out.len()` pages from `addr` (at most 64), as
    /// [`MmapReadGuard::get_user_pages`] does, and takes `mmap_lock` itself
    /// only where it must.
    ///
    /// In the calling task's own address space this is
    /// `get_user_pages_fast()`: pages mapped with the needed permission are
    /// found by a lockless walk of the page tables, with no `mmap_lock`, no
    /// VMA lookup and no `FOLL_TOUCH` (the CPU's accessed bits are the CPU's;
    /// a device's access sets its own), and the rest are faulted in under
    /// `mmap_lock` as [`MmapReadGuard::get_user_pages`] does. Any other
    /// address space is read under `mmap_lock`. Returns how many pages, as
    /// that method does; `EFAULT` if the first page is not mapped with the
    /// needed permission.
    ///
    /// # Context
    ///
    /// May sleep; `mmap_lock` must not be held.
    pub fn get_user_pages(
        &self,
        addr: usize,
        write: bool,
        out: &mut [Option<PageRef>],
    ) -> Result<usize> {
        if !self.is_current() {
            return self.mmap_read_lock().get_user_pages(addr, write, out);
        }
        let mut raw = [core::ptr::null_mut::<bindings::page>(); GUP_BATCH];
        let n = out.len().min(GUP_BATCH);
        let flags = if write { bindings::FOLL_WRITE } else { 0 };
        // `raw` has room for `n` pages, and `addr` is in the calling task's
        // own address space, the only one `get_user_pages_fast()` walks.
        // SAFETY: `mm` has users (type invariant), and is `current->mm`.
        let ret = unsafe {
            bindings::get_user_pages_fast(addr as _, n as _, flags as _, raw.as_mut_ptr())
        };
        // SAFETY: `get_user_pages_fast()` returned `ret` for `n` pages into `raw`.
        unsafe { gup_result(ret as c_long, &raw[..n], out) }
    }

    /// Takes `mmap_lock` for reading.
    ///
    /// # Context
    ///
    /// May sleep.
    pub fn mmap_read_lock(&self) -> MmapReadGuard<'_> {
        // SAFETY: `mm` has users while borrowed (type invariant).
        unsafe { rmm_bindings::rmm_mmap_read_lock(self.as_raw()) };
        // INVARIANT: the lock is held until the guard drops.
        MmapReadGuard {
            mm: self,
            _nts: PhantomData,
        }
    }
}

/// `mmap_lock` held for reading.
///
/// # Invariants
///
/// We hold `mm`'s `mmap_lock` for reading.
pub struct MmapReadGuard<'a> {
    mm: &'a MmWithUser,
    // `mmap_read_unlock()` must run on the thread that locked: `!Send`
    // (mainline's `NotThreadSafe`, which 6.12's kernel crate lacks).
    _nts: PhantomData<*mut ()>,
}

impl MmapReadGuard<'_> {
    /// The VMA that contains `addr`, if any (`vma_lookup()`).
    ///
    /// The VMA can be used while the lock is held, which the borrow of the
    /// guard enforces.
    pub fn vma_lookup(&self, addr: usize) -> Option<&VmaRef> {
        // SAFETY: `mm` has users and its `mmap_lock` is held (type invariant).
        let vma = unsafe { rmm_bindings::rmm_vma_lookup(self.mm.as_raw(), addr as _) };
        if vma.is_null() {
            None
        } else {
            // The VMA stays while the `mmap_lock` is held (type invariant),
            // that is while `self` is borrowed.
            // SAFETY: as just said; `vma` is valid.
            Some(unsafe { VmaRef::from_raw(vma) })
        }
    }
}

impl MmapReadGuard<'_> {
    /// Faults the page at `addr` in, as a CPU access would (a write breaks
    /// copy-on-write and dirties the PTE), and returns a reference on it.
    ///
    /// `EFAULT` if `addr` is not mapped with the needed permission.
    pub fn get_user_page(&self, addr: usize, write: bool) -> Result<PageRef> {
        let flags = if write { bindings::FOLL_WRITE } else { 0 };
        let mut page: *mut bindings::page = core::ptr::null_mut();
        // `page` has room for one page; a null `locked` keeps the lock held.
        // SAFETY: `mm` has users and its `mmap_lock` is held (type invariant).
        let ret = unsafe {
            bindings::get_user_pages_remote(
                self.mm.as_raw(),
                addr as _,
                1,
                flags as _,
                &mut page,
                core::ptr::null_mut(),
            )
        };
        if ret < 0 {
            return Err(Error::from_errno(ret as i32));
        }
        match NonNull::new(page) {
            // SAFETY: GUP returned one page with a reference that is ours.
            Some(page) if ret == 1 => Ok(unsafe { PageRef::from_raw(page) }),
            _ => Err(EFAULT),
        }
    }
}

impl MmapReadGuard<'_> {
    /// Faults in up to `out.len()` pages from `addr` (at most 64) and stores
    /// a reference to each in `out`, as [`Self::get_user_page`] does for one.
    ///
    /// Returns how many: fewer when the range stops being mapped with the
    /// needed permission, `EFAULT` if the first page is not.
    pub fn get_user_pages(
        &self,
        addr: usize,
        write: bool,
        out: &mut [Option<PageRef>],
    ) -> Result<usize> {
        let mut raw = [core::ptr::null_mut::<bindings::page>(); GUP_BATCH];
        let n = out.len().min(GUP_BATCH);
        let flags = if write { bindings::FOLL_WRITE } else { 0 };
        // `raw` has room for `n` pages; a null `locked` keeps the lock held.
        // SAFETY: `mm` has users and its `mmap_lock` is held (type invariant).
        let ret = unsafe {
            bindings::get_user_pages_remote(
                self.mm.as_raw(),
                addr as _,
                n as _,
                flags as _,
                raw.as_mut_ptr(),
                core::ptr::null_mut(),
            )
        };
        // SAFETY: `get_user_pages_remote()` returned `ret` for `n` pages into `raw`.
        unsafe { gup_result(ret, &raw[..n], out) }
    }
}

/// Takes what a GUP call returned for the pages of `raw`: its errno, or
/// its pages, each stored as a [`PageRef`] in the slot of `out` at the same
/// index (the slots past them are left as they are).
///
/// Returns how many pages, or `EFAULT` if there are none.
///
/// # Safety
///
/// `ret` is what `get_user_pages_remote()` or `get_user_pages_fast()`
/// returned for `raw.len()` pages into `raw`, and `out` is at least as long
/// as `raw`. That is a negative errno, or how many of the first entries of
/// `raw` are pages, each with a reference that the caller owns and gives up
/// here (a partial result too: GUP leaves the references it took to its
/// caller, to put).
unsafe fn gup_result(
    ret: c_long,
    raw: &[*mut bindings::page],
    out: &mut [Option<PageRef>],
) -> Result<usize> {
    if ret < 0 {
        return Err(Error::from_errno(ret as i32));
    }
    let got = (ret as usize).min(raw.len());
    for (slot, page) in out.iter_mut().zip(&raw[..got]) {
        // SAFETY: GUP returned these pages, each with a reference that is ours (safety contract).
        *slot = NonNull::new(*page).map(|p| unsafe { PageRef::from_raw(p) });
    }
    if got == 0 {
        return Err(EFAULT);
    }
    Ok(got)
}

impl MmapReadGuard<'_> {
    /// Checks that `[start, end)` is mapped for a device access, as
    /// `hmm_range_fault()` does.
    ///
    /// `EFAULT` where no VMA is, or one that is not readable or is I/O or raw
    /// PFN memory; `EPERM` for a write where a VMA is not writable.
    pub fn check_access(&self, start: usize, end: usize, write: bool) -> Result {
        use virt::flags;
        let mut addr = start;
        while addr < end {
            let vma = self.vma_lookup(addr).ok_or(EFAULT)?;
            let vm_flags = vma.flags();
            if vm_flags & flags::READ == 0 || vm_flags & (flags::IO | flags::PFNMAP) != 0 {
                return Err(EFAULT);
            }
            if write && vm_flags & flags::WRITE == 0 {
                return Err(EPERM);
            }
            addr = vma.end();
        }
        Ok(())
    }
}

impl Drop for MmapReadGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: we hold the lock for reading (type invariant).
        unsafe { rmm_bindings::rmm_mmap_read_unlock(self.mm.as_raw()) };
    }
}
