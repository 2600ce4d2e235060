// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! The pool's shrinker: what it counts and frees under memory pressure,
//! and [`PoolShrinker`], its registration.
//!
//! # Lock order
//!
//! `count` and `scan` run in reclaim, perhaps with a page of this pool
//! locked (1 in the lock order of `pool/mod.rs`: migration allocating its
//! target page), and take the class locks one at a time (2); they never
//! sleep on a page lock (an empty zspage is released only by `trylock`, 3).

use super::Pool;
use crate::rmm::shrinker::{self, Scan, Shrinker};
use core::sync::atomic::Ordering;
use kernel::{prelude::*, str::CString, sync::Arc};

/// Under memory pressure, the pool gives pages back: first the zspages
/// whose objects are all volatile (discarded, nothing copied), then by
/// internal compaction (which discards the volatile objects it meets).
impl Shrinker for Pool {
    /// 128 KiB a scan: reclaim of a little takes a little, where the
    /// default batch (512 KiB) would empty half of a small pool at once.
    const BATCH: usize = 32;

    fn count(&self) -> usize {
        self.class_locks()
            .enumerate()
            .map(|(i, lock)| lock.lock().freeable_pages(self.vol(i)))
            .sum::<u64>() as usize
    }

    fn scan(&self, nr_to_scan: usize) -> Scan {
        let budget = nr_to_scan as u64;
        let mut freed = self.discard_volatile(budget);
        if freed < budget {
            freed += self.compact(budget - freed);
        }
        self.stats.shrink_freed.fetch_add(freed, Ordering::Relaxed);
        Scan::FreedPages(freed as usize)
    }
}

/// A pool's registered shrinker; unregistered on drop, after which none of
/// its callbacks runs. Its owner (a device file, a zswap pool) drops it
/// first, before the pool's debugfs files and the pool itself.
pub(crate) struct PoolShrinker {
    _registration: shrinker::Registration<Pool>,
}

impl PoolShrinker {
    /// Registers `pool`'s shrinker, named `rzpool-<kind>-<id>`: `pool` for
    /// a device pool, `zpool` for one of zswap.
    pub(crate) fn new(pool: &Arc<Pool>, kind: &str) -> Result<Self> {
        let name = CString::try_from_fmt(kernel::fmt!("rzpool-{}-{}", kind, pool.id))?;
        Ok(Self {
            _registration: shrinker::Registration::register(&name, pool.clone())?,
        })
    }
}
