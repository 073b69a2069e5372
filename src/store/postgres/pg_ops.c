/* pg_ops.c: every store operation of the PostgreSQL backend. Each one runs
 * statements prepared on the calling thread's connection (see pg_conn.c),
 * binds every value, and maps the server's answers to pv_err. The
 * behaviour is the SQLite backend's, as store.h states it.
 *
 * A refused call must not poison the caller's transaction (PostgreSQL
 * aborts a transaction at the first error): so no statement here raises
 * for an expected refusal. Inserts use ON CONFLICT DO NOTHING (every
 * unique index is an arbiter) and insert only when the rows they refer to
 * exist (INSERT ... SELECT ... WHERE EXISTS; such rows are never deleted);
 * when nothing was inserted, a second statement, with a fresh snapshot,
 * tells why. Uniqueness is still decided by the unique indexes, never by a
 * prior read, and the foreign keys stay as a safety net (but for users'
 * organisation and position: see migration 2).
 *
 * Claims of uploads and outbox messages pick their row with FOR UPDATE
 * SKIP LOCKED, so that workers of several processes never wait for one
 * another nor take the same row. Whole-table iterations read in batches
 * (keyset pages), so that a callback may call the store and memory stays
 * bounded; paged lists count and read one page in one statement (one
 * snapshot). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_internal.h"
#include "util/buf.h"
#include "util/util.h"

/* ---- SQL ---------------------------------------------------------------- */

#define ORG_COLS "id, name, sector, type, parent_id, active, created_at, updated_at"
#define POS_COLS "id, name, active, created_at"
/* The columns a user is inserted with (also pv_batch's, after n);
 * last_login_at starts at its default, 0, and erase_after too (0 until
 * closed). */
#define USER_INS_COLS                                                          \
	"id, first_name, last_name, email, official_email, mobile, org_id, "   \
	"position_id, status, source, created_at, updated_at, email_verified, " \
	"upload_id"
/* The columns read (rd_user's order): USER_NCOLS of them. */
#define USER_COLS USER_INS_COLS ", last_login_at, erase_after"
#define USER_NCOLS 16
/* the same, of users joined as u (admin_list) */
#define USER_COLS_U                                                            \
	"u.id, u.first_name, u.last_name, u.email, u.official_email, u.mobile, " \
	"u.org_id, u.position_id, u.status, u.source, u.created_at, "          \
	"u.updated_at, u.email_verified, u.upload_id, u.last_login_at, "       \
	"u.erase_after"
#define OTP_COLS                                                               \
	"id, subject, purpose, code_mac, created_at, expires_at, attempts, state"
#define THR_COLS "tkey, hits, window_start, window_end, locked_until"
#define TOKEN_COLS "hash, kind, subject, extra, created_at, expires_at, used_at"
#define SES_COLS                                                               \
	"hash, user_id, csrf_hash, created_at, last_seen, expires_at, revoked, " \
	"elevated, client_ip"
#define REQ_COLS                                                               \
	"id, kind, full_name, email, mobile, name, details, sector, "          \
	"parent_id, status, reason, created_id, decided_by, created_at, "      \
	"decided_at"
#define UP_COLS                                                                \
	"id, org_id, uploader_id, file_name, stored_path, format, status, "    \
	"total_records, success_records, failed_records, cursor_pos, error, "  \
	"claimed_by, lease_until, created_at, updated_at, original_name, "      \
	"files_removed_at"
#define OUT_COLS                                                               \
	"id, channel, to_addr, template_name, lang, params, status, "          \
	"attempts, next_at, last_error, claimed_by, lease_until, created_at, " \
	"sent_at"
#define AUDIT_COLS "id, actor_id, action_name, target, client_ip, detail, at"
#define CAMP_COLS                                                              \
	"id, upload_id, channel, template_name, lang, params, status, "        \
	"cursor_row, handled, claimed_by, lease_until, next_at, created_at, "  \
	"finished_at"

/* Parameters compared with lower() are folded in the C collation too, so
 * that both sides fold ASCII letters only (see pg_schema.c). */
#define LOWER(p) "lower(" p " COLLATE \"C\")"

/* user_list: users with org_seq, newest (highest) first (pg_schema.c,
 * migration 3). */
#define USER_SEQ_COLS USER_COLS ", org_seq"
#define REQ_WHERE " WHERE ($1 = '' OR status = $1) AND ($2 = '' OR kind = $2)"
/* admin_list: $1 role, $2 org or '', $3 status or '', $4 text or ''. */
#define ADMIN_FROM                                                             \
	"roles r JOIN users u ON u.id = r.user_id LEFT JOIN credentials c ON"  \
	" c.user_id = u.id LEFT JOIN orgs o ON o.id = r.org_id"
#define ADMIN_WHERE                                                            \
	" WHERE r.role = $1 AND ($2 = '' OR r.org_id = $2) AND ($3 = '' OR"    \
	" u.status = $3) AND ($4 = '' OR"                                      \
	" strpos(lower(u.first_name), " LOWER("$4") ") > 0 OR"                 \
	" strpos(lower(u.last_name), " LOWER("$4") ") > 0 OR"                  \
	" strpos(lower(u.email), " LOWER("$4") ") > 0 OR"                      \
	" strpos(u.mobile, $4) > 0 OR"                                         \
	" strpos(lower(c.username), " LOWER("$4") ") > 0)"
/* audit_list: $1 action or '', $2 actor or '', $3 from, $4 to (<= 0: no
 * bound). */
#define AUDIT_WHERE                                                            \
	" WHERE ($1 = '' OR action_name = $1) AND ($2 = '' OR actor_id = $2)"  \
	" AND ($3 <= 0 OR at >= $3) AND ($4 <= 0 OR at < $4)"
/* The organisations at or below $1 (UNION stops at a cycle). */
#define ORG_SUBTREE                                                            \
	"WITH RECURSIVE sub(id) AS (SELECT $1 COLLATE \"C\" UNION SELECT o.id" \
	" FROM orgs o JOIN sub ON o.parent_id = sub.id) "
/* The key of the advisory lock under which org_update runs: two moves
 * checked at once could otherwise make a cycle together. */
#define ORG_UPDATE_LOCK "31640138163594601"
/* Live users hold the unique e-mail and mobile (the partial indexes say
 * the same words, so that the planner uses them). */
#define USER_LIVE " status NOT IN ('closed', 'erased')"
/* The same for users aliased u, beside a table with a status of its own. */
#define USER_LIVE_U " u.status NOT IN ('closed', 'erased')"
/* A count and one page in one statement: one row with a NULL page when
 * the page is past the end. */
#define PAGE(cols, from, where, order, lim)                                    \
	"SELECT f.total, p.* FROM (SELECT count(*) AS total FROM " from where   \
	") f LEFT JOIN LATERAL (SELECT " cols " FROM " from where " ORDER BY "  \
	order " " lim ") p ON true"

#define BATCH 500 /* rows per read of a whole-table iteration */
#define STR(x) #x
#define XSTR(x) STR(x)

enum {
	Q_ORG_UPSERT = PGS_Q_FIRST_OP,
	Q_ORG_GET,
	Q_ORG_BATCH,
	Q_ORG_CHILDREN,
	Q_ORG_LOCK,
	Q_ORG_UPDATE,
	Q_ORG_IN_SUBTREE,
	Q_ORG_ACTIVE_CHILD,
	Q_ORG_PARENT_INACTIVE,
	Q_DIR_VERSION,
	Q_POS_UPDATE,
	Q_POS_INSERT,
	Q_POS_BY_NAME,
	Q_POS_GET,
	Q_POS_BATCH,
	Q_USER_INSERT,
	Q_USER_WHY,
	Q_USER_EXISTS,
	Q_USER_GET,
	Q_USER_BY_EMAIL,
	Q_USER_BY_MOBILE,
	Q_USER_SET_STATUS,
	Q_USER_VERIFY_EMAIL,
	Q_USER_LIST,
	Q_USER_LIST_STATUS,
	Q_USER_COUNT,
	Q_USER_TOP,
	Q_USER_IN_ORG_MOBILE,
	Q_USER_IN_ORG_EMAIL,
	Q_USER_NAME,
	Q_USER_NAME_COUNT,
	Q_USER_LOGGED_IN,
	Q_ADMIN_LIST,
	Q_ROLE_ADD,
	Q_ROLE_LIST,
	Q_CRED_INSERT,
	Q_CRED_BY_USERNAME,
	Q_CRED_BY_USER,
	Q_CONSENT_ADD,
	Q_OTP_INSERT,
	Q_OTP_LAST,
	Q_OTP_USE,
	Q_OTP_FAIL,
	Q_OTP_EXISTS,
	Q_THR_HIT,
	Q_THR_PEEK,
	Q_THR_PEEK_SHARE,
	Q_THR_PEEK_PAIR,
	Q_THR_DEL,
	Q_THR_UNDO,
	Q_SWEEP_OTPS,
	Q_SWEEP_TOKENS,
	Q_SWEEP_SESSIONS,
	Q_SWEEP_THROTTLES,
	Q_TOKEN_INSERT,
	Q_TOKEN_CONSUME,
	Q_TOKEN_GET,
	Q_TOKEN_STATE,
	Q_SES_INSERT,
	Q_SES_LOGIN,
	Q_SES_GET,
	Q_SES_TOUCH,
	Q_SES_REVOKE,
	Q_SES_REVOKE_USER,
	Q_REQ_INSERT,
	Q_REQ_PENDING_BY_NAME,
	Q_REQ_GET,
	Q_REQ_DECIDE,
	Q_REQ_EXISTS,
	Q_REQ_LIST,
	Q_UP_INSERT,
	Q_UP_GET,
	Q_UP_LIST,
	Q_UP_CLAIM,
	Q_UP_PROGRESS,
	Q_UP_EXISTS,
	Q_UP_FINISH,
	Q_UP_FAIL_ADD,
	Q_UP_FAIL_BATCH,
	Q_UP_COUNTS,
	Q_OUT_INSERT,
	Q_OUT_CLAIM,
	Q_OUT_SENT,
	Q_OUT_RETRY,
	Q_OUT_FAIL,
	Q_OUT_STATS,
	Q_AUDIT_ADD,
	Q_AUDIT_LIST,
	Q_USER_SET_NAMES,
	Q_USER_SET_MOBILE,
	Q_USER_SET_EMAIL,
	Q_USER_CLOSE,
	Q_USER_ERASE_DUE,
	Q_USER_ERASE,
	Q_OTP_FORGET,
	Q_OUT_FORGET,
	Q_CONSENT_LIST,
	Q_SES_LIST,
	Q_REQ_CONTACT,
	Q_AUDIT_USER_BATCH,
	Q_TOKEN_LIST,
	Q_UP_EXPIRED,
	Q_UP_FILES_REMOVED,
	Q_OUT_PURGE,
	Q_AUDIT_PURGE,

	Q_BATCH_REFS,
	Q_BATCH_DISTINCT,
	Q_BATCH_INSERT_NEW,
	Q_BATCH_INSERT,
	Q_BATCH_WHY,
	Q_CAMP_INSERT,
	Q_CAMP_CLAIM,
	Q_CAMP_USERS,
	Q_CAMP_ADVANCE,
	Q_CAMP_RELEASE,
	Q_CAMP_STATE,
	Q_CAMP_FINISH,
	Q_CAMP_EXISTS,
	Q_END
};

_Static_assert(Q_END <= PGS_Q_MAX, "too many statements");

#define W(sql, types, op) {sql, types, 0, op, 0} /* writes */
/* user_insert_batch's numbering and insert (see Q_BATCH_INSERT_NEW) */
#define BATCH_NUM "row_number() OVER (PARTITION BY org_id ORDER BY n) AS r"
#define BATCH_INS(conflict)                                                    \
	"ins AS (INSERT INTO users (" USER_INS_COLS ", org_seq, name_words)"   \
	" SELECT b.id, b.first_name, b.last_name, b.email, b.official_email,"  \
	" b.mobile, b.org_id, b.position_id, b.status, b.source, b.created_at," \
	" b.updated_at, b.email_verified, b.upload_id, o.last_seq + b.r,"      \
	" array_to_tsvector(string_to_array(b.name_words, ' ')) FROM b"        \
	" JOIN user_orgs o ON o.org_id = b.org_id ORDER BY b.n" conflict       \
	" RETURNING id, org_id, status, org_seq), s AS (UPDATE user_orgs o SET" \
	" last_seq = m.top FROM (SELECT org_id, max(org_seq) AS top FROM ins"  \
	" GROUP BY org_id) m WHERE o.org_id = m.org_id AND m.top > o.last_seq)," \
	" c AS (INSERT INTO user_counts (org_id, status, n) SELECT org_id,"    \
	" status, count(*) FROM ins GROUP BY org_id, status ON CONFLICT"       \
	" (org_id, status) DO UPDATE SET n = user_counts.n + excluded.n)"      \
	" SELECT id FROM ins"
#define R(sql, types, op) {sql, types, 1, op, 0} /* reads */
/* reads planned for their values at every run (pg_internal.h) */
#define RC(sql, types, op) {sql, types, 1, op, 1}

static const struct pgs_query Q[Q_END] = {
	[Q_ORG_UPSERT] = W(
		"INSERT INTO orgs AS o (" ORG_COLS ") VALUES ($1, $2, $3, $4,"
		" $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET name ="
		" excluded.name, sector = excluded.sector, type = excluded.type,"
		" parent_id = excluded.parent_id, active = excluded.active,"
		" updated_at = excluded.updated_at WHERE (o.name, o.sector,"
		" o.type, o.parent_id, o.active) IS DISTINCT FROM"
		" (excluded.name, excluded.sector, excluded.type,"
		" excluded.parent_id, excluded.active)",
		"tttttiii", "org_upsert"),
	[Q_ORG_GET] = R("SELECT " ORG_COLS " FROM orgs WHERE id = $1", "t",
			"org_get"),
	[Q_ORG_BATCH] = R("SELECT " ORG_COLS " FROM orgs WHERE id > $1"
			  " ORDER BY id LIMIT " XSTR(BATCH),
			  "t", "org_each"),
	[Q_ORG_CHILDREN] = R("SELECT count(*) FROM orgs WHERE parent_id = $1",
			     "t", "org_children"),
	[Q_ORG_LOCK] = W("SELECT pg_advisory_xact_lock(" ORG_UPDATE_LOCK ")", "",
			 "org_update"),
	/* One statement decides (under the lock): $1 id, $2 name, $3
	 * sector, $4 type, $5 parent (NULL: unchanged), $6 active (-1:
	 * unchanged), $7 now. The parent must exist and not be in the
	 * organisation's own subtree; an organisation with an active child
	 * stays active; one that is made active, or moved while active,
	 * needs an active parent (or none). */
	[Q_ORG_UPDATE] = W(
		"UPDATE orgs SET name = coalesce($2, name), sector ="
		" coalesce($3, sector), type = coalesce($4, type), parent_id ="
		" coalesce($5, parent_id), active = CASE WHEN $6 < 0 THEN active"
		" ELSE $6 END, updated_at = $7 WHERE id = $1 AND ($5 IS NULL OR"
		" $5 = '' OR (EXISTS (SELECT 1 FROM orgs WHERE id = $5) AND $5"
		" NOT IN (" ORG_SUBTREE "SELECT id FROM sub))) AND ($6 <> 0 OR"
		" NOT EXISTS (SELECT 1 FROM orgs ch WHERE ch.parent_id = $1 AND"
		" ch.active = 1 AND ch.id <> $1)) AND (($5 IS NULL AND $6 <> 1)"
		" OR (CASE WHEN $6 < 0 THEN active ELSE $6 END) = 0 OR"
		" coalesce($5, parent_id) = '' OR EXISTS (SELECT 1 FROM orgs pa"
		" WHERE pa.id = coalesce($5, orgs.parent_id) AND pa.active = 1))"
		" RETURNING " ORG_COLS,
		"tttttii", "org_update"),
	[Q_ORG_IN_SUBTREE] = R(ORG_SUBTREE "SELECT 1 FROM sub WHERE id = $2",
			       "tt", "org_update"),
	[Q_ORG_ACTIVE_CHILD] = R("SELECT 1 FROM orgs WHERE parent_id = $1 AND"
				 " active = 1 AND id <> $1 LIMIT 1",
				 "t", "org_update"),
	/* $1 id, $2 new parent (NULL: its own), $3 1 when it is made
	 * active: the parent it would have is inactive */
	[Q_ORG_PARENT_INACTIVE] = R("SELECT 1 FROM orgs o JOIN orgs pa ON pa.id"
				    " = coalesce($2, o.parent_id) WHERE o.id = $1"
				    " AND pa.active = 0 AND (o.active = 1 OR $3 = 1)",
				    "tti", "org_update"),
	[Q_DIR_VERSION] = R("SELECT version FROM dir_version WHERE id = 1", "",
			    "dir_version"),
	/* a name taken by another position refuses the change without an
	 * error (a rename racing another to the same name still meets the
	 * unique index: PV_ECONFLICT either way) */
	[Q_POS_UPDATE] = W("UPDATE positions SET name = coalesce($2, name),"
			   " active = CASE WHEN $3 < 0 THEN active ELSE $3 END"
			   " WHERE id = $1 AND ($2 IS NULL OR NOT EXISTS (SELECT"
			   " 1 FROM positions p WHERE lower(p.name) = "
			   LOWER("$2") " AND p.id <> $1)) RETURNING " POS_COLS,
			   "tti", "position_update"),
	[Q_POS_INSERT] = W("INSERT INTO positions (" POS_COLS ") VALUES ($1,"
			   " $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
			   "ttii", "position_insert"),
	[Q_POS_BY_NAME] = R("SELECT " POS_COLS " FROM positions WHERE"
			    " lower(name) = " LOWER("$1"),
			    "t", "position_upsert_name"),
	[Q_POS_GET] = R("SELECT " POS_COLS " FROM positions WHERE id = $1", "t",
			"position_get"),
	[Q_POS_BATCH] = R("SELECT " POS_COLS ", lower(name) FROM positions"
			  " WHERE lower(name) > " LOWER("$1")
			  " ORDER BY lower(name) LIMIT " XSTR(BATCH),
			  "t", "position_each"),
	[Q_USER_INSERT] = W(
		"INSERT INTO users (" USER_INS_COLS ") SELECT $1, $2, $3, $4, $5,"
		" $6, $7, $8, $9, $10, $11, $12, $13, $14 WHERE EXISTS (SELECT 1"
		" FROM orgs WHERE id = $7) AND ($8 IS NULL OR EXISTS (SELECT 1"
		" FROM positions WHERE id = $8)) AND NOT EXISTS (SELECT 1 FROM"
		" users WHERE id = $1 OR (lower(email) = " LOWER("$4") " AND"
		USER_LIVE ") OR (mobile = $6 AND" USER_LIVE ")) ON CONFLICT DO"
		" NOTHING RETURNING 1",
		"ttttitttttiiit", "user_insert"),
	[Q_USER_WHY] = R("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email)"
			 " = " LOWER("$1") " AND" USER_LIVE "), EXISTS (SELECT 1"
			 " FROM users WHERE mobile = $2 AND" USER_LIVE "), EXISTS"
			 " (SELECT 1 FROM users WHERE id = $3)",
			 "ttt", "user_insert"),
	[Q_USER_EXISTS] = R("SELECT 1 FROM users WHERE id = $1", "t",
			    "user_exists"),
	[Q_USER_GET] = R("SELECT " USER_COLS " FROM users WHERE id = $1", "t",
			 "user_get"),
	[Q_USER_BY_EMAIL] = R("SELECT " USER_COLS " FROM users WHERE"
			      " lower(email) = " LOWER("$1") " AND" USER_LIVE,
			      "t", "user_by_email"),
	[Q_USER_BY_MOBILE] = R("SELECT " USER_COLS " FROM users WHERE mobile ="
			       " $1 AND" USER_LIVE,
			       "t", "user_by_mobile"),
	[Q_USER_SET_STATUS] = W("UPDATE users SET status = $2, updated_at = $3"
				" WHERE id = $1 AND" USER_LIVE,
				"tti", "user_set_status"),
	[Q_USER_VERIFY_EMAIL] = W("UPDATE users SET email_verified = 1,"
				  " updated_at = $2 WHERE id = $1",
				  "ti", "user_verify_email"),
	/* $1 org, $2 highest org_seq, $3 limit, $4 offset, $5 status */
	[Q_USER_LIST] = R("SELECT " USER_SEQ_COLS " FROM users WHERE org_id = $1"
			  " AND org_seq <= $2 ORDER BY org_seq DESC LIMIT $3 OFFSET $4",
			  "tiii", "user_list"),
	[Q_USER_LIST_STATUS] = R("SELECT " USER_SEQ_COLS " FROM users WHERE"
				 " org_id = $1 AND status = $5 AND org_seq <= $2"
				 " ORDER BY org_seq DESC LIMIT $3 OFFSET $4",
				 "tiiit", "user_list"),
	/* kept counts: $1 org, $2 status or '' */
	[Q_USER_COUNT] = R("SELECT coalesce(sum(n), 0) FROM user_counts WHERE"
			   " org_id = $1 AND ($2 = '' OR status = $2)",
			   "tt", "user_list"),
	[Q_USER_TOP] = R("SELECT coalesce(max(org_seq), 0) FROM users WHERE org_id = $1",
			 "t", "user_list"),
	/* one live user by a unique key within the org: $1 key, $2 org, $3
	 * status (USER_LIVE: the partial unique indexes serve them) */
	[Q_USER_IN_ORG_MOBILE] = R("SELECT " USER_SEQ_COLS " FROM users WHERE"
				   " mobile = $1 AND" USER_LIVE " AND org_id = $2"
				   " AND ($3 = '' OR status = $3)",
				   "ttt", "user_list"),
	[Q_USER_IN_ORG_EMAIL] = R("SELECT " USER_SEQ_COLS " FROM users WHERE"
				  " lower(email) = " LOWER("$1") " AND" USER_LIVE
				  " AND org_id = $2 AND ($3 = '' OR status = $3)",
				  "ttt", "user_list"),
	/* name search: $1 org, $2 status or '', $3 tsquery, $4 highest
	 * org_seq, $5 limit, $6 offset */
	[Q_USER_NAME] = RC("SELECT " USER_SEQ_COLS " FROM users WHERE org_id = $1"
			  " AND ($2 = '' OR status = $2) AND name_words @@ $3::tsquery"
			  " AND org_seq <= $4 ORDER BY org_seq DESC LIMIT $5 OFFSET $6",
			  "tttiii", "user_list"),
	[Q_USER_NAME_COUNT] = RC("SELECT count(*) FROM (SELECT 1 FROM users WHERE"
				" org_id = $1 AND ($2 = '' OR status = $2) AND"
				" name_words @@ $3::tsquery LIMIT $4) m",
				"ttti", "user_list"),
	[Q_USER_LOGGED_IN] = W("UPDATE users SET last_login_at = $2 WHERE id ="
			       " $1",
			       "ti", "user_logged_in"),
	[Q_ADMIN_LIST] = R(PAGE(USER_COLS_U ", r.role AS r_role, r.org_id AS"
				" r_org, coalesce(c.username, '') AS uname",
				ADMIN_FROM, ADMIN_WHERE,
				"o.name IS NOT NULL, lower(o.name),"
				" lower(u.last_name), lower(u.first_name), u.id",
				"LIMIT $5 OFFSET $6"),
			   "ttttii", "admin_list"),
	[Q_ROLE_ADD] = W("INSERT INTO roles (user_id, role, org_id) SELECT $1,"
			 " $2, $3 WHERE EXISTS (SELECT 1 FROM users WHERE id ="
			 " $1) ON CONFLICT DO NOTHING RETURNING 1",
			 "ttt", "role_add"),
	[Q_ROLE_LIST] = R("SELECT role, org_id FROM roles WHERE user_id = $1"
			  " ORDER BY role, org_id",
			  "t", "role_list"),
	[Q_CRED_INSERT] = W("INSERT INTO credentials (user_id, username,"
			    " pwhash) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1"
			    " FROM users WHERE id = $1) ON CONFLICT DO NOTHING"
			    " RETURNING 1",
			    "ttt", "cred_insert"),
	[Q_CRED_BY_USERNAME] = R("SELECT user_id, username, pwhash FROM"
				 " credentials WHERE lower(username) = "
				 LOWER("$1"),
				 "t", "cred_by_username"),
	[Q_CRED_BY_USER] = R("SELECT user_id, username, pwhash FROM"
			     " credentials WHERE user_id = $1",
			     "t", "cred_by_user"),
	[Q_CONSENT_ADD] = W("INSERT INTO consents (user_id, kind, version,"
			    " client_ip, at) SELECT $1, $2, $3, $4, $5 WHERE"
			    " EXISTS (SELECT 1 FROM users WHERE id = $1)"
			    " RETURNING 1",
			    "tttti", "consent_add"),
	/* one statement: the live challenges die and the new one is born
	 * together. Two inserts for the same subject at the same instant
	 * (read committed: neither sees the other's new row) may both stay
	 * live, where SQLite's single writer would kill the first; harmless,
	 * as every check takes the newest (otp_last) and each is still used
	 * at most once. */
	[Q_OTP_INSERT] = W("WITH k AS (UPDATE otps SET state = 2 WHERE subject"
			   " = $1 AND purpose = $2 AND state = 0) INSERT INTO"
			   " otps (subject, purpose, code_mac, created_at,"
			   " expires_at, attempts, state) VALUES ($1, $2, $3,"
			   " $4, $5, 0, 0) RETURNING id",
			   "ttbii", "otp_insert"),
	[Q_OTP_LAST] = R("SELECT " OTP_COLS " FROM otps WHERE subject = $1 AND"
			 " purpose = $2 ORDER BY created_at DESC, id DESC"
			 " LIMIT 1",
			 "tt", "otp_last"),
	[Q_OTP_USE] = W("UPDATE otps SET state = 1 WHERE id = $1 AND state = 0",
			"i", "otp_use"),
	[Q_OTP_FAIL] = W("UPDATE otps SET attempts = attempts + 1, state ="
			 " CASE WHEN attempts + 1 >= $2 THEN 2 ELSE 0 END"
			 " WHERE id = $1 AND state = 0 RETURNING attempts",
			 "ii", "otp_fail"),
	[Q_OTP_EXISTS] = R("SELECT 1 FROM otps WHERE id = $1", "i", "otp"),
	/* One statement decides: $1 key, $2 now, $3 window, $4 lock_at, $5
	 * lock_ms. In the update, t is the row as it was; a new window starts
	 * when the window ended or a lock was served. */
	[Q_THR_HIT] = W(
		"INSERT INTO throttles AS t (" THR_COLS ") VALUES ($1, 1, $2,"
		" $2 + $3, CASE WHEN $4 > 0 AND $4 <= 1 THEN $2 + $5 ELSE 0"
		" END) ON CONFLICT (tkey) DO UPDATE SET"
		" hits = CASE WHEN t.locked_until > $2 THEN t.hits"
		"  WHEN t.window_end <= $2 OR t.locked_until > 0 THEN 1"
		"  ELSE t.hits + 1 END,"
		" window_start = CASE WHEN t.locked_until > $2 THEN"
		"  t.window_start WHEN t.window_end <= $2 OR t.locked_until > 0"
		"  THEN $2 ELSE t.window_start END,"
		" window_end = CASE WHEN t.locked_until > $2 THEN t.window_end"
		"  WHEN t.window_end <= $2 OR t.locked_until > 0 THEN $2 + $3"
		"  ELSE t.window_end END,"
		" locked_until = CASE WHEN t.locked_until > $2 THEN"
		"  t.locked_until WHEN $4 > 0 AND (CASE WHEN t.window_end <= $2"
		"  OR t.locked_until > 0 THEN 1 ELSE t.hits + 1 END) >= $4"
		"  THEN $2 + $5 ELSE 0 END"
		" RETURNING " THR_COLS,
		"tiiii", "throttle_hit"),
	[Q_THR_PEEK] = R("SELECT " THR_COLS " FROM throttles WHERE tkey = $1"
			 " AND (window_end > $2 OR locked_until > $2)",
			 "ti", "throttle_peek"),
	/* a hit in flight is waited for, then its row is read anew */
	[Q_THR_PEEK_SHARE] = W("SELECT " THR_COLS " FROM throttles WHERE tkey ="
			       " $1 AND (window_end > $2 OR locked_until > $2)"
			       " FOR SHARE",
			       "ti", "throttle_peek_share"),
	[Q_THR_PEEK_PAIR] = R("SELECT " THR_COLS " FROM throttles WHERE tkey IN"
			      " ($1, $2) AND (window_end > $3 OR locked_until > $3)",
			      "tti", "throttle_peek_pair"),
	[Q_THR_DEL] = W("DELETE FROM throttles WHERE tkey = $1", "t",
			"throttle_clear"),
	[Q_THR_UNDO] = W("UPDATE throttles SET hits = hits - 1 WHERE tkey = $1"
			 " AND hits > 0 AND window_end > $2",
			 "ti", "throttle_undo"),
	/* several processes sweep at once without waiting for one another */
	[Q_SWEEP_OTPS] = W("DELETE FROM otps WHERE id IN (SELECT id FROM otps"
			   " WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP"
			   " LOCKED)",
			   "ii", "sweep"),
	[Q_SWEEP_TOKENS] = W("DELETE FROM tokens WHERE hash IN (SELECT hash"
			     " FROM tokens WHERE expires_at <= $1 LIMIT $2 FOR"
			     " UPDATE SKIP LOCKED)",
			     "ii", "sweep"),
	[Q_SWEEP_SESSIONS] = W("DELETE FROM sessions WHERE hash IN (SELECT hash"
			       " FROM sessions WHERE expires_at <= $1 OR"
			       " last_seen <= $3 LIMIT $2 FOR UPDATE SKIP"
			       " LOCKED)",
			       "iii", "sweep"),
	[Q_SWEEP_THROTTLES] = W("DELETE FROM throttles WHERE tkey IN (SELECT"
				" tkey FROM throttles WHERE window_end <= $1"
				" AND locked_until <= $1 LIMIT $2 FOR UPDATE"
				" SKIP LOCKED)",
				"ii", "sweep"),
	[Q_TOKEN_INSERT] = W("INSERT INTO tokens (" TOKEN_COLS ") VALUES ($1,"
			     " $2, $3, $4, $5, $6, 0) ON CONFLICT DO NOTHING"
			     " RETURNING 1",
			     "btttii", "token_insert"),
	[Q_TOKEN_CONSUME] = W("UPDATE tokens SET used_at = $3 WHERE hash = $1"
			      " AND kind = $2 AND used_at = 0 AND expires_at >"
			      " $4 RETURNING " TOKEN_COLS,
			      "btii", "token_consume"),
	[Q_TOKEN_GET] = R("SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1 AND"
			  " kind = $2 AND used_at = 0 AND expires_at > $3",
			  "bti", "token_get"),
	[Q_TOKEN_STATE] = R("SELECT expires_at, used_at FROM tokens WHERE hash"
			    " = $1 AND kind = $2",
			    "bt", "token_consume"),
	[Q_SES_INSERT] = W("INSERT INTO sessions (" SES_COLS ") SELECT $1, $2,"
			   " $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1"
			   " FROM users WHERE id = $2) ON CONFLICT DO NOTHING"
			   " RETURNING 1",
			   "btbiiiiit", "session_insert"),
	/* the session, then the user's row. Sent with the COMMIT inside a
	 * transaction (pgs_exec_later): every refusal is an error the server
	 * raises, a known hash (23505) or an unknown user (the foreign key,
	 * 23503), so that the COMMIT does not go through without it */
	[Q_SES_LOGIN] = W("WITH ins AS (INSERT INTO sessions (" SES_COLS ")"
			  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING"
			  " user_id) UPDATE users SET last_login_at = $4 FROM ins"
			  " WHERE users.id = ins.user_id",
			  "btbiiiiit", "session_login"),
	[Q_SES_GET] = R("SELECT " SES_COLS " FROM sessions WHERE hash = $1",
			"b", "session_get"),
	[Q_SES_TOUCH] = W("UPDATE sessions SET last_seen = $2 WHERE hash = $1",
			  "bi", "session_touch"),
	[Q_SES_REVOKE] = W("UPDATE sessions SET revoked = 1 WHERE hash = $1",
			   "b", "session_revoke"),
	[Q_SES_REVOKE_USER] = W("UPDATE sessions SET revoked = 1 WHERE user_id"
				" = $1 AND revoked = 0",
				"t", "session_revoke_user"),
	[Q_REQ_INSERT] = W("INSERT INTO requests (" REQ_COLS ") VALUES ($1, $2,"
			   " $3, $4, $5, $6, $7, $8, $9, 'pending', '', '', '',"
			   " $10, 0) ON CONFLICT DO NOTHING RETURNING 1",
			   "ttttttttti", "request_insert"),
	[Q_REQ_PENDING_BY_NAME] = R("SELECT " REQ_COLS " FROM requests WHERE"
				    " kind = $1 AND lower(name) = "
				    LOWER("$2") " AND status = 'pending'",
				    "tt", "request_insert"),
	[Q_REQ_GET] = R("SELECT " REQ_COLS " FROM requests WHERE id = $1", "t",
			"request_get"),
	[Q_REQ_DECIDE] = W("UPDATE requests SET status = $2, name = CASE WHEN"
			   " $3 = '' THEN name ELSE $3 END, reason = $4,"
			   " created_id = $5, decided_by = $6, decided_at = $7"
			   " WHERE id = $1 AND status = 'pending'",
			   "tttttti", "request_decide"),
	[Q_REQ_EXISTS] = R("SELECT 1 FROM requests WHERE id = $1", "t",
			   "request"),
	[Q_REQ_LIST] = R(PAGE(REQ_COLS, "requests", REQ_WHERE, "created_at, seq",
			      "LIMIT $3 OFFSET $4"),
			 "ttii", "request_list"),
	[Q_UP_INSERT] = W("INSERT INTO uploads (" UP_COLS ") SELECT $1, $2, $3,"
			  " $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
			  " $15, $16, $17, 0 WHERE EXISTS (SELECT 1 FROM orgs"
			  " WHERE id = $2) ON CONFLICT DO NOTHING RETURNING 1",
			  "tttttttiiiittiiit", "upload_insert"),
	[Q_UP_GET] = R("SELECT " UP_COLS " FROM uploads WHERE id = $1", "t",
		       "upload_get"),
	[Q_UP_LIST] = R(PAGE(UP_COLS, "uploads", " WHERE org_id = $1",
			     "created_at DESC, seq DESC", "LIMIT $2 OFFSET $3"),
			"tii", "upload_list"),
	/* the pick and the take in one statement; a row another worker is
	 * taking is skipped, not waited for */
	[Q_UP_CLAIM] = W("UPDATE uploads SET status = 'IN_PROGRESS', claimed_by"
			 " = $1, lease_until = $3, updated_at = $2 WHERE id ="
			 " (SELECT id FROM uploads WHERE status = 'QUEUED' OR"
			 " (status = 'IN_PROGRESS' AND lease_until <= $2)"
			 " ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP"
			 " LOCKED) RETURNING " UP_COLS,
			 "tii", "upload_claim"),
	[Q_UP_PROGRESS] = W("UPDATE uploads SET total_records = $3,"
			    " success_records = $4, failed_records = $5,"
			    " cursor_pos = $6, lease_until = $7, updated_at ="
			    " $8 WHERE id = $1 AND status = 'IN_PROGRESS' AND"
			    " claimed_by = $2",
			    "ttiiiiii", "upload_progress"),
	[Q_UP_EXISTS] = R("SELECT 1 FROM uploads WHERE id = $1", "t", "upload"),
	[Q_UP_FINISH] = W("UPDATE uploads SET status = $2, error = $3,"
			  " claimed_by = '', lease_until = 0, updated_at = $4"
			  " WHERE id = $1 AND ($5 = '' OR claimed_by = $5)",
			  "tttit", "upload_finish"),
	[Q_UP_FAIL_ADD] = W("INSERT INTO upload_failures (upload_id, row_no,"
			    " errors) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1"
			    " FROM uploads WHERE id = $1) ON CONFLICT DO"
			    " NOTHING RETURNING 1",
			    "tit", "upload_failure_add"),
	[Q_UP_FAIL_BATCH] = R("SELECT row_no, errors FROM upload_failures"
			      " WHERE upload_id = $1 AND row_no > $2 ORDER BY"
			      " row_no LIMIT " XSTR(BATCH),
			      "ti", "upload_failure_each"),
	[Q_UP_COUNTS] = R("SELECT status, count(*) FROM uploads GROUP BY status",
			  "", "upload_status_counts"),
	[Q_OUT_INSERT] = W("INSERT INTO outbox (channel, to_addr,"
			   " template_name, lang, params, status, attempts,"
			   " next_at, created_at) VALUES ($1, $2, $3, $4, $5,"
			   " 'queued', $6, $7, $8) RETURNING id",
			   "tttttiii", "outbox_insert"),
	[Q_OUT_CLAIM] = W("UPDATE outbox SET claimed_by = $1, lease_until = $3"
			  " WHERE id = (SELECT id FROM outbox WHERE status ="
			  " 'queued' AND next_at <= $2 AND lease_until <= $2"
			  " ORDER BY next_at, id LIMIT 1 FOR UPDATE SKIP"
			  " LOCKED) RETURNING " OUT_COLS,
			  "tii", "outbox_claim"),
	/* a delivered or abandoned message keeps no parameters: they held
	 * codes and links */
	[Q_OUT_SENT] = W("UPDATE outbox SET status = 'sent', sent_at = $2,"
			 " params = '{}', claimed_by = '', lease_until = 0"
			 " WHERE id = $1",
			 "ii", "outbox_sent"),
	[Q_OUT_RETRY] = W("UPDATE outbox SET status = 'queued', attempts = $2,"
			  " next_at = $3, last_error = $4, claimed_by = '',"
			  " lease_until = 0 WHERE id = $1",
			  "iiit", "outbox_retry"),
	[Q_OUT_FAIL] = W("UPDATE outbox SET status = 'failed', attempts = $2,"
			 " last_error = $3, params = '{}', claimed_by = '',"
			 " lease_until = 0 WHERE id = $1",
			 "iit", "outbox_fail"),
	[Q_OUT_STATS] = R("SELECT (SELECT count(*) FROM outbox WHERE status ="
			  " 'queued') + (SELECT coalesce(sum(greatest("
			  "u.success_records - c.handled, 0)), 0) FROM campaigns c"
			  " JOIN uploads u ON u.id = c.upload_id WHERE c.status ="
			  " 'active'), (SELECT count(*) FROM outbox WHERE"
			  " status = 'failed')",
			  "", "outbox_stats"),
	[Q_AUDIT_ADD] = W("INSERT INTO audit (actor_id, action_name, target,"
			  " client_ip, detail, at) VALUES ($1, $2, $3, $4, $5,"
			  " $6) RETURNING id",
			  "ttttti", "audit_add"),
	[Q_AUDIT_LIST] = R(PAGE(AUDIT_COLS, "audit", AUDIT_WHERE, "id DESC",
				"LIMIT $5 OFFSET $6"),
			   "ttiiii", "audit_list"),
	/* the position must exist: a refused foreign key would abort the
	 * caller's transaction */
	[Q_USER_SET_NAMES] = W("UPDATE users SET first_name = $2, last_name = $3,"
			       " position_id = $4, updated_at = $5 WHERE id = $1"
			       " AND" USER_LIVE " AND ($4 IS NULL OR EXISTS"
			       " (SELECT 1 FROM positions WHERE id = $4))",
			       "tttti", "user_set_names"),
	[Q_USER_SET_MOBILE] = W("SELECT pravesh_user_set_mobile($1, $2, $3)",
				"tti", "user_set_mobile"),
	[Q_USER_SET_EMAIL] = W("SELECT pravesh_user_set_email($1, $2, $3, $4,"
			       " $5)",
			       "ttiii", "user_set_email"),
	[Q_USER_CLOSE] = W("UPDATE users SET status = 'closed', erase_after ="
			   " $2, updated_at = $3 WHERE id = $1 AND" USER_LIVE,
			   "tii", "user_close"),
	[Q_USER_ERASE_DUE] = R("SELECT id FROM users WHERE status = 'closed' AND"
			       " erase_after <= $1 ORDER BY erase_after, id"
			       " LIMIT $2",
			       "ii", "user_erase_due"),
	/* One statement, so one snapshot and all or nothing: the user (locked)
	 * and what names its addresses first, then the row itself. The
	 * data-modifying parts run whether or not they are read, each on
	 * tables of its own; the last column tells why nothing was erased
	 * (the status as it was). */
	[Q_USER_ERASE] = W(
		"WITH u AS (SELECT id, email, mobile, updated_at FROM users"
		" WHERE id = $1 AND status = 'closed' FOR UPDATE),"
		" rq AS (UPDATE requests SET full_name = '', email = '', mobile ="
		" '' WHERE created_at <= (SELECT updated_at FROM u) AND"
		" ((lower(email) = (SELECT lower(email) FROM u) AND (SELECT email"
		" FROM u) <> '') OR (mobile = (SELECT mobile FROM u) AND (SELECT"
		" mobile FROM u) <> '')) RETURNING 1),"
		" ob AS (DELETE FROM outbox WHERE created_at <= (SELECT updated_at"
		" FROM u) AND ((lower(to_addr) = (SELECT lower(email) FROM u) AND"
		" (SELECT email FROM u) <> '') OR (to_addr = (SELECT mobile FROM"
		" u) AND (SELECT mobile FROM u) <> '')) RETURNING 1),"
		" ro AS (DELETE FROM roles WHERE user_id IN (SELECT id FROM u)"
		" RETURNING 1),"
		" cr AS (DELETE FROM credentials WHERE user_id IN (SELECT id FROM"
		" u) RETURNING 1),"
		" se AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM u)"
		" RETURNING 1),"
		" tk AS (DELETE FROM tokens WHERE subject IN (SELECT id FROM u)"
		" RETURNING 1),"
		" co AS (UPDATE consents SET client_ip = '' WHERE user_id IN"
		" (SELECT id FROM u) RETURNING 1),"
		/* one update per row: two parts of a statement must not change
		 * the same row (a row the user acted in about itself) */
		" au AS (UPDATE audit SET client_ip = CASE WHEN actor_id IN"
		" (SELECT id FROM u) THEN '' ELSE client_ip END, detail = CASE"
		" WHEN target IN (SELECT id FROM u) THEN '{}' ELSE detail END"
		" WHERE actor_id IN (SELECT id FROM u) OR target IN (SELECT id"
		" FROM u) RETURNING 1),"
		" uu AS (UPDATE users SET first_name = '', last_name = '', email ="
		" '', mobile = '', official_email = 0, email_verified = 0,"
		" position_id = NULL, status = 'erased', updated_at = $2 WHERE id"
		" IN (SELECT id FROM u) RETURNING 1)"
		" SELECT (SELECT count(*) FROM uu), (SELECT status FROM users"
		" WHERE id = $1)",
		"ti", "user_erase"),
	[Q_OTP_FORGET] = W("DELETE FROM otps WHERE subject = $1 AND created_at"
			   " <= $2",
			   "ti", "otp_forget"),
	[Q_OUT_FORGET] = W("DELETE FROM outbox WHERE lower(to_addr) = "
			   LOWER("$1") " AND created_at <= $2",
			   "ti", "outbox_forget"),
	[Q_CONSENT_LIST] = R("SELECT user_id, kind, version, client_ip, at FROM"
			     " consents WHERE user_id = $1 ORDER BY at, id"
			     " LIMIT $2",
			     "ti", "consent_list"),
	[Q_SES_LIST] = R("SELECT " SES_COLS " FROM sessions WHERE user_id = $1"
			 " ORDER BY created_at DESC, hash LIMIT $2",
			 "ti", "session_list"),
	[Q_REQ_CONTACT] = R("SELECT " REQ_COLS " FROM requests WHERE ($1 <> ''"
			    " AND lower(email) = " LOWER("$1") ") OR ($2 <> ''"
			    " AND mobile = $2) ORDER BY created_at, seq LIMIT $3",
			    "tti", "request_list_contact"),
	[Q_AUDIT_USER_BATCH] = R("SELECT " AUDIT_COLS " FROM audit WHERE"
				 " (actor_id = $1 OR target = $1) AND id > $2"
				 " ORDER BY id LIMIT " XSTR(BATCH),
				 "ti", "audit_each_user"),
	[Q_TOKEN_LIST] = R("SELECT " TOKEN_COLS " FROM tokens WHERE subject ="
			   " $1 AND kind = $2 ORDER BY created_at DESC, hash"
			   " LIMIT $3",
			   "tti", "token_list"),
	[Q_UP_EXPIRED] = R("SELECT " UP_COLS " FROM uploads WHERE"
			   " files_removed_at = 0 AND status IN ('SUCCESSFUL',"
			   " 'FAILED') AND updated_at < $1 ORDER BY updated_at,"
			   " seq LIMIT $2",
			   "ii", "upload_expired"),
	[Q_UP_FILES_REMOVED] = W("UPDATE uploads SET files_removed_at = $2"
				 " WHERE id = $1 AND files_removed_at = 0",
				 "ti", "upload_files_removed"),
	/* several processes purge at once without waiting for one another */
	[Q_OUT_PURGE] = W("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
			  " WHERE status IN ('sent', 'failed') AND next_at < $1"
			  " LIMIT $2 FOR UPDATE SKIP LOCKED)",
			  "ii", "outbox_purge"),
	[Q_AUDIT_PURGE] = W("DELETE FROM audit WHERE id IN (SELECT id FROM audit"
			    " WHERE at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
			    "ii", "audit_purge"),

	/* user_insert_batch, on the staging table pv_batch (see there) */
	[Q_BATCH_REFS] = W("SELECT 1 FROM pv_batch b WHERE NOT EXISTS (SELECT 1"
			   " FROM orgs o WHERE o.id = b.org_id) OR (b.position_id"
			   " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM positions p"
			   " WHERE p.id = b.position_id)) LIMIT 1",
			   "", "user_insert_batch"),
	[Q_BATCH_DISTINCT] = W("SELECT count(DISTINCT id) = count(*) AND"
			       " count(DISTINCT lower(email)) = count(*) AND"
			       " count(DISTINCT mobile) = count(*) FROM pv_batch",
			       "", "user_insert_batch"),
	/* The users list of the inserted users, set-wise (migration 6: the
	 * row triggers do not fire while pravesh.batch is 'on'): each
	 * organisation's rows numbered in call order after user_orgs.last_seq
	 * (locked by batch_list_lock), last_seq moved to the highest number
	 * taken, user_counts added to per status; the ids inserted come back.
	 *
	 * Rows whose keys no live user holds; a row committed meanwhile by
	 * another transaction makes the statement fail (23505), the call answer
	 * PV_EBUSY, and the transaction, run again, see it. OFFSET 0 keeps
	 * each test a probe of its index: without it, knowing nothing of the
	 * staging table, the planner hashed the whole users table per chunk. */
	[Q_BATCH_INSERT_NEW] = W("WITH b AS (SELECT *, " BATCH_NUM " FROM pv_batch b"
				 " WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id"
				 " = b.id OFFSET 0) AND NOT EXISTS (SELECT 1 FROM users"
				 " u WHERE lower(u.email) = lower(b.email) AND"
				 USER_LIVE_U " OFFSET 0) AND NOT EXISTS (SELECT 1 FROM"
				 " users u WHERE u.mobile = b.mobile AND" USER_LIVE_U
				 " OFFSET 0)), " BATCH_INS(""),
				 "", "user_insert_batch"),
	/* when rows of the call share a key: row by row, in order (a row
	 * refused leaves its number unused, a gap the list steps over) */
	[Q_BATCH_INSERT] = W("WITH b AS (SELECT *, " BATCH_NUM " FROM pv_batch), "
			     BATCH_INS(" ON CONFLICT DO NOTHING"),
			     "", "user_insert_batch"),
	/* the keys of refused rows ($1: their n) held by a live user other
	 * than a later row of the batch (those came after them) */
	[Q_BATCH_WHY] = W("SELECT b.n, EXISTS (SELECT 1 FROM users u WHERE"
			  " lower(u.email) = lower(b.email) AND" USER_LIVE_U " AND"
			  " NOT EXISTS (SELECT 1 FROM pv_batch l WHERE l.n > b.n"
			  " AND l.id = u.id) OFFSET 0), EXISTS (SELECT 1 FROM users"
			  " u WHERE u.mobile = b.mobile AND" USER_LIVE_U " AND NOT"
			  " EXISTS (SELECT 1 FROM pv_batch l WHERE l.n > b.n AND"
			  " l.id = u.id) OFFSET 0)"
			  " FROM pv_batch b WHERE b.n = ANY ($1::bigint[]) ORDER"
			  " BY b.n",
			  "t", "user_insert_batch"),
	[Q_CAMP_INSERT] = W("INSERT INTO campaigns (upload_id, channel,"
			    " template_name, lang, params, status, next_at,"
			    " created_at) SELECT $1, $2, $3, $4, $5, 'active', $6,"
			    " $7 WHERE EXISTS (SELECT 1 FROM uploads WHERE id = $1)"
			    " ON CONFLICT DO NOTHING RETURNING id",
			    "tttttii", "campaign_insert"),
	[Q_CAMP_CLAIM] = W("UPDATE campaigns SET claimed_by = $1, lease_until ="
			   " $3 WHERE id = (SELECT id FROM campaigns WHERE status"
			   " = 'active' AND next_at <= $2 AND lease_until <= $2"
			   " ORDER BY next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
			   " RETURNING " CAMP_COLS,
			   "tii", "campaign_claim"),
	/* $1, $2: the ids of the upload's first and last possible rows after
	 * the cursor (store_upload_user_id; bytewise order, "C") */
	[Q_CAMP_USERS] = R("SELECT " USER_COLS " FROM users WHERE id >= $1 AND"
			   " id <= $2 ORDER BY id LIMIT $3",
			   "tti", "campaign_users"),
	[Q_CAMP_ADVANCE] = W("UPDATE campaigns SET cursor_row = $3, handled ="
			     " handled + 1, lease_until = $4 WHERE id = $1 AND"
			     " claimed_by = $2 AND status = 'active' AND"
			     " cursor_row < $3",
			     "itii", "campaign_advance"),
	[Q_CAMP_RELEASE] = W("UPDATE campaigns SET claimed_by = '', lease_until"
			     " = 0, next_at = $3 WHERE id = $1 AND claimed_by ="
			     " $2 AND status = 'active'",
			     "iti", "campaign_release"),
	[Q_CAMP_STATE] = R("SELECT c.claimed_by, c.status, c.cursor_row,"
			   " u.created_at, u.id FROM campaigns c JOIN uploads u ON"
			   " u.id = c.upload_id WHERE c.id = $1",
			   "i", "campaign_finish"),
	/* One statement (one snapshot) decides "the upload has finished and
	 * nobody is left after the cursor" ($5, $6: the id range after it):
	 * the upload's last chunk commits its users and its final status
	 * together. */
	[Q_CAMP_FINISH] = W("UPDATE campaigns SET status = 'done', finished_at"
			    " = $3, claimed_by = '', lease_until = 0 WHERE id ="
			    " $1 AND claimed_by = $2 AND status = 'active' AND"
			    " cursor_row = $4 AND EXISTS (SELECT 1 FROM uploads"
			    " WHERE uploads.id = campaigns.upload_id AND"
			    " uploads.status IN ('SUCCESSFUL', 'FAILED')) AND NOT"
			    " EXISTS (SELECT 1 FROM users WHERE id >= $5 AND id <="
			    " $6)",
			    "itiitt", "campaign_finish"),
	[Q_CAMP_EXISTS] = R("SELECT 1 FROM campaigns WHERE id = $1", "i",
			    "campaign_exists"),
};

/* ---- helpers -------------------------------------------------------------- */

#define NOCAP ((size_t)-1)
#define P_FIELD(a, field) pgs_p_text((a), (field), sizeof(field))

/* Runs statement q with a's parameters on the calling thread's connection;
 * *cp (may be NULL) gets the connection, for a second statement. */
static int run(store *s, int q, const struct pgs_args *a, PGresult **res,
	       struct pgs_conn **cp)
{
	struct pgs_conn *c;
	int err = pgs_enter(s, &c);

	*res = NULL;
	if (cp)
		*cp = c;
	if (err)
		return err;
	return pgs_exec(c, q, &Q[q], a, 0, res);
}

/* Runs statement q on c (a second statement of an operation). */
static int run_on(struct pgs_conn *c, int q, const struct pgs_args *a,
		  PGresult **res)
{
	return pgs_exec(c, q, &Q[q], a, 0, res);
}

static int64_t changed(const PGresult *r)
{
	return strtoll(PQcmdTuples((PGresult *)r), NULL, 10);
}

static void c_text(const PGresult *r, int row, int col, char *dst, size_t cap)
{
	util_strncpy0(dst, cap, PQgetvalue(r, row, col),
		      (size_t)PQgetlength(r, row, col));
}

static int64_t c_int(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A bytea of exactly n bytes in text format ("\x" and hex digits); zeros
 * when it is not one. */
static void c_bytes(const PGresult *r, int row, int col, unsigned char *dst,
		    size_t n)
{
	const char *p = PQgetvalue(r, row, col);

	memset(dst, 0, n);
	if ((size_t)PQgetlength(r, row, col) != 2 + 2 * n || p[0] != '\\' ||
	    p[1] != 'x')
		return;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(p[2 + 2 * i]), lo = hexval(p[3 + 2 * i]);

		if (hi < 0 || lo < 0) {
			memset(dst, 0, n);
			return;
		}
		dst[i] = (unsigned char)(hi << 4 | lo);
	}
}

#define C_TEXT(r, row, col, field) c_text((r), (row), (col), (field), sizeof(field))

static int valid_page(store_page pg)
{
	return pg.page >= 1 && pg.per_page >= 1 && pg.per_page <= 100 &&
	       pg.page <= INT64_MAX / 100;
}

static int64_t add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

typedef void (*row_reader)(const PGresult *r, int row, int col, void *out);

/* A lookup by one text key through statement q. */
static int get_by_text(store *s, int q, const char *key, row_reader rd,
		       void *out)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!key)
		return PV_EINVAL;
	pgs_p_text(&a, key, NOCAP);
	err = run(s, q, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err && out)
		rd(r, 0, 0, out);
	PQclear(r);
	return err;
}

/* A single number from statement q (with one optional text key). */
static int get_number(store *s, int q, const char *key, int64_t *out)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (key)
		pgs_p_text(&a, key, NOCAP);
	err = run(s, q, &a, &r, NULL);
	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE; /* a count always has a row */
	if (!err)
		*out = c_int(r, 0, 0);
	PQclear(r);
	return err;
}

/* Does a row with this text id exist (statement q: SELECT 1 ... $1)?
 * PV_OK or PV_ENOTFOUND. */
static int exists_text(struct pgs_conn *c, int q, const char *id)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	pgs_p_text(&a, id, NOCAP);
	err = run_on(c, q, &a, &r);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	PQclear(r);
	return err;
}

/* Runs a change (statement q); PV_ENOTFOUND when it changed no row. */
static int run_change(store *s, int q, const struct pgs_args *a,
		      struct pgs_conn **cp)
{
	PGresult *r;
	int err = run(s, q, a, &r, cp);

	if (!err && changed(r) == 0)
		err = PV_ENOTFOUND;
	PQclear(r);
	return err;
}

/* ---- row readers ---------------------------------------------------------- */

static void rd_org(const PGresult *r, int i, int k, void *p)
{
	store_org *o = p;

	memset(o, 0, sizeof *o);
	C_TEXT(r, i, k + 0, o->id);
	C_TEXT(r, i, k + 1, o->name);
	C_TEXT(r, i, k + 2, o->sector);
	C_TEXT(r, i, k + 3, o->type);
	C_TEXT(r, i, k + 4, o->parent_id);
	o->active = (int)c_int(r, i, k + 5);
	o->created_at = c_int(r, i, k + 6);
	o->updated_at = c_int(r, i, k + 7);
}

static void rd_pos(const PGresult *r, int i, int k, void *p)
{
	store_position *o = p;

	memset(o, 0, sizeof *o);
	C_TEXT(r, i, k + 0, o->id);
	C_TEXT(r, i, k + 1, o->name);
	o->active = (int)c_int(r, i, k + 2);
	o->created_at = c_int(r, i, k + 3);
}

static void rd_user(const PGresult *r, int i, int k, void *p)
{
	store_user *u = p;

	memset(u, 0, sizeof *u);
	C_TEXT(r, i, k + 0, u->id);
	C_TEXT(r, i, k + 1, u->first_name);
	C_TEXT(r, i, k + 2, u->last_name);
	C_TEXT(r, i, k + 3, u->email);
	u->official_email = (int)c_int(r, i, k + 4);
	C_TEXT(r, i, k + 5, u->mobile);
	C_TEXT(r, i, k + 6, u->org_id);
	C_TEXT(r, i, k + 7, u->position_id); /* NULL reads as "" */
	C_TEXT(r, i, k + 8, u->status);
	C_TEXT(r, i, k + 9, u->source);
	u->created_at = c_int(r, i, k + 10);
	u->updated_at = c_int(r, i, k + 11);
	u->email_verified = (int)c_int(r, i, k + 12);
	C_TEXT(r, i, k + 13, u->upload_id);
	u->last_login_at = c_int(r, i, k + 14);
	u->erase_after = c_int(r, i, k + 15);
}

static void rd_admin(const PGresult *r, int i, int k, void *p)
{
	store_admin *a = p;

	rd_user(r, i, k, &a->user);
	memset(&a->role, 0, sizeof a->role);
	C_TEXT(r, i, k + USER_NCOLS, a->role.role);
	C_TEXT(r, i, k + USER_NCOLS + 1, a->role.org_id);
	C_TEXT(r, i, k + USER_NCOLS + 2, a->username);
}

static void rd_cred(const PGresult *r, int i, int k, void *p)
{
	store_cred *o = p;

	memset(o, 0, sizeof *o);
	C_TEXT(r, i, k + 0, o->user_id);
	C_TEXT(r, i, k + 1, o->username);
	C_TEXT(r, i, k + 2, o->pwhash);
}

static void rd_otp(const PGresult *r, int i, int k, void *p)
{
	store_otp *o = p;

	memset(o, 0, sizeof *o);
	o->id = c_int(r, i, k + 0);
	C_TEXT(r, i, k + 1, o->subject);
	C_TEXT(r, i, k + 2, o->purpose);
	c_bytes(r, i, k + 3, o->code_mac, sizeof o->code_mac);
	o->created_at = c_int(r, i, k + 4);
	o->expires_at = c_int(r, i, k + 5);
	o->attempts = (int)c_int(r, i, k + 6);
	o->state = (int)c_int(r, i, k + 7);
}

static void rd_throttle(const PGresult *r, int i, int k, void *p)
{
	store_throttle *t = p;

	memset(t, 0, sizeof *t);
	C_TEXT(r, i, k + 0, t->key);
	t->count = c_int(r, i, k + 1);
	t->window_start = c_int(r, i, k + 2);
	t->window_end = c_int(r, i, k + 3);
	t->locked_until = c_int(r, i, k + 4);
}

static void rd_token(const PGresult *r, int i, int k, void *p)
{
	store_token *t = p;

	memset(t, 0, sizeof *t);
	c_bytes(r, i, k + 0, t->hash, sizeof t->hash);
	C_TEXT(r, i, k + 1, t->kind);
	C_TEXT(r, i, k + 2, t->subject);
	C_TEXT(r, i, k + 3, t->extra);
	t->created_at = c_int(r, i, k + 4);
	t->expires_at = c_int(r, i, k + 5);
	t->used_at = c_int(r, i, k + 6);
}

static void rd_session(const PGresult *r, int i, int k, void *p)
{
	store_session *se = p;

	memset(se, 0, sizeof *se);
	c_bytes(r, i, k + 0, se->hash, sizeof se->hash);
	C_TEXT(r, i, k + 1, se->user_id);
	c_bytes(r, i, k + 2, se->csrf_hash, sizeof se->csrf_hash);
	se->created_at = c_int(r, i, k + 3);
	se->last_seen = c_int(r, i, k + 4);
	se->expires_at = c_int(r, i, k + 5);
	se->revoked = (int)c_int(r, i, k + 6);
	se->elevated = (int)c_int(r, i, k + 7);
	C_TEXT(r, i, k + 8, se->client_ip);
}

static void rd_request(const PGresult *r, int i, int k, void *p)
{
	store_request *q = p;

	memset(q, 0, sizeof *q);
	C_TEXT(r, i, k + 0, q->id);
	C_TEXT(r, i, k + 1, q->kind);
	C_TEXT(r, i, k + 2, q->full_name);
	C_TEXT(r, i, k + 3, q->email);
	C_TEXT(r, i, k + 4, q->mobile);
	C_TEXT(r, i, k + 5, q->name);
	C_TEXT(r, i, k + 6, q->details);
	C_TEXT(r, i, k + 7, q->sector);
	C_TEXT(r, i, k + 8, q->parent_id);
	C_TEXT(r, i, k + 9, q->status);
	C_TEXT(r, i, k + 10, q->reason);
	C_TEXT(r, i, k + 11, q->created_id);
	C_TEXT(r, i, k + 12, q->decided_by);
	q->created_at = c_int(r, i, k + 13);
	q->decided_at = c_int(r, i, k + 14);
}

static void rd_upload(const PGresult *r, int i, int k, void *p)
{
	store_upload *u = p;

	memset(u, 0, sizeof *u);
	C_TEXT(r, i, k + 0, u->id);
	C_TEXT(r, i, k + 1, u->org_id);
	C_TEXT(r, i, k + 2, u->uploader_id);
	C_TEXT(r, i, k + 3, u->file_name);
	C_TEXT(r, i, k + 4, u->stored_path);
	C_TEXT(r, i, k + 5, u->format);
	C_TEXT(r, i, k + 6, u->status);
	u->total_records = c_int(r, i, k + 7);
	u->success_records = c_int(r, i, k + 8);
	u->failed_records = c_int(r, i, k + 9);
	u->cursor = c_int(r, i, k + 10);
	C_TEXT(r, i, k + 11, u->error);
	C_TEXT(r, i, k + 12, u->claimed_by);
	u->lease_until = c_int(r, i, k + 13);
	u->created_at = c_int(r, i, k + 14);
	u->updated_at = c_int(r, i, k + 15);
	C_TEXT(r, i, k + 16, u->original_name);
	u->files_removed_at = c_int(r, i, k + 17);
}

static void rd_outbox(const PGresult *r, int i, int k, void *p)
{
	store_outbox *m = p;

	memset(m, 0, sizeof *m);
	m->id = c_int(r, i, k + 0);
	C_TEXT(r, i, k + 1, m->channel);
	C_TEXT(r, i, k + 2, m->to_addr);
	C_TEXT(r, i, k + 3, m->template_name);
	C_TEXT(r, i, k + 4, m->lang);
	C_TEXT(r, i, k + 5, m->params);
	C_TEXT(r, i, k + 6, m->status);
	m->attempts = (int)c_int(r, i, k + 7);
	m->next_at = c_int(r, i, k + 8);
	C_TEXT(r, i, k + 9, m->last_error);
	C_TEXT(r, i, k + 10, m->claimed_by);
	m->lease_until = c_int(r, i, k + 11);
	m->created_at = c_int(r, i, k + 12);
	m->sent_at = c_int(r, i, k + 13);
}

static void rd_audit(const PGresult *r, int i, int k, void *p)
{
	store_audit *a = p;

	memset(a, 0, sizeof *a);
	a->id = c_int(r, i, k + 0);
	C_TEXT(r, i, k + 1, a->actor_id);
	C_TEXT(r, i, k + 2, a->action);
	C_TEXT(r, i, k + 3, a->target);
	C_TEXT(r, i, k + 4, a->client_ip);
	C_TEXT(r, i, k + 5, a->detail);
	a->at = c_int(r, i, k + 6);
}

/* ---- paged lists ------------------------------------------------------------ */

/* Runs a PAGE() statement q whose parameters a end with the page's limit
 * and offset (added here): *total from column 0, the rows from column 1 on.
 * *items is malloc'd (caller frees), NULL when *n is 0. */
static int list_page(store *s, int q, struct pgs_args *a, store_page pg,
		     size_t size, row_reader rd, void **items, size_t *n,
		     int64_t *total)
{
	PGresult *r;
	char *arr = NULL;
	int err, rows;

	*items = NULL;
	*n = 0;
	*total = 0;
	if (!valid_page(pg))
		return PV_EINVAL;
	pgs_p_int(a, pg.per_page);
	pgs_p_int(a, (pg.page - 1) * pg.per_page);
	err = run(s, q, a, &r, NULL);
	if (err)
		return err;
	rows = PQntuples(r);
	if (rows < 1) {
		err = PV_ESTORE;
		goto out;
	}
	*total = c_int(r, 0, 0);
	if (PQgetisnull(r, 0, 1))
		goto out; /* past the end: an empty page */
	if (rows > pg.per_page)
		rows = (int)pg.per_page;
	arr = calloc((size_t)rows, size);
	if (!arr) {
		err = PV_ENOMEM;
		goto out;
	}
	for (int i = 0; i < rows; i++)
		rd(r, i, 1, arr + (size_t)i * size);
	*items = arr;
	*n = (size_t)rows;
out:
	PQclear(r);
	return err;
}

/* ---- directory ------------------------------------------------------------- */

static int pq_org_upsert(store *s, const store_org *o)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!o || !o->id[0] || !o->name[0])
		return PV_EINVAL;
	P_FIELD(&a, o->id);
	P_FIELD(&a, o->name);
	P_FIELD(&a, o->sector);
	P_FIELD(&a, o->type);
	P_FIELD(&a, o->parent_id);
	pgs_p_int(&a, o->active ? 1 : 0);
	pgs_p_int(&a, o->created_at);
	pgs_p_int(&a, o->updated_at ? o->updated_at : o->created_at);
	err = run(s, Q_ORG_UPSERT, &a, &r, NULL);
	PQclear(r);
	return err;
}

static int pq_org_get(store *s, const char *id, store_org *out)
{
	return get_by_text(s, Q_ORG_GET, id, rd_org, out);
}

static int pq_org_each(store *s, store_org_cb cb, void *ctx)
{
	char last[STORE_ID_MAX] = "";
	store_org o;
	int err = PV_OK, stop = 0, rows;

	if (!cb)
		return PV_EINVAL;
	do {
		struct pgs_args a = {0};
		PGresult *r;

		pgs_p_text(&a, last, sizeof last);
		err = run(s, Q_ORG_BATCH, &a, &r, NULL);
		if (err)
			return err;
		rows = PQntuples(r);
		for (int i = 0; i < rows && !stop; i++) {
			rd_org(r, i, 0, &o);
			util_strlcpy(last, o.id, sizeof last);
			stop = cb(ctx, &o);
		}
		PQclear(r);
	} while (!stop && rows == BATCH);
	return stop;
}

static int pq_org_children(store *s, const char *id, int64_t *count)
{
	if (!id || !count)
		return PV_EINVAL;
	return get_number(s, Q_ORG_CHILDREN, id, count);
}

static int pq_dir_version(store *s, int64_t *version)
{
	if (!version)
		return PV_EINVAL;
	return get_number(s, Q_DIR_VERSION, NULL, version);
}

/* Why org_update refused: unknown organisation or parent (PV_ENOTFOUND),
 * else the STORE_ORG_* reasons (PV_ECONFLICT). In the update's
 * transaction and under its lock, so it explains what the update saw. */
static int org_update_why(struct pgs_conn *c, const char *id,
			  const store_org_change *ch, int *conflict)
{
	struct pgs_args a = {0}, b = {0};
	PGresult *r;
	int err;

	if ((err = exists_text(c, Q_ORG_GET, id)))
		return err;
	if (ch->parent_id && ch->parent_id[0]) {
		if ((err = exists_text(c, Q_ORG_GET, ch->parent_id)))
			return err;
		pgs_p_text(&a, id, NOCAP);
		pgs_p_text(&a, ch->parent_id, NOCAP);
		if ((err = run_on(c, Q_ORG_IN_SUBTREE, &a, &r)))
			return err;
		if (PQntuples(r) > 0)
			*conflict |= STORE_ORG_CYCLE;
		PQclear(r);
	}
	if (ch->active == 0) {
		pgs_p_text(&b, id, NOCAP);
		if ((err = run_on(c, Q_ORG_ACTIVE_CHILD, &b, &r)))
			return err;
		if (PQntuples(r) > 0)
			*conflict |= STORE_ORG_CHILDREN;
		PQclear(r);
	} else if (ch->active == 1 || ch->parent_id) {
		pgs_p_text(&b, id, NOCAP);
		pgs_p_opt(&b, ch->parent_id, NOCAP);
		pgs_p_int(&b, ch->active == 1);
		if ((err = run_on(c, Q_ORG_PARENT_INACTIVE, &b, &r)))
			return err;
		if (PQntuples(r) > 0)
			*conflict |= STORE_ORG_PARENT_INACTIVE;
		PQclear(r);
	}
	return *conflict ? PV_ECONFLICT : PV_ESTORE;
}

/* The lock, the update and (when refused) the reasons, on c inside a
 * transaction. */
static int org_update_in_tx(struct pgs_conn *c, const char *id,
			    const store_org_change *ch, int64_t now,
			    store_org *out, int *conflict)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if ((err = run_on(c, Q_ORG_LOCK, NULL, &r)))
		return err;
	PQclear(r);
	pgs_p_text(&a, id, NOCAP);
	pgs_p_opt(&a, ch->name, NOCAP);
	pgs_p_opt(&a, ch->sector, NOCAP);
	pgs_p_opt(&a, ch->type, NOCAP);
	pgs_p_opt(&a, ch->parent_id, NOCAP);
	pgs_p_int(&a, ch->active);
	pgs_p_int(&a, now);
	if ((err = run_on(c, Q_ORG_UPDATE, &a, &r)))
		return err;
	if (PQntuples(r) == 1) {
		if (out)
			rd_org(r, 0, 0, out);
		PQclear(r);
		return PV_OK;
	}
	PQclear(r);
	return org_update_why(c, id, ch, conflict);
}

/* Under a transaction-scoped advisory lock that every org_update takes,
 * so that the checks and the change are one step for other updates (in
 * read committed, each statement after the lock sees what the updates
 * before it committed). Outside a caller's transaction, in one of its
 * own. */
static int pq_org_update(store *s, const char *id, const store_org_change *ch,
			 int64_t now, store_org *out, int *conflict)
{
	struct pgs_conn *c;
	int err, own, dummy = 0;

	if (!conflict)
		conflict = &dummy;
	*conflict = 0;
	if (!id || !ch || (ch->name && !ch->name[0]) || ch->active < -1 ||
	    ch->active > 1)
		return PV_EINVAL;
	if ((err = pgs_enter(s, &c)))
		return err;
	own = !c->in_tx;
	if (own && (err = pgs_tx_begin(s)))
		return err;
	err = org_update_in_tx(c, id, ch, now, out, conflict);
	if (!own)
		return err;
	if (err == PV_OK)
		return pgs_tx_commit(s);
	pgs_tx_rollback(s);
	return err;
}

static int pq_position_update(store *s, const char *id, const char *name,
			      int active, store_position *out)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!id || (name && !name[0]) || active < -1 || active > 1)
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_opt(&a, name, NOCAP);
	pgs_p_int(&a, active);
	err = run(s, Q_POS_UPDATE, &a, &r, &c);
	if (!err && PQntuples(r) == 1 && out)
		rd_pos(r, 0, 0, out);
	if (!err && PQntuples(r) == 0) {
		/* the name is another's, or the id is unknown */
		err = exists_text(c, Q_POS_GET, id);
		if (err == PV_OK)
			err = PV_ECONFLICT;
	}
	PQclear(r);
	return err;
}

static void args_pos(struct pgs_args *a, const store_position *p)
{
	P_FIELD(a, p->id);
	P_FIELD(a, p->name);
	pgs_p_int(a, p->active ? 1 : 0);
	pgs_p_int(a, p->created_at);
}

static int pq_position_insert(store *s, const store_position *p)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!p || !p->id[0] || !p->name[0])
		return PV_EINVAL;
	args_pos(&a, p);
	err = run(s, Q_POS_INSERT, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ECONFLICT;
	PQclear(r);
	return err;
}

static int pq_position_upsert_name(store *s, const store_position *p,
				   store_position *out, int *created)
{
	struct pgs_args a = {0}, b = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!p || !p->id[0] || !p->name[0] || !out || !created)
		return PV_EINVAL;
	*created = 0;
	args_pos(&a, p);
	err = run(s, Q_POS_INSERT, &a, &r, &c);
	if (!err && PQntuples(r) == 1) {
		*out = *p;
		out->active = p->active ? 1 : 0;
		*created = 1;
	}
	PQclear(r);
	if (err || *created)
		return err;
	/* taken: the name (read with a fresh snapshot, so a concurrent
	 * insert that won is seen), or else the id */
	P_FIELD(&b, p->name);
	err = run_on(c, Q_POS_BY_NAME, &b, &r);
	if (!err && PQntuples(r) == 0)
		err = PV_ECONFLICT;
	if (!err)
		rd_pos(r, 0, 0, out);
	PQclear(r);
	return err;
}

static int pq_position_get(store *s, const char *id, store_position *out)
{
	return get_by_text(s, Q_POS_GET, id, rd_pos, out);
}

static int pq_position_each(store *s, store_position_cb cb, void *ctx)
{
	char last[STORE_NAME_MAX] = "";
	store_position p;
	int err = PV_OK, stop = 0, rows;

	if (!cb)
		return PV_EINVAL;
	do {
		struct pgs_args a = {0};
		PGresult *r;

		pgs_p_text(&a, last, sizeof last);
		err = run(s, Q_POS_BATCH, &a, &r, NULL);
		if (err)
			return err;
		rows = PQntuples(r);
		for (int i = 0; i < rows && !stop; i++) {
			rd_pos(r, i, 0, &p);
			C_TEXT(r, i, 4, last);
			stop = cb(ctx, &p);
		}
		PQclear(r);
	} while (!stop && rows == BATCH);
	return stop;
}

/* ---- users -------------------------------------------------------------------- */

static int valid_user_status(const char *st)
{
	return st && (strcmp(st, STORE_USER_PENDING) == 0 ||
		      strcmp(st, STORE_USER_ACTIVE) == 0 ||
		      strcmp(st, STORE_USER_INACTIVE) == 0);
}

static int pq_user_insert(store *s, const store_user *u, int *conflict)
{
	struct pgs_args a = {0}, b = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (conflict)
		*conflict = 0;
	if (!u || !u->id[0] || !u->email[0] || !u->mobile[0] ||
	    !u->org_id[0] || !valid_user_status(u->status))
		return PV_EINVAL;
	P_FIELD(&a, u->id);
	P_FIELD(&a, u->first_name);
	P_FIELD(&a, u->last_name);
	P_FIELD(&a, u->email);
	pgs_p_int(&a, u->official_email ? 1 : 0);
	P_FIELD(&a, u->mobile);
	P_FIELD(&a, u->org_id);
	pgs_p_text_null(&a, u->position_id, sizeof u->position_id);
	P_FIELD(&a, u->status);
	P_FIELD(&a, u->source);
	pgs_p_int(&a, u->created_at);
	pgs_p_int(&a, u->updated_at ? u->updated_at : u->created_at);
	pgs_p_int(&a, u->email_verified ? 1 : 0);
	P_FIELD(&a, u->upload_id);
	err = run(s, Q_USER_INSERT, &a, &r, &c);
	if (!err && PQntuples(r) == 1) {
		PQclear(r);
		return PV_OK;
	}
	PQclear(r);
	if (err)
		return err;
	/* Not inserted: which keys collide (rows are never deleted, so the
	 * row that beat us is still there to be found, unless it was closed
	 * in between: then nothing collides, as for the id, and a retry
	 * works), else a reference that does not exist. (A key taken already
	 * is seen before the row's org_seq is drawn: only a race leaves a gap
	 * in the numbers.) */
	P_FIELD(&b, u->email);
	P_FIELD(&b, u->mobile);
	P_FIELD(&b, u->id);
	err = run_on(c, Q_USER_WHY, &b, &r);
	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE;
	if (!err) {
		int bits = (PQgetvalue(r, 0, 0)[0] == 't' ? STORE_CONFLICT_EMAIL : 0) |
			   (PQgetvalue(r, 0, 1)[0] == 't' ? STORE_CONFLICT_MOBILE : 0);

		if (conflict)
			*conflict = bits;
		err = bits || PQgetvalue(r, 0, 2)[0] == 't' ? PV_ECONFLICT
							    : PV_ENOTFOUND;
	}
	PQclear(r);
	return err;
}

/* ---- the batch insert: COPY into a staging table, then set-wise -----------
 *
 * The users go by COPY (PQputCopyData, text format) into pv_batch, a
 * temporary table of the connection (its rows go at the end of every
 * transaction that wrote them), with n, their place in the call. Then, in
 * statements over the whole set: a reference that does not exist refuses
 * the call before anything is written; one INSERT ... SELECT ... RETURNING
 * id inserts those that collide with nothing, in order; and one more
 * statement, only when some were refused, tells for each which keys other
 * users (or earlier rows of the call) hold. The INSERT leaves out the rows
 * whose keys are held (NOT EXISTS): ON CONFLICT DO NOTHING, which makes
 * every row a speculative insertion, took a third more time, and is used
 * only when rows of the call share a key (then the order decides). No
 * statement raises for a collision, so the caller's transaction stays
 * usable; only a row that another transaction commits between the check
 * and the insert fails the statement, and the call answers PV_EBUSY:
 * retry the transaction. */

#define TC "text COLLATE \"C\""
/* name_words: prefixes of one to this many characters (migration 7) */
#define PQ_NAME_PREFIX_MAX 8
static const char batch_table_sql[] =
	"CREATE TEMP TABLE IF NOT EXISTS pv_batch (n bigint NOT NULL, id " TC ","
	" first_name " TC ", last_name " TC ", email " TC ", official_email"
	" integer, mobile " TC ", org_id " TC ", position_id " TC ", status " TC
	", source " TC ", created_at bigint, updated_at bigint, email_verified"
	" integer, upload_id " TC ", name_words text) ON COMMIT DELETE ROWS;"
	/* a session kept by a pooler (PgBouncer) may hold the table as an
	 * older version made it, before migration 7 */
	" ALTER TABLE pv_batch ADD COLUMN IF NOT EXISTS name_words text;"
	" DELETE FROM pv_batch";

/* Before the INSERT: the row triggers off for the transaction (until
 * batch_list_unlock), and the user_orgs rows of the call's organisations
 * there and locked, in the order of their ids (two calls into one
 * organisation take turns, as inserts one by one do). */
static const char batch_list_lock[] =
	"SELECT set_config('pravesh.batch', 'on', true);"
	" INSERT INTO user_orgs (org_id, last_seq) SELECT DISTINCT org_id, 0"
	" FROM pv_batch ORDER BY org_id ON CONFLICT (org_id) DO UPDATE SET"
	" last_seq = user_orgs.last_seq";
static const char batch_list_unlock[] =
	"SELECT set_config('pravesh.batch', '', true)";

/* The bytes of the first n characters of the UTF-8 word w (len bytes). */
static size_t utf8_head(const char *w, size_t len, size_t n)
{
	size_t i = 0;

	for (size_t chars = 0; i < len; i++) {
		if (((unsigned char)w[i] & 0xC0) != 0x80 && chars++ == n)
			break;
	}
	return i;
}

/* Appends to b the lexemes of a user's name_words, space-separated, as
 * pravesh_name_words (pg_schema.c, migration 7) makes them: each word of
 * the names as the searches split them (util_words), with its prefixes of
 * one to eight characters. The words hold no space, tab, newline nor
 * backslash (ASCII other than letters and digits separates them): the
 * list is a field of COPY's text format as it is. Duplicates are left to
 * array_to_tsvector. */
static void pq_name_words(buf *b, const char *first, const char *last)
{
	char names[2 * STORE_PERSON_MAX + 2], words[sizeof names];
	int sep = 0;

	snprintf(names, sizeof names, "%s %s", first, last);
	util_words(names, strlen(names), words, sizeof words);
	for (const char *w = words; *w;) {
		size_t len = strcspn(w, " "), prev = 0;

		for (size_t n = 1; n <= PQ_NAME_PREFIX_MAX; n++) {
			size_t h = utf8_head(w, len, n);

			if (h == prev)
				break; /* the word is shorter */
			if (sep++)
				buf_add(b, " ", 1);
			buf_add(b, w, h);
			prev = h;
		}
		if (prev < len) { /* longer than the prefixes: the word itself */
			buf_add(b, " ", 1);
			buf_add(b, w, len);
		}
		w += len + (w[len] == ' ');
	}
}

/* s as a field of COPY's text format, then the separator sep. */
static void copy_field(buf *b, const char *s, char sep)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t"
				: *s == '\n' ? "\\n" : *s == '\r' ? "\\r" : NULL;

		if (!esc)
			continue;
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, esc);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
	buf_add(b, &sep, 1);
}

static void copy_user(buf *b, size_t n, const store_user *u)
{
	int64_t up = u->updated_at ? u->updated_at : u->created_at;

	buf_addf(b, "%zu\t", n);
	copy_field(b, u->id, '\t');
	copy_field(b, u->first_name, '\t');
	copy_field(b, u->last_name, '\t');
	copy_field(b, u->email, '\t');
	buf_addf(b, "%d\t", u->official_email ? 1 : 0);
	copy_field(b, u->mobile, '\t');
	copy_field(b, u->org_id, '\t');
	if (u->position_id[0])
		copy_field(b, u->position_id, '\t');
	else
		buf_adds(b, "\\N\t");
	copy_field(b, u->status, '\t');
	copy_field(b, u->source, '\t');
	buf_addf(b, "%lld\t%lld\t%d\t", (long long)u->created_at, (long long)up,
		 u->email_verified ? 1 : 0);
	copy_field(b, u->upload_id, '\t'); /* erase_after: 0, a live user's */
	pq_name_words(b, u->first_name, u->last_name);
	buf_add(b, "\n", 1);
}

/* The users into pv_batch, 64 KiB of COPY data at a time. */
static int batch_copy(struct pgs_conn *c, const store_user *users, size_t n)
{
	PGresult *r = PQexec(c->pg, "COPY pv_batch (n, " USER_INS_COLS ", name_words) FROM STDIN");
	buf b;
	int err = PV_OK, sent = 1;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		err = pgs_error(c, r, "user_insert_batch");
		PQclear(r);
		return err;
	}
	PQclear(r);
	buf_init(&b, 1 << 20);
	for (size_t i = 0; i <= n && sent == 1; i++) {
		if (i < n)
			copy_user(&b, i, &users[i]);
		if ((i == n || b.len >= 65536) && !buf_error(&b) && b.len) {
			sent = PQputCopyData(c->pg, b.p, (int)b.len);
			buf_reset(&b);
		}
	}
	err = buf_error(&b);
	buf_free(&b);
	/* a refused COPY ends with an error of its own, read below */
	if (PQputCopyEnd(c->pg, err || sent != 1 ? "not sent whole" : NULL) != 1)
		err = err ? err : PV_ESTORE;
	while ((r = PQgetResult(c->pg))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !err)
			err = pgs_error(c, r, "user_insert_batch");
		PQclear(r);
	}
	if (!err && sent != 1)
		err = pgs_error(c, NULL, "user_insert_batch");
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* From the ids the INSERT returned to conflicts[] (0: inserted; -1: to
 * explain). A row is inserted when its id came back and no earlier row of
 * the call with the same id took it (rows went in in order). */
static int batch_mark(const PGresult *r, const store_user *users, size_t n,
		      int *conflicts, size_t *refused)
{
	size_t got = (size_t)PQntuples(r);
	char **ids = got ? calloc(got, sizeof *ids) : NULL;
	unsigned char *taken = got ? calloc(got, 1) : NULL;

	if (got && (!ids || !taken)) {
		free(ids);
		free(taken);
		return PV_ENOMEM;
	}
	for (size_t k = 0; k < got; k++)
		ids[k] = PQgetvalue(r, (int)k, 0);
	qsort(ids, got, sizeof *ids, cmp_str);
	*refused = 0;
	for (size_t i = 0; i < n; i++) {
		const char *key = users[i].id;
		char **hit = got ? bsearch(&key, ids, got, sizeof *ids, cmp_str) : NULL;

		conflicts[i] = -1;
		if (hit && !taken[hit - ids]) {
			taken[hit - ids] = 1;
			conflicts[i] = 0;
		} else {
			(*refused)++;
		}
	}
	free(ids);
	free(taken);
	return PV_OK;
}

/* Which keys the refused rows (conflicts[i] == -1) collide with. */
static int batch_why(struct pgs_conn *c, size_t n, int *conflicts)
{
	struct pgs_args a = {0};
	PGresult *r = NULL;
	buf list;
	int err;

	buf_init(&list, 16 + 12 * n);
	buf_adds(&list, "{");
	for (size_t i = 0; i < n; i++)
		if (conflicts[i] < 0)
			buf_addf(&list, "%s%zu", list.len > 1 ? "," : "", i);
	buf_adds(&list, "}");
	if ((err = buf_error(&list)) != PV_OK)
		goto out;
	pgs_p_text(&a, list.p, NOCAP);
	if ((err = run_on(c, Q_BATCH_WHY, &a, &r)))
		goto out;
	for (int k = 0; k < PQntuples(r); k++) {
		int64_t i = c_int(r, k, 0);
		int bits = (PQgetvalue(r, k, 1)[0] == 't' ? STORE_CONFLICT_EMAIL : 0) |
			   (PQgetvalue(r, k, 2)[0] == 't' ? STORE_CONFLICT_MOBILE : 0);

		if (i >= 0 && (size_t)i < n)
			conflicts[i] = bits ? bits : STORE_CONFLICT_KEY;
	}
	for (size_t i = 0; i < n; i++)
		if (conflicts[i] < 0)
			err = PV_ESTORE; /* a refused row the statement did not see */
out:
	PQclear(r);
	buf_free(&list);
	return err;
}

/* The statements of one call, in the open transaction of c. */
static int batch_run(struct pgs_conn *c, const store_user *users, size_t n,
		     int *conflicts)
{
	PGresult *r = NULL;
	size_t refused = 0;
	int err, distinct;

	if ((err = pgs_simple(c, batch_table_sql, "user_insert_batch")) ||
	    (err = batch_copy(c, users, n)))
		return err;
	if ((err = run_on(c, Q_BATCH_REFS, NULL, &r)))
		return err;
	err = PQntuples(r) ? PV_ENOTFOUND : PV_OK;
	PQclear(r);
	if (err || (err = run_on(c, Q_BATCH_DISTINCT, NULL, &r)))
		return err;
	distinct = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if ((err = pgs_simple(c, batch_list_lock, "user_insert_batch")))
		return err;
	err = run_on(c, distinct ? Q_BATCH_INSERT_NEW : Q_BATCH_INSERT, NULL, &r);
	if (err == PV_ECONFLICT)
		return PV_EBUSY; /* a row inserted meanwhile: run it again */
	/* (after an error the transaction's end reverts the setting) */
	if (!err)
		err = pgs_simple(c, batch_list_unlock, "user_insert_batch");
	if (err) {
		PQclear(r);
		return err;
	}
	err = batch_mark(r, users, n, conflicts, &refused);
	PQclear(r);
	if (!err && refused)
		err = batch_why(c, n, conflicts);
	return err;
}

static int pq_user_insert_batch(store *s, const store_user *users, size_t n,
				int *conflicts)
{
	struct pgs_conn *c;
	int err, own;

	if (n > STORE_BATCH_MAX || (n && (!users || !conflicts)))
		return PV_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!users[i].id[0] || !users[i].email[0] || !users[i].mobile[0] ||
		    !users[i].org_id[0] || !valid_user_status(users[i].status))
			return PV_EINVAL;
	if (!n)
		return PV_OK;
	if ((err = pgs_enter(s, &c)))
		return err;
	own = !c->in_tx;
	if (own || c->begin_pending) {
		/* the statements below are not prepared ones: BEGIN goes now */
		if ((err = pgs_simple(c, "BEGIN", "user_insert_batch")))
			return err;
		c->begin_pending = 0;
	}
	err = batch_run(c, users, n, conflicts);
	if (own) {
		int e2 = pgs_simple(c, err ? "ROLLBACK" : "COMMIT", "user_insert_batch");

		if (!err)
			err = e2;
	}
	return err;
}

static int pq_user_get(store *s, const char *id, store_user *out)
{
	return get_by_text(s, Q_USER_GET, id, rd_user, out);
}

static int pq_user_by_email(store *s, const char *email, store_user *out)
{
	return get_by_text(s, Q_USER_BY_EMAIL, email, rd_user, out);
}

static int pq_user_by_mobile(store *s, const char *mobile, store_user *out)
{
	return get_by_text(s, Q_USER_BY_MOBILE, mobile, rd_user, out);
}

/* After a change of a live user that touched no row: PV_ECONFLICT when
 * the user exists (closed or erased), PV_ENOTFOUND when unknown. */
static int user_why_not(struct pgs_conn *c, const char *id)
{
	int err = exists_text(c, Q_USER_EXISTS, id);

	return err == PV_OK ? PV_ECONFLICT : err;
}

static int pq_user_set_status(store *s, const char *id, const char *status,
			      int64_t now)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	int err;

	if (!id || !valid_user_status(status))
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_text(&a, status, NOCAP);
	pgs_p_int(&a, now);
	err = run_change(s, Q_USER_SET_STATUS, &a, &c);
	return err == PV_ENOTFOUND ? user_why_not(c, id) : err;
}

static int pq_user_verify_email(store *s, const char *id, int64_t now)
{
	struct pgs_args a = {0};

	if (!id)
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_int(&a, now);
	return run_change(s, Q_USER_VERIFY_EMAIL, &a, NULL);
}

static int pq_user_logged_in(store *s, const char *id, int64_t now)
{
	struct pgs_args a = {0};

	if (!id)
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_int(&a, now);
	return run_change(s, Q_USER_LOGGED_IN, &a, NULL);
}

#define USER_Q_MAX 256 /* bytes of search text */

static int pq_admin_list(store *s, const char *role, const char *org_id,
			 const char *status, const char *q, store_page pg,
			 store_admin **items, size_t *n, int64_t *total)
{
	struct pgs_args a = {0};
	void *arr = NULL;
	int err;

	if (!items || !n || !total)
		return PV_EINVAL;
	*items = NULL;
	*n = 0;
	*total = 0;
	if (!q)
		q = "";
	if (!role || !role[0] || strlen(q) > USER_Q_MAX)
		return PV_EINVAL;
	/* the text is matched as it is (strpos): no character is special */
	pgs_p_text(&a, role, NOCAP);
	pgs_p_text(&a, org_id ? org_id : "", NOCAP);
	pgs_p_text(&a, status ? status : "", NOCAP);
	pgs_p_text(&a, q, NOCAP);
	err = list_page(s, Q_ADMIN_LIST, &a, pg, sizeof(store_admin), rd_admin,
			&arr, n, total);
	*items = arr;
	return err;
}


/* ---- user_list (store.h: store_user_query) ---- */

/* One user_list call: rows read so far (per_page + 1 at most: the one
 * past the page tells that a next page exists). */
struct pq_uq {
	store *s;
	const store_user_query *q;
	const char *status;
	store_user *items; /* malloc'd, per_page + 1 */
	size_t n;
	int64_t seq[101]; /* org_seq of each row read */
};

static int pq_uq_rows(struct pq_uq *x, int qs, const struct pgs_args *a)
{
	size_t max = (size_t)x->q->pg.per_page + 1;
	PGresult *r;
	int err = run(x->s, qs, a, &r, NULL);

	for (int i = 0; !err && i < PQntuples(r) && x->n < max; i++) {
		rd_user(r, i, 0, &x->items[x->n]);
		x->seq[x->n++] = c_int(r, i, USER_NCOLS); /* after USER_COLS */
	}
	PQclear(r);
	return err;
}

/* A number (one row, one column) from statement q. */
static int pq_uq_number(struct pq_uq *x, int q, const struct pgs_args *a, int64_t *out)
{
	PGresult *r;
	int err = run(x->s, q, a, &r, NULL);

	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE;
	if (!err)
		*out = c_int(r, 0, 0);
	PQclear(r);
	return err;
}

/* All users (of a status): the kept count; the page starts at a known
 * org_seq when the organisation's numbers have no gap and no status
 * filters them, else it steps over the pages before it; a cursor starts
 * at its number. */
static int pq_uq_all(struct pq_uq *x, store_user_list_info *info)
{
	const store_user_query *q = x->q;
	struct pgs_args c = {0}, t = {0}, a = {0};
	int64_t bound = INT64_MAX, offset = 0, top = 0;
	int err;

	pgs_p_text(&c, q->org_id, NOCAP);
	pgs_p_text(&c, x->status, NOCAP);
	if ((err = pq_uq_number(x, Q_USER_COUNT, &c, &info->total)))
		return err;
	pgs_p_text(&t, q->org_id, NOCAP);
	if (q->after > 0)
		bound = q->after - 1;
	else if (!x->status[0] && (err = pq_uq_number(x, Q_USER_TOP, &t, &top)))
		return err;
	else if (!x->status[0] && top == info->total)
		bound = top - (q->pg.page - 1) * q->pg.per_page;
	else
		offset = (q->pg.page - 1) * q->pg.per_page;
	pgs_p_text(&a, q->org_id, NOCAP);
	pgs_p_int(&a, bound);
	pgs_p_int(&a, q->pg.per_page + 1);
	pgs_p_int(&a, offset);
	if (x->status[0])
		pgs_p_text(&a, x->status, NOCAP);
	return pq_uq_rows(x, x->status[0] ? Q_USER_LIST_STATUS : Q_USER_LIST, &a);
}

/* The one user with a unique key (statement qk): total 0 or 1; listed on
 * the first page, or after a cursor that comes before it. */
static int pq_uq_key(struct pq_uq *x, int qk, const char *key, store_user_list_info *info)
{
	const store_user_query *q = x->q;
	struct pgs_args a = {0};
	int err;

	pgs_p_text(&a, key, NOCAP);
	pgs_p_text(&a, q->org_id, NOCAP);
	pgs_p_text(&a, x->status, NOCAP);
	err = pq_uq_rows(x, qk, &a);
	info->total = (int64_t)x->n;
	if (!err && x->n && (q->after > 0 ? x->seq[0] >= q->after : q->pg.page != 1))
		x->n = 0; /* it matches, but is not on this page */
	return err;
}

/* A name search through name_words (tsq: 'w':* & ...), newest first;
 * matches counted up to STORE_USER_COUNT_MAX + 1. */
static int pq_uq_name(struct pq_uq *x, const char *tsq, store_user_list_info *info)
{
	const store_user_query *q = x->q;
	struct pgs_args c = {0}, a = {0};
	int64_t cnt = 0;
	int err;

	pgs_p_text(&c, q->org_id, NOCAP);
	pgs_p_text(&c, x->status, NOCAP);
	pgs_p_text(&c, tsq, NOCAP);
	pgs_p_int(&c, STORE_USER_COUNT_MAX + 1);
	if ((err = pq_uq_number(x, Q_USER_NAME_COUNT, &c, &cnt)))
		return err;
	info->total = cnt > STORE_USER_COUNT_MAX ? STORE_USER_COUNT_MAX : cnt;
	info->total_exact = cnt <= STORE_USER_COUNT_MAX;
	pgs_p_text(&a, q->org_id, NOCAP);
	pgs_p_text(&a, x->status, NOCAP);
	pgs_p_text(&a, tsq, NOCAP);
	pgs_p_int(&a, q->after > 0 ? q->after - 1 : INT64_MAX);
	pgs_p_int(&a, q->pg.per_page + 1);
	pgs_p_int(&a, q->after > 0 ? 0 : (q->pg.page - 1) * q->pg.per_page);
	return pq_uq_rows(x, Q_USER_NAME, &a);
}

/* The tsquery of text: all of its words (&), each as a prefix of a word
 * of the names. name_words holds the prefixes of up to eight characters
 * (migration 7): a word that short is one exact lexeme ('ram'); a longer
 * one its first eight characters and the word as a prefix ('chandras' &
 * 'chandrasekhar':*, the second checked against the few rows the first
 * finds). Answers the number of words (0: none, -1: too many). The words
 * hold no quote nor backslash (util_words keeps ASCII letters and digits
 * and non-ASCII bytes, no other ASCII); text that is not UTF-8 is refused
 * by the server (PV_EINVAL). */
static int pq_uq_tsquery(const char *text, char *out, size_t cap)
{
	char words[STORE_USER_Q_MAX + 1];
	size_t o = 0, nw = 0;

	util_words(text, strlen(text), words, sizeof words);
	for (char *w = words; *w;) {
		size_t len = strcspn(w, " "), head = utf8_head(w, len, PQ_NAME_PREFIX_MAX);

		if (++nw > STORE_USER_Q_WORDS || o + head + len + 16 > cap)
			return -1;
		o += (size_t)snprintf(out + o, cap - o, "%s'%.*s'", nw > 1 ? " & " : "",
				      (int)head, w);
		if (head < len)
			o += (size_t)snprintf(out + o, cap - o, " & '%.*s':*", (int)len, w);
		w += len + (w[len] == ' ');
	}
	out[o] = '\0';
	return (int)nw;
}

static int pq_user_list(store *s, const store_user_query *q, store_user **items,
			size_t *n, store_user_list_info *info)
{
	struct pq_uq x = {0};
	char tsq[STORE_USER_Q_MAX * 2 + STORE_USER_Q_WORDS * 16 + 1];
	const char *text;
	size_t len;
	int err, words = 0, mobile;

	if (!items || !n || !info)
		return PV_EINVAL;
	*items = NULL;
	*n = 0;
	memset(info, 0, sizeof *info);
	info->total_exact = 1;
	text = q && q->q ? q->q : "";
	len = strlen(text);
	if (!q || !q->org_id || !valid_page(q->pg) || q->after < 0 || len > STORE_USER_Q_MAX)
		return PV_EINVAL;
	x.s = s;
	x.q = q;
	x.status = q->status ? q->status : "";
	mobile = len == 10 && strspn(text, "0123456789") == 10;
	if (len && !mobile && !strchr(text, '@') &&
	    (words = pq_uq_tsquery(text, tsq, sizeof tsq)) <= 0)
		return words < 0 ? PV_EINVAL : PV_OK; /* no word: nobody */
	if (!(x.items = malloc(((size_t)q->pg.per_page + 1) * sizeof *x.items)))
		return PV_ENOMEM;
	if (!len)
		err = pq_uq_all(&x, info);
	else if (words)
		err = pq_uq_name(&x, tsq, info);
	else
		err = pq_uq_key(&x, mobile ? Q_USER_IN_ORG_MOBILE : Q_USER_IN_ORG_EMAIL, text, info);
	if (!err && x.n > (size_t)q->pg.per_page) {
		x.n = (size_t)q->pg.per_page;
		info->next = x.seq[x.n - 1];
	}
	if (err || !x.n) {
		free(x.items);
		return err;
	}
	*items = x.items;
	*n = x.n;
	return PV_OK;
}

/* An insert of a row that belongs to a user ($1), refused: the row exists
 * (PV_ECONFLICT) or the user does not (PV_ENOTFOUND). */
static int user_row_why(struct pgs_conn *c, const char *user_id)
{
	int err = exists_text(c, Q_USER_EXISTS, user_id);

	return err == PV_OK ? PV_ECONFLICT : err;
}

static int pq_role_add(store *s, const char *user_id, const store_role *ro)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!user_id || !ro || !ro->role[0])
		return PV_EINVAL;
	pgs_p_text(&a, user_id, NOCAP);
	P_FIELD(&a, ro->role);
	P_FIELD(&a, ro->org_id);
	err = run(s, Q_ROLE_ADD, &a, &r, &c);
	if (!err && PQntuples(r) == 0)
		err = user_row_why(c, user_id);
	PQclear(r);
	return err;
}

static int pq_role_list(store *s, const char *user_id, store_role *out,
			size_t max, size_t *n)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err, rows;

	if (!user_id || !n || (max && !out))
		return PV_EINVAL;
	*n = 0;
	pgs_p_text(&a, user_id, NOCAP);
	err = run(s, Q_ROLE_LIST, &a, &r, NULL);
	if (err)
		return err;
	rows = PQntuples(r);
	for (int i = 0; i < rows && *n < max; i++) {
		memset(&out[*n], 0, sizeof out[*n]);
		C_TEXT(r, i, 0, out[*n].role);
		C_TEXT(r, i, 1, out[*n].org_id);
		(*n)++;
	}
	PQclear(r);
	return PV_OK;
}

static int pq_cred_insert(store *s, const store_cred *cr)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!cr || !cr->user_id[0] || !cr->username[0] || !cr->pwhash[0])
		return PV_EINVAL;
	P_FIELD(&a, cr->user_id);
	P_FIELD(&a, cr->username);
	P_FIELD(&a, cr->pwhash);
	err = run(s, Q_CRED_INSERT, &a, &r, &c);
	if (!err && PQntuples(r) == 0)
		err = user_row_why(c, cr->user_id);
	PQclear(r);
	return err;
}

static int pq_cred_by_username(store *s, const char *username,
			       store_cred *out)
{
	return get_by_text(s, Q_CRED_BY_USERNAME, username, rd_cred, out);
}

static int pq_cred_by_user(store *s, const char *user_id, store_cred *out)
{
	return get_by_text(s, Q_CRED_BY_USER, user_id, rd_cred, out);
}

static int pq_consent_add(store *s, const store_consent *k)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!k || !k->user_id[0] || !k->kind[0])
		return PV_EINVAL;
	P_FIELD(&a, k->user_id);
	P_FIELD(&a, k->kind);
	P_FIELD(&a, k->version);
	P_FIELD(&a, k->client_ip);
	pgs_p_int(&a, k->at);
	err = run(s, Q_CONSENT_ADD, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	PQclear(r);
	return err;
}

/* ---- OTP challenges and throttles ------------------------------------------ */

static int pq_otp_insert(store *s, store_otp *o)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!o || !o->subject[0] || !o->purpose[0])
		return PV_EINVAL;
	P_FIELD(&a, o->subject);
	P_FIELD(&a, o->purpose);
	pgs_p_bytea(&a, o->code_mac, sizeof o->code_mac);
	pgs_p_int(&a, o->created_at);
	pgs_p_int(&a, o->expires_at);
	err = run(s, Q_OTP_INSERT, &a, &r, NULL);
	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE;
	if (!err) {
		o->id = c_int(r, 0, 0);
		o->attempts = 0;
		o->state = STORE_OTP_LIVE;
	}
	PQclear(r);
	return err;
}

static int pq_otp_last(store *s, const char *subject, const char *purpose,
		       store_otp *out)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!subject || !purpose || !out)
		return PV_EINVAL;
	pgs_p_text(&a, subject, NOCAP);
	pgs_p_text(&a, purpose, NOCAP);
	err = run(s, Q_OTP_LAST, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err)
		rd_otp(r, 0, 0, out);
	PQclear(r);
	return err;
}

/* After a change of a live challenge that touched no row: PV_ECONFLICT
 * when the challenge exists (no longer live), PV_ENOTFOUND when unknown. */
static int otp_why_not(struct pgs_conn *c, int64_t id)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	pgs_p_int(&a, id);
	err = run_on(c, Q_OTP_EXISTS, &a, &r);
	if (!err)
		err = PQntuples(r) ? PV_ECONFLICT : PV_ENOTFOUND;
	PQclear(r);
	return err;
}

static int pq_otp_use(store *s, int64_t id)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;

	pgs_p_int(&a, id);
	int err = run_change(s, Q_OTP_USE, &a, &c);

	return err == PV_ENOTFOUND ? otp_why_not(c, id) : err;
}

static int pq_otp_fail(store *s, int64_t id, int max_tries, int *attempts)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (max_tries < 1)
		return PV_EINVAL;
	pgs_p_int(&a, id);
	pgs_p_int(&a, max_tries);
	err = run(s, Q_OTP_FAIL, &a, &r, &c);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err && attempts)
		*attempts = (int)c_int(r, 0, 0);
	PQclear(r);
	return err == PV_ENOTFOUND ? otp_why_not(c, id) : err;
}

static int pq_throttle_hit(store *s, const char *key, int64_t now,
			   int64_t window_ms, int64_t lock_at, int64_t lock_ms,
			   store_throttle *out)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!key || !*key || strlen(key) >= STORE_KEY_MAX || window_ms <= 0 ||
	    lock_at < 0 || lock_ms < 0)
		return PV_EINVAL;
	pgs_p_text(&a, key, NOCAP);
	pgs_p_int(&a, now);
	pgs_p_int(&a, window_ms);
	pgs_p_int(&a, lock_at);
	pgs_p_int(&a, lock_ms);
	err = run(s, Q_THR_HIT, &a, &r, NULL);
	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE; /* an upsert returning nothing */
	if (!err && out)
		rd_throttle(r, 0, 0, out);
	PQclear(r);
	return err;
}

static int pq_throttle_read(store *s, int q, const char *key, int64_t now,
			    store_throttle *out)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!key || !out)
		return PV_EINVAL;
	pgs_p_text(&a, key, NOCAP);
	pgs_p_int(&a, now);
	err = run(s, q, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err)
		rd_throttle(r, 0, 0, out);
	PQclear(r);
	return err;
}

static int pq_throttle_peek(store *s, const char *key, int64_t now,
			    store_throttle *out)
{
	return pq_throttle_read(s, Q_THR_PEEK, key, now, out);
}

static int pq_throttle_peek_share(store *s, const char *key, int64_t now,
				  store_throttle *out)
{
	return pq_throttle_read(s, Q_THR_PEEK_SHARE, key, now, out);
}

static int pq_throttle_peek_pair(store *s, const char *key0, const char *key1,
				 int64_t now, store_throttle out[2], int found[2])
{
	const char *key[2] = {key0, key1};
	struct pgs_args a = {0};
	store_throttle t;
	PGresult *r;
	int err;

	found[0] = found[1] = 0;
	if (!key0 || !key1)
		return PV_EINVAL;
	pgs_p_text(&a, key0, NOCAP);
	pgs_p_text(&a, key1, NOCAP);
	pgs_p_int(&a, now);
	err = run(s, Q_THR_PEEK_PAIR, &a, &r, NULL);
	for (int row = 0; !err && row < PQntuples(r) && row < 2; row++) {
		rd_throttle(r, row, 0, &t);
		for (int i = 0; i < 2; i++) {
			if (strcmp(t.key, key[i]) == 0) {
				out[i] = t;
				found[i] = 1;
			}
		}
	}
	PQclear(r);
	return err;
}

static int pq_throttle_undo(store *s, const char *key, int64_t now)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!key)
		return PV_EINVAL;
	pgs_p_text(&a, key, NOCAP);
	pgs_p_int(&a, now);
	err = run(s, Q_THR_UNDO, &a, &r, NULL);
	PQclear(r);
	return err;
}

static int pq_throttle_clear(store *s, const char *key)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!key)
		return PV_EINVAL;
	pgs_p_text(&a, key, NOCAP);
	err = run(s, Q_THR_DEL, &a, &r, NULL);
	PQclear(r);
	return err;
}

/* One bounded delete of the sweep: $1 before, $2 max, $3 (sessions only)
 * seen before. Adds the rows deleted to *n. */
static int sweep_one(store *s, int q, int64_t before, int64_t max,
		     int64_t seen_before, int64_t *n)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	pgs_p_int(&a, before);
	pgs_p_int(&a, max);
	if (q == Q_SWEEP_SESSIONS)
		pgs_p_int(&a, seen_before);
	err = run(s, q, &a, &r, NULL);
	if (!err)
		*n += changed(r);
	PQclear(r);
	return err;
}

static int pq_sweep(store *s, int64_t now, int64_t grace_ms, int64_t idle_ms,
		    int64_t max, int64_t *deleted)
{
	int64_t n = 0, before = now - grace_ms;
	int err;

	if (grace_ms < 0 || idle_ms < 0 || max < 1)
		return PV_EINVAL;
	err = sweep_one(s, Q_SWEEP_OTPS, before, max, 0, &n);
	if (!err)
		err = sweep_one(s, Q_SWEEP_TOKENS, before, max, 0, &n);
	if (!err)
		err = sweep_one(s, Q_SWEEP_SESSIONS, before, max,
				before - idle_ms, &n);
	if (!err)
		err = sweep_one(s, Q_SWEEP_THROTTLES, now, max, 0, &n);
	if (deleted)
		*deleted = n;
	return err;
}

/* ---- tokens and sessions ----------------------------------------------------- */

/* After a token lookup that found no usable token: PV_EEXPIRED when it is
 * unused and expired, else PV_ENOTFOUND (unknown or already used). */
static int token_why_not(struct pgs_conn *c, const char *kind,
			 const unsigned char *hash, int64_t now)
{
	struct pgs_args b = {0};
	PGresult *r;
	int err;

	pgs_p_bytea(&b, hash, STORE_HASH_LEN);
	pgs_p_text(&b, kind, NOCAP);
	err = run_on(c, Q_TOKEN_STATE, &b, &r);
	if (!err)
		err = PQntuples(r) == 1 && c_int(r, 0, 1) == 0 &&
				      c_int(r, 0, 0) <= now
			      ? PV_EEXPIRED
			      : PV_ENOTFOUND;
	PQclear(r);
	return err;
}

static int pq_token_insert(store *s, const store_token *t)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!t || !t->kind[0])
		return PV_EINVAL;
	pgs_p_bytea(&a, t->hash, sizeof t->hash);
	P_FIELD(&a, t->kind);
	P_FIELD(&a, t->subject);
	P_FIELD(&a, t->extra);
	pgs_p_int(&a, t->created_at);
	pgs_p_int(&a, t->expires_at);
	err = run(s, Q_TOKEN_INSERT, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ECONFLICT;
	PQclear(r);
	return err;
}

static int pq_token_consume(store *s, const char *kind,
			    const unsigned char hash[STORE_HASH_LEN],
			    int64_t now, store_token *out)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!kind || !hash)
		return PV_EINVAL;
	pgs_p_bytea(&a, hash, STORE_HASH_LEN);
	pgs_p_text(&a, kind, NOCAP);
	pgs_p_int(&a, now > 0 ? now : 1); /* used_at 0 means unused */
	pgs_p_int(&a, now);
	err = run(s, Q_TOKEN_CONSUME, &a, &r, &c);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err && out)
		rd_token(r, 0, 0, out);
	PQclear(r);
	/* Why not: expired, or unknown / already used. */
	return err == PV_ENOTFOUND ? token_why_not(c, kind, hash, now) : err;
}

static int pq_token_get(store *s, const char *kind,
			const unsigned char hash[STORE_HASH_LEN], int64_t now,
			store_token *out)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!kind || !hash || !out)
		return PV_EINVAL;
	pgs_p_bytea(&a, hash, STORE_HASH_LEN);
	pgs_p_text(&a, kind, NOCAP);
	pgs_p_int(&a, now);
	err = run(s, Q_TOKEN_GET, &a, &r, &c);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err)
		rd_token(r, 0, 0, out);
	PQclear(r);
	return err == PV_ENOTFOUND ? token_why_not(c, kind, hash, now) : err;
}

/* The values of Q_SES_INSERT and Q_SES_LOGIN. */
static void session_args(struct pgs_args *a, const store_session *se)
{
	pgs_p_bytea(a, se->hash, sizeof se->hash);
	P_FIELD(a, se->user_id);
	pgs_p_bytea(a, se->csrf_hash, sizeof se->csrf_hash);
	pgs_p_int(a, se->created_at);
	pgs_p_int(a, se->last_seen);
	pgs_p_int(a, se->expires_at);
	pgs_p_int(a, se->revoked ? 1 : 0);
	pgs_p_int(a, se->elevated ? 1 : 0);
	P_FIELD(a, se->client_ip);
}

static int pq_session_insert(store *s, const store_session *se)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!se || !se->user_id[0])
		return PV_EINVAL;
	session_args(&a, se);
	err = run(s, Q_SES_INSERT, &a, &r, &c);
	if (!err && PQntuples(r) == 0)
		err = user_row_why(c, se->user_id);
	PQclear(r);
	return err;
}

/* Inside a transaction the statement goes with the COMMIT (a login's
 * last write: one round trip fewer); its refusals come back then. */
static int pq_session_login(store *s, const store_session *se)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	int err;

	if (!se || !se->user_id[0])
		return PV_EINVAL;
	session_args(&a, se);
	if ((err = pgs_enter(s, &c)) != PV_OK)
		return err;
	return pgs_exec_later(c, Q_SES_LOGIN, &Q[Q_SES_LOGIN], &a);
}

static int pq_session_get(store *s, const unsigned char hash[STORE_HASH_LEN],
			  store_session *out)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!hash || !out)
		return PV_EINVAL;
	pgs_p_bytea(&a, hash, STORE_HASH_LEN);
	err = run(s, Q_SES_GET, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err)
		rd_session(r, 0, 0, out);
	PQclear(r);
	return err;
}

static int pq_session_touch(store *s, const unsigned char hash[STORE_HASH_LEN],
			    int64_t now)
{
	struct pgs_args a = {0};

	if (!hash)
		return PV_EINVAL;
	pgs_p_bytea(&a, hash, STORE_HASH_LEN);
	pgs_p_int(&a, now);
	return run_change(s, Q_SES_TOUCH, &a, NULL);
}

static int pq_session_revoke(store *s,
			     const unsigned char hash[STORE_HASH_LEN])
{
	struct pgs_args a = {0};

	if (!hash)
		return PV_EINVAL;
	pgs_p_bytea(&a, hash, STORE_HASH_LEN);
	return run_change(s, Q_SES_REVOKE, &a, NULL);
}

static int pq_session_revoke_user(store *s, const char *user_id)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!user_id)
		return PV_EINVAL;
	pgs_p_text(&a, user_id, NOCAP);
	err = run(s, Q_SES_REVOKE_USER, &a, &r, NULL);
	PQclear(r);
	return err;
}

/* ---- requests ------------------------------------------------------------------ */

static int pq_request_insert(store *s, const store_request *q,
			     store_request *existing)
{
	struct pgs_args a = {0}, b = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!q || !q->id[0] || !q->kind[0] || !q->name[0])
		return PV_EINVAL;
	P_FIELD(&a, q->id);
	P_FIELD(&a, q->kind);
	P_FIELD(&a, q->full_name);
	P_FIELD(&a, q->email);
	P_FIELD(&a, q->mobile);
	P_FIELD(&a, q->name);
	P_FIELD(&a, q->details);
	P_FIELD(&a, q->sector);
	P_FIELD(&a, q->parent_id);
	pgs_p_int(&a, q->created_at);
	err = run(s, Q_REQ_INSERT, &a, &r, &c);
	if (!err && PQntuples(r) == 0)
		err = PV_ECONFLICT;
	PQclear(r);
	if (err != PV_ECONFLICT || !existing)
		return err;
	memset(existing, 0, sizeof *existing);
	P_FIELD(&b, q->kind);
	P_FIELD(&b, q->name);
	err = run_on(c, Q_REQ_PENDING_BY_NAME, &b, &r);
	if (!err && PQntuples(r) > 0)
		rd_request(r, 0, 0, existing);
	PQclear(r);
	/* no pending one found: the id was taken, not the name */
	return err ? err : PV_ECONFLICT;
}

static int pq_request_get(store *s, const char *id, store_request *out)
{
	return get_by_text(s, Q_REQ_GET, id, rd_request, out);
}

static int pq_request_decide(store *s, const store_request *q)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	int err;

	if (!q || !q->id[0] ||
	    (strcmp(q->status, STORE_REQ_APPROVED) != 0 &&
	     strcmp(q->status, STORE_REQ_REJECTED) != 0))
		return PV_EINVAL;
	P_FIELD(&a, q->id);
	P_FIELD(&a, q->status);
	P_FIELD(&a, q->name);
	P_FIELD(&a, q->reason);
	P_FIELD(&a, q->created_id);
	P_FIELD(&a, q->decided_by);
	pgs_p_int(&a, q->decided_at);
	err = run_change(s, Q_REQ_DECIDE, &a, &c);
	if (err != PV_ENOTFOUND)
		return err;
	err = exists_text(c, Q_REQ_EXISTS, q->id);
	return err == PV_OK ? PV_ECONFLICT : err;
}

static int pq_request_list(store *s, const char *status, const char *kind,
			   store_page pg, store_request **items, size_t *n,
			   int64_t *total)
{
	struct pgs_args a = {0};
	void *arr = NULL;
	int err;

	if (!items || !n || !total)
		return PV_EINVAL;
	pgs_p_text(&a, status ? status : "", NOCAP);
	pgs_p_text(&a, kind ? kind : "", NOCAP);
	err = list_page(s, Q_REQ_LIST, &a, pg, sizeof(store_request),
			rd_request, &arr, n, total);
	*items = arr;
	return err;
}

/* ---- uploads ---------------------------------------------------------------------- */

static int valid_upload_status(const char *st)
{
	return st && (strcmp(st, STORE_UP_QUEUED) == 0 ||
		      strcmp(st, STORE_UP_IN_PROGRESS) == 0 ||
		      strcmp(st, STORE_UP_SUCCESSFUL) == 0 ||
		      strcmp(st, STORE_UP_FAILED) == 0);
}

static int pq_upload_insert(store *s, const store_upload *u)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	const char *status;
	PGresult *r;
	int err;

	if (!u || !u->id[0] || !u->org_id[0])
		return PV_EINVAL;
	status = u->status[0] ? u->status : STORE_UP_QUEUED;
	if (!valid_upload_status(status))
		return PV_EINVAL;
	P_FIELD(&a, u->id);
	P_FIELD(&a, u->org_id);
	P_FIELD(&a, u->uploader_id);
	P_FIELD(&a, u->file_name);
	P_FIELD(&a, u->stored_path);
	P_FIELD(&a, u->format);
	pgs_p_text(&a, status, NOCAP);
	pgs_p_int(&a, u->total_records);
	pgs_p_int(&a, u->success_records);
	pgs_p_int(&a, u->failed_records);
	pgs_p_int(&a, u->cursor);
	P_FIELD(&a, u->error);
	P_FIELD(&a, u->claimed_by);
	pgs_p_int(&a, u->lease_until);
	pgs_p_int(&a, u->created_at);
	pgs_p_int(&a, u->updated_at ? u->updated_at : u->created_at);
	P_FIELD(&a, u->original_name);
	err = run(s, Q_UP_INSERT, &a, &r, &c);
	if (!err && PQntuples(r) == 0) {
		err = exists_text(c, Q_UP_EXISTS, u->id);
		if (err == PV_OK)
			err = PV_ECONFLICT;
	}
	PQclear(r);
	return err;
}

static int pq_upload_get(store *s, const char *id, store_upload *out)
{
	return get_by_text(s, Q_UP_GET, id, rd_upload, out);
}

static int pq_upload_list(store *s, const char *org_id, store_page pg,
			  store_upload **items, size_t *n, int64_t *total)
{
	struct pgs_args a = {0};
	void *arr = NULL;
	int err;

	if (!items || !n || !total)
		return PV_EINVAL;
	*items = NULL;
	if (!org_id)
		return PV_EINVAL;
	pgs_p_text(&a, org_id, NOCAP);
	err = list_page(s, Q_UP_LIST, &a, pg, sizeof(store_upload), rd_upload,
			&arr, n, total);
	*items = arr;
	return err;
}

static int pq_upload_claim(store *s, const char *worker, int64_t now,
			   int64_t lease_ms, store_upload *out)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!worker || !worker[0] || lease_ms <= 0 || !out)
		return PV_EINVAL;
	pgs_p_text(&a, worker, STORE_ID_MAX - 1);
	pgs_p_int(&a, now);
	pgs_p_int(&a, add_sat(now, lease_ms));
	err = run(s, Q_UP_CLAIM, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err)
		rd_upload(r, 0, 0, out);
	PQclear(r);
	return err;
}

static int pq_upload_progress(store *s, const store_upload *u,
			      const char *worker, int64_t now, int64_t lease_ms)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	int err;

	if (!u || !u->id[0] || !worker || !worker[0] || lease_ms <= 0)
		return PV_EINVAL;
	P_FIELD(&a, u->id);
	pgs_p_text(&a, worker, STORE_ID_MAX - 1);
	pgs_p_int(&a, u->total_records);
	pgs_p_int(&a, u->success_records);
	pgs_p_int(&a, u->failed_records);
	pgs_p_int(&a, u->cursor);
	pgs_p_int(&a, add_sat(now, lease_ms));
	pgs_p_int(&a, now);
	err = run_change(s, Q_UP_PROGRESS, &a, &c);
	if (err != PV_ENOTFOUND)
		return err;
	/* The lease went to another worker (or the upload is finished). */
	err = exists_text(c, Q_UP_EXISTS, u->id);
	return err == PV_OK ? PV_ECONFLICT : err;
}

static int pq_upload_finish(store *s, const char *id, const char *status,
			    const char *error, const char *worker, int64_t now)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	int err;

	if (!id || !valid_upload_status(status))
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_text(&a, status, NOCAP);
	pgs_p_text_fit(&a, error, STORE_TEXT_MAX);
	pgs_p_int(&a, now);
	pgs_p_text(&a, worker ? worker : "", NOCAP);
	err = run_change(s, Q_UP_FINISH, &a, &c);
	/* no row changed: unknown, or another worker holds it now */
	if (err == PV_ENOTFOUND && worker && *worker &&
	    exists_text(c, Q_UP_EXISTS, id) == PV_OK)
		err = PV_ECONFLICT;
	return err;
}

static int pq_upload_failure_add(store *s, const char *upload_id,
				 const store_upload_failure *f)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!upload_id || !f)
		return PV_EINVAL;
	pgs_p_text(&a, upload_id, NOCAP);
	pgs_p_int(&a, f->row);
	P_FIELD(&a, f->errors);
	err = run(s, Q_UP_FAIL_ADD, &a, &r, &c);
	if (!err && PQntuples(r) == 0) {
		err = exists_text(c, Q_UP_EXISTS, upload_id);
		if (err == PV_OK)
			err = PV_ECONFLICT;
	}
	PQclear(r);
	return err;
}

static int pq_upload_failure_each(store *s, const char *upload_id,
				  store_failure_cb cb, void *ctx)
{
	store_upload_failure f;
	int64_t last = INT64_MIN;
	int err, stop = 0, rows;

	if (!upload_id || !cb)
		return PV_EINVAL;
	do {
		struct pgs_args a = {0};
		PGresult *r;

		pgs_p_text(&a, upload_id, NOCAP);
		pgs_p_int(&a, last);
		err = run(s, Q_UP_FAIL_BATCH, &a, &r, NULL);
		if (err)
			return err;
		rows = PQntuples(r);
		for (int i = 0; i < rows && !stop; i++) {
			memset(&f, 0, sizeof f);
			f.row = last = c_int(r, i, 0);
			C_TEXT(r, i, 1, f.errors);
			stop = cb(ctx, &f);
		}
		PQclear(r);
	} while (!stop && rows == BATCH);
	return stop;
}

static int pq_upload_status_counts(store *s, int64_t *queued,
				   int64_t *in_progress, int64_t *successful,
				   int64_t *failed)
{
	int64_t q = 0, ip = 0, ok = 0, fl = 0;
	PGresult *r;
	int err = run(s, Q_UP_COUNTS, NULL, &r, NULL);

	if (err)
		return err;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *w = PQgetvalue(r, i, 0);
		int64_t k = c_int(r, i, 1);

		if (strcmp(w, STORE_UP_QUEUED) == 0)
			q = k;
		else if (strcmp(w, STORE_UP_IN_PROGRESS) == 0)
			ip = k;
		else if (strcmp(w, STORE_UP_SUCCESSFUL) == 0)
			ok = k;
		else if (strcmp(w, STORE_UP_FAILED) == 0)
			fl = k;
	}
	PQclear(r);
	if (queued)
		*queued = q;
	if (in_progress)
		*in_progress = ip;
	if (successful)
		*successful = ok;
	if (failed)
		*failed = fl;
	return PV_OK;
}

/* ---- outbox ------------------------------------------------------------------------ */

static int pq_outbox_insert(store *s, store_outbox *m)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!m || !m->channel[0] || !m->to_addr[0] || !m->template_name[0])
		return PV_EINVAL;
	P_FIELD(&a, m->channel);
	P_FIELD(&a, m->to_addr);
	P_FIELD(&a, m->template_name);
	P_FIELD(&a, m->lang);
	pgs_p_text(&a, m->params[0] ? m->params : "{}", sizeof m->params);
	pgs_p_int(&a, m->attempts);
	pgs_p_int(&a, m->next_at);
	pgs_p_int(&a, m->created_at);
	err = run(s, Q_OUT_INSERT, &a, &r, NULL);
	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE;
	if (!err)
		m->id = c_int(r, 0, 0);
	PQclear(r);
	return err;
}

static int pq_outbox_claim(store *s, const char *worker, int64_t now,
			   int64_t lease_ms, store_outbox *out)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!worker || !worker[0] || lease_ms <= 0 || !out)
		return PV_EINVAL;
	pgs_p_text(&a, worker, STORE_ID_MAX - 1);
	pgs_p_int(&a, now);
	pgs_p_int(&a, add_sat(now, lease_ms));
	err = run(s, Q_OUT_CLAIM, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err)
		rd_outbox(r, 0, 0, out);
	PQclear(r);
	return err;
}

static int pq_outbox_sent(store *s, int64_t id, int64_t now)
{
	struct pgs_args a = {0};

	pgs_p_int(&a, id);
	pgs_p_int(&a, now);
	return run_change(s, Q_OUT_SENT, &a, NULL);
}

static int pq_outbox_retry(store *s, int64_t id, int attempts, int64_t next_at,
			   const char *error)
{
	struct pgs_args a = {0};

	pgs_p_int(&a, id);
	pgs_p_int(&a, attempts);
	pgs_p_int(&a, next_at);
	pgs_p_text_fit(&a, error, STORE_TEXT_MAX / 4);
	return run_change(s, Q_OUT_RETRY, &a, NULL);
}

static int pq_outbox_fail(store *s, int64_t id, int attempts,
			  const char *error)
{
	struct pgs_args a = {0};

	pgs_p_int(&a, id);
	pgs_p_int(&a, attempts);
	pgs_p_text_fit(&a, error, STORE_TEXT_MAX / 4);
	return run_change(s, Q_OUT_FAIL, &a, NULL);
}

static int pq_outbox_stats(store *s, int64_t *queued, int64_t *failed)
{
	PGresult *r;
	int err = run(s, Q_OUT_STATS, NULL, &r, NULL);

	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE;
	if (!err) {
		if (queued)
			*queued = c_int(r, 0, 0);
		if (failed)
			*failed = c_int(r, 0, 1);
	}
	PQclear(r);
	return err;
}

/* ---- campaigns --------------------------------------------------------------- */

static void rd_campaign(const PGresult *r, int i, int k, void *p)
{
	store_campaign *m = p;

	memset(m, 0, sizeof *m);
	m->id = c_int(r, i, k + 0);
	C_TEXT(r, i, k + 1, m->upload_id);
	C_TEXT(r, i, k + 2, m->channel);
	C_TEXT(r, i, k + 3, m->template_name);
	C_TEXT(r, i, k + 4, m->lang);
	C_TEXT(r, i, k + 5, m->params);
	C_TEXT(r, i, k + 6, m->status);
	m->cursor = c_int(r, i, k + 7);
	m->handled = c_int(r, i, k + 8);
	C_TEXT(r, i, k + 9, m->claimed_by);
	m->lease_until = c_int(r, i, k + 10);
	m->next_at = c_int(r, i, k + 11);
	m->created_at = c_int(r, i, k + 12);
	m->finished_at = c_int(r, i, k + 13);
}

static int pq_campaign_insert(store *s, store_campaign *m)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if (!m || !m->upload_id[0] || !m->channel[0] || !m->template_name[0])
		return PV_EINVAL;
	P_FIELD(&a, m->upload_id);
	P_FIELD(&a, m->channel);
	P_FIELD(&a, m->template_name);
	P_FIELD(&a, m->lang);
	pgs_p_text(&a, m->params[0] ? m->params : "{}", sizeof m->params);
	pgs_p_int(&a, m->next_at);
	pgs_p_int(&a, m->created_at);
	err = run(s, Q_CAMP_INSERT, &a, &r, &c);
	if (!err && PQntuples(r) == 1)
		m->id = c_int(r, 0, 0);
	else if (!err) { /* the upload has one already, or is unknown */
		err = exists_text(c, Q_UP_EXISTS, m->upload_id);
		/* a failed look-up (busy, connection lost) is told as such */
		if (err == PV_OK)
			err = PV_ECONFLICT;
	}
	PQclear(r);
	return err;
}

static int pq_campaign_claim(store *s, const char *worker, int64_t now,
			     int64_t lease_ms, store_campaign *out)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!worker || !worker[0] || lease_ms <= 0 || !out)
		return PV_EINVAL;
	pgs_p_text(&a, worker, STORE_ID_MAX - 1);
	pgs_p_int(&a, now);
	pgs_p_int(&a, add_sat(now, lease_ms));
	err = run(s, Q_CAMP_CLAIM, &a, &r, NULL);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err)
		rd_campaign(r, 0, 0, out);
	PQclear(r);
	return err;
}

/* The ids of the users from rows after `after` of upload u: [lo, hi] (an
 * empty range, lo > hi, after the last possible row). */
static int campaign_range(const store_upload *u, int64_t after, char lo[STORE_ID_MAX],
			  char hi[STORE_ID_MAX])
{
	int err = store_upload_user_id(u, STORE_UPLOAD_ROW_MAX, hi, STORE_ID_MAX);

	if (!err && after >= STORE_UPLOAD_ROW_MAX)
		snprintf(lo, STORE_ID_MAX, "%s~", hi); /* after every id */
	else if (!err)
		err = store_upload_user_id(u, after < 1 ? 1 : after + 1, lo, STORE_ID_MAX);
	return err;
}

static int pq_campaign_users(store *s, const char *upload_id, int64_t after,
			     size_t max, store_user *out, size_t *n)
{
	struct pgs_args a = {0};
	store_upload u;
	char lo[STORE_ID_MAX], hi[STORE_ID_MAX];
	PGresult *r = NULL;
	int err;

	if (!n)
		return PV_EINVAL;
	*n = 0;
	if (!upload_id || !upload_id[0] || !out || !max || max > INT_MAX)
		return PV_EINVAL;
	if ((err = get_by_text(s, Q_UP_GET, upload_id, rd_upload, &u)) ||
	    (err = campaign_range(&u, after, lo, hi)))
		return err;
	pgs_p_text(&a, lo, NOCAP);
	pgs_p_text(&a, hi, NOCAP);
	pgs_p_int(&a, (int64_t)max);
	err = run(s, Q_CAMP_USERS, &a, &r, NULL);
	for (int i = 0; !err && i < PQntuples(r) && (size_t)i < max; i++)
		rd_user(r, i, 0, &out[i]);
	if (!err)
		*n = (size_t)PQntuples(r) < max ? (size_t)PQntuples(r) : max;
	PQclear(r);
	return err;
}

/* After a campaign change that changed nothing: PV_ENOTFOUND for an
 * unknown campaign, else PV_ECONFLICT. */
static int campaign_why_not(struct pgs_conn *c, int64_t id)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	pgs_p_int(&a, id);
	err = run_on(c, Q_CAMP_EXISTS, &a, &r);
	if (!err)
		err = PQntuples(r) ? PV_ECONFLICT : PV_ENOTFOUND;
	PQclear(r);
	return err;
}

static int pq_campaign_advance(store *s, int64_t id, const char *worker,
			       int64_t cursor, int64_t now, int64_t lease_ms)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	int err;

	if (!worker || !worker[0] || lease_ms <= 0)
		return PV_EINVAL;
	pgs_p_int(&a, id);
	pgs_p_text(&a, worker, NOCAP);
	pgs_p_int(&a, cursor);
	pgs_p_int(&a, add_sat(now, lease_ms));
	err = run_change(s, Q_CAMP_ADVANCE, &a, &c);
	return err == PV_ENOTFOUND ? campaign_why_not(c, id) : err;
}

static int pq_campaign_release(store *s, int64_t id, const char *worker,
			       int64_t next_at)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	int err;

	if (!worker || !worker[0])
		return PV_EINVAL;
	pgs_p_int(&a, id);
	pgs_p_text(&a, worker, NOCAP);
	pgs_p_int(&a, next_at);
	err = run_change(s, Q_CAMP_RELEASE, &a, &c);
	return err == PV_ENOTFOUND ? campaign_why_not(c, id) : err;
}

/* The campaign's state first (its holder alone moves its cursor), then one
 * statement that decides the end. */
static int pq_campaign_finish(store *s, int64_t id, const char *worker,
			      int64_t now, int *done)
{
	struct pgs_args a = {0}, b = {0};
	struct pgs_conn *c;
	store_upload u;
	char by[STORE_ID_MAX], status[STORE_SHORT_MAX], lo[STORE_ID_MAX], hi[STORE_ID_MAX];
	int64_t cursor;
	PGresult *r;
	int err;

	if (!worker || !worker[0] || !done)
		return PV_EINVAL;
	*done = 0;
	pgs_p_int(&a, id);
	err = run(s, Q_CAMP_STATE, &a, &r, &c);
	if (!err && PQntuples(r) == 0)
		err = PV_ENOTFOUND;
	if (!err) {
		C_TEXT(r, 0, 0, by);
		C_TEXT(r, 0, 1, status);
		cursor = c_int(r, 0, 2);
		memset(&u, 0, sizeof u);
		u.created_at = c_int(r, 0, 3);
		C_TEXT(r, 0, 4, u.id);
		if (strcmp(by, worker) != 0 || strcmp(status, STORE_CAMPAIGN_ACTIVE) != 0)
			err = PV_ECONFLICT;
	}
	PQclear(r);
	if (!err)
		err = campaign_range(&u, cursor, lo, hi);
	if (err)
		return err;
	pgs_p_int(&b, id);
	pgs_p_text(&b, worker, NOCAP);
	pgs_p_int(&b, now);
	pgs_p_int(&b, cursor);
	pgs_p_text(&b, lo, NOCAP);
	pgs_p_text(&b, hi, NOCAP);
	err = run_on(c, Q_CAMP_FINISH, &b, &r);
	if (!err)
		*done = changed(r) == 1;
	PQclear(r);
	return err;
}

/* ---- audit ---------------------------------------------------------------------------- */

static int pq_audit_add(store *s, store_audit *au)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!au || !au->action[0])
		return PV_EINVAL;
	P_FIELD(&a, au->actor_id);
	P_FIELD(&a, au->action);
	P_FIELD(&a, au->target);
	P_FIELD(&a, au->client_ip);
	P_FIELD(&a, au->detail);
	pgs_p_int(&a, au->at);
	err = run(s, Q_AUDIT_ADD, &a, &r, NULL);
	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE;
	if (!err)
		au->id = c_int(r, 0, 0);
	PQclear(r);
	return err;
}

static int pq_audit_list(store *s, const store_audit_filter *f, store_page pg,
			 store_audit **items, size_t *n, int64_t *total)
{
	static const store_audit_filter all = {NULL, NULL, 0, 0};
	struct pgs_args a = {0};
	void *arr = NULL;
	int err;

	if (!items || !n || !total)
		return PV_EINVAL;
	if (!f)
		f = &all;
	pgs_p_text(&a, f->action ? f->action : "", NOCAP);
	pgs_p_text(&a, f->actor_id ? f->actor_id : "", NOCAP);
	pgs_p_int(&a, f->from);
	pgs_p_int(&a, f->to);
	err = list_page(s, Q_AUDIT_LIST, &a, pg, sizeof(store_audit), rd_audit,
			&arr, n, total);
	*items = arr;
	return err;
}

/* ---- the person's own data ------------------------------------------------------- */

static int pq_user_set_names(store *s, const char *id, const char *first_name,
			     const char *last_name, const char *position_id,
			     int64_t now)
{
	struct pgs_args a = {0};

	if (!id || !first_name || !last_name)
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_text(&a, first_name, STORE_PERSON_MAX - 1);
	pgs_p_text(&a, last_name, STORE_PERSON_MAX - 1);
	pgs_p_text_null(&a, position_id, STORE_ID_MAX - 1);
	pgs_p_int(&a, now);
	/* no row: an unknown or closed user, or an unknown position */
	return run_change(s, Q_USER_SET_NAMES, &a, NULL);
}

/* A change made by one of the functions of migration 5
 * (pravesh_user_set_mobile, pravesh_user_set_email): 1 changed, 0 no live
 * user, -1 a unique key refused it. */
static int user_set_key(store *s, int q, const struct pgs_args *a)
{
	PGresult *r;
	int err = run(s, q, a, &r, NULL);

	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE;
	if (!err) {
		int64_t v = c_int(r, 0, 0);

		err = v == 1 ? PV_OK : v == 0 ? PV_ENOTFOUND : PV_ECONFLICT;
	}
	PQclear(r);
	return err;
}

static int pq_user_set_mobile(store *s, const char *id, const char *mobile,
			      int64_t now)
{
	struct pgs_args a = {0};

	if (!id || !mobile || !*mobile)
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_text(&a, mobile, STORE_MOBILE_MAX - 1);
	pgs_p_int(&a, now);
	return user_set_key(s, Q_USER_SET_MOBILE, &a);
}

static int pq_user_set_email(store *s, const char *id, const char *email,
			     int official, int verified, int64_t now)
{
	struct pgs_args a = {0};

	if (!id || !email || !*email)
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_text(&a, email, STORE_EMAIL_MAX - 1);
	pgs_p_int(&a, official ? 1 : 0);
	pgs_p_int(&a, verified ? 1 : 0);
	pgs_p_int(&a, now);
	return user_set_key(s, Q_USER_SET_EMAIL, &a);
}

static int pq_user_close(store *s, const char *id, int64_t erase_after,
			 int64_t now)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	int err;

	if (!id)
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_int(&a, erase_after);
	pgs_p_int(&a, now);
	err = run_change(s, Q_USER_CLOSE, &a, &c);
	return err == PV_ENOTFOUND ? user_why_not(c, id) : err;
}

static int pq_user_erase_due(store *s, int64_t now, char (*ids)[STORE_ID_MAX],
			     size_t max, size_t *n)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err, rows;

	if (!ids || !n || max < 1 || max > 100)
		return PV_EINVAL;
	*n = 0;
	pgs_p_int(&a, now);
	pgs_p_int(&a, (int64_t)max);
	err = run(s, Q_USER_ERASE_DUE, &a, &r, NULL);
	if (err)
		return err;
	rows = PQntuples(r);
	for (int i = 0; i < rows && *n < max; i++)
		c_text(r, i, 0, ids[(*n)++], STORE_ID_MAX);
	PQclear(r);
	return PV_OK;
}

static int pq_user_erase(store *s, const char *id, int64_t now)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!id)
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_int(&a, now);
	err = run(s, Q_USER_ERASE, &a, &r, NULL);
	if (!err && PQntuples(r) != 1)
		err = PV_ESTORE;
	if (!err && c_int(r, 0, 0) != 1)
		err = PQgetisnull(r, 0, 1) ? PV_ENOTFOUND : PV_ECONFLICT;
	PQclear(r);
	return err;
}

/* A delete of statement q bound to a text and a time. */
static int delete_before(store *s, int q, const char *key, int64_t before)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (!key || !*key)
		return PV_EINVAL;
	pgs_p_text(&a, key, NOCAP);
	pgs_p_int(&a, before);
	err = run(s, q, &a, &r, NULL);
	PQclear(r);
	return err;
}

static int pq_otp_forget(store *s, const char *subject, int64_t before)
{
	return delete_before(s, Q_OTP_FORGET, subject, before);
}

static int pq_outbox_forget(store *s, const char *to_addr, int64_t before)
{
	return delete_before(s, Q_OUT_FORGET, to_addr, before);
}

/* Up to max rows of statement q (a text key, then the limit) read by rd
 * into an array of records of `size` bytes; *n says how many. */
static int list_by_text(store *s, int q, const char *key, row_reader rd,
			void *out, size_t size, size_t max, size_t *n)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err, rows;

	if (!key || !n || (max && !out))
		return PV_EINVAL;
	*n = 0;
	if (max == 0)
		return PV_OK;
	pgs_p_text(&a, key, NOCAP);
	pgs_p_int(&a, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	err = run(s, q, &a, &r, NULL);
	if (err)
		return err;
	rows = PQntuples(r);
	for (int i = 0; i < rows && *n < max; i++)
		rd(r, i, 0, (char *)out + (*n)++ * size);
	PQclear(r);
	return PV_OK;
}

static void rd_consent(const PGresult *r, int i, int k, void *p)
{
	store_consent *o = p;

	memset(o, 0, sizeof *o);
	C_TEXT(r, i, k + 0, o->user_id);
	C_TEXT(r, i, k + 1, o->kind);
	C_TEXT(r, i, k + 2, o->version);
	C_TEXT(r, i, k + 3, o->client_ip);
	o->at = c_int(r, i, k + 4);
}

static int pq_consent_list(store *s, const char *user_id, store_consent *out,
			   size_t max, size_t *n)
{
	return list_by_text(s, Q_CONSENT_LIST, user_id, rd_consent, out,
			    sizeof *out, max, n);
}

static int pq_session_list(store *s, const char *user_id, store_session *out,
			   size_t max, size_t *n)
{
	return list_by_text(s, Q_SES_LIST, user_id, rd_session, out, sizeof *out,
			    max, n);
}

static int pq_request_list_contact(store *s, const char *email,
				   const char *mobile, size_t max,
				   store_request **items, size_t *n)
{
	struct pgs_args a = {0};
	store_request *arr = NULL;
	PGresult *r;
	int err, rows;

	if (!items || !n)
		return PV_EINVAL;
	*items = NULL;
	*n = 0;
	if (max == 0)
		return PV_OK;
	pgs_p_text(&a, email ? email : "", NOCAP);
	pgs_p_text(&a, mobile ? mobile : "", NOCAP);
	pgs_p_int(&a, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	err = run(s, Q_REQ_CONTACT, &a, &r, NULL);
	if (err)
		return err;
	rows = PQntuples(r);
	if (rows > 0 && !(arr = calloc((size_t)rows, sizeof *arr)))
		err = PV_ENOMEM;
	for (int i = 0; !err && i < rows; i++)
		rd_request(r, i, 0, &arr[i]);
	PQclear(r);
	if (err || rows == 0) {
		free(arr);
		return err;
	}
	*items = arr;
	*n = (size_t)rows;
	return PV_OK;
}

static int pq_audit_each_user(store *s, const char *user_id, store_audit_cb cb,
			      void *ctx)
{
	store_audit au;
	int64_t last = 0;
	int err, stop = 0, rows;

	if (!user_id || !cb)
		return PV_EINVAL;
	do {
		struct pgs_args a = {0};
		PGresult *r;

		pgs_p_text(&a, user_id, NOCAP);
		pgs_p_int(&a, last);
		err = run(s, Q_AUDIT_USER_BATCH, &a, &r, NULL);
		if (err)
			return err;
		rows = PQntuples(r);
		for (int i = 0; i < rows && !stop; i++) {
			rd_audit(r, i, 0, &au);
			last = au.id;
			stop = cb(ctx, &au);
		}
		PQclear(r);
	} while (!stop && rows == BATCH);
	return stop;
}

static int pq_token_list(store *s, const char *kind, const char *subject,
			 store_token *out, size_t max, size_t *n)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err, rows;

	if (!kind || !subject || !n || (max && !out))
		return PV_EINVAL;
	*n = 0;
	if (max == 0)
		return PV_OK;
	pgs_p_text(&a, subject, NOCAP);
	pgs_p_text(&a, kind, NOCAP);
	pgs_p_int(&a, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	err = run(s, Q_TOKEN_LIST, &a, &r, NULL);
	if (err)
		return err;
	rows = PQntuples(r);
	for (int i = 0; i < rows && *n < max; i++)
		rd_token(r, i, 0, &out[(*n)++]);
	PQclear(r);
	return PV_OK;
}

/* ---- retention ----------------------------------------------------------------- */

static int pq_upload_expired(store *s, int64_t before, size_t max,
			     store_upload *out, size_t *n)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err, rows;

	if (!out || !n || max < 1 || max > 100)
		return PV_EINVAL;
	*n = 0;
	pgs_p_int(&a, before);
	pgs_p_int(&a, (int64_t)max);
	err = run(s, Q_UP_EXPIRED, &a, &r, NULL);
	if (err)
		return err;
	rows = PQntuples(r);
	for (int i = 0; i < rows && *n < max; i++)
		rd_upload(r, i, 0, &out[(*n)++]);
	PQclear(r);
	return PV_OK;
}

static int pq_upload_files_removed(store *s, const char *id, int64_t now)
{
	struct pgs_args a = {0};
	struct pgs_conn *c;
	int err;

	if (!id)
		return PV_EINVAL;
	pgs_p_text(&a, id, NOCAP);
	pgs_p_int(&a, now);
	err = run_change(s, Q_UP_FILES_REMOVED, &a, &c);
	if (err == PV_ENOTFOUND) /* removed already, or unknown */
		err = exists_text(c, Q_UP_EXISTS, id);
	return err;
}

/* A bounded delete: $1 before, $2 max. */
static int purge(store *s, int q, int64_t before, int64_t max, int64_t *deleted)
{
	struct pgs_args a = {0};
	PGresult *r;
	int err;

	if (deleted)
		*deleted = 0;
	if (max < 1)
		return PV_EINVAL;
	pgs_p_int(&a, before);
	pgs_p_int(&a, max);
	err = run(s, q, &a, &r, NULL);
	if (!err && deleted)
		*deleted = changed(r);
	PQclear(r);
	return err;
}

static int pq_outbox_purge(store *s, int64_t before, int64_t max,
			   int64_t *deleted)
{
	return purge(s, Q_OUT_PURGE, before, max, deleted);
}

static int pq_audit_purge(store *s, int64_t before, int64_t max,
			  int64_t *deleted)
{
	return purge(s, Q_AUDIT_PURGE, before, max, deleted);
}

/* PostgreSQL keeps dead rows until VACUUM, and VACUUM (FULL), which would
 * rewrite the tables, locks them: the operator's to schedule
 * (docs/operations.md). Nothing to do here but refuse a transaction. */
static int pq_scrub(store *s)
{
	struct pgs_conn *c;
	int err = pgs_enter(s, &c);

	if (err)
		return err;
	return c->in_tx ? PV_EINVAL : PV_OK;
}

const struct store_ops pgs_ops = {
	.name = "postgres",
	.close = pgs_close,
	.migrate = pgs_migrate,
	.ping = pgs_ping,
	.backup = pgs_backup,
	.tx_begin = pgs_tx_begin,
	.tx_commit = pgs_tx_commit,
	.tx_rollback = pgs_tx_rollback,
	.org_upsert = pq_org_upsert,
	.org_get = pq_org_get,
	.org_each = pq_org_each,
	.org_children = pq_org_children,
	.dir_version = pq_dir_version,
	.org_update = pq_org_update,
	.position_insert = pq_position_insert,
	.position_upsert_name = pq_position_upsert_name,
	.position_get = pq_position_get,
	.position_each = pq_position_each,
	.position_update = pq_position_update,
	.user_insert = pq_user_insert,
	.user_insert_batch = pq_user_insert_batch,
	.user_get = pq_user_get,
	.user_by_email = pq_user_by_email,
	.user_by_mobile = pq_user_by_mobile,
	.user_set_status = pq_user_set_status,
	.user_verify_email = pq_user_verify_email,
	.user_logged_in = pq_user_logged_in,
	.user_list = pq_user_list,
	.role_add = pq_role_add,
	.role_list = pq_role_list,
	.cred_insert = pq_cred_insert,
	.cred_by_username = pq_cred_by_username,
	.cred_by_user = pq_cred_by_user,
	.admin_list = pq_admin_list,
	.consent_add = pq_consent_add,
	.otp_insert = pq_otp_insert,
	.otp_last = pq_otp_last,
	.otp_use = pq_otp_use,
	.otp_fail = pq_otp_fail,
	.throttle_hit = pq_throttle_hit,
	.throttle_peek = pq_throttle_peek,
	.throttle_peek_share = pq_throttle_peek_share,
	.throttle_peek_pair = pq_throttle_peek_pair,
	.throttle_undo = pq_throttle_undo,
	.throttle_clear = pq_throttle_clear,
	.sweep = pq_sweep,
	.token_insert = pq_token_insert,
	.token_consume = pq_token_consume,
	.token_get = pq_token_get,
	.session_insert = pq_session_insert,
	.session_login = pq_session_login,
	.session_get = pq_session_get,
	.session_touch = pq_session_touch,
	.session_revoke = pq_session_revoke,
	.session_revoke_user = pq_session_revoke_user,
	.request_insert = pq_request_insert,
	.request_get = pq_request_get,
	.request_decide = pq_request_decide,
	.request_list = pq_request_list,
	.upload_insert = pq_upload_insert,
	.upload_get = pq_upload_get,
	.upload_list = pq_upload_list,
	.upload_claim = pq_upload_claim,
	.upload_progress = pq_upload_progress,
	.upload_finish = pq_upload_finish,
	.upload_failure_add = pq_upload_failure_add,
	.upload_failure_each = pq_upload_failure_each,
	.upload_status_counts = pq_upload_status_counts,
	.outbox_insert = pq_outbox_insert,
	.outbox_claim = pq_outbox_claim,
	.outbox_sent = pq_outbox_sent,
	.outbox_retry = pq_outbox_retry,
	.outbox_fail = pq_outbox_fail,
	.outbox_stats = pq_outbox_stats,
	.campaign_insert = pq_campaign_insert,
	.campaign_claim = pq_campaign_claim,
	.campaign_users = pq_campaign_users,
	.campaign_advance = pq_campaign_advance,
	.campaign_release = pq_campaign_release,
	.campaign_finish = pq_campaign_finish,
	.audit_add = pq_audit_add,
	.audit_list = pq_audit_list,
	.blob_put = pgs_blob_put,
	.blob_get = pgs_blob_get,
	.blob_delete = pgs_blob_delete,
	.user_set_names = pq_user_set_names,
	.user_set_mobile = pq_user_set_mobile,
	.user_set_email = pq_user_set_email,
	.user_close = pq_user_close,
	.user_erase_due = pq_user_erase_due,
	.user_erase = pq_user_erase,
	.otp_forget = pq_otp_forget,
	.outbox_forget = pq_outbox_forget,
	.consent_list = pq_consent_list,
	.session_list = pq_session_list,
	.request_list_contact = pq_request_list_contact,
	.audit_each_user = pq_audit_each_user,
	.token_list = pq_token_list,
	.upload_expired = pq_upload_expired,
	.upload_files_removed = pq_upload_files_removed,
	.outbox_purge = pq_outbox_purge,
	.audit_purge = pq_audit_purge,
	.scrub = pq_scrub,
};
