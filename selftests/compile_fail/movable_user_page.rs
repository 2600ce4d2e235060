// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a user page (from GUP) made movable. Only a `NewPage`
// from the page allocator wrapper can become a `MovablePage`.
// expect: expected `NewPage`, found `PageRef`
// compiles with: s/let page = mm.mmap_read_lock().get_user_page(0, false)?;/let page = rmm::page::NewPage::alloc_movable(rmm::page::Gfp::KERNEL, false)?; drop(mm);/

use rmm::{mm::MmWithUser, movable::MovablePage};

fn case() -> Result {
    let mm = MmWithUser::current().ok_or(EINVAL)?;
    let page = mm.mmap_read_lock().get_user_page(0, false)?;
    let _movable = MovablePage::<Ops>::new(page, KBox::new(0, GFP_KERNEL)?, 0)?;
    Ok(())
}
