// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! rzpool as a zpool driver: zswap's pool with `zswap.zpool=rzpool`.
//!
//! zswap allocates with its own gfp (`__GFP_NORETRY | __GFP_NOWARN |
//! __GFP_KSWAPD_RECLAIM`, plus `__GFP_HIGHMEM | __GFP_MOVABLE` since the
//! pages are movable), which the pool honours for its pages and metadata; it
//! maps an object to write the compressed data once and to read it back.
//! Mappings are made by `rmm::zpool` from where [`Pool::map`] says the
//! object is. Each pool has the shrinker and the debugfs directory of a
//! device pool, in `rzpool/zpool-<id>/`.

use crate::rmm::{
    page::Gfp,
    zpool::{MapMode, Object, ZpoolDriver},
};
use crate::{
    debugfs::PoolFiles,
    handle::Handle,
    pool::{Pool, PoolShrinker},
    Shared,
};
use kernel::{
    c_str,
    prelude::*,
    str::CStr,
    sync::{Arc, ArcBorrow},
};

/// A pool zpool made. Fields drop in order: the shrinker (unregistered, its
/// callbacks finished), then the debugfs files (removed, theirs finished),
/// so that no callback of either can run once they are gone; both go before
/// the (already emptied) pool.
pub(crate) struct ZswapPool {
    _shrinker: PoolShrinker,
    _files: PoolFiles,
    pool: Arc<Pool>,
}

impl ZpoolDriver for ZswapPool {
    const NAME: &'static CStr = c_str!("rzpool");
    const MALLOC_SUPPORT_MOVABLE: bool = true;
    const HANDLE_BITS: u32 = Handle::LOCAL_BITS;
    type Context = Shared;

    fn create(ctx: &Shared, _name: &CStr, _gfp: Gfp) -> Result<Arc<Self>> {
        // Like zs_create_pool(): created in process context, whatever the
        // gfp zswap passes for its later allocations. No memory cgroup:
        // zswap charges its entries itself.
        let pool = Pool::new(ctx.shapes.clone(), None, false)?;
        let files = PoolFiles::new(&ctx.debugfs, &pool, "zpool")?;
        let shrinker = PoolShrinker::new(&pool, "zpool")?;
        Ok(Arc::new(
            Self {
                _shrinker: shrinker,
                _files: files,
                pool,
            },
            GFP_KERNEL,
        )?)
    }

    fn destroy(&self) {
        self.pool.destroy();
    }

    fn malloc(this: ArcBorrow<'_, Self>, size: usize, gfp: Gfp) -> Result<usize> {
        // The contents are the caller's to write, as with zsmalloc.
        // zpool names the pool with every call: the handle leaves out its
        // pool id (`HANDLE_BITS`), which is put back on the way in.
        Pool::alloc(this.pool.as_arc_borrow(), size, gfp, false).map(|h| Handle::local(h) as usize)
    }

    fn free(&self, handle: usize) {
        // zpool's free has no error to return: a bad handle changes nothing.
        let _ = self.pool.free(Handle::in_pool(handle as u64, self.pool.id));
    }

    fn map(&self, handle: usize, mode: MapMode) -> Option<Object> {
        self.pool
            .map(Handle::in_pool(handle as u64, self.pool.id), mode)
            .ok()
    }

    fn total_pages(&self) -> u64 {
        self.pool.total_pages()
    }
}
