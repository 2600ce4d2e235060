// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a `Migrated` token kept beyond its callback, to be
// returned later without a commit.
// expect: lifetime may not live long enough|borrowed data escapes
// compiles with: s/-> Migrated<'static>/-> Migrated<'_>/

use rmm::movable::{MigrateMode, Migrated, Migration, MovableOperations, MovablePage, Outcome};

/// Where a driver would try to keep a token for later.
fn keep(token: Migrated<'_>) -> Migrated<'static> {
    token
}

struct KeepsToken;

impl MovableOperations for KeepsToken {
    type Private = KBox<u32>;

    fn migrate_page<'a>(
        _private: &'a u32,
        migration: Migration<'a, Self>,
        _mode: MigrateMode,
    ) -> Outcome<'a> {
        let mut page: Option<MovablePage<Self>> = None;
        let Some(page) = page.as_mut() else {
            return Err(migration.refuse(EAGAIN));
        };
        let done = migration.commit(page)?;
        Ok(keep(done))
    }
}

fn case() -> Result {
    Ok(())
}
