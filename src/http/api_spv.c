/* The SPV administrator's tools (role spv_admin): the MDO administrators
 * with their status, the directory to browse and change (rename, move,
 * deactivate organisations and positions), the organisation types to
 * choose from, and the audit log read as people read it. */
#include <stdlib.h>
#include <string.h>

#include "core/accounts.h"
#include "core/audit.h"
#include "core/directory.h"
#include "core/requests.h"
#include "http/handlers.h"
#include "http/http.h"
#include "util/err.h"
#include "util/util.h"

#define SPV_Q_MAX 200 /* bytes of a search text */

/* ?status=active|inactive|all (default all) as -1 / 0 / 1: PV_OK, or
 * PV_EINVAL after writing the problem. */
static int sp_active(http_req *req, http_resp *resp, int *active)
{
	const char *st = http_query(req, "status");

	*active = -1;
	if (!st || !*st || strcmp(st, "all") == 0)
		return PV_OK;
	if (strcmp(st, "active") == 0 || strcmp(st, "inactive") == 0) {
		*active = strcmp(st, "active") == 0;
		return PV_OK;
	}
	http_problem(resp, 400, "invalid_status", "status must be active, inactive or all.", NULL);
	return PV_EINVAL;
}

/* ?q= at most SPV_Q_MAX bytes ("" when absent): PV_OK, or PV_EINVAL after
 * the problem. */
static int sp_q(http_req *req, http_resp *resp, const char **q)
{
	*q = http_query(req, "q");
	if (!*q)
		*q = "";
	if (strlen(*q) > SPV_Q_MAX) {
		http_problem(resp, 400, "query_too_long", "The search text is longer than 200 bytes.", NULL);
		return PV_EINVAL;
	}
	return PV_OK;
}

#define SP_UNDER_MAX 2048

/* The names of o's ancestors joined with " > " into under (cut to fit);
 * returns its parent, or NULL for a root. */
static const dir_org *sp_under(const dir_snap *sn, const dir_org *o, char under[SP_UNDER_MAX])
{
	const dir_org *path[DIR_MAX_DEPTH];
	size_t n = dir_org_path(sn, o, path, DIR_MAX_DEPTH), used = 0;

	under[0] = '\0';
	for (size_t i = 0; i < n && used + 4 < SP_UNDER_MAX; i++) {
		size_t l = strlen(path[i]->name);

		if (i) {
			memcpy(under + used, " > ", 3);
			used += 3;
		}
		if (used + l >= SP_UNDER_MAX)
			l = SP_UNDER_MAX - used - 1;
		memcpy(under + used, path[i]->name, l);
		used += l;
		under[used] = '\0';
	}
	return n ? path[n - 1] : NULL;
}

/* {"id","name","under"} of an organisation of the snapshot, or null. */
static json_t *sp_org_ref(const dir_snap *sn, const char *id)
{
	const dir_org *o = sn && id && *id ? dir_org_by_id(sn, id) : NULL;
	char under[SP_UNDER_MAX];

	if (!o)
		return json_null();
	sp_under(sn, o, under);
	return json_pack("{s:s, s:s, s:s}", "id", o->id, "name", o->name, "under", under);
}

/* An organisation as the SPV pages show it. */
static json_t *sp_org_json(const dir_snap *sn, const dir_org *o)
{
	char under[SP_UNDER_MAX];
	const dir_org *parent = sp_under(sn, o, under);

	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:b, s:I}", "id", o->id, "name", o->name,
			 "sector", o->sector, "type", o->type, "parent_id",
			 parent ? parent->id : NULL, "under", under, "active", o->active,
			 "children", (json_int_t)o->children);
}

/* ---- the MDO administrators ---- */

static json_t *sp_admin_json(const dir_snap *sn, const store_user *u, const char *username,
			     const char *org_id)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", u->id,
			 "first_name", u->first_name, "last_name", u->last_name, "email", u->email,
			 "mobile", u->mobile, "status", u->status, "username", username, "org",
			 sp_org_ref(sn, org_id), "last_login_at", http_time(u->last_login_at),
			 "created_at", http_time(u->created_at));
}

void api_admin_mdo_admins_list(http_req *req, http_resp *resp)
{
	const char *org = http_query(req, "org_id"), *st = http_query(req, "status"), *q;
	store_admin *items = NULL;
	store_page pg;
	size_t n = 0;
	int64_t total = 0;
	dir_snap *sn;
	json_t *arr;
	int rc;

	if (http_page(req, resp, &pg) != PV_OK || sp_q(req, resp, &q) != PV_OK)
		return;
	if (st && *st && strcmp(st, STORE_USER_ACTIVE) && strcmp(st, STORE_USER_INACTIVE) &&
	    strcmp(st, STORE_USER_PENDING)) {
		http_problem(resp, 400, "invalid_status",
			     "status must be active, inactive or pending_activation.", NULL);
		return;
	}
	rc = store_admin_list(req->app->st, ACCT_ROLE_MDO, org ? org : "", st ? st : "", q, pg,
			      &items, &n, &total);
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		return;
	}
	sn = dir_acquire(req->app->dir);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, sp_admin_json(sn, &items[i].user, items[i].username,
							 items[i].role.org_id));
	if (sn)
		dir_release(req->app->dir, sn);
	free(items);
	http_json(resp, 200, http_list(arr, total, pg));
}

void api_admin_mdo_admin_status(http_req *req, http_resp *resp)
{
	json_t *body = http_body_json(req, resp);
	const char *status;
	store_user u;
	store_cred c;
	dir_snap *sn;
	int rc;

	if (!body)
		return;
	status = http_jstr(body, "status");
	if (!status || (strcmp(status, STORE_USER_ACTIVE) && strcmp(status, STORE_USER_INACTIVE))) {
		http_problem(resp, 400, "validation_failed", "status must be active or inactive.",
			     json_pack("[o]", http_field_error("status", "invalid_status",
							       "status must be active or inactive")));
		goto out;
	}
	rc = acct_set_admin_status(req->app->st, http_param(req, "id"), status, req->user.id,
				   req->ip, util_now_ms(), &u);
	if (rc == PV_EDENIED) {
		http_problem(resp, 403, "forbidden", "You cannot change your own status.", NULL);
	} else if (rc == PV_ENOTFOUND) {
		http_problem(resp, 404, "user_not_found", "There is no MDO administrator with this id.", NULL);
	} else if (rc != PV_OK) {
		http_problem_err(resp, rc);
	} else {
		if (store_cred_by_user(req->app->st, u.id, &c) != PV_OK)
			c.username[0] = '\0';
		sn = dir_acquire(req->app->dir);
		http_json(resp, 200, sp_admin_json(sn, &u, c.username, u.org_id));
		if (sn)
			dir_release(req->app->dir, sn);
	}
out:
	json_decref(body);
}

/* ---- the directory ---- */

void api_admin_orgs_list(http_req *req, http_resp *resp)
{
	const char *parent = http_query(req, "parent_id"), *q;
	const dir_org **page = NULL;
	store_page pg;
	size_t n = 0, total = 0;
	dir_snap *sn;
	json_t *arr;
	int active, rc;

	if (http_page(req, resp, &pg) != PV_OK || sp_q(req, resp, &q) != PV_OK ||
	    sp_active(req, resp, &active) != PV_OK)
		return;
	if (!(sn = dir_acquire(req->app->dir))) {
		http_problem_err(resp, PV_ESTORE);
		return;
	}
	page = calloc((size_t)pg.per_page, sizeof *page);
	rc = page ? dir_browse_orgs(sn, parent, q, active, (size_t)((pg.page - 1) * pg.per_page),
				    (size_t)pg.per_page, page, &n, &total)
		  : PV_ENOMEM;
	if (rc == PV_ENOTFOUND) {
		http_problem(resp, 404, "org_not_found", "There is no organisation with this id.", NULL);
	} else if (rc != PV_OK) {
		http_problem_err(resp, rc);
	} else {
		json_t *doc;

		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, sp_org_json(sn, page[i]));
		doc = http_list(arr, (int64_t)total, pg);
		/* where the list is: the parent, for the page's breadcrumbs */
		json_object_set_new(doc, "parent", *q ? json_null() : sp_org_ref(sn, parent));
		http_json(resp, 200, doc);
	}
	free(page);
	dir_release(req->app->dir, sn);
}

void api_admin_positions_list(http_req *req, http_resp *resp)
{
	const dir_position **page = NULL;
	const char *q;
	store_page pg;
	size_t n = 0, total = 0;
	dir_snap *sn;
	json_t *arr;
	int active, rc;

	if (http_page(req, resp, &pg) != PV_OK || sp_q(req, resp, &q) != PV_OK ||
	    sp_active(req, resp, &active) != PV_OK)
		return;
	if (!(sn = dir_acquire(req->app->dir))) {
		http_problem_err(resp, PV_ESTORE);
		return;
	}
	page = calloc((size_t)pg.per_page, sizeof *page);
	rc = page ? dir_browse_positions(sn, q, active, (size_t)((pg.page - 1) * pg.per_page),
					 (size_t)pg.per_page, page, &n, &total)
		  : PV_ENOMEM;
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
	} else {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:b}", "id", page[i]->id, "name",
							     page[i]->name, "active", page[i]->active));
		http_json(resp, 200, http_list(arr, (int64_t)total, pg));
	}
	free(page);
	dir_release(req->app->dir, sn);
}

/* "active" as a JSON boolean when present: 1/0, -1 when absent; -2 when
 * it is something else. */
static int sp_jactive(json_t *body)
{
	json_t *v = json_object_get(body, "active");

	if (!v || json_is_null(v))
		return -1;
	return json_is_boolean(v) ? json_is_true(v) : -2;
}

void api_admin_org_update(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"name", "sector", "type", "parent_id", NULL};
	json_t *body = http_body_json(req, resp);
	rq_org_edit e;
	field_errs fe;
	store_org o;
	dir_snap *sn;
	json_t *pj;
	int rc;

	if (!body || http_check_strings(body, strs, resp) != PV_OK)
		goto out;
	memset(&e, 0, sizeof e);
	if ((e.active = sp_jactive(body)) == -2) {
		http_problem(resp, 400, "validation_failed", "Some fields are not valid.",
			     json_pack("[o]", http_field_error("active", "invalid_type",
							       "This field must be true or false")));
		goto out;
	}
	e.name = http_jstr(body, "name");
	e.sector = http_jstr(body, "sector");
	e.type = http_jstr(body, "type");
	/* parent_id: absent keeps it; null or "" makes a root */
	pj = json_object_get(body, "parent_id");
	e.parent_id = !pj ? NULL : json_is_null(pj) ? "" : json_string_value(pj);
	rc = rq_org_update(req->app->rq, http_param(req, "id"), &e, req->user.id, req->ip,
			   util_now_ms(), &fe, &o);
	if (rc == PV_EINVAL) {
		http_problem_fields(resp, &fe);
	} else if (rc == PV_ECONFLICT) {
		http_problem(resp, 409, fe.n ? fe.e[0].code : "conflict",
			     fe.n ? fe.e[0].message : "The change was refused.", http_field_errors(&fe));
	} else if (rc == PV_ENOTFOUND) {
		http_problem(resp, 404, "org_not_found", "There is no organisation with this id.", NULL);
	} else if (rc != PV_OK) {
		http_problem_err(resp, rc);
	} else if (!(sn = dir_acquire(req->app->dir))) {
		http_problem_err(resp, PV_ESTORE);
	} else {
		const dir_org *d = dir_org_by_id(sn, o.id);

		if (d)
			http_json(resp, 200, sp_org_json(sn, d));
		else
			http_problem_err(resp, PV_ESTORE);
		dir_release(req->app->dir, sn);
	}
out:
	json_decref(body);
}

void api_admin_position_update(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"name", NULL};
	json_t *body = http_body_json(req, resp);
	field_errs fe;
	store_position p;
	int active, rc;

	if (!body || http_check_strings(body, strs, resp) != PV_OK)
		goto out;
	if ((active = sp_jactive(body)) == -2) {
		http_problem(resp, 400, "validation_failed", "Some fields are not valid.",
			     json_pack("[o]", http_field_error("active", "invalid_type",
							       "This field must be true or false")));
		goto out;
	}
	rc = rq_position_update(req->app->rq, http_param(req, "id"), http_jstr(body, "name"), active,
				req->user.id, req->ip, util_now_ms(), &fe, &p);
	if (rc == PV_EINVAL)
		http_problem_fields(resp, &fe);
	else if (rc == PV_ECONFLICT)
		http_problem(resp, 409, "position_exists", "A position with this name exists.",
			     http_field_errors(&fe));
	else if (rc == PV_ENOTFOUND)
		http_problem(resp, 404, "position_not_found", "There is no position with this id.", NULL);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 200, json_pack("{s:s, s:s, s:b}", "id", p.id, "name", p.name, "active",
					       p.active));
out:
	json_decref(body);
}

void api_admin_org_types(http_req *req, http_resp *resp)
{
	char types[RQ_TYPES_MAX][STORE_SHORT_MAX];
	size_t n = rq_org_types(req->app->rq, types, RQ_TYPES_MAX);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(types[i]));
	http_json(resp, 200, json_pack("{s:o}", "items", arr));
}

/* ---- the audit log ---- */

/* from/to as RFC 3339 into *ms (0 when absent): PV_OK, or PV_EINVAL after
 * the problem. */
static int sp_time(http_req *req, http_resp *resp, const char *name, int64_t *ms)
{
	const char *v = http_query(req, name);

	*ms = 0;
	if (!v || !*v)
		return PV_OK;
	if (util_parse_rfc3339(v, ms) == PV_OK && *ms > 0)
		return PV_OK;
	http_problem(resp, 400, "invalid_time",
		     "from and to are RFC 3339 times, such as 2026-12-01T00:00:00+05:30.", NULL);
	return PV_EINVAL;
}

static json_t *sp_audit_json(store *s, directory *dir, const store_audit *a)
{
	audit_view v;
	json_t *detail = json_loads(a->detail, 0, NULL), *actor = json_null(), *doc;

	if (audit_describe(s, dir, a, &v) != PV_OK)
		v.names = NULL;
	if (a->actor_id[0])
		actor = json_pack("{s:s, s:s, s:s}", "id", a->actor_id, "name", v.actor_name,
				  "username", v.actor_username);
	/* actor_id and target as before; actor, target_kind and target_name
	 * for people */
	doc = json_pack("{s:I, s:o, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:o, s:o}", "id",
			(json_int_t)a->id, "at", http_time(a->at), "action", a->action,
			"actor_id", a->actor_id, "actor", actor, "target", a->target, "target_kind",
			v.target_kind, "target_name", v.target_name, "client_ip", a->client_ip,
			"detail", json_is_object(detail) ? detail : json_object(), "names",
			v.names ? v.names : json_object());
	if (!json_is_object(detail))
		json_decref(detail);
	return doc;
}

void api_admin_audit(http_req *req, http_resp *resp)
{
	store *s = req->app->st;
	const char *action = http_query(req, "action"), *actor = http_query(req, "actor");
	store_audit_filter f;
	store_audit *items = NULL;
	store_cred c;
	store_page pg;
	size_t n = 0, i;
	int64_t total = 0;
	json_t *arr;
	int rc;

	if (http_page(req, resp, &pg) != PV_OK)
		return;
	memset(&f, 0, sizeof f);
	if (action && *action) {
		for (i = 0; i < audit_nactions && strcmp(audit_actions[i], action) != 0; i++)
			;
		if (i == audit_nactions) {
			http_problem(resp, 400, "invalid_action", "There is no such action in the audit log.",
				     NULL);
			return;
		}
		f.action = action;
	}
	if (sp_time(req, resp, "from", &f.from) != PV_OK || sp_time(req, resp, "to", &f.to) != PV_OK)
		return;
	/* the actor by username: an unknown one has done nothing */
	if (actor && *actor) {
		rc = strlen(actor) < STORE_USERNAME_MAX ? store_cred_by_username(s, actor, &c)
							: PV_ENOTFOUND;
		if (rc == PV_ENOTFOUND) {
			http_json(resp, 200, http_list(json_array(), 0, pg));
			return;
		}
		if (rc != PV_OK) {
			http_problem_err(resp, rc);
			return;
		}
		f.actor_id = c.user_id;
	}
	if ((rc = store_audit_list(s, &f, pg, &items, &n, &total)) != PV_OK) {
		http_problem_err(resp, rc);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, sp_audit_json(s, req->app->dir, &items[i]));
	free(items);
	http_json(resp, 200, http_list(arr, total, pg));
}
