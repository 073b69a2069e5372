/* sqlite_conn.c: connections, transactions, errors and migrations of the
 * SQLite backend.
 *
 * A store handle is shared by all threads, an SQLite connection is not: each
 * thread gets its own connection to each store it uses, opened lazily with
 * SQLITE_OPEN_NOMUTEX. A thread finds its connection through a small
 * thread-local table keyed by the store's serial number (serials are never
 * reused, so an entry of a closed store can never match a new one). Every
 * connection is also linked into its store, so store_close() closes them
 * all; a thread that exits closes its own connections first. Both paths run
 * under one registry lock, which guards the list of open stores and each
 * store's list of connections; the lock is never held while a connection is
 * in use.
 *
 * Each store also has one writer connection, on which the batches of
 * store_tx() run (sqlite_batch.c): the store's committer thread holds the
 * store's writer lock and binds the writer connection as its own for a batch
 * (tls_writer), so the store operations called by the batch's functions
 * use it without knowing.
 *
 * Durability: by default (sync_full) a commit is on disk before it is
 * answered: the threads' own connections run PRAGMA synchronous=FULL (in
 * WAL mode: the WAL is synced at every commit); the writer connection runs
 * NORMAL and the syncer thread syncs the WAL after its batches, before
 * their answers (sqlite_batch.c). PRAVESH_SQLITE_SYNC=normal
 * (store_options.sqlite_sync) trades that for speed: a commit survives a
 * crash of the process but not a power cut (the WAL is synced only at
 * checkpoints). Group commit makes one sync serve a whole batch. */
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite/sqlite_store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define SQS_BUSY_MS 5000
#define SQS_TLS_SLOTS 8 /* stores one thread may use at once */

struct sqs_tls {
	struct {
		uint64_t serial; /* 0: free */
		struct sqs_conn *conn;
	} slot[SQS_TLS_SLOTS];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sqs_store *reg_live; /* open stores */
static uint64_t reg_serial;        /* last serial given */
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static int tls_key_ok;
static __thread struct sqs_tls *tls_cell;
/* The store whose writer connection this thread drives now, or NULL. */
static __thread struct sqs_store *tls_writer;

int sqs_error(struct sqs_conn *c, int rc, const char *op)
{
	int err;

	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		err = rc == SQLITE_CONSTRAINT_FOREIGNKEY ? PV_ENOTFOUND
							  : PV_ECONFLICT;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		err = PV_EBUSY;
		log_kv(LOG_WARN, "store busy", "op", op, NULL);
		break;
	case SQLITE_NOMEM:
		err = PV_ENOMEM;
		break;
	case SQLITE_FULL:
		err = PV_ENOSPACE;
		log_kv(LOG_ERROR, "store: the disk is full", "op", op, NULL);
		break;
	default:
		err = PV_ESTORE;
		log_kv(LOG_ERROR, "store operation failed", "op", op, "error",
		       sqlite3_errmsg(c->db), NULL);
		break;
	}
	/* Some errors (busy on a lock upgrade, I/O, out of memory) make SQLite
	 * roll the whole transaction back: remember it, so that the caller's
	 * later calls do not silently run outside the transaction. */
	if (c->in_tx && sqlite3_get_autocommit(c->db)) {
		c->in_tx = 0;
		c->tx_lost = err;
		log_kv(LOG_WARN, "store transaction rolled back", "op", op,
		       NULL);
	}
	return err;
}

int sqs_prepare(struct sqs_conn *c, int slot, const char *sql,
		sqlite3_stmt **out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	if (slot < 0 || slot >= SQS_SLOTS)
		return PV_EINVAL;
	if (c->stmt[slot] && !sqlite3_stmt_busy(c->stmt[slot])) {
		*out = c->stmt[slot];
		return PV_OK;
	}
	rc = sqlite3_prepare_v3(c->db, sql, -1,
				c->stmt[slot] ? 0 : SQLITE_PREPARE_PERSISTENT,
				&st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		if ((rc & 0xff) != SQLITE_ERROR)
			return sqs_error(c, rc, "prepare");
		/* Usually a schema older than the program: say which statement
		 * (constant text, no values). */
		log_kv(LOG_ERROR, "store statement failed to prepare (is the "
				  "store migrated?)",
		       "error", sqlite3_errmsg(c->db), "sql", sql, NULL);
		return PV_ESTORE;
	}
	if (!c->stmt[slot])
		c->stmt[slot] = st;
	*out = st;
	return PV_OK;
}

void sqs_wlock(struct sqs_store *s)
{
	uint64_t t;

	pthread_mutex_lock(&s->wl_mu);
	t = s->wl_next++;
	while (s->wl_serving != t)
		pthread_cond_wait(&s->wl_turn, &s->wl_mu);
	pthread_mutex_unlock(&s->wl_mu);
}

void sqs_wunlock(struct sqs_store *s)
{
	pthread_mutex_lock(&s->wl_mu);
	s->wl_serving++;
	pthread_mutex_unlock(&s->wl_mu);
	pthread_cond_broadcast(&s->wl_turn);
}

static void wl_take(struct sqs_conn *c, int *flag)
{
	sqs_wlock(c->owner);
	*flag = 1;
}

static void wl_drop(struct sqs_conn *c, int *flag)
{
	if (!*flag)
		return;
	*flag = 0;
	sqs_wunlock(c->owner);
}

/* wl_take for a write: PV_ESTORE, and the lock not held, once the store
 * is broken (a sync that failed while this thread waited for the lock is
 * seen too). */
static int wl_take_write(struct sqs_conn *c, int *flag)
{
	if (sqs_broken(c->owner))
		return PV_ESTORE;
	wl_take(c, flag);
	if (sqs_broken(c->owner)) {
		wl_drop(c, flag);
		return PV_ESTORE;
	}
	return PV_OK;
}

int sqs_stmt_lock(struct sqs_conn *c, sqlite3_stmt *st)
{
	if (c->in_tx || c->wl_tx || c->wl_stmt || sqlite3_stmt_readonly(st))
		return PV_OK;
	return wl_take_write(c, &c->wl_stmt);
}

void sqs_release(struct sqs_conn *c, int slot, sqlite3_stmt *st)
{
	if (!st)
		return;
	if (slot >= 0 && slot < SQS_SLOTS && c->stmt[slot] == st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
	wl_drop(c, &c->wl_stmt);
}

int sqs_exec(struct sqs_conn *c, int slot, const char *sql,
		     const char *op)
{
	sqlite3_stmt *st;
	int err, rc;

	err = sqs_prepare(c, slot, sql, &st);
	if (err)
		return err;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sqs_error(c, rc, op);
	sqs_release(c, slot, st);
	return err;
}

void sqs_conn_close(struct sqs_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < SQS_SLOTS; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close_v2(c->db); /* rolls back an open transaction */
	free(c);
}

static int conn_pragma_wal(void *ctx, int ncol, char **val, char **name)
{
	(void)name;
	if (ncol > 0 && val[0])
		*(int *)ctx = strcmp(val[0], "wal") == 0;
	return 0;
}

/* Explains why a database file cannot be opened. The path is not secret. */
static void conn_log_cantopen(const char *path, const char *msg)
{
	char dir[STORE_PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat sb;

	if (slash && slash != path &&
	    (size_t)(slash - path) < sizeof dir) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (stat(dir, &sb) != 0 && errno == ENOENT) {
			log_kv(LOG_ERROR,
			       "cannot open the database: its directory does "
			       "not exist",
			       "path", path, "directory", dir, NULL);
			return;
		}
		if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
			log_kv(LOG_ERROR,
			       "cannot open the database: not a directory",
			       "path", path, "directory", dir, NULL);
			return;
		}
	}
	log_kv(LOG_ERROR, "cannot open the database", "path", path, "error",
	       msg, NULL);
}

int sqs_conn_open(const char *path, int sync_full, struct sqs_conn **out)
{
	struct sqs_conn *c;
	int rc, wal = 0, err = PV_OK;

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return PV_ENOMEM;
	rc = sqlite3_open_v2(path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     sqs_walbuf_vfs());
	if (rc != SQLITE_OK) {
		if (!c->db) {
			err = PV_ENOMEM;
			goto out;
		}
		conn_log_cantopen(path, sqlite3_errmsg(c->db));
		err = (rc & 0xff) == SQLITE_NOMEM ? PV_ENOMEM : PV_EIO;
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, SQS_BUSY_MS);
	rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", conn_pragma_wal,
			  &wal, NULL);
	if (rc != SQLITE_OK) {
		err = sqs_error(c, rc, "open");
		goto out;
	}
	if (!wal)
		log_kv(LOG_WARN, "store: WAL journal mode not available",
		       "path", path, NULL);
	rc = sqlite3_exec(c->db,
			  sync_full ? "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"
				      /* deleted and overwritten values are
				       * overwritten with zeros in the file, so
				       * that an erased person's data cannot be
				       * read back from it (scrub() then empties
				       * the write-ahead log) */
				      " PRAGMA secure_delete=ON;"
				      /* a 16 MB page cache per connection; no
				       * mmap, so that memory use stays what the
				       * process itself holds */
				      " PRAGMA cache_size=-16000"
				    : "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;"
				      " PRAGMA secure_delete=ON;"
				      " PRAGMA cache_size=-16000",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = sqs_error(c, rc, "open");
		goto out;
	}
out:
	if (err) {
		sqs_conn_close(c);
		return err;
	}
	*out = c;
	return PV_OK;
}

/* Thread exit: close this thread's connections to stores still open. The
 * connections of closed stores were closed by store_close(). */
static void tls_release(void *p)
{
	struct sqs_tls *cell = p;

	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < SQS_TLS_SLOTS; i++) {
		if (!cell->slot[i].serial)
			continue;
		for (struct sqs_store *s = reg_live; s; s = s->next) {
			if (s->serial != cell->slot[i].serial)
				continue;
			for (struct sqs_conn **pp = &s->conns; *pp;
			     pp = &(*pp)->next) {
				if (*pp == cell->slot[i].conn) {
					*pp = cell->slot[i].conn->next;
					sqs_conn_close(cell->slot[i].conn);
					break;
				}
			}
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	if (tls_cell == cell)
		tls_cell = NULL;
	free(cell);
}

static void tls_init(void)
{
	tls_key_ok = pthread_key_create(&tls_key, tls_release) == 0;
}

static int reg_is_live(uint64_t serial)
{
	for (struct sqs_store *s = reg_live; s; s = s->next)
		if (s->serial == serial)
			return 1;
	return 0;
}

/* Slow path of conn_of: open this thread's connection to s. */
static int conn_attach(struct sqs_store *s, struct sqs_conn **out)
{
	struct sqs_conn *c;
	int err, slot = -1;

	pthread_once(&tls_once, tls_init);
	if (!tls_key_ok)
		return PV_ESTORE;
	if (!tls_cell) {
		struct sqs_tls *cell = calloc(1, sizeof *cell);

		if (!cell)
			return PV_ENOMEM;
		if (pthread_setspecific(tls_key, cell) != 0) {
			free(cell);
			return PV_ENOMEM;
		}
		tls_cell = cell;
	}
	err = sqs_conn_open(s->path, s->sync_full, &c);
	if (err)
		return err;
	c->owner = s;
	sqs_ckpt_attach(s, c);
	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < SQS_TLS_SLOTS && slot < 0; i++)
		if (!tls_cell->slot[i].serial)
			slot = i;
	for (int i = 0; i < SQS_TLS_SLOTS && slot < 0; i++)
		if (!reg_is_live(tls_cell->slot[i].serial))
			slot = i; /* its store was closed with its conns */
	if (slot >= 0) {
		tls_cell->slot[slot].serial = s->serial;
		tls_cell->slot[slot].conn = c;
		c->next = s->conns;
		s->conns = c;
	}
	pthread_mutex_unlock(&reg_lock);
	if (slot < 0) {
		sqs_conn_close(c);
		log_kv(LOG_ERROR, "store: too many stores open in one thread",
		       NULL);
		return PV_ELIMIT;
	}
	*out = c;
	return PV_OK;
}

static int conn_of(store *base, struct sqs_conn **out)
{
	struct sqs_store *s = (struct sqs_store *)base;
	struct sqs_tls *cell = tls_cell;

	*out = NULL;
	if (!s)
		return PV_EINVAL;
	if (tls_writer == s) {
		*out = s->wconn;
		return PV_OK;
	}
	if (cell) {
		for (int i = 0; i < SQS_TLS_SLOTS; i++) {
			if (cell->slot[i].serial == s->serial) {
				*out = cell->slot[i].conn;
				return PV_OK;
			}
		}
	}
	return conn_attach(s, out);
}

int sqs_enter(store *s, struct sqs_conn **out)
{
	int err = conn_of(s, out);

	if (err)
		return err;
	if ((*out)->tx_lost)
		return (*out)->tx_lost;
	return PV_OK;
}

void sqs_writer_bind(struct sqs_store *s)
{
	tls_writer = s;
}

void sqs_writer_unbind(struct sqs_store *s)
{
	if (tls_writer == s)
		tls_writer = NULL;
}

int sqs_thread_in_tx(struct sqs_store *s)
{
	struct sqs_tls *cell = tls_cell;

	if (tls_writer == s)
		return 1;
	for (int i = 0; cell && i < SQS_TLS_SLOTS; i++)
		if (cell->slot[i].serial == s->serial)
			return cell->slot[i].conn->in_tx;
	return 0;
}

int sqs_write_begin(struct sqs_conn *c, int *own)
{
	*own = 0;
	if (c->in_tx)
		return PV_OK;
	int err = wl_take_write(c, &c->wl_tx);

	if (err)
		return err;
	err = sqs_exec(c, SQS_SLOT_BEGIN_IMMEDIATE, "BEGIN IMMEDIATE", "begin");
	if (!err)
		*own = 1;
	else
		wl_drop(c, &c->wl_tx);
	return err;
}

int sqs_write_end(struct sqs_conn *c, int own, int err)
{
	if (!own)
		return err;
	if (!err) {
		err = sqs_exec(c, SQS_SLOT_COMMIT, "COMMIT", "commit");
		if (!err) {
			wl_drop(c, &c->wl_tx);
			return PV_OK;
		}
	}
	if (!sqlite3_get_autocommit(c->db))
		sqs_exec(c, SQS_SLOT_ROLLBACK, "ROLLBACK", "rollback");
	wl_drop(c, &c->wl_tx);
	return err;
}

int sqs_read_begin(struct sqs_conn *c, int *own)
{
	*own = 0;
	if (c->in_tx)
		return PV_OK;
	int err = sqs_exec(c, SQS_SLOT_BEGIN, "BEGIN", "begin");
	if (!err)
		*own = 1;
	return err;
}

void sqs_read_end(struct sqs_conn *c, int own)
{
	if (!own || sqlite3_get_autocommit(c->db))
		return;
	if (sqs_exec(c, SQS_SLOT_COMMIT, "COMMIT", "commit") != PV_OK &&
	    !sqlite3_get_autocommit(c->db))
		sqs_exec(c, SQS_SLOT_ROLLBACK, "ROLLBACK", "rollback");
}

int sqs_tx_begin(store *s)
{
	struct sqs_conn *c;
	int err = conn_of(s, &c);

	if (err)
		return err;
	if (c->in_tx)
		return PV_EINVAL; /* transactions do not nest */
	c->tx_lost = 0;
	if ((err = wl_take_write(c, &c->wl_tx)) != PV_OK)
		return err;
	err = sqs_exec(c, SQS_SLOT_BEGIN_IMMEDIATE, "BEGIN IMMEDIATE", "tx_begin");
	if (!err)
		c->in_tx = 1;
	else
		wl_drop(c, &c->wl_tx);
	return err;
}

int sqs_tx_commit(store *s)
{
	struct sqs_conn *c;
	int err;

	if (tls_writer == (struct sqs_store *)s)
		return PV_EINVAL; /* inside a batch: not the caller's to end */
	err = conn_of(s, &c);
	if (err)
		return err;
	if (c->tx_lost) {
		err = c->tx_lost;
		c->tx_lost = 0;
		return err;
	}
	if (!c->in_tx)
		return PV_EINVAL;
	err = sqs_exec(c, SQS_SLOT_COMMIT, "COMMIT", "tx_commit");
	/* A failed COMMIT (busy) leaves the transaction open: the caller may
	 * retry or roll back. */
	if (!err || sqlite3_get_autocommit(c->db)) {
		c->in_tx = 0;
		c->tx_lost = 0;
		wl_drop(c, &c->wl_tx);
	}
	return err;
}

int sqs_tx_rollback(store *s)
{
	struct sqs_conn *c;
	int err;

	if (tls_writer == (struct sqs_store *)s)
		return PV_EINVAL; /* inside a batch: not the caller's to end */
	err = conn_of(s, &c);
	if (err)
		return err;
	c->tx_lost = 0;
	c->in_tx = 0;
	if (sqlite3_get_autocommit(c->db)) {
		wl_drop(c, &c->wl_tx);
		return PV_OK;
	}
	err = sqs_exec(c, SQS_SLOT_ROLLBACK, "ROLLBACK", "tx_rollback");
	c->tx_lost = 0;
	wl_drop(c, &c->wl_tx);
	return sqlite3_get_autocommit(c->db) ? PV_OK : err;
}

static int conn_user_version(struct sqs_conn *c, int64_t *v)
{
	sqlite3_stmt *st;
	int err, rc;

	err = sqs_prepare(c, SQS_SLOT_USER_VERSION, "PRAGMA user_version", &st);
	if (err)
		return err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else
		err = sqs_error(c, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
				"user_version");
	sqs_release(c, SQS_SLOT_USER_VERSION, st);
	return err;
}

int sqs_migrate(store *s)
{
	struct sqs_conn *c;
	int64_t v = 0;
	char sql[64], vs[24];
	int err, rc;

	err = conn_of(s, &c);
	if (err)
		return err;
	if (c->in_tx)
		return PV_EINVAL;
	/* One migration per transaction; the version is read again under the
	 * write lock, so two processes migrating at once apply each step once. */
	for (int step = 0; step <= sqs_migrations_n; step++) {
		err = sqs_exec(c, SQS_SLOT_BEGIN_IMMEDIATE, "BEGIN IMMEDIATE",
				"migrate");
		if (err)
			return err;
		err = conn_user_version(c, &v);
		if (err)
			goto fail;
		if (v > sqs_migrations_n) {
			snprintf(vs, sizeof vs, "%lld", (long long)v);
			log_kv(LOG_ERROR,
			       "store schema is newer than this program",
			       "version", vs, NULL);
			err = PV_ESTORE;
			goto fail;
		}
		if (v == sqs_migrations_n)
			return sqs_write_end(c, 1, PV_OK);
		rc = sqlite3_exec(c->db, sqs_migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			err = sqs_error(c, rc, "migrate");
			goto fail;
		}
		/* PRAGMA takes no parameter: the value is our own integer. */
		snprintf(sql, sizeof sql, "PRAGMA user_version = %lld",
			 (long long)(v + 1));
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			err = sqs_error(c, rc, "migrate");
			goto fail;
		}
		err = sqs_write_end(c, 1, PV_OK);
		if (err)
			return err;
		snprintf(vs, sizeof vs, "%lld", (long long)(v + 1));
		log_kv(LOG_INFO, "store schema migrated", "version", vs, NULL);
	}
	return PV_ESTORE; /* the version did not advance */
fail:
	return sqs_write_end(c, 1, err);
}

/* The write-ahead log holds earlier versions of pages until it is reset:
 * a checkpoint that truncates it leaves only the database file, whose
 * deleted content secure_delete has overwritten. It waits for this
 * process's writers (the writer lock) and for others' (the busy timeout);
 * PV_EBUSY when readers kept it from finishing: try again later. */
int sqs_scrub(store *s)
{
	struct sqs_conn *c;
	sqlite3_stmt *st;
	int err = conn_of(s, &c), rc, busy = 0;

	if (err)
		return err;
	if (c->in_tx || c->tx_lost)
		return PV_EINVAL;
	err = sqs_prepare(c, SQS_SLOT_CHECKPOINT, "PRAGMA wal_checkpoint(TRUNCATE)", &st);
	if (err)
		return err;
	/* the checkpointer's run would make this one answer busy at once */
	sqs_ckpt_hold(c->owner);
	/* broken: the log may hold pages the kernel lost, which a checkpoint
	 * would copy into the database, and then empty the log */
	if ((err = wl_take_write(c, &c->wl_stmt)) == PV_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			busy = sqlite3_column_int(st, 0);
		else if (rc != SQLITE_DONE)
			err = sqs_error(c, rc, "scrub");
	}
	if (!err && !busy) /* before the writer lock goes, with sqs_release */
		sqs_ckpt_emptied(c->owner);
	sqs_release(c, SQS_SLOT_CHECKPOINT, st);
	sqs_ckpt_release(c->owner);
	if (!err && busy) {
		log_kv(LOG_WARN, "store: the write-ahead log could not be emptied yet", NULL);
		err = PV_EBUSY;
	}
	return err;
}

int sqs_ping(store *s)
{
	struct sqs_conn *c;
	int64_t v;
	int err = conn_of(s, &c);

	if (err)
		return err;
	if (sqs_broken((struct sqs_store *)s))
		return PV_ESTORE; /* reads work, writes cannot be made durable */
	return conn_user_version(c, &v);
}

void sqs_close(store *base)
{
	struct sqs_store *s = (struct sqs_store *)base;
	struct sqs_conn *c, *next;

	if (!s)
		return;
	sqs_batch_stop(s); /* its queue done: no transaction runs any more */
	sqs_ckpt_stop(s);
	pthread_mutex_lock(&reg_lock);
	for (struct sqs_store **pp = &reg_live; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	c = s->conns;
	s->conns = NULL;
	pthread_mutex_unlock(&reg_lock);
	/* The store is no longer live: no exiting thread touches these. */
	for (; c; c = next) {
		next = c->next;
		sqs_conn_close(c);
	}
	sqs_conn_close(s->wconn);
	pthread_cond_destroy(&s->gc_cond);
	pthread_cond_destroy(&s->sy_cond);
	pthread_mutex_destroy(&s->sy_sync_lock);
	pthread_mutex_destroy(&s->gc_lock);
	pthread_cond_destroy(&s->wl_turn);
	pthread_mutex_destroy(&s->wl_mu);
	free(s->path);
	free(s);
}

#define SQS_SOFT_HEAP_LIMIT (INT64_C(96) << 20) /* bytes, all connections */

int store_sqlite_open(const char *path, int full, store **out)
{
	struct sqs_store *s = NULL;
	struct sqs_conn *c;
	int err;

	if (!out)
		return PV_EINVAL;
	*out = NULL;
	if (!path || !*path) {
		log_kv(LOG_ERROR, "store: empty database path", NULL);
		return PV_EINVAL;
	}
	/* Every thread opens its own connection: a private in-memory
	 * database or a URI name could not be shared that way. */
	if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0) {
		log_kv(LOG_ERROR,
		       "store: in-memory and URI databases are not supported",
		       NULL);
		return PV_EINVAL;
	}
	if (strlen(path) >= STORE_PATH_MAX) {
		log_kv(LOG_ERROR, "store: database path too long", NULL);
		return PV_EINVAL;
	}
	/* Every thread has its own connection and page cache (16 MB each):
	 * with 32 work threads that could reach half a gigabyte as the
	 * database grows (a 30-minute soak grew 3-4 MB a minute). One soft
	 * limit for all of SQLite's memory in the process: past it, SQLite
	 * reuses cache pages instead of allocating more. */
	sqlite3_soft_heap_limit64(SQS_SOFT_HEAP_LIMIT);
	s = calloc(1, sizeof *s);
	if (!s)
		return PV_ENOMEM;
	s->base.ops = &sqs_ops;
	s->sync_full = full;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return PV_ENOMEM;
	}
	pthread_mutex_init(&s->wl_mu, NULL);
	pthread_cond_init(&s->wl_turn, NULL);
	pthread_mutex_init(&s->gc_lock, NULL);
	pthread_cond_init(&s->gc_cond, NULL);
	pthread_cond_init(&s->sy_cond, NULL);
	pthread_mutex_init(&s->sy_sync_lock, NULL);
	s->sy_fd = -1;
	pthread_mutex_lock(&reg_lock);
	s->serial = ++reg_serial;
	s->next = reg_live;
	reg_live = s;
	pthread_mutex_unlock(&reg_lock);
	err = conn_of(&s->base, &c); /* fail now on a wrong path */
	if (!err && (err = sqs_conn_open(path, full, &s->wconn)) == PV_OK) {
		s->wconn->owner = s;
		sqs_sync_start(s);
		sqs_ckpt_start(s);
		sqs_ckpt_attach(s, c); /* opened before the thread */
	}
	if (err) {
		sqs_close(&s->base);
		return err;
	}
	*out = &s->base;
	return PV_OK;
}

const char *store_sqlite_version(void)
{
	return "sqlite " SQLITE_VERSION;
}

void store_sqlite_memory(int64_t *used, int64_t *highwater, int64_t *limit)
{
	*used = sqlite3_memory_used();
	*highwater = sqlite3_memory_highwater(0);
	*limit = sqlite3_soft_heap_limit64(-1);
}

/* 1 when path names the store's own database file or one of the files
 * SQLite keeps beside it (-wal, -shm, -journal), by any name (a link, a
 * relative path, "..": compared by device and inode). */
static int sqs_backup_onto_store(const struct sqs_store *ss, const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char own[STORE_PATH_MAX + 16];
	struct stat dst, st;

	if (stat(path, &dst) != 0)
		return 0; /* a new file is no file of the store's */
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		if ((size_t)snprintf(own, sizeof own, "%s%s", ss->path, sfx[i]) >= sizeof own)
			continue;
		if (stat(own, &st) == 0 && st.st_dev == dst.st_dev && st.st_ino == dst.st_ino)
			return 1;
	}
	return 0;
}

/* The online backup API copies every page of one snapshot (a read
 * transaction held for the whole copy, in one step: writers of WAL go on,
 * and a copy made in several steps would start again after each write by
 * another connection). The copy goes to "<path>.part-<pid>", synced,
 * then renamed over path, so a backup is never seen half-written. The
 * blobs are linked into "<path>.blobs" before the snapshot and again
 * after it: a blob is whole before any row names it and never changes,
 * so every blob the snapshot names is there (one put after the first pass
 * is taken by the second). A path that is the store's own file (or its
 * -wal, -shm) is refused with PV_ECONFLICT: renamed over it, the copy would
 * replace the file under every open connection, and what they commit
 * afterwards would be lost at the next start. */
int sqs_backup(store *s, const char *path)
{
	struct sqs_conn *c;
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	char tmp[STORE_PATH_MAX + 32], blobs[STORE_PATH_MAX + 32];
	int err, rc;

	if (!path || !*path ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s.part-%ld", path, (long)getpid()) >= sizeof tmp)
		return PV_EINVAL;
	if ((err = conn_of(s, &c)) != PV_OK)
		return err;
	if (c->in_tx)
		return PV_EINVAL;
	if (sqs_backup_onto_store((struct sqs_store *)s, path)) {
		log_kv(LOG_ERROR, "backup: the file named is the store itself", "path", path, NULL);
		return PV_ECONFLICT;
	}
	if ((size_t)snprintf(blobs, sizeof blobs, "%s.blobs", path) >= sizeof blobs)
		return PV_EINVAL;
	if ((err = sqs_blob_backup(s, blobs)) != PV_OK) {
		log_kv(LOG_ERROR, "backup: cannot copy the blobs", "path", blobs, "error",
		       pv_strerror(err), NULL);
		return err;
	}
	unlink(tmp);
	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		err = rc == SQLITE_NOMEM || !dst ? PV_ENOMEM : PV_EIO;
		log_kv(LOG_ERROR, "backup: cannot create the file", "path", tmp, "error",
		       dst ? sqlite3_errmsg(dst) : "out of memory", NULL);
		goto out;
	}
	chmod(tmp, 0600);
	b = sqlite3_backup_init(dst, "main", c->db, "main");
	if (!b) {
		err = sqs_error(c, sqlite3_errcode(dst), "backup");
		goto out;
	}
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
		sqlite3_sleep(20);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		err = (rc & 0xff) == SQLITE_FULL ? PV_ENOSPACE : PV_ESTORE;
		log_kv(LOG_ERROR, "backup failed", "error", sqlite3_errstr(rc), NULL);
		goto out;
	}
	/* closing syncs the copy (the default synchronous=FULL) */
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		err = PV_EIO;
		goto out;
	}
	if ((err = sqs_blob_backup(s, blobs)) != PV_OK) {
		log_kv(LOG_ERROR, "backup: cannot copy the blobs", "path", blobs, "error",
		       pv_strerror(err), NULL);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		err = util_errno_err(errno);
		log_kv(LOG_ERROR, "backup: cannot put the file in place", "path", path, NULL);
		goto out;
	}
	err = PV_OK;
out:
	if (dst)
		sqlite3_close(dst);
	if (err != PV_OK)
		unlink(tmp);
	return err;
}
