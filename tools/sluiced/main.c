// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluiced: the Sluice daemon. One epoll loop in the foreground over a
 * signalfd (SIGTERM/SIGINT stop, SIGHUP re-applies the config file), a
 * one-second housekeeping timerfd, the control socket and its connections
 * (control.c), the breaker engine's ring buffer and timers (breakers.c),
 * the metrics endpoint (http.c) and systemd's watchdog timer (notify.c).
 * No threads.
 *
 * Start: open the journal (reporting a cut tail), adopt the pinned maps
 * (create the ones missing; flows and counters are never flushed), apply
 * --config if given, then serve. Stop: close everything; the XDP programs
 * stay attached through their pinned links, so the data plane keeps
 * forwarding without the daemon.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "err.h"
#include "journal.h"
#include "loader.h"
#include "maps.h"
#include "out.h"
#include "publish.h"
#include "sluiced.h"
#include "state.h"
#include "version.h"

static int verbose;

void log_msg(const char *level, const char *fmt, ...)
{
	va_list ap;

	if (!strcmp(level, "debug") && !verbose)
		return;
	fprintf(stderr, "sluiced: [%s] ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int loop_add(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, src->fd, &ev) ? -errno : 0;
}

int loop_mod(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	return epoll_ctl(d->epfd, EPOLL_CTL_MOD, src->fd, &ev) ? -errno : 0;
}

void loop_del(struct daemon *d, struct loop_src *src)
{
	if (src->fd >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, src->fd, NULL);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluiced [--config FILE] [--pin-root DIR] [--journal DIR]\n"
		"               [--socket PATH] [--metrics ADDR:PORT|off]\n"
		"               [--admin-group GROUP] [-v]\n"
		"\n"
		"The Sluice daemon, in the foreground, logging to stderr. It adopts the\n"
		"pinned maps (never flushing flows or counters), applies FILE if given,\n"
		"then serves the control socket (sluice write commands are journaled and\n"
		"applied here), runs the circuit breakers and the reconcile sweep, and\n"
		"exposes Prometheus metrics. SIGHUP re-applies FILE; SIGTERM stops the\n"
		"daemon and leaves the data plane forwarding.\n"
		"\n"
		"  --config FILE       YAML configuration (sluice config check FILE); its\n"
		"                      daemon section sets what the options below do not\n"
		"  --pin-root DIR      pin root (default $SLUICE_PIN_ROOT, else %s)\n"
		"  --journal DIR       journal folder (default %s)\n"
		"  --socket PATH       control socket (default %s; mode 0660, group sluice)\n"
		"  --admin-group GROUP besides root, the members of GROUP (a name or a gid)\n"
		"                      may run write commands, config apply and journal\n"
		"                      compact; group sluice may read (events) only\n"
		"  --metrics ADDR:PORT metrics listener (default %s; 'off' disables)\n"
		"  -v, --verbose       debug messages and libbpf's warnings\n",
		SLUICE_PIN_ROOT_DEFAULT, JOURNAL_DIR_DEFAULT, SLUICED_SOCKET_DEFAULT,
		SLUICED_METRICS_DEFAULT);
}

/* The config file's daemon section, for what the command line did not give. */
static struct state settings;

/* Read the config file's settings; 0 when it does not load. */
static int load_settings(const char *path)
{
	state_init(&settings);
	if (config_load(path, &settings)) {
		/* Reported again (and nothing applied) when the file is applied. */
		err_clear();
		return 0;
	}
	return 1;
}

/* An option naming a place: the command line's, else the config's, else the default. */
struct place {
	int opt;	  /* its getopt value */
	const char **dst; /* set to the place */
	const char *conf; /* the config's daemon section's value ("": none) */
	int given;	  /* on the command line */
};

static int parse_args(int argc, char **argv, struct daemon *d)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pin-root", required_argument, NULL, 'r' },
		{ "journal", required_argument, NULL, 'J' },
		{ "socket", required_argument, NULL, 's' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "admin-group", required_argument, NULL, 'A' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pin_root = NULL;
	struct place places[] = {
		{ 'r', &pin_root, settings.daemon.pin_root, 0 },
		{ 'J', &d->journal_dir, settings.daemon.journal, 0 },
		{ 's', &d->socket_path, settings.daemon.socket, 0 },
		{ 'm', &d->metrics, settings.daemon.metrics, 0 },
		{ 'A', &d->admin_group, settings.daemon.admin_group, 0 },
	};
	const size_t nplaces = sizeof(places) / sizeof(places[0]);
	size_t i;
	int c;

	d->journal_dir = JOURNAL_DIR_DEFAULT;
	d->socket_path = SLUICED_SOCKET_DEFAULT;
	d->metrics = SLUICED_METRICS_DEFAULT;
	while ((c = getopt_long(argc, argv, "vhV", opts, NULL)) != -1) {
		for (i = 0; i < nplaces && places[i].opt != c; i++)
			;
		if (i < nplaces) {
			*places[i].dst = optarg;
			places[i].given = 1;
			continue;
		}
		switch (c) {
		case 'c':
			d->config_path = optarg;
			break;
		case 'v':
			verbose = d->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("sluiced %s\n", SLUICE_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluiced: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (d->config_path && load_settings(d->config_path))
		for (i = 0; i < nplaces; i++)
			if (!places[i].given && places[i].conf[0])
				*places[i].dst = places[i].conf;
	d->pin_root = maps_pin_root(pin_root);
	return 0;
}

static int open_journal(struct daemon *d)
{
	struct journal_recovery rec;
	int err;

	memset(&rec, 0, sizeof(rec));
	err = journal_open(d->journal_dir, NULL, &d->journal, &rec);
	if (err) {
		log_err("cannot open the journal in %s: %s", d->journal_dir, err_text(err));
		return err;
	}
	if (rec.cut)
		log_warn("journal: cut a torn tail of %s at offset %llu (%llu bytes, %s); "
			 "last good record is seq %llu",
			 rec.segment, (unsigned long long)rec.offset,
			 (unsigned long long)rec.bytes_cut, rec.why,
			 (unsigned long long)rec.last_good_seq);
	log_info("journal %s: %llu records in %llu segments, next seq %llu", d->journal_dir,
		 (unsigned long long)rec.records, (unsigned long long)rec.segments,
		 (unsigned long long)rec.next_seq);
	return 0;
}

/*
 * Maps created by this start (bpffs emptied by a reboot, or a new host)
 * while the journal holds history: rebuild them from the journal, so no
 * acknowledged change is lost. Each command is parsed and applied here
 * (cmd_run()) and is not journaled again. Maps that existed are never
 * replayed over: the data plane kept running on them, they are the truth.
 */
static void rebuild_from_journal(struct daemon *d)
{
	struct journal_cmds cmds = { 0 };
	struct out_capture cap;
	size_t i, failed = 0;
	int err;

	err = journal_replay_commands(d->journal_dir, UINT64_MAX, journal_cmds_add, &cmds);
	if (err) {
		log_warn("cannot rebuild the maps from the journal: %s", err_text(err));
		goto out;
	}
	/* Each table built once, from one copy of the backends (as a group). */
	publish_defer_begin();
	maps_cache_begin();
	for (i = 0; i < cmds.count; i++) {
		err = out_capture_begin(&cap, 0, 0);
		if (!err) {
			err = cmd_run(d->pin_root, cmds.argc[i], cmds.argv[i]);
			out_capture_end(&cap);
		}
		if (err) {
			failed++;
			log_warn("rebuild: command %zu failed: %s", i + 1,
				 cap.err && *cap.err ? cap.err : "?");
		}
		free(cap.out);
		free(cap.err);
	}
	if (publish_defer_end(NULL, d->pin_root))
		log_warn("rebuild: cannot publish the Maglev tables: %s", err_msg());
	maps_cache_end();
	if (cmds.count)
		log_info("rebuilt the maps from the journal: %zu commands, %zu failed", cmds.count,
			 failed);
out:
	journal_cmds_free(&cmds);
}

/* Adopt the pins: create what is missing (nothing is flushed), then open them. */
static int adopt_maps(struct daemon *d)
{
	int created = 0, err;

	maps_init(&d->maps);
	err = maps_open(&d->maps, d->pin_root);
	if (err == -ENOENT) {
		err = loader_maps_ensure(d->pin_root);
		if (!err)
			err = maps_open(&d->maps, d->pin_root);
		if (!err) {
			log_info("created the maps under %s", d->pin_root);
			created = 1;
		}
	}
	if (!err && created)
		rebuild_from_journal(d);
	if (err) {
		log_err("cannot open the maps under %s: %s", d->pin_root, err_text(err));
		return err;
	}
	log_info("adopted the maps under %s", d->pin_root);
	/* Pins from before the stateless return path get its table now, not at the next change. */
	if (publish_be_rev(&d->maps, NULL))
		log_warn("stateless nat return table not written: %s", err_msg());
	return 0;
}

static void reapply(struct daemon *d, const char *why)
{
	size_t n = 0;
	int err;

	if (!d->config_path) {
		log_info("%s: no --config file to apply", why);
		return;
	}
	err = apply_config(d, d->config_path, NULL, NULL, &n);
	if (err)
		log_err("%s: config %s not applied: %s", why, d->config_path, err_msg());
	else
		log_info("%s: config %s applied (%zu commands)", why, d->config_path, n);
	notify_config(d, err);
}

static void on_signal(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(src->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			notify_reloading(d);
			reapply(d, "SIGHUP");
			notify_ready(d);
		} else if (si.ssi_signo == SIGTERM && bgp_drain_on_stop(d)) {
			notify_stopping(d);
			log_info(
				"SIGTERM: draining the gateway before stopping (bgp.drain-on-stop)");
		} else {
			notify_stopping(d);
			log_info("%s: stopping (the data plane keeps forwarding)",
				 si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
			d->stop = 1;
		}
	}
}

static void on_tick(struct daemon *d, struct loop_src *src, __u32 events)
{
	__u64 buf, now = clock_mono_ms();

	(void)events;
	while (read(src->fd, &buf, sizeof(buf)) > 0)
		;
	control_expire(d, now);
	http_expire(d, now);
	checks_tick(d);
	notify_status(d);
	bgp_tick(d);
	localaddr_tick(d);
}

static int setup_loop(struct daemon *d, struct loop_src *sig, struct loop_src *tick)
{
	struct itimerspec it = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	sigset_t mask;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	sig->fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tick->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->epfd < 0 || sig->fd < 0 || tick->fd < 0)
		return -errno;
	if (timerfd_settime(tick->fd, 0, &it, NULL))
		return -errno;
	sig->fn = on_signal;
	tick->fn = on_tick;
	err = loop_add(d, sig, EPOLLIN);
	if (!err)
		err = loop_add(d, tick, EPOLLIN);
	return err;
}

static int run(struct daemon *d)
{
	struct epoll_event evs[32];
	int i, n;

	while (!d->stop) {
		n = epoll_wait(d->epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n && !d->stop; i++) {
			struct loop_src *src = evs[i].data.ptr;

			src->fn(d, src, evs[i].events);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct loop_src sig = { .fd = -1 }, tick = { .fd = -1 };
	struct daemon d;
	int err;

	memset(&d, 0, sizeof(d));
	d.epfd = -1;
	if (parse_args(argc, argv, &d))
		return 2;
	libbpf_set_print(libbpf_print);
	d.started_ns = journal_now_ns();
	log_info("sluiced %s starting (pid %d)", SLUICE_VERSION, (int)getpid());
	err = setup_loop(&d, &sig, &tick);
	if (err) {
		log_err("cannot set up the event loop: %s", strerror(-err));
		goto out;
	}
	err = notify_open(&d);
	if (err) {
		log_err("cannot set up the systemd notifications: %s", strerror(-err));
		goto out;
	}
	/* The maps stay open from one command to the next (cmd.h). */
	cmd_maps_keep(1);
	err = control_open(&d);
	if (!err)
		err = open_journal(&d);
	if (!err)
		err = adopt_maps(&d);
	if (err)
		goto out;
	control_backlog_load(&d);
	err = breakers_open(&d);
	if (err)
		log_warn("breakers not running: %s", err_msg());
	err = checks_open(&d);
	if (err)
		log_warn("health checks not running: %s", strerror(-err));
	if (d.config_path) {
		err = cluster_open(&d, &settings.cluster);
		if (err)
			log_warn("cluster not running: %s", err_msg());
	}
	if (d.config_path)
		reapply(&d, "start");
	err = localaddr_open(&d);
	if (err)
		log_warn("this host's addresses not tracked: %s", err_msg());
	/* Only now: a client that connects finds the config applied (sluice says "starting" before). */
	err = control_listen(&d);
	if (!err)
		err = http_open(&d);
	if (err)
		goto out;
	log_info("serving on %s (pin root %s)", d.socket_path, d.pin_root);
	notify_ready(&d);
	err = run(&d);
out:
	http_close(&d);
	localaddr_close(&d);
	notify_close(&d);
	bgp_close(&d);
	cluster_close(&d);
	desired_close(&d);
	checks_close(&d);
	breakers_close(&d);
	control_close(&d);
	maps_close(&d.maps);
	cmd_maps_keep(0);
	journal_close(d.journal);
	if (tick.fd >= 0)
		close(tick.fd);
	if (sig.fd >= 0)
		close(sig.fd);
	if (d.epfd >= 0)
		close(d.epfd);
	state_free(&settings);
	log_info("stopped%s", err ? " on an error" : "");
	return err ? 1 : 0;
}
