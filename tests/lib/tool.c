// SPDX-License-Identifier: GPL-2.0-only
/* What the test tools' command lines and loops share (see tool.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sockaddr.h"
#include "tool.h"

volatile sig_atomic_t tool_stop;

int tool_long(const char *text, long min, long max, long *v)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (*end || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

int tool_sources(const char *prog, char *list, struct sockaddr_storage *srcs, socklen_t *lens,
		 char (*names)[INET6_ADDRSTRLEN], int max, int *n)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == max || sockaddr_parse(tok, 0, &srcs[*n], &lens[*n])) {
			fprintf(stderr, "%s: bad source address '%s'\n", prog, tok);
			return -1;
		}
		if (names)
			snprintf(names[*n], sizeof(names[0]), "%s", tok);
		(*n)++;
	}
	return 0;
}

static void on_stop(int sig)
{
	(void)sig;
	tool_stop = 1;
}

void tool_catch_stop(void)
{
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
}

long long tool_clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}
