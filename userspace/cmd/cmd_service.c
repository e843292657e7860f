// SPDX-License-Identifier: GPL-2.0-only
/*
 * service add, set, del: the services Sluice guards, with their rates,
 * bulkhead and breaker settings. Every rule that needs no map is checked by
 * the parser; svc.c checks the rest against the maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "breaker.h"
#include "cmd_int.h"
#include "err.h"
#include "out.h"
#include "pacing.h"

static void print_rate(const char *key, const char *text, const struct sluice_rate *r)
{
	char fmt[64];

	snprintf(fmt, sizeof(fmt), " %s %%llu", text);
	if (r->pps) {
		out_u64(key, fmt, r->pps);
	} else {
		out_u64(key, NULL, 0);
		out_text(" %s unlimited", text);
	}
}

void cmd_print_critical(const struct sluice_shard_key *crit, size_t n)
{
	char p[SHARD_PREFIX_STRLEN];
	size_t i;

	out_open_array("critical");
	for (i = 0; i < n; i++) {
		shard_prefix_format(&crit[i], p, sizeof(p));
		out_text(i ? ",%s" : " critical %s", p);
		out_str(NULL, NULL, p);
	}
	out_close_array();
}

void cmd_open_service(const char *key, const struct sluice_svc_key *k, __u32 id, int named)
{
	char a[ADDR_STRLEN];

	cmd_addr_text(&k->addr, a, sizeof(a));
	out_open_obj(key);
	out_u64("id", named ? "service %llu:" : "%llu:", id);
	out_str("address", " %s", a);
	out_u64("port", " port %llu", ntohs(k->port));
	out_str("proto", " %s", args_proto_name(k->proto));
}

/*
 * Its segment hygiene drops (bad_flags, martian): packets; text shows them
 * once there are any, JSON always. Best effort, like the backends.
 */
static void print_hygiene(const struct sluice_maps *m, __u32 id)
{
	struct sluice_counter c[SLUICE_R_MAX];
	__u64 bad, martian;

	if (maps_read_svc_counters(m, id, c)) {
		err_clear();
		return;
	}
	bad = c[SLUICE_R_BAD_FLAGS].packets;
	martian = c[SLUICE_R_MARTIAN].packets;
	out_u64("bad_flags", bad || martian ? " dropped bad_flags %llu" : NULL, bad);
	out_u64("martian", bad || martian ? " martian %llu" : NULL, martian);
}

/*
 * Its egress-rate (text: when set) and the pacing counters (JSON; text once
 * there are any). Best effort, like the backends.
 */
static void print_pacing(const struct sluice_maps *m, __u32 id)
{
	struct sluice_pace_counter c;
	char r[32];
	__u64 bps;

	if (pacing_get(m, id, &bps) || pacing_read_counters(m, id, &c)) {
		err_clear();
		return;
	}
	args_format_bitrate(bps, r, sizeof(r));
	out_open_obj("egress");
	out_u64("rate_bps", NULL, bps);
	out_str("rate", bps ? " egress-rate %s" : NULL, r);
	out_u64("packets", c.packets ? " paced %llu packets" : NULL, c.packets);
	out_u64("bytes", c.packets ? " %llu bytes" : NULL, c.bytes);
	out_u64("delayed", c.packets ? " delayed %llu" : NULL, c.delayed);
	out_u64("dropped", c.packets ? " dropped %llu" : NULL, c.dropped);
	out_close_obj();
}

/* A service's bulkhead and breaker settings; text shows only what is set. */
static void print_res(const struct sluice_maps *m, const struct sluice_svc_key *k,
		      const struct sluice_svc *s)
{
	struct sluice_shard_key *crit = NULL;
	struct sluice_backend fb;
	struct sluice_svc_res r;
	struct brk_conf c;
	__u32 retries, trip;
	char a[ADDR_STRLEN];
	size_t n = 0;

	/* Best effort, like the backends: a read failure leaves them out. */
	if (res_get(m, s->id, &r) || res_critical_list(m, s->id, &crit, &n))
		return;
	brk_conf_from_res(&r, &c);
	out_open_obj("bulkhead");
	out_u64("max_conns", r.max_conns ? " max-conns %llu" : NULL, r.max_conns);
	out_u64("reserved", r.reserved ? " reserved %llu" : NULL, r.reserved);
	cmd_print_critical(crit, n);
	out_str("refuse", r.refuse ? " refuse %s" : NULL, res_refuse_name(r.refuse));
	out_str("global_limit", r.flags & SLUICE_RES_NO_GLOBAL ? " global-limit %s" : NULL,
		r.flags & SLUICE_RES_NO_GLOBAL ? "off" : "on");
	out_close_obj();
	out_open_obj("breaker");
	out_str("on_open", r.on_open ? " on-open %s" : NULL, res_on_open_name(r.on_open));
	if (r.fallback_be && r.fallback_be <= SLUICE_MAX_BACKENDS &&
	    !maps_read_backend(m, r.fallback_be - 1, &fb)) {
		if (addr_format(&fb.addr, a, sizeof(a)))
			snprintf(a, sizeof(a), "?");
		out_str("fallback", " fallback %s", a);
		out_u64("fallback_port", " port %llu", backend_port(&fb, k));
		out_u64("fallback_id", NULL, r.fallback_be - 1);
	}
	out_u64("failures", r.brk_failures ? " breaker-failures %llu" : NULL, c.failures);
	out_u64("window_ms", r.brk_window_ms ? " breaker-window %llu ms" : NULL, c.window_ms);
	out_u64("rate_pct", r.brk_rate_pct ? " breaker-rate %llu%%" : NULL, c.rate_pct);
	out_u64("min_calls", r.brk_min_calls ? " breaker-min-calls %llu" : NULL, c.min_calls);
	out_u64("wait_ms", r.brk_wait_ms ? " breaker-wait %llu ms" : NULL, c.wait_ms);
	out_u64("wait_max_ms", r.brk_wait_max_ms ? " breaker-wait-max %llu ms" : NULL,
		c.wait_max_ms);
	out_u64("probes", r.brk_probes ? " breaker-probes %llu" : NULL, c.probes);
	out_u64("successes", r.brk_successes ? " breaker-successes %llu" : NULL, c.successes);
	out_u64("max_open_pct", r.brk_max_open_pct ? " breaker-max-open %llu%%" : NULL,
		c.max_open_pct);
	out_u64("syn_timeout_ms", r.syn_timeout_ms ? " syn-timeout %llu ms" : NULL,
		c.syn_timeout_ms);
	out_u64("panic_threshold_pct", r.panic_pct ? " panic-threshold %llu%%" : NULL, c.panic_pct);
	/* Panic is the engine's live verdict (the breakers are ignored), so say it loud. */
	out_bool("panic", r.flags & SLUICE_RES_PANIC ? " PANIC%.0s" : NULL,
		 !!(r.flags & SLUICE_RES_PANIC));
	/* Failover: shown in text when not the default. */
	if (!res_fo_get(m, s->id, &retries, &trip)) {
		out_u64("fast_trip",
			trip != SLUICE_FO_TRIP_DEFAULT ? " breaker-fast-trip %llu" : NULL, trip);
		out_close_obj();
		out_open_obj("failover");
		out_u64("retries", retries != SLUICE_FO_RETRIES_DEFAULT ? " retries %llu" : NULL,
			retries);
	}
	out_close_obj();
	free(crit);
}

/* One service with its write port (write_port < 0: look it up when m is given). */
void cmd_print_service(const char *key, const struct sluice_svc_key *k, const struct sluice_svc *s,
		       int write_port, const struct sluice_maps *m)
{
	__u32 size = 0, n = 0, active = 0;
	__u16 wp = 0;

	cmd_open_service(key, k, s->id, 0);
	out_str("mode", " mode %s", args_mode_name(s->mode));
	out_str("hash", " hash %s", args_hash_name(s->hash));
	print_rate("rate_pps", "rate", &s->rate);
	out_u64("burst", s->rate.pps ? " burst %llu" : NULL, s->rate.burst);
	print_rate("client_rate_pps", "client-rate", &s->client_rate);
	out_u64("client_burst", s->client_rate.pps ? " client-burst %llu" : NULL,
		s->client_rate.burst);
	if (write_port >= 0)
		wp = (__u16)write_port;
	else if (m && svc_write_port(m, s->id, &wp))
		wp = 0; /* best effort, like the backends below */
	/* JSON: write_port 0 means none. */
	out_u64("write_port", wp ? " write-port %llu" : NULL, wp);
	out_str("route", s->flags & SLUICE_SVC_F_LEADER ? " route %s" : NULL,
		svc_route_name(s->flags & SLUICE_SVC_F_LEADER));
	if (m && (s->mode == SLUICE_MODE_NAT || s->mode == SLUICE_MODE_IPIP)) {
		struct backend_info *list = NULL;
		size_t cnt = 0, i;

		/* Best effort: a read failure leaves these out, the record still prints. */
		if (!svc_maglev_size(m, s, &size))
			out_u64("maglev_size", " maglev-size %llu", size);
		if (!backend_list(m, k, &list, &cnt)) {
			for (i = 0; i < cnt; i++)
				active += list[i].be.state == SLUICE_BE_ACTIVE;
			n = (__u32)cnt;
			out_u64("backends", " backends %llu", n);
			out_u64("backends_active", " (%llu active)", active);
		}
		free(list);
	}
	if (m) {
		print_pacing(m, s->id);
		print_res(m, k, s);
		print_hygiene(m, s->id);
	}
	out_text("\n");
	out_close_obj();
}

enum {
	KW_MODE,
	KW_HASH,
	KW_MAGLEV_SIZE,
	KW_WRITE_PORT,
	KW_ROUTE,
	KW_RATE,
	KW_BURST,
	KW_CLIENT_RATE,
	KW_CLIENT_BURST,
	KW_MAX_CONNS,
	KW_RESERVED,
	KW_CRITICAL,
	KW_REFUSE,
	KW_GLOBAL_LIMIT,
	KW_FALLBACK,
	KW_ON_OPEN,
	KW_BRK_FAILURES,
	KW_BRK_WINDOW,
	KW_BRK_RATE,
	KW_BRK_MIN_CALLS,
	KW_BRK_WAIT,
	KW_BRK_WAIT_MAX,
	KW_BRK_PROBES,
	KW_BRK_SUCCESSES,
	KW_BRK_MAX_OPEN,
	KW_SYN_TIMEOUT,
	KW_RETRIES,
	KW_FAST_TRIP,
	KW_PANIC,
	KW_EGRESS_RATE,
	KW_COUNT
};

static const struct cmd_keyword keywords[] = {
	[KW_MODE] = { "mode", "MODE" },
	[KW_HASH] = { "hash", "HASH" },
	[KW_MAGLEV_SIZE] = { "maglev-size", "PRIME" },
	[KW_WRITE_PORT] = { "write-port", "WPORT|none" },
	[KW_ROUTE] = { "route", "maglev|leader" },
	[KW_RATE] = { "rate", "PPS" },
	[KW_BURST] = { "burst", "N" },
	[KW_CLIENT_RATE] = { "client-rate", "PPS" },
	[KW_CLIENT_BURST] = { "client-burst", "N" },
	[KW_MAX_CONNS] = { "max-conns", "N" },
	[KW_RESERVED] = { "reserved", "N" },
	[KW_CRITICAL] = { "critical", "PREFIX[,PREFIX...]|none" },
	[KW_REFUSE] = { "refuse", "rst|drop" },
	[KW_GLOBAL_LIMIT] = { "global-limit", "on|off" },
	[KW_FALLBACK] = { "fallback", "BACKEND_ADDR [port BPORT]|none" },
	[KW_ON_OPEN] = { "on-open", "next|fallback|fail-fast" },
	[KW_BRK_FAILURES] = { "breaker-failures", "N" },
	[KW_BRK_WINDOW] = { "breaker-window", "SECONDS" },
	[KW_BRK_RATE] = { "breaker-rate", "PCT" },
	[KW_BRK_MIN_CALLS] = { "breaker-min-calls", "N" },
	[KW_BRK_WAIT] = { "breaker-wait", "SECONDS" },
	[KW_BRK_WAIT_MAX] = { "breaker-wait-max", "SECONDS" },
	[KW_BRK_PROBES] = { "breaker-probes", "K" },
	[KW_BRK_SUCCESSES] = { "breaker-successes", "M" },
	[KW_BRK_MAX_OPEN] = { "breaker-max-open", "PCT" },
	[KW_SYN_TIMEOUT] = { "syn-timeout", "MS" },
	[KW_RETRIES] = { "retries", "N" },
	[KW_FAST_TRIP] = { "breaker-fast-trip", "K" },
	[KW_PANIC] = { "panic-threshold", "PCT" },
	[KW_EGRESS_RATE] = { "egress-rate", "RATE" },
};

/* A resilience keyword's value into conf->res; its RES_HAS_* bit set. */
static int parse_res(int kw, const char *v, struct res_conf *r)
{
	switch (kw) {
	case KW_MAX_CONNS:
		r->has |= RES_HAS_MAX_CONNS;
		return args_parse_count(v, RES_MAX_CONNS_MAX, "max-conns", &r->max_conns);
	case KW_RESERVED:
		r->has |= RES_HAS_RESERVED;
		return args_parse_count(v, RES_MAX_CONNS_MAX, "reserved", &r->reserved);
	case KW_CRITICAL: {
		struct sluice_shard_key keys[RES_CRITICAL_MAX];
		size_t n;

		r->has |= RES_HAS_CRITICAL;
		r->critical = v;
		return res_critical_parse(v, 0, keys, &n); /* checked now, applied later */
	}
	case KW_REFUSE:
		r->has |= RES_HAS_REFUSE;
		return res_parse_refuse(v, &r->refuse);
	case KW_GLOBAL_LIMIT:
		r->has |= RES_HAS_GLOBAL_LIMIT;
		return res_parse_on_off(v, "global-limit", &r->global_limit);
	case KW_ON_OPEN:
		r->has |= RES_HAS_ON_OPEN;
		return res_parse_on_open(v, &r->on_open);
	case KW_BRK_FAILURES:
		r->has |= RES_HAS_BRK_FAILURES;
		return args_parse_u32(v, 1, RES_COUNT_MAX, "breaker-failures", &r->brk_failures);
	case KW_BRK_WINDOW:
		r->has |= RES_HAS_BRK_WINDOW;
		return res_parse_seconds_ms(v, RES_WINDOW_MS_MIN, RES_WINDOW_MS_MAX,
					    "breaker-window", &r->brk_window_ms);
	case KW_BRK_RATE:
		r->has |= RES_HAS_BRK_RATE;
		return args_parse_u32(v, 1, 100, "breaker-rate", &r->brk_rate_pct);
	case KW_BRK_MIN_CALLS:
		r->has |= RES_HAS_BRK_MIN_CALLS;
		return args_parse_u32(v, 1, RES_COUNT_MAX, "breaker-min-calls", &r->brk_min_calls);
	case KW_BRK_WAIT:
		r->has |= RES_HAS_BRK_WAIT;
		return res_parse_seconds_ms(v, RES_WAIT_MS_MIN, RES_WAIT_MS_MAX, "breaker-wait",
					    &r->brk_wait_ms);
	case KW_BRK_WAIT_MAX:
		r->has |= RES_HAS_BRK_WAIT_MAX;
		return res_parse_seconds_ms(v, RES_WAIT_MS_MIN, RES_WAIT_MS_MAX, "breaker-wait-max",
					    &r->brk_wait_max_ms);
	case KW_BRK_PROBES:
		r->has |= RES_HAS_BRK_PROBES;
		return args_parse_u32(v, 1, RES_PROBES_MAX, "breaker-probes", &r->brk_probes);
	case KW_BRK_SUCCESSES:
		r->has |= RES_HAS_BRK_SUCCESSES;
		return args_parse_u32(v, 1, RES_PROBES_MAX, "breaker-successes", &r->brk_successes);
	case KW_BRK_MAX_OPEN:
		r->has |= RES_HAS_BRK_MAX_OPEN;
		return args_parse_u32(v, 1, 100, "breaker-max-open", &r->brk_max_open_pct);
	case KW_RETRIES:
		r->has |= RES_HAS_RETRIES;
		return args_parse_u32(v, 0, SLUICE_FO_RETRIES_MAX, "retries", &r->retries);
	case KW_FAST_TRIP:
		r->has |= RES_HAS_FAST_TRIP;
		return args_parse_u32(v, 0, RES_FAST_TRIP_MAX, "breaker-fast-trip", &r->fast_trip);
	case KW_PANIC:
		r->has |= RES_HAS_PANIC;
		return args_parse_u32(v, 0, 100, "panic-threshold", &r->panic_pct);
	default:
		r->has |= RES_HAS_SYN_TIMEOUT;
		return args_parse_u32(v, RES_SYN_TIMEOUT_MS_MIN, RES_SYN_TIMEOUT_MS_MAX,
				      "syn-timeout (ms)", &r->syn_timeout_ms);
	}
}

/* "fallback BACKEND_ADDR [port BPORT]" or "fallback none": the words used, or -errno. */
static int parse_fallback(const char *cmd, int argc, char **argv, struct res_conf *r)
{
	r->has |= RES_HAS_FALLBACK;
	if (!strcmp(argv[0], "none")) {
		r->fallback_none = 1;
		return 1;
	}
	if (addr_parse(argv[0], &r->fallback.addr))
		return cmd_bad("service %s: fallback: %s", cmd, err_msg());
	if (argc >= 2 && !strcmp(argv[1], "port")) {
		if (argc < 3)
			return cmd_bad("service %s: fallback ADDR port needs a port", cmd);
		if (args_parse_port(argv[2], &r->fallback.port))
			return cmd_bad("service %s: fallback: %s", cmd, err_msg());
		r->fallback.has_port = 1;
		return 3;
	}
	return 1;
}

/* Parse "[KEYWORD VALUE]..." into conf; reports the error. */
static int parse_options(const char *cmd, int argc, char **argv, struct svc_conf *conf)
{
	int seen[KW_COUNT] = { 0 };
	int i, kw, err, used;
	char what[32];

	memset(conf, 0, sizeof(*conf));
	snprintf(what, sizeof(what), "service %s", cmd);
	for (i = 0; i < argc; i += 1 + used) {
		used = 1;
		kw = CMD_KEYWORD(what, keywords, argc, argv, i, seen);
		if (kw < 0)
			return kw;
		err_clear();
		switch (kw) {
		case KW_MODE:
			err = args_parse_mode(argv[i + 1], &conf->mode);
			conf->has_mode = 1;
			break;
		case KW_HASH:
			err = args_parse_hash(argv[i + 1], &conf->hash);
			conf->has_hash = 1;
			break;
		case KW_MAGLEV_SIZE:
			err = args_parse_u32(argv[i + 1], 2, SLUICE_MAGLEV_M_MAX, "maglev-size",
					     &conf->maglev_size);
			conf->has_maglev_size = 1;
			break;
		case KW_WRITE_PORT:
			conf->has_write_port = 1;
			conf->write_port = 0;
			err = strcmp(argv[i + 1], "none")
				      ? args_parse_port(argv[i + 1], &conf->write_port)
				      : 0;
			break;
		case KW_ROUTE:
			err = svc_parse_route(argv[i + 1], &conf->route_leader);
			conf->has_route = 1;
			break;
		case KW_RATE:
			err = args_parse_count(argv[i + 1], SLUICE_RATE_MAX_PPS, "rate",
					       &conf->rate_pps);
			conf->has_rate = 1;
			break;
		case KW_BURST:
			err = args_parse_count(argv[i + 1], SLUICE_RATE_MAX_PPS, "burst",
					       &conf->burst);
			conf->has_burst = 1;
			break;
		case KW_CLIENT_RATE:
			err = args_parse_count(argv[i + 1], SLUICE_RATE_MAX_PPS, "client-rate",
					       &conf->client_rate_pps);
			conf->has_client_rate = 1;
			break;
		case KW_CLIENT_BURST:
			err = args_parse_count(argv[i + 1], SLUICE_RATE_MAX_PPS, "client-burst",
					       &conf->client_burst);
			conf->has_client_burst = 1;
			break;
		case KW_EGRESS_RATE:
			err = args_parse_bitrate(argv[i + 1], "egress-rate",
						 &conf->egress_rate_bps);
			conf->has_egress_rate = 1;
			break;
		case KW_FALLBACK:
			used = parse_fallback(cmd, argc - i - 1, argv + i + 1, &conf->res);
			if (used < 0)
				return used;
			err = 0;
			break;
		default:
			err = parse_res(kw, argv[i + 1], &conf->res);
			break;
		}
		if (err)
			return cmd_bad("service %s: %s", cmd, err_msg());
	}
	return 0;
}

/* Parse "ADDR PORT PROTO [OPTION]..." and check the options make a service. */
static int parse_write(const char *cmd, int argc, char **argv, struct sluice_svc_key *key,
		       struct svc_conf *conf)
{
	struct sluice_svc probe, base;
	struct sluice_svc_res res;
	int err;

	err = cmd_parse_svc_key(argc, argv, key);
	if (err)
		return err;
	err = parse_options(cmd, argc - 3, argv + 3, conf);
	if (err)
		return err;
	/*
	 * Every rule that needs no map, checked before any map is touched. For
	 * set, the service's mode is not known yet: probe on a nat service
	 * (svc_set() checks maglev-size against the real mode).
	 */
	memset(&base, 0, sizeof(base));
	base.mode = SLUICE_MODE_NAT;
	if (svc_value_make(conf, strcmp(cmd, "set") ? NULL : &base, 0, &probe))
		return cmd_bad("service %s: %s", cmd, err_msg());
	/* The write port against the key (add: against the mode and route too). */
	if (conf->has_write_port &&
	    svc_write_check(key, probe.mode,
			    strcmp(cmd, "set") && (probe.flags & SLUICE_SVC_F_LEADER),
			    conf->write_port))
		return cmd_bad("service %s: %s", cmd, err_msg());
	/* For add, the resilience settings as a whole (set: checked against the service's). */
	if (strcmp(cmd, "set") && res_value_make(&conf->res, NULL, &res))
		return cmd_bad("service %s: %s", cmd, err_msg());
	return 0;
}

static int cmd_service_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd)
{
	struct svc_conf *conf = &cmd->service.conf;
	const char *verb = cmd_kinds[kind].verb;
	int err;

	if (kind == CMD_SERVICE_DEL) {
		err = cmd_parse_svc_key(argc, argv, &cmd->svc);
		if (!err && argc > 3)
			err = cmd_bad("service del: unexpected argument '%s'", argv[3]);
		return err;
	}
	err = parse_write(verb, argc, argv, &cmd->svc, conf);
	if (!err && kind == CMD_SERVICE_SET && argc == 3)
		err = cmd_bad(
			"service set: nothing to change: give at least one OPTION (mode, rate, max-conns, breaker-failures, ...)");
	/* The list is kept as given: conf points into argv only while parsing. */
	if (!err && (conf->res.has & RES_HAS_CRITICAL)) {
		if (strlen(conf->res.critical) >= sizeof(cmd->service.critical))
			err = cmd_bad("service %s: critical: list too long", verb);
		else
			snprintf(cmd->service.critical, sizeof(cmd->service.critical), "%s",
				 conf->res.critical);
	}
	conf->res.critical = NULL;
	return err;
}

static int add_u32(struct cmd_argv *out, const char *kw, __u32 v)
{
	int err = cmd_argv_add(out, "%s", kw);

	return err ? err : cmd_argv_add(out, "%u", v);
}

static int add_str(struct cmd_argv *out, const char *kw, const char *v)
{
	int err = cmd_argv_add(out, "%s", kw);

	return err ? err : cmd_argv_add(out, "%s", v);
}

/* Seconds with up to three decimals, as res_parse_seconds_ms() reads them. */
static int add_seconds(struct cmd_argv *out, const char *kw, __u32 ms)
{
	int err = cmd_argv_add(out, "%s", kw);

	if (err)
		return err;
	if (ms % 1000)
		return cmd_argv_add(out, "%u.%03u", ms / 1000, ms % 1000);
	return cmd_argv_add(out, "%u", ms / 1000);
}

/* The options given, in the order of keywords[]. */
static int cmd_service_format(const struct sluice_cmd *cmd, struct cmd_argv *out)
{
	const struct svc_conf *c = &cmd->service.conf;
	const struct res_conf *r = &c->res;
	int err = 0;

	if (cmd->kind == CMD_SERVICE_DEL)
		return 0;
#define HAS(bit) (!err && (r->has & (bit)))
	if (!err && c->has_mode)
		err = add_str(out, "mode", args_mode_name(c->mode));
	if (!err && c->has_hash)
		err = add_str(out, "hash", args_hash_name(c->hash));
	if (!err && c->has_maglev_size)
		err = add_u32(out, "maglev-size", c->maglev_size);
	if (!err && c->has_write_port)
		err = c->write_port ? add_u32(out, "write-port", c->write_port)
				    : add_str(out, "write-port", "none");
	if (!err && c->has_route)
		err = add_str(out, "route", svc_route_name(c->route_leader));
	if (!err && c->has_rate)
		err = add_u32(out, "rate", c->rate_pps);
	if (!err && c->has_burst)
		err = add_u32(out, "burst", c->burst);
	if (!err && c->has_client_rate)
		err = add_u32(out, "client-rate", c->client_rate_pps);
	if (!err && c->has_client_burst)
		err = add_u32(out, "client-burst", c->client_burst);
	if (HAS(RES_HAS_MAX_CONNS))
		err = add_u32(out, "max-conns", r->max_conns);
	if (HAS(RES_HAS_RESERVED))
		err = add_u32(out, "reserved", r->reserved);
	if (HAS(RES_HAS_CRITICAL))
		err = add_str(out, "critical", cmd->service.critical);
	if (HAS(RES_HAS_REFUSE))
		err = add_str(out, "refuse", res_refuse_name(r->refuse));
	if (HAS(RES_HAS_GLOBAL_LIMIT))
		err = add_str(out, "global-limit", r->global_limit ? "on" : "off");
	if (HAS(RES_HAS_FALLBACK))
		err = r->fallback_none ? add_str(out, "fallback", "none")
				       : cmd_argv_add(out, "fallback");
	if (HAS(RES_HAS_FALLBACK) && !r->fallback_none)
		err = cmd_argv_ref(out, &r->fallback);
	if (HAS(RES_HAS_ON_OPEN))
		err = add_str(out, "on-open", res_on_open_name(r->on_open));
	if (HAS(RES_HAS_BRK_FAILURES))
		err = add_u32(out, "breaker-failures", r->brk_failures);
	if (HAS(RES_HAS_BRK_WINDOW))
		err = add_seconds(out, "breaker-window", r->brk_window_ms);
	if (HAS(RES_HAS_BRK_RATE))
		err = add_u32(out, "breaker-rate", r->brk_rate_pct);
	if (HAS(RES_HAS_BRK_MIN_CALLS))
		err = add_u32(out, "breaker-min-calls", r->brk_min_calls);
	if (HAS(RES_HAS_BRK_WAIT))
		err = add_seconds(out, "breaker-wait", r->brk_wait_ms);
	if (HAS(RES_HAS_BRK_WAIT_MAX))
		err = add_seconds(out, "breaker-wait-max", r->brk_wait_max_ms);
	if (HAS(RES_HAS_BRK_PROBES))
		err = add_u32(out, "breaker-probes", r->brk_probes);
	if (HAS(RES_HAS_BRK_SUCCESSES))
		err = add_u32(out, "breaker-successes", r->brk_successes);
	if (HAS(RES_HAS_BRK_MAX_OPEN))
		err = add_u32(out, "breaker-max-open", r->brk_max_open_pct);
	if (HAS(RES_HAS_SYN_TIMEOUT))
		err = add_u32(out, "syn-timeout", r->syn_timeout_ms);
	if (HAS(RES_HAS_RETRIES))
		err = add_u32(out, "retries", r->retries);
	if (HAS(RES_HAS_FAST_TRIP))
		err = add_u32(out, "breaker-fast-trip", r->fast_trip);
	if (HAS(RES_HAS_PANIC))
		err = add_u32(out, "panic-threshold", r->panic_pct);
#undef HAS
	if (!err && c->has_egress_rate) {
		char rate[32];

		args_format_bitrate(c->egress_rate_bps, rate, sizeof(rate));
		err = add_str(out, "egress-rate", rate);
	}
	return err;
}

static int cmd_service_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd)
{
	struct svc_conf conf = cmd->service.conf;
	struct sluice_svc s;
	int err;

	if (conf.res.has & RES_HAS_CRITICAL)
		conf.res.critical = cmd->service.critical;
	switch (cmd->kind) {
	case CMD_SERVICE_ADD:
		err = svc_add(m, &cmd->svc, &conf, &s);
		if (err)
			return err;
		out_text("added service ");
		/* Its write port is the one asked for: no walk of the services to find it. */
		cmd_print_service("service", &cmd->svc, &s,
				  conf.has_write_port ? conf.write_port : 0, m);
		cmd_warn_berev(m, s.id, NULL);
		return 0;
	case CMD_SERVICE_SET:
		err = svc_set(m, &cmd->svc, &conf, &s);
		if (err)
			return err;
		out_text("updated service ");
		cmd_print_service("service", &cmd->svc, &s, -1, m);
		cmd_warn_berev(m, s.id, NULL);
		return 0;
	default:
		err = svc_del(m, &cmd->svc, &s);
		if (err)
			return err;
		out_text("deleted service ");
		cmd_print_service("service", &cmd->svc, &s, -1, NULL);
		return 0;
	}
}

const struct cmd_ops cmd_service_ops = { cmd_service_parse, cmd_service_format, cmd_service_apply,
					 NULL };
