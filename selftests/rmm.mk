# SPDX-License-Identifier: GPL-2.0
#
# What the Makefiles of rmm's test directories share, included before the
# kernel's lib.mk (which builds their TEST_GEN_PROGS and TEST_GEN_FILES):
# the kernel source, where the programs go, and every test's flags and
# headers.

KDIR ?=
# lib.mk and kselftest_harness.h come from the kernel source; an O= build
# tree links it as $(KDIR)/source.
KSRC ?= $(if $(wildcard $(KDIR)/source/tools),$(KDIR)/source,$(KDIR))
ifeq ($(wildcard $(KSRC)/tools/testing/selftests/lib.mk),)
$(error no tools/testing/selftests/lib.mk in the kernel source "$(KSRC)": make KDIR=<6.12 tree>)
endif

# Next to their sources, where guest.sh runs them, however make is invoked:
# lib.mk takes OUTPUT from its command line, and from the current directory
# only when it is not a sub-make.
override OUTPUT := $(CURDIR)

CFLAGS += -O2 -g -Wall -pthread -I$(KSRC)/tools/testing/selftests

# Rebuild on a change of any driver's uapi or of any helper header (lib.mk
# keeps LOCAL_HDRS out of the compiler's command line).
LOCAL_HDRS += $(wildcard ../../samples/*/*_uapi.h ../*.h ../*/*.h)
