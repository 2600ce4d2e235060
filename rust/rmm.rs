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
//! Compiled at the head of `selftests/compile_fail/prelude.rs`, the crate
//! root of every compile-fail and compile-pass case (out-of-tree code has no
//! rustdoc doctests), and of each driver, e.g. `samples/rmisc/rmisc_main.rs`.
//!
//! Out-of-tree modules cannot share a Rust library crate in 6.12, so the
//! abstractions are built once per module, like their C half,
//! [`rust/rmm.c`]. Items a module does not use are dropped by the
//! compiler; `dead_code` is therefore allowed at the root. The items are
//! written with the visibility they would have in the kernel crate, which
//! `unreachable_pub` cannot know about in a private module.
//!
//! The modules of `rust/`:
//!
//! - [`bindings`]: our own bindgen pass (`rust/rmm_bindings.h`).
//! - [`miscdevice`]: misc character devices with a `#[vtable]` of file operations.
//! - [`page`]: owned and locked pages.
//! - [`movable`]: non-LRU movable pages (`struct movable_operations`).
//! - [`mm`]: address spaces (`mm_struct`), `mmap_lock`, GUP; [`mm::virt`]
//!   (`mm/virt.rs`): VMAs (`vm_area_struct`).
//! - [`mmu_notifier`]: MMU notifiers and the invalidation retry protocol.
//! - [`module_param`]: module parameters (`module_param()`), which the 6.12
//!   `module!` cannot declare.
//! - [`hmm`]: a process's page tables read with `hmm_range_fault()`,
//!   faulting nothing.
//! - [`rcu`]: RCU read-side guards, grace periods, page references dropped
//!   after one.
//! - [`shadow`] (`shadow/`): a device MMU's page table in movable pages:
//!   `mod.rs` (the shared core and the design), `entry.rs` (the entry
//!   format and walks), `handle.rs` (the lock-free handle), `writer.rs` (the
//!   writer and teardown), `migrate.rs` (table page migration), `reap.rs`
//!   (giving up emptied tables).
//! - [`mirror`]: a secondary MMU's shadow table, kept by MMU notifiers.
//! - [`debugfs`]: directories and read-only `seq_file` files.
//! - [`kapi`]: a C-callable kernel API for object pools.
//! - [`shrinker`]: shrinkers (`struct shrinker`).
//! - [`memcg`]: charging pages to a memory cgroup.
//! - [`percpu`]: counters kept per CPU, summed when read.
//! - [`vec`]: vector operations that never allocate (for spinlocked code).
//! - [`atomic_table`]: a table of atomics that grows and is read without a lock.
//! - [`volatile`]: objects that are stable, volatile or discarded, changed by CAS.
//! - [`zpool`]: zpool drivers (`struct zpool_driver`), zswap's backends.
//!
//! The other files of `rust/`:
//!
//! - `rmm.rs`: this root, with the helpers and macros every module shares
//!   (module liveness, ops tables owned by the module, errnos the kernel
//!   crate does not name, uapi structs).
//! - `rmm.c`: the C half each driver links in: `helpers/` (one file per
//!   subsystem of one-line wrappers, for what bindgen cannot bind: inline
//!   functions and macros, declared in `helpers/helpers.h`) and the C shims
//!   that must stay C, each with its header and its reason
//!   (`memcg_helper.c`, `zpool_map_helper.c`).
//! - `rmm_bindings.h`, `bindgen_parameters`: the input and the allowlist of
//!   our bindgen pass.
//! - `rmm.kbuild`: the build rules every crate with this tree includes.
//!
//! Every `unsafe` of a module lives here: the drivers are built with
//! `-Dunsafe_code` (see the top-level `Kbuild`), and this tree alone allows
//! it. Macros that expand into a driver and need `unsafe` allow it on the
//! items they generate.

#![allow(dead_code, unreachable_pub, unsafe_code)]

#[path = "atomic_table.rs"]
pub mod atomic_table;
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
#[cfg(CONFIG_MMU_NOTIFIER)]
#[path = "mirror.rs"]
pub mod mirror;
#[path = "miscdevice.rs"]
pub mod miscdevice;
#[path = "mm.rs"]
pub mod mm;
#[cfg(CONFIG_MMU_NOTIFIER)]
#[path = "mmu_notifier.rs"]
pub mod mmu_notifier;
#[path = "module_param.rs"]
pub mod module_param;
#[path = "movable.rs"]
pub mod movable;
#[path = "page.rs"]
pub mod page;
#[path = "percpu.rs"]
pub mod percpu;
#[path = "rcu.rs"]
pub mod rcu;
#[cfg(CONFIG_MMU_NOTIFIER)]
#[path = "shadow/mod.rs"]
pub mod shadow;
#[path = "shrinker.rs"]
pub mod shrinker;
#[path = "vec.rs"]
pub mod vec;
#[path = "volatile.rs"]
pub mod volatile;
#[path = "zpool.rs"]
pub mod zpool;

#[allow(unused_imports)]
pub(crate) use module_param::module_param;

/// The `struct module` of the module this is expanded in, as a raw pointer
/// (null when built in): what C writes as `THIS_MODULE`.
///
/// It is usable in the initialiser of a `static`. The calling crate must
/// include this tree as `crate::rmm`.
#[allow(unused_macros)]
macro_rules! this_module_ptr {
    () => {{
        #[cfg(MODULE)]
        let owner = {
            // Declared as a byte, not as `struct module`: only its address
            // is used, and `struct module` is not FFI-safe in every
            // configuration (an empty `lockdep_map` without lockdep).
            extern "C" {
                static __this_module: ::kernel::types::Opaque<u8>;
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

/// Declares a `static` C ops table owned by the module this is expanded in,
/// as a C driver's `.owner = THIS_MODULE`: `$vtable::build(THIS_MODULE)`.
///
/// The shared part of [`miscdevice::misc_device_vtable!`] and
/// [`debugfs::show_vtable!`]: `$vtable` is one of the tables whose
/// `build(owner)` requires only that `owner` be the module of the code of
/// its `T` ([`miscdevice::MiscDeviceVTable`], [`debugfs::ShowVTable`]). The
/// calling crate must include this tree as `crate::rmm`.
#[allow(unused_macros)]
macro_rules! module_vtable {
    ($vis:vis static $name:ident: $vtable:ty) => {
        #[allow(unsafe_code)]
        $vis static $name: $vtable = {
            let owner = $crate::rmm::this_module_ptr!();
            // This tree is compiled into the crate of each module: `$vtable`'s
            // `T`, which implements a trait of it, is code of this module.
            // SAFETY: `owner` is the module this is expanded in, which contains `T`'s code.
            unsafe { <$vtable>::build(owner) }
        };
    };
}
#[allow(unused_imports)]
pub(crate) use module_vtable;

/// Whether the init of the module `owner` has returned successfully.
///
/// A callback of a user-visible object (a device node, a debugfs file) that
/// runs while this is false runs during the module's init, which may still
/// fail: the loader then frees the module whatever references it holds
/// (`do_init_module()` in [`kernel/module/main.c`]). Such callbacks refuse
/// to start anything that outlives the call (see [`drain_failed_init`]).
///
/// [`kernel/module/main.c`]: srctree/kernel/module/main.c
///
/// # Safety
///
/// `owner` must be null (built-in code) or point to the `struct module` of
/// the caller's own module, which is alive while its code runs.
pub(crate) unsafe fn module_live(owner: *mut kernel::bindings::module) -> bool {
    // Built-in code has no `struct module`, and is always live.
    if owner.is_null() {
        return true;
    }
    // SAFETY: `owner` is our own live module (caller); its state is read once.
    let state = unsafe { bindings::rmm_module_state(owner.cast()) };
    state == kernel::bindings::module_state_MODULE_STATE_LIVE as kernel::ffi::c_int
}

/// Waits until no one but the loader holds a reference to the module
/// `owner`, if its init has not returned successfully.
///
/// Called when a user-visible object of the module goes away.
///
/// During a failed init, an `open` that the object refused ([`module_live`])
/// may still hold the module reference the VFS took for it (`fops_get()`): it
/// is dropped only after the driver's `open` has returned, after the object's
/// own lock. Freeing the module before that would free the code and the `struct
/// module` the VFS is about to touch; once only the loader's own reference is
/// left, nothing of the module is in use. After a successful init (an unload)
/// the count is already zero: `delete_module()` checked it.
///
/// # Safety
///
/// As for [`module_live`]; the object whose opens took references must be
/// gone already (no new reference can be taken through it).
pub(crate) unsafe fn drain_failed_init(owner: *mut kernel::bindings::module) {
    // SAFETY: as the caller guarantees.
    if unsafe { module_live(owner) } {
        return;
    }
    // The loader holds one reference during init (`module_unload_init()`);
    // the others left are those of refused opens, each dropped within a few
    // instructions of its refusal. (At unload the count is already zero.)
    // Built-in code is always live (`module_live`): `owner` is not null.
    // SAFETY: as the caller guarantees.
    while unsafe { bindings::rmm_module_refcount(owner.cast()) } > 1 {
        // SAFETY: a failed init runs in process context, where sleeping is allowed.
        unsafe { bindings::msleep(1) };
    }
}

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

/// `EOPNOTSUPP` ("operation not supported"), which the 6.12 kernel crate
/// does not name.
pub fn eopnotsupp() -> kernel::error::Error {
    kernel::error::Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32))
}

/// `EALREADY` ("operation already in progress"): a state change asked of
/// an object already in that state.
pub fn ealready() -> kernel::error::Error {
    kernel::error::Error::from_errno(-(kernel::bindings::EALREADY as i32))
}

/// `ESTALE`: the contents of the object are not there to be used (they are
/// volatile, or were discarded).
pub fn estale() -> kernel::error::Error {
    kernel::error::Error::from_errno(-(kernel::bindings::ESTALE as i32))
}

/// Binds a value to one callback invocation.
///
/// It is invariant in `'a`, and neither `Send` nor `Sync`, so a token of one
/// call can be neither kept for a later call nor handed to another thread.
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
///
/// Compiled, with a copy to user space and back, as
/// `selftests/compile_pass/uapi.rs` (out-of-tree code has no rustdoc
/// doctests).
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

        const _: () = {
            $(::core::assert!(
                ::core::mem::size_of::<$ty>() > 0,
                "a uapi struct may not have zero-sized fields"
            );)*
            ::core::assert!(
                ::core::mem::size_of::<$name>() == 0 $(+ ::core::mem::size_of::<$ty>())*,
                "a uapi struct must have no padding"
            );
        };

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
/// Every field must be listed, once, with its exact type: a field missing
/// from the list or listed twice, a field of another type (no coercion is
/// applied), a zero-sized field, or padding in the struct, fails to
/// compile. So the header (shared with user space) stays the only
/// definition, and a change to it that this code has not seen cannot slip
/// through.
///
/// ```ignore
/// rmm::uapi_module!(uapi, rmisc);
/// rmm::uapi_bytes!(uapi::rmisc_hello {
///     magic: u32,
///     opens: u32,
///     cookie: u64,
/// });
/// ```
///
/// Compiled as `selftests/compile_pass/uapi.rs`, next to the same struct
/// defined by [`uapi_struct!`]; `samples/rmisc/rmisc_main.rs` answers an
/// ioctl with it. `selftests/compile_fail/uapi_*.rs` are the listings that
/// must not compile.
#[allow(unused_macros)]
macro_rules! uapi_bytes {
    ($ty:path { $($field:ident : $fty:ty),* $(,)? }) => {
        const _: () = {
            // `A: Same<B>` holds only for `A == B`.
            #[allow(dead_code)]
            trait Same<T> {}
            impl<T> Same<T> for T {}
            // Inferred from the field itself, so `A` is the field's type:
            // nothing is coerced on the way.
            #[allow(dead_code)]
            fn same<A: Same<B>, B>(_: &A, _: ::core::marker::PhantomData<B>) {}

            #[allow(dead_code, unused_variables)]
            fn fields(v: &$ty) {
                // A struct pattern without `..` names every field, each once.
                let $ty { $($field),* } = v;
                $(same($field, ::core::marker::PhantomData::<$fty>);)*
            }
            $(::core::assert!(
                ::core::mem::size_of::<$fty>() > 0,
                "a uapi struct may not have zero-sized fields"
            );)*
            // The listed fields fill the struct: no padding.
            ::core::assert!(
                ::core::mem::size_of::<$ty>() == 0 $(+ ::core::mem::size_of::<$fty>())*,
                "a uapi struct must list every field and have no padding"
            );
        };

        // SAFETY: a C struct whose fields, each listed once with its type
        // (all `FromBytes`, none zero-sized), fill it with no padding
        // (checked above).
        #[allow(unsafe_code)]
        unsafe impl ::kernel::types::FromBytes for $ty where $($fty: ::kernel::types::FromBytes),* {}

        // SAFETY: as above, with every field `AsBytes`.
        #[allow(unsafe_code)]
        unsafe impl ::kernel::types::AsBytes for $ty where $($fty: ::kernel::types::AsBytes),* {}
    };
}
#[allow(unused_imports)]
pub(crate) use uapi_bytes;

/// Includes the bindings our bindgen pass generated from the uapi header of
/// the driver `$driver`, as the module `$name`.
///
/// The header is `samples/<driver>/<driver>_uapi_rs.h` (see
/// `rust/rmm.kbuild`); `rmm::uapi_module!(uapi, rzpool);` makes `uapi`.
///
/// The generated code is bindgen's (it may implement `Default` with
/// `unsafe`), not the driver's: the module allows `unsafe_code`. That is
/// why it takes a driver name and not a path: the file comes from the
/// build's own `rust/uapi/` directory (an absolute path the build passes in
/// `RMM_UAPI_DIR`), never from a file of the driver's choosing.
#[allow(unused_macros)]
macro_rules! uapi_module {
    ($name:ident, $driver:ident) => {
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
            include!(concat!(
                env!("RMM_UAPI_DIR"),
                "/",
                stringify!($driver),
                "_uapi_generated.rs"
            ));
        }
    };
}
#[allow(unused_imports)]
pub(crate) use uapi_module;
