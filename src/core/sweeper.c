#include "core/sweeper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/person.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define SWEEP_BATCH 1000
#define SWEEP_UPLOADS 100 /* upload_expired's most */

struct sweeper {
	sweeper_cfg cfg;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
};

/* A scrub that found readers in its way is owed: the next round tries
 * again even if it deletes nothing. Only the sweeper's thread (or one
 * caller of sweeper_run_once at a time) touches it. */
static int sweep_scrub_owed;

static int sweep_uploads(const sweeper_cfg *cfg, int64_t now, int max_batches, int64_t *done)
{
	store_upload *batch = calloc(SWEEP_UPLOADS, sizeof *batch);
	size_t n = 0;
	int rc = PV_OK;

	if (!batch)
		return PV_ENOMEM;
	for (int i = 0; i < max_batches; i++) {
		int removed = 0;

		rc = store_upload_expired(cfg->st, now - cfg->upload_keep_ms, SWEEP_UPLOADS, batch, &n);
		if (rc != PV_OK || n == 0)
			break;
		for (size_t j = 0; j < n; j++) {
			if (cfg->remove_upload(cfg->remove_ctx, cfg->st, &batch[j], now) == PV_OK) {
				(*done)++;
				removed++;
			}
		}
		/* files that cannot be deleted now stay listed: next round */
		if (n < SWEEP_UPLOADS || removed == 0)
			break;
	}
	free(batch);
	return rc;
}

/* Repeats a bounded delete until a call finds nothing. */
static int sweep_purge(store *st, int (*fn)(store *, int64_t, int64_t, int64_t *),
		       int64_t before, int max_batches, int64_t *done)
{
	int64_t n = 0;
	int rc = PV_OK;

	for (int i = 0; i < max_batches; i++) {
		if ((rc = fn(st, before, SWEEP_BATCH, &n)) != PV_OK || n == 0)
			break;
		*done += n;
	}
	return rc;
}

int sweeper_run_once(const sweeper_cfg *cfg, int64_t now, int max_batches,
		     sweeper_counts *out)
{
	sweeper_counts c;
	int64_t n = 0;
	int rc = PV_OK, rc2;

	memset(&c, 0, sizeof c);
	for (int i = 0; i < max_batches; i++) {
		rc = store_sweep(cfg->st, now, cfg->grace_ms, cfg->idle_ms, SWEEP_BATCH, &n);
		if (rc != PV_OK)
			break;
		c.expired += n;
		if (n == 0)
			break;
	}
	/* each part runs even when another failed; the first error is told */
	if (cfg->person) {
		rc2 = person_erase_due(cfg->person, now, max_batches, &c.erased);
		rc = rc ? rc : rc2;
	}
	if (cfg->upload_keep_ms > 0 && cfg->remove_upload) {
		rc2 = sweep_uploads(cfg, now, max_batches, &c.uploads);
		rc = rc ? rc : rc2;
	}
	if (cfg->message_keep_ms > 0) {
		rc2 = sweep_purge(cfg->st, store_outbox_purge, now - cfg->message_keep_ms,
				  max_batches, &c.messages);
		rc = rc ? rc : rc2;
	}
	if (cfg->audit_keep_ms > 0) {
		rc2 = sweep_purge(cfg->st, store_audit_purge, now - cfg->audit_keep_ms,
				  max_batches, &c.audit);
		rc = rc ? rc : rc2;
	}
	/* only erasure promises that old values cannot be read back from the
	 * files (a truncating checkpoint makes writers wait for readers) */
	if (c.erased || sweep_scrub_owed) {
		rc2 = store_scrub(cfg->st);
		sweep_scrub_owed = rc2 != PV_OK;
		c.scrubbed = rc2 == PV_OK;
		if (rc2 != PV_EBUSY)
			rc = rc ? rc : rc2;
	}
	if (out)
		*out = c;
	return rc;
}

static void *sweeper_main(void *arg)
{
	sweeper *sw = arg;

	pthread_mutex_lock(&sw->lock);
	while (!sw->stop) {
		struct timespec ts;
		sweeper_counts c;
		int rc;

		pthread_mutex_unlock(&sw->lock);
		rc = sweeper_run_once(&sw->cfg, util_now_ms(), 1000, &c);
		if (rc != PV_OK)
			log_kv(LOG_WARN, "sweep failed", "error", pv_strerror(rc), NULL);
		if (c.expired || c.erased || c.uploads || c.messages || c.audit || c.scrubbed) {
			char v[5][24];

			snprintf(v[0], sizeof v[0], "%lld", (long long)c.expired);
			snprintf(v[1], sizeof v[1], "%lld", (long long)c.erased);
			snprintf(v[2], sizeof v[2], "%lld", (long long)c.uploads);
			snprintf(v[3], sizeof v[3], "%lld", (long long)c.messages);
			snprintf(v[4], sizeof v[4], "%lld", (long long)c.audit);
			log_kv(LOG_INFO, "swept", "expired", v[0], "erased_accounts", v[1],
			       "upload_files", v[2], "messages", v[3], "audit_rows", v[4], "scrubbed",
			       c.scrubbed ? "yes" : "no", NULL);
		}
		pthread_mutex_lock(&sw->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += sw->cfg.interval_s;
		while (!sw->stop && pthread_cond_timedwait(&sw->wake, &sw->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&sw->lock);
	return NULL;
}

int sweeper_start(const sweeper_cfg *cfg, sweeper **out)
{
	sweeper *sw;

	*out = NULL;
	if (cfg->interval_s <= 0)
		return PV_OK;
	if (!(sw = calloc(1, sizeof *sw)))
		return PV_ENOMEM;
	sw->cfg = *cfg;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_cond_init(&sw->wake, NULL);
	if (pthread_create(&sw->th, NULL, sweeper_main, sw) != 0) {
		pthread_cond_destroy(&sw->wake);
		pthread_mutex_destroy(&sw->lock);
		free(sw);
		return PV_ENOMEM;
	}
	*out = sw;
	return PV_OK;
}

void sweeper_stop(sweeper *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->lock);
	sw->stop = 1;
	pthread_cond_signal(&sw->wake);
	pthread_mutex_unlock(&sw->lock);
	pthread_join(sw->th, NULL);
	pthread_cond_destroy(&sw->wake);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}
