// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctlflood: misbehaving clients of sluiced's control socket, for
 * tests/integration/test_control.sh (issue 13 F8).
 *
 *   ctlflood flood SOCK SECONDS    pipeline {"op":"ping"} requests and never
 *                                  read a reply, until the daemon cuts the
 *                                  connection or SECONDS pass
 *     -> {"sent": BYTES, "cut": true|false, "cut_ms": MS}
 *   ctlflood stall SOCK SECONDS    subscribe, never read, wait for the daemon
 *                                  to drop the connection
 *     -> {"dropped": true|false, "dropped_ms": MS}
 *   ctlflood subs SOCK N SECONDS   N subscribers that read (idle ones: they
 *                                  take what comes), held SECONDS or until
 *                                  SIGTERM; "ready" on stderr once all had
 *                                  their first reply line
 *     -> {"subscribed": K, "refused": M, "lines": L} (L: lines received by all,
 *        the backlog and the "live" line included)
 *   ctlflood hold SOCK N SECONDS   N connections that say nothing, held
 *                                  SECONDS; "ready" on stderr after 1 s
 *     -> {"held": K, "refused": M} (refused: closed by the daemon within 1 s)
 *
 * Bounded: SECONDS <= 120, N <= 1000. Exits 0 (the result is the JSON), 2
 * on a usage error, 1 when the socket cannot be reached.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int flood(const char *path, int secs)
{
	static char buf[64 * 1024];
	const char req[] = "{\"op\":\"ping\"}\n";
	long long start = now_ms(), end = start + secs * 1000LL, cut = -1, sent = 0;
	size_t n = sizeof(buf) / (sizeof(req) - 1) * (sizeof(req) - 1), i;
	int fd = connect_to(path);

	if (fd < 0)
		return 1;
	for (i = 0; i < n; i += sizeof(req) - 1)
		memcpy(buf + i, req, sizeof(req) - 1);
	while (now_ms() < end && cut < 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t w;

		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			break;
		if (p.revents & (POLLHUP | POLLERR)) {
			cut = now_ms() - start;
			break;
		}
		if (!(p.revents & POLLOUT))
			continue;
		/* Whole requests only, as a client would write them. */
		w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			sent += w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			cut = now_ms() - start;
	}
	printf("{\"sent\": %lld, \"cut\": %s, \"cut_ms\": %lld}\n", sent,
	       cut >= 0 ? "true" : "false", cut);
	close(fd);
	return 0;
}

static int stall(const char *path, int secs)
{
	const char req[] = "{\"op\":\"subscribe\"}\n";
	long long start = now_ms(), end = start + secs * 1000LL, dropped = -1;
	int fd = connect_to(path);

	if (fd < 0 || send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
		return 1;
	/* Never read: only wait for the daemon to hang up. */
	while (now_ms() < end && !stop) {
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };

		if (poll(&p, 1, 100) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR))) {
			dropped = now_ms() - start;
			break;
		}
	}
	printf("{\"dropped\": %s, \"dropped_ms\": %lld}\n", dropped >= 0 ? "true" : "false",
	       dropped);
	close(fd);
	return 0;
}

static int subs(const char *path, int n, int secs)
{
	const char req[] = "{\"op\":\"subscribe\"}\n";
	long long end = now_ms() + secs * 1000LL;
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	int *state = calloc((size_t)n, sizeof(*state)); /* 0 waiting, 1 subscribed, 2 refused */
	int i, k = 0, refused = 0, answered = 0;
	long long lines = 0;
	static char buf[64 * 1024];

	if (!p || !state)
		return 1;
	for (i = 0; i < n; i++) {
		p[i].fd = connect_to(path);
		p[i].events = POLLIN;
		if (p[i].fd < 0 ||
		    send(p[i].fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
			return 1;
	}
	while (now_ms() < end && !stop) {
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			ssize_t r;

			if (!p[i].revents)
				continue;
			r = recv(p[i].fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
			if (r <= 0) {
				p[i].fd = -1; /* closed: poll ignores it */
				continue;
			}
			buf[r] = '\0';
			for (char *c = buf; (c = memchr(c, '\n', (size_t)(buf + r - c))); c++)
				lines++;
			if (state[i])
				continue;
			/* A refusal is a reply line with "rc"; records and "live" have none. */
			state[i] = strstr(buf, "\"rc\"") ? 2 : 1;
			if (state[i] == 1)
				k++;
			else
				refused++;
			if (++answered == n)
				fprintf(stderr, "ready\n");
		}
	}
	printf("{\"subscribed\": %d, \"refused\": %d, \"lines\": %lld}\n", k, refused, lines);
	return 0;
}

static int hold(const char *path, int n, int secs)
{
	long long end = now_ms() + secs * 1000LL;
	int *fd = calloc((size_t)n, sizeof(*fd)), i, held = 0;
	char c;

	if (!fd)
		return 1;
	for (i = 0; i < n; i++)
		fd[i] = connect_to(path);
	usleep(1000 * 1000);
	/* A refused connection got a line and the close; a held one has nothing to read. */
	for (i = 0; i < n; i++)
		held += fd[i] >= 0 && recv(fd[i], &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
	fprintf(stderr, "ready\n");
	while (now_ms() < end && !stop)
		usleep(100 * 1000);
	printf("{\"held\": %d, \"refused\": %d}\n", held, n - held);
	return 0;
}

int main(int argc, char **argv)
{
	int secs;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (argc == 4 && !strcmp(argv[1], "flood") && (secs = atoi(argv[3])) > 0 && secs <= 120)
		return flood(argv[2], secs);
	if (argc == 4 && !strcmp(argv[1], "stall") && (secs = atoi(argv[3])) > 0 && secs <= 120)
		return stall(argv[2], secs);
	if (argc == 5 && !strcmp(argv[1], "subs") && atoi(argv[3]) > 0 && atoi(argv[3]) <= 1000 &&
	    (secs = atoi(argv[4])) > 0 && secs <= 120)
		return subs(argv[2], atoi(argv[3]), secs);
	if (argc == 5 && !strcmp(argv[1], "hold") && atoi(argv[3]) > 0 && atoi(argv[3]) <= 1000 &&
	    (secs = atoi(argv[4])) > 0 && secs <= 120)
		return hold(argv[2], atoi(argv[3]), secs);
	fprintf(stderr, "usage: ctlflood flood SOCK SECONDS | stall SOCK SECONDS | "
			"subs SOCK N SECONDS | hold SOCK N SECONDS\n");
	return 2;
}
