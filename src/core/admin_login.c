#include "core/admin_login.h"

#include <sodium.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define ADM_TOKEN_KIND "admin2fa"

/* 1 when the user holds an administrator role. */
static int adm_is_admin(store *s, const char *user_id)
{
	store_role roles[ACCT_ROLES_MAX];
	size_t n = 0;

	if (store_role_list(s, user_id, roles, ACCT_ROLES_MAX, &n) != PV_OK)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(roles[i].role, ACCT_ROLE_SPV) == 0 ||
		    strcmp(roles[i].role, ACCT_ROLE_MDO) == 0)
			return 1;
	return 0;
}

/* The session starts now, after the password check (argon2id takes its
 * time, longer on a loaded machine), not when the request came in. */
static int adm_session(const adm_svc *svc, const char *ip, int64_t now, adm_result *res)
{
	int64_t t = svc->clock ? svc->clock() : util_now_ms();

	res->status = ADM_SESSION;
	return sess_create(svc->sess, res->user.id, t > now ? t : now, 1, ip, res->token, res->csrf);
}

int adm_password(const adm_svc *svc, const char *username, const char *password,
		 const char *ip, const char *lang, int64_t now, adm_result *res)
{
	store_token t;
	otp_result o;
	size_t n;
	int rc;

	memset(res, 0, sizeof *res);
	rc = acct_password_login(svc->st, svc->acct, username, password, ip, now, &res->user,
				 &res->retry_after_s);
	if (rc == PV_ELIMIT || rc == PV_EDENIED) {
		res->status = rc == PV_ELIMIT ? ADM_LIMITED : ADM_DENIED;
		return PV_OK;
	}
	if (rc != PV_OK)
		return rc;
	if (!svc->second_factor)
		return adm_session(svc, ip, now, res);
	rc = otp_issue(svc->otp, res->user.mobile, OTP_PURPOSE_ADMIN, ip, OTP_SEND_CODE, lang, now,
		       NULL, &o);
	if (rc != PV_OK)
		return rc;
	if (o.status != OTP_OK) {
		res->status = ADM_LIMITED;
		res->retry_after_s = o.retry_after_s;
		return PV_OK;
	}
	memset(&t, 0, sizeof t);
	if ((rc = util_random_b64url(32, res->challenge, sizeof res->challenge)) != PV_OK)
		return rc;
	keys_mac(svc->k, ADM_TOKEN_KIND, res->challenge, strlen(res->challenge), t.hash);
	util_strlcpy(t.kind, ADM_TOKEN_KIND, sizeof t.kind);
	util_strlcpy(t.subject, res->user.id, sizeof t.subject);
	t.created_at = now;
	t.expires_at = now + svc->otp->pol.ttl_s * 1000LL;
	if ((rc = store_token_insert(svc->st, &t)) != PV_OK)
		return rc;
	n = strlen(res->user.mobile);
	snprintf(res->mobile_hint, sizeof res->mobile_hint, "******%s",
		 n >= 4 ? res->user.mobile + n - 4 : "");
	res->expires_in_s = svc->otp->pol.ttl_s;
	res->status = ADM_CHALLENGE;
	return PV_OK;
}

/* Ends a challenge for good (the next login starts with the password). */
static void adm_end(const adm_svc *svc, const unsigned char h[STORE_HASH_LEN], int64_t now,
		    adm_result *res)
{
	store_token t;

	store_token_consume(svc->st, ADM_TOKEN_KIND, h, now, &t);
	res->status = ADM_RESTART;
	res->attempts_left = 0;
}

int adm_second_factor(const adm_svc *svc, const char *challenge, const char *code,
		      const char *ip, int64_t now, adm_result *res)
{
	unsigned char h[STORE_HASH_LEN];
	store_token t;
	otp_result o;
	int rc;

	memset(res, 0, sizeof *res);
	if (!challenge || !*challenge || strlen(challenge) >= OTP_TOKEN_LEN) {
		res->status = ADM_RESTART;
		return PV_OK;
	}
	keys_mac(svc->k, ADM_TOKEN_KIND, challenge, strlen(challenge), h);
	rc = store_token_get(svc->st, ADM_TOKEN_KIND, h, now, &t);
	if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED) {
		res->status = ADM_RESTART;
		return PV_OK;
	}
	if (rc != PV_OK || (rc = store_user_get(svc->st, t.subject, &res->user)) != PV_OK)
		return rc;
	rc = otp_check(svc->otp, res->user.mobile, OTP_PURPOSE_ADMIN, code ? code : "", ip, now,
		       &o);
	if (rc != PV_OK)
		return rc;
	switch (o.status) {
	case OTP_OK:
		break;
	case OTP_RATE_LIMITED:
		res->status = ADM_LIMITED;
		res->retry_after_s = o.retry_after_s;
		return PV_OK;
	case OTP_INVALID:
		if (o.attempts_left > 0) {
			res->status = ADM_CODE_WRONG;
			res->attempts_left = o.attempts_left;
			return PV_OK;
		}
		/* no code is live any more */
		adm_end(svc, h, now, res);
		return PV_OK;
	default: /* dead (third wrong try) or expired */
		adm_end(svc, h, now, res);
		return PV_OK;
	}
	/* the code was right: the challenge is spent, once */
	rc = store_token_consume(svc->st, ADM_TOKEN_KIND, h, now, &t);
	if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED) {
		res->status = ADM_RESTART;
		return PV_OK;
	}
	if (rc != PV_OK)
		return rc;
	if (strcmp(res->user.status, STORE_USER_ACTIVE) != 0 || !adm_is_admin(svc->st, res->user.id)) {
		log_kv(LOG_WARN, "second factor for a user no longer an active administrator",
		       "user_id", res->user.id, NULL);
		res->status = ADM_DENIED;
		return PV_OK;
	}
	return adm_session(svc, ip, now, res);
}
