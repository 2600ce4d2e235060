// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// The examples of rust/rmm.rs, `uapi_struct!` and `uapi_bytes!`: the same
// uapi struct defined in Rust, and taken from the C header (through our
// bindgen pass); either can be copied to and from user space.

use core::mem::size_of;
use kernel::{
    types::{AsBytes, FromBytes},
    uaccess::UserSlice,
};

rmm::uapi_struct! {
    /// `struct rmisc_hello` of `rmisc_uapi.h`.
    struct Hello { magic: u32, opens: u32, cookie: u64 }
}

rmm::uapi_module!(uapi, rmisc);
rmm::uapi_bytes!(uapi::rmisc_hello {
    magic: u32,
    opens: u32,
    cookie: u64,
});

/// Copies `value` to user space at `arg`.
fn copy_out<T: AsBytes>(arg: usize, value: &T) -> Result {
    UserSlice::new(arg, size_of::<T>()).writer().write(value)
}

/// Reads a `T` from user space at `arg`.
fn copy_in<T: FromBytes>(arg: usize) -> Result<T> {
    UserSlice::new(arg, size_of::<T>()).reader().read()
}

/// `RMISC_IOC_HELLO`'s answer at `arg`, written as one struct and read
/// back as the other.
fn hello(arg: usize, opens: u32) -> Result {
    let cookie = copy_in::<uapi::rmisc_hello>(arg)?.cookie;
    let magic = uapi::RMISC_MAGIC;
    let hello = Hello {
        magic,
        opens,
        cookie,
    };
    copy_out(arg, &hello)?;
    let back: Hello = copy_in(arg)?;
    if (back.magic, back.opens, back.cookie) != (magic, opens, cookie) {
        return Err(EIO);
    }
    Ok(())
}

fn case() -> Result {
    // Built, not run: module init has no user buffer.
    let _ = hello;
    Ok(())
}
