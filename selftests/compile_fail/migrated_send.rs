// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Must not compile: a `Migrated` token handed to another thread (it is
//! neither `Send` nor `Sync`, so no lock or channel can keep it).
// expect: cannot be sent between threads safely


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

fn send_away<T: Send>(_t: T) {}

impl MovableOperations for Ops {
    type Private = KBox<u32>;

    fn migrate_page<'a>(
        _private: &'a u32,
        migration: Migration<'a, Self>,
        _mode: rmm::movable::MigrateMode,
    ) -> Outcome<'a> {
        let mut page: Option<MovablePage<Ops>> = None;
        let done: Migrated<'a> = migration.commit(page.as_mut().unwrap())?;
        send_away(done);
        Err(todo!())
    }
}

struct Cf;

impl kernel::Module for Cf {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Cf)
    }
}
