// SPDX-License-Identifier: GPL-2.0

#include <linux/mmu_notifier.h>

#include "helpers.h"

#ifdef CONFIG_MMU_NOTIFIER
bool rmm_mmu_interval_read_retry(struct mmu_interval_notifier *sub, unsigned long seq)
{
	return mmu_interval_read_retry(sub, seq);
}

void rmm_mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long seq)
{
	mmu_interval_set_seq(sub, seq);
}
#endif
