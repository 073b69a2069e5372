/* worker: the threads that run bulk uploads. Each claims the oldest
 * claimable upload from the store (a durable queue: QUEUED, or IN_PROGRESS
 * whose lease expired because its holder died), runs it with job_run, and
 * claims again. Idle workers wait on a condition variable signalled by
 * job_kick() (an upload accepted by this process) and time out every
 * second (an upload enqueued by another process, or a lease that expired).
 * A generation counter under the mutex keeps a kick between an empty claim
 * and the wait from being lost. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "import/job.h"
#include "util/log.h"
#include "util/util.h"

#define WORKERS_MAX 16
#define WORKER_POLL_MS 1000
#define WORKER_FULL_RETRY_MS 250 /* a full disk: the failure written again */

struct job_workers;

typedef struct worker {
	struct job_workers *set;
	pthread_t thread;
	int started;
	char id[STORE_ID_MAX];
} worker;

struct job_workers {
	job_env env;
	atomic_int stop;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint64_t gen; /* guarded by mu */
	int n;
	worker w[WORKERS_MAX];
};

static pthread_mutex_t cur_mu = PTHREAD_MUTEX_INITIALIZER;
static job_workers *cur;

static void wk_wait(job_workers *s, uint64_t seen, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	while (s->gen == seen && !atomic_load(&s->stop))
		if (pthread_cond_timedwait(&s->cond, &s->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->mu);
}

/* Records upload id FAILED for a full disk. When the disk is so full that
 * even that write fails, it is tried again every WORKER_FULL_RETRY_MS for
 * half the lease (or until the workers stop), so that room made meanwhile
 * records the failure; after that the lease expires and the upload is
 * tried again from its cursor. */
static void wk_fail_disk_full(const job_env *env, const char *id, int64_t lease)
{
	int64_t until = util_now_ms() + lease / 2;
	int rc;

	for (;;) {
		rc = store_upload_finish(env->st, id, STORE_UP_FAILED, JOB_MSG_DISK_FULL,
					 env->worker, util_now_ms());
		if ((rc != PV_ENOSPACE && rc != PV_EBUSY && rc != PV_ESTORE && rc != PV_EIO) ||
		    util_now_ms() >= until || (env->stop && atomic_load(env->stop)))
			break;
		usleep(WORKER_FULL_RETRY_MS * 1000);
	}
	if (rc != PV_OK)
		log_kv(LOG_WARN, "upload failure not recorded: tried again later", "id", id,
		       "reason", pv_strerror(rc), NULL);
}

int job_work_once(const job_env *env, int *claimed)
{
	store *st = env->st;
	int64_t lease = env->lease_ms > 0 ? env->lease_ms : JOB_LEASE_MS;
	store_upload u;
	int rc;

	*claimed = 0;
	rc = store_upload_claim(st, env->worker, util_now_ms(), lease, &u);
	if (rc != PV_OK)
		return rc;
	*claimed = 1;
	rc = job_run(env, &u);
	if (rc == PV_ENOSPACE) {
		/* the disk is full: say so rather than try again every second
		 * (what was committed stays) */
		log_kv(LOG_ERROR, "upload failed: the disk is full", "id", u.id, NULL);
		wk_fail_disk_full(env, u.id, lease);
	} else if (rc != PV_OK && rc != PV_ESTOPPED && rc != PV_ECONFLICT) {
		/* the store failed: hand the upload back, to be tried again
		 * from its cursor (if this fails too, the lease expires) */
		store_upload_finish(st, u.id, STORE_UP_QUEUED, "", env->worker, util_now_ms());
	}
	return rc;
}

static void *wk_main(void *arg)
{
	worker *me = arg;
	job_workers *s = me->set;
	job_env env = s->env;

	env.worker = me->id;
	env.stop = &s->stop;
	while (!atomic_load(&s->stop)) {
		uint64_t seen;
		int rc, claimed;

		pthread_mutex_lock(&s->mu);
		seen = s->gen;
		pthread_mutex_unlock(&s->mu);
		rc = job_work_once(&env, &claimed);
		if (rc == PV_OK || rc == PV_ESTOPPED || rc == PV_ECONFLICT)
			continue;
		if (!claimed && rc != PV_ENOTFOUND)
			log_kv(LOG_WARN, "upload claim failed", "worker", me->id,
			       "reason", pv_strerror(rc), NULL);
		/* nothing to do, or the store failed: a little later */
		wk_wait(s, seen, WORKER_POLL_MS);
	}
	return NULL;
}

int job_workers_start(const job_env *env, int n, job_workers **out)
{
	job_workers *s;
	char run[UUID_STR_LEN];
	int rc = PV_OK;

	*out = NULL;
	if (!env || !env->st || n < 1 || n > WORKERS_MAX)
		return PV_EINVAL;
	s = calloc(1, sizeof *s);
	if (!s)
		return PV_ENOMEM;
	s->env = *env;
	s->n = n;
	atomic_init(&s->stop, 0);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_mutex_lock(&cur_mu);
	if (cur) {
		pthread_mutex_unlock(&cur_mu);
		rc = PV_EBUSY;
		goto fail;
	}
	cur = s;
	pthread_mutex_unlock(&cur_mu);
	/* worker ids are unique per process start, so that an upload held by
	 * a process that died is never mistaken for one of ours */
	util_uuid(run);
	for (int i = 0; i < n; i++) {
		worker *w = &s->w[i];

		w->set = s;
		snprintf(w->id, sizeof w->id, "upload-%.8s-%d", run, i);
		if (pthread_create(&w->thread, NULL, wk_main, w) != 0) {
			rc = PV_ENOMEM;
			break;
		}
		w->started = 1;
	}
	if (rc != PV_OK) {
		job_workers_stop(s);
		return rc;
	}
	*out = s;
	return PV_OK;
fail:
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return rc;
}

void job_kick(void)
{
	pthread_mutex_lock(&cur_mu);
	if (cur) {
		pthread_mutex_lock(&cur->mu);
		cur->gen++;
		pthread_cond_signal(&cur->cond);
		pthread_mutex_unlock(&cur->mu);
	}
	pthread_mutex_unlock(&cur_mu);
}

void job_workers_ask_stop(job_workers *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stop, 1);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

void job_workers_stop(job_workers *s)
{
	if (!s)
		return;
	job_workers_ask_stop(s);
	for (int i = 0; i < s->n; i++)
		if (s->w[i].started)
			pthread_join(s->w[i].thread, NULL);
	pthread_mutex_lock(&cur_mu);
	if (cur == s)
		cur = NULL;
	pthread_mutex_unlock(&cur_mu);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
