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

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0)
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -D_GNU_SOURCE $(WARN) -I$(BUILD) -Imaps -Ibpf/lib -Iuserspace -Iloader \
	$(NL_CFLAGS)
LDLIBS := -lbpf -lelf -lz -ljson-c -lyaml -lcurl -lnl-route-3 -lnl-3

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/lib/*.h maps/*.h)

LIB_SRCS := $(wildcard userspace/*.c loader/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB_HDRS := $(wildcard userspace/*.h loader/*.h maps/*.h bpf/lib/*.h)
TOOL_HDRS := $(wildcard tools/sluice/*.h tools/sluiced/*.h)
LIB := $(BUILD)/libsluice.a

CLI_SRCS := $(wildcard tools/sluice/*.c)
CLI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
CLI := $(BUILD)/sluice

DAEMON_SRCS := $(wildcard tools/sluiced/*.c)
DAEMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(DAEMON_SRCS))
# The daemon runs write commands through the CLI's own dispatcher (cli_run).
DAEMON_OBJS += $(filter-out $(BUILD)/obj/tools/sluice/main.o,$(CLI_OBJS))
DAEMON := $(if $(DAEMON_SRCS),$(BUILD)/sluiced)

BENCH_SRCS := $(wildcard tools/bench/*.c)
BENCH := $(BUILD)/sluice-bench

# Test programs: each tests/{unit,bpf}/test_*.c is one cmocka binary;
# tests/integration/*.c are helper tools the shell tests use.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
TEST_HELPERS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(wildcard tests/integration/*.c))
TEST_COMMON := $(wildcard tests/lib/*.c)

all: $(CLI) $(DAEMON) $(BPF_OBJS)

deps:
	@sh tools/deps.sh

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c $(LIB_HDRS) $(TOOL_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(CLI): $(CLI_OBJS) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(BUILD)/sluiced: $(DAEMON_OBJS) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(DAEMON_OBJS) $(LIB) $(LDLIBS)

$(BENCH): $(BENCH_SRCS) $(TEST_COMMON) $(LIB) $(LIB_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $(BENCH_SRCS) $(TEST_COMMON) $(LIB) $(LDLIBS) -lm

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON) $(LIB) $(LIB_HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(TEST_COMMON) $(LIB) $(LDLIBS) -lcmocka -lm

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
		-D__linux__ -Imaps -Iuserspace -Iloader \
		userspace loader tools tests
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
