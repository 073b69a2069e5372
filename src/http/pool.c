#include "http/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define POOL_MAX_THREADS 256

struct pool_job {
	http_pool_fn fn;
	void *arg;
	int64_t queued_ns;
};

struct http_pool {
	char name[16];
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct pool_job *q; /* ring of queue_max jobs */
	int queue_max, head, count;
	int reserved;       /* places taken (queued or about to be) */
	int running;
	int stopping;
	int64_t timeout_ns;
	uint64_t shed;
	int nthreads;
	pthread_t th[POOL_MAX_THREADS];
};

static void *pool_main(void *arg)
{
	http_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct pool_job j;
		int stale;

		while (p->count == 0 && !(p->stopping && p->reserved == 0))
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->count == 0)
			break; /* stopping, and nothing is on its way */
		j = p->q[p->head];
		p->head = (p->head + 1) % p->queue_max;
		p->count--;
		p->running++;
		stale = p->timeout_ns > 0 && util_mono_ns() - j.queued_ns > p->timeout_ns;
		if (stale)
			p->shed++;
		pthread_mutex_unlock(&p->lock);
		j.fn(j.arg, stale);
		pthread_mutex_lock(&p->lock);
		p->running--;
		p->reserved--;
		if (p->stopping)
			pthread_cond_broadcast(&p->wake);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int http_pool_start(const char *name, int threads, int queue_max,
		    int64_t timeout_ms, http_pool **out)
{
	http_pool *p;
	int i;

	*out = NULL;
	if (threads < 1 || threads > POOL_MAX_THREADS || queue_max < 1)
		return PV_EINVAL;
	if (!(p = calloc(1, sizeof *p)))
		return PV_ENOMEM;
	if (!(p->q = calloc((size_t)queue_max, sizeof *p->q))) {
		free(p);
		return PV_ENOMEM;
	}
	util_strlcpy(p->name, name, sizeof p->name);
	p->queue_max = queue_max;
	p->timeout_ns = timeout_ms * 1000000LL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&p->th[i], NULL, pool_main, p) != 0)
			break;
		p->nthreads++;
	}
	if (p->nthreads == 0) {
		http_pool_stop(p);
		return PV_ENOMEM;
	}
	*out = p;
	return PV_OK;
}

int http_pool_reserve(http_pool *p)
{
	int rc = PV_OK;

	pthread_mutex_lock(&p->lock);
	if (p->stopping)
		rc = PV_ESTOPPED;
	else if (p->reserved >= p->queue_max)
		rc = PV_ELIMIT;
	else
		p->reserved++;
	if (rc == PV_ELIMIT)
		p->shed++;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void http_pool_submit(http_pool *p, http_pool_fn fn, void *arg)
{
	pthread_mutex_lock(&p->lock);
	/* reserved places never outnumber the ring: this slot is free */
	p->q[(p->head + p->count) % p->queue_max] = (struct pool_job){fn, arg, util_mono_ns()};
	p->count++;
	/* under the lock: once it is released, a stopping pool may run this
	 * job, join its threads and destroy the condition (ThreadSanitizer
	 * saw the signal land on a destroyed one at a server's stop) */
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

int64_t http_pool_depth(const http_pool *p)
{
	int64_t n;

	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	n = p->reserved;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return n;
}

uint64_t http_pool_shed(const http_pool *p)
{
	uint64_t n;

	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	n = p->shed;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return n;
}

void http_pool_quiesce(http_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	/* only the stopping thread joins: nthreads is its own from here */
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	p->nthreads = 0;
}

void http_pool_stop(http_pool *p)
{
	if (!p)
		return;
	http_pool_quiesce(p);
	if (p->reserved)
		log_kv(LOG_ERROR, "work pool stopped with jobs reserved", "pool", p->name, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->q);
	free(p);
}
