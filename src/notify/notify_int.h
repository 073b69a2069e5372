/* Internal to src/notify/: constructors of the transports that live in their
 * own files, and small helpers shared by them. Not for other modules. */
#ifndef PV_NOTIFY_INT_H
#define PV_NOTIFY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "notify/notify.h"

#define NOTIFY_MAX_WORKERS 16

struct notify_runtime; /* forward for the worker */

typedef struct notify_worker {
	struct notify_runtime *rt;
	pthread_t thread;
	int started;
	char id[STORE_ID_MAX];
} notify_worker;

/* The delivery workers (outbox.c), shared with campaign.c. */
struct notify_runtime {
	notify_config cfg; /* defaults filled in */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint64_t kick_gen; /* guarded by mu */
	int stopping;      /* guarded by mu */
	notify_worker workers[NOTIFY_MAX_WORKERS];
	_Atomic uint64_t sent[2], retried[2], failed[2];
};

/* 0 for NOTIFY_CHANNEL_SMS, 1 for NOTIFY_CHANNEL_EMAIL, else -1. */
int notify__channel(const char *channel);

/* Renders template tpl in lang with params_json (plain JSON) and hands it
 * to the transport of channel ch (notify__channel) for `to`. PV_OK when
 * handed over; otherwise err (errlen bytes) says why and *permanent is 1
 * for a failure that sending again cannot heal (no transport, an unknown
 * template or parameter, a recipient the transport can never use). */
int notify__send(notify_runtime *rt, int ch, const char *to, const char *tpl,
		 const char *lang, const char *params_json, char *err,
		 size_t errlen, int *permanent);

/* 1 when notify_stop() has been called, or when a kick arrived since the
 * generation `gen` (work for this process's outbox). */
int notify__interrupted(notify_runtime *rt, uint64_t gen);

/* One slice of campaign work for `worker` (campaign.c): claims the due
 * campaign, sends to its next users (a few, for a second at most, until
 * notify__interrupted) and records each. PV_OK when it did something,
 * PV_ENOTFOUND when no campaign was due, else the store's error. */
int notify__campaign_slice(notify_runtime *rt, const char *worker,
			   uint64_t gen);

/* snprintf into err when err is not NULL. */
void notify__err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "" for NULL. */
static inline const char *notify__s(const char *s)
{
	return s ? s : "";
}

/* curl_global_init once per process (thread-safe). PV_OK or PV_EIO. */
int notify__curl_init(void);

/* The HTTP SMS gateway transport (sms_http.c). *out freed by its destroy. */
int notify__sms_http_new(const notify_http_cfg *cfg, notify_transport **out,
			 char *err, size_t errlen);

/* The SMTP / SMTPS transport (smtp.c). url is "smtp://..." or "smtps://...";
 * from is "Name <addr>" or "addr". *out freed by its destroy. */
int notify__smtp_new(const char *url, const char *from,
		     notify_transport **out, char *err, size_t errlen);

/* Builds the RFC 5322 message the SMTP transport sends (exposed for the
 * transport only; tests go through a real SMTP exchange). *out is malloc'd,
 * caller frees. */
int notify__mail_build(const char *from_name, const char *from_addr,
		       const char *to, const char *subject, const char *text,
		       int64_t now_ms, char **out, size_t *len);

#endif
