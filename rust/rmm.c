// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * All of rmm's C that Rust calls, the C half of rust/rmm.rs: built into
 * each module through a shim of its own (samples/<module>/<module>_helpers.c),
 * since Kbuild warns about one object linked into several modules.
 *
 * - helpers/: wrappers of static inline functions and macros, nothing more.
 * - *_helper.c: what is more than a wrapper and stays in C; each file says
 *   why, and has its own header for bindgen (rust/rmm_bindings.h).
 */

#include "helpers/helpers.c"

#include "memcg_helper.c"
#include "zpool_map_helper.c"
