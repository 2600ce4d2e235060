// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Shadow page tables: a device MMU's page table of a process's address
//! space, in movable pages.
//!
//! C headers: [`include/linux/migrate.h`](srctree/include/linux/migrate.h),
//! [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h) (through
//! [`crate::rmm::rcu`]).
//!
//! A [`ShadowTable`] is a radix tree of 64-bit entries indexed by virtual
//! address, like x86's: one page of entries per table, page-sized leaves, at
//! least 48 bits of address ([`VA_LIMIT`]); with 4 KiB pages, four levels of
//! 512 entries, as x86's. A leaf entry holds a page frame number and
//! the bits [`VALID`], [`WRITE`], [`ACCESSED`] and [`DIRTY`]; an entry of an
//! upper level holds the kernel address of the table below (a lowmem page),
//! so that a walk is four loads and no address translation. Tables are made on demand
//! ([`TableHandle::prepare`]) and given up level by level once an
//! invalidation ([`ShadowTable::clear`]) has left them empty: by the next
//! [`TableHandle::reap`] (a device fault), where sleeping is allowed, so that
//! an invalidation only clears leaves.
//!
//! # Table pages move
//!
//! Every table page is a [`MovablePage`]: compaction and memory offlining
//! migrate device page tables like any movable memory (Ross Biro's "MM: Make
//! Page Tables Relocatable" RFC, linux-mm, April 2008). The hazard is an
//! update of the old copy made while it is being copied (a device setting an
//! accessed bit, a harvester clearing one) that the new copy never sees. A
//! migration therefore moves each entry with an atomic exchange that leaves
//! [`FROZEN`](entry::FROZEN) behind, under the tree's lock, then points the
//! parent entry at the new page:
//!
//! - writers (installs, invalidations, device accesses setting accessed and
//!   dirty bits) hold the tree's lock, so they run entirely before or after;
//! - harvesters ([`TableHandle::harvest`], [`TableHandle::test_young`]) hold
//!   no lock: they walk under RCU and update leaves with atomic operations.
//!   An update that lands before an entry's exchange moves with it; one that
//!   comes after finds `FROZEN` (a clear of the accessed bit leaves it
//!   unchanged) and redoes its walk under the lock, which it gets once the
//!   new page is in place. No bit is lost, none is torn, and none is cleared
//!   twice.
//!
//! # Invariants
//!
//! - Table pages are read without the lock only under `rcu_read_lock()`. A
//!   table page leaves the tree (an unlinked empty table, the old copy of a
//!   migrated one) and is freed only after an RCU grace period: unlinked
//!   tables wait in `TableInner::zombies` and are dropped by
//!   [`TableHandle::reap`] (dropping a [`MovablePage`] takes its page lock:
//!   it sleeps; a zombie migrates like a linked table meanwhile, so it never
//!   holds up memory offlining). Table pages migrate only in migrations
//!   that may block (an asynchronous one is refused, and the VM's blocking
//!   callers retry in their own mode right after). The old copy of a table
//!   moved by `MIGRATE_SYNC` (offlining, `compact_memory`,
//!   `alloc_contig_range()`) is released before the migration returns,
//!   after `synchronize_rcu_expedited()`, so that the VM frees it at once;
//!   that of a `MIGRATE_SYNC_LIGHT` one (kcompactd, direct compaction) keeps
//!   a page reference dropped by an RCU callback (`call_rcu`), and
//!   [`ShadowTable`]'s `Drop` waits for those callbacks (`rcu_barrier()`),
//!   which are module code.
//! - A table page of a level-`l` table covering `[base, base + span)` has
//!   `page->index == base | l` ([`MovablePage::new`]'s index word): what its
//!   migration uses to find the parent entry that points to it. A zombie,
//!   which no entry points to any more, migrates with only its object in
//!   `TableInner::zombies` changed.
//! - The tree owns each linked table page as a [`MovablePage`] given up with
//!   `into_raw()`: the entry pointing to it is the only owner, and
//!   [`ShadowTable`]'s `Drop` frees what is still linked.
//!
//! # Lock order
//!
//! The VM's page lock of a table page (migration) or the driver's lock (the
//! writer, [`ShadowTable`], lives under it), then `TableState::inner`.
//! Harvesters take `TableState::inner` only on their slow path, from under
//! the page table lock. Nothing sleeps or allocates (beyond `GFP_NOWAIT`)
//! under `TableState::inner`.

//!
//! # Files
//!
//! - `mod.rs`: this overview, and what the others share: [`TableState`]
//!   (the entries' root, the lock and the counts) and [`TableInner`] (what
//!   the lock protects besides the entries).
//! - `entry.rs`: the entry format, the geometry of the tree, and walks.
//! - `handle.rs`: [`TableHandle`], the shared lock-free handle: making tables
//!   ([`TableHandle::prepare`]) and harvesting accessed bits.
//! - `writer.rs`: [`ShadowTable`], the writer (installs, invalidations,
//!   device accesses, snapshots), and the teardown.
//! - `migrate.rs`: the movable operations of table pages, and their
//!   migration.
//! - `reap.rs`: giving up emptied tables (prune, zombies) and freeing them
//!   once readers are gone ([`TableHandle::reap`]).

use crate::rmm::{movable::MovablePage, rcu::GpState};
use core::{
    ops::Range,
    sync::atomic::{AtomicU64, AtomicUsize},
};
use kernel::{prelude::*, sync::SpinLock};

#[path = "entry.rs"]
mod entry;
#[path = "handle.rs"]
mod handle;
#[path = "migrate.rs"]
mod migrate;
#[path = "reap.rs"]
mod reap;
#[path = "writer.rs"]
mod writer;

// The interface of the table, whether a module names all of it or not (as
// `dead_code` is for items, see `rust/rmm.rs`).
#[allow(unused_imports)]
pub use entry::{ACCESSED, DIRTY, FLAGS, LEVELS, VALID, VA_LIMIT, WRITE};
#[allow(unused_imports)]
pub use handle::{Prepared, TableCounts, TableHandle};
use migrate::TableOps;
pub use writer::ShadowTable;

/// What `TableState::inner`, the tree's lock, protects besides the entries.
struct TableInner {
    /// Unlinked empty tables, with the grace period after which no reader
    /// sees them.
    zombies: KVec<(MovablePage<TableOps>, GpState)>,
    /// An old copy's page reference was given to an RCU callback.
    rcu_callbacks: bool,
    /// The union of the ranges where tables may have become empty since
    /// the last prune: cleared by invalidations, or made by faults that
    /// failed before installing anything.
    dirty: Option<Range<usize>>,
    /// The table is torn down: nothing links or moves tables any more.
    dead: bool,
}

impl TableInner {
    /// Notes that tables of `[start, end)` may be empty, for the next prune.
    fn mark_dirty(&mut self, start: usize, end: usize) {
        self.dirty = Some(match self.dirty.take() {
            Some(d) => d.start.min(start)..d.end.max(end),
            None => start..end,
        });
    }
}

/// The state of a shadow table, shared by its writer ([`ShadowTable`]), its
/// handles ([`TableHandle`]) and its table pages (their movable private
/// data).
#[pin_data]
struct TableState {
    /// The tree's lock, and what it protects besides the entries.
    #[pin]
    inner: SpinLock<TableInner>,
    /// The entry of the top-level table (never frozen: only the lock holder
    /// replaces it).
    root: AtomicU64,
    /// Table pages linked in the tree.
    tables: AtomicUsize,
    /// Table pages migrated.
    migrated: AtomicU64,
    /// Nanoseconds spent moving them (from the lock taken to the new copy
    /// linked).
    migrate_ns: AtomicU64,
    /// Harvests that met a table being moved and finished under the lock.
    slow_harvests: AtomicU64,
}
