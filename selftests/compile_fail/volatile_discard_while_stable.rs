// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: discarding while a `Stable` proof of the set is alive
// (the proof's reader would see the contents go).
// expect: cannot borrow `disc` as mutable because it is also borrowed as immutable
// compiles with: /let _ = stable.index();/d

use rmm::{page::Gfp, volatile::VolatileSet};

fn case() -> Result {
    let (set, mut disc) = VolatileSet::new(Gfp::KERNEL)?;
    let stable = set.stable(&disc, 0, 0)?;
    let _ = set.try_discard(&mut disc, 0);
    let _ = stable.index();
    Ok(())
}
