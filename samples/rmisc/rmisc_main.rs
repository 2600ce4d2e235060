// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! rmisc: the smallest rmm module.
//!
//! A misc device, `/dev/rmisc` (root only), that answers `RMISC_IOC_HELLO`
//! with a fixed magic number and the number of opens since load, and keeps a
//! per-file cookie set by `RMISC_IOC_SET_COOKIE`. It proves the build loop:
//! our bindgen pass, the C helpers object, the misc-device abstraction and
//! user copies in both directions. Unknown ioctls get `ENOTTY`.
//!
//! Lock order: none (one atomic counter, per-file state behind a spinlock
//! that is never held with another lock).

use core::sync::atomic::{AtomicU32, Ordering};
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

use rmm::miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration};

module! {
    type: RmiscModule,
    name: "rmisc",
    author: "The rmm authors",
    description: "rmm: smallest misc device, proves the build and test loop",
    license: "GPL",
}

// `struct rmisc_hello`, the ioctl numbers and the magic come from
// rmisc_uapi.h, through our bindgen pass.
rmm::uapi_module!(uapi, rmisc);
rmm::uapi_bytes!(uapi::rmisc_hello {
    magic: u32,
    opens: u32,
    cookie: u64,
});

const IOC_HELLO: u32 = uapi::RMISC_IOCTL_HELLO;
const IOC_SET_COOKIE: u32 = uapi::RMISC_IOCTL_SET_COOKIE;

/// Counters shared by the device and every open file.
struct Counters {
    opens: AtomicU32,
}

/// One open file.
#[pin_data]
struct RmiscFile {
    counters: Arc<Counters>,
    #[pin]
    cookie: SpinLock<u64>,
}

rmm::miscdevice::misc_device_vtable!(static FOPS: RmiscFile);

#[vtable]
impl MiscDevice for RmiscFile {
    type Shared = Arc<Counters>;
    type Ptr = Arc<RmiscFile>;

    fn open(counters: &Arc<Counters>) -> Result<Arc<RmiscFile>> {
        counters.opens.fetch_add(1, Ordering::Relaxed);
        Arc::pin_init(
            pin_init!(RmiscFile {
                counters: counters.clone(),
                cookie <- new_spinlock!(0, "rmisc::cookie"),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(file: ArcBorrow<'_, RmiscFile>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            IOC_HELLO => {
                let hello = uapi::rmisc_hello {
                    magic: uapi::RMISC_MAGIC,
                    opens: file.counters.opens.load(Ordering::Relaxed),
                    cookie: *file.cookie.lock(),
                };
                UserSlice::new(arg, _IOC_SIZE(cmd)).writer().write(&hello)?;
                Ok(0)
            }
            IOC_SET_COOKIE => {
                let cookie: u64 = UserSlice::new(arg, _IOC_SIZE(cmd)).reader().read()?;
                *file.cookie.lock() = cookie;
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }
}

/// The module: owns the registration.
struct RmiscModule {
    _reg: Pin<KBox<MiscDeviceRegistration<RmiscFile>>>,
}

impl kernel::Module for RmiscModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let opts = MiscDeviceOptions {
            name: c_str!("rmisc"),
            mode: 0o600,
        };
        let counters = Arc::new(
            Counters {
                opens: AtomicU32::new(0),
            },
            GFP_KERNEL,
        )?;
        let reg = KBox::pin_init(
            MiscDeviceRegistration::register(&FOPS, opts, counters),
            GFP_KERNEL,
        )?;
        pr_info!("/dev/rmisc ready\n");
        Ok(Self { _reg: reg })
    }
}
