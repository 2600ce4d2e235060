// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rmm's C helpers, built into rzpool.ko (see rust/rmm.c), and the
 * exports of rzpool's in-kernel API, whose functions are defined in Rust
 * (rmm::kapi::export_object_pool! in rzpool_main.rs).
 */
#include <linux/export.h>

#include "../../rust/rmm.c"
#include "rzpool_kapi.h"

MODULE_VERSION(RMM_VERSION);

EXPORT_SYMBOL_GPL(rzpool_create);
EXPORT_SYMBOL_GPL(rzpool_destroy);
EXPORT_SYMBOL_GPL(rzpool_malloc);
EXPORT_SYMBOL_GPL(rzpool_free);
EXPORT_SYMBOL_GPL(rzpool_write);
EXPORT_SYMBOL_GPL(rzpool_read);
EXPORT_SYMBOL_GPL(rzpool_total_pages);
EXPORT_SYMBOL_GPL(rzpool_compact);
EXPORT_SYMBOL_GPL(rzpool_make_volatile);
EXPORT_SYMBOL_GPL(rzpool_make_stable);
