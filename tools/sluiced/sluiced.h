/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sluiced, the Sluice daemon: shared state of its one event loop and the
 * interfaces between its parts (main.c: options, start, loop, signals;
 * control.c: the control socket; breakers.c: breaker engine and sweep;
 * http.c: the metrics endpoint; apply.c: config files).
 */
#ifndef SLUICED_H
#define SLUICED_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "ctl.h"
#include "maps.h"

#define SLUICED_SOCKET_DEFAULT CTL_SOCKET_DEFAULT
#define SLUICED_METRICS_DEFAULT "127.0.0.1:9469"
#define SLUICED_SWEEP_MS 1000 /* reconcile sweep and breaker refresh interval */

struct daemon;

/* One fd in the loop: fn is called with the epoll events when it is ready. */
struct loop_src {
	int fd;
	void (*fn)(struct daemon *d, struct loop_src *src, __u32 events);
};

/* Add/modify/remove src in the loop (events: EPOLLIN, EPOLLOUT, ...). 0 or -errno. */
int loop_add(struct daemon *d, struct loop_src *src, __u32 events);
int loop_mod(struct daemon *d, struct loop_src *src, __u32 events);
void loop_del(struct daemon *d, struct loop_src *src);

struct control;
struct breakers;
struct metrics_http;
struct checks;
struct journal;
struct state;
struct state_cluster;
struct cluster;
struct notify;
struct bgp;
struct bird_conf;
struct localaddr;
struct sluice_svc_key;
struct sluice_cmd;

struct daemon {
	/* options */
	const char *config_path; /* --config, or NULL */
	const char *pin_root;	 /* resolved pin root */
	const char *journal_dir; /* --journal */
	const char *socket_path; /* --socket */
	const char *metrics;	 /* --metrics ADDR:PORT, "" or "off" to disable */
	const char *admin_group; /* --admin-group: the admin role besides root, or NULL */
	int verbose;
	/* running state */
	int epfd;
	int stop;
	struct sluice_maps maps;
	struct journal *journal;
	struct control *ctl;
	struct breakers *brk;
	struct metrics_http *http;
	struct checks *checks;
	struct cluster *cluster; /* NULL: not in a cluster */
	struct notify *notify;	 /* NULL: not started by systemd (no NOTIFY_SOCKET) */
	struct state *desired;	 /* last config applied or adopted (apply.c); NULL: none */
	struct bgp *bgp;	 /* NULL: no bgp section */
	struct localaddr *local; /* this host's addresses in sl_local_addr; NULL: not watched */
	__u64 commands;		 /* write commands run */
	__u64 commands_failed;
	__u64 started_ns; /* CLOCK_REALTIME at start */
};

/* Log with a level ("error", "warn", "info", "debug"); debug only with -v. */
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg("error", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_info(...) log_msg("info", __VA_ARGS__)

/*
 * Append a record to the journal and send it to every subscriber. *seq
 * (may be NULL) receives its seq. 0 or -errno (logged).
 */
int daemon_journal(struct daemon *d, __u16 type, const char *payload, __u64 *seq);

/*
 * Run one write command (argv without "sluice", no global options but a
 * leading --flow-entries): journal it (JOURNAL_COMMAND), parse and apply it
 * (userspace/cmd) capturing its output
 * (malloc'ed into *out and *err when not NULL), journal JOURNAL_FAILED when it
 * failed. json/pretty select -j/-p for the output. Returns the exit status
 * (0, 1) and *seq the command's seq; -errno when it could not be journaled
 * (then nothing ran).
 */
int daemon_run_command(struct daemon *d, int argc, char **argv, int json, int pretty, char **out,
		       char **err, __s64 *seq);

/* One command of a group (daemon_run_group()): what to run, and what came of it. */
struct daemon_cmd {
	int argc;
	char **argv;
	int json, pretty;
	int batch;	 /* skipped, not applied, once a batch command before it failed */
	int rc;		 /* 0, 1 (failed or skipped), or -errno: not journaled, nothing ran */
	char *out, *err; /* malloc'ed output (NULL when rc < 0) */
	__s64 seq;	 /* -1 when not journaled */
};

/*
 * Group commit: journal the n commands of v (one fdatasync for all of them),
 * then apply them in order, each as daemon_run_command() would, and journal
 * the failures (one more fdatasync, only when one failed). A batch command
 * after a failed batch command (in v, or before it: *batch_failed, kept by
 * the caller across groups) is skipped: a FAILED record, rc 1. Nothing is
 * applied before the whole group is durable; when it cannot be made so,
 * every command gets the error (rc -errno) and none runs.
 */
void daemon_run_group(struct daemon *d, struct daemon_cmd *v, size_t n, int *batch_failed);
void daemon_cmd_free(struct daemon_cmd *c);

/*
 * control.c. control_open(): take the daemon's lock (ctl.h: one daemon per
 * socket and journal; clients see it starting) and set up the control
 * state, before the journal is opened; control_backlog_load(): the last
 * journal records for new subscribers, once it is; control_listen(): bind
 * the socket, once the daemon is ready to serve (its config applied).
 */
int control_open(struct daemon *d);
void control_backlog_load(struct daemon *d);
int control_listen(struct daemon *d);
void control_close(struct daemon *d);
/* Send a journal record line to subscribers and keep it in the backlog. */
void control_publish(struct daemon *d, const char *line);
/* Drop connections past their deadline (called every second). */
void control_expire(struct daemon *d, __u64 now_ms);

/* breakers.c */
int breakers_open(struct daemon *d);
void breakers_close(struct daemon *d);
/* The maps changed (a command ran): re-read services and backends. */
void breakers_refresh(struct daemon *d);
/* Breaker state of backend id for metrics: 0 closed, 1 open, 2 half-open; -1 unknown. */
int breakers_state(struct daemon *d, __u32 id);
/* Prometheus lines: sluice_breaker_transitions_total{service,backend,reason}. */
void breakers_metrics(struct daemon *d, FILE *f);
/* Active flows (sweep.h) the last sweep (every second) found; -1 before the first. */
__s64 breakers_active_flows(struct daemon *d);

/* http.c */
int http_open(struct daemon *d);
void http_close(struct daemon *d);
void http_expire(struct daemon *d, __u64 now_ms);

/* checks.c: active health checks of the config's services */
int checks_open(struct daemon *d);
void checks_close(struct daemon *d);
/* Make the checks those of s's services (after a config apply). */
void checks_sync(struct daemon *d, const struct state *s);
/* Housekeeping (every second): rewrite the health state file if it changed. */
void checks_tick(struct daemon *d);
/* Health of backend id: 1 up, 0 down, -1 not checked. */
int checks_up(struct daemon *d, __u32 id);

/* cluster*.c: gateways on etcd (only with a cluster section) */
int cluster_open(struct daemon *d, const struct state_cluster *conf);
void cluster_close(struct daemon *d);
/* Follow the elections of s's services (after a config apply). */
void cluster_sync(struct daemon *d, const struct state *s);
/* A write command ran (rc its status; cmd NULL: it did not parse): publish it if shared. */
void cluster_command(struct daemon *d, const struct sluice_cmd *cmd, int rc);
/* A breaker transition (backend as "ADDR port N"): publish opens and closes. */
void cluster_breaker(struct daemon *d, const struct sluice_svc_key *svc, const char *backend,
		     __u32 to);
/* A local apply changed the health or leader settings of services keys[0..n): publish them. */
void cluster_desired_changed(struct daemon *d, const struct sluice_svc_key *keys, size_t n);
/* Prometheus lines of the cluster (nothing when not in one). */
void cluster_metrics(struct daemon *d, FILE *f);

/* bgp.c: VIPs announced through BIRD (only with a bgp section) */
/* Take s's bgp section (after a config apply); none: BIRD drops our protocols. */
void bgp_sync(struct daemon *d, const struct state *s);
/* The bgp section in force (config dump writes it), or NULL: none. */
const struct bird_conf *bgp_conf(const struct daemon *d);
/*
 * 0, or -EINVAL (message set) for a command the bgp section forbids: a
 * nat/ipip service outside its prefixes under vips: all.
 */
int bgp_command_check(struct daemon *d, const struct sluice_cmd *cmd);
/* Every second: re-check each VIP, push changes to BIRD, poll the sessions. */
void bgp_tick(struct daemon *d);
/* Prometheus lines (nothing without a bgp section). */
void bgp_metrics(struct daemon *d, FILE *f);
/*
 * `gateway drain [--deadline SECONDS]` (args after "drain") and `gateway
 * undrain`: withdraw every VIP (the flows this gateway has go on until
 * none is open or the deadline passes), or announce again. *out receives
 * the reply (malloc'ed; JSON with json). 0, or 1 with the error in *out.
 */
int bgp_drain(struct daemon *d, int drain, int argc, char **argv, int json, char **out);
/*
 * SIGTERM with bgp.drain-on-stop: start a drain (deadline drain-on-stop)
 * and return 1; the daemon stops once drained. 0: stop now.
 */
int bgp_drain_on_stop(struct daemon *d);
void bgp_close(struct daemon *d);

/*
 * localaddr.c: keep sl_local_addr (this host's addresses, martian sources)
 * true through rtnetlink address events, and make the data plane's cached
 * next hops stale (sl_nh_gen) on every address, route and link event and a
 * neighbour's new MAC, failure or removal; what fails is retried by localaddr_tick() (every second).
 */
int localaddr_open(struct daemon *d);
void localaddr_tick(struct daemon *d);
void localaddr_close(struct daemon *d);

/*
 * notify.c: the systemd notify protocol (no-ops without NOTIFY_SOCKET).
 * notify_open() arms the watchdog pings when systemd asks for them;
 * notify_config() records the config's fate (err from the apply) for
 * STATUS=; notify_ready() sends STATUS= and READY=1; notify_status() sends
 * STATUS= if the summary changed (called every second).
 */
int notify_open(struct daemon *d);
void notify_close(struct daemon *d);
void notify_config(struct daemon *d, int err);
void notify_ready(struct daemon *d);
void notify_reloading(struct daemon *d);
void notify_stopping(struct daemon *d);
void notify_status(struct daemon *d);

/*
 * apply.c: apply the daemon's own config file path (--config; diff against
 * the maps). 0 or -errno; *ncmds run.
 */
int apply_config(struct daemon *d, const char *path, FILE *out, FILE *err, size_t *ncmds);
/* The same from len bytes of text a client sent; path names it in messages only. */
int apply_config_text(struct daemon *d, const char *path, const char *text, size_t len, FILE *out,
		      FILE *err, size_t *ncmds);
/*
 * s (its contents taken; s is left empty) is the desired state now: the
 * health and leader settings of its services are what config dump shows
 * and the cluster's document carries (HSTATE_DESIRED_FILE rewritten).
 * local: a change of them from this gateway's file is published.
 */
void desired_set(struct daemon *d, struct state *s, int local);
void desired_close(struct daemon *d);

#endif /* SLUICED_H */
