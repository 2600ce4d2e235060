// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Giving up tables: those that invalidations (or failed faults) left
//! empty are unlinked as zombies, and freed once no lock-free reader can
//! be in them any more; the whole tree at teardown.

use super::{
    entry::{entries, entry_page, shift, slot, table_addr, table_entry, LEVELS, VALID},
    TableHandle, TableInner, TableOps, TableState,
};
use crate::rmm::{movable::MovablePage, rcu::GpState, vec};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{
    alloc::flags::{GFP_KERNEL, GFP_NOWAIT},
    prelude::*,
};

/// Unlinked tables kept before [`TableHandle::reap`] frees them.
const REAP_BATCH: usize = 32;
/// Unlinked tables kept before a reap that is not `all` waits for a grace
/// period to free them (512 KiB of 4 KiB tables); below, it frees them only
/// once their grace period is over, and never waits.
const REAP_MAX: usize = 4 * REAP_BATCH;

impl TableState {
    /// Unlinks the table that `parent` points to (empty, not the top
    /// level), keeping it as a zombie until readers are gone; leaves it
    /// linked if there is no room to keep it (never allocates beyond
    /// `GFP_NOWAIT`).
    fn unlink(&self, inner: &mut TableInner, parent: &AtomicU64) -> bool {
        if inner.zombies.reserve(1, GFP_NOWAIT).is_err() {
            return false;
        }
        let e = parent.swap(0, Ordering::Release);
        let page = entry_page(e);
        // The entry owned this table page (the invariants of [`super`]).
        // SAFETY: the swap above gave that ownership to us.
        let table = unsafe { MovablePage::<TableOps>::from_raw(NonNull::new_unchecked(page)) };
        match vec::push_within_capacity(&mut inner.zombies, (table, GpState::get())) {
            Ok(()) => {
                self.tables.fetch_sub(1, Ordering::Relaxed);
                true
            }
            Err((table, _)) => {
                // Cannot happen (reserved above); never drop it here (it
                // sleeps): link it back.
                parent.store(table_entry(table_addr(table.as_ptr())), Ordering::Release);
                let _ = table.into_raw();
                false
            }
        }
    }

    /// Gives up the tables left empty in the dirty range (below the top
    /// level), level by level, as zombies. An empty table there is left
    /// linked only if there is no room to keep it as a zombie, and its span
    /// then stays dirty for the next prune.
    fn prune(&self, inner: &mut TableInner) {
        let Some(range) = inner.dirty.take() else {
            return;
        };
        let root = self.root.load(Ordering::Relaxed);
        if root & VALID != 0 {
            // SAFETY: we hold the lock (`inner`); the top-level table is linked.
            unsafe { self.prune_table(inner, root, LEVELS - 1, range.start, range.end) };
        }
    }

    /// [`Self::prune`] in the level-`level` table (`level >= 1`) of entry
    /// `e`, over `[lo, hi)`.
    ///
    /// # Safety
    ///
    /// The caller holds the lock (`inner`), and `e` is the entry of a linked
    /// table.
    unsafe fn prune_table(
        &self,
        inner: &mut TableInner,
        e: u64,
        level: usize,
        lo: usize,
        hi: usize,
    ) {
        // SAFETY: a linked table, under the lock (caller).
        let t = unsafe { entries(e) };
        let mut va = lo;
        while va < hi {
            // The end of this entry's span.
            let next = hi.min((va | ((1usize << shift(level)) - 1)).saturating_add(1));
            let entry = &t[slot(va, level)];
            let child = entry.load(Ordering::Relaxed);
            if child & VALID != 0 {
                if level > 1 {
                    // SAFETY: a linked child table, under the lock.
                    unsafe { self.prune_table(inner, child, level - 1, va, next) };
                }
                // SAFETY: as above.
                let c = unsafe { entries(child) };
                if c.iter().all(|x| x.load(Ordering::Relaxed) == 0) && !self.unlink(inner, entry) {
                    inner.mark_dirty(va, next);
                }
            }
            va = next;
        }
    }

    /// Frees a table and everything below it. Nothing else reaches it: the
    /// tree is dead and readers are gone.
    ///
    /// # Safety
    ///
    /// `e` is an entry of a level-`level` table that this call now owns.
    pub(super) unsafe fn free_subtree(e: u64, level: usize) {
        if e & VALID == 0 {
            return;
        }
        if level > 0 {
            // SAFETY: a table page we own (caller).
            let t = unsafe { entries(e) };
            for child in t {
                // SAFETY: children are owned through their entries, now ours.
                unsafe { Self::free_subtree(child.load(Ordering::Relaxed), level - 1) };
            }
        }
        let page = entry_page(e);
        // SAFETY: the entry owned this table page, given up by `into_raw()`.
        drop(unsafe { MovablePage::<TableOps>::from_raw(NonNull::new_unchecked(page)) });
    }
}

impl TableHandle {
    /// Gives up the tables that invalidations left empty (below the top
    /// level), level by level, and frees unlinked tables once readers are
    /// gone: once [`REAP_BATCH`] wait and their RCU grace period is over,
    /// without waiting for it unless [`REAP_MAX`] wait; with `all`, every
    /// one, waiting for the grace period if needed.
    ///
    /// # Context
    ///
    /// Sleeps; call with no lock held.
    pub fn reap(&self, all: bool) {
        let zombies = {
            // Room for every table to become a zombie, made without the lock,
            // if an invalidation may have left tables empty.
            let dirty = self.state.inner.lock().dirty.is_some();
            let room = self.state.tables.load(Ordering::Relaxed) + REAP_BATCH;
            let mut spare = if dirty {
                KVec::with_capacity(room, GFP_KERNEL).ok()
            } else {
                None
            };
            let mut inner = self.state.inner.lock();
            if inner.dirty.is_some() {
                if let Some(spare) = spare.as_mut() {
                    if vec::append_within_capacity(spare, &mut inner.zombies).is_ok() {
                        core::mem::swap(&mut inner.zombies, spare);
                    }
                }
                self.state.prune(&mut inner);
            }
            // A fault reaps without waiting: the newest zombie's grace
            // period (so everyone's) must be over, unless too many wait.
            let wait = match inner.zombies.last() {
                None => true,
                Some(_) if all => false,
                Some(_) if inner.zombies.len() < REAP_BATCH => true,
                Some(_) if inner.zombies.len() >= REAP_MAX => false,
                Some(&(_, newest)) => {
                    // Reads RCU's state; callable in any context.
                    let over = newest.poll();
                    !over
                }
            };
            if wait {
                drop(inner);
                // An unused vector: nothing in it.
                drop(spare);
                return;
            }
            core::mem::replace(&mut inner.zombies, KVec::new())
        };
        if let Some((_, newest)) = zombies.last() {
            // May sleep: process context, no lock held (caller).
            newest.cond_synchronize();
        }
        // Each drop takes the page lock (sleeps), with no lock of ours held.
        drop(zombies);
    }
}
