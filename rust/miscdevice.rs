// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Misc character devices.
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h).
//!
//! A driver implements [`MiscDevice`] for the state of one open file, declares
//! its file operations once with [`misc_device_vtable!`] and keeps a pinned
//! [`MiscDeviceRegistration`] for as long as the device node should exist; the
//! names of the registration, of its [`MiscDeviceOptions`] and of the
//! [`MiscDeviceVTable`] are mainline's (newer than 6.12, which spells the last
//! `MiscdeviceVTable`):
//!
//! ```ignore
//! rmm::miscdevice::misc_device_vtable!(static FOPS: MyDevice);
//!
//! let opts = MiscDeviceOptions {
//!     name: c_str!("mydev"),
//!     mode: 0o600,
//! };
//! let reg = KBox::pin_init(
//!     MiscDeviceRegistration::register(&FOPS, opts, ()),
//!     GFP_KERNEL,
//! )?;
//! ```
//!
//! Compiled, with a `MyDevice` that keeps no state, as
//! `selftests/compile_pass/miscdevice.rs` (out-of-tree code has no rustdoc
//! doctests); `samples/rmisc/rmisc_main.rs` is a whole driver, with ioctls.
//!
//! # Lifetimes
//!
//! Unlike a table built inside the registration, the file operations are a
//! `static` whose `owner` is the module, exactly as a C driver's
//! `.owner = THIS_MODULE`: every open file holds a reference to the module, so
//! the module (and the code of every callback) cannot go away while a file is
//! open. `rmmod` of a module with an open device fails with `-EBUSY`.
//!
//! A device registered during the module's init can be opened at once, but
//! the init may still fail, and the loader then frees the module whatever
//! its reference count. Until the init has returned successfully every open
//! is therefore refused with `ENODEV`, and a [`MiscDeviceRegistration`]
//! dropped by a failed init waits for the references of the refused opens to
//! be dropped: the order in which an init registers its devices and takes its
//! other fallible steps does not matter.
//!
//! `misc_open()` runs [`MiscDevice::open`] under `misc_mtx`, which
//! `misc_deregister()` also takes: the shared data of a
//! [`MiscDeviceRegistration`] is therefore alive for the whole of every `open`
//! call. What an open file needs afterwards it must own in its
//! [`MiscDevice::Ptr`].

use super::{bindings as rmm_bindings, mm::virt::VmaNew};
use core::{marker::PhantomData, mem::MaybeUninit, pin::Pin, ptr};
use kernel::{
    bindings, build_error,
    error::{to_result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_long, c_uint, c_ulong},
    prelude::*,
    str::{CStr, CString},
    types::{ForeignOwnable, Opaque},
};

/// The options of a misc device, given to [`MiscDeviceRegistration::register`].
///
/// The minor is always dynamic (`MISC_DYNAMIC_MINOR`), as with mainline's
/// `MiscDeviceOptions`, which has only the name.
#[derive(Copy, Clone)]
pub struct MiscDeviceOptions {
    /// The name of the device node, `/dev/<name>`.
    pub name: &'static CStr,
    /// The permission bits of the device node; `0o600` for root only.
    pub mode: u16,
}

/// The `struct file_operations` of a misc device whose open files are `T`:
/// one trampoline per callback.
///
/// [`Self::VTABLE`] is a template with no owner: as a C driver's
/// `.owner = THIS_MODULE`, the owner is the module that implements `T`,
/// known only where it is expanded. [`misc_device_vtable!`] puts a copy with
/// that owner ([`Self::build`]) in a `static` of the module; the C side only
/// reads it.
///
/// # Invariants
///
/// `fops.owner` is the module that contains the code of `T`'s callbacks (or
/// null when that code is built into the kernel), and every callback in `fops`
/// is one of [`MiscDeviceVTable`]'s trampolines for `T`.
pub struct MiscDeviceVTable<T: MiscDevice> {
    fops: bindings::file_operations,
    _t: PhantomData<T>,
}

// SAFETY: `MiscDeviceVTable` is never mutated after it is built; the C side
// only reads it, from any thread.
unsafe impl<T: MiscDevice> Sync for MiscDeviceVTable<T> {}

impl<T: MiscDevice> MiscDeviceVTable<T> {
    /// The file operations of `T` with no owner (`owner` is the module's,
    /// given to [`Self::build`]).
    const VTABLE: bindings::file_operations = bindings::file_operations {
        owner: ptr::null_mut(),
        open: Some(Self::open),
        release: Some(Self::release),
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        #[cfg(CONFIG_COMPAT)]
        compat_ioctl: if T::HAS_IOCTL {
            Some(rmm_bindings::compat_ptr_ioctl)
        } else {
            None
        },
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        llseek: Some(bindings::noop_llseek),
        // SAFETY: all zeros is a valid `struct file_operations` (no callback).
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    /// The file operations of `T` owned by `owner`: a copy of
    /// [`Self::VTABLE`].
    ///
    /// Use [`misc_device_vtable!`] rather than calling this directly.
    ///
    /// # Safety
    ///
    /// `owner` must point to the `struct module` of the module that contains
    /// the implementation of `T`, or be null if that code is built in.
    pub const unsafe fn build(owner: *mut bindings::module) -> Self {
        // INVARIANT: the caller guarantees `owner`; the callbacks are ours.
        Self {
            fops: bindings::file_operations {
                owner,
                ..Self::VTABLE
            },
            _t: PhantomData,
        }
    }

    /// # Safety
    ///
    /// Called by `misc_open()` for a file being opened on a device registered
    /// with these operations: `file->private_data` points to the `struct
    /// miscdevice` of a live [`MiscDeviceRegistration<T>`], and `misc_mtx` is
    /// held.
    unsafe extern "C" fn open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // `misc_open()` set `private_data` to the registered `struct miscdevice`.
        // SAFETY: `file` is valid for the call (safety contract).
        let misc = unsafe { (*file).private_data }.cast::<rmm_bindings::miscdevice>();
        // The registration stays alive while `misc_mtx` is held (deregistering takes it).
        // SAFETY: `misc` is the `inner` field of a live `MiscDeviceRegistration<T>`.
        let reg = unsafe { &*kernel::container_of!(misc, MiscDeviceRegistration<T>, inner) };
        // `misc` is registered with our operations, whose owner is the
        // module running this code (type invariant of `MiscDeviceVTable`).
        // SAFETY: as just said, `misc->fops` points to valid operations.
        let owner = unsafe { (*(*misc).fops).owner };
        // SAFETY: `owner` is null or this module, alive while its code runs.
        if !unsafe { super::module_live(owner) } {
            // The module's init has not returned yet and may still fail: a
            // file opened now could outlive the module's code.
            return ENODEV.to_errno();
        }

        match T::open(&reg.shared) {
            Ok(ptr) => {
                // From here on `private_data` is owned by the file: `release`
                // turns it back into a `T::Ptr` exactly once.
                //
                // SAFETY: `file` is valid and not yet visible to anyone else.
                unsafe { (*file).private_data = ptr.into_foreign().cast_mut() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called once by the VFS when the last reference to a file opened with a
    /// successful [`Self::open`] goes away.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `open` stored a `T::Ptr` in `private_data`; only this takes it back.
        let ptr = unsafe { T::Ptr::from_foreign((*file).private_data) };
        T::release(ptr);
        0
    }

    /// # Safety
    ///
    /// Called by the VFS on a file opened with a successful [`Self::open`] and
    /// not yet released.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // `release` cannot run meanwhile: the VFS holds a reference to the file.
        // SAFETY: `private_data` holds the `T::Ptr` stored by `open`.
        let device = unsafe { T::Ptr::borrow((*file).private_data) };
        match T::ioctl(device, cmd, arg) {
            Ok(ret) => ret as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// # Safety
    ///
    /// Called by `mmap_region()` on a file opened with a successful
    /// [`Self::open`], with `vma` a new VMA being set up under `mmap_lock`
    /// held for writing.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // The file is referenced for the call.
        // SAFETY: `private_data` holds the `T::Ptr` stored by `open`.
        let device = unsafe { T::Ptr::borrow((*file).private_data) };
        // SAFETY: a new VMA under `mmap_lock` for writing, for the call.
        let vma = unsafe { VmaNew::from_raw(vma) };
        match T::mmap(device, vma) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
}

/// Declares the `static` file operations of a misc device type.
///
/// `misc_device_vtable!(static FOPS: MyDevice);` expands to a
/// `static FOPS: MiscDeviceVTable<MyDevice>` whose owner is the calling
/// module. The calling crate must include the rmm tree as `crate::rmm`.
#[allow(unused_macros)]
macro_rules! misc_device_vtable {
    ($vis:vis static $name:ident: $t:ty) => {
        $crate::rmm::module_vtable!(
            $vis static $name: $crate::rmm::miscdevice::MiscDeviceVTable<$t>
        );
    };
}

#[allow(unused_imports)]
pub(crate) use misc_device_vtable;

/// The state of one open file of a misc device.
///
/// # Examples
///
/// `selftests/compile_pass/miscdevice.rs` (the example of the module
/// documentation) and `samples/rmisc/rmisc_main.rs`, which has ioctls.
#[vtable]
pub trait MiscDevice: Sized + 'static {
    /// Data shared by every open file, owned by the [`MiscDeviceRegistration`].
    type Shared: Send + Sync;

    /// What the file's private data is: the per-file state, as a pointer.
    type Ptr: ForeignOwnable + Send + Sync;

    /// Called when the device is opened; the result becomes the file's state.
    fn open(shared: &Self::Shared) -> Result<Self::Ptr>;

    /// Called when the last reference to the open file goes away.
    fn release(device: Self::Ptr) {
        drop(device);
    }

    /// Maps the device into a process: `vma` is the new mapping, which the
    /// driver may fill ([`VmaNew::insert_page`]).
    fn mmap(_device: <Self::Ptr as ForeignOwnable>::Borrowed<'_>, _vma: &VmaNew) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles an ioctl, answering an unknown `cmd` with `ENOTTY`.
    ///
    /// `arg` is usually a user pointer: read it with [`kernel::uaccess`].
    fn ioctl(
        _device: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A registered misc device.
///
/// # Invariants
///
/// `inner` is registered with `misc_register()` and points to `'static` file
/// operations for `T`; it is deregistered when the registration is dropped.
#[pin_data(PinnedDrop)]
pub struct MiscDeviceRegistration<T: MiscDevice> {
    #[pin]
    inner: Opaque<rmm_bindings::miscdevice>,
    #[pin]
    shared: T::Shared,
}

// SAFETY: `misc_deregister()` may be called from any thread, and the shared
// data is `Send`.
unsafe impl<T: MiscDevice> Send for MiscDeviceRegistration<T> {}

// SAFETY: a `&MiscDeviceRegistration` gives only `&T::Shared`, which is `Sync`.
unsafe impl<T: MiscDevice> Sync for MiscDeviceRegistration<T> {}

impl<T: MiscDevice> MiscDeviceRegistration<T> {
    /// Registers a misc device with the given file operations and options;
    /// `shared` initialises the data every open file sees.
    pub fn register(
        fops: &'static MiscDeviceVTable<T>,
        opts: MiscDeviceOptions,
        shared: impl PinInit<T::Shared, Error>,
    ) -> impl PinInit<Self, Error> {
        let register = move |slot: *mut Opaque<rmm_bindings::miscdevice>| {
            let misc = Opaque::raw_get(slot);
            // SAFETY: `misc` is valid for writes, and all zeros is a valid `struct miscdevice`.
            unsafe { misc.write(MaybeUninit::zeroed().assume_init()) };
            // SAFETY: `misc` was just initialised and is not shared yet.
            let m = unsafe { &mut *misc };
            m.minor = rmm_bindings::MISC_DYNAMIC_MINOR as c_int;
            m.name = opts.name.as_char_ptr();
            m.mode = opts.mode;
            m.fops = &fops.fops;
            // INVARIANT: on success the device is registered; the memory is
            // pinned and deregistered in `drop` before it is freed.
            // SAFETY: `misc` is a fully initialised, pinned `struct miscdevice`.
            to_result(unsafe { rmm_bindings::misc_register(misc) })
        };
        // On failure `register` leaves nothing that needs dropping.
        // SAFETY: `register` fully initialises the slot when it returns `Ok`.
        let inner = unsafe { kernel::init::pin_init_from_closure(register) };
        try_pin_init!(Self {
            // `shared` first: `open` can run as soon as the device is registered.
            shared <- shared,
            inner <- inner,
        })
    }

    /// The data shared by every open file.
    pub fn shared(&self) -> &T::Shared {
        &self.shared
    }

    /// Fails with `EEXIST` if `/dev/<name>` is another device's node.
    ///
    /// `misc_register()` fails with `EEXIST` for a name another misc device
    /// has (sysfs refuses the second `misc/<name>`), but not for one that a
    /// device of another class, or of none, has (lib/test_hmm.c's
    /// `hmm_dmirror0`): that device lives elsewhere in sysfs, and devtmpfs,
    /// which makes the node while `misc_register()` runs, keeps the node it
    /// has and says nothing (`device_add()` ignores what
    /// `devtmpfs_create_node()` returns). The device then has no node, and
    /// its name opens the other device. This looks at the node the caller's
    /// `/dev` has: if there is none (no devtmpfs there, or one that udev
    /// makes later), there is nothing to say.
    pub fn check_node(&self) -> Result {
        let misc = self.inner.get();
        // The device is registered (type invariant): `name` is the
        // `'static` name it was registered with, and `this_device` its
        // device, alive until it is deregistered in `drop`.
        // SAFETY: as just said.
        let (name, devt) = unsafe {
            (
                CStr::from_char_ptr((*misc).name),
                (*(*misc).this_device).devt,
            )
        };
        let path = CString::try_from_fmt(kernel::fmt!("/dev/{}", name))?;
        let mut found = MaybeUninit::<bindings::path>::uninit();
        // `path` is a NUL-terminated string and `found` is writable for the
        // call; on success `found` holds a reference to the path.
        // SAFETY: as just said.
        if unsafe { rmm_bindings::kern_path(path.as_char_ptr(), 0, found.as_mut_ptr()) } != 0 {
            return Ok(());
        }
        // `kern_path()` found a positive dentry (one with an inode), and the
        // reference it took keeps both alive until `path_put()`.
        // SAFETY: as just said.
        let (mode, rdev) = unsafe {
            let inode = (*(*found.as_ptr()).dentry).d_inode;
            (u32::from((*inode).i_mode), (*inode).i_rdev)
        };
        // SAFETY: `kern_path()` succeeded: `found` holds its reference, dropped here.
        unsafe { bindings::path_put(found.as_ptr()) };
        if (mode & bindings::S_IFMT) == bindings::S_IFCHR && rdev == devt {
            Ok(())
        } else {
            Err(EEXIST)
        }
    }
}

#[pinned_drop]
impl<T: MiscDevice> PinnedDrop for MiscDeviceRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        let misc = self.inner.get();
        // Afterwards no `open` can start, and a running one has finished (`misc_mtx`).
        // SAFETY: the device is registered (type invariant).
        unsafe { rmm_bindings::misc_deregister(misc) };
        // `fops` points to our `'static` operations (type invariant), whose
        // owner is this module; the device is gone.
        // SAFETY: as just said.
        unsafe { super::drain_failed_init((*(*misc).fops).owner) };
    }
}
