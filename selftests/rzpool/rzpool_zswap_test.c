// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Selftests for rzpool as zswap's zpool (zswap.zpool=rzpool): a process in a
 * small memory cgroup writes more than its limit, reclaim pushes its pages
 * into zswap and so into an rzpool pool, and every page must read back
 * intact: after compaction and memory offlining migrate the pool's pages,
 * after zswap is switched to another zpool while rzpool still holds entries,
 * and after an attempt to unload rzpool while zswap uses it.
 *
 * The child process holding the data takes one-byte commands on a pipe and
 * answers each on another: the parent looks at zswap's and the pool's
 * counters (debugfs) between the steps.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rzpool_lib.h"

#define ZSWAP_PARAM "/sys/module/zswap/parameters"
#define ZSWAP_DEBUGFS "/sys/kernel/debug/zswap"
#define RZ_DEBUGFS "/sys/kernel/debug/rzpool"

/*
 * Sizes. The cgroup's limit is CG_MAX; a child writes twice that. zswap
 * charges the compressed size of what it stores to the cgroup as well, so
 * with pages compressing to 0.30 of a page, 48 MiB pushed out leave about
 * 9 MiB of the 24 MiB limit for resident pages: well clear of an OOM
 * kill, and small enough for an emulated guest (12,288 pages, about 9,000
 * of them stored, each read back twice).
 */
#define MIB (1UL << 20)
#define CG_MAX (24 * MIB)
#define WORKING_SET (2 * CG_MAX)

/*
 * Each page: a header word naming it, RAND_BYTES of noise seeded by it
 * (incompressible), then a 32-byte pattern of it repeated (LZ4 makes a few
 * bytes of it): 1,210 bytes with LZ4, zswap's default compressor here.
 */
#define RAND_BYTES 1152
#define PAGE_MAGIC 0x7a73776170000000ULL	/* "zswap" */

/* Time limits: of one step of the child, and of the polls of the parent. */
#define STEP_TIMEOUT 300
#define POLL_TIMEOUT 60

enum { SET_A, SET_B, NR_SETS };

/* --- files --- */

/* A number from a sysfs, procfs or debugfs file, or -1. */
static long read_long(const char *path)
{
	char buf[64];

	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/* A zswap parameter, without its newline; 0 or -errno. */
static int read_param(const char *name, char *buf, size_t len)
{
	char path[128];
	int ret;

	snprintf(path, sizeof(path), ZSWAP_PARAM "/%s", name);
	ret = read_file(path, buf, len);
	if (!ret)
		buf[strcspn(buf, "\n")] = 0;
	return ret;
}

static int write_param(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), ZSWAP_PARAM "/%s", name);
	return write_file(path, val);
}

/* A counter of zswap's debugfs directory ("stored_pages"), or -1. */
static long zswap_stat(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), ZSWAP_DEBUGFS "/%s", name);
	return read_long(path);
}

/* The counters of rzpool/zpool-<id>/stats this test looks at. */
struct zstats {
	long objs, bytes, pages, isolate, migrate, migrate_fail, putback;
};

/* Reads rzpool/zpool-<id>/stats; 0, or -ENOENT once the pool is gone. */
static int zstats(int id, struct zstats *st)
{
	static const struct {
		const char *name;
		size_t off;
	} rows[] = {
		{ "objs", offsetof(struct zstats, objs) },
		{ "bytes", offsetof(struct zstats, bytes) },
		{ "pages", offsetof(struct zstats, pages) },
		{ "isolate", offsetof(struct zstats, isolate) },
		{ "migrate", offsetof(struct zstats, migrate) },
		{ "migrate_fail", offsetof(struct zstats, migrate_fail) },
		{ "putback", offsetof(struct zstats, putback) },
	};
	char path[128], name[32];
	long v;
	size_t i;
	FILE *f;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), RZ_DEBUGFS "/zpool-%d/stats", id);
	f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	while (fscanf(f, "%31s %ld", name, &v) == 2)
		for (i = 0; i < ARRAY_SIZE(rows); i++)
			if (!strcmp(name, rows[i].name))
				*(long *)((char *)st + rows[i].off) = v;
	fclose(f);
	return 0;
}

static int zpool_exists(int id)
{
	char path[128];

	snprintf(path, sizeof(path), RZ_DEBUGFS "/zpool-%d", id);
	return !access(path, F_OK);
}

/*
 * The rzpool pool zswap stores in: of the zpool-<id> directories, the one
 * with the most objects, the newest of equals; one made after the pool
 * newer_than (rzpool's ids grow) if there is one, since zswap makes a new
 * pool when switched to rzpool, unless an old one is still alive and it
 * takes that one back. -1 if there is none; newer_than -1 lists only the
 * newest id.
 */
static int find_zpool(int newer_than)
{
	int id, best = -1, best_new = -1, newest = 0;
	long best_objs = -1, best_new_objs = -1;
	DIR *dir = opendir(RZ_DEBUGFS);
	struct zstats st;
	struct dirent *d;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (sscanf(d->d_name, "zpool-%d", &id) != 1 || zstats(id, &st))
			continue;
		if (id > newest)
			newest = id;
		if (st.objs > best_objs || (st.objs == best_objs && id > best)) {
			best = id;
			best_objs = st.objs;
		}
		if (id > newer_than &&
		    (st.objs > best_new_objs || (st.objs == best_new_objs && id > best_new))) {
			best_new = id;
			best_new_objs = st.objs;
		}
	}
	closedir(dir);
	if (newer_than < 0)
		return newest;
	return best_new >= 0 ? best_new : best;
}

/* Waits up to timeout_s for the pool's directory to go: 0, or -ETIMEDOUT. */
static int wait_zpool_gone(int id, int timeout_s)
{
	int i;

	for (i = 0; i < timeout_s * 10; i++) {
		if (!zpool_exists(id))
			return 0;
		usleep(100000);
	}
	return -ETIMEDOUT;
}

/* Whether a swap device is on: zswap only sees pages on their way to one. */
static int swap_on(void)
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1;	/* a header, then one line per device */
}

/* A "key value" line of a cgroup file (memory.stat, memory.events), or -1. */
static long cg_key(const char *cg, const char *file, const char *key)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return key_value(path, key);
}

/* rzpool's line of /proc/modules, without its newline, or "". */
static void module_line(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);
	char line[512];
	FILE *f = fopen("/proc/modules", "r");

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ' ') {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "%s", line);
		}
	fclose(f);
}

/*
 * Marks in want[] the memory blocks holding pages of the pool
 * (rzpool/zpool-<id>/pfns); 0 or -errno.
 */
static int zpool_blocks(int id, unsigned char *want, size_t nr, size_t *pages)
{
	char path[128];

	snprintf(path, sizeof(path), RZ_DEBUGFS "/zpool-%d/pfns", id);
	return pfns_to_blocks(path, want, nr, pages);
}

/* --- the child that holds the data --- */

static void page_fill(uint64_t *p, int set, size_t i)
{
	uint64_t seed = ((uint64_t)(set + 1) << 40) | i;
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	size_t w;

	p[0] = seed ^ PAGE_MAGIC;
	for (w = 1; w < RAND_BYTES / 8; w++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[w] = x;
	}
	for (; w < PAGE_SZ / 8; w++)
		p[w] = seed + (w & 3);
}

struct set {
	uint8_t *mem;
	size_t pages;
	int written;
};

/* Checks every page of every written set; 0, or 1 at the first bad page. */
static int verify_sets(const struct set *sets)
{
	uint64_t want[PAGE_SZ / 8];
	size_t i;
	int s;

	for (s = 0; s < NR_SETS; s++) {
		for (i = 0; sets[s].written && i < sets[s].pages; i++) {
			const uint64_t *got = (const uint64_t *)(sets[s].mem + i * PAGE_SZ);

			page_fill(want, s, i);
			if (memcmp(want, got, PAGE_SZ)) {
				fprintf(stderr, "# set %c page %zu: header %#llx, want %#llx\n",
					'A' + s, i, (unsigned long long)got[0],
					(unsigned long long)want[0]);
				return 1;
			}
		}
	}
	return 0;
}

/*
 * Joins the cgroup, maps the sets, answers '0' (ready), then serves the
 * parent's commands: 'a'/'b' write set A/B ('0' done), 'v' read every
 * written page back twice ('0' intact, '1' not), 'q' exit: 0 if it verified
 * and every verification passed. A closed pipe (the parent is gone) exits 1.
 */
static __noreturn void child_main(int cmd, int reply, const char *cg, const size_t *bytes,
				  int movable)
{
	struct set sets[NR_SETS] = { 0 };
	int s, bad = 0, verified = 0;
	char c, r;
	size_t i;

	if (cg_enter(cg))
		_exit(2);
	/* zswap allocates its pool's pages in our reclaim, under our policy. */
	if (movable)
		prefer_movable_node();
	for (s = 0; s < NR_SETS; s++) {
		if (!bytes[s])
			continue;
		sets[s].pages = bytes[s] / PAGE_SZ;
		sets[s].mem = mmap(NULL, bytes[s], PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (sets[s].mem == MAP_FAILED)
			_exit(2);
		/* zswap stores only small folios: no THP. */
		madvise(sets[s].mem, bytes[s], MADV_NOHUGEPAGE);
	}
	r = '0';
	if (write(reply, &r, 1) != 1)
		_exit(1);
	while (read(cmd, &c, 1) == 1) {
		switch (c) {
		case 'a':
		case 'b':
			s = c - 'a';
			r = '2';
			if (!sets[s].mem)
				break;
			for (i = 0; i < sets[s].pages; i++)
				page_fill((uint64_t *)(sets[s].mem + i * PAGE_SZ), s, i);
			sets[s].written = 1;
			r = '0';
			break;
		case 'v':
			bad |= verify_sets(sets) || verify_sets(sets);
			verified = 1;
			r = bad ? '1' : '0';
			break;
		case 'q':
			_exit(bad || !verified);
		default:
			r = '2';
		}
		if (write(reply, &r, 1) != 1)
			_exit(1);
	}
	_exit(1);
}

/* --- the fixture --- */

struct zswap_test {
	char zpool[64];		/* zswap.zpool and zswap.enabled before the test */
	char enabled[8];
	char cg[128];		/* the test's memory cgroup */
	pid_t child;
	int cmd, reply;		/* pipes to and from the child */
	int pool;		/* the rzpool zpool-<id> the test found, or -1 */
	int old_pools;		/* the newest zpool-<id> before the test */
};

FIXTURE(zswap)
{
	struct zswap_test t;
};

/* Only checks and saves: nothing to undo if a prerequisite is missing. */
FIXTURE_SETUP(zswap)
{
	struct zswap_test *t = &self->t;
	char buf[256];

	t->child = 0;
	t->cmd = -1;
	t->reply = -1;
	t->pool = -1;
	snprintf(t->cg, sizeof(t->cg), CG_ROOT "/rzpool_zswap_%d", getpid());
	if (read_param("zpool", t->zpool, sizeof(t->zpool)) ||
	    read_param("enabled", t->enabled, sizeof(t->enabled)))
		SKIP(return, "no zswap.zpool: no zswap (CONFIG_ZSWAP), or one without zpools");
	if (!swap_on())
		SKIP(return, "no swap device: zswap stores pages on their way to one");
	if (access("/sys/module/rzpool", F_OK))
		SKIP(return, "rzpool.ko is not loaded");
	if (access(ZSWAP_DEBUGFS "/stored_pages", F_OK))
		mount("none", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access(ZSWAP_DEBUGFS "/stored_pages", F_OK) || access(RZ_DEBUGFS, F_OK))
		SKIP(return, "no debugfs (zswap's and rzpool's counters)");
	if (cg_memory_controller())
		SKIP(return, "no cgroup v2 memory controller (CONFIG_MEMCG)");
	if ((read_file(CG_ROOT "/cgroup.subtree_control", buf, sizeof(buf)) ||
	     !strstr(buf, "memory")) &&
	    write_file(CG_ROOT "/cgroup.subtree_control", "+memory"))
		SKIP(return, "cannot enable the memory controller for child cgroups");
}

/* Every case: the child gone, the cgroup gone, zswap's parameters back. */
FIXTURE_TEARDOWN(zswap)
{
	struct zswap_test *t = &self->t;
	char cur[64];
	int status, i;

	if (t->child > 0) {
		kill(t->child, SIGKILL);
		waitpid(t->child, &status, 0);
	}
	if (t->cmd >= 0)
		close(t->cmd);
	if (t->reply >= 0)
		close(t->reply);
	/* A cgroup is busy for a moment after its last task is reaped. */
	for (i = 0; i < 50 && !access(t->cg, F_OK); i++) {
		if (!rmdir(t->cg) || errno != EBUSY)
			break;
		usleep(100000);
	}
	if (!read_param("zpool", cur, sizeof(cur)) && strcmp(cur, t->zpool)) {
		EXPECT_EQ(write_param("zpool", t->zpool), 0)
			TH_LOG("cannot restore zswap.zpool=%s", t->zpool);
	}
	if (!read_param("enabled", cur, sizeof(cur)) && strcmp(cur, t->enabled)) {
		EXPECT_EQ(write_param("enabled", t->enabled), 0)
			TH_LOG("cannot restore zswap.enabled=%s", t->enabled);
	}
	/*
	 * zswap destroys a pool it no longer uses once its last entry is gone,
	 * from a work item: let it go, so the next case starts afresh and
	 * rzpool can be unloaded after the tests.
	 */
	if (t->pool >= 0 && strcmp(t->zpool, "rzpool") &&
	    wait_zpool_gone(t->pool, 30))
		TH_LOG("rzpool/zpool-%d is still there 30 s after the test", t->pool);
}

/* Sends a command to the child and returns its answer, or -errno. */
static int ask(struct zswap_test *t, char c)
{
	struct pollfd pfd = { .fd = t->reply, .events = POLLIN };
	char r;

	if (write(t->cmd, &c, 1) != 1)
		return -EPIPE;
	if (poll(&pfd, 1, STEP_TIMEOUT * 1000) != 1)
		return -ETIMEDOUT;
	return read(t->reply, &r, 1) == 1 ? r : -EPIPE;
}

/*
 * zswap on with rzpool as its zpool, the cgroup with its limit, and the
 * child in it, its sets mapped (bytes[] of each, 0 for none). Returns 0,
 * or 1 after a SKIP.
 */
static int start(struct __test_metadata *_metadata, struct zswap_test *t,
		 const size_t *bytes, int movable)
{
	char buf[64], path[256];
	int cmd[2], reply[2], ret;
	struct pollfd pfd;

	signal(SIGPIPE, SIG_IGN);	/* a dead child is an EPIPE, not our death */
	if (strcmp(t->enabled, "Y")) {
		ret = write_param("enabled", "Y");
		if (ret)
			SKIP(return 1, "cannot enable zswap: %s", strerror(-ret));
	}
	t->old_pools = find_zpool(-1);
	ret = write_param("zpool", "rzpool");
	if (ret == -ENOENT)
		SKIP(return 1, "no zpool \"rzpool\": rzpool's zpool driver is not registered");
	/* EINVAL: zswap could not create the pool (rzpool's create failed). */
	ASSERT_EQ(ret, 0) TH_LOG("zswap.zpool=rzpool: %s", strerror(-ret));
	ASSERT_EQ(read_param("zpool", buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "rzpool");

	rmdir(t->cg);
	ASSERT_EQ(mkdir(t->cg, 0755), 0) TH_LOG("mkdir %s: %s", t->cg, strerror(errno));
	snprintf(path, sizeof(path), "%s/memory.max", t->cg);
	snprintf(buf, sizeof(buf), "%lu", CG_MAX);
	ASSERT_EQ(write_file(path, buf), 0);
	ASSERT_EQ(pipe(cmd), 0);
	ASSERT_EQ(pipe(reply), 0);
	t->child = fork();
	ASSERT_GE(t->child, 0);
	if (!t->child) {
		close(cmd[1]);
		close(reply[0]);
		child_main(cmd[0], reply[1], t->cg, bytes, movable);
	}
	close(cmd[0]);
	close(reply[1]);
	t->cmd = cmd[1];
	t->reply = reply[0];
	/* Ready: in the cgroup, its sets mapped. */
	pfd = (struct pollfd){ .fd = t->reply, .events = POLLIN };
	ASSERT_EQ(poll(&pfd, 1, POLL_TIMEOUT * 1000), 1);
	ASSERT_EQ(read(t->reply, buf, 1), 1) TH_LOG("the child could not set up");
	ASSERT_EQ(buf[0], '0');
	return 0;
}

/*
 * Has the child write a set, then finds the rzpool pool its pages went to:
 * it must hold some of them.
 */
static void store(struct __test_metadata *_metadata, struct zswap_test *t, char set)
{
	struct zstats st;
	int ret;

	ret = ask(t, set);
	ASSERT_EQ(ret, '0') TH_LOG("writing set %c: %d (oom_kill %ld)", set - 'a' + 'A', ret,
				   cg_key(t->cg, "memory.events", "oom_kill"));
	if (t->pool < 0)
		t->pool = find_zpool(t->old_pools);
	ASSERT_GE(t->pool, 0) TH_LOG("no %s/zpool-* directory", RZ_DEBUGFS);
	ASSERT_EQ(zstats(t->pool, &st), 0);
	ASSERT_GT(st.objs, 0) TH_LOG("zswap stored nothing in zpool-%d (zswpout %ld)", t->pool,
				     cg_key(t->cg, "memory.stat", "zswpout"));
}

/* Has the child check every page twice; they must be intact. */
static void verify(struct __test_metadata *_metadata, struct zswap_test *t)
{
	int ret = ask(t, 'v');

	ASSERT_EQ(ret, '0') TH_LOG("verifying: %d (oom_kill %ld)", ret,
				   cg_key(t->cg, "memory.events", "oom_kill"));
}

/* Tells the child to exit; it must exit 0 (everything it checked was intact). */
static void finish(struct __test_metadata *_metadata, struct zswap_test *t)
{
	int status = 0, i;
	char c = 'q';
	pid_t pid = 0;

	ASSERT_EQ(write(t->cmd, &c, 1), 1);
	for (i = 0; i < POLL_TIMEOUT * 10; i++) {
		pid = waitpid(t->child, &status, WNOHANG);
		if (pid)
			break;
		usleep(100000);
	}
	ASSERT_EQ(pid, t->child) TH_LOG("the child did not exit within %d s", POLL_TIMEOUT);
	t->child = 0;
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child killed by signal %d (oom_kill %ld)",
					      WTERMSIG(status),
					      cg_key(t->cg, "memory.events", "oom_kill"));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

/*
 * zswap stores the child's pages in rzpool, and every page reads back
 * intact, twice (the first pass swaps pages in and pushes others out
 * again, into the same pool).
 */
TEST_F_TIMEOUT(zswap, stores_in_rzpool_and_reads_back, 600)
{
	struct zswap_test *t = &self->t;
	const size_t bytes[NR_SETS] = { WORKING_SET, 0 };
	long stored, total, wb0;
	struct zstats st;
	char shrinker[8] = "?";

	if (start(_metadata, t, bytes, 0))
		return;
	wb0 = zswap_stat("written_back_pages");
	store(_metadata, t, 'a');

	/* While the child holds the data: zswap's counters, and the pool's. */
	stored = zswap_stat("stored_pages");
	total = zswap_stat("pool_total_size");
	ASSERT_EQ(zstats(t->pool, &st), 0);
	read_param("shrinker_enabled", shrinker, sizeof(shrinker));
	TH_LOG("%lu pages written in a %lu MiB cgroup: zswap stored_pages %ld",
	       WORKING_SET / PAGE_SZ, CG_MAX / MIB, stored);
	TH_LOG("pool_total_size %ld: %.2f of a page per stored page", total,
	       stored > 0 ? (double)total / stored / PAGE_SZ : 0.0);
	TH_LOG("written_back_pages +%ld (shrinker_enabled %s)",
	       zswap_stat("written_back_pages") - wb0, shrinker);
	TH_LOG("rzpool zpool-%d: %ld objs, %ld bytes (%ld per obj), %ld pages", t->pool,
	       st.objs, st.bytes, st.bytes / st.objs, st.pages);
	ASSERT_GT(stored, 0);
	/* Every object of the pool is a zswap entry. */
	ASSERT_LE(st.objs, stored);
	/* The pool holds the compressed bytes, in no more pages than pages stored. */
	ASSERT_GE(st.pages * PAGE_SZ, st.bytes);
	ASSERT_LT(st.pages, st.objs);

	verify(_metadata, t);
	ASSERT_EQ(zstats(t->pool, &st), 0);
	TH_LOG("after reading back twice: stored_pages %ld, zpool-%d %ld objs",
	       zswap_stat("stored_pages"), t->pool, st.objs);
	finish(_metadata, t);
}

/*
 * Compaction, then offlining the ZONE_MOVABLE memory blocks that hold pool
 * pages, migrate the pages of the pool zswap stores in while it holds the
 * child's data; every page reads back intact.
 */
TEST_F_TIMEOUT(zswap, compaction_migrates_under_zswap, 900)
{
	struct zswap_test *t = &self->t;
	static unsigned char want[1 << 16];
	struct offline_result off = { .only = want, .nr_only = sizeof(want) };
	const size_t bytes[NR_SETS] = { WORKING_SET, 0 };
	struct zstats st0, st1, st2;
	size_t pages = 0;
	char buf[64];

	/* The pool's pages on the node with the largest ZONE_MOVABLE. */
	if (start(_metadata, t, bytes, 1))
		return;
	store(_metadata, t, 'a');
	ASSERT_EQ(zstats(t->pool, &st0), 0);

	/* Compact all memory. */
	ASSERT_EQ(compact_memory(NULL), 0);
	ASSERT_EQ(zstats(t->pool, &st1), 0);
	TH_LOG("zpool-%d: %ld objs in %ld pages", t->pool, st1.objs, st1.pages);
	TH_LOG("compact_memory: isolate +%ld, migrate +%ld, migrate_fail +%ld, putback +%ld",
	       st1.isolate - st0.isolate, st1.migrate - st0.migrate,
	       st1.migrate_fail - st0.migrate_fail, st1.putback - st0.putback);

	/* Offline and online again each ZONE_MOVABLE block holding pool pages. */
	if (!read_file(MEMORY_DIR "/auto_online_blocks", buf, sizeof(buf))) {
		ASSERT_EQ(zpool_blocks(t->pool, want, sizeof(want), &pages), 0);
		ASSERT_EQ(offline_movable_blocks(&off), 0);
	}
	ASSERT_EQ(zstats(t->pool, &st2), 0);
	TH_LOG("%zu pool pages, in %d ZONE_MOVABLE blocks: %d offlined and onlined, %d failed,",
	       pages, off.blocks, off.offlined, off.failed);
	TH_LOG("%d not offlinable (unmovable memory or holes)", off.unfit);
	TH_LOG("offline: isolate +%ld, migrate +%ld, migrate_fail +%ld, putback +%ld",
	       st2.isolate - st1.isolate, st2.migrate - st1.migrate,
	       st2.migrate_fail - st1.migrate_fail, st2.putback - st1.putback);
	/* Only EBUSY or EINVAL, before any migration, may stop a block. */
	ASSERT_EQ(off.failed, 0) TH_LOG("memory%d: %s", off.last_block, strerror(off.last_errno));
	/* A block that went offline had pool pages: they moved. */
	ASSERT_TRUE(!off.offlined || st2.migrate > st1.migrate)
		TH_LOG("%d blocks with pool pages went offline, none of them moved", off.offlined);
	if (st2.migrate == st0.migrate)
		SKIP(return, "no pool page moved: none in an offlinable ZONE_MOVABLE block");

	/* Moved compressed pages decompress to the same data. */
	verify(_metadata, t);
	finish(_metadata, t);
}

/*
 * zswap switched from rzpool to zsmalloc while rzpool holds entries: the old
 * pool keeps them, and serves them, while new stores go to zsmalloc; once
 * the last of them is gone zswap destroys the pool.
 */
TEST_F_TIMEOUT(zswap, switch_zpool_at_runtime, 600)
{
	struct zswap_test *t = &self->t;
	/* Together 2 x CG_MAX: A alone pushes some out, B more. */
	const size_t bytes[NR_SETS] = { 30 * MIB, 18 * MIB };
	long stored0, stored1, waited;
	struct zstats st0, st1;
	char buf[64];
	int ret;

	if (start(_metadata, t, bytes, 0))
		return;
	store(_metadata, t, 'a');

	ret = write_param("zpool", "zsmalloc");
	if (ret == -ENOENT)
		SKIP(return, "zswap has no zpool \"zsmalloc\" to switch to");
	ASSERT_EQ(ret, 0) TH_LOG("zswap.zpool=zsmalloc: %s", strerror(-ret));
	ASSERT_EQ(read_param("zpool", buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "zsmalloc");
	ASSERT_EQ(zstats(t->pool, &st0), 0);
	stored0 = zswap_stat("stored_pages");

	/* Set B pushes out the rest of A and some of B: to zsmalloc. */
	ret = ask(t, 'b');
	ASSERT_EQ(ret, '0') TH_LOG("writing set B: %d (oom_kill %ld)", ret,
				   cg_key(t->cg, "memory.events", "oom_kill"));
	ASSERT_EQ(zstats(t->pool, &st1), 0);
	stored1 = zswap_stat("stored_pages");
	TH_LOG("switched to zsmalloc: zpool-%d %ld -> %ld objs; stored elsewhere %ld -> %ld pages",
	       t->pool, st0.objs, st1.objs, stored0 - st0.objs, stored1 - st1.objs);
	/* rzpool keeps A's entries, and gets no new ones. */
	ASSERT_GT(st1.objs, 0);
	ASSERT_LE(st1.objs, st0.objs);
	ASSERT_GT(stored1 - st1.objs, stored0 - st0.objs);

	/* A comes back from rzpool, B from zsmalloc. */
	verify(_metadata, t);
	finish(_metadata, t);

	/* The child's entries are freed at its exit: the old pool empties, and goes. */
	for (waited = 0; waited < POLL_TIMEOUT * 10; waited++) {
		if (zstats(t->pool, &st1) || !st1.objs)
			break;
		usleep(100000);
	}
	ASSERT_EQ(st1.objs, 0) TH_LOG("zpool-%d still has %ld objs %d s after the child exited",
				      t->pool, st1.objs, POLL_TIMEOUT);
	ret = wait_zpool_gone(t->pool, POLL_TIMEOUT);
	TH_LOG("zpool-%d empty after %.1f s; %s", t->pool, waited / 10.0,
	       ret ? "still there (empty)" : "destroyed by zswap");
}

/*
 * While zswap stores in an rzpool pool, rzpool must not unload: the pool
 * pins the module. Once zswap has switched away and destroyed the pool, the
 * reference is gone.
 */
TEST_F_TIMEOUT(zswap, rmmod_refused_while_zswap_holds_pool, 600)
{
	struct zswap_test *t = &self->t;
	const size_t bytes[NR_SETS] = { WORKING_SET, 0 };
	char line[512], buf[64];
	long ref_held, ref_after;
	struct zstats st;
	int ret, err;

	if (start(_metadata, t, bytes, 0))
		return;
	store(_metadata, t, 'a');
	ref_held = read_long("/sys/module/rzpool/refcnt");
	module_line("rzpool", line, sizeof(line));
	TH_LOG("/proc/modules: %s", line);
	ASSERT_GT(ref_held, 0);

	ret = syscall(__NR_delete_module, "rzpool", O_NONBLOCK);
	err = errno;
	ASSERT_EQ(ret, -1) TH_LOG("rzpool unloaded while zswap holds its pool");
	ASSERT_TRUE(err == EWOULDBLOCK || err == EBUSY || err == EAGAIN)
		TH_LOG("delete_module: %s", strerror(err));
	module_line("rzpool", line, sizeof(line));
	ASSERT_NE(line[0], 0) TH_LOG("rzpool is no longer in /proc/modules");
	ASSERT_EQ(zstats(t->pool, &st), 0);
	ASSERT_GT(st.objs, 0);

	verify(_metadata, t);
	finish(_metadata, t);

	/*
	 * Another module using rzpool (rmm_bench) also refuses the unload:
	 * check that this pool held a reference of its own, which goes with it.
	 */
	ret = write_param("zpool", "zsmalloc");
	if (ret == -ENOENT) {
		TH_LOG("no zpool \"zsmalloc\" to switch to: reference not checked");
		return;
	}
	ASSERT_EQ(ret, 0);
	ASSERT_EQ(read_param("zpool", buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "zsmalloc");
	ASSERT_EQ(wait_zpool_gone(t->pool, POLL_TIMEOUT), 0)
		TH_LOG("zswap did not destroy zpool-%d within %d s", t->pool, POLL_TIMEOUT);
	ref_after = read_long("/sys/module/rzpool/refcnt");
	TH_LOG("rzpool refcnt: %ld with zswap's pool, %ld after it", ref_held, ref_after);
	ASSERT_LT(ref_after, ref_held);
}

TEST_HARNESS_MAIN
