/* test_buf.c: bounded buffers whose failures stick (curl's dynbuf), and
 * the one list of error codes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

static void test_appends(void **state)
{
	buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(buf_adds(&b, "{\"a\":"), PV_OK);
	assert_int_equal(buf_addf(&b, "%d", 42), PV_OK);
	assert_int_equal(buf_add_json_str(&b, "\"\n", 2), PV_OK);
	assert_string_equal(b.p, "{\"a\":42\\\"\\n");
	assert_int_equal(buf_error(&b), PV_OK);
	buf_free(&b);
	/* an empty buffer steals as "" */
	buf_init(&b, 16);
	{
		size_t n = 9;
		char *p = buf_steal(&b, &n);

		assert_non_null(p);
		assert_string_equal(p, "");
		assert_int_equal(n, 0);
		free(p);
	}
}

/* The bug the sticky failure prevents: an append refused in the middle
 * left the rest to go on, and '{"a":""}' came out as if all was well. */
static void test_failure_sticks(void **state)
{
	buf b;
	size_t n = 7;

	(void)state;
	buf_init(&b, 12);
	buf_adds(&b, "{\"a\":\"");
	assert_int_equal(buf_adds(&b, "far too long for it"), PV_ELIMIT);
	/* later appends that would fit fail too */
	assert_int_equal(buf_adds(&b, "\"}"), PV_ELIMIT);
	assert_int_equal(buf_addf(&b, "%s", ""), PV_ELIMIT);
	assert_int_equal(buf_add_json_str(&b, "x", 1), PV_ELIMIT);
	assert_int_equal(buf_error(&b), PV_ELIMIT);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_null(buf_steal(&b, &n));
	assert_int_equal(n, 0);
	/* a reset buffer is usable again */
	buf_init(&b, 12);
	buf_add(&b, "0123456789abc", 13);
	buf_reset(&b);
	assert_int_equal(buf_error(&b), PV_OK);
	assert_int_equal(buf_adds(&b, "ok"), PV_OK);
	assert_string_equal(b.p, "ok");
	buf_free(&b);
	buf_free(NULL);
}

static void test_error_list(void **state)
{
	(void)state;
	assert_string_equal(pv_errname(PV_ENOTFOUND), "ENOTFOUND");
	assert_string_equal(pv_strerror(PV_OK), "ok");
	assert_string_equal(pv_errname(-999), "EUNKNOWN");
	assert_string_equal(pv_strerror(-999), "unknown error");
	/* every code from 0 down to the last has a name and a text */
	for (int e = 0; e >= PV_ENOSPACE; e--) {
		assert_string_not_equal(pv_errname(e), "EUNKNOWN");
		assert_string_not_equal(pv_strerror(e), "unknown error");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_failure_sticks),
		cmocka_unit_test(test_error_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
