// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of userspace/net/bird.c (the include sluiced writes for BIRD,
 * the control socket's replies, a configure against a fake BIRD) and of
 * the config's bgp section (userspace/state/config_bgp.c): a valid
 * section, and each error with its line and column.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "addr.h"
#include "bird.h"
#include "config.h"
#include "err.h"
#include "state.h"

static void test_comm(void **unused)
{
	struct bird_comm m;

	(void)unused;
	assert_int_equal(bird_comm_parse("65000:100", &m), 0);
	assert_int_equal(m.a, 65000);
	assert_int_equal(m.b, 100);
	assert_false(m.large);
	assert_int_equal(bird_comm_parse("4200000000:1:2", &m), 0);
	assert_true(m.large);
	assert_int_equal(m.a, 4200000000u);
	assert_int_equal(m.c, 2);
	assert_int_equal(bird_comm_parse("70000:1", &m), -EINVAL); /* 16 bits each */
	assert_non_null(strstr(err_msg(), "not a BGP community"));
	assert_int_equal(bird_comm_parse("1", &m), -EINVAL);
	assert_int_equal(bird_comm_parse("1:2:3:4", &m), -EINVAL);
	assert_int_equal(bird_comm_parse("1::2", &m), -EINVAL);
	assert_int_equal(bird_comm_parse("a:b", &m), -EINVAL);
}

static void test_prefix(void **unused)
{
	struct bird_prefix p;
	union sluice_addr a;

	(void)unused;
	assert_int_equal(addr_parse("10.0.0.0", &p.addr), 0);
	p.len = 96 + 24;
	assert_int_equal(addr_parse("10.0.0.200", &a), 0);
	assert_true(bird_prefix_contains(&p, &a));
	assert_int_equal(addr_parse("10.0.1.1", &a), 0);
	assert_false(bird_prefix_contains(&p, &a));
	p.len = 96 + 23; /* 10.0.0.0/23 holds 10.0.1.1 */
	assert_true(bird_prefix_contains(&p, &a));
	assert_int_equal(addr_parse("2001:db8::", &p.addr), 0);
	p.len = 32;
	assert_int_equal(addr_parse("2001:db8:1::5", &a), 0);
	assert_true(bird_prefix_contains(&p, &a));
	assert_int_equal(addr_parse("2001:db9::5", &a), 0);
	assert_false(bird_prefix_contains(&p, &a));
}

static void test_peer_name(void **unused)
{
	(void)unused;
	assert_true(bird_peer_name_ok("r1"));
	assert_true(bird_peer_name_ok("tor_a2"));
	assert_false(bird_peer_name_ok("1r"));
	assert_false(bird_peer_name_ok("r-1"));
	assert_false(bird_peer_name_ok(""));
	assert_false(bird_peer_name_ok("a23456789012345678901234"));
}

/* Two peers (v4 with BFD, v6 without), three VIPs, one withdrawn. */
static void render_conf(struct bird_conf *c, struct bird_vip *v)
{
	bird_conf_init(c);
	c->enabled = 1;
	c->asn = 65001;
	assert_int_equal(addr_parse("10.0.1.2", &c->router_id), 0);
	assert_int_equal(addr_parse("10.0.1.2", &c->next_hop4), 0);
	c->ncomms = 1;
	assert_int_equal(bird_comm_parse("65001:7", &c->comms[0]), 0);
	c->npeers = 2;
	snprintf(c->peers[0].name, BIRD_NAME_MAX, "r1");
	assert_int_equal(addr_parse("10.0.1.1", &c->peers[0].addr), 0);
	c->peers[0].asn = 65000;
	c->peers[0].bfd = 1;
	snprintf(c->peers[1].name, BIRD_NAME_MAX, "r6");
	assert_int_equal(addr_parse("fd00::1", &c->peers[1].addr), 0);
	c->peers[1].asn = 65000;
	memset(v, 0, 3 * sizeof(*v));
	assert_int_equal(addr_parse("10.0.0.100", &v[0].addr), 0);
	v[0].ncomms = 1;
	assert_int_equal(bird_comm_parse("65001:1:2", &v[0].comms[0]), 0);
	assert_int_equal(addr_parse("10.0.0.101", &v[1].addr), 0);
	v[1].peers = 2; /* r6 only: not exported to r1, and r6 is IPv6 */
	assert_int_equal(addr_parse("fd00:100::1", &v[2].addr), 0);
}

static void test_render(void **unused)
{
	struct bird_conf c;
	struct bird_vip v[3];
	__u8 up[3] = { 1, 1, 0 };
	char *t;

	(void)unused;
	render_conf(&c, v);
	t = bird_render(&c, v, up, 3);
	assert_non_null(t);
	assert_non_null(strstr(t, "ipv4 table sluice4;\nipv6 table sluice6;\n"));
	assert_non_null(strstr(t, "\troute 10.0.0.100/32 blackhole { bgp_community.add((65001,7)); "
				  "bgp_large_community.add((65001,1,2)); };\n"));
	assert_non_null(strstr(t, "\troute 10.0.0.101/32 blackhole { "
				  "bgp_community.add((65001,7)); };\n"));
	assert_null(strstr(t, "route fd00:100::1/128")); /* withdrawn */
	assert_non_null(strstr(t, "protocol bfd sluice_bfd {\n\tinterface \"*\" { interval 100 "
				  "ms; multiplier 3; };\n}\n"));
	assert_non_null(strstr(t, "protocol bgp sluice_r1 {\n\trouter id 10.0.1.2;\n\tlocal as "
				  "65001;\n\tneighbor 10.0.1.1 as 65000;\n\tbfd on;\n\tipv4 {\n"
				  "\t\ttable sluice4;\n\t\timport none;\n"
				  "\t\texport where net ~ [ 10.0.0.100/32 ];\n"
				  "\t\tnext hop address 10.0.1.2;\n\t};\n}\n"));
	/* The withdrawn VIP stays in r6's filter: withdrawing changes the static protocol only. */
	assert_non_null(strstr(t, "protocol bgp sluice_r6 {\n\trouter id 10.0.1.2;\n\tlocal as "
				  "65001;\n\tneighbor fd00::1 as 65000;\n\tbfd off;\n\tipv6 {\n"
				  "\t\ttable sluice6;\n\t\timport none;\n"
				  "\t\texport where net ~ [ fd00:100::1/128 ];\n"
				  "\t\tnext hop self;\n\t};\n}\n"));
	free(t);

	/* No BFD asked for: no bfd protocol; a peer with no VIP of its family: export none. */
	c.peers[0].bfd = 0;
	c.npeers = 1;
	t = bird_render(&c, v + 2, up + 2, 1);
	assert_non_null(t);
	assert_null(strstr(t, "protocol bfd"));
	assert_non_null(strstr(t, "\t\texport none;\n"));
	free(t);
}

static void test_reply(void **unused)
{
	static const char protos[] =
		"2002-Name       Proto      Table      State  Since         Info\n"
		"1002-device1    Device     ---        up     07:29:25.106  \n"
		" sluice_vips4 Static     sluice4    up     07:29:25.106  \n"
		" sluice_r1  BGP        ---        up     2026-12-03 07:29:25  Established   \n"
		" sluice_r2  BGP        ---        start  07:29:25.106  Active        Socket: "
		"Connection refused\n"
		"0000 \n";
	struct bird_proto p[8];
	int code = -1;

	(void)unused;
	assert_false(bird_reply_done("0002-Reading\n", 13, &code));
	assert_false(bird_reply_done("0003 Reconfigured", 17, &code)); /* no newline yet */
	assert_true(bird_reply_done("0002-Reading\n0003 Reconfigured\n", 31, &code));
	assert_int_equal(code, 3);
	assert_true(bird_reply_done(protos, sizeof(protos) - 1, &code));
	assert_int_equal(code, 0);
	assert_int_equal(bird_protocols_parse(protos, p, 8), 4);
	assert_string_equal(p[0].name, "device1");
	assert_string_equal(p[1].proto, "Static");
	assert_string_equal(p[2].name, "sluice_r1");
	assert_string_equal(p[2].state, "up");
	assert_string_equal(p[2].info, "Established"); /* two-word "since" */
	assert_string_equal(p[3].state, "start");
	assert_string_equal(p[3].info, "Active");
	assert_int_equal(bird_protocols_parse(protos, p, 2), 4); /* counts past max */
}

/* A fake BIRD on a Unix socket: greets, reads one line, answers reply. */
static pid_t fake_bird(const char *path, const char *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), c;
	char buf[256];
	pid_t pid;

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid) {
		close(fd);
		return pid;
	}
	c = accept(fd, NULL, NULL);
	if (c < 0)
		_exit(1);
	if (write(c, "0001 BIRD 2.0.12 ready.\n", 24) != 24)
		_exit(1);
	if (read(c, buf, sizeof(buf)) <= 0)
		_exit(1);
	if (write(c, reply, strlen(reply)) != (ssize_t)strlen(reply))
		_exit(1);
	close(c);
	_exit(0);
}

static void test_configure(void **unused)
{
	char path[64];
	int status;
	pid_t pid;

	(void)unused;
	snprintf(path, sizeof(path), "/tmp/test_bird.%d.ctl", (int)getpid());
	pid = fake_bird(path, "0002-Reading configuration from /etc/bird/bird.conf\n"
			      "0003 Reconfigured\n");
	assert_int_equal(bird_configure(path), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);

	pid = fake_bird(path, "0002-Reading configuration from /etc/bird/bird.conf\n"
			      "8002 /run/sluice/bird-sluice.conf:12:3 syntax error\n");
	assert_int_equal(bird_configure(path), -EIO);
	assert_string_equal(err_msg(), "BIRD refused the configuration: "
				       "/run/sluice/bird-sluice.conf:12:3 syntax error");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(path);

	/* Nobody listening: says where it looked. */
	assert_true(bird_configure(path) < 0);
	assert_non_null(strstr(err_msg(), "cannot reach BIRD at /tmp/test_bird."));
}

/* Drive c with poll() for up to max_ms: what bird_call_step() last said (0: not over). */
static int drive(struct bird_call *c, int max_ms)
{
	struct pollfd p;
	int r = 0, waited = 0;

	while (waited < max_ms && c->fd >= 0) {
		p.fd = c->fd;
		p.events = bird_call_events(c) == EPOLLOUT ? POLLOUT : POLLIN;
		if (poll(&p, 1, 10) > 0) {
			r = bird_call_step(c);
			if (r)
				return r;
		}
		waited += 10;
	}
	return r;
}

/* A fake BIRD that accepts and never says a word (hung, or stopped with SIGSTOP). */
static int hung_bird(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/*
 * Issue 14: sluiced's BIRD calls blocked its loop for up to 2 s each. The
 * non-blocking call: a BIRD that answers is answered; one that never
 * answers costs no more than starting the call (bounded here by 100 ms on
 * a loaded machine; it is a connect() on a Unix socket) and is given up at
 * its deadline with a message that says so; none at all fails at once.
 */
static void test_call(void **unused)
{
	struct bird_call c;
	char path[64];
	int status, fd;
	__u64 t0;
	pid_t pid;

	(void)unused;
	snprintf(path, sizeof(path), "/tmp/test_bird_call.%d.ctl", (int)getpid());
	bird_call_init(&c);
	assert_int_equal(bird_call_events(&c), 0);

	pid = fake_bird(path, "0003 Reconfigured\n");
	assert_int_equal(bird_call_start(&c, path, "configure", now_ms(), 2000), 0);
	assert_int_equal(drive(&c, 3000), 1);
	assert_int_equal(c.code, 3);
	assert_int_equal(bird_configure_result(c.buf, c.code), 0);
	bird_call_reset(&c);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);

	fd = hung_bird(path);
	t0 = now_ms();
	assert_int_equal(bird_call_start(&c, path, "show protocols", t0, 300), 0);
	assert_true(now_ms() - t0 < 100);
	assert_int_equal(drive(&c, 200), 0); /* no greeting: nothing to do yet */
	assert_true(c.fd >= 0);
	assert_false(bird_call_expired(&c, t0 + 299));
	assert_true(bird_call_expired(&c, t0 + 300));
	assert_int_equal(bird_call_fail_timeout(&c, 300), -ETIMEDOUT);
	assert_non_null(strstr(err_msg(), "'show protocols': no answer within 300 ms"));
	assert_int_equal(c.fd, -1);
	assert_false(bird_call_expired(&c, t0 + 1000));
	close(fd);
	unlink(path);

	/* Nobody listening: at once, and says where it looked. */
	assert_true(bird_call_start(&c, path, "configure", now_ms(), 2000) < 0);
	assert_non_null(strstr(err_msg(), "cannot reach BIRD at /tmp/test_bird_call."));
	assert_int_equal(c.fd, -1);
	bird_call_reset(&c);
}

static const char svc[] = "services:\n"
			  "  - address: 10.0.0.100\n"
			  "    port: 80\n"
			  "    mode: nat\n"
			  "  - address: 10.0.0.101\n"
			  "    port: 80\n"
			  "    mode: ipip\n"
			  "  - address: 192.0.2.1\n"
			  "    port: 22\n";

static int load_bgp(const char *bgp, struct state *s)
{
	char text[2048];

	snprintf(text, sizeof(text), "%sbgp:\n%s", svc, bgp);
	state_init(s);
	return config_load_string("t.yaml", text, strlen(text), s);
}

static void test_config_ok(void **unused)
{
	struct state s;
	char a[ADDR_STRLEN];

	(void)unused;
	if (load_bgp("  asn: 65001\n"
		     "  router-id: 10.0.1.2\n"
		     "  socket: /run/b.ctl\n"
		     "  bfd: on\n"
		     "  bfd-interval: 0.05\n"
		     "  drain-on-stop: 30\n"
		     "  communities: [65001:100]\n"
		     "  next-hop: [10.0.1.2, fd00::2]\n"
		     "  prefixes: [10.0.0.0/24]\n"
		     "  peers:\n"
		     "    - {name: r1, address: 10.0.1.1, asn: 65000}\n"
		     "    - {name: r2, address: 10.0.2.1, asn: 65000, bfd: off}\n"
		     "  vips:\n"
		     "    - 10.0.0.100\n"
		     "    - {address: 10.0.0.101, peers: [r2], communities: 65001:1:2}\n",
		     &s))
		fail_msg("%s", err_msg());
	assert_true(s.bgp.enabled);
	assert_int_equal(s.bgp.asn, 65001);
	assert_string_equal(s.bgp.socket, "/run/b.ctl");
	assert_string_equal(s.bgp.include, BIRD_INCLUDE_DEFAULT);
	assert_int_equal(s.bgp.bfd_interval_ms, 50);
	assert_int_equal(s.bgp.drain_on_stop_s, 30);
	assert_int_equal(s.bgp.npeers, 2);
	assert_true(s.bgp.peers[0].bfd);
	assert_false(s.bgp.peers[1].bfd);
	assert_false(s.bgp.all);
	assert_int_equal(s.bgp.nvips, 2);
	assert_int_equal(s.bgp.vips[0].peers, 0);
	assert_int_equal(s.bgp.vips[1].peers, 2);
	assert_true(s.bgp.vips[1].comms[0].large);
	assert_int_equal(addr_format(&s.bgp.next_hop6, a, sizeof(a)), 0);
	assert_string_equal(a, "fd00::2");
	state_free(&s);

	/* vips left out: all; the local service 192.0.2.1 is not a VIP to check. */
	assert_int_equal(load_bgp("  asn: 4200000000\n"
				  "  prefixes: 10.0.0.0/24\n"
				  "  peers: [{name: r1, address: 10.0.1.1, asn: 65000}]\n",
				  &s),
			 0);
	assert_true(s.bgp.all);
	state_free(&s);
}

/* Dump s, load it back into b (the test fails with the text if it does not load). */
static void dump_load(const struct state *s, struct state *b)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(config_dump(f, s), 0);
	fclose(f);
	state_init(b);
	if (config_load_string("dump.yaml", text, len, b))
		fail_msg("%s\n%s", err_msg(), text);
	free(text);
}

/*
 * Issue 14: config dump wrote no bgp section. Every key, and the defaults
 * (a peer's bfd set apart from the section's), load back the same.
 */
static void test_config_dump(void **unused)
{
	static const char *const sections[] = {
		"  asn: 65001\n"
		"  router-id: 10.0.1.2\n"
		"  socket: /run/b \"ctl\"\n"
		"  include: /etc/bird/sluice.conf\n"
		"  bfd: on\n"
		"  bfd-interval: 0.05\n"
		"  bfd-multiplier: 5\n"
		"  drain-on-stop: 30\n"
		"  communities: [65001:100, 65001:7:8]\n"
		"  next-hop: [10.0.1.2, fd00::2]\n"
		"  prefixes: [10.0.0.0/24, 10.0.0.101, fd00:1::/64]\n"
		"  peers:\n"
		"    - {name: r1, address: 10.0.1.1, asn: 65000}\n"
		"    - {name: r2, address: fd00::1, asn: 4200000000, bfd: off}\n"
		"  vips:\n"
		"    - 10.0.0.100\n"
		"    - {address: 10.0.0.101, peers: [r2, r1], communities: 65001:1:2}\n",
		"  asn: 4200000000\n"
		"  prefixes: 10.0.0.0/24\n"
		"  peers: [{name: r1, address: 10.0.1.1, asn: 65000, bfd: on}]\n",
		"  asn: 65001\n"
		"  next-hop: fd00::9\n"
		"  prefixes: 10.0.0.0/24\n"
		"  peers: [{name: r1, address: 10.0.1.1, asn: 65000}]\n"
		"  vips: [10.0.0.101]\n",
	};
	struct state a, b;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (load_bgp(sections[i], &a))
			fail_msg("%s", err_msg());
		dump_load(&a, &b);
		assert_true(b.bgp.enabled);
		assert_true(bird_conf_equal(&a.bgp, &b.bgp));
		assert_true(state_equal(&a, &b));
		state_free(&b);
		/* A change is seen: the comparison is not vacuous. */
		b = a;
		b.bgp.peers[0].bfd = !b.bgp.peers[0].bfd;
		assert_false(bird_conf_equal(&a.bgp, &b.bgp));
		state_free(&a);
	}
	/* A listed VIP whose service is gone is left out; the others stay. */
	assert_int_equal(load_bgp(sections[0], &a), 0);
	a.nservices = 1; /* 10.0.0.101 deleted since the file was applied */
	dump_load(&a, &b);
	assert_int_equal(b.bgp.nvips, 1);
	assert_int_equal(b.bgp.vips[0].peers, 0);
	a.nservices = 3;
	state_free(&a);
	state_free(&b);
	/* No bgp section: none dumped. */
	state_init(&a);
	dump_load(&a, &b);
	assert_false(b.bgp.enabled);
	state_free(&a);
	state_free(&b);
}

/* The bgp section's error at its line (services take 9 lines, "bgp:" is line 10). */
static void expect_bgp_error(const char *bgp, int line, int col, const char *what)
{
	char prefix[64];
	struct state s;

	snprintf(prefix, sizeof(prefix), "t.yaml:%d:%d: ", line, col);
	assert_int_equal(load_bgp(bgp, &s), -EINVAL);
	if (strncmp(err_msg(), prefix, strlen(prefix)) || !strstr(err_msg(), what))
		fail_msg("expected '%s...%s', got '%s'", prefix, what, err_msg());
	state_free(&s);
}

static void test_config_errors(void **unused)
{
	static const char peers[] = "  peers: [{name: r1, address: 10.0.1.1, asn: 65000}]\n";
	char t[512];

	(void)unused;
	expect_bgp_error("  asn: 0\n  prefixes: 10.0.0.0/24\n  peers: []\n", 11, 8,
			 "asn: '0' is not a usable AS number");
	expect_bgp_error("  asn: 65001\n  prefixes: 10.0.0.0/24\n"
			 "  peers: [{name: r1, address: 10.0.1.1, asn: 23456}]\n",
			 13, 46, "asn: '23456' is not a usable AS number");
	expect_bgp_error("  asn: 65a\n  prefixes: 10.0.0.0/24\n  peers: []\n", 11, 8,
			 "not a usable AS number");
	snprintf(t, sizeof(t),
		 "  asn: 65001\n  prefixes: 10.0.0.0/24\n%s  vips:\n"
		 "    - {address: 10.0.0.100, peers: [r9]}\n",
		 peers);
	expect_bgp_error(t, 15, 37, "peers: unknown peer 'r9'");
	snprintf(t, sizeof(t), "  asn: 65001\n  prefixes: 10.0.1.0/24\n%s  vips: [10.0.0.100]\n",
		 peers);
	expect_bgp_error(t, 14, 10, "vip 10.0.0.100 lies outside the bgp prefixes");
	/* vips: all: a nat service outside the prefixes. */
	snprintf(t, sizeof(t), "  asn: 65001\n  prefixes: 10.0.0.100/32\n%s", peers);
	expect_bgp_error(t, 11, 3, "the service address 10.0.0.101 lies outside the bgp prefixes");
	snprintf(t, sizeof(t), "  asn: 65001\n  prefixes: 10.0.0.0/24\n%s  vips: [10.0.0.7]\n",
		 peers);
	expect_bgp_error(t, 14, 10, "vip 10.0.0.7 is the address of no nat or ipip service");
	expect_bgp_error("  asn: 65001\n  prefixes: 10.0.0.0/24\n", 11, 3,
			 "bgp needs 'asn', 'prefixes' and 'peers'");
	snprintf(t, sizeof(t), "  asn: 65001\n  prefixes: 10.0.0.0/24\n%s  communities: 1:70000\n",
		 peers);
	expect_bgp_error(t, 14, 16, "communities: '1:70000' is not a BGP community");
	expect_bgp_error("  asn: 65001\n  prefixes: 10.0.0.0/24\n"
			 "  peers:\n    - {name: r1, address: 10.0.1.1, asn: 65000}\n"
			 "    - {name: r1, address: 10.0.1.2, asn: 65000}\n",
			 15, 14, "duplicate peer 'r1'");
	expect_bgp_error("  asn: 65001\n  prefixes: 10.0.0.0/24\n"
			 "  peers: [{name: r-1, address: 10.0.1.1, asn: 65000}]\n",
			 13, 18, "name: 'r-1' is not a peer name");
	snprintf(t, sizeof(t), "  asn: 65001\n  router-id: fd00::1\n  prefixes: 10.0.0.0/24\n%s",
		 peers);
	expect_bgp_error(t, 12, 14, "router-id: expected an IPv4 address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comm),	    cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_peer_name),   cmocka_unit_test(test_render),
		cmocka_unit_test(test_reply),	    cmocka_unit_test(test_configure),
		cmocka_unit_test(test_config_ok),   cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_dump), cmocka_unit_test(test_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
