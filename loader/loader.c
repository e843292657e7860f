// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loader: open the skeleton, point every map of the object at its pin
 * (libbpf reuses a pinned map or creates and pins it at load; the flow maps
 * are sized first, and maps created by this load get their first values), attach XDP through a bpf_link
 * (or, with the TC hook, sluice_tc through a tcx link: the same maps) and
 * pin the link so the attachment outlives this process. See loader.h for
 * the layout of the pins.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "err.h"
#include "loader.h"
#include "loader_int.h"
#include "sluice_abi.h"
#include "sluice.skel.h"
#include "tc.skel.h"

/* tcx (Linux 6.6), newer than this system's <linux/bpf.h> may be. */
#define LOADER_BPF_TCX_INGRESS 46
#define LOADER_BPF_TCX_EGRESS 47
#define LOADER_BPF_LINK_TYPE_TCX 11

/* Flow table size for maps created by this process (0: SLUICE_FLOWS_DEFAULT). */
static __u32 flow_entries;

int loader_check_bpffs(const char *path)
{
	char dir[PATH_MAX];
	struct statfs fs;
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		err_set("pin root '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	/* Walk up to the nearest folder that exists. */
	while (statfs(dir, &fs)) {
		if (errno != ENOENT) {
			int err = -errno;

			err_set("cannot check %s: %s", dir, strerror(-err));
			return err;
		}
		slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			snprintf(dir, sizeof(dir), "/");
			if (statfs(dir, &fs))
				return -errno;
			break;
		}
		*slash = '\0';
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		err_set("%s is not on a bpf filesystem, so nothing can be pinned there: mount one (mount -t bpf bpf /sys/fs/bpf) or choose another --pin-root",
			dir);
		return -ENOTSUP;
	}
	return 0;
}

void loader_set_flow_entries(__u32 entries)
{
	flow_entries = entries;
}

int loader_make_dir(const char *path)
{
	int err;

	if (!mkdir(path, 0700) || errno == EEXIST)
		return 0;
	err = -errno;
	err_set("cannot create %s: %s%s", path, strerror(-err),
		err == -EPERM || err == -EACCES ? " (run as root)" : "");
	return err;
}

/* Check root is on bpffs and create it; "" or "/iface" suffix. */
static int prepare_root(const char *root, int with_iface)
{
	char path[PATH_MAX];
	int err;

	err = loader_check_bpffs(root);
	if (err)
		return err;
	err = loader_make_dir(root);
	if (err || !with_iface)
		return err;
	if (snprintf(path, sizeof(path), "%s/iface", root) >= (int)sizeof(path)) {
		err_set("pin root '%s' is too long", root);
		return -ENAMETOOLONG;
	}
	return loader_make_dir(path);
}

/* 1 for the maps sized by --flow-entries. */
static int is_flow_map(const char *name)
{
	return !strcmp(name, SLUICE_MAP_FLOWS) || !strcmp(name, SLUICE_MAP_NAT_REV);
}

/*
 * Size a flow map before load. A pinned map is reused as it is, so it keeps
 * the size it was created with: adopt that size (libbpf refuses to reuse a
 * pin whose max_entries differs from the object's), unless --flow-entries
 * asks for another, which cannot be done in place.
 */
static int size_flow_map(struct bpf_map *map, const char *path, const char *root)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno != ENOENT) {
			err = -errno;
			err_set("cannot open %s: %s", path, strerror(-err));
			return err;
		}
		/* Created by this load. */
		err = bpf_map__set_max_entries(map,
					       flow_entries ? flow_entries : SLUICE_FLOWS_DEFAULT);
		if (err)
			err_set("cannot size %s: %s", bpf_map__name(map), strerror(-err));
		return err;
	}
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	close(fd);
	if (err) {
		err_set("cannot query %s: %s", path, strerror(-err));
		return err;
	}
	if (flow_entries && info.max_entries != flow_entries) {
		err_set("flow table already has %u entries; to resize, detach every interface and remove %s",
			info.max_entries, root);
		return -EEXIST;
	}
	err = bpf_map__set_max_entries(map, info.max_entries);
	if (err)
		err_set("cannot size %s: %s", bpf_map__name(map), strerror(-err));
	return err;
}

int loader_pin_maps(struct bpf_object *obj, const char *root)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj)
	{
		const char *name = bpf_map__name(map);

		if (bpf_map__is_internal(map))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", root, name) >= (int)sizeof(path)) {
			err_set("pin root '%s' is too long", root);
			return -ENAMETOOLONG;
		}
		if (is_flow_map(name)) {
			err = size_flow_map(map, path, root);
			if (err)
				return err;
		}
		err = bpf_map__set_pin_path(map, path);
		if (err) {
			err_set("cannot set the pin path of %s: %s", name, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * First values of the maps whose all-zero initial content is not "empty":
 * sl_config (explicit default UDP timeout; encapsulation sources unset) and
 * sl_subsets (every slot free: svc_id SLUICE_NO_BACKEND). Run only for maps
 * this load created. Should it not run (a crash right after the load), the
 * zeroes still read right: a subset slot with no member is free
 * (maps_subset_is_free) and a UDP timeout of 0 means the default.
 */
static int init_created(struct sluice_bpf *skel, int config_created, int subsets_created)
{
	struct sluice_config cfg;
	struct sluice_subset sub;
	__u32 key;
	int err;

	if (config_created) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.udp_timeout_ns = SLUICE_UDP_TIMEOUT_DEFAULT_NS;
		key = 0;
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.sl_config), &key, &cfg, BPF_ANY)) {
			err = -errno;
			err_set("cannot initialise %s: %s", SLUICE_MAP_CONFIG, strerror(-err));
			return err;
		}
	}
	if (subsets_created) {
		memset(&sub, 0, sizeof(sub));
		sub.svc_id = SLUICE_NO_BACKEND;
		for (key = 0; key < SLUICE_MAX_SUBSETS; key++) {
			if (bpf_map_update_elem(bpf_map__fd(skel->maps.sl_subsets), &key, &sub,
						BPF_ANY)) {
				err = -errno;
				err_set("cannot initialise %s: %s", SLUICE_MAP_SUBSETS,
					strerror(-err));
				return err;
			}
		}
	}
	return 0;
}

/*
 * A new sl_svc_byid next to existing services (pins of ABI 9): each
 * service's entry from sl_services, its key without SLUICE_SVC_F_LEADER
 * (a CQRS read port; what svc_add writes) or its only key. Left zeroed,
 * an entry would cost its flows the sl_services lookup, nothing more.
 */
static int fill_byid(struct sluice_bpf *skel)
{
	int sfd = bpf_map__fd(skel->maps.sl_services), bfd = bpf_map__fd(skel->maps.sl_svc_byid);
	struct sluice_svc_key key, next;
	struct sluice_svc_ent ent;
	struct sluice_svc val;
	void *prev = NULL;
	__u32 n, id;

	for (n = 0; n < SLUICE_MAX_SERVICES * 2 && !bpf_map_get_next_key(sfd, prev, &next); n++) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(sfd, &key, &val) || val.id >= SLUICE_MAX_SERVICES)
			continue;
		id = val.id;
		if (bpf_map_lookup_elem(bfd, &id, &ent))
			continue;
		if (ent.key.proto && (val.flags & SLUICE_SVC_F_LEADER))
			continue;
		memset(&ent, 0, sizeof(ent));
		ent.svc = val;
		ent.key = key;
		if (bpf_map_update_elem(bfd, &id, &ent, BPF_ANY)) {
			int err = -errno;

			err_set("cannot initialise %s: %s", SLUICE_MAP_SVC_BYID, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * Open and load the object with every map of the object pinned under root
 * (the object's own .rodata/.bss excepted): iterating the object rather than
 * a list means a map added to the ABI is pinned without touching this file.
 */
static int open_skel(const char *root, int with_prog, struct sluice_bpf **out)
{
	int config_created = 0, subsets_created = 0, byid_created = 0;
	struct sluice_bpf *skel;
	struct bpf_program *prog;
	char path[PATH_MAX];
	struct stat st;
	int err;

	skel = sluice_bpf__open();
	if (!skel) {
		err = -errno;
		err_set("cannot open the Sluice BPF object: %s", strerror(-err));
		return err;
	}
	if (snprintf(path, sizeof(path), "%s/%s", root, SLUICE_MAP_CONFIG) < (int)sizeof(path))
		config_created = stat(path, &st) && errno == ENOENT;
	if (snprintf(path, sizeof(path), "%s/%s", root, SLUICE_MAP_SUBSETS) < (int)sizeof(path))
		subsets_created = stat(path, &st) && errno == ENOENT;
	if (snprintf(path, sizeof(path), "%s/%s", root, SLUICE_MAP_SVC_BYID) < (int)sizeof(path))
		byid_created = stat(path, &st) && errno == ENOENT;
	err = loader_pin_maps(skel->obj, root);
	if (err)
		goto out;
	if (!with_prog) {
		bpf_object__for_each_program(prog, skel->obj)
		{
			bpf_program__set_autoload(prog, false);
		}
	}
	err = sluice_bpf__load(skel);
	if (err) {
		err_set("cannot load the Sluice BPF object: %s (run with -v for libbpf's log; if the pins under %s come from another Sluice version, detach every interface and remove them)",
			strerror(-err), root);
		goto out;
	}
	err = init_created(skel, config_created, subsets_created);
	if (!err && byid_created)
		err = fill_byid(skel);
	if (err)
		goto out;
	*out = skel;
	return 0;
out:
	sluice_bpf__destroy(skel);
	return err;
}

/*
 * The program loaded by this process, kept for its next attach: the
 * verifier takes most of a second over sluice_xdp, so a daemon attaching
 * several interfaces loads it once. It is reused only while every map it
 * was loaded against is still the map pinned under the same root (a pin
 * root removed and created again gets a fresh load).
 */
static struct {
	char root[PATH_MAX];
	struct sluice_bpf *skel;
} loaded;

/* 1 when every map of skel is still the one pinned at its pin path. */
static int skel_pins_current(struct sluice_bpf *skel)
{
	struct bpf_map_info pinned, ours;
	struct bpf_map *map;
	__u32 len;
	int fd, same;

	bpf_object__for_each_map(map, skel->obj)
	{
		if (bpf_map__is_internal(map))
			continue;
		fd = bpf_obj_get(bpf_map__pin_path(map));
		if (fd < 0)
			return 0;
		memset(&pinned, 0, sizeof(pinned));
		memset(&ours, 0, sizeof(ours));
		len = sizeof(pinned);
		same = !bpf_obj_get_info_by_fd(fd, &pinned, &len);
		len = sizeof(ours);
		same = same && !bpf_obj_get_info_by_fd(bpf_map__fd(map), &ours, &len) &&
		       pinned.id == ours.id;
		close(fd);
		if (!same)
			return 0;
	}
	return 1;
}

/* The loaded object with its program for root: this process's, or a fresh load. */
static int skel_for_attach(const char *root, struct sluice_bpf **out)
{
	int err;

	if (loaded.skel && !strcmp(loaded.root, root) && skel_pins_current(loaded.skel)) {
		*out = loaded.skel;
		return 0;
	}
	loader_release();
	err = open_skel(root, 1, out);
	if (err)
		return err;
	snprintf(loaded.root, sizeof(loaded.root), "%s", root);
	loaded.skel = *out;
	return 0;
}

void loader_release(void)
{
	sluice_bpf__destroy(loaded.skel);
	loaded.skel = NULL;
	loaded.root[0] = '\0';
}

int loader_maps_ensure(const char *root)
{
	struct sluice_bpf *skel = NULL;
	int err;

	err = prepare_root(root, 0);
	if (err)
		return err;
	err = open_skel(root, 0, &skel);
	sluice_bpf__destroy(skel);
	return err;
}

/* R/iface/<ifname>/<leaf> ("" : the folder). */
static int iface_path(const char *root, const char *ifname, const char *leaf, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/iface/%s%s%s", root, ifname, *leaf ? "/" : "", leaf) >=
	    (int)len) {
		err_set("pin path for %s is too long", ifname);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int link_path(const char *root, const char *ifname, char *buf, size_t len, int dir_only)
{
	return iface_path(root, ifname, dir_only ? "" : "xdp_link", buf, len);
}

static int link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, len);
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return -errno;
	return 0;
}

static const char *xdp_mode_name(const struct bpf_xdp_query_opts *q, __u32 prog_id)
{
	if (prog_id && q->drv_prog_id == prog_id)
		return "native";
	if (prog_id && q->skb_prog_id == prog_id)
		return "skb";
	if (prog_id && q->hw_prog_id == prog_id)
		return "hw";
	return "defunct";
}

static int xdp_query(int ifindex, struct bpf_xdp_query_opts *q, const char *ifname)
{
	int err;

	memset(q, 0, sizeof(*q));
	q->sz = sizeof(*q);
	err = bpf_xdp_query(ifindex, 0, q);
	if (err)
		err_set("cannot query XDP on %s: %s", ifname, strerror(-err));
	return err;
}

/* Remove the link pins and their folder (the folder only when empty). */
static void unpin_link(const char *root, const char *ifname)
{
	char path[PATH_MAX];

	if (!link_path(root, ifname, path, sizeof(path), 0))
		unlink(path);
	if (!iface_path(root, ifname, "tc_link", path, sizeof(path)))
		unlink(path);
	if (!iface_path(root, ifname, "egress_link", path, sizeof(path)))
		unlink(path);
	if (!link_path(root, ifname, path, sizeof(path), 1))
		rmdir(path);
}

/*
 * Detach whatever foreign XDP program ifindex has: by its link, else by
 * netlink. A link is matched on the program id as well as the ifindex: link
 * info carries no network namespace, and the same ifindex in another
 * namespace (a lab, a container) must not be touched.
 */
static int detach_foreign(int ifindex, const char *ifname, const struct bpf_xdp_query_opts *q)
{
	struct bpf_link_info info;
	__u32 id = 0, prog_id;
	int fd, err;

	prog_id = q->prog_id ? q->prog_id : q->drv_prog_id ? q->drv_prog_id : q->skb_prog_id;
	while (prog_id && !bpf_link_get_next_id(id, &id)) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		if (!link_info(fd, &info) && info.type == BPF_LINK_TYPE_XDP &&
		    info.xdp.ifindex == (__u32)ifindex && info.prog_id == prog_id) {
			err = bpf_link_detach(fd) ? -errno : 0;
			close(fd);
			if (err) {
				err_set("cannot detach the XDP link %u on %s: %s", id, ifname,
					strerror(-err));
				return err;
			}
			return 0;
		}
		close(fd);
	}
	if (q->drv_prog_id && (err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL)))
		goto fail;
	if (q->skb_prog_id && (err = bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL)))
		goto fail;
	if (q->hw_prog_id && (err = bpf_xdp_detach(ifindex, XDP_FLAGS_HW_MODE, NULL)))
		goto fail;
	return 0;
fail:
	err_set("cannot detach the XDP program already on %s: %s", ifname, strerror(-err));
	return err;
}

static int create_link(int prog_fd, int ifindex, const char *ifname, enum loader_xdp_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, lopts);
	int fd, err;

	lopts.flags = mode == LOADER_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lopts);
	if (fd >= 0)
		return fd;
	err = -errno;
	if (mode == LOADER_XDP_NATIVE)
		err_set("cannot attach XDP to %s in native mode: %s (is the driver XDP-capable? try --mode skb)",
			ifname, strerror(-err));
	else
		err_set("cannot attach XDP to %s in skb mode: %s", ifname, strerror(-err));
	return err;
}

/*
 * sl_ifmac[ifindex]: the interface's MAC, so that the data plane passes
 * frames for other MACs untouched (promiscuous mode, bpf/lib/hygiene.h);
 * set 0 clears it. An interface that is not Ethernet, or whose ifindex is
 * past the map, gets no entry: no check.
 */
static int ifmac_write(int map_fd, int ifindex, const char *ifname, int set)
{
	struct sluice_ifmac v = { 0 };
	__u32 key = (__u32)ifindex;
	struct ifreq ifr;
	int sock, err;

	if (ifindex <= 0 || ifindex >= SLUICE_IFMAC_ENTRIES)
		return 0;
	if (set) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (sock < 0 || ioctl(sock, SIOCGIFHWADDR, &ifr)) {
			err = -errno;
			if (sock >= 0)
				close(sock);
			err_set("cannot read the MAC address of %s: %s", ifname, strerror(-err));
			return err;
		}
		close(sock);
		if (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER) {
			memcpy(v.mac, ifr.ifr_hwaddr.sa_data, sizeof(v.mac));
			v.set = 1;
		}
	}
	if (bpf_map_update_elem(map_fd, &key, &v, BPF_ANY)) {
		err = -errno;
		err_set("cannot write %s[%d]: %s", SLUICE_MAP_IFMAC, ifindex, strerror(-err));
		return err;
	}
	return 0;
}

/* The pin leaf of each hook, and its name in messages (enum loader_hook order). */
static const char *const hook_leaf[] = { "xdp_link", "tc_link", "egress_link" };
static const char *const hook_name[] = { "XDP", "TC", "TC egress" };

/*
 * -EEXIST when Sluice holds ifname through another hook than own: one hook
 * per interface (two data-plane hooks would run the pipeline twice on a
 * frame; egress pacing is for client hosts, where no gateway runs).
 */
static int other_hook_check(const char *root, const char *ifname, enum loader_hook own)
{
	char path[PATH_MAX];
	size_t i;
	int fd, err;

	for (i = 0; i < sizeof(hook_leaf) / sizeof(hook_leaf[0]); i++) {
		if (i == (size_t)own)
			continue;
		err = iface_path(root, ifname, hook_leaf[i], path, sizeof(path));
		if (err)
			return err;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		close(fd);
		err_set("Sluice is attached to %s with %s: one hook per interface; 'sluice iface detach %s' first",
			ifname, hook_name[i], ifname);
		return -EEXIST;
	}
	return 0;
}

/*
 * sluice_tc loaded on the maps pinned under root: the maps are made (and
 * given their first values) by the XDP object's load without its program
 * first, so both objects share them whichever attached first.
 */
static int tc_load(const char *root, struct tc_bpf **out)
{
	struct tc_bpf *skel;
	int err;

	err = loader_maps_ensure(root);
	if (err)
		return err;
	skel = tc_bpf__open();
	if (!skel) {
		err = -errno;
		err_set("cannot open the Sluice TC object: %s", strerror(-err));
		return err;
	}
	err = loader_pin_maps(skel->obj, root);
	if (!err) {
		err = tc_bpf__load(skel);
		if (err)
			err_set("cannot load the Sluice TC object: %s (run with -v for libbpf's log)",
				strerror(-err));
	}
	if (err) {
		tc_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

/* Pin a new link at path, in its folder dir; what ("XDP", "TC") for the message. */
static int pin_link(int link_fd, const char *dir, const char *path, const char *what)
{
	int err = loader_make_dir(dir);

	if (err)
		return err;
	if (bpf_obj_pin(link_fd, path)) {
		err = -errno;
		err_set("cannot pin the %s link at %s: %s", what, path, strerror(-err));
		rmdir(dir);
	}
	return err; /* on failure the caller closes the link, which detaches it */
}

/* *result for an attach that made or updated link_fd (the mode is the caller's). */
static void attach_result(struct loader_iface *result, const char *ifname, int ifindex,
			  int replaced, int link_fd)
{
	struct bpf_link_info info;

	memset(result, 0, sizeof(*result));
	snprintf(result->ifname, sizeof(result->ifname), "%s", ifname);
	result->ifindex = (__u32)ifindex;
	result->replaced = replaced;
	if (!link_info(link_fd, &info)) {
		result->link_id = info.id;
		result->prog_id = info.prog_id;
	}
}

/*
 * The program of a TC hook loaded: sluice_tc (ingress, its interface's MAC
 * written) or sluice_egress (egress, fq installed first: the program's
 * horizon depends on it). *obj holds *prog_fd; bpf_object__close() it.
 */
static int tc_hook_load(const char *root, const char *ifname, int ifindex, const char *dir,
			int force, enum loader_hook hook, struct bpf_object **obj, int *prog_fd)
{
	struct tc_bpf *skel = NULL;
	int err, with_fq;

	if (hook == LOADER_HOOK_TC_EGRESS) {
		err = loader_make_dir(dir);
		if (!err)
			err = loader_fq_install(dir, ifindex, ifname, force, &with_fq);
		if (!err)
			err = loader_maps_ensure(root);
		if (!err)
			err = loader_egress_load(root, with_fq, obj, prog_fd);
		return err;
	}
	err = tc_load(root, &skel);
	if (!err)
		err = ifmac_write(bpf_map__fd(skel->maps.sl_ifmac), ifindex, ifname, 1);
	if (!err) {
		*obj = skel->obj;
		*prog_fd = bpf_program__fd(skel->progs.sluice_tc);
		skel->obj = NULL;
	}
	tc_bpf__destroy(skel);
	return err;
}

/*
 * loader_attach() with a TC hook: a tcx link at ifindex's ingress
 * (LOADER_HOOK_TC) or egress (LOADER_HOOK_TC_EGRESS), pinned.
 */
static int attach_tc(const char *root, const char *ifname, int ifindex, int force,
		     enum loader_hook hook, struct loader_iface *result)
{
	int egress = hook == LOADER_HOOK_TC_EGRESS;
	char path[PATH_MAX], dir[PATH_MAX];
	int old_fd, link_fd = -1, err, replaced = 0, prog_fd = -1;
	struct bpf_object *obj = NULL;
	struct bpf_link_info info;

	err = iface_path(root, ifname, hook_leaf[hook], path, sizeof(path));
	if (!err)
		err = iface_path(root, ifname, "", dir, sizeof(dir));
	if (!err)
		err = prepare_root(root, 1);
	if (!err)
		err = other_hook_check(root, ifname, hook);
	if (err)
		return err;
	old_fd = bpf_obj_get(path);
	if (old_fd >= 0 && (link_info(old_fd, &info) || info.type != LOADER_BPF_LINK_TYPE_TCX ||
			    info.xdp.ifindex != (__u32)ifindex)) {
		/* Stale (the interface was deleted): drop it. */
		close(old_fd);
		old_fd = -1;
		if (egress)
			loader_fq_remove(dir, 0, ifname);
		unpin_link(root, ifname);
	}
	if (old_fd >= 0 && !force) {
		err_set("Sluice is already attached to %s (%s, link id %u): use --force to replace its program, or 'sluice iface detach %s' first",
			ifname, egress ? "tc-egress" : "tc", info.id, ifname);
		err = -EEXIST;
		goto out;
	}
	err = tc_hook_load(root, ifname, ifindex, dir, force, hook, &obj, &prog_fd);
	if (err)
		goto undo;
	if (old_fd >= 0) {
		if (bpf_link_update(old_fd, prog_fd, NULL)) {
			err = -errno;
			err_set("cannot replace the program on %s: %s", ifname, strerror(-err));
			goto out;
		}
		link_fd = old_fd;
		old_fd = -1;
		replaced = 1;
		goto done;
	}
	/* The field tcx reads as target_ifindex is link_create's target_fd. */
	link_fd = bpf_link_create(
		prog_fd, ifindex,
		(enum bpf_attach_type)(egress ? LOADER_BPF_TCX_EGRESS : LOADER_BPF_TCX_INGRESS),
		NULL);
	if (link_fd < 0) {
		err = -errno;
		err_set("cannot attach to the TC %s of %s: %s (tcx links need Linux 6.6 or later)",
			egress ? "egress" : "ingress", ifname, strerror(-err));
		goto undo;
	}
	err = pin_link(link_fd, dir, path, egress ? "TC egress" : "TC");
	if (err)
		goto undo;
done:
	if (result) {
		char kind[32];
		__u32 handle;

		attach_result(result, ifname, ifindex, replaced, link_fd);
		result->mode = egress ? "tc-egress" : "tc";
		result->hook = hook;
		if (egress && !loader_root_qdisc(ifindex, ifname, kind, sizeof(kind), &handle))
			result->pacing = !strcmp(kind, "fq") ? "fq" : "police";
	}
	err = 0;
	goto out;
undo:
	/* A new attachment that failed leaves no fq of its own behind. */
	if (egress && old_fd < 0) {
		loader_fq_remove(dir, ifindex, ifname);
		rmdir(dir);
	}
out:
	bpf_object__close(obj);
	if (link_fd >= 0)
		close(link_fd);
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

int loader_attach(const char *root, const char *ifname, const struct loader_attach_opts *opts,
		  struct loader_iface *result)
{
	enum loader_xdp_mode mode = opts ? opts->mode : LOADER_XDP_NATIVE;
	int force = opts ? opts->force : 0;
	int ifindex, old_fd = -1, link_fd = -1, err, replaced = 0;
	struct bpf_xdp_query_opts q;
	struct sluice_bpf *skel = NULL;
	struct bpf_link_info info;
	char path[PATH_MAX], dir[PATH_MAX];
	const char *old_mode = NULL;

	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		err_set("no interface '%s' (see 'ip link')", ifname);
		return -ENODEV;
	}
	err = link_path(root, ifname, path, sizeof(path), 0);
	if (!err)
		err = link_path(root, ifname, dir, sizeof(dir), 1);
	if (!err)
		err = prepare_root(root, 1);
	if (err)
		return err;
	if (opts && opts->hook != LOADER_HOOK_XDP)
		return attach_tc(root, ifname, ifindex, force, opts->hook, result);
	err = other_hook_check(root, ifname, LOADER_HOOK_XDP);
	if (err)
		return err;
	err = xdp_query(ifindex, &q, ifname);
	if (err)
		return err;

	old_fd = bpf_obj_get(path);
	if (old_fd >= 0) {
		/* A link pinned for an interface that was deleted is stale: drop it. */
		if (link_info(old_fd, &info) || info.type != BPF_LINK_TYPE_XDP ||
		    info.xdp.ifindex != (__u32)ifindex) {
			close(old_fd);
			old_fd = -1;
			unpin_link(root, ifname);
		} else {
			old_mode = xdp_mode_name(&q, info.prog_id);
		}
	}
	if (old_fd >= 0 && !force) {
		err_set("Sluice is already attached to %s (%s, link id %u): use --force to replace its program, or 'sluice iface detach %s' first",
			ifname, old_mode, info.id, ifname);
		err = -EEXIST;
		goto out;
	}
	if (old_fd < 0 && q.attach_mode != XDP_ATTACHED_NONE && !force) {
		err_set("%s already has an XDP program (id %u) that is not Sluice's: use --force to detach it and attach Sluice",
			ifname,
			q.prog_id	? q.prog_id
			: q.drv_prog_id ? q.drv_prog_id
					: q.skb_prog_id);
		err = -EBUSY;
		goto out;
	}

	/* Load before removing anything, so a load failure changes nothing. */
	err = skel_for_attach(root, &skel);
	if (err)
		goto out;
	/* Before the program sees a frame: it compares each with this MAC. */
	err = ifmac_write(bpf_map__fd(skel->maps.sl_ifmac), ifindex, ifname, 1);
	if (err)
		goto out;
	/* And with this host's addresses, martian as sources (sluiced keeps them true). */
	err = loader_local_addrs_sync(bpf_map__fd(skel->maps.sl_local_addr), NULL);
	if (err)
		goto out;
	/* Next-hop caching on, and whatever was cached before this attach stale. */
	err = loader_nh_gen_bump(bpf_map__fd(skel->maps.sl_nh_gen));
	if (err)
		goto out;

	if (old_fd >= 0) {
		int same = !strcmp(old_mode, mode == LOADER_XDP_SKB ? "skb" : "native");

		if (same) {
			/* Atomic: no packet sees the interface without a program. */
			if (bpf_link_update(old_fd, bpf_program__fd(skel->progs.sluice_xdp),
					    NULL)) {
				err = -errno;
				err_set("cannot replace the program on %s: %s", ifname,
					strerror(-err));
				goto out;
			}
			link_fd = old_fd;
			old_fd = -1;
			replaced = 1;
			goto done;
		}
		/* A link cannot change mode: detach, then attach anew below. */
		if (bpf_link_detach(old_fd)) {
			err = -errno;
			err_set("cannot detach the current Sluice link on %s: %s", ifname,
				strerror(-err));
			goto out;
		}
		unpin_link(root, ifname);
		replaced = 1;
	} else if (q.attach_mode != XDP_ATTACHED_NONE) {
		err = detach_foreign(ifindex, ifname, &q);
		if (err)
			goto out;
		replaced = 1;
	}

	link_fd = create_link(bpf_program__fd(skel->progs.sluice_xdp), ifindex, ifname, mode);
	if (link_fd < 0) {
		err = link_fd;
		goto out;
	}
	err = pin_link(link_fd, dir, path, "XDP");
	if (err)
		goto out;
done:
	if (result) {
		attach_result(result, ifname, ifindex, replaced, link_fd);
		result->mode = !xdp_query(ifindex, &q, ifname) ? xdp_mode_name(&q, result->prog_id)
							       : "defunct";
	}
	err = 0;
out:
	if (link_fd >= 0)
		close(link_fd);
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

/*
 * The link pinned for ifname, whichever hook holds it (*hook): its fd, or
 * -errno (path then the XDP link's pin path).
 */
static int open_hook(const char *root, const char *ifname, enum loader_hook *hook, char *path,
		     size_t len)
{
	static const enum loader_hook order[] = { LOADER_HOOK_TC, LOADER_HOOK_TC_EGRESS,
						  LOADER_HOOK_XDP };
	size_t i;
	int fd = -ENOENT, err;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		err = iface_path(root, ifname, hook_leaf[order[i]], path, len);
		if (err)
			return err;
		*hook = order[i];
		fd = bpf_obj_get(path);
		if (fd >= 0)
			return fd;
		fd = -errno;
	}
	return fd;
}

int loader_detach(const char *root, const char *ifname)
{
	struct bpf_xdp_query_opts q;
	struct bpf_link_info info;
	enum loader_hook hook;
	char path[PATH_MAX];
	int fd, err, ifindex, tc;

	err = loader_check_bpffs(root);
	if (err)
		return err;
	fd = open_hook(root, ifname, &hook, path, sizeof(path));
	if (fd == -ENAMETOOLONG)
		return fd;
	tc = hook != LOADER_HOOK_XDP;
	if (fd < 0) {
		errno = -fd;
		err = -errno;
		if (err == -ENOENT)
			err_set("Sluice is not attached to %s (nothing pinned at %s; see 'sluice iface show')",
				ifname, path);
		else
			err_set("cannot open %s: %s", path, strerror(-err));
		return err;
	}
	memset(&info, 0, sizeof(info));
	link_info(fd, &info);
	/* A defunct link (interface gone) has nothing left to detach. */
	if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL) {
		err = -errno;
		err_set("cannot detach %s from %s: %s", hook_name[hook], ifname, strerror(-err));
		close(fd);
		return err;
	}
	close(fd);
	if (hook == LOADER_HOOK_TC_EGRESS && !iface_path(root, ifname, "", path, sizeof(path))) {
		/* The fq it installed (before the folder goes: the mark is in it). */
		err = loader_fq_remove(path, (int)info.xdp.ifindex, ifname);
		if (err)
			return err;
	}
	unpin_link(root, ifname);
	/* Its MAC entry goes too (pins of an older version have no sl_ifmac). */
	if (snprintf(path, sizeof(path), "%s/%s", root, SLUICE_MAP_IFMAC) < (int)sizeof(path) &&
	    (fd = bpf_obj_get(path)) >= 0) {
		err = ifmac_write(fd, (int)info.xdp.ifindex, ifname, 0);
		close(fd);
		if (err)
			return err;
	}

	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex || tc)
		return 0; /* interface gone, or tcx: nothing of Sluice's left on it */
	err = xdp_query(ifindex, &q, ifname);
	if (err)
		return err;
	if (q.attach_mode != XDP_ATTACHED_NONE) {
		err_set("Sluice's link on %s is detached but the interface still has XDP program %u; remove it with 'ip link set dev %s xdp off'",
			ifname,
			q.prog_id	? q.prog_id
			: q.drv_prog_id ? q.drv_prog_id
					: q.skb_prog_id,
			ifname);
		return -EBUSY;
	}
	return 0;
}

static int describe(const char *root, const char *ifname, struct loader_iface *it)
{
	struct bpf_xdp_query_opts q;
	struct bpf_link_info info;
	enum loader_hook hook;
	char path[PATH_MAX], kind[32];
	__u32 handle;
	int fd, err, tc;

	fd = open_hook(root, ifname, &hook, path, sizeof(path));
	if (fd < 0)
		return fd;
	tc = hook != LOADER_HOOK_XDP;
	err = link_info(fd, &info);
	close(fd);
	if (err) {
		err_set("cannot query the link pinned at %s: %s", path, strerror(-err));
		return err;
	}
	memset(it, 0, sizeof(*it));
	snprintf(it->ifname, sizeof(it->ifname), "%s", ifname);
	it->ifindex = info.xdp.ifindex;
	it->prog_id = info.prog_id;
	it->link_id = info.id;
	it->hook = hook;
	it->mode = "defunct";
	/* tcx: the link's ifindex (where XDP's is in its info) is 0 once the device is gone. */
	if (tc && it->ifindex)
		it->mode = hook == LOADER_HOOK_TC ? "tc" : "tc-egress";
	else if (!tc && it->ifindex && !xdp_query((int)it->ifindex, &q, ifname))
		it->mode = xdp_mode_name(&q, it->prog_id);
	/* Pacing: what the device's root qdisc makes of the departure times, now. */
	if (hook == LOADER_HOOK_TC_EGRESS && it->ifindex) {
		if (!loader_root_qdisc((int)it->ifindex, ifname, kind, sizeof(kind), &handle))
			it->pacing = !strcmp(kind, "fq") ? "fq" : "police";
		else
			err_clear(); /* best effort: shown without it */
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct loader_iface *)a)->ifname,
		      ((const struct loader_iface *)b)->ifname);
}

int loader_show(const char *root, const char *ifname, struct loader_iface **list, size_t *count)
{
	struct loader_iface *items = NULL, *grown;
	size_t n = 0, cap = 0;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = NULL;
	int err;

	*list = NULL;
	*count = 0;
	err = loader_check_bpffs(root);
	if (err)
		return err;
	if (ifname) {
		items = calloc(1, sizeof(*items));
		if (!items) {
			err_set("out of memory");
			return -ENOMEM;
		}
		err = describe(root, ifname, items);
		if (err == -ENOENT)
			err_set("Sluice is not attached to %s (see 'sluice iface show')", ifname);
		else if (err < 0 && err != -ENAMETOOLONG)
			err_set("cannot read the attachment of %s: %s", ifname, strerror(-err));
		if (err) {
			free(items);
			return err;
		}
		*list = items;
		*count = 1;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/iface", root);
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		err_set("cannot read %s: %s", path, strerror(-err));
		return err;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= IF_NAMESIZE)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(items, cap * sizeof(*items));
			if (!grown) {
				err_set("out of memory");
				err = -ENOMEM;
				goto out;
			}
			items = grown;
		}
		if (describe(root, de->d_name, &items[n]))
			continue; /* an empty or foreign folder: not an attachment */
		n++;
	}
	if (n)
		qsort(items, n, sizeof(*items), cmp_name);
	*list = items;
	*count = n;
	items = NULL;
	err = 0;
out:
	free(items);
	closedir(d);
	return err;
}
