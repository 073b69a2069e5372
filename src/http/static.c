/* static: the web pages under the web root. Paths are checked by
 * character and segment before any file is opened: no "..", no hidden
 * files, no backslashes; "/" is index.html and "/register" is
 * register.html. Answers carry an ETag and honour If-None-Match. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http.h"
#include "util/err.h"

#define STATIC_PATH_MAX 256

static const struct {
	const char *ext, *type;
} st_types[] = {
	{".html", "text/html; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".json", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
	{".txt", "text/plain; charset=utf-8"},
	{".csv", "text/csv; charset=utf-8"},
	{".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
};

static const char *st_mime(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof st_types / sizeof st_types[0]; i++)
		if (strcmp(dot, st_types[i].ext) == 0)
			return st_types[i].type;
	return "application/octet-stream";
}

/* 1 when every segment is [A-Za-z0-9_.-]+ and none starts with '.' */
static int st_safe(const char *p)
{
	int seg_start = 1;

	if (*p != '/')
		return 0;
	for (p++; *p; p++) {
		char c = *p;

		if (c == '/') {
			if (seg_start)
				return 0; /* empty segment */
			seg_start = 1;
			continue;
		}
		if (seg_start && c == '.')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return 0;
		seg_start = 0;
	}
	return 1;
}

static int st_open(const char *root, const char *rel, struct stat *sb)
{
	char full[STATIC_PATH_MAX + 512];
	int fd;

	if ((size_t)snprintf(full, sizeof full, "%s%s", root, rel) >= sizeof full)
		return -1;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

void http_static(http_req *req, http_resp *resp)
{
	char rel[STATIC_PATH_MAX + 8], etag[64];
	const char *inm;
	struct stat sb;
	int fd = -1;

	if (strlen(req->path) > STATIC_PATH_MAX || !st_safe(req->path)) {
		http_problem(resp, 404, "not_found", "There is nothing at this address.", NULL);
		return;
	}
	if (strcmp(req->path, "/") == 0)
		snprintf(rel, sizeof rel, "/index.html");
	else
		snprintf(rel, sizeof rel, "%s", req->path);
	fd = st_open(req->app->cfg->web_root, rel, &sb);
	if (fd < 0 && !strchr(strrchr(rel, '/'), '.')) {
		/* a page without its extension: /register -> register.html */
		snprintf(rel + strlen(rel), sizeof rel - strlen(rel), ".html");
		fd = st_open(req->app->cfg->web_root, rel, &sb);
	}
	if (fd < 0) {
		http_problem(resp, 404, "not_found", "There is nothing at this address.", NULL);
		return;
	}
	snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "\"",
		 (uint64_t)sb.st_size,
		 (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec);
	http_add_header(resp, "ETag", etag);
	http_add_header(resp, "Cache-Control", "no-cache");
	if (strcmp(st_mime(rel), st_types[0].type) == 0)
		http_add_header(resp, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	inm = http_header_in(req, "If-None-Match");
	resp->ctype = st_mime(rel);
	if (inm && strcmp(inm, etag) == 0) {
		close(fd);
		resp->status = 304;
		return;
	}
	resp->status = 200;
	resp->fd = fd;
	resp->fd_size = (uint64_t)sb.st_size;
}
