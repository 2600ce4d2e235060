// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Migration of table pages: their movable operations, and the move of a
//! table's entries to a new page (see "Table pages move" in the module
//! documentation of [`super`]).

use super::{
    entry::{entries, entry_page, table_addr, table_entry, Entries, FROZEN, LEVELS, VALID},
    TableState,
};
use crate::rmm::{
    movable::{MigrateMode, Migration, MovableOperations, MovablePage, Outcome},
    page::LockedPage,
    rcu,
};
use core::{mem::ManuallyDrop, ptr::NonNull, sync::atomic::Ordering};
use kernel::{
    prelude::*,
    sync::{Arc, ArcBorrow},
    time::Ktime,
};

/// The entries of a page the VM holds locked for a migration.
///
/// # Safety
///
/// `page` is a table page of a tree, or a new page of the migration, locked
/// by the VM for `'a`, and not highmem.
unsafe fn locked_entries<'a>(page: &LockedPage<'a>) -> &'a Entries {
    // SAFETY: the page's address (not highmem), locked for `'a` (caller).
    unsafe { entries(table_entry(table_addr(page.as_ptr()))) }
}

/// The movable operations of table pages.
pub(super) struct TableOps;

impl MovableOperations for TableOps {
    type Private = Arc<TableState>;

    fn migrate_page<'a>(
        state: ArcBorrow<'a, TableState>,
        migration: Migration<'a, Self>,
        mode: MigrateMode,
    ) -> Outcome<'a> {
        // Not in a migration that may not block: the VM's blocking callers
        // try every page asynchronously first (`migrate_pages_sync()`) and
        // then in their own mode, where the old copy can be released before
        // the migration returns (see `TableState::migrate`). Only
        // asynchronous compaction leaves table pages where they are.
        if matches!(mode, MigrateMode::Async) {
            return Err(migration.refuse(EAGAIN));
        }
        state.migrate(migration, mode)
    }
}

impl TableState {
    /// Migrates a table page (see the documentation of [`super`]): a linked
    /// table, or a zombie (unlinked, waiting to be freed), which must not
    /// hold up memory offlining either.
    ///
    /// Lock-free readers may still be in the old copy. In a migration that
    /// may block (`MigrateMode::Sync`: memory offlining, `compact_memory`,
    /// `alloc_contig_range()` for CMA, gigantic pages and virtio-mem) it is
    /// released before returning, after an expedited grace period: the VM
    /// frees it at once, and a contiguous allocation does not find the
    /// range busy. Otherwise its reference is dropped by an RCU callback.
    fn migrate<'a>(&self, migration: Migration<'a, TableOps>, mode: MigrateMode) -> Outcome<'a> {
        let src = migration.src();
        let dst = migration.dst();
        let tag = src.index();
        let (level, base) = (tag & (LEVELS - 1), tag & !(LEVELS - 1));
        if table_addr(dst.as_ptr()).is_null() {
            // A highmem target has no address to read the table through.
            return Err(migration.refuse(ENOMEM));
        }
        // Lock-free readers may still be in the old copy: its reference is
        // dropped after a grace period, here or by a callback queued with a
        // node allocated now.
        let put = if matches!(mode, MigrateMode::Sync) {
            None
        } else {
            let Some(put) = rcu::PagePut::new() else {
                return Err(migration.refuse(ENOMEM));
            };
            Some(put)
        };
        let began = Ktime::ktime_get();
        let mut inner = self.inner.lock();
        if inner.dead {
            return Err(migration.refuse(EAGAIN));
        }
        let linked = self.parent_slot(&inner, level, base).is_some_and(|p| {
            let e = p.load(Ordering::Relaxed);
            e & VALID != 0 && entry_page(e) == src.as_ptr()
        });
        let mut old = None;
        let move_entries = |s: LockedPage<'a>, d: LockedPage<'a>| {
            // Both are locked by the VM for the call.
            // SAFETY: `s` is this table page and `d` a lowmem page (checked above).
            let (from, to) = unsafe { (locked_entries(&s), locked_entries(&d)) };
            for (f, t) in from.iter().zip(to) {
                // `d` is not linked yet: only we see it.
                t.store(f.swap(FROZEN, Ordering::AcqRel), Ordering::Relaxed);
            }
            old = Some(s.get_ref());
        };
        let out = if linked {
            // The parent entry points to this page, so the tree owns it,
            // given up by `into_raw()`; we hold the lock, so nobody else makes
            // an object of it. `ManuallyDrop`: the tree keeps owning it.
            // SAFETY: as just said; a locked page is not null.
            let raw = unsafe { MovablePage::from_raw(NonNull::new_unchecked(src.as_ptr())) };
            let mut page: ManuallyDrop<MovablePage<TableOps>> = ManuallyDrop::new(raw);
            let out = migration.commit_with(&mut page, move_entries);
            if out.is_ok() {
                if let Some(parent) = self.parent_slot(&inner, level, base) {
                    // The new copy's entries are visible before the page is.
                    parent.store(table_entry(table_addr(page.as_ptr())), Ordering::Release);
                }
            }
            out
        } else if let Some(z) = inner
            .zombies
            .as_mut_slice()
            .iter_mut()
            .find(|(z, _)| z.as_ptr() == src.as_ptr())
        {
            // Nothing points to a zombie: only its object changes.
            migration.commit_with(&mut z.0, move_entries)
        } else {
            // A stale page: the VM retries, and it is gone by then.
            return Err(migration.refuse(EAGAIN));
        };
        let mut wait = None;
        if out.is_ok() {
            match (old, put) {
                (Some(old), Some(put)) => {
                    // `ShadowTable`'s `Drop`, run before the module goes, sees
                    // `rcu_callbacks` (set below, under this lock) and waits for the
                    // callback (`rcu::barrier()`).
                    // SAFETY: the module waits for the callback before it goes (above).
                    unsafe { put.put(old) };
                    inner.rcu_callbacks = true;
                }
                (old, _) => wait = old,
            }
            self.migrated.fetch_add(1, Ordering::Relaxed);
            let ns = (Ktime::ktime_get() - began).to_ns().max(0) as u64;
            self.migrate_ns.fetch_add(ns, Ordering::Relaxed);
        }
        drop(inner);
        if let Some(old) = wait {
            // A blocking migration, with no lock of ours held.
            rcu::synchronize_expedited();
            // No reader is in the old copy any more.
            drop(old);
        }
        out
    }
}
