/* netaddr: client addresses. A list of trusted proxies (addresses or CIDR
 * ranges, IPv4 and IPv6), and the rule of api.md that picks the client's
 * address: the TCP peer, unless the peer is a trusted proxy; then the
 * right-most address of X-Forwarded-For that is not itself a trusted
 * proxy. Pure functions: no I/O, no allocation but the list's. */
#ifndef PV_NETADDR_H
#define PV_NETADDR_H

#include <stddef.h>
#include <stdint.h>

#define NET_ADDR_STR 46 /* INET6_ADDRSTRLEN */
#define NET_MAX_CIDRS 64

typedef struct net_cidr {
	uint8_t a[16]; /* IPv4 as ::ffff:a.b.c.d */
	int bits;      /* prefix length over the 128 bits */
} net_cidr;

typedef struct net_cidrs {
	net_cidr v[NET_MAX_CIDRS];
	size_t n;
} net_cidrs;

/* Parses "10.0.0.1, 10.1.0.0/16, ::1, fd00::/8" (commas, spaces). An empty
 * or NULL list is valid and empty. PV_EINVAL (with the bad item copied into
 * bad, bad_cap bytes) for an item that is not an address or range, or
 * PV_ELIMIT for more than NET_MAX_CIDRS items. */
int net_cidrs_parse(const char *list, net_cidrs *out, char *bad, size_t bad_cap);

/* Parses one textual address (IPv4 or IPv6) into 16 bytes; 1 when valid. */
int net_addr_parse(const char *s, size_t n, uint8_t out[16]);

/* 1 when the address is inside one of the ranges. */
int net_cidrs_match(const net_cidrs *c, const uint8_t a[16]);

/* The client address as text (IPv4 in dotted form) into out: the peer's
 * (peer16, already parsed), or, when the peer is trusted, the right-most
 * X-Forwarded-For entry (xff may be NULL) that is not trusted; the
 * left-most entry when all of them are trusted; the peer's own address
 * when the header is absent or an entry is malformed (a malformed entry is
 * never trusted as an address). */
void net_client_addr(const uint8_t peer16[16], const char *xff,
		     const net_cidrs *trusted, char out[NET_ADDR_STR]);

/* Formats 16 bytes as text (IPv4-mapped as dotted IPv4). */
void net_addr_format(const uint8_t a[16], char out[NET_ADDR_STR]);

#endif
