// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl_ports: see ports.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "err.h"
#include "ports.h"

enum ports_kind { PORTS_SVC, PORTS_RET, PORTS_FLOW };

/* The map's one value, mapped read-write; NULL (error set) when it cannot be. */
static struct sluice_ports *ports_map(const struct sluice_maps *m)
{
	void *p = mmap(NULL, sizeof(struct sluice_ports), PROT_READ | PROT_WRITE, MAP_SHARED,
		       m->ports, 0);

	if (p == MAP_FAILED) {
		err_set("cannot map %s: %s", SLUICE_MAP_PORTS, strerror(errno));
		return NULL;
	}
	return p;
}

static void ports_unmap(struct sluice_ports *p)
{
	munmap(p, sizeof(*p));
}

/* Bit port (PORTS_FLOW: a sluice_key_bit()) of the kind's bitmap: its word. */
static __u64 *ports_word(struct sluice_ports *p, enum ports_kind kind, __u16 port)
{
	__u64 *w = kind == PORTS_SVC ? p->svc : kind == PORTS_RET ? p->ret : p->flow;

	return &w[port >> 6];
}

static __u16 key_bit(const struct sluice_svc_key *k)
{
	return (__u16)sluice_key_bit(&k->addr, k->port, k->proto);
}

static int steering(__u8 mode)
{
	return mode == SLUICE_MODE_NAT || mode == SLUICE_MODE_IPIP;
}

static void ports_set(struct sluice_ports *p, enum ports_kind kind, __u16 port)
{
	__atomic_fetch_or(ports_word(p, kind, port), 1ull << (port & 63), __ATOMIC_SEQ_CST);
}

/* Every service key's port and every backend record's port into p. */
static int ports_fill(const struct sluice_maps *m, struct sluice_ports *p)
{
	struct maps_svc_entry *list = NULL;
	struct sluice_backend *all;
	size_t n = 0, i;
	int err;

	err = maps_svc_list_all(m, &list, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		ports_set(p, PORTS_SVC, ntohs(list[i].key.port));
		if (steering(list[i].svc.mode))
			ports_set(p, PORTS_FLOW, key_bit(&list[i].key));
	}
	free(list);
	all = maps_backends_snapshot(m, &err);
	if (!all)
		return err;
	for (i = 0; i < SLUICE_MAX_BACKENDS; i++)
		if (all[i].state != SLUICE_BE_UNUSED && all[i].port)
			ports_set(p, PORTS_RET, ntohs(all[i].port));
	free(all);
	return 0;
}

/* ports_ready() on a mapped value. */
static int ports_ready_at(const struct sluice_maps *m, struct sluice_ports *p)
{
	int err;

	if (__atomic_load_n(&p->valid, __ATOMIC_SEQ_CST) == SLUICE_PORTS_VALID)
		return 0;
	err = ports_fill(m, p);
	if (!err)
		__atomic_store_n(&p->valid, SLUICE_PORTS_VALID, __ATOMIC_SEQ_CST);
	return err;
}

int ports_ready(const struct sluice_maps *m)
{
	struct sluice_ports *p = ports_map(m);
	int err;

	if (!p)
		return -EIO;
	err = ports_ready_at(m, p);
	ports_unmap(p);
	return err;
}

static int ports_note(const struct sluice_maps *m, enum ports_kind kind, __u16 port)
{
	struct sluice_ports *p;
	int err;

	if (!port && kind != PORTS_FLOW)
		return 0;
	p = ports_map(m);
	if (!p)
		return -EIO;
	/* Filled first: once on, the bitmaps must already hold every other port. */
	err = ports_ready_at(m, p);
	if (!err)
		ports_set(p, kind, port);
	ports_unmap(p);
	return err;
}

int ports_note_svc(const struct sluice_maps *m, __u16 port)
{
	return ports_note(m, PORTS_SVC, port);
}

int ports_note_ret(const struct sluice_maps *m, __u16 port)
{
	return ports_note(m, PORTS_RET, port);
}

int ports_note_flow(const struct sluice_maps *m, const struct sluice_svc_key *key, __u8 mode)
{
	return steering(mode) ? ports_note(m, PORTS_FLOW, key_bit(key)) : 0;
}

/*
 * 1 when a service key needs bit `bit` of kind (PORTS_SVC: has that port;
 * PORTS_FLOW: of a nat or ipip service, hashes to it), 0 when none does,
 * or -errno. Keys only (one syscall each; PORTS_FLOW reads the value of a
 * key of that bit) and it stops at the first: a delete pays a walk of the
 * keys only when its bit was the last of its kind.
 */
static int ports_used(const struct sluice_maps *m, enum ports_kind kind, __u16 bit)
{
	struct sluice_svc_key key, next;
	struct sluice_svc val;
	void *prev = NULL;
	__u32 n;
	int e;

	/* A key deleted under us restarts the walk: bounded, as maps_svc_list_all(). */
	for (n = 0; n < SLUICE_MAX_SERVICES * 2; n++) {
		if (bpf_map_get_next_key(m->services, prev, &next)) {
			if (errno == ENOENT)
				return 0;
			e = errno;
			err_set("cannot walk %s: %s", SLUICE_MAP_SERVICES, strerror(e));
			return -e;
		}
		if (kind == PORTS_SVC && ntohs(next.port) == bit)
			return 1;
		/* A key gone meanwhile (no value) keeps the bit too. */
		if (kind == PORTS_FLOW && key_bit(&next) == bit &&
		    (bpf_map_lookup_elem(m->services, &next, &val) || steering(val.mode)))
			return 1;
		key = next;
		prev = &key;
	}
	return 1; /* the walk never ended: keep the bit */
}

/* Clear bit `bit` of kind unless a key needs it (ports_used). */
static int ports_forget(const struct sluice_maps *m, enum ports_kind kind, __u16 bit)
{
	struct sluice_ports *p;
	int used;

	used = ports_used(m, kind, bit);
	if (used)
		return used < 0 ? used : 0;
	p = ports_map(m);
	if (!p)
		return -EIO;
	__atomic_fetch_and(ports_word(p, kind, bit), ~(1ull << (bit & 63)), __ATOMIC_SEQ_CST);
	/* A key added meanwhile may have set the bit before our clear: set it back. */
	used = ports_used(m, kind, bit);
	if (used > 0)
		ports_set(p, kind, bit);
	ports_unmap(p);
	return used < 0 ? used : 0;
}

int ports_forget_svc(const struct sluice_maps *m, __u16 port)
{
	return port ? ports_forget(m, PORTS_SVC, port) : 0;
}

int ports_forget_flow(const struct sluice_maps *m, const struct sluice_svc_key *key)
{
	return ports_forget(m, PORTS_FLOW, key_bit(key));
}
