// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rmm_zswap_bench: zswap's pool drivers (zsmalloc, zbud, rzpool) under one
 * workload, in one boot, the drivers alternating round by round.
 *
 *   rmm_zswap_bench [-m MIB] [-r ROUNDS] [-w WIDTH -R MAX] [-p PASSES]
 *                   [-d DRIVERS] OUT.json
 *     -m  memory.max of the workload's cgroup, MiB (default 32); the
 *         working set is twice that
 *     -r  rounds per driver (default 3)
 *     -w  after those rounds, more until the bootstrap 95 % interval of
 *         each driver's wall time over the first driver's (ratio of
 *         medians) is at most WIDTH percentage points wide, or MAX rounds
 *         were run (-R, default 64): the report says which
 *     -p  read passes after the write pass (default 2)
 *     -d  comma-separated zpool drivers (default zsmalloc,zbud,rzpool)
 *
 * A round: select the driver (zswap.zpool), then a child in a fresh memory
 * cgroup (cgroup v2, memory.max = MIB) writes 2 x MIB of pages, each a
 * header with its index, 896 .. 1408 pseudo-random bytes seeded by the
 * index and a repeating pattern (lz4 makes ~1.3 KiB of each 4 KiB page),
 * so that half the working set or more lives in zswap. After the write
 * pass the pool is measured and compact_memory runs once; then the child
 * reads every page back PASSES times and checks it. A corrupt page fails
 * the run.
 *
 * zswap's debugfs counters are global and pool_total_size sums every pool
 * zswap has, so a round starts only once stored_pages is 0 (the entries of
 * the previous round, freed when its child exited; bounded at 60 s) and
 * the pools it left are released (bounded at 10 s); what remains then is
 * taken as a baseline and subtracted.
 *
 * Samples, one per round, go to OUT.json as rmm_bench's records (group
 * "zswap workload", side = driver) for bench/report.py. Nothing is set up
 * here: swap, cgroup2 with the memory controller and zswap must be on
 * (scripts/guest.sh's zswap_setup); if not, the program changes nothing
 * and exits with 4. zswap's zpool and enabled parameters are restored on
 * exit. Exit codes: 0 ok, 1 failed (a corrupt page, a workload killed),
 * 2 usage, 4 cannot run here.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rmm_selftest.h"

#define PAGE_SZ		4096UL
#define MAX_DRIVERS	8
#define MAX_ROUNDS	64
#define MAX_ERRORS	32
#define MAX_POOLS	64

#define ZSWAP_PARAM	"/sys/module/zswap/parameters/"
#define ZSWAP_DEBUG	"/sys/kernel/debug/zswap/"
#define RZPOOL_DEBUG	"/sys/kernel/debug/rzpool"
#define CGROUP		CG_ROOT "/rmm_zswap_bench"
#define CGROUP2_MAGIC	0x63677270

#define GROUP		"zswap workload"

#define EXIT_FAILED	1
#define EXIT_USAGE	2
#define EXIT_CANNOT_RUN	4

static unsigned int mib = 32, rounds = 3, passes = 2, max_rounds = MAX_ROUNDS;
/* -w: the interval width to reach, in percentage points; 0: fixed rounds. */
static double target_width;
/* The widest interval after the last round, or NAN. */
static double reached_width = NAN;
static char driver_list[256], driver_names[256];
static char *drivers[MAX_DRIVERS];
static unsigned int nr_drivers;

static char errors[MAX_ERRORS][160];
static unsigned int nr_errors;

/* --- what a round measures --- */

enum {
	M_WALL, M_WRITE, M_READ, M_COMPACT,
	M_POOL, M_STORED, M_PER_PAGE, M_COMPRESSED,
	M_STORES, M_LOADS,
	M_WRITTEN_BACK, M_REJECT_RECLAIM, M_REJECT_ALLOC, M_REJECT_KMEMCACHE,
	M_REJECT_COMPRESS, M_REJECT_POOR, M_LIMIT_HIT,
	M_MIGRATED_POOL, M_PGMIGRATE, M_CORRUPT,
	NR_METRICS
};

static const struct {
	const char *key, *unit;
} metric[NR_METRICS] = {
	[M_WALL] = { "wall time", "s" },
	[M_WRITE] = { "write pass", "s" },
	[M_READ] = { "read passes", "s" },
	[M_COMPACT] = { "compact_memory", "s" },
	[M_POOL] = { "pool total size", "MiB" },
	[M_STORED] = { "stored pages", "pages" },
	[M_PER_PAGE] = { "pool bytes per stored page", "B" },
	[M_COMPRESSED] = { "compressed bytes per stored page", "B" },
	[M_STORES] = { "zswap stores (zswpout)", "pages" },
	[M_LOADS] = { "zswap loads (zswpin)", "pages" },
	[M_WRITTEN_BACK] = { "written back pages", "pages" },
	[M_REJECT_RECLAIM] = { "reject_reclaim_fail", "pages" },
	[M_REJECT_ALLOC] = { "reject_alloc_fail", "pages" },
	[M_REJECT_KMEMCACHE] = { "reject_kmemcache_fail", "pages" },
	[M_REJECT_COMPRESS] = { "reject_compress_fail", "pages" },
	[M_REJECT_POOR] = { "reject_compress_poor", "pages" },
	[M_LIMIT_HIT] = { "pool_limit_hit", "events" },
	[M_MIGRATED_POOL] = { "pages migrated (pool)", "pages" },
	[M_PGMIGRATE] = { "pages migrated (system-wide pgmigrate_success)", "pages" },
	[M_CORRUPT] = { "corrupt pages", "pages" },
};

/* zswap's debugfs counters a round takes the difference of. */
static const struct {
	int metric;
	const char *file;
} counter[] = {
	{ M_WRITTEN_BACK, "written_back_pages" },
	{ M_REJECT_RECLAIM, "reject_reclaim_fail" },
	{ M_REJECT_ALLOC, "reject_alloc_fail" },
	{ M_REJECT_KMEMCACHE, "reject_kmemcache_fail" },
	{ M_REJECT_COMPRESS, "reject_compress_fail" },
	{ M_REJECT_POOR, "reject_compress_poor" },
	{ M_LIMIT_HIT, "pool_limit_hit" },
};

#define NR_COUNTERS (sizeof(counter) / sizeof(*counter))

/* Samples per driver, metric and round; NAN: not measured. */
static double sample[MAX_DRIVERS][NR_METRICS][MAX_ROUNDS];
static unsigned int nr_samples[MAX_DRIVERS];
static const char *unavailable[MAX_DRIVERS];

/* --- small helpers --- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * A small file without its last newline; 0 or -errno (read_file() of
 * rmm_selftest.h, which keeps the newline).
 */
static int read_str(const char *path, char *buf, size_t len)
{
	int err = read_file(path, buf, len);
	size_t n;

	if (err)
		return err;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

/* A file holding one number; NAN if it cannot be read. */
static double read_num(const char *path)
{
	char buf[64], *end;
	double v;

	if (read_str(path, buf, sizeof(buf)))
		return NAN;
	v = strtod(buf, &end);
	return end == buf ? NAN : v;
}

static double zswap_debug(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), ZSWAP_DEBUG "%s", name);
	return read_num(path);
}

/* The value of "name value" in a file of such lines; NAN if absent. */
static double keyed(const char *path, const char *name)
{
	char line[256];
	size_t n = strlen(name);
	double v = NAN;
	FILE *f = fopen(path, "r");

	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ' ') {
			v = strtod(line + n + 1, NULL);
			break;
		}
	fclose(f);
	return v;
}

/* A failure: on stderr, and in the JSON's "errors". */
static void failure(const char *fmt, ...)
{
	char msg[sizeof(errors[0])];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "rmm_zswap_bench: error: %s\n", msg);
	if (nr_errors < MAX_ERRORS)
		snprintf(errors[nr_errors++], sizeof(errors[0]), "%s", msg);
}

static void warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rmm_zswap_bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --- restoring what we changed, on every way out --- */

static pid_t child;
static int cgroup_made, params_saved;
static char saved_zpool[64], saved_enabled[8];
static char tmp_path[4096];	/* the JSON, until it is complete */

/* Only async-signal-safe calls: it also runs from the signal handler. */
static void restore(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = 0;
	}
	if (cgroup_made) {
		rmdir(CGROUP);
		cgroup_made = 0;
	}
	if (params_saved) {
		write_file(ZSWAP_PARAM "zpool", saved_zpool);
		write_file(ZSWAP_PARAM "enabled", saved_enabled);
		params_saved = 0;
	}
}

static void on_signal(int sig)
{
	restore();
	if (tmp_path[0])
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static _Noreturn void cannot_run(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rmm_zswap_bench: cannot run: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_CANNOT_RUN);
}

/*
 * Everything the workload needs, checked before anything is changed:
 * root, cgroup2 at /sys/fs/cgroup with the memory controller for its
 * children, swap with room for the working set, zswap on and its debugfs.
 */
static void check_can_run(void)
{
	unsigned long long need_kib = (unsigned long long)mib * 2 * 1024;
	char buf[512], *w;
	struct statfs sfs;
	int ok = 0;
	double v;

	if (geteuid() != 0)
		cannot_run("needs root");
	if (statfs(CG_ROOT, &sfs) || sfs.f_type != CGROUP2_MAGIC)
		cannot_run("no cgroup2 mounted at " CG_ROOT);
	if (read_str(CG_ROOT "/cgroup.subtree_control", buf, sizeof(buf)))
		cannot_run("cannot read " CG_ROOT "/cgroup.subtree_control");
	for (w = strtok(buf, " "); w; w = strtok(NULL, " "))
		ok |= !strcmp(w, "memory");
	if (!ok)
		cannot_run("the memory controller is not in " CG_ROOT "/cgroup.subtree_control (echo +memory)");
	v = keyed("/proc/meminfo", "SwapTotal:");
	if (isnan(v) || v == 0)
		cannot_run("no swap (swapon a device first)");
	v = keyed("/proc/meminfo", "SwapFree:");
	if (isnan(v) || v < need_kib)
		cannot_run("%.0f KiB of swap free, the working set needs %llu KiB", v, need_kib);
	if (read_str(ZSWAP_PARAM "enabled", buf, sizeof(buf)))
		cannot_run("no zswap (CONFIG_ZSWAP off?): no " ZSWAP_PARAM "enabled");
	if (strcmp(buf, "Y"))
		cannot_run("zswap is off (" ZSWAP_PARAM "enabled is %s)", buf);
	if (isnan(zswap_debug("stored_pages")) || isnan(zswap_debug("pool_total_size")))
		cannot_run("cannot read " ZSWAP_DEBUG "stored_pages (debugfs not mounted?)");
	if (!access(CGROUP, F_OK))
		cannot_run(CGROUP " exists: another run in progress? (rmdir it)");
}

/* --- the workload, in the child --- */

#define PAGE_MAGIC	0x726d6d7a73776170ULL	/* "rmmzswap" */
#define RAND_MIN_LEN	896
#define RAND_SPAN	512

struct page_head {
	uint64_t magic;
	uint64_t index;
};

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Page i: its pseudo-random bytes start after the head and end here. */
static size_t pattern_start(uint64_t i)
{
	uint64_t s = i ^ 0x5bd1e995ULL;

	return sizeof(struct page_head) +
	       ((RAND_MIN_LEN + splitmix64(&s) % (RAND_SPAN + 1)) & ~7UL);
}

/* The pattern every page ends with, at the same offsets in every page. */
static uint8_t pattern[PAGE_SZ];

static void init_pattern(void)
{
	static const char text[] = "rmm zswap bench: compressible. ";
	size_t i;

	for (i = 0; i < PAGE_SZ; i++)
		pattern[i] = text[i % (sizeof(text) - 1)];
}

static void fill_page(uint64_t *p, uint64_t i)
{
	struct page_head head = { PAGE_MAGIC, i };
	size_t end = pattern_start(i), w;
	uint64_t s = i * 0x2545f4914f6cdd1dULL;

	memcpy(p, &head, sizeof(head));
	for (w = sizeof(head) / 8; w < end / 8; w++)
		p[w] = splitmix64(&s);
	memcpy((uint8_t *)p + end, pattern + end, PAGE_SZ - end);
}

/* 0 if page i is intact; else a mask: 1 head, 2 random bytes, 4 pattern. */
static int check_page(const uint64_t *p, uint64_t i)
{
	size_t end = pattern_start(i), w;
	uint64_t s = i * 0x2545f4914f6cdd1dULL;
	int bad = 0;

	if (p[0] != PAGE_MAGIC || p[1] != i)
		bad |= 1;
	for (w = sizeof(struct page_head) / 8; w < end / 8; w++)
		if (p[w] != splitmix64(&s)) {
			bad |= 2;
			break;
		}
	if (memcmp((const uint8_t *)p + end, pattern + end, PAGE_SZ - end))
		bad |= 4;
	return bad;
}

struct child_msg {
	int err;		/* errno of a failed set-up step, or 0 */
	uint64_t ns;		/* the pass(es) */
	uint64_t corrupt;	/* pages found corrupt in any read pass */
};

static int read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

static void send_msg(int fd, const struct child_msg *m)
{
	if (write(fd, m, sizeof(*m)) != sizeof(*m))
		_exit(EXIT_FAILED);
}

/*
 * The child: joins the cgroup, writes every page, reports, waits for the
 * parent's measurements and compaction, reads every page back `passes`
 * times, reports, and waits to be let go (its pages stay put until then).
 */
static _Noreturn void workload(int to_parent, int from_parent, uint64_t npages)
{
	struct child_msg m = { 0 };
	uint64_t i, t0, bad_logged = 0;
	unsigned int pass;
	uint8_t *area, *seen;
	char go;

	m.err = -cg_enter(CGROUP);
	area = mmap(NULL, npages * PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!m.err && area == MAP_FAILED)
		m.err = errno;
	/* zswap stores order-0 folios only: no THP. */
	if (!m.err && madvise(area, npages * PAGE_SZ, MADV_NOHUGEPAGE))
		m.err = errno;
	/* Which pages were found corrupt: each counts once, over all passes. */
	seen = calloc(npages / 8 + 1, 1);
	if (!m.err && !seen)
		m.err = ENOMEM;
	if (m.err) {
		send_msg(to_parent, &m);
		_exit(EXIT_FAILED);
	}

	t0 = now_ns();
	for (i = 0; i < npages; i++)
		fill_page((uint64_t *)(area + i * PAGE_SZ), i);
	m.ns = now_ns() - t0;
	send_msg(to_parent, &m);
	if (read_full(from_parent, &go, 1))
		_exit(EXIT_FAILED);

	t0 = now_ns();
	for (pass = 0; pass < passes; pass++)
		for (i = 0; i < npages; i++) {
			int bad = check_page((uint64_t *)(area + i * PAGE_SZ), i);

			if (!bad)
				continue;
			if (!(seen[i / 8] & (1 << (i % 8))))
				m.corrupt++;
			seen[i / 8] |= 1 << (i % 8);
			if (bad_logged++ < 8)
				fprintf(stderr, "rmm_zswap_bench: pass %u: page %llu corrupt:%s%s%s\n",
					pass + 1, (unsigned long long)i, bad & 1 ? " head" : "",
					bad & 2 ? " random bytes" : "", bad & 4 ? " pattern" : "");
		}
	m.ns = now_ns() - t0;
	send_msg(to_parent, &m);
	read_full(from_parent, &go, 1);
	_exit(0);
}

/* --- a round, in the parent --- */

struct rz_pool {
	int id;
	double objs, migrate;
};

/* The rzpool pools zswap made (rzpool/zpool-<id>/stats); their number. */
static int rz_snapshot(struct rz_pool *p)
{
	DIR *d = opendir(RZPOOL_DEBUG);
	struct dirent *e;
	char path[300];
	int n = 0, id;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < MAX_POOLS) {
		if (sscanf(e->d_name, "zpool-%d", &id) != 1)
			continue;
		snprintf(path, sizeof(path), RZPOOL_DEBUG "/%s/stats", e->d_name);
		p[n].id = id;
		p[n].objs = keyed(path, "objs");
		p[n].migrate = keyed(path, "migrate");
		if (!isnan(p[n].objs))
			n++;
	}
	closedir(d);
	return n;
}

/* Waits up to ms for a debugfs counter of zswap to reach 0; its last value. */
static double wait_zero(const char *name, unsigned int ms)
{
	uint64_t end = now_ns() + ms * 1000000ULL;
	double v;

	while ((v = zswap_debug(name)) != 0 && now_ns() < end)
		sleep_ms(100);
	return v;
}

static int make_cgroup(void)
{
	char max[32];
	int err;

	if (mkdir(CGROUP, 0755))
		return -errno;
	cgroup_made = 1;
	snprintf(max, sizeof(max), "%llu", (unsigned long long)mib << 20);
	err = write_file(CGROUP "/memory.max", max);
	/* zswap may take all it wants, and write back. */
	if (!err && !access(CGROUP "/memory.zswap.max", F_OK))
		err = write_file(CGROUP "/memory.zswap.max", "max");
	return err;
}

static void remove_cgroup(void)
{
	int i;

	for (i = 0; i < 50 && rmdir(CGROUP) && errno == EBUSY; i++)
		sleep_ms(100);
	if (!access(CGROUP, F_OK))
		failure("cannot remove " CGROUP ": %s", strerror(errno));
	cgroup_made = 0;
}

/* Selects the zpool driver; 0 or -errno (-ENOENT: not registered). */
static int select_driver(const char *drv)
{
	char now[64];
	int err = write_file(ZSWAP_PARAM "zpool", drv);

	if (err)
		return err;
	if (read_str(ZSWAP_PARAM "zpool", now, sizeof(now)) || strcmp(now, drv))
		return -EIO;
	return 0;
}

static int write_go(int fd)
{
	return write(fd, "g", 1) == 1 ? 0 : -1;
}

/*
 * One round of driver d; its samples go to round slot nr_samples[d]. 0, or
 * -1 if the round failed (a corrupt page; or no samples: the workload died).
 */
static int run_round(unsigned int d, unsigned int round)
{
	const char *drv = drivers[d];
	uint64_t npages = (uint64_t)mib * 2 * (1 << 20) / PAGE_SZ, t0;
	double v[NR_METRICS], before[NR_COUNTERS], base_pool, base_stored, mig0, oom;
	struct rz_pool rz0[MAX_POOLS], rz1[MAX_POOLS], rz2[MAX_POOLS];
	int to_parent[2], to_child[2], nrz0, nrz1, nrz2, i, err, status, use = -1;
	struct child_msg wr = { 0 }, rd = { 0 };
	int measured = 0;

	/* The previous round's entries were freed with its child: wait for the last. */
	if (wait_zero("stored_pages", 60000) != 0)
		warn("stored_pages still %.0f after 60 s: taken as a baseline",
		     zswap_debug("stored_pages"));
	err = select_driver(drv);
	if (err) {
		unavailable[d] = err == -ENOENT ? "zpool driver not registered" : "cannot select it";
		warn("%s: %s (%s): left out", drv, unavailable[d], strerror(-err));
		return 0;
	}
	/* Pools left without entries are released by a work item. */
	if (wait_zero("pool_total_size", 10000) != 0)
		warn("pool_total_size %.0f B with %.0f pages stored before the round: a baseline",
		     zswap_debug("pool_total_size"), zswap_debug("stored_pages"));
	base_pool = zswap_debug("pool_total_size");
	base_stored = zswap_debug("stored_pages");
	for (i = 0; i < (int)NR_COUNTERS; i++)
		before[i] = zswap_debug(counter[i].file);
	mig0 = keyed("/proc/vmstat", "pgmigrate_success");
	nrz0 = rz_snapshot(rz0);

	err = make_cgroup();
	if (err) {
		failure("round %u, %s: cgroup " CGROUP ": %s", round + 1, drv, strerror(-err));
		remove_cgroup();
		return -1;
	}
	if (pipe(to_parent)) {
		failure("pipe: %s", strerror(errno));
		remove_cgroup();
		return -1;
	}
	if (pipe(to_child)) {
		failure("pipe: %s", strerror(errno));
		close(to_parent[0]);
		close(to_parent[1]);
		remove_cgroup();
		return -1;
	}
	fflush(NULL);
	child = fork();
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		close(to_parent[0]);
		close(to_child[1]);
		workload(to_parent[1], to_child[0], npages);
	}
	close(to_parent[1]);
	close(to_child[0]);
	if (child < 0) {
		failure("fork: %s", strerror(errno));
		goto out;
	}

	if (read_full(to_parent[0], &wr, sizeof(wr)) || wr.err) {
		failure("round %u, %s: the workload %s%s", round + 1, drv,
			wr.err ? "could not start: " : "died in its write pass",
			wr.err ? strerror(wr.err) : "");
		goto out;
	}

	/* The peak: everything written, half of it or more in zswap. */
	v[M_POOL] = zswap_debug("pool_total_size") - base_pool;
	v[M_STORED] = zswap_debug("stored_pages") - base_stored;
	v[M_PER_PAGE] = v[M_STORED] > 0 ? v[M_POOL] / v[M_STORED] : NAN;
	v[M_POOL] /= 1 << 20;
	/* The data's own compressed size, from this cgroup's zswap charge. */
	v[M_COMPRESSED] = keyed(CGROUP "/memory.stat", "zswap") * PAGE_SZ /
			  keyed(CGROUP "/memory.stat", "zswapped");
	nrz1 = rz_snapshot(rz1);

	/* Compaction once, with the pool full, for every driver alike. */
	t0 = now_ns();
	err = write_file("/proc/sys/vm/compact_memory", "1");
	if (err)
		warn("compact_memory: %s", strerror(-err));
	v[M_COMPACT] = (now_ns() - t0) / 1e9;

	if (write_go(to_child[1]) || read_full(to_parent[0], &rd, sizeof(rd))) {
		failure("round %u, %s: the workload died in its read passes", round + 1, drv);
		goto out;
	}
	measured = 1;
	v[M_WRITE] = wr.ns / 1e9;
	v[M_READ] = rd.ns / 1e9;
	v[M_WALL] = (wr.ns + rd.ns) / 1e9;
	v[M_STORES] = keyed(CGROUP "/memory.stat", "zswpout");
	v[M_LOADS] = keyed(CGROUP "/memory.stat", "zswpin");
	for (i = 0; i < (int)NR_COUNTERS; i++)
		v[counter[i].metric] = zswap_debug(counter[i].file) - before[i];
	v[M_PGMIGRATE] = keyed("/proc/vmstat", "pgmigrate_success") - mig0;
	v[M_CORRUPT] = rd.corrupt;
	/* rzpool's pool zswap stored in: the one with the most objects at the peak. */
	v[M_MIGRATED_POOL] = NAN;
	nrz2 = rz_snapshot(rz2);
	for (i = 0; i < nrz1; i++)
		if (use < 0 || rz1[i].objs > rz1[use].objs)
			use = i;
	if (!strcmp(drv, "rzpool") && use >= 0 && rz1[use].objs > 0) {
		double m0 = 0, m2 = NAN;

		for (i = 0; i < nrz0; i++)
			if (rz0[i].id == rz1[use].id)
				m0 = rz0[i].migrate;
		for (i = 0; i < nrz2; i++)
			if (rz2[i].id == rz1[use].id)
				m2 = rz2[i].migrate;
		v[M_MIGRATED_POOL] = m2 - m0;
	}
	if (rd.corrupt)
		failure("round %u, %s: %llu corrupt pages read back", round + 1, drv,
			(unsigned long long)rd.corrupt);

out:
	/* Let the child go (or find it gone), then count what happened to it. */
	write_go(to_child[1]);
	close(to_child[1]);
	close(to_parent[0]);
	if (child > 0) {
		waitpid(child, &status, 0);
		child = 0;
		if (measured && (!WIFEXITED(status) || WEXITSTATUS(status))) {
			failure("round %u, %s: the workload exited with status %#x", round + 1, drv,
				status);
			measured = 0;
		}
	}
	oom = keyed(CGROUP "/memory.events", "oom_kill");
	if (oom > 0) {
		failure("round %u, %s: the workload was OOM-killed (memory.max %u MiB)",
			round + 1, drv, mib);
		measured = 0;
	}
	remove_cgroup();
	if (!measured)
		return -1;

	for (i = 0; i < NR_METRICS; i++)
		sample[d][i][nr_samples[d]] = v[i];
	nr_samples[d]++;
	warn("round %u/%u, %s: %.1f s (write %.1f, read %.1f), compact_memory %.1f s; pool %.1f MiB for %.0f pages = %.0f B/page (data %.0f); stores %.0f, loads %.0f, written back %.0f; pages migrated %.0f system-wide%s",
	     round + 1, rounds, drv, v[M_WALL], v[M_WRITE], v[M_READ], v[M_COMPACT],
	     v[M_POOL], v[M_STORED], v[M_PER_PAGE], v[M_COMPRESSED], v[M_STORES], v[M_LOADS],
	     v[M_WRITTEN_BACK], v[M_PGMIGRATE], rd.corrupt ? "; CORRUPT PAGES" : "");
	if (!isnan(v[M_MIGRATED_POOL]))
		warn("  rzpool zpool-%d: %.0f pages migrated", rz1[use].id, v[M_MIGRATED_POOL]);
	return rd.corrupt ? -1 : 0;
}

/* --- when to stop --- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_of(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The finite wall times of driver d, into v; their number. */
static unsigned int wall_times(unsigned int d, double *v)
{
	unsigned int r, n = 0;

	for (r = 0; r < nr_samples[d]; r++)
		if (isfinite(sample[d][M_WALL][r]))
			v[n++] = sample[d][M_WALL][r];
	return n;
}

/*
 * The width, in percentage points, of the bootstrap 95 % interval of
 * median(a) / median(b) of the wall times: both sides resampled with
 * replacement 2,000 times, as bench/report.py computes the interval it
 * reports. NAN with fewer than 2 samples a side.
 */
static double interval_width(unsigned int a, unsigned int b)
{
	enum { RESAMPLES = 2000 };
	static double ratios[RESAMPLES];
	double va[MAX_ROUNDS], vb[MAX_ROUNDS], ra[MAX_ROUNDS], rb[MAX_ROUNDS];
	unsigned int na = wall_times(a, va), nb = wall_times(b, vb), i, k;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	if (na < 2 || nb < 2)
		return NAN;
	for (i = 0; i < RESAMPLES; i++) {
		for (k = 0; k < na; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			ra[k] = va[x % na];
		}
		for (k = 0; k < nb; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			rb[k] = vb[x % nb];
		}
		ratios[i] = median_of(ra, na) / median_of(rb, nb);
	}
	qsort(ratios, RESAMPLES, sizeof(*ratios), cmp_double);
	return 100 * (ratios[RESAMPLES * 975 / 1000] - ratios[RESAMPLES * 25 / 1000]);
}

/* The widest interval of a driver's wall time over the first driver's. */
static double widest_interval(void)
{
	double widest = NAN, w;
	unsigned int d;

	for (d = 1; d < nr_drivers; d++) {
		if (unavailable[d] || unavailable[0])
			continue;
		w = interval_width(d, 0);
		if (isnan(w))
			return NAN;
		if (isnan(widest) || w > widest)
			widest = w;
	}
	return widest;
}

/* --- output --- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
	fputc('"', f);
}

/* rmm_bench's records: group, key, side, unit, samples, and "na" for a side not run. */
static void write_json(FILE *f, const char *compressor)
{
	unsigned int d, k, r, first = 1;

	fprintf(f, "{\"mib\": %u, \"rounds\": %u, \"passes\": %u, \"pages\": %u, ",
		mib, rounds, passes, mib * 512);
	if (target_width > 0 && isfinite(reached_width))
		fprintf(f, "\"target_width\": %.1f, \"width\": %.1f, \"max_rounds\": %u, ",
			target_width, reached_width, max_rounds);
	fprintf(f, "\"compressor\": ");
	json_str(f, compressor);
	fprintf(f, ", \"errors\": [");
	for (r = 0; r < nr_errors; r++) {
		fprintf(f, "%s", r ? ", " : "");
		json_str(f, errors[r]);
	}
	fprintf(f, "], \"records\": [");
	for (k = 0; k < NR_METRICS; k++)
		for (d = 0; d < nr_drivers; d++) {
			const char *na = unavailable[d];
			unsigned int n = 0;

			if (!na && k == M_MIGRATED_POOL && strcmp(drivers[d], "rzpool"))
				na = "no per-pool counter: see the system-wide pgmigrate_success";
			if (!na && !nr_samples[d])
				na = "every round failed";
			/* Rounds where it could not be measured are left out. */
			for (r = 0; !na && r < nr_samples[d]; r++)
				n += !!isfinite(sample[d][k][r]);
			if (!na && !n)
				na = "not available";
			fprintf(f, "%s\n  {\"group\": \"" GROUP "\", \"key\": ", first ? "" : ",");
			json_str(f, metric[k].key);
			fprintf(f, ", \"side\": ");
			json_str(f, drivers[d]);
			fprintf(f, ", \"unit\": \"%s\", \"samples\": [", metric[k].unit);
			for (r = 0, n = 0; !na && r < nr_samples[d]; r++)
				if (isfinite(sample[d][k][r]))
					fprintf(f, "%s%.3f", n++ ? ", " : "", sample[d][k][r]);
			fprintf(f, "]");
			if (na) {
				fprintf(f, ", \"na\": ");
				json_str(f, na);
			}
			fprintf(f, "}");
			first = 0;
		}
	fprintf(f, "\n]}\n");
}

static _Noreturn void print_usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-m MIB (4..1024)] [-r ROUNDS (1..%d)] [-w WIDTH (points, 0..100) [-R MAX (ROUNDS..%d)]]\n"
		"       [-p PASSES (1..16)] [-d DRIVER,...] OUT.json\n",
		argv0, MAX_ROUNDS, MAX_ROUNDS);
	exit(EXIT_USAGE);
}

static int parse_uint(const char *s, unsigned int lo, unsigned int hi, unsigned int *v)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end || n < lo || n > hi)
		return -1;
	*v = n;
	return 0;
}

static int parse_drivers(const char *list)
{
	char *p;

	if (strlen(list) >= sizeof(driver_list))
		return -1;
	snprintf(driver_list, sizeof(driver_list), "%s", list);
	snprintf(driver_names, sizeof(driver_names), "%s", list);
	nr_drivers = 0;
	for (p = strtok(driver_list, ","); p; p = strtok(NULL, ",")) {
		if (nr_drivers == MAX_DRIVERS || !*p || strlen(p) > 31 ||
		    strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(p))
			return -1;
		drivers[nr_drivers++] = p;
	}
	return nr_drivers ? 0 : -1;
}

int main(int argc, char **argv)
{
	char compressor[64] = "unknown";
	unsigned int r, i, ran = 0;
	int opt, failed = 0;
	FILE *out;

	while ((opt = getopt(argc, argv, "m:r:w:R:p:d:")) != -1) {
		switch (opt) {
		case 'm':
			if (parse_uint(optarg, 4, 1024, &mib))
				print_usage(argv[0]);
			break;
		case 'r':
			if (parse_uint(optarg, 1, MAX_ROUNDS, &rounds))
				print_usage(argv[0]);
			break;
		case 'w': {
			char *end;

			target_width = strtod(optarg, &end);
			if (*end || !(target_width > 0 && target_width <= 100))
				print_usage(argv[0]);
			break;
		}
		case 'R':
			if (parse_uint(optarg, 1, MAX_ROUNDS, &max_rounds))
				print_usage(argv[0]);
			break;
		case 'p':
			if (parse_uint(optarg, 1, 16, &passes))
				print_usage(argv[0]);
			break;
		case 'd':
			if (parse_drivers(optarg))
				print_usage(argv[0]);
			break;
		default:
			print_usage(argv[0]);
		}
	}
	if (optind != argc - 1)
		print_usage(argv[0]);
	if (!nr_drivers && parse_drivers("zsmalloc,zbud,rzpool"))
		print_usage(argv[0]);
	if (target_width > 0 && max_rounds < rounds)
		print_usage(argv[0]);

	/* Nothing is changed before every check passed. */
	check_can_run();
	snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", argv[optind]);
	out = fopen(tmp_path, "w");
	if (!out) {
		fprintf(stderr, "rmm_zswap_bench: %s: %s\n", tmp_path, strerror(errno));
		return EXIT_FAILED;
	}
	if (read_str(ZSWAP_PARAM "zpool", saved_zpool, sizeof(saved_zpool)) ||
	    read_str(ZSWAP_PARAM "enabled", saved_enabled, sizeof(saved_enabled))) {
		fprintf(stderr, "rmm_zswap_bench: cannot read zswap's parameters\n");
		return EXIT_FAILED;
	}
	read_str(ZSWAP_PARAM "compressor", compressor, sizeof(compressor));
	params_saved = 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	/* A child that died shows as EOF on its pipe; a write to it must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	init_pattern();

	warn("%u MiB memory.max, %u MiB working set, %u read passes, %u rounds of %s (zswap: %s)",
	     mib, 2 * mib, passes, rounds, driver_names, compressor);
	for (r = 0; r < rounds; r++) {
		/* The drivers alternate, each round starting with the next. */
		for (i = 0; i < nr_drivers; i++) {
			unsigned int d = (r + i) % nr_drivers;

			if (unavailable[d])
				continue;
			if (run_round(d, r))
				failed = 1;
			ran += !unavailable[d];
		}
		if (!(target_width > 0) || failed || r + 1 < rounds)
			continue;
		reached_width = widest_interval();
		warn("after %u rounds: the widest interval of a wall time ratio is %.1f points (target %.1f)",
		     r + 1, reached_width, target_width);
		/* One more round each until narrow enough, or max_rounds. */
		if (isfinite(reached_width) && reached_width > target_width && r + 1 < max_rounds)
			rounds++;
	}
	if (target_width > 0 && !(reached_width <= target_width))
		warn("stopped at %u rounds with the interval %.1f points wide, not %.1f: "
		     "the report's interval says so", rounds, reached_width, target_width);
	restore();

	write_json(out, compressor);
	if (fclose(out) || rename(tmp_path, argv[optind])) {
		fprintf(stderr, "rmm_zswap_bench: %s: %s\n", argv[optind], strerror(errno));
		return EXIT_FAILED;
	}
	if (!ran) {
		fprintf(stderr, "rmm_zswap_bench: no driver could run\n");
		return EXIT_FAILED;
	}
	return failed ? EXIT_FAILED : 0;
}
