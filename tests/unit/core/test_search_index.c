#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/search_index.h"
#include "util/err.h"

static const sidx_item items[] = {
	/* 0 */ {"Ministry of Law and Justice", 0, SIDX_ACTIVE | SIDX_CENTER},
	/* 1 */ {"Department of Justice", 1, SIDX_ACTIVE | SIDX_CENTER},
	/* 2 */ {"Juvenile Justice Selection Committee", 2, SIDX_ACTIVE | SIDX_STATE},
	/* 3 */ {"Law, Justice and Parliamentary Affairs Department Jammu and Kashmir", 1, SIDX_ACTIVE | SIDX_STATE},
	/* 4 */ {"Justice", 3, SIDX_ACTIVE | SIDX_STATE},
	/* 5 */ {"Justice Academy", 1, SIDX_ACTIVE | SIDX_CENTER},
	/* 6 */ {"Old Justice Board", 0, SIDX_CENTER}, /* inactive */
	/* 7 */ {"Department of Posts", 1, SIDX_ACTIVE | SIDX_CENTER},
	/* 8 */ {"विधि एवं न्याय मंत्रालय", 0, SIDX_ACTIVE | SIDX_CENTER},
	/* 9 */ {"Ministry of Justice Justice", 0, SIDX_ACTIVE | SIDX_CENTER},
};
#define N (sizeof items / sizeof items[0])

static sidx *x;

static int setup(void **state)
{
	(void)state;
	return sidx_build(items, N, &x);
}

static int teardown(void **state)
{
	(void)state;
	sidx_free(x);
	return 0;
}

static void search(const char *q, unsigned must, size_t limit, size_t *out, size_t *n)
{
	assert_int_equal(sidx_search(x, q, strlen(q), must, limit, out, n), PV_OK);
}

static void test_ranking(void **state)
{
	size_t out[20], n;

	(void)state;
	search("justice", SIDX_ACTIVE, 20, out, &n);
	/* exact name, then name prefix, then word prefix by depth, name */
	assert_int_equal(n, 7);
	assert_int_equal(out[0], 4); /* "Justice" exact, though deepest */
	assert_int_equal(out[1], 5); /* "Justice Academy" name prefix */
	assert_int_equal(out[2], 9); /* depth 0, "ministry of justice justice": listed once */
	assert_int_equal(out[3], 0); /* depth 0, "ministry of law..." */
	assert_int_equal(out[4], 1); /* depth 1 "department of justice" */
	assert_int_equal(out[5], 3); /* depth 1 "law justice ..." */
	assert_int_equal(out[6], 2); /* depth 2 */
}

static void test_filters_and_limit(void **state)
{
	size_t out[20], n;

	(void)state;
	search("justice", SIDX_ACTIVE | SIDX_STATE, 20, out, &n);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 4);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 2);
	search("justice", SIDX_ACTIVE, 2, out, &n);
	assert_int_equal(n, 2);
	search("justice", SIDX_CENTER, 20, out, &n); /* inactive included */
	assert_int_equal(n, 5);
}

static void test_words(void **state)
{
	size_t out[20], n;

	(void)state;
	search("jus law", SIDX_ACTIVE, 20, out, &n);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 3);
	search("  LAW,   jus ", SIDX_ACTIVE, 20, out, &n); /* name prefix "law jus" */
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[1], 0);
	search("dep po", SIDX_ACTIVE, 20, out, &n);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 7);
	search("न्याय", SIDX_ACTIVE, 20, out, &n);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 8);
	search("zzz", SIDX_ACTIVE, 20, out, &n);
	assert_int_equal(n, 0);
	search("...", SIDX_ACTIVE, 20, out, &n);
	assert_int_equal(n, 0);
	search("justicex", SIDX_ACTIVE, 20, out, &n);
	assert_int_equal(n, 0);
}

static void test_limits(void **state)
{
	size_t out[4], n;
	char q[400];

	(void)state;
	memset(q, 'a', sizeof q);
	assert_int_equal(sidx_search(x, q, sizeof q, SIDX_ACTIVE, 4, out, &n), PV_EINVAL);
	assert_int_equal(sidx_search(x, "a b c d e f g h i j k l m n o p q", 33, SIDX_ACTIVE, 4, out, &n), PV_EINVAL);
}

/* A larger random directory: results agree with a brute-force ranking. */
static int brute_class(const char *norm, const char *qn)
{
	if (strcmp(norm, qn) == 0)
		return 0;
	if (strncmp(norm, qn, strlen(qn)) == 0)
		return 1;
	return 2;
}

/* The ranking, by brute force: class (exact name, name prefix, word
 * prefix), then depth, normalised name, name, index. */
static const sidx_item *bc_it;
static char (*bc_norms)[80];
static const char *bc_qn;

static int brute_cmp(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b, c;

	if ((c = brute_class(bc_norms[i], bc_qn) - brute_class(bc_norms[j], bc_qn)) != 0)
		return c;
	if (bc_it[i].depth != bc_it[j].depth)
		return bc_it[i].depth < bc_it[j].depth ? -1 : 1;
	if ((c = strcmp(bc_norms[i], bc_norms[j])) != 0)
		return c;
	if ((c = strcmp(bc_it[i].name, bc_it[j].name)) != 0)
		return c;
	return i < j ? -1 : (i > j);
}

/* 1 when every word of qn starts some word of norm. */
static int brute_match(const char *norm, const char *qn)
{
	char tmp[80], hay[90], needle[90];
	char *save, *tok;

	snprintf(tmp, sizeof tmp, "%s", qn);
	snprintf(hay, sizeof hay, " %s", norm);
	for (tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		snprintf(needle, sizeof needle, " %s", tok);
		if (!strstr(hay, needle))
			return 0;
	}
	return 1;
}

/* Runs each query against y (over it[0, M), normalised names norms, the
 * centre's items only) and checks the answer against a brute force: the
 * first 30 of every matching item in the ranking's order, exactly. */
static void brute_check(const sidx *y, const sidx_item *it, char (*norms)[80], int M,
			const char **queries, size_t nq)
{
	int *want = calloc((size_t)M, sizeof *want);

	assert_non_null(want);
	for (size_t qi = 0; qi < nq; qi++) {
		size_t out[30], n;
		char qn[80];
		int matches = 0;

		sidx_normalise(queries[qi], strlen(queries[qi]), qn, sizeof qn);
		assert_int_equal(sidx_search(y, queries[qi], strlen(queries[qi]),
					     SIDX_ACTIVE | SIDX_CENTER, 30, out, &n), PV_OK);
		for (int i = 0; i < M; i++)
			if ((it[i].flags & SIDX_CENTER) && brute_match(norms[i], qn))
				want[matches++] = i;
		bc_it = it;
		bc_norms = norms;
		bc_qn = qn;
		qsort(want, (size_t)matches, sizeof *want, brute_cmp);
		assert_int_equal(n, (size_t)(matches < 30 ? matches : 30));
		for (size_t k = 0; k < n; k++)
			assert_int_equal(out[k], (size_t)want[k]);
	}
	free(want);
}

/* M names of 1 to maxw words drawn from words[0, nw) (seeded), at random
 * depths, one in five outside the centre; their normalised forms. */
static void make_names(unsigned seed, const char *const *words, int nw, int maxw, int M,
		       sidx_item *it, char (*names)[80], char (*norms)[80])
{
	srand(seed);
	for (int i = 0; i < M; i++) {
		int n = 1 + rand() % maxw;

		names[i][0] = '\0';
		for (int w = 0; w < n; w++) {
			if (w)
				strcat(names[i], " ");
			strcat(names[i], words[rand() % nw]);
		}
		it[i].name = names[i];
		it[i].depth = rand() % 4;
		it[i].flags = SIDX_ACTIVE | (rand() % 5 == 0 ? 0 : SIDX_CENTER);
		sidx_normalise(names[i], strlen(names[i]), norms[i], 80);
	}
}

static void test_against_brute_force(void **state)
{
	/* some share their first 8 bytes (the index's keys), one is 8 long */
	static const char *words[] = {"ministry", "department", "justice", "jute",
				      "law", "health", "heal", "of", "and", "board",
				      "administration", "administrative", "administ",
				      "departmental"};
	enum { M = 600 };
	sidx_item *it = calloc(M, sizeof *it);
	char (*names)[80] = calloc(M, 80);
	char (*norms)[80] = calloc(M, 80);
	sidx *y;
	const char *queries[] = {"ju", "just", "he", "of", "law ju", "department of", "board jute", "mi",
				 "administ", "administr", "administrati", "administration",
				 "adm dep", "department", "departmenta", "administ of",
				 "ministry of law", "departmental administrative"};

	(void)state;
	make_names(7, words, 14, 4, M, it, names, norms);
	assert_int_equal(sidx_build(it, M, &y), PV_OK);
	brute_check(y, it, norms, M, queries, sizeof queries / sizeof queries[0]);
	sidx_free(y);
	free(it);
	free(names);
	free(norms);
}

/* Hundreds of distinct words, a hundred of them sharing their first 8
 * bytes (so equal keys run across the index's blocks of keys), and
 * thousands of names: the same brute force. */
static void test_many_words_brute_force(void **state)
{
	enum { M = 3000, V = 300 };
	static char vocab[V][16];
	static const char *vocab_p[V];
	static const char *queries[] = {"administ", "administr", "administr0", "administr05",
					"administr99", "adm", "adm1", "adm150", "adm19 administr4",
					"w", "w2", "w299", "w20 adm10", "administr5 w21 adm"};
	sidx_item *it = calloc(M, sizeof *it);
	char (*names)[80] = calloc(M, 80);
	char (*norms)[80] = calloc(M, 80);
	sidx *y;

	(void)state;
	for (int k = 0; k < V; k++) {
		snprintf(vocab[k], sizeof vocab[k],
			 k < 100 ? "administr%02d" : k < 200 ? "adm%03d" : "w%03d", k);
		vocab_p[k] = vocab[k];
	}
	make_names(11, vocab_p, V, 3, M, it, names, norms);
	assert_int_equal(sidx_build(it, M, &y), PV_OK);
	brute_check(y, it, norms, M, queries, sizeof queries / sizeof queries[0]);
	/* every prefix of every word: the first key of a run of equal keys
	 * falls at every place in a block */
	static char pre[V * 12][16];
	static const char *pq[V * 12];
	size_t np = 0;

	for (int k = 0; k < V; k++)
		for (size_t l = 1; l <= strlen(vocab[k]); l++) {
			snprintf(pre[np], sizeof pre[np], "%.*s", (int)l, vocab[k]);
			pq[np] = pre[np];
			np++;
		}
	brute_check(y, it, norms, M, pq, np);
	sidx_free(y);
	free(it);
	free(names);
	free(norms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranking),
		cmocka_unit_test(test_filters_and_limit),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_against_brute_force),
		cmocka_unit_test(test_many_words_brute_force),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
