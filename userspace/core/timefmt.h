/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Wall-clock times as text, in ns since the epoch: what `sluice journal`
 * takes for --since/--at and prints for each record.
 */
#ifndef SLUICE_TIMEFMT_H
#define SLUICE_TIMEFMT_H

#include <stddef.h>
#include <linux/types.h>

/*
 * A time as ns since the epoch: RFC 3339 (2026-11-27T19:00:00Z, with
 * optional .fraction and a Z or +HH:MM / -HH:MM offset; a space may stand
 * for the T), relative to now_ns (-5m, -90s, -2h, -1d, +10s; "now"), or
 * @UNIX_SECONDS[.fraction]. -EINVAL with a message naming the forms, or
 * saying "out of range" for a time __u64 ns cannot hold (after
 * 2554-07-21T23:34:33Z; going back past the epoch stops at 0).
 */
int timefmt_parse(const char *text, __u64 now_ns, __u64 *ns);

/* ns as RFC 3339 UTC with milliseconds: 2026-11-27T19:00:00.123Z (buf >= 32). */
void timefmt_format(__u64 ns, char *buf, size_t size);

#endif /* SLUICE_TIMEFMT_H */
