// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl_local_addr: this host's own addresses, which the data plane drops as
 * martian sources (bpf/lib/hygiene.h). One sync makes the map hold exactly
 * the addresses configured now (getifaddrs: every interface, IPv4 and
 * IPv6, in the caller's network namespace): the loader runs it at attach,
 * sluiced again on every rtnetlink address event.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "loader.h"
#include "sluice_abi.h"

/* addr as the maps hold it: IPv4 v4-mapped. 0, or -EAFNOSUPPORT for another family. */
static int sockaddr_key(const struct sockaddr *sa, union sluice_addr *key)
{
	memset(key, 0, sizeof(*key));
	if (sa->sa_family == AF_INET) {
		key->u16[5] = 0xffff;
		memcpy(&key->u32[3], &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(key->u8, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static int key_in(const union sluice_addr *v, size_t n, const union sluice_addr *k)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!memcmp(&v[i], k, sizeof(*k)))
			return 1;
	return 0;
}

int loader_local_addrs_sync(int map_fd, struct loader_local_sync *res)
{
	union sluice_addr *want = NULL, key, next;
	struct sluice_local_addr val;
	struct ifaddrs *ifa = NULL, *i;
	size_t n = 0;
	int err = 0, more;

	if (res)
		memset(res, 0, sizeof(*res));
	if (getifaddrs(&ifa)) {
		err = -errno;
		err_set("cannot list this host's addresses: %s", strerror(-err));
		return err;
	}
	want = calloc(SLUICE_LOCAL_ADDR_ENTRIES, sizeof(*want));
	if (!want) {
		err = -ENOMEM;
		err_set("out of memory");
		goto out;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || sockaddr_key(i->ifa_addr, &key))
			continue;
		if (key_in(want, n, &key))
			continue; /* the same address on two interfaces */
		if (n == SLUICE_LOCAL_ADDR_ENTRIES) {
			if (res)
				res->skipped++;
			continue;
		}
		want[n++] = key;
		memset(&val, 0, sizeof(val));
		val.ifindex = if_nametoindex(i->ifa_name);
		if (bpf_map_update_elem(map_fd, &key, &val, BPF_ANY)) {
			err = -errno;
			err_set("cannot write %s: %s", SLUICE_MAP_LOCAL_ADDR, strerror(-err));
			goto out;
		}
	}
	/* Then whatever the map holds that is no longer configured. */
	more = !bpf_map_get_next_key(map_fd, NULL, &key);
	while (more) {
		more = !bpf_map_get_next_key(map_fd, &key, &next);
		if (!key_in(want, n, &key)) {
			if (bpf_map_delete_elem(map_fd, &key) && errno != ENOENT) {
				err = -errno;
				err_set("cannot update %s: %s", SLUICE_MAP_LOCAL_ADDR,
					strerror(-err));
				goto out;
			}
			if (res)
				res->removed++;
		}
		key = next;
	}
	if (res)
		res->count = n;
out:
	free(want);
	freeifaddrs(ifa);
	return err;
}

int loader_pin_open(const char *root, const char *name)
{
	char path[PATH_MAX];
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", root, name) >= (int)sizeof(path)) {
		err_set("pin root '%s' is too long", root);
		return -ENAMETOOLONG;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		err_set("cannot open %s: %s", path, strerror(-err));
		return err;
	}
	return fd;
}

int loader_local_addrs_sync_root(const char *root, struct loader_local_sync *res)
{
	int fd = loader_pin_open(root, SLUICE_MAP_LOCAL_ADDR), err;

	if (fd < 0)
		return fd;
	err = loader_local_addrs_sync(fd, res);
	close(fd);
	return err;
}
