// SPDX-License-Identifier: GPL-2.0-only
/* What the test tools' command lines and loops share (see tool.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

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

/* argv[*i] against opts: 1 (taken, *i at its last word), 0 (not in opts) or -1 (bad value). */
static int option_one(int argc, char **argv, int *i, const struct tool_opt *opts)
{
	const struct tool_opt *o;

	for (o = opts; o->name && strcmp(o->name, argv[*i]); o++)
		;
	if (!o->name)
		return 0;
	if (o->flag) {
		*o->flag = 1;
		return 1;
	}
	if (*i + 1 == argc)
		return -1;
	++*i;
	if (o->text)
		*o->text = argv[*i];
	else if (tool_long(argv[*i], o->min, o->max, o->num))
		return -1;
	return 1;
}

int tool_options(int argc, char **argv, int first, const struct tool_opt *opts)
{
	int i;

	for (i = first; i < argc && argv[i][0] == '-'; i++)
		if (option_one(argc, argv, &i, opts) != 1)
			return -1;
	return i;
}

void tool_client_args(const char *prog, const char *usage, int argc, char **argv, long max_count,
		      const struct tool_opt *opts, struct tool_client *cl)
{
	char *src_list = NULL;
	const struct tool_opt common[] = {
		{ .name = "-s", .text = &src_list },
		{ .name = "-t", .num = &cl->timeout_ms, .min = 1, .max = 60000 },
		{ 0 },
	};
	int first = max_count ? 4 : 3, i, r = 1;

	cl->nsrc = 0;
	if (argc < first || (max_count && tool_long(argv[3], 1, max_count, &cl->count)))
		r = -1;
	for (i = first; i < argc && r == 1; i++) {
		r = option_one(argc, argv, &i, common);
		if (!r)
			r = option_one(argc, argv, &i, opts);
	}
	if (r != 1 || tool_dest(prog, argv[1], argv[2], &cl->dst, &cl->dlen) ||
	    (src_list && tool_sources(prog, src_list, cl->srcs, cl->slens, cl->src_names,
				      TOOL_MAX_SRCS, &cl->nsrc))) {
		fprintf(stderr, "usage: %s\n", usage);
		exit(2);
	}
}

const struct sockaddr_storage *tool_client_src(const struct tool_client *cl, unsigned long i,
					       socklen_t *len)
{
	if (!cl->nsrc) {
		*len = 0;
		return NULL;
	}
	*len = cl->slens[i % cl->nsrc];
	return &cl->srcs[i % cl->nsrc];
}

int tool_dest(const char *prog, const char *addr, const char *port, struct sockaddr_storage *dst,
	      socklen_t *dlen)
{
	long p;

	if (tool_long(port, 1, 65535, &p)) {
		fprintf(stderr, "%s: bad port '%s'\n", prog, port);
		return -1;
	}
	if (sockaddr_parse(addr, (unsigned short)p, dst, dlen)) {
		fprintf(stderr, "%s: bad address '%s'\n", prog, addr);
		return -1;
	}
	return 0;
}

/* The MAC address of interface ifname into mac; 0 or -errno. */
static int own_mac(const char *ifname, unsigned char *mac)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

void tool_gen_args(const char *prog, const char *usage, int argc, char **argv, struct tool_gen *g)
{
	char *tok, *save = NULL, *end;
	long dport;

	if (argc < 7) {
		fprintf(stderr, "usage: %s\n", usage);
		exit(2);
	}
	memset(g, 0, sizeof(*g));
	g->ifindex = (int)if_nametoindex(argv[1]);
	if (!g->ifindex || own_mac(argv[1], g->smac) ||
	    sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &g->dmac[0], &g->dmac[1], &g->dmac[2],
		   &g->dmac[3], &g->dmac[4], &g->dmac[5]) != 6 ||
	    inet_pton(AF_INET, argv[3], &g->src) != 1) {
		fprintf(stderr, "%s: bad interface, MAC or source address\n", prog);
		exit(2);
	}
	for (tok = strtok_r(argv[4], ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (g->ndst == TOOL_MAX_DSTS || inet_pton(AF_INET, tok, &g->dst[g->ndst]) != 1) {
			fprintf(stderr, "%s: bad destination '%s' (at most %d)\n", prog, tok,
				TOOL_MAX_DSTS);
			exit(2);
		}
		g->ndst++;
	}
	g->seconds = strtod(argv[6], &end);
	if (!g->ndst || tool_long(argv[5], 1, 65535, &dport) || *end || !(g->seconds > 0) ||
	    g->seconds > TOOL_GEN_MAX_SECONDS) {
		fprintf(stderr, "%s: DST[,DST...], DPORT 1..65535, SECONDS (0, %d]\n", prog,
			TOOL_GEN_MAX_SECONDS);
		exit(2);
	}
	g->dport = (unsigned short)dport;
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

int tool_connect(const struct sockaddr_storage *dst, socklen_t dlen,
		 const struct sockaddr_storage *src, socklen_t slen, int reuse, int *fd)
{
	int one = 1;

	*fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (reuse)
		setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (src && bind(*fd, (const struct sockaddr *)src, slen))
		return -errno;
	if (connect(*fd, (const struct sockaddr *)dst, dlen) && errno != EINPROGRESS)
		return -errno;
	return 0;
}

int tool_connect_error(int fd)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return errno;
	return soerr;
}

void tool_close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

char *tool_http_backend(char *buf, int line_end)
{
	char *p = strstr(buf, "\r\n\r\n");

	p = p ? strstr(p, "backend-") : NULL;
	if (!p || (line_end && !strchr(p, '\n')))
		return NULL;
	p[strcspn(p, "\r\n")] = '\0';
	return p;
}

void tool_tally_add(struct tool_tally *t, const char *name)
{
	int j;

	for (j = 0; j < t->n && strcmp(t->e[j].name, name); j++)
		;
	if (j == t->n && t->n < TOOL_MAX_NAMES) {
		snprintf(t->e[j].name, TOOL_NAME_LEN, "%s", name);
		t->e[j].count = 0;
		t->n++;
	}
	if (j < t->n)
		t->e[j].count++;
}

void tool_tally_print(const struct tool_tally *t, FILE *f)
{
	int j;

	for (j = 0; j < t->n; j++)
		fprintf(f, ", \"%s\": %lu", t->e[j].name, t->e[j].count);
}
