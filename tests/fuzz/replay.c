// SPDX-License-Identifier: GPL-2.0-only
/*
 * The corpus replay: a main() for a harness built with the normal compiler.
 * `replay_NAME DIR|FILE...` feeds every file (a folder's files in name
 * order) to LLVMFuzzerTestOneInput once and prints a TAP line for each, so
 * tests/run.sh counts them. A harness that breaks an invariant aborts, and
 * run.sh reports the suite as crashed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int n_tests;

static int read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0, got;
	uint8_t *b = malloc(cap);

	if (!f || !b) {
		free(b);
		if (f)
			fclose(f);
		return errno ? -errno : -EIO;
	}
	while ((got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				fclose(f);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
	}
	fclose(f);
	*data = b;
	*size = n;
	return 0;
}

static void replay_file(const char *path)
{
	uint8_t *data = NULL;
	size_t size = 0;
	int err;

	n_tests++;
	err = read_file(path, &data, &size);
	if (err) {
		printf("not ok %d - %s: cannot read: %s\n", n_tests, path, strerror(-err));
		return;
	}
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	printf("ok %d - %s (%zu bytes)\n", n_tests, path, size);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	char path[4096];
	struct stat st;
	int i, k, n;

	for (i = 1; i < argc; i++) {
		struct dirent **names;

		if (stat(argv[i], &st) || !S_ISDIR(st.st_mode)) {
			replay_file(argv[i]);
			continue;
		}
		n = scandir(argv[i], &names, NULL, by_name);
		for (k = 0; k < n; k++) {
			snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
			if (!stat(path, &st) && S_ISREG(st.st_mode))
				replay_file(path);
			free(names[k]);
		}
		if (n > 0)
			free(names);
	}
	printf("1..%d\n", n_tests);
	return 0;
}
