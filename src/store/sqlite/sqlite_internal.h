/* sqlite_internal.h: shared by the files of the SQLite backend and by
 * nothing else. sqlite_conn.c owns connections (one per thread and store,
 * and each store's writer connection), transactions, error mapping, the
 * statement cache and migrations; sqlite_batch.c runs store_tx() as group
 * commit on the writer connection; sqlite_ops.c holds the SQL of every
 * store operation; sqlite_schema.c the migrations; sqlite_walbuf.c the
 * VFS shim that buffers the log's writes. */
#ifndef PV_SQLITE_INTERNAL_H
#define PV_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store/store.h"

/* Statement cache slots per connection. Slots below SQS_SLOT_FIRST_OP are
 * used by sqlite_conn.c and sqlite_batch.c, the rest by sqlite_ops.c. */
enum {
	SQS_SLOT_BEGIN,
	SQS_SLOT_BEGIN_IMMEDIATE,
	SQS_SLOT_COMMIT,
	SQS_SLOT_ROLLBACK,
	SQS_SLOT_USER_VERSION,
	SQS_SLOT_SAVEPOINT,
	SQS_SLOT_RELEASE,
	SQS_SLOT_ROLLBACK_TO,
	SQS_SLOT_CHECKPOINT,
	SQS_SLOT_FIRST_OP
};
#define SQS_SLOTS 160

/* One connection, used by one thread at a time (opened with
 * SQLITE_OPEN_NOMUTEX): a thread's own connection, closed by store_close()
 * or when its thread exits; or a store's writer connection, used only
 * under the store's writer lock and closed by store_close(). */
struct sqs_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQS_SLOTS]; /* prepared once, reset after each use */
	int in_tx;   /* the caller's tx_begin() is open on this connection */
	int tx_lost; /* pv_err that ended the caller's transaction, or 0 */
	/* This connection holds its store's writer lock: for a transaction
	 * (from BEGIN IMMEDIATE to its end), or for one autocommit write
	 * statement (from its first step to its reset). */
	int wl_tx, wl_stmt;
	struct sqs_store *owner;
	struct sqs_conn *next; /* in sqs_store.conns, under the registry lock */
};

struct sqs_store {
	store base; /* first: this is the store.h handle */
	uint64_t serial; /* unique for the life of the process, never reused */
	char *path;
	struct sqs_conn *conns;  /* every thread's connection (registry lock) */
	struct sqs_store *next;  /* in the list of open stores (registry lock) */
	/* Writers of this process take turns here before SQLite's own lock:
	 * a thread waiting for SQLite's write lock would sleep in the busy
	 * handler (milliseconds each time); waiting here wakes at once. Other
	 * processes are still kept out by SQLite (busy_timeout). The turns
	 * are first come, first served (a ticket lock: wl_next is the next
	 * ticket, wl_serving the one served; under wl_mu): a thread writing
	 * in a loop (the sweeper deleting 1,000 rows at a time) takes its
	 * turn behind the group commit instead of taking the lock back the
	 * moment it lets go. */
	pthread_mutex_t wl_mu;
	pthread_cond_t wl_turn;
	uint64_t wl_next, wl_serving;
	/* The writer connection: the batches of store_tx() run on it (one
	 * connection whose page cache stays warm, since nothing else in this
	 * process writes as much), on the thread leading the batch, under
	 * wlock. */
	struct sqs_conn *wconn;
	int sync_full; /* every commit on disk before its answer (else NORMAL) */
	/* Group commit (sqlite_batch.c): the transactions waiting, oldest
	 * first, and the committer thread that runs them; all under gc_lock. */
	pthread_mutex_t gc_lock;
	pthread_cond_t gc_cond; /* the committer sleeps here */
	struct sqs_gc_req *gc_head, *gc_tail;
	size_t gc_running; /* in the batch that runs now */
	int gc_started, gc_idle, gc_stopping;
	pthread_t gc_thread;
	uint64_t gc_batches, gc_txs;
	/* The syncer (sqlite_batch.c), when sync_full: the writer commits
	 * without waiting for the disk (synchronous=NORMAL) and hands each
	 * batch here; this thread syncs the log (sy_fd: the database's -wal
	 * file, opened by the store) once for every batch that committed
	 * meanwhile, then answers them. The queue, the counts and the flags
	 * under gc_lock; sy_failed and sy_syncs atomic; the syncs themselves
	 * one at a time under sy_sync_lock. sy_fd is -1 without a syncer:
	 * with NORMAL asked for (nothing syncs at commit), or when no log file
	 * or thread could be had (the writer syncs each commit itself). */
	pthread_cond_t sy_cond;
	pthread_mutex_t sy_sync_lock;
	struct sqs_gc_group *sy_head, *sy_tail;
	size_t sy_reqs; /* transactions handed to the syncer, not answered */
	int sy_busy;    /* the syncer answers batches it took from the queue */
	int sy_fd, sy_started, sy_stopping;
	int sy_failed; /* a sync failed: every write fails (sqs_broken) */
	pthread_t sy_thread;
	uint64_t sy_syncs;
	/* The checkpointer (sqlite_ckpt.c): its connection and thread; the
	 * flags and the count under ck_lock. */
	struct sqs_conn *ckconn;
	pthread_mutex_t ck_lock;
	pthread_mutex_t ck_run; /* held while the thread checkpoints (sqs_ckpt_hold) */
	pthread_cond_t ck_cond;
	pthread_t ck_thread;
	int ck_inited, ck_started, ck_due, ck_stopping;
	int ck_wake, ck_hard; /* log pages: wake the thread; checkpoint on the writer */
	int ck_copied, ck_seen; /* the log's pages copied back; its length at the last hook */
	uint64_t ck_runs;
};

extern const struct store_ops sqs_ops;

/* A connection of its own to the database at path (WAL, the store's
 * pragmas), closed with sqs_conn_close. */
int sqs_conn_open(const char *path, int sync_full, struct sqs_conn **out);
void sqs_conn_close(struct sqs_conn *c);

/* The name of the VFS every connection opens its database with
 * (sqlite_walbuf.c: the log's frames written in few system calls),
 * registered at the first call; NULL (SQLite's default VFS) if it could
 * not be. */
const char *sqs_walbuf_vfs(void);
/* sqlite3_file_control(db, "main", SQS_WALBUF_FCNTL_PENDING, &n), with n
 * an sqlite3_int64: the bytes that the connection's log holds in its
 * buffer (-1: no buffered log). For tests. */
#define SQS_WALBUF_FCNTL_PENDING 0x70766201

/* The checkpointer (sqlite_ckpt.c): started once the writer is open (on
 * failure the writer keeps SQLite's automatic checkpoint), stopped once no
 * transaction runs any more, before the writer closes. */
void sqs_ckpt_start(struct sqs_store *s);
void sqs_ckpt_stop(struct sqs_store *s);
/* Gives connection c of s the checkpointer's commit hook (when it runs). */
void sqs_ckpt_attach(struct sqs_store *s, struct sqs_conn *c);
/* Keeps the thread from checkpointing (waiting for one that runs) until
 * sqs_ckpt_release: for a checkpoint of another mode. */
void sqs_ckpt_hold(struct sqs_store *s);
void sqs_ckpt_release(struct sqs_store *s);
/* The log was emptied (a TRUNCATE checkpoint that finished): nothing of
 * it is copied, and its length starts from 0. */
void sqs_ckpt_emptied(struct sqs_store *s);
/* The commit hook's rule, alone for its tests: 1 when the thread should
 * run after a commit that left the log pages long, with wake and hard the
 * limits (ck_wake, ck_hard), *copied the pages copied back by the last
 * checkpoint and *seen the length the last commit's hook saw; sets
 * *copied to 0 when the log has started again, and *seen to pages. */
int sqs_ckpt_due(int pages, int wake, int hard, int *copied, int *seen);

/* Migrations: sqs_migrations[i] brings the schema from user_version i to
 * i + 1. Each is a script of several statements run in one transaction. */
extern const char *const sqs_migrations[];
extern const int sqs_migrations_n;

/* The calling thread's connection to s, opened on first use. Answers the
 * error that ended the caller's transaction (tx_lost) until the caller
 * ends it with tx_commit or tx_rollback. */
int sqs_enter(store *s, struct sqs_conn **out);

/* store_ops.backup (sqlite_conn.c). */
int sqs_backup(store *s, const char *path);
/* The blobs, linked or copied into dst_dir (sqlite_blob.c): the part of
 * sqs_backup that copies "<database>.blobs". */
int sqs_blob_backup(store *s, const char *dst_dir);

/* The cached statement of slot, prepared from sql on first use. When the
 * cached one is still running (an iteration whose callback calls the store
 * again), a fresh statement is prepared and sqs_release finalizes it. */
int sqs_prepare(struct sqs_conn *c, int slot, const char *sql,
		sqlite3_stmt **out);
/* Resets and clears the bindings of a cached statement (accepts NULL). */
void sqs_release(struct sqs_conn *c, int slot, sqlite3_stmt *st);

/* Maps an SQLite result code to a pv_err: constraint -> PV_ECONFLICT
 * (foreign key -> PV_ENOTFOUND), busy/locked -> PV_EBUSY, out of memory ->
 * PV_ENOMEM, anything else -> PV_ESTORE with an error log line naming op
 * and SQLite's message (never a parameter value). Call it right after the
 * failing call, before any other call on c->db. */
int sqs_error(struct sqs_conn *c, int rc, const char *op);

/* A write made of several statements: opens BEGIN IMMEDIATE unless the
 * caller's transaction is open (*own tells which); sqs_write_end commits
 * (err == PV_OK) or rolls back what it opened and returns the final error. */
int sqs_write_begin(struct sqs_conn *c, int *own);
/* Before the first step of a statement: takes the writer lock for an
 * autocommit write (released by sqs_release); PV_ESTORE instead once the
 * store is broken (sqs_broken). */
int sqs_stmt_lock(struct sqs_conn *c, sqlite3_stmt *st);
int sqs_write_end(struct sqs_conn *c, int own, int err);
/* A consistent snapshot for reads made of several statements. */
int sqs_read_begin(struct sqs_conn *c, int *own);
void sqs_read_end(struct sqs_conn *c, int own);

/* The store's writer lock (see sqs_store): first come, first served. */
void sqs_wlock(struct sqs_store *s);
void sqs_wunlock(struct sqs_store *s);

/* Runs a statement without parameters or rows of interest on c. */
int sqs_exec(struct sqs_conn *c, int slot, const char *sql, const char *op);

/* The writer connection of s becomes the calling thread's connection to s
 * (every store call of the thread uses it) until sqs_writer_unbind().
 * The caller holds the writer lock (sqs_wlock). */
void sqs_writer_bind(struct sqs_store *s);
void sqs_writer_unbind(struct sqs_store *s);
/* 1 when the calling thread has a transaction open on s (its own, or a
 * batch it leads). Opens no connection. */
int sqs_thread_in_tx(struct sqs_store *s);

/* store_ops entries implemented in sqlite_conn.c */
void sqs_close(store *s);
int sqs_migrate(store *s);
int sqs_ping(store *s);
int sqs_tx_begin(store *s);
int sqs_tx_commit(store *s);
int sqs_tx_rollback(store *s);
int sqs_scrub(store *s);

/* store_ops entries implemented in sqlite_batch.c: one attempt of
 * store_tx(), and store_tx_async(), batched with those of other threads
 * by the store's committer thread. */
int sqs_tx_attempt(store *s, store_tx_fn fn, void *ctx);
void sqs_tx_submit(store *s, store_tx_fn fn, void *ctx, store_tx_done done, void *done_ctx);
/* Stops the committer once the queue is empty, then the syncer
 * (store_close). */
void sqs_batch_stop(struct sqs_store *s);
/* 1 once a sync of the log has failed: every write of the store fails
 * from then on (PV_ESTORE), and so does store_ping. */
int sqs_broken(struct sqs_store *s);
/* Starts the syncer of a store opened with sync_full, once its writer
 * connection is open: opens the log file and turns the writer's own sync
 * at commit off. On any failure the writer keeps syncing itself. */
void sqs_sync_start(struct sqs_store *s);

/* store_ops entries implemented in sqlite_blob.c */
int sqs_blob_put(store *s, const char *id, const char *path);
int sqs_blob_get(store *s, const char *id, const char *path);
int sqs_blob_delete(store *s, const char *id);

#endif
