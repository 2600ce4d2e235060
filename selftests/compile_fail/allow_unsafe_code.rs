// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a driver lifting `-Dunsafe_code` for itself (every
// `unsafe` lives in rust/, and the build refuses a driver that names the
// lint).
// expect: a driver may not lift -Dunsafe_code
// compiles with: /allow(unsafe_code)/d; s/unsafe { core::ptr::read(&x) }/x/

#[allow(unsafe_code)]
fn case() -> Result {
    let x = 1u32;
    // SAFETY: none: this must be refused.
    let y = unsafe { core::ptr::read(&x) };
    pr_info!("{}\n", y);
    Ok(())
}
