/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the test tools' command lines and loops share (connloop, hold,
 * conns, synsend, brkpoll, ...): bounded numbers, option tables, source
 * address lists, a stop flag for SIGTERM/SIGINT, microsecond clocks, and
 * the HTTP clients' connect, answer parsing and backend tally.
 */
#ifndef SLUICE_TEST_TOOL_H
#define SLUICE_TEST_TOOL_H

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

/* text as a whole decimal number in [min, max]: 0 and *v, or -1. */
int tool_long(const char *text, long min, long max, long *v);

/*
 * One option of a tool's command line, in a table ended by a NULL name: a
 * flag (sets *flag to 1), a whole number in [min, max] (into *num) or a
 * text (into *text).
 */
struct tool_opt {
	const char *name; /* "-d" */
	int *flag;
	long *num;
	long min, max;
	char **text;
};

/*
 * The options in argv[first..argc) against opts, up to the first word that
 * does not start with '-': that word's index (argc when there is none), or
 * -1 (an unknown option, a missing or bad value).
 */
int tool_options(int argc, char **argv, int first, const struct tool_opt *opts);

#define TOOL_MAX_SRCS 16

/*
 * The command line the HTTP clients (connloop, hold, conns) share:
 *   ADDR PORT [COUNT] [-s SRC[,SRC...]] [-t TIMEOUT_MS] [their own options]
 */
struct tool_client {
	struct sockaddr_storage dst; /* ADDR PORT */
	socklen_t dlen;
	struct sockaddr_storage srcs[TOOL_MAX_SRCS]; /* -s, used round-robin */
	socklen_t slens[TOOL_MAX_SRCS];
	char src_names[TOOL_MAX_SRCS][INET6_ADDRSTRLEN];
	int nsrc;
	long count;	 /* COUNT in [1, max_count], when max_count is not 0 */
	long timeout_ms; /* -t in [1, 60000]; what the caller set when absent */
};

/*
 * argv into *cl and opts; on a usage error, exits 2 after "usage: USAGE"
 * (and what was wrong, for a bad address or port).
 */
void tool_client_args(const char *prog, const char *usage, int argc, char **argv, long max_count,
		      const struct tool_opt *opts, struct tool_client *cl);

/* Connection i's source address (round-robin) and *len; NULL when -s was not given. */
const struct sockaddr_storage *tool_client_src(const struct tool_client *cl, unsigned long i,
					       socklen_t *len);

/* ADDR and PORT (text) into *dst: 0, or -1 after "PROG: bad address/port 'X'". */
int tool_dest(const char *prog, const char *addr, const char *port, struct sockaddr_storage *dst,
	      socklen_t *dlen);

#define TOOL_MAX_DSTS 16

/*
 * The frame generators' command line (livegen, ppsgen):
 *   IFNAME DSTMAC SRC DST[,DST...] DPORT SECONDS [their own arguments]
 * IPv4 only: the frames are built by hand.
 */
struct tool_gen {
	int ifindex;	       /* IFNAME */
	unsigned char dmac[6]; /* DSTMAC */
	unsigned char smac[6]; /* IFNAME's own */
	struct in_addr src;    /* SRC */
	struct in_addr dst[TOOL_MAX_DSTS];
	int ndst;
	unsigned short dport; /* host order */
	double seconds;	      /* in (0, TOOL_GEN_MAX_SECONDS] */
};

#define TOOL_GEN_MAX_SECONDS 30

/*
 * argv[1..6] into *g; with fewer than 7 words exits 2 after "usage: USAGE",
 * on a bad one after saying which.
 */
void tool_gen_args(const char *prog, const char *usage, int argc, char **argv, struct tool_gen *g);

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

/*
 * A non-blocking TCP socket into *fd (-1 if none), bound to src when not
 * NULL (with SO_REUSEADDR when reuse), connecting to dst: 0 (connected or
 * in progress), or -errno (the caller closes *fd when it is >= 0).
 */
int tool_connect(const struct sockaddr_storage *dst, socklen_t dlen,
		 const struct sockaddr_storage *src, socklen_t slen, int reuse, int *fd);

/* The error a non-blocking connect() on fd ended with: 0 when it is connected. */
int tool_connect_error(int fd);

/* Close fd with a RST (SO_LINGER 0): no TIME_WAIT, the 5-tuple can be used again. */
void tool_close_rst(int fd);

/*
 * The backend's name the lab's nginx answers ("backend-I", in the body after
 * the headers) in the NUL-ended HTTP answer buf, cut at its line's end; NULL
 * when it is not there yet (when line_end, until its line has ended).
 */
char *tool_http_backend(char *buf, int line_end);

#define TOOL_NAME_LEN 32
#define TOOL_MAX_NAMES 64

/* How many answers each backend gave, by name, in the order first seen. */
struct tool_tally {
	int n;
	struct {
		char name[TOOL_NAME_LEN];
		unsigned long count;
	} e[TOOL_MAX_NAMES];
};

/* One more answer from name (names beyond TOOL_MAX_NAMES are not counted). */
void tool_tally_add(struct tool_tally *t, const char *name);

/* Each name as `, "NAME": COUNT`, to end a JSON object that has other members. */
void tool_tally_print(const struct tool_tally *t, FILE *f);

#endif /* SLUICE_TEST_TOOL_H */
