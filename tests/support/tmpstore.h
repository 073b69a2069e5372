/* tmpstore: a fresh, migrated SQLite store in a new temporary folder, for
 * unit tests; removed again with every file SQLite made beside it. */
#ifndef PV_TEST_TMPSTORE_H
#define PV_TEST_TMPSTORE_H

#include <stddef.h>

#include "store/store.h"

/* dir (at least 32 bytes) and path (at least 64) receive the folder and the
 * database file. Returns 0, or -1 on any failure. */
int tmpstore_open(char *dir, size_t dcap, char *path, size_t pcap, store **st);
/* Closes st (may be NULL) and removes the database, its -wal and -shm
 * files and the folder. */
void tmpstore_remove(store *st, const char *dir, const char *path);

/* Removes the SQLite database file at path and its -wal and -shm files. */
void tmpstore_rm_db(const char *path);

/* Stores an active organisation id (centre, a ministry) named name, made
 * and updated at `at`, in st (any backend); store_org_upsert's answer. */
int tmpstore_org(store *st, const char *id, const char *name, int64_t at);

#endif
