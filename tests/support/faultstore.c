/* faultstore: see faultstore.h. The wrappers below the line are one per
 * operation of struct store_ops, in its order. */
#include "faultstore.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

typedef struct faultstore {
	store base; /* first: a faultstore is a store */
	store *inner;
	pthread_mutex_t mu; /* guards the fields below */
	long calls, fail_at;
	int err, fired, fired_in_tx;
	const char *fired_op;
} faultstore;

/* The transaction state of the calling thread (one store at a time). */
static __thread int fs_in_tx;
static __thread int fs_lost; /* the error that lost the transaction */

#define FS(s) ((faultstore *)(s))
#define FS_INNER(s) (FS(s)->inner)
#define fs_inner(s) FS_INNER(s)

/* Counts a call; answers the injected or sticky error, or PV_OK. */
static int fs_enter(store *s, const char *op)
{
	faultstore *f = FS(s);
	int rc = PV_OK;

	pthread_mutex_lock(&f->mu);
	f->calls++;
	if (f->fail_at && f->calls == f->fail_at) {
		f->fired = 1;
		f->fired_op = op;
		f->fired_in_tx = fs_in_tx;
		rc = f->err;
	}
	pthread_mutex_unlock(&f->mu);
	if (rc != PV_OK && fs_in_tx)
		fs_lost = rc;
	if (rc == PV_OK && fs_in_tx && fs_lost)
		rc = fs_lost;
	return rc;
}

#define FS_ENTER(s, op)                            \
	do {                                       \
		int fs_rc_ = fs_enter((s), (op));  \
		if (fs_rc_ != PV_OK)               \
			return fs_rc_;             \
	} while (0)

static void fs_close(store *s)
{
	faultstore *f = FS(s);

	pthread_mutex_destroy(&f->mu);
	free(f);
}

static int fs_migrate(store *s)
{
	return store_migrate(fs_inner(s));
}

static int fs_backup(store *s, const char *path)
{
	FS_ENTER(s, "backup");
	return store_backup(fs_inner(s), path);
}

static int fs_tx_begin(store *s)
{
	int rc;

	FS_ENTER(s, "tx_begin");
	rc = store_tx_begin(fs_inner(s));
	if (rc == PV_OK) {
		fs_in_tx = 1;
		fs_lost = 0;
	}
	return rc;
}

static int fs_tx_commit(store *s)
{
	int rc = fs_enter(s, "tx_commit");

	if (rc != PV_OK) {
		/* a lost transaction ends here, rolled back */
		store_tx_rollback(fs_inner(s));
		fs_in_tx = 0;
		fs_lost = 0;
		return rc;
	}
	rc = store_tx_commit(fs_inner(s));
	if (rc == PV_OK)
		fs_in_tx = 0;
	return rc;
}

static int fs_tx_rollback(store *s)
{
	fs_in_tx = 0;
	fs_lost = 0;
	return store_tx_rollback(fs_inner(s));
}

/* ---- one wrapper per operation ---- */

static int fs_ping(store *s)
{
	FS_ENTER(s, "ping");
	return FS_INNER(s)->ops->ping(fs_inner(s));
}

static int fs_org_upsert(store *s, const store_org *org)
{
	FS_ENTER(s, "org_upsert");
	return FS_INNER(s)->ops->org_upsert(fs_inner(s), org);
}

static int fs_org_get(store *s, const char *id, store_org *out)
{
	FS_ENTER(s, "org_get");
	return FS_INNER(s)->ops->org_get(fs_inner(s), id, out);
}

static int fs_org_each(store *s, store_org_cb cb, void *ctx)
{
	FS_ENTER(s, "org_each");
	return FS_INNER(s)->ops->org_each(fs_inner(s), cb, ctx);
}

static int fs_org_children(store *s, const char *id, int64_t *count)
{
	FS_ENTER(s, "org_children");
	return FS_INNER(s)->ops->org_children(fs_inner(s), id, count);
}

static int fs_dir_version(store *s, int64_t *version)
{
	FS_ENTER(s, "dir_version");
	return FS_INNER(s)->ops->dir_version(fs_inner(s), version);
}

static int fs_position_insert(store *s, const store_position *pos)
{
	FS_ENTER(s, "position_insert");
	return FS_INNER(s)->ops->position_insert(fs_inner(s), pos);
}

static int fs_position_upsert_name(store *s, const store_position *pos, store_position *out, int *created)
{
	FS_ENTER(s, "position_upsert_name");
	return FS_INNER(s)->ops->position_upsert_name(fs_inner(s), pos, out, created);
}

static int fs_position_get(store *s, const char *id, store_position *out)
{
	FS_ENTER(s, "position_get");
	return FS_INNER(s)->ops->position_get(fs_inner(s), id, out);
}

static int fs_position_each(store *s, store_position_cb cb, void *ctx)
{
	FS_ENTER(s, "position_each");
	return FS_INNER(s)->ops->position_each(fs_inner(s), cb, ctx);
}

static int fs_user_insert(store *s, const store_user *u, int *conflict)
{
	FS_ENTER(s, "user_insert");
	return FS_INNER(s)->ops->user_insert(fs_inner(s), u, conflict);
}

static int fs_user_insert_batch(store *s, const store_user *users, size_t n, int *conflicts)
{
	FS_ENTER(s, "user_insert_batch");
	return FS_INNER(s)->ops->user_insert_batch(fs_inner(s), users, n, conflicts);
}

static int fs_user_get(store *s, const char *id, store_user *out)
{
	FS_ENTER(s, "user_get");
	return FS_INNER(s)->ops->user_get(fs_inner(s), id, out);
}

static int fs_user_by_email(store *s, const char *email, store_user *out)
{
	FS_ENTER(s, "user_by_email");
	return FS_INNER(s)->ops->user_by_email(fs_inner(s), email, out);
}

static int fs_user_by_mobile(store *s, const char *mobile, store_user *out)
{
	FS_ENTER(s, "user_by_mobile");
	return FS_INNER(s)->ops->user_by_mobile(fs_inner(s), mobile, out);
}

static int fs_user_set_status(store *s, const char *id, const char *status, int64_t now)
{
	FS_ENTER(s, "user_set_status");
	return FS_INNER(s)->ops->user_set_status(fs_inner(s), id, status, now);
}

static int fs_user_verify_email(store *s, const char *id, int64_t now)
{
	FS_ENTER(s, "user_verify_email");
	return FS_INNER(s)->ops->user_verify_email(fs_inner(s), id, now);
}

static int fs_user_list(store *s, const store_user_query *q, store_user **items, size_t *n, store_user_list_info *info)
{
	FS_ENTER(s, "user_list");
	return FS_INNER(s)->ops->user_list(fs_inner(s), q, items, n, info);
}

static int fs_role_add(store *s, const char *user_id, const store_role *r)
{
	FS_ENTER(s, "role_add");
	return FS_INNER(s)->ops->role_add(fs_inner(s), user_id, r);
}

static int fs_role_list(store *s, const char *user_id, store_role *out, size_t max, size_t *n)
{
	FS_ENTER(s, "role_list");
	return FS_INNER(s)->ops->role_list(fs_inner(s), user_id, out, max, n);
}

static int fs_cred_insert(store *s, const store_cred *c)
{
	FS_ENTER(s, "cred_insert");
	return FS_INNER(s)->ops->cred_insert(fs_inner(s), c);
}

static int fs_cred_by_username(store *s, const char *username, store_cred *out)
{
	FS_ENTER(s, "cred_by_username");
	return FS_INNER(s)->ops->cred_by_username(fs_inner(s), username, out);
}

static int fs_consent_add(store *s, const store_consent *c)
{
	FS_ENTER(s, "consent_add");
	return FS_INNER(s)->ops->consent_add(fs_inner(s), c);
}

static int fs_otp_insert(store *s, store_otp *otp)
{
	FS_ENTER(s, "otp_insert");
	return FS_INNER(s)->ops->otp_insert(fs_inner(s), otp);
}

static int fs_otp_last(store *s, const char *subject, const char *purpose, store_otp *out)
{
	FS_ENTER(s, "otp_last");
	return FS_INNER(s)->ops->otp_last(fs_inner(s), subject, purpose, out);
}

static int fs_otp_use(store *s, int64_t id)
{
	FS_ENTER(s, "otp_use");
	return FS_INNER(s)->ops->otp_use(fs_inner(s), id);
}

static int fs_otp_fail(store *s, int64_t id, int max_tries, int *attempts)
{
	FS_ENTER(s, "otp_fail");
	return FS_INNER(s)->ops->otp_fail(fs_inner(s), id, max_tries, attempts);
}

static int fs_throttle_hit(store *s, const char *key, int64_t now, int64_t window_ms, int64_t lock_at, int64_t lock_ms, store_throttle *out)
{
	FS_ENTER(s, "throttle_hit");
	return FS_INNER(s)->ops->throttle_hit(fs_inner(s), key, now, window_ms, lock_at, lock_ms, out);
}

static int fs_throttle_peek(store *s, const char *key, int64_t now, store_throttle *out)
{
	FS_ENTER(s, "throttle_peek");
	return FS_INNER(s)->ops->throttle_peek(fs_inner(s), key, now, out);
}

static int fs_throttle_undo(store *s, const char *key, int64_t now)
{
	FS_ENTER(s, "throttle_undo");
	return FS_INNER(s)->ops->throttle_undo(fs_inner(s), key, now);
}

static int fs_throttle_clear(store *s, const char *key)
{
	FS_ENTER(s, "throttle_clear");
	return FS_INNER(s)->ops->throttle_clear(fs_inner(s), key);
}

static int fs_sweep(store *s, int64_t now, int64_t grace_ms, int64_t idle_ms, int64_t max, int64_t *deleted)
{
	FS_ENTER(s, "sweep");
	return FS_INNER(s)->ops->sweep(fs_inner(s), now, grace_ms, idle_ms, max, deleted);
}

static int fs_token_insert(store *s, const store_token *t)
{
	FS_ENTER(s, "token_insert");
	return FS_INNER(s)->ops->token_insert(fs_inner(s), t);
}

static int fs_token_consume(store *s, const char *kind, const unsigned char hash[STORE_HASH_LEN], int64_t now, store_token *out)
{
	FS_ENTER(s, "token_consume");
	return FS_INNER(s)->ops->token_consume(fs_inner(s), kind, hash, now, out);
}

static int fs_token_get(store *s, const char *kind, const unsigned char hash[STORE_HASH_LEN], int64_t now, store_token *out)
{
	FS_ENTER(s, "token_get");
	return FS_INNER(s)->ops->token_get(fs_inner(s), kind, hash, now, out);
}

static int fs_session_insert(store *s, const store_session *se)
{
	FS_ENTER(s, "session_insert");
	return FS_INNER(s)->ops->session_insert(fs_inner(s), se);
}

static int fs_session_get(store *s, const unsigned char hash[STORE_HASH_LEN], store_session *out)
{
	FS_ENTER(s, "session_get");
	return FS_INNER(s)->ops->session_get(fs_inner(s), hash, out);
}

static int fs_session_touch(store *s, const unsigned char hash[STORE_HASH_LEN], int64_t now)
{
	FS_ENTER(s, "session_touch");
	return FS_INNER(s)->ops->session_touch(fs_inner(s), hash, now);
}

static int fs_session_revoke(store *s, const unsigned char hash[STORE_HASH_LEN])
{
	FS_ENTER(s, "session_revoke");
	return FS_INNER(s)->ops->session_revoke(fs_inner(s), hash);
}

static int fs_session_revoke_user(store *s, const char *user_id)
{
	FS_ENTER(s, "session_revoke_user");
	return FS_INNER(s)->ops->session_revoke_user(fs_inner(s), user_id);
}

static int fs_request_insert(store *s, const store_request *r, store_request *existing)
{
	FS_ENTER(s, "request_insert");
	return FS_INNER(s)->ops->request_insert(fs_inner(s), r, existing);
}

static int fs_request_get(store *s, const char *id, store_request *out)
{
	FS_ENTER(s, "request_get");
	return FS_INNER(s)->ops->request_get(fs_inner(s), id, out);
}

static int fs_request_decide(store *s, const store_request *r)
{
	FS_ENTER(s, "request_decide");
	return FS_INNER(s)->ops->request_decide(fs_inner(s), r);
}

static int fs_request_list(store *s, const char *status, const char *kind, store_page pg, store_request **items, size_t *n, int64_t *total)
{
	FS_ENTER(s, "request_list");
	return FS_INNER(s)->ops->request_list(fs_inner(s), status, kind, pg, items, n, total);
}

static int fs_upload_insert(store *s, const store_upload *u)
{
	FS_ENTER(s, "upload_insert");
	return FS_INNER(s)->ops->upload_insert(fs_inner(s), u);
}

static int fs_upload_get(store *s, const char *id, store_upload *out)
{
	FS_ENTER(s, "upload_get");
	return FS_INNER(s)->ops->upload_get(fs_inner(s), id, out);
}

static int fs_upload_list(store *s, const char *org_id, store_page pg, store_upload **items, size_t *n, int64_t *total)
{
	FS_ENTER(s, "upload_list");
	return FS_INNER(s)->ops->upload_list(fs_inner(s), org_id, pg, items, n, total);
}

static int fs_upload_claim(store *s, const char *worker, int64_t now, int64_t lease_ms, store_upload *out)
{
	FS_ENTER(s, "upload_claim");
	return FS_INNER(s)->ops->upload_claim(fs_inner(s), worker, now, lease_ms, out);
}

static int fs_upload_progress(store *s, const store_upload *u, const char *worker, int64_t now, int64_t lease_ms)
{
	FS_ENTER(s, "upload_progress");
	return FS_INNER(s)->ops->upload_progress(fs_inner(s), u, worker, now, lease_ms);
}

static int fs_upload_finish(store *s, const char *id, const char *status, const char *error, const char *worker, int64_t now)
{
	FS_ENTER(s, "upload_finish");
	return FS_INNER(s)->ops->upload_finish(fs_inner(s), id, status, error, worker, now);
}

static int fs_upload_failure_add(store *s, const char *upload_id, const store_upload_failure *f)
{
	FS_ENTER(s, "upload_failure_add");
	return FS_INNER(s)->ops->upload_failure_add(fs_inner(s), upload_id, f);
}

static int fs_upload_failure_each(store *s, const char *upload_id, store_failure_cb cb, void *ctx)
{
	FS_ENTER(s, "upload_failure_each");
	return FS_INNER(s)->ops->upload_failure_each(fs_inner(s), upload_id, cb, ctx);
}

static int fs_upload_status_counts(store *s, int64_t *queued, int64_t *in_progress, int64_t *successful, int64_t *failed)
{
	FS_ENTER(s, "upload_status_counts");
	return FS_INNER(s)->ops->upload_status_counts(fs_inner(s), queued, in_progress, successful, failed);
}

static int fs_outbox_insert(store *s, store_outbox *m)
{
	FS_ENTER(s, "outbox_insert");
	return FS_INNER(s)->ops->outbox_insert(fs_inner(s), m);
}

static int fs_outbox_claim(store *s, const char *worker, int64_t now, int64_t lease_ms, store_outbox *out)
{
	FS_ENTER(s, "outbox_claim");
	return FS_INNER(s)->ops->outbox_claim(fs_inner(s), worker, now, lease_ms, out);
}

static int fs_outbox_sent(store *s, int64_t id, int64_t now)
{
	FS_ENTER(s, "outbox_sent");
	return FS_INNER(s)->ops->outbox_sent(fs_inner(s), id, now);
}

static int fs_outbox_retry(store *s, int64_t id, int attempts, int64_t next_at, const char *error)
{
	FS_ENTER(s, "outbox_retry");
	return FS_INNER(s)->ops->outbox_retry(fs_inner(s), id, attempts, next_at, error);
}

static int fs_outbox_fail(store *s, int64_t id, int attempts, const char *error)
{
	FS_ENTER(s, "outbox_fail");
	return FS_INNER(s)->ops->outbox_fail(fs_inner(s), id, attempts, error);
}

static int fs_outbox_stats(store *s, int64_t *queued, int64_t *failed)
{
	FS_ENTER(s, "outbox_stats");
	return FS_INNER(s)->ops->outbox_stats(fs_inner(s), queued, failed);
}

static int fs_campaign_insert(store *s, store_campaign *c)
{
	FS_ENTER(s, "campaign_insert");
	return FS_INNER(s)->ops->campaign_insert(fs_inner(s), c);
}

static int fs_campaign_claim(store *s, const char *worker, int64_t now, int64_t lease_ms, store_campaign *out)
{
	FS_ENTER(s, "campaign_claim");
	return FS_INNER(s)->ops->campaign_claim(fs_inner(s), worker, now, lease_ms, out);
}

static int fs_campaign_users(store *s, const char *upload_id, int64_t after, size_t max, store_user *out, size_t *n)
{
	FS_ENTER(s, "campaign_users");
	return FS_INNER(s)->ops->campaign_users(fs_inner(s), upload_id, after, max, out, n);
}

static int fs_campaign_advance(store *s, int64_t id, const char *worker, int64_t cursor, int64_t now, int64_t lease_ms)
{
	FS_ENTER(s, "campaign_advance");
	return FS_INNER(s)->ops->campaign_advance(fs_inner(s), id, worker, cursor, now, lease_ms);
}

static int fs_campaign_release(store *s, int64_t id, const char *worker, int64_t next_at)
{
	FS_ENTER(s, "campaign_release");
	return FS_INNER(s)->ops->campaign_release(fs_inner(s), id, worker, next_at);
}

static int fs_campaign_finish(store *s, int64_t id, const char *worker, int64_t now, int *done)
{
	FS_ENTER(s, "campaign_finish");
	return FS_INNER(s)->ops->campaign_finish(fs_inner(s), id, worker, now, done);
}

static int fs_audit_add(store *s, store_audit *a)
{
	FS_ENTER(s, "audit_add");
	return FS_INNER(s)->ops->audit_add(fs_inner(s), a);
}

static int fs_audit_list(store *s, const store_audit_filter *f, store_page pg, store_audit **items, size_t *n, int64_t *total)
{
	FS_ENTER(s, "audit_list");
	return FS_INNER(s)->ops->audit_list(fs_inner(s), f, pg, items, n, total);
}

static int fs_blob_put(store *s, const char *id, const char *path)
{
	FS_ENTER(s, "blob_put");
	return FS_INNER(s)->ops->blob_put(fs_inner(s), id, path);
}

static int fs_blob_get(store *s, const char *id, const char *path)
{
	FS_ENTER(s, "blob_get");
	return FS_INNER(s)->ops->blob_get(fs_inner(s), id, path);
}

static int fs_blob_delete(store *s, const char *id)
{
	FS_ENTER(s, "blob_delete");
	return FS_INNER(s)->ops->blob_delete(fs_inner(s), id);
}

static int fs_org_update(store *s, const char *id, const store_org_change *ch, int64_t now, store_org *out, int *conflict)
{
	FS_ENTER(s, "org_update");
	return FS_INNER(s)->ops->org_update(fs_inner(s), id, ch, now, out, conflict);
}

static int fs_position_update(store *s, const char *id, const char *name, int active, store_position *out)
{
	FS_ENTER(s, "position_update");
	return FS_INNER(s)->ops->position_update(fs_inner(s), id, name, active, out);
}

static int fs_user_logged_in(store *s, const char *id, int64_t now)
{
	FS_ENTER(s, "user_logged_in");
	return FS_INNER(s)->ops->user_logged_in(fs_inner(s), id, now);
}

static int fs_cred_by_user(store *s, const char *user_id, store_cred *out)
{
	FS_ENTER(s, "cred_by_user");
	return FS_INNER(s)->ops->cred_by_user(fs_inner(s), user_id, out);
}

static int fs_admin_list(store *s, const char *role, const char *org_id, const char *status, const char *q, store_page pg, store_admin **items, size_t *n, int64_t *total)
{
	FS_ENTER(s, "admin_list");
	return FS_INNER(s)->ops->admin_list(fs_inner(s), role, org_id, status, q, pg, items, n, total);
}

static int fs_user_set_names(store *s, const char *id, const char *first_name, const char *last_name, const char *position_id, int64_t now)
{
	FS_ENTER(s, "user_set_names");
	return FS_INNER(s)->ops->user_set_names(fs_inner(s), id, first_name, last_name, position_id, now);
}

static int fs_user_set_mobile(store *s, const char *id, const char *mobile, int64_t now)
{
	FS_ENTER(s, "user_set_mobile");
	return FS_INNER(s)->ops->user_set_mobile(fs_inner(s), id, mobile, now);
}

static int fs_user_set_email(store *s, const char *id, const char *email, int official, int verified, int64_t now)
{
	FS_ENTER(s, "user_set_email");
	return FS_INNER(s)->ops->user_set_email(fs_inner(s), id, email, official, verified, now);
}

static int fs_user_close(store *s, const char *id, int64_t erase_after, int64_t now)
{
	FS_ENTER(s, "user_close");
	return FS_INNER(s)->ops->user_close(fs_inner(s), id, erase_after, now);
}

static int fs_user_erase_due(store *s, int64_t now, char (*ids)[STORE_ID_MAX], size_t max, size_t *n)
{
	FS_ENTER(s, "user_erase_due");
	return FS_INNER(s)->ops->user_erase_due(fs_inner(s), now, ids, max, n);
}

static int fs_user_erase(store *s, const char *id, int64_t now)
{
	FS_ENTER(s, "user_erase");
	return FS_INNER(s)->ops->user_erase(fs_inner(s), id, now);
}

static int fs_otp_forget(store *s, const char *subject, int64_t before)
{
	FS_ENTER(s, "otp_forget");
	return FS_INNER(s)->ops->otp_forget(fs_inner(s), subject, before);
}

static int fs_outbox_forget(store *s, const char *to_addr, int64_t before)
{
	FS_ENTER(s, "outbox_forget");
	return FS_INNER(s)->ops->outbox_forget(fs_inner(s), to_addr, before);
}

static int fs_consent_list(store *s, const char *user_id, store_consent *out, size_t max, size_t *n)
{
	FS_ENTER(s, "consent_list");
	return FS_INNER(s)->ops->consent_list(fs_inner(s), user_id, out, max, n);
}

static int fs_session_list(store *s, const char *user_id, store_session *out, size_t max, size_t *n)
{
	FS_ENTER(s, "session_list");
	return FS_INNER(s)->ops->session_list(fs_inner(s), user_id, out, max, n);
}

static int fs_request_list_contact(store *s, const char *email, const char *mobile, size_t max, store_request **items, size_t *n)
{
	FS_ENTER(s, "request_list_contact");
	return FS_INNER(s)->ops->request_list_contact(fs_inner(s), email, mobile, max, items, n);
}

static int fs_audit_each_user(store *s, const char *user_id, store_audit_cb cb, void *ctx)
{
	FS_ENTER(s, "audit_each_user");
	return FS_INNER(s)->ops->audit_each_user(fs_inner(s), user_id, cb, ctx);
}

static int fs_token_list(store *s, const char *kind, const char *subject, store_token *out, size_t max, size_t *n)
{
	FS_ENTER(s, "token_list");
	return FS_INNER(s)->ops->token_list(fs_inner(s), kind, subject, out, max, n);
}

static int fs_upload_expired(store *s, int64_t before, size_t max, store_upload *out, size_t *n)
{
	FS_ENTER(s, "upload_expired");
	return FS_INNER(s)->ops->upload_expired(fs_inner(s), before, max, out, n);
}

static int fs_upload_files_removed(store *s, const char *id, int64_t now)
{
	FS_ENTER(s, "upload_files_removed");
	return FS_INNER(s)->ops->upload_files_removed(fs_inner(s), id, now);
}

static int fs_outbox_purge(store *s, int64_t before, int64_t max, int64_t *deleted)
{
	FS_ENTER(s, "outbox_purge");
	return FS_INNER(s)->ops->outbox_purge(fs_inner(s), before, max, deleted);
}

static int fs_audit_purge(store *s, int64_t before, int64_t max, int64_t *deleted)
{
	FS_ENTER(s, "audit_purge");
	return FS_INNER(s)->ops->audit_purge(fs_inner(s), before, max, deleted);
}

static int fs_scrub(store *s)
{
	FS_ENTER(s, "scrub");
	return FS_INNER(s)->ops->scrub(fs_inner(s));
}

static int fs_session_login(store *s, const store_session *se)
{
	FS_ENTER(s, "session_login");
	return FS_INNER(s)->ops->session_login(fs_inner(s), se);
}

static int fs_throttle_peek_share(store *s, const char *key, int64_t now, store_throttle *out)
{
	FS_ENTER(s, "throttle_peek_share");
	return FS_INNER(s)->ops->throttle_peek_share(fs_inner(s), key, now, out);
}

static int fs_throttle_peek_pair(store *s, const char *key0, const char *key1, int64_t now,
				 store_throttle out[2], int found[2])
{
	FS_ENTER(s, "throttle_peek_pair");
	return FS_INNER(s)->ops->throttle_peek_pair(fs_inner(s), key0, key1, now, out, found);
}

static const struct store_ops fs_ops = {
	.name = "faultstore",
	.close = fs_close,
	.migrate = fs_migrate,
	.ping = fs_ping,
	.backup = fs_backup,
	.tx_begin = fs_tx_begin,
	.tx_commit = fs_tx_commit,
	.tx_rollback = fs_tx_rollback,
	/* .tx_attempt: NULL, so that store_tx and store_tx_async run
	 * their calls through this wrapper, one by one */
	/* .tx_submit: NULL, so that store_tx and store_tx_async run
	 * their calls through this wrapper, one by one */
	.org_upsert = fs_org_upsert,
	.org_get = fs_org_get,
	.org_each = fs_org_each,
	.org_children = fs_org_children,
	.dir_version = fs_dir_version,
	.org_update = fs_org_update,
	.position_insert = fs_position_insert,
	.position_upsert_name = fs_position_upsert_name,
	.position_get = fs_position_get,
	.position_each = fs_position_each,
	.position_update = fs_position_update,
	.user_insert = fs_user_insert,
	.user_insert_batch = fs_user_insert_batch,
	.user_get = fs_user_get,
	.user_by_email = fs_user_by_email,
	.user_by_mobile = fs_user_by_mobile,
	.user_set_status = fs_user_set_status,
	.user_verify_email = fs_user_verify_email,
	.user_logged_in = fs_user_logged_in,
	.user_list = fs_user_list,
	.role_add = fs_role_add,
	.role_list = fs_role_list,
	.cred_insert = fs_cred_insert,
	.cred_by_username = fs_cred_by_username,
	.cred_by_user = fs_cred_by_user,
	.consent_add = fs_consent_add,
	.admin_list = fs_admin_list,
	.otp_insert = fs_otp_insert,
	.otp_last = fs_otp_last,
	.otp_use = fs_otp_use,
	.otp_fail = fs_otp_fail,
	.throttle_hit = fs_throttle_hit,
	.throttle_peek = fs_throttle_peek,
	.throttle_peek_share = fs_throttle_peek_share,
	.throttle_peek_pair = fs_throttle_peek_pair,
	.throttle_undo = fs_throttle_undo,
	.throttle_clear = fs_throttle_clear,
	.sweep = fs_sweep,
	.token_insert = fs_token_insert,
	.token_consume = fs_token_consume,
	.token_get = fs_token_get,
	.session_insert = fs_session_insert,
	.session_login = fs_session_login,
	.session_get = fs_session_get,
	.session_touch = fs_session_touch,
	.session_revoke = fs_session_revoke,
	.session_revoke_user = fs_session_revoke_user,
	.request_insert = fs_request_insert,
	.request_get = fs_request_get,
	.request_decide = fs_request_decide,
	.request_list = fs_request_list,
	.upload_insert = fs_upload_insert,
	.upload_get = fs_upload_get,
	.upload_list = fs_upload_list,
	.upload_claim = fs_upload_claim,
	.upload_progress = fs_upload_progress,
	.upload_finish = fs_upload_finish,
	.upload_failure_add = fs_upload_failure_add,
	.upload_failure_each = fs_upload_failure_each,
	.upload_status_counts = fs_upload_status_counts,
	.outbox_insert = fs_outbox_insert,
	.outbox_claim = fs_outbox_claim,
	.outbox_sent = fs_outbox_sent,
	.outbox_retry = fs_outbox_retry,
	.outbox_fail = fs_outbox_fail,
	.outbox_stats = fs_outbox_stats,
	.campaign_insert = fs_campaign_insert,
	.campaign_claim = fs_campaign_claim,
	.campaign_users = fs_campaign_users,
	.campaign_advance = fs_campaign_advance,
	.campaign_release = fs_campaign_release,
	.campaign_finish = fs_campaign_finish,
	.audit_add = fs_audit_add,
	.audit_list = fs_audit_list,
	.user_set_names = fs_user_set_names,
	.user_set_mobile = fs_user_set_mobile,
	.user_set_email = fs_user_set_email,
	.user_close = fs_user_close,
	.user_erase_due = fs_user_erase_due,
	.user_erase = fs_user_erase,
	.otp_forget = fs_otp_forget,
	.outbox_forget = fs_outbox_forget,
	.consent_list = fs_consent_list,
	.session_list = fs_session_list,
	.request_list_contact = fs_request_list_contact,
	.audit_each_user = fs_audit_each_user,
	.token_list = fs_token_list,
	.upload_expired = fs_upload_expired,
	.upload_files_removed = fs_upload_files_removed,
	.outbox_purge = fs_outbox_purge,
	.audit_purge = fs_audit_purge,
	.scrub = fs_scrub,
	.blob_put = fs_blob_put,
	.blob_get = fs_blob_get,
	.blob_delete = fs_blob_delete,
};

/* A new operation in store.h needs its wrapper here. */
_Static_assert(sizeof(struct store_ops) == 105 * sizeof(void *),
	       "struct store_ops changed: add the new operations to faultstore.c");

store *faultstore_wrap(store *inner)
{
	faultstore *f = calloc(1, sizeof *f);

	if (!f)
		return NULL;
	f->base.ops = &fs_ops;
	f->inner = inner;
	pthread_mutex_init(&f->mu, NULL);
	return &f->base;
}

void faultstore_arm(store *s, long n, int err)
{
	faultstore *f = FS(s);

	pthread_mutex_lock(&f->mu);
	f->calls = 0;
	f->fail_at = n;
	f->err = err;
	f->fired = 0;
	f->fired_in_tx = 0;
	f->fired_op = NULL;
	pthread_mutex_unlock(&f->mu);
}

long faultstore_calls(const store *s)
{
	faultstore *f = FS(s);
	long n;

	pthread_mutex_lock(&f->mu);
	n = f->calls;
	pthread_mutex_unlock(&f->mu);
	return n;
}

int faultstore_fired(const store *s, const char **op, int *in_tx)
{
	faultstore *f = FS(s);
	int fired;

	pthread_mutex_lock(&f->mu);
	fired = f->fired;
	if (op)
		*op = f->fired_op;
	if (in_tx)
		*in_tx = f->fired_in_tx;
	pthread_mutex_unlock(&f->mu);
	return fired;
}
