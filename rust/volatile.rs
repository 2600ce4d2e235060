// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Objects whose contents their user may let go: stable, volatile, discarded.
//!
//! An object is *stable* while its user needs its contents, and *volatile*
//! while the user lets whoever needs the memory throw them away; the one
//! who does (the *discarder*: a shrinker, compaction, migration) takes only
//! volatile objects, and leaves them *discarded*. This is the page state
//! scheme of guest page hinting (Schwidefsky et al., "Guest page hinting",
//! linux-mm, 2006: unused, volatile, stable), per object instead of per
//! page. The user raises an object to stable before it reads or writes it,
//! and lowers it to volatile after, without any lock; the discarder holds
//! its owner's lock, proven by `&mut` [`Discarder`].
//!
//! # The state word
//!
//! Each object has one 64-bit word, changed only by compare-and-swap or by
//! its owner under its lock:
//!
//! ```text
//!  63   50 49 48 47        32 31                       0
//! +-------+-----+------------+--------------------------+
//! |   0   |state|    tag     |          place           |
//! +-------+-----+------------+--------------------------+
//! ```
//!
//! The tag tells a stale handle from the object now there (a generation);
//! the place is where the owner keeps the contents (for rzpool, a zspage),
//! whose count of volatile objects ([`VolatileSet::volatile_in`]) lets the
//! discarder find candidates without a walk over objects.
//!
//! # Transitions
//!
//! ```text
//!          owner: alloc                user: make_volatile (CAS)
//!  Free  ---------------->  Stable  ------------------------->  Volatile
//!   ^                        ^   ^  <-------------------------      |
//!   |  owner: free           |   |     user: make_stable (CAS)      | discarder:
//!   +--- (from any state)    |   |                                  | try_discard
//!                            |   +--------------------------------+ | (CAS, under
//!                            |     owner: refill (after the user    v  the lock)
//!                            |     saw make_stable say Discarded)  Discarded
//! ```
//!
//! Why each is safe without a lock on the user's side:
//!
//! - **make_volatile** (Stable → Volatile): the user adds one to the
//!   place's count, then swaps the word from the exact value it read. If
//!   the swap fails (the owner moved or freed the object, or another
//!   transition won), it takes the one back and starts again from the new
//!   word. The count is raised *before* the swap with release ordering, so
//!   a discarder that acquires the volatile word also sees the raised count
//!   and never takes it below the truth: for every place, the count is at
//!   least the number of volatile objects there, and equal to it whenever
//!   no transition is half done.
//! - **make_stable** (Volatile → Stable): one swap. The discarder's swap
//!   (Volatile → Discarded) and this one start from the same word, so
//!   exactly one of them wins: either the user keeps the object with its
//!   contents (nothing was freed: the discarder frees storage only after
//!   its own swap won) or it reads Discarded, and the owner gives it an
//!   empty object of the same size (refill). Never torn contents, never a
//!   lost stable object. The count is lowered after the swap; meanwhile it
//!   is one too high, which only makes a discarder look in vain.
//! - **try_discard** (Volatile → Discarded), under the owner's lock (`&mut
//!   Discarder`): a swap from the volatile word it read, then the count is
//!   lowered; the owner frees the storage after that.
//! - **free**, **alloc**, **refill**, **move** (the owner, under its lock):
//!   an exchange of the whole word. A user's swap that raced with it fails
//!   and retries on the new word, which gives a stale handle `ENOENT`.
//!
//! Reading or writing the contents needs a [`Stable`] proof, which borrows
//! the [`Discarder`]: while it lives, nothing can be discarded. The user may
//! still make the object volatile meanwhile (its own race), but its contents
//! stay intact until the proof is gone.
//!
//! # Examples
//!
//! `samples/rzpool/pool/class.rs` keeps a [`VolatileSet`] per size class
//! and discards under its lock ([`Discarder`]); `samples/rzpool/kapi.rs`
//! makes objects volatile and stable again for C users.

use crate::rmm::atomic_table::{self, AtomicTable};
use crate::rmm::{page::Gfp, percpu::PerCpuCounters};
use core::{
    marker::PhantomData,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};
use kernel::{alloc::Flags, prelude::*};

/// The state of an object.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum State {
    /// No object: the index is free.
    Free = 0,
    /// The user needs the contents: the discarder leaves them alone.
    Stable = 1,
    /// The discarder may throw the contents away.
    Volatile = 2,
    /// The contents were thrown away; the user has not yet heard of it.
    Discarded = 3,
}

/// What `make_stable` found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Answer {
    /// The object is stable again, its contents intact.
    Kept,
    /// Its contents were discarded: the owner must refill it (an empty
    /// object of the same size) or the user free it.
    Discarded,
}

/// No place: a free or discarded object.
pub const NO_PLACE: u32 = u32::MAX;

/// The most objects (and places) of a set.
pub const MAX_OBJECTS: usize = atomic_table::MAX_LEN;

const TAG_SHIFT: u32 = 32;
const STATE_SHIFT: u32 = 48;

/// A decoded state word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Word {
    /// The object's state.
    pub state: State,
    /// Its generation.
    pub tag: u16,
    /// Where the owner keeps it.
    pub place: u32,
}

impl Word {
    #[inline]
    fn encode(self) -> u64 {
        (self.state as u64) << STATE_SHIFT | (self.tag as u64) << TAG_SHIFT | self.place as u64
    }

    /// The word, if it is of a live object with tag `tag`: `ENOENT` for a
    /// free object or another tag (a stale or forged handle).
    #[inline]
    fn of(self, tag: u16) -> Result<Self> {
        if self.state == State::Free || self.tag != tag {
            return Err(ENOENT);
        }
        Ok(self)
    }

    #[inline]
    fn decode(w: u64) -> Self {
        let state = match (w >> STATE_SHIFT) & 3 {
            0 => State::Free,
            1 => State::Stable,
            2 => State::Volatile,
            _ => State::Discarded,
        };
        Self {
            state,
            tag: (w >> TAG_SHIFT) as u16,
            place: w as u32,
        }
    }
}

/// The state words of a set of objects, and the count of volatile objects
/// of each place.
///
/// # Invariants
///
/// `id` is the id of the one [`Discarder`] made with the set. Every
/// `counts[p]` is at least the number of objects whose word is volatile
/// with place `p` (see the module documentation).
pub struct VolatileSet {
    words: AtomicTable<AtomicU64>,
    counts: AtomicTable<AtomicU32>,
    /// Per CPU: volatile objects (a hint: see [`Self::nr_volatile`]),
    /// transitions to volatile, and answers `Kept`.
    stats: PerCpuCounters<3>,
    id: u32,
}

const VOLATILE: usize = 0;
const MADE_VOLATILE: usize = 1;
const KEPT: usize = 2;

/// The right to discard, and to change state words as their owner: the
/// owner keeps it under the lock that guards its objects' storage.
///
/// It is neither `Clone` nor `Copy`: `&mut Discarder` is exclusive, and a
/// [`Stable`] proof borrows it.
pub struct Discarder {
    id: u32,
}

/// Proof that an object was stable and cannot be discarded while this
/// lives: its contents may be read and written.
pub struct Stable<'a> {
    index: usize,
    _discarder: PhantomData<&'a Discarder>,
}

impl Stable<'_> {
    /// The object proven stable.
    pub fn index(&self) -> usize {
        self.index
    }
}

/// Table levels allocated for [`VolatileSet::install`], outside any lock.
#[derive(Default)]
pub struct Spare {
    words: atomic_table::Spare<AtomicU64>,
    counts: atomic_table::Spare<AtomicU32>,
}

impl VolatileSet {
    /// An empty set and its discarder; its counters are allocated with
    /// `gfp`.
    pub fn new(gfp: Gfp) -> Result<(Self, Discarder)> {
        static NEXT_ID: AtomicU32 = AtomicU32::new(1);
        let stats = PerCpuCounters::new(gfp)?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        // INVARIANT: the discarder gets the same id; no word is volatile.
        Ok((
            Self {
                words: AtomicTable::new(),
                counts: AtomicTable::new(),
                stats,
                id,
            },
            Discarder { id },
        ))
    }

    /// Whether object `i` has a word (its table chunk is installed).
    #[inline]
    pub fn has_object(&self, i: usize) -> bool {
        self.words.get(i).is_some()
    }

    /// Whether place `p` has a count.
    #[inline]
    pub fn has_place(&self, p: u32) -> bool {
        self.counts.get(p as usize).is_some()
    }

    /// Allocates, with `flags`, what object `i` (if any) and place `p` (if
    /// any) need; may sleep if `flags` allow.
    pub fn prepare(
        &self,
        spare: &mut Spare,
        object: Option<usize>,
        place: Option<u32>,
        flags: Flags,
    ) -> Result {
        if let Some(i) = object {
            spare.words.prepare(&self.words, i, flags)?;
        }
        if let Some(p) = place {
            spare.counts.prepare(&self.counts, p as usize, flags)?;
        }
        Ok(())
    }

    /// Installs what `spare` holds for `object` and `place`, returning
    /// whether both exist now.
    ///
    /// Never allocates nor frees (any context).
    pub fn install(&self, spare: &mut Spare, object: Option<usize>, place: Option<u32>) -> bool {
        let o = object.map_or(true, |i| self.words.install(i, &mut spare.words));
        let p = place.map_or(true, |p| self.counts.install(p as usize, &mut spare.counts));
        o && p
    }

    /// Volatile objects of the set: a hint for the discarder.
    ///
    /// Exact when no transition runs meanwhile (a sum of per-CPU counts,
    /// read one CPU after another while they may change).
    pub fn nr_volatile(&self) -> u64 {
        self.stats.sum::<VOLATILE>().max(0) as u64
    }

    /// Successful [`Self::make_volatile`] calls so far.
    pub fn made_volatile(&self) -> u64 {
        self.stats.sum::<MADE_VOLATILE>().max(0) as u64
    }

    /// [`Self::make_stable`] answers [`Answer::Kept`] so far.
    pub fn kept(&self) -> u64 {
        self.stats.sum::<KEPT>().max(0) as u64
    }

    /// Volatile objects at place `p`, at most (a hint for the discarder).
    #[inline]
    pub fn volatile_in(&self, p: u32) -> u32 {
        self.counts
            .get(p as usize)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    #[inline]
    fn word(&self, i: usize) -> Result<&AtomicU64> {
        self.words.get(i).ok_or(ENOENT)
    }

    #[inline]
    fn count(&self, p: u32) -> Result<&AtomicU32> {
        self.counts.get(p as usize).ok_or(EIO)
    }

    fn check(&self, d: &Discarder) -> Result {
        if d.id == self.id {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    /// Lets the discarder take object `i` (tag `tag`): Stable → Volatile,
    /// without a lock. `ENOENT` for a free object or another tag,
    /// `EALREADY` if it is not stable.
    pub fn make_volatile(&self, i: usize, tag: u16) -> Result {
        let word = self.word(i)?;
        let mut cur = word.load(Ordering::Relaxed);
        loop {
            let w = Word::decode(cur).of(tag)?;
            if w.state != State::Stable {
                return Err(crate::rmm::ealready());
            }
            let count = self.count(w.place)?;
            // The place's count raised first: the release swap below
            // publishes it to the discarder that acquires the volatile
            // word, which lowers it only after.
            count.fetch_add(1, Ordering::Relaxed);
            let new = Word {
                state: State::Volatile,
                ..w
            };
            match word.compare_exchange(cur, new.encode(), Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => {
                    self.stats.add::<VOLATILE>(1);
                    self.stats.add::<MADE_VOLATILE>(1);
                    return Ok(());
                }
                Err(now) => {
                    count.fetch_sub(1, Ordering::Relaxed);
                    cur = now;
                }
            }
        }
    }

    /// Takes object `i` back from the discarder, without a lock.
    ///
    /// Volatile → Stable (`Kept`), or `Discarded` if the discarder won.
    /// `ENOENT` for a free object or another tag, `EALREADY` if it is stable.
    pub fn make_stable(&self, i: usize, tag: u16) -> Result<Answer> {
        let word = self.word(i)?;
        let mut cur = word.load(Ordering::Acquire);
        loop {
            let w = Word::decode(cur).of(tag)?;
            match w.state {
                State::Stable => return Err(crate::rmm::ealready()),
                State::Discarded => return Ok(Answer::Discarded),
                _ => {}
            }
            let new = Word {
                state: State::Stable,
                ..w
            };
            match word.compare_exchange(cur, new.encode(), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if let Ok(count) = self.count(w.place) {
                        count.fetch_sub(1, Ordering::Relaxed);
                    }
                    self.stats.add::<VOLATILE>(-1);
                    self.stats.add::<KEPT>(1);
                    return Ok(Answer::Kept);
                }
                Err(now) => cur = now,
            }
        }
    }

    /// The word of object `i`, for its owner.
    pub fn get(&self, d: &Discarder, i: usize) -> Result<Word> {
        self.check(d)?;
        Ok(Word::decode(self.word(i)?.load(Ordering::Acquire)))
    }

    /// Proof that object `i` (tag `tag`) is stable, for as long as the
    /// discarder is borrowed.
    ///
    /// `ENOENT` for a free object or another tag, `ESTALE` for a volatile or
    /// discarded one.
    pub fn stable<'a>(&self, d: &'a Discarder, i: usize, tag: u16) -> Result<Stable<'a>> {
        let w = self.get(d, i)?.of(tag)?;
        if w.state != State::Stable {
            return Err(crate::rmm::estale());
        }
        Ok(Stable {
            index: i,
            _discarder: PhantomData,
        })
    }

    /// Makes object `i` stable with tag `tag` at place `p`: a new object, or
    /// the refill of a discarded one.
    ///
    /// `EBUSY` (nothing changed) if it is neither free nor discarded.
    pub fn set_stable(&self, d: &mut Discarder, i: usize, tag: u16, p: u32) -> Result {
        self.check(d)?;
        let word = self.word(i)?;
        let cur = word.load(Ordering::Acquire);
        if !matches!(Word::decode(cur).state, State::Free | State::Discarded) {
            return Err(EBUSY);
        }
        let new = Word {
            state: State::Stable,
            tag,
            place: p,
        };
        // Only the owner changes a free or discarded word.
        word.store(new.encode(), Ordering::Release);
        Ok(())
    }

    /// Frees object `i`, in any state, and returns the state it had.
    ///
    /// The next object there gets tag `tag`.
    pub fn set_free(&self, d: &mut Discarder, i: usize, tag: u16) -> Result<State> {
        self.check(d)?;
        let new = Word {
            state: State::Free,
            tag,
            place: NO_PLACE,
        };
        let old = Word::decode(self.word(i)?.swap(new.encode(), Ordering::AcqRel));
        if old.state == State::Volatile {
            self.lower(old.place);
        }
        Ok(old.state)
    }

    fn lower(&self, p: u32) {
        if let Ok(count) = self.count(p) {
            count.fetch_sub(1, Ordering::Relaxed);
        }
        self.stats.add::<VOLATILE>(-1);
    }

    /// Discards object `i` if it is volatile (Volatile → Discarded), and
    /// returns the place it was at.
    ///
    /// The owner frees its storage after this.
    pub fn try_discard(&self, d: &mut Discarder, i: usize) -> Option<u32> {
        self.check(d).ok()?;
        let word = self.word(i).ok()?;
        let cur = word.load(Ordering::Acquire);
        let w = Word::decode(cur);
        if w.state != State::Volatile {
            return None;
        }
        let new = Word {
            state: State::Discarded,
            place: NO_PLACE,
            ..w
        };
        word.compare_exchange(cur, new.encode(), Ordering::AcqRel, Ordering::Relaxed)
            .ok()?;
        self.lower(w.place);
        Some(w.place)
    }

    /// Records that the owner moved object `i` (stable or volatile) to
    /// place `p`. `EINVAL` if it is free or discarded.
    pub fn move_to(&self, d: &mut Discarder, i: usize, p: u32) -> Result {
        self.check(d)?;
        let word = self.word(i)?;
        let new_count = self.count(p)?;
        let mut cur = word.load(Ordering::Acquire);
        loop {
            let w = Word::decode(cur);
            if !matches!(w.state, State::Stable | State::Volatile) {
                return Err(EINVAL);
            }
            let volatile = w.state == State::Volatile;
            if volatile {
                new_count.fetch_add(1, Ordering::Relaxed);
            }
            let new = Word { place: p, ..w };
            match word.compare_exchange(cur, new.encode(), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if volatile {
                        if let Ok(old) = self.count(w.place) {
                            old.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                    return Ok(());
                }
                Err(now) => {
                    if volatile {
                        new_count.fetch_sub(1, Ordering::Relaxed);
                    }
                    cur = now;
                }
            }
        }
    }
}
