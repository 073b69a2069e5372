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

int sess_create(const sess_svc *svc, const char *user_id, int64_t now,
		char token[OTP_TOKEN_LEN], char csrf[OTP_TOKEN_LEN])
{
	store_session se;
	int rc;

	memset(&se, 0, sizeof se);
	if ((rc = util_random_b64url(32, token, OTP_TOKEN_LEN)) != PV_OK ||
	    (rc = util_random_b64url(32, csrf, OTP_TOKEN_LEN)) != PV_OK)
		return rc;
	sess_hash(svc, token, se.hash);
	keys_mac(svc->k, "csrf", csrf, strlen(csrf), se.csrf_hash);
	util_strlcpy(se.user_id, user_id, sizeof se.user_id);
	se.created_at = se.last_seen = now;
	se.expires_at = now + svc->absolute_s * 1000LL;
	return svc->st->ops->session_insert(svc->st, &se);
}

int sess_resolve(const sess_svc *svc, const char *token, int64_t now,
		 store_session *se, store_user *user)
{
	store *s = svc->st;
	unsigned char h[STORE_HASH_LEN];
	int rc;

	if ((rc = sess_hash(svc, token, h)) != PV_OK)
		return rc;
	if ((rc = s->ops->session_get(s, h, se)) != PV_OK)
		return rc;
	if (se->revoked)
		return PV_ENOTFOUND;
	if (now >= se->expires_at || now - se->last_seen >= svc->idle_s * 1000LL) {
		s->ops->session_revoke(s, h);
		return PV_EEXPIRED;
	}
	if ((rc = s->ops->user_get(s, se->user_id, user)) != PV_OK)
		return rc == PV_ENOTFOUND ? PV_ENOTFOUND : rc;
	if (strcmp(user->status, STORE_USER_ACTIVE) != 0) {
		s->ops->session_revoke(s, h);
		return PV_EDENIED;
	}
	if (now - se->last_seen >= SESS_TOUCH_MS)
		s->ops->session_touch(s, h, now);
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

	if (sess_hash(svc, token, h) != PV_OK)
		return PV_OK;
	return svc->st->ops->session_revoke(svc->st, h);
}
