// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Virtual memory areas: `struct vm_area_struct`.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h).
//!
//! Each type is a VMA with what its holder may do to it: [`VmaRef`] is read
//! under `mmap_lock` ([`super::MmapReadGuard::vma_lookup`]), [`VmaNew`] is
//! being set up by a driver's `mmap` and may be filled. The names and
//! shapes are those of mainline's `kernel::mm::virt` (newer than 6.12).
//!
//! # Examples
//!
//! `samples/rmirror/dmirror.rs` (`mmap`) fills a [`VmaNew`];
//! [`super::MmapReadGuard::check_access`] reads the flags of [`VmaRef`]s.

use crate::rmm::{
    bindings as rmm_bindings,
    page::{ZeroedPage, PAGE_SIZE},
};
use core::ops::Deref;
use kernel::{
    bindings,
    error::{code::EFAULT, to_result},
    prelude::*,
    types::Opaque,
};

/// A VMA read under its address space's `mmap_lock`.
///
/// # Invariants
///
/// While a `&VmaRef` is used, the VMA is valid and the `mmap_lock` of its
/// `mm` is held (for reading or writing).
#[repr(transparent)]
pub struct VmaRef {
    vma: Opaque<bindings::vm_area_struct>,
}

impl VmaRef {
    /// Borrows the VMA at `vma`.
    ///
    /// # Safety
    ///
    /// `vma` must be a valid VMA whose address space's `mmap_lock` is held
    /// (for reading or writing) for `'a`.
    pub unsafe fn from_raw<'a>(vma: *const bindings::vm_area_struct) -> &'a Self {
        // SAFETY: valid for `'a` (caller); `VmaRef` is a transparent `vm_area_struct`.
        unsafe { &*vma.cast() }
    }

    /// Returns the raw pointer.
    pub fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        self.vma.get()
    }

    /// The flags of the VMA, a combination of [`flags`].
    pub fn flags(&self) -> vm_flags_t {
        // SAFETY: valid, and `mmap_lock` is held (type invariant): not a data race.
        unsafe { (*self.as_ptr()).__bindgen_anon_2.vm_flags }
    }

    /// The first address of the VMA.
    pub fn start(&self) -> usize {
        // SAFETY: valid, and `mmap_lock` is held (type invariant): not a data race.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// The address just past the VMA.
    pub fn end(&self) -> usize {
        // SAFETY: valid, and `mmap_lock` is held (type invariant): not a data race.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }
}

/// A VMA being set up by a driver's `mmap` (`mmap_lock` held for writing).
///
/// Every method of [`VmaRef`] is available through `Deref`.
///
/// # Invariants
///
/// While a `&VmaNew` is used, the VMA is being set up by `mmap_region()`,
/// in a file's `mmap` operation, under `mmap_lock` held for writing.
#[repr(transparent)]
pub struct VmaNew {
    vma: VmaRef,
}

impl Deref for VmaNew {
    type Target = VmaRef;

    fn deref(&self) -> &VmaRef {
        &self.vma
    }
}

impl VmaNew {
    /// Borrows the VMA at `vma`, being set up.
    ///
    /// # Safety
    ///
    /// `vma` must be a VMA being set up in an `mmap` file operation, for
    /// `'a`.
    pub unsafe fn from_raw<'a>(vma: *mut bindings::vm_area_struct) -> &'a Self {
        // SAFETY: valid for `'a` (caller); `VmaNew` is a transparent `vm_area_struct`.
        unsafe { &*vma.cast() }
    }

    /// Maps `page` at `addr` (`vm_insert_page()`).
    ///
    /// The mapping becomes `VM_MIXEDMAP` and takes a reference of its own:
    /// the page stays until the mapping goes. `EFAULT` outside the mapping.
    pub fn insert_page(&self, addr: usize, page: ZeroedPage) -> Result {
        if addr < self.start() || addr >= self.end() || addr % PAGE_SIZE != 0 {
            return Err(EFAULT);
        }
        let (vma, raw) = (self.as_ptr(), page.as_ptr());
        // A fresh zeroed order-0 page of ours is what `vm_insert_page()`
        // takes; the VMA is being set up under `mmap_lock` for writing (type
        // invariant).
        // SAFETY: both are valid.
        let ret = unsafe { rmm_bindings::vm_insert_page(vma, addr as _, raw) };
        to_result(ret)
    }
}

/// The integer type of VMA flags.
pub use bindings::vm_flags_t;

/// The VMA flags rmm reads (mainline's `kernel::mm::virt::flags`).
pub mod flags {
    use super::vm_flags_t;
    use crate::rmm::bindings as rmm_bindings;

    /// Mapping allows reads.
    pub const READ: vm_flags_t = rmm_bindings::VM_READ as vm_flags_t;

    /// Mapping allows writes.
    pub const WRITE: vm_flags_t = rmm_bindings::VM_WRITE as vm_flags_t;

    /// Memory mapped I/O or similar.
    pub const IO: vm_flags_t = rmm_bindings::VM_IO as vm_flags_t;

    /// Page ranges managed without `struct page`, just pure PFN.
    pub const PFNMAP: vm_flags_t = rmm_bindings::VM_PFNMAP as vm_flags_t;
}
