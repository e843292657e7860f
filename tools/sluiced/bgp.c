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
 * deadline. The state lives in the daemon: a
 * restarted daemon announces again.
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
#include "err.h"
#include "hstate.h"
#include "journal.h"
#include "loader.h"
#include "sluiced.h"
#include "state.h"

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

static void evaluate(struct daemon *d, struct bgp *b)
{
	struct backend_info *list = NULL;
	char xdp[96], why[128];
	size_t n = 0, i;
	int up;

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

/* Write the include and reconfigure BIRD when something changed. */
static void push(struct daemon *d, struct bgp *b)
{
	char *text;
	int err;

	(void)d;
	if (!b->dirty)
		return;
	text = bird_render(&b->conf, b->vips, b->up, b->nvips);
	if (!text) {
		set_error(b, err_msg());
		return;
	}
	err = hstate_write(b->conf.include, text);
	free(text);
	if (err) {
		char msg[PATH_MAX + 128];

		snprintf(msg, sizeof(msg), "cannot write %s: %s (does its folder exist?)",
			 b->conf.include, strerror(-err));
		set_error(b, msg);
		b->reconfigure_failures++;
		return;
	}
	err = bird_configure(b->conf.socket);
	if (err) {
		set_error(b, err_msg());
		err_clear();
		b->reconfigure_failures++;
		b->configured = 0;
		return;
	}
	b->reconfigures++;
	b->configured = 1;
	b->dirty = 0;
	set_error(b, "");
}

/* The peer's line of the last `show protocols`, or NULL. */
static const struct bird_proto *session_of(const struct bgp *b, size_t peer)
{
	return b->sess_known && b->sess[peer].name[0] ? &b->sess[peer] : NULL;
}

static void poll_sessions(struct daemon *d, struct bgp *b)
{
	struct bird_proto *all, prev[BIRD_PEERS_MAX];
	char *reply = NULL, name[64];
	size_t n, i, j;
	int code;

	memcpy(prev, b->sess, sizeof(prev));
	if (bird_cmd(b->conf.socket, "show protocols", BIRD_TIMEOUT_MS, &reply, &code)) {
		set_error(b, err_msg());
		err_clear();
		b->sess_known = 0;
		b->dirty = 1; /* BIRD restarted or gone: push again once it answers */
		return;
	}
	all = calloc(256, sizeof(*all));
	n = all ? bird_protocols_parse(reply, all, 256) : 0;
	free(reply);
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
	const char *what = drain ? "drain" : "undrain";
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
	} else {
		b->drain = 0;
		log_info("bgp: gateway undrained: announcing again what it can serve");
		drain_event(d, "undrain", b);
	}
	bgp_tick(d);
	for (i = 0; i < b->nvips; i++)
		n += b->up[i];
	if (json)
		return drain_reply(json, 0, out,
				   "{\"drain\":\"%s\",\"vips\":%zu,\"announced\":%zu,"
				   "\"configured\":%s,\"active_flows\":%lld}\n",
				   drain ? "draining" : "off", b->nvips, n,
				   b->configured ? "true" : "false", (long long)b->drain_flows);
	if (!drain)
		return drain_reply(json, 0, out, "undrained: %zu of %zu VIPs announced (%s)\n", n,
				   b->nvips, b->configured ? "BIRD reconfigured" : b->error);
	return drain_reply(json, 0, out,
			   "draining: %zu of %zu VIPs announced (%s), %lld active flows; progress: "
			   "sluice bgp show, sluice events\n",
			   n, b->nvips, b->configured ? "BIRD reconfigured" : b->error,
			   (long long)b->drain_flows);
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
	poll_sessions(d, b);
	push(d, b);
	status_write(d, b);
}

/* The VIPs of s's bgp section: its list, or every nat/ipip service address. */
static void collect_vips(struct bgp *b, const struct state *s)
{
	size_t i, j;

	b->nvips = 0;
	if (!b->conf.all) {
		memcpy(b->vips, b->conf.vips, b->conf.nvips * sizeof(b->vips[0]));
		b->nvips = b->conf.nvips;
		return;
	}
	for (i = 0; i < s->nservices && b->nvips < BIRD_VIPS_MAX; i++) {
		const union sluice_addr *a = &s->services[i].key.addr;

		if (s->services[i].mode == SLUICE_MODE_LOCAL)
			continue;
		for (j = 0; j < b->nvips && memcmp(&b->vips[j].addr, a, sizeof(*a)); j++)
			;
		if (j < b->nvips)
			continue;
		memset(&b->vips[b->nvips], 0, sizeof(b->vips[0]));
		b->vips[b->nvips++].addr = *a;
	}
}

/* The bgp section left the config: an include with none of our protocols. */
static void bgp_stop(struct daemon *d, struct bgp *b)
{
	b->conf.npeers = 0;
	b->nvips = 0;
	b->dirty = 1;
	push(d, b);
	log_info("bgp: no bgp section any more: BIRD reconfigured without sluiced's protocols");
}

void bgp_sync(struct daemon *d, const struct state *s)
{
	struct bgp *b = d->bgp, *old = b;
	size_t i, j;

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
	b->conf = s->bgp;
	collect_vips(b, s);
	/* A VIP kept across the apply keeps its state: no flap. */
	for (i = 0; i < b->nvips; i++) {
		if (addr_format(&b->vips[i].addr, b->info[i].text, sizeof(b->info[i].text)))
			snprintf(b->info[i].text, sizeof(b->info[i].text), "?");
		for (j = 0; old && j < old->nvips; j++)
			if (!memcmp(&old->vips[j].addr, &b->vips[i].addr,
				    sizeof(b->vips[i].addr))) {
				b->up[i] = old->up[j];
				b->info[i] = old->info[j];
			}
	}
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
		d->bgp = NULL;
		free(old->ifaces);
		free(old->status_text);
		free(old);
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
	if (b->status_path[0])
		unlink(b->status_path);
	free(b->ifaces);
	free(b->status_text);
	free(b);
	d->bgp = NULL;
}
