// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! MMU notifiers: keeping a secondary MMU in step with a process's page tables.
//!
//! C headers: [`include/linux/mmu_notifier.h`](srctree/include/linux/mmu_notifier.h),
//! [`mm/mmu_notifier.c`](srctree/mm/mmu_notifier.c).
//!
//! A device or hypervisor that maps a process's memory through its own page
//! tables (a *secondary MMU*) registers an MMU notifier on the process's
//! `mm_struct`. The VM then tells it, before changing a mapping, which range
//! changes (`invalidate_range_start`) and when the change is done
//! (`invalidate_range_end`). It also asks whether the device used a page
//! recently (`clear_flush_young`, `clear_young`, `test_young`), and tells it
//! when the address space goes away (`release`). The `invalidate_page`
//! callback of the early design (the first MMU notifier patches, Arcangeli,
//! Holt and Lameter, 2008) is gone: a one-page invalidation is a range of
//! one page.
//!
//! # Rules, and how the types keep them
//!
//! - **Non-blocking invalidations.** The OOM reaper invalidates with
//!   `MMU_NOTIFIER_RANGE_BLOCKABLE` clear. Only then may `invalidate_range_start`
//!   fail with `-EAGAIN`. Failing needs an [`Again`], which only
//!   [`Range::cannot_block`] makes, only for such a range, and only for the
//!   call whose range it is: it is bound to that call's lifetime (invariant,
//!   neither `Send` nor `Sync`), so it cannot be kept and returned from a later,
//!   blockable call.
//! - **A notifier that can fail has no `invalidate_range_end`.** After a
//!   failed start the core still calls `invalidate_range_end` of every
//!   notifier of the mm, the failed one included (it cannot know which
//!   failed), and warns if the failed one has an end callback.
//!   [`Range::cannot_block`] refuses to compile for a notifier with
//!   `invalidate_range_end`.
//! - **Retry protocol.** A secondary MMU faults a page in without the
//!   notifier's lock (GUP may sleep), then installs its entry under the lock.
//!   An invalidation between the two would leave a stale entry. [`InvalidateSeq`]
//!   does what `mmu_interval_read_begin()`/`mmu_interval_read_retry()` and
//!   KVM's `mmu_invalidate_seq` do. [`InvalidateSeq`] owns the table it
//!   protects: [`InvalidateSeq::read_begin`] gives a `#[must_use]`
//!   [`ReadBegin`] that names its sequence; only [`InvalidateSeq::read_retry`]
//!   of that same sequence turns it into the [`Stable`] guard through which
//!   alone the table is written with what was read, and only if no
//!   invalidation ran or is running.
//! - **Lifetime.** A [`Registration`] holds the notifier registered on an mm
//!   (the core keeps that mm allocated). Dropping it unregisters the notifier
//!   synchronously (`mmu_notifier_unregister()`: `release` if the mm is still
//!   alive, then an SRCU grace period) and frees the data in the dropping
//!   thread: no callback and no deferred free of ours runs after the drop
//!   returns, so no module code can run after the module is unloaded, and `T`
//!   is dropped in process context.
//! - **Context.** `clear_flush_young` and friends are called under the page
//!   table lock, and `invalidate_range_start` may be called non-blockable. Only
//!   spinlocks and non-sleeping work belong in them.
//!
//! # Examples
//!
//! `selftests/compile_pass/invalidate_seq.rs`: a device fault and an
//! invalidation around an [`InvalidateSeq`] (the example of that type);
//! `selftests/compile_pass/mirror_device.rs`: a [`Registration`] of a
//! [`super::mirror::Mirror`] on the caller's address space.

use super::mm::{Mm, MmWithUser};
use core::{
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{
    bindings,
    error::to_result,
    ffi::{c_int, c_ulong},
    prelude::*,
    types::{ARef, Opaque},
};

/// Why a range is invalidated (`enum mmu_notifier_event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The range is unmapped (munmap, mremap, madvise(DONTNEED), ...).
    Unmap,
    /// The pages are replaced (copy-on-write, KSM, THP split/collapse, ...).
    Clear,
    /// The protection of the VMA changes (mprotect).
    ProtectionVma,
    /// A page loses write permission (fork, page_mkclean).
    ProtectionPage,
    /// Soft-dirty tracking is reset.
    SoftDirty,
    /// The address space is going away.
    Release,
    /// The pages migrate.
    Migrate,
    /// The pages are made exclusive to a device.
    Exclusive,
    /// A value this code does not know.
    Other(u32),
}

impl Event {
    /// The number of known events; [`Event::index`] is below it.
    pub const COUNT: usize = 9;

    fn from_raw(e: bindings::mmu_notifier_event) -> Self {
        match e {
            bindings::mmu_notifier_event_MMU_NOTIFY_UNMAP => Self::Unmap,
            bindings::mmu_notifier_event_MMU_NOTIFY_CLEAR => Self::Clear,
            bindings::mmu_notifier_event_MMU_NOTIFY_PROTECTION_VMA => Self::ProtectionVma,
            bindings::mmu_notifier_event_MMU_NOTIFY_PROTECTION_PAGE => Self::ProtectionPage,
            bindings::mmu_notifier_event_MMU_NOTIFY_SOFT_DIRTY => Self::SoftDirty,
            bindings::mmu_notifier_event_MMU_NOTIFY_RELEASE => Self::Release,
            bindings::mmu_notifier_event_MMU_NOTIFY_MIGRATE => Self::Migrate,
            bindings::mmu_notifier_event_MMU_NOTIFY_EXCLUSIVE => Self::Exclusive,
            other => Self::Other(other),
        }
    }

    /// A dense index for per-event counters: the C value for known events,
    /// `COUNT - 1` for any other.
    pub fn index(self) -> usize {
        match self {
            Self::Unmap => 0,
            Self::Clear => 1,
            Self::ProtectionVma => 2,
            Self::ProtectionPage => 3,
            Self::SoftDirty => 4,
            Self::Release => 5,
            Self::Migrate => 6,
            Self::Exclusive => 7,
            Self::Other(_) => 8,
        }
    }
}

/// The range of an invalidation (`struct mmu_notifier_range`).
///
/// # Invariants
///
/// `raw` is valid for `'a`.
pub struct Range<'a> {
    raw: &'a bindings::mmu_notifier_range,
}

impl<'a> Range<'a> {
    /// The first address of the range.
    pub fn start(&self) -> usize {
        self.raw.start
    }

    /// The address just past the range.
    pub fn end(&self) -> usize {
        self.raw.end
    }

    /// Why the range is invalidated.
    pub fn event(&self) -> Event {
        Event::from_raw(self.raw.event)
    }

    /// Whether the callback may sleep.
    pub fn may_block(&self) -> bool {
        self.raw.flags & bindings::MMU_NOTIFIER_RANGE_BLOCKABLE != 0
    }

    /// For a non-blockable range only: the token that lets notifier `T`'s
    /// `invalidate_range_start` fail with `-EAGAIN` in this call.
    ///
    /// Does not compile for a `T` with `invalidate_range_end` (see the module
    /// documentation).
    pub fn cannot_block<T: MmuNotifier>(&self) -> Option<Again<'a, T>> {
        const {
            assert!(
                !T::HAS_INVALIDATE_RANGE_END,
                "a notifier with invalidate_range_end must not fail invalidate_range_start"
            )
        };
        if self.may_block() {
            None
        } else {
            Some(Again {
                _bound: PhantomData,
                _t: PhantomData,
            })
        }
    }

    /// Whether the range overlaps `[start, end)`.
    pub fn overlaps(&self, start: usize, end: usize) -> bool {
        self.start() < end && start < self.end()
    }
}

/// Permission for notifier `T` to fail a non-blockable invalidation with
/// `-EAGAIN`.
///
/// Made only by [`Range::cannot_block`], and valid only for the call that
/// received the range (invariant in `'a`, neither `Send` nor `Sync`).
pub struct Again<'a, T: MmuNotifier> {
    _bound: super::CallbackBound<'a>,
    _t: PhantomData<fn() -> T>,
}

/// The callbacks of an MMU notifier.
///
/// Implement only the callbacks needed: the others stay `NULL` in the table,
/// which the mm core skips.
///
/// # Examples
///
/// [`super::mirror::Mirror`] implements every callback, in a few lines each;
/// `selftests/compile_pass/mirror_device.rs` registers one on the caller's
/// address space.
#[vtable]
pub trait MmuNotifier: Send + Sync + Sized + 'static {
    /// The mappings of `range` are about to change: drop every secondary
    /// mapping of it, and create none until the matching
    /// `invalidate_range_end`.
    ///
    /// May fail only for a non-blockable range that would have to sleep, and
    /// only in a notifier without `invalidate_range_end`.
    fn invalidate_range_start<'a>(&self, _range: &Range<'a>) -> Result<(), Again<'a, Self>> {
        Ok(())
    }

    /// The change of `range` is complete.
    fn invalidate_range_end(&self, _range: &Range<'_>) {}

    /// Clears the accessed bits of `[start, end)` and flushes the secondary
    /// TLB, returning whether any bit was set.
    ///
    /// Called under the page table lock.
    fn clear_flush_young(&self, _start: usize, _end: usize) -> bool {
        false
    }

    /// Clears the accessed bits of `[start, end)` without a flush, returning
    /// whether any bit was set.
    ///
    /// Called under the page table lock.
    fn clear_young(&self, _start: usize, _end: usize) -> bool {
        false
    }

    /// Whether the page at `address` was accessed, without clearing.
    fn test_young(&self, _address: usize) -> bool {
        false
    }

    /// The address space is going away: drop every secondary mapping and
    /// create none again.
    ///
    /// Called at most once: from `exit_mmap()` when the process exits, or, if
    /// the mm is still alive, when the [`Registration`] is dropped
    /// (`mmu_notifier_unregister()`). Other callbacks may still be running on
    /// other CPUs while it runs, and none starts after the drop of the
    /// [`Registration`] returns.
    fn release(&self) {}
}

/// The allocation a notifier lives in: the C `struct mmu_notifier` and the
/// driver's data.
#[pin_data]
#[repr(C)]
struct Subscription<T: MmuNotifier> {
    #[pin]
    notifier: Opaque<bindings::mmu_notifier>,
    #[pin]
    data: T,
}

/// A notifier registered on an address space.
///
/// # Invariants
///
/// `sub` points to a `Subscription<T>` allocated by [`Registration::register`]
/// as a `KBox`, whose notifier is registered; it is ours to unregister and
/// free, which `drop` does.
pub struct Registration<T: MmuNotifier> {
    sub: NonNull<Subscription<T>>,
}

// SAFETY: `T` is `Send + Sync`; `mmu_notifier_put()` may run on any thread.
unsafe impl<T: MmuNotifier> Send for Registration<T> {}
// SAFETY: `&Registration` gives `&T`, and `T` is `Sync`.
unsafe impl<T: MmuNotifier> Sync for Registration<T> {}

impl<T: MmuNotifier> Registration<T> {
    /// Registers a notifier with data `data` on `mm`.
    ///
    /// # Context
    ///
    /// Takes `mmap_lock` for writing: may sleep; `mmap_lock` must not be held.
    pub fn register(mm: &MmWithUser, data: impl PinInit<T, Error>) -> Result<Self> {
        // `ops` is set right after zeroing.
        // SAFETY: all zeros is a valid `struct mmu_notifier` before registration.
        let notifier = unsafe {
            Opaque::ffi_init(|n: *mut bindings::mmu_notifier| {
                n.write(core::mem::zeroed());
                (*n).ops = MmuNotifierVTable::<T>::build();
            })
        };
        let sub = KBox::pin_init(
            try_pin_init!(Subscription {
                notifier <- notifier,
                data <- data,
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: never moved out of: freed as a `KBox` by `drop` or below.
        let sub = KBox::into_raw(unsafe { Pin::into_inner_unchecked(sub) });
        // SAFETY: `sub` is valid and pinned; `mm` has users, and we do not hold its `mmap_lock`.
        let ret = unsafe { bindings::mmu_notifier_register((*sub).notifier.get(), mm.as_raw()) };
        if let Err(e) = to_result(ret) {
            // SAFETY: registration failed, so the core does not know `sub`; it is ours to free.
            drop(unsafe { KBox::from_raw(sub) });
            return Err(e);
        }
        // INVARIANT: registered; unregistered and freed by `drop`.
        Ok(Self {
            // SAFETY: `KBox::into_raw` never returns null.
            sub: unsafe { NonNull::new_unchecked(sub) },
        })
    }

    /// The `mm_struct` the notifier is registered on; the core holds its
    /// `mm_count` until the notifier is unregistered, which only `drop` does.
    fn mm(&self) -> *mut bindings::mm_struct {
        // SAFETY: `sub` is valid while registered (type invariant).
        unsafe { (*(*self.sub.as_ptr()).notifier.get()).mm }
    }

    /// The address space, with a users reference, unless it is already gone
    /// (the process exited).
    pub fn mm_user(&self) -> Option<ARef<MmWithUser>> {
        // SAFETY: `mm` stays allocated until we drop (see `Self::mm`).
        unsafe { Mm::from_raw(self.mm()) }.mmget_not_zero()
    }

    /// Whether the calling task's address space is the one this notifier is
    /// registered on.
    pub fn is_current_mm(&self) -> bool {
        // SAFETY: `current` is always valid; only reads its `mm` pointer.
        let mm = unsafe { super::bindings::rmm_current_mm() };
        mm == self.mm()
    }
}

impl<T: MmuNotifier> core::ops::Deref for Registration<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `sub` is valid until after `drop` (type invariant).
        unsafe { &(*self.sub.as_ptr()).data }
    }
}

impl<T: MmuNotifier> Drop for Registration<T> {
    /// Unregisters the notifier and frees its data. `release` runs first if
    /// the address space is still alive; when this returns no callback runs
    /// and none will.
    ///
    /// # Context
    ///
    /// Sleeps (an SRCU grace period): never drop a `Registration` from one of
    /// its own callbacks or with a spinlock held.
    fn drop(&mut self) {
        let sub = self.sub.as_ptr();
        // SAFETY: `sub` is registered (type invariant), so it is valid.
        let n = unsafe { (*sub).notifier.get() };
        // After this, no callback runs: SRCU readers are waited for. The
        // core's `mm_count` keeps the mm valid until this drops it.
        // SAFETY: registered by `register` on `self.mm()`, unregistered once, here.
        unsafe { bindings::mmu_notifier_unregister(n, self.mm()) };
        // SAFETY: the box of `register`; the core no longer knows it.
        drop(unsafe { KBox::from_raw(sub) });
    }
}

/// The `struct mmu_notifier_ops` of `T`: one trampoline per callback `T`
/// has (`#[vtable]`); the others are left out (`None`), as in C.
///
/// The notifier core only reads the table (through `mmu_notifier::ops`), so
/// one `'static` constant serves every notifier of `T`.
struct MmuNotifierVTable<T: MmuNotifier>(PhantomData<T>);

impl<T: MmuNotifier> MmuNotifierVTable<T> {
    const VTABLE: bindings::mmu_notifier_ops = bindings::mmu_notifier_ops {
        release: if T::HAS_RELEASE {
            Some(Self::release)
        } else {
            None
        },
        clear_flush_young: if T::HAS_CLEAR_FLUSH_YOUNG {
            Some(Self::clear_flush_young)
        } else {
            None
        },
        clear_young: if T::HAS_CLEAR_YOUNG {
            Some(Self::clear_young)
        } else {
            None
        },
        test_young: if T::HAS_TEST_YOUNG {
            Some(Self::test_young)
        } else {
            None
        },
        invalidate_range_start: if T::HAS_INVALIDATE_RANGE_START {
            Some(Self::invalidate_range_start)
        } else {
            None
        },
        invalidate_range_end: if T::HAS_INVALIDATE_RANGE_END {
            Some(Self::invalidate_range_end)
        } else {
            None
        },
        arch_invalidate_secondary_tlbs: None,
        alloc_notifier: None,
        free_notifier: None,
    };

    /// The table, `'static` by constant promotion, as `struct mmu_notifier`
    /// points to it.
    const fn build() -> &'static bindings::mmu_notifier_ops {
        &Self::VTABLE
    }

    /// # Safety
    ///
    /// `n` is the notifier of a live `Subscription<T>` (the notifier core
    /// calls callbacks only for registered notifiers, under SRCU, and frees
    /// after a grace period).
    unsafe fn data<'a>(n: *mut bindings::mmu_notifier) -> &'a T {
        // `notifier` is the first field of the `repr(C)` `Subscription<T>`.
        // SAFETY: `n` is the notifier of a live `Subscription<T>` (safety contract).
        let sub = unsafe { &*n.cast::<Subscription<T>>() };
        &sub.data
    }

    /// # Safety
    ///
    /// As for [`Self::data`].
    unsafe extern "C" fn release(n: *mut bindings::mmu_notifier, _mm: *mut bindings::mm_struct) {
        // SAFETY: as the safety contract says.
        unsafe { Self::data(n) }.release();
    }

    /// # Safety
    ///
    /// As for [`Self::data`].
    unsafe extern "C" fn clear_flush_young(
        n: *mut bindings::mmu_notifier,
        _mm: *mut bindings::mm_struct,
        start: c_ulong,
        end: c_ulong,
    ) -> c_int {
        // SAFETY: as the safety contract says.
        unsafe { Self::data(n) }.clear_flush_young(start, end) as c_int
    }

    /// # Safety
    ///
    /// As for [`Self::data`].
    unsafe extern "C" fn clear_young(
        n: *mut bindings::mmu_notifier,
        _mm: *mut bindings::mm_struct,
        start: c_ulong,
        end: c_ulong,
    ) -> c_int {
        // SAFETY: as the safety contract says.
        unsafe { Self::data(n) }.clear_young(start, end) as c_int
    }

    /// # Safety
    ///
    /// As for [`Self::data`].
    unsafe extern "C" fn test_young(
        n: *mut bindings::mmu_notifier,
        _mm: *mut bindings::mm_struct,
        address: c_ulong,
    ) -> c_int {
        // SAFETY: as the safety contract says.
        unsafe { Self::data(n) }.test_young(address) as c_int
    }

    /// # Safety
    ///
    /// As for [`Self::data`]; `range` is valid for the call.
    unsafe extern "C" fn invalidate_range_start(
        n: *mut bindings::mmu_notifier,
        range: *const bindings::mmu_notifier_range,
    ) -> c_int {
        // SAFETY: `range` is valid for the call (safety contract).
        let raw = unsafe { &*range };
        // INVARIANT: `raw` is valid for the call.
        let range = Range { raw };
        // SAFETY: as the safety contract says.
        match unsafe { Self::data(n) }.invalidate_range_start(&range) {
            Ok(()) => 0,
            // An `Again` exists only for a non-blockable range of this call,
            // and only in a notifier without `invalidate_range_end`.
            Err(Again { .. }) => EAGAIN.to_errno(),
        }
    }

    /// # Safety
    ///
    /// As for [`Self::data`]; `range` is valid for the call.
    unsafe extern "C" fn invalidate_range_end(
        n: *mut bindings::mmu_notifier,
        range: *const bindings::mmu_notifier_range,
    ) {
        // SAFETY: `range` is valid for the call (safety contract).
        let raw = unsafe { &*range };
        // INVARIANT: `raw` is valid for the call.
        let range = Range { raw };
        // SAFETY: as the safety contract says.
        unsafe { Self::data(n) }.invalidate_range_end(&range);
    }
}

/// The invalidation sequence of a secondary MMU and the table `D` it
/// protects: lives inside the lock that also protects the table.
///
/// The table is read and invalidated through [`Self::table`] and
/// [`Self::table_mut`]; what a fault read is written into it only through the
/// [`Stable`] guard of [`Self::read_retry`].
///
/// # Examples
///
/// A device fault, and what the notifier does around an invalidation:
///
/// ```ignore
/// fn fault(lock: &SpinLock<InvalidateSeq<Table>>, addr: usize) -> Result {
///     loop {
///         let begin = lock.lock().read_begin(); // no lock held while faulting
///         let pfn = fault_in(addr)?;
///         let mut g = lock.lock();
///         match g.read_retry(begin) {
///             Ok(mut stable) => return Table::install(&mut stable, addr, pfn),
///             Err(Retry) => {} // an invalidation ran: fault again
///         }
///     }
/// }
///
/// fn invalidate(lock: &SpinLock<InvalidateSeq<Table>>, start: usize, end: usize) {
///     lock.lock().invalidate_start().clear(start, end);
///     // The VM changes the mapping here.
///     lock.lock().invalidate_end();
/// }
/// ```
///
/// Compiled, with a `Table` of 16 pages and a `fault_in()` by GUP, as
/// `selftests/compile_pass/invalidate_seq.rs` (out-of-tree code has no
/// rustdoc doctests); [`super::mirror`] is the whole secondary MMU.
///
/// # Invariants
///
/// What [`Self::read_retry`] relies on to call a fault's result stable:
///
/// - `active` counts the [`Self::invalidate_start`] calls not yet ended by
///   [`Self::invalidate_end`] (an unmatched end is ignored, never counted).
/// - `seq` changes (by one, wrapping) at every start and every end, so a
///   [`ReadBegin`] whose `seq` still equals it while `active` is 0 saw no
///   invalidation start, run or end since it was taken.
/// - `id` is unique among all sequences (a global counter): a [`ReadBegin`]
///   names the sequence it was taken from.
/// - `table` is written with a fault's result only through a [`Stable`],
///   which borrows the sequence mutably: while it lives no invalidation can
///   start (that needs `&mut self` too, under the same lock).
pub struct InvalidateSeq<D> {
    id: u64,
    seq: u64,
    active: u32,
    table: D,
}

/// A snapshot of an [`InvalidateSeq`], taken before faulting a page in.
#[must_use = "a fault must be checked with read_retry before its result is installed"]
pub struct ReadBegin {
    id: u64,
    seq: u64,
}

/// An invalidation ran or is running since [`InvalidateSeq::read_begin`]:
/// the faulted page may already be stale.
#[derive(Debug)]
pub struct Retry;

/// Proof that no invalidation ran since a [`ReadBegin`] of this very
/// sequence and none is running.
///
/// It holds while the lock protecting the sequence stays held, and is the
/// only way to write into the table what the fault read.
pub struct Stable<'a, D> {
    table: &'a mut D,
}

impl<D> core::ops::Deref for Stable<'_, D> {
    type Target = D;

    fn deref(&self) -> &D {
        self.table
    }
}

impl<D> Stable<'_, D> {
    /// The table, to install what the fault read.
    pub fn table(&mut self) -> &mut D {
        self.table
    }
}

impl<D> InvalidateSeq<D> {
    /// A sequence protecting `table`.
    pub fn new(table: D) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            seq: 0,
            active: 0,
            table,
        }
    }

    /// The table, to read it.
    pub fn table(&self) -> &D {
        &self.table
    }

    /// The table, to drop or update entries (never to install a fault's
    /// result: that needs [`Stable`]).
    pub fn table_mut(&mut self) -> &mut D {
        &mut self.table
    }

    /// Call from `invalidate_range_start` for a range that overlaps the
    /// table, with the lock held, before dropping entries.
    pub fn invalidate_start(&mut self) -> &mut D {
        self.active += 1;
        self.seq = self.seq.wrapping_add(1);
        &mut self.table
    }

    /// Call from `invalidate_range_end` for the same ranges as
    /// [`Self::invalidate_start`].
    ///
    /// An end without a start is a bug of the caller: it is reported and
    /// ignored, never allowed to end an invalidation that is still running.
    pub fn invalidate_end(&mut self) {
        if self.active == 0 {
            pr_warn!("rmm: invalidate_end without invalidate_start: ignored\n");
            return;
        }
        self.active -= 1;
        self.seq = self.seq.wrapping_add(1);
    }

    /// Whether an invalidation is running.
    pub fn is_active(&self) -> bool {
        self.active != 0
    }

    /// Starts a read: snapshot before faulting a page in.
    pub fn read_begin(&self) -> ReadBegin {
        ReadBegin {
            id: self.id,
            seq: self.seq,
        }
    }

    /// Ends a read: `Ok` with the guard to install what was read, or `Retry`
    /// if an invalidation ran or is running (or `begin` is another
    /// sequence's).
    pub fn read_retry(&mut self, begin: ReadBegin) -> Result<Stable<'_, D>, Retry> {
        if begin.id != self.id {
            pr_warn!("rmm: read_retry with another sequence's read_begin\n");
            return Err(Retry);
        }
        if self.active != 0 || self.seq != begin.seq {
            return Err(Retry);
        }
        Ok(Stable {
            table: &mut self.table,
        })
    }
}
