// SPDX-License-Identifier: GPL-2.0

#include <asm/barrier.h>

#include "helpers.h"

void rmm_smp_rmb(void)
{
	/* The pairing is the caller's to document. */
	smp_rmb();
}
