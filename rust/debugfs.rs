// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! debugfs directories and read-only `seq_file` files.
//!
//! C headers: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h),
//! [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h).
//!
//! As in C, failures to create debugfs entries are not errors: debugfs is for
//! debugging, and a missing entry must not stop a driver. The objects here
//! hold whatever debugfs returned and remove it on drop.
//!
//! # Lifetimes
//!
//! - A [`Dir`] is shared through [`Arc`]: every subdirectory and file holds
//!   its parent, so no parent is removed (recursively, by
//!   `debugfs_remove()`) while a child object still refers to its dentry.
//! - A [`File`] owns an `Arc<T>` of the data it shows, released only after
//!   `debugfs_remove()` returned: debugfs waits there for running callbacks,
//!   and afterwards answers `-EIO` without calling ours.
//! - The file operations are a `static` whose owner is the module (see
//!   [`show_vtable!`]): debugfs pins the owner of the operations of
//!   an open file, so the module cannot go away under it.
//!
//! # Examples
//!
//! `samples/rzpool/debugfs.rs`: a directory per pool ([`Dir::subdir`]) with
//! three read-only files, each a [`Show`] type whose operations
//! [`show_vtable!`] declares once.

use super::bindings as rmm_bindings;
use core::{ffi::c_void, fmt, marker::PhantomData, mem::MaybeUninit, ptr};
use kernel::{bindings, ffi::c_int, prelude::*, str::CStr, sync::Arc, types::ForeignOwnable};

/// A debugfs directory, removed with everything in it on drop.
///
/// # Invariants
///
/// `dentry` is what `debugfs_create_dir()` returned: a directory, or an
/// error pointer (then nothing is created below it).
pub struct Dir {
    dentry: *mut bindings::dentry,
    _parent: Option<Arc<Dir>>,
}

// SAFETY: debugfs entries can be created and removed from any thread.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` gives nothing but the dentry pointer to the C side.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates a directory at the top of debugfs.
    pub fn new(name: &CStr) -> Result<Arc<Self>> {
        Self::create(name, None)
    }

    /// Creates a directory in `parent`.
    pub fn subdir(parent: &Arc<Dir>, name: &CStr) -> Result<Arc<Self>> {
        Self::create(name, Some(parent.clone()))
    }

    fn create(name: &CStr, parent: Option<Arc<Dir>>) -> Result<Arc<Self>> {
        let p = parent.as_ref().map_or(core::ptr::null_mut(), |d| d.dentry);
        // `p` is null, a directory `parent` keeps alive, or an error pointer.
        // SAFETY: `name` is a valid C string, and debugfs accepts any such `p`.
        let dentry = unsafe { rmm_bindings::debugfs_create_dir(name.as_char_ptr(), p) };
        // INVARIANT: whatever `debugfs_create_dir()` returned.
        Ok(Arc::new(
            Self {
                dentry,
                _parent: parent,
            },
            GFP_KERNEL,
        )?)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // Every child object holds an `Arc` of this directory, so none is left.
        // SAFETY: `debugfs_remove()` accepts any dentry we hold, error pointers too.
        unsafe { rmm_bindings::debugfs_remove(self.dentry) };
    }
}

/// What a read-only debugfs file shows.
pub trait Show: Send + Sync + Sized + 'static {
    /// Writes the whole contents of the file.
    fn show(&self, m: &mut SeqFile<'_>) -> fmt::Result;
}

/// The `struct seq_file` a [`Show`] writes to.
///
/// # Invariants
///
/// `m` is a valid `seq_file` inside its `show` callback for `'a`.
pub struct SeqFile<'a> {
    m: *mut bindings::seq_file,
    _p: PhantomData<&'a mut bindings::seq_file>,
}

impl fmt::Write for SeqFile<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // An overflowing `seq_file` is grown and shown again: the result can be ignored.
        // SAFETY: `m` is valid for the callback (type invariant); `s` for `s.len()` bytes.
        unsafe { rmm_bindings::seq_write(self.m, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// The `struct file_operations` of a [`Show`] file showing a `T`.
///
/// [`Self::VTABLE`] is a template with no owner: the owner is the module
/// that implements `T`, and [`show_vtable!`] puts a copy with that owner
/// ([`Self::build`]) in a `static` of the module; the C side only reads it.
///
/// # Invariants
///
/// `fops.owner` is the module that implements `T` (or null if built in);
/// the callbacks are the `seq_file` ones and our trampoline for `T`.
pub struct ShowVTable<T: Show> {
    fops: bindings::file_operations,
    _t: PhantomData<T>,
}

// SAFETY: never mutated after it is built; C only reads it.
unsafe impl<T: Show> Sync for ShowVTable<T> {}

impl<T: Show> ShowVTable<T> {
    /// The file operations of `T` with no owner (`owner` is the module's,
    /// given to [`Self::build`]).
    const VTABLE: bindings::file_operations = bindings::file_operations {
        owner: ptr::null_mut(),
        open: Some(Self::open),
        read: Some(rmm_bindings::seq_read),
        llseek: Some(rmm_bindings::seq_lseek),
        release: Some(rmm_bindings::single_release),
        // SAFETY: all zeros is a valid `struct file_operations`.
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    /// The file operations of `T` owned by `owner`: a copy of
    /// [`Self::VTABLE`]. Use [`show_vtable!`] rather than calling this.
    ///
    /// # Safety
    ///
    /// `owner` must be the module that implements `T` (or null if built in).
    pub const unsafe fn build(owner: *mut bindings::module) -> Self {
        // INVARIANT: `owner` as the caller guarantees; our callbacks.
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
    /// Called by debugfs to open a file created by [`File::new`], whose
    /// `i_private` holds an `Arc<T>` alive until the file is removed.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // debugfs's proxy put the owner of our operations in `real_fops`,
        // which is where `debugfs_real_fops()` finds them.
        // SAFETY: `file` is valid for the call; `f_op` is debugfs's proxy or ours.
        let owner = unsafe { (*rmm_bindings::debugfs_real_fops(file)).owner };
        // A file opened while the module's init may still fail could outlive
        // its code. (A refused open drops its module reference before
        // debugfs lets the file be removed: no drain is needed, unlike
        // `miscdevice`.)
        // SAFETY: `owner` is null or this module, alive while its code runs.
        if !unsafe { super::module_live(owner) } {
            return ENODEV.to_errno();
        }
        // `single_open()` keeps `i_private` as the `seq_file`'s private data.
        // SAFETY: `inode` and `file` are valid for the call.
        unsafe { rmm_bindings::single_open(file, Some(Self::show), (*inode).i_private) }
    }

    /// # Safety
    ///
    /// Called by the `seq_file` core for a file opened by [`Self::open`]:
    /// `m->private` is the `i_private` of a file made by [`File::new`], which
    /// debugfs keeps from being removed during the call. (The second argument
    /// is the iterator token of `single_open()`, not the data.)
    unsafe extern "C" fn show(m: *mut bindings::seq_file, _token: *mut c_void) -> c_int {
        // `private` is released only after the file is removed.
        // SAFETY: `m` is valid; `private` came from `Arc::into_foreign()` in `File::new`.
        let this = unsafe { <Arc<T> as ForeignOwnable>::borrow((*m).private) };
        // INVARIANT: `m` is valid for this callback.
        let mut seq = SeqFile { m, _p: PhantomData };
        match this.show(&mut seq) {
            Ok(()) => 0,
            Err(_) => EINVAL.to_errno(),
        }
    }
}

/// Declares the `static` file operations of a [`Show`] type, owned by the
/// calling module: `show_vtable!(static CLASSES: PoolClasses);` expands to a
/// `static CLASSES: ShowVTable<PoolClasses>`.
#[allow(unused_macros)]
macro_rules! show_vtable {
    ($vis:vis static $name:ident: $t:ty) => {
        $crate::rmm::module_vtable!($vis static $name: $crate::rmm::debugfs::ShowVTable<$t>);
    };
}
#[allow(unused_imports)]
pub(crate) use show_vtable;

/// A read-only debugfs file showing a `T`; removed on drop.
///
/// # Invariants
///
/// `dentry` is what `debugfs_create_file()` returned; if it is a file, its
/// `i_private` is `data`, which owns an `Arc<T>` made by `into_foreign()`.
pub struct File<T: Show> {
    dentry: *mut bindings::dentry,
    data: *const c_void,
    _parent: Arc<Dir>,
    _t: PhantomData<Arc<T>>,
}

// SAFETY: the file holds an `Arc<T>` with `T: Send + Sync`.
unsafe impl<T: Show> Send for File<T> {}
// SAFETY: `&File` exposes nothing.
unsafe impl<T: Show> Sync for File<T> {}

impl<T: Show> File<T> {
    /// Creates `name` (mode 0400) in `parent`, showing `data`.
    pub fn new(parent: &Arc<Dir>, name: &CStr, fops: &'static ShowVTable<T>, data: Arc<T>) -> Self {
        let data = data.into_foreign();
        // The parent is kept by the `Arc` stored below; `data` lives until `drop`.
        // SAFETY: `name` is a valid string, `fops` is static, `data` outlives the file.
        let dentry = unsafe {
            rmm_bindings::debugfs_create_file(
                name.as_char_ptr(),
                0o400,
                parent.dentry,
                data.cast_mut(),
                &fops.fops,
            )
        };
        // INVARIANT: as created above.
        Self {
            dentry,
            data,
            _parent: parent.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Show> Drop for File<T> {
    fn drop(&mut self) {
        // SAFETY: `debugfs_remove()` accepts error pointers; it waits for running callbacks.
        unsafe { rmm_bindings::debugfs_remove(self.dentry) };
        // The file is gone: no callback can use `data` any more.
        // SAFETY: `data` came from `into_foreign()` and is freed only here.
        drop(unsafe { <Arc<T> as ForeignOwnable>::from_foreign(self.data) });
    }
}
