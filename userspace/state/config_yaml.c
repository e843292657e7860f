// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Walking the configuration's YAML node tree (config_int.h): an error at
 * a node's position (FILE:LINE:COLUMN), a mapping checked against its
 * section's key table, and scalar values through the CLI's parsers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "args.h"
#include "config_int.h"
#include "err.h"

int config_fail(const struct cfg *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set("%s:%zu:%zu: %s", c->file, n->start_mark.line + 1, n->start_mark.column + 1, msg);
	return -EINVAL;
}

const char *config_kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a value";
	}
}

yaml_node_t *config_node(struct cfg *c, int id)
{
	return yaml_document_get_node(&c->doc, id);
}

/* A scalar's text; an empty plain scalar, ~ or null is no value. */
int config_scalar(const struct cfg *c, const yaml_node_t *n, const char *key, const char *expected,
		  const char **text)
{
	const char *t;

	if (n->type != YAML_SCALAR_NODE)
		return config_fail(c, n, "%s: expected %s, found %s", key, expected,
				   config_kind_name(n));
	t = (const char *)n->data.scalar.value;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!*t || !strcmp(t, "~") || !strcmp(t, "null")))
		return config_fail(c, n, "%s: expected %s, found no value", key, expected);
	*text = t;
	return 0;
}

/*
 * Check mapping n against keys[0..nkeys): vals[i] receives the value of
 * keys[i] (NULL when absent), knodes[i] its key node. Unknown and duplicate
 * keys are errors.
 */
int config_walk_map(struct cfg *c, yaml_node_t *n, const char *where, const char *const *keys,
		    size_t nkeys, yaml_node_t **vals, yaml_node_t **knodes)
{
	yaml_node_pair_t *p;
	yaml_node_t *k;
	const char *name;
	char list[320];
	size_t i, used;

	memset(vals, 0, nkeys * sizeof(*vals));
	memset(knodes, 0, nkeys * sizeof(*knodes));
	if (n->type != YAML_MAPPING_NODE)
		return config_fail(c, n, "%s: expected a mapping (KEY: VALUE lines), found %s",
				   where, config_kind_name(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		k = config_node(c, p->key);
		if (k->type != YAML_SCALAR_NODE)
			return config_fail(c, k, "%s: expected a key name, found %s", where,
					   config_kind_name(k));
		name = (const char *)k->data.scalar.value;
		for (i = 0; i < nkeys && strcmp(keys[i], name); i++)
			;
		if (i == nkeys) {
			list[0] = 0;
			for (i = 0, used = 0; i < nkeys && used < sizeof(list) - 40; i++)
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
							 i ? ", " : "", keys[i]);
			if (i < nkeys)
				snprintf(list + used, sizeof(list) - used, ", ...");
			return config_fail(c, k, "unknown key '%s' in %s: expected one of %s", name,
					   where, list);
		}
		if (vals[i])
			return config_fail(c, k, "duplicate key '%s' in %s (first at line %zu)",
					   name, where, knodes[i]->start_mark.line + 1);
		vals[i] = config_node(c, p->value);
		knodes[i] = k;
	}
	return 0;
}

/* Wrap a CLI parser's message (err_msg()) with the node's position. */
int config_value_fail(const struct cfg *c, const yaml_node_t *n, const char *key)
{
	return config_fail(c, n, "%s: %s", key, err_msg());
}

int config_v_u32(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 min, __u32 max,
		 __u32 *out)
{
	const char *t;
	int err = config_scalar(c, n, key, "a number", &t);

	if (err)
		return err;
	if (args_parse_u32(t, min, max, key, out))
		return config_value_fail(c, n, key);
	return 0;
}

int config_v_count(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 max,
		   __u32 *out)
{
	const char *t;
	int err = config_scalar(c, n, key, "a number (k and m suffixes allowed)", &t);

	if (err)
		return err;
	if (args_parse_count(t, max, key, out))
		return config_value_fail(c, n, key);
	return 0;
}

int config_v_seconds(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 min_ms,
		     __u32 max_ms, __u32 *ms)
{
	const char *t;
	int err = config_scalar(c, n, key, "seconds (up to 3 decimals)", &t);

	if (err)
		return err;
	if (res_parse_seconds_ms(t, min_ms, max_ms, key, ms))
		return config_value_fail(c, n, key);
	return 0;
}

int config_v_onoff(const struct cfg *c, const yaml_node_t *n, const char *key, int *on)
{
	const char *t;
	int err = config_scalar(c, n, key, "on or off", &t);

	if (err)
		return err;
	if (!strcmp(t, "on") || !strcmp(t, "true") || !strcmp(t, "yes"))
		*on = 1;
	else if (!strcmp(t, "off") || !strcmp(t, "false") || !strcmp(t, "no"))
		*on = 0;
	else
		return config_fail(c, n, "%s: expected on or off, found '%s'", key, t);
	return 0;
}

int config_v_string(const struct cfg *c, const yaml_node_t *n, const char *key, char *buf,
		    size_t len)
{
	const char *t;
	int err = config_scalar(c, n, key, "a string", &t);

	if (err)
		return err;
	if (strlen(t) >= len)
		return config_fail(c, n, "%s: too long: at most %zu characters", key, len - 1);
	snprintf(buf, len, "%s", t);
	return 0;
}

/* A list of scalars (or one scalar) joined with commas into buf. */
int config_v_list(const struct cfg *c, const yaml_node_t *n, const char *key, const char *expected,
		  char *buf, size_t len)
{
	yaml_node_item_t *it;
	const char *t;
	size_t used = 0;
	int err;

	if (n->type == YAML_SCALAR_NODE) {
		err = config_scalar(c, n, key, expected, &t);
		if (err)
			return err;
		if (strlen(t) >= len)
			return config_fail(c, n, "%s: too long", key);
		snprintf(buf, len, "%s", t);
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return config_fail(c, n, "%s: expected a list of %s, found %s", key, expected,
				   config_kind_name(n));
	buf[0] = 0;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = config_node((struct cfg *)c, *it);

		err = config_scalar(c, v, key, expected, &t);
		if (err)
			return err;
		if (used + strlen(t) + 2 >= len)
			return config_fail(c, v, "%s: too many entries", key);
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", t);
	}
	if (!used)
		return config_fail(c, n, "%s: expected at least one %s", key, expected);
	return 0;
}
