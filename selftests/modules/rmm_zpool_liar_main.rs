// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Test helper: a zpool driver, in safe Rust, whose `map` lies.
//!
//! `rmm_liar` keeps each object in a movable page of its own, and maps only
//! the last 8 bytes of that page whatever the object's size. A caller that
//! writes the whole object at the pointer it gets would write past the
//! page; `rust/zpool.rs` knows the size from the handle and must map the
//! short object through its buffer instead, saying so
//! (`rmm_zpool_check.ko` is the caller).
//!
//! It also tries the driver's own hands on a mapped page: while its piece
//! is claimed, `MovablePage::read` and `write` of the mapped bytes must fail
//! with `EBUSY` (C code may be writing them), and succeed again once the
//! object is unmapped. It reports what it got in the kernel log.

use kernel::{
    c_str, new_spinlock,
    prelude::*,
    str::CStr,
    sync::{Arc, ArcBorrow, SpinLock},
};

#[path = "../../rust/rmm.rs"]
mod rmm;

use rmm::{
    movable::{MigrateMode, Migration, MovableOperations, MovablePage, Outcome},
    page::{Gfp, NewPage, PAGE_SIZE},
    zpool::{Driver, MapMode, Object, Piece, Registration, ZpoolDriver},
};

module! {
    type: RmmZpoolLiar,
    name: "rmm_zpool_liar",
    author: "The rmm authors",
    description: "rmm test helper: a zpool driver whose map covers 8 bytes of any object",
    license: "GPL",
}

/// What the lie maps: the last bytes of the object's page.
const MAPPED: usize = 8;

/// Pages that refuse to move: all this driver needs of migration.
struct Ops;

impl MovableOperations for Ops {
    type Private = ();

    fn migrate_page<'a>(
        _private: (),
        migration: Migration<'a, Self>,
        _mode: MigrateMode,
    ) -> Outcome<'a> {
        Err(migration.refuse(EAGAIN))
    }
}

/// A pool: one page an object, the handle is its index plus one.
#[pin_data]
struct Liar {
    #[pin]
    pages: SpinLock<KVec<Option<MovablePage<Ops>>>>,
}

impl ZpoolDriver for Liar {
    const NAME: &'static CStr = c_str!("rmm_liar");
    const MALLOC_SUPPORT_MOVABLE: bool = false;
    const HANDLE_BITS: u32 = 32;
    type Context = ();

    fn create(_ctx: &(), _name: &CStr, _gfp: Gfp) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Liar {
                pages <- new_spinlock!(KVec::new(), "rmm_zpool_liar::pages"),
            }),
            GFP_KERNEL,
        )
    }

    fn destroy(&self) {
        let pages = core::mem::replace(&mut *self.pages.lock(), KVec::new());
        drop(pages);
    }

    fn malloc(this: ArcBorrow<'_, Self>, _size: usize, gfp: Gfp) -> Result<usize> {
        let page = MovablePage::new(NewPage::alloc_movable(gfp, false)?, (), 0)?;
        let mut pages = this.pages.lock();
        pages.push(Some(page), GFP_ATOMIC)?;
        Ok(pages.len())
    }

    fn free(&self, handle: usize) {
        let page = handle
            .checked_sub(1)
            .and_then(|i| self.pages.lock().get_mut(i).and_then(Option::take));
        if let Some(mut page) = page {
            // Unmapped (zswap frees no object it has mapped): ours again.
            try_hands(&mut page, c_str!("after unmap"));
        }
    }

    fn map(&self, handle: usize, _mode: MapMode) -> Option<Object> {
        let mut pages = self.pages.lock();
        let page = pages.get_mut(handle.checked_sub(1)?)?.as_mut()?;
        // The lie: whatever the object's size, 8 bytes at the page's end.
        let piece = Piece::new(page, PAGE_SIZE - MAPPED, MAPPED).ok()?;
        // The piece is claimed: the mapped bytes are the caller's now.
        try_hands(page, c_str!("while mapped"));
        Some(Object::InPage(piece))
    }

    fn total_pages(&self) -> u64 {
        self.pages.lock().iter().filter(|p| p.is_some()).count() as u64
    }
}

/// Reads and writes back the mapped bytes of `page` directly, and logs how
/// each went, `when`.
fn try_hands(page: &mut MovablePage<Ops>, when: &CStr) {
    let mut buf = [0u8; MAPPED];
    let r = page.read(PAGE_SIZE - MAPPED, &mut buf);
    let w = page.write(PAGE_SIZE - MAPPED, &buf);
    pr_info!(
        "rmm_zpool_liar: {}: read {}, write {}\n",
        when,
        res(r),
        res(w)
    );
}

/// How an access went, for the log.
fn res(r: Result) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(e) if e == EBUSY => "EBUSY",
        Err(_) => "failed",
    }
}

struct RmmZpoolLiar {
    _zpool: Registration<Liar>,
}

impl kernel::Module for RmmZpoolLiar {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _zpool: Driver::new(module, ())?.register(),
        })
    }
}
