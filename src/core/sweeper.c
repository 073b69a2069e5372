#include "core/sweeper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define SWEEP_BATCH 1000

struct sweeper {
	sweeper_cfg cfg;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
};

int sweeper_run_once(const sweeper_cfg *cfg, int64_t now, int max_batches, int64_t *deleted)
{
	int64_t total = 0, n = 0;
	int rc = PV_OK;

	for (int i = 0; i < max_batches; i++) {
		rc = store_sweep(cfg->st, now, cfg->grace_ms, cfg->idle_ms, SWEEP_BATCH, &n);
		if (rc != PV_OK)
			break;
		total += n;
		if (n == 0)
			break;
	}
	if (deleted)
		*deleted = total;
	return rc;
}

static void *sweeper_main(void *arg)
{
	sweeper *sw = arg;

	pthread_mutex_lock(&sw->lock);
	while (!sw->stop) {
		struct timespec ts;
		int64_t n = 0;
		int rc;

		pthread_mutex_unlock(&sw->lock);
		rc = sweeper_run_once(&sw->cfg, util_now_ms(), 1000, &n);
		if (rc != PV_OK) {
			log_kv(LOG_WARN, "sweep failed", "error", pv_strerror(rc), NULL);
		} else if (n > 0) {
			char v[24];

			snprintf(v, sizeof v, "%lld", (long long)n);
			log_kv(LOG_INFO, "swept expired codes, tokens, sessions and limits", "rows", v, NULL);
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
