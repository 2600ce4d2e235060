// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Must not compile: a driver reaching the raw `struct page` pointer of an
//! abstraction (raw accessors are visible only inside rust/).
// expect: method `as_ptr` is private


use kernel::prelude::*;

#[path = "../../rust/rmm.rs"]
mod rmm;

use rmm::page::{Gfp, NewPage};

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
        let page = NewPage::alloc_movable(Gfp::KERNEL, false)?;
        pr_info!("{:p}\n", page.as_ptr());
        Ok(Cf)
    }
}
