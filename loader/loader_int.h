/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inside the loader: what the data plane's loader (loader.c) and the host
 * side's (host.c) share. Not for use outside loader/.
 */
#ifndef SLUICE_LOADER_INT_H
#define SLUICE_LOADER_INT_H

#include <bpf/libbpf.h>

/*
 * Point every map of obj (its .rodata/.bss excepted) at its pin under
 * root, flow maps sized first (a pinned one keeps its size): libbpf then
 * reuses each pinned map at load, or creates and pins it. 0 or -errno.
 */
int loader_pin_maps(struct bpf_object *obj, const char *root);

/* mkdir path 0700 (an existing folder is fine); 0 or -errno with a message. */
int loader_make_dir(const char *path);

#endif /* SLUICE_LOADER_INT_H */
