/* store.h: the one interface between the rules (core/, import/, notify/,
 * sso/) and the data. A backend is a table of functions (struct store_ops)
 * chosen once by store_open() from the configured URL: "sqlite:PATH" or a
 * bare path today, "postgres://..." later. Nothing outside src/store/ knows
 * which backend runs.
 *
 * Conventions
 * - Every function returns PV_OK or a negative pv_err (util/err.h).
 * - Records are plain structs with bounded, NUL-terminated char arrays, so a
 *   record owns no heap memory. List functions return a malloc'd array that
 *   the caller frees with free().
 * - Times are int64 milliseconds since the Unix epoch, given by the caller
 *   (core/ owns the clock, so tests can inject one).
 * - A store handle is shared by all threads. Each thread gets its own
 *   connection inside the backend; tx_begin/tx_commit/tx_rollback act on the
 *   calling thread's connection, and every call made by that thread between
 *   them is part of the transaction. Transactions do not nest.
 * - PV_ECONFLICT means a unique constraint or a state check refused the
 *   write: the store, not a prior read, is the final arbiter of duplicates.
 * - PV_EBUSY means the database stayed locked past the busy timeout.
 * - PV_ENOTFOUND from a write means the record it names (update by id or
 *   hash) or a record it refers to (the organisation or position of a user,
 *   the user of a role, credential, consent or session, the organisation of
 *   an upload, the upload of a failure) does not exist.
 * - A call refused inside a transaction (PV_ECONFLICT, PV_ENOTFOUND...)
 *   undoes only itself: the transaction stays usable. tx_begin while one is
 *   open and tx_commit with none open answer PV_EINVAL. When the backend
 *   itself had to abandon the transaction (busy, I/O), every later call of
 *   that thread answers that error until tx_commit or tx_rollback.
 * - List functions answer PV_EINVAL for a page < 1 or per_page outside
 *   1..100; *items is NULL when *n is 0 (free() accepts it either way).
 */
#ifndef PV_STORE_H
#define PV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Sizes include the terminating NUL. Text limits are in bytes of UTF-8. */
#define STORE_ID_MAX 65      /* ids: org keys from the directory, uuids */
#define STORE_NAME_MAX 512   /* organisation and position names */
#define STORE_PERSON_MAX 404 /* first / last / full name: 100 chars x 4 bytes */
#define STORE_EMAIL_MAX 256
#define STORE_MOBILE_MAX 11 /* 10 digits */
#define STORE_SHORT_MAX 33  /* status words, kinds, roles, sectors, types */
#define STORE_TEXT_MAX 2048 /* free text: request details, reasons, errors */
#define STORE_PATH_MAX 1024
#define STORE_IP_MAX 46
#define STORE_HASH_LEN 32 /* keyed hashes (HMAC-SHA256) of secrets */
#define STORE_USERNAME_MAX 65
#define STORE_PWHASH_MAX 129 /* crypto_pwhash_STRBYTES */
#define STORE_JSON_MAX 4096  /* small JSON documents (params, details) */

typedef struct store store;

typedef struct store_org {
	char id[STORE_ID_MAX];
	char name[STORE_NAME_MAX];
	char sector[STORE_SHORT_MAX]; /* "center" or "state" */
	char type[STORE_SHORT_MAX];   /* ministry, department, organisation, state... */
	char parent_id[STORE_ID_MAX]; /* "" for a root */
	int active;
	int64_t created_at, updated_at;
} store_org;

typedef struct store_position {
	char id[STORE_ID_MAX];
	char name[STORE_NAME_MAX];
	int active;
	int64_t created_at;
} store_position;

/* user status words */
#define STORE_USER_PENDING "pending_activation"
#define STORE_USER_ACTIVE "active"
#define STORE_USER_INACTIVE "inactive"

typedef struct store_user {
	char id[STORE_ID_MAX];
	char first_name[STORE_PERSON_MAX];
	char last_name[STORE_PERSON_MAX];
	char email[STORE_EMAIL_MAX]; /* as given; unique case-insensitively */
	int official_email;
	char mobile[STORE_MOBILE_MAX]; /* normalised 10 digits; unique */
	char org_id[STORE_ID_MAX];
	char position_id[STORE_ID_MAX]; /* "" when none (bulk upload) */
	char status[STORE_SHORT_MAX];   /* STORE_USER_* */
	char source[STORE_SHORT_MAX];   /* "self", "bulk", "admin" */
	int64_t created_at, updated_at;
} store_user;

/* Which unique constraint a refused user insert hit (bit set). */
#define STORE_CONFLICT_EMAIL 1
#define STORE_CONFLICT_MOBILE 2

typedef struct store_role {
	char role[STORE_SHORT_MAX]; /* "spv_admin", "mdo_admin" */
	char org_id[STORE_ID_MAX];  /* "" for spv_admin */
} store_role;

typedef struct store_cred {
	char user_id[STORE_ID_MAX];
	char username[STORE_USERNAME_MAX]; /* unique, case-insensitive */
	char pwhash[STORE_PWHASH_MAX];     /* argon2id string */
} store_cred;

/* A one-time password challenge. Only the keyed hash of the code is kept. */
#define STORE_OTP_LIVE 0
#define STORE_OTP_USED 1
#define STORE_OTP_DEAD 2 /* replaced, locked by wrong tries */
typedef struct store_otp {
	int64_t id;
	char mobile[STORE_MOBILE_MAX];
	char purpose[STORE_SHORT_MAX];
	unsigned char code_mac[STORE_HASH_LEN];
	char client_ip[STORE_IP_MAX];
	int64_t created_at, expires_at;
	int attempts; /* wrong tries so far */
	int state;    /* STORE_OTP_* */
} store_otp;

/* A counter with a window and a lock, keyed by a string such as
 * "login-fail:9876543210" or "pw-ip:10.0.0.1". */
typedef struct store_throttle {
	char key[STORE_TEXT_MAX / 8];
	int64_t count;
	int64_t window_start;
	int64_t locked_until; /* 0 when not locked */
} store_throttle;

/* A single-use secret (verification token, activation token, SSO login
 * attempt...). Only the keyed hash is stored. */
typedef struct store_token {
	unsigned char hash[STORE_HASH_LEN];
	char kind[STORE_SHORT_MAX]; /* "verify", "activation", "sso" ... */
	char subject[STORE_ID_MAX + STORE_EMAIL_MAX]; /* what it is bound to */
	char extra[STORE_JSON_MAX];                   /* kind-specific data */
	int64_t created_at, expires_at, used_at;      /* used_at 0 when unused */
} store_token;

typedef struct store_session {
	unsigned char hash[STORE_HASH_LEN];
	char user_id[STORE_ID_MAX];
	unsigned char csrf_hash[STORE_HASH_LEN];
	int64_t created_at, last_seen, expires_at; /* expires_at: absolute limit */
	int revoked;
} store_session;

typedef struct store_consent {
	char user_id[STORE_ID_MAX];
	char kind[STORE_SHORT_MAX];    /* "declaration", "terms" */
	char version[STORE_SHORT_MAX]; /* text version accepted */
	char client_ip[STORE_IP_MAX];
	int64_t at;
} store_consent;

#define STORE_REQ_PENDING "pending"
#define STORE_REQ_APPROVED "approved"
#define STORE_REQ_REJECTED "rejected"
typedef struct store_request {
	char id[STORE_ID_MAX];
	char kind[STORE_SHORT_MAX]; /* "position", "organisation" */
	char full_name[STORE_PERSON_MAX];
	char email[STORE_EMAIL_MAX];
	char mobile[STORE_MOBILE_MAX];
	char name[STORE_NAME_MAX]; /* the position or organisation asked for */
	char details[STORE_TEXT_MAX];
	char sector[STORE_SHORT_MAX];
	char parent_id[STORE_ID_MAX];
	char status[STORE_SHORT_MAX]; /* STORE_REQ_* */
	char reason[STORE_TEXT_MAX];  /* rejection reason */
	char created_id[STORE_ID_MAX];
	char decided_by[STORE_ID_MAX];
	int64_t created_at, decided_at;
} store_request;

#define STORE_UP_QUEUED "QUEUED"
#define STORE_UP_IN_PROGRESS "IN_PROGRESS"
#define STORE_UP_SUCCESSFUL "SUCCESSFUL"
#define STORE_UP_FAILED "FAILED"
typedef struct store_upload {
	char id[STORE_ID_MAX];
	char org_id[STORE_ID_MAX];
	char uploader_id[STORE_ID_MAX];
	char file_name[STORE_PATH_MAX];   /* "<ms>_<safe base name>" */
	char stored_path[STORE_PATH_MAX]; /* where the bytes are */
	char format[STORE_SHORT_MAX];     /* "csv", "xlsx" */
	char status[STORE_SHORT_MAX];     /* STORE_UP_* */
	int64_t total_records, success_records, failed_records;
	int64_t cursor; /* reader position after the last committed chunk */
	char error[STORE_TEXT_MAX];
	char claimed_by[STORE_ID_MAX]; /* worker holding the lease, "" if none */
	int64_t lease_until;
	int64_t created_at, updated_at;
} store_upload;

typedef struct store_upload_failure {
	int64_t row; /* spreadsheet row number */
	char errors[STORE_TEXT_MAX]; /* "[message, message]" */
} store_upload_failure;

#define STORE_OUT_QUEUED "queued"
#define STORE_OUT_SENT "sent"
#define STORE_OUT_FAILED "failed"
typedef struct store_outbox {
	int64_t id;
	char channel[STORE_SHORT_MAX]; /* "sms", "email" */
	char to_addr[STORE_EMAIL_MAX];
	char template_name[STORE_SHORT_MAX * 2];
	char lang[8];
	char params[STORE_JSON_MAX]; /* JSON object of template parameters */
	char status[STORE_SHORT_MAX];
	int attempts;
	int64_t next_at; /* not before */
	char last_error[STORE_TEXT_MAX / 4];
	char claimed_by[STORE_ID_MAX];
	int64_t lease_until;
	int64_t created_at, sent_at;
} store_outbox;

typedef struct store_audit {
	int64_t id;
	char actor_id[STORE_ID_MAX];
	char action[STORE_SHORT_MAX];
	char target[STORE_ID_MAX * 2];
	char client_ip[STORE_IP_MAX];
	char detail[STORE_JSON_MAX];
	int64_t at;
} store_audit;

/* A page of a list: page from 1, per_page at most 100. */
typedef struct store_page {
	int64_t page, per_page;
} store_page;

/* Callback for whole-table iteration; return non-zero to stop (the value is
 * returned by the iterating function). */
typedef int (*store_org_cb)(void *ctx, const store_org *org);
typedef int (*store_position_cb)(void *ctx, const store_position *pos);
typedef int (*store_failure_cb)(void *ctx, const store_upload_failure *f);

struct store_ops {
	const char *name; /* "sqlite" */
	void (*close)(store *s);
	int (*migrate)(store *s); /* bring the schema up to date */
	int (*ping)(store *s);    /* PV_OK when the store answers */

	/* Transactions on the calling thread's connection. */
	int (*tx_begin)(store *s);
	int (*tx_commit)(store *s);
	int (*tx_rollback)(store *s); /* safe to call when no tx is open */

	/* Directory. org_upsert inserts or updates by id and bumps the
	 * directory version; org_each visits every organisation (active or
	 * not) in id order. dir_version changes whenever an organisation or a
	 * position is written, so caches can tell they are stale. */
	int (*org_upsert)(store *s, const store_org *org);
	int (*org_get)(store *s, const char *id, store_org *out);
	int (*org_each)(store *s, store_org_cb cb, void *ctx);
	int (*org_children)(store *s, const char *id, int64_t *count);
	int (*dir_version)(store *s, int64_t *version);

	/* Positions: names unique case-insensitively. position_insert answers
	 * PV_ECONFLICT for an existing name; position_upsert_name returns the
	 * existing one (and sets *created to 0) or inserts (created = 1). */
	int (*position_insert)(store *s, const store_position *pos);
	int (*position_upsert_name)(store *s, const store_position *pos,
				    store_position *out, int *created);
	int (*position_get)(store *s, const char *id, store_position *out);
	int (*position_each)(store *s, store_position_cb cb, void *ctx);

	/* Users. user_insert answers PV_ECONFLICT and sets *conflict to the
	 * STORE_CONFLICT_* bits of every unique key the row collides with
	 * (conflict may be NULL; 0 when the id collided); status must be a
	 * STORE_USER_* word (PV_EINVAL). */
	int (*user_insert)(store *s, const store_user *u, int *conflict);
	int (*user_get)(store *s, const char *id, store_user *out);
	int (*user_by_email)(store *s, const char *email, store_user *out);
	int (*user_by_mobile)(store *s, const char *mobile, store_user *out);
	int (*user_set_status)(store *s, const char *id, const char *status,
			       int64_t now);
	/* Users of one organisation, newest first. status "" = any; q "" = no
	 * filter, else a case-insensitive substring of first name, last name,
	 * e-mail or mobile. *items is malloc'd (caller frees), *n its length,
	 * *total the count of all matches. q is taken literally (% and _ are
	 * no wildcards), at most 256 bytes (else PV_EINVAL); case is folded
	 * for ASCII letters only. */
	int (*user_list)(store *s, const char *org_id, const char *status,
			 const char *q, store_page pg, store_user **items,
			 size_t *n, int64_t *total);

	/* PV_ECONFLICT when the user already has that role (and org). */
	int (*role_add)(store *s, const char *user_id, const store_role *r);
	/* up to max roles into out; *n is how many */
	int (*role_list)(store *s, const char *user_id, store_role *out,
			 size_t max, size_t *n);
	/* PV_ECONFLICT when the username is taken */
	int (*cred_insert)(store *s, const store_cred *c);
	int (*cred_by_username)(store *s, const char *username, store_cred *out);
	int (*consent_add)(store *s, const store_consent *c);

	/* OTP challenges. otp_insert kills (STORE_OTP_DEAD) every live
	 * challenge of the same mobile and purpose and stores the new one,
	 * setting otp->id. otp_live returns the newest live one. otp_update
	 * writes attempts and state. otp_count_* count challenges created at or
	 * after `since` (any purpose). otp_last returns the newest challenge of
	 * a mobile and purpose whatever its state. otp_update changes only a
	 * live challenge, so a code is used at most once even when two checks
	 * race: PV_ECONFLICT when it is no longer live, PV_ENOTFOUND when
	 * unknown. */
	int (*otp_insert)(store *s, store_otp *otp);
	int (*otp_live)(store *s, const char *mobile, const char *purpose,
			store_otp *out);
	int (*otp_last)(store *s, const char *mobile, const char *purpose,
			store_otp *out);
	int (*otp_update)(store *s, int64_t id, int attempts, int state);
	/* Counting stops at cap: *n = min(count, cap), so a limit check costs
	 * at most cap index entries however many codes an address asked for. */
	int (*otp_count_mobile)(store *s, const char *mobile, int64_t since,
				int64_t cap, int64_t *n);
	int (*otp_count_ip)(store *s, const char *ip, int64_t since,
			    int64_t cap, int64_t *n);

	/* Throttles: get answers PV_ENOTFOUND when the key has none; put
	 * inserts or replaces; del of a missing key is PV_OK. */
	int (*throttle_get)(store *s, const char *key, store_throttle *out);
	int (*throttle_put)(store *s, const store_throttle *t);
	int (*throttle_del)(store *s, const char *key);

	/* Single-use tokens. token_consume atomically marks an unused,
	 * unexpired token of that kind used and returns it; PV_ENOTFOUND when
	 * unknown or already used, PV_EEXPIRED when expired. token_insert
	 * stores the token unused (t->used_at is ignored). */
	int (*token_insert)(store *s, const store_token *t);
	int (*token_consume)(store *s, const char *kind,
			     const unsigned char hash[STORE_HASH_LEN],
			     int64_t now, store_token *out);

	/* Sessions. session_touch sets last_seen. session_revoke_user revokes
	 * every session of a user. touch and revoke answer PV_ENOTFOUND for an
	 * unknown hash. */
	int (*session_insert)(store *s, const store_session *se);
	int (*session_get)(store *s, const unsigned char hash[STORE_HASH_LEN],
			   store_session *out);
	int (*session_touch)(store *s, const unsigned char hash[STORE_HASH_LEN],
			     int64_t now);
	int (*session_revoke)(store *s,
			      const unsigned char hash[STORE_HASH_LEN]);
	int (*session_revoke_user)(store *s, const char *user_id);

	/* Requests. request_insert stores a pending request; when a pending
	 * request of the same kind and name (case-insensitive) exists it
	 * answers PV_ECONFLICT and fills *existing with it. request_decide
	 * moves a pending request to approved or rejected (with name, reason,
	 * created_id, decided_by, decided_at from r; an empty r->name keeps the
	 * name asked for); PV_ECONFLICT when it was no longer pending,
	 * PV_ENOTFOUND when unknown. request_list: oldest first, status/kind
	 * "" = any. request_insert ignores r->status and the decision fields. */
	int (*request_insert)(store *s, const store_request *r,
			      store_request *existing);
	int (*request_get)(store *s, const char *id, store_request *out);
	int (*request_decide)(store *s, const store_request *r);
	int (*request_list)(store *s, const char *status, const char *kind,
			    store_page pg, store_request **items, size_t *n,
			    int64_t *total);

	/* Uploads, a durable queue. upload_claim takes the oldest upload that
	 * is QUEUED, or IN_PROGRESS with an expired lease (its holder died),
	 * sets it IN_PROGRESS with claimed_by = worker and lease_until, and
	 * returns it; PV_ENOTFOUND when there is none. upload_progress stores
	 * the counts and the cursor and renews the lease, only while `worker`
	 * still holds it (else PV_ECONFLICT; PV_ENOTFOUND when unknown).
	 * upload_finish sets a final status and error and releases the lease
	 * (STORE_UP_QUEUED is accepted too, to hand an upload back at
	 * shutdown), only while `worker` holds it (PV_ECONFLICT otherwise;
	 * worker NULL or "": whoever holds it); an error longer than the field
	 * is cut. upload_list: one
	 * organisation's uploads, newest first. upload_insert stores
	 * claimed_by and lease_until as given, so an upload can be inserted
	 * already claimed (IN_PROGRESS, leased to its creator: the import
	 * CLI). upload_failure_add answers
	 * PV_ECONFLICT for a row already recorded. */
	int (*upload_insert)(store *s, const store_upload *u);
	int (*upload_get)(store *s, const char *id, store_upload *out);
	int (*upload_list)(store *s, const char *org_id, store_page pg,
			   store_upload **items, size_t *n, int64_t *total);
	int (*upload_claim)(store *s, const char *worker, int64_t now,
			    int64_t lease_ms, store_upload *out);
	int (*upload_progress)(store *s, const store_upload *u,
			       const char *worker, int64_t now,
			       int64_t lease_ms);
	int (*upload_finish)(store *s, const char *id, const char *status,
			     const char *error, const char *worker, int64_t now);
	int (*upload_failure_add)(store *s, const char *upload_id,
				  const store_upload_failure *f);
	/* failures of an upload in row order */
	int (*upload_failure_each)(store *s, const char *upload_id,
				   store_failure_cb cb, void *ctx);
	/* number of uploads in each status, for metrics */
	int (*upload_status_counts)(store *s, int64_t *queued,
				    int64_t *in_progress, int64_t *successful,
				    int64_t *failed);

	/* The outbox. outbox_insert sets m->id. outbox_claim takes the oldest
	 * queued message whose next_at <= now and whose lease is free or
	 * expired, leases it to `worker`; PV_ENOTFOUND when none. outbox_insert
	 * stores the message queued. sent, retry (back to queued, not before
	 * next_at) and fail release the lease; PV_ENOTFOUND for an unknown id;
	 * an error longer than last_error is cut. */
	int (*outbox_insert)(store *s, store_outbox *m);
	int (*outbox_claim)(store *s, const char *worker, int64_t now,
			    int64_t lease_ms, store_outbox *out);
	int (*outbox_sent)(store *s, int64_t id, int64_t now);
	int (*outbox_retry)(store *s, int64_t id, int attempts,
			    int64_t next_at, const char *error);
	int (*outbox_fail)(store *s, int64_t id, int attempts,
			   const char *error);
	int (*outbox_stats)(store *s, int64_t *queued, int64_t *failed);

	/* Audit log, newest first in lists. */
	int (*audit_add)(store *s, store_audit *a);
	int (*audit_list)(store *s, store_page pg, store_audit **items,
			  size_t *n, int64_t *total);
};

/* Every backend's handle starts with this. */
struct store {
	const struct store_ops *ops;
};

/* Opens the store named by url ("sqlite:PATH", or a bare PATH). *out is
 * owned by the caller and released with store_close(). Does not migrate.
 * PV_EINVAL for an unknown or unsupported URL ("postgres://" for now). */
int store_open(const char *url, store **out);
/* Accepts NULL. Closes every thread's connection: call it once no other
 * thread uses the store any more. */
void store_close(store *s);

#endif
