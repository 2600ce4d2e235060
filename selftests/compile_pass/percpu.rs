// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// The example of rust/percpu.rs: counts that any CPU changes without an
// atomic instruction, each read as the sum over every CPU.

use rmm::{page::Gfp, percpu::PerCpuCounters};

const HITS: usize = 0;
const MISSES: usize = 1;

fn case() -> Result {
    let counts = PerCpuCounters::<2>::new(Gfp::KERNEL)?;
    counts.add::<HITS>(3);
    counts.add::<HITS>(-1);
    counts.add::<MISSES>(1);
    // Nothing else changes them: the sums are exact.
    if counts.sum::<HITS>() != 2 || counts.sum::<MISSES>() != 1 {
        return Err(EINVAL);
    }
    Ok(())
}
