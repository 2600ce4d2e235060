// SPDX-License-Identifier: GPL-2.0

#include <linux/memcontrol.h>
#include <linux/sched/mm.h>

#include "helpers.h"

void *rmm_get_mem_cgroup_from_mm(struct mm_struct *mm)
{
	return get_mem_cgroup_from_mm(mm);
}

bool rmm_mem_cgroup_disabled(void)
{
	return mem_cgroup_disabled();
}

void rmm_mem_cgroup_put(void *memcg)
{
	mem_cgroup_put(memcg);
}

void *rmm_set_active_memcg(void *memcg)
{
	return set_active_memcg(memcg);
}
