// SPDX-License-Identifier: GPL-2.0-only
/*
 * etcdprobe: drive the etcd client (userspace/etcd.c) against a real
 * cluster from a script, one command at a time, in the client's own event
 * loop. tests/integration/test_etcd.sh uses it.
 *
 *   etcdprobe [-t TIMEOUT_MS] [-u USER:PASSWORD] [-c CA] [-C CERT] [-K KEY] [-d SECONDS]
 *             ENDPOINTS [CMD [ARG...] [-- CMD...]]
 *
 * ENDPOINTS is comma-separated. Commands come from the arguments ("--"
 * between them), else from stdin, one per line; a request command waits
 * for its answer before the next one runs, streams and campaigns run on in
 * the background. Every answer is one line (flushed at once):
 *
 *   put KEY VALUE [LEASE]     put ok rev=R ms=M
 *   get KEY | getp PREFIX     kv KEY VALUE mod=R lease=L (each)   get n=N rev=R ms=M
 *   del KEY | delp PREFIX     del n=N ms=M
 *   putif KEY VALUE MODREV    putif succeeded=0|1 [cur=VALUE mod=R] ms=M
 *   grant TTL                 grant lease=ID ttl=T ms=M
 *   keepalive LEASE           keepalive lease=ID ttl=T ms=M
 *   refresh LEASE MS          keep LEASE alive every MS (0: stop); prints only
 *                             "refresh lease=ID expired" or its errors
 *   revoke LEASE              revoke ok ms=M
 *   campaign TAG NAME LEASE VALUE   (background) elected TAG key=K rev=R t=US
 *   proclaim TAG VALUE | resign TAG  proclaim ok / resign ok
 *   leader NAME               leader NAME VALUE key=K | leader NAME none
 *   watch KEY | watchp PREFIX | watchfrom KEY REV   (background)
 *                             watch put KEY VALUE rev=R t=US, watch delete KEY rev=R t=US,
 *                             watch up|down t=US, watch reset rev=R t=US
 *   observe NAME              (background) observe NAME put VALUE key=K t=US,
 *                             observe NAME delete t=US, observe NAME up|down t=US
 *   unwatch                   cancel every watch and observe
 *   latency N KEY             N puts of KEY, each timed until its watch event:
 *                             latency n=N min_us= p50_us= avg_us= max_us=
 *   endpoint                  endpoint URL failovers=N
 *   sleep MS | echo TEXT | quit
 *
 * Failures: "CMD err=ENAME msg=... ms=M". t= is CLOCK_REALTIME in µs, for
 * comparing with the script's clock. The exit status is 1 when a command
 * failed (arguments mode) or the time bound (-d, default 120 s) ran out.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "clock.h"
#include "err.h"
#include "etcd.h"
#include "tool.h"

#define MAX_TAGS 8
#define MAX_STREAMS 16
#define MAX_REFRESH 8
#define LINE_MAX_LEN 1024
#define LAT_MAX 1000

static struct etcd *E;
static int pending;	  /* a request command waits for its answer */
static int failed;	  /* some command failed */
static __u64 sleep_until; /* sleep MS: ms */
static __u64 started;	  /* the pending command: ms */

static struct {
	char tag[32];
	char name[128];
	struct etcd_kv key; /* the leader key (copy) */
	char keybuf[256];
	int elected;
} tags[MAX_TAGS];

static char leader_name[128];
static struct etcd_stream *streams[MAX_STREAMS];
static char stream_names[MAX_STREAMS][128];

static struct {
	__s64 lease;
	__u32 every_ms;
	__u64 next;
	int inflight;
} refresh[MAX_REFRESH];

static struct {
	int on, n, done;
	char key[128];
	char want[32];
	__u64 t0;
	__u64 us[LAT_MAX];
	struct etcd_stream *s;
} lat;

static unsigned long long real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000 + (unsigned long long)ts.tv_nsec / 1000;
}

static unsigned long long elapsed(void)
{
	return (unsigned long long)(clock_mono_ms() - started);
}

/* "CMD err=ENAME msg=... ms=M"; 1 when r failed. */
static int failure(const char *cmd, const struct etcd_result *r)
{
	if (!r->err)
		return 0;
	printf("%s err=%s msg=%s ms=%llu\n", cmd, strerrorname_np(-r->err) ?: "?", r->msg,
	       elapsed());
	failed = 1;
	return 1;
}

static void done(void)
{
	pending = 0;
	fflush(stdout);
}

/* put, del, grant, keepalive and the rest (ctx: which): one line with what they return. */
static void on_result(void *ctx, const struct etcd_result *r)
{
	const char *cmd = ctx;

	if (failure(cmd, r)) {
		done();
		return;
	}
	if (!strcmp(cmd, "put"))
		printf("put ok rev=%lld", (long long)r->revision);
	else if (!strcmp(cmd, "del"))
		printf("del n=%lld", (long long)r->deleted);
	else if (!strcmp(cmd, "grant") || !strcmp(cmd, "keepalive"))
		printf("%s lease=%lld ttl=%lld", cmd, (long long)r->lease, (long long)r->ttl);
	else
		printf("%s ok", cmd);
	printf(" ms=%llu\n", elapsed());
	done();
}

static void on_get(void *ctx, const struct etcd_result *r)
{
	size_t i;

	(void)ctx;
	if (!failure("get", r)) {
		for (i = 0; i < r->nkvs; i++)
			printf("kv %s %s mod=%lld lease=%lld\n", r->kvs[i].key, r->kvs[i].value,
			       (long long)r->kvs[i].mod_revision, (long long)r->kvs[i].lease);
		printf("get n=%zu rev=%lld ms=%llu\n", r->nkvs, (long long)r->revision, elapsed());
	}
	done();
}

static void on_putif(void *ctx, const struct etcd_result *r)
{
	(void)ctx;
	if (!failure("putif", r)) {
		printf("putif succeeded=%d", r->succeeded);
		if (r->nkvs)
			printf(" cur=%s mod=%lld", r->kvs[0].value,
			       (long long)r->kvs[0].mod_revision);
		printf(" ms=%llu\n", elapsed());
	}
	done();
}

static void on_refresh(void *ctx, const struct etcd_result *r)
{
	int i = (int)(long)ctx;

	refresh[i].inflight = 0;
	if (r->err == -ECANCELED)
		return;
	if (r->err) {
		printf("refresh lease=%lld err=%s msg=%s\n", (long long)refresh[i].lease,
		       strerrorname_np(-r->err) ?: "?", r->msg);
	} else if (r->ttl <= 0) {
		printf("refresh lease=%lld expired\n", (long long)refresh[i].lease);
		refresh[i].every_ms = 0;
	}
	fflush(stdout);
}

static void on_leader(void *ctx, const struct etcd_result *r)
{
	const char *name = ctx;

	if (!failure("leader", r)) {
		if (r->nkvs)
			printf("leader %s %s key=%s\n", name, r->kvs[0].value, r->kvs[0].key);
		else
			printf("leader %s none\n", name);
	}
	done();
}

static void on_elected(void *ctx, const struct etcd_result *r)
{
	int i = (int)(long)ctx;

	if (r->err) {
		printf("campaign %s err=%s msg=%s t=%llu\n", tags[i].tag,
		       strerrorname_np(-r->err) ?: "?", r->msg, real_us());
		failed = 1;
	} else {
		tags[i].key = r->kvs[0];
		snprintf(tags[i].keybuf, sizeof(tags[i].keybuf), "%s", r->kvs[0].key);
		tags[i].key.key = tags[i].keybuf;
		tags[i].key.key_len = strlen(tags[i].keybuf);
		tags[i].key.value = NULL;
		tags[i].key.value_len = 0;
		tags[i].elected = 1;
		printf("elected %s key=%s rev=%lld value=%s t=%llu\n", tags[i].tag, r->kvs[0].key,
		       (long long)r->kvs[0].create_revision, r->kvs[0].value, real_us());
	}
	fflush(stdout);
}

static const char *const ev_names[] = {
	[ETCD_EV_PUT] = "put",	 [ETCD_EV_DELETE] = "delete", [ETCD_EV_RESET] = "reset",
	[ETCD_EV_DOWN] = "down", [ETCD_EV_UP] = "up",
};

static void latency_next(void);

static void on_watch(void *ctx, const struct etcd_event *ev)
{
	(void)ctx;
	switch (ev->type) {
	case ETCD_EV_PUT:
		printf("watch put %s %s rev=%lld t=%llu\n", ev->kv.key, ev->kv.value,
		       (long long)ev->revision, real_us());
		break;
	case ETCD_EV_DELETE:
		printf("watch delete %s rev=%lld t=%llu\n", ev->kv.key, (long long)ev->revision,
		       real_us());
		break;
	case ETCD_EV_RESET:
		printf("watch reset rev=%lld t=%llu\n", (long long)ev->revision, real_us());
		break;
	default:
		printf("watch %s t=%llu\n", ev_names[ev->type], real_us());
		break;
	}
	fflush(stdout);
}

static void on_observe(void *ctx, const struct etcd_event *ev)
{
	const char *name = ctx;

	if (ev->type == ETCD_EV_PUT)
		printf("observe %s put %s key=%s t=%llu\n", name, ev->kv.value, ev->kv.key,
		       real_us());
	else
		printf("observe %s %s t=%llu\n", name, ev_names[ev->type], real_us());
	fflush(stdout);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static void on_lat_put(void *ctx, const struct etcd_result *r)
{
	(void)ctx;
	if (r->err && r->err != -ECANCELED) {
		failure("latency", r);
		lat.on = 0;
		done();
	}
}

static void on_lat_watch(void *ctx, const struct etcd_event *ev)
{
	__u64 sum = 0;
	int i;

	(void)ctx;
	if (!lat.on)
		return;
	if (ev->type == ETCD_EV_UP && !lat.done && !lat.t0) {
		latency_next();
		return;
	}
	if (ev->type != ETCD_EV_PUT || strcmp(ev->kv.value, lat.want))
		return;
	lat.us[lat.done++] = clock_mono_us() - lat.t0;
	if (lat.done < lat.n) {
		latency_next();
		return;
	}
	for (i = 0; i < lat.n; i++)
		sum += lat.us[i];
	qsort(lat.us, (size_t)lat.n, sizeof(lat.us[0]), cmp_u64);
	printf("latency n=%d min_us=%llu p50_us=%llu avg_us=%llu max_us=%llu\n", lat.n,
	       (unsigned long long)lat.us[0], (unsigned long long)lat.us[lat.n / 2],
	       (unsigned long long)(sum / (__u64)lat.n), (unsigned long long)lat.us[lat.n - 1]);
	lat.on = 0;
	etcd_stream_cancel(E, lat.s); /* inside its own callback */
	lat.s = NULL;
	done();
}

static void latency_next(void)
{
	struct etcd_result r = { .msg = "" };

	snprintf(lat.want, sizeof(lat.want), "lat-%d", lat.done);
	lat.t0 = clock_mono_us();
	r.err = etcd_put(E, lat.key, strlen(lat.key), lat.want, strlen(lat.want), 0, on_lat_put,
			 NULL, NULL);
	if (r.err) {
		r.msg = err_msg();
		on_lat_put(NULL, &r);
	}
}

static int find_tag(const char *tag, int create)
{
	int i;

	for (i = 0; i < MAX_TAGS; i++) {
		if (tags[i].tag[0] && !strcmp(tags[i].tag, tag))
			return i;
	}
	if (!create)
		return -1;
	for (i = 0; i < MAX_TAGS; i++) {
		if (!tags[i].tag[0]) {
			snprintf(tags[i].tag, sizeof(tags[i].tag), "%s", tag);
			return i;
		}
	}
	return -1;
}

static int add_stream(int observe, const char *key, int prefix, __s64 rev)
{
	int i;

	for (i = 0; i < MAX_STREAMS && streams[i]; i++)
		;
	if (i == MAX_STREAMS)
		return -ENOSPC;
	snprintf(stream_names[i], sizeof(stream_names[i]), "%s", key);
	if (observe)
		return etcd_observe(E, key, on_observe, stream_names[i], &streams[i]);
	return etcd_watch(E, key, strlen(key), prefix, rev, on_watch, NULL, &streams[i]);
}

static __s64 num(const char *s)
{
	return s ? strtoll(s, NULL, 0) : 0;
}

/* Run one command (argv form). Returns -errno when it could not start. */
static int run(int argc, char **argv)
{
	const char *c = argv[0];
	int i, err = 0;

#define NEED(n)                     \
	do {                        \
		if (argc < (n) + 1) \
			goto usage; \
	} while (0)
	started = clock_mono_ms();
	pending = 1;
	if (!strcmp(c, "put")) {
		NEED(2);
		err = etcd_put(E, argv[1], strlen(argv[1]), argv[2], strlen(argv[2]),
			       argc > 3 ? num(argv[3]) : 0, on_result, "put", NULL);
	} else if (!strcmp(c, "get") || !strcmp(c, "getp")) {
		NEED(1);
		err = etcd_get(E, argv[1], strlen(argv[1]), c[3] == 'p', on_get, NULL, NULL);
	} else if (!strcmp(c, "del") || !strcmp(c, "delp")) {
		NEED(1);
		err = etcd_del(E, argv[1], strlen(argv[1]), c[3] == 'p', on_result, "del", NULL);
	} else if (!strcmp(c, "putif")) {
		NEED(3);
		err = etcd_put_if(E, argv[1], strlen(argv[1]), argv[2], strlen(argv[2]), 0,
				  num(argv[3]), on_putif, NULL, NULL);
	} else if (!strcmp(c, "grant")) {
		NEED(1);
		err = etcd_lease_grant(E, num(argv[1]), on_result, "grant", NULL);
	} else if (!strcmp(c, "keepalive")) {
		NEED(1);
		err = etcd_lease_keepalive(E, num(argv[1]), on_result, "keepalive", NULL);
	} else if (!strcmp(c, "revoke")) {
		NEED(1);
		err = etcd_lease_revoke(E, num(argv[1]), on_result, "revoke", NULL);
	} else if (!strcmp(c, "refresh")) {
		NEED(2);
		pending = 0;
		for (i = 0; i < MAX_REFRESH; i++) {
			if (refresh[i].lease == num(argv[1]) || !refresh[i].lease)
				break;
		}
		if (i == MAX_REFRESH)
			return -ENOSPC;
		refresh[i].lease = num(argv[1]);
		refresh[i].every_ms = (__u32)num(argv[2]);
		refresh[i].next = clock_mono_ms();
	} else if (!strcmp(c, "campaign")) {
		NEED(4);
		pending = 0;
		i = find_tag(argv[1], 1);
		if (i < 0)
			return -ENOSPC;
		snprintf(tags[i].name, sizeof(tags[i].name), "%s", argv[2]);
		tags[i].elected = 0;
		err = etcd_campaign(E, argv[2], num(argv[3]), argv[4], strlen(argv[4]), on_elected,
				    (void *)(long)i, NULL);
	} else if (!strcmp(c, "proclaim") || !strcmp(c, "resign")) {
		NEED(c[0] == 'p' ? 2 : 1);
		i = find_tag(argv[1], 0);
		if (i < 0 || !tags[i].elected) {
			printf("%s err=ENOENT msg=tag %s not elected ms=0\n", c, argv[1]);
			failed = 1;
			pending = 0;
			return 0;
		}
		if (c[0] == 'p')
			err = etcd_proclaim(E, tags[i].name, &tags[i].key, argv[2], strlen(argv[2]),
					    on_result, "proclaim", NULL);
		else
			err = etcd_resign(E, tags[i].name, &tags[i].key, on_result, "resign", NULL);
	} else if (!strcmp(c, "leader")) {
		NEED(1);
		/* The line goes away: the callback names a copy (one command pends at a time). */
		snprintf(leader_name, sizeof(leader_name), "%s", argv[1]);
		err = etcd_leader(E, argv[1], on_leader, leader_name, NULL);
	} else if (!strcmp(c, "watch") || !strcmp(c, "watchp") || !strcmp(c, "watchfrom")) {
		NEED(c[5] == 'f' ? 2 : 1);
		pending = 0;
		err = add_stream(0, argv[1], c[5] == 'p', c[5] == 'f' ? num(argv[2]) : 0);
	} else if (!strcmp(c, "observe")) {
		NEED(1);
		pending = 0;
		err = add_stream(1, argv[1], 0, 0);
	} else if (!strcmp(c, "unwatch")) {
		pending = 0;
		for (i = 0; i < MAX_STREAMS; i++) {
			etcd_stream_cancel(E, streams[i]);
			streams[i] = NULL;
		}
	} else if (!strcmp(c, "latency")) {
		NEED(2);
		memset(&lat, 0, sizeof(lat));
		lat.n = (int)num(argv[1]);
		if (lat.n < 1 || lat.n > LAT_MAX)
			goto usage;
		snprintf(lat.key, sizeof(lat.key), "%s", argv[2]);
		lat.on = 1;
		err = etcd_watch(E, lat.key, strlen(lat.key), 0, 0, on_lat_watch, NULL, &lat.s);
	} else if (!strcmp(c, "endpoint")) {
		printf("endpoint %s failovers=%llu\n", etcd_endpoint(E),
		       (unsigned long long)etcd_failovers(E));
		done();
	} else if (!strcmp(c, "sleep")) {
		NEED(1);
		sleep_until = clock_mono_ms() + (__u64)num(argv[1]);
	} else if (!strcmp(c, "echo")) {
		for (i = 1; i < argc; i++)
			printf("%s%s", argv[i], i + 1 < argc ? " " : "");
		printf("\n");
		done();
	} else {
		goto usage;
	}
	if (!pending)
		fflush(stdout);
	if (err) {
		printf("%s err=%s msg=%s ms=0\n", c, strerrorname_np(-err) ?: "?", err_msg());
		failed = 1;
		done();
	}
	return 0;
usage:
	printf("%s err=EINVAL msg=bad command (see etcdprobe.c) ms=0\n", c);
	failed = 1;
	done();
	return 0;
#undef NEED
}

static int run_line(char *line)
{
	char *argv[16], *save = NULL, *tok;
	int argc = 0;

	for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 16;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (!argc || argv[0][0] == '#')
		return 0;
	if (!strcmp(argv[0], "quit"))
		return 1;
	run(argc, argv);
	return 0;
}

static void run_refresh(__u64 now)
{
	int i;

	for (i = 0; i < MAX_REFRESH; i++) {
		if (!refresh[i].every_ms || refresh[i].inflight || now < refresh[i].next)
			continue;
		refresh[i].next = now + refresh[i].every_ms;
		if (!etcd_lease_keepalive(E, refresh[i].lease, on_refresh, (void *)(long)i, NULL))
			refresh[i].inflight = 1;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: etcdprobe [-t TIMEOUT_MS] [-u USER:PASSWORD] [-c CA] [-C CERT] "
			"[-K KEY] [-d SECONDS] ENDPOINTS [CMD [ARG...] [-- CMD...]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static char in[1 << 16];
	struct etcd_conf conf = { 0 };
	struct epoll_event ev = { .events = EPOLLIN }, evs[4];
	char *eps, *tok, *save = NULL, *user = NULL, *nl;
	size_t inlen = 0;
	int opt, ep, n, i, eof = 0, quit = 0, timeout, rc;
	long secs = 120;
	__u64 end, now, wake;
	ssize_t got;

	while ((opt = getopt(argc, argv, "+t:u:c:C:K:d:")) != -1) {
		switch (opt) {
		case 'c':
			conf.cacert = optarg;
			break;
		case 'C':
			conf.cert = optarg;
			break;
		case 'K':
			conf.key = optarg;
			break;
		case 't':
			conf.timeout_ms = (__u32)strtoul(optarg, NULL, 10);
			break;
		case 'u':
			user = strdup(optarg);
			break;
		case 'd':
			secs = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || secs < 1 || secs > 600)
		usage();
	eps = strdup(argv[optind++]);
	for (tok = strtok_r(eps, ",", &save); tok && conf.nendpoints < ETCD_ENDPOINTS_MAX;
	     tok = strtok_r(NULL, ",", &save))
		conf.endpoints[conf.nendpoints++] = tok;
	if (user) {
		char *colon = strchr(user, ':');

		if (!colon)
			usage();
		*colon = '\0';
		conf.user = user;
		conf.password = colon + 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	tool_catch_stop();
	signal(SIGPIPE, SIG_IGN);
	if (etcd_new(&E, &conf)) {
		fprintf(stderr, "etcdprobe: %s\n", err_msg());
		return 1;
	}
	/* Argument commands become the input, "--" their line breaks. */
	if (optind < argc) {
		for (i = optind; i < argc; i++) {
			const char *a = strcmp(argv[i], "--") ? argv[i] : "\n";

			if (inlen + strlen(a) + 2 >= sizeof(in))
				usage();
			inlen += (size_t)sprintf(in + inlen, "%s%s", a, *a == '\n' ? "" : " ");
		}
		in[inlen++] = '\n';
		eof = 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = etcd_fd(E);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, etcd_fd(E), &ev)) {
		perror("etcdprobe: epoll");
		return 1;
	}
	if (!eof) {
		fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
		ev.data.fd = 0;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev)) {
			perror("etcdprobe: epoll stdin");
			return 1;
		}
	}
	end = clock_mono_ms() + (__u64)secs * 1000;
	rc = 0;
	while (!tool_stop) {
		/* Run what can run: commands while nothing is pending. */
		while (!pending && !quit && (nl = memchr(in, '\n', inlen))) {
			*nl = '\0';
			quit = run_line(in);
			inlen -= (size_t)(nl + 1 - in);
			memmove(in, nl + 1, inlen);
		}
		if (quit || (eof && !pending && !memchr(in, '\n', inlen)))
			break;
		now = clock_mono_ms();
		if (now >= end) {
			printf("etcdprobe: time bound of %ld s reached\n", secs);
			rc = 1;
			break;
		}
		run_refresh(now);
		wake = end;
		if (sleep_until)
			wake = sleep_until < wake ? sleep_until : wake;
		for (i = 0; i < MAX_REFRESH; i++) {
			if (refresh[i].every_ms && !refresh[i].inflight && refresh[i].next < wake)
				wake = refresh[i].next;
		}
		timeout = wake > now ? (int)(wake - now) : 0;
		n = epoll_wait(ep, evs, 4, timeout);
		if (n < 0 && errno != EINTR) {
			perror("etcdprobe: epoll_wait");
			rc = 1;
			break;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == 0) {
				got = read(0, in + inlen, sizeof(in) - 1 - inlen);
				if (got > 0) {
					inlen += (size_t)got;
				} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
					eof = 1;
					epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
					if (inlen && in[inlen - 1] != '\n')
						in[inlen++] = '\n';
				}
			} else if (etcd_dispatch(E, clock_mono_ms())) {
				fprintf(stderr, "etcdprobe: dispatch failed\n");
				rc = 1;
			}
		}
		if (sleep_until && clock_mono_ms() >= sleep_until) {
			sleep_until = 0;
			done();
		}
	}
	etcd_free(E);
	close(ep);
	free(eps);
	free(user);
	fflush(stdout);
	return rc || failed;
}
