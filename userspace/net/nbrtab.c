// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The neighbour table of addrwatch (nbrtab.h): open addressing with linear
 * probing, deletion by backward shift (no tombstones), a power-of-two
 * number of slots twice the capacity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nbrtab.h"

#define NBR_LL_MAX 32 /* MAX_ADDR_LEN */

struct nbr {
	int used;
	int ifindex;
	int family;
	size_t ll_len;
	unsigned char dst[16];
	unsigned char ll[NBR_LL_MAX];
};

struct nbrtab {
	struct nbr *slot;
	size_t mask; /* slots - 1 */
	size_t n, cap;
};

struct nbrtab *nbrtab_new(size_t cap)
{
	struct nbrtab *t = calloc(1, sizeof(*t));
	size_t slots = 2;

	while (slots < 2 * cap)
		slots *= 2;
	if (t)
		t->slot = calloc(slots, sizeof(*t->slot));
	if (!t || !t->slot) {
		free(t);
		return NULL;
	}
	t->mask = slots - 1;
	t->cap = cap;
	return t;
}

void nbrtab_clear(struct nbrtab *t)
{
	memset(t->slot, 0, (t->mask + 1) * sizeof(*t->slot));
	t->n = 0;
}

void nbrtab_free(struct nbrtab *t)
{
	if (!t)
		return;
	free(t->slot);
	free(t);
}

/* FNV-1a of the key. */
static size_t key_hash(int ifindex, int family, const unsigned char *dst)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	h = (h ^ (uint32_t)ifindex) * 0x100000001b3ull;
	h = (h ^ (uint32_t)family) * 0x100000001b3ull;
	for (i = 0; i < 16; i++)
		h = (h ^ dst[i]) * 0x100000001b3ull;
	return (size_t)(h ^ h >> 32);
}

/* The slot of the key, or the empty slot where it would go. */
static size_t find(const struct nbrtab *t, int ifindex, int family, const unsigned char *dst)
{
	size_t i = key_hash(ifindex, family, dst) & t->mask;

	while (t->slot[i].used && (t->slot[i].ifindex != ifindex || t->slot[i].family != family ||
				   memcmp(t->slot[i].dst, dst, 16)))
		i = (i + 1) & t->mask;
	return i;
}

/* Empty slot i, moving back the entries of its probe run that belong before it. */
static void take_out(struct nbrtab *t, size_t i)
{
	size_t j = i, home;

	t->slot[i].used = 0;
	t->n--;
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slot[j].used)
			return;
		home = key_hash(t->slot[j].ifindex, t->slot[j].family, t->slot[j].dst) & t->mask;
		/* Stays unless the hole lies cyclically between its home and it. */
		if (((j - home) & t->mask) < ((j - i) & t->mask))
			continue;
		t->slot[i] = t->slot[j];
		t->slot[j].used = 0;
		i = j;
	}
}

int nbrtab_event(struct nbrtab *t, int gone, int ifindex, int family, const void *dst,
		 size_t dst_len, int usable, const void *lladdr, size_t ll_len)
{
	unsigned char key[16] = { 0 };
	struct nbr *e;
	size_t i;

	if (dst_len > sizeof(key) || ll_len > NBR_LL_MAX)
		return 1; /* not ours to judge: as a change */
	memcpy(key, dst, dst_len);
	i = find(t, ifindex, family, key);
	e = &t->slot[i];
	if (gone || !usable) {
		if (!e->used)
			return 0; /* never known usable here: nothing cached can lead to it */
		take_out(t, i);
		return 1;
	}
	if (e->used) {
		if (e->ll_len == ll_len && !memcmp(e->ll, lladdr, ll_len))
			return 0;
	} else {
		if (t->n >= t->cap)
			return 1; /* full: unknown, as a change */
		e->used = 1;
		e->ifindex = ifindex;
		e->family = family;
		memcpy(e->dst, key, sizeof(key));
		t->n++;
	}
	e->ll_len = ll_len;
	memcpy(e->ll, lladdr, ll_len);
	return 1;
}
