/* pool: threads that run the work of requests away from the HTTP threads,
 * with a bounded queue. The HTTP thread reserves a place (or answers 503
 * at once when there is none: the server sheds what it cannot serve
 * instead of queueing without bound), suspends the connection, and hands
 * the job over; the job resumes the connection when done. A job that
 * waited longer than the pool's queue timeout is told so (it answers 503
 * without doing the work: its client has likely given up). */
#ifndef PV_HTTP_POOL_H
#define PV_HTTP_POOL_H

#include <stdint.h>

typedef struct http_pool http_pool;

/* fn(arg, stale): stale is 1 when the job waited past the queue timeout. */
typedef void (*http_pool_fn)(void *arg, int stale);

/* Starts threads workers with room for queue_max waiting jobs; a job older
 * than timeout_ms when a worker takes it runs stale (0: never). name is for
 * logs. *out is released by http_pool_stop(). */
int http_pool_start(const char *name, int threads, int queue_max,
		    int64_t timeout_ms, http_pool **out);

/* Takes a place in the queue: PV_OK, or PV_ELIMIT when it is full and
 * PV_ESTOPPED when the pool is stopping. A place must be used by exactly
 * one http_pool_submit. */
int http_pool_reserve(http_pool *p);
/* Queues fn(arg) in a place reserved before; never fails. */
void http_pool_submit(http_pool *p, http_pool_fn fn, void *arg);

/* Jobs waiting and running now, for metrics. */
int64_t http_pool_depth(const http_pool *p);
/* Jobs refused for a full queue, and run stale, since the start. */
uint64_t http_pool_shed(const http_pool *p);

/* Refuses new places (http_pool_reserve answers PV_ESTOPPED from here on),
 * runs every queued job and joins the threads; p stays valid, so a late
 * caller of http_pool_reserve is refused instead of touching freed memory.
 * Accepts NULL; a second call does nothing. */
void http_pool_quiesce(http_pool *p);

/* http_pool_quiesce, then frees p. Accepts NULL. */
void http_pool_stop(http_pool *p);

#endif
