// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rmm's C helpers, built into rmirror.ko (see rust/helpers.c).
 */
#include "../../rust/helpers.c"

MODULE_VERSION(RMM_VERSION);
