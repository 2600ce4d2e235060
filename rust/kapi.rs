// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! A kernel API for object pools: lets C modules use a Rust pool.
//!
//! zsmalloc's users (zram, zswap) call it through plain C functions on an
//! opaque `struct zs_pool *`. A Rust pool that implements [`ObjectPool`] gets
//! the same shape with [`export_object_pool!`]: one `extern "C"` function per
//! operation on an opaque pointer, under names the module chooses, which its C
//! shim exports with `EXPORT_SYMBOL_GPL()` and declares in a header.
//!
//! # Safety contract of the C API
//!
//! The pool pointer must come from the module's create function and not have
//! been passed to its destroy function yet. Buffers must be valid for `len`
//! bytes, and may be `NULL` only when `len` is 0. The functions may sleep.

/// An object pool usable from C through [`export_object_pool!`].
///
/// # Examples
///
/// `selftests/compile_pass/kapi.rs` implements the least pool there is and
/// exports it; `samples/rzpool/kapi.rs` implements it for rzpool's `Pool`.
pub trait ObjectPool: Send + Sync + Sized + 'static {
    /// Makes a new, empty pool.
    fn create() -> kernel::error::Result<kernel::sync::Arc<Self>>;
    /// Frees every object (the C destroy function then drops the pool).
    fn destroy(&self);
    /// Allocates an object of `size` bytes and returns its handle (never 0).
    ///
    /// Like `zs_malloc()`, the contents are undefined until written.
    fn alloc(this: kernel::sync::ArcBorrow<'_, Self>, size: usize) -> kernel::error::Result<u64>;
    /// Frees an object.
    fn free(&self, handle: u64) -> kernel::error::Result;
    /// Writes `data` at `offset` of an object.
    fn write(&self, handle: u64, offset: usize, data: &[u8]) -> kernel::error::Result;
    /// Reads `out.len()` bytes at `offset` of an object.
    fn read(&self, handle: u64, offset: usize, out: &mut [u8]) -> kernel::error::Result;
    /// Pages the pool holds.
    fn total_pages(&self) -> u64;
    /// Internal compaction; returns the pages freed.
    fn compact(&self) -> u64;
    /// Lets the pool discard the object's contents (see
    /// [`crate::rmm::volatile`]).
    fn make_volatile(&self, handle: u64) -> kernel::error::Result;
    /// Makes the object stable again: `true` if its contents were kept,
    /// `false` if they were discarded (it is then an object of the same
    /// size with undefined contents).
    fn make_stable(
        this: kernel::sync::ArcBorrow<'_, Self>,
        handle: u64,
    ) -> kernel::error::Result<bool>;
}

/// Exports an [`ObjectPool`] as C functions with the given names.
///
/// The functions are checked at build time against the prototypes of the
/// module's C header:
///
/// ```ignore
/// rmm::uapi_module!(uapi, rzpool);
/// rmm::kapi::export_object_pool!(
///     Pool,
///     uapi::rzpool {
///         create: rzpool_create,
///         destroy: rzpool_destroy,
///         malloc: rzpool_malloc,
///         free: rzpool_free,
///         write: rzpool_write,
///         read: rzpool_read,
///         total_pages: rzpool_total_pages,
///         compact: rzpool_compact,
///         make_volatile: rzpool_make_volatile,
///         make_stable: rzpool_make_stable,
///     }
/// );
/// ```
///
/// Compiled, with a `Pool` that refuses every allocation, as
/// `selftests/compile_pass/kapi.rs` (out-of-tree code has no rustdoc
/// doctests); `samples/rzpool/kapi.rs` exports rzpool's pool this way.
///
/// `uapi` is the module our bindgen pass generated from the header (see
/// `rust/rmm.kbuild`), and `rzpool` the opaque struct the header declares.
/// Each exported function must have exactly the type of the header's
/// prototype of the same name, or the build fails. The C prototypes (see
/// `samples/rzpool/rzpool_kapi.h`):
///
/// ```c
/// struct pool *create(void);                     /* NULL on failure */
/// void destroy(struct pool *);
/// u64 malloc(struct pool *, size_t size);        /* 0 on failure */
/// int free(struct pool *, u64 handle);
/// int write(struct pool *, u64 handle, size_t offset, const void *src, size_t len);
/// int read(struct pool *, u64 handle, size_t offset, void *dst, size_t len);
/// unsigned long total_pages(struct pool *);
/// unsigned long compact(struct pool *);
/// int make_volatile(struct pool *, u64 handle);  /* 0 or -errno */
/// int make_stable(struct pool *, u64 handle);    /* 0 kept, 1 discarded, -errno */
/// ```
#[allow(unused_macros)]
macro_rules! export_object_pool {
    ($ty:ty, $m:ident :: $opaque:ident {
        create: $create:ident, destroy: $destroy:ident, malloc: $malloc:ident,
        free: $free:ident, write: $write:ident, read: $read:ident,
        total_pages: $pages:ident, compact: $compact:ident,
        make_volatile: $mkvol:ident, make_stable: $mkstable:ident $(,)?
    }) => {
        #[allow(unsafe_code)]
        const _: () = {
            use ::core::ffi::c_void;
            use ::kernel::{
                error::code::EINVAL,
                ffi::{c_int, c_ulong},
                sync::{Arc, ArcBorrow},
                types::ForeignOwnable,
            };
            use $crate::rmm::kapi::ObjectPool;

            type Opaque = $m::$opaque;

            /// Every exported function has the type of the header's prototype.
            #[allow(dead_code)]
            fn check_prototypes() {
                let _ = if true { $m::$create } else { $create };
                let _ = if true { $m::$destroy } else { $destroy };
                let _ = if true { $m::$malloc } else { $malloc };
                let _ = if true { $m::$free } else { $free };
                let _ = if true { $m::$write } else { $write };
                let _ = if true { $m::$read } else { $read };
                let _ = if true { $m::$pages } else { $pages };
                let _ = if true { $m::$compact } else { $compact };
                let _ = if true { $m::$mkvol } else { $mkvol };
                let _ = if true { $m::$mkstable } else { $mkstable };
            }

            /// # Safety
            ///
            /// `pool` comes from the create function and is not destroyed.
            unsafe fn pool<'a>(pool: *mut Opaque) -> ArcBorrow<'a, $ty> {
                // It lives until `destroy` (contract).
                // SAFETY: `pool` came from `Arc::into_foreign()` in `create`.
                unsafe { <Arc<$ty> as ForeignOwnable>::borrow(pool.cast::<c_void>()) }
            }

            /// # Safety
            ///
            /// None: `unsafe` only to have the prototype's exact type
            /// (checked against the header above).
            #[no_mangle]
            unsafe extern "C" fn $create() -> *mut Opaque {
                match <$ty as ObjectPool>::create() {
                    Ok(p) => p.into_foreign().cast_mut().cast::<Opaque>(),
                    Err(_) => ::core::ptr::null_mut(),
                }
            }

            /// # Safety
            ///
            /// See the module documentation.
            #[no_mangle]
            unsafe extern "C" fn $destroy(p: *mut Opaque) {
                // SAFETY: `p` is a live pool (contract).
                <$ty as ObjectPool>::destroy(&*unsafe { pool(p) });
                // SAFETY: made by `into_foreign()` in `create`; this is its last use.
                drop(unsafe { <Arc<$ty> as ForeignOwnable>::from_foreign(p.cast::<c_void>()) });
            }

            /// # Safety
            ///
            /// See the module documentation.
            #[no_mangle]
            unsafe extern "C" fn $malloc(p: *mut Opaque, size: usize) -> u64 {
                // SAFETY: `p` is a live pool (contract).
                <$ty as ObjectPool>::alloc(unsafe { pool(p) }, size).unwrap_or(0)
            }

            /// # Safety
            ///
            /// See the module documentation.
            #[no_mangle]
            unsafe extern "C" fn $free(p: *mut Opaque, handle: u64) -> c_int {
                // SAFETY: `p` is a live pool (contract).
                match <$ty as ObjectPool>::free(&*unsafe { pool(p) }, handle) {
                    Ok(()) => 0,
                    Err(e) => e.to_errno(),
                }
            }

            /// # Safety
            ///
            /// See the module documentation.
            #[no_mangle]
            unsafe extern "C" fn $write(
                p: *mut Opaque,
                handle: u64,
                offset: usize,
                src: *const c_void,
                len: usize,
            ) -> c_int {
                if src.is_null() || len == 0 {
                    return EINVAL.to_errno();
                }
                // SAFETY: `src` is valid for `len` bytes (contract) and not null.
                let data = unsafe { ::core::slice::from_raw_parts(src.cast::<u8>(), len) };
                // SAFETY: `p` is a live pool (contract).
                match <$ty as ObjectPool>::write(&*unsafe { pool(p) }, handle, offset, data) {
                    Ok(()) => 0,
                    Err(e) => e.to_errno(),
                }
            }

            /// # Safety
            ///
            /// See the module documentation.
            #[no_mangle]
            unsafe extern "C" fn $read(
                p: *mut Opaque,
                handle: u64,
                offset: usize,
                dst: *mut c_void,
                len: usize,
            ) -> c_int {
                if dst.is_null() || len == 0 {
                    return EINVAL.to_errno();
                }
                // SAFETY: `dst` is valid for `len` bytes (contract), not null, ours alone.
                let out = unsafe { ::core::slice::from_raw_parts_mut(dst.cast::<u8>(), len) };
                // SAFETY: `p` is a live pool (contract).
                match <$ty as ObjectPool>::read(&*unsafe { pool(p) }, handle, offset, out) {
                    Ok(()) => 0,
                    Err(e) => e.to_errno(),
                }
            }

            /// # Safety
            ///
            /// See the module documentation.
            #[no_mangle]
            unsafe extern "C" fn $pages(p: *mut Opaque) -> c_ulong {
                // SAFETY: `p` is a live pool (contract).
                <$ty as ObjectPool>::total_pages(&*unsafe { pool(p) }) as c_ulong
            }

            /// # Safety
            ///
            /// See the module documentation.
            #[no_mangle]
            unsafe extern "C" fn $compact(p: *mut Opaque) -> c_ulong {
                // SAFETY: `p` is a live pool (contract).
                <$ty as ObjectPool>::compact(&*unsafe { pool(p) }) as c_ulong
            }

            /// # Safety
            ///
            /// See the module documentation.
            #[no_mangle]
            unsafe extern "C" fn $mkvol(p: *mut Opaque, handle: u64) -> c_int {
                // SAFETY: `p` is a live pool (contract).
                match <$ty as ObjectPool>::make_volatile(&*unsafe { pool(p) }, handle) {
                    Ok(()) => 0,
                    Err(e) => e.to_errno(),
                }
            }

            /// # Safety
            ///
            /// See the module documentation.
            #[no_mangle]
            unsafe extern "C" fn $mkstable(p: *mut Opaque, handle: u64) -> c_int {
                // SAFETY: `p` is a live pool (contract).
                match <$ty as ObjectPool>::make_stable(unsafe { pool(p) }, handle) {
                    Ok(true) => 0,
                    Ok(false) => 1,
                    Err(e) => e.to_errno(),
                }
            }
        };
    };
}
#[allow(unused_imports)]
pub(crate) use export_object_pool;
