// SPDX-License-Identifier: GPL-2.0-only
/*
 * jbench: the journal's replay cost (tools/bench-daemon.sh). Writes a
 * journal of N records into DIR with the journal API, then times
 * journal_replay_commands() over it (the fold `sluice journal replay` runs
 * before it applies anything), to the end and to the middle.
 *
 *   jbench DIR N
 *
 * The journal is what a busy daemon writes: a service and 10 backends added
 * first, then `backend set ... weight W` commands over those backends, with
 * one record in 100 a health transition (JOURNAL_HEALTH) and one command in
 * 1000 followed by its JOURNAL_FAILED (which replay must leave out). Record
 * times are 1 ms apart, starting at 2026-01-01. Appends fdatasync each
 * record, so put DIR on a tmpfs (the generation is not what is measured).
 * Prints one JSON line: {"records": N, "generate_s": ..., "replay_s": ...,
 * "replayed": commands emitted, "replay_half_s": ..., "replayed_half": ...}.
 * Exits 0, 1 on an error, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "journal.h"

#define T0_NS 1767225600000000000ull /* 2026-01-01T00:00:00Z */
#define STEP_NS 1000000ull	     /* 1 ms between records */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_cmd(void *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	(*(unsigned long long *)ctx)++;
	return 0;
}

static int append_cmd(struct journal *j, __u64 t, char **argv, int argc, __u64 *seq)
{
	char *p = journal_command_json(argc, argv);
	int err;

	if (!p)
		return -ENOMEM;
	err = journal_append_at(j, JOURNAL_COMMAND, p, (__u32)strlen(p), t, seq);
	free(p);
	return err;
}

static int generate(const char *dir, unsigned long long n)
{
	char addr[32], port[16], weight[16], payload[160];
	char *add_svc[] = { "service", "add", "192.0.2.10", "80", "tcp", "mode", "nat" };
	char *add_be[] = { "backend", "add", "192.0.2.10", "80", "tcp", addr, "port", port };
	char *set_be[] = { "backend", "set",  "192.0.2.10", "80",     "tcp",
			   addr,      "port", port,	    "weight", weight };
	struct journal_opts o = { .segment_size = 0, .no_compress = 1 };
	struct journal *j = NULL;
	unsigned long long i;
	__u64 t = T0_NS, seq;
	int err;

	err = journal_open(dir, &o, &j, NULL);
	if (err)
		return err;
	err = append_cmd(j, t, add_svc, 7, &seq);
	for (i = 1; !err && i < n; i++) {
		unsigned int b = (unsigned int)(i % 10);

		t += STEP_NS;
		snprintf(addr, sizeof(addr), "10.0.0.%u", 11 + b);
		snprintf(port, sizeof(port), "%u", 8080 + b);
		snprintf(weight, sizeof(weight), "%llu", 1 + i % 100);
		if (i <= 10) {
			err = append_cmd(j, t, add_be, 8, &seq);
		} else if (i % 100 == 0) {
			snprintf(payload, sizeof(payload),
				 "{\"service\":\"192.0.2.10 80 tcp\",\"backend\":\"%s %s\","
				 "\"up\":%s,\"why\":\"connection refused\"}",
				 addr, port, i % 200 ? "false" : "true");
			err = journal_append_at(j, JOURNAL_HEALTH, payload, (__u32)strlen(payload),
						t, NULL);
		} else if (i % 1000 == 1 && i + 1 < n) {
			err = append_cmd(j, t, set_be, 10, &seq);
			if (!err) {
				snprintf(payload, sizeof(payload),
					 "{\"seq\":%llu,\"error\":\"bench\"}",
					 (unsigned long long)seq);
				t += STEP_NS;
				i++;
				err = journal_append_at(j, JOURNAL_FAILED, payload,
							(__u32)strlen(payload), t, NULL);
			}
		} else {
			err = append_cmd(j, t, set_be, 10, &seq);
		}
	}
	journal_close(j);
	return err;
}

int main(int argc, char **argv)
{
	unsigned long long n, replayed = 0, half = 0;
	double t0, gen, full, mid;
	char *end;
	int err;

	if (argc != 3 || !(n = strtoull(argv[2], &end, 10)) || *end) {
		fprintf(stderr, "usage: jbench DIR N (N >= 1 records)\n");
		return 2;
	}
	t0 = now_s();
	err = generate(argv[1], n);
	gen = now_s() - t0;
	if (err) {
		fprintf(stderr, "jbench: cannot write the journal in %s: %s\n", argv[1],
			err_text(err));
		return 1;
	}
	t0 = now_s();
	err = journal_replay_commands(argv[1], T0_NS + n * STEP_NS, count_cmd, &replayed);
	full = now_s() - t0;
	t0 = now_s();
	if (!err)
		err = journal_replay_commands(argv[1], T0_NS + n / 2 * STEP_NS, count_cmd, &half);
	mid = now_s() - t0;
	if (err) {
		fprintf(stderr, "jbench: replay failed: %s\n", err_text(err));
		return 1;
	}
	printf("{\"records\": %llu, \"generate_s\": %.3f, \"replay_s\": %.3f, \"replayed\": %llu, "
	       "\"replay_half_s\": %.3f, \"replayed_half\": %llu}\n",
	       n, gen, full, replayed, mid, half);
	return 0;
}
