// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a uapi listing that names one field twice, so that the
// sizes add up while a `bool` (not every byte pattern is valid) goes
// unlisted: the struct would be `FromBytes`.
// expect: bound more than once|bound multiple times
// compiles with: s/^    a: u32, a: u32,$/    a: u32, b: u8, c: [u8; 3],/; s/^    b: bool,$/    b: u8,/

#[repr(C)]
struct Forged {
    a: u32,
    b: bool,
    c: [u8; 3],
}

rmm::uapi_bytes!(Forged {
    a: u32, a: u32,
});

fn case() -> Result {
    Ok(())
}
