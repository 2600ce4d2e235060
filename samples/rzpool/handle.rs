// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Handles, and the tag a zspage's pages carry.
//!
//! A handle is a `u64` (an `unsigned long` for zpool):
//!
//! ```text
//!  63      48 47      32 31                 SLOT_BITS            0
//! +----------+----------+----------------------+-----------------+
//! | pool id  |   gen    |        class         |      slot       |
//! +----------+----------+----------------------+-----------------+
//! ```
//!
//! The class comes first so that every operation on a handle takes only that
//! class's lock; the slot indexes the class's slot table; the generation
//! tells a stale handle from the slot's current object; the pool id tells
//! another pool's handle. No handle is 0: pool ids start at 1.

use crate::shape::NR_SIZES;

/// Bits of the class index: enough for every size step of this `PAGE_SIZE`
/// (8 with 4 KiB pages, 12 with 64 KiB pages).
pub(crate) const CLASS_BITS: u32 = usize::BITS - (NR_SIZES - 1).leading_zeros();
/// Bits of the slot index: 24 with 4 KiB pages (16 Mi objects per class per
/// pool).
pub(crate) const SLOT_BITS: u32 = 32 - CLASS_BITS;
/// The number of slots a class can have.
pub(crate) const MAX_SLOTS: usize = 1 << SLOT_BITS;

const _: () = assert!(CLASS_BITS <= 12 && SLOT_BITS >= 20);

/// An object's handle, decoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Handle {
    /// The pool the object belongs to.
    pub(crate) pool: u16,
    /// The generation of the slot when the object was allocated.
    pub(crate) gen: u16,
    /// The object's size class.
    pub(crate) class: u16,
    /// The index of the slot in the class's slot table (below `MAX_SLOTS`).
    pub(crate) slot: u32,
}

impl Handle {
    const POOL_SHIFT: u32 = 48;
    const GEN_SHIFT: u32 = 32;
    const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
    const CLASS_MASK: u64 = (1 << CLASS_BITS) - 1;

    #[inline]
    pub(crate) fn encode(self) -> u64 {
        (self.pool as u64) << Self::POOL_SHIFT
            | (self.gen as u64) << Self::GEN_SHIFT
            | (self.class as u64 & Self::CLASS_MASK) << SLOT_BITS
            | self.slot as u64 & Self::SLOT_MASK
    }

    /// The bits of a handle below its pool id. A zpool handle keeps only
    /// these (zpool names the pool with every call), which leaves
    /// `rmm::zpool` the bits above for the object's size.
    #[cfg(CONFIG_ZPOOL)]
    pub(crate) const LOCAL_BITS: u32 = Self::POOL_SHIFT;

    /// The handle without its pool id.
    #[cfg(CONFIG_ZPOOL)]
    #[inline]
    pub(crate) fn local(raw: u64) -> u64 {
        raw & ((1 << Self::LOCAL_BITS) - 1)
    }

    /// A handle of pool `pool` from its `local()` bits.
    #[cfg(CONFIG_ZPOOL)]
    #[inline]
    pub(crate) fn in_pool(local: u64, pool: u16) -> u64 {
        Self::local(local) | (pool as u64) << Self::POOL_SHIFT
    }

    /// Any `u64` decodes; the pool checks what it names.
    #[inline]
    pub(crate) fn decode(raw: u64) -> Self {
        Self {
            pool: (raw >> Self::POOL_SHIFT) as u16,
            gen: (raw >> Self::GEN_SHIFT) as u16,
            class: ((raw >> SLOT_BITS) & Self::CLASS_MASK) as u16,
            slot: (raw & Self::SLOT_MASK) as u32,
        }
    }
}

/// What each page of a zspage holds in its index word: the class and the
/// zspage's index in the class's zspage table. A migration reads it to find
/// the zspage, under that class's lock.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct PageTag {
    pub(crate) class: u16,
    pub(crate) zspage: u32,
}

// The tag needs 48 bits of `page->index`.
const _: () = assert!(usize::BITS >= 64);

impl PageTag {
    pub(crate) fn encode(self) -> usize {
        (self.class as usize) << 32 | self.zspage as usize
    }

    pub(crate) fn decode(raw: usize) -> Self {
        Self {
            class: (raw >> 32) as u16,
            zspage: raw as u32,
        }
    }
}
