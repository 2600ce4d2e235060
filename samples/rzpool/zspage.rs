// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! zspages: runs of movable pages holding the objects of one class.
//!
//! A zspage of a class with shape `(size, pages, objs)` is `pages` pages
//! holding `objs` objects back to back: object `i` starts at byte
//! `i * size` of the run and may cross into the next page. Migration of a
//! page therefore re-points every object on it at once (the zspage's page
//! array gets the new page), and no handle changes.

#[cfg(CONFIG_ZPOOL)]
use crate::rmm::zpool::{Object, Piece};
use crate::rmm::{
    movable::{LockedMovablePage, MovablePage},
    page::{Gfp, NewPage, PAGE_SIZE},
};
use crate::{
    handle::PageTag,
    pool::{Pool, RzOps},
    shape::{Shape, MAX_PAGES},
};
use kernel::{alloc::Flags, prelude::*, sync::ArcBorrow};

/// "No entry" in the linked lists of slots and zspages.
pub(crate) const NONE: u32 = u32::MAX;
/// Marks a free object in the object map; the low bits link the free list.
const OBJ_FREE: u32 = 1 << 31;
/// Ends the free list of a zspage's objects.
const OBJ_END: u32 = !OBJ_FREE;

/// Object maps of up to this many entries live in the zspage itself: one
/// allocation per zspage, as zsmalloc's, for the classes whose zspages hold
/// the fewest objects and so come and go most often (22 of the 119 classes
/// with 4 KiB pages, among them 512, 1024, 2048, 3264 and 4096 bytes), and
/// a `ZsPage` of at most 128 bytes (a `kmalloc-128` object; 64 inline
/// entries made it a `kmalloc-512` one). Other zspages hold more objects,
/// and their map is allocated beside them.
const INLINE_OBJS: usize = 8;
const _: () = assert!(INLINE_OBJS <= u8::MAX as usize);

/// A zspage's object map: per object, the slot of a used object, or
/// `OBJ_FREE | next` for a free one.
// The inline variant is large on purpose: it saves an allocation per zspage.
#[allow(clippy::large_enum_variant)]
enum ObjMap {
    Inline([u32; INLINE_OBJS], u8),
    Heap(KVec<u32>),
}

impl ObjMap {
    fn new(n: usize, flags: Flags) -> Result<Self> {
        if n <= INLINE_OBJS {
            return Ok(Self::Inline([0; INLINE_OBJS], n as u8));
        }
        let mut v = KVec::with_capacity(n, flags)?;
        for _ in 0..n {
            v.push(0, flags)?;
        }
        Ok(Self::Heap(v))
    }

    #[inline]
    fn as_slice(&self) -> &[u32] {
        match self {
            Self::Inline(map, n) => &map[..*n as usize],
            Self::Heap(v) => v,
        }
    }

    #[inline]
    fn as_mut_slice(&mut self) -> &mut [u32] {
        match self {
            Self::Inline(map, n) => &mut map[..*n as usize],
            Self::Heap(v) => v,
        }
    }
}

/// A run of pages holding objects of one class.
///
/// # Invariants
///
/// The first `nr_pages` of `pages` are set, the others not; each page's
/// index word is this zspage's [`PageTag`]. `obj_map` has one entry
/// per object of the class; the free ones form a list from `free_head`
/// (`OBJ_FREE | next`, ended by `OBJ_END`), the used ones hold their slot;
/// `inuse` counts the used ones. `group` is the fullness list the zspage is
/// on, and `prev`/`next` its neighbours there.
pub(crate) struct ZsPage {
    pages: [Option<MovablePage<RzOps>>; MAX_PAGES],
    pub(crate) nr_pages: u8,
    obj_map: ObjMap,
    free_head: u32,
    pub(crate) inuse: u32,
    /// Fullness group and the links of its list.
    pub(crate) group: u8,
    pub(crate) prev: u32,
    pub(crate) next: u32,
}

impl ZsPage {
    /// Allocates and sets up the pages of the zspage tagged `tag`, outside
    /// the class lock, with the caller's `gfp`, charged to the pool's memory
    /// cgroup if it has one.
    pub(crate) fn new(
        pool: ArcBorrow<'_, Pool>,
        tag: PageTag,
        shape: &Shape,
        gfp: Gfp,
    ) -> Result<KBox<Self>> {
        // Everything that can fail comes first, while the pages are plain
        // new pages: dropping those never sleeps, where dropping a movable
        // page takes its lock (and zswap allocates from reclaim).
        let mut new_pages: [Option<NewPage>; MAX_PAGES] = Default::default();
        let alloc = |pages: &mut [Option<NewPage>]| -> Result {
            for slot in pages.iter_mut().take(shape.pages) {
                *slot = Some(NewPage::alloc_movable(gfp, pool.memcg.is_some())?);
            }
            Ok(())
        };
        match &pool.memcg {
            Some(memcg) => memcg.charge(|| alloc(&mut new_pages))?,
            None => alloc(&mut new_pages)?,
        }
        pool.charged(gfp.metadata_flags(), |flags| {
            Self::with_pages(pool, tag, shape, flags, new_pages)
        })
    }

    /// The rest of [`Self::new`]: the zspage's own metadata, allocated with
    /// `flags`, around `new_pages`.
    fn with_pages(
        pool: ArcBorrow<'_, Pool>,
        tag: PageTag,
        shape: &Shape,
        flags: Flags,
        new_pages: [Option<NewPage>; MAX_PAGES],
    ) -> Result<KBox<Self>> {
        let mut obj_map = ObjMap::new(shape.objs, flags)?;
        for (i, o) in obj_map.as_mut_slice().iter_mut().enumerate() {
            let next = if i + 1 < shape.objs {
                i as u32 + 1
            } else {
                OBJ_END
            };
            *o = OBJ_FREE | next;
        }
        let mut zs = KBox::new(
            Self {
                pages: Default::default(),
                nr_pages: shape.pages as u8,
                obj_map,
                free_head: 0,
                inuse: 0,
                group: 0,
                prev: NONE,
                next: NONE,
            },
            flags,
        )?;
        // Only fails if the module is going away or a new page is locked by
        // someone else: neither happens while a pool allocates.
        for (slot, page) in zs.pages.iter_mut().zip(new_pages) {
            if let Some(page) = page {
                *slot = Some(MovablePage::new(page, pool.into(), tag.encode())?);
            }
        }
        Ok(zs)
    }

    #[inline]
    pub(crate) fn has_free(&self) -> bool {
        self.free_head != NONE
    }

    /// Takes a free object for `slot`. The caller checked `has_free()`.
    #[inline]
    pub(crate) fn alloc_obj(&mut self, slot: u32) -> Option<u16> {
        let obj = self.free_head;
        let entry = self.obj_map.as_mut_slice().get_mut(obj as usize)?;
        let next = *entry & !OBJ_FREE;
        *entry = slot;
        self.free_head = if next == OBJ_END { NONE } else { next };
        self.inuse += 1;
        Some(obj as u16)
    }

    #[inline]
    pub(crate) fn free_obj(&mut self, obj: u16) {
        let next = if self.free_head == NONE {
            OBJ_END
        } else {
            self.free_head
        };
        if let Some(entry) = self.obj_map.as_mut_slice().get_mut(obj as usize) {
            *entry = OBJ_FREE | next;
            self.free_head = obj as u32;
            self.inuse -= 1;
        }
    }

    /// The slot of object `obj`, if it is used.
    #[inline]
    pub(crate) fn slot_of(&self, obj: usize) -> Option<u32> {
        let entry = *self.obj_map.as_slice().get(obj)?;
        (entry & OBJ_FREE == 0).then_some(entry)
    }

    /// The first used object and its slot.
    pub(crate) fn first_used(&self) -> Option<(u16, u32)> {
        let map = self.obj_map.as_slice();
        let obj = map.iter().position(|&o| o & OBJ_FREE == 0)?;
        Some((obj as u16, map[obj]))
    }

    pub(crate) fn pages(&self) -> impl Iterator<Item = &MovablePage<RzOps>> {
        self.pages.iter().flatten()
    }

    pub(crate) fn pages_mut(&mut self) -> impl Iterator<Item = &mut MovablePage<RzOps>> {
        self.pages.iter_mut().flatten()
    }

    /// Whether a page of the zspage has a reference besides ours: an object
    /// on it may be mapped (zpool), so none of its objects may move.
    pub(crate) fn is_pinned(&self) -> bool {
        self.pages().any(|p| p.is_pinned())
    }

    fn page(&self, i: usize) -> Result<&MovablePage<RzOps>> {
        self.pages.get(i).and_then(Option::as_ref).ok_or(EINVAL)
    }

    fn page_mut(&mut self, i: usize) -> Result<&mut MovablePage<RzOps>> {
        self.pages.get_mut(i).and_then(Option::as_mut).ok_or(EINVAL)
    }

    /// Copies `out.len()` bytes at byte `at` of the run into `out`.
    pub(crate) fn read(&self, at: usize, out: &mut [u8]) -> Result {
        let (page, off) = (at / PAGE_SIZE, at % PAGE_SIZE);
        let first = out.len().min(PAGE_SIZE - off);
        let (a, b) = out.split_at_mut(first);
        self.page(page)?.read(off, a)?;
        if !b.is_empty() {
            self.page(page + 1)?.read(0, b)?;
        }
        Ok(())
    }

    /// Copies `data` into the run at byte `at`.
    pub(crate) fn write(&mut self, at: usize, data: &[u8]) -> Result {
        let (page, off) = (at / PAGE_SIZE, at % PAGE_SIZE);
        let first = data.len().min(PAGE_SIZE - off);
        let (a, b) = data.split_at(first);
        self.page_mut(page)?.write(off, a)?;
        if !b.is_empty() {
            self.page_mut(page + 1)?.write(0, b)?;
        }
        Ok(())
    }

    /// Where `len` bytes at byte `at` of the run are, with their pages
    /// referenced (for a zpool mapping).
    #[cfg(CONFIG_ZPOOL)]
    pub(crate) fn object(&self, at: usize, len: usize) -> Result<Object> {
        let (page, off) = (at / PAGE_SIZE, at % PAGE_SIZE);
        if off + len <= PAGE_SIZE {
            return Ok(Object::InPage(Piece::new(self.page(page)?, off, len)?));
        }
        let first = PAGE_SIZE - off;
        Ok(Object::Spans(
            Piece::new(self.page(page)?, off, first)?,
            Piece::new(self.page(page + 1)?, 0, len - first)?,
        ))
    }

    /// Locks every page without waiting, or none, and moves them into
    /// `dead` (built in place: the caller's, not copied out). `false` if one
    /// is locked by someone else: the zspage is unchanged, `dead` `None`.
    pub(crate) fn try_lock_all(&mut self, dead: &mut Option<DeadZsPage>) -> bool {
        let out = dead.insert(DeadZsPage {
            _pages: Default::default(),
            nr_pages: self.nr_pages,
        });
        for i in 0..MAX_PAGES {
            let Some(page) = self.pages[i].take() else {
                continue;
            };
            match page.try_lock() {
                Ok(l) => out._pages[i] = Some(l),
                Err(page) => {
                    self.pages[i] = Some(page);
                    for (slot, l) in self.pages.iter_mut().zip(out._pages.iter_mut()) {
                        if let Some(l) = l.take() {
                            *slot = Some(l.unlock());
                        }
                    }
                    *dead = None;
                    return false;
                }
            }
        }
        true
    }
}

const _: () = assert!(core::mem::size_of::<ZsPage>() <= 128);

/// The pages of an empty zspage taken out of the pool, all locked without
/// waiting: dropping it releases them without sleeping.
pub(crate) struct DeadZsPage {
    _pages: [Option<LockedMovablePage<RzOps>>; MAX_PAGES],
    pub(crate) nr_pages: u8,
}
