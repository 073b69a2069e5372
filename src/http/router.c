/* router: the route table's matcher and URL decoding. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "util/util.h"

/* Matches one pattern against a path segment by segment; "{name}" takes a
 * whole non-empty segment of at most HTTP_PARAM_MAX - 1 bytes. Fills req's
 * parameters only on a match. */
static int rt_match(http_req *req, const char *pattern, const char *path)
{
	const char *p = pattern, *u = path;
	size_t np = 0;
	const char *names[HTTP_MAX_PARAMS];
	const char *vals[HTTP_MAX_PARAMS];
	size_t vlens[HTTP_MAX_PARAMS];

	while (*p && *u) {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			size_t vl = strcspn(u, "/");

			if (!pe || vl == 0 || vl >= HTTP_PARAM_MAX || np == HTTP_MAX_PARAMS)
				return 0;
			names[np] = p + 1;
			vals[np] = u;
			vlens[np] = vl;
			np++;
			p = pe + 1;
			u += vl;
			continue;
		}
		if (*p != *u)
			return 0;
		p++;
		u++;
	}
	if (*p || *u)
		return 0;
	for (size_t i = 0; i < np; i++) {
		req->param_names[i] = names[i];
		util_strncpy0(req->params[i], HTTP_PARAM_MAX, vals[i], vlens[i]);
	}
	req->nparams = np;
	return 1;
}

const struct http_route *http_route_match(http_req *req, const char *method,
					  const char *path, char *allowed,
					  size_t allowed_cap)
{
	size_t i, used = 0;
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;

	allowed[0] = '\0';
	for (i = 0; i < http_nroutes; i++) {
		const struct http_route *r = &http_routes[i];

		if (!rt_match(req, r->pattern, path))
			continue;
		if (strcmp(r->method, m) == 0)
			return r;
		if (!strstr(allowed, r->method) &&
		    used + strlen(r->method) + 3 < allowed_cap) {
			if (used) {
				memcpy(allowed + used, ", ", 2);
				used += 2;
			}
			memcpy(allowed + used, r->method, strlen(r->method) + 1);
			used += strlen(r->method);
		}
	}
	req->nparams = 0;
	return NULL;
}

const char *http_param(http_req *req, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < req->nparams; i++)
		if (strncmp(req->param_names[i], name, n) == 0 &&
		    req->param_names[i][n] == '}')
			return req->params[i];
	return "";
}

size_t http_unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '%' && r[1] && r[2] && isxdigit((unsigned char)r[1]) &&
		    isxdigit((unsigned char)r[2]) && !(r[1] == '0' && r[2] == '0')) {
			char hex[3] = {r[1], r[2], 0};

			*w++ = (char)strtol(hex, NULL, 16);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}
