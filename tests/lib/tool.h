/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the test tools' command lines and loops share (connloop, hold,
 * conns, synsend, brkpoll, ...): bounded numbers, source address lists,
 * a stop flag for SIGTERM/SIGINT and microsecond clocks.
 */
#ifndef SLUICE_TEST_TOOL_H
#define SLUICE_TEST_TOOL_H

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

/* text as a whole decimal number in [min, max]: 0 and *v, or -1. */
int tool_long(const char *text, long min, long max, long *v);

/*
 * The addresses of list (ADDR[,ADDR...], cut up in place) appended to
 * srcs/lens, at most max in all (*n so far); names, when not NULL, gets
 * each one's text. 0, or -1 after "PROG: bad source address 'X'".
 */
int tool_sources(const char *prog, char *list, struct sockaddr_storage *srcs, socklen_t *lens,
		 char (*names)[INET6_ADDRSTRLEN], int max, int *n);

/* Set by SIGTERM and SIGINT once tool_catch_stop() ran. */
extern volatile sig_atomic_t tool_stop;
void tool_catch_stop(void);

/* Clock id (CLOCK_REALTIME, CLOCK_MONOTONIC) in microseconds. */
long long tool_clock_us(clockid_t id);

#endif /* SLUICE_TEST_TOOL_H */
