// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! `/dev/rzpool`: each open file is a pool, charged to the opener's memory
//! cgroup, used through ioctls (`rzpool_uapi.h`).

use crate::rmm::volatile::Answer;
use crate::rmm::{
    memcg::MemCgroup,
    miscdevice::{self, MiscDevice},
    page::Gfp,
};
use crate::{
    debugfs::PoolFiles,
    pool::{Pool, PoolShrinker},
    uapi::{
        UAlloc, URw, UStates, DEV_MAX_SIZE, DISCARDED, IOC_ALLOC, IOC_COMPACT, IOC_FREE,
        IOC_MAKE_STABLE, IOC_MAKE_VOLATILE, IOC_READ, IOC_STATS, IOC_WRITE, MAX_BATCH,
    },
    Shared,
};
use kernel::{ioctl::_IOC_SIZE, prelude::*, sync::Arc, uaccess::UserSlice};

/// One open file: one pool, its shrinker and its debugfs files. Fields drop
/// in this order: the shrinker (unregistered, its callbacks finished), then
/// the files (removed, theirs finished), so that no callback of either can
/// run once they are gone. The pool is already empty (`release` destroyed
/// it).
pub(crate) struct RzpoolFile {
    _shrinker: PoolShrinker,
    _files: PoolFiles,
    pool: Arc<Pool>,
}

miscdevice::misc_device_vtable!(pub(crate) static FOPS: RzpoolFile);

#[vtable]
impl MiscDevice for RzpoolFile {
    type Shared = Shared;
    type Ptr = KBox<RzpoolFile>;

    fn open(shared: &Shared) -> Result<KBox<RzpoolFile>> {
        // The opener's memory cgroup pays for the pool's pages.
        let pool = Pool::new(shared.shapes.clone(), MemCgroup::of_current(), true)?;
        let files = PoolFiles::new(&shared.debugfs, &pool, "pool")?;
        let shrinker = PoolShrinker::new(&pool, "pool")?;
        Ok(KBox::new(
            RzpoolFile {
                _shrinker: shrinker,
                _files: files,
                pool,
            },
            GFP_KERNEL,
        )?)
    }

    fn release(file: KBox<RzpoolFile>) {
        file.pool.destroy();
    }

    fn ioctl(file: &RzpoolFile, cmd: u32, arg: usize) -> Result<isize> {
        let pool = &file.pool;
        let user = UserSlice::new(arg, _IOC_SIZE(cmd));
        match cmd {
            IOC_ALLOC => {
                let (mut reader, mut writer) = user.reader_writer();
                let mut req: UAlloc = reader.read()?;
                if req.flags != 0 {
                    return Err(EINVAL);
                }
                if req.size as usize > DEV_MAX_SIZE {
                    return Err(E2BIG);
                }
                req.handle =
                    Pool::alloc(pool.as_arc_borrow(), req.size as usize, Gfp::KERNEL, true)?;
                if let Err(e) = writer.write(&req) {
                    // The caller cannot learn the handle: do not leak it.
                    let _ = pool.free(req.handle);
                    return Err(e);
                }
            }
            IOC_FREE => pool.free(user.reader().read::<u64>()?)?,
            IOC_WRITE => {
                let req: URw = user.reader().read()?;
                let len = req.len as usize;
                if len == 0 || len > DEV_MAX_SIZE {
                    return Err(EINVAL);
                }
                let mut buf = KVec::with_capacity(len, GFP_KERNEL)?;
                UserSlice::new(req.addr as usize, len)
                    .reader()
                    .read_all(&mut buf, GFP_KERNEL)?;
                pool.write(req.handle, req.offset as usize, &buf)?;
            }
            IOC_READ => {
                let req: URw = user.reader().read()?;
                let len = req.len as usize;
                if len == 0 || len > DEV_MAX_SIZE {
                    return Err(EINVAL);
                }
                let mut buf = crate::rmm::zeroed_buf(len)?;
                pool.read(req.handle, req.offset as usize, &mut buf)?;
                UserSlice::new(req.addr as usize, len)
                    .writer()
                    .write_slice(&buf)?;
            }
            IOC_COMPACT => {
                let freed = pool.compact(u64::MAX);
                user.writer().write(&freed)?;
            }
            IOC_STATS => user.writer().write(&pool.stats())?,
            IOC_MAKE_VOLATILE | IOC_MAKE_STABLE => {
                let req: UStates = user.reader().read()?;
                states(pool, &req, cmd == IOC_MAKE_STABLE)?;
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

/// A batch of state changes (`RZPOOL_IOC_MAKE_VOLATILE`, or
/// `RZPOOL_IOC_MAKE_STABLE` if `stable`): one result per handle.
fn states(pool: &Arc<Pool>, req: &UStates, stable: bool) -> Result {
    let n = req.count as usize;
    if req.flags != 0 || n == 0 || n > MAX_BATCH {
        return Err(EINVAL);
    }
    let mut handles = KVec::with_capacity(n, GFP_KERNEL)?;
    let mut reader = UserSlice::new(req.handles as usize, n * size_of::<u64>()).reader();
    for _ in 0..n {
        handles.push(reader.read::<u64>()?, GFP_KERNEL)?;
    }
    // Every answer is written as soon as it is known, and a conservative
    // one before the change it answers: so that no failed write (results
    // unmapped or made read-only meanwhile, by another thread) can pass
    // zeroes off as kept contents. First all are marked "not changed".
    let res_at = |i: usize, v: i32| {
        UserSlice::new(
            (req.results as usize).wrapping_add(i * size_of::<i32>()),
            size_of::<i32>(),
        )
        .writer()
        .write(&v)
    };
    let untouched = -(kernel::bindings::EINPROGRESS as i32);
    let mut marks = KVec::with_capacity(n * size_of::<i32>(), GFP_KERNEL)?;
    for _ in 0..n {
        marks.extend_from_slice(&untouched.to_ne_bytes(), GFP_KERNEL)?;
    }
    UserSlice::new(req.results as usize, n * size_of::<i32>())
        .writer()
        .write_slice(&marks)?;
    for (i, &h) in handles.iter().enumerate() {
        let res = if stable {
            // If what follows cannot be written, the user takes the
            // object for discarded, and rewrites it: nothing is lost.
            res_at(i, DISCARDED)?;
            Pool::make_stable(pool.as_arc_borrow(), h, Gfp::KERNEL, true).map(|a| match a {
                Answer::Kept => 0,
                Answer::Discarded => DISCARDED,
            })
        } else {
            pool.make_volatile(h).map(|()| 0)
        };
        // A failure leaves the mark: for `make_volatile`, "not changed",
        // when the object may be volatile: its `make_stable` then tells.
        res_at(i, res.unwrap_or_else(|e| e.to_errno()))?;
    }
    Ok(())
}
