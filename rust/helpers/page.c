// SPDX-License-Identifier: GPL-2.0

#include <linux/cacheflush.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/pagemap.h>

#include "helpers.h"

void rmm_copy_highpage(struct page *to, struct page *from)
{
	copy_highpage(to, from);
}

void rmm_flush_dcache_page(struct page *page)
{
	flush_dcache_page(page);
}

void rmm_get_page(struct page *page)
{
	get_page(page);
}

bool rmm_gfpflags_allow_blocking(gfp_t gfp)
{
	return gfpflags_allow_blocking(gfp);
}

void rmm_lock_page(struct page *page)
{
	lock_page(page);
}

void *rmm_page_address(struct page *page)
{
	return page_address(page);
}

int rmm_page_count(struct page *page)
{
	return page_count(page);
}

bool rmm_page_highmem(struct page *page)
{
	return PageHighMem(page);
}

bool rmm_page_isolated(struct page *page)
{
	return PageIsolated(page);
}

unsigned long rmm_page_private(struct page *page)
{
	return page_private(page);
}

unsigned long rmm_page_to_pfn(struct page *page)
{
	return page_to_pfn(page);
}

struct page *rmm_pfn_to_page(unsigned long pfn)
{
	return pfn_to_page(pfn);
}

void rmm_put_page(struct page *page)
{
	put_page(page);
}

void rmm_set_page_index(struct page *page, unsigned long index)
{
	page->index = index;
}

void rmm_set_page_private(struct page *page, unsigned long private)
{
	set_page_private(page, private);
}

bool rmm_trylock_page(struct page *page)
{
	return trylock_page(page);
}

void rmm_unlock_page(struct page *page)
{
	unlock_page(page);
}

/* The page of a linear-map address. */
struct page *rmm_virt_to_page(void *addr)
{
	return virt_to_page(addr);
}
