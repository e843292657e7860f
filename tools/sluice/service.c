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
#include "err.h"
#include "loader.h"
#include "main.h"
#include "maps.h"
#include "out.h"
#include "svc.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: sluice service add ADDR PORT PROTO [OPTION]...\n"
	       "       sluice service set ADDR PORT PROTO OPTION...\n"
	       "       sluice service del ADDR PORT PROTO\n"
	       "       sluice service show [ADDR PORT PROTO]\n"
	       "       sluice service help\n"
	       "\n"
	       "ADDR   := service (destination) address, IPv4 (192.0.2.10) or IPv6 (2001:db8::10)\n"
	       "PORT   := destination port, 1..65535\n"
	       "PROTO  := { tcp | udp }\n"
	       "OPTION := { mode MODE | hash HASH | maglev-size PRIME | rate PPS | burst N |\n"
	       "            client-rate PPS | client-burst N }\n"
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
	       "  del    Delete a service with its backends, shards and tables; its counters\n"
	       "         are cleared.\n"
	       "  show   List every service (by id), or the one given: mode, hash, rates and,\n"
	       "         for nat and ipip, the Maglev size and the backends (active/total).\n"
	       "\n"
	       "  rate PPS          packets per second admitted for the whole service\n"
	       "  burst N           packets admitted back to back above the rate; needs rate in\n"
	       "                    the same command; default max(1, PPS/50), 20 ms of traffic;\n"
	       "                    at most 3600 s of traffic\n"
	       "  client-rate PPS   packets per second admitted per client (source) address\n"
	       "  client-burst N    as burst, for client-rate\n"
	       "Packets over a rate are dropped and counted (drop_svc_rate, drop_client_rate).\n"
	       "Keywords may be abbreviated to a unique prefix (r = rate, client-b = client-burst).\n"
	       "\n"
	       "Examples:\n"
	       "  sluice service add 192.0.2.10 80 tcp rate 10k\n"
	       "  sluice service add 2001:db8::10 53 udp rate 50k burst 5k client-rate 100\n"
	       "  sluice service add 192.0.2.20 80 tcp mode nat hash client\n"
	       "  sluice service add 192.0.2.30 80 tcp mode ipip maglev-size 131071\n"
	       "  sluice service set 192.0.2.10 80 tcp rate 0          (make it unlimited)\n"
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

void cli_print_service(const char *key, const struct sluice_svc_key *k, const struct sluice_svc *s,
		       const struct sluice_maps *m)
{
	char a[ADDR_STRLEN];
	__u32 size = 0, n = 0, active = 0;

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
	out_text("\n");
	out_close_obj();
}

enum { KW_MODE, KW_HASH, KW_MAGLEV_SIZE, KW_RATE, KW_BURST, KW_CLIENT_RATE, KW_CLIENT_BURST };

static const struct {
	const char *name;
	const char *value; /* the value's name in the grammar */
} keywords[] = {
	[KW_MODE] = { "mode", "MODE" },
	[KW_HASH] = { "hash", "HASH" },
	[KW_MAGLEV_SIZE] = { "maglev-size", "PRIME" },
	[KW_RATE] = { "rate", "PPS" },
	[KW_BURST] = { "burst", "N" },
	[KW_CLIENT_RATE] = { "client-rate", "PPS" },
	[KW_CLIENT_BURST] = { "client-burst", "N" },
};

/* Parse "[KEYWORD VALUE]..." into conf; reports the error. */
static int parse_options(const char *cmd, int argc, char **argv, struct svc_conf *conf)
{
	int seen[sizeof(keywords) / sizeof(keywords[0])] = { 0 };
	int i, kw, err;

	memset(conf, 0, sizeof(*conf));
	for (i = 0; i < argc; i += 2) {
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
		default:
			err = args_parse_count(argv[i + 1], SLUICE_RATE_MAX_PPS, "client-burst",
					       &conf->client_burst);
			conf->has_client_burst = 1;
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
			"service set: nothing to change: give at least one of mode, hash, maglev-size, rate, burst, client-rate, client-burst");
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
	struct maps_svc_entry *list = NULL;
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
	err = svc_list(&m, &list, &n);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_open_array(NULL);
	for (i = 0; i < n; i++)
		cli_print_service(NULL, &list[i].key, &list[i].svc, &m);
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
		{ "add", do_add },   { "set", do_set },	  { "del", do_del },
		{ "show", do_show }, { "help", do_help },
	};

	return cli_dispatch("service", cmds, sizeof(cmds) / sizeof(cmds[0]), NULL, argc, argv);
}
