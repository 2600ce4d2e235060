// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: a VMA used after its `mmap_lock` is dropped (it may be
// unmapped and freed as soon as the lock is).
// expect: cannot move out of `guard` because it is borrowed
// compiles with: s/drop(guard);//

use rmm::mm::MmWithUser;

fn case() -> Result {
    let mm = MmWithUser::current().ok_or(EINVAL)?;
    let guard = mm.mmap_read_lock();
    let vma = guard.vma_lookup(0).ok_or(EFAULT)?;
    drop(guard);
    let _end = vma.end();
    Ok(())
}
