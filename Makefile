# SPDX-License-Identifier: GPL-2.0
#
# rmm: Linux memory-management clients in Rust-for-Linux.
#
#   make run       set up, build the test kernel (cached) and the modules, boot
#                  the guest and run the compaction-stress demo
#   make check     same set-up, then every kselftest in the guest
#   make bench     same set-up, then the benchmarks; report in report/
#   make           the modules only, against $(KDIR)
#   make install   the drivers into /lib/modules (INSTALL_MOD_PATH=, depmod)
#   make cross     a build check: the drivers for arm64 with 16 KiB pages
#   make kdir-check  make KDIR= on a tree without zpool and HMM, and refusals
#   make clean-cache remove cached kernel builds no current key uses
#
# KDIR defaults to rmm's cached test kernel; any 6.12 build tree with
# CONFIG_RUST=y works: make KDIR=/path/to/linux.

SHELL := /bin/bash
TOP := $(CURDIR)
RMM_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rmm
RMM_BIN := $(RMM_CACHE)/tools/bin

export PATH := $(RMM_BIN):$(RMM_CACHE)/tools/venv/bin:$(PATH)
export LIBCLANG_PATH ?= /usr/lib/llvm-19/lib
export BINDGEN ?= $(RMM_BIN)/bindgen

# Each evaluated at its first use (after make setup, in "make setup kernel
# modules"), then kept: not at every use, as a plain ?= would.
ifeq ($(origin KDIR),undefined)
KDIR = $(eval KDIR := $(shell $(TOP)/scripts/build-kernel.sh --print 2>/dev/null))$(KDIR)
endif
# The compiler KDIR was built with: LLVM=-19 for rmm's kernels, nothing for a
# GCC-built tree (scripts/check-kdir.sh --llvm).
ifeq ($(origin LLVM),undefined)
LLVM = $(eval LLVM := $(shell $(TOP)/scripts/check-kdir.sh --llvm $(KDIR) 2>/dev/null))$(LLVM)
endif

# One selftest directory, or all of them: make check T=rmisc
T ?=

# Benchmark arguments: make bench BENCH_ARGS="-q" for a quick smoke run.
BENCH_ARGS ?=

.PHONY: all modules setup kernel selftests run check bench passrate cross kdir-check clean-cache install uninstall rust-analyzer clean help

all: modules

# Objects built against one kernel tree are not rebuilt for another by Kbuild
# (its C command lines use objtree-relative paths), and loading them fails
# with "Invalid module format": remember the tree, clean when it changes.
modules:
	@scripts/check-kdir.sh $(KDIR)
	@if [ -f .kdir ] && [ "$$(cat .kdir)" != "$(KDIR)" ]; then \
		echo "make: KDIR changed from $$(cat .kdir): cleaning the old objects"; \
		$(MAKE) -s -C $(KDIR) M=$(TOP) LLVM=$(LLVM) clean; \
	fi
	@echo "$(KDIR)" > .kdir
	$(MAKE) -C $(KDIR) M=$(TOP) LLVM=$(LLVM) modules

# rust-project.json for rust-analyzer: scripts/rust-analyzer.sh says why not
# the kernel's `make M=... rust-analyzer`.
rust-analyzer:
	@scripts/rust-analyzer.sh $(KDIR)

setup:
	@scripts/setup-toolchain.sh

kernel: setup
	@scripts/build-kernel.sh >/dev/null

selftests:
	$(MAKE) -C selftests KDIR=$(KDIR)

run:
	@scripts/rmm.sh run

check:
	@scripts/rmm.sh check $(T)

# make bench ICOUNT=1: guest time in instruction counts (QEMU -icount).
# PROFILE="-g zpool -O alloc+free -S 4096 -T 1": the case perf profiles;
# PROFILE_RUNS="LOOPS RUNS" (default "8 64"): how long.
# PLUGIN=1 (with ICOUNT=1): cost classes per op of the one-thread zpool
# cases, counted by the TCG plugin bench/qemu/rmm_prof.c.
bench:
	@RMM_ICOUNT=$(or $(ICOUNT),0) RMM_PLUGIN=$(or $(PLUGIN),0) RMM_PROFILE="$(PROFILE)" \
		RMM_PROFILE_RUNS="$(PROFILE_RUNS)" \
		scripts/rmm.sh bench $(BENCH_ARGS)

# The drivers (rzpool, rmirror, rmisc; not the benchmark and test helpers)
# installed for the kernel of $(KDIR) as any out-of-tree module is, into
# $(INSTALL_MOD_PATH)/lib/modules/<release>/updates, then depmod (Kbuild's
# modules_install). Signing is modules_install's too: see the README.
KRELEASE = $(shell $(MAKE) -s -C $(KDIR) kernelrelease 2>/dev/null)
install:
	@scripts/check-kdir.sh $(KDIR)
	$(MAKE) -C $(KDIR) M=$(TOP) LLVM=$(LLVM) RMM_DRIVERS_ONLY=1 modules
	$(MAKE) -C $(KDIR) M=$(TOP) LLVM=$(LLVM) RMM_DRIVERS_ONLY=1 modules_install

uninstall:
	rm -f $(addprefix $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/updates/,rzpool.ko rmirror.ko rmisc.ko)
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KRELEASE)

# The pass rate of test_zswap's timing-dependent case on both pools.
RUNS ?= 10
passrate:
	@scripts/rmm.sh passrate $(or $(RUNS),10) $(POLICY)

cross:
	@scripts/cross-build.sh

kdir-check:
	@scripts/kdir-check.sh

clean-cache:
	@scripts/clean-cache.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	-$(MAKE) -C selftests KDIR=$(KDIR) clean
	-$(MAKE) -C bench clean
	rm -f rust/bindings_generated.rs rust/.bindings_generated.rs.cmd .kdir

help:
	@sed -n '3,13p' Makefile
