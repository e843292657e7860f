// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One HTTP exchange of the etcd client (etcd_int.h): a POST to an
 * endpoint on the client's curl multi handle, its answer gathered in a buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "curlep.h"
#include "etcd_int.h"

/* --- Transfers --------------------------------------------------------------- */

static size_t curl_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t n = size * nmemb, cap;
	char *b;

	if (x->len + n > ANSWER_MAX)
		return 0; /* cut: CURLE_WRITE_ERROR */
	if (x->len + n + 1 > x->cap) {
		cap = x->cap ? x->cap : 4096;
		while (cap < x->len + n + 1)
			cap *= 2;
		b = realloc(x->buf, cap);
		if (!b)
			return 0;
		x->buf = b;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

/* A dead peer is noticed after idle + KEEPALIVE_CNT probes, data unacked as soon. */
static int curl_sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	struct etcd *e = clientp;
	int cnt = KEEPALIVE_CNT;
	unsigned int ut;
	__u32 s = (e->timeout_ms + 999) / 1000;

	(void)purpose;
	ut = (s + KEEPALIVE_CNT * s) * 1000;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	return CURL_SOCKOPT_OK;
}

/* Stop a transfer (if running), keeping nothing but ep. */
void etcd_xfer_stop(struct etcd *e, struct xfer *x)
{
	curlep_drop(&e->ev, &x->easy, &x->hdrs);
	x->len = 0;
	x->done = 0;
	x->sent = 0;
}

void etcd_xfer_free(struct etcd *e, struct xfer *x)
{
	etcd_xfer_stop(e, x);
	free(x->buf);
	x->buf = NULL;
	x->cap = 0;
}

/*
 * Start a POST of body to path on endpoint ep. total_ms: the transfer's
 * whole time (0: none, a stream or a campaign).
 */
int etcd_xfer_start(struct etcd *e, struct xfer *x, int ep, const char *path, const char *body,
		    __u32 total_ms)
{
	char url[512], auth[1024];
	struct curl_slist *h;
	long idle = (long)((e->timeout_ms + 999) / 1000);
	long conn = (long)e->connect_ms;
	CURL *c;

	etcd_xfer_stop(e, x);
	x->ep = ep;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", e->eps[ep].url, path) >= sizeof(url))
		return -ENAMETOOLONG;
	if (total_ms && conn > (long)total_ms)
		conn = (long)total_ms;
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	x->easy = c;
	h = curl_slist_append(NULL, "Content-Type: application/json");
	x->hdrs = h;
	/* No "Expect: 100-continue" round trip. */
	h = h ? curl_slist_append(h, "Expect:") : NULL;
	if (h && e->token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		h = curl_slist_append(h, auth);
	}
	/*
	 * etcd refuses requests and ends streams on a member that lost its
	 * leader (WithRequireLeader): they move to a member that has one
	 * instead of hanging until etcd's own timeout.
	 */
	if (h)
		h = curl_slist_append(h, "Grpc-Metadata-hasleader: true");
	if (!h)
		return -ENOMEM;
	if (curl_easy_setopt(c, CURLOPT_URL, url) ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(c, CURLOPT_NOPROXY, "*") ||
	    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice-etcd/1") ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs) ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)total_ms) ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, idle) ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, idle) ||
	    curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, curl_sockopt_cb) ||
	    curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, e) ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write_cb) ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, x) || curl_easy_setopt(c, CURLOPT_PRIVATE, x) ||
	    (e->cacert && curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert)) ||
	    (e->cert && curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert)) ||
	    (e->key && curl_easy_setopt(c, CURLOPT_SSLKEY, e->key)))
		return -EINVAL;
	if (curl_multi_add_handle(e->ev.multi, c))
		return -ENOMEM;
	return 0;
}

/* A finished transfer: note how it ended and let curl go of it; the buffer stays. */
void etcd_xfer_finish(struct etcd *e, struct xfer *x, CURLcode rc)
{
	long connected = 0;

	x->rc = rc;
	x->http = 0;
	x->oserr = 0;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->http);
	curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &x->oserr);
	curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &connected);
	x->sent = connected > 0;
	curlep_drop(&e->ev, &x->easy, &x->hdrs);
	x->done = 1;
}

/* "http://...: Couldn't connect to server (Connection refused)". */
void etcd_xfer_why(const struct etcd *e, const struct xfer *x, char *msg, size_t len)
{
	const char *url = x->ep >= 0 ? e->eps[x->ep].url : "?";

	if (x->oserr)
		snprintf(msg, len, "%s: %s (%s)", url, curl_easy_strerror(x->rc),
			 strerror((int)x->oserr));
	else
		snprintf(msg, len, "%s: %s", url, curl_easy_strerror(x->rc));
}
