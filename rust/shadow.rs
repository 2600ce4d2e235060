// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Shadow page tables: a device MMU's page table of a process's address
//! space, in movable pages.
//!
//! C headers: [`include/linux/migrate.h`](srctree/include/linux/migrate.h),
//! [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h) (through
//! [`super::rcu`]).
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
//! [`FROZEN`] behind, under the tree's lock, then points the parent entry at
//! the new page:
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
//!   tables wait in `Tree::zombies` and are dropped by
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
//!   `Tree::zombies` changed.
//! - The tree owns each linked table page as a [`MovablePage`] given up with
//!   `into_raw()`: the entry pointing to it is the only owner, and
//!   [`ShadowTable`]'s `Drop` frees what is still linked.
//!
//! # Lock order
//!
//! The VM's page lock of a table page (migration) or the driver's lock (the
//! writer, [`ShadowTable`], lives under it), then `Core::lock`. Harvesters
//! take `Core::lock` only on their slow path, from under the page table lock.
//! Nothing sleeps or allocates (beyond `GFP_NOWAIT`) under `Core::lock`.

use super::{
    bindings as rmm_bindings,
    mmu_notifier::Stable,
    movable::{MigrateMode, Migration, MovableOperations, MovablePage, Outcome},
    page::{LockedPage, NewPage, PAGE_SIZE},
    rcu::{self, GpState},
};
use core::{
    mem::ManuallyDrop,
    ops::Range,
    ptr::NonNull,
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
};
use kernel::{
    alloc::flags::{GFP_KERNEL, GFP_NOWAIT},
    bindings, new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, SpinLock},
    time::Ktime,
};

/// A leaf entry maps a page.
pub const VALID: u64 = 1 << 0;
/// The device may write through the entry.
pub const WRITE: u64 = 1 << 1;
/// The device accessed the page since the bit was last cleared.
pub const ACCESSED: u64 = 1 << 2;
/// The device wrote the page through the entry.
pub const DIRTY: u64 = 1 << 3;
/// Left in an entry of a table page being migrated (never `VALID`).
const FROZEN: u64 = 1 << 4;
/// The bits of a leaf entry below its page frame number.
pub const FLAGS: u64 = VALID | WRITE | ACCESSED | DIRTY;

/// Where the page frame number of a leaf entry starts: above the flags,
/// whatever the page size.
const PFN_SHIFT: u32 = 12;
/// The address bits below a page.
const PAGE_SHIFT: usize = PAGE_SIZE.trailing_zeros() as usize;
/// Entries per table: a table is one page of 64-bit entries (512 with
/// 4 KiB pages, 2048 with 16 KiB, 8192 with 64 KiB).
const ENTRIES: usize = PAGE_SIZE / core::mem::size_of::<u64>();
/// The user address bits a tree covers at least.
const VA_BITS: usize = 48;
/// Levels of the tree; level 0 holds the leaves (4 with 4 KiB and 16 KiB
/// pages, 3 with 64 KiB).
pub const LEVELS: usize = levels(PAGE_SHIFT);
/// The end of the address space a table covers.
pub const VA_LIMIT: usize = 1 << shift(LEVELS);

/// Levels a tree of `page_shift` pages needs to cover [`VA_BITS`].
const fn levels(page_shift: usize) -> usize {
    (VA_BITS - page_shift).div_ceil(page_shift - 3)
}

// The geometry follows the page size, and holds for every page size the
// kernel has (4, 16 and 64 KiB), not only the one of this build: a tree
// covers `VA_BITS` without shifting past a `u64`, a level fits in the low
// bits of a table's `page->index` word (`base | level`), and the flags fit
// below `PFN_SHIFT`.
const _: () = {
    let mut page_shift = 12;
    while page_shift <= 16 {
        let end = page_shift + (page_shift - 3) * levels(page_shift);
        assert!(end >= VA_BITS && end < 64);
        assert!(levels(page_shift) < (1 << page_shift));
        page_shift += 2;
    }
    assert!(PAGE_SIZE == 1 << PAGE_SHIFT);
    assert!((FLAGS | FROZEN) >> PFN_SHIFT == 0);
    // A table's `base | level` fits the driver's index word of a movable
    // page for every address of `VA_BITS`; tables above (x86's 5-level
    // user space) fail to be made with `EINVAL`.
    assert!(VA_BITS <= super::movable::INDEX_BITS as usize);
};
/// Unlinked tables kept before [`TableHandle::reap`] frees them.
const REAP_BATCH: usize = 32;
/// Unlinked tables kept before a reap that is not `all` waits for a grace
/// period to free them (512 KiB of 4 KiB tables); below, it frees them only
/// once their grace period is over, and never waits.
const REAP_MAX: usize = 4 * REAP_BATCH;

/// The entries of one table page.
type Entries = [AtomicU64; ENTRIES];

/// The address bits below the index of a level-`level` table.
const fn shift(level: usize) -> usize {
    PAGE_SHIFT + (PAGE_SHIFT - 3) * level
}

/// The index of `va` in a level-`level` table.
const fn slot(va: usize, level: usize) -> usize {
    (va >> shift(level)) & (ENTRIES - 1)
}

/// The end of the span that the level-`level` table holding `va` covers,
/// capped at [`VA_LIMIT`].
const fn table_end(va: usize, level: usize) -> usize {
    let span = 1usize << shift(level + 1);
    let end = (va & !(span - 1)).saturating_add(span);
    if end > VA_LIMIT {
        VA_LIMIT
    } else {
        end
    }
}

/// An entry pointing to the table page at kernel address `addr` (page
/// aligned): upper entries hold the table's address rather than its frame,
/// so that a walk needs no `pfn_to_page()` and `page_address()` per level.
fn table_entry(addr: *mut core::ffi::c_void) -> u64 {
    addr as usize as u64 | VALID
}

/// The page frame a leaf entry holds.
const fn entry_pfn(e: u64) -> usize {
    (e >> PFN_SHIFT) as usize
}

/// The kernel address of the table an upper entry points to.
fn entry_table(e: u64) -> *mut core::ffi::c_void {
    (e & !((1u64 << PFN_SHIFT) - 1)) as usize as *mut core::ffi::c_void
}

/// The kernel address of a table page (lowmem: [`NewPage::alloc_table`], or
/// a migration target checked by [`Core::migrate`]).
fn table_addr(page: *mut bindings::page) -> *mut core::ffi::c_void {
    // SAFETY: `page` is a valid page; only computes its address.
    unsafe { rmm_bindings::rmm_page_address(page) }
}

/// The table page an upper entry points to.
fn entry_page(e: u64) -> *mut bindings::page {
    // SAFETY: a linear-map address of a table page; only computes its page.
    unsafe { rmm_bindings::rmm_virt_to_page(entry_table(e)) }
}

/// The entries of the table an upper entry points to.
///
/// # Safety
///
/// `e` is a valid upper entry of a tree, whose table page stays allocated
/// while the result is used: the caller holds `Core::lock` and reached it
/// from the root, or is inside `rcu_read_lock()` (see the module
/// invariants).
unsafe fn entries<'a>(e: u64) -> &'a Entries {
    // A page is `ENTRIES` naturally aligned 64-bit words, only accessed atomically
    // while it is a table.
    // SAFETY: the table's address, valid while the caller keeps it so.
    unsafe { &*entry_table(e).cast::<Entries>() }
}

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
struct TableOps;

impl MovableOperations for TableOps {
    type Private = Arc<Core>;

    fn migrate_page<'a>(
        core: ArcBorrow<'a, Core>,
        migration: Migration<'a, Self>,
        mode: MigrateMode,
    ) -> Outcome<'a> {
        // Not in a migration that may not block: the VM's blocking callers
        // try every page asynchronously first (`migrate_pages_sync()`) and
        // then in their own mode, where the old copy can be released before
        // the migration returns (see `Core::migrate`). Only asynchronous
        // compaction leaves table pages where they are.
        if matches!(mode, MigrateMode::Async) {
            return Err(migration.refuse(EAGAIN));
        }
        core.migrate(migration, mode)
    }
}

/// What `Core::lock` protects besides the entries.
struct Tree {
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

impl Tree {
    /// Notes that tables of `[start, end)` may be empty, for the next prune.
    fn mark_dirty(&mut self, start: usize, end: usize) {
        self.dirty = Some(match self.dirty.take() {
            Some(d) => d.start.min(start)..d.end.max(end),
            None => start..end,
        });
    }
}

/// What a tree's table pages and handles share.
#[pin_data]
struct Core {
    #[pin]
    lock: SpinLock<Tree>,
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

/// Where a lockless walk ended.
enum Walk<'a> {
    /// The leaf table of the address.
    Leaf(&'a Entries),
    /// No table down to the leaf: nothing is mapped up to this address.
    Hole(usize),
    /// A table on the way is being migrated.
    Frozen,
}

impl Core {
    /// Walks to the leaf table of `va` (`va < VA_LIMIT`).
    ///
    /// # Safety
    ///
    /// The caller holds `lock` or is inside `rcu_read_lock()` for `'a`.
    unsafe fn walk<'a>(&'a self, va: usize) -> Walk<'a> {
        let mut e = self.root.load(Ordering::Acquire);
        let mut level = LEVELS - 1;
        loop {
            // `e` is the entry of the level-`level` table covering `va`.
            if e & FROZEN != 0 {
                return Walk::Frozen;
            }
            if e & VALID == 0 {
                return Walk::Hole(table_end(va, level));
            }
            // SAFETY: a linked table page, kept by the caller's lock or RCU.
            let t = unsafe { entries(e) };
            if level == 0 {
                return Walk::Leaf(t);
            }
            e = t[slot(va, level)].load(Ordering::Acquire);
            level -= 1;
        }
    }

    /// The entry that points to the level-`level` table covering `va`, if
    /// the tables above it exist.
    fn parent_slot<'a>(
        &'a self,
        _tree: &'a Tree,
        level: usize,
        va: usize,
    ) -> Option<&'a AtomicU64> {
        let mut at = &self.root;
        let mut l = LEVELS - 1;
        while l > level {
            let e = at.load(Ordering::Relaxed);
            if e & VALID == 0 {
                return None;
            }
            // SAFETY: a linked table page, and we hold the lock (`_tree`).
            let t = unsafe { entries(e) };
            at = &t[slot(va, l)];
            l -= 1;
        }
        Some(at)
    }

    /// Migrates a table page (see the module documentation): a linked
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
        let mut tree = self.lock.lock();
        if tree.dead {
            return Err(migration.refuse(EAGAIN));
        }
        let linked = self.parent_slot(&tree, level, base).is_some_and(|p| {
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
                if let Some(parent) = self.parent_slot(&tree, level, base) {
                    // The new copy's entries are visible before the page is.
                    parent.store(table_entry(table_addr(page.as_ptr())), Ordering::Release);
                }
            }
            out
        } else if let Some(z) = tree
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
                    tree.rcu_callbacks = true;
                }
                (old, _) => wait = old,
            }
            self.migrated.fetch_add(1, Ordering::Relaxed);
            let ns = (Ktime::ktime_get() - began).to_ns().max(0) as u64;
            self.migrate_ns.fetch_add(ns, Ordering::Relaxed);
        }
        drop(tree);
        if let Some(old) = wait {
            // A blocking migration, with no lock of ours held.
            rcu::synchronize_expedited();
            // No reader is in the old copy any more.
            drop(old);
        }
        out
    }

    /// Unlinks the table that `parent` points to (empty, not the top
    /// level), keeping it as a zombie until readers are gone; leaves it
    /// linked if there is no room to keep it (never allocates beyond
    /// `GFP_NOWAIT`).
    fn unlink(&self, tree: &mut Tree, parent: &AtomicU64) -> bool {
        if tree.zombies.reserve(1, GFP_NOWAIT).is_err() {
            return false;
        }
        let e = parent.swap(0, Ordering::Release);
        let page = entry_page(e);
        // The entry owned this table page (module invariants).
        // SAFETY: the swap above gave that ownership to us.
        let table = unsafe { MovablePage::<TableOps>::from_raw(NonNull::new_unchecked(page)) };
        match super::vec::push_within_capacity(&mut tree.zombies, (table, GpState::get())) {
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
    fn prune(&self, tree: &mut Tree) {
        let Some(range) = tree.dirty.take() else {
            return;
        };
        let root = self.root.load(Ordering::Relaxed);
        if root & VALID != 0 {
            // SAFETY: we hold the lock (`tree`); the top-level table is linked.
            unsafe { self.prune_table(tree, root, LEVELS - 1, range.start, range.end) };
        }
    }

    /// [`Self::prune`] in the level-`level` table (`level >= 1`) of entry
    /// `e`, over `[lo, hi)`.
    ///
    /// # Safety
    ///
    /// The caller holds the lock (`tree`), and `e` is the entry of a linked
    /// table.
    unsafe fn prune_table(&self, tree: &mut Tree, e: u64, level: usize, lo: usize, hi: usize) {
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
                    unsafe { self.prune_table(tree, child, level - 1, va, next) };
                }
                // SAFETY: as above.
                let c = unsafe { entries(child) };
                if c.iter().all(|x| x.load(Ordering::Relaxed) == 0) && !self.unlink(tree, entry) {
                    tree.mark_dirty(va, next);
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
    unsafe fn free_subtree(e: u64, level: usize) {
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

/// A shared handle on a [`ShadowTable`]: what needs no writer access.
/// Harvests accessed bits without the driver's lock, and makes tables.
#[derive(Clone)]
pub struct TableHandle {
    core: Arc<Core>,
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
        let mut tree = self.handle.core.lock.lock();
        if !tree.dead {
            tree.mark_dirty(self.range.start, self.range.end);
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
    /// memory cgroup). They stay empty until [`ShadowTable::install`], and
    /// an invalidation may take them away again meanwhile.
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
                let tree = self.core.lock.lock();
                if tree.dead {
                    return Err(ESRCH);
                }
                let mut missing = None;
                for level in (0..LEVELS).rev() {
                    match self.core.parent_slot(&tree, level, va) {
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
            let table = MovablePage::<TableOps>::new(page, self.core.clone(), base | level)?;
            let tree = self.core.lock.lock();
            let linked = match self.core.parent_slot(&tree, level, va) {
                Some(s) if !tree.dead && s.load(Ordering::Relaxed) & VALID == 0 => {
                    // The page is zeroed and was never visible: the release
                    // store publishes its contents with it.
                    s.store(table_entry(table_addr(table.as_ptr())), Ordering::Release);
                    self.core.tables.fetch_add(1, Ordering::Relaxed);
                    true
                }
                _ => false,
            };
            drop(tree);
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
    /// (see the module documentation). Every bit is cleared before
    /// answering, as the `|` of the 2008 `age_page` did.
    ///
    /// # Context
    ///
    /// Any; never sleeps (it may spin on `Core::lock` while a table of the
    /// range is being migrated).
    pub fn harvest(&self, start: usize, end: usize, clear: bool) -> bool {
        let end = end.min(VA_LIMIT);
        let mut va = start & !(PAGE_SIZE - 1);
        let mut young = false;
        {
            let _rcu = rcu::read_lock();
            // SAFETY: inside `rcu_read_lock()`.
            if unsafe { Self::harvest_from(&self.core, &mut va, end, clear, &mut young) } {
                return young;
            }
        }
        // A table was being migrated: finish under the lock, which the
        // migration holds until the new copy is linked.
        self.core.slow_harvests.fetch_add(1, Ordering::Relaxed);
        let _tree = self.core.lock.lock();
        // SAFETY: we hold the lock.
        let done = unsafe { Self::harvest_from(&self.core, &mut va, end, clear, &mut young) };
        debug_assert!(done);
        young
    }

    /// The loop of [`Self::harvest`] from `*va`: returns `false` (with `*va`
    /// where it stopped) if it met a frozen entry.
    ///
    /// # Safety
    ///
    /// The caller holds `core.lock` or is inside `rcu_read_lock()`.
    unsafe fn harvest_from(
        core: &Core,
        va: &mut usize,
        end: usize,
        clear: bool,
        young: &mut bool,
    ) -> bool {
        while *va < end {
            // SAFETY: the caller's lock or RCU.
            match unsafe { core.walk(*va) } {
                Walk::Hole(next) => *va = next,
                Walk::Frozen => return false,
                Walk::Leaf(t) => {
                    let stop = end.min(table_end(*va, 0));
                    while *va < stop {
                        let e = &t[slot(*va, 0)];
                        let mut old = e.load(Ordering::Relaxed);
                        if clear && old & ACCESSED != 0 {
                            old = e.fetch_and(!ACCESSED, Ordering::Relaxed);
                        }
                        if old & FROZEN != 0 {
                            return false;
                        }
                        *young |= old & (VALID | ACCESSED) == VALID | ACCESSED;
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
            let dirty = self.core.lock.lock().dirty.is_some();
            let room = self.core.tables.load(Ordering::Relaxed) + REAP_BATCH;
            let mut spare = if dirty {
                KVec::with_capacity(room, GFP_KERNEL).ok()
            } else {
                None
            };
            let mut tree = self.core.lock.lock();
            if tree.dirty.is_some() {
                if let Some(spare) = spare.as_mut() {
                    if super::vec::append_within_capacity(spare, &mut tree.zombies).is_ok() {
                        core::mem::swap(&mut tree.zombies, spare);
                    }
                }
                self.core.prune(&mut tree);
            }
            // A fault reaps without waiting: the newest zombie's grace
            // period (so everyone's) must be over, unless too many wait.
            let wait = match tree.zombies.last() {
                None => true,
                Some(_) if all => false,
                Some(_) if tree.zombies.len() < REAP_BATCH => true,
                Some(_) if tree.zombies.len() >= REAP_MAX => false,
                Some(&(_, newest)) => {
                    // Reads RCU's state; callable in any context.
                    let over = newest.poll();
                    !over
                }
            };
            if wait {
                drop(tree);
                // An unused vector: nothing in it.
                drop(spare);
                return;
            }
            core::mem::replace(&mut tree.zombies, KVec::new())
        };
        if let Some((_, newest)) = zombies.last() {
            // May sleep: process context, no lock held (caller).
            newest.cond_synchronize();
        }
        // Each drop takes the page lock (sleeps), with no lock of ours held.
        drop(zombies);
    }

    /// Counts of the table.
    pub fn counts(&self) -> TableCounts {
        TableCounts {
            tables: self.core.tables.load(Ordering::Relaxed),
            migrated: self.core.migrated.load(Ordering::Relaxed),
            migrate_ns: self.core.migrate_ns.load(Ordering::Relaxed),
            slow_harvests: self.core.slow_harvests.load(Ordering::Relaxed),
        }
    }
}

/// A shadow page table, and the right to write it: the driver keeps it
/// under its own lock (inside an [`super::mmu_notifier::InvalidateSeq`], so
/// that a fault's result is installed only through its `Stable` proof).
///
/// # Invariants
///
/// `valid` is the number of valid leaf entries.
pub struct ShadowTable {
    core: Arc<Core>,
    valid: usize,
}

impl ShadowTable {
    /// An empty table (the top-level table is made on the first
    /// [`TableHandle::prepare`]).
    pub fn new() -> Result<Self> {
        let core = Arc::pin_init(
            try_pin_init!(Core {
                lock <- new_spinlock!(
                    Tree {
                        zombies: KVec::new(),
                        rcu_callbacks: false,
                        dirty: None,
                        dead: false,
                    },
                    "rmm::shadow::Core::lock"
                ),
                root: AtomicU64::new(0),
                tables: AtomicUsize::new(0),
                migrated: AtomicU64::new(0),
                migrate_ns: AtomicU64::new(0),
                slow_harvests: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        Ok(Self { core, valid: 0 })
    }

    /// A shared handle ([`TableHandle`]).
    pub fn handle(&self) -> TableHandle {
        TableHandle {
            core: self.core.clone(),
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
        let _tree = self.core.lock.lock();
        // SAFETY: we hold the lock, so no entry is frozen.
        match unsafe { self.core.walk(va) } {
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
        let _tree = this.core.lock.lock();
        let mut leaf: Option<&Entries> = None;
        let mut a = va;
        for pfn in pfns {
            if a >= VA_LIMIT {
                return Err(());
            }
            if a % (PAGE_SIZE * ENTRIES) == 0 || a == va {
                // SAFETY: we hold the lock, so no entry is frozen.
                leaf = match unsafe { this.core.walk(a) } {
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
        let need = need | VALID;
        let end = end.min(VA_LIMIT);
        let _tree = self.core.lock.lock();
        let mut a = va;
        while a < end {
            // SAFETY: we hold the lock, so no entry is frozen.
            let Walk::Leaf(t) = (unsafe { self.core.walk(a) }) else {
                return a;
            };
            let stop = end.min(table_end(a, 0));
            while a < stop {
                if t[slot(a, 0)].load(Ordering::Relaxed) & need != need {
                    return a;
                }
                a += PAGE_SIZE;
            }
        }
        end
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
        let mut tree = self.core.lock.lock();
        let root = self.core.root.load(Ordering::Relaxed);
        if root & VALID == 0 {
            return 0;
        }
        // SAFETY: we hold the lock; the top-level table is linked.
        let n = unsafe { self.clear_table(&tree, root, LEVELS - 1, start, end) };
        // Tables left empty are given up later, where the device may sleep
        // ([`TableHandle::reap`]): an invalidation only clears leaves.
        tree.mark_dirty(start, end);
        drop(tree);
        self.valid -= n;
        n
    }

    /// Clears `[start, end)` in the level-`level` table of entry `e`.
    ///
    /// # Safety
    ///
    /// The caller holds the lock (`tree`), and `e` is the entry of a linked
    /// table.
    unsafe fn clear_table(
        &self,
        _tree: &Tree,
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
                    n += unsafe { self.clear_table(_tree, child, level - 1, va, next) };
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
        let _tree = self.core.lock.lock();
        let mut a = va;
        let mut i = 0;
        while a < end {
            // SAFETY: we hold the lock, so no entry is frozen.
            match unsafe { self.core.walk(a) } {
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
            let mut tree = self.core.lock.lock();
            tree.dead = true;
            (self.core.root.swap(0, Ordering::Relaxed), GpState::get())
        };
        // Harvesters that read the old root are gone after this (a tree that
        // never had a table needs no wait); migrations find the tree dead.
        if root & VALID != 0 {
            // Process context (the caller may sleep).
            cookie.cond_synchronize();
        }
        // Nothing reaches the tables any more.
        // SAFETY: the root entry was ours to give up.
        unsafe { Core::free_subtree(root, LEVELS - 1) };
        self.core.tables.store(0, Ordering::Relaxed);
        let (zombies, callbacks) = {
            let mut tree = self.core.lock.lock();
            (
                core::mem::replace(&mut tree.zombies, KVec::new()),
                tree.rcu_callbacks,
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
