// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rmm's C helpers, built into rmisc.ko (see rust/rmm.c).
 */
#include "../../rust/rmm.c"

MODULE_VERSION(RMM_VERSION);
