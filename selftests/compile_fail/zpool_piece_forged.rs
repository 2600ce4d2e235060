// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a zpool driver describing an object by hand, with a
// range past its page, instead of through `Piece::new` (which checks the
// range, and claims the page for the mapping with a reference that pins the
// object while mapped).
// expect: field `page` of struct `Piece` is private|private field
// compiles with: s/None.map(|page: MapClaim| Piece { page, offset: 4000, len: 4096 })/None/

use rmm::{movable::MapClaim, zpool::Piece};

// One line: the `compiles with` script above edits it.
#[rustfmt::skip]
fn case() -> Result {
    let piece: Option<Piece> = None.map(|page: MapClaim| Piece { page, offset: 4000, len: 4096 });
    let _: Option<MapClaim> = None;
    let _ = piece;
    Ok(())
}
