/* Operations endpoints: health, metrics, the OpenAPI document, and what
 * the pages need to know about the site. */
#include <stdlib.h>
#include <string.h>

#include "http/handlers.h"
#include "http/http.h"
#include "http/metrics.h"
#include "util/err.h"

/* docs/openapi.json, embedded by openapi_blob.S */
extern const char pv_openapi_start[];
extern const char pv_openapi_end[];

/* 503 `stopping` from the stop signal on (a readiness probe marks the
 * instance down; the stop does not wait for it), 503 when the store does
 * not answer, else 200. */
void api_healthz(http_req *req, http_resp *resp)
{
	store *st = req->app->st;

	if (http_server_stopping(req->srv)) {
		http_stopping_problem(resp);
		return;
	}
	if (store_ping(st) != PV_OK) {
		http_problem(resp, 503, "store_unavailable", "The store does not answer.", NULL);
		return;
	}
	http_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

void api_metrics(http_req *req, http_resp *resp)
{
	buf b;
	int rc;

	(void)req;
	buf_init(&b, 4u << 20);
	if ((rc = metrics_render(&b)) != PV_OK) {
		buf_free(&b);
		http_problem_err(resp, rc);
		return;
	}
	resp->body = buf_steal(&b, &resp->len);
	resp->status = 200;
	resp->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

void api_openapi(http_req *req, http_resp *resp)
{
	size_t n = (size_t)(pv_openapi_end - pv_openapi_start);

	(void)req;
	resp->body = malloc(n ? n : 1);
	if (!resp->body) {
		http_problem_err(resp, PV_ENOMEM);
		return;
	}
	memcpy(resp->body, pv_openapi_start, n);
	resp->len = n;
	resp->status = 200;
	resp->ctype = "application/json";
}

/* Only an http(s) URL is handed to the pages, so a setting can never
 * become a javascript: link. */
static const char *site_url(const char *u)
{
	return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
			       !strpbrk(u, " \t\r\n\"<>")
		       ? u
		       : NULL;
}

/* GET /api/v1/site: what the pages show of the operator's settings: the
 * learning URL, the help contact (a URL, else an e-mail address), the
 * grievance e-mail and the retention periods (the profile and the privacy
 * pages say them). */
void api_site(http_req *req, http_resp *resp)
{
	const pv_config *c = req->app->cfg;
	const char *url = c->help_url && *c->help_url ? site_url(c->help_url) : NULL;
	const char *mail = !url && c->help_email && *c->help_email ? c->help_email : NULL;

	http_add_header(resp, "Cache-Control", "no-cache");
	http_json(resp, 200,
		  json_pack("{s:s?, s:{s:s?, s:s?}, s:s?, s:i, s:i, s:i, s:i}", "learning_url",
			    site_url(c->learning_url), "help", "url", url, "email", mail,
			    "grievance_email",
			    c->grievance_email && *c->grievance_email ? c->grievance_email : NULL,
			    "erasure_grace_days", c->erasure_grace_days, "upload_retention_days",
			    c->upload_retention_days, "message_retention_days",
			    c->message_retention_days, "audit_retention_days",
			    c->audit_retention_days));
}
