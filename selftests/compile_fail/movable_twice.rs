// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: one page made movable twice (its `NewPage` is consumed
// by the first `MovablePage::new`).
// expect: use of moved value: `page`
// compiles with: /let _b = MovablePage/d

use rmm::{
    movable::MovablePage,
    page::{Gfp, NewPage},
};

fn case() -> Result {
    let page = NewPage::alloc_movable(Gfp::KERNEL, false)?;
    let _a = MovablePage::<Ops>::new(page, KBox::new(0, GFP_KERNEL)?, 0)?;
    let _b = MovablePage::<Ops>::new(page, KBox::new(1, GFP_KERNEL)?, 0)?;
    Ok(())
}
