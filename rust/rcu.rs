// SPDX-License-Identifier: GPL-2.0

// Copyright (C) 2026 The rmm authors.

//! RCU: read-side critical sections, grace periods, and page references
//! dropped after one.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h).
//!
//! The 6.12 kernel crate has no RCU module; [`Guard`] and [`read_lock`]
//! have the shape of the kernel crate's `kernel::sync::rcu` of newer
//! kernels, over our own C helpers (`rust/helpers.c`). The rest is what
//! rmm's lock-free readers need from the update side: grace-period states
//! ([`GpState`]), an expedited wait ([`synchronize_expedited`]), a page
//! reference dropped by an RCU callback ([`PagePut`]) and the wait for those
//! callbacks ([`barrier`]).

use super::{bindings as rmm_bindings, page::PageRef};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{bindings, ffi::c_ulong, prelude::*};

/// Evidence that the RCU read-side lock is held on the current CPU
/// (`rcu_read_lock()`), released on drop (`rcu_read_unlock()`).
///
/// Not `Send`: the read-side lock belongs to the CPU (or task) that took it.
///
/// # Invariants
///
/// The RCU read-side lock is held while the guard exists.
pub struct Guard(PhantomData<*mut ()>);

impl Guard {
    /// Takes the RCU read-side lock and returns its guard.
    #[inline]
    pub fn new() -> Self {
        // SAFETY: an FFI call with no requirements; the lock is released by `drop`.
        unsafe { rmm_bindings::rmm_rcu_read_lock() };
        // INVARIANT: the read-side lock was just taken.
        Self(PhantomData)
    }

    /// Releases the RCU read-side lock (as dropping the guard does).
    #[inline]
    pub fn unlock(self) {}
}

impl Default for Guard {
    #[inline]
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the read-side lock is held (type invariant), taken by `new` on this CPU.
        unsafe { rmm_bindings::rmm_rcu_read_unlock() };
    }
}

/// Takes the RCU read-side lock: [`Guard::new`].
#[inline]
pub fn read_lock() -> Guard {
    Guard::new()
}

/// A state of RCU's grace periods (`get_state_synchronize_rcu()`): a cookie
/// that tells whether a full grace period has passed since it was taken.
#[derive(Clone, Copy)]
pub struct GpState(c_ulong);

impl GpState {
    /// The current state: [`Self::poll`] of it answers `true` once a full
    /// grace period has passed since this call.
    ///
    /// # Context
    ///
    /// Any.
    #[inline]
    pub fn get() -> Self {
        // SAFETY: only reads the grace-period counters.
        Self(unsafe { rmm_bindings::rmm_get_state_synchronize_rcu() })
    }

    /// Whether a full grace period has passed since `self` was taken
    /// (`poll_state_synchronize_rcu()`).
    ///
    /// # Context
    ///
    /// Any.
    #[inline]
    pub fn poll(self) -> bool {
        // SAFETY: only reads RCU's state; any cookie value is allowed.
        unsafe { rmm_bindings::rmm_poll_state_synchronize_rcu(self.0) }
    }

    /// Waits until a full grace period has passed since `self` was taken,
    /// unless one already has (`cond_synchronize_rcu()`).
    ///
    /// # Context
    ///
    /// Sleeps: process context, no spinlock and no RCU read-side lock held.
    #[inline]
    pub fn cond_synchronize(self) {
        // SAFETY: an FFI call with no requirements but its context (documented above).
        unsafe { rmm_bindings::rmm_cond_synchronize_rcu(self.0) };
    }
}

/// Waits for a grace period, expedited (`synchronize_rcu_expedited()`): it
/// ends sooner than a normal one, at the cost of IPIs to the other CPUs.
///
/// # Context
///
/// Sleeps: process context, no spinlock and no RCU read-side lock held.
#[inline]
pub fn synchronize_expedited() {
    // SAFETY: an FFI call with no requirements but its context (documented above).
    unsafe { rmm_bindings::rmm_synchronize_rcu_expedited() };
}

/// Waits until every RCU callback queued so far has run (`rcu_barrier()`):
/// what a module that queued any ([`PagePut::put`]) does before it goes
/// away, since the callbacks are its code.
///
/// # Context
///
/// Sleeps: process context, no spinlock and no RCU read-side lock held.
#[inline]
pub fn barrier() {
    // SAFETY: an FFI call with no requirements but its context (documented above).
    unsafe { rmm_bindings::rmm_rcu_barrier() };
}

/// A page reference to drop after an RCU grace period (`call_rcu()`), for
/// a page that lock-free readers may still be reading: its node is
/// allocated beforehand, so that queueing it ([`Self::put`]) cannot fail.
///
/// # Invariants
///
/// `node` is unused: not queued, its `page` null.
pub struct PagePut {
    node: KBox<PutNode>,
}

/// The node `call_rcu()` queues: its head first, so that the callback finds
/// the node at the head's address.
#[repr(C)]
struct PutNode {
    head: bindings::callback_head,
    page: *mut bindings::page,
}

impl PagePut {
    /// A node, without sleeping (`GFP_NOWAIT`); `None` if there is no memory.
    ///
    /// # Context
    ///
    /// Any.
    pub fn new() -> Option<Self> {
        let node = PutNode {
            head: bindings::callback_head {
                next: core::ptr::null_mut(),
                func: None,
            },
            page: core::ptr::null_mut(),
        };
        // INVARIANT: a new node, its page null.
        KBox::new(node, GFP_NOWAIT | __GFP_NOWARN)
            .ok()
            .map(|node| Self { node })
    }

    /// Drops `page` after a grace period, from an RCU callback.
    ///
    /// # Context
    ///
    /// Any (`call_rcu()` never sleeps).
    ///
    /// # Safety
    ///
    /// The callback is this module's code: the module must call
    /// [`barrier`] after this call and before it goes away.
    pub unsafe fn put(self, page: PageRef) {
        let node = KBox::into_raw(self.node);
        // The node is ours and unused (type invariant): the reference moves
        // into it, and the node to the callback, which puts and frees both.
        // SAFETY: `node` is a valid node of ours (just taken from its box).
        unsafe { (*node).page = page.into_raw().as_ptr() };
        // SAFETY: the head is in a live node queued once, the callback is ours (caller).
        unsafe { bindings::call_rcu(core::ptr::addr_of_mut!((*node).head), Some(put_page_cb)) };
    }
}

/// The RCU callback of [`PagePut::put`]: puts the page, frees the node.
///
/// # Safety
///
/// `head` is the head of a node [`PagePut::put`] queued, after its grace
/// period; called once.
unsafe extern "C" fn put_page_cb(head: *mut bindings::callback_head) {
    // The head is the first field of the `#[repr(C)]` node (see `PutNode`).
    // SAFETY: a node of `KBox::into_raw()`, handed back once (caller).
    let node = unsafe { KBox::from_raw(head.cast::<PutNode>()) };
    // SAFETY: `put` stored a page with a reference that the node owned.
    drop(unsafe { PageRef::from_raw(NonNull::new_unchecked(node.page)) });
}
