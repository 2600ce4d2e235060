// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Module parameters: what C declares with `module_param()` and
//! `MODULE_PARM_DESC()`.
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h).
//!
//! The 6.12 `module!` macro takes no parameters (mainline's `params:` key
//! is newer). [`module_param!`] declares one; its body is written as one
//! entry of mainline's `params:`, so that a port is a move of the block:
//!
//! ```ignore
//! rmm::module_param! {
//!     /// Whether to greet at load time.
//!     greet: bool {
//!         default: true,
//!         description: "Greet at load time",
//!     }
//! }
//!
//! if greet.value() {
//!     pr_info!("hello\n");
//! }
//! ```
//!
//! Compiled as `selftests/compile_pass/module_param.rs` (out-of-tree code
//! has no rustdoc doctests); `samples/rmirror/rmirror_main.rs` has one.
//! `insmod mod.ko greet=0` (or `modprobe mod greet=0`) sets it;
//! `modinfo -p mod.ko` lists it, and
//! `/sys/module/<module>/parameters/greet` shows it.
//!
//! # What is emitted
//!
//! For a parameter `name` of type `bool`, as `module_param(name, bool,
//! 0444)` and `MODULE_PARM_DESC(name, description)` make it in C:
//!
//! - the storage: a `static name: ModuleParam<bool>` holding the default;
//! - a `struct kernel_param` in the `__param` section: its name, the module
//!   (`THIS_MODULE`), the C ops of the type (`param_ops_bool`), the
//!   permission `0444`, level `-1`, and the storage as `arg`. The module
//!   loader parses the arguments of `insmod`/`modprobe` with it before the
//!   module's init runs (`parse_args()` in `load_module()`,
//!   [`kernel/module/main.c`]), and sysfs shows it;
//! - the `.modinfo` strings `parmtype=name:bool` and
//!   `parm=name:description`, which `modinfo` reads.
//!
//! Built-in code prefixes the name and the `.modinfo` strings with
//! `<module>.`, as C's `MODULE_PARAM_PREFIX` and `__MODULE_INFO_PREFIX` do.
//!
//! # Rules, and how the types keep them
//!
//! - **The C ops write the storage as their C type**: `param_set_bool()`
//!   stores a C `bool` through `kp->arg`. Only the types the macro knows the
//!   C ops of are accepted, each with its own storage type (`bool`: a Rust
//!   `bool`, the same type); any other type fails to compile.
//! - **No write once the module runs**: the loader sets the storage before
//!   the init, in the loading task; the permission is `0444`, and sysfs
//!   makes a parameter writable only for write bits
//!   (`add_sysfs_param()`, [`kernel/params.c`]), even for root. So
//!   [`ModuleParam::value`] is a plain read, with no lock
//!   (`kernel_param_lock()` serialises writes through sysfs, which cannot
//!   happen).
//! - **Names and descriptions are C strings**: a NUL in either fails to
//!   compile.
//!
//! [`kernel/module/main.c`]: srctree/kernel/module/main.c
//! [`kernel/params.c`]: srctree/kernel/params.c

use kernel::{bindings, ffi::c_void, types::Opaque};

/// The storage of a module parameter of type `T`, declared by
/// [`module_param!`].
///
/// Unlike mainline's `ModuleParamAccess::value()`, which returns a
/// reference, [`ModuleParam::value`] returns a copy: the storage is the C
/// parser's, and no Rust reference to it is handed out.
///
/// # Invariants
///
/// `value` holds a valid `T`. It is written only by the module loader's
/// parameter parser, through the `struct kernel_param` that
/// [`module_param!`] makes for it ([`KernelParam`], permission `0444`),
/// before the module's init starts; never once the module's code runs.
#[repr(transparent)]
pub struct ModuleParam<T: Copy> {
    value: Opaque<T>,
}

// SAFETY: shared access only reads the value (`value()` takes a copy), and
// nothing writes it while the module's code runs (type invariant), so reads
// from any thread race with no write.
unsafe impl<T: Copy + Sync> Sync for ModuleParam<T> {}

impl<T: Copy> ModuleParam<T> {
    /// A parameter's storage holding `default`, its value unless the module
    /// is loaded with another.
    ///
    /// Use [`module_param!`] rather than calling this directly.
    pub const fn new(default: T) -> Self {
        // INVARIANT: a valid `T`; nothing but a `KernelParam` writes it.
        Self {
            value: Opaque::new(default),
        }
    }

    /// The parameter's value: as the module was loaded with it, else the
    /// default.
    pub fn value(&self) -> T {
        // `value` holds a valid `T` and is not written while the module's
        // code runs (type invariant): this read races with no write.
        // SAFETY: as just said.
        unsafe { *self.value.get() }
    }
}

/// A `struct kernel_param`, the entry of a module parameter that the module
/// loader finds in the `__param` section.
///
/// Built only by [`module_param!`].
///
/// # Invariants
///
/// `perm` is `0444`: sysfs never writes the parameter.
#[repr(transparent)]
pub struct KernelParam(bindings::kernel_param);

// SAFETY: `KernelParam` is never changed after it is built; the loader and
// sysfs only read it, from any thread.
unsafe impl Sync for KernelParam {}

impl KernelParam {
    /// The parameter named `name` (a NUL-terminated string) of the module
    /// `module`, whose value the C `ops` keep in `storage`.
    ///
    /// Fails to compile (it is evaluated in a `static`'s initialiser) if
    /// `name` is not one NUL-terminated string.
    ///
    /// # Safety
    ///
    /// - `module` is the `struct module` of the module whose `__param`
    ///   section holds the result, or null if that code is built in;
    /// - `ops` points to `'static` C ops that store only a valid `T` at
    ///   `kp->arg`, read a `T` there, and free nothing (no `free`);
    /// - the result is placed only in that `__param` section.
    pub const unsafe fn new<T: Copy>(
        name: &'static [u8],
        module: *mut bindings::module,
        ops: *const bindings::kernel_param_ops,
        storage: &'static ModuleParam<T>,
    ) -> Self {
        assert!(
            c_string(name),
            "a module parameter's name must be one NUL-terminated string"
        );
        // INVARIANT: `perm` is 0444.
        Self(bindings::kernel_param {
            name: name.as_ptr().cast(),
            mod_: module,
            ops,
            perm: 0o444,
            // What `module_param()` gives: not a `core_param()` of built-in code.
            level: -1,
            flags: 0,
            __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
                arg: storage.value.get().cast::<c_void>(),
            },
        })
    }
}

/// Whether `s` ends with a NUL and holds no other.
const fn c_string(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        if (s[i] == 0) != (i + 1 == s.len()) {
            return false;
        }
        i += 1;
    }
    !s.is_empty()
}

/// The length of [`prefixed`]'s result.
#[doc(hidden)]
pub const fn prefixed_len(module: &[u8], s: &str, builtin: bool) -> usize {
    if builtin {
        // `module` ends with a NUL, whose place the dot takes.
        module.len() + s.len()
    } else {
        s.len()
    }
}

/// `s` (a NUL-terminated string) as the module `module` (the module's
/// name, NUL-terminated: `__LOG_PREFIX` of `module!`) declares it: as is in
/// a loadable module, after `<module>.` in `builtin` code (C's
/// `MODULE_PARAM_PREFIX` and `__MODULE_INFO_PREFIX`).
///
/// Fails to compile (it is evaluated in a `static`'s initialiser) if `s` or
/// `module` is not one NUL-terminated string, or `N` is not
/// [`prefixed_len`].
#[doc(hidden)]
pub const fn prefixed<const N: usize>(module: &[u8], s: &str, builtin: bool) -> [u8; N] {
    let s = s.as_bytes();
    assert!(
        c_string(s) && c_string(module),
        "a module parameter's name and description may not hold a NUL"
    );
    let mut out = [0u8; N];
    let mut i = 0;
    if builtin {
        while i + 1 < module.len() {
            out[i] = module[i];
            i += 1;
        }
        out[i] = b'.';
        i += 1;
    }
    let mut j = 0;
    while j < s.len() {
        out[i] = s[j];
        i += 1;
        j += 1;
    }
    assert!(i == N);
    out
}

// Both spellings, checked at every build: no rmm module is built in.
const _: () = {
    const fn same(a: &[u8], b: &[u8]) -> bool {
        let mut i = 0;
        while i < a.len() && a.len() == b.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        a.len() == b.len()
    }
    const S: &str = "parm=p:d\0";
    let loadable: [u8; prefixed_len(b"m\0", S, false)] = prefixed(b"m\0", S, false);
    let builtin: [u8; prefixed_len(b"m\0", S, true)] = prefixed(b"m\0", S, true);
    assert!(same(&loadable, b"parm=p:d\0"));
    assert!(same(&builtin, b"m.parm=p:d\0"));
};

/// Declares a module parameter: its storage, its `struct kernel_param`
/// and its `.modinfo` strings (see the documentation of this module).
///
/// ```ignore
/// rmm::module_param! {
///     /// Whether to be verbose.
///     pub(crate) verbose: bool {
///         default: false,
///         description: "Print more",
///     }
/// }
/// ```
///
/// Compiled as `selftests/compile_pass/module_param.rs`. It expands to
/// `pub(crate) static verbose: ModuleParam<bool>`, read with
/// `verbose.value()`; the visibility is optional, and the doc comment is
/// the storage's. Only `bool` is supported (`param_ops_bool`): another type
/// fails to compile (`selftests/compile_fail/module_param_*.rs`). The
/// calling crate must include the rmm tree as `crate::rmm`, and invoke
/// `module!` (its `__LOG_PREFIX` is the module's name).
#[allow(unused_macros)]
macro_rules! module_param {
    // One rule per supported type, each naming the C ops of its own type:
    // no rule takes a type and ops apart, which could pair them wrongly
    // without an `unsafe` in the caller.
    (
        $(#[$meta:meta])*
        $vis:vis $name:ident: bool {
            default: $default:expr,
            description: $description:literal $(,)?
        }
    ) => {
        $(#[$meta])*
        #[allow(non_upper_case_globals)]
        $vis static $name: $crate::rmm::module_param::ModuleParam<bool> =
            $crate::rmm::module_param::ModuleParam::new($default);

        const _: () = {
            use $crate::rmm::module_param::{prefixed, prefixed_len, KernelParam};

            // The module's name, NUL-terminated (`module!`'s).
            const MODULE: &[u8] = $crate::__LOG_PREFIX;
            const NAME: &str = ::core::concat!(::core::stringify!($name), "\0");
            const PARMTYPE: &str =
                ::core::concat!("parmtype=", ::core::stringify!($name), ":bool\0");
            const PARM: &str =
                ::core::concat!("parm=", ::core::stringify!($name), ":", $description, "\0");

            const BUILTIN: bool = !::core::cfg!(MODULE);

            static PARAM_NAME: [u8; prefixed_len(MODULE, NAME, BUILTIN)] =
                prefixed(MODULE, NAME, BUILTIN);

            // `link_section` is `unsafe_code`: what a section holds is a
            // contract with its reader, here `modinfo` and the loader (a
            // string each, as C's `__MODULE_INFO()` makes them).
            #[allow(unsafe_code)]
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARMTYPE_INFO: [u8; prefixed_len(MODULE, PARMTYPE, BUILTIN)] =
                prefixed(MODULE, PARMTYPE, BUILTIN);

            #[allow(unsafe_code)]
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARM_INFO: [u8; prefixed_len(MODULE, PARM, BUILTIN)] =
                prefixed(MODULE, PARM, BUILTIN);

            // The loader's array of `struct kernel_param` (`section_objs()`
            // in `find_module_sections()`): entries of exactly that layout.
            #[allow(unsafe_code)]
            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: KernelParam = {
                let module = $crate::rmm::this_module_ptr!();
                #[allow(unused_unsafe)]
                // SAFETY: only the address of the C ops is taken, never their value.
                let ops = unsafe { ::core::ptr::addr_of!(::kernel::bindings::param_ops_bool) };
                // `module` is the module this expands in, whose `__param`
                // section this is; `param_ops_bool` stores a C `bool`
                // (`kstrtobool()`: 0 or 1), a valid Rust `bool`, reads one,
                // and frees nothing.
                // SAFETY: as just said.
                unsafe { KernelParam::new(&PARAM_NAME, module, ops, &$name) }
            };
        };
    };
    ($(#[$meta:meta])* $vis:vis $name:ident: bool { $($fields:tt)* }) => {
        ::core::compile_error!(::core::concat!(
            "rmm::module_param!: `", ::core::stringify!($name),
            "` takes `{ default: <value>, description: \"<text>\" }`"
        ));
    };
    ($(#[$meta:meta])* $vis:vis $name:ident: $t:ty { $($fields:tt)* }) => {
        ::core::compile_error!(::core::concat!(
            "rmm::module_param!: `", ::core::stringify!($name),
            "` has an unsupported parameter type `", ::core::stringify!($t),
            "` (supported: bool)"
        ));
    };
}

#[allow(unused_imports)]
pub(crate) use module_param;
