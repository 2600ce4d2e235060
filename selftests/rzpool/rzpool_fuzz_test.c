// SPDX-License-Identifier: GPL-2.0
/* Copyright (C) 2026 The rmm authors. */
/*
 * Fuzz selftests for rzpool.ko. Each test runs on a pool that holds
 * sentinel objects of random sizes (1 .. 4096 bytes) filled with a
 * checksummed pattern; whatever the test does to the pool, every object
 * must read back intact at the end, and the pool's counters must match.
 *
 * - unknown ioctl numbers (a sweep of 'Z' and random ones): ENOTTY;
 *   the state batches (MAKE_VOLATILE, MAKE_STABLE) are among the known ones,
 *   and their faulting handle and result arrays change no object;
 * - faulting user pointers for every command and data buffer: EFAULT;
 * - a model of the driver's checks (lengths, offsets, handles, buffers)
 *   predicts the errno of random requests, and a shadow copy their data;
 * - forged handles (each field bumped, another pool's, random): EINVAL
 *   for another pool, ENOENT for this pool's; stale handles: ENOENT;
 * - two threads freeing the same handles: exactly one free of each works;
 * - close() racing ioctls: success or EBADF.
 *
 * Each loop stops at a deadline or a call cap; the seed is logged
 * (RMM_FUZZ_SEED replays it).
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
#include "rzpool_ioctl.h"

#define MAXSZ RZPOOL_MAX_SIZE
#define NSENT 128		/* sentinel objects of every fixture */
#define MAX_OBJS 768		/* objects one pool tracks */
#define NSTALE 4096		/* freed handles remembered */
#define CHURN_OBJS 384		/* objects of the model test besides the sentinels */
#define SCRATCH_LEN (2 * MAXSZ + FUZZ_PAGE)
/* Index of the first ALLOC request in the read-only page (in u64s). */
#define RO_ALLOCS ((int)(FUZZ_PAGE / 16))

static const unsigned int known[] = {
	RZPOOL_IOC_ALLOC, RZPOOL_IOC_FREE, RZPOOL_IOC_WRITE,
	RZPOOL_IOC_READ, RZPOOL_IOC_COMPACT, RZPOOL_IOC_STATS,
	RZPOOL_IOC_MAKE_VOLATILE, RZPOOL_IOC_MAKE_STABLE,
};
#define NKNOWN ((int)ARRAY_SIZE(known))

/* --- a pool and what it must hold --- */

struct fobj {
	uint64_t h;
	uint32_t size;
	int live;
	uint64_t sum;		/* FNV-1a of data[0 .. size) */
	uint8_t *data;		/* the expected contents */
};

struct pool {
	int fd;
	uint16_t id;
	int n;			/* entries of objs[] used, live or not */
	int nlive;
	uint64_t bytes;		/* sum of the live sizes */
	struct fobj *objs;
	uint8_t *data;		/* MAX_OBJS * MAXSZ */
	uint64_t *stale;	/* a ring of freed handles */
	unsigned long nstale;
};

/* Opens a pool; 0, -ENOENT if the device is missing, or another -errno. */
static int pool_open(struct pool *p)
{
	struct rzpool_stats st;
	int i;

	memset(p, 0, sizeof(*p));
	p->fd = open(RZPOOL_DEV, O_RDWR);
	if (p->fd < 0)
		return -errno;
	if (rz_stats(p->fd, &st))
		return -errno;
	p->id = st.pool_id;
	p->objs = calloc(MAX_OBJS, sizeof(*p->objs));
	p->data = malloc((size_t)MAX_OBJS * MAXSZ);
	p->stale = calloc(NSTALE, sizeof(*p->stale));
	if (!p->objs || !p->data || !p->stale)
		return -ENOMEM;
	for (i = 0; i < MAX_OBJS; i++)
		p->objs[i].data = p->data + (size_t)i * MAXSZ;
	return 0;
}

static void pool_close(struct pool *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free(p->objs);
	free(p->data);
	free(p->stale);
	p->objs = NULL;
	p->data = NULL;
	p->stale = NULL;
}

/* What the driver answers to handle h: 0 (live; *idx is its object) or -errno. */
static int pool_expect(const struct pool *p, uint64_t h, int *idx)
{
	int i;

	if ((uint16_t)(h >> 48) != p->id)
		return -EINVAL;
	for (i = 0; i < p->n; i++) {
		if (p->objs[i].live && p->objs[i].h == h) {
			if (idx)
				*idx = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* Whether h is one of the freed handles remembered: never to be handed out again. */
static int pool_was_freed(const struct pool *p, uint64_t h)
{
	unsigned long i, n = p->nstale < NSTALE ? p->nstale : NSTALE;

	for (i = 0; i < n; i++)
		if (p->stale[i] == h)
			return 1;
	return 0;
}

/* A free entry of objs[], or -1. */
static int pool_slot(struct pool *p)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (!p->objs[i].live)
			return i;
	return p->n < MAX_OBJS ? p->n++ : -1;
}

/* Records a new object of h whose contents are data (or zeroes). */
static int pool_track(struct pool *p, uint64_t h, uint32_t size, const void *data)
{
	int i = pool_slot(p);
	struct fobj *o;

	if (i < 0)
		return -1;
	o = &p->objs[i];
	o->h = h;
	o->size = size;
	o->live = 1;
	if (data)
		memcpy(o->data, data, size);
	else
		memset(o->data, 0, size);
	o->sum = fuzz_hash(o->data, size, FUZZ_HASH_INIT);
	p->nlive++;
	p->bytes += size;
	return i;
}

static void pool_untrack(struct pool *p, int i)
{
	p->objs[i].live = 0;
	p->nlive--;
	p->bytes -= p->objs[i].size;
	p->stale[p->nstale++ % NSTALE] = p->objs[i].h;
}

/* Allocates and fills an object; its index, or -errno. */
static int pool_add(struct pool *p, uint32_t size, uint64_t seed)
{
	uint8_t buf[MAXSZ];
	uint64_t h = 0;
	int ret;

	if (p->nlive >= MAX_OBJS)
		return -ENOSPC;
	ret = rz_alloc(p->fd, size, &h);
	if (ret)
		return ret;
	fuzz_fill(buf, size, seed);
	ret = rz_write(p->fd, h, 0, buf, size);
	if (ret)
		return ret;
	return pool_track(p, h, size, buf);
}

/* Frees object i through the driver; 0 or -errno. */
static int pool_del(struct pool *p, int i)
{
	int ret = rz_free(p->fd, p->objs[i].h);

	if (!ret)
		pool_untrack(p, i);
	return ret;
}

/* A random live object, preferring index >= from; -1 if none. */
static int pool_pick(struct pool *p, struct fuzz_rng *r, int from)
{
	int tries, i;

	if (from >= p->n)
		from = 0;
	for (tries = 0; tries < 16; tries++) {
		i = from + fuzz_below(r, p->n - from);
		if (p->objs[i].live)
			return i;
	}
	for (i = 0; i < p->n; i++)
		if (p->objs[i].live)
			return i;
	return -1;
}

/*
 * Every live object reads back as expected (and hashes to its checksum),
 * and the driver's counters match.
 */
static void pool_verify(struct __test_metadata *_metadata, struct pool *p)
{
	struct rzpool_stats st;
	uint8_t buf[MAXSZ];
	int i, checked = 0;

	for (i = 0; i < p->n; i++) {
		struct fobj *o = &p->objs[i];

		if (!o->live)
			continue;
		ASSERT_EQ(rz_read(p->fd, o->h, 0, buf, o->size), 0)
			TH_LOG("object %d, handle %#llx, %u bytes", i, (unsigned long long)o->h, o->size);
		ASSERT_EQ(fuzz_hash(buf, o->size, FUZZ_HASH_INIT), o->sum)
			TH_LOG("object %d, handle %#llx, %u bytes: bad checksum", i,
			       (unsigned long long)o->h, o->size);
		ASSERT_EQ(memcmp(buf, o->data, o->size), 0);
		checked++;
	}
	ASSERT_EQ(rz_stats(p->fd, &st), 0);
	ASSERT_EQ(st.pool_id, p->id);
	ASSERT_EQ(st.objs, p->nlive);
	ASSERT_EQ(st.bytes, p->bytes);
	ASSERT_EQ(checked, p->nlive);
}

/* A handle of some kind; *kind names it. */
static uint64_t pick_handle(struct fuzz_rng *r, struct pool *p, const struct pool *other,
			    int from, const char **kind)
{
	int i = pool_pick(p, r, from);
	uint64_t h = i >= 0 ? p->objs[i].h : (uint64_t)p->id << 48;
	uint64_t gen;

	switch (fuzz_below(r, 12)) {
	case 0 ... 3:
		*kind = "live";
		return h;
	case 4:
		*kind = "stale";
		if (p->nstale)
			return p->stale[fuzz_below(r, p->nstale < NSTALE ? p->nstale : NSTALE)];
		return h + (1ULL << 32);
	case 5:
		*kind = "other pool";
		if (other && other->n) {
			i = pool_pick((struct pool *)other, r, 0);
			if (i >= 0)
				return other->objs[i].h;
		}
		return h ^ 1ULL << 48;
	case 6:
		*kind = "pool id bit";
		return h ^ 1ULL << (48 + fuzz_below(r, 16));
	case 7:
		*kind = "generation";
		gen = ((h >> 32) + 1 + fuzz_below(r, 0xffff)) & 0xffff;
		return (h & ~(0xffffULL << 32)) | gen << 32;
	case 8:
		*kind = "slot";
		if (fuzz_one_in(r, 2))
			return (h & ~0xffffffffULL) | (uint32_t)(h + (fuzz_one_in(r, 2) ? 1 : -1));
		return h ^ 1ULL << fuzz_below(r, 32);
	case 9:
		*kind = "own pool, small slot";
		return (uint64_t)p->id << 48 | fuzz_below(r, 4) << 32 | fuzz_below(r, 2 * MAX_OBJS);
	case 10:
		*kind = "0 or ~0";
		return fuzz_one_in(r, 2) ? 0 : ~0ULL;
	default:
		*kind = "random";
		return fuzz_next(r);
	}
}

/* --- the fixture: a pool with sentinels, scratch, faulting memory --- */

FIXTURE(rzpool_fuzz)
{
	struct pool pool;
	uint8_t *scratch;
	struct fuzz_mem mem;
	struct fuzz_rng rng;
};

FIXTURE_SETUP(rzpool_fuzz)
{
	/* Sizes of the first sentinels: 1 byte, a page, either side of 32. */
	static const uint32_t extremes[] = { 1, MAXSZ, 31, 33 };
	uint64_t ro[FUZZ_PAGE / 8];
	int i, ret;

	self->mem.base = NULL;
	self->scratch = NULL;
	ret = pool_open(&self->pool);
	if (ret == -ENOENT)
		SKIP(return, RZPOOL_DEV " does not exist: module not loaded (rzpool.ko)");
	ASSERT_EQ(ret, 0);
	FUZZ_SEED(&self->rng);
	/* Before fuzz_mem_init(): nothing may be mapped after it. */
	self->scratch = malloc(SCRATCH_LEN);
	ASSERT_NE(self->scratch, NULL);
	/* The sentinels: random sizes, checksummed pattern. */
	for (i = 0; i < NSENT; i++) {
		uint32_t size = 1 + fuzz_below(&self->rng, MAXSZ);

		if (i < (int)ARRAY_SIZE(extremes))
			size = extremes[i];
		ASSERT_EQ(pool_add(&self->pool, size, fuzz_next(&self->rng)), i);
	}
	/*
	 * The read-only page: first handles of this pool that are not live
	 * (generation i + 1 of slot i: the sentinels are generation 0) and
	 * junk, then valid ALLOC requests (size 1 .. 4096, flags 0).
	 */
	for (i = 0; i < RO_ALLOCS; i++)
		ro[i] = i % 2 ? fuzz_next(&self->rng) :
			(uint64_t)self->pool.id << 48 | (uint64_t)(i + 1) << 32 | i;
	for (; i < (int)(FUZZ_PAGE / 8); i++)
		ro[i] = i % 2 ? fuzz_next(&self->rng) : 1 + fuzz_below(&self->rng, MAXSZ);
	ASSERT_EQ(fuzz_mem_init(&self->mem, ro, sizeof(ro)), 0);
}

FIXTURE_TEARDOWN(rzpool_fuzz)
{
	fuzz_mem_fini(&self->mem);
	free(self->scratch);
	pool_close(&self->pool);
}

/* Every 'Z' number, each direction and boundary size: ENOTTY unless known. */
TEST_F_TIMEOUT(rzpool_fuzz, cmd_sweep, 50)
{
	uint8_t *big;

	big = malloc(FUZZ_SCRATCH_LEN);
	ASSERT_NE(big, NULL);
	fuzz_check_sweep(_metadata, self->pool.fd, 'Z', known, NKNOWN, big,
			 fuzz_next(&self->rng), 5);
	free(big);
	pool_verify(_metadata, &self->pool);
}

/* Random numbers and arguments: ENOTTY, and the pool is untouched. */
TEST_F_TIMEOUT(rzpool_fuzz, random_cmds, 50)
{
	fuzz_check_random_cmds(_metadata, self->pool.fd, 'Z', known, NKNOWN, &self->rng,
			       self->scratch, &self->mem);
	pool_verify(_metadata, &self->pool);
}

/*
 * Faulting pointers, each command: the request itself (NULL, kernel,
 * non-canonical, wrapping, unmapped, PROT_NONE, straddling the end of a
 * mapping, read only for those that write back) and the data buffers of
 * READ and WRITE. Always EFAULT; a failed ALLOC leaks no object, a failed
 * WRITE changes no byte.
 */
TEST_F_TIMEOUT(rzpool_fuzz, bad_pointers, 50)
{
	unsigned long fixed[FUZZ_NFIXED];
	/* The end of the read-only page holds valid ALLOC requests. */
	struct rzpool_alloc *ro_alloc = (void *)(self->mem.ro + FUZZ_PAGE - sizeof(*ro_alloc));
	struct rzpool_alloc *edge_alloc = (void *)fuzz_edge_ptr(&self->mem, sizeof(*edge_alloc));
	struct rzpool_stats *edge_stats = (void *)fuzz_edge_ptr(&self->mem, sizeof(*edge_stats));
	struct pool *p = &self->pool;
	struct fobj *o = &p->objs[1];	/* a full page */
	unsigned long calls;
	size_t i, k;

	fuzz_fixed_ptrs(&self->mem, fixed);
	calls = fuzz_fault_requests(_metadata, p->fd, known, NKNOWN, fixed, ARRAY_SIZE(fixed),
				    &self->mem);
	/* Those that write back fault on a read-only page: ALLOC frees its object. */
	ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_STATS, self->mem.ro), -1);
	ASSERT_EQ(errno, EFAULT);
	ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_COMPACT, self->mem.ro), -1);
	ASSERT_EQ(errno, EFAULT);
	ASSERT_EQ(ro_alloc->flags, 0);
	ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_ALLOC, ro_alloc), -1);
	ASSERT_EQ(errno, EFAULT);
	/* Reading a request from a read-only page is fine: FREE of a dead handle. */
	ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_FREE, self->mem.ro), -1);
	ASSERT_EQ(-errno, pool_expect(p, *(uint64_t *)self->mem.ro, NULL));
	/* Requests that fit exactly before the end of the mapping work. */
	*edge_alloc = (struct rzpool_alloc){ .size = 100 };
	ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_ALLOC, edge_alloc), 0);
	ASSERT_GE(pool_track(p, edge_alloc->handle, 100, NULL), 0);
	ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_STATS, edge_stats), 0);
	ASSERT_EQ(edge_stats->objs, p->nlive);

	/* Data buffers: WRITE reads them, READ writes them. */
	for (i = 0; i < ARRAY_SIZE(fixed); i++, calls += 2) {
		ASSERT_EQ(rz_rw(p->fd, RZPOOL_IOC_WRITE, o->h, 0, fixed[i], o->size), -EFAULT)
			TH_LOG("WRITE from %#lx", fixed[i]);
		ASSERT_EQ(rz_rw(p->fd, RZPOOL_IOC_READ, o->h, 0, fixed[i], o->size), -EFAULT)
			TH_LOG("READ to %#lx", fixed[i]);
	}
	ASSERT_EQ(rz_rw(p->fd, RZPOOL_IOC_READ, o->h, 0, (uintptr_t)self->mem.ro, o->size), -EFAULT);
	for (k = 0; k < o->size; k += 1 + k / 8, calls += 2) {
		/* k bytes mapped of o->size: the write reads none of it into the object. */
		ASSERT_EQ(rz_rw(p->fd, RZPOOL_IOC_WRITE, o->h, 0, fuzz_edge_ptr(&self->mem, k), o->size), -EFAULT)
			TH_LOG("WRITE, %zu bytes mapped", k);
		ASSERT_EQ(rz_rw(p->fd, RZPOOL_IOC_READ, o->h, 0, fuzz_edge_ptr(&self->mem, k), o->size), -EFAULT)
			TH_LOG("READ, %zu bytes mapped", k);
	}
	/* addr + len wraps; huge and zero lengths; offset + len past the object. */
	ASSERT_EQ(rz_rw(p->fd, RZPOOL_IOC_WRITE, o->h, 0, -10UL, 100), -EFAULT);
	ASSERT_EQ(rz_rw(p->fd, RZPOOL_IOC_READ, o->h, 0, -10UL, 100), -EFAULT);
	ASSERT_EQ(rz_write(p->fd, o->h, 0, self->scratch, 0), -EINVAL);
	ASSERT_EQ(rz_write(p->fd, o->h, 0, self->scratch, MAXSZ + 1), -EINVAL);
	ASSERT_EQ(rz_write(p->fd, o->h, 0, self->scratch, UINT32_MAX), -EINVAL);
	ASSERT_EQ(rz_write(p->fd, o->h, UINT32_MAX, self->scratch, 1), -EINVAL);
	ASSERT_EQ(rz_write(p->fd, o->h, UINT32_MAX - 10, self->scratch, 20), -EINVAL);
	ASSERT_EQ(rz_read(p->fd, o->h, o->size, self->scratch, 1), -EINVAL);
	ASSERT_EQ(rz_read(p->fd, o->h, 1, self->scratch, o->size), -EINVAL);
	/* The length is checked before the buffer: EINVAL even with NULL. */
	ASSERT_EQ(rz_rw(p->fd, RZPOOL_IOC_WRITE, o->h, 0, 0, MAXSZ + 1), -EINVAL);
	ASSERT_EQ(rz_rw(p->fd, RZPOOL_IOC_READ, o->h, 0, 0, 0), -EINVAL);
	calls += 13;
	/* State batches: a faulting handle or result array changes no object. */
	for (i = 0; i < ARRAY_SIZE(fixed); i++, calls += 3) {
		struct rzpool_states st = {
			.handles = fixed[i], .results = (uintptr_t)self->scratch, .count = 1,
		};

		ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_MAKE_VOLATILE, &st), -1);
		ASSERT_EQ(errno, EFAULT);
		st.handles = (uintptr_t)&o->h;
		st.results = fixed[i];
		ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_MAKE_VOLATILE, &st), -1);
		ASSERT_EQ(errno, EFAULT);
		ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_MAKE_STABLE, &st), -1);
		ASSERT_EQ(errno, EFAULT);
	}
	{
		struct rzpool_states st = {
			.handles = (uintptr_t)&o->h, .results = (uintptr_t)self->mem.ro, .count = 1,
		};

		ASSERT_EQ(ioctl(p->fd, RZPOOL_IOC_MAKE_VOLATILE, &st), -1);
		ASSERT_EQ(errno, EFAULT);
		calls++;
	}
	/* Still stable: readable (pool_verify below reads every object). */
	ASSERT_EQ(rz_read(p->fd, o->h, 0, self->scratch, o->size), 0);
	TH_LOG("%lu calls", calls);
	ASSERT_TRUE(fuzz_hole_unmapped(&self->mem));
	pool_verify(_metadata, p);
}

/* --- the model fuzzer --- */

enum ubuf_kind { UB_GOOD, UB_RO, UB_EDGE, UB_BAD, UB_WRAP, UB_KINDS };

static const char *const ubuf_names[UB_KINDS] = {
	"good", "read-only", "straddling", "faulting", "wrapping",
};

/* A user data buffer for len bytes, and whether copying from / to it faults. */
struct ubuf {
	uint64_t p;
	enum ubuf_kind kind;
	int bad_read, bad_write;
};

static struct ubuf pick_ubuf(FIXTURE_DATA(rzpool_fuzz) *self, uint32_t len)
{
	struct fuzz_rng *r = &self->rng;
	uint32_t l = len < MAXSZ ? len : MAXSZ;
	struct ubuf u = { .bad_read = 1, .bad_write = 1 };

	switch (fuzz_below(r, 10)) {
	case 0:
		u.kind = UB_RO;
		u.p = (uintptr_t)self->mem.ro + fuzz_below(r, FUZZ_PAGE - l + 1);
		u.bad_read = 0;
		break;
	case 1:	/* fewer bytes mapped than len */
		u.kind = UB_EDGE;
		u.p = fuzz_edge_ptr(&self->mem, fuzz_below(r, l));
		break;
	case 2:
		u.kind = UB_BAD;
		u.p = fuzz_bad_ptr(r, &self->mem);
		break;
	case 3:
		u.kind = UB_WRAP;
		u.p = -1ULL - fuzz_below(r, len ? len : 1);
		break;
	default:
		u.kind = UB_GOOD;
		u.p = (uintptr_t)self->scratch + fuzz_below(r, FUZZ_PAGE);
		u.bad_read = u.bad_write = 0;
		break;
	}
	return u;
}

static uint32_t pick_len(struct fuzz_rng *r, uint32_t size)
{
	switch (fuzz_below(r, 16)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return size + 1;
	case 3:
		return MAXSZ + fuzz_below(r, 2);
	case 4:
		return UINT32_MAX - fuzz_below(r, 2);
	case 5:
		return fuzz_next(r);
	case 6 ... 8:
		return size;
	default:
		return 1 + fuzz_below(r, size);
	}
}

static uint32_t pick_off(struct fuzz_rng *r, uint32_t size, uint32_t len)
{
	switch (fuzz_below(r, 16)) {
	case 0:
		return size;
	case 1:
		return size - 1;
	case 2:
		return UINT32_MAX - fuzz_below(r, 4);
	case 3:
		return fuzz_next(r);
	case 4:		/* one past the end */
		return len <= size ? size - len + 1 : 1;
	case 5 ... 7:
		return 0;
	default:
		return len < size ? fuzz_below(r, size - len + 1) : 0;
	}
}

/* One random READ or WRITE; asserts the model's errno and the data. */
static void fuzz_rw(struct __test_metadata *_metadata, FIXTURE_DATA(rzpool_fuzz) *self,
		    const struct pool *other, int write)
{
	struct fuzz_rng *r = &self->rng;
	struct pool *p = &self->pool;
	const char *hkind;
	uint64_t h = pick_handle(r, p, other, 0, &hkind);
	int idx = -1, herr = pool_expect(p, h, &idx), want, ret;
	uint32_t size = idx >= 0 ? p->objs[idx].size : 1 + fuzz_below(r, MAXSZ);
	uint32_t len = pick_len(r, size), off = pick_off(r, size, len);
	struct ubuf u = pick_ubuf(self, len);
	struct rzpool_rw rw = { .handle = h, .addr = u.p, .offset = off, .len = len };
	unsigned long req;
	int req_bad;

	/* Now and then the request itself straddles or faults. */
	req = fuzz_pick_req(r, &self->mem, &rw, sizeof(rw), &req_bad);
	if (write && u.kind == UB_GOOD && len <= MAXSZ)
		fuzz_fill((void *)u.p, len, fuzz_next(r));

	/*
	 * The driver's order: request, length, then WRITE: buffer, handle,
	 * range; READ: handle, range, buffer.
	 */
	if (req_bad)
		want = EFAULT;
	else if (len == 0 || len > MAXSZ)
		want = EINVAL;
	else if (write && u.bad_read)
		want = EFAULT;
	else if (herr)
		want = -herr;
	else if ((uint64_t)off + len > size)
		want = EINVAL;
	else if (!write && u.bad_write)
		want = EFAULT;
	else
		want = 0;

	ret = ioctl(p->fd, write ? RZPOOL_IOC_WRITE : RZPOOL_IOC_READ, req) ? -errno : 0;
	ASSERT_EQ(ret, -want)
		TH_LOG("%s: %s handle %#llx (object %d, %u bytes), offset %u, len %u, %s buffer %#llx%s",
		       write ? "WRITE" : "READ", hkind, (unsigned long long)h, idx, size, off, len,
		       ubuf_names[u.kind], (unsigned long long)u.p, req_bad ? ", faulting request" : "");
	if (ret)
		return;
	if (write) {
		struct fobj *o = &p->objs[idx];

		memcpy(o->data + off, (void *)u.p, len);
		o->sum = fuzz_hash(o->data, o->size, FUZZ_HASH_INIT);
	} else {
		ASSERT_EQ(memcmp((void *)u.p, p->objs[idx].data + off, len), 0)
			TH_LOG("READ of object %d, offset %u, len %u: wrong data", idx, off, len);
	}
}

/*
 * One random FREE: from a good, read-only, straddling or faulting pointer.
 * The sentinels are never freed.
 */
static void fuzz_free(struct __test_metadata *_metadata, FIXTURE_DATA(rzpool_fuzz) *self,
		      const struct pool *other)
{
	struct fuzz_rng *r = &self->rng;
	struct pool *p = &self->pool;
	const char *hkind;
	uint64_t h = pick_handle(r, p, other, NSENT, &hkind);
	unsigned long arg = (uintptr_t)&h;
	int idx = -1, want, ret, faulting = 0;

	switch (fuzz_below(r, 8)) {
	case 0:
		arg = (uintptr_t)self->mem.ro + fuzz_below(r, FUZZ_PAGE - 7);
		memcpy(&h, (void *)arg, sizeof(h));
		hkind = "read-only";
		break;
	case 1:
		arg = fuzz_edge_ptr(&self->mem, fuzz_below(r, sizeof(h)));
		faulting = 1;
		break;
	case 2:
		arg = fuzz_bad_ptr(r, &self->mem);
		faulting = 1;
		break;
	}
	want = faulting ? EFAULT : -pool_expect(p, h, &idx);
	if (!want && idx < NSENT)
		return;
	ret = ioctl(p->fd, RZPOOL_IOC_FREE, arg) ? -errno : 0;
	ASSERT_EQ(ret, -want) {
		TH_LOG("FREE of %s handle %#llx at %#lx", hkind, (unsigned long long)h, arg);
	}
	if (!ret)
		pool_untrack(p, idx);
}

/* One random ALLOC: sizes, flags and request pointers of every kind. */
static void fuzz_alloc(struct __test_metadata *_metadata, FIXTURE_DATA(rzpool_fuzz) *self)
{
	struct fuzz_rng *r = &self->rng;
	struct pool *p = &self->pool;
	struct rzpool_alloc a = { 0 }, *req = &a;
	uint8_t buf[MAXSZ];
	int want, ret, faulting = 0;

	switch (fuzz_below(r, 8)) {
	case 0:
		a.size = 0;
		break;
	case 1:
		a.size = MAXSZ + 1 + fuzz_below(r, 2) * fuzz_below(r, UINT32_MAX - MAXSZ);
		break;
	default:
		a.size = 1 + fuzz_below(r, MAXSZ);
		break;
	}
	if (fuzz_one_in(r, 8))
		a.flags = fuzz_one_in(r, 2) ? 1U << fuzz_below(r, 32) : (uint32_t)fuzz_next(r) | 1;
	/* Keep the pool churning around CHURN_OBJS objects: else an invalid size. */
	if (p->nlive >= NSENT + CHURN_OBJS && a.size && a.size <= MAXSZ)
		a.size = 0;
	switch (fuzz_below(r, 10)) {
	case 0:	/* read only: read fine, the answer faults */
		req = (void *)(self->mem.ro + 8 * fuzz_below(r, FUZZ_PAGE / 8 - 2));
		break;
	case 1:
		req = (void *)fuzz_edge_ptr(&self->mem, fuzz_below(r, sizeof(a)));
		faulting = 1;
		break;
	case 2:
		req = (void *)fuzz_bad_ptr(r, &self->mem);
		faulting = 1;
		break;
	case 3:
		req = (void *)fuzz_edge_ptr(&self->mem, sizeof(a));
		*req = a;
		break;
	}
	if (faulting)
		want = EFAULT;
	else if (req->flags)
		want = EINVAL;
	else if (req->size == 0)
		want = EINVAL;
	else if (req->size > MAXSZ)
		want = E2BIG;
	else if ((char *)req >= self->mem.ro && (char *)req < self->mem.ro + FUZZ_PAGE)
		want = EFAULT;	/* allocated, then freed when the answer faults */
	else
		want = 0;
	ret = ioctl(p->fd, RZPOOL_IOC_ALLOC, req) ? -errno : 0;
	ASSERT_EQ(ret, -want)
		TH_LOG("ALLOC size %u flags %#x, request at %p", faulting ? 0 : req->size,
		       faulting ? 0 : req->flags, req);
	if (ret)
		return;
	/* A new handle of this pool, no live one, zeroed. */
	ASSERT_EQ(req->handle >> 48, p->id);
	ASSERT_EQ(pool_expect(p, req->handle, NULL), -ENOENT)
		TH_LOG("ALLOC returned live handle %#llx", (unsigned long long)req->handle);
	ASSERT_FALSE(pool_was_freed(p, req->handle))
		TH_LOG("ALLOC returned freed handle %#llx", (unsigned long long)req->handle);
	ASSERT_EQ(rz_read(p->fd, req->handle, 0, buf, req->size), 0);
	ASSERT_TRUE(mem_is_zero(buf, req->size)) TH_LOG("new object of %u bytes not zeroed", req->size);
	fuzz_fill(buf, req->size, fuzz_next(r));
	ASSERT_EQ(rz_write(p->fd, req->handle, 0, buf, req->size), 0);
	ASSERT_GE(pool_track(p, req->handle, req->size, buf), 0);
}

/* COMPACT or STATS, to a good, read-only or faulting pointer. */
static void fuzz_misc(struct __test_metadata *_metadata, FIXTURE_DATA(rzpool_fuzz) *self)
{
	struct fuzz_rng *r = &self->rng;
	struct pool *p = &self->pool;
	struct rzpool_stats st;
	int stats = fuzz_one_in(r, 2), want = 0, ret;
	unsigned long arg = (uintptr_t)&st;

	switch (fuzz_below(r, 4)) {
	case 0:
		arg = (uintptr_t)self->mem.ro;
		want = EFAULT;
		break;
	case 1:
		arg = fuzz_edge_ptr(&self->mem, fuzz_below(r, stats ? sizeof(st) : 8));
		want = EFAULT;
		break;
	case 2:
		arg = fuzz_bad_ptr(r, &self->mem);
		want = EFAULT;
		break;
	}
	ret = ioctl(p->fd, stats ? RZPOOL_IOC_STATS : RZPOOL_IOC_COMPACT, arg) ? -errno : 0;
	ASSERT_EQ(ret, -want) TH_LOG("%s to %#lx", stats ? "STATS" : "COMPACT", arg);
	if (!ret && stats) {
		ASSERT_EQ(st.objs, p->nlive);
		ASSERT_EQ(st.bytes, p->bytes);
	}
}

/*
 * Random requests of every command, each checked against a model of the
 * driver: the errno of bad lengths, offsets, handles, flags and pointers,
 * and the data of every READ against a shadow copy. Objects come and go
 * (so compaction has holes to fill); COMPACT moves the sentinels around.
 */
TEST_F_TIMEOUT(rzpool_fuzz, model, 50)
{
	struct pool other;
	struct fuzz_budget b;
	unsigned long ops[5] = { 0 };
	int i;

	ASSERT_EQ(pool_open(&other), 0);
	ASSERT_NE(other.id, self->pool.id);
	for (i = 0; i < 16; i++) {
		ASSERT_GE(pool_add(&other, 1 + fuzz_below(&self->rng, MAXSZ), fuzz_next(&self->rng)), 0);
	}
	/* Objects to free and reallocate, besides the sentinels. */
	for (i = 0; i < 256; i++) {
		ASSERT_GE(pool_add(&self->pool, 1 + fuzz_below(&self->rng, MAXSZ), fuzz_next(&self->rng)), 0);
	}

	fuzz_budget_init(&b, 8, 80000);
	while (fuzz_more(&b)) {
		unsigned int op = fuzz_below(&self->rng, 32);

		if (op < 12) {
			fuzz_rw(_metadata, self, &other, 1);
			ops[0]++;
		} else if (op < 24) {
			fuzz_rw(_metadata, self, &other, 0);
			ops[1]++;
		} else if (op < 28) {
			fuzz_free(_metadata, self, &other);
			ops[2]++;
		} else if (op < 31) {
			fuzz_alloc(_metadata, self);
			ops[3]++;
		} else {
			fuzz_misc(_metadata, self);
			ops[4]++;
		}
		b.calls++;
		if (b.calls % 4096 == 0) {
			pool_verify(_metadata, &self->pool);
			b.calls += self->pool.nlive + 1;
		}
	}
	TH_LOG("%lu calls in %.2f s: %lu WRITE, %lu READ, %lu FREE, %lu ALLOC, %lu COMPACT/STATS; %d objects live",
	       b.calls, fuzz_elapsed(&b), ops[0], ops[1], ops[2], ops[3], ops[4], self->pool.nlive);
	ASSERT_TRUE(fuzz_hole_unmapped(&self->mem));
	pool_verify(_metadata, &other);
	pool_close(&other);
	/* Compacted once more, everything is still there. */
	ASSERT_EQ(ioctl(self->pool.fd, RZPOOL_IOC_COMPACT, &(uint64_t){ 0 }), 0);
	pool_verify(_metadata, &self->pool);
}

/*
 * Forged handles: each field of a live handle bumped (pool id bits,
 * generation, slot), another pool's handles both ways, and random ones.
 * Another pool's id is EINVAL, this pool's is ENOENT unless it names a live
 * object; nothing forged frees, reads or writes anything.
 */
TEST_F_TIMEOUT(rzpool_fuzz, forged_handles, 50)
{
	static const uint64_t gens[] = { 1, 2, 3, 0x100, 0x8000, 0xffff };
	struct pool *p = &self->pool, other;
	struct pool *pools[2] = { p, &other };
	uint8_t buf[MAXSZ];
	struct fuzz_budget b;
	int i, j, w;

	ASSERT_EQ(pool_open(&other), 0);
	ASSERT_NE(other.id, p->id);
	for (i = 0; i < 32; i++) {
		ASSERT_GE(pool_add(&other, 1 + fuzz_below(&self->rng, MAXSZ), fuzz_next(&self->rng)), 0);
	}
	fuzz_budget_init(&b, 5, 60000);

/* Tries forged handle f on pool q: READ, WRITE, and FREE if it must fail. */
#define TRY_FORGED(q, f, what) do { \
	uint64_t __f = (f); \
	int __idx = -1, __e = pool_expect(q, __f, &__idx); \
	struct fobj *__o = __idx >= 0 ? &(q)->objs[__idx] : NULL; \
	ASSERT_EQ(rz_read((q)->fd, __f, 0, buf, 1), __e) \
		TH_LOG("READ of %#llx (%s) on pool %u", (unsigned long long)__f, what, (q)->id); \
	/* A live object is rewritten with what it holds. */ \
	ASSERT_EQ(rz_write((q)->fd, __f, 0, __o ? __o->data : buf, 1), __e) \
		TH_LOG("WRITE of %#llx (%s) on pool %u", (unsigned long long)__f, what, (q)->id); \
	if (__e) { \
		ASSERT_EQ(rz_free((q)->fd, __f), __e) \
			TH_LOG("FREE of %#llx (%s) on pool %u", (unsigned long long)__f, what, (q)->id); \
	} \
	b.calls += 3; \
} while (0)

	for (w = 0; w < 2; w++) {
		struct pool *q = pools[w], *o = pools[!w];

		for (i = 0; i < q->n && fuzz_more(&b); i++) {
			uint64_t h = q->objs[i].h, slot = (uint32_t)h;

			if (!q->objs[i].live)
				continue;
			for (j = 0; j < 16; j++)
				TRY_FORGED(q, h ^ 1ULL << (48 + j), "pool id bit");
			for (j = 0; j < (int)ARRAY_SIZE(gens); j++)
				TRY_FORGED(q, (h & ~(0xffffULL << 32)) |
					      (((h >> 32) + gens[j]) & 0xffff) << 32, "generation");
			for (j = 0; j < 32; j++)
				TRY_FORGED(q, (h & ~0xffffffffULL) | (slot ^ 1ULL << j), "slot bit");
			TRY_FORGED(q, (h & ~0xffffffffULL) | (uint32_t)(slot + 1), "slot + 1");
			TRY_FORGED(q, (h & ~0xffffffffULL) | (uint32_t)(slot - 1), "slot - 1");
			/* This handle on the other pool, and with the other pool's id. */
			TRY_FORGED(o, h, "other pool's");
			TRY_FORGED(q, (h & ((1ULL << 48) - 1)) | (uint64_t)o->id << 48, "other pool's id");
		}
	}
	TH_LOG("%lu calls on field-bumped handles", b.calls);
	/* Then random ones, until the budget runs out. */
	while (fuzz_more(&b)) {
		uint64_t f = fuzz_next(&self->rng);
		struct pool *q = pools[fuzz_below(&self->rng, 2)];

		switch (fuzz_below(&self->rng, 4)) {
		case 0:	/* this pool's id */
			f = (f & ((1ULL << 48) - 1)) | (uint64_t)q->id << 48;
			break;
		case 1:	/* this pool's id, a low slot, a low generation */
			f = (uint64_t)q->id << 48 | (f >> 32 & 7) << 32 | (f & 1023);
			break;
		}
		TRY_FORGED(q, f, "random");
	}
#undef TRY_FORGED
	TH_LOG("%lu calls in %.2f s", b.calls, fuzz_elapsed(&b));
	pool_verify(_metadata, &other);
	pool_close(&other);
	pool_verify(_metadata, p);
}

/*
 * Stale handles: objects are allocated and freed in cycles, their slots
 * reused at once (each reuse a new generation). Every freed handle, old or
 * recent, gets ENOENT from FREE, READ and WRITE; new objects are zeroed.
 */
TEST_F_TIMEOUT(rzpool_fuzz, stale_handles, 50)
{
	struct pool *p = &self->pool;
	uint8_t buf[MAXSZ];
	struct fuzz_budget b;
	unsigned long cycles = 0;
	int idx[128], n, i;

	fuzz_budget_init(&b, 5, 60000);
	/* At most 300 cycles: a slot's 16-bit generation never wraps here. */
	while (fuzz_more(&b) && cycles < 300) {
		n = 1 + fuzz_below(&self->rng, 128);
		for (i = 0; i < n; i++) {
			uint32_t size = 1 + fuzz_below(&self->rng, MAXSZ);
			uint64_t h = 0;

			ASSERT_EQ(rz_alloc(p->fd, size, &h), 0);
			ASSERT_EQ(pool_expect(p, h, NULL), -ENOENT)
				TH_LOG("cycle %lu: ALLOC returned live handle %#llx", cycles, (unsigned long long)h);
			ASSERT_FALSE(pool_was_freed(p, h))
				TH_LOG("cycle %lu: ALLOC returned freed handle %#llx", cycles, (unsigned long long)h);
			ASSERT_EQ(rz_read(p->fd, h, 0, buf, size), 0);
			ASSERT_TRUE(mem_is_zero(buf, size));
			fuzz_fill(buf, size, h);
			ASSERT_EQ(rz_write(p->fd, h, 0, buf, size), 0);
			idx[i] = pool_track(p, h, size, buf);
			ASSERT_GE(idx[i], 0);
		}
		b.calls += 3 * n;
		/* Free in a random order. */
		for (i = n - 1; i > 0; i--) {
			int j = fuzz_below(&self->rng, i + 1), t = idx[i];

			idx[i] = idx[j];
			idx[j] = t;
		}
		for (i = 0; i < n; i++) {
			uint64_t h = p->objs[idx[i]].h;

			ASSERT_EQ(pool_del(p, idx[i]), 0);
			ASSERT_EQ(rz_free(p->fd, h), -ENOENT) TH_LOG("double free of %#llx", (unsigned long long)h);
			ASSERT_EQ(rz_read(p->fd, h, 0, buf, 1), -ENOENT);
			ASSERT_EQ(rz_write(p->fd, h, 0, buf, 1), -ENOENT);
		}
		b.calls += 4 * n;
		/* Older stale handles too, whose slots were reused since. */
		for (i = 0; i < 64; i++) {
			unsigned long have = p->nstale < NSTALE ? p->nstale : NSTALE;
			uint64_t h = p->stale[fuzz_below(&self->rng, have)];

			ASSERT_EQ(pool_expect(p, h, NULL), -ENOENT)
				TH_LOG("stale handle %#llx is live again", (unsigned long long)h);
			ASSERT_EQ(rz_free(p->fd, h), -ENOENT) TH_LOG("stale %#llx", (unsigned long long)h);
			ASSERT_EQ(rz_read(p->fd, h, 0, buf, 1), -ENOENT) TH_LOG("stale %#llx", (unsigned long long)h);
		}
		b.calls += 128;
		cycles++;
	}
	TH_LOG("%lu cycles, %lu handles freed, %lu calls in %.2f s", cycles, p->nstale,
	       b.calls, fuzz_elapsed(&b));
	pool_verify(_metadata, p);
}

/* --- double free from racing threads --- */

#define DF_OBJS 256
#define DF_NEW 64

struct df_round {
	int fd;
	int n;
	uint64_t h[DF_OBJS];
	uint32_t size[DF_OBJS];
	uint8_t *data[DF_OBJS];
	unsigned int succ[DF_OBJS];	/* frees that worked, per handle */
	pthread_barrier_t start;
	int freers_left;
	uint64_t newh[DF_NEW];
	uint32_t newsize[DF_NEW];
	int nnew;
};

struct df_thread {
	struct df_round *r;
	int id;
	uint64_t seed;
	unsigned long calls, enoent, reads_ok;
	unsigned long bad;
	const char *bad_op;
	int bad_ret;
};

static void df_bad(struct df_thread *t, const char *op, int ret)
{
	if (!t->bad++) {
		t->bad_op = op;
		t->bad_ret = ret;
	}
}

/* Frees every handle once. */
static void *df_freer(void *arg)
{
	struct df_thread *t = arg;
	struct df_round *r = t->r;
	int i, ret;

	pthread_barrier_wait(&r->start);
	for (i = 0; i < r->n; i++) {
		/* Thread 0 forwards, thread 1 backwards: they meet in the middle. */
		int k = t->id ? r->n - 1 - i : i;

		ret = rz_free(r->fd, r->h[k]);
		t->calls++;
		if (!ret)
			__atomic_fetch_add(&r->succ[k], 1, __ATOMIC_RELAXED);
		else if (ret == -ENOENT)
			t->enoent++;
		else
			df_bad(t, "FREE", ret);
	}
	__atomic_fetch_sub(&r->freers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Reads the handles being freed: all of an object's data, or ENOENT. */
static void *df_reader(void *arg)
{
	struct df_thread *t = arg;
	struct df_round *r = t->r;
	struct fuzz_rng rng = { .s = t->seed | 1 };
	uint8_t buf[MAXSZ];
	int ret;

	pthread_barrier_wait(&r->start);
	while (__atomic_load_n(&r->freers_left, __ATOMIC_ACQUIRE)) {
		int k = fuzz_below(&rng, r->n);

		ret = rz_read(r->fd, r->h[k], 0, buf, r->size[k]);
		t->calls++;
		if (!ret) {
			t->reads_ok++;
			if (memcmp(buf, r->data[k], r->size[k]))
				df_bad(t, "READ data", 0);
		} else if (ret == -ENOENT) {
			t->enoent++;
		} else {
			df_bad(t, "READ", ret);
		}
	}
	return NULL;
}

/* Allocates while the others free: the slots freed are reused at once. */
static void *df_allocator(void *arg)
{
	struct df_thread *t = arg;
	struct df_round *r = t->r;
	struct fuzz_rng rng = { .s = t->seed | 1 };
	int ret;

	pthread_barrier_wait(&r->start);
	while (r->nnew < DF_NEW && __atomic_load_n(&r->freers_left, __ATOMIC_ACQUIRE)) {
		uint32_t size = 1 + fuzz_below(&rng, MAXSZ);

		ret = rz_alloc(r->fd, size, &r->newh[r->nnew]);
		t->calls++;
		if (ret) {
			df_bad(t, "ALLOC", ret);
			break;
		}
		r->newsize[r->nnew++] = size;
	}
	return NULL;
}

/*
 * Two threads free the same set of handles (one forwards, one backwards)
 * while a third reads them and a fourth allocates into the freed slots:
 * exactly one FREE of each handle works, the other gets ENOENT; a READ sees
 * the object's own data or ENOENT; the new objects have handles of their
 * own and are zeroed.
 */
TEST_F_TIMEOUT(rzpool_fuzz, double_free_race, 50)
{
	void *(*const fns[4])(void *) = { df_freer, df_freer, df_reader, df_allocator };
	struct pool *p = &self->pool;
	unsigned long rounds = 0, enoent = 0, reads_ok = 0, news = 0;
	struct df_round *r;
	struct fuzz_budget b;
	uint8_t *data, buf[MAXSZ];
	int i, j;

	r = calloc(1, sizeof(*r));
	data = malloc((size_t)DF_OBJS * MAXSZ);
	ASSERT_NE(r, NULL);
	ASSERT_NE(data, NULL);
	fuzz_budget_init(&b, 8, 200000);
	while (fuzz_more(&b) && rounds < 200) {
		struct df_thread t[4];
		pthread_t tid[4];

		memset(r, 0, sizeof(*r));
		r->fd = p->fd;
		r->n = 16 + fuzz_below(&self->rng, DF_OBJS - 15);
		for (i = 0; i < r->n; i++) {
			r->size[i] = 1 + fuzz_below(&self->rng, MAXSZ);
			r->data[i] = data + (size_t)i * MAXSZ;
			fuzz_fill(r->data[i], r->size[i], fuzz_next(&self->rng));
			ASSERT_EQ(rz_alloc(p->fd, r->size[i], &r->h[i]), 0);
			ASSERT_EQ(rz_write(p->fd, r->h[i], 0, r->data[i], r->size[i]), 0);
		}
		r->freers_left = 2;
		ASSERT_EQ(pthread_barrier_init(&r->start, NULL, 4), 0);
		for (i = 0; i < 4; i++) {
			t[i] = (struct df_thread){ .r = r, .id = i, .seed = fuzz_next(&self->rng) };
			ASSERT_EQ(pthread_create(&tid[i], NULL, fns[i], &t[i]), 0);
		}
		for (i = 0; i < 4; i++)
			pthread_join(tid[i], NULL);
		pthread_barrier_destroy(&r->start);
		for (i = 0; i < 4; i++) {
			ASSERT_EQ(t[i].bad, 0)
				TH_LOG("round %lu, thread %d: %s gave %d", rounds, i, t[i].bad_op, t[i].bad_ret);
			enoent += t[i].enoent;
			reads_ok += t[i].reads_ok;
			b.calls += t[i].calls;
		}
		for (i = 0; i < r->n; i++) {
			ASSERT_EQ(r->succ[i], 1)
				TH_LOG("round %lu: handle %#llx freed %u times", rounds,
				       (unsigned long long)r->h[i], r->succ[i]);
		}
		/* The new objects: handles of their own, zeroed, freed once. */
		for (j = 0; j < r->nnew; j++) {
			for (i = 0; i < r->n; i++) {
				ASSERT_NE(r->newh[j], r->h[i]) TH_LOG("freed handle %#llx handed out again",
								      (unsigned long long)r->h[i]);
			}
			for (i = 0; i < j; i++) {
				ASSERT_NE(r->newh[j], r->newh[i]);
			}
			ASSERT_EQ(rz_read(p->fd, r->newh[j], 0, buf, r->newsize[j]), 0);
			ASSERT_TRUE(mem_is_zero(buf, r->newsize[j]));
		}
		for (j = 0; j < r->nnew; j++) {
			ASSERT_EQ(rz_free(p->fd, r->newh[j]), 0);
			ASSERT_EQ(rz_free(p->fd, r->newh[j]), -ENOENT);
		}
		for (i = 0; i < r->n; i++)
			p->stale[p->nstale++ % NSTALE] = r->h[i];
		news += r->nnew;
		b.calls += 2 * r->n + 3 * r->nnew;
		rounds++;
	}
	TH_LOG("%lu rounds, %lu calls in %.2f s: %lu ENOENT, %lu reads of live objects, %lu allocated meanwhile",
	       rounds, b.calls, fuzz_elapsed(&b), enoent, reads_ok, news);
	free(data);
	free(r);
	pool_verify(_metadata, p);
}

/* --- close racing ioctls --- */

#define CR_OBJS 64

/* What the racing thread allocated: live until it frees them. */
struct cr_state {
	uint64_t h[CR_OBJS];
	uint32_t size[CR_OBJS];
	uint64_t seed[CR_OBJS];
	int written[CR_OBJS];
	int n;
	int base;		/* objects the test put in the pool before */
};

static void *cr_thread(void *arg)
{
	struct fuzz_race *r = arg;
	struct cr_state *s = r->priv;
	struct fuzz_rng rng = { .s = r->seed | 1 };
	uint8_t buf[MAXSZ], want[MAXSZ];
	struct rzpool_stats st;
	int ret, k;

	while (!r->stop) {
		switch (fuzz_below(&rng, 8)) {
		case 0 ... 3:	/* allocate, write, read back */
			if (s->n == CR_OBJS)
				break;
			k = s->n;
			s->size[k] = 1 + fuzz_below(&rng, MAXSZ);
			s->seed[k] = fuzz_next(&rng);
			s->written[k] = 0;
			ret = rz_alloc(r->fd, s->size[k], &s->h[k]);
			fuzz_race_note(r, "ALLOC", ret, 0);
			if (ret)
				break;
			s->n++;
			fuzz_fill(want, s->size[k], s->seed[k]);
			ret = rz_write(r->fd, s->h[k], 0, want, s->size[k]);
			fuzz_race_note(r, "WRITE", ret, 0);
			s->written[k] = !ret;
			ret = rz_read(r->fd, s->h[k], 0, buf, s->size[k]);
			fuzz_race_note(r, "READ", ret, 0);
			if (!ret && (s->written[k] ? memcmp(buf, want, s->size[k]) :
						      !mem_is_zero(buf, s->size[k])))
				fuzz_race_corrupt(r, "READ data");
			break;
		case 4 ... 5:
			if (!s->n)
				break;
			ret = rz_free(r->fd, s->h[s->n - 1]);
			fuzz_race_note(r, "FREE", ret, 0);
			if (!ret)
				s->n--;
			break;
		case 6:
			ret = ioctl(r->fd, RZPOOL_IOC_COMPACT, &(uint64_t){ 0 }) ? -errno : 0;
			fuzz_race_note(r, "COMPACT", ret, 0);
			break;
		default:
			ret = rz_stats(r->fd, &st);
			fuzz_race_note(r, "STATS", ret, 0);
			if (!ret && st.objs != (uint64_t)(s->base + s->n))
				fuzz_race_corrupt(r, "STATS objs");
			break;
		}
	}
	return NULL;
}

/* The pool of one round, and where its objects come from. */
struct cr_round {
	struct fuzz_rng *rng;
	struct pool q;
};

/* A new pool with a few objects, for the thread. */
static void cr_open(struct __test_metadata *_metadata, struct fuzz_race *r, void *ctx)
{
	struct cr_round *c = ctx;
	struct cr_state *s = r->priv;
	int i;

	ASSERT_EQ(pool_open(&c->q), 0);
	for (i = 0; i < 8; i++) {
		ASSERT_GE(pool_add(&c->q, 1 + fuzz_below(c->rng, MAXSZ), fuzz_next(c->rng)), 0);
	}
	memset(s, 0, sizeof(*s));
	s->base = c->q.nlive;
	r->fd = c->q.fd;
}

/* q.fd is closed or is keep: checks the pool through keep. */
static void cr_done(struct __test_metadata *_metadata, struct fuzz_race *r, int keep, void *ctx)
{
	struct cr_round *c = ctx;
	struct cr_state *s = r->priv;
	uint8_t buf[MAXSZ], want[MAXSZ];
	int i;

	c->q.fd = keep;
	if (keep >= 0) {
		for (i = 0; i < s->n; i++) {
			ASSERT_EQ(rz_read(keep, s->h[i], 0, buf, s->size[i]), 0);
			if (s->written[i]) {
				fuzz_fill(want, s->size[i], s->seed[i]);
				ASSERT_EQ(memcmp(buf, want, s->size[i]), 0);
			} else {
				ASSERT_TRUE(mem_is_zero(buf, s->size[i]));
			}
			ASSERT_GE(pool_track(&c->q, s->h[i], s->size[i], buf), 0);
		}
		pool_verify(_metadata, &c->q);
	}
	pool_close(&c->q);
}

/*
 * close() racing ALLOC/WRITE/READ/FREE/COMPACT/STATS on a pool: the only
 * fd (the pool is destroyed under the thread), the fd while a dup keeps the
 * pool, or the dup while the fd stays. Every call works or fails with
 * EBADF; a surviving pool holds exactly the objects it should, intact.
 */
TEST_F_TIMEOUT(rzpool_fuzz, close_race, 50)
{
	static const struct fuzz_close_race cr = {
		.secs = 6, .rounds = 300, .max_spin = 48,
		.thread = cr_thread, .open = cr_open, .done = cr_done,
	};
	struct cr_round c = { .rng = &self->rng };
	struct cr_state *s;

	s = malloc(sizeof(*s));
	ASSERT_NE(s, NULL);
	fuzz_close_races(_metadata, &cr, &self->rng, s, &c);
	free(s);
	pool_verify(_metadata, &self->pool);
}

TEST_HARNESS_MAIN
