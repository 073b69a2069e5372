/* test_sqlite_batch.c: group commit of the SQLite backend (sqlite_batch.c).
 * The behaviour every backend shares (each caller's answer and all or
 * nothing of its work under concurrency) is in tests/store; here, what is
 * SQLite's own: concurrent attempts really share one transaction, a failed
 * function inside a batch is undone alone, a busy one is run again in a
 * later batch, and the durability setting.
 *
 * The batches are made deterministic without any timing: the first
 * caller's function holds its batch open until the others are queued, one
 * after another in a known order (store_sqlite_batch_waiting), so they all
 * form the next batch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "support/tmpstore.h"
#include "util/log.h"

#define T0 INT64_C(1750000000000)
#define FOLLOWERS 6

static char dir[64], path[128];
static store *S;

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR + 1);
	return tmpstore_open(dir, sizeof dir, path, sizeof path, &S);
}

static int teardown(void **state)
{
	(void)state;
	store_sqlite_set_fdatasync(NULL);
	tmpstore_remove(S, dir, path);
	return 0;
}

static void pause_a_little(void)
{
	struct timespec ts = {0, 200000};

	nanosleep(&ts, NULL);
}

enum kind { K_OK, K_FAIL, K_REFUSED_CALL, K_BUSY_ONCE };

struct caller {
	enum kind kind;
	char key[STORE_KEY_MAX];
	int runs, rc;
	int done;        /* store_tx returned (atomic) */
	size_t wait_for; /* the leader: hold the batch until this many queue */
};

/* Set when a follower's store_tx returned without running it: the leader
 * stops waiting for it, and the counts below fail instead of a hang. */
static int give_up;

static int caller_fn(store *s, void *ctx)
{
	struct caller *c = ctx;
	store_throttle t;
	int rc;

	__atomic_add_fetch(&c->runs, 1, __ATOMIC_ACQ_REL);
	if ((rc = store_throttle_hit(s, c->key, T0, 3600000, 0, 0, NULL)) != PV_OK)
		return rc;
	while (c->wait_for && store_sqlite_batch_waiting(s) < c->wait_for &&
	       !__atomic_load_n(&give_up, __ATOMIC_ACQUIRE))
		pause_a_little();
	switch (c->kind) {
	case K_FAIL:
		return PV_ECONFLICT; /* after writing: undone alone */
	case K_REFUSED_CALL: /* a refused call; the function goes on */
		rc = store_otp_use(s, INT64_C(999999999));
		if (rc != PV_ENOTFOUND)
			return PV_ESTORE;
		return store_throttle_peek(s, c->key, T0, &t);
	case K_BUSY_ONCE:
		return c->runs == 1 ? PV_EBUSY : PV_OK;
	default:
		return PV_OK;
	}
}

static void *caller_main(void *p)
{
	struct caller *c = p;

	c->rc = store_tx(S, caller_fn, c);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int count_of(const char *key)
{
	store_throttle t;

	if (store_throttle_peek(S, key, T0, &t) != PV_OK)
		return 0;
	return (int)t.count;
}

/* One leader, then FOLLOWERS callers queued behind it in the order of
 * kinds: two batches, plus one for an attempt answered PV_EBUSY, which
 * store_tx runs again. A batch runs first without savepoints; after a
 * failure, the others run again with them: runs[i] is how often each
 * function runs. */
static void batch_round(const char *tag, const enum kind *kinds, const int *runs,
			int batches)
{
	struct caller lead, f[FOLLOWERS];
	pthread_t th, fth[FOLLOWERS];
	uint64_t b0, t0, b1, t1;
	int busy = 0;

	store_sqlite_batch_stats(S, &b0, &t0);
	memset(&lead, 0, sizeof lead);
	snprintf(lead.key, sizeof lead.key, "%s-lead", tag);
	lead.wait_for = 1 + FOLLOWERS;
	assert_int_equal(pthread_create(&th, NULL, caller_main, &lead), 0);
	/* the leader's function running (its batch taken by the committer),
	 * not only queued: a follower queued before the committer took the
	 * leader would share its batch (seen about one run in ten on a
	 * loaded machine) */
	while (__atomic_load_n(&lead.runs, __ATOMIC_ACQUIRE) < 1)
		pause_a_little();
	for (int i = 0; i < FOLLOWERS; i++) {
		memset(&f[i], 0, sizeof f[i]);
		f[i].kind = kinds[i];
		snprintf(f[i].key, sizeof f[i].key, "%s-follower-%d", tag, i);
		assert_int_equal(pthread_create(&fth[i], NULL, caller_main, &f[i]), 0);
		/* queued behind the others; or, once the last is queued, the
		 * leader lets go and all may have run before this looks again
		 * (a busy machine: the test hung here about once in fifty); or
		 * its store_tx returned without running it (then the counts
		 * below fail rather than this hang) */
		while (store_sqlite_batch_waiting(S) < (size_t)i + 2 &&
		       __atomic_load_n(&f[i].runs, __ATOMIC_ACQUIRE) == 0 &&
		       !__atomic_load_n(&f[i].done, __ATOMIC_ACQUIRE))
			pause_a_little();
		if (__atomic_load_n(&f[i].done, __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(&f[i].runs, __ATOMIC_ACQUIRE) == 0)
			__atomic_store_n(&give_up, 1, __ATOMIC_RELEASE);
		busy += kinds[i] == K_BUSY_ONCE;
	}
	pthread_join(th, NULL);
	for (int i = 0; i < FOLLOWERS; i++)
		pthread_join(fth[i], NULL);
	store_sqlite_batch_stats(S, &b1, &t1);
	assert_int_equal(b1 - b0, batches);
	assert_int_equal(t1 - t0, 1 + FOLLOWERS + busy);

	assert_int_equal(lead.rc, PV_OK);
	assert_int_equal(lead.runs, 1);
	assert_int_equal(count_of(lead.key), 1);
	for (int i = 0; i < FOLLOWERS; i++) {
		int want = kinds[i] == K_FAIL ? PV_ECONFLICT : PV_OK;

		assert_int_equal(f[i].rc, want);
		assert_int_equal(count_of(f[i].key), kinds[i] == K_FAIL ? 0 : 1);
		assert_int_equal(f[i].runs, runs[i]);
	}
}

static void test_batches(void **state)
{
	static const enum kind ok[FOLLOWERS] = {K_OK, K_OK, K_REFUSED_CALL, K_OK, K_OK, K_OK};
	static const int ok_runs[FOLLOWERS] = {1, 1, 1, 1, 1, 1};
	/* the first failure (f1) is answered, and the others run again with
	 * savepoints: f0 runs twice; f4 is busy there, and runs again alone */
	static const enum kind mixed[FOLLOWERS] = {K_OK, K_FAIL, K_OK, K_REFUSED_CALL,
						   K_BUSY_ONCE, K_FAIL};
	static const int mixed_runs[FOLLOWERS] = {2, 1, 1, 1, 2, 1};

	(void)state;
	batch_round("ok", ok, ok_runs, 2);
	batch_round("mixed", mixed, mixed_runs, 3);
}

/* The default is synchronous=FULL; store_options (PRAVESH_SQLITE_SYNC)
 * chooses. */
static void test_sync_setting(void **state)
{
	char p2[160];
	store *s = NULL;

	(void)state;
	snprintf(p2, sizeof p2, "%s/sync.db", dir);
	assert_int_equal(store_open_with(p2, &(store_options){0, 0, "sometimes"}, &s), PV_EINVAL);
	assert_null(s);
	assert_int_equal(store_open_with(p2, &(store_options){0, 0, "normal"}, &s), PV_OK);
	store_close(s);
	assert_int_equal(store_open_with(p2, &(store_options){0, 0, "full"}, &s), PV_OK);
	store_close(s);
	assert_int_equal(store_open(p2, &s), PV_OK);
	store_close(s);
}

/* The syncer's sync, counted, or failing with EIO */
static int sync_calls, sync_fails;

static char sync_wal[200]; /* the -wal file the syncer must sync */

/* test_log_sync's own teardown: the process-wide hook back to fdatasync
 * whatever failed */
static int reset_sync_hook(void **state)
{
	(void)state;
	store_sqlite_set_fdatasync(NULL);
	return 0;
}

/* counts the syncs of the right file (the database's -wal) only */
static int counting_sync(int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) == 0 && stat(sync_wal, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		__atomic_fetch_add(&sync_calls, 1, __ATOMIC_RELAXED);
	return fdatasync(fd);
}

static int failing_sync(int fd)
{
	(void)fd;
	__atomic_fetch_add(&sync_fails, 1, __ATOMIC_RELAXED);
	errno = EIO;
	return -1;
}

static int put_key_tx(store *s, void *ctx)
{
	return store_throttle_hit(s, ctx, T0, 3600000, 0, 0, NULL);
}

/* how many times key was hit, read back in a new transaction */
static int64_t key_hits(store *s, const char *key)
{
	store_throttle t;

	memset(&t, 0, sizeof t);
	assert_int_equal(store_throttle_hit(s, key, T0, 3600000, 0, 0, &t), PV_OK);
	return t.count - 1;
}

static void done_rc(void *ctx, int rc)
{
	__atomic_store_n((int *)ctx, rc, __ATOMIC_RELEASE);
}

/* With synchronous=FULL the writer commits without waiting for the disk
 * and the syncer answers each transaction after a sync of the log made
 * since its commit; with NORMAL nothing syncs. A failed sync fails every
 * transaction that succeeded, and every later one (waiting or not), even
 * once the disk would sync again, until the store is opened again. */
static void test_log_sync(void **state)
{
	struct timespec ts = {0, 1000000};
	char p2[160];
	store *s = NULL;
	uint64_t before;
	int calls, rc = -1;

	(void)state;
	snprintf(p2, sizeof p2, "%s/sync-log.db", dir);
	snprintf(sync_wal, sizeof sync_wal, "%s-wal", p2);
	assert_int_equal(store_open_with(p2, &(store_options){0, 0, "normal"}, &s), PV_OK);
	assert_int_equal(store_migrate(s), PV_OK);
	assert_int_equal(store_tx(s, put_key_tx, "sync:normal"), PV_OK);
	assert_int_equal(store_sqlite_log_syncs(s), 0);
	store_close(s);

	assert_int_equal(store_open(p2, &s), PV_OK);
	store_sqlite_set_fdatasync(counting_sync);
	for (int i = 0; i < 5; i++) {
		before = store_sqlite_log_syncs(s);
		calls = __atomic_load_n(&sync_calls, __ATOMIC_RELAXED);
		assert_int_equal(store_tx(s, put_key_tx, "sync:full"), PV_OK);
		assert_true(store_sqlite_log_syncs(s) > before);
		assert_true(__atomic_load_n(&sync_calls, __ATOMIC_RELAXED) > calls);
	}

	store_sqlite_set_fdatasync(failing_sync);
	assert_int_equal(store_tx(s, put_key_tx, "sync:lost"), PV_ESTORE);
	assert_true(__atomic_load_n(&sync_fails, __ATOMIC_RELAXED) > 0);
	store_sqlite_set_fdatasync(NULL);
	/* from now on nothing is written: an error answered means not done */
	assert_int_equal(store_tx(s, put_key_tx, "sync:after"), PV_ESTORE);
	assert_int_equal(store_throttle_hit(s, "sync:own", T0, 3600000, 0, 0, NULL), PV_ESTORE);
	assert_int_equal(store_tx_begin(s), PV_ESTORE); /* BEGIN on the thread's own */
	assert_int_equal(store_scrub(s), PV_ESTORE);    /* no checkpoint either */
	store_tx_async(s, put_key_tx, "sync:async", done_rc, &rc);
	for (int i = 0; i < 10000 && __atomic_load_n(&rc, __ATOMIC_ACQUIRE) == -1; i++)
		nanosleep(&ts, NULL);
	assert_int_equal(__atomic_load_n(&rc, __ATOMIC_ACQUIRE), PV_ESTORE);
	assert_int_equal(store_ping(s), PV_ESTORE); /* /healthz answers 503 */
	store_close(s);

	assert_int_equal(store_open(p2, &s), PV_OK);
	assert_int_equal(store_ping(s), PV_OK);
	assert_int_equal(key_hits(s, "sync:after"), 0);
	assert_int_equal(key_hits(s, "sync:own"), 0);
	assert_int_equal(key_hits(s, "sync:async"), 0);
	assert_int_equal(store_tx(s, put_key_tx, "sync:again"), PV_OK);
	assert_true(store_sqlite_log_syncs(s) > 0);
	store_close(s);
	tmpstore_rm_db(p2);
}

/* Checkpoints (sqlite_ckpt.c). A transaction of ROWS throttle rows, keys
 * numbered from *next: a few pages of the log each. */
#define CK_ROWS 200
#define CK_NEVER 1000000000

static int ck_fill_tx(store *s, void *ctx)
{
	int *next = ctx, rc = PV_OK;
	char key[STORE_KEY_MAX];

	for (int i = 0; i < CK_ROWS && rc == PV_OK; i++) {
		snprintf(key, sizeof key, "ck:%08d:%032x", *next + i, (unsigned)(*next + i) * 2654435761u);
		rc = store_throttle_hit(s, key, T0, 3600000, 0, 0, NULL);
	}
	*next += CK_ROWS;
	return rc;
}

static long long wal_bytes(const char *db)
{
	char w[200];
	struct stat st;

	snprintf(w, sizeof w, "%s-wal", db);
	return stat(w, &st) == 0 ? (long long)st.st_size : 0;
}

/* commits transactions into s, then answers the log's size in bytes */
static long long ck_commits(store *s, const char *db, int n)
{
	int next = 0;

	for (int i = 0; i < n; i++)
		assert_int_equal(store_tx(s, ck_fill_tx, &next), PV_OK);
	return wal_bytes(db);
}

/* The commit hook's rule: the thread runs when wake pages of the log are
 * not copied yet, not at every commit once the log is that long (each run
 * syncs the database file, and copies a page once however many commits
 * changed it); in the last eighth before the hard limit at every commit
 * that left something to copy; and a log that started again counts from
 * nothing copied. */
static void test_checkpoint_rule(void **state)
{
	int copied = 0, seen = 0;

	(void)state;
	assert_false(sqs_ckpt_due(50, 100, CK_NEVER, &copied, &seen));
	assert_true(sqs_ckpt_due(120, 100, CK_NEVER, &copied, &seen));
	copied = 120; /* the thread's run copied all of it */
	assert_false(sqs_ckpt_due(150, 100, CK_NEVER, &copied, &seen));
	assert_false(sqs_ckpt_due(219, 100, CK_NEVER, &copied, &seen));
	assert_true(sqs_ckpt_due(220, 100, CK_NEVER, &copied, &seen));
	assert_int_equal(seen, 220);
	copied = 180; /* a run that could not copy everything */
	assert_false(sqs_ckpt_due(250, 100, CK_NEVER, &copied, &seen));
	assert_true(sqs_ckpt_due(280, 100, CK_NEVER, &copied, &seen));
	copied = 280;
	/* the log started again: 30 pages long, none of them copied */
	assert_false(sqs_ckpt_due(30, 100, CK_NEVER, &copied, &seen));
	assert_int_equal(copied, 0);
	assert_true(sqs_ckpt_due(100, 100, CK_NEVER, &copied, &seen));
	/* started again, and already past what the last run had copied */
	copied = 20;
	seen = 100;
	assert_true(sqs_ckpt_due(40, 30, CK_NEVER, &copied, &seen));
	assert_int_equal(copied, 0);

	/* near the hard limit (800: its last eighth from 700 on) */
	copied = 600;
	seen = 650;
	assert_false(sqs_ckpt_due(699, 200, 800, &copied, &seen));
	assert_true(sqs_ckpt_due(700, 200, 800, &copied, &seen));
	copied = 700;
	assert_false(sqs_ckpt_due(700, 200, 800, &copied, &seen)); /* nothing new */
	assert_true(sqs_ckpt_due(705, 200, 800, &copied, &seen));
	/* a thread never woken (wake at or past hard) is not woken there */
	copied = 0;
	seen = 0;
	assert_false(sqs_ckpt_due(39, CK_NEVER, 40, &copied, &seen));
}

/* The same rule in a store: 400 commits of a few dozen pages each, the
 * thread woken at 300 pages not copied. It copies in runs of about 300
 * pages, not after every commit once the log is that long, nor twice per
 * wake-up (measured: about 21 runs; the rule of every commit past the
 * limit made about 300, and weighing the commits made during a run
 * against what was copied before it about 40). A run needs 300 new pages
 * since the last: the 400 commits make about 6,800 (17 each, with this
 * schema), so at most about 23 runs, and fewer on a slow machine. */
static void test_checkpoint_runs(void **state)
{
	struct timespec ts = {0, 20000000};
	char p2[160];
	store *s = NULL;
	int next = 0;
	uint64_t runs;

	(void)state;
	snprintf(p2, sizeof p2, "%s/ck-runs.db", dir);
	assert_int_equal(store_open(p2, &s), PV_OK);
	assert_int_equal(store_migrate(s), PV_OK);
	store_sqlite_checkpoint_limits(s, 300, CK_NEVER);
	for (int i = 0; i < 400; i++)
		assert_int_equal(store_tx(s, ck_fill_tx, &next), PV_OK);
	for (int i = 0; i < 1500 && store_sqlite_checkpoints(s) == 0; i++)
		nanosleep(&ts, NULL);
	runs = store_sqlite_checkpoints(s);
	store_close(s);
	tmpstore_rm_db(p2);
	if (runs == 0 || runs >= 30)
		fail_msg("%llu checkpoint runs for 400 commits", (unsigned long long)runs);
}

/* Past its limit the log wakes the checkpointer thread, which copies it
 * back into the database while the writer goes on. */
static void test_checkpoint_thread(void **state)
{
	struct timespec ts = {0, 20000000};

	(void)state;
	store_sqlite_checkpoint_limits(S, 10, CK_NEVER);
	ck_commits(S, path, 10);
	/* it runs soon after, on its own: waited for, not timed */
	for (int i = 0; i < 1500 && store_sqlite_checkpoints(S) == 0; i++)
		nanosleep(&ts, NULL);
	assert_true(store_sqlite_checkpoints(S) > 0);
	store_sqlite_checkpoint_limits(S, 10000, 40000);
}

/* A write outside store_tx commits on the thread's own connection, which
 * wakes the thread as the writer does (else it would checkpoint itself
 * past SQLite's 1,000 pages, holding the writer lock). A fresh store, so
 * that no wake-up is pending, and a new thread, whose connection is opened
 * after the store's (as the server's work threads' are). */
static void *own_writes(void *arg)
{
	store *s = arg;
	char key[STORE_KEY_MAX];

	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof key, "own:%08d:%032x", i, (unsigned)i * 2654435761u);
		if (store_throttle_hit(s, key, T0, 3600000, 0, 0, NULL) != PV_OK)
			return (void *)1;
	}
	return NULL;
}

static void test_checkpoint_own_connection(void **state)
{
	struct timespec ts = {0, 20000000};
	char p2[160];
	store *s = NULL;
	pthread_t t;
	void *res = NULL;

	(void)state;
	snprintf(p2, sizeof p2, "%s/ck-own.db", dir);
	assert_int_equal(store_open(p2, &s), PV_OK);
	store_sqlite_checkpoint_limits(s, CK_NEVER, CK_NEVER);
	assert_int_equal(store_migrate(s), PV_OK);
	assert_int_equal(store_sqlite_checkpoints(s), 0);
	store_sqlite_checkpoint_limits(s, 10, CK_NEVER);
	assert_int_equal(pthread_create(&t, NULL, own_writes, s), 0);
	assert_int_equal(pthread_join(t, &res), 0);
	assert_null(res);
	for (int i = 0; i < 1500 && store_sqlite_checkpoints(s) == 0; i++)
		nanosleep(&ts, NULL);
	assert_true(store_sqlite_checkpoints(s) > 0);
	store_close(s);
	tmpstore_rm_db(p2);
}

/* The log's length as the commit hooks last saw it (copied 0), or the
 * pages counted as copied (copied 1) (sqlite_ckpt.c). */
static int ck_state(store *s, int copied)
{
	struct sqs_store *ss = (struct sqs_store *)s;
	int n;

	pthread_mutex_lock(&ss->ck_lock);
	n = copied ? ss->ck_copied : ss->ck_seen;
	pthread_mutex_unlock(&ss->ck_lock);
	return n;
}

/* The scrub of an erasure (a TRUNCATE checkpoint) right after commits that
 * woke the thread: it waits for the thread's checkpoint instead of being
 * refused as busy. */
static void test_checkpoint_scrub(void **state)
{
	int next = 0;

	(void)state;
	store_sqlite_checkpoint_limits(S, 1, CK_NEVER);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(store_tx(S, ck_fill_tx, &next), PV_OK);
		assert_true(ck_state(S, 0) > 0);
		assert_int_equal(store_scrub(S), PV_OK);
		/* the log emptied: the next commit's length counts from 0, so
		 * a first commit as long as the log was still wakes the
		 * thread (else its pages would pass for copied already) */
		assert_int_equal(ck_state(S, 0), 0);
		/* (a run of the thread after the scrub finds the log empty) */
		assert_int_equal(ck_state(S, 1), 0);
	}
	store_sqlite_checkpoint_limits(S, 10000, 40000);
}

/* However late the thread is, the writer checkpoints itself past the hard
 * limit, so the log stays bounded: against the same commits with no
 * checkpoint at all, which let it grow. */
static void test_checkpoint_bound(void **state)
{
	char p2[160];
	store *s = NULL;
	long long grown, bounded, bound = (40 + 3 * CK_ROWS) * (4096 + 24) + 32;

	(void)state;
	snprintf(p2, sizeof p2, "%s/ck-none.db", dir);
	assert_int_equal(store_open(p2, &s), PV_OK);
	assert_int_equal(store_migrate(s), PV_OK);
	store_sqlite_checkpoint_limits(s, CK_NEVER, CK_NEVER);
	grown = ck_commits(s, p2, 60);
	store_close(s);
	tmpstore_rm_db(p2);
	snprintf(p2, sizeof p2, "%s/ck-hard.db", dir);
	assert_int_equal(store_open(p2, &s), PV_OK);
	assert_int_equal(store_migrate(s), PV_OK);
	store_sqlite_checkpoint_limits(s, CK_NEVER, 40);
	bounded = ck_commits(s, p2, 60);
	store_close(s);
	tmpstore_rm_db(p2);
	if (grown <= bound || bounded > bound)
		fail_msg("log without checkpoints %lld bytes, with the writer's %lld (bound %lld)",
			 grown, bounded, bound);
}

static void put_org(store *s, const char *id)
{
	char name[STORE_NAME_MAX];

	snprintf(name, sizeof name, "Org %s", id);
	assert_int_equal(tmpstore_org(s, id, name, T0), PV_OK);
}

/* pravesh backup FILE where FILE is the live database (or its -wal or -shm
 * file): refused, and the store goes on as it was. Written beside and
 * renamed over it, the copy would replace the file the server writes to
 * (its connections keep the old one, unlinked), and whatever is committed
 * afterwards would be lost at the next start. */
static void test_backup_over_itself(void **state)
{
	char other[200];
	store *s2 = NULL;
	store_org o;
	struct stat before, after;

	(void)state;
	put_org(S, "bk-self-1");
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(store_backup(S, path), PV_ECONFLICT);
	snprintf(other, sizeof other, "%s/../%s/%s", dir, strrchr(dir, '/') + 1,
		 strrchr(path, '/') + 1); /* the same file by another name */
	assert_int_equal(store_backup(S, other), PV_ECONFLICT);
	snprintf(other, sizeof other, "%s-wal", path);
	assert_int_equal(store_backup(S, other), PV_ECONFLICT);
	snprintf(other, sizeof other, "%s-shm", path);
	assert_int_equal(store_backup(S, other), PV_ECONFLICT);
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino == after.st_ino);
	put_org(S, "bk-self-2");
	/* another connection (a restart) sees both */
	assert_int_equal(store_open(path, &s2), PV_OK);
	assert_int_equal(store_org_get(s2, "bk-self-1", &o), PV_OK);
	assert_int_equal(store_org_get(s2, "bk-self-2", &o), PV_OK);
	store_close(s2);
	/* a copy elsewhere still works */
	snprintf(other, sizeof other, "%s/copy.db", dir);
	assert_int_equal(store_backup(S, other), PV_OK);
	assert_int_equal(store_open(other, &s2), PV_OK);
	assert_int_equal(store_org_get(s2, "bk-self-2", &o), PV_OK);
	store_close(s2);
	unlink(other);
	snprintf(other, sizeof other, "%s/copy.db-wal", dir);
	unlink(other);
	snprintf(other, sizeof other, "%s/copy.db-shm", dir);
	unlink(other);
	snprintf(other, sizeof other, "%s/copy.db.blobs", dir);
	rmdir(other);
}

/* ---- a bulk insert whose transaction SQLite abandoned ----
 * Every connection the store opens is seen (an auto extension); a
 * progress handler interrupts the first INSERT INTO users of the call
 * (an interrupted write makes SQLite roll the whole transaction back),
 * and when a statement then starts outside any transaction, another
 * process's user goes in (the raw connection `other`): the users list
 * (user_counts, users_fts) must count that user once, as its own trigger
 * did, and the call must write nothing once its transaction is gone. */
static sqlite3 *lost_conns[32], *lost_other;
static int lost_nconns, lost_interrupt, lost_outside;

static int lost_progress(void *db)
{
	(void)db;
	return lost_interrupt ? (lost_interrupt = 0, 1) : 0;
}

/* Another process inserts a user of lost-org (its trigger lists it). */
static void lost_other_insert(void)
{
	assert_int_equal(sqlite3_exec(lost_other,
		"INSERT INTO users (id, first_name, last_name, email, mobile,"
		" org_id, status, source, created_at, updated_at) VALUES"
		" ('lost-other', 'Other', 'Process', 'other@example.gov.in',"
		" '9111111111', 'lost-org', 'active', 'self', 1, 1)",
		NULL, NULL, NULL), SQLITE_OK);
}

static int lost_trace(unsigned type, void *ctx, void *p, void *x)
{
	sqlite3 *db = ctx;
	const char *sql = sqlite3_sql(p);

	(void)type;
	(void)x;
	if (!sql || db == lost_other)
		return 0;
	if (strncmp(sql, "INSERT INTO users (", 19) == 0 && lost_interrupt == 0 &&
	    lost_outside == 0 && !sqlite3_get_autocommit(db))
		lost_interrupt = 1;
	else if (sqlite3_get_autocommit(db) && strncmp(sql, "PRAGMA", 6) != 0 &&
		 strncmp(sql, "BEGIN", 5) != 0 && strncmp(sql, "ROLLBACK", 8) != 0 &&
		 lost_outside++ == 0)
		lost_other_insert(); /* while this connection holds no lock */
	return 0;
}

static int lost_capture(sqlite3 *db, const char **err, const void *api)
{
	(void)err;
	(void)api;
	if (lost_nconns < (int)(sizeof lost_conns / sizeof lost_conns[0]))
		lost_conns[lost_nconns++] = db;
	return SQLITE_OK;
}

static void test_batch_tx_lost(void **state)
{
	char d2[64], p2[128];
	store *s2;
	store_org o;
	store_user u[3], *items = NULL;
	store_user_list_info info;
	store_user_query q = {"lost-org", "", "", {1, 50}, 0};
	int conflicts[3];
	size_t n = 0;

	(void)state;
	assert_int_equal(sqlite3_auto_extension((void (*)(void))lost_capture), SQLITE_OK);
	assert_int_equal(tmpstore_open(d2, sizeof d2, p2, sizeof p2, &s2), PV_OK);
	memset(&o, 0, sizeof o);
	snprintf(o.id, sizeof o.id, "lost-org");
	snprintf(o.name, sizeof o.name, "Ministry of Lost Writes");
	snprintf(o.sector, sizeof o.sector, "center");
	snprintf(o.type, sizeof o.type, "ministry");
	o.active = 1;
	o.created_at = o.updated_at = T0;
	assert_int_equal(store_org_upsert(s2, &o), PV_OK);
	assert_int_equal(sqlite3_open(p2, &lost_other), SQLITE_OK);
	sqlite3_busy_timeout(lost_other, 5000);
	sqlite3_cancel_auto_extension((void (*)(void))lost_capture);
	for (int i = 0; i < lost_nconns; i++) {
		if (lost_conns[i] == lost_other)
			continue;
		sqlite3_progress_handler(lost_conns[i], 1, lost_progress, lost_conns[i]);
		sqlite3_trace_v2(lost_conns[i], SQLITE_TRACE_STMT, lost_trace, lost_conns[i]);
	}
	memset(u, 0, sizeof u);
	for (int i = 0; i < 3; i++) {
		snprintf(u[i].id, sizeof u[i].id, "lost-%d", i);
		snprintf(u[i].first_name, sizeof u[i].first_name, "Bulk");
		snprintf(u[i].email, sizeof u[i].email, "lost%d@example.gov.in", i);
		snprintf(u[i].mobile, sizeof u[i].mobile, "922222222%c", (char)('0' + i));
		snprintf(u[i].org_id, sizeof u[i].org_id, "lost-org");
		snprintf(u[i].status, sizeof u[i].status, "%s", STORE_USER_ACTIVE);
		snprintf(u[i].source, sizeof u[i].source, "bulk");
		u[i].created_at = u[i].updated_at = T0;
	}
	assert_int_not_equal(store_user_insert_batch(s2, u, 3, conflicts), PV_OK);
	for (int i = 0; i < lost_nconns; i++) {
		if (lost_conns[i] == lost_other)
			continue;
		sqlite3_progress_handler(lost_conns[i], 0, NULL, NULL);
		sqlite3_trace_v2(lost_conns[i], 0, NULL, NULL);
	}
	/* no statement of the call ran once its transaction was gone (else
	 * the other process's user went in meanwhile: now, then) */
	if (!lost_outside)
		lost_other_insert();
	/* the other process's user only, counted once */
	assert_int_equal(store_user_list(s2, &q, &items, &n, &info), PV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, "lost-other");
	assert_int_equal(info.total, 1);
	free(items);
	q.q = "process";
	assert_int_equal(store_user_list(s2, &q, &items, &n, &info), PV_OK);
	assert_int_equal(info.total, 1);
	assert_int_equal(n, 1);
	free(items);
	assert_int_equal(lost_outside, 0);
	sqlite3_close(lost_other);
	tmpstore_remove(s2, d2, p2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_sync_setting),
		cmocka_unit_test_teardown(test_log_sync, reset_sync_hook),
		cmocka_unit_test(test_checkpoint_rule),
		cmocka_unit_test(test_checkpoint_runs),
		cmocka_unit_test(test_checkpoint_thread),
		cmocka_unit_test(test_checkpoint_own_connection),
		cmocka_unit_test(test_checkpoint_scrub),
		cmocka_unit_test(test_checkpoint_bound),
		cmocka_unit_test(test_backup_over_itself),
		cmocka_unit_test(test_batch_tx_lost),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
