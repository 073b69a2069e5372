#include "core/search_index.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

/* Layout (all arrays owned by the index):
 * - norm[i]: normalised name of item i (one arena); name[i] the original.
 * - rank[i]: position of item i in the global order (depth, norm, name, i);
 *   order[r]: the item at rank r.
 * - byname[p]: items sorted by norm; bypos[i]: the position of item i in
 *   byname; st[j][p]: position in byname of the smallest rank in
 *   byname[p .. p + 2^j).
 * - words: distinct words sorted; postings of word w are
 *   post[woff[w] .. woff[w + 1]), ranks ascending, one per item.
 * - iw[iwoff[i] .. iwoff[i + 1]): the ids (indexes in words) of the
 *   distinct words of item i, so that "item i has a word starting with
 *   q" is "one of its ids is in the range of words starting with q".
 * - bkey[p] and wkey[w]: the first 8 bytes of norm[byname[p]] and of
 *   words[w] as a big-endian number (NUL-padded), so that binary searches
 *   compare numbers in one array rather than strings all over memory;
 *   strings are compared only among equal keys. */
struct sidx {
	size_t n;
	char *arena;
	const char **norm;
	const char **name;
	int *depth;
	unsigned *flags;
	uint32_t *rank, *order, *byname, *bypos;
	uint64_t *bkey;
	uint32_t **st;
	int levels;
	size_t nwords;
	const char **words;
	uint64_t *wkey;
	char *warena;
	uint32_t *woff, *post;
	uint32_t *iwoff, *iw;
};

/* The first 8 bytes of s (at most n) as a big-endian number, NUL-padded:
 * numbers compare as the strings' first 8 bytes do. */
static uint64_t sidx_key(const char *s, size_t n)
{
	uint64_t k = 0;

	for (size_t i = 0; i < 8; i++)
		k = k << 8 | (i < n ? (unsigned char)s[i] : 0u);
	return k;
}

size_t sidx_normalise(const char *s, size_t n, char *out, size_t cap)
{
	return util_words(s, n, out, cap);
}

/* qsort has no context argument; the build runs under the caller's lock
 * or single-threaded, but use a thread-local to stay safe anyway. */
static __thread const struct sidx *sidx_sort_ctx;

static int sidx_cmp_global(const void *a, const void *b)
{
	const struct sidx *x = sidx_sort_ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	int c;

	if (x->depth[i] != x->depth[j])
		return x->depth[i] < x->depth[j] ? -1 : 1;
	if ((c = strcmp(x->norm[i], x->norm[j])) != 0)
		return c;
	if ((c = strcmp(x->name[i], x->name[j])) != 0)
		return c;
	return i < j ? -1 : (i > j);
}

static int sidx_cmp_name(const void *a, const void *b)
{
	const struct sidx *x = sidx_sort_ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	int c = strcmp(x->norm[i], x->norm[j]);

	if (c)
		return c;
	return x->rank[i] < x->rank[j] ? -1 : (x->rank[i] > x->rank[j]);
}

struct sidx_wp {
	const char *word;
	uint32_t len;
	uint32_t rank;
};

static int sidx_cmp_wp(const void *a, const void *b)
{
	const struct sidx_wp *p = a, *q = b;
	size_t m = p->len < q->len ? p->len : q->len;
	int c = memcmp(p->word, q->word, m);

	if (c)
		return c;
	if (p->len != q->len)
		return p->len < q->len ? -1 : 1;
	return p->rank < q->rank ? -1 : (p->rank > q->rank);
}

void sidx_free(sidx *x)
{
	if (!x)
		return;
	if (x->st)
		for (int j = 0; j < x->levels; j++)
			free(x->st[j]);
	free(x->st);
	free(x->arena);
	free(x->norm);
	free(x->name);
	free(x->depth);
	free(x->flags);
	free(x->rank);
	free(x->order);
	free(x->byname);
	free(x->bypos);
	free(x->bkey);
	free(x->words);
	free(x->wkey);
	free(x->iwoff);
	free(x->iw);
	free(x->warena);
	free(x->woff);
	free(x->post);
	free(x);
}

static uint32_t sidx_minpos(const sidx *x, uint32_t a, uint32_t b)
{
	return x->rank[x->byname[a]] <= x->rank[x->byname[b]] ? a : b;
}

static int sidx_build_sparse(sidx *x)
{
	size_t n = x->n;
	int lv = 1;

	while (((size_t)1 << lv) <= n)
		lv++;
	x->levels = lv;
	x->st = calloc((size_t)lv, sizeof *x->st);
	if (!x->st)
		return PV_ENOMEM;
	for (int j = 0; j < lv; j++) {
		size_t span = (size_t)1 << j, cnt = n >= span ? n - span + 1 : 0;

		x->st[j] = malloc((cnt ? cnt : 1) * sizeof(uint32_t));
		if (!x->st[j])
			return PV_ENOMEM;
		for (size_t p = 0; p < cnt; p++)
			x->st[j][p] = j == 0 ? (uint32_t)p
					     : sidx_minpos(x, x->st[j - 1][p],
							   x->st[j - 1][p + span / 2]);
	}
	return PV_OK;
}

/* position in byname of the smallest rank in [a, b), b > a */
static uint32_t sidx_range_min(const sidx *x, uint32_t a, uint32_t b)
{
	int j = 0;

	while (((size_t)2 << j) <= (size_t)(b - a))
		j++;
	return sidx_minpos(x, x->st[j][a], x->st[j][b - ((uint32_t)1 << j)]);
}

static int sidx_same_word(const struct sidx_wp *a, const struct sidx_wp *b)
{
	return a->len == b->len && memcmp(a->word, b->word, a->len) == 0;
}

/* Each item's word ids (iwoff, iw) from the postings: post[k] of word w
 * says that the item of rank post[k] has word w. */
static int sidx_build_item_words(sidx *x)
{
	size_t nposts = x->woff[x->nwords];

	x->iwoff = calloc(x->n + 1, sizeof *x->iwoff);
	x->iw = malloc((nposts ? nposts : 1) * sizeof *x->iw);
	if (!x->iwoff || !x->iw)
		return PV_ENOMEM;
	for (size_t k = 0; k < nposts; k++)
		x->iwoff[x->order[x->post[k]] + 1]++;
	for (size_t i = 0; i < x->n; i++)
		x->iwoff[i + 1] += x->iwoff[i];
	/* fill from the back of each item's slice: iwoff[i + 1] counts down */
	for (size_t w = x->nwords; w-- > 0;)
		for (uint32_t k = x->woff[w]; k < x->woff[w + 1]; k++)
			x->iw[--x->iwoff[x->order[x->post[k]] + 1]] = (uint32_t)w;
	/* iwoff[i + 1] now holds the start of item i's slice; shift back */
	for (size_t i = 0; i < x->n; i++)
		x->iwoff[i] = x->iwoff[i + 1];
	x->iwoff[x->n] = (uint32_t)nposts;
	return PV_OK;
}

static int sidx_build_words(sidx *x)
{
	size_t cap = 0, np = 0, i, bytes = 0, o = 0, nw = 0, p = 0;
	struct sidx_wp *wp = NULL;
	int rc = PV_ENOMEM;

	for (i = 0; i < x->n; i++) {
		const char *s = x->norm[i];

		cap += 1;
		for (; *s; s++)
			cap += (*s == ' ');
	}
	wp = malloc((cap ? cap : 1) * sizeof *wp);
	if (!wp)
		goto out;
	for (i = 0; i < x->n; i++) {
		const char *s = x->norm[i];

		while (*s) {
			size_t len = strcspn(s, " ");

			wp[np].word = s;
			wp[np].len = (uint32_t)len;
			wp[np].rank = x->rank[i];
			np++;
			s += len;
			if (*s == ' ')
				s++;
		}
	}
	qsort(wp, np, sizeof *wp, sidx_cmp_wp);
	for (i = 0; i < np; i++)
		if (i == 0 || !sidx_same_word(&wp[i], &wp[i - 1]))
			bytes += wp[i].len + 1;
	x->warena = malloc(bytes ? bytes : 1);
	x->words = malloc((np ? np : 1) * sizeof *x->words);
	x->wkey = malloc((np ? np : 1) * sizeof *x->wkey);
	x->woff = malloc((np + 1) * sizeof *x->woff);
	x->post = malloc((np ? np : 1) * sizeof *x->post);
	if (!x->warena || !x->words || !x->wkey || !x->woff || !x->post)
		goto out;
	for (i = 0; i < np; i++) {
		if (i == 0 || !sidx_same_word(&wp[i], &wp[i - 1])) {
			memcpy(x->warena + o, wp[i].word, wp[i].len);
			x->warena[o + wp[i].len] = '\0';
			x->words[nw] = x->warena + o;
			x->wkey[nw] = sidx_key(wp[i].word, wp[i].len);
			x->woff[nw] = (uint32_t)p;
			o += wp[i].len + 1;
			nw++;
		} else if (wp[i].rank == wp[i - 1].rank) {
			continue; /* the same word twice in one name */
		}
		x->post[p++] = wp[i].rank;
	}
	x->nwords = nw;
	x->woff[nw] = (uint32_t)p;
	rc = sidx_build_item_words(x);
out:
	free(wp);
	return rc;
}

int sidx_build(const sidx_item *items, size_t n, sidx **out)
{
	sidx *x = NULL;
	size_t bytes = 0, o = 0, i;
	uint32_t *tmp = NULL;
	int rc = PV_ENOMEM;

	*out = NULL;
	if (n >= UINT32_MAX / 2)
		return PV_ELIMIT;
	x = calloc(1, sizeof *x);
	if (!x)
		goto out;
	x->n = n;
	for (i = 0; i < n; i++)
		bytes += 2 * (strlen(items[i].name) + 1);
	x->arena = malloc(bytes ? bytes : 1);
	x->norm = malloc((n ? n : 1) * sizeof *x->norm);
	x->name = malloc((n ? n : 1) * sizeof *x->name);
	x->depth = malloc((n ? n : 1) * sizeof *x->depth);
	x->flags = malloc((n ? n : 1) * sizeof *x->flags);
	x->rank = malloc((n ? n : 1) * sizeof *x->rank);
	x->order = malloc((n ? n : 1) * sizeof *x->order);
	x->byname = malloc((n ? n : 1) * sizeof *x->byname);
	x->bypos = malloc((n ? n : 1) * sizeof *x->bypos);
	x->bkey = malloc((n ? n : 1) * sizeof *x->bkey);
	if (!x->arena || !x->norm || !x->name || !x->depth || !x->flags ||
	    !x->rank || !x->order || !x->byname || !x->bypos || !x->bkey)
		goto out;
	for (i = 0; i < n; i++) {
		size_t len = strlen(items[i].name);

		memcpy(x->arena + o, items[i].name, len + 1);
		x->name[i] = x->arena + o;
		o += len + 1;
		x->norm[i] = x->arena + o;
		o += sidx_normalise(items[i].name, len, x->arena + o, len + 1) + 1;
		x->depth[i] = items[i].depth;
		x->flags[i] = items[i].flags;
		x->order[i] = (uint32_t)i;
	}
	sidx_sort_ctx = x;
	qsort(x->order, n, sizeof *x->order, sidx_cmp_global);
	for (i = 0; i < n; i++) {
		x->rank[x->order[i]] = (uint32_t)i;
		x->byname[i] = (uint32_t)i;
	}
	qsort(x->byname, n, sizeof *x->byname, sidx_cmp_name);
	sidx_sort_ctx = NULL;
	for (i = 0; i < n; i++) {
		const char *nm = x->norm[x->byname[i]];

		x->bypos[x->byname[i]] = (uint32_t)i;
		x->bkey[i] = sidx_key(nm, strnlen(nm, 8));
	}
	if ((rc = sidx_build_sparse(x)) != PV_OK)
		goto out;
	if ((rc = sidx_build_words(x)) != PV_OK)
		goto out;
	*out = x;
	x = NULL;
	rc = PV_OK;
out:
	free(tmp);
	sidx_free(x);
	return rc;
}

/* --- search --- */

struct sidx_query {
	char norm[SIDX_MAX_QUERY + 1];
	size_t nlen;
	const char *word[SIDX_MAX_WORDS];
	size_t wlen[SIDX_MAX_WORDS];
	uint32_t wa[SIDX_MAX_WORDS], wb[SIDX_MAX_WORDS]; /* words starting with it */
	size_t nw;
	uint32_t lo, hi; /* byname positions of the names starting with norm */
};

/* 1 when item has, for every query word but skip, a word starting with
 * it: one of its word ids in that query word's range. */
static int sidx_all_words(const sidx *x, const struct sidx_query *q, uint32_t item,
			  size_t skip)
{
	const uint32_t *w = x->iw + x->iwoff[item], *end = x->iw + x->iwoff[item + 1];

	for (size_t k = 0; k < q->nw; k++) {
		const uint32_t *p = w;

		if (k == skip)
			continue;
		while (p < end && !(*p >= q->wa[k] && *p < q->wb[k]))
			p++;
		if (p == end)
			return 0;
	}
	return 1;
}

/* In a sorted array of n strings str(x, i) whose first 8 bytes are
 * keys[i]: *a is the first position whose string is >= q (compared over
 * qlen bytes when prefix, else whole: q is then NUL-terminated), and when
 * prefix, *b is the end of the run of strings that start with q. The keys
 * narrow it down; strings are compared only among equal keys. */
static void sidx_find(const uint64_t *keys, const char *(*str)(const sidx *, size_t),
		      const sidx *x, size_t n, const char *q, size_t qlen, int prefix,
		      uint32_t *a, uint32_t *b)
{
	uint64_t k = sidx_key(q, qlen), khi = k;
	size_t lo = 0, hi = n, l, h;

	if (prefix && qlen < 8) /* every key whose first qlen bytes are q's */
		khi |= UINT64_MAX >> (8 * qlen);
	while (lo < hi) { /* first key >= k */
		size_t mid = lo + (hi - lo) / 2;

		if (keys[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (l = lo, h = n; l < h;) { /* first key > khi */
		size_t mid = l + (h - l) / 2;

		if (keys[mid] <= khi)
			l = mid + 1;
		else
			h = mid;
	}
	hi = l;
	/* before lo: less than q; from hi on: greater, and not starting with
	 * q; in between, for a short prefix, exactly those starting with q */
	if (!(prefix && qlen < 8)) {
		for (l = lo, h = hi; l < h;) {
			size_t mid = l + (h - l) / 2;
			int c = prefix ? strncmp(str(x, mid), q, qlen) : strcmp(str(x, mid), q);

			if (c < 0)
				l = mid + 1;
			else
				h = mid;
		}
		lo = l;
		for (h = hi; prefix && l < h;) {
			size_t mid = l + (h - l) / 2;

			if (strncmp(str(x, mid), q, qlen) <= 0)
				l = mid + 1;
			else
				h = mid;
		}
		if (prefix)
			hi = l;
	}
	*a = (uint32_t)lo;
	*b = (uint32_t)hi;
}

static const char *sidx_byname_str(const sidx *x, size_t p)
{
	return x->norm[x->byname[p]];
}

static const char *sidx_word_str(const sidx *x, size_t w)
{
	return x->words[w];
}

struct sidx_iv {
	uint32_t a, b, m; /* interval [a, b) of byname, m its min position */
};

static void sidx_iv_push(const sidx *x, struct sidx_iv *h, size_t *nh,
			 uint32_t a, uint32_t b)
{
	size_t i;

	if (a >= b)
		return;
	i = (*nh)++;
	h[i].a = a;
	h[i].b = b;
	h[i].m = sidx_range_min(x, a, b);
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		struct sidx_iv t;

		if (x->rank[x->byname[h[parent].m]] <= x->rank[x->byname[h[i].m]])
			break;
		t = h[parent];
		h[parent] = h[i];
		h[i] = t;
		i = parent;
	}
}

static struct sidx_iv sidx_iv_pop(const sidx *x, struct sidx_iv *h, size_t *nh)
{
	struct sidx_iv top = h[0];
	size_t i = 0, n = --(*nh);

	h[0] = h[n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;
		struct sidx_iv t;

		if (l < n && x->rank[x->byname[h[l].m]] < x->rank[x->byname[h[s].m]])
			s = l;
		if (r < n && x->rank[x->byname[h[r].m]] < x->rank[x->byname[h[s].m]])
			s = r;
		if (s == i)
			break;
		t = h[s];
		h[s] = h[i];
		h[i] = t;
		i = s;
	}
	return top;
}

/* Appends, best rank first, the items of byname[a, b) that pass the
 * filter, until *nout reaches limit. Each pop adds at most one interval
 * to the heap, so it grows with the items visited, not with b - a. */
static int sidx_take_range(const sidx *x, uint32_t a, uint32_t b,
			   unsigned must, size_t limit, size_t *out,
			   size_t *nout)
{
	struct sidx_iv hbuf[64], *h = hbuf;
	size_t nh = 0, cap = sizeof hbuf / sizeof hbuf[0];

	if (a >= b || *nout >= limit)
		return PV_OK;
	sidx_iv_push(x, h, &nh, a, b);
	while (nh && *nout < limit) {
		struct sidx_iv iv = sidx_iv_pop(x, h, &nh);
		uint32_t item = x->byname[iv.m];

		if (nh + 2 > cap) {
			struct sidx_iv *nhp = malloc(2 * cap * sizeof *h);

			if (!nhp) {
				if (h != hbuf)
					free(h);
				return PV_ENOMEM;
			}
			memcpy(nhp, h, nh * sizeof *h);
			if (h != hbuf)
				free(h);
			h = nhp;
			cap *= 2;
		}

		if ((x->flags[item] & must) == must)
			out[(*nout)++] = item;
		sidx_iv_push(x, h, &nh, iv.a, iv.m);
		sidx_iv_push(x, h, &nh, iv.m + 1, iv.b);
	}
	if (h != hbuf)
		free(h);
	return PV_OK;
}

struct sidx_cur {
	uint32_t pos, end;
};

static uint32_t sidx_cur_rank(const sidx *x, const struct sidx_cur *c)
{
	return x->post[c->pos];
}

static void sidx_cur_sift(const sidx *x, struct sidx_cur *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;
		struct sidx_cur t;

		if (l < n && sidx_cur_rank(x, &h[l]) < sidx_cur_rank(x, &h[s]))
			s = l;
		if (r < n && sidx_cur_rank(x, &h[r]) < sidx_cur_rank(x, &h[s]))
			s = r;
		if (s == i)
			return;
		t = h[s];
		h[s] = h[i];
		h[i] = t;
		i = s;
	}
}

/* Word-prefix class: merges the postings of the rarest query word's
 * range in rank order; skips items already taken by the name-prefix
 * classes (their norm starts with the whole query). */
static int sidx_take_words(const sidx *x, struct sidx_query *q,
			   unsigned must, size_t limit, size_t *out,
			   size_t *nout)
{
	size_t best = 0, bestcost = (size_t)-1, nh = 0;
	struct sidx_cur hbuf[64], *h = hbuf;
	uint32_t last = UINT32_MAX, wa, wb;

	for (size_t k = 0; k < q->nw; k++) {
		size_t cost;

		sidx_find(x->wkey, sidx_word_str, x, x->nwords, q->word[k], q->wlen[k], 1,
			  &q->wa[k], &q->wb[k]);
		cost = x->woff[q->wb[k]] - x->woff[q->wa[k]];
		if (cost < bestcost) {
			bestcost = cost;
			best = k;
		}
	}
	if (bestcost == 0 || *nout >= limit)
		return PV_OK;
	wa = q->wa[best];
	wb = q->wb[best];
	if (wb - wa > sizeof hbuf / sizeof hbuf[0] && !(h = malloc((wb - wa) * sizeof *h)))
		return PV_ENOMEM;
	for (size_t w = wa; w < wb; w++) {
		if (x->woff[w] == x->woff[w + 1])
			continue;
		h[nh].pos = x->woff[w];
		h[nh].end = x->woff[w + 1];
		nh++;
	}
	for (size_t i = nh; i-- > 0;)
		sidx_cur_sift(x, h, nh, i);
	while (nh && *nout < limit) {
		uint32_t r = sidx_cur_rank(x, &h[0]);
		uint32_t item = x->order[r];

		if (++h[0].pos == h[0].end)
			h[0] = h[--nh];
		sidx_cur_sift(x, h, nh, 0);
		if (r == last)
			continue;
		last = r;
		if ((x->flags[item] & must) != must)
			continue;
		if (x->bypos[item] >= q->lo && x->bypos[item] < q->hi)
			continue; /* a name prefix: taken already */
		if (!sidx_all_words(x, q, item, best))
			continue;
		out[(*nout)++] = item;
	}
	if (h != hbuf)
		free(h);
	return PV_OK;
}

int sidx_search(const sidx *x, const char *qs, size_t qlen, unsigned must,
		size_t limit, size_t *out, size_t *nout)
{
	struct sidx_query q;
	uint32_t ex;
	const char *p;
	int rc;

	*nout = 0;
	if (qlen > SIDX_MAX_QUERY)
		return PV_EINVAL;
	q.nlen = sidx_normalise(qs, qlen, q.norm, sizeof q.norm);
	q.nw = 0;
	for (p = q.norm; *p;) {
		size_t len = strcspn(p, " ");

		if (q.nw == SIDX_MAX_WORDS)
			return PV_EINVAL;
		q.word[q.nw] = p;
		q.wlen[q.nw++] = len;
		p += len;
		if (*p == ' ')
			p++;
	}
	if (q.nw == 0 || limit == 0 || x->n == 0)
		return PV_OK;
	/* exact names, then name prefixes, each best rank first */
	sidx_find(x->bkey, sidx_byname_str, x, x->n, q.norm, q.nlen, 1, &q.lo, &q.hi);
	ex = q.lo;
	while (ex < q.hi && x->norm[x->byname[ex]][q.nlen] == '\0')
		ex++;
	rc = sidx_take_range(x, q.lo, ex, must, limit, out, nout);
	if (rc == PV_OK)
		rc = sidx_take_range(x, ex, q.hi, must, limit, out, nout);
	if (rc == PV_OK)
		rc = sidx_take_words(x, &q, must, limit, out, nout);
	return rc;
}
