// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a proof that an object is stable made by hand instead of
// by `VolatileSet::stable`, to read an object that may be volatile.
// expect: field `index` of struct `Stable` is private|private field
// compiles with: s/let stable = Stable { index: 0, _discarder: PhantomData };/let stable: Option<Stable<'_>> = None; let _ = PhantomData::<u8>;/; s/stable.index()/stable.map_or(0, |s| s.index())/

use core::marker::PhantomData;
use rmm::volatile::Stable;

fn case() -> Result {
    let stable = Stable { index: 0, _discarder: PhantomData };
    let _ = stable.index();
    Ok(())
}
