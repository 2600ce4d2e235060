// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! [`ShadowTable`]: a shadow page table and the right to write it, and its
//! teardown.

use super::{
    entry::{
        entries, entry_pfn, shift, slot, table_end, Entries, Walk, ACCESSED, DIRTY, ENTRIES, FLAGS,
        LEVELS, PFN_SHIFT, VALID, VA_LIMIT, WRITE,
    },
    TableHandle, TableInner, TableState,
};
use crate::rmm::{
    mmu_notifier::Stable,
    page::PAGE_SIZE,
    rcu::{self, GpState},
};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use kernel::{alloc::flags::GFP_KERNEL, new_spinlock, prelude::*, sync::Arc};

/// A shadow page table, and the right to write it: the driver keeps it
/// under its own lock (inside an
/// [`InvalidateSeq`](crate::rmm::mmu_notifier::InvalidateSeq), so that a
/// fault's result is installed only through its `Stable` proof).
///
/// # Invariants
///
/// `valid` is the number of valid leaf entries.
pub struct ShadowTable {
    state: Arc<TableState>,
    valid: usize,
}

impl ShadowTable {
    /// An empty table (the top-level table is made on the first
    /// [`TableHandle::prepare`]).
    pub fn new() -> Result<Self> {
        let state = Arc::pin_init(
            try_pin_init!(TableState {
                inner <- new_spinlock!(
                    TableInner {
                        zombies: KVec::new(),
                        rcu_callbacks: false,
                        dirty: None,
                        dead: false,
                    },
                    "rmm::shadow::TableState::inner"
                ),
                root: AtomicU64::new(0),
                tables: AtomicUsize::new(0),
                migrated: AtomicU64::new(0),
                migrate_ns: AtomicU64::new(0),
                slow_harvests: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        Ok(Self { state, valid: 0 })
    }

    /// A shared handle ([`TableHandle`]).
    pub fn handle(&self) -> TableHandle {
        TableHandle {
            state: self.state.clone(),
        }
    }

    /// Valid leaf entries.
    pub fn valid(&self) -> usize {
        self.valid
    }

    /// Runs `f` on the leaf entry of `va` under the tree's lock, if its
    /// leaf table exists.
    fn with_leaf<R>(&self, va: usize, f: impl FnOnce(&AtomicU64) -> R) -> Option<R> {
        if va >= VA_LIMIT {
            return None;
        }
        let _inner = self.state.inner.lock();
        // SAFETY: we hold the lock, so no entry is frozen.
        match unsafe { self.state.walk(va) } {
            Walk::Leaf(t) => Some(f(&t[slot(va, 0)])),
            _ => None,
        }
    }

    /// Runs `f(pfn)` on the valid leaf of `va` if it has the bits `need`,
    /// under the tree's lock (a device access through the entry), and on
    /// success sets `set` in it (accessed, dirty). `None` if the leaf is not
    /// valid with `need`. `f` must be short and must not sleep: young
    /// callbacks may spin on the lock under a page table lock.
    pub fn access<R>(
        &self,
        va: usize,
        need: u64,
        set: u64,
        f: impl FnOnce(usize) -> Result<R>,
    ) -> Option<Result<R>> {
        let need = need | VALID;
        self.with_leaf(va, |e| {
            let v = e.load(Ordering::Relaxed);
            if v & need != need {
                return None;
            }
            let r = f(entry_pfn(v));
            if r.is_ok() {
                // Harvesters may clear the accessed bit meanwhile: atomic.
                e.fetch_or(set & (ACCESSED | DIRTY), Ordering::Relaxed);
            }
            Some(r)
        })
        .flatten()
    }

    /// Runs `f(pfn)` on each leaf from `va` below `end` in turn, under the
    /// tree's lock and with one walk per leaf table, while the leaf is valid
    /// with the bits `need` and `f` returns `true`; sets `set` (accessed,
    /// dirty) in each leaf `f` accepted. Returns the first address not
    /// accessed (one at or beyond `end` if every leaf was). `f` must be short
    /// and must not sleep, as for [`Self::access`].
    pub fn access_range(
        &self,
        va: usize,
        end: usize,
        need: u64,
        set: u64,
        mut f: impl FnMut(usize) -> bool,
    ) -> usize {
        let need = need | VALID;
        let set = set & (ACCESSED | DIRTY);
        let end = end.min(VA_LIMIT);
        let _inner = self.state.inner.lock();
        let mut a = va;
        while a < end {
            // SAFETY: we hold the lock, so no entry is frozen.
            let Walk::Leaf(t) = (unsafe { self.state.walk(a) }) else {
                return a;
            };
            let stop = end.min(table_end(a, 0));
            while a < stop {
                let e = &t[slot(a, 0)];
                let v = e.load(Ordering::Relaxed);
                if v & need != need || !f(entry_pfn(v)) {
                    return a;
                }
                // Harvesters may clear the bits meanwhile: atomic, and only
                // when one is missing (no locked instruction per access).
                if v & set != set {
                    e.fetch_or(set, Ordering::Relaxed);
                }
                a += PAGE_SIZE;
            }
        }
        a
    }

    /// Installs `pfns[k]` at `va + k * PAGE_SIZE` (writable if `write`; a
    /// `None` is skipped): a fault's results, only
    /// through the [`Stable`] proof that no invalidation ran since the
    /// fault began (so the page is still mapped there). A valid entry of the
    /// same page keeps its bits (a write only adds [`WRITE`]); one of
    /// another page is replaced. `Err(())` if the leaf table is gone (an
    /// invalidation took it since [`TableHandle::prepare`]): fault again.
    /// Returns how many entries changed. One lock and one walk per leaf
    /// table for the whole batch.
    pub fn install(
        stable: &mut Stable<'_, ShadowTable>,
        va: usize,
        pfns: impl IntoIterator<Item = Option<usize>>,
        write: bool,
    ) -> Result<usize, ()> {
        let this = stable.table();
        let valid = &mut this.valid;
        let mut changed = 0;
        let _inner = this.state.inner.lock();
        let mut leaf: Option<&Entries> = None;
        let mut a = va;
        for pfn in pfns {
            if a >= VA_LIMIT {
                return Err(());
            }
            if a % (PAGE_SIZE * ENTRIES) == 0 || a == va {
                // SAFETY: we hold the lock, so no entry is frozen.
                leaf = match unsafe { this.state.walk(a) } {
                    Walk::Leaf(t) => Some(t),
                    _ => None,
                };
            }
            if let Some(pfn) = pfn {
                let e = &leaf.ok_or(())?[slot(a, 0)];
                let new = ((pfn as u64) << PFN_SHIFT) | VALID | if write { WRITE } else { 0 };
                let old = e.load(Ordering::Relaxed);
                if old & VALID != 0 && entry_pfn(old) == pfn {
                    if write && old & WRITE == 0 {
                        e.fetch_or(WRITE, Ordering::Relaxed);
                        changed += 1;
                    }
                } else {
                    if old & VALID == 0 {
                        *valid += 1;
                    }
                    // INVARIANT: counted above when it becomes valid.
                    e.store(new, Ordering::Relaxed);
                    changed += 1;
                }
            }
            a += PAGE_SIZE;
        }
        Ok(changed)
    }

    /// The first page from `va` below `end` whose leaf is not valid with
    /// the bits `need` (`end` if every one is): what a fault must fetch.
    pub fn first_missing(&self, va: usize, end: usize, need: u64) -> usize {
        // The walk of a device access that sets nothing and takes every leaf.
        self.access_range(va, end, need, 0, |_| true)
            .min(end.min(VA_LIMIT))
    }

    /// Drops every leaf of `[start, end)`; the tables it leaves empty are
    /// given up by the next [`TableHandle::reap`]. Returns how many leaves
    /// were valid.
    ///
    /// # Context
    ///
    /// Never sleeps: callable from a non-blockable invalidation.
    pub fn clear(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(VA_LIMIT);
        let start = start & !(PAGE_SIZE - 1);
        if start >= end {
            return 0;
        }
        let mut inner = self.state.inner.lock();
        let root = self.state.root.load(Ordering::Relaxed);
        if root & VALID == 0 {
            return 0;
        }
        // SAFETY: we hold the lock; the top-level table is linked.
        let n = unsafe { self.clear_table(&inner, root, LEVELS - 1, start, end) };
        // Tables left empty are given up later, where the device may sleep
        // ([`TableHandle::reap`]): an invalidation only clears leaves.
        inner.mark_dirty(start, end);
        drop(inner);
        self.valid -= n;
        n
    }

    /// Clears `[start, end)` in the level-`level` table of entry `e`.
    ///
    /// # Safety
    ///
    /// The caller holds the lock (`inner`), and `e` is the entry of a linked
    /// table.
    unsafe fn clear_table(
        &self,
        _inner: &TableInner,
        e: u64,
        level: usize,
        start: usize,
        end: usize,
    ) -> usize {
        // SAFETY: a linked table, under the lock (caller).
        let t = unsafe { entries(e) };
        let mut n = 0;
        let mut va = start;
        while va < end {
            // The end of this entry's span.
            let next = end.min((va | ((1usize << shift(level)) - 1)).saturating_add(1));
            let entry = &t[slot(va, level)];
            if level == 0 {
                if entry.swap(0, Ordering::Relaxed) & VALID != 0 {
                    n += 1;
                }
            } else {
                let child = entry.load(Ordering::Relaxed);
                if child & VALID != 0 {
                    // SAFETY: a linked child table, under the lock.
                    n += unsafe { self.clear_table(_inner, child, level - 1, va, next) };
                }
            }
            va = next;
        }
        n
    }

    /// The leaf bits ([`FLAGS`]) of each page from `va` into `out`, 0 for
    /// an invalid leaf. `EFAULT` beyond [`VA_LIMIT`].
    pub fn snapshot(&self, va: usize, out: &mut [u64]) -> Result {
        let end = out
            .len()
            .checked_mul(PAGE_SIZE)
            .and_then(|l| va.checked_add(l))
            .ok_or(EINVAL)?;
        if end > VA_LIMIT || va % PAGE_SIZE != 0 {
            return Err(EFAULT);
        }
        let _inner = self.state.inner.lock();
        let mut a = va;
        let mut i = 0;
        while a < end {
            // SAFETY: we hold the lock, so no entry is frozen.
            match unsafe { self.state.walk(a) } {
                Walk::Leaf(t) => {
                    let stop = end.min(table_end(a, 0));
                    while a < stop {
                        let e = t[slot(a, 0)].load(Ordering::Relaxed);
                        out[i] = if e & VALID != 0 { e & FLAGS } else { 0 };
                        i += 1;
                        a += PAGE_SIZE;
                    }
                }
                Walk::Hole(next) => {
                    let stop = end.min(next);
                    while a < stop {
                        out[i] = 0;
                        i += 1;
                        a += PAGE_SIZE;
                    }
                }
                Walk::Frozen => return Err(EAGAIN),
            }
        }
        Ok(())
    }
}

impl Drop for ShadowTable {
    /// Frees every table: after an RCU grace period, so that no harvester
    /// is still reading them.
    ///
    /// # Context
    ///
    /// Sleeps.
    fn drop(&mut self) {
        let (root, cookie) = {
            let mut inner = self.state.inner.lock();
            inner.dead = true;
            (self.state.root.swap(0, Ordering::Relaxed), GpState::get())
        };
        // Harvesters that read the old root are gone after this (a tree that
        // never had a table needs no wait); migrations find the tree dead.
        if root & VALID != 0 {
            // Process context (the caller may sleep).
            cookie.cond_synchronize();
        }
        // Nothing reaches the tables any more.
        // SAFETY: the root entry was ours to give up.
        unsafe { TableState::free_subtree(root, LEVELS - 1) };
        self.state.tables.store(0, Ordering::Relaxed);
        let (zombies, callbacks) = {
            let mut inner = self.state.inner.lock();
            (
                core::mem::replace(&mut inner.zombies, KVec::new()),
                inner.rcu_callbacks,
            )
        };
        // Their grace periods began before the one waited for above, or
        // are waited for here.
        if let Some((_, newest)) = zombies.last() {
            // Process context.
            newest.cond_synchronize();
        }
        drop(zombies);
        if callbacks {
            // The callbacks that drop old copies are this module's code: none
            // may run after the module is gone. Process context.
            rcu::barrier();
        }
    }
}
