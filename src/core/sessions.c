#include "core/sessions.h"

#include <sodium.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

static int sess_hash(const sess_svc *svc, const char *token,
		     unsigned char h[STORE_HASH_LEN])
{
	size_t n = token ? strlen(token) : 0;

	if (n == 0 || n >= OTP_TOKEN_LEN)
		return PV_ENOTFOUND;
	keys_mac(svc->k, "session", token, n, h);
	return PV_OK;
}

int sess_secrets_make(const sess_svc *svc, sess_secrets *out)
{
	char *const both[2] = {out->token, out->csrf};
	int rc;

	_Static_assert(sizeof out->token == sizeof out->csrf, "one size for both");
	if ((rc = util_random_b64url_many(32, both, 2, sizeof out->token)) != PV_OK)
		return rc;
	sess_hash(svc, out->token, out->hash);
	keys_mac(svc->k, "csrf", out->csrf, strlen(out->csrf), out->csrf_hash);
	return PV_OK;
}

int sess_create_with(const sess_svc *svc, const sess_secrets *sec, const char *user_id,
		     int64_t now, int elevated, const char *ip)
{
	store_session se;

	memset(&se, 0, sizeof se);
	memcpy(se.hash, sec->hash, sizeof se.hash);
	memcpy(se.csrf_hash, sec->csrf_hash, sizeof se.csrf_hash);
	util_strlcpy(se.user_id, user_id, sizeof se.user_id);
	se.created_at = se.last_seen = now;
	se.expires_at = now + svc->absolute_s * 1000LL;
	se.elevated = elevated ? 1 : 0;
	util_strlcpy(se.client_ip, ip ? ip : "", sizeof se.client_ip);
	/* every new session is a login: the SPV's list of administrators
	 * shows when each last logged in (last_login_at, in the same call) */
	return store_session_login(svc->st, &se);
}

int sess_create(const sess_svc *svc, const char *user_id, int64_t now,
		int elevated, const char *ip, char token[OTP_TOKEN_LEN],
		char csrf[OTP_TOKEN_LEN])
{
	sess_secrets sec;
	int rc;

	if ((rc = sess_secrets_make(svc, &sec)) == PV_OK &&
	    (rc = sess_create_with(svc, &sec, user_id, now, elevated, ip)) == PV_OK) {
		memcpy(token, sec.token, sizeof sec.token);
		memcpy(csrf, sec.csrf, sizeof sec.csrf);
	}
	sodium_memzero(&sec, sizeof sec);
	return rc;
}

int sess_resolve(const sess_svc *svc, const char *token, int64_t now,
		 store_session *se, store_user *user)
{
	store *s = svc->st;
	unsigned char h[STORE_HASH_LEN];
	int rc;

	if ((rc = sess_hash(svc, token, h)) != PV_OK)
		return rc;
	if ((rc = store_session_get(s, h, se)) != PV_OK)
		return rc;
	if (se->revoked)
		return PV_ENOTFOUND;
	if (now >= se->expires_at || now - se->last_seen >= svc->idle_s * 1000LL) {
		store_session_revoke(s, h);
		return PV_EEXPIRED;
	}
	if ((rc = store_user_get(s, se->user_id, user)) != PV_OK)
		return rc == PV_ENOTFOUND ? PV_ENOTFOUND : rc;
	if (strcmp(user->status, STORE_USER_ACTIVE) != 0) {
		store_session_revoke(s, h);
		return PV_EDENIED;
	}
	if (now - se->last_seen >= SESS_TOUCH_MS)
		store_session_touch(s, h, now);
	return PV_OK;
}

int sess_csrf_ok(const sess_svc *svc, const store_session *se, const char *csrf)
{
	unsigned char h[STORE_HASH_LEN];

	if (!csrf || !*csrf || strlen(csrf) >= OTP_TOKEN_LEN)
		return 0;
	keys_mac(svc->k, "csrf", csrf, strlen(csrf), h);
	return sodium_memcmp(h, se->csrf_hash, sizeof h) == 0;
}

int sess_revoke(const sess_svc *svc, const char *token)
{
	unsigned char h[STORE_HASH_LEN];
	int rc;

	if (sess_hash(svc, token, h) != PV_OK)
		return PV_OK;
	rc = store_session_revoke(svc->st, h);
	return rc == PV_ENOTFOUND ? PV_OK : rc; /* unknown tokens are fine */
}

struct sess_login_ctx {
	const sess_svc *svc;
	const otp_svc *otp;
	const char *mobile, *code, *ip;
	int64_t now;
	sess_login_result *res;
	const sess_secrets *sec; /* the session's, made before */
};

int sess_end(const sess_svc *svc, const store_session *se)
{
	int rc = store_session_revoke(svc->st, se->hash);

	return rc == PV_ENOTFOUND ? PV_OK : rc;
}

/* The body of sess_login_otp, inside its transaction. */
static int sess_login_tx(store *s, void *ctx)
{
	struct sess_login_ctx *x = ctx;
	sess_login_result *res = x->res;
	otp_result o;
	int rc;

	memset(res, 0, sizeof *res);
	rc = otp_check_tx(x->otp, x->mobile, OTP_PURPOSE_LOGIN, x->code, x->ip, x->now, &o);
	if (rc != PV_OK)
		return rc;
	switch (o.status) {
	case OTP_OK:
		break;
	case OTP_NUMBER_LOCKED:
		res->status = SESS_LOGIN_NUMBER_LOCKED;
		res->retry_after_s = o.retry_after_s;
		return PV_OK;
	case OTP_RATE_LIMITED:
		res->status = SESS_LOGIN_RATE_LIMITED;
		res->retry_after_s = o.retry_after_s;
		return PV_OK;
	case OTP_LOCKED:
		res->status = SESS_LOGIN_CODE_DEAD;
		res->retry_after_s = x->otp->pol.resend_s;
		return PV_OK;
	default:
		res->status = SESS_LOGIN_FAILED;
		res->attempts_left = o.status == OTP_INVALID ? o.attempts_left : 0;
		return PV_OK;
	}
	rc = store_user_by_mobile(s, x->mobile, &res->user);
	if (rc == PV_ENOTFOUND) {
		res->status = SESS_LOGIN_FAILED; /* a guessed code of an unknown number */
		return PV_OK;
	}
	if (rc != PV_OK)
		return rc;
	if (strcmp(res->user.status, STORE_USER_PENDING) == 0) {
		res->status = SESS_LOGIN_NOT_ACTIVATED;
		return PV_OK;
	}
	if (strcmp(res->user.status, STORE_USER_ACTIVE) != 0) {
		res->status = SESS_LOGIN_INACTIVE;
		return PV_OK;
	}
	res->status = SESS_LOGIN_OK;
	/* an ordinary user's session, whoever the user is */
	if ((rc = sess_create_with(x->svc, x->sec, res->user.id, x->now, 0, x->ip)) != PV_OK)
		return rc;
	memcpy(res->token, x->sec->token, sizeof res->token);
	memcpy(res->csrf, x->sec->csrf, sizeof res->csrf);
	return PV_OK;
}

int sess_login_otp(const sess_svc *svc, const otp_svc *otp, const char *mobile,
		   const char *code, const char *ip, int64_t now, sess_login_result *res)
{
	sess_secrets sec;
	struct sess_login_ctx x = {svc, otp, mobile, code ? code : "", ip ? ip : "", now, res, &sec};
	int rc = sess_secrets_make(svc, &sec);

	if (rc == PV_OK)
		rc = store_tx(svc->st, sess_login_tx, &x);
	sodium_memzero(&sec, sizeof sec);
	if (rc != PV_OK) {
		sodium_memzero(res, sizeof *res);
		res->status = SESS_LOGIN_FAILED;
	}
	return rc;
}

/* The transaction of an asynchronous login: the job's copies of the
 * arguments, through the same body as sess_login_otp. */
static int sess_login_job_tx(store *s, void *ctx)
{
	sess_login_job *job = ctx;
	struct sess_login_ctx x = {job->svc, job->otp, job->mobile, job->code, job->ip,
				   job->now, &job->res, &job->sec};

	return sess_login_tx(s, &x);
}

static void sess_login_job_done(void *ctx, int rc)
{
	sess_login_job *job = ctx;

	sodium_memzero(&job->sec, sizeof job->sec);
	if (rc != PV_OK) {
		sodium_memzero(&job->res, sizeof job->res);
		job->res.status = SESS_LOGIN_FAILED;
	}
	job->done(job, rc);
}

void sess_login_otp_async(const sess_svc *svc, const otp_svc *otp, const char *mobile,
			  const char *code, const char *ip, int64_t now,
			  sess_login_job *job, sess_login_done done)
{
	int rc;

	job->svc = svc;
	job->otp = otp;
	job->now = now;
	job->done = done;
	util_strlcpy(job->mobile, mobile, sizeof job->mobile);
	util_strlcpy(job->ip, ip ? ip : "", sizeof job->ip);
	/* a code too long to keep is no code: checked as a wrong one */
	if (!code || util_strlcpy(job->code, code, sizeof job->code) != PV_OK)
		util_strlcpy(job->code, code ? "x" : "", sizeof job->code);
	if ((rc = sess_secrets_make(svc, &job->sec)) != PV_OK) {
		sess_login_job_done(job, rc);
		return;
	}
	store_tx_async(svc->st, sess_login_job_tx, job, sess_login_job_done, job);
}

int sess_login_sso(const sess_svc *svc, const char *email, const char *ip,
		   int64_t now, sess_sso_result *res)
{
	int rc;

	memset(res, 0, sizeof *res);
	rc = store_user_by_email(svc->st, email, &res->user);
	if (rc == PV_ENOTFOUND) {
		res->status = SESS_SSO_NOT_REGISTERED;
		res->why = "no user has the e-mail the provider vouched for";
		return PV_OK;
	}
	if (rc != PV_OK)
		return rc;
	if (!res->user.official_email || !res->user.email_verified) {
		res->status = SESS_SSO_NOT_REGISTERED;
		res->why = !res->user.official_email ? "the user's e-mail is not an official one"
						     : "the user's e-mail has not been proven";
		return PV_OK;
	}
	if (strcmp(res->user.status, STORE_USER_ACTIVE) != 0) {
		res->status = SESS_SSO_INACTIVE;
		res->why = "the user is not active";
		return PV_OK;
	}
	res->status = SESS_SSO_OK;
	/* an ordinary user's session, whoever the user is */
	return sess_create(svc, res->user.id, now, 0, ip, res->token, res->csrf);
}
