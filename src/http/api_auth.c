/* One-time passwords, logins, logout and the current user. */
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/accounts.h"
#include "core/admin_login.h"
#include "core/directory.h"
#include "core/fielderr.h"
#include "core/otp.h"
#include "core/sessions.h"
#include "core/validate.h"
#include "http/bodies.h"
#include "http/handlers.h"
#include "http/http.h"
#include "notify/notify.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

static void aa_retry_after(http_resp *resp, int64_t s)
{
	char v[24];

	snprintf(v, sizeof v, "%lld", (long long)(s > 0 ? s : 1));
	http_add_header(resp, "Retry-After", v);
}

static void aa_rate_limited(http_resp *resp, int64_t s, const char *detail)
{
	http_problem(resp, 429, "rate_limited", detail, NULL);
	aa_retry_after(resp, s);
}

void api_otp_send(http_req *req, http_resp *resp)
{
	app *a = req->app;
	json_t *body = http_body_json(req, resp);
	const char *purpose, *mobile;
	body_otp_in in;
	otp_result res;
	int rc;

	if (!body)
		return;
	if (body_otp(body, BODY_OTP_SEND, &in, resp) != PV_OK)
		goto out;
	mobile = in.mobile;
	purpose = in.purpose;
	/* a change of mobile and a closing belong to a logged-in user: this
	 * anonymous route finds the session itself (401 without one) */
	if (otp_purpose_needs_user(purpose) && http_session_user(req, resp) != PV_OK)
		goto out;
	/* the same answer whether or not the number is registered: what the
	 * SMS says differs, never the answer (otp_request) */
	rc = otp_request(a->otp, mobile, purpose, req->authed ? &req->user : NULL, req->ip,
			 http_lang(req, body), util_now_ms(), &res);
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		goto out;
	}
	if (res.status != OTP_OK) {
		aa_rate_limited(resp, res.retry_after_s,
				"Too many codes requested; please wait before asking again.");
		goto out;
	}
	notify_kick();
	http_json(resp, 202, json_pack("{s:s, s:I, s:I}", "mobile", mobile, "expires_in",
				       (json_int_t)res.expires_in_s, "resend_in",
				       (json_int_t)res.resend_in_s));
out:
	json_decref(body);
}

void api_otp_verify(http_req *req, http_resp *resp)
{
	app *a = req->app;
	json_t *body = http_body_json(req, resp);
	const char *purpose, *code, *mobile;
	char token[OTP_TOKEN_LEN];
	body_otp_in in;
	otp_result res;
	int64_t now = util_now_ms();
	int rc;

	if (!body)
		return;
	if (body_otp(body, BODY_OTP_VERIFY, &in, resp) != PV_OK)
		goto out;
	mobile = in.mobile;
	purpose = in.purpose;
	code = in.code;
	/* the token of a change of mobile or a closing is bound to the user */
	if (otp_purpose_needs_user(purpose) && http_session_user(req, resp) != PV_OK)
		goto out;
	rc = otp_check(a->otp, mobile, purpose, code ? code : "", req->ip, now, &res);
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		goto out;
	}
	switch (res.status) {
	case OTP_OK:
		if ((rc = otp_token_issue(a->otp, mobile, purpose, req->authed ? req->user.id : NULL, now,
					  token)) != PV_OK) {
			http_problem_err(resp, rc);
			break;
		}
		http_json(resp, 200, json_pack("{s:s, s:i}", "verification_token", token,
					       "expires_in", a->otp->pol.verify_ttl_s));
		sodium_memzero(token, sizeof token);
		break;
	case OTP_EXPIRED:
		http_problem(resp, 400, "otp_expired", "The code has expired; please ask for a new one.",
			     json_pack("[o]", http_field_error("code", "otp_expired",
							       "The code has expired; please ask for a new one.")));
		break;
	case OTP_LOCKED:
		http_problem(resp, 429, "otp_locked",
			     "Too many wrong codes; please ask for a new one.", NULL);
		aa_retry_after(resp, a->otp->pol.resend_s);
		break;
	case OTP_RATE_LIMITED:
		aa_rate_limited(resp, res.retry_after_s,
				"Too many wrong codes from this address; please wait.");
		break;
	default:
		http_problem_ext(resp, 400, "otp_invalid", "The code is not right.",
				 json_pack("[o]", http_field_error("code", "otp_invalid",
								   "The code is not right.")),
				 json_pack("{s:i}", "attempts_left", res.attempts_left));
	}
out:
	json_decref(body);
}

void api_session_cookies(http_req *req, http_resp *resp, const char *token, const char *csrf)
{
	int age = req->app->sess->absolute_s;

	http_set_cookie(req, resp, "pravesh_session", token, "/", age, 1);
	http_set_cookie(req, resp, "pravesh_csrf", csrf, "/", age, 0);
	http_add_header(resp, "Cache-Control", "no-store");
}

void api_session_cookies_clear(http_req *req, http_resp *resp)
{
	http_set_cookie(req, resp, "pravesh_session", "", "/", 0, 1);
	http_set_cookie(req, resp, "pravesh_csrf", "", "/", 0, 0);
}

/* Answers a login: the session's cookies and {"token","csrf_token","user"};
 * the user's administrator roles are shown (and active) only in an
 * elevated session. */
static void aa_login_answer(http_req *req, http_resp *resp, const store_user *u,
			    const char *token, const char *csrf, int elevated)
{
	app *a = req->app;
	json_t *doc;

	api_session_cookies(req, resp, token, csrf);
	req->user = *u;
	req->nroles = 0;
	if (elevated)
		acct_roles(a->st, u->id, req->roles, ACCT_ROLES_MAX, &req->nroles);
	doc = json_pack("{s:s, s:s, s:o}", "token", token, "csrf_token", csrf, "user",
			api_user_json(a, u, req->roles, req->nroles));
	http_json(resp, 200, doc);
}

/* The answer to an OTP login. */
static void aa_otp_answer(http_req *req, http_resp *resp, int rc, const sess_login_result *res)
{
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		return;
	}
	switch (res->status) {
	case SESS_LOGIN_OK:
		aa_login_answer(req, resp, &res->user, res->token, res->csrf, 0);
		break;
	case SESS_LOGIN_RATE_LIMITED:
		aa_rate_limited(resp, res->retry_after_s,
				"Too many wrong codes from this address; please wait.");
		break;
	case SESS_LOGIN_NUMBER_LOCKED:
		aa_rate_limited(resp, res->retry_after_s,
				"Too many failed logins for this number; please wait.");
		break;
	case SESS_LOGIN_CODE_DEAD:
		/* as /otp/verify says it: this code is dead, a new one is needed */
		http_problem(resp, 429, "otp_locked",
			     "Too many wrong codes; please ask for a new one.", NULL);
		aa_retry_after(resp, res->retry_after_s);
		break;
	case SESS_LOGIN_NOT_ACTIVATED:
		http_problem(resp, 403, "not_activated",
			     "Please activate your account with the link sent to your e-mail first.", NULL);
		break;
	case SESS_LOGIN_INACTIVE:
		http_problem(resp, 403, "account_inactive", "This account has been deactivated.", NULL);
		break;
	default:
		http_problem_ext(resp, 401, "login_failed", "The mobile number or the code is not right.",
				 NULL, res->attempts_left > 0
					       ? json_pack("{s:i}", "attempts_left", res->attempts_left)
					       : NULL);
	}
}

/* An OTP login in flight: the core's job, and the transaction's result
 * for the answer. Owned by the request (req->ext) once deferred. */
struct aa_otp_job {
	sess_login_job job; /* first: the core's done gets this pointer */
	int rc;
};

static void aa_otp_free(void *ext)
{
	struct aa_otp_job *j = ext;

	sodium_memzero(j, sizeof *j);
	free(j);
}

/* The answer, made on the HTTP thread when it takes the connection back;
 * the secrets are forgotten with the job. */
static void aa_otp_late(http_req *req, http_resp *resp)
{
	struct aa_otp_job *j = req->ext;

	log_set_request_id(req->rid);
	aa_otp_answer(req, resp, j->rc, &j->job.res);
	req->ext = NULL;
	req->ext_free = NULL;
	aa_otp_free(j);
	log_set_request_id(NULL);
}

/* The login's transaction done (on the store's thread, or this one): keep
 * the result and hand the connection back, which makes the answer
 * (aa_otp_late): the store's thread goes on to the next batch at once. */
static void aa_otp_done(sess_login_job *job, int rc)
{
	struct aa_otp_job *j = (struct aa_otp_job *)job;
	http_req *req = job->ctx;

	j->rc = rc;
	req->ext = j;
	req->ext_free = aa_otp_free;
	http_defer_done_late(req, aa_otp_late);
}

/* The login runs as one store transaction that does not hold this thread
 * while it waits for the group commit (sess_login_otp_async). */
void api_auth_otp(http_req *req, http_resp *resp)
{
	app *a = req->app;
	json_t *body = http_body_json(req, resp);
	struct aa_otp_job *j;
	body_otp_in in;

	if (!body)
		return;
	if (body_otp(body, BODY_OTP_LOGIN, &in, resp) != PV_OK)
		goto out;
	if (!(j = calloc(1, sizeof *j))) {
		http_problem_err(resp, PV_ENOMEM);
		goto out;
	}
	j->job.ctx = req;
	http_defer(req);
	/* the job keeps copies of the number and the code: body may go */
	sess_login_otp_async(a->sess, a->otp, in.mobile, in.code, req->ip,
			     util_now_ms(), &j->job, aa_otp_done);
out:
	json_decref(body);
}

/* The answer to either step of an administrator's login. */
static void aa_admin_answer(http_req *req, http_resp *resp, adm_result *r)
{
	switch (r->status) {
	case ADM_SESSION:
		aa_login_answer(req, resp, &r->user, r->token, r->csrf, 1);
		break;
	case ADM_CHALLENGE:
		notify_kick();
		http_json(resp, 200,
			  json_pack("{s:s, s:s, s:I, s:s}", "second_factor", "sms", "challenge",
				    r->challenge, "expires_in", (json_int_t)r->expires_in_s,
				    "mobile_hint", r->mobile_hint));
		break;
	case ADM_LIMITED:
		aa_rate_limited(resp, r->retry_after_s, "Too many attempts; please wait.");
		break;
	case ADM_CODE_WRONG:
		http_problem_ext(resp, 401, "login_failed", "The code is not right.",
				 json_pack("[o]", http_field_error("code", "otp_invalid",
								   "The code is not right.")),
				 json_pack("{s:i}", "attempts_left", r->attempts_left));
		break;
	case ADM_RESTART:
		http_problem_ext(resp, 401, "login_failed",
				 "This sign-in has ended; please enter your username and password again.",
				 NULL, json_pack("{s:i, s:b}", "attempts_left", 0, "restart", 1));
		break;
	default:
		http_problem(resp, 401, "login_failed", "The username or the password is not right.",
			     NULL);
	}
}

void api_auth_password(http_req *req, http_resp *resp)
{
	app *a = req->app;
	json_t *body = http_body_json(req, resp);
	adm_result r;
	int rc;

	if (!body)
		return;
	rc = adm_password(a->adm, http_jstr(body, "username"), http_jstr(body, "password"), req->ip,
			  http_lang(req, body), util_now_ms(), &r);
	if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		aa_admin_answer(req, resp, &r);
	sodium_memzero(&r, sizeof r);
	json_decref(body);
}

void api_auth_password_otp(http_req *req, http_resp *resp)
{
	app *a = req->app;
	json_t *body = http_body_json(req, resp);
	adm_result r;
	int rc;

	if (!body)
		return;
	rc = adm_second_factor(a->adm, http_jstr(body, "challenge"), http_jstr(body, "code"), req->ip,
			       util_now_ms(), &r);
	if (rc != PV_OK)
		http_problem_err(resp, rc);
	else
		aa_admin_answer(req, resp, &r);
	sodium_memzero(&r, sizeof r);
	json_decref(body);
}

void api_auth_logout(http_req *req, http_resp *resp)
{
	int rc = sess_end(req->app->sess, &req->session);

	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		return;
	}
	api_session_cookies_clear(req, resp);
	resp->status = 204;
}

json_t *api_user_json(app *a, const store_user *u, const store_role *roles, size_t nroles)
{
	char created[32];
	json_t *doc, *jroles = json_array(), *org = json_null(), *pos = json_null();
	dir_snap *sn = dir_acquire(a->dir);

	if (sn) {
		const dir_org *o = dir_org_by_id(sn, u->org_id);
		const dir_position *p = u->position_id[0] ? dir_position_by_id(sn, u->position_id) : NULL;

		if (o) {
			const dir_org *path[DIR_MAX_DEPTH];
			size_t n = dir_org_path(sn, o, path, DIR_MAX_DEPTH);
			char under[2048] = "";
			size_t used = 0;

			for (size_t i = 0; i < n && used < sizeof under - 1; i++) {
				int w = snprintf(under + used, sizeof under - used, "%s%s",
						 i ? " > " : "", path[i]->name);

				used = w < 0 ? sizeof under - 1
					     : used + (size_t)w < sizeof under ? used + (size_t)w
									       : sizeof under - 1;
			}
			org = json_pack("{s:s, s:s, s:s}", "id", o->id, "name", o->name, "under", under);
		}
		if (p)
			pos = json_pack("{s:s, s:s}", "id", p->id, "name", p->name);
		dir_release(a->dir, sn);
	}
	for (size_t i = 0; i < nroles; i++) {
		if (roles[i].org_id[0])
			json_array_append_new(jroles, json_pack("{s:s, s:s}", "role", roles[i].role,
								"org_id", roles[i].org_id));
		else
			json_array_append_new(jroles, json_pack("{s:s}", "role", roles[i].role));
	}
	util_rfc3339(u->created_at, created);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:o, s:o, s:o, s:s}", "id", u->id,
			"first_name", u->first_name, "last_name", u->last_name, "email", u->email,
			"official_email", u->official_email, "mobile", u->mobile, "status", u->status,
			"org", org, "position", pos, "roles", jroles, "created_at", created);
	return doc;
}

void api_me(http_req *req, http_resp *resp)
{
	http_json(resp, 200, api_me_json(req, &req->user));
}
