/* sqlite_schema.c: the schema of the SQLite backend as a list of
 * migrations. The database's PRAGMA user_version counts the migrations
 * applied; sqs_migrate() runs the missing ones, each in its own
 * transaction. Never edit a migration that has shipped: append a new one.
 *
 * Notes
 * - Tables are STRICT: a value of the wrong type is refused, not coerced.
 * - lower() is ASCII-only in SQLite. That is what we want for e-mail
 *   addresses and usernames (ASCII); names in Indian scripts have no case.
 * - Optional references (users.position_id) are NULL when absent, so that
 *   the foreign key holds; the code maps NULL to "" and back.
 * - dir_version is one row bumped by triggers on every write of orgs and
 *   positions, so directory caches can tell they are stale. */
#include "store/sqlite/sqlite_internal.h"

static const char migration_1[] =
	"CREATE TABLE dir_version ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" version INTEGER NOT NULL"
	") STRICT;"
	"INSERT INTO dir_version (id, version) VALUES (1, 1);"

	"CREATE TABLE orgs ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" sector TEXT NOT NULL DEFAULT '',"
	" type TEXT NOT NULL DEFAULT '',"
	" parent_id TEXT NOT NULL DEFAULT '',"
	" active INTEGER NOT NULL DEFAULT 1,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX orgs_parent ON orgs (parent_id);"
	"CREATE TRIGGER orgs_ai AFTER INSERT ON orgs BEGIN"
	" UPDATE dir_version SET version = version + 1 WHERE id = 1; END;"
	"CREATE TRIGGER orgs_au AFTER UPDATE ON orgs BEGIN"
	" UPDATE dir_version SET version = version + 1 WHERE id = 1; END;"

	"CREATE TABLE positions ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" active INTEGER NOT NULL DEFAULT 1,"
	" created_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE UNIQUE INDEX positions_name ON positions (lower(name));"
	"CREATE TRIGGER positions_ai AFTER INSERT ON positions BEGIN"
	" UPDATE dir_version SET version = version + 1 WHERE id = 1; END;"
	"CREATE TRIGGER positions_au AFTER UPDATE ON positions BEGIN"
	" UPDATE dir_version SET version = version + 1 WHERE id = 1; END;"

	"CREATE TABLE users ("
	" id TEXT PRIMARY KEY,"
	" first_name TEXT NOT NULL,"
	" last_name TEXT NOT NULL DEFAULT '',"
	" email TEXT NOT NULL,"
	" official_email INTEGER NOT NULL DEFAULT 0,"
	" mobile TEXT NOT NULL,"
	" org_id TEXT NOT NULL REFERENCES orgs (id),"
	" position_id TEXT REFERENCES positions (id),"
	" status TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE UNIQUE INDEX users_email ON users (lower(email));"
	"CREATE UNIQUE INDEX users_mobile ON users (mobile);"
	"CREATE INDEX users_org_created ON users (org_id, created_at);"
	"CREATE INDEX users_position ON users (position_id);"

	"CREATE TABLE roles ("
	" user_id TEXT NOT NULL REFERENCES users (id),"
	" role TEXT NOT NULL,"
	" org_id TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY (user_id, role, org_id)"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE credentials ("
	" user_id TEXT PRIMARY KEY REFERENCES users (id),"
	" username TEXT NOT NULL,"
	" pwhash TEXT NOT NULL"
	") STRICT;"
	"CREATE UNIQUE INDEX credentials_username"
	" ON credentials (lower(username));"

	"CREATE TABLE consents ("
	" id INTEGER PRIMARY KEY,"
	" user_id TEXT NOT NULL REFERENCES users (id),"
	" kind TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" client_ip TEXT NOT NULL,"
	" at INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX consents_user ON consents (user_id);"

	"CREATE TABLE otps ("
	" id INTEGER PRIMARY KEY,"
	" mobile TEXT NOT NULL,"
	" purpose TEXT NOT NULL,"
	" code_mac BLOB NOT NULL,"
	" client_ip TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" state INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX otps_mobile_purpose ON otps (mobile, purpose, state);"
	"CREATE INDEX otps_mobile_created ON otps (mobile, created_at);"
	"CREATE INDEX otps_ip_created ON otps (client_ip, created_at);"

	"CREATE TABLE throttles ("
	" tkey TEXT PRIMARY KEY,"
	" hits INTEGER NOT NULL,"
	" window_start INTEGER NOT NULL,"
	" locked_until INTEGER NOT NULL DEFAULT 0"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE tokens ("
	" hash BLOB PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" extra TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" used_at INTEGER NOT NULL DEFAULT 0"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX tokens_expires ON tokens (expires_at);"

	"CREATE TABLE sessions ("
	" hash BLOB PRIMARY KEY,"
	" user_id TEXT NOT NULL REFERENCES users (id),"
	" csrf_hash BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX sessions_user ON sessions (user_id);"

	"CREATE TABLE requests ("
	" id TEXT PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" full_name TEXT NOT NULL,"
	" email TEXT NOT NULL,"
	" mobile TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" details TEXT NOT NULL DEFAULT '',"
	" sector TEXT NOT NULL DEFAULT '',"
	" parent_id TEXT NOT NULL DEFAULT '',"
	" status TEXT NOT NULL,"
	" reason TEXT NOT NULL DEFAULT '',"
	" created_id TEXT NOT NULL DEFAULT '',"
	" decided_by TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL,"
	" decided_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE UNIQUE INDEX requests_pending_name ON requests (kind, lower(name))"
	" WHERE status = 'pending';"
	"CREATE INDEX requests_status_created ON requests (status, created_at);"

	"CREATE TABLE uploads ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES orgs (id),"
	" uploader_id TEXT NOT NULL DEFAULT '',"
	" file_name TEXT NOT NULL,"
	" stored_path TEXT NOT NULL,"
	" format TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" total_records INTEGER NOT NULL DEFAULT 0,"
	" success_records INTEGER NOT NULL DEFAULT 0,"
	" failed_records INTEGER NOT NULL DEFAULT 0,"
	" cursor_pos INTEGER NOT NULL DEFAULT 0,"
	" error TEXT NOT NULL DEFAULT '',"
	" claimed_by TEXT NOT NULL DEFAULT '',"
	" lease_until INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX uploads_status ON uploads (status);"
	"CREATE INDEX uploads_org_created ON uploads (org_id, created_at);"

	"CREATE TABLE upload_failures ("
	" upload_id TEXT NOT NULL REFERENCES uploads (id),"
	" row_no INTEGER NOT NULL,"
	" errors TEXT NOT NULL,"
	" PRIMARY KEY (upload_id, row_no)"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE outbox ("
	" id INTEGER PRIMARY KEY,"
	" channel TEXT NOT NULL,"
	" to_addr TEXT NOT NULL,"
	" template_name TEXT NOT NULL,"
	" lang TEXT NOT NULL DEFAULT '',"
	" params TEXT NOT NULL DEFAULT '{}',"
	" status TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL,"
	" last_error TEXT NOT NULL DEFAULT '',"
	" claimed_by TEXT NOT NULL DEFAULT '',"
	" lease_until INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" sent_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX outbox_status_next ON outbox (status, next_at);"

	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY,"
	" actor_id TEXT NOT NULL DEFAULT '',"
	" action_name TEXT NOT NULL,"
	" target TEXT NOT NULL DEFAULT '',"
	" client_ip TEXT NOT NULL DEFAULT '',"
	" detail TEXT NOT NULL DEFAULT '',"
	" at INTEGER NOT NULL"
	") STRICT;";

/* 2: codes and limits keyed by keyed hashes, never by a number or an
 * address (live codes and counters are dropped: they last minutes);
 * counters with their window's end, so that one upsert decides and a
 * sweep can delete what has ended; proven e-mails (bulk uploads vouch
 * for theirs; self-registrations prove theirs with the activation link
 * from now on); the name an uploaded file had (before: the stored name
 * without its time prefix); indexes for the sweeper. */
static const char migration_2[] =
	"DROP TABLE otps;"
	"CREATE TABLE otps ("
	" id INTEGER PRIMARY KEY,"
	" subject TEXT NOT NULL,"
	" purpose TEXT NOT NULL,"
	" code_mac BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" state INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX otps_subject ON otps (subject, purpose, created_at);"
	"CREATE INDEX otps_expires ON otps (expires_at);"

	"DROP TABLE throttles;"
	"CREATE TABLE throttles ("
	" tkey TEXT PRIMARY KEY,"
	" hits INTEGER NOT NULL,"
	" window_start INTEGER NOT NULL,"
	" window_end INTEGER NOT NULL,"
	" locked_until INTEGER NOT NULL DEFAULT 0"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX throttles_end ON throttles (window_end);"

	"ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;"
	"UPDATE users SET email_verified = 1 WHERE source = 'bulk';"

	"ALTER TABLE uploads ADD COLUMN original_name TEXT NOT NULL DEFAULT '';"
	"UPDATE uploads SET original_name = substr(file_name, instr(file_name, '_') + 1);"

	"CREATE INDEX sessions_expires ON sessions (expires_at);"
	"CREATE INDEX sessions_last_seen ON sessions (last_seen);";

/* 3: sessions say whether their login proved a password and its second
 * factor (administrators' roles are active only in those); accounts an
 * administrator created are vouched for like those of a bulk upload. */
static const char migration_3[] =
	"ALTER TABLE sessions ADD COLUMN elevated INTEGER NOT NULL DEFAULT 0;"
	"UPDATE users SET email_verified = 1 WHERE source = 'admin';";

/* 4: bulk uploads without an outbox row per message, and only the indexes
 * some query needs.
 * - Welcome messages are campaigns (one per upload and channel) that walk
 *   the users the upload created: their ids are made from the upload and
 *   the row (store_upload_user_id), so they are one range of the primary
 *   key, in row order, and one row can create only one user; no column
 *   and no index of their own.
 * - Every index, checked against the statements of sqlite_ops.c (EXPLAIN
 *   QUERY PLAN); an index is kept when a statement searches it or when it
 *   enforces a rule, and none is kept for a foreign key whose parent rows
 *   are never deleted and whose keys never change (SQLite searches a
 *   child's index only when a parent row is deleted or its key changes):
 *     orgs_parent             org_children (parent_id = ?)
 *     positions_name          unique names; position by name
 *     users (id)              user_get; parent key of roles, credentials,
 *                             consents, sessions; campaign_users and the
 *                             end test of campaign_finish (an id range)
 *     users_email             unique among live users (partial, migration
 *                             7), case-insensitive; user_by_email; the
 *                             users list's exact e-mail query
 *     users_mobile            unique among live users (partial, migration
 *                             7); user_by_mobile; the users list's exact
 *                             mobile query
 *     users_org_created       user_list (replaced by org_seq: migration 5)
 *     users_position          DROPPED: no statement searches users by
 *                             position; positions are never deleted
 *     credentials_username    unique, case-insensitive; cred_by_username
 *     consents_user           DROPPED: consents were only inserted;
 *                             back in migration 7 (consent_list, erasure)
 *     otps_subject            otp_insert kills, otp_last
 *     otps_expires, tokens_expires, throttles_end, sessions_expires,
 *     sessions_last_seen      the sweeper (sessions: a multi-index OR)
 *     sessions_user           session_revoke_user
 *     requests_pending_name   one pending request per kind and name;
 *                             request_insert finds it
 *     requests_status_created DROPPED: request_list filters with
 *                             "?1 = '' OR status = ?1", which no index can
 *                             search (it was only ever scanned)
 *     uploads_status          upload_claim (a multi-index OR)
 *     uploads_org_created     upload_list
 *     outbox_status_next      outbox_claim in (next_at, id) order; stats
 *     campaigns_upload        one campaign per upload and channel
 *     campaigns_due           campaign_claim of an active campaign
 *   Primary keys of roles, upload_failures, throttles, tokens, sessions
 *   and audit are what their statements search. Add an index together
 *   with the statement that needs it. */
static const char migration_4[] =
	"DROP INDEX users_position;"
	"DROP INDEX consents_user;"
	"DROP INDEX requests_status_created;"

	"CREATE TABLE campaigns ("
	" id INTEGER PRIMARY KEY,"
	" upload_id TEXT NOT NULL REFERENCES uploads (id),"
	" channel TEXT NOT NULL,"
	" template_name TEXT NOT NULL,"
	" lang TEXT NOT NULL DEFAULT '',"
	" params TEXT NOT NULL DEFAULT '{}',"
	" status TEXT NOT NULL,"
	" cursor_row INTEGER NOT NULL DEFAULT 0,"
	" handled INTEGER NOT NULL DEFAULT 0,"
	" claimed_by TEXT NOT NULL DEFAULT '',"
	" lease_until INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" finished_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE UNIQUE INDEX campaigns_upload ON campaigns (upload_id, channel);"
	"CREATE INDEX campaigns_due ON campaigns (next_at) WHERE status = 'active';";

/* What a user added to an organisation's list writes (migration 5's
 * triggers, migration 8's): its organisation's number, its count and its
 * name words. One text for all three, so that they cannot drift apart. */
#define USERS_LIST_ADD \
	" INSERT INTO user_orgs (org_id, num) SELECT new.org_id, (SELECT ifnull(max(num), 0)" \
	"  + 1 FROM user_orgs) WHERE NOT EXISTS (SELECT 1 FROM user_orgs WHERE org_id = new.org_id);" \
	" INSERT INTO user_counts (org_id, status, n) VALUES (new.org_id, new.status, 1)" \
	"  ON CONFLICT (org_id, status) DO UPDATE SET n = n + 1;" \
	" INSERT INTO users_fts (rowid, words) VALUES ((SELECT num FROM user_orgs" \
	"  WHERE org_id = new.org_id) * 4294967296 + new.org_seq," \
	"  new.first_name || ' ' || new.last_name);"

/* 5: an organisation's users listed without counting or scanning them
 * (a million users in one organisation):
 * - org_seq numbers each organisation's users 1, 2, 3... in the order they
 *   were added (users are never deleted, nor moved to another
 *   organisation), so that the list is newest first by an index, a cursor
 *   is a number, and page N of the whole list starts at a known number;
 *   user_insert sets it, and a trigger sets it for a row inserted without
 *   it (tools writing SQL themselves);
 * - user_counts keeps each organisation's users per status, so the total
 *   of a list is read, not counted;
 * - users_fts indexes the words of first and last names for word-prefix
 *   search: contentless (the names stay in users), words split and folded
 *   as the directory search does (the 'ascii' tokenizer: runs of ASCII
 *   letters and digits or of non-ASCII bytes, ASCII lower-cased), with
 *   indexes of every prefix of 1 to 8 characters (a prefix query without
 *   one merges the lists of all the words it covers: 5-15 ms for a common
 *   first name at a million users; with one, under a millisecond); each
 *   user's row there is user_orgs.num * 2^32 + org_seq, so one
 *   organisation's users are one range of rowids, newest last, added in
 *   ascending order (FTS5 writes its pending rows out whenever a rowid
 *   comes smaller than the last: 10 times slower);
 * - users_org_created, which only the list used, is gone (IF EXISTS: the
 *   index may have been dropped already). */
static const char migration_5[] =
	"ALTER TABLE users ADD COLUMN org_seq INTEGER;"
	"UPDATE users SET org_seq = n.seq FROM (SELECT rowid AS r, row_number()"
	" OVER (PARTITION BY org_id ORDER BY created_at, rowid) AS seq FROM users) AS n"
	" WHERE users.rowid = n.r;"
	"CREATE UNIQUE INDEX users_org_seq ON users (org_id, org_seq);"
	"CREATE INDEX users_org_status_seq ON users (org_id, status, org_seq);"
	"DROP INDEX IF EXISTS users_org_created;"

	"CREATE TABLE user_orgs ("
	" org_id TEXT PRIMARY KEY,"
	" num INTEGER NOT NULL UNIQUE"
	") STRICT;"
	"INSERT INTO user_orgs (org_id, num) SELECT org_id, row_number() OVER"
	" (ORDER BY org_id) FROM users GROUP BY org_id;"
	"CREATE TABLE user_counts ("
	" org_id TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" n INTEGER NOT NULL,"
	" PRIMARY KEY (org_id, status)"
	") STRICT, WITHOUT ROWID;"
	"INSERT INTO user_counts (org_id, status, n) SELECT org_id, status, count(*)"
	" FROM users GROUP BY org_id, status;"

	"CREATE VIRTUAL TABLE users_fts USING fts5(words, content='',"
	" tokenize='ascii', prefix='1 2 3 4 5 6 7 8', detail='none', columnsize=0);"
	"INSERT INTO users_fts (rowid, words) SELECT o.num * 4294967296 + u.org_seq,"
	" u.first_name || ' ' || u.last_name FROM users u JOIN user_orgs o"
	" ON o.org_id = u.org_id ORDER BY 1;"

	/* a user added: its organisation's number, count and name words */
	"CREATE TRIGGER users_list_ai AFTER INSERT ON users"
	" WHEN new.org_seq IS NOT NULL BEGIN"
	USERS_LIST_ADD
	" END;"
	/* inserted without its number: given the next one, which fires the
	 * trigger below as the insert would have */
	"CREATE TRIGGER users_list_ai_seq AFTER INSERT ON users"
	" WHEN new.org_seq IS NULL BEGIN"
	" UPDATE users SET org_seq = (SELECT ifnull(max(org_seq), 0) + 1 FROM users"
	"  WHERE org_id = new.org_id) WHERE rowid = new.rowid;"
	" END;"
	"CREATE TRIGGER users_list_au_seq AFTER UPDATE OF org_seq ON users"
	" WHEN old.org_seq IS NULL AND new.org_seq IS NOT NULL BEGIN"
	USERS_LIST_ADD
	" END;"
	"CREATE TRIGGER users_list_au_status AFTER UPDATE OF status ON users"
	" WHEN old.status IS NOT new.status AND old.org_seq IS NOT NULL BEGIN"
	" UPDATE user_counts SET n = n - 1 WHERE org_id = old.org_id AND status = old.status;"
	" INSERT INTO user_counts (org_id, status, n) VALUES (new.org_id, new.status, 1)"
	"  ON CONFLICT (org_id, status) DO UPDATE SET n = n + 1;"
	" END;"
	"CREATE TRIGGER users_list_au_names AFTER UPDATE OF first_name, last_name ON users"
	" WHEN old.org_seq IS NOT NULL AND (old.first_name IS NOT new.first_name"
	"  OR old.last_name IS NOT new.last_name) BEGIN"
	" INSERT INTO users_fts (users_fts, rowid, words) VALUES ('delete',"
	"  (SELECT num FROM user_orgs WHERE org_id = old.org_id) * 4294967296 + old.org_seq,"
	"  old.first_name || ' ' || old.last_name);"
	" INSERT INTO users_fts (rowid, words) VALUES ((SELECT num FROM user_orgs"
	"  WHERE org_id = new.org_id) * 4294967296 + new.org_seq,"
	"  new.first_name || ' ' || new.last_name);"
	" END;"
	"CREATE TRIGGER users_list_bu_org BEFORE UPDATE OF org_id ON users"
	" WHEN old.org_id IS NOT new.org_id BEGIN"
	" SELECT RAISE(ABORT, 'users do not change organisation');"
	" END;"
	"CREATE TRIGGER users_list_ad AFTER DELETE ON users"
	" WHEN old.org_seq IS NOT NULL BEGIN"
	" UPDATE user_counts SET n = n - 1 WHERE org_id = old.org_id AND status = old.status;"
	" INSERT INTO users_fts (users_fts, rowid, words) VALUES ('delete',"
	"  (SELECT num FROM user_orgs WHERE org_id = old.org_id) * 4294967296 + old.org_seq,"
	"  old.first_name || ' ' || old.last_name);"
	" END;";

/* 6: when each user last logged in (the SPV's list of administrators);
 * the index of the administrators' list (role = ?). The audit log's
 * filters ("'' OR action_name = ?") are answered by scanning the newest
 * rows first, as request_list is: no index serves them. */
static const char migration_6[] =
	"ALTER TABLE users ADD COLUMN last_login_at INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX roles_role_org ON roles (role, org_id);";
/* 7: the person's own data (DPDP Act 2023). A user closed by its owner
 * or erased holds no e-mail or mobile for the unique keys (partial
 * indexes), so both can register again; closed users wait for their
 * erase_after. Users remember the bulk upload that created them, sessions
 * the address of their login, uploads when retention removed their
 * files. Indexes for the person's export (audit by actor and target,
 * requests by contact, tokens by subject) and for retention (uploads by
 * removal, audit by time). Messages get no index by recipient: it would
 * slow every bulk upload's welcome messages, and an erasure, rare, can
 * afford to read the outbox (which retention keeps short). Consents by
 * user again (consents_user, which migration 4 dropped while consents
 * were only inserted): the person's export lists them and erasure blanks
 * their addresses. (Migration 5 on the branch that wrote it, renumbered
 * after main's 5 and 6.) The users list's exact queries by mobile and
 * e-mail within an organisation say the partial indexes' words
 * (sqlite_ops.c USER_LIVE), so that they still use them; closing and
 * erasure change status and erasure blanks the names, so migration 5's
 * triggers keep user_counts and users_fts right. */
static const char migration_7[] =
	"DROP INDEX users_email;"
	"DROP INDEX users_mobile;"
	"CREATE UNIQUE INDEX users_email ON users (lower(email))"
	" WHERE status NOT IN ('closed', 'erased');"
	"CREATE UNIQUE INDEX users_mobile ON users (mobile)"
	" WHERE status NOT IN ('closed', 'erased');"
	"ALTER TABLE users ADD COLUMN upload_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN erase_after INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX users_erase ON users (erase_after) WHERE status = 'closed';"
	"ALTER TABLE sessions ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE uploads ADD COLUMN files_removed_at INTEGER NOT NULL"
	" DEFAULT 0;"
	"CREATE INDEX uploads_files ON uploads (files_removed_at, updated_at);"
	"CREATE INDEX audit_actor ON audit (actor_id);"
	"CREATE INDEX audit_target ON audit (target);"
	"CREATE INDEX audit_at ON audit (at);"
	"CREATE INDEX requests_mobile ON requests (mobile);"
	"CREATE INDEX requests_email ON requests (lower(email));"
	"CREATE INDEX tokens_subject ON tokens (subject, kind);"
	"CREATE INDEX consents_user ON consents (user_id);";

/* 8: bulk uploads keep the users list set-wise (issue 13). users_list_ai,
 * run per row, cost most of a batch insert's time: three statements and
 * the FTS row of every user. While the table user_batch holds a row, it
 * does not fire: user_insert_batch (sqlite_ops.c) puts that row in at the
 * start of its call and takes it out at the end, in the same transaction
 * (so that no other connection ever sees it, and a crash leaves nothing),
 * and in between numbers the new organisations, adds to user_counts and
 * writes the FTS rows of all the users the call inserted at once, as the
 * trigger would have, in ascending rowid order. Every other insert (the
 * service's one by one, tools writing SQL themselves) still fires it. */
static const char migration_8[] =
	"CREATE TABLE user_batch ("
	" one INTEGER PRIMARY KEY"
	") STRICT;"
	"DROP TRIGGER users_list_ai;"
	"CREATE TRIGGER users_list_ai AFTER INSERT ON users"
	" WHEN new.org_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM user_batch) BEGIN"
	USERS_LIST_ADD
	" END;";

const char *const sqs_migrations[] = {
	migration_1,
	migration_2,
	migration_3,
	migration_4,
	migration_5,
	migration_6,
	migration_7,
	migration_8,
};

const int sqs_migrations_n =
	(int)(sizeof sqs_migrations / sizeof sqs_migrations[0]);
