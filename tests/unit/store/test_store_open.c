/* test_store_open.c: choosing the backend from the URL, and what is
 * particular to the SQLite backend (file checks, pragmas, connections per
 * thread). The behaviour shared by every backend is in
 * tests/store/test_conformance.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "support/tmpstore.h"
#include "util/log.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR + 1); /* the refusals below log on purpose */
	snprintf(dir, sizeof dir, "/tmp/pravesh-open-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_refusals(void **state)
{
	store *s = (store *)0x1;
	char url[256];

	(void)state;
	/* nothing listens on port 1; an invalid URI is refused unread */
	assert_int_equal(store_open("postgres://u:secret@127.0.0.1:1/pravesh", &s),
			 PV_ESTORE);
	assert_null(s);
	s = (store *)0x1;
	assert_int_equal(store_open("postgresql://u:%zz@db/pravesh", &s), PV_EINVAL);
	assert_null(s);
	assert_int_equal(store_open("mysql://db/x", &s), PV_EINVAL);
	assert_int_equal(store_open("", &s), PV_EINVAL);
	assert_int_equal(store_open(NULL, &s), PV_EINVAL);
	assert_int_equal(store_open("sqlite:", &s), PV_EINVAL);
	assert_int_equal(store_open("sqlite::memory:", &s), PV_EINVAL);
	assert_int_equal(store_open("sqlite:file:x.db?mode=memory", &s),
			 PV_EINVAL);
	/* The directory must exist: creating it is the CLI's job. */
	snprintf(url, sizeof url, "sqlite:%s/missing/sub/p.db", dir);
	assert_int_equal(store_open(url, &s), PV_EIO);
	assert_null(s);
	struct stat sb;
	snprintf(url, sizeof url, "%s/missing", dir);
	assert_true(stat(url, &sb) != 0);
}

static void test_not_a_database(void **state)
{
	char path[128];
	store *s = NULL;
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/junk.db", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database file at all\n", f);
	fclose(f);
	assert_int_equal(store_open(path, &s), PV_ESTORE);
	assert_null(s);
}

/* The forms of the URL reach the same file; the pragmas hold. */
static void test_forms_and_pragmas(void **state)
{
	char path[128], url[160];
	store *s = NULL;
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v;

	(void)state;
	snprintf(path, sizeof path, "%s/a.db", dir);
	assert_int_equal(store_open(path, &s), PV_OK); /* bare path */
	assert_string_equal(store_backend_name(s), "sqlite");
	assert_int_equal(store_migrate(s), PV_OK);
	assert_int_equal(store_migrate(s), PV_OK);
	assert_int_equal(store_dir_version(s, &v), PV_OK);
	store_close(s);

	snprintf(url, sizeof url, "sqlite://%s", path); /* sqlite:///abs */
	assert_int_equal(store_open(url, &s), PV_OK);
	assert_int_equal(store_ping(s), PV_OK);
	assert_int_equal(store_dir_version(s, &v), PV_OK); /* migrated */
	store_close(s);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int(st, 0) >= 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	tmpstore_rm_db(path);
}

/* Before migrating, operations fail cleanly. */
static void test_unmigrated(void **state)
{
	char path[128];
	store *s = NULL;
	store_org o;

	(void)state;
	snprintf(path, sizeof path, "%s/b.db", dir);
	assert_int_equal(store_open(path, &s), PV_OK);
	assert_int_equal(store_ping(s), PV_OK);
	assert_int_equal(store_org_get(s, "x", &o), PV_ESTORE);
	assert_int_equal(store_migrate(s), PV_OK);
	assert_int_equal(store_org_get(s, "x", &o), PV_ENOTFOUND);
	store_close(s);
	tmpstore_rm_db(path);
}

struct worker {
	store *s;
	int err;
};

static void *worker_main(void *p)
{
	struct worker *w = p;
	int64_t v;

	w->err = store_dir_version(w->s, &v);
	return NULL;
}

struct lingerer {
	store *s;
	int ready[2], go[2];
	int err;
};

static void *linger_main(void *p)
{
	struct lingerer *l = p;
	int64_t v;
	char c;

	l->err = store_dir_version(l->s, &v);
	if (write(l->ready[1], "x", 1) != 1 || read(l->go[0], &c, 1) != 1)
		l->err = PV_EIO;
	return NULL;
}

/* Many stores opened and closed in one thread, many threads on one store:
 * connections are reused, recycled, and all closed (ASan checks leaks). */
static void test_connections(void **state)
{
	char path[128];
	store *s[10];
	pthread_t th[6];
	struct worker w[6];
	int64_t v;

	(void)state;
	snprintf(path, sizeof path, "%s/c.db", dir);
	for (int round = 0; round < 20; round++) {
		assert_int_equal(store_open(path, &s[0]), PV_OK);
		assert_int_equal(store_migrate(s[0]), PV_OK);
		store_close(s[0]);
	}
	/* Up to 8 stores at once in one thread. */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(store_open(path, &s[i]), PV_OK);
		assert_int_equal(store_dir_version(s[i], &v), PV_OK);
	}
	assert_int_equal(store_open(path, &s[8]), PV_ELIMIT);
	for (int i = 0; i < 8; i++)
		store_close(s[i]);

	assert_int_equal(store_open(path, &s[0]), PV_OK);
	for (int i = 0; i < 6; i++) {
		w[i] = (struct worker){s[0], -1};
		assert_int_equal(pthread_create(&th[i], NULL, worker_main,
						&w[i]),
				 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].err, PV_OK);
	}
	store_close(s[0]);

	/* A thread still alive when the store closes: its connection is
	 * closed by store_close, and its exit does not touch it again. */
	struct lingerer l;
	assert_int_equal(store_open(path, &l.s), PV_OK);
	assert_int_equal(pipe(l.ready), 0);
	assert_int_equal(pipe(l.go), 0);
	l.err = -1;
	assert_int_equal(pthread_create(&th[0], NULL, linger_main, &l), 0);
	char c;
	assert_int_equal(read(l.ready[0], &c, 1), 1);
	store_close(l.s);
	assert_int_equal(write(l.go[1], "x", 1), 1);
	pthread_join(th[0], NULL);
	assert_int_equal(l.err, PV_OK);
	for (int i = 0; i < 2; i++) {
		close(l.ready[i]);
		close(l.go[i]);
	}
	tmpstore_rm_db(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_not_a_database),
		cmocka_unit_test(test_forms_and_pragmas),
		cmocka_unit_test(test_unmigrated),
		cmocka_unit_test(test_connections),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
