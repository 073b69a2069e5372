/* auth: the one place that decides whether a request may reach its route:
 * resolves the session (bearer token or cookie), checks CSRF for unsafe
 * cookie requests, and checks the route's role. */
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/accounts.h"
#include "core/limits.h"
#include "core/otp.h"
#include "core/sessions.h"
#include "http/http.h"
#include "util/err.h"
#include "util/util.h"

int http_cookie(http_req *req, const char *name, char *out, size_t cap)
{
	const char *v = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);

	return v ? util_strncpy0(out, cap, v, strlen(v)) : PV_ENOTFOUND;
}

void http_set_cookie(http_req *req, http_resp *resp, const char *name, const char *value,
		     const char *path, int max_age_s, int http_only)
{
	char c[256];

	snprintf(c, sizeof c, "%s=%s; Path=%s; %sSameSite=Lax; Max-Age=%d%s", name, value, path,
		 http_only ? "HttpOnly; " : "", max_age_s, req->app->secure_cookies ? "; Secure" : "");
	http_add_header(resp, "Set-Cookie", c);
	sodium_memzero(c, sizeof c); /* a session's token */
}

_Static_assert(HTTP_ROLES_MAX == ACCT_ROLES_MAX, "a request holds every role of its user");

static int auth_unsafe(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

int http_has_role(const http_req *req, const char *role, const char *org)
{
	for (size_t i = 0; i < req->nroles; i++)
		if (strcmp(req->roles[i].role, role) == 0 &&
		    (!org || strcmp(req->roles[i].org_id, org) == 0))
			return 1;
	return 0;
}

int http_session_user(http_req *req, http_resp *resp)
{
	app *a = req->app;
	const char *authz;
	char token[128] = "", cookie_csrf[128];
	int rc;

	if (req->authed)
		return PV_OK;
	authz = http_header_in(req, "Authorization");
	if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
		util_strlcpy(token, authz + 7, sizeof token);
	} else if (http_cookie(req, "pravesh_session", token, sizeof token) == PV_OK) {
		req->via_cookie = 1;
	}
	rc = token[0] ? sess_resolve(a->sess, token, util_now_ms(), &req->session, &req->user)
		      : PV_ENOTFOUND;
	sodium_memzero(token, sizeof token);
	/* administrators' roles are active only in a session that came from
	 * the password and its second factor */
	req->nroles = 0;
	if (rc == PV_OK && req->session.elevated)
		rc = acct_roles(a->st, req->user.id, req->roles, ACCT_ROLES_MAX, &req->nroles);
	if (rc != PV_OK) {
		if (rc == PV_ENOTFOUND || rc == PV_EEXPIRED || rc == PV_EDENIED)
			http_problem(resp, 401, "unauthenticated",
				     rc == PV_EEXPIRED ? "Your session has ended; please log in again."
						       : "Please log in.", NULL);
		else
			http_problem_err(resp, rc);
		return PV_EDENIED;
	}
	req->authed = 1;
	if (req->via_cookie && auth_unsafe(req->method)) {
		const char *hdr = http_header_in(req, "X-CSRF-Token");

		if (!hdr || http_cookie(req, "pravesh_csrf", cookie_csrf, sizeof cookie_csrf) != PV_OK ||
		    strlen(hdr) != strlen(cookie_csrf) ||
		    sodium_memcmp(hdr, cookie_csrf, strlen(hdr)) != 0 ||
		    !sess_csrf_ok(a->sess, &req->session, hdr)) {
			http_problem(resp, 403, "csrf_failed",
				     "Missing or wrong X-CSRF-Token header.", NULL);
			req->authed = 0;
			return PV_EDENIED;
		}
	}
	return PV_OK;
}

int http_authorise(http_req *req, http_resp *resp)
{
	int rc;

	if (req->route->auth == AUTH_NONE)
		return PV_OK;
	if ((rc = http_session_user(req, resp)) != PV_OK)
		return rc;
	if ((req->route->auth == AUTH_SPV && !http_has_role(req, "spv_admin", NULL)) ||
	    (req->route->auth == AUTH_MDO && !http_has_role(req, "spv_admin", NULL) &&
	     !http_has_role(req, "mdo_admin", NULL))) {
		http_problem(resp, 403, "forbidden", "Your role does not allow this.", NULL);
		return PV_EDENIED;
	}
	return PV_OK;
}

const char *http_lang(http_req *req, json_t *body)
{
	const char *l = body ? http_jstr(body, "lang") : NULL;

	if (!l)
		l = http_header_in(req, "Accept-Language");
	return l && strncmp(l, "hi", 2) == 0 ? "hi" : "en";
}

const char *http_jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int http_mdo_org(http_req *req, http_resp *resp, char org[STORE_ID_MAX])
{
	const char *asked = http_query(req, "org_id");
	size_t mdo = 0, i;

	if (http_has_role(req, "spv_admin", NULL)) {
		if (!asked || !*asked) {
			http_problem(resp, 400, "org_required",
				     "An SPV administrator names the organisation with ?org_id=.", NULL);
			return PV_EINVAL;
		}
		if (util_strlcpy(org, asked, STORE_ID_MAX) != PV_OK) {
			http_problem(resp, 404, "org_not_found", "There is no organisation with this id.", NULL);
			return PV_ENOTFOUND;
		}
		return PV_OK;
	}
	for (i = 0; i < req->nroles; i++) {
		if (strcmp(req->roles[i].role, "mdo_admin") != 0)
			continue;
		mdo++;
		if (!asked || !*asked || strcmp(asked, req->roles[i].org_id) == 0) {
			util_strlcpy(org, req->roles[i].org_id, STORE_ID_MAX);
			if (asked && *asked)
				return PV_OK;
		}
	}
	if (mdo == 0 || (asked && *asked)) {
		http_problem(resp, 403, "forbidden", "You do not administer this organisation.", NULL);
		return PV_EDENIED;
	}
	if (mdo > 1) {
		http_problem(resp, 400, "org_required",
			     "You administer several organisations: name one with ?org_id=.", NULL);
		return PV_EINVAL;
	}
	return PV_OK;
}

/* Counts one hit of kind for value against per_hour; writes 429 or the
 * error. */
static int auth_limit(http_req *req, http_resp *resp, const char *kind, const char *value,
		      int per_hour, const char *detail)
{
	app *a = req->app;
	int64_t wait = 0;
	char v[24];
	int rc = lim_hit(a->st, a->otp->k, kind, value, 3600 * 1000LL, per_hour, util_now_ms(),
			 &wait);

	if (rc == PV_ELIMIT) {
		http_problem(resp, 429, "rate_limited", detail, NULL);
		snprintf(v, sizeof v, "%lld", (long long)wait);
		http_add_header(resp, "Retry-After", v);
	} else if (rc != PV_OK) {
		http_problem_err(resp, rc);
	}
	return rc;
}

int http_user_limit(http_req *req, http_resp *resp, const char *kind, int per_hour)
{
	return auth_limit(req, resp, kind, req->user.id, per_hour,
			  "Too many requests for your account; please wait.");
}

int http_ip_limit(http_req *req, http_resp *resp, const char *kind, int per_hour)
{
	return auth_limit(req, resp, kind, req->ip, per_hour,
			  "Too many requests from this address; please wait.");
}
