// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a module parameter of a type whose C ops the macro does
// not know (the C parser would store its own C type through the pointer).
// expect: unsupported parameter type `u64`
// compiles with: s/pages: u64/pages: bool/; s/default: 16,/default: true,/; s/pages.value() > 0/pages.value()/

rmm::module_param! {
    /// How many pages.
    pages: u64 {
        default: 16,
        description: "How many pages",
    }
}

fn case() -> Result {
    if pages.value() > 0 {
        pr_info!("pages\n");
    }
    Ok(())
}
