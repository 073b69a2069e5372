#include "core/validate.h"

#include <stdint.h>
#include <string.h>

#include "core/unicode_tables.h"
#include "util/utf8.h"

#define CP_ZWNJ 0x200Cu
#define CP_ZWJ 0x200Du
#define CP_RSQUO 0x2019u /* typographic apostrophe */

/* Longest mobile input considered, after trimming: the longest accepted
 * form, "(+91) 98765 43210" or "9.876543210E+09", is far shorter. */
#define MOBILE_IN_MAX 40
#define DNS_LABEL_MAX 63


enum name_prev { NP_START, NP_LETTER, NP_MARK, NP_JOINER, NP_PUNCT };

int val_name(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	enum name_prev prev = NP_START;
	size_t i = 0, count = 0;
	int has_letter = 0;
	uint32_t cp;

	if (!s || len == 0)
		return 0;
	while (i < len) {
		if (!utf8_next(u, len, &i, &cp))
			return 0;
		if (++count > VAL_NAME_MAX_CHARS)
			return 0;
		if (uni_is_letter(cp)) {
			has_letter = 1;
			prev = NP_LETTER;
		} else if (uni_is_mark(cp)) {
			/* A mark belongs to the letter it follows, possibly
			 * through other marks or a joiner (र + ् + ZWJ ...). */
			if (prev != NP_LETTER && prev != NP_MARK && prev != NP_JOINER)
				return 0;
			prev = NP_MARK;
		} else if (cp == CP_ZWJ || cp == CP_ZWNJ) {
			/* Only inside a word: after a letter or mark, never two
			 * in a row. Allowed before a space or at the end for the
			 * old Malayalam chillu form (consonant + virama + ZWJ). */
			if (prev != NP_LETTER && prev != NP_MARK)
				return 0;
			prev = NP_JOINER;
		} else if (cp == ' ' || cp == '.' || cp == '\'' || cp == '-' ||
			   cp == CP_RSQUO) {
			prev = NP_PUNCT;
		} else {
			return 0;
		}
	}
	return has_letter;
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_local_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+/=?^_`{|}~.-", c));
}

int val_email(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t at, i;

	if (!s || len == 0 || len > VAL_EMAIL_MAX)
		return 0;
	for (at = 0; at < len && u[at] != '@'; at++)
		if (!is_local_char(u[at]))
			return 0;
	if (at == len || at == 0 || at > VAL_EMAIL_LOCAL_MAX)
		return 0;
	if (u[0] == '.' || u[at - 1] == '.')
		return 0;
	for (i = 1; i < at; i++)
		if (u[i] == '.' && u[i - 1] == '.')
			return 0;

	/* Domain: labels of letters, digits and inner hyphens. */
	size_t labels = 0;
	i = at + 1;
	for (;;) {
		size_t start = i;
		int alpha_only = 1;

		while (i < len && u[i] != '.') {
			if (is_digit(u[i]) || u[i] == '-')
				alpha_only = 0;
			else if (!is_alpha(u[i]))
				return 0;
			i++;
		}
		size_t n = i - start;
		if (n == 0 || n > DNS_LABEL_MAX)
			return 0;
		if (u[start] == '-' || u[i - 1] == '-')
			return 0;
		labels++;
		if (i == len) {
			/* The top-level domain: letters only, at least two. */
			return labels >= 2 && alpha_only && n >= 2;
		}
		i++; /* the dot */
	}
}

/* Spreadsheet numeric text ("9876543210.0", "9.87654321E9",
 * "9.87654321e+09") read as its exact integer in decimal digits, leading
 * zeros dropped. Returns the digit count (into dig, at most cap), 0 when s
 * is not of that shape (digits with a fraction or an exponent), -1 when it
 * is but does not denote an integer that fits cap digits. */
static int numeric_integer(const char *s, size_t len, char *dig, size_t cap)
{
	char mant[MOBILE_IN_MAX];
	size_t i = 0, m = 0, frac = 0;
	int has_point = 0, has_exp = 0, exp_neg = 0;
	long ex = 0;

	while (i < len && is_digit((unsigned char)s[i]))
		mant[m++] = s[i++];
	if (m == 0)
		return 0;
	if (i < len && s[i] == '.') {
		has_point = 1;
		i++;
		size_t f0 = i;
		while (i < len && is_digit((unsigned char)s[i]))
			mant[m++] = s[i++];
		frac = i - f0;
		if (frac == 0)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		has_exp = 1;
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			exp_neg = s[i++] == '-';
		size_t e0 = i;
		while (i < len && is_digit((unsigned char)s[i])) {
			if (ex < 1000)
				ex = ex * 10 + (s[i] - '0');
			i++;
		}
		if (i == e0)
			return 0;
	}
	if (i != len || (!has_point && !has_exp))
		return 0;

	long scale = (exp_neg ? -ex : ex) - (long)frac;
	size_t lead = 0;

	while (lead < m && mant[lead] == '0')
		lead++;
	if (lead == m)
		return -1; /* zero */
	char *d = mant + lead;
	size_t n = m - lead;

	for (; scale < 0; scale++) {
		if (d[n - 1] != '0')
			return -1; /* a fraction remains */
		n--; /* n stays > 0: d[0] is not '0' */
	}
	if ((size_t)scale > cap || n + (size_t)scale > cap)
		return -1;
	memcpy(dig, d, n);
	memset(dig + n, '0', (size_t)scale);
	return (int)(n + (size_t)scale);
}

/* The written forms: digits with spaces, hyphens and balanced parentheses,
 * and '+' only before the first digit. Returns the digit count (into dig,
 * at most cap) or -1; *plus tells whether there was a '+'. */
static int written_digits(const char *s, size_t len, char *dig, size_t cap, int *plus)
{
	size_t n = 0;
	int depth = 0;

	*plus = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (is_digit((unsigned char)c)) {
			if (n == cap)
				return -1;
			dig[n++] = c;
		} else if (c == '+') {
			if (*plus || n > 0)
				return -1;
			*plus = 1;
		} else if (c == '(') {
			if (depth++)
				return -1;
		} else if (c == ')') {
			if (!depth--)
				return -1;
		} else if (c != ' ' && c != '-') {
			return -1;
		}
	}
	return depth == 0 ? (int)n : -1;
}

int val_mobile(const char *s, size_t len, char out[VAL_MOBILE_LEN + 1])
{
	char dig[16];
	const char *ten;
	int n, plus = 0;

	if (out)
		out[0] = '\0';
	if (!s)
		return 0;
	while (len > 0 && s[0] == ' ') {
		s++;
		len--;
	}
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (len == 0 || len > MOBILE_IN_MAX)
		return 0;

	n = numeric_integer(s, len, dig, 12);
	if (n == 0)
		n = written_digits(s, len, dig, 14, &plus);
	if (n < 0)
		return 0;

	if (n == 12 && dig[0] == '9' && dig[1] == '1')
		ten = dig + 2;
	else if (plus)
		return 0; /* "+" other than "+91" */
	else if (n == 11 && dig[0] == '0')
		ten = dig + 1;
	else if (n == 10)
		ten = dig;
	else
		return 0;
	if (ten[0] < '6' || ten[0] > '9')
		return 0;
	if (out) {
		memcpy(out, ten, 10);
		out[10] = '\0';
	}
	return 1;
}

static int eq_ci_n(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return 0;
	}
	return 1;
}

int val_official_email(const char *email, const char *domains)
{
	const char *at, *dom, *p;
	size_t dlen;

	if (!email || !domains)
		return 0;
	at = strrchr(email, '@');
	if (!at)
		return 0;
	dom = at + 1;
	dlen = strlen(dom);
	if (dlen == 0)
		return 0;

	for (p = domains; *p;) {
		const char *e = p, *end;
		size_t elen;

		while (*p && *p != ',')
			p++;
		end = p;
		if (*p == ',')
			p++;
		while (e < end && (*e == ' ' || *e == '\t'))
			e++;
		while (end > e && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (e < end && (*e == '@' || *e == '.'))
			e++; /* "@gov.in" and ".gov.in" mean "gov.in" */
		elen = (size_t)(end - e);
		if (elen == 0 || elen > dlen)
			continue;
		if (elen == dlen && eq_ci_n(dom, e, elen))
			return 1;
		if (elen < dlen && dom[dlen - elen - 1] == '.' &&
		    eq_ci_n(dom + dlen - elen, e, elen))
			return 1;
	}
	return 0;
}

int val_text(const char *s, size_t len, int allow_newlines)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	if (!s)
		return len == 0;
	while (i < len) {
		size_t at = i;

		if (!utf8_next(u, len, &i, &cp))
			return 0;
		if (cp == '\n' && allow_newlines)
			continue;
		/* CR only as the first half of CRLF (browsers send textarea
		 * line breaks as CRLF). */
		if (cp == '\r' && allow_newlines && at + 1 < len && u[at + 1] == '\n')
			continue;
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			return 0;
	}
	return 1;
}
