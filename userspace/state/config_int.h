/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The configuration file's insides, shared by its files and by nothing else
 * (config.h is the API):
 *   config_yaml.c      walking libyaml's node tree: errors at a node's
 *                      position, mappings checked against key tables, values
 *                      through the CLI's parsers
 *   config_sections.c  the sections: health checks, daemon, cluster,
 *                      interfaces, gateway, bulkhead, and the file's root
 *   config_service.c   services: resilience, backends, shards, write port,
 *                      leader
 *   config_bgp.c       the bgp section (VIPs announced through BIRD)
 *   config_dump.c      a state back into YAML
 *   config.c           loading a file, and the plan that applies it
 */
#ifndef SLUICE_CONFIG_INT_H
#define SLUICE_CONFIG_INT_H

#include <stddef.h>
#include <yaml.h>
#include <linux/types.h>

#include "state.h"

struct cfg {
	const char *file;
	yaml_document_t doc;
	struct state *s;
};

/* config_yaml.c */
/* An error at node n: -EINVAL with "FILE:LINE:COL: message". */
int config_fail(const struct cfg *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *config_kind_name(const yaml_node_t *n);
yaml_node_t *config_node(struct cfg *c, int id);
int config_scalar(const struct cfg *c, const yaml_node_t *n, const char *key, const char *expected,
		  const char **text);
int config_walk_map(struct cfg *c, yaml_node_t *n, const char *where, const char *const *keys,
		    size_t nkeys, yaml_node_t **vals, yaml_node_t **knodes);
int config_value_fail(const struct cfg *c, const yaml_node_t *n, const char *key);
int config_v_u32(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 min, __u32 max,
		 __u32 *out);
int config_v_count(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 max,
		   __u32 *out);
int config_v_seconds(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 min_ms,
		     __u32 max_ms, __u32 *ms);
int config_v_onoff(const struct cfg *c, const yaml_node_t *n, const char *key, int *on);
int config_v_string(const struct cfg *c, const yaml_node_t *n, const char *key, char *buf,
		    size_t len);
int config_v_list(const struct cfg *c, const yaml_node_t *n, const char *key, const char *expected,
		  char *buf, size_t len);

/* config_sections.c */
int config_parse_health(struct cfg *c, yaml_node_t *n, int need_type, int role,
			struct state_health *h);
int config_parse_root(struct cfg *c, yaml_node_t *root);

/* config_service.c */
int config_parse_services(struct cfg *c, yaml_node_t *n);

/* config_bgp.c (after the services: it checks their addresses) */
int config_parse_bgp(struct cfg *c, yaml_node_t *n);

#endif
