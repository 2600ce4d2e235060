// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! test_hmm's personality: `/dev/hmm_dmirror0` and `/dev/hmm_dmirror1`.
//!
//! The kernel's test_hmm (`lib/test_hmm.c`) is a fake device whose files
//! mirror their opener's whole address space; its `hmm-tests`
//! (`tools/testing/selftests/mm/hmm-tests.c`) drive it through
//! `lib/test_hmm_uapi.h`. These two devices speak that interface, as 6.12
//! defines it, on top of rmirror's device MMU, so that those tests run
//! unchanged against it:
//!
//! - each open file mirrors the opener's address space, from open to close;
//! - `HMM_DMIRROR_READ` and `HMM_DMIRROR_WRITE` move `npages` pages from
//!   `addr` through the device's page table, faulting what is missing; they
//!   report `cpages` (pages copied) and `faults` (fault passes: 0 when every
//!   entry was valid, 1 when one pass faulted what was missing), as test_hmm
//!   does; a READ copies straight from the pages to `ptr`, with no bounce
//!   buffer (so one that fails may have copied part of the range, where
//!   test_hmm's copies nothing);
//! - `HMM_DMIRROR_SNAPSHOT` reports the CPU page tables, one
//!   `HMM_DMIRROR_PROT_*` byte per page, faulting nothing
//!   (`rmm::hmm::snapshot`);
//! - mapping the file gives zeroed pages (test_hmm's `mmap`, a
//!   `VM_MIXEDMAP` mapping);
//! - device-private migration and exclusive access need device memory and
//!   `make_device_exclusive_range()`, which this device does not have:
//!   `HMM_DMIRROR_MIGRATE_TO_DEV`, `MIGRATE_TO_SYS`, `EXCLUSIVE`,
//!   `CHECK_EXCLUSIVE` and `RELEASE` fail with `EOPNOTSUPP`; other commands
//!   with `ENOTTY`.
//!
//! The names are the loader's choice, the parameter `hmm_names` of
//! rmirror: test_hmm's own by default, so that hmm-tests find them; with
//! `hmm_names=0`, `/dev/rmirror_hmm0` and `/dev/rmirror_hmm1`, which can be
//! loaded beside test_hmm (the benchmarks compare the two this way). If a
//! name is another device's node (test_hmm loaded, and `hmm_names=1`), the
//! load fails with `EEXIST` and says to use `hmm_names=0`: devtmpfs would
//! otherwise keep test_hmm's node under the name, silently
//! (`MiscDeviceRegistration::check_node`).
//!
//! Where test_hmm and rmirror differ, rmirror's rules hold: only the
//! mirrored process may use a file (`EIO` from another address space), and a
//! READ or WRITE moves at most [`MAX_PAGES`] pages (`EINVAL`).

use super::{rmm, uapi, Hooks};
use kernel::{
    c_str,
    prelude::*,
    sync::{Arc, ArcBorrow},
    uaccess::UserSlice,
};
use rmm::{
    mirror::Mirror,
    miscdevice::{self, MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    mm::{virt::VmaNew, MmWithUser},
    mmu_notifier,
    page::{ZeroedPage, PAGE_SIZE},
};

/// The most pages one READ or WRITE moves (64 MiB).
pub(crate) const MAX_PAGES: usize = 16384;

type Cmd = uapi::rmirror_hmm_cmd;

/// One open file: a device mirroring its opener's whole address space.
pub(crate) struct DmirrorFile {
    dev: mmu_notifier::Registration<Mirror<Hooks>>,
}

/// The device number (0 or 1).
pub(crate) struct Unit(#[allow(dead_code)] u32);

miscdevice::misc_device_vtable!(static DMIRROR_FOPS: DmirrorFile);

/// One `HMM_DMIRROR_PROT_*` byte for what the CPU maps.
#[cfg(CONFIG_HMM_MIRROR)]
fn prot(pte: rmm::hmm::CpuPte) -> u8 {
    use rmm::hmm::CpuPte;
    let v = match pte {
        CpuPte::Error => uapi::RMIRROR_HMM_PROT_ERROR,
        CpuPte::None => uapi::RMIRROR_HMM_PROT_NONE,
        CpuPte::Mapped { write, zero, order } => {
            let mut v = if zero { uapi::RMIRROR_HMM_PROT_ZERO } else { 0 };
            v |= if write {
                uapi::RMIRROR_HMM_PROT_WRITE
            } else {
                uapi::RMIRROR_HMM_PROT_READ
            };
            if order == rmm::hmm::pmd_order() {
                v |= uapi::RMIRROR_HMM_PROT_PMD;
            } else if order == rmm::hmm::pud_order() {
                v |= uapi::RMIRROR_HMM_PROT_PUD;
            }
            v
        }
    };
    v as u8
}

impl DmirrorFile {
    /// `HMM_DMIRROR_SNAPSHOT`: the CPU's view, one byte per page, to `ptr`.
    #[cfg(CONFIG_HMM_MIRROR)]
    fn snapshot(&self, addr: usize, npages: usize, ptr: usize) -> Result {
        use rmm::hmm::CpuPte;
        // The device's own address space, checked as for any access.
        let mm = self
            .dev
            .device_mm()
            .map_err(|e| if e == ESRCH { EINVAL } else { e })?;
        let mut ptes = KVVec::from_elem(CpuPte::None, npages, GFP_KERNEL)?;
        rmm::hmm::snapshot(&mm, addr, &mut ptes)?;
        drop(mm);
        let mut bytes = rmm::zeroed_buf(npages)?;
        for (b, p) in bytes.iter_mut().zip(ptes.iter()) {
            *b = prot(*p);
        }
        UserSlice::new(ptr, npages).writer().write_slice(&bytes)
    }

    #[cfg(not(CONFIG_HMM_MIRROR))]
    fn snapshot(&self, _addr: usize, _npages: usize, _ptr: usize) -> Result {
        // `hmm_range_fault()` is not built in this kernel.
        Err(rmm::eopnotsupp())
    }
}

#[vtable]
impl MiscDevice for DmirrorFile {
    type Shared = Unit;
    type Ptr = Arc<DmirrorFile>;

    fn open(_unit: &Unit) -> Result<Arc<DmirrorFile>> {
        let mm = MmWithUser::current().ok_or(EINVAL)?;
        let dev = mmu_notifier::Registration::register(&mm, Mirror::whole(Hooks::default())?)?;
        Ok(Arc::new(DmirrorFile { dev }, GFP_KERNEL)?)
    }

    fn ioctl(file: ArcBorrow<'_, DmirrorFile>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::RMIRROR_HMM_READ
            | uapi::RMIRROR_HMM_WRITE
            | uapi::RMIRROR_HMM_SNAPSHOT
            | uapi::RMIRROR_HMM_MIGRATE_TO_DEV
            | uapi::RMIRROR_HMM_MIGRATE_TO_SYS
            | uapi::RMIRROR_HMM_EXCLUSIVE
            | uapi::RMIRROR_HMM_CHECK_EXCLUSIVE
            | uapi::RMIRROR_HMM_RELEASE => {}
            _ => return Err(ENOTTY),
        }
        let (mut reader, mut writer) =
            UserSlice::new(arg, core::mem::size_of::<Cmd>()).reader_writer();
        let mut c: Cmd = reader.read()?;
        let (addr, npages, ptr) = (c.addr as usize, c.npages as usize, c.ptr as usize);
        let len = npages.checked_mul(PAGE_SIZE).ok_or(EINVAL)?;
        if addr % PAGE_SIZE != 0 || npages == 0 || addr.checked_add(len).is_none() {
            return Err(EINVAL);
        }
        c.cpages = 0;
        c.faults = 0;
        let moves = cmd == uapi::RMIRROR_HMM_READ || cmd == uapi::RMIRROR_HMM_WRITE;
        if moves && npages > MAX_PAGES {
            return Err(EINVAL);
        }
        match cmd {
            uapi::RMIRROR_HMM_READ => {
                let done = file.dev.read_to_user(addr, len, ptr)?;
                c.cpages = npages as u64;
                c.faults = done.faults;
            }
            uapi::RMIRROR_HMM_WRITE => {
                let mut buf = rmm::zeroed_buf(len)?;
                UserSlice::new(ptr, len).reader().read_slice(&mut buf)?;
                let done = file.dev.write(addr, &buf)?;
                c.cpages = npages as u64;
                c.faults = done.faults;
            }
            uapi::RMIRROR_HMM_SNAPSHOT => {
                if npages > Mirror::<Hooks>::MAX_LEN / PAGE_SIZE {
                    return Err(EINVAL);
                }
                file.snapshot(addr, npages, ptr)?;
                c.cpages = npages as u64;
            }
            // Device memory and exclusive access: not this device's.
            _ => return Err(rmm::eopnotsupp()),
        }
        writer.write(&c)?;
        Ok(0)
    }

    fn mmap(_file: ArcBorrow<'_, DmirrorFile>, vma: &VmaNew) -> Result {
        let mut addr = vma.start();
        while addr < vma.end() {
            if rmm::fatal_signal_pending() {
                return Err(EINTR);
            }
            // The mapping takes its own reference; ours drops here.
            vma.insert_page(addr, ZeroedPage::alloc()?)?;
            addr += PAGE_SIZE;
        }
        Ok(())
    }
}

/// The two devices, registered while rmirror is loaded.
pub(crate) struct Devices {
    _units: [Pin<KBox<MiscDeviceRegistration<DmirrorFile>>>; 2],
}

impl Devices {
    /// Registers `/dev/hmm_dmirror0` and `1` if `hmm_names` (test_hmm's
    /// names), else `/dev/rmirror_hmm0` and `1` (so that both can be
    /// measured side by side).
    pub(crate) fn register(hmm_names: bool) -> Result<Self> {
        let names = if hmm_names {
            [c_str!("hmm_dmirror0"), c_str!("hmm_dmirror1")]
        } else {
            [c_str!("rmirror_hmm0"), c_str!("rmirror_hmm1")]
        };
        let unit = |n: u32| {
            let name = names[n as usize];
            let opts = MiscDeviceOptions { name, mode: 0o600 };
            let reg = KBox::pin_init(
                MiscDeviceRegistration::register(&DMIRROR_FOPS, opts, Unit(n)),
                GFP_KERNEL,
            )
            .and_then(|reg| reg.check_node().map(|()| reg));
            if matches!(&reg, Err(e) if *e == EEXIST) {
                pr_err!("/dev/{} is another device's\n", name);
                if hmm_names {
                    pr_err!(
                        "beside test_hmm, load rmirror with hmm_names=0 (for rmirror_hmm0 and 1)\n"
                    );
                }
            }
            reg
        };
        let units = [unit(0)?, unit(1)?];
        pr_info!(
            "/dev/{} and /dev/{} ready (test_hmm's interface)\n",
            names[0],
            names[1]
        );
        Ok(Self { _units: units })
    }
}
