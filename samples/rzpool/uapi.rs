// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! The uapi of `/dev/rzpool` and the kernel API's prototypes, from
//! `rzpool_uapi.h` and `rzpool_kapi.h` through our bindgen pass.

crate::rmm::uapi_module!(bindings, rzpool);
pub(crate) use bindings::*;

crate::rmm::uapi_bytes!(bindings::rzpool_alloc {
    size: u32,
    flags: u32,
    handle: u64,
});
crate::rmm::uapi_bytes!(bindings::rzpool_rw {
    handle: u64,
    addr: u64,
    offset: u32,
    len: u32,
});
crate::rmm::uapi_bytes!(bindings::rzpool_stats {
    pool_id: u32,
    nr_classes: u32,
    objs: u64,
    bytes: u64,
    pages: u64,
    zspages: u64,
    isolate: u64,
    migrate: u64,
    migrate_fail: u64,
    putback: u64,
    compact_freed: u64,
    shrink_freed: u64,
    release_busy: u64,
    volatile_objs: u64,
    made_volatile: u64,
    kept: u64,
    discard_shrink: u64,
    discard_migrate: u64,
    discard_compact: u64,
    discard_pages: u64,
    migrate_copied: u64,
    compact_moved: u64,
});
crate::rmm::uapi_bytes!(bindings::rzpool_states {
    handles: u64,
    results: u64,
    count: u32,
    flags: u32,
});
pub(crate) use bindings::{
    rzpool_alloc as UAlloc, rzpool_rw as URw, rzpool_states as UStates, rzpool_stats as UStats,
};

pub(crate) const IOC_ALLOC: u32 = bindings::RZPOOL_IOCTL_ALLOC;
pub(crate) const IOC_FREE: u32 = bindings::RZPOOL_IOCTL_FREE;
pub(crate) const IOC_WRITE: u32 = bindings::RZPOOL_IOCTL_WRITE;
pub(crate) const IOC_READ: u32 = bindings::RZPOOL_IOCTL_READ;
pub(crate) const IOC_COMPACT: u32 = bindings::RZPOOL_IOCTL_COMPACT;
pub(crate) const IOC_STATS: u32 = bindings::RZPOOL_IOCTL_STATS;
pub(crate) const IOC_MAKE_VOLATILE: u32 = bindings::RZPOOL_IOCTL_MAKE_VOLATILE;
pub(crate) const IOC_MAKE_STABLE: u32 = bindings::RZPOOL_IOCTL_MAKE_STABLE;
/// The most handles of one state-change batch.
pub(crate) const MAX_BATCH: usize = bindings::RZPOOL_MAX_BATCH as usize;
/// `results[i]` of a `make_stable` whose object was discarded.
pub(crate) const DISCARDED: i32 = bindings::RZPOOL_DISCARDED as i32;
/// The largest object of the device (the kernel API takes up to `PAGE_SIZE`).
pub(crate) const DEV_MAX_SIZE: usize = bindings::RZPOOL_MAX_SIZE as usize;
const _: () = assert!(DEV_MAX_SIZE <= crate::shape::MAX_SIZE);
