// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice trace: watch the data plane decide. Turns tracing on in
 * sl_trace_cfg (filters, sampling; userspace/dataplane/tracing.c) and
 * prints one line per decision the data plane sends back through sl_trace:
 * time, interface, 5-tuple, TCP flags, length, reason and XDP action, the
 * service and the backend. -j prints one JSON object per decision (JSON
 * lines); --pcap FILE also writes the frames' first bytes as received
 * (libpcap, for tcpdump -r / wireshark). Stops after count N decisions,
 * duration SECONDS, SIGINT or SIGTERM, and turns tracing off again.
 *
 * A read command: it changes no decision and is not journaled, so it runs
 * here even while the daemon runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>

#include "addr.h"
#include "args.h"
#include "clock.h"
#include "err.h"
#include "keys.h"
#include "loader.h"
#include "main.h"
#include "maps.h"
#include "out.h"
#include "reason.h"
#include "trace_pcap.h"
#include "tracing.h"

#define TRACE_SAMPLE_MAX 1000000u
#define TRACE_DURATION_MAX 86400u

static int do_help(void)
{
	fprintf(out_file(),
		"Usage: sluice trace [FILTER]... [sample N] [count N] [duration SECONDS] [--pcap FILE]\n"
		"       sluice trace help\n"
		"\n"
		"FILTER          := { service ADDR PORT PROTO | client PREFIX |\n"
		"                     reason REASON[,REASON...] }; all given must match\n"
		"ADDR PORT PROTO := only the decisions about this service (both directions of\n"
		"                   its nat flows)\n"
		"PREFIX          := only packets from or to this address or prefix (ADDR or\n"
		"                   ADDR/LEN, IPv4 or IPv6)\n"
		"REASON          := only these verdicts: counter reasons as 'sluice stats help'\n"
		"                   lists them (forwarded, bh_service, brk_open, ...)\n"
		"sample N        := one decision in N of those that match (default 1: all)\n"
		"count N         := stop after N decisions (default: until SIGINT)\n"
		"duration SECONDS:= stop after SECONDS (at most %u)\n"
		"--pcap FILE     := also write the frames (their first %u bytes, as received)\n"
		"                   to FILE in pcap format (tcpdump -r FILE)\n"
		"\n"
		"One line per decision of the data plane: time, interface, protocol, source >\n"
		"destination, TCP flags, frame length, reason and XDP action, then the service\n"
		"and the backend the packet went to. With -j, one JSON object per decision\n"
		"(JSON lines). Tracing costs the data plane one map lookup per packet while\n"
		"off; on, it copies each frame's first bytes and sends the ones that match.\n"
		"One tracer at a time; a tracer killed without stopping stops costing within\n"
		"%u s. Needs a data plane loaded by this version (map ABI %u).\n"
		"\n"
		"Examples:\n"
		"  sluice trace\n"
		"  sluice trace service 192.0.2.10 80 tcp reason bh_service,brk_open\n"
		"  sluice trace client 198.51.100.0/24 count 20 --pcap /tmp/sluice.pcap\n"
		"  sluice -j trace sample 100 duration 10 | jq -c '{reason, backend}'\n",
		TRACE_DURATION_MAX, (unsigned int)SLUICE_TRACE_SNAP_MAX,
		(unsigned int)(SLUICE_TRACE_LEASE_NS / 1000000000ull),
		(unsigned int)SLUICE_ABI_VERSION);
	return 0;
}

struct trace_opts {
	struct sluice_trace_cfg filter;
	struct sluice_svc_key key; /* with SLUICE_TRACE_F_SVC */
	__u32 count;		   /* 0: no limit */
	__u32 duration;		   /* seconds; 0: no limit */
	const char *pcap;	   /* NULL: no pcap */
};

enum { KW_SERVICE, KW_CLIENT, KW_REASON, KW_SAMPLE, KW_COUNT, KW_DURATION, KW_PCAP };

static const struct {
	const char *name;
	int kw;
} keywords[] = {
	{ "service", KW_SERVICE }, { "client", KW_CLIENT }, { "reason", KW_REASON },
	{ "sample", KW_SAMPLE },   { "count", KW_COUNT },   { "duration", KW_DURATION },
	{ "--pcap", KW_PCAP },
};

static int parse_reasons(const char *text, __u32 *mask)
{
	char buf[512], *tok, *save = NULL;
	int r;

	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return cli_usage_error("trace", "trace: reason list too long");
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		r = reason_from_name(tok);
		if (r < 0)
			return cli_usage_error(
				"trace", "trace: no reason '%s' (sluice stats help lists them)",
				tok);
		*mask |= 1u << r;
	}
	if (!*mask)
		return cli_usage_error("trace", "trace: reason needs at least one name");
	return 0;
}

static int parse_client(const char *text, struct sluice_trace_cfg *f)
{
	struct sluice_shard_key k;
	int i;

	if (shard_prefix_parse(text, 0, &k))
		return cli_usage_error("trace", "trace: client: %s", err_msg());
	trace_prefix_mask(k.prefixlen - 32, &f->mask);
	for (i = 0; i < 4; i++)
		f->addr.u32[i] = k.addr.u32[i] & f->mask.u32[i];
	f->flags |= SLUICE_TRACE_F_ADDR;
	return 0;
}

static int parse(int argc, char **argv, struct trace_opts *o)
{
	int i, k, err;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		k = args_keyword_find(argv[i], keywords, sizeof(keywords) / sizeof(keywords[0]),
				      sizeof(keywords[0]), "keyword");
		if (k < 0)
			return cli_usage_error("trace", "trace: %s", err_msg());
		k = keywords[k].kw;
		if (i + 1 >= argc || (k == KW_SERVICE && i + 3 >= argc))
			return cli_usage_error("trace", "trace: %s needs %s", argv[i],
					       k == KW_SERVICE ? "ADDR PORT PROTO" : "a value");
		switch (k) {
		case KW_SERVICE:
			err = cli_parse_svc_key("trace", 3, argv + i + 1, &o->key);
			if (err)
				return err;
			o->filter.flags |= SLUICE_TRACE_F_SVC;
			i += 3;
			continue;
		case KW_CLIENT:
			err = parse_client(argv[i + 1], &o->filter);
			break;
		case KW_REASON:
			err = parse_reasons(argv[i + 1], &o->filter.reasons);
			o->filter.flags |= SLUICE_TRACE_F_REASON;
			break;
		case KW_SAMPLE:
			err = args_parse_u32(argv[i + 1], 1, TRACE_SAMPLE_MAX, "sample",
					     &o->filter.sample);
			break;
		case KW_COUNT:
			err = args_parse_count(argv[i + 1], 1u << 30, "count", &o->count);
			if (!err && !o->count) {
				err_set("count must be at least 1");
				err = -EINVAL;
			}
			break;
		case KW_DURATION:
			err = args_parse_u32(argv[i + 1], 1, TRACE_DURATION_MAX, "duration",
					     &o->duration);
			break;
		default:
			o->pcap = argv[i + 1];
			o->filter.snap = SLUICE_TRACE_SNAP_MAX;
			err = 0;
			break;
		}
		if (err) /* a value that does not parse: its message is set */
			return cli_usage_error("trace", "trace: %s", err_msg());
		i++;
	}
	return 0;
}

/* What turns a record into names: services, interfaces, the wall clock. */
struct trace_ctx {
	struct sluice_maps m;
	struct maps_svc_entry *svcs;
	size_t nsvcs;
	__u64 svcs_read_ms; /* when svcs was read (re-read for an unknown id, once a second) */
	struct loader_iface *ifaces;
	size_t nifaces;
	__s64 mono_to_real_ns;	 /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	struct trace_pcap *pcap; /* --pcap, or NULL */
	__u32 count, seen;
};

static const struct maps_svc_entry *svc_of(struct trace_ctx *c, __u32 id)
{
	size_t i;
	int pass;

	if (id == SLUICE_TRACE_NONE)
		return NULL;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < c->nsvcs; i++)
			if (c->svcs[i].svc.id == id)
				return &c->svcs[i];
		if (pass || clock_mono_ms() - c->svcs_read_ms < 1000)
			break;
		free(c->svcs);
		c->svcs = NULL;
		c->nsvcs = 0;
		c->svcs_read_ms = clock_mono_ms();
		if (maps_svc_list(&c->m, &c->svcs, &c->nsvcs))
			err_clear();
	}
	return NULL;
}

/* The interface's name from the pins (they name it in the gateway's namespace). */
static void iface_name(struct trace_ctx *c, __u32 ifindex, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < c->nifaces; i++) {
		if (c->ifaces[i].ifindex == ifindex) {
			snprintf(buf, len, "%s", c->ifaces[i].ifname);
			return;
		}
	}
	snprintf(buf, len, "if%u", ifindex);
}

static const char *action_name(__u32 action)
{
	switch (action) {
	case XDP_ABORTED:
		return "aborted";
	case XDP_DROP:
		return "drop";
	case XDP_PASS:
		return "pass";
	case XDP_TX:
		return "tx";
	case XDP_REDIRECT:
		return "redirect";
	default:
		return "?";
	}
}

/* "SA", "F.", ...: tcpdump's letters, "." for ACK. */
static void tcp_flags_text(__u8 f, char *buf)
{
	static const struct {
		__u8 bit;
		char c;
	} bits[] = { { 0x02, 'S' }, { 0x01, 'F' }, { 0x04, 'R' }, { 0x08, 'P' }, { 0x10, '.' } };
	size_t i, n = 0;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (f & bits[i].bit)
			buf[n++] = bits[i].c;
	buf[n] = '\0';
}

static void print_endpoint(const char *key, const char *port_key, const union sluice_addr *a,
			   __be16 port, const char *text_fmt)
{
	char s[ADDR_STRLEN];

	if (addr_format(a, s, sizeof(s)))
		snprintf(s, sizeof(s), "?");
	if (!addr_is_v4mapped(a) && !out_is_json()) {
		out_text(text_fmt, "[");
		out_str(key, "%s]", s);
	} else {
		out_text(text_fmt, "");
		out_str(key, "%s", s);
	}
	out_u64(port_key, ":%llu", ntohs(port));
}

static void print_backend(struct trace_ctx *c, const struct sluice_trace_rec *r,
			  const struct maps_svc_entry *svc)
{
	struct sluice_backend be;
	char a[ADDR_STRLEN];

	if (r->backend_id == SLUICE_TRACE_NONE || r->backend_id >= SLUICE_MAX_BACKENDS ||
	    maps_read_backend(&c->m, r->backend_id, &be) || be.state == SLUICE_BE_UNUSED) {
		err_clear();
		out_null("backend", NULL, NULL);
		return;
	}
	if (addr_format(&be.addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	out_str("backend", " backend %s", a);
	out_u64("backend_port", " port %llu", svc ? backend_port(&be, &svc->key) : ntohs(be.port));
	out_u64("backend_id", NULL, r->backend_id);
}

static int on_record(void *ctx, const struct sluice_trace_rec *r)
{
	struct trace_ctx *c = ctx;
	const struct maps_svc_entry *svc = svc_of(c, r->svc_id);
	__u64 real_ns = (__u64)((__s64)r->ts_ns + c->mono_to_real_ns);
	char when[40], ifn[IF_NAMESIZE + 8], flags[8], k[SVC_KEY_STRLEN];
	time_t secs = (time_t)(real_ns / 1000000000ull);
	struct tm tm;
	const char *reason = reason_name(r->reason);

	/* The rest of a batch read past count is not shown. */
	if (c->count && c->seen >= c->count)
		return 0;
	trace_pcap_write(c->pcap, real_ns, r->data, r->cap_len, r->frame_len);
	if (cli.json && !out_is_json())
		out_start(cli.json, cli.pretty);
	if (localtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	else
		snprintf(when, sizeof(when), "?");
	out_text("%s.%06llu", when, (unsigned long long)(real_ns % 1000000000ull / 1000));
	out_u64("time_ns", NULL, real_ns);
	iface_name(c, r->ifindex, ifn, sizeof(ifn));
	out_str("iface", " %s", ifn);
	out_u64("ifindex", NULL, r->ifindex);
	if (r->family) {
		out_str("family", NULL, r->family == 0x86dd ? "ipv6" : "ipv4");
		out_str("proto", " %s",
			r->proto == IPPROTO_TCP	  ? "tcp"
			: r->proto == IPPROTO_UDP ? "udp"
						  : "ip");
		print_endpoint("src", "sport", &r->src, r->sport, " %s");
		print_endpoint("dst", "dport", &r->dst, r->dport, " > %s");
		if (r->proto == IPPROTO_TCP) {
			tcp_flags_text(r->tcp_flags, flags);
			out_str("tcp_flags", " [%s]", flags);
		}
	} else {
		out_null("family", " %s", "not-ip");
	}
	out_u64("len", " len %llu", r->frame_len);
	out_str("reason", ": %s", reason ? reason : "?");
	out_str("action", " (%s)", action_name(r->action));
	if (svc) {
		svc_key_format_args(&svc->key, k, sizeof(k));
		out_str("service", " service %s", k);
		out_u64("service_id", NULL, svc->svc.id);
	} else {
		out_null("service", NULL, NULL);
	}
	print_backend(c, r, svc);
	out_text("\n");
	out_end();
	fflush(out_file());
	c->seen++;
	return c->count && c->seen >= c->count ? 1 : 0;
}

static volatile sig_atomic_t trace_stopped;

static void on_stop(int sig)
{
	(void)sig;
	trace_stopped = 1;
}

static void ctx_free(struct trace_ctx *c)
{
	trace_pcap_close(c->pcap);
	free(c->svcs);
	free(c->ifaces);
	maps_close(&c->m);
}

static int run(struct trace_ctx *c, const struct trace_opts *o)
{
	struct trace *t = NULL;
	__u64 end = o->duration ? clock_mono_ms() + (__u64)o->duration * 1000 : 0;
	__u64 renewed = clock_mono_ms();
	int err;

	err = trace_open(cli.pin_root, on_record, c, &t);
	if (!err)
		err = trace_start(t, &o->filter);
	/* On stderr: stdout holds only decisions (scripts wait for this line). */
	if (!err)
		fprintf(out_err_file(), "sluice: tracing under %s (Ctrl-C stops)\n", cli.pin_root);
	while (!err && !trace_stopped && (!end || clock_mono_ms() < end)) {
		err = trace_poll(t, 100);
		if (err == -EINTR || err >= 0)
			err = err > 0 && c->count && c->seen >= c->count ? 1 : 0;
		if (err)
			break;
		if (clock_mono_ms() - renewed >= 1000) {
			err = trace_renew(t);
			renewed = clock_mono_ms();
		}
	}
	if (err > 0)
		err = 0; /* count reached */
	if (!err)
		err = trace_stop(t);
	trace_close(t);
	return err;
}

int do_trace(int argc, char **argv)
{
	struct sigaction sa, old_int, old_term;
	struct trace_opts o;
	struct trace_ctx c;
	struct timespec rt, mt;
	int err;

	if (argc == 1 && !strcmp(argv[0], "help"))
		return do_help();
	err = parse(argc, argv, &o);
	if (err)
		return err;
	memset(&c, 0, sizeof(c));
	c.count = o.count;
	err = cli_open_maps(&c.m);
	if (err)
		return err;
	if (o.filter.flags & SLUICE_TRACE_F_SVC) {
		struct sluice_svc svc;

		err = maps_svc_lookup(&c.m, &o.key, &svc);
		if (err) {
			char k[SVC_KEY_STRLEN];

			svc_key_format(&o.key, k, sizeof(k));
			out_error("no service %s (sluice service show lists them)", k);
			goto out;
		}
		o.filter.svc_id = svc.id;
	}
	if (maps_svc_list(&c.m, &c.svcs, &c.nsvcs) ||
	    loader_show(cli.pin_root, NULL, &c.ifaces, &c.nifaces))
		err_clear(); /* names only: records print with ids then */
	c.svcs_read_ms = clock_mono_ms();
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	c.mono_to_real_ns = ((__s64)rt.tv_sec - mt.tv_sec) * 1000000000ll + rt.tv_nsec - mt.tv_nsec;
	if (o.pcap) {
		err = trace_pcap_open(o.pcap, SLUICE_TRACE_SNAP_MAX, &c.pcap);
		if (err) {
			cli_lib_error(err);
			goto out;
		}
	}
	/* JSON lines: each decision is a document of its own (on_record()). */
	out_discard();
	trace_stopped = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	err = run(&c, &o);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (err) {
		/* out_end() left JSON mode: the error gets a document of its own. */
		if (cli.json && !out_is_json())
			out_start(cli.json, cli.pretty);
		cli_lib_error(err);
	}
out:
	ctx_free(&c);
	return err;
}
