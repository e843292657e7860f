// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration loader and its dump (userspace/state/config*.c): any
 * text is loaded; what loads is dumped, and the dump must load back into
 * the same state (config.h's promise, issue 13 F4), the bgp section
 * included (issue 14).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bird.h"
#include "config.h"
#include "err.h"
#include "fuzz.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state a, b;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (config_load_string("fuzz.yaml", (const char *)data, size, &a))
		return 0;
	f = open_memstream(&text, &len);
	fuzz_check(f, "open_memstream");
	fuzz_check(!config_dump(f, &a), "config_dump failed");
	fclose(f);
	fuzz_check(!config_load_string("dump.yaml", text, len, &b),
		   "the dump does not load: %s\n%s", err_msg(), text);
	fuzz_check(state_equal(&a, &b), "the dump loads back different:\n%s", text);
	fuzz_check(bird_conf_equal(&a.bgp, &b.bgp), "the bgp section loads back different:\n%s",
		   text);
	state_free(&a);
	state_free(&b);
	free(text);
	return 0;
}
