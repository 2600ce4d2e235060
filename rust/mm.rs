// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Address spaces: `struct mm_struct` with a reference on its users.
//!
//! C headers: [`include/linux/sched/mm.h`](srctree/include/linux/sched/mm.h),
//! [`include/linux/mmap_lock.h`](srctree/include/linux/mmap_lock.h),
//! [`include/linux/mm.h`](srctree/include/linux/mm.h) (`get_user_pages_remote()`,
//! `get_user_pages_fast()`).
//!
//! An `mm_struct` has two counts: `mm_count` keeps the structure allocated,
//! `mm_users` keeps the address space (its VMAs and page tables). [`MmUser`]
//! holds the second, which is what faulting pages in requires.
//!
//! # Examples
//!
//! `selftests/compile_pass/invalidate_seq.rs` (`fault_in()`): the caller's
//! address space ([`MmUser::current`]), its `mmap_lock` and one page faulted
//! in; `samples/rmirror/dmirror.rs` maps pages into a new VMA.

use super::bindings as rmm_bindings;
use super::page::{PageRef, ZeroedPage};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    error::code::{EFAULT, EPERM},
    prelude::*,
};

/// An address space whose users count we hold (`mmget`/`mmput`).
///
/// # Invariants
///
/// `mm` is valid and we own one reference on its `mm_users`.
pub struct MmUser {
    mm: NonNull<bindings::mm_struct>,
}

// SAFETY: `mmput()` may be called from any thread.
unsafe impl Send for MmUser {}
// SAFETY: the `&self` methods are safe to call concurrently.
unsafe impl Sync for MmUser {}

impl MmUser {
    /// The address space of the calling task, if it has one (kernel threads
    /// do not).
    pub fn current() -> Option<Self> {
        // SAFETY: the helper calls `get_task_mm(current)`.
        let mm = unsafe { rmm_bindings::rmm_get_current_mm() };
        // INVARIANT: `get_task_mm()` returns a reference on `mm_users`.
        NonNull::new(mm).map(|mm| Self { mm })
    }

    /// Takes a users reference on `mm` unless its address space is already
    /// gone (`mmget_not_zero()`).
    ///
    /// # Safety
    ///
    /// `mm` must point to an `mm_struct` kept allocated (`mm_count`) for the
    /// duration of the call.
    pub(in crate::rmm) unsafe fn get_not_zero(mm: *mut bindings::mm_struct) -> Option<Self> {
        // SAFETY: `mm` is allocated (caller).
        if unsafe { rmm_bindings::rmm_mmget_not_zero(mm) } {
            // SAFETY: `mm` is valid, so non-null.
            let mm = unsafe { NonNull::new_unchecked(mm) };
            // INVARIANT: we just took a users reference.
            Some(Self { mm })
        } else {
            None
        }
    }

    /// Returns the raw pointer.
    pub(in crate::rmm) fn as_ptr(&self) -> *mut bindings::mm_struct {
        self.mm.as_ptr()
    }

    /// Whether this is the calling task's own address space.
    pub fn is_current(&self) -> bool {
        // SAFETY: `current` is always valid; only reads its `mm` pointer.
        let mm = unsafe { rmm_bindings::rmm_current_mm() };
        mm == self.as_ptr()
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
        const BATCH: usize = 64;
        if !self.is_current() {
            return self.read_lock().get_user_pages(addr, write, out);
        }
        let mut raw = [core::ptr::null_mut::<bindings::page>(); BATCH];
        let n = out.len().min(BATCH);
        let flags = if write { bindings::FOLL_WRITE } else { 0 };
        // `raw` has room for `n` pages, and `addr` is in the calling task's
        // own address space, the only one `get_user_pages_fast()` walks.
        // SAFETY: `mm` has users (type invariant), and is `current->mm`.
        let ret = unsafe {
            bindings::get_user_pages_fast(addr as _, n as _, flags as _, raw.as_mut_ptr())
        };
        if ret < 0 {
            return Err(Error::from_errno(ret as i32));
        }
        let got = (ret as usize).min(n);
        for (slot, page) in out.iter_mut().zip(&raw[..got]) {
            // SAFETY: GUP returned these pages, each with a reference that is ours.
            *slot = NonNull::new(*page).map(|p| unsafe { PageRef::from_raw(p) });
        }
        if got == 0 {
            return Err(EFAULT);
        }
        Ok(got)
    }

    /// Takes `mmap_lock` for reading.
    ///
    /// # Context
    ///
    /// May sleep.
    pub fn read_lock(&self) -> MmapReadGuard<'_> {
        // SAFETY: `mm` is valid by the type invariant.
        unsafe { rmm_bindings::rmm_mmap_read_lock(self.as_ptr()) };
        // INVARIANT: the lock is held until the guard drops.
        MmapReadGuard {
            mm: self.mm,
            _p: PhantomData,
        }
    }
}

impl Drop for MmUser {
    /// Drops the users reference: may tear the address space down, and may
    /// sleep.
    fn drop(&mut self) {
        // SAFETY: we own one users reference.
        unsafe { bindings::mmput(self.as_ptr()) };
    }
}

/// `mmap_lock` held for reading.
///
/// # Invariants
///
/// We hold `mm`'s `mmap_lock` for reading, and `mm` has users for `'a`.
pub struct MmapReadGuard<'a> {
    mm: NonNull<bindings::mm_struct>,
    _p: PhantomData<&'a MmUser>,
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
                self.mm.as_ptr(),
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
    /// Faults in up to `out.len()` pages from `addr` and stores a reference
    /// to each in `out`, as [`Self::get_user_page`] does for one.
    ///
    /// Returns how many: fewer when the range stops being mapped with the
    /// needed permission, `EFAULT` if the first page is not.
    pub fn get_user_pages(
        &self,
        addr: usize,
        write: bool,
        out: &mut [Option<PageRef>],
    ) -> Result<usize> {
        const BATCH: usize = 64;
        let mut raw = [core::ptr::null_mut::<bindings::page>(); BATCH];
        let n = out.len().min(BATCH);
        let flags = if write { bindings::FOLL_WRITE } else { 0 };
        // `raw` has room for `n` pages; a null `locked` keeps the lock held.
        // SAFETY: `mm` has users and its `mmap_lock` is held (type invariant).
        let ret = unsafe {
            bindings::get_user_pages_remote(
                self.mm.as_ptr(),
                addr as _,
                n as _,
                flags as _,
                raw.as_mut_ptr(),
                core::ptr::null_mut(),
            )
        };
        if ret < 0 {
            return Err(Error::from_errno(ret as i32));
        }
        let got = (ret as usize).min(n);
        for (slot, page) in out.iter_mut().zip(&raw[..got]) {
            // SAFETY: GUP returned these pages, each with a reference that is ours.
            *slot = NonNull::new(*page).map(|p| unsafe { PageRef::from_raw(p) });
        }
        if got == 0 {
            return Err(EFAULT);
        }
        Ok(got)
    }
}

impl MmapReadGuard<'_> {
    /// Checks that `[start, end)` is mapped for a device access, as
    /// `hmm_range_fault()` does.
    ///
    /// `EFAULT` where no VMA is, or one that is not readable or is I/O or raw
    /// PFN memory; `EPERM` for a write where a VMA is not writable.
    pub fn check_access(&self, start: usize, end: usize, write: bool) -> Result {
        let mut addr = start;
        while addr < end {
            // SAFETY: `mm` has users and its `mmap_lock` is held (type invariant).
            let vma = unsafe { rmm_bindings::rmm_vma_lookup(self.mm.as_ptr(), addr as _) };
            if vma.is_null() {
                return Err(EFAULT);
            }
            // The VMA stays while the `mmap_lock` is held (type invariant).
            // SAFETY: as just said; only reads two of its fields.
            let (vm_end, flags) = unsafe {
                (
                    rmm_bindings::rmm_vma_end(vma),
                    rmm_bindings::rmm_vma_flags(vma),
                )
            };
            let flags = flags as u64;
            let bad = (rmm_bindings::VM_IO | rmm_bindings::VM_PFNMAP) as u64;
            if flags & rmm_bindings::VM_READ as u64 == 0 || flags & bad != 0 {
                return Err(EFAULT);
            }
            if write && flags & rmm_bindings::VM_WRITE as u64 == 0 {
                return Err(EPERM);
            }
            addr = vm_end;
        }
        Ok(())
    }
}

impl Drop for MmapReadGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: we hold the lock for reading (type invariant).
        unsafe { rmm_bindings::rmm_mmap_read_unlock(self.mm.as_ptr()) };
    }
}

/// A VMA being set up by a driver's `mmap` (`mmap_lock` held for writing).
///
/// # Invariants
///
/// `vma` is valid, and being set up by `mmap_region()` under `mmap_lock`
/// held for writing, for `'a`.
pub struct NewVma<'a> {
    vma: NonNull<bindings::vm_area_struct>,
    _p: PhantomData<&'a bindings::vm_area_struct>,
}

impl<'a> NewVma<'a> {
    /// # Safety
    ///
    /// `vma` is a VMA being set up in an `mmap` file operation, for `'a`.
    pub(in crate::rmm) unsafe fn from_raw(vma: *mut bindings::vm_area_struct) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            // SAFETY: a valid pointer is not null (caller).
            vma: unsafe { NonNull::new_unchecked(vma) },
            _p: PhantomData,
        }
    }

    /// The first address of the mapping.
    pub fn start(&self) -> usize {
        // SAFETY: valid for `'a` (type invariant); the bounds do not change in `mmap`.
        unsafe {
            (*self.vma.as_ptr())
                .__bindgen_anon_1
                .__bindgen_anon_1
                .vm_start
        }
    }

    /// The address just past the mapping.
    pub fn end(&self) -> usize {
        // SAFETY: as in `start`.
        unsafe {
            (*self.vma.as_ptr())
                .__bindgen_anon_1
                .__bindgen_anon_1
                .vm_end
        }
    }

    /// Maps `page` at `addr` (`vm_insert_page()`).
    ///
    /// The mapping becomes `VM_MIXEDMAP` and takes a reference of its own:
    /// the page stays until the mapping goes. `EFAULT` outside the mapping.
    pub fn insert_page(&self, addr: usize, page: ZeroedPage) -> Result {
        if addr < self.start() || addr >= self.end() || addr % super::page::PAGE_SIZE != 0 {
            return Err(EFAULT);
        }
        let (vma, raw) = (self.vma.as_ptr(), page.as_ptr());
        // A fresh zeroed order-0 page of ours is what `vm_insert_page()`
        // takes; the VMA is being set up under `mmap_lock` for writing (type
        // invariant).
        // SAFETY: both are valid.
        let ret = unsafe { rmm_bindings::vm_insert_page(vma, addr as _, raw) };
        kernel::error::to_result(ret)
    }
}
