// SPDX-License-Identifier: GPL-2.0-only
/*
 * notifyrecv: the systemd side of the notify protocol, for
 * tests/integration/test_notify.sh. Binds the datagram socket PATH (what
 * NOTIFY_SOCKET names), receives for SECONDS (or until SIGTERM) and prints
 * one line per field: "MS PID FIELD" (MS since start, PID the sender's from
 * SCM_CREDENTIALS, as systemd reads it).
 *
 *   notifyrecv PATH SECONDS [CTL_SOCKET [CMD ARG...]]
 *
 * With CTL_SOCKET, each READY=1 is checked the moment it arrives: the
 * sender is frozen (SIGSTOP), so what it did after READY=1 cannot help;
 * then a connect() to the Unix stream socket CTL_SOCKET (it is listening
 * even if its owner is stopped) and CMD (its exit status) decide, printed
 * as "MS PID SERVING=0|1" and "MS PID CHECK=RC"; then SIGCONT.
 * Exits 0 (the lines are the result), 2 on a usage or socket error.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

static long long start_us;

static long long ms(void)
{
	return (tool_clock_us(CLOCK_MONOTONIC) - start_us) / 1000;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "notifyrecv: path too long: %s\n", path);
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

static int serving(const char *path)
{
	struct sockaddr_un sa;
	int fd, ok;

	if (unix_addr(path, &sa))
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return ok;
}

static int run(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void check_ready(pid_t pid, const char *ctl, char **cmd)
{
	int up, rc = 0;

	if (pid <= 0 || kill(pid, SIGSTOP)) {
		printf("%lld %d SERVING=? (cannot stop the sender: %s)\n", ms(), (int)pid,
		       strerror(errno));
		return;
	}
	up = serving(ctl);
	if (cmd[0])
		rc = run(cmd);
	kill(pid, SIGCONT);
	printf("%lld %d SERVING=%d\n", ms(), (int)pid, up);
	if (cmd[0])
		printf("%lld %d CHECK=%d\n", ms(), (int)pid, rc);
}

int main(int argc, char **argv)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctrl;
	struct sockaddr_un sa;
	long seconds;
	int fd, one = 1;

	if (argc < 3 || tool_long(argv[2], 1, 600, &seconds)) {
		fprintf(stderr, "usage: notifyrecv PATH SECONDS [CTL_SOCKET [CMD ARG...]]\n");
		return 2;
	}
	if (unix_addr(argv[1], &sa))
		return 2;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "notifyrecv: cannot bind %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	tool_catch_stop();
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_us = tool_clock_us(CLOCK_MONOTONIC);
	while (!tool_stop && ms() < seconds * 1000) {
		char msg[4096], *line, *save = NULL;
		struct iovec iov = { msg, sizeof(msg) - 1 };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctrl.buf,
				     .msg_controllen = sizeof(ctrl.buf) };
		struct pollfd p = { fd, POLLIN, 0 };
		struct cmsghdr *c;
		pid_t pid = 0;
		int ready = 0;
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			continue;
		msg[n] = 0;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
				struct ucred cr;

				memcpy(&cr, CMSG_DATA(c), sizeof(cr));
				pid = cr.pid;
			}
		}
		for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			printf("%lld %d %s\n", ms(), (int)pid, line);
			ready |= !strcmp(line, "READY=1");
		}
		if (ready && argc > 3)
			check_ready(pid, argv[3], argv + 4);
	}
	close(fd);
	unlink(argv[1]);
	return 0;
}
