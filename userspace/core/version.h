/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The Sluice release version, shared by the CLI and the daemon. */
#ifndef SLUICE_VERSION_H
#define SLUICE_VERSION_H

#define SLUICE_VERSION "0.1.0"

#endif /* SLUICE_VERSION_H */
