/* test_util.c: RFC 3339 times read back exactly as util_rfc3339 writes
 * them, offsets and fractions, and every malformed shape refused; random
 * bytes drawn through the per-thread pool never handed out twice: across
 * refills, in another thread, in a forked child. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/err.h"
#include "util/util.h"

static void test_rfc3339_round_trip(void **state)
{
	const int64_t times[] = {0, 1700000000123LL, 1796132378115LL, 951782400000LL /* 2000-02-29 */};
	char s[32];
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		util_rfc3339(times[i], s);
		assert_int_equal(util_parse_rfc3339(s, &ms), PV_OK);
		assert_true(ms == times[i]);
	}
}

static void test_rfc3339_forms(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(util_parse_rfc3339("2026-12-01T00:00:00Z", &ms), PV_OK);
	assert_true(ms == 1796083200000LL);
	/* midnight in India is 18:30 the day before in UTC */
	assert_int_equal(util_parse_rfc3339("2026-12-01T00:00:00+05:30", &ms), PV_OK);
	assert_true(ms == 1796083200000LL - 19800000LL);
	assert_int_equal(util_parse_rfc3339("2026-12-01T00:00:00-01:00", &ms), PV_OK);
	assert_true(ms == 1796083200000LL + 3600000LL);
	assert_int_equal(util_parse_rfc3339("2026-12-01t10:00:00.5z", &ms), PV_OK);
	assert_true(ms == 1796083200000LL + 36000500LL);
	assert_int_equal(util_parse_rfc3339("2026-12-01T10:00:00.123456Z", &ms), PV_OK);
	assert_true(ms == 1796083200000LL + 36000123LL);
}

static void test_rfc3339_refused(void **state)
{
	static const char *const bad[] = {
		"", "2026-12-01", "2026-12-01T10:00:00", "2026-13-01T00:00:00Z",
		"2026-12-32T00:00:00Z", "2026-02-30T00:00:00Z", "2026-12-01T24:00:00Z",
		"2026-12-01T10:60:00Z", "2026-12-01T10:00:00.Z", "2026-12-01T10:00:00+5:30",
		"2026-12-01T10:00:00Zjunk", "2026/12/01T10:00:00Z", "x026-12-01T10:00:00Z",
		"2026-12-01 10:00:00Z",
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(util_parse_rfc3339(bad[i], &ms), PV_EINVAL);
	assert_int_equal(util_parse_rfc3339(NULL, &ms), PV_EINVAL);
}

/* ndraw draws of len bytes: none all zero (a byte wiped, then handed
 * out), no two alike (a byte handed out twice). */
#define NDRAW 400
static void draws_distinct(size_t len)
{
	static unsigned char d[NDRAW][48];
	static const unsigned char zero[48];

	for (size_t i = 0; i < NDRAW; i++) {
		util_random_buf(d[i], len);
		assert_true(memcmp(d[i], zero, len) != 0);
		for (size_t j = 0; j < i; j++)
			assert_true(memcmp(d[i], d[j], len) != 0);
	}
}

static void test_random_pool_draws(void **state)
{
	(void)state;
	/* 400 x 16 and 400 x 48 bytes: several refills of the 2 KB pool,
	 * and draws that straddle a refill (48 does not divide 2,048) */
	draws_distinct(16);
	draws_distinct(48);
}

static void test_random_large_and_empty(void **state)
{
	unsigned char a[4096], b[4096], z[4096] = {0};

	(void)state;
	util_random_buf(a, sizeof a); /* past the pool: libsodium itself */
	util_random_buf(b, sizeof b);
	assert_true(memcmp(a, b, sizeof a) != 0);
	assert_true(memcmp(a, z, sizeof a) != 0);
	util_random_buf(a, 0);
}

static void *draw_thread(void *arg)
{
	util_random_buf(arg, 32);
	return NULL;
}

static void test_random_per_thread(void **state)
{
	unsigned char mine[32], theirs[32];
	pthread_t t;

	(void)state;
	util_random_buf(mine, sizeof mine);
	assert_int_equal(pthread_create(&t, NULL, draw_thread, theirs), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	util_random_buf(mine, sizeof mine); /* the pool's next bytes, here */
	assert_true(memcmp(mine, theirs, sizeof mine) != 0);
}

/* A forked child starts with an empty pool: without that, parent and child
 * would both hand out the bytes the pool held at the fork. */
static void test_random_after_fork(void **state)
{
	unsigned char first[16], mine[32], childs[32];
	int p[2], st;
	pid_t pid;

	(void)state;
	util_random_buf(first, sizeof first); /* the pool is full now */
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char c[32];

		util_random_buf(c, sizeof c);
		_exit(write(p[1], c, sizeof c) == (ssize_t)sizeof c ? 0 : 1);
	}
	close(p[1]);
	assert_int_equal(read(p[0], childs, sizeof childs), (ssize_t)sizeof childs);
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	util_random_buf(mine, sizeof mine);
	assert_true(memcmp(mine, childs, sizeof mine) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_round_trip),
		cmocka_unit_test(test_rfc3339_forms),
		cmocka_unit_test(test_rfc3339_refused),
		cmocka_unit_test(test_random_pool_draws),
		cmocka_unit_test(test_random_large_and_empty),
		cmocka_unit_test(test_random_per_thread),
		cmocka_unit_test(test_random_after_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
