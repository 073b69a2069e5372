#include "core/registration.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/validate.h"
#include "notify/notify.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define REG_TOKEN_KIND "activation"

void reg_field_name(field_errs *fe, const char *field, const char *in, char *out,
		    size_t cap)
{
	int t = util_trim_copy(in, out, cap);

	if (t == 0)
		ferr_add(fe, field, "required", MSG_REQUIRED);
	else if (t < 0 || !val_name(out, strlen(out)))
		ferr_add(fe, field, "invalid_name", MSG_INVALID_NAME);
}

void reg_field_email(field_errs *fe, const char *in, char out[STORE_EMAIL_MAX])
{
	int t = util_trim_copy(in, out, STORE_EMAIL_MAX);

	if (t == 0)
		ferr_add(fe, "email", "required", MSG_REQUIRED);
	else if (t < 0 || !val_email(out, strlen(out)))
		ferr_add(fe, "email", "invalid_email", MSG_INVALID_EMAIL);
}

void reg_field_mobile(field_errs *fe, const char *in, char out[STORE_MOBILE_MAX])
{
	char tmp[STORE_EMAIL_MAX];
	int t = util_trim_copy(in, tmp, sizeof tmp);

	if (t == 0)
		ferr_add(fe, "mobile", "required", MSG_REQUIRED);
	else if (t < 0 || !val_mobile(tmp, strlen(tmp), out))
		ferr_add(fe, "mobile", "invalid_mobile", MSG_INVALID_MOBILE);
}

void reg_field_position(directory *dir, field_errs *fe, const char *in,
			char out[STORE_ID_MAX])
{
	dir_snap *sn;
	const dir_position *p;

	if (!in || !*in) {
		ferr_add(fe, "position_id", "required", MSG_REQUIRED);
		return;
	}
	sn = dir_acquire(dir);
	p = sn ? dir_position_by_id(sn, in) : NULL;
	if (!p || !p->active)
		ferr_add(fe, "position_id", "unknown_position", MSG_UNKNOWN_POSITION);
	else
		util_strlcpy(out, p->id, STORE_ID_MAX);
	if (sn)
		dir_release(dir, sn);
}

/* Validates every field of a registration into u and fe. */
static void reg_check(const reg_svc *svc, const reg_input *in, store_user *u,
		      field_errs *fe)
{
	dir_snap *sn;

	reg_field_name(fe, "first_name", in->first_name, u->first_name, sizeof u->first_name);
	reg_field_name(fe, "last_name", in->last_name, u->last_name, sizeof u->last_name);
	reg_field_email(fe, in->email, u->email);
	reg_field_mobile(fe, in->mobile, u->mobile);
	reg_field_position(svc->dir, fe, in->position_id, u->position_id);
	sn = dir_acquire(svc->dir);
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
	if (svc->texts && in->terms_version &&
	    !legal_version_known(svc->texts, LEGAL_TERMS, in->terms_version))
		ferr_add(fe, "terms_version", "text_outdated", MSG_TEXT_OUTDATED);
	if (svc->texts && in->privacy_version &&
	    !legal_version_known(svc->texts, LEGAL_PRIVACY, in->privacy_version))
		ferr_add(fe, "privacy_version", "text_outdated", MSG_TEXT_OUTDATED);
}

/* The version of doc the person was shown. */
static const char *reg_version(const reg_svc *svc, const char *doc, const char *given,
			       const char *lang)
{
	const char *v = NULL;

	if (!svc->texts)
		return strcmp(doc, LEGAL_TERMS) == 0 ? REG_TERMS_VERSION : "";
	if (given)
		return given; /* checked by reg_check */
	legal_get(svc->texts, doc, lang, NULL, &v, NULL);
	return v ? v : "";
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
	if ((rc = store_token_insert(svc->st, &t)) != PV_OK)
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
	return store_consent_add(s, &c);
}

struct reg_register_tx {
	const reg_svc *svc;
	const reg_input *in;
	const store_user *u;
	int64_t now;
	field_errs *fe;
};

static int reg_register_tx(store *s, void *ctx)
{
	struct reg_register_tx *x = ctx;
	const store_user *u = x->u;
	int rc, conflict = 0;

	x->fe->n = 0;
	rc = otp_token_consume(x->svc->otp, x->in->verification_token, u->mobile,
			       OTP_PURPOSE_REGISTER, NULL, x->now);
	if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED) {
		ferr_add(x->fe, "verification_token", "verification_required", MSG_VERIFICATION);
		return PV_EINVAL;
	}
	if (rc != PV_OK)
		return rc;
	rc = store_user_insert(s, u, &conflict);
	if (rc == PV_ECONFLICT) {
		if (conflict & STORE_CONFLICT_EMAIL)
			ferr_add(x->fe, "email", "email_taken", MSG_EMAIL_TAKEN);
		if (conflict & STORE_CONFLICT_MOBILE)
			ferr_add(x->fe, "mobile", "mobile_taken", MSG_MOBILE_TAKEN);
		return rc; /* rolled back: the token stays unused */
	}
	if (rc != PV_OK ||
	    (rc = reg_consent(s, u->id, "declaration", REG_DECLARATION_VERSION, x->in->ip, x->now)) != PV_OK ||
	    (rc = reg_consent(s, u->id, "terms",
			      reg_version(x->svc, LEGAL_TERMS, x->in->terms_version, x->in->lang),
			      x->in->ip, x->now)) != PV_OK)
		return rc;
	if (x->svc->texts &&
	    (rc = reg_consent(s, u->id, "privacy",
			      reg_version(x->svc, LEGAL_PRIVACY, x->in->privacy_version, x->in->lang),
			      x->in->ip, x->now)) != PV_OK)
		return rc;
	return reg_send_activation(x->svc, u, x->in->lang, x->now);
}

int reg_validate(const reg_svc *svc, const reg_input *in, int64_t now,
		 store_user *u, field_errs *fe)
{
	memset(u, 0, sizeof *u);
	fe->n = 0;
	reg_check(svc, in, u, fe);
	if (fe->n)
		return PV_EINVAL;
	util_uuid(u->id);
	u->official_email = val_official_email(u->email, svc->official_domains);
	util_strlcpy(u->status, STORE_USER_PENDING, sizeof u->status);
	util_strlcpy(u->source, "self", sizeof u->source);
	u->created_at = u->updated_at = now;
	return PV_OK;
}

/* A taken e-mail was told to the holder of a verification token: the
 * token is spent by its verify_taken-th such answer, so one verified number
 * cannot probe the list of registered addresses. Answers PV_ECONFLICT (the
 * registration's own answer) or a store error. */
static int reg_count_taken(const reg_svc *svc, const char *token, const char *mobile,
			   int64_t now)
{
	int64_t wait;
	int rc = lim_hit(svc->st, svc->otp->k, "verify-taken", token, svc->otp->pol.verify_ttl_s * 1000LL,
			 svc->otp->pol.verify_taken - 1, now, &wait);

	if (rc == PV_ELIMIT) {
		rc = otp_token_consume(svc->otp, token, mobile, OTP_PURPOSE_REGISTER, NULL, now);
		if (rc == PV_OK || rc == PV_ENOTFOUND || rc == PV_EEXPIRED)
			log_kv(LOG_INFO, "verification token spent by taken e-mails", NULL);
		rc = rc == PV_OK || rc == PV_ENOTFOUND || rc == PV_EEXPIRED ? PV_OK : rc;
	}
	return rc == PV_OK ? PV_ECONFLICT : rc;
}

int reg_register(const reg_svc *svc, const reg_input *in, int64_t now,
		 field_errs *fe, store_user *out)
{
	store_user u;
	int rc;

	if ((rc = reg_validate(svc, in, now, &u, fe)) != PV_OK)
		return rc;
	rc = store_tx(svc->st, reg_register_tx, &(struct reg_register_tx){svc, in, &u, now, fe});
	if (rc == PV_ECONFLICT && ferr_has(fe, "email"))
		rc = reg_count_taken(svc, in->verification_token, u.mobile, now);
	if (rc != PV_OK)
		return rc;
	notify_kick();
	log_kv(LOG_INFO, "user registered", "user_id", u.id, NULL);
	if (out)
		*out = u;
	return PV_OK;
}

struct reg_activate_tx {
	const unsigned char *h;
	int64_t now;
	char user_id[STORE_ID_MAX]; /* out */
};

/* Uses the token, activates a pending user and records that the e-mail
 * is proven (the link reached it). */
static int reg_activate_tx(store *s, void *ctx)
{
	struct reg_activate_tx *x = ctx;
	store_token t;
	store_user u;
	int rc;

	if ((rc = store_token_consume(s, REG_TOKEN_KIND, x->h, x->now, &t)) != PV_OK ||
	    (rc = store_user_get(s, t.subject, &u)) != PV_OK)
		return rc;
	/* deactivated by an administrator, or closed by its owner, meanwhile */
	if (strcmp(u.status, STORE_USER_PENDING) != 0 && strcmp(u.status, STORE_USER_ACTIVE) != 0)
		return PV_ENOTFOUND;
	if (strcmp(u.status, STORE_USER_PENDING) == 0 &&
	    (rc = store_user_set_status(s, u.id, STORE_USER_ACTIVE, x->now)) != PV_OK)
		return rc == PV_ECONFLICT ? PV_ENOTFOUND : rc;
	if ((rc = store_user_verify_email(s, u.id, x->now)) != PV_OK)
		return rc;
	util_strlcpy(x->user_id, u.id, sizeof x->user_id);
	return PV_OK;
}

int reg_activate(const reg_svc *svc, const char *token, int64_t now)
{
	unsigned char h[STORE_HASH_LEN];
	struct reg_activate_tx x = {h, now, ""};
	int rc;

	if (!token || !*token || strlen(token) >= OTP_TOKEN_LEN)
		return PV_ENOTFOUND;
	keys_mac(svc->otp->k, REG_TOKEN_KIND, token, strlen(token), h);
	rc = store_tx(svc->st, reg_activate_tx, &x);
	if (rc == PV_OK)
		log_kv(LOG_INFO, "user activated", "user_id", x.user_id, NULL);
	return rc;
}

struct reg_resend_tx {
	const reg_svc *svc;
	const char *email, *lang;
	int64_t now;
	int sent; /* out */
};

static int reg_resend_tx(store *s, void *ctx)
{
	struct reg_resend_tx *x = ctx;
	char key[STORE_KEY_MAX];
	store_throttle t;
	store_user u;
	int rc;

	x->sent = 0;
	rc = store_user_by_email(s, x->email, &u);
	if (rc == PV_ENOTFOUND || (rc == PV_OK && strcmp(u.status, STORE_USER_PENDING) != 0))
		return PV_OK;
	if (rc != PV_OK ||
	    (rc = keys_subject(x->svc->otp->k, "act-resend", u.id, key)) != PV_OK ||
	    (rc = store_throttle_hit(s, key, x->now, 3600 * 1000LL, 0, 0, &t)) != PV_OK)
		return rc;
	if (t.count > x->svc->resend_per_hour)
		return PV_OK; /* quietly: the answer never tells */
	if ((rc = reg_send_activation(x->svc, &u, x->lang, x->now)) != PV_OK)
		return rc;
	x->sent = 1;
	return PV_OK;
}

int reg_resend(const reg_svc *svc, const char *email, const char *lang,
	       int64_t now)
{
	struct reg_resend_tx x = {svc, email, lang, now, 0};
	int rc;

	if (!email || !val_email(email, strlen(email)))
		return PV_OK;
	rc = store_tx(svc->st, reg_resend_tx, &x);
	if (rc == PV_OK && x.sent)
		notify_kick();
	return rc;
}
