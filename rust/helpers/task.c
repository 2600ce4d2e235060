// SPDX-License-Identifier: GPL-2.0

#include <linux/sched.h>
#include <linux/sched/signal.h>

#include "helpers.h"

void *rmm_current_task(void)
{
	return current;
}

/* Whether the current task has a fatal signal pending (SIGKILL). */
bool rmm_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

/* Whether the current task is in reclaim (PF_MEMALLOC). */
bool rmm_in_reclaim(void)
{
	return current->flags & PF_MEMALLOC;
}
