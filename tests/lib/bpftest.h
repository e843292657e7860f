/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bpftest: what the data-plane tests (tests/bpf) and the benchmarks
 * (tools/bench) both do to drive sluice_xdp through BPF_PROG_TEST_RUN on
 * private, unpinned maps: parse addresses the way the maps hold them, build
 * token buckets, write services, publish Maglev tables, sum per-CPU
 * counters, and build the namespace with the gw0/gw1 veth pairs that
 * bpf_fib_lookup needs. No cmocka here (the bench links this file too):
 * functions return 0 or -errno and the caller asserts or reports.
 */
#ifndef SLUICE_BPFTEST_H
#define SLUICE_BPFTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice_abi.h"

struct bpf_map;

/*
 * Start of a BPF suite's group setup: libbpf quiet unless
 * SLUICE_TEST_VERBOSE is set, root, the possible CPUs. 0 with *ncpus, or -1
 * with *why saying what is missing (the suite then skips).
 */
int bt_suite_start(int *ncpus, const char **why);

struct bpf_object;

/*
 * Before obj's load: each of its maps (.rodata and .bss aside) reuses the
 * map of the same name in from (loaded), so a second entry (sluice_tc)
 * runs on the first one's maps. 0, or -ENOENT when from lacks one.
 */
int bt_reuse_maps(struct bpf_object *obj, struct bpf_object *from);

/* "10.0.0.1" (as ::ffff:10.0.0.1) or "2001:db8::1" into a; 0 or -EINVAL. */
int bt_addr_parse(const char *s, union sluice_addr *a);

/* A token bucket of pps packets/s and burst packets, built as the CLI builds it. */
struct sluice_rate bt_rate_of(uint32_t pps, uint32_t burst);

/*
 * Add or replace the service addr:port/proto of sl_services with val, and
 * (byid not NULL) its sl_svc_byid entry as svc.c writes it; 0 or -errno.
 */
int bt_svc_put(struct bpf_map *services, struct bpf_map *byid, const char *addr, uint16_t port,
	       uint8_t proto, const struct sluice_svc *val);

/* Sum of one per-CPU counter of map over ncpus possible CPUs; 0 or -errno. */
int bt_counter_sum(struct bpf_map *map, uint32_t idx, int ncpus, struct sluice_counter *sum);

/*
 * Publish a Maglev table the way the control plane does: a fresh
 * BPF_F_INNER_MAP array (named name) of entries words, table[0] being the
 * table size M and table[1..M] the slots, then one update of sl_maglev
 * (outer) at table_id. 0 or -errno.
 */
int bt_maglev_publish(struct bpf_map *outer, uint32_t table_id, const uint32_t *table,
		      uint32_t entries, const char *name);

/*
 * Build the table the control plane would publish for backends ids[0..n-1]
 * of bes (equal weights, identities from publish_identity()): table[0] = m,
 * table[1..m] the slots. 0 or -errno.
 */
int bt_table_build(const struct sluice_backend *bes, const uint32_t *ids, int n, uint32_t m,
		   uint32_t *table);

/*
 * Run a shell command built from fmt. 0, or -EIO with "setup command
 * failed (status): command" in err.
 */
int bt_vsh(char *err, size_t size, const char *fmt, va_list ap);
int bt_sh(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Move into a network namespace of our own with lo up and two veth pairs,
 * up: gw0 (peer cl0, 192.0.2.1/24, the client side) and gw1 (peer be1,
 * 10.1.0.1/24, towards the backends); mac_gw0/mac_gw1 ("02:...") set their
 * addresses, NULL leaves the kernel's. 0, or -errno with what failed in err.
 */
int bt_netns_enter(const char *mac_gw0, const char *mac_gw1, char *err, size_t size);

#endif
