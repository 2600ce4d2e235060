// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! A secondary MMU: a shadow table of one range of a process's address space.
//!
//! The shadow table maps each page of `[start, start + len)` to the page the
//! process has there, with an accessed, a dirty and a writable bit of its own,
//! the way a device's page table would. Entries are made by faulting the page
//! in (GUP), and the page reference is dropped as soon as the entry is
//! installed: the mirror pins nothing.
//!
//! # Why an entry's page cannot be freed under it
//!
//! A mapped page is freed, or replaced, only after the VM has invalidated its
//! mapping: `invalidate_range_start` comes before the page table changes,
//! and the page is freed after. [`Mirror`] implements [`MmuNotifier`] itself,
//! so no driver can forget this. Under its lock it drops every entry of an
//! overlapping range in `invalidate_range_start`, and in `release` (process
//! exit) it drops all of them and accepts no more. An entry is installed only
//! with a [`Stable`] proof that no invalidation ran since the fault began and
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
//! land in a page whose dirty bit the VM has already collected (the hazard of
//! seed thread 001).
//!
//! # Accessed bits
//!
//! `clear_young` and `clear_flush_young` clear *every* accessed bit of their
//! range before answering, and answer whether any was set. Stopping at the
//! first young page would leave the others young for another scan, so a page
//! would be seen young N times for N mappings (seed thread 003, the `|` in
//! `age_page`).
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
//! 2. `Mirror::inner` (a spinlock). Faulting (GUP) takes `mmap_lock` with it
//!    not held. Nothing allocates or sleeps under it.

use super::{
    mmu_notifier::{Again, Event, InvalidateSeq, MmuNotifier, Range, Registration, Stable},
    page::{self, PageRef, PAGE_SIZE},
};
use core::ptr::NonNull;
use kernel::{
    bindings, new_condvar, new_spinlock,
    prelude::*,
    sync::{CondVar, SpinLock},
    time::{self, Ktime},
};

/// How long a device fault waits for invalidations before it fails with
/// `EBUSY` (`HMM_RANGE_DEFAULT_TIMEOUT`).
pub const FAULT_TIMEOUT_MS: i64 = 1000;

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

/// The flags of [`Mirror::snapshot`], per page.
pub mod flags {
    /// The entry is valid.
    pub const VALID: u8 = 1 << 0;
    /// The entry allows writes.
    pub const WRITE: u8 = 1 << 1;
    /// The device accessed the page since the last young callback.
    pub const ACCESSED: u8 = 1 << 2;
    /// The device wrote the page through this entry.
    pub const DIRTY: u8 = 1 << 3;
}

/// One shadow entry.
///
/// # Invariants
///
/// If `page` is set, it is the page mapped at the entry's address, and no
/// invalidation covering that address has started since the entry was
/// installed (see the module documentation).
#[derive(Clone, Copy, Default)]
struct Entry {
    page: Option<NonNull<bindings::page>>,
    flags: u8,
}

// SAFETY: an entry is a page pointer and bits, used only under the mirror's
// lock, from any thread.
unsafe impl Send for Entry {}

/// The shadow table.
///
/// # Invariants
///
/// `valid` is the number of entries with a page.
struct Table {
    entries: KVVec<Entry>,
    valid: usize,
}

impl Table {
    /// Drops the entries `[first, last)`; returns how many were valid.
    fn drop_entries(&mut self, first: usize, last: usize) -> usize {
        let mut n = 0;
        for e in &mut self.entries[first..last] {
            if e.page.take().is_some() {
                n += 1;
            }
            e.flags = 0;
        }
        self.valid -= n;
        n
    }

    /// Installs the page a fault found for entry `i`, for writing if
    /// `write`: only through the [`Stable`] proof that it is still mapped
    /// there. An entry that is valid already keeps its bits (a write fault
    /// only adds `WRITE`). Returns whether the entry changed.
    fn install(stable: &mut Stable<'_, Table>, i: usize, page: &PageRef, write: bool) -> bool {
        let t = stable.table();
        let Some(e) = t.entries.get_mut(i) else {
            return false;
        };
        let new = NonNull::new(page.as_ptr());
        match e.page {
            // Still the page it maps (no invalidation since, by `stable`).
            Some(p) if Some(p) == new => {
                if write && e.flags & flags::WRITE == 0 {
                    e.flags |= flags::WRITE;
                    return true;
                }
                false
            }
            Some(_) => {
                // Cannot happen: an entry is dropped before its page changes.
                pr_warn!("rmm: mirror entry {} maps another page: replaced\n", i);
                // INVARIANT: `page` is mapped at the entry's address (`stable`).
                e.page = new;
                e.flags = if write { flags::WRITE } else { 0 };
                true
            }
            None => {
                // INVARIANT: `page` is mapped at the entry's address: it was
                // faulted in there, and `stable` proves no invalidation ran since.
                e.page = new;
                e.flags = if write { flags::WRITE } else { 0 };
                t.valid += 1;
                true
            }
        }
    }
}

struct Inner {
    seq: InvalidateSeq<Table>,
    dead: bool,
}

/// Counts of a mirror's table, read under its lock.
#[derive(Clone, Copy, Default)]
pub struct Counts {
    /// Valid entries.
    pub valid: usize,
    /// Whether the address space went away.
    pub released: bool,
}

/// A shadow table of `[start, start + npages * PAGE_SIZE)`.
#[pin_data]
pub struct Mirror<H: MirrorHooks> {
    start: usize,
    npages: usize,
    #[pin]
    inner: SpinLock<Inner>,
    /// Faults waiting for invalidations to end.
    #[pin]
    settled: CondVar,
    /// The driver's hooks.
    pub hooks: H,
}

impl<H: MirrorHooks> Mirror<H> {
    /// The largest range a mirror takes.
    pub const MAX_LEN: usize = 1 << 30;

    /// A mirror of `[start, start + len)`: page aligned, not empty, at most
    /// [`Self::MAX_LEN`] (else `EINVAL`).
    pub fn new(start: usize, len: usize, hooks: H) -> Result<impl PinInit<Self, Error>> {
        let aligned = start % PAGE_SIZE == 0 && len % PAGE_SIZE == 0;
        if !aligned || len == 0 || len > Self::MAX_LEN || start.checked_add(len).is_none() {
            return Err(EINVAL);
        }
        let npages = len / PAGE_SIZE;
        let mut entries = KVVec::with_capacity(npages, GFP_KERNEL)?;
        entries.extend_with(npages, Entry::default(), GFP_KERNEL)?;
        let inner = Inner {
            seq: InvalidateSeq::new(Table { entries, valid: 0 }),
            dead: false,
        };
        Ok(try_pin_init!(Self {
            start,
            npages,
            inner <- new_spinlock!(inner, "rmm::mirror::Mirror::inner"),
            settled <- new_condvar!("rmm::mirror::Mirror::settled"),
            hooks,
        }))
    }

    /// The first address mirrored.
    pub fn start(&self) -> usize {
        self.start
    }

    /// The address just past the mirror.
    pub fn end(&self) -> usize {
        self.start + self.npages * PAGE_SIZE
    }

    /// The entries `[first, last)` overlapping `[start, end)`.
    fn span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = start.max(self.start);
        let e = end.min(self.end());
        if s >= e {
            return (0, 0);
        }
        (
            (s - self.start) / PAGE_SIZE,
            (e - self.start).div_ceil(PAGE_SIZE),
        )
    }

    /// The index of the page at `addr`, `EINVAL` outside the mirror.
    fn index(&self, addr: usize) -> Result<usize> {
        if addr < self.start || addr >= self.end() {
            return Err(EINVAL);
        }
        Ok((addr - self.start) / PAGE_SIZE)
    }

    /// Counts of the table.
    pub fn counts(&self) -> Counts {
        let g = self.inner.lock();
        Counts {
            valid: g.seq.table().valid,
            released: g.dead,
        }
    }

    /// The flags (see [`flags`]) of each page from `addr`, into `out`.
    fn snapshot_table(&self, addr: usize, out: &mut [u8]) -> Result {
        let first = self.index(addr)?;
        if out.len() > self.npages - first {
            return Err(EINVAL);
        }
        let g = self.inner.lock();
        for (o, e) in out.iter_mut().zip(&g.seq.table().entries[first..]) {
            *o = if e.page.is_some() {
                e.flags | flags::VALID
            } else {
                0
            };
        }
        Ok(())
    }

    fn harvest_young(&self, start: usize, end: usize) -> bool {
        let (first, last) = self.span(start, end);
        let mut young = false;
        if first < last {
            let mut g = self.inner.lock();
            // Every bit is cleared before answering: no short cut.
            for e in &mut g.seq.table_mut().entries[first..last] {
                young |= e.flags & flags::ACCESSED != 0;
                e.flags &= !flags::ACCESSED;
            }
        }
        self.hooks.young(young);
        young
    }

    /// Starts an invalidation of the whole table by the device itself, as a
    /// device TLB shootdown would: every entry is dropped, and faults wait
    /// (see the module documentation) until the returned guard is dropped.
    fn invalidate_all(&self) -> DeviceInvalidation<'_, H> {
        let mut g = self.inner.lock();
        let n = self.npages;
        g.seq.invalidate_start().drop_entries(0, n);
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
        let (first, last) = self.span(range.start(), range.end());
        if first == last {
            return Ok(());
        }
        let mut g = self.inner.lock();
        let dropped = g.seq.invalidate_start().drop_entries(first, last);
        drop(g);
        self.hooks
            .invalidated(range.event(), dropped, range.may_block());
        // Only a spinlock: this never needs to block, so never fails (and the
        // type forbids failing: this notifier has `invalidate_range_end`).
        Ok(())
    }

    fn invalidate_range_end(&self, range: &Range<'_>) {
        let (first, last) = self.span(range.start(), range.end());
        if first < last {
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
        let young = match self.index(address) {
            Ok(i) => self.inner.lock().seq.table().entries[i].flags & flags::ACCESSED != 0,
            Err(_) => false,
        };
        self.hooks.young(young);
        young
    }

    fn release(&self) {
        let mut g = self.inner.lock();
        g.dead = true;
        let n = self.npages;
        g.seq.table_mut().drop_entries(0, n);
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

    /// Makes sure the entries of the `npages` pages from `addr` are valid (and
    /// writable for `write`), faulting missing ones in from the registered
    /// address space, up to 64 pages per GUP call. Entries that are valid
    /// already are left as they are.
    ///
    /// `ESRCH` once the address space is gone; `EFAULT` if a page is not
    /// mapped with the needed permission; `EBUSY` if invalidations kept the
    /// access from making progress for [`FAULT_TIMEOUT_MS`] (`progress` is
    /// when it last did, and is moved on by every batch installed); `EINTR`
    /// on a fatal signal.
    fn fault(&self, addr: usize, npages: usize, write: bool, progress: &mut Ktime) -> Result {
        const BATCH: usize = 64;
        let need = if write { flags::WRITE } else { 0 };
        let first = self.index(addr)?;
        let end = first.checked_add(npages).ok_or(EINVAL)?;
        if end > self.npages {
            return Err(EINVAL);
        }
        let mut i = first;
        while i < end {
            if super::fatal_signal_pending() {
                return Err(EINTR);
            }
            if time::ktime_ms_delta(Ktime::ktime_get(), *progress) > FAULT_TIMEOUT_MS {
                return Err(EBUSY);
            }
            let begin = {
                let mut g = self.inner.lock();
                if g.dead {
                    return Err(ESRCH);
                }
                // Skip what is already valid.
                while i < end && {
                    let e = g.seq.table().entries[i];
                    e.page.is_some() && e.flags & need == need
                } {
                    i += 1;
                }
                if i == end {
                    return Ok(());
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
            let mut pages: [Option<PageRef>; BATCH] = [const { None }; BATCH];
            let want = (end - i).min(BATCH);
            let mm = self.mm_user().ok_or(ESRCH)?;
            let got = mm.read_lock().get_user_pages(
                self.start() + i * PAGE_SIZE,
                write,
                &mut pages[..want],
            )?;
            let mut g = self.inner.lock();
            if g.dead {
                return Err(ESRCH);
            }
            match g.seq.read_retry(begin) {
                Ok(mut stable) => {
                    let mut changed = 0;
                    for (k, page) in pages[..got].iter().enumerate() {
                        if let Some(page) = page {
                            changed += Table::install(&mut stable, i + k, page, write) as usize;
                        }
                    }
                    drop(g);
                    for _ in 0..changed {
                        self.hooks.faulted(write);
                    }
                    i += got;
                    *progress = Ktime::ktime_get();
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
        Ok(())
    }

    /// Copies bytes at `addr` of the mirrored range into `out`, as a device
    /// read through its page table: faults missing entries in, sets the
    /// accessed bits.
    pub fn read(&self, addr: usize, out: &mut [u8]) -> Result {
        self.check_caller()?;
        self.access(addr, out.len(), false, |page, off, at, len| {
            // Nobody else writes it through the mirror (the lock); CPU writes race as
            // they would with a device.
            // SAFETY: the entry's page is valid while the lock is held (module docs).
            unsafe { page::read_page(page, off, &mut out[at..at + len]) }
        })
    }

    /// Copies `data` to `addr` of the mirrored range, as a device write:
    /// faults entries in for writing, sets the accessed and dirty bits.
    pub fn write(&self, addr: usize, data: &[u8]) -> Result {
        self.check_caller()?;
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
    ) -> Result {
        let end = addr.checked_add(len).ok_or(EINVAL)?;
        if len == 0 || addr < self.start() || end > self.end() {
            return Err(EINVAL);
        }
        // Fault the whole range in first, in batches; the copy loop below
        // faults a page again only if an invalidation dropped it meanwhile.
        // The time limit runs from the last progress of the whole access.
        let mut progress = Ktime::ktime_get();
        let first = addr - addr % PAGE_SIZE;
        self.fault(
            first,
            (end - first).div_ceil(PAGE_SIZE),
            write,
            &mut progress,
        )?;
        let mut at = 0;
        while at < len {
            let a = addr + at;
            let off = a % PAGE_SIZE;
            let n = (PAGE_SIZE - off).min(len - at);
            let i = self.index(a)?;
            let mut g = self.inner.lock();
            let e = &mut g.seq.table_mut().entries[i];
            match e.page {
                Some(p) if !write || e.flags & flags::WRITE != 0 => {
                    copy(p.as_ptr(), off, at, n)?;
                    e.flags |= flags::ACCESSED | if write { flags::DIRTY } else { 0 };
                    at += n;
                    drop(g);
                    progress = Ktime::ktime_get();
                }
                _ => {
                    // An invalidation dropped the entry since: fault it again.
                    drop(g);
                    self.fault(a - off, 1, write, &mut progress)?;
                }
            }
        }
        Ok(())
    }
}
