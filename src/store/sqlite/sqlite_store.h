/* sqlite_store.h: the entry point of the SQLite backend, seen by store.c
 * (and by tests of the backend). It carries no sqlite3.h, so the
 * dispatcher stays free of it. */
#ifndef PV_SQLITE_STORE_H
#define PV_SQLITE_STORE_H

#include "store/store.h"

/* Opens the SQLite database file at path (created if missing; its
 * directory must exist). Opens the calling thread's connection at once, so
 * a wrong path fails here: PV_EINVAL for an empty path, ":memory:" or a URI
 * name, PV_EIO when the file cannot be opened, PV_ESTORE when it is not a
 * database. sync_full: every commit on disk before it is answered (see
 * sqlite_batch.c), else synchronous=NORMAL. *out is
 * released with store_close(). Does not migrate. */
int store_sqlite_open(const char *path, int sync_full, store **out);

/* Group commit (sqlite_batch.c), for tests and diagnostics: batches run
 * and store_tx() attempts they held since the store was opened, and the
 * attempts queued now (the running batch's among them). */
void store_sqlite_batch_stats(store *s, uint64_t *batches, uint64_t *txs);
size_t store_sqlite_batch_waiting(store *s);

/* The syncer (sqlite_batch.c), for tests and diagnostics: syncs of the
 * write-ahead log it made since the store was opened, each before the
 * answers of the batches committed until then (0 when the writer syncs its
 * own commits: synchronous=NORMAL, or no syncer could start). */
uint64_t store_sqlite_log_syncs(store *s);
/* The sync the syncer calls, for every store of the process: fdatasync(2)
 * by default, and again with NULL; for tests that make the disk fail. */
void store_sqlite_set_fdatasync(int (*fn)(int fd));

/* Checkpoints run by the store's checkpointer thread (sqlite_ckpt.c) since
 * the store was opened that copied pages of the log (0 without the thread). */
uint64_t store_sqlite_checkpoints(store *s);
/* The log's lengths, in pages, past which a commit wakes the checkpointer
 * (10,000) and past which the writer checkpoints itself (40,000); for
 * tests. */
void store_sqlite_checkpoint_limits(store *s, int wake, int hard);

/* SQLite's memory in this process, all connections (bytes): in use now,
 * the most ever in use, and the soft limit (0: none). */
void store_sqlite_memory(int64_t *used, int64_t *highwater, int64_t *limit);

/* "sqlite 3.x.y": the library this backend was built with. */
const char *store_sqlite_version(void);

#endif
