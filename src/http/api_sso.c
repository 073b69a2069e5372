/* Single sign-on (Parichay or an OpenID provider): the redirect to the
 * provider, its callback, and whether the login page shows the button.
 * The protocol lives in sso/; here the browser side: the state is bound to
 * the browser by a short-lived cookie (so nobody can log a victim into
 * their own account with a callback URL), the verified e-mail is mapped to
 * a user, and every failure is a redirect to the login page with a reason
 * in the log and none in the URL beyond the error word. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sessions.h"
#include "http/handlers.h"
#include "http/http.h"
#include "sso/sso.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define SSO_COOKIE "pravesh_sso"
#define SSO_CALLBACK_PATH "/auth/sso/parichay/callback"

/* A 302; no_store adds Cache-Control (the session cookies add their own). */
static void as_redirect(http_resp *resp, const char *location, int no_store)
{
	resp->status = 302;
	http_add_header(resp, "Location", location);
	if (no_store)
		http_add_header(resp, "Cache-Control", "no-store");
}

/* The login page with an error word, and the log line saying why. */
static void as_refuse(http_resp *resp, const char *error, const char *why)
{
	char loc[64];

	log_kv(LOG_WARN, "sso login refused", "error", error, "reason", why, NULL);
	snprintf(loc, sizeof loc, "/login?error=%s", error);
	as_redirect(resp, loc, 1);
}

/* PV_OK when single sign-on is configured and the client's address is
 * within its limit of starts and callbacks (each writes a row, and each
 * may call the provider); else an error after writing the problem. */
static int as_allowed(http_req *req, http_resp *resp)
{
	if (!req->app->sso) {
		http_problem(resp, 404, "not_found", "Single sign-on is not configured.", NULL);
		return PV_ENOTFOUND;
	}
	return http_ip_limit(req, resp, "sso-ip", req->app->cfg->sso_per_ip_hour);
}

static void as_callback_uri(const app *a, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", a->public_url, SSO_CALLBACK_PATH);
}

/* The binding cookie: set with the state, cleared at the callback. */
static void as_bind_cookie(http_req *req, http_resp *resp, const char *state)
{
	http_set_cookie(req, resp, SSO_COOKIE, state, "/auth/sso", state[0] ? SSO_MAX_AGE_S : 0, 1);
}

int api_sso_bound(const char *bound, const char *state)
{
	return state && strlen(bound) == strlen(state) &&
	       sodium_memcmp(bound, state, strlen(state)) == 0;
}

void api_sso_start(http_req *req, http_resp *resp)
{
	app *a = req->app;
	char cb[600], state[SSO_STATE_MAX], why[SSO_WHY_MAX];
	char *url = NULL;
	int rc;

	if (as_allowed(req, resp) != PV_OK)
		return;
	as_callback_uri(a, cb, sizeof cb);
	rc = sso_begin(a->sso, cb, util_now_ms(), &url, state, why);
	if (rc != PV_OK) {
		as_refuse(resp, "sso_failed", why);
		return;
	}
	as_bind_cookie(req, resp, state);
	as_redirect(resp, url, 1);
	sodium_memzero(state, sizeof state);
	free(url);
}

void api_sso_callback(http_req *req, http_resp *resp)
{
	app *a = req->app;
	const char *state = http_query(req, "state");
	const char *code = http_query(req, "code");
	char cb[600], why[SSO_WHY_MAX] = "", bound[SSO_STATE_MAX];
	sso_identity id;
	sess_sso_result res;
	int rc;

	if (as_allowed(req, resp) != PV_OK)
		return;
	as_bind_cookie(req, resp, ""); /* one callback per attempt */
	if (http_cookie(req, SSO_COOKIE, bound, sizeof bound) != PV_OK || !api_sso_bound(bound, state)) {
		as_refuse(resp, "sso_failed", "the state is not the one this browser started with");
		return;
	}
	as_callback_uri(a, cb, sizeof cb);
	rc = sso_finish(a->sso, cb, code, state, http_query(req, "error") != NULL, util_now_ms(),
			&id, why);
	if (rc != PV_OK) {
		as_refuse(resp, "sso_failed", why);
		return;
	}
	rc = sess_login_sso(a->sess, id.email, req->ip, util_now_ms(), &res);
	if (rc != PV_OK) {
		as_refuse(resp, "sso_failed", pv_strerror(rc));
		return;
	}
	if (res.status != SESS_SSO_OK) {
		log_kv(LOG_INFO, "sso login refused for a user", "user", res.user.id, NULL);
		as_refuse(resp, res.status == SESS_SSO_INACTIVE ? "sso_inactive" : "sso_not_registered",
			  res.why);
		return;
	}
	api_session_cookies(req, resp, res.token, res.csrf);
	log_kv(LOG_INFO, "sso login", "user", res.user.id, NULL);
	sodium_memzero(&res, sizeof res);
	as_redirect(resp, "/", 0);
}

void api_sso_info(http_req *req, http_resp *resp)
{
	const app *a = req->app;
	const char *name = a->sso ? sso_name(a->sso) : a->cfg->sso_name;

	http_json(resp, 200, json_pack("{s:b, s:s}", "enabled", a->sso != NULL, "name",
				       name && *name ? name : "Parichay"));
}
