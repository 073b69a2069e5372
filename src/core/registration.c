#include "core/registration.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/validate.h"
#include "notify/notify.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define REG_TOKEN_KIND "activation"

static void reg_name(field_errs *fe, const char *field, const char *in, char *out,
		     size_t cap)
{
	int t = util_trim_copy(in, out, cap);

	if (t == 0)
		ferr_add(fe, field, "required", MSG_REQUIRED);
	else if (t < 0 || !val_name(out, strlen(out)))
		ferr_add(fe, field, "invalid_name", MSG_INVALID_NAME);
}

/* Validates every field of a registration into u and fe. */
static void reg_check(const reg_svc *svc, const reg_input *in, store_user *u,
		      field_errs *fe)
{
	char tmp[STORE_EMAIL_MAX];
	dir_snap *sn;
	int t;

	reg_name(fe, "first_name", in->first_name, u->first_name, sizeof u->first_name);
	reg_name(fe, "last_name", in->last_name, u->last_name, sizeof u->last_name);
	t = util_trim_copy(in->email, u->email, sizeof u->email);
	if (t == 0)
		ferr_add(fe, "email", "required", MSG_REQUIRED);
	else if (t < 0 || !val_email(u->email, strlen(u->email)))
		ferr_add(fe, "email", "invalid_email", MSG_INVALID_EMAIL);
	t = util_trim_copy(in->mobile, tmp, sizeof tmp);
	if (t == 0)
		ferr_add(fe, "mobile", "required", MSG_REQUIRED);
	else if (t < 0 || !val_mobile(tmp, strlen(tmp), u->mobile))
		ferr_add(fe, "mobile", "invalid_mobile", MSG_INVALID_MOBILE);
	sn = dir_acquire(svc->dir);
	if (!in->position_id || !*in->position_id) {
		ferr_add(fe, "position_id", "required", MSG_REQUIRED);
	} else {
		const dir_position *p = sn ? dir_position_by_id(sn, in->position_id) : NULL;

		if (!p || !p->active)
			ferr_add(fe, "position_id", "unknown_position", MSG_UNKNOWN_POSITION);
		else
			util_strlcpy(u->position_id, p->id, sizeof u->position_id);
	}
	if (!in->org_id || !*in->org_id) {
		ferr_add(fe, "org_id", "required", MSG_REQUIRED);
	} else {
		const dir_org *o = sn ? dir_org_by_id(sn, in->org_id) : NULL;

		if (!o || !o->active)
			ferr_add(fe, "org_id", "unknown_org", MSG_UNKNOWN_ORG);
		else
			util_strlcpy(u->org_id, o->id, sizeof u->org_id);
	}
	if (sn)
		dir_release(svc->dir, sn);
	if (!in->declaration)
		ferr_add(fe, "declaration", "declaration_required", MSG_DECLARATION);
	if (!in->terms)
		ferr_add(fe, "terms", "terms_required", MSG_TERMS);
	if (!in->verification_token || !*in->verification_token)
		ferr_add(fe, "verification_token", "verification_required", MSG_VERIFICATION);
}

/* Writes an activation token for user u and queues its e-mail. */
static int reg_send_activation(const reg_svc *svc, const store_user *u,
			       const char *lang, int64_t now)
{
	store_token t;
	char token[OTP_TOKEN_LEN], link[1024], *params = NULL;
	json_t *p;
	int rc;

	memset(&t, 0, sizeof t);
	if ((rc = util_random_b64url(32, token, sizeof token)) != PV_OK)
		return rc;
	keys_mac(svc->otp->k, REG_TOKEN_KIND, token, strlen(token), t.hash);
	util_strlcpy(t.kind, REG_TOKEN_KIND, sizeof t.kind);
	util_strlcpy(t.subject, u->id, sizeof t.subject);
	t.created_at = now;
	t.expires_at = now + svc->activation_ttl_s * 1000LL;
	if ((rc = svc->st->ops->token_insert(svc->st, &t)) != PV_OK)
		return rc;
	snprintf(link, sizeof link, "%s/activate?token=%s", svc->public_url, token);
	p = json_pack("{s:s, s:s, s:i}", "first_name", u->first_name, "link", link,
		      "hours", (svc->activation_ttl_s + 3599) / 3600);
	params = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	rc = params ? notify_enqueue(svc->st, NOTIFY_CHANNEL_EMAIL, u->email, "activation_email",
				     lang, params, NULL)
		    : PV_ENOMEM;
	free(params);
	return rc;
}

static int reg_consent(store *s, const char *user_id, const char *kind,
		       const char *version, const char *ip, int64_t now)
{
	store_consent c;

	memset(&c, 0, sizeof c);
	util_strlcpy(c.user_id, user_id, sizeof c.user_id);
	util_strlcpy(c.kind, kind, sizeof c.kind);
	util_strlcpy(c.version, version, sizeof c.version);
	util_strlcpy(c.client_ip, ip ? ip : "", sizeof c.client_ip);
	c.at = now;
	return s->ops->consent_add(s, &c);
}

int reg_register(const reg_svc *svc, const reg_input *in, int64_t now,
		 field_errs *fe, store_user *out)
{
	store *s = svc->st;
	store_user u;
	int rc, conflict = 0, in_tx = 0;

	memset(&u, 0, sizeof u);
	fe->n = 0;
	reg_check(svc, in, &u, fe);
	if (fe->n)
		return PV_EINVAL;
	util_uuid(u.id);
	u.official_email = val_official_email(u.email, svc->official_domains);
	util_strlcpy(u.status, STORE_USER_PENDING, sizeof u.status);
	util_strlcpy(u.source, "self", sizeof u.source);
	u.created_at = u.updated_at = now;
	if ((rc = s->ops->tx_begin(s)) != PV_OK)
		goto out;
	in_tx = 1;
	rc = otp_token_consume(svc->otp, in->verification_token, u.mobile,
			       OTP_PURPOSE_REGISTER, now);
	if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED) {
		ferr_add(fe, "verification_token", "verification_required", MSG_VERIFICATION);
		rc = PV_EINVAL;
		goto out;
	}
	if (rc != PV_OK)
		goto out;
	rc = s->ops->user_insert(s, &u, &conflict);
	if (rc == PV_ECONFLICT) {
		if (conflict & STORE_CONFLICT_EMAIL)
			ferr_add(fe, "email", "email_taken", MSG_EMAIL_TAKEN);
		if (conflict & STORE_CONFLICT_MOBILE)
			ferr_add(fe, "mobile", "mobile_taken", MSG_MOBILE_TAKEN);
		goto out;
	}
	if (rc != PV_OK ||
	    (rc = reg_consent(s, u.id, "declaration", REG_DECLARATION_VERSION, in->ip, now)) != PV_OK ||
	    (rc = reg_consent(s, u.id, "terms", REG_TERMS_VERSION, in->ip, now)) != PV_OK ||
	    (rc = reg_send_activation(svc, &u, in->lang, now)) != PV_OK)
		goto out;
	if ((rc = s->ops->tx_commit(s)) != PV_OK)
		goto out;
	in_tx = 0;
	notify_kick();
	log_kv(LOG_INFO, "user registered", "user_id", u.id, NULL);
	if (out)
		*out = u;
out:
	if (in_tx)
		s->ops->tx_rollback(s);
	return rc;
}

int reg_activate(const reg_svc *svc, const char *token, int64_t now)
{
	store *s = svc->st;
	unsigned char h[STORE_HASH_LEN];
	store_token t;
	store_user u;
	int rc, in_tx = 0;

	if (!token || !*token || strlen(token) >= OTP_TOKEN_LEN)
		return PV_ENOTFOUND;
	keys_mac(svc->otp->k, REG_TOKEN_KIND, token, strlen(token), h);
	if ((rc = s->ops->tx_begin(s)) != PV_OK)
		return rc;
	in_tx = 1;
	if ((rc = s->ops->token_consume(s, REG_TOKEN_KIND, h, now, &t)) != PV_OK)
		goto out;
	if ((rc = s->ops->user_get(s, t.subject, &u)) != PV_OK)
		goto out;
	if (strcmp(u.status, STORE_USER_INACTIVE) == 0) {
		rc = PV_ENOTFOUND; /* deactivated by an administrator meanwhile */
		goto out;
	}
	if (strcmp(u.status, STORE_USER_PENDING) == 0 &&
	    (rc = s->ops->user_set_status(s, u.id, STORE_USER_ACTIVE, now)) != PV_OK)
		goto out;
	if ((rc = s->ops->tx_commit(s)) == PV_OK) {
		in_tx = 0;
		log_kv(LOG_INFO, "user activated", "user_id", u.id, NULL);
	}
out:
	if (in_tx)
		s->ops->tx_rollback(s);
	return rc;
}

int reg_resend(const reg_svc *svc, const char *email, const char *lang,
	       int64_t now)
{
	store *s = svc->st;
	store_user u;
	store_throttle t;
	int rc, in_tx = 0;

	if (!email || !val_email(email, strlen(email)))
		return PV_OK;
	if ((rc = s->ops->tx_begin(s)) != PV_OK)
		return rc;
	in_tx = 1;
	rc = s->ops->user_by_email(s, email, &u);
	if (rc == PV_ENOTFOUND || (rc == PV_OK && strcmp(u.status, STORE_USER_PENDING) != 0)) {
		rc = PV_OK;
		goto out;
	}
	if (rc != PV_OK)
		goto out;
	memset(&t, 0, sizeof t);
	snprintf(t.key, sizeof t.key, "act-resend:%s", u.id);
	if (s->ops->throttle_get(s, t.key, &t) != PV_OK || now - t.window_start >= 3600 * 1000LL) {
		snprintf(t.key, sizeof t.key, "act-resend:%s", u.id);
		t.count = 0;
		t.window_start = now;
		t.locked_until = 0;
	}
	if (t.count >= svc->resend_per_hour) {
		rc = PV_OK; /* quietly: the answer never tells */
		goto out;
	}
	t.count++;
	if ((rc = s->ops->throttle_put(s, &t)) != PV_OK ||
	    (rc = reg_send_activation(svc, &u, lang, now)) != PV_OK)
		goto out;
	if ((rc = s->ops->tx_commit(s)) == PV_OK) {
		in_tx = 0;
		notify_kick();
	}
out:
	if (in_tx)
		s->ops->tx_rollback(s);
	return rc;
}
