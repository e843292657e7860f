// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The last error message of the library: one buffer, set where a failure is
 * understood, read once by whoever reports it. Single-threaded by design (the
 * CLI and the daemon's event loop).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static char err_buf[512];

void err_set(const char *fmt, ...)
{
	char buf[sizeof(err_buf)];
	va_list ap;

	/* Through a copy: a caller may wrap the last message (err_msg() as an argument). */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(err_buf, buf, sizeof(err_buf));
}

const char *err_msg(void)
{
	return err_buf;
}

void err_clear(void)
{
	err_buf[0] = '\0';
}

const char *err_text(int err)
{
	return err_buf[0] ? err_buf : strerror(-err);
}
