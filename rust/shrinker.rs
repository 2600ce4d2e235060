// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Shrinkers: giving memory back under pressure.
//!
//! C header: [`include/linux/shrinker.h`](srctree/include/linux/shrinker.h).
//!
//! Reclaim asks each shrinker how much it could free (`count_objects`), then
//! asks it to free some (`scan_objects`). Both run in reclaim context: a
//! shrinker must not allocate with reclaim, nor take a lock that is held
//! anywhere such an allocation is made (lockdep's `fs_reclaim` catches that).
//!
//! # Examples
//!
//! `samples/rzpool/pool/shrinker.rs`: a [`Shrinker`] that gives a pool's
//! pages back (the zspages of volatile objects first, then by compaction),
//! registered for as long as the pool lives.

use super::bindings as rmm_bindings;
use core::{ffi::c_void, marker::PhantomData, ptr::NonNull};
use kernel::{bindings, ffi::c_ulong, prelude::*, str::CStr, sync::Arc, types::ForeignOwnable};

/// What a scan achieved.
pub enum Scan {
    /// This many objects were freed.
    Freed(usize),
    /// This many objects were freed, each a page given back to the page
    /// allocator: reclaim counts them as its progress
    /// (`mm_account_reclaimed_pages()`), as it counts freed slab pages,
    /// so that it stops pressing once they are enough.
    FreedPages(usize),
    /// No progress is possible in this context (`SHRINK_STOP`).
    Stop,
}

/// A cache that can give memory back.
pub trait Shrinker: Send + Sync + Sized + 'static {
    /// How many objects a scan could free now; 0 if none.
    fn count(&self) -> usize;

    /// Frees up to `nr_to_scan` objects.
    fn scan(&self, nr_to_scan: usize) -> Scan;

    /// The most objects reclaim asks for in one [`Shrinker::scan`]
    /// (`shrinker->batch`); 0 for the kernel's `SHRINK_BATCH`, 128.
    const BATCH: usize = 0;
}

/// A registered shrinker; unregistered on drop.
///
/// # Invariants
///
/// `shrinker` was allocated by `shrinker_alloc()` and registered; its
/// `private_data` owns an `Arc<T>` made by `into_foreign()`.
pub struct Registration<T: Shrinker> {
    shrinker: NonNull<bindings::shrinker>,
    _t: PhantomData<Arc<T>>,
}

// SAFETY: `shrinker_free()` may be called from any thread; `T` is `Send + Sync`.
unsafe impl<T: Shrinker> Send for Registration<T> {}
// SAFETY: `&Registration` exposes nothing.
unsafe impl<T: Shrinker> Sync for Registration<T> {}

impl<T: Shrinker> Registration<T> {
    /// Registers a shrinker named `name` (shown in
    /// `/sys/kernel/debug/shrinker/` with `CONFIG_SHRINKER_DEBUG`).
    pub fn register(name: &CStr, data: Arc<T>) -> Result<Self> {
        // SAFETY: `name` is a valid C string; the helper calls `shrinker_alloc(0, "%s", name)`.
        let shrinker = unsafe { rmm_bindings::rmm_shrinker_alloc(name.as_char_ptr()) };
        let shrinker = NonNull::new(shrinker).ok_or(ENOMEM)?;
        let s = shrinker.as_ptr();
        // SAFETY: the shrinker is allocated and not registered yet: we are its only user.
        unsafe {
            (*s).count_objects = Some(Self::count_objects);
            (*s).scan_objects = Some(Self::scan_objects);
            (*s).seeks = bindings::DEFAULT_SEEKS as _;
            (*s).batch = T::BATCH as _;
            (*s).private_data = data.into_foreign().cast_mut();
            rmm_bindings::shrinker_register(s);
        }
        // INVARIANT: allocated, registered, and owning the `Arc`.
        Ok(Self {
            shrinker,
            _t: PhantomData,
        })
    }

    /// # Safety
    ///
    /// Called by reclaim for a shrinker registered by [`Self::register`].
    unsafe extern "C" fn count_objects(
        shrinker: *mut bindings::shrinker,
        _sc: *mut bindings::shrink_control,
    ) -> c_ulong {
        // `shrinker_free()` waits for running callbacks before we free it.
        // SAFETY: `private_data` owns an `Arc<T>` made by `into_foreign()`.
        let this = unsafe { <Arc<T> as ForeignOwnable>::borrow((*shrinker).private_data) };
        this.count() as c_ulong
    }

    /// # Safety
    ///
    /// As for [`Self::count_objects`]; `sc` is valid for the call.
    unsafe extern "C" fn scan_objects(
        shrinker: *mut bindings::shrinker,
        sc: *mut bindings::shrink_control,
    ) -> c_ulong {
        // SAFETY: as in `count_objects`.
        let this = unsafe { <Arc<T> as ForeignOwnable>::borrow((*shrinker).private_data) };
        // SAFETY: `sc` is valid for the call.
        let nr = unsafe { (*sc).nr_to_scan };
        match this.scan(nr) {
            Scan::Freed(n) => n,
            Scan::FreedPages(n) => {
                // SAFETY: adds to the reclaim state of the current task, if any.
                unsafe { rmm_bindings::rmm_account_reclaimed_pages(n) };
                n
            }
            Scan::Stop => bindings::SHRINK_STOP as c_ulong,
        }
    }
}

impl<T: Shrinker> Drop for Registration<T> {
    fn drop(&mut self) {
        let s = self.shrinker.as_ptr();
        // SAFETY: the data is read before the shrinker is freed.
        let data = unsafe { (*s).private_data } as *const c_void;
        // After this returns no callback runs and the shrinker is not used again.
        // SAFETY: registered by `register` (type invariant).
        unsafe { rmm_bindings::shrinker_free(s) };
        // SAFETY: made by `into_foreign()` in `register`; no callback can use it any more.
        drop(unsafe { <Arc<T> as ForeignOwnable>::from_foreign(data) });
    }
}
