/* test_otp.c: every OTP rule with an injected clock, against the SQLite
 * store on a fresh temporary file per test. */
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

#include "core/keys.h"
#include "core/otp.h"
#include "store/store.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define T0 1700000000000LL
#define SEC 1000LL
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

#define M1 "9876543210"
#define M2 "9876543211"
#define IP1 "10.0.0.1"
#define IP2 "10.0.0.2"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

typedef struct fx {
	char dir[64], path[128];
	store *st;
	keys k;
	otp_svc svc;
} fx;

/* A small policy keeps the lock tests short. */
static void small_policy(otp_policy *p)
{
	otp_policy_default(p);
	p->fail_lock = 5;
	p->fail_lock_s = 600;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	if (tmpstore_open(f->dir, sizeof f->dir, f->path, sizeof f->path, &f->st) != 0)
		return -1;
	if (keys_load(NULL, KEY_HEX, &f->k) != PV_OK)
		return -1;
	f->svc.st = f->st;
	f->svc.k = &f->k;
	small_policy(&f->svc.pol);
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

/* Issues a code that must be granted; returns it in code. */
static void issue_ok(fx *f, const char *mobile, const char *purpose,
		     const char *ip, int64_t now, char code[7])
{
	otp_result r;

	assert_int_equal(otp_issue(&f->svc, mobile, purpose, ip, OTP_SEND_NOTHING, "en", now, code, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(strlen(code), 6);
	assert_int_equal(strspn(code, "0123456789"), 6);
}

/* An issue that must be refused; returns its status and retry_after. */
static enum otp_status issue_refused(fx *f, const char *mobile,
				     const char *purpose, const char *ip,
				     int64_t now, int64_t *retry)
{
	otp_result r;
	char code[7] = "";

	assert_int_equal(otp_issue(&f->svc, mobile, purpose, ip, OTP_SEND_NOTHING, "en", now, code, &r), PV_OK);
	assert_int_not_equal(r.status, OTP_OK);
	assert_string_equal(code, ""); /* no code comes out of a refusal */
	if (retry)
		*retry = r.retry_after_s;
	return r.status;
}

static otp_result check(fx *f, const char *mobile, const char *purpose,
			const char *code, int64_t now)
{
	otp_result r;

	assert_int_equal(otp_check(&f->svc, mobile, purpose, code, "10.9.9.9", now, &r), PV_OK);
	return r;
}

/* A well-formed code that is surely not `code`. */
static void wrong_of(const char *code, char out[7])
{
	char tmp[24];

	snprintf(tmp, sizeof tmp, "%06ld", (strtol(code, NULL, 10) + 1) % 1000000);
	memcpy(out, tmp, 7);
}

static void test_purpose_valid(void **state)
{
	(void)state;
	assert_true(otp_purpose_valid("register"));
	assert_true(otp_purpose_valid("request"));
	assert_true(otp_purpose_valid("login"));
	assert_false(otp_purpose_valid("Login"));
	assert_false(otp_purpose_valid(""));
	assert_false(otp_purpose_valid(NULL));
	assert_false(otp_purpose_valid("registerx"));
	assert_true(otp_purpose_valid("change_mobile"));
	assert_true(otp_purpose_valid("erasure"));
	assert_true(otp_purpose_needs_user("change_mobile"));
	assert_true(otp_purpose_needs_user("erasure"));
	assert_false(otp_purpose_needs_user("register"));
	assert_false(otp_purpose_needs_user("login"));
	assert_false(otp_purpose_needs_user(NULL));
}

static void test_issue_and_single_use(void **state)
{
	fx *f = *state;
	otp_result r;
	char code[7];

	assert_int_equal(otp_issue(&f->svc, M1, "register", IP1, OTP_SEND_NOTHING, "en", T0, code, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(r.expires_in_s, 300);
	assert_int_equal(r.resend_in_s, 30);
	r = check(f, M1, "register", code, T0 + 5 * SEC);
	assert_int_equal(r.status, OTP_OK);
	/* used up: the same right code fails at once */
	r = check(f, M1, "register", code, T0 + 6 * SEC);
	assert_int_equal(r.status, OTP_INVALID);
	assert_int_equal(r.attempts_left, 0);
	/* no code at all for another number */
	r = check(f, M2, "register", code, T0 + 6 * SEC);
	assert_int_equal(r.status, OTP_INVALID);
}

static void test_expiry(void **state)
{
	fx *f = *state;
	otp_result r;
	char a[7], b[7];
	int64_t t1 = T0 + 400 * SEC;

	issue_ok(f, M1, "register", IP1, T0, a);
	r = check(f, M1, "register", a, T0 + 300 * SEC); /* exactly ttl */
	assert_int_equal(r.status, OTP_EXPIRED);
	r = check(f, M1, "register", a, T0 + 301 * SEC);
	assert_int_equal(r.status, OTP_EXPIRED);

	issue_ok(f, M1, "register", IP1, t1, b);
	r = check(f, M1, "register", b, t1 + 300 * SEC - 1); /* ttl - 1 ms */
	assert_int_equal(r.status, OTP_OK);
}

static void test_three_wrong_tries(void **state)
{
	fx *f = *state;
	otp_result r;
	char code[7], wrong[7];

	issue_ok(f, M1, "register", IP1, T0, code);
	wrong_of(code, wrong);
	r = check(f, M1, "register", wrong, T0 + 1);
	assert_int_equal(r.status, OTP_INVALID);
	assert_int_equal(r.attempts_left, 2);
	r = check(f, M1, "register", "12ab56", T0 + 2); /* malformed counts too */
	assert_int_equal(r.status, OTP_INVALID);
	assert_int_equal(r.attempts_left, 1);
	r = check(f, M1, "register", wrong, T0 + 3);
	assert_int_equal(r.status, OTP_LOCKED);
	assert_int_equal(r.attempts_left, 0);
	/* the code is dead: even the right one fails */
	r = check(f, M1, "register", code, T0 + 4);
	assert_int_equal(r.status, OTP_LOCKED);
	/* a new code after the resend window works */
	issue_ok(f, M1, "register", IP1, T0 + 30 * SEC, code);
	r = check(f, M1, "register", code, T0 + 31 * SEC);
	assert_int_equal(r.status, OTP_OK);
}

static void test_malformed_codes(void **state)
{
	fx *f = *state;
	static const char *const bad[] = {"", "12345", "1234567", "abcdef", " 12345"};
	otp_result r;
	char code[7];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		issue_ok(f, M1, "request", IP1, T0 + (int64_t)i * 30 * SEC, code);
		r = check(f, M1, "request", bad[i], T0 + (int64_t)i * 30 * SEC + 1);
		assert_int_equal(r.status, OTP_INVALID);
		assert_int_equal(r.attempts_left, 2);
		/* a code followed by more characters is not the code */
		if (i == 0) {
			char longer[8];
			snprintf(longer, sizeof longer, "%s0", code);
			r = check(f, M1, "request", longer, T0 + 2);
			assert_int_equal(r.status, OTP_INVALID);
			assert_int_equal(r.attempts_left, 1);
		}
	}
}

static void test_new_code_kills_old(void **state)
{
	fx *f = *state;
	otp_result r;
	char a[7], b[7];
	int64_t t = T0;
	int i;

	issue_ok(f, M1, "register", IP1, t, a);
	/* codes are random: in the one-in-a-million case that the new code
	 * equals the old, ask again */
	for (i = 0; i < 3; i++) {
		t += 30 * SEC;
		issue_ok(f, M1, "register", IP1, t, b);
		if (strcmp(a, b) != 0)
			break;
	}
	assert_string_not_equal(a, b);
	r = check(f, M1, "register", a, t + 1);
	assert_int_equal(r.status, OTP_INVALID);
	r = check(f, M1, "register", b, t + 2);
	assert_int_equal(r.status, OTP_OK);
	r = check(f, M1, "register", a, t + 3);
	assert_int_equal(r.status, OTP_INVALID);
}

static void test_resend_window(void **state)
{
	fx *f = *state;
	otp_result r;
	char code[7];
	int64_t retry;

	issue_ok(f, M1, "register", IP1, T0, code);
	assert_int_equal(issue_refused(f, M1, "register", IP1, T0 + 1, &retry), OTP_RATE_LIMITED);
	assert_int_equal(retry, 30);
	assert_int_equal(issue_refused(f, M1, "register", IP1, T0 + 10 * SEC, &retry), OTP_RATE_LIMITED);
	assert_int_equal(retry, 20);
	assert_int_equal(issue_refused(f, M1, "register", IP1, T0 + 29 * SEC, &retry), OTP_RATE_LIMITED);
	assert_int_equal(retry, 1);
	assert_int_equal(issue_refused(f, M1, "register", IP1, T0 + 30 * SEC - 1, &retry), OTP_RATE_LIMITED);
	assert_int_equal(retry, 1);
	/* the refusals did not replace the live code */
	r = check(f, M1, "register", code, T0 + 30 * SEC - 1);
	assert_int_equal(r.status, OTP_OK);
	issue_ok(f, M1, "register", IP1, T0 + 30 * SEC, code);
	/* the window is per number, purpose and address: one address cannot
	 * keep a number's owner waiting */
	issue_ok(f, M1, "login", IP1, T0 + 30 * SEC, code);
	issue_ok(f, M2, "register", IP1, T0 + 30 * SEC, code);
	issue_ok(f, M1, "register", IP2, T0 + 31 * SEC, code);
}

/* Windows are fixed: they start with the first code and end an hour (a
 * day) later, when the count starts again. */
static void test_hourly_window(void **state)
{
	fx *f = *state;
	char code[7];
	int64_t retry;
	int i;

	/* per_hour counts codes of every purpose */
	for (i = 0; i < 5; i++)
		issue_ok(f, M1, i % 2 ? "login" : "register", IP1, T0 + i * 30 * SEC, code);
	assert_int_equal(issue_refused(f, M1, "request", IP1, T0 + 150 * SEC, &retry), OTP_RATE_LIMITED);
	/* the wait is until the window ends */
	assert_true(retry == (HOUR - 150 * SEC) / SEC);
	assert_int_equal(issue_refused(f, M1, "register", IP1, T0 + HOUR - 1, &retry), OTP_RATE_LIMITED);
	assert_true(retry == 1);
	/* refusals were not counted: a new window has room for five again */
	for (i = 0; i < 5; i++)
		issue_ok(f, M1, "register", IP1, T0 + HOUR + i * 30 * SEC, code);
	assert_int_equal(issue_refused(f, M1, "request", IP1, T0 + HOUR + 150 * SEC, NULL),
			 OTP_RATE_LIMITED);
	/* other numbers are not affected */
	issue_ok(f, M2, "register", IP1, T0 + 150 * SEC, code);
}

static void test_daily_window(void **state)
{
	fx *f = *state;
	char code[7];
	int64_t retry;
	int i;

	f->svc.pol.per_day = 7;
	for (i = 0; i < 5; i++)
		issue_ok(f, M1, "register", IP1, T0 + i * 30 * SEC, code);
	for (i = 0; i < 2; i++)
		issue_ok(f, M1, "register", IP1, T0 + HOUR + i * 30 * SEC, code);
	/* the hour has room, the day has not */
	assert_int_equal(issue_refused(f, M1, "register", IP1, T0 + 2 * HOUR, &retry), OTP_RATE_LIMITED);
	assert_true(retry == (DAY - 2 * HOUR) / SEC);
	assert_int_equal(issue_refused(f, M1, "login", IP1, T0 + DAY - 1, NULL), OTP_RATE_LIMITED);
	issue_ok(f, M1, "login", IP1, T0 + DAY, code);
	issue_ok(f, M1, "register", IP1, T0 + DAY + 30 * SEC, code);
}

static void test_ip_window(void **state)
{
	fx *f = *state;
	char code[7], mobile[11];
	int64_t retry;
	int i;

	f->svc.pol.per_ip_hour = 4;
	for (i = 0; i < 4; i++) {
		snprintf(mobile, sizeof mobile, "98000000%02u", (unsigned)i % 100);
		issue_ok(f, mobile, "register", IP1, T0 + i * SEC, code);
	}
	assert_int_equal(issue_refused(f, "9800000099", "register", IP1, T0 + 10 * SEC, &retry), OTP_RATE_LIMITED);
	assert_true(retry > 0);
	issue_ok(f, "9800000099", "register", IP2, T0 + 11 * SEC, code);
	assert_int_equal(issue_refused(f, "9800000098", "login", IP1, T0 + HOUR - 1, NULL), OTP_RATE_LIMITED);
	/* the window of IP1 ends */
	issue_ok(f, "9800000098", "login", IP1, T0 + HOUR, code);
	for (i = 0; i < 3; i++) {
		snprintf(mobile, sizeof mobile, "98000001%02u", (unsigned)i % 100);
		issue_ok(f, mobile, "login", IP1, T0 + HOUR + 1 + i, code);
	}
	assert_int_equal(issue_refused(f, "9800000097", "login", IP1, T0 + HOUR + 10, NULL), OTP_RATE_LIMITED);
}

/* n failed logins for M1 from time t, one ms apart, with a wrong code;
 * none may be refused by the number lock. Returns the next time. */
static int64_t fail_logins(fx *f, int n, int64_t t, const char *wrong)
{
	otp_result r;
	int i;

	for (i = 0; i < n; i++) {
		r = check(f, M1, "login", wrong, t++);
		assert_int_not_equal(r.status, OTP_NUMBER_LOCKED);
		assert_int_not_equal(r.status, OTP_OK);
	}
	return t;
}

static void test_fail_lock(void **state)
{
	fx *f = *state;
	otp_result r;
	char code[7], wrong[7];
	int64_t t, locked_at, retry;

	/* failures of other purposes do not count towards the login lock */
	t = T0;
	issue_ok(f, M1, "register", IP1, t, code);
	for (int i = 0; i < 8; i++)
		check(f, M1, "register", "000000", t + i);

	/* fail_lock failures lock the number */
	t = fail_logins(f, 5, T0 + 10 * SEC, "000000"); /* no login code */
	locked_at = t - 1;
	r = check(f, M1, "login", "000000", t);
	assert_int_equal(r.status, OTP_NUMBER_LOCKED);
	assert_int_equal(r.retry_after_s, 600);
	assert_int_equal(issue_refused(f, M1, "login", IP1, t + 100 * SEC, &retry), OTP_NUMBER_LOCKED);
	assert_int_equal(retry, 500);
	/* not other numbers */
	issue_ok(f, M2, "login", IP1, t, code);
	r = check(f, M2, "login", code, t + 1);
	assert_int_equal(r.status, OTP_OK);
	/* at the last ms of the lock, still locked; even a right code is not
	 * looked at (none can be issued) */
	r = check(f, M1, "login", "123456", locked_at + 600 * SEC - 1);
	assert_int_equal(r.status, OTP_NUMBER_LOCKED);
	assert_int_equal(r.retry_after_s, 1);

	/* the lock served: the count restarts */
	t = locked_at + 600 * SEC;
	issue_ok(f, M1, "login", IP1, t, code);
	wrong_of(code, wrong);
	t = fail_logins(f, 4, t + 1, wrong);
	r = check(f, M1, "login", code, t++); /* the code took 3 wrong tries */
	assert_int_equal(r.status, OTP_LOCKED);
	r = check(f, M1, "login", code, t);
	assert_int_equal(r.status, OTP_NUMBER_LOCKED);
}

static void test_fail_lock_reset_by_success(void **state)
{
	fx *f = *state;
	otp_result r;
	char code[7];
	int64_t t;

	t = fail_logins(f, 4, T0, "000000");
	issue_ok(f, M1, "login", IP1, t, code);
	r = check(f, M1, "login", code, t + 1);
	assert_int_equal(r.status, OTP_OK);
	/* the count starts again from zero: four more, then the fifth locks */
	t = fail_logins(f, 5, t + 2, "000000"); /* the code is used */
	r = check(f, M1, "login", "000000", t);
	assert_int_equal(r.status, OTP_NUMBER_LOCKED);
}

static void test_purpose_binding(void **state)
{
	fx *f = *state;
	otp_result r;
	char reg[7], login[7];

	issue_ok(f, M1, "register", IP1, T0, reg);
	r = check(f, M1, "login", reg, T0 + 1);
	assert_int_equal(r.status, OTP_INVALID);
	r = check(f, M1, "request", reg, T0 + 2);
	assert_int_equal(r.status, OTP_INVALID);
	/* a login code alongside: each verifies only its own purpose */
	issue_ok(f, M1, "login", IP1, T0 + 3, login);
	if (strcmp(reg, login) != 0) {
		r = check(f, M1, "register", login, T0 + 4);
		assert_int_equal(r.status, OTP_INVALID);
		assert_int_equal(r.attempts_left, 2);
	}
	r = check(f, M1, "register", reg, T0 + 5);
	assert_int_equal(r.status, OTP_OK);
	r = check(f, M1, "login", login, T0 + 6);
	assert_int_equal(r.status, OTP_OK);
}

static void test_deliver(void **state)
{
	fx *f = *state;
	store *s = f->st;
	otp_result r;
	store_outbox m;
	char code[7], want[64];
	int64_t queued, failed;

	assert_int_equal(otp_issue(&f->svc, M1, "login", IP1, OTP_SEND_NOTHING, "hi", T0, code, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(store_outbox_stats(s, &queued, &failed), PV_OK);
	assert_int_equal(queued, 0);
	/* the undelivered challenge still counts: same answer and limits */
	assert_int_equal(issue_refused(f, M1, "login", IP1, T0 + 1, NULL), OTP_RATE_LIMITED);

	assert_int_equal(otp_issue(&f->svc, M2, "register", IP1, OTP_SEND_CODE, "hi", T0, code, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(store_outbox_stats(s, &queued, &failed), PV_OK);
	assert_int_equal(queued, 1);
	assert_int_equal(failed, 0);
	assert_int_equal(store_outbox_claim(s, "test", util_now_ms() + DAY, 1000, &m), PV_OK);
	assert_string_equal(m.channel, "sms");
	assert_string_equal(m.to_addr, M2);
	assert_string_equal(m.template_name, "otp_sms");
	assert_string_equal(m.lang, "hi");
	snprintf(want, sizeof want, "\"code\":\"%s\"", code);
	assert_non_null(strstr(m.params, want));
	assert_non_null(strstr(m.params, "\"minutes\":5"));
	assert_non_null(strstr(m.params, "\"purpose\":\"register\""));

	/* no language: English */
	assert_int_equal(otp_issue(&f->svc, M2, "request", IP1, OTP_SEND_CODE, NULL, T0, code, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(store_outbox_claim(s, "test", util_now_ms() + DAY, 1000, &m), PV_OK);
	assert_string_equal(m.lang, "en");
	/* a refused issue writes no row */
	assert_int_equal(otp_issue(&f->svc, M2, "request", IP1, OTP_SEND_CODE, "en", T0 + 1, code, &r), PV_OK);
	assert_int_equal(r.status, OTP_RATE_LIMITED);
	assert_int_equal(store_outbox_claim(s, "test", util_now_ms() + DAY, 1000, &m), PV_ENOTFOUND);
}

static void test_tokens(void **state)
{
	fx *f = *state;
	char tok[OTP_TOKEN_LEN], tok2[OTP_TOKEN_LEN], longer[OTP_TOKEN_LEN + 2];

	assert_int_equal(otp_token_issue(&f->svc, M1, "register", NULL, T0, tok), PV_OK);
	assert_int_equal(strlen(tok), OTP_TOKEN_LEN - 1);
	assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
			 OTP_TOKEN_LEN - 1);
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "register", NULL, T0 + 1), PV_OK);
	/* single use */
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "register", NULL, T0 + 2), PV_ENOTFOUND);

	/* for another number: refused and burned */
	assert_int_equal(otp_token_issue(&f->svc, M1, "register", NULL, T0, tok), PV_OK);
	assert_int_equal(otp_token_consume(&f->svc, tok, M2, "register", NULL, T0 + 1), PV_ENOTFOUND);
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "register", NULL, T0 + 2), PV_ENOTFOUND);
	/* for another purpose: the same */
	assert_int_equal(otp_token_issue(&f->svc, M1, "request", NULL, T0, tok), PV_OK);
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "register", NULL, T0 + 1), PV_ENOTFOUND);
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "request", NULL, T0 + 2), PV_ENOTFOUND);

	/* expiry: verify_ttl_s */
	assert_int_equal(otp_token_issue(&f->svc, M1, "register", NULL, T0, tok), PV_OK);
	assert_int_equal(otp_token_issue(&f->svc, M1, "register", NULL, T0, tok2), PV_OK);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "register", NULL, T0 + 900 * SEC), PV_EEXPIRED);
	assert_int_equal(otp_token_consume(&f->svc, tok2, M1, "register", NULL, T0 + 900 * SEC - 1), PV_OK);

	/* unknown and malformed tokens */
	assert_int_equal(otp_token_consume(&f->svc, NULL, M1, "register", NULL, T0), PV_ENOTFOUND);
	assert_int_equal(otp_token_consume(&f->svc, "", M1, "register", NULL, T0), PV_ENOTFOUND);
	assert_int_equal(otp_token_consume(&f->svc, "abc", M1, "register", NULL, T0), PV_ENOTFOUND);
	assert_int_equal(otp_token_issue(&f->svc, M1, "register", NULL, T0, tok), PV_OK);
	snprintf(longer, sizeof longer, "%sA", tok);
	assert_int_equal(otp_token_consume(&f->svc, longer, M1, "register", NULL, T0 + 1), PV_ENOTFOUND);
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "register", NULL, T0 + 1), PV_OK);
}

/* A user's tokens: bound to the holder, and the store never holds the
 * number in clear. */
static void test_tokens_holder(void **state)
{
	fx *f = *state;
	char tok[OTP_TOKEN_LEN];
	store_token t;
	unsigned char h[STORE_HASH_LEN];

	assert_int_equal(otp_token_issue(&f->svc, M1, "change_mobile", "user-a", T0, tok), PV_OK);
	keys_mac(&f->k, "verify", tok, strlen(tok), h);
	assert_int_equal(store_token_get(f->st, "verify", h, T0 + 1, &t), PV_OK);
	assert_null(strstr(t.subject, M1));
	assert_null(strstr(t.subject, "user-a"));
	/* another holder, or none: refused (and burned) */
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "change_mobile", "user-b", T0 + 1),
			 PV_ENOTFOUND);
	assert_int_equal(otp_token_issue(&f->svc, M1, "change_mobile", "user-a", T0, tok), PV_OK);
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "change_mobile", NULL, T0 + 1),
			 PV_ENOTFOUND);
	assert_int_equal(otp_token_issue(&f->svc, M1, "change_mobile", "user-a", T0, tok), PV_OK);
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "erasure", "user-a", T0 + 1),
			 PV_ENOTFOUND);
	assert_int_equal(otp_token_issue(&f->svc, M1, "erasure", "user-a", T0, tok), PV_OK);
	assert_int_equal(otp_token_consume(&f->svc, tok, M1, "erasure", "user-a", T0 + 1), PV_OK);
}

/* What otp_request sends for a user's purposes. */
static void test_request_user_purposes(void **state)
{
	fx *f = *state;
	store *s = f->st;
	store_user who, owner;
	store_org org;
	store_outbox m;
	otp_result r;

	memset(&org, 0, sizeof org);
	snprintf(org.id, sizeof org.id, "o1");
	snprintf(org.name, sizeof org.name, "Org");
	org.active = 1;
	assert_int_equal(store_org_upsert(s, &org), PV_OK);
	memset(&who, 0, sizeof who);
	snprintf(who.id, sizeof who.id, "user-a");
	snprintf(who.first_name, sizeof who.first_name, "A");
	snprintf(who.email, sizeof who.email, "a@example.org");
	snprintf(who.mobile, sizeof who.mobile, M1);
	snprintf(who.org_id, sizeof who.org_id, "o1");
	snprintf(who.status, sizeof who.status, STORE_USER_ACTIVE);
	snprintf(who.source, sizeof who.source, "self");
	assert_int_equal(store_user_insert(s, &who, NULL), PV_OK);
	owner = who;
	snprintf(owner.id, sizeof owner.id, "user-b");
	snprintf(owner.email, sizeof owner.email, "b@example.org");
	snprintf(owner.mobile, sizeof owner.mobile, M2);
	assert_int_equal(store_user_insert(s, &owner, NULL), PV_OK);

	/* without the user: refused */
	assert_int_equal(otp_request(&f->svc, M2, "erasure", NULL, IP1, "en", T0, &r), PV_EINVAL);
	assert_int_equal(otp_request(&f->svc, "9000000001", "change_mobile", NULL, IP1, "en", T0, &r),
			 PV_EINVAL);
	/* erasure: a code to the user's own number only, the same answer */
	assert_int_equal(otp_request(&f->svc, M2, "erasure", &who, IP1, "en", T0, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(store_outbox_claim(s, "t", util_now_ms() + DAY, 1000, &m), PV_ENOTFOUND);
	assert_int_equal(otp_request(&f->svc, M1, "erasure", &who, IP1, "en", T0, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(store_outbox_claim(s, "t", util_now_ms() + DAY, 1000, &m), PV_OK);
	assert_string_equal(m.to_addr, M1);
	assert_string_equal(m.template_name, "otp_sms");
	/* change_mobile: a code to a free number, the notice to a taken one */
	assert_int_equal(otp_request(&f->svc, "9000000001", "change_mobile", &who, IP1, "en", T0, &r),
			 PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(store_outbox_claim(s, "t", util_now_ms() + DAY, 1000, &m), PV_OK);
	assert_string_equal(m.to_addr, "9000000001");
	assert_string_equal(m.template_name, "otp_sms");
	assert_int_equal(otp_request(&f->svc, M2, "change_mobile", &who, IP1, "en", T0, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(store_outbox_claim(s, "t", util_now_ms() + DAY, 1000, &m), PV_OK);
	assert_string_equal(m.to_addr, M2);
	assert_string_equal(m.template_name, "mobile_taken_sms");
	assert_null(strstr(m.params, "code"));
}

static void test_counters(void **state)
{
	fx *f = *state;
	otp_counters a, b;
	otp_result r;
	char code[7];

	otp_counters_get(&a);
	issue_ok(f, M1, "login", IP1, T0, code);
	issue_refused(f, M1, "login", IP1, T0 + 1, NULL);
	r = check(f, M1, "login", "000000", T0 + 2);
	if (strcmp(code, "000000") == 0)
		assert_int_equal(r.status, OTP_OK);
	else
		assert_int_equal(r.status, OTP_INVALID);
	r = check(f, M1, "login", code, T0 + 3);
	otp_counters_get(&b);
	assert_int_equal(b.sent - a.sent, 1);
	assert_int_equal(b.rate_limited - a.rate_limited, 1);
	assert_int_equal(b.verified - a.verified, 1);
	assert_int_equal(b.failed - a.failed, 1);
}

/* The default policy: the numbers of the SOP. */
static void test_defaults(void **state)
{
	fx *f = *state;
	otp_policy p;
	otp_result r;
	char code[7], wrong[7], mobile[11];
	int64_t t, retry;
	int i;

	otp_policy_default(&p);
	assert_int_equal(p.ttl_s, 300);
	assert_int_equal(p.resend_s, 30);
	assert_int_equal(p.max_tries, 3);
	assert_int_equal(p.per_hour, 5);
	assert_int_equal(p.per_day, 20);
	assert_int_equal(p.per_ip_hour, 30);
	assert_int_equal(p.number_per_hour, 20);
	assert_int_equal(p.number_per_day, 60);
	assert_int_equal(p.fail_per_ip_hour, 30);
	assert_int_equal(p.verify_taken, 3);
	assert_int_equal(p.fail_lock, 100);
	assert_int_equal(p.fail_lock_s, 3600);
	assert_int_equal(p.verify_ttl_s, 900);
	f->svc.pol = p;

	/* 3 tries, then dead */
	issue_ok(f, M1, "login", IP1, T0, code);
	wrong_of(code, wrong);
	for (i = 2; i >= 0; i--) {
		r = check(f, M1, "login", wrong, T0 + 1);
		assert_int_equal(r.status, i ? OTP_INVALID : OTP_LOCKED);
		assert_int_equal(r.attempts_left, i);
	}
	/* 5 codes an hour for a number (one is issued already) */
	for (i = 1; i < 5; i++)
		issue_ok(f, M1, "login", IP1, T0 + i * 30 * SEC, code);
	assert_int_equal(issue_refused(f, M1, "login", IP1, T0 + 5 * 30 * SEC, &retry), OTP_RATE_LIMITED);
	/* 20 a day from one address */
	for (t = T0, i = 0; i < 20; i++, t += (i % 5) ? 30 * SEC : HOUR)
		issue_ok(f, M1, "login", IP2, t, code);
	assert_int_equal(issue_refused(f, M1, "login", IP2, T0 + 5 * HOUR, NULL), OTP_RATE_LIMITED);
	issue_ok(f, M1, "login", IP2, T0 + DAY, code);
	/* 30 an hour for an address (IP1 has 5 from the first hour) */
	for (i = 0; i < 25; i++) {
		snprintf(mobile, sizeof mobile, "97000000%02u", (unsigned)i % 100);
		issue_ok(f, mobile, "register", IP1, T0 + 200 * SEC + i, code);
	}
	assert_int_equal(issue_refused(f, "9700000099", "register", IP1, T0 + 300 * SEC, NULL), OTP_RATE_LIMITED);
	/* 100 failed logins lock a number for an hour; 99 do not (the
	 * per-address limit, tested on its own, is lifted here) */
	f->svc.pol.fail_per_ip_hour = 100000;
	t = T0 + 2 * DAY;
	for (i = 0; i < 99; i++) {
		r = check(f, M2, "login", "000000", t + i);
		assert_int_equal(r.status, OTP_INVALID);
	}
	issue_ok(f, M2, "login", IP2, t + 99, code);
	r = check(f, M2, "login", code, t + 100);
	assert_int_equal(r.status, OTP_OK);
	for (i = 0; i < 100; i++) {
		r = check(f, M2, "login", "000000", t + 200 + i);
		assert_int_equal(r.status, OTP_INVALID);
	}
	r = check(f, M2, "login", "000000", t + 300);
	assert_int_equal(r.status, OTP_NUMBER_LOCKED);
	assert_int_equal(r.retry_after_s, 3600);
	r = check(f, M2, "login", "000000", t + 299 + HOUR);
	assert_int_equal(r.status, OTP_INVALID);
}

/* Wrong codes are counted per address first: one address is stopped long
 * before a number's lock, and a right code is not counted (but refused
 * from an address at its limit, and then not used up). */
static void test_fail_per_address(void **state)
{
	fx *f = *state;
	otp_result r;
	char code[7];
	int i;

	f->svc.pol.fail_per_ip_hour = 4;
	f->svc.pol.fail_lock = 6;
	for (i = 0; i < 4; i++) {
		assert_int_equal(otp_check(&f->svc, M1, "login", "000000", IP1, T0 + i, &r), PV_OK);
		assert_int_equal(r.status, OTP_INVALID);
	}
	assert_int_equal(otp_check(&f->svc, M1, "login", "000000", IP1, T0 + 10, &r), PV_OK);
	assert_int_equal(r.status, OTP_RATE_LIMITED);
	assert_true(r.retry_after_s > 3000);
	issue_ok(f, M2, "login", IP2, T0 + 11, code);
	assert_int_equal(otp_check(&f->svc, M2, "login", code, IP1, T0 + 12, &r), PV_OK);
	assert_int_equal(r.status, OTP_RATE_LIMITED);
	assert_true(r.retry_after_s > 3000);
	assert_int_equal(otp_check(&f->svc, M2, "login", code, "192.0.2.200", T0 + 13, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	/* the number is not locked: its owner, elsewhere, logs in */
	issue_ok(f, M1, "login", IP2, T0 + 20, code);
	assert_int_equal(otp_check(&f->svc, M1, "login", code, IP2, T0 + 21, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	/* a right code was not counted: IP2 still has four */
	for (i = 0; i < 4; i++) {
		assert_int_equal(otp_check(&f->svc, M2, "register", "000000", IP2, T0 + 30 + i, &r), PV_OK);
		assert_int_equal(r.status, OTP_INVALID);
	}
	assert_int_equal(otp_check(&f->svc, M2, "register", "000000", IP2, T0 + 40, &r), PV_OK);
	assert_int_equal(r.status, OTP_RATE_LIMITED);
	/* several addresses still reach the number's own lock */
	for (i = 0; i < 6; i++) {
		char ip[32];

		snprintf(ip, sizeof ip, "192.0.2.%d", i);
		assert_int_equal(otp_check(&f->svc, M1, "login", "000000", ip, T0 + 50 + i, &r), PV_OK);
	}
	assert_int_equal(otp_check(&f->svc, M1, "login", "000000", "192.0.2.99", T0 + 60, &r), PV_OK);
	assert_int_equal(r.status, OTP_NUMBER_LOCKED);
}

/* keys_mac starts from the key's kept HMAC state (keys_load) or keys a
 * fresh one (a key set by hand): both are HMAC-SHA256 of
 * domain || 0x00 || data, for data of any length. */
static void test_keys_mac_kept_state(void **state)
{
	keys loaded, by_hand;
	unsigned char a[STORE_HASH_LEN], b[STORE_HASH_LEN], want[STORE_HASH_LEN];
	unsigned char msg[300];
	size_t n;

	(void)state;
	assert_int_equal(keys_load(NULL, KEY_HEX, &loaded), PV_OK);
	assert_int_equal(loaded.ready, 1);
	memset(&by_hand, 0, sizeof by_hand);
	memcpy(by_hand.k, loaded.k, sizeof by_hand.k);
	for (n = 0; n <= 200; n += 67) {
		memcpy(msg, "session", 7);
		msg[7] = 0;
		for (size_t i = 0; i < n; i++)
			msg[8 + i] = (unsigned char)(i * 7 + 1);
		crypto_auth_hmacsha256(want, msg, 8 + n, loaded.k);
		keys_mac(&loaded, "session", msg + 8, n, a);
		keys_mac(&by_hand, "session", msg + 8, n, b);
		assert_memory_equal(a, want, sizeof want);
		assert_memory_equal(b, want, sizeof want);
		/* the kept state is not consumed: the same answer again */
		keys_mac(&loaded, "session", msg + 8, n, a);
		assert_memory_equal(a, want, sizeof want);
	}
	keys_mac(&loaded, "csrf", msg + 8, 10, a);
	assert_memory_not_equal(a, want, sizeof want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_purpose_valid),
		cmocka_unit_test(test_keys_mac_kept_state),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_issue_and_single_use),
		T(test_fail_per_address),
		T(test_expiry),
		T(test_three_wrong_tries),
		T(test_malformed_codes),
		T(test_new_code_kills_old),
		T(test_resend_window),
		T(test_hourly_window),
		T(test_daily_window),
		T(test_ip_window),
		T(test_fail_lock),
		T(test_fail_lock_reset_by_success),
		T(test_purpose_binding),
		T(test_deliver),
		T(test_tokens),
		T(test_tokens_holder),
		T(test_request_user_purposes),
		T(test_counters),
		T(test_defaults),
#undef T
	};

	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
