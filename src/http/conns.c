#include "http/conns.h"

#include <netinet/in.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define CONNS_BUCKETS 4096
#define CONNS_TICK_MS 250
#define CONNS_LOG_EVERY_MS 60000

enum conn_phase { PH_HEADER = 0, PH_BODY, PH_WORK, PH_SEND };

/* The phase and its deadline are written by the connection's HTTP thread
 * and read by the reaper: atomics. prev/next and reaped are guarded by
 * conns_lock. */
struct conn_rec {
	conn_rec *prev, *next;
	struct ip_count *ip; /* NULL: not counted (trusted proxy) */
	int fd;
	int reaped;
	int phase;          /* enum conn_phase, atomic */
	int64_t deadline;   /* ms (monotonic), atomic */
};

/* Open connections of one address (conns_lock). */
struct ip_count {
	struct ip_count *next;
	uint8_t a[16];
	int n;
};

static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static conns_cfg conns_c;
static conn_rec *conns_head;
static struct ip_count *conns_ips[CONNS_BUCKETS];
static int64_t conns_open;
static uint64_t conns_refused, conns_reaped;
static pthread_t conns_thread;
static int conns_running;
static pthread_cond_t conns_wake = PTHREAD_COND_INITIALIZER;

static int64_t conns_now_ms(void)
{
	return util_mono_ns() / 1000000;
}

static int conns_addr16(const struct sockaddr *sa, uint8_t a[16])
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(a, v4, 12);
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 1;
	}
	return 0;
}

static unsigned conns_hash(const uint8_t a[16])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h % CONNS_BUCKETS;
}

/* The count of address a (conns_lock held); create makes it if absent. */
static struct ip_count *conns_ip(const uint8_t a[16], int create)
{
	struct ip_count **b = &conns_ips[conns_hash(a)], *e;

	for (e = *b; e; e = e->next)
		if (memcmp(e->a, a, 16) == 0)
			return e;
	if (!create || !(e = calloc(1, sizeof *e)))
		return NULL;
	memcpy(e->a, a, 16);
	e->next = *b;
	*b = e;
	return e;
}

static void conns_ip_drop(struct ip_count *e)
{
	struct ip_count **b = &conns_ips[conns_hash(e->a)];

	if (--e->n > 0)
		return;
	while (*b && *b != e)
		b = &(*b)->next;
	if (*b)
		*b = e->next;
	free(e);
}

int conns_accept(const struct sockaddr *sa)
{
	uint8_t a[16];
	struct ip_count *e;
	int ok = 1;

	if (conns_c.max_per_ip <= 0 || !conns_addr16(sa, a) ||
	    (conns_c.trusted && net_cidrs_match(conns_c.trusted, a)))
		return 1;
	pthread_mutex_lock(&conns_lock);
	e = conns_ip(a, 0);
	if (e && e->n >= conns_c.max_per_ip) {
		ok = 0;
		conns_refused++;
	}
	pthread_mutex_unlock(&conns_lock);
	return ok;
}

conn_rec *conns_opened(int fd, const struct sockaddr *sa)
{
	conn_rec *r = calloc(1, sizeof *r);
	uint8_t a[16];
	int counted;

	if (!r)
		return NULL;
	r->fd = fd;
	r->phase = PH_HEADER;
	r->deadline = conns_now_ms() + conns_c.header_timeout_ms;
	counted = conns_addr16(sa, a) &&
		  !(conns_c.trusted && net_cidrs_match(conns_c.trusted, a));
	pthread_mutex_lock(&conns_lock);
	if (counted && (r->ip = conns_ip(a, 1)) != NULL)
		r->ip->n++;
	r->next = conns_head;
	if (conns_head)
		conns_head->prev = r;
	conns_head = r;
	conns_open++;
	pthread_mutex_unlock(&conns_lock);
	return r;
}

void conns_closed(conn_rec *r)
{
	if (!r)
		return;
	/* libmicrohttpd calls this before it closes the socket: once the lock
	 * is ours the reaper can no longer touch this fd */
	pthread_mutex_lock(&conns_lock);
	if (r->prev)
		r->prev->next = r->next;
	else
		conns_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->ip)
		conns_ip_drop(r->ip);
	conns_open--;
	pthread_mutex_unlock(&conns_lock);
	free(r);
}

static void conns_set(conn_rec *r, int phase, int64_t deadline)
{
	__atomic_store_n(&r->deadline, deadline, __ATOMIC_RELAXED);
	__atomic_store_n(&r->phase, phase, __ATOMIC_RELEASE);
}

/* The time allowed for n bytes: the minimum allowance, or n at the
 * minimum rate when that takes longer. */
static int64_t conns_allow_ms(int64_t n)
{
	int64_t ms = conns_c.body_timeout_ms;

	if (n > 0 && conns_c.min_rate > 0 && n / conns_c.min_rate * 1000 > ms)
		ms = n / conns_c.min_rate * 1000;
	return ms;
}

void conns_begin(conn_rec *r, int64_t body_len)
{
	if (r)
		conns_set(r, PH_BODY, conns_now_ms() + conns_allow_ms(body_len));
}

void conns_work(conn_rec *r)
{
	if (r)
		conns_set(r, PH_WORK, INT64_MAX);
}

void conns_sending(conn_rec *r, uint64_t bytes)
{
	if (r)
		conns_set(r, PH_SEND, conns_now_ms() +
					   conns_allow_ms(bytes > INT64_MAX ? INT64_MAX : (int64_t)bytes));
}

void conns_end(conn_rec *r)
{
	if (r)
		conns_set(r, PH_HEADER, conns_now_ms() + conns_c.header_timeout_ms);
}

int conns_expired(const conn_rec *r)
{
	return r && __atomic_load_n(&r->phase, __ATOMIC_ACQUIRE) != PH_WORK &&
	       conns_now_ms() > __atomic_load_n(&r->deadline, __ATOMIC_RELAXED);
}

void conns_counters(uint64_t *refused, uint64_t *reaped, int64_t *open)
{
	pthread_mutex_lock(&conns_lock);
	*refused = conns_refused;
	*reaped = conns_reaped;
	*open = conns_open;
	pthread_mutex_unlock(&conns_lock);
}

static void *conns_main(void *arg)
{
	uint64_t logged_refused = 0, logged_reaped = 0;
	int64_t last_log = conns_now_ms();

	(void)arg;
	pthread_mutex_lock(&conns_lock);
	while (conns_running) {
		struct timespec ts;
		int64_t now = conns_now_ms();

		for (conn_rec *r = conns_head; r; r = r->next) {
			if (r->reaped || !conns_expired(r))
				continue;
			/* the socket is still open: its close waits for this
			 * lock (conns_closed) */
			shutdown(r->fd, SHUT_RDWR);
			r->reaped = 1;
			conns_reaped++;
		}
		if (now - last_log >= CONNS_LOG_EVERY_MS &&
		    (conns_refused != logged_refused || conns_reaped != logged_reaped)) {
			char refused[24], reaped[24];

			snprintf(refused, sizeof refused, "%llu",
				 (unsigned long long)(conns_refused - logged_refused));
			snprintf(reaped, sizeof reaped, "%llu",
				 (unsigned long long)(conns_reaped - logged_reaped));
			logged_refused = conns_refused;
			logged_reaped = conns_reaped;
			last_log = now;
			log_kv(LOG_WARN, "connections refused (per-address limit) or closed (too slow) in the last minute",
			       "refused", refused, "closed", reaped, NULL);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += CONNS_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&conns_wake, &conns_lock, &ts);
	}
	pthread_mutex_unlock(&conns_lock);
	return NULL;
}

int conns_start(const conns_cfg *cfg)
{
	conns_c = *cfg;
	conns_running = 1;
	if (pthread_create(&conns_thread, NULL, conns_main, NULL) != 0) {
		conns_running = 0;
		return PV_ENOMEM;
	}
	return PV_OK;
}

void conns_stop(void)
{
	pthread_mutex_lock(&conns_lock);
	if (!conns_running) {
		pthread_mutex_unlock(&conns_lock);
		return;
	}
	conns_running = 0;
	pthread_cond_signal(&conns_wake);
	pthread_mutex_unlock(&conns_lock);
	pthread_join(conns_thread, NULL);
}
