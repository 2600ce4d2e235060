// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: `unsafe` in a driver (every `unsafe` lives in rust/).
// expect: usage of an `unsafe` block
// compiles with: s/unsafe { core::ptr::read(&x) }/x/

fn case() -> Result {
    let x = 1u32;
    // SAFETY: none: this must be refused.
    let y = unsafe { core::ptr::read(&x) };
    pr_info!("{}\n", y);
    Ok(())
}
