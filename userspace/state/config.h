/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The declarative configuration file (YAML, libyaml's document API) into a
 * struct state, and a state back into YAML. The schema is documented, with
 * every key, in tools/sluiced.example.yaml.
 *
 * Loading validates everything with the parsers the CLI uses (args.h,
 * addr.h, res.h, shard.h, rate.h, backend.h) plus the rules that span keys
 * (a duplicate service, a backend of the other family, a fallback or shard
 * member that is not a backend of the service, ...). It never touches a
 * map: an invalid file changes nothing. Every error is -EINVAL (-ENOMEM,
 * -errno of the file's open) with err_set("FILE:LINE:COLUMN: what was
 * expected"), lines and columns counted from 1.
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include "maps.h"
#include "state.h"

/* The largest configuration (file or text) loaded; more is -EFBIG. */
#define CONFIG_SIZE_MAX (4u << 20)
/* The deepest nesting of YAML lists and mappings loaded; more is -EINVAL. */
#define CONFIG_DEPTH_MAX 64

/*
 * Load and validate the file at path into s (state_init()ed first; sorted
 * on return). Only a regular file is read (a FIFO or a device is -EINVAL:
 * it could block or never end), up to CONFIG_SIZE_MAX bytes.
 */
int config_load(const char *path, struct state *s);

/*
 * Read the file at path as config_load() does (a regular file, at most
 * CONFIG_SIZE_MAX bytes) into *text (malloc'ed, NUL-terminated; *len bytes
 * without the NUL). 0 or -errno with err_set("PATH: what is wrong").
 */
int config_read(const char *path, char **text, size_t *len);

/* The same from text in memory; name stands for the file name in messages. */
int config_load_string(const char *name, const char *text, size_t len, struct state *s);

/*
 * Write s as YAML that config_load() reads back into the same state:
 * interfaces (when s->has_ifaces), gateway, bulkhead, services with every
 * setting that is not at its default (write port, route and leader source
 * included), backends and shards, hosts (when s->has_hosts); the daemon
 * section only where it differs
 * from the defaults; the cluster section when s->cluster.enabled.
 */
int config_dump(FILE *f, const struct state *s);

/*
 * The commands that apply the file at path to the maps under pin_root: load
 * and validate it, read what is pinned (state_read_maps()), then
 * state_diff(); when nothing is pinned yet, state_to_commands() of the file.
 * *to (may be NULL) receives the loaded state (state_free() it). Nothing is
 * emitted when the file is invalid.
 */
int config_plan(const char *path, const char *pin_root, state_emit_fn emit, void *ctx,
		struct state *to);

/* The same from text in memory (the daemon never opens a path a client names). */
int config_plan_string(const char *name, const char *text, size_t len, const char *pin_root,
		       state_emit_fn emit, void *ctx, struct state *to);

#endif /* SLUICE_CONFIG_H */
