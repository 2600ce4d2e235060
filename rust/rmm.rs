// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! rmm: safe abstractions over C interfaces the 6.12 kernel crate does not cover.
//!
//! Each rmm module compiles this tree into its own crate as the module `rmm`:
//!
//! ```ignore
//! #[path = "../../rust/rmm.rs"]
//! mod rmm;
//! ```
//!
//! Out-of-tree modules cannot share a Rust library crate in 6.12, so the
//! abstractions are built once per module, like the C helpers of
//! [`rust/helpers.c`]. Items a module does not use are dropped by the
//! compiler; `dead_code` is therefore allowed at the root. The items are
//! written with the visibility they would have in the kernel crate, which
//! `unreachable_pub` cannot know about in a private module.
//!
//! - [`bindings`]: our own bindgen pass (`rust/rmm_bindings.h`).
//! - [`miscdevice`]: misc character devices with a `#[vtable]` of file operations.
//! - [`page`]: owned and locked pages.
//! - [`movable`]: non-LRU movable pages (`struct movable_operations`).

#![allow(dead_code, unreachable_pub)]

#[path = "bindings.rs"]
pub mod bindings;
#[path = "miscdevice.rs"]
pub mod miscdevice;
#[path = "movable.rs"]
pub mod movable;
#[path = "page.rs"]
pub mod page;
