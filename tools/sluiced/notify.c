// SPDX-License-Identifier: GPL-2.0-only
/*
 * The systemd notify protocol (Type=notify), through libsystemd's
 * sd_notify(): READY=1 once the config is applied and the control socket
 * serves; RELOADING=1 (with MONOTONIC_USEC, which systemd >= 253 checks and
 * older ones ignore) before a SIGHUP re-apply, READY=1 after it; STOPPING=1
 * on SIGTERM; STATUS= a one-line summary (services, backends, open
 * breakers, the config's fate), sent when it changes; WATCHDOG=1 from a
 * timerfd in the event loop at half of WatchdogSec= (only when systemd set
 * WATCHDOG_USEC), so a loop stuck in one handler misses its pings and
 * systemd restarts the daemon. Without NOTIFY_SOCKET every call is a no-op.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "maps.h"
#include "sluiced.h"

struct notify {
	struct loop_src wd; /* watchdog timerfd, fd -1 when systemd set none */
	char status[256];   /* last STATUS= sent */
	char config[160];   /* the config's fate, for STATUS= */
	struct sluice_backend *backends;
	struct sluice_breaker *breakers;
};

static int notify_enabled(void)
{
	const char *s = getenv("NOTIFY_SOCKET");

	return s && *s;
}

static void send_msg(const char *msg)
{
	static int warned; /* once: a gone socket must not flood the log every second */
	int rc = sd_notify(0, msg);

	if (rc < 0 && !warned++)
		log_warn("cannot notify systemd (%s): %s; not saying it again", msg, strerror(-rc));
}

static void on_watchdog(struct daemon *d, struct loop_src *src, __u32 events)
{
	__u64 buf;

	(void)d;
	(void)events;
	while (read(src->fd, &buf, sizeof(buf)) > 0)
		;
	send_msg("WATCHDOG=1");
}

/* "N services, M backends, K breakers open; CONFIG" from the maps. */
static void summary(struct daemon *d, char *buf, size_t len)
{
	struct notify *n = d->notify;
	struct maps_svc_entry *svcs = NULL;
	size_t nsvc = 0, nbe = 0, nopen = 0, i;

	if (maps_svc_list(&d->maps, &svcs, &nsvc))
		err_clear();
	free(svcs);
	if (!maps_read_backends(&d->maps, n->backends) &&
	    !maps_read_breakers(&d->maps, n->breakers)) {
		for (i = 0; i < SLUICE_MAX_BACKENDS; i++) {
			if (n->backends[i].state == SLUICE_BE_UNUSED)
				continue;
			nbe++;
			nopen += n->breakers[i].state != SLUICE_BRK_CLOSED;
		}
	} else {
		err_clear();
	}
	snprintf(buf, len, "%zu service%s, %zu backend%s, %zu breaker%s open or half-open%s%s",
		 nsvc, nsvc == 1 ? "" : "s", nbe, nbe == 1 ? "" : "s", nopen, nopen == 1 ? "" : "s",
		 n->config[0] ? "; " : "", n->config);
}

void notify_status(struct daemon *d)
{
	struct notify *n = d->notify;
	char s[sizeof(n->status)], msg[sizeof(n->status) + 8];

	if (!n)
		return;
	summary(d, s, sizeof(s));
	if (!strcmp(s, n->status))
		return;
	snprintf(n->status, sizeof(n->status), "%s", s);
	snprintf(msg, sizeof(msg), "STATUS=%s", s);
	send_msg(msg);
}

void notify_config(struct daemon *d, int err)
{
	struct notify *n = d->notify;

	if (!n || !d->config_path)
		return;
	if (err)
		snprintf(n->config, sizeof(n->config), "config %s NOT applied (see the log)",
			 d->config_path);
	else
		snprintf(n->config, sizeof(n->config), "config %s applied", d->config_path);
}

void notify_ready(struct daemon *d)
{
	if (!d->notify)
		return;
	/* STATUS first: a READY=1 watcher sees the summary with it. */
	notify_status(d);
	send_msg("READY=1");
}

void notify_reloading(struct daemon *d)
{
	char msg[64];

	if (!d->notify)
		return;
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)clock_mono_us());
	send_msg(msg);
}

void notify_stopping(struct daemon *d)
{
	if (d->notify)
		send_msg("STOPPING=1");
}

int notify_open(struct daemon *d)
{
	struct notify *n;
	uint64_t usec = 0;
	int rc;

	if (!notify_enabled())
		return 0;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->wd.fd = -1;
	n->backends = calloc(SLUICE_MAX_BACKENDS, sizeof(*n->backends));
	n->breakers = calloc(SLUICE_MAX_BACKENDS, sizeof(*n->breakers));
	d->notify = n;
	if (!n->backends || !n->breakers) {
		notify_close(d);
		return -ENOMEM;
	}
	rc = sd_watchdog_enabled(0, &usec);
	if (rc < 0)
		log_warn("systemd watchdog: %s (not pinging)", strerror(-rc));
	if (rc > 0 && usec) {
		/* Ping at half the period, as sd_watchdog_enabled(3) advises. */
		__u64 half = usec / 2;
		struct itimerspec it = {
			.it_interval = { (time_t)(half / 1000000), (long)(half % 1000000) * 1000 },
		};

		it.it_value = it.it_interval;
		n->wd.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		n->wd.fn = on_watchdog;
		if (n->wd.fd < 0 || timerfd_settime(n->wd.fd, 0, &it, NULL) ||
		    loop_add(d, &n->wd, EPOLLIN)) {
			rc = -errno;
			notify_close(d);
			return rc;
		}
		/* The start (maps, config) may outlast a short period: one ping now. */
		send_msg("WATCHDOG=1");
		log_info("systemd watchdog: pinging every %llu ms",
			 (unsigned long long)half / 1000);
	}
	return 0;
}

void notify_close(struct daemon *d)
{
	struct notify *n = d->notify;

	if (!n)
		return;
	if (n->wd.fd >= 0) {
		loop_del(d, &n->wd);
		close(n->wd.fd);
	}
	free(n->backends);
	free(n->breakers);
	free(n);
	d->notify = NULL;
}
