// SPDX-License-Identifier: GPL-2.0-only
/*
 * pktbuild: builds test frames from a struct pkt_spec, and computes and
 * checks Internet checksums from scratch. Fields are written byte by byte
 * in network order, so the builder depends on no header's struct layout and
 * can write any field wrong on purpose.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "pktbuild.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define TPID_8021Q 0x8100
#define TPID_8021AD 0x88a8

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The checksum is computed on 16-bit big-endian words and returned as a
 * number: store it with put16() (network order). A checksummed region
 * verifies when pkt_csum() over it, checksum included, is 0.
 */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		sum += get16(p + i);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (len & 1) {
		sum += (uint32_t)p[len - 1] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum;
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t pkt_csum(const void *data, size_t len)
{
	return pkt_csum_fold(pkt_csum_add(0, data, len));
}

/* Sum of the TCP/UDP pseudo-header (RFC 793 / RFC 8200 section 8.1). */
static uint32_t pseudo_sum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			   uint32_t l4_len)
{
	size_t alen = family == 4 ? 4 : 16;
	uint32_t sum = 0;

	sum = pkt_csum_add(sum, src, alen);
	sum = pkt_csum_add(sum, dst, alen);
	sum += proto;
	sum += l4_len >> 16;
	sum += l4_len & 0xffff;
	return sum;
}

static int parse_addr(const char *s, uint8_t *out)
{
	if (strchr(s, ':'))
		return inet_pton(AF_INET6, s, out) == 1 ? 6 : -EINVAL;
	return inet_pton(AF_INET, s, out) == 1 ? 4 : -EINVAL;
}

static const uint8_t default_dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t default_smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static int mac_is_zero(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return !memcmp(mac, zero, 6);
}

/* Length in bytes of an IPv6 extension header as the spec describes it. */
static int ext_len(const struct pkt_ext *e)
{
	if (e->type == IPPROTO_FRAGMENT)
		return 8;
	if (e->type == IPPROTO_AH)
		return (e->len + 2) * 4;
	return (e->len + 1) * 8;
}

/* Transport header: returns its length, or -EINVAL. */
static int build_l4(const struct pkt_spec *s, uint8_t *p, int family)
{
	switch (s->proto) {
	case IPPROTO_TCP: {
		int hl = PKT_TCP_LEN + s->tcp_opt_len;

		if (s->tcp_opt_len < 0 || s->tcp_opt_len > PKT_TCP_OPT_MAX || s->tcp_opt_len % 4)
			return -EINVAL;
		put16(p, s->sport);
		put16(p + 2, s->dport);
		p[13] = s->tcp_noflags ? 0 : s->tcp_flags ? s->tcp_flags : PKT_TCP_ACK;
		/* An ACK without SYN follows the default SYN's handshake: seq ISN + 1. */
		put32(p + 4, s->tcp_raw ? s->seq
					: 0x01020304u + ((p[13] & (PKT_TCP_SYN | PKT_TCP_ACK)) ==
							 PKT_TCP_ACK));
		put32(p + 8, s->tcp_raw ? s->ack : 0x0a0b0c0d);
		p[12] = (uint8_t)((s->doff ? s->doff : hl / 4) << 4);
		put16(p + 14, s->tcp_raw ? s->window : 65535);

		memset(p + PKT_TCP_LEN, 1, s->tcp_opt_len); /* NOP options */
		return hl;
	}
	case IPPROTO_UDP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		return PKT_UDP_LEN;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (s->icmp_unreach) {
			/* Destination unreachable: 4 unused bytes, then the quote (payload). */
			p[0] = family == 4 ? 3 : 1;
			p[1] = s->icmp_code;
			return PKT_ICMP_LEN;
		}
		p[0] = family == 4 ? 8 : 128; /* echo request */
		put16(p + 4, 0x1234);	      /* identifier */
		put16(p + 6, 1);	      /* sequence */
		return PKT_ICMP_LEN;
	default:
		return 0; /* no header the builder knows: payload only */
	}
}

/* Fill the transport length and checksum once the payload is in place. */
static void finish_l4(const struct pkt_spec *s, uint8_t *l4, int l4_len, int family,
		      const uint8_t *src, const uint8_t *dst)
{
	int csum_off;
	uint32_t sum;

	switch (s->proto) {
	case IPPROTO_TCP:
		csum_off = 16;
		break;
	case IPPROTO_UDP:
		put16(l4 + 4, (uint16_t)(s->udp_len ? (s->udp_len < 0 ? 0 : s->udp_len) : l4_len));
		csum_off = 6;
		break;
	case IPPROTO_ICMP:
		if (family != 4)
			return;
		put16(l4 + 2, pkt_csum(l4, l4_len)); /* no pseudo-header */
		return;
	case IPPROTO_ICMPV6:
		if (family != 6)
			return;
		csum_off = 2;
		break;
	default:
		return;
	}
	sum = pseudo_sum(family, src, dst, s->proto, l4_len);
	put16(l4 + csum_off, pkt_csum_fold(pkt_csum_add(sum, l4, l4_len)));
	/* UDP sends a computed 0 as 0xffff: 0 means "no checksum". */
	if (s->proto == IPPROTO_UDP && !get16(l4 + csum_off))
		put16(l4 + csum_off, 0xffff);
}

static void ip4_header_csum(uint8_t *ip, int hl)
{
	put16(ip + 10, 0);
	put16(ip + 10, pkt_csum(ip, hl));
}

int pkt_build(const struct pkt_spec *s, void *buf, size_t size, struct pkt_layout *layout)
{
	uint8_t f[2 * PKT_BUF_MAX], src[16] = { 0 }, dst[16] = { 0 };
	struct pkt_layout lay = { -1, -1, -1, 0 };
	int family = 0, off, i, hl = 0, n, len;
	uint16_t ethertype = s->ethertype;

	memset(f, 0, sizeof(f));
	if (s->n_vlan < 0 || s->n_vlan > PKT_VLAN_MAX || s->n_ext < 0 || s->n_ext > PKT_EXT_MAX ||
	    s->payload < 0 || s->payload > PKT_BUF_MAX)
		return -EINVAL;
	if (s->dst) {
		family = parse_addr(s->dst, dst);
		if (family < 0 || !s->src || parse_addr(s->src, src) != family)
			return -EINVAL;
	}
	if (!ethertype)
		ethertype = family == 4 ? ETH_P_IPV4 : family == 6 ? ETH_P_IPV6 : 0;
	if (!ethertype)
		return -EINVAL;

	/* Ethernet and the tags. */
	memcpy(f, mac_is_zero(s->dmac) ? default_dmac : s->dmac, 6);
	memcpy(f + 6, mac_is_zero(s->smac) ? default_smac : s->smac, 6);
	off = 12;
	for (i = 0; i < s->n_vlan; i++) {
		put16(f + off, s->vlan[i].tpid);
		put16(f + off + 2, s->vlan[i].tci);
		off += PKT_VLAN_LEN;
	}
	put16(f + off, ethertype);
	off += 2;

	if (family == 4) {
		if (s->ip4_opt_len < 0 || s->ip4_opt_len > PKT_IP4_OPT_MAX || s->ip4_opt_len % 4)
			return -EINVAL;
		lay.l3 = off;
		hl = PKT_IP4_LEN + s->ip4_opt_len;
		/* Options: NOPs closed by an End of Option List. */
		memset(f + off + PKT_IP4_LEN, 1, s->ip4_opt_len);
		if (s->ip4_opt_len)
			f[off + hl - 1] = 0;
		off += hl;
	} else if (family == 6) {
		uint8_t next;

		lay.l3 = off;
		off += PKT_IP6_LEN;
		for (i = 0; i < s->n_ext; i++) {
			const struct pkt_ext *e = &s->ext[i];

			n = ext_len(e);
			if (off + n > PKT_BUF_MAX)
				return -EINVAL;
			next = i + 1 < s->n_ext ? s->ext[i + 1].type : s->proto;
			f[off] = next;
			if (e->type == IPPROTO_FRAGMENT) {
				put16(f + off + 2, e->frag);
				put32(f + off + 4, 0xabcd);
			} else {
				f[off + 1] = e->len;
				/* Options headers: PadN over the rest (RFC 8200 4.2). */
				if ((e->type == IPPROTO_HOPOPTS || e->type == IPPROTO_DSTOPTS) &&
				    n > 2) {
					f[off + 2] = 1;
					f[off + 3] = (uint8_t)(n - 4);
				}
			}
			off += n;
		}
	}

	/* Transport header and payload. */
	if (family) {
		lay.l4 = off;
		n = build_l4(s, f + off, family);
		if (n < 0)
			return n;
		off += n;
	}
	lay.payload = off;
	/* Scratch is 2 * PKT_BUF_MAX: headers stay under PKT_BUF_MAX + 60 here. */
	if (off + s->payload > (int)sizeof(f))
		return -EINVAL;
	for (i = 0; i < s->payload; i++)
		f[off + i] = s->payload_data ? s->payload_data[i] : (uint8_t)i;
	off += s->payload;
	len = off;

	/* Lengths and checksums, inside out. */
	if (family) {
		finish_l4(s, f + lay.l4, len - lay.l4, family, src, dst);
		if (family == 4) {
			uint8_t *ip = f + lay.l3;

			ip[0] = (uint8_t)((s->ip_version ? s->ip_version : 4) << 4 |
					  ((s->ihl ? s->ihl : hl / 4) & 0xf));
			put16(ip + 2, (uint16_t)(s->tot_len ? s->tot_len : len - lay.l3));
			put16(ip + 4, s->ip_id_raw ? s->ip_id : 0x4242); /* id */
			put16(ip + 6, s->frag);
			ip[8] = s->ttl ? s->ttl : 64;
			ip[9] = s->proto;
			memcpy(ip + 12, src, 4);
			memcpy(ip + 16, dst, 4);
			ip4_header_csum(ip, hl);
		} else {
			uint8_t *ip = f + lay.l3;
			int plen = len - lay.l3 - PKT_IP6_LEN;

			if (s->payload_len6)
				plen = s->payload_len6 < 0 ? 0 : s->payload_len6;
			put32(ip, (uint32_t)(s->ip_version ? s->ip_version : 6) << 28);
			put16(ip + 4, (uint16_t)plen);
			ip[6] = s->n_ext ? s->ext[0].type : s->proto;
			ip[7] = s->ttl ? s->ttl : 64;
			memcpy(ip + 8, src, 16);
			memcpy(ip + 24, dst, 16);
		}
	}

	if (s->truncate > 0 && s->truncate < len) {
		len = s->truncate;
		/* Make the IP length agree with the cut, where the field survived. */
		if (s->fix_len && family == 4 && !s->tot_len && lay.l3 + 4 <= len) {
			put16(f + lay.l3 + 2, (uint16_t)(len - lay.l3));
			if (lay.l3 + hl <= len)
				ip4_header_csum(f + lay.l3, hl);
		}
		if (s->fix_len && family == 6 && !s->payload_len6 && lay.l3 + 6 <= len)
			put16(f + lay.l3 + 4,
			      (uint16_t)(len > lay.l3 + PKT_IP6_LEN ? len - lay.l3 - PKT_IP6_LEN
								    : 0));
	}
	if ((size_t)len > size)
		return -ENOSPC;
	memcpy(buf, f, len);
	lay.len = len;
	if (layout)
		*layout = lay;
	return len;
}

int pkt_check_csums(const void *frame, size_t len)
{
	const uint8_t *f = frame;
	size_t off = 12, l3, l4, end;
	uint16_t type;
	uint8_t proto;
	int family, i;

	if (len < 14)
		return -EINVAL;
	type = get16(f + off);
	for (i = 0; i < PKT_VLAN_MAX && (type == TPID_8021Q || type == TPID_8021AD); i++) {
		off += PKT_VLAN_LEN;
		if (off + 2 > len)
			return -EINVAL;
		type = get16(f + off);
	}
	l3 = off + 2;
	if (type == ETH_P_IPV4) {
		size_t hl;

		if (l3 + PKT_IP4_LEN > len)
			return -EINVAL;
		hl = (size_t)(f[l3] & 0xf) * 4;
		end = l3 + get16(f + l3 + 2);
		if (hl < PKT_IP4_LEN || end > len || end < l3 + hl)
			return -EINVAL;
		if (pkt_csum(f + l3, hl))
			return -EBADMSG;
		if (get16(f + l3 + 6) & 0x3fff)
			return 0; /* a fragment: no whole datagram to check */
		family = 4;
		proto = f[l3 + 9];
		l4 = l3 + hl;
	} else if (type == ETH_P_IPV6) {
		if (l3 + PKT_IP6_LEN > len)
			return -EINVAL;
		end = l3 + PKT_IP6_LEN + get16(f + l3 + 4);
		if (end > len)
			return -EINVAL;
		family = 6;
		proto = f[l3 + 6];
		l4 = l3 + PKT_IP6_LEN;
		while (proto == IPPROTO_HOPOPTS || proto == IPPROTO_ROUTING ||
		       proto == IPPROTO_DSTOPTS) {
			if (l4 + 2 > end)
				return -EINVAL;
			proto = f[l4];
			l4 += ((size_t)f[l4 + 1] + 1) * 8;
		}
		if (l4 > end)
			return -EINVAL;
	} else {
		return 0; /* not IP: nothing to check */
	}

	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		const uint8_t *src = f + l3 + (family == 4 ? 12 : 8);
		const uint8_t *dst = f + l3 + (family == 4 ? 16 : 24);
		size_t hlen = proto == IPPROTO_TCP ? PKT_TCP_LEN : PKT_UDP_LEN;
		uint32_t sum;

		if (l4 + hlen > end)
			return -EINVAL;
		/* IPv4 UDP may carry no checksum at all. */
		if (proto == IPPROTO_UDP && family == 4 && !get16(f + l4 + 6))
			return 0;
		sum = pseudo_sum(family, src, dst, proto, (uint32_t)(end - l4));
		if (pkt_csum_fold(pkt_csum_add(sum, f + l4, end - l4)))
			return -EBADMSG;
	}
	return 0;
}
