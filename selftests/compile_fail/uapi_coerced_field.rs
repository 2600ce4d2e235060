// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a field listed with a type it only coerces to (here by
// `Deref`): the listing would call a `bool` a `u8`.
// expect: expected `PhantomData<Flag>`, found `PhantomData<u8>`
// compiles with: s/^    flag: Flag,$/    flag: u8,/

struct Flag(bool);

impl core::ops::Deref for Flag {
    type Target = u8;
    fn deref(&self) -> &u8 {
        &0
    }
}

#[repr(C)]
struct Coerced {
    flag: Flag,
}

rmm::uapi_bytes!(Coerced { flag: u8 });

fn case() -> Result {
    Ok(())
}
