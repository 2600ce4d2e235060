// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! The crate root every compile-fail case is appended to (by
//! `scripts/compile-fail.sh`): a module built exactly as a driver of
//! `samples/` is (the rmm tree as `mod rmm`, `-Dunsafe_code`), whose `init`
//! calls the case's `case()`. Each case must compile once its offending
//! lines are gone.

use kernel::prelude::*;

#[path = "../../rust/rmm.rs"]
mod rmm;

module! {
    type: Cf,
    name: "cf",
    author: "The rmm authors",
    description: "compile-fail case",
    license: "GPL",
}

struct Cf;

impl kernel::Module for Cf {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        case()?;
        Ok(Cf)
    }
}

/// Movable operations that refuse every migration, for the cases that only
/// need a type to make pages movable with.
struct Ops;

impl rmm::movable::MovableOperations for Ops {
    type Private = KBox<u32>;

    fn migrate_page<'a>(
        _private: &'a u32,
        migration: rmm::movable::Migration<'a, Self>,
        _mode: rmm::movable::MigrateMode,
    ) -> rmm::movable::Outcome<'a> {
        Err(migration.refuse(EAGAIN))
    }
}

// The case follows.
