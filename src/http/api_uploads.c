/* api_uploads: MDO bulk uploads (api.md, bulk-upload.md). The POST body
 * streams to a temporary file in <data-dir>/uploads as it arrives (a
 * multipart/form-data parser from libmicrohttpd, fed by the route's body
 * callback), never held in memory. The request is authorised on its first
 * body bytes, so an anonymous client cannot make the server store
 * anything. Another organisation's upload answers 404, as if it did not
 * exist. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http.h"
#include "http/uploads.h"
#include "import/job.h"
#include "import/reader.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define UP_PP_BUF 65536

/* ---- the body (uploads.h) ---- */

void up_body_drop(up_body *b)
{
	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	if (b->tmp[0])
		unlink(b->tmp);
	b->tmp[0] = '\0';
}

void up_body_free(up_body *b)
{
	if (!b)
		return;
	if (b->pp)
		MHD_destroy_post_processor(b->pp);
	up_body_drop(b);
	free(b);
}

static enum MHD_Result up_iter(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *filename, const char *ctype,
			       const char *enc, const char *data, uint64_t off,
			       size_t size)
{
	up_body *b = cls;

	(void)kind;
	(void)ctype;
	(void)enc;
	if (!key || strcmp(key, "file") != 0)
		return MHD_YES;
	/* a part's data starts at offset 0: a second "file" part is ignored */
	if (off == 0 && b->has_file && b->bytes > 0)
		b->later_part = 1;
	if (!b->has_file) {
		b->has_file = 1;
		util_strlcpy(b->fname, filename ? filename : "", sizeof b->fname);
	}
	if (b->fd < 0 || b->later_part)
		return MHD_YES;
	if (size == 0)
		return MHD_YES;
	b->bytes += size;
	if (b->bytes > (uint64_t)b->max) {
		b->too_large = 1;
		up_body_drop(b); /* refused: its bytes go at once */
		return MHD_NO;
	}
	while (size) {
		ssize_t w = write(b->fd, data, size);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			b->write_err = w < 0 ? util_errno_err(errno) : PV_EIO;
			up_body_drop(b); /* on a full disk its room is given back now */
			return MHD_NO;
		}
		data += w;
		size -= (size_t)w;
	}
	return MHD_YES;
}

int up_body_begin(struct MHD_Connection *c, const char *dir, int64_t max, up_body **out)
{
	up_body *b = calloc(1, sizeof *b);
	char uid[UUID_STR_LEN];

	*out = b;
	if (!b)
		return PV_ENOMEM;
	b->fd = -1;
	b->max = max;
	b->pp = MHD_create_post_processor(c, UP_PP_BUF, up_iter, b);
	if (!b->pp)
		return PV_EFORMAT;
	util_uuid(uid);
	if ((size_t)snprintf(b->tmp, sizeof b->tmp, "%s/.part-%s", dir, uid) >= sizeof b->tmp) {
		b->tmp[0] = '\0';
		return PV_ELIMIT;
	}
	b->fd = open(b->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b->fd < 0) {
		b->tmp[0] = '\0';
		return b->write_err = util_errno_err(errno);
	}
	return PV_OK;
}

/* The outcome so far, PV_OK while the body is fine. */
static int up_body_state(const up_body *b)
{
	if (b->too_large)
		return PV_ELIMIT;
	if (b->write_err)
		return b->write_err;
	if (b->parse_error)
		return PV_EFORMAT;
	return PV_OK;
}

int up_body_feed(up_body *b, const char *data, size_t n)
{
	int rc = up_body_state(b);

	if (rc != PV_OK || !b->pp)
		return rc != PV_OK ? rc : PV_EINVAL;
	if (MHD_post_process(b->pp, data, n) != MHD_YES && !b->too_large && !b->write_err)
		b->parse_error = 1;
	return PV_OK;
}

int up_body_end(up_body *b)
{
	int e;

	if (b->pp) {
		int ok = MHD_destroy_post_processor(b->pp) == MHD_YES;

		b->pp = NULL;
		if (!ok && !b->too_large && !b->write_err)
			b->parse_error = 1;
	}
	if (b->too_large)
		return PV_ELIMIT;
	if (b->write_err)
		return b->write_err;
	if (!b->has_file && !b->parse_error)
		return PV_ENOTFOUND;
	if (b->parse_error)
		return PV_EFORMAT;
	if (b->bytes == 0)
		return PV_EINVAL;
	/* closed whatever fsync said: an open descriptor would keep the
	 * file's blocks after it is removed */
	e = fsync(b->fd) != 0 ? errno : 0;
	if (close(b->fd) != 0 && !e)
		e = errno;
	b->fd = -1;
	return e ? (b->write_err = util_errno_err(e)) : PV_OK;
}

/* ---- the route's state ---- */

typedef struct up_state {
	up_body *body;
	int begun;    /* the first body bytes arrived */
	int refused;  /* not authorised: the body is dropped */
	int begin_rc; /* why the body could not be taken (up_body_begin) */
} up_state;

static void up_free(void *p)
{
	up_state *s = p;

	if (!s)
		return;
	up_body_free(s->body);
	free(s);
}

/* req->ext_drop: a refused upload's file goes before the answer leaves. */
static void up_drop(void *p)
{
	up_state *s = p;

	up_body_drop(s->body);
}

static void up_resp_clear(http_resp *r)
{
	free(r->body);
	for (size_t i = 0; i < r->nhdr; i++)
		free(r->hval[i]);
	if (r->fd >= 0)
		close(r->fd);
}

static int up_dir(const app *a, char *out, size_t cap)
{
	if ((size_t)snprintf(out, cap, "%s/uploads", a->cfg->data_dir) >= cap)
		return PV_ELIMIT;
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return util_errno_err(errno);
	return PV_OK;
}

/* First body bytes: authorise, then set up the parser and the file. */
static up_state *up_begin(http_req *req)
{
	up_state *s = calloc(1, sizeof *s);
	http_resp tmp;
	char org[STORE_ID_MAX], dir[STORE_PATH_MAX - 64];
	int64_t max = req->app->cfg->upload_max_bytes > 0 ? req->app->cfg->upload_max_bytes
							 : (int64_t)100 << 20;
	int dir_rc;

	if (!s)
		return NULL;
	s->begun = 1;
	req->ext = s;
	req->ext_free = up_free;
	req->ext_drop = up_drop;
	memset(&tmp, 0, sizeof tmp);
	tmp.fd = -1;
	if (http_authorise(req, &tmp) != PV_OK || http_mdo_org(req, &tmp, org) != PV_OK) {
		s->refused = 1;
		up_resp_clear(&tmp);
		return s;
	}
	up_resp_clear(&tmp);
	/* not multipart (400) goes before a folder that cannot be made */
	dir_rc = up_dir(req->app, dir, sizeof dir);
	s->begin_rc = up_body_begin(req->conn, dir, max, &s->body);
	if (s->begin_rc != PV_EFORMAT && dir_rc != PV_OK)
		s->begin_rc = dir_rc;
	return s;
}

int api_uploads_body(http_req *req, const char *data, size_t n)
{
	up_state *s = req->ext;

	if (!s && !(s = up_begin(req)))
		return PV_ENOMEM;
	if (s->refused || s->begin_rc != PV_OK)
		return PV_EDENIED;
	return up_body_feed(s->body, data, n) == PV_OK ? PV_OK : PV_EDENIED;
}

/* ---- shapes ---- */

/* The name the administrator gave the file; uploads recorded before
 * original_name existed: the stored name without its "<ms>_" prefix. */
static const char *up_orig(const store_upload *u)
{
	const char *us = strchr(u->file_name, '_');

	if (u->original_name[0])
		return u->original_name;
	return us && us[1] ? us + 1 : u->file_name;
}

static json_t *up_json(const store_upload *u)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
			 "id", u->id, "file_name", u->file_name, "original_name", up_orig(u),
			 "format", u->format,
			 "status", u->status, "failed_records", (json_int_t)u->failed_records,
			 "success_records", (json_int_t)u->success_records,
			 "total_records", (json_int_t)u->total_records,
			 "error", u->error[0] ? json_string(u->error) : json_null(),
			 "created_at", http_time(u->created_at),
			 "updated_at", http_time(u->updated_at),
			 "files_removed_at", http_time(u->files_removed_at));
}

static const char *up_ctype(const char *format)
{
	return strcmp(format, "xlsx") == 0
		       ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		       : "text/csv; charset=utf-8";
}

/* Content-Disposition for a download named name: an ASCII-safe filename
 * for old clients and the name itself (UTF-8, percent-encoded as RFC 8187
 * says) for the rest. */
static void up_disposition(http_resp *resp, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	char safe[160], v[sizeof safe + 3 * STORE_PATH_MAX + 64];
	size_t n;

	job_safe_name(name, safe, sizeof safe);
	n = (size_t)snprintf(v, sizeof v, "attachment; filename=\"%s\"; filename*=UTF-8''", safe);
	for (const unsigned char *p = (const unsigned char *)name; *p && n + 4 < sizeof v; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("!#$&+-.^_`|~", *p)) {
			v[n++] = (char)*p;
		} else {
			v[n++] = '%';
			v[n++] = hex[*p >> 4];
			v[n++] = hex[*p & 15];
		}
	}
	v[n] = '\0';
	http_add_header(resp, "Content-Disposition", v);
}

static int up_send_file(http_resp *resp, const char *path, const char *ctype,
			const char *name)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return PV_ENOTFOUND;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return PV_EIO;
	}
	resp->status = 200;
	resp->ctype = ctype;
	resp->fd = fd;
	resp->fd_size = (uint64_t)sb.st_size;
	up_disposition(resp, name);
	http_add_header(resp, "Cache-Control", "no-store");
	return PV_OK;
}

/* ---- handlers ---- */

void api_uploads_template(http_req *req, http_resp *resp)
{
	const char *f = http_query(req, "format");
	int xlsx;
	char dir[STORE_PATH_MAX - 64], path[STORE_PATH_MAX], uid[UUID_STR_LEN];
	int rc;

	if (f && strcmp(f, "csv") != 0 && strcmp(f, "xlsx") != 0) {
		http_problem(resp, 400, "invalid_format", "format is csv or xlsx.", NULL);
		return;
	}
	xlsx = f && strcmp(f, "xlsx") == 0;
	if (up_dir(req->app, dir, sizeof dir) != PV_OK) {
		http_problem_err(resp, PV_EIO);
		return;
	}
	util_uuid(uid);
	snprintf(path, sizeof path, "%s/.template-%s.%s", dir, uid, xlsx ? "xlsx" : "csv");
	rc = imp_write_template(path, xlsx ? IMP_XLSX : IMP_CSV);
	if (rc == PV_OK)
		rc = up_send_file(resp, path, up_ctype(xlsx ? "xlsx" : "csv"),
				  xlsx ? "users-template.xlsx" : "users-template.csv");
	unlink(path); /* the open descriptor keeps the bytes */
	if (rc != PV_OK)
		http_problem_err(resp, rc);
}

/* Ends upload body b: PV_OK when it holds a file, else up_body_end's error
 * with the problem written (too large, none, unreadable, empty, a full
 * disk). */
static int up_body_answer(up_body *b, http_resp *resp)
{
	char d[128];
	int rc = up_body_end(b);

	switch (rc) {
	case PV_OK:
		break;
	case PV_ELIMIT:
		snprintf(d, sizeof d, "The file is larger than %lld bytes.", (long long)b->max);
		http_problem(resp, 413, "file_too_large", d, NULL);
		break;
	case PV_ENOTFOUND:
		http_problem(resp, 400, "file_required",
			     "Send multipart/form-data with the file in a field named file.", NULL);
		break;
	case PV_EFORMAT:
		http_problem(resp, 400, "malformed_multipart", "The multipart body could not be read.",
			     NULL);
		break;
	case PV_EINVAL:
		http_problem(resp, 400, "empty_file", "The file is empty.", NULL);
		break;
	case PV_ENOSPACE:
		log_kv(LOG_WARN, "upload refused: the disk is full", NULL);
		http_problem_err(resp, PV_ENOSPACE);
		break;
	default:
		http_problem_err(resp, PV_EIO);
		break;
	}
	return rc;
}

/* IMP_CSV or IMP_XLSX from the received file's first bytes (a ZIP archive
 * must be a workbook), or 0 with the problem written. */
static int up_format(const up_body *b, http_resp *resp)
{
	char head[4096];
	ssize_t hn;
	int fd, fmt;

	fd = open(b->tmp, O_RDONLY | O_CLOEXEC);
	hn = fd >= 0 ? read(fd, head, sizeof head) : -1;
	if (fd >= 0)
		close(fd);
	if (hn < 0) {
		http_problem_err(resp, PV_EIO);
		return 0;
	}
	fmt = imp_sniff(head, (size_t)hn);
	if (fmt == IMP_XLSX && imp_zip_is_workbook(b->tmp, NULL) == 0)
		fmt = 0; /* a ZIP archive, but not a workbook */
	if (fmt != IMP_CSV && fmt != IMP_XLSX) {
		http_problem(resp, 415, "unsupported_file",
			     "The file is not a CSV or XLSX file.", NULL);
		return 0;
	}
	return fmt;
}

void api_uploads_create(http_req *req, http_resp *resp)
{
	app *a = req->app;
	up_state *s = req->ext;
	up_body *b = s ? s->body : NULL;
	store_upload u;
	char org[STORE_ID_MAX];
	int fmt, rc;

	if (http_mdo_org(req, resp, org) != PV_OK)
		goto out;
	if (!s || s->begin_rc == PV_EFORMAT) {
		http_problem(resp, 400, "file_required",
			     "Send multipart/form-data with the file in a field named file.", NULL);
		goto out;
	}
	if (s->refused) { /* authorised now but not then: cannot happen twice */
		http_problem(resp, 403, "forbidden", "You may not do this.", NULL);
		goto out;
	}
	if (s->begin_rc != PV_OK) {
		http_problem_err(resp, s->begin_rc == PV_ENOSPACE ? PV_ENOSPACE : PV_EIO);
		goto out;
	}
	if (up_body_answer(b, resp) != PV_OK || (fmt = up_format(b, resp)) == 0)
		goto out;
	rc = job_intake(a->st,
			&(job_intake_in){b->tmp, 1, b->fname, org,
				      fmt == IMP_XLSX ? "xlsx" : "csv", req->user.id, req->ip,
				      NULL, b->bytes, util_now_ms()},
			&u);
	if (rc == PV_OK)
		b->tmp[0] = '\0'; /* in the store now; the file is gone */
	if (rc == PV_ENOTFOUND) {
		http_problem(resp, 404, "org_not_found", "There is no organisation with this id.", NULL);
		goto out;
	}
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		goto out;
	}
	job_kick();
	log_kv(LOG_INFO, "upload queued", "id", u.id, "org", org, "file", u.file_name, NULL);
	http_json(resp, 202, up_json(&u));
out:
	/* a refused file is gone before its answer leaves (the client may look) */
	up_body_drop(b);
}

/* The upload named by the path, if it belongs to the organisation the
 * request acts on; else writes the problem (404 for another's). */
static int up_load(http_req *req, http_resp *resp, store_upload *u)
{
	char org[STORE_ID_MAX];
	int rc;

	if (http_mdo_org(req, resp, org) != PV_OK)
		return PV_EDENIED;
	rc = store_upload_get(req->app->st, http_param(req, "id"), u);
	if (rc == PV_OK && strcmp(u->org_id, org) != 0)
		rc = PV_ENOTFOUND;
	if (rc == PV_ENOTFOUND)
		http_problem(resp, 404, "not_found", "There is no such upload.", NULL);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
	return rc;
}

void api_uploads_list(http_req *req, http_resp *resp)
{
	char org[STORE_ID_MAX];
	store_page pg;
	store_upload *items = NULL;
	size_t n = 0;
	int64_t total = 0;
	json_t *arr;
	int rc;

	if (http_mdo_org(req, resp, org) != PV_OK || http_page(req, resp, &pg) != PV_OK)
		return;
	rc = store_upload_list(req->app->st, org, pg, &items, &n, &total);
	if (rc != PV_OK) {
		http_problem_err(resp, rc);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, up_json(&items[i]));
	free(items);
	http_json(resp, 200, http_list(arr, total, pg));
}

void api_uploads_get(http_req *req, http_resp *resp)
{
	store_upload u;

	if (up_load(req, resp, &u) == PV_OK)
		http_json(resp, 200, up_json(&u));
}

/* PV_OK while the upload's files are kept; PV_ENOTFOUND after writing
 * 410 when retention removed them. */
static int up_files_kept(http_resp *resp, const store_upload *u)
{
	if (!u->files_removed_at)
		return PV_OK;
	http_problem(resp, 410, "files_removed",
		     "The uploaded file and its result were deleted at the end of their retention period.",
		     NULL);
	return PV_ENOTFOUND;
}

/* Serves the local file path (deleted afterwards when temp: the open
 * descriptor keeps the bytes). */
static int up_send_fetched(http_resp *resp, const char *path, int temp,
			   const char *ctype, const char *name)
{
	int rc = up_send_file(resp, path, ctype, name);

	if (temp)
		unlink(path);
	return rc;
}

void api_uploads_file(http_req *req, http_resp *resp)
{
	store_upload u;
	char dir[STORE_PATH_MAX - 64], path[STORE_PATH_MAX];
	int rc, temp = 0;

	if (up_load(req, resp, &u) != PV_OK || up_files_kept(resp, &u) != PV_OK)
		return;
	/* from the store: any instance serves any upload */
	rc = up_dir(req->app, dir, sizeof dir);
	if (rc == PV_OK)
		rc = job_fetch(req->app->st, &u, dir, path, sizeof path, &temp);
	if (rc == PV_OK)
		rc = up_send_fetched(resp, path, temp, up_ctype(u.format), up_orig(&u));
	if (rc == PV_EFORMAT || rc == PV_ENOTFOUND)
		http_problem(resp, 404, "file_gone", "The uploaded file is no longer stored.", NULL);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
}

void api_uploads_result(http_req *req, http_resp *resp)
{
	store_upload u;
	char dir[STORE_PATH_MAX - 64], tmp[STORE_PATH_MAX], name[STORE_PATH_MAX + 32];
	char blob[STORE_ID_MAX + 16], uid[UUID_STR_LEN];
	const char *orig, *dot;
	int rc;

	if (up_load(req, resp, &u) != PV_OK || up_files_kept(resp, &u) != PV_OK)
		return;
	if (strcmp(u.status, STORE_UP_SUCCESSFUL) != 0 && strcmp(u.status, STORE_UP_FAILED) != 0) {
		http_problem(resp, 409, "not_finished",
			     "The upload is still being processed; try again when it has finished.",
			     NULL);
		return;
	}
	if (u.error[0]) {
		http_problem(resp, 409, "no_result", u.error, NULL);
		return;
	}
	orig = up_orig(&u);
	dot = strrchr(orig, '.');
	if (dot && dot != orig)
		snprintf(name, sizeof name, "%.*s.result%s", (int)(dot - orig), orig, dot);
	else
		snprintf(name, sizeof name, "%.900s.result.%.8s", orig, u.format);
	if ((rc = up_dir(req->app, dir, sizeof dir)) != PV_OK) {
		http_problem_err(resp, rc);
		return;
	}
	util_uuid(uid);
	snprintf(tmp, sizeof tmp, "%s/.result-%s", dir, uid);
	/* made once by whichever instance is asked first, then kept in the
	 * store for all of them (two made at once are the same file: the
	 * second one put is refused and dropped) */
	job_result_blob(&u, blob, sizeof blob);
	rc = store_blob_get(req->app->st, blob, tmp);
	if (rc == PV_ENOTFOUND) {
		rc = job_result(req->app->st, &u, NULL, tmp);
		if (rc == PV_OK) {
			int put = store_blob_put(req->app->st, blob, tmp);

			if (put != PV_OK && put != PV_ECONFLICT)
				log_kv(LOG_WARN, "result file not kept in the store", "id", u.id,
				       "reason", pv_strerror(put), NULL);
		}
	}
	if (rc == PV_OK)
		rc = up_send_fetched(resp, tmp, 1, up_ctype(u.format), name);
	if (rc == PV_EFORMAT)
		http_problem(resp, 409, "no_result", "The uploaded file can no longer be read.", NULL);
	else if (rc != PV_OK)
		http_problem_err(resp, rc);
}
