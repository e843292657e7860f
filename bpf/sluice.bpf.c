// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice_xdp: the XDP entry of the Sluice data plane.
 *
 * Calls the stages of bpf/lib in order: parse -> service match -> rate
 * limit. Each stage returns SLUICE_CONTINUE or the reason that decides the
 * packet; every path leaves through the one exit at the bottom, which
 * counts the packet by reason (and per service for a service verdict) and
 * maps the reason to the XDP action (katran's balancer_ingress has the same
 * shape). Only the rate-limit drops drop; everything else, including
 * malformed packets, passes to the host's stack untouched.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"
#include "service.h"
#include "ratelimit.h"
#include "stats.h"

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	struct sluice_pkt pkt = {};
	struct sluice_svc *svc = NULL;
	__u32 svc_id = SLUICE_NO_SVC;
	int reason;

	reason = sluice_parse(ctx, &pkt);
	if (reason != SLUICE_CONTINUE)
		goto out;
	reason = sluice_service_match(&pkt, &svc);
	if (reason != SLUICE_CONTINUE || !svc)
		goto out;
	/* From here on every reason is a verdict on this service. */
	svc_id = svc->id;
	/* Mode local is the only mode: admission only, then the stack. */
	reason = sluice_ratelimit(&pkt, svc);
	if (reason != SLUICE_CONTINUE)
		goto out;
	reason = SLUICE_R_ADMITTED;
out:
	sluice_count(ctx, reason, svc_id);
	return sluice_reason_action(reason);
}

char LICENSE[] SEC("license") = "GPL";
