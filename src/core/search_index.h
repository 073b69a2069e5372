/* search_index: an immutable in-memory index for word-prefix search over
 * names (organisations, positions), with the ranking of api.md: exact name,
 * then name prefix, then word prefix; shallower before deeper; then
 * alphabetical. Built once from a list of items, then searched by any
 * number of threads without locks.
 *
 * Normalisation: a word is a maximal run of ASCII letters and digits and of
 * non-ASCII bytes (so Devanagari words are words); ASCII is lower-cased; a
 * normalised name is its words joined by single spaces. Every query word
 * must be a prefix of some word of the name.
 *
 * Cost of a search: O(log n) for the name-prefix classes through a sparse
 * table (range minimum of rank), plus a k-way merge of the postings of the
 * rarest query word that stops as soon as `limit` results are found. No
 * search scans the whole directory. The binary searches compare 8-byte
 * keys held in arrays of their own (strings only among equal keys), and a
 * candidate's other words are checked as word ids against each query
 * word's range of words: no string is scanned per candidate. */
#ifndef PV_SEARCH_INDEX_H
#define PV_SEARCH_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define SIDX_ACTIVE 1u
#define SIDX_CENTER 2u
#define SIDX_STATE 4u

#define SIDX_MAX_QUERY 256  /* bytes of a query */
#define SIDX_MAX_WORDS 16   /* words of a query */

typedef struct sidx_item {
	const char *name; /* copied by sidx_build */
	int depth;        /* 0 for a root */
	unsigned flags;   /* SIDX_* */
} sidx_item;

typedef struct sidx sidx;

/* Builds an index over n items; item i keeps index i. Returns PV_OK or
 * PV_ENOMEM. *out is freed with sidx_free(). */
int sidx_build(const sidx_item *items, size_t n, sidx **out);
void sidx_free(sidx *x); /* accepts NULL */

/* Writes up to `limit` item indices, best first, into out; *nout is how
 * many. Only items with (flags & must) == must are returned. A query with
 * no word returns nothing. Returns PV_OK, or PV_EINVAL for a query longer
 * than SIDX_MAX_QUERY or with more than SIDX_MAX_WORDS words. */
int sidx_search(const sidx *x, const char *q, size_t qlen, unsigned must,
		size_t limit, size_t *out, size_t *nout);

/* Normalises s (see above) into out (cap bytes, NUL-terminated, truncated
 * at a word boundary if needed); returns the length. */
size_t sidx_normalise(const char *s, size_t n, char *out, size_t cap);

#endif
