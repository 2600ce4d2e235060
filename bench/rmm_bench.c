// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rmm_bench: runs rmm's benchmarks inside one guest boot and writes raw
 * samples as JSON for bench/report.py. Every comparison alternates its two
 * (or three) sides run by run (A B A B ...), so both see the same machine.
 *
 *   rmm_bench [-r RUNS] [-q] [-g GROUPS] OUT.json
 *     -r  runs per side (default 10)    -q  quick: smaller sizes, for a smoke test
 *     -g  comma-separated groups to run (default all): ops, zpool, memory,
 *         migration, notifier, faultin, young, states, cache
 *     -P POOL, -S SIZE, -T THREADS, -O TEST: run only that pool (zsmalloc,
 *         rzpool; zbud too in the zpool group), object size (0: mixed),
 *         thread count or test (alloc+free, write+read; map+copy is the
 *         zpool group's name for write+read) of the ops and zpool groups:
 *         for profiling one case
 *     -Q INDEX: one more run of each one-thread zpool case per driver, counted
 *         by the QEMU plugin bench/qemu/rmm_prof.c (make bench PLUGIN=1)
 *
 * Pools (rzpool vs zsmalloc) run in the kernel through rmm_bench.ko: the
 * ops group through their own APIs, the zpool group through the zpool
 * drivers' callbacks as zswap calls them (zsmalloc, zbud, rzpool). The
 * notifier and young-bit benchmarks run here against rmirror.ko and
 * test_hmm.ko's dmirror.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rmm_bench.h"
#include "rmm_bench_uapi.h"
#include "rmm_selftest.h"
#include "rmirror_uapi.h"
#include <lib/test_hmm_uapi.h>

#define PAGE_SZ 4096UL

int runs = 10, quick;
static const char *groups;
static const char *only_pool;
static int only_size = -1, only_threads, only_test = -1;

/* Whether group g was asked for (-g), or all were. */
static int want(const char *g)
{
	const char *p = groups;
	size_t n = strlen(g);

	if (!p)
		return 1;
	while ((p = strstr(p, g))) {
		if ((p == groups || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 1;
		p += n;
	}
	return 0;
}
static FILE *out;
static int first_record = 1;

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void die(const char *what)
{
	fprintf(stderr, "rmm_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * One JSON record: {"group": ..., "key": ..., "side": ..., "unit": ...,
 * "samples": [...]}, and "na": why, with no samples, for a side that could
 * not run the case (na not NULL).
 */
void record_na(const char *group, const char *key, const char *side, const char *unit,
		      const double *v, int n, const char *na)
{
	int i;

	fprintf(out, "%s\n  {\"group\": \"%s\", \"key\": \"%s\", \"side\": \"%s\", \"unit\": \"%s\", \"samples\": [",
		first_record ? "" : ",", group, key, side, unit);
	for (i = 0; i < n; i++)
		fprintf(out, "%s%.3f", i ? ", " : "", v[i]);
	fprintf(out, "]");
	if (na)
		fprintf(out, ", \"na\": \"%s\"", na);
	fprintf(out, "}");
	first_record = 0;
	fflush(out);
}

void record(const char *group, const char *key, const char *side, const char *unit,
		   const double *v, int n)
{
	record_na(group, key, side, unit, v, n, NULL);
}

/* --- pools, in the kernel --- */

static int bench_fd = -1;

static void bench_run(struct rmm_bench_req *req)
{
	if (ioctl(bench_fd, RMM_BENCH_RUN, req))
		die("RMM_BENCH_RUN");
}

/* Appends the ns per object of a run of req, per thread and batch, to v[*n..]. */
static void per_op(const struct rmm_bench_req *req, double *v, int *n)
{
	unsigned int t, b;

	for (t = 0; t < req->threads; t++)
		for (b = 0; b < req->batches; b++)
			v[(*n)++] = (double)req->ns[t][b] / req->nr_objs;
}

/* Runs req and appends its ns per object, per thread and batch, to v[*n..]. */
static void bench_run_per_op(struct rmm_bench_req *req, double *v, int *n)
{
	bench_run(req);
	per_op(req, v, n);
}

static const char *const pool_name[] = { "zsmalloc", "rzpool" };

/* "64 B, 1 thread", "mixed, 2 threads" */
static void case_key(char *key, size_t len, unsigned int size, int threads)
{
	if (size)
		snprintf(key, len, "%u B, %d thread%s", size, threads, threads > 1 ? "s" : "");
	else
		snprintf(key, len, "mixed, %d thread%s", threads, threads > 1 ? "s" : "");
}

/* ALLOC_FREE and WRITE_READ: ns per operation pair, per batch and thread. */
static void bench_ops(int test, const char *tname)
{
	static const unsigned int sizes[] = { 64, 700, 1632, 3264, 0 };
	int si, threads, r, p;

	if (only_test >= 0 && only_test != test)
		return;
	for (si = 0; si < 5; si++) {
		if (only_size >= 0 && (int)sizes[si] != only_size)
			continue;
		for (threads = 1; threads <= 2; threads++) {
			static double v[2][RMM_BENCH_MAX_THREADS * RMM_BENCH_MAX_BATCHES * 64];
			int n[2] = { 0, 0 };
			char key[64];

			if (only_threads && threads != only_threads)
				continue;
			for (r = 0; r < runs; r++) {
				/* Alternate which side goes first, too. */
				for (p = 0; p < 2; p++) {
					int pool = (r + p) % 2;

					if (only_pool && strcmp(pool_name[pool], only_pool))
						continue;
					struct rmm_bench_req req = {
						.pool = pool, .test = test, .size = sizes[si],
						.threads = threads, .nr_objs = quick ? 256 : 1024,
						.batches = quick ? 4 : 8, .seed = 12345 + r,
					};

					bench_run_per_op(&req, v[pool], &n[pool]);
				}
			}
			case_key(key, sizeof(key), sizes[si], threads);
			for (p = 0; p < 2; p++)
				if (n[p])
					record(tname, key, pool_name[p], "ns/op", v[p], n[p]);
		}
	}
}

/*
 * STATES: ns per make_volatile + make_stable pair, rzpool's lock-free
 * transitions (through its C API) against the same state machine under a
 * spinlock (rmm_bench_states.c), each thread on objects of its own in one
 * pool.
 */
static void bench_states(void)
{
	static const char *const side[] = { "rzpool", "spinlock" };
	static const unsigned int kind[] = { RMM_BENCH_RZPOOL, RMM_BENCH_LOCKED_STATES };
	int threads, r, p;

	for (threads = 1; threads <= 2; threads++) {
		static double v[2][RMM_BENCH_MAX_THREADS * RMM_BENCH_MAX_BATCHES * 64];
		int n[2] = { 0, 0 };
		char key[64];

		if (only_threads && threads != only_threads)
			continue;
		for (r = 0; r < runs; r++) {
			for (p = 0; p < 2; p++) {
				int k = (r + p) % 2;
				struct rmm_bench_req req = {
					.pool = kind[k], .test = RMM_BENCH_STATES, .size = 256,
					.threads = threads, .nr_objs = quick ? 1024 : 4096,
					.batches = quick ? 4 : 8, .seed = 12345 + r,
				};

				bench_run_per_op(&req, v[k], &n[k]);
			}
		}
		snprintf(key, sizeof(key), "volatile+stable pair, %d thread%s", threads,
			 threads > 1 ? "s" : "");
		for (p = 0; p < 2; p++)
			record("states", key, side[p], "ns/op", v[p], n[p]);
	}
}

/*
 * -Q INDEX: after a one-thread zpool case, one more run per driver between
 * the markers of bench/qemu/rmm_prof.c, whose plugin writes its counts to a
 * file per run (PREFIX.0, .1, ... in order): INDEX gets a line per run,
 * "N<TAB>test<TAB>case<TAB>driver<TAB>ops", for bench/profile.py.
 */
static FILE *prof_index;
static int prof_seq;

/* A profiled region that user space drives: between the two markers. */
static void prof_begin(void)
{
	if (prof_index && ioctl(bench_fd, RMM_BENCH_PROF_MARK, 1))
		die("RMM_BENCH_PROF_MARK");
}

static void prof_end(const char *tname, const char *key, const char *side, unsigned long long ops)
{
	if (!prof_index)
		return;
	if (ioctl(bench_fd, RMM_BENCH_PROF_MARK, 2))
		die("RMM_BENCH_PROF_MARK");
	fprintf(prof_index, "%d\t%s\t%s\t%s\t%llu\n", prof_seq++, tname, key, side, ops);
	fflush(prof_index);
}

static void profile_run(const char *tname, const char *key, const char *driver,
			struct rmm_bench_req *req)
{
	req->flags = RMM_BENCH_F_PROFILE;
	if (ioctl(bench_fd, RMM_BENCH_RUN, req))
		return;
	fprintf(prof_index, "%d\t%s\t%s\t%s\t%llu\n", prof_seq++, tname, key, driver,
		(unsigned long long)req->nr_objs * req->batches);
	fflush(prof_index);
}

/* The zpool drivers, through their callbacks as zswap calls them. */
static const char *const zpool_name[] = { "zsmalloc", "zbud", "rzpool" };
static const unsigned int zpool_kind[] = {
	RMM_BENCH_ZPOOL_ZSMALLOC, RMM_BENCH_ZPOOL_ZBUD, RMM_BENCH_ZPOOL_RZPOOL,
};

/*
 * ALLOC_FREE and MAP_COPY (map WO + copy + unmap, map RO + copy + unmap)
 * per zpool driver: ns per operation pair, per batch and thread. The three
 * alternate run by run, each run starting with the next. A driver that
 * cannot run a case (-ENOSPC: zbud and objects over 3968 bytes; -ENODEV:
 * not registered when rmm_bench.ko was loaded) gets an "na" record and is
 * left out of that case's later runs; the others go on. The mixed stream of
 * the zpool kinds is 32 .. 3968 bytes for all three (rmm_bench_uapi.h).
 */
static void profile_zpool(int test, const char *tname, const char *key, unsigned int size,
			  const int *err)
{
	int d;

	for (d = 0; prof_index && d < 3; d++) {
		struct rmm_bench_req req = {
			.pool = zpool_kind[d], .test = test, .size = size, .threads = 1,
			.nr_objs = quick ? 256 : 1024, .batches = quick ? 4 : 8, .seed = 12345,
		};

		if ((only_pool && strcmp(zpool_name[d], only_pool)) || err[d])
			continue;
		profile_run(tname, key, zpool_name[d], &req);
	}
}

static void bench_zpool(int test, const char *tname)
{
	static const unsigned int sizes[] = { 64, 128, 256, 512, 1024, 2048, 3072, 4096, 0 };
	const int nsizes = sizeof(sizes) / sizeof(sizes[0]);
	int si, threads, r, p;

	if (only_test >= 0 && only_test != test)
		return;
	for (si = 0; si < nsizes; si++) {
		if (only_size >= 0 && (int)sizes[si] != only_size)
			continue;
		for (threads = 1; threads <= 2; threads++) {
			static double v[3][RMM_BENCH_MAX_THREADS * RMM_BENCH_MAX_BATCHES * 64];
			int n[3] = { 0, 0, 0 }, err[3] = { 0, 0, 0 };
			char key[64];

			if (only_threads && threads != only_threads)
				continue;
			for (r = 0; r < runs; r++) {
				for (p = 0; p < 3; p++) {
					int d = (r + p) % 3;
					struct rmm_bench_req req = {
						.pool = zpool_kind[d], .test = test, .size = sizes[si],
						.threads = threads, .nr_objs = quick ? 256 : 1024,
						.batches = quick ? 4 : 8, .seed = 12345 + r,
					};

					if ((only_pool && strcmp(zpool_name[d], only_pool)) || err[d])
						continue;
					if (ioctl(bench_fd, RMM_BENCH_RUN, &req)) {
						if (errno != ENOSPC && errno != ENODEV)
							die("RMM_BENCH_RUN");
						err[d] = errno;
						continue;
					}
					per_op(&req, v[d], &n[d]);
				}
			}
			case_key(key, sizeof(key), sizes[si], threads);
			if (threads == 1)
				profile_zpool(test, tname, key, sizes[si], err);
			for (p = 0; p < 3; p++) {
				if (err[p] == ENOSPC)
					record_na(tname, key, zpool_name[p], "ns/op", NULL, 0,
						  "ENOSPC: object too big for the driver");
				else if (err[p] == ENODEV)
					record_na(tname, key, zpool_name[p], "ns/op", NULL, 0,
						  "ENODEV: driver not registered");
				else if (n[p])
					record(tname, key, zpool_name[p], "ns/op", v[p], n[p]);
			}
		}
	}
}

/* Memory efficiency: pool bytes per stored byte, full, after freeing half, compacted. */
static void bench_memory(void)
{
	double v[2][3][64];
	int r, p, k;

	for (r = 0; r < 3; r++) {
		for (p = 0; p < 2; p++) {
			int pool = (r + p) % 2;
			struct rmm_bench_req req = {
				.pool = pool, .test = RMM_BENCH_MEMORY, .threads = 1, .nr_objs = 1,
				.batches = 1, .bytes = (quick ? 8UL : 64UL) << 20, .seed = 777 + r,
			};
			bench_run(&req);
			v[pool][0][r] = (double)req.pages_full * PAGE_SZ / req.stored_full;
			v[pool][1][r] = (double)req.pages_before * PAGE_SZ / req.stored;
			v[pool][2][r] = (double)req.pages_after * PAGE_SZ / req.stored;
		}
	}
	for (p = 0; p < 2; p++) {
		static const char *const keys[] = { "filled", "half freed", "half freed, compacted" };

		for (k = 0; k < 3; k++)
			record("memory", keys[k], pool_name[p], "pool bytes/stored byte", v[p][k], 3);
	}
}

/* Migration: time per migrated page while compaction moves a >= 256 MiB pool. */
static void bench_migration(void)
{
	double per_page[2][64], pages[2][64], copy[64 * RMM_BENCH_MAX_BATCHES];
	int r, p, nc = 0;

	for (r = 0; r < runs; r++) {
		for (p = 0; p < 2; p++) {
			int pool = (r + p) % 2;
			struct rmm_bench_req req = {
				.pool = pool, .test = RMM_BENCH_FILL, .threads = 1, .nr_objs = 1,
				.batches = 1, .bytes = (quick ? 32UL : 256UL) << 20, .seed = 4242 + r,
			};
			unsigned long m0, m1;
			uint64_t t0, t1;

			bench_run(&req);
			m0 = vmstat("pgmigrate_success");
			t0 = now_ns();
			if (write_file("/proc/sys/vm/compact_memory", "1"))
				die("compact_memory");
			t1 = now_ns();
			m1 = vmstat("pgmigrate_success");
			pages[pool][r] = m1 - m0;
			per_page[pool][r] = m1 > m0 ? (double)(t1 - t0) / (m1 - m0) : 0;
			req.test = RMM_BENCH_DRAIN;
			bench_run(&req);
			if (req.errors) {
				fprintf(stderr, "rmm_bench: %s: %llu objects corrupted by migration\n",
					pool_name[pool], (unsigned long long)req.errors);
				exit(1);
			}
		}
		{
			struct rmm_bench_req req = {
				.test = RMM_BENCH_COPY_PAGE, .threads = 1, .nr_objs = 4096, .batches = 4,
			};

			bench_run_per_op(&req, copy, &nc);
		}
	}
	for (p = 0; p < 2; p++) {
		record("migration", "ns per migrated page", pool_name[p], "ns/page", per_page[p], runs);
		record("migration", "pages migrated", pool_name[p], "pages", pages[p], runs);
	}
	record("migration", "ns per migrated page", "copy_page floor", "ns/page", copy, nc);
}

/* --- MMU notifiers, from here --- */

enum { NONE, DMIRROR, RMIRROR, EMPTY };
static const char *const mode_name[] = { "no mirror", "dmirror", "rmirror", "empty notifier" };

static char *map_populated(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 1, len);
	return p;
}

/* Mirrors [p, p + len) with the given device, populated. Returns the fd. */
static int mirror(int mode, char *p, size_t len, char *scratch)
{
	int fd;

	if (mode == NONE)
		return -1;
	if (mode == RMIRROR) {
		struct rmirror_range r = { .addr = (uintptr_t)p, .len = len };

		fd = open("/dev/rmirror", O_RDWR);
		if (fd < 0 || ioctl(fd, RMIRROR_IOC_MIRROR, &r) < 0)
			die("rmirror MIRROR");
	} else {
		struct hmm_dmirror_cmd cmd = {
			.addr = (uintptr_t)p, .ptr = (uintptr_t)scratch, .npages = len / PAGE_SZ,
		};

		fd = open("/dev/hmm_dmirror0", O_RDWR);
		if (fd < 0 || ioctl(fd, HMM_DMIRROR_READ, &cmd) < 0)
			die("dmirror READ");
	}
	return fd;
}

/*
 * munmap and mprotect latency of populated, mirrored ranges. Small ranges
 * are noisy under emulation: each run repeats them (16 times up to 1 MiB).
 */
static void bench_notifier(void)
{
	static const size_t sizes[] = { 4096, 64 << 10, 1 << 20, 16 << 20, 64 << 20 };
	int nsz = quick ? 3 : 5, si, r, m, op, k;
	char *scratch = map_populated(64 << 20);

	for (op = 0; op < 2; op++) {
		for (si = 0; si < nsz; si++) {
			int reps = sizes[si] <= (1 << 20) ? 16 : 1, n[3] = { 0, 0, 0 };
			static double v[3][64 * 16];
			char key[32];

			for (r = 0; r < runs; r++) {
				for (m = 0; m < 3; m++) {
					int mode = (r + m) % 3;

					for (k = 0; k < reps; k++) {
						char *p = map_populated(sizes[si]);
						int fd = mirror(mode, p, sizes[si], scratch);
						uint64_t t0 = now_ns();

						if (op == 0)
							munmap(p, sizes[si]);
						else
							mprotect(p, sizes[si], PROT_READ);
						v[mode][n[mode]++] = (now_ns() - t0) / 1000.0;
						if (op == 1)
							munmap(p, sizes[si]);
						if (fd >= 0)
							close(fd);
					}
				}
			}
			if (sizes[si] >= 1 << 20)
				snprintf(key, sizeof(key), "%zu MiB", sizes[si] >> 20);
			else
				snprintf(key, sizeof(key), "%zu KiB", sizes[si] >> 10);
			for (m = 0; m < 3; m++)
				record(op ? "mprotect" : "munmap", key, mode_name[m], "us", v[m], n[m]);
		}
	}
	munmap(scratch, 64 << 20);
}

/*
 * Fault-in: a device read of a fresh 16 MiB range that faults every page in
 * on demand, through test_hmm's interface on both sides: test_hmm's own
 * /dev/hmm_dmirror0, and rmirror's, /dev/rmirror_hmm0 (scripts/guest/bench.sh
 * loads rmirror with hmm_names=0 after test_hmm). Same command, same work:
 * HMM_DMIRROR_READ of every page, with one fault pass (faults == 1) on
 * each side.
 */
/*
 * Where a thread's time went, from its schedstat (on a CPU, waiting on a
 * run queue) and rusage (context switches): what wall time alone cannot
 * tell apart, a path that computes from one that sleeps.
 */
struct thread_time {
	uint64_t run_ns, wait_ns;
	long nvcsw, nivcsw;
};

static void thread_time(struct thread_time *t)
{
	unsigned long long run = 0, wait = 0;
	struct rusage ru;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (!f || fscanf(f, "%llu %llu", &run, &wait) != 2)
		run = wait = 0;
	if (f)
		fclose(f);
	getrusage(RUSAGE_THREAD, &ru);
	*t = (struct thread_time){ run, wait, ru.ru_nvcsw, ru.ru_nivcsw };
}

static void bench_faultin(void)
{
	size_t len = (quick ? 4 : 16) << 20;
	char *scratch = map_populated(len);
	double v[3][64];
	int r, m;

	for (r = 0; r < runs; r++) {
		for (m = 1; m <= 2; m++) {
			int mode = 1 + (r + m) % 2, fd;
			char *p = map_populated(len);
			struct hmm_dmirror_cmd cmd = {
				.addr = (uintptr_t)p, .ptr = (uintptr_t)scratch, .npages = len / PAGE_SZ,
			};
			struct thread_time a, z;
			uint64_t t0, ns;

			fd = open(mode == RMIRROR ? "/dev/rmirror_hmm0" : "/dev/hmm_dmirror0", O_RDWR);
			if (fd < 0)
				die(mode == RMIRROR ? "open /dev/rmirror_hmm0" : "open /dev/hmm_dmirror0");
			if (r == 0)
				prof_begin();
			thread_time(&a);
			t0 = now_ns();
			if (ioctl(fd, HMM_DMIRROR_READ, &cmd) < 0)
				die("HMM_DMIRROR_READ");
			ns = now_ns() - t0;
			thread_time(&z);
			v[mode][r] = (len / PAGE_SZ) / (ns / 1e9);
			/* The rest of the wall time is time asleep (or in a vCPU not run). */
			printf("# fault-in run %d, %s: %.0f pages/s; %.2f ms: %.2f on a CPU, %.2f runnable, "
			       "%ld voluntary and %ld involuntary switches\n",
			       r, mode_name[mode], v[mode][r], ns / 1e6, (z.run_ns - a.run_ns) / 1e6,
			       (z.wait_ns - a.wait_ns) / 1e6, z.nvcsw - a.nvcsw, z.nivcsw - a.nivcsw);
			if (r == 0)
				prof_end("fault-in", "16 MiB read, per page", mode_name[mode], len / PAGE_SZ);
			if (cmd.cpages != len / PAGE_SZ || cmd.faults != 1) {
				fprintf(stderr, "rmm_bench: %s READ: cpages %llu, faults %llu\n",
					mode_name[mode], (unsigned long long)cmd.cpages,
					(unsigned long long)cmd.faults);
				exit(1);
			}
			close(fd);
			munmap(p, len);
		}
	}
	record("fault-in", "16 MiB read, pages/s", "dmirror", "pages/s", v[DMIRROR], runs);
	record("fault-in", "16 MiB read, pages/s", "rmirror", "pages/s", v[RMIRROR], runs);
	munmap(scratch, len);
}

/* All of MemAvailable but 192 MiB, or 0. */
static size_t ballast_size(void)
{
	size_t avail = mem_available();

	return avail > (192UL << 20) ? (avail - (192UL << 20)) & ~(PAGE_SZ - 1) : 0;
}

/*
 * The mirror's own page tables migrating: a 256 MiB mirror (131 table
 * pages), then compaction and the offlining of every ZONE_MOVABLE block, up
 * to four times until a table page moves.
 * rmirror's statistics give how many table pages moved and the time its
 * migration callback took for them (lock, entry-by-entry atomic move, the
 * commit, the parent switch), against the kernel's copy_page() of 4 KiB.
 */
static void bench_tables(void)
{
	size_t len = (quick ? 64UL : 256UL) << 20;
	double per_page[64], pages[64], copy[64 * RMM_BENCH_MAX_BATCHES];
	int r, pass, n = 0, nc = 0;

	prefer_movable_node();
	for (r = 0; r < runs; r++) {
		struct rmirror_stats a, z;
		struct offline_result off = { 0 };
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct rmirror_range rr = { .addr = (uintptr_t)p, .len = len };
		int fd = open("/dev/rmirror", O_RDWR);
		size_t ballast_len = ballast_size();
		char *ballast = ballast_len ? map_populated(ballast_len) : NULL;

		/*
		 * The tables are made with memory nearly full (a ballast of user
		 * pages), so that they land wherever free pages are left, not all
		 * in one block that cannot be offlined.
		 */
		if (p == MAP_FAILED || fd < 0 || ioctl(fd, RMIRROR_IOC_MIRROR, &rr) < 0)
			die("rmirror MIRROR");
		if (ballast)
			munmap(ballast, ballast_len);
		if (ioctl(fd, RMIRROR_IOC_STATS, &a))
			die("rmirror STATS");
		/* Up to four passes, until some table page has moved. */
		for (pass = 0; pass < 4; pass++) {
			if (write_file("/proc/sys/vm/compact_memory", "1"))
				die("compact_memory");
			offline_movable_blocks(&off);
			if (ioctl(fd, RMIRROR_IOC_STATS, &z))
				die("rmirror STATS");
			fprintf(stderr, "rmm_bench: tables: run %d pass %d: %d movable blocks, %d offlined, "
				"%d not offlinable, %d failed; %llu of %llu table pages moved\n", r, pass,
				off.blocks, off.offlined, off.unfit, off.failed,
				(unsigned long long)(z.tables_migrated - a.tables_migrated),
				(unsigned long long)a.tables);
			if (z.tables_migrated != a.tables_migrated)
				break;
		}
		pages[r] = z.tables_migrated - a.tables_migrated;
		if (pages[r])
			per_page[n++] = (double)(z.table_migrate_ns - a.table_migrate_ns) / pages[r];
		close(fd);
		munmap(p, len);
		{
			struct rmm_bench_req req = {
				.test = RMM_BENCH_COPY_PAGE, .threads = 1, .nr_objs = 4096, .batches = 4,
			};

			bench_run_per_op(&req, copy, &nc);
		}
	}
	if (n)
		record("table migration", "ns per migrated table page", "rmirror", "ns/page", per_page, n);
	else
		record_na("table migration", "ns per migrated table page", "rmirror", "ns/page", NULL, 0,
			  "no table page migrated (no offlinable ZONE_MOVABLE block?)");
	record("table migration", "table pages migrated", "rmirror", "pages", pages, runs);
	record("table migration", "ns per migrated table page", "copy_page floor", "ns/page", copy, nc);
}

/* Young harvesting: one page_idle pass (mark idle, read back) per page. */
/* Bitmap words [start, end) of /sys/kernel/mm/page_idle/bitmap. */
struct word_span {
	size_t start, end;
};

static void bench_young(void)
{
	size_t npages = quick ? 1024 : 4096, len = npages * PAGE_SZ, i, k, nspans;
	uint64_t *pfn = calloc(npages, sizeof(*pfn)), lo, hi, *bits;
	struct word_span *spans;
	double v[4][64];
	int r, m, idle, pm;

	idle = open("/sys/kernel/mm/page_idle/bitmap", O_RDWR);
	pm = open("/proc/self/pagemap", O_RDONLY);
	if (idle < 0 || pm < 0 || !pfn)
		die("page_idle");
	for (r = 0; r < runs; r++) {
		for (m = 0; m < 3; m++) {
			static const int modes[] = { NONE, RMIRROR, EMPTY };
			int mode = modes[(r + m) % 3], fd;
			char *p = map_populated(len);
			char *buf = malloc(1 << 20);
			size_t words;
			uint64_t t0;

			/* Drain the per-CPU LRU batches: page_idle sees LRU pages only. */
			if (write_file("/proc/sys/vm/compact_memory", "1"))
				die("compact_memory");
			if (mode == EMPTY) {
				/* The notifier core alone, on a notifier of rmm_bench's. */
				fd = open("/dev/rmm_bench", O_RDWR);
				if (fd < 0 || ioctl(fd, RMM_BENCH_EMPTY_NOTIFIER))
					die("RMM_BENCH_EMPTY_NOTIFIER");
			} else {
				fd = mirror(mode, p, len, NULL);
			}
			lo = UINT64_MAX;
			hi = 0;
			for (i = 0; i < npages; i++) {
				uint64_t e;

				if (pread(pm, &e, 8, ((uintptr_t)p / PAGE_SZ + i) * 8) != 8)
					die("pagemap");
				pfn[i] = e & ((1ULL << 55) - 1);
				lo = pfn[i] < lo ? pfn[i] : lo;
				hi = pfn[i] > hi ? pfn[i] : hi;
			}
			lo &= ~63ULL;
			words = (hi - lo) / 64 + 1;
			bits = calloc(words, 8);
			spans = calloc(npages + 1, sizeof(*spans));
			if (!bits || !spans)
				die("page_idle bitmap");
			for (i = 0; i < npages; i++)
				bits[(pfn[i] - lo) / 64] |= 1ULL << (pfn[i] % 64);
			/*
			 * The pass marks and reads only the bitmap words that hold
			 * one of the pages, a run of adjacent words per call: over
			 * the whole span from the lowest to the highest page, the
			 * kernel would look at every frame between (pfn_to_online_page,
			 * cond_resched), and the cost per page would depend on how
			 * far apart this run's pages happen to lie.
			 */
			nspans = 0;
			for (i = 0; i < words; i++) {
				if (!bits[i])
					continue;
				if (nspans && spans[nspans - 1].end == i)
					spans[nspans - 1].end = i + 1;
				else
					spans[nspans++] = (struct word_span){ i, i + 1 };
			}
			/* The device touches every page. */
			if (mode == RMIRROR)
				for (i = 0; i < len; i += 1 << 20) {
					struct rmirror_rw rw = { .addr = (uintptr_t)p + i, .buf = (uintptr_t)buf,
								 .len = 1 << 20 };

					ioctl(fd, RMIRROR_IOC_READ, &rw);
				}
			if (r == 0)
				prof_begin();
			t0 = now_ns();
			for (k = 0; k < nspans; k++)
				if (pwrite(idle, bits + spans[k].start, (spans[k].end - spans[k].start) * 8,
					   (lo / 64 + spans[k].start) * 8) < 0)
					die("page_idle write");
			for (k = 0; k < nspans; k++)
				if (pread(idle, bits + spans[k].start, (spans[k].end - spans[k].start) * 8,
					  (lo / 64 + spans[k].start) * 8) < 0)
					die("page_idle read");
			v[mode][r] = (double)(now_ns() - t0) / npages;
			printf("# page_idle run %d, %s: %zu pages in %zu runs of bitmap words, %zu words apart at most\n",
			       r, mode_name[mode], npages, nspans, words);
			if (r == 0)
				prof_end("young", "page_idle pass, per page", mode_name[mode], npages);
			free(bits);
			free(spans);
			free(buf);
			if (fd >= 0)
				close(fd);
			munmap(p, len);
		}
	}
	record("young", "page_idle pass", "no mirror", "ns/page", v[NONE], runs);
	record("young", "page_idle pass", "empty notifier", "ns/page", v[EMPTY], runs);
	record("young", "page_idle pass", "rmirror", "ns/page", v[RMIRROR], runs);
	close(idle);
	close(pm);
	free(pfn);
}

static void bench_ops_alloc_free(void)
{
	bench_ops(RMM_BENCH_ALLOC_FREE, "alloc+free");
}

static void bench_ops_write_read(void)
{
	bench_ops(RMM_BENCH_WRITE_READ, "write+read");
}

static void bench_zpool_alloc_free(void)
{
	bench_zpool(RMM_BENCH_ALLOC_FREE, "zpool alloc+free");
}

static void bench_zpool_map_copy(void)
{
	bench_zpool(RMM_BENCH_MAP_COPY, "zpool map+copy+unmap");
}

/* Every benchmark, in the order they run: its group (-g), what it measures. */
static const struct {
	const char *group;
	const char *what;
	void (*run)(void);
} benches[] = {
	{ "ops", "pools: alloc+free", bench_ops_alloc_free },
	{ "ops", "pools: write+read", bench_ops_write_read },
	{ "zpool", "zpool drivers: alloc+free", bench_zpool_alloc_free },
	{ "zpool", "zpool drivers: map+copy+unmap", bench_zpool_map_copy },
	{ "memory", "pools: memory", bench_memory },
	{ "migration", "pools: migration", bench_migration },
	{ "notifier", "notifiers: munmap, mprotect", bench_notifier },
	{ "faultin", "notifiers: fault-in", bench_faultin },
	{ "tables", "notifiers: table pages", bench_tables },
	{ "young", "notifiers: young", bench_young },
	{ "states", "object states: lock-free against spinlocked", bench_states },
	{ "cache", "cache: volatile objects against MADV_FREE", bench_cache },
};

int main(int argc, char **argv)
{
	size_t i;
	int opt;

	while ((opt = getopt(argc, argv, "r:qg:P:S:T:O:Q:")) != -1) {
		switch (opt) {
		case 'Q':
			prof_index = fopen(optarg, "w");
			if (!prof_index)
				die(optarg);
			break;
		case 'r': runs = atoi(optarg); break;
		case 'q': quick = 1; break;
		case 'g': groups = optarg; break;
		case 'P': only_pool = optarg; break;
		case 'S': only_size = atoi(optarg); break;
		case 'T': only_threads = atoi(optarg); break;
		case 'O': only_test = strcmp(optarg, "alloc+free") ? RMM_BENCH_MAP_COPY
								   : RMM_BENCH_ALLOC_FREE; break;
		default:
			fprintf(stderr, "usage: %s [-r RUNS] [-q] [-g GROUPS] OUT.json\n", argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: %s [-r RUNS (1..64)] [-q] [-g GROUPS] OUT.json\n", argv[0]);
		return 2;
	}
	out = fopen(argv[optind], "w");
	bench_fd = open("/dev/rmm_bench", O_RDWR);
	if (!out || bench_fd < 0)
		die("open");
	fprintf(out, "{\"runs\": %d, \"quick\": %d, \"records\": [", runs, quick);

	for (i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		if (!want(benches[i].group))
			continue;
		fprintf(stderr, "rmm_bench: %s\n", benches[i].what);
		benches[i].run();
	}

	fprintf(out, "\n]}\n");
	fclose(out);
	return 0;
}
