// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Selftests for rmisc.ko: the misc-device abstraction end to end (open,
 * ioctl with user copies both ways, release), bad input, permissions, and
 * that an open file pins the module.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../rmm_selftest.h"
#include "rmisc_uapi.h"

#define RMISC_DEV "/dev/rmisc"

FIXTURE(rmisc)
{
	int fd;
};

FIXTURE_SETUP(rmisc)
{
	self->fd = open(RMISC_DEV, O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, RMISC_DEV " does not exist: rmisc.ko is not loaded");
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(rmisc)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The one answer: the magic number, a live open count and a zero cookie. */
TEST_F(rmisc, hello)
{
	struct rmisc_hello h = { .magic = 0, .opens = 0, .cookie = ~0ULL };

	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_HELLO, &h), 0);
	ASSERT_EQ(h.magic, RMISC_MAGIC);
	ASSERT_GE(h.opens, 1);
	ASSERT_EQ(h.cookie, 0);
}

/* User to kernel and back: a cookie set on one file is seen on that file only. */
TEST_F(rmisc, cookie_is_per_file)
{
	uint64_t cookie = 0x0123456789abcdefULL;
	struct rmisc_hello h1 = { 0 }, h2 = { 0 };
	int fd2;

	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_SET_COOKIE, &cookie), 0);
	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_HELLO, &h1), 0);
	ASSERT_EQ(h1.cookie, cookie);

	fd2 = open(RMISC_DEV, O_RDWR);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(ioctl(fd2, RMISC_IOC_HELLO, &h2), 0);
	EXPECT_EQ(h2.cookie, 0);
	/* The second open was counted. */
	EXPECT_GT(h2.opens, h1.opens);
	close(fd2);
}

/* Unknown commands, and a known number with the wrong size, are ENOTTY. */
TEST_F(rmisc, unknown_ioctl)
{
	uint32_t small = 0;

	ASSERT_EQ(ioctl(self->fd, _IO('R', 0x7f)), -1);
	ASSERT_EQ(errno, ENOTTY);
	ASSERT_EQ(ioctl(self->fd, _IOR('R', 0x00, uint32_t), &small), -1);
	ASSERT_EQ(errno, ENOTTY);
	ASSERT_EQ(ioctl(self->fd, _IOWR('Z', 0x00, struct rmisc_hello), &small), -1);
	ASSERT_EQ(errno, ENOTTY);
}

/* Bad user pointers are EFAULT both ways, and change nothing. */
TEST_F(rmisc, bad_user_pointer)
{
	struct rmisc_hello h = { 0 };
	void *unmapped;

	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(unmapped, MAP_FAILED);

	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_HELLO, NULL), -1);
	ASSERT_EQ(errno, EFAULT);
	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_HELLO, unmapped), -1);
	ASSERT_EQ(errno, EFAULT);
	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_SET_COOKIE, unmapped), -1);
	ASSERT_EQ(errno, EFAULT);
	/* A kernel address is not a user pointer. */
	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_SET_COOKIE, (void *)0xffffffff81000000UL), -1);
	ASSERT_EQ(errno, EFAULT);

	/* The failed SET_COOKIE changed nothing. */
	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_HELLO, &h), 0);
	ASSERT_EQ(h.cookie, 0);
	munmap(unmapped, 4096);
}

/* The device node is root only. */
TEST_F(rmisc, root_only)
{
	ASSERT_EQ(nonroot_open_refused(RMISC_DEV), 0);
}

/* An open file holds a reference on the module: unloading is refused. */
TEST_F(rmisc, open_file_pins_module)
{
	struct rmisc_hello h = { 0 };

	ASSERT_TRUE(unload_refused("rmisc"));
	/* Still there and answering. */
	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_HELLO, &h), 0);
	ASSERT_EQ(h.magic, RMISC_MAGIC);
}

TEST_HARNESS_MAIN
