// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Must not compile: a `Migrated` token kept beyond its callback, to be
//! returned later without a commit.
// expect: lifetime may not live long enough|borrowed data escapes


use kernel::prelude::*;

#[path = "../../rust/rmm.rs"]
mod rmm;

use rmm::movable::{Migrated, Migration, MovableOperations, MovablePage, Outcome};

module! {
    type: Cf,
    name: "cf",
    author: "The rmm authors",
    description: "compile-fail case",
    license: "GPL",
}

struct Ops;

/// Where a driver would try to keep a token for later.
fn keep(token: Migrated<'_>) -> Migrated<'static> {
    token
}

impl MovableOperations for Ops {
    type Private = KBox<u32>;

    fn migrate_page<'a>(
        _private: &'a u32,
        migration: Migration<'a, Self>,
        _mode: rmm::movable::MigrateMode,
    ) -> Outcome<'a> {
        let mut page: Option<MovablePage<Ops>> = None;
        let done = migration.commit(page.as_mut().unwrap())?;
        let _kept = keep(done);
        Err(todo!())
    }
}

struct Cf;

impl kernel::Module for Cf {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Cf)
    }
}
