// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The configuration file (see config.h and tools/sluiced.example.yaml):
 * libyaml loads the whole document (its own syntax errors, tabs and bad
 * indentation included, come back with their mark), then a walk over the
 * node tree checks every key against the section's table and every value
 * with the CLI's own parsers, building a struct state. Errors carry the
 * node's start mark. Nothing here opens a map except config_plan(), which
 * only reads them.
 *
 * Here: loading a file (the walk's parts: config_int.h), and the plan that
 * applies it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "config_int.h"
#include "err.h"
#include "maps.h"

static int yaml_fail(const char *file, const yaml_parser_t *p)
{
	const yaml_mark_t *m = &p->problem_mark;

	if (p->error == YAML_MEMORY_ERROR) {
		err_set("%s: out of memory", file);
		return -ENOMEM;
	}
	if (p->context)
		err_set("%s:%zu:%zu: invalid YAML: %s (%s at line %zu)", file, m->line + 1,
			m->column + 1, p->problem ? p->problem : "syntax error", p->context,
			p->context_mark.line + 1);
	else
		err_set("%s:%zu:%zu: invalid YAML: %s", file, m->line + 1, m->column + 1,
			p->problem ? p->problem : "syntax error");
	return -EINVAL;
}

/*
 * Refuse YAML nested deeper than CONFIG_DEPTH_MAX before libyaml builds the
 * document: its scanner rechecks every open level at each token, so 40 000
 * nested flow lists took 12 s. This pass stops at the first level too deep.
 */
static int depth_check(const char *name, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, err = 0, done = 0;

	if (!yaml_parser_initialize(&parser)) {
		err_set("%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !err) {
		if (!yaml_parser_parse(&parser, &ev)) {
			/* A syntax error: the load that follows reports it. */
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CONFIG_DEPTH_MAX) {
				err_set("%s:%zu:%zu: lists and mappings nested deeper than %d levels",
					name, ev.start_mark.line + 1, ev.start_mark.column + 1,
					CONFIG_DEPTH_MAX);
				err = -EINVAL;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return err;
}

int config_load_string(const char *name, const char *text, size_t len, struct state *s)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	struct cfg c;
	int err = 0, loaded = 0;

	state_init(s);
	memset(&c, 0, sizeof(c));
	c.file = name;
	c.s = s;
	if (len > CONFIG_SIZE_MAX) {
		err_set("%s: %zu bytes, larger than the %u MiB a configuration may be", name, len,
			CONFIG_SIZE_MAX >> 20);
		return -EFBIG;
	}
	err = depth_check(name, text, len);
	if (err)
		return err;
	if (!yaml_parser_initialize(&parser)) {
		err_set("%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &c.doc)) {
		err = yaml_fail(name, &parser);
		goto out;
	}
	loaded = 1;
	root = yaml_document_get_root_node(&c.doc);
	if (root) {
		yaml_document_t next;

		/* One document only: a second would be silently ignored. */
		if (!yaml_parser_load(&parser, &next)) {
			err = yaml_fail(name, &parser);
			goto out;
		}
		if (yaml_document_get_root_node(&next)) {
			yaml_node_t *r2 = yaml_document_get_root_node(&next);

			err_set("%s:%zu:%zu: a second YAML document: put everything in one", name,
				r2->start_mark.line + 1, r2->start_mark.column + 1);
			yaml_document_delete(&next);
			err = -EINVAL;
			goto out;
		}
		yaml_document_delete(&next);
		err = config_parse_root(&c, root);
	}
	if (!err)
		state_sort(s);
out:
	if (loaded)
		yaml_document_delete(&c.doc);
	yaml_parser_delete(&parser);
	if (err)
		state_free(s);
	return err;
}

int config_read(const char *path, char **text, size_t *len)
{
	struct stat st;
	ssize_t got;
	int fd, err = 0;
	char *buf;

	*text = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (fstat refuses it next). */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		err_set("%s: cannot open: %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		err_set("%s: cannot read: %s", path, strerror(-err));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("%s: not a regular file: a configuration is read from a file", path);
		err = -EINVAL;
		goto out;
	}
	if ((__u64)st.st_size > CONFIG_SIZE_MAX) {
		err_set("%s: %llu bytes, larger than the %u MiB a configuration may be", path,
			(unsigned long long)st.st_size, CONFIG_SIZE_MAX >> 20);
		err = -EFBIG;
		goto out;
	}
	/* One byte more than allowed: a file that grew meanwhile is caught below. */
	buf = malloc(CONFIG_SIZE_MAX + 1);
	if (!buf) {
		err_set("%s: out of memory", path);
		err = -ENOMEM;
		goto out;
	}
	while (*len <= CONFIG_SIZE_MAX) {
		got = read(fd, buf + *len, CONFIG_SIZE_MAX + 1 - *len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			err_set("%s: cannot read: %s", path, strerror(-err));
			free(buf);
			goto out;
		}
		if (!got)
			break;
		*len += (size_t)got;
	}
	if (*len > CONFIG_SIZE_MAX) {
		err_set("%s: larger than the %u MiB a configuration may be", path,
			CONFIG_SIZE_MAX >> 20);
		err = -EFBIG;
		free(buf);
		goto out;
	}
	buf[*len] = '\0';
	*text = buf;
out:
	if (err)
		*len = 0;
	close(fd);
	return err;
}

int config_load(const char *path, struct state *s)
{
	char *text;
	size_t len;
	int err;

	state_init(s);
	err = config_read(path, &text, &len);
	if (err)
		return err;
	err = config_load_string(path, text, len, s);
	free(text);
	return err;
}

/* The plan of want (consumed: moved to *to, or freed). */
static int plan_state(struct state *want, const char *pin_root, state_emit_fn emit, void *ctx,
		      struct state *to)
{
	struct state have;
	struct sluice_maps m;
	int err;

	maps_init(&m);
	state_init(&have);
	err = maps_open(&m, maps_pin_root(pin_root));
	if (err == -ENOENT) {
		err = state_to_commands(want, emit, ctx);
		goto out;
	}
	if (!err)
		err = state_read_maps(&m, &have);
	if (!err)
		err = state_diff(&have, want, emit, ctx);
out:
	maps_close(&m);
	state_free(&have);
	if (to && !err)
		*to = *want;
	else
		state_free(want);
	return err;
}

int config_plan(const char *path, const char *pin_root, state_emit_fn emit, void *ctx,
		struct state *to)
{
	struct state want;
	int err;

	err = config_load(path, &want);
	if (err)
		return err;
	return plan_state(&want, pin_root, emit, ctx, to);
}

int config_plan_string(const char *name, const char *text, size_t len, const char *pin_root,
		       state_emit_fn emit, void *ctx, struct state *to)
{
	struct state want;
	int err;

	err = config_load_string(name, text, len, &want);
	if (err)
		return err;
	return plan_state(&want, pin_root, emit, ctx, to);
}
