// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Must not compile: a `Stable` proof made by hand instead of by
//! `InvalidateSeq::read_retry` of the sequence it proves.
// expect: field `table` of struct `Stable` is private|private field


use kernel::prelude::*;

#[path = "../../rust/rmm.rs"]
mod rmm;

use rmm::mmu_notifier::Stable;

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
        let mut table = 0u32;
        let mut stable = Stable { table: &mut table };
        *stable.table() = 1;
        Ok(Cf)
    }
}
