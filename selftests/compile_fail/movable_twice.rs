// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Must not compile: one page made movable twice (its `NewPage` is consumed
//! by the first `MovablePage::new`).
// expect: use of moved value: `page`


use kernel::prelude::*;

#[path = "../../rust/rmm.rs"]
mod rmm;

use rmm::{
    movable::{Migration, MovableOperations, MovablePage, Outcome},
    page::{Gfp, NewPage},
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

fn twice() -> Result<(MovablePage<Ops>, MovablePage<Ops>)> {
    let page = NewPage::alloc_movable(Gfp::KERNEL, false)?;
    let a = MovablePage::new(page, KBox::new(0, GFP_KERNEL)?, 0)?;
    let b = MovablePage::new(page, KBox::new(1, GFP_KERNEL)?, 0)?;
    Ok((a, b))
}

struct Cf;

impl kernel::Module for Cf {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        drop(twice());
        Ok(Cf)
    }
}
