// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// Must not compile: an `mmap_lock` guard sent to another thread
// (`mmap_read_unlock()` must run on the thread that locked).
// expect: cannot be sent between threads safely
// compiles with: s/send(guard);/drop(guard);/

use rmm::mm::{MmWithUser, MmapReadGuard};

fn send<T: Send>(_t: T) {}

fn case() -> Result {
    let mm = MmWithUser::current().ok_or(EINVAL)?;
    let guard: MmapReadGuard<'_> = mm.mmap_read_lock();
    send(guard);
    Ok(())
}
