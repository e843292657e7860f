// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of userspace/ctl.c, the control socket's request parser and
 * line builders: valid requests, malformed JSON, wrong member types,
 * unknown members and ops, oversized requests and argv, NUL bytes, and the
 * request/reply round trips.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl.h"
#include "err.h"

static int parse(const char *s, struct ctl_request *r)
{
	return ctl_request_parse(s, strlen(s), r);
}

static void test_valid(void **state)
{
	struct ctl_request r;

	(void)state;
	assert_int_equal(parse("{\"argv\": [\"service\", \"add\", \"192.0.2.1\", \"80\", \"tcp\"], "
			       "\"json\": true}",
			       &r),
			 0);
	assert_int_equal(r.op, CTL_OP_RUN);
	assert_int_equal(r.argc, 5);
	assert_string_equal(r.argv[0], "service");
	assert_string_equal(r.argv[4], "tcp");
	assert_null(r.argv[5]);
	assert_int_equal(r.json, 1);
	assert_int_equal(r.pretty, 0);
	assert_null(r.pin_root);
	ctl_request_free(&r);

	assert_int_equal(parse("{\"argv\":[\"iface\",\"attach\",\"eth0\"],\"pretty\":true,"
			       "\"pin_root\":\"/sys/fs/bpf/x\"}  \r",
			       &r),
			 0);
	assert_int_equal(r.pretty, 1);
	assert_string_equal(r.pin_root, "/sys/fs/bpf/x");
	ctl_request_free(&r);

	assert_int_equal(parse("{\"op\":\"subscribe\"}", &r), 0);
	assert_int_equal(r.op, CTL_OP_SUBSCRIBE);
	assert_int_equal(r.argc, 0);
	ctl_request_free(&r);

	assert_int_equal(parse("{\"op\":\"ping\"}", &r), 0);
	assert_int_equal(r.op, CTL_OP_PING);
	ctl_request_free(&r);

	/* Unicode and escapes survive. */
	assert_int_equal(parse("{\"argv\":[\"a\\\"b\",\"\\u00e9\"]}", &r), 0);
	assert_string_equal(r.argv[0], "a\"b");
	assert_string_equal(r.argv[1], "\xc3\xa9");
	ctl_request_free(&r);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"{",
		"{\"argv\": [\"service\"",
		"[\"service\", \"add\"]",
		"\"argv\"",
		"42",
		"null",
		"{\"argv\": [\"service\"]} trailing",
		"{\"argv\": [\"service\"]}{\"argv\": [\"x\"]}",
		"{\"argv\": \"service add\"}",
		"{\"argv\": []}",
		"{\"argv\": [1, 2]}",
		"{\"argv\": [\"service\", null]}",
		"{\"argv\": [[\"nested\"]]}",
		"{\"argv\": [\"service\"], \"json\": 1}",
		"{\"argv\": [\"service\"], \"json\": \"yes\"}",
		"{\"argv\": [\"service\"], \"pin_root\": 5}",
		"{\"op\": 5}",
		"{\"json\": true}",
		"{}",
		"{\"op\": \"subscribe\", \"argv\": [\"service\"]}",
		"{\"argv\": [\"a\\u0000b\"]}",
	};
	struct ctl_request r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear();
		memset(&r, 0x5a, sizeof(r));
		assert_true(parse(bad[i], &r) < 0);
		assert_true(strlen(err_msg()) > 0);
		assert_null(r.argv);
		assert_int_equal(r.argc, 0);
		ctl_request_free(&r); /* empty: a no-op */
	}
	/* A NUL byte inside the line. */
	assert_int_equal(ctl_request_parse("{\"argv\":[\"a\"]}\0x", 16, &r), -EINVAL);
}

static void test_unknown(void **state)
{
	struct ctl_request r;

	(void)state;
	err_clear();
	assert_int_equal(parse("{\"op\": \"reboot\"}", &r), -EINVAL);
	assert_non_null(strstr(err_msg(), "unknown op"));
	err_clear();
	assert_int_equal(parse("{\"argv\": [\"service\"], \"sudo\": true}", &r), -EINVAL);
	assert_non_null(strstr(err_msg(), "unknown request member"));
}

static void test_oversized(void **state)
{
	size_t n = CTL_REQUEST_MAX + 1, i;
	char *big = malloc(n + 1);
	struct ctl_request r;
	char *line;
	char **argv;
	int len;

	(void)state;
	assert_non_null(big);
	/* A valid JSON document, one byte too long. */
	memset(big, ' ', n);
	memcpy(big, "{\"argv\":[\"x\"]}", 14);
	big[n] = '\0';
	assert_int_equal(ctl_request_parse(big, n, &r), -E2BIG);
	assert_non_null(strstr(err_msg(), "at most"));
	/* Exactly the limit is fine. */
	assert_int_equal(ctl_request_parse(big, CTL_REQUEST_MAX, &r), 0);
	ctl_request_free(&r);
	free(big);

	/* Too many words. */
	argv = calloc(CTL_ARGS_MAX + 1, sizeof(*argv));
	assert_non_null(argv);
	for (i = 0; i < CTL_ARGS_MAX + 1; i++)
		argv[i] = "w";
	line = ctl_request_build(CTL_ARGS_MAX + 1, argv, 0, 0, NULL, 0);
	assert_non_null(line);
	len = (int)strlen(line) - 1;
	assert_int_equal(ctl_request_parse(line, (size_t)len, &r), -E2BIG);
	free(line);
	line = ctl_request_build(CTL_ARGS_MAX, argv, 0, 0, NULL, 0);
	assert_int_equal(ctl_request_parse(line, strlen(line) - 1, &r), 0);
	assert_int_equal(r.argc, CTL_ARGS_MAX);
	ctl_request_free(&r);
	free(line);
	free(argv);
}

static void test_round_trip(void **state)
{
	char *argv[] = { "backend",  "add",  "198.19.0.10", "80", "tcp",
			 "10.0.0.1", "port", "8080",	    NULL };
	struct ctl_request r;
	struct ctl_reply rep;
	char *line;

	(void)state;
	line = ctl_request_build(8, argv, 1, 0, "/sys/fs/bpf/sluice", 0);
	assert_non_null(line);
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_int_equal(ctl_request_parse(line, strlen(line) - 1, &r), 0);
	assert_int_equal(r.argc, 8);
	assert_string_equal(r.argv[7], "8080");
	assert_int_equal(r.json, 1);
	assert_string_equal(r.pin_root, "/sys/fs/bpf/sluice");
	ctl_request_free(&r);
	free(line);

	line = ctl_reply_build(1, "out\n\"x\"", "sluice: bad\n", 42);
	assert_non_null(line);
	assert_int_equal(ctl_reply_parse(line, &rep), 0);
	assert_int_equal(rep.rc, 1);
	assert_string_equal(rep.out, "out\n\"x\"");
	assert_string_equal(rep.err, "sluice: bad\n");
	assert_int_equal(rep.seq, 42);
	ctl_reply_free(&rep);
	free(line);

	line = ctl_reply_build(2, NULL, "refused", -1);
	assert_int_equal(ctl_reply_parse(line, &rep), 0);
	assert_int_equal(rep.rc, 2);
	assert_string_equal(rep.out, "");
	assert_int_equal(rep.seq, -1);
	ctl_reply_free(&rep);
	free(line);

	assert_true(ctl_reply_parse("not json", &rep) < 0);
	assert_true(ctl_reply_parse("{\"out\":\"x\"}", &rep) < 0);
}

/* A reply with "out" or "err" null (found by tests/fuzz/fuzz_ctl): empty, not a crash. */
static void test_reply_null(void **state)
{
	struct ctl_reply rep;

	(void)state;
	assert_int_equal(ctl_reply_parse("{\"rc\": 0, \"out\": null, \"err\": null}", &rep), 0);
	assert_string_equal(rep.out, "");
	assert_string_equal(rep.err, "");
	ctl_reply_free(&rep);
}

/* An apply request: the line names the file and the size of the body that follows it. */
static void test_apply(void **state)
{
	static const char *const bad[] = {
		"{\"op\":\"apply\",\"name\":\"/x.yaml\"}",			  /* no size */
		"{\"op\":\"apply\",\"size\":3}",				  /* no name */
		"{\"op\":\"apply\",\"name\":\"/x\",\"size\":-1}",		  /* negative */
		"{\"op\":\"apply\",\"name\":\"/x\",\"size\":4194305}",		  /* > 4 MiB */
		"{\"op\":\"apply\",\"name\":\"/x\",\"size\":\"3\"}",		  /* not a number */
		"{\"op\":\"apply\",\"name\":\"/x\\ny\",\"size\":3}",		  /* control char */
		"{\"op\":\"apply\",\"name\":\"\",\"size\":3}",			  /* empty name */
		"{\"op\":\"ping\",\"name\":\"/x\",\"size\":3}",			  /* not an apply */
		"{\"argv\":[\"config\",\"apply\"],\"size\":3}",			  /* not an apply */
		"{\"op\":\"apply\",\"argv\":[\"x\"],\"name\":\"/x\",\"size\":1}", /* argv */
	};
	struct ctl_request r;
	char *line;
	size_t i;

	(void)state;
	line = ctl_apply_build("/etc/sluice/sluiced.yaml", 4194304, "/sys/fs/bpf/p");
	assert_non_null(line);
	assert_int_equal(parse(line, &r), 0);
	assert_int_equal(r.op, CTL_OP_APPLY);
	assert_string_equal(r.name, "/etc/sluice/sluiced.yaml");
	assert_int_equal(r.size, CTL_BODY_MAX);
	assert_string_equal(r.pin_root, "/sys/fs/bpf/p");
	assert_int_equal(r.argc, 0);
	ctl_request_free(&r);
	free(line);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(parse(bad[i], &r) < 0);
		assert_null(r.name);
	}
}

/* Who may do what: reads (ping, events) for the read role, the rest needs admin. */
static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(ctl_op_role(CTL_OP_PING), CTL_ROLE_READ);
	assert_int_equal(ctl_op_role(CTL_OP_SUBSCRIBE), CTL_ROLE_READ);
	assert_int_equal(ctl_op_role(CTL_OP_RUN), CTL_ROLE_ADMIN);
	assert_int_equal(ctl_op_role(CTL_OP_APPLY), CTL_ROLE_ADMIN);
	assert_int_equal(ctl_op_role(CTL_OP_COMPACT), CTL_ROLE_ADMIN);
	/* An op this table does not know needs the most. */
	assert_int_equal(ctl_op_role((enum ctl_op)99), CTL_ROLE_ADMIN);
	assert_string_equal(ctl_op_what(CTL_OP_APPLY), "config apply");
	assert_string_equal(ctl_role_name(CTL_ROLE_READ), "read");
	assert_string_equal(ctl_role_name((enum ctl_role)7), "none");
}

static void test_socket_path(void **state)
{
	(void)state;
	unsetenv("SLUICE_SOCKET");
	assert_string_equal(ctl_socket_path(NULL, "/run/d"), "/run/d");
	assert_string_equal(ctl_socket_path("/x", "/run/d"), "/x");
	setenv("SLUICE_SOCKET", "/env", 1);
	assert_string_equal(ctl_socket_path(NULL, "/run/d"), "/env");
	assert_string_equal(ctl_socket_path("/x", "/run/d"), "/x");
	unsetenv("SLUICE_SOCKET");
	/* No daemon at a path that does not exist: -ENOENT, the CLI's cue to run locally. */
	assert_int_equal(ctl_connect("/nonexistent/sluiced.sock"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),	   cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unknown),	   cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_round_trip), cmocka_unit_test(test_socket_path),
		cmocka_unit_test(test_reply_null), cmocka_unit_test(test_apply),
		cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
