/* Tests of src/import/strtab.c: the shared strings table, in memory and
 * spilled to its temporary files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import/strtab.h"
#include "util/err.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pv-strtab-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir); /* empty: the files were unlinked at once */
}

/* String i: its length varies from 0 to about 9 KB (over the 4 KiB pages
 * of the files), its bytes depend on i. */
static size_t make_string(size_t i, char *out, size_t cap)
{
	size_t n = i % 97 == 5 ? 4000 + (i * 131) % 5000 : (i * 7) % 40, k;

	assert_true(n <= cap);
	for (k = 0; k < n; k++)
		out[k] = (char)('a' + (i + k * 3) % 26);
	return n;
}

static void check_string(strtab *t, size_t i)
{
	static char want[16384];
	const char *p = NULL;
	size_t n = 0, wn = make_string(i, want, sizeof(want));

	assert_int_equal(strtab_get(t, i, &p, &n), PV_OK);
	if (n != wn || memcmp(p, want, n) != 0)
		fail_msg("string %zu: %zu bytes, expected %zu", i, n, wn);
}

/* Writes count strings into a table of the given budget and reads them in
 * order, backwards and at random. */
static void round_trip(size_t budget, size_t count, int spilled)
{
	static char s[16384];
	strtab *t = NULL;
	uint32_t seed = 1;
	size_t i;

	assert_int_equal(strtab_new(budget, tmpdir, &t), PV_OK);
	for (i = 0; i < count; i++)
		assert_int_equal(strtab_add(t, s, make_string(i, s, sizeof(s))), PV_OK);
	assert_int_equal(strtab_count(t), count);
	assert_int_equal(strtab_spilled(t), spilled);
	{
		const char *p;
		size_t n;

		/* Not readable before it is sealed. */
		assert_int_equal(strtab_get(t, 0, &p, &n), PV_EINVAL);
	}
	assert_int_equal(strtab_seal(t), PV_OK);
	for (i = 0; i < count; i++)
		check_string(t, i);
	for (i = count; i-- > 0;)
		check_string(t, i);
	for (i = 0; count && i < 3 * count; i++) {
		seed = seed * 1103515245u + 12345u;
		check_string(t, (seed >> 8) % count);
	}
	{
		const char *p;
		size_t n;

		assert_int_equal(strtab_get(t, count, &p, &n), PV_EINVAL);
		/* Sealed twice is still sealed; adding after is refused. */
		assert_int_equal(strtab_seal(t), PV_OK);
		assert_int_equal(strtab_add(t, "x", 1), PV_EINVAL);
	}
	strtab_free(t);
}

static void test_in_memory(void **state)
{
	(void)state;
	round_trip(8 * 1024 * 1024, 0, 0);
	round_trip(8 * 1024 * 1024, 5000, 0);
}

static void test_spilled(void **state)
{
	(void)state;
	round_trip(0, 1, 1);
	round_trip(0, 20000, 1);
	/* Spilled in the middle: what was in memory moves to the files. */
	round_trip(64 * 1024, 20000, 1);
}

/* The strings sit in the files, not in memory: a 40 MB table costs the
 * process about its 1 MiB cache. */
static void test_big_table(void **state)
{
	char s[40];
	strtab *t = NULL;
	const char *p;
	size_t i, n, count = 1000000;

	(void)state;
	assert_int_equal(strtab_new(1 << 20, tmpdir, &t), PV_OK);
	for (i = 0; i < count; i++) {
		int k = snprintf(s, sizeof(s), "user%zu@example.gov.in", i);

		assert_int_equal(strtab_add(t, s, (size_t)k), PV_OK);
	}
	assert_int_equal(strtab_seal(t), PV_OK);
	assert_true(strtab_spilled(t));
	for (i = 0; i < count; i += 999) {
		int k = snprintf(s, sizeof(s), "user%zu@example.gov.in", i);

		assert_int_equal(strtab_get(t, i, &p, &n), PV_OK);
		assert_int_equal(n, (size_t)k);
		assert_memory_equal(p, s, n);
	}
	strtab_free(t);
}

static void test_no_folder(void **state)
{
	char dir[128];
	strtab *t = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/missing", tmpdir);
	assert_int_equal(strtab_new(8, dir, &t), PV_OK);
	assert_int_equal(strtab_add(t, "ab", 2), PV_OK);
	assert_int_equal(strtab_add(t, "cd", 2), PV_EIO);
	assert_int_equal(strtab_errno(t), ENOENT);
	strtab_free(t);
	strtab_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_memory),
		cmocka_unit_test(test_spilled),
		cmocka_unit_test(test_big_table),
		cmocka_unit_test(test_no_folder),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
