// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a notifier with `invalidate_range_end` that may fail
// `invalidate_range_start` (the core would call its end after the failed
// start, and warns).
// expect: a notifier with invalidate_range_end must not fail invalidate_range_start
// compiles with: /fn invalidate_range_end/d

use rmm::{
    mm::MmWithUser,
    mmu_notifier::{Again, MmuNotifier, Range, Registration},
};

struct Notifier;

#[vtable]
impl MmuNotifier for Notifier {
    fn invalidate_range_start<'a>(&self, range: &Range<'a>) -> Result<(), Again<'a, Self>> {
        match range.cannot_block::<Self>() {
            Some(again) => Err(again),
            None => Ok(()),
        }
    }

    fn invalidate_range_end(&self, _range: &Range<'_>) {}
}

fn case() -> Result {
    if let Some(mm) = MmWithUser::current() {
        drop(Registration::register(&mm, Notifier));
    }
    Ok(())
}
