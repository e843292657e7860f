/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inside the loader: what the data plane's loader (loader.c) and the host
 * side's (host.c) share. Not for use outside loader/.
 */
#ifndef SLUICE_LOADER_INT_H
#define SLUICE_LOADER_INT_H

#include <stddef.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

/*
 * Point every map of obj (its .rodata/.bss excepted) at its pin under
 * root, flow maps sized first (a pinned one keeps its size): libbpf then
 * reuses each pinned map at load, or creates and pins it. 0 or -errno.
 */
int loader_pin_maps(struct bpf_object *obj, const char *root);

/* mkdir path 0700 (an existing folder is fine); 0 or -errno with a message. */
int loader_make_dir(const char *path);

/*
 * sluice_egress (egress.c) loaded on the maps pinned under root, with the
 * horizon of fq (with_fq) or of policing: *obj (bpf_object__close() it)
 * holds *prog_fd. 0 or -errno.
 */
int loader_egress_load(const char *root, int with_fq, struct bpf_object **obj, int *prog_fd);

/* ifindex's root qdisc: its kind ("" when none) and handle (0: the device's default). */
int loader_root_qdisc(int ifindex, const char *ifname, char *kind, size_t len, __u32 *handle);

/*
 * Make fq ifindex's root qdisc for pacing (egress.c explains what is
 * replaced, kept or refused, -EBUSY); dir is the attachment's pin folder,
 * where the mark that the fq is Sluice's is kept. *with_fq: fq is the root
 * now (0: this kernel has none, and nothing was changed).
 */
int loader_fq_install(const char *dir, int ifindex, const char *ifname, int force, int *with_fq);

/* Undo loader_fq_install(): delete the root fq if Sluice installed it (ifindex 0: gone). */
int loader_fq_remove(const char *dir, int ifindex, const char *ifname);

#endif /* SLUICE_LOADER_INT_H */
