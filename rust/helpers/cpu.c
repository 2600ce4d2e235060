// SPDX-License-Identifier: GPL-2.0

#include <linux/cpumask.h>
#include <linux/smp.h>

#include "helpers.h"

unsigned int rmm_next_possible_cpu(int cpu)
{
	return cpumask_next(cpu, cpu_possible_mask);
}

unsigned int rmm_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

/* With preemption disabled (zpool mappings). */
unsigned int rmm_smp_processor_id(void)
{
	return smp_processor_id();
}
