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
//! callback of the early design (seed thread 003) is gone: a one-page
//! invalidation is a range of one page.
//!
//! # Rules, and how the types keep them
//!
//! - **Non-blocking invalidations.** The OOM reaper invalidates with
//!   `MMU_NOTIFIER_RANGE_BLOCKABLE` clear. Only then may `invalidate_range_start`
//!   fail with `-EAGAIN`, and after a failure no `invalidate_range_end` follows.
//!   Failing needs an [`Again`], which only [`Range::cannot_block`] makes, and
//!   only for such a range.
//! - **Retry protocol.** A secondary MMU faults a page in without the
//!   notifier's lock (GUP may sleep), then installs its entry under the lock.
//!   An invalidation between the two would leave a stale entry. [`InvalidateSeq`]
//!   does what `mmu_interval_read_begin()`/`mmu_interval_read_retry()` and
//!   KVM's `mmu_invalidate_seq` do. [`InvalidateSeq::read_begin`] gives a
//!   `#[must_use]` [`ReadBegin`]; only [`InvalidateSeq::read_retry`] turns it
//!   into the [`Stable`] proof an install must take, and only if no
//!   invalidation ran or is running.
//! - **Lifetime.** A [`Registration`] holds the notifier registered on an mm
//!   (the core keeps that mm allocated). Dropping it calls `mmu_notifier_put()`,
//!   and the data is freed by `free_notifier` after an SRCU grace period, when
//!   no callback can still be running. Those frees run module code, so a module
//!   must wait for them before it goes away: it holds a [`ModuleGuard`], whose
//!   drop calls `mmu_notifier_synchronize()`.
//! - **Context.** `clear_flush_young` and friends are called under the page
//!   table lock, and `invalidate_range_start` may be called non-blockable. Only
//!   spinlocks and non-sleeping work belong in them.

use super::mm::MmUser;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    error::to_result,
    ffi::{c_int, c_ulong},
    prelude::*,
    types::Opaque,
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

impl Range<'_> {
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

    /// For a non-blockable range only: the token that lets
    /// `invalidate_range_start` fail with `-EAGAIN`.
    pub fn cannot_block(&self) -> Option<Again> {
        if self.may_block() {
            None
        } else {
            Some(Again(()))
        }
    }

    /// Whether the range overlaps `[start, end)`.
    pub fn overlaps(&self, start: usize, end: usize) -> bool {
        self.start() < end && start < self.end()
    }
}

/// Permission to fail a non-blockable invalidation with `-EAGAIN`; made only
/// by [`Range::cannot_block`].
pub struct Again(());

/// The callbacks of an MMU notifier.
///
/// Implement only the callbacks needed: the others stay `NULL` in the table,
/// which the mm core skips.
#[vtable]
pub trait MmuNotifier: Send + Sync + Sized + 'static {
    /// The mappings of `range` are about to change: drop every secondary
    /// mapping of it, and create none until the matching
    /// `invalidate_range_end`.
    ///
    /// May fail only for a non-blockable range that would have to sleep.
    fn invalidate_range_start(&self, _range: &Range<'_>) -> Result<(), Again> {
        Ok(())
    }

    /// The change of `range` is complete.
    fn invalidate_range_end(&self, _range: &Range<'_>) {}

    /// Clears the accessed bits of `[start, end)` and flushes the secondary
    /// TLB; returns whether any bit was set. Called under the page table lock.
    fn clear_flush_young(&self, _start: usize, _end: usize) -> bool {
        false
    }

    /// Clears the accessed bits of `[start, end)` without a flush; returns
    /// whether any bit was set. Called under the page table lock.
    fn clear_young(&self, _start: usize, _end: usize) -> bool {
        false
    }

    /// Whether the page at `address` was accessed, without clearing.
    fn test_young(&self, _address: usize) -> bool {
        false
    }

    /// The address space is going away: drop every secondary mapping and
    /// create none again. Called once, from `exit_mmap()` or when the
    /// notifier is unregistered.
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
/// as a `KBox`, whose notifier is registered with one user (ours). It is
/// freed by `free_notifier` after `mmu_notifier_put()` in `drop`.
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
    /// The module must hold a [`ModuleGuard`] (proven by `_guard`), so that
    /// it waits for the deferred free of this notifier before it unloads.
    ///
    /// # Context
    ///
    /// Takes `mmap_lock` for writing: may sleep; `mmap_lock` must not be held.
    pub fn register(
        mm: &MmUser,
        _guard: &ModuleGuard,
        data: impl PinInit<T, Error>,
    ) -> Result<Self> {
        // `ops` is set right after zeroing.
        // SAFETY: all zeros is a valid `struct mmu_notifier` before registration.
        let notifier = unsafe {
            Opaque::ffi_init(|n: *mut bindings::mmu_notifier| {
                n.write(core::mem::zeroed());
                (*n).ops = Ops::<T>::table();
            })
        };
        let sub = KBox::pin_init(
            try_pin_init!(Subscription {
                notifier <- notifier,
                data <- data,
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: never moved out of: freed as a `KBox` by `free_notifier` or below.
        let sub = KBox::into_raw(unsafe { Pin::into_inner_unchecked(sub) });
        // SAFETY: `sub` is valid and pinned; `mm` has users, and we do not hold its `mmap_lock`.
        let ret = unsafe { bindings::mmu_notifier_register((*sub).notifier.get(), mm.as_ptr()) };
        if let Err(e) = to_result(ret) {
            // SAFETY: registration failed, so the core does not know `sub`; it is ours to free.
            drop(unsafe { KBox::from_raw(sub) });
            return Err(e);
        }
        // INVARIANT: registered with one user; freed by `free_notifier`.
        Ok(Self {
            // SAFETY: `KBox::into_raw` never returns null.
            sub: unsafe { NonNull::new_unchecked(sub) },
        })
    }

    /// The address space, with a users reference, unless it is already gone
    /// (the process exited).
    pub fn mm_user(&self) -> Option<MmUser> {
        // SAFETY: `sub` is valid while registered (type invariant).
        let mm = unsafe { (*(*self.sub.as_ptr()).notifier.get()).mm };
        // The core holds `mm_count` of a registered notifier's mm until it frees it.
        // SAFETY: `mm` stays allocated: the notifier is freed only after we drop.
        unsafe { MmUser::get_not_zero(mm) }
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
    /// Drops our user of the notifier. No callback starts after this returns;
    /// running ones finish, and `free_notifier` frees the data after an SRCU
    /// grace period.
    fn drop(&mut self) {
        // SAFETY: registered with our one user (type invariant).
        unsafe { bindings::mmu_notifier_put((*self.sub.as_ptr()).notifier.get()) };
    }
}

/// Held by a module that registers notifiers: dropping it (at module exit)
/// waits for every deferred `free_notifier`, which runs module code.
pub struct ModuleGuard(());

impl ModuleGuard {
    /// Makes the guard; keep it in the module's state, dropped at exit.
    pub fn new() -> Self {
        Self(())
    }
}

impl Drop for ModuleGuard {
    fn drop(&mut self) {
        // SAFETY: no locks held; waits for pending SRCU callbacks of the notifier core.
        unsafe { bindings::mmu_notifier_synchronize() };
    }
}

/// The `struct mmu_notifier_ops` of `T`.
struct Ops<T: MmuNotifier>(PhantomData<T>);

impl<T: MmuNotifier> Ops<T> {
    const TABLE: bindings::mmu_notifier_ops = bindings::mmu_notifier_ops {
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
        free_notifier: Some(Self::free_notifier),
    };

    fn table() -> &'static bindings::mmu_notifier_ops {
        &Self::TABLE
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
            // An `Again` exists only for a non-blockable range.
            Err(Again(())) => EAGAIN.to_errno(),
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

    /// # Safety
    ///
    /// Called once by the notifier core, after `mmu_notifier_put()` and an
    /// SRCU grace period: no callback runs any more.
    unsafe extern "C" fn free_notifier(n: *mut bindings::mmu_notifier) {
        // `n` is the first field of a `Subscription<T>` boxed by `Registration::register`.
        // SAFETY: that box is ours to free: nothing uses it any more (safety contract).
        drop(unsafe { KBox::from_raw(n.cast::<Subscription<T>>()) });
    }
}

/// The invalidation sequence of a secondary MMU: lives inside the lock that
/// also protects its entries.
///
/// ```ignore
/// let begin = lock.lock().seq.read_begin();   // no lock held while faulting
/// let page = fault_in(addr)?;
/// let mut g = lock.lock();
/// match g.seq.read_retry(begin) {
///     Ok(stable) => g.table.install(stable, addr, &page),
///     Err(Retry) => { /* an invalidation ran: fault again */ }
/// }
/// ```
#[derive(Default)]
pub struct InvalidateSeq {
    seq: u64,
    active: u32,
}

/// A snapshot of an [`InvalidateSeq`], taken before faulting a page in.
#[must_use = "a fault must be checked with read_retry before its result is installed"]
pub struct ReadBegin {
    seq: u64,
}

/// An invalidation ran or is running since [`InvalidateSeq::read_begin`]:
/// the faulted page may already be stale.
#[derive(Debug)]
pub struct Retry;

/// Proof that no invalidation ran since a [`ReadBegin`] and none is running,
/// valid while the lock protecting the sequence stays held.
pub struct Stable<'a> {
    _seq: PhantomData<&'a InvalidateSeq>,
}

impl InvalidateSeq {
    /// Call from `invalidate_range_start` for a range that overlaps the
    /// mirror, with the lock held, before dropping entries.
    pub fn invalidate_start(&mut self) {
        self.active += 1;
        self.seq = self.seq.wrapping_add(1);
    }

    /// Call from `invalidate_range_end` for the same ranges as
    /// [`Self::invalidate_start`].
    pub fn invalidate_end(&mut self) {
        self.active = self.active.saturating_sub(1);
        self.seq = self.seq.wrapping_add(1);
    }

    /// Whether an invalidation is running.
    pub fn is_active(&self) -> bool {
        self.active != 0
    }

    /// Starts a read: snapshot before faulting a page in.
    pub fn read_begin(&self) -> ReadBegin {
        ReadBegin { seq: self.seq }
    }

    /// Ends a read: `Ok` with the proof to install what was read, or `Retry`
    /// if an invalidation ran or is running.
    pub fn read_retry(&self, begin: ReadBegin) -> Result<Stable<'_>, Retry> {
        if self.active != 0 || self.seq != begin.seq {
            return Err(Retry);
        }
        Ok(Stable { _seq: PhantomData })
    }
}
