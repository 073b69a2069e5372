/* sqlite_ckpt.c: checkpoints of the SQLite backend, off the group commit.
 *
 * In WAL mode every commit appends to the write-ahead log, and by default
 * SQLite copies the log back into the database (a checkpoint: a write of
 * every page changed since, then a sync of the database file) on the
 * connection that has just committed, once the log passes 1,000 pages.
 * Here that connection is the writer, whose one thread runs every
 * transaction of the process (sqlite_batch.c): each checkpoint held all of
 * them for its writes and its sync (bench/login.sh: logins' p99 about
 * 19 ms with it, 11 ms without). So the writer's own checkpoint is off:
 * its commit hook (sqlite3_wal_hook) wakes a checkpointer thread with a
 * connection of its own, which copies the log in PASSIVE mode, beside the
 * writer and the readers, waiting for neither.
 *
 * A checkpoint copies what the log held when it began, and the log starts
 * again from its beginning only once all of it was copied; under a steady
 * stream of commits the thread does not catch up (commits go on while it
 * copies). Past SQS_CKPT_HARD pages the writer checkpoints itself after
 * its commit, as SQLite's own hook does past 1,000 (refused while the
 * thread's run is under way: then at its next commit), so the log stays
 * bounded whatever the thread's pace, and starts again.
 *
 * The thread is woken when SQS_CKPT_PAGES pages of the log are not copied
 * yet, not at every commit once the log is that long: each run costs a
 * sync of the database file, and a page that many commits changed is
 * copied once per run. (Woken at every commit, under a stream of logins
 * the thread ran after nearly every batch, copying a few dozen pages each
 * time: 1.5 page reads and writes per login, bench/login.sh.) The commits
 * made while it copies are weighed again against what it copied, so that
 * they alone do not make a second run. In the last eighth before the
 * hard limit it is woken at every commit that left pages to copy, so that
 * little is left when the writer checkpoints itself there (those runs are
 * small, as all were before; an eighth of the log's pages). What was
 * copied and the log's length are kept under ck_lock (ck_copied, ck_seen):
 * a log shorter than either started again, and so did one the scrub
 * emptied (sqs_ckpt_emptied). A log started again by another process and
 * already as long as before at the first commit seen here passes for
 * copied that far: its wake-up comes late, bounded by the hard limit.
 * Should the thread not start, the writer keeps SQLite's own automatic
 * checkpoint.
 *
 * Every connection of the store that writes has the same hook: the
 * threads' own connections too (a write outside store_tx), which would
 * otherwise checkpoint past 1,000 pages while holding the process's writer
 * lock. The scrub of an erasure (a TRUNCATE checkpoint, sqs_scrub) holds
 * the thread off while it runs (sqs_ckpt_hold): SQLite refuses a second
 * checkpoint at once rather than waiting for the first.
 *
 * Ownership: the thread and its connection belong to the store, started by
 * sqs_ckpt_start once the writer is open, stopped by sqs_ckpt_stop once no
 * transaction runs any more and before the writer closes. The flags and
 * the count are under ck_lock. */
#include "store/sqlite/sqlite_internal.h"

#include <pthread.h>
#include <stdio.h>

#include "util/log.h"

/* Log pages not copied yet that wake the thread (SQLite's own default is
 * 1,000 pages of log: a page written many times between two checkpoints
 * is copied once, so a longer log costs fewer writes; logins 11% faster at
 * 10,000) */
#define SQS_CKPT_PAGES 10000
#define SQS_CKPT_HARD 40000 /* the writer checkpoints itself */

/* Records what a checkpoint left: copied of the log's pages copied back
 * (SQLite's count, since the log began; the log's length is the hooks' to
 * record, as only they see it after each commit). A result that comes
 * after the log started again is larger than the log, and the next hook
 * counts it as nothing copied. Under ck_lock. */
static void ck_note(struct sqs_store *s, int copied)
{
	if (copied >= 0)
		s->ck_copied = copied;
}

int sqs_ckpt_due(int pages, int wake, int hard, int *copied, int *seen)
{
	/* shorter than it was, or than what was copied: the log started
	 * again from its beginning, and nothing of it is copied */
	if (pages < *seen || pages < *copied)
		*copied = 0;
	*seen = pages;
	return pages - *copied >= wake ||
	       (wake < hard && pages >= hard - hard / 8 && pages > *copied);
}

/* The commit hook of the writer connection (on the committer's thread)
 * and of each thread's own connection, after each of their commits:
 * pages is the length of the log in pages (SQLite's frames: since the log
 * began, copied or not, whoever wrote them). */
static int ck_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sqs_store *s = arg;
	int hard = __atomic_load_n(&s->ck_hard, __ATOMIC_RELAXED);
	int wake = __atomic_load_n(&s->ck_wake, __ATOMIC_RELAXED);
	int due, rc = SQLITE_OK, copied = -1;

	if (sqs_broken(s)) /* no checkpoint of a log the kernel may have lost */
		return SQLITE_OK;
	/* Past the hard limit the writer checkpoints itself. Every commit, so
	 * this hook, holds the process's writer lock, which the scrub takes
	 * too: the two never overlap. (Not ck_run: the scrub takes it before
	 * the writer lock.) Its failures are SQLite's default hook's:
	 * ignored. */
	if (pages >= hard)
		rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, &copied);
	pthread_mutex_lock(&s->ck_lock);
	if (pages < hard) {
		due = sqs_ckpt_due(pages, wake, hard, &s->ck_copied, &s->ck_seen);
	} else {
		s->ck_seen = pages;
		if (rc == SQLITE_OK)
			ck_note(s, copied);
		/* refused while the thread copies: it runs once more after,
		 * in case no commit comes to try again */
		due = rc == SQLITE_BUSY;
	}
	if (due)
		s->ck_due = 1;
	pthread_mutex_unlock(&s->ck_lock);
	if (due)
		pthread_cond_signal(&s->ck_cond);
	return SQLITE_OK;
}

static void *ck_main(void *arg)
{
	struct sqs_store *s = arg;
	/* the log's length and its frames copied, after the last run: a run
	 * that changes neither copied nothing new */
	int rc, log = -1, copied = -1, last_log = -1, last_copied = -1;

	pthread_mutex_lock(&s->ck_lock);
	for (;;) {
		while (!s->ck_due && !s->ck_stopping)
			pthread_cond_wait(&s->ck_cond, &s->ck_lock);
		if (s->ck_stopping)
			break;
		s->ck_due = 0;
		pthread_mutex_unlock(&s->ck_lock);
		pthread_mutex_lock(&s->ck_run);
		rc = sqs_broken(s) ? SQLITE_BUSY /* as in ck_hook */
				   : sqlite3_wal_checkpoint_v2(s->ckconn->db, NULL,
							       SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
		pthread_mutex_unlock(&s->ck_run);
		/* busy: another checkpoint runs (the writer's, past the hard
		 * limit); anything else is said, and tried again at the next
		 * commit past the limit */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_kv(LOG_WARN, "store: checkpoint failed", "error",
			       sqlite3_errmsg(s->ckconn->db), NULL);
		pthread_mutex_lock(&s->ck_lock);
		if (rc == SQLITE_OK)
			ck_note(s, copied);
		/* the commits made while it copied were weighed against what
		 * was copied before it: weighed again against what is now, so
		 * that they alone do not make another run */
		if (s->ck_due) {
			int c = s->ck_copied, seen = s->ck_seen;

			/* copied past the length seen: frames of a commit
			 * whose hook has not run yet, which decides then */
			s->ck_due = seen >= c &&
				    sqs_ckpt_due(seen, __atomic_load_n(&s->ck_wake, __ATOMIC_RELAXED),
						 __atomic_load_n(&s->ck_hard, __ATOMIC_RELAXED), &c,
						 &seen);
		}
		if (rc == SQLITE_OK && copied > 0 && (log != last_log || copied != last_copied))
			s->ck_runs++;
		last_log = log;
		last_copied = copied;
	}
	pthread_mutex_unlock(&s->ck_lock);
	return NULL;
}

void sqs_ckpt_start(struct sqs_store *s)
{
	pthread_mutex_init(&s->ck_lock, NULL);
	pthread_cond_init(&s->ck_cond, NULL);
	pthread_mutex_init(&s->ck_run, NULL);
	s->ck_wake = SQS_CKPT_PAGES;
	s->ck_hard = SQS_CKPT_HARD;
	s->ck_inited = 1;
	if (sqs_conn_open(s->path, s->sync_full, &s->ckconn) != PV_OK)
		goto fallback;
	if (pthread_create(&s->ck_thread, NULL, ck_main, s) != 0) {
		sqs_conn_close(s->ckconn);
		s->ckconn = NULL;
		goto fallback;
	}
	s->ck_started = 1;
	sqlite3_wal_hook(s->wconn->db, ck_hook, s); /* replaces the automatic one */
	return;
fallback:
	log_kv(LOG_WARN, "store: no checkpoint thread; the writer checkpoints", NULL);
}

void sqs_ckpt_stop(struct sqs_store *s)
{
	if (!s->ck_inited)
		return;
	if (s->ck_started) {
		pthread_mutex_lock(&s->ck_lock);
		s->ck_stopping = 1;
		pthread_mutex_unlock(&s->ck_lock);
		pthread_cond_signal(&s->ck_cond);
		pthread_join(s->ck_thread, NULL);
		s->ck_started = 0;
		sqs_conn_close(s->ckconn);
		s->ckconn = NULL;
	}
	pthread_cond_destroy(&s->ck_cond);
	pthread_mutex_destroy(&s->ck_run);
	pthread_mutex_destroy(&s->ck_lock);
	s->ck_inited = 0;
}

void sqs_ckpt_attach(struct sqs_store *s, struct sqs_conn *c)
{
	if (s->ck_started)
		sqlite3_wal_hook(c->db, ck_hook, s);
}

void sqs_ckpt_emptied(struct sqs_store *s)
{
	if (!s->ck_inited)
		return;
	pthread_mutex_lock(&s->ck_lock);
	s->ck_copied = 0;
	s->ck_seen = 0;
	pthread_mutex_unlock(&s->ck_lock);
}

void sqs_ckpt_hold(struct sqs_store *s)
{
	if (s->ck_inited)
		pthread_mutex_lock(&s->ck_run);
}

void sqs_ckpt_release(struct sqs_store *s)
{
	if (s->ck_inited)
		pthread_mutex_unlock(&s->ck_run);
}

/* Runs of the thread that copied pages of the log (one that found it
 * copied already, or failed, is not counted). */
uint64_t store_sqlite_checkpoints(store *base)
{
	struct sqs_store *s = (struct sqs_store *)base;
	uint64_t n = 0;

	if (!s->ck_inited)
		return 0;
	pthread_mutex_lock(&s->ck_lock);
	n = s->ck_runs;
	pthread_mutex_unlock(&s->ck_lock);
	return n;
}

void store_sqlite_checkpoint_limits(store *base, int wake, int hard)
{
	struct sqs_store *s = (struct sqs_store *)base;

	__atomic_store_n(&s->ck_wake, wake, __ATOMIC_RELAXED);
	__atomic_store_n(&s->ck_hard, hard, __ATOMIC_RELAXED);
}
