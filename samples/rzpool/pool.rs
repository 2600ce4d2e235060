// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! The allocator core: a pool of size classes, each behind its own lock.
//!
//! # Lock order
//!
//! 1. page lock (held by the VM around every movable callback)
//! 2. one class lock (`Pool::class[i]`, a spinlock); never two at once
//! 3. page lock, only with `trylock` (releasing an empty zspage)
//!
//! No pool-wide lock exists: alloc, free, read, write, map and migration
//! take the one class lock of the object or page (a handle and a page's tag
//! both name their class), so threads on different classes never contend.
//! The pool's counters outside the classes are atomics.
//!
//! Nothing that can sleep on a page lock or enter reclaim runs under a class
//! lock: pages, zspages and table chunks are allocated outside it and
//! installed by code that cannot fail; user copies go through a bounce
//! buffer outside it.
//!
//! An empty zspage is released only if every one of its pages can be locked
//! without waiting (`trylock`), under its class lock; otherwise it stays in
//! the pool, empty, to be reused or released later. Migration holds a page
//! locked while it allocates the target page, which may enter reclaim and
//! this pool's shrinker: sleeping there on that page's lock would hang
//! reclaim for good. Only pool teardown (process context, no page locked)
//! sleeps on page locks.
//!
//! # Mapped objects (zpool)
//!
//! A zpool mapping holds references on the object's pages, taken under the
//! class lock. Migration refuses a page with such a reference (`EAGAIN`, see
//! `Migration::commit`), and internal compaction never moves objects out of
//! a zspage one of whose pages has one, so a mapped object never moves.

#[cfg(CONFIG_ZPOOL)]
use crate::rmm::zpool::{MapMode, Object};
use crate::rmm::{
    memcg::MemCgroup,
    movable::{IsolateMode, MigrateMode, Migration, MovableOperations, Outcome},
    page::{self, Gfp, LockedPage, PAGE_SIZE},
    shrinker::{Scan, Shrinker},
    volatile::{self, Answer, Discarder, Stable, VolatileSet},
};
use crate::{
    class::{ClassShape, Classes, MAX_SIZE},
    handle::{Handle, PageTag, MAX_SLOTS},
    table::{Grow, Spare as TableSpare, Table},
    uapi::UStats,
    zspage::{DeadZsPage, ZsPage, NONE},
};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::{
    alloc::Flags,
    new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, SpinLock},
};

/// Fullness groups: 0..3 by quarters of use, 4 for full.
pub(crate) const NR_GROUPS: usize = 5;
const FULL: usize = NR_GROUPS - 1;
/// What a new object of the device holds.
static ZEROES: [u8; MAX_SIZE] = [0; MAX_SIZE];

/// Pages held by every pool of this module (zsmalloc's `pages_allocated`,
/// summed).
pub(crate) static ALL_PAGES: AtomicU64 = AtomicU64::new(0);

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
    /// A volatile object whose contents were discarded: it has no storage
    /// until `make_stable` refills it.
    Discarded { gen: u16, size: u32 },
    /// Its generation would wrap: never used again.
    Retired,
}

/// An entry of a class's zspage table.
pub(crate) enum ZsSlot {
    /// Free; links the free list.
    Free(u32),
    /// Reserved while its pages are allocated outside the lock.
    Reserved,
    Used(KBox<ZsPage>),
}

/// What `try_alloc` needs before it can succeed; found under the lock,
/// prepared outside it.
enum Need {
    /// Room in the slot table.
    Slots(Grow),
    /// Room in the zspage table.
    ZsSlots(Grow),
    /// A new zspage (its id is reserved).
    Zspage(u32),
    /// The state word of this slot (pools with object states).
    Word(u32),
    /// The class has `MAX_SLOTS` objects.
    Full,
    /// The tables are inconsistent: fail with `EIO` rather than crash
    /// (nothing was taken).
    Corrupt,
    /// The object to refill was freed meanwhile.
    Gone,
}

/// Things prepared outside the lock for `try_alloc`; dropped outside it.
#[derive(Default)]
struct Spare {
    slots: TableSpare<Slot>,
    zs_slots: TableSpare<ZsSlot>,
    zspage: Option<(u32, KBox<ZsPage>)>,
    vol: volatile::Spare,
    vol_object: Option<usize>,
    vol_place: Option<u32>,
}

/// One size class of a pool: the state behind its lock.
///
/// # Invariants
///
/// `slots` and `zspages` are the class's handle slot and zspage tables;
/// their free entries are linked from `free_slot` and `free_zspage`. A used
/// slot names a used zspage and one of its used objects, whose map entry
/// names the slot back. Every used zspage is on exactly one fullness list,
/// the one `group_of` gives for its use. `nr_zspages`, `objs` and `bytes`
/// are the sums over the used zspages and slots.
pub(crate) struct Class {
    index: u16,
    pub(crate) shape: ClassShape,
    slots: Table<Slot>,
    free_slot: u32,
    pub(crate) zspages: Table<ZsSlot>,
    free_zspage: u32,
    /// Heads of the fullness lists.
    pub(crate) groups: [u32; NR_GROUPS],
    pub(crate) nr_zspages: u64,
    pub(crate) objs: u64,
    bytes: u64,
    /// The right to discard this class's volatile objects and to write
    /// their state words (pools with object states).
    disc: Option<Discarder>,
}

/// Counters, readable without a lock.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) isolate: AtomicU64,
    pub(crate) migrate: AtomicU64,
    pub(crate) migrate_fail: AtomicU64,
    pub(crate) putback: AtomicU64,
    pub(crate) compact_freed: AtomicU64,
    pub(crate) shrink_freed: AtomicU64,
    /// Empty zspages kept because a page of theirs was locked or mapped.
    pub(crate) release_busy: AtomicU64,
    /// Objects made volatile, and made stable again with their contents.
    pub(crate) made_volatile: AtomicU64,
    pub(crate) kept: AtomicU64,
    /// Volatile objects discarded, by who discarded them.
    pub(crate) discard_shrink: AtomicU64,
    pub(crate) discard_migrate: AtomicU64,
    pub(crate) discard_compact: AtomicU64,
    /// Pages freed by discarding alone (zspages whose objects were all
    /// volatile: nothing copied).
    pub(crate) discard_pages: AtomicU64,
    /// Stable objects on pages that migration copied (objects with bytes
    /// on a migrated page; the volatile ones there were dropped instead).
    pub(crate) migrate_copied: AtomicU64,
    /// Objects copied by internal compaction.
    pub(crate) compact_moved: AtomicU64,
}

/// Who discards: for the statistics.
#[derive(Clone, Copy)]
enum Discard {
    Shrink,
    Migrate,
    Compact,
}

/// A pool.
///
/// # Invariants
///
/// `class[i]` is the state of size class `i` of `classes`; `pages` is the
/// sum of the pages of every class's zspages.
pub(crate) struct Pool {
    pub(crate) id: u16,
    /// Owns `id` while the pool lives.
    _id: PoolId,
    pub(crate) classes: Arc<Classes>,
    /// One lock per class, each in its own allocation (no false sharing).
    class: KVec<Pin<KBox<SpinLock<Class>>>>,
    /// The state words of each class's objects, outside the class lock
    /// (`make_volatile` and `make_stable` take none); `None` for a pool
    /// without object states (zpool's: zswap has no use for them).
    vol: Option<KVec<VolatileSet>>,
    /// The memory cgroup the pool's pages are charged to, if any.
    pub(crate) memcg: Option<MemCgroup>,
    /// Pages held (zsmalloc's `pages_allocated`).
    pages: AtomicU64,
    pub(crate) stats: Stats,
}

/// The fullness group of a zspage with `inuse` of `objs` objects used: 0..3
/// by quarters, `FULL` when full. Called on every alloc and free: compares
/// with multiples of `objs` rather than dividing.
#[inline]
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

/// Reads the object at byte `at` of `zs`: only with proof that it is
/// stable (it cannot be discarded meanwhile).
fn read_stable(zs: &ZsPage, _stable: &Stable<'_>, at: usize, out: &mut [u8]) -> Result {
    zs.read(at, out)
}

/// Writes the object at byte `at` of `zs`, with proof that it is stable.
fn write_stable(zs: &mut ZsPage, _stable: &Stable<'_>, at: usize, data: &[u8]) -> Result {
    zs.write(at, data)
}

// Every slot of a class has a state word (pools with object states).
const _: () = assert!(MAX_SLOTS <= volatile::MAX_OBJECTS);

/// Bytes moved at a time by internal compaction, through the stack.
const COPY_CHUNK: usize = 256;

impl Class {
    fn new(index: usize, shape: ClassShape, disc: Option<Discarder>) -> Self {
        Self {
            disc,
            index: index as u16,
            shape,
            slots: Table::new(),
            free_slot: NONE,
            zspages: Table::new(),
            free_zspage: NONE,
            groups: [NONE; NR_GROUPS],
            nr_zspages: 0,
            objs: 0,
            bytes: 0,
        }
    }

    #[inline]
    pub(crate) fn zspage(&self, id: u32) -> Option<&ZsPage> {
        match self.zspages.get(id as usize) {
            Some(ZsSlot::Used(zs)) => Some(zs),
            _ => None,
        }
    }

    /// The zspage of a used object or of a fullness list. `None` only if
    /// the tables are inconsistent, which the callers treat as "nothing to
    /// do" rather than crash the kernel.
    #[inline]
    fn used(&mut self, id: u32) -> Option<&mut ZsPage> {
        match self.zspages.get_mut(id as usize) {
            Some(ZsSlot::Used(zs)) => Some(zs),
            _ => None,
        }
    }

    #[inline]
    fn slot(&self, i: u32) -> Option<Slot> {
        self.slots.get(i as usize).copied()
    }

    #[inline]
    fn set_slot(&mut self, i: u32, v: Slot) {
        if let Some(s) = self.slots.get_mut(i as usize) {
            *s = v;
        }
    }

    /// Puts zspage `id` at the head of fullness list `group`.
    fn link(&mut self, id: u32, group: usize) -> Option<()> {
        let head = self.groups[group];
        let zs = self.used(id)?;
        zs.group = group as u8;
        zs.prev = NONE;
        zs.next = head;
        if head != NONE {
            self.used(head)?.prev = id;
        }
        self.groups[group] = id;
        Some(())
    }

    /// Takes zspage `id` off its fullness list.
    fn unlink(&mut self, id: u32) -> Option<()> {
        let zs = self.used(id)?;
        let (group, prev, next) = (zs.group as usize, zs.prev, zs.next);
        self.join(group, prev, next)
    }

    /// Links `prev` and `next`, the neighbours on list `group` of a zspage
    /// taken off it, to each other.
    fn join(&mut self, group: usize, prev: u32, next: u32) -> Option<()> {
        if prev != NONE {
            self.used(prev)?.next = next;
        } else {
            self.groups[group] = next;
        }
        if next != NONE {
            self.used(next)?.prev = prev;
        }
        Some(())
    }

    /// Moves zspage `id` to the list its use now calls for.
    #[inline]
    fn regroup(&mut self, id: u32) -> Option<()> {
        let objs = self.shape.objs;
        let zs = self.used(id)?;
        let (group, want) = (zs.group as usize, group_of(zs.inuse, objs));
        if group != want {
            self.move_group(id, want)?;
        }
        Some(())
    }

    /// Moves zspage `id` to fullness list `want` (another than its own):
    /// unlink and link with one lookup of the zspage itself.
    fn move_group(&mut self, id: u32, want: usize) -> Option<()> {
        let head = self.groups[want];
        let zs = self.used(id)?;
        let (group, prev, next) = (zs.group as usize, zs.prev, zs.next);
        if group == want {
            return Some(());
        }
        zs.group = want as u8;
        zs.prev = NONE;
        zs.next = head;
        self.join(group, prev, next)?;
        if head != NONE {
            self.used(head)?.prev = id;
        }
        self.groups[want] = id;
        Some(())
    }

    /// Checks handle `h` (of this class) and returns its slot's size,
    /// zspage and object.
    #[inline]
    fn lookup(&self, h: Handle) -> Result<(u32, u32, u16)> {
        match self.slot(h.slot) {
            Some(Slot::Used {
                gen,
                size,
                zspage,
                obj,
            }) if gen == h.gen => Ok((size, zspage, obj)),
            _ => Err(ENOENT),
        }
    }

    /// The head of the fullest non-full fullness list, if any.
    #[inline]
    fn fullest_with_room(&self) -> Option<u32> {
        (0..FULL)
            .rev()
            .map(|g| self.groups[g])
            .find(|&id| id != NONE)
    }

    /// The common case of an allocation: a zspage with room and a free slot
    /// (or room in the slot table). `None` sends the caller to
    /// `alloc_or_need`'s slow part, which says what is missing; nothing is
    /// lost then (a slot pushed before an inconsistency shows is linked on
    /// the free list).
    ///
    /// Each table entry is looked up once: the zspage's and the slot's are
    /// held at the same time (disjoint fields).
    #[inline]
    fn try_alloc_fast(
        &mut self,
        vol: Option<&VolatileSet>,
        pool_id: u16,
        size: usize,
        zero: bool,
    ) -> Option<Handle> {
        let id = self.fullest_with_room()?;
        let (objs, at_size) = (self.shape.objs, self.shape.size);
        let Some(ZsSlot::Used(zs)) = self.zspages.get_mut(id as usize) else {
            return None;
        };
        if !zs.has_free() {
            return None;
        }
        // A slot: the head of the free list, or a new one if the table has
        // room (pushed only now that the zspage is known to have room).
        let slot = if self.free_slot != NONE {
            self.free_slot
        } else if self.slots.len() < MAX_SLOTS {
            let slot = self.slots.push(Slot::Free { next: NONE, gen: 0 }).ok()? as u32;
            // On the free list at once, so that no failure below loses it.
            self.free_slot = slot;
            slot
        } else {
            return None;
        };
        let entry = self.slots.get_mut(slot as usize)?;
        let Slot::Free { next, gen } = *entry else {
            return None;
        };
        // With object states, the slot's word must exist (the slow path
        // installs it; zspages get their count when installed).
        if vol.is_some_and(|v| !v.has_object(slot as usize)) {
            return None;
        }
        let obj = zs.alloc_obj(slot)?;
        // In bounds: the object is in its zspage, `size` within its class.
        // `EBUSY` if a page of the zspage is mapped (pools that clear their
        // objects are never mapped): give the object back; the slot is
        // still the head of the free list.
        if zero && zs.write(obj as usize * at_size, &ZEROES[..size]).is_err() {
            zs.free_obj(obj);
            return None;
        }
        *entry = Slot::Used {
            gen,
            size: size as u32,
            zspage: id,
            obj,
        };
        if let (Some(v), Some(d)) = (vol, self.disc.as_mut()) {
            // Free, with its word installed: checked above.
            let _ = v.set_stable(d, slot as usize, gen, id);
        }
        self.free_slot = next;
        let (group, want) = (zs.group as usize, group_of(zs.inuse, objs));
        if group != want {
            let _ = self.move_group(id, want);
        }
        self.objs += 1;
        self.bytes += size as u64;
        Some(Handle {
            pool: pool_id,
            gen,
            class: self.index,
            slot,
        })
    }

    /// Installs what was prepared outside the lock for an allocation
    /// (never allocates nor drops an entry here).
    fn install(
        &mut self,
        pool: &Pool,
        vol: Option<&VolatileSet>,
        spare: &mut Spare,
    ) -> core::result::Result<(), Need> {
        self.slots.install(&mut spare.slots);
        self.zspages.install(&mut spare.zs_slots);
        if let Some(v) = vol {
            v.install(
                &mut spare.vol,
                spare.vol_object.take(),
                spare.vol_place.take(),
            );
        }
        if let Some(&(id, _)) = spare.zspage.as_ref() {
            // Checked before the zspage leaves `spare`: on failure it is
            // dropped with the rest of it, outside the lock.
            let reserved = matches!(self.zspages.get(id as usize), Some(ZsSlot::Reserved));
            if !reserved || vol.is_some_and(|v| !v.has_place(id)) {
                return Err(Need::Corrupt);
            }
        }
        if let Some((id, zs)) = spare.zspage.take() {
            let nr_pages = zs.nr_pages as u64;
            if let Some(entry) = self.zspages.get_mut(id as usize) {
                *entry = ZsSlot::Used(zs);
            }
            if self.link(id, 0).is_none() {
                return Err(Need::Corrupt);
            }
            self.nr_zspages += 1;
            pool.add_pages(nr_pages);
        }
        Ok(())
    }

    /// Allocates an object of `size` bytes, if nothing has to be allocated
    /// first; otherwise says what (a new zspage's table entry is reserved
    /// here, in the same lock round).
    fn alloc_or_need(
        &mut self,
        vol: Option<&VolatileSet>,
        pool_id: u16,
        size: usize,
        zero: bool,
    ) -> core::result::Result<Handle, Need> {
        if let Some(h) = self.try_alloc_fast(vol, pool_id, size, zero) {
            return Ok(h);
        }
        // A handle slot.
        if self.free_slot == NONE {
            if self.slots.len() >= MAX_SLOTS {
                return Err(Need::Full);
            }
            if let Some(grow) = self.slots.needs() {
                return Err(Need::Slots(grow));
            }
        }
        // Its state word.
        if let Some(v) = vol {
            let next = if self.free_slot != NONE {
                self.free_slot
            } else {
                self.slots.len() as u32
            };
            if !v.has_object(next as usize) {
                return Err(Need::Word(next));
            }
        }
        if self.fullest_with_room().is_none() {
            return Err(self.reserve_zspage());
        }
        // The slot table has room and a zspage has room: the fast path's
        // case. Its failing means the tables are inconsistent (it takes
        // nothing it does not give back, so nothing leaks).
        Err(Need::Corrupt)
    }

    /// No zspage has room: reserves a table entry for a new one
    /// (`Need::Zspage`), or says what the table needs first.
    fn reserve_zspage(&mut self) -> Need {
        if self.free_zspage != NONE {
            let id = self.free_zspage;
            let Some(entry) = self.zspages.get_mut(id as usize) else {
                return Need::Corrupt;
            };
            let ZsSlot::Free(next) = *entry else {
                return Need::Corrupt;
            };
            *entry = ZsSlot::Reserved;
            self.free_zspage = next;
            return Need::Zspage(id);
        }
        if let Some(grow) = self.zspages.needs() {
            return Need::ZsSlots(grow);
        }
        match self.zspages.push(ZsSlot::Reserved) {
            Ok(id) => Need::Zspage(id as u32),
            Err(_) => Need::Corrupt,
        }
    }

    /// Gives back a reserved zspage id whose pages could not be allocated.
    fn unreserve(&mut self, id: u32) {
        if let Some(entry) = self.zspages.get_mut(id as usize) {
            *entry = ZsSlot::Free(self.free_zspage);
            self.free_zspage = id;
        }
    }

    /// Takes an empty zspage out of the pool into `dead`, if each of its
    /// pages can be locked without waiting; the caller drops it (releasing
    /// the pages, never sleeping) outside the lock. Otherwise `dead` stays
    /// `None` and the zspage in the pool.
    fn remove_zspage(&mut self, pool: &Pool, id: u32, dead: &mut Option<DeadZsPage>) {
        let Some(zs) = self.used(id) else {
            return;
        };
        if !zs.try_lock_all(dead) {
            pool.stats.release_busy.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Linked and in use: `used` found it just now.
        let _ = self.unlink(id);
        let free = ZsSlot::Free(self.free_zspage);
        let Some(entry) = self.zspages.get_mut(id as usize) else {
            return;
        };
        let old = core::mem::replace(entry, free);
        self.free_zspage = id;
        self.nr_zspages -= 1;
        if let ZsSlot::Used(zs) = old {
            pool.sub_pages(zs.nr_pages as u64);
        }
    }

    /// Frees the object of handle `h`; puts its zspage in `empty` if that
    /// became empty and could be taken out. (An out-parameter: the common
    /// case then moves no `DeadZsPage` around.)
    fn free(
        &mut self,
        pool: &Pool,
        vol: Option<&VolatileSet>,
        h: Handle,
        empty: &mut Option<DeadZsPage>,
    ) -> Result {
        let objs = self.shape.objs;
        let entry = self.slots.get_mut(h.slot as usize).ok_or(ENOENT)?;
        // A discarded object has no storage to free.
        let (gen, size, place) = match *entry {
            Slot::Used {
                gen,
                size,
                zspage,
                obj,
            } => (gen, size, Some((zspage, obj))),
            Slot::Discarded { gen, size } => (gen, size, None),
            _ => return Err(ENOENT),
        };
        if gen != h.gen {
            return Err(ENOENT);
        }
        let mut emptied = None;
        if let Some((zspage, obj)) = place {
            // The zspage first: with the tables inconsistent, change nothing.
            let Some(ZsSlot::Used(zs)) = self.zspages.get_mut(zspage as usize) else {
                pr_warn!(
                    "rzpool: slot {} names zspage {}, which is not in use\n",
                    h.slot,
                    zspage
                );
                return Err(EIO);
            };
            zs.free_obj(obj);
            emptied = Some((
                zspage,
                zs.inuse == 0,
                zs.group as usize,
                group_of(zs.inuse, objs),
            ));
        }
        let next_gen = h.gen.checked_add(1);
        *entry = match next_gen {
            Some(gen) => {
                let next = self.free_slot;
                self.free_slot = h.slot;
                Slot::Free { next, gen }
            }
            // Reusing it would give old handles of this slot a new object.
            None => Slot::Retired,
        };
        if let (Some(v), Some(d)) = (vol, self.disc.as_mut()) {
            // In any state; a racing transition fails on the new word.
            let _ = v.set_free(d, h.slot as usize, next_gen.unwrap_or(0));
        }
        let Some((zspage, is_empty, group, want)) = emptied else {
            return Ok(());
        };
        self.objs -= 1;
        self.bytes -= size as u64;
        if group != want {
            let _ = self.move_group(zspage, want);
        }
        if is_empty {
            self.remove_zspage(pool, zspage, empty);
        }
        Ok(())
    }

    /// Discards the volatile object of `slot`, at object `obj` of zspage
    /// `zspage`, if it is still volatile: frees its storage (the slot stays,
    /// `Discarded`). Whether it did. The zspage is not regrouped here.
    fn discard(&mut self, pool: &Pool, vol: &VolatileSet, slot: u32, who: Discard) -> bool {
        let Some(Slot::Used {
            gen,
            size,
            zspage,
            obj,
        }) = self.slot(slot)
        else {
            return false;
        };
        let Some(d) = self.disc.as_mut() else {
            return false;
        };
        if vol.try_discard(d, slot as usize).is_none() {
            return false;
        }
        // From here the user's `make_stable` sees `Discarded`: the storage
        // is no longer anyone's.
        if let Some(zs) = self.used(zspage) {
            zs.free_obj(obj);
        }
        self.set_slot(slot, Slot::Discarded { gen, size });
        self.objs -= 1;
        self.bytes -= size as u64;
        let counter = match who {
            Discard::Shrink => &pool.stats.discard_shrink,
            Discard::Migrate => &pool.stats.discard_migrate,
            Discard::Compact => &pool.stats.discard_compact,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Discards every volatile object of zspage `id`, and takes it out into
    /// `dead` if it is then empty. Only a zspage whose count says all its
    /// objects may be volatile is tried (the count is never below the
    /// truth). Returns the objects discarded.
    fn discard_zspage(
        &mut self,
        pool: &Pool,
        vol: &VolatileSet,
        id: u32,
        dead: &mut Option<DeadZsPage>,
    ) -> u32 {
        let Some(zs) = self.zspage(id) else {
            return 0;
        };
        if zs.inuse == 0 || vol.volatile_in(id) < zs.inuse {
            return 0;
        }
        let (discarded, _) = self.discard_objs(pool, vol, id, 0..self.shape.objs, Discard::Shrink);
        if self.zspage(id).is_some_and(|zs| zs.inuse == 0) {
            self.remove_zspage(pool, id, dead);
        }
        discarded
    }

    /// Discards the volatile objects among objects `objs` of zspage `id`
    /// and regroups it if any was. Returns the objects discarded and the
    /// used ones kept.
    fn discard_objs(
        &mut self,
        pool: &Pool,
        vol: &VolatileSet,
        id: u32,
        objs: core::ops::Range<usize>,
        who: Discard,
    ) -> (u32, u64) {
        let (mut discarded, mut kept) = (0, 0);
        for obj in objs {
            let Some(slot) = self.zspage(id).and_then(|zs| zs.slot_of(obj)) else {
                continue;
            };
            if self.discard(pool, vol, slot, who) {
                discarded += 1;
            } else {
                kept += 1;
            }
        }
        if discarded > 0 {
            let _ = self.regroup(id);
        }
        (discarded, kept)
    }

    /// Checks `[offset, offset + len)` of the object of `h` and returns its
    /// zspage and byte position in the run.
    fn locate(&self, h: Handle, offset: usize, len: usize) -> Result<(u32, usize)> {
        let (size, zspage, obj) = self.lookup(h)?;
        match offset.checked_add(len) {
            Some(end) if len > 0 && end <= size as usize => {}
            _ => return Err(EINVAL),
        }
        Ok((zspage, obj as usize * self.shape.size + offset))
    }

    /// Objects of the class that compaction counts as free room: the free
    /// ones and, with object states, the volatile ones (discarded instead
    /// of copied).
    fn room(&self, vol: Option<&VolatileSet>) -> u64 {
        let volatile = vol.map_or(0, |v| v.nr_volatile());
        (self.nr_zspages * self.shape.objs as u64)
            .saturating_sub(self.objs.saturating_sub(volatile))
    }

    /// Pages a full internal compaction would free now.
    fn freeable_pages(&self, vol: Option<&VolatileSet>) -> u64 {
        let objs = self.shape.objs as u64;
        let free = self.room(vol);
        // `objs` is never 0; `checked_div` keeps a panic path out.
        free.checked_div(objs).unwrap_or(0) * self.shape.pages as u64
    }

    /// One step of internal compaction: empties the sparsest zspage that
    /// none maps, discarding its volatile objects and moving the others
    /// into the fullest zspages, and returns it. `None` when no zspage can
    /// be emptied.
    fn compact_step(&mut self, pool: &Pool, vol: Option<&VolatileSet>) -> Option<DeadZsPage> {
        // Only if the free room of the class adds up to a whole zspage.
        if self.room(vol) < self.shape.objs as u64 {
            return None;
        }
        // Full zspages are sources too if they hold volatile objects.
        let mut src = NONE;
        'find: for group in 0..NR_GROUPS {
            let mut id = self.groups[group];
            while let Some(zs) = self.zspage(id) {
                let room = group < FULL || vol.is_some_and(|v| v.volatile_in(id) > 0);
                if room && !zs.is_pinned() {
                    src = id;
                    break 'find;
                }
                id = zs.next;
            }
        }
        if src == NONE {
            return None;
        }
        loop {
            if self.used(src)?.inuse == 0 {
                let mut dead = None;
                self.remove_zspage(pool, src, &mut dead);
                return dead;
            }
            let (obj, slot) = self.used(src)?.first_used()?;
            if let Some(v) = vol {
                // Discard before copy.
                if self.discard(pool, v, slot, Discard::Compact) {
                    self.regroup(src)?;
                    continue;
                }
            }
            // The fullest zspage with room, other than `src`.
            let mut dst = NONE;
            for group in (0..FULL).rev() {
                // Not a mapped one either: its pages refuse writes.
                let mut id = self.groups[group];
                while id != NONE && (id == src || self.used(id)?.is_pinned()) {
                    id = self.used(id)?.next;
                }
                if id != NONE {
                    dst = id;
                    break;
                }
            }
            if dst == NONE {
                // Volatile objects are room too: drop those of a full one.
                dst = self.make_room(pool, vol?, src)?;
            }
            let Some(Slot::Used { gen, size, .. }) = self.slot(slot) else {
                return None;
            };
            let new_obj = self.used(dst)?.alloc_obj(slot)?;
            let (from, to) = (
                obj as usize * self.shape.size,
                new_obj as usize * self.shape.size,
            );
            let mut buf = [0u8; COPY_CHUNK];
            let mut done = 0;
            while done < size as usize {
                let n = (size as usize - done).min(COPY_CHUNK);
                let ok = self.used(src)?.read(from + done, &mut buf[..n]).is_ok()
                    && self.used(dst)?.write(to + done, &buf[..n]).is_ok();
                if !ok {
                    self.used(dst)?.free_obj(new_obj);
                    return None;
                }
                done += n;
            }
            self.set_slot(
                slot,
                Slot::Used {
                    gen,
                    size,
                    zspage: dst,
                    obj: new_obj,
                },
            );
            if let (Some(v), Some(d)) = (vol, self.disc.as_mut()) {
                // Stable, or made volatile by its user meanwhile: either way
                // its count moves with it.
                let _ = v.move_to(d, slot as usize, dst);
            }
            self.used(src)?.free_obj(obj);
            pool.stats.compact_moved.fetch_add(1, Ordering::Relaxed);
            self.regroup(dst)?;
            self.regroup(src)?;
        }
    }

    /// Discards the volatile objects of the first full zspage (other than
    /// `src`, and not mapped) that has any, for compaction's destination;
    /// returns it if it now has room.
    fn make_room(&mut self, pool: &Pool, vol: &VolatileSet, src: u32) -> Option<u32> {
        let mut id = self.groups[FULL];
        while let Some(zs) = self.zspage(id) {
            if id != src && vol.volatile_in(id) > 0 && !zs.is_pinned() {
                break;
            }
            id = zs.next;
        }
        self.zspage(id)?;
        self.discard_objs(pool, vol, id, 0..self.shape.objs, Discard::Compact);
        self.zspage(id)?.has_free().then_some(id)
    }

    /// Gives the discarded object of `h` storage again (cleared if
    /// `zero`) and makes it stable; `Ok` also if a racing `make_stable`
    /// did. Says what is missing otherwise (`Need::Gone` if it was freed).
    fn refill_or_need(
        &mut self,
        vol: &VolatileSet,
        h: Handle,
        zero: bool,
    ) -> core::result::Result<(), Need> {
        let size = match self.slot(h.slot) {
            Some(Slot::Discarded { gen, size }) if gen == h.gen => size,
            Some(Slot::Used { gen, .. }) if gen == h.gen => return Ok(()),
            _ => return Err(Need::Gone),
        };
        let Some(id) = self.fullest_with_room() else {
            return Err(self.reserve_zspage());
        };
        let at_size = self.shape.size;
        let Some(ZsSlot::Used(zs)) = self.zspages.get_mut(id as usize) else {
            return Err(Need::Corrupt);
        };
        let obj = zs.alloc_obj(h.slot).ok_or(Need::Corrupt)?;
        if zero
            && zs
                .write(obj as usize * at_size, &ZEROES[..size as usize])
                .is_err()
        {
            zs.free_obj(obj);
            return Err(Need::Corrupt);
        }
        let d = self.disc.as_mut().ok_or(Need::Corrupt)?;
        if vol.set_stable(d, h.slot as usize, h.gen, id).is_err() {
            if let Some(zs) = self.used(id) {
                zs.free_obj(obj);
            }
            return Err(Need::Corrupt);
        }
        self.set_slot(
            h.slot,
            Slot::Used {
                gen: h.gen,
                size,
                zspage: id,
                obj,
            },
        );
        self.objs += 1;
        self.bytes += size as u64;
        let _ = self.regroup(id);
        Ok(())
    }

    /// One step of the shrinker's discard pass: discards the objects of the
    /// first zspage (sparsest first) whose count says they may all be
    /// volatile, and takes it out into `dead` if that emptied it. `false`
    /// when no zspage is a candidate.
    fn discard_step(
        &mut self,
        pool: &Pool,
        vol: &VolatileSet,
        dead: &mut Option<DeadZsPage>,
    ) -> bool {
        for group in 0..NR_GROUPS {
            let mut id = self.groups[group];
            while let Some(zs) = self.zspage(id) {
                if zs.inuse > 0 && vol.volatile_in(id) >= zs.inuse && !zs.is_pinned() {
                    return self.discard_zspage(pool, vol, id, dead) > 0;
                }
                id = zs.next;
            }
        }
        false
    }

    /// Before zspage `id`'s page `page` migrates: discards the volatile
    /// objects with bytes on it, so that only the stable ones are carried
    /// over (counted in `migrate_copied`).
    fn drop_volatile_on(&mut self, pool: &Pool, vol: &VolatileSet, id: u32, page: &LockedPage<'_>) {
        let Some(p) = self
            .zspage(id)
            .and_then(|zs| zs.pages().position(|pg| pg.is(page)))
        else {
            return;
        };
        // The objects with bytes on page `p` (`size` is never 0;
        // `checked_div` keeps a panic path out).
        let size = self.shape.size;
        let first = (p * PAGE_SIZE).checked_div(size).unwrap_or(0);
        let last = ((p + 1) * PAGE_SIZE - 1).checked_div(size).unwrap_or(0);
        let end = (last + 1).min(self.shape.objs);
        let (_, copied) = self.discard_objs(pool, vol, id, first..end, Discard::Migrate);
        pool.stats
            .migrate_copied
            .fetch_add(copied, Ordering::Relaxed);
    }

    /// Takes every zspage out, for teardown.
    fn take_all(&mut self) -> Table<ZsSlot> {
        self.free_slot = NONE;
        self.free_zspage = NONE;
        self.objs = 0;
        self.bytes = 0;
        self.nr_zspages = 0;
        self.groups = [NONE; NR_GROUPS];
        drop(self.slots.take());
        self.zspages.take()
    }
}

/// The movable operations of rzpool pages.
pub(crate) struct RzOps;

impl MovableOperations for RzOps {
    /// Each page holds its pool; its index word is its [`PageTag`].
    type Private = Arc<Pool>;

    fn isolate_page(pool: ArcBorrow<'_, Pool>, _page: LockedPage<'_>, _mode: IsolateMode) -> bool {
        // Nothing to do: the page stays in its zspage, readable and writable
        // under the class lock, until migrate_page swaps it. A zspage being
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
        let tag = PageTag::decode(src.index());
        let res = match pool.class.get(tag.class as usize) {
            Some(lock) => {
                let mut class = lock.lock();
                if let Some(vol) = pool.vol(tag.class as usize) {
                    class.drop_volatile_on(&pool, vol, tag.zspage, &src);
                }
                // A zspage that is gone or not yet installed is being
                // released or set up outside the lock: try again later. A
                // mapped page is refused by `commit`.
                let page = class
                    .used(tag.zspage)
                    .and_then(|zs| zs.pages_mut().find(|p| p.is(&src)));
                match page {
                    Some(page) => migration.commit(page),
                    None => Err(migration.refuse(EAGAIN)),
                }
            }
            None => Err(migration.refuse(EINVAL)),
        };
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

impl Pool {
    /// A new pool of `classes`, charged to `memcg` if given; `states` gives
    /// its objects states (stable, volatile, discarded: see
    /// [`crate::rmm::volatile`]).
    pub(crate) fn new(
        classes: Arc<Classes>,
        memcg: Option<MemCgroup>,
        states: bool,
    ) -> Result<Arc<Self>> {
        let id = PoolId::new()?;
        let mut class = KVec::with_capacity(classes.len(), GFP_KERNEL)?;
        let mut vol = match states {
            true => Some(KVec::with_capacity(classes.len(), GFP_KERNEL)?),
            false => None,
        };
        for (i, shape) in classes.shapes.iter().enumerate() {
            let disc = match &mut vol {
                Some(vol) => {
                    let (set, disc) = VolatileSet::new();
                    vol.push(set, GFP_KERNEL)?;
                    Some(disc)
                }
                None => None,
            };
            class.push(
                KBox::pin_init(
                    new_spinlock!(Class::new(i, *shape, disc), "rzpool::Class"),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        Ok(Arc::new(
            Pool {
                id: id.0,
                _id: id,
                classes,
                class,
                vol,
                memcg,
                pages: AtomicU64::new(0),
                stats: Stats::default(),
            },
            GFP_KERNEL,
        )?)
    }

    fn add_pages(&self, n: u64) {
        self.pages.fetch_add(n, Ordering::Relaxed);
        ALL_PAGES.fetch_add(n, Ordering::Relaxed);
    }

    fn sub_pages(&self, n: u64) {
        self.pages.fetch_sub(n, Ordering::Relaxed);
        ALL_PAGES.fetch_sub(n, Ordering::Relaxed);
    }

    pub(crate) fn total_pages(&self) -> u64 {
        self.pages.load(Ordering::Relaxed)
    }

    /// The lock of the class of handle `raw`, which must be of this pool.
    #[inline]
    fn class_of(&self, raw: u64) -> Result<(Handle, &SpinLock<Class>)> {
        let h = Handle::decode(raw);
        if h.pool != self.id {
            return Err(EINVAL);
        }
        let lock = self.class.get(h.class as usize).ok_or(ENOENT)?;
        Ok((h, lock))
    }

    /// The object states of class `index`, if the pool has states.
    #[inline]
    fn vol(&self, index: usize) -> Option<&VolatileSet> {
        self.vol.as_ref()?.get(index)
    }

    /// The class locks, for walks over the whole pool (statistics, debugfs,
    /// compaction): one at a time.
    pub(crate) fn classes_locks(&self) -> impl Iterator<Item = &SpinLock<Class>> {
        self.class.iter().map(|c| &**c)
    }

    /// Runs `f`, which allocates metadata with the flags it is given: with
    /// `flags | __GFP_ACCOUNT`, charged to the pool's memory cgroup, if it
    /// has one (a pool of `/dev/rzpool`); with `flags` otherwise (zswap
    /// charges what it stores itself, kernel users account for theirs).
    pub(crate) fn charged<R>(&self, flags: Flags, f: impl FnOnce(Flags) -> R) -> R {
        match &self.memcg {
            Some(memcg) => memcg.charge(|| f(page::accounted(flags))),
            None => f(flags),
        }
    }

    /// Allocates an object with the caller's `gfp`; `zero` clears it (for
    /// user space, which must never read what the pages held before).
    pub(crate) fn alloc(
        this: ArcBorrow<'_, Self>,
        size: usize,
        gfp: Gfp,
        zero: bool,
    ) -> Result<u64> {
        if size == 0 {
            return Err(EINVAL);
        }
        if size > MAX_SIZE {
            return Err(E2BIG);
        }
        let index = this.classes.of_size(size);
        let lock = this.class.get(index).ok_or(EINVAL)?;
        let vol = this.vol(index);
        // The fast path builds nothing it would drop: no `Spare`.
        let need = match lock.lock().alloc_or_need(vol, this.id, size, zero) {
            Ok(h) => return Ok(h.encode()),
            Err(need) => need,
        };
        let h = Self::until_done(this, index, gfp, need, |class, spare| {
            class
                .install(&this, vol, spare)
                .and_then(|()| class.alloc_or_need(vol, this.id, size, zero))
        })?;
        Ok(h.encode())
    }

    /// The slow path of an allocation in class `index`: prepares what
    /// `need` says outside the lock, then runs `step` under it, until `step`
    /// needs nothing more.
    fn until_done<R>(
        this: ArcBorrow<'_, Self>,
        index: usize,
        gfp: Gfp,
        mut need: Need,
        mut step: impl FnMut(&mut Class, &mut Spare) -> core::result::Result<R, Need>,
    ) -> Result<R> {
        let lock = this.class.get(index).ok_or(EINVAL)?;
        let vol = this.vol(index);
        let mut spare = Spare::default();
        // Each round prepares one missing thing (a table chunk or directory,
        // a state word, a zspage); a few rounds suffice even when other
        // users race for the room. The bound keeps a bug from spinning
        // forever.
        let mut rounds = 0;
        let res = loop {
            rounds += 1;
            if rounds > 64 {
                pr_warn!("rzpool: allocation made no progress in 64 rounds\n");
                if let Need::Zspage(id) = need {
                    lock.lock().unreserve(id);
                }
                break Err(EAGAIN);
            }
            // Outside the lock: allocate what was missing; the metadata of
            // a pool with a memory cgroup is charged to it, as its pages are.
            let flags = gfp.metadata_flags();
            let prepared = match need {
                Need::Slots(grow) => {
                    this.charged(flags, |f| Table::prepare(grow, f, &mut spare.slots))
                }
                Need::ZsSlots(grow) => {
                    this.charged(flags, |f| Table::prepare(grow, f, &mut spare.zs_slots))
                }
                Need::Full => Err(ENOSPC),
                Need::Corrupt => Err(EIO),
                Need::Gone => Err(ENOENT),
                Need::Word(slot) => match vol {
                    Some(v) => {
                        spare.vol_object = Some(slot as usize);
                        this.charged(flags, |f| {
                            v.prepare(&mut spare.vol, Some(slot as usize), None, f)
                        })
                    }
                    None => Err(EIO),
                },
                Need::Zspage(id) => {
                    let tag = PageTag {
                        class: index as u16,
                        zspage: id,
                    };
                    // The zspage's count of volatile objects first.
                    let counted = match vol {
                        Some(v) => {
                            spare.vol_place = Some(id);
                            this.charged(flags, |f| v.prepare(&mut spare.vol, None, Some(id), f))
                        }
                        None => Ok(()),
                    };
                    match counted
                        .and_then(|()| ZsPage::new(this, tag, &this.classes.shapes[index], gfp))
                    {
                        Ok(zs) => {
                            spare.zspage = Some((id, zs));
                            Ok(())
                        }
                        Err(e) => {
                            lock.lock().unreserve(id);
                            Err(e)
                        }
                    }
                }
            };
            if let Err(e) = prepared {
                break Err(e);
            }
            need = match step(&mut lock.lock(), &mut spare) {
                Ok(r) => break Ok(r),
                Err(need) => need,
            };
        };
        // Whatever was prepared and not used is dropped here, unlocked.
        drop(spare);
        res
    }

    pub(crate) fn free(&self, handle: u64) -> Result {
        let (h, lock) = self.class_of(handle)?;
        let mut empty = None;
        let res = lock
            .lock()
            .free(self, self.vol(h.class as usize), h, &mut empty);
        // An empty zspage's pages are released here, outside the lock.
        drop(empty);
        res
    }

    /// The object states of the class of `h`: `EOPNOTSUPP` for a pool
    /// without states (zpool's, whose objects are read through `map`).
    fn states(&self, h: Handle) -> Result<&VolatileSet> {
        self.vol(h.class as usize)
            .ok_or_else(crate::rmm::eopnotsupp)
    }

    /// Copies `data` into the object of `handle` at `offset`. `ESTALE` if
    /// the object is volatile or discarded.
    pub(crate) fn write(&self, handle: u64, offset: usize, data: &[u8]) -> Result {
        let (h, lock) = self.class_of(handle)?;
        let vol = self.states(h)?;
        let mut guard = lock.lock();
        let class = &mut *guard;
        let stable = vol.stable(class.disc.as_ref().ok_or(EIO)?, h.slot as usize, h.gen)?;
        let (zspage, at) = class.locate(h, offset, data.len())?;
        match class.zspages.get_mut(zspage as usize) {
            Some(ZsSlot::Used(zs)) => write_stable(zs, &stable, at, data),
            _ => Err(EIO),
        }
    }

    /// Copies bytes of the object of `handle` from `offset` into `out`.
    /// `ESTALE` if the object is volatile or discarded.
    pub(crate) fn read(&self, handle: u64, offset: usize, out: &mut [u8]) -> Result {
        let (h, lock) = self.class_of(handle)?;
        let vol = self.states(h)?;
        let class = lock.lock();
        let stable = vol.stable(class.disc.as_ref().ok_or(EIO)?, h.slot as usize, h.gen)?;
        let (zspage, at) = class.locate(h, offset, out.len())?;
        read_stable(class.zspage(zspage).ok_or(EIO)?, &stable, at, out)
    }

    /// Lets the pool discard the object of `handle` under pressure, without
    /// taking its class lock: `EALREADY` if it is not stable.
    pub(crate) fn make_volatile(&self, handle: u64) -> Result {
        let (h, _) = self.class_of(handle)?;
        self.states(h)?.make_volatile(h.slot as usize, h.gen)?;
        self.stats.made_volatile.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Makes the object of `handle` stable again: `Kept` with its contents,
    /// without taking its class lock, or `Discarded`, after which it is an
    /// object of the same size, cleared if `zero` (refilled under the lock,
    /// which may allocate a zspage with `gfp`; the object stays discarded if
    /// that fails). `EALREADY` if it is stable.
    pub(crate) fn make_stable(
        this: ArcBorrow<'_, Self>,
        handle: u64,
        gfp: Gfp,
        zero: bool,
    ) -> Result<Answer> {
        let (h, lock) = this.class_of(handle)?;
        let vol = this.states(h)?;
        if vol.make_stable(h.slot as usize, h.gen)? == Answer::Kept {
            this.stats.kept.fetch_add(1, Ordering::Relaxed);
            return Ok(Answer::Kept);
        }
        let need = match lock.lock().refill_or_need(vol, h, zero) {
            Ok(()) => return Ok(Answer::Discarded),
            Err(need) => need,
        };
        Self::until_done(this, h.class as usize, gfp, need, |class, spare| {
            class
                .install(&this, Some(vol), spare)
                .and_then(|()| class.refill_or_need(vol, h, zero))
        })?;
        Ok(Answer::Discarded)
    }

    /// Where the object of `handle` is, with its pages referenced: while
    /// the references live, neither migration nor compaction moves it.
    #[cfg(CONFIG_ZPOOL)]
    pub(crate) fn map(&self, handle: u64, _mode: MapMode) -> Result<Object> {
        let (h, lock) = self.class_of(handle)?;
        let class = lock.lock();
        let (size, zspage, obj) = class.lookup(h)?;
        let zs = class.zspage(zspage).ok_or(EIO)?;
        zs.object(obj as usize * class.shape.size, size as usize)
    }

    /// Internal compaction of every class until `budget` pages are freed;
    /// returns the pages freed. Never allocates: the shrinker calls it.
    pub(crate) fn compact(&self, budget: u64) -> u64 {
        let mut freed = 0;
        for (i, lock) in self.classes_locks().enumerate() {
            let vol = self.vol(i);
            while freed < budget {
                let empty = lock.lock().compact_step(self, vol);
                let Some(zs) = empty else { break };
                freed += zs.nr_pages as u64;
                // Released outside the lock, without sleeping.
                drop(zs);
            }
        }
        self.stats.compact_freed.fetch_add(freed, Ordering::Relaxed);
        freed
    }

    /// Frees, until `budget` pages are freed, the zspages whose objects are
    /// all volatile, by discarding them: nothing is copied. Returns the
    /// pages freed.
    pub(crate) fn discard_volatile(&self, budget: u64) -> u64 {
        let mut freed = 0;
        for (i, lock) in self.classes_locks().enumerate() {
            let Some(vol) = self.vol(i) else {
                break;
            };
            while freed < budget && vol.nr_volatile() > 0 {
                let mut dead = None;
                if !lock.lock().discard_step(self, vol, &mut dead) {
                    break;
                }
                if let Some(zs) = dead {
                    freed += zs.nr_pages as u64;
                    // Released outside the lock, without sleeping.
                    drop(zs);
                }
            }
        }
        self.stats.discard_pages.fetch_add(freed, Ordering::Relaxed);
        freed
    }

    pub(crate) fn stats(&self) -> UStats {
        let (mut objs, mut bytes, mut zspages, mut volatile) = (0, 0, 0, 0);
        for (i, lock) in self.classes_locks().enumerate() {
            let c = lock.lock();
            objs += c.objs;
            bytes += c.bytes;
            zspages += c.nr_zspages;
            volatile += self.vol(i).map_or(0, |v| v.nr_volatile());
        }
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let s = &self.stats;
        UStats {
            pool_id: self.id as u32,
            nr_classes: self.classes.len() as u32,
            objs,
            bytes,
            pages: self.total_pages(),
            zspages,
            isolate: self.stats.isolate.load(Ordering::Relaxed),
            migrate: self.stats.migrate.load(Ordering::Relaxed),
            migrate_fail: self.stats.migrate_fail.load(Ordering::Relaxed),
            putback: self.stats.putback.load(Ordering::Relaxed),
            compact_freed: self.stats.compact_freed.load(Ordering::Relaxed),
            shrink_freed: self.stats.shrink_freed.load(Ordering::Relaxed),
            release_busy: self.stats.release_busy.load(Ordering::Relaxed),
            volatile_objs: volatile,
            made_volatile: load(&s.made_volatile),
            kept: load(&s.kept),
            discard_shrink: load(&s.discard_shrink),
            discard_migrate: load(&s.discard_migrate),
            discard_compact: load(&s.discard_compact),
            discard_pages: load(&s.discard_pages),
            migrate_copied: load(&s.migrate_copied),
            compact_moved: load(&s.compact_moved),
        }
    }

    /// Frees every object and page. The pages' private data hold references
    /// to the pool, so this is what lets the pool itself be freed.
    pub(crate) fn destroy(&self) {
        for lock in self.classes_locks() {
            let all = lock.lock().take_all();
            // Released outside the lock: each page is locked (sleeping:
            // teardown runs in process context), cleared movable and put.
            drop(all);
        }
        let pages = self.total_pages();
        self.sub_pages(pages);
    }
}

/// Under memory pressure, the pool gives pages back: first the zspages
/// whose objects are all volatile (discarded, nothing copied), then by
/// internal compaction (which discards the volatile objects it meets).
impl Shrinker for Pool {
    /// 128 KiB a scan: reclaim of a little takes a little, where the
    /// default batch (512 KiB) would empty half of a small pool at once.
    const BATCH: usize = 32;

    fn count(&self) -> usize {
        self.classes_locks()
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
