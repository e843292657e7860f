// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * This host's addresses in sl_local_addr (martian sources for the data
 * plane, bpf/lib/hygiene.h), kept true while sluiced runs: an rtnetlink
 * address event triggers a full sync (loader_local_addrs_sync), as does
 * the start. And the next hops the data plane caches in its flows
 * (bpf/lib/nhcache.h): every address, route or link event, and a
 * neighbour's new MAC, failure or removal, makes them stale
 * (loader_nh_gen_bump), as does the start. Whatever fails is
 * tried again every second; with nothing pinned yet there is nothing to do
 * (the loader fills the maps at attach).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "addrwatch.h"
#include "err.h"
#include "loader.h"
#include "sluiced.h"

struct localaddr {
	struct loop_src src;
	struct addrwatch *w;
	int pending;	/* a sync to do (or redo: the last one failed) */
	int nh_pending; /* a bump to do (or redo) */
};

static void nh_bump(struct daemon *d)
{
	int err = loader_nh_gen_bump_root(d->pin_root);

	if (err && err != -ENOENT) {
		if (!d->local->nh_pending)
			log_warn("cached next hops not made stale in %s: %s (trying again)",
				 SLUICE_MAP_NH_GEN, err_msg());
		d->local->nh_pending = 1;
		return;
	}
	d->local->nh_pending = 0;
}

static void localaddr_sync(struct daemon *d)
{
	struct loader_local_sync res;
	int err;

	err = loader_local_addrs_sync_root(d->pin_root, &res);
	if (err == -ENOENT) {
		d->local->pending = 0; /* not pinned: the attach fills it */
		return;
	}
	if (err) {
		if (!d->local->pending)
			log_warn("this host's addresses not updated in %s: %s (trying again)",
				 SLUICE_MAP_LOCAL_ADDR, err_msg());
		d->local->pending = 1;
		return;
	}
	d->local->pending = 0;
	log_msg("debug", "this host's addresses: %zu in %s, %zu removed", res.count,
		SLUICE_MAP_LOCAL_ADDR, res.removed);
	if (res.skipped)
		log_warn("%zu of this host's addresses past %d not checked as martian sources",
			 res.skipped, SLUICE_LOCAL_ADDR_ENTRIES);
}

static void on_event(struct daemon *d, struct loop_src *src, __u32 events)
{
	int changed;

	(void)src;
	(void)events;
	changed = addrwatch_drain(d->local->w);
	if (changed & ADDRWATCH_ADDR)
		localaddr_sync(d);
	if (changed & ADDRWATCH_NH)
		nh_bump(d);
}

int localaddr_open(struct daemon *d)
{
	struct localaddr *l = calloc(1, sizeof(*l));
	int err;

	if (!l) {
		err_set("out of memory");
		return -ENOMEM;
	}
	err = addrwatch_open(&l->w);
	if (err) {
		free(l);
		return err;
	}
	l->src.fd = addrwatch_fd(l->w);
	l->src.fn = on_event;
	err = loop_add(d, &l->src, EPOLLIN);
	if (err) {
		err_set("cannot watch address events: %s", strerror(-err));
		addrwatch_close(l->w);
		free(l);
		return err;
	}
	d->local = l;
	/* Subscribed first: a change during these is seen again. */
	localaddr_sync(d);
	nh_bump(d);
	return 0;
}

void localaddr_tick(struct daemon *d)
{
	if (d->local && d->local->pending)
		localaddr_sync(d);
	if (d->local && d->local->nh_pending)
		nh_bump(d);
}

void localaddr_close(struct daemon *d)
{
	if (!d->local)
		return;
	loop_del(d, &d->local->src);
	addrwatch_close(d->local->w);
	free(d->local);
	d->local = NULL;
}
