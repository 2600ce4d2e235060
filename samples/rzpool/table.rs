// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! A table that grows in chunks, for the slot and zspage tables.
//!
//! zswap allocates from reclaim with `GFP_NOWAIT`-like flags, where neither
//! `vmalloc` nor a large `kmalloc` may be relied on: a flat table of a
//! million slots could not grow there. This one grows by chunks of
//! `CHUNK` entries (a page or less each), and its directory of chunks is
//! small (8 bytes per chunk). Both are allocated outside the class lock
//! ([`Table::prepare`]) and installed under it by code that cannot fail nor
//! allocate ([`Table::install`]).

use crate::rmm::vec::{append_within_capacity, push_within_capacity};
use kernel::{alloc::Flags, prelude::*};

/// Entries per chunk.
pub(crate) const CHUNK: usize = 256;

/// What a full table needs before it can take another entry.
#[derive(Clone, Copy)]
pub(crate) enum Grow {
    /// A chunk (the directory has room for it).
    Chunk,
    /// A directory with room for this many chunks.
    Dir(usize),
}

/// Room prepared outside the lock for [`Table::install`]; what was not
/// used, or what it replaced, is dropped by the caller outside the lock.
pub(crate) struct Spare<T> {
    chunk: Option<KVec<T>>,
    dir: Option<KVec<KVec<T>>>,
}

impl<T> Default for Spare<T> {
    fn default() -> Self {
        Self {
            chunk: None,
            dir: None,
        }
    }
}

/// # Invariants
///
/// Every chunk has capacity `CHUNK`; all but the last are full; `len` is
/// the number of entries.
pub(crate) struct Table<T> {
    chunks: KVec<KVec<T>>,
    len: usize,
}

impl<T> Table<T> {
    pub(crate) const fn new() -> Self {
        Self {
            chunks: KVec::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)
    }

    /// What `push` needs first, if anything.
    #[inline]
    pub(crate) fn needs(&self) -> Option<Grow> {
        if self.len < self.chunks.len() * CHUNK {
            None
        } else if self.chunks.len() < self.chunks.capacity() {
            Some(Grow::Chunk)
        } else {
            Some(Grow::Dir((self.chunks.capacity() * 2).max(8)))
        }
    }

    /// Allocates what `grow` asks for (outside any spinlock) into `spare`.
    pub(crate) fn prepare(grow: Grow, flags: Flags, spare: &mut Spare<T>) -> Result {
        match grow {
            Grow::Chunk => spare.chunk = Some(KVec::with_capacity(CHUNK, flags)?),
            Grow::Dir(n) => spare.dir = Some(KVec::with_capacity(n, flags)?),
        }
        Ok(())
    }

    /// Installs what `spare` holds and the table can use; never allocates
    /// nor drops an entry. The directory it replaces goes back to `spare`.
    pub(crate) fn install(&mut self, spare: &mut Spare<T>) {
        if let Some(mut dir) = spare.dir.take() {
            if dir.capacity() > self.chunks.capacity()
                && append_within_capacity(&mut dir, &mut self.chunks).is_ok()
            {
                core::mem::swap(&mut self.chunks, &mut dir);
            }
            spare.dir = Some(dir);
        }
        if let Some(chunk) = spare.chunk.take() {
            if self.needs().is_none() {
                spare.chunk = Some(chunk);
            } else if let Err(chunk) = push_within_capacity(&mut self.chunks, chunk) {
                spare.chunk = Some(chunk);
            }
        }
    }

    /// Appends `v` and returns its index, or gives it back if the table
    /// needs to grow first ([`Self::needs`]).
    pub(crate) fn push(&mut self, v: T) -> core::result::Result<usize, T> {
        if self.needs().is_some() {
            return Err(v);
        }
        let Some(chunk) = self.chunks.last_mut() else {
            return Err(v);
        };
        push_within_capacity(chunk, v)?;
        self.len += 1;
        Ok(self.len - 1)
    }

    /// Empties the table, returning its entries (to be dropped outside the
    /// lock).
    pub(crate) fn take(&mut self) -> Self {
        core::mem::replace(self, Self::new())
    }

    /// The entries from `start`, at most `n`, in order.
    pub(crate) fn range(&self, start: usize, n: usize) -> impl Iterator<Item = &T> {
        (start..self.len.min(start.saturating_add(n))).filter_map(move |i| self.get(i))
    }
}
