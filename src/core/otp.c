#include "core/otp.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "notify/notify.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define OTP_HOUR_MS (3600 * 1000LL)
#define OTP_DAY_MS (24 * OTP_HOUR_MS)

static otp_counters otp_stats;

void otp_counters_get(otp_counters *out)
{
	out->sent = __atomic_load_n(&otp_stats.sent, __ATOMIC_RELAXED);
	out->verified = __atomic_load_n(&otp_stats.verified, __ATOMIC_RELAXED);
	out->failed = __atomic_load_n(&otp_stats.failed, __ATOMIC_RELAXED);
	out->rate_limited = __atomic_load_n(&otp_stats.rate_limited, __ATOMIC_RELAXED);
}

static void otp_count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

void otp_policy_default(otp_policy *p)
{
	p->ttl_s = 300;
	p->resend_s = 30;
	p->max_tries = 3;
	p->per_hour = 5;
	p->per_day = 20;
	p->number_per_hour = 20;
	p->number_per_day = 60;
	p->per_ip_hour = 30;
	p->fail_per_ip_hour = 30;
	p->verify_taken = 3;
	p->fail_lock = 100;
	p->fail_lock_s = 3600;
	p->verify_ttl_s = 900;
}

int otp_purpose_valid(const char *purpose)
{
	return purpose && (strcmp(purpose, OTP_PURPOSE_REGISTER) == 0 ||
			   strcmp(purpose, OTP_PURPOSE_REQUEST) == 0 ||
			   strcmp(purpose, OTP_PURPOSE_LOGIN) == 0 ||
			   otp_purpose_needs_user(purpose));
}

int otp_purpose_needs_user(const char *purpose)
{
	return purpose && (strcmp(purpose, OTP_PURPOSE_CHANGE_MOBILE) == 0 ||
			   strcmp(purpose, OTP_PURPOSE_ERASURE) == 0);
}

int otp_purpose_verifiable(const char *purpose)
{
	return purpose && (strcmp(purpose, OTP_PURPOSE_REGISTER) == 0 ||
			   strcmp(purpose, OTP_PURPOSE_REQUEST) == 0 ||
			   otp_purpose_needs_user(purpose));
}

static void otp_mac(const otp_svc *svc, const char *mobile, const char *purpose,
		    const char *code, unsigned char out[STORE_HASH_LEN])
{
	char msg[64];
	int n = snprintf(msg, sizeof msg, "%s|%s|%s", mobile, purpose, code);

	/* callers pass a 10-digit mobile, a purpose word and a 6-digit code;
	 * anything longer is cut to the buffer rather than read past it */
	if (n < 0 || (size_t)n >= sizeof msg)
		n = (int)sizeof msg - 1;
	keys_mac(svc->k, "otp", msg, (size_t)n, out);
	sodium_memzero(msg, sizeof msg);
}

static int64_t otp_ceil_s(int64_t ms)
{
	return ms <= 0 ? 0 : (ms + 999) / 1000;
}

/* The key of a limit or challenge about value (never the value itself). */
static int otp_key(const otp_svc *svc, const char *kind, const char *value,
		   char out[STORE_KEY_MAX])
{
	return keys_subject(svc->k, kind, value, out);
}

/* From the number's failed logins on record (t; NULL: none), sets res for
 * a number they locked: 1 when locked, else 0. */
static int otp_number_judge(const store_throttle *t, int64_t now, otp_result *res)
{
	if (!t || t->locked_until <= now)
		return 0;
	res->status = OTP_NUMBER_LOCKED;
	res->retry_after_s = otp_ceil_s(t->locked_until - now);
	return 1;
}

/* Sets res for a number locked by failed logins; answers 1 when locked,
 * 0 when not, or a negative store error. *counted (may be NULL) is set to
 * 1 when the number has failed logins on record, else 0. */
static int otp_number_locked(const otp_svc *svc, const char *mobile,
			     int64_t now, otp_result *res, int *counted)
{
	store_throttle t;
	char key[STORE_KEY_MAX];
	int rc;

	if (counted)
		*counted = 0;
	if ((rc = otp_key(svc, "login-fail", mobile, key)) != PV_OK)
		return rc;
	rc = store_throttle_peek(svc->st, key, now, &t);
	if (rc == PV_ENOTFOUND)
		return 0;
	if (rc != PV_OK)
		return rc;
	if (counted)
		*counted = 1;
	return otp_number_judge(&t, now, res);
}

/* Counts one hit of a limit; PV_ELIMIT with res set when it is over. */
static int otp_limit(const otp_svc *svc, const char *kind, const char *value,
		     int64_t window_ms, int limit, int64_t now, otp_result *res)
{
	int rc = lim_hit(svc->st, svc->k, kind, value, window_ms, limit, now,
			 &res->retry_after_s);

	if (rc == PV_ELIMIT)
		res->status = OTP_RATE_LIMITED;
	return rc;
}

struct otp_issue_tx {
	const otp_svc *svc;
	const char *mobile, *purpose, *ip, *lang;
	enum otp_send send;
	int64_t now;
	char code[OTP_CODE_LEN + 1];
	otp_result *res;
};

/* Queues the SMS of a challenge: its code, or the notice. The code is in
 * the outbox only encrypted (notify.h). */
static int otp_deliver(const struct otp_issue_tx *x)
{
	const otp_svc *svc = x->svc;
	const char *lang = x->lang ? x->lang : "en";
	char params[160];
	int rc;

	if (x->send == OTP_SEND_NOTHING)
		return PV_OK;
	if (x->send == OTP_SEND_NOTICE) {
		json_t *p = json_pack("{s:s}", "login_url", svc->login_url ? svc->login_url : "");
		char *j = p ? json_dumps(p, JSON_COMPACT) : NULL;
		const char *tpl = strcmp(x->purpose, OTP_PURPOSE_CHANGE_MOBILE) == 0
					  ? "mobile_taken_sms"
					  : "otp_registered_sms";

		json_decref(p);
		rc = j ? notify_enqueue(svc->st, NOTIFY_CHANNEL_SMS, x->mobile, tpl, lang, j,
					NULL)
		       : PV_ENOMEM;
		free(j);
		return rc;
	}
	/* hand-built: measured hot path, fixed shapes, no user text */
	snprintf(params, sizeof params, "{\"code\":\"%s\",\"minutes\":%d,\"purpose\":\"%s\"}",
		 x->code, (svc->pol.ttl_s + 59) / 60, x->purpose);
	rc = notify_enqueue(svc->st, NOTIFY_CHANNEL_SMS, x->mobile, "otp_sms", lang, params, NULL);
	sodium_memzero(params, sizeof params);
	return rc;
}

/* The limits and the challenge, in one transaction: a refusal (PV_ELIMIT)
 * rolls every count of this request back, so only codes really sent are
 * counted. */
static int otp_issue_tx(store *s, void *ctx)
{
	struct otp_issue_tx *x = ctx;
	const otp_svc *svc = x->svc;
	const otp_policy *p = &svc->pol;
	char pair[STORE_MOBILE_MAX + STORE_IP_MAX + 2], rkey[sizeof pair + STORE_SHORT_MAX + 1];
	otp_result *res = x->res;
	store_otp o;
	int rc;

	memset(res, 0, sizeof *res);
	if (strcmp(x->purpose, OTP_PURPOSE_LOGIN) == 0 &&
	    (rc = otp_number_locked(svc, x->mobile, x->now, res, NULL)) != 0)
		return rc > 0 ? PV_ELIMIT : rc;
	/* the address first; then this address's codes for this number (the
	 * resend window per purpose, hourly, daily); then the number's own
	 * limits, which one address alone cannot reach */
	snprintf(pair, sizeof pair, "%s|%s", x->mobile, x->ip);
	snprintf(rkey, sizeof rkey, "%s|%s", x->purpose, pair);
	if ((rc = otp_limit(svc, "otp-ip", x->ip, OTP_HOUR_MS, p->per_ip_hour, x->now, res)) ||
	    (rc = otp_limit(svc, "otp-resend", rkey, p->resend_s * 1000LL, 1, x->now, res)) ||
	    (rc = otp_limit(svc, "otp-hour", pair, OTP_HOUR_MS, p->per_hour, x->now, res)) ||
	    (rc = otp_limit(svc, "otp-day", pair, OTP_DAY_MS, p->per_day, x->now, res)) ||
	    (rc = otp_limit(svc, "otp-number-hour", x->mobile, OTP_HOUR_MS, p->number_per_hour,
			    x->now, res)) ||
	    (rc = otp_limit(svc, "otp-number-day", x->mobile, OTP_DAY_MS, p->number_per_day,
			    x->now, res)))
		return rc;
	snprintf(x->code, sizeof x->code, "%06u", (unsigned)randombytes_uniform(1000000));
	memset(&o, 0, sizeof o);
	if ((rc = otp_key(svc, "otp", x->mobile, o.subject)) != PV_OK)
		return rc;
	util_strlcpy(o.purpose, x->purpose, sizeof o.purpose);
	otp_mac(svc, x->mobile, x->purpose, x->code, o.code_mac);
	o.created_at = x->now;
	o.expires_at = x->now + p->ttl_s * 1000LL;
	if ((rc = store_otp_insert(s, &o)) != PV_OK ||
	    (rc = otp_deliver(x)) != PV_OK)
		return rc;
	res->status = OTP_OK;
	res->expires_in_s = p->ttl_s;
	res->resend_in_s = p->resend_s;
	return PV_OK;
}

int otp_issue(const otp_svc *svc, const char *mobile, const char *purpose,
	      const char *ip, enum otp_send send, const char *lang, int64_t now,
	      char *code_out, otp_result *res)
{
	struct otp_issue_tx x = {svc, mobile, purpose, ip ? ip : "", lang,
				 send, now, "", res};
	int rc = store_tx(svc->st, otp_issue_tx, &x);

	if (rc == PV_ELIMIT)
		rc = PV_OK; /* res says why */
	if (rc == PV_OK) {
		otp_count(res->status == OTP_OK ? &otp_stats.sent : &otp_stats.rate_limited);
		if (code_out && res->status == OTP_OK)
			memcpy(code_out, x.code, sizeof x.code);
	}
	sodium_memzero(x.code, sizeof x.code);
	return rc;
}

int otp_request(const otp_svc *svc, const char *mobile, const char *purpose,
		const store_user *who, const char *ip, const char *lang,
		int64_t now, otp_result *res)
{
	store_user u;
	enum otp_send send = OTP_SEND_CODE;
	int rc;

	if (otp_purpose_needs_user(purpose) && !who)
		return PV_EINVAL;
	if (strcmp(purpose, OTP_PURPOSE_ERASURE) == 0) {
		/* only ever to the user's own number */
		send = strcmp(mobile, who->mobile) == 0 ? OTP_SEND_CODE : OTP_SEND_NOTHING;
	} else if (strcmp(purpose, OTP_PURPOSE_REQUEST) != 0) {
		rc = store_user_by_mobile(svc->st, mobile, &u);
		if (rc != PV_OK && rc != PV_ENOTFOUND)
			return rc;
		if (strcmp(purpose, OTP_PURPOSE_LOGIN) == 0)
			send = rc == PV_OK ? OTP_SEND_CODE : OTP_SEND_NOTHING;
		else if (rc == PV_OK) /* register, change_mobile: the number is taken */
			send = OTP_SEND_NOTICE;
	}
	return otp_issue(svc, mobile, purpose, ip, send, lang, now, NULL, res);
}

/* Counts a failed login for the number; locks it at the limit. */
static int otp_login_failed(const otp_svc *svc, const char *mobile, int64_t now)
{
	char key[STORE_KEY_MAX];
	store_throttle t;
	int rc;

	if ((rc = otp_key(svc, "login-fail", mobile, key)) != PV_OK)
		return rc;
	rc = store_throttle_hit(svc->st, key, now, svc->pol.fail_lock_s * 1000LL,
				svc->pol.fail_lock, svc->pol.fail_lock_s * 1000LL, &t);
	if (rc == PV_OK && t.locked_until > now && t.count >= svc->pol.fail_lock)
		log_kv(LOG_WARN, "mobile locked after failed logins", NULL);
	return rc;
}

/* Counts a failed check against the address, first of all that a failure
 * writes: PV_ELIMIT, with res set to OTP_RATE_LIMITED, when the address is
 * past its limit (then nothing else of the failure is to be counted). */
static int otp_ip_failed(const otp_svc *svc, const char *ip, int64_t now, otp_result *res)
{
	int64_t retry = 0;
	int rc = lim_hit(svc->st, svc->k, "otp-fail-ip", ip, OTP_HOUR_MS,
			 svc->pol.fail_per_ip_hour, now, &retry);

	if (rc == PV_ELIMIT) {
		res->status = OTP_RATE_LIMITED;
		res->retry_after_s = retry;
		res->attempts_left = 0;
	}
	return rc;
}

/* The address found at its limit (a look at its counter answered
 * PV_ELIMIT): the refusal counted as one more failure, the answer
 * OTP_RATE_LIMITED. */
static int otp_ip_refused(const otp_svc *svc, const char *ip, int64_t now, otp_result *res)
{
	int rc = otp_ip_failed(svc, ip, now, res);

	res->status = OTP_RATE_LIMITED;
	return rc == PV_ELIMIT ? PV_OK : rc;
}

/* The address's failures are counted only for a failure, so that a right
 * code writes nothing shared by the other logins from the same address (on
 * PostgreSQL, a counter written first is a row lock held by every login of
 * that address until its commit: they ran one at a time). A right code
 * looks at the counter again just before it is used, waiting for the
 * failures in flight (a share lock: right codes do not wait for each
 * other), so that it is granted only while the address is under its limit
 * counting every failure ordered before it; a failure is counted (under
 * the row's lock) before anything else of it is written, and one past the
 * limit writes nothing more, as when every check was counted up front.
 * Kept as one piece: the order of the reads and writes on each path is
 * the rule. */
static int otp_check_body(const otp_svc *svc, const char *mobile,
			  const char *purpose, const char *code, const char *ip,
			  int64_t now, otp_result *res)
{
	store *s = svc->st;
	int login = strcmp(purpose, OTP_PURPOSE_LOGIN) == 0;
	unsigned char mac[STORE_HASH_LEN];
	char subject[STORE_KEY_MAX], key[STORE_KEY_MAX];
	store_otp o;
	store_throttle lock;
	int rc, attempts = 0, fails_on_record = 0,
		wellformed = strlen(code) == 6 && strspn(code, "0123456789") == 6;

	/* the address first: one address can never reach a number's lock; an
	 * address at its limit is refused (and the refusal counted). A login
	 * reads the number's failed logins with it (one read of the store). */
	if (login) {
		if ((rc = otp_key(svc, "login-fail", mobile, key)) != PV_OK)
			return rc;
		rc = lim_peek_with(s, svc->k, "otp-fail-ip", ip, OTP_HOUR_MS,
				   svc->pol.fail_per_ip_hour, now, &res->retry_after_s, key,
				   &lock, &fails_on_record);
	} else {
		rc = lim_peek(s, svc->k, "otp-fail-ip", ip, OTP_HOUR_MS,
			      svc->pol.fail_per_ip_hour, now, &res->retry_after_s);
	}
	if (rc == PV_ELIMIT)
		return otp_ip_refused(svc, ip, now, res);
	if (rc != PV_OK)
		return rc;
	if (login && otp_number_judge(fails_on_record ? &lock : NULL, now, res)) {
		rc = otp_ip_failed(svc, ip, now, res); /* a refusal is a failure */
		return rc == PV_ELIMIT ? PV_OK : rc;
	}
	if ((rc = otp_key(svc, "otp", mobile, subject)) != PV_OK)
		return rc;
	rc = store_otp_last(s, subject, purpose, &o);
	if (rc == PV_ENOTFOUND || (rc == PV_OK && o.state == STORE_OTP_USED)) {
		res->status = OTP_INVALID;
		res->attempts_left = 0;
		goto failed;
	}
	if (rc != PV_OK)
		return rc;
	if (o.state == STORE_OTP_DEAD) {
		res->status = o.attempts >= svc->pol.max_tries ? OTP_LOCKED : OTP_INVALID;
		goto failed;
	}
	if (o.expires_at <= now) {
		res->status = OTP_EXPIRED;
		goto failed;
	}
	otp_mac(svc, mobile, purpose, wellformed ? code : "x", mac);
	if (wellformed && sodium_memcmp(mac, o.code_mac, sizeof mac) == 0) {
		/* the address again, after the failures in flight that would
		 * take the last of its limit (the first look did not wait for
		 * them: a burst of guesses, all past it, would each have had
		 * its chance); at the limit the code is refused, not used up */
		rc = lim_peek_share(s, svc->k, "otp-fail-ip", ip, OTP_HOUR_MS,
				    svc->pol.fail_per_ip_hour, now, &res->retry_after_s);
		if (rc == PV_ELIMIT)
			return otp_ip_refused(svc, ip, now, res);
		if (rc != PV_OK)
			return rc;
		rc = store_otp_use(s, o.id);
		if (rc == PV_ECONFLICT) { /* another check used or killed it first */
			res->status = OTP_INVALID;
			goto failed;
		}
		if (rc != PV_OK)
			return rc;
		/* the number's failures are forgotten (none on record a moment
		 * ago: one counted since is as if counted after this login);
		 * key is the number's, made for the first read */
		if (login && fails_on_record && (rc = store_throttle_clear(s, key)) != PV_OK)
			return rc;
		res->status = OTP_OK;
		return PV_OK;
	}
	if ((rc = otp_ip_failed(svc, ip, now, res)) != PV_OK)
		return rc == PV_ELIMIT ? PV_OK : rc;
	rc = store_otp_fail(s, o.id, svc->pol.max_tries, &attempts);
	if (rc == PV_ECONFLICT) { /* used or killed meanwhile */
		res->status = OTP_INVALID;
		goto counted;
	}
	if (rc != PV_OK)
		return rc;
	res->attempts_left = svc->pol.max_tries - attempts;
	if (res->attempts_left <= 0) {
		res->attempts_left = 0;
		res->status = OTP_LOCKED;
	} else {
		res->status = OTP_INVALID;
	}
	goto counted;
failed:
	if ((rc = otp_ip_failed(svc, ip, now, res)) != PV_OK)
		return rc == PV_ELIMIT ? PV_OK : rc;
counted:
	return login ? otp_login_failed(svc, mobile, now) : PV_OK;
}

int otp_check_tx(const otp_svc *svc, const char *mobile, const char *purpose,
		 const char *code, const char *ip, int64_t now, otp_result *res)
{
	int rc;

	memset(res, 0, sizeof *res);
	rc = otp_check_body(svc, mobile, purpose, code, ip ? ip : "", now, res);
	if (rc == PV_OK)
		otp_count(res->status == OTP_OK ? &otp_stats.verified : &otp_stats.failed);
	return rc;
}

struct otp_check_ctx {
	const otp_svc *svc;
	const char *mobile, *purpose, *code, *ip;
	int64_t now;
	otp_result *res;
};

static int otp_check_cb(store *s, void *ctx)
{
	struct otp_check_ctx *x = ctx;

	(void)s;
	return otp_check_tx(x->svc, x->mobile, x->purpose, x->code, x->ip, x->now, x->res);
}

int otp_check(const otp_svc *svc, const char *mobile, const char *purpose,
	      const char *code, const char *ip, int64_t now, otp_result *res)
{
	memset(res, 0, sizeof *res);
	return store_tx(svc->st, otp_check_cb,
			&(struct otp_check_ctx){svc, mobile, purpose, code, ip, now, res});
}

int otp_subject(const otp_svc *svc, const char *mobile, char out[STORE_KEY_MAX])
{
	return otp_key(svc, "otp", mobile, out);
}

/* What a verification token is bound to: a keyed hash of purpose, number
 * and holder, so that the tokens table holds no number. */
static int otp_token_subject(const otp_svc *svc, const char *mobile, const char *purpose,
			     const char *holder, char out[STORE_KEY_MAX])
{
	char bound[STORE_SHORT_MAX + STORE_MOBILE_MAX + STORE_ID_MAX + 4];

	if ((size_t)snprintf(bound, sizeof bound, "%s:%s:%s", purpose, mobile,
			     holder ? holder : "") >= sizeof bound)
		return PV_EINVAL;
	return otp_key(svc, "verify", bound, out);
}

int otp_token_issue(const otp_svc *svc, const char *mobile,
		    const char *purpose, const char *holder, int64_t now,
		    char token[OTP_TOKEN_LEN])
{
	store_token t;
	int rc;

	memset(&t, 0, sizeof t);
	if ((rc = otp_token_subject(svc, mobile, purpose, holder, t.subject)) != PV_OK ||
	    (rc = util_random_b64url(32, token, OTP_TOKEN_LEN)) != PV_OK)
		return rc;
	keys_mac(svc->k, "verify", token, strlen(token), t.hash);
	util_strlcpy(t.kind, "verify", sizeof t.kind);
	t.created_at = now;
	t.expires_at = now + svc->pol.verify_ttl_s * 1000LL;
	return store_token_insert(svc->st, &t);
}

int otp_token_consume(const otp_svc *svc, const char *token,
		      const char *mobile, const char *purpose,
		      const char *holder, int64_t now)
{
	unsigned char h[STORE_HASH_LEN];
	store_token t;
	char want[STORE_KEY_MAX];
	int rc;

	if (!token || !*token || strlen(token) >= OTP_TOKEN_LEN)
		return PV_ENOTFOUND;
	if (otp_token_subject(svc, mobile, purpose, holder, want) != PV_OK)
		return PV_ENOTFOUND;
	keys_mac(svc->k, "verify", token, strlen(token), h);
	rc = store_token_consume(svc->st, "verify", h, now, &t);
	if (rc != PV_OK)
		return rc;
	return strcmp(t.subject, want) == 0 ? PV_OK : PV_ENOTFOUND;
}
