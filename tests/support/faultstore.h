/* faultstore: a store that hands every call to a real backend and fails
 * the Nth one with a chosen error (PV_ESTORE: an I/O error; PV_EBUSY: the
 * transaction must be retried), after SQLite's fault simulator
 * (sqlite3FaultSim, test/malloc_common.tcl). A test counts the calls of an
 * operation with no fault armed, then runs it again once for every N,
 * checking after each fault that the caller answered a clean error and that
 * the store holds all of the operation or none of it.
 *
 * A fault inside a transaction behaves as store.h says a backend's does:
 * the transaction is lost, every later call of that thread answers the
 * same error until tx_commit or tx_rollback (and tx_commit then rolls
 * back). tx_rollback is never failed; close and migrate are not counted. */
#ifndef PV_TEST_FAULTSTORE_H
#define PV_TEST_FAULTSTORE_H

#include "store/store.h"

/* A store over inner (borrowed: store_close() on the result frees the
 * wrapper only). NULL when out of memory. */
store *faultstore_wrap(store *inner);
/* From now on, count calls from 1 and fail the nth with err (n = 0: no
 * fault; only counting). */
void faultstore_arm(store *fs, long n, int err);
/* Calls counted since the last arm. */
long faultstore_calls(const store *fs);
/* 1 when the armed fault has been injected: then *op (may be NULL) names
 * the call and *in_tx (may be NULL) says whether it was made inside a
 * transaction. */
int faultstore_fired(const store *fs, const char **op, int *in_tx);

#endif
