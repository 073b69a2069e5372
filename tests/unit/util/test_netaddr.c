/* test_netaddr.c: trusted proxies and the client address (api.md). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/err.h"
#include "util/netaddr.h"

static void client(const char *peer, const char *xff, const net_cidrs *t, const char *want)
{
	uint8_t a[16];
	char out[NET_ADDR_STR];

	assert_true(net_addr_parse(peer, strlen(peer), a));
	net_client_addr(a, xff, t, out);
	assert_string_equal(out, want);
}

static void test_parse(void **state)
{
	net_cidrs c;
	char bad[64];
	uint8_t a[16];

	(void)state;
	assert_int_equal(net_cidrs_parse(NULL, &c, bad, sizeof bad), PV_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(net_cidrs_parse(" 10.0.0.1, 192.168.0.0/16 ,::1,fd00::/8", &c, bad, sizeof bad),
			 PV_OK);
	assert_int_equal(c.n, 4);
	assert_true(net_addr_parse("192.168.44.5", 12, a) && net_cidrs_match(&c, a));
	assert_true(net_addr_parse("192.169.0.1", 11, a) && !net_cidrs_match(&c, a));
	assert_true(net_addr_parse("10.0.0.1", 8, a) && net_cidrs_match(&c, a));
	assert_true(net_addr_parse("10.0.0.2", 8, a) && !net_cidrs_match(&c, a));
	assert_true(net_addr_parse("fd12::7", 7, a) && net_cidrs_match(&c, a));
	assert_true(net_addr_parse("fe80::1", 7, a) && !net_cidrs_match(&c, a));
	assert_true(net_addr_parse("::1", 3, a) && net_cidrs_match(&c, a));
	/* odd prefix lengths */
	assert_int_equal(net_cidrs_parse("10.0.0.0/9", &c, bad, sizeof bad), PV_OK);
	assert_true(net_addr_parse("10.127.1.1", 10, a) && net_cidrs_match(&c, a));
	assert_true(net_addr_parse("10.128.1.1", 10, a) && !net_cidrs_match(&c, a));
	assert_int_equal(net_cidrs_parse("0.0.0.0/0", &c, bad, sizeof bad), PV_OK);
	assert_true(net_addr_parse("8.8.8.8", 7, a) && net_cidrs_match(&c, a));
	/* refusals name the item */
	assert_int_equal(net_cidrs_parse("10.0.0.1, proxy.example", &c, bad, sizeof bad), PV_EINVAL);
	assert_string_equal(bad, "proxy.example");
	assert_int_equal(net_cidrs_parse("10.0.0.0/33", &c, bad, sizeof bad), PV_EINVAL);
	assert_int_equal(net_cidrs_parse("::/129", &c, bad, sizeof bad), PV_EINVAL);
	assert_int_equal(net_cidrs_parse("10.0.0.0/", &c, bad, sizeof bad), PV_EINVAL);
	assert_int_equal(net_cidrs_parse("10.0.0.0/x", &c, bad, sizeof bad), PV_EINVAL);
	assert_false(net_addr_parse("1.2.3", 5, a));
	assert_false(net_addr_parse("", 0, a));
}

static void test_client(void **state)
{
	net_cidrs t;
	char bad[64];

	(void)state;
	assert_int_equal(net_cidrs_parse("127.0.0.1, 10.0.0.0/8", &t, bad, sizeof bad), PV_OK);
	/* an untrusted peer: its own address, whatever the header says */
	client("203.0.113.9", "198.51.100.1", &t, "203.0.113.9");
	client("203.0.113.9", NULL, &t, "203.0.113.9");
	/* a trusted peer: the right-most untrusted entry */
	client("127.0.0.1", "198.51.100.1", &t, "198.51.100.1");
	client("127.0.0.1", "6.6.6.6, 198.51.100.1, 10.1.2.3", &t, "198.51.100.1");
	client("127.0.0.1", " 198.51.100.1 ,10.1.2.3 ", &t, "198.51.100.1");
	/* all trusted: the left-most */
	client("127.0.0.1", "10.9.9.9, 10.1.2.3", &t, "10.9.9.9");
	/* no header: the peer */
	client("127.0.0.1", NULL, &t, "127.0.0.1");
	/* malformed entries: never taken as an address */
	client("127.0.0.1", "garbage", &t, "127.0.0.1");
	client("127.0.0.1", "198.51.100.1, garbage", &t, "127.0.0.1");
	client("127.0.0.1", "garbage, 10.1.2.3", &t, "10.1.2.3");
	client("127.0.0.1", "", &t, "127.0.0.1");
	client("127.0.0.1", ",,,", &t, "127.0.0.1");
	/* IPv6 */
	client("127.0.0.1", "2001:db8::7", &t, "2001:db8::7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
