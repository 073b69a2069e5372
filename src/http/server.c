/* server: libmicrohttpd in epoll + thread-pool mode. Each request gets an
 * http_req (its own memory, freed when MHD reports it complete); the
 * answer is queued on the call after the headers (never on the first call,
 * which would cost keep-alive: see design/stack-notes.md).
 *
 * The HTTP threads only read, route and write. A route's work runs on a
 * work pool (http/pool.h) while its connection is suspended, unless the
 * route is marked EXEC_INLINE (cheap answers from memory: health, the
 * directory search, static files) or EXEC_ASYNC (the OTP login: its one
 * transaction goes to the store's group commit, which answers it from its
 * own thread, so no thread waits for it); calls to a remote party (single sign-
 * on) run on a pool of their own, so a slow provider holds only that one.
 * A full pool answers 503 with Retry-After at once. Connections are
 * watched by http/conns.h (per-address limit, header, body and answer
 * deadlines). /metrics is served on a listener of its own. */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ctype.h>
#include <pthread.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/conns.h"
#include "http/handlers.h"
#include "http/metrics.h"
#include "http/pages.h"
#include "http/pool.h"
#include "util/err.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/util.h"

#define SRV_DRAIN_MAX (32ull << 20)
#define SRV_STOP_GRACE_MS 10000
#define SRV_STOP_FLUSH_MS 2000 /* for answers owed, after the pools ran */

struct http_server {
	struct MHD_Daemon *d;
	struct MHD_Daemon *metrics; /* NULL when PRAVESH_METRICS_LISTEN is off */
	unsigned metrics_port;
	app *app;
	net_cidrs trusted;
	http_pool *work, *remote;
	int lfd; /* the listening socket until the daemon owns it, else -1 */
	/* The stop (http_server_stop), atomics: stopping from its start,
	 * every answer closes its connection; closing once the requests in
	 * flight finished or had their grace, nothing more is dispatched
	 * (503 stopping); finishing
	 * counts the HTTP threads inside srv_finish, which the stop waits out
	 * after setting closing (so that none defers an answer unseen). */
	int stopping, closing, finishing;
};

/* The one server of the process (its callbacks reach it through MHD's
 * closure; the pools are also needed by the job runner). */
static int64_t srv_inflight; /* requests between their header and their end */

static int srv_valid_rid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (n >= 36 || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
				 (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
			return 0;
	}
	return n >= 8;
}

/* Request ids need to be unique, not secret: a per-thread random prefix
 * (one getrandom per thread) and a counter. */
static void srv_new_rid(char *out, size_t cap)
{
	static __thread char prefix[12];
	static __thread unsigned long long n;

	if (!prefix[0])
		util_random_b64url(6, prefix, sizeof prefix);
	snprintf(out, cap, "%s%08llx", prefix, ++n);
}

/* The client's address (api.md: the TCP peer, or for a trusted proxy the
 * right-most untrusted X-Forwarded-For entry). */
static void srv_client_ip(http_server *srv, struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	char ip[NET_ADDR_STR];
	uint8_t a[16];

	util_strlcpy(out, "unknown", cap);
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		memcpy(a, v4, 12);
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return;
	}
	net_client_addr(a, srv->trusted.n ? MHD_lookup_connection_value(c, MHD_HEADER_KIND,
									  "X-Forwarded-For")
					  : NULL,
			&srv->trusted, ip);
	util_strlcpy(out, ip, cap);
}

static http_req *srv_req_new(http_server *srv, struct MHD_Connection *c,
			     const char *method, const char *url)
{
	app *a = srv->app;
	http_req *r = malloc(sizeof *r);
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const char *rid;

	if (!r)
		return NULL;
	memset(r, 0, HTTP_REQ_ZEROED);
	r->conn = c;
	r->app = a;
	r->srv = srv;
	r->crec = ci ? ci->socket_context : NULL;
	r->resp.fd = -1;
	r->method = method;
	r->path = url;
	r->t0_ns = util_mono_ns();
	buf_init(&r->body, (size_t)a->cfg->max_body);
	rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (rid && srv_valid_rid(rid))
		util_strlcpy(r->rid, rid, sizeof r->rid);
	else
		srv_new_rid(r->rid, sizeof r->rid);
	srv_client_ip(srv, c, r->ip, sizeof r->ip);
	return r;
}

/* Frees what a response owns; it can be called again. */
static void srv_resp_free(http_resp *resp)
{
	if (!resp->body_static)
		free(resp->body);
	resp->body = NULL;
	resp->body_static = 0;
	for (size_t i = 0; i < resp->nhdr; i++)
		free(resp->hval[i]);
	resp->nhdr = 0;
	if (resp->fd >= 0)
		close(resp->fd);
	resp->fd = -1;
}

static enum MHD_Result srv_send(http_req *req, http_resp *resp)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	uint64_t size;

	if (resp->status == 0)
		http_problem(resp, 500, "internal_error", "The server did not answer.", NULL);
	size = resp->fd >= 0 ? resp->fd_size : resp->len;
	if (resp->fd >= 0) {
		mr = MHD_create_response_from_fd64(resp->fd_size, resp->fd);
		if (mr)
			resp->fd = -1; /* MHD closes it */
	} else if (resp->body_static) {
		mr = MHD_create_response_from_buffer(resp->len, resp->body,
						      MHD_RESPMEM_PERSISTENT);
	} else {
		mr = MHD_create_response_from_buffer(resp->len, resp->body,
						      MHD_RESPMEM_MUST_FREE);
		if (mr)
			resp->body = NULL; /* MHD frees it */
	}
	if (!mr) {
		srv_resp_free(resp);
		return MHD_NO;
	}
	if (resp->ctype)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->ctype);
	MHD_add_response_header(mr, "X-Request-Id", req->rid);
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(mr, "X-Frame-Options", "DENY");
	for (size_t i = 0; i < resp->nhdr; i++)
		MHD_add_response_header(mr, resp->hname[i], resp->hval[i]);
	/* a stopping server closes every connection after its answer, a
	 * request begun before the signal too (a kept-alive client asks
	 * again elsewhere, rather than into the stop) */
	if (http_server_stopping(req->srv))
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
	req->status = resp->status;
	if (req->ext && req->ext_drop && (resp->status < 200 || resp->status > 299))
		req->ext_drop(req->ext); /* gone before the refusal is seen */
	conns_sending(req->crec, size);
	ret = MHD_queue_response(req->conn, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
	srv_resp_free(resp);
	return ret;
}

/* 1 when s (a Content-Type value) is application/json, with or without
 * parameters. */
int http_is_json_type(const char *s)
{
	size_t n = strlen("application/json");

	if (!s || strncasecmp(s, "application/json", n) != 0)
		return 0;
	s += n;
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '\0' || *s == ';';
}

/* api.md: a request body must be sent as application/json; any other
 * type, or none: 415. So no other site's page can post a body to the API
 * without a CORS preflight. PV_OK, or PV_EFORMAT after writing the 415. */
static int srv_body_type(http_req *req, http_resp *resp)
{
	const char *ct = http_header_in(req, MHD_HTTP_HEADER_CONTENT_TYPE);

	if ((req->body.len > 0 || ct) && !http_is_json_type(ct)) {
		http_problem(resp, 415, "unsupported_media_type",
			     "Send the body as application/json.", NULL);
		return PV_EFORMAT;
	}
	return PV_OK;
}

/* Runs after the whole request has arrived (or at once when the body is
 * refused). The route was matched when the headers arrived. */
static void srv_dispatch(http_req *req, http_resp *resp)
{
	const struct http_route *rt = req->route;
	/* machines' paths (the API, health, metrics) answer problem+json;
	 * every other path is a page or a file */
	int api = strncmp(req->path, "/api/", 5) == 0 || strcmp(req->path, "/metrics") == 0 ||
		  strcmp(req->path, "/healthz") == 0;
	int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	if (req->body_too_large) {
		if (rt && rt->body)
			http_problem(resp, 413, "file_too_large",
				     "The file is larger than uploads may be.", NULL);
		else
			http_problem(resp, 413, "payload_too_large",
				     "The request body is larger than this endpoint accepts.",
				     NULL);
		return;
	}
	if (!rt) {
		if (req->allowed[0]) {
			http_problem(resp, 405, "method_not_allowed",
				     "This method is not allowed here.", NULL);
			http_add_header(resp, "Allow", req->allowed);
		} else if (!api && get) {
			http_static(req, resp);
		} else if (!api) {
			/* JSON problems are for /api/; a person gets a page */
			http_not_found_page(req, resp);
		} else {
			http_problem(resp, 404, "not_found",
				     "There is nothing at this address.", NULL);
		}
		return;
	}
	if (!rt->body && srv_body_type(req, resp) != PV_OK)
		return;
	if (http_authorise(req, resp) != PV_OK)
		return;
	rt->fn(req, resp);
}

static int64_t srv_deferred; /* answers owed by other threads (http_defer) */

void http_defer(http_req *req)
{
	req->deferred = 1;
	__atomic_store_n(&req->defer_refs, 2, __ATOMIC_RELAXED);
	__atomic_fetch_add(&srv_deferred, 1, __ATOMIC_RELAXED);
}

/* The pool job and the deferred answer each drop a reference; the last
 * one hands the answer back to the HTTP thread (the other may still be
 * running when the first is done). */
static void srv_defer_drop(http_req *req)
{
	if (__atomic_sub_fetch(&req->defer_refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	req->done = 1;
	MHD_resume_connection(req->conn);
	__atomic_fetch_sub(&srv_deferred, 1, __ATOMIC_RELEASE);
}

void http_defer_done(http_req *req)
{
	srv_defer_drop(req);
}

void http_defer_done_late(http_req *req, void (*late)(http_req *req, http_resp *resp))
{
	req->late = late; /* published to the HTTP thread by the resume */
	srv_defer_drop(req);
}

/* 503 for a request the stopping server will not serve (past its grace),
 * and /healthz from the signal on; the connection closes after it
 * (srv_send). */
void http_stopping_problem(http_resp *resp)
{
	http_problem(resp, 503, "stopping",
		     "The server is stopping; please try again in a moment.", NULL);
	http_add_header(resp, "Retry-After", "1");
}

/* A route's work on a pool thread; the connection waits, suspended. A job
 * still queued when the stop's grace is over is refused, not run: its
 * answer could not reach the client before the connections close. */
static void srv_pooled(void *arg, int stale)
{
	http_req *req = arg;

	log_set_request_id(req->rid);
	if (__atomic_load_n(&req->srv->closing, __ATOMIC_SEQ_CST)) {
		http_stopping_problem(&req->resp);
	} else if (stale) {
		http_problem(&req->resp, 503, "overloaded",
			     "The server is busy; please try again in a moment.", NULL);
		http_add_header(&req->resp, "Retry-After", "1");
	} else {
		srv_dispatch(req, &req->resp);
	}
	log_set_request_id(NULL);
	if (req->deferred) {
		srv_defer_drop(req);
		return;
	}
	req->done = 1;
	MHD_resume_connection(req->conn);
}

static enum MHD_Result srv_refuse_stopping(http_req *req)
{
	http_stopping_problem(&req->resp);
	return srv_send(req, &req->resp);
}

/* The last call for a request: answer inline, or hand the work to a pool
 * (answering 503 at once when it has no room). */
static enum MHD_Result srv_finish_in(http_req *req)
{
	const struct http_route *rt = req->route;
	http_pool *pool = NULL;
	int rc;

	if (req->done) { /* back from the pool, or a deferred answer */
		if (req->late) {
			req->late(req, &req->resp);
			req->late = NULL;
		}
		return srv_send(req, &req->resp);
	}
	if (__atomic_load_n(&req->srv->closing, __ATOMIC_SEQ_CST))
		return srv_refuse_stopping(req);
	conns_work(req->crec);
	if (rt && !req->body_too_large)
		pool = rt->exec == EXEC_POOL ? req->srv->work
		       : rt->exec == EXEC_REMOTE ? req->srv->remote
		       : rt->exec == EXEC_ASYNC && store_tx_async_waits(req->app->st)
			       ? req->srv->work
			       : NULL;
	if (!pool) {
		srv_dispatch(req, &req->resp);
		if (req->deferred) { /* answered later, from another thread */
			MHD_suspend_connection(req->conn);
			srv_defer_drop(req); /* after suspending: it may resume */
			return MHD_YES;
		}
		return srv_send(req, &req->resp);
	}
	if ((rc = http_pool_reserve(pool)) == PV_ESTOPPED) /* defensive: closing is seen first */
		return srv_refuse_stopping(req);
	if (rc != PV_OK) {
		http_problem(&req->resp, 503, "overloaded",
			     "The server is busy; please try again in a moment.", NULL);
		http_add_header(&req->resp, "Retry-After", "1");
		return srv_send(req, &req->resp);
	}
	/* suspended before the job can resume it */
	MHD_suspend_connection(req->conn);
	http_pool_submit(pool, srv_pooled, req);
	return MHD_YES;
}

static enum MHD_Result srv_finish(http_req *req)
{
	http_server *srv = req->srv;
	enum MHD_Result r;

	__atomic_add_fetch(&srv->finishing, 1, __ATOMIC_SEQ_CST);
	r = srv_finish_in(req);
	__atomic_sub_fetch(&srv->finishing, 1, __ATOMIC_SEQ_CST);
	return r;
}

static enum MHD_Result srv_access(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	http_server *srv = cls;
	app *a = srv->app;
	http_req *req = *con_cls;

	(void)version;
	if (!req) {
		const char *cl;
		unsigned long long len;

		req = srv_req_new(srv, c, method, url);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		__atomic_fetch_add(&srv_inflight, 1, __ATOMIC_RELAXED);
		log_set_request_id(req->rid);
		req->route = http_route_match(req, method, url, req->allowed,
					      sizeof req->allowed);
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						  MHD_HTTP_HEADER_CONTENT_LENGTH);
		len = cl ? strtoull(cl, NULL, 10) : 0;
		conns_begin(req->crec, cl ? (int64_t)(len > INT64_MAX ? INT64_MAX : len) : -1);
		/* past the stop's grace: refused at once, its body unread */
		if (__atomic_load_n(&srv->closing, __ATOMIC_SEQ_CST))
			return srv_finish(req);
		/* a streaming route (uploads) may take up to the upload limit
		 * plus room for the multipart framing */
		if (cl && len > (req->route && req->route->body
					 ? (unsigned long long)a->cfg->upload_max_bytes + (1u << 20)
					 : (unsigned long long)a->cfg->max_body)) {
			req->body_too_large = 1;
			/* A body we will drop is read and discarded so that the
			 * client gets its 413 rather than a reset; past
			 * SRV_DRAIN_MAX the answer goes at once (and MHD closes
			 * the connection). */
			if (len > SRV_DRAIN_MAX)
				return srv_finish(req);
		}
		return MHD_YES;
	}
	log_set_request_id(req->rid);
	if (*upload_data_size) {
		if (conns_expired(req->crec))
			return MHD_NO; /* a body slower than its deadline */
		if (req->route && req->route->body && !req->body_too_large) {
			/* a streaming route (uploads) takes the bytes itself and
			 * records its own failure for its handler; what it no
			 * longer wants is dropped, up to a bound */
			if (req->route->body(req, upload_data, *upload_data_size) != PV_OK &&
			    (req->drained += *upload_data_size) > SRV_DRAIN_MAX)
				return MHD_NO;
		} else if (!req->body_too_large) {
			if (buf_add(&req->body, upload_data, *upload_data_size) != PV_OK) {
				req->body_too_large = 1;
				buf_free(&req->body);
			}
		} else if ((req->drained += *upload_data_size) > SRV_DRAIN_MAX) {
			return MHD_NO; /* a chunked body without end: drop it */
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return srv_finish(req);
}

static void srv_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	http_req *req = *con_cls;
	int64_t dur;
	char ms[32], st[8];
	size_t route;
	int level;

	(void)cls;
	(void)c;
	if (!req)
		return;
	dur = util_mono_ns() - req->t0_ns;
	route = req->route ? (size_t)(req->route - http_routes)
			   : (req->status && req->status != 404 && req->status != 405
				      ? http_nroutes : http_nroutes + 1);
	metrics_observe(route, req->status, dur);
	level = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? LOG_INFO : LOG_WARN;
	if (log_enabled(level)) {
		snprintf(ms, sizeof ms, "%.3f", (double)dur / 1e6);
		snprintf(st, sizeof st, "%d", req->status);
		log_set_request_id(req->rid);
		/* the path only: query strings (which may carry tokens) are
		 * never logged */
		log_kv(level, "request", "method", req->method, "path",
		       req->route ? req->route->pattern : req->path, "status", st,
		       "ms", ms, "ip", req->ip,
		       toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL : "aborted",
		       "true", NULL);
		log_set_request_id(NULL);
	}
	conns_end(req->crec);
	__atomic_fetch_sub(&srv_inflight, 1, __ATOMIC_RELAXED);
	if (req->ext && req->ext_free)
		req->ext_free(req->ext);
	buf_free(&req->body);
	srv_resp_free(&req->resp);
	free(req);
	*con_cls = NULL;
}

static int srv_parse_listen(const char *listen, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - listen) >= sizeof host)
		return PV_EINVAL;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return PV_EINVAL;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (host[0] == '\0' || strcmp(host, "localhost") == 0)
		util_strlcpy(host, "127.0.0.1", sizeof host);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return PV_EINVAL;
	return PV_OK;
}

/* MHD's unescape callback: http_unescape (router.c), for the path and
 * every query argument. */
static size_t srv_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return http_unescape(s);
}

/* libmicrohttpd's own messages, at most a few a second: a flood of
 * refused sockets must not fill the log. What is dropped is counted and
 * said once the flood ebbs. */
static void srv_mhd_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int64_t window;
	static unsigned shown, dropped;
	int64_t now = util_mono_ns() / 1000000000;
	char msg[512], n[16];
	unsigned was_dropped = 0;
	int show;

	(void)cls;
	pthread_mutex_lock(&lock);
	if (now != window) {
		was_dropped = dropped;
		window = now;
		shown = dropped = 0;
	}
	show = shown < 5;
	shown += show;
	dropped += !show;
	pthread_mutex_unlock(&lock);
	if (was_dropped) {
		snprintf(n, sizeof n, "%u", was_dropped);
		log_kv(LOG_WARN, "libmicrohttpd messages not shown", "count", n, NULL);
	}
	if (!show)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_kv(LOG_WARN, "libmicrohttpd", "detail", msg, NULL);
}

static enum MHD_Result srv_apc(void *cls, const struct sockaddr *sa, socklen_t len)
{
	(void)cls;
	(void)len;
	return conns_accept(sa) ? MHD_YES : MHD_NO;
}

static void srv_notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
			    enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		*socket_context = fd ? conns_opened(fd->connect_fd, ad ? ad->client_addr : NULL)
				     : NULL;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		conns_closed(*socket_context);
		*socket_context = NULL;
	}
}

/* The internal listener: /metrics and /healthz, nothing else. */
static enum MHD_Result srv_metrics_access(void *cls, struct MHD_Connection *c,
					  const char *url, const char *method,
					  const char *version, const char *upload_data,
					  size_t *upload_data_size, void **con_cls)
{
	http_server *srv = cls;
	http_req req;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		*con_cls = c; /* answer on the second call */
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	memset(&req, 0, sizeof req);
	req.conn = c;
	req.app = srv->app;
	req.srv = srv;
	req.method = method;
	req.path = url;
	req.resp.fd = -1;
	util_strlcpy(req.rid, "metrics", sizeof req.rid);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		http_problem(&req.resp, 405, "method_not_allowed", "This method is not allowed here.",
			     NULL);
	else if (strcmp(url, "/metrics") == 0)
		api_metrics(&req, &req.resp);
	else if (strcmp(url, "/healthz") == 0)
		api_healthz(&req, &req.resp);
	else
		http_problem(&req.resp, 404, "not_found", "There is nothing at this address.", NULL);
	ret = srv_send(&req, &req.resp);
	srv_resp_free(&req.resp);
	return ret;
}

static int srv_start_metrics(http_server *srv)
{
	const char *l = srv->app->cfg->metrics_listen;
	struct sockaddr_in sa;

	if (!l || !*l)
		return PV_OK;
	if (srv_parse_listen(l, &sa) != PV_OK) {
		log_kv(LOG_ERROR, "invalid PRAVESH_METRICS_LISTEN, expected HOST:PORT", "listen", l, NULL);
		return PV_EINVAL;
	}
	srv->metrics = MHD_start_daemon(
		MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, ntohs(sa.sin_port), NULL, NULL,
		srv_metrics_access, srv, MHD_OPTION_EXTERNAL_LOGGER, srv_mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, 64u,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, 8u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
		MHD_OPTION_END);
	if (!srv->metrics) {
		log_kv(LOG_ERROR, "cannot listen for metrics", "listen", l, NULL);
		return PV_EIO;
	}
	{
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(srv->metrics, MHD_DAEMON_INFO_BIND_PORT);
		char host[64] = "127.0.0.1";

		srv->metrics_port = di ? di->port : ntohs(sa.sin_port);
		inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
		/* port 0 picks a free one: say which */
		printf("Metrics are served on http://%s:%u/metrics\n", host, srv->metrics_port);
		fflush(stdout);
	}
	return PV_OK;
}

/* Work pools and the connection watch, from the settings. */
static int srv_start_workers(http_server *srv, unsigned cores)
{
	const pv_config *cfg = srv->app->cfg;
	char bad[64];
	conns_cfg cc;
	/* A store whose transactions run on the caller's thread (PostgreSQL)
	 * or on its own (SQLite's group commit), asked through the store, not
	 * by its name. SQLite: most of them wait for a group commit's sync, and
	 * the more wait, the more one sync serves. PostgreSQL: each holds a connection
	 * and keeps the database working; past a few per core they only
	 * queue there (bench/login.sh --postgres: 2 cores, 32 threads 1,219-1,318
	 * logins/s, p99 244-337 ms; 8 threads 1,852-1,923/s, p99 65-70 ms) */
	int per_core = store_tx_async_waits(srv->app->st) ? 4 : 16;
	int threads = cfg->pool_threads > 0 ? cfg->pool_threads : (int)cores * per_core;
	char nthreads[16];

	if (net_cidrs_parse(cfg->trusted_proxies, &srv->trusted, bad, sizeof bad) != PV_OK) {
		log_kv(LOG_ERROR, "PRAVESH_TRUSTED_PROXIES: not an address or range", "item", bad, NULL);
		return PV_EINVAL;
	}
	snprintf(nthreads, sizeof nthreads, "%d", threads);
	log_kv(LOG_INFO, "work threads", "threads", nthreads, NULL);
	memset(&cc, 0, sizeof cc);
	cc.max_per_ip = cfg->max_conn_per_ip;
	cc.header_timeout_ms = (int64_t)cfg->header_timeout * 1000;
	cc.body_timeout_ms = (int64_t)cfg->body_timeout * 1000;
	cc.min_rate = cfg->min_rate;
	cc.trusted = &srv->trusted;
	if (conns_start(&cc) != PV_OK ||
	    http_pool_start("work", threads, cfg->queue_max > 0 ? cfg->queue_max : 1,
			    cfg->queue_timeout_ms, &srv->work) != PV_OK ||
	    http_pool_start("remote", cfg->sso_concurrency > 0 ? cfg->sso_concurrency : 1,
			    cfg->sso_concurrency > 0 ? cfg->sso_concurrency * 8 : 8, 0,
			    &srv->remote) != PV_OK)
		return PV_ENOMEM;
	return PV_OK;
}

/* A listening TCP socket on sa (SO_REUSEADDR, close-on-exec), or -1. */
static int srv_listen_socket(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
	    bind(fd, (const struct sockaddr *)sa, sizeof *sa) != 0 || listen(fd, 4096) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int http_server_listen(app *a, http_server **out, unsigned *port_out)
{
	http_server *srv;
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	*out = NULL;
	if (srv_parse_listen(a->cfg->listen, &sa) != PV_OK) {
		log_kv(LOG_ERROR, "invalid --listen, expected HOST:PORT", "listen",
		       a->cfg->listen, NULL);
		return PV_EINVAL;
	}
	srv = calloc(1, sizeof *srv);
	if (!srv)
		return PV_ENOMEM;
	srv->app = a;
	srv->lfd = srv_listen_socket(&sa);
	if (srv->lfd < 0 || getsockname(srv->lfd, (struct sockaddr *)&sa, &len) != 0) {
		log_kv(LOG_ERROR, "cannot listen", "listen", a->cfg->listen, "error",
		       strerror(errno), NULL);
		if (srv->lfd >= 0)
			close(srv->lfd);
		free(srv);
		return PV_EIO;
	}
	*port_out = ntohs(sa.sin_port);
	*out = srv;
	return PV_OK;
}

int http_server_run(http_server *srv)
{
	app *a = srv->app;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = a->cfg->workers > 0 ? (unsigned)a->cfg->workers
					       : (unsigned)(cores > 0 ? cores : 1);
	int rc;

	if ((rc = srv_start_workers(srv, cores > 0 ? (unsigned)cores : 1)) != PV_OK ||
	    (rc = srv_start_metrics(srv)) != PV_OK)
		goto fail;
	/* ITC: MHD_quiesce_daemon and resuming suspended connections need
	 * it; the logger goes first so that MHD prints nothing itself. The
	 * idle timeout backs the header deadline (http/conns.c). The socket
	 * was bound by http_server_listen: connections that came since wait
	 * in its backlog. */
	srv->d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC |
			MHD_ALLOW_SUSPEND_RESUME,
		0, srv_apc, srv, srv_access, srv,
		MHD_OPTION_EXTERNAL_LOGGER, srv_mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, srv->lfd,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_NOTIFY_COMPLETED, srv_completed, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, srv_notify_conn, NULL,
		/* a connection's buffer (request line and headers); MHD
		 * zeroes all of it after every request, so its size is a
		 * cost of every request: 64 KiB was 2 us of a search */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)(a->cfg->header_timeout > 0 ? a->cfg->header_timeout : 10),
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(a->cfg->max_conn > 0 ? a->cfg->max_conn : 4096),
		MHD_OPTION_UNESCAPE_CALLBACK, srv_unescape, NULL,
		MHD_OPTION_END);
	if (!srv->d) {
		log_kv(LOG_ERROR, "cannot listen", "listen", a->cfg->listen, NULL);
		rc = PV_EIO;
		goto fail;
	}
	srv->lfd = -1; /* the daemon's now */
	return PV_OK;
fail:
	if (srv->metrics)
		MHD_stop_daemon(srv->metrics);
	srv->metrics = NULL;
	http_pool_stop(srv->work);
	http_pool_stop(srv->remote);
	srv->work = srv->remote = NULL;
	conns_stop();
	return rc;
}

int http_server_start(app *a, http_server **out, unsigned *port_out)
{
	int rc = http_server_listen(a, out, port_out);

	if (rc == PV_OK && (rc = http_server_run(*out)) != PV_OK) {
		http_server_stop(*out);
		*out = NULL;
	}
	return rc;
}

int64_t http_server_inflight(void)
{
	return __atomic_load_n(&srv_inflight, __ATOMIC_RELAXED);
}

int http_server_stopping(const http_server *srv)
{
	return srv ? __atomic_load_n(&srv->stopping, __ATOMIC_SEQ_CST) : 0;
}

void http_server_pool_stats(const http_server *srv, int64_t *depth, uint64_t *shed)
{
	*depth = srv && srv->work ? http_pool_depth(srv->work) : 0;
	*shed = srv && srv->work ? http_pool_shed(srv->work) + http_pool_shed(srv->remote) : 0;
}

void http_server_stop(http_server *srv)
{
	int64_t t0 = util_mono_ns();
	MHD_socket lfd;

	if (!srv)
		return;
	if (!srv->d) { /* listening, never served */
		if (srv->lfd >= 0)
			close(srv->lfd);
		free(srv);
		return;
	}
	/* Stop accepting; let the requests in flight finish (their answers
	 * are made by the pools, which need the HTTP threads to send them),
	 * within a grace period; then close what is left. The listening
	 * socket, handed back by MHD, stops listening at once (shutdown: a
	 * connection made meanwhile is refused, and the client may send it
	 * elsewhere, instead of waiting in the backlog, never served, to be
	 * reset at exit); it is closed only after the daemon stops, as MHD's
	 * threads still take it out of their epoll sets after the quiesce
	 * returns (ThreadSanitizer saw that race with a close here). */
	__atomic_store_n(&srv->stopping, 1, __ATOMIC_SEQ_CST);
	lfd = MHD_quiesce_daemon(srv->d);
	if (lfd != MHD_INVALID_SOCKET)
		shutdown(lfd, SHUT_RDWR);
	while (http_server_inflight() > 0 &&
	       util_mono_ns() - t0 < (int64_t)SRV_STOP_GRACE_MS * 1000000)
		usleep(10000);
	/* Nothing more is dispatched (an HTTP thread reads closing after
	 * counting itself in finishing; this one waits for finishing after
	 * setting closing: either it refuses, or it is waited for and its
	 * deferred answer, if any, is counted by then). */
	__atomic_store_n(&srv->closing, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&srv->finishing, __ATOMIC_SEQ_CST) > 0)
		usleep(1000);
	/* The pools answer what they hold (503 stopping: closing is set) and
	 * refuse more; they are freed after the daemon stops, as nothing can
	 * reach them then. */
	http_pool_quiesce(srv->work);
	http_pool_quiesce(srv->remote);
	/* an answer owed by another thread (the store's group commit, or a
	 * job just run) will resume its connection: the daemon must outlive
	 * it, and MHD must not stop with a connection suspended (the store
	 * answers within its retries) */
	while (__atomic_load_n(&srv_deferred, __ATOMIC_ACQUIRE) > 0)
		usleep(10000);
	/* a resumed connection's answer is queued by its HTTP thread: give
	 * the answers owed a moment to go out before the sockets close */
	t0 = util_mono_ns();
	while (http_server_inflight() > 0 &&
	       util_mono_ns() - t0 < (int64_t)SRV_STOP_FLUSH_MS * 1000000)
		usleep(1000);
	MHD_stop_daemon(srv->d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	if (srv->metrics)
		MHD_stop_daemon(srv->metrics);
	http_pool_stop(srv->work);
	http_pool_stop(srv->remote);
	conns_stop();
	free(srv);
}
