// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a fault's result installed in a shadow page table
// without the `Stable` proof that no invalidation ran since the fault began
// (the entry could map a page the process no longer has there).
// expect: expected `&mut Stable<'_, ShadowTable>`, found `&mut ShadowTable`|mismatched types
// compiles with: s/let _ = ShadowTable::install(seq.table_mut(), 0, \[Some(1)\], false);/let _ = seq.table_mut();/

use rmm::{mmu_notifier::InvalidateSeq, shadow::ShadowTable};

fn case() -> Result {
    let mut seq = InvalidateSeq::new(ShadowTable::new()?);
    let _ = ShadowTable::install(seq.table_mut(), 0, [Some(1)], false);
    Ok(())
}
