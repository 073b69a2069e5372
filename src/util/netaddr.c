#include "util/netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

static const uint8_t net_v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int net_addr_parse(const char *s, size_t n, uint8_t out[16])
{
	char tmp[NET_ADDR_STR + 1];
	struct in_addr v4;

	if (n == 0 || n >= sizeof tmp)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, &v4) == 1) {
		memcpy(out, net_v4_prefix, 12);
		memcpy(out + 12, &v4, 4);
		return 1;
	}
	return inet_pton(AF_INET6, tmp, out) == 1;
}

void net_addr_format(const uint8_t a[16], char out[NET_ADDR_STR])
{
	if (memcmp(a, net_v4_prefix, 12) == 0)
		inet_ntop(AF_INET, a + 12, out, NET_ADDR_STR);
	else
		inet_ntop(AF_INET6, a, out, NET_ADDR_STR);
}

/* One item "addr" or "addr/bits" of n bytes. */
static int net_cidr_parse(const char *s, size_t n, net_cidr *c)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	int v4, maxbits;
	long bits;
	char num[4];
	char *end;

	if (!net_addr_parse(s, alen, c->a))
		return 0;
	v4 = memcmp(c->a, net_v4_prefix, 12) == 0 && memchr(s, ':', alen) == NULL;
	maxbits = v4 ? 32 : 128;
	bits = maxbits;
	if (slash) {
		size_t bl = n - alen - 1;

		if (bl == 0 || bl >= sizeof num)
			return 0;
		memcpy(num, slash + 1, bl);
		num[bl] = '\0';
		bits = strtol(num, &end, 10);
		if (*end || bits < 0 || bits > maxbits)
			return 0;
	}
	c->bits = (int)(v4 ? bits + 96 : bits);
	return 1;
}

int net_cidrs_parse(const char *list, net_cidrs *out, char *bad, size_t bad_cap)
{
	const char *p = list ? list : "";

	out->n = 0;
	if (bad && bad_cap)
		bad[0] = '\0';
	while (*p) {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (out->n == NET_MAX_CIDRS)
			return PV_ELIMIT;
		if (!net_cidr_parse(p, n, &out->v[out->n])) {
			if (bad && bad_cap)
				util_strncpy0(bad, bad_cap, p, n);
			return PV_EINVAL;
		}
		out->n++;
		p += n;
	}
	return PV_OK;
}

int net_cidrs_match(const net_cidrs *c, const uint8_t a[16])
{
	for (size_t i = 0; i < c->n; i++) {
		const net_cidr *r = &c->v[i];
		int full = r->bits / 8, rest = r->bits % 8;

		if (memcmp(a, r->a, (size_t)full) != 0)
			continue;
		if (rest && ((a[full] ^ r->a[full]) & (uint8_t)(0xff << (8 - rest))))
			continue;
		return 1;
	}
	return 0;
}

void net_client_addr(const uint8_t peer16[16], const char *xff,
		     const net_cidrs *trusted, char out[NET_ADDR_STR])
{
	uint8_t a[16];
	const char *seg_end;

	net_addr_format(peer16, out);
	if (!xff || !net_cidrs_match(trusted, peer16))
		return;
	/* walk the list from the right: each hop was added by the proxy
	 * after it, so the first untrusted one is the client as far as
	 * anyone trusted can tell; at most 64 hops are looked at */
	seg_end = xff + strlen(xff);
	for (int hops = 0; hops < 64; hops++) {
		const char *seg = seg_end, *s;
		size_t n;

		while (seg > xff && seg[-1] != ',')
			seg--;
		s = seg;
		n = (size_t)(seg_end - seg);
		while (n && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (!net_addr_parse(s, n, a))
			return; /* malformed: keep what we have */
		net_addr_format(a, out);
		if (!net_cidrs_match(trusted, a) || seg == xff)
			return; /* the client, or the left-most of trusted hops */
		seg_end = seg - 1; /* the comma before this entry */
	}
}
