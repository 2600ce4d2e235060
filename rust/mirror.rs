// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! A secondary MMU: a device page table of a process's address space.
//!
//! A [`Mirror`] maps pages of the process's address space, on demand, in a
//! [`ShadowTable`] (a four-level table in movable pages, see
//! [`super::shadow`]), with an accessed, a dirty and a writable bit of its
//! own, the way a device's MMU would. A device access anywhere in the
//! mirror's window (the whole address space for [`Mirror::whole`], one range
//! for [`Mirror::new`]) faults missing entries in (GUP), and the page
//! reference is dropped as soon as the entry is installed: the mirror pins
//! nothing.
//!
//! # Why an entry's page cannot be freed under it
//!
//! A mapped page is freed, or replaced, only after the VM has invalidated its
//! mapping: `invalidate_range_start` comes before the page table changes,
//! and the page is freed after. [`Mirror`] implements [`MmuNotifier`] itself,
//! so no driver can forget this. Under its lock it drops every entry of an
//! overlapping range in `invalidate_range_start`, and in `release` (process
//! exit) it drops all of them and accepts no more. An entry is installed only
//! with a [`Stable`](super::mmu_notifier::Stable) proof that no invalidation ran since the fault began and
//! none is running. So an entry found under the lock refers to a page that is
//! still mapped at its address, and reading or writing it under the lock is
//! safe. This is KVM's `mmu_invalidate_seq` scheme, with GUP instead of
//! `hva_to_pfn`.
//!
//! # Dirty bits
//!
//! A writable entry is made only by a write fault, which dirties the CPU's
//! PTE (and breaks copy-on-write). Write-protecting the page again (fork,
//! `page_mkclean()`) invalidates the entry first, so a device write can never
//! land in a page whose dirty bit the VM has already collected (the hazard
//! raised in Ross Biro's "MM: Make Page Tables Relocatable" RFC, linux-mm,
//! April 2008).
//!
//! # Accessed bits
//!
//! `clear_young` and `clear_flush_young` clear *every* accessed bit of their
//! range before answering, and answer whether any was set. Stopping at the
//! first young page would leave the others young for another scan, so a page
//! would be seen young N times for N mappings (why the first MMU notifier
//! patches, Arcangeli, Holt and Lameter, 2008, combined `age_page` with
//! `|`). They take no lock of the mirror's: the table's bits are
//! read and cleared atomically under RCU ([`TableHandle::harvest`]).
//!
//! # Who may use a mirror
//!
//! Only the process whose address space is mirrored: every device access
//! from another mm (a child after `fork`, a process that received the file
//! over a socket) fails with `EIO`, as KVM does for a VM fd used outside its
//! mm. Otherwise holding the file would be a way to read and write another
//! process's memory.
//!
//! # Faults that wait
//!
//! A fault that finds an invalidation running sleeps until it ends (it is
//! woken by `invalidate_range_end`), and retries; like `hmm_range_fault()`'s
//! callers it gives up with `EBUSY` after [`FAULT_TIMEOUT_MS`] without
//! progress, returns `EINTR` at once on a fatal signal, and `ERESTARTSYS` on
//! another signal.
//!
//! # Lock order
//!
//! 1. `mmap_lock`, the rmap locks (`i_mmap_rwsem`, anon_vma lock) and the
//!    page table lock: the notifier core calls the callbacks under them
//!    (the young callbacks under the PT lock, invalidations under the rmap
//!    locks).
//! 2. `Mirror::inner` (a spinlock). Faulting (GUP) and making tables take
//!    `mmap_lock` and sleep with it not held. Nothing allocates (beyond
//!    `GFP_NOWAIT`) or sleeps under it.
//! 3. The shadow table's own lock (see [`super::shadow`]).

use super::{
    mm::MmWithUser,
    mmu_notifier::{Again, Event, InvalidateSeq, MmuNotifier, Range, Registration},
    page::{self, PageRef, PAGE_SIZE},
    shadow::{self, ShadowTable, TableCounts, TableHandle},
};
use core::ptr::NonNull;
use kernel::{
    bindings, new_condvar, new_spinlock,
    prelude::*,
    sync::{CondVar, SpinLock},
    time::{self, Ktime},
    types::ARef,
    uaccess::UserPtr,
};

/// How long a device fault waits for invalidations before it fails with
/// `EBUSY` (`HMM_RANGE_DEFAULT_TIMEOUT`).
pub const FAULT_TIMEOUT_MS: i64 = 1000;

/// The pages a device read to user space takes references to under one
/// lock ([`Registration::read_to_user`]).
pub const COPY_BATCH: usize = 64;

/// What a driver learns of its mirror's events (for statistics).
pub trait MirrorHooks: Send + Sync + 'static {
    /// An overlapping range was invalidated; `dropped` entries were valid;
    /// `blockable` is false for a non-blockable one (the OOM reaper's).
    fn invalidated(&self, _event: Event, _dropped: usize, _blockable: bool) {}
    /// A young callback answered `young`.
    fn young(&self, _young: bool) {}
    /// An entry was faulted in, or made writable (for writing if `write`).
    fn faulted(&self, _write: bool) {}
    /// A fault lost a race with an invalidation and was retried.
    fn retried(&self) {}
    /// The address space went away.
    fn released(&self) {}
}

/// The flags of [`Registration::snapshot`], per page.
pub mod flags {
    /// The entry is valid.
    pub const VALID: u8 = super::shadow::VALID as u8;
    /// The entry allows writes.
    pub const WRITE: u8 = super::shadow::WRITE as u8;
    /// The device accessed the page since the last young callback.
    pub const ACCESSED: u8 = super::shadow::ACCESSED as u8;
    /// The device wrote the page through this entry.
    pub const DIRTY: u8 = super::shadow::DIRTY as u8;
}

struct Inner {
    seq: InvalidateSeq<ShadowTable>,
    dead: bool,
}

/// Counts of a mirror's table.
#[derive(Clone, Copy, Default)]
pub struct Counts {
    /// Valid entries.
    pub valid: usize,
    /// Whether the address space went away.
    pub released: bool,
    /// The table's pages.
    pub table: TableCounts,
}

/// What one device access did.
#[derive(Clone, Copy, Default, Debug)]
pub struct Access {
    /// Fault passes the access needed (test_hmm's `faults`).
    ///
    /// 0 if every entry was valid already, 1 if it faulted what was missing
    /// in one pass, more if invalidations took entries away meanwhile.
    pub faults: u64,
}

/// A device page table of a window `[start, end)` of an address space.
///
/// # Examples
///
/// `selftests/compile_pass/mirror_device.rs` (the example of
/// `Documentation/rmirror.rst`): a device that mirrors a window of the
/// caller's memory and reads, writes and ages it. `samples/rmirror/` is a
/// whole driver on it.
///
/// # Invariants
///
/// What the device accesses and the notifier callbacks rely on:
///
/// - `start < end`, both page aligned, and `end` is at most
///   [`shadow::VA_LIMIT`] ([`Self::new`] and [`Self::whole`]).
/// - `table` is the handle of the [`ShadowTable`] that `inner.seq` protects.
/// - The table has entries only inside `[start, end)`: faults install only
///   there, and the callbacks clip their ranges to it.
/// - While `inner` is held, a valid entry refers to the page the address
///   space maps at its address: an entry is installed only through a
///   [`Stable`](super::mmu_notifier::Stable) of `inner.seq` (no
///   invalidation ran since its GUP began, and none is running), and
///   `invalidate_range_start` drops every entry of an overlapping range,
///   under `inner`, before the VM changes the mapping. The page reads and
///   writes of the device accesses rely on this.
/// - A writable entry was installed by a write fault, which dirtied the
///   CPU's PTE and broke copy-on-write.
/// - Once `inner.dead` is set (by `release`), the table is empty and stays
///   so: a fault checks `dead` under `inner` before it installs anything.
/// - `settled` is notified at the end of every invalidation and at
///   `release`, so a fault sleeping on it while an invalidation runs wakes.
#[pin_data]
pub struct Mirror<H: MirrorHooks> {
    start: usize,
    end: usize,
    /// The table's shared handle: harvesting and making tables, without
    /// `inner`.
    table: TableHandle,
    #[pin]
    inner: SpinLock<Inner>,
    /// Faults waiting for invalidations to end.
    #[pin]
    settled: CondVar,
    /// The driver's hooks.
    pub hooks: H,
}

impl<H: MirrorHooks> Mirror<H> {
    /// The largest window [`Self::new`] takes.
    pub const MAX_LEN: usize = 1 << 30;

    /// A mirror whose device may access only `[start, start + len)`: page
    /// aligned, not empty, at most [`Self::MAX_LEN`] (else `EINVAL`).
    pub fn new(start: usize, len: usize, hooks: H) -> Result<impl PinInit<Self, Error>> {
        let aligned = start % PAGE_SIZE == 0 && len % PAGE_SIZE == 0;
        let end = start.checked_add(len).ok_or(EINVAL)?;
        if !aligned || len == 0 || len > Self::MAX_LEN {
            return Err(EINVAL);
        }
        if end > shadow::VA_LIMIT {
            // Beyond any user address: nothing can be mapped there.
            return Err(EFAULT);
        }
        Self::window(start, end, hooks)
    }

    /// A mirror of the whole address space (as far as [`shadow::VA_LIMIT`]),
    /// as test_hmm's device has.
    pub fn whole(hooks: H) -> Result<impl PinInit<Self, Error>> {
        Self::window(0, shadow::VA_LIMIT, hooks)
    }

    fn window(start: usize, end: usize, hooks: H) -> Result<impl PinInit<Self, Error>> {
        let table = ShadowTable::new()?;
        let handle = table.handle();
        let inner = Inner {
            seq: InvalidateSeq::new(table),
            dead: false,
        };
        Ok(try_pin_init!(Self {
            start,
            end,
            table: handle,
            inner <- new_spinlock!(inner, "rmm::mirror::Mirror::inner"),
            settled <- new_condvar!("rmm::mirror::Mirror::settled"),
            hooks,
        }))
    }

    /// The first address of the window.
    pub fn start(&self) -> usize {
        self.start
    }

    /// The address just past the window.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The end of `[addr, addr + len)`, a non-empty range inside the window
    /// (else `EINVAL`).
    fn window_end(&self, addr: usize, len: usize) -> Result<usize> {
        let end = addr.checked_add(len).ok_or(EINVAL)?;
        if len == 0 || addr < self.start || end > self.end {
            return Err(EINVAL);
        }
        Ok(end)
    }

    /// `[start, end)` clipped to the window, if not empty.
    fn clip(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let s = start.max(self.start);
        let e = end.min(self.end);
        (s < e).then_some((s, e))
    }

    /// Counts of the table.
    pub fn counts(&self) -> Counts {
        let g = self.inner.lock();
        Counts {
            valid: g.seq.table().valid(),
            released: g.dead,
            table: self.table.counts(),
        }
    }

    /// The flags (see [`flags`]) of each page from the page of `addr`, into
    /// `out`.
    fn snapshot_table(&self, addr: usize, out: &mut [u8]) -> Result {
        let addr = addr - addr % PAGE_SIZE;
        let len = out.len().checked_mul(PAGE_SIZE).ok_or(EINVAL)?;
        let end = addr.checked_add(len).ok_or(EINVAL)?;
        if addr < self.start || end > self.end {
            return Err(EINVAL);
        }
        let mut bits = [0u64; 64];
        for (k, chunk) in out.chunks_mut(bits.len()).enumerate() {
            let at = addr + k * bits.len() * PAGE_SIZE;
            let bits = &mut bits[..chunk.len()];
            self.inner.lock().seq.table().snapshot(at, bits)?;
            for (o, b) in chunk.iter_mut().zip(bits.iter()) {
                *o = *b as u8;
            }
        }
        Ok(())
    }

    fn harvest_young(&self, start: usize, end: usize) -> bool {
        let young = match self.clip(start, end) {
            Some((s, e)) => self.table.harvest(s, e, true),
            None => false,
        };
        self.hooks.young(young);
        young
    }

    /// Starts an invalidation of the whole table by the device itself, as a
    /// device TLB shootdown would: every entry is dropped, and faults wait
    /// (see the module documentation) until the returned guard is dropped.
    fn invalidate_all(&self) -> DeviceInvalidation<'_, H> {
        let mut g = self.inner.lock();
        let (s, e) = (self.start, self.end);
        g.seq.invalidate_start().clear(s, e);
        DeviceInvalidation { mirror: self }
    }

    fn end_invalidation(&self) {
        self.inner.lock().seq.invalidate_end();
        self.settled.notify_all();
    }
}

/// An invalidation of a whole mirror by its device, running until dropped
/// ([`Mirror::invalidate_all`]).
pub struct DeviceInvalidation<'a, H: MirrorHooks> {
    mirror: &'a Mirror<H>,
}

impl<H: MirrorHooks> Drop for DeviceInvalidation<'_, H> {
    fn drop(&mut self) {
        self.mirror.end_invalidation();
    }
}

#[vtable]
impl<H: MirrorHooks> MmuNotifier for Mirror<H> {
    fn invalidate_range_start<'a>(&self, range: &Range<'a>) -> Result<(), Again<'a, Self>> {
        let Some((s, e)) = self.clip(range.start(), range.end()) else {
            return Ok(());
        };
        let mut g = self.inner.lock();
        let dropped = g.seq.invalidate_start().clear(s, e);
        drop(g);
        self.hooks
            .invalidated(range.event(), dropped, range.may_block());
        // Only spinlocks: this never needs to block, so never fails (and the
        // type forbids failing: this notifier has `invalidate_range_end`).
        Ok(())
    }

    fn invalidate_range_end(&self, range: &Range<'_>) {
        if self.clip(range.start(), range.end()).is_some() {
            self.end_invalidation();
        }
    }

    fn clear_flush_young(&self, start: usize, end: usize) -> bool {
        // The shadow table has no TLB of its own to flush.
        self.harvest_young(start, end)
    }

    fn clear_young(&self, start: usize, end: usize) -> bool {
        self.harvest_young(start, end)
    }

    fn test_young(&self, address: usize) -> bool {
        let young = address >= self.start && address < self.end && self.table.test_young(address);
        self.hooks.young(young);
        young
    }

    fn release(&self) {
        let mut g = self.inner.lock();
        g.dead = true;
        let (s, e) = (self.start, self.end);
        g.seq.table_mut().clear(s, e);
        drop(g);
        // Waiting faults see `dead` and give up.
        self.settled.notify_all();
        self.hooks.released();
    }
}

/// Device access: what a device would do through its page table.
impl<H: MirrorHooks> Registration<Mirror<H>> {
    /// `EIO` unless the caller is the mirrored process (see the module
    /// documentation); `ESRCH` once that process's address space is gone
    /// (which tells nobody anything about it).
    fn check_caller(&self) -> Result {
        if self.inner.lock().dead {
            Err(ESRCH)
        } else if self.is_current_mm() {
            Ok(())
        } else {
            Err(EIO)
        }
    }

    /// Starts an invalidation of the whole table by the device itself
    /// ([`Mirror::invalidate_all`]), for the mirrored process only.
    pub fn device_invalidate(&self) -> Result<DeviceInvalidation<'_, H>> {
        self.check_caller()?;
        Ok(self.invalidate_all())
    }

    /// The address space, for the mirrored process only (`ESRCH` once gone).
    pub fn device_mm(&self) -> Result<ARef<MmWithUser>> {
        self.check_caller()?;
        self.mm_user().ok_or(ESRCH)
    }

    /// Makes sure the entries of the `npages` pages from `addr` are valid (and
    /// writable for `write`), faulting missing ones in from the registered
    /// address space, up to 64 pages per GUP call. Entries that are valid
    /// already are left as they are. Returns whether it faulted anything.
    ///
    /// `ESRCH` once the address space is gone; `EFAULT` if a page is not
    /// mapped with the needed permission; `EBUSY` if invalidations kept the
    /// access from making progress for [`FAULT_TIMEOUT_MS`] (`progress` is
    /// when it last did, and is moved on by every batch installed); `EINTR`
    /// on a fatal signal.
    fn fault(&self, addr: usize, npages: usize, write: bool, progress: &mut Ktime) -> Result<bool> {
        const BATCH: usize = 64;
        let need = shadow::VALID | if write { shadow::WRITE } else { 0 };
        let end = npages
            .checked_mul(PAGE_SIZE)
            .and_then(|l| addr.checked_add(l))
            .ok_or(EINVAL)?;
        if addr % PAGE_SIZE != 0 || addr < self.start() || end > self.end() {
            return Err(EINVAL);
        }
        // Tables an invalidation emptied are freed here, where we may sleep.
        self.table.reap(false);
        let mut va = addr;
        let mut faulted = false;
        while va < end {
            if super::fatal_signal_pending() {
                return Err(EINTR);
            }
            if time::ktime_ms_delta(Ktime::ktime_get(), *progress) > FAULT_TIMEOUT_MS {
                return Err(EBUSY);
            }
            // Skip what is already valid.
            {
                let g = self.inner.lock();
                if g.dead {
                    return Err(ESRCH);
                }
                va = g.seq.table().first_missing(va, end, need);
            }
            if va == end {
                break;
            }
            faulted = true;
            let want = ((end - va) / PAGE_SIZE).min(BATCH);
            // The tables for the batch, made with no lock held (they sleep);
            // given back to the next reap unless entries go in.
            let tables = self.table.prepare(va, va + want * PAGE_SIZE)?;
            let begin = {
                let mut g = self.inner.lock();
                if g.dead {
                    return Err(ESRCH);
                }
                if g.seq.is_active() {
                    // Faulting now would only have to be retried: sleep until
                    // the invalidation ends, the time is up or a signal comes.
                    let left =
                        FAULT_TIMEOUT_MS - time::ktime_ms_delta(Ktime::ktime_get(), *progress);
                    let jiffies = time::msecs_to_jiffies(left.clamp(1, FAULT_TIMEOUT_MS) as u32);
                    let res = self.settled.wait_interruptible_timeout(&mut g, jiffies);
                    drop(g);
                    if let kernel::sync::CondVarTimeoutResult::Signal { .. } = res {
                        return Err(if super::fatal_signal_pending() {
                            EINTR
                        } else {
                            ERESTARTSYS
                        });
                    }
                    continue;
                }
                g.seq.read_begin()
            };
            // Fault a batch in with no lock of ours held (GUP sleeps).
            let mut pages: [Option<page::PageRef>; BATCH] = [const { None }; BATCH];
            let mm = self.mm_user().ok_or(ESRCH)?;
            let got = mm.get_user_pages(va, write, &mut pages[..want])?;
            let mut g = self.inner.lock();
            if g.dead {
                return Err(ESRCH);
            }
            match g.seq.read_retry(begin) {
                Ok(mut stable) => {
                    // INVARIANT: `stable` proves the pages are still mapped
                    // at their addresses.
                    let pfns = pages[..got].iter().map(|p| p.as_ref().map(|p| p.pfn()));
                    let installed = ShadowTable::install(&mut stable, va, pfns, write);
                    drop(g);
                    match installed {
                        Ok(changed) => {
                            if got > 0 {
                                tables.keep();
                            }
                            for _ in 0..changed {
                                self.hooks.faulted(write);
                            }
                            va += got * PAGE_SIZE;
                            *progress = Ktime::ktime_get();
                        }
                        // A table went away since `prepare`: fault again.
                        Err(()) => self.hooks.retried(),
                    }
                }
                Err(_) => {
                    drop(g);
                    self.hooks.retried();
                }
            }
            // The references drop here, unlocked: they were only needed until
            // the entries were installed or the fault retried.
            drop(pages);
            drop(mm);
        }
        Ok(faulted)
    }

    /// Copies bytes at `addr` into `out`, as a device read through its page
    /// table.
    ///
    /// Faults missing entries in and sets the accessed bits. Only after the
    /// whole range is read does the caller see anything.
    pub fn read(&self, addr: usize, out: &mut [u8]) -> Result<Access> {
        self.check_caller()?;
        self.access(addr, out.len(), false, |page, off, at, len| {
            // Nobody else writes it through the mirror (the lock); CPU writes race as
            // they would with a device.
            // SAFETY: the entry's page is valid while the lock is held (module docs).
            unsafe { page::read_page(page, off, &mut out[at..at + len]) }
        })
    }

    /// Copies the `len` bytes at `addr` to user space at `dst`, as a device
    /// read through its page table straight into a user buffer (a DMA to
    /// host memory): no bounce buffer.
    ///
    /// Faults missing entries in and sets the accessed bits, as
    /// [`Self::read`]. The pages are copied 64 at a time ([`COPY_BATCH`]):
    /// under the lock, one walk takes a reference to each page of a batch;
    /// with the lock released (a copy to user space may fault and sleep),
    /// each page is copied and its reference dropped. A page invalidated
    /// after its reference was taken is read as it was, as by a device whose
    /// DMA raced with the invalidation. Unlike [`Self::read`], a failure
    /// (`EFAULT` for `dst`) may leave the bytes before it copied, and the
    /// pages of its batch marked accessed (the bit is set as the reference
    /// is taken).
    pub fn read_to_user(&self, addr: usize, len: usize, dst: UserPtr) -> Result<Access> {
        self.check_caller()?;
        let end = self.window_end(addr, len)?;
        dst.checked_add(len).ok_or(EFAULT)?;
        let first = addr - addr % PAGE_SIZE;
        // As `access`: the whole range first, then what invalidations drop.
        let mut progress = Ktime::ktime_get();
        let mut done = Access::default();
        let npages = (end - first).div_ceil(PAGE_SIZE);
        done.faults += self.fault(first, npages, false, &mut progress)? as u64;
        let mut refs: [Option<PageRef>; COPY_BATCH] = core::array::from_fn(|_| None);
        let mut va = first;
        while va < end {
            let stop = end.min(va + COPY_BATCH * PAGE_SIZE);
            let mut n = 0;
            let g = self.inner.lock();
            let reached = g
                .seq
                .table()
                .access_range(va, stop, 0, shadow::ACCESSED, |pfn| {
                    // A valid leaf holds the frame of a page that the address
                    // space maps while the lock is held (type invariants).
                    // SAFETY: `pfn` is a mapped page's frame, as just said.
                    let page = unsafe { super::bindings::rmm_pfn_to_page(pfn as _) };
                    let Some(page) = NonNull::new(page) else {
                        return false;
                    };
                    // While it is mapped, its count is not zero and cannot be frozen
                    // (splits, migration and reclaim unmap first, which invalidates
                    // the entry under the lock): the mapping holds a reference, or
                    // the page is never freed (the zero page).
                    // SAFETY: as just said, the page is valid and referenced.
                    refs[n] = Some(unsafe { PageRef::get(page) });
                    n += 1;
                    true
                });
            drop(g);
            for (k, page) in refs[..n].iter_mut().filter_map(Option::take).enumerate() {
                let pva = va + k * PAGE_SIZE;
                let (s, e) = (pva.max(addr), (pva + PAGE_SIZE).min(end));
                page.copy_to_user(s - pva, dst + (s - addr), e - s)?;
            }
            va += n * PAGE_SIZE;
            if n > 0 {
                progress = Ktime::ktime_get();
            }
            if reached < stop {
                // An invalidation dropped the entry since: fault it again.
                done.faults += self.fault(reached, 1, false, &mut progress)? as u64;
            }
        }
        Ok(done)
    }

    /// Copies `data` to `addr`, as a device write.
    ///
    /// Checks that the whole range is mapped writable first (`EFAULT` where
    /// nothing or nothing readable is mapped, `EPERM` where it is read-only,
    /// as `hmm_range_fault()` answers), then faults entries in for writing
    /// and sets the accessed and dirty bits.
    pub fn write(&self, addr: usize, data: &[u8]) -> Result<Access> {
        self.check_caller()?;
        let end = self.window_end(addr, data.len())?;
        self.mm_user()
            .ok_or(ESRCH)?
            .mmap_read_lock()
            .check_access(addr, end, true)?;
        self.access(addr, data.len(), true, |page, off, at, len| {
            // The entry is writable: the page is the process's own copy, dirty in its PTE.
            // SAFETY: as in `read`.
            unsafe { page::write_page(page, off, &data[at..at + len]) }
        })
    }

    /// Faults in every page of `[addr, addr + len)`; returns how many entries
    /// are valid afterwards.
    pub fn populate(&self, addr: usize, len: usize, write: bool) -> Result<usize> {
        self.check_caller()?;
        if len == 0 || addr % PAGE_SIZE != 0 {
            return Err(EINVAL);
        }
        self.fault(
            addr,
            len.div_ceil(PAGE_SIZE),
            write,
            &mut Ktime::ktime_get(),
        )?;
        Ok(self.counts().valid)
    }

    /// Whether a page of `[addr, addr + len)` is young, clearing every
    /// accessed bit of it if `clear`.
    ///
    /// As `clear_young` does, lock-free; for the mirrored process only, and
    /// `EINVAL` outside the window.
    pub fn age(&self, addr: usize, len: usize, clear: bool) -> Result<bool> {
        self.check_caller()?;
        let end = self.window_end(addr, len)?;
        Ok(self.table.harvest(addr, end, clear))
    }

    /// The flags (see [`flags`]) of each page from `addr`, into `out`, for
    /// the mirrored process only.
    pub fn snapshot(&self, addr: usize, out: &mut [u8]) -> Result {
        self.check_caller()?;
        self.snapshot_table(addr, out)
    }

    /// Runs `copy(page, offset_in_page, offset_in_buffer, len)` for each page
    /// piece of `[addr, addr + len)` with the entry valid and the lock held.
    fn access(
        &self,
        addr: usize,
        len: usize,
        write: bool,
        mut copy: impl FnMut(*mut bindings::page, usize, usize, usize) -> Result,
    ) -> Result<Access> {
        let end = self.window_end(addr, len)?;
        let (need, set) = if write {
            (shadow::WRITE, shadow::ACCESSED | shadow::DIRTY)
        } else {
            (0, shadow::ACCESSED)
        };
        // Fault the whole range in first, in batches; the copy loop below
        // faults a page again only if an invalidation dropped it meanwhile.
        // The time limit runs from the last progress of the whole access.
        let mut progress = Ktime::ktime_get();
        let first = addr - addr % PAGE_SIZE;
        let mut done = Access::default();
        let npages = (end - first).div_ceil(PAGE_SIZE);
        done.faults += self.fault(first, npages, write, &mut progress)? as u64;
        let mut at = 0;
        while at < len {
            let a = addr + at;
            let off = a % PAGE_SIZE;
            let n = (PAGE_SIZE - off).min(len - at);
            let g = self.inner.lock();
            let r = g.seq.table().access(a - off, need, set, |pfn| {
                // SAFETY: a valid leaf holds the frame of a mapped page.
                let page = unsafe { super::bindings::rmm_pfn_to_page(pfn as _) };
                copy(page, off, at, n)
            });
            drop(g);
            match r {
                Some(r) => {
                    r?;
                    at += n;
                    progress = Ktime::ktime_get();
                }
                None => {
                    // An invalidation dropped the entry since: fault it again.
                    done.faults += self.fault(a - off, 1, write, &mut progress)? as u64;
                }
            }
        }
        Ok(done)
    }
}
