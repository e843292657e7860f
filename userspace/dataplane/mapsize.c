// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Sizes of the pinned maps (mapsize.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "err.h"
#include "mapsize.h"
#include "sluice_abi.h"

/* The memlock the kernel charges for map fd (its fdinfo line); 0 when not said. */
static __u64 fd_memlock(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Add map fd's figures to row r (the first map of a row sets its shape). */
static int row_add(struct map_size *r, int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	const char *t;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (!r->maps) {
		t = libbpf_bpf_map_type_str(info.type);
		snprintf(r->type, sizeof(r->type), "%s", t ? t : "unknown");
		r->key_size = info.key_size;
		r->value_size = info.value_size;
		r->flags = info.map_flags;
	}
	r->maps++;
	r->max_entries += info.max_entries;
	r->memlock += fd_memlock(fd);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct map_size *)a)->name, ((const struct map_size *)b)->name);
}

/* The inner maps sl_maglev (fd) points to, into row r. */
static void maglev_tables(int fd, struct map_size *r)
{
	__u32 i, id;

	snprintf(r->name, sizeof(r->name), "%s", MAPSIZE_MAGLEV_TABLES);
	for (i = 0; i < SLUICE_MAX_TABLES; i++) {
		int inner;

		if (bpf_map_lookup_elem(fd, &i, &id))
			continue;
		inner = bpf_map_get_fd_by_id(id);
		if (inner < 0)
			continue;
		row_add(r, inner);
		close(inner);
	}
}

int map_sizes(const char *pin_root, struct map_size **list, size_t *n)
{
	struct map_size *v = NULL, *grown;
	size_t cap = 0, count = 0;
	int maglev_fd = -1, err = 0;
	struct dirent *e;
	char path[4096];
	DIR *dir;

	*list = NULL;
	*n = 0;
	dir = opendir(pin_root);
	if (!dir) {
		err = -errno;
		err_set("cannot read %s: %s", pin_root, strerror(-err));
		return err;
	}
	while ((e = readdir(dir))) {
		int fd;

		if (e->d_type != DT_REG || strlen(e->d_name) >= sizeof(v->name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_root, e->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(v, (cap + 1) * sizeof(*v)); /* + the Maglev row */
			if (!grown) {
				close(fd);
				err_set("out of memory");
				err = -ENOMEM;
				break;
			}
			v = grown;
		}
		memset(&v[count], 0, sizeof(v[count]));
		memcpy(v[count].name, e->d_name, strlen(e->d_name) + 1); /* length checked above */
		/* Not a map (a program or link pin): left out. */
		if (row_add(&v[count], fd)) {
			close(fd);
			continue;
		}
		if (!strcmp(e->d_name, SLUICE_MAP_MAGLEV) && maglev_fd < 0)
			maglev_fd = fd;
		else
			close(fd);
		count++;
	}
	closedir(dir);
	if (!err && count) {
		qsort(v, count, sizeof(*v), cmp_name);
		if (maglev_fd >= 0) {
			memset(&v[count], 0, sizeof(v[count]));
			maglev_tables(maglev_fd, &v[count]);
			count++;
		}
	}
	if (maglev_fd >= 0)
		close(maglev_fd);
	if (err) {
		free(v);
		return err;
	}
	*list = v;
	*n = count;
	return 0;
}

int map_sizes_cpus(void)
{
	return libbpf_num_possible_cpus();
}
