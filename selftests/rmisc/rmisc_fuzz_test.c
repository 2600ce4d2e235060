// SPDX-License-Identifier: GPL-2.0
/* Copyright (C) 2026 The rmm authors. */
/*
 * Fuzz selftests for rmisc.ko: every unknown ioctl number (a sweep of the
 * 'R' numbers and random ones) fails with ENOTTY, faulting user pointers
 * fail with EFAULT and change nothing, and close() racing ioctls gives
 * EBADF or success, never anything else. Each loop stops at a deadline or a
 * call cap; the seed is logged (RMM_FUZZ_SEED replays it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../rmm_selftest.h"
#include "../rmm_fuzz.h"
#include "rmisc_uapi.h"

#define RMISC_DEV "/dev/rmisc"

static const unsigned int known[] = { RMISC_IOC_HELLO, RMISC_IOC_SET_COOKIE };
#define NKNOWN ((int)ARRAY_SIZE(known))

static int set_cookie(int fd, uint64_t cookie)
{
	return ioctl(fd, RMISC_IOC_SET_COOKIE, &cookie) ? -errno : 0;
}

/* HELLO into h; 0 or -errno. */
static int hello(int fd, struct rmisc_hello *h)
{
	return ioctl(fd, RMISC_IOC_HELLO, h) ? -errno : 0;
}

FIXTURE(rmisc_fuzz)
{
	int fd;
	char *scratch;
	struct fuzz_mem mem;
	struct fuzz_rng rng;
};

FIXTURE_SETUP(rmisc_fuzz)
{
	self->mem.base = NULL;
	self->scratch = NULL;
	self->fd = open(RMISC_DEV, O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, RMISC_DEV " does not exist: module not loaded (rmisc.ko)");
	ASSERT_GE(self->fd, 0);
	/* Before fuzz_mem_init(): nothing may be mapped after it. */
	self->scratch = malloc(FUZZ_SCRATCH_LEN);
	ASSERT_NE(self->scratch, NULL);
	ASSERT_EQ(fuzz_mem_init(&self->mem, NULL, 0), 0);
	FUZZ_SEED(&self->rng);
}

FIXTURE_TEARDOWN(rmisc_fuzz)
{
	fuzz_mem_fini(&self->mem);
	free(self->scratch);
	if (self->fd >= 0)
		close(self->fd);
}

/* The file still answers, with the cookie it should have. */
static void check_alive(struct __test_metadata *_metadata, int fd, uint64_t cookie)
{
	struct rmisc_hello h = { 0 };

	ASSERT_EQ(hello(fd, &h), 0);
	ASSERT_EQ(h.magic, RMISC_MAGIC);
	ASSERT_EQ(h.cookie, cookie);
}

/* Every 'R' number, each direction and boundary size: ENOTTY unless known. */
TEST_F_TIMEOUT(rmisc_fuzz, cmd_sweep, 50)
{
	uint64_t cookie = 0x5eedc0de5eedc0deULL;

	ASSERT_EQ(set_cookie(self->fd, cookie), 0);
	fuzz_check_sweep(_metadata, self->fd, 'R', known, NKNOWN, self->scratch,
			 fuzz_next(&self->rng), 4);
	check_alive(_metadata, self->fd, cookie);
}

/* Random numbers and arguments: ENOTTY; the known commands keep working. */
TEST_F_TIMEOUT(rmisc_fuzz, random_cmds, 50)
{
	struct fuzz_cmds c = { 0 };
	struct fuzz_budget b;
	uint64_t cookie = 1;

	ASSERT_EQ(set_cookie(self->fd, cookie), 0);
	fuzz_budget_init(&b, 5, 100000);
	while (fuzz_more(&b)) {
		unsigned int cmd = fuzz_random_cmd(&self->rng, 'R', known, NKNOWN);

		fuzz_enotty(self->fd, cmd, fuzz_random_arg(&self->rng, self->scratch, &self->mem), &c);
		b.calls++;
		/* Now and then, the real commands still work. */
		if (b.calls % 64 == 0) {
			cookie = fuzz_next(&self->rng);
			ASSERT_EQ(set_cookie(self->fd, cookie), 0);
			check_alive(_metadata, self->fd, cookie);
			b.calls += 2;
		}
	}
	TH_LOG("%lu calls (%lu unknown commands) in %.2f s", b.calls, c.calls, fuzz_elapsed(&b));
	FUZZ_LOG_CMDS(&c);
	EXPECT_EQ(c.bad, 0);
	check_alive(_metadata, self->fd, cookie);
}

/*
 * Faulting pointers for both commands: NULL, kernel, non-canonical,
 * wrapping, unmapped and PROT_NONE addresses, a struct straddling the end of
 * a mapping, and a read-only page for HELLO (which writes back). Each fails
 * with EFAULT; a failed SET_COOKIE leaves the cookie alone.
 */
TEST_F_TIMEOUT(rmisc_fuzz, bad_pointers, 50)
{
	const unsigned long fixed[] = {
		0, FUZZ_KERNEL_PTR, FUZZ_KTEXT_PTR, FUZZ_NONCANON_PTR, -1UL, -8UL,
		(uintptr_t)self->mem.hole, (uintptr_t)self->mem.none,
	};
	uint64_t cookie = 0x0123456789abcdefULL, v;
	struct rmisc_hello *edge;
	struct fuzz_budget b;
	unsigned long efault = 0, ok = 0;
	size_t i, k;
	int ret;

	ASSERT_EQ(set_cookie(self->fd, cookie), 0);
	for (i = 0; i < ARRAY_SIZE(fixed); i++) {
		ASSERT_EQ(ioctl(self->fd, RMISC_IOC_HELLO, fixed[i]), -1)
			TH_LOG("HELLO at %#lx", fixed[i]);
		ASSERT_EQ(errno, EFAULT);
		ASSERT_EQ(ioctl(self->fd, RMISC_IOC_SET_COOKIE, fixed[i]), -1)
			TH_LOG("SET_COOKIE at %#lx", fixed[i]);
		ASSERT_EQ(errno, EFAULT);
	}
	/* HELLO writes back: a read-only page faults. */
	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_HELLO, self->mem.ro), -1);
	ASSERT_EQ(errno, EFAULT);
	/* Straddling the end of the mapping by 1 .. size - 1 bytes, then fitting. */
	for (k = 0; k < sizeof(struct rmisc_hello); k++) {
		ASSERT_EQ(ioctl(self->fd, RMISC_IOC_HELLO, fuzz_edge_ptr(&self->mem, k)), -1)
			TH_LOG("%zu bytes mapped", k);
		ASSERT_EQ(errno, EFAULT);
	}
	for (k = 0; k < sizeof(uint64_t); k++) {
		ASSERT_EQ(ioctl(self->fd, RMISC_IOC_SET_COOKIE, fuzz_edge_ptr(&self->mem, k)), -1)
			TH_LOG("%zu bytes mapped", k);
		ASSERT_EQ(errno, EFAULT);
	}
	check_alive(_metadata, self->fd, cookie);
	edge = (struct rmisc_hello *)fuzz_edge_ptr(&self->mem, sizeof(*edge));
	ASSERT_EQ(hello(self->fd, edge), 0);
	ASSERT_EQ(edge->magic, RMISC_MAGIC);
	ASSERT_EQ(edge->cookie, cookie);
	/* SET_COOKIE only reads: from a read-only page is fine. */
	memcpy(&v, self->mem.ro, sizeof(v));
	ASSERT_EQ(ioctl(self->fd, RMISC_IOC_SET_COOKIE, self->mem.ro), 0);
	cookie = v;
	check_alive(_metadata, self->fd, cookie);

	/* Random pointers of every kind, with a model of the answer. */
	fuzz_budget_init(&b, 4, 60000);
	while (fuzz_more(&b)) {
		int is_hello = fuzz_below(&self->rng, 2);
		size_t size = is_hello ? sizeof(struct rmisc_hello) : sizeof(uint64_t);
		unsigned long p;
		int want = EFAULT;

		switch (fuzz_below(&self->rng, 4)) {
		case 0:
			p = fuzz_bad_ptr(&self->rng, &self->mem);
			break;
		case 1:	/* straddling: 0 .. size - 1 bytes mapped */
			p = fuzz_edge_ptr(&self->mem, fuzz_below(&self->rng, size));
			break;
		case 2:	/* read only: fine to read from */
			p = (uintptr_t)self->mem.ro + 8 * fuzz_below(&self->rng, FUZZ_PAGE / 8 - 2);
			if (!is_hello)
				want = 0;
			break;
		default:
			p = (uintptr_t)self->scratch + fuzz_below(&self->rng, FUZZ_PAGE);
			if (!is_hello)
				memcpy((void *)p, &(uint64_t){ fuzz_next(&self->rng) }, sizeof(uint64_t));
			want = 0;
			break;
		}
		if (!is_hello && !want)
			memcpy(&v, (void *)p, sizeof(v));
		ret = ioctl(self->fd, is_hello ? RMISC_IOC_HELLO : RMISC_IOC_SET_COOKIE, p) ? -errno : 0;
		b.calls++;
		ASSERT_EQ(ret, -want)
			TH_LOG("%s at %#lx after %lu calls", is_hello ? "HELLO" : "SET_COOKIE", p, b.calls);
		if (ret) {
			efault++;
			continue;
		}
		ok++;
		if (is_hello) {
			struct rmisc_hello h;

			memcpy(&h, (void *)p, sizeof(h));
			ASSERT_EQ(h.magic, RMISC_MAGIC);
			ASSERT_EQ(h.cookie, cookie);
		} else {
			cookie = v;
		}
	}
	TH_LOG("%lu calls in %.2f s: %lu EFAULT, %lu ok", b.calls, fuzz_elapsed(&b), efault, ok);
	ASSERT_TRUE(fuzz_hole_unmapped(&self->mem));
	check_alive(_metadata, self->fd, cookie);
}

/* The thread: sets a new cookie, reads it back; counts results. */
static void *race_thread(void *arg)
{
	struct fuzz_race *r = arg;
	uint64_t *last_ok = r->priv;
	uint64_t v = r->seed;

	while (!r->stop) {
		struct rmisc_hello h = { 0 };
		int ret;

		v++;
		ret = set_cookie(r->fd, v);
		fuzz_race_note(r, "SET_COOKIE", ret, 0);
		if (!ret)
			*last_ok = v;
		ret = hello(r->fd, &h);
		fuzz_race_note(r, "HELLO", ret, 0);
		/* Only this thread sets the cookie. */
		if (!ret && (h.magic != RMISC_MAGIC || h.cookie != *last_ok))
			fuzz_race_corrupt(r, "HELLO data");
	}
	return NULL;
}

/* A new file, its cookie 0; the thread counts its cookies up from the seed. */
static void race_open(struct __test_metadata *_metadata, struct fuzz_race *r, void *ctx)
{
	uint64_t *last_ok = r->priv;

	r->seed <<= 16;
	*last_ok = 0;
	r->fd = open(RMISC_DEV, O_RDWR);
	ASSERT_GE(r->fd, 0);
}

/* The file lives on, with the cookie last set through it. */
static void race_done(struct __test_metadata *_metadata, struct fuzz_race *r, int keep, void *ctx)
{
	if (keep >= 0) {
		check_alive(_metadata, keep, *(uint64_t *)r->priv);
		close(keep);
	}
}

/*
 * close() racing SET_COOKIE/HELLO on the same file: the only fd, the fd
 * while a dup keeps the file, or the dup while the fd stays. Every call
 * works or fails with EBADF; a surviving fd sees the last cookie set.
 */
TEST_F_TIMEOUT(rmisc_fuzz, close_race, 50)
{
	static const struct fuzz_close_race cr = {
		.secs = 5, .rounds = 400, .max_spin = 64,
		.thread = race_thread, .open = race_open, .done = race_done,
	};
	uint64_t last_ok;

	fuzz_close_races(_metadata, &cr, &self->rng, &last_ok, NULL);
	check_alive(_metadata, self->fd, 0);
}

TEST_HARNESS_MAIN
