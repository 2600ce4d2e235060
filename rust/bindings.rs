// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Bindings generated at build time from `rust/rmm_bindings.h`.
//!
//! Only the items allowlisted in `rust/bindgen_parameters` are generated here;
//! every type the 6.12 kernel crate already binds is reused from
//! [`kernel::bindings`], so a `struct page` of ours is the kernel crate's.

#![allow(
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]

include!("bindings_generated.rs");
