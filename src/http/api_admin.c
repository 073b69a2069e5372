/* SPV administration (role spv_admin) and MDO administration of users
 * (role mdo_admin of an organisation, or spv_admin naming one). */
#include <stdlib.h>
#include <string.h>

#include "core/accounts.h"
#include "core/audit.h"
#include "core/requests.h"
#include "core/validate.h"
#include "http/bodies.h"
#include "http/handlers.h"
#include "http/http.h"
#include "util/err.h"
#include "util/utf8.h"
#include "util/util.h"

void api_admin_requests(http_req *req, http_resp *resp)
{
	const char *status = http_query(req, "status"), *kind = http_query(req, "kind");
	store *s = req->app->st;
	store_request *items = NULL;
	store_page pg;
	size_t n = 0;
	int64_t total = 0;
	json_t *arr;
	int rc;

	if (http_page(req, resp, &pg) != PV_OK)
		return;
	if (status && *status && strcmp(status, STORE_REQ_PENDING) && strcmp(status, STORE_REQ_APPROVED) &&
	    strcmp(status, STORE_REQ_REJECTED)) {
		http_problem(resp, 400, "invalid_status", "status must be pending, approved or rejected.", NULL);
		return;
	}
	if (kind && *kind && strcmp(kind, "position") && strcmp(kind, "organisation")) {
		http_problem(resp, 400, "invalid_kind", "kind must be position or organisation.", NULL);
		return;
	}
	rc = store_request_list(s, status ? status : "", kind ? kind : "", pg, &items, &n, &total);
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, api_request_json(&items[i]));
	free(items);
	http_json(resp, 200, http_list(arr, total, pg));
}

static void ad_decide(http_req *req, http_resp *resp, int approve)
{
	json_t *body = http_body_json(req, resp);
	rq_decision d;
	field_errs fe;
	store_request r;
	int rc;

	if (!body || body_decision(body, &d, resp) != PV_OK)
		goto out;
	d.actor_id = req->user.id;
	d.ip = req->ip;
	rc = (approve ? rq_approve : rq_reject)(req->app->rq, http_param(req, "id"), &d,
						util_now_ms(), &fe, &r);
	if (rc == PV_EINVAL)
		http_problem_fields(resp, &fe);
	else if (rc == PV_ENOTFOUND)
		http_problem(resp, 404, "request_not_found", "There is no request with this id.", NULL);
	else if (rc == PV_ECONFLICT)
		http_problem(resp, 409, "already_decided", "This request was already decided.", NULL);
	else if (rc == PV_EDENIED)
		http_problem(resp, 409, "position_exists", "A position with this name exists.",
			     http_field_errors(&fe));
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 200, api_request_json(&r));
out:
	json_decref(body);
}

void api_admin_approve(http_req *req, http_resp *resp)
{
	ad_decide(req, resp, 1);
}

void api_admin_reject(http_req *req, http_resp *resp)
{
	ad_decide(req, resp, 0);
}

void api_admin_orgs(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"name", "sector", "type", "parent_id", NULL};
	json_t *body = http_body_json(req, resp);
	field_errs fe;
	store_org o;
	int rc;

	if (!body || http_check_strings(body, strs, resp) != PV_OK)
		goto out;
	rc = rq_org_create(req->app->rq, http_jstr(body, "name"), http_jstr(body, "sector"),
			   http_jstr(body, "type"), http_jstr(body, "parent_id"), req->user.id, req->ip,
			   util_now_ms(), &fe, &o);
	if (rc == PV_EINVAL)
		http_problem_fields(resp, &fe);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 201, json_pack("{s:s, s:s, s:s, s:s, s:s*}", "id", o.id, "name", o.name,
					       "sector", o.sector, "type", o.type, "parent_id",
					       o.parent_id[0] ? o.parent_id : NULL));
out:
	json_decref(body);
}

void api_admin_positions(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"name", NULL};
	json_t *body = http_body_json(req, resp);
	field_errs fe;
	store_position p;
	int rc;

	if (!body || http_check_strings(body, strs, resp) != PV_OK)
		goto out;
	rc = rq_position_create(req->app->rq, http_jstr(body, "name"), req->user.id, req->ip,
				util_now_ms(), &fe, &p);
	if (rc == PV_EINVAL)
		http_problem_fields(resp, &fe);
	else if (rc == PV_ECONFLICT)
		http_problem(resp, 409, "position_exists", "A position with this name exists.", NULL);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 201, json_pack("{s:s, s:s}", "id", p.id, "name", p.name));
out:
	json_decref(body);
}

void api_admin_mdo_admins(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"org_id", "username", "password", "first_name",
					   "last_name", "email", "mobile", NULL};
	json_t *body = http_body_json(req, resp);
	acct_admin ad;
	field_errs fe;
	store_user u;
	int rc;

	if (!body || http_check_strings(body, strs, resp) != PV_OK)
		goto out;
	memset(&ad, 0, sizeof ad);
	ad.role = "mdo";
	ad.org_id = http_jstr(body, "org_id");
	ad.username = http_jstr(body, "username");
	ad.password = http_jstr(body, "password");
	ad.first_name = http_jstr(body, "first_name");
	ad.last_name = http_jstr(body, "last_name");
	ad.email = http_jstr(body, "email");
	ad.mobile = http_jstr(body, "mobile");
	ad.actor_id = req->user.id;
	ad.ip = req->ip;
	rc = acct_admin_create(req->app->st, req->app->acct, &ad, util_now_ms(), &fe, &u);
	if (rc == PV_EINVAL) {
		http_problem_fields(resp, &fe);
	} else if (rc == PV_ECONFLICT) {
		http_problem(resp, 409, fe.n ? fe.e[0].code : "conflict",
			     fe.n ? fe.e[0].message : "Already exists.", http_field_errors(&fe));
	} else if (rc != PV_OK) {
		http_problem_err(resp, rc);
	} else {
		json_t *doc;
		store_role role;

		memset(&role, 0, sizeof role);
		util_strlcpy(role.role, "mdo_admin", sizeof role.role);
		util_strlcpy(role.org_id, u.org_id, sizeof role.org_id);
		doc = api_user_json(req->app, &u, &role, 1);
		json_object_set_new(doc, "username", json_string(ad.username));
		http_json(resp, 201, doc);
	}
out:
	json_decref(body);
}

static json_t *ad_user_row(const store_user *u)
{
	/* a closed account shows its names (the organisation knows who left)
	 * and when its data will be erased, no longer its contact details; an
	 * erased one only its id, organisation and times */
	int closed = strcmp(u->status, STORE_USER_CLOSED) == 0;

	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", u->id,
			 "first_name", u->first_name, "last_name", u->last_name, "email",
			 closed ? "" : u->email, "official_email", u->official_email, "mobile",
			 closed ? "" : u->mobile, "status", u->status,
			 "source", u->source, "org_id", u->org_id, "created_at",
			 http_time(u->created_at), "updated_at", http_time(u->updated_at),
			 "erase_after", http_time(u->erase_after));
}

/* A cursor as the API shows it: "c" and the store's number in base 36.
 * Opaque to clients; valid for the query that answered it. */
static void ad_cursor_out(int64_t v, char out[24])
{
	char tmp[16];
	size_t n = 0, o = 0;

	do
		tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
	while ((v /= 36) > 0 && n < sizeof tmp);
	out[o++] = 'c';
	while (n)
		out[o++] = tmp[--n];
	out[o] = '\0';
}

/* 0 when s is not a cursor of ad_cursor_out. */
static int64_t ad_cursor_in(const char *s)
{
	int64_t v = 0;

	if (!s || s[0] != 'c' || !s[1] || strlen(s) > 8)
		return 0;
	for (s++; *s; s++) {
		const char *d = strchr("0123456789abcdefghijklmnopqrstuvwxyz", *s);

		if (!d || !*s)
			return 0;
		v = v * 36 + (d - "0123456789abcdefghijklmnopqrstuvwxyz");
	}
	return v <= UINT32_MAX ? v : 0;
}

/* Checks the query's parameters into uq (q normalised: a mobile number
 * as its 10 digits): PV_OK, or an error after writing the problem. */
static int ad_users_query(http_req *req, http_resp *resp, store_user_query *uq,
			  char org[STORE_ID_MAX], char qbuf[STORE_USER_Q_MAX + 1])
{
	const char *status = http_query(req, "status"), *q = http_query(req, "q");
	const char *after = http_query(req, "after");
	char mobile[STORE_MOBILE_MAX];
	size_t len = 0;
	int rc;

	memset(uq, 0, sizeof *uq);
	if ((rc = http_mdo_org(req, resp, org)) != PV_OK || (rc = http_page(req, resp, &uq->pg)) != PV_OK)
		return rc;
	if (status && *status && strcmp(status, STORE_USER_ACTIVE) && strcmp(status, STORE_USER_INACTIVE) &&
	    strcmp(status, STORE_USER_PENDING) && strcmp(status, STORE_USER_CLOSED) &&
	    strcmp(status, STORE_USER_ERASED)) {
		http_problem(resp, 400, "invalid_status",
			     "status must be active, inactive, pending_activation, closed or erased.",
			     NULL);
		return PV_EINVAL;
	}
	if (after && (!(uq->after = ad_cursor_in(after)) || http_query(req, "page"))) {
		http_problem(resp, 400, "invalid_cursor",
			     "after must be the next of an earlier answer, without page.", NULL);
		return PV_EINVAL;
	}
	q = q ? util_trim(q, strlen(q), &len) : "";
	if (!q || len > 200) {
		http_problem(resp, 400, "query_too_long", "The search text is longer than 200 bytes.", NULL);
		return PV_EINVAL;
	}
	/* as the directory search: the store (PostgreSQL) refuses such text,
	 * which would be told as too many words */
	if (!utf8_valid(q, len)) {
		http_problem(resp, 400, "invalid_query", "The search text is not valid UTF-8.", NULL);
		return PV_EINVAL;
	}
	if (val_mobile(q, len, mobile))
		q = mobile, len = strlen(mobile);
	util_strncpy0(qbuf, STORE_USER_Q_MAX + 1, q, len);
	uq->org_id = org;
	uq->status = status ? status : "";
	uq->q = qbuf;
	return PV_OK;
}

void api_mdo_users(http_req *req, http_resp *resp)
{
	store_user_query uq;
	store_user_list_info info;
	store_user *items = NULL;
	char org[STORE_ID_MAX], qbuf[STORE_USER_Q_MAX + 1], next[24];
	size_t n = 0;
	json_t *arr;
	int rc;

	if (ad_users_query(req, resp, &uq, org, qbuf) != PV_OK)
		return;
	rc = store_user_list(req->app->st, &uq, &items, &n, &info);
	if (rc == PV_EINVAL) {
		http_problem(resp, 400, "query_too_long", "The search has too many words.", NULL);
		return;
	}
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, ad_user_row(&items[i]));
	free(items);
	if (info.next)
		ad_cursor_out(info.next, next);
	http_json(resp, 200,
		  json_pack("{s:o, s:I, s:b, s:o, s:I, s:o}", "items", arr, "total",
			    (json_int_t)info.total, "total_exact", info.total_exact, "page",
			    uq.after ? json_null() : json_integer(uq.pg.page), "per_page",
			    (json_int_t)uq.pg.per_page, "next",
			    info.next ? json_string(next) : json_null()));
}

void api_mdo_user_status(http_req *req, http_resp *resp)
{
	json_t *body;
	const char *status;
	char org[STORE_ID_MAX];
	store_user u;
	int rc;

	if (http_mdo_org(req, resp, org) != PV_OK)
		return;
	if (!(body = http_body_json(req, resp)))
		return;
	status = http_jstr(body, "status");
	if (!status || (strcmp(status, STORE_USER_ACTIVE) && strcmp(status, STORE_USER_INACTIVE))) {
		http_problem(resp, 400, "validation_failed", "status must be active or inactive.",
			     json_pack("[o]", http_field_error("status", "invalid_status",
							       "status must be active or inactive")));
		goto out;
	}
	rc = acct_set_status(req->app->st, org, http_param(req, "id"), status, req->user.id,
			     http_has_role(req, "spv_admin", NULL), req->ip, util_now_ms(), &u);
	if (rc == PV_EDENIED && strcmp(req->user.id, http_param(req, "id")) == 0)
		http_problem(resp, 403, "forbidden", "You cannot change your own status.", NULL);
	else if (rc == PV_EDENIED)
		http_problem(resp, 403, "admin_status_spv_only",
			     "Only an SPV administrator changes an administrator's status.", NULL);
	else if (rc == PV_ENOTFOUND)
		http_problem(resp, 404, "user_not_found", "There is no such user in your organisation.", NULL);
	else if (rc == PV_ECONFLICT)
		http_problem(resp, 409, "account_closed",
			     "This user closed their account; it cannot be changed.", NULL);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 200, ad_user_row(&u));
out:
	json_decref(body);
}
