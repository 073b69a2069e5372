#include "core/requests.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/validate.h"
#include "notify/notify.h"
#include "util/err.h"
#include "util/util.h"
#include "util/utf8.h"

#define RQ_NAME_MAX 300 /* bytes of a position or organisation name */
#define RQ_DETAILS_MAX 2000

/* A directory name: trimmed, 2-300 bytes of text without control
 * characters. */
static int rq_dir_name(field_errs *fe, const char *field, const char *in,
		       char *out, size_t cap, int required)
{
	int t = util_trim_copy(in, out, cap < RQ_NAME_MAX + 1 ? cap : RQ_NAME_MAX + 1);

	if (t == 0) {
		if (required)
			ferr_add(fe, field, "required", MSG_REQUIRED);
		return 0;
	}
	if (t < 0 || strlen(out) < 2 || !utf8_valid(out, strlen(out)) ||
	    !val_text(out, strlen(out), 0)) {
		ferr_add(fe, field, "invalid_name", MSG_INVALID_NAME);
		return 0;
	}
	return 1;
}

/* An organisation type: a short single line of text (the same rule as
 * every free-text field an administrator sends: UTF-8, no control
 * characters, no line breaks). */
static int rq_type_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	return n > 0 && n < STORE_SHORT_MAX && utf8_valid(t, n) && val_text(t, n, 0);
}

static int rq_sector_ok(const char *s)
{
	return s && (strcmp(s, "center") == 0 || strcmp(s, "state") == 0);
}

/* 1 when id names an active organisation, 0 when it does not (a field
 * error for the caller), or the store's error (never taken for "unknown":
 * a store that fails is not the user's mistake). */
static int rq_org_active(const rq_svc *svc, const char *id)
{
	store_org o;
	int rc;

	if (strlen(id) >= sizeof o.id)
		return 0;
	rc = store_org_get(svc->st, id, &o);
	if (rc == PV_ENOTFOUND)
		return 0;
	return rc == PV_OK ? o.active : rc;
}

/* A pending request of the same kind and name exists (internal to
 * rq_submit: the transaction is rolled back, the answer is a success). */
#define PV_EEXIST_PENDING PV_ECONFLICT

struct rq_submit_tx {
	const rq_svc *svc;
	const rq_input *in;
	const store_request *r;
	int64_t now;
	field_errs *fe;
	store_request *existing; /* out */
};

static int rq_submit_tx(store *s, void *ctx)
{
	struct rq_submit_tx *x = ctx;
	int rc;

	x->fe->n = 0;
	rc = otp_token_consume(x->svc->otp, x->in->verification_token, x->r->mobile,
			       OTP_PURPOSE_REQUEST, NULL, x->now);
	if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED) {
		ferr_add(x->fe, "verification_token", "verification_required", MSG_VERIFICATION);
		return PV_EINVAL;
	}
	if (rc != PV_OK)
		return rc;
	return store_request_insert(s, x->r, x->existing);
}

int rq_validate(const rq_svc *svc, const rq_input *in, int64_t now,
		store_request *r, field_errs *fe)
{
	char tmp[STORE_EMAIL_MAX];
	int t;

	memset(r, 0, sizeof *r);
	fe->n = 0;
	if (!in->kind || (strcmp(in->kind, "position") && strcmp(in->kind, "organisation")))
		ferr_add(fe, "kind", "invalid_kind", "kind must be position or organisation");
	else
		util_strlcpy(r->kind, in->kind, sizeof r->kind);
	t = util_trim_copy(in->full_name, r->full_name, sizeof r->full_name);
	if (t == 0)
		ferr_add(fe, "full_name", "required", MSG_REQUIRED);
	else if (t < 0 || !val_name(r->full_name, strlen(r->full_name)))
		ferr_add(fe, "full_name", "invalid_name", MSG_INVALID_NAME);
	t = util_trim_copy(in->email, r->email, sizeof r->email);
	if (t == 0)
		ferr_add(fe, "email", "required", MSG_REQUIRED);
	else if (t < 0 || !val_email(r->email, strlen(r->email)))
		ferr_add(fe, "email", "invalid_email", MSG_INVALID_EMAIL);
	t = util_trim_copy(in->mobile, tmp, sizeof tmp);
	if (t == 0)
		ferr_add(fe, "mobile", "required", MSG_REQUIRED);
	else if (t < 0 || !val_mobile(tmp, strlen(tmp), r->mobile))
		ferr_add(fe, "mobile", "invalid_mobile", MSG_INVALID_MOBILE);
	rq_dir_name(fe, "name", in->name, r->name, sizeof r->name, 1);
	t = util_trim_copy(in->details, r->details, RQ_DETAILS_MAX + 1);
	if (t < 0 || (t > 0 && !val_text(r->details, strlen(r->details), 1)))
		ferr_add(fe, "details", "invalid_text", MSG_INVALID_TEXT);
	if (in->sector && *in->sector) {
		if (!rq_sector_ok(in->sector))
			ferr_add(fe, "sector", "invalid_sector", "sector must be center or state");
		else
			util_strlcpy(r->sector, in->sector, sizeof r->sector);
	}
	if (in->parent_id && *in->parent_id) {
		int active = rq_org_active(svc, in->parent_id);

		if (active < 0)
			return active;
		if (!active)
			ferr_add(fe, "parent_id", "unknown_org", MSG_UNKNOWN_ORG);
		else
			util_strlcpy(r->parent_id, in->parent_id, sizeof r->parent_id);
	}
	if (!in->declaration)
		ferr_add(fe, "declaration", "declaration_required", MSG_DECLARATION);
	if (!in->verification_token || !*in->verification_token)
		ferr_add(fe, "verification_token", "verification_required", MSG_VERIFICATION);
	if (fe->n)
		return PV_EINVAL;
	util_uuid(r->id);
	util_strlcpy(r->status, STORE_REQ_PENDING, sizeof r->status);
	r->created_at = now;
	return PV_OK;
}

int rq_submit(const rq_svc *svc, const rq_input *in, int64_t now,
	      field_errs *fe, store_request *out, int *existing)
{
	store_request r;
	int rc;

	*existing = 0;
	if ((rc = rq_validate(svc, in, now, &r, fe)) != PV_OK)
		return rc;
	rc = store_tx(svc->st, rq_submit_tx, &(struct rq_submit_tx){svc, in, &r, now, fe, out});
	if (rc == PV_EEXIST_PENDING) {
		*existing = 1; /* rolled back: the token stays usable */
		return PV_OK;
	}
	if (rc == PV_OK)
		*out = r;
	return rc;
}

/* Queues the SMS and the e-mail telling the requester the decision. */
static int rq_notify(store *s, const store_request *r, int approved)
{
	char sms_t[48], mail_t[48], *params;
	json_t *p = json_pack("{s:s, s:s, s:s, s:s}", "full_name", r->full_name, "kind", r->kind,
			      "name", r->name, "reason", r->reason);
	int rc;

	params = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (!params)
		return PV_ENOMEM;
	snprintf(sms_t, sizeof sms_t, "request_%s_sms", approved ? "approved" : "rejected");
	snprintf(mail_t, sizeof mail_t, "request_%s_email", approved ? "approved" : "rejected");
	rc = notify_enqueue(s, NOTIFY_CHANNEL_SMS, r->mobile, sms_t, "en", params, NULL);
	if (rc == PV_OK)
		rc = notify_enqueue(s, NOTIFY_CHANNEL_EMAIL, r->email, mail_t, "en", params, NULL);
	free(params);
	return rc;
}

/* Creates what an approved request asks for; sets r->created_id. */
static int rq_create_for(const rq_svc *svc, store_request *r, const rq_decision *d,
			 int64_t now, field_errs *fe)
{
	store *s = svc->st;
	int rc;

	if (strcmp(r->kind, "position") == 0) {
		store_position p;

		memset(&p, 0, sizeof p);
		util_uuid(p.id);
		util_strlcpy(p.name, r->name, sizeof p.name);
		p.active = 1;
		p.created_at = now;
		rc = store_position_insert(s, &p);
		if (rc == PV_ECONFLICT) {
			ferr_add(fe, "name", "position_exists", "A position with this name exists");
			return PV_EDENIED;
		}
		if (rc == PV_OK)
			util_strlcpy(r->created_id, p.id, sizeof r->created_id);
		return rc;
	} else {
		store_org o;
		const char *sector = d->sector && *d->sector ? d->sector : r->sector;
		const char *parent = d->parent_id && *d->parent_id ? d->parent_id : r->parent_id;

		memset(&o, 0, sizeof o);
		if (!rq_sector_ok(sector))
			ferr_add(fe, "sector", sector && *sector ? "invalid_sector" : "required",
				 "sector must be center or state");
		if (parent && *parent) {
			int active = rq_org_active(svc, parent);

			if (active < 0)
				return active;
			if (!active)
				ferr_add(fe, "parent_id", "unknown_org", MSG_UNKNOWN_ORG);
		}
		if (d->type && !rq_type_ok(d->type))
			ferr_add(fe, "type", "invalid_type", "type is a short word such as department");
		if (fe->n)
			return PV_EINVAL;
		util_uuid(o.id);
		util_strlcpy(o.name, r->name, sizeof o.name);
		util_strlcpy(o.sector, sector, sizeof o.sector);
		util_strlcpy(o.type, d->type ? d->type : "organisation", sizeof o.type);
		util_strlcpy(o.parent_id, parent ? parent : "", sizeof o.parent_id);
		o.active = 1;
		o.created_at = o.updated_at = now;
		if ((rc = store_org_upsert(s, &o)) == PV_OK) {
			util_strlcpy(r->created_id, o.id, sizeof r->created_id);
			util_strlcpy(r->sector, o.sector, sizeof r->sector);
			util_strlcpy(r->parent_id, o.parent_id, sizeof r->parent_id);
		}
		return rc;
	}
}

struct rq_decide_tx {
	const rq_svc *svc;
	const char *id;
	const rq_decision *d;
	int approve;
	int64_t now;
	field_errs *fe;
	store_request r; /* out */
};

static int rq_decide_tx(store *s, void *ctx)
{
	struct rq_decide_tx *x = ctx;
	const rq_decision *d = x->d;
	store_request *r = &x->r;
	int rc;

	x->fe->n = 0;
	if ((rc = store_request_get(s, x->id, r)) != PV_OK)
		return rc;
	if (strcmp(r->status, STORE_REQ_PENDING) != 0)
		return PV_ECONFLICT;
	if (x->approve && d->name) {
		char name[STORE_NAME_MAX];

		/* a blank correction is none: the name asked for stays */
		if (util_trim_copy(d->name, name, sizeof name) > 0)
			util_strlcpy(r->name, name, sizeof r->name);
	}
	if (!x->approve)
		util_trim_copy(d->reason, r->reason, sizeof r->reason);
	if (x->approve && (rc = rq_create_for(x->svc, r, d, x->now, x->fe)) != PV_OK)
		return rc;
	util_strlcpy(r->status, x->approve ? STORE_REQ_APPROVED : STORE_REQ_REJECTED,
		     sizeof r->status);
	util_strlcpy(r->decided_by, d->actor_id, sizeof r->decided_by);
	r->decided_at = x->now;
	if ((rc = store_request_decide(s, r)) != PV_OK ||
	    (rc = rq_notify(s, r, x->approve)) != PV_OK)
		return rc;
	return audit_record(s, d->actor_id, x->approve ? "approve" : "reject", r->id, d->ip,
			    json_pack("{s:s, s:s, s:s}", "kind", r->kind, "name", r->name,
				      "created_id", r->created_id),
			    x->now);
}

int rq_decision_validate(const rq_decision *d, int approve, field_errs *fe)
{
	fe->n = 0;
	if (approve && d->name && *d->name) {
		char name[STORE_NAME_MAX];

		/* a blank name is no correction (rq_dir_name adds no error) */
		if (!rq_dir_name(fe, "name", d->name, name, sizeof name, 0) && fe->n)
			return PV_EINVAL;
	}
	if (!approve) {
		char reason[STORE_TEXT_MAX];
		int t = util_trim_copy(d->reason, reason, 1001);

		if (t == 0)
			ferr_add(fe, "reason", "required", MSG_REQUIRED);
		else if (t < 0 || !val_text(reason, strlen(reason), 1))
			ferr_add(fe, "reason", "invalid_text", MSG_INVALID_TEXT);
		if (fe->n)
			return PV_EINVAL;
	}
	return PV_OK;
}

static int rq_decide(const rq_svc *svc, const char *id, const rq_decision *d,
		     int approve, int64_t now, field_errs *fe, store_request *out)
{
	struct rq_decide_tx x;
	int rc;

	if ((rc = rq_decision_validate(d, approve, fe)) != PV_OK)
		return rc;
	memset(&x, 0, sizeof x);
	x.svc = svc;
	x.id = id;
	x.d = d;
	x.approve = approve;
	x.now = now;
	x.fe = fe;
	if ((rc = store_tx(svc->st, rq_decide_tx, &x)) != PV_OK)
		return rc;
	if (approve)
		dir_invalidate(svc->dir);
	notify_kick();
	*out = x.r;
	return PV_OK;
}

int rq_approve(const rq_svc *svc, const char *id, const rq_decision *d,
	       int64_t now, field_errs *fe, store_request *out)
{
	return rq_decide(svc, id, d, 1, now, fe, out);
}

int rq_reject(const rq_svc *svc, const char *id, const rq_decision *d,
	      int64_t now, field_errs *fe, store_request *out)
{
	return rq_decide(svc, id, d, 0, now, fe, out);
}

/* A new organisation or position and its audit row, in one transaction. */
struct rq_dir_write {
	const store_org *org;
	const store_position *pos;
	const char *actor_id, *ip;
	int64_t now;
};

static int rq_dir_write_tx(store *s, void *ctx)
{
	struct rq_dir_write *x = ctx;
	int rc;

	if (x->org) {
		if ((rc = store_org_upsert(s, x->org)) != PV_OK)
			return rc;
		return audit_record(s, x->actor_id, "create_org", x->org->id, x->ip,
				    json_pack("{s:s, s:s}", "name", x->org->name,
					      "parent_id", x->org->parent_id),
				    x->now);
	}
	if ((rc = store_position_insert(s, x->pos)) != PV_OK)
		return rc;
	return audit_record(s, x->actor_id, "create_position", x->pos->id, x->ip,
			    json_pack("{s:s}", "name", x->pos->name), x->now);
}

int rq_org_create(const rq_svc *svc, const char *name, const char *sector,
		  const char *type, const char *parent_id, const char *actor_id,
		  const char *ip, int64_t now, field_errs *fe, store_org *out)
{
	store_org o;
	int rc;

	memset(&o, 0, sizeof o);
	fe->n = 0;
	rq_dir_name(fe, "name", name, o.name, sizeof o.name, 1);
	if (!rq_sector_ok(sector))
		ferr_add(fe, "sector", sector ? "invalid_sector" : "required", "sector must be center or state");
	if (!rq_type_ok(type))
		ferr_add(fe, "type", type ? "invalid_type" : "required", "type is a short word such as department");
	if (parent_id && *parent_id) {
		int active = rq_org_active(svc, parent_id);

		if (active < 0)
			return active;
		if (!active)
			ferr_add(fe, "parent_id", "unknown_org", MSG_UNKNOWN_ORG);
	}
	if (fe->n)
		return PV_EINVAL;
	util_uuid(o.id);
	util_strlcpy(o.sector, sector, sizeof o.sector);
	util_strlcpy(o.type, type, sizeof o.type);
	util_strlcpy(o.parent_id, parent_id ? parent_id : "", sizeof o.parent_id);
	o.active = 1;
	o.created_at = o.updated_at = now;
	if ((rc = store_tx(svc->st, rq_dir_write_tx,
			   &(struct rq_dir_write){&o, NULL, actor_id, ip, now})) != PV_OK)
		return rc;
	dir_invalidate(svc->dir);
	*out = o;
	return PV_OK;
}

int rq_position_create(const rq_svc *svc, const char *name,
		       const char *actor_id, const char *ip, int64_t now,
		       field_errs *fe, store_position *out)
{
	store_position p;
	int rc;

	memset(&p, 0, sizeof p);
	fe->n = 0;
	if (!rq_dir_name(fe, "name", name, p.name, sizeof p.name, 1))
		return PV_EINVAL;
	util_uuid(p.id);
	p.active = 1;
	p.created_at = now;
	if ((rc = store_tx(svc->st, rq_dir_write_tx,
			   &(struct rq_dir_write){NULL, &p, actor_id, ip, now})) != PV_OK)
		return rc;
	dir_invalidate(svc->dir);
	*out = p;
	return PV_OK;
}

/* ---- an SPV administrator's changes to the directory ---- */

/* The types an administrator picks from, besides those in use. */
static const char *const rq_base_types[] = {
	"ministry", "department", "organisation", "state", "union-territory",
	"attached-office", "subordinate-office", "autonomous-body", "statutory-body",
	"public-sector-undertaking",
};

size_t rq_org_types(const rq_svc *svc, char (*out)[STORE_SHORT_MAX], size_t max)
{
	const char *used[RQ_TYPES_MAX];
	size_t n = 0, nused = 0;
	dir_snap *sn = dir_acquire(svc->dir);

	for (size_t i = 0; i < sizeof rq_base_types / sizeof rq_base_types[0] && n < max; i++)
		util_strlcpy(out[n++], rq_base_types[i], STORE_SHORT_MAX);
	if (sn)
		nused = dir_org_types(sn, used, RQ_TYPES_MAX);
	for (size_t i = 0; i < nused && n < max; i++) {
		size_t j;

		for (j = 0; j < n && strcmp(out[j], used[i]) != 0; j++)
			;
		if (j == n && strlen(used[i]) < STORE_SHORT_MAX)
			util_strlcpy(out[n++], used[i], STORE_SHORT_MAX);
	}
	if (sn)
		dir_release(svc->dir, sn);
	return n;
}

struct rq_org_update_tx {
	const char *id;
	const store_org_change *ch;
	const char *actor_id, *ip;
	int64_t now;
	store_org before, after;
	int conflict;
};

/* Into the audit detail d: field with its new value and previous_<field>
 * with the old one, when they differ. */
static void rq_changed(json_t *d, const char *field, const char *before, const char *after)
{
	char prev[STORE_SHORT_MAX];

	if (strcmp(before, after) == 0)
		return;
	snprintf(prev, sizeof prev, "previous_%s", field);
	json_object_set_new(d, field, json_string(after));
	json_object_set_new(d, prev, json_string(before));
}

/* The change, and an audit row naming each changed field with its value
 * before ("previous_<field>"). */
static int rq_org_update_tx(store *s, void *ctx)
{
	struct rq_org_update_tx *x = ctx;
	const store_org *a = &x->before, *b = &x->after;
	json_t *d;
	int rc;

	if ((rc = store_org_get(s, x->id, &x->before)) != PV_OK ||
	    (rc = store_org_update(s, x->id, x->ch, x->now, &x->after, &x->conflict)) != PV_OK)
		return rc;
	d = json_object();
	rq_changed(d, "name", a->name, b->name);
	rq_changed(d, "sector", a->sector, b->sector);
	rq_changed(d, "type", a->type, b->type);
	rq_changed(d, "parent_id", a->parent_id, b->parent_id);
	if (a->active != b->active)
		json_object_set_new(d, "active", json_boolean(b->active));
	return audit_record(s, x->actor_id, "update_org", x->id, x->ip, d, x->now);
}

int rq_org_update(const rq_svc *svc, const char *id, const rq_org_edit *e,
		  const char *actor_id, const char *ip, int64_t now, field_errs *fe,
		  store_org *out)
{
	struct rq_org_update_tx x;
	store_org_change ch;
	char name[STORE_NAME_MAX];
	int rc;

	fe->n = 0;
	memset(&ch, 0, sizeof ch);
	ch.active = e->active < 0 ? -1 : !!e->active;
	if (e->name && rq_dir_name(fe, "name", e->name, name, sizeof name, 1))
		ch.name = name;
	if (e->sector && !rq_sector_ok(e->sector))
		ferr_add(fe, "sector", "invalid_sector", "sector must be center or state");
	if (e->type && !rq_type_ok(e->type))
		ferr_add(fe, "type", "invalid_type", "type is a short word such as department");
	/* a new parent must be an active organisation ("" makes it a root) */
	if (e->parent_id && *e->parent_id) {
		int active = rq_org_active(svc, e->parent_id);

		if (active < 0)
			return active; /* the store's error, not the user's */
		if (!active)
			ferr_add(fe, "parent_id", "unknown_org", MSG_UNKNOWN_ORG);
	}
	if (fe->n)
		return PV_EINVAL;
	ch.sector = e->sector;
	ch.type = e->type;
	ch.parent_id = e->parent_id;
	memset(&x, 0, sizeof x);
	x.id = id;
	x.ch = &ch;
	x.actor_id = actor_id;
	x.ip = ip;
	x.now = now;
	rc = store_tx(svc->st, rq_org_update_tx, &x);
	if (rc == PV_ECONFLICT) {
		if (x.conflict & STORE_ORG_CYCLE)
			ferr_add(fe, "parent_id", "org_cycle",
				 "An organisation cannot be placed under itself or an organisation below it");
		if (x.conflict & STORE_ORG_CHILDREN)
			ferr_add(fe, "active", "org_has_children",
				 "Deactivate or move the active organisations under it first");
		if (x.conflict & STORE_ORG_PARENT_INACTIVE)
			ferr_add(fe, e->parent_id ? "parent_id" : "active", "org_parent_inactive",
				 "An active organisation cannot be under an inactive one");
		return rc;
	}
	if (rc != PV_OK)
		return rc;
	dir_invalidate(svc->dir);
	*out = x.after;
	return PV_OK;
}

struct rq_pos_update_tx {
	const char *id, *name;
	int active;
	const char *actor_id, *ip;
	int64_t now;
	store_position before, after;
};

static int rq_pos_update_tx(store *s, void *ctx)
{
	struct rq_pos_update_tx *x = ctx;
	json_t *d;
	int rc;

	if ((rc = store_position_get(s, x->id, &x->before)) != PV_OK ||
	    (rc = store_position_update(s, x->id, x->name, x->active, &x->after)) != PV_OK)
		return rc;
	d = json_object();
	rq_changed(d, "name", x->before.name, x->after.name);
	if (x->before.active != x->after.active)
		json_object_set_new(d, "active", json_boolean(x->after.active));
	return audit_record(s, x->actor_id, "update_position", x->id, x->ip, d, x->now);
}

int rq_position_update(const rq_svc *svc, const char *id, const char *name, int active,
		       const char *actor_id, const char *ip, int64_t now, field_errs *fe,
		       store_position *out)
{
	struct rq_pos_update_tx x;
	char clean[STORE_NAME_MAX];
	int rc;

	fe->n = 0;
	memset(&x, 0, sizeof x);
	if (name && !rq_dir_name(fe, "name", name, clean, sizeof clean, 1))
		return PV_EINVAL;
	x.id = id;
	x.name = name ? clean : NULL;
	x.active = active < 0 ? -1 : !!active;
	x.actor_id = actor_id;
	x.ip = ip;
	x.now = now;
	rc = store_tx(svc->st, rq_pos_update_tx, &x);
	if (rc == PV_ECONFLICT) {
		ferr_add(fe, "name", "position_exists", "A position with this name exists");
		return rc;
	}
	if (rc != PV_OK)
		return rc;
	dir_invalidate(svc->dir);
	*out = x.after;
	return PV_OK;
}
