// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a `Stable` proof made by hand instead of by
// `InvalidateSeq::read_retry` of the sequence it proves.
// expect: field `table` of struct `Stable` is private|private field
// compiles with: /let mut stable = Stable/d; s/\*stable.table() = 1;/table = 1; let _ = table; let _: Option<Stable<'_, u32>> = None;/

use rmm::mmu_notifier::Stable;

fn case() -> Result {
    let mut table = 0u32;
    let mut stable = Stable { table: &mut table };
    *stable.table() = 1;
    Ok(())
}
