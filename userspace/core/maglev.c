// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Maglev lookup-table builder: hash, identity sort, weighted turn order and
 * the slot fill of maglev.h, plus maglev_diff() to measure disruption.
 *
 * Why this weighting. Two usual ways to weight Maglev:
 *  - Katran-style credit rounds: each round every backend adds its weight to
 *    a credit and takes a turn when the credit reaches the largest weight.
 *    The cost is rounds x n, and with one heavy backend among many light ones
 *    the rounds approach m: up to m * n steps (65537 * 65537 at worst), a
 *    pathology a configuration can trigger.
 *  - "weight turns in a row per round": cheap, but a round can exceed m for
 *    large weights and the last, partial round favours the backends sorted
 *    first by up to a whole weight of slots.
 * Here each backend's k-th turn has the virtual time k / weight, and turns go
 * in order of virtual time, ties to the backend sorted first (the schedule of
 * stride scheduling / WFQ). Backends of one weight share their turn times, so
 * they go round robin among themselves, and a binary heap with one entry per
 * distinct weight merges those streams: m heap steps of log(distinct
 * weights) whatever the weights are, and every backend within n*w/W slots of
 * its exact share (maglev.h). A backend's turn times depend on its own weight
 * only, so removing or adding a backend does not reorder the turns of the
 * others: the disruption stays Maglev's. With one weight the order is the
 * paper's round robin, run without the heap.
 *
 * The permutation is never stored: each backend keeps its next position and
 * steps it by skip with an add and a conditional subtract (no modulo), and
 * taken slots are a bitmap of m bits (8 KiB for 65537: it stays in L1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

/* FNV-1a 64-bit parameters (Fowler, Noll, Vo). */
#define MAGLEV_FNV_BASIS 0xcbf29ce484222325ull
#define MAGLEV_FNV_PRIME 0x00000100000001b3ull

/* A backend taking part in a build. */
struct maglev_state {
	const struct maglev_backend *b;
	__u32 index;
	__u32 pos; /* next slot of its preference list */
	__u32 skip;
	__u32 wrap; /* m - skip: pos + skip passes m from here on */
};

/*
 * The backends of one weight. Their turns come at the same virtual times
 * k / weight, so among themselves they go round robin in identity order;
 * the heap then only merges one stream per distinct weight.
 */
struct maglev_class {
	__u64 round; /* k: this round's turns come at virtual time k / weight */
	__u32 weight;
	__u32 first; /* members: order[first .. first + count - 1], in identity order */
	__u32 count;
	__u32 cursor; /* the member whose turn is next in this round */
	__u32 next;   /* order[first + cursor], that member's place in the sort */
};

bool maglev_is_prime(__u32 m)
{
	__u32 d;

	if (m < 4)
		return m >= 2;
	if (m % 2 == 0 || m % 3 == 0)
		return false;
	for (d = 5; (__u64)d * d <= m; d += 6)
		if (m % d == 0 || m % (d + 2) == 0)
			return false;
	return true;
}

__u64 maglev_hash(const void *data, size_t len, __u64 seed)
{
	const unsigned char *p = data;
	__u64 h = MAGLEV_FNV_BASIS ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= MAGLEV_FNV_PRIME;
	}
	/* MurmurHash3 fmix64 (Appleby, public domain). */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static int maglev_cmp_id(const void *pa, const void *pb)
{
	const struct maglev_backend *a = ((const struct maglev_state *)pa)->b;
	const struct maglev_backend *b = ((const struct maglev_state *)pb)->b;
	size_t len = a->id_len < b->id_len ? a->id_len : b->id_len;
	int r = len ? memcmp(a->id, b->id, len) : 0;

	if (r)
		return r;
	return (a->id_len > b->id_len) - (a->id_len < b->id_len);
}

/*
 * The next slot of s's preference list: pos + skip, less m when that passes
 * m (from pos >= wrap on); no modulo. Both candidates are computed before the
 * choice: measured 10 % faster than the plain conditional or branch-free
 * masks, which lengthen the loop-carried chain.
 */
static inline __u32 maglev_step(const struct maglev_state *s, __u32 pos)
{
	__u32 up = pos + s->skip, down = pos - s->wrap;

	return pos >= s->wrap ? down : up;
}

/* One turn: take the first free slot of s's preference list. */
static inline void maglev_turn(struct maglev_state *s, __u64 *taken, __u32 *table)
{
	__u32 pos = s->pos;

	while (taken[pos / 64] & (1ull << (pos % 64)))
		pos = maglev_step(s, pos);
	taken[pos / 64] |= 1ull << (pos % 64);
	table[pos] = s->index;
	s->pos = maglev_step(s, pos);
}

/*
 * true when class a's next turn comes before class b's: round_a / w_a
 * against round_b / w_b, cross-multiplied (round <= 2^32, w < 2^32: no
 * overflow in 64 bits), ties to the member sorted first.
 */
static inline bool maglev_before(const struct maglev_class *cl, __u32 a, __u32 b)
{
	__u64 ka = cl[a].round * cl[b].weight;
	__u64 kb = cl[b].round * cl[a].weight;

	return ka < kb || (ka == kb && cl[a].next < cl[b].next);
}

static void maglev_sift_down(__u32 *heap, size_t n, const struct maglev_class *cl, size_t i)
{
	__u32 x = heap[i];
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && maglev_before(cl, heap[c + 1], heap[c]))
			c++;
		if (!maglev_before(cl, heap[c], x))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = x;
}

static int maglev_cmp_u64(const void *pa, const void *pb)
{
	__u64 a = *(const __u64 *)pa, b = *(const __u64 *)pb;

	return (a > b) - (a < b);
}

/*
 * Group the na sorted backends by weight: order[] their places sorted by
 * (weight, place), cl[] one class per weight. key is scratch (na words).
 * Returns the number of classes.
 */
static size_t maglev_classes(const struct maglev_state *st, size_t na, __u64 *key, __u32 *order,
			     struct maglev_class *cl)
{
	size_t i, nc = 0;

	for (i = 0; i < na; i++)
		key[i] = (__u64)st[i].b->weight << 32 | i;
	qsort(key, na, sizeof(*key), maglev_cmp_u64);
	for (i = 0; i < na; i++) {
		__u32 w = key[i] >> 32;

		order[i] = (__u32)key[i];
		if (!nc || cl[nc - 1].weight != w) {
			cl[nc].round = 1;
			cl[nc].weight = w;
			cl[nc].first = i;
			cl[nc].count = 0;
			cl[nc].cursor = 0;
			cl[nc].next = order[i];
			nc++;
		}
		cl[nc - 1].count++;
	}
	return nc;
}

static void maglev_fill(struct maglev_state *st, struct maglev_class *cl, size_t nc,
			const __u32 *order, __u32 *heap, __u64 *taken, __u32 m, __u32 *table)
{
	__u32 filled = 0;
	size_t i;

	/* One weight: the paper's round robin in identity order, no heap. */
	if (nc == 1) {
		for (;;)
			for (i = 0; i < cl[0].count; i++) {
				maglev_turn(&st[i], taken, table);
				if (++filled == m)
					return;
			}
	}
	for (i = 0; i < nc; i++)
		heap[i] = i;
	for (i = nc / 2; i-- > 0;)
		maglev_sift_down(heap, nc, cl, i);
	for (;;) {
		struct maglev_class *c = &cl[heap[0]];

		maglev_turn(&st[c->next], taken, table);
		if (++filled == m)
			return;
		if (++c->cursor == c->count) {
			c->cursor = 0;
			c->round++;
		}
		c->next = order[c->first + c->cursor];
		/* The root's key only grew: one sift-down re-seats it. */
		maglev_sift_down(heap, nc, cl, 0);
	}
}

int maglev_build(const struct maglev_backend *backends, size_t n, __u32 m, __u32 *table)
{
	struct maglev_class *cl = NULL;
	struct maglev_state *st = NULL;
	__u32 *order = NULL, *heap = NULL;
	__u64 *taken = NULL, *key = NULL;
	size_t i, na = 0, nc;
	__u32 s;
	int err;

	if (!table || !maglev_is_prime(m) || (n && !backends))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if ((!backends[i].id && backends[i].id_len) || backends[i].index == MAGLEV_EMPTY)
			return -EINVAL;
		if (backends[i].weight)
			na++;
	}
	if (na > m)
		return -EINVAL;
	if (!na) {
		for (s = 0; s < m; s++)
			table[s] = MAGLEV_EMPTY;
		return 0;
	}

	st = calloc(na, sizeof(*st));
	cl = calloc(na, sizeof(*cl));
	key = calloc(na, sizeof(*key));
	order = calloc(na, sizeof(*order));
	heap = calloc(na, sizeof(*heap));
	taken = calloc(((size_t)m + 63) / 64, sizeof(*taken));
	if (!st || !cl || !key || !order || !heap || !taken) {
		err = -ENOMEM;
		goto out;
	}
	na = 0;
	for (i = 0; i < n; i++)
		if (backends[i].weight)
			st[na++].b = &backends[i];
	qsort(st, na, sizeof(*st), maglev_cmp_id);
	for (i = 0; i < na; i++) {
		const struct maglev_backend *b = st[i].b;

		if (i && !maglev_cmp_id(&st[i - 1], &st[i])) {
			err = -EINVAL;
			goto out;
		}
		st[i].index = b->index;
		st[i].pos = maglev_hash(b->id, b->id_len, MAGLEV_SEED_OFFSET) % m;
		st[i].skip = maglev_hash(b->id, b->id_len, MAGLEV_SEED_SKIP) % (m - 1) + 1;
		st[i].wrap = m - st[i].skip;
	}
	nc = maglev_classes(st, na, key, order, cl);
	maglev_fill(st, cl, nc, order, heap, taken, m, table);
	err = 0;
out:
	free(taken);
	free(heap);
	free(order);
	free(key);
	free(cl);
	free(st);
	return err;
}

static int maglev_cmp_u32(const void *pa, const void *pb)
{
	__u32 a = *(const __u32 *)pa, b = *(const __u32 *)pb;

	return (a > b) - (a < b);
}

/* Sorted distinct values of t[0 .. m-1] into set; returns their number. */
static size_t maglev_values(const __u32 *t, __u32 m, __u32 *set)
{
	size_t i, k = 0;

	memcpy(set, t, (size_t)m * sizeof(*set));
	qsort(set, m, sizeof(*set), maglev_cmp_u32);
	for (i = 0; i < m; i++)
		if (!k || set[k - 1] != set[i])
			set[k++] = set[i];
	return k;
}

static bool maglev_has(const __u32 *set, size_t k, __u32 v)
{
	return v != MAGLEV_EMPTY && bsearch(&v, set, k, sizeof(*set), maglev_cmp_u32);
}

int maglev_diff(const __u32 *before, const __u32 *after, __u32 m, struct maglev_diff *diff)
{
	__u32 *vb, *va, s;
	struct maglev_diff d = { 0 };
	size_t kb, ka;

	if (!before || !after || !diff)
		return -EINVAL;
	if (!m) {
		*diff = d;
		return 0;
	}
	vb = malloc(2 * (size_t)m * sizeof(*vb));
	if (!vb)
		return -ENOMEM;
	va = vb + m;
	kb = maglev_values(before, m, vb);
	ka = maglev_values(after, m, va);
	for (s = 0; s < m; s++) {
		if (before[s] == after[s])
			continue;
		d.changed++;
		if (maglev_has(va, ka, before[s]) && maglev_has(vb, kb, after[s]))
			d.moved++;
	}
	free(vb);
	*diff = d;
	return 0;
}
