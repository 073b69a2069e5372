/* intake: how an uploaded file becomes a durable upload, for the server
 * (POST /api/v1/mdo/uploads) and for `pravesh import` alike: a safe stored
 * name "<ms>_<safe name>", the file placed under <data-dir>/uploads (moved
 * or copied, never overwriting), and the upload row with its audit row in
 * one transaction. */
#include "import/job.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/audit.h"
#include "core/validate.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"
#include "util/utf8.h"

#define INTAKE_TRIES 100

/* Copies src to dst (created 0600, never overwritten): PV_ECONFLICT when
 * dst exists. */
static int intake_copy(const char *src, const char *dst)
{
	char b[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = PV_OK;
	ssize_t n;

	if (in < 0)
		return PV_EIO;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = errno == EEXIST ? PV_ECONFLICT : PV_EIO;
		goto out;
	}
	while ((n = read(in, b, sizeof b)) > 0) {
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(out, b + o, (size_t)(n - o));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = PV_EIO;
				goto out;
			}
			o += w;
		}
	}
	if (n < 0 || fsync(out) != 0)
		rc = PV_EIO;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && rc == PV_OK)
		rc = PV_EIO;
	if (rc != PV_OK && rc != PV_ECONFLICT)
		unlink(dst);
	return rc;
}

/* Places the file under dir as "<ms>_<safe>", trying later milliseconds
 * while the name is taken; fills u->file_name and u->stored_path. */
static int intake_place(const job_intake_in *in, const char *dir, store_upload *u)
{
	char safe[128], name[160];
	int rc = PV_EIO;

	job_safe_name(in->original_name, safe, sizeof safe);
	for (int tries = 0; tries <= INTAKE_TRIES; tries++) {
		snprintf(name, sizeof name, "%lld_%s", (long long)(in->now + tries), safe);
		util_strlcpy(u->file_name, name, sizeof u->file_name);
		if ((size_t)snprintf(u->stored_path, sizeof u->stored_path, "%s/%s", dir, name) >=
		    sizeof u->stored_path)
			return PV_ELIMIT;
		if (in->move) {
			if (link(in->path, u->stored_path) == 0) {
				unlink(in->path);
				return PV_OK;
			}
			rc = errno == EEXIST ? PV_ECONFLICT : PV_EIO;
		} else {
			rc = intake_copy(in->path, u->stored_path);
		}
		if (rc != PV_ECONFLICT)
			return rc;
	}
	return PV_EIO;
}

/* Bytes in the UTF-8 sequence that starts with lead byte c. */
static size_t intake_seq_len(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
}

void job_display_name(const char *name, char *out, size_t cap)
{
	const char *base = name ? name : "";
	size_t n = 0, i;

	for (const char *p = base; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	/* a name that is not UTF-8 is shown as its safe form */
	if (!utf8_valid(base, strlen(base))) {
		job_safe_name(base, out, cap);
		return;
	}
	for (const char *p = base; *p && n + 1 < cap; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			out[n++] = *p;
	/* cut short: drop a last character that did not fit whole */
	if (n > 0) {
		for (i = n - 1; i > 0 && ((unsigned char)out[i] & 0xC0) == 0x80; i--)
			;
		if (i + intake_seq_len((unsigned char)out[i]) > n)
			n = i;
	}
	out[n] = '\0';
	if (n == 0)
		job_safe_name(base, out, cap);
}

struct intake_tx {
	const job_intake_in *in;
	const store_upload *u;
};

static int intake_tx(store *s, void *ctx)
{
	struct intake_tx *x = ctx;
	int rc = store_upload_insert(s, x->u);

	if (rc != PV_OK)
		return rc;
	return audit_record(s, x->in->uploader_id, "upload", x->u->id, x->in->ip,
			    json_pack("{s:s, s:s, s:s, s:I, s:s}", "org_id", x->u->org_id,
				      "file_name", x->u->file_name, "original_name",
				      x->u->original_name, "bytes", (json_int_t)x->in->bytes,
				      "via", x->in->claimed_by ? "cli" : "web"),
			    x->in->now);
}

int job_files_remove(void *ctx, store *st, const store_upload *u, int64_t now)
{
	char result[STORE_PATH_MAX + 16];
	int rc;

	(void)ctx;
	snprintf(result, sizeof result, "%s.result", u->stored_path);
	if ((u->stored_path[0] && unlink(u->stored_path) != 0 && errno != ENOENT) ||
	    (u->stored_path[0] && unlink(result) != 0 && errno != ENOENT)) {
		log_kv(LOG_WARN, "upload files could not be deleted", "id", u->id, "error",
		       strerror(errno), NULL);
		return PV_EIO;
	}
	rc = store_upload_files_removed(st, u->id, now);
	if (rc == PV_OK)
		log_kv(LOG_INFO, "upload files removed after the retention period", "id", u->id, NULL);
	return rc;
}

int job_intake(store *st, const job_intake_in *in, store_upload *u)
{
	char dir[STORE_PATH_MAX];
	int rc;

	memset(u, 0, sizeof *u);
	if ((size_t)snprintf(dir, sizeof dir, "%s/uploads", in->data_dir) >= sizeof dir)
		return PV_ELIMIT;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return PV_EIO;
	if ((rc = intake_place(in, dir, u)) != PV_OK)
		return rc;
	util_uuid(u->id);
	util_strlcpy(u->org_id, in->org_id, sizeof u->org_id);
	util_strlcpy(u->uploader_id, in->uploader_id ? in->uploader_id : "",
		     sizeof u->uploader_id);
	job_display_name(in->original_name, u->original_name, sizeof u->original_name);
	util_strlcpy(u->format, in->format, sizeof u->format);
	u->created_at = u->updated_at = in->now;
	if (in->claimed_by) {
		/* the command line runs it at once: inserted already claimed */
		util_strlcpy(u->status, STORE_UP_IN_PROGRESS, sizeof u->status);
		util_strlcpy(u->claimed_by, in->claimed_by, sizeof u->claimed_by);
		u->lease_until = in->now + JOB_LEASE_MS;
	} else {
		util_strlcpy(u->status, STORE_UP_QUEUED, sizeof u->status);
	}
	rc = store_tx(st, intake_tx, &(struct intake_tx){in, u});
	if (rc != PV_OK) {
		unlink(u->stored_path);
		return rc;
	}
	log_kv(LOG_INFO, "upload recorded", "id", u->id, "org", u->org_id, "file",
	       u->file_name, NULL);
	return PV_OK;
}
