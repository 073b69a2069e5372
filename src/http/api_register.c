/* Public self-service: registration, activation, requests for help. */
#include <string.h>

#include "core/registration.h"
#include "core/requests.h"
#include "http/bodies.h"
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
	if (!body || body_registration(body, &in, resp) != PV_OK)
		goto out;
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
	json_t *body;
	rq_input in;
	field_errs fe;
	store_request r;
	int rc, existing = 0;

	/* anonymous writes, per client address */
	if (http_ip_limit(req, resp, "anon", req->app->cfg->anon_per_ip_hour) != PV_OK)
		return;
	body = http_body_json(req, resp);
	if (!body || body_request(body, &in, resp) != PV_OK)
		goto out;
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
