// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a driver reaching the raw `struct page` pointer of an
// abstraction (raw accessors are visible only inside rust/).
// expect: method `as_ptr` is private
// compiles with: s/page\.as_ptr()/\&page/

use rmm::page::{Gfp, NewPage};

fn case() -> Result {
    let page = NewPage::alloc_movable(Gfp::KERNEL, false)?;
    pr_info!("{:p}\n", page.as_ptr());
    Ok(())
}
