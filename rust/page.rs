// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Pages: owned references and locked borrows.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h).
//!
//! The kernel crate's `kernel::page::Page` of 6.12 frees its page with
//! `__free_pages()`, which is only right while nobody else holds a reference.
//! A page that the VM may isolate and migrate is reference counted: these types
//! hold one reference each and give it back with `put_page()`.
//!
//! # Examples
//!
//! `samples/rzpool/zspage.rs` allocates the pages of a zspage
//! ([`NewPage::alloc_movable`]), and `samples/rmirror/dmirror.rs` maps
//! [`ZeroedPage`]s into a process.

use super::bindings as rmm_bindings;
use core::{ffi::c_void, marker::PhantomData, mem::ManuallyDrop, ptr::NonNull};
use kernel::{
    alloc::AllocError,
    bindings,
    error::code::{EFAULT, EINVAL},
    prelude::*,
    uaccess::UserPtr,
};

/// The size of a page in bytes.
pub const PAGE_SIZE: usize = kernel::page::PAGE_SIZE;

/// The `struct page` of a page that its holder keeps allocated: what
/// [`PageRef`], [`NewPage`] and [`super::movable::MovablePage`] share.
///
/// It owns nothing itself and has no `Drop`: each holder says which reference
/// it owns and gives it back. Only code of `rust/` can name it or make one.
///
/// # Invariants
///
/// `0` points to a valid `struct page`, kept valid by a reference that the
/// holder of this object owns, for as long as this object exists.
#[repr(transparent)]
pub(in crate::rmm) struct RawPage(NonNull<bindings::page>);

impl RawPage {
    /// Wraps `page` for a holder that owns a reference on it.
    ///
    /// # Safety
    ///
    /// `page` must point to a valid `struct page`, and the holder of the new
    /// object must own a reference on it for as long as the object exists.
    pub(in crate::rmm) unsafe fn new(page: NonNull<bindings::page>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(page)
    }

    /// Returns the raw `struct page` pointer.
    pub(in crate::rmm) fn as_ptr(&self) -> *mut bindings::page {
        self.0.as_ptr()
    }

    /// Returns the `struct page` pointer, for a holder's `into_raw`.
    pub(in crate::rmm) fn as_non_null(&self) -> NonNull<bindings::page> {
        self.0
    }

    /// Returns the page frame number.
    pub(in crate::rmm) fn pfn(&self) -> usize {
        // SAFETY: the page is valid by the type invariant.
        unsafe { rmm_bindings::rmm_page_to_pfn(self.as_ptr()) as usize }
    }

    /// A new reference to the page, which keeps it allocated after the
    /// holder gives up its own.
    pub(in crate::rmm) fn get_ref(&self) -> PageRef {
        // SAFETY: the page is valid by the type invariant.
        unsafe { rmm_bindings::rmm_get_page(self.as_ptr()) };
        // SAFETY: the reference just taken moves to the `PageRef`.
        unsafe { PageRef::from_raw(self.0) }
    }
}

/// One reference to a page.
///
/// # Invariants
///
/// This object owns one reference on `page`.
pub struct PageRef {
    page: RawPage,
}

// SAFETY: a page reference may be dropped and used from any thread.
unsafe impl Send for PageRef {}
// SAFETY: the `&self` methods only read the page's identity.
unsafe impl Sync for PageRef {}

impl PageRef {
    /// Returns the raw `struct page` pointer.
    pub(in crate::rmm) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// Gives up ownership of the reference, returning the raw pointer.
    pub(in crate::rmm) fn into_raw(self) -> NonNull<bindings::page> {
        ManuallyDrop::new(self).page.as_non_null()
    }

    /// Takes ownership of a page reference.
    ///
    /// # Safety
    ///
    /// `page` must point to a valid `struct page` and the caller must own one
    /// reference on it, which moves to the new object.
    pub(in crate::rmm) unsafe fn from_raw(page: NonNull<bindings::page>) -> Self {
        // INVARIANT: the caller's reference is the new object's.
        Self {
            // SAFETY: that reference keeps the page valid while `Self` exists.
            page: unsafe { RawPage::new(page) },
        }
    }

    /// Takes a new reference to `page`.
    ///
    /// # Safety
    ///
    /// `page` must point to a valid `struct page` whose reference count is
    /// not zero and cannot drop to zero or be frozen during the call (a
    /// page kept mapped, for one).
    pub(in crate::rmm) unsafe fn get(page: NonNull<bindings::page>) -> Self {
        // `get_page()` may take another reference of a page whose count stays above zero.
        // SAFETY: the page is valid, with such a count (caller).
        unsafe { rmm_bindings::rmm_get_page(page.as_ptr()) };
        // SAFETY: the reference just taken moves to the new object.
        unsafe { Self::from_raw(page) }
    }

    /// Returns the page frame number.
    pub fn pfn(&self) -> usize {
        self.page.pfn()
    }

    /// Copies the `len` bytes at `offset` of the page to user space at
    /// `dst`, as `copy_page_to_iter()` would: `EINVAL` unless the range lies
    /// within the page, `EFAULT` unless every byte was copied.
    ///
    /// The page is read as it is: writers that race with the copy (the
    /// page's own process) race as they would with a device's DMA.
    ///
    /// # Context
    ///
    /// May sleep (a fault on `dst`).
    pub(in crate::rmm) fn copy_to_user(&self, offset: usize, dst: UserPtr, len: usize) -> Result {
        check_range(offset, len)?;
        // Undone below, in reverse order of any other local mapping.
        // SAFETY: the page is valid while we hold our reference.
        let base = unsafe { bindings::kmap_local_page(self.as_ptr()) }.cast::<u8>();
        // SAFETY: `offset` is inside the mapped page (checked above).
        let src = unsafe { base.add(offset) };
        // `copy_to_user()` checks `dst` itself; a local mapping may fault.
        // SAFETY: `[src, src + len)` is inside the mapped page (checked above).
        let left = unsafe { bindings::copy_to_user(dst as *mut c_void, src.cast(), len) };
        // SAFETY: `base` was mapped above by this thread.
        unsafe { bindings::kunmap_local(base.cast()) };
        if left != 0 {
            return Err(EFAULT);
        }
        Ok(())
    }
}

impl Drop for PageRef {
    fn drop(&mut self) {
        // SAFETY: we own one reference by the type invariant.
        unsafe { rmm_bindings::rmm_put_page(self.as_ptr()) };
    }
}

/// Flags of a page allocation (`gfp_t`): how it may wait and reclaim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gfp(bindings::gfp_t);

impl Gfp {
    /// May sleep and reclaim (`GFP_KERNEL`).
    pub const KERNEL: Self = Self(bindings::GFP_KERNEL);
    /// Never sleeps nor enters direct reclaim (`GFP_NOWAIT`).
    pub const NOWAIT: Self = Self(bindings::GFP_NOWAIT);

    /// Flags a C caller passed (e.g. through an ops table).
    pub(in crate::rmm) fn from_raw(gfp: bindings::gfp_t) -> Self {
        Self(gfp)
    }

    /// The flags, for a C call.
    pub(in crate::rmm) fn as_raw(self) -> bindings::gfp_t {
        self.0
    }

    /// Whether the allocation may sleep in direct reclaim
    /// (`__GFP_DIRECT_RECLAIM`).
    pub fn can_reclaim(self) -> bool {
        // SAFETY: only tests a bit.
        unsafe { rmm_bindings::rmm_gfpflags_allow_blocking(self.0) }
    }

    /// The flags for a driver's own metadata (`kmalloc`, `kvmalloc`) made
    /// on behalf of a caller that passed these.
    ///
    /// `GFP_KERNEL` if the caller may reclaim, `GFP_NOWAIT` otherwise, never
    /// `__GFP_HIGHMEM` or
    /// `__GFP_MOVABLE` (which slab memory cannot have), and `__GFP_NOWARN`
    /// if the caller asked for it.
    pub fn metadata_flags(self) -> kernel::alloc::Flags {
        use kernel::alloc::flags;
        let base = if self.can_reclaim() {
            flags::GFP_KERNEL
        } else {
            flags::GFP_NOWAIT
        };
        if self.0 & bindings::__GFP_NOWARN != 0 {
            base | flags::__GFP_NOWARN
        } else {
            base
        }
    }
}

/// `flags` with `__GFP_ACCOUNT`: the allocation is charged to the current
/// (or active) memory cgroup.
///
/// The 6.12 kernel crate names the bit only inside `GFP_KERNEL_ACCOUNT`.
pub fn accounted(flags: kernel::alloc::Flags) -> kernel::alloc::Flags {
    use kernel::alloc::flags::{GFP_KERNEL, GFP_KERNEL_ACCOUNT};
    flags | (GFP_KERNEL_ACCOUNT & !GFP_KERNEL)
}

/// A page this module allocated and is the only user of: order 0, one
/// reference (ours), not on the LRU, no `->mapping`, no `->private`.
///
/// Only [`NewPage::alloc_movable`] makes one, and nothing turns a
/// [`PageRef`] (a user page from GUP, say) into one, so only such a page can
/// become a [`super::movable::MovablePage`]: making an LRU, page-cache or
/// compound page movable would overwrite fields the VM owns.
///
/// # Invariants
///
/// `page` is an order-0 page freshly returned by the page allocator: we own
/// its only reference, and its `mapping`, `private` and `index` fields are
/// the allocator's (unused).
pub struct NewPage {
    page: RawPage,
}

// SAFETY: an unshared page may be used and freed from any thread.
unsafe impl Send for NewPage {}

impl NewPage {
    /// Allocates a page for movable use (`__GFP_MOVABLE`, highmem allowed).
    ///
    /// The caller's other GFP flags are [`Gfp::KERNEL`], or [`Gfp::NOWAIT`]
    /// where reclaim is not allowed. `account` charges the page to the
    /// current memory cgroup (`__GFP_ACCOUNT`).
    ///
    /// The contents are whatever the page held before: never let them reach
    /// user space unwritten.
    ///
    /// # Context
    ///
    /// May sleep if `gfp` allows it.
    pub fn alloc_movable(gfp: Gfp, account: bool) -> Result<Self, AllocError> {
        // `__GFP_MOVABLE` puts it in a movable pageblock or `ZONE_MOVABLE`,
        // where compaction and memory offlining look for pages to migrate.
        // Not zeroed: like zsmalloc, the user owns the contents.
        let mut gfp = gfp.0
            | rmm_bindings::RMM_GFP_MOVABLE
            | bindings::__GFP_HIGHMEM
            | bindings::__GFP_NOWARN;
        if account {
            gfp |= rmm_bindings::RMM_GFP_ACCOUNT;
        }
        Self::alloc(gfp)
    }

    /// Allocates a zeroed page for a table.
    ///
    /// The table is read through its kernel address without `kmap` (never
    /// highmem); the page is movable (`__GFP_MOVABLE`), and charged to the
    /// current memory cgroup if `account`.
    ///
    /// # Context
    ///
    /// May sleep (`GFP_KERNEL`).
    pub fn alloc_table(account: bool) -> Result<Self, AllocError> {
        let mut gfp = bindings::GFP_KERNEL
            | rmm_bindings::RMM_GFP_MOVABLE
            | bindings::__GFP_ZERO
            | bindings::__GFP_NOWARN;
        // Without `CONFIG_HIGHMEM` every page has a kernel address, and
        // `__GFP_HIGHMEM | __GFP_MOVABLE` is what lets the page come from
        // `ZONE_MOVABLE` (`__GFP_MOVABLE` alone stays in `ZONE_NORMAL`).
        if !cfg!(CONFIG_HIGHMEM) {
            gfp |= bindings::__GFP_HIGHMEM;
        }
        if account {
            gfp |= rmm_bindings::RMM_GFP_ACCOUNT;
        }
        Self::alloc(gfp)
    }

    /// Allocates an order-0 page with `gfp` (`alloc_page()`).
    fn alloc(gfp: bindings::gfp_t) -> Result<Self, AllocError> {
        // SAFETY: any flags are valid for the allocator; order 0.
        let page = unsafe { bindings::alloc_pages(gfp, 0) };
        let page = NonNull::new(page).ok_or(AllocError)?;
        // INVARIANT: a new order-0 page comes with one reference, now ours,
        // and fields the allocator cleared.
        Ok(Self {
            // SAFETY: our reference keeps the page valid while `Self` exists.
            page: unsafe { RawPage::new(page) },
        })
    }

    /// Returns the raw `struct page` pointer.
    pub(in crate::rmm) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// Gives up ownership of the reference, returning the raw pointer.
    pub(in crate::rmm) fn into_raw(self) -> NonNull<bindings::page> {
        ManuallyDrop::new(self).page.as_non_null()
    }
}

impl Drop for NewPage {
    fn drop(&mut self) {
        // SAFETY: we own the only reference by the type invariant.
        unsafe { rmm_bindings::rmm_put_page(self.as_ptr()) };
    }
}

/// A zeroed kernel page, not movable, for a driver to map into a process
/// ([`super::mm::virt::VmaNew::insert_page`]).
///
/// It is the only kind of page that may be given to user space this way (a
/// [`NewPage`] from
/// [`NewPage::alloc_movable`] holds old contents, and a movable page mapped
/// by a driver could never migrate).
pub struct ZeroedPage(NewPage);

impl ZeroedPage {
    /// Allocates one, charged to the current memory cgroup.
    ///
    /// # Context
    ///
    /// May sleep (`GFP_KERNEL`).
    pub fn alloc() -> Result<Self, AllocError> {
        NewPage::alloc(bindings::GFP_KERNEL_ACCOUNT | bindings::__GFP_ZERO).map(Self)
    }

    /// Returns the raw `struct page` pointer.
    pub(in crate::rmm) fn as_ptr(&self) -> *mut bindings::page {
        self.0.as_ptr()
    }
}

/// A page whose lock is held for the lifetime `'a`.
///
/// C code holds the lock for the whole of a callback: the movable operations
/// receive their pages locked.
///
/// # Invariants
///
/// `page` is a valid `struct page`, locked and referenced for `'a`.
#[derive(Clone, Copy)]
pub struct LockedPage<'a> {
    page: NonNull<bindings::page>,
    _p: PhantomData<&'a bindings::page>,
}

impl<'a> LockedPage<'a> {
    /// Borrows a page that is locked for `'a`.
    ///
    /// # Safety
    ///
    /// `page` must be valid, locked and referenced for the whole of `'a`.
    pub(in crate::rmm) unsafe fn from_raw(page: *mut bindings::page) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            // SAFETY: the caller guarantees a valid, hence non-null, pointer.
            page: unsafe { NonNull::new_unchecked(page) },
            _p: PhantomData,
        }
    }

    /// Returns the raw `struct page` pointer.
    pub(in crate::rmm) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// Returns the page frame number.
    pub fn pfn(&self) -> usize {
        // SAFETY: the page is valid by the type invariant.
        unsafe { rmm_bindings::rmm_page_to_pfn(self.as_ptr()) as usize }
    }

    /// The driver's index word of a movable page (`page->index`), as set by
    /// [`super::movable::MovablePage::new`].
    pub fn index(&self) -> usize {
        // SAFETY: the page is valid by the type invariant.
        unsafe { super::movable::index_of(self.as_ptr()) }
    }

    /// A new reference to the page, which keeps it allocated after the lock
    /// is dropped (e.g. until readers of its old contents are gone).
    pub(in crate::rmm) fn get_ref(&self) -> PageRef {
        // SAFETY: the page is valid by the type invariant.
        unsafe { rmm_bindings::rmm_get_page(self.as_ptr()) };
        // SAFETY: the reference just taken moves to the `PageRef`.
        unsafe { PageRef::from_raw(self.page) }
    }

    /// Whether the VM has isolated the page for migration (`PG_isolated`).
    ///
    /// The flag belongs to the VM: drivers read it, never set or clear it.
    pub fn is_isolated(&self) -> bool {
        // SAFETY: the page is valid by the type invariant.
        unsafe { rmm_bindings::rmm_page_isolated(self.as_ptr()) }
    }
}

/// Checks that `[offset, offset + len)` lies within one page.
pub(in crate::rmm) fn check_range(offset: usize, len: usize) -> Result {
    match offset.checked_add(len) {
        Some(end) if end <= PAGE_SIZE => Ok(()),
        _ => Err(EINVAL),
    }
}

/// Copies `out.len()` bytes at `offset` of `page` into `out`.
///
/// # Safety
///
/// `page` must be valid, and nobody may write the range while it is read.
pub(in crate::rmm) unsafe fn read_page(
    page: *mut bindings::page,
    offset: usize,
    out: &mut [u8],
) -> Result {
    // SAFETY: as our caller guarantees; `out` is valid for writes of its length.
    unsafe { read_page_raw(page, offset, out.as_mut_ptr(), out.len()) }
}

/// Copies `out.len()` bytes at `offset` of `page` into `out`, which need not
/// be initialised: every byte of it is on success.
///
/// # Safety
///
/// As [`read_page`].
pub(in crate::rmm) unsafe fn read_page_uninit(
    page: *mut bindings::page,
    offset: usize,
    out: &mut [core::mem::MaybeUninit<u8>],
) -> Result {
    // SAFETY: as our caller guarantees; `out` is valid for writes of its length.
    unsafe { read_page_raw(page, offset, out.as_mut_ptr().cast(), out.len()) }
}

/// # Safety
///
/// As [`read_page`]; `out` is valid for writes of `len` bytes, and not in
/// the page.
unsafe fn read_page_raw(
    page: *mut bindings::page,
    offset: usize,
    out: *mut u8,
    len: usize,
) -> Result {
    check_range(offset, len)?;
    // The mapping is undone below, in reverse order of any other local mapping.
    // SAFETY: the page is valid (caller).
    let base = unsafe { bindings::kmap_local_page(page) }.cast::<u8>();
    // `[offset, offset + len)` is inside the mapped page (checked above).
    // SAFETY: in bounds; no concurrent writer (caller); `out` is another buffer.
    unsafe { core::ptr::copy_nonoverlapping(base.add(offset), out, len) };
    // SAFETY: `base` was mapped above by this thread.
    unsafe { bindings::kunmap_local(base.cast()) };
    Ok(())
}

/// Copies `data` into `page` at `offset`.
///
/// # Safety
///
/// `page` must be valid, and nobody else may access the range meanwhile.
pub(in crate::rmm) unsafe fn write_page(
    page: *mut bindings::page,
    offset: usize,
    data: &[u8],
) -> Result {
    check_range(offset, data.len())?;
    // SAFETY: as in `read_page`.
    let base = unsafe { bindings::kmap_local_page(page) }.cast::<u8>();
    // SAFETY: in bounds (checked above); no other access (caller); `data` is another buffer.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), base.add(offset), data.len()) };
    // SAFETY: `base` was mapped above by this thread.
    unsafe { bindings::kunmap_local(base.cast()) };
    // What the kernel wrote may be mapped to user space: as `memcpy_to_page()`.
    // SAFETY: the page is valid (caller).
    unsafe { rmm_bindings::rmm_flush_dcache_page(page) };
    Ok(())
}
