// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rzpool_cache: a cache on rzpool's volatile objects, emptied by memory
 * pressure by discarding, not copying. It fills a cache of checksummed objects
 * of mixed sizes in the order a cache gets them, makes the cold ones (the
 * oldest: all but the newest one in HOT) volatile, runs
 * the shrinkers as reclaim does (drop_caches), and reports what the pool
 * gave back, how (discarded whole zspages, discarded objects, objects
 * moved), and what a lookup of every object finds after: each hot one
 * intact, each cold one "kept" (intact) or "discarded". Then it lets the
 * whole cache go and runs the shrinkers again: every page it still holds is
 * freed by discarding alone, not one object copied. `make run` runs it.
 * In a 2 GiB guest, 64 MiB: 12,431 of the 12,565 pages given back were freed
 * by discarding alone; 343 objects were copied (by compaction, out of the
 * one zspage per size class that holds both old and new objects). Let go
 * whole, the cache then gave back its 16,955 pages by discarding alone.
 *
 *   rzpool_cache [-m MIB] [-H HOT]
 *     -m  cache size in MiB (default 64)   -H  the newest 1/HOT are hot (4)
 *
 * Exits 0 when every answer is right, the pool gave pages back, and the
 * whole cache let go was emptied without a copy.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <time.h>

#include "rzpool_lib.h"

/*
 * Memory pressure as reclaim applies it to slab: every shrinker, once. Then
 * prints, headed `what`, what the pool gave back since its counters were
 * `before`, and how; its counters now are left in *after. 0, or -1 if
 * drop_caches could not be written.
 */
static int pressure(int fd, const char *what, const struct rzpool_stats *before,
		    struct rzpool_stats *after)
{
	if (write_file("/proc/sys/vm/drop_caches", "2")) {
		perror("drop_caches");
		return -1;
	}
	rz_stats(fd, after);
	printf("%s: %llu -> %llu pages; %llu pages freed by discarding alone,\n"
	       "  %llu objects discarded by the shrinker and %llu by compaction; %llu objects copied\n",
	       what, (unsigned long long)before->pages, (unsigned long long)after->pages,
	       (unsigned long long)(after->discard_pages - before->discard_pages),
	       (unsigned long long)(after->discard_shrink - before->discard_shrink),
	       (unsigned long long)(after->discard_compact - before->discard_compact),
	       (unsigned long long)(after->compact_moved - before->compact_moved));
	return 0;
}

int main(int argc, char **argv)
{
	static int32_t res[RZPOOL_MAX_BATCH];
	unsigned long mib = 64, hot = 4;
	struct rzpool_stats s0, s1, s2, s3, s4;
	uint64_t *h, bytes = 0;
	uint32_t *size;
	size_t n, i, k, kept = 0, lost = 0, cold = 0, bad = 0, hot_ok = 0;
	int opt, fd;

	while ((opt = getopt(argc, argv, "m:H:")) != -1) {
		switch (opt) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 'H': hot = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [-m MIB] [-H HOT]\n", argv[0]);
			return 2;
		}
	}
	if (!hot)
		hot = 1;
	fd = open(RZPOOL_DEV, O_RDWR);
	if (fd < 0) {
		perror(RZPOOL_DEV " (is rzpool.ko loaded?)");
		return 1;
	}
	n = (mib << 20) / 700 + 1;
	h = calloc(n, sizeof(*h));
	size = calloc(n, sizeof(*size));
	if (!h || !size)
		return 1;
	for (i = 0; i < n; i++) {
		size[i] = 64 + (i * 2654435761u) % 1280;
		if (rz_alloc(fd, size[i], &h[i]) || put(fd, h[i], size[i], i)) {
			perror("fill");
			return 1;
		}
		bytes += size[i];
	}
	rz_stats(fd, &s0);
	printf("cache: %zu objects, %llu bytes in %llu pages (%.2f pool bytes per cached byte)\n",
	       n, (unsigned long long)bytes, (unsigned long long)s0.pages,
	       s0.pages * (double)PAGE_SZ / bytes);
	/* The cold objects, in batches: the oldest, all but 1 / `hot`. */
	for (i = 0; i < n; i += k) {
		uint64_t batch[RZPOOL_MAX_BATCH];
		size_t m = 0;

		for (k = 0; i + k < n && m < RZPOOL_MAX_BATCH; k++)
			if (i + k < n - n / hot)
				batch[m++] = h[i + k];
		if (m && rz_states(fd, RZPOOL_IOC_MAKE_VOLATILE, batch, res, m)) {
			perror("make volatile");
			return 1;
		}
		cold += m;
	}
	rz_stats(fd, &s1);
	printf("made %zu cold objects volatile (%llu volatile now)\n", cold,
	       (unsigned long long)s1.volatile_objs);
	if (pressure(fd, "memory pressure (drop_caches)", &s1, &s2))
		return 1;
	/* Every lookup: hot ones must be intact, cold ones kept or discarded. */
	for (i = 0; i < n; i++) {
		if (i >= n - n / hot) {
			if (check(fd, h[i], size[i], i))
				bad++;
			else
				hot_ok++;
			continue;
		}
		if (rz_states(fd, RZPOOL_IOC_MAKE_STABLE, &h[i], res, 1)) {
			bad++;
			continue;
		}
		if (res[0] == 0) {
			kept++;
			bad += check(fd, h[i], size[i], i) != 0;
		} else if (res[0] == RZPOOL_DISCARDED) {
			lost++;
		} else {
			bad++;
		}
	}
	printf("lookups: %zu hot intact, %zu cold kept intact, %zu cold discarded, %zu wrong\n",
	       hot_ok, kept, lost, bad);
	/*
	 * The whole cache let go (an application sent to the background):
	 * every zspage then holds only volatile objects, and pressure frees
	 * them all by discarding, without a byte copied.
	 */
	for (i = 0; i < n; i += k) {
		k = n - i < RZPOOL_MAX_BATCH ? n - i : RZPOOL_MAX_BATCH;
		if (rz_states(fd, RZPOOL_IOC_MAKE_VOLATILE, &h[i], res, k)) {
			perror("make volatile");
			return 1;
		}
	}
	rz_stats(fd, &s3);
	if (pressure(fd, "whole cache volatile, then pressure", &s3, &s4))
		return 1;
	if (s4.compact_moved != s3.compact_moved || s4.pages >= s3.pages)
		bad++;
	return !bad && s2.pages < s1.pages && kept + lost == cold ? 0 : 1;
}
