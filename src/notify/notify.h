/* notify: everything Pravesh says to people, by SMS and e-mail.
 *
 * Three parts, each usable alone:
 * - message templates: texts in files, one per name and language
 *   (templates/<lang>/<name>.txt), loaded once at start, rendered with
 *   parameters from a JSON object;
 * - transports: a table of functions per way of sending, chosen once from a
 *   spec string (--sms, --mail): "log", "file:PATH", "http" for SMS,
 *   "smtp://" / "smtps://" for mail;
 * - the outbox: a durable queue in the store. A change that must tell
 *   someone writes an outbox row in its own transaction (notify_enqueue);
 *   worker threads (notify_start) claim rows, render, send, and mark them
 *   sent, retry later with back-off, or failed. A restart resumes delivery
 *   because the queue lives in the store and leases expire.
 *
 * Secrets: the rendered texts carry OTP codes and activation links. No log
 * line and no stored error carries a text, a code, a link or a gateway
 * header; logs name the template, channel, masked recipient, outbox id,
 * attempt and error. The one documented exception is the development "log"
 * transport, which prints the text itself on standard error so that a
 * person trying Pravesh locally can read the code (docs/notifications.md).
 *
 * Every function returns PV_OK or a negative pv_err (util/err.h). Functions
 * that take `char *err, size_t errlen` write a short English reason there
 * on failure (never a secret); err may be NULL.
 */
#ifndef PV_NOTIFY_H
#define PV_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define NOTIFY_CHANNEL_SMS "sms"
#define NOTIFY_CHANNEL_EMAIL "email"

/* ---------------------------------------------------------------------
 * Messages and transports
 * ------------------------------------------------------------------- */

/* One message ready to go. Every field is borrowed; NULL reads as "". */
typedef struct notify_msg {
	const char *channel;       /* NOTIFY_CHANNEL_SMS or _EMAIL */
	const char *to;            /* 10-digit mobile, or e-mail address */
	const char *template_name; /* for logs and file transports */
	const char *template_id;   /* DLT template id (SMS), may be "" */
	const char *subject;       /* e-mail only */
	const char *text;          /* the body, UTF-8 */
} notify_msg;

/* A way of sending. send() is called from several worker threads at once
 * and must be thread-safe. It returns PV_OK when the message was handed
 * over, PV_EIO for a failure worth retrying (network, gateway, server),
 * PV_EINVAL for a message this transport can never send (a malformed
 * recipient): the outbox fails the latter at once. */
typedef struct notify_transport {
	const char *name; /* "log", "file", "http", "smtp" */
	int (*send)(struct notify_transport *t, const notify_msg *m, char *err,
		    size_t errlen);
	void (*destroy)(struct notify_transport *t);
} notify_transport;

/* The HTTP SMS gateway (from PRAVESH_SMS_URL, _METHOD, _HEADERS, _BODY;
 * the caller reads the environment). Fields may be NULL.
 * - url: required; {{mobile}}, {{text}}, {{template_id}} in it are
 *   substituted URL-encoded (for gateways that take GET query strings).
 * - method: "POST" (default), "GET", "PUT".
 * - headers: "Name: value" lines separated by newlines or by the two
 *   characters backslash-n. May carry an API key: never logged.
 * - body: the request body with the same placeholders (not sent with GET).
 *   Substitutions are escaped for the body's type: XML entities when the
 *   Content-Type says xml (or, without one, the body starts with '<');
 *   JSON-escaped when the body looks like JSON (starts with '{' or '[') or
 *   the Content-Type says json; URL-encoded when the Content-Type is
 *   application/x-www-form-urlencoded or absent (curl then sends that
 *   type); verbatim for any other type. Without a Content-Type header a
 *   JSON body is sent as application/json and an XML one as
 *   application/xml. Default body for POST/PUT:
 *   {"mobile":"{{mobile}}","text":"{{text}}","template_id":"{{template_id}}"}
 * Timeouts: connect 5 s (or timeout_s when shorter), whole request
 * timeout_s (0: 15 s; more than NOTIFY_SEND_MAX_S is PV_EINVAL); redirects
 * are not followed. A non-2xx answer is a
 * failure whose error names the status only. */
/* The longest a transport may take over one send, in seconds
 * (PRAVESH_SMS_TIMEOUT, PRAVESH_MAIL_TIMEOUT): a send must end well within
 * the outbox's claim lease (60 s), or a slow peer would still be sending
 * when the lease expires and another worker sends the same message again. */
#define NOTIFY_SEND_MAX_S 45

typedef struct notify_http_cfg {
	const char *url, *method, *headers, *body;
	int timeout_s;
} notify_http_cfg;

/* Opens the SMS transport named by spec: "log", "file:PATH" or "http"
 * (which needs http->url). *out is owned by the caller: release it with
 * notify_transport_free(). PV_EINVAL for an unknown spec or a bad gateway
 * setting, PV_EIO when the file cannot be opened. */
int notify_sms_open(const char *spec, const notify_http_cfg *http,
		    notify_transport **out, char *err, size_t errlen);

/* Opens the mail transport named by spec: "log", "file:PATH",
 * "smtp://[user:password@]host[:port]" (STARTTLS when offered, required
 * when credentials are given) or "smtps://..." (TLS from the start). from
 * is the sender, "Name <addr>" or "addr" (NULL: "Pravesh
 * <no-reply@localhost>"). *out is owned by the caller
 * (notify_transport_free). */
int notify_mail_open(const char *spec, const char *from,
		     notify_transport **out, char *err, size_t errlen);
/* The same with a bound on an SMTP delivery: timeout_s seconds in all
 * (0: 30 s; more than NOTIFY_SEND_MAX_S is PV_EINVAL), connecting at most 5. */
int notify_mail_open_timeout(const char *spec, const char *from, int timeout_s,
			     notify_transport **out, char *err, size_t errlen);

void notify_transport_free(notify_transport *t); /* accepts NULL */

/* A recipient safe to log: a mobile keeps its first two and last two
 * digits ("98xxxxxx10"), an e-mail its first character and its domain
 * ("r***@example.com"); anything else becomes "***". */
void notify_mask(const char *to, char *out, size_t cap);

/* ---------------------------------------------------------------------
 * Templates
 * ------------------------------------------------------------------- */

/* A template file: header lines, a blank line, then the body.
 *   Subject: ...            e-mail templates (names ending in _email)
 *   DLT-Template-Id: ...    SMS, optional: the id registered under India's
 *                           DLT rules for this text, passed to the gateway
 *   Text-<param>-<value>: . a wording for a parameter value: with
 *                           "Text-purpose-login: to log in", {{purpose}}
 *                           renders as "to log in" when purpose is "login";
 *                           a value with no wording is then an error
 *   # ...                   a comment
 * The header block may be empty (the file then starts with a blank line).
 * {{param}} placeholders (letters, digits, '_') in the subject and the body
 * are replaced by the parameter's value verbatim (plain text, no escaping):
 * a JSON string, or a number as written. */

/* The names every language directory must provide. */
extern const char *const notify_template_names[];
extern const size_t notify_template_count;

typedef struct notify_templates notify_templates;

/* Loads every language directory under dir (NULL: "./templates"): each
 * subdirectory named like a language tag ("en", "hi", "pt-br") whose
 * *.txt files are the templates. "en" must exist, and every language must
 * provide every name in notify_template_names: a missing, unreadable or
 * malformed file is an error here, not when a message is sent. Bounds: 32
 * languages, 64 templates per language, 16 KiB per file. *out is owned by
 * the caller: notify_templates_free(). */
int notify_templates_load(const char *dir, notify_templates **out, char *err,
			  size_t errlen);
void notify_templates_free(notify_templates *t); /* accepts NULL */

/* A rendered message; strings are malloc'd and owned by the struct (free
 * with notify_rendered_free). subject and template_id are "" when the
 * template has none. */
typedef struct notify_rendered {
	char *lang; /* the language actually used */
	char *subject;
	char *template_id;
	char *text;
} notify_rendered;

/* Renders template `name` in `lang` (an unknown or NULL language falls back
 * to "en"; "hi-IN" tries "hi-in", then "hi") with params_json, a JSON
 * object (NULL or "" = {}). PV_ENOTFOUND for an unknown template name,
 * PV_EINVAL for bad JSON, a missing parameter, a value of another type
 * than string or number, or a value without a wording; PV_ELIMIT when the
 * result exceeds 64 KiB. On failure *out is left empty. */
int notify_render(const notify_templates *t, const char *name,
		  const char *lang, const char *params_json,
		  notify_rendered *out, char *err, size_t errlen);
void notify_rendered_free(notify_rendered *r); /* accepts NULL */

/* ---------------------------------------------------------------------
 * The outbox
 * ------------------------------------------------------------------- */

/* Queues one message: writes an outbox row (status queued, due now). Call
 * it inside the transaction of the change that causes the message, so
 * both commit or neither does, then call notify_kick() after the commit so
 * a worker of this process sends it at once (this function kicks too,
 * which is all that is needed outside a transaction). params_json must be
 * a JSON object (NULL = {}); the template itself is checked when sent.
 * PV_EINVAL for a bad channel, recipient, name or JSON; PV_ELIMIT when a
 * field exceeds its store column; else the store's error. If id is not
 * NULL it receives the outbox id. */
int notify_enqueue(store *s, const char *channel, const char *to,
		   const char *template_name, const char *lang,
		   const char *params_json, int64_t *id);
/* The same, written (and due) at `now` rather than the wall clock: for a
 * change whose rules own the clock and must order its messages with its
 * other rows (the closing of an account, whose erasure deletes the
 * messages written up to it). */
int notify_enqueue_at(store *s, const char *channel, const char *to,
		      const char *template_name, const char *lang,
		      const char *params_json, int64_t now, int64_t *id);

/* Message parameters (codes, links, names) are stored encrypted: set the
 * 32-byte key once, before any thread enqueues or delivers (main derives
 * it from the server key). The outbox keeps "enc1:" + base64 of a random
 * nonce and the XSalsa20-Poly1305 box of the JSON; they are opened only
 * to send. Without a key they are stored as they are (unit tests). */
void notify_set_key(const unsigned char key[32]);
/* Seals params_json into out (cap bytes): PV_OK, or PV_ELIMIT when it
 * does not fit. */
int notify_seal_params(const char *params_json, char *out, size_t cap);
/* Opens what notify_seal_params made (or plain JSON of older rows) into
 * out: PV_OK, PV_EFORMAT when it is not ours (wrong key, damaged). */
int notify_open_params(const char *stored, char *out, size_t cap);

/* Campaigns: one message to every user a bulk upload creates (the
 * upload's users are the recipients: no row per message). Call it inside
 * the upload's transaction, before its first users are written: the
 * delivery workers walk the upload's created users in row order, between
 * outbox messages, and send the template to each at the transport's pace
 * (SMS to the user's mobile, e-mail to the user's e-mail), with
 * params_json (a JSON object, sealed like notify_enqueue's) and the
 * user's "first_name". A message that fails becomes an outbox message
 * with the outbox's retries, back-off, failure and metrics. PV_OK when
 * created, and when the upload has a campaign on that channel already (a
 * resumed upload); PV_EINVAL for a bad channel, name or JSON; PV_ELIMIT
 * when a field exceeds its store column; else the store's error. */
int notify_campaign_add(store *s, const char *upload_id, const char *channel,
			const char *template_name, const char *lang,
			const char *params_json, int64_t now);

/* Settings of the delivery workers. Zero fields take the defaults. */
typedef struct notify_config {
	store *st;                         /* required */
	const notify_templates *templates; /* required */
	notify_transport *sms;             /* required for sms rows */
	notify_transport *mail;            /* required for email rows */
	int workers;           /* threads, default 2, at most 16 */
	int max_attempts;      /* sends before a message fails, default 8 */
	int64_t lease_ms;      /* claim lease, default 60 000 */
	int64_t poll_ms;       /* idle poll for other processes, default 500 */
	int64_t backoff_ms;    /* first retry delay, default 1 000, doubling */
	int64_t backoff_max_ms; /* retry delay cap, default 300 000 */
} notify_config;

typedef struct notify_runtime notify_runtime;

/* Starts the workers. The store, templates and transports are borrowed
 * and must outlive notify_stop(). One runtime per process at a time
 * (PV_EBUSY otherwise), because notify_kick() finds it. *out is released by
 * notify_stop(). */
int notify_start(const notify_config *cfg, notify_runtime **out);

/* Wakes an idle worker of the running runtime (if any) to look at the
 * queue now. Cheap; safe from any thread. */
void notify_kick(void);

/* Stops the workers between messages (a send in progress finishes), joins
 * them and frees rt. Accepts NULL. */
void notify_stop(notify_runtime *rt);

/* Delivery counters since notify_start, for metrics. Index 0 is SMS,
 * 1 is e-mail. "retried" counts failed attempts that were rescheduled;
 * "failed" counts messages given up. */
typedef struct notify_counters {
	uint64_t sent[2], retried[2], failed[2];
} notify_counters;
void notify_counters_get(const notify_runtime *rt, notify_counters *out);

/* The retry delay after `attempts` failed sends (1-based): base doubling,
 * capped. Exposed for tests and docs. */
int64_t notify_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms);

#endif
