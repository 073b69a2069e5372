/* Directory endpoints (public): organisation and position search, one
 * organisation. Answers are written straight into a buffer (no JSON tree):
 * search is the hottest public path. */
#include <stdlib.h>
#include <string.h>

#include "core/directory.h"
#include "core/validate.h"
#include "http/handlers.h"
#include "http/http.h"
#include "util/err.h"
#include "util/utf8.h"

#define DIRAPI_DEFAULT_LIMIT 20
#define DIRAPI_MAX_LIMIT 100

static void da_str(buf *b, const char *s)
{
	buf_add(b, "\"", 1);
	buf_add_json_str(b, s, strlen(s));
	buf_add(b, "\"", 1);
}

static void da_org(buf *b, const dir_snap *sn, const dir_org *o, int children)
{
	const dir_org *path[DIR_MAX_DEPTH];
	size_t n = dir_org_path(sn, o, path, DIR_MAX_DEPTH);

	buf_adds(b, "{\"id\":");
	da_str(b, o->id);
	buf_adds(b, ",\"name\":");
	da_str(b, o->name);
	buf_adds(b, ",\"sector\":");
	da_str(b, o->sector);
	buf_adds(b, ",\"type\":");
	da_str(b, o->type);
	buf_adds(b, ",\"parent_id\":");
	if (o->parent >= 0)
		da_str(b, path[n - 1]->id);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"path\":[");
	for (size_t i = 0; i < n; i++) {
		buf_adds(b, i ? ",{\"id\":" : "{\"id\":");
		da_str(b, path[i]->id);
		buf_adds(b, ",\"name\":");
		da_str(b, path[i]->name);
		buf_adds(b, "}");
	}
	buf_adds(b, "],\"under\":\"");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_adds(b, " > ");
		buf_add_json_str(b, path[i]->name, strlen(path[i]->name));
	}
	buf_adds(b, "\"");
	if (children)
		buf_addf(b, ",\"children\":%lld", (long long)o->children);
	buf_adds(b, "}");
}

static void da_send(http_resp *resp, buf *b)
{
	int rc = buf_error(b);

	if (rc != PV_OK) {
		buf_free(b);
		http_problem_err(resp, rc);
		return;
	}
	resp->body = buf_steal(b, &resp->len);
	resp->status = 200;
	resp->ctype = "application/json";
}

/* Checks q and limit: PV_OK, or PV_EINVAL after writing the problem. */
static int da_query(http_req *req, http_resp *resp, const char **q,
		    size_t *qlen, size_t *limit)
{
	const char *lim = http_query(req, "limit");
	size_t chars = 0;

	*q = http_query(req, "q");
	if (!*q)
		*q = "";
	*qlen = strlen(*q);
	if (!utf8_valid(*q, *qlen)) {
		http_problem(resp, 400, "invalid_query", "The search text is not valid UTF-8.", NULL);
		return PV_EINVAL;
	}
	if (*qlen > 200) {
		http_problem(resp, 400, "query_too_long", "The search text is longer than 200 bytes.", NULL);
		return PV_EINVAL;
	}
	for (size_t i = 0; i < *qlen; i++)
		chars += ((unsigned char)(*q)[i] & 0xC0) != 0x80 && (*q)[i] != ' ';
	if (chars < 2) {
		http_problem(resp, 400, "query_too_short",
			     "Type at least 2 characters to search.", NULL);
		return PV_EINVAL;
	}
	*limit = DIRAPI_DEFAULT_LIMIT;
	if (lim) {
		char *end;
		long v = strtol(lim, &end, 10);

		if (*lim == '\0' || *end || v < 1 || v > DIRAPI_MAX_LIMIT) {
			http_problem(resp, 400, "invalid_limit",
				     "limit must be a whole number from 1 to 100.", NULL);
			return PV_EINVAL;
		}
		*limit = (size_t)v;
	}
	return PV_OK;
}

/* The rendering of an organisation kept with the snapshot (made on its
 * first showing), or NULL without memory. */
static const char *da_org_json(const dir_snap *sn, const dir_org *o)
{
	const char *json = dir_org_render_get(sn, o);
	buf one;

	if (json)
		return json;
	buf_init(&one, 64u << 10);
	da_org(&one, sn, o, 0);
	json = buf_error(&one) == PV_OK ? dir_org_render_put(sn, o, buf_steal(&one, NULL)) : NULL;
	buf_free(&one);
	return json;
}

/* {"items":[...]} from the kept renderings, in one allocation of the
 * exact size (the hottest public answer: no growing, no second copy). */
static int da_orgs_answer(http_resp *resp, const dir_snap *sn, const dir_org *const *found,
			  size_t n)
{
	static const char head[] = "{\"items\":[", tail[] = "]}";
	const char *json[DIRAPI_MAX_LIMIT];
	size_t len[DIRAPI_MAX_LIMIT], total = sizeof head - 1 + sizeof tail - 1;
	char *body, *w;

	for (size_t i = 0; i < n; i++) {
		if (!(json[i] = da_org_json(sn, found[i])))
			return PV_ENOMEM; /* no half-written list */
		len[i] = strlen(json[i]);
		total += len[i] + (i > 0);
	}
	if (!(w = body = malloc(total + 1)))
		return PV_ENOMEM;
	memcpy(w, head, sizeof head - 1);
	w += sizeof head - 1;
	for (size_t i = 0; i < n; i++) {
		if (i)
			*w++ = ',';
		memcpy(w, json[i], len[i]);
		w += len[i];
	}
	memcpy(w, tail, sizeof tail); /* with its NUL */
	resp->body = body;
	resp->len = total;
	resp->status = 200;
	resp->ctype = "application/json";
	return PV_OK;
}

void api_orgs_search(http_req *req, http_resp *resp)
{
	const char *q, *sector = http_query(req, "sector");
	const dir_org *found[DIRAPI_MAX_LIMIT];
	size_t qlen, limit, n = 0;
	dir_snap *sn;
	int rc;

	if (da_query(req, resp, &q, &qlen, &limit) != PV_OK)
		return;
	if (sector && *sector && strcmp(sector, "center") && strcmp(sector, "state")) {
		http_problem(resp, 400, "invalid_sector", "sector must be center or state.", NULL);
		return;
	}
	sn = dir_acquire(req->app->dir);
	if (!sn) {
		http_problem(resp, 503, "store_unavailable", "The directory is not available.", NULL);
		return;
	}
	rc = dir_search_orgs(sn, q, qlen, sector, limit, found, &n);
	if (rc == PV_EINVAL) {
		dir_release(req->app->dir, sn);
		http_problem(resp, 400, "query_too_long", "The search has too many words.", NULL);
		return;
	}
	if (rc == PV_OK)
		rc = da_orgs_answer(resp, sn, found, n);
	dir_release(req->app->dir, sn);
	if (rc != PV_OK)
		http_problem_err(resp, rc);
}

void api_orgs_get(http_req *req, http_resp *resp)
{
	const char *id = http_param(req, "id");
	const dir_org *o;
	dir_snap *sn = dir_acquire(req->app->dir);
	buf b;

	if (!sn) {
		http_problem(resp, 503, "store_unavailable", "The directory is not available.", NULL);
		return;
	}
	o = dir_org_by_id(sn, id);
	if (!o || !o->active) {
		dir_release(req->app->dir, sn);
		http_problem(resp, 404, "org_not_found", "There is no organisation with this id.", NULL);
		return;
	}
	buf_init(&b, 1u << 20);
	da_org(&b, sn, o, 1);
	dir_release(req->app->dir, sn);
	da_send(resp, &b);
}

void api_positions_search(http_req *req, http_resp *resp)
{
	const char *q;
	const dir_position *found[DIRAPI_MAX_LIMIT];
	size_t qlen, limit, n = 0;
	dir_snap *sn;
	buf b;

	if (da_query(req, resp, &q, &qlen, &limit) != PV_OK)
		return;
	sn = dir_acquire(req->app->dir);
	if (!sn) {
		http_problem(resp, 503, "store_unavailable", "The directory is not available.", NULL);
		return;
	}
	if (dir_search_positions(sn, q, qlen, limit, found, &n) == PV_EINVAL) {
		dir_release(req->app->dir, sn);
		http_problem(resp, 400, "query_too_long", "The search has too many words.", NULL);
		return;
	}
	buf_init(&b, 1u << 20);
	buf_adds(&b, "{\"items\":[");
	for (size_t i = 0; i < n; i++) {
		buf_adds(&b, i ? ",{\"id\":" : "{\"id\":");
		da_str(&b, found[i]->id);
		buf_adds(&b, ",\"name\":");
		da_str(&b, found[i]->name);
		buf_adds(&b, "}");
	}
	buf_adds(&b, "]}");
	dir_release(req->app->dir, sn);
	da_send(resp, &b);
}
