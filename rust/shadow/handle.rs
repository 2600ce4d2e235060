// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! [`TableHandle`]: the shared handle on a shadow page table, which makes
//! tables and harvests accessed bits without the driver's lock.

use super::{
    entry::{
        shift, slot, table_addr, table_end, table_entry, Walk, ACCESSED, FROZEN, LEVELS, VALID,
        VA_LIMIT,
    },
    TableOps, TableState,
};
use crate::rmm::{
    movable::MovablePage,
    page::{NewPage, PAGE_SIZE},
    rcu,
};
use core::{
    ops::Range,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{prelude::*, sync::Arc};

/// A shared handle on a [`ShadowTable`](super::ShadowTable): what needs no
/// writer access. Harvests accessed bits without the driver's lock, and
/// makes tables.
#[derive(Clone)]
pub struct TableHandle {
    pub(super) state: Arc<TableState>,
}

/// The tables [`TableHandle::prepare`] made sure of, for one fault.
///
/// Dropped without [`Prepared::keep`], it marks its range for the next
/// [`TableHandle::reap`], which gives up the tables that are still empty.
#[must_use = "dropping it gives the tables back at once"]
pub struct Prepared<'a> {
    handle: &'a TableHandle,
    range: Range<usize>,
}

impl Prepared<'_> {
    /// The fault installed entries: the tables are in use, as the entries'.
    pub fn keep(self) {
        core::mem::forget(self);
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        let mut inner = self.handle.state.inner.lock();
        if !inner.dead {
            inner.mark_dirty(self.range.start, self.range.end);
        }
    }
}

/// Counts of a table.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableCounts {
    /// Table pages linked in the tree.
    pub tables: usize,
    /// Table pages migrated so far.
    pub migrated: u64,
    /// Nanoseconds their migrations took (the driver's part: lock, entry
    /// moves, commit, parent switch).
    pub migrate_ns: u64,
    /// Harvests that met a table being migrated.
    pub slow_harvests: u64,
}

impl TableHandle {
    /// Makes sure the tables down to the leaf tables of `[start, end)`
    /// exist, making missing ones (`GFP_KERNEL`, charged to the caller's
    /// memory cgroup). They stay empty until
    /// [`ShadowTable::install`](super::ShadowTable::install), and an
    /// invalidation may take them away again meanwhile.
    ///
    /// Unless the fault they are for keeps them ([`Prepared::keep`], once
    /// it installed entries), the range is given back to the next
    /// [`TableHandle::reap`]: a fault that fails (an unmapped address, a
    /// signal) leaves no empty tables behind.
    ///
    /// `EFAULT` beyond [`VA_LIMIT`], `ENOMEM`, `ESRCH` once torn down.
    ///
    /// # Context
    ///
    /// Sleeps; call with no spinlock held.
    pub fn prepare(&self, start: usize, end: usize) -> Result<Prepared<'_>> {
        // Made first, so that the tables of a failed call are given back too.
        let prepared = Prepared {
            handle: self,
            range: start..end,
        };
        let mut va = start;
        while va < end {
            self.prepare_leaf(va)?;
            va = table_end(va, 0);
        }
        Ok(prepared)
    }

    /// [`Self::prepare`] for the leaf table of `va`.
    fn prepare_leaf(&self, va: usize) -> Result {
        if va >= VA_LIMIT {
            return Err(EFAULT);
        }
        loop {
            // The highest missing level, if any.
            let missing = {
                let inner = self.state.inner.lock();
                if inner.dead {
                    return Err(ESRCH);
                }
                let mut missing = None;
                for level in (0..LEVELS).rev() {
                    match self.state.parent_slot(&inner, level, va) {
                        Some(s) if s.load(Ordering::Relaxed) & VALID != 0 => {}
                        _ => {
                            missing = Some(level);
                            break;
                        }
                    }
                }
                missing
            };
            let Some(level) = missing else {
                return Ok(());
            };
            let base = va & !((1usize << shift(level + 1)) - 1);
            let page = NewPage::alloc_table(true)?;
            let table = MovablePage::<TableOps>::new(page, self.state.clone(), base | level)?;
            let inner = self.state.inner.lock();
            let linked = match self.state.parent_slot(&inner, level, va) {
                Some(s) if !inner.dead && s.load(Ordering::Relaxed) & VALID == 0 => {
                    // The page is zeroed and was never visible: the release
                    // store publishes its contents with it.
                    s.store(table_entry(table_addr(table.as_ptr())), Ordering::Release);
                    self.state.tables.fetch_add(1, Ordering::Relaxed);
                    true
                }
                _ => false,
            };
            drop(inner);
            if linked {
                // INVARIANT: owned by the entry just written.
                let _ = table.into_raw();
            } else {
                // Lost a race, or torn down: drop it unlocked (it sleeps).
                drop(table);
            }
        }
    }

    /// Clears the accessed bit of every valid leaf of `[start, end)` if
    /// `clear`, and returns whether any was set: without the driver's lock
    /// (see the documentation of [`super`]). Every bit is cleared before
    /// answering, as the `|` of the 2008 `age_page` did.
    ///
    /// # Context
    ///
    /// Any; never sleeps (it may spin on `TableState::inner` while a table of
    /// the range is being migrated).
    #[inline]
    pub fn harvest(&self, start: usize, end: usize, clear: bool) -> bool {
        let end = end.min(VA_LIMIT);
        let va = start & !(PAGE_SIZE - 1);
        // The young callbacks of page_idle and reclaim ask for one page at a
        // time: one walk and one entry, inline.
        if va < end && end - va <= PAGE_SIZE {
            let _rcu = rcu::read_lock();
            // SAFETY: inside `rcu_read_lock()`.
            let young = match unsafe { self.state.walk(va) } {
                Walk::Hole(_) => Some(false),
                Walk::Frozen => None,
                Walk::Leaf(t) => harvest_entry(&t[slot(va, 0)], clear),
            };
            if let Some(young) = young {
                return young;
            }
        }
        self.harvest_range(va, end, clear)
    }

    /// [`Self::harvest`] of any range, from the page of `va`.
    #[inline(never)]
    fn harvest_range(&self, mut va: usize, end: usize, clear: bool) -> bool {
        let mut young = false;
        {
            let _rcu = rcu::read_lock();
            // SAFETY: inside `rcu_read_lock()`.
            if unsafe { Self::harvest_from(&self.state, &mut va, end, clear, &mut young) } {
                return young;
            }
        }
        // A table was being migrated: finish under the lock, which the
        // migration holds until the new copy is linked.
        self.state.slow_harvests.fetch_add(1, Ordering::Relaxed);
        let _inner = self.state.inner.lock();
        // SAFETY: we hold the lock.
        let done = unsafe { Self::harvest_from(&self.state, &mut va, end, clear, &mut young) };
        debug_assert!(done);
        young
    }

    /// The loop of [`Self::harvest`] from `*va`: returns `false` (with `*va`
    /// where it stopped) if it met a frozen entry.
    ///
    /// # Safety
    ///
    /// The caller holds `state.inner` or is inside `rcu_read_lock()`.
    unsafe fn harvest_from(
        state: &TableState,
        va: &mut usize,
        end: usize,
        clear: bool,
        young: &mut bool,
    ) -> bool {
        while *va < end {
            // SAFETY: the caller's lock or RCU.
            match unsafe { state.walk(*va) } {
                Walk::Hole(next) => *va = next,
                Walk::Frozen => return false,
                Walk::Leaf(t) => {
                    let stop = end.min(table_end(*va, 0));
                    while *va < stop {
                        let Some(y) = harvest_entry(&t[slot(*va, 0)], clear) else {
                            return false;
                        };
                        *young |= y;
                        *va += PAGE_SIZE;
                    }
                }
            }
        }
        true
    }

    /// Whether the leaf of `va` is valid and accessed, without clearing.
    pub fn test_young(&self, va: usize) -> bool {
        self.harvest(va, va.saturating_add(1), false)
    }

    /// Counts of the table.
    pub fn counts(&self) -> TableCounts {
        TableCounts {
            tables: self.state.tables.load(Ordering::Relaxed),
            migrated: self.state.migrated.load(Ordering::Relaxed),
            migrate_ns: self.state.migrate_ns.load(Ordering::Relaxed),
            slow_harvests: self.state.slow_harvests.load(Ordering::Relaxed),
        }
    }
}

/// Clears the accessed bit of the leaf `e` if `clear`, and returns whether
/// it was valid and accessed; `None` if it is frozen (its table is being
/// migrated: the caller finishes under the lock, on the new copy).
#[inline(always)]
fn harvest_entry(e: &AtomicU64, clear: bool) -> Option<bool> {
    let mut old = e.load(Ordering::Relaxed);
    if clear && old & ACCESSED != 0 {
        old = e.fetch_and(!ACCESSED, Ordering::Relaxed);
    }
    if old & FROZEN != 0 {
        return None;
    }
    Some(old & (VALID | ACCESSED) == VALID | ACCESSED)
}
