/* sqlite_walbuf.c: an SQLite VFS shim that writes the write-ahead log in
 * few system calls. Every connection of the SQLite backend opens its
 * database through it (sqs_walbuf_vfs()). It wraps the VFS that was the
 * default at its registration (SQLite's "unix"): a log file gets a write
 * buffer, its database file a watch on two shared-memory calls (below),
 * any other file is the lower VFS's own.
 *
 * Why: SQLite writes each frame of the log with two pwrite calls (its
 * 24-byte header, then the page), so a commit of N pages costs 2N system
 * calls. On the virtual machines this service runs on, a system call costs
 * an exit to the hypervisor (bench/login.sh counted 7-8 writes per login),
 * and a bulk upload's chunks write thousands of frames each. Here the
 * frames of a transaction gather in a buffer of the log file's own and go
 * to the file in one pwrite: at the commit, or when the buffer is full.
 *
 * What keeps it right (SQLite's own order of writes, 3.40 in Debian 12,
 * checked against the linked library by tests/unit/store/test_sqlite_walbuf.c):
 * - Order within the file. Only a write that starts exactly where the
 *   buffered bytes end joins them; any other write (an earlier frame
 *   rewritten, the log's header at offset 0 after a restart) first writes
 *   out what is buffered. So the file ends as it would have with every
 *   write made at once.
 * - A commit's writes are in the file when its last xWrite returns, and a
 *   failure is that xWrite's error, so the commit's. SQLite marks the last
 *   frame of a commit: its header carries the database's size in pages
 *   (bytes 4-7), zero in every other frame. The write after such a header
 *   (that frame's page) writes the buffer out; from then on, until the
 *   connection lets go of the log's write lock, every write goes to the
 *   file at once: the copies of the commit frame that pad the log to a
 *   sector boundary (synchronous=FULL on a device without power-safe
 *   overwrite, split around a sync), and the headers SQLite rewrites with
 *   new checksums at the end of a transaction whose pages went to the log
 *   before its commit and changed again.
 * - A failed write of buffered bytes is not forgotten: those frames were
 *   answered as written. Until the connection lets go of the write lock,
 *   every write, sync, truncation and size of the log answers the error,
 *   and so does a read of the bytes lost. SQLite may undo only the failed
 *   statement (a full disk), but its COMMIT then fails, and the
 *   transaction is rolled back.
 * - Nothing stays buffered once another connection may see or write the
 *   log. A connection writes the log only while it holds the log's write
 *   lock (slot 0 of xShmLock on the database file): before it lets go, the
 *   buffer (frames of a transaction rolled back) is written out. And a
 *   commit is published by writing the wal-index header, with a memory
 *   barrier (xShmBarrier on the database file) between its two copies,
 *   which readers compare: the barrier too writes the buffer out first. By
 *   the rules above nothing of a commit is left there; should a later
 *   SQLite write the log otherwise, this keeps its commits in the file
 *   before anyone can read them, and a failure here (which no error can
 *   report) is logged.
 * - Everything else SQLite may do with the log first writes the buffer
 *   out: reading it (a large transaction reads its own frames back),
 *   syncing it, truncating it, asking its size, file controls, closing it.
 *   So a sync (the syncer's fdatasync on a descriptor of its own included,
 *   which follows the commit) covers every frame.
 * - A connection in exclusive locking mode takes no log locks, so the
 *   release above never comes: while its database file is locked
 *   exclusively (that mode, or closing), its log is written through.
 * A crash loses only frames of a transaction that had not committed, which
 * SQLite's recovery ignores anyway. A log whose database file is not found
 * (below) is not buffered at all, and with an SQLite outside the versions
 * checked (3.40 to 3.49) the shim is not used (walbuf_register).
 *
 * Ownership: a log file's buffer (WALBUF_CAP bytes) is malloc'd at its
 * first write and freed when SQLite closes the file. A database file and
 * its log point at each other (both are its connection's, used from one
 * thread at a time, so no lock); each unlinks itself when closed. The VFS
 * is registered once per process and never unregistered. */
#include "store/sqlite/sqlite_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define WALBUF_NAME "pravesh-walbuf"
/* At most 128 KB - 1 per write: the unix VFS writes no more in one call
 * (its seekAndWrite keeps the count's low 17 bits; a larger write comes
 * back short, then as SQLITE_FULL) */
#define WALBUF_CAP (120 * 1024)
#define WALBUF_FRAME_HDR 24 /* SQLite's WAL_FRAME_HDRSIZE */
/* SQLite 3.40 (Debian 12) to 3.49: see walbuf_register */
#define WALBUF_SQLITE_MIN 3040000
#define WALBUF_SQLITE_END 3050000

struct walbuf_file {
	sqlite3_file base; /* pMethods: one of walbuf_io */
	sqlite3_file *lower; /* the file below, right after this struct */
	int log; /* a buffered log file (else a database file) */
	/* a log file: its buffer */
	char *buf;   /* WALBUF_CAP bytes once written to, or NULL */
	size_t len;  /* bytes buffered, for the file at off */
	sqlite3_int64 off;
	int commit_next; /* the last write was a commit frame's header */
	int in_commit;   /* a commit frame written: each write at once */
	int err;         /* a buffered write failed (SQLite's code), or 0 */
	int direct;      /* its database file is locked exclusively: no buffer */
	sqlite3_int64 lost_off, lost_end; /* the bytes it lost */
	struct walbuf_file *db; /* its database file */
	/* a database file: its connection's log, or NULL */
	struct walbuf_file *wal;
};

/* walbuf_file's size rounded up to 16 bytes (SQLite allocates files
 * 8-byte aligned): the lower file follows it */
#define WALBUF_HEAD \
	((sizeof(struct walbuf_file) + 15) / 16 * 16)

static sqlite3_vfs walbuf_vfs;
static sqlite3_vfs *walbuf_lower;
static pthread_once_t walbuf_once = PTHREAD_ONCE_INIT;
static int walbuf_ok;
static const sqlite3_io_methods walbuf_io[3];

static struct walbuf_file *wf(sqlite3_file *f)
{
	return (struct walbuf_file *)f;
}

static int walbuf_is_ours(const sqlite3_file *f)
{
	return f->pMethods >= &walbuf_io[0] && f->pMethods <= &walbuf_io[2];
}

/* Writes the buffered bytes to the file. On failure they are dropped and
 * remembered (err, lost_*) until the write lock is let go. (Once err is
 * set no write is buffered, so one failure per transaction: the range is
 * kept as a hull all the same.) */
static int walbuf_flush(struct walbuf_file *p)
{
	int rc = SQLITE_OK;

	if (!p->len)
		goto out;
	rc = p->lower->pMethods->xWrite(p->lower, p->buf, (int)p->len, p->off);
	if (rc != SQLITE_OK) {
		if (!p->err) {
			p->err = rc;
			p->lost_off = p->off;
			p->lost_end = p->off;
		}
		if (p->off < p->lost_off)
			p->lost_off = p->off;
		if (p->off + (sqlite3_int64)p->len > p->lost_end)
			p->lost_end = p->off + (sqlite3_int64)p->len;
	}
	p->len = 0;
out:
	return rc;
}

/* Before a write, sync, truncation or size of the log: the buffer written
 * out, and a failure not yet let go of answered. */
static int walbuf_settle(struct walbuf_file *p)
{
	int rc = walbuf_flush(p);

	return rc != SQLITE_OK ? rc : p->err;
}

/* The connection lets go of the log's write lock: its transaction is over
 * (committed, and then nothing is buffered, or rolled back). A rolled-back
 * transaction's frames are written out as SQLite would have written them,
 * unless a write of it failed (then they are dropped). */
static void walbuf_write_lock_released(struct walbuf_file *w)
{
	if (w->err)
		w->len = 0;
	else if (walbuf_flush(w) != SQLITE_OK)
		log_kv(LOG_WARN, "store: a rolled-back transaction's log frames"
				 " could not be written", NULL);
	w->err = 0;
	w->lost_off = w->lost_end = 0;
	w->commit_next = w->in_commit = 0;
}

static int walbuf_close(sqlite3_file *f)
{
	struct walbuf_file *p = wf(f);
	int rc = p->err ? SQLITE_OK : walbuf_flush(p), rc2;

	if (p->db)
		p->db->wal = NULL;
	if (p->wal)
		p->wal->db = NULL;
	p->db = p->wal = NULL;
	rc2 = p->lower->pMethods ? p->lower->pMethods->xClose(p->lower)
				 : SQLITE_OK;
	free(p->buf);
	p->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int walbuf_read(sqlite3_file *f, void *dst, int amt,
		       sqlite3_int64 ofst)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_flush(p);

	if (rc != SQLITE_OK)
		return rc;
	if (p->err && ofst < p->lost_end && ofst + amt > p->lost_off)
		return p->err;
	return p->lower->pMethods->xRead(p->lower, dst, amt, ofst);
}

/* A frame header whose commit field (bytes 4-7, big-endian: the database's
 * size in pages) is set: the last frame of a commit. */
static int walbuf_is_commit_header(const void *data, int amt)
{
	const unsigned char *h = data;

	return amt == WALBUF_FRAME_HDR && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int walbuf_write(sqlite3_file *f, const void *data, int amt,
			sqlite3_int64 ofst)
{
	struct walbuf_file *p = wf(f);
	int rc = SQLITE_OK, commit_page = p->commit_next;

	if (!p->log || p->direct)
		return p->lower->pMethods->xWrite(p->lower, data, amt, ofst);
	p->commit_next = 0;
	if (p->err)
		return p->err;
	if (amt <= 0)
		goto out;
	if (p->len && ofst == p->off + (sqlite3_int64)p->len &&
	    p->len + (size_t)amt <= WALBUF_CAP) {
		memcpy(p->buf + p->len, data, (size_t)amt);
		p->len += (size_t)amt;
		goto buffered;
	}
	rc = walbuf_flush(p);
	if (rc != SQLITE_OK)
		goto out;
	if (!p->buf)
		p->buf = malloc(WALBUF_CAP);
	if (!p->buf || (size_t)amt > WALBUF_CAP) {
		/* no buffer (out of memory): written through */
		rc = p->lower->pMethods->xWrite(p->lower, data, amt, ofst);
		goto commit_flags;
	}
	memcpy(p->buf, data, (size_t)amt);
	p->len = (size_t)amt;
	p->off = ofst;
buffered:
	if (commit_page || p->in_commit)
		rc = walbuf_flush(p);
commit_flags:
	if (commit_page)
		p->in_commit = 1;
	else if (!p->in_commit && walbuf_is_commit_header(data, amt))
		p->commit_next = 1; /* its page comes next */
out:
	return rc;
}

static int walbuf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_settle(p);

	if (rc != SQLITE_OK)
		return rc;
	return p->lower->pMethods->xTruncate(p->lower, size);
}

static int walbuf_sync(sqlite3_file *f, int flags)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_settle(p);

	if (rc != SQLITE_OK)
		return rc;
	return p->lower->pMethods->xSync(p->lower, flags);
}

static int walbuf_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_settle(p);

	if (rc != SQLITE_OK)
		return rc;
	return p->lower->pMethods->xFileSize(p->lower, size);
}

/* A database file locked exclusively: in WAL mode, its connection runs
 * in exclusive locking mode (or closes). SQLite then takes no log locks,
 * so the release above never comes: its log is written through, unbuffered,
 * until the lock is let go. */
static int walbuf_lock(sqlite3_file *f, int level)
{
	struct walbuf_file *p = wf(f);
	int rc = p->lower->pMethods->xLock(p->lower, level);

	if (rc == SQLITE_OK && level >= SQLITE_LOCK_EXCLUSIVE && p->wal &&
	    !p->wal->direct) {
		walbuf_write_lock_released(p->wal);
		p->wal->direct = 1;
	}
	return rc;
}

static int walbuf_unlock(sqlite3_file *f, int level)
{
	struct walbuf_file *p = wf(f);

	if (level < SQLITE_LOCK_EXCLUSIVE && p->wal)
		p->wal->direct = 0;
	return p->lower->pMethods->xUnlock(p->lower, level);
}

static int walbuf_check_reserved(sqlite3_file *f, int *out)
{
	return wf(f)->lower->pMethods->xCheckReservedLock(wf(f)->lower, out);
}

static int walbuf_file_control(sqlite3_file *f, int op, void *arg)
{
	struct walbuf_file *p = wf(f);
	int rc;

	if (op == SQS_WALBUF_FCNTL_PENDING && !p->log) {
		*(sqlite3_int64 *)arg = p->wal ? (sqlite3_int64)p->wal->len : -1;
		return SQLITE_OK;
	}
	rc = walbuf_flush(p);
	if (rc != SQLITE_OK)
		return rc;
	return p->lower->pMethods->xFileControl(p->lower, op, arg);
}

static int walbuf_sector_size(sqlite3_file *f)
{
	return wf(f)->lower->pMethods->xSectorSize(wf(f)->lower);
}

static int walbuf_device_chars(sqlite3_file *f)
{
	return wf(f)->lower->pMethods->xDeviceCharacteristics(wf(f)->lower);
}

/* Shared memory and memory maps are the database file's (version 2 and 3
 * methods, in the table of the lower file's version only). */
static int walbuf_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
			  void volatile **pp)
{
	sqlite3_file *l = wf(f)->lower;

	return l->pMethods->xShmMap(l, pg, pgsz, extend, pp);
}

/* A database file's log, at a memory barrier (a commit being published):
 * written out. No error can be answered here; by the header comment's
 * rules nothing of a commit is left to write at this point. */
static void walbuf_flush_published(struct walbuf_file *p)
{
	if (p->wal && p->wal->len && walbuf_flush(p->wal) != SQLITE_OK)
		log_kv(LOG_ERROR, "store: the write-ahead log could not be"
				  " written before its commit was published",
		       NULL);
}

static int walbuf_shm_lock(sqlite3_file *f, int ofst, int n, int flags)
{
	struct walbuf_file *p = wf(f);

	if (p->wal && flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE) &&
	    ofst <= 0 && ofst + n > 0)
		walbuf_write_lock_released(p->wal);
	return p->lower->pMethods->xShmLock(p->lower, ofst, n, flags);
}

static void walbuf_shm_barrier(sqlite3_file *f)
{
	struct walbuf_file *p = wf(f);

	walbuf_flush_published(p);
	p->lower->pMethods->xShmBarrier(p->lower);
}

static int walbuf_shm_unmap(sqlite3_file *f, int del)
{
	sqlite3_file *l = wf(f)->lower;

	return l->pMethods->xShmUnmap(l, del);
}

static int walbuf_fetch(sqlite3_file *f, sqlite3_int64 ofst, int amt,
			void **pp)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_flush(p);

	*pp = NULL;
	if (rc != SQLITE_OK)
		return rc;
	return p->lower->pMethods->xFetch(p->lower, ofst, amt, pp);
}

static int walbuf_unfetch(sqlite3_file *f, sqlite3_int64 ofst, void *pg)
{
	sqlite3_file *l = wf(f)->lower;

	return l->pMethods->xUnfetch(l, ofst, pg);
}

/* One table per version of the lower file's methods, so that SQLite asks
 * of a file only what the file below can do (WAL needs version 2). */
#define WALBUF_METHODS(v)                                                     \
	{                                                                     \
		.iVersion = (v), .xClose = walbuf_close, .xRead = walbuf_read, \
		.xWrite = walbuf_write, .xTruncate = walbuf_truncate,          \
		.xSync = walbuf_sync, .xFileSize = walbuf_file_size,           \
		.xLock = walbuf_lock, .xUnlock = walbuf_unlock,                \
		.xCheckReservedLock = walbuf_check_reserved,                   \
		.xFileControl = walbuf_file_control,                           \
		.xSectorSize = walbuf_sector_size,                             \
		.xDeviceCharacteristics = walbuf_device_chars,                 \
		.xShmMap = walbuf_shm_map, .xShmLock = walbuf_shm_lock,        \
		.xShmBarrier = walbuf_shm_barrier,                             \
		.xShmUnmap = walbuf_shm_unmap, .xFetch = walbuf_fetch,         \
		.xUnfetch = walbuf_unfetch,                                    \
	}
static const sqlite3_io_methods walbuf_io[3] = {
	WALBUF_METHODS(1), WALBUF_METHODS(2), WALBUF_METHODS(3)};

/* A database file is wrapped for the calls above; a log file is buffered
 * when its database file is found (by SQLite's
 * sqlite3_database_file_object: a log is opened with the name its
 * connection's pager made) and is ours, else only wrapped; any other file
 * is the lower VFS's own, opened in place (its methods, not these). */
static int walbuf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		       int flags, int *out_flags)
{
	struct walbuf_file *p = wf(f);
	int rc, v;

	(void)vfs;
	if (!(flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)))
		return walbuf_lower->xOpen(walbuf_lower, name, f, flags,
					   out_flags);
	memset(p, 0, sizeof *p);
	p->lower = (sqlite3_file *)((char *)f + WALBUF_HEAD);
	p->lower->pMethods = NULL;
	rc = walbuf_lower->xOpen(walbuf_lower, name, p->lower, flags,
				 out_flags);
	/* SQLite closes a file whose pMethods is set even when its open
	 * failed: ours then closes the lower one */
	if (!p->lower->pMethods) {
		p->base.pMethods = NULL;
		goto out;
	}
	v = p->lower->pMethods->iVersion;
	if (v >= 2 && (!p->lower->pMethods->xShmMap ||
		       !p->lower->pMethods->xShmLock ||
		       !p->lower->pMethods->xShmBarrier ||
		       !p->lower->pMethods->xShmUnmap))
		v = 1; /* no shared memory: no WAL */
	if (v >= 3 && (!p->lower->pMethods->xFetch ||
		       !p->lower->pMethods->xUnfetch))
		v = 2;
	p->base.pMethods = &walbuf_io[v < 1 ? 0 : v > 3 ? 2 : v - 1];
	if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && name) {
		sqlite3_file *db = sqlite3_database_file_object(name);

		if (db && walbuf_is_ours(db) && !wf(db)->log && !wf(db)->wal) {
			p->db = wf(db);
			p->db->wal = p;
			p->log = 1;
		}
	}
out:
	return rc;
}

static int walbuf_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return walbuf_lower->xDelete(walbuf_lower, name, sync_dir);
}

static int walbuf_access(sqlite3_vfs *vfs, const char *name, int flags,
			 int *out)
{
	(void)vfs;
	return walbuf_lower->xAccess(walbuf_lower, name, flags, out);
}

static int walbuf_full_pathname(sqlite3_vfs *vfs, const char *name, int n,
				char *out)
{
	(void)vfs;
	return walbuf_lower->xFullPathname(walbuf_lower, name, n, out);
}

static void *walbuf_dl_open(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return walbuf_lower->xDlOpen(walbuf_lower, name);
}

static void walbuf_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	walbuf_lower->xDlError(walbuf_lower, n, msg);
}

static void (*walbuf_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return walbuf_lower->xDlSym(walbuf_lower, h, sym);
}

static void walbuf_dl_close(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	walbuf_lower->xDlClose(walbuf_lower, h);
}

static int walbuf_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return walbuf_lower->xRandomness(walbuf_lower, n, out);
}

static int walbuf_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return walbuf_lower->xSleep(walbuf_lower, us);
}

static int walbuf_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return walbuf_lower->xCurrentTime(walbuf_lower, out);
}

static int walbuf_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return walbuf_lower->xGetLastError
		       ? walbuf_lower->xGetLastError(walbuf_lower, n, out)
		       : 0;
}

static int walbuf_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return walbuf_lower->xCurrentTimeInt64(walbuf_lower, out);
}

static void walbuf_register(void)
{
	/* the SQLite versions whose way of writing the log (two writes per
	 * frame, the commit marked in the header) was checked: outside them,
	 * SQLite's own VFS (tests/unit/store/test_sqlite_walbuf.c checks the
	 * linked library at every build) */
	if (sqlite3_libversion_number() < WALBUF_SQLITE_MIN ||
	    sqlite3_libversion_number() >= WALBUF_SQLITE_END) {
		log_kv(LOG_WARN, "store: the log's write buffer is off for this"
				 " SQLite version", "version", sqlite3_libversion(),
		       NULL);
		return;
	}
	walbuf_lower = sqlite3_vfs_find(NULL);
	if (!walbuf_lower)
		return;
	walbuf_vfs = (sqlite3_vfs){
		/* version 2: current time in milliseconds; the system-call
		 * hooks of version 3 are for SQLite's own tests */
		.iVersion = 2,
		.szOsFile = (int)(WALBUF_HEAD + (size_t)walbuf_lower->szOsFile),
		.mxPathname = walbuf_lower->mxPathname,
		.zName = WALBUF_NAME,
		.xOpen = walbuf_open,
		.xDelete = walbuf_delete,
		.xAccess = walbuf_access,
		.xFullPathname = walbuf_full_pathname,
		.xDlOpen = walbuf_dl_open,
		.xDlError = walbuf_dl_error,
		.xDlSym = walbuf_dl_sym,
		.xDlClose = walbuf_dl_close,
		.xRandomness = walbuf_randomness,
		.xSleep = walbuf_sleep,
		.xCurrentTime = walbuf_current_time,
		.xGetLastError = walbuf_last_error,
		.xCurrentTimeInt64 =
			walbuf_lower->iVersion >= 2 &&
					walbuf_lower->xCurrentTimeInt64
				? walbuf_current_time64
				: NULL,
	};
	if (!walbuf_vfs.xCurrentTimeInt64)
		walbuf_vfs.iVersion = 1;
	if (sqlite3_vfs_register(&walbuf_vfs, 0) != SQLITE_OK) {
		log_kv(LOG_WARN, "store: the log's write buffer is not available",
		       NULL);
		return;
	}
	walbuf_ok = 1;
}

const char *sqs_walbuf_vfs(void)
{
	pthread_once(&walbuf_once, walbuf_register);
	return walbuf_ok ? WALBUF_NAME : NULL;
}
