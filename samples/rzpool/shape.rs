// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! The shapes of the size classes: which zspage shape holds objects of
//! which size.
//!
//! The classes themselves, a pool's objects and zspages of each shape, are
//! in `pool/class.rs`.

use crate::rmm::page::PAGE_SIZE;
use kernel::prelude::*;

/// The smallest class: smaller objects use it.
pub(crate) const MIN_SIZE: usize = 32;
/// The step between classes.
pub(crate) const CLASS_STEP: usize = 16;
/// The largest object, and the largest class.
pub(crate) const MAX_SIZE: usize = PAGE_SIZE;
/// Number of class sizes before merging.
pub(crate) const NR_SIZES: usize = (MAX_SIZE - MIN_SIZE) / CLASS_STEP + 1;
/// The most pages in one zspage.
pub(crate) const MAX_PAGES: usize = 8;
/// The most pages of a zspage chosen on a tie of waste (zsmalloc's
/// `ZS_MAX_PAGES_PER_ZSPAGE`).
const TIE_PAGES: usize = 4;

// The index of an object in its zspage is a `u16`, and so is a class index:
// both must fit for this `PAGE_SIZE` (64 KiB pages: 16,384 objects, 4,095
// classes before merging).
const _: () = assert!(MAX_PAGES * PAGE_SIZE / MIN_SIZE <= 1 << 16);
const _: () = assert!(NR_SIZES <= 1 << 16);

/// The shape of a size class.
///
/// # Invariants
///
/// `objs * size <= pages * PAGE_SIZE`, `objs >= 1`, `1 <= pages <= MAX_PAGES`.
#[derive(Clone, Copy)]
pub(crate) struct Shape {
    /// The object size of the class (its largest object).
    pub(crate) size: usize,
    /// Pages per zspage.
    pub(crate) pages: usize,
    /// Objects per zspage.
    pub(crate) objs: usize,
}

impl Shape {
    /// The zspage length (1 to `MAX_PAGES` pages) that wastes the least
    /// space for objects of `size` bytes; on ties, the longest up to
    /// `TIE_PAGES`. A zspage costs the same to make and release whatever its
    /// length (a page costs per page), so longer ones amortise it over more
    /// objects: 2048-byte objects come 8 to a zspage of 4 pages, not 2 to
    /// one of 1 page, as zsmalloc's 4-page zspages do.
    fn for_size(size: usize) -> Self {
        let mut best = Self {
            size,
            pages: 1,
            objs: PAGE_SIZE / size,
        };
        for pages in 2..=MAX_PAGES {
            let objs = pages * PAGE_SIZE / size;
            // Used fraction objs * size / (pages * PAGE_SIZE), compared by
            // cross-multiplying.
            let (used, best_used) = (objs * best.pages, best.objs * pages);
            if used > best_used || (used == best_used && pages <= TIE_PAGES) {
                best = Self { size, pages, objs };
            }
        }
        best
    }
}

/// The shapes of the size classes: computed once at load, shared by every
/// pool.
pub(crate) struct Shapes {
    /// The shape of each class (after merging), smallest first.
    pub(crate) by_class: KVec<Shape>,
    /// For each size step, the index of its class in `by_class`.
    class_of_step: KVec<u16>,
}

impl Shapes {
    /// One class per step; a step whose shape (pages, objects) equals that
    /// of the next larger class is merged into it, as zsmalloc does: the
    /// larger size wastes nothing more.
    pub(crate) fn new() -> Result<Self> {
        let mut all = KVec::with_capacity(NR_SIZES, GFP_KERNEL)?;
        for step in 0..NR_SIZES {
            all.push(Shape::for_size(MIN_SIZE + step * CLASS_STEP), GFP_KERNEL)?;
        }
        // Walk from the largest down, keeping a class only where it differs
        // from the one kept before it.
        let mut keep: KVec<usize> = KVec::with_capacity(NR_SIZES, GFP_KERNEL)?;
        for step in (0..NR_SIZES).rev() {
            let s = all[step];
            let merged = match keep.last() {
                Some(&last) => all[last].pages == s.pages && all[last].objs == s.objs,
                None => false,
            };
            if !merged {
                keep.push(step, GFP_KERNEL)?;
            }
        }
        let mut by_class = KVec::with_capacity(keep.len(), GFP_KERNEL)?;
        for &step in keep.iter().rev() {
            by_class.push(all[step], GFP_KERNEL)?;
        }
        let mut class_of_step = KVec::with_capacity(NR_SIZES, GFP_KERNEL)?;
        let mut class = 0;
        for step in 0..NR_SIZES {
            let size = MIN_SIZE + step * CLASS_STEP;
            while by_class[class].size < size {
                class += 1;
            }
            class_of_step.push(class as u16, GFP_KERNEL)?;
        }
        Ok(Self {
            by_class,
            class_of_step,
        })
    }

    /// The class of objects of `size` bytes (1 to `MAX_SIZE`).
    pub(crate) fn class_of_size(&self, size: usize) -> usize {
        let step = size.saturating_sub(MIN_SIZE).div_ceil(CLASS_STEP);
        self.class_of_step[step] as usize
    }

    /// The number of classes.
    pub(crate) fn len(&self) -> usize {
        self.by_class.len()
    }
}
