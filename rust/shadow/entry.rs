// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! The entry format of a shadow page table, its geometry, and walks.

use super::{TableInner, TableState};
use crate::rmm::{bindings as rmm_bindings, page::PAGE_SIZE};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings;

/// A leaf entry maps a page.
pub const VALID: u64 = 1 << 0;
/// The device may write through the entry.
pub const WRITE: u64 = 1 << 1;
/// The device accessed the page since the bit was last cleared.
pub const ACCESSED: u64 = 1 << 2;
/// The device wrote the page through the entry.
pub const DIRTY: u64 = 1 << 3;
/// Left in an entry of a table page being migrated (never `VALID`).
pub(super) const FROZEN: u64 = 1 << 4;
/// The bits of a leaf entry below its page frame number.
pub const FLAGS: u64 = VALID | WRITE | ACCESSED | DIRTY;

/// Where the page frame number of a leaf entry starts: above the flags,
/// whatever the page size.
pub(super) const PFN_SHIFT: u32 = 12;
/// The address bits below a page.
const PAGE_SHIFT: usize = PAGE_SIZE.trailing_zeros() as usize;
/// Entries per table: a table is one page of 64-bit entries (512 with
/// 4 KiB pages, 2048 with 16 KiB, 8192 with 64 KiB).
pub(super) const ENTRIES: usize = PAGE_SIZE / core::mem::size_of::<u64>();
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
    assert!(VA_BITS <= crate::rmm::movable::INDEX_BITS as usize);
};

/// The entries of one table page.
pub(super) type Entries = [AtomicU64; ENTRIES];

/// The address bits below the index of a level-`level` table.
pub(super) const fn shift(level: usize) -> usize {
    PAGE_SHIFT + (PAGE_SHIFT - 3) * level
}

/// The index of `va` in a level-`level` table.
pub(super) const fn slot(va: usize, level: usize) -> usize {
    (va >> shift(level)) & (ENTRIES - 1)
}

/// The end of the span that the level-`level` table holding `va` covers,
/// capped at [`VA_LIMIT`].
pub(super) const fn table_end(va: usize, level: usize) -> usize {
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
pub(super) fn table_entry(addr: *mut core::ffi::c_void) -> u64 {
    addr as usize as u64 | VALID
}

/// The page frame a leaf entry holds.
pub(super) const fn entry_pfn(e: u64) -> usize {
    (e >> PFN_SHIFT) as usize
}

/// The kernel address of the table an upper entry points to.
fn entry_table(e: u64) -> *mut core::ffi::c_void {
    (e & !((1u64 << PFN_SHIFT) - 1)) as usize as *mut core::ffi::c_void
}

/// The kernel address of a table page (lowmem:
/// [`crate::rmm::page::NewPage::alloc_table`], or a migration target checked
/// by [`TableState::migrate`]); null for a highmem page, which has none that
/// lock-free readers could follow.
pub(super) fn table_addr(page: *mut bindings::page) -> *mut core::ffi::c_void {
    // Without `CONFIG_HIGHMEM` (every 64-bit kernel) every page is lowmem.
    // SAFETY: `page` is a valid page; only reads its flags.
    if cfg!(CONFIG_HIGHMEM) && unsafe { rmm_bindings::rmm_page_highmem(page) } {
        return core::ptr::null_mut();
    }
    // SAFETY: `page` is a valid lowmem page; only computes its address.
    unsafe { rmm_bindings::rmm_page_address(page) }
}

/// The table page an upper entry points to.
pub(super) fn entry_page(e: u64) -> *mut bindings::page {
    // SAFETY: a linear-map address of a table page; only computes its page.
    unsafe { rmm_bindings::rmm_virt_to_page(entry_table(e)) }
}

/// The entries of the table an upper entry points to.
///
/// # Safety
///
/// `e` is a valid upper entry of a tree, whose table page stays allocated
/// while the result is used: the caller holds `TableState::inner` and
/// reached it from the root, or is inside `rcu_read_lock()` (see the
/// invariants of [`super`]).
pub(super) unsafe fn entries<'a>(e: u64) -> &'a Entries {
    // A page is `ENTRIES` naturally aligned 64-bit words, only accessed atomically
    // while it is a table.
    // SAFETY: the table's address, valid while the caller keeps it so.
    unsafe { &*entry_table(e).cast::<Entries>() }
}

/// Where a lockless walk ended.
pub(super) enum Walk<'a> {
    /// The leaf table of the address.
    Leaf(&'a Entries),
    /// No table down to the leaf: nothing is mapped up to this address.
    Hole(usize),
    /// A table on the way is being migrated.
    Frozen,
}

impl TableState {
    /// Walks to the leaf table of `va` (`va < VA_LIMIT`).
    ///
    /// # Safety
    ///
    /// The caller holds `lock` or is inside `rcu_read_lock()` for `'a`.
    pub(super) unsafe fn walk<'a>(&'a self, va: usize) -> Walk<'a> {
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
    pub(super) fn parent_slot<'a>(
        &'a self,
        _inner: &'a TableInner,
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
            // SAFETY: a linked table page, and we hold the lock (`_inner`).
            let t = unsafe { entries(e) };
            at = &t[slot(va, l)];
            l -= 1;
        }
        Some(at)
    }
}
