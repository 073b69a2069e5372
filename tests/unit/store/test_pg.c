/* test_pg.c: what is particular to the PostgreSQL backend (the behaviour
 * shared by every backend is in tests/store/test_conformance.c): a lost
 * connection is made again, lock and statement timeouts answer PV_EBUSY
 * and PV_ESTORE, several processes may migrate at once, the URL's password
 * is never logged, case is folded for ASCII letters only. It needs a
 * server: PRAVESH_TEST_PG_URL (a base URL such as
 * postgresql://postgres@127.0.0.1:5432, the test makes its own databases);
 * without it every test is skipped. A second connection of its own (libpq)
 * creates the conditions: it ends the backend's sessions, holds locks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/keys.h"
#include "core/otp.h"
#include "store/store.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/log.h"

static const char *base;
static char dbname[64], url[512];
static PGconn *admin; /* to the test database, outside the store */

static void admin_exec(const char *sql)
{
	PGresult *r = PQexec(admin, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fprintf(stderr, "admin: %s: %s", sql, PQerrorMessage(admin));
	assert_true(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
	PQclear(r);
}

/* Ends every other session of the test database: the store's
 * connections are lost. */
static void kill_sessions(void)
{
	admin_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		   " WHERE datname = current_database() AND pid <>"
		   " pg_backend_pid()");
}

static int create_db(const char *name)
{
	char u[512], sql[128];
	PGconn *c;
	PGresult *r;
	int ok;

	snprintf(u, sizeof u, "%s/postgres", base);
	c = PQconnectdb(u);
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return -1;
	}
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR + 1);
	base = getenv("PRAVESH_TEST_PG_URL");
	if (!base || !*base)
		return 0;
	snprintf(dbname, sizeof dbname, "pv_unit_%ld_%d", (long)time(NULL),
		 (int)getpid());
	snprintf(url, sizeof url, "%s/%s", base, dbname);
	if (create_db(dbname) != 0)
		return -1;
	admin = PQconnectdb(url);
	return PQstatus(admin) == CONNECTION_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(admin);
	return 0;
}

#define NEED_PG()                                                              \
	do {                                                                   \
		if (!base || !*base)                                           \
			skip();                                                \
	} while (0)

static store *open_migrated(int64_t statement_ms, int64_t lock_ms)
{
	store *s = NULL;

	assert_int_equal(store_open_with(url,
					 &(store_options){statement_ms, lock_ms, NULL},
					 &s),
			 PV_OK);
	assert_int_equal(store_migrate(s), PV_OK);
	return s;
}

static void test_reconnect(void **state)
{
	store_throttle t;
	store_org o;
	store *s;

	(void)state;
	NEED_PG();
	s = open_migrated(30000, 5000);
	assert_string_equal(store_backend_name(s), "postgres");
	assert_int_equal(store_ping(s), PV_OK);
	/* a read on a lost connection is run again on a new one */
	kill_sessions();
	assert_int_equal(store_ping(s), PV_OK);
	assert_int_equal(store_org_get(s, "none", &o), PV_ENOTFOUND);
	/* a write answers "busy" once; the next call has a new connection */
	kill_sessions();
	assert_int_equal(store_throttle_hit(s, "k:1", 1000, 60000, 0, 0, &t),
			 PV_EBUSY);
	assert_int_equal(store_throttle_hit(s, "k:1", 1000, 60000, 0, 0, &t),
			 PV_OK);
	assert_true(t.count == 1);
	/* inside a transaction: lost, every call says so until the rollback */
	assert_int_equal(store_tx_begin(s), PV_OK);
	assert_int_equal(store_throttle_hit(s, "k:1", 1000, 60000, 0, 0, &t),
			 PV_OK);
	kill_sessions();
	assert_int_equal(store_throttle_hit(s, "k:1", 1000, 60000, 0, 0, &t),
			 PV_EBUSY);
	assert_int_equal(store_org_get(s, "none", &o), PV_EBUSY);
	assert_int_equal(store_tx_commit(s), PV_EBUSY);
	assert_int_equal(store_tx_rollback(s), PV_OK);
	assert_int_equal(store_throttle_peek(s, "k:1", 1000, &t), PV_OK);
	assert_true(t.count == 1); /* the lost transaction left nothing */
	store_close(s);
}

struct kill_arg {
	int calls;
};

/* store_tx: the first run loses its connection; the second commits. */
static int tx_killed_once(store *s, void *ctx)
{
	struct kill_arg *k = ctx;
	int rc = store_throttle_hit(s, "k:tx", 1000, 60000, 0, 0, NULL);

	if (rc != PV_OK)
		return rc;
	if (k->calls++ == 0) {
		kill_sessions();
		return store_throttle_hit(s, "k:tx", 1000, 60000, 0, 0, NULL);
	}
	return PV_OK;
}

static void test_tx_retried_after_loss(void **state)
{
	struct kill_arg k = {0};
	store_throttle t;
	store *s;

	(void)state;
	NEED_PG();
	s = open_migrated(30000, 5000);
	assert_int_equal(store_tx(s, tx_killed_once, &k), PV_OK);
	assert_int_equal(k.calls, 2);
	assert_int_equal(store_throttle_peek(s, "k:tx", 1000, &t), PV_OK);
	assert_true(t.count == 1);
	store_close(s);
}

/* A login's last write goes with the COMMIT (pgs_exec_later). When the
 * connection is lost before that COMMIT is sent, the server's answer
 * proves it never ran: store_tx runs the transaction again on a new
 * connection, and the session and the counter are stored once. */
struct later_arg {
	int calls;
	store_session se;
};

static int tx_later_killed_once(store *s, void *ctx)
{
	struct later_arg *k = ctx;
	int rc = store_throttle_hit(s, "k:later", 1000, 60000, 0, 0, NULL);

	if (rc == PV_OK)
		rc = store_session_login(s, &k->se);
	if (rc == PV_OK && k->calls++ == 0)
		kill_sessions();
	return rc;
}

static void test_later_write_retried_after_loss(void **state)
{
	struct later_arg k = {0};
	store_throttle t;
	store_session got;
	store_user u;
	int conflict = -1;
	store *s;

	(void)state;
	NEED_PG();
	s = open_migrated(30000, 5000);
	assert_int_equal(tmpstore_org(s, "org-later", "Ministry of Later Writes", 0), PV_OK);
	memset(&u, 0, sizeof u);
	snprintf(u.id, sizeof u.id, "user-later");
	snprintf(u.email, sizeof u.email, "later@example.gov.in");
	snprintf(u.mobile, sizeof u.mobile, "9123400777");
	snprintf(u.org_id, sizeof u.org_id, "org-later");
	snprintf(u.status, sizeof u.status, "%s", STORE_USER_ACTIVE);
	assert_int_equal(store_user_insert(s, &u, &conflict), PV_OK);
	randombytes_buf(k.se.hash, sizeof k.se.hash);
	randombytes_buf(k.se.csrf_hash, sizeof k.se.csrf_hash);
	snprintf(k.se.user_id, sizeof k.se.user_id, "user-later");
	k.se.created_at = k.se.last_seen = 5000;
	k.se.expires_at = 3600000;
	/* a first login outside a transaction prepares the statement on this
	 * connection: the COMMIT's round trip is then the first to meet the
	 * lost connection (not a PREPARE before it) */
	assert_int_equal(store_session_login(s, &k.se), PV_OK);
	randombytes_buf(k.se.hash, sizeof k.se.hash);
	assert_int_equal(store_tx(s, tx_later_killed_once, &k), PV_OK);
	assert_int_equal(k.calls, 2);
	assert_int_equal(store_throttle_peek(s, "k:later", 1000, &t), PV_OK);
	assert_true(t.count == 1);
	assert_int_equal(store_session_get(s, k.se.hash, &got), PV_OK);
	store_close(s);
}

static void test_timeouts(void **state)
{
	store_throttle t;
	store *s;

	(void)state;
	NEED_PG();
	s = open_migrated(30000, 100);
	assert_int_equal(store_throttle_hit(s, "k:lock", 1000, 60000, 0, 0, &t),
			 PV_OK);
	/* another session holds the row: the wait ends at lock_timeout */
	admin_exec("BEGIN");
	admin_exec("UPDATE throttles SET hits = hits WHERE tkey = 'k:lock'");
	assert_int_equal(store_throttle_hit(s, "k:lock", 1000, 60000, 0, 0, &t),
			 PV_EBUSY);
	store_close(s);
	/* no lock_timeout: statement_timeout ends it, and that is an error */
	s = open_migrated(100, 0);
	assert_int_equal(store_throttle_hit(s, "k:lock", 1000, 60000, 0, 0, &t),
			 PV_ESTORE);
	admin_exec("ROLLBACK");
	assert_int_equal(store_throttle_hit(s, "k:lock", 1000, 60000, 0, 0, &t),
			 PV_OK);
	assert_true(t.count == 2);
	store_close(s);
}

#define MIGRATORS 4

static void *migrate_thread(void *p)
{
	const char *u = p;
	store *s = NULL;
	intptr_t rc = store_open(u, &s);

	if (rc == PV_OK)
		rc = store_migrate(s);
	store_close(s);
	return (void *)rc;
}

static void test_concurrent_migrations(void **state)
{
	char name[80], u[600];
	pthread_t th[MIGRATORS];
	PGconn *c;
	PGresult *r;

	(void)state;
	NEED_PG();
	snprintf(name, sizeof name, "%s_mig", dbname);
	assert_int_equal(create_db(name), 0);
	snprintf(u, sizeof u, "%s/%s", base, name);
	for (int i = 0; i < MIGRATORS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, migrate_thread, u), 0);
	for (int i = 0; i < MIGRATORS; i++) {
		void *rc;

		pthread_join(th[i], &rc);
		assert_int_equal((int)(intptr_t)rc, PV_OK);
	}
	/* each version recorded once, none skipped */
	c = PQconnectdb(u);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, "SELECT count(*) = max(version) AND min(version) = 1"
		      " FROM pravesh_schema");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	PQfinish(c);
}

/* Standard error into a file while fn runs; returns what was written
 * (static buffer). */
static const char *capture_stderr(void (*fn)(void))
{
	static char text[8192];
	char path[] = "/tmp/pravesh-pg-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, text, sizeof text - 1);
	text[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return text;
}

static void open_with_passwords(void)
{
	store *s = (store *)0x1;

	log_set_level(LOG_DEBUG);
	assert_int_equal(store_open("postgresql://pv:hunter2secret@127.0.0.1:1/x", &s),
			 PV_ESTORE);
	assert_int_equal(store_open("postgresql://pv:hunter2secret%zz@127.0.0.1/x", &s),
			 PV_EINVAL);
	log_set_level(LOG_ERROR + 1);
}

static void test_password_never_logged(void **state)
{
	const char *text;

	(void)state;
	NEED_PG();
	text = capture_stderr(open_with_passwords);
	assert_non_null(strstr(text, "cannot connect to the database"));
	assert_null(strstr(text, "hunter2"));
}

static void test_ascii_case_folding(void **state)
{
	store_position p, q, out;
	store *s;
	int created;

	(void)state;
	NEED_PG();
	s = open_migrated(30000, 5000);
	memset(&p, 0, sizeof p);
	snprintf(p.id, sizeof p.id, "pos-e1");
	snprintf(p.name, sizeof p.name, "\xC3\x89mile Officer"); /* É */
	p.created_at = 1;
	assert_int_equal(store_position_insert(s, &p), PV_OK);
	/* é differs from É: only ASCII letters fold */
	q = p;
	snprintf(q.id, sizeof q.id, "pos-e2");
	snprintf(q.name, sizeof q.name, "\xC3\xA9mile Officer"); /* é */
	assert_int_equal(store_position_insert(s, &q), PV_OK);
	snprintf(q.id, sizeof q.id, "pos-e3");
	snprintf(q.name, sizeof q.name, "\xC3\x89MILE OFFICER");
	assert_int_equal(store_position_insert(s, &q), PV_ECONFLICT);
	assert_int_equal(store_position_upsert_name(s, &q, &out, &created), PV_OK);
	assert_int_equal(created, 0);
	assert_string_equal(out.id, "pos-e1");
	store_close(s);
}

/* name_words (migration 7): the batch insert computes it in C, every
 * other write through the SQL function pravesh_name_words by trigger; the
 * two must agree to the lexeme, or a user found after a single insert is
 * missed after an upload. Names with punctuation, digits, case, long
 * words, scripts, mixed runs, and nothing at all. */
static void test_name_words_batch_equals_sql(void **state)
{
	static const char *const names[][2] = {
		{"Ram", "Kumar"}, {"ramesh", "KUMAR-singh"}, {"Rise50%Now", "a_b"},
		{"Chandrasekhar", "Venkataraman"}, {"Chandras", "Iyer"},
		{"अनिरुद्धकुमार", "Joshi"}, {"राम", "प्रसाद"}, {"\xC3\x89mile", "\xC3\x89MILIENNE"},
		{"abc\xC3\xA9" "def\xC3\xA9" "ghij", "x"}, {"...", "--"}, {"A", "B C D"},
		{"O'Brien", "d'Souza-Mac\xE0\xA4\x85" "bcdefghijk"}, {"12345678901", "x9"},
	};
	enum { N = sizeof names / sizeof names[0] };
	store_user u[N];
	int conflicts[N];
	PGresult *r;
	store *s;

	(void)state;
	NEED_PG();
	s = open_migrated(30000, 5000);
	assert_int_equal(tmpstore_org(s, "org-nw", "Names", 0), PV_OK);
	memset(u, 0, sizeof u);
	for (int i = 0; i < N; i++) {
		snprintf(u[i].id, sizeof u[i].id, "nw-%d", i);
		snprintf(u[i].first_name, sizeof u[i].first_name, "%s", names[i][0]);
		snprintf(u[i].last_name, sizeof u[i].last_name, "%s", names[i][1]);
		snprintf(u[i].email, sizeof u[i].email, "nw%d@example.gov.in", i);
		snprintf(u[i].mobile, sizeof u[i].mobile, "98765%05u", (unsigned)i % 100000u);
		snprintf(u[i].org_id, sizeof u[i].org_id, "org-nw");
		snprintf(u[i].status, sizeof u[i].status, "%s", STORE_USER_ACTIVE);
		snprintf(u[i].source, sizeof u[i].source, "bulk");
		u[i].created_at = u[i].updated_at = 1700000000000LL + i;
	}
	/* the trigger off: the words must come from the batch itself */
	admin_exec("ALTER TABLE users DISABLE TRIGGER users_name_words");
	assert_int_equal(store_user_insert_batch(s, u, N, conflicts), PV_OK);
	admin_exec("ALTER TABLE users ENABLE TRIGGER users_name_words");
	/* every row came with its words from C, and they are the SQL's */
	r = PQexec(admin, "SELECT count(*), count(*) FILTER (WHERE name_words IS DISTINCT"
			  " FROM pravesh_name_words(first_name, last_name)), count(*)"
			  " FILTER (WHERE length(name_words) > 0) FROM users WHERE org_id = 'org-nw'");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(atoi(PQgetvalue(r, 0, 0)), N);
	assert_string_equal(PQgetvalue(r, 0, 1), "0");
	assert_int_equal(atoi(PQgetvalue(r, 0, 2)), N - 1); /* "..." "--": no word */
	PQclear(r);
	/* the SQL's for one: prefixes of one to eight characters and the word */
	r = PQexec(admin, "SELECT name_words::text FROM users WHERE id = 'nw-4'");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0),
			    "'c' 'ch' 'cha' 'chan' 'chand' 'chandr' 'chandra' 'chandras' 'i' 'iy' 'iye' 'iyer'");
	PQclear(r);
	r = PQexec(admin, "SELECT name_words::text FROM users WHERE id = 'nw-12'");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0),
			    "'1' '12' '123' '1234' '12345' '123456' '1234567' '12345678' '12345678901' 'x' 'x9'");
	PQclear(r);
	/* a change of name goes through the trigger */
	assert_int_equal(store_user_set_names(s, "nw-0", "Seeta", "Devi", NULL, 1700000001000LL), PV_OK);
	r = PQexec(admin, "SELECT name_words::text FROM users WHERE id = 'nw-0'");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "'d' 'de' 'dev' 'devi' 's' 'se' 'see' 'seet' 'seeta'");
	PQclear(r);
	store_close(s);
}

static void migrate_sql_ascii(void)
{
	char u[512];
	store *s = NULL;

	snprintf(u, sizeof u, "%s/%s_ascii", base, dbname);
	assert_int_equal(store_open(u, &s), PV_OK);
	assert_int_equal(store_migrate(s), PV_ESTORE);
	store_close(s);
}

/* A database not in UTF8 is refused before any migration: names are
 * searched by characters, which SQL_ASCII counts as bytes. */
static void test_refuses_non_utf8(void **state)
{
	char sql[160];
	const char *text;

	(void)state;
	NEED_PG();
	snprintf(sql, sizeof sql,
		 "CREATE DATABASE %s_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'"
		 " TEMPLATE template0", dbname);
	{
		char pu[512];
		PGconn *c;
		PGresult *r;

		snprintf(pu, sizeof pu, "%s/postgres", base);
		c = PQconnectdb(pu);
		assert_int_equal(PQstatus(c), CONNECTION_OK);
		r = PQexec(c, sql);
		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		PQfinish(c);
	}
	log_set_level(LOG_ERROR);
	text = capture_stderr(migrate_sql_ascii);
	log_set_level(LOG_ERROR + 1);
	assert_non_null(strstr(text, "encoded in UTF8"));
	assert_non_null(strstr(text, "SQL_ASCII"));
}

/* An OTP check whose code is right is not counted against the address,
 * but it must not pass a wrong one from the same address that is in
 * flight (its count not yet committed) and takes the last of the
 * address's limit: it waits for it and is refused, the code not used up.
 * Without that wait, a burst of guesses from an address one short of its
 * limit each had its chance. The failure in flight is the second
 * connection's uncommitted hit. */
#define RACE_IP "203.0.113.9"
#define RACE_T0 1700000000000LL

struct otp_job {
	const otp_svc *svc;
	const char *code;
	otp_result r;
	int rc;
};

static void *otp_job_main(void *arg)
{
	struct otp_job *j = arg;

	j->rc = otp_check(j->svc, "9876543210", "register", j->code, RACE_IP, RACE_T0 + 10, &j->r);
	return NULL;
}

static void test_otp_right_code_waits_for_failures(void **state)
{
	char code[7], other[7], key[STORE_KEY_MAX];
	const char *params[1];
	struct otp_job j;
	pthread_t th;
	otp_result r;
	PGresult *res;
	otp_svc svc;
	keys k;
	store *s;

	(void)state;
	NEED_PG();
	s = open_migrated(30000, 5000);
	assert_int_equal(keys_load(NULL, "000102030405060708090a0b0c0d0e0f"
				       "101112131415161718191a1b1c1d1e1f", &k), PV_OK);
	memset(&svc, 0, sizeof svc);
	svc.st = s;
	svc.k = &k;
	otp_policy_default(&svc.pol);
	svc.pol.fail_per_ip_hour = 2;
	assert_int_equal(otp_issue(&svc, "9876543210", "register", RACE_IP, OTP_SEND_NOTHING, "en",
				   RACE_T0, code, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	assert_int_equal(otp_issue(&svc, "9876543211", "register", RACE_IP, OTP_SEND_NOTHING, "en",
				   RACE_T0, other, &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	/* one wrong code: the address is one short of its limit */
	assert_int_equal(otp_check(&svc, "9876543211", "register", strcmp(other, "000000") ? "000000"
				   : "111111", RACE_IP, RACE_T0 + 1, &r), PV_OK);
	assert_int_equal(r.status, OTP_INVALID);
	/* the second wrong code, in flight: counted, not yet committed */
	assert_int_equal(keys_subject(&k, "otp-fail-ip", RACE_IP, key), PV_OK);
	params[0] = key;
	admin_exec("BEGIN");
	res = PQexecParams(admin, "UPDATE throttles SET hits = hits + 1 WHERE tkey = $1", 1, NULL,
			   params, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	assert_string_equal(PQcmdTuples(res), "1");
	PQclear(res);
	/* the right code meanwhile */
	j = (struct otp_job){&svc, code, {0}, -1};
	assert_int_equal(pthread_create(&th, NULL, otp_job_main, &j), 0);
	usleep(300 * 1000);
	admin_exec("COMMIT");
	pthread_join(th, NULL);
	assert_int_equal(j.rc, PV_OK);
	assert_int_equal(j.r.status, OTP_RATE_LIMITED);
	assert_true(j.r.retry_after_s > 3000);
	/* not used up: from another address it is still good */
	assert_int_equal(otp_check(&svc, "9876543210", "register", code, "198.51.100.7", RACE_T0 + 20,
				   &r), PV_OK);
	assert_int_equal(r.status, OTP_OK);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_tx_retried_after_loss),
		cmocka_unit_test(test_later_write_retried_after_loss),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_concurrent_migrations),
		cmocka_unit_test(test_password_never_logged),
		cmocka_unit_test(test_ascii_case_folding),
		cmocka_unit_test(test_name_words_batch_equals_sql),
		cmocka_unit_test(test_refuses_non_utf8),
		cmocka_unit_test(test_otp_right_code_waits_for_failures),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
