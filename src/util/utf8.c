#include "util/utf8.h"

/* The bounds of the second byte after lead byte c, per table 3-7. */
static void utf8_second(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (c == 0xE0)
		*lo = 0xA0; /* overlong below U+0800 */
	else if (c == 0xED)
		*hi = 0x9F; /* surrogates U+D800..U+DFFF */
	else if (c == 0xF0)
		*lo = 0x90; /* overlong below U+10000 */
	else if (c == 0xF4)
		*hi = 0x8F; /* above U+10FFFF */
}

int utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo, hi;
	int len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0; /* a continuation byte, C0/C1, F5..FF */
	utf8_second(c, &lo, &hi);
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
	}
	return len;
}

int utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	size_t p = *i;
	int n = utf8_seq_len(s + p, len - p);
	uint32_t c;

	if (n <= 0)
		return 0;
	c = n == 1 ? s[p] : s[p] & (0x7Fu >> n);
	for (int k = 1; k < n; k++)
		c = (c << 6) | (s[p + k] & 0x3Fu);
	*cp = c;
	*i = p + (size_t)n;
	return 1;
}

int utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (!s)
		return n == 0;
	while (i < n) {
		int k;

		if (u[i] < 0x80) { /* ASCII runs, the common case */
			i++;
			continue;
		}
		k = utf8_seq_len(u + i, n - i);
		if (k <= 0)
			return 0;
		i += (size_t)k;
	}
	return 1;
}
