/* http: the HTTP layer. It parses requests, authorises them, calls core/
 * and renders JSON or problem+json. No SQL here, no rules. */
#ifndef PV_HTTP_H
#define PV_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "util/buf.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_PARAM_MAX 256 /* longer path parameters do not match: 404 */
#define HTTP_MAX_HEADERS 8
#define HTTP_ROLES_MAX 16 /* ACCT_ROLES_MAX: checked in auth.c */

struct MHD_Connection;
struct http_route;
struct conn_rec;
typedef struct http_server http_server;

/* Authorisation a route demands, decided in one place (auth.c). */
enum http_auth { AUTH_NONE = 0, AUTH_USER, AUTH_SPV, AUTH_MDO };

/* Where a route's work runs (server.c): on the work pool while its
 * connection waits (the default), on the HTTP thread itself (answers from
 * memory, microseconds), or on the pool of calls to a remote party.
 * EXEC_ASYNC: a handler whose only store work is store_tx_async (then
 * http_defer): on the HTTP thread when the store's transactions do not
 * hold the calling thread (store_tx_async_waits() is 0), else on the
 * work pool. */
enum http_exec { EXEC_POOL = 0, EXEC_INLINE, EXEC_REMOTE, EXEC_ASYNC };

typedef struct http_resp {
	int status;
	const char *ctype;
	char *body; /* malloc'd, owned by the response, unless body_static */
	int body_static; /* body lives as long as the server (prepared pages) */
	size_t len;
	int fd; /* >= 0: send this file (owned) of fd_size bytes */
	uint64_t fd_size;
	char hname[HTTP_MAX_HEADERS][40];
	char *hval[HTTP_MAX_HEADERS]; /* malloc'd */
	size_t nhdr;
} http_resp;

typedef struct http_req {
	struct MHD_Connection *conn;
	app *app;
	http_server *srv;
	struct conn_rec *crec; /* the connection's watch record, or NULL */
	http_resp resp;        /* the answer being made */
	int done;              /* the pool made the answer: send it */
	const char *method;
	const char *path; /* without the query string */
	char rid[40];
	char ip[46];
	const struct http_route *route; /* NULL: no route matched */
	char allowed[64]; /* when no route matched: the path's methods */
	const char *param_names[HTTP_MAX_PARAMS];
	char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX];
	size_t nparams;
	buf body;
	int body_too_large;
	uint64_t drained; /* bytes of a refused body read and dropped */
	int64_t t0_ns;
	int status; /* of the answer, for the access log */
	void *ext;  /* route-specific state (uploads), freed by ext_free */
	void (*ext_free)(void *ext);
	/* optional: gives back what ext holds for a request that is refused
	 * (an upload's temporary file), called before any answer but a 2xx
	 * is sent through the server (the handler's answer, or the server's
	 * 503 when the request never reached it; an error libmicrohttpd
	 * answers itself skips it, and ext_free gives back at the end); may
	 * be called more than once */
	void (*ext_drop)(void *ext);
	int deferred;   /* http_defer: the answer comes from another thread */
	/* http_defer_done_late: makes the answer on the HTTP thread */
	void (*late)(struct http_req *req, http_resp *resp);
	int defer_refs; /* atomic: the pool job and the answer, each drops one */
	/* authentication, filled by auth.c for routes that need it */
	int authed;
	int via_cookie;
	size_t nroles;
	/* Last, and not zeroed when a request starts (3 KiB of the 5 that
	 * every request, a search too, would clear): read only once authed
	 * is set, or after a handler has filled them. */
	store_session session;
	store_user user;
	store_role roles[HTTP_ROLES_MAX];
} http_req;

/* The part of an http_req zeroed when a request starts. */
#define HTTP_REQ_ZEROED offsetof(http_req, session)


typedef void (*http_handler)(http_req *req, http_resp *resp);

struct http_route {
	const char *method;
	const char *pattern; /* "/api/v1/orgs/{id}" */
	http_handler fn;
	enum http_auth auth;
	const char *name; /* for metrics: "orgs_get" */
	/* A route that streams its body (uploads) gets the bytes here as they
	 * arrive, instead of a bounded buffer; NULL for JSON routes. It answers
	 * PV_OK to go on, or an error once it wants no more bytes (refused,
	 * too large): the rest is then read and dropped, up to a bound. */
	int (*body)(http_req *req, const char *data, size_t n);
	enum http_exec exec;
};

/* The route table (routes.c) and its size. */
extern const struct http_route http_routes[];
extern const size_t http_nroutes;

/* Finds the route for method and path; fills req's params. Returns the
 * route, or NULL with *allowed set to the methods the path has (for 405,
 * "" when no route has the path). */
const struct http_route *http_route_match(http_req *req, const char *method,
					  const char *path, char *allowed,
					  size_t allowed_cap);

/* Decodes %XX escapes of a path or of a query argument in place (MHD's
 * unescape callback) and returns the new length. "%00" is kept as it is:
 * a NUL would cut the path short and make "/a.html%00.txt" read as
 * "/a.html". '+' is left alone. */
size_t http_unescape(char *s);

/* --- helpers for handlers --- */

/* A query-string argument, or NULL. */
const char *http_query(http_req *req, const char *name);
/* A request header, or NULL. */
const char *http_header_in(http_req *req, const char *name);
/* The value of the request's cookie `name` (as MHD parsed the Cookie
 * header; the first of two with one name), into out (cap bytes): PV_OK,
 * PV_ENOTFOUND, or PV_ELIMIT when it does not fit. */
int http_cookie(http_req *req, const char *name, char *out, size_t cap);
/* Adds the one shape of Set-Cookie Pravesh sends:
 *   name=value; Path=path; [HttpOnly; ]SameSite=Lax; Max-Age=max_age_s[; Secure]
 * Secure when the public URL is https. An empty value with max_age_s 0
 * removes the cookie. */
void http_set_cookie(http_req *req, http_resp *resp, const char *name, const char *value,
		     const char *path, int max_age_s, int http_only);
/* A path parameter by the name in the pattern, or "" */
const char *http_param(http_req *req, const char *name);
/* Parses n bytes as a JSON object (no duplicate keys, valid UTF-8, no
 * NUL in strings): PV_OK with *out a new reference, PV_EINVAL for no
 * bytes, PV_EFORMAT for anything else. */
int http_parse_json_object(const char *p, size_t n, json_t **out);
/* Parses the body as a JSON object. Returns it (caller decrefs), or NULL
 * after writing 400 malformed_json (or 415 for a non-JSON content type)
 * into resp. */
json_t *http_body_json(http_req *req, http_resp *resp);

/* Sets a JSON answer; steals the reference to doc. */
void http_json(http_resp *resp, int status, json_t *doc);
/* Sets an RFC 9457 problem answer. errors (may be NULL) is a JSON array of
 * field errors and is stolen. */
void http_problem(http_resp *resp, int status, const char *code,
		  const char *detail, json_t *errors);
/* The same with extra members (an object, stolen) beside the standard ones. */
void http_problem_ext(http_resp *resp, int status, const char *code,
		      const char *detail, json_t *errors, json_t *extra);
/* Maps a pv_err that reached the handler unexpectedly to a problem. */
void http_problem_err(http_resp *resp, int err);
/* Adds a response header (value copied). */
void http_add_header(http_resp *resp, const char *name, const char *value);
/* A field error object {"field","code","message"} (new reference). */
json_t *http_field_error(const char *field, const char *code,
			 const char *message);

/* --- the server --- */

/* Starts listening on cfg->listen ("host:port"); *port_out is the bound
 * port. *out is stopped and freed by http_server_stop(). */
int http_server_start(app *a, http_server **out, unsigned *port_out);
/* The same in two steps, so that what the handlers read (the public URL)
 * is set between them: http_server_listen binds cfg->listen and sets
 * *port_out, but nothing is accepted (connections wait in the socket's
 * backlog) until http_server_run starts serving. A server that never ran
 * is freed by http_server_stop too. */
int http_server_listen(app *a, http_server **out, unsigned *port_out);
int http_server_run(http_server *srv);
/* Stops accepting, lets in-flight requests finish (within a grace
 * period), frees. Accepts NULL. */
void http_server_stop(http_server *srv);
/* Requests between their header and their end, in this process. */
int64_t http_server_inflight(void);
/* 1 from the stop signal on (http_server_stop begun); accepts NULL. */
int http_server_stopping(const http_server *srv);
/* Writes 503 `stopping` with Retry-After: 1 (the connection closes after
 * it: every answer of a stopping server does). */
void http_stopping_problem(http_resp *resp);
/* Jobs waiting or running on the work pool, and requests shed (503). */
void http_server_pool_stats(const http_server *srv, int64_t *depth, uint64_t *shed);
/* 1 when a Content-Type value is application/json (parameters allowed). */
int http_is_json_type(const char *s);


/* A handler (of an EXEC_POOL or EXEC_ASYNC route) whose answer will be
 * made by another thread (a store transaction's completion) calls
 * http_defer first, returns without an answer, and that thread fills
 * req->resp and calls http_defer_done, after which it must not touch req.
 * The connection waits meanwhile, holding no thread. */
void http_defer(http_req *req);
void http_defer_done(http_req *req);
/* As http_defer_done, but the answer is made later, by late(req, resp) on
 * the HTTP thread when it takes the connection back, not by the thread
 * calling this (the store's one writer, whose time every transaction
 * shares). What late needs lives in req->ext, which ext_free gives back if
 * the connection ends first (a stopping server); late clears req->ext
 * when it frees it itself. */
void http_defer_done_late(http_req *req, void (*late)(http_req *req, http_resp *resp));


/* Counts one request of kind from the client's address against a limit
 * per hour (kind "anon" for anonymous writes, "sso-ip"...): PV_OK, or an
 * error after writing the problem (429 rate_limited with Retry-After). */
int http_ip_limit(http_req *req, http_resp *resp, const char *kind, int per_hour);
/* The same per logged-in user (req->user.id): "self" for a person's own
 * data. */
int http_user_limit(http_req *req, http_resp *resp, const char *kind, int per_hour);

/* 1 when the authenticated user has role (and, for mdo_admin, that org;
 * org NULL = any). */
int http_has_role(const http_req *req, const char *role, const char *org);
/* The organisation an MDO route acts on: an mdo_admin's own (or, with
 * several, the one named by ?org_id= among them); an spv_admin's from
 * ?org_id=. Writes the problem and returns an error otherwise. */
int http_mdo_org(http_req *req, http_resp *resp, char org[STORE_ID_MAX]);
/* The client's preferred language for messages: "hi" or "en", from the
 * body's "lang" if given, else Accept-Language. */
const char *http_lang(http_req *req, json_t *body);
/* 1 only when the member is JSON true. */
int http_jbool(json_t *obj, const char *key);
/* Field errors as a JSON array (new reference). */
struct field_errs;
json_t *http_field_errors(const struct field_errs *fe);
/* 400 validation_failed with every field error of fe. */
void http_problem_fields(http_resp *resp, const struct field_errs *fe);
/* PV_OK when every member among names is a string or null when present;
 * else PV_EINVAL after writing 400 validation_failed naming each wrongly
 * typed one. */
int http_check_strings(json_t *body, const char *const *names, http_resp *resp);
/* page and per_page from the query (default 1 and 20, at most 100):
 * PV_OK, or PV_EINVAL after writing 400 invalid_page when malformed. */
int http_page(http_req *req, http_resp *resp, store_page *pg);
/* {"items":items,"total","page","per_page"} (items stolen). */
json_t *http_list(json_t *items, int64_t total, store_page pg);
/* An RFC 3339 time string as JSON, or null for 0. */
json_t *http_time(int64_t ms);
/* A string member of a JSON object, or NULL when absent or not a string. */
const char *http_jstr(json_t *obj, const char *key);

/* Shared renderings: a user as GET /api/v1/me shows it (api_auth.c) and a
 * request for help (api_register.c). New references. */
json_t *api_user_json(app *a, const store_user *u, const store_role *roles, size_t nroles);
json_t *api_request_json(const store_request *r);

/* Sets the cookies of a new session (pravesh_session, HttpOnly, and
 * pravesh_csrf) and Cache-Control: no-store (api_auth.c). */
void api_session_cookies(http_req *req, http_resp *resp, const char *token,
			 const char *csrf);
/* Removes both cookies of the session (after it ended). */
void api_session_cookies_clear(http_req *req, http_resp *resp);

/* Decides whether the request may reach its route (auth.c): resolves the
 * session, checks the route's role and CSRF. Returns PV_OK, or an error
 * after writing the problem into resp. */
int http_authorise(http_req *req, http_resp *resp);
/* For an anonymous route that needs the user for some requests (a code
 * for a change of mobile): resolves the session and checks CSRF as for a
 * route of any logged-in user (req->authed, req->user, req->session).
 * PV_OK, or an error after writing 401/403 into resp. */
int http_session_user(http_req *req, http_resp *resp);

/* The user as GET /api/v1/me shows it, with the e-mail change waiting for
 * its link (api_me.c). New reference. */
json_t *api_me_json(http_req *req, const store_user *u);

#endif
