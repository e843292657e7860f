// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of userspace/cmd: the write commands' grammar. Command lines
 * parse into a struct sluice_cmd and format back to their canonical form
 * (which parses to the same command), bad lines give the CLI's messages,
 * and a journal written by the daemon before the command library existed
 * (tests/unit/fixtures/journal-main, 19 commands with abbreviations and a
 * --flow-entries) replays through cmd_parse().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmd.h"
#include "err.h"
#include "journal.h"

/* Split line at spaces into argv (in buf). */
static int split(const char *line, char *buf, size_t len, char **argv, int max)
{
	int n = 0;
	char *t, *save = NULL;

	snprintf(buf, len, "%s", line);
	for (t = strtok_r(buf, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	return n;
}

static int parse_line(const char *line, struct sluice_cmd *cmd)
{
	char buf[1024], *argv[64];
	int argc = split(line, buf, sizeof(buf), argv, 63);

	return cmd_parse(argc, argv, cmd);
}

/* line parses, formats as want, and want parses to the same command. */
static void round_trip(const char *line, const char *want)
{
	struct sluice_cmd *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char got[1024], again[1024];

	assert_non_null(a);
	assert_non_null(b);
	if (parse_line(line, a))
		fail_msg("'%s': %s", line, err_msg());
	cmd_format_line(a, got, sizeof(got));
	assert_string_equal(got, want);
	if (parse_line(got, b))
		fail_msg("'%s': %s", got, err_msg());
	cmd_format_line(b, again, sizeof(again));
	assert_string_equal(again, want);
	assert_int_equal(a->kind, b->kind);
	assert_memory_equal(&a->svc, &b->svc, sizeof(a->svc));
	free(a);
	free(b);
}

static void test_round_trip(void **unused)
{
	(void)unused;
	round_trip("iface attach eth0", "iface attach eth0 --mode native");
	round_trip("iface att veth0 --force --mode skb", "iface attach veth0 --mode skb --force");
	round_trip("iface detach eth0", "iface detach eth0");
	round_trip("iface attach eth0 --hook tc --force", "iface attach eth0 --hook tc --force");
	round_trip("iface attach eth0 --hook xdp --mode skb", "iface attach eth0 --mode skb");
	round_trip("iface attach eth0 --hook tc-egress", "iface attach eth0 --hook tc-egress");
	round_trip("service set 192.0.2.10 80 tcp egress-rate 2MB",
		   "service set 192.0.2.10 80 tcp egress-rate 16mbit");
	round_trip("service add 192.0.2.10 80 tcp mode nat egress-r 0",
		   "service add 192.0.2.10 80 tcp mode nat egress-rate 0");
	round_trip("ser a 192.0.2.10 80 tcp ra 10k client-b 5 client-r 100 mode nat",
		   "service add 192.0.2.10 80 tcp mode nat rate 10000 client-rate 100 "
		   "client-burst 5");
	round_trip("service set 192.0.2.10 80 tcp breaker-window 2.5 fallback 10.0.0.1 "
		   "critical 10.0.0.0/8 global-limit off syn-timeout 500",
		   "service set 192.0.2.10 80 tcp critical 10.0.0.0/8 global-limit off "
		   "fallback 10.0.0.1 breaker-window 2.500 syn-timeout 500");
	round_trip("service set 192.0.2.10 80 tcp panic-threshold 0 breaker-max-open 100",
		   "service set 192.0.2.10 80 tcp breaker-max-open 100 panic-threshold 0");
	round_trip("service set 192.0.2.10 80 tcp write-port none route leader fallback none",
		   "service set 192.0.2.10 80 tcp write-port none route leader fallback none");
	round_trip("service del 2001:db8::10 53 udp", "service del 2001:db8::10 53 udp");
	round_trip("backend add 192.0.2.10 80 tcp 10.0.0.11 weight 2 port 8080",
		   "backend add 192.0.2.10 80 tcp 10.0.0.11 port 8080 weight 2");
	round_trip("backend act 192.0.2.10 80 tcp 10.0.0.11",
		   "backend activate 192.0.2.10 80 tcp 10.0.0.11");
	round_trip("shard add 192.0.2.10 80 tcp 198.51.100.0/24 subset 10.0.0.12,10.0.0.13:8080",
		   "shard add 192.0.2.10 80 tcp 198.51.100.0/24 subset 10.0.0.12,10.0.0.13:8080");
	round_trip("shard add 2001:db8::10 80 tcp 2001:db8:1::/48 subset [2001:db8::21]:8080",
		   "shard add 2001:db8::10 80 tcp 2001:db8:1::/48 subset [2001:db8::21]:8080");
	round_trip("shard add 192.0.2.10 80 tcp 10.9.0.0/16 backend 10.0.0.1 port 80",
		   "shard add 192.0.2.10 80 tcp 10.9.0.0/16 backend 10.0.0.1 port 80");
	round_trip("gateway set udp-timeout 60 encap-source6 none",
		   "gateway set encap-source6 none udp-timeout 60");
	round_trip("bulkhead set tcp-idle 600 max-conns 20k",
		   "bulkhead set max-conns 20000 tcp-idle 600");
	round_trip("breaker trip 192.0.2.10 80 tcp 10.0.0.11 port 8080",
		   "breaker trip 192.0.2.10 80 tcp 10.0.0.11 port 8080");
	round_trip("leader set 192.0.2.40 5432 tcp 10.0.1.5:5432",
		   "leader set 192.0.2.40 5432 tcp 10.0.1.5 port 5432 source operator");
	round_trip("leader set 192.0.2.40 5432 tcp none source role",
		   "leader set 192.0.2.40 5432 tcp none source role");
	round_trip("host attach /sys/fs/cgroup/unified/app",
		   "host attach /sys/fs/cgroup/unified/app");
	round_trip("host att app service 192.0.2.10 80 tcp service 2001:db8::10 53 udp",
		   "host attach app service 192.0.2.10 80 tcp service 2001:db8::10 53 udp");
	round_trip("host det app", "host detach app");
	round_trip("--flow-entries 1m iface attach eth0",
		   "--flow-entries 1000000 iface attach eth0 --mode native");
}

/* line fails to parse with exactly msg. */
static void bad(const char *line, const char *msg)
{
	struct sluice_cmd cmd;

	assert_int_equal(parse_line(line, &cmd), -EINVAL);
	assert_string_equal(err_msg(), msg);
}

static void test_errors(void **unused)
{
	(void)unused;
	bad("service add 192.0.2.10 80",
	    "missing PROTO: a service is given as ADDR PORT PROTO (e.g. 192.0.2.10 80 tcp)");
	bad("service set 192.0.2.10 80 tcp",
	    "service set: nothing to change: give at least one OPTION (mode, rate, max-conns, "
	    "breaker-failures, ...)");
	bad("service add 192.0.2.10 80 tcp rate 1 rate 2",
	    "service add: 'rate' given twice; give it once");
	bad("backend set 192.0.2.10 80 tcp 10.0.0.1",
	    "backend set: nothing to change: give weight W");
	bad("backend drain 192.0.2.10 80 tcp 10.0.0.1 weight 2",
	    "backend drain: weight is not taken here");
	bad("iface attach", "iface attach: missing DEV, e.g. sluice iface attach eth0");
	bad("iface detach eth0 eth1", "iface detach: unexpected argument 'eth1'");
	bad("iface attach eth0 --hook ebpf",
	    "iface attach: unknown hook 'ebpf': give xdp, tc or tc-egress");
	bad("iface attach eth0 --hook",
	    "iface attach: --hook needs a value: --hook xdp|tc|tc-egress");
	bad("iface attach eth0 --hook tc --hook xdp", "iface attach: --hook given twice");
	bad("iface attach eth0 --mode skb --hook tc",
	    "iface attach: --mode is XDP's; --hook tc has none");
	bad("gateway set", "gateway set: nothing to change: give encap-source4, encap-source6 or "
			   "udp-timeout");
	bad("leader set 192.0.2.40 5432 tcp none port 5", "leader set: 'none' takes no port: give "
							  "none alone");
	bad("shard del 192.0.2.10 80 tcp 10.9.0.0/16 x", "shard del: unexpected argument 'x'");
	bad("service show", "service: unknown command 'show': expected one of add, set, del");
	bad("stats", "unknown object 'stats': expected one of iface, service, backend, shard, "
		     "gateway, bulkhead, breaker, leader, host");
	bad("host attach", "host attach: missing CGROUP, e.g. sluice host attach "
			   "/sys/fs/cgroup/unified/app");
	bad("host attach app service 192.0.2.10 80",
	    "host attach: missing PROTO: a service is given as ADDR PORT PROTO (e.g. 192.0.2.10 80 "
	    "tcp)");
	bad("host attach app svc 192.0.2.10 80 tcp",
	    "host attach: unexpected argument 'svc' (expected service ADDR PORT PROTO)");
	bad("host attach app service 192.0.2.10 80 tcp service 192.0.2.10 80 tcp",
	    "host attach: service 192.0.2.10 80 tcp listed twice");
	bad("host detach app x", "host detach: unexpected argument 'x'");
}

static void test_kinds(void **unused)
{
	enum cmd_kind k;
	int i;

	(void)unused;
	for (i = 1; i < CMD_KINDS; i++) {
		assert_non_null(cmd_kinds[i].object);
		assert_int_equal(cmd_lookup(cmd_kinds[i].object, cmd_kinds[i].verb, &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(cmd_lookup("ser", "a", &k), 0);
	assert_int_equal(k, CMD_SERVICE_ADD);
	assert_int_equal(cmd_lookup("backend", "a", &k), -EINVAL); /* add, activate */
	assert_int_equal(k, CMD_NONE);
}

/* Every journaled command parses; the canonical form parses to itself. */
static int replayed(void *ctx, int argc, char **argv)
{
	struct sluice_cmd *cmd = malloc(sizeof(*cmd));
	char line[1024];
	int *n = ctx;

	assert_non_null(cmd);
	if (cmd_parse(argc, argv, cmd))
		fail_msg("journal command %d: %s: %s", *n + 1, argv[0], err_msg());
	cmd_format_line(cmd, line, sizeof(line));
	round_trip(line, line);
	if (*n == 0)
		assert_string_equal(line, "--flow-entries 4096 gateway set encap-source4 192.0.2.1 "
					  "udp-timeout 60");
	if (*n == 2)
		assert_string_equal(
			line, "service add 192.0.2.10 80 tcp mode nat rate 10000 client-rate 100 "
			      "max-conns 500 reserved 50 critical 10.0.0.0/8,2001:db8::/32");
	(*n)++;
	free(cmd);
	return 0;
}

static void test_journal_of_main(void **unused)
{
	char dir[] = "/tmp/sluice-test-cmd-XXXXXX", cmd[512];
	int n = 0;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp tests/unit/fixtures/journal-main/*.seg %s/", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(journal_replay_commands(dir, UINT64_MAX, replayed, &n), 0);
	assert_int_equal(n, 19);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_journal_of_main),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
