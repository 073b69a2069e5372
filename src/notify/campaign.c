/* campaign: one message to every user a bulk upload creates, without a
 * row per message (docs/notifications.md, "Campaigns").
 *
 * A campaign is a store record per upload and channel (template, language,
 * the parameters common to every message, sealed like the outbox's) with a
 * cursor: the upload row of the last user handled. The outbox workers walk
 * it between outbox messages, which always come first: a worker claims a
 * due campaign with a lease, reads its next users (in upload row order),
 * and for each renders the template with the common parameters plus the
 * user's first_name, sends it at the transport's pace and then moves the
 * cursor, in the store, past that user. A message that fails is handed to
 * the outbox as an ordinary message (a row with its own retries, back-off,
 * failure and metrics) in the same transaction as the cursor's move, so
 * every user gets one message per channel whatever happens to it. A worker
 * that dies between a send and its record leaves the lease to expire and
 * that one message is sent again: delivery is at least once, as for the
 * outbox.
 *
 * A slice ends after CAMPAIGN_BATCH messages, after CAMPAIGN_SLICE_MS, or
 * as soon as this process queues an outbox message (a kick), so that codes
 * never wait behind a campaign; the campaign is then released, due at once,
 * and any worker takes it up again. When nobody is left after the cursor,
 * the campaign ends if its upload has finished (decided by the store in one
 * step), else it waits poll_ms for the upload's next chunk.
 *
 * A user closed by its owner, or erased, gets no message: the cursor moves
 * past it without a send. A failed message goes to the outbox only if the
 * user is still live in the spill's transaction, so that an erasure, which
 * deletes the person's messages queued up to the closing, leaves none
 * behind. What a worker is sending at the very moment of the closing still
 * goes out (one message, sent once). */
#include "notify/notify.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify_int.h"
#include "util/log.h"
#include "util/util.h"

#define CAMPAIGN_BATCH 16
#define CAMPAIGN_SLICE_MS 1000

int notify_campaign_add(store *s, const char *upload_id, const char *channel,
			const char *template_name, const char *lang,
			const char *params_json, int64_t now)
{
	store_campaign c;
	json_t *params;
	int r;

	if (!s || !upload_id || !*upload_id || !channel ||
	    notify__channel(channel) < 0 || !template_name || !*template_name)
		return PV_EINVAL;
	for (const char *p = template_name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return PV_EINVAL;
	if (!params_json || !*params_json)
		params_json = "{}";
	params = json_loads(params_json, JSON_REJECT_DUPLICATES, NULL);
	r = params && json_is_object(params) ? PV_OK : PV_EINVAL;
	json_decref(params);
	if (r != PV_OK)
		return r;
	memset(&c, 0, sizeof c);
	if (util_strlcpy(c.upload_id, upload_id, sizeof c.upload_id) != PV_OK ||
	    util_strlcpy(c.channel, channel, sizeof c.channel) != PV_OK ||
	    util_strlcpy(c.template_name, template_name, sizeof c.template_name) != PV_OK ||
	    util_strlcpy(c.lang, lang && *lang ? lang : "en", sizeof c.lang) != PV_OK ||
	    notify_seal_params(params_json, c.params, sizeof c.params) != PV_OK)
		return PV_ELIMIT;
	c.created_at = c.next_at = now;
	r = store_campaign_insert(s, &c);
	if (r == PV_OK || r == PV_ECONFLICT) { /* a resumed upload has its own */
		notify_kick();
		return PV_OK;
	}
	return r;
}

/* The campaign a worker holds during a slice. */
typedef struct cslice {
	notify_runtime *rt;
	const char *worker;
	store_campaign c;
	int ch;
	json_t *params; /* the common parameters, opened; NULL: unopenable */
} cslice;

static void camp_log(int level, const char *msg, const cslice *x,
		     const char *to, const char *error)
{
	char masked[300], id[24];

	notify_mask(to, masked, sizeof masked);
	snprintf(id, sizeof id, "%lld", (long long)x->c.id);
	if (error)
		log_kv(level, msg, "campaign", id, "channel", x->c.channel,
		       "template", x->c.template_name, "to", masked, "attempt", "1",
		       "worker", x->worker, "error", error, NULL);
	else
		log_kv(level, msg, "campaign", id, "channel", x->c.channel,
		       "template", x->c.template_name, "to", masked, "attempt", "1",
		       "worker", x->worker, NULL);
}

/* 1 when u may get a message: not closed by its owner nor erased. */
static int camp_user_live(const store_user *u)
{
	return strcmp(u->status, STORE_USER_CLOSED) != 0 &&
	       strcmp(u->status, STORE_USER_ERASED) != 0;
}

/* A failed first attempt, handed to the outbox in the cursor's transaction:
 * queued for a retry after the back-off, or failed at once. */
typedef struct spill {
	const cslice *x;
	const store_user *u;
	const char *to, *params, *err;
	int permanent;
	int64_t now;
} spill;

static int camp_spill_tx(store *st, void *ctx)
{
	const spill *sp = ctx;
	const cslice *x = sp->x;
	const notify_config *cfg = &x->rt->cfg;
	store_outbox m;
	store_user now_u;
	int r;

	r = store_campaign_advance(st, x->c.id, x->worker, store_upload_user_row(sp->u->id),
				   sp->now, cfg->lease_ms);
	if (r != PV_OK)
		return r;
	/* closed since it was read: no message kept for a retry */
	if ((r = store_user_get(st, sp->u->id, &now_u)) != PV_OK)
		return r;
	r = camp_user_live(&now_u);
	sodium_memzero(&now_u, sizeof now_u);
	if (!r)
		return PV_OK;
	memset(&m, 0, sizeof m);
	if (util_strlcpy(m.channel, x->c.channel, sizeof m.channel) != PV_OK ||
	    util_strlcpy(m.to_addr, sp->to, sizeof m.to_addr) != PV_OK ||
	    util_strlcpy(m.template_name, x->c.template_name, sizeof m.template_name) != PV_OK ||
	    util_strlcpy(m.lang, x->c.lang, sizeof m.lang) != PV_OK ||
	    notify_seal_params(sp->params, m.params, sizeof m.params) != PV_OK)
		return PV_ELIMIT;
	m.created_at = m.next_at = sp->now;
	if ((r = store_outbox_insert(st, &m)) != PV_OK)
		return r;
	if (sp->permanent || cfg->max_attempts <= 1)
		return store_outbox_fail(st, m.id, 1, sp->err);
	return store_outbox_retry(st, m.id, 1,
				  sp->now + notify_backoff_ms(1, cfg->backoff_ms,
							      cfg->backoff_max_ms),
				  sp->err);
}

/* The parameters of u's message: the campaign's and first_name. */
static char *camp_params(const cslice *x, const store_user *u)
{
	json_t *o = x->params ? json_deep_copy(x->params) : NULL;
	char *out = NULL;

	if (o && json_object_set_new(o, "first_name", json_string(u->first_name)) == 0)
		out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

/* Sends u's message and records it. PV_OK, or the store's error that
 * ended the slice (PV_ECONFLICT: the lease went to another worker). */
static int camp_one(cslice *x, const store_user *u)
{
	notify_runtime *rt = x->rt;
	const char *to = x->ch == 0 ? u->mobile : u->email; /* unknown: fails */
	char err[STORE_TEXT_MAX / 4] = "", *params = camp_params(x, u);
	int r, permanent = 1;
	int64_t now;

	if (!x->params)
		util_strlcpy(err, "the message's parameters cannot be opened (another server key?)",
			     sizeof err);
	else if (!params)
		util_strlcpy(err, "out of memory", sizeof err);
	r = params ? notify__send(rt, x->ch, to, x->c.template_name, x->c.lang, params,
				  err, sizeof err, &permanent)
		   : PV_EINVAL;
	now = util_now_ms();
	if (r == PV_OK) {
		r = store_campaign_advance(rt->cfg.st, x->c.id, x->worker, store_upload_user_row(u->id), now,
					   rt->cfg.lease_ms);
		if (r == PV_OK) { /* a send means a known channel */
			atomic_fetch_add(&rt->sent[x->ch], 1);
			camp_log(LOG_INFO, "message sent", x, to, NULL);
		}
		goto out;
	}
	if (!err[0])
		util_strlcpy(err, pv_strerror(r), sizeof err);
	permanent = permanent || rt->cfg.max_attempts <= 1;
	camp_log(permanent ? LOG_ERROR : LOG_WARN,
		 permanent ? "message failed" : "message will be retried", x, to, err);
	r = store_tx(rt->cfg.st, camp_spill_tx,
		     &(spill){x, u, to, params ? params : "{}", err, permanent, now});
	if (r == PV_OK && x->ch >= 0)
		atomic_fetch_add(permanent ? &rt->failed[x->ch] : &rt->retried[x->ch], 1);
out:
	if (params) {
		sodium_memzero(params, strlen(params));
		free(params);
	}
	return r;
}

/* A closed or erased user: the cursor moves past it, no message. */
static int camp_skip(cslice *x, const store_user *u)
{
	return store_campaign_advance(x->rt->cfg.st, x->c.id, x->worker,
				      store_upload_user_row(u->id), util_now_ms(),
				      x->rt->cfg.lease_ms);
}

/* The common parameters, opened (NULL when they cannot be: every message
 * then fails, as an outbox row sealed with another key would). */
static json_t *camp_open(const store_campaign *c)
{
	char plain[STORE_JSON_MAX];
	json_t *o = NULL;

	if (notify_open_params(c->params, plain, sizeof plain) == PV_OK)
		o = json_loads(plain, JSON_REJECT_DUPLICATES, NULL);
	sodium_memzero(plain, sizeof plain);
	if (o && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* Nobody after the cursor: the end, or a wait for the upload's next chunk. */
static int camp_idle(cslice *x)
{
	const notify_config *cfg = &x->rt->cfg;
	int64_t now = util_now_ms();
	int done = 0, r;

	r = store_campaign_finish(cfg->st, x->c.id, x->worker, now, &done);
	if (r == PV_OK && done) {
		char id[24];

		snprintf(id, sizeof id, "%lld", (long long)x->c.id);
		log_kv(LOG_INFO, "campaign finished", "campaign", id, "upload",
		       x->c.upload_id, "channel", x->c.channel, NULL);
		return PV_OK;
	}
	if (r == PV_OK)
		r = store_campaign_release(cfg->st, x->c.id, x->worker, now + cfg->poll_ms);
	return r;
}

int notify__campaign_slice(notify_runtime *rt, const char *worker, uint64_t gen)
{
	const notify_config *cfg = &rt->cfg;
	store_user users[CAMPAIGN_BATCH];
	cslice x = {rt, worker, {0}, -1, NULL};
	int64_t start = util_now_ms();
	size_t n = 0, i;
	int r;

	r = store_campaign_claim(cfg->st, worker, start, cfg->lease_ms, &x.c);
	if (r != PV_OK)
		return r;
	x.ch = notify__channel(x.c.channel);
	x.params = x.ch >= 0 ? camp_open(&x.c) : NULL;
	r = store_campaign_users(cfg->st, x.c.upload_id, x.c.cursor, CAMPAIGN_BATCH, users, &n);
	if (r == PV_OK && n == 0)
		r = camp_idle(&x);
	for (i = 0; r == PV_OK && i < n; i++) {
		if (i && (notify__interrupted(rt, gen) ||
			  util_now_ms() - start >= CAMPAIGN_SLICE_MS))
			break;
		r = camp_user_live(&users[i]) ? camp_one(&x, &users[i]) : camp_skip(&x, &users[i]);
	}
	/* the rest is due at once, for any worker */
	if (r == PV_OK && n > 0)
		r = store_campaign_release(cfg->st, x.c.id, worker, util_now_ms());
	if (r != PV_OK) {
		char id[24];

		snprintf(id, sizeof id, "%lld", (long long)x.c.id);
		log_kv(r == PV_ECONFLICT ? LOG_WARN : LOG_ERROR,
		       r == PV_ECONFLICT ? "campaign: the lease went to another worker"
					 : "campaign: cannot record progress",
		       "campaign", id, "worker", worker, "error", pv_strerror(r), NULL);
	}
	json_decref(x.params);
	sodium_memzero(users, sizeof users);
	return r;
}
