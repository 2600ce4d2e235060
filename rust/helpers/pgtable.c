// SPDX-License-Identifier: GPL-2.0

#include <linux/mm.h>
#include <linux/pgtable.h>

#include "helpers.h"

bool rmm_is_zero_pfn(unsigned long pfn)
{
	return is_zero_pfn(pfn);
}

unsigned int rmm_pmd_order(void)
{
	return PMD_SHIFT - PAGE_SHIFT;
}

unsigned int rmm_pud_order(void)
{
	return PUD_SHIFT - PAGE_SHIFT;
}
