/* Internal to src/notify/: constructors of the transports that live in their
 * own files, and small helpers shared by them. Not for other modules. */
#ifndef PV_NOTIFY_INT_H
#define PV_NOTIFY_INT_H

#include <stddef.h>

#include "notify/notify.h"

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
 * from is "Name <addr>" or "addr"; a delivery takes at most timeout_s
 * seconds (0: 30). *out freed by its destroy. */
int notify__smtp_new(const char *url, const char *from, int timeout_s,
		     notify_transport **out, char *err, size_t errlen);

/* Builds the RFC 5322 message the SMTP transport sends (exposed for the
 * transport only; tests go through a real SMTP exchange). *out is malloc'd,
 * caller frees. */
int notify__mail_build(const char *from_name, const char *from_addr,
		       const char *to, const char *subject, const char *text,
		       int64_t now_ms, char **out, size_t *len);

#endif
