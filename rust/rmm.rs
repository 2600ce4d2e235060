// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! rmm: safe abstractions over C interfaces the 6.12 kernel crate does not cover.
//!
//! Each rmm module compiles this tree into its own crate as the module `rmm`:
//!
//! ```ignore
//! #[path = "../../rust/rmm.rs"]
//! mod rmm;
//! ```
//!
//! Out-of-tree modules cannot share a Rust library crate in 6.12, so the
//! abstractions are built once per module, like the C helpers of
//! [`rust/helpers.c`]. Items a module does not use are dropped by the
//! compiler; `dead_code` is therefore allowed at the root. The items are
//! written with the visibility they would have in the kernel crate, which
//! `unreachable_pub` cannot know about in a private module.
//!
//! - [`bindings`]: our own bindgen pass (`rust/rmm_bindings.h`).
//! - [`miscdevice`]: misc character devices with a `#[vtable]` of file operations.
//! - [`page`]: owned and locked pages.
//! - [`movable`]: non-LRU movable pages (`struct movable_operations`).
//! - [`mm`]: address spaces (`mm_struct`), `mmap_lock`, GUP.
//! - [`mmu_notifier`]: MMU notifiers and the invalidation retry protocol.
//! - [`mirror`]: a secondary MMU's shadow table, kept by MMU notifiers.
//! - [`debugfs`]: directories and read-only `seq_file` files.
//! - [`kapi`]: a C-callable kernel API for object pools.
//! - [`shrinker`]: shrinkers (`struct shrinker`).
//! - [`memcg`]: charging pages to a memory cgroup.
//! - [`vec`]: vector operations that never allocate (for spinlocked code).
//! - [`zpool`]: zpool drivers (`struct zpool_driver`), zswap's backends.
//!
//! Every `unsafe` of a module lives here: the drivers are built with
//! `-Dunsafe_code` (see the top-level `Kbuild`), and this tree alone allows
//! it. Macros that expand into a driver and need `unsafe` allow it on the
//! items they generate.

#![allow(dead_code, unreachable_pub, unsafe_code)]

#[path = "bindings.rs"]
pub mod bindings;
#[path = "debugfs.rs"]
pub mod debugfs;
#[cfg(CONFIG_HMM_MIRROR)]
#[path = "hmm.rs"]
pub mod hmm;
#[path = "kapi.rs"]
pub mod kapi;
#[path = "memcg.rs"]
pub mod memcg;
#[path = "mirror.rs"]
pub mod mirror;
#[path = "miscdevice.rs"]
pub mod miscdevice;
#[path = "mm.rs"]
pub mod mm;
#[path = "mmu_notifier.rs"]
pub mod mmu_notifier;
#[path = "movable.rs"]
pub mod movable;
#[path = "page.rs"]
pub mod page;
#[path = "shadow.rs"]
pub mod shadow;
#[path = "shrinker.rs"]
pub mod shrinker;
#[path = "vec.rs"]
pub mod vec;
#[path = "zpool.rs"]
pub mod zpool;

/// The `struct module` of the module this is expanded in, as a raw pointer
/// (null when built in): what C writes as `THIS_MODULE`, usable in the
/// initialiser of a `static`. The calling crate must include this tree as
/// `crate::rmm`.
#[allow(unused_macros)]
macro_rules! this_module_ptr {
    () => {{
        #[cfg(MODULE)]
        let owner = {
            extern "C" {
                static __this_module: ::kernel::types::Opaque<::kernel::bindings::module>;
            }
            // The module loader defines `__this_module` for every module.
            #[allow(unused_unsafe, unsafe_code)]
            // SAFETY: only the address of `__this_module` is taken, never its value.
            let module = unsafe { ::core::ptr::addr_of!(__this_module) };
            module.cast_mut().cast::<::kernel::bindings::module>()
        };
        #[cfg(not(MODULE))]
        let owner = ::core::ptr::null_mut::<::kernel::bindings::module>();
        owner
    }};
}
#[allow(unused_imports)]
pub(crate) use this_module_ptr;

/// Whether the current task has a fatal signal pending (it is being killed).
pub fn fatal_signal_pending() -> bool {
    // SAFETY: the helper only reads `current`'s signal state.
    unsafe { bindings::rmm_fatal_signal_pending() }
}

/// Sleeps for `ms` milliseconds unless a signal comes first; returns the
/// milliseconds left (0 if the whole time passed).
pub fn msleep_interruptible(ms: u32) -> u32 {
    // SAFETY: sleeping is allowed in process context, where drivers call it.
    unsafe { bindings::msleep_interruptible(ms) as u32 }
}

/// Whether `path` exists (`kern_path()`), e.g. another driver's device node.
pub fn path_exists(path: &kernel::str::CStr) -> bool {
    // SAFETY: `path` is a valid NUL-terminated string for the call.
    unsafe { bindings::rmm_path_exists(path.as_char_ptr()) }
}

/// `EOPNOTSUPP` ("operation not supported"), which the 6.12 kernel crate
/// does not name.
pub fn eopnotsupp() -> kernel::error::Error {
    kernel::error::Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32))
}

/// Binds a value to one callback invocation: invariant in `'a`, and neither
/// `Send` nor `Sync`, so a token of one call can be neither kept for a later
/// call nor handed to another thread.
pub(crate) type CallbackBound<'a> = core::marker::PhantomData<(*mut (), fn(&'a ()) -> &'a ())>;

/// A zeroed buffer of `len` bytes (`kvzalloc`), e.g. a bounce buffer for
/// user copies.
pub fn zeroed_buf(len: usize) -> kernel::error::Result<kernel::alloc::KVVec<u8>> {
    use kernel::alloc::flags::{__GFP_ZERO, GFP_KERNEL};
    let mut buf = kernel::alloc::KVVec::with_capacity(len, GFP_KERNEL | __GFP_ZERO)?;
    // The allocator zeroed the `len` bytes (`__GFP_ZERO`), and zero is a
    // valid `u8`.
    // SAFETY: `len` is within the capacity just allocated, all initialised.
    unsafe { buf.set_len(len) };
    Ok(buf)
}

/// Defines a `repr(C)` struct of a uapi header, readable from and writable to
/// user space (`FromBytes` and `AsBytes`).
///
/// The struct may only have fields that are themselves `FromBytes` and
/// `AsBytes` (integers, arrays of them), and no padding: both are checked at
/// compile time, which is what makes any byte pattern a valid value and every
/// byte initialised.
///
/// ```ignore
/// rmm::uapi_struct! {
///     /// `struct rmisc_hello` of `rmisc_uapi.h`.
///     struct Hello { magic: u32, opens: u32, cookie: u64 }
/// }
/// ```
#[allow(unused_macros)]
macro_rules! uapi_struct {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Default)]
        $vis struct $name {
            $($(#[$fmeta])* $fvis $field: $ty),*
        }

        const _: () = ::core::assert!(
            ::core::mem::size_of::<$name>() == 0 $(+ ::core::mem::size_of::<$ty>())*,
            "a uapi struct must have no padding"
        );

        // SAFETY: `repr(C)` with no padding (asserted above), and every field is `FromBytes`.
        #[allow(unsafe_code)]
        unsafe impl ::kernel::types::FromBytes for $name
        where
            $($ty: ::kernel::types::FromBytes),*
        {
        }

        // SAFETY: `repr(C)` with no padding (asserted above), and every field is `AsBytes`.
        #[allow(unsafe_code)]
        unsafe impl ::kernel::types::AsBytes for $name
        where
            $($ty: ::kernel::types::AsBytes),*
        {
        }
    };
}
#[allow(unused_imports)]
pub(crate) use uapi_struct;

/// Makes a struct that bindgen generated from a uapi header readable from
/// and writable to user space (`FromBytes` and `AsBytes`).
///
/// Every field must be listed with its type: a field missing from the list,
/// or of another type, or padding in the struct, fails to compile. So the
/// header (shared with user space) stays the only definition, and a change
/// to it that this code has not seen cannot slip through.
///
/// ```ignore
/// rmm::uapi_bytes!(uapi::rmisc_hello { magic: u32, opens: u32, cookie: u64 });
/// ```
#[allow(unused_macros)]
macro_rules! uapi_bytes {
    ($ty:path { $($field:ident : $fty:ty),* $(,)? }) => {
        const _: () = {
            // Each listed field exists with the listed type.
            #[allow(dead_code)]
            fn fields(v: &$ty) {
                $(let _: &$fty = &v.$field;)*
            }
            // The listed fields fill the struct: none is missing, no padding.
            ::core::assert!(
                ::core::mem::size_of::<$ty>() == 0 $(+ ::core::mem::size_of::<$fty>())*,
                "a uapi struct must list every field and have no padding"
            );
        };

        // SAFETY: a C struct whose listed fields (all `FromBytes`) fill it, with
        // no padding (asserted above).
        #[allow(unsafe_code)]
        unsafe impl ::kernel::types::FromBytes for $ty where $($fty: ::kernel::types::FromBytes),* {}

        // SAFETY: as above, with every field `AsBytes`.
        #[allow(unsafe_code)]
        unsafe impl ::kernel::types::AsBytes for $ty where $($fty: ::kernel::types::AsBytes),* {}
    };
}
#[allow(unused_imports)]
pub(crate) use uapi_bytes;

/// Includes the bindings our bindgen pass generated from a driver's
/// `<driver>_uapi_rs.h` (see `rust/rmm.kbuild`), as a module; the path is
/// relative to the driver's source:
/// `rmm::uapi_module!(uapi, "../../rust/uapi/rzpool_uapi_generated.rs");`.
///
/// The generated code is bindgen's (it may implement `Default` with
/// `unsafe`), not the driver's: the module allows `unsafe_code`.
#[allow(unused_macros)]
macro_rules! uapi_module {
    ($name:ident, $file:literal) => {
        #[allow(
            dead_code,
            non_camel_case_types,
            non_upper_case_globals,
            unreachable_pub,
            missing_docs,
            unsafe_code,
            unused_imports,
            clippy::all
        )]
        mod $name {
            include!($file);
        }
    };
}
#[allow(unused_imports)]
pub(crate) use uapi_module;
