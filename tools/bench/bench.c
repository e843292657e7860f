// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice-bench: per-packet cost of each sluice_xdp path against the floor
 * (floor_xdp: the same parse, then XDP_PASS), measured side by side in one
 * run through BPF_PROG_TEST_RUN. Both programs are loaded from their
 * skeletons without pinning, so the maps are private to this process and
 * nothing attached or pinned is touched.
 *
 * Method: each path is a 64-byte frame run `repeat` times per test run;
 * the kernel reports the mean time per repetition, with its clock paused
 * whenever the run yields the CPU, so other load on the machine does not
 * leak into it (it is whole ns: at a floor of ~8 ns a ratio is good to
 * about 6 %). The wall time of the run / repeat is printed beside it as a
 * check: it has sub-ns resolution but counts any preemption. Paths are
 * measured round-robin (floor, path 1, path 2, ..., floor, ...) `runs`
 * times so drift hits all of them alike; each reports the median of its
 * runs, and the ratio of its kernel median to the floor's. The figures
 * include the test-run loop (the same for every path). Benchmarks never
 * fail: the exit status is 0 whatever the numbers, non-zero only when
 * nothing could be measured.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/utsname.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "sluice_abi.h"
#include "rate.h"
#include "floor.skel.h"
#include "sluice.skel.h"
#include "../../tests/lib/pktbuild.h"

#define BENCH_RUNS_MAX 99

struct bench_path {
	const char *name;
	const char *what; /* one line: what the path does */
	int floor;	  /* run floor_xdp instead of sluice_xdp */
	const char *dst;  /* destination of the frame: selects the service */
	int action;	  /* XDP action every repetition should return */
	uint8_t frame[PKT_BUF_MAX];
	int len;
	double ns[BENCH_RUNS_MAX];  /* wall time / repeat, per run */
	double kns[BENCH_RUNS_MAX]; /* the kernel's mean per repetition, per run */
	double median;
	double kmedian;
	int wrong_action; /* set when a run returned another action */
};

#define PATH(n, w, f, d, a)                                                       \
	{                                                                         \
		.name = (n), .what = (w), .floor = (f), .dst = (d), .action = (a) \
	}

static struct bench_path paths[] = {
	PATH("floor", "floor_xdp: parse eth/IPv4/TCP, XDP_PASS", 1, "10.0.0.1", XDP_PASS),
	PATH("not_service", "sluice_xdp: IP packet matching no service", 0, "10.0.0.9", XDP_PASS),
	PATH("admitted", "sluice_xdp: service hit, no rate limit", 0, "10.0.0.1", XDP_PASS),
	PATH("admitted_rl", "sluice_xdp: service + client buckets, rate never reached", 0,
	     "10.0.0.2", XDP_PASS),
	PATH("drop_rl", "sluice_xdp: service bucket empty (1 pps), dropped", 0, "10.0.0.3",
	     XDP_DROP),
};

#define N_PATHS (sizeof(paths) / sizeof(paths[0]))

static int verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* A token bucket of pps packets/s and burst packets, built as the CLI builds it. */
static struct sluice_rate rate_of(uint32_t pps, uint32_t burst)
{
	struct sluice_rate r;

	if (rate_make(pps, burst, &r))
		abort();
	return r;
}

static int add_service(struct sluice_bpf *skel, const char *addr, uint32_t id,
		       struct sluice_rate rate, struct sluice_rate client)
{
	struct sluice_svc_key key = { 0 };
	struct sluice_svc val = { 0 };

	key.addr.u32[2] = htonl(0xffff);
	if (inet_pton(AF_INET, addr, &key.addr.u32[3]) != 1)
		return -EINVAL;
	key.port = htons(80);
	key.proto = IPPROTO_TCP;
	val.id = id;
	val.mode = SLUICE_MODE_LOCAL;
	val.rate = rate;
	val.client_rate = client;
	if (bpf_map__update_elem(skel->maps.sl_services, &key, sizeof(key), &val, sizeof(val),
				 BPF_ANY))
		return -errno;
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One test run of repeat repetitions: ns per repetition (wall, kernel), or -errno. */
static int run_once(int prog_fd, struct bench_path *p, int repeat, double *ns, double *kns)
{
	struct bpf_test_run_opts opts;
	double t0;

	/* By hand rather than LIBBPF_OPTS (which cppcheck cannot expand):
	 * libbpf wants every byte past the known fields, padding too, zero. */
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.data_in = p->frame;
	opts.data_size_in = p->len;
	opts.repeat = repeat;
	t0 = now_ns();
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*ns = (now_ns() - t0) / repeat;
	*kns = opts.duration;
	if ((int)opts.retval != p->action)
		p->wrong_action = 1;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[BENCH_RUNS_MAX];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void print_text(int repeat, int runs, const struct utsname *u)
{
	double floor_ns = paths[0].kmedian;
	size_t i;
	int r;

	printf("method: BPF_PROG_TEST_RUN of a 64-byte IPv4 TCP frame, repeat %d per run;\n"
	       "        paths measured round-robin, %d runs each; ns/pkt = median of the\n"
	       "        kernel's mean per repetition (whole ns; its clock pauses while the\n"
	       "        run yields the CPU; test-run loop included, same for every path);\n"
	       "        ratio = ns/pkt of the path / ns/pkt of the floor; wall = median of\n"
	       "        wall time / repeat, as a check. Kernel %s, %ld CPUs online.\n",
	       repeat, runs, u->release, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-12s %6s %7s %7s  %-*s %s\n", "path", "ns/pkt", "ratio", "wall", runs * 4,
	       "runs (ns/pkt)", "what");
	for (i = 0; i < N_PATHS; i++) {
		const struct bench_path *p = &paths[i];

		printf("%-12s %6.0f %6.2fx %7.1f  ", p->name, p->kmedian,
		       floor_ns > 0 ? p->kmedian / floor_ns : 0.0, p->median);
		for (r = 0; r < runs; r++)
			printf("%3.0f ", p->kns[r]);
		printf("%*s", runs < 4 ? (4 - runs) * 4 : 0, "");
		printf(" %s%s\n", p->what,
		       p->wrong_action ? " [WARNING: unexpected XDP action]" : "");
	}
}

static void print_json(int repeat, int runs, const struct utsname *u)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	double floor_ns = paths[0].kmedian;
	size_t i;
	int r;

	json_object_object_add(
		root, "method",
		json_object_new_string("BPF_PROG_TEST_RUN; 64-byte IPv4 TCP frame; "
				       "round-robin runs; median of the kernel's mean "
				       "ns per repetition; ratio = path / floor"));
	json_object_object_add(root, "kernel", json_object_new_string(u->release));
	json_object_object_add(root, "cpus", json_object_new_int(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(root, "repeat", json_object_new_int(repeat));
	json_object_object_add(root, "runs", json_object_new_int(runs));
	for (i = 0; i < N_PATHS; i++) {
		const struct bench_path *p = &paths[i];
		struct json_object *o = json_object_new_object(), *v = json_object_new_array();

		json_object_object_add(o, "path", json_object_new_string(p->name));
		json_object_object_add(o, "what", json_object_new_string(p->what));
		json_object_object_add(o, "ns_per_packet", json_object_new_double(p->kmedian));
		json_object_object_add(o, "wall_ns_per_packet", json_object_new_double(p->median));
		json_object_object_add(
			o, "ratio_to_floor",
			json_object_new_double(floor_ns > 0 ? p->kmedian / floor_ns : 0.0));
		for (r = 0; r < runs; r++)
			json_object_array_add(v, json_object_new_double(p->kns[r]));
		json_object_object_add(o, "runs_ns", v);
		json_object_object_add(o, "action_as_expected",
				       json_object_new_boolean(!p->wrong_action));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "paths", arr);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
	json_object_put(root);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sluice-bench [-j] [-v] [--repeat N] [--runs R]\n"
		   "  --repeat N  repetitions per test run (default 1000000, at least 1000000)\n"
		   "  --runs R    runs per path; the median is reported (default 5, 1..99)\n"
		   "  -j          JSON output\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "runs", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct floor_bpf *fl = NULL;
	struct sluice_bpf *sl = NULL;
	int repeat = 1000000, runs = 5, json = 0, opt, err = 0, r;
	struct utsname u;
	double ns;
	size_t i;

	while ((opt = getopt_long(argc, argv, "jvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (repeat < 1000000 || runs < 1 || runs > BENCH_RUNS_MAX) {
		fprintf(stderr, "sluice-bench: --repeat must be >= 1000000 and --runs 1..%d\n",
			BENCH_RUNS_MAX);
		return 2;
	}
	libbpf_set_print(print_libbpf);
	uname(&u);

	fl = floor_bpf__open_and_load();
	sl = fl ? sluice_bpf__open_and_load() : NULL;
	if (!sl) {
		err = -errno;
		fprintf(stderr, "sluice-bench: cannot load %s: %s (run as root; -v for details)\n",
			fl ? "sluice.bpf.o" : "floor.bpf.o", strerror(-err));
		goto out;
	}
	err = add_service(sl, "10.0.0.1", 1, rate_of(0, 0), rate_of(0, 0));
	/* 1e9 pps: one token per ns, far faster than packets come; never drops. */
	if (!err)
		err = add_service(sl, "10.0.0.2", 2, rate_of(SLUICE_RATE_MAX_PPS, 1000000),
				  rate_of(SLUICE_RATE_MAX_PPS, 1000000));
	if (!err)
		err = add_service(sl, "10.0.0.3", 3, rate_of(1, 1), rate_of(0, 0));
	if (err) {
		fprintf(stderr, "sluice-bench: cannot add the bench services: %s\n",
			strerror(-err));
		goto out;
	}
	for (i = 0; i < N_PATHS; i++) {
		struct pkt_spec s = { .src = "192.0.2.10",
				      .dst = paths[i].dst,
				      .proto = IPPROTO_TCP,
				      .sport = 40000,
				      .dport = 80,
				      .payload = 10 };

		paths[i].len = pkt_build(&s, paths[i].frame, sizeof(paths[i].frame), NULL);
		if (paths[i].len < 0) {
			err = paths[i].len;
			fprintf(stderr, "sluice-bench: cannot build frame: %s\n", strerror(-err));
			goto out;
		}
	}
	/* Warm up every path once (this also empties the 1 pps bucket). */
	for (i = 0; i < N_PATHS; i++) {
		int fd = bpf_program__fd(paths[i].floor ? fl->progs.floor_xdp
							: sl->progs.sluice_xdp);

		err = run_once(fd, &paths[i], 1000, &ns, &ns);
		if (err) {
			fprintf(stderr, "sluice-bench: BPF_PROG_TEST_RUN failed: %s\n",
				strerror(-err));
			goto out;
		}
		paths[i].wrong_action = 0;
	}
	for (r = 0; r < runs; r++) {
		for (i = 0; i < N_PATHS; i++) {
			int fd = bpf_program__fd(paths[i].floor ? fl->progs.floor_xdp
								: sl->progs.sluice_xdp);

			err = run_once(fd, &paths[i], repeat, &paths[i].ns[r], &paths[i].kns[r]);
			if (err) {
				fprintf(stderr, "sluice-bench: BPF_PROG_TEST_RUN failed: %s\n",
					strerror(-err));
				goto out;
			}
		}
	}
	for (i = 0; i < N_PATHS; i++) {
		paths[i].median = median(paths[i].ns, runs);
		paths[i].kmedian = median(paths[i].kns, runs);
	}
	if (json)
		print_json(repeat, runs, &u);
	else
		print_text(repeat, runs, &u);
out:
	sluice_bpf__destroy(sl);
	floor_bpf__destroy(fl);
	return err ? 1 : 0;
}
