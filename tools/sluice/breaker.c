// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice breaker: the circuit breakers of backends: show their state and
 * passive signals, trip or reset one by hand, and `watch`, which runs the
 * state machines in the foreground on real signals.
 *
 * watch is one event loop (epoll, no threads) over the library's breaker
 * engine (watchloop.h: the sl_events ring buffer, the sweep and the refresh
 * of the configuration, the machines' due transitions; the daemon runs the
 * same engine) and a signalfd for SIGINT/SIGTERM. While it runs it keeps a
 * small state file (window counts, next transitions) that `breaker show`
 * reads; the file goes when it stops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "backend.h"
#include "breaker.h"
#include "clock.h"
#include "err.h"
#include "main.h"
#include "maps.h"
#include "out.h"
#include "res.h"
#include "svc.h"
#include "sweep.h"
#include "watch.h"
#include "watchloop.h"

#define WATCH_STATE_DIR "/run/sluice"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice breaker show [SERVICE]\n"
		"       sluice breaker trip SERVICE BACKEND\n"
		"       sluice breaker reset SERVICE BACKEND\n"
		"       sluice breaker watch [SERVICE] [--interval MS] [--duration SECONDS]\n"
		"       sluice breaker help\n"
		"\n"
		"SERVICE := ADDR PORT PROTO of a nat or ipip service\n"
		"BACKEND := BACKEND_ADDR [port BPORT]\n"
		"\n"
		"Every backend has a circuit breaker, read by the data plane for each NEW\n"
		"connection: closed (takes new flows), open (new flows avoid it: the next Maglev\n"
		"choice, the fallback backend, or refused, per 'service set on-open'), half-open\n"
		"(at most K probe connections, the rest as open). Established connections keep\n"
		"their backend whatever the breaker says.\n"
		"\n"
		"Failures are passive signals seen by the data plane (a RST answering a SYN, an\n"
		"ICMP unreachable about a flow; nat only) and SYNs left unanswered past the\n"
		"service's syn-timeout (found by the sweep); successes are answered handshakes.\n"
		"The state machine (per backend, settings per service, 'sluice service help'):\n"
		"  closed -> open      breaker-failures failures within breaker-window, or a\n"
		"                      failure rate of breaker-rate %% over at least\n"
		"                      breaker-min-calls calls (defaults 30 in 10 s; 50 %% of 20)\n"
		"  open -> half-open   after breaker-wait (default 5 s), doubled on each re-trip\n"
		"                      up to breaker-wait-max (default 300 s)\n"
		"  half-open -> closed breaker-successes probe successes in a row (default 3 of\n"
		"                      breaker-probes 3); closing resets the doubling\n"
		"  half-open -> open   a probe fails\n"
		"The window is 10 buckets of a tenth of breaker-window: failures leave it a\n"
		"bucket at a time. At most breaker-max-open %% (default 50) of a service's\n"
		"backends are open or half-open at once (rounded down, but one of two or more\n"
		"backends may always open; a lone backend only with 100): a trip beyond that is\n"
		"refused and reported (cause max_open_refused).\n"
		"\n"
		"A health check (sluiced, a service's health section) holds a backend's breaker\n"
		"open while it is down (cause health_down) and closes it when it is up\n"
		"(health_up).\n"
		"\n"
		"  show   Per backend: breaker state, what set it when the entry says so\n"
		"         (health_down, health_up, fast_trip), probes left, passive signals\n"
		"         (successes, refused, unreachable, probes), and, while a watcher\n"
		"         runs, the failures and calls in its window and the time to its\n"
		"         next transition.\n"
		"  trip   Open a backend's breaker by hand. A running watcher holds it open\n"
		"         until reset (without a watcher it stays open).\n"
		"  reset  Close a backend's breaker by hand; a watcher clears its window and the\n"
		"         doubling.\n"
		"  watch  Run the state machines in the foreground: consume the data plane's\n"
		"         signals, run the sweep every --interval (default 1000 ms; its SYN\n"
		"         timeouts are failures), write each transition to the breakers and\n"
		"         print it as a line (a JSON object per line with -j), with a timestamp.\n"
		"         Stops on Ctrl-C or SIGTERM, or after --duration seconds. State is kept\n"
		"         in memory only: a new watcher adopts the breakers as it finds them\n"
		"         (open ones probe after breaker-wait). Run one watcher at a time.\n"
		"\n"
		"Examples:\n"
		"  sluice service set 192.0.2.10 80 tcp breaker-failures 5 breaker-window 2\n"
		"  sluice breaker watch 192.0.2.10 80 tcp --interval 200 &\n"
		"  sluice breaker show 192.0.2.10 80 tcp\n"
		"  sluice breaker trip 192.0.2.10 80 tcp 10.0.0.11\n"
		"  sluice -j breaker watch --duration 60 | jq -c 'select(.to == \"open\")'\n");
	return 0;
}

/* The watcher's state file of this pin root: /run/sluice/breakers<root, / as _>.json. */
static void state_path(char *buf, size_t len)
{
	char root[PATH_MAX];
	size_t i;

	snprintf(root, sizeof(root), "%s", cli.pin_root);
	for (i = 0; root[i]; i++)
		if (root[i] == '/')
			root[i] = '_';
	snprintf(buf, len, "%s/breakers%s.json", WATCH_STATE_DIR, root);
}

/* ---- show ------------------------------------------------------------------ */

/* The running watcher's view of backend id, from its state file (NULL: none). */
static struct json_object *watcher_state(void)
{
	struct json_object *doc, *pid;
	char path[PATH_MAX + 64];

	state_path(path, sizeof(path));
	doc = json_object_from_file(path);
	if (!doc)
		return NULL;
	/* A file left by a watcher that died is stale. */
	if (!json_object_object_get_ex(doc, "pid", &pid) ||
	    kill((pid_t)json_object_get_int(pid), 0)) {
		json_object_put(doc);
		return NULL;
	}
	return doc;
}

static struct json_object *watcher_backend(struct json_object *doc, __u32 id)
{
	struct json_object *bes, *v;
	char k[16];

	if (!doc || !json_object_object_get_ex(doc, "backends", &bes))
		return NULL;
	snprintf(k, sizeof(k), "%u", id);
	return json_object_object_get_ex(bes, k, &v) ? v : NULL;
}

static __u64 jget(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? (__u64)json_object_get_int64(v) : 0;
}

static void print_backend(const struct sluice_maps *m, const struct backend_info *it,
			  const struct sluice_breaker *b, struct json_object *wdoc)
{
	struct sluice_be_signals sig;
	struct json_object *w = watcher_backend(wdoc, it->id);

	memset(&sig, 0, sizeof(sig));
	maps_read_be_signals(m, it->id, &sig); /* best effort: zeros on failure */
	cmd_open_backend(NULL, it);
	out_str("state", " %s", brk_state_name(b->state));
	if (brk_mark_cause(b))
		out_str("cause", " (%s)", brk_mark_cause(b));
	else
		out_null("cause", NULL, NULL);
	if (b->state == SLUICE_BRK_HALF_OPEN)
		out_u64("probes_left", " (probes left %llu)",
			(__u64)(b->probes_left < 0 ? 0 : b->probes_left));
	else
		out_u64("probes_left", NULL, (__u64)(b->probes_left < 0 ? 0 : b->probes_left));
	out_u64("successes", " successes %llu", sig.successes);
	out_u64("refused", " refused %llu", sig.refused);
	out_u64("unreachable", " unreachable %llu", sig.unreachable);
	out_u64("probes", " probes %llu", sig.probes);
	if (w) {
		out_u64("window_failures", " window %llu", jget(w, "failures"));
		out_u64("window_calls", "/%llu failed", jget(w, "calls"));
		if (jget(w, "next_in_ms") || b->state == SLUICE_BRK_OPEN)
			out_u64("next_transition_ms", " next transition in %llu ms",
				jget(w, "next_in_ms"));
	}
	out_text("\n");
	out_close_obj();
}

static int do_show(int argc, char **argv)
{
	struct backend_info *list = NULL;
	struct sluice_breaker *brk = NULL;
	struct json_object *wdoc = NULL;
	struct cli_show s;
	char k[SVC_KEY_STRLEN];
	size_t n = 0, i;
	__u32 last = SLUICE_NO_BACKEND;
	int err;

	err = cli_show_open("breaker", "show", 1, argc, argv, &s);
	if (err)
		return cli_show_close(&s, err);
	brk = calloc(SLUICE_MAX_BACKENDS, sizeof(*brk));
	if (!brk) {
		err_set("out of memory");
		err = -ENOMEM;
		goto out;
	}
	err = backend_list(&s.m, s.only, &list, &n);
	if (!err)
		err = maps_read_breakers(&s.m, brk);
	if (err)
		goto out;
	wdoc = watcher_state();
	out_open_array(NULL);
	for (i = 0; i < n; i++) {
		if (list[i].be.svc_id != last) {
			svc_key_format(&list[i].svc_key, k, sizeof(k));
			out_text("service %s%s:\n", k, wdoc ? " (watched)" : "");
			last = list[i].be.svc_id;
		}
		print_backend(&s.m, &list[i], &brk[list[i].id], wdoc);
	}
	out_close_array();
	if (!n)
		out_text("no backends (see 'sluice backend add')\n");
out:
	json_object_put(wdoc);
	free(list);
	free(brk);
	return cli_show_close(&s, err);
}

/* ---- watch ----------------------------------------------------------------- */

struct watch_loop {
	struct sluice_maps m;
	struct watchloop *engine;
	const struct sluice_svc_key *only;
};

/* Wall-clock timestamp, RFC 3339 with milliseconds, UTC. */
static void timestamp(char *buf, size_t len, __u64 *unix_ms)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
	*unix_ms = (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* One transition: a JSON document per line (-j), or a text line. */
static void report(void *ctx, const struct sluice_svc_key *svc, const struct sluice_backend *be,
		   const struct brk_change *chg)
{
	char t[48], a[ADDR_STRLEN], k[SVC_KEY_STRLEN];
	__u64 unix_ms;

	(void)ctx;
	timestamp(t, sizeof(t), &unix_ms);
	if (addr_format(&be->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	svc_key_format_args(svc, k, sizeof(k));
	out_start(cli.json, 0);
	out_str("time", "%s", t);
	out_u64("unix_ms", NULL, unix_ms);
	out_str("service", " service %s", k);
	out_u64("backend_id", " backend %llu", chg->id);
	out_str("address", " (%s", a);
	out_u64("port", " port %llu):", backend_port(be, svc));
	if (chg->cause == BRK_CAUSE_MAX_OPEN)
		out_text(" trip refused, stays");
	else
		out_str("from", " %s ->", brk_state_name(chg->from));
	if (chg->cause == BRK_CAUSE_MAX_OPEN)
		out_str("from", NULL, brk_state_name(chg->from));
	out_str("to", " %s", brk_state_name(chg->to));
	out_str("cause", " (%s", brk_cause_name(chg->cause));
	out_u64("failures", ", window %llu", chg->failures);
	out_u64("calls", "/%llu failed", chg->calls);
	if (chg->to == SLUICE_BRK_OPEN && !brk_cause_external(chg->cause))
		out_u64("open_ms", ", open for %llu ms", chg->open_ms);
	if (chg->to == SLUICE_BRK_HALF_OPEN)
		out_u64("probes", ", %llu probes", chg->probes);
	out_u64("open_in_group", ", %llu", chg->open_in_group);
	out_u64("max_open", " of at most %llu open)\n", chg->max_open);
	out_end();
}

/* A service entering or leaving panic: a line (a JSON object with -j). */
static void report_panic(void *ctx, const struct sluice_svc_key *svc, int on, __u32 healthy,
			 __u32 active)
{
	char t[48], k[SVC_KEY_STRLEN];
	__u64 unix_ms;

	(void)ctx;
	timestamp(t, sizeof(t), &unix_ms);
	svc_key_format_args(svc, k, sizeof(k));
	out_start(cli.json, 0);
	out_str("time", "%s", t);
	out_u64("unix_ms", NULL, unix_ms);
	out_str("service", " service %s", k);
	out_bool("panic", on ? " panic%.0s" : " panic over%.0s", on);
	out_u64("healthy", " (%llu", healthy);
	out_u64("active", " of %llu active backends healthy)\n", active);
	out_end();
}

/* Write the state file atomically (temporary file, rename). */
static void write_state(struct watch_loop *l, const struct backend_info *list, size_t n)
{
	struct json_object *doc, *bes, *b;
	char path[PATH_MAX + 64], tmp[PATH_MAX + 80], k[16];
	__u64 now = clock_mono_ms(), next;
	__u32 state, f, c;
	size_t i;

	doc = json_object_new_object();
	bes = json_object_new_object();
	if (!doc || !bes) {
		json_object_put(doc);
		json_object_put(bes);
		return;
	}
	json_object_object_add(doc, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(doc, "backends", bes);
	for (i = 0; i < n; i++) {
		if (watch_backend_state(watchloop_watch(l->engine), list[i].id, now, &state, &f, &c,
					&next))
			continue;
		b = json_object_new_object();
		if (!b)
			continue;
		json_object_object_add(b, "state", json_object_new_string(brk_state_name(state)));
		json_object_object_add(b, "failures", json_object_new_int64(f));
		json_object_object_add(b, "calls", json_object_new_int64(c));
		json_object_object_add(b, "next_in_ms",
				       json_object_new_int64(next == UINT64_MAX ? 0
							     : next > now ? (int64_t)(next - now)
									  : 0));
		snprintf(k, sizeof(k), "%u", list[i].id);
		json_object_object_add(bes, k, b);
	}
	state_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	mkdir(WATCH_STATE_DIR, 0700);
	if (!json_object_to_file_ext(tmp, doc, JSON_C_TO_STRING_PLAIN))
		rename(tmp, path);
	else
		unlink(tmp);
	json_object_put(doc);
}

static void remove_state(void)
{
	char path[PATH_MAX + 64];

	state_path(path, sizeof(path));
	unlink(path);
}

/* After each sweep: the state file `breaker show` reads. */
static void after_sweep(void *ctx)
{
	struct watch_loop *l = ctx;
	struct backend_info *list = NULL;
	size_t n = 0;

	if (!backend_list(&l->m, l->only, &list, &n))
		write_state(l, list, n);
	free(list);
}

enum { SRC_ENGINE = 1, SRC_SIGNAL };

static int watch_args(int argc, char **argv, int *has_key, struct sluice_svc_key *key,
		      __u32 *interval, __u32 *duration)
{
	int i = 0, err;

	*has_key = 0;
	if (argc && argv[0][0] != '-') {
		err = cli_parse_svc_key("breaker", argc, argv, key);
		if (err)
			return err;
		*has_key = 1;
		i = 3;
	}
	for (; i < argc; i += 2) {
		if (i + 1 >= argc)
			return cli_usage_error("breaker", "breaker watch: '%s' needs a value",
					       argv[i]);
		if (!strcmp(argv[i], "--interval"))
			err = args_parse_u32(argv[i + 1], 10, 3600000, "--interval (ms)", interval);
		else if (!strcmp(argv[i], "--duration"))
			err = args_parse_u32(argv[i + 1], 1, 31536000, "--duration (s)", duration);
		else
			return cli_usage_error(
				"breaker",
				"breaker watch: unexpected argument '%s' (give --interval MS or --duration SECONDS)",
				argv[i]);
		if (err)
			return cli_usage_error("breaker", "breaker watch: %s", err_msg());
	}
	return 0;
}

static int do_watch(int argc, char **argv)
{
	struct epoll_event ev, evs[8];
	struct sluice_svc_key key;
	struct watchloop_conf conf;
	const struct watchloop_stats *st;
	struct watch_loop l;
	struct sluice_svc svc;
	int has_key, err, ep = -1, sfd = -1, i, n, stop = 0;
	__u32 interval = 1000, duration = 0;
	__u64 deadline = 0;
	const char *why = "signal";
	sigset_t mask;

	memset(&l, 0, sizeof(l));
	err = watch_args(argc, argv, &has_key, &key, &interval, &duration);
	if (err)
		return err;
	maps_init(&l.m);
	err = cli_open_maps(&l.m);
	if (err)
		return err;
	if (has_key && (err = svc_get(&l.m, &key, &svc)))
		goto fail;
	l.only = has_key ? &key : NULL;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL)) {
		err = -errno;
		err_set("cannot block SIGINT/SIGTERM: %s", strerror(-err));
		goto fail;
	}
	/* No on_error: the first failing step ends the watch with its error. */
	memset(&conf, 0, sizeof(conf));
	conf.only = l.only;
	conf.sweep_ms = interval;
	conf.report = report;
	conf.panic = report_panic;
	conf.after_sweep = after_sweep;
	conf.ctx = &l;
	err = watchloop_open(&l.m, &conf, &l.engine);
	if (err)
		goto fail;
	ep = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ep < 0 || sfd < 0) {
		err = -errno;
		err_set("cannot set up the event loop: %s", strerror(-err));
		goto fail;
	}
	{
		const struct {
			int fd;
			int src;
		} srcs[] = { { watchloop_fd(l.engine), SRC_ENGINE }, { sfd, SRC_SIGNAL } };

		for (i = 0; i < 2; i++) {
			ev.events = EPOLLIN;
			ev.data.u32 = (__u32)srcs[i].src;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, srcs[i].fd, &ev)) {
				err = -errno;
				err_set("cannot set up the event loop: %s", strerror(-err));
				goto fail;
			}
		}
	}
	if (duration)
		deadline = clock_mono_ms() + (__u64)duration * 1000;
	if (!cli.json) {
		fprintf(out_file(),
			"watching %zu backends of %zu services (sweep every %u ms%s); Ctrl-C stops\n",
			watch_backends(watchloop_watch(l.engine)),
			watch_services(watchloop_watch(l.engine)), interval,
			duration ? ", for a bounded time" : "");
		fflush(out_file());
	}
	while (!stop) {
		int timeout = -1;

		if (deadline) {
			__u64 now = clock_mono_ms();

			if (now >= deadline) {
				why = "duration";
				break;
			}
			timeout = (int)(deadline - now);
		}
		n = epoll_wait(ep, evs, 8, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			err_set("epoll_wait: %s", strerror(-err));
			goto fail;
		}
		for (i = 0; i < n && !stop; i++) {
			if (evs[i].data.u32 == SRC_ENGINE) {
				err = watchloop_dispatch(l.engine);
				if (err)
					goto fail;
			} else {
				struct signalfd_siginfo si;

				/* Consume the signal, or unblocking it at the end would deliver it. */
				if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					why = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
				stop = 1;
			}
		}
	}
	/* The last document (JSON lines) or line: how the watch ended. */
	st = watchloop_stats(l.engine);
	out_start(cli.json, 0);
	out_str("stopped", "stopped (%s):", why);
	out_u64("events", " %llu signals,", st->events);
	out_u64("syn_timeouts", " %llu SYN timeouts,", st->syn_timeouts);
	out_u64("sweeps", " %llu sweeps,", st->sweeps);
	out_u64("transitions", " %llu transitions\n", st->transitions);
	err = 0;
	goto out;
fail:
	out_start(cli.json, 0); /* a fresh document for the error */
	cli_lib_error(err);
out:
	remove_state();
	if (sfd >= 0)
		close(sfd);
	if (ep >= 0)
		close(ep);
	watchloop_close(l.engine);
	maps_close(&l.m);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	return err;
}

const struct cli_cmd cli_breaker_cmds[] = {
	{ "show", do_show, 0, CMD_NONE },
	{ "trip", NULL, CLI_WRITE, CMD_BREAKER_TRIP },
	{ "reset", NULL, CLI_WRITE, CMD_BREAKER_RESET },
	{ "watch", do_watch, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
