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
	srand(7);
	for (int i = 0; i < M; i++) {
		int nw = 1 + rand() % 4;

		names[i][0] = '\0';
		for (int w = 0; w < nw; w++) {
			if (w)
				strcat(names[i], " ");
			strcat(names[i], words[rand() % 14]);
		}
		it[i].name = names[i];
		it[i].depth = rand() % 4;
		it[i].flags = SIDX_ACTIVE | (rand() % 5 == 0 ? 0 : SIDX_CENTER);
		sidx_normalise(names[i], strlen(names[i]), norms[i], 80);
	}
	assert_int_equal(sidx_build(it, M, &y), PV_OK);
	for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
		size_t out[30], n, k = 0;
		char qn[80];
		int prev_class = -1, prev_depth = -1;
		const char *prev_norm = "";
		int matches = 0;

		sidx_normalise(queries[qi], strlen(queries[qi]), qn, sizeof qn);
		assert_int_equal(sidx_search(y, queries[qi], strlen(queries[qi]),
					     SIDX_ACTIVE | SIDX_CENTER, 30, out, &n), PV_OK);
		/* every result matches, order is non-decreasing */
		for (k = 0; k < n; k++) {
			int i = (int)out[k], c = brute_class(norms[i], qn);

			assert_true(it[i].flags & SIDX_CENTER);
			if (c == prev_class && it[i].depth == prev_depth)
				assert_true(strcmp(prev_norm, norms[i]) <= 0);
			else if (c == prev_class)
				assert_true(it[i].depth > prev_depth);
			else
				assert_true(c > prev_class);
			prev_class = c;
			prev_depth = it[i].depth;
			prev_norm = norms[i];
			for (size_t j = 0; j < k; j++)
				assert_true(out[j] != out[k]);
		}
		/* count by brute force: all query words prefix some name word */
		for (int i = 0; i < M; i++) {
			char tmp[80];
			int all = 1;
			char *save, *tok;

			if (!(it[i].flags & SIDX_CENTER))
				continue;
			strcpy(tmp, qn);
			for (tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
				char hay[90];

				snprintf(hay, sizeof hay, " %s", norms[i]);
				char needle[90];
				snprintf(needle, sizeof needle, " %s", tok);
				if (!strstr(hay, needle))
					all = 0;
			}
			matches += all;
		}
		assert_int_equal(n, (size_t)(matches < 30 ? matches : 30));
	}
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
