// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! zpool drivers: a Rust object pool as a backend of zswap.
//!
//! C headers: [`include/linux/zpool.h`](srctree/include/linux/zpool.h),
//! [`mm/zpool.c`](srctree/mm/zpool.c).
//!
//! zswap stores its compressed pages through the zpool API; zsmalloc, zbud
//! and z3fold are its C drivers. A type that implements [`ZpoolDriver`]
//! becomes one with [`Driver::new`]: its `struct zpool_driver` is a copy of a
//! constant table of callbacks that call the trait, with the module as
//! `owner` (so that a pool in use pins the module); [`Driver::register`],
//! which cannot fail and so can be the last step of a module's init,
//! registers it until the [`Registration`] is dropped.
//!
//! # Mapping
//!
//! `zpool_map_handle()` returns a pointer the caller reads or writes until
//! `zpool_unmap_handle()`. A driver does not hand out pointers: its
//! [`ZpoolDriver::map`] returns where the object is, as one or two
//! [`Piece`]s of pages, each holding a page reference. This module makes the
//! pointer: an object inside one page is mapped in place (`kmap_local_page`);
//! one that spans two pages is copied into a per-CPU buffer (unless the mode
//! is write-only) and copied back on unmap (unless it is read-only). So the
//! pointer stays valid until unmap whatever the driver does meanwhile: the
//! pages cannot be freed under it (their references are held), and the buffer
//! is this CPU's.
//!
//! As with zsmalloc, a mapping disables preemption until its unmap: nothing
//! may sleep while an object is mapped (`sleep_mapped` is false), only one
//! object may be mapped per CPU at a time (a second map returns `NULL`), and
//! mappings are made from task context only (`NULL` otherwise).
//!
//! A piece claims its page for the mapping ([`MovablePage::claim_mapped`]),
//! with a page reference. The reference keeps the object where it is:
//! [`super::movable::Migration::commit`] refuses (`-EAGAIN`) a page that has
//! references beyond its owner's and the migration's, so a mapped object's
//! page never moves under the mapping. The claim keeps the driver's own
//! hands off the page meanwhile: its [`MovablePage::read`] and
//! [`MovablePage::write`] fail with `EBUSY` until unmap, so no byte the
//! caller may be writing is read or written at the same time (a driver that
//! moves objects itself skips such pages; [`MovablePage::is_pinned`] tells
//! it which ones may fail).
//!
//! # Examples
//!
//! `samples/rzpool/zpool.rs` implements [`ZpoolDriver`] for zswap, and
//! `samples/rzpool/rzpool_main.rs` registers it as the last step of its init.

use super::{
    bindings as rmm_bindings,
    movable::{MapClaim, MovableOperations, MovablePage},
    page::{Gfp, PAGE_SIZE},
};
use core::{
    cell::UnsafeCell,
    ffi::c_void,
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr::{self, NonNull},
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    alloc::{KVVec, KVec},
    bindings,
    error::code::{EBUSY, EINVAL},
    prelude::*,
    str::CStr,
    sync::{Arc, ArcBorrow},
    types::Opaque,
    ThisModule,
};

/// How a mapped object will be used (`enum zpool_mapmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapMode {
    /// Read only: a spanning object is not copied back on unmap.
    ReadOnly,
    /// Write only: a spanning object is not copied in on map.
    WriteOnly,
    /// Read and write.
    ReadWrite,
}

impl MapMode {
    fn from_raw(mm: rmm_bindings::zpool_mapmode) -> Self {
        match mm {
            rmm_bindings::zpool_mapmode_ZPOOL_MM_RO => Self::ReadOnly,
            rmm_bindings::zpool_mapmode_ZPOOL_MM_WO => Self::WriteOnly,
            _ => Self::ReadWrite,
        }
    }

    fn reads(self) -> bool {
        self != Self::WriteOnly
    }

    fn writes(self) -> bool {
        self != Self::ReadOnly
    }
}

/// `len` bytes at `offset` of a page, claimed for a mapping.
///
/// # Invariants
///
/// `[offset, offset + len)` lies within the page, and `len > 0`.
pub struct Piece {
    page: MapClaim,
    // `u32`: a page is at most 256 KiB; a smaller `Object` is cheaper to
    // move on zswap's hot path.
    offset: u32,
    len: u32,
}

impl Piece {
    /// Claims the bytes `[offset, offset + len)` of `page` for a mapping.
    ///
    /// While the piece lives, [`MovablePage::read`] and
    /// [`MovablePage::write`] of the page fail with `EBUSY`,
    /// [`super::movable::Migration::commit`] refuses to move it, and
    /// [`MovablePage::is_pinned`] says so. Fails with `EINVAL` for an empty
    /// range or one that leaves the page, and with `EBUSY` while a read or
    /// write of the page is in progress.
    pub fn new<T: MovableOperations>(
        page: &MovablePage<T>,
        offset: usize,
        len: usize,
    ) -> Result<Self> {
        // INVARIANT: `claim_mapped` checks the range (within a page, whose
        // size fits in a `u32`).
        Ok(Self {
            page: page.claim_mapped(offset, len)?,
            offset: offset as u32,
            len: len as u32,
        })
    }

    fn offset(&self) -> usize {
        self.offset as usize
    }

    fn len(&self) -> usize {
        self.len as usize
    }
}

const _: () = assert!(PAGE_SIZE <= u32::MAX as usize);

/// Where an object is: in one page, or across two.
pub enum Object {
    /// In one page: mapped in place.
    InPage(Piece),
    /// The first part at the end of one page, the rest at the start of
    /// another: mapped through the per-CPU buffer.
    Spans(Piece, Piece),
}

impl Object {
    fn len(&self) -> usize {
        match self {
            Self::InPage(p) => p.len(),
            Self::Spans(a, b) => a.len() + b.len(),
        }
    }
}

/// The bits of a zpool handle above the driver's: the object's size less
/// one (sizes are 1 to `PAGE_SIZE`): 12 bits with 4 KiB pages, 16 with
/// 64 KiB.
const SIZE_BITS: u32 = PAGE_SIZE.trailing_zeros();

/// The handle zpool keeps for the driver's `handle` of an object of `size`
/// bytes (1 to `PAGE_SIZE`): the size above the driver's
/// [`ZpoolDriver::HANDLE_BITS`]. `None` if the driver's handle uses more
/// bits than it said.
fn zhandle<T: ZpoolDriver>(handle: usize, size: usize) -> Option<usize> {
    const { assert!(T::HANDLE_BITS >= 1 && T::HANDLE_BITS + SIZE_BITS <= usize::BITS) };
    if handle >> T::HANDLE_BITS != 0 || size == 0 || size > PAGE_SIZE {
        return None;
    }
    Some(handle | (size - 1) << T::HANDLE_BITS)
}

/// The driver's handle and the object's size, from a handle of [`zhandle`].
fn unzhandle<T: ZpoolDriver>(zhandle: usize) -> (usize, usize) {
    const { assert!(T::HANDLE_BITS >= 1 && T::HANDLE_BITS + SIZE_BITS <= usize::BITS) };
    (
        zhandle & ((1 << T::HANDLE_BITS) - 1),
        (zhandle >> T::HANDLE_BITS) + 1,
    )
}

/// A zpool driver: a pool type that zswap can store its pages in.
///
/// Every callback but `create` and `destroy` may be called concurrently on
/// one pool, and from contexts that cannot sleep: `malloc` honours the
/// caller's [`Gfp`], `map` and `free` must not sleep.
pub trait ZpoolDriver: Send + Sync + Sized + 'static {
    /// The driver's name: what `zswap.zpool=` selects.
    const NAME: &'static CStr;

    /// What every pool of the driver shares, given to [`Driver::new`].
    type Context: Send + Sync;

    /// Whether `malloc` puts objects in movable pages. zswap then passes
    /// `__GFP_HIGHMEM | __GFP_MOVABLE` with its flags.
    const MALLOC_SUPPORT_MOVABLE: bool;

    /// How many low bits the driver's handles use.
    ///
    /// Every handle `malloc` returns must be below `1 << HANDLE_BITS` (a larger
    /// one is freed and the allocation fails). The abstraction keeps each
    /// object's size in the bits above, in the handle zpool stores, to check
    /// `map` against it; at most `usize::BITS - PAGE_SHIFT` (checked at build
    /// time).
    const HANDLE_BITS: u32;

    /// Makes a new, empty pool.
    fn create(ctx: &Self::Context, name: &CStr, gfp: Gfp) -> Result<Arc<Self>>;

    /// Frees every object of a pool about to be dropped (its pages may hold
    /// references to it).
    fn destroy(&self);

    /// Allocates an object of `size` bytes with the caller's `gfp`; returns
    /// its handle, which must not be 0.
    fn malloc(this: ArcBorrow<'_, Self>, size: usize, gfp: Gfp) -> Result<usize>;

    /// Frees an object.
    ///
    /// A handle the pool did not give out must be ignored.
    fn free(&self, handle: usize);

    /// Where an object is, with its pages referenced, or `None` for a handle
    /// the pool did not give out.
    ///
    /// May be called in atomic context (zswap maps under its own locks):
    /// must not sleep.
    ///
    /// The pieces must cover the whole object, the `size` its `malloc` was
    /// given: the caller reads or writes that many bytes at the pointer it
    /// gets. The abstraction checks: it knows the size from the handle, and
    /// maps pieces shorter than the object through its per-CPU buffer (of
    /// `PAGE_SIZE` bytes, which no object exceeds), with an error naming the
    /// bug, so that the caller never writes past what the driver mapped.
    fn map(&self, handle: usize, mode: MapMode) -> Option<Object>;

    /// Pages the pool holds.
    ///
    /// Must not sleep (zswap sums its pools under `rcu_read_lock()`).
    fn total_pages(&self) -> u64;
}

/// The per-CPU state of mappings: one buffer of `PAGE_SIZE` bytes for
/// objects that span pages, and the mapping in progress.
///
/// # Invariants
///
/// `state` is only accessed by the CPU it belongs to, with preemption
/// disabled and from task context; `buf` has `PAGE_SIZE` bytes.
#[repr(align(64))]
struct CpuArea {
    state: UnsafeCell<AreaState>,
}

/// The mapping of one CPU, from map to unmap: `obj` is set while there is
/// one. (Fields, not an `Option` of a struct: zswap's map and unmap move
/// only the object's pieces.)
///
/// # Invariants
///
/// While `obj` is set: if `in_place`, it is an [`Object::InPage`] whose
/// page is mapped on this CPU (`kmap_local_page`, not unmapped yet) and
/// `vaddr` is that mapping plus the piece's offset; otherwise `vaddr` is
/// `buf`, which holds at least the object's size.
struct AreaState {
    buf: KVVec<u8>,
    /// The pieces of the object mapped (a spanning object, or one shorter
    /// than its size, a driver bug, goes through the buffer).
    obj: Option<Object>,
    /// The pool (its `ZBox`) and handle mapped.
    pool: *const c_void,
    handle: usize,
    mode: MapMode,
    in_place: bool,
    vaddr: *mut u8,
}

/// The per-CPU areas of every pool of this module's zpool driver.
struct Areas {
    cpus: KVec<CpuArea>,
}

// SAFETY: each CPU's state is only used by that CPU with preemption disabled
// (type invariant of `CpuArea`); the page references in it may be dropped anywhere.
unsafe impl Sync for Areas {}
// SAFETY: as above; the areas are freed by whoever drops the registration.
unsafe impl Send for Areas {}

impl Areas {
    fn new() -> Result<Self> {
        // SAFETY: reads a variable set once at boot.
        let nr = unsafe { rmm_bindings::rmm_nr_cpu_ids() } as usize;
        let mut cpus = KVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            let buf = super::zeroed_buf(PAGE_SIZE)?;
            cpus.push(
                CpuArea {
                    state: UnsafeCell::new(AreaState {
                        buf,
                        obj: None,
                        pool: ptr::null(),
                        handle: 0,
                        mode: MapMode::ReadOnly,
                        in_place: false,
                        vaddr: ptr::null_mut(),
                    }),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self { cpus })
    }
}

/// The `Inner<T>` of the registered driver: set before
/// `zpool_register_driver()` and cleared after a successful
/// `zpool_unregister_driver()`, so it is the `Inner<T>` of the `T` whose
/// callbacks run, whenever one can run. One registration per module at a
/// time.
static REGISTERED: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// What zpool holds for a pool: the pool, and its driver's registration.
///
/// # Invariants
///
/// `inner` is the registered driver's, valid while the pool lives (the
/// pool's driver cannot be unregistered before the pool is destroyed).
struct ZBox<T: ZpoolDriver> {
    pool: Arc<T>,
    inner: NonNull<Inner<T>>,
}

impl<T: ZpoolDriver> ZBox<T> {
    fn areas(&self) -> &Areas {
        // SAFETY: valid while the pool lives (type invariant).
        unsafe { &self.inner.as_ref().areas }
    }
}

/// A zpool driver made ready to register: every fallible step done, not
/// yet visible to zpool.
///
/// Once registered, zswap may use the driver at once (`zswap.zpool=`), even
/// while the module's init is still running, and a failed init frees the
/// module whatever references its pools hold. So a module's init makes its
/// driver with [`Driver::new`] among its fallible steps, and calls
/// [`Driver::register`], which cannot fail, last.
///
/// # Invariants
///
/// `inner` was made by `KBox::into_raw()`, its `driver` is
/// `ZpoolVTable::<T>::build()` of its `owner` and not registered, and
/// `REGISTERED` points to it.
pub struct Driver<T: ZpoolDriver> {
    inner: NonNull<Inner<T>>,
}

/// A registered zpool driver; unregistered on drop.
///
/// # Invariants
///
/// `inner` was made by `KBox::into_raw()`; its `driver`, made by
/// `ZpoolVTable::<T>::build()` of its `owner`, is registered with zpool, and
/// `REGISTERED` points to it.
pub struct Registration<T: ZpoolDriver> {
    inner: NonNull<Inner<T>>,
}

/// What a driver registration owns, in one allocation that never moves.
struct Inner<T: ZpoolDriver> {
    /// The registered driver: zpool links it into its list and counts its
    /// pools in it, so it is zpool's to write (`Opaque`) while registered.
    driver: Opaque<rmm_bindings::zpool_driver>,
    areas: Areas,
    ctx: T::Context,
    owner: *mut bindings::module,
}

// SAFETY: registration and unregistration may happen on any thread.
unsafe impl<T: ZpoolDriver> Send for Driver<T> {}
// SAFETY: `&Driver` exposes nothing.
unsafe impl<T: ZpoolDriver> Sync for Driver<T> {}
// SAFETY: registration and unregistration may happen on any thread.
unsafe impl<T: ZpoolDriver> Send for Registration<T> {}
// SAFETY: `&Registration` exposes nothing.
unsafe impl<T: ZpoolDriver> Sync for Registration<T> {}

impl<T: ZpoolDriver> Driver<T> {
    /// Makes `T` ready to register as the zpool driver `T::NAME`, owned by
    /// `module`.
    ///
    /// A pool of it pins the module. One driver per module at a time
    /// (`EBUSY` otherwise).
    pub fn new(module: &'static ThisModule, ctx: T::Context) -> Result<Self> {
        // A mapping keeps preemption off until its unmap, and zswap may take
        // locks in between that sleep on PREEMPT_RT (a sync compressor's
        // scratch lock): not supported there (zsmalloc uses a local_lock).
        if cfg!(CONFIG_PREEMPT_RT) {
            pr_err!(
                "rmm: zpool driver {}: not supported with PREEMPT_RT\n",
                T::NAME
            );
            return Err(ENODEV);
        }
        let inner = KBox::new(
            Inner::<T> {
                // Moved into the box, where it stays until unregistered.
                driver: Opaque::new(ZpoolVTable::<T>::build(module.as_ptr())),
                areas: Areas::new()?,
                ctx,
                owner: module.as_ptr(),
            },
            GFP_KERNEL,
        )?;
        let inner = NonNull::new(KBox::into_raw(inner)).ok_or(EINVAL)?;
        if REGISTERED
            .compare_exchange(
                ptr::null_mut(),
                inner.as_ptr().cast(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            // SAFETY: made by `into_raw()` above, never shared.
            drop(unsafe { KBox::from_raw(inner.as_ptr()) });
            return Err(EBUSY);
        }
        // INVARIANT: `driver` is `T`'s, owned by `module`, not registered;
        // `REGISTERED` set above.
        Ok(Self { inner })
    }

    /// Registers the driver with zpool: from here on zswap may create pools
    /// of it.
    ///
    /// Cannot fail, so that it can be the last step of an init.
    pub fn register(self) -> Registration<T> {
        let inner = ManuallyDrop::new(self).inner;
        // `driver` is fully initialised and lives until unregistered
        // (`Registration`'s `Drop`); it is not registered yet (invariant).
        // SAFETY: as just said.
        unsafe { rmm_bindings::zpool_register_driver((*inner.as_ptr()).driver.get()) };
        // INVARIANT: registered now; `inner` and `REGISTERED` as before.
        Registration { inner }
    }
}

impl<T: ZpoolDriver> Drop for Driver<T> {
    fn drop(&mut self) {
        REGISTERED.store(ptr::null_mut(), Ordering::Release);
        // SAFETY: never registered, so no callback can run; made by `into_raw()`.
        drop(unsafe { KBox::from_raw(self.inner.as_ptr()) });
    }
}

impl<T: ZpoolDriver> Drop for Registration<T> {
    fn drop(&mut self) {
        let inner = self.inner.as_ptr();
        // SAFETY: `inner` is valid and its driver registered (type invariant).
        let ret = unsafe { rmm_bindings::zpool_unregister_driver((*inner).driver.get()) };
        if ret != 0 {
            // A pool still uses the driver: only possible if the registration
            // is dropped before module exit (a pool pins the module). The
            // driver stays on zpool's list, pointing at this module's code
            // and name: leak it, and pin the module for good.
            // SAFETY: `owner` is this module (or null when built in), alive: we run in it.
            unsafe { rmm_bindings::rmm_module_pin((*inner).owner) };
            pr_err!(
                "rmm: zpool driver {} dropped while in use: leaked, module pinned\n",
                T::NAME
            );
            return;
        }
        REGISTERED.store(ptr::null_mut(), Ordering::Release);
        // SAFETY: unregistered: no callback can run; made by `into_raw()`.
        drop(unsafe { KBox::from_raw(inner) });
    }
}

/// Borrows the pool zpool passes to a callback.
///
/// # Safety
///
/// `pool` must come from `ZpoolVTable::<T>::create` and not be destroyed,
/// for `'a`.
unsafe fn zbox<'a, T: ZpoolDriver>(pool: *mut c_void) -> &'a ZBox<T> {
    // SAFETY: made by `KBox::into_raw()` in `create`, live (caller).
    unsafe { &*pool.cast::<ZBox<T>>() }
}

/// Copies between the buffer and the pieces of an object, whichever kind.
fn copy_object(obj: &Object, buf: &mut [u8], to_buf: bool) {
    match obj {
        Object::InPage(p) => copy_pieces(&[p], buf, to_buf),
        Object::Spans(a, b) => copy_pieces(&[a, b], buf, to_buf),
    }
}

/// Copies between the start of the buffer and the pieces of an object, one
/// after the other, as far as the buffer goes.
fn copy_pieces(pieces: &[&Piece], buf: &mut [u8], to_buf: bool) {
    let mut at = 0;
    for piece in pieces {
        let Some(part) = buf.get_mut(at..at + piece.len()) else {
            return;
        };
        // The page is referenced by the piece, the range is within it (type
        // invariant), and `part` has its length.
        // SAFETY: as above; nobody else uses the object while it is mapped (zpool's contract).
        let res = unsafe {
            if to_buf {
                super::page::read_page(piece.page.as_ptr(), piece.offset(), part)
            } else {
                super::page::write_page(piece.page.as_ptr(), piece.offset(), part)
            }
        };
        // In bounds by the invariant: cannot fail.
        let _ = res;
        at += piece.len();
    }
}

/// A driver mapped less than the object: said once per map, off the hot path.
#[cold]
#[inline(never)]
fn report_short(name: &CStr, size: usize, len: usize) {
    pr_err!(
        "rmm: BUG: zpool driver {}: map of a {}-byte object gave {} bytes: mapped through a buffer\n",
        name,
        size,
        len
    );
}

/// The `struct zpool_driver` of `T`: one trampoline per callback.
///
/// [`Self::VTABLE`] is a template, not the registered driver: zpool writes
/// the driver it is given (`zpool_register_driver()` sets `refcount` and links
/// `list` into its list of drivers, and each pool counts itself in
/// `refcount`), so that must be mutable memory that lives until it is
/// unregistered, not a constant promoted to read-only memory. [`Self::build`]
/// copies the template with the module as `owner`; [`Driver::new`] puts the
/// copy in the `Inner<T>` it allocates, which stays where it is until
/// unregistered.
///
/// For what each callback does, see `struct zpool_driver` in
/// [`include/linux/zpool.h`](srctree/include/linux/zpool.h).
struct ZpoolVTable<T: ZpoolDriver>(PhantomData<T>);

impl<T: ZpoolDriver> ZpoolVTable<T> {
    /// The driver of `T` with no owner (`owner` is only known at run time),
    /// neither registered nor used (`refcount` 0, `list` unlinked).
    const VTABLE: rmm_bindings::zpool_driver = rmm_bindings::zpool_driver {
        // zpool only reads the name (`strcmp()`, `zpool_get_type()`).
        type_: T::NAME.as_char_ptr().cast_mut(),
        owner: ptr::null_mut(),
        // Set by `zpool_register_driver()`.
        refcount: bindings::atomic_t { counter: 0 },
        list: bindings::list_head {
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
        },
        create: Some(Self::create),
        destroy: Some(Self::destroy),
        malloc_support_movable: T::MALLOC_SUPPORT_MOVABLE,
        malloc: Some(Self::malloc),
        free: Some(Self::free),
        // A mapping disables preemption until its unmap (module docs).
        sleep_mapped: false,
        map: Some(Self::map),
        unmap: Some(Self::unmap),
        total_pages: Some(Self::total_pages),
    };

    /// The driver of `T` owned by `owner`, to register: a copy of
    /// [`Self::VTABLE`] (by value: zpool writes the registered driver).
    ///
    /// `owner` must be the module that contains `T`'s code (null when built
    /// in) for a pool to pin the module; [`Driver::new`] passes the module
    /// it is given.
    const fn build(owner: *mut bindings::module) -> rmm_bindings::zpool_driver {
        rmm_bindings::zpool_driver {
            owner,
            ..Self::VTABLE
        }
    }

    /// # Safety
    ///
    /// Called by zpool only, through `T`'s registered driver, with a valid C
    /// string or NULL.
    unsafe extern "C" fn create(
        name: *const kernel::ffi::c_char,
        gfp: bindings::gfp_t,
    ) -> *mut c_void {
        // zpool passes the name zswap made, or NULL.
        let name = if name.is_null() {
            kernel::c_str!("")
        } else {
            // SAFETY: a valid C string for the duration of the call.
            unsafe { CStr::from_char_ptr(name) }
        };
        // `T`'s driver is registered while its callback runs: `REGISTERED` is
        // its `Inner<T>`.
        let Some(inner) = NonNull::new(REGISTERED.load(Ordering::Acquire).cast::<Inner<T>>())
        else {
            return ptr::null_mut();
        };
        // SAFETY: the registration lives at least as long as this callback.
        let ctx = unsafe { &inner.as_ref().ctx };
        let Ok(pool) = T::create(ctx, name, Gfp::from_raw(gfp)) else {
            return ptr::null_mut();
        };
        // INVARIANT: the registered driver's, which is this pool's.
        match KBox::new(ZBox { pool, inner }, GFP_KERNEL) {
            Ok(b) => KBox::into_raw(b).cast(),
            Err(_) => ptr::null_mut(),
        }
    }

    /// # Safety
    ///
    /// Called by zpool only, on a pool of ours (`Self::create`'s) that is not
    /// destroyed yet, with zpool's arguments.
    unsafe extern "C" fn destroy(pool: *mut c_void) {
        // SAFETY: zpool passes a pool of ours once, at its end.
        let b = unsafe { KBox::from_raw(pool.cast::<ZBox<T>>()) };
        b.pool.destroy();
        drop(b);
    }

    /// # Safety
    ///
    /// Called by zpool only, on a pool of ours (`Self::create`'s) that is not
    /// destroyed yet, with zpool's arguments.
    unsafe extern "C" fn malloc(
        pool: *mut c_void,
        size: usize,
        gfp: bindings::gfp_t,
        handle: *mut kernel::ffi::c_ulong,
    ) -> kernel::ffi::c_int {
        // SAFETY: zpool passes a live pool of ours.
        let b = unsafe { zbox::<T>(pool) };
        // No object is larger than a page (zswap stores at most one), and a
        // mapping through the per-CPU buffer must be able to hold any.
        if size == 0 || size > PAGE_SIZE {
            return EINVAL.to_errno();
        }
        match T::malloc(b.pool.as_arc_borrow(), size, Gfp::from_raw(gfp)) {
            Ok(h) => {
                let Some(zh) = zhandle::<T>(h, size) else {
                    b.pool.free(h);
                    pr_err!(
                        "rmm: BUG: zpool driver {}: handle {:#x} wider than its HANDLE_BITS\n",
                        T::NAME,
                        h
                    );
                    return EINVAL.to_errno();
                };
                // SAFETY: zpool passes a valid pointer for the handle.
                unsafe { *handle = zh as kernel::ffi::c_ulong };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by zpool only, on a pool of ours (`Self::create`'s) that is not
    /// destroyed yet, with zpool's arguments.
    unsafe extern "C" fn free(pool: *mut c_void, handle: kernel::ffi::c_ulong) {
        // SAFETY: zpool passes a live pool of ours.
        unsafe { zbox::<T>(pool) }
            .pool
            .free(unzhandle::<T>(handle).0);
    }

    /// # Safety
    ///
    /// Called by zpool only, on a pool of ours (`Self::create`'s) that is not
    /// destroyed yet, with zpool's arguments.
    unsafe extern "C" fn total_pages(pool: *mut c_void) -> u64 {
        // SAFETY: zpool passes a live pool of ours.
        unsafe { zbox::<T>(pool) }.pool.total_pages()
    }

    /// # Safety
    ///
    /// Called by zpool only, on a pool of ours (`Self::create`'s) that is not
    /// destroyed yet, with zpool's arguments.
    unsafe extern "C" fn map(
        pool: *mut c_void,
        handle: kernel::ffi::c_ulong,
        mm: rmm_bindings::zpool_mapmode,
    ) -> *mut c_void {
        // SAFETY: zpool passes a live pool of ours.
        let b = unsafe { zbox::<T>(pool) };
        let mode = MapMode::from_raw(mm);
        let (driver_handle, size) = unzhandle::<T>(handle);
        // Where the object is, its pages referenced: the driver's part, before
        // preemption goes off. Dropping `obj` on a failure below puts the pages.
        let Some(obj) = b.pool.map(driver_handle, mode) else {
            return ptr::null_mut();
        };
        // The caller reads or writes `size` bytes at the pointer: pieces that
        // cover less go through the buffer (`PAGE_SIZE` bytes, no object is
        // larger), where the caller's access stays in bounds.
        let short = obj.len() < size;
        if short {
            report_short(T::NAME, size, obj.len());
        }
        // An object inside one page is mapped in place, by the helper that
        // begins the mapping.
        let page = match &obj {
            Object::InPage(piece) if !short => piece.page.as_ptr(),
            _ => ptr::null_mut(),
        };
        let in_place = !page.is_null();
        let mut kaddr: *mut c_void = ptr::null_mut();
        // Until unmap, this CPU's area is ours: preemption off, task context.
        // `page` (if set) is referenced by the piece, and mapped at `kaddr` until
        // `unmap`, in reverse order of any other local mapping of this CPU.
        // SAFETY: balanced by `rmm_zpool_map_end()` in `unmap` or below.
        let cpu = unsafe { rmm_bindings::rmm_zpool_map_begin(page, &mut kaddr) };
        let Ok(cpu) = usize::try_from(cpu) else {
            // Not in task context: nothing was begun nor mapped.
            return ptr::null_mut();
        };
        let area = b.areas().cpus.get(cpu);
        // This CPU's, with preemption disabled, in task context: ours alone.
        // SAFETY: `CpuArea` invariant.
        let state = area.map(|a| unsafe { &mut *a.state.get() });
        let Some(state) =
            state.filter(|s| s.obj.is_none() && obj.len() <= s.buf.len() && size <= s.buf.len())
        else {
            // No area, or one mapping per CPU already (a caller bug, as with
            // zsmalloc): nothing mapped.
            // SAFETY: begun above, `kaddr` mapped by it (or null).
            unsafe { rmm_bindings::rmm_zpool_map_end(kaddr, ptr::null_mut(), false) };
            return ptr::null_mut();
        };
        let vaddr = match &obj {
            // SAFETY: `offset` is within the mapped page (`Piece` invariant).
            Object::InPage(piece) if in_place => unsafe { kaddr.cast::<u8>().add(piece.offset()) },
            _ => {
                if mode.reads() {
                    copy_object(&obj, &mut state.buf, true);
                    // What the driver did not map reads as zeros, never as
                    // another object's bytes.
                    if let Some(rest) = state.buf.get_mut(obj.len()..size) {
                        rest.fill(0);
                    }
                }
                state.buf.as_mut_ptr()
            }
        };
        // INVARIANT: mapped in place at `vaddr` if `in_place`, else buffered.
        state.obj = Some(obj);
        state.pool = pool;
        state.handle = handle;
        state.mode = mode;
        state.in_place = in_place;
        state.vaddr = vaddr;
        vaddr.cast()
    }

    /// # Safety
    ///
    /// Called by zpool only, on a pool of ours (`Self::create`'s) that is not
    /// destroyed yet, with zpool's arguments.
    unsafe extern "C" fn unmap(pool: *mut c_void, handle: kernel::ffi::c_ulong) {
        // SAFETY: zpool passes a live pool of ours.
        let b = unsafe { zbox::<T>(pool) };
        // Preemption has been off since `map` on this CPU (zpool's contract: an
        // unmap follows its map in the same task, which does not sleep between).
        // SAFETY: preemption is disabled, as above.
        let cpu = unsafe { rmm_bindings::rmm_smp_processor_id() } as usize;
        let Some(area) = b.areas().cpus.get(cpu) else {
            return;
        };
        // SAFETY: `CpuArea` invariant: the mapping of this CPU, preemption disabled.
        let state = unsafe { &mut *area.state.get() };
        if state.obj.is_none() || state.pool != pool.cast_const() || state.handle != handle {
            // Not what this CPU mapped: a caller bug; leave the mapping (and
            // preemption) as they are.
            return;
        }
        let Some(obj) = state.obj.take() else {
            return;
        };
        let writes = state.mode.writes();
        match obj {
            Object::InPage(Piece { page, offset, .. }) if state.in_place => {
                // The caller's accesses are over: the claim ends, and its page
                // reference goes to the helper, which drops it.
                let page = page.end().into_raw();
                // Mapped by `map` on this CPU (the last local mapping made), which
                // also disabled preemption; the caller may have written the page.
                // The mapping starts `offset` bytes before `vaddr` (`AreaState`
                // invariant).
                // SAFETY: as above; `page` is referenced (the piece's reference).
                unsafe {
                    rmm_bindings::rmm_zpool_map_end(
                        state.vaddr.sub(offset as usize).cast(),
                        page.as_ptr(),
                        writes,
                    )
                };
            }
            obj => {
                if writes {
                    copy_object(&obj, &mut state.buf, false);
                }
                // SAFETY: preemption was disabled by `map`; nothing is kmapped.
                unsafe { rmm_bindings::rmm_zpool_map_end(ptr::null_mut(), ptr::null_mut(), false) };
                // The pages' references go last: the last one may free a page.
                drop(obj);
            }
        }
    }
}
