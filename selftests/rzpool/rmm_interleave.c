// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 *   rmm_interleave COMMAND [ARG...]
 *
 * Runs COMMAND with its memory interleaved over every online NUMA node
 * (MPOL_INTERLEAVE, which fork and exec inherit), as
 * `numactl --interleave=all` does, without the numactl package.
 *
 * The guest has two nodes, its CPUs on node 0; the kernel's test_zswap was
 * written for a one-node VM. Its test_no_kmem_bypass fills memory from
 * node 0, spilling onto node 1, raises min_free_kbytes, and waits for
 * kswapd. Allocations fall back to node 1 without waking kswapd while node
 * 1 stays above its low watermark, which depends on how much spilled: in 12
 * runs of 20 nothing was reclaimed at all (Documentation/rzpool.rst,
 * "test_no_kmem_bypass and NUMA"). Interleaved, both nodes fill alike and
 * are below their watermarks together: kswapd runs every time.
 */
#include <errno.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_NODES 64

int main(int argc, char **argv)
{
	unsigned long mask = 0;
	char buf[256], *p = buf;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	f = fopen("/sys/devices/system/node/online", "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		perror("/sys/devices/system/node/online");
		return 1;
	}
	fclose(f);
	/* "0", "0-1", "0,2-3": ranges separated by commas. */
	while (*p && *p != '\n') {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;

		if (end == p)
			break;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		for (; lo <= hi && lo < MAX_NODES; lo++)
			mask |= 1UL << lo;
		p = *end == ',' ? end + 1 : end;
	}
	if (!mask) {
		fprintf(stderr, "%s: no online node in \"%s\"\n", argv[0], buf);
		return 1;
	}
	if (syscall(SYS_set_mempolicy, MPOL_INTERLEAVE, &mask, MAX_NODES + 1)) {
		fprintf(stderr, "%s: set_mempolicy: %s\n", argv[0], strerror(errno));
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(errno));
	return 127;
}
