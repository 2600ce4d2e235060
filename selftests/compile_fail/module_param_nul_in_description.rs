// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a module parameter whose description holds a NUL
// (modinfo would show only what comes before it).
// expect: may not hold a NUL
// compiles with: s/Greet\\0 at load time/Greet at load time/

rmm::module_param! {
    /// Whether to greet at load time.
    greet: bool {
        default: true,
        description: "Greet\0 at load time",
    }
}

fn case() -> Result {
    if greet.value() {
        pr_info!("hello\n");
    }
    Ok(())
}
