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
//! # Lock order
//!
//! 1. `mmap_lock` (faulting, never held with 2)
//! 2. `Mirror::inner` (a spinlock; taken under the page table lock by the
//!    young callbacks)

use super::{
    bindings as rmm_bindings,
    mmu_notifier::{Event, InvalidateSeq, MmuNotifier, Range, Registration, Stable},
    page::{self, PageRef, PAGE_SIZE},
};
use core::ptr::NonNull;
use kernel::{bindings, new_spinlock, prelude::*, sync::SpinLock};

/// What a driver learns of its mirror's events (for statistics).
pub trait MirrorHooks: Send + Sync + 'static {
    /// An overlapping range was invalidated; `dropped` entries were valid.
    fn invalidated(&self, _event: Event, _dropped: usize) {}
    /// A young callback answered `young`.
    fn young(&self, _young: bool) {}
    /// An entry was faulted in (for writing if `write`).
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

struct Inner {
    seq: InvalidateSeq,
    entries: KVVec<Entry>,
    valid: usize,
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
        for _ in 0..npages {
            entries.push(Entry::default(), GFP_KERNEL)?;
        }
        let inner = Inner {
            seq: InvalidateSeq::default(),
            entries,
            valid: 0,
            dead: false,
        };
        Ok(try_pin_init!(Self {
            start,
            npages,
            inner <- new_spinlock!(inner, "rmm::mirror::Mirror::inner"),
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
            valid: g.valid,
            released: g.dead,
        }
    }

    /// The flags (see [`flags`]) of each page from `addr`, into `out`.
    pub fn snapshot(&self, addr: usize, out: &mut [u8]) -> Result {
        let first = self.index(addr)?;
        if out.len() > self.npages - first {
            return Err(EINVAL);
        }
        let g = self.inner.lock();
        for (o, e) in out.iter_mut().zip(&g.entries[first..]) {
            *o = if e.page.is_some() {
                e.flags | flags::VALID
            } else {
                0
            };
        }
        Ok(())
    }

    /// Drops the entries `[first, last)`; returns how many were valid.
    fn drop_entries(inner: &mut Inner, first: usize, last: usize) -> usize {
        let mut n = 0;
        for e in &mut inner.entries[first..last] {
            if e.page.take().is_some() {
                n += 1;
            }
            e.flags = 0;
        }
        inner.valid -= n;
        n
    }

    fn harvest_young(&self, start: usize, end: usize) -> bool {
        let (first, last) = self.span(start, end);
        let mut young = false;
        if first < last {
            let mut g = self.inner.lock();
            // Every bit is cleared before answering: no short cut.
            for e in &mut g.entries[first..last] {
                young |= e.flags & flags::ACCESSED != 0;
                e.flags &= !flags::ACCESSED;
            }
        }
        self.hooks.young(young);
        young
    }
}

#[vtable]
impl<H: MirrorHooks> MmuNotifier for Mirror<H> {
    fn invalidate_range_start(&self, range: &Range<'_>) -> Result<(), super::mmu_notifier::Again> {
        let (first, last) = self.span(range.start(), range.end());
        if first == last {
            return Ok(());
        }
        let mut g = self.inner.lock();
        g.seq.invalidate_start();
        let dropped = Self::drop_entries(&mut g, first, last);
        drop(g);
        self.hooks.invalidated(range.event(), dropped);
        // Only a spinlock: this never needs to block, so never fails.
        Ok(())
    }

    fn invalidate_range_end(&self, range: &Range<'_>) {
        let (first, last) = self.span(range.start(), range.end());
        if first < last {
            self.inner.lock().seq.invalidate_end();
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
            Ok(i) => self.inner.lock().entries[i].flags & flags::ACCESSED != 0,
            Err(_) => false,
        };
        self.hooks.young(young);
        young
    }

    fn release(&self) {
        let mut g = self.inner.lock();
        g.dead = true;
        let n = g.entries.len();
        Self::drop_entries(&mut g, 0, n);
        drop(g);
        self.hooks.released();
    }
}

/// Installs the page of a fault as entry `i`.
fn install(
    entries: &mut [Entry],
    valid: &mut usize,
    _stable: &Stable<'_>,
    i: usize,
    page: &PageRef,
    write: bool,
) {
    let e = &mut entries[i];
    if e.page.is_none() {
        *valid += 1;
    }
    // INVARIANT: `page` is mapped at the entry's address: it was faulted in
    // there, and `_stable` proves no invalidation ran since.
    e.page = NonNull::new(page.as_ptr());
    e.flags = if write { flags::WRITE } else { 0 };
}

/// Device access: what a device would do through its page table.
impl<H: MirrorHooks> Registration<Mirror<H>> {
    /// Makes sure the entries of the `npages` pages from `addr` are valid (and
    /// writable for `write`), faulting missing ones in from the registered
    /// address space, up to 64 pages per GUP call.
    ///
    /// `ESRCH` once the address space is gone; `EFAULT` if a page is not
    /// mapped with the needed permission.
    fn fault(&self, addr: usize, npages: usize, write: bool) -> Result {
        const BATCH: usize = 64;
        let need = if write { flags::WRITE } else { 0 };
        let first = self.index(addr)?;
        let end = first.checked_add(npages).ok_or(EINVAL)?;
        if end > self.npages {
            return Err(EINVAL);
        }
        let mut i = first;
        while i < end {
            let begin = {
                let g = self.inner.lock();
                if g.dead {
                    return Err(ESRCH);
                }
                // Skip what is already valid.
                while i < end && {
                    let e = g.entries[i];
                    e.page.is_some() && e.flags & need == need
                } {
                    i += 1;
                }
                if i == end {
                    return Ok(());
                }
                if g.seq.is_active() {
                    // Faulting now would only have to be retried.
                    drop(g);
                    // SAFETY: no lock is held.
                    unsafe { rmm_bindings::rmm_cond_resched() };
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
            let inner = &mut *g;
            match inner.seq.read_retry(begin) {
                Ok(stable) => {
                    for (k, page) in pages[..got].iter().enumerate() {
                        if let Some(page) = page {
                            install(
                                &mut inner.entries,
                                &mut inner.valid,
                                &stable,
                                i + k,
                                page,
                                write,
                            );
                        }
                    }
                    drop(g);
                    for _ in 0..got {
                        self.hooks.faulted(write);
                    }
                    i += got;
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
        self.access(addr, data.len(), true, |page, off, at, len| {
            // The entry is writable: the page is the process's own copy, dirty in its PTE.
            // SAFETY: as in `read`.
            unsafe { page::write_page(page, off, &data[at..at + len]) }
        })
    }

    /// Faults in every page of `[addr, addr + len)`; returns how many entries
    /// are valid afterwards.
    pub fn populate(&self, addr: usize, len: usize, write: bool) -> Result<usize> {
        if len == 0 || addr % PAGE_SIZE != 0 {
            return Err(EINVAL);
        }
        self.fault(addr, len.div_ceil(PAGE_SIZE), write)?;
        Ok(self.counts().valid)
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
        let first = addr - addr % PAGE_SIZE;
        self.fault(first, (end - first).div_ceil(PAGE_SIZE), write)?;
        let mut at = 0;
        while at < len {
            let a = addr + at;
            let off = a % PAGE_SIZE;
            let n = (PAGE_SIZE - off).min(len - at);
            let i = self.index(a)?;
            let mut g = self.inner.lock();
            let e = &mut g.entries[i];
            match e.page {
                Some(p) if !write || e.flags & flags::WRITE != 0 => {
                    copy(p.as_ptr(), off, at, n)?;
                    e.flags |= flags::ACCESSED | if write { flags::DIRTY } else { 0 };
                    at += n;
                }
                _ => {
                    // An invalidation dropped the entry since: fault it again.
                    drop(g);
                    self.fault(a - off, 1, write)?;
                }
            }
        }
        Ok(())
    }
}
