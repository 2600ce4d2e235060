// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Pool ids: one bit per live pool, so that no two live pools share an id.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;

/// The ids of live pools, one bit each: id 0 is never a pool (so no handle
/// is 0), and no two live pools share an id (a handle of one would name an
/// object of the other).
static POOL_IDS: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];

/// A pool id, unique among live pools, 1 to 65535; freed on drop.
///
/// # Invariants
///
/// Bit `id` of `POOL_IDS` is set, and owned by this object.
pub(super) struct PoolId(u16);

impl PoolId {
    /// The lowest free id after the last one handed out (ids are reused as
    /// late as possible); `ENOSPC` when 65,535 pools are alive.
    pub(super) fn new() -> Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let start = NEXT.load(Ordering::Relaxed) as usize;
        for k in 0..(1usize << 16) {
            let id = (start + k) & 0xffff;
            if id == 0 {
                continue;
            }
            let (word, bit) = (&POOL_IDS[id / 64], 1u64 << (id % 64));
            if word.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
                NEXT.store(id as u32 + 1, Ordering::Relaxed);
                // INVARIANT: we set the bit.
                return Ok(Self(id as u16));
            }
        }
        Err(ENOSPC)
    }

    /// The id.
    pub(super) fn get(&self) -> u16 {
        self.0
    }
}

impl Drop for PoolId {
    fn drop(&mut self) {
        let id = self.0 as usize;
        POOL_IDS[id / 64].fetch_and(!(1u64 << (id % 64)), Ordering::Relaxed);
    }
}
