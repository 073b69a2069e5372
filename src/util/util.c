#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/err.h"

int64_t util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void util_rfc3339(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	int milli = (int)(((ms % 1000) + 1000) % 1000);

	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)milli % 1000u);
}

/* n decimal digits at s into *v; 1 when they are all digits. */
static int util_digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

int util_parse_rfc3339(const char *s, int64_t *ms)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, frac = 0, scale = 1, oh = 0, om = 0, sign = 0;
	struct tm tm;
	const char *p;
	time_t t;

	if (!s || strlen(s) < 20 || !util_digits(s, 4, &y) || s[4] != '-' ||
	    !util_digits(s + 5, 2, &mo) || s[7] != '-' || !util_digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || !util_digits(s + 11, 2, &h) || s[13] != ':' ||
	    !util_digits(s + 14, 2, &mi) || s[16] != ':' || !util_digits(s + 17, 2, &sec))
		return PV_EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return PV_EINVAL;
	p = s + 19;
	if (*p == '.') {
		int n = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
		if (n == 0)
			return PV_EINVAL;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (!util_digits(p + 1, 2, &oh) || p[3] != ':' || !util_digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return PV_EINVAL;
		p += 6;
	} else {
		return PV_EINVAL;
	}
	if (*p)
		return PV_EINVAL;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ms = (int64_t)t * 1000 + frac * (1000 / scale) - (int64_t)sign * (oh * 3600 + om * 60) * 1000;
	return PV_OK;
}

void util_uuid(char out[UUID_STR_LEN])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof r);
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, UUID_STR_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		 r[10], r[11], r[12], r[13], r[14], r[15]);
}

int util_random_b64url_many(size_t n, char *const out[], size_t k, size_t cap)
{
	unsigned char raw[128];

	if (k == 0 || n > sizeof raw / k ||
	    cap < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return PV_ELIMIT;
	randombytes_buf(raw, n * k);
	for (size_t i = 0; i < k; i++)
		sodium_bin2base64(out[i], cap, raw + i * n, n,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	return PV_OK;
}

int util_random_b64url(size_t n, char *out, size_t cap)
{
	return util_random_b64url_many(n, &out, 1, cap);
}

int util_strlcpy(char *dst, const char *src, size_t cap)
{
	return util_strncpy0(dst, cap, src, strlen(src));
}

int util_strncpy0(char *dst, size_t cap, const char *src, size_t n)
{
	if (cap == 0)
		return PV_ELIMIT;
	if (n >= cap) {
		memcpy(dst, src, cap - 1);
		dst[cap - 1] = '\0';
		return PV_ELIMIT;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return PV_OK;
}

void util_lower_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}


const char *util_trim(const char *s, size_t n, size_t *len)
{
	while (n && isspace((unsigned char)s[0])) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	*len = n;
	return s;
}

int util_trim_copy(const char *s, char *out, size_t cap)
{
	size_t n;
	const char *p;

	if (!s)
		return 0;
	p = util_trim(s, strlen(s), &n);
	if (n == 0)
		return 0;
	if (n >= cap)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

static int util_is_word_byte(unsigned char c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

size_t util_words(const char *s, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	if (cap == 0)
		return 0;
	while (i < n) {
		size_t start, wlen;

		while (i < n && !util_is_word_byte((unsigned char)s[i]))
			i++;
		start = i;
		while (i < n && util_is_word_byte((unsigned char)s[i]))
			i++;
		wlen = i - start;
		if (!wlen)
			break;
		if (o + (o ? 1 : 0) + wlen + 1 > cap)
			break;
		if (o)
			out[o++] = ' ';
		for (size_t k = 0; k < wlen; k++) {
			char c = s[start + k];

			out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
	}
	out[o] = '\0';
	return o;
}

int util_errno_err(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return PV_ENOSPACE;
	case ENOMEM:
		return PV_ENOMEM;
	default:
		return PV_EIO;
	}
}
