// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! The allocator core: a pool of size classes, each behind its own lock.
//!
//! # Lock order
//!
//! 1. page lock (held by the VM around every movable callback)
//! 2. one class lock (`Pool::classes[i]`, a spinlock); never two at once
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
//!
//! # Files
//!
//! This file holds the pool and what its users call; `class.rs` the state
//! of one size class and what alloc, free, compaction and discards do to
//! it, under its lock; `movable.rs` the callbacks of the pool's movable
//! pages (migration); `shrinker.rs` the shrinker and its registration;
//! `id.rs` the pool ids.

mod class;
mod id;
mod movable;
mod shrinker;

#[cfg(CONFIG_ZPOOL)]
use crate::rmm::zpool::{MapMode, Object};
use crate::rmm::{
    memcg::MemCgroup,
    page::{self, Gfp},
    volatile::{self, Answer, Stable, VolatileSet},
};
use crate::{
    handle::{Handle, PageTag},
    shape::{Shapes, MAX_SIZE},
    table::{Grow, Spare as TableSpare, Table},
    uapi::UStats,
    zspage::ZsPage,
};
use class::Class;
use core::sync::atomic::{AtomicU64, Ordering};
use id::PoolId;
use kernel::{
    alloc::Flags,
    new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, SpinLock},
};

pub(crate) use class::NR_GROUPS;
pub(crate) use movable::RzOps;
pub(crate) use shrinker::PoolShrinker;

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

/// A pool.
///
/// # Invariants
///
/// `classes[i]` is the state of size class `i`, whose shape is
/// `shapes.by_class[i]`; `pages` is the sum of the pages of every class's
/// zspages.
pub(crate) struct Pool {
    pub(crate) id: u16,
    /// Owns `id` while the pool lives.
    _id: PoolId,
    /// The shapes of the size classes, shared with every other pool.
    pub(crate) shapes: Arc<Shapes>,
    /// The size classes, one lock each, each in its own allocation (no
    /// false sharing).
    classes: KVec<Pin<KBox<SpinLock<Class>>>>,
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

/// Reads the object at byte `at` of `zs`: only with proof that it is
/// stable (it cannot be discarded meanwhile).
fn read_stable(zs: &ZsPage, _stable: &Stable<'_>, at: usize, out: &mut [u8]) -> Result {
    zs.read(at, out)
}

/// Writes the object at byte `at` of `zs`, with proof that it is stable.
fn write_stable(zs: &mut ZsPage, _stable: &Stable<'_>, at: usize, data: &[u8]) -> Result {
    zs.write(at, data)
}

impl Pool {
    /// A new pool with a class of each of `shapes`, charged to `memcg` if
    /// given; `states` gives its objects states (stable, volatile,
    /// discarded: see [`crate::rmm::volatile`]).
    pub(crate) fn new(
        shapes: Arc<Shapes>,
        memcg: Option<MemCgroup>,
        states: bool,
    ) -> Result<Arc<Self>> {
        let id = PoolId::new()?;
        let mut classes = KVec::with_capacity(shapes.len(), GFP_KERNEL)?;
        let mut vol = match states {
            true => Some(KVec::with_capacity(shapes.len(), GFP_KERNEL)?),
            false => None,
        };
        for (i, shape) in shapes.by_class.iter().enumerate() {
            let disc = match &mut vol {
                Some(vol) => {
                    let (set, disc) = VolatileSet::new(Gfp::KERNEL)?;
                    vol.push(set, GFP_KERNEL)?;
                    Some(disc)
                }
                None => None,
            };
            classes.push(
                KBox::pin_init(
                    new_spinlock!(Class::new(i, *shape, disc), "rzpool::Class"),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        Ok(Arc::new(
            Pool {
                id: id.get(),
                _id: id,
                shapes,
                classes,
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
        let lock = self.classes.get(h.class as usize).ok_or(ENOENT)?;
        Ok((h, lock))
    }

    /// The object states of class `index`, if the pool has states.
    #[inline]
    fn vol(&self, index: usize) -> Option<&VolatileSet> {
        self.vol.as_ref()?.get(index)
    }

    /// The class locks, for walks over the whole pool (statistics, debugfs,
    /// compaction): one at a time.
    pub(crate) fn class_locks(&self) -> impl Iterator<Item = &SpinLock<Class>> {
        self.classes.iter().map(|c| &**c)
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
        let index = this.shapes.class_of_size(size);
        let lock = this.classes.get(index).ok_or(EINVAL)?;
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
        let lock = this.classes.get(index).ok_or(EINVAL)?;
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
                        .and_then(|()| ZsPage::new(this, tag, &this.shapes.by_class[index], gfp))
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
        // An empty zspage comes out in `empty`, whose pages are released
        // where it goes out of scope, after the lock, in place: `drop(empty)`
        // would first move its 80 bytes (a `rep movs` on every free).
        let mut empty = None;
        let res = lock
            .lock()
            .free(self, self.vol(h.class as usize), h, &mut empty);
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
        self.states(h)?.make_volatile(h.slot as usize, h.gen)
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
        for (i, lock) in self.class_locks().enumerate() {
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
        for (i, lock) in self.class_locks().enumerate() {
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
        let (mut objs, mut bytes, mut zspages) = (0, 0, 0);
        let (mut volatile, mut made_volatile, mut kept) = (0, 0, 0);
        for (i, lock) in self.class_locks().enumerate() {
            let c = lock.lock();
            objs += c.nr_objs;
            bytes += c.bytes;
            zspages += c.nr_zspages;
            if let Some(v) = self.vol(i) {
                volatile += v.nr_volatile();
                made_volatile += v.made_volatile();
                kept += v.kept();
            }
        }
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let s = &self.stats;
        UStats {
            pool_id: self.id as u32,
            nr_classes: self.shapes.len() as u32,
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
            made_volatile,
            kept,
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
        for lock in self.class_locks() {
            let all = lock.lock().take_all();
            // Released outside the lock: each page is locked (sleeping:
            // teardown runs in process context), cleared movable and put.
            drop(all);
        }
        let pages = self.total_pages();
        self.sub_pages(pages);
    }
}
