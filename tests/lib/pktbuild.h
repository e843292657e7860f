/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pktbuild: a small, data-driven packet builder for the data-plane tests
 * and the benchmarks. A struct pkt_spec describes a frame (Ethernet, VLAN
 * tags, IPv4 with options and fragment bits or IPv6 with extension headers,
 * TCP/UDP/ICMP, payload) and pkt_build() writes it with correct checksums;
 * fields that default to 0 mean "the right value", so a spec names only what
 * a test wants to be different (and can make any length field lie).
 * Also: from-scratch Internet checksums and a checker for built or rewritten
 * frames (IPv4 header and TCP/UDP checksums).
 */
#ifndef SLUICE_PKTBUILD_H
#define SLUICE_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>

#define PKT_VLAN_MAX 4	   /* tags the builder can stack */
#define PKT_EXT_MAX 10	   /* IPv6 extension headers the builder can chain */
#define PKT_IP4_OPT_MAX 40 /* bytes of IPv4 options */
#define PKT_TCP_OPT_MAX 40 /* bytes of TCP options */
#define PKT_BUF_MAX 2048   /* enough for any frame a test builds */

#define PKT_ETH_LEN 14
#define PKT_VLAN_LEN 4
#define PKT_IP4_LEN 20
#define PKT_IP6_LEN 40
#define PKT_TCP_LEN 20
#define PKT_UDP_LEN 8
#define PKT_ICMP_LEN 8

/* IPv4 fragment word (host order): flags | offset in 8-byte units. */
#define PKT_IP_DF 0x4000
#define PKT_IP_MF 0x2000

/* TCP flags (byte 13). */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

/* One VLAN tag: TPID 0x8100 (802.1Q) or 0x88a8 (802.1ad), and the TCI. */
struct pkt_vlan {
	uint16_t tpid;
	uint16_t tci;
};

/*
 * One IPv6 extension header. type: 0 (hop-by-hop), 43 (routing), 60
 * (destination options), 51 (AH) or 44 (fragment). len is the header's own
 * length field: (len + 1) * 8 bytes for 0/43/60, (len + 2) * 4 for AH;
 * ignored for the fragment header (always 8 bytes), which takes frag
 * (host order: offset in 8-byte units << 3 | M flag).
 */
struct pkt_ext {
	uint8_t type;
	uint8_t len;
	uint16_t frag;
};

/*
 * What to build. Zero fields take defaults; see each comment. A value
 * "written as is" goes in modulo its field's width, so 16 writes an ihl or
 * doff of 0.
 */
struct pkt_spec {
	/* L2 */
	uint8_t dmac[6]; /* all zero: 02:00:00:00:00:02 */
	uint8_t smac[6]; /* all zero: 02:00:00:00:00:01 */
	int n_vlan;	 /* tags, outermost first */
	struct pkt_vlan vlan[PKT_VLAN_MAX];
	uint16_t ethertype; /* after the tags; 0: from the address family */
	/* L3: "10.0.0.1" or "2001:db8::1"; dst NULL: no IP header at all */
	const char *src;
	const char *dst;
	uint8_t proto;	    /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP(V6), anything */
	uint8_t ip_version; /* 0: 4 or 6; else written as is (to make it wrong) */
	uint8_t ttl;	    /* 0: 64 */
	/* IPv4 */
	int ip4_opt_len; /* bytes of options (NOPs, then EOL), multiple of 4 */
	int ihl;	 /* 0: computed; else written as is */
	int tot_len;	 /* 0: computed; else written as is */
	uint16_t frag;	 /* flags | offset (PKT_IP_MF, PKT_IP_DF) */
	/* IPv6 */
	int n_ext;
	struct pkt_ext ext[PKT_EXT_MAX]; /* in order, after the fixed header */
	int payload_len6;		 /* 0: computed; else written as is (-1 writes 0) */
	/* L4 (TCP/UDP) */
	uint16_t sport;	   /* host order */
	uint16_t dport;	   /* host order */
	uint8_t tcp_flags; /* 0: ACK */
	int tcp_noflags;   /* 1: no flag at all (a NULL segment), whatever tcp_flags says */
	int tcp_opt_len;   /* bytes of options (NOPs), multiple of 4 */
	int doff;	   /* 0: computed; else written as is (32-bit words) */
	int udp_len;	   /* 0: computed; else written as is (-1 writes 0) */
	int tcp_raw;	   /* 1: seq, ack and window below as is (0 included) */
	uint32_t seq;	   /* with tcp_raw; else 0x01020304 (+ 1 with ACK, no SYN) */
	uint32_t ack;	   /* with tcp_raw; else 0x0a0b0c0d */
	uint16_t window;   /* with tcp_raw; else 65535 */
	int ip_id_raw;	   /* 1: ip_id as is (0 included); else 0x4242 */
	uint16_t ip_id;
	/* ICMP / ICMPv6 */
	int icmp_unreach;  /* 1: destination unreachable (code icmp_code), not echo request */
	uint8_t icmp_code; /* with icmp_unreach */
	/* payload, filled with a counting byte pattern */
	int payload;		     /* bytes after the L4 header (after Ethernet when dst NULL) */
	const uint8_t *payload_data; /* non-NULL: the payload bytes instead of the pattern */
	/* after building */
	int truncate; /* > 0: cut the frame to this many bytes */
	int fix_len;  /* with truncate: make the IP length fields agree with the cut */
};

/* Where the headers of a built frame begin (offsets; -1 when absent). */
struct pkt_layout {
	int l3;	     /* IP header */
	int l4;	     /* transport header */
	int payload; /* first payload byte */
	int len;     /* frame length */
};

/*
 * Build the frame described by spec into buf. Returns its length, or
 * -EINVAL (a spec the builder cannot express) or -ENOSPC (buf too small).
 * layout may be NULL.
 */
int pkt_build(const struct pkt_spec *spec, void *buf, size_t size, struct pkt_layout *layout);

/* Internet checksum (RFC 1071) from scratch: add, fold, complement. */
uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t pkt_csum_fold(uint32_t sum);
uint16_t pkt_csum(const void *data, size_t len);

/*
 * Check a frame's checksums: the IPv4 header checksum and, for an
 * unfragmented TCP or UDP datagram over IPv4 or IPv6 (extension headers
 * 0/43/60 skipped), the transport checksum with its pseudo-header. Returns 0
 * when all present checksums are right, -EBADMSG when one is wrong, -EINVAL
 * when the frame cannot be parsed that far.
 */
int pkt_check_csums(const void *frame, size_t len);

#endif /* SLUICE_PKTBUILD_H */
