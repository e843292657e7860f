// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Active health checks (see health.h): the rise/fall machine, the schedule
 * (a min-heap of each check's next event: its next start, or the deadline
 * of its run), TCP connects on non-blocking sockets completed by EPOLLOUT
 * and SO_ERROR, and HTTP(S) GETs on libcurl's multi socket interface, its
 * sockets and timer folded into the module's epoll set and timerfd.
 *
 * Every epoll entry's data.ptr points at a struct whose first member is a
 * struct curlep_tag naming its kind: the timerfd (h->ev.timer), a TCP check in
 * flight (struct check), or a socket of libcurl's (curlep.h). Checks and
 * curl sockets deleted during health_dispatch() are freed only at its end,
 * since events fetched in the same batch may still point at them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "addr.h"
#include "clock.h"
#include "curlep.h"
#include "err.h"
#include "health.h"

#define EV_BATCH 64
/* An HTTP check curl failed to end by its own timeout is cut this much later. */
#define HTTP_GRACE_MS 1000

enum hev_kind {
	HEV_TIMER = 1,
	HEV_TCP,
	HEV_CURL,
};

struct check {
	struct curlep_tag ev; /* HEV_TCP: first member */
	__u32 id;
	struct health_conf conf;
	struct health_fsm fsm;
	struct health_status st; /* the result fields of health_status() */
	__u64 due;		 /* next start (idle) */
	__u64 started;		 /* start of the run in flight */
	__u64 when;		 /* heap key: due (idle) or the run's deadline */
	size_t heap_idx;
	int running; /* a run in flight */
	int fd;	     /* tcp: socket of the run, -1 */
	CURL *easy;  /* http: handle of the run */
	char *body;  /* http: the body so far (body match only) */
	size_t body_len;
	int body_found; /* http: substring seen */
	long status;	/* http: status seen by the write callback */
	int cut;	/* http: transfer cut on purpose, answer known */
	struct curl_slist *hdrs;
	struct check *next_dead;
};

struct health {
	struct curlep ev; /* the epoll set, its timerfd and libcurl (curlep.h) */
	health_change_fn on_change;
	void *ctx;
	struct check **byid; /* sorted by id */
	size_t count, cap;
	struct check **heap; /* min-heap on when, count entries */
	int in_dispatch;
	struct check *dead_checks;
};

/* --- Pure part ----------------------------------------------------------- */

void health_fsm_init(struct health_fsm *f, __u32 rise, __u32 fall, int start_down, __u64 now_ms)
{
	memset(f, 0, sizeof(*f));
	f->rise = rise ? rise : 1;
	f->fall = fall ? fall : 1;
	f->up = !start_down;
	f->health = start_down ? 0 : f->rise;
	f->since_ms = now_ms;
}

int health_fsm_record(struct health_fsm *f, int ok, __u64 now_ms)
{
	__u32 top = f->rise + f->fall - 1;

	if (ok) {
		f->successes++;
		f->failures = 0;
		if (f->up) {
			f->health = top;
			return 0;
		}
		f->health++;
		if (f->health < f->rise)
			return 0;
		f->health = top;
		f->up = 1;
	} else {
		f->failures++;
		f->successes = 0;
		if (!f->up) {
			f->health = 0;
			return 0;
		}
		if (f->health > f->rise) {
			f->health--;
			return 0;
		}
		f->health = 0;
		f->up = 0;
	}
	f->since_ms = now_ms;
	return 1;
}

void health_fsm_retune(struct health_fsm *f, __u32 rise, __u32 fall)
{
	__u32 left;

	rise = rise ? rise : 1;
	fall = fall ? fall : 1;
	if (f->up) {
		/* failures still needed to go down: 1..fall */
		left = f->health - f->rise + 1;
		if (left > fall)
			left = fall;
		f->health = rise + left - 1;
	} else if (f->health > rise - 1) {
		f->health = rise - 1;
	}
	f->rise = rise;
	f->fall = fall;
}

__u32 health_spread_ms(__u32 id, __u32 interval_ms)
{
	/* Weyl sequence: frac(id * golden ratio) in 32-bit fixed point. */
	__u32 frac = id * 2654435769u;

	return (__u32)(((__u64)frac * interval_ms) >> 32);
}

__u64 health_next_due(__u64 prev_due, __u32 interval_ms, __u64 now_ms)
{
	__u64 next = prev_due + interval_ms;

	return next > now_ms ? next : now_ms;
}

/* --- Configuration ------------------------------------------------------- */

void health_conf_init(struct health_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->type = HEALTH_TCP;
	strcpy(c->path, "/");
	c->interval_ms = HEALTH_DEF_INTERVAL_MS;
	c->timeout_ms = HEALTH_DEF_TIMEOUT_MS;
	c->rise = HEALTH_DEF_RISE;
	c->fall = HEALTH_DEF_FALL;
}

static const char *const type_names[] = {
	[HEALTH_TCP] = "tcp",
	[HEALTH_HTTP] = "http",
	[HEALTH_HTTPS] = "https",
};

const char *health_type_name(enum health_type t)
{
	if (t >= HEALTH_TCP && t <= HEALTH_HTTPS)
		return type_names[t];
	return "?";
}

int health_parse_type(const char *text, enum health_type *t)
{
	int i;

	for (i = HEALTH_TCP; i <= HEALTH_HTTPS; i++) {
		if (!strcmp(text, type_names[i])) {
			*t = (enum health_type)i;
			return 0;
		}
	}
	err_set("unknown health check type '%s' (expected tcp, http or https)", text);
	return -EINVAL;
}

static int parse_code(const char *s, char **end, __u16 *code)
{
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, end, 10);
	if (errno || v < 100 || v > 599)
		return -EINVAL;
	*code = (__u16)v;
	return 0;
}

int health_parse_codes(const char *text, struct health_conf *c)
{
	struct health_codes codes[HEALTH_CODES_MAX];
	const char *s = text;
	unsigned int n = 0;
	char *end;

	for (;;) {
		if (n == HEALTH_CODES_MAX) {
			err_set("status codes '%s': at most %d ranges", text, HEALTH_CODES_MAX);
			return -EINVAL;
		}
		if (parse_code(s, &end, &codes[n].lo))
			goto bad;
		codes[n].hi = codes[n].lo;
		if (*end == '-' && parse_code(end + 1, &end, &codes[n].hi))
			goto bad;
		if (codes[n].hi < codes[n].lo)
			goto bad;
		n++;
		if (*end == '\0')
			break;
		if (*end != ',')
			goto bad;
		s = end + 1;
	}
	memcpy(c->codes, codes, sizeof(codes[0]) * n);
	c->ncodes = n;
	return 0;
bad:
	err_set("status codes '%s': expected CODE or LO-HI (100-599), comma-separated", text);
	return -EINVAL;
}

/* A host name: letters, digits, '-', '.', 1..253 characters. */
static int host_ok(const char *s)
{
	size_t n = strnlen(s, HEALTH_HOST_MAX);

	if (n == 0 || n >= HEALTH_HOST_MAX)
		return 0;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return 0;
	}
	return 1;
}

/* A path: '/' then printable ASCII without spaces. */
static int path_ok(const char *s)
{
	size_t n = strnlen(s, HEALTH_PATH_MAX);

	if (n == 0 || n >= HEALTH_PATH_MAX || s[0] != '/')
		return 0;
	for (; *s; s++) {
		if (*s <= ' ' || *s > '~')
			return 0;
	}
	return 1;
}

int health_conf_check(const struct health_conf *c)
{
	unsigned int i;

	if (c->type < HEALTH_TCP || c->type > HEALTH_HTTPS) {
		err_set("health check: unknown type %d", (int)c->type);
		return -EINVAL;
	}
	if (!c->port) {
		err_set("health check: port 0 (give the backend's port)");
		return -EINVAL;
	}
	if (c->interval_ms < 10 || c->timeout_ms < 1) {
		err_set("health check: interval %u ms (>= 10) or timeout %u ms (>= 1) too small",
			c->interval_ms, c->timeout_ms);
		return -EINVAL;
	}
	if (c->rise < 1 || c->fall < 1 || c->rise > 1000 || c->fall > 1000) {
		err_set("health check: rise %u and fall %u must be 1..1000", c->rise, c->fall);
		return -EINVAL;
	}
	if (c->type == HEALTH_TCP)
		return 0;
	if (!path_ok(c->path)) {
		err_set("health check: path must start with '/' and hold no spaces or control "
			"characters");
		return -EINVAL;
	}
	if (c->host[0] && !host_ok(c->host)) {
		err_set("health check: host must be a name (letters, digits, '-', '.')");
		return -EINVAL;
	}
	if (strnlen(c->body, HEALTH_BODYSUB_MAX) >= HEALTH_BODYSUB_MAX) {
		err_set("health check: body substring longer than %d bytes",
			HEALTH_BODYSUB_MAX - 1);
		return -EINVAL;
	}
	if (c->ncodes > HEALTH_CODES_MAX) {
		err_set("health check: more than %d status ranges", HEALTH_CODES_MAX);
		return -EINVAL;
	}
	for (i = 0; i < c->ncodes; i++) {
		if (c->codes[i].lo < 100 || c->codes[i].hi > 599 ||
		    c->codes[i].lo > c->codes[i].hi) {
			err_set("health check: status range %u-%u (100-599)", c->codes[i].lo,
				c->codes[i].hi);
			return -EINVAL;
		}
	}
	return 0;
}

/* --- The schedule: a min-heap on check->when ---------------------------- */

static void heap_swap(struct health *h, size_t a, size_t b)
{
	struct check *t = h->heap[a];

	h->heap[a] = h->heap[b];
	h->heap[b] = t;
	h->heap[a]->heap_idx = a;
	h->heap[b]->heap_idx = b;
}

static void heap_fix(struct health *h, size_t i)
{
	size_t p, l, m;

	while (i > 0) {
		p = (i - 1) / 2;
		if (h->heap[p]->when <= h->heap[i]->when)
			break;
		heap_swap(h, i, p);
		i = p;
	}
	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < h->count && h->heap[l]->when < h->heap[m]->when)
			m = l;
		if (l + 1 < h->count && h->heap[l + 1]->when < h->heap[m]->when)
			m = l + 1;
		if (m == i)
			break;
		heap_swap(h, i, m);
		i = m;
	}
}

static void set_when(struct health *h, struct check *c, __u64 when)
{
	c->when = when;
	heap_fix(h, c->heap_idx);
}

/* --- Lookup: byid sorted by id ------------------------------------------ */

static size_t find_pos(const struct health *h, __u32 id)
{
	size_t lo = 0, hi = h->count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (h->byid[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct check *find(const struct health *h, __u32 id)
{
	size_t pos = find_pos(h, id);

	return pos < h->count && h->byid[pos]->id == id ? h->byid[pos] : NULL;
}

/* --- The timerfd ---------------------------------------------------------- */

static __u64 next_deadline(const struct health *h)
{
	__u64 t = h->ev.due;

	if (h->count && h->heap[0]->when < t)
		t = h->heap[0]->when;
	return t;
}

/* Arm the timerfd at the earliest deadline (absolute, CLOCK_MONOTONIC). */
static int rearm(struct health *h)
{
	return curlep_arm(&h->ev, next_deadline(h));
}

/* --- Results -------------------------------------------------------------- */

static void errno_why(int e, __u32 timeout_ms, char *why, size_t len)
{
	switch (e) {
	case ECONNREFUSED:
		snprintf(why, len, "connection refused");
		break;
	case ETIMEDOUT:
		snprintf(why, len, "timeout after %u ms", timeout_ms);
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
		snprintf(why, len, "no route");
		break;
	case ECONNRESET:
		snprintf(why, len, "connection reset");
		break;
	default:
		snprintf(why, len, "connect: %s", strerror(e));
		break;
	}
}

/*
 * A run of c ended at now with ok and why: update the machine and the
 * status, schedule the next run, report a transition. The callback runs
 * last: it may delete c.
 */
static void finish(struct health *h, struct check *c, int ok, const char *why, __u64 now)
{
	int changed;
	char reason[HEALTH_WHY_MAX];

	c->running = 0;
	changed = health_fsm_record(&c->fsm, ok, now);
	c->st.last_ok = ok;
	snprintf(c->st.why, sizeof(c->st.why), "%s", why);
	c->st.last_check_ms = now;
	c->st.last_duration_ms = (__u32)(now > c->started ? now - c->started : 0);
	c->st.checks++;
	if (!ok)
		c->st.checks_failed++;
	c->due = health_next_due(c->due, c->conf.interval_ms, now);
	set_when(h, c, c->due);
	if (!changed)
		return;
	snprintf(c->st.change_why, sizeof(c->st.change_why), "%s", why);
	snprintf(reason, sizeof(reason), "%s", why);
	if (h->on_change)
		h->on_change(h->ctx, c->id, c->fsm.up, reason);
}

/* Abandon a run in flight, reporting nothing. */
static void abandon(struct health *h, struct check *c)
{
	if (c->fd >= 0) {
		epoll_ctl(h->ev.epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	curlep_drop(&h->ev, &c->easy, &c->hdrs);
	free(c->body);
	c->body = NULL;
	c->body_len = 0;
	c->running = 0;
}

/* --- TCP ------------------------------------------------------------------ */

static void to_sockaddr(const struct health_conf *conf, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (addr_is_v4mapped(&conf->addr)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(conf->port);
		memcpy(&sin->sin_addr, &conf->addr.u8[12], 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(conf->port);
		memcpy(&sin6->sin6_addr, conf->addr.u8, 16);
		*len = sizeof(*sin6);
	}
}

/* Close a check's socket with a RST (no TIME_WAIT left on the checker, like HAProxy). */
static void tcp_close(struct health *h, struct check *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	epoll_ctl(h->ev.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c->fd);
	c->fd = -1;
}

static void tcp_done(struct health *h, struct check *c, int e, __u64 now)
{
	char why[HEALTH_WHY_MAX];

	if (c->fd >= 0)
		tcp_close(h, c);
	if (!e)
		snprintf(why, sizeof(why), "connected");
	else
		errno_why(e, c->conf.timeout_ms, why, sizeof(why));
	finish(h, c, !e, why, now);
}

static void tcp_start(struct health *h, struct check *c, __u64 now)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &c->ev };
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, e;

	to_sockaddr(&c->conf, &ss, &len);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		tcp_done(h, c, errno, now);
		return;
	}
	c->fd = fd;
	if (!connect(fd, (struct sockaddr *)&ss, len)) {
		tcp_done(h, c, 0, now);
		return;
	}
	e = errno;
	if (e != EINPROGRESS) {
		tcp_done(h, c, e, now);
		return;
	}
	if (epoll_ctl(h->ev.epfd, EPOLL_CTL_ADD, fd, &ev)) {
		tcp_done(h, c, errno, now);
		return;
	}
	set_when(h, c, now + c->conf.timeout_ms);
}

static void tcp_event(struct health *h, struct check *c, __u64 now)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (c->fd < 0 || !c->running)
		return;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len))
		e = errno;
	tcp_done(h, c, e, now);
}

/* --- HTTP over libcurl's multi socket interface ----------------------------- */

static size_t curl_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct check *c = userp;
	size_t n = size * nmemb, room;
	long code = 0;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	c->status = code;
	if (!c->conf.body[0]) {
		/* The status is what counts: cut the transfer now. */
		c->cut = 1;
		return 0;
	}
	room = HEALTH_BODY_MAX - c->body_len;
	if (n < room)
		room = n;
	if (room) {
		memcpy(c->body + c->body_len, data, room);
		c->body_len += room;
	}
	if (memmem(c->body, c->body_len, c->conf.body, strlen(c->conf.body))) {
		c->body_found = 1;
		c->cut = 1;
		return 0;
	}
	if (c->body_len == HEALTH_BODY_MAX) {
		c->cut = 1;
		return 0;
	}
	return n;
}

static int code_expected(const struct health_conf *conf, long code)
{
	unsigned int i;

	if (!conf->ncodes)
		return code >= 200 && code <= 399;
	for (i = 0; i < conf->ncodes; i++) {
		if (code >= conf->codes[i].lo && code <= conf->codes[i].hi)
			return 1;
	}
	return 0;
}

/* The verdict on a finished transfer. */
static int http_verdict(struct check *c, CURLcode rc, char *why, size_t len)
{
	long code = c->status, oserr = 0;
	int ok;

	if (!(rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && c->cut))) {
		switch (rc) {
		case CURLE_OPERATION_TIMEDOUT:
			errno_why(ETIMEDOUT, c->conf.timeout_ms, why, len);
			break;
		case CURLE_COULDNT_CONNECT:
		case CURLE_RECV_ERROR:
		case CURLE_SEND_ERROR:
			curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &oserr);
			if (oserr)
				errno_why((int)oserr, c->conf.timeout_ms, why, len);
			else
				snprintf(why, len, "HTTP: %s", curl_easy_strerror(rc));
			break;
		case CURLE_GOT_NOTHING:
			snprintf(why, len, "empty reply");
			break;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
			snprintf(why, len, "TLS: %s", curl_easy_strerror(rc));
			break;
		default:
			snprintf(why, len, "HTTP: %s", curl_easy_strerror(rc));
			break;
		}
		return 0;
	}
	if (!code)
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	ok = code_expected(&c->conf, code);
	if (!ok)
		snprintf(why, len, "HTTP %ld", code);
	else if (c->conf.body[0] && !c->body_found)
		snprintf(why, len, "body mismatch");
	else
		snprintf(why, len, "HTTP %ld", code);
	return ok && (!c->conf.body[0] || c->body_found);
}

static void http_done(struct health *h, struct check *c, CURLcode rc, __u64 now)
{
	char why[HEALTH_WHY_MAX];
	int ok = http_verdict(c, rc, why, sizeof(why));

	abandon(h, c);
	finish(h, c, ok, why, now);
}

/* Collect finished transfers. */
static void curl_reap(struct health *h, __u64 now)
{
	struct check *c;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->ev.multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		c = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		if (c)
			http_done(h, c, msg->data.result, now);
	}
}

/* The URL, and a connect-to redirection when a host name is given. */
static int http_setup(struct check *c, char *url, size_t urllen, char *conn, size_t connlen)
{
	const struct health_conf *conf = &c->conf;
	const char *scheme = conf->type == HEALTH_HTTPS ? "https" : "http";
	char a[ADDR_STRLEN], ab[ADDR_STRLEN + 2];
	int n;

	if (addr_format(&conf->addr, a, sizeof(a)))
		return -EINVAL;
	if (addr_is_v4mapped(&conf->addr))
		snprintf(ab, sizeof(ab), "%s", a);
	else
		snprintf(ab, sizeof(ab), "[%s]", a);
	conn[0] = '\0';
	if (conf->host[0]) {
		n = snprintf(url, urllen, "%s://%s:%u%s", scheme, conf->host, conf->port,
			     conf->path);
		if (n < 0 || (size_t)n >= urllen)
			return -ENAMETOOLONG;
		snprintf(conn, connlen, "%s:%u:%s:%u", conf->host, conf->port, ab, conf->port);
	} else {
		n = snprintf(url, urllen, "%s://%s:%u%s", scheme, ab, conf->port, conf->path);
		if (n < 0 || (size_t)n >= urllen)
			return -ENAMETOOLONG;
	}
	return 0;
}

static int http_start_easy(struct health *h, struct check *c)
{
	char url[HEALTH_HOST_MAX + HEALTH_PATH_MAX + ADDR_STRLEN + 32];
	char conn[HEALTH_HOST_MAX + ADDR_STRLEN + 32];
	CURL *e;
	long tmo = (long)c->conf.timeout_ms;
	long verify = c->conf.tls_verify ? 1 : 0;
	int err;

	err = http_setup(c, url, sizeof(url), conn, sizeof(conn));
	if (err)
		return err;
	if (c->conf.body[0]) {
		c->body = malloc(HEALTH_BODY_MAX);
		if (!c->body)
			return -ENOMEM;
	}
	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	c->easy = e;
	if (conn[0]) {
		c->hdrs = curl_slist_append(NULL, conn);
		if (!c->hdrs)
			return -ENOMEM;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, url) ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(e, CURLOPT_NOPROXY, "*") ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tmo) ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) ||
	    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) ||
	    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "sluice-health/1") ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify) ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L) ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curl_write_cb) ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, c) || curl_easy_setopt(e, CURLOPT_PRIVATE, c) ||
	    (c->hdrs && curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->hdrs)))
		return -EINVAL;
	if (curl_multi_add_handle(h->ev.multi, e))
		return -ENOMEM;
	return 0;
}

static void http_start(struct health *h, struct check *c, __u64 now)
{
	char why[HEALTH_WHY_MAX];
	int err;

	c->status = 0;
	c->cut = 0;
	c->body_found = 0;
	c->body_len = 0;
	err = http_start_easy(h, c);
	if (err) {
		abandon(h, c);
		snprintf(why, sizeof(why), "HTTP: cannot start: %s", strerror(-err));
		finish(h, c, 0, why, now);
		return;
	}
	/* curl ends the run by its own timeout; this only guards against it not doing so. */
	set_when(h, c, now + c->conf.timeout_ms + HTTP_GRACE_MS);
}

/* --- Checks --------------------------------------------------------------- */

static void start(struct health *h, struct check *c, __u64 now)
{
	c->running = 1;
	c->started = now;
	if (c->conf.type == HEALTH_TCP)
		tcp_start(h, c, now);
	else
		http_start(h, c, now);
}

/* Heap top is due: start it, or time out its run. */
static void run_due(struct health *h, __u64 now)
{
	struct check *c;

	while (h->count && h->heap[0]->when <= now) {
		c = h->heap[0];
		if (!c->running) {
			start(h, c, now);
		} else if (c->conf.type == HEALTH_TCP) {
			tcp_done(h, c, ETIMEDOUT, now);
		} else {
			abandon(h, c);
			finish(h, c, 0, "HTTP: no answer from libcurl", now);
		}
		/* A callback may have deleted checks; the loop re-reads the heap. */
	}
}

int health_new(struct health **out, health_change_fn on_change, void *ctx)
{
	struct health *h;
	int err;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	curlep_init(&h->ev);
	h->on_change = on_change;
	h->ctx = ctx;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(h);
		err_set("cannot initialize libcurl");
		return -ENOMEM;
	}
	err = curlep_open(&h->ev, HEV_TIMER, HEV_CURL, clock_mono_ms);
	if (err) {
		err_set("cannot set up health checks: %s", err_msg());
		health_free(h);
		return err;
	}
	*out = h;
	return 0;
	return err;
}

static void free_dead(struct health *h)
{
	struct check *c;

	while ((c = h->dead_checks)) {
		h->dead_checks = c->next_dead;
		free(c);
	}
	curlep_free_dead(&h->ev);
}

/* Unlink c from byid and the heap, stop its run, free it (or defer). */
static void remove_check(struct health *h, struct check *c)
{
	size_t pos = find_pos(h, c->id), i = c->heap_idx;

	abandon(h, c);
	memmove(&h->byid[pos], &h->byid[pos + 1], (h->count - pos - 1) * sizeof(h->byid[0]));
	h->count--;
	if (i != h->count) {
		h->heap[i] = h->heap[h->count];
		h->heap[i]->heap_idx = i;
		heap_fix(h, i);
	}
	c->ev.dead = 1;
	c->next_dead = h->dead_checks;
	h->dead_checks = c;
	if (!h->in_dispatch)
		free_dead(h);
}

void health_free(struct health *h)
{
	if (!h)
		return;
	while (h->count)
		remove_check(h, h->byid[h->count - 1]);
	curlep_close(&h->ev);
	free_dead(h);
	free(h->byid);
	free(h->heap);
	free(h);
	curl_global_cleanup();
}

int health_add(struct health *h, __u32 backend, const struct health_conf *conf)
{
	struct check **byid, **heap, *c;
	size_t pos, cap;
	__u64 now = clock_mono_ms();
	int err;

	err = health_conf_check(conf);
	if (err)
		return err;
	if (find(h, backend)) {
		err_set("backend %u already has a health check", backend);
		return -EEXIST;
	}
	if (h->count == h->cap) {
		cap = h->cap ? h->cap * 2 : 16;
		byid = realloc(h->byid, cap * sizeof(*byid));
		if (!byid)
			return -ENOMEM;
		h->byid = byid;
		heap = realloc(h->heap, cap * sizeof(*heap));
		if (!heap)
			return -ENOMEM;
		h->heap = heap;
		h->cap = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ev.kind = HEV_TCP;
	c->id = backend;
	c->conf = *conf;
	c->fd = -1;
	health_fsm_init(&c->fsm, conf->rise, conf->fall, conf->start_down, now);
	c->st.last_ok = -1;
	c->due = now + health_spread_ms(backend, conf->interval_ms);
	c->when = c->due;
	pos = find_pos(h, backend);
	memmove(&h->byid[pos + 1], &h->byid[pos], (h->count - pos) * sizeof(h->byid[0]));
	h->byid[pos] = c;
	c->heap_idx = h->count;
	h->heap[h->count++] = c;
	heap_fix(h, c->heap_idx);
	return rearm(h);
}

static int same_target(const struct health_conf *a, const struct health_conf *b)
{
	return a->type == b->type && !memcmp(&a->addr, &b->addr, sizeof(a->addr)) &&
	       a->port == b->port && !strcmp(a->path, b->path) && !strcmp(a->host, b->host) &&
	       !strcmp(a->body, b->body) && a->ncodes == b->ncodes &&
	       !memcmp(a->codes, b->codes, sizeof(a->codes[0]) * a->ncodes) &&
	       a->timeout_ms == b->timeout_ms && a->tls_verify == b->tls_verify;
}

int health_update(struct health *h, __u32 backend, const struct health_conf *conf)
{
	struct check *c;
	__u64 now = clock_mono_ms();
	int err;

	err = health_conf_check(conf);
	if (err)
		return err;
	c = find(h, backend);
	if (!c) {
		err_set("backend %u has no health check", backend);
		return -ENOENT;
	}
	if (c->running && !same_target(&c->conf, conf))
		abandon(h, c);
	health_fsm_retune(&c->fsm, conf->rise, conf->fall);
	if (conf->interval_ms != c->conf.interval_ms)
		c->due = now + health_spread_ms(backend, conf->interval_ms);
	c->conf = *conf;
	if (!c->running)
		set_when(h, c, c->due);
	return rearm(h);
}

int health_del(struct health *h, __u32 backend)
{
	struct check *c = find(h, backend);

	if (!c) {
		err_set("backend %u has no health check", backend);
		return -ENOENT;
	}
	remove_check(h, c);
	return rearm(h);
}

int health_status(const struct health *h, __u32 backend, struct health_status *st)
{
	const struct check *c = find(h, backend);

	if (!c)
		return -ENOENT;
	*st = c->st;
	st->up = c->fsm.up;
	st->successes = c->fsm.successes;
	st->failures = c->fsm.failures;
	st->since_ms = c->fsm.since_ms;
	return 0;
}

size_t health_count(const struct health *h)
{
	return h->count;
}

int health_fd(const struct health *h)
{
	return h->ev.epfd;
}

int health_dispatch(struct health *h, __u64 now)
{
	struct epoll_event evs[EV_BATCH];
	struct curlep_tag *hv;
	int n, i, err = 0;

	h->in_dispatch = 1;
	n = epoll_wait(h->ev.epfd, evs, EV_BATCH, 0);
	if (n < 0 && errno != EINTR) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < n; i++) {
		hv = evs[i].data.ptr;
		if (hv->dead)
			continue;
		switch (hv->kind) {
		case HEV_TIMER:
			err = curlep_timer_read(&h->ev);
			if (err)
				goto out;
			break;
		case HEV_TCP:
			tcp_event(h, (struct check *)hv, now);
			break;
		case HEV_CURL:
			curlep_event(&h->ev, hv, evs[i].events);
			curl_reap(h, now);
			break;
		}
	}
	run_due(h, now);
	/* curl's timer, also how it starts the transfers run_due() added. */
	curlep_timeout(&h->ev);
	curl_reap(h, now);
out:
	h->in_dispatch = 0;
	free_dead(h);
	if (!err)
		err = rearm(h);
	return err;
}
