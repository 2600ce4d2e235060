// SPDX-License-Identifier: GPL-2.0

#include <linux/percpu.h>

#include "helpers.h"

/*
 * Per-CPU arrays of s64 as plain pointers for bindgen: the __percpu address
 * space exists for sparse only.
 */

/* n counts per CPU, zeroed (alloc_percpu_gfp() of an array). */
s64 *rmm_alloc_percpu_s64(size_t n, gfp_t gfp)
{
	return (s64 __force *)__alloc_percpu_gfp(n * sizeof(s64), __alignof__(s64), gfp);
}

void rmm_free_percpu_s64(s64 *counts)
{
	free_percpu((s64 __percpu __force *)counts);
}

s64 *rmm_per_cpu_ptr_s64(s64 *counts, int cpu)
{
	return per_cpu_ptr((s64 __percpu __force *)counts, cpu);
}

void rmm_this_cpu_add_s64(s64 *counts, s64 v)
{
	this_cpu_add(*(s64 __percpu __force *)counts, v);
}
