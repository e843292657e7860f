// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Host-side loader: one instance of bpf/host.bpf.c per attached cgroup
 * (its cgroup id set in rodata before load, so the programs know their
 * scope), its maps pinned beside the data plane's, one pinned bpf_link per
 * program. See loader_host.h for the layout.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "err.h"
#include "loader.h"
#include "loader_host.h"
#include "loader_int.h"
#include "host.skel.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* The first cgroup2 mount in /proc/mounts into buf; -ENOENT when none. */
static int cgroup2_mount(char *buf, size_t len)
{
	char dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/mounts", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int loader_host_cgroup(const char *cgroup, char *out, size_t len, __u64 *cgid)
{
	char mnt[PATH_MAX], joined[PATH_MAX], real[PATH_MAX];
	struct statfs fs;
	struct stat st;
	int err;

	err = cgroup2_mount(mnt, sizeof(mnt));
	if (err) {
		err_set("no cgroup v2 filesystem is mounted (mount -t cgroup2 none /sys/fs/cgroup/unified)");
		return -ENOENT;
	}
	if (!cgroup[0]) {
		err_set("empty cgroup path: give a folder under %s", mnt);
		return -EINVAL;
	}
	if (cgroup[0] == '/')
		snprintf(joined, sizeof(joined), "%s", cgroup);
	else if (snprintf(joined, sizeof(joined), "%s/%s", mnt, cgroup) >= (int)sizeof(joined)) {
		err_set("cgroup path '%.40s...' is too long", cgroup);
		return -ENAMETOOLONG;
	}
	if (!realpath(joined, real) || stat(real, &st)) {
		err = -errno;
		err_set("no cgroup '%s': %s (give a cgroup v2 folder, absolute or relative to %s)",
			cgroup, strerror(-err), mnt);
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		err_set("'%s' is not a folder: give a cgroup v2 folder under %s", cgroup, mnt);
		return -ENOTDIR;
	}
	if (statfs(real, &fs) || fs.f_type != CGROUP2_SUPER_MAGIC) {
		err_set("'%s' is not a cgroup v2 folder (cgroup2 is mounted at %s)", cgroup, mnt);
		return -EINVAL;
	}
	if (strlen(real) >= len || strlen(real) >= SLUICE_HOST_PATH_MAX) {
		err_set("cgroup path '%.40s...' is too long (at most %d bytes)", real,
			SLUICE_HOST_PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	snprintf(out, len, "%s", real);
	/* A cgroup's id (bpf_get_current_cgroup_id) is its cgroup2 folder's inode number. */
	*cgid = st.st_ino;
	return 0;
}

static int host_dir(const char *root, __u64 cgid, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/host/%llu", root, (unsigned long long)cgid) >= (int)len) {
		err_set("pin root '%s' is too long", root);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int open_pinned(const char *root, const char *name)
{
	char path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		err_set("cannot open %s: %s", path, strerror(-err));
		return err;
	}
	return fd;
}

/* "ADDR PORT PROTO" of k. */
static void svc_text(const struct sluice_svc_key *k, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	if (addr_format(&k->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s %u %s", a, ntohs(k->port), args_proto_name(k->proto));
}

/* Every listed service must exist and have backends to balance over (not local). */
static int check_services(const char *root, const struct sluice_svc_key *svcs, size_t nsvc)
{
	struct sluice_svc svc;
	char text[96];
	size_t i;
	int fd, err = 0;

	if (!nsvc)
		return 0;
	fd = open_pinned(root, SLUICE_MAP_SERVICES);
	if (fd < 0)
		return fd;
	for (i = 0; i < nsvc && !err; i++) {
		svc_text(&svcs[i], text, sizeof(text));
		if (bpf_map_lookup_elem(fd, &svcs[i], &svc)) {
			err_set("no service %s (see 'sluice service show'); nothing attached",
				text);
			err = -ENOENT;
		} else if (svc.mode == SLUICE_MODE_LOCAL) {
			err_set("service %s is local (the host's own): there is nothing to balance; nothing attached",
				text);
			err = -EINVAL;
		}
	}
	close(fd);
	return err;
}

/*
 * Keys of sl_host_scope for cgid (the attachment's own entry included; all
 * of them when all), malloc'ed. A walk that deletes nothing.
 */
static int scope_keys(int fd, int all, __u64 cgid, struct sluice_host_scope_key **out, size_t *n)
{
	struct sluice_host_scope_key k, next, *keys = NULL, *grown;
	size_t cap = 0, cnt = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!all && next.cgid != cgid)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(keys, cap * sizeof(*keys));
			if (!grown) {
				free(keys);
				err_set("out of memory");
				return -ENOMEM;
			}
			keys = grown;
		}
		keys[cnt++] = next;
	}
	*out = keys;
	*n = cnt;
	return 0;
}

static int svc_listed(const struct sluice_svc_key *svcs, size_t nsvc,
		      const struct sluice_svc_key *k)
{
	size_t i;

	for (i = 0; i < nsvc; i++)
		if (!memcmp(&svcs[i], k, sizeof(*k)))
			return 1;
	return 0;
}

static int is_zero_svc(const struct sluice_svc_key *k)
{
	static const struct sluice_svc_key zero;

	return !memcmp(k, &zero, sizeof(zero));
}

/*
 * Make sl_host_scope say what cgid balances: the listed services first,
 * then the attachment's entry, then the services no longer listed go.
 * With remove, every entry of cgid goes (detach).
 */
static int scope_write(const char *root, __u64 cgid, const char *path,
		       const struct sluice_svc_key *svcs, size_t nsvc, int remove)
{
	struct sluice_host_scope_key key, *old = NULL;
	struct sluice_host_scope val;
	size_t n = 0, i;
	int fd, err = 0;

	fd = open_pinned(root, SLUICE_MAP_HOST_SCOPE);
	if (fd < 0)
		return fd;
	memset(&key, 0, sizeof(key));
	key.cgid = cgid;
	memset(&val, 0, sizeof(val));
	for (i = 0; !remove && i < nsvc && !err; i++) {
		key.svc = svcs[i];
		if (bpf_map_update_elem(fd, &key, &val, BPF_ANY))
			err = -errno;
	}
	if (!remove && !err) {
		memset(&key.svc, 0, sizeof(key.svc));
		val.flags = nsvc ? 0 : SLUICE_HOST_ALL;
		val.nsvc = (__u32)nsvc;
		snprintf((char *)val.path, sizeof(val.path), "%s", path);
		if (bpf_map_update_elem(fd, &key, &val, BPF_ANY))
			err = -errno;
	}
	if (err) {
		err_set("cannot write %s: %s", SLUICE_MAP_HOST_SCOPE, strerror(-err));
		goto out;
	}
	err = scope_keys(fd, 0, cgid, &old, &n);
	for (i = 0; !err && i < n; i++) {
		if (!remove && (is_zero_svc(&old[i].svc) || svc_listed(svcs, nsvc, &old[i].svc)))
			continue;
		bpf_map_delete_elem(fd, &old[i]);
	}
out:
	free(old);
	close(fd);
	return err;
}

/* Load a host object for cgid with its maps pinned under root. */
static int host_load(const char *root, __u64 cgid, struct host_bpf **out)
{
	struct host_bpf *skel;
	int err;

	err = loader_maps_ensure(root);
	if (err)
		return err;
	skel = host_bpf__open();
	if (!skel) {
		err = -errno;
		err_set("cannot open the host BPF object: %s", strerror(-err));
		return err;
	}
	skel->rodata->sluice_host_cgid = cgid;
	err = loader_pin_maps(skel->obj, root);
	if (!err) {
		err = host_bpf__load(skel);
		if (err)
			err_set("cannot load the host BPF object: %s (run with -v for libbpf's log; cgroup socket programs need kernel 5.18 or later)",
				strerror(-err));
	}
	if (err) {
		host_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

/*
 * fn(ctx, name, fd) for each object pinned in dir (fd open on it, closed
 * after; -1 when it cannot be opened) until fn returns non-zero.
 */
static void for_each_pin(const char *dir, int (*fn)(void *ctx, const char *name, int fd), void *ctx)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int fd, stop = 0;

	if (!d)
		return;
	while (!stop && (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		fd = bpf_obj_get(path);
		stop = fn(ctx, path, fd);
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
}

static int unpin_one(void *ctx, const char *path, int fd)
{
	(void)ctx;
	if (fd >= 0)
		bpf_link_detach(fd);
	unlink(path);
	return 0;
}

/* Detach and unpin the links pinned in dir (all of them); the folder goes too. */
static void unpin_all(const char *dir)
{
	for_each_pin(dir, unpin_one, NULL);
	rmdir(dir);
}

/*
 * Each program of skel into its link pinned in dir: an existing link gets
 * the new program (bpf_link_update, atomic), a missing one is created on
 * cgfd and pinned. *created counts the new links (rolled back by the caller).
 */
static int attach_links(struct host_bpf *skel, int cgfd, const char *dir, int *created)
{
	struct bpf_program *prog;
	struct bpf_link *link;
	char path[PATH_MAX];
	int fd, err;

	bpf_object__for_each_program(prog, skel->obj)
	{
		if (snprintf(path, sizeof(path), "%s/%s", dir, bpf_program__name(prog)) >=
		    (int)sizeof(path)) {
			err_set("pin path in %s is too long", dir);
			return -ENAMETOOLONG;
		}
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			err = bpf_link_update(fd, bpf_program__fd(prog), NULL) ? -errno : 0;
			close(fd);
			if (err) {
				err_set("cannot replace %s: %s", path, strerror(-err));
				return err;
			}
			continue;
		}
		link = bpf_program__attach_cgroup(prog, cgfd);
		if (!link) {
			err = -errno;
			err_set("cannot attach %s to the cgroup: %s", bpf_program__name(prog),
				strerror(-err));
			return err;
		}
		err = bpf_link__pin(link, path);
		bpf_link__destroy(link); /* the pin holds it (or, unpinned, it detaches) */
		if (err) {
			err_set("cannot pin %s: %s", path, strerror(-err));
			return err;
		}
		(*created)++;
	}
	return 0;
}

int loader_host_attach(const char *root, const char *cgroup, const struct sluice_svc_key *svcs,
		       size_t nsvc, struct loader_host *result, int *replaced)
{
	char path[SLUICE_HOST_PATH_MAX], dir[PATH_MAX], hosts[PATH_MAX];
	struct host_bpf *skel = NULL;
	struct stat st;
	int cgfd = -1, created = 0, existed, err;
	__u64 cgid;

	err = loader_host_cgroup(cgroup, path, sizeof(path), &cgid);
	if (!err)
		err = loader_check_bpffs(root);
	if (!err)
		err = host_dir(root, cgid, dir, sizeof(dir));
	if (err)
		return err;
	err = loader_make_dir(root);
	if (err)
		return err;
	snprintf(hosts, sizeof(hosts), "%s/host", root);
	err = loader_make_dir(hosts);
	if (err)
		return err;
	/* Load first: a failed load or an unknown service changes nothing. */
	err = host_load(root, cgid, &skel);
	if (!err)
		err = check_services(root, svcs, nsvc);
	if (err)
		goto out;
	cgfd = open(path, O_RDONLY | O_DIRECTORY);
	if (cgfd < 0) {
		err = -errno;
		err_set("cannot open cgroup %s: %s", path, strerror(-err));
		goto out;
	}
	existed = !stat(dir, &st);
	err = loader_make_dir(dir);
	if (err)
		goto out;
	/* The scope before the links: a new link never runs without it. */
	err = scope_write(root, cgid, path, svcs, nsvc, 0);
	if (!err)
		err = attach_links(skel, cgfd, dir, &created);
	if (err && !existed) {
		unpin_all(dir);
		scope_write(root, cgid, path, NULL, 0, 1);
	}
	if (err)
		goto out;
	if (replaced)
		*replaced = existed;
	if (result) {
		struct loader_host *list = NULL;
		size_t n = 0, i;

		memset(result, 0, sizeof(*result));
		if (!loader_host_show(root, &list, &n)) {
			for (i = 0; i < n; i++) {
				if (list[i].cgid != cgid)
					continue;
				*result = list[i];
				list[i].svcs = NULL;
				break;
			}
		}
		loader_host_free(list, n);
	}
out:
	if (cgfd >= 0)
		close(cgfd);
	host_bpf__destroy(skel);
	return err;
}

/* 1 when the cgroup at path still runs a program of a link id in ids. */
static int cgroup_runs(const char *path, const __u32 *prog_ids, size_t n)
{
	static const enum bpf_attach_type types[] = {
		BPF_CGROUP_INET4_CONNECT,     BPF_CGROUP_INET6_CONNECT,	    BPF_CGROUP_UDP4_SENDMSG,
		BPF_CGROUP_UDP6_SENDMSG,      BPF_CGROUP_UDP4_RECVMSG,	    BPF_CGROUP_UDP6_RECVMSG,
		BPF_CGROUP_INET4_GETPEERNAME, BPF_CGROUP_INET6_GETPEERNAME, BPF_CGROUP_SOCK_OPS,
		BPF_CGROUP_INET_SOCK_RELEASE,
	};
	__u32 ids[64], cnt, i, t;
	size_t j;
	int fd = open(path, O_RDONLY | O_DIRECTORY), found = 0;

	if (fd < 0)
		return 0;
	for (t = 0; t < sizeof(types) / sizeof(types[0]) && !found; t++) {
		cnt = 64;
		if (bpf_prog_query(fd, types[t], 0, NULL, ids, &cnt))
			continue;
		for (i = 0; i < cnt; i++)
			for (j = 0; j < n; j++)
				if (ids[i] == prog_ids[j])
					found = 1;
	}
	close(fd);
	return found;
}

int loader_host_detach(const char *root, const char *cgroup)
{
	struct loader_host *list = NULL, *it = NULL;
	char path[SLUICE_HOST_PATH_MAX], dir[PATH_MAX];
	size_t n = 0, i;
	__u64 cgid = 0;
	int err;

	err = loader_check_bpffs(root);
	if (err)
		return err;
	/* A removed cgroup's attachment is found by the path it was attached with. */
	if (loader_host_cgroup(cgroup, path, sizeof(path), &cgid))
		snprintf(path, sizeof(path), "%s", cgroup);
	err = loader_host_show(root, &list, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		if ((cgid && list[i].cgid == cgid) || !strcmp(list[i].path, path))
			it = &list[i];
	if (!it) {
		err_set("Sluice is not attached to cgroup %s (see 'sluice host show')", cgroup);
		err = -ENOENT;
		goto out;
	}
	err = host_dir(root, it->cgid, dir, sizeof(dir));
	if (err)
		goto out;
	unpin_all(dir);
	err = scope_write(root, it->cgid, it->path, NULL, 0, 1);
	if (err)
		goto out;
	if (!it->defunct && cgroup_runs(it->path, it->prog_ids, it->nlinks)) {
		err_set("Sluice's links on %s are detached but the cgroup still runs its programs (see 'bpftool cgroup show %s')",
			it->path, it->path);
		err = -EBUSY;
	}
out:
	loader_host_free(list, n);
	return err;
}

static int link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, len);
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static int read_link(void *ctx, const char *path, int fd)
{
	struct loader_host *h = ctx;
	const char *name = strrchr(path, '/') + 1;
	struct bpf_link_info info;

	if (fd < 0 || link_info(fd, &info))
		return 0;
	snprintf(h->prog_names[h->nlinks], sizeof(h->prog_names[0]), "%.31s",
		 name + (strncmp(name, "sluice_", 7) ? 0 : 7));
	h->prog_ids[h->nlinks] = info.prog_id;
	h->link_ids[h->nlinks] = info.id;
	/* A link whose cgroup went away reads another cgroup id (0). */
	if (info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id != h->cgid)
		h->defunct = 1;
	return ++h->nlinks >= LOADER_HOST_PROGS;
}

static int cmp_svc(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sluice_svc_key));
}

static int cmp_host(const void *a, const void *b)
{
	return strcmp(((const struct loader_host *)a)->path, ((const struct loader_host *)b)->path);
}

/* Append the services of h from the scope map's keys. */
static int read_services(const struct sluice_host_scope_key *keys, size_t n, struct loader_host *h)
{
	size_t i;

	h->svcs = calloc(n ? n : 1, sizeof(*h->svcs));
	if (!h->svcs) {
		err_set("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (keys[i].cgid == h->cgid && !is_zero_svc(&keys[i].svc))
			h->svcs[h->nsvc++] = keys[i].svc;
	if (h->nsvc)
		qsort(h->svcs, h->nsvc, sizeof(*h->svcs), cmp_svc);
	return 0;
}

int loader_host_show(const char *root, struct loader_host **list, size_t *count)
{
	struct sluice_host_scope_key *keys = NULL;
	struct sluice_host_scope val;
	struct loader_host *items = NULL, *grown;
	size_t n = 0, nk = 0, i;
	char dir[PATH_MAX], path[PATH_MAX];
	struct stat st;
	int fd, err = 0;

	*list = NULL;
	*count = 0;
	err = loader_check_bpffs(root);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s", root, SLUICE_MAP_HOST_SCOPE);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			return 0; /* nothing was ever attached */
		err_set("cannot open %s: %s", path, strerror(-err));
		return err;
	}
	/* Keys first, then each attachment's entry. */
	err = scope_keys(fd, 1, 0, &keys, &nk);
	if (err)
		goto out;
	for (i = 0; i < nk; i++) {
		struct loader_host *h;

		if (!is_zero_svc(&keys[i].svc) || bpf_map_lookup_elem(fd, &keys[i], &val))
			continue;
		grown = realloc(items, (n + 1) * sizeof(*items));
		if (!grown) {
			err = -ENOMEM;
			goto out;
		}
		items = grown;
		h = &items[n++];
		memset(h, 0, sizeof(*h));
		h->cgid = keys[i].cgid;
		h->all = !!(val.flags & SLUICE_HOST_ALL);
		snprintf(h->path, sizeof(h->path), "%.*s", (int)sizeof(val.path) - 1,
			 (const char *)val.path);
		if (stat(h->path, &st) || st.st_ino != h->cgid)
			h->defunct = 1;
		if (!host_dir(root, h->cgid, dir, sizeof(dir)))
			for_each_pin(dir, read_link, h); /* a pin's name is its program's */
		err = read_services(keys, nk, h);
		if (err)
			goto out;
	}
	if (n)
		qsort(items, n, sizeof(*items), cmp_host);
	*list = items;
	*count = n;
	items = NULL;
	n = 0;
out:
	if (err == -ENOMEM)
		err_set("out of memory");
	loader_host_free(items, n);
	free(keys);
	close(fd);
	return err;
}

void loader_host_free_one(struct loader_host *h)
{
	free(h->svcs);
	h->svcs = NULL;
}

void loader_host_free(struct loader_host *list, size_t count)
{
	size_t i;

	for (i = 0; list && i < count; i++)
		loader_host_free_one(&list[i]);
	free(list);
}
