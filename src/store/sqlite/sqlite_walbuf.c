/* sqlite_walbuf.c: an SQLite VFS shim that writes the write-ahead log in
 * few system calls. Every connection of the SQLite backend opens its
 * database through it (sqs_walbuf_vfs()). It wraps the VFS that was the
 * default at its registration (SQLite's "unix"): the log files get a write
 * buffer, the database files a watch on two shared-memory calls (below),
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
 * What keeps it right:
 * - Order within the file. Only a write that starts exactly where the
 *   buffered bytes end joins them; any other write (an earlier frame
 *   rewritten, the log's header at offset 0 after a restart) first writes
 *   out what is buffered. So the file ends as it would have with every
 *   write made at once.
 * - Nothing stays buffered once another connection may see or write the
 *   log. SQLite publishes a commit by writing the wal-index header, with a
 *   memory barrier (xShmBarrier on the database file) between its two
 *   copies, which readers compare; and a connection writes the log only
 *   while it holds the log's write lock (xShmLock, slot 0, on the database
 *   file). So the database file's xShmBarrier, and its xShmLock before it
 *   lets go of the write lock, first write out its log's buffer. A commit
 *   is thus in the file before any reader can see it, and a rolled-back
 *   transaction's frames are out before another connection writes.
 * - A commit's own write error is its error. Those two calls cannot
 *   answer one, so the buffer is written out earlier, inside the commit's
 *   last xWrite. SQLite marks the last frame of a commit: its header
 *   carries the database's size in pages (bytes 4-7), zero in every other
 *   frame. The write after such a header (that frame's page) writes the
 *   buffer out. When SQLite rewrites the checksums of a transaction's
 *   frames (one whose pages went to the log before the commit, because it
 *   outgrew the page cache, and changed again), it reads each frame back,
 *   then writes its header, the commit frame's last: a commit header
 *   written just after reading its frame is written out at once. This is
 *   SQLite's way of writing the log since 3.8 (3.40 in Debian 12); should
 *   a later one differ, the barrier still writes the commit out before it
 *   is published (a failure there then shows as the readers' short read,
 *   not as the commit's error). tests/unit/store/test_sqlite_walbuf.c
 *   checks both against the library the build links.
 * - Everything else SQLite may do with the log first writes the buffer
 *   out: reading it (a large transaction reads its own frames back),
 *   syncing it, truncating it, asking its size, file controls, closing it.
 *   So a sync (the syncer's fdatasync on a descriptor of its own included,
 *   which follows the commit) covers every frame.
 * - A write error: the buffered bytes are dropped and the error returned.
 *   They belong to the transaction being written (committed frames never
 *   wait here), which SQLite then rolls back.
 * A crash loses only frames of a transaction that had not committed, which
 * SQLite's recovery would ignore anyway.
 *
 * Ownership: a log file's buffer (WALBUF_CAP bytes) is malloc'd at its
 * first write and freed when SQLite closes the file. A database file and
 * its log point at each other (both opened by one connection, which uses
 * them from one thread at a time, so no lock); each unlinks itself when
 * closed. The VFS is registered once per process and never unregistered. */
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

struct walbuf_file {
	sqlite3_file base; /* pMethods: walbuf_io */
	sqlite3_file *lower; /* the file below, right after this struct */
	int log;             /* a log file (else a database file) */
	/* a log file: its buffer, and its database file or NULL */
	char *buf;           /* WALBUF_CAP bytes once written to, or NULL */
	size_t len;          /* bytes buffered, for the file at off */
	sqlite3_int64 off;
	sqlite3_int64 read_at; /* offset of the last read, -1 after a write */
	int commit_next; /* the last write was a commit frame's header */
	struct walbuf_file *db;
	/* a database file: its connection's log, or NULL */
	struct walbuf_file *wal;
};

/* walbuf_file's size rounded up, so that the lower file that follows it
 * is aligned for any type */
#define WALBUF_HEAD \
	((sizeof(struct walbuf_file) + 15) / 16 * 16)

static sqlite3_vfs walbuf_vfs;
static sqlite3_vfs *walbuf_lower;
static pthread_once_t walbuf_once = PTHREAD_ONCE_INIT;
static int walbuf_ok;

static struct walbuf_file *wf(sqlite3_file *f)
{
	return (struct walbuf_file *)f;
}

/* Writes the buffered bytes to the file (none in a database file). On
 * failure they are dropped (the header comment says why) and the error
 * answered. */
static int walbuf_flush(struct walbuf_file *p)
{
	int rc = SQLITE_OK;

	if (p->len)
		rc = p->lower->pMethods->xWrite(p->lower, p->buf, (int)p->len,
						p->off);
	p->len = 0;
	return rc;
}

static int walbuf_close(sqlite3_file *f)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_flush(p), rc2;

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
	p->read_at = ofst;
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
	int rc = SQLITE_OK, commit = p->commit_next;
	sqlite3_int64 read_at = p->read_at;

	if (!p->log)
		return p->lower->pMethods->xWrite(p->lower, data, amt, ofst);
	p->commit_next = 0;
	p->read_at = -1;
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
	if (!p->buf && (size_t)amt <= WALBUF_CAP)
		p->buf = malloc(WALBUF_CAP); /* NULL: write through */
	if (!p->buf || (size_t)amt > WALBUF_CAP) {
		rc = p->lower->pMethods->xWrite(p->lower, data, amt, ofst);
		goto out;
	}
	memcpy(p->buf, data, (size_t)amt);
	p->len = (size_t)amt;
	p->off = ofst;
buffered:
	if (commit) {
		/* the page of a commit frame */
		rc = walbuf_flush(p);
	} else if (walbuf_is_commit_header(data, amt)) {
		if (ofst == read_at)
			rc = walbuf_flush(p); /* its checksum rewritten */
		else
			p->commit_next = 1; /* its page comes next */
	}
out:
	return rc;
}

static int walbuf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_flush(p);

	if (rc != SQLITE_OK)
		return rc;
	return p->lower->pMethods->xTruncate(p->lower, size);
}

static int walbuf_sync(sqlite3_file *f, int flags)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_flush(p);

	if (rc != SQLITE_OK)
		return rc;
	return p->lower->pMethods->xSync(p->lower, flags);
}

static int walbuf_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_flush(p);

	if (rc != SQLITE_OK)
		return rc;
	return p->lower->pMethods->xFileSize(p->lower, size);
}

static int walbuf_lock(sqlite3_file *f, int level)
{
	return wf(f)->lower->pMethods->xLock(wf(f)->lower, level);
}

static int walbuf_unlock(sqlite3_file *f, int level)
{
	return wf(f)->lower->pMethods->xUnlock(wf(f)->lower, level);
}

static int walbuf_check_reserved(sqlite3_file *f, int *out)
{
	return wf(f)->lower->pMethods->xCheckReservedLock(wf(f)->lower, out);
}

static int walbuf_file_control(sqlite3_file *f, int op, void *arg)
{
	struct walbuf_file *p = wf(f);
	int rc = walbuf_flush(p);

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

/* A log file has no shared memory and no memory map of its own (SQLite
 * asks them of the database file), but a version 3 file must answer. */
static int walbuf_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
			  void volatile **pp)
{
	sqlite3_file *l = wf(f)->lower;

	if (l->pMethods->iVersion < 2 || !l->pMethods->xShmMap)
		return SQLITE_IOERR_SHMMAP;
	return l->pMethods->xShmMap(l, pg, pgsz, extend, pp);
}

/* A database file, before its connection lets go of the log's write lock
 * (SQLite's WAL_WRITE_LOCK: slot 0) and at a memory barrier (a commit being
 * published): its log's buffer written out. Neither call can answer an
 * error: one here is of bytes that a commit's own xWrite already tried to
 * write out (else they belong to a transaction rolled back); the header
 * comment says what is left. */
static void walbuf_flush_log(struct walbuf_file *p)
{
	if (p->wal)
		(void)walbuf_flush(p->wal);
}

static int walbuf_shm_lock(sqlite3_file *f, int ofst, int n, int flags)
{
	sqlite3_file *l = wf(f)->lower;

	if (flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE) && ofst <= 0 &&
	    ofst + n > 0)
		walbuf_flush_log(wf(f));
	if (l->pMethods->iVersion < 2 || !l->pMethods->xShmLock)
		return SQLITE_IOERR_SHMLOCK;
	return l->pMethods->xShmLock(l, ofst, n, flags);
}

static void walbuf_shm_barrier(sqlite3_file *f)
{
	sqlite3_file *l = wf(f)->lower;

	walbuf_flush_log(wf(f));
	if (l->pMethods->iVersion >= 2 && l->pMethods->xShmBarrier)
		l->pMethods->xShmBarrier(l);
}

static int walbuf_shm_unmap(sqlite3_file *f, int del)
{
	sqlite3_file *l = wf(f)->lower;

	if (l->pMethods->iVersion < 2 || !l->pMethods->xShmUnmap)
		return SQLITE_OK;
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
	if (p->lower->pMethods->iVersion < 3 || !p->lower->pMethods->xFetch)
		return SQLITE_OK;
	return p->lower->pMethods->xFetch(p->lower, ofst, amt, pp);
}

static int walbuf_unfetch(sqlite3_file *f, sqlite3_int64 ofst, void *pg)
{
	sqlite3_file *l = wf(f)->lower;

	if (l->pMethods->iVersion < 3 || !l->pMethods->xUnfetch)
		return SQLITE_OK;
	return l->pMethods->xUnfetch(l, ofst, pg);
}

static const sqlite3_io_methods walbuf_io = {
	.iVersion = 3,
	.xClose = walbuf_close,
	.xRead = walbuf_read,
	.xWrite = walbuf_write,
	.xTruncate = walbuf_truncate,
	.xSync = walbuf_sync,
	.xFileSize = walbuf_file_size,
	.xLock = walbuf_lock,
	.xUnlock = walbuf_unlock,
	.xCheckReservedLock = walbuf_check_reserved,
	.xFileControl = walbuf_file_control,
	.xSectorSize = walbuf_sector_size,
	.xDeviceCharacteristics = walbuf_device_chars,
	.xShmMap = walbuf_shm_map,
	.xShmLock = walbuf_shm_lock,
	.xShmBarrier = walbuf_shm_barrier,
	.xShmUnmap = walbuf_shm_unmap,
	.xFetch = walbuf_fetch,
	.xUnfetch = walbuf_unfetch,
};

/* A log file gets the buffer and is linked to its database file (found
 * by SQLite's sqlite3_database_file_object: a log is opened with the name
 * its connection's pager made); a database file is wrapped for the calls
 * above; any other file is the lower VFS's own, opened in place (its
 * methods, not these). */
static int walbuf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		       int flags, int *out_flags)
{
	struct walbuf_file *p = wf(f);
	int rc;

	(void)vfs;
	if (!(flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)))
		return walbuf_lower->xOpen(walbuf_lower, name, f, flags,
					   out_flags);
	memset(p, 0, sizeof *p);
	p->read_at = -1;
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
	p->base.pMethods = &walbuf_io;
	p->log = (flags & SQLITE_OPEN_WAL) != 0;
	if (p->log && rc == SQLITE_OK && name) {
		sqlite3_file *db = sqlite3_database_file_object(name);

		if (db && db->pMethods == &walbuf_io && !wf(db)->log) {
			p->db = wf(db);
			p->db->wal = p;
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
