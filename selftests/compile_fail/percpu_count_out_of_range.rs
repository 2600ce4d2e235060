// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: count 2 of a counter that has two (0 and 1); the index
// is checked when the call is built, not when it runs.
// expect: no such count
// compiles with: s/add::<2>/add::<1>/

use rmm::{page::Gfp, percpu::PerCpuCounters};

fn case() -> Result {
    let counts = PerCpuCounters::<2>::new(Gfp::KERNEL)?;
    counts.add::<2>(1);
    Ok(())
}
