/* server: libmicrohttpd in epoll + thread-pool mode. Each request gets an
 * http_req (its own memory, freed when MHD reports it complete); the
 * answer is queued on the call after the headers (never on the first call,
 * which would cost keep-alive: see design/stack-notes.md). */
#include "http/http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/metrics.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define SRV_DRAIN_MAX (32ull << 20)

struct http_server {
	struct MHD_Daemon *d;
	app *app;
};

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

static void srv_client_ip(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	util_strlcpy(out, "unknown", cap);
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  out, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
			  out, (socklen_t)cap);
}

static http_req *srv_req_new(app *a, struct MHD_Connection *c,
			     const char *method, const char *url)
{
	http_req *r = calloc(1, sizeof *r);
	const char *rid;

	if (!r)
		return NULL;
	r->conn = c;
	r->app = a;
	r->method = method;
	r->path = url;
	r->t0_ns = util_mono_ns();
	buf_init(&r->body, (size_t)a->cfg->max_body);
	rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (rid && srv_valid_rid(rid))
		util_strlcpy(r->rid, rid, sizeof r->rid);
	else
		srv_new_rid(r->rid, sizeof r->rid);
	srv_client_ip(c, r->ip, sizeof r->ip);
	return r;
}

static void srv_resp_free(http_resp *resp)
{
	free(resp->body);
	for (size_t i = 0; i < resp->nhdr; i++)
		free(resp->hval[i]);
	if (resp->fd >= 0)
		close(resp->fd);
}

static enum MHD_Result srv_send(http_req *req, http_resp *resp)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (resp->status == 0)
		http_problem(resp, 500, "internal_error", "The server did not answer.", NULL);
	if (resp->fd >= 0) {
		mr = MHD_create_response_from_fd64(resp->fd_size, resp->fd);
		if (mr)
			resp->fd = -1; /* MHD closes it */
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
	req->status = resp->status;
	ret = MHD_queue_response(req->conn, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
	srv_resp_free(resp);
	return ret;
}

/* Runs after the whole request has arrived (or at once when the body is
 * refused). The route was matched when the headers arrived. */
static void srv_dispatch(http_req *req, http_resp *resp)
{
	const struct http_route *rt = req->route;
	int api = strncmp(req->path, "/api/", 5) == 0; /* else a page or a file */
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
		} else {
			http_problem(resp, 404, "not_found",
				     "There is nothing at this address.", NULL);
		}
		return;
	}
	if (http_authorise(req, resp) != PV_OK)
		return;
	rt->fn(req, resp);
}

static enum MHD_Result srv_access(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	app *a = cls;
	http_req *req = *con_cls;
	http_resp resp;

	(void)version;
	if (!req) {
		const char *cl;

		req = srv_req_new(a, c, method, url);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		log_set_request_id(req->rid);
		req->route = http_route_match(req, method, url, req->allowed,
					      sizeof req->allowed);
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						  MHD_HTTP_HEADER_CONTENT_LENGTH);
		/* a streaming route (uploads) may take up to the upload limit
		 * plus room for the multipart framing */
		if (cl && strtoull(cl, NULL, 10) >
				  (req->route && req->route->body
					   ? (unsigned long long)a->cfg->upload_max_bytes + (1u << 20)
					   : (unsigned long long)a->cfg->max_body)) {
			req->body_too_large = 1;
			/* A body we will drop is read and discarded so that the
			 * client gets its 413 rather than a reset; past
			 * SRV_DRAIN_MAX the answer goes at once (and MHD closes
			 * the connection). */
			if (strtoull(cl, NULL, 10) > SRV_DRAIN_MAX) {
				memset(&resp, 0, sizeof resp);
				resp.fd = -1;
				srv_dispatch(req, &resp);
				return srv_send(req, &resp);
			}
		}
		return MHD_YES;
	}
	log_set_request_id(req->rid);
	if (*upload_data_size) {
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
	memset(&resp, 0, sizeof resp);
	resp.fd = -1;
	srv_dispatch(req, &resp);
	return srv_send(req, &resp);
}

static void srv_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	http_req *req = *con_cls;
	int64_t dur;
	char ms[32], st[8];
	size_t route;

	(void)cls;
	(void)c;
	if (!req)
		return;
	dur = util_mono_ns() - req->t0_ns;
	route = req->route ? (size_t)(req->route - http_routes)
			   : (req->status && req->status != 404 && req->status != 405
				      ? http_nroutes : http_nroutes + 1);
	metrics_observe(route, req->status, dur);
	snprintf(ms, sizeof ms, "%.3f", (double)dur / 1e6);
	snprintf(st, sizeof st, "%d", req->status);
	log_set_request_id(req->rid);
	/* the path only: query strings (which may carry tokens) are never
	 * logged */
	log_kv(toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? LOG_INFO : LOG_WARN,
	       "request", "method", req->method, "path",
	       req->route ? req->route->pattern : req->path, "status", st,
	       "ms", ms, "ip", req->ip,
	       toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL : "aborted",
	       "true", NULL);
	log_set_request_id(NULL);
	if (req->ext && req->ext_free)
		req->ext_free(req->ext);
	buf_free(&req->body);
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

static void srv_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_kv(LOG_WARN, "libmicrohttpd", "detail", msg, NULL);
}

int http_server_start(app *a, http_server **out, unsigned *port_out)
{
	http_server *srv;
	struct sockaddr_in sa;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = a->cfg->workers > 0 ? (unsigned)a->cfg->workers
					       : (unsigned)(cores > 0 ? cores : 1);
	const union MHD_DaemonInfo *di;

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
	/* ITC: MHD_quiesce_daemon needs it to stop the listening thread
	 * cleanly; the logger goes first so that MHD prints nothing itself */
	srv->d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC,
		ntohs(sa.sin_port), NULL, NULL, srv_access, a,
		MHD_OPTION_EXTERNAL_LOGGER, srv_mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_NOTIFY_COMPLETED, srv_completed, NULL,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
		MHD_OPTION_CONNECTION_TIMEOUT, 60u,
		MHD_OPTION_CONNECTION_LIMIT, 4096u,
		MHD_OPTION_UNESCAPE_CALLBACK, srv_unescape, NULL,
		MHD_OPTION_END);
	if (!srv->d) {
		log_kv(LOG_ERROR, "cannot listen", "listen", a->cfg->listen, NULL);
		free(srv);
		return PV_EIO;
	}
	di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	*port_out = di ? di->port : ntohs(sa.sin_port);
	*out = srv;
	return PV_OK;
}

void http_server_stop(http_server *srv)
{
	if (!srv)
		return;
	/* stop accepting; MHD_stop_daemon then waits for the handlers that
	 * are running and closes the connections */
	MHD_quiesce_daemon(srv->d);
	MHD_stop_daemon(srv->d);
	free(srv);
}
