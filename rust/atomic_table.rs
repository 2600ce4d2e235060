// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! A table of atomics that grows without moving and is read without a lock.
//!
//! [`AtomicTable<T>`] holds up to [`MAX_LEN`] entries of an atomic integer
//! type, each zero until written. It is a radix tree of three levels (a top
//! of 64 pointers, middles of 512, chunks of 512 entries: a page each for
//! `AtomicU64`), so that a lookup is three dependent loads and no level is
//! ever larger than a page: it can grow from reclaim, where neither
//! `vmalloc` nor a large `kmalloc` can be relied on.
//!
//! A level is allocated by [`Spare::prepare`], outside any spinlock, and
//! published by [`AtomicTable::install`] with a compare-and-swap from null,
//! which never allocates nor frees: it can run under any lock, and two
//! racing installs are both sound (the loser's level stays in its `Spare`).
//! A published level is never changed nor freed before the table is
//! dropped, so the `&T` that [`AtomicTable::get`] returns lives as long as
//! the borrow of the table, with no lock and no RCU.
//!
//! # Examples
//!
//! `selftests/compile_pass/atomic_table.rs` (built by `make check`): room
//! for entry 1000 is prepared with `GFP_KERNEL`, installed where sleeping is
//! not allowed, and the entry used without a lock.

use core::{
    mem::MaybeUninit,
    ptr,
    sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering},
};
use kernel::{
    alloc::{Flags, KBox},
    prelude::*,
};

const CHUNK_BITS: u32 = 9;
const MID_BITS: u32 = 9;
const TOP_BITS: u32 = 6;
const CHUNK: usize = 1 << CHUNK_BITS;
const MID: usize = 1 << MID_BITS;
const TOP: usize = 1 << TOP_BITS;

/// The most entries a table holds: indexes are below this.
pub const MAX_LEN: usize = 1 << (CHUNK_BITS + MID_BITS + TOP_BITS);

mod private {
    pub trait Sealed {}
}

/// An atomic type whose all-zero bit pattern is a valid value (zero).
pub trait Entry: private::Sealed + Send + Sync + Sized + 'static {}

impl private::Sealed for AtomicU32 {}
impl Entry for AtomicU32 {}
impl private::Sealed for AtomicU64 {}
impl Entry for AtomicU64 {}

type Chunk<T> = [T; CHUNK];
type Mid<T> = [AtomicPtr<Chunk<T>>; MID];
type Top<T> = [AtomicPtr<Mid<T>>; TOP];

/// A level, allocated and zeroed: atomics and null pointers.
///
/// # Safety
///
/// `L` must be valid when all its bytes are zero.
unsafe fn alloc_zeroed<L>(flags: Flags) -> Result<KBox<L>> {
    let mut b = KBox::<L>::new_uninit(flags)?;
    let p: *mut MaybeUninit<L> = &mut *b;
    // SAFETY: `p` points to the allocation just made, valid for one `L`.
    unsafe { ptr::write_bytes(p, 0, 1) };
    // SAFETY: all bytes are zero, a valid `L` by the function's contract.
    Ok(unsafe { b.assume_init() })
}

/// A table of up to [`MAX_LEN`] atomics, read without a lock.
///
/// # Invariants
///
/// `top` is null or comes from `KBox::into_raw` of a `Top<T>`; so does each
/// non-null pointer of a middle (a `Mid<T>`) and of a chunk (a
/// `Chunk<T>`). A pointer, once non-null, never changes, and what it points
/// to is freed only by `drop`.
pub struct AtomicTable<T: Entry> {
    top: AtomicPtr<Top<T>>,
}

/// Levels allocated for [`AtomicTable::install`]; what it does not use is
/// freed when this is dropped.
pub struct Spare<T: Entry> {
    top: Option<KBox<Top<T>>>,
    mid: Option<KBox<Mid<T>>>,
    chunk: Option<KBox<Chunk<T>>>,
}

impl<T: Entry> Default for Spare<T> {
    fn default() -> Self {
        Self {
            top: None,
            mid: None,
            chunk: None,
        }
    }
}

impl<T: Entry> Spare<T> {
    /// Allocates, with `flags`, the levels `table` misses for entry `i`
    /// (those this spare does not already hold). `EINVAL` if `i` is not
    /// below [`MAX_LEN`].
    pub fn prepare(&mut self, table: &AtomicTable<T>, i: usize, flags: Flags) -> Result {
        if i >= MAX_LEN {
            return Err(EINVAL);
        }
        let (top, mid) = table.levels(i);
        if top.is_none() && self.top.is_none() {
            // SAFETY: an array of null `AtomicPtr`s is all zeroes.
            self.top = Some(unsafe { alloc_zeroed(flags)? });
        }
        if mid.is_none() && self.mid.is_none() {
            // SAFETY: as above.
            self.mid = Some(unsafe { alloc_zeroed(flags)? });
        }
        if table.get(i).is_none() && self.chunk.is_none() {
            // SAFETY: an array of `T: Entry` is valid all zeroes.
            self.chunk = Some(unsafe { alloc_zeroed(flags)? });
        }
        Ok(())
    }
}

/// Publishes `spare` in `slot` if `slot` is null; returns what `slot` holds
/// then. The spare stays where it was if another pointer won.
fn publish<L>(slot: &AtomicPtr<L>, spare: &mut Option<KBox<L>>) -> *mut L {
    let cur = slot.load(Ordering::Acquire);
    if !cur.is_null() {
        return cur;
    }
    let Some(b) = spare.take() else {
        return cur;
    };
    let new = KBox::into_raw(b);
    // Release: whoever loads the pointer sees the zeroed level.
    match slot.compare_exchange(ptr::null_mut(), new, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => new,
        Err(won) => {
            // SAFETY: `new` came from `KBox::into_raw` above, unpublished.
            *spare = Some(unsafe { KBox::from_raw(new) });
            won
        }
    }
}

impl<T: Entry> AtomicTable<T> {
    /// An empty table (it allocates nothing).
    pub const fn new() -> Self {
        // INVARIANT: `top` is null.
        Self {
            top: AtomicPtr::new(ptr::null_mut()),
        }
    }

    #[inline]
    fn top(&self) -> Option<&Top<T>> {
        let top = self.top.load(Ordering::Acquire);
        // The acquire load sees the level initialised.
        // SAFETY: non-null, it is a live `Top<T>` until `self` drops (type invariants).
        unsafe { top.as_ref() }
    }

    /// The top and middle levels of entry `i` (below `MAX_LEN`), if present.
    #[inline]
    fn levels(&self, i: usize) -> (Option<&Top<T>>, Option<&Mid<T>>) {
        let Some(top) = self.top() else {
            return (None, None);
        };
        let mid = top[i >> (CHUNK_BITS + MID_BITS)].load(Ordering::Acquire);
        // SAFETY: as in `top`, for a middle level.
        (Some(top), unsafe { mid.as_ref() })
    }

    /// Entry `i`, if its chunk has been installed.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        if i >= MAX_LEN {
            return None;
        }
        let (_, mid) = self.levels(i);
        let chunk = mid?[(i >> CHUNK_BITS) & (MID - 1)].load(Ordering::Acquire);
        // SAFETY: as in `top`, for a chunk.
        let chunk = unsafe { chunk.as_ref() }?;
        Some(&chunk[i & (CHUNK - 1)])
    }

    /// Publishes what `spare` holds and entry `i` needs; never allocates
    /// nor frees. Returns whether entry `i` exists now (false if `spare`
    /// lacked a level: prepare it again).
    pub fn install(&self, i: usize, spare: &mut Spare<T>) -> bool {
        if i >= MAX_LEN {
            return false;
        }
        let top = publish(&self.top, &mut spare.top);
        // SAFETY: as in `top`: non-null, published, live while `self` is.
        let Some(top) = (unsafe { top.as_ref() }) else {
            return false;
        };
        let mid = publish(&top[i >> (CHUNK_BITS + MID_BITS)], &mut spare.mid);
        // SAFETY: as above, for a middle level.
        let Some(mid) = (unsafe { mid.as_ref() }) else {
            return false;
        };
        !publish(&mid[(i >> CHUNK_BITS) & (MID - 1)], &mut spare.chunk).is_null()
    }
}

impl<T: Entry> Default for AtomicTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Entry> Drop for AtomicTable<T> {
    fn drop(&mut self) {
        let top = *self.top.get_mut();
        if top.is_null() {
            return;
        }
        // `&mut self`: no reference into the table is left.
        // SAFETY: `top` came from `KBox::into_raw` (type invariants).
        let mut top = unsafe { KBox::from_raw(top) };
        for mid in top.iter_mut() {
            let mid = *mid.get_mut();
            if mid.is_null() {
                continue;
            }
            // SAFETY: as for `top`, for a middle level.
            let mut mid = unsafe { KBox::from_raw(mid) };
            for chunk in mid.iter_mut() {
                let chunk = *chunk.get_mut();
                if !chunk.is_null() {
                    // SAFETY: as for `top`, for a chunk.
                    drop(unsafe { KBox::from_raw(chunk) });
                }
            }
        }
    }
}
