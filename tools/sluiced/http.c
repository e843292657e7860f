// SPDX-License-Identifier: GPL-2.0-only
/*
 * The metrics endpoint: a minimal HTTP/1.0 server for Prometheus, GET
 * /metrics only (404 otherwise, 405 for other methods). One request per
 * connection; non-blocking with a buffer and a deadline per connection,
 * like the control socket, so a slow scraper cannot stall the loop.
 * Listens on 127.0.0.1:9469 unless --metrics says ADDR:PORT ([ADDR6]:PORT)
 * or off.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "listener.h"
#include "metrics.h"
#include "sluiced.h"

#define HTTP_REQ_MAX 8192
#define HTTP_CONN_MAX 16
#define HTTP_DEADLINE_MS 5000

struct hconn {
	struct lconn lc; /* first */
	char req[HTTP_REQ_MAX + 1];
	size_t req_len;
	char *out;
	size_t out_len, out_off;
};

struct metrics_http {
	struct listener lis;
};

static void hconn_close(struct daemon *d, struct hconn *c)
{
	listener_drop(d, &d->http->lis, &c->lc);
}

static void hconn_free(struct lconn *lc)
{
	struct hconn *c = (struct hconn *)lc;

	free(c->out);
	free(c);
}

/* One response a connection: closed once it is sent (or the peer is gone). */
static void hconn_flush(struct daemon *d, struct hconn *c)
{
	if (listener_send(d, &c->lc, c->out, c->out_len, &c->out_off, EPOLLOUT))
		hconn_close(d, c);
}

static int backend_up(void *ctx, __u32 id)
{
	return checks_up(ctx, id);
}

static void respond(struct daemon *d, struct hconn *c, int status, const char *reason,
		    const char *ctype, const char *body, size_t len)
{
	char *head = NULL;
	int n;

	n = asprintf(&head,
		     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     status, reason, ctype, len);
	if (n < 0) {
		hconn_close(d, c);
		return;
	}
	c->out = malloc((size_t)n + len);
	if (!c->out) {
		free(head);
		hconn_close(d, c);
		return;
	}
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, body, len);
	c->out_len = (size_t)n + len;
	free(head);
	hconn_flush(d, c);
}

static void serve(struct daemon *d, struct hconn *c)
{
	struct metrics_source src = {
		.backend_up = backend_up,
		.ctx = d,
		.daemon = 1,
		.commands = d->commands,
		.commands_failed = d->commands_failed,
	};
	char method[16] = "", path[256] = "";
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	c->req[c->req_len] = '\0';
	if (sscanf(c->req, "%15s %255s", method, path) != 2) {
		respond(d, c, 400, "Bad Request", "text/plain", "bad request\n", 12);
		return;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		respond(d, c, 405, "Method Not Allowed", "text/plain", "GET /metrics\n", 13);
		return;
	}
	if (strcmp(path, "/metrics") && strncmp(path, "/metrics?", 9)) {
		respond(d, c, 404, "Not Found", "text/plain", "try /metrics\n", 13);
		return;
	}
	f = open_memstream(&body, &len);
	if (!f) {
		respond(d, c, 500, "Internal Server Error", "text/plain", "out of memory\n", 14);
		return;
	}
	err = metrics_render(&d->maps, &src, f);
	if (!err) {
		breakers_metrics(d, f);
		cluster_metrics(d, f);
		bgp_metrics(d, f);
	}
	fclose(f);
	if (err) {
		log_warn("metrics: %s", err_msg());
		respond(d, c, 500, "Internal Server Error", "text/plain", err_msg(),
			strlen(err_msg()));
	} else {
		respond(d, c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body,
			strcmp(method, "HEAD") ? len : 0);
	}
	free(body);
}

static void on_hconn(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct hconn *c = (struct hconn *)src;
	ssize_t n;

	if (c->lc.dead)
		return;
	if (c->out) {
		if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			hconn_flush(d, c);
		return;
	}
	n = recv(c->lc.src.fd, c->req + c->req_len, HTTP_REQ_MAX - c->req_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		hconn_close(d, c);
		return;
	}
	c->req_len += (size_t)n;
	c->req[c->req_len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		serve(d, c);
	else if (c->req_len >= HTTP_REQ_MAX)
		respond(d, c, 431, "Request Header Fields Too Large", "text/plain", "too large\n",
			10);
}

void http_expire(struct daemon *d, __u64 now_ms)
{
	if (d->http)
		listener_expire(d, &d->http->lis, now_ms);
}

/* "ADDR:PORT" or "[ADDR6]:PORT" into ss. */
static int parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon;
	char *end;
	unsigned long port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		n = (size_t)(rb - text - 1);
		colon = rb + 1;
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, n);
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - text);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, n);
	}
	host[n] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || port > 65535)
		return -EINVAL;
	if (text[0] != '[') {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((__u16)port);
		*len = sizeof(*s4);
		return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -EINVAL;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((__u16)port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
}

int http_open(struct daemon *d)
{
	struct sockaddr_storage ss;
	struct metrics_http *h;
	socklen_t len = 0;
	int err;

	if (!*d->metrics || !strcmp(d->metrics, "off"))
		return 0;
	if (parse_listen(d->metrics, &ss, &len)) {
		log_err("--metrics %s: expected ADDR:PORT or [ADDR6]:PORT, e.g. %s", d->metrics,
			SLUICED_METRICS_DEFAULT);
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->lis = (struct listener){
		.listen.fd = -1,
		.max = HTTP_CONN_MAX,
		.size = sizeof(struct hconn),
		.deadline_ms = HTTP_DEADLINE_MS,
		.on_conn = on_hconn,
		.free_conn = hconn_free,
	};
	d->http = h;
	err = listener_open(&h->lis, (struct sockaddr *)&ss, len, 16);
	if (err)
		goto fail;
	err = loop_add(d, &h->lis.listen, EPOLLIN);
	if (err)
		return err;
	log_info("metrics on http://%s/metrics", d->metrics);
	return 0;
fail:
	log_err("cannot listen for metrics on %s: %s", d->metrics, strerror(-err));
	return err;
}

void http_close(struct daemon *d)
{
	struct metrics_http *h = d->http;

	if (!h)
		return;
	listener_close(d, &h->lis);
	free(h);
	d->http = NULL;
}
