/* sqlite_store.h: the entry point of the SQLite backend, seen by store.c
 * only. It carries no sqlite3.h, so the dispatcher stays free of it. */
#ifndef PV_SQLITE_STORE_H
#define PV_SQLITE_STORE_H

#include "store/store.h"

/* Opens the SQLite database file at path (created if missing; its
 * directory must exist). Opens the calling thread's connection at once, so
 * a wrong path fails here: PV_EINVAL for an empty path, ":memory:" or a URI
 * name, PV_EIO when the file cannot be opened, PV_ESTORE when it is not a
 * database. *out is released with store_close(). Does not migrate. */
int store_sqlite_open(const char *path, store **out);

/* "sqlite 3.x.y": the library this backend was built with. */
const char *store_sqlite_version(void);

#endif
