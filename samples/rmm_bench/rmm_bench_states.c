// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rzpool's object states (rust/volatile.rs) as a C pool would keep them
 * without atomics: one spinlock around a state word per object and a count
 * of volatile objects per zspage (here: per 32 objects) and in all. A
 * handle names its object through a two-level table and carries a
 * generation, which the lock holder checks, as rzpool's handles do. The
 * objects hold no bytes: only the transitions are timed, against rzpool's
 * compare-and-swap on the same words (RMM_BENCH_STATES).
 *
 * Lock order: alloc_mutex (allocation and free), then lock (the states).
 */

#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "rmm_bench_states.h"

#define CHUNK_OBJS	512
#define MAX_CHUNKS	4096	/* 2^21 objects: two threads of 2^20 */
#define PLACE_OBJS	32

enum { FREE, STABLE, VOLATILE, DISCARDED };

struct locked_obj {
	u16 gen;
	u8 state;
};

struct locked_states {
	struct mutex alloc_mutex;
	u32 nr;				/* objects ever allocated */
	u32 free_list;			/* a freed index + 1, or 0 */
	spinlock_t lock;
	u64 total_volatile;		/* under lock */
	u32 *counts;			/* per place, under lock */
	struct locked_obj *chunks[MAX_CHUNKS];
};

struct locked_states *locked_states_create(void)
{
	struct locked_states *ls = kvzalloc(sizeof(*ls), GFP_KERNEL);

	if (!ls)
		return NULL;
	ls->counts = kvcalloc(MAX_CHUNKS * CHUNK_OBJS / PLACE_OBJS, sizeof(u32), GFP_KERNEL);
	if (!ls->counts) {
		kvfree(ls);
		return NULL;
	}
	mutex_init(&ls->alloc_mutex);
	spin_lock_init(&ls->lock);
	return ls;
}

void locked_states_destroy(struct locked_states *ls)
{
	u32 i;

	for (i = 0; i < MAX_CHUNKS; i++)
		kvfree(ls->chunks[i]);
	kvfree(ls->counts);
	kvfree(ls);
}

static u64 encode(u32 idx, u16 gen)
{
	return (u64)gen << 32 | (idx + 1);
}

/* Indexes are not reused: the benchmark frees its objects only at its end. */
int locked_states_alloc(struct locked_states *ls, u64 *handle)
{
	struct locked_obj *chunk, *o;
	u32 idx;
	int ret = 0;

	mutex_lock(&ls->alloc_mutex);
	idx = ls->nr;
	if (idx >= MAX_CHUNKS * CHUNK_OBJS) {
		ret = -ENOSPC;
		goto out;
	}
	chunk = ls->chunks[idx / CHUNK_OBJS];
	if (!chunk) {
		chunk = kvcalloc(CHUNK_OBJS, sizeof(*chunk), GFP_KERNEL);
		if (!chunk) {
			ret = -ENOMEM;
			goto out;
		}
	}
	o = &chunk[idx % CHUNK_OBJS];
	/* Published under the lock that the transitions take. */
	spin_lock(&ls->lock);
	ls->chunks[idx / CHUNK_OBJS] = chunk;
	o->gen++;
	o->state = STABLE;
	ls->nr = idx + 1;
	spin_unlock(&ls->lock);
	*handle = encode(idx, o->gen);
out:
	mutex_unlock(&ls->alloc_mutex);
	return ret;
}

/* The object of handle, with lock held; NULL for a stale or forged one. */
static struct locked_obj *lookup(struct locked_states *ls, u64 handle)
{
	u32 idx = (u32)handle - 1;
	struct locked_obj *o;

	lockdep_assert_held(&ls->lock);
	if (idx >= ls->nr)
		return NULL;
	o = &ls->chunks[idx / CHUNK_OBJS][idx % CHUNK_OBJS];
	if (o->gen != (u16)(handle >> 32) || o->state == FREE)
		return NULL;
	return o;
}

/* One volatile object more (1) or less (-1) at handle's place, with lock held. */
static void count_volatile(struct locked_states *ls, u64 handle, int delta)
{
	lockdep_assert_held(&ls->lock);
	ls->counts[((u32)handle - 1) / PLACE_OBJS] += delta;
	ls->total_volatile += delta;
}

void locked_states_free(struct locked_states *ls, u64 handle)
{
	struct locked_obj *o;

	spin_lock(&ls->lock);
	o = lookup(ls, handle);
	if (o) {
		if (o->state == VOLATILE)
			count_volatile(ls, handle, -1);
		o->state = FREE;
	}
	spin_unlock(&ls->lock);
}

/*
 * Moves handle's object from state @from to @to, counting volatile objects:
 * 0; 1 if it was discarded when made stable (never here: nothing discards);
 * -ENOENT for a stale or forged handle; -EALREADY if it is not in @from.
 * Inlined, so that each caller is timed as if it were written out.
 */
static __always_inline int transition(struct locked_states *ls, u64 handle, u8 from, u8 to)
{
	struct locked_obj *o;
	int ret = 0;

	spin_lock(&ls->lock);
	o = lookup(ls, handle);
	if (!o) {
		ret = -ENOENT;
	} else if (to == STABLE && o->state == DISCARDED) {
		ret = 1;
	} else if (o->state != from) {
		ret = -EALREADY;
	} else {
		o->state = to;
		count_volatile(ls, handle, to == VOLATILE ? 1 : -1);
	}
	spin_unlock(&ls->lock);
	return ret;
}

int locked_states_make_volatile(struct locked_states *ls, u64 handle)
{
	return transition(ls, handle, STABLE, VOLATILE);
}

/* 0: kept; 1: discarded (never here: nothing discards); or -errno. */
int locked_states_make_stable(struct locked_states *ls, u64 handle)
{
	return transition(ls, handle, VOLATILE, STABLE);
}
