/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The last error message of the library. A library function that fails
 * returns -errno and, where it understands the failure, says what went wrong
 * and what to do with err_set(). The caller (the CLI, the daemon's log and
 * control socket) prints or sends err_msg() once; the library never prints.
 */
#ifndef SLUICE_ERR_H
#define SLUICE_ERR_H

/*
 * Record the message of the failure being returned; replaces any earlier
 * one, which may itself be an argument (wrapping err_msg() is safe).
 */
void err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last message, or "" when none was recorded since err_clear(). */
const char *err_msg(void);

void err_clear(void);

/*
 * The text to report for err (-errno): the last message when one was
 * recorded, else strerror(-err).
 */
const char *err_text(int err);

#endif /* SLUICE_ERR_H */
