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
//! A handle ([`Handle`]) is `pool id << 48 | generation << 32 | slot`. The slot records
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
//! A slot's generation grows on every free; a slot whose generation would
//! wrap is retired instead of reused, so a stale handle never names a newer
//! object.
//!
//! # Lock order
//!
//! 1. page lock (held by the VM around every movable callback)
//! 2. `Pool::inner` (a spinlock)
//! 3. page lock, only with `trylock` (releasing an empty zspage)
//!
//! Nothing that can sleep on a page lock or enter reclaim runs under
//! `Pool::inner`: pages are allocated and made movable outside it; tables
//! grow into vectors allocated outside it and are moved into them by code
//! that cannot fail; user copies go through a bounce buffer outside it.
//!
//! An empty zspage is released only if every one of its pages can be locked
//! without waiting (`trylock`), under `Pool::inner`; otherwise it stays in
//! the pool, empty, to be reused or released later. Migration holds a page
//! locked while it allocates the target page, which may enter reclaim and
//! this pool's shrinker: sleeping there on that page's lock would hang
//! reclaim for good. Only pool teardown (process context, no page locked)
//! sleeps on page locks.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::{
    c_str,
    ioctl::_IOC_SIZE,
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
    memcg::MemCgroup,
    miscdevice::{self, MiscDevice, Options, Registration},
    movable::{
        IsolateMode, LockedMovablePage, MigrateMode, Migration, MovableOperations, MovablePage,
        Outcome,
    },
    page::{Gfp, LockedPage, NewPage, PAGE_SIZE},
    shrinker::{self, Scan, Shrinker},
    vec::{append_within_capacity, push_within_capacity},
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

// The index of an object in its zspage is a `u16`, and so is a class index:
// both must fit for this `PAGE_SIZE` (64 KiB pages: 16,384 objects, 4,095
// classes before merging).
const _: () = assert!(MAX_PAGES * PAGE_SIZE / MIN_SIZE <= 1 << 16);
const _: () = assert!(NR_SIZES <= 1 << 16);

/// Pages held by every pool of this module (zsmalloc's `pages_allocated`,
/// summed).
static ALL_PAGES: AtomicU64 = AtomicU64::new(0);

/// An object's handle: `pool << 48 | gen << 32 | slot`, never 0 (pool ids
/// start at 1).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Handle {
    /// The pool the object belongs to.
    pool: u16,
    /// The generation of the slot when the object was allocated.
    gen: u16,
    /// The index of the slot in the pool's slot table.
    slot: u32,
}

impl Handle {
    const POOL_SHIFT: u32 = 48;
    const GEN_SHIFT: u32 = 32;

    fn encode(self) -> u64 {
        (self.pool as u64) << Self::POOL_SHIFT
            | (self.gen as u64) << Self::GEN_SHIFT
            | self.slot as u64
    }

    fn decode(raw: u64) -> Self {
        Self {
            pool: (raw >> Self::POOL_SHIFT) as u16,
            gen: (raw >> Self::GEN_SHIFT) as u16,
            slot: raw as u32,
        }
    }
}

// The uapi structs, ioctl numbers and limits come from rzpool_uapi.h, and
// the kernel API's prototypes from rzpool_kapi.h, through our bindgen pass.
rmm::uapi_module!(uapi, "../../rust/uapi/rzpool_uapi_generated.rs");
rmm::uapi_bytes!(uapi::rzpool_alloc {
    size: u32,
    flags: u32,
    handle: u64,
});
rmm::uapi_bytes!(uapi::rzpool_rw {
    handle: u64,
    addr: u64,
    offset: u32,
    len: u32,
});
rmm::uapi_bytes!(uapi::rzpool_stats {
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
    release_busy: u64,
});
use uapi::{rzpool_alloc as UAlloc, rzpool_rw as URw, rzpool_stats as UStats};

const IOC_ALLOC: u32 = uapi::RZPOOL_IOCTL_ALLOC;
const IOC_FREE: u32 = uapi::RZPOOL_IOCTL_FREE;
const IOC_WRITE: u32 = uapi::RZPOOL_IOCTL_WRITE;
const IOC_READ: u32 = uapi::RZPOOL_IOCTL_READ;
const IOC_COMPACT: u32 = uapi::RZPOOL_IOCTL_COMPACT;
const IOC_STATS: u32 = uapi::RZPOOL_IOCTL_STATS;
/// The largest object of the device (the kernel API takes up to `PAGE_SIZE`).
const DEV_MAX_SIZE: usize = uapi::RZPOOL_MAX_SIZE as usize;
const _: () = assert!(DEV_MAX_SIZE <= MAX_SIZE);

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
    of_step: KVec<u16>,
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
            of_step.push(class as u16, GFP_KERNEL)?;
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
    /// On the free list, to be used with generation `gen`.
    Free { next: u32, gen: u16 },
    /// Holds object `obj` of zspage `zspage`, of `size` bytes.
    Used {
        gen: u16,
        size: u32,
        zspage: u32,
        obj: u16,
    },
    /// Its generation would wrap: never used again.
    Retired,
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

    fn migrate_page<'a>(
        pool: ArcBorrow<'a, Pool>,
        migration: Migration<'a, Self>,
        _mode: MigrateMode,
    ) -> Outcome<'a> {
        let src = migration.src();
        let zspage = src.index() as u32;
        let mut inner = pool.inner.lock();
        // A zspage that is gone or not yet installed is being released or set
        // up outside the lock: try again later.
        let page = inner
            .zspage_mut(zspage)
            .and_then(|zs| zs.pages.iter_mut().flatten().find(|p| p.is(&src)));
        let res = match page {
            Some(page) => migration.commit(page),
            None => Err(migration.refuse(EAGAIN)),
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
///
/// # Invariants
///
/// The first `nr_pages` of `pages` are set, the others not. `objs` has one
/// entry per object of the class; the free ones form a list from
/// `free_head` (`OBJ_FREE | next`, ended by `OBJ_END`), the used ones hold
/// their handle slot; `inuse` counts the used ones. `group` is the
/// fullness list the zspage is on, and `prev`/`next` its neighbours there.
struct ZsPage {
    class: u16,
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
    /// outside the pool lock, charged to the pool's memory cgroup if it has
    /// one.
    fn new(pool: ArcBorrow<'_, Pool>, id: u32, class: usize) -> Result<KBox<Self>> {
        let shape = pool.classes().shapes[class];
        let mut pages: [Option<MovablePage<RzOps>>; MAX_PAGES] = Default::default();
        let alloc = |pages: &mut [Option<MovablePage<RzOps>>]| -> Result {
            for slot in pages.iter_mut().take(shape.pages) {
                let page = NewPage::alloc_movable(Gfp::KERNEL, pool.memcg.is_some())?;
                *slot = Some(MovablePage::new(page, pool.into(), id as usize)?);
            }
            Ok(())
        };
        match &pool.memcg {
            Some(memcg) => memcg.charge(|| alloc(&mut pages))?,
            None => alloc(&mut pages)?,
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
                class: class as u16,
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

/// The pages of an empty zspage taken out of the pool, all locked without
/// waiting: dropping it releases them without sleeping.
struct DeadZsPage {
    _pages: [Option<LockedMovablePage<RzOps>>; MAX_PAGES],
    nr_pages: u8,
}

impl ZsPage {
    /// Locks every page without waiting, or none: `None` if one is locked
    /// by someone else (the zspage is unchanged).
    fn try_lock_all(&mut self) -> Option<DeadZsPage> {
        let mut locked: [Option<LockedMovablePage<RzOps>>; MAX_PAGES] = Default::default();
        for i in 0..MAX_PAGES {
            let Some(page) = self.pages[i].take() else {
                continue;
            };
            match page.try_lock() {
                Ok(l) => locked[i] = Some(l),
                Err(page) => {
                    self.pages[i] = Some(page);
                    for (slot, l) in self.pages.iter_mut().zip(locked.iter_mut()) {
                        if let Some(l) = l.take() {
                            *slot = Some(l.unlock());
                        }
                    }
                    return None;
                }
            }
        }
        Some(DeadZsPage {
            _pages: locked,
            nr_pages: self.nr_pages,
        })
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
    /// The tables are inconsistent: fail with `EIO` rather than crash
    /// (nothing was taken).
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
///
/// # Invariants
///
/// `slots` and `zspages` are the handle slot and zspage tables; their free
/// entries are linked from `free_slot` and `free_zspage`. A used slot names
/// a used zspage and one of its used objects, whose map entry names the slot
/// back. Every used zspage is on exactly one fullness list of its class, the
/// one `group_of` gives for its use. The counters are the sums over the
/// used slots and zspages.
struct PoolInner {
    classes: KVec<ClassState>,
    slots: KVVec<Slot>,
    free_slot: u32,
    zspages: KVVec<ZsSlot>,
    free_zspage: u32,
    objs: u64,
    bytes: u64,
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
    /// Empty zspages kept because a page of theirs was locked.
    release_busy: AtomicU64,
}

/// One pool: the state of one open file.
#[pin_data]
struct Pool {
    id: u16,
    /// Owns `id` while the pool lives.
    _id: PoolId,
    classes: Arc<Classes>,
    /// The memory cgroup the pool's pages are charged to, if any.
    memcg: Option<MemCgroup>,
    #[pin]
    inner: SpinLock<PoolInner>,
    /// Pages held (zsmalloc's `pages_allocated`), readable without the lock.
    pages: AtomicU64,
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

    /// Checks a handle of pool `pool_id` and returns its slot index, size,
    /// zspage and object.
    fn lookup(&self, pool_id: u16, handle: u64) -> Result<(u32, u32, u32, u16)> {
        let h = Handle::decode(handle);
        if h.pool != pool_id {
            return Err(EINVAL);
        }
        match self.slots.get(h.slot as usize) {
            Some(&Slot::Used {
                gen,
                size,
                zspage,
                obj,
            }) if gen == h.gen => Ok((h.slot, size, zspage, obj)),
            _ => Err(ENOENT),
        }
    }

    /// Allocates an object of `size` bytes in `class`, if nothing has to be
    /// allocated first; otherwise says what.
    fn try_alloc(
        &mut self,
        pool: &Pool,
        shapes: &[ClassShape],
        class: usize,
        size: usize,
        zero: bool,
        spare: &mut Spare,
    ) -> core::result::Result<u64, Need> {
        // Take what was prepared outside the lock, if it is bigger than the
        // table now (the old table goes back to `spare`, to be freed outside
        // the lock). Moving the tables cannot fail (`append_within_capacity`
        // checks the room first and moves nothing without it), so no entry
        // is ever dropped under the lock.
        if let Some(mut bigger) = spare.slots.take() {
            if bigger.capacity() > self.slots.capacity()
                && append_within_capacity(&mut bigger, &mut self.slots).is_ok()
            {
                core::mem::swap(&mut self.slots, &mut bigger);
            }
            spare.slots = Some(bigger);
        }
        if let Some(mut bigger) = spare.zs_slots.take() {
            if bigger.capacity() > self.zspages.capacity()
                && append_within_capacity(&mut bigger, &mut self.zspages).is_ok()
            {
                core::mem::swap(&mut self.zspages, &mut bigger);
            }
            spare.zs_slots = Some(bigger);
        }
        if let Some((id, zs)) = spare.zspage.take() {
            let nr_pages = zs.nr_pages as u64;
            self.zspages[id as usize] = ZsSlot::Used(zs);
            if self.link(id, 0).is_none() {
                return Err(Need::Corrupt);
            }
            self.classes[class].zspages += 1;
            self.nr_zspages += 1;
            pool.add_pages(nr_pages);
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
                    _ => return Err(Need::Corrupt),
                };
                self.zspages[id as usize] = ZsSlot::Reserved;
                return Err(Need::Zspage(id));
            }
            let id = self.zspages.len() as u32;
            if push_within_capacity(&mut self.zspages, ZsSlot::Reserved).is_err() {
                return Err(Need::ZsSlots);
            }
            return Err(Need::Zspage(id));
        }
        // Check the zspage before taking anything: on `Corrupt` nothing leaks.
        match self.used(id) {
            Some(zs) if zs.free_head != NONE => {}
            _ => return Err(Need::Corrupt),
        }

        let slot = if self.free_slot != NONE {
            let slot = self.free_slot;
            let Slot::Free { next, .. } = self.slots[slot as usize] else {
                return Err(Need::Corrupt);
            };
            self.free_slot = next;
            slot
        } else {
            let slot = self.slots.len() as u32;
            if push_within_capacity(&mut self.slots, Slot::Free { next: NONE, gen: 0 }).is_err() {
                return Err(Need::Slots);
            }
            slot
        };
        let Slot::Free { gen, .. } = self.slots[slot as usize] else {
            return Err(Need::Corrupt);
        };
        let Some(zs) = self.used(id) else {
            return Err(Need::Corrupt);
        };
        let obj = zs.alloc_obj(slot);
        if zero {
            // In bounds: the object is in its zspage, `size` within its class.
            let _ = zs.write(obj as usize * shapes[class].size, &ZEROES[..size]);
        }
        self.slots[slot as usize] = Slot::Used {
            gen,
            size: size as u32,
            zspage: id,
            obj,
        };
        let _ = self.regroup(id, shapes[class].objs);
        self.classes[class].objs_used += 1;
        self.objs += 1;
        self.bytes += size as u64;
        Ok(Handle {
            pool: pool.id,
            gen,
            slot,
        }
        .encode())
    }

    /// Gives back a reserved zspage id whose pages could not be allocated.
    fn unreserve(&mut self, id: u32) {
        self.zspages[id as usize] = ZsSlot::Free(self.free_zspage);
        self.free_zspage = id;
    }

    /// Takes an empty zspage out of the pool, if each of its pages can be
    /// locked without waiting; the caller drops it (releasing the pages,
    /// never sleeping) outside the lock. `None` leaves it in the pool.
    fn remove_zspage(&mut self, pool: &Pool, id: u32) -> Option<DeadZsPage> {
        let Some(dead) = self.used(id)?.try_lock_all() else {
            pool.stats.release_busy.fetch_add(1, Ordering::Relaxed);
            return None;
        };
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
                pool.sub_pages(zs.nr_pages as u64);
                Some(dead)
            }
            _ => None,
        }
    }

    /// Frees the object of `slot`; returns its zspage if that became empty
    /// and could be taken out.
    fn free_slot_obj(&mut self, pool: &Pool, slot: u32) -> Option<DeadZsPage> {
        let shapes = &pool.classes.shapes;
        let Slot::Used {
            gen,
            size,
            zspage,
            obj,
        } = self.slots[slot as usize]
        else {
            return None;
        };
        // The zspage first: with the tables inconsistent, change nothing.
        if self.used(zspage).is_none() {
            pr_warn!(
                "rzpool: slot {} names zspage {}, which is not in use\n",
                slot,
                zspage
            );
            return None;
        }
        match gen.checked_add(1) {
            Some(gen) => {
                self.slots[slot as usize] = Slot::Free {
                    next: self.free_slot,
                    gen,
                };
                self.free_slot = slot;
            }
            // Reusing it would give old handles of this slot a new object.
            None => self.slots[slot as usize] = Slot::Retired,
        }
        let zs = self.used(zspage)?;
        zs.free_obj(obj);
        let (class, empty) = (zs.class as usize, zs.inuse == 0);
        self.classes[class].objs_used -= 1;
        self.objs -= 1;
        self.bytes -= size as u64;
        self.regroup(zspage, shapes[class].objs);
        if empty {
            return self.remove_zspage(pool, zspage);
        }
        None
    }

    /// One step of internal compaction in `class`: moves objects from its
    /// sparsest zspage into its fullest ones until the sparse one is empty,
    /// and returns it. `None` when no zspage can be emptied.
    fn compact_step(&mut self, pool: &Pool, class: usize) -> Option<DeadZsPage> {
        let mut buf = core::mem::replace(&mut self.compact_buf, KVVec::new());
        let res = self.compact_move(pool, class, &mut buf);
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

    fn compact_move(&mut self, pool: &Pool, class: usize, buf: &mut [u8]) -> Option<DeadZsPage> {
        let shape = pool.classes.shapes[class];
        let c = &self.classes[class];
        let allocated = c.zspages * shape.objs as u64;
        // Only if the free objects of the class add up to a whole zspage.
        if allocated - c.objs_used < shape.objs as u64 {
            return None;
        }
        let src = (0..FULL).map(|g| c.groups[g]).find(|&id| id != NONE)?;
        loop {
            if self.used(src)?.inuse == 0 {
                return self.remove_zspage(pool, src);
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
    fn new(pool_id: PoolId, classes: Arc<Classes>, memcg: Option<MemCgroup>) -> Result<Arc<Self>> {
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
            nr_zspages: 0,
            compact_buf: rmm::zeroed_buf(MAX_SIZE)?,
        };
        Arc::pin_init(
            pin_init!(Pool {
                id: pool_id.0,
                _id: pool_id,
                classes,
                memcg,
                inner <- new_spinlock!(inner, "rzpool::Pool::inner"),
                pages: AtomicU64::new(0),
                stats: Stats::default(),
            }),
            GFP_KERNEL,
        )
    }

    fn classes(&self) -> &Classes {
        &self.classes
    }

    fn add_pages(&self, n: u64) {
        self.pages.fetch_add(n, Ordering::Relaxed);
        ALL_PAGES.fetch_add(n, Ordering::Relaxed);
    }

    fn sub_pages(&self, n: u64) {
        self.pages.fetch_sub(n, Ordering::Relaxed);
        ALL_PAGES.fetch_sub(n, Ordering::Relaxed);
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
        // Each round prepares one missing thing (slots, table room, a
        // zspage); a few rounds suffice even when other users race for the
        // room. The bound keeps a bug from spinning in the kernel forever.
        let mut rounds = 0;
        let res = loop {
            rounds += 1;
            if rounds > 64 {
                pr_warn!("rzpool: allocation made no progress in 64 rounds\n");
                break Err(EAGAIN);
            }
            let need = {
                let mut inner = this.inner.lock();
                match inner.try_alloc(this, shapes, class, size, zero, &mut spare) {
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
            inner.free_slot_obj(self, slot)
        };
        // An empty zspage's pages are released here, outside the pool lock.
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
        let mut freed = 0;
        for class in 0..self.classes.shapes.len() {
            while freed < budget {
                let empty = self.inner.lock().compact_step(self, class);
                let Some(zs) = empty else { break };
                freed += zs.nr_pages as u64;
                // Released outside the pool lock, without sleeping.
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
            pages: self.pages.load(Ordering::Relaxed),
            zspages: inner.nr_zspages,
            isolate: self.stats.isolate.load(Ordering::Relaxed),
            migrate: self.stats.migrate.load(Ordering::Relaxed),
            migrate_fail: self.stats.migrate_fail.load(Ordering::Relaxed),
            putback: self.stats.putback.load(Ordering::Relaxed),
            compact_freed: self.stats.compact_freed.load(Ordering::Relaxed),
            shrink_freed: self.stats.shrink_freed.load(Ordering::Relaxed),
            release_busy: self.stats.release_busy.load(Ordering::Relaxed),
        }
    }

    /// Frees every object and page. The pages' tags hold references to the
    /// pool, so this is what lets the pool itself be freed.
    fn destroy(&self) {
        let all = self.inner.lock().take_all();
        let pages = self.pages.load(Ordering::Relaxed);
        self.sub_pages(pages);
        // Released outside the pool lock: each page is locked (sleeping:
        // teardown runs in process context), cleared movable and put.
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
    /// Walks the zspage table a few entries at a time, printing with the pool
    /// lock dropped: the pool stays usable while a large table is listed.
    fn show(&self, m: &mut SeqFile<'_>) -> fmt::Result {
        const CHUNK: usize = 32;
        let mut next = 0;
        loop {
            let mut pfns = [0usize; CHUNK * MAX_PAGES];
            let mut n = 0;
            {
                let inner = self.0.inner.lock();
                let end = (next + CHUNK).min(inner.zspages.len());
                if next >= end {
                    return Ok(());
                }
                for slot in &inner.zspages[next..end] {
                    if let ZsSlot::Used(zs) = slot {
                        for page in zs.pages.iter().flatten() {
                            pfns[n] = page.pfn();
                            n += 1;
                        }
                    }
                }
                next = end;
            }
            for pfn in &pfns[..n] {
                writeln!(m, "{}", pfn)?;
            }
        }
    }
}

/// `rzpool/pool-<id>/stats`: the counters, one per line.
struct StatsView(Arc<Pool>);

impl Show for StatsView {
    fn show(&self, m: &mut SeqFile<'_>) -> fmt::Result {
        let s = self.0.stats();
        let rows: [(&str, u64); 13] = [
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
            ("release_busy", s.release_busy),
            ("all_pools_pages", ALL_PAGES.load(Ordering::Relaxed)),
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

/// The ids of live pools, one bit each: id 0 is never a pool (so no handle
/// is 0), and no two live pools share an id (a handle of one would name an
/// object of the other).
static POOL_IDS: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];

/// A pool id, unique among live pools, 1 to 65535; freed on drop.
///
/// # Invariants
///
/// Bit `id` of `POOL_IDS` is set, and owned by this object.
struct PoolId(u16);

impl PoolId {
    /// The lowest free id after the last one handed out (ids are reused as
    /// late as possible); `ENOSPC` when 65,535 pools are alive.
    fn new() -> Result<Self> {
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
}

impl Drop for PoolId {
    fn drop(&mut self) {
        let id = self.0 as usize;
        POOL_IDS[id / 64].fetch_and(!(1u64 << (id % 64)), Ordering::Relaxed);
    }
}

/// The in-kernel API (`rzpool_kapi.h`), for C users such as the benchmark.
impl ObjectPool for Pool {
    fn create() -> Result<Arc<Self>> {
        // Kernel users (zswap, the benchmark) account for their memory
        // themselves, as with zsmalloc: no memory cgroup charge here.
        Pool::new(PoolId::new()?, Arc::new(Classes::new()?, GFP_KERNEL)?, None)
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
        self.pages.load(Ordering::Relaxed)
    }

    fn compact(&self) -> u64 {
        Pool::compact(self, u64::MAX)
    }
}

kapi::export_object_pool!(
    Pool,
    uapi::rzpool {
        create: rzpool_create,
        destroy: rzpool_destroy,
        malloc: rzpool_malloc,
        free: rzpool_free,
        write: rzpool_write,
        read: rzpool_read,
        total_pages: rzpool_total_pages,
        compact: rzpool_compact,
    }
);

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
        // The opener's memory cgroup pays for the pool's pages.
        let pool = Pool::new(
            PoolId::new()?,
            shared.classes.clone(),
            MemCgroup::of_current(),
        )?;
        let id = pool.id;
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
                if req.size as usize > DEV_MAX_SIZE {
                    return Err(E2BIG);
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
                if len == 0 || len > DEV_MAX_SIZE {
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
                if len == 0 || len > DEV_MAX_SIZE {
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
