// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// The example of Documentation/rmirror.rst, "rmirror's shadow table in your
// own device driver": a device that reads and writes the calling process's
// memory through a page table of its own, kept by MMU notifiers. It must
// build as a driver does (scripts/compile-fail.sh builds it after prelude.rs).

use core::sync::atomic::{AtomicUsize, Ordering};
use rmm::{
    mirror::{Mirror, MirrorHooks},
    mm::MmWithUser,
    mmu_notifier::{Event, Registration},
};

/// What the device counts of its mirror's events.
#[derive(Default)]
struct Stats {
    faults: AtomicUsize,
    dropped: AtomicUsize,
}

impl MirrorHooks for Stats {
    fn faulted(&self, _write: bool) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    fn invalidated(&self, _event: Event, dropped: usize, _blockable: bool) {
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
    }
}

/// A device context: the mirror of one window of the caller's address space.
/// Dropping it unregisters the notifier and frees the table.
struct Device {
    mirror: Registration<Mirror<Stats>>,
}

impl Device {
    /// Mirrors `[start, start + len)` (page aligned) of the calling process.
    fn open(start: usize, len: usize) -> Result<Self> {
        let mm = MmWithUser::current().ok_or(EINVAL)?;
        let mirror = Registration::register(&mm, Mirror::new(start, len, Stats::default())?)?;
        Ok(Self { mirror })
    }

    /// A device read: faults missing entries in, sets accessed bits, and
    /// copies; the process's pages are not pinned after it returns.
    fn dma_read(&self, addr: usize, out: &mut [u8]) -> Result<u64> {
        Ok(self.mirror.read(addr, out)?.faults)
    }

    /// A device write: `EPERM` where the process mapped the page read-only.
    fn dma_write(&self, addr: usize, data: &[u8]) -> Result {
        self.mirror.write(addr, data).map(|_| ())
    }

    /// Whether the device touched the range since the last call, clearing
    /// its accessed bits (what `page_idle` and reclaim see, lock-free).
    fn touched(&self, addr: usize, len: usize) -> Result<bool> {
        self.mirror.age(addr, len, true)
    }

    /// Faults taken and entries dropped by invalidations so far.
    fn stats(&self) -> (usize, usize) {
        let s = &self.mirror.hooks;
        (
            s.faults.load(Ordering::Relaxed),
            s.dropped.load(Ordering::Relaxed),
        )
    }
}

fn case() -> Result {
    // Built, not run: module init has no user buffer to mirror.
    let _ = (
        Device::open,
        Device::dma_read,
        Device::dma_write,
        Device::touched,
        Device::stats,
    );
    Ok(())
}
