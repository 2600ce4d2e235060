/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Helpers shared by rmm's kselftests: checks every driver's device gets
 * (root only, unload refused while in use), small file helpers, a memory
 * cgroup of a test's own, and memory offlining (what makes the VM migrate
 * every movable page of a block).
 */
#ifndef RMM_SELFTEST_H
#define RMM_SELFTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * The target thread of a SIGEV_THREAD_ID timer, by the name of the kernel's
 * uapi (glibc 2.36 has none).
 */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* A counter of /proc/vmstat, or 0. */
static inline unsigned long vmstat(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	unsigned long v = 0;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ' ')
			v = strtoul(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Writes s to a sysfs or procfs file; returns 0 or -errno. */
static inline int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Reads a small file into buf; returns 0 or -errno. */
static inline int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* Whether the len bytes at buf are all zero. */
static inline int mem_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* --- a memory cgroup of a test's own --- */

#define CG_ROOT "/sys/fs/cgroup"

/*
 * Mounts cgroup v2 at CG_ROOT unless it is there: 0 if it has the memory
 * controller, 1 if it has not (CONFIG_MEMCG), -errno if there is no
 * cgroup v2 to read (CONFIG_CGROUPS).
 */
static inline int cg_memory_controller(void)
{
	char controllers[256];
	int ret;

	if (access(CG_ROOT "/cgroup.controllers", F_OK))
		mount("none", CG_ROOT, "cgroup2", 0, NULL);
	ret = read_file(CG_ROOT "/cgroup.controllers", controllers, sizeof(controllers));
	if (ret)
		return ret;
	return !strstr(controllers, "memory");
}

/*
 * Makes cg (a path below CG_ROOT) a new child cgroup with the memory
 * controller, an empty one of the same name left by an earlier run removed
 * first: 0 or -errno.
 */
static inline int cg_create(const char *cg)
{
	int ret = write_file(CG_ROOT "/cgroup.subtree_control", "+memory");

	if (ret)
		return ret;
	rmdir(cg);
	return mkdir(cg, 0755) ? -errno : 0;
}

/* Moves the calling process into cgroup cg: 0 or -errno. */
static inline int cg_enter(const char *cg)
{
	char path[256], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_file(path, pid);
}

/*
 * Moves the calling process back to CG_ROOT and removes cg, trying both:
 * 0, or -errno of the first that failed.
 */
static inline int cg_leave(const char *cg)
{
	int ret = cg_enter(CG_ROOT);

	if (rmdir(cg) && !ret)
		ret = -errno;
	return ret;
}

/*
 * Opens path as user nobody in a child: returns 0 if that fails with
 * EACCES (the device is root only), 1 if it does not, 2 if the child could
 * not drop its privileges.
 */
static inline int nonroot_open_refused(const char *path)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 2;
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		_exit(open(path, O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 2;
	return WEXITSTATUS(status);
}

/* Whether unloading the module is refused because it is in use. */
static inline int unload_refused(const char *module)
{
	return syscall(SYS_delete_module, module, O_NONBLOCK) == -1 &&
	       (errno == EWOULDBLOCK || errno == EBUSY);
}

/* MemAvailable of /proc/meminfo in bytes, or 0. */
static inline size_t mem_available(void)
{
	char line[128];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return (size_t)kb << 10;
}

/* --- memory offlining --- */

/*
 * Makes this task's allocations prefer the node whose ZONE_MOVABLE has the
 * most memory (MPOL_PREFERRED): the pool allocates its pages in our ioctls,
 * under our memory policy. Without it they come from this CPU's node first,
 * whose Movable zone may be small (KASAN's shadow is carved out of it at
 * boot) and full, and then from its DMA32 zone.
 */
static inline void prefer_movable_node(void)
{
	long managed, best_managed = 0;
	int node = -1, best = -1, in_movable = 0;
	char line[256];
	unsigned long mask;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Node ", 5)) {
			in_movable = sscanf(line, "Node %d,", &node) == 1 && strstr(line, "Movable");
			continue;
		}
		if (in_movable && sscanf(line, " managed %ld", &managed) == 1 &&
		    managed > best_managed && node >= 0 && node < 64) {
			best_managed = managed;
			best = node;
		}
	}
	fclose(f);
	if (best < 0)
		return;
	mask = 1UL << best;
	syscall(SYS_set_mempolicy, 1 /* MPOL_PREFERRED */, &mask, 64);
}

#define MEMORY_DIR "/sys/devices/system/memory"

/* What offline_movable_blocks() is to do, and did. */
struct offline_result {
	const unsigned char *only;	/* in: if set, only blocks b with only[b] */
	size_t nr_only;
	int blocks;		/* out: movable online blocks tried */
	int offlined;		/* offlined and onlined again */
	int unfit;		/* refused at once, before any page is migrated:
				 * EBUSY (unmovable memory in the block) or
				 * EINVAL (holes in the block) */
	int failed;		/* any other failure, a 20 s timeout included */
	int last_block;		/* the last that failed, and why (errno) */
	int last_errno;
	int unfit_errno;	/* why the last unfit one was refused */
};

static inline void offline_alarm(int sig)
{
}

#define MAX_MOVABLE_BLOCKS 1024

/* The online memory blocks of ZONE_MOVABLE, at most max of them; their number. */
static inline int movable_blocks(long *blocks, int max)
{
	char buf[128], path[300];
	struct dirent *d;
	int n = 0;
	DIR *dir = opendir(MEMORY_DIR);

	if (!dir)
		return 0;
	while ((d = readdir(dir)) && n < max) {
		if (strncmp(d->d_name, "memory", 6) || !strchr("0123456789", d->d_name[6]))
			continue;
		snprintf(path, sizeof(path), MEMORY_DIR "/%s/valid_zones", d->d_name);
		if (read_file(path, buf, sizeof(buf)) || strncmp(buf, "Movable", 7))
			continue;
		snprintf(path, sizeof(path), MEMORY_DIR "/%s/state", d->d_name);
		if (read_file(path, buf, sizeof(buf)) || strncmp(buf, "online", 6))
			continue;
		blocks[n++] = strtol(d->d_name + 6, NULL, 10);
	}
	closedir(dir);
	return n;
}

/*
 * Offlines, then onlines again, every online memory block of ZONE_MOVABLE
 * (boot with movablecore= for one): offlining must migrate every movable
 * page of the block, the pool's included. A block with unmovable memory
 * (boot-time reservations) is refused at once with EBUSY, one with holes
 * (firmware areas at the top of RAM) with EINVAL, before any page is
 * migrated. A block that does not offline within 20 s is interrupted (the
 * kernel retries offlining forever while a page cannot be migrated) and
 * counted as failed.
 *
 * The interrupt is a signal to the calling thread, not to the process: in
 * a test with other threads, alarm()'s SIGALRM goes to the main thread
 * (the kernel's first choice), the write of the thread offlining is not
 * interrupted, and a block that cannot be offlined hangs the test for good.
 */
static inline int offline_movable_blocks(void *arg)
{
	struct offline_result *res = arg;
	struct sigaction sa = { .sa_handler = offline_alarm };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };
	struct itimerspec in_20s = { .it_value = { .tv_sec = 20 } }, disarm = { 0 };
	long blocks[MAX_MOVABLE_BLOCKS];
	timer_t timer;
	char path[300];
	int i, n, ret;

	res->blocks = res->offlined = res->unfit = res->failed = 0;
	res->last_block = -1;
	res->last_errno = res->unfit_errno = 0;
	if (access(MEMORY_DIR, R_OK))
		return -errno;
	n = movable_blocks(blocks, MAX_MOVABLE_BLOCKS);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: the write fails with EINTR */
	sev.sigev_notify_thread_id = syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer))
		return -errno;
	for (i = 0; i < n; i++) {
		long b = blocks[i];

		if (res->only && (b < 0 || (size_t)b >= res->nr_only || !res->only[b]))
			continue;
		snprintf(path, sizeof(path), MEMORY_DIR "/memory%ld/state", b);
		res->blocks++;
		timer_settime(timer, 0, &in_20s, NULL);
		ret = write_file(path, "offline");
		timer_settime(timer, 0, &disarm, NULL);
		if (ret == -EBUSY || ret == -EINVAL) {
			res->unfit++;
			res->unfit_errno = -ret;
			continue;
		}
		if (ret) {
			res->failed++;
			res->last_block = b;
			res->last_errno = -ret;
			continue;
		}
		if (write_file(path, "online_movable")) {
			timer_delete(timer);
			return -EIO;
		}
		res->offlined++;
	}
	timer_delete(timer);
	return 0;
}

/* rmm_contig.ko's allocator of movable runs (selftests/modules/rmm_contig.c). */
#define CONTIG_MOVABLE "/sys/kernel/debug/rmm_contig/movable"

/* What contig_movable_blocks() did, summed over the blocks. */
struct contig_result {
	unsigned long tried;		/* runs: pageblocks with a non-LRU movable page */
	unsigned long allocated;	/* allocated at the first try */
	unsigned long busy_until_rcu;	/* busy, then allocated once RCU callbacks ran */
	unsigned long busy;		/* busy both times */
};

/*
 * alloc_contig_range(), one pageblock at a time, of the run from the first
 * to the last non-LRU movable page of each pageblock of the online
 * ZONE_MOVABLE blocks (rmm_contig.ko, which must be loaded): each migrates
 * the run's pages, a driver's movable pages among them. 0, or -errno of the first failed step.
 */
static inline int contig_movable_blocks(struct contig_result *res)
{
	long blocks[MAX_MOVABLE_BLOCKS];
	unsigned long block_pages;
	char buf[128];
	int i, n, ret;

	memset(res, 0, sizeof(*res));
	ret = read_file(MEMORY_DIR "/block_size_bytes", buf, sizeof(buf));
	if (ret)
		return ret;
	block_pages = strtoul(buf, NULL, 16) / sysconf(_SC_PAGESIZE);
	n = movable_blocks(blocks, MAX_MOVABLE_BLOCKS);
	for (i = 0; i < n; i++) {
		unsigned long t, a, r, b;
		char range[64];

		snprintf(range, sizeof(range), "%lu %lu", blocks[i] * block_pages, block_pages);
		ret = write_file(CONTIG_MOVABLE, range);
		if (!ret)
			ret = read_file(CONTIG_MOVABLE, buf, sizeof(buf));
		if (ret)
			return ret;
		if (sscanf(buf, "tried %lu allocated %lu busy_until_rcu %lu busy %lu",
			   &t, &a, &r, &b) != 4)
			return -EPROTO;
		res->tried += t, res->allocated += a, res->busy_until_rcu += r, res->busy += b;
	}
	return 0;
}

#endif /* RMM_SELFTEST_H */
