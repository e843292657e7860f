// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control protocol's decoding (userspace/net/ctl.c): any line is parsed
 * as a request (run, apply, ...) and as a reply; what parses is built again, and the built
 * line must parse back to the same request or reply.
 */
#include <string.h>

#include "ctl.h"
#include "fuzz.h"

static void request(const uint8_t *data, size_t size)
{
	struct ctl_request a, b;
	char *line;
	int i;

	if (ctl_request_parse((const char *)data, size, &a))
		return;
	fuzz_check(a.op >= CTL_OP_RUN && a.op <= CTL_OP_APPLY, "op %d", a.op);
	if (a.op == CTL_OP_APPLY) {
		fuzz_check(a.name && a.size <= CTL_BODY_MAX, "apply of %zu bytes", a.size);
		line = ctl_apply_build(a.name, a.size, a.pin_root);
		fuzz_check(line, "ctl_apply_build");
		fuzz_check(!ctl_request_parse(line, strlen(line) - 1, &b), "rebuilt apply: %s",
			   line);
		fuzz_check(b.op == CTL_OP_APPLY && b.size == a.size && !strcmp(a.name, b.name),
			   "rebuilt apply differs: %s", line);
		ctl_request_free(&b);
		free(line);
	} else {
		fuzz_check(!a.name && !a.size, "name or size without apply");
	}
	fuzz_check(a.argc >= 0 && a.argc <= CTL_ARGS_MAX, "argc %d", a.argc);
	if (a.op == CTL_OP_RUN) {
		fuzz_check(a.argc > 0 && a.argv[a.argc] == NULL, "argv of %d", a.argc);
		line = ctl_request_build(a.argc, a.argv, a.json, a.pretty, a.pin_root, a.batch);
		fuzz_check(line, "ctl_request_build");
		fuzz_check(line[strlen(line) - 1] == '\n', "no newline");
		fuzz_check(!ctl_request_parse(line, strlen(line) - 1, &b), "rebuilt request: %s",
			   line);
		fuzz_check(b.argc == a.argc && b.json == a.json && b.pretty == a.pretty,
			   "rebuilt request differs: %s", line);
		for (i = 0; i < a.argc; i++)
			fuzz_check(!strcmp(a.argv[i], b.argv[i]), "argv[%d] differs", i);
		fuzz_check(!a.pin_root == !b.pin_root &&
				   (!a.pin_root || !strcmp(a.pin_root, b.pin_root)),
			   "pin_root differs");
		ctl_request_free(&b);
		free(line);
	}
	ctl_request_free(&a);
}

static void reply(const uint8_t *data, size_t size)
{
	struct ctl_reply a, b;
	char *text = fuzz_strndup(data, size), *line;

	if (!text)
		return;
	if (!ctl_reply_parse(text, &a)) {
		fuzz_check(a.out && a.err, "reply without out or err");
		line = ctl_reply_build(a.rc, a.out, a.err, a.seq);
		fuzz_check(line, "ctl_reply_build");
		fuzz_check(!ctl_reply_parse(line, &b), "rebuilt reply: %s", line);
		fuzz_check(a.rc == b.rc && !strcmp(a.out, b.out) && !strcmp(a.err, b.err) &&
				   (a.seq < 0 ? b.seq < 0 : a.seq == b.seq),
			   "rebuilt reply differs: %s", line);
		ctl_reply_free(&b);
		ctl_reply_free(&a);
		free(line);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	request(data, size);
	reply(data, size);
	return 0;
}
