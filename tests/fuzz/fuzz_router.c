/* fuzz_router: what the server does with a request line before any
 * handler runs, with the same functions: URL decoding of the path and of
 * each query argument (http_unescape, MHD's unescape callback; MHD turns
 * '+' into a space first and splits the query at '&' and '='), the route
 * match (http_route_match, http_param) and the search the public query
 * "q" feeds (sidx_search over a small index). (Pages and static files are
 * served from a table read at start-up, http/pages.c: no request path
 * reaches the file system, so there is no path check to fuzz.)
 * Input: [method selector] path ['?' query].
 * Promises held: decoding never grows a string nor lets a NUL in; a match
 * is exact (the pattern with its parameters put back gives the path), its
 * parameters are non-empty single segments; a refused method lists only
 * methods the table has; search results are in range. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/search_index.h"
#include "fuzz_support.h"
#include "http/http.h"
#include "util/err.h"

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
static sidx *idx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const sidx_item items[] = {
		{"Ministry of Law and Justice", 0, SIDX_ACTIVE | SIDX_CENTER},
		{"Department of Justice", 1, SIDX_ACTIVE | SIDX_CENTER},
		{"न्याय विभाग", 1, SIDX_ACTIVE | SIDX_CENTER},
		{"Government of Kerala", 0, SIDX_ACTIVE | SIDX_STATE},
		{"Kerala Police", 1, SIDX_STATE},
		{"Section Officer", 0, SIDX_ACTIVE},
	};

	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (sidx_build(items, sizeof items / sizeof items[0], &idx) != PV_OK)
		abort();
	return 0;
}

/* The path rebuilt from the pattern and the request's parameters. */
static void check_match(http_req *req, const struct http_route *r, const char *path)
{
	char rebuilt[8192];
	size_t o = 0, np = 0;

	for (const char *p = r->pattern; *p && o < sizeof rebuilt - 1;) {
		if (*p == '{') {
			const char *e = strchr(p, '}');
			char name[64];
			const char *v;
			size_t vl;

			FUZZ_CHECK(e && (size_t)(e - p - 1) < sizeof name);
			memcpy(name, p + 1, (size_t)(e - p - 1));
			name[e - p - 1] = '\0';
			v = http_param(req, name);
			vl = strlen(v);
			FUZZ_CHECK(vl > 0 && vl < HTTP_PARAM_MAX && !strchr(v, '/'));
			FUZZ_CHECK(o + vl < sizeof rebuilt);
			memcpy(rebuilt + o, v, vl);
			o += vl;
			np++;
			p = e + 1;
			continue;
		}
		rebuilt[o++] = *p++;
	}
	rebuilt[o] = '\0';
	FUZZ_CHECK(np == req->nparams);
	FUZZ_CHECK(strcmp(rebuilt, path) == 0);
}

static void check_allowed(const char *allowed)
{
	char copy[64], *save = NULL;

	FUZZ_CHECK(strlen(allowed) < sizeof copy);
	memcpy(copy, allowed, strlen(allowed) + 1);
	for (char *m = strtok_r(copy, ", ", &save); m; m = strtok_r(NULL, ", ", &save)) {
		int known = 0;

		for (size_t i = 0; i < http_nroutes; i++)
			known |= strcmp(http_routes[i].method, m) == 0;
		FUZZ_CHECK(known);
	}
}

static void fuzz_query(char *q)
{
	char *save = NULL;

	for (char *arg = strtok_r(q, "&", &save); arg; arg = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(arg, '='), *val = NULL;
		size_t n, before;

		if (eq) {
			*eq = '\0';
			val = eq + 1;
		}
		for (char *c = arg; *c; c++)
			if (*c == '+')
				*c = ' ';
		before = strlen(arg);
		n = http_unescape(arg);
		FUZZ_CHECK(n <= before && n == strlen(arg));
		if (!val)
			continue;
		for (char *c = val; *c; c++)
			if (*c == '+')
				*c = ' ';
		before = strlen(val);
		n = http_unescape(val);
		FUZZ_CHECK(n <= before && n == strlen(val));
		if (strcmp(arg, "q") == 0) {
			size_t out[20], nout = 0;
			int rc = sidx_search(idx, val, n, SIDX_ACTIVE, 20, out, &nout);

			FUZZ_CHECK(rc == PV_OK || rc == PV_EINVAL);
			FUZZ_CHECK(nout <= 20);
			for (size_t i = 0; i < nout; i++)
				FUZZ_CHECK(out[i] < 6);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *path, *query;
	size_t pn, qn, n;
	const char *method;
	char *p = NULL, *q = NULL, allowed[64];
	const struct http_route *r;
	http_req *req = NULL;

	if (size < 1)
		return 0;
	method = methods[data[0] % (sizeof methods / sizeof methods[0])];
	fuzz_split(data + 1, size - 1, '?', &path, &pn, &query, &qn);
	p = fuzz_cstr(path, pn);
	q = fuzz_cstr(query, qn);
	req = calloc(1, sizeof *req);
	if (!p || !q || !req)
		goto out;
	n = http_unescape(p);
	FUZZ_CHECK(n <= pn && n == strlen(p));
	r = http_route_match(req, method, p, allowed, sizeof allowed);
	if (r) {
		FUZZ_CHECK(strcmp(r->method, strcmp(method, "HEAD") == 0 ? "GET" : method) == 0);
		FUZZ_CHECK(req->nparams <= HTTP_MAX_PARAMS);
		check_match(req, r, p);
	} else {
		FUZZ_CHECK(req->nparams == 0);
		check_allowed(allowed);
	}
	fuzz_query(q);
out:
	free(p);
	free(q);
	free(req);
	return 0;
}
