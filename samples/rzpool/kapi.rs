// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! The in-kernel API (`rzpool_kapi.h`), for C users such as the benchmark:
//! zsmalloc's shape (`zs_*`), with copies instead of mappings.

use crate::rmm::{
    kapi::{self, ObjectPool},
    page::Gfp,
    volatile::Answer,
};
use crate::{pool::Pool, shape::Shapes, uapi};
use kernel::{
    prelude::*,
    sync::{Arc, ArcBorrow},
};

impl ObjectPool for Pool {
    fn create() -> Result<Arc<Self>> {
        // Kernel users account for their memory themselves, as with
        // zsmalloc: no memory cgroup charge here.
        Pool::new(Arc::new(Shapes::new()?, GFP_KERNEL)?, None, true)
    }

    fn destroy(&self) {
        Pool::destroy(self)
    }

    fn alloc(this: ArcBorrow<'_, Self>, size: usize) -> Result<u64> {
        // Like zs_malloc(): the caller owns the contents. The functions of
        // the API may sleep.
        Pool::alloc(this, size, Gfp::KERNEL, false)
    }

    fn free(&self, handle: u64) -> Result {
        Pool::free(self, handle)
    }

    fn write(&self, handle: u64, offset: usize, data: &[u8]) -> Result {
        Pool::write(self, handle, offset, data)
    }

    fn read(&self, handle: u64, offset: usize, out: &mut [u8]) -> Result {
        Pool::read(self, handle, offset, out)
    }

    fn total_pages(&self) -> u64 {
        Pool::total_pages(self)
    }

    fn compact(&self) -> u64 {
        Pool::compact(self, u64::MAX)
    }

    fn make_volatile(&self, handle: u64) -> Result {
        Pool::make_volatile(self, handle)
    }

    fn make_stable(this: ArcBorrow<'_, Self>, handle: u64) -> Result<bool> {
        // Contents undefined after a discard, as after `rzpool_malloc()`.
        let answer = Pool::make_stable(this, handle, Gfp::KERNEL, false)?;
        Ok(answer == Answer::Kept)
    }
}

kapi::export_object_pool!(
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
