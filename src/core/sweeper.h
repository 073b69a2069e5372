/* sweeper: a background thread that keeps the store to what it may hold.
 * Each round, in bounded batches:
 * - deletes what has expired (codes, tokens, sessions, counters:
 *   store_sweep), so that nobody can grow the store without bound by
 *   asking for codes or starting logins;
 * - erases the accounts closed by their owners whose grace period has
 *   ended (core/person.h);
 * - applies the retention periods: uploaded and result files, sent and
 *   failed messages, audit rows (each 0: kept for ever);
 * - then, when it erased an account, scrubs the store so the old values
 *   cannot be read back from its files. */
#ifndef PV_SWEEPER_H
#define PV_SWEEPER_H

#include <stdint.h>

#include "store/store.h"

struct person_svc;
typedef struct sweeper sweeper;

/* Removes an upload's files and records it (import/job.h:
 * job_files_remove); PV_OK or an error that leaves it for a later round. */
typedef int (*sweeper_upload_fn)(void *ctx, store *st, const store_upload *u, int64_t now);

typedef struct sweeper_cfg {
	store *st;
	int interval_s;    /* between rounds; 0: never */
	int64_t grace_ms;  /* keep ended codes and tokens this long (answers such as "expired") */
	int64_t idle_ms;   /* sessions not seen this long can no longer be used */
	/* erasure of closed accounts; NULL: none */
	const struct person_svc *person;
	/* retention, each 0 to keep for ever */
	int64_t upload_keep_ms;  /* finished uploads' files */
	int64_t message_keep_ms; /* sent and failed messages */
	int64_t audit_keep_ms;   /* audit rows */
	sweeper_upload_fn remove_upload; /* NULL: upload files are kept */
	void *remove_ctx;
} sweeper_cfg;

/* What a round did. */
typedef struct sweeper_counts {
	int64_t expired;  /* codes, tokens, sessions, counters */
	int64_t erased;   /* closed accounts erased */
	int64_t uploads;  /* uploads whose files were removed */
	int64_t messages; /* sent and failed messages deleted */
	int64_t audit;    /* audit rows deleted */
	int scrubbed;     /* 1 when the store was scrubbed */
} sweeper_counts;

/* One round now: each part in batches until a batch finds nothing (at most
 * `max_batches` each). *out (may be NULL) gets what was done. A scrub that
 * could not finish (PV_EBUSY: readers) is tried again by the next round. */
int sweeper_run_once(const sweeper_cfg *cfg, int64_t now, int max_batches,
		     sweeper_counts *out);

/* Starts the thread (cfg is copied). *out is released by sweeper_stop. */
int sweeper_start(const sweeper_cfg *cfg, sweeper **out);
/* Stops and joins the thread; accepts NULL. */
void sweeper_stop(sweeper *sw);

#endif
