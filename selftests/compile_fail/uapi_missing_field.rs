// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a uapi struct from the C header whose Rust view misses
// a field (the header changed, the driver did not).
// expect: pattern does not mention field `opens`|pattern requires `\.\.`
// compiles with: s/^    cookie: u64,/    opens: u32,\n    cookie: u64,/

rmm::uapi_module!(uapi, rmisc);
rmm::uapi_bytes!(uapi::rmisc_hello {
    magic: u32,
    cookie: u64,
});

fn case() -> Result {
    Ok(())
}
