// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Must not compile: a user page (from GUP) made movable. Only a `NewPage`
//! from the page allocator wrapper can become a `MovablePage`.
// expect: expected `NewPage`, found `PageRef`


use kernel::prelude::*;

#[path = "../../rust/rmm.rs"]
mod rmm;

use rmm::{
    mm::MmUser,
    movable::{Migration, MovableOperations, MovablePage, Outcome},
};

module! {
    type: Cf,
    name: "cf",
    author: "The rmm authors",
    description: "compile-fail case",
    license: "GPL",
}

struct Ops;

impl MovableOperations for Ops {
    type Private = KBox<u32>;

    fn migrate_page<'a>(
        _private: &'a u32,
        migration: Migration<'a, Self>,
        _mode: rmm::movable::MigrateMode,
    ) -> Outcome<'a> {
        Err(migration.refuse(EAGAIN))
    }
}

fn make_user_page_movable(addr: usize) -> Result<MovablePage<Ops>> {
    let mm = MmUser::current().ok_or(EINVAL)?;
    let page = mm.read_lock().get_user_page(addr, false)?;
    MovablePage::new(page, KBox::new(0, GFP_KERNEL)?, 0)
}

struct Cf;

impl kernel::Module for Cf {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        drop(make_user_page_movable(0));
        Ok(Cf)
    }
}
