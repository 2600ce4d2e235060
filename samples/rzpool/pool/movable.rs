// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! The movable operations of rzpool pages: isolation, migration and
//! putback of one page of a zspage.
//!
//! # Lock order
//!
//! The VM holds the page locked around every callback (1 in the lock order
//! of `pool/mod.rs`); `migrate_page` takes the one class lock of the page's
//! tag under it (2).

use super::Pool;
use crate::handle::PageTag;
use crate::rmm::{
    movable::{IsolateMode, MigrateMode, Migration, MovableOperations, Outcome},
    page::LockedPage,
};
use core::sync::atomic::Ordering;
use kernel::{
    prelude::*,
    sync::{Arc, ArcBorrow},
};

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
        let res = match pool.classes.get(tag.class as usize) {
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
