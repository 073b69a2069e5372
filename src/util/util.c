#include "util/util.h"

#include <ctype.h>
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

int util_random_b64url(size_t n, char *out, size_t cap)
{
	unsigned char raw[128];

	if (n > sizeof raw ||
	    cap < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return PV_ELIMIT;
	randombytes_buf(raw, n);
	sodium_bin2base64(out, cap, raw, n,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	return PV_OK;
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
