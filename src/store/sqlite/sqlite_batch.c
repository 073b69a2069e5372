/* sqlite_batch.c: group commit of the SQLite backend, behind store_tx().
 *
 * SQLite has one writer at a time, and with synchronous=FULL each commit
 * waits for the disk. So the attempts of store_tx() made by concurrent
 * threads queue here, oldest first, and the oldest leads: it takes the
 * store's writer lock, binds the writer connection as its own, and runs up
 * to SQS_BATCH_MAX queued functions (its own first) one after another in
 * one transaction. A function that fails must be undone alone: the batch
 * runs first without savepoints (they cost a copy of every page changed,
 * and most batches have no failure); at the first failure the transaction
 * is rolled back, which undoes that function (its answer stands), and the
 * others run again with a savepoint around each, so that a later failure
 * is rolled back to its savepoint alone. One COMMIT (one sync to disk)
 * then serves the whole batch; the leader hands each caller its own answer, wakes it, and
 * wakes the next leader (the oldest attempt left), whose batch holds what
 * queued meanwhile. Callers that arrive while a batch runs are what makes
 * the next one large: no one waits on purpose.
 *
 * When the batch's transaction is lost (busy, I/O, a failed savepoint or
 * commit), the functions whose work it undid and those not run yet are
 * answered PV_EBUSY, so store_tx runs them again; the one whose call lost
 * it gets its error, and those that had failed keep their own answers.
 *
 * Ownership: a queued attempt (struct sqs_gc_req) lives on its caller's
 * stack; the caller waits until the leader has set its answer, which the
 * leader writes before it marks the attempt done under gc_lock. The queue
 * and the counters are guarded by gc_lock; the writer connection by wlock.
 *
 * Wake-ups: every queued attempt but one that finds the queue empty is
 * woken exactly once, by a post on its thread's semaphore: "done" by the
 * leader of its batch, or "you lead" by the leader before it. The posts
 * are made after gc_lock is released, so the woken thread does not at
 * once block on the lock its waker holds; and the semaphore is the
 * thread's own, alive as long as the thread, so a post that arrives as
 * the thread returns touches nothing that is gone. */
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

#define SQS_BATCH_MAX 64

struct sqs_gc_req {
	store_tx_fn fn;
	void *ctx;
	int rc;   /* the answer, written by the leader */
	int done; /* the answer is final (gc_lock) */
	sem_t *wake; /* the caller's thread's semaphore */
	struct sqs_gc_req *next; /* in the queue (gc_lock) */
	char rid[64];            /* the caller's request id, for fn's logs */
};

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
		   size_t *failed)
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
 * after it in the batch failed. */
static void gc_run_batch(struct sqs_store *s, struct sqs_gc_req **b, size_t n)
{
	struct sqs_gc_req *rest[SQS_BATCH_MAX];
	char rid[sizeof b[0]->rid];
	size_t failed = 0;

	util_strlcpy(rid, log_request_id(), sizeof rid);
	pthread_mutex_lock(&s->wlock);
	sqs_writer_bind(s);
	if (gc_pass(s, b, n, 0, &failed)) {
		memcpy(rest, b, failed * sizeof *b);
		memcpy(rest + failed, b + failed + 1, (n - failed - 1) * sizeof *b);
		if (n > 1)
			gc_pass(s, rest, n - 1, 1, &failed);
	}
	sqs_writer_unbind(s);
	pthread_mutex_unlock(&s->wlock);
	log_set_request_id(rid);
}

/* The calling thread's semaphore, made on first use, never destroyed
 * (see Wake-ups above). */
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

/* Queues the attempt and waits until it is answered (answers 1) or leads
 * (answers 0 with its batch in b[0 .. *n)). Called and returns with
 * gc_lock held. */
static int gc_wait(struct sqs_store *s, struct sqs_gc_req *me,
		   struct sqs_gc_req **b, size_t *n)
{
	if (s->gc_tail)
		s->gc_tail->next = me;
	else
		s->gc_head = me;
	s->gc_tail = me;
	if (s->gc_head != me) { /* one post will come: done, or lead */
		pthread_mutex_unlock(&s->gc_lock);
		while (sem_wait(me->wake) != 0 && errno == EINTR)
			;
		pthread_mutex_lock(&s->gc_lock);
		if (me->done)
			return 1;
	}
	*n = 0;
	for (struct sqs_gc_req *r = me; r && *n < SQS_BATCH_MAX; r = r->next)
		b[(*n)++] = r;
	s->gc_batches++;
	s->gc_txs += *n;
	return 0;
}

/* After a batch: takes it off the queue and wakes its callers and the
 * next leader. Called with gc_lock held; returns with it released. */
static void gc_finish(struct sqs_store *s, struct sqs_gc_req **b, size_t n)
{
	struct sqs_gc_req *next;

	s->gc_head = next = b[n - 1]->next;
	if (!next)
		s->gc_tail = NULL;
	for (size_t i = 1; i < n; i++)
		b[i]->done = 1;
	pthread_mutex_unlock(&s->gc_lock);
	for (size_t i = 1; i < n; i++)
		sem_post(b[i]->wake);
	if (next)
		sem_post(next->wake);
}

int sqs_tx_attempt(store *base, store_tx_fn fn, void *ctx)
{
	struct sqs_store *s = (struct sqs_store *)base;
	struct sqs_gc_req me, *batch[SQS_BATCH_MAX];
	size_t n = 0;

	if (!s || !fn)
		return PV_EINVAL;
	if (sqs_thread_in_tx(s))
		return PV_EINVAL; /* transactions do not nest */
	memset(&me, 0, sizeof me);
	me.fn = fn;
	me.ctx = ctx;
	if (!(me.wake = gc_thread_sem()))
		return PV_ENOMEM;
	util_strlcpy(me.rid, log_request_id(), sizeof me.rid);
	pthread_mutex_lock(&s->gc_lock);
	if (gc_wait(s, &me, batch, &n)) {
		pthread_mutex_unlock(&s->gc_lock);
		return me.rc;
	}
	pthread_mutex_unlock(&s->gc_lock);
	gc_run_batch(s, batch, n);
	pthread_mutex_lock(&s->gc_lock);
	gc_finish(s, batch, n);
	return me.rc;
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
	for (struct sqs_gc_req *r = s->gc_head; r; r = r->next)
		n++;
	pthread_mutex_unlock(&s->gc_lock);
	return n;
}
