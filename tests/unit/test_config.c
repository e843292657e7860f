// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of userspace/config.c and userspace/state.c: valid files (the
 * commented example included) and their round trips (load -> dump -> load,
 * load -> state_to_commands -> replayed), invalid files with each error's
 * exact line and column, and state_diff() cases. Commands are replayed on
 * real maps under a private pin root by the command library (cmd_apply()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "addr.h"
#include "args.h"
#include "cmd.h"
#include "config.h"
#include "err.h"
#include "loader.h"
#include "out.h"
#include "pinroot.h"
#include "rate.h"
#include "res.h"
#include "shard.h"
#include "state.h"
#include "svc.h"

static int load(const char *text, struct state *s)
{
	return config_load_string("t.yaml", text, strlen(text), s);
}

/* Load text, expect -EINVAL and the message to start with "t.yaml:LINE:COL: " and hold what. */
static void expect_error(const char *text, int line, int col, const char *what)
{
	char prefix[64];
	struct state s;

	snprintf(prefix, sizeof(prefix), "t.yaml:%d:%d: ", line, col);
	assert_int_equal(load(text, &s), -EINVAL);
	if (strncmp(err_msg(), prefix, strlen(prefix)) || !strstr(err_msg(), what))
		fail_msg("expected '%s...%s', got '%s'", prefix, what, err_msg());
	assert_int_equal(s.nservices, 0); /* nothing left behind */
}

/*
 * Replaying commands: on real maps under a private pin root, through the
 * command library (cmd_apply(), the code sluice and sluiced run), then read
 * back (state_read_maps()) into the state being replayed on. Interfaces
 * cannot be attached here: iface commands change the state's list only.
 */

static struct pinroot pr;

struct replay {
	struct state *s;
	int count;
	char log[64][512];
	int started;	/* the walk has begun: the pins hold s and its commands */
	size_t nifaces; /* iface commands of the walk, applied to s at its end */
	struct sluice_cmd *ifaces;
};

/* Apply cmd to the pins; its output captured and dropped. */
static int apply(void *ctx, const struct sluice_cmd *cmd)
{
	struct out_capture cap;
	int err;

	(void)ctx;
	if (cmd->kind == CMD_IFACE_ATTACH || cmd->kind == CMD_IFACE_DETACH)
		return 0;
	assert_int_equal(out_capture_begin(&cap, 0, 0), 0);
	err = cmd_apply(pr.root, cmd);
	out_capture_end(&cap);
	if (err) {
		char line[512];

		cmd_format_line(cmd, line, sizeof(line));
		fail_msg("'%s': %s", line, err_text(err));
	}
	free(cap.out);
	free(cap.err);
	return 0;
}

/* The maps' content into s; what the maps do not hold (interfaces, daemon, ...) kept. */
static void read_back(struct state *s)
{
	struct state got;

	assert_int_equal(state_read_maps(&pr.maps, &got), 0);
	got.has_ifaces = s->has_ifaces;
	got.has_gateway = s->has_gateway;
	got.has_bulkhead = s->has_bulkhead;
	got.nifaces = s->nifaces;
	got.ifaces = s->ifaces;
	got.daemon = s->daemon;
	got.cluster = s->cluster;
	s->nifaces = 0;
	s->ifaces = NULL;
	state_free(s);
	*s = got;
}

/* Make the pins hold s (fresh maps built by its commands) unless they do already. */
static void sync_maps(const struct state *s)
{
	struct state have;
	int same;

	assert_int_equal(state_read_maps(&pr.maps, &have), 0);
	have.has_ifaces = 0;
	same = state_equal(&have, s);
	state_free(&have);
	if (same)
		return;
	pinroot_teardown(&pr);
	assert_int_equal(pinroot_setup(&pr), 0);
	assert_null(pr.skip_reason);
	assert_int_equal(state_to_commands(s, apply, NULL), 0);
}

static void replay_iface(struct state *s, const struct sluice_cmd *cmd)
{
	struct state_iface *f = NULL;
	size_t j;

	for (j = 0; j < s->nifaces; j++)
		if (!strcmp(s->ifaces[j].name, cmd->iface.dev))
			f = &s->ifaces[j];
	if (cmd->kind == CMD_IFACE_DETACH) {
		assert_non_null(f);
		j = (size_t)(f - s->ifaces);
		memmove(&s->ifaces[j], &s->ifaces[j + 1], (s->nifaces - j - 1) * sizeof(*f));
		s->nifaces--;
		return;
	}
	if (!f)
		f = state_add_iface(s);
	snprintf(f->name, sizeof(f->name), "%.*s", (int)sizeof(f->name) - 1, cmd->iface.dev);
	f->skb = cmd->iface.opts.mode == LOADER_XDP_SKB;
	f->hook = (int)cmd->iface.opts.hook;
}

/*
 * One command of a walk (state_diff(), state_to_commands()): applied to the
 * pins now; the state walked over (r->s) is left alone until replay_done().
 */
static int replay_emit(void *ctx, const struct sluice_cmd *cmd)
{
	struct replay *r = ctx;

	PINROOT_SKIP_UNLESS_READY(&pr);
	if (r->count < 64)
		cmd_format_line(cmd, r->log[r->count], sizeof(r->log[0]));
	r->count++;
	if (!r->started) {
		sync_maps(r->s);
		r->started = 1;
	}
	if (cmd->kind == CMD_IFACE_ATTACH || cmd->kind == CMD_IFACE_DETACH) {
		struct sluice_cmd *grown = realloc(r->ifaces, (r->nifaces + 1) * sizeof(*grown));

		assert_non_null(grown);
		r->ifaces = grown;
		r->ifaces[r->nifaces++] = *cmd;
	} else {
		apply(NULL, cmd);
	}
	return 0;
}

/* The walk is over: r->s becomes what the pins hold, with its interfaces replayed. */
static void replay_done(struct replay *r)
{
	size_t i;

	if (!r->started)
		return;
	read_back(r->s);
	for (i = 0; i < r->nifaces; i++)
		replay_iface(r->s, &r->ifaces[i]);
	state_sort(r->s);
	free(r->ifaces);
	r->ifaces = NULL;
	r->nifaces = 0;
	r->started = 0;
}

static int replay_diff(const struct state *from, const struct state *to, struct replay *r)
{
	int err = state_diff(from, to, replay_emit, r);

	replay_done(r);
	return err;
}

static int replay_build(const struct state *s, struct replay *r)
{
	int err = state_to_commands(s, replay_emit, r);

	replay_done(r);
	return err;
}

/* What the maps hold on a fresh pin root. */
static void empty_maps(struct state *s)
{
	state_init(s);
	s->has_ifaces = s->has_gateway = s->has_bulkhead = 1;
}

static const char full[] =
	"daemon:\n"
	"  socket: /run/x.sock\n"
	"  metrics: \"[::1]:9100\"\n"
	"  admin-group: sluice-admin\n"
	"  health:\n"
	"    interval: 5\n"
	"interfaces:\n"
	"  - eth0\n"
	"  - name: eth1\n"
	"    mode: skb\n"
	"  - name: eth2\n"
	"    hook: tc\n"
	"gateway:\n"
	"  encap-source4: 192.0.2.1\n"
	"  udp-timeout: 60\n"
	"bulkhead:\n"
	"  max-conns: 20k\n"
	"services:\n"
	"  - address: 192.0.2.10\n"
	"    port: 80\n"
	"    rate: 10k\n"
	"  - address: 192.0.2.20\n"
	"    port: 443\n"
	"    mode: nat\n"
	"    hash: client\n"
	"    maglev-size: 131071\n"
	"    client-rate: 100\n"
	"    client-burst: 7\n"
	"    max-conns: 500\n"
	"    reserved: 50\n"
	"    critical: [10.0.0.0/8, 192.168.1.0/24]\n"
	"    refuse: drop\n"
	"    global-limit: off\n"
	"    on-open: fallback\n"
	"    fallback: 10.0.1.3\n"
	"    breaker-failures: 5\n"
	"    breaker-window: 2.5\n"
	"    breaker-wait: 1\n"
	"    breaker-wait-max: 60\n"
	"    breaker-probes: 4\n"
	"    breaker-successes: 2\n"
	"    breaker-max-open: 40\n"
	"    panic-threshold: 60\n"
	"    syn-timeout: 1500\n"
	"    retries: 0\n"
	"    breaker-fast-trip: 3\n"
	"    health: {type: http, path: /hz, expect: [200, 204], body: ok}\n"
	"    backends:\n"
	"      - address: 10.0.1.1\n"
	"        port: 8080\n"
	"        weight: 3\n"
	"      - {address: 10.0.1.2, state: draining}\n"
	"      - 10.0.1.3\n"
	"    shards:\n"
	"      - prefix: 198.51.100.0/24\n"
	"        backend: 10.0.1.1\n"
	"      - prefix: 203.0.113.0/25\n"
	"        subset: \"10.0.1.3,10.0.1.2:443\"\n"
	"  - address: 2001:db8::20\n"
	"    port: 53\n"
	"    protocol: udp\n"
	"    mode: ipip\n"
	"    backends: [\"2001:db8:1::1\", {address: \"2001:db8:1::2\", port: 53}]\n";

static void test_load_full(void **unused)
{
	const struct state_service *v;
	struct state s;

	(void)unused;
	if (load(full, &s))
		fail_msg("%s", err_msg());
	assert_string_equal(s.daemon.socket, "/run/x.sock");
	assert_string_equal(s.daemon.metrics, "[::1]:9100");
	assert_string_equal(s.daemon.admin_group, "sluice-admin");
	assert_int_equal(s.daemon.health.interval_ms, 5000);
	assert_int_equal(s.has_ifaces, 1);
	assert_int_equal(s.nifaces, 3);
	assert_string_equal(s.ifaces[1].name, "eth1");
	assert_int_equal(s.ifaces[1].skb, 1);
	assert_int_equal(s.ifaces[1].hook, LOADER_HOOK_XDP);
	assert_string_equal(s.ifaces[2].name, "eth2");
	assert_int_equal(s.ifaces[2].hook, LOADER_HOOK_TC);
	assert_int_equal(s.udp_timeout_s, 60);
	assert_int_equal(s.global_max_conns, 20000);
	assert_int_equal(s.tcp_idle_s, RES_TCP_IDLE_DEFAULT_S);
	assert_int_equal(s.nservices, 3);
	v = &s.services[0]; /* sorted: 192.0.2.10 first */
	assert_int_equal(v->mode, SLUICE_MODE_LOCAL);
	assert_int_equal(v->rate, 10000);
	assert_int_equal(v->burst, 200); /* the default, rate / 50 */
	assert_int_equal(v->key.proto, IPPROTO_TCP);
	v = &s.services[1];
	assert_int_equal(v->mode, SLUICE_MODE_NAT);
	assert_int_equal(v->hash, SLUICE_HASH_CLIENT);
	assert_int_equal(v->maglev_size, 131071);
	assert_int_equal(v->client_burst, 7);
	assert_int_equal(v->res.reserved, 50);
	assert_int_equal(v->res.refuse, SLUICE_REFUSE_DROP);
	assert_int_equal(v->res.flags, SLUICE_RES_NO_GLOBAL);
	assert_int_equal(v->res.brk_window_ms, 2500);
	assert_int_equal(v->res.brk_rate_pct, 50); /* default, resolved */
	assert_int_equal(v->retries, 0);
	assert_int_equal(v->fast_trip, 3);
	assert_int_equal(s.services[0].retries, SLUICE_FO_RETRIES_DEFAULT);
	assert_int_equal(s.services[0].fast_trip, SLUICE_FO_TRIP_DEFAULT);
	assert_int_equal(v->res.brk_max_open_pct, 40);
	assert_int_equal(v->res.panic_pct, 60);
	assert_int_equal(v->ncritical, 2);
	assert_int_equal(v->has_fallback, 1);
	assert_int_equal(v->fallback.port, 443);
	assert_int_equal(v->health.type, STATE_HC_HTTP);
	assert_int_equal(v->health.interval_ms, 5000); /* from daemon.health */
	assert_int_equal(v->health.ncodes, 2);
	assert_string_equal(v->health.path, "/hz");
	assert_int_equal(v->nbackends, 3);
	assert_int_equal(v->backends[0].port, 8080);
	assert_int_equal(v->backends[0].weight, 3);
	assert_int_equal(v->backends[1].state, SLUICE_BE_DRAINING);
	assert_int_equal(v->nshards, 2);
	assert_int_equal(v->shards[0].members[0].port, 8080);
	assert_int_equal(v->shards[1].subset, 1);
	assert_int_equal(v->shards[1].count, 2);
	v = &s.services[2];
	assert_int_equal(v->mode, SLUICE_MODE_IPIP);
	assert_int_equal(v->maglev_size, SLUICE_MAGLEV_M_DEFAULT);
	assert_int_equal(v->backends[0].port, 53); /* ipip: the service port */
	state_free(&s);
}

static void test_example_file(void **unused)
{
	static const char *const paths[] = { "tools/sluiced.example.yaml",
					     "../tools/sluiced.example.yaml",
					     "../../tools/sluiced.example.yaml" };
	const char *path = NULL;
	struct state s;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]) && !path; i++)
		if (!access(paths[i], R_OK))
			path = paths[i];
	if (!path)
		skip();
	if (config_load(path, &s))
		fail_msg("%s", err_msg());
	assert_int_equal(s.nservices, 4);
	assert_int_equal(s.cluster.enabled, 1);
	assert_int_equal(s.services[2].write_port, 5433);
	assert_string_equal(s.services[2].election, "pg-main");
	state_free(&s);
	assert_int_equal(config_load("/nonexistent/sluiced.yaml", &s), -ENOENT);
	assert_non_null(strstr(err_msg(), "/nonexistent/sluiced.yaml: cannot open"));
}

/* A temporary file of n bytes: a comment line repeated, then "services: []". */
static void write_big(const char *path, size_t n)
{
	static const char line[] = "# padding padding padding padding padding padding padding\n";
	FILE *f = fopen(path, "w");
	size_t done = 0;

	assert_non_null(f);
	while (done < n) {
		fputs(line, f);
		done += sizeof(line) - 1;
	}
	fputs("services: []\n", f);
	fclose(f);
}

/*
 * Issue 13, F2: the read is bounded. A file over CONFIG_SIZE_MAX, anything
 * but a regular file (/dev/zero grew to gigabytes, a FIFO blocked the
 * daemon's loop) and YAML nested past CONFIG_DEPTH_MAX (40 000 nested flow
 * lists took 12 s) are refused, each error naming the file.
 */
static void test_read_limits(void **unused)
{
	char d[] = "/tmp/sluice-config-XXXXXX", path[64], fifo[64], *deep;
	size_t i, n = 40000;
	struct state s;
	int err;

	(void)unused;
	assert_non_null(mkdtemp(d));
	snprintf(path, sizeof(path), "%s/big.yaml", d);
	write_big(path, CONFIG_SIZE_MAX - 100); /* up to 57 bytes more, and the last line */
	if (config_load(path, &s))
		fail_msg("%s", err_msg());
	state_free(&s);
	write_big(path, CONFIG_SIZE_MAX + 1);
	assert_int_equal(config_load(path, &s), -EFBIG);
	assert_non_null(strstr(err_msg(), path));
	assert_non_null(strstr(err_msg(), "larger than"));
	unlink(path);

	snprintf(fifo, sizeof(fifo), "%s/fifo.yaml", d);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(config_load(fifo, &s), -EINVAL);
	assert_non_null(strstr(err_msg(), fifo));
	assert_non_null(strstr(err_msg(), "not a regular file"));
	unlink(fifo);
	assert_int_equal(config_load("/dev/zero", &s), -EINVAL);
	assert_non_null(strstr(err_msg(), "/dev/zero: not a regular file"));
	assert_int_equal(config_load(d, &s), -EINVAL);
	assert_non_null(strstr(err_msg(), "not a regular file"));
	rmdir(d);

	/* The same size cap for text in memory (what a client sends). */
	deep = malloc(CONFIG_SIZE_MAX + 2);
	assert_non_null(deep);
	memset(deep, ' ', CONFIG_SIZE_MAX + 1);
	deep[CONFIG_SIZE_MAX + 1] = '\0';
	assert_int_equal(config_load_string("t.yaml", deep, CONFIG_SIZE_MAX + 1, &s), -EFBIG);
	assert_non_null(strstr(err_msg(), "t.yaml"));
	free(deep);

	/* Nesting: the limit itself loads (as far as the schema goes), one more does not. */
	deep = malloc(2 * n + 64);
	assert_non_null(deep);
	for (i = 0; i < CONFIG_DEPTH_MAX; i++)
		deep[i] = '[';
	for (; i < 2 * CONFIG_DEPTH_MAX; i++)
		deep[i] = ']';
	deep[i] = '\0';
	err = load(deep, &s);
	assert_int_equal(err, -EINVAL);
	assert_null(strstr(err_msg(), "nested"));
	for (i = 0; i < n; i++)
		deep[i] = '[';
	for (; i < 2 * n; i++)
		deep[i] = ']';
	deep[i] = '\0';
	assert_int_equal(load(deep, &s), -EINVAL);
	assert_non_null(strstr(err_msg(), "t.yaml:1:"));
	assert_non_null(strstr(err_msg(), "nested deeper than"));
	snprintf(deep, 2 * n + 64, "services:\n  - name: a\n    x: ");
	for (i = strlen(deep); i < n; i++)
		deep[i] = '[';
	deep[i] = '\0';
	assert_int_equal(load(deep, &s), -EINVAL);
	assert_non_null(strstr(err_msg(), "t.yaml:3:"));
	assert_non_null(strstr(err_msg(), "nested deeper than"));
	free(deep);
}

/* Dump a, load the text back into b (the test fails with the text if it does not load). */
static void dump_load(const struct state *a, struct state *b)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(config_dump(f, a), 0);
	fclose(f);
	if (config_load_string("dump.yaml", text, len, b))
		fail_msg("%s\n%s", err_msg(), text);
	free(text);
}

/* Collect the command lines of a walk without applying them. */
struct lines {
	int count;
	char log[16][512];
};

static int collect(void *ctx, const struct sluice_cmd *cmd)
{
	struct lines *l = ctx;

	if (l->count < 16)
		cmd_format_line(cmd, l->log[l->count], sizeof(l->log[0]));
	l->count++;
	return 0;
}

static const char hosts_cfg[] = "services:\n"
				"  - address: 192.0.2.20\n"
				"    port: 80\n"
				"    mode: nat\n"
				"  - address: 2001:db8::20\n"
				"    port: 53\n"
				"    protocol: udp\n"
				"    mode: nat\n"
				"hosts:\n"
				"  - cgroup: /sys/fs/cgroup/unified/web\n"
				"    services: [\"2001:db8::20 53 udp\", \"192.0.2.20 80 tcp\"]\n"
				"  - cgroup: /sys/fs/cgroup/unified/all\n";

/* hosts: parsed, dumped and loaded back the same; diffs attach, re-attach and detach. */
static void test_hosts(void **unused)
{
	struct state a, b;
	struct lines l = { 0 };

	(void)unused;
	if (load(hosts_cfg, &a))
		fail_msg("%s", err_msg());
	assert_true(a.has_hosts);
	assert_int_equal(a.nhosts, 2);
	/* Sorted by path; services by key. */
	assert_string_equal(a.hosts[0].cgroup, "/sys/fs/cgroup/unified/all");
	assert_int_equal(a.hosts[0].nsvc, 0);
	assert_int_equal(a.hosts[1].nsvc, 2);
	dump_load(&a, &b);
	assert_true(state_equal(&a, &b));
	state_free(&b);
	/* From a state with the services but no attachment: two attaches, after the services. */
	assert_int_equal(load(hosts_cfg, &b), 0);
	b.nhosts = 0;
	assert_int_equal(state_diff(&b, &a, collect, &l), 0);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.log[0], "host attach /sys/fs/cgroup/unified/all");
	assert_string_equal(l.log[1], "host attach /sys/fs/cgroup/unified/web service 192.0.2.20 "
				      "80 tcp service 2001:db8::20 53 udp");
	/* Same attachments: nothing; one service fewer: attach again; gone: detach. */
	b.nhosts = 2;
	l.count = 0;
	assert_int_equal(state_diff(&b, &a, collect, &l), 0);
	assert_int_equal(l.count, 0);
	b.hosts[1].nsvc = 1;
	assert_int_equal(state_diff(&a, &b, collect, &l), 0);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.log[0], "host attach /sys/fs/cgroup/unified/web service 192.0.2.20 "
				      "80 tcp");
	b.nhosts = 1;
	l.count = 0;
	assert_int_equal(state_diff(&a, &b, collect, &l), 0);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.log[0], "host detach /sys/fs/cgroup/unified/web");
	/* A file without hosts leaves them alone. */
	b.has_hosts = 0;
	l.count = 0;
	assert_int_equal(state_diff(&a, &b, collect, &l), 0);
	assert_int_equal(l.count, 0);
	b.nhosts = 2;
	state_free(&a);
	state_free(&b);
	expect_error("hosts: [{cgroup: app}]\n", 1, 18, "cgroup: expected an absolute path");
	expect_error("hosts: [{services: []}]\n", 1, 9, "a host needs 'cgroup'");
	expect_error("hosts: [{cgroup: /a}, {cgroup: /a}]\n", 1, 32, "duplicate cgroup '/a'");
	expect_error("hosts: [{cgroup: /a, services: [192.0.2.1 80]}]\n", 1, 33,
		     "services: expected ADDR PORT PROTO");
}

/* load -> dump -> load gives the same state. */
static void test_dump_round_trip(void **unused)
{
	struct state a, b;

	(void)unused;
	assert_int_equal(load(full, &a), 0);
	dump_load(&a, &b);
	assert_true(state_equal(&a, &b));
	assert_int_equal(b.services[1].health.type, STATE_HC_HTTP);
	assert_string_equal(b.services[1].health.body, "ok");
	assert_string_equal(b.daemon.socket, "/run/x.sock");
	state_free(&a);
	state_free(&b);
}

/*
 * Issue 18: the desired state carries every health and leader key through
 * a dump and a load (the cluster's document is such a dump), and the
 * daemon-only parts copy onto a state read from the maps (which has none).
 */
static void test_dump_daemon_parts(void **unused)
{
	static const char text[] =
		"daemon:\n"
		"  health: {interval: 3, timeout: 0.5, rise: 4, fall: 5}\n"
		"services:\n"
		"  - address: 192.0.2.30\n"
		"    port: 80\n"
		"    mode: nat\n"
		"    health:\n"
		"      type: https\n"
		"      port: 8443\n"
		"      path: /healthz\n"
		"      expect: [200, 204]\n"
		"      body: alive\n"
		"      interval: 0.7\n"
		"      timeout: 0.3\n"
		"      rise: 2\n"
		"      fall: 6\n"
		"    backends: [10.0.3.1, 10.0.3.2]\n"
		"  - address: 192.0.2.31\n"
		"    port: 5432\n"
		"    mode: nat\n"
		"    route: leader\n"
		"    health: {type: tcp}\n"
		"    leader: {election: db-main}\n"
		"    backends: [10.0.3.3]\n"
		"  - address: 2001:db8::32\n"
		"    port: 5432\n"
		"    mode: nat\n"
		"    write-port: 5433\n"
		"    leader:\n"
		"      role: {type: http, port: 8008, path: /primary, expect: [200], interval: 0.4, timeout: 0.2}\n"
		"    backends: [\"2001:db8:3::1\"]\n";
	struct state a, b, maps;
	size_t i;

	(void)unused;
	if (load(text, &a))
		fail_msg("%s", err_msg());
	assert_int_equal(a.services[0].health.type, STATE_HC_HTTPS);
	assert_int_equal(a.services[0].health.fall, 6);
	assert_int_equal(a.services[1].health.interval_ms, 3000); /* daemon.health's */
	assert_string_equal(a.services[1].election, "db-main");
	assert_int_equal(a.services[2].role.port, 8008);
	dump_load(&a, &b);
	assert_true(state_equal(&a, &b));
	assert_true(state_daemon_parts_equal(&a, &b));
	for (i = 0; i < a.nservices; i++)
		assert_true(state_service_daemon_parts_equal(&a.services[i], &b.services[i]));
	/* A state without them (as read from the maps) differs until they are copied. */
	dump_load(&a, &maps);
	for (i = 0; i < maps.nservices; i++) {
		maps.services[i].health.type = STATE_HC_NONE;
		maps.services[i].role.type = STATE_HC_NONE;
		maps.services[i].election[0] = 0;
	}
	assert_false(state_daemon_parts_equal(&a, &maps));
	assert_true(state_equal(&a, &maps)); /* the maps' part is the same */
	state_copy_daemon_parts(&maps, &a);
	assert_true(state_daemon_parts_equal(&a, &maps));
	/* A changed key is seen. */
	b.services[0].health.rise = 3;
	assert_false(state_daemon_parts_equal(&a, &b));
	assert_false(state_service_daemon_parts_equal(&a.services[0], &b.services[0]));
	{
		struct sluice_svc_key *keys;
		size_t n;

		assert_int_equal(state_daemon_parts_diff(&a, &b, &keys, &n), 0);
		assert_int_equal(n, 1);
		assert_memory_equal(&keys[0], &a.services[0].key, sizeof(keys[0]));
		free(keys);
		/* A service only one side has, with settings: listed too. */
		b.nservices = 1;
		b.services[0].health.rise = a.services[0].health.rise;
		assert_int_equal(state_daemon_parts_diff(&a, &b, &keys, &n), 0);
		assert_int_equal(n, 2);
		free(keys);
		b.nservices = 3;
	}
	assert_true(state_service_daemon_parts_equal(NULL, &maps.services[0]) == 0);
	state_free(&a);
	state_free(&b);
	state_free(&maps);
}

/*
 * Issue 13, F4: strings with control characters (a newline in
 * cluster.prefix or a health body) were dumped raw inside double quotes, so
 * the dump did not load back, or loaded back different. Also C1 controls
 * and the Unicode line breaks YAML would fold, quotes and backslashes.
 */
static void test_dump_escapes(void **unused)
{
	static const char text_in[] =
		"cluster:\n"
		"  etcd: http://127.0.0.1:2379\n"
		"  prefix: \"/pre\\nfix\"\n"
		"  user: \"u\\t\\x01\\x1f\\x7f\"\n"
		"  password: \"\\N\\L\\P\\u0080\\u009f \\\"q\\\" \\\\ \\r\\n\\e \\ufeff é\"\n"
		"services:\n"
		"  - address: 192.0.2.1\n"
		"    port: 80\n"
		"    health: {type: http, body: \"ok\\r\\n\\tdone\\n\"}\n";
	struct state a, b;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)unused;
	if (load(text_in, &a))
		fail_msg("%s", err_msg());
	assert_string_equal(a.cluster.prefix, "/pre\nfix");
	assert_string_equal(a.cluster.user, "u\t\x01\x1f\x7f");
	assert_string_equal(a.services[0].health.body, "ok\r\n\tdone\n");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(config_dump(f, &a), 0);
	fclose(f);
	if (config_load_string("dump.yaml", text, len, &b))
		fail_msg("%s\n%s", err_msg(), text);
	assert_string_equal(b.cluster.prefix, a.cluster.prefix);
	assert_string_equal(b.cluster.user, a.cluster.user);
	assert_string_equal(b.cluster.password, a.cluster.password);
	assert_string_equal(b.services[0].health.body, a.services[0].health.body);
	assert_true(state_equal(&a, &b));
	/* Printable text, é included, stays as it was. */
	assert_non_null(strstr(text, "\"/pre\\nfix\""));
	assert_non_null(strstr(text, " \\\"q\\\" \\\\ \\r\\n\\x1b \\ufeff é\""));
	free(text);
	state_free(&a);
	state_free(&b);
}

/* load -> state_to_commands, replayed on empty maps, gives the same state. */
static void test_commands_round_trip(void **unused)
{
	struct state want, got;
	struct replay r = { .s = &got };

	(void)unused;
	assert_int_equal(load(full, &want), 0);
	empty_maps(&got);
	assert_int_equal(replay_build(&want, &r), 0);
	assert_true(state_equal(&want, &got));
	/*
	 * The order: gateway, bulkhead, the interfaces (the return path before
	 * any flow is steered), then the first service.
	 */
	assert_string_equal(
		r.log[0], "gateway set encap-source4 192.0.2.1 encap-source6 none udp-timeout 60");
	assert_string_equal(r.log[1], "bulkhead set max-conns 20000 tcp-idle 3600");
	assert_string_equal(r.log[2], "iface attach eth0 --mode native");
	assert_string_equal(r.log[3], "iface attach eth1 --mode skb");
	assert_string_equal(r.log[4], "iface attach eth2 --hook tc");
	assert_string_equal(r.log[5], "service add 192.0.2.10 80 tcp rate 10000 burst 200");
	/* And diffing the result against the file: nothing. */
	r.count = 0;
	assert_int_equal(replay_diff(&got, &want, &r), 0);
	assert_int_equal(r.count, 0);
	/* The same from empty maps through state_diff. */
	state_free(&got);
	empty_maps(&got);
	assert_int_equal(replay_diff(&got, &want, &r), 0);
	assert_true(state_equal(&want, &got));
	state_free(&want);
	state_free(&got);
}

static const char base_cfg[] = "services:\n"
			       "  - address: 192.0.2.10\n"
			       "    port: 80\n"
			       "    rate: 10k\n"
			       "  - address: 192.0.2.20\n"
			       "    port: 80\n"
			       "    mode: nat\n"
			       "    backends: [10.0.0.1, 10.0.0.2]\n";

/* Diff the maps holding base_cfg against text; check the commands; replay. */
static void diff_case(const char *text, int n, const char *const *cmds)
{
	struct state from, to;
	struct replay r = { .s = &from };
	int i;

	assert_int_equal(load(base_cfg, &from), 0);
	from.has_ifaces = from.has_gateway = from.has_bulkhead = 1;
	if (load(text, &to))
		fail_msg("%s", err_msg());
	assert_int_equal(replay_diff(&from, &to, &r), 0);
	for (i = 0; i < r.count && i < n; i++)
		assert_string_equal(r.log[i], cmds[i]);
	assert_int_equal(r.count, n);
	state_free(&from);
	state_free(&to);
}

/* Diff interfaces from -> to: detach eth0, then attach it as want; then the states agree. */
static void hook_case(const char *from_text, const char *to_text, const char *want)
{
	struct state from, to;
	struct replay r = { .s = &from };

	assert_int_equal(load(from_text, &from), 0);
	assert_int_equal(load(to_text, &to), 0);
	assert_int_equal(replay_diff(&from, &to, &r), 0);
	assert_int_equal(r.count, 2);
	assert_string_equal(r.log[0], "iface detach eth0");
	assert_string_equal(r.log[1], want);
	assert_true(state_equal(&from, &to));
	state_free(&from);
	state_free(&to);
}

/* An interface moving between XDP and TC: off its hook, then on the other (one at a time). */
static void test_diff_hook(void **unused)
{
	static const char *const xdp = "interfaces: [eth0, eth1]\n";
	static const char *const tc =
		"interfaces: [{name: eth0, hook: tc}, {name: eth1, hook: xdp}]\n";

	(void)unused;
	hook_case(xdp, tc, "iface attach eth0 --hook tc");
	hook_case(tc, xdp, "iface attach eth0 --mode native"); /* and back */
	/* Egress pacing's hook too. */
	hook_case(tc, "interfaces: [{name: eth0, hook: tc-egress}, eth1]\n",
		  "iface attach eth0 --hook tc-egress");
	expect_error("interfaces: [{name: eth0, hook: ebpf}]\n", 1, 33,
		     "hook: expected xdp, tc or tc-egress, found 'ebpf'");
	expect_error("interfaces: [{name: eth0, mode: skb, hook: tc}]\n", 1, 33,
		     "mode is XDP's; hook tc has none");
}

/* base_cfg with lines added to its nat service (before its backends): diff, one command. */
static void nat_setting_case(const char *lines, const char *want)
{
	const char *at = strstr(base_cfg, "    backends:");
	char text[sizeof(base_cfg) + 256];

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - base_cfg), base_cfg, lines, at);
	diff_case(text, 1, &want);
}

/* egress-rate: compared and changed like the rates; its units; bad values name the line. */
static void test_diff_egress_rate(void **unused)
{
	(void)unused;
	nat_setting_case("    egress-rate: 2MB\n",
			 "service set 192.0.2.20 80 tcp egress-rate 16mbit");
	expect_error("services:\n  - {address: 192.0.2.1, port: 80, egress-rate: 2mb}\n", 2, 49,
		     "egress-rate: invalid egress-rate '2mb'");
	expect_error("services:\n  - {address: 192.0.2.1, port: 80, egress-rate: 7kbit}\n", 2, 49,
		     "egress-rate '7kbit' is too small");
}

static void test_diff_none(void **unused)
{
	(void)unused;
	diff_case(base_cfg, 0, NULL);
}

/* panic-threshold and breaker-max-open travel as a pair (checked together); 0 is off. */
static void test_diff_panic(void **unused)
{
	static const char *const off[] = {
		"service set 192.0.2.20 80 tcp breaker-max-open 100 panic-threshold 0"
	};
	static const char *const lower[] = {
		"service set 192.0.2.20 80 tcp breaker-max-open 50 panic-threshold 20"
	};

	static const char fmt[] = "services:\n"
				  "  - {address: 192.0.2.10, port: 80, rate: 10k}\n"
				  "  - address: 192.0.2.20\n"
				  "    port: 80\n"
				  "    mode: nat\n"
				  "%s"
				  "    backends: [10.0.0.1, 10.0.0.2]\n";
	char text[512];

	(void)unused;
	snprintf(text, sizeof(text), fmt, "    breaker-max-open: 100\n    panic-threshold: 0\n");
	diff_case(text, 1, off);
	snprintf(text, sizeof(text), fmt, "    panic-threshold: 20\n");
	diff_case(text, 1, lower);
}

static void test_diff_rate(void **unused)
{
	static const char *const want[] = { "service set 192.0.2.10 80 tcp rate 20000 burst 400" };

	(void)unused;
	diff_case("services:\n"
		  "  - address: 192.0.2.10\n"
		  "    port: 80\n"
		  "    rate: 20k\n"
		  "  - address: 192.0.2.20\n"
		  "    port: 80\n"
		  "    mode: nat\n"
		  "    backends: [10.0.0.1, 10.0.0.2]\n",
		  1, want);
}

/* The failover settings (issue 11) are compared and changed like the others. */
static void test_diff_failover(void **unused)
{
	static const char *const want[] = {
		"service set 192.0.2.20 80 tcp retries 0 breaker-fast-trip 8"
	};

	(void)unused;
	diff_case("services:\n"
		  "  - address: 192.0.2.10\n"
		  "    port: 80\n"
		  "    rate: 10k\n"
		  "  - address: 192.0.2.20\n"
		  "    port: 80\n"
		  "    mode: nat\n"
		  "    retries: 0\n"
		  "    breaker-fast-trip: 8\n"
		  "    backends: [10.0.0.1, 10.0.0.2]\n",
		  1, want);
}

static void test_diff_backend_removed(void **unused)
{
	static const char *const want[] = { "backend drain 192.0.2.20 80 tcp 10.0.0.2 port 80" };
	struct state from, to;
	struct replay r = { .s = &from };
	const char *text = "services:\n"
			   "  - address: 192.0.2.10\n"
			   "    port: 80\n"
			   "    rate: 10k\n"
			   "  - address: 192.0.2.20\n"
			   "    port: 80\n"
			   "    mode: nat\n"
			   "    backends: [10.0.0.1]\n";

	(void)unused;
	diff_case(text, 1, want);
	/* Once drained, a second apply changes nothing: the backend is never deleted. */
	assert_int_equal(load(base_cfg, &from), 0);
	assert_int_equal(load(text, &to), 0);
	assert_int_equal(replay_diff(&from, &to, &r), 0);
	r.count = 0;
	assert_int_equal(replay_diff(&from, &to, &r), 0);
	assert_int_equal(r.count, 0);
	state_free(&from);
	state_free(&to);
}

static void test_diff_service_removed(void **unused)
{
	static const char *const want[] = { "service del 192.0.2.10 80 tcp" };

	(void)unused;
	diff_case("services:\n"
		  "  - address: 192.0.2.20\n"
		  "    port: 80\n"
		  "    mode: nat\n"
		  "    backends: [10.0.0.1, 10.0.0.2]\n",
		  1, want);
}

static void test_diff_mixed(void **unused)
{
	static const char *const want[] = {
		"gateway set udp-timeout 10",
		"service del 192.0.2.20 80 tcp", /* mode change: deleted, added again */
		"service set 192.0.2.10 80 tcp rate 0 breaker-failures 7",
		"service add 192.0.2.10 80 udp",
		"service add 192.0.2.20 80 tcp mode ipip",
		"backend add 192.0.2.20 80 tcp 10.0.0.1 port 80 weight 2",
		"backend add 192.0.2.20 80 tcp 10.0.0.9 port 80 weight 1",
		"backend drain 192.0.2.20 80 tcp 10.0.0.9 port 80",
		"service set 192.0.2.20 80 tcp fallback 10.0.0.1 port 80",
		"shard add 192.0.2.20 80 tcp 10.9.0.0/16 backend 10.0.0.1 port 80",
	};

	(void)unused;
	diff_case("gateway: {udp-timeout: 10}\n"
		  "services:\n"
		  "  - {address: 192.0.2.10, port: 80, breaker-failures: 7}\n"
		  "  - {address: 192.0.2.10, port: 80, protocol: udp}\n"
		  "  - address: 192.0.2.20\n"
		  "    port: 80\n"
		  "    mode: ipip\n"
		  "    fallback: 10.0.0.1\n"
		  "    backends:\n"
		  "      - {address: 10.0.0.1, weight: 2}\n"
		  "      - {address: 10.0.0.9, state: draining}\n"
		  "    shards: [{prefix: 10.9.0.0/16, backend: 10.0.0.1}]\n",
		  10, want);
}

static void test_diff_backend_changes(void **unused)
{
	static const char *const want[] = {
		"shard del 192.0.2.20 80 tcp 10.9.0.0/16",
		"service set 192.0.2.20 80 tcp maglev-size 131071",
		"backend set 192.0.2.20 80 tcp 10.0.0.1 port 80 weight 5",
		"backend drain 192.0.2.20 80 tcp 10.0.0.2 port 80",
		"shard add 192.0.2.20 80 tcp 10.9.0.0/16 backend 10.0.0.2 port 80",
	};
	struct state from, to;
	struct replay r = { .s = &from };
	const char *before = "services:\n"
			     "  - address: 192.0.2.20\n"
			     "    port: 80\n"
			     "    mode: nat\n"
			     "    backends: [10.0.0.1, 10.0.0.2]\n"
			     "    shards: [{prefix: 10.9.0.0/16, backend: 10.0.0.1}]\n";
	const char *after = "services:\n"
			    "  - address: 192.0.2.20\n"
			    "    port: 80\n"
			    "    mode: nat\n"
			    "    maglev-size: 131071\n"
			    "    backends: [{address: 10.0.0.1, weight: 5},\n"
			    "               {address: 10.0.0.2, state: draining}]\n"
			    "    shards: [{prefix: 10.9.0.0/16, backend: 10.0.0.2}]\n";
	int i;

	(void)unused;
	assert_int_equal(load(before, &from), 0);
	if (load(after, &to))
		fail_msg("%s", err_msg());
	assert_int_equal(replay_diff(&from, &to, &r), 0);
	for (i = 0; i < r.count && i < 5; i++)
		assert_string_equal(r.log[i], want[i]);
	assert_int_equal(r.count, 5);
	assert_true(state_equal(&from, &to));
	/* And back: the drained backend activated. */
	state_free(&to);
	assert_int_equal(load(before, &to), 0);
	r.count = 0;
	assert_int_equal(replay_diff(&from, &to, &r), 0);
	assert_true(state_equal(&from, &to));
	state_free(&from);
	state_free(&to);
}

static void test_errors(void **unused)
{
	(void)unused;
	/* Bad values, at the value. */
	expect_error("daemon:\n  admin-group: \"Bad Group\"\n", 2, 16, "admin-group");
	expect_error("daemon:\n  admin-group: \"\"\n", 2, 16, "admin-group");
	expect_error("services:\n  - address: 192.0.2.300\n    port: 80\n", 2, 14,
		     "address: invalid address '192.0.2.300'");
	expect_error("services:\n  - address: 192.0.2.1\n    port: 0\n", 3, 11,
		     "port '0' is out of range");
	expect_error("services:\n  - {address: 192.0.2.1, port: 80, mode: fast}\n", 2, 42,
		     "unknown mode 'fast'");
	expect_error("services:\n  - {address: 192.0.2.1, port: 80, protocol: sctp}\n", 2, 46,
		     "unknown protocol 'sctp'");
	expect_error("services:\n  - address: 192.0.2.1\n    port: 80\n    rate: fast\n", 4, 11,
		     "invalid rate 'fast'");
	expect_error("services:\n  - address: 192.0.2.1\n    port: 80\n    burst: 10\n", 4, 12,
		     "burst needs rate");
	expect_error("services:\n  - address: 192.0.2.1\n    port: 80\n    retries: 9\n", 4, 14,
		     "retries");
	/* Unknown and duplicate keys, at the key. */
	expect_error("services:\n  - address: 192.0.2.1\n    port: 80\n    colour: red\n", 4, 5,
		     "unknown key 'colour' in a service: expected one of address, port");
	expect_error("servicez: []\n", 1, 1, "unknown key 'servicez' in the file");
	/* Breakers may not open more than panic-threshold leaves (#18). */
	expect_error("services:\n  - address: 192.0.2.1\n    port: 80\n    panic-threshold: 70\n",
		     2, 5, "breaker-max-open 50% and panic-threshold 70% contradict");
	expect_error("services:\n  - address: 192.0.2.1\n    port: 80\n    panic-threshold: 101\n",
		     4, 22, "panic-threshold");
	expect_error("services:\n  - address: 192.0.2.1\n    port: 80\n    port: 81\n", 4, 5,
		     "duplicate key 'port' in a service (first at line 3)");
	/* Wrong types. */
	expect_error("services:\n  address: 192.0.2.1\n", 2, 3,
		     "services: expected a list of services");
	expect_error("services:\n  - address: 192.0.2.1\n    port: [80]\n", 3, 11,
		     "port: expected a port 1..65535, found a list");
	expect_error("services:\n  - address: 192.0.2.1\n    port: 80\n    backends: 10.0.0.1\n", 4,
		     15, "backends: expected a list, found a value");
	expect_error("services:\n  - address: 192.0.2.1\n    port:\n", 3, 10,
		     "port: expected a port 1..65535, found no value");
	expect_error("- 1\n", 1, 1, "the file: expected a mapping");
	/* Missing keys, at the mapping. */
	expect_error("services:\n  - port: 80\n", 2, 5, "a service needs 'address'");
	/* Semantic checks. */
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80}\n"
		     "  - {address: 192.0.2.1, port: 80, protocol: tcp}\n",
		     3, 5, "duplicate service 192.0.2.1 port 80 tcp");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, backends: [\"2001:db8::1\"]}\n",
		     2, 58, "must be of one address family");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, fallback: 10.0.0.9,\n"
		     "     backends: [10.0.0.1]}\n",
		     2, 57, "fallback: 10.0.0.9 is not a backend of this service");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, maglev-size: 65536}\n",
		     2, 60, "maglev-size: 65536 is not a prime");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, maglev-size: 65537}\n",
		     2, 36, "maglev-size applies to services in mode nat or ipip");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, max-conns: 10, reserved: 10}\n",
		     2, 5, "reserved 10 must be below max-conns 10");
	expect_error(
		"services:\n"
		"  - {address: 192.0.2.1, port: 80, mode: nat, backends: [10.0.0.1, 10.0.0.1]}\n",
		2, 68, "duplicate backend 10.0.0.1 port 80");
	expect_error("services:\n"
		     "  - address: 192.0.2.1\n"
		     "    port: 80\n"
		     "    mode: nat\n"
		     "    backends: [10.0.0.1]\n"
		     "    shards:\n"
		     "      - prefix: 10.0.0.1/8\n"
		     "        backend: 10.0.0.1\n",
		     7, 17, "host bits set");
	expect_error("services:\n"
		     "  - address: 192.0.2.1\n"
		     "    port: 80\n"
		     "    health: {type: tcp, path: /x}\n",
		     4, 25, "path applies to http and https checks only");
	expect_error("gateway:\n  encap-source4: 2001:db8::1\n", 2, 18,
		     "encap-source4: expected an IPv4 address");
	expect_error("interfaces: [eth0, eth0]\n", 1, 20, "duplicate interface 'eth0'");
	/* libyaml's own: a tab, bad indentation, an unclosed flow. */
	expect_error("services:\n\t- address: 192.0.2.1\n", 2, 1,
		     "invalid YAML: found character that cannot start any token");
	expect_error("services:\n  - address: 192.0.2.1\n     port: 80\n", 3, 10,
		     "invalid YAML: mapping values are not allowed in this context");
	expect_error("services: [\n", 2, 1, "invalid YAML");
	expect_error("a: 1\n---\nb: 2\n", 3, 1, "a second YAML document");
}

static const char cqrs[] =
	"cluster:\n"
	"  name: gw-a\n"
	"  etcd: [http://127.0.0.1:2379, \"https://[::1]:22379\"]\n"
	"  prefix: /prod/sluice\n"
	"  lease-ttl: 10\n"
	"  timeout: 0.5\n"
	"  tls: {ca: /etc/sluice/ca.pem, cert: /etc/sluice/gw.pem, key: /etc/sluice/gw.key}\n"
	"  user: sluice\n"
	"  password: \"s3cr\\\"et\"\n"
	"  share: off\n"
	"  vips:\n"
	"    - {address: 198.19.0.10, interface: g0}\n"
	"    - {address: \"2001:db8::10\", interface: g1}\n"
	"services:\n"
	"  - address: 192.0.2.40\n"
	"    port: 5432\n"
	"    mode: nat\n"
	"    write-port: 5433\n"
	"    leader: {election: pg-main}\n"
	"    backends: [10.0.1.5, 10.0.1.6]\n"
	"  - address: 192.0.2.40\n"
	"    port: 6379\n"
	"    mode: ipip\n"
	"    route: leader\n"
	"    leader:\n"
	"      role: {type: https, port: 8008, body: primary, interval: 2}\n"
	"  - address: 192.0.2.41\n"
	"    port: 5432\n"
	"    mode: nat\n"
	"    write-port: none\n"
	"    route: maglev\n";

static void test_cqrs_and_cluster(void **unused)
{
	const struct state_service *v;
	struct state s, b, want, got;
	struct replay r = { .s = &got };
	char *text = NULL, host[256];
	size_t len = 0;
	FILE *f;

	(void)unused;
	/* Defaults: no cluster, this host's name, /sluice, 5 s, 1 s, share on. */
	state_init(&s);
	assert_int_equal(s.cluster.enabled, 0);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_int_equal(strncmp(s.cluster.name, host, sizeof(s.cluster.name) - 1), 0);
	assert_string_equal(s.cluster.prefix, "/sluice");
	assert_int_equal(s.cluster.lease_ttl_s, 5);
	assert_int_equal(s.cluster.timeout_ms, 1000);
	assert_int_equal(s.cluster.share, 1);

	if (load(cqrs, &s))
		fail_msg("%s", err_msg());
	assert_int_equal(s.cluster.enabled, 1);
	assert_string_equal(s.cluster.name, "gw-a");
	assert_int_equal(s.cluster.netcd, 2);
	assert_string_equal(s.cluster.etcd[1], "https://[::1]:22379");
	assert_string_equal(s.cluster.prefix, "/prod/sluice");
	assert_int_equal(s.cluster.lease_ttl_s, 10);
	assert_int_equal(s.cluster.timeout_ms, 500);
	assert_string_equal(s.cluster.cacert, "/etc/sluice/ca.pem");
	assert_string_equal(s.cluster.key, "/etc/sluice/gw.key");
	assert_string_equal(s.cluster.password, "s3cr\"et");
	assert_int_equal(s.cluster.share, 0);
	assert_int_equal(s.cluster.nvips, 2);
	assert_string_equal(s.cluster.vips[1].iface, "g1");
	assert_int_equal(s.nservices, 3);
	v = &s.services[0];
	assert_int_equal(v->write_port, 5433);
	assert_int_equal(v->route_leader, 0);
	assert_string_equal(v->election, "pg-main");
	assert_int_equal(v->role.type, STATE_HC_NONE);
	v = &s.services[1];
	assert_int_equal(v->write_port, 0);
	assert_int_equal(v->route_leader, 1);
	assert_int_equal(v->election[0], 0);
	assert_int_equal(v->role.type, STATE_HC_HTTPS);
	assert_int_equal(v->role.port, 8008);
	assert_string_equal(v->role.path, "/primary"); /* role defaults, not health's */
	assert_int_equal(v->role.ncodes, 1);
	assert_int_equal(v->role.codes[0], 200);
	assert_string_equal(v->role.body, "primary");
	assert_int_equal(v->role.interval_ms, 2000);
	assert_int_equal(v->role.timeout_ms, 500);
	v = &s.services[2];
	assert_int_equal(v->write_port, 0);
	assert_int_equal(v->route_leader, 0);

	/* dump -> load: the same, daemon-only parts included. */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(config_dump(f, &s), 0);
	fclose(f);
	if (config_load_string("dump.yaml", text, len, &b))
		fail_msg("%s\n%s", err_msg(), text);
	assert_true(state_equal(&s, &b));
	assert_memory_equal(&s.cluster, &b.cluster, sizeof(s.cluster));
	for (size_t i = 0; i < s.nservices; i++) {
		assert_string_equal(s.services[i].election, b.services[i].election);
		assert_memory_equal(&s.services[i].role, &b.services[i].role,
				    sizeof(s.services[i].role));
	}
	free(text);
	state_free(&b);

	/* Commands: write-port and route in service add; replayed, the same. */
	assert_int_equal(load(cqrs, &want), 0);
	empty_maps(&got);
	assert_int_equal(replay_build(&want, &r), 0);
	assert_string_equal(r.log[2], "service add 192.0.2.40 5432 tcp mode nat write-port 5433");
	assert_string_equal(r.log[5], "service add 192.0.2.40 6379 tcp mode ipip route leader");
	assert_true(state_equal(&want, &got));
	r.count = 0;
	assert_int_equal(replay_diff(&got, &want, &r), 0);
	assert_int_equal(r.count, 0);
	state_free(&want);
	state_free(&got);
	state_free(&s);
}

/* Diff from text a to text b: the commands, then replayed a becomes b. */
static void diff_pair(const char *a, const char *b, int n, const char *const *cmds)
{
	struct state from, to;
	struct replay r = { .s = &from };
	int i;

	if (load(a, &from) || load(b, &to))
		fail_msg("%s", err_msg());
	assert_int_equal(replay_diff(&from, &to, &r), 0);
	for (i = 0; i < r.count && i < n; i++)
		assert_string_equal(r.log[i], cmds[i]);
	assert_int_equal(r.count, n);
	assert_true(state_equal(&from, &to));
	state_free(&from);
	state_free(&to);
}

static void test_diff_write_port(void **unused)
{
	static const char a[] = "services:\n"
				"  - {address: 192.0.2.1, port: 80, mode: nat, write-port: 81}\n"
				"  - {address: 192.0.2.1, port: 90, mode: nat, write-port: 91}\n";
	static const char *const added[] = {
		"service set 192.0.2.1 80 tcp write-port 82",
		"service set 192.0.2.1 90 tcp write-port none route leader"
	};
	static const char *const swapped[] = {
		"service set 192.0.2.1 80 tcp write-port none",
		"service set 192.0.2.1 90 tcp write-port none",
		"service set 192.0.2.1 80 tcp write-port 91",
		"service set 192.0.2.1 90 tcp write-port 81",
	};
	static const char *const reused[] = {
		"service set 192.0.2.1 80 tcp write-port none",
		"service add 192.0.2.1 81 tcp",
	};

	(void)unused;
	/* A move is one command; so is trading the write port for route leader. */
	diff_pair(a,
		  "services:\n"
		  "  - {address: 192.0.2.1, port: 80, mode: nat, write-port: 82}\n"
		  "  - {address: 192.0.2.1, port: 90, mode: nat, route: leader}\n",
		  2, added);
	/* Two services trade write ports: both freed first. */
	diff_pair(a,
		  "services:\n"
		  "  - {address: 192.0.2.1, port: 80, mode: nat, write-port: 91}\n"
		  "  - {address: 192.0.2.1, port: 90, mode: nat, write-port: 81}\n",
		  4, swapped);
	/* A write port becomes a service of its own: freed before the add. */
	diff_pair(a,
		  "services:\n"
		  "  - {address: 192.0.2.1, port: 80, mode: nat}\n"
		  "  - {address: 192.0.2.1, port: 81}\n"
		  "  - {address: 192.0.2.1, port: 90, mode: nat, write-port: 91}\n",
		  2, reused);
	/* Only the leader's source changes (daemon-only): no command. */
	diff_pair(a,
		  "services:\n"
		  "  - {address: 192.0.2.1, port: 80, mode: nat, write-port: 81,\n"
		  "     leader: {election: db}}\n"
		  "  - {address: 192.0.2.1, port: 90, mode: nat, write-port: 91}\n",
		  0, NULL);
}

static void test_cqrs_errors(void **unused)
{
	(void)unused;
	/* write-port and route. */
	expect_error(
		"services:\n  - {address: 192.0.2.1, port: 80, write-port: 81}\n", 2, 48,
		"write-port: write-port applies to services in mode nat or ipip (this one is local)");
	expect_error("services:\n  - {address: 192.0.2.1, port: 80, mode: nat, write-port: 80}\n",
		     2, 59, "write-port 80 is the service's own port");
	expect_error("services:\n  - {address: 192.0.2.1, port: 80, mode: nat, write-port: 0}\n", 2,
		     59, "write-port: port '0' is out of range");
	expect_error("services:\n  - {address: 192.0.2.1, port: 80, mode: nat, write-port: x}\n", 2,
		     59, "write-port: invalid port 'x'");
	expect_error("services:\n  - {address: 192.0.2.1, port: 80, mode: nat, route: fast}\n", 2,
		     54, "route: unknown route 'fast'");
	expect_error("services:\n  - {address: 192.0.2.1, port: 80, route: leader}\n", 2, 36,
		     "route leader applies to services in mode nat or ipip");
	expect_error(
		"services:\n"
		"  - {address: 192.0.2.1, port: 80, mode: nat, route: leader, write-port: 81}\n",
		2, 74, "give either write-port or route leader");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80}\n"
		     "  - {address: 192.0.2.1, port: 90, mode: nat, write-port: 80}\n",
		     3, 59,
		     "write-port: port 80 is the service 192.0.2.1 port 80 tcp listed above");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 90, mode: nat, write-port: 81}\n"
		     "  - {address: 192.0.2.1, port: 91, mode: nat, write-port: 81}\n",
		     3, 59, "already the write port of service 192.0.2.1 port 90 tcp");
	expect_error(
		"services:\n"
		"  - {address: 192.0.2.1, port: 90, mode: nat, write-port: 81}\n"
		"  - {address: 192.0.2.1, port: 81}\n",
		3, 5,
		"service 192.0.2.1 port 81 tcp is the write port of service 192.0.2.1 port 90 tcp");
	/* leader:. */
	expect_error(
		"services:\n  - {address: 192.0.2.1, port: 80, mode: nat, leader: {election: a}}\n",
		2, 47, "leader applies to services that follow a leader");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, route: leader, leader: {}}\n",
		     2, 70, "leader needs exactly one of 'election: NAME' and 'role:");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, route: leader,\n"
		     "     leader: {election: a, role: {type: http}}}\n",
		     3, 14, "leader needs exactly one of");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, route: leader,\n"
		     "     leader: {election: \"pg main\"}}\n",
		     3, 25, "election: 'pg main' has a ' '");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, route: leader,\n"
		     "     leader: {role: {type: tcp}}}\n",
		     3, 28, "type: a role check asks an HTTP endpoint");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, route: leader,\n"
		     "     leader: {role: {type: http, rise: 2}}}\n",
		     3, 34, "unknown key 'rise' in a role check");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, route: leader,\n"
		     "     leader: {role: {port: 8008}}}\n",
		     3, 21, "a role check needs 'type: http|https'");
	expect_error("services:\n"
		     "  - {address: 192.0.2.1, port: 80, mode: nat, route: leader,\n"
		     "     leader: {role: {type: http, interval: 1, timeout: 2}}}\n",
		     3, 56, "timeout: 2000 ms is longer than the interval 1000 ms");
	expect_error(
		"services:\n"
		"  - {address: 192.0.2.1, port: 80, mode: nat, route: leader, leader: {foo: 1}}\n",
		2, 71, "unknown key 'foo' in leader");
	/* cluster:. */
	expect_error("cluster: {name: gw}\n", 1, 10, "cluster needs 'etcd:");
	expect_error("cluster: {etcd: [ftp://h:1]}\n", 1, 18,
		     "etcd: 'ftp://h:1' is not an etcd endpoint: expected http://HOST:PORT");
	expect_error("cluster: {etcd: \"127.0.0.1:2379\"}\n", 1, 17, "is not an etcd endpoint");
	expect_error("cluster: {etcd: [\"http://\"]}\n", 1, 18, "etcd: 'http://' has no host");
	expect_error("cluster: {etcd: []}\n", 1, 17, "etcd: expected at least one endpoint");
	expect_error("cluster: {etcd: [http://a:1, http://a:1]}\n", 1, 30,
		     "etcd: duplicate endpoint 'http://a:1'");
	expect_error("cluster: {etcd: {a: 1}}\n", 1, 17,
		     "etcd: expected an endpoint URL or a list");
	expect_error("cluster: {etcd: http://a:1, lease-ttl: 1}\n", 1, 40,
		     "lease-ttl '1' is out of range: give a number 2..300");
	expect_error("cluster: {etcd: http://a:1, lease-ttl: 301}\n", 1, 40,
		     "lease-ttl '301' is out of range");
	expect_error("cluster: {etcd: http://a:1, timeout: 0}\n", 1, 38, "timeout");
	expect_error("cluster: {etcd: http://a:1, prefix: sluice}\n", 1, 37,
		     "prefix: expected a key prefix like /sluice");
	expect_error("cluster: {etcd: http://a:1, prefix: /sluice/}\n", 1, 37,
		     "prefix: expected a key prefix like /sluice");
	expect_error("cluster: {etcd: http://a:1, name: \"gw a\"}\n", 1, 35,
		     "name: 'gw a' has a ' '");
	expect_error("cluster: {etcd: http://a:1, share: maybe}\n", 1, 36,
		     "share: expected on or off, found 'maybe'");
	expect_error("cluster: {etcd: http://a:1, user: u}\n", 1, 29,
		     "user and password go together");
	expect_error("cluster: {etcd: http://a:1, tls: {cert: /c}}\n", 1, 34,
		     "tls: a client certificate needs both 'cert' and 'key'");
	expect_error("cluster: {etcd: http://a:1, tls: {colour: red}}\n", 1, 35,
		     "unknown key 'colour' in tls");
	expect_error("cluster: {etcd: http://a:1, vips: [{address: 224.0.0.1, interface: g0}]}\n",
		     1, 46, "address: 224.0.0.1 is not a unicast host address");
	expect_error("cluster: {etcd: http://a:1, vips: [{address: 0.0.0.0, interface: g0}]}\n", 1,
		     46, "is not a unicast host address");
	expect_error("cluster: {etcd: http://a:1, vips: [{address: \"fe80::1\", interface: g0}]}\n",
		     1, 46, "fe80::1 is not a unicast global address");
	expect_error("cluster: {etcd: http://a:1, vips: [{address: \"ff02::1\", interface: g0}]}\n",
		     1, 46, "is not a unicast global address");
	expect_error("cluster: {etcd: http://a:1, vips: [{address: 10.0.0.300, interface: g0}]}\n",
		     1, 46, "address: invalid address '10.0.0.300'");
	expect_error("cluster: {etcd: http://a:1,\n"
		     "          vips: [{address: 10.0.0.1, interface: a-very-long-name0}]}\n",
		     2, 49,
		     "interface: 'a-very-long-name0' is not an interface name (1..15 characters");
	expect_error(
		"cluster: {etcd: http://a:1, vips: [{address: 10.0.0.1, interface: \"g/0\"}]}\n", 1,
		67, "is not an interface name");
	expect_error("cluster: {etcd: http://a:1, vips: [{address: 10.0.0.1}]}\n", 1, 36,
		     "a vip needs 'address' and 'interface'");
	expect_error("cluster:\n"
		     "  etcd: http://a:1\n"
		     "  vips:\n"
		     "    - {address: 10.0.0.1, interface: g0}\n"
		     "    - {address: 10.0.0.1, interface: g1}\n",
		     5, 17, "duplicate vip 10.0.0.1");
	expect_error("cluster: {etcd: http://a:1, vips: {address: 10.0.0.1}}\n", 1, 35,
		     "vips: expected a list");
}

/* An empty file is a valid, empty state (no services). */
static void test_empty(void **unused)
{
	struct state s;

	(void)unused;
	assert_int_equal(load("", &s), 0);
	assert_int_equal(s.nservices, 0);
	assert_int_equal(s.has_gateway, 0);
	state_free(&s);
	assert_int_equal(load("services: []\n# nothing\n", &s), 0);
	state_free(&s);
}

static int setup(void **unused)
{
	(void)unused;
	return pinroot_setup(&pr);
}

static int teardown(void **unused)
{
	(void)unused;
	pinroot_teardown(&pr);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_full),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_diff_panic),
		cmocka_unit_test(test_dump_daemon_parts),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_commands_round_trip),
		cmocka_unit_test(test_diff_none),
		cmocka_unit_test(test_diff_hook),
		cmocka_unit_test(test_diff_rate),
		cmocka_unit_test(test_diff_egress_rate),
		cmocka_unit_test(test_diff_failover),
		cmocka_unit_test(test_diff_backend_removed),
		cmocka_unit_test(test_diff_service_removed),
		cmocka_unit_test(test_diff_mixed),
		cmocka_unit_test(test_diff_backend_changes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_cqrs_and_cluster),
		cmocka_unit_test(test_diff_write_port),
		cmocka_unit_test(test_cqrs_errors),
		cmocka_unit_test(test_read_limits),
		cmocka_unit_test(test_dump_escapes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
