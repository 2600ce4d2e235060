// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a `Migrated` token handed to another thread (it is
// neither `Send` nor `Sync`, so no lock or channel can keep it).
// expect: cannot be sent between threads safely
// compiles with: s/Ok(via_another_thread(done))/Ok(done)/

use rmm::movable::{MigrateMode, Migrated, Migration, MovableOperations, MovablePage, Outcome};

/// Where a driver would hand a token to another thread (a work item, say).
fn via_another_thread<T: Send>(t: T) -> T {
    t
}

struct SendsToken;

impl MovableOperations for SendsToken {
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
        let done: Migrated<'a> = migration.commit(page)?;
        Ok(via_another_thread(done))
    }
}

fn case() -> Result {
    Ok(())
}
