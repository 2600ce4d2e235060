// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

// The example of rust/kapi.rs, `export_object_pool!`: a pool exported to C
// under the names of samples/rzpool/rzpool_kapi.h, each function checked
// against the header's prototype (through our bindgen pass over it). The
// pool here refuses every allocation: the least an `ObjectPool` needs.

use kernel::sync::{Arc, ArcBorrow};
use rmm::kapi::ObjectPool;

/// A pool that holds nothing: every object is missing.
struct Pool;

impl ObjectPool for Pool {
    fn create() -> Result<Arc<Self>> {
        Ok(Arc::new(Pool, GFP_KERNEL)?)
    }

    fn destroy(&self) {}

    fn alloc(_this: ArcBorrow<'_, Self>, _size: usize) -> Result<u64> {
        Err(ENOMEM)
    }

    fn free(&self, _handle: u64) -> Result {
        Err(ENOENT)
    }

    fn write(&self, _handle: u64, _offset: usize, _data: &[u8]) -> Result {
        Err(ENOENT)
    }

    fn read(&self, _handle: u64, _offset: usize, _out: &mut [u8]) -> Result {
        Err(ENOENT)
    }

    fn total_pages(&self) -> u64 {
        0
    }

    fn compact(&self) -> u64 {
        0
    }

    fn make_volatile(&self, _handle: u64) -> Result {
        Err(ENOENT)
    }

    fn make_stable(_this: ArcBorrow<'_, Self>, _handle: u64) -> Result<bool> {
        Err(ENOENT)
    }
}

rmm::uapi_module!(uapi, rzpool);
rmm::kapi::export_object_pool!(
    Pool,
    uapi::rzpool {
        create: rzpool_create,
        destroy: rzpool_destroy,
        malloc: rzpool_malloc,
        free: rzpool_free,
        write: rzpool_write,
        read: rzpool_read,
        total_pages: rzpool_total_pages,
        compact: rzpool_compact,
        make_volatile: rzpool_make_volatile,
        make_stable: rzpool_make_stable,
    }
);

fn case() -> Result {
    // The C functions are the API: nothing to call from Rust.
    Ok(())
}
