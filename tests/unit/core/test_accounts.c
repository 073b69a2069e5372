/* test_accounts.c: administrators' creation (field errors, conflicts) and
 * password logins with their throttles, with an injected clock, against
 * the SQLite store on a fresh temporary file per test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/accounts.h"
#include "store/store.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define T0 1700000000000LL
#define SEC 1000LL
#define PW "correct horse battery"
#define IP1 "10.0.0.1"
#define IP2 "10.0.0.2"

typedef struct fx {
	char dir[64], path[128];
	store *st;
	keys key;
	acct_policy pol;
} fx;

static int add_org(store *s, const char *id)
{
	store_org org;

	memset(&org, 0, sizeof org);
	util_strlcpy(org.id, id, sizeof org.id);
	util_strlcpy(org.name, id, sizeof org.name);
	util_strlcpy(org.sector, "center", sizeof org.sector);
	util_strlcpy(org.type, "ministry", sizeof org.type);
	org.active = 1;
	org.created_at = org.updated_at = T0;
	return store_org_upsert(s, &org);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	if (tmpstore_open(f->dir, sizeof f->dir, f->path, sizeof f->path, &f->st) != 0)
		return -1;
	if (add_org(f->st, "org1") != PV_OK || add_org(f->st, "org2") != PV_OK)
		return -1;
	acct_policy_default(&f->pol);
	f->pol.user_fails = 3;
	f->pol.ip_fails = 5;
	f->pol.window_s = 900;
	memset(f->key.k, 7, sizeof f->key.k);
	f->pol.key = &f->key;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	tmpstore_remove(f->st, f->dir, f->path);
	free(f);
	return 0;
}

static acct_admin base_admin(void)
{
	acct_admin a = {
		.role = "mdo",
		.username = "mdo.law",
		.password = PW,
		.org_id = "org1",
		.first_name = "Asha",
		.last_name = "Rao",
		.email = "asha@example.org",
		.mobile = "9876543210",
	};
	return a;
}

static void test_create(void **state)
{
	fx *f = *state;
	store *s = f->st;
	acct_admin a = base_admin();
	field_errs fe;
	store_user u, got;
	store_role roles[ACCT_ROLES_MAX];
	size_t n;

	a.mobile = "+91 98765-43210";
	assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, &u), PV_OK);
	assert_int_equal(fe.n, 0);
	assert_string_equal(u.mobile, "9876543210");
	assert_string_equal(u.status, STORE_USER_ACTIVE);
	assert_string_equal(u.source, "admin");
	assert_string_equal(u.org_id, "org1");
	assert_false(u.official_email);
	assert_int_equal(u.created_at, T0);
	assert_int_equal(store_user_get(s, u.id, &got), PV_OK);
	assert_string_equal(got.email, "asha@example.org");
	assert_int_equal(acct_roles(s, u.id, roles, ACCT_ROLES_MAX, &n), PV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(roles[0].role, ACCT_ROLE_MDO);
	assert_string_equal(roles[0].org_id, "org1");
	assert_true(acct_username_exists(s, "mdo.law"));
	assert_true(acct_username_exists(s, "MDO.Law"));
	assert_false(acct_username_exists(s, "mdo.law2"));

	/* an SPV, by either role word, with an official address; out may be NULL */
	a = base_admin();
	a.role = "spv_admin";
	a.username = "spv1";
	a.email = "spv@dopt.gov.in";
	a.mobile = "9876543211";
	a.org_id = "org2";
	assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, &u), PV_OK);
	assert_true(u.official_email);
	assert_int_equal(acct_roles(s, u.id, roles, ACCT_ROLES_MAX, &n), PV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(roles[0].role, ACCT_ROLE_SPV);
	assert_string_equal(roles[0].org_id, "");
	a.role = "spv";
	a.username = "spv2";
	a.email = "spv2@example.org";
	a.mobile = "9876543212";
	assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, NULL), PV_OK);
	assert_true(acct_username_exists(s, "spv2"));
}

struct fcase {
	const char *field, *code;
	acct_admin a;
};

/* One bad field at a time: exactly that field's error, nothing created. */
static void test_field_errors(void **state)
{
	fx *f = *state;
	store *s = f->st;
	char long_user[80], long_pw[ACCT_PASSWORD_MAX + 2];
	struct fcase cases[32];
	size_t nc = 0, i;
	field_errs fe;
	store_user u;

	memset(long_user, 'a', 65);
	long_user[65] = '\0';
	memset(long_pw, 'p', ACCT_PASSWORD_MAX + 1);
	long_pw[ACCT_PASSWORD_MAX + 1] = '\0';
#define BAD(fld, cd, member, value)                                     \
	do {                                                            \
		cases[nc].field = fld;                                  \
		cases[nc].code = cd;                                    \
		cases[nc].a = base_admin();                             \
		cases[nc].a.member = value;                             \
		nc++;                                                   \
	} while (0)
	BAD("role", "invalid_role", role, NULL);
	BAD("role", "invalid_role", role, "admin");
	BAD("username", "invalid_username", username, NULL);
	BAD("username", "invalid_username", username, "ab");
	BAD("username", "invalid_username", username, "has space");
	BAD("username", "invalid_username", username, "semi;colon");
	BAD("username", "invalid_username", username, long_user);
	BAD("password", "weak_password", password, NULL);
	BAD("password", "weak_password", password, "");
	BAD("password", "weak_password", password, "abcdefghijk"); /* 11 */
	BAD("password", "weak_password", password, long_pw);
	BAD("password", "weak_password", password, "abcdefghijk\xff");
	/* 11 characters in 22 bytes: still 11 characters */
	BAD("password", "weak_password", password,
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	BAD("org_id", "unknown_org", org_id, NULL);
	BAD("org_id", "unknown_org", org_id, "");
	BAD("org_id", "unknown_org", org_id, "org3");
	BAD("first_name", "invalid_name", first_name, NULL);
	BAD("first_name", "invalid_name", first_name, "");
	BAD("first_name", "invalid_name", first_name, "Asha1");
	BAD("last_name", "invalid_name", last_name, NULL);
	BAD("last_name", "invalid_name", last_name, "<b>");
	BAD("email", "invalid_email", email, NULL);
	BAD("email", "invalid_email", email, "asha");
	BAD("email", "invalid_email", email, "asha@example");
	BAD("mobile", "invalid_mobile", mobile, NULL);
	BAD("mobile", "invalid_mobile", mobile, "12345");
	BAD("mobile", "invalid_mobile", mobile, "5876543210");
#undef BAD
	assert_true(nc <= sizeof cases / sizeof *cases);
	for (i = 0; i < nc; i++) {
		print_message("case %zu: %s\n", i, cases[i].field);
		memset(&fe, 0, sizeof fe);
		assert_int_equal(acct_admin_create(s, &f->pol, &cases[i].a, T0, &fe, &u), PV_EINVAL);
		assert_int_equal(fe.n, 1);
		assert_string_equal(fe.e[0].field, cases[i].field);
		assert_string_equal(fe.e[0].code, cases[i].code);
		assert_non_null(fe.e[0].message);
	}
	/* nothing was created */
	assert_false(acct_username_exists(s, "mdo.law"));
	assert_int_equal(store_user_by_email(s, "asha@example.org", &u), PV_ENOTFOUND);

	/* every field at once: every error at once */
	{
		acct_admin a = {0};
		static const char *const want[] = {"role", "username", "password", "org_id",
						   "first_name", "last_name", "email", "mobile"};

		assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, &u), PV_EINVAL);
		assert_int_equal(fe.n, 8);
		for (i = 0; i < 8; i++)
			assert_true(ferr_has(&fe, want[i]));
	}
}

static void test_password_length(void **state)
{
	fx *f = *state;
	acct_admin a = base_admin();
	field_errs fe;
	store_user u;
	char max_pw[ACCT_PASSWORD_MAX + 1];

	a.password = "abcdefghijkl"; /* 12 */
	assert_int_equal(acct_admin_create(f->st, &f->pol, &a, T0, &fe, &u), PV_OK);
	/* 12 characters of two bytes each */
	a = base_admin();
	a.username = "mdo2";
	a.email = "b@example.org";
	a.mobile = "9876543211";
	a.password = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
	assert_int_equal(acct_admin_create(f->st, &f->pol, &a, T0, &fe, &u), PV_OK);
	/* the longest accepted */
	memset(max_pw, 'q', ACCT_PASSWORD_MAX);
	max_pw[ACCT_PASSWORD_MAX] = '\0';
	a = base_admin();
	a.username = "mdo3";
	a.email = "c@example.org";
	a.mobile = "9876543212";
	a.password = max_pw;
	assert_int_equal(acct_admin_create(f->st, &f->pol, &a, T0, &fe, &u), PV_OK);
	assert_int_equal(acct_password_login(f->st, &f->pol, "mdo3", max_pw, IP1, T0, &u, &(int64_t){0}),
			 PV_OK);
}

static void test_conflicts(void **state)
{
	fx *f = *state;
	store *s = f->st;
	acct_admin a = base_admin();
	field_errs fe;
	store_user u;

	assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, &u), PV_OK);

	/* the username, case-insensitively */
	a = base_admin();
	a.username = "MDO.Law";
	a.email = "other@example.org";
	a.mobile = "9876543299";
	assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, &u), PV_ECONFLICT);
	assert_int_equal(fe.n, 1);
	assert_string_equal(fe.e[0].field, "username");
	assert_string_equal(fe.e[0].code, "username_taken");
	/* the whole creation was undone */
	assert_int_equal(store_user_by_email(s, "other@example.org", &u), PV_ENOTFOUND);
	assert_int_equal(store_user_by_mobile(s, "9876543299", &u), PV_ENOTFOUND);

	/* the e-mail, case-insensitively */
	a = base_admin();
	a.username = "another";
	a.email = "ASHA@Example.org";
	a.mobile = "9876543299";
	assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, &u), PV_ECONFLICT);
	assert_int_equal(fe.n, 1);
	assert_string_equal(fe.e[0].field, "email");
	assert_string_equal(fe.e[0].code, "email_taken");
	assert_false(acct_username_exists(s, "another"));

	/* the mobile, in another form */
	a.email = "other@example.org";
	a.mobile = "09876543210";
	assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, &u), PV_ECONFLICT);
	assert_int_equal(fe.n, 1);
	assert_string_equal(fe.e[0].field, "mobile");
	assert_string_equal(fe.e[0].code, "mobile_taken");
	assert_false(acct_username_exists(s, "another"));

	/* both */
	a.email = "asha@example.org";
	assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, &u), PV_ECONFLICT);
	assert_int_equal(fe.n, 2);
	assert_true(ferr_has(&fe, "email"));
	assert_true(ferr_has(&fe, "mobile"));

	/* after the refusals, a clean creation still works */
	a = base_admin();
	a.username = "another";
	a.email = "other@example.org";
	a.mobile = "9876543299";
	assert_int_equal(acct_admin_create(s, &f->pol, &a, T0, &fe, &u), PV_OK);
}

/* Creates the base administrator; returns its id in id. */
static void make_admin(fx *f, char id[STORE_ID_MAX])
{
	acct_admin a = base_admin();
	field_errs fe;
	store_user u;

	assert_int_equal(acct_admin_create(f->st, &f->pol, &a, T0, &fe, &u), PV_OK);
	memcpy(id, u.id, STORE_ID_MAX);
}

static int login(fx *f, const char *user, const char *pw, const char *ip,
		 int64_t now, int64_t *retry)
{
	store_user u;
	int64_t r = -1;
	int rc = acct_password_login(f->st, &f->pol, user, pw, ip, now, &u, &r);

	if (retry)
		*retry = r;
	if (rc != PV_ELIMIT)
		assert_int_equal(r, 0);
	return rc;
}

static void test_login(void **state)
{
	fx *f = *state;
	char id[STORE_ID_MAX];
	store_user u;
	int64_t retry;

	f->pol.user_fails = f->pol.ip_fails = 10; /* no throttle here */
	make_admin(f, id);
	memset(&u, 0, sizeof u);
	assert_int_equal(acct_password_login(f->st, &f->pol, "mdo.law", PW, IP1, T0, &u, &retry), PV_OK);
	assert_string_equal(u.id, id);
	assert_string_equal(u.status, STORE_USER_ACTIVE);
	assert_int_equal(retry, 0);
	assert_int_equal(login(f, "MDO.LAW", PW, IP1, T0, NULL), PV_OK);
	/* wrong password and unknown user: the same answer */
	assert_int_equal(login(f, "mdo.law", PW "!", IP1, T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", "Correct horse battery", IP1, T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "nobody", PW, IP1, T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, NULL, PW, IP2, T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", NULL, IP2, T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", "", IP2, T0, NULL), PV_EDENIED);
	/* failures do not stop the right pair below the limits */
	assert_int_equal(login(f, "mdo.law", PW, "10.0.0.3", T0, NULL), PV_OK);
}

static void test_login_inactive(void **state)
{
	fx *f = *state;
	char id[STORE_ID_MAX];

	make_admin(f, id);
	assert_int_equal(store_user_set_status(f->st, id, STORE_USER_INACTIVE, T0), PV_OK);
	assert_int_equal(login(f, "mdo.law", PW, IP1, T0, NULL), PV_EDENIED);
	assert_int_equal(store_user_set_status(f->st, id, STORE_USER_PENDING, T0), PV_OK);
	assert_int_equal(login(f, "mdo.law", PW, IP1, T0, NULL), PV_EDENIED);
	assert_int_equal(store_user_set_status(f->st, id, STORE_USER_ACTIVE, T0), PV_OK);
	assert_int_equal(login(f, "mdo.law", PW, IP1, T0, NULL), PV_OK);
}

static void test_user_throttle(void **state)
{
	fx *f = *state;
	char id[STORE_ID_MAX];
	int64_t retry, t;

	make_admin(f, id);
	/* three failures, from different addresses and spellings */
	assert_int_equal(login(f, "mdo.law", "wrong password 1", IP1, T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "MDO.law", "wrong password 2", IP2, T0 + 1, NULL), PV_EDENIED);
	t = T0 + 2;
	assert_int_equal(login(f, "mdo.LAW", "wrong password 3", "10.0.0.3", t, NULL), PV_EDENIED);
	/* the next attempt locks it for the window, even with the right
	 * password */
	t++;
	assert_int_equal(login(f, "mdo.law", PW, "10.0.0.4", t, &retry), PV_ELIMIT);
	assert_int_equal(retry, 900);
	assert_int_equal(login(f, "mdo.law", PW, "10.0.0.4", t + 600 * SEC, &retry), PV_ELIMIT);
	assert_int_equal(retry, 300);
	assert_int_equal(login(f, "mdo.law", PW, "10.0.0.4", t + 900 * SEC - 1, &retry), PV_ELIMIT);
	assert_int_equal(retry, 1);
	/* other usernames are not affected */
	assert_int_equal(login(f, "someone.else", PW, "10.0.0.5", t + 1, NULL), PV_EDENIED);
	/* the lock served */
	assert_int_equal(login(f, "mdo.law", PW, "10.0.0.4", t + 900 * SEC, NULL), PV_OK);

	/* unknown usernames are throttled the same way */
	assert_int_equal(login(f, "ghost", "x", "10.0.1.1", T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "ghost", "x", "10.0.1.2", T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "ghost", "x", "10.0.1.3", T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "Ghost", "x", "10.0.1.4", T0 + 1, &retry), PV_ELIMIT);
	assert_true(retry > 0);
}

static void test_user_window(void **state)
{
	fx *f = *state;
	char id[STORE_ID_MAX];

	make_admin(f, id);
	/* failures further apart than the window do not add up */
	assert_int_equal(login(f, "mdo.law", "wrong password 1", IP1, T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", "wrong password 2", IP1, T0 + 1, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", "wrong password 3", IP1, T0 + 900 * SEC, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", "wrong password 4", IP1, T0 + 900 * SEC + 1, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", PW, IP1, T0 + 900 * SEC + 2, NULL), PV_OK);
}

static void test_success_clears(void **state)
{
	fx *f = *state;
	char id[STORE_ID_MAX];
	int64_t retry;

	make_admin(f, id);
	assert_int_equal(login(f, "mdo.law", "wrong password 1", IP1, T0, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", "wrong password 2", IP1, T0 + 1, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", PW, IP2, T0 + 2, NULL), PV_OK);
	/* the count starts again: two more failures do not lock */
	assert_int_equal(login(f, "mdo.law", "wrong password 3", IP2, T0 + 3, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", "wrong password 4", IP2, T0 + 4, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", PW, "10.0.0.3", T0 + 5, NULL), PV_OK);
	/* three do */
	assert_int_equal(login(f, "mdo.law", "wrong password 5", "10.0.0.3", T0 + 6, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", "wrong password 6", "10.0.0.3", T0 + 7, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", "wrong password 7", "10.0.0.3", T0 + 8, NULL), PV_EDENIED);
	assert_int_equal(login(f, "mdo.law", PW, "10.0.0.4", T0 + 9, &retry), PV_ELIMIT);
	assert_int_equal(retry, 900);
}

static void test_ip_throttle(void **state)
{
	fx *f = *state;
	char id[STORE_ID_MAX], user[24];
	int64_t retry, t = T0;
	int i;

	make_admin(f, id);
	/* five failures from one address, each for another username */
	for (i = 0; i < 5; i++) {
		snprintf(user, sizeof user, "guess%d", i);
		assert_int_equal(login(f, user, "wrong password", IP1, t++, NULL), PV_EDENIED);
	}
	/* the address is refused, even for the right pair, until its window
	 * (from its first attempt) ends */
	assert_int_equal(login(f, "mdo.law", PW, IP1, t, &retry), PV_ELIMIT);
	assert_int_equal(retry, 900);
	assert_int_equal(login(f, "guess9", "wrong password", IP1, t, &retry), PV_ELIMIT);
	/* another address is not */
	assert_int_equal(login(f, "mdo.law", PW, IP2, t, NULL), PV_OK);
	assert_int_equal(login(f, "mdo.law", PW, IP1, T0 + 900 * SEC - 1, &retry), PV_ELIMIT);
	assert_int_equal(retry, 1);
	assert_int_equal(login(f, "mdo.law", PW, IP1, T0 + 900 * SEC, NULL), PV_OK);
	/* a success gives its attempt back: an address may log in often */
	for (i = 0; i < 20; i++)
		assert_int_equal(login(f, "mdo.law", PW, IP2, t + 1 + i, NULL), PV_OK);
}

/* One address alone can never lock an administrator out: it is refused
 * long before the username's lock. */
static void test_one_address_cannot_lock(void **state)
{
	fx *f = *state;
	char id[STORE_ID_MAX];
	int64_t t = T0;
	int i, refused = 0;

	acct_policy_default(&f->pol);
	f->pol.key = &f->key;
	make_admin(f, id);
	for (i = 0; i < 200; i++)
		refused += login(f, "mdo.law", "wrong password", IP1, t++, NULL) == PV_ELIMIT;
	assert_int_equal(refused, 200 - f->pol.ip_fails);
	/* the owner, from another address, still gets in */
	assert_int_equal(login(f, "mdo.law", PW, IP2, t, NULL), PV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_create),
		T(test_field_errors),
		T(test_password_length),
		T(test_conflicts),
		T(test_login),
		T(test_login_inactive),
		T(test_user_throttle),
		T(test_user_window),
		T(test_success_clears),
		T(test_ip_throttle),
		T(test_one_address_cannot_lock),
#undef T
	};

	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
