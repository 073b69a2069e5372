/* sweeper: a background thread that deletes what has expired (codes,
 * tokens, sessions, counters: store_sweep), so that nobody can grow the
 * store without bound by asking for codes or starting logins. Each round
 * deletes in bounded batches until nothing is left. */
#ifndef PV_SWEEPER_H
#define PV_SWEEPER_H

#include <stdint.h>

#include "store/store.h"

typedef struct sweeper sweeper;

typedef struct sweeper_cfg {
	store *st;
	int interval_s;    /* between rounds; 0: never */
	int64_t grace_ms;  /* keep ended codes and tokens this long (answers such as "expired") */
	int64_t idle_ms;   /* sessions not seen this long can no longer be used */
} sweeper_cfg;

/* One round now: deletes in batches until a batch finds nothing (at most
 * `max_batches`). *deleted (may be NULL) gets the rows deleted. */
int sweeper_run_once(const sweeper_cfg *cfg, int64_t now, int max_batches, int64_t *deleted);

/* Starts the thread (cfg is copied). *out is released by sweeper_stop. */
int sweeper_start(const sweeper_cfg *cfg, sweeper **out);
/* Stops and joins the thread; accepts NULL. */
void sweeper_stop(sweeper *sw);

#endif
