// SPDX-License-Identifier: GPL-2.0

#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>

#include "helpers.h"

/* current->mm, without a reference (NULL for a kernel thread). */
struct mm_struct *rmm_current_mm(void)
{
	return current->mm;
}

/* The caller's address space with a reference on its users, or NULL. */
struct mm_struct *rmm_get_current_mm(void)
{
	return get_task_mm(current);
}

void rmm_mmap_read_lock(struct mm_struct *mm)
{
	mmap_read_lock(mm);
}

void rmm_mmap_read_unlock(struct mm_struct *mm)
{
	mmap_read_unlock(mm);
}

void rmm_mmget(struct mm_struct *mm)
{
	mmget(mm);
}

bool rmm_mmget_not_zero(struct mm_struct *mm)
{
	return mmget_not_zero(mm);
}

void rmm_mmgrab(struct mm_struct *mm)
{
	mmgrab(mm);
}

void rmm_mmdrop(struct mm_struct *mm)
{
	mmdrop(mm);
}

struct vm_area_struct *rmm_vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	return vma_lookup(mm, addr);
}
