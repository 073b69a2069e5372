/* sqlite_batch.c: group commit of the SQLite backend, behind store_tx()
 * and store_tx_async().
 *
 * SQLite has one writer at a time, and with synchronous=FULL each commit
 * waits for the disk. So the transactions of all threads queue here,
 * oldest first, and one committer thread per store (started at the first
 * transaction) runs them: it takes the store's writer lock, binds the
 * writer connection as its own, and runs up to SQS_BATCH_MAX queued
 * functions one after another in one transaction. A function that fails
 * must be undone alone: the batch runs first without savepoints (they
 * cost a copy of every page changed, and most batches have no failure); at
 * the first failure the transaction is rolled back, which undoes that
 * function (its answer stands), and the others run again with a savepoint
 * around each, so that a later failure is rolled back to its savepoint
 * alone. One COMMIT (and one sync to disk) then serves the whole batch, and
 * each caller gets its own answer. What queued while a batch ran makes the
 * next one: no one waits on purpose.
 *
 * With synchronous=FULL the sync runs beside the next batch: the writer
 * commits with NORMAL (no sync) and hands the batch to the syncer thread,
 * which syncs the log once for every batch handed to it since its last
 * sync and then answers them, while the committer runs the next batch. No
 * caller is answered before its commit is on disk; others may read it a
 * little earlier (docs/operations.md, Durability).
 *
 * When the batch's transaction is lost (busy, I/O, a failed savepoint or
 * commit), the functions whose work it undid and those not run yet are
 * answered PV_EBUSY, so that they run again; the one whose call lost it
 * gets its error, and those that had failed keep their own answers.
 *
 * A store_tx() attempt (sqs_tx_attempt) waits on its thread's semaphore
 * for its answer; store_tx's retries stay with the caller. A
 * store_tx_async() (sqs_tx_submit) waits for nothing: the committer (the
 * syncer, after the sync, when there is one) calls its done, after the
 * commit, outside the writer lock, and runs an attempt
 * answered PV_EBUSY again itself (STORE_TX_TRIES in all). So a thread
 * answering a request is not held while its transaction waits for others
 * and for the disk, and a batch can hold as many transactions as requests
 * arrived, not only as many as there are threads.
 *
 * Ownership: a waiting attempt lives on its caller's stack; the committer
 * (or the syncer) writes its answer, then posts the caller's semaphore,
 * and never touches it afterwards (the semaphore is the thread's own and
 * lives as long as the thread). An async attempt is malloc'd by sqs_tx_submit and freed by
 * the committer (or the syncer) after its done. A batch handed to the
 * syncer is a group malloc'd by the committer and freed by the syncer. The
 * queues, the counters and the two threads' state are guarded by gc_lock
 * (sy_failed and sy_syncs are atomic, sy_fd is set before either thread
 * starts and after both have left, the syncs one at a time under
 * sy_sync_lock); the writer connection by
 * the writer lock (sqs_wlock). */
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

#define SQS_BATCH_MAX 64

struct sqs_gc_req {
	store_tx_fn fn;
	void *ctx;
	int rc;                  /* the answer, written by the committer */
	sem_t *wake;             /* a waiting caller's semaphore, or NULL */
	store_tx_done done;      /* async: called with the answer */
	void *done_ctx;
	int tries;               /* async: attempts made */
	struct sqs_gc_req *next; /* in the queue (gc_lock) */
	char rid[64];            /* the caller's request id, for fn's logs */
};

/* A batch handed to the syncer, malloc'd by the committer and freed by
 * the syncer once answered. */
struct sqs_gc_group {
	struct sqs_gc_group *next; /* in the syncer's queue (gc_lock) */
	size_t n;
	int committed; /* the batch committed: answered after a sync */
	struct sqs_gc_req *b[];
};

/* The store whose committer (or syncer) runs on this thread, or NULL. */
static __thread struct sqs_store *gc_tls_committer;

/* Runs one function of the batch, inside a savepoint when sp. Answers its
 * result (never PV_OK when the transaction was lost); sets *lost when the
 * transaction is gone. */
static int gc_run_one(struct sqs_store *s, struct sqs_gc_req *r, int sp, int *lost)
{
	struct sqs_conn *c = s->wconn;
	int rc, err = PV_OK;

	if (sp && (err = sqs_exec(c, SQS_SLOT_SAVEPOINT, "SAVEPOINT tx", "batch_savepoint"))) {
		*lost = 1;
		return err;
	}
	log_set_request_id(r->rid);
	rc = r->fn(&s->base, r->ctx);
	if (c->tx_lost || !c->in_tx) { /* the backend abandoned it */
		*lost = 1;
		return rc != PV_OK ? rc : c->tx_lost ? c->tx_lost : PV_EBUSY;
	}
	if (!sp)
		return rc;
	if (rc != PV_OK)
		err = sqs_exec(c, SQS_SLOT_ROLLBACK_TO, "ROLLBACK TO tx", "batch_rollback_to");
	if (!err)
		err = sqs_exec(c, SQS_SLOT_RELEASE, "RELEASE tx", "batch_release");
	if (err) {
		*lost = 1;
		return rc != PV_OK ? rc : err;
	}
	return rc;
}

/* One pass of a batch in a transaction of its own. Optimistic (sp 0): no
 * savepoints; at the first function that fails, its answer stands, the
 * transaction is rolled back (which undoes that function's work, and the
 * work of those before it) and the pass answers 1 with *failed set to its
 * index. With savepoints, or when none failed: sets every answer, commits
 * what succeeded, answers 0. */
static int gc_pass(struct sqs_store *s, struct sqs_gc_req **b, size_t n, int sp,
		   size_t *failed, int *committed)
{
	struct sqs_conn *c = s->wconn;
	size_t i, k;
	int err, lost = 0, again = 0;

	c->tx_lost = 0;
	err = sqs_exec(c, SQS_SLOT_BEGIN_IMMEDIATE, "BEGIN IMMEDIATE", "batch_begin");
	if (err) {
		for (k = 0; k < n; k++)
			b[k]->rc = err;
		return 0;
	}
	c->in_tx = 1;
	for (i = 0; i < n && !lost && !again; i++) {
		b[i]->rc = gc_run_one(s, b[i], sp, &lost);
		again = !sp && !lost && b[i]->rc != PV_OK;
	}
	*failed = i - 1;
	if (again) {
		/* rolled back below */
	} else if (lost) { /* what ran is undone: run again, but i - 1 and refusals */
		for (k = 0; k < n; k++)
			if (k >= i || b[k]->rc == PV_OK)
				b[k]->rc = PV_EBUSY;
	} else if ((err = sqs_exec(c, SQS_SLOT_COMMIT, "COMMIT", "batch_commit")) != PV_OK) {
		for (k = 0; k < n; k++)
			if (b[k]->rc == PV_OK)
				b[k]->rc = err;
	} else {
		*committed = 1;
	}
	c->in_tx = 0;
	c->tx_lost = 0;
	if (!sqlite3_get_autocommit(c->db)) /* a failure, lost, a failed COMMIT */
		sqs_exec(c, SQS_SLOT_ROLLBACK, "ROLLBACK", "batch_rollback");
	return again;
}

/* Runs a batch on the writer connection and sets every answer: first
 * without savepoints (they cost a copy of every page changed, and most
 * batches have no failure); after a failure, the others again, each in a
 * savepoint. A function thus runs once per attempt, or twice when one
 * after it in the batch failed. Answers 1 when a transaction committed
 * (with a syncer, not yet on disk: gc_sync). */
static int gc_run_batch(struct sqs_store *s, struct sqs_gc_req **b, size_t n)
{
	struct sqs_gc_req *rest[SQS_BATCH_MAX];
	char rid[sizeof b[0]->rid];
	size_t failed = 0;
	int committed = 0;

	util_strlcpy(rid, log_request_id(), sizeof rid);
	sqs_wlock(s);
	/* run nothing once broken (a batch that committed before the sync
	 * failed is answered PV_ESTORE although done: its outcome is unknown) */
	if (sqs_broken(s)) {
		sqs_wunlock(s);
		for (size_t i = 0; i < n; i++)
			b[i]->rc = PV_ESTORE;
		return 0;
	}
	sqs_writer_bind(s);
	if (gc_pass(s, b, n, 0, &failed, &committed)) {
		memcpy(rest, b, failed * sizeof *b);
		memcpy(rest + failed, b + failed + 1, (n - failed - 1) * sizeof *b);
		if (n > 1)
			gc_pass(s, rest, n - 1, 1, &failed, &committed);
	}
	sqs_writer_unbind(s);
	sqs_wunlock(s);
	log_set_request_id(rid);
	return committed;
}

/* The syncer's sync: fdatasync(2), or a test's (store_sqlite_set_fdatasync). */
static int (*gc_fdatasync)(int fd) = fdatasync;

void store_sqlite_set_fdatasync(int (*fn)(int fd))
{
	__atomic_store_n(&gc_fdatasync, fn ? fn : fdatasync, __ATOMIC_RELEASE);
}

uint64_t store_sqlite_log_syncs(store *base)
{
	struct sqs_store *s = (struct sqs_store *)base;

	return __atomic_load_n(&s->sy_syncs, __ATOMIC_RELAXED);
}

/* Makes what the writer has committed so far durable: a sync of the log's
 * data. After a failure every later call fails too, until the process
 * starts again: the kernel may have dropped the pages it could not
 * write, so a later sync that succeeds would not prove them written, and
 * SQLite's recovery drops the log from the first bad frame on, so every
 * later commit with it. (PostgreSQL stops for the same reason.) The
 * failure is PV_ESTORE, an unknown outcome, as a lost COMMIT's: the batch
 * did commit, and others may have read it, but it may not be on disk. */
static int gc_sync(struct sqs_store *s)
{
	int rc, e, err = PV_OK;
	int (*sync_fn)(int) = __atomic_load_n(&gc_fdatasync, __ATOMIC_ACQUIRE);

	/* one sync at a time: the kernel reports a failed writeback once per
	 * open file, so a second sync at the same moment could answer 0 */
	pthread_mutex_lock(&s->sy_sync_lock);
	if (sqs_broken(s)) {
		err = PV_ESTORE;
		goto out;
	}
	while ((rc = sync_fn(s->sy_fd)) != 0 && errno == EINTR)
		;
	if (rc != 0) {
		e = errno;
		__atomic_store_n(&s->sy_failed, 1, __ATOMIC_RELEASE);
		log_kv(LOG_ERROR, "store: the write-ahead log cannot be synced to disk;"
		       " every write fails from now on, until the server starts again",
		       "error", strerror(e), NULL);
		err = PV_ESTORE;
		goto out;
	}
	__atomic_fetch_add(&s->sy_syncs, 1, __ATOMIC_RELAXED);
out:
	pthread_mutex_unlock(&s->sy_sync_lock);
	return err;
}

int sqs_broken(struct sqs_store *s)
{
	return __atomic_load_n(&s->sy_failed, __ATOMIC_ACQUIRE);
}

/* After the sync of a batch that committed: err (the sync's failure)
 * becomes the answer of each transaction that succeeded. */
static void gc_settle(struct sqs_gc_req **b, size_t n, int err)
{
	for (size_t i = 0; err && i < n; i++)
		if (b[i]->rc == PV_OK)
			b[i]->rc = err;
}

/* A batch answered on the thread that ran it (no syncer took it): synced
 * first when it committed and the writer does not sync itself. */
static void gc_settle_here(struct sqs_store *s, struct sqs_gc_req **b, size_t n, int committed)
{
	if (committed && s->sy_fd >= 0)
		gc_settle(b, n, gc_sync(s));
}

/* The calling thread's semaphore, made on first use, never destroyed
 * (see Ownership above). */
static sem_t *gc_thread_sem(void)
{
	static __thread sem_t sem;
	static __thread int made;

	if (!made) {
		if (sem_init(&sem, 0, 0) != 0)
			return NULL;
		made = 1;
	}
	return &sem;
}

/* Hands a batch's answers out: a waiting caller is posted; an async one
 * gets its done, or is queued again after PV_EBUSY (into *again). */
static void gc_answer(struct sqs_store *s, struct sqs_gc_req **b, size_t n,
		      struct sqs_gc_req **again)
{
	char rid[sizeof b[0]->rid];

	util_strlcpy(rid, log_request_id(), sizeof rid);
	for (size_t i = 0; i < n; i++) {
		struct sqs_gc_req *r = b[i];

		if (r->wake) {
			sem_post(r->wake);
		} else if (r->rc == PV_EBUSY && ++r->tries < STORE_TX_TRIES) {
			r->next = *again;
			*again = r;
		} else {
			if (r->rc == PV_EBUSY)
				log_kv(LOG_WARN, "store transaction given up after retries", NULL);
			log_set_request_id(r->rid);
			r->done(r->done_ctx, r->rc);
			free(r);
		}
	}
	(void)s;
	log_set_request_id(rid);
}

static void gc_append(struct sqs_store *s, struct sqs_gc_req *r)
{
	r->next = NULL;
	if (s->gc_tail)
		s->gc_tail->next = r;
	else
		s->gc_head = r;
	s->gc_tail = r;
}

/* Queues the attempts answered PV_EBUSY again, after what waits: others'
 * turn first. Under gc_lock. */
static void gc_requeue(struct sqs_store *s, struct sqs_gc_req **again)
{
	while (*again) {
		struct sqs_gc_req *r = *again;

		*again = r->next;
		gc_append(s, r);
	}
}

/* Hands a batch that ran to the syncer, which answers it once the log is
 * on disk. Answers 0 when it could not (no memory): then the caller syncs
 * and answers it itself. */
static int gc_to_syncer(struct sqs_store *s, struct sqs_gc_req **b, size_t n, int committed)
{
	struct sqs_gc_group *g = malloc(sizeof *g + n * sizeof *b);

	if (!g)
		return 0;
	g->next = NULL;
	g->n = n;
	g->committed = committed;
	memcpy(g->b, b, n * sizeof *b);
	pthread_mutex_lock(&s->gc_lock);
	if (s->sy_tail)
		s->sy_tail->next = g;
	else
		s->sy_head = g;
	s->sy_tail = g;
	s->sy_reqs += n;
	s->gc_running = 0; /* counted once: now the syncer's */
	pthread_mutex_unlock(&s->gc_lock);
	pthread_cond_signal(&s->sy_cond);
	return 1;
}

/* The committer: batches while there is something queued, sleeps when
 * not, leaves when the store closes, the queue is empty and the syncer
 * has answered all it was given (an answer may queue an attempt again).
 * With a syncer, the next batch runs while the last one's sync waits for
 * the disk. */
static void *gc_main(void *arg)
{
	struct sqs_store *s = arg;
	struct sqs_gc_req *b[SQS_BATCH_MAX], *again = NULL;
	size_t n;
	int committed;

	gc_tls_committer = s;
	pthread_mutex_lock(&s->gc_lock);
	for (;;) {
		while (!s->gc_head && (!s->gc_stopping || s->sy_head || s->sy_busy)) {
			s->gc_idle = 1;
			pthread_cond_wait(&s->gc_cond, &s->gc_lock);
			s->gc_idle = 0;
		}
		if (!s->gc_head)
			break; /* stopping, and nothing left */
		for (n = 0; s->gc_head && n < SQS_BATCH_MAX; n++) {
			b[n] = s->gc_head;
			s->gc_head = b[n]->next;
		}
		if (!s->gc_head)
			s->gc_tail = NULL;
		s->gc_batches++;
		s->gc_txs += n;
		s->gc_running = n;
		pthread_mutex_unlock(&s->gc_lock);
		committed = gc_run_batch(s, b, n);
		if (s->sy_fd < 0 || !gc_to_syncer(s, b, n, committed)) {
			gc_settle_here(s, b, n, committed);
			gc_answer(s, b, n, &again);
		}
		pthread_mutex_lock(&s->gc_lock);
		s->gc_running = 0;
		gc_requeue(s, &again);
	}
	pthread_mutex_unlock(&s->gc_lock);
	return NULL;
}

/* Answers the batches of list g, after one sync when any committed (it
 * covers them all: the log is one file, written in order), and frees
 * them. Each batch stops counting as waiting (sy_reqs) just before its
 * answers go out, never after. */
static void gc_sync_answer(struct sqs_store *s, struct sqs_gc_group *g, struct sqs_gc_req **again)
{
	struct sqs_gc_group *next;
	int err = PV_OK;

	for (next = g; next && !next->committed; next = next->next)
		;
	if (next)
		err = gc_sync(s);
	for (; g; g = next) {
		next = g->next;
		if (g->committed)
			gc_settle(g->b, g->n, err);
		pthread_mutex_lock(&s->gc_lock);
		s->sy_reqs -= g->n;
		pthread_mutex_unlock(&s->gc_lock);
		gc_answer(s, g->b, g->n, again);
		free(g);
	}
}

/* The syncer: takes every batch handed to it since its last sync, syncs
 * once, answers them; leaves when the store closes (after the committer,
 * so that nothing is handed to it any more). */
static void *gc_syncer_main(void *arg)
{
	struct sqs_store *s = arg;
	struct sqs_gc_req *again = NULL;
	struct sqs_gc_group *g;

	gc_tls_committer = s; /* a done that writes runs its transaction here */
	pthread_mutex_lock(&s->gc_lock);
	for (;;) {
		while (!s->sy_head && !s->sy_stopping)
			pthread_cond_wait(&s->sy_cond, &s->gc_lock);
		if (!s->sy_head)
			break;
		g = s->sy_head;
		s->sy_head = s->sy_tail = NULL;
		s->sy_busy = 1; /* the committer stays until what it hands back is queued */
		pthread_mutex_unlock(&s->gc_lock);
		gc_sync_answer(s, g, &again);
		pthread_mutex_lock(&s->gc_lock);
		s->sy_busy = 0;
		gc_requeue(s, &again);
		/* the committer may wait for work, or for these answers to stop */
		pthread_cond_signal(&s->gc_cond);
	}
	pthread_mutex_unlock(&s->gc_lock);
	return NULL;
}

/* The directory holding path, synced so that a file created in it stays
 * there after a power cut. */
static int gc_sync_dir(const char *path)
{
	char dir[STORE_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (!slash)
		util_strlcpy(dir, ".", sizeof dir);
	else if (slash == path)
		util_strlcpy(dir, "/", sizeof dir);
	else if (util_strncpy0(dir, sizeof dir, path, (size_t)(slash - path)) != PV_OK)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

void sqs_sync_start(struct sqs_store *s)
{
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(s->wconn->db, "main"));
	int fd;

	s->sy_fd = -1;
	if (!s->sync_full || !wal || !*wal)
		return;
	/* The log stays this file while the writer is open: in WAL mode every
	 * connection holds a shared lock on the database as long as it is
	 * open, and SQLite deletes or replaces the log only from a connection
	 * that holds the only one. Its directory entry is synced once, as
	 * SQLite's own first sync of a new log would. */
	fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || gc_sync_dir(wal) != 0)
		goto fail;
	s->sy_fd = fd;
	if (pthread_create(&s->sy_thread, NULL, gc_syncer_main, s) != 0)
		goto fail;
	s->sy_started = 1;
	/* Should this fail, the writer syncs each commit itself as well:
	 * slower, as durable. */
	sqlite3_exec(s->wconn->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	return;
fail:
	log_kv(LOG_WARN, "store: the write-ahead log cannot be synced apart;"
	       " each batch waits for its own sync", "path", wal, NULL);
	if (fd >= 0)
		close(fd);
	s->sy_fd = -1;
}

/* Queues r, starting the committer on first use and waking it when it
 * sleeps. */
static int gc_submit(struct sqs_store *s, struct sqs_gc_req *r)
{
	int wake, err = PV_OK;

	util_strlcpy(r->rid, log_request_id(), sizeof r->rid);
	pthread_mutex_lock(&s->gc_lock);
	if (!s->gc_started) {
		if (pthread_create(&s->gc_thread, NULL, gc_main, s) != 0)
			err = PV_ENOMEM;
		else
			s->gc_started = 1;
	}
	if (!err)
		gc_append(s, r);
	wake = !err && s->gc_idle;
	pthread_mutex_unlock(&s->gc_lock);
	if (wake)
		pthread_cond_signal(&s->gc_cond);
	return err;
}

int sqs_tx_attempt(store *base, store_tx_fn fn, void *ctx)
{
	struct sqs_store *s = (struct sqs_store *)base;
	struct sqs_gc_req me, *one = &me;
	int err;

	if (!s || !fn)
		return PV_EINVAL;
	if (sqs_thread_in_tx(s))
		return PV_EINVAL; /* transactions do not nest */
	memset(&me, 0, sizeof me);
	me.fn = fn;
	me.ctx = ctx;
	if (gc_tls_committer == s) { /* a done that writes: it cannot wait for itself */
		util_strlcpy(me.rid, log_request_id(), sizeof me.rid);
		gc_settle_here(s, &one, 1, gc_run_batch(s, &one, 1));
		return me.rc;
	}
	if (!(me.wake = gc_thread_sem()))
		return PV_ENOMEM;
	if ((err = gc_submit(s, &me)) != PV_OK)
		return err;
	while (sem_wait(me.wake) != 0 && errno == EINTR)
		;
	return me.rc;
}

void sqs_tx_submit(store *base, store_tx_fn fn, void *ctx, store_tx_done done, void *done_ctx)
{
	struct sqs_store *s = (struct sqs_store *)base;
	struct sqs_gc_req *r = calloc(1, sizeof *r);
	int err = PV_ENOMEM;

	if (r && sqs_thread_in_tx(s))
		err = PV_EINVAL;
	else if (r) {
		r->fn = fn;
		r->ctx = ctx;
		r->done = done;
		r->done_ctx = done_ctx;
		if ((err = gc_submit(s, r)) == PV_OK)
			return;
	}
	free(r);
	done(done_ctx, err);
}

void sqs_batch_stop(struct sqs_store *s)
{
	char b[24], t[24], y[24];
	int started;

	pthread_mutex_lock(&s->gc_lock);
	s->gc_stopping = 1;
	started = s->gc_started;
	pthread_mutex_unlock(&s->gc_lock);
	pthread_cond_signal(&s->gc_cond);
	if (started)
		pthread_join(s->gc_thread, NULL);
	/* the committer has left: nothing more is handed to the syncer */
	pthread_mutex_lock(&s->gc_lock);
	s->sy_stopping = 1;
	pthread_mutex_unlock(&s->gc_lock);
	pthread_cond_signal(&s->sy_cond);
	if (s->sy_started)
		pthread_join(s->sy_thread, NULL);
	s->sy_started = 0;
	if (s->sy_fd >= 0)
		close(s->sy_fd);
	s->sy_fd = -1;
	if (!started)
		return;
	snprintf(b, sizeof b, "%llu", (unsigned long long)s->gc_batches);
	snprintf(t, sizeof t, "%llu", (unsigned long long)s->gc_txs);
	snprintf(y, sizeof y, "%llu", (unsigned long long)__atomic_load_n(&s->sy_syncs, __ATOMIC_RELAXED));
	log_kv(LOG_INFO, "store: group commit", "batches", b, "transactions", t,
	       "log_syncs", y, NULL);
}

void store_sqlite_batch_stats(store *base, uint64_t *batches, uint64_t *txs)
{
	struct sqs_store *s = (struct sqs_store *)base;

	pthread_mutex_lock(&s->gc_lock);
	*batches = s->gc_batches;
	*txs = s->gc_txs;
	pthread_mutex_unlock(&s->gc_lock);
}

size_t store_sqlite_batch_waiting(store *base)
{
	struct sqs_store *s = (struct sqs_store *)base;
	size_t n = 0;

	pthread_mutex_lock(&s->gc_lock);
	n = s->gc_running + s->sy_reqs;
	for (struct sqs_gc_req *r = s->gc_head; r; r = r->next)
		n++;
	pthread_mutex_unlock(&s->gc_lock);
	return n;
}
