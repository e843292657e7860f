// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of userspace/core/out.c: the signed, bool and null printers in
 * text and in JSON mode, beside the unsigned and string ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "out.h"

struct capture {
	char *text;
	size_t len;
	FILE *f;
};

static void capture_start(struct capture *c, int json)
{
	c->text = NULL;
	c->f = open_memstream(&c->text, &c->len);
	assert_non_null(c->f);
	out_set_files(c->f, c->f);
	assert_int_equal(out_start(json, 0), 0);
}

/* End the output and compare everything printed; frees the capture. */
static void capture_expect(struct capture *c, const char *want)
{
	out_end();
	fclose(c->f);
	out_set_files(NULL, NULL);
	assert_string_equal(c->text, want);
	free(c->text);
}

/* One object of every kind of value, and a list of them. */
static void print_values(void)
{
	out_open_obj(NULL);
	out_u64("u", "u %llu", 7);
	out_s64("s", " s %lld", -3);
	out_s64("z", " z %lld", 0);
	out_bool("up", " up %s", 1);
	out_bool("down", " down %s", 0);
	out_null("holder", " holder %s", "-");
	out_str("name", " %s", "web");
	out_s64("json_only", NULL, -1);
	out_bool("json_only_bool", NULL, 1);
	out_null("json_only_null", NULL, NULL);
	out_open_array("list");
	out_s64(NULL, " %lld", -9);
	out_bool(NULL, " %s", 0);
	out_null(NULL, " %s", "none");
	out_close_array();
	out_text("\n");
	out_close_obj();
}

static void test_out_text(void **state)
{
	struct capture c;

	(void)state;
	capture_start(&c, 0);
	print_values();
	capture_expect(&c, "u 7 s -3 z 0 up true down false holder - web -9 false none\n");
}

static void test_out_json(void **state)
{
	struct capture c;

	(void)state;
	capture_start(&c, 1);
	print_values();
	capture_expect(&c, "{\"u\":7,\"s\":-3,\"z\":0,\"up\":true,\"down\":false,\"holder\":null,"
			   "\"name\":\"web\",\"json_only\":-1,\"json_only_bool\":true,"
			   "\"json_only_null\":null,\"list\":[-9,false,null]}\n");
}

/* A keyless value outside an array has no place in the document: dropped. */
static void test_out_json_keyless_outside_an_array(void **state)
{
	struct capture c;

	(void)state;
	capture_start(&c, 1);
	out_s64(NULL, "%lld", -1);
	out_bool(NULL, "%s", 1);
	out_null(NULL, "%s", "-");
	out_s64("n", "%lld", INT64_MIN);
	capture_expect(&c, "{\"n\":-9223372036854775808}\n");
}

static void test_out_error_replaces_the_document(void **state)
{
	struct capture c;

	(void)state;
	capture_start(&c, 1);
	out_bool("up", "%s", 1);
	out_null("x", "%s", "-");
	out_error("cannot read %s", "the maps");
	capture_expect(&c, "{\"error\":\"cannot read the maps\"}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_text),
		cmocka_unit_test(test_out_json),
		cmocka_unit_test(test_out_json_keyless_outside_an_array),
		cmocka_unit_test(test_out_error_replaces_the_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
