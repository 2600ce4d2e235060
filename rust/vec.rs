// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Vector operations that cannot allocate, for use under spinlocks.
//!
//! `Vec::push` with `GFP_NOWAIT` under a spinlock "cannot fail" only as long
//! as a capacity check elsewhere stays right; if it did fail, the element
//! would be dropped under the lock, and dropping can sleep (a zspage releases
//! its pages). These functions never allocate: with no room they give the
//! element back, or move nothing.
//!
//! # Examples
//!
//! `samples/rzpool/table.rs` grows a table under its class lock with
//! [`push_within_capacity`] and [`append_within_capacity`], into room
//! allocated before the lock was taken.

use kernel::alloc::{Allocator, Vec};

/// Appends `v` if `vec` has room for it without allocating; otherwise gives
/// `v` back untouched.
pub fn push_within_capacity<T, A: Allocator>(vec: &mut Vec<T, A>, v: T) -> Result<(), T> {
    match vec.spare_capacity_mut().first_mut() {
        Some(slot) => {
            slot.write(v);
            let len = vec.len();
            // SAFETY: the element at `len` was initialised just above.
            unsafe { vec.set_len(len + 1) };
            Ok(())
        }
        None => Err(v),
    }
}

/// Moves every element of `src` to the end of `dst`, in order, if `dst` has
/// room for all of them without allocating.
///
/// Otherwise moves nothing and fails. `src` is left empty on success.
pub fn append_within_capacity<T, A: Allocator, B: Allocator>(
    dst: &mut Vec<T, A>,
    src: &mut Vec<T, B>,
) -> Result<(), ()> {
    let n = src.len();
    let spare = dst.spare_capacity_mut();
    if spare.len() < n {
        return Err(());
    }
    // `spare` has room for at least `n` (checked above).
    // SAFETY: `src` holds `n` initialised elements; the buffers are distinct.
    unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), spare.as_mut_ptr().cast::<T>(), n) };
    // The `n` elements were moved bitwise: `src` no longer owns them.
    // SAFETY: they are initialised in `dst` past its old length.
    unsafe {
        src.set_len(0);
        let len = dst.len();
        dst.set_len(len + n);
    }
    Ok(())
}

/// Removes the last element of `vec` and returns it (never allocates nor
/// frees).
pub fn pop<T, A: Allocator>(vec: &mut Vec<T, A>) -> Option<T> {
    let len = vec.len().checked_sub(1)?;
    // The element at `len` is initialised; once the length excludes it, the
    // vector no longer owns it, and the read moves it out exactly once.
    // SAFETY: `len` is in bounds of the initialised elements.
    unsafe {
        vec.set_len(len);
        Some(core::ptr::read(vec.as_ptr().add(len)))
    }
}
