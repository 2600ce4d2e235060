// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! rzpool: a zsmalloc-style object pool on movable non-LRU pages.
//!
//! Each open file of `/dev/rzpool` (root only) is a pool of objects of 1 to
//! `PAGE_SIZE` bytes, addressed by handles that stay valid while compaction or
//! memory offlining migrates the pool's pages. Supported:
//!
//! - size classes from 32 bytes up to `PAGE_SIZE`, one per 16-byte step,
//!   merged where two classes would waste the same; zspages of 1 to 8 pages
//!   chosen to minimise waste; objects that span two pages;
//! - O(1) alloc, free, read and write through handles;
//! - page migration through the `rmm::movable` abstraction (isolate, migrate,
//!   putback), counted per pool;
//! - internal compaction on request and from a shrinker;
//! - statistics through an ioctl and in debugfs (`rzpool/pool-<id>/`).
//!
//! # Design
//!
//! A handle is `pool id << 48 | generation << 32 | slot`. The slot records
//! where the object is: its zspage and its index there. A zspage is a run of
//! pages holding `objs` objects of one class back to back; object `i` starts at
//! byte `i * size` of the run and may cross into the next page. Migration of a
//! page therefore re-points every object on it at once: the zspage's page array
//! gets the new page, and no handle changes. Internal compaction moves objects
//! between zspages of a class and updates their slots.
//!
//! A zspage's id is its index in the pool's zspage table. It is reserved under
//! the pool lock before its pages are allocated outside it. Each of its pages
//! holds the pool (`page->private`) and the zspage id (its index word), which
//! is how a migration finds the page's owner; the page itself is one of the
//! zspage's at most eight.
//!
//! # Lock order
//!
//! 1. page lock (held by the VM around every movable callback)
//! 2. `Pool::inner` (a spinlock)
//!
//! Nothing that can sleep on a page lock or enter reclaim runs under
//! `Pool::inner`: pages are allocated, made movable and released outside it;
//! tables grow into vectors allocated outside it; user copies go through a
//! bounce buffer outside it. That keeps the pool usable from the shrinker
//! (reclaim context) and from migration (page lock held).

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::{
    c_str,
    ioctl::{_IOC_SIZE, _IOR, _IOW, _IOWR},
    new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, SpinLock},
    uaccess::UserSlice,
};

#[path = "../../rust/rmm.rs"]
mod rmm;

use core::fmt::{self, Write};
use kernel::str::CString;
use rmm::{
    debugfs::{self, Dir, SeqFile, Show},
    kapi::{self, ObjectPool},
    miscdevice::{self, MiscDevice, Options, Registration},
    movable::{IsolateMode, MigrateMode, Migrated, Migration, MovableOperations, MovablePage},
    page::{LockedPage, PageRef, PAGE_SIZE},
    shrinker::{self, Scan, Shrinker},
};

module! {
    type: RzpoolModule,
    name: "rzpool",
    author: "The rmm authors",
    description: "rmm: zsmalloc-style object pool on movable non-LRU pages",
    license: "GPL",
}

/// The smallest class: smaller objects use it.
const MIN_SIZE: usize = 32;
/// The step between classes.
const CLASS_STEP: usize = 16;
/// The largest object, and the largest class.
const MAX_SIZE: usize = PAGE_SIZE;
/// Number of class sizes before merging.
const NR_SIZES: usize = (MAX_SIZE - MIN_SIZE) / CLASS_STEP + 1;
/// The most pages in one zspage.
const MAX_PAGES: usize = 8;
/// Fullness groups: 0..3 by quarters of use, 4 for full.
const NR_GROUPS: usize = 5;
const FULL: usize = NR_GROUPS - 1;
/// "No entry" in the linked lists of slots and zspages.
const NONE: u32 = u32::MAX;
/// Marks a free object in `ZsPage::objs`; the low bits link the free list.
const OBJ_FREE: u32 = 1 << 31;
/// Ends the free list of a zspage's objects.
const OBJ_END: u32 = !OBJ_FREE;
/// What a new object of the device holds.
static ZEROES: [u8; MAX_SIZE] = [0; MAX_SIZE];

// `struct rzpool_*` of rzpool_uapi.h.

rmm::uapi_struct! {
    struct UAlloc {
        size: u32,
        flags: u32,
        handle: u64,
    }
}

rmm::uapi_struct! {
    struct URw {
        handle: u64,
        addr: u64,
        offset: u32,
        len: u32,
    }
}

rmm::uapi_struct! {
    struct UStats {
        pool_id: u32,
        nr_classes: u32,
        objs: u64,
        bytes: u64,
        pages: u64,
        zspages: u64,
        isolate: u64,
        migrate: u64,
        migrate_fail: u64,
        putback: u64,
        compact_freed: u64,
        shrink_freed: u64,
    }
}

const IOC_ALLOC: u32 = _IOWR::<UAlloc>('Z' as u32, 0x00);
const IOC_FREE: u32 = _IOW::<u64>('Z' as u32, 0x01);
const IOC_WRITE: u32 = _IOW::<URw>('Z' as u32, 0x02);
const IOC_READ: u32 = _IOW::<URw>('Z' as u32, 0x03);
const IOC_COMPACT: u32 = _IOR::<u64>('Z' as u32, 0x04);
const IOC_STATS: u32 = _IOR::<UStats>('Z' as u32, 0x05);

/// The shape of a size class.
#[derive(Clone, Copy)]
struct ClassShape {
    size: usize,
    pages: usize,
    objs: usize,
}

impl ClassShape {
    /// The zspage length (1 to `MAX_PAGES` pages) that wastes the least
    /// space for objects of `size` bytes, preferring fewer pages on ties.
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
            if objs * best.pages > best.objs * pages {
                best = Self { size, pages, objs };
            }
        }
        best
    }
}

/// The size classes: computed once at load, shared by every pool.
struct Classes {
    /// The merged classes, smallest first.
    shapes: KVec<ClassShape>,
    /// For each size step, the index of its class in `shapes`.
    of_step: KVec<u8>,
}

impl Classes {
    /// One class per step; a step whose shape (pages, objects) equals that
    /// of the next larger class is merged into it, as zsmalloc does: the
    /// larger size wastes nothing more.
    fn new() -> Result<Self> {
        let mut all = KVec::with_capacity(NR_SIZES, GFP_KERNEL)?;
        for step in 0..NR_SIZES {
            all.push(
                ClassShape::for_size(MIN_SIZE + step * CLASS_STEP),
                GFP_KERNEL,
            )?;
        }
        // Walk from the largest down, keeping a class only where it differs
        // from the one kept before it.
        let mut keep = KVec::with_capacity(NR_SIZES, GFP_KERNEL)?;
        for step in (0..NR_SIZES).rev() {
            let s = all[step];
            let merged = step + 1 < NR_SIZES && {
                let next = all[keep_last(&keep)];
                next.pages == s.pages && next.objs == s.objs
            };
            if !merged {
                keep.push(step, GFP_KERNEL)?;
            }
        }
        let mut shapes = KVec::with_capacity(keep.len(), GFP_KERNEL)?;
        for &step in keep.iter().rev() {
            shapes.push(all[step], GFP_KERNEL)?;
        }
        let mut of_step = KVec::with_capacity(NR_SIZES, GFP_KERNEL)?;
        let mut class = 0;
        for step in 0..NR_SIZES {
            let size = MIN_SIZE + step * CLASS_STEP;
            while shapes[class].size < size {
                class += 1;
            }
            of_step.push(class as u8, GFP_KERNEL)?;
        }
        Ok(Self { shapes, of_step })
    }

    /// The class of objects of `size` bytes (1 to `MAX_SIZE`).
    fn of_size(&self, size: usize) -> usize {
        let step = size.saturating_sub(MIN_SIZE).div_ceil(CLASS_STEP);
        self.of_step[step] as usize
    }
}

fn keep_last(keep: &KVec<usize>) -> usize {
    keep[keep.len() - 1]
}

/// Where a handle's object lives, or a free slot.
#[derive(Clone, Copy)]
enum Slot {
    Free {
        next: u32,
        gen: u16,
    },
    Used {
        gen: u16,
        size: u16,
        zspage: u32,
        obj: u16,
    },
}

/// An entry of the zspage table.
enum ZsSlot {
    /// Free; links the free list.
    Free(u32),
    /// Reserved while its pages are allocated outside the lock.
    Reserved,
    Used(KBox<ZsPage>),
}

/// The movable operations of rzpool pages.
struct RzOps;

impl MovableOperations for RzOps {
    /// Each page holds its pool; its index word is its zspage's id.
    type Private = Arc<Pool>;

    fn isolate_page(pool: ArcBorrow<'_, Pool>, _page: LockedPage<'_>, _mode: IsolateMode) -> bool {
        // Nothing to do: the page stays in its zspage, readable and writable
        // under the pool lock, until migrate_page swaps it. A zspage being
        // freed may still be isolated: its release is safe at any time.
        pool.stats.isolate.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn migrate_page(
        pool: ArcBorrow<'_, Pool>,
        migration: Migration<'_, Self>,
        _mode: MigrateMode,
    ) -> Result<Migrated> {
        let (src, zspage) = (migration.src().as_ptr(), migration.src().index() as u32);
        let mut inner = pool.inner.lock();
        // A zspage that is gone or not yet installed is being released or set
        // up outside the lock: try again later.
        let page = inner
            .zspage_mut(zspage)
            .and_then(|zs| zs.pages.iter_mut().flatten().find(|p| p.as_ptr() == src));
        let res = match page {
            Some(page) => migration.commit(page),
            None => Err(EAGAIN),
        };
        drop(inner);
        let counter = if res.is_ok() {
            &pool.stats.migrate
        } else {
            &pool.stats.migrate_fail
        };
        counter.fetch_add(1, Ordering::Relaxed);
        res
    }

    fn putback_page(pool: ArcBorrow<'_, Pool>, _page: LockedPage<'_>) {
        pool.stats.putback.fetch_add(1, Ordering::Relaxed);
    }
}

/// Object maps of up to this many entries live in the zspage itself (every
/// class of 512 bytes and more): one allocation per zspage, as zsmalloc's.
const INLINE_OBJS: usize = 64;

/// A zspage's object map.
// The inline variant is large on purpose: it saves an allocation per zspage.
#[allow(clippy::large_enum_variant)]
enum ObjMap {
    Inline([u32; INLINE_OBJS], usize),
    Heap(KVec<u32>),
}

impl ObjMap {
    fn new(n: usize) -> Result<Self> {
        if n <= INLINE_OBJS {
            return Ok(Self::Inline([0; INLINE_OBJS], n));
        }
        let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            v.push(0, GFP_KERNEL)?;
        }
        Ok(Self::Heap(v))
    }

    fn as_slice(&self) -> &[u32] {
        match self {
            Self::Inline(map, n) => &map[..*n],
            Self::Heap(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [u32] {
        match self {
            Self::Inline(map, n) => &mut map[..*n],
            Self::Heap(v) => v,
        }
    }
}

/// A run of pages holding objects of one class.
struct ZsPage {
    class: u8,
    /// The first `nr_pages` are set.
    pages: [Option<MovablePage<RzOps>>; MAX_PAGES],
    nr_pages: u8,
    /// Per object: the handle slot of a used object, or `OBJ_FREE | next`.
    objs: ObjMap,
    free_head: u32,
    inuse: u32,
    /// Fullness group and the links of its list.
    group: u8,
    prev: u32,
    next: u32,
}

impl ZsPage {
    /// Allocates and sets up the pages of zspage `id` of class `class`,
    /// outside the pool lock.
    fn new(pool: ArcBorrow<'_, Pool>, id: u32, class: usize) -> Result<KBox<Self>> {
        let shape = pool.classes().shapes[class];
        let mut pages: [Option<MovablePage<RzOps>>; MAX_PAGES] = Default::default();
        for slot in pages.iter_mut().take(shape.pages) {
            let page = PageRef::alloc_movable()?;
            *slot = Some(MovablePage::new(page, pool.into(), id as usize));
        }
        let mut objs = ObjMap::new(shape.objs)?;
        let map = objs.as_mut_slice();
        for (i, o) in map.iter_mut().enumerate() {
            let next = if i + 1 < shape.objs {
                i as u32 + 1
            } else {
                OBJ_END
            };
            *o = OBJ_FREE | next;
        }
        Ok(KBox::new(
            Self {
                class: class as u8,
                pages,
                nr_pages: shape.pages as u8,
                objs,
                free_head: 0,
                inuse: 0,
                group: 0,
                prev: NONE,
                next: NONE,
            },
            GFP_KERNEL,
        )?)
    }

    fn alloc_obj(&mut self, slot: u32) -> u16 {
        let obj = self.free_head;
        let next = self.objs.as_slice()[obj as usize] & !OBJ_FREE;
        self.free_head = if next == OBJ_END { NONE } else { next };
        self.objs.as_mut_slice()[obj as usize] = slot;
        self.inuse += 1;
        obj as u16
    }

    fn free_obj(&mut self, obj: u16) {
        let next = if self.free_head == NONE {
            OBJ_END
        } else {
            self.free_head
        };
        self.objs.as_mut_slice()[obj as usize] = OBJ_FREE | next;
        self.free_head = obj as u32;
        self.inuse -= 1;
    }

    fn page(&self, i: usize) -> Result<&MovablePage<RzOps>> {
        self.pages.get(i).and_then(Option::as_ref).ok_or(EINVAL)
    }

    fn page_mut(&mut self, i: usize) -> Result<&mut MovablePage<RzOps>> {
        self.pages.get_mut(i).and_then(Option::as_mut).ok_or(EINVAL)
    }

    /// Copies `out.len()` bytes at byte `at` of the run into `out`.
    fn read(&self, at: usize, out: &mut [u8]) -> Result {
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
    fn write(&mut self, at: usize, data: &[u8]) -> Result {
        let (page, off) = (at / PAGE_SIZE, at % PAGE_SIZE);
        let first = data.len().min(PAGE_SIZE - off);
        let (a, b) = data.split_at(first);
        self.page_mut(page)?.write(off, a)?;
        if !b.is_empty() {
            self.page_mut(page + 1)?.write(0, b)?;
        }
        Ok(())
    }
}

/// What `try_alloc` needs before it can succeed; found under the lock,
/// prepared outside it.
enum Need {
    /// Room for one more handle slot.
    Slots,
    /// Room for one more zspage table entry.
    ZsSlots,
    /// A new zspage of the class (its id is reserved).
    Zspage(u32),
    /// The tables are inconsistent: fail with `EIO` rather than crash.
    Corrupt,
}

/// Things prepared outside the lock for `try_alloc`.
#[derive(Default)]
struct Spare {
    slots: Option<KVVec<Slot>>,
    zs_slots: Option<KVVec<ZsSlot>>,
    zspage: Option<(u32, KBox<ZsPage>)>,
}

/// Per class state.
struct ClassState {
    /// Heads of the fullness lists.
    groups: [u32; NR_GROUPS],
    zspages: u64,
    objs_used: u64,
}

/// The state behind the pool lock.
struct PoolInner {
    classes: KVec<ClassState>,
    slots: KVVec<Slot>,
    free_slot: u32,
    zspages: KVVec<ZsSlot>,
    free_zspage: u32,
    objs: u64,
    bytes: u64,
    pages: u64,
    nr_zspages: u64,
    /// Bounce buffer of internal compaction, allocated with the pool so that
    /// the shrinker never allocates.
    compact_buf: KVVec<u8>,
}

/// Counters, readable without the lock.
#[derive(Default)]
struct Stats {
    isolate: AtomicU64,
    migrate: AtomicU64,
    migrate_fail: AtomicU64,
    putback: AtomicU64,
    compact_freed: AtomicU64,
    shrink_freed: AtomicU64,
}

/// One pool: the state of one open file.
#[pin_data]
struct Pool {
    id: u16,
    classes: Arc<Classes>,
    #[pin]
    inner: SpinLock<PoolInner>,
    stats: Stats,
}

/// The fullness group of a zspage with `inuse` of `objs` objects used: 0..3
/// by quarters, `FULL` when full. Called on every alloc and free: compares
/// with multiples of `objs` rather than dividing.
fn group_of(inuse: u32, objs: usize) -> usize {
    let q = inuse as usize * (NR_GROUPS - 1);
    if inuse as usize >= objs {
        FULL
    } else if q >= 3 * objs {
        3
    } else if q >= 2 * objs {
        2
    } else if q >= objs {
        1
    } else {
        0
    }
}

impl PoolInner {
    fn zspage(&self, id: u32) -> Option<&ZsPage> {
        match self.zspages.get(id as usize) {
            Some(ZsSlot::Used(zs)) => Some(zs),
            _ => None,
        }
    }

    fn zspage_mut(&mut self, id: u32) -> Option<&mut ZsPage> {
        match self.zspages.get_mut(id as usize) {
            Some(ZsSlot::Used(zs)) => Some(zs),
            _ => None,
        }
    }

    /// The zspage of a used object or of a fullness list. `None` only if
    /// the tables are inconsistent, which the callers treat as "nothing to
    /// do" rather than crash the kernel.
    fn used(&mut self, id: u32) -> Option<&mut ZsPage> {
        self.zspage_mut(id)
    }

    /// Puts zspage `id` at the head of fullness list `group` of its class.
    fn link(&mut self, id: u32, group: usize) -> Option<()> {
        let class = self.used(id)?.class as usize;
        let head = self.classes[class].groups[group];
        let zs = self.used(id)?;
        zs.group = group as u8;
        zs.prev = NONE;
        zs.next = head;
        if head != NONE {
            self.used(head)?.prev = id;
        }
        self.classes[class].groups[group] = id;
        Some(())
    }

    /// Takes zspage `id` off its fullness list.
    fn unlink(&mut self, id: u32) -> Option<()> {
        let zs = self.used(id)?;
        let (class, group, prev, next) = (zs.class as usize, zs.group as usize, zs.prev, zs.next);
        if prev != NONE {
            self.used(prev)?.next = next;
        } else {
            self.classes[class].groups[group] = next;
        }
        if next != NONE {
            self.used(next)?.prev = prev;
        }
        Some(())
    }

    /// Moves zspage `id` to the list its use now calls for.
    fn regroup(&mut self, id: u32, objs: usize) -> Option<()> {
        let zs = self.used(id)?;
        let (group, want) = (zs.group as usize, group_of(zs.inuse, objs));
        if group != want {
            self.unlink(id)?;
            self.link(id, want)?;
        }
        Some(())
    }

    /// Checks a handle of pool `pool_id` and returns its slot index.
    fn lookup(&self, pool_id: u16, handle: u64) -> Result<(u32, u16, u32, u16)> {
        if (handle >> 48) as u16 != pool_id {
            return Err(EINVAL);
        }
        let slot = handle as u32;
        let gen = (handle >> 32) as u16;
        match self.slots.get(slot as usize) {
            Some(&Slot::Used {
                gen: g,
                size,
                zspage,
                obj,
            }) if g == gen => Ok((slot, size, zspage, obj)),
            _ => Err(ENOENT),
        }
    }

    /// Allocates an object of `size` bytes in `class`, if nothing has to be
    /// allocated first; otherwise says what.
    fn try_alloc(
        &mut self,
        pool_id: u16,
        shapes: &[ClassShape],
        class: usize,
        size: usize,
        zero: bool,
        spare: &mut Spare,
    ) -> core::result::Result<u64, Need> {
        // Take what was prepared outside the lock.
        if let Some(mut bigger) = spare.slots.take() {
            if bigger.capacity() > self.slots.capacity() {
                for s in self.slots.iter() {
                    // Cannot fail: `bigger` has the capacity.
                    let _ = bigger.push(*s, GFP_NOWAIT);
                }
                core::mem::swap(&mut self.slots, &mut bigger);
            }
            spare.slots = Some(bigger);
        }
        if let Some(mut bigger) = spare.zs_slots.take() {
            if bigger.capacity() > self.zspages.capacity() {
                for s in self.zspages.iter_mut() {
                    let s = core::mem::replace(s, ZsSlot::Reserved);
                    let _ = bigger.push(s, GFP_NOWAIT);
                }
                core::mem::swap(&mut self.zspages, &mut bigger);
            }
            spare.zs_slots = Some(bigger);
        }
        if let Some((id, zs)) = spare.zspage.take() {
            self.zspages[id as usize] = ZsSlot::Used(zs);
            let _ = self.link(id, 0);
            self.classes[class].zspages += 1;
            self.nr_zspages += 1;
            self.pages += shapes[class].pages as u64;
        }

        // A handle slot.
        if self.free_slot == NONE && self.slots.len() == self.slots.capacity() {
            return Err(Need::Slots);
        }
        // The fullest zspage of the class with room.
        let mut id = NONE;
        for group in (0..FULL).rev() {
            if self.classes[class].groups[group] != NONE {
                id = self.classes[class].groups[group];
                break;
            }
        }
        if id == NONE {
            // Reserve a table entry for a new zspage.
            if self.free_zspage != NONE {
                let id = self.free_zspage;
                self.free_zspage = match self.zspages[id as usize] {
                    ZsSlot::Free(next) => next,
                    _ => NONE,
                };
                self.zspages[id as usize] = ZsSlot::Reserved;
                return Err(Need::Zspage(id));
            }
            if self.zspages.len() == self.zspages.capacity() {
                return Err(Need::ZsSlots);
            }
            let id = self.zspages.len() as u32;
            let _ = self.zspages.push(ZsSlot::Reserved, GFP_NOWAIT);
            return Err(Need::Zspage(id));
        }

        let slot = if self.free_slot != NONE {
            let slot = self.free_slot;
            self.free_slot = match self.slots[slot as usize] {
                Slot::Free { next, .. } => next,
                Slot::Used { .. } => NONE,
            };
            slot
        } else {
            let slot = self.slots.len() as u32;
            let _ = self
                .slots
                .push(Slot::Free { next: NONE, gen: 0 }, GFP_NOWAIT);
            slot
        };
        let gen = match self.slots[slot as usize] {
            Slot::Free { gen, .. } => gen,
            Slot::Used { gen, .. } => gen,
        };
        let Some(zs) = self.used(id) else {
            return Err(Need::Corrupt);
        };
        let obj = zs.alloc_obj(slot);
        if zero
            && zs
                .write(obj as usize * shapes[class].size, &ZEROES[..size])
                .is_err()
        {
            zs.free_obj(obj);
            return Err(Need::Corrupt);
        }
        self.slots[slot as usize] = Slot::Used {
            gen,
            size: size as u16,
            zspage: id,
            obj,
        };
        let _ = self.regroup(id, shapes[class].objs);
        self.classes[class].objs_used += 1;
        self.objs += 1;
        self.bytes += size as u64;
        Ok((pool_id as u64) << 48 | (gen as u64) << 32 | slot as u64)
    }

    /// Gives back a reserved zspage id whose pages could not be allocated.
    fn unreserve(&mut self, id: u32) {
        self.zspages[id as usize] = ZsSlot::Free(self.free_zspage);
        self.free_zspage = id;
    }

    /// Takes an empty zspage out of the pool; the caller drops it outside
    /// the lock.
    fn remove_zspage(&mut self, id: u32, shapes: &[ClassShape]) -> Option<KBox<ZsPage>> {
        self.unlink(id)?;
        let old = core::mem::replace(
            &mut self.zspages[id as usize],
            ZsSlot::Free(self.free_zspage),
        );
        self.free_zspage = id;
        match old {
            ZsSlot::Used(zs) => {
                let class = zs.class as usize;
                self.classes[class].zspages -= 1;
                self.nr_zspages -= 1;
                self.pages -= shapes[class].pages as u64;
                Some(zs)
            }
            _ => None,
        }
    }

    /// Frees the object of `slot`; returns its zspage if that became empty.
    fn free_slot_obj(&mut self, slot: u32, shapes: &[ClassShape]) -> Option<KBox<ZsPage>> {
        let Slot::Used {
            gen,
            size,
            zspage,
            obj,
        } = self.slots[slot as usize]
        else {
            return None;
        };
        self.slots[slot as usize] = Slot::Free {
            next: self.free_slot,
            gen: gen.wrapping_add(1),
        };
        self.free_slot = slot;
        let zs = self.used(zspage)?;
        zs.free_obj(obj);
        let (class, empty) = (zs.class as usize, zs.inuse == 0);
        self.classes[class].objs_used -= 1;
        self.objs -= 1;
        self.bytes -= size as u64;
        if empty {
            return self.remove_zspage(zspage, shapes);
        }
        self.regroup(zspage, shapes[class].objs);
        None
    }

    /// One step of internal compaction in `class`: moves objects from its
    /// sparsest zspage into its fullest ones until the sparse one is empty,
    /// and returns it. `None` when no zspage can be emptied.
    fn compact_step(&mut self, class: usize, shapes: &[ClassShape]) -> Option<KBox<ZsPage>> {
        let mut buf = core::mem::replace(&mut self.compact_buf, KVVec::new());
        let res = self.compact_move(class, shapes, &mut buf);
        self.compact_buf = buf;
        res
    }

    /// Pages a full internal compaction would free now.
    fn freeable_pages(&self, shapes: &[ClassShape]) -> u64 {
        let mut pages = 0;
        for (c, shape) in self.classes.iter().zip(shapes) {
            let free = (c.zspages * shape.objs as u64).saturating_sub(c.objs_used);
            // `objs` is never 0; `checked_div` keeps a panic path out.
            pages += free.checked_div(shape.objs as u64).unwrap_or(0) * shape.pages as u64;
        }
        pages
    }

    fn compact_move(
        &mut self,
        class: usize,
        shapes: &[ClassShape],
        buf: &mut [u8],
    ) -> Option<KBox<ZsPage>> {
        let shape = shapes[class];
        let c = &self.classes[class];
        let allocated = c.zspages * shape.objs as u64;
        // Only if the free objects of the class add up to a whole zspage.
        if allocated - c.objs_used < shape.objs as u64 {
            return None;
        }
        let src = (0..FULL).map(|g| c.groups[g]).find(|&id| id != NONE)?;
        loop {
            if self.used(src)?.inuse == 0 {
                return self.remove_zspage(src, shapes);
            }
            // The fullest zspage with room, other than `src`.
            let mut dst = NONE;
            for group in (0..FULL).rev() {
                let mut id = self.classes[class].groups[group];
                while id != NONE && id == src {
                    id = self.used(id)?.next;
                }
                if id != NONE {
                    dst = id;
                    break;
                }
            }
            if dst == NONE {
                return None;
            }
            // The first used object of `src`.
            let (obj, slot) = {
                let zs = self.used(src)?;
                let map = zs.objs.as_slice();
                let obj = map.iter().position(|&o| o & OBJ_FREE == 0)?;
                (obj, map[obj])
            };
            let Slot::Used { gen, size, .. } = self.slots[slot as usize] else {
                return None;
            };
            let data = buf.get_mut(..size as usize)?;
            self.used(src)?.read(obj * shape.size, data).ok()?;
            let dst_zs = self.used(dst)?;
            let new_obj = dst_zs.alloc_obj(slot);
            if dst_zs.write(new_obj as usize * shape.size, data).is_err() {
                dst_zs.free_obj(new_obj);
                return None;
            }
            self.slots[slot as usize] = Slot::Used {
                gen,
                size,
                zspage: dst,
                obj: new_obj,
            };
            self.used(src)?.free_obj(obj as u16);
            self.regroup(dst, shape.objs)?;
            self.regroup(src, shape.objs)?;
        }
    }

    /// Takes every zspage out of the pool, for teardown.
    fn take_all(&mut self) -> KVVec<ZsSlot> {
        self.free_slot = NONE;
        self.free_zspage = NONE;
        self.objs = 0;
        self.bytes = 0;
        self.pages = 0;
        self.nr_zspages = 0;
        for c in self.classes.iter_mut() {
            c.groups = [NONE; NR_GROUPS];
            c.zspages = 0;
            c.objs_used = 0;
        }
        self.slots = KVVec::new();
        core::mem::replace(&mut self.zspages, KVVec::new())
    }
}

impl Pool {
    fn new(id: u16, classes: Arc<Classes>) -> Result<Arc<Self>> {
        let mut states = KVec::with_capacity(classes.shapes.len(), GFP_KERNEL)?;
        for _ in 0..classes.shapes.len() {
            states.push(
                ClassState {
                    groups: [NONE; NR_GROUPS],
                    zspages: 0,
                    objs_used: 0,
                },
                GFP_KERNEL,
            )?;
        }
        let inner = PoolInner {
            classes: states,
            slots: KVVec::with_capacity(64, GFP_KERNEL)?,
            free_slot: NONE,
            zspages: KVVec::with_capacity(16, GFP_KERNEL)?,
            free_zspage: NONE,
            objs: 0,
            bytes: 0,
            pages: 0,
            nr_zspages: 0,
            compact_buf: rmm::zeroed_buf(MAX_SIZE)?,
        };
        Arc::pin_init(
            pin_init!(Pool {
                id,
                classes,
                inner <- new_spinlock!(inner, "rzpool::Pool::inner"),
                stats: Stats::default(),
            }),
            GFP_KERNEL,
        )
    }

    fn classes(&self) -> &Classes {
        &self.classes
    }

    /// Allocates an object; `zero` clears it (for user space, which must
    /// never read what the pages held before).
    fn alloc_handle(this_borrow: ArcBorrow<'_, Self>, size: usize, zero: bool) -> Result<u64> {
        if size == 0 {
            return Err(EINVAL);
        }
        if size > MAX_SIZE {
            return Err(E2BIG);
        }
        let this = &*this_borrow;
        let class = this.classes.of_size(size);
        let shapes = &this.classes.shapes[..];
        let mut spare = Spare::default();
        let res = loop {
            let need = {
                let mut inner = this.inner.lock();
                match inner.try_alloc(this.id, shapes, class, size, zero, &mut spare) {
                    Ok(handle) => break Ok(handle),
                    Err(need) => need,
                }
            };
            // Outside the lock: allocate what was missing.
            match need {
                Need::Slots => {
                    let cap = this.inner.lock().slots.capacity();
                    match KVVec::with_capacity(cap * 2, GFP_KERNEL) {
                        Ok(v) => spare.slots = Some(v),
                        Err(e) => break Err(e.into()),
                    }
                }
                Need::ZsSlots => {
                    let cap = this.inner.lock().zspages.capacity();
                    match KVVec::with_capacity(cap * 2, GFP_KERNEL) {
                        Ok(v) => spare.zs_slots = Some(v),
                        Err(e) => break Err(e.into()),
                    }
                }
                Need::Corrupt => break Err(EIO),
                Need::Zspage(id) => match ZsPage::new(this_borrow, id, class) {
                    Ok(zs) => spare.zspage = Some((id, zs)),
                    Err(e) => {
                        this.inner.lock().unreserve(id);
                        break Err(e);
                    }
                },
            }
        };
        // Whatever was prepared and not used is dropped here, unlocked.
        drop(spare);
        res
    }

    fn free(&self, handle: u64) -> Result {
        let empty = {
            let mut inner = self.inner.lock();
            let (slot, ..) = inner.lookup(self.id, handle)?;
            inner.free_slot_obj(slot, &self.classes.shapes)
        };
        // An empty zspage's pages are released here, unlocked (page locks).
        drop(empty);
        Ok(())
    }

    /// Checks `[offset, offset + len)` of the object and returns its zspage
    /// and byte position in the run.
    fn locate(
        &self,
        inner: &PoolInner,
        handle: u64,
        offset: usize,
        len: usize,
    ) -> Result<(u32, usize)> {
        let (_, size, zspage, obj) = inner.lookup(self.id, handle)?;
        match offset.checked_add(len) {
            Some(end) if len > 0 && end <= size as usize => {}
            _ => return Err(EINVAL),
        }
        let class = inner.zspage(zspage).ok_or(EINVAL)?.class as usize;
        Ok((
            zspage,
            obj as usize * self.classes.shapes[class].size + offset,
        ))
    }

    fn write(&self, handle: u64, offset: usize, data: &[u8]) -> Result {
        let mut inner = self.inner.lock();
        let (zspage, at) = self.locate(&inner, handle, offset, data.len())?;
        inner.used(zspage).ok_or(EINVAL)?.write(at, data)
    }

    fn read(&self, handle: u64, offset: usize, out: &mut [u8]) -> Result {
        let inner = self.inner.lock();
        let (zspage, at) = self.locate(&inner, handle, offset, out.len())?;
        inner.zspage(zspage).ok_or(EINVAL)?.read(at, out)
    }

    /// Internal compaction of every class until `budget` pages are freed;
    /// returns the pages freed. Never allocates: the shrinker calls it.
    fn compact(&self, budget: u64) -> u64 {
        let shapes = &self.classes.shapes[..];
        let mut freed = 0;
        for class in 0..shapes.len() {
            while freed < budget {
                let empty = self.inner.lock().compact_step(class, shapes);
                let Some(zs) = empty else { break };
                freed += zs.nr_pages as u64;
                // Released unlocked (page locks).
                drop(zs);
            }
        }
        self.stats.compact_freed.fetch_add(freed, Ordering::Relaxed);
        freed
    }

    fn stats(&self) -> UStats {
        let inner = self.inner.lock();
        UStats {
            pool_id: self.id as u32,
            nr_classes: self.classes.shapes.len() as u32,
            objs: inner.objs,
            bytes: inner.bytes,
            pages: inner.pages,
            zspages: inner.nr_zspages,
            isolate: self.stats.isolate.load(Ordering::Relaxed),
            migrate: self.stats.migrate.load(Ordering::Relaxed),
            migrate_fail: self.stats.migrate_fail.load(Ordering::Relaxed),
            putback: self.stats.putback.load(Ordering::Relaxed),
            compact_freed: self.stats.compact_freed.load(Ordering::Relaxed),
            shrink_freed: self.stats.shrink_freed.load(Ordering::Relaxed),
        }
    }

    /// Frees every object and page. The pages' tags hold references to the
    /// pool, so this is what lets the pool itself be freed.
    fn destroy(&self) {
        let all = self.inner.lock().take_all();
        // Released unlocked: each page is locked, cleared movable and put.
        drop(all);
    }
}

/// Under memory pressure, internal compaction gives pages back.
impl Shrinker for Pool {
    fn count(&self) -> usize {
        self.inner.lock().freeable_pages(&self.classes.shapes) as usize
    }

    fn scan(&self, nr_to_scan: usize) -> Scan {
        let freed = self.compact(nr_to_scan as u64);
        self.stats.shrink_freed.fetch_add(freed, Ordering::Relaxed);
        Scan::Freed(freed as usize)
    }
}

/// `rzpool/pool-<id>/classes`: one line per size class.
impl Show for Pool {
    fn show(&self, m: &mut SeqFile<'_>) -> fmt::Result {
        let shapes = &self.classes.shapes;
        writeln!(
            m,
            "{:>5} {:>5} {:>5} {:>5} {:>8} {:>10} {:>10} {:>6} {:>6} {:>6} {:>6} {:>6}",
            "class",
            "size",
            "pages",
            "objs",
            "zspages",
            "objs_used",
            "objs_alloc",
            "0-25%",
            "-50%",
            "-75%",
            "-99%",
            "full"
        )?;
        let inner = self.inner.lock();
        for (i, (c, shape)) in inner.classes.iter().zip(shapes.iter()).enumerate() {
            // Fullness: walk each list (debugfs only).
            let mut fullness = [0u32; NR_GROUPS];
            for (g, n) in fullness.iter_mut().enumerate() {
                let mut id = c.groups[g];
                while let Some(zs) = inner.zspage(id) {
                    *n += 1;
                    id = zs.next;
                }
            }
            writeln!(
                m,
                "{:>5} {:>5} {:>5} {:>5} {:>8} {:>10} {:>10} {:>6} {:>6} {:>6} {:>6} {:>6}",
                i,
                shape.size,
                shape.pages,
                shape.objs,
                c.zspages,
                c.objs_used,
                c.zspages * shape.objs as u64,
                fullness[0],
                fullness[1],
                fullness[2],
                fullness[3],
                fullness[4]
            )?;
        }
        Ok(())
    }
}

/// `rzpool/pool-<id>/pfns`: the page frame number of every page the pool
/// holds, one per line (where its pages are, e.g. in which memory block).
struct PfnsView(Arc<Pool>);

impl Show for PfnsView {
    fn show(&self, m: &mut SeqFile<'_>) -> fmt::Result {
        let inner = self.0.inner.lock();
        for slot in inner.zspages.iter() {
            if let ZsSlot::Used(zs) = slot {
                for page in zs.pages.iter().flatten() {
                    writeln!(m, "{}", page.pfn())?;
                }
            }
        }
        Ok(())
    }
}

/// `rzpool/pool-<id>/stats`: the counters, one per line.
struct StatsView(Arc<Pool>);

impl Show for StatsView {
    fn show(&self, m: &mut SeqFile<'_>) -> fmt::Result {
        let s = self.0.stats();
        let rows: [(&str, u64); 11] = [
            ("objs", s.objs),
            ("bytes", s.bytes),
            ("pages", s.pages),
            ("zspages", s.zspages),
            ("isolate", s.isolate),
            ("migrate", s.migrate),
            ("migrate_fail", s.migrate_fail),
            ("putback", s.putback),
            ("compact_freed", s.compact_freed),
            ("shrink_freed", s.shrink_freed),
            ("classes", s.nr_classes as u64),
        ];
        for (name, v) in rows {
            writeln!(m, "{name} {v}")?;
        }
        Ok(())
    }
}

debugfs::show_file_operations!(static CLASSES_FOPS: Pool);
debugfs::show_file_operations!(static STATS_FOPS: StatsView);
debugfs::show_file_operations!(static PFNS_FOPS: PfnsView);

/// Pool ids 1..=65535, wrapping; 0 is never a pool (so no handle is 0).
fn next_pool_id() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    (NEXT.fetch_add(1, Ordering::Relaxed) % 0xffff + 1) as u16
}

/// The in-kernel API (`rzpool_kapi.h`), for C users such as the benchmark.
impl ObjectPool for Pool {
    fn create() -> Result<Arc<Self>> {
        Pool::new(next_pool_id(), Arc::new(Classes::new()?, GFP_KERNEL)?)
    }

    fn destroy(&self) {
        Pool::destroy(self)
    }

    fn alloc(this: ArcBorrow<'_, Self>, size: usize) -> Result<u64> {
        // Like zs_malloc(): the caller owns the contents.
        Pool::alloc_handle(this, size, false)
    }

    fn free(&self, handle: u64) -> Result {
        Pool::free(self, handle)
    }

    fn write(&self, handle: u64, offset: usize, data: &[u8]) -> Result {
        Pool::write(self, handle, offset, data)
    }

    fn read(&self, handle: u64, offset: usize, out: &mut [u8]) -> Result {
        Pool::read(self, handle, offset, out)
    }

    fn total_pages(&self) -> u64 {
        self.inner.lock().pages
    }

    fn compact(&self) -> u64 {
        Pool::compact(self, u64::MAX)
    }
}

kapi::export_object_pool!(Pool {
    create: rzpool_create,
    destroy: rzpool_destroy,
    malloc: rzpool_malloc,
    free: rzpool_free,
    write: rzpool_write,
    read: rzpool_read,
    total_pages: rzpool_total_pages,
    compact: rzpool_compact,
});

/// State shared by the device and every pool.
struct Shared {
    classes: Arc<Classes>,
    debugfs: Arc<Dir>,
}

/// One open file: one pool, its shrinker and its debugfs files. Fields drop
/// in this order: no callback of the shrinker or debugfs can run once they
/// are gone, and the pool is already empty (`release` destroyed it).
struct RzpoolFile {
    _shrinker: shrinker::Registration<Pool>,
    _classes: debugfs::File<Pool>,
    _stats: debugfs::File<StatsView>,
    _pfns: debugfs::File<PfnsView>,
    _dir: Arc<Dir>,
    pool: Arc<Pool>,
}

miscdevice::misc_file_operations!(static FOPS: RzpoolFile);

#[vtable]
impl MiscDevice for RzpoolFile {
    type Shared = Shared;
    type Ptr = KBox<RzpoolFile>;

    fn open(shared: &Shared) -> Result<KBox<RzpoolFile>> {
        let id = next_pool_id();
        let pool = Pool::new(id, shared.classes.clone())?;
        let name = CString::try_from_fmt(kernel::fmt!("pool-{}", id))?;
        let dir = Dir::subdir(&shared.debugfs, &name)?;
        let classes = debugfs::File::new(&dir, c_str!("classes"), &CLASSES_FOPS, pool.clone());
        let view = Arc::new(StatsView(pool.clone()), GFP_KERNEL)?;
        let stats = debugfs::File::new(&dir, c_str!("stats"), &STATS_FOPS, view);
        let pfns = Arc::new(PfnsView(pool.clone()), GFP_KERNEL)?;
        let pfns = debugfs::File::new(&dir, c_str!("pfns"), &PFNS_FOPS, pfns);
        let name = CString::try_from_fmt(kernel::fmt!("rzpool-{}", id))?;
        let shrinker = shrinker::Registration::register(&name, pool.clone())?;
        Ok(KBox::new(
            RzpoolFile {
                _shrinker: shrinker,
                _classes: classes,
                _stats: stats,
                _pfns: pfns,
                _dir: dir,
                pool,
            },
            GFP_KERNEL,
        )?)
    }

    fn release(file: KBox<RzpoolFile>) {
        file.pool.destroy();
    }

    fn ioctl(file: &RzpoolFile, cmd: u32, arg: usize) -> Result<isize> {
        let pool = &file.pool;
        let user = UserSlice::new(arg, _IOC_SIZE(cmd));
        match cmd {
            IOC_ALLOC => {
                let (mut reader, mut writer) = user.reader_writer();
                let mut req: UAlloc = reader.read()?;
                if req.flags != 0 {
                    return Err(EINVAL);
                }
                req.handle = Pool::alloc_handle(pool.as_arc_borrow(), req.size as usize, true)?;
                if let Err(e) = writer.write(&req) {
                    // The caller cannot learn the handle: do not leak it.
                    let _ = pool.free(req.handle);
                    return Err(e);
                }
            }
            IOC_FREE => pool.free(user.reader().read::<u64>()?)?,
            IOC_WRITE => {
                let req: URw = user.reader().read()?;
                let len = req.len as usize;
                if len == 0 || len > MAX_SIZE {
                    return Err(EINVAL);
                }
                let mut buf = KVec::with_capacity(len, GFP_KERNEL)?;
                UserSlice::new(req.addr as usize, len)
                    .reader()
                    .read_all(&mut buf, GFP_KERNEL)?;
                pool.write(req.handle, req.offset as usize, &buf)?;
            }
            IOC_READ => {
                let req: URw = user.reader().read()?;
                let len = req.len as usize;
                if len == 0 || len > MAX_SIZE {
                    return Err(EINVAL);
                }
                let mut buf = rmm::zeroed_buf(len)?;
                pool.read(req.handle, req.offset as usize, &mut buf)?;
                UserSlice::new(req.addr as usize, len)
                    .writer()
                    .write_slice(&buf)?;
            }
            IOC_COMPACT => {
                let freed = pool.compact(u64::MAX);
                user.writer().write(&freed)?;
            }
            IOC_STATS => user.writer().write(&pool.stats())?,
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

struct RzpoolModule {
    _reg: Pin<KBox<Registration<RzpoolFile>>>,
}

impl kernel::Module for RzpoolModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let classes = Arc::new(Classes::new()?, GFP_KERNEL)?;
        let nr = classes.shapes.len();
        let shared = Shared {
            classes,
            debugfs: Dir::new(c_str!("rzpool"))?,
        };
        let opts = Options {
            name: c_str!("rzpool"),
            mode: 0o600,
        };
        let reg = KBox::pin_init(Registration::register(&FOPS, opts, shared), GFP_KERNEL)?;
        pr_info!("/dev/rzpool ready: {} size classes\n", nr);
        Ok(Self { _reg: reg })
    }
}
