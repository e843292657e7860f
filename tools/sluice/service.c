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
		"            egress-rate RATE | BULKHEAD | BREAKER | FAILOVER }\n"
		"BULKHEAD := { max-conns N | reserved N | critical PREFIX[,PREFIX...] | critical none |\n"
		"              refuse { rst | drop } | global-limit { on | off } }\n"
		"BREAKER  := { on-open { next | fallback | fail-fast } |\n"
		"              fallback BACKEND_ADDR [port BPORT] | fallback none |\n"
		"              breaker-failures N | breaker-window SECONDS | breaker-rate PCT |\n"
		"              breaker-min-calls N | breaker-wait SECONDS | breaker-wait-max SECONDS |\n"
		"              breaker-probes K | breaker-successes M | breaker-max-open PCT |\n"
		"              syn-timeout MS | breaker-fast-trip K | panic-threshold PCT }\n"
		"FAILOVER := { retries N }\n"
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
		"RATE   := bandwidth with a unit: bits/s (500kbit, 16mbit, 1gbit) or bytes/s\n"
		"          (64kB, 2MB), decimal multiples, 8kbit..400gbit; 0 = unlimited\n"
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
		"         backends (active/total); egress-rate and, once paced, its packets,\n"
		"         bytes, delayed and dropped at the TC egress (JSON: egress).\n"
		"\n"
		"  rate PPS          packets per second admitted for the whole service\n"
		"  burst N           packets admitted back to back above the rate; needs rate in\n"
		"                    the same command; default max(1, PPS/50), 20 ms of traffic;\n"
		"                    at most 3600 s of traffic\n"
		"  client-rate PPS   packets per second admitted per client (source) address\n"
		"  client-burst N    as burst, for client-rate\n"
		"Packets over a rate are dropped and counted (drop_svc_rate, drop_client_rate).\n"
		"  egress-rate RATE  on hosts (the host side, 'sluice host help'): the bytes\n"
		"                    this host sends on the service's balanced connections, at\n"
		"                    most RATE in all: each TCP connection is paced by TCP to\n"
		"                    its share, and 'iface attach DEV --hook tc-egress' paces\n"
		"                    every packet (EDT with fq; policing without). New rates\n"
		"                    apply to connections established afterwards (TCP's share)\n"
		"                    and to every packet at once (tc-egress)\n"
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
		"  panic-threshold PCT    below PCT %% healthy active backends, new connections\n"
		"                    spread over all of them, breakers ignored (service shows\n"
		"                    PANIC); 0..100, 0 = off (default 50); breaker-max-open +\n"
		"                    panic-threshold <= 100\n"
		"  syn-timeout MS         a SYN unanswered this long is a failure and its slot is\n"
		"                    given back by the sweep, 100..600000 (default 3000)\n"
		"  breaker-fast-trip K    the data plane opens a backend's breaker itself after K\n"
		"                    handshake failures in a row (RST or ICMP answering the SYN,\n"
		"                    SYN retransmitted), 0..10000, 0 = off (default 5); half-open\n"
		"                    and closing stay the state machine's\n"
		"  retries N              failover: a handshake refused (RST, ICMP unreachable) or\n"
		"                    unanswered (the client retransmits its SYN) moves to the next\n"
		"                    backend, at most N times per connection, 0..7, 0 = off\n"
		"                    (default 2). nat: the refusal never reaches the client, the\n"
		"                    gateway sends the SYN itself; ipip sees no replies, only the\n"
		"                    retransmission moves it. A SYN with data (Fast Open) is never\n"
		"                    replayed; a connection the backend had accepted cannot be\n"
		"                    saved at L4\n"
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
	if (cmd_parse_svc_key(argc, argv, key))
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

static void print_service(void *ctx, const void *item)
{
	const struct svc_info *it = item;

	cmd_print_service(NULL, &it->key, &it->svc, it->write_port, ctx);
}

static int do_show(int argc, char **argv)
{
	struct svc_info *list = NULL;
	struct cli_show s;
	struct sluice_svc svc;
	size_t n = 0;
	int err;

	err = cli_show_open("service", "show", 1, argc, argv, &s);
	if (!err && s.only) {
		err = svc_get(&s.m, s.only, &svc);
		if (!err) {
			out_open_array(NULL);
			cmd_print_service(NULL, s.only, &svc, -1, &s.m);
			out_close_array();
		}
	} else if (!err) {
		err = svc_info_list(&s.m, &list, &n);
		if (!err)
			cli_print_list(list, n, sizeof(*list), print_service, &s.m,
				       "no services (add one with 'sluice service add')");
	}
	free(list);
	return cli_show_close(&s, err);
}

const struct cli_cmd cli_service_cmds[] = {
	{ "add", NULL, CLI_WRITE, CMD_SERVICE_ADD },
	{ "set", NULL, CLI_WRITE, CMD_SERVICE_SET },
	{ "del", NULL, CLI_WRITE, CMD_SERVICE_DEL },
	{ "show", do_show, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
