// SPDX-License-Identifier: GPL-2.0

#include <linux/rcupdate.h>

#include "helpers.h"

void rmm_cond_synchronize_rcu(unsigned long cookie)
{
	cond_synchronize_rcu(cookie);
}

unsigned long rmm_get_state_synchronize_rcu(void)
{
	return get_state_synchronize_rcu();
}

bool rmm_poll_state_synchronize_rcu(unsigned long cookie)
{
	return poll_state_synchronize_rcu(cookie);
}

void rmm_rcu_barrier(void)
{
	rcu_barrier();
}

void rmm_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rmm_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

void rmm_synchronize_rcu_expedited(void)
{
	synchronize_rcu_expedited();
}
