/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One print path for text and JSON, in the iproute2 manner: every value is
 * printed once with its JSON key and its text format. In text mode the text
 * format goes to stdout as it comes; in JSON mode (-j) a json-c document is
 * built and printed by out_end(). A NULL key prints text only; a NULL format
 * prints JSON only.
 *
 *   out_start(json, 0);
 *   out_open_array("services");
 *   out_open_obj(NULL);
 *   out_u64("port", " port %llu", 80);    -> text " port 80", JSON "port": 80
 *   out_close_obj();
 *   out_close_array();
 *   out_end();
 *
 * The document is an object, unless the first call opens a keyless array:
 * then that array is the document (bpftool's `-j ... show` lists).
 *
 * Errors: out_error() prints "sluice: <message>" on stderr in text mode; in
 * JSON mode the document is dropped and {"error": "<message>"} is printed
 * instead, so a script sees either a result or an error, never half of one.
 */
#ifndef SLUICE_OUT_H
#define SLUICE_OUT_H

#include <linux/types.h>
#include <stdio.h>

/* Begin output; json selects -j, pretty indents the JSON. 0 or -ENOMEM. */
int out_start(int json, int pretty);

/* 1 in JSON mode. */
int out_is_json(void);

/*
 * Open an object/array under key (key NULL: appended to the enclosing array,
 * or the document itself when nothing was output yet).
 */
void out_open_obj(const char *key);
void out_close_obj(void);
void out_open_array(const char *key);
void out_close_array(void);

/*
 * A value: JSON key and text printf format (one %llu / %lld / %s conversion).
 * A NULL key inside an array appends the value to it (a list of strings).
 * out_bool is JSON true/false, and "true"/"false" for the text's %s;
 * out_null is JSON null, and text for the text's %s (say "-" or "none").
 */
void out_u64(const char *key, const char *fmt, __u64 value);
void out_s64(const char *key, const char *fmt, __s64 value);
void out_str(const char *key, const char *fmt, const char *value);
void out_bool(const char *key, const char *fmt, int value);
void out_null(const char *key, const char *fmt, const char *text);

/*
 * A whole JSON value under key (key NULL and nothing output yet: the
 * document itself); JSON mode only. The caller keeps its reference.
 */
struct json_object;
void out_json(const char *key, struct json_object *value);

/* Text-mode only output (headers, separators, newlines). */
void out_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report the command's error (see above). The first error wins. */
void out_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A warning on stderr in both modes (stdout stays parseable). */
void out_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print the JSON document or error and release everything. */
void out_end(void);

/*
 * Drop the JSON document unprinted (text mode: nothing to do): a command
 * printing JSON lines starts each line's document itself and must not
 * leave an empty one behind when it printed none.
 */
void out_discard(void);

/*
 * Where text, the JSON document and messages go: o for output, e for errors
 * and warnings (NULL: stdout, stderr). Kept across out_start()/out_end().
 */
void out_set_files(FILE *o, FILE *e);
FILE *out_file(void);
FILE *out_err_file(void);

/*
 * Nesting (a command that runs commands, like `journal replay`): out_push()
 * saves the whole output state (document, error, files) and starts clean;
 * out_pop() puts it back and frees the saved copy. out_push() returns NULL
 * when out of memory (out_pop(NULL) does nothing).
 */
struct out_saved;
struct out_saved *out_push(void);
void out_pop(struct out_saved *s);

/*
 * Capture a whole output (a command run for someone else: the daemon's
 * control socket, a journal replay) into memory: out_capture_begin() saves
 * the current output (out_push()), points it at two memory streams and
 * starts a document (out_start(json, pretty)); out_capture_end() ends it
 * (out_end()), puts the saved output back and leaves the text in c->out
 * and c->err (malloc'ed, NUL-terminated, "" when nothing; free() them).
 * 0 or -ENOMEM (nothing to end then).
 */
struct out_capture {
	struct out_saved *saved;
	FILE *o, *e;
	char *out, *err;
	size_t out_len, err_len;
};
int out_capture_begin(struct out_capture *c, int json, int pretty);
void out_capture_end(struct out_capture *c);

#endif /* SLUICE_OUT_H */
