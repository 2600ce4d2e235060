/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * The spinlocked object states that rmm_bench times rzpool's lock-free ones
 * against (RMM_BENCH_LOCKED_STATES).
 */
#ifndef _RMM_BENCH_STATES_H
#define _RMM_BENCH_STATES_H

#include <linux/types.h>

struct locked_states;

struct locked_states *locked_states_create(void);
void locked_states_destroy(struct locked_states *ls);
int locked_states_alloc(struct locked_states *ls, u64 *handle);
void locked_states_free(struct locked_states *ls, u64 handle);
int locked_states_make_volatile(struct locked_states *ls, u64 handle);
int locked_states_make_stable(struct locked_states *ls, u64 handle);

#endif /* _RMM_BENCH_STATES_H */
