/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * What rmm_bench.c shares with its other groups' files.
 */
#ifndef RMM_BENCH_H
#define RMM_BENCH_H

#include <stdint.h>

extern int runs, quick;

uint64_t now_ns(void);
void die(const char *what);
void record(const char *group, const char *key, const char *side, const char *unit,
	    const double *v, int n);
void record_na(const char *group, const char *key, const char *side, const char *unit,
	       const double *v, int n, const char *na);

/* rmm_bench_cache.c */
void bench_cache(void);

#endif /* RMM_BENCH_H */
