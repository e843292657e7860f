// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice service: add, change, delete and show services (the address, port
 * and protocol Sluice guards, with their rates). Writes go through
 * userspace/svc.c; arguments are all checked before any map is touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "backend.h"
#include "breaker.h"
#include "err.h"
#include "loader.h"
#include "main.h"
#include "maps.h"
#include "out.h"
#include "res.h"
#include "shard.h"
#include "svc.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice service add ADDR PORT PROTO [OPTION]...\n"
		"       sluice service set ADDR PORT PROTO OPTION...\n"
		"       sluice service del ADDR PORT PROTO\n"
		"       sluice service show [ADDR PORT PROTO]\n"
		"       sluice service help\n"
		"\n"
		"ADDR   := service (destination) address, IPv4 (192.0.2.10) or IPv6 (2001:db8::10)\n"
		"PORT   := destination port, 1..65535\n"
		"PROTO  := { tcp | udp }\n"
		"OPTION := { mode MODE | hash HASH | maglev-size PRIME | rate PPS | burst N |\n"
		"            client-rate PPS | client-burst N | write-port WPORT | route ROUTE |\n"
		"            BULKHEAD | BREAKER }\n"
		"BULKHEAD := { max-conns N | reserved N | critical PREFIX[,PREFIX...] | critical none |\n"
		"              refuse { rst | drop } | global-limit { on | off } }\n"
		"BREAKER  := { on-open { next | fallback | fail-fast } |\n"
		"              fallback BACKEND_ADDR [port BPORT] | fallback none |\n"
		"              breaker-failures N | breaker-window SECONDS | breaker-rate PCT |\n"
		"              breaker-min-calls N | breaker-wait SECONDS | breaker-wait-max SECONDS |\n"
		"              breaker-probes K | breaker-successes M | breaker-max-open PCT |\n"
		"              syn-timeout MS }\n"
		"MODE   := { local | nat | ipip }\n"
		"           local  admission only, then the packet goes to this host's stack\n"
		"           nat    rewrite the destination to a backend (address and port);\n"
		"                  replies must come back through this gateway, where their\n"
		"                  source is translated back to ADDR PORT\n"
		"           ipip   encapsulate to a backend (IPv4 in IPv4, IPv6 in IPv6); the\n"
		"                  backend decapsulates and answers the client directly;\n"
		"                  needs 'sluice gateway set encap-source4/6'\n"
		"HASH   := { 5tuple | client }   what picks a backend for a new flow:\n"
		"           5tuple  addresses, ports and protocol (default)\n"
		"           client  the client address only: all of a client's flows\n"
		"                   go to one backend\n"
		"PRIME  := Maglev table size M of a nat or ipip service, a prime of at most\n"
		"          %u (default %u); keep it above 100 x the backends for an even\n"
		"          spread (65537, 131071, 262139, 655373)\n"
		"WPORT  := { 1..65535 | none }  nat and ipip: a second port of ADDR whose new\n"
		"          flows all go to the service's leader (CQRS: writes to the leader,\n"
		"          reads on PORT over the other backends); see 'sluice leader help'\n"
		"ROUTE  := { maglev | leader }  nat and ipip: leader sends every new flow of\n"
		"          PORT to the leader (default maglev); not with a write port\n"
		"PPS    := packets per second, 0..1000000000, k and m suffixes allowed (10k, 2m);\n"
		"          0 means unlimited\n"
		"N      := packets, 1..1000000000, k and m suffixes allowed\n"
		"\n"
		"  add    Add a service. It gets the lowest free id; its counters start at zero.\n"
		"         Defaults: mode local, hash 5tuple, rate and client-rate unlimited.\n"
		"         A nat or ipip service starts with an empty Maglev table (packets are\n"
		"         dropped as no_backend) until 'sluice backend add' gives it backends.\n"
		"  set    Change an existing service; its id and counters are kept; options not\n"
		"         given keep their value. A changed rate starts from a full bucket. The\n"
		"         mode can change only while the service has no backends. A new\n"
		"         maglev-size rebuilds and republishes the table at once (established\n"
		"         flows keep their backend; new flows may land elsewhere).\n"
		"         A write port comes and goes with write-port N|none; while the\n"
		"         service has a leader and another active backend, the leader leaves\n"
		"         the read table. A service that stops following a leader forgets it.\n"
		"  del    Delete a service with its backends, shards and tables; its counters,\n"
		"         bulkhead and breaker settings, critical prefixes and connection\n"
		"         count are cleared.\n"
		"  show   List every service (by id), or the one given: mode, hash, rates and,\n"
		"         for nat and ipip, the write port, route, Maglev size and the\n"
		"         backends (active/total).\n"
		"\n"
		"  rate PPS          packets per second admitted for the whole service\n"
		"  burst N           packets admitted back to back above the rate; needs rate in\n"
		"                    the same command; default max(1, PPS/50), 20 ms of traffic;\n"
		"                    at most 3600 s of traffic\n"
		"  client-rate PPS   packets per second admitted per client (source) address\n"
		"  client-burst N    as burst, for client-rate\n"
		"Packets over a rate are dropped and counted (drop_svc_rate, drop_client_rate).\n"
		"\n"
		"Bulkhead (concurrent connections; see 'sluice bulkhead help'):\n"
		"  max-conns N       connections the service may hold at once (0: no limit)\n"
		"  reserved N        part of max-conns only critical clients may use (< max-conns)\n"
		"  critical LIST     client prefixes (10.0.0.0/8,2001:db8::/32; at most 64) that may\n"
		"                    use the reserve; replaces the list; none empties it\n"
		"  refuse rst|drop   how a refused TCP connection is answered (default rst)\n"
		"  global-limit on|off  count the service in the global bulkhead (default on)\n"
		"Circuit breaker (per backend; see 'sluice breaker help'):\n"
		"  on-open next|fallback|fail-fast  a new flow whose backend is open goes to\n"
		"                    the next Maglev choice not open, else the fallback (next,\n"
		"                    the default); to the fallback (fallback); or is refused\n"
		"  fallback ADDR [port BPORT]|none  a backend of this service (add it first)\n"
		"  breaker-failures N     failures within the window that open (default 30)\n"
		"  breaker-window S       sliding window, 0.1..3600 s (default 10)\n"
		"  breaker-rate PCT       failure rate that opens, 1..100 (default 50) ...\n"
		"  breaker-min-calls N    ... once the window has N calls (default 20)\n"
		"  breaker-wait S         first open duration, doubled on each re-trip (default 5)\n"
		"  breaker-wait-max S     cap of the doubling (default 300)\n"
		"  breaker-probes K       half-open probe connections (default 3)\n"
		"  breaker-successes M    probe successes in a row that close, <= K (default 3)\n"
		"  breaker-max-open PCT   most of the backends open at once (default 50)\n"
		"  syn-timeout MS         a SYN unanswered this long is a failure and its slot is\n"
		"                    given back by the sweep, 100..600000 (default 3000)\n"
		"Seconds take up to 3 decimals (0.5). Settings are checked as a whole: a refused\n"
		"command changes nothing. A new service cannot name a fallback (no backends yet).\n"
		"Keywords may be abbreviated to a unique prefix (r = rate, client-b = client-burst).\n"
		"\n"
		"Examples:\n"
		"  sluice service add 192.0.2.10 80 tcp rate 10k\n"
		"  sluice service add 2001:db8::10 53 udp rate 50k burst 5k client-rate 100\n"
		"  sluice service add 192.0.2.20 80 tcp mode nat hash client\n"
		"  sluice service add 192.0.2.30 80 tcp mode ipip maglev-size 131071\n"
		"  sluice service add 192.0.2.40 5432 tcp mode nat write-port 5433\n"
		"  sluice service set 192.0.2.40 5432 tcp write-port none route leader\n"
		"  sluice service set 192.0.2.10 80 tcp rate 0          (make it unlimited)\n"
		"  sluice service set 192.0.2.20 80 tcp max-conns 500 reserved 50 critical 10.0.0.0/8\n"
		"  sluice service set 192.0.2.20 80 tcp breaker-failures 5 breaker-window 2 \\\n"
		"                     on-open fallback fallback 10.0.0.13\n"
		"  sluice service del 192.0.2.10 80 tcp\n"
		"  sluice -j service show\n",
		SLUICE_MAGLEV_M_MAX, SLUICE_MAGLEV_M_DEFAULT);
	return 0;
}

int cli_parse_svc_key(const char *object, int argc, char **argv, struct sluice_svc_key *key)
{
	union sluice_addr addr;
	__u16 port;
	__u8 proto;

	if (argc < 3)
		return cli_usage_error(
			object,
			"missing %s: a service is given as ADDR PORT PROTO (e.g. 192.0.2.10 80 tcp)",
			argc == 0   ? "ADDR PORT PROTO"
			: argc == 1 ? "PORT PROTO"
				    : "PROTO");
	if (addr_parse(argv[0], &addr) || args_parse_port(argv[1], &port) ||
	    args_parse_proto(argv[2], &proto) || svc_key_make(&addr, port, proto, key))
		return cli_usage_error(object, "%s", err_msg());
	return 0;
}

int cli_parse_svc_only(const char *object, const char *verb, int argc, char **argv,
		       struct sluice_svc_key *key)
{
	int err = cli_parse_svc_key(object, argc, argv, key);

	if (err)
		return err;
	if (argc > 3)
		return cli_usage_error(object, "%s %s: unexpected argument '%s'", object, verb,
				       argv[3]);
	return 0;
}

int cli_show_open(const char *object, int argc, char **argv, struct sluice_svc_key *key,
		  struct sluice_maps *m)
{
	int err;

	if (argc) {
		err = cli_parse_svc_only(object, "show", argc, argv, key);
		if (err)
			return err;
	}
	return cli_open_maps(m);
}

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

/* A service's bulkhead and breaker settings; text shows only what is set. */
static void print_res(const struct sluice_maps *m, const struct sluice_svc_key *k,
		      const struct sluice_svc *s)
{
	struct sluice_shard_key *crit = NULL;
	struct sluice_backend fb;
	struct sluice_svc_res r;
	struct brk_conf c;
	char p[SHARD_PREFIX_STRLEN], a[ADDR_STRLEN];
	size_t n = 0, i;

	/* Best effort, like the backends: a read failure leaves them out. */
	if (res_get(m, s->id, &r) || res_critical_list(m, s->id, &crit, &n))
		return;
	brk_conf_from_res(&r, &c);
	out_open_obj("bulkhead");
	out_u64("max_conns", r.max_conns ? " max-conns %llu" : NULL, r.max_conns);
	out_u64("reserved", r.reserved ? " reserved %llu" : NULL, r.reserved);
	out_open_array("critical");
	for (i = 0; i < n; i++) {
		shard_prefix_format(&crit[i], p, sizeof(p));
		out_text(i ? ",%s" : " critical %s", p);
		out_str(NULL, NULL, p);
	}
	out_close_array();
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
	out_close_obj();
	free(crit);
}

/* One service with its write port (write_port < 0: look it up when m is given). */
static void print_service(const char *key, const struct sluice_svc_key *k,
			  const struct sluice_svc *s, int write_port, const struct sluice_maps *m)
{
	char a[ADDR_STRLEN];
	__u32 size = 0, n = 0, active = 0;
	__u16 wp = 0;

	if (addr_format(&k->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	out_open_obj(key);
	out_u64("id", "%llu:", s->id);
	out_str("address", " %s", a);
	out_u64("port", " port %llu", ntohs(k->port));
	out_str("proto", " %s", args_proto_name(k->proto));
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
	if (m)
		print_res(m, k, s);
	out_text("\n");
	out_close_obj();
}

void cli_print_service(const char *key, const struct sluice_svc_key *k, const struct sluice_svc *s,
		       const struct sluice_maps *m)
{
	print_service(key, k, s, -1, m);
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
	KW_COUNT
};

static const struct {
	const char *name;
	const char *value; /* the value's name in the grammar */
} keywords[] = {
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
		return cli_usage_error("service", "service %s: fallback: %s", cmd, err_msg());
	if (argc >= 2 && !strcmp(argv[1], "port")) {
		if (argc < 3)
			return cli_usage_error("service",
					       "service %s: fallback ADDR port needs a port", cmd);
		if (args_parse_port(argv[2], &r->fallback.port))
			return cli_usage_error("service", "service %s: fallback: %s", cmd,
					       err_msg());
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

	memset(conf, 0, sizeof(*conf));
	for (i = 0; i < argc; i += 1 + used) {
		used = 1;
		kw = ARGS_KEYWORD_FIND(argv[i], keywords, "keyword");
		if (kw < 0)
			return cli_usage_error("service", "service %s: %s", cmd, err_msg());
		if (seen[kw])
			return cli_usage_error("service",
					       "service %s: '%s' given twice; give it once", cmd,
					       keywords[kw].name);
		seen[kw] = 1;
		if (i + 1 >= argc)
			return cli_usage_error("service", "service %s: '%s' needs a value: %s %s",
					       cmd, keywords[kw].name, keywords[kw].name,
					       keywords[kw].value);
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
			return cli_usage_error("service", "service %s: %s", cmd, err_msg());
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

	err = cli_parse_svc_key("service", argc, argv, key);
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
		return cli_usage_error("service", "service %s: %s", cmd, err_msg());
	/* The write port against the key (add: against the mode and route too). */
	if (conf->has_write_port &&
	    svc_write_check(key, probe.mode,
			    strcmp(cmd, "set") && (probe.flags & SLUICE_SVC_F_LEADER),
			    conf->write_port))
		return cli_usage_error("service", "service %s: %s", cmd, err_msg());
	/* For add, the resilience settings as a whole (set: checked against the service's). */
	if (strcmp(cmd, "set") && res_value_make(&conf->res, NULL, &res))
		return cli_usage_error("service", "service %s: %s", cmd, err_msg());
	return 0;
}

static int do_add(int argc, char **argv)
{
	struct sluice_svc_key key;
	struct sluice_maps m;
	struct svc_conf conf;
	struct sluice_svc s;
	int err;

	maps_init(&m);
	err = parse_write("add", argc, argv, &key, &conf);
	if (err)
		return err;
	/* Adding works before any attach: create the pinned maps if needed. */
	err = loader_maps_ensure(cli.pin_root);
	if (err)
		return cli_lib_error(err);
	err = cli_open_maps(&m);
	if (err)
		goto out;
	err = svc_add(&m, &key, &conf, &s);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_text("added service ");
	cli_print_service("service", &key, &s, &m);
out:
	maps_close(&m);
	return err;
}

static int do_set(int argc, char **argv)
{
	struct sluice_svc_key key;
	struct sluice_maps m;
	struct svc_conf conf;
	struct sluice_svc s;
	int err;

	maps_init(&m);
	err = parse_write("set", argc, argv, &key, &conf);
	if (err)
		return err;
	if (argc == 3)
		return cli_usage_error(
			"service",
			"service set: nothing to change: give at least one OPTION (mode, rate, max-conns, breaker-failures, ...)");
	err = cli_open_maps(&m);
	if (err)
		goto out;
	err = svc_set(&m, &key, &conf, &s);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_text("updated service ");
	cli_print_service("service", &key, &s, &m);
out:
	maps_close(&m);
	return err;
}

static int do_del(int argc, char **argv)
{
	struct sluice_svc_key key;
	struct sluice_maps m;
	struct sluice_svc s;
	int err;

	maps_init(&m);
	err = cli_parse_svc_only("service", "del", argc, argv, &key);
	if (err)
		return err;
	err = cli_open_maps(&m);
	if (err)
		goto out;
	err = svc_del(&m, &key, &s);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_text("deleted service ");
	cli_print_service("service", &key, &s, NULL);
out:
	maps_close(&m);
	return err;
}

static int do_show(int argc, char **argv)
{
	struct svc_info *list = NULL;
	struct sluice_svc_key key;
	struct sluice_maps m;
	struct sluice_svc s;
	size_t n = 0, i;
	int err;

	maps_init(&m);
	err = cli_show_open("service", argc, argv, &key, &m);
	if (err)
		goto out;
	if (argc) {
		err = svc_get(&m, &key, &s);
		if (err) {
			cli_lib_error(err);
			goto out;
		}
		out_open_array(NULL);
		cli_print_service(NULL, &key, &s, &m);
		out_close_array();
		goto out;
	}
	err = svc_info_list(&m, &list, &n);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_open_array(NULL);
	for (i = 0; i < n; i++)
		print_service(NULL, &list[i].key, &list[i].svc, list[i].write_port, &m);
	out_close_array();
	if (!n)
		out_text("no services (add one with 'sluice service add')\n");
out:
	free(list);
	maps_close(&m);
	return err;
}

int do_service(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", do_add, CLI_WRITE }, { "set", do_set, CLI_WRITE },
		{ "del", do_del, CLI_WRITE }, { "show", do_show, 0 },
		{ "help", do_help, 0 },
	};

	return cli_dispatch("service", cmds, sizeof(cmds) / sizeof(cmds[0]), NULL, argc, argv);
}
