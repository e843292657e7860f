// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl_config reads and writes (see gateway.h). The entry is written whole in
 * one update, so the data plane sees the old settings or the new ones.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "gateway.h"

int gateway_addr_is_set(const union sluice_addr *a)
{
	static const union sluice_addr zero;

	return memcmp(a, &zero, sizeof(zero)) != 0;
}

int gateway_conf_check(const struct gateway_conf *conf)
{
	if (!conf->has_src4 && !conf->has_src6 && !conf->has_udp_timeout) {
		err_set("nothing to change: give at least one of encap-source4, encap-source6, udp-timeout");
		return -EINVAL;
	}
	if (conf->has_src4 && gateway_addr_is_set(&conf->src4) && !addr_is_v4mapped(&conf->src4)) {
		err_set("encap-source4 must be an IPv4 address (or none)");
		return -EINVAL;
	}
	if (conf->has_src6 && gateway_addr_is_set(&conf->src6) && addr_is_v4mapped(&conf->src6)) {
		err_set("encap-source6 must be an IPv6 address (or none); use encap-source4 for IPv4");
		return -EINVAL;
	}
	if (conf->has_udp_timeout &&
	    (conf->udp_timeout_s < 1 || conf->udp_timeout_s > GATEWAY_UDP_TIMEOUT_MAX)) {
		err_set("udp-timeout %u is out of range: give 1..%u seconds", conf->udp_timeout_s,
			GATEWAY_UDP_TIMEOUT_MAX);
		return -ERANGE;
	}
	return 0;
}

int gateway_get(const struct sluice_maps *m, struct sluice_config *cfg)
{
	int err = maps_read_config(m, cfg);

	if (!err && !cfg->udp_timeout_ns)
		cfg->udp_timeout_ns = SLUICE_UDP_TIMEOUT_DEFAULT_NS;
	return err;
}

int gateway_set(const struct sluice_maps *m, const struct gateway_conf *conf,
		struct sluice_config *cfg)
{
	struct sluice_config c;
	__u32 key = 0;
	int err;

	err = gateway_conf_check(conf);
	if (err)
		return err;
	err = gateway_get(m, &c);
	if (err)
		return err;
	if (conf->has_src4)
		c.encap_src4 = conf->src4;
	if (conf->has_src6)
		c.encap_src6 = conf->src6;
	if (conf->has_udp_timeout)
		c.udp_timeout_ns = (__u64)conf->udp_timeout_s * 1000000000ull;
	if (bpf_map_update_elem(m->config, &key, &c, BPF_ANY)) {
		err = -errno;
		err_set("cannot write %s: %s", SLUICE_MAP_CONFIG, strerror(-err));
		return err;
	}
	if (cfg)
		*cfg = c;
	return 0;
}
