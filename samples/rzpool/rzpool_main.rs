// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! rzpool: a zsmalloc-style object pool on movable non-LRU pages.
//!
//! Objects of 1 to `PAGE_SIZE` bytes, addressed by handles that stay valid
//! while compaction or memory offlining migrates the pool's pages. Three
//! ways in:
//!
//! - zswap, through zpool (`zswap.zpool=rzpool`): [`zpool`];
//! - `/dev/rzpool` (root only), one pool per open file: [`device`];
//! - an in-kernel API of exported C functions (`rzpool_kapi.h`): [`kapi`].
//!
//! Where things are:
//!
//! - [`pool`]: the allocator core, its per-class locks and **the lock
//!   order** (`pool/mod.rs`); a size class's alloc, free, internal
//!   compaction and discards (`pool/class.rs`), migration
//!   (`pool/movable.rs`), the shrinker (`pool/shrinker.rs`), pool ids
//!   (`pool/id.rs`);
//! - [`handle`]: the handle encoding (pool, generation, class, slot) and the
//!   tag of a zspage's pages;
//! - [`shape`]: the shapes of the size classes (which zspage length and
//!   how many objects for which object size), shared by every pool;
//! - [`zspage`]: a run of pages holding one class's objects;
//! - [`table`]: the chunked tables of slots and zspages;
//! - [`debugfs`]: the files `classes`, `stats` and `pfns` of each pool;
//! - [`uapi`]: the device's uapi, generated from `rzpool_uapi.h`.

use kernel::{c_str, prelude::*, sync::Arc};

#[path = "../../rust/rmm.rs"]
mod rmm;

mod debugfs;
mod device;
mod handle;
mod kapi;
mod pool;
mod shape;
mod table;
mod uapi;
#[cfg(CONFIG_ZPOOL)]
mod zpool;
mod zspage;

#[cfg(CONFIG_ZPOOL)]
use rmm::zpool::{Driver as ZpoolDriverSetup, Registration as ZpoolRegistration};
use rmm::{
    debugfs::Dir,
    miscdevice::{MiscDeviceOptions, MiscDeviceRegistration},
};
use shape::Shapes;

module! {
    type: RzpoolModule,
    name: "rzpool",
    author: "The rmm authors",
    description: "rmm: zsmalloc-style object pool on movable non-LRU pages, and zpool driver",
    license: "GPL",
    // What zpool asks modprobe for when zswap selects a pool type it does
    // not know (`request_module("zpool-%s")` in mm/zpool.c). Harmless on a
    // kernel without CONFIG_ZPOOL, where nothing asks for it.
    alias: ["zpool-rzpool"],
}

/// State shared by the device, the zpool driver and every pool.
pub(crate) struct Shared {
    pub(crate) shapes: Arc<Shapes>,
    pub(crate) debugfs: Arc<Dir>,
}

struct RzpoolModule {
    // Unregistered first: zpool can make no more pools (none is alive: each
    // pins the module), then the device goes.
    #[cfg(CONFIG_ZPOOL)]
    _zpool: ZpoolRegistration<zpool::ZswapPool>,
    _dev: Pin<KBox<MiscDeviceRegistration<device::RzpoolFile>>>,
}

impl kernel::Module for RzpoolModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let shapes = Arc::new(Shapes::new()?, GFP_KERNEL)?;
        let debugfs = Dir::new(c_str!("rzpool"))?;
        let nr = shapes.len();
        let shared = Shared {
            shapes: shapes.clone(),
            debugfs: debugfs.clone(),
        };
        let opts = MiscDeviceOptions {
            name: c_str!("rzpool"),
            mode: 0o600,
        };
        // Every fallible step first; zswap may use the zpool driver as soon
        // as it is registered, so that comes last, and cannot fail.
        #[cfg(CONFIG_ZPOOL)]
        let zpool = ZpoolDriverSetup::new(module, Shared { shapes, debugfs })?;
        #[cfg(not(CONFIG_ZPOOL))]
        let _ = (module, shapes, debugfs);
        let dev = KBox::pin_init(
            MiscDeviceRegistration::register(&device::FOPS, opts, shared),
            GFP_KERNEL,
        )?;
        #[cfg(CONFIG_ZPOOL)]
        pr_info!("/dev/rzpool and zpool driver rzpool ready: {nr} size classes\n");
        #[cfg(not(CONFIG_ZPOOL))]
        pr_info!("/dev/rzpool ready: {nr} size classes (no zpool driver: CONFIG_ZPOOL is off)\n");
        Ok(Self {
            #[cfg(CONFIG_ZPOOL)]
            _zpool: zpool.register(),
            _dev: dev,
        })
    }
}
