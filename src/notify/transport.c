/* transport: choosing a transport from its spec string, and the two simple
 * ones, "log" (development: standard error) and "file:PATH" (one JSON
 * object a line, for tests and for reading codes locally). The HTTP SMS
 * gateway is in sms_http.c, SMTP in smtp.c. */
#include "notify/notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "notify/notify_int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#define NOTIFY_LINE_MAX (256 * 1024)

void notify__err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static pthread_once_t notify_curl_once = PTHREAD_ONCE_INIT;
static int notify_curl_rc = PV_OK;

static void notify_curl_do_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		notify_curl_rc = PV_EIO;
}

int notify__curl_init(void)
{
	pthread_once(&notify_curl_once, notify_curl_do_init);
	return notify_curl_rc;
}

void notify_mask(const char *to, char *out, size_t cap)
{
	size_t n, i;
	const char *at;

	if (!out || cap == 0)
		return;
	to = notify__s(to);
	n = strlen(to);
	for (i = 0; i < n && to[i] >= '0' && to[i] <= '9'; i++)
		;
	if (n >= 5 && i == n && n < 32) {
		char m[32];

		memcpy(m, to, n + 1);
		for (i = 2; i + 2 < n; i++)
			m[i] = 'x';
		util_strlcpy(out, m, cap);
		return;
	}
	at = strrchr(to, '@');
	if (at && at != to && at[1] && strlen(at) < 256) {
		char m[300];

		snprintf(m, sizeof m, "%c***%s", to[0], at);
		util_strlcpy(out, m, cap);
		return;
	}
	util_strlcpy(out, "***", cap);
}

void notify_transport_free(notify_transport *t)
{
	if (t && t->destroy)
		t->destroy(t);
}

/* ---- log ---------------------------------------------------------------
 * The development transport. It logs the usual metadata line and then,
 * as the one documented exception to "no secret on standard error", the
 * text itself, so that a person trying Pravesh locally can read the code
 * or the link. Never use it in production (docs/notifications.md). */

static int log_send(notify_transport *t, const notify_msg *m, char *err,
		    size_t errlen)
{
	char masked[300];
	int email = strcmp(notify__s(m->channel), NOTIFY_CHANNEL_EMAIL) == 0;
	buf b;
	int r;

	(void)t;
	if (!m->to || !m->to[0]) {
		notify__err(err, errlen, "no recipient");
		return PV_EINVAL;
	}
	notify_mask(m->to, masked, sizeof masked);
	log_kv(LOG_INFO, "message written to the log transport", "channel",
	       notify__s(m->channel), "to", masked, "template",
	       notify__s(m->template_name), NULL);
	buf_init(&b, NOTIFY_LINE_MAX);
	if (email)
		r = buf_addf(&b, "E-mail to %s: %s\n%s\n", m->to,
			     notify__s(m->subject), notify__s(m->text));
	else
		r = buf_addf(&b, "SMS to %s: %s\n", m->to, notify__s(m->text));
	if (r == PV_OK) {
		fwrite(b.p, 1, b.len, stderr); /* one write: no interleaving */
		fflush(stderr);
	} else {
		notify__err(err, errlen, "message too long");
	}
	buf_free(&b);
	return r == PV_OK ? PV_OK : PV_EINVAL;
}

static void log_destroy(notify_transport *t)
{
	free(t);
}

static int log_new(notify_transport **out)
{
	notify_transport *t = calloc(1, sizeof *t);

	if (!t)
		return PV_ENOMEM;
	t->name = "log";
	t->send = log_send;
	t->destroy = log_destroy;
	*out = t;
	return PV_OK;
}

/* ---- file:PATH ---------------------------------------------------------
 * Appends {"channel","to","template","text","at"} (+ "subject" for e-mail)
 * as one line. The file is opened O_APPEND and each line is one write(2),
 * so lines from several threads or processes never interleave; a reader
 * tailing the file may still see the last line in part (a write is not
 * seen all at once), and reads up to the last newline. */

typedef struct file_transport {
	notify_transport base;
	int fd;
} file_transport;

static int file_send(notify_transport *t, const notify_msg *m, char *err,
		     size_t errlen)
{
	file_transport *f = (file_transport *)t;
	json_t *o = NULL;
	char *line = NULL, at[32];
	size_t n;
	ssize_t w;
	int r = PV_ENOMEM;

	if (!m->to || !m->to[0]) {
		notify__err(err, errlen, "no recipient");
		return PV_EINVAL;
	}
	util_rfc3339(util_now_ms(), at);
	o = json_object();
	if (!o ||
	    json_object_set_new(o, "channel", json_string(notify__s(m->channel))) ||
	    json_object_set_new(o, "to", json_string(m->to)) ||
	    json_object_set_new(o, "template",
				json_string(notify__s(m->template_name))) ||
	    json_object_set_new(o, "text", json_string(notify__s(m->text))) ||
	    json_object_set_new(o, "at", json_string(at)))
		goto out;
	if (strcmp(notify__s(m->channel), NOTIFY_CHANNEL_EMAIL) == 0 &&
	    json_object_set_new(o, "subject", json_string(notify__s(m->subject))))
		goto out;
	if (m->template_id && m->template_id[0] &&
	    json_object_set_new(o, "template_id", json_string(m->template_id)))
		goto out;
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!line) {
		/* json_string() refuses invalid UTF-8, leaving a NULL member */
		notify__err(err, errlen, "message is not valid UTF-8");
		r = PV_EINVAL;
		goto out;
	}
	n = strlen(line);
	line[n] = '\n'; /* json_dumps' NUL becomes the newline */
	do
		w = write(f->fd, line, n + 1);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)(n + 1)) {
		notify__err(err, errlen, "cannot append to the message file: %s",
			    w < 0 ? strerror(errno) : "short write");
		r = PV_EIO;
		goto out;
	}
	r = PV_OK;
out:
	if (r == PV_ENOMEM && err && !err[0])
		notify__err(err, errlen, "out of memory or invalid text");
	free(line);
	json_decref(o);
	return r;
}

static void file_destroy(notify_transport *t)
{
	file_transport *f = (file_transport *)t;

	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

static int file_new(const char *path, notify_transport **out, char *err,
		    size_t errlen)
{
	file_transport *f;

	if (!path[0]) {
		notify__err(err, errlen, "file: needs a path");
		return PV_EINVAL;
	}
	f = calloc(1, sizeof *f);
	if (!f)
		return PV_ENOMEM;
	f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		notify__err(err, errlen, "cannot open %s: %s", path,
			    strerror(errno));
		free(f);
		return PV_EIO;
	}
	f->base.name = "file";
	f->base.send = file_send;
	f->base.destroy = file_destroy;
	*out = &f->base;
	return PV_OK;
}

int notify_sms_open(const char *spec, const notify_http_cfg *http,
		    notify_transport **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	spec = spec && spec[0] ? spec : "log";
	if (strcmp(spec, "log") == 0)
		return log_new(out);
	if (strncmp(spec, "file:", 5) == 0)
		return file_new(spec + 5, out, err, errlen);
	if (strcmp(spec, "http") == 0) {
		if (!http || !http->url || !http->url[0]) {
			notify__err(err, errlen,
				    "--sms http needs PRAVESH_SMS_URL");
			return PV_EINVAL;
		}
		if (http->timeout_s < 0 || http->timeout_s > NOTIFY_SEND_MAX_S) {
			notify__err(err, errlen, "PRAVESH_SMS_TIMEOUT must be 1 to 45 seconds "
						 "(a send ends within the outbox's lease)");
			return PV_EINVAL;
		}
		return notify__sms_http_new(http, out, err, errlen);
	}
	notify__err(err, errlen,
		    "unknown SMS transport (expected log, file:PATH or http)");
	return PV_EINVAL;
}

int notify_mail_open(const char *spec, const char *from,
		     notify_transport **out, char *err, size_t errlen)
{
	return notify_mail_open_timeout(spec, from, 0, out, err, errlen);
}

int notify_mail_open_timeout(const char *spec, const char *from, int timeout_s,
			     notify_transport **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	spec = spec && spec[0] ? spec : "log";
	if (strcmp(spec, "log") == 0)
		return log_new(out);
	if (strncmp(spec, "file:", 5) == 0)
		return file_new(spec + 5, out, err, errlen);
	if (timeout_s < 0 || timeout_s > NOTIFY_SEND_MAX_S) {
		notify__err(err, errlen, "PRAVESH_MAIL_TIMEOUT must be 1 to 45 seconds "
					 "(a delivery ends within the outbox's lease)");
		return PV_EINVAL;
	}
	if (strncasecmp(spec, "smtp://", 7) == 0 ||
	    strncasecmp(spec, "smtps://", 8) == 0)
		return notify__smtp_new(spec, from && from[0]
							? from
							: "Pravesh <no-reply@localhost>",
					timeout_s, out, err, errlen);
	notify__err(err, errlen,
		    "unknown mail transport (expected log, file:PATH, smtp:// or smtps://)");
	return PV_EINVAL;
}
