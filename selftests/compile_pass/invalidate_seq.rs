// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// The example of rust/mmu_notifier.rs, `InvalidateSeq`: a secondary MMU
// faults a page in with no lock of its own held, and installs the entry
// only if no invalidation ran or is running meanwhile; its notifier drops
// entries between the start and the end of every invalidation.

use kernel::{new_spinlock, sync::SpinLock};
use rmm::{
    mm::MmWithUser,
    mmu_notifier::{InvalidateSeq, Retry, Stable},
    page::PAGE_SIZE,
};

/// A device page table of the 16 pages from `base`: each page's frame, if
/// mapped.
struct Table {
    base: usize,
    pfns: [Option<usize>; 16],
}

impl Table {
    /// Installs what a fault read: only with the proof that it is not stale.
    fn install(stable: &mut Stable<'_, Table>, addr: usize, pfn: usize) -> Result {
        let t = stable.table();
        let i = addr.checked_sub(t.base).ok_or(EINVAL)? / PAGE_SIZE;
        *t.pfns.get_mut(i).ok_or(EINVAL)? = Some(pfn);
        Ok(())
    }

    /// Drops the entries of `[start, end)`.
    fn clear(&mut self, start: usize, end: usize) {
        for (i, pfn) in self.pfns.iter_mut().enumerate() {
            let addr = self.base + i * PAGE_SIZE;
            if (start..end).contains(&addr) {
                *pfn = None;
            }
        }
    }
}

/// The frame of the caller's page at `addr`, faulted in (GUP sleeps); the
/// page reference is dropped on return.
fn fault_in(addr: usize) -> Result<usize> {
    let mm = MmWithUser::current().ok_or(EINVAL)?;
    let page = mm.mmap_read_lock().get_user_page(addr, false)?;
    Ok(page.pfn())
}

/// A device fault at `addr`.
fn fault(lock: &SpinLock<InvalidateSeq<Table>>, addr: usize) -> Result {
    loop {
        let begin = lock.lock().read_begin(); // no lock held while faulting
        let pfn = fault_in(addr)?;
        let mut g = lock.lock();
        match g.read_retry(begin) {
            Ok(mut stable) => return Table::install(&mut stable, addr, pfn),
            Err(Retry) => {} // an invalidation ran: fault again
        }
    }
}

/// What the notifier's `invalidate_range_start` and `invalidate_range_end`
/// do for `[start, end)`.
fn invalidate(lock: &SpinLock<InvalidateSeq<Table>>, start: usize, end: usize) {
    lock.lock().invalidate_start().clear(start, end);
    // The VM changes the mapping here.
    lock.lock().invalidate_end();
}

fn case() -> Result {
    let table = Table {
        base: 0,
        pfns: [None; 16],
    };
    let lock = KBox::pin_init(new_spinlock!(InvalidateSeq::new(table)), GFP_KERNEL)?;
    invalidate(&lock, 0, 16 * PAGE_SIZE);
    // Built, not run: module init has no user page to fault in.
    let _ = fault;
    Ok(())
}
