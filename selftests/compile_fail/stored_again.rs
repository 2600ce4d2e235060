// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: an `Again` kept from a non-blockable invalidation, to
// be returned from a later (blockable) one.
// expect: lifetime may not live long enough|borrowed data escapes
// compiles with: s/-> Again<'static, Notifier>/-> Again<'_, Notifier>/

use rmm::mmu_notifier::{Again, MmuNotifier, Range};

struct Notifier;

fn keep(again: Again<'_, Notifier>) -> Again<'static, Notifier> {
    again
}

#[vtable]
impl MmuNotifier for Notifier {
    fn invalidate_range_start<'a>(&self, range: &Range<'a>) -> Result<(), Again<'a, Self>> {
        if let Some(again) = range.cannot_block::<Self>() {
            let _kept = keep(again);
        }
        Ok(())
    }
}

fn case() -> Result {
    Ok(())
}
