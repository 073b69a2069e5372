/* test_sessions.c: session tokens, the idle and absolute limits, the
 * last_seen write rate, revocation and CSRF, with an injected clock,
 * against the SQLite store on a fresh temporary file per test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/keys.h"
#include "core/otp.h"
#include "core/sessions.h"
#include "store/store.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define T0 1700000000000LL
#define SEC 1000LL
#define IDLE_S 1800
#define ABS_S 43200

#define KEY_HEX "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff"

typedef struct fx {
	char dir[64], path[128];
	store *st;
	keys k;
	sess_svc svc;
	store_user u;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	store_org org;

	if (!f)
		return -1;
	if (tmpstore_open(f->dir, sizeof f->dir, f->path, sizeof f->path, &f->st) != 0)
		return -1;
	if (keys_load(NULL, KEY_HEX, &f->k) != PV_OK)
		return -1;
	memset(&org, 0, sizeof org);
	util_strlcpy(org.id, "org1", sizeof org.id);
	util_strlcpy(org.name, "Ministry of Testing", sizeof org.name);
	util_strlcpy(org.sector, "center", sizeof org.sector);
	util_strlcpy(org.type, "ministry", sizeof org.type);
	org.active = 1;
	org.created_at = org.updated_at = T0;
	if (store_org_upsert(f->st, &org) != PV_OK)
		return -1;
	util_uuid(f->u.id);
	util_strlcpy(f->u.first_name, "Asha", sizeof f->u.first_name);
	util_strlcpy(f->u.last_name, "Rao", sizeof f->u.last_name);
	util_strlcpy(f->u.email, "asha@example.org", sizeof f->u.email);
	util_strlcpy(f->u.mobile, "9876543210", sizeof f->u.mobile);
	util_strlcpy(f->u.org_id, "org1", sizeof f->u.org_id);
	util_strlcpy(f->u.status, STORE_USER_ACTIVE, sizeof f->u.status);
	util_strlcpy(f->u.source, "admin", sizeof f->u.source);
	f->u.created_at = f->u.updated_at = T0;
	if (store_user_insert(f->st, &f->u, NULL) != PV_OK)
		return -1;
	f->svc.st = f->st;
	f->svc.k = &f->k;
	f->svc.idle_s = IDLE_S;
	f->svc.absolute_s = ABS_S;
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

static int resolve(fx *f, const char *token, int64_t now, store_session *se)
{
	store_session tmp;
	store_user u;
	int rc = sess_resolve(&f->svc, token, now, se ? se : &tmp, &u);

	if (rc == PV_OK) {
		assert_string_equal(u.id, f->u.id);
		assert_string_equal(u.status, STORE_USER_ACTIVE);
		assert_string_equal((se ? se : &tmp)->user_id, f->u.id);
	}
	return rc;
}

static void test_create_resolve(void **state)
{
	fx *f = *state;
	char tok[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN], tok2[OTP_TOKEN_LEN], csrf2[OTP_TOKEN_LEN];
	char longer[OTP_TOKEN_LEN + 2], shorter[OTP_TOKEN_LEN];
	store_session se;
	store_user u;

	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, tok, csrf), PV_OK);
	assert_int_equal(strlen(tok), OTP_TOKEN_LEN - 1);
	assert_int_equal(strlen(csrf), OTP_TOKEN_LEN - 1);
	assert_string_not_equal(tok, csrf);
	assert_int_equal(resolve(f, tok, T0 + 1, &se), PV_OK);
	assert_int_equal(se.created_at, T0);
	assert_int_equal(se.last_seen, T0);
	assert_int_equal(se.expires_at, T0 + ABS_S * SEC);
	assert_int_equal(se.revoked, 0);
	/* a new token at every login */
	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, tok2, csrf2), PV_OK);
	assert_string_not_equal(tok, tok2);
	assert_string_not_equal(csrf, csrf2);
	assert_int_equal(resolve(f, tok2, T0 + 1, NULL), PV_OK);
	/* the CSRF token is no session token */
	assert_int_equal(resolve(f, csrf, T0 + 1, NULL), PV_ENOTFOUND);
	/* unknown and malformed tokens */
	assert_int_equal(sess_resolve(&f->svc, NULL, T0, &se, &u), PV_ENOTFOUND);
	assert_int_equal(resolve(f, "", T0, NULL), PV_ENOTFOUND);
	assert_int_equal(resolve(f, "AAAA", T0, NULL), PV_ENOTFOUND);
	snprintf(longer, sizeof longer, "%sA", tok);
	assert_int_equal(resolve(f, longer, T0, NULL), PV_ENOTFOUND);
	memcpy(shorter, tok, OTP_TOKEN_LEN - 2);
	shorter[OTP_TOKEN_LEN - 2] = '\0';
	assert_int_equal(resolve(f, shorter, T0, NULL), PV_ENOTFOUND);
	/* a session for an unknown user cannot be made */
	assert_int_not_equal(sess_create(&f->svc, "no-such-user", T0, 0, NULL, tok, csrf), PV_OK);
}

/* A new session records the login on the user. */
static void test_create_records_login(void **state)
{
	fx *f = *state;
	char a[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
	store_user u;

	assert_int_equal(store_user_get(f->st, f->u.id, &u), PV_OK);
	assert_true(u.last_login_at == 0);
	assert_int_equal(sess_create(&f->svc, f->u.id, T0 + 42 * SEC, 0, NULL, a, csrf), PV_OK);
	assert_int_equal(store_user_get(f->st, f->u.id, &u), PV_OK);
	assert_true(u.last_login_at == T0 + 42 * SEC);
}

static void test_idle_timeout(void **state)
{
	fx *f = *state;
	char a[OTP_TOKEN_LEN], b[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
	int64_t t;

	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, a, csrf), PV_OK);
	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, b, csrf), PV_OK);
	/* a: idle exactly the limit: expired, and revoked for good */
	assert_int_equal(resolve(f, a, T0 + IDLE_S * SEC, NULL), PV_EEXPIRED);
	assert_int_equal(resolve(f, a, T0 + 1, NULL), PV_ENOTFOUND);
	assert_int_equal(resolve(f, a, T0 + IDLE_S * SEC, NULL), PV_ENOTFOUND);
	/* b: one ms short of the limit, fine; the activity moves the limit */
	t = T0 + IDLE_S * SEC - 1;
	assert_int_equal(resolve(f, b, t, NULL), PV_OK);
	assert_int_equal(resolve(f, b, t + IDLE_S * SEC - 1, NULL), PV_OK);
	t += IDLE_S * SEC - 1;
	assert_int_equal(resolve(f, b, t + IDLE_S * SEC, NULL), PV_EEXPIRED);
	assert_int_equal(resolve(f, b, t + 1, NULL), PV_ENOTFOUND);
}

static void test_absolute_timeout(void **state)
{
	fx *f = *state;
	char tok[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
	int64_t t;

	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, tok, csrf), PV_OK);
	/* active every 20 minutes: never idle, yet the absolute limit holds */
	for (t = T0 + 1200 * SEC; t < T0 + ABS_S * SEC; t += 1200 * SEC)
		assert_int_equal(resolve(f, tok, t, NULL), PV_OK);
	assert_int_equal(resolve(f, tok, T0 + ABS_S * SEC - 1, NULL), PV_OK);
	assert_int_equal(resolve(f, tok, T0 + ABS_S * SEC, NULL), PV_EEXPIRED);
	assert_int_equal(resolve(f, tok, T0 + ABS_S * SEC - 1, NULL), PV_ENOTFOUND);
}

static void test_touch_rate(void **state)
{
	fx *f = *state;
	char tok[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
	store_session se;

	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, tok, csrf), PV_OK);
	/* se is the row as read, before this call's own touch */
	assert_int_equal(resolve(f, tok, T0 + 10 * SEC, &se), PV_OK);
	assert_int_equal(se.last_seen, T0);
	assert_int_equal(resolve(f, tok, T0 + SESS_TOUCH_MS - 1, &se), PV_OK);
	assert_int_equal(se.last_seen, T0); /* no write before SESS_TOUCH_MS */
	assert_int_equal(resolve(f, tok, T0 + SESS_TOUCH_MS, &se), PV_OK);
	assert_int_equal(se.last_seen, T0);
	assert_int_equal(resolve(f, tok, T0 + SESS_TOUCH_MS + 1, &se), PV_OK);
	assert_int_equal(se.last_seen, T0 + SESS_TOUCH_MS); /* written */
	assert_int_equal(resolve(f, tok, T0 + 2 * SESS_TOUCH_MS - 1, &se), PV_OK);
	assert_int_equal(se.last_seen, T0 + SESS_TOUCH_MS);
	assert_int_equal(resolve(f, tok, T0 + 2 * SESS_TOUCH_MS, &se), PV_OK);
	assert_int_equal(resolve(f, tok, T0 + 2 * SESS_TOUCH_MS, &se), PV_OK);
	assert_int_equal(se.last_seen, T0 + 2 * SESS_TOUCH_MS);
	/* the idle limit runs from the last write */
	assert_int_equal(resolve(f, tok, T0 + 2 * SESS_TOUCH_MS + IDLE_S * SEC - 1, NULL), PV_OK);
}

static void test_revoke(void **state)
{
	fx *f = *state;
	char a[OTP_TOKEN_LEN], b[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];

	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, a, csrf), PV_OK);
	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, b, csrf), PV_OK);
	assert_int_equal(sess_revoke(&f->svc, a), PV_OK);
	assert_int_equal(resolve(f, a, T0 + 1, NULL), PV_ENOTFOUND);
	assert_int_equal(sess_revoke(&f->svc, a), PV_OK); /* twice is fine */
	/* the user's other session lives on */
	assert_int_equal(resolve(f, b, T0 + 1, NULL), PV_OK);
	/* unknown and malformed tokens are fine */
	assert_int_equal(sess_revoke(&f->svc, csrf), PV_OK);
	assert_int_equal(sess_revoke(&f->svc, "AAAA"), PV_OK);
	assert_int_equal(sess_revoke(&f->svc, ""), PV_OK);
	assert_int_equal(sess_revoke(&f->svc, NULL), PV_OK);
	assert_int_equal(resolve(f, b, T0 + 2, NULL), PV_OK);
}

static void test_csrf(void **state)
{
	fx *f = *state;
	char a[OTP_TOKEN_LEN], ca[OTP_TOKEN_LEN], b[OTP_TOKEN_LEN], cb[OTP_TOKEN_LEN];
	char longer[OTP_TOKEN_LEN + 2], shorter[OTP_TOKEN_LEN], flipped[OTP_TOKEN_LEN];
	char huge[4096];
	store_session sa, sb;

	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, a, ca), PV_OK);
	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, b, cb), PV_OK);
	assert_int_equal(resolve(f, a, T0, &sa), PV_OK);
	assert_int_equal(resolve(f, b, T0, &sb), PV_OK);
	assert_true(sess_csrf_ok(&f->svc, &sa, ca));
	assert_true(sess_csrf_ok(&f->svc, &sb, cb));
	/* another session's, the session token, altered, cut, extended */
	assert_false(sess_csrf_ok(&f->svc, &sa, cb));
	assert_false(sess_csrf_ok(&f->svc, &sb, ca));
	assert_false(sess_csrf_ok(&f->svc, &sa, a));
	memcpy(flipped, ca, sizeof flipped);
	flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
	assert_false(sess_csrf_ok(&f->svc, &sa, flipped));
	memcpy(shorter, ca, OTP_TOKEN_LEN - 2);
	shorter[OTP_TOKEN_LEN - 2] = '\0';
	assert_false(sess_csrf_ok(&f->svc, &sa, shorter));
	snprintf(longer, sizeof longer, "%sA", ca);
	assert_false(sess_csrf_ok(&f->svc, &sa, longer));
	memset(huge, 'A', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	memcpy(huge, ca, strlen(ca));
	assert_false(sess_csrf_ok(&f->svc, &sa, huge));
	/* empty and missing */
	assert_false(sess_csrf_ok(&f->svc, &sa, ""));
	assert_false(sess_csrf_ok(&f->svc, &sa, NULL));
}

static void test_inactive_user(void **state)
{
	fx *f = *state;
	store *s = f->st;
	char a[OTP_TOKEN_LEN], b[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
	store_session se;
	store_user u;

	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, a, csrf), PV_OK);
	assert_int_equal(sess_create(&f->svc, f->u.id, T0, 0, NULL, b, csrf), PV_OK);
	assert_int_equal(resolve(f, a, T0 + 1, NULL), PV_OK);
	assert_int_equal(store_user_set_status(s, f->u.id, STORE_USER_INACTIVE, T0 + 2), PV_OK);
	assert_int_equal(sess_resolve(&f->svc, a, T0 + 3, &se, &u), PV_EDENIED);
	assert_int_equal(sess_resolve(&f->svc, b, T0 + 3, &se, &u), PV_EDENIED);
	/* the refusal revoked the session: reactivation does not revive it */
	assert_int_equal(store_user_set_status(s, f->u.id, STORE_USER_ACTIVE, T0 + 4), PV_OK);
	assert_int_equal(resolve(f, a, T0 + 5, NULL), PV_ENOTFOUND);
	/* pending activation is not active either */
	assert_int_equal(sess_create(&f->svc, f->u.id, T0 + 6, 0, NULL, a, csrf), PV_OK);
	assert_int_equal(resolve(f, a, T0 + 7, NULL), PV_OK);
	assert_int_equal(store_user_set_status(s, f->u.id, STORE_USER_PENDING, T0 + 8), PV_OK);
	assert_int_equal(sess_resolve(&f->svc, a, T0 + 9, &se, &u), PV_EDENIED);
}

/* A login with wrong codes says how many tries the code has left, the
 * same for a registered and an unknown number; the last wrong try kills
 * the code (SESS_LOGIN_CODE_DEAD, a new code needed); no code at all has
 * no tries to tell. */
static void test_login_attempts_left(void **state)
{
	fx *f = *state;
	otp_svc otp;
	otp_result r;
	sess_login_result res;
	char code[7];
	const char *numbers[2] = {"9876543210", "9123456780"}; /* registered, unknown */

	memset(&otp, 0, sizeof otp);
	otp.st = f->st;
	otp.k = &f->k;
	otp_policy_default(&otp.pol);
	for (int i = 0; i < 2; i++) {
		const char *m = numbers[i];
		const char *wrong;

		assert_int_equal(sess_login_otp(&f->svc, &otp, m, "123456", "10.0.0.1", T0, &res), PV_OK);
		assert_int_equal(res.status, SESS_LOGIN_FAILED);
		assert_int_equal(res.attempts_left, 0); /* no code was sent */
		assert_int_equal(otp_issue(&otp, m, OTP_PURPOSE_LOGIN, "10.0.0.1", i == 0 ? OTP_SEND_CODE : OTP_SEND_NOTHING, "en", T0,
					   code, &r), PV_OK);
		assert_int_equal(r.status, OTP_OK);
		wrong = strcmp(code, "000000") ? "000000" : "111111";
		assert_int_equal(sess_login_otp(&f->svc, &otp, m, wrong, "10.0.0.1", T0 + SEC, &res), PV_OK);
		assert_int_equal(res.status, SESS_LOGIN_FAILED);
		assert_int_equal(res.attempts_left, 2);
		assert_int_equal(sess_login_otp(&f->svc, &otp, m, wrong, "10.0.0.1", T0 + 2 * SEC, &res), PV_OK);
		assert_int_equal(res.status, SESS_LOGIN_FAILED);
		assert_int_equal(res.attempts_left, 1);
		assert_int_equal(sess_login_otp(&f->svc, &otp, m, wrong, "10.0.0.1", T0 + 3 * SEC, &res), PV_OK);
		assert_int_equal(res.status, SESS_LOGIN_CODE_DEAD);
		assert_int_equal(res.retry_after_s, otp.pol.resend_s);
		/* dead even for the right code */
		assert_int_equal(sess_login_otp(&f->svc, &otp, m, code, "10.0.0.1", T0 + 4 * SEC, &res), PV_OK);
		assert_int_equal(res.status, SESS_LOGIN_CODE_DEAD);
	}
}

/* A closed account: its sessions answer no more, and neither single
 * sign-on (by its proven official e-mail) nor the session's address
 * outlives it. */
static void test_closed_user(void **state)
{
	fx *f = *state;
	store *s = f->st;
	char a[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
	store_session se;
	store_user u;
	sess_sso_result r;

	util_strlcpy(f->u.email, "asha@example.gov.in", sizeof f->u.email);
	assert_int_equal(store_user_set_email(s, f->u.id, f->u.email, 1, 1, T0), PV_OK);
	assert_int_equal(sess_login_sso(&f->svc, "ASHA@example.gov.in", "192.0.2.5", T0 + 1, &r), PV_OK);
	assert_int_equal(r.status, SESS_SSO_OK);
	assert_int_equal(sess_resolve(&f->svc, r.token, T0 + 2, &se, &u), PV_OK);
	assert_string_equal(se.client_ip, "192.0.2.5");
	assert_int_equal(sess_create(&f->svc, f->u.id, T0 + 3, 0, "192.0.2.6", a, csrf), PV_OK);
	assert_int_equal(store_user_close(s, f->u.id, T0 + 1000, T0 + 4), PV_OK);
	assert_int_equal(sess_resolve(&f->svc, a, T0 + 5, &se, &u), PV_EDENIED);
	assert_int_equal(sess_login_sso(&f->svc, "asha@example.gov.in", "192.0.2.5", T0 + 6, &r), PV_OK);
	assert_int_equal(r.status, SESS_SSO_NOT_REGISTERED);
}

/* Outside a transaction (an administrator's password login without the
 * second factor, single sign-on), a login whose last_login_at cannot be
 * written stores no session either: store_session_login is one unit. The
 * failure is made by a trigger put on the database beside the store. */
static long sessions_in(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions", -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_create_atomic(void **state)
{
	fx *f = *state;
	char a[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TRIGGER no_login BEFORE UPDATE OF last_login_at ON users"
				      " BEGIN SELECT RAISE(ABORT, 'no login'); END",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_not_equal(sess_create(&f->svc, f->u.id, T0 + SEC, 0, NULL, a, csrf), PV_OK);
	assert_int_equal(sessions_in(f->path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_create_resolve),
		T(test_create_records_login),
		T(test_create_atomic),
		T(test_idle_timeout),
		T(test_absolute_timeout),
		T(test_touch_rate),
		T(test_revoke),
		T(test_csrf),
		T(test_inactive_user),
		T(test_login_attempts_left),
		T(test_closed_user),
#undef T
	};

	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
