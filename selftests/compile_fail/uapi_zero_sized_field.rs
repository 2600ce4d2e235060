// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a uapi struct with a zero-sized field (here a flexible
// array, as bindgen makes for `__u32 data[]`): copying the struct whole
// would not copy what the field stands for.
// expect: a uapi struct may not have zero-sized fields
// compiles with: /^    data: \[u32; 0\],$/d

#[repr(C)]
struct Flexible {
    len: u32,
    data: [u32; 0],
}

rmm::uapi_bytes!(Flexible {
    len: u32,
    data: [u32; 0],
});

fn case() -> Result {
    Ok(())
}
