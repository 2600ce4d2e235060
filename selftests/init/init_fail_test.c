// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * A driver whose init fails after it made device nodes must leave nothing
 * behind: the module loader frees a module whose init failed whatever
 * references its open files hold, so a file opened during the init would
 * run freed code when it is closed. rmm's misc devices refuse every open
 * until the init has returned successfully.
 *
 * rmm_misc_squat.ko holds a device name the driver registers last, so that
 * its init fails with EEXIST after its other devices exist; meanwhile
 * threads open, use and close those devices as fast as they can. Every
 * open must fail, the module must be gone after each try, and KASAN must
 * stay quiet (guest.sh checks dmesg at the end of the run).
 *
 * Runs before guest.sh loads rmm's modules (it needs them unloaded).
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "../rmm_selftest.h"

#define ROUNDS 12
#define RACERS 2

struct racer {
	const char *path;
	atomic_bool stop;
	atomic_ulong tries, opened, refused;
};

static void *racer(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(&r->stop)) {
		int fd = open(r->path, O_RDWR);

		atomic_fetch_add(&r->tries, 1);
		/* ENODEV: the node was there and the driver refused the open. */
		if (fd < 0 && errno == ENODEV)
			atomic_fetch_add(&r->refused, 1);
		if (fd < 0)
			continue;
		atomic_fetch_add(&r->opened, 1);
		/* Keep the file across the end of the init, then use it. */
		usleep(20000);
		ioctl(fd, 0, 0);
		close(fd);
	}
	return NULL;
}

static int load(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static int loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

static void kmsg(const char *s)
{
	write_file("/dev/kmsg", s);
}

/*
 * Loads driver (a .ko of the project's top directory) with driver_params
 * ROUNDS times while rmm_misc_squat holds the name collide, with RACERS
 * threads on the device dev (if any); leftover (if any) must not exist
 * afterwards.
 */
FIXTURE(init_fail)
{
};

FIXTURE_SETUP(init_fail)
{
}

/* Whatever happened, the name is given back for the next case. */
FIXTURE_TEARDOWN(init_fail)
{
	unload("rmm_misc_squat");
}

static void init_fails_cleanly(struct __test_metadata *_metadata,
			       const char *driver, const char *driver_params,
			       const char *collide, const char *dev,
			       const char *leftover)
{
	char ko[64], params[64];
	struct racer r = { .path = dev };
	pthread_t t[RACERS];
	int i, ret;

	if (getuid())
		SKIP(return, "needs root (loads modules)");
	if (loaded(driver))
		SKIP(return, "%s is loaded: this test must run before it is", driver);
	snprintf(ko, sizeof(ko), "../../%s.ko", driver);
	if (access(ko, R_OK) || access("../../rmm_misc_squat.ko", R_OK))
		SKIP(return, "%s or rmm_misc_squat.ko not built", ko);

	snprintf(params, sizeof(params), "name=%s", collide);
	ASSERT_EQ(0, load("../../rmm_misc_squat.ko", params));

	/* misc_register() of a taken name dumps the stack (sysfs_warn_dup). */
	kmsg("rmm: expected stack dumps begin\n");
	for (i = 0; dev && i < RACERS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, racer, &r));
	for (i = 0; i < ROUNDS; i++) {
		ret = load(ko, driver_params);
		EXPECT_EQ(-EEXIST, ret);
		EXPECT_FALSE(loaded(driver));
		if (ret == 0)
			unload(driver);
	}
	atomic_store(&r.stop, true);
	for (i = 0; dev && i < RACERS; i++)
		pthread_join(t[i], NULL);
	kmsg("rmm: expected stack dumps end\n");

	ksft_print_msg("%s: %d failed inits, %lu opens tried, %lu refused by the driver, %lu succeeded\n",
		       driver, ROUNDS, atomic_load(&r.tries), atomic_load(&r.refused),
		       atomic_load(&r.opened));
	/* Not one open may succeed while the init can still fail. */
	EXPECT_EQ(0, atomic_load(&r.opened));
	if (dev)
		EXPECT_NE(0, access(dev, F_OK));
	if (leftover)
		EXPECT_NE(0, access(leftover, F_OK));
}

/*
 * rmirror (hmm_names=1: test_hmm's names) makes /dev/rmirror and
 * hmm_dmirror0 before hmm_dmirror1 fails.
 */
TEST_F_TIMEOUT(init_fail, rmirror_fails_after_its_devices, 300)
{
	if (access("/dev/hmm_dmirror0", F_OK) == 0)
		SKIP(return, "/dev/hmm_dmirror0 exists (test_hmm's?): rmirror would fail there, before hmm_dmirror1");
	init_fails_cleanly(_metadata, "rmirror", "hmm_names=1", "hmm_dmirror1", "/dev/rmirror", NULL);
}

/*
 * rzpool's device is its last fallible step (its zpool driver, which zswap
 * may use at once, is registered after it and cannot fail): nothing of it
 * stays, its debugfs directory included.
 */
TEST_F_TIMEOUT(init_fail, rzpool_fails_at_its_device, 300)
{
	init_fails_cleanly(_metadata, "rzpool", "", "rzpool", NULL, "/sys/kernel/debug/rzpool");
}

TEST_HARNESS_MAIN
