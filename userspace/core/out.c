// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Text and JSON output through one set of calls (see out.h). JSON mode keeps
 * a stack of open json-c containers; text mode is plain printf to the output
 * stream (stdout unless out_set_files() says otherwise).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

#define OUT_DEPTH 16

static struct out_state {
	int json;
	int pretty;
	int depth;	       /* entries in stack */
	int overflow;	       /* opens past OUT_DEPTH, ignored */
	int root_is_container; /* stack[0] came from a keyless open */
	struct json_object *stack[OUT_DEPTH];
	char error[512];
	int has_error;
} out;

/* Where output and messages go; NULL means stdout and stderr. */
static FILE *out_fp;
static FILE *err_fp;

struct out_saved {
	struct out_state state;
	FILE *out_fp;
	FILE *err_fp;
};

void out_set_files(FILE *o, FILE *e)
{
	out_fp = o;
	err_fp = e;
}

FILE *out_file(void)
{
	return out_fp ? out_fp : stdout;
}

FILE *out_err_file(void)
{
	return err_fp ? err_fp : stderr;
}

struct out_saved *out_push(void)
{
	struct out_saved *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	s->state = out;
	s->out_fp = out_fp;
	s->err_fp = err_fp;
	memset(&out, 0, sizeof(out));
	return s;
}

void out_pop(struct out_saved *s)
{
	if (!s)
		return;
	out = s->state;
	out_fp = s->out_fp;
	err_fp = s->err_fp;
	free(s);
}

int out_capture_begin(struct out_capture *c, int json, int pretty)
{
	memset(c, 0, sizeof(*c));
	c->o = open_memstream(&c->out, &c->out_len);
	c->e = open_memstream(&c->err, &c->err_len);
	c->saved = c->o && c->e ? out_push() : NULL;
	if (!c->saved) {
		if (c->o)
			fclose(c->o);
		if (c->e)
			fclose(c->e);
		free(c->out);
		free(c->err);
		memset(c, 0, sizeof(*c));
		return -ENOMEM;
	}
	out_set_files(c->o, c->e);
	out_start(json, pretty);
	return 0;
}

void out_capture_end(struct out_capture *c)
{
	out_end();
	out_pop(c->saved);
	c->saved = NULL;
	fclose(c->o);
	fclose(c->e);
	c->o = c->e = NULL;
}

int out_start(int json, int pretty)
{
	memset(&out, 0, sizeof(out));
	out.json = json;
	out.pretty = pretty;
	return 0;
}

/* The document's root: an object unless the first thing opened is a keyless array. */
static int ensure_root(void)
{
	if (out.depth)
		return 0;
	out.stack[0] = json_object_new_object();
	if (!out.stack[0])
		return -ENOMEM;
	out.depth = 1;
	return 0;
}

int out_is_json(void)
{
	return out.json;
}

static void add(const char *key, struct json_object *value)
{
	struct json_object *top;

	if (!value || ensure_root()) {
		json_object_put(value);
		return;
	}
	top = out.stack[out.depth - 1];
	if (json_object_is_type(top, json_type_array))
		json_object_array_add(top, value);
	else if (key)
		json_object_object_add(top, key, value);
	else
		json_object_put(value);
}

static void open_container(const char *key, struct json_object *c)
{
	if (!out.json)
		return;
	if (!c)
		return;
	/* A keyless container opened first is the document itself (a bare array). */
	if (!out.depth && !key) {
		out.stack[0] = c;
		out.depth = 1;
		out.root_is_container = 1;
		return;
	}
	if (ensure_root()) {
		json_object_put(c);
		return;
	}
	/* Too deep, or a keyless object inside an object: a caller bug; ignore it. */
	if (out.depth >= OUT_DEPTH || !out.depth ||
	    (!key && !json_object_is_type(out.stack[out.depth - 1], json_type_array))) {
		out.overflow++;
		json_object_put(c);
		return;
	}
	add(key, json_object_get(c));
	out.stack[out.depth++] = c;
	json_object_put(c); /* the parent holds it now */
}

void out_json(const char *key, struct json_object *value)
{
	if (!out.json || !value)
		return;
	json_object_get(value);
	/* Keyless and first: the document itself. */
	if (!out.depth && !key) {
		out.stack[0] = value;
		out.depth = 1;
		out.root_is_container = 1;
		return;
	}
	add(key, value);
}

static void close_container(void)
{
	if (!out.json)
		return;
	if (out.overflow) {
		out.overflow--;
		return;
	}
	if (out.depth > 1)
		out.depth--;
	else if (out.root_is_container)
		out.root_is_container = 0; /* closed the root; later values are ignored */
}

void out_open_obj(const char *key)
{
	if (out.json)
		open_container(key, json_object_new_object());
}

void out_close_obj(void)
{
	close_container();
}

void out_open_array(const char *key)
{
	if (out.json)
		open_container(key, json_object_new_array());
}

void out_close_array(void)
{
	close_container();
}

/* A keyless value goes into an enclosing array (a list of strings or numbers). */
static int in_array(void)
{
	return out.depth && !out.overflow &&
	       json_object_is_type(out.stack[out.depth - 1], json_type_array);
}

void out_u64(const char *key, const char *fmt, __u64 value)
{
	if (out.json) {
		if (key || in_array())
			add(key, json_object_new_uint64(value));
	} else if (fmt) {
		fprintf(out_file(), fmt, (unsigned long long)value);
	}
}

void out_s64(const char *key, const char *fmt, __s64 value)
{
	if (out.json) {
		if (key || in_array())
			add(key, json_object_new_int64(value));
	} else if (fmt) {
		fprintf(out_file(), fmt, (long long)value);
	}
}

void out_str(const char *key, const char *fmt, const char *value)
{
	if (out.json) {
		if (key || in_array())
			add(key, json_object_new_string(value));
	} else if (fmt) {
		fprintf(out_file(), fmt, value);
	}
}

void out_bool(const char *key, const char *fmt, int value)
{
	if (out.json) {
		if (key || in_array())
			add(key, json_object_new_boolean(value));
	} else if (fmt) {
		fprintf(out_file(), fmt, value ? "true" : "false");
	}
}

void out_null(const char *key, const char *fmt, const char *text)
{
	struct json_object *top;

	if (!out.json) {
		if (fmt)
			fprintf(out_file(), fmt, text);
		return;
	}
	/* json-c's null is a NULL value, which add() takes for a failed allocation. */
	if ((!key && !in_array()) || ensure_root())
		return;
	top = out.stack[out.depth - 1];
	if (json_object_is_type(top, json_type_array))
		json_object_array_add(top, NULL);
	else
		json_object_object_add(top, key, NULL);
}

void out_text(const char *fmt, ...)
{
	va_list ap;

	if (out.json)
		return;
	va_start(ap, fmt);
	vfprintf(out_file(), fmt, ap);
	va_end(ap);
}

void out_error(const char *fmt, ...)
{
	va_list ap;

	if (out.has_error)
		return;
	out.has_error = 1;
	va_start(ap, fmt);
	vsnprintf(out.error, sizeof(out.error), fmt, ap);
	va_end(ap);
	if (!out.json) {
		fflush(out_file());
		fprintf(out_err_file(), "sluice: %s\n", out.error);
	}
}

void out_warn(const char *fmt, ...)
{
	va_list ap;

	fflush(out_file());
	fprintf(out_err_file(), "sluice: warning: ");
	va_start(ap, fmt);
	vfprintf(out_err_file(), fmt, ap);
	va_end(ap);
	fprintf(out_err_file(), "\n");
}

void out_discard(void)
{
	if (!out.json)
		return;
	json_object_put(out.stack[0]); /* the root owns what was added under it */
	memset(&out, 0, sizeof(out));
}

void out_end(void)
{
	int flags = out.pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			       : JSON_C_TO_STRING_PLAIN;
	struct json_object *doc;

	if (!out.json) {
		fflush(out_file());
		return;
	}
	if (ensure_root()) {
		fprintf(out_file(), "{\"error\":\"out of memory\"}\n");
		return;
	}
	doc = out.stack[0];
	if (out.has_error) {
		json_object_put(doc);
		doc = json_object_new_object();
		if (doc)
			json_object_object_add(doc, "error", json_object_new_string(out.error));
	}
	if (doc)
		fprintf(out_file(), "%s\n",
			json_object_to_json_string_ext(doc,
						       flags | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		fprintf(out_file(), "{\"error\":\"out of memory\"}\n");
	fflush(out_file());
	json_object_put(doc);
	memset(&out, 0, sizeof(out));
}
