/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The libFuzzer entry point every harness in tests/fuzz/ defines. The same
 * harness links two ways: with libFuzzer (clang -fsanitize=fuzzer) for
 * `make fuzz`, and with replay.c's main() (the normal compiler) for `make
 * test`, which feeds it every file of its corpus. A harness returns 0 and
 * abort()s (fuzz_check) when an invariant breaks; crashes and sanitizer
 * reports speak for themselves.
 */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the run, saying which invariant broke (libFuzzer keeps the input). */
#define fuzz_check(cond, ...)                                                                \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, \
				#cond);                                                      \
			fprintf(stderr, __VA_ARGS__);                                        \
			fputc('\n', stderr);                                                 \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* data as a NUL-terminated copy (malloc'd; NULL: no memory). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		for (size_t i = 0; i < size; i++)
			s[i] = (char)data[i];
		s[size] = '\0';
	}
	return s;
}

#endif /* SLUICE_FUZZ_H */
