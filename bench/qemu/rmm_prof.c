// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * rmm_prof: a QEMU TCG plugin that counts what the guest kernel executes
 * between two markers, by translation block: instructions, LOCK-prefixed
 * instructions, calls, iterations of rep string instructions and memory
 * accesses. bench/profile.py adds them up by symbol.
 *
 *   qemu-system-x86_64 -icount shift=0 -plugin rmm_prof.so,out=PREFIX ...
 *
 * The guest marks a region with two multi-byte NOPs whose displacement is
 * 0x524d4d00 | action ("RMM", samples/rmm_bench): action 1 zeroes the
 * counts, action 2 writes them to PREFIX.N (N = 0, 1, ... in marker order)
 * as one line per executed block, "pc execs insns locks calls reps mems",
 * and zeroes them. On hardware the markers are NOPs.
 *
 * Counts are exact only with one vCPU running at a time (-icount, which
 * serialises them): the inline adds are not atomic. Only kernel blocks
 * (addresses with the top bit set) are counted.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

/*
 * Version 1 (QEMU 7.2, Debian 12): QEMU 9 changed qemu_plugin_insn_data()
 * and replaced the global inline ops by per-vCPU scoreboards.
 */
#if QEMU_PLUGIN_VERSION != 1
#error "rmm_prof supports the QEMU plugin API version 1 only (QEMU 7.2 to 8.x)"
#endif

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* A translated block; the same pc may be translated more than once. */
struct block {
	uint64_t pc;
	uint64_t execs;
	uint64_t mems;
	uint32_t insns, locks, calls, reps;
};

static struct block **blocks;
static size_t nr_blocks, cap_blocks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char out[4096] = "rmm_prof";
static unsigned int seq;

/* The displacement of a marker NOP: 0f 1f 80 <action> 4d 4d 52. */
static const uint8_t marker[] = { 0x0f, 0x1f, 0x80 };
static const uint8_t marker_tag[] = { 0x4d, 0x4d, 0x52 };

static void zero_all(void)
{
	for (size_t i = 0; i < nr_blocks; i++)
		blocks[i]->execs = blocks[i]->mems = 0;
}

static void dump(void)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s.%u", out, seq++);
	f = fopen(path, "w");
	if (!f)
		return;
	for (size_t i = 0; i < nr_blocks; i++) {
		const struct block *b = blocks[i];

		if (b->execs)
			fprintf(f, "%" PRIx64 " %" PRIu64 " %u %u %u %u %" PRIu64 "\n", b->pc,
				b->execs, b->insns, b->locks, b->calls, b->reps, b->mems);
	}
	fclose(f);
	zero_all();
}

static void on_marker(unsigned int vcpu __attribute__((unused)), void *udata)
{
	pthread_mutex_lock(&lock);
	if ((uintptr_t)udata == 1)
		zero_all();
	else if ((uintptr_t)udata == 2)
		dump();
	pthread_mutex_unlock(&lock);
}

/*
 * Classifies one x86 instruction by its bytes: LOCK prefix, a call (e8, or
 * ff /2 and ff /3), a rep-prefixed string instruction.
 */
static void classify(const uint8_t *p, size_t n, struct block *b)
{
	int lockp = 0, rep = 0;
	size_t i = 0;

	for (; i < n; i++) {
		uint8_t c = p[i];

		if (c == 0xf0)
			lockp = 1;
		else if (c == 0xf2 || c == 0xf3)
			rep = 1;
		else if (c == 0x66 || c == 0x67 || c == 0x2e || c == 0x36 || c == 0x3e ||
			 c == 0x26 || c == 0x64 || c == 0x65)
			continue;
		else
			break;
	}
	if (i < n && (p[i] & 0xf0) == 0x40)	/* REX */
		i++;
	if (i >= n)
		return;
	b->locks += lockp;
	if (p[i] == 0xe8 || (p[i] == 0xff && i + 1 < n && ((p[i + 1] >> 3) & 7) >= 2 &&
			     ((p[i + 1] >> 3) & 7) <= 3))
		b->calls++;
	if (rep && ((p[i] >= 0xa4 && p[i] <= 0xa7) || (p[i] >= 0xaa && p[i] <= 0xaf) ||
		    (p[i] >= 0x6c && p[i] <= 0x6f)))
		b->reps++;
}

static void on_translate(qemu_plugin_id_t id __attribute__((unused)), struct qemu_plugin_tb *tb)
{
	uint64_t pc = qemu_plugin_tb_vaddr(tb);
	size_t n = qemu_plugin_tb_n_insns(tb);
	struct block *b;

	if (!(pc >> 63))
		return;
	b = calloc(1, sizeof(*b));
	if (!b)
		return;
	b->pc = pc;
	b->insns = n;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *p = qemu_plugin_insn_data(insn);
		size_t len = qemu_plugin_insn_size(insn);

		classify(p, len, b);
		qemu_plugin_register_vcpu_mem_inline(insn, QEMU_PLUGIN_MEM_RW,
						     QEMU_PLUGIN_INLINE_ADD_U64, &b->mems, 1);
		if (len == 7 && !memcmp(p, marker, 3) && !memcmp(p + 4, marker_tag, 3))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker,
							       QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)p[3]);
	}
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->execs, 1);
	pthread_mutex_lock(&lock);
	if (nr_blocks == cap_blocks) {
		size_t cap = cap_blocks ? 2 * cap_blocks : 65536;
		struct block **nb = realloc(blocks, cap * sizeof(*nb));

		if (!nb) {
			pthread_mutex_unlock(&lock);
			return;
		}
		blocks = nb;
		cap_blocks = cap;
	}
	blocks[nr_blocks++] = b;
	pthread_mutex_unlock(&lock);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info __attribute__((unused)),
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			snprintf(out, sizeof(out), "%s", argv[i] + 4);
		else
			return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
