/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Helpers shared by rmm's fuzz kselftests (<drv>/<drv>_fuzz_test.c): a seeded
 * xorshift64 generator, time and call budgets, user pointers that fault, the
 * sweep of ioctl numbers a driver does not know, and the bodies of the tests
 * every fuzz test has (cmd_sweep, random_cmds, close_race; the faulting
 * pointers of bad_pointers).
 *
 * The seed is logged by every test; RMM_FUZZ_SEED=<seed> replays a run, and
 * RMM_FUZZ_SECONDS=<s> shortens every fuzz loop (it never lengthens one).
 */
#ifndef RMM_FUZZ_H
#define RMM_FUZZ_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define FUZZ_PAGE 4096UL
/* "rmm-fuzz" */
#define FUZZ_SEED_DEFAULT 0x726d6d2d66757a7aULL
#define FUZZ_HASH_INIT 0xcbf29ce484222325ULL

/* Kernel addresses: the direct map and the kernel image. */
#define FUZZ_KERNEL_PTR 0xffff888000000000ULL
#define FUZZ_KTEXT_PTR 0xffffffff81000000ULL
/* The first address above any 4-level user address space. */
#define FUZZ_NONCANON_PTR 0x0000800000000000ULL

/* --- the generator --- */

struct fuzz_rng {
	uint64_t s;
};

static inline uint64_t fuzz_next(struct fuzz_rng *r)
{
	uint64_t x = r->s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return r->s = x;
}

/* 0 .. n - 1; 0 if n is 0. */
static inline uint64_t fuzz_below(struct fuzz_rng *r, uint64_t n)
{
	return n ? fuzz_next(r) % n : 0;
}

/* True once in n. */
static inline int fuzz_one_in(struct fuzz_rng *r, uint64_t n)
{
	return fuzz_below(r, n) == 0;
}

/* FNV-1a, continued from h. */
static inline uint64_t fuzz_hash(const void *p, size_t len, uint64_t h)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static inline uint64_t fuzz_base_seed(void)
{
	const char *s = getenv("RMM_FUZZ_SEED");

	return s && *s ? strtoull(s, NULL, 0) : FUZZ_SEED_DEFAULT;
}

/* Each test draws from the base seed mixed with its name. */
static inline void fuzz_rng_init(struct fuzz_rng *r, uint64_t base, const char *name)
{
	r->s = fuzz_hash(name, strlen(name), FUZZ_HASH_INIT ^ base);
	if (!r->s)
		r->s = FUZZ_SEED_DEFAULT;
}

/* In a test or fixture setup: seeds rng and logs how to replay the test. */
#define FUZZ_SEED(rng) do { \
	uint64_t __base = fuzz_base_seed(); \
	fuzz_rng_init(rng, __base, _metadata->name); \
	TH_LOG("seed %#llx (replay: RMM_FUZZ_SEED=%#llx <binary> -t %s)", \
	       (unsigned long long)(rng)->s, (unsigned long long)__base, \
	       _metadata->name); \
} while (0)

/* Deterministic contents: len bytes following from seed. */
static inline void fuzz_fill(void *buf, size_t len, uint64_t seed)
{
	struct fuzz_rng r = { .s = seed * 0x9e3779b97f4a7c15ULL + 1 };
	uint8_t *b = buf;
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = fuzz_next(&r);
		b[i] = x >> (8 * (i % 8));
	}
}

/* --- budgets: a deadline and a call cap, whichever comes first --- */

struct fuzz_budget {
	double start, end;	/* CLOCK_MONOTONIC, seconds */
	unsigned long max;	/* calls */
	unsigned long calls;
};

static inline double fuzz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void fuzz_budget_init(struct fuzz_budget *b, double secs, unsigned long max)
{
	const char *s = getenv("RMM_FUZZ_SECONDS");
	double v = s && *s ? strtod(s, NULL) : 0;

	if (v > 0 && v < secs)
		secs = v;
	b->start = fuzz_now();
	b->end = b->start + secs;
	b->max = max;
	b->calls = 0;
}

static inline int fuzz_time_left(const struct fuzz_budget *b)
{
	return fuzz_now() < b->end;
}

static inline int fuzz_more(const struct fuzz_budget *b)
{
	return b->calls < b->max && fuzz_time_left(b);
}

static inline double fuzz_elapsed(const struct fuzz_budget *b)
{
	return fuzz_now() - b->start;
}

/* --- user memory that faults --- */

#define FUZZ_NONE_PAGES 16

/*
 * One reservation, laid out as:
 *
 *   ro    ro_len bytes, read only (a copy of what the caller gave)
 *   edge  one read-write page ...
 *   hole  ... followed by an unmapped page
 *   none  FUZZ_NONE_PAGES pages mapped PROT_NONE
 *
 * A pointer k bytes before hole is valid for k bytes only. Nothing may
 * mmap() a single page after fuzz_mem_init(), or it could land in the
 * hole: fuzz_hole_unmapped() checks.
 */
struct fuzz_mem {
	char *base;
	size_t len;
	char *ro;
	size_t ro_len;
	char *edge;
	char *hole;
	char *none;
};

static inline int fuzz_mem_init(struct fuzz_mem *m, const void *ro_src, size_t ro_len)
{
	ro_len = ro_len ? (ro_len + FUZZ_PAGE - 1) & ~(FUZZ_PAGE - 1) : FUZZ_PAGE;
	m->len = ro_len + (2 + FUZZ_NONE_PAGES) * FUZZ_PAGE;
	m->base = mmap(NULL, m->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->base == MAP_FAILED) {
		m->base = NULL;
		return -errno;
	}
	m->ro = m->base;
	m->ro_len = ro_len;
	m->edge = m->ro + ro_len;
	m->hole = m->edge + FUZZ_PAGE;
	m->none = m->hole + FUZZ_PAGE;
	if (mprotect(m->ro, ro_len + FUZZ_PAGE, PROT_READ | PROT_WRITE))
		return -errno;
	memset(m->ro, 0, ro_len);
	if (ro_src)
		memcpy(m->ro, ro_src, ro_len);
	memset(m->edge, 0xa5, FUZZ_PAGE);
	if (mprotect(m->ro, ro_len, PROT_READ) || munmap(m->hole, FUZZ_PAGE))
		return -errno;
	return 0;
}

static inline void fuzz_mem_fini(struct fuzz_mem *m)
{
	if (m->base)
		munmap(m->base, m->len);
	m->base = NULL;
}

/* Whether the hole is still unmapped (msync() fails with ENOMEM there). */
static inline int fuzz_hole_unmapped(const struct fuzz_mem *m)
{
	return msync(m->hole, FUZZ_PAGE, MS_ASYNC) == -1 && errno == ENOMEM;
}

/* A pointer valid for exactly `valid` bytes (at most a page) before a fault. */
static inline uint64_t fuzz_edge_ptr(const struct fuzz_mem *m, size_t valid)
{
	return (uintptr_t)m->hole - valid;
}

/* A user pointer whose first byte faults, reading or writing. */
static inline uint64_t fuzz_bad_ptr(struct fuzz_rng *r, const struct fuzz_mem *m)
{
	switch (fuzz_below(r, 9)) {
	case 0:
		return 0;
	case 1:	/* the first page, never mapped */
		return 1 + fuzz_below(r, FUZZ_PAGE - 1);
	case 2:
		return FUZZ_KERNEL_PTR + (fuzz_below(r, 1 << 20) << 12) + fuzz_below(r, FUZZ_PAGE);
	case 3:
		return FUZZ_KTEXT_PTR + fuzz_below(r, 1 << 24);
	case 4:
		return FUZZ_NONCANON_PTR + fuzz_below(r, 1ULL << 40);
	case 5:	/* addr + len wraps around */
		return -1ULL - fuzz_below(r, FUZZ_PAGE);
	case 6:
		return (uintptr_t)m->hole + fuzz_below(r, FUZZ_PAGE);
	case 7:
		return (uintptr_t)m->none + fuzz_below(r, FUZZ_NONE_PAGES * FUZZ_PAGE);
	default:	/* anywhere in the upper half */
		return fuzz_next(r) | 1ULL << 63;
	}
}

/*
 * A request pointer for req (size bytes), once in 16 each: straddling the
 * hole (*bad), faulting at once (*bad), or a copy of req that fits exactly
 * before the hole; else req itself.
 */
static inline unsigned long fuzz_pick_req(struct fuzz_rng *r, const struct fuzz_mem *m,
					  const void *req, size_t size, int *bad)
{
	unsigned long p;

	*bad = 0;
	switch (fuzz_below(r, 16)) {
	case 0:
		*bad = 1;
		return fuzz_edge_ptr(m, fuzz_below(r, size));
	case 1:
		*bad = 1;
		return fuzz_bad_ptr(r, m);
	case 2:
		p = fuzz_edge_ptr(m, size);
		memcpy((void *)p, req, size);
		return p;
	default:
		return (uintptr_t)req;
	}
}

/* --- ioctl numbers --- */

/*
 * Numbers fs/ioctl.c:do_vfs_ioctl() answers itself before the driver sees
 * them (FIOCLEX, FIONBIO, FIFREEZE, FICLONE, FS_IOC_SETFLAGS, ...): never
 * sent, some would change the file or the filesystem the node is on.
 */
static inline int fuzz_vfs_cmd(unsigned int cmd)
{
	unsigned int type = _IOC_TYPE(cmd), nr = _IOC_NR(cmd);

	if (cmd == 2)		/* FIGETBSZ */
		return 1;
	switch (type) {
	case 'T':		/* FIONBIO, FIONCLEX, FIOCLEX, FIOASYNC, FIOQSIZE */
		return nr == 0x21 || nr == 0x50 || nr == 0x51 || nr == 0x52 || nr == 0x60;
	case 'X':		/* FS_IOC_FS[GS]ETXATTR, FIFREEZE, FITHAW */
		return nr == 31 || nr == 32 || nr == 119 || nr == 120;
	case 'f':		/* FS_IOC_[GS]ETFLAGS, FS_IOC_FIEMAP, ... */
	case 0x94:		/* FICLONE, FICLONERANGE, FIDEDUPERANGE */
		return 1;
	case 0x15:		/* FS_IOC_GETFSUUID, FS_IOC_GETFSSYSFSPATH */
		return nr <= 1;
	}
	return 0;
}

static inline int fuzz_known(unsigned int cmd, const unsigned int *known, int nknown)
{
	int i;

	for (i = 0; i < nknown; i++)
		if (cmd == known[i])
			return 1;
	return 0;
}

/* Unknown commands sent, and the first that did not fail with ENOTTY. */
struct fuzz_cmds {
	unsigned long calls;
	unsigned long bad;
	unsigned int first_cmd;
	unsigned long first_arg;
	long first_ret;
	int first_errno;
};

static inline void fuzz_enotty(int fd, unsigned int cmd, unsigned long arg, struct fuzz_cmds *c)
{
	long ret;

	errno = 0;
	ret = ioctl(fd, cmd, arg);
	c->calls++;
	if (ret == -1 && errno == ENOTTY)
		return;
	if (!c->bad++) {
		c->first_cmd = cmd;
		c->first_arg = arg;
		c->first_ret = ret;
		c->first_errno = errno;
	}
}

/* In a test: logs the first command that did not fail with ENOTTY. */
#define FUZZ_LOG_CMDS(c) do { \
	if ((c)->bad) \
		TH_LOG("%lu of %lu unknown commands did not fail with ENOTTY; first: cmd %#x arg %#lx: ret %ld errno %d (%s)", \
		       (c)->bad, (c)->calls, (c)->first_cmd, (c)->first_arg, \
		       (c)->first_ret, (c)->first_errno, strerror((c)->first_errno)); \
} while (0)

#define FUZZ_SCRATCH_LEN (_IOC_SIZEMASK + 1 + FUZZ_PAGE)

/*
 * Every number 0..255 of `type`, in each direction, with the sizes 0, 1,
 * a few powers of two, the largest, and each known command's size +-1: all
 * but the known commands must fail with ENOTTY. arg rotates between
 * scratch (FUZZ_SCRATCH_LEN bytes), NULL and a kernel address. Stops early
 * when the budget runs out; *planned is the full count.
 */
static inline void fuzz_sweep(int fd, unsigned int type, const unsigned int *known, int nknown,
			      void *scratch, struct fuzz_budget *b, struct fuzz_cmds *c,
			      unsigned long *planned)
{
	static const unsigned int base[] = { 0, 1, 2, 4, 8, 16, 4096, _IOC_SIZEMASK };
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE,
	};
	const unsigned long args[] = { (uintptr_t)scratch, 0, FUZZ_KERNEL_PTR };
	unsigned int sizes[64], nr, d, s, cmd;
	int ns = 0, i, j, k;

	for (i = 0; i < (int)ARRAY_SIZE(base); i++)
		sizes[ns++] = base[i];
	for (i = 0; i < nknown; i++) {
		for (j = -1; j <= 1; j++) {
			unsigned int sz = _IOC_SIZE(known[i]) + j;

			for (k = 0; k < ns && sizes[k] != sz; k++)
				;
			if (k == ns && ns < 64 && sz <= _IOC_SIZEMASK)
				sizes[ns++] = sz;
		}
	}
	*planned = 256UL * 4 * ns;
	for (nr = 0; nr < 256; nr++) {
		for (d = 0; d < 4; d++) {
			for (s = 0; s < (unsigned int)ns; s++) {
				if (!fuzz_more(b))
					return;
				cmd = _IOC(dirs[d], type, nr, sizes[s]);
				if (fuzz_known(cmd, known, nknown) || fuzz_vfs_cmd(cmd))
					continue;
				fuzz_enotty(fd, cmd, args[(nr + d + s) % 3], c);
				b->calls++;
			}
		}
	}
}

/*
 * A command the driver does not know: fully random, random with the
 * driver's type, a known number with another size, or a known command with
 * one bit flipped.
 */
static inline unsigned int fuzz_random_cmd(struct fuzz_rng *r, unsigned int type,
					   const unsigned int *known, int nknown)
{
	for (;;) {
		uint64_t x = fuzz_next(r);
		unsigned int k = known[(x >> 8) % nknown], cmd;

		switch (x & 3) {
		case 0:
			cmd = x >> 32;
			break;
		case 1:
			cmd = _IOC((x >> 8) & 3, type, (x >> 16) & 0xff, (x >> 32) & _IOC_SIZEMASK);
			break;
		case 2:
			cmd = (k & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
			      ((x >> 32) & _IOC_SIZEMASK) << _IOC_SIZESHIFT;
			break;
		default:
			cmd = k ^ 1U << ((x >> 32) & 31);
			break;
		}
		if (!fuzz_known(cmd, known, nknown) && !fuzz_vfs_cmd(cmd))
			return cmd;
	}
}

/* Any argument: random bits, a small number, scratch, or a faulting pointer. */
static inline unsigned long fuzz_random_arg(struct fuzz_rng *r, void *scratch,
					    const struct fuzz_mem *m)
{
	switch (fuzz_below(r, 4)) {
	case 0:
		return fuzz_next(r);
	case 1:
		return fuzz_below(r, 65536);
	case 2:
		return (uintptr_t)scratch + fuzz_below(r, FUZZ_PAGE);
	default:
		return fuzz_bad_ptr(r, m);
	}
}

/* --- close racing ioctls --- */

/*
 * One thread runs ioctls on fd while the test closes it: each call either
 * works or fails with EBADF (or an errno the driver documents for it,
 * counted by the caller's op). Counters are written by the thread only.
 */
struct fuzz_race {
	int fd;
	volatile int stop;
	volatile unsigned long calls;
	unsigned long ok;
	volatile unsigned long ebadf;
	unsigned long bad;	/* an unexpected result or wrong data */
	const char *bad_op;
	long bad_ret;
	uint64_t seed;
	void *priv;
};

/*
 * Counts one result: 0 or more is success; -EBADF or allowed are fine. The
 * thread stops by itself after a few EBADF: the fd is gone for good.
 */
static inline void fuzz_race_note(struct fuzz_race *r, const char *op, long ret, int allowed)
{
	r->calls++;
	if (ret >= 0) {
		r->ok++;
	} else if (ret == -EBADF) {
		if (++r->ebadf >= 16)
			r->stop = 1;
	} else if (allowed && ret == -allowed) {
		r->ok++;
	} else if (!r->bad++) {
		r->bad_op = op;
		r->bad_ret = ret;
	}
}

/* Marks wrong data seen by a successful call. */
static inline void fuzz_race_corrupt(struct fuzz_race *r, const char *op)
{
	if (!r->bad++) {
		r->bad_op = op;
		r->bad_ret = 0;
	}
}

/* Waits, yielding, until *calls reaches n or `secs` have passed. */
static inline void fuzz_wait_calls(volatile unsigned long *calls, unsigned long n, double secs)
{
	double end = fuzz_now() + secs;

	while (*calls < n && fuzz_now() < end)
		sched_yield();
}

enum fuzz_race_variant {
	RACE_CLOSE,		/* close the only fd: the file is released */
	RACE_CLOSE_KEEP_DUP,	/* close fd while a dup keeps the file open */
	RACE_CLOSE_DUP,		/* close the dup while fd stays open */
	RACE_VARIANTS,
};

static const char *const fuzz_race_names[RACE_VARIANTS] = {
	"close", "close, dup kept", "close the dup",
};

/*
 * Runs fn(r) on a thread and, once it made `spin` calls, closes r->fd or its
 * dup as `variant` says; stops the thread once it saw EBADF (or made 32
 * more calls on an fd that stays open). Returns the fd still open (the
 * caller checks and closes it), -1 if none, or -2 if dup() or
 * pthread_create() failed (nothing was closed then).
 */
static inline int fuzz_race_round(struct fuzz_race *r, void *(*fn)(void *),
				  enum fuzz_race_variant variant, unsigned long spin)
{
	int keep = -1, victim = r->fd;
	pthread_t t;

	if (variant != RACE_CLOSE) {
		keep = dup(r->fd);
		if (keep < 0)
			return -2;
		if (variant == RACE_CLOSE_DUP) {
			victim = keep;
			keep = r->fd;
		}
	}
	r->stop = 0;
	r->calls = r->ok = r->ebadf = r->bad = 0;
	if (pthread_create(&t, NULL, fn, r)) {
		if (variant != RACE_CLOSE)
			close(victim == r->fd ? keep : victim);
		return -2;
	}
	fuzz_wait_calls(&r->calls, spin, 2.0);
	close(victim);
	if (victim == r->fd)
		fuzz_wait_calls(&r->ebadf, 1, 2.0);
	else
		fuzz_wait_calls(&r->calls, r->calls + 32, 2.0);
	r->stop = 1;
	pthread_join(t, NULL);
	return keep;
}

/*
 * What follows asserts with the kselftest harness: include
 * kselftest_harness.h before this file.
 */

/* What the close races of one test did. */
struct fuzz_race_tally {
	unsigned long rounds[RACE_VARIANTS];	/* by variant */
	unsigned long calls;			/* ioctls of the racing threads */
	unsigned long ebadf;			/* of which failed with EBADF */
};

/*
 * One fuzz_race_round(), checked and counted: it ran, no call gave an
 * unexpected result or wrong data, and no call failed with EBADF on an fd
 * that stays open. Returns the fd still open (the caller checks and closes
 * it), or -1.
 */
static inline int fuzz_race_checked(struct __test_metadata *_metadata, struct fuzz_race *r,
				    void *(*fn)(void *), enum fuzz_race_variant variant,
				    unsigned long spin, struct fuzz_race_tally *t)
{
	int keep = fuzz_race_round(r, fn, variant, spin);

	ASSERT_NE(keep, -2);
	t->rounds[variant]++;
	t->calls += r->calls;
	t->ebadf += r->ebadf;
	ASSERT_EQ(r->bad, 0) TH_LOG("round %lu (%s): %s gave %ld",
				    t->rounds[0] + t->rounds[1] + t->rounds[2],
				    fuzz_race_names[variant], r->bad_op, r->bad_ret);
	if (variant == RACE_CLOSE_DUP) {
		ASSERT_EQ(r->ebadf, 0);
	}
	return keep;
}

/* The closing line of a close-race test. */
#define fuzz_race_log(t, b) \
	TH_LOG("%lu rounds (%lu/%lu/%lu by variant) in %.2f s: %lu ioctls, %lu EBADF", \
	       (b)->calls, (t)->rounds[0], (t)->rounds[1], (t)->rounds[2], \
	       fuzz_elapsed(b), (t)->calls, (t)->ebadf)

/*
 * Every known command with each faulting pointer of fixed[], and with its
 * request straddling the end of a mapping by 0 .. size - 1 bytes: EFAULT
 * each time. Returns how many calls that was.
 */
static inline unsigned long fuzz_fault_requests(struct __test_metadata *_metadata, int fd,
						const unsigned int *known, int nknown,
						const unsigned long *fixed, size_t nfixed,
						const struct fuzz_mem *m)
{
	unsigned long calls = 0;
	size_t i, k;
	int c;

	for (c = 0; c < nknown; c++) {
		for (i = 0; i < nfixed; i++, calls++) {
			ASSERT_EQ(ioctl(fd, known[c], fixed[i]), -1)
				TH_LOG("cmd %#x at %#lx", known[c], fixed[i]);
			ASSERT_EQ(errno, EFAULT);
		}
		for (k = 0; k < _IOC_SIZE(known[c]); k++, calls++) {
			ASSERT_EQ(ioctl(fd, known[c], fuzz_edge_ptr(m, k)), -1)
				TH_LOG("cmd %#x, %zu of %u bytes mapped", known[c], k, _IOC_SIZE(known[c]));
			ASSERT_EQ(errno, EFAULT);
		}
	}
	return calls;
}

/*
 * A close_race test: fuzz_race_checked() rounds, the variants in turn,
 * until `secs` or `rounds` run out. Each round, open() opens the file and
 * sets it up for the thread (r->fd, and what r->priv points to); the close
 * comes once the thread made 0 .. max_spin - 1 calls; done() checks and
 * closes the fd still open (keep, or -1). ctx is the test's, for both.
 */
struct fuzz_close_race {
	double secs;
	unsigned long rounds;
	unsigned long max_spin;
	void *(*thread)(void *race);
	void (*open)(struct __test_metadata *_metadata, struct fuzz_race *r, void *ctx);
	void (*done)(struct __test_metadata *_metadata, struct fuzz_race *r, int keep, void *ctx);
};

static inline void fuzz_close_races(struct __test_metadata *_metadata,
				    const struct fuzz_close_race *cr, struct fuzz_rng *rng,
				    void *priv, void *ctx)
{
	struct fuzz_race_tally t = { 0 };
	struct fuzz_budget b;
	int keep;

	fuzz_budget_init(&b, cr->secs, cr->rounds);
	while (fuzz_more(&b)) {
		enum fuzz_race_variant variant = b.calls % RACE_VARIANTS;
		struct fuzz_race r = { .seed = fuzz_next(rng), .priv = priv };

		cr->open(_metadata, &r, ctx);
		keep = fuzz_race_checked(_metadata, &r, cr->thread, variant,
					 fuzz_below(rng, cr->max_spin), &t);
		b.calls++;
		cr->done(_metadata, &r, keep, ctx);
	}
	fuzz_race_log(&t, &b);
}

/* The faulting pointers every request and buffer gets in bad_pointers. */
#define FUZZ_NFIXED 9

static inline void fuzz_fixed_ptrs(const struct fuzz_mem *m, unsigned long p[FUZZ_NFIXED])
{
	const unsigned long fixed[FUZZ_NFIXED] = {
		0, 16, FUZZ_KERNEL_PTR, FUZZ_KTEXT_PTR, FUZZ_NONCANON_PTR, -1UL, -16UL,
		(uintptr_t)m->hole, (uintptr_t)m->none,
	};

	memcpy(p, fixed, sizeof(fixed));
}

/*
 * A cmd_sweep test: fuzz_sweep() of `type` for up to `secs`, scratch
 * (FUZZ_SCRATCH_LEN bytes, filled from seed) one of the arguments. Every
 * unknown command fails with ENOTTY, and none writes to scratch.
 */
static inline void fuzz_check_sweep(struct __test_metadata *_metadata, int fd, unsigned int type,
				    const unsigned int *known, int nknown, void *scratch,
				    uint64_t seed, double secs)
{
	struct fuzz_cmds c = { 0 };
	struct fuzz_budget b;
	unsigned long planned;
	uint64_t sum;

	fuzz_fill(scratch, FUZZ_SCRATCH_LEN, seed);
	sum = fuzz_hash(scratch, FUZZ_SCRATCH_LEN, FUZZ_HASH_INIT);
	fuzz_budget_init(&b, secs, 100000);
	fuzz_sweep(fd, type, known, nknown, scratch, &b, &c, &planned);
	TH_LOG("%lu calls (%lu numbers planned) in %.2f s", c.calls, planned, fuzz_elapsed(&b));
	FUZZ_LOG_CMDS(&c);
	EXPECT_EQ(c.bad, 0);
	/* No unknown command wrote to its argument. */
	EXPECT_EQ(fuzz_hash(scratch, FUZZ_SCRATCH_LEN, FUZZ_HASH_INIT), sum);
}

/*
 * A random_cmds test: for up to 5 s, commands of fuzz_random_cmd() with
 * arguments of fuzz_random_arg(r, scratch, m): each fails with ENOTTY.
 */
static inline void fuzz_check_random_cmds(struct __test_metadata *_metadata, int fd,
					  unsigned int type, const unsigned int *known, int nknown,
					  struct fuzz_rng *r, void *scratch, const struct fuzz_mem *m)
{
	struct fuzz_cmds c = { 0 };
	struct fuzz_budget b;

	fuzz_budget_init(&b, 5, 60000);
	while (fuzz_more(&b)) {
		unsigned int cmd = fuzz_random_cmd(r, type, known, nknown);

		fuzz_enotty(fd, cmd, fuzz_random_arg(r, scratch, m), &c);
		b.calls++;
	}
	TH_LOG("%lu calls in %.2f s", c.calls, fuzz_elapsed(&b));
	FUZZ_LOG_CMDS(&c);
	EXPECT_EQ(c.bad, 0);
}

#endif /* RMM_FUZZ_H */
