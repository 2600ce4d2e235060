// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! `/sys/kernel/debug/rzpool/{pool,zpool}-<id>/`: `classes`, `stats` and
//! `pfns` of every pool made through the device (`pool-`) or zpool
//! (`zpool-`).

use crate::rmm::debugfs::{self, Dir, SeqFile, Show};
use crate::{
    pool::{Pool, ZsSlot, ALL_PAGES, NR_GROUPS},
    shape::MAX_PAGES,
};
use core::{
    fmt::{self, Write},
    sync::atomic::Ordering,
};
use kernel::{c_str, prelude::*, str::CString, sync::Arc};

/// `classes`: one line per size class.
impl Show for Pool {
    fn show(&self, m: &mut SeqFile<'_>) -> fmt::Result {
        writeln!(
            m,
            "{:>5} {:>5} {:>5} {:>5} {:>8} {:>10} {:>10} {:>6} {:>6} {:>6} {:>6} {:>6}",
            "class",
            "size",
            "pages",
            "objs",
            "zspages",
            "objs_used",
            "objs_alloc",
            "0-25%",
            "-50%",
            "-75%",
            "-99%",
            "full"
        )?;
        for (i, lock) in self.class_locks().enumerate() {
            let c = lock.lock();
            // Fullness: walk each list (debugfs only).
            let mut fullness = [0u32; NR_GROUPS];
            for (g, n) in fullness.iter_mut().enumerate() {
                let mut id = c.groups[g];
                while let Some(zs) = c.zspage(id) {
                    *n += 1;
                    id = zs.next;
                }
            }
            let shape = c.shape;
            let (zspages, objs_used) = (c.nr_zspages, c.nr_objs);
            drop(c);
            writeln!(
                m,
                "{:>5} {:>5} {:>5} {:>5} {:>8} {:>10} {:>10} {:>6} {:>6} {:>6} {:>6} {:>6}",
                i,
                shape.size,
                shape.pages,
                shape.objs,
                zspages,
                objs_used,
                zspages * shape.objs as u64,
                fullness[0],
                fullness[1],
                fullness[2],
                fullness[3],
                fullness[4]
            )?;
        }
        Ok(())
    }
}

/// `pfns`: the page frame number of every page the pool holds, one per line
/// (where its pages are, e.g. in which memory block).
struct PfnsView(Arc<Pool>);

impl Show for PfnsView {
    /// Walks each class's zspage table a few entries at a time, printing
    /// with the lock dropped: the pool stays usable while it is listed.
    fn show(&self, m: &mut SeqFile<'_>) -> fmt::Result {
        const CHUNK: usize = 32;
        for lock in self.0.class_locks() {
            let mut next = 0;
            loop {
                let mut pfns = [0usize; CHUNK * MAX_PAGES];
                let mut n = 0;
                {
                    let c = lock.lock();
                    if next >= c.zspages.len() {
                        break;
                    }
                    for slot in c.zspages.range(next, CHUNK) {
                        if let ZsSlot::Used(zs) = slot {
                            for page in zs.pages() {
                                pfns[n] = page.pfn();
                                n += 1;
                            }
                        }
                    }
                    next += CHUNK;
                }
                for pfn in &pfns[..n] {
                    writeln!(m, "{}", pfn)?;
                }
            }
        }
        Ok(())
    }
}

/// `stats`: the counters, one per line.
struct StatsView(Arc<Pool>);

impl Show for StatsView {
    fn show(&self, m: &mut SeqFile<'_>) -> fmt::Result {
        let s = self.0.stats();
        let rows: [(&str, u64); 22] = [
            ("objs", s.objs),
            ("bytes", s.bytes),
            ("pages", s.pages),
            ("zspages", s.zspages),
            ("isolate", s.isolate),
            ("migrate", s.migrate),
            ("migrate_fail", s.migrate_fail),
            ("putback", s.putback),
            ("compact_freed", s.compact_freed),
            ("shrink_freed", s.shrink_freed),
            ("classes", s.nr_classes as u64),
            ("release_busy", s.release_busy),
            ("all_pools_pages", ALL_PAGES.load(Ordering::Relaxed)),
            ("volatile", s.volatile_objs),
            ("made_volatile", s.made_volatile),
            ("kept", s.kept),
            ("discard_shrink", s.discard_shrink),
            ("discard_migrate", s.discard_migrate),
            ("discard_compact", s.discard_compact),
            ("discard_pages", s.discard_pages),
            ("migrate_copied", s.migrate_copied),
            ("compact_moved", s.compact_moved),
        ];
        for (name, v) in rows {
            writeln!(m, "{name} {v}")?;
        }
        Ok(())
    }
}

debugfs::show_vtable!(static CLASSES_FOPS: Pool);
debugfs::show_vtable!(static STATS_FOPS: StatsView);
debugfs::show_vtable!(static PFNS_FOPS: PfnsView);

/// A pool's debugfs files. Fields drop in this order: no callback of
/// debugfs can run once they are gone. The pool's shrinker is not here:
/// [`crate::pool::PoolShrinker`], which the owner of these files holds and
/// drops before them.
pub(crate) struct PoolFiles {
    _classes: debugfs::File<Pool>,
    _stats: debugfs::File<StatsView>,
    _pfns: debugfs::File<PfnsView>,
    _dir: Arc<Dir>,
}

impl PoolFiles {
    /// Makes `pool`'s directory under `root` and its files; the directory
    /// is named `<kind>-<id>`: `pool-<id>` for a device pool, `zpool-<id>`
    /// for one of zswap.
    pub(crate) fn new(root: &Arc<Dir>, pool: &Arc<Pool>, kind: &str) -> Result<Self> {
        let name = CString::try_from_fmt(kernel::fmt!("{}-{}", kind, pool.id))?;
        let dir = Dir::subdir(root, &name)?;
        let classes = debugfs::File::new(&dir, c_str!("classes"), &CLASSES_FOPS, pool.clone());
        let view = Arc::new(StatsView(pool.clone()), GFP_KERNEL)?;
        let stats = debugfs::File::new(&dir, c_str!("stats"), &STATS_FOPS, view);
        let pfns = Arc::new(PfnsView(pool.clone()), GFP_KERNEL)?;
        let pfns = debugfs::File::new(&dir, c_str!("pfns"), &PFNS_FOPS, pfns);
        Ok(Self {
            _classes: classes,
            _stats: stats,
            _pfns: pfns,
            _dir: dir,
        })
    }
}
