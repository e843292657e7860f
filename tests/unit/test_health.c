// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the health-check module (userspace/health.c): the pure
 * part on a fake clock (HAProxy's rise/fall counter, start states, retune,
 * the spread of first checks, the fixed-rate schedule, detection bounds),
 * the configuration parsers, and live checks against servers this test
 * starts on loopback: a listener (tcp up), a closed port (refused), a full
 * accept queue (tcp timeout), a socket that accepts but never answers
 * (http timeout), and a small HTTP responder thread answering 200, 503, a
 * body, a stalled large body, over IPv4 and IPv6. Loopback only; every
 * wait is bounded.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "addr.h"
#include "clock.h"
#include "health.h"

/* --- Pure part ------------------------------------------------------------ */

/* Feed results "s" (success) / "f" (failure) from a string; return the transitions. */
static int feed(struct health_fsm *f, const char *seq, __u64 *now)
{
	int n = 0;

	for (; *seq; seq++) {
		*now += 1000;
		n += health_fsm_record(f, *seq == 's', *now);
	}
	return n;
}

static void test_fsm_start_up(void **state)
{
	struct health_fsm f;
	__u64 now = 0;

	(void)state;
	/* HAProxy's default: up, but the first failure takes it down. */
	health_fsm_init(&f, 2, 3, 0, 500);
	assert_int_equal(f.up, 1);
	assert_int_equal(f.since_ms, 500);
	assert_int_equal(feed(&f, "f", &now), 1);
	assert_int_equal(f.up, 0);
	assert_int_equal(f.since_ms, 1000);
	assert_int_equal(f.failures, 1);
	/* Down: rise 2 successes. */
	assert_int_equal(feed(&f, "s", &now), 0);
	assert_int_equal(f.up, 0);
	assert_int_equal(f.successes, 1);
	assert_int_equal(feed(&f, "s", &now), 1);
	assert_int_equal(f.up, 1);
	assert_int_equal(f.since_ms, 3000);
	/* Fully up now: fall 3 failures in a row. */
	assert_int_equal(feed(&f, "ff", &now), 0);
	assert_int_equal(f.up, 1);
	assert_int_equal(f.failures, 2);
	assert_int_equal(feed(&f, "f", &now), 1);
	assert_int_equal(f.up, 0);

	/* A success after the start makes it fully up at once. */
	health_fsm_init(&f, 2, 3, 0, 0);
	now = 0;
	assert_int_equal(feed(&f, "sff", &now), 0);
	assert_int_equal(f.up, 1);
	assert_int_equal(feed(&f, "f", &now), 1);
}

static void test_fsm_consecutive(void **state)
{
	struct health_fsm f;
	__u64 now = 0;

	(void)state;
	health_fsm_init(&f, 2, 3, 0, 0);
	assert_int_equal(feed(&f, "s", &now), 0);
	/* Failures interrupted by a success start over. */
	assert_int_equal(feed(&f, "ffsffsffs", &now), 0);
	assert_int_equal(f.up, 1);
	assert_int_equal(f.successes, 1);
	assert_int_equal(f.failures, 0);
	assert_int_equal(feed(&f, "fff", &now), 1);
	assert_int_equal(f.up, 0);
	/* Successes interrupted by a failure start over. */
	assert_int_equal(feed(&f, "sfsfsf", &now), 0);
	assert_int_equal(f.up, 0);
	assert_int_equal(feed(&f, "ss", &now), 1);
	assert_int_equal(f.up, 1);
	/* More of the same changes nothing. */
	assert_int_equal(feed(&f, "ssssss", &now), 0);
	assert_int_equal(f.successes, 8);
	assert_int_equal(f.health, 4);
}

static void test_fsm_start_down(void **state)
{
	struct health_fsm f;
	__u64 now = 0;

	(void)state;
	health_fsm_init(&f, 3, 2, 1, 0);
	assert_int_equal(f.up, 0);
	assert_int_equal(feed(&f, "ssfss", &now), 0);
	assert_int_equal(feed(&f, "s", &now), 1);
	assert_int_equal(f.up, 1);
	assert_int_equal(feed(&f, "f", &now), 0);
	assert_int_equal(feed(&f, "f", &now), 1);
	assert_int_equal(f.up, 0);
}

static void test_fsm_one_one(void **state)
{
	struct health_fsm f;
	__u64 now = 0;

	(void)state;
	/* rise 1, fall 1: every change of result is a transition. */
	health_fsm_init(&f, 1, 1, 1, 0);
	assert_int_equal(feed(&f, "s", &now), 1);
	assert_int_equal(feed(&f, "f", &now), 1);
	assert_int_equal(feed(&f, "f", &now), 0);
	assert_int_equal(feed(&f, "s", &now), 1);
	assert_int_equal(feed(&f, "sfsf", &now), 3);
	/* 0 is taken as 1. */
	health_fsm_init(&f, 0, 0, 0, 0);
	assert_int_equal(f.rise, 1);
	assert_int_equal(f.fall, 1);
}

static void test_fsm_retune(void **state)
{
	struct health_fsm f;
	__u64 now = 0;

	(void)state;
	/* Up with fall 3 and one failure seen: fall 5 keeps 2 to go, not 4. */
	health_fsm_init(&f, 2, 3, 0, 0);
	assert_int_equal(feed(&f, "sf", &now), 0);
	health_fsm_retune(&f, 2, 5);
	assert_int_equal(f.up, 1);
	assert_int_equal(feed(&f, "f", &now), 0);
	assert_int_equal(feed(&f, "f", &now), 1);
	/* Down with 2 of rise 4: rise 2 makes the next success the last needed. */
	health_fsm_init(&f, 4, 3, 1, 0);
	assert_int_equal(feed(&f, "ss", &now), 0);
	health_fsm_retune(&f, 2, 3);
	assert_int_equal(feed(&f, "s", &now), 1);
	/* Up and fully: a smaller fall caps what is left. */
	health_fsm_init(&f, 2, 5, 0, 0);
	assert_int_equal(feed(&f, "s", &now), 0);
	health_fsm_retune(&f, 2, 1);
	assert_int_equal(feed(&f, "f", &now), 1);
}

static void test_spread(void **state)
{
	__u32 offs[10], i, j, d, gap = 2000 / 10 / 4;

	(void)state;
	for (i = 0; i < 10; i++) {
		offs[i] = health_spread_ms(i + 1, 2000);
		assert_true(offs[i] < 2000);
	}
	/* Ten consecutive ids: no two within a quarter of an even share. */
	for (i = 0; i < 10; i++) {
		for (j = i + 1; j < 10; j++) {
			d = offs[i] > offs[j] ? offs[i] - offs[j] : offs[j] - offs[i];
			assert_true(d >= gap);
		}
	}
	assert_int_equal(health_spread_ms(0, 2000), 0);
	assert_true(health_spread_ms(UINT32_MAX, 1) == 0);
	assert_true(health_spread_ms(12345, 10) < 10);
}

static void test_next_due(void **state)
{
	(void)state;
	/* Fixed rate: from the previous start, whatever the check took. */
	assert_true(health_next_due(1000, 2000, 1005) == 3000);
	assert_true(health_next_due(1000, 2000, 2999) == 3000);
	/* Overran its slot: at once. */
	assert_true(health_next_due(1000, 500, 1700) == 1700);
}

/*
 * A fake-clock run of one check against a backend that dies at die_at and
 * returns at back_at; each check ends after 10 ms if the backend lives,
 * after timeout otherwise. Returns when it went down and up again.
 */
static void simulate(__u32 id, __u32 interval, __u32 timeout, __u32 rise, __u32 fall, __u64 die_at,
		     __u64 back_at, __u64 *down_at, __u64 *up_at)
{
	struct health_fsm f;
	__u64 due = health_spread_ms(id, interval), end;
	int alive;

	health_fsm_init(&f, rise, fall, 0, 0);
	*down_at = *up_at = 0;
	while (due < back_at + 20 * interval && !*up_at) {
		alive = due < die_at || due >= back_at;
		end = due + (alive ? 10 : timeout);
		if (health_fsm_record(&f, alive, end)) {
			if (!f.up)
				*down_at = end;
			else if (*down_at)
				*up_at = end;
		}
		due = health_next_due(due, interval, end);
	}
}

static void test_detection_bounds(void **state)
{
	__u64 down, up;
	__u32 id;

	(void)state;
	for (id = 1; id <= 20; id++) {
		simulate(id, 2000, 1000, 2, 3, 10000 + id * 37, 30000 + id * 53, &down, &up);
		/* Down within fall * interval + timeout of the death. */
		assert_true(down > 10000 + id * 37);
		assert_true(down <= 10000 + id * 37 + 3 * 2000 + 1000);
		/* Up within rise * interval (plus a check's length) of the return. */
		assert_true(up > 30000 + id * 53);
		assert_true(up <= 30000 + id * 53 + 2 * 2000 + 10);
	}
}

static void test_conf(void **state)
{
	struct health_conf c;
	enum health_type t;
	char many[HEALTH_CODES_MAX * 4 + 8];
	int i;

	(void)state;
	health_conf_init(&c);
	assert_int_equal(c.type, HEALTH_TCP);
	assert_int_equal(c.interval_ms, 2000);
	assert_int_equal(c.timeout_ms, 1000);
	assert_int_equal(c.rise, 2);
	assert_int_equal(c.fall, 3);
	assert_string_equal(c.path, "/");
	/* Port 0 is refused; then it is valid. */
	assert_int_equal(health_conf_check(&c), -EINVAL);
	c.port = 80;
	assert_int_equal(health_conf_check(&c), 0);
	c.type = HEALTH_HTTP;
	assert_int_equal(health_conf_check(&c), 0);
	strcpy(c.path, "no-slash");
	assert_int_equal(health_conf_check(&c), -EINVAL);
	strcpy(c.path, "/a b");
	assert_int_equal(health_conf_check(&c), -EINVAL);
	strcpy(c.path, "/healthz?x=1");
	assert_int_equal(health_conf_check(&c), 0);
	strcpy(c.host, "bad host\r\nX: y");
	assert_int_equal(health_conf_check(&c), -EINVAL);
	strcpy(c.host, "www.example.test");
	assert_int_equal(health_conf_check(&c), 0);
	c.rise = 0;
	assert_int_equal(health_conf_check(&c), -EINVAL);
	c.rise = 2;
	c.interval_ms = 5;
	assert_int_equal(health_conf_check(&c), -EINVAL);
	c.interval_ms = 2000;

	assert_int_equal(health_parse_type("https", &t), 0);
	assert_int_equal(t, HEALTH_HTTPS);
	assert_int_equal(health_parse_type("udp", &t), -EINVAL);
	assert_string_equal(health_type_name(HEALTH_HTTP), "http");

	assert_int_equal(health_parse_codes("200-299,404", &c), 0);
	assert_int_equal(c.ncodes, 2);
	assert_int_equal(c.codes[0].lo, 200);
	assert_int_equal(c.codes[0].hi, 299);
	assert_int_equal(c.codes[1].lo, 404);
	assert_int_equal(c.codes[1].hi, 404);
	assert_int_equal(health_parse_codes("299-200", &c), -EINVAL);
	assert_int_equal(health_parse_codes("99", &c), -EINVAL);
	assert_int_equal(health_parse_codes("200,", &c), -EINVAL);
	assert_int_equal(health_parse_codes("200x", &c), -EINVAL);
	assert_int_equal(health_parse_codes("", &c), -EINVAL);
	assert_int_equal(health_parse_codes("1,2,3,4,5,6,7,8,9", &c), -EINVAL);
	/* One range more than HEALTH_CODES_MAX. */
	many[0] = '\0';
	for (i = 0; i <= HEALTH_CODES_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%d", i ? "," : "",
			 200 + i);
	assert_int_equal(health_parse_codes(many, &c), -EINVAL);
	/* A failed parse leaves the codes as they were. */
	assert_int_equal(c.ncodes, 2);
	assert_int_equal(health_conf_check(&c), 0);
}

/* --- Live checks on loopback --------------------------------------------- */

#define MAX_EVENTS 32

struct events {
	int n;
	__u32 backend[MAX_EVENTS];
	int up[MAX_EVENTS];
	char why[MAX_EVENTS][HEALTH_WHY_MAX];
	struct health *h;
	__u32 del_on_change; /* delete this backend's check from the callback (0: none) */
};

static void on_change(void *ctx, __u32 backend, int up, const char *why)
{
	struct events *e = ctx;

	if (e->n < MAX_EVENTS) {
		e->backend[e->n] = backend;
		e->up[e->n] = up;
		snprintf(e->why[e->n], HEALTH_WHY_MAX, "%s", why);
		e->n++;
	}
	if (e->del_on_change == backend)
		assert_int_equal(health_del(e->h, backend), 0);
}

/* Run h's loop until e has want events or max_ms pass; returns the events seen. */
static int run(struct health *h, struct events *e, int want, int max_ms)
{
	int ep = epoll_create1(0), n;
	struct epoll_event ev = { .events = EPOLLIN };
	__u64 end = clock_mono_ms() + (__u64)max_ms, now;

	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, health_fd(h), &ev), 0);
	while (e->n < want && (now = clock_mono_ms()) < end) {
		n = epoll_wait(ep, &ev, 1, (int)(end - now));
		assert_true(n >= 0);
		if (n)
			assert_int_equal(health_dispatch(h, clock_mono_ms()), 0);
	}
	close(ep);
	return e->n;
}

/* A TCP listener on loopback (family AF_INET or AF_INET6); its port in *port. */
static int listener(int family, int backlog, __u16 *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_addr = in6addr_loopback;
		len = sizeof(*s);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void conf_for(struct health_conf *c, enum health_type t, const char *addr, __u16 port)
{
	health_conf_init(c);
	c->type = t;
	assert_int_equal(addr_parse(addr, &c->addr), 0);
	c->port = port;
	c->interval_ms = 100;
	c->timeout_ms = 300;
	c->rise = 1;
	c->fall = 1;
}

static void test_tcp_up_and_refused(void **state)
{
	struct events e = { 0 };
	struct health_conf c;
	struct health_status st;
	struct health *h;
	__u16 port, port6, closed;
	int lfd, lfd6, cfd;

	(void)state;
	lfd = listener(AF_INET, 16, &port);
	lfd6 = listener(AF_INET6, 16, &port6);
	cfd = listener(AF_INET, 1, &closed);
	close(cfd); /* nothing listens there now: refused */

	assert_int_equal(health_new(&h, on_change, &e), 0);
	e.h = h;
	conf_for(&c, HEALTH_TCP, "127.0.0.1", port);
	c.start_down = 1;
	assert_int_equal(health_add(h, 1, &c), 0);
	assert_int_equal(health_add(h, 1, &c), -EEXIST);
	conf_for(&c, HEALTH_TCP, "::1", port6);
	c.start_down = 1;
	assert_int_equal(health_add(h, 2, &c), 0);
	conf_for(&c, HEALTH_TCP, "127.0.0.1", closed);
	assert_int_equal(health_add(h, 3, &c), 0);
	assert_int_equal(health_count(h), 3);

	assert_int_equal(run(h, &e, 3, 2000), 3);
	for (int i = 0; i < 3; i++) {
		if (e.backend[i] == 3) {
			assert_int_equal(e.up[i], 0);
			assert_string_equal(e.why[i], "connection refused");
		} else {
			assert_int_equal(e.up[i], 1);
			assert_string_equal(e.why[i], "connected");
		}
	}
	assert_int_equal(health_status(h, 3, &st), 0);
	assert_int_equal(st.up, 0);
	assert_int_equal(st.last_ok, 0);
	assert_true(st.failures >= 1);
	assert_string_equal(st.why, "connection refused");
	assert_string_equal(st.change_why, "connection refused");
	assert_true(st.checks >= 1 && st.checks_failed == st.checks);
	assert_int_equal(health_status(h, 9, &st), -ENOENT);

	/* The listener goes away: backend 1 goes down, refused. */
	close(lfd);
	e.n = 0;
	assert_true(run(h, &e, 1, 2000) >= 1);
	assert_int_equal(e.backend[0], 1);
	assert_int_equal(e.up[0], 0);
	assert_string_equal(e.why[0], "connection refused");

	assert_int_equal(health_del(h, 1), 0);
	assert_int_equal(health_del(h, 1), -ENOENT);
	assert_int_equal(health_count(h), 2);
	health_free(h);
	close(lfd6);
}

static void test_tcp_timeout(void **state)
{
	struct events e = { 0 };
	struct health_conf c;
	struct health *h;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int lfd, fill[8], nfill = 0, i;
	__u16 port;
	__u64 t0;

	(void)state;
	/* A listener never accepting, its queue filled: further SYNs are dropped. */
	lfd = listener(AF_INET, 0, &port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	for (i = 0; i < 8; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fill[i] >= 0);
		connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
		nfill++;
	}
	usleep(100000);

	assert_int_equal(health_new(&h, on_change, &e), 0);
	conf_for(&c, HEALTH_TCP, "127.0.0.1", port);
	c.timeout_ms = 200;
	assert_int_equal(health_add(h, 7, &c), 0);
	t0 = clock_mono_ms();
	assert_int_equal(run(h, &e, 1, 2000), 1);
	assert_int_equal(e.up[0], 0);
	assert_string_equal(e.why[0], "timeout after 200 ms");
	/* Spread (< 100 ms) + timeout, give or take the loop. */
	assert_true(clock_mono_ms() - t0 >= 200 && clock_mono_ms() - t0 < 600);
	health_free(h);
	for (i = 0; i < nfill; i++)
		close(fill[i]);
	close(lfd);
}

/* --- A tiny HTTP responder --------------------------------------------- */

struct responder {
	int lfd;
	__u16 port;
	pthread_t thr;
	char last_host[128];
	int requests;
};

static void respond(int fd, const char *req, struct responder *r)
{
	const char *h, *resp;
	char buf[256];
	size_t n;

	h = strcasestr(req, "\r\nHost: ");
	if (h) {
		n = strcspn(h + 8, "\r");
		if (n >= sizeof(r->last_host))
			n = sizeof(r->last_host) - 1;
		memcpy(r->last_host, h + 8, n);
		r->last_host[n] = '\0';
	}
	r->requests++;
	if (!strncmp(req, "GET /ok ", 8)) {
		resp = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello world\n";
	} else if (!strncmp(req, "GET /fail ", 10)) {
		resp = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: "
		       "close\r\n\r\nbusy\n";
	} else if (!strncmp(req, "GET /nocontent ", 15)) {
		resp = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
	} else if (!strncmp(req, "GET /big ", 9)) {
		/* Promises 10 MB, sends a line, then stalls until the client goes. */
		resp = "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\nstatus: fine\n";
		if (send(fd, resp, strlen(resp), MSG_NOSIGNAL) < 0)
			return;
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		return;
	} else if (!strncmp(req, "GET /close ", 11)) {
		return;
	} else {
		resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	}
	if (send(fd, resp, strlen(resp), MSG_NOSIGNAL) < 0)
		return;
}

static void *responder_main(void *arg)
{
	struct responder *r = arg;
	char req[2048];
	size_t len;
	ssize_t n;
	int fd;

	for (;;) {
		fd = accept(r->lfd, NULL, NULL);
		if (fd < 0)
			return NULL; /* the listener was shut down */
		len = 0;
		while (len < sizeof(req) - 1) {
			n = read(fd, req + len, sizeof(req) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[len] = '\0';
		respond(fd, req, r);
		close(fd);
	}
}

static void responder_start(struct responder *r, int family)
{
	memset(r, 0, sizeof(*r));
	r->lfd = listener(family, 64, &r->port);
	assert_int_equal(pthread_create(&r->thr, NULL, responder_main, r), 0);
}

static void responder_stop(struct responder *r)
{
	shutdown(r->lfd, SHUT_RDWR);
	pthread_join(r->thr, NULL);
	close(r->lfd);
}

static const char *why_of(const struct events *e, __u32 backend)
{
	for (int i = 0; i < e->n; i++) {
		if (e->backend[i] == backend)
			return e->why[i];
	}
	return "(none)";
}

static int up_of(const struct events *e, __u32 backend)
{
	for (int i = 0; i < e->n; i++) {
		if (e->backend[i] == backend)
			return e->up[i];
	}
	return -1;
}

static void test_http(void **state)
{
	struct responder r, r6;
	struct events e = { 0 };
	struct health_conf c;
	struct health_status st;
	struct health *h;
	char host[64];
	__u16 mute;
	int mfd;

	(void)state;
	responder_start(&r, AF_INET);
	responder_start(&r6, AF_INET6);
	mfd = listener(AF_INET, 16, &mute); /* accepts (the kernel does), never answers */
	assert_int_equal(health_new(&h, on_change, &e), 0);

	/* 1: 200 -> up; start down so the up transition is reported. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	c.start_down = 1;
	strcpy(c.path, "/ok");
	assert_int_equal(health_add(h, 1, &c), 0);
	/* 2: 503 -> down. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	strcpy(c.path, "/fail");
	assert_int_equal(health_add(h, 2, &c), 0);
	/* 3: 200 but the body lacks the substring -> down. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	strcpy(c.path, "/ok");
	strcpy(c.body, "goodbye");
	assert_int_equal(health_add(h, 3, &c), 0);
	/* 4: the body matches -> up. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	c.start_down = 1;
	strcpy(c.path, "/ok");
	strcpy(c.body, "world");
	assert_int_equal(health_add(h, 4, &c), 0);
	/* 5: never answered -> timeout. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", mute);
	assert_int_equal(health_add(h, 5, &c), 0);
	/* 6: 503 expected -> up. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	c.start_down = 1;
	strcpy(c.path, "/fail");
	assert_int_equal(health_parse_codes("500-503", &c), 0);
	assert_int_equal(health_add(h, 6, &c), 0);
	/* 7: IPv6 with a Host header. */
	conf_for(&c, HEALTH_HTTP, "::1", r6.port);
	c.start_down = 1;
	strcpy(c.path, "/ok");
	strcpy(c.host, "www.example.test");
	assert_int_equal(health_add(h, 7, &c), 0);
	/* 8: a 10 MB body that stalls: the status is enough, no timeout. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	c.start_down = 1;
	strcpy(c.path, "/big");
	assert_int_equal(health_add(h, 8, &c), 0);
	/* 9: the same with a body match in its first bytes. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	c.start_down = 1;
	strcpy(c.path, "/big");
	strcpy(c.body, "fine");
	assert_int_equal(health_add(h, 9, &c), 0);
	/* 10: closed without an answer. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	strcpy(c.path, "/close");
	assert_int_equal(health_add(h, 10, &c), 0);
	/* 11: 204, no body at all. */
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	c.start_down = 1;
	strcpy(c.path, "/nocontent");
	assert_int_equal(health_add(h, 11, &c), 0);

	assert_int_equal(run(h, &e, 11, 3000), 11);
	assert_int_equal(up_of(&e, 1), 1);
	assert_string_equal(why_of(&e, 1), "HTTP 200");
	assert_int_equal(up_of(&e, 2), 0);
	assert_string_equal(why_of(&e, 2), "HTTP 503");
	assert_int_equal(up_of(&e, 3), 0);
	assert_string_equal(why_of(&e, 3), "body mismatch");
	assert_int_equal(up_of(&e, 4), 1);
	assert_int_equal(up_of(&e, 5), 0);
	assert_string_equal(why_of(&e, 5), "timeout after 300 ms");
	assert_int_equal(up_of(&e, 6), 1);
	assert_string_equal(why_of(&e, 6), "HTTP 503");
	assert_int_equal(up_of(&e, 7), 1);
	snprintf(host, sizeof(host), "www.example.test:%u", r6.port);
	assert_string_equal(r6.last_host, host);
	assert_int_equal(up_of(&e, 8), 1);
	assert_int_equal(up_of(&e, 9), 1);
	assert_int_equal(up_of(&e, 10), 0);
	assert_string_equal(why_of(&e, 10), "empty reply");
	assert_int_equal(up_of(&e, 11), 1);
	assert_string_equal(why_of(&e, 11), "HTTP 204");

	assert_int_equal(health_status(h, 8, &st), 0);
	assert_true(st.last_duration_ms < 200);

	/* Update: 2 now checks /ok and comes up; 1 now expects a body it lacks. */
	e.n = 0;
	conf_for(&c, HEALTH_HTTP, "127.0.0.1", r.port);
	strcpy(c.path, "/ok");
	assert_int_equal(health_update(h, 2, &c), 0);
	strcpy(c.body, "nope");
	assert_int_equal(health_update(h, 1, &c), 0);
	assert_int_equal(health_update(h, 99, &c), -ENOENT);
	assert_int_equal(run(h, &e, 2, 2000), 2);
	assert_int_equal(up_of(&e, 2), 1);
	assert_int_equal(up_of(&e, 1), 0);
	assert_string_equal(why_of(&e, 1), "body mismatch");

	health_free(h);
	close(mfd);
	responder_stop(&r);
	responder_stop(&r6);
}

static void test_del_in_flight_and_callback(void **state)
{
	struct responder r;
	struct events e = { 0 };
	struct health_conf c;
	struct health *h;
	__u16 mute, closed;
	int mfd, cfd, i;

	(void)state;
	responder_start(&r, AF_INET);
	mfd = listener(AF_INET, 16, &mute);
	cfd = listener(AF_INET, 1, &closed);
	close(cfd);
	assert_int_equal(health_new(&h, on_change, &e), 0);
	e.h = h;
	/* Many checks in flight against the mute listener, deleted mid-run. */
	for (i = 0; i < 20; i++) {
		conf_for(&c, i % 2 ? HEALTH_HTTP : HEALTH_TCP, "127.0.0.1", i % 2 ? mute : r.port);
		c.interval_ms = 20;
		assert_int_equal(health_add(h, 100 + i, &c), 0);
	}
	run(h, &e, 1000, 150);
	for (i = 0; i < 20; i += 2)
		assert_int_equal(health_del(h, 100 + i), 0);
	run(h, &e, 1000, 100);
	/* A callback that deletes its own check. */
	conf_for(&c, HEALTH_TCP, "127.0.0.1", closed);
	e.del_on_change = 50;
	e.n = 0;
	assert_int_equal(health_add(h, 50, &c), 0);
	assert_true(run(h, &e, 1000, 300) >= 1);
	assert_int_equal(health_del(h, 50), -ENOENT);
	/* Freed with HTTP runs in flight. */
	health_free(h);
	health_free(NULL);
	close(mfd);
	responder_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fsm_start_up),
		cmocka_unit_test(test_fsm_consecutive),
		cmocka_unit_test(test_fsm_start_down),
		cmocka_unit_test(test_fsm_one_one),
		cmocka_unit_test(test_fsm_retune),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_next_due),
		cmocka_unit_test(test_detection_bounds),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_tcp_up_and_refused),
		cmocka_unit_test(test_tcp_timeout),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_del_in_flight_and_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
