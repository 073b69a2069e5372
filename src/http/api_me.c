/* The user's own data (DPDP Act 2023): details, change of mobile and of
 * e-mail, the download of everything held, closing the account; and the
 * public texts and contacts the pages show (terms, privacy notice, help).
 * The rules are in core/person.c; here requests are parsed, limited per
 * person (PRAVESH_SELF_PER_HOUR) and rendered. */
#include <stdio.h>
#include <string.h>

#include "core/legal.h"
#include "core/person.h"
#include "http/handlers.h"
#include "http/http.h"
#include "util/err.h"
#include "util/util.h"

json_t *api_me_json(http_req *req, const store_user *u)
{
	app *a = req->app;
	json_t *doc = api_user_json(a, u, req->roles, req->nroles);
	char email[STORE_EMAIL_MAX];
	int64_t expires = 0;

	if (doc && a->person &&
	    person_pending_email(a->person, u->id, util_now_ms(), email, &expires) == PV_OK &&
	    email[0])
		json_object_set_new(doc, "pending_email",
				    json_pack("{s:s, s:o}", "email", email, "expires_at",
					      http_time(expires)));
	else if (doc)
		json_object_set_new(doc, "pending_email", json_null());
	return doc;
}

/* The person's own limit, then the body; NULL after writing the problem. */
static json_t *me_begin(http_req *req, http_resp *resp, const char *const *strs)
{
	json_t *body;

	if (http_user_limit(req, resp, "self", req->app->cfg->self_per_hour) != PV_OK)
		return NULL;
	body = http_body_json(req, resp);
	if (body && strs && http_check_strings(body, strs, resp) != PV_OK) {
		json_decref(body);
		return NULL;
	}
	return body;
}

/* An account closed meanwhile (another session closed it). */
static void me_gone(http_resp *resp)
{
	http_problem(resp, 401, "unauthenticated", "Please log in.", NULL);
}

static void me_conflict(http_resp *resp, const field_errs *fe)
{
	http_problem(resp, 409, fe->n ? fe->e[0].code : "conflict",
		     fe->n ? fe->e[0].message : "Already registered.", http_field_errors(fe));
}

void api_me_patch(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"first_name", "last_name", "position_id", NULL};
	json_t *body = me_begin(req, resp, strs);
	person_names in;
	field_errs fe;
	store_user u;
	int rc;

	if (!body)
		return;
	in.first_name = http_jstr(body, "first_name");
	in.last_name = http_jstr(body, "last_name");
	in.position_id = http_jstr(body, "position_id");
	rc = person_set_names(req->app->person, &req->user, &in, req->ip, util_now_ms(), &fe, &u);
	if (rc == PV_EINVAL)
		http_problem_fields(resp, &fe);
	else if (rc == PV_ENOTFOUND)
		me_gone(resp);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 200, api_me_json(req, &u));
	json_decref(body);
}

void api_me_mobile(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"mobile", "verification_token", NULL};
	json_t *body = me_begin(req, resp, strs);
	field_errs fe;
	store_user u;
	int rc;

	if (!body)
		return;
	rc = person_change_mobile(req->app->person, &req->user, req->session.hash,
				  http_jstr(body, "mobile"),
				  http_jstr(body, "verification_token"), req->ip,
				  http_lang(req, body), util_now_ms(), &fe, &u);
	if (rc == PV_EINVAL)
		http_problem_fields(resp, &fe);
	else if (rc == PV_ECONFLICT)
		me_conflict(resp, &fe);
	else if (rc == PV_ENOTFOUND)
		me_gone(resp);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 200, api_me_json(req, &u));
	json_decref(body);
}

void api_me_email(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"email", NULL};
	json_t *body = me_begin(req, resp, strs);
	field_errs fe;
	int64_t wait = 0;
	char v[24];
	int rc;

	if (!body)
		return;
	rc = person_request_email(req->app->person, &req->user, http_jstr(body, "email"), req->ip,
				  http_lang(req, body), util_now_ms(), &fe, &wait);
	if (rc == PV_EINVAL) {
		http_problem_fields(resp, &fe);
	} else if (rc == PV_ECONFLICT) {
		me_conflict(resp, &fe);
	} else if (rc == PV_ELIMIT) {
		http_problem(resp, 429, "rate_limited",
			     "Too many changes of e-mail asked for today; please wait.", NULL);
		snprintf(v, sizeof v, "%lld", (long long)wait);
		http_add_header(resp, "Retry-After", v);
	} else if (rc != PV_OK) {
		http_problem_err(resp, rc);
	} else {
		http_json(resp, 202, json_pack("{s:s, s:i}", "status", "confirmation_sent", "expires_in",
					       req->app->person->email_ttl_s));
	}
	json_decref(body);
}

void api_me_email_confirm(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"token", NULL};
	json_t *body = me_begin(req, resp, strs);
	store_user u;
	int rc;

	if (!body)
		return;
	rc = person_confirm_email(req->app->person, &req->user, req->session.hash,
				  http_jstr(body, "token"), req->ip, util_now_ms(), &u);
	if (rc == PV_ENOTFOUND)
		http_problem(resp, 400, "token_invalid", MSG_TOKEN_INVALID, NULL);
	else if (rc == PV_ECONFLICT)
		http_problem(resp, 409, "email_taken", MSG_EMAIL_TAKEN,
			     json_pack("[o]", http_field_error("email", "email_taken", MSG_EMAIL_TAKEN)));
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		http_json(resp, 200, api_me_json(req, &u));
	json_decref(body);
}

/* Who did it, without naming anyone else. */
static const char *me_actor(const person_audit *a, const char *self)
{
	if (strcmp(a->actor_id, self) == 0)
		return "self";
	return a->actor_id[0] ? "administrator" : "system";
}

static json_t *me_export_json(http_req *req, const person_data *d)
{
	json_t *user = api_user_json(req->app, &d->user, d->roles, d->nroles), *arr, *doc;

	json_object_set_new(user, "source", json_string(d->user.source));
	json_object_set_new(user, "email_verified", json_boolean(d->user.email_verified));
	json_object_set_new(user, "updated_at", http_time(d->user.updated_at));
	json_object_set_new(user, "username", d->username[0] ? json_string(d->username) : json_null());
	doc = json_pack("{s:o, s:o, s:o}", "generated_at", http_time(util_now_ms()), "user", user,
			"pending_email",
			d->pending_email[0] ? json_pack("{s:s, s:o}", "email", d->pending_email,
							"expires_at",
							http_time(d->pending_email_expires))
					    : json_null());
	arr = json_array();
	for (size_t i = 0; i < d->nconsents; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s}", "kind",
						     d->consents[i].kind, "text_version",
						     d->consents[i].version, "given_at",
						     http_time(d->consents[i].at), "ip",
						     d->consents[i].client_ip));
	json_object_set_new(doc, "consents", arr);
	arr = json_array();
	for (size_t i = 0; i < d->nsessions; i++) {
		const store_session *se = &d->sessions[i];

		json_array_append_new(arr, json_pack("{s:o, s:o, s:o, s:s, s:b, s:b}", "created_at",
						     http_time(se->created_at), "last_seen_at",
						     http_time(se->last_seen), "expires_at",
						     http_time(se->expires_at), "ip", se->client_ip,
						     "ended", se->revoked, "current",
						     memcmp(se->hash, req->session.hash,
							    sizeof se->hash) == 0));
	}
	json_object_set_new(doc, "sessions", arr);
	arr = json_array();
	for (size_t i = 0; i < d->nrequests; i++)
		json_array_append_new(arr, api_request_json(&d->requests[i]));
	json_object_set_new(doc, "requests", arr);
	arr = json_array();
	if (d->has_upload)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "upload_id", d->upload.id,
						     "org_id", d->upload.org_id, "created_at",
						     http_time(d->upload.created_at)));
	json_object_set_new(doc, "uploads_including_me", arr);
	arr = json_array();
	for (size_t i = 0; i < d->naudit; i++)
		json_array_append_new(arr, json_pack("{s:o, s:s, s:s}", "at", http_time(d->audit[i].at),
						     "action", d->audit[i].action, "actor",
						     me_actor(&d->audit[i], d->user.id)));
	json_object_set_new(doc, "audit", arr);
	json_object_set_new(doc, "audit_truncated", json_boolean(d->audit_truncated));
	return doc;
}

void api_me_data(http_req *req, http_resp *resp)
{
	person_data *d = NULL;
	char disp[96], day[32];
	int rc;

	if (http_user_limit(req, resp, "self", req->app->cfg->self_per_hour) != PV_OK)
		return;
	rc = person_export(req->app->person, req->user.id, &d);
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		return;
	}
	http_json(resp, 200, me_export_json(req, d));
	person_data_free(d);
	util_rfc3339(util_now_ms(), day);
	snprintf(disp, sizeof disp, "attachment; filename=\"pravesh-my-data-%.10s.json\"", day);
	http_add_header(resp, "Content-Disposition", disp);
	http_add_header(resp, "Cache-Control", "no-store");
}

void api_me_erasure(http_req *req, http_resp *resp)
{
	static const char *const strs[] = {"verification_token", NULL};
	json_t *body = me_begin(req, resp, strs);
	field_errs fe;
	int64_t after = 0;
	int rc;

	if (!body)
		return;
	rc = person_close(req->app->person, &req->user, http_jstr(body, "verification_token"),
			  req->ip, http_lang(req, body), util_now_ms(), &fe, &after);
	if (rc == PV_EINVAL) {
		http_problem_fields(resp, &fe);
	} else if (rc == PV_ENOTFOUND) {
		me_gone(resp);
	} else if (rc != PV_OK) {
		http_problem_err(resp, rc);
	} else {
		/* every session ended, this one too: its cookies go */
		http_json(resp, 202, json_pack("{s:s, s:o}", "status", "closing", "erase_after",
					       http_time(after)));
		api_session_cookies_clear(req, resp);
	}
	json_decref(body);
}

void api_legal(http_req *req, http_resp *resp)
{
	const char *text, *version, *lang;
	const char *want = http_query(req, "lang");

	if (!req->app->texts ||
	    legal_get(req->app->texts, http_param(req, "doc"),
		      want && *want ? want : http_lang(req, NULL), &text, &version, &lang) != PV_OK) {
		http_problem(resp, 404, "not_found", "There is no such text.", NULL);
		return;
	}
	http_json(resp, 200, json_pack("{s:s, s:s, s:s, s:s}", "doc", http_param(req, "doc"),
				       "version", version, "lang", lang, "text", text));
}
