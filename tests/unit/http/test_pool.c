/* test_pool.c: the work pool sheds what it has no room for, says when a
 * job waited too long, and runs every queued job before it stops. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "http/pool.h"
#include "util/err.h"

struct job {
	pthread_mutex_t *gate; /* the job waits here until the test opens it */
	int ran, stale;
};

static void work(void *arg, int stale)
{
	struct job *j = arg;

	if (j->gate) {
		pthread_mutex_lock(j->gate);
		pthread_mutex_unlock(j->gate);
	}
	__atomic_store_n(&j->stale, stale, __ATOMIC_SEQ_CST);
	__atomic_store_n(&j->ran, 1, __ATOMIC_SEQ_CST);
}

static void test_shed_and_drain(void **state)
{
	pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
	struct job jobs[4];
	http_pool *p;

	(void)state;
	memset(jobs, 0, sizeof jobs);
	assert_int_equal(http_pool_start("t", 1, 3, 0, &p), PV_OK);
	pthread_mutex_lock(&gate);
	/* three places: the fourth is refused at once */
	for (int i = 0; i < 3; i++) {
		jobs[i].gate = &gate;
		assert_int_equal(http_pool_reserve(p), PV_OK);
		http_pool_submit(p, work, &jobs[i]);
	}
	assert_int_equal(http_pool_reserve(p), PV_ELIMIT);
	assert_int_equal(http_pool_shed(p), 1);
	assert_int_equal(http_pool_depth(p), 3);
	pthread_mutex_unlock(&gate);
	/* stopping runs every queued job first */
	http_pool_stop(p);
	for (int i = 0; i < 3; i++)
		assert_int_equal(jobs[i].ran, 1);
	assert_int_equal(http_pool_start("t", 0, 3, 0, &p), PV_EINVAL);
}

struct submit_arg {
	http_pool *p;
	struct job *j;
};

static void *submit_main(void *arg)
{
	struct submit_arg *a = arg;

	http_pool_submit(a->p, work, a->j);
	return NULL;
}

/* A job submitted while the pool stops: the stop runs it, and the
 * submitter is done with the pool before the pool is freed (it used to
 * signal the condition after unlocking, which a stop could have destroyed
 * by then: ThreadSanitizer saw it at a server's stop). Many rounds, so
 * that the sanitizer builds meet the window. */
static void test_submit_during_stop(void **state)
{
	(void)state;
	for (int round = 0; round < 500; round++) {
		struct job j = {0};
		struct submit_arg a;
		pthread_t th;
		http_pool *p;

		assert_int_equal(http_pool_start("t", 2, 4, 0, &p), PV_OK);
		assert_int_equal(http_pool_reserve(p), PV_OK);
		a.p = p;
		a.j = &j;
		assert_int_equal(pthread_create(&th, NULL, submit_main, &a), 0);
		/* the job run: the submitter may not yet be back from submit */
		while (!__atomic_load_n(&j.ran, __ATOMIC_SEQ_CST))
			sched_yield();
		http_pool_stop(p);
		pthread_join(th, NULL);
		assert_int_equal(j.ran, 1);
	}
}

static void test_stale(void **state)
{
	pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
	struct job first, waiting;
	http_pool *p;

	(void)state;
	memset(&first, 0, sizeof first);
	memset(&waiting, 0, sizeof waiting);
	assert_int_equal(http_pool_start("t", 1, 4, 50, &p), PV_OK);
	pthread_mutex_lock(&gate);
	first.gate = &gate;
	assert_int_equal(http_pool_reserve(p), PV_OK);
	http_pool_submit(p, work, &first);
	assert_int_equal(http_pool_reserve(p), PV_OK);
	http_pool_submit(p, work, &waiting);
	usleep(120000); /* the second waits behind the first past 50 ms */
	pthread_mutex_unlock(&gate);
	http_pool_stop(p);
	assert_int_equal(waiting.ran, 1);
	assert_int_equal(waiting.stale, 1);
}

/* A quiesced pool has run its queue and refuses new places, yet stays
 * readable: the server asks it until its HTTP threads are stopped. */
static void test_quiesce_refuses(void **state)
{
	struct job j = {0};
	http_pool *p;

	(void)state;
	assert_int_equal(http_pool_start("t", 2, 4, 0, &p), PV_OK);
	assert_int_equal(http_pool_reserve(p), PV_OK);
	http_pool_submit(p, work, &j);
	http_pool_quiesce(p);
	assert_int_equal(j.ran, 1);
	assert_int_equal(http_pool_reserve(p), PV_ESTOPPED);
	assert_int_equal(http_pool_depth(p), 0);
	assert_int_equal(http_pool_shed(p), 0); /* a refusal at a stop is no shed */
	http_pool_quiesce(p); /* again: nothing to join */
	http_pool_stop(p);
	http_pool_quiesce(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shed_and_drain),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_submit_during_stop),
		cmocka_unit_test(test_quiesce_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
