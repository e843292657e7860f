# SPDX-License-Identifier: GPL-2.0-only
# Sluice build. Everything generated goes under $(BUILD) (git-ignored).
#
#   make          build BPF objects, skeletons, libsluice, the sluice CLI
#   make docs     man pages (doc/*.scd, scdoc) and the bash completion
#   make install  [PREFIX=/usr/local] [DESTDIR=] binaries, decap object, unit,
#                 example config, man pages, completion, monitoring; uninstall
#   make deb      the Debian package (debian/, dpkg-buildpackage) into $(BUILD)/deb
#   make deps     install missing Debian packages (tools/debian-packages)
#   make test     deps + build + every test (unit, BPF test-run, integration)
#   make demo     deps + build + the demo on a namespace lab (load balancing,
#                 rate limits, resilience, the daemon, sluice trace)
#   make bench    deps + build + benchmarks (not part of test)
#   make fuzz     deps + libFuzzer harnesses (tests/fuzz/), FUZZ_SECONDS each, and
#                 PKTFUZZ_FRAMES frames through the data plane (tests/bpf/test_pktfuzz)
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
LDLIBS := -lbpf -lelf -lz -ljson-c -lyaml -lcurl -lsodium -lnl-route-3 -lnl-3 -lsystemd -lpcap

# The data-plane programs, and the benchmark's floors (built the same way, kept
# next to the benchmark).
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BENCH_BPF_SRCS := $(wildcard tools/bench/bpf/*.bpf.c)
# Test-only entries over one stage each (tests/bpf/*.bpf.c), driven by test-run.
TEST_BPF_SRCS := $(wildcard tests/bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS)) \
	$(patsubst tools/bench/bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BENCH_BPF_SRCS)) \
	$(patsubst tests/bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(TEST_BPF_SRCS))
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

# Fuzzing: each tests/fuzz/fuzz_NAME.c is one libFuzzer harness with a seed
# corpus in tests/fuzz/corpus/NAME/. `make test` replays every corpus file
# through replay_NAME (the harness with tests/fuzz/replay.c's main(), the
# normal compiler); `make fuzz` builds the harnesses with clang's libFuzzer
# and sanitizers under $(BUILD)/fuzz and runs each for FUZZ_SECONDS. New
# inputs go to $(BUILD)/fuzz/corpus/NAME, findings to $(BUILD)/fuzz/artifacts.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAYS := $(addprefix $(BUILD)/tests/fuzz/replay_,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 60
# The packet fuzzer of the data plane (tests/bpf/test_pktfuzz.c): frames
# through sluice_xdp; `make test` runs its default sample (10^5).
PKTFUZZ_FRAMES ?= 10000000
FUZZ_FLAGS ?= -timeout=10 -rss_limit_mb=2048
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

# Man pages (scdoc) and the bash completion, generated from the CLI's help.
MAN_SRCS := $(wildcard doc/*.scd)
MANS := $(patsubst doc/%.scd,$(BUILD)/man/%,$(MAN_SRCS))
COMPLETION := $(BUILD)/completion/sluice

all: $(CLI) $(DAEMON) $(BPF_OBJS)

docs: $(MANS) $(COMPLETION)

$(BUILD)/man/%: doc/%.scd
	@mkdir -p $(@D)
	scdoc < $< > $@

$(COMPLETION): $(CLI) tools/gen-completion.sh tools/cli-words.sh
	@mkdir -p $(@D)
	sh tools/gen-completion.sh $(CLI) > $@

deps:
	@sh tools/deps.sh

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/bpf/%.bpf.o: tools/bench/bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/bpf/%.bpf.o: tests/bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# Skeletons are generated before any C object (a fresh tree has no .d files yet
# to say which objects include them); afterwards the .d files track them.
$(BUILD)/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -Itests/lib -c $< -o $@

$(LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(CLI): $(CLI_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(BUILD)/sluiced: $(DAEMON_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(DAEMON_OBJS) $(LIB) $(LDLIBS)

$(BENCH): $(call obj,$(BENCH_SRCS)) $(TEST_COMMON_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lm

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_COMMON_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lm

$(BUILD)/tests/fuzz/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Install (Debian paths with PREFIX=/usr UNITDIR=/lib/systemd/system). The
# data plane's object is inside the binaries (its skeleton); decap.bpf.o is
# the backends' side of ipip mode, for ip link ... xdp obj.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib/sluice
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/sluice
DATADIR ?= $(PREFIX)/share/sluice
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
INSTALLED = $(SBINDIR)/sluice $(SBINDIR)/sluiced $(LIBDIR)/decap.bpf.o \
	$(UNITDIR)/sluiced.service $(DOCDIR)/examples/sluiced.yaml \
	$(addprefix $(MANDIR)/man8/,sluice.8 sluiced.8) $(MANDIR)/man5/sluiced.yaml.5 \
	$(COMPLETIONDIR)/sluice $(DATADIR)/monitoring/sluice-dashboard.json \
	$(DATADIR)/monitoring/sluice-alerts.yml

install: all docs
	install -d $(addprefix $(DESTDIR),$(SBINDIR) $(LIBDIR) $(UNITDIR) $(DOCDIR)/examples \
		$(MANDIR)/man5 $(MANDIR)/man8 $(COMPLETIONDIR) $(DATADIR)/monitoring \
		$(SYSCONFDIR)/sluice)
	install -m 0755 $(CLI) $(DAEMON) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(BUILD)/bpf/decap.bpf.o $(DESTDIR)$(LIBDIR)/
	sed 's|/usr/sbin/sluiced|$(SBINDIR)/sluiced|;s|/etc/sluice/|$(SYSCONFDIR)/sluice/|' \
		tools/sluiced.service > $(DESTDIR)$(UNITDIR)/sluiced.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sluiced.service
	install -m 0644 tools/sluiced.example.yaml $(DESTDIR)$(DOCDIR)/examples/sluiced.yaml
	install -m 0644 $(BUILD)/man/sluice.8 $(BUILD)/man/sluiced.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(BUILD)/man/sluiced.yaml.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(COMPLETION) $(DESTDIR)$(COMPLETIONDIR)/sluice
	install -m 0644 tools/monitoring/sluice-dashboard.json tools/monitoring/sluice-alerts.yml \
		$(DESTDIR)$(DATADIR)/monitoring/

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(addprefix $(DESTDIR),$(DATADIR)/monitoring $(DATADIR) $(DOCDIR)/examples \
		$(DOCDIR) $(LIBDIR) $(SYSCONFDIR)/sluice) 2>/dev/null

# The package is built from a copy of the tracked files under $(BUILD)/deb
# (dpkg-buildpackage writes its results next to the source tree).
DEB_VERSION = $(shell dpkg-parsechangelog -S Version)
deb: deps
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/sluice
	git ls-files -z | xargs -0 tar -cf - | tar -xf - -C $(BUILD)/deb/sluice
	cd $(BUILD)/deb/sluice && dpkg-buildpackage -b -us -uc -j2
	lintian --fail-on error $(BUILD)/deb/sluice_$(DEB_VERSION)_*.deb
	@ls $(BUILD)/deb/*.deb


# Built in the recursive make of `fuzz` (CC=clang, CFLAGS=FUZZ_CFLAGS).
$(BUILD)/fuzzers/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

DEP_FILES := $(shell find $(BUILD)/obj $(BUILD)/bpf -name '*.d' 2>/dev/null)
-include $(DEP_FILES)
# An object an older Makefile built has no .d file to say what it includes:
# build it once more.
$(filter-out $(DEP_FILES:.d=.o),$(shell find $(BUILD)/obj -name '*.o' 2>/dev/null)): FORCE
FORCE:

tests: $(UNIT_TESTS) $(BPF_TESTS) $(TEST_HELPERS) $(FUZZ_REPLAYS) $(CLI) $(DAEMON) $(BPF_OBJS) docs

# check first: formatting, static analysis and the sanitizer run gate the suite.
# The Debian package is built too (about 30 s) for test_install to install;
# a failed build is that suite's failure (SLUICE_TEST_DEB), not the run's end.
test: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory deb >$(BUILD)/deb.log 2>&1 || \
		echo "test: make deb failed (see $(BUILD)/deb.log); test_install will say so"
	@BUILD=$(BUILD) SLUICE_TEST_DEB=1 sh tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all $(TEST_HELPERS)
	@BUILD=$(BUILD) bash tools/demo.sh

fuzz: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz CC=$(CLANG) CFLAGS="$(FUZZ_CFLAGS)" \
		$(addprefix $(BUILD)/fuzz/fuzzers/fuzz_,$(FUZZ_NAMES))
	@mkdir -p $(BUILD)/fuzz/artifacts
	@for n in $(FUZZ_NAMES); do \
		mkdir -p $(BUILD)/fuzz/corpus/$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/fuzzers/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) \
			-artifact_prefix=$(BUILD)/fuzz/artifacts/$$n- -print_final_stats=1 \
			$(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n 2>$(BUILD)/fuzz/$$n.log || \
			{ tail -n 40 $(BUILD)/fuzz/$$n.log; echo "fuzz: $$n found a bug" \
			"(input in $(BUILD)/fuzz/artifacts/, log $(BUILD)/fuzz/$$n.log)"; exit 1; }; \
		grep -E '^stat::number_of_executed_runs|^Done' $(BUILD)/fuzz/$$n.log; \
	done
	@echo "fuzz: $(words $(FUZZ_NAMES)) harnesses ran $(FUZZ_SECONDS) s each without a finding"
	@$(MAKE) --no-print-directory $(BUILD)/tests/bpf/test_pktfuzz
	@echo "fuzz: packets, $(PKTFUZZ_FRAMES) frames through sluice_xdp"
	@PKTFUZZ_FRAMES=$(PKTFUZZ_FRAMES) $(BUILD)/tests/bpf/test_pktfuzz

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
		-i tools/bench/bpf $(addprefix -i ,$(TEST_BPF_SRCS)) userspace loader tools tests
	sh tools/check-layers.sh
	@$(MAKE) --no-print-directory clean-asan
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		$(addprefix $(BUILD)/asan/tests/unit/,$(notdir $(UNIT_TESTS))) \
		$(addprefix $(BUILD)/asan/tests/fuzz/,$(notdir $(FUZZ_REPLAYS)))
	@for t in $(BUILD)/asan/tests/unit/test_*; do $$t >/dev/null 2>&1 || { $$t; exit 1; }; done
	@for n in $(FUZZ_NAMES); do t=$(BUILD)/asan/tests/fuzz/replay_$$n; \
		$$t tests/fuzz/corpus/$$n >/dev/null 2>&1 || { $$t tests/fuzz/corpus/$$n; exit 1; }; done
	@echo "check: clang-format, cppcheck, unit tests and fuzz corpora under ASan+UBSan clean"

clean-asan:
	rm -rf $(BUILD)/asan

clean:
	rm -rf $(BUILD)

.PHONY: FORCE all docs install uninstall deb deps tests test demo bench fuzz format check clean clean-asan
.DELETE_ON_ERROR:
.SECONDARY:
