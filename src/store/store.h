/* store.h: the one interface between the rules (core/, import/, notify/,
 * sso/) and the data. A backend is a table of functions (struct store_ops)
 * chosen once by store_open() from the configured URL: "sqlite:PATH" or a
 * bare path, "postgres://..." or "postgresql://...". Nothing outside
 * src/store/ knows which backend runs: callers use the store_*() wrappers
 * at the end of this file, never s->ops directly.
 *
 * Conventions
 * - Every function returns PV_OK or a negative pv_err (util/err.h).
 * - Records are plain structs with bounded, NUL-terminated char arrays, so a
 *   record owns no heap memory. List functions return a malloc'd array that
 *   the caller frees with free().
 * - Times are int64 milliseconds since the Unix epoch, given by the caller
 *   (core/ owns the clock, so tests can inject one).
 * - A store handle is shared by all threads (and, on a shared backend, by
 *   several processes). Each thread gets its own connection inside the
 *   backend; a transaction belongs to the calling thread, and every call
 *   made by that thread between tx_begin and tx_commit/tx_rollback is part
 *   of it. Transactions do not nest. Callers do not write begin/commit
 *   themselves: store_tx() below runs a function in a transaction.
 *
 * Isolation (what every backend guarantees, and all the rules rely on)
 * - Each call is atomic: it happens whole or not at all, and concurrent
 *   calls on the same record are serialised by the backend.
 * - Inside a transaction a call sees the transaction's own earlier writes;
 *   the transaction's writes become visible to others all at once, at
 *   commit. Nothing more is promised: a record read inside a transaction
 *   may change before the commit (read committed). So no rule may depend
 *   on a read staying true: every check-then-write is one call that
 *   decides atomically (a unique key, a state condition such as "only a
 *   live code", "only a pending request", "only the lease holder", or a
 *   counter call such as throttle_hit that answers the new count).
 *
 * Errors
 * - PV_ECONFLICT means a unique key or a state condition refused the
 *   write: the store, not a prior read, is the final arbiter of duplicates.
 * - PV_EBUSY means "retry the transaction": the backend gave up on a lock
 *   (lock or busy timeout), or aborted the transaction for a serialisation
 *   failure or a deadlock. The whole transaction is lost: roll back and run
 *   it again from the start (store_tx does, a bounded number of times).
 * - PV_ENOTFOUND from a write means the record it names (update by id or
 *   hash) or a record it refers to (the organisation or position of a user,
 *   the user of a role, credential, consent or session, the organisation of
 *   an upload, the upload of a failure) does not exist.
 * - A call refused inside a transaction (PV_ECONFLICT, PV_ENOTFOUND,
 *   PV_EINVAL...) undoes only itself: the transaction stays usable.
 *   tx_begin while one is open and tx_commit with none open answer
 *   PV_EINVAL. When the backend itself had to abandon the transaction
 *   (busy, I/O, a lost connection), every later call of that thread
 *   answers that error until tx_commit or tx_rollback.
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
#define STORE_KEY_MAX 97 /* keys of limits and codes: "kind:" + 64 hex digits */

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

/* user status words. Pending, active and inactive users are "live"; a
 * closed user (closed by its owner) and an erased one (whose personal data
 * the sweeper has erased) are not: they hold no e-mail or mobile for the
 * unique keys, the lookups by e-mail or mobile never find them, and their
 * status never changes back. */
#define STORE_USER_PENDING "pending_activation"
#define STORE_USER_ACTIVE "active"
#define STORE_USER_INACTIVE "inactive"
#define STORE_USER_CLOSED "closed"
#define STORE_USER_ERASED "erased"

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
	/* 1 when the e-mail is proven: its activation link was used, or an
	 * MDO's bulk upload or the administrator who created the account
	 * vouched for it */
	int email_verified;
	char upload_id[STORE_ID_MAX]; /* the bulk upload that created it, or "" */
	/* closed and erased users: when the erasure is (or was) due; 0 for
	 * live users */
	int64_t erase_after;
	int64_t created_at, updated_at;
	int64_t last_login_at; /* the last session started; 0: never (user_logged_in) */
} store_user;

/* Which unique constraint a refused user insert hit (bit set). */
#define STORE_CONFLICT_EMAIL 1
#define STORE_CONFLICT_MOBILE 2
/* user_insert_batch only: neither of the above, but the id was taken (for
 * a user of a bulk upload: its row created one already) */
#define STORE_CONFLICT_KEY 4
/* Users in one user_insert_batch call, at most. */
#define STORE_BATCH_MAX 10000

typedef struct store_role {
	char role[STORE_SHORT_MAX]; /* "spv_admin", "mdo_admin" */
	char org_id[STORE_ID_MAX];  /* "" for spv_admin */
} store_role;

typedef struct store_cred {
	char user_id[STORE_ID_MAX];
	char username[STORE_USERNAME_MAX]; /* unique, case-insensitive */
	char pwhash[STORE_PWHASH_MAX];     /* argon2id string */
} store_cred;

/* One role held by a user, with the user and the username of their
 * password credential ("" when they have none): a row of admin_list. */
typedef struct store_admin {
	store_user user;
	store_role role;
	char username[STORE_USERNAME_MAX];
} store_admin;

/* What org_update changes: a NULL field (active: -1) is left as it is.
 * parent_id "" makes the organisation a root. */
typedef struct store_org_change {
	const char *name, *sector, *type, *parent_id;
	int active; /* 1, 0, or -1: unchanged */
} store_org_change;

/* Why org_update refused a change (bits of *conflict). */
#define STORE_ORG_CYCLE 1    /* the new parent is the organisation or below it */
#define STORE_ORG_CHILDREN 2 /* deactivation while an active organisation is under it */
#define STORE_ORG_PARENT_INACTIVE 4 /* active (made so, or moved) under an inactive parent */

/* A one-time password challenge. Only the keyed hash of the code is kept,
 * and the challenge is found by its subject: a keyed hash of what it is
 * sent to (core/ makes it), never the number itself. */
#define STORE_OTP_LIVE 0
#define STORE_OTP_USED 1
#define STORE_OTP_DEAD 2 /* replaced, locked by wrong tries */
typedef struct store_otp {
	int64_t id;
	char subject[STORE_KEY_MAX];
	char purpose[STORE_SHORT_MAX];
	unsigned char code_mac[STORE_HASH_LEN];
	int64_t created_at, expires_at;
	int attempts; /* wrong tries so far */
	int state;    /* STORE_OTP_* */
} store_otp;

/* A counter with a window and a lock, keyed by a string that core/ makes
 * from a kind and a keyed hash ("login-fail:<hex>"), never from a number
 * or an address in clear. */
typedef struct store_throttle {
	char key[STORE_KEY_MAX];
	int64_t count;        /* hits in the current window */
	int64_t window_start; /* the window is [window_start, window_end) */
	int64_t window_end;
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
	char client_ip[STORE_IP_MAX]; /* the address the login came from */
	int revoked;
	/* 1 when the login proved a password and its second factor: only then
	 * are the user's administrator roles active in the session */
	int elevated;
} store_session;

typedef struct store_consent {
	char user_id[STORE_ID_MAX];
	char kind[STORE_SHORT_MAX];    /* "declaration", "terms", "privacy" */
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
	char original_name[STORE_PATH_MAX]; /* as the uploader named it */
	char stored_path[STORE_PATH_MAX]; /* where the bytes are */
	char format[STORE_SHORT_MAX];     /* "csv", "xlsx" */
	char status[STORE_SHORT_MAX];     /* STORE_UP_* */
	int64_t total_records, success_records, failed_records;
	int64_t cursor; /* reader position after the last committed chunk */
	char error[STORE_TEXT_MAX];
	char claimed_by[STORE_ID_MAX]; /* worker holding the lease, "" if none */
	int64_t lease_until;
	int64_t created_at, updated_at;
	/* when the retention removed the uploaded and result files, 0 while
	 * they are kept */
	int64_t files_removed_at;
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

/* A campaign: one message (template, language, parameters) to every user
 * that one bulk upload created, on one channel, walked in upload row order
 * with a cursor (the row of the last user handled). The messages are not
 * rows of their own: the users are. */
#define STORE_CAMPAIGN_ACTIVE "active"
#define STORE_CAMPAIGN_DONE "done"
typedef struct store_campaign {
	int64_t id;
	char upload_id[STORE_ID_MAX];
	char channel[STORE_SHORT_MAX]; /* "sms", "email" */
	char template_name[STORE_SHORT_MAX * 2];
	char lang[8];
	char params[STORE_JSON_MAX]; /* parameters common to every message */
	char status[STORE_SHORT_MAX]; /* STORE_CAMPAIGN_* */
	int64_t cursor;  /* upload row of the last user handled; 0 at first */
	int64_t handled; /* users handled so far */
	char claimed_by[STORE_ID_MAX];
	int64_t lease_until;
	int64_t next_at; /* not before */
	int64_t created_at, finished_at;
} store_campaign;

typedef struct store_audit {
	int64_t id;
	char actor_id[STORE_ID_MAX];
	char action[STORE_SHORT_MAX];
	char target[STORE_ID_MAX * 2];
	char client_ip[STORE_IP_MAX];
	char detail[STORE_JSON_MAX];
	int64_t at;
} store_audit;

/* Which audit rows audit_list answers: every condition that is set must
 * hold. action and actor_id are matched exactly ("" or NULL: any); from
 * and to bound the time: at >= from when from > 0, at < to when to > 0. */
typedef struct store_audit_filter {
	const char *action, *actor_id;
	int64_t from, to;
} store_audit_filter;

/* A page of a list: page from 1, per_page at most 100. */
typedef struct store_page {
	int64_t page, per_page;
} store_page;

/* A query of one organisation's users (user_list). Users are listed
 * newest first: in the order they were added to the organisation, the last
 * added first (users are never deleted nor moved). q chooses which:
 * - "" (or NULL): all of them;
 * - exactly 10 digits: the live user whose mobile is that number
 *   (callers normalise a number first);
 * - text with an '@': the live user whose e-mail is that address, with
 *   ASCII letters compared case-insensitively (closed and erased users
 *   hold no unique e-mail or mobile: see user_insert);
 * - other text, split into words as the directory search splits names
 *   (runs of ASCII letters and digits or of non-ASCII bytes; ASCII letters
 *   folded to lower case; everything else separates words, so % _ * "
 *   are nothing special): the users whose first and last names have, for
 *   every word of q, a word that starts with it. Text without a word
 *   matches nobody; more than STORE_USER_Q_WORDS words, or more than
 *   STORE_USER_Q_MAX bytes: PV_EINVAL.
 * status "" (or NULL) = any, else only users with that status. A page is
 * pg.per_page users (1..100): the pg.page-th page (from 1), or, when
 * after > 0, the users that come after the cursor `after`, a `next` from
 * an earlier answer to the same query (pg.page is then ignored).
 * The answer's info: total, the users that match, at most
 * STORE_USER_COUNT_MAX for a name search (then total_exact is 0: more
 * match); next, the cursor of the following page, 0 when no user follows
 * this page. */
#define STORE_USER_Q_MAX 256
#define STORE_USER_Q_WORDS 8
#define STORE_USER_COUNT_MAX 1000
typedef struct store_user_query {
	const char *org_id;
	const char *status;
	const char *q;
	store_page pg;
	int64_t after;
} store_user_query;

typedef struct store_user_list_info {
	int64_t total;
	int total_exact;
	int64_t next;
} store_user_list_info;

/* Callback for whole-table iteration; return non-zero to stop (the value is
 * returned by the iterating function). */
typedef int (*store_org_cb)(void *ctx, const store_org *org);
typedef int (*store_position_cb)(void *ctx, const store_position *pos);
typedef int (*store_failure_cb)(void *ctx, const store_upload_failure *f);
typedef int (*store_audit_cb)(void *ctx, const store_audit *a);

/* A function that store_tx() runs in a transaction (see there), and what
 * store_tx_async() calls with its answer. */
typedef int (*store_tx_fn)(store *s, void *ctx);
typedef void (*store_tx_done)(void *done_ctx, int rc);

struct store_ops {
	const char *name; /* "sqlite", "postgres" */
	void (*close)(store *s);
	int (*migrate)(store *s); /* bring the schema up to date */
	int (*ping)(store *s);    /* PV_OK when the store answers */
	/* Writes a consistent copy of the whole store (what was committed at
	 * one instant) to the file path, replaced whole (written beside and
	 * renamed, mode 0600), while other threads and processes go on
	 * reading and writing; the blobs go to the folder "<path>.blobs"
	 * (mode 0700; every blob the copy names, maybe a few newer ones).
	 * Not inside a transaction (PV_EINVAL). PV_EINVAL as well on a
	 * backend that has its own tools (PostgreSQL: pg_dump, which copies
	 * the blobs too; docs/operations.md); PV_ENOSPACE when the disk is
	 * full; PV_ECONFLICT when path is the store's own file. */
	int (*backup)(store *s, const char *path);

	/* Transactions on the calling thread's connection. */
	int (*tx_begin)(store *s);
	int (*tx_commit)(store *s);
	int (*tx_rollback)(store *s); /* safe to call when no tx is open */
	/* Optional (NULL: store_tx runs begin, fn, commit on the calling
	 * thread). One attempt of store_tx(): runs fn in a transaction and
	 * commits it, or undoes all that fn did; answers PV_OK, fn's error,
	 * PV_EBUSY (store_tx runs it again), or PV_EINVAL when the calling
	 * thread has a transaction open. The SQLite backend batches the
	 * attempts of concurrent threads (group commit, see store_tx). */
	int (*tx_attempt)(store *s, store_tx_fn fn, void *ctx);
	/* Optional (NULL: store_tx_async runs store_tx, then done, on the
	 * calling thread). store_tx_async() of a backend that runs the
	 * transaction on a thread of its own. */
	void (*tx_submit)(store *s, store_tx_fn fn, void *ctx, store_tx_done done,
			  void *done_ctx);

	/* Directory. org_upsert inserts or updates by id and bumps the
	 * directory version; org_each visits every organisation (active or
	 * not) in id order. dir_version changes whenever an organisation or a
	 * position is written, so caches can tell they are stale. */
	int (*org_upsert)(store *s, const store_org *org);
	int (*org_get)(store *s, const char *id, store_org *out);
	int (*org_each)(store *s, store_org_cb cb, void *ctx);
	int (*org_children)(store *s, const char *id, int64_t *count);
	int (*dir_version)(store *s, int64_t *version);
	/* Changes the fields of organisation id that ch sets, sets updated_at
	 * to now, bumps the directory version, and fills *out (may be NULL)
	 * with the organisation after the change. The checks and the change
	 * are one atomic step with respect to every other org_update, in this
	 * process or another (two moves made at once can never make a cycle
	 * together; a deactivation and a child's activation made at once
	 * cannot both pass). The change is refused as a whole with
	 * PV_ECONFLICT and the STORE_ORG_* bits of every reason in *conflict
	 * (may be NULL; 0 on success) when:
	 * - the new parent is the organisation itself or any organisation
	 *   below it (the directory would get a cycle): STORE_ORG_CYCLE;
	 * - ch->active is 0 while some active organisation has this one as
	 *   its parent: STORE_ORG_CHILDREN (inactive ones may stay below);
	 * - ch->active is 1, or ch->parent_id is set while the organisation
	 *   is (and stays) active, and the parent it would have is inactive:
	 *   STORE_ORG_PARENT_INACTIVE (so nothing active is ever under an
	 *   inactive organisation, and a move racing its new parent's
	 *   deactivation cannot both pass).
	 * PV_ENOTFOUND when id is unknown or a new parent_id other than ""
	 * names no organisation; PV_EINVAL for an empty name. Setting a field
	 * to the value it has is a change like any other. */
	int (*org_update)(store *s, const char *id, const store_org_change *ch,
			  int64_t now, store_org *out, int *conflict);

	/* Positions: names unique case-insensitively. position_insert answers
	 * PV_ECONFLICT for an existing name; position_upsert_name returns the
	 * existing one (and sets *created to 0) or inserts (created = 1). */
	int (*position_insert)(store *s, const store_position *pos);
	int (*position_upsert_name)(store *s, const store_position *pos,
				    store_position *out, int *created);
	int (*position_get)(store *s, const char *id, store_position *out);
	int (*position_each)(store *s, store_position_cb cb, void *ctx);
	/* Renames position id (name NULL: keeps it) and/or sets it active or
	 * inactive (active -1: keeps it), bumping the directory version; *out
	 * (may be NULL) gets the position after. PV_ECONFLICT when another
	 * position has the name (case-insensitive; its own name in another
	 * case is fine), PV_ENOTFOUND for an unknown id, PV_EINVAL for an
	 * empty name. */
	int (*position_update)(store *s, const char *id, const char *name,
			       int active, store_position *out);

	/* Users. The e-mail (case-insensitively) and the mobile are unique
	 * among live users only: a closed or erased user holds neither, so the
	 * same e-mail and mobile can be registered again.
	 * - user_insert stores a live user (status pending, active or inactive,
	 *   else PV_EINVAL; erase_after is ignored and stored as 0); it answers
	 *   PV_ECONFLICT and sets *conflict to the STORE_CONFLICT_* bits of
	 *   every unique key the row collides with (conflict may be NULL; 0
	 *   when only the id collided).
	 * - user_get finds any user by id, closed and erased ones too.
	 * - user_by_email and user_by_mobile find the live user with that
	 *   e-mail or mobile (PV_ENOTFOUND when only a closed or erased user
	 *   had it).
	 * - user_set_status sets a live status (PV_EINVAL for another word) on
	 *   a live user: PV_ENOTFOUND for an unknown id, PV_ECONFLICT for a
	 *   closed or erased user, whose status never changes back. */
	int (*user_insert)(store *s, const store_user *u, int *conflict);
	/* Inserts users[0..n) as n user_insert calls would, in order (so a
	 * user may collide with an earlier one of the same call), for a bulk
	 * upload's chunk: conflicts[i] (n entries, required) is 0 when
	 * users[i] was inserted, else the STORE_CONFLICT_* bits of every
	 * unique key it collides with (a live user's, as for user_insert),
	 * and the call answers PV_OK. Each user is stored as user_insert
	 * stores it (a live status, erase_after 0, its upload_id). Any other
	 * refusal (PV_EINVAL for a bad record or n > STORE_BATCH_MAX,
	 * PV_ENOTFOUND for an unknown organisation or position) comes before
	 * anything is written. A failure (busy, I/O, memory) may leave part
	 * of the call written: its transaction is to be rolled back, as
	 * store_tx does. n = 0 is PV_OK. Meant for a transaction that holds
	 * the call and the rest of a bulk upload's chunk. */
	int (*user_insert_batch)(store *s, const store_user *users, size_t n,
				 int *conflicts);
	int (*user_get)(store *s, const char *id, store_user *out);
	int (*user_by_email)(store *s, const char *email, store_user *out);
	int (*user_by_mobile)(store *s, const char *mobile, store_user *out);
	int (*user_set_status)(store *s, const char *id, const char *status,
			       int64_t now);
	/* Marks the user's e-mail proven (email_verified = 1). */
	int (*user_verify_email)(store *s, const char *id, int64_t now);
	/* Records a login: last_login_at = now (updated_at is left as it
	 * is: a login changes nothing about the person). PV_ENOTFOUND for an
	 * unknown id. user_insert and user_insert_batch store last_login_at
	 * 0 whatever the records say. */
	int (*user_logged_in)(store *s, const char *id, int64_t now);
	/* Users of one organisation (see store_user_query), closed and
	 * erased ones too (a q of a mobile or an e-mail finds live users
	 * only, as user_by_mobile and user_by_email do): *items is
	 * malloc'd (caller frees), *n its length, *info the total and the
	 * cursor of the next page. Every kind of query answers in time
	 * independent of the organisation's size (an index, a kept count),
	 * but page N of a list filtered by status, and of a name search,
	 * which step over what comes before them: the cursor does not. */
	int (*user_list)(store *s, const store_user_query *q, store_user **items,
			 size_t *n, store_user_list_info *info);

	/* PV_ECONFLICT when the user already has that role (and org). */
	int (*role_add)(store *s, const char *user_id, const store_role *r);
	/* up to max roles into out; *n is how many */
	int (*role_list)(store *s, const char *user_id, store_role *out,
			 size_t max, size_t *n);
	/* PV_ECONFLICT when the username is taken */
	int (*cred_insert)(store *s, const store_cred *c);
	int (*cred_by_username)(store *s, const char *username, store_cred *out);
	/* The credential of a user; PV_ENOTFOUND when they have none. */
	int (*cred_by_user)(store *s, const char *user_id, store_cred *out);
	int (*consent_add)(store *s, const store_consent *c);

	/* Administrators: one row per role `role` (exact word, such as
	 * "mdo_admin") held by a user, with the user and the username of
	 * their credential ("" when none). org_id "" = the role in any
	 * organisation, else only the role for that organisation; status ""
	 * = any user status, else that one; q "" = no filter, else a
	 * case-insensitive (ASCII letters) substring, taken literally, of the
	 * user's first name, last name, e-mail, mobile or username, at most
	 * 256 bytes (else PV_EINVAL). Ordered by the name of the role's
	 * organisation (case-insensitive; a role without an organisation
	 * first), then last name, first name and user id. Paged like every
	 * list; *items is malloc'd (caller frees). */
	int (*admin_list)(store *s, const char *role, const char *org_id,
			  const char *status, const char *q, store_page pg,
			  store_admin **items, size_t *n, int64_t *total);

	/* OTP challenges. otp_insert kills (STORE_OTP_DEAD) every live
	 * challenge of the same subject and purpose and stores the new one
	 * live, setting otp->id (attempts and state are ignored). otp_last
	 * returns the newest challenge of a subject and purpose whatever its
	 * state (PV_ENOTFOUND when none). Both changes below are atomic and
	 * apply only to a live challenge, so a code is used at most once and
	 * every wrong try is counted however many checks race:
	 * otp_use marks it used; otp_fail adds one wrong try, kills it when
	 * the tries reach max_tries, and sets *attempts (may be NULL) to the
	 * new count. Both answer PV_ECONFLICT when it is no longer live,
	 * PV_ENOTFOUND when unknown. */
	int (*otp_insert)(store *s, store_otp *otp);
	int (*otp_last)(store *s, const char *subject, const char *purpose,
			store_otp *out);
	int (*otp_use)(store *s, int64_t id);
	int (*otp_fail)(store *s, int64_t id, int max_tries, int *attempts);

	/* Throttles: counters in a window, with an optional lock. One atomic
	 * call counts a hit and answers the new state, so that any number of
	 * threads and processes counting the same key never lose a hit:
	 * - throttle_hit: when the key is locked (locked_until > now) nothing
	 *   is counted. Otherwise, when its window has ended (window_end <=
	 *   now) or its lock has been served (0 < locked_until <= now), the
	 *   count starts again at 0 in a new window [now, now + window_ms);
	 *   then the hit is counted, and when lock_at > 0 and the count
	 *   reaches lock_at, the key is locked until now + lock_ms. *out (may
	 *   be NULL) gets the state after the call. window_ms must be > 0.
	 * - throttle_peek: the state without counting; PV_ENOTFOUND when the
	 *   key has none, or only an ended window and no lock left.
	 * - throttle_peek_share: throttle_peek that also orders the caller
	 *   after every hit of the key not yet committed: on PostgreSQL the
	 *   row is share-locked until the transaction ends (it waits for a
	 *   hit in flight and then reads its count; hits wait for it, other
	 *   share locks do not); SQLite's transactions run one at a time, so
	 *   there it is throttle_peek. A key with no row locks nothing.
	 * - throttle_peek_pair: throttle_peek of two keys in one call (one
	 *   round trip on PostgreSQL): found[i] is 1 and out[i] the state of
	 *   key i, or found[i] is 0 where throttle_peek answers PV_ENOTFOUND;
	 *   PV_OK, or the error of the read.
	 * - throttle_undo: takes back one hit of the current window (for an
	 *   attempt reserved up front that turned out well): the count goes
	 *   down by one, not below 0; a lock stays. PV_OK when there is no
	 *   current window.
	 * - throttle_clear: forgets the key (PV_OK when it had none). */
	int (*throttle_hit)(store *s, const char *key, int64_t now,
			    int64_t window_ms, int64_t lock_at, int64_t lock_ms,
			    store_throttle *out);
	int (*throttle_peek)(store *s, const char *key, int64_t now,
			     store_throttle *out);
	int (*throttle_peek_share)(store *s, const char *key, int64_t now,
				   store_throttle *out);
	int (*throttle_peek_pair)(store *s, const char *key0, const char *key1,
				  int64_t now, store_throttle out[2], int found[2]);
	int (*throttle_undo)(store *s, const char *key, int64_t now);
	int (*throttle_clear)(store *s, const char *key);

	/* Deletes what ended more than grace_ms before now, at most max rows
	 * of each kind per call (so that a call stays short): OTP challenges
	 * and tokens (used or not) past their expiry; sessions past their
	 * absolute limit or not seen for idle_ms (revoked or not: neither can
	 * be used again); and, with no grace, throttles whose window and lock
	 * have both ended. *deleted (may be NULL) gets the rows deleted. */
	int (*sweep)(store *s, int64_t now, int64_t grace_ms, int64_t idle_ms,
		     int64_t max, int64_t *deleted);

	/* Single-use tokens. token_consume atomically marks an unused,
	 * unexpired token of that kind used and returns it; PV_ENOTFOUND when
	 * unknown or already used, PV_EEXPIRED when expired. token_insert
	 * stores the token unused (t->used_at is ignored). */
	int (*token_insert)(store *s, const store_token *t);
	int (*token_consume)(store *s, const char *kind,
			     const unsigned char hash[STORE_HASH_LEN],
			     int64_t now, store_token *out);
	/* The unused, unexpired token of that kind, without using it; the
	 * same errors as token_consume. */
	int (*token_get)(store *s, const char *kind,
			 const unsigned char hash[STORE_HASH_LEN], int64_t now,
			 store_token *out);

	/* Sessions. session_insert stores client_ip too. session_touch sets
	 * last_seen. session_revoke_user revokes every session of a user.
	 * touch and revoke answer PV_ENOTFOUND for an unknown hash. */
	int (*session_insert)(store *s, const store_session *se);
	/* session_insert and, with it, user_logged_in(se->user_id,
	 * se->created_at): a new session is a login. A known hash
	 * PV_ECONFLICT, an unknown user PV_ENOTFOUND (both: either); when it
	 * fails, neither is stored (PostgreSQL: one statement, which inside a
	 * transaction goes with its COMMIT, one round trip for both: a
	 * refusal is then answered by tx_commit, or as PV_EBUSY or PV_ESTORE
	 * by the transaction's next call, and ends the transaction; SQLite:
	 * the session, then the user's row, in the caller's transaction or in
	 * one of its own). */
	int (*session_login)(store *s, const store_session *se);
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
	/* *queued counts the queued messages and the messages that active
	 * campaigns still owe (users created by their upload, less those
	 * handled); *failed the failed messages. Either may be NULL. */
	int (*outbox_stats)(store *s, int64_t *queued, int64_t *failed);

	/* Campaigns (store_campaign), a durable queue like the outbox, one
	 * per upload and channel.
	 * - campaign_insert stores c active, cursor 0, due at c->next_at, and
	 *   sets c->id; PV_ECONFLICT when the upload has a campaign on that
	 *   channel already, PV_ENOTFOUND when the upload is unknown.
	 * - campaign_claim leases to `worker` the active campaign with the
	 *   oldest next_at (then id) that is due (next_at <= now) and whose
	 *   lease is free or expired; PV_ENOTFOUND when none.
	 * - campaign_users: the users that the upload's rows after `after`
	 *   created (their ids made by store_upload_user_id), in row order, at
	 *   most max of them, into out (max entries, caller's); *n how many
	 *   (closed and erased users too: the campaign skips them, and they
	 *   count for the end of campaign_finish);
	 *   PV_ENOTFOUND for an unknown upload. A user committed later never
	 *   comes from a row at or before one seen earlier (an upload's rows
	 *   are written in order), so a cursor never skips one.
	 * - campaign_advance moves the cursor forward to `cursor` (> the
	 *   current one), counts one more user handled, renews the lease to
	 *   now + lease_ms; only while `worker` holds the lease of the active
	 *   campaign (PV_ECONFLICT otherwise, and for a cursor that would not
	 *   move forward; PV_ENOTFOUND when unknown).
	 * - campaign_release frees the lease, not due before next_at (same
	 *   condition and errors).
	 * - campaign_finish marks the campaign done, and frees it, when its
	 *   upload has finished (SUCCESSFUL or FAILED) and no user of the
	 *   upload lies after the cursor, deciding both at once: *done is 1
	 *   then, 0 when the campaign stays active (same condition and
	 *   errors). */
	int (*campaign_insert)(store *s, store_campaign *c);
	int (*campaign_claim)(store *s, const char *worker, int64_t now,
			      int64_t lease_ms, store_campaign *out);
	int (*campaign_users)(store *s, const char *upload_id, int64_t after,
			      size_t max, store_user *out, size_t *n);
	int (*campaign_advance)(store *s, int64_t id, const char *worker,
				int64_t cursor, int64_t now, int64_t lease_ms);
	int (*campaign_release)(store *s, int64_t id, const char *worker,
				int64_t next_at);
	int (*campaign_finish)(store *s, int64_t id, const char *worker,
			       int64_t now, int *done);

	/* Audit log, newest first (by id) in lists. audit_list answers the
	 * rows that match f (NULL: every row); *total counts every match. */
	int (*audit_add)(store *s, store_audit *a);
	int (*audit_list)(store *s, const store_audit_filter *f, store_page pg,
			  store_audit **items, size_t *n, int64_t *total);

	/* ---- The person's own data (DPDP Act 2023) ---- */

	/* A person's changes to their own account, each on a live user only
	 * (PV_ENOTFOUND for an unknown, closed or erased one), each setting
	 * updated_at = now:
	 * - user_set_names: first and last name and position (position_id ""
	 *   for none; PV_ENOTFOUND also when the position does not exist).
	 * - user_set_mobile: PV_ECONFLICT when another live user has it.
	 * - user_set_email: the e-mail with whether it is official and proven;
	 *   PV_ECONFLICT when another live user has it (case-insensitively). */
	int (*user_set_names)(store *s, const char *id, const char *first_name,
			      const char *last_name, const char *position_id,
			      int64_t now);
	int (*user_set_mobile)(store *s, const char *id, const char *mobile,
			       int64_t now);
	int (*user_set_email)(store *s, const char *id, const char *email,
			      int official, int verified, int64_t now);

	/* Closing and erasing an account.
	 * - user_close: a live user becomes closed, to be erased from
	 *   erase_after on; updated_at = now records when it was closed.
	 *   PV_ENOTFOUND when unknown, PV_ECONFLICT when already closed or
	 *   erased. Nothing else changes (the caller ends the sessions).
	 * - user_erase_due: the ids of closed users whose erase_after <= now,
	 *   earliest first, at most max (1..100, else PV_EINVAL) into ids; *n
	 *   says how many.
	 * - user_erase: erases a closed user's personal data, at once: the
	 *   user keeps its id, organisation, source, upload, erase_after and
	 *   created_at, gets status erased and updated_at = now, and loses its
	 *   names, e-mail and mobile ("" each), position (none) and both e-mail
	 *   flags (0). Its roles, credential, sessions and the tokens bound to
	 *   it (subject = its id) are deleted; its consents keep kind, version
	 *   and time but lose their client address. What was made before it was
	 *   closed (at or before its updated_at as closed) and names its e-mail
	 *   (case-insensitively) or its mobile: requests lose their full name,
	 *   e-mail and mobile ("" each); outbox messages to either address are
	 *   deleted whatever their status. Audit rows keep naming it by id
	 *   only: those it acted in lose their client address, those about it
	 *   (target = its id) get the detail "{}". PV_ENOTFOUND when unknown,
	 *   PV_ECONFLICT when it is not closed. scrub() then clears the old
	 *   values from the store's files. */
	int (*user_close)(store *s, const char *id, int64_t erase_after,
			  int64_t now);
	int (*user_erase_due)(store *s, int64_t now, char (*ids)[STORE_ID_MAX],
			      size_t max, size_t *n);
	int (*user_erase)(store *s, const char *id, int64_t now);
	/* Deletes every OTP challenge of a subject created at or before
	 * `before` (PV_OK when there is none). */
	int (*otp_forget)(store *s, const char *subject, int64_t before);
	/* Deletes every outbox message to to_addr (case-insensitively),
	 * whatever its status, created at or before `before` (PV_OK when there
	 * is none): the messages to an address an erased person gave that
	 * never became the account's. */
	int (*outbox_forget)(store *s, const char *to_addr, int64_t before);

	/* What the store holds about a user, for its owner (s.11):
	 * - consent_list: its consents, oldest first, up to max into out.
	 * - session_list: its sessions still stored (revoked or ended ones
	 *   too, until swept), newest first, up to max into out.
	 * - request_list_contact: requests whose e-mail is `email`
	 *   (case-insensitively) or whose mobile is `mobile` (either may be ""
	 *   to match nothing), oldest first, at most max; *items is malloc'd
	 *   (caller frees), NULL when *n is 0.
	 * - audit_each_user: every audit row whose actor or target is user_id,
	 *   oldest first; cb returns non-zero to stop (that value is returned).
	 * - token_list: the tokens of that kind bound to subject still stored
	 *   (used and expired ones too, until swept), newest first, up to max
	 *   into out; *n says how many.
	 * (The user's password credential: cred_by_user.) */
	int (*consent_list)(store *s, const char *user_id, store_consent *out,
			    size_t max, size_t *n);
	int (*session_list)(store *s, const char *user_id, store_session *out,
			    size_t max, size_t *n);
	int (*request_list_contact)(store *s, const char *email,
				    const char *mobile, size_t max,
				    store_request **items, size_t *n);
	int (*audit_each_user)(store *s, const char *user_id, store_audit_cb cb,
			       void *ctx);
	int (*token_list)(store *s, const char *kind, const char *subject,
			  store_token *out, size_t max, size_t *n);

	/* Retention.
	 * - upload_expired: finished uploads (SUCCESSFUL or FAILED) last
	 *   updated before `before` whose files are still kept, oldest first,
	 *   at most max (1..100, else PV_EINVAL) into out; *n says how many.
	 * - upload_files_removed: records that an upload's files are gone
	 *   (files_removed_at = now, once: a later call changes nothing);
	 *   PV_ENOTFOUND when unknown.
	 * - outbox_purge: deletes sent and failed messages last due (next_at)
	 *   before `before`, at most max (>= 1) per call; *deleted (may be
	 *   NULL) gets how many.
	 * - audit_purge: deletes audit rows written (at) before `before`, at
	 *   most max (>= 1) per call; *deleted (may be NULL) gets how many.
	 * - scrub: makes what was deleted or overwritten so far unreadable
	 *   from the store's own files, as far as the backend can do it while
	 *   serving (docs/operations.md says what else the operator must do).
	 *   Not inside a transaction (PV_EINVAL). */
	int (*upload_expired)(store *s, int64_t before, size_t max,
			      store_upload *out, size_t *n);
	int (*upload_files_removed)(store *s, const char *id, int64_t now);
	int (*outbox_purge)(store *s, int64_t before, int64_t max,
			    int64_t *deleted);
	int (*audit_purge)(store *s, int64_t before, int64_t max,
			   int64_t *deleted);
	int (*scrub)(store *s);
	/* Blobs: files kept by the store under an id (1 to STORE_ID_MAX - 1
	 * bytes of A-Z a-z 0-9 . _ -, else PV_EINVAL), so that every process
	 * sharing the store can read a file that one of them received (the
	 * uploaded files and result files of bulk uploads). Each call is
	 * atomic on its own and none belongs to a transaction (PV_EINVAL
	 * inside one): a blob is put before the rows that name it are
	 * written, and deleted again when writing them failed.
	 * - blob_put copies the file at path into the store; PV_ECONFLICT
	 *   when the id is taken (the stored blob stays as it was), PV_EIO
	 *   when the file cannot be read, PV_ENOSPACE when the disk is full.
	 * - blob_get writes the blob to a new file at path (mode 0600; PV_EIO
	 *   when path exists or cannot be made); PV_ENOTFOUND when there is no
	 *   such blob. The file is the caller's to delete; it may share its
	 *   bytes with the stored blob (a hard link): never write to it.
	 * - blob_delete forgets the blob (PV_OK when there was none). */
	int (*blob_put)(store *s, const char *id, const char *path);
	int (*blob_get)(store *s, const char *id, const char *path);
	int (*blob_delete)(store *s, const char *id);
};

/* Every backend's handle starts with this. */
struct store {
	const struct store_ops *ops;
};

/* Settings a backend may use; store_open() takes the defaults. */
typedef struct store_options {
	/* PostgreSQL: statement_timeout and lock_timeout of every connection
	 * (0: none). A lock wait that ends at lock_timeout answers PV_EBUSY
	 * (retry the transaction); a statement that runs past
	 * statement_timeout answers PV_ESTORE. SQLite waits for its write
	 * lock for a fixed 5 s. */
	int64_t statement_timeout_ms, lock_timeout_ms;
	/* SQLite: "full" (NULL: the default; a commit is on disk when it
	 * returns) or "normal" (a commit survives a crash of the process,
	 * not a power cut); anything else: PV_EINVAL. See sqlite_conn.c. */
	const char *sqlite_sync;
} store_options;

#define STORE_STATEMENT_TIMEOUT_MS 30000
#define STORE_LOCK_TIMEOUT_MS 5000

/* Opens the store named by url ("sqlite:PATH", a bare PATH, or a libpq
 * URI "postgres://..." / "postgresql://..."; the URL may hold a password
 * and is never logged). *out is owned by the caller and released with
 * store_close(). Does not migrate. PV_EINVAL for an unknown or unsupported
 * URL; PV_ESTORE when a database server cannot be reached. opt NULL: the
 * defaults above. */
int store_open_with(const char *url, const store_options *opt, store **out);
int store_open(const char *url, store **out);
/* Accepts NULL. Closes every thread's connection: call it once no other
 * thread uses the store any more. */
void store_close(store *s);

/* The backends built in and their libraries' versions, for `pravesh
 * version`: a static string such as "sqlite 3.40.1, libpq 15.18". */
const char *store_versions(void);

/* Memory held in this process by an embedded database engine (SQLite's
 * page caches, statements and schemas of every connection), in bytes: in
 * use now, the most ever in use, and its soft limit (0: none). All 0 when
 * no embedded engine has been used (PostgreSQL keeps its memory in its own
 * processes). For /metrics. */
void store_engine_memory(int64_t *used, int64_t *highwater, int64_t *limit);

/* The id of the user that row `row` (1 .. 2^24 - 1) of upload u creates:
 * a time-ordered UUID (version 7 layout) of the upload's creation time, 48
 * bits of a hash of the upload's id, and the row. So one row can create at
 * most one user (the primary key says so, with no index of its own), and
 * an upload's users are one range of ids in row order, which campaigns
 * walk. out has cap (at least 37) bytes; PV_EINVAL for a row out
 * of range. */
int store_upload_user_id(const store_upload *u, int64_t row, char *out,
			 size_t cap);
/* The row in an id made by store_upload_user_id (0 for an id of another
 * shape; meaningful only for ids known to come from one upload). */
int64_t store_upload_user_row(const char *id);
#define STORE_UPLOAD_ROW_MAX ((INT64_C(1) << 24) - 1)

/* 1 when id is a valid blob id (see blob_put), else 0. */
int store_blob_id_valid(const char *id);

/* Runs fn(s, ctx) in a transaction: commits when fn answers PV_OK, undoes
 * everything fn did and answers fn's error otherwise. When begin, fn or
 * commit answers PV_EBUSY, what fn did is undone and fn is run again from
 * the start, at most STORE_TX_TRIES times in all, after a short random
 * pause; fn must therefore put nothing outside the store before the commit
 * (and reset whatever it fills in for the caller each time it starts). Not
 * for use inside another transaction (PV_EINVAL), nor from inside fn.
 *
 * Group commit: a backend may run the functions of concurrent callers one
 * after another in one transaction of its own, on a thread of its own,
 * and commit them together (the SQLite backend does: one commit, and one
 * sync to disk, for many callers). Each
 * caller still gets its own answer, and all or nothing of its own work:
 * a function that fails is undone alone (a savepoint), the others' work
 * stays; when the batch's transaction itself is lost (busy, I/O), every
 * function of the batch is run again. So fn
 * - may run on another thread than its caller's: it must not use
 *   thread-local state (errno aside), nor wait for other callers of
 *   store_tx;
 * - sees what the functions before it in its batch wrote, as if they had
 *   committed just before it started (they commit with it or not at all,
 *   so this is the read committed promised above);
 * - may be run again, before any answer, when another function of its
 *   batch failed (so it may run more often than STORE_TX_TRIES);
 * - must not call store_tx, tx_begin, tx_commit or tx_rollback
 *   (PV_EINVAL). */
#define STORE_TX_TRIES 5
int store_tx(store *s, store_tx_fn fn, void *ctx);

/* store_tx without waiting: runs fn as store_tx does (the same retries,
 * the same promises to and from fn), then calls done(done_ctx, rc) with
 * what store_tx would have answered, once, after the commit. done runs on
 * the calling thread before store_tx_async returns, or later on a thread
 * of the backend (the SQLite backend's committer, or its syncer once the
 * commit is on disk: then the caller's thread was free meanwhile); fn's ctx and done_ctx must live until done. done
 * must be short, and must not call store_tx, store_tx_async or
 * tx_begin (reads are fine): it holds up the transactions behind it. */
void store_tx_async(store *s, store_tx_fn fn, void *ctx, store_tx_done done,
		    void *done_ctx);
/* 1 when store_tx_async runs the transaction on the calling thread (and
 * so waits for the store), 0 when it hands it to a thread of the backend
 * and returns at once: a thread that must never wait (an HTTP thread) may
 * then call it. */
int store_tx_async_waits(store *s);

/* ---- one wrapper per operation: call sites never spell s->ops ---- */

static inline const char *store_backend_name(store *s)
{
	return s->ops->name;
}

static inline int store_migrate(store *s)
{
	return s->ops->migrate(s);
}

static inline int store_ping(store *s)
{
	return s->ops->ping(s);
}

/* A backend without the operation has its own tools: PV_EINVAL. */
static inline int store_backup(store *s, const char *path)
{
	return s->ops->backup ? s->ops->backup(s, path) : PV_EINVAL;
}

static inline int store_tx_begin(store *s)
{
	return s->ops->tx_begin(s);
}

static inline int store_tx_commit(store *s)
{
	return s->ops->tx_commit(s);
}

static inline int store_tx_rollback(store *s)
{
	return s->ops->tx_rollback(s);
}

static inline int store_org_upsert(store *s, const store_org *org)
{
	return s->ops->org_upsert(s, org);
}

static inline int store_org_get(store *s, const char *id, store_org *out)
{
	return s->ops->org_get(s, id, out);
}

static inline int store_org_each(store *s, store_org_cb cb, void *ctx)
{
	return s->ops->org_each(s, cb, ctx);
}

static inline int store_org_children(store *s, const char *id, int64_t *count)
{
	return s->ops->org_children(s, id, count);
}

static inline int store_dir_version(store *s, int64_t *version)
{
	return s->ops->dir_version(s, version);
}

static inline int store_org_update(store *s, const char *id, const store_org_change *ch, int64_t now, store_org *out, int *conflict)
{
	return s->ops->org_update(s, id, ch, now, out, conflict);
}

static inline int store_position_insert(store *s, const store_position *pos)
{
	return s->ops->position_insert(s, pos);
}

static inline int store_position_upsert_name(store *s, const store_position *pos, store_position *out, int *created)
{
	return s->ops->position_upsert_name(s, pos, out, created);
}

static inline int store_position_get(store *s, const char *id, store_position *out)
{
	return s->ops->position_get(s, id, out);
}

static inline int store_position_each(store *s, store_position_cb cb, void *ctx)
{
	return s->ops->position_each(s, cb, ctx);
}

static inline int store_position_update(store *s, const char *id, const char *name, int active, store_position *out)
{
	return s->ops->position_update(s, id, name, active, out);
}

static inline int store_user_insert(store *s, const store_user *u, int *conflict)
{
	return s->ops->user_insert(s, u, conflict);
}

static inline int store_user_insert_batch(store *s, const store_user *users, size_t n, int *conflicts)
{
	return s->ops->user_insert_batch(s, users, n, conflicts);
}

static inline int store_user_get(store *s, const char *id, store_user *out)
{
	return s->ops->user_get(s, id, out);
}

static inline int store_user_by_email(store *s, const char *email, store_user *out)
{
	return s->ops->user_by_email(s, email, out);
}

static inline int store_user_by_mobile(store *s, const char *mobile, store_user *out)
{
	return s->ops->user_by_mobile(s, mobile, out);
}

static inline int store_user_set_status(store *s, const char *id, const char *status, int64_t now)
{
	return s->ops->user_set_status(s, id, status, now);
}

static inline int store_user_verify_email(store *s, const char *id, int64_t now)
{
	return s->ops->user_verify_email(s, id, now);
}

static inline int store_user_logged_in(store *s, const char *id, int64_t now)
{
	return s->ops->user_logged_in(s, id, now);
}

static inline int store_user_list(store *s, const store_user_query *q, store_user **items, size_t *n, store_user_list_info *info)
{
	return s->ops->user_list(s, q, items, n, info);
}

static inline int store_role_add(store *s, const char *user_id, const store_role *r)
{
	return s->ops->role_add(s, user_id, r);
}

static inline int store_role_list(store *s, const char *user_id, store_role *out, size_t max, size_t *n)
{
	return s->ops->role_list(s, user_id, out, max, n);
}

static inline int store_cred_insert(store *s, const store_cred *c)
{
	return s->ops->cred_insert(s, c);
}

static inline int store_cred_by_username(store *s, const char *username, store_cred *out)
{
	return s->ops->cred_by_username(s, username, out);
}

static inline int store_cred_by_user(store *s, const char *user_id, store_cred *out)
{
	return s->ops->cred_by_user(s, user_id, out);
}

static inline int store_admin_list(store *s, const char *role, const char *org_id, const char *status, const char *q, store_page pg, store_admin **items, size_t *n, int64_t *total)
{
	return s->ops->admin_list(s, role, org_id, status, q, pg, items, n, total);
}

static inline int store_consent_add(store *s, const store_consent *c)
{
	return s->ops->consent_add(s, c);
}

static inline int store_otp_insert(store *s, store_otp *otp)
{
	return s->ops->otp_insert(s, otp);
}

static inline int store_otp_last(store *s, const char *subject, const char *purpose, store_otp *out)
{
	return s->ops->otp_last(s, subject, purpose, out);
}

static inline int store_otp_use(store *s, int64_t id)
{
	return s->ops->otp_use(s, id);
}

static inline int store_otp_fail(store *s, int64_t id, int max_tries, int *attempts)
{
	return s->ops->otp_fail(s, id, max_tries, attempts);
}

static inline int store_throttle_hit(store *s, const char *key, int64_t now, int64_t window_ms, int64_t lock_at, int64_t lock_ms, store_throttle *out)
{
	return s->ops->throttle_hit(s, key, now, window_ms, lock_at, lock_ms, out);
}

static inline int store_throttle_peek(store *s, const char *key, int64_t now, store_throttle *out)
{
	return s->ops->throttle_peek(s, key, now, out);
}

static inline int store_throttle_peek_share(store *s, const char *key, int64_t now, store_throttle *out)
{
	return s->ops->throttle_peek_share(s, key, now, out);
}

static inline int store_throttle_peek_pair(store *s, const char *key0, const char *key1,
					   int64_t now, store_throttle out[2], int found[2])
{
	return s->ops->throttle_peek_pair(s, key0, key1, now, out, found);
}

static inline int store_throttle_undo(store *s, const char *key, int64_t now)
{
	return s->ops->throttle_undo(s, key, now);
}

static inline int store_throttle_clear(store *s, const char *key)
{
	return s->ops->throttle_clear(s, key);
}

static inline int store_sweep(store *s, int64_t now, int64_t grace_ms, int64_t idle_ms, int64_t max, int64_t *deleted)
{
	return s->ops->sweep(s, now, grace_ms, idle_ms, max, deleted);
}

static inline int store_token_insert(store *s, const store_token *t)
{
	return s->ops->token_insert(s, t);
}

static inline int store_token_consume(store *s, const char *kind, const unsigned char hash[STORE_HASH_LEN], int64_t now, store_token *out)
{
	return s->ops->token_consume(s, kind, hash, now, out);
}

static inline int store_token_get(store *s, const char *kind, const unsigned char hash[STORE_HASH_LEN], int64_t now, store_token *out)
{
	return s->ops->token_get(s, kind, hash, now, out);
}

static inline int store_session_insert(store *s, const store_session *se)
{
	return s->ops->session_insert(s, se);
}

static inline int store_session_login(store *s, const store_session *se)
{
	return s->ops->session_login(s, se);
}

static inline int store_session_get(store *s, const unsigned char hash[STORE_HASH_LEN], store_session *out)
{
	return s->ops->session_get(s, hash, out);
}

static inline int store_session_touch(store *s, const unsigned char hash[STORE_HASH_LEN], int64_t now)
{
	return s->ops->session_touch(s, hash, now);
}

static inline int store_session_revoke(store *s, const unsigned char hash[STORE_HASH_LEN])
{
	return s->ops->session_revoke(s, hash);
}

static inline int store_session_revoke_user(store *s, const char *user_id)
{
	return s->ops->session_revoke_user(s, user_id);
}

static inline int store_request_insert(store *s, const store_request *r, store_request *existing)
{
	return s->ops->request_insert(s, r, existing);
}

static inline int store_request_get(store *s, const char *id, store_request *out)
{
	return s->ops->request_get(s, id, out);
}

static inline int store_request_decide(store *s, const store_request *r)
{
	return s->ops->request_decide(s, r);
}

static inline int store_request_list(store *s, const char *status, const char *kind, store_page pg, store_request **items, size_t *n, int64_t *total)
{
	return s->ops->request_list(s, status, kind, pg, items, n, total);
}

static inline int store_upload_insert(store *s, const store_upload *u)
{
	return s->ops->upload_insert(s, u);
}

static inline int store_upload_get(store *s, const char *id, store_upload *out)
{
	return s->ops->upload_get(s, id, out);
}

static inline int store_upload_list(store *s, const char *org_id, store_page pg, store_upload **items, size_t *n, int64_t *total)
{
	return s->ops->upload_list(s, org_id, pg, items, n, total);
}

static inline int store_upload_claim(store *s, const char *worker, int64_t now, int64_t lease_ms, store_upload *out)
{
	return s->ops->upload_claim(s, worker, now, lease_ms, out);
}

static inline int store_upload_progress(store *s, const store_upload *u, const char *worker, int64_t now, int64_t lease_ms)
{
	return s->ops->upload_progress(s, u, worker, now, lease_ms);
}

static inline int store_upload_finish(store *s, const char *id, const char *status, const char *error, const char *worker, int64_t now)
{
	return s->ops->upload_finish(s, id, status, error, worker, now);
}

static inline int store_upload_failure_add(store *s, const char *upload_id, const store_upload_failure *f)
{
	return s->ops->upload_failure_add(s, upload_id, f);
}

static inline int store_upload_failure_each(store *s, const char *upload_id, store_failure_cb cb, void *ctx)
{
	return s->ops->upload_failure_each(s, upload_id, cb, ctx);
}

static inline int store_upload_status_counts(store *s, int64_t *queued, int64_t *in_progress, int64_t *successful, int64_t *failed)
{
	return s->ops->upload_status_counts(s, queued, in_progress, successful, failed);
}

static inline int store_outbox_insert(store *s, store_outbox *m)
{
	return s->ops->outbox_insert(s, m);
}

static inline int store_outbox_claim(store *s, const char *worker, int64_t now, int64_t lease_ms, store_outbox *out)
{
	return s->ops->outbox_claim(s, worker, now, lease_ms, out);
}

static inline int store_outbox_sent(store *s, int64_t id, int64_t now)
{
	return s->ops->outbox_sent(s, id, now);
}

static inline int store_outbox_retry(store *s, int64_t id, int attempts, int64_t next_at, const char *error)
{
	return s->ops->outbox_retry(s, id, attempts, next_at, error);
}

static inline int store_outbox_fail(store *s, int64_t id, int attempts, const char *error)
{
	return s->ops->outbox_fail(s, id, attempts, error);
}

static inline int store_outbox_stats(store *s, int64_t *queued, int64_t *failed)
{
	return s->ops->outbox_stats(s, queued, failed);
}

static inline int store_campaign_insert(store *s, store_campaign *c)
{
	return s->ops->campaign_insert(s, c);
}

static inline int store_campaign_claim(store *s, const char *worker, int64_t now, int64_t lease_ms, store_campaign *out)
{
	return s->ops->campaign_claim(s, worker, now, lease_ms, out);
}

static inline int store_campaign_users(store *s, const char *upload_id, int64_t after, size_t max, store_user *out, size_t *n)
{
	return s->ops->campaign_users(s, upload_id, after, max, out, n);
}

static inline int store_campaign_advance(store *s, int64_t id, const char *worker, int64_t cursor, int64_t now, int64_t lease_ms)
{
	return s->ops->campaign_advance(s, id, worker, cursor, now, lease_ms);
}

static inline int store_campaign_release(store *s, int64_t id, const char *worker, int64_t next_at)
{
	return s->ops->campaign_release(s, id, worker, next_at);
}

static inline int store_campaign_finish(store *s, int64_t id, const char *worker, int64_t now, int *done)
{
	return s->ops->campaign_finish(s, id, worker, now, done);
}

static inline int store_audit_add(store *s, store_audit *a)
{
	return s->ops->audit_add(s, a);
}

static inline int store_audit_list(store *s, const store_audit_filter *f, store_page pg, store_audit **items, size_t *n, int64_t *total)
{
	return s->ops->audit_list(s, f, pg, items, n, total);
}

static inline int store_user_set_names(store *s, const char *id, const char *first_name, const char *last_name, const char *position_id, int64_t now)
{
	return s->ops->user_set_names(s, id, first_name, last_name, position_id, now);
}

static inline int store_user_set_mobile(store *s, const char *id, const char *mobile, int64_t now)
{
	return s->ops->user_set_mobile(s, id, mobile, now);
}

static inline int store_user_set_email(store *s, const char *id, const char *email, int official, int verified, int64_t now)
{
	return s->ops->user_set_email(s, id, email, official, verified, now);
}

static inline int store_user_close(store *s, const char *id, int64_t erase_after, int64_t now)
{
	return s->ops->user_close(s, id, erase_after, now);
}

static inline int store_user_erase_due(store *s, int64_t now, char (*ids)[STORE_ID_MAX], size_t max, size_t *n)
{
	return s->ops->user_erase_due(s, now, ids, max, n);
}

static inline int store_user_erase(store *s, const char *id, int64_t now)
{
	return s->ops->user_erase(s, id, now);
}

static inline int store_otp_forget(store *s, const char *subject, int64_t before)
{
	return s->ops->otp_forget(s, subject, before);
}

static inline int store_outbox_forget(store *s, const char *to_addr, int64_t before)
{
	return s->ops->outbox_forget(s, to_addr, before);
}

static inline int store_consent_list(store *s, const char *user_id, store_consent *out, size_t max, size_t *n)
{
	return s->ops->consent_list(s, user_id, out, max, n);
}

static inline int store_session_list(store *s, const char *user_id, store_session *out, size_t max, size_t *n)
{
	return s->ops->session_list(s, user_id, out, max, n);
}

static inline int store_request_list_contact(store *s, const char *email, const char *mobile, size_t max, store_request **items, size_t *n)
{
	return s->ops->request_list_contact(s, email, mobile, max, items, n);
}

static inline int store_audit_each_user(store *s, const char *user_id, store_audit_cb cb, void *ctx)
{
	return s->ops->audit_each_user(s, user_id, cb, ctx);
}

static inline int store_token_list(store *s, const char *kind, const char *subject, store_token *out, size_t max, size_t *n)
{
	return s->ops->token_list(s, kind, subject, out, max, n);
}

static inline int store_upload_expired(store *s, int64_t before, size_t max, store_upload *out, size_t *n)
{
	return s->ops->upload_expired(s, before, max, out, n);
}

static inline int store_upload_files_removed(store *s, const char *id, int64_t now)
{
	return s->ops->upload_files_removed(s, id, now);
}

static inline int store_outbox_purge(store *s, int64_t before, int64_t max, int64_t *deleted)
{
	return s->ops->outbox_purge(s, before, max, deleted);
}

static inline int store_audit_purge(store *s, int64_t before, int64_t max, int64_t *deleted)
{
	return s->ops->audit_purge(s, before, max, deleted);
}

static inline int store_scrub(store *s)
{
	return s->ops->scrub(s);
}

static inline int store_blob_put(store *s, const char *id, const char *path)
{
	return s->ops->blob_put(s, id, path);
}

static inline int store_blob_get(store *s, const char *id, const char *path)
{
	return s->ops->blob_get(s, id, path);
}

static inline int store_blob_delete(store *s, const char *id)
{
	return s->ops->blob_delete(s, id);
}


#endif
