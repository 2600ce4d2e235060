// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Non-LRU movable pages: `struct movable_operations`.
//!
//! C headers: [`include/linux/migrate.h`](srctree/include/linux/migrate.h),
//! [`mm/migrate.c`](srctree/mm/migrate.c) (`isolate_movable_page()`,
//! `migrate_movable_ops_page()`, `putback_movable_pages()`),
//! [`Documentation/mm/page_migration.rst`](srctree/Documentation/mm/page_migration.rst).
//!
//! A driver that keeps its own pages (not on the LRU) can let compaction and
//! memory offlining move them: it marks each page movable with a table of three
//! callbacks, and the VM calls them with the page locked:
//!
//! 1. `isolate_page`: the VM wants to take the page out for migration. The
//!    driver may refuse. On success the VM sets `PG_isolated`.
//! 2. `migrate_page(dst, src)`: the driver copies `src` to the new page `dst`,
//!    makes `dst` its page in place of `src`, and gives up `src`. Returning
//!    `-EAGAIN` says "not now": the VM retries, then puts the page back.
//! 3. `putback_page`: migration gave up; the page is the driver's again.
//!
//! # The rules, and how the types keep them
//!
//! - **`PG_isolated` belongs to the VM** (mm/migrate.c sets and clears it; it
//!   warns if a driver touched it). Nothing here can write it;
//!   [`LockedPage::is_isolated`] only reads it.
//! - **Movable is set and cleared under the page lock** (`__SetPageMovable()`
//!   and `__ClearPageMovable()` assert it). [`MovablePage::new`] and its `Drop`
//!   lock the page around both.
//! - **A driver may release a page at any time, even while it is isolated**:
//!   it clears movable under the page lock and drops its reference; the VM
//!   notices (`PageMovable()` is false), calls no callback, and frees the page
//!   when it drops its own isolation reference. Dropping a [`MovablePage`] does
//!   exactly that, so "release while isolated" needs no special case. (The 2016
//!   rule of Minchan Kim's non-LRU movable page series, clear `PG_isolated`
//!   but not `PG_movable`, is gone: `PG_isolated` is no longer the driver's.)
//! - **Only the driver's own pages become movable.** `__SetPageMovable()`
//!   overwrites `->mapping`, and a movable page's `->private` and `->index`
//!   are the driver's: on an LRU, page-cache, compound or already movable page
//!   that corrupts the VM. [`MovablePage::new`] takes a [`NewPage`], which
//!   only the page allocator wrapper makes (order 0, our reference alone, no
//!   mapping) and which is consumed, so no page is made movable twice.
//! - **What migrate must do**: on success, copy the contents, take a
//!   reference on `dst`, set `dst` movable with the driver's data, clear movable
//!   on `src` and drop the driver's reference on it. [`Migration::commit`] does
//!   all of it, and is the only way to produce the [`Migrated`] token that
//!   `migrate_page` must return to report success.
//! - **After a commit, success is the only answer.** On failure the VM keeps
//!   its own state in `dst->private` (`__migrate_folio_record()`), which would
//!   overwrite the data a commit stored there. The callback returns
//!   [`Outcome`]: `Ok(Migrated)` only from a commit, `Err(Refused)` only from
//!   [`Migration::refuse`] or a commit that changed nothing, and both consume
//!   the [`Migration`]. Both tokens are bound to the callback's own lifetime
//!   (invariant, neither `Send` nor `Sync`), so none can be kept and returned
//!   from a later call.
//! - **Module lifetime**: every [`MovablePage`] holds a reference on the
//!   module (`try_module_get()`), so a module with a movable page cannot be
//!   unloaded, even if a `MovablePage` is leaked (`mem::forget`, an `Arc`
//!   cycle, a C user of the module that never frees its pool). Once every
//!   `MovablePage` is dropped, no page points to the module's table, and the
//!   module may go away, even while the VM still holds some of those pages
//!   isolated.
//! - **Releasing in reclaim or in a callback.** Migration holds the source
//!   page locked while it allocates the target, possibly entering reclaim
//!   and the driver's shrinker, and holds the locks of a whole batch of
//!   source pages while it calls `migrate_page` for each. A release that
//!   sleeps on such a lock would never wake up. Dropping a [`MovablePage`]
//!   takes the lock without waiting first; it waits only in process context
//!   outside the module's callbacks. In a callback (the callbacks record
//!   the task and page in a small table) the callback's own page is released
//!   under the VM's lock; another page whose lock is taken, there or in
//!   reclaim, is leaked with an error rather than deadlock.
//!   [`MovablePage::try_lock`] lets reclaim skip or defer such a page.
//! - **Memory cgroups**: a page allocated with `__GFP_ACCOUNT` is charged to a
//!   memory cgroup; a commit moves the charge with the contents.
//! - **Callbacks see the driver's data only while it exists**: each page
//!   carries a [`MovableOperations::Private`] in `page->private`, and an
//!   index word of the driver's ([`INDEX_BITS`] bits) in `page->index` (free
//!   for non-LRU movable pages; zsmalloc uses it too), installed and taken
//!   back under the page lock. Callbacks run under the page lock and
//!   only while the page is movable, so the borrow they get cannot dangle.
//! - **Nobody reads or writes bytes that a mapping holds.** A zpool mapping
//!   ([`super::zpool::Piece`]) hands its bytes to C code, which reads and
//!   writes them without any lock of the driver's until unmap; a
//!   [`MovablePage::read`] or [`MovablePage::write`] of the page meanwhile
//!   would race with it. The top bits of `page->index` are an access word
//!   ([`Access`]): mappings and direct accesses of the page exclude each
//!   other through it, by compare-and-swap. A direct access of a mapped page
//!   fails with `EBUSY`, and so does a mapping of a page under direct access.
//!
//! # Examples
//!
//! `samples/rzpool/pool/movable.rs` implements [`MovableOperations`] for
//! rzpool's zspages, and `samples/rzpool/zspage.rs` makes their pages movable
//! ([`MovablePage::new`]); `selftests/compile_fail/prelude.rs` has the least
//! implementation, which refuses every migration.

use super::bindings as rmm_bindings;
use super::page::{self, LockedPage, NewPage, PageRef, RawPage};
use core::{
    ffi::c_void,
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr::{self, NonNull},
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::{
    bindings,
    error::code::{EAGAIN, EBUSY, EINVAL, ENODEV},
    ffi::{c_int, c_uint},
    prelude::*,
    types::ForeignOwnable,
};

use super::CallbackBound;

/// What [`MovableOperations::migrate_page`] returns: a commit, or a refusal
/// that changed nothing.
pub type Outcome<'a> = core::result::Result<Migrated<'a>, Refused<'a>>;

/// How the VM isolates (`isolate_mode_t`).
#[derive(Clone, Copy, Debug)]
pub struct IsolateMode(pub c_uint);

/// How hard the VM tries to migrate (`enum migrate_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrateMode {
    /// Never block.
    Async,
    /// May block, but not on writeback.
    SyncLight,
    /// May block.
    Sync,
    /// Any other value of a newer kernel.
    Other(c_uint),
}

impl MigrateMode {
    fn from_raw(mode: bindings::migrate_mode) -> Self {
        match mode {
            bindings::migrate_mode_MIGRATE_ASYNC => Self::Async,
            bindings::migrate_mode_MIGRATE_SYNC_LIGHT => Self::SyncLight,
            bindings::migrate_mode_MIGRATE_SYNC => Self::Sync,
            other => Self::Other(other),
        }
    }
}

/// The callbacks of a driver's movable pages.
///
/// All three are mandatory in C (the VM calls them without checking for
/// `NULL`), so the table always has all three; `isolate_page` and
/// `putback_page` have defaults that accept and do nothing.
///
/// Every callback runs with the page locked by the VM. They must not sleep on
/// another page's lock, and must not drop a [`MovablePage`] (its `Drop` takes
/// the page lock).
pub trait MovableOperations: Sized + 'static {
    /// The driver's data for each page, kept in `page->private`.
    type Private: ForeignOwnable + Send + Sync;

    /// The VM wants to isolate `page` for migration; `true` lets it.
    fn isolate_page(
        _private: <Self::Private as ForeignOwnable>::Borrowed<'_>,
        _page: LockedPage<'_>,
        _mode: IsolateMode,
    ) -> bool {
        true
    }

    /// Moves the page.
    ///
    /// Find the driver's [`MovablePage`] for `migration.src()` and call
    /// [`Migration::commit`] on it, under whatever lock keeps the driver's
    /// users off the page contents.
    ///
    /// Refuse with [`Migration::refuse`] (`EAGAIN` for a temporary failure:
    /// the VM retries, and puts the page back after its last try).
    fn migrate_page<'a>(
        private: <Self::Private as ForeignOwnable>::Borrowed<'a>,
        migration: Migration<'a, Self>,
        mode: MigrateMode,
    ) -> Outcome<'a>;

    /// Migration gave up on an isolated page: it is the driver's again.
    fn putback_page(
        _private: <Self::Private as ForeignOwnable>::Borrowed<'_>,
        _page: LockedPage<'_>,
    ) {
    }
}

/// Proof that [`Migration::commit`] ran: the only success value of
/// [`MovableOperations::migrate_page`], valid only for the call that made it.
pub struct Migrated<'a> {
    _bound: CallbackBound<'a>,
}

/// A migration refused before anything changed: the only failure value of
/// [`MovableOperations::migrate_page`], valid only for the call that made it.
pub struct Refused<'a> {
    err: Error,
    _bound: CallbackBound<'a>,
}

/// A migration in progress: the VM holds both pages locked.
///
/// # Invariants
///
/// `src` is an isolated page, movable with `T`'s operations, whose
/// `page->private` holds a `T::Private`; `dst` is a new page owned by the VM.
/// Both are locked and referenced for `'a`.
pub struct Migration<'a, T: MovableOperations> {
    src: NonNull<bindings::page>,
    dst: NonNull<bindings::page>,
    _p: PhantomData<(&'a bindings::page, T)>,
    _bound: CallbackBound<'a>,
}

impl<'a, T: MovableOperations> Migration<'a, T> {
    /// The page being moved.
    pub fn src(&self) -> LockedPage<'a> {
        // SAFETY: locked and referenced for `'a` by the type invariant.
        unsafe { LockedPage::from_raw(self.src.as_ptr()) }
    }

    /// The page it moves to.
    pub fn dst(&self) -> LockedPage<'a> {
        // SAFETY: locked and referenced for `'a` by the type invariant.
        unsafe { LockedPage::from_raw(self.dst.as_ptr()) }
    }

    /// Moves `page`, the driver's own [`MovablePage`] for the source page, to
    /// the destination page.
    ///
    /// Copies the contents, moves the driver's data and reference to the
    /// destination, makes it movable and releases the source. Afterwards
    /// `page` is the destination page. The `&mut` borrow is the proof that no
    /// user of the driver reads or writes the contents during the copy.
    ///
    /// Refuses with `EAGAIN`, changing nothing, if `page` is not the source
    /// page (a stale lookup: the VM retries later), or if the source page
    /// has references besides the owner's and the isolation's (a
    /// [`PageRef`] from [`MovablePage::get_ref`], e.g. a zpool mapping that
    /// may be writing it: the copy could lose those writes).
    pub fn commit(self, page: &mut MovablePage<T>) -> Outcome<'a> {
        self.commit_with(page, |src, dst| {
            // Nobody touches the source contents (we hold `&mut page`) or the new page.
            // SAFETY: both pages are valid and locked (type invariant).
            unsafe { rmm_bindings::rmm_copy_highpage(dst.as_ptr(), src.as_ptr()) };
        })
    }

    /// [`Self::commit`] with the contents moved by `move_contents(src, dst)`
    /// instead of a plain copy: for a page that others read or update
    /// without the driver's locks (a page table harvested by atomic
    /// operations), which must move word by word with atomic exchanges. It
    /// runs after every check that can refuse, so once it has run the
    /// migration succeeds.
    pub(in crate::rmm) fn commit_with(
        self,
        page: &mut MovablePage<T>,
        move_contents: impl FnOnce(LockedPage<'a>, LockedPage<'a>),
    ) -> Outcome<'a> {
        if page.as_ptr() != self.src.as_ptr() {
            return Err(self.refuse(EAGAIN));
        }
        // Ours and the isolation's: any other reference may be someone
        // reading or writing the page through it (a mapped zpool object, see
        // `super::zpool`): copying now could lose their writes. The VM retries
        // later, as it does for pinned LRU pages.
        // SAFETY: `src` is valid and locked (type invariant).
        if unsafe { page_count(self.src.as_ptr()) } > 2 {
            return Err(self.refuse(EAGAIN));
        }
        move_contents(self.src(), self.dst());
        let (src, dst) = (self.src.as_ptr(), self.dst.as_ptr());
        // SAFETY: `dst` is valid; this reference becomes `page`'s.
        unsafe { rmm_bindings::rmm_get_page(dst) };
        // The private data moves from `src` to `dst` unchanged: still owned once.
        // SAFETY: both pages are valid and locked.
        unsafe {
            rmm_bindings::rmm_set_page_private(dst, rmm_bindings::rmm_page_private(src));
            rmm_bindings::rmm_set_page_private(src, 0);
            // No mapping or direct access of `src` is in progress (its
            // access word is 0): both hold references, checked above, or
            // borrow `page`. `dst` is new.
            rmm_bindings::rmm_set_page_index(dst, index_of(src) as _);
            rmm_bindings::rmm_set_page_index(src, 0);
        }
        // A memory cgroup charge of `src` (`__GFP_ACCOUNT`) moves to `dst`.
        // SAFETY: both pages are locked and ours: nobody else reads the word.
        unsafe { rmm_bindings::rmm_page_move_memcg(dst, src) };
        // `T`'s table lives as long as the module, which a `MovablePage` holds.
        // SAFETY: `dst` is locked and order 0, and the table outlives it.
        unsafe { rmm_bindings::__SetPageMovable(dst, MovableVTable::<T>::build()) };
        // SAFETY: `src` is locked and movable (type invariant).
        unsafe { rmm_bindings::__ClearPageMovable(src) };
        // INVARIANT: `page` now owns a reference on `dst`, which is movable
        // with `T`'s operations and holds the private data.
        // SAFETY: the reference on `dst` taken above, now `page`'s, keeps it valid.
        page.page = unsafe { RawPage::new(self.dst) };
        // SAFETY: our reference on `src`, now given up; the VM holds its own.
        unsafe { rmm_bindings::rmm_put_page(src) };
        Ok(Migrated {
            _bound: PhantomData,
        })
    }

    /// Refuses the migration, changing nothing: `EAGAIN` to let the VM retry,
    /// or another error to give up on the page now.
    pub fn refuse(self, err: Error) -> Refused<'a> {
        Refused {
            err,
            _bound: PhantomData,
        }
    }
}

/// A driver's page that the VM may migrate.
///
/// # Invariants
///
/// `page` is an order-0 page on which we own one reference; the driver
/// allocated it ([`NewPage`]). While this object exists the page is movable
/// with `T`'s operations and its `page->private` holds a `T::Private` made by
/// `into_foreign()`, owned by this object, and we hold one reference on the
/// module whose code `T`'s table points to. The page may be isolated by the
/// VM at any time.
pub struct MovablePage<T: MovableOperations> {
    page: RawPage,
    _t: PhantomData<T::Private>,
}

// SAFETY: the private data is `Send`, and a page reference can be dropped on
// any thread.
unsafe impl<T: MovableOperations> Send for MovablePage<T> {}
// SAFETY: `&self` methods read contents, which `&mut self` methods exclude.
unsafe impl<T: MovableOperations> Sync for MovablePage<T> {}

impl<T: MovableOperations> MovablePage<T> {
    /// Makes `page` movable with `T`'s operations, keeping `private` and the
    /// driver's `index` word with it ([`LockedPage::index`] in callbacks).
    ///
    /// Takes a reference on the module for as long as the page is movable;
    /// fails with `ENODEV` if the module is going away.
    ///
    /// # Context
    ///
    /// Takes the page lock of a page nobody else knows: does not sleep.
    ///
    /// `index` has at most [`INDEX_BITS`] bits (`EINVAL` otherwise): the
    /// bits above are the page's access word.
    pub fn new(page: NewPage, private: T::Private, index: usize) -> Result<Self> {
        if index & !INDEX_MASK != 0 {
            return Err(EINVAL);
        }
        let module = super::this_module_ptr!();
        // SAFETY: `module` is this module (or null when built in).
        if !unsafe { rmm_bindings::rmm_try_module_get(module) } {
            return Err(ENODEV);
        }
        let raw = page.as_ptr();
        let private = private.into_foreign() as usize;
        // Nobody else has a reference, so the lock is free, taken without
        // waiting; if someone holds it all the same, nothing is done.
        // SAFETY: the page is valid (`NewPage`).
        if !unsafe { rmm_bindings::rmm_trylock_page(raw) } {
            // SAFETY: made by `into_foreign()` just above, never stored.
            drop(unsafe { T::Private::from_foreign(private as *const c_void) });
            // SAFETY: the reference taken above.
            unsafe { rmm_bindings::module_put(module) };
            pr_warn!("rmm: a new page is locked by someone else: not made movable\n");
            return Err(EAGAIN);
        }
        // The page is locked, and ours alone: its words are ours to set. The
        // table lives as long as the module, which we hold; `index` is the
        // driver's word.
        // SAFETY: the page is valid, order 0 and unmapped (`NewPage`).
        unsafe {
            rmm_bindings::rmm_set_page_index(raw, index as _);
            rmm_bindings::rmm_set_page_private(raw, private as _);
            rmm_bindings::__SetPageMovable(raw, MovableVTable::<T>::build());
            rmm_bindings::rmm_unlock_page(raw);
        }
        // INVARIANT: the reference of `page` and the module reference are
        // ours; the page is movable with our data.
        Ok(Self {
            // SAFETY: the reference of `page`, now ours, keeps it valid.
            page: unsafe { RawPage::new(page.into_raw()) },
            _t: PhantomData,
        })
    }

    /// Whether this is `page` (in a callback: the page the VM passed).
    pub fn is(&self, page: &LockedPage<'_>) -> bool {
        self.page.as_ptr() == page.as_ptr()
    }

    /// Whether someone holds a reference to the page besides this object.
    ///
    /// That is a [`PageRef`] from [`Self::get_ref`] (a mapping), the VM
    /// isolating it, or a transient lookup. A driver that moves objects between
    /// its pages itself must leave such a page's objects where they are.
    pub fn is_pinned(&self) -> bool {
        // SAFETY: the page is valid by the type invariant.
        unsafe { page_count(self.page.as_ptr()) > 1 }
    }

    /// A new reference to the page.
    ///
    /// The page stays allocated while the reference lives, even if it is
    /// released or replaced meanwhile, and [`Migration::commit`] refuses to
    /// move it. Hold it briefly: while it lives the page cannot migrate, which
    /// blocks compaction, memory offlining and CMA from taking its frame.
    pub fn get_ref(&self) -> PageRef {
        self.page.get_ref()
    }

    /// Takes the page lock without sleeping, for a release from reclaim
    /// context ([`LockedMovablePage`]); gives `self` back if the lock is
    /// taken.
    pub fn try_lock(self) -> core::result::Result<LockedMovablePage<T>, Self> {
        // SAFETY: the page is valid by the type invariant.
        if unsafe { rmm_bindings::rmm_trylock_page(self.page.as_ptr()) } {
            // INVARIANT: we hold the lock just taken.
            Ok(LockedMovablePage {
                page: ManuallyDrop::new(self),
            })
        } else {
            Err(self)
        }
    }

    /// Returns the raw `struct page` pointer.
    pub(in crate::rmm) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// Gives up the object without releasing the page, returning the raw
    /// pointer: the page stays movable, with its data and references, until
    /// [`Self::from_raw`] makes the object again (a table kept by the page
    /// frame numbers that point to it).
    pub(in crate::rmm) fn into_raw(self) -> NonNull<bindings::page> {
        ManuallyDrop::new(self).page.as_non_null()
    }

    /// Makes the object again from [`Self::into_raw`]'s pointer.
    ///
    /// # Safety
    ///
    /// `page` came from [`Self::into_raw`] of a `MovablePage<T>` (or is the
    /// page such an object was migrated to), and no other object owns it.
    pub(in crate::rmm) unsafe fn from_raw(page: NonNull<bindings::page>) -> Self {
        // INVARIANT: the caller passes the page, references and data of a
        // `MovablePage<T>` given up by `into_raw`.
        Self {
            // SAFETY: the reference given up by `into_raw` keeps the page valid.
            page: unsafe { RawPage::new(page) },
            _t: PhantomData,
        }
    }

    /// Returns the page frame number.
    pub fn pfn(&self) -> usize {
        self.page.pfn()
    }

    /// Releases the page, whose lock the caller holds: clears movable, takes
    /// the private data back, unlocks, drops our page and module references.
    ///
    /// # Safety
    ///
    /// The caller holds the page lock, and does not use `self` again.
    unsafe fn release_locked(&mut self) {
        // SAFETY: as our caller guarantees.
        let p = unsafe { self.release_page(true) };
        // SAFETY: taken from the page just now, once.
        unsafe { release_private::<T>(p) };
    }

    /// Gives up the page: clears movable and takes the private word back,
    /// unlocks the page if `unlock`, drops our page reference. Returns the
    /// private word, for [`release_private`].
    ///
    /// # Safety
    ///
    /// The page lock is held: by the caller (`unlock`), or by the VM for a
    /// movable callback of this task's that is running now (not `unlock`:
    /// the VM unlocks it after the callback). `self` is not used again.
    unsafe fn release_page(&mut self, unlock: bool) -> usize {
        let page = self.page.as_ptr();
        // Movable is cleared first, so no callback can see the page any more,
        // then the private word is taken back.
        // SAFETY: the page is locked (caller) and movable with our operations.
        let p = unsafe {
            let p = rmm_bindings::rmm_page_private(page);
            rmm_bindings::__ClearPageMovable(page);
            rmm_bindings::rmm_set_page_private(page, 0);
            p
        };
        // The driver's index word goes too; mappings of the page may still
        // hold their claims (and its access word), and drop them later.
        // SAFETY: our reference is still held.
        unsafe { Access::of(page) }.clear_index();
        if unlock {
            // SAFETY: the caller's lock, given up here.
            unsafe { rmm_bindings::rmm_unlock_page(page) };
        }
        // Our reference; the VM holds its own while the page is isolated.
        // SAFETY: the reference taken when the page became movable.
        unsafe { rmm_bindings::rmm_put_page(page) };
        p as usize
    }

    /// The driver's data of this page.
    pub fn private(&self) -> <T::Private as ForeignOwnable>::Borrowed<'_> {
        // Only `Drop` and `commit` (which needs `&mut`) move it.
        // SAFETY: `page->private` holds our `T::Private` while `self` exists.
        unsafe {
            T::Private::borrow(rmm_bindings::rmm_page_private(self.as_ptr()) as *const c_void)
        }
    }

    /// Copies bytes of the page at `offset` into `out`.
    ///
    /// Fails with `EINVAL` if the range leaves the page, and with `EBUSY`
    /// while the page is mapped ([`super::zpool::Piece`]): C code may be
    /// writing the mapped bytes.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        // SAFETY: the page is valid (type invariant).
        let _direct = unsafe { Access::of(self.as_ptr()) }.begin_direct()?;
        // Writers need `&mut self` (`write`, `commit`) or a mapping, which
        // `_direct` excludes until it is dropped.
        // SAFETY: the page is valid (type invariant); no writer of it meanwhile.
        unsafe { page::read_page(self.as_ptr(), offset, out) }
    }

    /// Copies `data` into the page at `offset`.
    ///
    /// Fails with `EINVAL` if the range leaves the page, and with `EBUSY`
    /// while the page is mapped ([`super::zpool::Piece`]).
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        // SAFETY: the page is valid (type invariant).
        let _direct = unsafe { Access::of(self.as_ptr()) }.begin_direct()?;
        // `&mut self` excludes the driver's other readers and writers, and
        // new mappings (which borrow the page); `_direct` excludes the
        // mappings made before.
        // SAFETY: the page is valid; nobody else accesses it meanwhile.
        unsafe { page::write_page(self.as_ptr(), offset, data) }
    }

    /// Claims the page for a mapping of its bytes `[offset, offset + len)`
    /// by C code, with a reference on the page: until the claim is dropped,
    /// [`Self::read`] and [`Self::write`] fail with `EBUSY`, and
    /// [`Migration::commit`] refuses to move the page. `EBUSY` if a direct
    /// access is in progress, `EINVAL` if the range is empty or leaves the
    /// page.
    pub(in crate::rmm) fn claim_mapped(&self, offset: usize, len: usize) -> Result<MapClaim> {
        page::check_range(offset, len)?;
        if len == 0 {
            return Err(EINVAL);
        }
        // SAFETY: the page is valid (type invariant).
        unsafe { Access::of(self.as_ptr()) }.begin_mapped()?;
        // INVARIANT: the mapping was counted just now; the reference is new.
        Ok(MapClaim {
            page: self.get_ref(),
        })
    }
}

/// Bits of the driver's index word of a movable page ([`MovablePage::new`]).
pub const INDEX_BITS: u32 = usize::BITS - 12;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;

/// The access word of a movable page: the top 12 bits of `page->index`,
/// above the driver's index word.
///
/// # Invariants
///
/// The word counts the holders of one kind of access to the page's bytes:
/// [`MapClaim`]s (mappings by C code, which reads and writes without the
/// driver's locks) when [`Access::DIRECT`] is clear, direct accesses
/// ([`MovablePage::read`], [`MovablePage::write`]) when it is set. Each
/// holder added one [`Access::ONE`] and takes it back when it ends, with
/// release ordering; one begins with acquire ordering, so it sees every
/// byte the previous holders of the other kind wrote. The index bits are
/// written only while nobody else can see the page ([`MovablePage::new`],
/// [`Migration::commit`]), or, atomically, when it is released.
struct Access<'a>(&'a AtomicUsize);

/// A direct access in progress: taken back on drop.
struct Direct<'a>(&'a AtomicUsize);

impl<'a> Access<'a> {
    const DIRECT: usize = 1 << (usize::BITS - 1);
    const ONE: usize = 1 << INDEX_BITS;
    const COUNT: usize = !INDEX_MASK & !Self::DIRECT;

    /// The access word of `page`.
    ///
    /// # Safety
    ///
    /// `page` is valid for `'a` (the caller holds a reference on it).
    unsafe fn of(page: *mut bindings::page) -> Self {
        // `page->index` is an `unsigned long`, aligned as one, and lives as
        // long as the page; every writer of it is atomic or has the page to
        // itself (type invariant).
        // `RMM_PAGE_INDEX_OFFSET` is `offsetof(struct page, index)`.
        // SAFETY: `page` is valid for `'a` (our caller).
        Self(unsafe {
            AtomicUsize::from_ptr(
                page.cast::<u8>()
                    .add(rmm_bindings::RMM_PAGE_INDEX_OFFSET as usize)
                    .cast(),
            )
        })
    }

    /// Adds one holder of the kind `direct` if no holder of the other kind
    /// is there and the count has room: `EBUSY` otherwise.
    fn begin(&self, direct: bool) -> Result {
        let mut old = self.0.load(Ordering::Relaxed);
        loop {
            let held = old & Self::COUNT != 0;
            if held && (old & Self::DIRECT != 0) != direct || old & Self::COUNT == Self::COUNT {
                return Err(EBUSY);
            }
            let kind = if direct { Self::DIRECT } else { 0 };
            let new = ((old & !Self::DIRECT) | kind) + Self::ONE;
            match self
                .0
                .compare_exchange_weak(old, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(now) => old = now,
            }
        }
    }

    /// Takes one holder back; the last one clears the kind.
    fn end(word: &AtomicUsize) {
        let mut old = word.load(Ordering::Relaxed);
        loop {
            let mut new = old - Self::ONE;
            if new & Self::COUNT == 0 {
                new &= !Self::DIRECT;
            }
            match word.compare_exchange_weak(old, new, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => old = now,
            }
        }
    }

    fn begin_direct(self) -> Result<Direct<'a>> {
        self.begin(true)?;
        Ok(Direct(self.0))
    }

    fn begin_mapped(&self) -> Result {
        self.begin(false)
    }

    /// Clears the driver's index bits, leaving the access word.
    fn clear_index(&self) {
        self.0.fetch_and(!INDEX_MASK, Ordering::Relaxed);
    }

    /// The driver's index bits.
    fn index(&self) -> usize {
        self.0.load(Ordering::Relaxed) & INDEX_MASK
    }
}

impl Drop for Direct<'_> {
    fn drop(&mut self) {
        Access::end(self.0);
    }
}

/// The reference count of `page`, ordered before the caller's later reads
/// of the page: it pairs with the full barrier of `put_page()` by whoever
/// dropped a reference after writing the page (a zpool mapping), so that a
/// caller that sees the reference gone also sees what was written through it.
///
/// # Safety
///
/// `page` is valid.
unsafe fn page_count(page: *mut bindings::page) -> c_int {
    // SAFETY: as our caller guarantees.
    let count = unsafe { rmm_bindings::rmm_page_count(page) };
    // Pairs with the `put_page()` after a mapping's writes (see above).
    // SAFETY: only a read barrier.
    unsafe { rmm_bindings::rmm_smp_rmb() };
    count
}

/// The driver's index word of `page` ([`MovablePage::new`]).
///
/// # Safety
///
/// `page` is valid.
pub(in crate::rmm) unsafe fn index_of(page: *mut bindings::page) -> usize {
    // SAFETY: as our caller guarantees.
    unsafe { Access::of(page) }.index()
}

/// A mapping's claim on a movable page ([`MovablePage::claim_mapped`]).
///
/// # Invariants
///
/// Holds a reference on the page, and one mapping counted in its access
/// word ([`Access`]), which is taken back before the reference.
pub struct MapClaim {
    page: PageRef,
}

impl MapClaim {
    /// The page claimed.
    pub(in crate::rmm) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// Ends the claim, keeping the page reference for the caller to drop:
    /// the bytes are the page's owner's again.
    pub(in crate::rmm) fn end(self) -> PageRef {
        let this = ManuallyDrop::new(self);
        this.uncount();
        // SAFETY: read once out of `this`, which is not dropped.
        unsafe { ptr::read(&this.page) }
    }

    /// Takes the claim's mapping out of the page's access word.
    fn uncount(&self) {
        // SAFETY: the page is referenced by `self.page`.
        Access::end(unsafe { Access::of(self.page.as_ptr()) }.0);
    }
}

impl Drop for MapClaim {
    fn drop(&mut self) {
        // The mapping is over: its count first, the reference (which may
        // free the page) after.
        self.uncount();
    }
}

impl<T: MovableOperations> Drop for MovablePage<T> {
    /// Releases the page: clears movable and takes the private data back under
    /// the page lock, then drops our page and module references. If the VM has
    /// the page isolated, it sees it released and frees it when it is done.
    ///
    /// # Context
    ///
    /// Sleeps on the page lock if someone else holds it: never drop a
    /// `MovablePage` with a spinlock held.
    ///
    /// Where sleeping on the lock could wait for this very task, it never
    /// does: inside one of the module's movable callbacks (the VM holds the
    /// lock of the callback's page, and maybe of others of its batch, for
    /// this task) and in reclaim (migration may hold a page lock while it
    /// allocates its target, and reclaim calls the driver's shrinker). The
    /// callback's own page is released under the VM's lock; any other page
    /// whose lock is taken there is leaked, with an error naming the bug
    /// (a driver should use [`MovablePage::try_lock`] there and keep the
    /// page for later), rather than deadlock.
    fn drop(&mut self) {
        let page = self.page.as_ptr();
        // SAFETY: the page is valid; our reference keeps it so.
        if unsafe { rmm_bindings::rmm_trylock_page(page) } {
            // SAFETY: locked just above; `self` is not used after `drop`.
            return unsafe { self.release_locked() };
        }
        match scope::held_for_callback(page) {
            // The VM holds this page's lock for this task's callback. The
            // callback still borrows the private data: it is dropped when
            // the callback returns (`Scope::finish`).
            Some(true) => {
                // SAFETY: as just said; `self` is not used after `drop`.
                let p = unsafe { self.release_page(false) };
                scope::defer_private(page, p);
            }
            // In a callback, another page whose lock is taken, maybe by the
            // VM for this task (the other pages of its batch): never wait.
            Some(false) => leak_locked(page),
            // SAFETY: only reads `current->flags`.
            None if unsafe { rmm_bindings::rmm_in_reclaim() } => leak_locked(page),
            None => {
                // Someone else's lock, in process context: wait for it.
                // SAFETY: the page is valid; our reference keeps it so.
                unsafe { rmm_bindings::rmm_lock_page(page) };
                // SAFETY: locked just above; `self` is not used after `drop`.
                unsafe { self.release_locked() };
            }
        }
    }
}

/// Drops the private data a released page held, and the module reference
/// the page held.
///
/// # Safety
///
/// `p` is the private word of a page just given up by
/// [`MovablePage::release_page`], not borrowed by anyone any more, and
/// dropped once.
unsafe fn release_private<T: MovableOperations>(p: usize) {
    // SAFETY: the private data made by `into_foreign()` is taken back once.
    drop(unsafe { T::Private::from_foreign(p as *const c_void) });
    // The module's code is still running (our caller): its own users or
    // its exit path keep it loaded until that returns.
    // SAFETY: the reference taken when the page became movable.
    unsafe { rmm_bindings::module_put(super::this_module_ptr!()) };
}

/// Keeps a movable page whose lock a release cannot wait for: it stays
/// movable, with its private data and its page and module references, so
/// the VM's callbacks still find valid data (a driver must answer them for
/// a page it no longer knows, as for any stale page). A driver bug, said
/// loudly: such a release should have used [`MovablePage::try_lock`].
fn leak_locked(page: *mut bindings::page) {
    pr_err!(
        "rmm: BUG: movable page {:p} dropped from a movable callback or reclaim while its lock is taken: leaked, not waited for (use MovablePage::try_lock)\n",
        page
    );
}

/// The tasks running one of this module's movable callbacks, and the page
/// whose lock the VM holds for each call: what lets a release in a callback
/// tell "the VM holds this lock for me" from "someone else holds it".
mod scope {
    use super::{bindings, rmm_bindings};
    use core::{
        ffi::c_void,
        ptr,
        sync::atomic::{AtomicPtr, AtomicUsize, Ordering},
    };

    /// Callbacks that can run at once: each holds a page lock, so one per
    /// CPU plus those that sleep (a blocking migration). No callback runs
    /// without a slot: `isolate_page` and `migrate_page` refuse when none
    /// is free, `putback_page` waits for one.
    const SLOTS: usize = 64;

    struct Slot {
        task: AtomicPtr<c_void>,
        page: AtomicPtr<bindings::page>,
        /// The target of a migration, also locked by the VM for the call
        /// (after a commit the driver's `MovablePage` is this page).
        dst: AtomicPtr<bindings::page>,
        /// The private word of a page the callback released.
        released: AtomicUsize,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const FREE: Slot = Slot {
        task: AtomicPtr::new(ptr::null_mut()),
        page: AtomicPtr::new(ptr::null_mut()),
        dst: AtomicPtr::new(ptr::null_mut()),
        released: AtomicUsize::new(0),
    };
    static SLOTS_IN_USE: [Slot; SLOTS] = [FREE; SLOTS];

    fn current() -> *mut c_void {
        // SAFETY: only reads `current`.
        unsafe { rmm_bindings::rmm_current_task() }
    }

    /// A callback in progress on `page`, recorded until dropped.
    pub(super) struct Scope(&'static Slot);

    impl Scope {
        /// Records that this task runs a callback with `page` (and `dst`, if
        /// not null) locked by the VM; `None` if every slot is taken.
        pub(super) fn enter(page: *mut bindings::page, dst: *mut bindings::page) -> Option<Self> {
            let task = current();
            for slot in &SLOTS_IN_USE {
                if slot
                    .task
                    .compare_exchange(ptr::null_mut(), task, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    // Only this task reads its own slot's pages: no ordering needed.
                    slot.page.store(page, Ordering::Relaxed);
                    slot.dst.store(dst, Ordering::Relaxed);
                    return Some(Self(slot));
                }
            }
            None
        }

        /// The private word of a page the callback released, or 0; the
        /// slot stays this task's until the scope is dropped, so that what
        /// dropping that data releases is still seen as inside the callback.
        pub(super) fn released(&self) -> usize {
            self.0.released.swap(0, Ordering::Relaxed)
        }
    }

    impl Drop for Scope {
        fn drop(&mut self) {
            self.0.page.store(ptr::null_mut(), Ordering::Relaxed);
            self.0.dst.store(ptr::null_mut(), Ordering::Relaxed);
            self.0.task.store(ptr::null_mut(), Ordering::Release);
        }
    }

    /// Notes that this task's callback released `page`, whose private word
    /// is `p`.
    pub(super) fn defer_private(page: *mut bindings::page, p: usize) {
        let task = current();
        for slot in &SLOTS_IN_USE {
            if slot.task.load(Ordering::Relaxed) == task
                && (slot.page.load(Ordering::Relaxed) == page
                    || slot.dst.load(Ordering::Relaxed) == page)
            {
                slot.released.store(p, Ordering::Relaxed);
                return;
            }
        }
    }

    /// `None` if this task runs none of the module's movable callbacks;
    /// otherwise whether `page` is one whose lock the VM holds for it.
    pub(super) fn held_for_callback(page: *mut bindings::page) -> Option<bool> {
        let task = current();
        let mut inside = None;
        for slot in &SLOTS_IN_USE {
            // Another task's slot never names this task: only this task
            // writes its own, and a freed slot is null.
            if slot.task.load(Ordering::Relaxed) == task {
                let held = slot.page.load(Ordering::Relaxed) == page
                    || slot.dst.load(Ordering::Relaxed) == page;
                inside = Some(inside.unwrap_or(false) || held);
            }
        }
        inside
    }
}

/// A [`MovablePage`] whose lock we took without sleeping
/// ([`MovablePage::try_lock`]).
///
/// Dropping it releases the page, never sleeping; [`Self::unlock`] keeps it.
///
/// # Invariants
///
/// We hold the page lock of `page`.
pub struct LockedMovablePage<T: MovableOperations> {
    page: ManuallyDrop<MovablePage<T>>,
}

impl<T: MovableOperations> LockedMovablePage<T> {
    /// Unlocks the page and keeps it movable.
    pub fn unlock(self) -> MovablePage<T> {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: we hold the lock (type invariant).
        unsafe { rmm_bindings::rmm_unlock_page(this.page.as_ptr()) };
        // SAFETY: `this` is never dropped, so the page is moved out once.
        unsafe { ManuallyDrop::take(&mut this.page) }
    }
}

impl<T: MovableOperations> Drop for LockedMovablePage<T> {
    /// Releases the page without sleeping.
    fn drop(&mut self) {
        // The inner page is never dropped (`ManuallyDrop`) nor used again.
        // SAFETY: we hold the lock (type invariant).
        unsafe { self.page.release_locked() };
    }
}

/// The `struct movable_operations` of `T`: one trampoline per callback.
///
/// The VM only reads the table (`page_movable_ops()`: `page->mapping`, which
/// `__SetPageMovable()` points at it), so one `'static` constant serves every
/// page of `T`.
struct MovableVTable<T: MovableOperations>(PhantomData<T>);

impl<T: MovableOperations> MovableVTable<T> {
    const VTABLE: rmm_bindings::movable_operations = rmm_bindings::movable_operations {
        isolate_page: Some(Self::isolate_page),
        migrate_page: Some(Self::migrate_page),
        putback_page: Some(Self::putback_page),
    };

    /// The table, `'static` by constant promotion, as `__SetPageMovable()`
    /// takes it.
    const fn build() -> &'static rmm_bindings::movable_operations {
        &Self::VTABLE
    }

    /// # Safety
    ///
    /// `page` is valid, locked and movable with `T`'s operations, so its
    /// `page->private` holds a `T::Private`; it stays so during the call.
    unsafe fn private<'a>(
        page: *mut bindings::page,
    ) -> <T::Private as ForeignOwnable>::Borrowed<'a> {
        // It cannot be taken back while our caller holds the page lock.
        // SAFETY: `page->private` came from `into_foreign()` (safety contract).
        unsafe { T::Private::borrow(rmm_bindings::rmm_page_private(page) as *const c_void) }
    }

    /// Ends a callback's scope, dropping the private data of its page if the
    /// callback released the page.
    ///
    /// # Safety
    ///
    /// The callback has returned: nothing borrows that private data.
    unsafe fn finish(scope: scope::Scope) {
        let p = scope.released();
        if p != 0 {
            // Still inside the scope: what this drop releases in turn is
            // seen as inside the callback.
            // SAFETY: given up by the release in the callback, dropped once here.
            unsafe { release_private::<T>(p) };
        }
        drop(scope);
    }

    /// # Safety
    ///
    /// Called by `isolate_movable_page()` with `page` locked, referenced and
    /// movable with `T`'s operations.
    unsafe extern "C" fn isolate_page(
        page: *mut bindings::page,
        mode: bindings::isolate_mode_t,
    ) -> bool {
        // No slot: refuse, the VM tries again later.
        let Some(scope) = scope::Scope::enter(page, ptr::null_mut()) else {
            return false;
        };
        // SAFETY: as the safety contract says.
        let private = unsafe { Self::private(page) };
        // SAFETY: locked and referenced for the call.
        let locked = unsafe { LockedPage::from_raw(page) };
        let isolated = T::isolate_page(private, locked, IsolateMode(mode));
        // SAFETY: nothing borrows the private data of a page released meanwhile.
        unsafe { Self::finish(scope) };
        isolated
    }

    /// # Safety
    ///
    /// Called by `migrate_movable_ops_page()` with `src` isolated, locked and
    /// movable with `T`'s operations, and `dst` a new locked page.
    unsafe extern "C" fn migrate_page(
        dst: *mut bindings::page,
        src: *mut bindings::page,
        mode: bindings::migrate_mode,
    ) -> c_int {
        // No slot: not now (`-EAGAIN`), the VM retries.
        let Some(scope) = scope::Scope::enter(src, dst) else {
            return EAGAIN.to_errno();
        };
        // SAFETY: as the safety contract says.
        let private = unsafe { Self::private(src) };
        // INVARIANT: as the safety contract says; both pointers are valid.
        let migration = Migration {
            // SAFETY: valid pointers are not null.
            src: unsafe { NonNull::new_unchecked(src) },
            // SAFETY: valid pointers are not null.
            dst: unsafe { NonNull::new_unchecked(dst) },
            _p: PhantomData,
            _bound: PhantomData,
        };
        let ret = match T::migrate_page(private, migration, MigrateMode::from_raw(mode)) {
            Ok(Migrated { .. }) => rmm_bindings::MIGRATEPAGE_SUCCESS as c_int,
            Err(refused) => refused.err.to_errno(),
        };
        // SAFETY: nothing borrows the private data of a page released meanwhile.
        unsafe { Self::finish(scope) };
        ret
    }

    /// # Safety
    ///
    /// Called by `putback_movable_pages()` with `page` isolated, locked and
    /// movable with `T`'s operations.
    unsafe extern "C" fn putback_page(page: *mut bindings::page) {
        // A putback cannot be refused: wait for a slot (it sleeps, as the
        // VM's putback may; the callbacks that hold the slots end soon).
        let scope = loop {
            if let Some(scope) = scope::Scope::enter(page, ptr::null_mut()) {
                break scope;
            }
            // SAFETY: process context (putback_movable_pages()), no spinlock held.
            unsafe { rmm_bindings::msleep(1) };
        };
        // SAFETY: as the safety contract says.
        let private = unsafe { Self::private(page) };
        // SAFETY: locked and referenced for the call.
        let locked = unsafe { LockedPage::from_raw(page) };
        T::putback_page(private, locked);
        // SAFETY: nothing borrows the private data of a page released meanwhile.
        unsafe { Self::finish(scope) };
    }
}
