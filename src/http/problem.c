/* problem: JSON answers, RFC 9457 problem details, and the one mapping from
 * pv_err to HTTP status. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"
#include "core/fielderr.h"

static const char *prob_title(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

static void prob_set_body(http_resp *resp, int status, const char *ctype,
			  json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);

	json_decref(doc);
	if (!resp->body_static)
		free(resp->body);
	resp->body_static = 0;
	resp->body = s;
	resp->len = s ? strlen(s) : 0;
	resp->status = s ? status : 500;
	resp->ctype = ctype;
}

void http_json(http_resp *resp, int status, json_t *doc)
{
	if (!doc) {
		http_problem(resp, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	prob_set_body(resp, status, "application/json", doc);
}

void http_problem(http_resp *resp, int status, const char *code,
		  const char *detail, json_t *errors)
{
	http_problem_ext(resp, status, code, detail, errors, NULL);
}

void http_problem_ext(http_resp *resp, int status, const char *code,
		      const char *detail, json_t *errors, json_t *extra)
{
	char type[96];
	json_t *doc;

	snprintf(type, sizeof type, "/errors/%s", code);
	doc = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title",
			prob_title(status), "status", status, "code", code,
			"detail", detail ? detail : "");
	if (doc && errors)
		json_object_set_new(doc, "errors", errors);
	else
		json_decref(errors);
	if (doc && extra)
		json_object_update_missing(doc, extra);
	json_decref(extra);
	if (!doc) {
		static const char oom[] = "{\"type\":\"/errors/internal_error\",\"status\":500,\"code\":\"internal_error\"}";

		if (!resp->body_static)
			free(resp->body);
		resp->body_static = 0;
		resp->body = strdup(oom);
		resp->len = resp->body ? strlen(oom) : 0;
		resp->status = 500;
		resp->ctype = "application/problem+json";
		return;
	}
	prob_set_body(resp, status, "application/problem+json", doc);
}

void http_problem_err(http_resp *resp, int err)
{
	switch (err) {
	case PV_ENOTFOUND:
		http_problem(resp, 404, "not_found", "No such record.", NULL);
		break;
	case PV_ECONFLICT:
		http_problem(resp, 409, "conflict", "The record changed or already exists.", NULL);
		break;
	case PV_EINVAL:
		http_problem(resp, 400, "invalid_request", "The request is not valid.", NULL);
		break;
	case PV_ELIMIT:
		http_problem(resp, 413, "payload_too_large", "A limit was exceeded.", NULL);
		break;
	case PV_EBUSY:
		http_problem(resp, 503, "busy", "The server is busy; try again.", NULL);
		http_add_header(resp, "Retry-After", "1");
		break;
	case PV_EDENIED:
		http_problem(resp, 403, "forbidden", "You may not do this.", NULL);
		break;
	case PV_ESTORE:
		log_kv(LOG_ERROR, "store unavailable", NULL);
		http_problem(resp, 503, "store_unavailable",
			     "The server cannot reach its data just now; try again.", NULL);
		http_add_header(resp, "Retry-After", "1");
		break;
	case PV_ENOSPACE:
		log_kv(LOG_ERROR, "no space left on the device", NULL);
		http_problem(resp, 507, "insufficient_storage",
			     "The server has no room to store this just now.", NULL);
		break;
	default:
		log_kv(LOG_ERROR, "internal error", "error", pv_strerror(err), NULL);
		http_problem(resp, 500, "internal_error",
			     "Something went wrong on the server.", NULL);
	}
}

void http_add_header(http_resp *resp, const char *name, const char *value)
{
	if (resp->nhdr == HTTP_MAX_HEADERS)
		return;
	resp->hval[resp->nhdr] = strdup(value);
	if (!resp->hval[resp->nhdr])
		return;
	snprintf(resp->hname[resp->nhdr], sizeof resp->hname[0], "%s", name);
	resp->nhdr++;
}

json_t *http_field_error(const char *field, const char *code,
			 const char *message)
{
	return json_pack("{s:s, s:s, s:s}", "field", field, "code", code,
			 "message", message);
}

const char *http_query(http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header_in(http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int http_parse_json_object(const char *p, size_t n, json_t **out)
{
	json_t *doc;

	*out = NULL;
	if (!p || n == 0)
		return PV_EINVAL;
	/* jansson refuses invalid UTF-8 and NUL inside strings by default */
	doc = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		return PV_EFORMAT;
	}
	*out = doc;
	return PV_OK;
}

json_t *http_body_json(http_req *req, http_resp *resp)
{
	const char *ct = http_header_in(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_t *doc;
	int rc;

	if (!http_is_json_type(ct)) {
		http_problem(resp, 415, "unsupported_media_type",
			     "Send the body as application/json.", NULL);
		return NULL;
	}
	rc = http_parse_json_object(req->body.p, req->body.len, &doc);
	if (rc == PV_EINVAL) {
		http_problem(resp, 400, "malformed_json", "The body is empty; a JSON object is expected.", NULL);
		return NULL;
	}
	if (rc != PV_OK) {
		http_problem(resp, 400, "malformed_json",
			     "The body is not a valid JSON object.", NULL);
		return NULL;
	}
	return doc;
}

int http_jbool(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

json_t *http_field_errors(const struct field_errs *fe)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < fe->n; i++)
		json_array_append_new(a, http_field_error(fe->e[i].field, fe->e[i].code,
							  fe->e[i].message));
	return a;
}

int http_check_strings(json_t *body, const char *const *names, http_resp *resp)
{
	json_t *errs = json_array();

	for (; *names; names++) {
		json_t *v = json_object_get(body, *names);

		if (v && !json_is_string(v) && !json_is_null(v))
			json_array_append_new(errs, http_field_error(*names, "invalid_type",
								     "This field must be text"));
	}
	if (json_array_size(errs) == 0) {
		json_decref(errs);
		return PV_OK;
	}
	http_problem(resp, 400, "validation_failed", "Some fields are not valid.", errs);
	return PV_EINVAL;
}

/* A whole number from lo to hi into *out (left as it is when s is NULL):
 * PV_OK or PV_EINVAL. */
static int prob_num(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;

	if (!s)
		return PV_OK;
	v = strtoll(s, &end, 10);
	if (!*s || *end || v < lo || v > hi)
		return PV_EINVAL;
	*out = v;
	return PV_OK;
}

int http_page(http_req *req, http_resp *resp, store_page *pg)
{
	pg->page = 1;
	pg->per_page = 20;
	if (prob_num(http_query(req, "page"), 1, 1000000, &pg->page) != PV_OK ||
	    prob_num(http_query(req, "per_page"), 1, 100, &pg->per_page) != PV_OK) {
		http_problem(resp, 400, "invalid_page",
			     "page is a whole number from 1; per_page from 1 to 100.", NULL);
		return PV_EINVAL;
	}
	return PV_OK;
}

json_t *http_list(json_t *items, int64_t total, store_page pg)
{
	return json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total,
			 "page", (json_int_t)pg.page, "per_page", (json_int_t)pg.per_page);
}

json_t *http_time(int64_t ms)
{
	char t[32];

	if (!ms)
		return json_null();
	util_rfc3339(ms, t);
	return json_string(t);
}

void http_problem_fields(http_resp *resp, const struct field_errs *fe)
{
	http_problem(resp, 400, "validation_failed", "Some fields are not valid.",
		     http_field_errors(fe));
}
