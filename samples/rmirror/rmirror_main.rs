// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! rmirror: a secondary MMU driven by MMU notifiers.
//!
//! Each open file of `/dev/rmirror` (root only) is a device with its own page
//! table. `RMIRROR_IOC_MIRROR` makes it mirror `[addr, addr + len)` of the
//! calling process. The driver then reads and writes that memory the way a
//! device would: through its shadow table, faulting entries in on demand, and
//! pinning no page. Supported:
//!
//! - invalidation through `invalidate_range_start`/`end`, counted per event
//!   (unmap, clear, protection, migrate, ...), with a device access that races
//!   an invalidation retrying instead of using a stale page;
//! - accessed-bit harvesting through `clear_flush_young`, `clear_young` and
//!   `test_young` (so `/sys/kernel/mm/page_idle` sees device accesses), every
//!   bit of a range cleared before answering;
//! - `release` when the process exits; closing the file does the same;
//! - per-file statistics (`RMIRROR_IOC_STATS`) and a per-page snapshot of the
//!   shadow table (`RMIRROR_IOC_SNAPSHOT`);
//! - a device-initiated invalidation of the whole table held for a while
//!   (`RMIRROR_IOC_INVALIDATE`), during which device accesses sleep;
//! - device-initiated aging of a range (`RMIRROR_IOC_AGE`, or
//!   `RMIRROR_IOC_YOUNG` to clear nothing), through the same lock-free walk
//!   as the VM's `clear_young`;
//! - only the mirrored process may use the device (`EIO` from any other).
//!
//! `/dev/hmm_dmirror0` and `/dev/hmm_dmirror1` are the same device with the
//! interface of the kernel's test_hmm (`lib/test_hmm_uapi.h`), so that the
//! kernel's own `hmm-tests` run against it (see `dmirror.rs`); loaded with
//! `hmm_names=0`, they are `/dev/rmirror_hmm0` and `1` instead, and rmirror
//! can be loaded beside test_hmm.
//!
//! The shadow page table (in movable pages), its invalidation and its retry
//! protocol are `rmm::mirror` and `rmm::shadow`; this driver is the device
//! around them.
//!
//! # Lock order
//!
//! 1. `mmap_lock`, the rmap locks and the page table lock (the notifier core
//!    calls the mirror's callbacks under them; GUP takes `mmap_lock`)
//! 2. `rmm::mirror::Mirror::inner` (spinlock; nothing allocates or sleeps
//!    under it)
//! 3. the shadow table's lock (`rmm::shadow`; also taken under a table
//!    page's lock by its migration, and by young callbacks that meet a table
//!    being migrated)
//!
//! `RmirrorFile::mirror` (a spinlock) only guards the set-once slot and is
//! never held with another lock.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::{
    c_str,
    ioctl::_IOC_SIZE,
    new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, SpinLock},
    uaccess::UserSlice,
};

#[path = "../../rust/rmm.rs"]
mod rmm;

mod dmirror;

use rmm::{
    mirror::{Mirror, MirrorHooks},
    miscdevice::{self, MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    mm::MmWithUser,
    mmu_notifier::{self, Event},
};

module! {
    type: RmirrorModule,
    name: "rmirror",
    author: "The rmm authors",
    description: "rmm: secondary MMU mirror driven by MMU notifiers",
    license: "GPL",
}

rmm::module_param! {
    /// Whether test_hmm's interface has test_hmm's device names
    /// (`/dev/hmm_dmirror0` and `1`), or rmirror's own (`/dev/rmirror_hmm0`
    /// and `1`), which do not collide with a loaded test_hmm.
    hmm_names: bool {
        default: true,
        description: "Name the test_hmm interface's devices hmm_dmirror0 and 1, as test_hmm does (default); N: rmirror_hmm0 and 1, to load beside test_hmm",
    }
}

// The uapi structs, ioctl numbers and limits come from rmirror_uapi.h,
// through our bindgen pass.
rmm::uapi_module!(uapi, rmirror);
rmm::uapi_bytes!(uapi::rmirror_range {
    addr: u64,
    len: u64
});
rmm::uapi_bytes!(uapi::rmirror_rw {
    addr: u64,
    buf: u64,
    len: u64,
});
rmm::uapi_bytes!(uapi::rmirror_snapshot {
    addr: u64,
    buf: u64,
    npages: u64,
});
rmm::uapi_bytes!(uapi::rmirror_stats {
    start: u64,
    end: u64,
    mirrored: u64,
    faults: u64,
    write_faults: u64,
    retries: u64,
    young_calls: u64,
    young: u64,
    released: u64,
    invalidations: [u64; Event::COUNT],
    dropped: [u64; Event::COUNT],
    nonblock: u64,
    tables: u64,
    tables_migrated: u64,
    slow_harvests: u64,
    table_migrate_ns: u64,
});
rmm::uapi_bytes!(uapi::rmirror_hmm_cmd {
    addr: u64,
    ptr: u64,
    npages: u64,
    cpages: u64,
    faults: u64,
});
use uapi::{
    rmirror_range as URange, rmirror_rw as URw, rmirror_snapshot as USnapshot,
    rmirror_stats as UStats,
};

const MAX_RW: usize = uapi::RMIRROR_MAX_RW as usize;
const MAX_HOLD_MS: u32 = uapi::RMIRROR_MAX_HOLD_MS;
const IOC_MIRROR: u32 = uapi::RMIRROR_IOCTL_MIRROR;
const IOC_READ: u32 = uapi::RMIRROR_IOCTL_READ;
const IOC_WRITE: u32 = uapi::RMIRROR_IOCTL_WRITE;
const IOC_SNAPSHOT: u32 = uapi::RMIRROR_IOCTL_SNAPSHOT;
const IOC_STATS: u32 = uapi::RMIRROR_IOCTL_STATS;
const IOC_INVALIDATE: u32 = uapi::RMIRROR_IOCTL_INVALIDATE;
const IOC_AGE: u32 = uapi::RMIRROR_IOCTL_AGE;
const IOC_YOUNG: u32 = uapi::RMIRROR_IOCTL_YOUNG;
const _: () = assert!(Event::COUNT == uapi::RMIRROR_NR_EVENTS as usize);
const _: () = assert!(uapi::RMIRROR_MAX_LEN as usize == Mirror::<Hooks>::MAX_LEN);

/// The device's counters, updated from the notifier callbacks.
#[derive(Default)]
pub(crate) struct Hooks {
    invalidations: [AtomicU64; Event::COUNT],
    dropped: [AtomicU64; Event::COUNT],
    faults: AtomicU64,
    write_faults: AtomicU64,
    retries: AtomicU64,
    young_calls: AtomicU64,
    young: AtomicU64,
    released: AtomicBool,
    nonblock: AtomicU64,
}

impl MirrorHooks for Hooks {
    fn invalidated(&self, event: Event, dropped: usize, blockable: bool) {
        self.invalidations[event.index()].fetch_add(1, Ordering::Relaxed);
        self.nonblock
            .fetch_add(!blockable as u64, Ordering::Relaxed);
        self.dropped[event.index()].fetch_add(dropped as u64, Ordering::Relaxed);
    }

    fn young(&self, young: bool) {
        // On every page page_idle or reclaim looks at: one atomic, two only
        // for a young answer.
        self.young_calls.fetch_add(1, Ordering::Relaxed);
        if young {
            self.young.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn faulted(&self, write: bool) {
        self.faults.fetch_add(1, Ordering::Relaxed);
        self.write_faults.fetch_add(write as u64, Ordering::Relaxed);
    }

    fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    fn released(&self) {
        self.released.store(true, Ordering::Relaxed);
    }
}

/// A device: a mirror registered on the address space it mirrors.
type Dev = mmu_notifier::Registration<Mirror<Hooks>>;

/// One open file: one device, mirroring once it is set up.
#[pin_data]
struct RmirrorFile {
    #[pin]
    mirror: SpinLock<Option<Arc<Dev>>>,
}

impl RmirrorFile {
    /// The device, once `RMIRROR_IOC_MIRROR` set it up (else `EINVAL`).
    fn dev(&self) -> Result<Arc<Dev>> {
        self.mirror.lock().clone().ok_or(EINVAL)
    }

    fn mirror(&self, req: URange) -> Result<isize> {
        if self.mirror.lock().is_some() {
            return Err(EBUSY);
        }
        let (addr, len) = (req.addr as usize, req.len as usize);
        let mm = MmWithUser::current().ok_or(EINVAL)?;
        let init = Mirror::new(addr, len, Hooks::default())?;
        let dev = Arc::new(mmu_notifier::Registration::register(&mm, init)?, GFP_KERNEL)?;
        // Fault the whole range in for reading: EFAULT if any of it is
        // unmapped (the registration is dropped, nothing stays).
        let valid = dev.populate(addr, len, false)?;
        let mut slot = self.mirror.lock();
        if slot.is_some() {
            // Another thread set the file up meanwhile.
            return Err(EBUSY);
        }
        *slot = Some(dev);
        Ok(valid as isize)
    }

    fn stats(&self) -> UStats {
        let Some(dev) = self.mirror.lock().clone() else {
            return UStats::default();
        };
        let h = &dev.hooks;
        let counts = dev.counts();
        let mut s = UStats {
            start: dev.start() as u64,
            end: dev.end() as u64,
            mirrored: counts.valid as u64,
            tables: counts.table.tables as u64,
            tables_migrated: counts.table.migrated,
            slow_harvests: counts.table.slow_harvests,
            table_migrate_ns: counts.table.migrate_ns,
            faults: h.faults.load(Ordering::Relaxed),
            write_faults: h.write_faults.load(Ordering::Relaxed),
            retries: h.retries.load(Ordering::Relaxed),
            young_calls: h.young_calls.load(Ordering::Relaxed),
            young: h.young.load(Ordering::Relaxed),
            released: h.released.load(Ordering::Relaxed) as u64,
            nonblock: h.nonblock.load(Ordering::Relaxed),
            ..UStats::default()
        };
        for i in 0..Event::COUNT {
            s.invalidations[i] = h.invalidations[i].load(Ordering::Relaxed);
            s.dropped[i] = h.dropped[i].load(Ordering::Relaxed);
        }
        s
    }
}

/// Checks a READ/WRITE request and returns its length.
fn rw_len(req: &URw) -> Result<usize> {
    let len = req.len as usize;
    if len == 0 || len > MAX_RW {
        return Err(EINVAL);
    }
    Ok(len)
}

/// Shared by every open file (nothing yet).
struct Shared;

miscdevice::misc_device_vtable!(static FOPS: RmirrorFile);

#[vtable]
impl MiscDevice for RmirrorFile {
    type Shared = Shared;
    type Ptr = Arc<RmirrorFile>;

    fn open(_shared: &Shared) -> Result<Arc<RmirrorFile>> {
        Arc::pin_init(
            pin_init!(RmirrorFile {
                mirror <- new_spinlock!(None, "rmirror::RmirrorFile::mirror"),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(file: ArcBorrow<'_, RmirrorFile>, cmd: u32, arg: usize) -> Result<isize> {
        let user = UserSlice::new(arg, _IOC_SIZE(cmd));
        match cmd {
            IOC_MIRROR => file.mirror(user.reader().read()?),
            IOC_READ => {
                let req: URw = user.reader().read()?;
                let len = rw_len(&req)?;
                let dev = file.dev()?;
                dev.read_to_user(req.addr as usize, len, req.buf as usize)?;
                Ok(0)
            }
            IOC_WRITE => {
                let req: URw = user.reader().read()?;
                let len = rw_len(&req)?;
                let dev = file.dev()?;
                let mut buf = rmm::zeroed_buf(len)?;
                UserSlice::new(req.buf as usize, len)
                    .reader()
                    .read_slice(&mut buf)?;
                dev.write(req.addr as usize, &buf)?;
                Ok(0)
            }
            IOC_SNAPSHOT => {
                let req: USnapshot = user.reader().read()?;
                let dev = file.dev()?;
                let n = req.npages as usize;
                if n == 0 || n > Mirror::<Hooks>::MAX_LEN / kernel::page::PAGE_SIZE {
                    return Err(EINVAL);
                }
                let mut buf = rmm::zeroed_buf(n)?;
                dev.snapshot(req.addr as usize, &mut buf)?;
                UserSlice::new(req.buf as usize, n)
                    .writer()
                    .write_slice(&buf)?;
                Ok(0)
            }
            IOC_STATS => {
                user.writer().write(&file.stats())?;
                Ok(0)
            }
            IOC_INVALIDATE => {
                let ms: u32 = user.reader().read()?;
                if ms > MAX_HOLD_MS {
                    return Err(EINVAL);
                }
                let dev = file.dev()?;
                let _held = dev.device_invalidate()?;
                if rmm::msleep_interruptible(ms) != 0 {
                    return Err(EINTR);
                }
                Ok(0)
            }
            IOC_AGE | IOC_YOUNG => {
                let req: URange = user.reader().read()?;
                let dev = file.dev()?;
                let (addr, len) = (req.addr as usize, req.len as usize);
                Ok(dev.age(addr, len, cmd == IOC_AGE)? as isize)
            }
            _ => Err(ENOTTY),
        }
    }
}

struct RmirrorModule {
    _reg: Pin<KBox<MiscDeviceRegistration<RmirrorFile>>>,
    _hmm: dmirror::Devices,
}

impl kernel::Module for RmirrorModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let shared = Shared;
        let opts = MiscDeviceOptions {
            name: c_str!("rmirror"),
            mode: 0o600,
        };
        let reg = KBox::pin_init(
            MiscDeviceRegistration::register(&FOPS, opts, shared),
            GFP_KERNEL,
        )?;
        pr_info!("/dev/rmirror ready\n");
        let hmm = dmirror::Devices::register(hmm_names.value())?;
        Ok(Self {
            _reg: reg,
            _hmm: hmm,
        })
    }
}
