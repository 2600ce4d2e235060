// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Must not compile: `unsafe` in a driver (every `unsafe` lives in rust/).
// expect: usage of an `unsafe` block


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
        let x = 1u32;
        // SAFETY: none: this must be refused.
        let y = unsafe { core::ptr::read(&x) };
        pr_info!("{}\n", y);
        Ok(Cf)
    }
}
