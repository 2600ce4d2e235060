// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// The examples of rust/module_param.rs: two parameters of one module, one
// private and one visible to the crate, each read where the module runs.

rmm::module_param! {
    /// Whether to greet at load time.
    greet: bool {
        default: true,
        description: "Greet at load time",
    }
}

rmm::module_param! {
    /// Whether to be verbose.
    pub(crate) verbose: bool {
        default: false,
        description: "Print more",
    }
}

fn case() -> Result {
    if greet.value() {
        pr_info!("hello\n");
    }
    if verbose.value() {
        pr_info!("verbose\n");
    }
    Ok(())
}
