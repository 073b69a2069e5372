/* test_util.c: RFC 3339 times read back exactly as util_rfc3339 writes
 * them, offsets and fractions, and every malformed shape refused; random
 * base64url strings drawn one or several at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

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

/* Several strings from one draw: each from its own bytes (no two alike),
 * each the length of its n bytes; too many bytes, or too small an output,
 * refused. */
static void test_random_many(void **state)
{
	char a[64], b[64], c[64], big[200];
	char *const two[2] = {a, b}, *const three[3] = {a, b, c};

	(void)state;
	assert_int_equal(util_random_b64url_many(32, two, 2, sizeof a), PV_OK);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strlen(b), 43);
	assert_true(strcmp(a, b) != 0);
	assert_int_equal(util_random_b64url_many(16, three, 3, sizeof a), PV_OK);
	assert_int_equal(strlen(c), 22);
	assert_true(strcmp(a, b) != 0 && strcmp(b, c) != 0 && strcmp(a, c) != 0);
	assert_int_equal(util_random_b64url_many(42, three, 3, sizeof a), PV_OK); /* 126 */
	assert_int_equal(util_random_b64url_many(43, three, 3, sizeof a), PV_ELIMIT);
	assert_int_equal(util_random_b64url_many(32, two, 2, 43), PV_ELIMIT);
	assert_int_equal(util_random_b64url_many(32, two, 0, sizeof a), PV_ELIMIT);
	assert_int_equal(util_random_b64url(32, a, sizeof a), PV_OK);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(util_random_b64url(128, big, sizeof big), PV_OK);
	assert_int_equal(util_random_b64url(129, big, sizeof big), PV_ELIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_round_trip),
		cmocka_unit_test(test_rfc3339_forms),
		cmocka_unit_test(test_rfc3339_refused),
		cmocka_unit_test(test_random_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
