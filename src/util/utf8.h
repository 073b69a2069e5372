/* utf8: the one UTF-8 decoder and validator of Pravesh. Well-formed means
 * Unicode's table 3-7: no overlong forms, no surrogates, nothing above
 * U+10FFFF. NUL is a character like any other here: rules that refuse it
 * say so themselves. */
#ifndef PV_UTF8_H
#define PV_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s[*i..len) into *cp and advances *i; 0 (and
 * *i unchanged) on an ill-formed or truncated sequence. */
int utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp);

/* The length of the sequence starting at s[0..n): 1-4 when well formed,
 * 0 when ill formed, -1 when it is cut short by the end of the data (for
 * a head of a file read in part). n must be at least 1. */
int utf8_seq_len(const unsigned char *s, size_t n);

/* 1 when the n bytes of s are well-formed UTF-8 (NULL with n 0: 1). */
int utf8_valid(const char *s, size_t n);

#endif
