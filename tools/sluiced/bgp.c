// SPDX-License-Identifier: GPL-2.0-only
/*
 * VIPs announced over BGP through BIRD (the config's bgp section;
 * userspace/net/bird.h renders the include and speaks BIRD's socket).
 *
 * A VIP is announced while this gateway can serve it: the XDP program is
 * attached on the configured interfaces (any attachment when the config
 * lists none) and at least one backend of the VIP's nat/ipip services is
 * up (active, breaker not open, health check not down). Checked after every
 * config apply and every second; a change rewrites the include (atomic
 * rename) and runs `configure` on BIRD's socket. A failed write or
 * configure is retried on the next tick. Announcements, withdrawals and
 * session changes are journaled (JOURNAL_BGP) and logged; the status file
 * beside the control socket (bird.h BIRD_STATUS_FILE) feeds `sluice bgp
 * show`. When the daemon stops, BIRD keeps what it announces: the data
 * plane keeps forwarding too.
 *
 * A drain (`sluice gateway drain`) withdraws every VIP while the data plane
 * goes on forwarding the flows it has; it is over (drained) when the sweep
 * finds no active flow (sweep.h: none seen for 2 s, or closed), or at its
 * deadline. An operator's drain is kept in the journal's folder
 * (BGP_DRAIN_FILE) until `gateway undrain`: a restarted daemon (or host)
 * comes back drained, withdrawing from its first include, and a draining
 * one goes on to its deadline. A drain a SIGTERM started (drain-on-stop)
 * is not kept: the daemon was being stopped, and its next start serves.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "backend.h"
#include "bird.h"
#include "clock.h"
#include "cmd.h"
#include "err.h"
#include "hstate.h"
#include "journal.h"
#include "loader.h"
#include "sluiced.h"
#include "state.h"

/* The operator's drain, in the journal's folder (journal.c skips other names). */
#define BGP_DRAIN_FILE "gateway-drain.json"

struct bgp_vip {
	char text[ADDR_STRLEN];
	char why[128];	/* why it is (not) announced */
	__s64 since_ms; /* CLOCK_REALTIME of the last change */
};

struct bgp {
	struct bird_conf conf;
	size_t nvips;
	struct bird_vip vips[BIRD_VIPS_MAX]; /* what the include could hold */
	__u8 up[BIRD_VIPS_MAX];		     /* announced now */
	struct bgp_vip info[BIRD_VIPS_MAX];
	size_t nifaces;
	char (*ifaces)[IF_NAMESIZE]; /* the config's interfaces */
	int dirty;		     /* the include must be written and BIRD reconfigured */
	int configure_due;	     /* the include is written: BIRD must re-read it */
	struct bird_call call;	     /* the command on BIRD's socket now, if any */
	struct loop_src src;	     /* its fd in the daemon's loop */
	int call_configure;	     /* the call is "configure" (else "show protocols") */
	int poll_due;		     /* a "show protocols" is due (once a tick) */
	int configured;		     /* BIRD took our last include */
	char error[256];	     /* the last write/configure/socket error ("" none) */
	struct bird_proto sess[BIRD_PEERS_MAX];
	int sess_known; /* BIRD answered `show protocols` */
	__u64 reconfigures, reconfigure_failures;
	char status_path[PATH_MAX];
	char *status_text;
	/* drain: 0 off, 1 draining, 2 drained */
	int drain;
	int stop_when_drained;			 /* a SIGTERM with drain-on-stop started it */
	__u64 drain_start_ms, drain_deadline_ms; /* monotonic; deadline 0: none */
	__s64 drain_flows;			 /* active flows at the last sweep (-1 unknown) */
	char drain_why[32];			 /* drained: "no active flow" or "deadline" */
};

static void bgp_event(struct daemon *d, struct json_object *o)
{
	daemon_journal(d, JOURNAL_BGP,
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE),
		       NULL);
	json_object_put(o);
}

/* Remember err (logged once while it stays the same); "" clears it. */
static void set_error(struct bgp *b, const char *msg)
{
	if (*msg && strcmp(b->error, msg))
		log_warn("bgp: %s", msg);
	snprintf(b->error, sizeof(b->error), "%s", msg);
}

/* "" when XDP is attached where it should be, else why not (into why). */
static void xdp_check(struct daemon *d, struct bgp *b, char *why, size_t len)
{
	struct loader_iface *list = NULL;
	size_t n = 0, i, j;

	*why = 0;
	if (loader_show(d->pin_root, NULL, &list, &n)) {
		err_clear();
		n = 0;
	}
	/* Egress pacing carries no data plane: such an interface serves no VIP. */
	for (i = j = 0; i < n; i++)
		if (list[i].hook != LOADER_HOOK_TC_EGRESS)
			list[j++] = list[i];
	n = j;
	if (!b->nifaces) {
		for (i = 0; i < n && !list[i].ifindex; i++)
			;
		if (i == n)
			snprintf(why, len, "XDP is attached on no interface");
	}
	for (j = 0; j < b->nifaces && !*why; j++) {
		for (i = 0; i < n && (strcmp(list[i].ifname, b->ifaces[j]) || !list[i].ifindex);
		     i++)
			;
		if (i == n)
			snprintf(why, len, "XDP is not attached on %s", b->ifaces[j]);
	}
	free(list);
}

/* 1 when some backend of a nat/ipip service of addr can take new flows. */
static int has_backend_up(struct daemon *d, const union sluice_addr *addr,
			  const struct backend_info *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct backend_info *bi = &list[i];

		if (memcmp(&bi->svc_key.addr, addr, sizeof(*addr)) ||
		    bi->svc_mode == SLUICE_MODE_LOCAL || bi->be.state != SLUICE_BE_ACTIVE)
			continue;
		if (breakers_state(d, bi->id) == SLUICE_BRK_OPEN || checks_up(d, bi->id) == 0)
			continue;
		return 1;
	}
	return 0;
}

static void vip_changed(struct daemon *d, struct bgp *b, size_t i, int up, const char *why)
{
	struct json_object *o = json_object_new_object();

	b->up[i] = (__u8)up;
	b->info[i].since_ms = (__s64)(journal_now_ns() / 1000000);
	b->dirty = 1;
	log_info("bgp: %s VIP %s (%s)", up ? "announcing" : "withdrawing", b->info[i].text, why);
	if (!o)
		return;
	json_object_object_add(o, "vip", json_object_new_string(b->info[i].text));
	json_object_object_add(o, "event", json_object_new_string(up ? "announced" : "withdrawn"));
	json_object_object_add(o, "why", json_object_new_string(why));
	bgp_event(d, o);
}

static void follow_services(struct daemon *d, struct bgp *b);

static void evaluate(struct daemon *d, struct bgp *b)
{
	struct backend_info *list = NULL;
	char xdp[96], why[128];
	size_t n = 0, i;
	int up;

	follow_services(d, b);
	xdp_check(d, b, xdp, sizeof(xdp));
	if (backend_list(&d->maps, NULL, &list, &n)) {
		err_clear();
		n = 0;
	}
	for (i = 0; i < b->nvips; i++) {
		if (b->drain) {
			up = 0;
			snprintf(why, sizeof(why), "gateway draining");
		} else if (*xdp) {
			up = 0;
			snprintf(why, sizeof(why), "%s", xdp);
		} else if (has_backend_up(d, &b->vips[i].addr, list, n)) {
			up = 1;
			snprintf(why, sizeof(why), "XDP attached, a backend is up");
		} else {
			up = 0;
			snprintf(why, sizeof(why), "no backend of its services is up");
		}
		if (up != b->up[i] || !b->info[i].since_ms)
			vip_changed(d, b, i, up, why);
		snprintf(b->info[i].why, sizeof(b->info[i].why), "%s", why);
	}
	free(list);
}

/*
 * BIRD's socket is spoken without blocking (struct bird_call): a tick
 * starts "configure" when the include changed, then "show protocols"; the
 * loop drives each as its fd gets ready, and a call still running at its
 * deadline (BIRD_TIMEOUT_MS) is dropped as failed on a tick. A hung BIRD
 * thus costs the loop nothing: health checks, the control socket and etcd
 * go on. After a failure the next call waits for the next tick.
 */
static void call_next(struct daemon *d, struct bgp *b);

/* A call that failed (message set): recorded; all again on the next tick. */
static void call_failed(struct bgp *b, int configure)
{
	b->src.fd = -1;
	set_error(b, err_msg());
	err_clear();
	if (configure) {
		b->reconfigure_failures++;
		b->configured = 0;
	} else {
		b->sess_known = 0;
	}
	b->dirty = 1; /* BIRD restarted, gone or hung: push again once it answers */
}

static void call_start(struct daemon *d, struct bgp *b, int configure)
{
	int err;

	err = bird_call_start(&b->call, b->conf.socket, configure ? "configure" : "show protocols",
			      clock_mono_ms(), BIRD_TIMEOUT_MS);
	b->call_configure = configure;
	if (!err) {
		b->src.fd = b->call.fd;
		err = loop_add(d, &b->src, bird_call_events(&b->call));
		if (err) {
			err_set("bgp: cannot poll BIRD's socket: %s", strerror(-err));
			bird_call_reset(&b->call);
		}
	}
	if (err)
		call_failed(b, configure);
}

/* Write the include (atomic rename): 0, or -1 with the error recorded. */
static int include_write(struct bgp *b)
{
	char *text;
	int err;

	text = bird_render(&b->conf, b->vips, b->up, b->nvips);
	if (!text) {
		set_error(b, err_msg());
		return -1;
	}
	err = hstate_write(b->conf.include, text);
	free(text);
	if (err) {
		char msg[PATH_MAX + 128];

		snprintf(msg, sizeof(msg), "cannot write %s: %s (does its folder exist?)",
			 b->conf.include, strerror(-err));
		set_error(b, msg);
		b->reconfigure_failures++;
		return -1;
	}
	return 0;
}

/* Write the include at once when something changed; BIRD re-reads it when it can. */
static void push(struct bgp *b)
{
	if (!b->dirty || include_write(b))
		return;
	b->dirty = 0;
	b->configure_due = 1;
}

/* The peer's line of the last `show protocols`, or NULL. */
static const struct bird_proto *session_of(const struct bgp *b, size_t peer)
{
	return b->sess_known && b->sess[peer].name[0] ? &b->sess[peer] : NULL;
}

static void sessions_update(struct daemon *d, struct bgp *b, const char *reply)
{
	struct bird_proto *all, prev[BIRD_PEERS_MAX];
	char name[64];
	size_t n, i, j;

	memcpy(prev, b->sess, sizeof(prev));
	all = calloc(256, sizeof(*all));
	n = all ? bird_protocols_parse(reply, all, 256) : 0;
	memset(b->sess, 0, sizeof(b->sess));
	for (i = 0; i < b->conf.npeers; i++) {
		bird_proto_name(&b->conf, i, name, sizeof(name));
		for (j = 0; j < n && j < 256; j++)
			if (!strcmp(all[j].name, name))
				b->sess[i] = all[j];
		if (!b->sess[i].name[0] && b->configured)
			b->dirty = 1; /* our protocol is missing: BIRD lost our include */
	}
	free(all);
	b->sess_known = 1;
	for (i = 0; i < b->conf.npeers; i++) {
		struct json_object *o;

		if (!strcmp(prev[i].info, b->sess[i].info) &&
		    !strcmp(prev[i].state, b->sess[i].state))
			continue;
		log_info("bgp: session with %s: %s %s", b->conf.peers[i].name, b->sess[i].state,
			 b->sess[i].info);
		o = json_object_new_object();
		if (!o)
			continue;
		json_object_object_add(o, "peer", json_object_new_string(b->conf.peers[i].name));
		json_object_object_add(o, "event", json_object_new_string("session"));
		json_object_object_add(o, "state", json_object_new_string(b->sess[i].state));
		json_object_object_add(o, "info", json_object_new_string(b->sess[i].info));
		bgp_event(d, o);
	}
}

static void status_write(struct daemon *d, struct bgp *b);

/* The call ended: r 1 with the reply in b->call, or -errno (message set, call reset). */
static void call_done(struct daemon *d, struct bgp *b, int r)
{
	int configure = b->call_configure;

	loop_del(d, &b->src);
	b->src.fd = -1;
	if (r > 0 && configure)
		r = bird_configure_result(b->call.buf, b->call.code);
	if (r < 0) {
		call_failed(b, configure);
		bird_call_reset(&b->call);
		status_write(d, b);
		return;
	}
	if (configure) {
		b->reconfigures++;
		b->configured = 1;
		set_error(b, "");
	} else {
		sessions_update(d, b, b->call.buf);
	}
	bird_call_reset(&b->call);
	status_write(d, b);
	call_next(d, b);
}

static void on_bird(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct bgp *b = (struct bgp *)(void *)((char *)src - offsetof(struct bgp, src));
	int r;

	(void)events;
	r = bird_call_step(&b->call);
	if (!r) {
		if (loop_mod(d, &b->src, bird_call_events(&b->call)))
			call_done(d, b, bird_call_fail_timeout(&b->call, BIRD_TIMEOUT_MS));
		return;
	}
	call_done(d, b, r);
}

/* Drop a running call (the section is replaced or gone, or a change cannot wait). */
static void call_cancel(struct daemon *d, struct bgp *b)
{
	if (b->call.fd >= 0)
		loop_del(d, &b->src);
	bird_call_reset(&b->call);
	b->src.fd = -1;
}

/*
 * Write the include if it changed, then start what is due: configure
 * first, then show protocols. A configure does not wait behind a "show
 * protocols" (polled again on the next tick); it waits behind a running
 * "configure", and follows it.
 */
static void call_next(struct daemon *d, struct bgp *b)
{
	push(b);
	if (b->call.fd >= 0 && b->configure_due && !b->call_configure)
		call_cancel(d, b);
	if (b->call.fd >= 0)
		return;
	if (b->configure_due) {
		b->configure_due = 0;
		call_start(d, b, 1);
		return;
	}
	if (b->poll_due) {
		b->poll_due = 0;
		call_start(d, b, 0);
	}
}

static void status_write(struct daemon *d, struct bgp *b)
{
	struct json_object *doc = json_object_new_object(), *vips = json_object_new_array(),
			   *peers = json_object_new_array();
	char a[ADDR_STRLEN];
	const char *text;
	size_t i;
	int err;

	if (!doc || !vips || !peers || !b->status_path[0])
		goto out;
	json_object_object_add(doc, "pid", json_object_new_int64(getpid()));
	json_object_object_add(doc, "asn", json_object_new_int64(b->conf.asn));
	json_object_object_add(doc, "socket", json_object_new_string(b->conf.socket));
	json_object_object_add(doc, "include", json_object_new_string(b->conf.include));
	json_object_object_add(doc, "configured", json_object_new_boolean(b->configured));
	json_object_object_add(doc, "error", json_object_new_string(b->error));
	json_object_object_add(doc, "drain",
			       json_object_new_string(b->drain == 1   ? "draining"
						      : b->drain == 2 ? "drained"
								      : "off"));
	if (b->drain) {
		json_object_object_add(doc, "active_flows", json_object_new_int64(b->drain_flows));
		json_object_object_add(
			doc, "drain_elapsed_s",
			json_object_new_int64(
				(int64_t)((clock_mono_ms() - b->drain_start_ms) / 1000)));
		json_object_object_add(doc, "drain_why", json_object_new_string(b->drain_why));
	}
	for (i = 0; i < b->nvips; i++) {
		struct json_object *v = json_object_new_object();

		if (!v)
			continue;
		json_object_object_add(v, "vip", json_object_new_string(b->info[i].text));
		json_object_object_add(v, "announced", json_object_new_boolean(b->up[i]));
		json_object_object_add(v, "why", json_object_new_string(b->info[i].why));
		json_object_object_add(v, "since_ms", json_object_new_int64(b->info[i].since_ms));
		json_object_array_add(vips, v);
	}
	json_object_object_add(doc, "vips", vips);
	vips = NULL;
	for (i = 0; i < b->conf.npeers; i++) {
		const struct bird_proto *s = session_of(b, i);
		struct json_object *p = json_object_new_object();
		char name[64];

		if (!p)
			continue;
		bird_proto_name(&b->conf, i, name, sizeof(name));
		if (addr_format(&b->conf.peers[i].addr, a, sizeof(a)))
			snprintf(a, sizeof(a), "?");
		json_object_object_add(p, "name", json_object_new_string(b->conf.peers[i].name));
		json_object_object_add(p, "address", json_object_new_string(a));
		json_object_object_add(p, "asn", json_object_new_int64(b->conf.peers[i].asn));
		json_object_object_add(p, "bfd", json_object_new_boolean(b->conf.peers[i].bfd));
		json_object_object_add(p, "protocol", json_object_new_string(name));
		json_object_object_add(p, "state", json_object_new_string(s ? s->state : ""));
		json_object_object_add(p, "info", json_object_new_string(s ? s->info : ""));
		json_object_object_add(
			p, "established",
			json_object_new_boolean(s && !strcmp(s->info, "Established")));
		json_object_array_add(peers, p);
	}
	json_object_object_add(doc, "peers", peers);
	peers = NULL;
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (b->status_text && !strcmp(b->status_text, text))
		goto out;
	err = hstate_write(b->status_path, text);
	if (err) {
		log_warn("bgp: cannot write %s: %s", b->status_path, strerror(-err));
		goto out;
	}
	free(b->status_text);
	b->status_text = strdup(text);
out:
	json_object_put(vips);
	json_object_put(peers);
	json_object_put(doc);
	(void)d;
}

static void drain_event(struct daemon *d, const char *event, struct bgp *b)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	json_object_object_add(o, "event", json_object_new_string(event));
	json_object_object_add(o, "active_flows", json_object_new_int64(b->drain_flows));
	if (b->drain_deadline_ms)
		json_object_object_add(
			o, "deadline_s",
			json_object_new_int64(
				(int64_t)((b->drain_deadline_ms - b->drain_start_ms) / 1000)));
	if (b->drain == 2)
		json_object_object_add(o, "why", json_object_new_string(b->drain_why));
	bgp_event(d, o);
}

/* A draining gateway is drained once no flow is open, or at the deadline. */
static void drain_check(struct daemon *d, struct bgp *b)
{
	__u64 now = clock_mono_ms();

	if (b->drain != 1)
		return;
	b->drain_flows = breakers_active_flows(d);
	/* The first sweep after the start counts what the withdrawal left. */
	if (now - b->drain_start_ms >= SLUICED_SWEEP_MS && b->drain_flows == 0)
		snprintf(b->drain_why, sizeof(b->drain_why), "no active flow");
	else if (b->drain_deadline_ms && now >= b->drain_deadline_ms)
		snprintf(b->drain_why, sizeof(b->drain_why), "deadline");
	else
		return;
	b->drain = 2;
	if (b->stop_when_drained)
		d->stop = 1;
	log_info("bgp: gateway drained (%s; %lld active flows) after %llu ms", b->drain_why,
		 (long long)b->drain_flows, (unsigned long long)(now - b->drain_start_ms));
	drain_event(d, "drained", b);
}

static int drain_path(const struct daemon *d, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", d->journal_dir, BGP_DRAIN_FILE) >= (int)len
		       ? -ENAMETOOLONG
		       : 0;
}

/*
 * Keep the operator's drain (drain 1: its deadline as Unix ms, 0 none), or
 * forget it (drain 0). Logged when it cannot be: a restart would then
 * announce again.
 */
static void drain_save(struct daemon *d, int drain, __u32 deadline_s)
{
	char path[PATH_MAX], text[128];
	int err;

	err = drain_path(d, path, sizeof(path));
	if (!err && !drain) {
		err = unlink(path) && errno != ENOENT ? -errno : 0;
	} else if (!err) {
		__s64 now = (__s64)(journal_now_ns() / 1000000);

		snprintf(text, sizeof(text),
			 "{\"drain\":true,\"since_ms\":%lld,\"deadline_ms\":%lld}\n",
			 (long long)now, deadline_s ? (long long)now + deadline_s * 1000ll : 0ll);
		err = hstate_write(path, text);
	}
	if (err)
		log_warn("bgp: cannot %s %s: %s (a restarted sluiced would %s)",
			 drain ? "write" : "remove", path, strerror(-err),
			 drain ? "announce again" : "come back drained");
}

/*
 * At start: the operator's drain kept by drain_save(), if any, resumes: 1
 * (b->drain set: draining until its deadline, drained once it passed), or 0.
 */
static int drain_restore(struct daemon *d, struct bgp *b)
{
	struct json_object *doc, *v;
	char path[PATH_MAX];
	__s64 now = (__s64)(journal_now_ns() / 1000000), deadline = 0;

	if (drain_path(d, path, sizeof(path)) || access(path, F_OK))
		return 0;
	doc = json_object_from_file(path);
	if (!doc || !json_object_object_get_ex(doc, "drain", &v) || !json_object_get_boolean(v)) {
		/* Unreadable: withdrawn is the side to err on. */
		log_warn("bgp: %s is not a drain record; staying drained", path);
	} else if (json_object_object_get_ex(doc, "deadline_ms", &v)) {
		deadline = json_object_get_int64(v);
	}
	json_object_put(doc);
	b->drain = 1;
	b->drain_start_ms = clock_mono_ms();
	b->drain_deadline_ms = 0;
	if (deadline > now)
		b->drain_deadline_ms = b->drain_start_ms + (__u64)(deadline - now);
	else if (deadline)
		b->drain_deadline_ms = b->drain_start_ms; /* passed while stopped */
	b->drain_flows = breakers_active_flows(d);
	b->drain_why[0] = 0;
	log_info("bgp: the gateway was drained before this start (%s): staying drained until "
		 "sluice gateway undrain",
		 path);
	drain_event(d, "drain", b);
	return 1;
}

/* The reply of gateway drain/undrain: text, or JSON ({"error": ...} on failure). */
static int drain_reply(int json, int rc, char **out, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int drain_reply(int json, int rc, char **out, const char *fmt, ...)
{
	struct json_object *o;
	char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	*out = text;
	if (!json || !rc || !text)
		return rc;
	o = json_object_new_object();
	text[strcspn(text, "\n")] = 0;
	if (o) {
		json_object_object_add(o, "error", json_object_new_string(text));
		*out = NULL;
		if (asprintf(out, "%s\n",
			     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) < 0)
			*out = NULL;
		json_object_put(o);
	}
	free(text);
	return rc;
}

int bgp_drain(struct daemon *d, int drain, int argc, char **argv, int json, char **out)
{
	const char *what = drain ? "drain" : "undrain", *bird;
	struct bgp *b = d->bgp;
	__u32 deadline = 0;
	size_t i, n = 0;

	*out = NULL;
	if (!b)
		return drain_reply(json, 1, out,
				   "sluice: gateway %s: this sluiced has no bgp section: nothing "
				   "announces its VIPs through BIRD\n",
				   what);
	if (drain && argc == 2 && !strcmp(argv[0], "--deadline")) {
		if (args_parse_u32(argv[1], 1, 86400, "--deadline", &deadline)) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", err_msg());
			err_clear();
			return drain_reply(json, 1, out, "sluice: gateway drain: %s (seconds)\n",
					   msg);
		}
	} else if (argc) {
		return drain_reply(
			json, 1, out, "sluice: gateway %s: unexpected '%s' (usage: %s)\n", what,
			argv[0], drain ? "gateway drain [--deadline SECONDS]" : "gateway undrain");
	}
	if (drain) {
		b->drain = 1;
		b->drain_start_ms = clock_mono_ms();
		b->drain_deadline_ms = deadline ? b->drain_start_ms + deadline * 1000ull : 0;
		b->drain_flows = breakers_active_flows(d);
		b->drain_why[0] = 0;
		log_info("bgp: draining the gateway (deadline %s%u s)", deadline ? "" : "none, ",
			 deadline);
		drain_event(d, "drain", b);
		if (!b->stop_when_drained)
			drain_save(d, 1, deadline);
	} else {
		b->drain = 0;
		log_info("bgp: gateway undrained: announcing again what it can serve");
		drain_event(d, "undrain", b);
		drain_save(d, 0, 0);
	}
	bgp_tick(d);
	for (i = 0; i < b->nvips; i++)
		n += b->up[i];
	/* BIRD answers "configure" through the loop, after this reply. */
	bird = b->call.fd >= 0 && b->call_configure ? "reconfiguring BIRD"
	       : b->configured			    ? "BIRD reconfigured"
						    : b->error;
	if (json)
		return drain_reply(json, 0, out,
				   "{\"drain\":\"%s\",\"vips\":%zu,\"announced\":%zu,"
				   "\"configured\":%s,\"active_flows\":%lld}\n",
				   drain ? "draining" : "off", b->nvips, n,
				   b->configured ? "true" : "false", (long long)b->drain_flows);
	if (!drain)
		return drain_reply(json, 0, out, "undrained: %zu of %zu VIPs announced (%s)\n", n,
				   b->nvips, bird);
	return drain_reply(json, 0, out,
			   "draining: %zu of %zu VIPs announced (%s), %lld active flows; progress: "
			   "sluice bgp show, sluice events\n",
			   n, b->nvips, bird, (long long)b->drain_flows);
}

int bgp_drain_on_stop(struct daemon *d)
{
	struct bgp *b = d->bgp;
	char deadline[16], flag[] = "--deadline", *args[2] = { flag, deadline }, *out = NULL;

	/* A second SIGTERM, or nothing to drain: stop now. */
	if (!b || !b->conf.drain_on_stop_s || b->stop_when_drained || b->drain == 2)
		return 0;
	snprintf(deadline, sizeof(deadline), "%u", b->conf.drain_on_stop_s);
	b->stop_when_drained = 1;
	if (bgp_drain(d, 1, 2, args, 0, &out)) {
		b->stop_when_drained = 0;
		free(out);
		return 0;
	}
	free(out);
	return 1;
}

void bgp_tick(struct daemon *d)
{
	struct bgp *b = d->bgp;

	if (!b)
		return;
	drain_check(d, b);
	evaluate(d, b);
	if (bird_call_expired(&b->call, clock_mono_ms()))
		call_done(d, b, bird_call_fail_timeout(&b->call, BIRD_TIMEOUT_MS));
	b->poll_due = 1;
	call_next(d, b);
	status_write(d, b);
}

/* vips: all: a nat/ipip service address joins the VIPs once. */
static void vip_add_unique(struct bgp *b, const union sluice_addr *a, __u8 mode)
{
	size_t j;

	if (mode == SLUICE_MODE_LOCAL || b->nvips == BIRD_VIPS_MAX)
		return;
	for (j = 0; j < b->nvips && memcmp(&b->vips[j].addr, a, sizeof(*a)); j++)
		;
	if (j < b->nvips)
		return;
	memset(&b->vips[b->nvips], 0, sizeof(b->vips[0]));
	b->vips[b->nvips++].addr = *a;
}

/* The VIPs of s's bgp section: its list, or every nat/ipip service address. */
static void collect_vips(struct bgp *b, const struct state *s)
{
	size_t i;

	b->nvips = 0;
	if (!b->conf.all) {
		memcpy(b->vips, b->conf.vips, b->conf.nvips * sizeof(b->vips[0]));
		b->nvips = b->conf.nvips;
		return;
	}
	for (i = 0; i < s->nservices; i++)
		vip_add_unique(b, &s->services[i].key.addr, s->services[i].mode);
}

/* VIP i's text and state carried over from old (a VIP kept: no flap). */
static void vip_carry(struct bgp *b, size_t i, const struct bgp *old)
{
	size_t j;

	if (addr_format(&b->vips[i].addr, b->info[i].text, sizeof(b->info[i].text)))
		snprintf(b->info[i].text, sizeof(b->info[i].text), "?");
	for (j = 0; old && j < old->nvips; j++)
		if (!memcmp(&old->vips[j].addr, &b->vips[i].addr, sizeof(b->vips[i].addr))) {
			b->up[i] = old->up[j];
			b->info[i] = old->info[j];
		}
}

static int in_prefixes(const struct bird_conf *c, const union sluice_addr *a)
{
	size_t i;

	for (i = 0; i < c->nprefixes; i++)
		if (bird_prefix_contains(&c->prefixes[i], a))
			return 1;
	return 0;
}

/*
 * vips: all follows the services commands add and delete between config
 * applies: the VIPs are collected again from the maps (a kept VIP keeps
 * its state; one whose last service went is withdrawn and leaves).
 */
static void follow_services(struct daemon *d, struct bgp *b)
{
	struct maps_svc_entry *e = NULL;
	struct bgp *was;
	size_t n = 0, i, j;

	if (!b->conf.all || maps_svc_list(&d->maps, &e, &n)) {
		err_clear();
		return;
	}
	was = malloc(sizeof(*was));
	if (!was) {
		free(e);
		return;
	}
	memcpy(was, b, sizeof(*was));
	b->nvips = 0;
	/* Outside the prefixes (a --local command bypassed the check): never announced. */
	for (i = 0; i < n; i++)
		if (in_prefixes(&b->conf, &e[i].key.addr))
			vip_add_unique(b, &e[i].key.addr, e[i].svc.mode);
	free(e);
	for (i = 0; i < b->nvips; i++) {
		memset(&b->info[i], 0, sizeof(b->info[i]));
		b->up[i] = 0;
		vip_carry(b, i, was);
	}
	for (j = 0; j < was->nvips; j++) {
		for (i = 0; i < b->nvips &&
			    memcmp(&b->vips[i].addr, &was->vips[j].addr, sizeof(b->vips[i].addr));
		     i++)
			;
		if (i < b->nvips)
			continue;
		/* Its last service went: said once, then it leaves the include. */
		log_info("bgp: VIP %s leaves (no nat or ipip service has it any more)",
			 was->info[j].text);
		b->dirty = 1;
	}
	if (b->nvips != was->nvips)
		b->dirty = 1;
	free(was);
}

int bgp_command_check(struct daemon *d, const struct sluice_cmd *cmd)
{
	const struct bgp *b = d->bgp;
	char a[ADDR_STRLEN];

	if (!b || !b->conf.all || cmd->kind != CMD_SERVICE_ADD || !cmd->service.conf.has_mode ||
	    cmd->service.conf.mode == SLUICE_MODE_LOCAL || in_prefixes(&b->conf, &cmd->svc.addr))
		return 0;
	if (addr_format(&cmd->svc.addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	err_set("service address %s lies outside the bgp section's prefixes, and vips: all "
		"announces every nat and ipip service address: add a prefix that holds it "
		"(config apply), or list the VIPs to announce",
		a);
	return -EINVAL;
}

/* The bgp section left the config: an include with none of our protocols. */
static void bgp_stop(struct daemon *d, struct bgp *b)
{
	call_cancel(d, b);
	b->conf.npeers = 0;
	b->nvips = 0;
	/* Once, as the section goes (b is freed next): blocking, within BIRD_TIMEOUT_MS. */
	if (include_write(b) || bird_configure(b->conf.socket)) {
		log_warn("bgp: no bgp section any more, but BIRD still has sluiced's protocols: %s",
			 *b->error ? b->error : err_msg());
		err_clear();
		return;
	}
	log_info("bgp: no bgp section any more: BIRD reconfigured without sluiced's protocols");
}

const struct bird_conf *bgp_conf(const struct daemon *d)
{
	return d->bgp ? &d->bgp->conf : NULL;
}

void bgp_sync(struct daemon *d, const struct state *s)
{
	struct bgp *b = d->bgp, *old = b;
	size_t i;

	if (!s->bgp.enabled) {
		if (b) {
			bgp_stop(d, b);
			bgp_close(d);
		}
		return;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		log_err("bgp: out of memory");
		return;
	}
	bird_call_init(&b->call);
	b->src.fd = -1;
	b->src.fn = on_bird;
	b->conf = s->bgp;
	collect_vips(b, s);
	/* A VIP kept across the apply keeps its state: no flap. */
	for (i = 0; i < b->nvips; i++)
		vip_carry(b, i, old);
	if (s->has_ifaces && s->nifaces) {
		b->ifaces = calloc(s->nifaces, sizeof(*b->ifaces));
		for (i = 0; b->ifaces && i < s->nifaces; i++)
			snprintf(b->ifaces[i], IF_NAMESIZE, "%s", s->ifaces[i].name);
		b->nifaces = b->ifaces ? s->nifaces : 0;
	}
	if (hstate_path_of(d->socket_path, BIRD_STATUS_FILE, b->status_path,
			   sizeof(b->status_path)))
		b->status_path[0] = 0;
	b->dirty = 1;
	if (old) {
		/* A config apply does not end a drain. */
		b->drain = old->drain;
		b->stop_when_drained = old->stop_when_drained;
		b->drain_start_ms = old->drain_start_ms;
		b->drain_deadline_ms = old->drain_deadline_ms;
		b->drain_flows = old->drain_flows;
		memcpy(b->drain_why, old->drain_why, sizeof(b->drain_why));
		call_cancel(d, old);
		d->bgp = NULL;
		free(old->ifaces);
		free(old->status_text);
		free(old);
	} else {
		/* The first section since the start: before anything is announced. */
		drain_restore(d, b);
	}
	d->bgp = b;
	log_info("bgp: AS %u, %zu peers, %zu VIPs (%s), BIRD at %s, include %s", b->conf.asn,
		 b->conf.npeers, b->nvips, b->conf.all ? "every service address" : "listed",
		 b->conf.socket, b->conf.include);
	bgp_tick(d);
}

void bgp_metrics(struct daemon *d, FILE *f)
{
	struct bgp *b = d->bgp;
	char a[ADDR_STRLEN];
	size_t i;

	if (!b)
		return;
	fprintf(f, "# HELP sluice_bgp_announced 1 while this gateway announces the VIP over BGP\n"
		   "# TYPE sluice_bgp_announced gauge\n");
	for (i = 0; i < b->nvips; i++)
		fprintf(f, "sluice_bgp_announced{vip=\"%s\"} %d\n", b->info[i].text,
			b->up[i] && b->configured);
	fprintf(f, "# HELP sluice_bgp_session_up 1 while the BGP session with the peer is "
		   "established\n"
		   "# TYPE sluice_bgp_session_up gauge\n");
	for (i = 0; i < b->conf.npeers; i++) {
		const struct bird_proto *s = session_of(b, i);

		if (addr_format(&b->conf.peers[i].addr, a, sizeof(a)))
			snprintf(a, sizeof(a), "?");
		fprintf(f, "sluice_bgp_session_up{peer=\"%s\",address=\"%s\"} %d\n",
			b->conf.peers[i].name, a, s && !strcmp(s->info, "Established"));
	}
	fprintf(f,
		"# HELP sluice_bgp_reconfigures_total BIRD reconfigurations sluiced asked for\n"
		"# TYPE sluice_bgp_reconfigures_total counter\n"
		"sluice_bgp_reconfigures_total{result=\"ok\"} %llu\n"
		"sluice_bgp_reconfigures_total{result=\"failed\"} %llu\n",
		(unsigned long long)b->reconfigures, (unsigned long long)b->reconfigure_failures);
}

void bgp_close(struct daemon *d)
{
	struct bgp *b = d->bgp;

	if (!b)
		return;
	call_cancel(d, b);
	if (b->status_path[0])
		unlink(b->status_path);
	free(b->ifaces);
	free(b->status_text);
	free(b);
	d->bgp = NULL;
}
