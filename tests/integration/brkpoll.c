// SPDX-License-Identifier: GPL-2.0-only
/*
 * brkpoll: watch, from outside, what the data plane sees of some backends'
 * circuit breakers: polls the pinned sl_breakers (state) and sl_be_signals
 * (passive signals, per-CPU, summed) every 0.5 ms and prints a line each time
 * one of them changes, with a CLOCK_REALTIME timestamp. The breaker test and
 * the reaction-time benchmark (tests/integration/test_resilience.sh,
 * tools/bench.sh) read from it when the threshold was crossed (the N-th
 * refused signal) and when the breaker the data plane reads turned open,
 * independently of `sluice breaker watch`'s own output.
 *
 *   brkpoll PIN_ROOT DURATION_MS ID[,ID...]
 *
 * Lines: "T_US ID STATE REFUSED UNREACHABLE SUCCESSES PROBES", STATE being
 * closed, open or half-open, counters since brkpoll started; the first line
 * per backend is its state at the start. Runs DURATION_MS (at most 120000)
 * or until SIGTERM / SIGINT.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "breaker.h"
#include "err.h"
#include "maps.h"
#include "sluice_abi.h"
#include "tool.h"

#define MAX_IDS 64

struct seen {
	__u32 id;
	__u32 state;
	struct sluice_be_signals base, last;
};

int main(int argc, char **argv)
{
	struct seen seen[MAX_IDS];
	struct sluice_maps m;
	int n = 0, i;
	long duration_ms;
	long long deadline;
	char *end, *tok, *save = NULL;

	if (argc != 4) {
		fprintf(stderr, "usage: brkpoll PIN_ROOT DURATION_MS ID[,ID...]\n");
		return 2;
	}
	if (tool_long(argv[2], 1, 120000, &duration_ms)) {
		fprintf(stderr, "brkpoll: DURATION_MS must be 1..120000\n");
		return 2;
	}
	for (tok = strtok_r(argv[3], ",", &save); tok && n < MAX_IDS;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long v = strtoul(tok, &end, 10);

		if (*end || v >= SLUICE_MAX_BACKENDS) {
			fprintf(stderr, "brkpoll: bad backend id '%s'\n", tok);
			return 2;
		}
		memset(&seen[n], 0, sizeof(seen[n]));
		seen[n++].id = (__u32)v;
	}
	/* The library's reader sums the per-CPU signals; sl_breakers is read by hand. */
	if (maps_open(&m, argv[1])) {
		fprintf(stderr, "brkpoll: %s\n", err_msg());
		return 1;
	}
	tool_catch_stop();
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (i = 0; i < n; i++) {
		struct sluice_breaker b = { 0 };

		bpf_map_lookup_elem(m.breakers, &seen[i].id, &b);
		maps_read_be_signals(&m, seen[i].id, &seen[i].base);
		seen[i].last = seen[i].base;
		seen[i].state = b.state;
		printf("%lld %u %s 0 0 0 0\n", tool_clock_us(CLOCK_REALTIME), seen[i].id,
		       brk_state_name(b.state));
	}
	deadline = tool_clock_us(CLOCK_MONOTONIC) + duration_ms * 1000LL;
	while (!tool_stop && tool_clock_us(CLOCK_MONOTONIC) < deadline) {
		for (i = 0; i < n; i++) {
			struct sluice_breaker b = { 0 };
			struct sluice_be_signals s;
			struct seen *e = &seen[i];

			if (bpf_map_lookup_elem(m.breakers, &e->id, &b) ||
			    maps_read_be_signals(&m, e->id, &s))
				continue;
			if (b.state == e->state && !memcmp(&s, &e->last, sizeof(s)))
				continue;
			e->state = b.state;
			e->last = s;
			printf("%lld %u %s %llu %llu %llu %llu\n", tool_clock_us(CLOCK_REALTIME),
			       e->id, brk_state_name(b.state),
			       (unsigned long long)(s.refused - e->base.refused),
			       (unsigned long long)(s.unreachable - e->base.unreachable),
			       (unsigned long long)(s.successes - e->base.successes),
			       (unsigned long long)(s.probes - e->base.probes));
		}
		usleep(500);
	}
	maps_close(&m);
	return 0;
}
