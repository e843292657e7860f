// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Keys and names of the steering maps (see keys.h): formatting and parsing
 * only, no map access.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "err.h"
#include "keys.h"

int svc_key_make(const union sluice_addr *addr, __u16 port, __u8 proto, struct sluice_svc_key *key)
{
	if (!port) {
		err_set("port 0 is not a service port: give 1..65535");
		return -EINVAL;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
		err_set("protocol %u is not supported: give tcp or udp", proto);
		return -EINVAL;
	}
	memset(key, 0, sizeof(*key));
	key->addr = *addr;
	key->port = htons(port);
	key->proto = proto;
	return 0;
}

void svc_key_format(const struct sluice_svc_key *key, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	if (addr_format(&key->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s port %u %s", a, ntohs(key->port), args_proto_name(key->proto));
}

void svc_key_format_args(const struct sluice_svc_key *key, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	if (addr_format(&key->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s %u %s", a, ntohs(key->port), args_proto_name(key->proto));
}

/* Address bits (0..128) of a key: prefixlen minus the 32 of the service id. */
static __u32 addr_bits(const struct sluice_shard_key *key)
{
	return key->prefixlen - 32;
}

int shard_prefix_parse(const char *text, __u32 svc_id, struct sluice_shard_key *key)
{
	char buf[ADDR_STRLEN + 8], *slash;
	union sluice_addr addr, masked;
	__u32 len, max, bits, i;
	int v6, err;

	if (!text || !*text || strlen(text) >= sizeof(buf)) {
		err_set("invalid prefix '%s': give ADDR/LEN (10.1.0.0/16, 2001:db8::/32) or a host address",
			text ? text : "");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	v6 = strchr(buf, ':') != NULL;
	if (addr_parse(buf, &addr)) {
		err_set("invalid prefix '%s': give ADDR/LEN (10.1.0.0/16, 2001:db8::/32) or a host address",
			text);
		return -EINVAL;
	}
	max = v6 ? 128 : 32;
	len = max;
	if (slash) {
		err = args_parse_u32(slash + 1, 0, max, "prefix length", &len);
		if (err) {
			err_set("invalid prefix length in '%s': give 0..%u for an %s prefix", text,
				max, v6 ? "IPv6" : "IPv4");
			return -EINVAL;
		}
	}
	bits = v6 ? len : 96 + len;
	masked = addr;
	for (i = 0; i < 128; i++)
		if (i >= bits)
			masked.u8[i / 8] &= (__u8) ~(0x80u >> (i % 8));
	if (memcmp(&masked, &addr, sizeof(addr))) {
		char m[ADDR_STRLEN];

		addr_format(&masked, m, sizeof(m));
		err_set("prefix '%s' has host bits set: did you mean %s/%u?", text, m, len);
		return -EINVAL;
	}
	memset(key, 0, sizeof(*key));
	key->prefixlen = 32 + bits;
	key->svc_id = svc_id;
	key->addr = addr;
	return 0;
}

void shard_prefix_format(const struct sluice_shard_key *key, char *buf, size_t len)
{
	char a[ADDR_STRLEN];
	__u32 bits = addr_bits(key);

	if (addr_format(&key->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (addr_is_v4mapped(&key->addr) && bits >= 96)
		snprintf(buf, len, "%s/%u", a, bits - 96);
	else
		snprintf(buf, len, "%s/%u", a, bits);
}

__u16 backend_port(const struct sluice_backend *be, const struct sluice_svc_key *key)
{
	return be->port ? ntohs(be->port) : ntohs(key->port);
}

int backend_find(const struct sluice_backend *all, const struct sluice_svc_key *key,
		 const struct sluice_svc *svc, const struct be_ref *ref, __u32 *id)
{
	return backend_find_among(all, NULL, SLUICE_MAX_BACKENDS, key, svc, ref, id);
}

int backend_find_among(const struct sluice_backend *all, const __u32 *ids, size_t n,
		       const struct sluice_svc_key *key, const struct sluice_svc *svc,
		       const struct be_ref *ref, __u32 *id)
{
	char a[ADDR_STRLEN], k[SVC_KEY_STRLEN];
	__u32 i, found = SLUICE_NO_BACKEND, matches = 0;
	size_t j;

	for (j = 0; j < n; j++) {
		i = ids ? ids[j] : (__u32)j;
		if (i >= SLUICE_MAX_BACKENDS || !backend_is_of(&all[i], svc->id) ||
		    memcmp(&all[i].addr, &ref->addr, sizeof(ref->addr)))
			continue;
		if (ref->has_port && backend_port(&all[i], key) != ref->port)
			continue;
		found = i;
		matches++;
	}
	if (matches == 1) {
		*id = found;
		return 0;
	}
	if (addr_format(&ref->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	svc_key_format(key, k, sizeof(k));
	if (matches > 1) {
		err_set("service %s has several backends at %s: give the port too (port BPORT)", k,
			a);
		return -ENOTUNIQ;
	}
	if (ref->has_port)
		err_set("service %s has no backend %s port %u (see 'sluice backend show')", k, a,
			ref->port);
	else
		err_set("service %s has no backend %s (see 'sluice backend show')", k, a);
	return -ENOENT;
}
