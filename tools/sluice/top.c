// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice top: a live view of the data plane. Every interval it reads the
 * pinned counters (as `stats` and `backend show` do, summed over CPUs) and
 * prints what changed per second: per service, packets and bytes by verdict
 * group (admitted, forwarded, drops, refusals) and the bulkhead in use; per
 * backend, packets, bytes and new flows per second and its breaker state.
 * Text on a terminal redraws the screen (ANSI home + clear); otherwise the
 * blocks follow each other. -j prints one JSON object per refresh (JSON
 * lines). --count N stops after N refreshes; SIGINT stops it cleanly.
 *
 * The first refresh comes one interval after start: a rate needs two
 * readings. A service or backend that appeared (or was re-added, its
 * counters zeroed) between two readings counts from zero.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "backend.h"
#include "breaker.h"
#include "clock.h"
#include "err.h"
#include "main.h"
#include "maps.h"
#include "out.h"
#include "svc.h"

#define TOP_INTERVAL_DEFAULT 1000u /* ms */
#define TOP_INTERVAL_MIN 10u
#define TOP_INTERVAL_MAX 3600000u

static int do_help(void)
{
	fprintf(out_file(),
		"Usage: sluice top [ADDR PORT PROTO] [--interval MS] [--count N]\n"
		"       sluice top help\n"
		"\n"
		"ADDR PORT PROTO := a service, as in 'sluice service' (192.0.2.10 80 tcp)\n"
		"MS              := refresh interval in milliseconds, %u..%u (default %u)\n"
		"N               := stop after N refreshes (default: until SIGINT)\n"
		"\n"
		"Every MS, the rates since the previous reading of the pinned counters:\n"
		"per service, packets/s and bytes/s by verdict group and the connections\n"
		"its bulkhead holds; per backend, packets/s, bytes/s, new flows/s and its\n"
		"breaker state. Groups: admitted (admitted), forwarded (forwarded,\n"
		"forwarded_stack, rev_nat, ttl), drops (drop_svc_rate, drop_client_rate,\n"
		"no_backend, too_big, encap_fail), refusals (bh_service, bh_global,\n"
		"brk_open, no_leader, leader_moved); see 'sluice stats help'. The first refresh comes after one\n"
		"interval. On a terminal the screen is redrawn; otherwise blocks follow\n"
		"each other. With -j, one JSON object per refresh (JSON lines).\n"
		"\n"
		"Examples:\n"
		"  sluice top\n"
		"  sluice top 192.0.2.10 80 tcp --interval 500\n"
		"  sluice -j top --count 5 | jq -c '.services[] | {id, forwarded}'\n",
		TOP_INTERVAL_MIN, TOP_INTERVAL_MAX, TOP_INTERVAL_DEFAULT);
	return 0;
}

enum top_group { TOP_ADMITTED, TOP_FORWARDED, TOP_DROPS, TOP_REFUSALS, TOP_GROUPS };

static const char *const group_names[TOP_GROUPS] = { "admitted", "forwarded", "drops", "refusals" };

/* The group a service reason counts in, or -1 (not a service verdict). */
static int group_of(unsigned int r)
{
	switch (r) {
	case SLUICE_R_ADMITTED:
		return TOP_ADMITTED;
	case SLUICE_R_FWD:
	case SLUICE_R_FWD_STACK:
	case SLUICE_R_REV_NAT:
	case SLUICE_R_TTL:
		return TOP_FORWARDED;
	case SLUICE_R_DROP_SVC_RATE:
	case SLUICE_R_DROP_CLIENT_RATE:
	case SLUICE_R_NO_BACKEND:
	case SLUICE_R_TOO_BIG:
	case SLUICE_R_ENCAP_FAIL:
		return TOP_DROPS;
	default:
		/* One list of refusals: the ABI's (a RST or a drop, refuse stage). */
		return SLUICE_R_IS_REFUSAL(r) ? TOP_REFUSALS : -1;
	}
}

/* One reading of the counters. */
struct top_snap {
	__u64 t_ns;		     /* CLOCK_MONOTONIC of the reading */
	struct maps_svc_entry *svcs; /* services shown */
	size_t nsvcs;
	struct sluice_counter *groups; /* nsvcs * TOP_GROUPS */
	__s64 *in_use;		       /* nsvcs: bulkhead connections */
	struct backend_info *bes;      /* their backends, with counters */
	size_t nbes;
	struct sluice_breaker *breakers; /* SLUICE_MAX_BACKENDS */
};

static void snap_free(struct top_snap *s)
{
	free(s->svcs);
	free(s->groups);
	free(s->in_use);
	free(s->bes);
	free(s->breakers);
	memset(s, 0, sizeof(*s));
}

/* Read everything top shows (one service when key is not NULL). 0 or -errno. */
static int snap_read(const struct sluice_maps *m, const struct sluice_svc_key *key,
		     struct top_snap *s)
{
	struct sluice_counter c[SLUICE_R_MAX];
	size_t i;
	unsigned int r;
	int err, g;

	memset(s, 0, sizeof(*s));
	s->t_ns = clock_mono_ns();
	if (key) {
		s->svcs = calloc(1, sizeof(*s->svcs));
		if (!s->svcs)
			return -ENOMEM;
		s->svcs[0].key = *key;
		err = svc_get(m, key, &s->svcs[0].svc);
		if (err)
			return err;
		s->nsvcs = 1;
	} else {
		err = svc_list(m, &s->svcs, &s->nsvcs);
		if (err)
			return err;
	}
	s->groups = calloc(s->nsvcs * TOP_GROUPS + 1, sizeof(*s->groups));
	s->in_use = calloc(s->nsvcs + 1, sizeof(*s->in_use));
	s->breakers = calloc(SLUICE_MAX_BACKENDS, sizeof(*s->breakers));
	if (!s->groups || !s->in_use || !s->breakers)
		return -ENOMEM;
	for (i = 0; i < s->nsvcs; i++) {
		err = maps_read_svc_counters(m, s->svcs[i].svc.id, c);
		if (!err)
			err = maps_read_conns(m, s->svcs[i].svc.id, &s->in_use[i]);
		if (err)
			return err;
		for (r = 0; r < SLUICE_R_MAX; r++) {
			g = group_of(r);
			if (g < 0)
				continue;
			s->groups[i * TOP_GROUPS + g].packets += c[r].packets;
			s->groups[i * TOP_GROUPS + g].bytes += c[r].bytes;
		}
	}
	err = maps_read_breakers(m, s->breakers);
	if (err)
		return err;
	return backend_list(m, key, &s->bes, &s->nbes);
}

/* The counter's increase per second from old to cur (a reset counts from zero). */
static __u64 rate(__u64 old, __u64 cur, __u64 dt_ns)
{
	__u64 d = cur >= old ? cur - old : cur;

	return dt_ns ? (__u64)((long double)d * 1e9L / (long double)dt_ns) : 0;
}

static const struct sluice_counter *prev_groups(const struct top_snap *p, __u32 svc_id)
{
	size_t i;

	for (i = 0; i < p->nsvcs; i++)
		if (p->svcs[i].svc.id == svc_id)
			return &p->groups[i * TOP_GROUPS];
	return NULL;
}

static const struct backend_info *prev_backend(const struct top_snap *p,
					       const struct backend_info *b)
{
	size_t i;

	for (i = 0; i < p->nbes; i++)
		if (p->bes[i].id == b->id && p->bes[i].be.svc_id == b->be.svc_id)
			return &p->bes[i];
	return NULL;
}

static void print_backend(const struct top_snap *p, const struct top_snap *c,
			  const struct backend_info *b)
{
	static const struct sluice_be_counter zero;
	const struct backend_info *o = prev_backend(p, b);
	const struct sluice_be_counter *oc = o ? &o->counters : &zero;
	__u64 dt = c->t_ns - p->t_ns;
	char a[ADDR_STRLEN];

	if (addr_format(&b->be.addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	out_open_obj(NULL);
	out_u64("id", "  backend %-4llu", b->id);
	out_str("address", " %s", a);
	out_u64("port", " port %-5llu", b->port);
	out_str("state", " %-8s", b->be.state == SLUICE_BE_DRAINING ? "draining" : "active");
	out_u64("pps", " pps %-9llu", rate(oc->packets, b->counters.packets, dt));
	out_u64("bytes_per_s", " B/s %-11llu", rate(oc->bytes, b->counters.bytes, dt));
	out_u64("new_flows_per_s", " new/s %-7llu", rate(oc->new_flows, b->counters.new_flows, dt));
	out_str("breaker", " breaker %s\n",
		b->id < SLUICE_MAX_BACKENDS ? brk_state_name(c->breakers[b->id].state) : "?");
	out_close_obj();
}

static void print_service(const struct top_snap *p, const struct top_snap *c, size_t i)
{
	static const struct sluice_counter zero[TOP_GROUPS];
	const struct maps_svc_entry *e = &c->svcs[i];
	const struct sluice_counter *o = prev_groups(p, e->svc.id);
	const struct sluice_counter *n = &c->groups[i * TOP_GROUPS];
	__u64 dt = c->t_ns - p->t_ns;
	char k[SVC_KEY_STRLEN];
	size_t j;
	int g;

	if (!o)
		o = zero;
	svc_key_format_args(&e->key, k, sizeof(k));
	out_open_obj(NULL);
	out_u64("id", "service %llu:", e->svc.id);
	out_str("service", " %s", k);
	out_str("mode", " mode %s", args_mode_name(e->svc.mode));
	out_s64("in_use", " bulkhead in use %lld\n", c->in_use[i] < 0 ? 0 : c->in_use[i]);
	for (g = 0; g < TOP_GROUPS; g++) {
		out_open_obj(group_names[g]);
		out_text("  %-10s", group_names[g]);
		out_u64("pps", " pps %-12llu", rate(o[g].packets, n[g].packets, dt));
		out_u64("bytes_per_s", " B/s %llu\n", rate(o[g].bytes, n[g].bytes, dt));
		out_close_obj();
	}
	out_open_array("backends");
	for (j = 0; j < c->nbes; j++)
		if (c->bes[j].be.svc_id == e->svc.id)
			print_backend(p, c, &c->bes[j]);
	out_close_array();
	out_close_obj();
}

static void print_refresh(const struct top_snap *p, const struct top_snap *c, __u32 interval,
			  __u64 n, int tty)
{
	char when[32] = "?";
	time_t t = time(NULL);
	struct tm tm;
	size_t i;

	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (tty && !out_is_json())
		out_text("\033[H\033[2J");
	out_u64("refresh", "sluice top: refresh %llu", n);
	out_u64("interval_ms", ", every %llu ms", interval);
	out_u64("elapsed_ms", " (measured over %llu ms)", (c->t_ns - p->t_ns) / 1000000);
	out_str("time", ", %s\n", when);
	out_open_array("services");
	for (i = 0; i < c->nsvcs; i++)
		print_service(p, c, i);
	out_close_array();
	if (!c->nsvcs)
		out_text("no services (add one with 'sluice service add')\n");
	out_text("\n");
}

static volatile sig_atomic_t top_stop;

static void on_sigint(int sig)
{
	(void)sig;
	top_stop = 1;
}

/* Sleep ms milliseconds or until SIGINT. */
static void top_sleep(__u32 ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (!top_stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int parse(int argc, char **argv, int *npos, struct sluice_svc_key *key, int *has_key,
		 __u32 *interval, __u32 *count)
{
	char *pos[3];
	int i, err;

	*npos = 0;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--interval") || !strcmp(a, "--count")) {
			if (i + 1 >= argc)
				return cli_usage_error("top", "top: %s needs a value", a);
			if (a[2] == 'i')
				err = args_parse_u32(argv[++i], TOP_INTERVAL_MIN, TOP_INTERVAL_MAX,
						     "interval", interval);
			else
				err = args_parse_u32(argv[++i], 1, 0xffffffffu, "count", count);
			if (err)
				return cli_usage_error("top", "top: %s", err_msg());
		} else if (a[0] == '-') {
			return cli_usage_error("top", "top: unknown option '%s'", a);
		} else if (*npos < 3) {
			pos[(*npos)++] = argv[i];
		} else {
			return cli_usage_error("top", "top: unexpected argument '%s'", a);
		}
	}
	*has_key = 0;
	if (!*npos)
		return 0;
	if (*npos < 3)
		return cli_usage_error("top", "top: a service is ADDR PORT PROTO");
	*has_key = 1;
	return cli_parse_svc_key("top", 3, pos, key);
}

int do_top(int argc, char **argv)
{
	struct top_snap prev, cur;
	struct sluice_svc_key key;
	struct sigaction sa, old;
	struct sluice_maps m;
	__u32 interval = TOP_INTERVAL_DEFAULT, count = 0;
	int npos = 0, has_key = 0, tty, err;
	__u64 n;

	if (argc == 1 && !strcmp(argv[0], "help"))
		return do_help();
	err = parse(argc, argv, &npos, &key, &has_key, &interval, &count);
	if (err)
		return err;
	maps_init(&m);
	memset(&prev, 0, sizeof(prev));
	memset(&cur, 0, sizeof(cur));
	err = cli_open_maps(&m);
	if (err)
		return err;
	tty = isatty(fileno(out_file()));
	top_stop = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	err = snap_read(&m, has_key ? &key : NULL, &prev);
	for (n = 1; !err && !top_stop && (!count || n <= count); n++) {
		top_sleep(interval);
		if (top_stop)
			break;
		err = snap_read(&m, has_key ? &key : NULL, &cur);
		if (err)
			break;
		/* JSON lines: each refresh is a document of its own, out at once. */
		if (cli.json && !out_is_json())
			out_start(cli.json, cli.pretty);
		print_refresh(&prev, &cur, interval, n, tty);
		out_end();
		snap_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
	}
	sigaction(SIGINT, &old, NULL);
	if (err) {
		/* out_end() left JSON mode: the error gets a document of its own. */
		if (cli.json && !out_is_json())
			out_start(cli.json, cli.pretty);
		cli_lib_error(err);
	}
	snap_free(&prev);
	snap_free(&cur);
	maps_close(&m);
	return err;
}
