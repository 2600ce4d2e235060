// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rzpool's zpool mappings against concurrent migration: a mapped object
 * never moves, an unmapped one does. rzpool_map_race.ko
 * (selftests/modules/rzpool_map_race.c) maps objects of a pool made with
 * rzpool's zpool callbacks, as zswap does, from a thread on CPU 0, writing
 * while each is mapped; meanwhile this test, on another CPU, compacts all
 * memory and offlines the ZONE_MOVABLE memory blocks that hold the pool's
 * pages, again and again.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rzpool_lib.h"

#define RACE_MODULE "rzpool_map_race"
#define RACE_DIR "/sys/kernel/debug/" RACE_MODULE
#define RACE_CTL RACE_DIR "/ctl"
#define RACE_RESULT RACE_DIR "/result"
#define RZPOOL_DEBUGFS "/sys/kernel/debug/rzpool"
/* A pool's directory, rzpool/zpool-<id>, and a file in it. */
#define DIR_LEN 64
#define PATH_LEN (DIR_LEN + 16)

#define RACE_OBJS 4096
#define RACE_SECONDS 20
/*
 * The thread maps for RACE_SECONDS; each pass of ours (compaction, then
 * offlining up to a few blocks, each within 20 s) may take minutes under
 * TCG with KASAN.
 */
#define RACE_TIMEOUT 1800

/* The module's `result`, by key. */
struct race_result {
	long rounds, verified, lost, moved_unmapped, moved_mapped, errors;
	long running, inplace_objs, inplace_rounds;
};

/* The value of key in a "key=value key=value" line, or -1. */
static long field(const char *line, const char *key)
{
	size_t n = strlen(key);
	const char *p = line;

	while (*p) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (!strncmp(p, key, n) && p[n] == '=')
			return strtol(p + n + 1, NULL, 10);
		while (*p && *p != ' ')
			p++;
	}
	return -1;
}

static int read_result(struct race_result *r)
{
	char buf[512];
	int ret = read_file(RACE_RESULT, buf, sizeof(buf));

	if (ret)
		return ret;
	r->rounds = field(buf, "rounds");
	r->verified = field(buf, "verified");
	r->lost = field(buf, "lost");
	r->moved_unmapped = field(buf, "moved_unmapped");
	r->moved_mapped = field(buf, "moved_mapped");
	r->errors = field(buf, "errors");
	r->running = field(buf, "running");
	r->inplace_objs = field(buf, "inplace_objs");
	r->inplace_rounds = field(buf, "inplace_rounds");
	return r->rounds < 0 || r->running < 0 ? -EINVAL : 0;
}

/* A counter of a pool's debugfs `stats` ("name value" lines), or -1. */
static long pool_stat(const char *dir, const char *name)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s/stats", dir);
	return key_value(path, name);
}

/* The ids of rzpool's zswap pools (rzpool/zpool-<id>/); how many, at most max. */
static int zpool_ids(unsigned int *ids, int max)
{
	DIR *d = opendir(RZPOOL_DEBUGFS);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (n < max && sscanf(e->d_name, "zpool-%u", &ids[n]) == 1)
			n++;
	closedir(d);
	return n;
}

/*
 * Our pool's directory: a zpool-<id> that was not there before "start" and
 * holds RACE_OBJS objects. 0 or -ENOENT.
 */
static int find_pool_dir(const unsigned int *before, int nr_before, char *dir, size_t len)
{
	unsigned int ids[256];
	int n = zpool_ids(ids, 256), i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < nr_before && before[j] != ids[i]; j++)
			;
		if (j < nr_before)
			continue;
		snprintf(dir, len, RZPOOL_DEBUGFS "/zpool-%u", ids[i]);
		if (pool_stat(dir, "objs") == RACE_OBJS)
			return 0;
	}
	return -ENOENT;
}

/* Marks in want[] the memory blocks holding the pool's pages (its `pfns`). */
static int mark_pool_blocks(const char *dir, unsigned char *want, size_t nr)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s/pfns", dir);
	return pfns_to_blocks(path, want, nr, NULL);
}

/*
 * Loads rzpool_map_race.ko from the top of the tree, two directories up
 * from this binary's, unless it is loaded. 1 if we loaded it, 0 if it was
 * loaded, -errno otherwise.
 */
static int load_race_module(char *path, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;
	int fd, ret;

	if (!access(RACE_CTL, F_OK))
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = 0;
	snprintf(path, len, "%s/../../" RACE_MODULE ".ko", dirname(exe));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	if (ret)
		return errno == EEXIST ? 0 : -errno;
	return 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(map_race)
{
	int loaded;	/* we loaded the module: unload it */
	int started;	/* a run is started: stop it */
};

FIXTURE_SETUP(map_race)
{
	char path[PATH_MAX + 32] = "";
	int ret;

	if (access(RZPOOL_DEBUGFS, F_OK))
		mount("none", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access(RZPOOL_DEBUGFS, F_OK))
		SKIP(return, RZPOOL_DEBUGFS " missing: rzpool.ko is not loaded, or no debugfs");
	ret = load_race_module(path, sizeof(path));
	if (ret == -ENOENT)
		SKIP(return, "%s: not built (make modules)", path);
	if (ret == -ENODEV)
		SKIP(return, RACE_MODULE ".ko: rzpool registered no zpool driver (CONFIG_ZPOOL off?)");
	ASSERT_GE(ret, 0) TH_LOG("loading %s: %s", path, strerror(-ret));
	if (access(RACE_CTL, W_OK)) {
		/* No teardown after a failed setup: unload it here. */
		if (ret)
			syscall(SYS_delete_module, RACE_MODULE, O_NONBLOCK);
		ASSERT_EQ(access(RACE_CTL, W_OK), 0) TH_LOG(RACE_CTL " missing");
	}
	self->loaded = ret;
}

/* In the parent: also after a failed assertion in the middle of a run. */
FIXTURE_TEARDOWN_PARENT(map_race)
{
	if (self->started)
		write_file(RACE_CTL, "stop");
	if (self->loaded)
		syscall(SYS_delete_module, RACE_MODULE, O_NONBLOCK);
}

/* Bad commands change nothing; a second start is refused while one runs. */
TEST_F(map_race, bad_commands)
{
	struct race_result r;

	ASSERT_EQ(write_file(RACE_CTL, "frobnicate"), -EINVAL);
	ASSERT_EQ(write_file(RACE_CTL, "stop"), -EINVAL);
	ASSERT_EQ(write_file(RACE_CTL, "start 0 1"), -EINVAL);
	ASSERT_EQ(write_file(RACE_CTL, "start 16 0"), -EINVAL);
	ASSERT_EQ(write_file(RACE_CTL, "start 100000000 1"), -EINVAL);
	ASSERT_EQ(write_file(RACE_CTL, "start 16 100000"), -EINVAL);
	ASSERT_EQ(write_file(RACE_CTL, "start 16"), -EINVAL);

	ASSERT_EQ(write_file(RACE_CTL, "start 16 1"), 0);
	self->started = 1;
	ASSERT_EQ(write_file(RACE_CTL, "start 16 1"), -EBUSY);
	ASSERT_EQ(write_file(RACE_CTL, "stop"), 0);
	self->started = 0;
	ASSERT_EQ(read_result(&r), 0);
	ASSERT_EQ(r.running, 0);
	ASSERT_EQ(r.lost, 0);
	ASSERT_EQ(r.moved_mapped, 0);
	ASSERT_EQ(r.errors, 0);
	/* "stop" checked all 16 objects. */
	ASSERT_GE(r.verified, 16);
	ASSERT_EQ(write_file(RACE_CTL, "stop"), -EINVAL);
}

/*
 * For RACE_SECONDS the module's thread maps random objects for 5-15 ms
 * each, writing their next generation in steps, while we compact memory
 * and offline the blocks that hold the pool's pages. No write may be lost,
 * no object may move while mapped, and unmapped ones must have moved.
 */
TEST_F_TIMEOUT(map_race, mapped_objects_never_move, RACE_TIMEOUT)
{
	static unsigned char want[1 << 16];
	struct offline_result off = { .only = want, .nr_only = sizeof(want) };
	int offlined = 0, unfit = 0, failed = 0, blocks = 0, passes = 0, nr_before;
	long isolate, migrate, migrate_fail, putback;
	unsigned long mig0, mig;
	unsigned int before[256];
	struct race_result r;
	char cmd[64], dir[DIR_LEN];
	double t0;
	cpu_set_t cpus;
	int ret;

	/* The module's thread is on CPU 0: drive migration from CPU 1. */
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		CPU_ZERO(&cpus);
		CPU_SET(1, &cpus);
		sched_setaffinity(0, sizeof(cpus), &cpus);
	}

	/*
	 * "start" allocates the pool's pages in our write, under our memory
	 * policy: from the node with the most ZONE_MOVABLE.
	 */
	nr_before = zpool_ids(before, 256);
	prefer_movable_node();
	snprintf(cmd, sizeof(cmd), "start %d %d", RACE_OBJS, RACE_SECONDS);
	ret = write_file(RACE_CTL, cmd);
	syscall(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0);
	ASSERT_EQ(ret, 0) TH_LOG("%s: %s", cmd, strerror(-ret));
	self->started = 1;
	ASSERT_EQ(find_pool_dir(before, nr_before, dir, sizeof(dir)), 0)
		TH_LOG("no new " RZPOOL_DEBUGFS "/zpool-<id> with %d objects", RACE_OBJS);

	/* Until the thread is done: compact, then offline the pool's blocks. */
	mig0 = vmstat("pgmigrate_success");
	t0 = now_s();
	do {
		ASSERT_EQ(compact_memory(NULL), 0);
		if (!mark_pool_blocks(dir, want, sizeof(want)) &&
		    !access(MEMORY_DIR "/auto_online_blocks", F_OK)) {
			ASSERT_EQ(offline_movable_blocks(&off), 0);
			blocks += off.blocks;
			offlined += off.offlined;
			unfit += off.unfit;
			failed += off.failed;
			/*
			 * A block fails only if one of its pages never migrates
			 * (a mapped page is refused for at most 15 ms).
			 */
			ASSERT_EQ(off.failed, 0)
				TH_LOG("memory%d: %s", off.last_block, strerror(off.last_errno));
		}
		passes++;
		ASSERT_EQ(read_result(&r), 0);
	} while (r.running);
	mig = vmstat("pgmigrate_success");

	/* The pool's counters, before "stop" destroys it. */
	isolate = pool_stat(dir, "isolate");
	migrate = pool_stat(dir, "migrate");
	migrate_fail = pool_stat(dir, "migrate_fail");
	putback = pool_stat(dir, "putback");

	/* Stop: every object is checked once more, then freed. */
	ASSERT_EQ(write_file(RACE_CTL, "stop"), 0);
	self->started = 0;
	ASSERT_EQ(read_result(&r), 0);
	TH_LOG("%.0f s, %d passes: compaction, and %d ZONE_MOVABLE blocks holding pool pages "
	       "(%d offlined and onlined, %d not offlinable, %d failed)",
	       now_s() - t0, passes, blocks, offlined, unfit, failed);
	TH_LOG("pool: isolate %ld migrate %ld migrate_fail %ld (refused: mapped pages among them) "
	       "putback %ld; pgmigrate_success +%lu",
	       isolate, migrate, migrate_fail, putback, mig - mig0);
	TH_LOG("thread: %ld rounds (%ld mapped in place; %ld of %d objects in place), "
	       "%ld checks passed, %ld lost writes; moved while unmapped %ld, "
	       "moved while mapped %ld; errors %ld",
	       r.rounds, r.inplace_rounds, r.inplace_objs, RACE_OBJS, r.verified, r.lost,
	       r.moved_unmapped, r.moved_mapped, r.errors);

	/* Nothing written while mapped was lost; no mapped object moved. */
	ASSERT_EQ(r.lost, 0);
	ASSERT_EQ(r.moved_mapped, 0);
	ASSERT_EQ(r.errors, 0);
	ASSERT_GT(r.rounds, 0);
	ASSERT_GT(r.inplace_rounds, 0);
	/* Two checks per round, and every object at stop. */
	ASSERT_GE(r.verified, 2 * r.rounds + RACE_OBJS);
	if (migrate <= 0 && !offlined)
		SKIP(return, "nothing migrated the pool: no ZONE_MOVABLE block of it could be "
		     "offlined and compaction left it (boot with movablecore=)");
	/* The pool's pages were migrated, and unmapped objects moved with them. */
	ASSERT_GT(migrate, 0);
	ASSERT_GT(r.moved_unmapped, 0);
}

TEST_HARNESS_MAIN
