/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VIPs announced over BGP by BIRD 2: the bgp section's settings
 * (struct bird_conf, filled by the config parser), the include file sluiced
 * owns (bird_render(): pure text, BIRD 2 syntax), and BIRD's control socket
 * (bird_cmd(): one command, its reply; bird_configure(); the parsers of
 * its replies). The operator's main bird.conf includes the rendered file;
 * sluiced never edits that main file.
 *
 * What the include holds: tables sluice4 and sluice6 of its own (so the
 * VIPs' routes never reach the gateway's kernel table through the
 * operator's kernel protocol), a static protocol per family with one
 * blackhole route per VIP announced now (communities as route
 * attributes), a bfd protocol when a peer asks for BFD, and one bgp
 * protocol per peer (import none; export: the VIPs that peer may carry,
 * every one this file could hold, so the filter does not change when a VIP
 * is withdrawn and BIRD only replays the static protocol). A VIP goes to
 * the peers of its family (IPv4 VIPs over IPv4 sessions, IPv6 over IPv6).
 */
#ifndef SLUICE_BIRD_H
#define SLUICE_BIRD_H

#include <limits.h>
#include <stddef.h>
#include <linux/types.h>

#include "sluice_abi.h"

#define BIRD_SOCKET_DEFAULT "/run/bird/bird.ctl"
#define BIRD_INCLUDE_DEFAULT "/run/sluice/bird-sluice.conf"
#define BIRD_STATUS_FILE "bgp.json" /* sluiced's BGP status beside its socket (bgp show) */
#define BIRD_PEERS_MAX 16
#define BIRD_VIPS_MAX 64
#define BIRD_PREFIXES_MAX 16
#define BIRD_COMMS_MAX 8
#define BIRD_NAME_MAX 24 /* peer name, NUL included: letters, digits, '_' */
#define BIRD_BFD_INTERVAL_MS 100u
#define BIRD_BFD_MULTIPLIER 3u
#define BIRD_TIMEOUT_MS 2000 /* one command on the control socket */
#define BIRD_PROTO_PREFIX "sluice_"

/* A BGP community: standard (a:b, 16 bits each) or large (a:b:c, 32 bits each). */
struct bird_comm {
	__u32 a, b, c;
	int large;
};

/* An address prefix; len counts bits of the 16-byte form (IPv4: 96 + length). */
struct bird_prefix {
	union sluice_addr addr;
	__u32 len;
};

struct bird_peer {
	char name[BIRD_NAME_MAX];
	union sluice_addr addr;
	__u32 asn;
	int bfd; /* 1 on, 0 off */
};

/* A VIP listed in the section, or (announce all) a service address. */
struct bird_vip {
	union sluice_addr addr;
	__u32 peers; /* bit i: peers[i] may carry it; 0: every peer */
	size_t ncomms;
	struct bird_comm comms[BIRD_COMMS_MAX]; /* besides the section's */
};

struct bird_conf {
	int enabled; /* the file has a bgp section */
	__u32 asn;
	union sluice_addr router_id;		/* IPv4 */
	char socket[108];			/* BIRD's control socket */
	char include[PATH_MAX];			/* the file sluiced writes */
	union sluice_addr next_hop4, next_hop6; /* all zero: next hop self */
	int bfd;				/* default of the peers */
	__u32 drain_on_stop_s; /* SIGTERM drains first, for at most this long (0: off) */
	__u32 bfd_interval_ms, bfd_multiplier;
	size_t ncomms;
	struct bird_comm comms[BIRD_COMMS_MAX]; /* on every VIP */
	size_t nprefixes;
	struct bird_prefix prefixes[BIRD_PREFIXES_MAX]; /* a VIP must lie in one */
	size_t npeers;
	struct bird_peer peers[BIRD_PEERS_MAX];
	int all; /* announce every nat/ipip service address (no vips list) */
	size_t nvips;
	struct bird_vip vips[BIRD_VIPS_MAX];
};

/* Defaults: disabled, socket and include at their defaults, BFD off, 100 ms x 3, all. */
void bird_conf_init(struct bird_conf *c);

/* 1 when a and b configure the same (what a config dump must carry over). */
int bird_conf_equal(const struct bird_conf *a, const struct bird_conf *b);

/* "65000:100" or "65000:1:2". 0 or -EINVAL (message set). */
int bird_comm_parse(const char *text, struct bird_comm *out);

/* 1 when addr lies in p. */
int bird_prefix_contains(const struct bird_prefix *p, const union sluice_addr *addr);

/* 1 when name suits a peer (and a BIRD protocol name): [A-Za-z][A-Za-z0-9_]*, < BIRD_NAME_MAX. */
int bird_peer_name_ok(const char *name);

/* The peer i's protocol name ("sluice_NAME") into buf. */
void bird_proto_name(const struct bird_conf *c, size_t i, char *buf, size_t len);

/*
 * The include file for conf: vips[0..n) are the VIPs this file could hold
 * (the export filters list them), up[i] says whether vips[i] is announced
 * now (a static route). A malloc'ed string, or NULL (message set).
 */
char *bird_render(const struct bird_conf *c, const struct bird_vip *vips, const __u8 *up, size_t n);

/*
 * A reply on the control socket: lines "CODE-text" (more follow), " text"
 * (continues the last code) and "CODE text" (the last). bird_reply_done():
 * 1 when buf[0..len) holds a whole reply, its last code in *code.
 */
int bird_reply_done(const char *buf, size_t len, int *code);

/*
 * Send one command to BIRD at socket and read its reply (greeting
 * skipped), each within timeout_ms: *reply malloc'ed, *code the last
 * line's code. 0 or -errno (message set: BIRD not running, timeout).
 */
int bird_cmd(const char *socket, const char *cmd, int timeout_ms, char **reply, int *code);

/*
 * "configure" (BIRD re-reads its main file, which includes ours): 0 when
 * BIRD took it (codes 0003 reconfigured, 0004 in progress, 0018 confirmed),
 * else -EIO with BIRD's own error (file:line:col: message) as the message.
 */
int bird_configure(const char *socket);

/* What a "configure" reply means (reply may be trimmed): 0, or -EIO with BIRD's error. */
int bird_configure_result(char *reply, int code);

/*
 * One command on BIRD's socket without ever blocking, for sluiced's loop: a
 * hung BIRD (it accepts, never answers) must not stall health checks.
 * bird_call_start() connects (non-blocking) and queues cmd; the caller
 * polls bird_call_fd() for bird_call_events() and calls bird_call_step()
 * when it is ready, and gives up at deadline_ms (bird_call_expired()).
 */
struct bird_call {
	int fd;		   /* -1: no call */
	int phase;	   /* connecting, greeting, sending, reading the reply */
	char cmd[64];	   /* the command line, '\n' included */
	size_t sent;	   /* bytes of cmd sent */
	char *buf;	   /* the reply so far, NUL-terminated */
	size_t len, cap;   /* of buf */
	int code;	   /* the reply's last code, once done */
	__u64 deadline_ms; /* CLOCK_MONOTONIC */
	char socket[108];  /* for messages */
};

void bird_call_init(struct bird_call *c);

/* Start cmd at socket, to be over by now_ms + timeout_ms. 0 or -errno (message set). */
int bird_call_start(struct bird_call *c, const char *socket, const char *cmd, __u64 now_ms,
		    int timeout_ms);

/* The epoll events the call waits for (EPOLLIN or EPOLLOUT); 0 when none is running. */
__u32 bird_call_events(const struct bird_call *c);

/*
 * Make progress without blocking: 0 (not over yet), 1 (the reply is in
 * c->buf, its code in c->code; bird_call_reset() when done with it) or
 * -errno (message set; the call is reset).
 */
int bird_call_step(struct bird_call *c);

/* 1 when a running call is past its deadline: the caller gives up (bird_call_fail_timeout). */
int bird_call_expired(const struct bird_call *c, __u64 now_ms);

/* Give up on a running call as timed out: -ETIMEDOUT with a message saying so. */
int bird_call_fail_timeout(struct bird_call *c, int timeout_ms);

/* Close and free; the call is idle again. */
void bird_call_reset(struct bird_call *c);

/* One line of `show protocols`. */
struct bird_proto {
	char name[64];
	char proto[16]; /* BGP, Static, BFD, ... */
	char state[16]; /* up, start, down, ... */
	char info[64];	/* BGP: Idle, Connect, Active, OpenSent, OpenConfirm, Established */
};

/*
 * Parse a `show protocols` reply into out[0..max): the number of
 * protocols found (at most max are stored).
 */
size_t bird_protocols_parse(const char *reply, struct bird_proto *out, size_t max);

#endif /* SLUICE_BIRD_H */
