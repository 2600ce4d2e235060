// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// The example of rust/atomic_table.rs: room for an entry is allocated where
// sleeping is allowed, installed where it is not (under any lock, or none),
// and the entry is then read and written without a lock.

use core::sync::atomic::{AtomicU64, Ordering};
use rmm::atomic_table::{AtomicTable, Spare};

fn case() -> Result {
    let table = AtomicTable::<AtomicU64>::new();
    let mut spare = Spare::default();
    // May sleep: GFP_KERNEL.
    spare.prepare(&table, 1000, GFP_KERNEL)?;
    // Never allocates nor frees: fine under a spinlock.
    if !table.install(1000, &mut spare) {
        return Err(EINVAL);
    }
    table.get(1000).ok_or(EINVAL)?.store(7, Ordering::Relaxed);
    // Entries of a chunk not installed are not there.
    if table.get(1 << 20).is_some() {
        return Err(EINVAL);
    }
    // What `install` did not use is freed with the spare.
    drop(spare);
    Ok(())
}
