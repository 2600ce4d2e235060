// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! Test helper: a careless movable-page driver, in safe Rust.
//!
//! Opening `/dev/rmm_drop_test` makes 4096 movable pages (from
//! `ZONE_MOVABLE` where there is one); its `migrate_page` drops the
//! `MovablePage` of the very page the VM is migrating (whose lock the VM
//! holds for the call) and refuses the migration. The abstraction must
//! release that page under the VM's lock, not wait for the lock forever
//! (`rust/movable.rs`, "Releasing in reclaim or in a callback"). Closing
//! the file releases the other pages and logs how many the callback
//! dropped.

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{
    c_str, new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, SpinLock},
};

#[path = "../../rust/rmm.rs"]
mod rmm;

use rmm::{
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    movable::{MigrateMode, Migration, MovableOperations, MovablePage, Outcome},
    page::NewPage,
};

module! {
    type: RmmDropTest,
    name: "rmm_drop_test",
    author: "The rmm authors",
    description: "rmm test helper: drops the page being migrated inside migrate_page",
    license: "GPL",
}

/// Pages one open file makes.
const PAGES: usize = 4096;

/// One open file: its pages, by index word.
#[pin_data]
struct DropFile {
    #[pin]
    pages: SpinLock<KVec<Option<MovablePage<Ops>>>>,
    /// Pages dropped inside `migrate_page`.
    dropped: AtomicUsize,
}

struct Ops;

impl MovableOperations for Ops {
    type Private = Arc<DropFile>;

    fn migrate_page<'a>(
        file: ArcBorrow<'a, DropFile>,
        migration: Migration<'a, Self>,
        _mode: MigrateMode,
    ) -> Outcome<'a> {
        let index = migration.src().index();
        let page = file.pages.lock().get_mut(index).and_then(Option::take);
        if page.is_some() {
            file.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // The misuse: the VM holds this page's lock for this very call.
        drop(page);
        Err(migration.refuse(EAGAIN))
    }
}

rmm::miscdevice::misc_device_vtable!(static FOPS: DropFile);

#[vtable]
impl MiscDevice for DropFile {
    type Shared = ();
    type Ptr = Arc<DropFile>;

    fn open(_shared: &()) -> Result<Arc<DropFile>> {
        let file = Arc::pin_init(
            pin_init!(DropFile {
                pages <- new_spinlock!(KVec::new(), "rmm_drop_test::pages"),
                dropped: AtomicUsize::new(0),
            }),
            GFP_KERNEL,
        )?;
        let mut pages = KVec::with_capacity(PAGES, GFP_KERNEL)?;
        for index in 0..PAGES {
            let page = MovablePage::new(NewPage::alloc_table(false)?, file.clone(), index)?;
            pages.push(Some(page), GFP_KERNEL)?;
        }
        *file.pages.lock() = pages;
        Ok(file)
    }

    fn release(file: Arc<DropFile>) {
        // The pages hold the file (their private data): drop them outside the lock.
        let pages = core::mem::replace(&mut *file.pages.lock(), KVec::new());
        let left = pages.iter().filter(|p| p.is_some()).count();
        drop(pages);
        pr_info!(
            "rmm_drop_test: {} pages dropped inside migrate_page, {} released at close\n",
            file.dropped.load(Ordering::Relaxed),
            left
        );
    }
}

struct RmmDropTest {
    _reg: Pin<KBox<MiscDeviceRegistration<DropFile>>>,
}

impl kernel::Module for RmmDropTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let opts = MiscDeviceOptions {
            name: c_str!("rmm_drop_test"),
            mode: 0o600,
        };
        let reg = KBox::pin_init(
            MiscDeviceRegistration::register(&FOPS, opts, ()),
            GFP_KERNEL,
        )?;
        Ok(Self { _reg: reg })
    }
}
