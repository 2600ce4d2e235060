// SPDX-License-Identifier: GPL-2.0
/* Copyright (C) 2026 The rmm authors. */
/*
 * Fuzz selftests for rmirror.ko. Each test mirrors a range holding a known
 * pattern (between two PROT_NONE guard pages); whatever the test does, the
 * range must read back intact at the end, by the CPU and through the
 * device.
 *
 * - unknown ioctl numbers (a sweep of 'M' and random ones): ENOTTY;
 * - faulting user pointers for every request and data buffer: EFAULT;
 * - a model of the driver's checks predicts the errno of random device
 *   reads, writes and snapshots in, across and outside the mirrored range,
 *   unaligned and overflowing, from and to buffers of every kind;
 * - bad ranges to mirror: EINVAL for their shape, EFAULT where unmapped,
 *   and a failed setup leaves nothing behind;
 * - close() racing device accesses: success or EBADF.
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
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../rmm_selftest.h"
#include "../rmm_fuzz.h"
#include "rmirror_ioctl.h"

#define NP 32				/* pages mirrored */
#define MLEN (NP * FUZZ_PAGE)
#define MAX_RW RMIRROR_MAX_RW
#define SNAP_MAX (RMIRROR_MAX_LEN / FUZZ_PAGE)	/* the most pages one SNAPSHOT takes */
#define SCRATCH_LEN (MAX_RW + 2 * FUZZ_PAGE)
#define FLAG_BITS (RMIRROR_VALID | RMIRROR_WRITE | RMIRROR_ACCESSED | RMIRROR_DIRTY)

static const unsigned int known[] = {
	RMIRROR_IOC_MIRROR, RMIRROR_IOC_READ, RMIRROR_IOC_WRITE,
	RMIRROR_IOC_SNAPSHOT, RMIRROR_IOC_STATS, RMIRROR_IOC_INVALIDATE,
	RMIRROR_IOC_AGE, RMIRROR_IOC_YOUNG,
};
#define NKNOWN ((int)ARRAY_SIZE(known))

/* Every snapshot byte uses only the documented flag bits. */
static int flags_ok(const uint8_t *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (f[i] & ~FLAG_BITS)
			return 0;
	return 1;
}

FIXTURE(rmirror_fuzz)
{
	int fd;
	char *map;		/* a guard page, the mirrored range, a guard page */
	char *mem;		/* the mirrored range: NP pages of pattern */
	char *golden;		/* what mem holds */
	uint64_t sum;		/* its checksum */
	char *scratch;
	struct fuzz_mem fm;	/* its read-only part is a copy of golden */
	struct fuzz_rng rng;
};

FIXTURE_SETUP(rmirror_fuzz)
{
	self->map = NULL;
	self->golden = NULL;
	self->scratch = NULL;
	self->fm.base = NULL;
	self->fd = open(RMIRROR_DEV, O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, RMIRROR_DEV " does not exist: module not loaded (rmirror.ko)");
	ASSERT_GE(self->fd, 0);
	FUZZ_SEED(&self->rng);
	/* Everything mapped before fuzz_mem_init(): nothing may be after it. */
	self->map = mmap(NULL, MLEN + 2 * FUZZ_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(self->map, MAP_FAILED);
	self->mem = self->map + FUZZ_PAGE;
	ASSERT_EQ(mprotect(self->mem, MLEN, PROT_READ | PROT_WRITE), 0);
	self->golden = malloc(MLEN);
	self->scratch = malloc(SCRATCH_LEN);
	ASSERT_NE(self->golden, NULL);
	ASSERT_NE(self->scratch, NULL);
	fuzz_fill(self->golden, MLEN, fuzz_next(&self->rng));
	memcpy(self->mem, self->golden, MLEN);
	self->sum = fuzz_hash(self->golden, MLEN, FUZZ_HASH_INIT);
	ASSERT_EQ(fuzz_mem_init(&self->fm, self->golden, MLEN), 0);
	ASSERT_EQ(dev_mirror(self->fd, self->mem, MLEN), NP);
}

FIXTURE_TEARDOWN(rmirror_fuzz)
{
	if (self->fd >= 0)
		close(self->fd);
	fuzz_mem_fini(&self->fm);
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, MLEN + 2 * FUZZ_PAGE);
	free(self->golden);
	free(self->scratch);
}

/*
 * The mirrored range holds its pattern, read by the CPU and by the device
 * through fd, and fd's counters describe it.
 */
static void verify(struct __test_metadata *_metadata, FIXTURE_DATA(rmirror_fuzz) *self, int fd)
{
	struct rmirror_stats st;
	uint8_t snap[NP];

	ASSERT_EQ(fuzz_hash(self->mem, MLEN, FUZZ_HASH_INIT), self->sum)
		TH_LOG("the mirrored range changed");
	ASSERT_EQ(memcmp(self->mem, self->golden, MLEN), 0);
	memset(self->scratch, 0, MLEN);
	ASSERT_EQ(dev_read(fd, self->mem, self->scratch, MLEN), 0);
	ASSERT_EQ(memcmp(self->scratch, self->golden, MLEN), 0)
		TH_LOG("a device read of the mirrored range differs");
	ASSERT_EQ(dev_snapshot(fd, self->mem, snap, NP), 0);
	ASSERT_TRUE(flags_ok(snap, NP));
	ASSERT_EQ(dev_stats(fd, &st), 0);
	ASSERT_EQ(st.start, (uintptr_t)self->mem);
	ASSERT_EQ(st.end, (uintptr_t)self->mem + MLEN);
	ASSERT_LE(st.mirrored, NP);
	ASSERT_EQ(st.released, 0);
}

/* Every 'M' number, each direction and boundary size: ENOTTY unless known. */
TEST_F_TIMEOUT(rmirror_fuzz, cmd_sweep, 50)
{
	fuzz_check_sweep(_metadata, self->fd, 'M', known, NKNOWN, self->scratch,
			 fuzz_next(&self->rng), 5);
	verify(_metadata, self, self->fd);
}

/* Random numbers and arguments: ENOTTY, and the mirror is untouched. */
TEST_F_TIMEOUT(rmirror_fuzz, random_cmds, 50)
{
	fuzz_check_random_cmds(_metadata, self->fd, 'M', known, NKNOWN, &self->rng,
			       self->scratch, &self->fm);
	verify(_metadata, self, self->fd);
}

/*
 * Faulting pointers: every request (NULL, kernel, non-canonical, wrapping,
 * unmapped, PROT_NONE, straddling the end of a mapping, read only for
 * STATS), and the buffers of READ, WRITE and SNAPSHOT. Always EFAULT; a
 * failed WRITE changes nothing.
 */
TEST_F_TIMEOUT(rmirror_fuzz, bad_pointers, 50)
{
	unsigned long fixed[FUZZ_NFIXED];
	static const uint64_t lens[] = { 1, 100, FUZZ_PAGE, MLEN };
	struct rmirror_rw *edge_rw = (void *)fuzz_edge_ptr(&self->fm, sizeof(*edge_rw));
	struct rmirror_rw *ro_rw;
	unsigned long calls;
	char *mem = self->mem;
	size_t i, k, l;

	fuzz_fixed_ptrs(&self->fm, fixed);
	calls = fuzz_fault_requests(_metadata, self->fd, known, NKNOWN, fixed, ARRAY_SIZE(fixed),
				    &self->fm);
	/* STATS writes back: a read-only page faults. */
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_STATS, self->fm.ro), -1);
	ASSERT_EQ(errno, EFAULT);
	/* Requests are only read: from a read-only page they are checked as usual. */
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_MIRROR, self->fm.ro), -1);
	ASSERT_EQ(errno, EBUSY);
	for (i = 0; i < MLEN / sizeof(*ro_rw); i++) {
		ro_rw = (struct rmirror_rw *)self->fm.ro + i;
		if (ro_rw->len && ro_rw->len <= MAX_RW)
			continue;
		ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_READ, ro_rw), -1);
		ASSERT_EQ(errno, EINVAL);
		calls++;
		break;
	}
	/* A request that fits exactly before the fault works. */
	*edge_rw = (struct rmirror_rw){
		.addr = (uintptr_t)mem, .buf = (uintptr_t)self->scratch, .len = MLEN,
	};
	ASSERT_EQ(ioctl(self->fd, RMIRROR_IOC_READ, edge_rw), 0);
	ASSERT_EQ(memcmp(self->scratch, self->golden, MLEN), 0);

	/* Data buffers: READ and SNAPSHOT write them, WRITE reads them. */
	for (i = 0; i < ARRAY_SIZE(fixed); i++) {
		for (l = 0; l < ARRAY_SIZE(lens); l++, calls += 2) {
			ASSERT_EQ(dev_rw(self->fd, RMIRROR_IOC_READ, mem, (void *)fixed[i], lens[l]), -EFAULT)
				TH_LOG("READ of %zu bytes to %#lx", (size_t)lens[l], fixed[i]);
			ASSERT_EQ(dev_rw(self->fd, RMIRROR_IOC_WRITE, mem, (void *)fixed[i], lens[l]), -EFAULT)
				TH_LOG("WRITE of %zu bytes from %#lx", (size_t)lens[l], fixed[i]);
		}
		ASSERT_EQ(dev_snapshot(self->fd, mem, (void *)fixed[i], NP), -EFAULT)
			TH_LOG("SNAPSHOT to %#lx", fixed[i]);
		calls++;
	}
	ASSERT_EQ(dev_read(self->fd, mem, self->fm.ro, 1), -EFAULT);
	ASSERT_EQ(dev_snapshot(self->fd, mem, self->fm.ro, 1), -EFAULT);
	/* Reading from a read-only buffer is fine: the copy of the pattern. */
	ASSERT_EQ(dev_write(self->fd, mem, self->fm.ro, MLEN), 0);
	/* Straddling buffers: k bytes mapped of more. */
	for (k = 0; k < FUZZ_PAGE; k += 1 + k / 4, calls += 2) {
		ASSERT_EQ(dev_rw(self->fd, RMIRROR_IOC_WRITE, mem + 7,
				 (void *)fuzz_edge_ptr(&self->fm, k), k + 1), -EFAULT)
			TH_LOG("WRITE, %zu of %zu bytes mapped", k, k + 1);
		ASSERT_EQ(dev_rw(self->fd, RMIRROR_IOC_READ, mem + 7,
				 (void *)fuzz_edge_ptr(&self->fm, k), k + 1), -EFAULT)
			TH_LOG("READ, %zu of %zu bytes mapped", k, k + 1);
	}
	for (k = 0; k < NP; k++, calls++) {
		ASSERT_EQ(dev_snapshot(self->fd, mem, (void *)fuzz_edge_ptr(&self->fm, k), k + 1), -EFAULT);
	}
	/* buf + len wraps around. */
	ASSERT_EQ(dev_rw(self->fd, RMIRROR_IOC_READ, mem, (void *)-10UL, 100), -EFAULT);
	ASSERT_EQ(dev_rw(self->fd, RMIRROR_IOC_WRITE, mem, (void *)-10UL, 100), -EFAULT);
	ASSERT_EQ(dev_snapshot(self->fd, mem, (void *)-10UL, NP), -EFAULT);
	calls += 8;
	TH_LOG("%lu calls", calls);
	ASSERT_TRUE(fuzz_hole_unmapped(&self->fm));
	verify(_metadata, self, self->fd);
}

/* --- the model fuzzer --- */

enum ubuf_kind { UB_GOOD, UB_SELF, UB_RO, UB_EDGE, UB_BAD, UB_WRAP, UB_KINDS };

static const char *const ubuf_names[UB_KINDS] = {
	"good", "the mirrored range", "read-only", "straddling", "faulting", "wrapping",
};

/*
 * A user buffer: how many bytes from p the kernel can read, and write,
 * before it faults.
 */
struct ubuf {
	uint64_t p;
	enum ubuf_kind kind;
	uint64_t readable, writable;
};

/* A buffer of which only the first `valid` bytes are mapped. */
static struct ubuf edge_ubuf(const struct fuzz_mem *m, uint64_t valid)
{
	return (struct ubuf){
		.p = fuzz_edge_ptr(m, valid), .kind = UB_EDGE, .readable = valid, .writable = valid,
	};
}

/* A buffer whose first byte faults. */
static struct ubuf bad_ubuf(struct fuzz_rng *r, const struct fuzz_mem *m)
{
	return (struct ubuf){ .p = fuzz_bad_ptr(r, m), .kind = UB_BAD };
}

/*
 * A buffer for a transfer of len bytes at addr (in_range: all of it in the
 * mirror). Whatever a WRITE can read from it without faulting is the
 * pattern of addr, so a successful WRITE changes nothing.
 */
static struct ubuf pick_ubuf(FIXTURE_DATA(rmirror_fuzz) *self, uint64_t addr, uint64_t len,
			     int in_range, int write)
{
	struct fuzz_rng *r = &self->rng;
	uint64_t off = addr - (uintptr_t)self->mem;
	uint64_t l = len < FUZZ_PAGE ? len : FUZZ_PAGE;
	struct ubuf u = { 0 };

	switch (fuzz_below(r, 12)) {
	case 0:
		u.kind = UB_RO;
		u.p = (uintptr_t)self->fm.ro + (in_range ? off : fuzz_below(r, MLEN));
		/* The read-only copy, then the edge page, then the hole. */
		u.readable = (uintptr_t)self->fm.hole - u.p;
		break;
	case 1:	/* fewer bytes mapped than len */
		u = edge_ubuf(&self->fm, fuzz_below(r, l));
		break;
	case 2:
		u = bad_ubuf(r, &self->fm);
		break;
	case 3:
		u.kind = UB_WRAP;
		u.p = -1ULL - fuzz_below(r, len ? len : 1);
		break;
	case 4 ... 5:
		if (in_range) {
			u.kind = UB_SELF;
			u.p = addr;
			u.readable = u.writable = len;
			break;
		}
		/* fall through */
	default:
		u.kind = UB_GOOD;
		if (in_range && write) {
			/* A copy of the pattern, at the same offset. */
			u.p = (uintptr_t)self->golden + off;
			u.readable = len;
		} else {
			u.p = (uintptr_t)self->scratch + fuzz_below(r, FUZZ_PAGE);
			u.readable = u.writable = MAX_RW;
		}
		break;
	}
	return u;
}

static uint64_t pick_addr(struct fuzz_rng *r, const char *mem)
{
	uint64_t start = (uintptr_t)mem, end = start + MLEN;

	switch (fuzz_below(r, 16)) {
	case 0:
		return start;
	case 1:
		return end - 1 - fuzz_below(r, 8);
	case 2:
		return end + fuzz_below(r, 2 * FUZZ_PAGE);
	case 3:
		return start - 1 - fuzz_below(r, 2 * FUZZ_PAGE);
	case 4:
		return -1ULL - fuzz_below(r, 2 * FUZZ_PAGE);
	case 5:
		return fuzz_one_in(r, 2) ? 0 : fuzz_next(r);
	case 6 ... 8:
		return start + fuzz_below(r, NP) * FUZZ_PAGE;
	default:
		return start + fuzz_below(r, MLEN);
	}
}

static uint64_t pick_rw_len(struct fuzz_rng *r, uint64_t addr, const char *mem)
{
	uint64_t end = (uintptr_t)mem + MLEN, left = end > addr ? end - addr : 1;

	/* Mostly short: READ and WRITE allocate len bytes before checking the range. */
	if (left > MLEN + FUZZ_PAGE)
		left = MLEN + FUZZ_PAGE;

	switch (fuzz_below(r, 16)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return left;		/* up to the end exactly */
	case 3:
		return left + 1;	/* one past it */
	case 4:
		return MAX_RW + fuzz_below(r, 2);
	case 5:
		return fuzz_one_in(r, 2) ? 1ULL << 63 : -1ULL - fuzz_below(r, 4);
	case 6:
		return fuzz_next(r) >> fuzz_below(r, 64);
	case 7:
		return MLEN;
	default:
		return 1 + fuzz_below(r, left < MAX_RW ? left : MAX_RW);
	}
}

/* Whether [addr, addr + len) is all in the mirror, without overflow. */
static int in_mirror(const char *mem, uint64_t addr, uint64_t len)
{
	uint64_t start = (uintptr_t)mem, end = start + MLEN;

	return addr >= start && addr + len >= addr && addr + len <= end;
}

/* One random READ or WRITE; asserts the model's errno and the data. */
static void fuzz_rw(struct __test_metadata *_metadata, FIXTURE_DATA(rmirror_fuzz) *self, int write)
{
	struct fuzz_rng *r = &self->rng;
	uint64_t addr = pick_addr(r, self->mem), len = pick_rw_len(r, addr, self->mem);
	int in_range = len && in_mirror(self->mem, addr, len);
	struct ubuf u = pick_ubuf(self, addr, len, in_range, write);
	struct rmirror_rw rw = { .addr = addr, .buf = u.p, .len = len };
	int req_bad, want, ret;
	unsigned long req = fuzz_pick_req(&self->rng, &self->fm, &rw, sizeof(rw), &req_bad);

	/* The driver's order: request, length, then WRITE: buffer, range; READ: range, buffer. */
	if (req_bad)
		want = EFAULT;
	else if (len == 0 || len > MAX_RW)
		want = EINVAL;
	else if (write && len > u.readable)
		want = EFAULT;
	else if (!in_range)
		want = EINVAL;
	else if (!write && len > u.writable)
		want = EFAULT;
	else
		want = 0;
	ret = ioctl(self->fd, write ? RMIRROR_IOC_WRITE : RMIRROR_IOC_READ, req) ? -errno : 0;
	ASSERT_EQ(ret, -want)
		TH_LOG("%s: addr mirror%+lld, len %#llx, %s buffer %#llx%s",
		       write ? "WRITE" : "READ", (long long)(addr - (uintptr_t)self->mem),
		       (unsigned long long)len, ubuf_names[u.kind], (unsigned long long)u.p,
		       req_bad ? ", faulting request" : "");
	if (!ret && !write && u.kind == UB_GOOD) {
		ASSERT_EQ(memcmp((void *)u.p, self->golden + (addr - (uintptr_t)self->mem), len), 0)
			TH_LOG("READ at mirror+%llu, len %llu: wrong data",
			       (unsigned long long)(addr - (uintptr_t)self->mem), (unsigned long long)len);
	}
}

/* One random SNAPSHOT: addresses, page counts and buffers of every kind. */
static void fuzz_snapshot(struct __test_metadata *_metadata, FIXTURE_DATA(rmirror_fuzz) *self)
{
	struct fuzz_rng *r = &self->rng;
	uint64_t start = (uintptr_t)self->mem, addr = pick_addr(r, self->mem), n;
	int inside = addr >= start && addr < start + MLEN;
	uint64_t left = inside ? NP - (addr - start) / FUZZ_PAGE : 1;
	struct rmirror_snapshot s;
	struct ubuf u = { 0 };
	int req_bad, want, ret;
	unsigned long req;

	switch (fuzz_below(r, 10)) {
	case 0:
		n = 0;
		break;
	case 1:
		n = left + 1;
		break;
	case 2:
		n = SNAP_MAX + fuzz_below(r, 2);
		break;
	case 3:
		n = fuzz_one_in(r, 2) ? -1ULL : fuzz_next(r);
		break;
	case 4 ... 5:
		n = left;
		break;
	default:
		n = 1 + fuzz_below(r, left);
		break;
	}
	switch (fuzz_below(r, 6)) {
	case 0:
		u.kind = UB_RO;
		u.p = (uintptr_t)self->fm.ro;
		break;
	case 1:
		u = edge_ubuf(&self->fm, fuzz_below(r, n < FUZZ_PAGE ? n : FUZZ_PAGE));
		break;
	case 2:
		u = bad_ubuf(r, &self->fm);
		break;
	default:
		u.kind = UB_GOOD;
		u.p = (uintptr_t)self->scratch + fuzz_below(r, FUZZ_PAGE);
		u.writable = SNAP_MAX;
		break;
	}
	s = (struct rmirror_snapshot){ .addr = addr, .buf = u.p, .npages = n };
	req = fuzz_pick_req(&self->rng, &self->fm, &s, sizeof(s), &req_bad);
	/* The driver's order: request, page count, address, count from there, buffer. */
	if (req_bad)
		want = EFAULT;
	else if (n == 0 || n > SNAP_MAX)
		want = EINVAL;
	else if (!inside || n > left)
		want = EINVAL;
	else if (n > u.writable)
		want = EFAULT;
	else
		want = 0;
	ret = ioctl(self->fd, RMIRROR_IOC_SNAPSHOT, req) ? -errno : 0;
	ASSERT_EQ(ret, -want)
		TH_LOG("SNAPSHOT: addr mirror%+lld, %llu pages, %s buffer %#llx%s",
		       (long long)(addr - start), (unsigned long long)n, ubuf_names[u.kind],
		       (unsigned long long)u.p, req_bad ? ", faulting request" : "");
	if (!ret) {
		ASSERT_TRUE(flags_ok((void *)u.p, n));
	}
}

/* A hold time INVALIDATE refuses, read from the read-only page if one is there. */
static unsigned long ro_hold_too_long(FIXTURE_DATA(rmirror_fuzz) *self)
{
	size_t i, at = fuzz_below(&self->rng, MLEN / 4);
	uint32_t ms;

	for (i = 0; i < 64; i++, at = (at + 1) % (MLEN / 4)) {
		memcpy(&ms, self->fm.ro + 4 * at, sizeof(ms));
		if (ms > RMIRROR_MAX_HOLD_MS)
			return (uintptr_t)self->fm.ro + 4 * at;
	}
	return 0;
}

/*
 * MIRROR again (EBUSY: the file mirrors already), STATS, or INVALIDATE:
 * holds of 0 or 1 ms drop every entry (the next accesses fault them in
 * again); longer than RMIRROR_MAX_HOLD_MS is EINVAL.
 */
static void fuzz_misc(struct __test_metadata *_metadata, FIXTURE_DATA(rmirror_fuzz) *self)
{
	struct fuzz_rng *r = &self->rng;
	struct rmirror_range range = {
		.addr = pick_addr(r, self->mem), .len = fuzz_next(r) >> fuzz_below(r, 64),
	};
	struct rmirror_stats st;
	unsigned int op = fuzz_below(r, 8);
	int req_bad, want, ret;
	unsigned long req;
	uint32_t ms;

	if (op < 3) {
		req = fuzz_pick_req(&self->rng, &self->fm, &range, sizeof(range), &req_bad);
		ret = ioctl(self->fd, RMIRROR_IOC_MIRROR, req) ? -errno : 0;
		ASSERT_EQ(ret, req_bad ? -EFAULT : -EBUSY)
			TH_LOG("MIRROR of %#llx + %#llx%s", (unsigned long long)range.addr,
			       (unsigned long long)range.len, req_bad ? ", faulting request" : "");
		return;
	}
	if (op < 5) {
		ms = fuzz_one_in(r, 4) ? 1 : 0;
		want = 0;
		switch (fuzz_below(r, 6)) {
		case 0:
			ms = RMIRROR_MAX_HOLD_MS + 1 +
			     fuzz_below(r, UINT32_MAX - RMIRROR_MAX_HOLD_MS - 1);
			want = EINVAL;
			break;
		case 1:
			req = ro_hold_too_long(self);
			if (req) {
				ret = ioctl(self->fd, RMIRROR_IOC_INVALIDATE, req) ? -errno : 0;
				ASSERT_EQ(ret, -EINVAL) TH_LOG("INVALIDATE from the read-only page");
				return;
			}
			break;
		}
		req = fuzz_pick_req(&self->rng, &self->fm, &ms, sizeof(ms), &req_bad);
		if (req_bad)
			want = EFAULT;
		ret = ioctl(self->fd, RMIRROR_IOC_INVALIDATE, req) ? -errno : 0;
		ASSERT_EQ(ret, -want) TH_LOG("INVALIDATE of %u ms%s", ms, req_bad ? ", faulting request" : "");
		if (!ret) {
			/* Every entry was dropped, and nothing faulted since. */
			ASSERT_EQ(dev_stats(self->fd, &st), 0);
			ASSERT_EQ(st.mirrored, 0);
		}
		return;
	}
	switch (fuzz_below(r, 4)) {
	case 0:
		req = (uintptr_t)self->fm.ro;
		req_bad = 1;
		break;
	case 1:
		req = fuzz_edge_ptr(&self->fm, fuzz_below(r, sizeof(st)));
		req_bad = 1;
		break;
	case 2:
		req = fuzz_bad_ptr(r, &self->fm);
		req_bad = 1;
		break;
	default:
		req = (uintptr_t)&st;
		req_bad = 0;
		break;
	}
	ret = ioctl(self->fd, RMIRROR_IOC_STATS, req) ? -errno : 0;
	ASSERT_EQ(ret, req_bad ? -EFAULT : 0) TH_LOG("STATS to %#lx", req);
	if (!ret) {
		ASSERT_EQ(st.start, (uintptr_t)self->mem);
		ASSERT_EQ(st.end, (uintptr_t)self->mem + MLEN);
		ASSERT_LE(st.mirrored, NP);
	}
}

/*
 * Random READ, WRITE, SNAPSHOT, STATS, MIRROR and INVALIDATE requests, each
 * checked against a model of the driver: in, across and outside the
 * mirrored range, unaligned, overflowing, to and from buffers of every kind
 * (the mirrored range itself included). Every READ returns the pattern;
 * every WRITE writes the pattern back where it was, so nothing may change,
 * even with the table dropped now and then by INVALIDATE.
 */
TEST_F_TIMEOUT(rmirror_fuzz, model, 50)
{
	unsigned long ops[4] = { 0 };
	struct fuzz_budget b;

	fuzz_budget_init(&b, 8, 60000);
	while (fuzz_more(&b)) {
		unsigned int op = fuzz_below(&self->rng, 16);

		if (op < 6) {
			fuzz_rw(_metadata, self, 0);
			ops[0]++;
		} else if (op < 12) {
			fuzz_rw(_metadata, self, 1);
			ops[1]++;
		} else if (op < 15) {
			fuzz_snapshot(_metadata, self);
			ops[2]++;
		} else {
			fuzz_misc(_metadata, self);
			ops[3]++;
		}
		b.calls++;
		if (b.calls % 2048 == 0) {
			verify(_metadata, self, self->fd);
			b.calls += 3;
		}
	}
	TH_LOG("%lu calls in %.2f s: %lu READ, %lu WRITE, %lu SNAPSHOT, %lu STATS/MIRROR/INVALIDATE",
	       b.calls, fuzz_elapsed(&b), ops[0], ops[1], ops[2], ops[3]);
	ASSERT_TRUE(fuzz_hole_unmapped(&self->fm));
	verify(_metadata, self, self->fd);
}

/*
 * Bad ranges to mirror on a fresh file: unaligned, empty, too long,
 * wrapping (EINVAL); unmapped, PROT_NONE, kernel, partly mapped (EFAULT).
 * A failed setup leaves the file unset: STATS all zero, accesses and
 * INVALIDATE EINVAL.
 * Then a read-only range mirrors, but device writes to it fail.
 */
TEST_F_TIMEOUT(rmirror_fuzz, bad_ranges, 50)
{
	uint64_t mem = (uintptr_t)self->mem, ro = (uintptr_t)self->fm.ro;
	struct rmirror_range *edge_range = (void *)fuzz_edge_ptr(&self->fm, sizeof(*edge_range));
	unsigned long einval = 0, efault = 0;
	struct rmirror_stats st, zero = { 0 };
	uint8_t snap[NP + 1];
	struct fuzz_budget b;
	int fd, fd2, ret, i;

	fd = open(RMIRROR_DEV, O_RDWR);
	ASSERT_GE(fd, 0);
	fuzz_budget_init(&b, 4, 3000);
	while (fuzz_more(&b)) {
		struct fuzz_rng *r = &self->rng;
		uint64_t pages = 1 + fuzz_below(r, 4), addr, len = pages * FUZZ_PAGE;
		unsigned long req = 0;
		int want = EINVAL, kind, bad_req = 0;

		kind = fuzz_below(r, 16);
		switch (kind) {
		case 0:		/* unaligned start */
			addr = mem + 1 + fuzz_below(r, FUZZ_PAGE - 1);
			break;
		case 1:		/* unaligned length */
			addr = mem;
			len += 1 + fuzz_below(r, FUZZ_PAGE - 1);
			break;
		case 2:
			addr = mem;
			len = 0;
			break;
		case 3:		/* too long */
			addr = mem;
			len = fuzz_one_in(r, 2) ? RMIRROR_MAX_LEN + len :
			      (fuzz_next(r) | 1ULL << 63) & ~(FUZZ_PAGE - 1);
			break;
		case 4:		/* wraps around */
			addr = -(pages * FUZZ_PAGE);
			len += fuzz_below(r, 3) * FUZZ_PAGE;
			break;
		case 5:
			addr = (uintptr_t)self->fm.hole;
			len = FUZZ_PAGE;
			want = EFAULT;
			break;
		case 6:
			addr = (uintptr_t)self->fm.none + fuzz_below(r, FUZZ_NONE_PAGES - 3) * FUZZ_PAGE;
			want = EFAULT;
			break;
		case 7:		/* the edge page, then the hole */
			addr = (uintptr_t)self->fm.edge;
			len = 2 * FUZZ_PAGE;
			want = EFAULT;
			break;
		case 8:		/* a guard page, then the mirrored range */
			addr = mem - FUZZ_PAGE;
			want = EFAULT;
			break;
		case 9:		/* the mirrored range, then a guard page */
			addr = mem + MLEN - len + FUZZ_PAGE;
			want = EFAULT;
			break;
		case 10:
			addr = fuzz_below(r, 4) * FUZZ_PAGE;	/* below mmap_min_addr */
			want = EFAULT;
			break;
		case 11:
			addr = FUZZ_KERNEL_PTR + fuzz_below(r, 1 << 20) * FUZZ_PAGE;
			want = EFAULT;
			break;
		case 12:
			addr = FUZZ_NONCANON_PTR + fuzz_below(r, 1 << 20) * FUZZ_PAGE;
			want = EFAULT;
			break;
		case 13:	/* a faulting request */
			addr = mem;
			req = fuzz_one_in(r, 2) ? fuzz_bad_ptr(r, &self->fm) :
			      fuzz_edge_ptr(&self->fm, fuzz_below(r, sizeof(struct rmirror_range)));
			bad_req = 1;
			want = EFAULT;
			break;
		default:	/* unaligned and unmapped both: the shape is checked first */
			addr = (uintptr_t)self->fm.hole + 1 + fuzz_below(r, FUZZ_PAGE - 1);
			break;
		}
		if (bad_req)
			ret = ioctl(fd, RMIRROR_IOC_MIRROR, req) ? -errno : 0;
		else
			ret = dev_mirror(fd, (void *)addr, len);
		b.calls++;
		ASSERT_EQ(ret, -want)
			TH_LOG("MIRROR of %#llx + %#llx (case %d; mirrored range %p, read-only %p, hole %p)",
			       (unsigned long long)addr, (unsigned long long)len, kind, self->mem,
			       self->fm.ro, self->fm.hole);
		if (want == EINVAL)
			einval++;
		else
			efault++;
		/* Nothing stayed. */
		if (b.calls % 32 == 0) {
			ASSERT_EQ(dev_stats(fd, &st), 0);
			ASSERT_EQ(memcmp(&st, &zero, sizeof(st)), 0);
			ASSERT_EQ(dev_read(fd, self->mem, self->scratch, 1), -EINVAL);
			ASSERT_EQ(dev_write(fd, self->mem, self->golden, 1), -EINVAL);
			ASSERT_EQ(dev_snapshot(fd, self->mem, snap, 1), -EINVAL);
			ASSERT_EQ(dev_invalidate(fd, 0), -EINVAL);
			b.calls += 5;
		}
	}
	TH_LOG("%lu calls in %.2f s: %lu EINVAL, %lu EFAULT", b.calls, fuzz_elapsed(&b), einval, efault);

	/* A read-only range mirrors; device reads work, device writes do not (EPERM). */
	ASSERT_EQ(dev_mirror(fd, self->fm.ro, MLEN), NP);
	ASSERT_EQ(dev_mirror(fd, self->fm.ro, MLEN), -EBUSY);
	ASSERT_EQ(dev_mirror(fd, self->mem, MLEN), -EBUSY);
	ASSERT_EQ(dev_read(fd, self->fm.ro, self->scratch, MLEN), 0);
	ASSERT_EQ(memcmp(self->scratch, self->golden, MLEN), 0);
	ASSERT_EQ(dev_write(fd, self->fm.ro, self->golden, 1), -EPERM);
	ASSERT_EQ(dev_write(fd, self->fm.ro + MLEN - 1, self->golden, 1), -EPERM);
	ASSERT_EQ(memcmp(self->fm.ro, self->golden, MLEN), 0);
	ASSERT_EQ(dev_snapshot(fd, self->fm.ro, snap, NP), 0);
	for (i = 0; i < NP; i++) {
		ASSERT_EQ(snap[i] & (RMIRROR_WRITE | RMIRROR_DIRTY), 0) TH_LOG("page %d: %#x", i, snap[i]);
	}
	close(fd);

	/*
	 * A request that fits exactly before the fault: the read-only copy and
	 * the edge page. Writes land in the edge page, not in the copy.
	 */
	fd2 = open(RMIRROR_DEV, O_RDWR);
	ASSERT_GE(fd2, 0);
	*edge_range = (struct rmirror_range){ .addr = ro, .len = MLEN + FUZZ_PAGE };
	ASSERT_EQ(ioctl(fd2, RMIRROR_IOC_MIRROR, edge_range), NP + 1);
	ASSERT_EQ(dev_write(fd2, self->fm.edge, self->golden, FUZZ_PAGE), 0);
	ASSERT_EQ(memcmp(self->fm.edge, self->golden, FUZZ_PAGE), 0);
	/* Starting in the read-only copy: EPERM, and nothing is written. */
	ASSERT_EQ(dev_write(fd2, self->fm.edge - 1, self->golden, 2), -EPERM);
	ASSERT_EQ(dev_snapshot(fd2, self->fm.ro, snap, NP + 1), 0);
	ASSERT_TRUE(flags_ok(snap, NP + 1));
	close(fd2);
	ASSERT_TRUE(fuzz_hole_unmapped(&self->fm));
	verify(_metadata, self, self->fd);
}

/* --- another address space --- */

/* What the child of other_mm saw: shared with the parent. */
struct child_report {
	unsigned long calls;
	unsigned long bad;
	unsigned long eio;
	char first[256];
};

static void child_bad(struct child_report *rep, const char *op, uint64_t a, uint64_t n,
		      int want, int ret)
{
	if (!rep->bad++)
		snprintf(rep->first, sizeof(rep->first), "%s %#llx %#llx: want %d, got %d",
			 op, (unsigned long long)a, (unsigned long long)n, -want, ret);
}

/*
 * In a child: the parent's mirroring file, used from another address
 * space. Each request's own checks come first (EFAULT, EINVAL), then EIO;
 * STATS answers, MIRROR is EBUSY. No harness assertions here: the parent
 * reads the report.
 */
static void child_fuzz(FIXTURE_DATA(rmirror_fuzz) *self, struct child_report *rep)
{
	struct fuzz_rng *r = &self->rng;
	uint64_t start = (uintptr_t)self->mem;
	struct rmirror_stats st;
	struct fuzz_budget b;
	size_t i;

	/* What a write that got through would leave: never the pattern. */
	for (i = 0; i < MLEN; i++)
		self->scratch[i] = ~self->golden[i];
	fuzz_budget_init(&b, 3, 20000);
	while (fuzz_more(&b)) {
		uint64_t addr = pick_addr(r, self->mem), len = pick_rw_len(r, addr, self->mem);
		int bad_buf = fuzz_one_in(r, 4), req_bad, want, ret;
		uint64_t buf = bad_buf ? fuzz_bad_ptr(r, &self->fm) :
			       (uintptr_t)self->scratch + (in_mirror(self->mem, addr, len) ?
							   addr - start : 0);
		struct rmirror_rw rw = { .addr = addr, .buf = buf, .len = len };
		struct rmirror_snapshot s = { .addr = addr, .buf = (uintptr_t)self->scratch };
		struct rmirror_range range = { .addr = start, .len = MLEN };
		unsigned int op = fuzz_below(r, 6);
		unsigned long req;
		uint32_t ms;

		b.calls++;
		rep->calls++;
		switch (op) {
		case 0:
		case 1:
			req = fuzz_pick_req(&self->rng, &self->fm, &rw, sizeof(rw), &req_bad);
			want = req_bad ? EFAULT : len == 0 || len > MAX_RW ? EINVAL :
			       op == 1 && bad_buf ? EFAULT : EIO;
			ret = ioctl(self->fd, op ? RMIRROR_IOC_WRITE : RMIRROR_IOC_READ, req) ? -errno : 0;
			if (ret != -want)
				child_bad(rep, op ? "WRITE" : "READ", addr, len, want, ret);
			break;
		case 2:
			s.npages = fuzz_one_in(r, 4) ? fuzz_next(r) >> fuzz_below(r, 64) :
				   fuzz_below(r, NP + 2);
			req = fuzz_pick_req(&self->rng, &self->fm, &s, sizeof(s), &req_bad);
			want = req_bad ? EFAULT : s.npages == 0 || s.npages > SNAP_MAX ? EINVAL : EIO;
			ret = ioctl(self->fd, RMIRROR_IOC_SNAPSHOT, req) ? -errno : 0;
			if (ret != -want)
				child_bad(rep, "SNAPSHOT", addr, s.npages, want, ret);
			break;
		case 3:
			ms = fuzz_one_in(r, 4) ? RMIRROR_MAX_HOLD_MS + 1 : fuzz_below(r, 2);
			req = fuzz_pick_req(&self->rng, &self->fm, &ms, sizeof(ms), &req_bad);
			want = req_bad ? EFAULT : ms > RMIRROR_MAX_HOLD_MS ? EINVAL : EIO;
			ret = ioctl(self->fd, RMIRROR_IOC_INVALIDATE, req) ? -errno : 0;
			if (ret != -want)
				child_bad(rep, "INVALIDATE", ms, 0, want, ret);
			break;
		case 4:
			ret = dev_stats(self->fd, &st);
			if (ret || st.start != start || st.end != start + MLEN)
				child_bad(rep, "STATS", st.start, st.end, 0, ret);
			want = 0;
			break;
		default:
			ret = ioctl(self->fd, RMIRROR_IOC_MIRROR, &range) ? -errno : 0;
			want = EBUSY;
			if (ret != -want)
				child_bad(rep, "MIRROR", start, MLEN, want, ret);
			break;
		}
		rep->eio += want == EIO;
	}
}

/*
 * Only the mirrored process may use the device: a child (another address
 * space) fuzzes the parent's mirroring file. Its READ, WRITE, SNAPSHOT and
 * INVALIDATE fail with EIO once their arguments pass the checks before,
 * and its writes, of data unlike the pattern, reach nothing.
 */
TEST_F_TIMEOUT(rmirror_fuzz, other_mm, 50)
{
	struct child_report *rep;
	int status;
	pid_t pid;

	/* Two pages: a single one could land in fuzz_mem's hole. */
	rep = mmap(NULL, 2 * FUZZ_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(rep, MAP_FAILED);
	memset(rep, 0, sizeof(*rep));
	fuzz_next(&self->rng);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		child_fuzz(self, rep);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	TH_LOG("%lu calls from another address space: %lu EIO", rep->calls, rep->eio);
	ASSERT_EQ(rep->bad, 0) TH_LOG("first: %s", rep->first);
	ASSERT_GT(rep->eio, 0);
	munmap(rep, 2 * FUZZ_PAGE);
	ASSERT_TRUE(fuzz_hole_unmapped(&self->fm));
	verify(_metadata, self, self->fd);
}

/* --- close racing device accesses --- */

struct cr_state {
	FIXTURE_DATA(rmirror_fuzz) *self;
	int mirror_first;	/* the thread sets the file up itself */
	int mirrored;		/* it did */
};

static void *cr_thread(void *arg)
{
	struct fuzz_race *r = arg;
	struct cr_state *s = r->priv;
	struct fuzz_rng rng = { .s = r->seed | 1 };
	uint64_t start = (uintptr_t)s->self->mem;
	struct rmirror_stats st;
	uint8_t buf[2 * FUZZ_PAGE], snap[NP];
	int ret;

	if (s->mirror_first) {
		ret = dev_mirror(r->fd, s->self->mem, MLEN);
		fuzz_race_note(r, "MIRROR", ret, 0);
		if (ret >= 0 && ret != NP)
			fuzz_race_corrupt(r, "MIRROR count");
		s->mirrored = ret >= 0;
	}
	while (!r->stop) {
		uint64_t off = fuzz_below(&rng, MLEN), len = 1 + fuzz_below(&rng, sizeof(buf));

		if (off + len > MLEN)
			len = MLEN - off;
		switch (fuzz_below(&rng, 5)) {
		case 0:
			ret = dev_read(r->fd, (void *)(start + off), buf, len);
			fuzz_race_note(r, "READ", ret, 0);
			if (!ret && memcmp(buf, s->self->golden + off, len))
				fuzz_race_corrupt(r, "READ data");
			break;
		case 1:	/* the pattern, where it already is */
			ret = dev_write(r->fd, (void *)(start + off), s->self->golden + off, len);
			fuzz_race_note(r, "WRITE", ret, 0);
			break;
		case 2:
			ret = dev_snapshot(r->fd, s->self->mem, snap, NP);
			fuzz_race_note(r, "SNAPSHOT", ret, 0);
			if (!ret && !flags_ok(snap, NP))
				fuzz_race_corrupt(r, "SNAPSHOT flags");
			break;
		case 3:
			ret = dev_invalidate(r->fd, 0);
			fuzz_race_note(r, "INVALIDATE", ret, 0);
			break;
		default:
			ret = dev_stats(r->fd, &st);
			fuzz_race_note(r, "STATS", ret, 0);
			if (!ret && (st.start != start || st.end != start + MLEN))
				fuzz_race_corrupt(r, "STATS range");
			break;
		}
	}
	return NULL;
}

/* A new file, mirroring already or left for the thread to set up. */
static void cr_open(struct __test_metadata *_metadata, struct fuzz_race *r, void *ctx)
{
	struct cr_state *s = r->priv;

	r->fd = open(RMIRROR_DEV, O_RDWR);
	ASSERT_GE(r->fd, 0);
	s->mirror_first = fuzz_one_in(&s->self->rng, 4);
	s->mirrored = 0;
	if (!s->mirror_first) {
		ASSERT_EQ(dev_mirror(r->fd, s->self->mem, MLEN), NP);
		s->mirrored = 1;
	}
}

/* A surviving file still mirrors the range, intact. */
static void cr_done(struct __test_metadata *_metadata, struct fuzz_race *r, int keep, void *ctx)
{
	struct cr_state *s = r->priv;

	if (keep >= 0) {
		if (s->mirrored)
			verify(_metadata, s->self, keep);
		close(keep);
	}
}

/*
 * close() racing READ/WRITE/SNAPSHOT/INVALIDATE/STATS (and MIRROR itself)
 * on a mirroring file: the only fd (the mirror is torn down under the
 * thread), the fd while a dup keeps the file, or the dup while the fd
 * stays. Every call works or fails with EBADF; the range and a surviving
 * file are intact.
 */
TEST_F_TIMEOUT(rmirror_fuzz, close_race, 50)
{
	static const struct fuzz_close_race cr = {
		.secs = 6, .rounds = 300, .max_spin = 32,
		.thread = cr_thread, .open = cr_open, .done = cr_done,
	};
	struct cr_state s = { .self = self };

	fuzz_close_races(_metadata, &cr, &self->rng, &s, NULL);
	verify(_metadata, self, self->fd);
}

TEST_HARNESS_MAIN
