/* pg_store.h: the entry point of the PostgreSQL backend, seen by store.c
 * only. It carries no libpq-fe.h, so the dispatcher stays free of it. */
#ifndef PV_PG_STORE_H
#define PV_PG_STORE_H

#include "store/store.h"

/* Opens a PostgreSQL store: url is any libpq connection URI
 * ("postgresql://user:password@host:port/db?sslmode=require"); it may hold
 * a password, so it is never logged. Connects the calling thread at once,
 * so that a wrong URL fails here: PV_ESTORE when the server cannot be
 * reached or refuses the login (the reason is logged). Does not migrate.
 * *out is released with store_close(). */
int store_pg_open(const char *url, const store_options *opt, store **out);

/* "libpq 15.x": the client library this process runs with. */
const char *store_pg_version(void);

#endif
