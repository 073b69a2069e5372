/* pg_schema.c: the schema of the PostgreSQL backend as a list of
 * migrations. The table pravesh_schema records the migrations applied;
 * pgs_migrate() runs the missing ones, each in its own transaction under an
 * advisory lock, so that several processes starting at once apply each one
 * once. Never edit a migration that has shipped: append a new one.
 *
 * Notes
 * - Every text column has the "C" collation: comparisons and ORDER BY are
 *   by bytes, as in SQLite, and lower() folds ASCII letters only (in the C
 *   collation PostgreSQL's lower() leaves every other character alone),
 *   which is what e-mail addresses and usernames need; names in Indian
 *   scripts have no case. The unique indexes on lower(email),
 *   lower(username) and lower(name) are therefore ASCII-case-insensitive,
 *   exactly like SQLite's, whatever the database's own locale.
 * - Integers are bigint where they hold times, counts or ids, so that one
 *   parameter type (int8) serves every integer.
 * - Rows that lists order by insertion (users, requests, uploads) carry a
 *   seq identity column in place of SQLite's rowid.
 * - Optional references (users.position_id) are NULL when absent, so that
 *   the foreign key holds; the code maps NULL to "" and back.
 * - dir_version is one row bumped by a trigger on every row written to orgs
 *   and positions, so that directory caches in every process can tell
 *   they are stale.
 * - Blobs (uploaded and result files) are kept in chunks of bytea of at most
 *   1 MiB, stored uncompressed (EXTERNAL: most are zip archives already,
 *   and compressing CSV costs more time than the space is worth). */
#include "store/postgres/pg_internal.h"

#define T "text COLLATE \"C\""

static const char migration_1[] =
	"CREATE TABLE dir_version ("
	" id integer PRIMARY KEY CHECK (id = 1),"
	" version bigint NOT NULL);"
	"INSERT INTO dir_version (id, version) VALUES (1, 1);"
	"CREATE FUNCTION pravesh_dir_bump() RETURNS trigger LANGUAGE plpgsql AS"
	" $$BEGIN UPDATE dir_version SET version = version + 1 WHERE id = 1;"
	" RETURN NULL; END$$;"

	"CREATE TABLE orgs ("
	" id " T " PRIMARY KEY,"
	" name " T " NOT NULL,"
	" sector " T " NOT NULL DEFAULT '',"
	" type " T " NOT NULL DEFAULT '',"
	" parent_id " T " NOT NULL DEFAULT '',"
	" active integer NOT NULL DEFAULT 1,"
	" created_at bigint NOT NULL,"
	" updated_at bigint NOT NULL);"
	"CREATE INDEX orgs_parent ON orgs (parent_id);"
	"CREATE TRIGGER orgs_bump AFTER INSERT OR UPDATE ON orgs"
	" FOR EACH ROW EXECUTE FUNCTION pravesh_dir_bump();"

	"CREATE TABLE positions ("
	" id " T " PRIMARY KEY,"
	" name " T " NOT NULL,"
	" active integer NOT NULL DEFAULT 1,"
	" created_at bigint NOT NULL);"
	"CREATE UNIQUE INDEX positions_name ON positions (lower(name));"
	"CREATE TRIGGER positions_bump AFTER INSERT OR UPDATE ON positions"
	" FOR EACH ROW EXECUTE FUNCTION pravesh_dir_bump();"

	"CREATE TABLE users ("
	" seq bigint GENERATED ALWAYS AS IDENTITY,"
	" id " T " PRIMARY KEY,"
	" first_name " T " NOT NULL,"
	" last_name " T " NOT NULL DEFAULT '',"
	" email " T " NOT NULL,"
	" official_email integer NOT NULL DEFAULT 0,"
	" mobile " T " NOT NULL,"
	" org_id " T " NOT NULL REFERENCES orgs (id),"
	" position_id " T " REFERENCES positions (id),"
	" status " T " NOT NULL,"
	" source " T " NOT NULL,"
	" created_at bigint NOT NULL,"
	" updated_at bigint NOT NULL,"
	" email_verified integer NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX users_email ON users (lower(email));"
	"CREATE UNIQUE INDEX users_mobile ON users (mobile);"
	"CREATE INDEX users_org_created ON users (org_id, created_at, seq);"
	"CREATE INDEX users_position ON users (position_id);"

	"CREATE TABLE roles ("
	" user_id " T " NOT NULL REFERENCES users (id),"
	" role " T " NOT NULL,"
	" org_id " T " NOT NULL DEFAULT '',"
	" PRIMARY KEY (user_id, role, org_id));"

	"CREATE TABLE credentials ("
	" user_id " T " PRIMARY KEY REFERENCES users (id),"
	" username " T " NOT NULL,"
	" pwhash " T " NOT NULL);"
	"CREATE UNIQUE INDEX credentials_username ON credentials (lower(username));"

	"CREATE TABLE consents ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" user_id " T " NOT NULL REFERENCES users (id),"
	" kind " T " NOT NULL,"
	" version " T " NOT NULL,"
	" client_ip " T " NOT NULL,"
	" at bigint NOT NULL);"
	"CREATE INDEX consents_user ON consents (user_id);"

	"CREATE TABLE otps ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" subject " T " NOT NULL,"
	" purpose " T " NOT NULL,"
	" code_mac bytea NOT NULL,"
	" created_at bigint NOT NULL,"
	" expires_at bigint NOT NULL,"
	" attempts integer NOT NULL DEFAULT 0,"
	" state integer NOT NULL DEFAULT 0);"
	"CREATE INDEX otps_subject ON otps (subject, purpose, created_at);"
	"CREATE INDEX otps_expires ON otps (expires_at);"

	"CREATE TABLE throttles ("
	" tkey " T " PRIMARY KEY,"
	" hits bigint NOT NULL,"
	" window_start bigint NOT NULL,"
	" window_end bigint NOT NULL,"
	" locked_until bigint NOT NULL DEFAULT 0);"
	"CREATE INDEX throttles_end ON throttles (window_end);"

	"CREATE TABLE tokens ("
	" hash bytea PRIMARY KEY,"
	" kind " T " NOT NULL,"
	" subject " T " NOT NULL,"
	" extra " T " NOT NULL DEFAULT '',"
	" created_at bigint NOT NULL,"
	" expires_at bigint NOT NULL,"
	" used_at bigint NOT NULL DEFAULT 0);"
	"CREATE INDEX tokens_expires ON tokens (expires_at);"

	"CREATE TABLE sessions ("
	" hash bytea PRIMARY KEY,"
	" user_id " T " NOT NULL REFERENCES users (id),"
	" csrf_hash bytea NOT NULL,"
	" created_at bigint NOT NULL,"
	" last_seen bigint NOT NULL,"
	" expires_at bigint NOT NULL,"
	" revoked integer NOT NULL DEFAULT 0,"
	" elevated integer NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_user ON sessions (user_id);"
	"CREATE INDEX sessions_expires ON sessions (expires_at);"
	"CREATE INDEX sessions_last_seen ON sessions (last_seen);"

	"CREATE TABLE requests ("
	" seq bigint GENERATED ALWAYS AS IDENTITY,"
	" id " T " PRIMARY KEY,"
	" kind " T " NOT NULL,"
	" full_name " T " NOT NULL,"
	" email " T " NOT NULL,"
	" mobile " T " NOT NULL,"
	" name " T " NOT NULL,"
	" details " T " NOT NULL DEFAULT '',"
	" sector " T " NOT NULL DEFAULT '',"
	" parent_id " T " NOT NULL DEFAULT '',"
	" status " T " NOT NULL,"
	" reason " T " NOT NULL DEFAULT '',"
	" created_id " T " NOT NULL DEFAULT '',"
	" decided_by " T " NOT NULL DEFAULT '',"
	" created_at bigint NOT NULL,"
	" decided_at bigint NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX requests_pending_name ON requests (kind, lower(name))"
	" WHERE status = 'pending';"
	"CREATE INDEX requests_status_created ON requests (status, created_at, seq);"

	"CREATE TABLE uploads ("
	" seq bigint GENERATED ALWAYS AS IDENTITY,"
	" id " T " PRIMARY KEY,"
	" org_id " T " NOT NULL REFERENCES orgs (id),"
	" uploader_id " T " NOT NULL DEFAULT '',"
	" file_name " T " NOT NULL,"
	" original_name " T " NOT NULL DEFAULT '',"
	" stored_path " T " NOT NULL,"
	" format " T " NOT NULL,"
	" status " T " NOT NULL,"
	" total_records bigint NOT NULL DEFAULT 0,"
	" success_records bigint NOT NULL DEFAULT 0,"
	" failed_records bigint NOT NULL DEFAULT 0,"
	" cursor_pos bigint NOT NULL DEFAULT 0,"
	" error " T " NOT NULL DEFAULT '',"
	" claimed_by " T " NOT NULL DEFAULT '',"
	" lease_until bigint NOT NULL DEFAULT 0,"
	" created_at bigint NOT NULL,"
	" updated_at bigint NOT NULL);"
	"CREATE INDEX uploads_claimable ON uploads (created_at, seq)"
	" WHERE status IN ('QUEUED', 'IN_PROGRESS');"
	"CREATE INDEX uploads_org_created ON uploads (org_id, created_at, seq);"

	"CREATE TABLE upload_failures ("
	" upload_id " T " NOT NULL REFERENCES uploads (id),"
	" row_no bigint NOT NULL,"
	" errors " T " NOT NULL,"
	" PRIMARY KEY (upload_id, row_no));"

	"CREATE TABLE outbox ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" channel " T " NOT NULL,"
	" to_addr " T " NOT NULL,"
	" template_name " T " NOT NULL,"
	" lang " T " NOT NULL DEFAULT '',"
	" params " T " NOT NULL DEFAULT '{}',"
	" status " T " NOT NULL,"
	" attempts integer NOT NULL DEFAULT 0,"
	" next_at bigint NOT NULL,"
	" last_error " T " NOT NULL DEFAULT '',"
	" claimed_by " T " NOT NULL DEFAULT '',"
	" lease_until bigint NOT NULL DEFAULT 0,"
	" created_at bigint NOT NULL,"
	" sent_at bigint NOT NULL DEFAULT 0);"
	/* only what is still to send is indexed: sent messages drop out */
	"CREATE INDEX outbox_queued ON outbox (next_at, id) WHERE status = 'queued';"
	"CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';"

	"CREATE TABLE audit ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" actor_id " T " NOT NULL DEFAULT '',"
	" action_name " T " NOT NULL,"
	" target " T " NOT NULL DEFAULT '',"
	" client_ip " T " NOT NULL DEFAULT '',"
	" detail " T " NOT NULL DEFAULT '',"
	" at bigint NOT NULL);"

	"CREATE TABLE blobs ("
	" id " T " PRIMARY KEY,"
	" size bigint NOT NULL DEFAULT 0,"
	" chunks bigint NOT NULL DEFAULT 0,"
	" created_at bigint NOT NULL);"
	"CREATE TABLE blob_chunks ("
	" blob_id " T " NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,"
	" n bigint NOT NULL,"
	" data bytea NOT NULL,"
	" PRIMARY KEY (blob_id, n));"
	"ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;";

/* 2: bulk uploads without an outbox row per message, and only the indexes
 * some statement needs (as SQLite's migration 4), and users' references
 * checked by the statements that write them, not by foreign keys.
 * - Welcome messages are campaigns (one per upload and channel) that walk
 *   the users the upload created: their ids are made from the upload and
 *   the row (store_upload_user_id), one range of the primary key in row
 *   order (bytewise: the "C" collation), so no column and no index of
 *   their own.
 * - Every index, checked against the statements of pg_ops.c (EXPLAIN); an
 *   index is kept when a statement searches it or when it enforces a rule;
 *   none for a foreign key whose parent rows are never deleted and whose
 *   keys never change (PostgreSQL searches a referencing table only when a
 *   referenced row is deleted or its key changes):
 *     orgs_parent             org_children (parent_id = $1)
 *     positions_name          unique names; position by name, position_each
 *     users (id)              user_get; referenced by roles, credentials,
 *                             consents, sessions; campaign_users and the end
 *                             test of campaign_finish (an id range)
 *     users_email             unique among live users (partial, migration
 *                             5), case-insensitive; user_by_email; the
 *                             users list's exact e-mail query
 *     users_mobile            unique among live users (partial, migration
 *                             5); user_by_mobile; the users list's exact
 *                             mobile query
 *     users_org_created       user_list (replaced by org_seq: migration 3)
 *     users_position          DROPPED: no statement searches users by
 *                             position; positions are never deleted
 *     credentials_username    unique, case-insensitive; cred_by_username
 *     consents_user           DROPPED: consents were only inserted;
 *                             back in migration 5 (consent_list, erasure)
 *     otps_subject            otp_insert kills, otp_last
 *     otps_expires, tokens_expires, throttles_end, sessions_expires,
 *     sessions_last_seen      the sweeper
 *     sessions_user           session_revoke_user
 *     requests_pending_name   one pending request per kind and name;
 *                             request_insert finds it
 *     requests_status_created DROPPED: request_list filters with
 *                             "$1 = '' OR status = $1", which no index can
 *                             search
 *     uploads_claimable       upload_claim
 *     uploads_org_created     upload_list
 *     outbox_queued           outbox_claim, outbox_stats
 *     outbox_failed           outbox_stats
 *     campaigns_upload        one campaign per upload and channel
 *     campaigns_due           campaign_claim of an active campaign
 *   Primary keys of roles, upload_failures, throttles, tokens, sessions,
 *   audit and blobs are what their statements search. Add an index
 *   together with the statement that needs it. */
static const char migration_2[] =
	/* Every statement that writes users checks the organisation and the
	 * position first (organisations and positions are never deleted);
	 * the foreign keys' trigger, a query per inserted row, took half of a
	 * bulk upload's insert time. */
	"ALTER TABLE users DROP CONSTRAINT users_org_id_fkey,"
	" DROP CONSTRAINT users_position_id_fkey;"
	"DROP INDEX users_position;"
	"DROP INDEX consents_user;"
	"DROP INDEX requests_status_created;"

	"CREATE TABLE campaigns ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" upload_id " T " NOT NULL REFERENCES uploads (id),"
	" channel " T " NOT NULL,"
	" template_name " T " NOT NULL,"
	" lang " T " NOT NULL DEFAULT '',"
	" params " T " NOT NULL DEFAULT '{}',"
	" status " T " NOT NULL,"
	" cursor_row bigint NOT NULL DEFAULT 0,"
	" handled bigint NOT NULL DEFAULT 0,"
	" claimed_by " T " NOT NULL DEFAULT '',"
	" lease_until bigint NOT NULL DEFAULT 0,"
	" next_at bigint NOT NULL,"
	" created_at bigint NOT NULL,"
	" finished_at bigint NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX campaigns_upload ON campaigns (upload_id, channel);"
	"CREATE INDEX campaigns_due ON campaigns (next_at, id) WHERE status = 'active';";

/* 3: an organisation's users listed without counting or scanning them
 * (a million users in one organisation), as in SQLite (sqlite_schema.c,
 * migration 5):
 * - org_seq numbers each organisation's users 1, 2, 3... in the order they
 *   were added, from user_orgs.last_seq (a row per organisation, locked by
 *   the inserting transaction: inserts into one organisation take turns);
 *   a trigger sets it before the row is written, and only rows that are
 *   written take a number (user_insert inserts only when no key collides;
 *   a race between two inserts of one key can still leave a gap, which the
 *   list sees and then pages by offset);
 * - user_counts keeps each organisation's users per status;
 * - name_words holds the words of first and last names as the searches
 *   split them (runs of ASCII letters and digits or of other characters,
 *   ASCII lower-cased: lower() folds ASCII only in the C collation), a
 *   tsvector made from those words as they are (no parser, no
 *   dictionary), so that a prefix query ('ram':*) finds exactly the words
 *   that start with it, through a GIN index;
 * - users_org_created, which only the list used, is gone. */
static const char migration_3[] =
	"ALTER TABLE users ADD COLUMN org_seq bigint;"
	"WITH n AS (SELECT id, row_number() OVER (PARTITION BY org_id ORDER BY"
	" created_at, seq) AS s FROM users)"
	" UPDATE users u SET org_seq = n.s FROM n WHERE u.id = n.id;"
	"CREATE UNIQUE INDEX users_org_seq ON users (org_id, org_seq);"
	"CREATE INDEX users_org_status_seq ON users (org_id, status, org_seq);"
	"DROP INDEX IF EXISTS users_org_created;"
	"ALTER TABLE users ADD COLUMN name_words tsvector GENERATED ALWAYS AS"
	" (array_to_tsvector(array_remove(regexp_split_to_array(lower(first_name"
	" || ' ' || last_name), '[\\x01-\\x2f\\x3a-\\x60\\x7b-\\x7f]+'), ''))) STORED;"
	"CREATE INDEX users_name_words ON users USING gin (name_words);"

	"CREATE TABLE user_orgs ("
	" org_id " T " PRIMARY KEY,"
	" last_seq bigint NOT NULL);"
	"INSERT INTO user_orgs SELECT org_id, max(org_seq) FROM users GROUP BY org_id;"
	"CREATE TABLE user_counts ("
	" org_id " T " NOT NULL,"
	" status " T " NOT NULL,"
	" n bigint NOT NULL,"
	" PRIMARY KEY (org_id, status));"
	"INSERT INTO user_counts SELECT org_id, status, count(*) FROM users"
	" GROUP BY org_id, status;"

	"CREATE FUNCTION pravesh_user_seq() RETURNS trigger LANGUAGE plpgsql AS $$"
	"BEGIN"
	" IF NEW.org_seq IS NULL THEN"
	"  INSERT INTO user_orgs VALUES (NEW.org_id, 1) ON CONFLICT (org_id) DO UPDATE"
	"   SET last_seq = user_orgs.last_seq + 1 RETURNING last_seq INTO NEW.org_seq;"
	" ELSE"
	"  INSERT INTO user_orgs VALUES (NEW.org_id, NEW.org_seq) ON CONFLICT (org_id)"
	"   DO UPDATE SET last_seq = greatest(user_orgs.last_seq, NEW.org_seq);"
	" END IF;"
	" RETURN NEW;"
	"END$$;"
	"CREATE TRIGGER users_seq BEFORE INSERT ON users"
	" FOR EACH ROW EXECUTE FUNCTION pravesh_user_seq();"
	"CREATE FUNCTION pravesh_user_counts() RETURNS trigger LANGUAGE plpgsql AS $$"
	"BEGIN"
	" IF TG_OP <> 'INSERT' THEN"
	"  UPDATE user_counts SET n = n - 1 WHERE org_id = OLD.org_id AND status = OLD.status;"
	" END IF;"
	" IF TG_OP <> 'DELETE' THEN"
	"  INSERT INTO user_counts VALUES (NEW.org_id, NEW.status, 1) ON CONFLICT"
	"   (org_id, status) DO UPDATE SET n = user_counts.n + 1;"
	" END IF;"
	" RETURN NULL;"
	"END$$;"
	"CREATE TRIGGER users_counts AFTER INSERT OR DELETE ON users"
	" FOR EACH ROW EXECUTE FUNCTION pravesh_user_counts();"
	"CREATE TRIGGER users_counts_status AFTER UPDATE OF status ON users"
	" FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)"
	" EXECUTE FUNCTION pravesh_user_counts();"
	"CREATE FUNCTION pravesh_user_org_fixed() RETURNS trigger LANGUAGE plpgsql AS $$"
	"BEGIN RAISE EXCEPTION 'users do not change organisation'; END$$;"
	"CREATE TRIGGER users_org_fixed BEFORE UPDATE OF org_id ON users"
	" FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id)"
	" EXECUTE FUNCTION pravesh_user_org_fixed();";

/* 4: when each user last logged in (the SPV's list of administrators);
 * the index of the administrators' list (role = ?). The audit log's
 * filters ("'' OR action_name = ?") are answered by scanning the newest
 * rows first, as request_list is: no index serves them. */
static const char migration_4[] =
	"ALTER TABLE users ADD COLUMN last_login_at bigint NOT NULL DEFAULT 0;"
	"CREATE INDEX roles_role_org ON roles (role, org_id);";
/* 5: the person's own data (DPDP Act 2023), as SQLite's migration 7
 * (migration 3 on the branch that wrote it, renumbered after main's 3 and 4). A
 * user closed by its owner or erased holds no e-mail or mobile for the
 * unique keys (partial indexes), so both can register again; closed users
 * wait for their erase_after. Users remember the bulk upload that created
 * them, sessions the address of their login, uploads when retention
 * removed their files. Indexes for the person's export, for retention
 * (sent messages too, which retention keeps few) and for erasure.
 * A change of mobile or e-mail may meet a unique key: the two functions
 * answer -1 then, from a subtransaction (an EXCEPTION block), so that the
 * caller's transaction stays usable as store.h promises; 0 when no live
 * user has the id, 1 when changed. Consents by user again
 * (consents_user, dropped by migration 2 while consents were only
 * inserted): consent_list and user_erase search them. The users list's
 * exact queries by mobile and e-mail say the partial indexes' words, so
 * that they still use them; erasure blanks the names, which recomputes
 * name_words, and closing and erasure change status, which migration 3's
 * trigger counts. */
static const char migration_5[] =
	"DROP INDEX users_email;"
	"DROP INDEX users_mobile;"
	"CREATE UNIQUE INDEX users_email ON users (lower(email))"
	" WHERE status NOT IN ('closed', 'erased');"
	"CREATE UNIQUE INDEX users_mobile ON users (mobile)"
	" WHERE status NOT IN ('closed', 'erased');"
	"ALTER TABLE users ADD COLUMN upload_id " T " NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN erase_after bigint NOT NULL DEFAULT 0;"
	"CREATE INDEX users_erase ON users (erase_after) WHERE status = 'closed';"
	"ALTER TABLE sessions ADD COLUMN client_ip " T " NOT NULL DEFAULT '';"
	"ALTER TABLE uploads ADD COLUMN files_removed_at bigint NOT NULL"
	" DEFAULT 0;"
	"CREATE INDEX uploads_expired ON uploads (updated_at, seq)"
	" WHERE files_removed_at = 0 AND status IN ('SUCCESSFUL', 'FAILED');"
	"CREATE INDEX audit_actor ON audit (actor_id);"
	"CREATE INDEX audit_target ON audit (target);"
	"CREATE INDEX audit_at ON audit (at);"
	"CREATE INDEX requests_mobile ON requests (mobile);"
	"CREATE INDEX requests_email ON requests (lower(email));"
	"CREATE INDEX tokens_subject ON tokens (subject, kind);"
	"CREATE INDEX outbox_done ON outbox (next_at) WHERE status IN ('sent', 'failed');"
	"CREATE FUNCTION pravesh_user_set_mobile(p_id text, p_mobile text,"
	" p_now bigint) RETURNS integer LANGUAGE plpgsql AS $$BEGIN"
	" UPDATE users SET mobile = p_mobile, updated_at = p_now WHERE id = p_id"
	" AND status NOT IN ('closed', 'erased'); IF NOT FOUND THEN RETURN 0;"
	" END IF; RETURN 1; EXCEPTION WHEN unique_violation THEN RETURN -1;"
	" END$$;"
	"CREATE FUNCTION pravesh_user_set_email(p_id text, p_email text,"
	" p_official bigint, p_verified bigint, p_now bigint) RETURNS integer"
	" LANGUAGE plpgsql AS $$BEGIN UPDATE users SET email = p_email,"
	" official_email = p_official, email_verified = p_verified, updated_at ="
	" p_now WHERE id = p_id AND status NOT IN ('closed', 'erased'); IF NOT"
	" FOUND THEN RETURN 0; END IF; RETURN 1; EXCEPTION WHEN"
	" unique_violation THEN RETURN -1; END$$;"
	"CREATE INDEX consents_user ON consents (user_id);";

/* 6: bulk uploads keep the users list set-wise (issue 13), as SQLite's
 * migration 8. Migration 3's row triggers, run for each user of a batch,
 * updated the one user_orgs row and the user_counts row of the upload's
 * organisation once per user: every update a new version of the same row
 * in the same transaction, each found through all the ones before (an
 * import of 100,000 users in chunks of 5,000 took 19 s, against 6 s
 * without; 100,000 users in one statement over 6 minutes). While the setting
 * pravesh.batch is 'on' (set_config(..., true): the transaction's only,
 * reverted by its end or a rollback to a savepoint) they do not fire:
 * user_insert_batch (pg_ops.c) sets it around its INSERT, which numbers
 * the users from user_orgs.last_seq (the rows locked first), and moves
 * last_seq and user_counts once per organisation and status. Every other
 * insert, update and delete still fires them. */
static const char migration_6[] =
	"DROP TRIGGER users_seq ON users;"
	"CREATE TRIGGER users_seq BEFORE INSERT ON users FOR EACH ROW"
	" WHEN (current_setting('pravesh.batch', true) IS DISTINCT FROM 'on')"
	" EXECUTE FUNCTION pravesh_user_seq();"
	"DROP TRIGGER users_counts ON users;"
	"CREATE TRIGGER users_counts AFTER INSERT OR DELETE ON users FOR EACH ROW"
	" WHEN (current_setting('pravesh.batch', true) IS DISTINCT FROM 'on')"
	" EXECUTE FUNCTION pravesh_user_counts();";

/* 7: name searches answered from exact words (issue 13). A prefix query
 * ('rahul':* & 'nair':*) makes GIN collect every word that starts with each
 * prefix into a bitmap, and the planner guesses how many users match
 * without its statistics: at a million users in one organisation a
 * two-word name took 45 ms in the index alone, and the plan chosen took
 * 90-220 ms. name_words now holds, for each word, its prefixes of one to
 * eight characters and the word itself; a search for a word of up to eight
 * characters asks for that exact lexeme (its word prefix), a longer word
 * for its first eight characters and the word as a prefix (pg_ops.c,
 * pq_uq_tsquery). Exact lexemes are counted in the column's statistics, so
 * the planner knows a common name from a rare one (and walks the order
 * index for the first, the GIN index for the second).
 * - pravesh_name_words(first, last) is the rule, in SQL: words as the
 *   searches split them (util_words: runs of ASCII letters and digits or
 *   of non-ASCII characters; only ASCII lower-cased, whatever the
 *   database's collation), each with its prefixes; the batch insert
 *   computes the same in C (pq_name_words, held equal to this by test_pg),
 *   every other insert and every change of a name gets it from the
 *   triggers (an insert that gives name_words keeps it).
 * - The column is no longer generated (a generated column cannot be given
 *   by the insert); the migration rewrites the users table once, holding
 *   it (25 s for 1.1 million users). */
static const char migration_7[] =
	"CREATE FUNCTION pravesh_name_words(p_first text, p_last text)"
	" RETURNS tsvector IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$"
	" SELECT array_to_tsvector(ARRAY(SELECT DISTINCT left(w, n) FROM"
	" unnest(regexp_split_to_array(translate(p_first || ' ' || p_last,"
	" 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),"
	" '[\\x01-\\x2f\\x3a-\\x60\\x7b-\\x7f]+')) w, generate_series(1,"
	" length(w)) n WHERE n <= 8 OR n = length(w))) $$;"
	"CREATE FUNCTION pravesh_user_name_words() RETURNS trigger"
	" LANGUAGE plpgsql AS $$BEGIN NEW.name_words :="
	" pravesh_name_words(NEW.first_name, NEW.last_name); RETURN NEW; END$$;"
	"DROP INDEX users_name_words;"
	"ALTER TABLE users ALTER COLUMN name_words DROP EXPRESSION;"
	/* a rewrite of the table with its indexes rebuilt (an UPDATE of
	 * every row would leave the old versions and index entries behind) */
	"ALTER TABLE users ALTER COLUMN name_words TYPE tsvector USING"
	" pravesh_name_words(first_name, last_name);"
	"CREATE INDEX users_name_words ON users USING gin (name_words);"
	"CREATE TRIGGER users_name_words BEFORE INSERT ON users FOR EACH ROW"
	" WHEN (NEW.name_words IS NULL) EXECUTE FUNCTION pravesh_user_name_words();"
	"CREATE TRIGGER users_name_words_change BEFORE UPDATE OF first_name,"
	" last_name ON users FOR EACH ROW WHEN (NEW.first_name IS DISTINCT FROM"
	" OLD.first_name OR NEW.last_name IS DISTINCT FROM OLD.last_name)"
	" EXECUTE FUNCTION pravesh_user_name_words();"
	/* the type change dropped the column's statistics, which the name
	 * search's plans need (a common name or a rare one) */
	"ANALYZE users;";

const char *const pgs_migrations[] = {
	migration_1,
	migration_2,
	migration_3,
	migration_4,
	migration_5,
	migration_6,
	migration_7,
};

const int pgs_migrations_n =
	(int)(sizeof pgs_migrations / sizeof pgs_migrations[0]);
