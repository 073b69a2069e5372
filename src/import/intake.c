/* intake: how an uploaded file becomes a durable upload, for the server
 * (POST /api/v1/mdo/uploads) and for `pravesh import` alike: the file kept
 * in the store as a blob named by the upload's id (so that any process
 * sharing the store can process and serve it), then the upload row, named
 * "<ms>_<safe name>", with its audit row in one transaction. This is the
 * one place where uploads are recorded. */
#include "import/job.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/audit.h"
#include "core/validate.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"
#include "util/utf8.h"

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
	char result[STORE_ID_MAX + 16], legacy[STORE_PATH_MAX + 16];
	size_t pl = strlen(JOB_BLOB_PREFIX);
	int rc;

	(void)ctx;
	job_result_blob(u, result, sizeof result);
	if (strncmp(u->stored_path, JOB_BLOB_PREFIX, pl) == 0) {
		if ((rc = store_blob_delete(st, u->stored_path + pl)) != PV_OK)
			return rc;
	} else if (u->stored_path[0]) {
		/* recorded before uploads were kept in the store: the file,
		 * and the result made beside it then */
		snprintf(legacy, sizeof legacy, "%s.result", u->stored_path);
		if ((unlink(u->stored_path) != 0 && errno != ENOENT) ||
		    (unlink(legacy) != 0 && errno != ENOENT)) {
			log_kv(LOG_WARN, "upload files could not be deleted", "id", u->id, "error",
			       strerror(errno), NULL);
			return PV_EIO;
		}
	}
	if ((rc = store_blob_delete(st, result)) != PV_OK ||
	    (rc = store_upload_files_removed(st, u->id, now)) != PV_OK)
		return rc;
	/* a result being made while the files went may have been put since */
	store_blob_delete(st, result);
	log_kv(LOG_INFO, "upload files removed after the retention period", "id", u->id, NULL);
	return PV_OK;
}

int job_intake(store *st, const job_intake_in *in, store_upload *u)
{
	char safe[128];
	int rc;

	memset(u, 0, sizeof *u);
	util_uuid(u->id);
	rc = store_blob_put(st, u->id, in->path);
	if (rc != PV_OK) {
		log_kv(LOG_WARN, "upload not stored", "reason", pv_strerror(rc), NULL);
		return rc;
	}
	job_safe_name(in->original_name, safe, sizeof safe);
	snprintf(u->file_name, sizeof u->file_name, "%lld_%s", (long long)in->now, safe);
	snprintf(u->stored_path, sizeof u->stored_path, JOB_BLOB_PREFIX "%s", u->id);
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
		store_blob_delete(st, u->id);
		return rc;
	}
	if (in->move)
		unlink(in->path);
	log_kv(LOG_INFO, "upload recorded", "id", u->id, "org", u->org_id, "file",
	       u->file_name, NULL);
	return PV_OK;
}
