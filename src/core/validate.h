/* validate: the field rules of Pravesh, one function per rule, used by
 * registration, requests, administration and the bulk importer alike.
 * All inputs are bytes with a length (need not be NUL-terminated); every
 * function refuses invalid UTF-8. Rules and messages: ../docs/rules.md
 * (from the bulk-upload spec). Pure functions: no allocation, no I/O. */
#ifndef PV_VALIDATE_H
#define PV_VALIDATE_H

#include <stddef.h>

#define VAL_NAME_MAX_CHARS 100
#define VAL_EMAIL_MAX 254
#define VAL_EMAIL_LOCAL_MAX 64
#define VAL_MOBILE_LEN 10 /* digits of a normalised mobile number */


/* A person's name (first name, last name, full name): after trimming, 1-100
 * characters, each a letter of any script, a combining mark following a
 * letter or mark, a space, '.', '\'' or '-'; at least one letter; no control
 * characters. Returns 1 when valid. Callers trim first.
 * Letters are Unicode Lu Ll Lt Lm Lo, marks Mn Mc Me (core/unicode_tables.h);
 * characters are code points. Also accepted: the typographic apostrophe
 * U+2019, and ZWNJ/ZWJ (U+200C/U+200D) right after a letter or mark (as in
 * Indic conjuncts and old Malayalam chillus), never two in a row; a mark may
 * follow such a joiner. Only U+0020 counts as a space. */
int val_name(const char *s, size_t len);

/* A plain e-mail address local@domain (bulk-upload.md): local part of
 * letters, digits and !#$%&'*+/=?^_`{|}~.- without leading, trailing or
 * double dots, at most 64 bytes; domain of dot-separated labels of letters,
 * digits and inner hyphens, at least two labels, the last alphabetic; at
 * most 254 bytes in all. ASCII only. Returns 1 when valid.
 * Also: each label at most 63 bytes; the last label at least 2 letters. */
int val_email(const char *s, size_t len);

/* An Indian mobile number in any accepted form: spaces, hyphens and
 * parentheses removed, then a "+91", "91" (12 digits) or "0" (11 digits)
 * prefix removed, leaving 10 digits starting with 6, 7, 8 or 9. Numeric
 * spreadsheet text is read as its exact integer: "9876543210.0",
 * "9.87654321E9", "9.87654321e+09" (no floating point involved). On success
 * writes the 10 digits and a NUL into out and returns 1; else returns 0.
 * Leading and trailing spaces are ignored; parentheses must balance (not
 * nested); '+' only before the first digit and only as "+91"; one prefix
 * at most, so "0091..." and "+91 0..." are refused. out may be NULL (check
 * only); on failure a non-NULL out holds "". */
int val_mobile(const char *s, size_t len, char out[VAL_MOBILE_LEN + 1]);

/* 1 when the e-mail's domain equals one of the comma-separated domains in
 * `domains` or is a sub-domain of one ("x.gov.in" for "gov.in"),
 * case-insensitively. `email` must already be valid. Spaces and tabs around
 * the entries are ignored, empty entries skipped, and a leading '@' or '.'
 * of an entry dropped ("@gov.in" means "gov.in"). NULL arguments: 0. */
int val_official_email(const char *email, const char *domains);

/* 1 when s has no C0/C1 control characters and no DEL (for free text such
 * as request details; newlines allowed when allow_newlines). Newlines are
 * LF and CRLF; a lone CR and TAB are refused. Empty text: 1. */
int val_text(const char *s, size_t len, int allow_newlines);

#endif
