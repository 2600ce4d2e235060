// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! One size class of a pool: its tables of slots and zspages, its fullness
//! lists, and what alloc, free, lookup, compaction and discards do to them.
//!
//! # Lock order
//!
//! Everything here runs under the class's lock, which the caller holds (2
//! in the lock order of `pool/mod.rs`); the only lock taken here is a page
//! lock, by `trylock` (3), when an empty zspage is released.

use super::{Need, Pool, Slot, Spare, ZsSlot};
use crate::rmm::{
    page::{LockedPage, PAGE_SIZE},
    volatile::{self, Discarder, VolatileSet},
};
use crate::{
    handle::{Handle, MAX_SLOTS},
    shape::{Shape, MAX_SIZE},
    table::Table,
    zspage::{DeadZsPage, ZsPage, NONE},
};
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// Fullness groups: 0..3 by quarters of use, 4 for full.
pub(crate) const NR_GROUPS: usize = 5;
const FULL: usize = NR_GROUPS - 1;
/// What a new object of the device holds.
static ZEROES: [u8; MAX_SIZE] = [0; MAX_SIZE];

/// Who discards: for the statistics.
#[derive(Clone, Copy)]
enum Discard {
    Shrink,
    Migrate,
    Compact,
}

/// One size class of a pool: the state behind its lock.
///
/// # Invariants
///
/// `slots` and `zspages` are the class's handle slot and zspage tables;
/// their free entries are linked from `free_slot` and `free_zspage`. A used
/// slot names a used zspage and one of its used objects, whose map entry
/// names the slot back. Every used zspage is on exactly one fullness list,
/// the one `group_of` gives for its use. `nr_zspages`, `nr_objs` and `bytes`
/// are the sums over the used zspages and slots.
pub(crate) struct Class {
    index: u16,
    pub(crate) shape: Shape,
    slots: Table<Slot>,
    free_slot: u32,
    pub(crate) zspages: Table<ZsSlot>,
    free_zspage: u32,
    /// Heads of the fullness lists.
    pub(crate) groups: [u32; NR_GROUPS],
    pub(crate) nr_zspages: u64,
    pub(crate) nr_objs: u64,
    pub(super) bytes: u64,
    /// The right to discard this class's volatile objects and to write
    /// their state words (pools with object states).
    pub(super) disc: Option<Discarder>,
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

// Every slot of a class has a state word (pools with object states).
const _: () = assert!(MAX_SLOTS <= volatile::MAX_OBJECTS);

/// Bytes moved at a time by internal compaction, through the stack.
const COPY_CHUNK: usize = 256;

impl Class {
    pub(super) fn new(index: usize, shape: Shape, disc: Option<Discarder>) -> Self {
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
            nr_objs: 0,
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
    pub(super) fn used(&mut self, id: u32) -> Option<&mut ZsPage> {
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
    pub(super) fn lookup(&self, h: Handle) -> Result<(u32, u32, u16)> {
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
        self.nr_objs += 1;
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
    pub(super) fn install(
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
    pub(super) fn alloc_or_need(
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
    pub(super) fn unreserve(&mut self, id: u32) {
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
    pub(super) fn free(
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
        self.nr_objs -= 1;
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
        self.nr_objs -= 1;
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
    pub(super) fn locate(&self, h: Handle, offset: usize, len: usize) -> Result<(u32, usize)> {
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
            .saturating_sub(self.nr_objs.saturating_sub(volatile))
    }

    /// Pages a full internal compaction would free now.
    pub(super) fn freeable_pages(&self, vol: Option<&VolatileSet>) -> u64 {
        let objs = self.shape.objs as u64;
        let free = self.room(vol);
        // `objs` is never 0; `checked_div` keeps a panic path out.
        free.checked_div(objs).unwrap_or(0) * self.shape.pages as u64
    }

    /// One step of internal compaction: empties the sparsest zspage that
    /// none maps, discarding its volatile objects and moving the others
    /// into the fullest zspages, and returns it. `None` when no zspage can
    /// be emptied.
    pub(super) fn compact_step(
        &mut self,
        pool: &Pool,
        vol: Option<&VolatileSet>,
    ) -> Option<DeadZsPage> {
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
    pub(super) fn refill_or_need(
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
        self.nr_objs += 1;
        self.bytes += size as u64;
        let _ = self.regroup(id);
        Ok(())
    }

    /// One step of the shrinker's discard pass: discards the objects of the
    /// first zspage (sparsest first) whose count says they may all be
    /// volatile, and takes it out into `dead` if that emptied it. `false`
    /// when no zspage is a candidate.
    pub(super) fn discard_step(
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
    pub(super) fn drop_volatile_on(
        &mut self,
        pool: &Pool,
        vol: &VolatileSet,
        id: u32,
        page: &LockedPage<'_>,
    ) {
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
    pub(super) fn take_all(&mut self) -> Table<ZsSlot> {
        self.free_slot = NONE;
        self.free_zspage = NONE;
        self.nr_objs = 0;
        self.bytes = 0;
        self.nr_zspages = 0;
        self.groups = [NONE; NR_GROUPS];
        drop(self.slots.take());
        self.zspages.take()
    }
}
