/* sqlite_ops.c: every store operation of the SQLite backend. Each one runs
 * prepared statements cached on the calling thread's connection (see
 * sqlite_conn.c), binds every value, and maps SQLite's answers to pv_err.
 * Uniqueness is decided by the unique indexes, never by a prior read. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_internal.h"
#include "util/util.h"

/* ---- SQL ---------------------------------------------------------------- */

#define ORG_COLS "id, name, sector, type, parent_id, active, created_at, updated_at"
#define POS_COLS "id, name, active, created_at"
/* The columns a user is inserted with (bind_user's order):
 * last_login_at starts at its default, 0, and erase_after too (0 until
 * closed). */
#define USER_INS_COLS                                                          \
	"id, first_name, last_name, email, official_email, mobile, org_id, "   \
	"position_id, status, source, created_at, updated_at, email_verified, " \
	"upload_id"
/* The columns read (rd_user's order): USER_NCOLS of them. */
#define USER_COLS USER_INS_COLS ", last_login_at, erase_after"
#define USER_NCOLS 16
/* the same, of users joined as u (admin_list, user_list's name search) */
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

/* user_list: users with org_seq, newest (highest) first; users_fts rows
 * are user_orgs.num * 2^32 + org_seq (sqlite_schema.c, migration 5). */
#define USER_SEQ_COLS USER_COLS ", org_seq"
#define USER_FTS_SHIFT "4294967296"
/* Filter of admin_list: ?1 role, ?2 org or '', ?3 status or '', ?4 LIKE
 * pattern or ''. */
#define ADMIN_FILTER                                                           \
	" FROM roles r JOIN users u ON u.id = r.user_id"                       \
	" LEFT JOIN credentials c ON c.user_id = u.id"                         \
	" LEFT JOIN orgs o ON o.id = r.org_id"                                 \
	" WHERE r.role = ?1 AND (?2 = '' OR r.org_id = ?2) AND"                \
	" (?3 = '' OR u.status = ?3) AND (?4 = '' OR"                          \
	" u.first_name LIKE ?4 ESCAPE '\\' OR u.last_name LIKE ?4 ESCAPE '\\'" \
	" OR u.email LIKE ?4 ESCAPE '\\' OR u.mobile LIKE ?4 ESCAPE '\\' OR"   \
	" c.username LIKE ?4 ESCAPE '\\')"
/* Filter of audit_list: ?1 action or '', ?2 actor or '', ?3 from, ?4 to. */
#define AUDIT_FILTER                                                           \
	" FROM audit WHERE (?1 = '' OR action_name = ?1) AND"                  \
	" (?2 = '' OR actor_id = ?2) AND (?3 <= 0 OR at >= ?3) AND"            \
	" (?4 <= 0 OR at < ?4)"
/* The organisations at or below ?1 (UNION stops at a cycle). */
#define ORG_SUBTREE                                                            \
	"WITH RECURSIVE sub(id) AS (SELECT ?1 UNION SELECT o.id FROM orgs o"   \
	" JOIN sub ON o.parent_id = sub.id) "
#define REQ_FILTER                                                             \
	" FROM requests WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR kind = ?2)"
/* Live users hold the unique e-mail and mobile (the partial indexes say
 * the same words, so that SQLite uses them). */
#define USER_LIVE " status NOT IN ('closed', 'erased')"

enum {
	Q_ORG_UPSERT = SQS_SLOT_FIRST_OP,
	Q_ORG_GET,
	Q_ORG_EACH,
	Q_ORG_CHILDREN,
	Q_DIR_VERSION,
	Q_ORG_UPDATE,
	Q_ORG_IN_SUBTREE,
	Q_ORG_ACTIVE_CHILD,
	Q_ORG_PARENT_INACTIVE,
	Q_POS_UPDATE,
	Q_POS_INSERT,
	Q_POS_INSERT_IGNORE,
	Q_POS_BY_NAME,
	Q_POS_GET,
	Q_POS_EACH,
	Q_USER_INSERT,
	Q_USER_GET,
	Q_USER_BY_EMAIL,
	Q_USER_BY_MOBILE,
	Q_USER_SET_STATUS,
	Q_USER_EXISTS,
	Q_USER_LIST,
	Q_USER_LIST_STATUS,
	Q_USER_COUNT,
	Q_USER_TOP,
	Q_USER_ORG_NUM,
	Q_USER_IN_ORG_MOBILE,
	Q_USER_IN_ORG_EMAIL,
	Q_USER_NAME,
	Q_USER_NAME_COUNT,
	Q_USER_NAME_COUNT_STATUS,
	Q_USER_LOGGED_IN,
	Q_CRED_BY_USER,
	Q_ADMIN_LIST,
	Q_ADMIN_COUNT,
	Q_ROLE_ADD,
	Q_ROLE_LIST,
	Q_CRED_INSERT,
	Q_CRED_BY_USERNAME,
	Q_CONSENT_ADD,
	Q_OTP_KILL,
	Q_OTP_INSERT,
	Q_OTP_LAST,
	Q_OTP_USE,
	Q_OTP_FAIL,
	Q_OTP_EXISTS,
	Q_THR_HIT,
	Q_THR_PEEK,
	Q_THR_DEL,
	Q_THR_UNDO,
	Q_SWEEP_OTPS,
	Q_SWEEP_TOKENS,
	Q_SWEEP_SESSIONS,
	Q_SWEEP_THROTTLES,
	Q_USER_VERIFY_EMAIL,
	Q_TOKEN_INSERT,
	Q_TOKEN_CONSUME,
	Q_TOKEN_STATE,
	Q_TOKEN_GET,
	Q_SES_INSERT,
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
	Q_REQ_COUNT,
	Q_UP_INSERT,
	Q_UP_GET,
	Q_UP_LIST,
	Q_UP_COUNT,
	Q_UP_CLAIM,
	Q_UP_PROGRESS,
	Q_UP_EXISTS,
	Q_UP_FINISH,
	Q_UP_FAIL_ADD,
	Q_UP_FAIL_EACH,
	Q_UP_COUNTS,
	Q_OUT_INSERT,
	Q_OUT_CLAIM,
	Q_OUT_SENT,
	Q_OUT_RETRY,
	Q_OUT_FAIL,
	Q_OUT_STATS,
	Q_AUDIT_ADD,
	Q_AUDIT_LIST,
	Q_AUDIT_COUNT,
	Q_USER_SET_NAMES,
	Q_USER_SET_MOBILE,
	Q_USER_SET_EMAIL,
	Q_USER_CLOSE,
	Q_USER_ERASE_DUE,
	Q_ERASE_READ,
	Q_ERASE_USER,
	Q_ERASE_ROLES,
	Q_ERASE_CRED,
	Q_ERASE_SESSIONS,
	Q_ERASE_TOKENS,
	Q_ERASE_CONSENTS,
	Q_ERASE_REQUESTS,
	Q_ERASE_OUTBOX,
	Q_ERASE_AUDIT_ACTOR,
	Q_ERASE_AUDIT_TARGET,
	Q_OTP_FORGET,
	Q_CONSENT_LIST,
	Q_SES_LIST,
	Q_REQ_CONTACT,
	Q_AUDIT_USER,
	Q_TOKEN_LIST,
	Q_OUT_FORGET,
	Q_UP_EXPIRED,
	Q_UP_FILES_REMOVED,
	Q_OUT_PURGE,
	Q_AUDIT_PURGE,
	Q_USER_INSERT_BATCH,
	Q_USER_INSERT_MANY,
	Q_USER_MINE,
	Q_TEMP_MEMORY,
	Q_BATCH_ROWID,
	Q_BATCH_ON,
	Q_BATCH_ORGS,
	Q_BATCH_COUNTS,
	Q_BATCH_FTS,
	Q_BATCH_OFF,
	Q_ORG_EXISTS,
	Q_POS_EXISTS,
	Q_CAMP_INSERT,
	Q_CAMP_CLAIM,
	Q_CAMP_USERS,
	Q_CAMP_ADVANCE,
	Q_CAMP_RELEASE,
	Q_CAMP_FINISH,
	Q_CAMP_STATE,
	Q_END
};

_Static_assert(Q_END <= SQS_SLOTS, "statement cache too small");

static const char *const sql[Q_END] = {
	[Q_ORG_UPSERT] =
		"INSERT INTO orgs (" ORG_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
		" ?7, ?8) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
		" sector = excluded.sector, type = excluded.type, parent_id ="
		" excluded.parent_id, active = excluded.active, updated_at ="
		" excluded.updated_at WHERE orgs.name IS NOT excluded.name OR"
		" orgs.sector IS NOT excluded.sector OR orgs.type IS NOT"
		" excluded.type OR orgs.parent_id IS NOT excluded.parent_id OR"
		" orgs.active IS NOT excluded.active",
	[Q_ORG_GET] = "SELECT " ORG_COLS " FROM orgs WHERE id = ?1",
	[Q_ORG_EACH] = "SELECT " ORG_COLS " FROM orgs ORDER BY id",
	[Q_ORG_CHILDREN] = "SELECT count(*) FROM orgs WHERE parent_id = ?1",
	[Q_DIR_VERSION] = "SELECT version FROM dir_version WHERE id = 1",
	/* One statement decides: ?1 id, ?2 name, ?3 sector, ?4 type, ?5
	 * parent (NULL: unchanged), ?6 active (-1: unchanged), ?7 now. The
	 * parent must exist and not be in the organisation's own subtree; an
	 * organisation with an active child stays active; one that is made
	 * active, or moved while active, needs an active parent (or none). */
	[Q_ORG_UPDATE] =
		"UPDATE orgs SET name = coalesce(?2, name), sector ="
		" coalesce(?3, sector), type = coalesce(?4, type), parent_id ="
		" coalesce(?5, parent_id), active = CASE WHEN ?6 < 0 THEN active"
		" ELSE ?6 END, updated_at = ?7 WHERE id = ?1 AND (?5 IS NULL OR"
		" ?5 = '' OR (?5 IN (SELECT id FROM orgs) AND ?5 NOT IN ("
		ORG_SUBTREE "SELECT id FROM sub))) AND (?6 <> 0 OR NOT EXISTS"
		" (SELECT 1 FROM orgs ch WHERE ch.parent_id = ?1 AND ch.active ="
		" 1 AND ch.id <> ?1)) AND ((?5 IS NULL AND ?6 <> 1) OR (CASE WHEN"
		" ?6 < 0 THEN active ELSE ?6 END) = 0 OR coalesce(?5, parent_id) ="
		" '' OR EXISTS (SELECT 1 FROM orgs pa WHERE pa.id = coalesce(?5,"
		" orgs.parent_id) AND pa.active = 1)) RETURNING " ORG_COLS,
	[Q_ORG_IN_SUBTREE] = ORG_SUBTREE "SELECT 1 FROM sub WHERE id = ?2",
	/* ?1 id, ?2 new parent (NULL: its own), ?3 1 when it is made
	 * active: the parent it would have is inactive */
	[Q_ORG_PARENT_INACTIVE] = "SELECT 1 FROM orgs o JOIN orgs pa ON pa.id ="
				  " coalesce(?2, o.parent_id) WHERE o.id = ?1 AND"
				  " pa.active = 0 AND (o.active = 1 OR ?3 = 1)",
	[Q_ORG_ACTIVE_CHILD] = "SELECT 1 FROM orgs WHERE parent_id = ?1 AND"
			       " active = 1 AND id <> ?1 LIMIT 1",
	[Q_POS_UPDATE] = "UPDATE positions SET name = coalesce(?2, name),"
			 " active = CASE WHEN ?3 < 0 THEN active ELSE ?3 END"
			 " WHERE id = ?1 RETURNING " POS_COLS,
	[Q_POS_INSERT] = "INSERT INTO positions (" POS_COLS ")"
			 " VALUES (?1, ?2, ?3, ?4)",
	[Q_POS_INSERT_IGNORE] = "INSERT INTO positions (" POS_COLS ")"
				" VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[Q_POS_BY_NAME] = "SELECT " POS_COLS
			  " FROM positions WHERE lower(name) = lower(?1)",
	[Q_POS_GET] = "SELECT " POS_COLS " FROM positions WHERE id = ?1",
	[Q_POS_EACH] = "SELECT " POS_COLS
		       " FROM positions ORDER BY lower(name), id",
	[Q_USER_INSERT] = "INSERT INTO users (" USER_INS_COLS ", org_seq) VALUES"
			  " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
			  " ?14, (SELECT ifnull(max(org_seq), 0) + 1 FROM users"
			  " WHERE org_id = ?7))",
	/* A collision refuses the row without an error, so the statement
	 * never aborts (and never writes a statement journal). */
	[Q_USER_INSERT_BATCH] = "INSERT INTO users (" USER_INS_COLS ", org_seq)"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
				" ?11, ?12, ?13, ?14, (SELECT ifnull(max(org_seq), 0)"
				" + 1 FROM users WHERE org_id = ?7)) ON CONFLICT DO"
				" NOTHING",
	/* Q_USER_INSERT_MANY: BATCH_ROWS users of one organisation, each
	 * with its org_seq bound, made once by many_sql() from constants */
	/* the row a statement of a batch numbered ?2 in organisation ?1,
	 * when it holds id ?3: that row of the statement went in (a user
	 * stored before with the same id, e-mail and mobile has another
	 * number) */
	[Q_USER_MINE] = "SELECT 1 FROM users WHERE org_id = ?1 AND org_seq = ?2"
			" AND id = ?3",
	[Q_TEMP_MEMORY] = "PRAGMA temp_store = MEMORY",
	/* the users list of a batch's users, set-wise (migration 8): the
	 * users with a rowid above ?1 are the call's (the highest before it;
	 * the caller holds the writer). New organisations numbered in the
	 * order their first users came, as the trigger numbers them. */
	[Q_BATCH_ROWID] = "SELECT ifnull(max(rowid), 0) FROM users",
	[Q_BATCH_ON] = "INSERT INTO user_batch (one) VALUES (1) ON CONFLICT DO NOTHING",
	[Q_BATCH_ORGS] = "INSERT INTO user_orgs (org_id, num) SELECT org_id,"
			 " (SELECT ifnull(max(num), 0) FROM user_orgs) + row_number()"
			 " OVER (ORDER BY min(rowid)) FROM users WHERE rowid > ?1 AND"
			 " org_seq IS NOT NULL AND org_id NOT IN (SELECT org_id FROM"
			 " user_orgs) GROUP BY org_id",
	[Q_BATCH_COUNTS] = "INSERT INTO user_counts (org_id, status, n) SELECT"
			   " org_id, status, count(*) FROM users WHERE rowid > ?1"
			   " AND org_seq IS NOT NULL GROUP BY org_id, status"
			   " ON CONFLICT (org_id, status) DO UPDATE SET n = n + excluded.n",
	/* ascending rowids: FTS5 writes its pending rows out whenever one
	 * comes smaller than the last */
	[Q_BATCH_FTS] = "INSERT INTO users_fts (rowid, words) SELECT o.num *"
			" 4294967296 + u.org_seq, u.first_name || ' ' || u.last_name"
			" FROM users u JOIN user_orgs o ON o.org_id = u.org_id WHERE"
			" u.rowid > ?1 AND u.org_seq IS NOT NULL ORDER BY 1",
	[Q_BATCH_OFF] = "DELETE FROM user_batch",
	[Q_ORG_EXISTS] = "SELECT 1 FROM orgs WHERE id = ?1",
	[Q_POS_EXISTS] = "SELECT 1 FROM positions WHERE id = ?1",
	[Q_USER_VERIFY_EMAIL] = "UPDATE users SET email_verified = 1,"
				" updated_at = ?2 WHERE id = ?1",
	[Q_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
	[Q_USER_BY_EMAIL] = "SELECT " USER_COLS
			    " FROM users WHERE lower(email) = lower(?1) AND"
			    USER_LIVE,
	[Q_USER_BY_MOBILE] = "SELECT " USER_COLS " FROM users WHERE mobile = ?1"
			     " AND" USER_LIVE,
	[Q_USER_EXISTS] = "SELECT 1 FROM users WHERE id = ?1",
	[Q_USER_SET_STATUS] = "UPDATE users SET status = ?2, updated_at = ?3"
			      " WHERE id = ?1 AND" USER_LIVE,
	/* ?1 org, ?2 highest org_seq, ?3 limit, ?4 offset, ?5 status */
	[Q_USER_LIST] = "SELECT " USER_SEQ_COLS " FROM users WHERE org_id = ?1"
			" AND org_seq <= ?2 ORDER BY org_seq DESC LIMIT ?3 OFFSET ?4",
	[Q_USER_LIST_STATUS] = "SELECT " USER_SEQ_COLS " FROM users WHERE"
			       " org_id = ?1 AND status = ?5 AND org_seq <= ?2"
			       " ORDER BY org_seq DESC LIMIT ?3 OFFSET ?4",
	/* kept counts: ?1 org, ?2 status or '' */
	[Q_USER_COUNT] = "SELECT ifnull(sum(n), 0) FROM user_counts WHERE"
			 " org_id = ?1 AND (?2 = '' OR status = ?2)",
	[Q_USER_TOP] = "SELECT ifnull(max(org_seq), 0) FROM users WHERE org_id = ?1",
	[Q_USER_ORG_NUM] = "SELECT num FROM user_orgs WHERE org_id = ?1",
	/* one live user by a unique key within the org: ?1 key, ?2 org,
	 * ?3 status (USER_LIVE: the partial unique indexes serve them) */
	[Q_USER_IN_ORG_MOBILE] = "SELECT " USER_SEQ_COLS " FROM users WHERE"
				 " mobile = ?1 AND" USER_LIVE " AND org_id = ?2"
				 " AND (?3 = '' OR status = ?3)",
	[Q_USER_IN_ORG_EMAIL] = "SELECT " USER_SEQ_COLS " FROM users WHERE"
				" lower(email) = lower(?1) AND" USER_LIVE " AND"
				" org_id = ?2 AND (?3 = '' OR status = ?3)",
	/* name search: ?1 match, ?2 ?3 rowid range, ?4 limit, ?5 org,
	 * ?6 status or '', ?7 offset */
	[Q_USER_NAME] = "SELECT " USER_COLS_U ", u.org_seq"
			" FROM users_fts f JOIN users u ON u.org_id = ?5 AND"
			" u.org_seq = (f.rowid % " USER_FTS_SHIFT ") WHERE users_fts"
			" MATCH ?1 AND f.rowid BETWEEN ?2 AND ?3 AND (?6 = '' OR"
			" u.status = ?6) ORDER BY f.rowid DESC LIMIT ?4 OFFSET ?7",
	[Q_USER_NAME_COUNT] = "SELECT count(*) FROM (SELECT 1 FROM users_fts"
			      " WHERE users_fts MATCH ?1 AND rowid BETWEEN ?2 AND"
			      " ?3 LIMIT ?4)",
	[Q_USER_NAME_COUNT_STATUS] = "SELECT count(*) FROM (SELECT 1 FROM"
				     " users_fts f JOIN users u ON u.org_id = ?5"
				     " AND u.org_seq = (f.rowid % " USER_FTS_SHIFT
				     ") WHERE users_fts MATCH ?1 AND f.rowid"
				     " BETWEEN ?2 AND ?3 AND u.status = ?6 LIMIT ?4)",
	[Q_USER_LOGGED_IN] = "UPDATE users SET last_login_at = ?2 WHERE id = ?1",
	[Q_CRED_BY_USER] = "SELECT user_id, username, pwhash FROM credentials"
			   " WHERE user_id = ?1",
	[Q_ADMIN_LIST] = "SELECT " USER_COLS_U ", r.role, r.org_id,"
			 " coalesce(c.username, '')" ADMIN_FILTER
			 " ORDER BY o.name IS NOT NULL, lower(o.name),"
			 " lower(u.last_name), lower(u.first_name), u.id"
			 " LIMIT :limit OFFSET :offset",
	[Q_ADMIN_COUNT] = "SELECT count(*)" ADMIN_FILTER,
	[Q_ROLE_ADD] = "INSERT INTO roles (user_id, role, org_id)"
		       " VALUES (?1, ?2, ?3)",
	[Q_ROLE_LIST] = "SELECT role, org_id FROM roles WHERE user_id = ?1"
			" ORDER BY role, org_id",
	[Q_CRED_INSERT] = "INSERT INTO credentials (user_id, username, pwhash)"
			  " VALUES (?1, ?2, ?3)",
	[Q_CRED_BY_USERNAME] = "SELECT user_id, username, pwhash FROM"
			       " credentials WHERE lower(username) = lower(?1)",
	[Q_CONSENT_ADD] = "INSERT INTO consents (user_id, kind, version,"
			  " client_ip, at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_OTP_KILL] = "UPDATE otps SET state = 2 WHERE subject = ?1 AND"
		       " purpose = ?2 AND state = 0",
	[Q_OTP_INSERT] = "INSERT INTO otps (subject, purpose, code_mac,"
			 " created_at, expires_at, attempts, state)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, 0, 0) RETURNING id",
	[Q_OTP_LAST] = "SELECT " OTP_COLS " FROM otps WHERE subject = ?1 AND"
		       " purpose = ?2 ORDER BY created_at DESC, id DESC LIMIT 1",
	[Q_OTP_USE] = "UPDATE otps SET state = 1 WHERE id = ?1 AND state = 0",
	[Q_OTP_FAIL] = "UPDATE otps SET attempts = attempts + 1, state = CASE"
		       " WHEN attempts + 1 >= ?2 THEN 2 ELSE 0 END"
		       " WHERE id = ?1 AND state = 0 RETURNING attempts",
	[Q_OTP_EXISTS] = "SELECT 1 FROM otps WHERE id = ?1",
	/* One statement decides: ?1 key, ?2 now, ?3 window, ?4 lock_at, ?5
	 * lock_ms. In the update, bare column names are the row as it was;
	 * a new window starts when the window ended or a lock was served. */
	[Q_THR_HIT] =
		"INSERT INTO throttles (" THR_COLS ") VALUES (?1, 1, ?2, ?2 + ?3,"
		" CASE WHEN ?4 > 0 AND ?4 <= 1 THEN ?2 + ?5 ELSE 0 END)"
		" ON CONFLICT (tkey) DO UPDATE SET"
		" hits = CASE WHEN locked_until > ?2 THEN hits"
		"  WHEN window_end <= ?2 OR locked_until > 0 THEN 1"
		"  ELSE hits + 1 END,"
		" window_start = CASE WHEN locked_until > ?2 THEN window_start"
		"  WHEN window_end <= ?2 OR locked_until > 0 THEN ?2"
		"  ELSE window_start END,"
		" window_end = CASE WHEN locked_until > ?2 THEN window_end"
		"  WHEN window_end <= ?2 OR locked_until > 0 THEN ?2 + ?3"
		"  ELSE window_end END,"
		" locked_until = CASE WHEN locked_until > ?2 THEN locked_until"
		"  WHEN ?4 > 0 AND (CASE WHEN window_end <= ?2 OR"
		"  locked_until > 0 THEN 1 ELSE hits + 1 END) >= ?4 THEN ?2 + ?5"
		"  ELSE 0 END"
		" RETURNING " THR_COLS,
	[Q_THR_PEEK] = "SELECT " THR_COLS " FROM throttles WHERE tkey = ?1"
		       " AND (window_end > ?2 OR locked_until > ?2)",
	[Q_THR_DEL] = "DELETE FROM throttles WHERE tkey = ?1",
	[Q_THR_UNDO] = "UPDATE throttles SET hits = hits - 1 WHERE tkey = ?1"
		       " AND hits > 0 AND window_end > ?2",
	[Q_SWEEP_OTPS] = "DELETE FROM otps WHERE id IN (SELECT id FROM otps"
			 " WHERE expires_at <= ?1 LIMIT ?2)",
	[Q_SWEEP_TOKENS] = "DELETE FROM tokens WHERE hash IN (SELECT hash FROM"
			   " tokens WHERE expires_at <= ?1 LIMIT ?2)",
	[Q_SWEEP_SESSIONS] = "DELETE FROM sessions WHERE hash IN (SELECT hash"
			     " FROM sessions WHERE expires_at <= ?1 OR"
			     " last_seen <= ?3 LIMIT ?2)",
	[Q_SWEEP_THROTTLES] = "DELETE FROM throttles WHERE tkey IN (SELECT tkey"
			      " FROM throttles WHERE window_end <= ?1 AND"
			      " locked_until <= ?1 LIMIT ?2)",
	[Q_TOKEN_INSERT] = "INSERT INTO tokens (" TOKEN_COLS ")"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
	[Q_TOKEN_CONSUME] = "UPDATE tokens SET used_at = ?3 WHERE hash = ?1"
			    " AND kind = ?2 AND used_at = 0 AND expires_at > ?4"
			    " RETURNING " TOKEN_COLS,
	[Q_TOKEN_STATE] = "SELECT expires_at, used_at FROM tokens"
			  " WHERE hash = ?1 AND kind = ?2",
	[Q_SES_INSERT] = "INSERT INTO sessions (" SES_COLS ")"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[Q_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?1"
			" AND kind = ?2 AND used_at = 0 AND expires_at > ?3",
	[Q_SES_GET] = "SELECT " SES_COLS " FROM sessions WHERE hash = ?1",
	[Q_SES_TOUCH] = "UPDATE sessions SET last_seen = ?2 WHERE hash = ?1",
	[Q_SES_REVOKE] = "UPDATE sessions SET revoked = 1 WHERE hash = ?1",
	[Q_SES_REVOKE_USER] = "UPDATE sessions SET revoked = 1"
			      " WHERE user_id = ?1 AND revoked = 0",
	[Q_REQ_INSERT] = "INSERT INTO requests (" REQ_COLS ") VALUES (?1, ?2,"
			 " ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', '', '', '',"
			 " ?10, 0)",
	[Q_REQ_PENDING_BY_NAME] = "SELECT " REQ_COLS " FROM requests WHERE"
				  " kind = ?1 AND lower(name) = lower(?2) AND"
				  " status = 'pending'",
	[Q_REQ_GET] = "SELECT " REQ_COLS " FROM requests WHERE id = ?1",
	[Q_REQ_DECIDE] = "UPDATE requests SET status = ?2, name = CASE WHEN"
			 " ?3 = '' THEN name ELSE ?3 END, reason = ?4,"
			 " created_id = ?5, decided_by = ?6, decided_at = ?7"
			 " WHERE id = ?1 AND status = 'pending'",
	[Q_REQ_EXISTS] = "SELECT 1 FROM requests WHERE id = ?1",
	[Q_REQ_LIST] = "SELECT " REQ_COLS REQ_FILTER
		       " ORDER BY created_at, rowid LIMIT :limit OFFSET :offset",
	[Q_REQ_COUNT] = "SELECT count(*)" REQ_FILTER,
	[Q_UP_INSERT] = "INSERT INTO uploads (" UP_COLS ") VALUES (?1, ?2, ?3,"
			" ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?15, ?16, ?13, ?14, ?17,"
			" 0)",
	[Q_UP_GET] = "SELECT " UP_COLS " FROM uploads WHERE id = ?1",
	[Q_UP_LIST] = "SELECT " UP_COLS " FROM uploads WHERE org_id = ?1"
		      " ORDER BY created_at DESC, rowid DESC"
		      " LIMIT :limit OFFSET :offset",
	[Q_UP_COUNT] = "SELECT count(*) FROM uploads WHERE org_id = ?1",
	/* One statement: the pick and the take cannot be separated. */
	[Q_UP_CLAIM] = "UPDATE uploads SET status = 'IN_PROGRESS',"
		       " claimed_by = ?1, lease_until = ?3, updated_at = ?2"
		       " WHERE id = (SELECT id FROM uploads WHERE status ="
		       " 'QUEUED' OR (status = 'IN_PROGRESS' AND lease_until <="
		       " ?2) ORDER BY created_at, rowid LIMIT 1) AND (status ="
		       " 'QUEUED' OR (status = 'IN_PROGRESS' AND lease_until <="
		       " ?2)) RETURNING " UP_COLS,
	[Q_UP_PROGRESS] = "UPDATE uploads SET total_records = ?3,"
			  " success_records = ?4, failed_records = ?5,"
			  " cursor_pos = ?6, lease_until = ?7, updated_at = ?8"
			  " WHERE id = ?1 AND status = 'IN_PROGRESS' AND"
			  " claimed_by = ?2",
	[Q_UP_EXISTS] = "SELECT 1 FROM uploads WHERE id = ?1",
	[Q_UP_FINISH] = "UPDATE uploads SET status = ?2, error = ?3,"
			" claimed_by = '', lease_until = 0, updated_at = ?4"
			" WHERE id = ?1 AND (?5 = '' OR claimed_by = ?5)",
	[Q_UP_FAIL_ADD] = "INSERT INTO upload_failures (upload_id, row_no,"
			  " errors) VALUES (?1, ?2, ?3)",
	[Q_UP_FAIL_EACH] = "SELECT row_no, errors FROM upload_failures"
			   " WHERE upload_id = ?1 ORDER BY row_no",
	[Q_UP_COUNTS] = "SELECT status, count(*) FROM uploads GROUP BY status",
	[Q_OUT_INSERT] = "INSERT INTO outbox (channel, to_addr, template_name,"
			 " lang, params, status, attempts, next_at, created_at)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?8)"
			 " RETURNING id",
	/* ORDER BY next_at, id walks the (status, next_at) index in order
	 * (its entries end with the rowid): ORDER BY id alone made SQLite
	 * collect and sort every due message for each claim, which with the
	 * 2 million welcome messages of a bulk upload held the write lock for
	 * tens of milliseconds per claim. */
	[Q_OUT_CLAIM] = "UPDATE outbox SET claimed_by = ?1, lease_until = ?3"
			" WHERE id = (SELECT id FROM outbox WHERE status ="
			" 'queued' AND next_at <= ?2 AND lease_until <= ?2"
			" ORDER BY next_at, id LIMIT 1) AND status = 'queued' AND"
			" lease_until <= ?2 RETURNING " OUT_COLS,
	/* a delivered or abandoned message keeps no parameters: they held
	 * codes and links */
	[Q_OUT_SENT] = "UPDATE outbox SET status = 'sent', sent_at = ?2,"
		       " params = '{}', claimed_by = '', lease_until = 0"
		       " WHERE id = ?1",
	[Q_OUT_RETRY] = "UPDATE outbox SET status = 'queued', attempts = ?2,"
			" next_at = ?3, last_error = ?4, claimed_by = '',"
			" lease_until = 0 WHERE id = ?1",
	[Q_OUT_FAIL] = "UPDATE outbox SET status = 'failed', attempts = ?2,"
		       " last_error = ?3, params = '{}', claimed_by = '',"
		       " lease_until = 0 WHERE id = ?1",
	[Q_OUT_STATS] = "SELECT (SELECT count(*) FROM outbox WHERE status ="
			" 'queued') + (SELECT coalesce(sum(max(u.success_records"
			" - c.handled, 0)), 0) FROM campaigns c JOIN uploads u ON"
			" u.id = c.upload_id WHERE c.status = 'active'),"
			" (SELECT count(*) FROM outbox WHERE status = 'failed')",
	[Q_CAMP_INSERT] = "INSERT INTO campaigns (upload_id, channel,"
			  " template_name, lang, params, status, next_at,"
			  " created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6,"
			  " ?7) ON CONFLICT (upload_id, channel) DO NOTHING"
			  " RETURNING id",
	[Q_CAMP_CLAIM] = "UPDATE campaigns SET claimed_by = ?1, lease_until = ?3"
			 " WHERE id = (SELECT id FROM campaigns WHERE status ="
			 " 'active' AND next_at <= ?2 AND lease_until <= ?2"
			 " ORDER BY next_at, id LIMIT 1) AND status = 'active'"
			 " AND lease_until <= ?2 RETURNING " CAMP_COLS,
	/* ?1, ?2: the ids of the upload's first and last possible rows after
	 * the cursor (store_upload_user_id) */
	[Q_CAMP_USERS] = "SELECT " USER_COLS " FROM users WHERE id >= ?1 AND"
			 " id <= ?2 ORDER BY id LIMIT ?3",
	[Q_CAMP_ADVANCE] = "UPDATE campaigns SET cursor_row = ?3, handled ="
			   " handled + 1, lease_until = ?4 WHERE id = ?1 AND"
			   " claimed_by = ?2 AND status = 'active' AND"
			   " cursor_row < ?3",
	[Q_CAMP_RELEASE] = "UPDATE campaigns SET claimed_by = '', lease_until ="
			   " 0, next_at = ?3 WHERE id = ?1 AND claimed_by = ?2"
			   " AND status = 'active'",
	/* One statement decides "the upload has finished and nobody is
	 * left after the cursor" (?4, ?5: the id range after it): the
	 * upload's last chunk commits its users and its final status
	 * together. */
	[Q_CAMP_FINISH] = "UPDATE campaigns SET status = 'done', finished_at ="
			  " ?3, claimed_by = '', lease_until = 0 WHERE id = ?1"
			  " AND claimed_by = ?2 AND status = 'active' AND"
			  " cursor_row = ?6 AND EXISTS (SELECT 1 FROM uploads"
			  " WHERE uploads.id = campaigns.upload_id AND"
			  " uploads.status IN ('SUCCESSFUL', 'FAILED')) AND NOT"
			  " EXISTS (SELECT 1 FROM users WHERE id >= ?4 AND"
			  " id <= ?5)",
	[Q_CAMP_STATE] = "SELECT claimed_by, status, cursor_row, upload_id"
			 " FROM campaigns WHERE id = ?1",
	[Q_AUDIT_ADD] = "INSERT INTO audit (actor_id, action_name, target,"
			" client_ip, detail, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			" RETURNING id",
	[Q_AUDIT_LIST] = "SELECT " AUDIT_COLS AUDIT_FILTER " ORDER BY id DESC"
			 " LIMIT :limit OFFSET :offset",
	[Q_AUDIT_COUNT] = "SELECT count(*)" AUDIT_FILTER,
	[Q_USER_SET_NAMES] = "UPDATE users SET first_name = ?2, last_name = ?3,"
			     " position_id = ?4, updated_at = ?5 WHERE id = ?1"
			     " AND" USER_LIVE,
	[Q_USER_SET_MOBILE] = "UPDATE users SET mobile = ?2, updated_at = ?3"
			      " WHERE id = ?1 AND" USER_LIVE,
	[Q_USER_SET_EMAIL] = "UPDATE users SET email = ?2, official_email = ?3,"
			     " email_verified = ?4, updated_at = ?5 WHERE id = ?1"
			     " AND" USER_LIVE,
	[Q_USER_CLOSE] = "UPDATE users SET status = 'closed', erase_after = ?2,"
			 " updated_at = ?3 WHERE id = ?1 AND" USER_LIVE,
	[Q_USER_ERASE_DUE] = "SELECT id FROM users WHERE status = 'closed' AND"
			     " erase_after <= ?1 ORDER BY erase_after, id"
			     " LIMIT ?2",
	[Q_ERASE_READ] = "SELECT status, email, mobile, updated_at FROM users"
			 " WHERE id = ?1",
	[Q_ERASE_USER] = "UPDATE users SET first_name = '', last_name = '',"
			 " email = '', mobile = '', official_email = 0,"
			 " email_verified = 0, position_id = NULL, status ="
			 " 'erased', updated_at = ?2 WHERE id = ?1 AND status ="
			 " 'closed'",
	[Q_ERASE_ROLES] = "DELETE FROM roles WHERE user_id = ?1",
	[Q_ERASE_CRED] = "DELETE FROM credentials WHERE user_id = ?1",
	[Q_ERASE_SESSIONS] = "DELETE FROM sessions WHERE user_id = ?1",
	[Q_ERASE_TOKENS] = "DELETE FROM tokens WHERE subject = ?1",
	[Q_ERASE_CONSENTS] = "UPDATE consents SET client_ip = '' WHERE"
			     " user_id = ?1",
	/* ?1 e-mail, ?2 mobile, ?3 closed at */
	[Q_ERASE_REQUESTS] = "UPDATE requests SET full_name = '', email = '',"
			     " mobile = '' WHERE created_at <= ?3 AND ((?1 <> ''"
			     " AND lower(email) = lower(?1)) OR (?2 <> '' AND"
			     " mobile = ?2))",
	[Q_ERASE_OUTBOX] = "DELETE FROM outbox WHERE created_at <= ?3 AND"
			   " ((?1 <> '' AND lower(to_addr) = lower(?1)) OR"
			   " (?2 <> '' AND to_addr = ?2))",
	[Q_ERASE_AUDIT_ACTOR] = "UPDATE audit SET client_ip = '' WHERE"
				" actor_id = ?1 AND client_ip <> ''",
	[Q_ERASE_AUDIT_TARGET] = "UPDATE audit SET detail = '{}' WHERE"
				 " target = ?1 AND detail <> '{}'",
	[Q_OTP_FORGET] = "DELETE FROM otps WHERE subject = ?1 AND"
			 " created_at <= ?2",
	[Q_CONSENT_LIST] = "SELECT user_id, kind, version, client_ip, at FROM"
			   " consents WHERE user_id = ?1 ORDER BY at, id",
	[Q_SES_LIST] = "SELECT " SES_COLS " FROM sessions WHERE user_id = ?1"
		       " ORDER BY created_at DESC, hash",
	[Q_REQ_CONTACT] = "SELECT " REQ_COLS " FROM requests WHERE (?1 <> ''"
			  " AND lower(email) = lower(?1)) OR (?2 <> '' AND"
			  " mobile = ?2) ORDER BY created_at, rowid LIMIT ?3",
	[Q_AUDIT_USER] = "SELECT " AUDIT_COLS " FROM audit WHERE actor_id = ?1"
			 " OR target = ?1 ORDER BY id",
	[Q_TOKEN_LIST] = "SELECT " TOKEN_COLS " FROM tokens WHERE subject = ?1"
			 " AND kind = ?2 ORDER BY created_at DESC, hash",
	[Q_OUT_FORGET] = "DELETE FROM outbox WHERE lower(to_addr) = lower(?1)"
			 " AND created_at <= ?2",
	[Q_UP_EXPIRED] = "SELECT " UP_COLS " FROM uploads WHERE"
			 " files_removed_at = 0 AND updated_at < ?1 AND status"
			 " IN ('SUCCESSFUL', 'FAILED') ORDER BY updated_at,"
			 " rowid LIMIT ?2",
	[Q_UP_FILES_REMOVED] = "UPDATE uploads SET files_removed_at = ?2"
			       " WHERE id = ?1 AND files_removed_at = 0",
	[Q_OUT_PURGE] = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
			" WHERE status IN ('sent', 'failed') AND next_at < ?1"
			" LIMIT ?2)",
	[Q_AUDIT_PURGE] = "DELETE FROM audit WHERE id IN (SELECT id FROM audit"
			  " WHERE at < ?1 LIMIT ?2)",
};

/* ---- helpers -------------------------------------------------------------- */

/* Binding: each helper does nothing once an earlier bind failed, so a run
 * of binds is checked once. Text is bound SQLITE_STATIC: it outlives the
 * statement's use, which ends with sqs_release() in the same function. */
struct bnd {
	sqlite3_stmt *st;
	int rc;
};

#define NOCAP ((size_t)-1)

static void b_text(struct bnd *b, int i, const char *s, size_t cap)
{
	if (b->rc != SQLITE_OK)
		return;
	if (!s)
		s = "";
	size_t n = strnlen(s, cap);
	if (n > INT_MAX) {
		b->rc = SQLITE_TOOBIG;
		return;
	}
	b->rc = sqlite3_bind_text(b->st, i, s, (int)n, SQLITE_STATIC);
}

/* "" as NULL, for optional references. */
static void b_text_null(struct bnd *b, int i, const char *s, size_t cap)
{
	if (b->rc != SQLITE_OK)
		return;
	if (!s || !*s)
		b->rc = sqlite3_bind_null(b->st, i);
	else
		b_text(b, i, s, cap);
}

/* NULL as NULL (an optional change: "leave it"), any other text as text,
 * "" included. */
static void b_opt(struct bnd *b, int i, const char *s)
{
	if (b->rc != SQLITE_OK)
		return;
	if (!s)
		b->rc = sqlite3_bind_null(b->st, i);
	else
		b_text(b, i, s, NOCAP);
}

/* Text cut to fit a field of cap bytes (NUL included), at a UTF-8
 * character boundary: for free-form messages such as errors. */
static void b_text_fit(struct bnd *b, int i, const char *s, size_t cap)
{
	if (b->rc != SQLITE_OK)
		return;
	if (!s)
		s = "";
	size_t n = strnlen(s, cap);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	b->rc = sqlite3_bind_text(b->st, i, s, (int)n, SQLITE_STATIC);
}

static void b_int(struct bnd *b, int i, int64_t v)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->st, i, v);
}

static void b_blob(struct bnd *b, int i, const unsigned char *p, size_t n)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_blob(b->st, i, p, (int)n, SQLITE_STATIC);
}

static void b_named(struct bnd *b, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(b->st, name);

	if (b->rc == SQLITE_OK)
		b->rc = i > 0 ? sqlite3_bind_int64(b->st, i, v) : SQLITE_RANGE;
}

static void c_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const char *p = (const char *)sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);

	if (!p || n < 0)
		n = 0, p = "";
	util_strncpy0(dst, cap, p, (size_t)n);
}

static void c_blob(sqlite3_stmt *st, int i, unsigned char *dst, size_t n)
{
	const void *p = sqlite3_column_blob(st, i);

	if (p && (size_t)sqlite3_column_bytes(st, i) == n)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

#define C_TEXT(st, i, field) c_text((st), (i), (field), sizeof(field))
#define B_FIELD(b, i, field) b_text((b), (i), (field), sizeof(field))

/* Fetch the statement of slot q on c. */
static int stmt(struct sqs_conn *c, int q, sqlite3_stmt **st)
{
	return sqs_prepare(c, q, sql[q], st);
}

/* Checks the binds, then steps once: PV_OK with a row, PV_ENOTFOUND
 * without. */
static int step_row(struct sqs_conn *c, struct bnd *b, const char *op)
{
	int rc;

	if (b->rc != SQLITE_OK)
		return sqs_error(c, b->rc, op);
	if ((rc = sqs_stmt_lock(c, b->st)) != PV_OK)
		return rc;
	rc = sqlite3_step(b->st);
	if (rc == SQLITE_ROW)
		return PV_OK;
	if (rc == SQLITE_DONE)
		return PV_ENOTFOUND;
	return sqs_error(c, rc, op);
}

/* Checks the binds, then runs the statement to its end. */
static int step_done(struct sqs_conn *c, struct bnd *b, const char *op)
{
	int rc;

	if (b->rc != SQLITE_OK)
		return sqs_error(c, b->rc, op);
	if ((rc = sqs_stmt_lock(c, b->st)) != PV_OK)
		return rc;
	for (int guard = 0; guard < 2; guard++) {
		rc = sqlite3_step(b->st);
		if (rc == SQLITE_DONE)
			return PV_OK;
		if (rc != SQLITE_ROW)
			return sqs_error(c, rc, op);
	}
	return PV_OK;
}

/* After a row of an INSERT/UPDATE ... RETURNING: finish the statement. */
static int step_finish(struct sqs_conn *c, sqlite3_stmt *st, const char *op)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return PV_OK;
	return sqs_error(c, rc, op);
}

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

typedef void (*row_reader)(sqlite3_stmt *st, void *out);

/* A lookup by one text key through statement q. */
static int get_by_text(store *s, int q, const char *op, const char *key,
		       row_reader rd, void *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!key)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, q, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, key, NOCAP);
	err = step_row(c, &b, op);
	if (!err && out)
		rd(st, out);
	sqs_release(c, q, st);
	return err;
}

/* A single count or number from statement q with one optional text key and
 * one optional integer. */
static int get_number(store *s, int q, const char *op, const char *key,
		      const int64_t *num, int64_t *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, q, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	if (key)
		b_text(&b, 1, key, NOCAP);
	if (num)
		b_int(&b, 2, *num);
	err = step_row(c, &b, op);
	if (!err)
		*out = sqlite3_column_int64(st, 0);
	else if (err == PV_ENOTFOUND)
		err = PV_ESTORE; /* a count always has a row */
	sqs_release(c, q, st);
	return err;
}

/* Does a row with this text id exist (statement q: SELECT 1 ... ?1)? */
static int exists_text(struct sqs_conn *c, int q, const char *id,
		       const char *op)
{
	sqlite3_stmt *st;
	int err = stmt(c, q, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	err = step_row(c, &b, op);
	sqs_release(c, q, st);
	return err;
}

/* ---- row readers ---------------------------------------------------------- */

static void rd_org(sqlite3_stmt *st, void *p)
{
	store_org *o = p;

	memset(o, 0, sizeof *o);
	C_TEXT(st, 0, o->id);
	C_TEXT(st, 1, o->name);
	C_TEXT(st, 2, o->sector);
	C_TEXT(st, 3, o->type);
	C_TEXT(st, 4, o->parent_id);
	o->active = sqlite3_column_int(st, 5);
	o->created_at = sqlite3_column_int64(st, 6);
	o->updated_at = sqlite3_column_int64(st, 7);
}

static void rd_pos(sqlite3_stmt *st, void *p)
{
	store_position *o = p;

	memset(o, 0, sizeof *o);
	C_TEXT(st, 0, o->id);
	C_TEXT(st, 1, o->name);
	o->active = sqlite3_column_int(st, 2);
	o->created_at = sqlite3_column_int64(st, 3);
}

static void rd_user(sqlite3_stmt *st, void *p)
{
	store_user *u = p;

	memset(u, 0, sizeof *u);
	C_TEXT(st, 0, u->id);
	C_TEXT(st, 1, u->first_name);
	C_TEXT(st, 2, u->last_name);
	C_TEXT(st, 3, u->email);
	u->official_email = sqlite3_column_int(st, 4);
	C_TEXT(st, 5, u->mobile);
	C_TEXT(st, 6, u->org_id);
	C_TEXT(st, 7, u->position_id); /* NULL reads as "" */
	C_TEXT(st, 8, u->status);
	C_TEXT(st, 9, u->source);
	u->created_at = sqlite3_column_int64(st, 10);
	u->updated_at = sqlite3_column_int64(st, 11);
	u->email_verified = sqlite3_column_int(st, 12);
	C_TEXT(st, 13, u->upload_id);
	u->last_login_at = sqlite3_column_int64(st, 14);
	u->erase_after = sqlite3_column_int64(st, 15);
}

static void rd_admin(sqlite3_stmt *st, void *p)
{
	store_admin *a = p;

	rd_user(st, &a->user);
	memset(&a->role, 0, sizeof a->role);
	C_TEXT(st, USER_NCOLS, a->role.role);
	C_TEXT(st, USER_NCOLS + 1, a->role.org_id);
	C_TEXT(st, USER_NCOLS + 2, a->username);
}

static void rd_cred(sqlite3_stmt *st, void *p)
{
	store_cred *o = p;

	memset(o, 0, sizeof *o);
	C_TEXT(st, 0, o->user_id);
	C_TEXT(st, 1, o->username);
	C_TEXT(st, 2, o->pwhash);
}

static void rd_otp(sqlite3_stmt *st, void *p)
{
	store_otp *o = p;

	memset(o, 0, sizeof *o);
	o->id = sqlite3_column_int64(st, 0);
	C_TEXT(st, 1, o->subject);
	C_TEXT(st, 2, o->purpose);
	c_blob(st, 3, o->code_mac, sizeof o->code_mac);
	o->created_at = sqlite3_column_int64(st, 4);
	o->expires_at = sqlite3_column_int64(st, 5);
	o->attempts = sqlite3_column_int(st, 6);
	o->state = sqlite3_column_int(st, 7);
}

static void rd_throttle(sqlite3_stmt *st, void *p)
{
	store_throttle *t = p;

	memset(t, 0, sizeof *t);
	C_TEXT(st, 0, t->key);
	t->count = sqlite3_column_int64(st, 1);
	t->window_start = sqlite3_column_int64(st, 2);
	t->window_end = sqlite3_column_int64(st, 3);
	t->locked_until = sqlite3_column_int64(st, 4);
}

static void rd_token(sqlite3_stmt *st, void *p)
{
	store_token *t = p;

	memset(t, 0, sizeof *t);
	c_blob(st, 0, t->hash, sizeof t->hash);
	C_TEXT(st, 1, t->kind);
	C_TEXT(st, 2, t->subject);
	C_TEXT(st, 3, t->extra);
	t->created_at = sqlite3_column_int64(st, 4);
	t->expires_at = sqlite3_column_int64(st, 5);
	t->used_at = sqlite3_column_int64(st, 6);
}

static void rd_session(sqlite3_stmt *st, void *p)
{
	store_session *se = p;

	memset(se, 0, sizeof *se);
	c_blob(st, 0, se->hash, sizeof se->hash);
	C_TEXT(st, 1, se->user_id);
	c_blob(st, 2, se->csrf_hash, sizeof se->csrf_hash);
	se->created_at = sqlite3_column_int64(st, 3);
	se->last_seen = sqlite3_column_int64(st, 4);
	se->expires_at = sqlite3_column_int64(st, 5);
	se->revoked = sqlite3_column_int(st, 6);
	se->elevated = sqlite3_column_int(st, 7);
	C_TEXT(st, 8, se->client_ip);
}

static void rd_request(sqlite3_stmt *st, void *p)
{
	store_request *r = p;

	memset(r, 0, sizeof *r);
	C_TEXT(st, 0, r->id);
	C_TEXT(st, 1, r->kind);
	C_TEXT(st, 2, r->full_name);
	C_TEXT(st, 3, r->email);
	C_TEXT(st, 4, r->mobile);
	C_TEXT(st, 5, r->name);
	C_TEXT(st, 6, r->details);
	C_TEXT(st, 7, r->sector);
	C_TEXT(st, 8, r->parent_id);
	C_TEXT(st, 9, r->status);
	C_TEXT(st, 10, r->reason);
	C_TEXT(st, 11, r->created_id);
	C_TEXT(st, 12, r->decided_by);
	r->created_at = sqlite3_column_int64(st, 13);
	r->decided_at = sqlite3_column_int64(st, 14);
}

static void rd_upload(sqlite3_stmt *st, void *p)
{
	store_upload *u = p;

	memset(u, 0, sizeof *u);
	C_TEXT(st, 0, u->id);
	C_TEXT(st, 1, u->org_id);
	C_TEXT(st, 2, u->uploader_id);
	C_TEXT(st, 3, u->file_name);
	C_TEXT(st, 4, u->stored_path);
	C_TEXT(st, 5, u->format);
	C_TEXT(st, 6, u->status);
	u->total_records = sqlite3_column_int64(st, 7);
	u->success_records = sqlite3_column_int64(st, 8);
	u->failed_records = sqlite3_column_int64(st, 9);
	u->cursor = sqlite3_column_int64(st, 10);
	C_TEXT(st, 11, u->error);
	C_TEXT(st, 12, u->claimed_by);
	u->lease_until = sqlite3_column_int64(st, 13);
	u->created_at = sqlite3_column_int64(st, 14);
	u->updated_at = sqlite3_column_int64(st, 15);
	C_TEXT(st, 16, u->original_name);
	u->files_removed_at = sqlite3_column_int64(st, 17);
}

static void rd_outbox(sqlite3_stmt *st, void *p)
{
	store_outbox *m = p;

	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(st, 0);
	C_TEXT(st, 1, m->channel);
	C_TEXT(st, 2, m->to_addr);
	C_TEXT(st, 3, m->template_name);
	C_TEXT(st, 4, m->lang);
	C_TEXT(st, 5, m->params);
	C_TEXT(st, 6, m->status);
	m->attempts = sqlite3_column_int(st, 7);
	m->next_at = sqlite3_column_int64(st, 8);
	C_TEXT(st, 9, m->last_error);
	C_TEXT(st, 10, m->claimed_by);
	m->lease_until = sqlite3_column_int64(st, 11);
	m->created_at = sqlite3_column_int64(st, 12);
	m->sent_at = sqlite3_column_int64(st, 13);
}

static void rd_audit(sqlite3_stmt *st, void *p)
{
	store_audit *a = p;

	memset(a, 0, sizeof *a);
	a->id = sqlite3_column_int64(st, 0);
	C_TEXT(st, 1, a->actor_id);
	C_TEXT(st, 2, a->action);
	C_TEXT(st, 3, a->target);
	C_TEXT(st, 4, a->client_ip);
	C_TEXT(st, 5, a->detail);
	a->at = sqlite3_column_int64(st, 6);
}

/* ---- paged lists ------------------------------------------------------------ */

typedef void (*filter_binder)(struct bnd *b, const void *ctx);

/* Counts the matches with qcount and reads one page with qlist (which has
 * :limit and :offset), both in one snapshot. *items is malloc'd (caller
 * frees), NULL when *n is 0. */
static int list_page(store *s, int qcount, int qlist, const char *op,
		     filter_binder fb, const void *ctx, store_page pg,
		     size_t size, row_reader rd, void **items, size_t *n,
		     int64_t *total)
{
	struct sqs_conn *c;
	sqlite3_stmt *st = NULL;
	char *arr = NULL;
	size_t got = 0;
	int err, own = 0, rc = SQLITE_DONE;

	*items = NULL;
	*n = 0;
	*total = 0;
	if (!valid_page(pg))
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err)
		return err;
	err = sqs_read_begin(c, &own);
	if (err)
		return err;
	err = stmt(c, qcount, &st);
	if (err)
		goto out;
	struct bnd b = {st, SQLITE_OK};
	if (fb)
		fb(&b, ctx);
	err = step_row(c, &b, op);
	if (!err)
		*total = sqlite3_column_int64(st, 0);
	sqs_release(c, qcount, st);
	st = NULL;
	if (err)
		goto out;
	if (*total <= (pg.page - 1) * pg.per_page)
		goto out; /* past the end: an empty page */
	arr = calloc((size_t)pg.per_page, size);
	if (!arr) {
		err = PV_ENOMEM;
		goto out;
	}
	err = stmt(c, qlist, &st);
	if (err)
		goto out;
	b.st = st;
	b.rc = SQLITE_OK;
	if (fb)
		fb(&b, ctx);
	b_named(&b, ":limit", pg.per_page);
	b_named(&b, ":offset", (pg.page - 1) * pg.per_page);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, op);
		goto out;
	}
	while (got < (size_t)pg.per_page &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW)
		rd(st, arr + got++ * size);
	if (got < (size_t)pg.per_page && rc != SQLITE_DONE)
		err = sqs_error(c, rc, op);
out:
	sqs_release(c, qlist, st);
	sqs_read_end(c, own);
	if (err || got == 0) {
		free(arr);
		return err;
	}
	*items = arr;
	*n = got;
	return PV_OK;
}

/* ---- directory ------------------------------------------------------------- */

static int sq_org_upsert(store *s, const store_org *o)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!o || !o->id[0] || !o->name[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_ORG_UPSERT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, o->id);
	B_FIELD(&b, 2, o->name);
	B_FIELD(&b, 3, o->sector);
	B_FIELD(&b, 4, o->type);
	B_FIELD(&b, 5, o->parent_id);
	b_int(&b, 6, o->active ? 1 : 0);
	b_int(&b, 7, o->created_at);
	b_int(&b, 8, o->updated_at ? o->updated_at : o->created_at);
	err = step_done(c, &b, "org_upsert");
	sqs_release(c, Q_ORG_UPSERT, st);
	return err;
}

static int sq_org_get(store *s, const char *id, store_org *out)
{
	return get_by_text(s, Q_ORG_GET, "org_get", id, rd_org, out);
}

static int sq_org_each(store *s, store_org_cb cb, void *ctx)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	store_org o;
	int err, rc = SQLITE_DONE, stop = 0;

	if (!cb)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_ORG_EACH, &st)))
		return err;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rd_org(st, &o);
		stop = cb(ctx, &o);
	}
	if (!stop && rc != SQLITE_DONE)
		err = sqs_error(c, rc, "org_each");
	sqs_release(c, Q_ORG_EACH, st);
	return stop ? stop : err;
}

static int sq_org_children(store *s, const char *id, int64_t *count)
{
	if (!id || !count)
		return PV_EINVAL;
	return get_number(s, Q_ORG_CHILDREN, "org_children", id, NULL, count);
}

static int sq_dir_version(store *s, int64_t *version)
{
	if (!version)
		return PV_EINVAL;
	return get_number(s, Q_DIR_VERSION, "dir_version", NULL, NULL, version);
}

/* Whether statement q (?1 text, ?2 text) answers a row, on connection c. */
static int row_exists2(struct sqs_conn *c, int q, const char *a, const char *b2,
		       const char *op, int *yes)
{
	sqlite3_stmt *st;
	int err = stmt(c, q, &st);

	*yes = 0;
	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, a, NOCAP);
	if (b2)
		b_text(&b, 2, b2, NOCAP);
	err = step_row(c, &b, op);
	sqs_release(c, q, st);
	if (err == PV_OK)
		*yes = 1;
	return err == PV_ENOTFOUND ? PV_OK : err;
}

/* Whether the change would leave organisation id active under an
 * inactive parent (the new one, else its own). */
static int org_parent_inactive(struct sqs_conn *c, const char *id,
			       const store_org_change *ch, int *yes)
{
	sqlite3_stmt *st;
	int err = stmt(c, Q_ORG_PARENT_INACTIVE, &st);

	*yes = 0;
	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_opt(&b, 2, ch->parent_id);
	b_int(&b, 3, ch->active == 1);
	err = step_row(c, &b, "org_update");
	sqs_release(c, Q_ORG_PARENT_INACTIVE, st);
	if (err == PV_OK)
		*yes = 1;
	return err == PV_ENOTFOUND ? PV_OK : err;
}

/* Why org_update refused: unknown organisation or parent (PV_ENOTFOUND),
 * else the STORE_ORG_* reasons (PV_ECONFLICT). In the update's
 * transaction, so it explains what the update saw. */
static int org_update_why(struct sqs_conn *c, const char *id,
			  const store_org_change *ch, int *conflict)
{
	int yes, err;

	if ((err = exists_text(c, Q_ORG_GET, id, "org_update")))
		return err;
	if (ch->parent_id && ch->parent_id[0]) {
		if ((err = exists_text(c, Q_ORG_GET, ch->parent_id, "org_update")))
			return err;
		if ((err = row_exists2(c, Q_ORG_IN_SUBTREE, id, ch->parent_id, "org_update", &yes)))
			return err;
		if (yes)
			*conflict |= STORE_ORG_CYCLE;
	}
	if (ch->active == 0) {
		if ((err = row_exists2(c, Q_ORG_ACTIVE_CHILD, id, NULL, "org_update", &yes)))
			return err;
		if (yes)
			*conflict |= STORE_ORG_CHILDREN;
	} else if (ch->active == 1 || ch->parent_id) {
		if ((err = org_parent_inactive(c, id, ch, &yes)))
			return err;
		if (yes)
			*conflict |= STORE_ORG_PARENT_INACTIVE;
	}
	return *conflict ? PV_ECONFLICT : PV_ESTORE;
}

static int sq_org_update(store *s, const char *id, const store_org_change *ch,
			 int64_t now, store_org *out, int *conflict)
{
	struct sqs_conn *c;
	sqlite3_stmt *st = NULL;
	int err, own, dummy = 0;

	if (!conflict)
		conflict = &dummy;
	*conflict = 0;
	if (!id || !ch || (ch->name && !ch->name[0]) || ch->active < -1 || ch->active > 1)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = sqs_write_begin(c, &own)))
		return err;
	if ((err = stmt(c, Q_ORG_UPDATE, &st)))
		goto out;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_opt(&b, 2, ch->name);
	b_opt(&b, 3, ch->sector);
	b_opt(&b, 4, ch->type);
	b_opt(&b, 5, ch->parent_id);
	b_int(&b, 6, ch->active);
	b_int(&b, 7, now);
	err = step_row(c, &b, "org_update");
	if (err == PV_OK) {
		if (out)
			rd_org(st, out);
		err = step_finish(c, st, "org_update");
	}
	sqs_release(c, Q_ORG_UPDATE, st);
	if (err == PV_ENOTFOUND)
		err = org_update_why(c, id, ch, conflict);
out:
	return sqs_write_end(c, own, err);
}

static int sq_position_update(store *s, const char *id, const char *name,
			      int active, store_position *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id || (name && !name[0]) || active < -1 || active > 1)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_POS_UPDATE, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_opt(&b, 2, name);
	b_int(&b, 3, active);
	err = step_row(c, &b, "position_update");
	if (err == PV_OK) {
		if (out)
			rd_pos(st, out);
		err = step_finish(c, st, "position_update");
	}
	sqs_release(c, Q_POS_UPDATE, st);
	return err;
}

static int pos_insert(struct sqs_conn *c, int q, const store_position *p,
		      const char *op)
{
	sqlite3_stmt *st;
	int err = stmt(c, q, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, p->id);
	B_FIELD(&b, 2, p->name);
	b_int(&b, 3, p->active ? 1 : 0);
	b_int(&b, 4, p->created_at);
	err = step_done(c, &b, op);
	sqs_release(c, q, st);
	return err;
}

static int sq_position_insert(store *s, const store_position *p)
{
	struct sqs_conn *c;
	int err;

	if (!p || !p->id[0] || !p->name[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err)
		return err;
	return pos_insert(c, Q_POS_INSERT, p, "position_insert");
}

static int sq_position_upsert_name(store *s, const store_position *p,
				   store_position *out, int *created)
{
	struct sqs_conn *c;
	sqlite3_stmt *st = NULL;
	int err, own;

	if (!p || !p->id[0] || !p->name[0] || !out || !created)
		return PV_EINVAL;
	*created = 0;
	err = sqs_enter(s, &c);
	if (err || (err = sqs_write_begin(c, &own)))
		return err;
	err = pos_insert(c, Q_POS_INSERT_IGNORE, p, "position_upsert_name");
	if (err)
		goto out;
	if (sqlite3_changes(c->db) == 1) {
		*out = *p;
		out->active = p->active ? 1 : 0;
		*created = 1;
		goto out;
	}
	err = stmt(c, Q_POS_BY_NAME, &st);
	if (err)
		goto out;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, p->name);
	err = step_row(c, &b, "position_upsert_name");
	if (!err)
		rd_pos(st, out);
	else if (err == PV_ENOTFOUND)
		err = PV_ECONFLICT; /* the id, not the name, was taken */
out:
	sqs_release(c, Q_POS_BY_NAME, st);
	return sqs_write_end(c, own, err);
}

static int sq_position_get(store *s, const char *id, store_position *out)
{
	return get_by_text(s, Q_POS_GET, "position_get", id, rd_pos, out);
}

static int sq_position_each(store *s, store_position_cb cb, void *ctx)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	store_position p;
	int err, rc = SQLITE_DONE, stop = 0;

	if (!cb)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_POS_EACH, &st)))
		return err;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rd_pos(st, &p);
		stop = cb(ctx, &p);
	}
	if (!stop && rc != SQLITE_DONE)
		err = sqs_error(c, rc, "position_each");
	sqs_release(c, Q_POS_EACH, st);
	return stop ? stop : err;
}

/* ---- users -------------------------------------------------------------------- */

static int valid_user_status(const char *st)
{
	return st && (strcmp(st, STORE_USER_PENDING) == 0 ||
		      strcmp(st, STORE_USER_ACTIVE) == 0 ||
		      strcmp(st, STORE_USER_INACTIVE) == 0);
}

/* Whether some user holds this key (statement q), on connection c: after a
 * refused insert, in the same transaction as the insert. A holder among
 * later[0..nlater) does not count: those were inserted after the refused
 * row, in the same statement. */
static int user_key_taken(struct sqs_conn *c, int q, const char *key,
			  size_t cap, const store_user *later, int nlater,
			  int *taken)
{
	sqlite3_stmt *st;
	char holder[STORE_ID_MAX];
	int err = stmt(c, q, &st);

	*taken = 0;
	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, key, cap);
	err = step_row(c, &b, "user_insert");
	if (err == PV_OK) {
		C_TEXT(st, 0, holder);
		*taken = 1;
		for (int i = 0; i < nlater; i++)
			if (strcmp(later[i].id, holder) == 0)
				*taken = 0;
	}
	sqs_release(c, q, st);
	return err == PV_ENOTFOUND ? PV_OK : err;
}

/* A record user_insert accepts (see store.h). */
static int valid_user(const store_user *u)
{
	return u && u->id[0] && u->email[0] && u->mobile[0] && u->org_id[0] &&
	       valid_user_status(u->status);
}

/* Binds u to parameters at + 1 .. at + USER_PARAMS, in USER_INS_COLS
 * order. */
#define USER_PARAMS 14
static void bind_user(struct bnd *b, const store_user *u, int at)
{
	B_FIELD(b, at + 1, u->id);
	B_FIELD(b, at + 2, u->first_name);
	B_FIELD(b, at + 3, u->last_name);
	B_FIELD(b, at + 4, u->email);
	b_int(b, at + 5, u->official_email ? 1 : 0);
	B_FIELD(b, at + 6, u->mobile);
	B_FIELD(b, at + 7, u->org_id);
	b_text_null(b, at + 8, u->position_id, sizeof u->position_id);
	B_FIELD(b, at + 9, u->status);
	B_FIELD(b, at + 10, u->source);
	b_int(b, at + 11, u->created_at);
	b_int(b, at + 12, u->updated_at ? u->updated_at : u->created_at);
	b_int(b, at + 13, u->email_verified ? 1 : 0);
	B_FIELD(b, at + 14, u->upload_id);
}

/* Which unique keys of u other users hold, as STORE_CONFLICT_* bits
 * (STORE_CONFLICT_KEY when neither the e-mail nor the mobile): after a
 * refused insert, in the same transaction. Rows are never deleted, so the
 * row that beat u is still there to be found; only live users hold keys
 * (the partial unique indexes), and so do Q_USER_BY_EMAIL and
 * Q_USER_BY_MOBILE. */
static int user_conflicts(struct sqs_conn *c, const store_user *u,
			  const store_user *later, int nlater, int *bits)
{
	int err, taken;

	*bits = 0;
	err = user_key_taken(c, Q_USER_BY_EMAIL, u->email, sizeof u->email,
			     later, nlater, &taken);
	if (!err && taken)
		*bits |= STORE_CONFLICT_EMAIL;
	if (!err)
		err = user_key_taken(c, Q_USER_BY_MOBILE, u->mobile,
				     sizeof u->mobile, later, nlater, &taken);
	if (!err && taken)
		*bits |= STORE_CONFLICT_MOBILE;
	if (!*bits)
		*bits = STORE_CONFLICT_KEY;
	return err;
}

static int sq_user_insert(store *s, const store_user *u, int *conflict)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err, bits;

	if (conflict)
		*conflict = 0;
	if (!valid_user(u))
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_USER_INSERT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	bind_user(&b, u, 0);
	err = step_done(c, &b, "user_insert");
	sqs_release(c, Q_USER_INSERT, st);
	if (err != PV_ECONFLICT)
		return err;
	err = user_conflicts(c, u, NULL, 0, &bits);
	if (!err && conflict)
		*conflict = bits & ~STORE_CONFLICT_KEY;
	return err ? err : PV_ECONFLICT;
}

/* Runs statement q, which has no parameters and no rows of interest. */
static int run_plain(struct sqs_conn *c, int q, const char *op)
{
	sqlite3_stmt *st;
	int err = stmt(c, q, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	err = step_done(c, &b, op);
	sqs_release(c, q, st);
	return err;
}

/* PV_ENOTFOUND unless every organisation and position the users refer
 * to exists (each value asked once in a row of equal ones). */
static int batch_refs(struct sqs_conn *c, const store_user *users, size_t n)
{
	const char *org = NULL, *pos = NULL;
	int err = PV_OK;

	for (size_t i = 0; i < n && !err; i++) {
		if (!org || strcmp(org, users[i].org_id) != 0) {
			org = users[i].org_id;
			err = exists_text(c, Q_ORG_EXISTS, org, "user_insert_batch");
		}
		if (!err && users[i].position_id[0] &&
		    (!pos || strcmp(pos, users[i].position_id) != 0)) {
			pos = users[i].position_id;
			err = exists_text(c, Q_POS_EXISTS, pos, "user_insert_batch");
		}
	}
	return err;
}

/* Users per statement of a batch: one INSERT of many rows opens the
 * table's and the indexes' cursors once for all of them (per row, opening
 * and closing seven cursors cost a fifth of the insert). */
#define BATCH_ROWS 32

static pthread_once_t many_once = PTHREAD_ONCE_INIT;
#define MANY_PARAMS (USER_PARAMS + 1) /* a user's columns and its org_seq */
static char many_text[BATCH_ROWS * (MANY_PARAMS * 7 + 4) + 256];

/* Q_USER_INSERT_MANY's text, from constants only. */
static void many_build(void)
{
	size_t o;

	o = (size_t)snprintf(many_text, sizeof many_text,
			     "INSERT INTO users (" USER_INS_COLS ", org_seq) VALUES ");
	for (int r = 0; r < BATCH_ROWS; r++)
		for (int k = 1; k <= MANY_PARAMS; k++)
			o += (size_t)snprintf(many_text + o, sizeof many_text - o, "%s?%d%s",
					      k == 1 ? (r ? ",(" : "(") : "",
					      r * MANY_PARAMS + k, k == MANY_PARAMS ? ")" : ",");
	snprintf(many_text + o, sizeof many_text - o, " ON CONFLICT DO NOTHING");
}

/* 1 when u went in as the row numbered seq by a statement of the batch
 * (after one that changed fewer rows than it had). The number tells: a
 * user stored before, even one with u's id, e-mail and mobile, has
 * another. */
static int user_is_mine(struct sqs_conn *c, const store_user *u, int64_t seq, int *mine)
{
	sqlite3_stmt *st;
	int err = stmt(c, Q_USER_MINE, &st);

	*mine = 0;
	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, u->org_id);
	b_int(&b, 2, seq);
	B_FIELD(&b, 3, u->id);
	err = step_row(c, &b, "user_insert_batch");
	sqs_release(c, Q_USER_MINE, st);
	*mine = err == PV_OK;
	return err == PV_ENOTFOUND ? PV_OK : err;
}

/* The highest org_seq of org's users (0 without any). */
static int batch_top(struct sqs_conn *c, const char *org, int64_t *top)
{
	sqlite3_stmt *st;
	int err = stmt(c, Q_USER_TOP, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, org, NOCAP);
	err = step_row(c, &b, "user_insert_batch");
	if (!err)
		*top = sqlite3_column_int64(st, 0);
	else if (err == PV_ENOTFOUND)
		err = PV_ESTORE; /* max() always has a row */
	sqs_release(c, Q_USER_TOP, st);
	return err;
}

/* 1 when users[0..k) all belong to users[0]'s organisation. */
static int batch_one_org(const store_user *users, size_t k)
{
	for (size_t r = 1; r < k; r++)
		if (strcmp(users[r].org_id, users[0].org_id) != 0)
			return 0;
	return 1;
}

/* Inserts users[0..k) with statement q (k rows of one organisation, or 1);
 * conflicts[] as for user_insert_batch. The k rows are numbered after the
 * organisation's highest org_seq (the caller holds the writer); a row
 * refused leaves its number unused, a gap that user_list steps over. */
static int batch_step(struct sqs_conn *c, int q, const store_user *users, int k,
		      int *conflicts)
{
	sqlite3_stmt *st;
	int err, mine, changed;
	int64_t top = 0;

	if (q == Q_USER_INSERT_MANY && (err = batch_top(c, users[0].org_id, &top)))
		return err;
	err = q == Q_USER_INSERT_MANY ? sqs_prepare(c, q, many_text, &st) : stmt(c, q, &st);
	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	for (int r = 0; r < k; r++) {
		bind_user(&b, &users[r], r * (k > 1 ? MANY_PARAMS : USER_PARAMS));
		if (k > 1)
			b_int(&b, r * MANY_PARAMS + MANY_PARAMS, top + 1 + r);
	}
	err = step_done(c, &b, "user_insert_batch");
	changed = err ? 0 : sqlite3_changes(c->db);
	sqs_release(c, q, st);
	for (int r = 0; r < k && !err; r++) {
		conflicts[r] = 0;
		if (changed == k)
			continue;
		/* refused rows (rare): which ones, and why (rows after r in
		 * the statement were not there yet when r was refused) */
		err = k == 1 ? PV_OK : user_is_mine(c, &users[r], top + 1 + r, &mine);
		if (!err && (k == 1 || !mine))
			err = user_conflicts(c, &users[r], users + r + 1, k - r - 1,
					     &conflicts[r]);
	}
	return err;
}

/* Starts a batch's users list (migration 8): *r0, the highest rowid of
 * users before the call, and user_batch's row, which keeps users_list_ai
 * from firing for the call's rows. *r0 stays -1 unless the row went in. */
static int batch_list_begin(struct sqs_conn *c, int64_t *r0)
{
	sqlite3_stmt *st;
	int64_t top = 0;
	int err = stmt(c, Q_BATCH_ROWID, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	err = step_row(c, &b, "user_insert_batch");
	if (!err)
		top = sqlite3_column_int64(st, 0);
	else if (err == PV_ENOTFOUND)
		err = PV_ESTORE; /* max() always has a row */
	sqs_release(c, Q_BATCH_ROWID, st);
	if (!err && !(err = run_plain(c, Q_BATCH_ON, "user_insert_batch")))
		*r0 = top;
	return err;
}

/* Runs statement q with ?1 bound to r. */
static int run_rowid(struct sqs_conn *c, int q, int64_t r)
{
	sqlite3_stmt *st;
	int err = stmt(c, q, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, r);
	err = step_done(c, &b, "user_insert_batch");
	sqs_release(c, q, st);
	return err;
}

/* Ends a batch's users list: what users_list_ai would have done for each
 * user inserted after rowid r0, set-wise, then user_batch emptied. After
 * an error (err) too, so that rows a caller might still commit are
 * listed and user_batch never commits a row; the first error is
 * answered. Nothing when SQLite abandoned the transaction (an
 * interrupted write, I/O, out of memory roll it all back): the call's
 * rows and user_batch's row are gone, and a statement now would run on
 * its own, outside any transaction, over users another process may
 * have inserted since (each already listed by its trigger). */
static int batch_list_end(struct sqs_conn *c, int64_t r0, int err)
{
	static const int qs[] = {Q_BATCH_ORGS, Q_BATCH_COUNTS, Q_BATCH_FTS};
	int e2 = PV_OK;

	if (sqlite3_get_autocommit(c->db))
		return err ? err : PV_ESTORE;
	for (size_t i = 0; i < sizeof qs / sizeof qs[0] && !e2; i++)
		e2 = run_rowid(c, qs[i], r0);
	if (!err)
		err = e2;
	e2 = run_plain(c, Q_BATCH_OFF, "user_insert_batch");
	return err ? err : e2;
}

/* BATCH_ROWS users per statement, the rest one by one.
 *
 * A statement that writes several rows keeps a statement journal of every
 * page it changes (so that it can undo itself), because the users table's
 * expression index and immediate foreign keys could make it fail half-way;
 * kept in a temporary file, the journal cost a page write per user, more
 * than the table and the indexes themselves. So the journal stays in memory
 * (temp_store), a statement's at a time (no savepoint around the call: a
 * savepoint journals every page the whole call changes), and the
 * references are checked first, so that the only refusal (an unknown
 * organisation or position) comes before anything is written. The users
 * list (user_orgs, user_counts, users_fts) follows once for the whole
 * call, not per row (batch_list_begin, batch_list_end). */
static int sq_user_insert_batch(store *s, const store_user *users, size_t n,
				int *conflicts)
{
	struct sqs_conn *c;
	int err, own = 0;
	int64_t r0 = -1;
	size_t i;

	if (n > STORE_BATCH_MAX || (n && (!users || !conflicts)))
		return PV_EINVAL;
	for (i = 0; i < n; i++)
		if (!valid_user(&users[i]))
			return PV_EINVAL;
	if (!n)
		return PV_OK;
	pthread_once(&many_once, many_build);
	err = sqs_enter(s, &c);
	if (err || (err = sqs_write_begin(c, &own)))
		return err;
	err = run_plain(c, Q_TEMP_MEMORY, "user_insert_batch");
	if (!err)
		err = batch_refs(c, users, n);
	if (!err)
		err = batch_list_begin(c, &r0);
	for (i = 0; i < n && !err;) {
		int k = n - i >= BATCH_ROWS && batch_one_org(&users[i], BATCH_ROWS)
				? BATCH_ROWS : 1;

		err = batch_step(c, k > 1 ? Q_USER_INSERT_MANY : Q_USER_INSERT_BATCH,
				 &users[i], k, &conflicts[i]);
		i += (size_t)k;
	}
	if (r0 >= 0)
		err = batch_list_end(c, r0, err);
	return sqs_write_end(c, own, err);
}

static int sq_user_get(store *s, const char *id, store_user *out)
{
	return get_by_text(s, Q_USER_GET, "user_get", id, rd_user, out);
}

static int sq_user_by_email(store *s, const char *email, store_user *out)
{
	return get_by_text(s, Q_USER_BY_EMAIL, "user_by_email", email, rd_user,
			   out);
}

static int sq_user_by_mobile(store *s, const char *mobile, store_user *out)
{
	return get_by_text(s, Q_USER_BY_MOBILE, "user_by_mobile", mobile,
			   rd_user, out);
}

/* Runs statement q (already bound by the caller through bind) and answers
 * PV_ENOTFOUND when it changed no row. */
static int run_change(struct sqs_conn *c, int q, sqlite3_stmt *st,
		      struct bnd *b, const char *op)
{
	int err = step_done(c, b, op);

	if (!err && sqlite3_changes(c->db) == 0)
		err = PV_ENOTFOUND;
	sqs_release(c, q, st);
	return err;
}

/* After a change of a live user that touched no row: PV_ECONFLICT when
 * the user exists (closed or erased), PV_ENOTFOUND when unknown. */
static int user_why_not(struct sqs_conn *c, const char *id, const char *op)
{
	int err = exists_text(c, Q_USER_EXISTS, id, op);

	return err == PV_OK ? PV_ECONFLICT : err;
}

static int sq_user_set_status(store *s, const char *id, const char *status,
			      int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id || !valid_user_status(status))
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_USER_SET_STATUS, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_text(&b, 2, status, NOCAP);
	b_int(&b, 3, now);
	err = run_change(c, Q_USER_SET_STATUS, st, &b, "user_set_status");
	return err == PV_ENOTFOUND ? user_why_not(c, id, "user_set_status") : err;
}

static int sq_user_verify_email(store *s, const char *id, int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_USER_VERIFY_EMAIL, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_int(&b, 2, now);
	return run_change(c, Q_USER_VERIFY_EMAIL, st, &b, "user_verify_email");
}

static int sq_user_logged_in(store *s, const char *id, int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_USER_LOGGED_IN, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_int(&b, 2, now);
	return run_change(c, Q_USER_LOGGED_IN, st, &b, "user_logged_in");
}

#define USER_Q_MAX 256 /* bytes of admin_list's search text */

/* "%text%" with the text's % _ and \ taken literally (ESCAPE '\'), or ""
 * for no text; out has room for 2 * USER_Q_MAX + 3 bytes. */
static int like_pattern(const char *q, char *out)
{
	size_t len = q ? strlen(q) : 0, j = 0;

	if (len > USER_Q_MAX)
		return PV_EINVAL;
	if (len) {
		out[j++] = '%';
		for (size_t i = 0; i < len; i++) {
			if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
				out[j++] = '\\';
			out[j++] = q[i];
		}
		out[j++] = '%';
	}
	out[j] = '\0';
	return PV_OK;
}

struct admin_filter {
	const char *role, *org_id, *status, *pattern;
};

static void bind_admin_filter(struct bnd *b, const void *ctx)
{
	const struct admin_filter *f = ctx;

	b_text(b, 1, f->role, NOCAP);
	b_text(b, 2, f->org_id, NOCAP);
	b_text(b, 3, f->status, NOCAP);
	b_text(b, 4, f->pattern, NOCAP);
}

static int sq_admin_list(store *s, const char *role, const char *org_id,
			 const char *status, const char *q, store_page pg,
			 store_admin **items, size_t *n, int64_t *total)
{
	char pat[2 * USER_Q_MAX + 3];
	void *arr = NULL;
	int err;

	if (!items || !n || !total)
		return PV_EINVAL;
	*items = NULL;
	*n = 0;
	*total = 0;
	if (!role || !role[0] || (err = like_pattern(q, pat)) != PV_OK)
		return PV_EINVAL;
	struct admin_filter f = {role, org_id ? org_id : "", status ? status : "", pat};
	err = list_page(s, Q_ADMIN_COUNT, Q_ADMIN_LIST, "admin_list",
			bind_admin_filter, &f, pg, sizeof(store_admin), rd_admin,
			&arr, n, total);
	*items = arr;
	return err;
}

/* ---- user_list (store.h: store_user_query) ---- */

/* One user_list call: rows read so far (per_page + 1 at most: the one
 * past the page tells that a next page exists). */
struct uq {
	struct sqs_conn *c;
	const store_user_query *q;
	const char *status;
	store_user *items; /* malloc'd, per_page + 1 */
	size_t n;
	int64_t seq[101]; /* org_seq of each row read */
};

static int uq_rows(struct uq *x, struct bnd *b, const char *op)
{
	size_t max = (size_t)x->q->pg.per_page + 1;
	int rc = SQLITE_DONE;

	if (b->rc != SQLITE_OK)
		return sqs_error(x->c, b->rc, op);
	while (x->n < max && (rc = sqlite3_step(b->st)) == SQLITE_ROW) {
		rd_user(b->st, &x->items[x->n]);
		x->seq[x->n++] = sqlite3_column_int64(b->st, USER_NCOLS); /* after USER_COLS */
	}
	return x->n < max && rc != SQLITE_DONE ? sqs_error(x->c, rc, op) : PV_OK;
}

/* A number from statement q, whose parameters bind() sets. */
static int uq_number(struct uq *x, int q, void (*bind)(struct bnd *, const void *),
		     const void *ctx, int64_t *out)
{
	sqlite3_stmt *st;
	int err = stmt(x->c, q, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	bind(&b, ctx);
	err = step_row(x->c, &b, "user_list");
	if (!err)
		*out = sqlite3_column_int64(st, 0);
	sqs_release(x->c, q, st);
	return err;
}

static void uq_bind_org_status(struct bnd *b, const void *ctx)
{
	const struct uq *x = ctx;

	b_text(b, 1, x->q->org_id, NOCAP);
	b_text(b, 2, x->status, NOCAP);
}

static void uq_bind_org(struct bnd *b, const void *ctx)
{
	b_text(b, 1, ((const struct uq *)ctx)->q->org_id, NOCAP);
}

/* All users (of a status): the kept count; the page starts at a known
 * org_seq when the organisation's numbers have no gap (no user was ever
 * deleted) and no status filters them, else it steps over the pages
 * before it; a cursor starts at its number. */
static int uq_all(struct uq *x, store_user_list_info *info)
{
	const store_user_query *q = x->q;
	int64_t bound = INT64_MAX, offset = 0, top = 0;
	int qs = x->status[0] ? Q_USER_LIST_STATUS : Q_USER_LIST;
	sqlite3_stmt *st;
	int err;

	if ((err = uq_number(x, Q_USER_COUNT, uq_bind_org_status, x, &info->total)))
		return err;
	if (q->after > 0)
		bound = q->after - 1;
	else if (!x->status[0] && (err = uq_number(x, Q_USER_TOP, uq_bind_org, x, &top)))
		return err;
	else if (!x->status[0] && top == info->total)
		bound = top - (q->pg.page - 1) * q->pg.per_page;
	else
		offset = (q->pg.page - 1) * q->pg.per_page;
	if ((err = stmt(x->c, qs, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, q->org_id, NOCAP);
	b_int(&b, 2, bound);
	b_int(&b, 3, q->pg.per_page + 1);
	b_int(&b, 4, offset);
	if (x->status[0])
		b_text(&b, 5, x->status, NOCAP);
	err = uq_rows(x, &b, "user_list");
	sqs_release(x->c, qs, st);
	return err;
}

/* The one user with a unique key (statement qk): total 0 or 1; listed on
 * the first page, or after a cursor that comes before it. */
static int uq_key(struct uq *x, int qk, const char *key, store_user_list_info *info)
{
	const store_user_query *q = x->q;
	sqlite3_stmt *st;
	int err = stmt(x->c, qk, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, key, NOCAP);
	b_text(&b, 2, q->org_id, NOCAP);
	b_text(&b, 3, x->status, NOCAP);
	err = uq_rows(x, &b, "user_list");
	sqs_release(x->c, qk, st);
	info->total = (int64_t)x->n;
	if (!err && x->n && (q->after > 0 ? x->seq[0] >= q->after : q->pg.page != 1))
		x->n = 0; /* it matches, but is not on this page */
	return err;
}

struct uq_name_args {
	const struct uq *x;
	const char *match;
	int64_t lo, hi, limit, offset;
};

static void uq_bind_name(struct bnd *b, const void *ctx)
{
	const struct uq_name_args *a = ctx;

	b_text(b, 1, a->match, NOCAP);
	b_int(b, 2, a->lo);
	b_int(b, 3, a->hi);
	b_int(b, 4, a->limit);
	if (a->x->status[0]) {
		b_text(b, 5, a->x->q->org_id, NOCAP);
		b_text(b, 6, a->x->status, NOCAP);
	}
}

/* A name search: the organisation's range of the name index, newest
 * first; matches counted up to STORE_USER_COUNT_MAX + 1. */
static int uq_name(struct uq *x, const char *match, store_user_list_info *info)
{
	const store_user_query *q = x->q;
	struct uq_name_args a = {x, match, 0, 0, STORE_USER_COUNT_MAX + 1, 0};
	int64_t num = 0, cnt = 0;
	sqlite3_stmt *st;
	int err = uq_number(x, Q_USER_ORG_NUM, uq_bind_org, x, &num);

	if (err)
		return err == PV_ENOTFOUND ? PV_OK : err; /* no user at all */
	a.lo = num * (INT64_C(1) << 32);
	a.hi = a.lo + UINT32_MAX;
	err = uq_number(x, x->status[0] ? Q_USER_NAME_COUNT_STATUS : Q_USER_NAME_COUNT,
			uq_bind_name, &a, &cnt);
	if (err)
		return err;
	info->total = cnt > STORE_USER_COUNT_MAX ? STORE_USER_COUNT_MAX : cnt;
	info->total_exact = cnt <= STORE_USER_COUNT_MAX;
	if (q->after > 0)
		a.hi = a.lo + q->after - 1;
	else
		a.offset = (q->pg.page - 1) * q->pg.per_page;
	if ((err = stmt(x->c, Q_USER_NAME, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, match, NOCAP);
	b_int(&b, 2, a.lo);
	b_int(&b, 3, a.hi);
	b_int(&b, 4, q->pg.per_page + 1);
	b_text(&b, 5, q->org_id, NOCAP);
	b_text(&b, 6, x->status, NOCAP);
	b_int(&b, 7, a.offset);
	err = uq_rows(x, &b, "user_list");
	sqs_release(x->c, Q_USER_NAME, st);
	return err;
}

/* The name search expression of text: each word a prefix ("w"*), all
 * of them (AND). Answers the number of words (0: none). */
static int uq_match(const char *text, char *out, size_t cap)
{
	char words[STORE_USER_Q_MAX + 1];
	size_t o = 0, nw = 0;

	util_words(text, strlen(text), words, sizeof words);
	for (char *w = words; *w;) {
		size_t len = strcspn(w, " ");

		if (++nw > STORE_USER_Q_WORDS || o + len + 10 > cap)
			return -1;
		o += (size_t)snprintf(out + o, cap - o, "%s\"%.*s\"*", nw > 1 ? " AND " : "",
				      (int)len, w);
		w += len + (w[len] == ' ');
	}
	out[o] = '\0';
	return (int)nw;
}

static int sq_user_list(store *s, const store_user_query *q, store_user **items,
			size_t *n, store_user_list_info *info)
{
	struct uq x = {0};
	char match[STORE_USER_Q_MAX * 2 + STORE_USER_Q_WORDS * 10];
	const char *text;
	size_t len;
	int err, own = 0, words = 0, mobile;

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
	x.q = q;
	x.status = q->status ? q->status : "";
	mobile = len == 10 && strspn(text, "0123456789") == 10;
	if (len && !mobile && !strchr(text, '@') &&
	    (words = uq_match(text, match, sizeof match)) <= 0)
		return words < 0 ? PV_EINVAL : PV_OK; /* no word: nobody */
	if ((err = sqs_enter(s, &x.c)) || (err = sqs_read_begin(x.c, &own)))
		return err;
	if (!(x.items = malloc(((size_t)q->pg.per_page + 1) * sizeof *x.items))) {
		err = PV_ENOMEM;
		goto out;
	}
	if (!len)
		err = uq_all(&x, info);
	else if (words)
		err = uq_name(&x, match, info);
	else
		err = uq_key(&x, mobile ? Q_USER_IN_ORG_MOBILE : Q_USER_IN_ORG_EMAIL, text, info);
	if (!err && x.n > (size_t)q->pg.per_page) {
		x.n = (size_t)q->pg.per_page;
		info->next = x.seq[x.n - 1];
	}
out:
	sqs_read_end(x.c, own);
	if (err || !x.n) {
		free(x.items);
		return err;
	}
	*items = x.items;
	*n = x.n;
	return PV_OK;
}

static int sq_role_add(store *s, const char *user_id, const store_role *r)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!user_id || !r || !r->role[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_ROLE_ADD, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, user_id, NOCAP);
	B_FIELD(&b, 2, r->role);
	B_FIELD(&b, 3, r->org_id);
	err = step_done(c, &b, "role_add");
	sqs_release(c, Q_ROLE_ADD, st);
	return err;
}

static int sq_role_list(store *s, const char *user_id, store_role *out,
			size_t max, size_t *n)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err, rc = SQLITE_DONE;

	if (!user_id || !n || (max && !out))
		return PV_EINVAL;
	*n = 0;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_ROLE_LIST, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, user_id, NOCAP);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, "role_list");
		goto out;
	}
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&out[*n], 0, sizeof out[*n]);
		C_TEXT(st, 0, out[*n].role);
		C_TEXT(st, 1, out[*n].org_id);
		(*n)++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sqs_error(c, rc, "role_list");
out:
	sqs_release(c, Q_ROLE_LIST, st);
	return err;
}

static int sq_cred_insert(store *s, const store_cred *cr)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!cr || !cr->user_id[0] || !cr->username[0] || !cr->pwhash[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_CRED_INSERT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, cr->user_id);
	B_FIELD(&b, 2, cr->username);
	B_FIELD(&b, 3, cr->pwhash);
	err = step_done(c, &b, "cred_insert");
	sqs_release(c, Q_CRED_INSERT, st);
	return err;
}

static int sq_cred_by_username(store *s, const char *username,
			       store_cred *out)
{
	return get_by_text(s, Q_CRED_BY_USERNAME, "cred_by_username", username,
			   rd_cred, out);
}

static int sq_cred_by_user(store *s, const char *user_id, store_cred *out)
{
	return get_by_text(s, Q_CRED_BY_USER, "cred_by_user", user_id, rd_cred, out);
}

static int sq_consent_add(store *s, const store_consent *k)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!k || !k->user_id[0] || !k->kind[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_CONSENT_ADD, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, k->user_id);
	B_FIELD(&b, 2, k->kind);
	B_FIELD(&b, 3, k->version);
	B_FIELD(&b, 4, k->client_ip);
	b_int(&b, 5, k->at);
	err = step_done(c, &b, "consent_add");
	sqs_release(c, Q_CONSENT_ADD, st);
	return err;
}

/* ---- OTP challenges and throttles ------------------------------------------ */

static int sq_otp_insert(store *s, store_otp *o)
{
	struct sqs_conn *c;
	sqlite3_stmt *st = NULL;
	int err, own;

	if (!o || !o->subject[0] || !o->purpose[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = sqs_write_begin(c, &own)))
		return err;
	err = stmt(c, Q_OTP_KILL, &st);
	if (err)
		goto out;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, o->subject);
	B_FIELD(&b, 2, o->purpose);
	err = step_done(c, &b, "otp_insert");
	sqs_release(c, Q_OTP_KILL, st);
	st = NULL;
	if (err || (err = stmt(c, Q_OTP_INSERT, &st)))
		goto out;
	b.st = st;
	b.rc = SQLITE_OK;
	B_FIELD(&b, 1, o->subject);
	B_FIELD(&b, 2, o->purpose);
	b_blob(&b, 3, o->code_mac, sizeof o->code_mac);
	b_int(&b, 4, o->created_at);
	b_int(&b, 5, o->expires_at);
	err = step_row(c, &b, "otp_insert");
	if (err == PV_ENOTFOUND)
		err = PV_ESTORE;
	if (!err) {
		int64_t id = sqlite3_column_int64(st, 0);

		err = step_finish(c, st, "otp_insert");
		if (!err) {
			o->id = id;
			o->attempts = 0;
			o->state = STORE_OTP_LIVE;
		}
	}
out:
	sqs_release(c, Q_OTP_INSERT, st);
	return sqs_write_end(c, own, err);
}

static int sq_otp_last(store *s, const char *subject, const char *purpose,
		       store_otp *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!subject || !purpose || !out)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_OTP_LAST, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, subject, NOCAP);
	b_text(&b, 2, purpose, NOCAP);
	err = step_row(c, &b, "otp_last");
	if (!err)
		rd_otp(st, out);
	sqs_release(c, Q_OTP_LAST, st);
	return err;
}

/* After a change of a live challenge that touched no row: PV_ECONFLICT
 * when the challenge exists (no longer live), PV_ENOTFOUND when unknown. */
static int otp_why_not(struct sqs_conn *c, int64_t id, const char *op)
{
	sqlite3_stmt *st;
	int err = stmt(c, Q_OTP_EXISTS, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, id);
	err = step_row(c, &b, op);
	sqs_release(c, Q_OTP_EXISTS, st);
	return err == PV_OK ? PV_ECONFLICT : err;
}

static int sq_otp_use(store *s, int64_t id)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_OTP_USE, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, id);
	err = run_change(c, Q_OTP_USE, st, &b, "otp_use");
	return err == PV_ENOTFOUND ? otp_why_not(c, id, "otp_use") : err;
}

static int sq_otp_fail(store *s, int64_t id, int max_tries, int *attempts)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (max_tries < 1)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_OTP_FAIL, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, id);
	b_int(&b, 2, max_tries);
	err = step_row(c, &b, "otp_fail");
	if (!err) {
		if (attempts)
			*attempts = sqlite3_column_int(st, 0);
		err = step_finish(c, st, "otp_fail");
	}
	sqs_release(c, Q_OTP_FAIL, st);
	return err == PV_ENOTFOUND ? otp_why_not(c, id, "otp_fail") : err;
}

static int sq_throttle_hit(store *s, const char *key, int64_t now,
			   int64_t window_ms, int64_t lock_at, int64_t lock_ms,
			   store_throttle *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	store_throttle t;
	int err;

	if (!key || !*key || strlen(key) >= STORE_KEY_MAX || window_ms <= 0 ||
	    lock_at < 0 || lock_ms < 0)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_THR_HIT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, key, NOCAP);
	b_int(&b, 2, now);
	b_int(&b, 3, window_ms);
	b_int(&b, 4, lock_at);
	b_int(&b, 5, lock_ms);
	err = step_row(c, &b, "throttle_hit");
	if (err == PV_ENOTFOUND)
		err = PV_ESTORE; /* an upsert returning nothing */
	if (!err) {
		rd_throttle(st, &t);
		err = step_finish(c, st, "throttle_hit");
		if (!err && out)
			*out = t;
	}
	sqs_release(c, Q_THR_HIT, st);
	return err;
}

static int sq_throttle_peek(store *s, const char *key, int64_t now,
			    store_throttle *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!key || !out)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_THR_PEEK, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, key, NOCAP);
	b_int(&b, 2, now);
	err = step_row(c, &b, "throttle_peek");
	if (!err)
		rd_throttle(st, out);
	sqs_release(c, Q_THR_PEEK, st);
	return err;
}

/* Two reads: on SQLite a read costs no round trip. */
static int sq_throttle_peek_pair(store *s, const char *key0, const char *key1,
				 int64_t now, store_throttle out[2], int found[2])
{
	const char *key[2] = {key0, key1};
	int err = PV_OK;

	for (int i = 0; i < 2; i++)
		found[i] = 0;
	for (int i = 0; i < 2 && err == PV_OK; i++) {
		err = sq_throttle_peek(s, key[i], now, &out[i]);
		found[i] = err == PV_OK;
		if (err == PV_ENOTFOUND)
			err = PV_OK;
	}
	return err;
}

static int sq_throttle_undo(store *s, const char *key, int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!key)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_THR_UNDO, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, key, NOCAP);
	b_int(&b, 2, now);
	err = step_done(c, &b, "throttle_undo");
	sqs_release(c, Q_THR_UNDO, st);
	return err;
}

static int sq_throttle_clear(store *s, const char *key)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!key)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_THR_DEL, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, key, NOCAP);
	err = step_done(c, &b, "throttle_clear");
	sqs_release(c, Q_THR_DEL, st);
	return err;
}

/* One bounded delete of the sweep: ?1 before, ?2 max, ?3 (sessions only)
 * seen before. Adds the rows deleted to *n. */
static int sweep_one(struct sqs_conn *c, int q, int64_t before, int64_t max,
		     int64_t seen_before, int64_t *n)
{
	sqlite3_stmt *st;
	int err = stmt(c, q, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, before);
	b_int(&b, 2, max);
	if (q == Q_SWEEP_SESSIONS)
		b_int(&b, 3, seen_before);
	err = step_done(c, &b, "sweep");
	if (!err)
		*n += sqlite3_changes(c->db);
	sqs_release(c, q, st);
	return err;
}

static int sq_sweep(store *s, int64_t now, int64_t grace_ms, int64_t idle_ms,
		    int64_t max, int64_t *deleted)
{
	struct sqs_conn *c;
	int64_t n = 0, before = now - grace_ms;
	int err;

	if (grace_ms < 0 || idle_ms < 0 || max < 1)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (!err)
		err = sweep_one(c, Q_SWEEP_OTPS, before, max, 0, &n);
	if (!err)
		err = sweep_one(c, Q_SWEEP_TOKENS, before, max, 0, &n);
	if (!err)
		err = sweep_one(c, Q_SWEEP_SESSIONS, before, max,
				before - idle_ms, &n);
	if (!err)
		err = sweep_one(c, Q_SWEEP_THROTTLES, now, max, 0, &n);
	if (deleted)
		*deleted = n;
	return err;
}

/* ---- tokens and sessions ----------------------------------------------------- */

static int sq_token_insert(store *s, const store_token *t)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!t || !t->kind[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_TOKEN_INSERT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_blob(&b, 1, t->hash, sizeof t->hash);
	B_FIELD(&b, 2, t->kind);
	B_FIELD(&b, 3, t->subject);
	B_FIELD(&b, 4, t->extra);
	b_int(&b, 5, t->created_at);
	b_int(&b, 6, t->expires_at);
	err = step_done(c, &b, "token_insert");
	sqs_release(c, Q_TOKEN_INSERT, st);
	return err;
}

static int sq_token_consume(store *s, const char *kind,
			    const unsigned char hash[STORE_HASH_LEN],
			    int64_t now, store_token *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!kind || !hash)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_TOKEN_CONSUME, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_blob(&b, 1, hash, STORE_HASH_LEN);
	b_text(&b, 2, kind, NOCAP);
	b_int(&b, 3, now > 0 ? now : 1); /* used_at 0 means unused */
	b_int(&b, 4, now);
	err = step_row(c, &b, "token_consume");
	if (!err) {
		if (out)
			rd_token(st, out);
		err = step_finish(c, st, "token_consume");
	}
	sqs_release(c, Q_TOKEN_CONSUME, st);
	if (err != PV_ENOTFOUND)
		return err;
	/* Why not: expired, or unknown / already used. */
	err = stmt(c, Q_TOKEN_STATE, &st);
	if (err)
		return err;
	b.st = st;
	b.rc = SQLITE_OK;
	b_blob(&b, 1, hash, STORE_HASH_LEN);
	b_text(&b, 2, kind, NOCAP);
	err = step_row(c, &b, "token_consume");
	if (!err)
		err = sqlite3_column_int64(st, 1) == 0 &&
				      sqlite3_column_int64(st, 0) <= now
			      ? PV_EEXPIRED
			      : PV_ENOTFOUND;
	sqs_release(c, Q_TOKEN_STATE, st);
	return err;
}

static int sq_token_get(store *s, const char *kind,
			const unsigned char hash[STORE_HASH_LEN], int64_t now,
			store_token *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!kind || !hash || !out)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_TOKEN_GET, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_blob(&b, 1, hash, STORE_HASH_LEN);
	b_text(&b, 2, kind, NOCAP);
	b_int(&b, 3, now);
	err = step_row(c, &b, "token_get");
	if (!err)
		rd_token(st, out);
	sqs_release(c, Q_TOKEN_GET, st);
	if (err != PV_ENOTFOUND)
		return err;
	/* Why not: expired, or unknown / already used. */
	err = stmt(c, Q_TOKEN_STATE, &st);
	if (err)
		return err;
	b.st = st;
	b.rc = SQLITE_OK;
	b_blob(&b, 1, hash, STORE_HASH_LEN);
	b_text(&b, 2, kind, NOCAP);
	err = step_row(c, &b, "token_get");
	if (!err)
		err = sqlite3_column_int64(st, 1) == 0 && sqlite3_column_int64(st, 0) <= now
			      ? PV_EEXPIRED
			      : PV_ENOTFOUND;
	sqs_release(c, Q_TOKEN_STATE, st);
	return err;
}

static int sq_session_insert(store *s, const store_session *se)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!se || !se->user_id[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_SES_INSERT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_blob(&b, 1, se->hash, sizeof se->hash);
	B_FIELD(&b, 2, se->user_id);
	b_blob(&b, 3, se->csrf_hash, sizeof se->csrf_hash);
	b_int(&b, 4, se->created_at);
	b_int(&b, 5, se->last_seen);
	b_int(&b, 6, se->expires_at);
	b_int(&b, 7, se->revoked ? 1 : 0);
	b_int(&b, 8, se->elevated ? 1 : 0);
	B_FIELD(&b, 9, se->client_ip);
	err = step_done(c, &b, "session_insert");
	sqs_release(c, Q_SES_INSERT, st);
	return err;
}

/* Both writes in one transaction: the caller's, or one of its own when
 * there is none (a session whose login was not recorded is not stored). */
static int sq_session_login(store *s, const store_session *se)
{
	struct sqs_conn *c;
	int err, own;

	if (!se || !se->user_id[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = sqs_write_begin(c, &own)))
		return err;
	if ((err = sq_session_insert(s, se)) != PV_OK)
		goto out;
	err = sq_user_logged_in(s, se->user_id, se->created_at);
out:
	return sqs_write_end(c, own, err);
}

static int sq_session_get(store *s, const unsigned char hash[STORE_HASH_LEN],
			  store_session *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!hash || !out)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_SES_GET, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_blob(&b, 1, hash, STORE_HASH_LEN);
	err = step_row(c, &b, "session_get");
	if (!err)
		rd_session(st, out);
	sqs_release(c, Q_SES_GET, st);
	return err;
}

static int session_change(store *s, int q, const char *op,
			  const unsigned char *hash, const int64_t *now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!hash)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, q, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_blob(&b, 1, hash, STORE_HASH_LEN);
	if (now)
		b_int(&b, 2, *now);
	return run_change(c, q, st, &b, op);
}

static int sq_session_touch(store *s, const unsigned char hash[STORE_HASH_LEN],
			    int64_t now)
{
	return session_change(s, Q_SES_TOUCH, "session_touch", hash, &now);
}

static int sq_session_revoke(store *s,
			     const unsigned char hash[STORE_HASH_LEN])
{
	return session_change(s, Q_SES_REVOKE, "session_revoke", hash, NULL);
}

static int sq_session_revoke_user(store *s, const char *user_id)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!user_id)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_SES_REVOKE_USER, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, user_id, NOCAP);
	err = step_done(c, &b, "session_revoke_user");
	sqs_release(c, Q_SES_REVOKE_USER, st);
	return err;
}

/* ---- requests ------------------------------------------------------------------ */

static int sq_request_insert(store *s, const store_request *r,
			     store_request *existing)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err, e2;

	if (!r || !r->id[0] || !r->kind[0] || !r->name[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_REQ_INSERT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, r->id);
	B_FIELD(&b, 2, r->kind);
	B_FIELD(&b, 3, r->full_name);
	B_FIELD(&b, 4, r->email);
	B_FIELD(&b, 5, r->mobile);
	B_FIELD(&b, 6, r->name);
	B_FIELD(&b, 7, r->details);
	B_FIELD(&b, 8, r->sector);
	B_FIELD(&b, 9, r->parent_id);
	b_int(&b, 10, r->created_at);
	err = step_done(c, &b, "request_insert");
	sqs_release(c, Q_REQ_INSERT, st);
	if (err != PV_ECONFLICT || !existing)
		return err;
	memset(existing, 0, sizeof *existing);
	e2 = stmt(c, Q_REQ_PENDING_BY_NAME, &st);
	if (e2)
		return e2;
	b.st = st;
	b.rc = SQLITE_OK;
	B_FIELD(&b, 1, r->kind);
	B_FIELD(&b, 2, r->name);
	e2 = step_row(c, &b, "request_insert");
	if (!e2)
		rd_request(st, existing);
	sqs_release(c, Q_REQ_PENDING_BY_NAME, st);
	/* PV_ENOTFOUND here: the id was taken, not the name. */
	return e2 && e2 != PV_ENOTFOUND ? e2 : PV_ECONFLICT;
}

static int sq_request_get(store *s, const char *id, store_request *out)
{
	return get_by_text(s, Q_REQ_GET, "request_get", id, rd_request, out);
}

static int sq_request_decide(store *s, const store_request *r)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!r || !r->id[0] ||
	    (strcmp(r->status, STORE_REQ_APPROVED) != 0 &&
	     strcmp(r->status, STORE_REQ_REJECTED) != 0))
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_REQ_DECIDE, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, r->id);
	B_FIELD(&b, 2, r->status);
	B_FIELD(&b, 3, r->name);
	B_FIELD(&b, 4, r->reason);
	B_FIELD(&b, 5, r->created_id);
	B_FIELD(&b, 6, r->decided_by);
	b_int(&b, 7, r->decided_at);
	err = run_change(c, Q_REQ_DECIDE, st, &b, "request_decide");
	if (err != PV_ENOTFOUND)
		return err;
	err = exists_text(c, Q_REQ_EXISTS, r->id, "request_decide");
	return err == PV_OK ? PV_ECONFLICT : err;
}

struct req_filter {
	const char *status, *kind;
};

static void bind_req_filter(struct bnd *b, const void *ctx)
{
	const struct req_filter *f = ctx;

	b_text(b, 1, f->status, NOCAP);
	b_text(b, 2, f->kind, NOCAP);
}

static int sq_request_list(store *s, const char *status, const char *kind,
			   store_page pg, store_request **items, size_t *n,
			   int64_t *total)
{
	struct req_filter f = {status ? status : "", kind ? kind : ""};
	void *arr = NULL;
	int err;

	if (!items || !n || !total)
		return PV_EINVAL;
	err = list_page(s, Q_REQ_COUNT, Q_REQ_LIST, "request_list",
			bind_req_filter, &f, pg, sizeof(store_request),
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

static int sq_upload_insert(store *s, const store_upload *u)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	const char *status;
	int err;

	if (!u || !u->id[0] || !u->org_id[0])
		return PV_EINVAL;
	status = u->status[0] ? u->status : STORE_UP_QUEUED;
	if (!valid_upload_status(status))
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_UP_INSERT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, u->id);
	B_FIELD(&b, 2, u->org_id);
	B_FIELD(&b, 3, u->uploader_id);
	B_FIELD(&b, 4, u->file_name);
	B_FIELD(&b, 5, u->stored_path);
	B_FIELD(&b, 6, u->format);
	b_text(&b, 7, status, NOCAP);
	b_int(&b, 8, u->total_records);
	b_int(&b, 9, u->success_records);
	b_int(&b, 10, u->failed_records);
	b_int(&b, 11, u->cursor);
	B_FIELD(&b, 12, u->error);
	b_int(&b, 13, u->created_at);
	b_int(&b, 14, u->updated_at ? u->updated_at : u->created_at);
	B_FIELD(&b, 15, u->claimed_by);
	b_int(&b, 16, u->lease_until);
	B_FIELD(&b, 17, u->original_name);
	err = step_done(c, &b, "upload_insert");
	sqs_release(c, Q_UP_INSERT, st);
	return err;
}

static int sq_upload_get(store *s, const char *id, store_upload *out)
{
	return get_by_text(s, Q_UP_GET, "upload_get", id, rd_upload, out);
}

static void bind_org(struct bnd *b, const void *ctx)
{
	b_text(b, 1, ctx, NOCAP);
}

static int sq_upload_list(store *s, const char *org_id, store_page pg,
			  store_upload **items, size_t *n, int64_t *total)
{
	void *arr = NULL;
	int err;

	if (!items || !n || !total)
		return PV_EINVAL;
	*items = NULL;
	if (!org_id)
		return PV_EINVAL;
	err = list_page(s, Q_UP_COUNT, Q_UP_LIST, "upload_list", bind_org,
			org_id, pg, sizeof(store_upload), rd_upload, &arr, n,
			total);
	*items = arr;
	return err;
}

static int sq_upload_claim(store *s, const char *worker, int64_t now,
			   int64_t lease_ms, store_upload *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!worker || !worker[0] || lease_ms <= 0 || !out)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_UP_CLAIM, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, worker, STORE_ID_MAX - 1);
	b_int(&b, 2, now);
	b_int(&b, 3, add_sat(now, lease_ms));
	err = step_row(c, &b, "upload_claim");
	if (!err) {
		rd_upload(st, out);
		err = step_finish(c, st, "upload_claim");
	}
	sqs_release(c, Q_UP_CLAIM, st);
	return err;
}

static int sq_upload_progress(store *s, const store_upload *u,
			      const char *worker, int64_t now, int64_t lease_ms)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!u || !u->id[0] || !worker || !worker[0] || lease_ms <= 0)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_UP_PROGRESS, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, u->id);
	b_text(&b, 2, worker, STORE_ID_MAX - 1);
	b_int(&b, 3, u->total_records);
	b_int(&b, 4, u->success_records);
	b_int(&b, 5, u->failed_records);
	b_int(&b, 6, u->cursor);
	b_int(&b, 7, add_sat(now, lease_ms));
	b_int(&b, 8, now);
	err = run_change(c, Q_UP_PROGRESS, st, &b, "upload_progress");
	if (err != PV_ENOTFOUND)
		return err;
	/* The lease went to another worker (or the upload is finished). */
	err = exists_text(c, Q_UP_EXISTS, u->id, "upload_progress");
	return err == PV_OK ? PV_ECONFLICT : err;
}

static int sq_upload_finish(store *s, const char *id, const char *status,
			    const char *error, const char *worker, int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id || !valid_upload_status(status))
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_UP_FINISH, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_text(&b, 2, status, NOCAP);
	b_text_fit(&b, 3, error, STORE_TEXT_MAX);
	b_int(&b, 4, now);
	b_text(&b, 5, worker ? worker : "", NOCAP);
	err = run_change(c, Q_UP_FINISH, st, &b, "upload_finish");
	/* no row changed: unknown, or another worker holds it now */
	if (err == PV_ENOTFOUND && worker && *worker &&
	    exists_text(c, Q_UP_EXISTS, id, "upload_finish") == PV_OK)
		err = PV_ECONFLICT;
	return err;
}

static int sq_upload_failure_add(store *s, const char *upload_id,
				 const store_upload_failure *f)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!upload_id || !f)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_UP_FAIL_ADD, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, upload_id, NOCAP);
	b_int(&b, 2, f->row);
	B_FIELD(&b, 3, f->errors);
	err = step_done(c, &b, "upload_failure_add");
	sqs_release(c, Q_UP_FAIL_ADD, st);
	return err;
}

static int sq_upload_failure_each(store *s, const char *upload_id,
				  store_failure_cb cb, void *ctx)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	store_upload_failure f;
	int err, rc = SQLITE_DONE, stop = 0;

	if (!upload_id || !cb)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_UP_FAIL_EACH, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, upload_id, NOCAP);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, "upload_failure_each");
		goto out;
	}
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&f, 0, sizeof f);
		f.row = sqlite3_column_int64(st, 0);
		C_TEXT(st, 1, f.errors);
		stop = cb(ctx, &f);
	}
	if (!stop && rc != SQLITE_DONE)
		err = sqs_error(c, rc, "upload_failure_each");
out:
	sqs_release(c, Q_UP_FAIL_EACH, st);
	return stop ? stop : err;
}

static int sq_upload_status_counts(store *s, int64_t *queued,
				   int64_t *in_progress, int64_t *successful,
				   int64_t *failed)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int64_t q = 0, ip = 0, ok = 0, fl = 0;
	int err, rc;

	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_UP_COUNTS, &st)))
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *w = (const char *)sqlite3_column_text(st, 0);
		int64_t k = sqlite3_column_int64(st, 1);

		if (!w)
			continue;
		if (strcmp(w, STORE_UP_QUEUED) == 0)
			q = k;
		else if (strcmp(w, STORE_UP_IN_PROGRESS) == 0)
			ip = k;
		else if (strcmp(w, STORE_UP_SUCCESSFUL) == 0)
			ok = k;
		else if (strcmp(w, STORE_UP_FAILED) == 0)
			fl = k;
	}
	if (rc != SQLITE_DONE)
		err = sqs_error(c, rc, "upload_status_counts");
	sqs_release(c, Q_UP_COUNTS, st);
	if (err)
		return err;
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

static int sq_outbox_insert(store *s, store_outbox *m)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!m || !m->channel[0] || !m->to_addr[0] || !m->template_name[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_OUT_INSERT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, m->channel);
	B_FIELD(&b, 2, m->to_addr);
	B_FIELD(&b, 3, m->template_name);
	B_FIELD(&b, 4, m->lang);
	b_text(&b, 5, m->params[0] ? m->params : "{}", sizeof m->params);
	b_int(&b, 6, m->attempts);
	b_int(&b, 7, m->next_at);
	b_int(&b, 8, m->created_at);
	err = step_row(c, &b, "outbox_insert");
	if (err == PV_ENOTFOUND)
		err = PV_ESTORE;
	if (!err) {
		int64_t id = sqlite3_column_int64(st, 0);

		err = step_finish(c, st, "outbox_insert");
		if (!err)
			m->id = id;
	}
	sqs_release(c, Q_OUT_INSERT, st);
	return err;
}

static int sq_outbox_claim(store *s, const char *worker, int64_t now,
			   int64_t lease_ms, store_outbox *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!worker || !worker[0] || lease_ms <= 0 || !out)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_OUT_CLAIM, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, worker, STORE_ID_MAX - 1);
	b_int(&b, 2, now);
	b_int(&b, 3, add_sat(now, lease_ms));
	err = step_row(c, &b, "outbox_claim");
	if (!err) {
		rd_outbox(st, out);
		err = step_finish(c, st, "outbox_claim");
	}
	sqs_release(c, Q_OUT_CLAIM, st);
	return err;
}

static int sq_outbox_sent(store *s, int64_t id, int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err = sqs_enter(s, &c);

	if (err || (err = stmt(c, Q_OUT_SENT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, id);
	b_int(&b, 2, now);
	return run_change(c, Q_OUT_SENT, st, &b, "outbox_sent");
}

static int sq_outbox_retry(store *s, int64_t id, int attempts, int64_t next_at,
			   const char *error)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err = sqs_enter(s, &c);

	if (err || (err = stmt(c, Q_OUT_RETRY, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, id);
	b_int(&b, 2, attempts);
	b_int(&b, 3, next_at);
	b_text_fit(&b, 4, error, STORE_TEXT_MAX / 4);
	return run_change(c, Q_OUT_RETRY, st, &b, "outbox_retry");
}

static int sq_outbox_fail(store *s, int64_t id, int attempts,
			  const char *error)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err = sqs_enter(s, &c);

	if (err || (err = stmt(c, Q_OUT_FAIL, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, id);
	b_int(&b, 2, attempts);
	b_text_fit(&b, 3, error, STORE_TEXT_MAX / 4);
	return run_change(c, Q_OUT_FAIL, st, &b, "outbox_fail");
}

static int sq_outbox_stats(store *s, int64_t *queued, int64_t *failed)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err = sqs_enter(s, &c);

	if (err || (err = stmt(c, Q_OUT_STATS, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	err = step_row(c, &b, "outbox_stats");
	if (!err) {
		if (queued)
			*queued = sqlite3_column_int64(st, 0);
		if (failed)
			*failed = sqlite3_column_int64(st, 1);
	} else if (err == PV_ENOTFOUND) {
		err = PV_ESTORE;
	}
	sqs_release(c, Q_OUT_STATS, st);
	return err;
}

/* ---- campaigns ------------------------------------------------------------------ */

static void rd_campaign(sqlite3_stmt *st, void *p)
{
	store_campaign *m = p;

	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(st, 0);
	C_TEXT(st, 1, m->upload_id);
	C_TEXT(st, 2, m->channel);
	C_TEXT(st, 3, m->template_name);
	C_TEXT(st, 4, m->lang);
	C_TEXT(st, 5, m->params);
	C_TEXT(st, 6, m->status);
	m->cursor = sqlite3_column_int64(st, 7);
	m->handled = sqlite3_column_int64(st, 8);
	C_TEXT(st, 9, m->claimed_by);
	m->lease_until = sqlite3_column_int64(st, 10);
	m->next_at = sqlite3_column_int64(st, 11);
	m->created_at = sqlite3_column_int64(st, 12);
	m->finished_at = sqlite3_column_int64(st, 13);
}

static int sq_campaign_insert(store *s, store_campaign *m)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err, rc;

	if (!m || !m->upload_id[0] || !m->channel[0] || !m->template_name[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_CAMP_INSERT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, m->upload_id);
	B_FIELD(&b, 2, m->channel);
	B_FIELD(&b, 3, m->template_name);
	B_FIELD(&b, 4, m->lang);
	b_text(&b, 5, m->params[0] ? m->params : "{}", sizeof m->params);
	b_int(&b, 6, m->next_at);
	b_int(&b, 7, m->created_at);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, "campaign_insert");
		goto out;
	}
	if ((err = sqs_stmt_lock(c, st)) != PV_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		err = PV_ECONFLICT; /* DO NOTHING: the upload has one */
	else if (rc != SQLITE_ROW)
		err = sqs_error(c, rc, "campaign_insert"); /* unknown upload */
	if (!err) {
		int64_t id = sqlite3_column_int64(st, 0);

		err = step_finish(c, st, "campaign_insert");
		if (!err)
			m->id = id;
	}
out:
	sqs_release(c, Q_CAMP_INSERT, st);
	return err;
}

static int sq_campaign_claim(store *s, const char *worker, int64_t now,
			     int64_t lease_ms, store_campaign *out)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!worker || !worker[0] || lease_ms <= 0 || !out)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_CAMP_CLAIM, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, worker, STORE_ID_MAX - 1);
	b_int(&b, 2, now);
	b_int(&b, 3, add_sat(now, lease_ms));
	err = step_row(c, &b, "campaign_claim");
	if (!err) {
		rd_campaign(st, out);
		err = step_finish(c, st, "campaign_claim");
	}
	sqs_release(c, Q_CAMP_CLAIM, st);
	return err;
}

/* The ids of the users from rows after `after` of upload upload_id:
 * [lo, hi] (store_upload_user_id; an empty range, lo > hi, after the last
 * possible row); PV_ENOTFOUND for an unknown upload. */
static int campaign_range(store *s, const char *upload_id, int64_t after,
			  char lo[STORE_ID_MAX], char hi[STORE_ID_MAX])
{
	store_upload u;
	int err = get_by_text(s, Q_UP_GET, "campaign_users", upload_id, rd_upload, &u);

	if (err)
		return err;
	err = store_upload_user_id(&u, STORE_UPLOAD_ROW_MAX, hi, STORE_ID_MAX);
	if (!err && after >= STORE_UPLOAD_ROW_MAX)
		snprintf(lo, STORE_ID_MAX, "%s~", hi); /* after every id */
	else if (!err)
		err = store_upload_user_id(&u, after < 1 ? 1 : after + 1, lo, STORE_ID_MAX);
	return err;
}

static int sq_campaign_users(store *s, const char *upload_id, int64_t after,
			     size_t max, store_user *out, size_t *n)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	char lo[STORE_ID_MAX], hi[STORE_ID_MAX];
	int err, rc = SQLITE_DONE;
	size_t got = 0;

	if (!n)
		return PV_EINVAL;
	*n = 0;
	if (!upload_id || !upload_id[0] || !out || !max || max > INT_MAX)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = campaign_range(s, upload_id, after, lo, hi)))
		return err;
	if ((err = stmt(c, Q_CAMP_USERS, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, lo, NOCAP);
	b_text(&b, 2, hi, NOCAP);
	b_int(&b, 3, (int64_t)max);
	if (b.rc != SQLITE_OK)
		err = sqs_error(c, b.rc, "campaign_users");
	while (!err && got < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		rd_user(st, &out[got++]);
	if (!err && got < max && rc != SQLITE_DONE)
		err = sqs_error(c, rc, "campaign_users");
	sqs_release(c, Q_CAMP_USERS, st);
	if (!err)
		*n = got;
	return err;
}

/* After a campaign change that changed nothing: PV_ENOTFOUND for an
 * unknown campaign, else PV_ECONFLICT (another worker holds it, it is
 * done, or the cursor would not move forward). */
static int campaign_why_not(struct sqs_conn *c, int64_t id, const char *op)
{
	sqlite3_stmt *st;
	int err = stmt(c, Q_CAMP_STATE, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, id);
	err = step_row(c, &b, op);
	sqs_release(c, Q_CAMP_STATE, st);
	return err == PV_OK ? PV_ECONFLICT : err;
}

static int sq_campaign_advance(store *s, int64_t id, const char *worker,
			       int64_t cursor, int64_t now, int64_t lease_ms)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!worker || !worker[0] || lease_ms <= 0)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_CAMP_ADVANCE, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, id);
	b_text(&b, 2, worker, NOCAP);
	b_int(&b, 3, cursor);
	b_int(&b, 4, add_sat(now, lease_ms));
	err = run_change(c, Q_CAMP_ADVANCE, st, &b, "campaign_advance");
	return err == PV_ENOTFOUND ? campaign_why_not(c, id, "campaign_advance")
				   : err;
}

static int sq_campaign_release(store *s, int64_t id, const char *worker,
			       int64_t next_at)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!worker || !worker[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_CAMP_RELEASE, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, id);
	b_text(&b, 2, worker, NOCAP);
	b_int(&b, 3, next_at);
	err = run_change(c, Q_CAMP_RELEASE, st, &b, "campaign_release");
	return err == PV_ENOTFOUND ? campaign_why_not(c, id, "campaign_release")
				   : err;
}

/* The campaign's holder, status, cursor and upload, for campaign_finish. */
static int campaign_state(struct sqs_conn *c, int64_t id, char by[STORE_ID_MAX],
			  char status[STORE_SHORT_MAX], int64_t *cursor,
			  char upload[STORE_ID_MAX])
{
	sqlite3_stmt *q;
	int err = stmt(c, Q_CAMP_STATE, &q);

	if (err)
		return err;
	struct bnd b = {q, SQLITE_OK};
	b_int(&b, 1, id);
	err = step_row(c, &b, "campaign_finish");
	if (!err) {
		c_text(q, 0, by, STORE_ID_MAX);
		c_text(q, 1, status, STORE_SHORT_MAX);
		*cursor = sqlite3_column_int64(q, 2);
		c_text(q, 3, upload, STORE_ID_MAX);
	}
	sqs_release(c, Q_CAMP_STATE, q);
	return err;
}

/* In one write transaction: the campaign's state, then the change that
 * decides the end. */
static int sq_campaign_finish(store *s, int64_t id, const char *worker,
			      int64_t now, int *done)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	char by[STORE_ID_MAX], status[STORE_SHORT_MAX], up[STORE_ID_MAX];
	char lo[STORE_ID_MAX], hi[STORE_ID_MAX];
	int64_t cursor = 0;
	int err, own = 0;

	if (!worker || !worker[0] || !done)
		return PV_EINVAL;
	*done = 0;
	err = sqs_enter(s, &c);
	if (err || (err = sqs_write_begin(c, &own)))
		return err;
	err = campaign_state(c, id, by, status, &cursor, up);
	if (!err && (strcmp(by, worker) != 0 || strcmp(status, STORE_CAMPAIGN_ACTIVE) != 0))
		err = PV_ECONFLICT;
	if (!err)
		err = campaign_range(s, up, cursor, lo, hi);
	if (!err && !(err = stmt(c, Q_CAMP_FINISH, &st))) {
		struct bnd b = {st, SQLITE_OK};

		b_int(&b, 1, id);
		b_text(&b, 2, worker, NOCAP);
		b_int(&b, 3, now);
		b_text(&b, 4, lo, NOCAP);
		b_text(&b, 5, hi, NOCAP);
		b_int(&b, 6, cursor);
		err = run_change(c, Q_CAMP_FINISH, st, &b, "campaign_finish");
		*done = err == PV_OK;
		if (err == PV_ENOTFOUND)
			err = PV_OK; /* the upload runs, or users are left */
	}
	return sqs_write_end(c, own, err);
}

/* ---- audit ---------------------------------------------------------------------------- */

static int sq_audit_add(store *s, store_audit *a)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!a || !a->action[0])
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_AUDIT_ADD, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	B_FIELD(&b, 1, a->actor_id);
	B_FIELD(&b, 2, a->action);
	B_FIELD(&b, 3, a->target);
	B_FIELD(&b, 4, a->client_ip);
	B_FIELD(&b, 5, a->detail);
	b_int(&b, 6, a->at);
	err = step_row(c, &b, "audit_add");
	if (err == PV_ENOTFOUND)
		err = PV_ESTORE;
	if (!err) {
		int64_t id = sqlite3_column_int64(st, 0);

		err = step_finish(c, st, "audit_add");
		if (!err)
			a->id = id;
	}
	sqs_release(c, Q_AUDIT_ADD, st);
	return err;
}

static void bind_audit_filter(struct bnd *b, const void *ctx)
{
	const store_audit_filter *f = ctx;

	b_text(b, 1, f->action ? f->action : "", NOCAP);
	b_text(b, 2, f->actor_id ? f->actor_id : "", NOCAP);
	b_int(b, 3, f->from);
	b_int(b, 4, f->to);
}

static int sq_audit_list(store *s, const store_audit_filter *f, store_page pg,
			 store_audit **items, size_t *n, int64_t *total)
{
	static const store_audit_filter all = {NULL, NULL, 0, 0};
	void *arr = NULL;
	int err;

	if (!items || !n || !total)
		return PV_EINVAL;
	err = list_page(s, Q_AUDIT_COUNT, Q_AUDIT_LIST, "audit_list",
			bind_audit_filter, f ? f : &all, pg, sizeof(store_audit),
			rd_audit, &arr, n, total);
	*items = arr;
	return err;
}

/* ---- the person's own data ------------------------------------------------------- */

static int sq_user_set_names(store *s, const char *id, const char *first_name,
			     const char *last_name, const char *position_id,
			     int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id || !first_name || !last_name)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_USER_SET_NAMES, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_text(&b, 2, first_name, STORE_PERSON_MAX - 1);
	b_text(&b, 3, last_name, STORE_PERSON_MAX - 1);
	b_text_null(&b, 4, position_id, STORE_ID_MAX - 1);
	b_int(&b, 5, now);
	return run_change(c, Q_USER_SET_NAMES, st, &b, "user_set_names");
}

static int sq_user_set_mobile(store *s, const char *id, const char *mobile,
			      int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id || !mobile || !*mobile)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_USER_SET_MOBILE, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_text(&b, 2, mobile, STORE_MOBILE_MAX - 1);
	b_int(&b, 3, now);
	return run_change(c, Q_USER_SET_MOBILE, st, &b, "user_set_mobile");
}

static int sq_user_set_email(store *s, const char *id, const char *email,
			     int official, int verified, int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id || !email || !*email)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_USER_SET_EMAIL, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_text(&b, 2, email, STORE_EMAIL_MAX - 1);
	b_int(&b, 3, official ? 1 : 0);
	b_int(&b, 4, verified ? 1 : 0);
	b_int(&b, 5, now);
	return run_change(c, Q_USER_SET_EMAIL, st, &b, "user_set_email");
}

static int sq_user_close(store *s, const char *id, int64_t erase_after,
			 int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_USER_CLOSE, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_int(&b, 2, erase_after);
	b_int(&b, 3, now);
	err = run_change(c, Q_USER_CLOSE, st, &b, "user_close");
	return err == PV_ENOTFOUND ? user_why_not(c, id, "user_close") : err;
}

static int sq_user_erase_due(store *s, int64_t now, char (*ids)[STORE_ID_MAX],
			     size_t max, size_t *n)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err, rc = SQLITE_DONE;

	if (!ids || !n || max < 1 || max > 100)
		return PV_EINVAL;
	*n = 0;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_USER_ERASE_DUE, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, now);
	b_int(&b, 2, (int64_t)max);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, "user_erase_due");
		goto out;
	}
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		c_text(st, 0, ids[(*n)++], STORE_ID_MAX);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sqs_error(c, rc, "user_erase_due");
out:
	sqs_release(c, Q_USER_ERASE_DUE, st);
	return err;
}

/* One statement of the erasure: ?1 the id (or the e-mail), then the
 * integers and texts given. */
static int erase_step(struct sqs_conn *c, int q, const char *t1,
		      const char *t2, int64_t i, int with_i)
{
	sqlite3_stmt *st;
	int err = stmt(c, q, &st);

	if (err)
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, t1, NOCAP);
	if (t2)
		b_text(&b, 2, t2, NOCAP);
	if (with_i)
		b_int(&b, t2 ? 3 : 2, i);
	err = step_done(c, &b, "user_erase");
	sqs_release(c, q, st);
	return err;
}

static int sq_user_erase(store *s, const char *id, int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st = NULL;
	char status[STORE_SHORT_MAX], email[STORE_EMAIL_MAX],
		mobile[STORE_MOBILE_MAX];
	int64_t closed_at = 0;
	int err, own = 0;

	if (!id)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = sqs_write_begin(c, &own)))
		return err;
	if ((err = stmt(c, Q_ERASE_READ, &st)))
		goto out;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	err = step_row(c, &b, "user_erase");
	if (!err) {
		C_TEXT(st, 0, status);
		C_TEXT(st, 1, email);
		C_TEXT(st, 2, mobile);
		closed_at = sqlite3_column_int64(st, 3);
	}
	sqs_release(c, Q_ERASE_READ, st);
	if (err)
		goto out;
	if (strcmp(status, STORE_USER_CLOSED) != 0) {
		err = PV_ECONFLICT;
		goto out;
	}
	/* what names the person's addresses first, while the row has them */
	if ((err = erase_step(c, Q_ERASE_REQUESTS, email, mobile, closed_at, 1)) ||
	    (err = erase_step(c, Q_ERASE_OUTBOX, email, mobile, closed_at, 1)) ||
	    (err = erase_step(c, Q_ERASE_USER, id, NULL, now, 1)) ||
	    (err = erase_step(c, Q_ERASE_ROLES, id, NULL, 0, 0)) ||
	    (err = erase_step(c, Q_ERASE_CRED, id, NULL, 0, 0)) ||
	    (err = erase_step(c, Q_ERASE_SESSIONS, id, NULL, 0, 0)) ||
	    (err = erase_step(c, Q_ERASE_TOKENS, id, NULL, 0, 0)) ||
	    (err = erase_step(c, Q_ERASE_CONSENTS, id, NULL, 0, 0)) ||
	    (err = erase_step(c, Q_ERASE_AUDIT_ACTOR, id, NULL, 0, 0)) ||
	    (err = erase_step(c, Q_ERASE_AUDIT_TARGET, id, NULL, 0, 0)))
		goto out;
out:
	return sqs_write_end(c, own, err);
}

static int sq_otp_forget(store *s, const char *subject, int64_t before)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!subject || !*subject)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_OTP_FORGET, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, subject, NOCAP);
	b_int(&b, 2, before);
	err = step_done(c, &b, "otp_forget");
	sqs_release(c, Q_OTP_FORGET, st);
	return err;
}

/* Up to max rows of statement q bound to one text, read by rd into an
 * array of records of `size` bytes; *n says how many. */
static int list_by_text(store *s, int q, const char *op, const char *key,
			row_reader rd, void *out, size_t size, size_t max,
			size_t *n)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err, rc = SQLITE_DONE;

	if (!key || !n || (max && !out))
		return PV_EINVAL;
	*n = 0;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, q, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, key, NOCAP);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, op);
		goto out;
	}
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		rd(st, (char *)out + (*n)++ * size);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sqs_error(c, rc, op);
out:
	sqs_release(c, q, st);
	return err;
}

static void rd_consent(sqlite3_stmt *st, void *p)
{
	store_consent *k = p;

	memset(k, 0, sizeof *k);
	C_TEXT(st, 0, k->user_id);
	C_TEXT(st, 1, k->kind);
	C_TEXT(st, 2, k->version);
	C_TEXT(st, 3, k->client_ip);
	k->at = sqlite3_column_int64(st, 4);
}

static int sq_consent_list(store *s, const char *user_id, store_consent *out,
			   size_t max, size_t *n)
{
	return list_by_text(s, Q_CONSENT_LIST, "consent_list", user_id,
			    rd_consent, out, sizeof *out, max, n);
}

static int sq_session_list(store *s, const char *user_id, store_session *out,
			   size_t max, size_t *n)
{
	return list_by_text(s, Q_SES_LIST, "session_list", user_id,
			    rd_session, out, sizeof *out, max, n);
}

static int sq_request_list_contact(store *s, const char *email,
				   const char *mobile, size_t max,
				   store_request **items, size_t *n)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	store_request *arr = NULL;
	size_t got = 0;
	int err, rc = SQLITE_DONE;

	if (!items || !n)
		return PV_EINVAL;
	*items = NULL;
	*n = 0;
	if (max == 0)
		return PV_OK;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_REQ_CONTACT, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, email ? email : "", NOCAP);
	b_text(&b, 2, mobile ? mobile : "", NOCAP);
	b_int(&b, 3, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, "request_list_contact");
		goto out;
	}
	while (got < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (got % 16 == 0) {
			store_request *more = realloc(arr, (got + 16) * sizeof *arr);

			if (!more) {
				err = PV_ENOMEM;
				goto out;
			}
			arr = more;
		}
		rd_request(st, &arr[got++]);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sqs_error(c, rc, "request_list_contact");
out:
	sqs_release(c, Q_REQ_CONTACT, st);
	if (err || got == 0) {
		free(arr);
		return err;
	}
	*items = arr;
	*n = got;
	return PV_OK;
}

static int sq_audit_each_user(store *s, const char *user_id, store_audit_cb cb,
			      void *ctx)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	store_audit a;
	int err, rc, stop = 0;

	if (!user_id || !cb)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_AUDIT_USER, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, user_id, NOCAP);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, "audit_each_user");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rd_audit(st, &a);
		if ((stop = cb(ctx, &a)) != 0)
			break;
	}
	if (!stop && rc != SQLITE_DONE)
		err = sqs_error(c, rc, "audit_each_user");
out:
	sqs_release(c, Q_AUDIT_USER, st);
	return stop ? stop : err;
}

static int sq_token_list(store *s, const char *kind, const char *subject,
			 store_token *out, size_t max, size_t *n)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err, rc = SQLITE_DONE;

	if (!kind || !subject || !n || (max && !out))
		return PV_EINVAL;
	*n = 0;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_TOKEN_LIST, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, subject, NOCAP);
	b_text(&b, 2, kind, NOCAP);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, "token_list");
		goto out;
	}
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		rd_token(st, &out[(*n)++]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sqs_error(c, rc, "token_list");
out:
	sqs_release(c, Q_TOKEN_LIST, st);
	return err;
}

static int sq_outbox_forget(store *s, const char *to_addr, int64_t before)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!to_addr || !*to_addr)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_OUT_FORGET, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, to_addr, NOCAP);
	b_int(&b, 2, before);
	err = step_done(c, &b, "outbox_forget");
	sqs_release(c, Q_OUT_FORGET, st);
	return err;
}

/* ---- retention ----------------------------------------------------------------- */

static int sq_upload_expired(store *s, int64_t before, size_t max,
			     store_upload *out, size_t *n)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err, rc = SQLITE_DONE;

	if (!out || !n || max < 1 || max > 100)
		return PV_EINVAL;
	*n = 0;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_UP_EXPIRED, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, before);
	b_int(&b, 2, (int64_t)max);
	if (b.rc != SQLITE_OK) {
		err = sqs_error(c, b.rc, "upload_expired");
		goto out;
	}
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		rd_upload(st, &out[(*n)++]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sqs_error(c, rc, "upload_expired");
out:
	sqs_release(c, Q_UP_EXPIRED, st);
	return err;
}

static int sq_upload_files_removed(store *s, const char *id, int64_t now)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (!id)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, Q_UP_FILES_REMOVED, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_text(&b, 1, id, NOCAP);
	b_int(&b, 2, now);
	err = run_change(c, Q_UP_FILES_REMOVED, st, &b, "upload_files_removed");
	if (err == PV_ENOTFOUND) /* removed already, or unknown */
		err = exists_text(c, Q_UP_EXISTS, id, "upload_files_removed");
	return err;
}

/* A bounded delete: ?1 before, ?2 max. */
static int purge(store *s, int q, const char *op, int64_t before,
		 int64_t max, int64_t *deleted)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err;

	if (deleted)
		*deleted = 0;
	if (max < 1)
		return PV_EINVAL;
	err = sqs_enter(s, &c);
	if (err || (err = stmt(c, q, &st)))
		return err;
	struct bnd b = {st, SQLITE_OK};
	b_int(&b, 1, before);
	b_int(&b, 2, max);
	err = step_done(c, &b, op);
	if (!err && deleted)
		*deleted = sqlite3_changes(c->db);
	sqs_release(c, q, st);
	return err;
}

static int sq_outbox_purge(store *s, int64_t before, int64_t max,
			   int64_t *deleted)
{
	return purge(s, Q_OUT_PURGE, "outbox_purge", before, max, deleted);
}

static int sq_audit_purge(store *s, int64_t before, int64_t max,
			  int64_t *deleted)
{
	return purge(s, Q_AUDIT_PURGE, "audit_purge", before, max, deleted);
}

const struct store_ops sqs_ops = {
	.name = "sqlite",
	.close = sqs_close,
	.migrate = sqs_migrate,
	.ping = sqs_ping,
	.backup = sqs_backup,
	.tx_begin = sqs_tx_begin,
	.tx_commit = sqs_tx_commit,
	.tx_rollback = sqs_tx_rollback,
	.tx_attempt = sqs_tx_attempt,
	.tx_submit = sqs_tx_submit,
	.org_upsert = sq_org_upsert,
	.org_get = sq_org_get,
	.org_each = sq_org_each,
	.org_children = sq_org_children,
	.dir_version = sq_dir_version,
	.org_update = sq_org_update,
	.position_insert = sq_position_insert,
	.position_upsert_name = sq_position_upsert_name,
	.position_get = sq_position_get,
	.position_each = sq_position_each,
	.position_update = sq_position_update,
	.user_insert = sq_user_insert,
	.user_insert_batch = sq_user_insert_batch,
	.user_get = sq_user_get,
	.user_by_email = sq_user_by_email,
	.user_by_mobile = sq_user_by_mobile,
	.user_set_status = sq_user_set_status,
	.user_verify_email = sq_user_verify_email,
	.user_logged_in = sq_user_logged_in,
	.user_list = sq_user_list,
	.role_add = sq_role_add,
	.role_list = sq_role_list,
	.cred_insert = sq_cred_insert,
	.cred_by_username = sq_cred_by_username,
	.cred_by_user = sq_cred_by_user,
	.admin_list = sq_admin_list,
	.consent_add = sq_consent_add,
	.otp_insert = sq_otp_insert,
	.otp_last = sq_otp_last,
	.otp_use = sq_otp_use,
	.otp_fail = sq_otp_fail,
	.throttle_hit = sq_throttle_hit,
	.throttle_peek = sq_throttle_peek,
	.throttle_peek_share = sq_throttle_peek, /* transactions run one at a time */
	.throttle_peek_pair = sq_throttle_peek_pair,
	.throttle_undo = sq_throttle_undo,
	.throttle_clear = sq_throttle_clear,
	.sweep = sq_sweep,
	.token_insert = sq_token_insert,
	.token_consume = sq_token_consume,
	.token_get = sq_token_get,
	.session_insert = sq_session_insert,
	.session_login = sq_session_login,
	.session_get = sq_session_get,
	.session_touch = sq_session_touch,
	.session_revoke = sq_session_revoke,
	.session_revoke_user = sq_session_revoke_user,
	.request_insert = sq_request_insert,
	.request_get = sq_request_get,
	.request_decide = sq_request_decide,
	.request_list = sq_request_list,
	.upload_insert = sq_upload_insert,
	.upload_get = sq_upload_get,
	.upload_list = sq_upload_list,
	.upload_claim = sq_upload_claim,
	.upload_progress = sq_upload_progress,
	.upload_finish = sq_upload_finish,
	.upload_failure_add = sq_upload_failure_add,
	.upload_failure_each = sq_upload_failure_each,
	.upload_status_counts = sq_upload_status_counts,
	.outbox_insert = sq_outbox_insert,
	.outbox_claim = sq_outbox_claim,
	.outbox_sent = sq_outbox_sent,
	.outbox_retry = sq_outbox_retry,
	.outbox_fail = sq_outbox_fail,
	.outbox_stats = sq_outbox_stats,
	.campaign_insert = sq_campaign_insert,
	.campaign_claim = sq_campaign_claim,
	.campaign_users = sq_campaign_users,
	.campaign_advance = sq_campaign_advance,
	.campaign_release = sq_campaign_release,
	.campaign_finish = sq_campaign_finish,
	.audit_add = sq_audit_add,
	.audit_list = sq_audit_list,
	.user_set_names = sq_user_set_names,
	.user_set_mobile = sq_user_set_mobile,
	.user_set_email = sq_user_set_email,
	.user_close = sq_user_close,
	.user_erase_due = sq_user_erase_due,
	.user_erase = sq_user_erase,
	.otp_forget = sq_otp_forget,
	.consent_list = sq_consent_list,
	.session_list = sq_session_list,
	.request_list_contact = sq_request_list_contact,
	.audit_each_user = sq_audit_each_user,
	.token_list = sq_token_list,
	.outbox_forget = sq_outbox_forget,
	.upload_expired = sq_upload_expired,
	.upload_files_removed = sq_upload_files_removed,
	.outbox_purge = sq_outbox_purge,
	.audit_purge = sq_audit_purge,
	.scrub = sqs_scrub,
	.blob_put = sqs_blob_put,
	.blob_get = sqs_blob_get,
	.blob_delete = sqs_blob_delete,
};
