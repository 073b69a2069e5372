#include "core/otp.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

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
	p->per_ip_hour = 30;
	p->fail_lock = 100;
	p->fail_lock_s = 3600;
	p->verify_ttl_s = 900;
}

int otp_purpose_valid(const char *purpose)
{
	return purpose && (strcmp(purpose, OTP_PURPOSE_REGISTER) == 0 ||
			   strcmp(purpose, OTP_PURPOSE_REQUEST) == 0 ||
			   strcmp(purpose, OTP_PURPOSE_LOGIN) == 0);
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

static void otp_lock_key(const char *mobile, char *key, size_t cap)
{
	snprintf(key, cap, "login-fail:%s", mobile);
}

/* Sets res for a number locked by failed logins; returns 1 when locked. */
static int otp_number_locked(const otp_svc *svc, const char *mobile,
			     int64_t now, otp_result *res)
{
	store_throttle t;
	char key[64];

	otp_lock_key(mobile, key, sizeof key);
	if (svc->st->ops->throttle_get(svc->st, key, &t) != PV_OK)
		return 0;
	if (t.locked_until > now) {
		res->status = OTP_NUMBER_LOCKED;
		res->retry_after_s = otp_ceil_s(t.locked_until - now);
		return 1;
	}
	return 0;
}

static int otp_issue_tx(const otp_svc *svc, const char *mobile,
			const char *purpose, const char *ip, int deliver,
			const char *lang, int64_t now, char *code_out,
			otp_result *res)
{
	store *s = svc->st;
	const otp_policy *p = &svc->pol;
	store_otp last, o;
	int64_t n;
	char code[7], params[128];
	int rc;

	if (strcmp(purpose, OTP_PURPOSE_LOGIN) == 0 &&
	    otp_number_locked(svc, mobile, now, res))
		return PV_OK;
	/* the resend window: one code per number and purpose per resend_s */
	rc = s->ops->otp_last(s, mobile, purpose, &last);
	if (rc == PV_OK && last.created_at + p->resend_s * 1000LL > now) {
		res->status = OTP_RATE_LIMITED;
		res->retry_after_s = otp_ceil_s(last.created_at + p->resend_s * 1000LL - now);
		return PV_OK;
	}
	if (rc != PV_OK && rc != PV_ENOTFOUND)
		return rc;
	/* hourly and daily windows per number, hourly per address */
	if ((rc = s->ops->otp_count_mobile(s, mobile, now - OTP_HOUR_MS + 1, p->per_hour, &n)) != PV_OK)
		return rc;
	if (n >= p->per_hour) {
		res->status = OTP_RATE_LIMITED;
		res->retry_after_s = 60;
		return PV_OK;
	}
	if ((rc = s->ops->otp_count_mobile(s, mobile, now - OTP_DAY_MS + 1, p->per_day, &n)) != PV_OK)
		return rc;
	if (n >= p->per_day) {
		res->status = OTP_RATE_LIMITED;
		res->retry_after_s = 3600;
		return PV_OK;
	}
	if ((rc = s->ops->otp_count_ip(s, ip, now - OTP_HOUR_MS + 1, p->per_ip_hour, &n)) != PV_OK)
		return rc;
	if (n >= p->per_ip_hour) {
		res->status = OTP_RATE_LIMITED;
		res->retry_after_s = 60;
		return PV_OK;
	}
	snprintf(code, sizeof code, "%06u", (unsigned)randombytes_uniform(1000000));
	memset(&o, 0, sizeof o);
	util_strlcpy(o.mobile, mobile, sizeof o.mobile);
	util_strlcpy(o.purpose, purpose, sizeof o.purpose);
	util_strlcpy(o.client_ip, ip, sizeof o.client_ip);
	otp_mac(svc, mobile, purpose, code, o.code_mac);
	o.created_at = now;
	o.expires_at = now + p->ttl_s * 1000LL;
	o.state = STORE_OTP_LIVE;
	if ((rc = s->ops->otp_insert(s, &o)) != PV_OK)
		goto out;
	if (deliver) {
		snprintf(params, sizeof params,
			 "{\"code\":\"%s\",\"minutes\":%d,\"purpose\":\"%s\"}", code,
			 (p->ttl_s + 59) / 60, purpose);
		rc = notify_enqueue(s, NOTIFY_CHANNEL_SMS, mobile, "otp_sms",
				    lang ? lang : "en", params, NULL);
		sodium_memzero(params, sizeof params);
		if (rc != PV_OK)
			goto out;
	}
	if (code_out)
		memcpy(code_out, code, sizeof code);
	res->status = OTP_OK;
	res->expires_in_s = p->ttl_s;
	res->resend_in_s = p->resend_s;
out:
	sodium_memzero(code, sizeof code);
	return rc;
}

int otp_issue(const otp_svc *svc, const char *mobile, const char *purpose,
	      const char *ip, int deliver, const char *lang, int64_t now,
	      char *code_out, otp_result *res)
{
	store *s = svc->st;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = s->ops->tx_begin(s)) != PV_OK)
		return rc;
	rc = otp_issue_tx(svc, mobile, purpose, ip, deliver, lang, now, code_out, res);
	if (rc == PV_OK)
		rc = s->ops->tx_commit(s);
	if (rc != PV_OK)
		s->ops->tx_rollback(s);
	else
		otp_count(res->status == OTP_OK ? &otp_stats.sent : &otp_stats.rate_limited);
	return rc;
}

/* Counts a failed login for the number; locks it at the limit. */
static int otp_login_failed(const otp_svc *svc, const char *mobile, int64_t now)
{
	store_throttle t;
	int rc;

	memset(&t, 0, sizeof t);
	otp_lock_key(mobile, t.key, sizeof t.key);
	rc = svc->st->ops->throttle_get(svc->st, t.key, &t);
	if (rc == PV_ENOTFOUND) {
		otp_lock_key(mobile, t.key, sizeof t.key);
		t.count = 0;
		t.window_start = now;
		t.locked_until = 0;
	} else if (rc != PV_OK) {
		return rc;
	}
	if (t.locked_until && t.locked_until <= now) {
		t.count = 0; /* a lock served starts a new count */
		t.locked_until = 0;
	}
	t.count++;
	if (t.count >= svc->pol.fail_lock) {
		t.locked_until = now + svc->pol.fail_lock_s * 1000LL;
		log_kv(LOG_WARN, "mobile locked after consecutive failed logins", NULL);
	}
	return svc->st->ops->throttle_put(svc->st, &t);
}

static int otp_check_body(const otp_svc *svc, const char *mobile,
			  const char *purpose, const char *code, int64_t now,
			  otp_result *res)
{
	store *s = svc->st;
	int login = strcmp(purpose, OTP_PURPOSE_LOGIN) == 0;
	unsigned char mac[STORE_HASH_LEN];
	store_otp o;
	char key[64];
	int rc, wellformed = strlen(code) == 6 && strspn(code, "0123456789") == 6;

	if (login && otp_number_locked(svc, mobile, now, res))
		return PV_OK;
	rc = s->ops->otp_last(s, mobile, purpose, &o);
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
		rc = s->ops->otp_update(s, o.id, o.attempts, STORE_OTP_USED);
		if (rc == PV_ECONFLICT) { /* another check used it first */
			res->status = OTP_INVALID;
			goto failed;
		}
		if (rc != PV_OK)
			return rc;
		if (login) {
			otp_lock_key(mobile, key, sizeof key);
			if ((rc = s->ops->throttle_del(s, key)) != PV_OK && rc != PV_ENOTFOUND)
				return rc;
		}
		res->status = OTP_OK;
		return PV_OK;
	}
	o.attempts++;
	res->attempts_left = svc->pol.max_tries - o.attempts;
	if (res->attempts_left <= 0) {
		res->attempts_left = 0;
		res->status = OTP_LOCKED;
	} else {
		res->status = OTP_INVALID;
	}
	rc = s->ops->otp_update(s, o.id, o.attempts,
				res->status == OTP_LOCKED ? STORE_OTP_DEAD : STORE_OTP_LIVE);
	if (rc != PV_OK && rc != PV_ECONFLICT)
		return rc;
failed:
	return login ? otp_login_failed(svc, mobile, now) : PV_OK;
}

int otp_check_tx(const otp_svc *svc, const char *mobile, const char *purpose,
		 const char *code, int64_t now, otp_result *res)
{
	int rc;

	memset(res, 0, sizeof *res);
	rc = otp_check_body(svc, mobile, purpose, code, now, res);
	if (rc == PV_OK)
		otp_count(res->status == OTP_OK ? &otp_stats.verified : &otp_stats.failed);
	return rc;
}

int otp_check(const otp_svc *svc, const char *mobile, const char *purpose,
	      const char *code, int64_t now, otp_result *res)
{
	store *s = svc->st;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = s->ops->tx_begin(s)) != PV_OK)
		return rc;
	rc = otp_check_tx(svc, mobile, purpose, code, now, res);
	if (rc == PV_OK)
		rc = s->ops->tx_commit(s);
	if (rc != PV_OK)
		s->ops->tx_rollback(s);
	return rc;
}

int otp_token_issue(const otp_svc *svc, const char *mobile,
		    const char *purpose, int64_t now, char token[OTP_TOKEN_LEN])
{
	store_token t;
	int rc;

	memset(&t, 0, sizeof t);
	if ((rc = util_random_b64url(32, token, OTP_TOKEN_LEN)) != PV_OK)
		return rc;
	keys_mac(svc->k, "verify", token, strlen(token), t.hash);
	util_strlcpy(t.kind, "verify", sizeof t.kind);
	snprintf(t.subject, sizeof t.subject, "%s:%s", purpose, mobile);
	t.created_at = now;
	t.expires_at = now + svc->pol.verify_ttl_s * 1000LL;
	return svc->st->ops->token_insert(svc->st, &t);
}

int otp_token_consume(const otp_svc *svc, const char *token,
		      const char *mobile, const char *purpose, int64_t now)
{
	unsigned char h[STORE_HASH_LEN];
	store_token t;
	char want[STORE_ID_MAX + STORE_EMAIL_MAX];
	int rc;

	if (!token || !*token || strlen(token) >= OTP_TOKEN_LEN)
		return PV_ENOTFOUND;
	keys_mac(svc->k, "verify", token, strlen(token), h);
	rc = svc->st->ops->token_consume(svc->st, "verify", h, now, &t);
	if (rc != PV_OK)
		return rc;
	snprintf(want, sizeof want, "%s:%s", purpose, mobile);
	return strcmp(t.subject, want) == 0 ? PV_OK : PV_ENOTFOUND;
}
