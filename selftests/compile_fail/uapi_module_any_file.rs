// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: `uapi_module!` (whose module allows `unsafe`) given a
// file of the driver's choosing instead of a driver name.
// expect: no rules expected the token `"../../rust/rmm.rs"`|no rules expected
// compiles with: s|(sneaky, "../../rust/rmm.rs")|(sneaky, rmisc)|

rmm::uapi_module!(sneaky, "../../rust/rmm.rs");

fn case() -> Result {
    Ok(())
}
