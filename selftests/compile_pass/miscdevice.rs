// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// The example of rust/miscdevice.rs: a misc device whose open files are
// `MyDevice`, its file operations declared once, registered for as long as
// the pinned `MiscDeviceRegistration` lives.

use kernel::c_str;
use rmm::miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration};

/// The state of one open file: none.
struct MyDevice;

#[vtable]
impl MiscDevice for MyDevice {
    type Shared = ();
    type Ptr = KBox<MyDevice>;

    fn open(_shared: &()) -> Result<KBox<MyDevice>> {
        Ok(KBox::new(MyDevice, GFP_KERNEL)?)
    }
}

rmm::miscdevice::misc_device_vtable!(static FOPS: MyDevice);

fn case() -> Result {
    let opts = MiscDeviceOptions {
        name: c_str!("mydev"),
        mode: 0o600,
    };
    let reg = KBox::pin_init(
        MiscDeviceRegistration::register(&FOPS, opts, ()),
        GFP_KERNEL,
    )?;
    // `/dev/mydev` exists until the registration is dropped.
    drop(reg);
    Ok(())
}
