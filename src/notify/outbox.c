/* outbox: the durable notification queue and its delivery workers.
 *
 * A change that must tell someone (an OTP, an activation link, a welcome,
 * a decision) writes an outbox row in the same transaction as the change
 * (notify_enqueue). Worker threads claim due rows with a lease, render the
 * template, send through the channel's transport and mark the row sent; a
 * failed send is rescheduled with exponential back-off until max_attempts,
 * then marked failed. Delivery is at least once: a worker that dies after
 * sending but before marking leaves a row whose lease expires and which
 * is sent again.
 *
 * Threads: workers wait on one condition variable, signalled by
 * notify_kick() (a message enqueued by this process) and timing out after
 * poll_ms (a message enqueued by another process). A generation counter
 * guarded by the mutex means a kick between a worker's empty claim and its
 * wait is not lost. */
#include "notify/notify.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify_int.h"
#include "util/log.h"
#include "util/util.h"

/* The running runtime, for notify_kick(). Guarded by notify_current_mu. */
static pthread_mutex_t notify_current_mu = PTHREAD_MUTEX_INITIALIZER;
static notify_runtime *notify_current;

int notify__channel(const char *channel)
{
	if (strcmp(channel, NOTIFY_CHANNEL_SMS) == 0)
		return 0;
	if (strcmp(channel, NOTIFY_CHANNEL_EMAIL) == 0)
		return 1;
	return -1;
}

int64_t notify_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms)
{
	int64_t d = base_ms > 0 ? base_ms : 1;

	for (int i = 1; i < attempts && d < max_ms; i++)
		d *= 2;
	return d < max_ms ? d : max_ms;
}

static int notify_copy(char *dst, size_t cap, const char *src)
{
	return util_strlcpy(dst, src, cap) == PV_OK ? PV_OK : PV_ELIMIT;
}

#define NOTIFY_SEAL_TAG "enc1:"

static unsigned char notify_key[crypto_secretbox_KEYBYTES];
static int notify_have_key;

void notify_set_key(const unsigned char key[32])
{
	memcpy(notify_key, key, sizeof notify_key);
	notify_have_key = 1;
}

int notify_seal_params(const char *params_json, char *out, size_t cap)
{
	size_t n = strlen(params_json), boxed = crypto_secretbox_NONCEBYTES +
						    crypto_secretbox_MACBYTES + n;
	size_t tag = strlen(NOTIFY_SEAL_TAG);
	unsigned char *raw;
	int rc = PV_OK;

	if (!notify_have_key)
		return notify_copy(out, cap, params_json);
	if (tag + sodium_base64_ENCODED_LEN(boxed, sodium_base64_VARIANT_ORIGINAL) > cap)
		return PV_ELIMIT;
	if (!(raw = malloc(boxed)))
		return PV_ENOMEM;
	randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
	if (crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES,
				  (const unsigned char *)params_json, n, raw, notify_key) != 0)
		rc = PV_EINVAL;
	if (rc == PV_OK) {
		memcpy(out, NOTIFY_SEAL_TAG, tag);
		sodium_bin2base64(out + tag, cap - tag, raw, boxed, sodium_base64_VARIANT_ORIGINAL);
	}
	sodium_memzero(raw, boxed);
	free(raw);
	return rc;
}

int notify_open_params(const char *stored, char *out, size_t cap)
{
	size_t tag = strlen(NOTIFY_SEAL_TAG), len = 0;
	unsigned char raw[STORE_JSON_MAX];
	int rc = PV_EFORMAT;

	if (strncmp(stored, NOTIFY_SEAL_TAG, tag) != 0)
		return notify_copy(out, cap, stored); /* a row stored in clear */
	if (!notify_have_key ||
	    sodium_base642bin(raw, sizeof raw, stored + tag, strlen(stored + tag), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES ||
	    len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES >= cap)
		goto out;
	if (crypto_secretbox_open_easy((unsigned char *)out, raw + crypto_secretbox_NONCEBYTES,
				       len - crypto_secretbox_NONCEBYTES, raw, notify_key) != 0)
		goto out;
	out[len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES] = '\0';
	rc = PV_OK;
out:
	sodium_memzero(raw, sizeof raw);
	return rc;
}

int notify_enqueue(store *s, const char *channel, const char *to,
		   const char *template_name, const char *lang,
		   const char *params_json, int64_t *id)
{
	return notify_enqueue_at(s, channel, to, template_name, lang, params_json, util_now_ms(),
				 id);
}

int notify_enqueue_at(store *s, const char *channel, const char *to,
		      const char *template_name, const char *lang,
		      const char *params_json, int64_t now, int64_t *id)
{
	store_outbox m;
	json_t *params = NULL;
	json_error_t jerr;
	int r;

	if (!s || !channel || notify__channel(channel) < 0 || !to ||
	    !to[0] || !template_name || !template_name[0])
		return PV_EINVAL;
	for (const char *c = template_name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '_'))
			return PV_EINVAL;
	for (const char *c = to; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return PV_EINVAL;
	if (!params_json || !params_json[0])
		params_json = "{}";
	params = json_loads(params_json, JSON_REJECT_DUPLICATES, &jerr);
	r = params && json_is_object(params) ? PV_OK : PV_EINVAL;
	json_decref(params);
	if (r != PV_OK)
		return r;
	memset(&m, 0, sizeof m);
	if (notify_copy(m.channel, sizeof m.channel, channel) ||
	    notify_copy(m.to_addr, sizeof m.to_addr, to) ||
	    notify_copy(m.template_name, sizeof m.template_name, template_name) ||
	    notify_copy(m.lang, sizeof m.lang, lang && lang[0] ? lang : "en") ||
	    notify_seal_params(params_json, m.params, sizeof m.params) ||
	    notify_copy(m.status, sizeof m.status, STORE_OUT_QUEUED))
		return PV_ELIMIT;
	m.attempts = 0;
	m.next_at = now;
	m.created_at = now;
	r = store_outbox_insert(s, &m);
	if (r != PV_OK)
		return r;
	if (id)
		*id = m.id;
	notify_kick();
	return PV_OK;
}

void notify_kick(void)
{
	pthread_mutex_lock(&notify_current_mu);
	if (notify_current) {
		pthread_mutex_lock(&notify_current->mu);
		notify_current->kick_gen++;
		pthread_cond_signal(&notify_current->cond);
		pthread_mutex_unlock(&notify_current->mu);
	}
	pthread_mutex_unlock(&notify_current_mu);
}

void notify_counters_get(const notify_runtime *rt, notify_counters *out)
{
	memset(out, 0, sizeof *out);
	if (!rt)
		return;
	for (int i = 0; i < 2; i++) {
		out->sent[i] = atomic_load(&rt->sent[i]);
		out->retried[i] = atomic_load(&rt->retried[i]);
		out->failed[i] = atomic_load(&rt->failed[i]);
	}
}

static void notify_log(int level, const char *msg, const store_outbox *m,
		       const char *worker, const char *error)
{
	char masked[300], id[24], attempt[16];

	notify_mask(m->to_addr, masked, sizeof masked);
	snprintf(id, sizeof id, "%lld", (long long)m->id);
	snprintf(attempt, sizeof attempt, "%d", m->attempts + 1);
	if (error)
		log_kv(level, msg, "outbox_id", id, "channel", m->channel,
		       "template", m->template_name, "to", masked, "attempt",
		       attempt, "worker", worker, "error", error, NULL);
	else
		log_kv(level, msg, "outbox_id", id, "channel", m->channel,
		       "template", m->template_name, "to", masked, "attempt",
		       attempt, "worker", worker, NULL);
}

/* How an attempt ended, as the outbox records it. */
enum notify_outcome { NOTIFY_SENT, NOTIFY_RETRY, NOTIFY_FAILED };

#define NOTIFY_RECORD_TRIES 5
#define NOTIFY_RECORD_PAUSE_MS 10

/* Records the outcome of an attempt. A store that fails (busy, I/O, a
 * full disk) is tried again a few times, a little later each time: an
 * unrecorded send would be sent once more when its lease expires. */
static int notify_record(store *st, const store_outbox *m, enum notify_outcome o,
			 int attempts, int64_t next_at, const char *err)
{
	int r = PV_ESTORE;

	for (int i = 0; i < NOTIFY_RECORD_TRIES; i++) {
		if (i) {
			int64_t ms = (int64_t)NOTIFY_RECORD_PAUSE_MS << (i - 1);
			struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
		switch (o) {
		case NOTIFY_SENT:
			r = store_outbox_sent(st, m->id, util_now_ms());
			break;
		case NOTIFY_RETRY:
			r = store_outbox_retry(st, m->id, attempts, next_at, err);
			break;
		default:
			r = store_outbox_fail(st, m->id, attempts, err);
		}
		if (r != PV_ESTORE && r != PV_EBUSY && r != PV_ENOSPACE)
			break;
	}
	return r;
}

/* The store refused to record an outcome even after trying again: the
 * lease will expire and the message will be tried again (at least once
 * delivery). */
static void notify_store_err(int r, const store_outbox *m, const char *worker)
{
	if (r != PV_OK)
		notify_log(LOG_ERROR, "outbox: cannot record the outcome", m,
			   worker, pv_strerror(r));
}

int notify__send(notify_runtime *rt, int ch, const char *to, const char *tpl,
		 const char *lang, const char *params_json, char *err,
		 size_t errlen, int *permanent)
{
	const notify_config *cfg = &rt->cfg;
	notify_transport *tr = ch == 0 ? cfg->sms : ch == 1 ? cfg->mail : NULL;
	notify_rendered rd = {0};
	notify_msg msg;
	int r;

	*permanent = 1;
	if (!tr) {
		util_strlcpy(err, ch < 0 ? "unknown channel"
					 : "no transport for this channel",
			     errlen);
		return PV_EINVAL;
	}
	/* the same template and parameters fail again */
	r = notify_render(cfg->templates, tpl, lang, params_json, &rd, err, errlen);
	if (r != PV_OK)
		return r;
	msg.channel = ch == 0 ? NOTIFY_CHANNEL_SMS : NOTIFY_CHANNEL_EMAIL;
	msg.to = to;
	msg.template_name = tpl;
	msg.template_id = rd.template_id;
	msg.subject = rd.subject;
	msg.text = rd.text;
	r = tr->send(tr, &msg, err, errlen);
	*permanent = r == PV_EINVAL;
	notify_rendered_free(&rd);
	return r;
}

/* Renders and sends one claimed message, then records the outcome. */
static void notify_deliver(notify_runtime *rt, const char *worker,
			   const store_outbox *m)
{
	const notify_config *cfg = &rt->cfg;
	store *st = cfg->st;
	int ch = notify__channel(m->channel);
	char err[STORE_TEXT_MAX / 4] = "", params[STORE_JSON_MAX];
	int attempts = m->attempts + 1, r, permanent = 1;

	r = notify_open_params(m->params, params, sizeof params);
	if (r != PV_OK)
		util_strlcpy(err, "the message's parameters cannot be opened (another server key?)",
			     sizeof err);
	else
		r = notify__send(rt, ch, m->to_addr, m->template_name, m->lang, params,
				 err, sizeof err, &permanent);
	sodium_memzero(params, sizeof params);
	if (r == PV_OK) {
		r = notify_record(st, m, NOTIFY_SENT, attempts, 0, NULL);
		notify_store_err(r, m, worker);
		if (r == PV_OK) {
			atomic_fetch_add(&rt->sent[ch], 1);
			notify_log(LOG_INFO, "message sent", m, worker, NULL);
		}
	} else if (permanent || attempts >= cfg->max_attempts) {
		if (!err[0])
			util_strlcpy(err, pv_strerror(r), sizeof err);
		notify_log(LOG_ERROR, "message failed", m, worker, err);
		r = notify_record(st, m, NOTIFY_FAILED, attempts, 0, err);
		notify_store_err(r, m, worker);
		if (r == PV_OK && ch >= 0)
			atomic_fetch_add(&rt->failed[ch], 1);
	} else {
		int64_t next = util_now_ms() +
			       notify_backoff_ms(attempts, cfg->backoff_ms,
						 cfg->backoff_max_ms);

		if (!err[0])
			util_strlcpy(err, pv_strerror(r), sizeof err);
		notify_log(LOG_WARN, "message will be retried", m, worker, err);
		r = notify_record(st, m, NOTIFY_RETRY, attempts, next, err);
		notify_store_err(r, m, worker);
		if (r == PV_OK)
			atomic_fetch_add(&rt->retried[ch], 1);
	}
}

int notify__interrupted(notify_runtime *rt, uint64_t gen)
{
	int r;

	pthread_mutex_lock(&rt->mu);
	r = rt->stopping || rt->kick_gen != gen;
	pthread_mutex_unlock(&rt->mu);
	return r;
}

static void notify_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *notify_worker_main(void *arg)
{
	notify_worker *w = arg;
	notify_runtime *rt = w->rt;
	store *st = rt->cfg.st;
	int last_err = PV_OK;

	for (;;) {
		store_outbox m;
		uint64_t gen;
		int r;

		pthread_mutex_lock(&rt->mu);
		if (rt->stopping) {
			pthread_mutex_unlock(&rt->mu);
			break;
		}
		gen = rt->kick_gen;
		pthread_mutex_unlock(&rt->mu);

		/* the outbox first (codes wait for no campaign), then a slice
		 * of a campaign */
		memset(&m, 0, sizeof m);
		r = store_outbox_claim(st, w->id, util_now_ms(),
					  rt->cfg.lease_ms, &m);
		if (r == PV_OK) {
			last_err = PV_OK;
			notify_deliver(rt, w->id, &m);
			continue;
		}
		if (r == PV_ENOTFOUND)
			r = notify__campaign_slice(rt, w->id, gen);
		if (r == PV_OK) {
			last_err = PV_OK;
			continue;
		}
		if (r != PV_ENOTFOUND && r != last_err) /* log a change once */
			log_kv(LOG_ERROR, "outbox: cannot claim messages",
			       "worker", w->id, "error", pv_strerror(r), NULL);
		last_err = r == PV_ENOTFOUND ? PV_OK : r;

		pthread_mutex_lock(&rt->mu);
		if (!rt->stopping && rt->kick_gen == gen) {
			struct timespec ts;

			notify_deadline(&ts, rt->cfg.poll_ms);
			pthread_cond_timedwait(&rt->cond, &rt->mu, &ts);
		}
		pthread_mutex_unlock(&rt->mu);
	}
	return NULL;
}

static void notify_free(notify_runtime *rt)
{
	if (!rt)
		return;
	pthread_cond_destroy(&rt->cond);
	pthread_mutex_destroy(&rt->mu);
	free(rt);
}

void notify_stop(notify_runtime *rt)
{
	if (!rt)
		return;
	pthread_mutex_lock(&notify_current_mu);
	if (notify_current == rt)
		notify_current = NULL;
	pthread_mutex_unlock(&notify_current_mu);

	pthread_mutex_lock(&rt->mu);
	rt->stopping = 1;
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->mu);
	for (int i = 0; i < NOTIFY_MAX_WORKERS; i++)
		if (rt->workers[i].started)
			pthread_join(rt->workers[i].thread, NULL);
	notify_free(rt);
}

int notify_start(const notify_config *cfg, notify_runtime **out)
{
	notify_runtime *rt = NULL;
	pthread_condattr_t ca;
	char host[48] = "";
	int r = PV_OK, have_cond = 0, have_mu = 0;

	*out = NULL;
	if (!cfg || !cfg->st || !cfg->templates || (!cfg->sms && !cfg->mail) ||
	    cfg->workers < 0 || cfg->workers > NOTIFY_MAX_WORKERS)
		return PV_EINVAL;
	rt = calloc(1, sizeof *rt);
	if (!rt)
		return PV_ENOMEM;
	rt->cfg = *cfg;
	if (rt->cfg.workers == 0)
		rt->cfg.workers = 2;
	if (rt->cfg.max_attempts <= 0)
		rt->cfg.max_attempts = 8;
	if (rt->cfg.lease_ms <= 0)
		rt->cfg.lease_ms = 60000;
	if (rt->cfg.poll_ms <= 0)
		rt->cfg.poll_ms = 500;
	if (rt->cfg.backoff_ms <= 0)
		rt->cfg.backoff_ms = 1000;
	if (rt->cfg.backoff_max_ms <= 0)
		rt->cfg.backoff_max_ms = 300000;

	if (pthread_mutex_init(&rt->mu, NULL) != 0) {
		r = PV_ENOMEM;
		goto fail;
	}
	have_mu = 1;
	if (pthread_condattr_init(&ca) != 0) {
		r = PV_ENOMEM;
		goto fail;
	}
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&rt->cond, &ca) == 0 ? PV_OK : PV_ENOMEM;
	pthread_condattr_destroy(&ca);
	if (r != PV_OK)
		goto fail;
	have_cond = 1;

	pthread_mutex_lock(&notify_current_mu);
	if (notify_current) {
		pthread_mutex_unlock(&notify_current_mu);
		r = PV_EBUSY;
		goto fail;
	}
	notify_current = rt;
	pthread_mutex_unlock(&notify_current_mu);

	if (gethostname(host, sizeof host - 1) != 0)
		util_strlcpy(host, "localhost", sizeof host);
	host[sizeof host - 1] = '\0';
	for (int i = 0; i < rt->cfg.workers; i++) {
		notify_worker *w = &rt->workers[i];

		w->rt = rt;
		snprintf(w->id, sizeof w->id, "%.40s:%ld:%d", host,
			 (long)getpid(), i);
		if (pthread_create(&w->thread, NULL, notify_worker_main, w) !=
		    0) {
			log_kv(LOG_ERROR, "outbox: cannot start a worker", NULL);
			notify_stop(rt); /* joins the ones started */
			return PV_ENOMEM;
		}
		w->started = 1;
	}
	*out = rt;
	return PV_OK;
fail:
	if (have_cond)
		pthread_cond_destroy(&rt->cond);
	if (have_mu)
		pthread_mutex_destroy(&rt->mu);
	free(rt);
	return r;
}
