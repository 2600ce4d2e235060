// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * A measurement, not a verdict: runs one case of the kernel's test_zswap
 * (tools/testing/selftests/cgroup/test_zswap.c, included unchanged with its
 * main() renamed) a number of times, with the zswap counters of
 * /sys/kernel/debug/zswap before and after each run, so that the pass rate
 * of a timing-dependent case can be compared between zswap pools. The
 * verdict of make check is the unchanged binary's, run once.
 *
 *   test_zswap_one RUNS
 */
#define main test_zswap_main
#include "test_zswap.c"
#undef main

#include <pthread.h>
#include <time.h>

/*
 * The peaks of zswap's stored pages, of the test cgroup's zswapped and
 * current bytes (the child's memory) and of min_free_kbytes, sampled during
 * a run: which of the case's steps happened.
 */
static volatile int sampling;
static long peak_stored, peak_zswapped, peak_current, peak_min_free;

static void *sampler(void *root)
{
	char *cg = cg_name(root, "kmem_bypass_test");

	while (sampling) {
		size_t stored, min_free;
		long zswapped, current;

		if (!get_zswap_stored_pages(&stored) && (long)stored > peak_stored)
			peak_stored = stored;
		zswapped = cg ? cg_read_key_long(cg, "memory.stat", "zswapped ") : -1;
		if (zswapped > peak_zswapped)
			peak_zswapped = zswapped;
		current = cg ? cg_read_long(cg, "memory.current") : -1;
		if (current > peak_current)
			peak_current = current;
		if (!read_min_free_kb(&min_free) && (long)min_free > peak_min_free)
			peak_min_free = min_free;
		usleep(50000);
	}
	free(cg);
	return NULL;
}

static const char *const counters[] = {
	"stored_pages", "pool_total_size", "reject_alloc_fail", "reject_kmemcache_fail",
	"reject_compress_fail", "reject_compress_poor", "reject_reclaim_fail",
	"pool_limit_hit", "written_back_pages",
};
#define NR_COUNTERS (sizeof(counters) / sizeof(counters[0]))

/* What reclaim did meanwhile: kswapd's progress, and whether the child was killed. */
static const char *const vmstat[] = {
	"oom_kill", "pgscan_kswapd", "pgsteal_kswapd", "pgscan_direct", "zswpout", "pswpout",
	"compact_stall",
};
#define NR_VMSTAT (sizeof(vmstat) / sizeof(vmstat[0]))

static void read_vmstat(long *v)
{
	char name[64];
	long x;
	FILE *f = fopen("/proc/vmstat", "r");
	size_t i;

	for (i = 0; i < NR_VMSTAT; i++)
		v[i] = -1;
	if (!f)
		return;
	while (fscanf(f, "%63s %ld", name, &x) == 2) {
		for (i = 0; i < NR_VMSTAT; i++)
			if (!strcmp(name, vmstat[i]))
				v[i] = x;
	}
	fclose(f);
}

static void read_counters(long *v)
{
	char path[128];
	size_t i, x;

	for (i = 0; i < NR_COUNTERS; i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/zswap/%s", counters[i]);
		v[i] = read_int(path, &x) ? -1 : (long)x;
	}
}

int main(int argc, char **argv)
{
	int i, runs = argc > 1 ? atoi(argv[1]) : 10, pass = 0;
	long before[NR_COUNTERS], after[NR_COUNTERS];
	long vm_before[NR_VMSTAT], vm_after[NR_VMSTAT];
	struct timespec t0, t1;
	char root[PATH_MAX];
	size_t c;

	if (cg_find_unified_root(root, sizeof(root), NULL))
		ksft_exit_skip("cgroup v2 isn't mounted\n");
	if (!zswap_configured())
		ksft_exit_skip("zswap isn't configured\n");
	if (cg_read_strstr(root, "cgroup.subtree_control", "memory") &&
	    cg_write(root, "cgroup.subtree_control", "+memory"))
		ksft_exit_skip("Failed to set memory controller\n");
	for (i = 0; i < runs; i++) {
		int ret;

		pthread_t thread;

		read_counters(before);
		read_vmstat(vm_before);
		peak_stored = peak_zswapped = peak_current = peak_min_free = 0;
		sampling = 1;
		pthread_create(&thread, NULL, sampler, root);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ret = test_no_kmem_bypass(root);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		sampling = 0;
		pthread_join(thread, NULL);
		read_counters(after);
		read_vmstat(vm_after);
		pass += ret == KSFT_PASS;
		printf("run %d: %s in %.1f s;", i, ret == KSFT_PASS ? "pass" :
		       ret == KSFT_SKIP ? "skip" : "fail",
		       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
		printf(" peak stored_pages %ld (threshold %ld), peak zswapped %ld pages;",
		       peak_stored, (long)(sysconf(_SC_PHYS_PAGES) / 5), peak_zswapped / 4096);
		printf(" peak test cgroup memory.current %ld MiB, peak min_free_kbytes %ld;",
		       peak_current >> 20, peak_min_free);
		for (c = 0; c < NR_COUNTERS; c++)
			printf(" %s %+ld", counters[c], after[c] - before[c]);
		for (c = 0; c < NR_VMSTAT; c++)
			printf(" %s %+ld", vmstat[c], vm_after[c] - vm_before[c]);
		printf("\n");
		fflush(stdout);
	}
	printf("test_no_kmem_bypass: %d of %d runs passed\n", pass, runs);
	return 0;
}
