// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Must not compile: a migrate callback that commits and then reports
//! failure (the VM would overwrite `dst->private` that the commit set).
// expect: expected `Refused<'_>`, found `Error`|expected `Refused<'a>`, found `Error`


use kernel::prelude::*;

#[path = "../../rust/rmm.rs"]
mod rmm;

use rmm::movable::{Migration, MovableOperations, MovablePage, Outcome};

module! {
    type: Cf,
    name: "cf",
    author: "The rmm authors",
    description: "compile-fail case",
    license: "GPL",
}

struct Ops;

impl MovableOperations for Ops {
    type Private = KBox<MovablePage<Ops>>;

    fn migrate_page<'a>(
        _private: &'a MovablePage<Ops>,
        migration: Migration<'a, Self>,
        _mode: rmm::movable::MigrateMode,
    ) -> Outcome<'a> {
        let mut page: Option<MovablePage<Ops>> = None;
        let page = page.as_mut().unwrap();
        migration.commit(page)?;
        Err(EAGAIN)
    }
}

struct Cf;

impl kernel::Module for Cf {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Cf)
    }
}
