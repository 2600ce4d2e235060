// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Must not compile: a uapi struct from the C header whose Rust view misses
//! a field (the header changed, the driver did not).
// expect: a uapi struct must list every field and have no padding


use kernel::prelude::*;

#[path = "../../rust/rmm.rs"]
mod rmm;

rmm::uapi_module!(uapi, "../../rust/uapi/rmisc_uapi_generated.rs");
rmm::uapi_bytes!(uapi::rmisc_hello {
    magic: u32,
    cookie: u64,
});

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
        Ok(Cf)
    }
}
