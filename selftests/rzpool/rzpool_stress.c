// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rzpool_stress: fill an rzpool with checksummed objects, then migrate its
 * pages by memory compaction and by offlining ZONE_MOVABLE memory blocks
 * while worker threads use it, and report what moved. `make run` runs it in
 * the guest; it runs as it is on any kernel with rzpool.ko loaded.
 *
 *   rzpool_stress [-m MIB] [-r ROUNDS] [-O]
 *     -m  pool size in MiB (default 256)   -r  compaction rounds (default 3)
 *     -O  skip the memory-offline round
 *
 * Exits 0 when every object is intact and the pool's pages were migrated.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <time.h>

#include "rzpool_lib.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void row(const char *what, const struct rzpool_stats *a, const struct rzpool_stats *b,
		unsigned long vm, const struct stress *st, double secs)
{
	printf("%-16s %9llu %9llu %7llu %8llu %12lu %10lu %7.2f\n", what,
	       (unsigned long long)(b->isolate - a->isolate),
	       (unsigned long long)(b->migrate - a->migrate),
	       (unsigned long long)(b->migrate_fail - a->migrate_fail),
	       (unsigned long long)(b->putback - a->putback), vm,
	       st->workers[0].ops + st->workers[1].ops, secs);
}

int main(int argc, char **argv)
{
	unsigned long mib = 256, rounds = 3, r, vm0;
	struct rzpool_stats s0, s1, s2;
	struct offline_result off = { 0 };
	struct stress st;
	int opt, fd, ret, offline = 1;
	size_t bad;
	double t;

	while ((opt = getopt(argc, argv, "m:r:O")) != -1) {
		switch (opt) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 'r': rounds = strtoul(optarg, NULL, 0); break;
		case 'O': offline = 0; break;
		default:
			fprintf(stderr, "usage: %s [-m MIB] [-r ROUNDS] [-O]\n", argv[0]);
			return 2;
		}
	}
	fd = open(RZPOOL_DEV, O_RDWR);
	if (fd < 0) {
		perror(RZPOOL_DEV " (is rzpool.ko loaded?)");
		return 1;
	}
	t = now();
	/* The pool's pages where offlining can reach them. */
	prefer_movable_node();
	ret = stress_fill(&st, fd, mib << 20);
	if (ret) {
		fprintf(stderr, "fill: %s\n", strerror(-ret));
		return 1;
	}
	rz_stats(fd, &s0);
	printf("pool %u: %zu objects, %llu bytes in %llu pages (%.1f%% of the pages' bytes used), %.1f s\n",
	       s0.pool_id, st.n, (unsigned long long)s0.bytes, (unsigned long long)s0.pages,
	       100.0 * s0.bytes / (s0.pages * (double)PAGE_SZ), now() - t);
	printf("%-16s %9s %9s %7s %8s %12s %10s %7s\n", "round", "isolated", "migrated",
	       "failed", "putback", "pgmigrate_ok", "worker_ops", "seconds");

	s1 = s0;
	for (r = 0; r < rounds; r++) {
		char name[32];

		vm0 = vmstat("pgmigrate_success");
		t = now();
		ret = stress_round(&st, compact_memory, NULL);
		rz_stats(fd, &s2);
		snprintf(name, sizeof(name), "compact %lu", r + 1);
		row(name, &s1, &s2, vmstat("pgmigrate_success") - vm0, &st, now() - t);
		if (ret) {
			fprintf(stderr, "compaction round: %s\n", strerror(-ret));
			return 1;
		}
		s1 = s2;
	}
	if (offline) {
		vm0 = vmstat("pgmigrate_success");
		t = now();
		ret = stress_round(&st, offline_movable_blocks, &off);
		rz_stats(fd, &s2);
		row("offline blocks", &s1, &s2, vmstat("pgmigrate_success") - vm0, &st, now() - t);
		printf("  %d ZONE_MOVABLE blocks: %d offlined and onlined again, %d not offlinable (unmovable memory or holes), %d failed%s\n",
		       off.blocks, off.offlined, off.unfit, off.failed,
		       off.blocks ? "" : " (boot with movablecore= to have some)");
		if (off.failed)
			printf("  last failure: memory%d: %s\n", off.last_block, strerror(off.last_errno));
		if (ret) {
			fprintf(stderr, "offline round: %s\n", strerror(-ret));
			return 1;
		}
	}
	t = now();
	ret = stress_verify(&st, &bad);
	if (ret) {
		printf("FAIL: object %zu of %zu: %s\n", bad, st.n, strerror(-ret));
		return 1;
	}
	printf("all %zu objects intact (checked in %.1f s); %llu pool pages migrated in all\n",
	       st.n, now() - t, (unsigned long long)(s2.migrate - s0.migrate));
	return s2.migrate > s0.migrate ? 0 : 1;
}
