// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The tracer's side of sl_trace_cfg and sl_trace (see tracing.h).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "maps.h"
#include "tracing.h"

struct trace {
	int cfg_fd;
	int ring_fd;
	struct ring_buffer *rb;
	trace_fn fn;
	void *ctx;
	int draining; /* drop what is read: records of an earlier tracer */
	int started;
	struct sluice_trace_cfg cfg; /* as last written */
};

static const struct maps_spec trace_specs[] = {
	{ SLUICE_MAP_TRACE_CFG, 0, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
	  sizeof(struct sluice_trace_cfg), 1, 0 },
	{ SLUICE_MAP_TRACE, 0, BPF_MAP_TYPE_RINGBUF, 0, 0, SLUICE_TRACE_BYTES, 0 },
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct trace *t = ctx;

	if (t->draining || size < sizeof(struct sluice_trace_rec))
		return 0;
	return t->fn(t->ctx, data);
}

int trace_open(const char *root, trace_fn fn, void *ctx, struct trace **out)
{
	struct trace *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	t->cfg_fd = t->ring_fd = -1;
	t->fn = fn;
	t->ctx = ctx;
	err = maps_open_spec(root, &trace_specs[0], &t->cfg_fd);
	if (!err)
		err = maps_open_spec(root, &trace_specs[1], &t->ring_fd);
	if (err == -ENOENT)
		err_set("no trace maps under %s: the data plane there predates sluice trace; "
			"re-attach (sluice iface attach DEV --force) to load this version",
			root);
	if (err)
		goto fail;
	t->rb = ring_buffer__new(t->ring_fd, on_record, t, NULL);
	if (!t->rb) {
		err = -errno;
		err_set("cannot read %s: %s", SLUICE_MAP_TRACE, strerror(-err));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	trace_close(t);
	return err;
}

static int cfg_write(struct trace *t, const struct sluice_trace_cfg *cfg)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(t->cfg_fd, &zero, cfg, BPF_ANY)) {
		int err = -errno;

		err_set("cannot write %s: %s", SLUICE_MAP_TRACE_CFG, strerror(-err));
		return err;
	}
	t->cfg = *cfg;
	return 0;
}

/* 1 when cfg is held by a tracer other than us that is alive and within its lease. */
static int held_by_other(const struct sluice_trace_cfg *cfg)
{
	if (!cfg->until || cfg->until < clock_mono_ns() || cfg->owner == (__u32)getpid())
		return 0;
	return cfg->owner && (!kill((pid_t)cfg->owner, 0) || errno == EPERM);
}

int trace_start(struct trace *t, const struct sluice_trace_cfg *filter)
{
	struct sluice_trace_cfg cur, cfg = *filter;
	__u32 zero = 0;
	int err;

	if (bpf_map_lookup_elem(t->cfg_fd, &zero, &cur)) {
		err = -errno;
		err_set("cannot read %s: %s", SLUICE_MAP_TRACE_CFG, strerror(-err));
		return err;
	}
	if (held_by_other(&cur)) {
		err_set("another sluice trace (pid %u) is running: one tracer at a time",
			cur.owner);
		return -EBUSY;
	}
	t->draining = 1;
	err = ring_buffer__consume(t->rb);
	t->draining = 0;
	if (err < 0) {
		err_set("cannot read %s: %s", SLUICE_MAP_TRACE, strerror(-err));
		return err;
	}
	if (cfg.snap > SLUICE_TRACE_SNAP_MAX)
		cfg.snap = SLUICE_TRACE_SNAP_MAX;
	cfg.owner = (__u32)getpid();
	cfg.until = clock_mono_ns() + SLUICE_TRACE_LEASE_NS;
	err = cfg_write(t, &cfg);
	if (!err)
		t->started = 1;
	return err;
}

int trace_renew(struct trace *t)
{
	struct sluice_trace_cfg cfg = t->cfg;

	if (!t->started)
		return 0;
	cfg.until = clock_mono_ns() + SLUICE_TRACE_LEASE_NS;
	return cfg_write(t, &cfg);
}

int trace_poll(struct trace *t, int timeout_ms)
{
	int n = ring_buffer__poll(t->rb, timeout_ms);

	if (n < 0 && n != -EINTR)
		err_set("cannot read %s: %s", SLUICE_MAP_TRACE, strerror(-n));
	return n;
}

int trace_stop(struct trace *t)
{
	struct sluice_trace_cfg off;
	__u32 zero = 0;

	if (!t || !t->started)
		return 0;
	t->started = 0;
	/* Only our own: a tracer that took over after our lease ran out keeps its. */
	if (!bpf_map_lookup_elem(t->cfg_fd, &zero, &off) && off.owner != t->cfg.owner)
		return 0;
	memset(&off, 0, sizeof(off));
	return cfg_write(t, &off);
}

void trace_close(struct trace *t)
{
	if (!t)
		return;
	trace_stop(t);
	ring_buffer__free(t->rb);
	if (t->cfg_fd >= 0)
		close(t->cfg_fd);
	if (t->ring_fd >= 0)
		close(t->ring_fd);
	free(t);
}

void trace_prefix_mask(__u32 bits, union sluice_addr *mask)
{
	__u32 i;

	memset(mask, 0, sizeof(*mask));
	if (bits > 128)
		bits = 128;
	for (i = 0; i < bits / 8; i++)
		mask->u8[i] = 0xff;
	if (bits % 8)
		mask->u8[bits / 8] = (__u8)(0xff << (8 - bits % 8));
}
