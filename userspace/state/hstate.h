/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The daemon's health state file: what its active health checks last found,
 * for `sluice backend show`. sluiced writes it next to its control socket
 * (/run/sluice/health.json by default) atomically (a temporary file renamed
 * over it) whenever it changes, and removes it on exit:
 *
 *   {"pid": 1234, "pin_root": "/sys/fs/bpf/sluice", "backends":
 *     {"3": {"up": false, "why": "connection refused", "since": 1795000000}}}
 *
 * backends is keyed by backend id (only backends with a check); since is the
 * Unix time of the last transition (or of the check's start). A reader
 * trusts the file only while pid is alive and pin_root is its own: a file
 * left by a killed daemon, or one of a daemon on other pins, is ignored.
 */
#ifndef SLUICE_HSTATE_H
#define SLUICE_HSTATE_H

#include <stddef.h>
#include <linux/types.h>

#define HSTATE_FILE "health.json"
#define HSTATE_CLUSTER_FILE "cluster.json" /* sluiced's cluster status (cluster show) */
/*
 * sluiced's desired state (config dump): {"pid", "pin_root", "config":
 * YAML}, the pinned state with each service's health and leader settings
 * as last applied or adopted.
 */
#define HSTATE_DESIRED_FILE "desired.json"

/* The state file beside socket_path into buf: 0, or -ENAMETOOLONG. */
int hstate_path(const char *socket_path, char *buf, size_t len);

/* The file name beside socket_path into buf (hstate_path() for HSTATE_FILE). */
int hstate_path_of(const char *socket_path, const char *name, char *buf, size_t len);

/* Write text to path atomically (path.tmp, then rename). 0 or -errno. */
int hstate_write(const char *path, const char *text);

struct hstate;
struct json_object;

/*
 * Load any of these files (path) if its writer ("pid") is alive and serves
 * pin_root ("pin_root"; NULL: any): 0 and *doc (json_object_put() it), or
 * -ENOENT (no file, stale or foreign), -EINVAL (unparseable).
 */
int hstate_load_doc(const char *path, const char *pin_root, struct json_object **doc);

/*
 * Load path if its writer is alive and serves pin_root: 0 and *s (free
 * with hstate_free()), or -ENOENT (no file, stale or foreign: nothing to
 * say), -EINVAL (unparseable).
 */
int hstate_load(const char *path, const char *pin_root, struct hstate **s);
void hstate_free(struct hstate *s);

/*
 * Backend id's health: 0 with *up (1/0) and *why (valid until hstate_free),
 * or -ENOENT when the daemon does not check it.
 */
int hstate_backend(const struct hstate *s, __u32 id, int *up, const char **why);

#endif /* SLUICE_HSTATE_H */
