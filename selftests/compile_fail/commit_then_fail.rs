// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a migrate callback that commits and then reports
// failure (the VM would overwrite `dst->private` that the commit set).
// expect: expected `Refused<'_>`, found `Error`|expected `Refused<'a>`, found `Error`
// compiles with: s/^        migration.commit(page)?;$/        migration.commit(page)/; /^        Err(EAGAIN)$/d

use rmm::movable::{MigrateMode, Migration, MovableOperations, MovablePage, Outcome};

struct CommitThenFail;

impl MovableOperations for CommitThenFail {
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
        migration.commit(page)?;
        Err(EAGAIN)
    }
}

fn case() -> Result {
    Ok(())
}
