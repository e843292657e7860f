# SPDX-License-Identifier: GPL-2.0-only
# Sluice build. Everything generated goes under $(BUILD) (git-ignored).
#
#   make          build BPF objects, skeletons, libsluice, the sluice CLI
#   make deps     install missing Debian packages (tools/debian-packages)
#   make test     deps + build + every test (unit, BPF test-run, integration)
#   make demo     deps + build + rate-limiting demo on a namespace lab
#   make bench    deps + build + benchmarks (not part of test)
#   make format / make check

BUILD ?= build
CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Wextra -Werror \
	-D__TARGET_ARCH_$(ARCH) -Imaps -Ibpf/lib -idirafter /usr/include/$(MULTIARCH)

# The library's layers (README "Architecture"): each folder is on the include
# path, and tools/check-layers.sh keeps every include pointing down.
LAYERS := userspace/core loader userspace/dataplane userspace/net userspace/cmd userspace/state

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0)
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -D_GNU_SOURCE $(WARN) -I$(BUILD) -Imaps -Ibpf/lib \
	$(addprefix -I,$(LAYERS)) $(NL_CFLAGS)
# One dependency file per object: an object is rebuilt when a header it includes changes.
DEPFLAGS = -MMD -MP
LDLIBS := -lbpf -lelf -lz -ljson-c -lyaml -lcurl -lnl-route-3 -lnl-3

# The data-plane programs, and the benchmark's floors (built the same way, kept
# next to the benchmark).
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BENCH_BPF_SRCS := $(wildcard tools/bench/bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS)) \
	$(patsubst tools/bench/bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BENCH_BPF_SRCS))
SKELS := $(patsubst $(BUILD)/bpf/%.bpf.o,$(BUILD)/%.skel.h,$(BPF_OBJS))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_SRCS := $(foreach d,$(LAYERS),$(wildcard $(d)/*.c))
LIB_OBJS := $(call obj,$(LIB_SRCS))
LIB := $(BUILD)/libsluice.a

CLI_SRCS := $(wildcard tools/sluice/*.c)
CLI_OBJS := $(call obj,$(CLI_SRCS))
CLI := $(BUILD)/sluice

DAEMON_SRCS := $(wildcard tools/sluiced/*.c)
DAEMON_OBJS := $(call obj,$(DAEMON_SRCS))
DAEMON := $(if $(DAEMON_SRCS),$(BUILD)/sluiced)

BENCH_SRCS := $(wildcard tools/bench/*.c)
BENCH := $(BUILD)/sluice-bench

# Test programs: each tests/{unit,bpf}/test_*.c is one cmocka binary;
# tests/integration/*.c are helper tools the shell tests use; tests/lib/*.c
# the fixtures they share.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
TEST_HELPERS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(wildcard tests/integration/*.c))
TEST_COMMON_OBJS := $(call obj,$(wildcard tests/lib/*.c))

all: $(CLI) $(DAEMON) $(BPF_OBJS)

deps:
	@sh tools/deps.sh

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/bpf/%.bpf.o: tools/bench/bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# Skeletons are generated before any C object (a fresh tree has no .d files yet
# to say which objects include them); afterwards the .d files track them.
$(BUILD)/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Itests/lib -c $< -o $@

$(LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(CLI): $(CLI_OBJS) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(BUILD)/sluiced: $(DAEMON_OBJS) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(DAEMON_OBJS) $(LIB) $(LDLIBS)

$(BENCH): $(call obj,$(BENCH_SRCS)) $(TEST_COMMON_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lm

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_COMMON_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lm

-include $(shell find $(BUILD)/obj $(BUILD)/bpf -name '*.d' 2>/dev/null)

tests: $(UNIT_TESTS) $(BPF_TESTS) $(TEST_HELPERS) $(CLI) $(DAEMON) $(BPF_OBJS)

# check first: formatting, static analysis and the sanitizer run gate the suite.
test: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) sh tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all $(TEST_HELPERS)
	@BUILD=$(BUILD) bash tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH) $(TEST_HELPERS)
	@BUILD=$(BUILD) sh tools/bench.sh

C_FILES = $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(C_FILES)

check: deps
	clang-format --dry-run --Werror $(C_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem --std=c11 \
		-D__linux__ -Imaps $(addprefix -I,$(LAYERS)) \
		-i tools/bench/bpf userspace loader tools tests
	sh tools/check-layers.sh
	@$(MAKE) --no-print-directory clean-asan
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		$(addprefix $(BUILD)/asan/tests/unit/,$(notdir $(UNIT_TESTS)))
	@for t in $(BUILD)/asan/tests/unit/test_*; do $$t >/dev/null 2>&1 || { $$t; exit 1; }; done
	@echo "check: clang-format, cppcheck and unit tests under ASan+UBSan clean"

clean-asan:
	rm -rf $(BUILD)/asan

clean:
	rm -rf $(BUILD)

.PHONY: all deps tests test demo bench format check clean clean-asan
.DELETE_ON_ERROR:
.SECONDARY:
