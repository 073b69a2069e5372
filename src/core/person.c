#include "core/person.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/audit.h"
#include "core/keys.h"
#include "core/limits.h"
#include "core/registration.h"
#include "core/validate.h"
#include "notify/notify.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define PERSON_DAY_MS (24 * 3600 * 1000LL)

/* Queues a message whose parameters are the object p (stolen), written at
 * now: erasure deletes the messages written up to the closing. */
static int person_send(store *s, const char *channel, const char *to, const char *tpl,
		       const char *lang, json_t *p, int64_t now)
{
	char *j = p ? json_dumps(p, JSON_COMPACT) : NULL;
	int rc = j ? notify_enqueue_at(s, channel, to, tpl, lang ? lang : "en", j, now, NULL)
		   : PV_ENOMEM;

	json_decref(p);
	if (j)
		sodium_memzero(j, strlen(j));
	free(j);
	return rc;
}

/* An audit row about the person by the person; fields: a JSON array of
 * field names (stolen, may be NULL). */
static int person_audit_self(store *s, const store_user *u, const char *action, const char *ip,
			     json_t *detail, int64_t now)
{
	return audit_record(s, u->id, action, u->id, ip, detail, now);
}

/* Ends every session of user_id but keep (the one making the change,
 * NULL for none): a new way in (mobile, e-mail) shuts out whoever held the
 * old one. The newest PERSON_SESSIONS_MAX stored sessions are looked at;
 * more live ones would take as many logins, each with its own code,
 * within the session limit. */
static int person_end_other_sessions(store *s, const char *user_id,
				     const unsigned char *keep)
{
	store_session *se = calloc(PERSON_SESSIONS_MAX, sizeof *se);
	size_t n = 0;
	int rc;

	if (!se)
		return PV_ENOMEM;
	rc = store_session_list(s, user_id, se, PERSON_SESSIONS_MAX, &n);
	for (size_t i = 0; rc == PV_OK && i < n; i++) {
		if (se[i].revoked || (keep && memcmp(se[i].hash, keep, STORE_HASH_LEN) == 0))
			continue;
		rc = store_session_revoke(s, se[i].hash);
		if (rc == PV_ENOTFOUND)
			rc = PV_OK;
	}
	sodium_memzero(se, PERSON_SESSIONS_MAX * sizeof *se);
	free(se);
	return rc;
}

/* ---- names and position ---- */

struct names_tx {
	const store_user *u;
	const char *first, *last, *position, *ip;
	json_t *fields; /* borrowed */
	int64_t now;
};

static int person_names_tx(store *s, void *ctx)
{
	struct names_tx *x = ctx;
	int rc = store_user_set_names(s, x->u->id, x->first, x->last, x->position, x->now);

	if (rc != PV_OK)
		return rc;
	return person_audit_self(s, x->u, "update_profile", x->ip,
				 json_pack("{s:O}", "fields", x->fields), x->now);
}

int person_set_names(const person_svc *svc, const store_user *u,
		     const person_names *in, const char *ip, int64_t now,
		     field_errs *fe, store_user *out)
{
	char first[STORE_PERSON_MAX], last[STORE_PERSON_MAX], pos[STORE_ID_MAX];
	json_t *fields = json_array();
	int rc;

	fe->n = 0;
	util_strlcpy(first, u->first_name, sizeof first);
	util_strlcpy(last, u->last_name, sizeof last);
	util_strlcpy(pos, u->position_id, sizeof pos);
	if (in->first_name) {
		reg_field_name(fe, "first_name", in->first_name, first, sizeof first);
		json_array_append_new(fields, json_string("first_name"));
	}
	if (in->last_name) {
		reg_field_name(fe, "last_name", in->last_name, last, sizeof last);
		json_array_append_new(fields, json_string("last_name"));
	}
	if (in->position_id) {
		reg_field_position(svc->dir, fe, in->position_id, pos);
		json_array_append_new(fields, json_string("position_id"));
	}
	if (fe->n) {
		rc = PV_EINVAL;
		goto out;
	}
	rc = store_tx(svc->st, person_names_tx,
		      &(struct names_tx){u, first, last, pos, ip, fields, now});
	if (rc == PV_OK)
		rc = store_user_get(svc->st, u->id, out);
out:
	json_decref(fields);
	return rc;
}

/* ---- mobile ---- */

struct mobile_tx {
	const person_svc *svc;
	const store_user *u;
	const char *mobile, *token, *ip, *lang;
	const unsigned char *keep; /* the session making the change */
	int64_t now;
	field_errs *fe;
};

static int person_mobile_tx(store *s, void *ctx)
{
	struct mobile_tx *x = ctx;
	char hint[32];
	store_user cur;
	int rc;

	x->fe->n = 0;
	rc = otp_token_consume(x->svc->otp, x->token, x->mobile, OTP_PURPOSE_CHANGE_MOBILE,
			       x->u->id, x->now);
	if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED) {
		ferr_add(x->fe, "verification_token", "verification_required", MSG_VERIFICATION);
		return PV_EINVAL;
	}
	/* the number as it is now (another session may have changed it) */
	if (rc != PV_OK || (rc = store_user_get(s, x->u->id, &cur)) != PV_OK)
		return rc;
	rc = store_user_set_mobile(s, x->u->id, x->mobile, x->now);
	if (rc == PV_ECONFLICT) {
		ferr_add(x->fe, "mobile", "mobile_taken", MSG_MOBILE_TAKEN);
		return rc; /* rolled back: the token stays unused */
	}
	if (rc != PV_OK || (rc = person_end_other_sessions(s, x->u->id, x->keep)) != PV_OK)
		return rc;
	notify_mask(x->mobile, hint, sizeof hint);
	if (strcmp(cur.mobile, x->mobile) != 0 &&
	    (rc = person_send(s, NOTIFY_CHANNEL_SMS, cur.mobile, "mobile_replaced_sms", x->lang,
			      json_pack("{s:s}", "mobile_hint", hint), x->now)) != PV_OK)
		return rc;
	return person_audit_self(s, x->u, "change_mobile", x->ip,
				 json_pack("{s:[s]}", "fields", "mobile"), x->now);
}

int person_change_mobile(const person_svc *svc, const store_user *u,
			 const unsigned char *session, const char *mobile,
			 const char *token, const char *ip, const char *lang,
			 int64_t now, field_errs *fe, store_user *out)
{
	char m[STORE_MOBILE_MAX] = "";
	int rc;

	fe->n = 0;
	reg_field_mobile(fe, mobile, m);
	if (!token || !*token)
		ferr_add(fe, "verification_token", "verification_required", MSG_VERIFICATION);
	if (fe->n)
		return PV_EINVAL;
	rc = store_tx(svc->st, person_mobile_tx,
		      &(struct mobile_tx){svc, u, m, token, ip, lang, session, now, fe});
	if (rc != PV_OK)
		return rc;
	notify_kick();
	log_kv(LOG_INFO, "mobile changed", "user_id", u->id, NULL);
	return store_user_get(svc->st, u->id, out);
}

/* ---- e-mail ---- */

struct email_tx {
	const person_svc *svc;
	const store_user *u;
	const char *email, *ip, *lang;
	int64_t now;
};

static int person_email_tx(store *s, void *ctx)
{
	struct email_tx *x = ctx;
	const person_svc *svc = x->svc;
	char token[OTP_TOKEN_LEN], link[1024], hint[STORE_EMAIL_MAX];
	store_token t;
	json_t *extra;
	char *ej = NULL;
	int rc;

	memset(&t, 0, sizeof t);
	if ((rc = util_random_b64url(32, token, sizeof token)) != PV_OK)
		return rc;
	keys_mac(svc->otp->k, PERSON_TOKEN_EMAIL, token, strlen(token), t.hash);
	util_strlcpy(t.kind, PERSON_TOKEN_EMAIL, sizeof t.kind);
	util_strlcpy(t.subject, x->u->id, sizeof t.subject);
	extra = json_pack("{s:s}", "email", x->email);
	ej = extra ? json_dumps(extra, JSON_COMPACT) : NULL;
	json_decref(extra);
	if (!ej || util_strlcpy(t.extra, ej, sizeof t.extra) != PV_OK) {
		rc = ej ? PV_ELIMIT : PV_ENOMEM;
		goto out;
	}
	t.created_at = x->now;
	t.expires_at = x->now + svc->email_ttl_s * 1000LL;
	if ((rc = store_token_insert(s, &t)) != PV_OK)
		goto out;
	snprintf(link, sizeof link, "%s/confirm-email?token=%s", svc->public_url, token);
	notify_mask(x->email, hint, sizeof hint);
	if ((rc = person_send(s, NOTIFY_CHANNEL_EMAIL, x->email, "email_confirm_email", x->lang,
			      json_pack("{s:s, s:s, s:i}", "first_name", x->u->first_name, "link",
					link, "hours", (svc->email_ttl_s + 3599) / 3600),
			      x->now)) != PV_OK ||
	    (rc = person_send(s, NOTIFY_CHANNEL_EMAIL, x->u->email, "email_change_email", x->lang,
			      json_pack("{s:s, s:s}", "first_name", x->u->first_name,
					"new_email_hint", hint),
			      x->now)) != PV_OK)
		goto out;
	rc = person_audit_self(s, x->u, "request_email_change", x->ip, NULL, x->now);
out:
	sodium_memzero(token, sizeof token);
	sodium_memzero(link, sizeof link);
	free(ej);
	return rc;
}

int person_request_email(const person_svc *svc, const store_user *u,
			 const char *email, const char *ip, const char *lang,
			 int64_t now, field_errs *fe, int64_t *retry_after_s)
{
	char e[STORE_EMAIL_MAX] = "";
	store_user other;
	int rc;

	fe->n = 0;
	*retry_after_s = 0;
	reg_field_email(fe, email, e);
	if (!fe->n && strcasecmp(e, u->email) == 0) /* ASCII only: the C locale */
		ferr_add(fe, "email", "email_unchanged", MSG_EMAIL_UNCHANGED);
	if (fe->n)
		return PV_EINVAL;
	rc = lim_hit(svc->st, svc->otp->k, "email-change", u->id, PERSON_DAY_MS, svc->email_per_day,
		     now, retry_after_s);
	if (rc != PV_OK)
		return rc;
	/* the final word is the unique key when the link is used */
	rc = store_user_by_email(svc->st, e, &other);
	if (rc == PV_OK) {
		ferr_add(fe, "email", "email_taken", MSG_EMAIL_TAKEN);
		return PV_ECONFLICT;
	}
	if (rc != PV_ENOTFOUND)
		return rc;
	rc = store_tx(svc->st, person_email_tx, &(struct email_tx){svc, u, e, ip, lang, now});
	if (rc == PV_OK)
		notify_kick();
	return rc;
}

struct confirm_tx {
	const person_svc *svc;
	const store_user *u;
	const unsigned char *h;
	const unsigned char *keep; /* the session making the change */
	const char *ip;
	int64_t now;
};

static int person_email_tokens(store *s, const char *user_id, store_token **out, size_t *n);

/* Spends the person's other e-mail change links still usable: the notice
 * of each went to the address of its day, so none may undo the change
 * just made. */
static int person_end_email_links(store *s, const char *user_id, int64_t now)
{
	store_token *t = NULL, used;
	size_t n = 0;
	int rc = person_email_tokens(s, user_id, &t, &n);

	for (size_t i = 0; rc == PV_OK && i < n; i++) {
		if (t[i].used_at || t[i].expires_at <= now)
			continue;
		rc = store_token_consume(s, PERSON_TOKEN_EMAIL, t[i].hash, now, &used);
		if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED)
			rc = PV_OK;
	}
	if (t)
		sodium_memzero(t, n * sizeof *t);
	free(t);
	return rc;
}

static int person_confirm_tx(store *s, void *ctx)
{
	struct confirm_tx *x = ctx;
	store_token t;
	json_t *extra;
	const char *email;
	int rc;

	if ((rc = store_token_consume(s, PERSON_TOKEN_EMAIL, x->h, x->now, &t)) != PV_OK)
		return rc == PV_EEXPIRED ? PV_ENOTFOUND : rc;
	if (strcmp(t.subject, x->u->id) != 0)
		return PV_ENOTFOUND; /* another person's link: rolled back, still theirs */
	extra = json_loads(t.extra, 0, NULL);
	email = extra ? json_string_value(json_object_get(extra, "email")) : NULL;
	if (!email || !val_email(email, strlen(email))) {
		json_decref(extra);
		return PV_ENOTFOUND;
	}
	/* the link reached the address: it is proven */
	rc = store_user_set_email(s, x->u->id, email,
				  val_official_email(email, x->svc->official_domains), 1, x->now);
	json_decref(extra);
	if (rc != PV_OK)
		return rc == PV_ENOTFOUND ? PV_EDENIED : rc;
	if ((rc = person_end_email_links(s, x->u->id, x->now)) != PV_OK ||
	    (rc = person_end_other_sessions(s, x->u->id, x->keep)) != PV_OK)
		return rc;
	return person_audit_self(s, x->u, "change_email", x->ip,
				 json_pack("{s:[s]}", "fields", "email"), x->now);
}

int person_confirm_email(const person_svc *svc, const store_user *u,
			 const unsigned char *session, const char *token,
			 const char *ip, int64_t now, store_user *out)
{
	unsigned char h[STORE_HASH_LEN];
	int rc;

	if (!token || !*token || strlen(token) >= OTP_TOKEN_LEN)
		return PV_ENOTFOUND;
	keys_mac(svc->otp->k, PERSON_TOKEN_EMAIL, token, strlen(token), h);
	rc = store_tx(svc->st, person_confirm_tx, &(struct confirm_tx){svc, u, h, session, ip, now});
	if (rc == PV_EDENIED)
		rc = PV_ENOTFOUND; /* the account closed meanwhile */
	if (rc != PV_OK)
		return rc;
	log_kv(LOG_INFO, "e-mail changed", "user_id", u->id, NULL);
	return store_user_get(svc->st, u->id, out);
}

/* The e-mail change tokens of a person still stored, newest first. */
#define PERSON_EMAIL_TOKENS 16

/* The address an e-mail change token is for, into out (STORE_EMAIL_MAX);
 * "" when it holds none. */
static void person_token_email(const store_token *t, char *out)
{
	json_t *extra = json_loads(t->extra, 0, NULL);
	const char *e = extra ? json_string_value(json_object_get(extra, "email")) : NULL;

	util_strlcpy(out, e ? e : "", STORE_EMAIL_MAX);
	json_decref(extra);
}

/* The e-mail change tokens of user_id still stored, newest first, into a
 * malloc'd *out (caller frees; NULL when *n is 0). */
static int person_email_tokens(store *s, const char *user_id, store_token **out, size_t *n)
{
	store_token *t = calloc(PERSON_EMAIL_TOKENS, sizeof *t);
	int rc;

	*out = NULL;
	*n = 0;
	if (!t)
		return PV_ENOMEM;
	rc = store_token_list(s, PERSON_TOKEN_EMAIL, user_id, t, PERSON_EMAIL_TOKENS, n);
	if (rc != PV_OK || *n == 0) {
		free(t);
		*n = 0;
		return rc;
	}
	*out = t;
	return PV_OK;
}

int person_pending_email(const person_svc *svc, const char *user_id, int64_t now,
			 char *email, int64_t *expires_at)
{
	store_token *t = NULL;
	size_t n = 0;
	int rc;

	email[0] = '\0';
	*expires_at = 0;
	rc = person_email_tokens(svc->st, user_id, &t, &n);
	for (size_t i = 0; rc == PV_OK && i < n; i++) {
		if (t[i].used_at || t[i].expires_at <= now)
			continue;
		person_token_email(&t[i], email);
		*expires_at = email[0] ? t[i].expires_at : 0;
		break;
	}
	free(t);
	return rc;
}

/* ---- the export ---- */

struct audit_collect {
	person_data *d;
	size_t cap;
	int rc;
};

static int person_audit_cb(void *ctx, const store_audit *a)
{
	struct audit_collect *c = ctx;
	person_data *d = c->d;
	person_audit *row;

	if (d->naudit == PERSON_AUDIT_MAX) {
		d->audit_truncated = 1;
		return 1;
	}
	if (d->naudit == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		person_audit *more = realloc(d->audit, cap * sizeof *more);

		if (!more) {
			c->rc = PV_ENOMEM;
			return 1;
		}
		d->audit = more;
		c->cap = cap;
	}
	row = &d->audit[d->naudit++];
	memset(row, 0, sizeof *row);
	row->at = a->at;
	util_strlcpy(row->action, a->action, sizeof row->action);
	util_strlcpy(row->actor_id, a->actor_id, sizeof row->actor_id);
	util_strlcpy(row->target, a->target, sizeof row->target);
	return 0;
}

int person_export(const person_svc *svc, const char *user_id, person_data **out)
{
	store *s = svc->st;
	struct audit_collect ac;
	store_cred cred;
	person_data *d;
	int rc;

	*out = NULL;
	if (!(d = calloc(1, sizeof *d)))
		return PV_ENOMEM;
	if ((rc = store_user_get(s, user_id, &d->user)) != PV_OK ||
	    (rc = store_role_list(s, user_id, d->roles, ACCT_ROLES_MAX, &d->nroles)) != PV_OK)
		goto out;
	rc = store_cred_by_user(s, user_id, &cred);
	if (rc == PV_OK)
		util_strlcpy(d->username, cred.username, sizeof d->username);
	sodium_memzero(&cred, sizeof cred);
	if ((rc != PV_OK && rc != PV_ENOTFOUND) ||
	    (rc = person_pending_email(svc, user_id, util_now_ms(), d->pending_email,
				       &d->pending_email_expires)) != PV_OK ||
	    (rc = store_consent_list(s, user_id, d->consents, PERSON_CONSENTS_MAX,
				     &d->nconsents)) != PV_OK ||
	    (rc = store_session_list(s, user_id, d->sessions, PERSON_SESSIONS_MAX,
				     &d->nsessions)) != PV_OK ||
	    /* by the number only: a request's number was proven by a code,
	     * its e-mail never was, so a request that merely names the
	     * person's address is another person's (their name, number,
	     * words) */
	    (rc = store_request_list_contact(s, "", d->user.mobile, PERSON_REQUESTS_MAX,
					     &d->requests, &d->nrequests)) != PV_OK)
		goto out;
	if (d->user.upload_id[0]) {
		rc = store_upload_get(s, d->user.upload_id, &d->upload);
		if (rc != PV_OK && rc != PV_ENOTFOUND)
			goto out;
		d->has_upload = rc == PV_OK;
	}
	ac = (struct audit_collect){d, 0, PV_OK};
	rc = store_audit_each_user(s, user_id, person_audit_cb, &ac);
	if (rc == 1)
		rc = ac.rc;
out:
	if (rc != PV_OK) {
		person_data_free(d);
		return rc;
	}
	*out = d;
	return PV_OK;
}

void person_data_free(person_data *d)
{
	if (!d)
		return;
	free(d->requests);
	free(d->audit);
	sodium_memzero(d, sizeof *d);
	free(d);
}

/* ---- closing and erasure ---- */

struct close_tx {
	const person_svc *svc;
	const store_user *u;
	const char *token, *ip, *lang;
	int64_t now, erase_after;
	field_errs *fe;
};

static int person_close_tx(store *s, void *ctx)
{
	struct close_tx *x = ctx;
	char when[32], date[11];
	int rc;

	x->fe->n = 0;
	rc = otp_token_consume(x->svc->otp, x->token, x->u->mobile, OTP_PURPOSE_ERASURE, x->u->id,
			       x->now);
	if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED) {
		ferr_add(x->fe, "verification_token", "verification_required", MSG_VERIFICATION);
		return PV_EINVAL;
	}
	if (rc != PV_OK)
		return rc;
	rc = store_user_close(s, x->u->id, x->erase_after, x->now);
	if (rc == PV_ECONFLICT)
		rc = PV_ENOTFOUND;
	if (rc != PV_OK || (rc = store_session_revoke_user(s, x->u->id)) != PV_OK)
		return rc;
	util_rfc3339(x->erase_after, when);
	memcpy(date, when, 10);
	date[10] = '\0';
	if (x->u->email[0] &&
	    (rc = person_send(s, NOTIFY_CHANNEL_EMAIL, x->u->email, "account_closed_email", x->lang,
			      json_pack("{s:s, s:s}", "first_name", x->u->first_name,
					"erase_date", date),
			      x->now)) != PV_OK)
		return rc;
	return person_audit_self(s, x->u, "close_account", x->ip,
				 json_pack("{s:s}", "erase_after", when), x->now);
}

int person_close(const person_svc *svc, const store_user *u, const char *token,
		 const char *ip, const char *lang, int64_t now, field_errs *fe,
		 int64_t *erase_after)
{
	struct close_tx x = {svc, u, token, ip, lang, now, now + svc->grace_ms, fe};
	int rc;

	fe->n = 0;
	if (!token || !*token) {
		ferr_add(fe, "verification_token", "verification_required", MSG_VERIFICATION);
		return PV_EINVAL;
	}
	rc = store_tx(svc->st, person_close_tx, &x);
	if (rc != PV_OK)
		return rc;
	notify_kick();
	log_kv(LOG_INFO, "account closed by its owner", "user_id", u->id, NULL);
	*erase_after = x.erase_after;
	return PV_OK;
}

struct close_id_tx {
	const char *id;
	int64_t now, erase_after;
};

static int person_close_id_tx(store *s, void *ctx)
{
	struct close_id_tx *x = ctx;
	char when[32];
	int rc;

	if ((rc = store_user_close(s, x->id, x->erase_after, x->now)) != PV_OK ||
	    (rc = store_session_revoke_user(s, x->id)) != PV_OK)
		return rc;
	util_rfc3339(x->erase_after, when);
	return audit_record(s, "", "close_account", x->id, "", json_pack("{s:s}", "erase_after", when),
			    x->now);
}

int person_close_id(const person_svc *svc, const char *user_id, int64_t now,
		    int64_t *erase_after)
{
	struct close_id_tx x = {user_id, now, now + svc->grace_ms};
	int rc = store_tx(svc->st, person_close_id_tx, &x);

	if (rc != PV_OK)
		return rc;
	log_kv(LOG_INFO, "account closed by the operator", "user_id", user_id, NULL);
	*erase_after = x.erase_after;
	return PV_OK;
}

struct erase_tx {
	const person_svc *svc;
	const char *id;
	int64_t now;
};

static int person_erase_tx(store *s, void *ctx)
{
	struct erase_tx *x = ctx;
	char subject[STORE_KEY_MAX], email[STORE_EMAIL_MAX];
	store_token *t = NULL;
	store_user u;
	size_t n = 0;
	int rc;

	if ((rc = store_user_get(s, x->id, &u)) != PV_OK)
		return rc;
	if (strcmp(u.status, STORE_USER_CLOSED) != 0)
		return PV_ECONFLICT; /* erased by another process meanwhile */
	/* the codes sent to its number before it was closed */
	if (u.mobile[0] && ((rc = otp_subject(x->svc->otp, u.mobile, subject)) != PV_OK ||
			    (rc = store_otp_forget(s, subject, u.updated_at)) != PV_OK))
		return rc;
	/* the links sent to addresses it gave that never became its own */
	if ((rc = person_email_tokens(s, u.id, &t, &n)) != PV_OK)
		return rc;
	for (size_t i = 0; i < n && rc == PV_OK; i++) {
		person_token_email(&t[i], email);
		if (email[0])
			rc = store_outbox_forget(s, email, u.updated_at);
	}
	free(t);
	if (rc != PV_OK)
		return rc;
	if ((rc = store_user_erase(s, u.id, x->now)) != PV_OK)
		return rc;
	sodium_memzero(&u, sizeof u);
	return audit_record(s, "", "erase_account", x->id, "", NULL, x->now);
}

int person_erase_due(const person_svc *svc, int64_t now, int max, int64_t *erased)
{
	char ids[16][STORE_ID_MAX];
	int64_t done = 0;
	size_t n = 0;
	int rc = PV_OK;

	for (int round = 0; done < max && round <= max / 16; round++) {
		size_t want = (size_t)(max - done) < 16 ? (size_t)(max - done) : 16;

		if ((rc = store_user_erase_due(svc->st, now, ids, want, &n)) != PV_OK || n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			rc = store_tx(svc->st, person_erase_tx,
				      &(struct erase_tx){svc, ids[i], now});
			if (rc == PV_ECONFLICT || rc == PV_ENOTFOUND) {
				rc = PV_OK; /* erased by another process meanwhile */
				continue;
			}
			if (rc != PV_OK)
				goto out;
			done++;
			log_kv(LOG_INFO, "closed account erased", "user_id", ids[i], NULL);
		}
		if (n < want)
			break;
	}
out:
	if (erased)
		*erased = done;
	return rc;
}
