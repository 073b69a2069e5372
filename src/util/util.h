/* Small shared helpers: time, ids, strings. */
#ifndef PV_UTIL_H
#define PV_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 37

/* Wall-clock milliseconds since the Unix epoch. */
int64_t util_now_ms(void);
/* Monotonic clock in nanoseconds, for durations. */
int64_t util_mono_ns(void);
/* RFC 3339 UTC with milliseconds: "2026-11-28T16:54:16.123Z" (25 bytes). */
void util_rfc3339(int64_t ms, char out[32]);
/* Parses an RFC 3339 time ("2026-11-28T16:54:16Z", with optional
 * fractional seconds and a Z or +hh:mm / -hh:mm offset) into ms. PV_OK or
 * PV_EINVAL for anything else, a field out of range included. */
int util_parse_rfc3339(const char *s, int64_t *ms);

/* A random UUID v4 (libsodium's generator). */
void util_uuid(char out[UUID_STR_LEN]);
/* n random bytes encoded as base64url without padding into out (cap bytes,
 * at least 4*n/3+2). Returns PV_OK or PV_ELIMIT. */
int util_random_b64url(size_t n, char *out, size_t cap);
/* The same for k strings out[0..k-1] (each cap bytes), from one draw of
 * the generator (a login's session and CSRF tokens: one getrandom system
 * call instead of two). n * k at most 128. PV_OK or PV_ELIMIT. */
int util_random_b64url_many(size_t n, char *const out[], size_t k, size_t cap);

/* Copies src into dst (cap bytes, always NUL-terminated when cap > 0).
 * PV_OK, or PV_ELIMIT when src did not fit (dst holds a truncated copy). */
int util_strlcpy(char *dst, const char *src, size_t cap);
/* Same for n bytes of src that need not be NUL-terminated. */
int util_strncpy0(char *dst, size_t cap, const char *src, size_t n);
/* ASCII lower-casing in place; bytes >= 0x80 untouched. */
void util_lower_ascii(char *s);
/* Trims ASCII white space on both ends; returns the start, sets *len. */
const char *util_trim(const char *s, size_t n, size_t *len);
/* The words of s (n bytes) as the searches see them: runs of ASCII
 * letters and digits or of non-ASCII bytes (so words of any script), ASCII
 * letters lower-cased, joined by single spaces into out (cap bytes,
 * NUL-terminated, cut at a word boundary when it does not fit). Returns the
 * length. Used by the directory search and the store's name search. */
size_t util_words(const char *s, size_t n, char *out, size_t cap);
/* Copies s trimmed into out (cap bytes): 1 when copied, 0 when s is NULL
 * or blank, -1 when it does not fit. */
int util_trim_copy(const char *s, char *out, size_t cap);

/* The pv_err of a failed file operation's errno: PV_ENOSPACE for a full
 * disk or quota or a file size limit (ENOSPC, EDQUOT, EFBIG), PV_ENOMEM,
 * else PV_EIO. */
int util_errno_err(int e);

#endif
