/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one table of enum sluice_reason names (text and JSON keys) and
 * descriptions. Nothing else spells a reason name.
 */
#ifndef SLUICE_REASON_H
#define SLUICE_REASON_H

#include "sluice_abi.h"

/* snake_case name of a reason ("drop_svc_rate"), or NULL when out of range. */
const char *reason_name(unsigned int reason);

/* One-line description, or NULL when out of range. */
const char *reason_desc(unsigned int reason);

/* 1 when the reason is a service verdict (also counted per service). */
int reason_is_service(unsigned int reason);

/* The reason named name, or -ENOENT. */
int reason_from_name(const char *name);

#endif /* SLUICE_REASON_H */
