/* Public self-service: registration, activation, requests for help. */
#include <string.h>

#include "core/registration.h"
#include "core/requests.h"
#include "http/handlers.h"
#include "http/http.h"
#include "util/err.h"
#include "util/util.h"

/* 409 for a taken e-mail or mobile: the code of the first, every one
 * listed. */
static void ar_conflict(http_resp *resp, const field_errs *fe)
{
	http_problem(resp, 409, fe->n ? fe->e[0].code : "conflict",
		     fe->n ? fe->e[0].message : "Already registered.", http_field_errors(fe));
}

void api_registrations(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"first_name", "last_name", "position_id", "email",
					   "mobile", "verification_token", "org_id",
					   "terms_version", "privacy_version", NULL};
	app *a = req->app;
	json_t *body;
	reg_input in;
	field_errs fe;
	store_user u;
	int rc;

	/* anonymous writes, per client address */
	if (http_ip_limit(req, resp, "anon", req->app->cfg->anon_per_ip_hour) != PV_OK)
		return;
	body = http_body_json(req, resp);
	if (!body || !http_check_strings(body, strs, resp))
		goto out;
	memset(&in, 0, sizeof in);
	in.first_name = http_jstr(body, "first_name");
	in.last_name = http_jstr(body, "last_name");
	in.position_id = http_jstr(body, "position_id");
	in.email = http_jstr(body, "email");
	in.mobile = http_jstr(body, "mobile");
	in.verification_token = http_jstr(body, "verification_token");
	in.org_id = http_jstr(body, "org_id");
	in.terms_version = http_jstr(body, "terms_version");
	in.privacy_version = http_jstr(body, "privacy_version");
	in.declaration = http_jbool(body, "declaration");
	in.terms = http_jbool(body, "terms");
	in.ip = req->ip;
	in.lang = http_lang(req, body);
	rc = reg_register(a->reg, &in, util_now_ms(), &fe, &u);
	if (rc == PV_EINVAL)
		http_problem_fields(resp, &fe);
	else if (rc == PV_ECONFLICT)
		ar_conflict(resp, &fe);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 201, json_pack("{s:s, s:s, s:b}", "user_id", u.id, "status", u.status,
					       "official_email", u.official_email));
out:
	json_decref(body);
}

void api_activation(http_req *req, http_resp *resp)
{
	json_t *body;
	int rc;

	/* anonymous writes, per client address */
	if (http_ip_limit(req, resp, "anon", req->app->cfg->anon_per_ip_hour) != PV_OK)
		return;
	body = http_body_json(req, resp);
	if (!body)
		return;
	rc = reg_activate(req->app->reg, http_jstr(body, "token"), util_now_ms());
	if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED)
		http_problem(resp, 400, "activation_invalid",
			     rc == PV_EEXPIRED ? "This activation link has expired; ask for a new one."
					       : "This activation link is not valid or was already used.",
			     NULL);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 200, json_pack("{s:s}", "status", "active"));
	json_decref(body);
}

void api_activation_resend(http_req *req, http_resp *resp)
{
	json_t *body;
	int rc;

	/* anonymous writes, per client address */
	if (http_ip_limit(req, resp, "anon", req->app->cfg->anon_per_ip_hour) != PV_OK)
		return;
	body = http_body_json(req, resp);
	if (!body)
		return;
	rc = reg_resend(req->app->reg, http_jstr(body, "email"), http_lang(req, body), util_now_ms());
	if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 202, json_object());
	json_decref(body);
}

json_t *api_request_json(const store_request *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
			 "id", r->id, "kind", r->kind, "full_name", r->full_name, "email", r->email,
			 "mobile", r->mobile, "name", r->name, "details", r->details, "sector",
			 r->sector, "parent_id", r->parent_id, "status", r->status, "reason",
			 r->reason, "created_id", r->created_id, "created_at",
			 http_time(r->created_at), "decided_at", http_time(r->decided_at));
}

void api_requests_submit(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"kind", "full_name", "email", "mobile", "verification_token",
					   "name", "details", "sector", "parent_id", NULL};
	json_t *body;
	rq_input in;
	field_errs fe;
	store_request r;
	int rc, existing = 0;

	/* anonymous writes, per client address */
	if (http_ip_limit(req, resp, "anon", req->app->cfg->anon_per_ip_hour) != PV_OK)
		return;
	body = http_body_json(req, resp);
	if (!body || !http_check_strings(body, strs, resp))
		goto out;
	memset(&in, 0, sizeof in);
	in.kind = http_jstr(body, "kind");
	in.full_name = http_jstr(body, "full_name");
	in.email = http_jstr(body, "email");
	in.mobile = http_jstr(body, "mobile");
	in.verification_token = http_jstr(body, "verification_token");
	in.name = http_jstr(body, "name");
	in.details = http_jstr(body, "details");
	in.sector = http_jstr(body, "sector");
	in.parent_id = http_jstr(body, "parent_id");
	in.declaration = http_jbool(body, "declaration");
	in.lang = http_lang(req, body);
	rc = rq_submit(req->app->rq, &in, util_now_ms(), &fe, &r, &existing);
	if (rc == PV_EINVAL)
		http_problem_fields(resp, &fe);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, existing ? 200 : 201,
			  json_pack("{s:s, s:s, s:s}", "id", r.id, "kind", r.kind, "status", r.status));
out:
	json_decref(body);
}
