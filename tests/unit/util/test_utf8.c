/* test_utf8.c: the one UTF-8 validator (Unicode table 3-7). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/utf8.h"

#define OK(s) assert_true(utf8_valid(s, sizeof(s) - 1))
#define BAD(s) assert_false(utf8_valid(s, sizeof(s) - 1))

static void test_valid(void **state)
{
	(void)state;
	OK("");
	OK("plain ASCII");
	OK("\x00 NUL is a character");
	OK("\xc2\x80");                 /* U+0080 */
	OK("\xe0\xa0\x80");             /* U+0800 */
	OK("\xed\x9f\xbf");             /* U+D7FF */
	OK("\xee\x80\x80");             /* U+E000 */
	OK("\xf0\x90\x80\x80");         /* U+10000 */
	OK("\xf4\x8f\xbf\xbf");         /* U+10FFFF */
	OK("\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80"); /* Hindi */
	BAD("\x80");                    /* a lone continuation */
	BAD("\xc0\x80");                /* overlong NUL */
	BAD("\xc1\xbf");                /* overlong */
	BAD("\xe0\x9f\xbf");            /* overlong below U+0800 */
	BAD("\xed\xa0\x80");            /* a surrogate */
	BAD("\xf0\x8f\xbf\xbf");        /* overlong below U+10000 */
	BAD("\xf4\x90\x80\x80");        /* above U+10FFFF */
	BAD("\xf5\x80\x80\x80");
	BAD("\xff");
	BAD("\xe0\xa4");                /* cut short */
	BAD("ok then \xc2");
	assert_true(utf8_valid(NULL, 0));
	assert_false(utf8_valid(NULL, 1));
}

static void test_decode(void **state)
{
	const unsigned char s[] = "a\xc3\xa9\xe0\xa4\xb9\xf0\x9f\x98\x80";
	uint32_t cp[4];
	size_t i = 0;
	int n = 0;

	(void)state;
	while (i < sizeof s - 1)
		assert_true(utf8_next(s, sizeof s - 1, &i, &cp[n++]));
	assert_int_equal(n, 4);
	assert_int_equal(cp[0], 'a');
	assert_int_equal(cp[1], 0xE9);
	assert_int_equal(cp[2], 0x939);
	assert_int_equal(cp[3], 0x1F600);
	/* a sequence cut by the end of a head: -1, not ill formed */
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\xa4", 2), -1);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\x20", 2), 0);
	i = 0;
	assert_false(utf8_next((const unsigned char *)"\xe0\xa4", 2, &i, &cp[0]));
	assert_int_equal(i, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
