/* test_sqlite_walbuf.c: the VFS shim that buffers the write-ahead log's
 * writes (sqlite_walbuf.c), against the SQLite the build links. Below it,
 * as the process's default VFS, a test VFS (SQLite's unix one with the log
 * files' writes counted, and failed on demand), registered before the
 * shim's first use so that the shim wraps it. Checked, with a writer
 * connection through the shim and a reader through the plain VFS:
 * - a commit is visible to the reader at once, and in the files at once:
 *   a copy of the database and its log taken right after the commit (as a
 *   crash would leave them) holds it;
 * - the log is written in one call per commit, not two per page;
 * - a transaction larger than the page cache (its frames written and read
 *   back before the commit), rolled back or committed, and the log
 *   restarted after a checkpoint, leave a sound database;
 * - a commit of one page (its frame's header alone in the buffer);
 * - exclusive locking mode (no log locks: the log written through);
 * - a rolled-back transaction's frames never land over another
 *   connection's, written after it: the buffer is written out before the
 *   log's write lock is let go;
 * - a failed write is the commit's error: of the frames (an I/O error),
 *   of frames of earlier statements (a full disk, after which SQLite goes
 *   on with the transaction), of the commit frame's header rewritten with
 *   its checksum, of the padding after a sync (synchronous=FULL without
 *   power-safe overwrite); nothing of it is visible, and the next commit
 *   succeeds.
 * Not tested, by construction: the write-out at the wal-index barrier,
 * a safety net for a SQLite that would write its log otherwise (with
 * 3.40 nothing is left to write there; removing it fails no test). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite/sqlite_internal.h"
#include "support/tmpstore.h"

/* the test VFS: unix, with the log files' writes counted and failed */
static sqlite3_vfs *unix_vfs;
static sqlite3_vfs test_vfs;
static const sqlite3_io_methods *unix_io;
static sqlite3_io_methods test_io;
static int wal_writes;     /* calls to the log files' xWrite */
static int wal_write_fail; /* fail the next N of them */
static int wal_write_rc = SQLITE_IOERR_WRITE; /* with this code */
static int fail_hdr24;     /* fail the next write of a commit frame's
			    * header alone (24 bytes) */
static int fail_after_sync; /* fail the next write after a sync */

static int test_write(sqlite3_file *f, const void *data, int amt,
		      sqlite3_int64 ofst)
{
	wal_writes++;
	const unsigned char *h = data;

	if (wal_write_fail > 0 ||
	    (fail_hdr24 && amt == 24 && (h[4] | h[5] | h[6] | h[7]))) {
		if (wal_write_fail > 0)
			wal_write_fail--;
		else
			fail_hdr24 = 0;
		return wal_write_rc;
	}
	return unix_io->xWrite(f, data, amt, ofst);
}

static int test_sync(sqlite3_file *f, int flags)
{
	if (fail_after_sync) {
		fail_after_sync = 0;
		wal_write_fail = 1;
	}
	return unix_io->xSync(f, flags);
}

static int test_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		     int flags, int *out_flags)
{
	int rc;

	(void)vfs;
	rc = unix_vfs->xOpen(unix_vfs, name, f, flags, out_flags);
	if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && f->pMethods) {
		if (!unix_io) {
			unix_io = f->pMethods;
			test_io = *unix_io;
			test_io.xWrite = test_write;
			test_io.xSync = test_sync;
		}
		assert_ptr_equal(f->pMethods, unix_io);
		f->pMethods = &test_io;
	}
	return rc;
}

static char dir[64], db_path[128], copy_path[128];
static sqlite3 *W, *R; /* the writer (through the shim), the reader */

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
}

static int64_t one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void sound(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
					    &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

static void copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	char buf[65536];
	size_t n;

	assert_non_null(a);
	assert_non_null(b);
	while ((n = fread(buf, 1, sizeof buf, a)) > 0)
		assert_int_equal(fwrite(buf, 1, n, b), n);
	fclose(a);
	assert_int_equal(fclose(b), 0);
}

/* The rows of t in a copy of the database and its log as they are in the
 * files now (a crash now), after SQLite's recovery of the copy. */
static int64_t rows_after_crash(void)
{
	char from[160], to[160];
	sqlite3 *c = NULL;
	int64_t n;

	snprintf(from, sizeof from, "%s-wal", db_path);
	snprintf(to, sizeof to, "%s-wal", copy_path);
	copy_file(db_path, copy_path);
	copy_file(from, to);
	assert_int_equal(sqlite3_open_v2(copy_path, &c, SQLITE_OPEN_READWRITE,
					 NULL),
			 SQLITE_OK);
	sound(c);
	n = one(c, "SELECT count(*) FROM t");
	sqlite3_close(c);
	tmpstore_rm_db(copy_path);
	return n;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pv-walbuf-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(db_path, sizeof db_path, "%s/t.db", dir);
	snprintf(copy_path, sizeof copy_path, "%s/copy.db", dir);
	if (sqlite3_open_v2(db_path, &W,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    sqs_walbuf_vfs()) != SQLITE_OK)
		return -1;
	/* the writer as the store's: WAL, no sync at commit, no automatic
	 * checkpoint (the tests checkpoint themselves) */
	exec(W, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		" PRAGMA wal_autocheckpoint=0;"
		" CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL);"
		" CREATE INDEX t_v ON t (v);");
	if (sqlite3_open_v2(db_path, &R, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		return -1;
	wal_writes = 0;
	wal_write_fail = fail_hdr24 = fail_after_sync = 0;
	wal_write_rc = SQLITE_IOERR_WRITE;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sqlite3_close(R);
	sqlite3_close(W);
	tmpstore_rm_db(db_path);
	rmdir(dir);
	return 0;
}

/* n rows of 400 random bytes each in one transaction of W: with the
 * index on them, about 16 pages for 8 rows (the log's frames, each of them
 * two writes without the shim) */
static int insert_rows(int n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	exec(W, "BEGIN");
	assert_int_equal(sqlite3_prepare_v2(W,
					    "INSERT INTO t (v) VALUES (randomblob(400))",
					    -1, &st, NULL),
			 SQLITE_OK);
	for (int i = 0; i < n; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	rc = sqlite3_exec(W, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(W))
		exec(W, "ROLLBACK");
	return rc;
}

static void test_commit_visible_in_few_writes(void **state)
{
	int64_t frames;

	(void)state;
	wal_writes = 0;
	for (int i = 1; i <= 40; i++) {
		assert_int_equal(insert_rows(8), SQLITE_OK);
		assert_int_equal(one(R, "SELECT count(*) FROM t"), 8 * i);
		if (i % 10 == 0)
			assert_int_equal(rows_after_crash(), 8 * i);
	}
	/* the log's frames (each would be two writes without the shim) */
	{
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_prepare_v2(W,
						    "PRAGMA wal_checkpoint(PASSIVE)",
						    -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		frames = sqlite3_column_int64(st, 1);
		sqlite3_finalize(st);
	}
	assert_true(frames >= 40 * 8); /* 80 writes or more without the shim */
	/* one write per commit, two for the first (the log's header is
	 * written and synced on its own) */
	assert_true(wal_writes <= 40 + 2);
	sound(R);
}

static void test_large_transaction(void **state)
{
	(void)state;
	/* a page cache of 10 pages: the frames of a transaction go to the log
	 * before its commit and are read back from it */
	exec(W, "PRAGMA cache_size=10");
	assert_int_equal(insert_rows(8), SQLITE_OK);
	exec(W, "BEGIN");
	exec(W, "INSERT INTO t (v) SELECT randomblob(1000) FROM"
		" (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
		" WHERE i < 2000) SELECT i FROM c)");
	assert_int_equal(one(W, "SELECT count(*) FROM t WHERE length(v) = 1000"),
			 2000);
	exec(W, "ROLLBACK");
	assert_int_equal(one(R, "SELECT count(*) FROM t"), 8);
	assert_int_equal(rows_after_crash(), 8);
	/* the same, committed, after the rolled-back frames */
	exec(W, "BEGIN");
	exec(W, "INSERT INTO t (v) SELECT randomblob(1000) FROM"
		" (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
		" WHERE i < 2000) SELECT i FROM c)");
	exec(W, "UPDATE t SET v = randomblob(900) WHERE id % 3 = 0");
	exec(W, "COMMIT");
	assert_int_equal(one(R, "SELECT count(*) FROM t"), 2008);
	assert_int_equal(rows_after_crash(), 2008);
	sound(R);
	sound(W);
}

static void test_log_restarted(void **state)
{
	int64_t n = 0;

	(void)state;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 5; i++) {
			assert_int_equal(insert_rows(8), SQLITE_OK);
			n += 8;
		}
		/* every frame copied: the next commit writes the log from
		 * its start again (its header at offset 0 first) */
		exec(W, round == 1 ? "PRAGMA wal_checkpoint(TRUNCATE)"
				   : "PRAGMA wal_checkpoint(RESTART)");
		assert_int_equal(insert_rows(8), SQLITE_OK);
		n += 8;
		assert_int_equal(one(R, "SELECT count(*) FROM t"), n);
		assert_int_equal(rows_after_crash(), n);
	}
	sound(R);
}

static void test_failed_write_is_the_commits(void **state)
{
	(void)state;
	assert_int_equal(insert_rows(8), SQLITE_OK);
	/* the frames wait in the buffer: the one write of the commit fails */
	wal_write_fail = 1;
	assert_int_not_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(wal_write_fail, 0);
	assert_int_equal(one(R, "SELECT count(*) FROM t"), 8);
	assert_int_equal(rows_after_crash(), 8);
	/* the connection goes on: the next commit writes its own frames */
	assert_int_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(one(R, "SELECT count(*) FROM t"), 16);
	assert_int_equal(rows_after_crash(), 16);
	sound(R);
	sound(W);
}

static void test_one_frame_commits(void **state)
{
	(void)state;
	/* a commit of a single page: its header alone in the buffer, then
	 * its page */
	exec(W, "CREATE TABLE n (k INTEGER PRIMARY KEY, v INTEGER NOT NULL);"
		" INSERT INTO n VALUES (1, 0)");
	for (int i = 1; i <= 20; i++) {
		wal_writes = 0;
		exec(W, "UPDATE n SET v = v + 1");
		assert_int_equal(one(R, "SELECT v FROM n"), i);
		assert_int_equal(wal_writes, 1); /* SQLite alone: 2 */
	}
	assert_int_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(rows_after_crash(), 8);
	sound(R);
}

/* A rolled-back transaction's frames, and another connection writing the
 * log meanwhile (from the same offsets, and after the log restarted): the
 * first connection's frames must not land over the other's when it next
 * writes. (SQLite's rollback reads back the pages it undoes, which writes
 * the buffer out; the release of the log's write lock would otherwise.) */
static void test_other_writer_after_rollback(void **state)
{
	sqlite3 *w2 = NULL;

	(void)state;
	assert_int_equal(sqlite3_open_v2(db_path, &w2, SQLITE_OPEN_READWRITE,
					 sqs_walbuf_vfs()),
			 SQLITE_OK);
	exec(w2, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0");
	assert_int_equal(insert_rows(8), SQLITE_OK);
	for (int round = 0; round < 2; round++) {
		/* frames of W's transaction in its buffer (fewer than fill
		 * it), then rolled back */
		exec(W, "BEGIN");
		exec(W, "INSERT INTO t (v) SELECT randomblob(400) FROM"
			" (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
			" FROM c WHERE i < 40) SELECT i FROM c)");
		exec(W, "PRAGMA cache_size=2");
		exec(W, "INSERT INTO t (v) SELECT randomblob(400) FROM"
			" (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
			" FROM c WHERE i < 40) SELECT i FROM c)");
		exec(W, "ROLLBACK");
		exec(W, "PRAGMA cache_size=-2000");
		/* the other connection writes where W's frames were */
		for (int i = 0; i < 5; i++)
			exec(w2, "INSERT INTO t (v) VALUES (randomblob(400))");
		if (round == 1)
			exec(w2, "PRAGMA wal_checkpoint(RESTART)");
		exec(w2, "INSERT INTO t (v) VALUES (randomblob(400))");
		/* W writes again */
		assert_int_equal(insert_rows(8), SQLITE_OK);
		assert_int_equal(one(R, "SELECT count(*) FROM t"),
				 8 + (round + 1) * (6 + 8));
		assert_int_equal(rows_after_crash(), 8 + (round + 1) * (6 + 8));
		sound(R);
	}
	sqlite3_close(w2);
}

/* The bytes W's log holds in its buffer. */
static int64_t pending(sqlite3 *db)
{
	sqlite3_int64 n = -2;

	assert_int_equal(sqlite3_file_control(db, "main",
					      SQS_WALBUF_FCNTL_PENDING, &n),
			 SQLITE_OK);
	return n;
}

#define ROWS_400(n)                                                      \
	"INSERT INTO t (v) SELECT randomblob(400) FROM (WITH RECURSIVE"  \
	" c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " #n \
	") SELECT i FROM c)"

/* A transaction rolled back while frames of it are in the buffer, and
 * SQLite's rollback does not read the log (the log was just emptied: it
 * reads the undone pages from the database file): the buffer is written
 * out when the write lock is let go, before another connection writes. */
static void test_rollback_without_reads(void **state)
{
	sqlite3 *w2 = NULL;

	(void)state;
	assert_int_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(sqlite3_open_v2(db_path, &w2, SQLITE_OPEN_READWRITE,
					 sqs_walbuf_vfs()),
			 SQLITE_OK);
	exec(w2, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0");
	exec(W, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA cache_size=4");
	exec(W, "BEGIN");
	/* a row of 1 MB: its overflow pages, written once, spill to the log
	 * and are not read back */
	exec(W, "INSERT INTO t (v) VALUES (randomblob(1000000))");
	assert_true(pending(W) > 0);
	exec(W, "ROLLBACK");
	assert_int_equal(pending(W), 0);
	exec(W, "PRAGMA cache_size=-2000");
	for (int i = 0; i < 5; i++)
		exec(w2, "INSERT INTO t (v) VALUES (randomblob(400))");
	assert_int_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(one(R, "SELECT count(*) FROM t"), 21);
	assert_int_equal(rows_after_crash(), 21);
	sound(R);
	sqlite3_close(w2);
}

/* A full disk while a transaction reads its own frames back (SQLite then
 * undoes the statement only, and the transaction goes on): the frames
 * that could not be written must fail the commit, not vanish from it. */
static void test_disk_full_mid_transaction(void **state)
{
	int rc;

	(void)state;
	exec(W, "CREATE TABLE u (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
	exec(W, "BEGIN");
	exec(W, ROWS_400(300));
	exec(W, "COMMIT");
	/* the log starts again from its beginning, over the frames of that
	 * commit: lost bytes would read back as those, not as a short read */
	exec(W, "PRAGMA wal_checkpoint(RESTART)");
	exec(W, "PRAGMA cache_size=2");
	exec(W, "BEGIN");
	exec(W, "INSERT INTO u (v) SELECT randomblob(400) FROM"
		" (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
		" WHERE i < 300) SELECT i FROM c)");
	wal_write_rc = SQLITE_FULL;
	wal_write_fail = 1;
	rc = sqlite3_exec(W, "UPDATE t SET v = randomblob(400) WHERE id % 2 = 0",
			  NULL, NULL, NULL);
	assert_int_not_equal(rc, SQLITE_OK);
	wal_write_fail = 0;
	/* SQLite undid the statement only: the transaction goes on */
	assert_false(sqlite3_get_autocommit(W));
	/* the lost frames (u's rows) cannot be read back */
	exec(W, "PRAGMA cache_size=-2000"); /* no spill: reads only */
	/* the lost write's error, not pages of the log's earlier frames */
	assert_int_equal(sqlite3_exec(W, "SELECT sum(length(v)) FROM u", NULL,
				      NULL, NULL),
			 SQLITE_FULL);
	assert_int_not_equal(sqlite3_exec(W, "COMMIT", NULL, NULL, NULL),
			     SQLITE_OK);
	if (!sqlite3_get_autocommit(W))
		exec(W, "ROLLBACK");
	exec(W, "PRAGMA cache_size=-2000");
	sound(R);
	assert_int_equal(one(R, "SELECT count(*) FROM u"), 0);
	assert_int_equal(rows_after_crash(), 300);
	/* the connection goes on */
	assert_int_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(one(R, "SELECT count(*) FROM t"), 308);
	sound(R);
}

/* A transaction larger than the page cache whose pages change again ends
 * with SQLite rewriting its frames' checksums, the commit frame's header
 * last: a failure of that write is the commit's error. */
static void test_rewritten_header_fails_commit(void **state)
{
	(void)state;
	assert_int_equal(insert_rows(8), SQLITE_OK);
	exec(W, "PRAGMA cache_size=10");
	exec(W, "BEGIN");
	exec(W, ROWS_400(500));
	exec(W, "UPDATE t SET v = randomblob(300) WHERE id % 3 = 0");
	fail_hdr24 = 1; /* the frames themselves go in larger writes */
	assert_int_not_equal(sqlite3_exec(W, "COMMIT", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_equal(fail_hdr24, 0);
	if (!sqlite3_get_autocommit(W))
		exec(W, "ROLLBACK");
	exec(W, "PRAGMA cache_size=-2000");
	assert_int_equal(one(R, "SELECT count(*) FROM t"), 8);
	assert_int_equal(rows_after_crash(), 8);
	assert_int_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(one(R, "SELECT count(*) FROM t"), 16);
	sound(R);
}

/* synchronous=FULL on a device without power-safe overwrite: SQLite pads
 * the log to a sector boundary with copies of the commit frame, split
 * around a sync. Those writes too are the commit's; a failure of the one
 * after the sync fails the commit, and never leaves a published commit
 * short: the reader's count and a crash copy stay sound. */
static void test_padded_commits(void **state)
{
	char uri[200];
	sqlite3 *w = NULL;
	int64_t n = 0, c;

	(void)state;
	snprintf(uri, sizeof uri, "file:%s?psow=0", db_path);
	assert_int_equal(sqlite3_open_v2(uri, &w,
					 SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI,
					 sqs_walbuf_vfs()),
			 SQLITE_OK);
	exec(w, "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0");
	for (int i = 0; i < 12; i++) {
		int rc;

		if (i % 3 == 2)
			fail_after_sync = 1;
		exec(w, "BEGIN");
		exec(w, "INSERT INTO t (v) VALUES (randomblob(400))");
		rc = sqlite3_exec(w, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			n++;
		else if (!sqlite3_get_autocommit(w))
			exec(w, "ROLLBACK");
		fail_after_sync = wal_write_fail = 0;
		assert_int_equal(one(R, "SELECT count(*) FROM t"), n);
		/* a commit answered an I/O error has an unknown outcome (in
		 * SQLite alone too: its frames up to the sync point are in
		 * the log, synced): after a crash it may be there */
		c = rows_after_crash();
		assert_true(c == n || (rc != SQLITE_OK && c == n + 1));
	}
	assert_true(n >= 8 && n < 12); /* the failures did hit commits */
	sound(R);
	sqlite3_close(w);
}

/* Exclusive locking mode: SQLite takes no log locks, so the buffer's
 * release never comes; the log is written through while the database
 * file is locked exclusively: commits in the files at once, a failed write
 * is its commit's error only, and the connection goes on. */
static void test_exclusive_locking(void **state)
{
	(void)state;
	exec(W, "PRAGMA locking_mode=EXCLUSIVE");
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(insert_rows(8), SQLITE_OK);
		assert_int_equal(rows_after_crash(), 8 * i);
	}
	wal_write_fail = 1;
	assert_int_not_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(rows_after_crash(), 24);
	assert_int_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(rows_after_crash(), 32);
	assert_int_equal(pending(W), 0);
	exec(W, "PRAGMA locking_mode=NORMAL");
	assert_int_equal(one(W, "SELECT count(*) FROM t"), 32); /* lets go */
	assert_int_equal(one(R, "SELECT count(*) FROM t"), 32);
	wal_writes = 0;
	assert_int_equal(insert_rows(8), SQLITE_OK);
	assert_int_equal(wal_writes, 1); /* buffered again */
	sound(R);
}

static void test_full_sync(void **state)
{
	(void)state;
	/* the threads' own connections: synchronous=FULL, the log synced at
	 * every commit (the buffer written out first) */
	exec(W, "PRAGMA synchronous=FULL");
	for (int i = 1; i <= 5; i++) {
		assert_int_equal(insert_rows(8), SQLITE_OK);
		assert_int_equal(one(R, "SELECT count(*) FROM t"), 8 * i);
		assert_int_equal(rows_after_crash(), 8 * i);
	}
	sound(R);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_visible_in_few_writes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_transaction, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_log_restarted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_is_the_commits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_frame_commits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_writer_after_rollback,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_without_reads,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_mid_transaction,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewritten_header_fails_commit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_padded_commits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exclusive_locking, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_sync, setup, teardown),
	};

	unix_vfs = sqlite3_vfs_find(NULL);
	test_vfs = *unix_vfs;
	test_vfs.zName = "pv-test";
	test_vfs.xOpen = test_open;
	if (sqlite3_vfs_register(&test_vfs, 1) != SQLITE_OK)
		return 1;
	/* the shim wraps the default VFS of its first use: the test VFS */
	if (!sqs_walbuf_vfs())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
