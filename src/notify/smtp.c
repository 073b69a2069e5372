/* smtp: the mail transport through libcurl's SMTP (and SMTPS) client. We
 * build the RFC 5322 message ourselves (headers, RFC 2047 encoded words for
 * Hindi subjects and sender names, a UTF-8 text/plain body); curl does the
 * protocol, STARTTLS, AUTH from user:password in the URL, and the
 * dot-stuffing of the DATA section. One easy handle per send. */
#include "notify/notify.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "notify/notify_int.h"
#include "util/buf.h"
#include "util/util.h"

#define MAIL_MAX (512 * 1024)
#define MAIL_ADDR_MAX 256
#define MAIL_NAME_MAX 256
#define MAIL_CONNECT_MS 5000L
#define MAIL_TOTAL_MS 30000L
/* Bytes per RFC 2047 encoded word: 39 bytes are 52 base64 characters, a
 * 64-character word, so "Subject: " plus a word stays within the 76
 * characters allowed to a line holding encoded words. */
#define MAIL_EW_RAW 39

typedef struct smtp_transport {
	notify_transport base;
	char *url; /* may hold user:password: never logged */
	char from_name[MAIL_NAME_MAX];
	char from_addr[MAIL_ADDR_MAX];
	int has_credentials;
	int implicit_tls;
	long total_ms, connect_ms; /* bounds of one delivery */
} smtp_transport;

/* A plain address: no white space, controls, angle brackets, quotes or
 * commas, one '@' with something on each side. Enough to keep the SMTP
 * envelope and the headers well-formed; the rules of what an acceptable
 * address is live in core/validate. */
static int mail_addr_ok(const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');

	if (n == 0 || n >= MAIL_ADDR_MAX || !at || at == s || !at[1] ||
	    strchr(at + 1, '@'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || strchr("<>\"(),;:\\[]", c))
			return 0;
	}
	return 1;
}

/* "Name <addr>", "<addr>" or "addr". */
static int mail_parse_from(const char *from, char *name, char *addr)
{
	const char *lt = strchr(from, '<'), *gt;
	size_t n;
	const char *p;

	name[0] = '\0';
	if (!lt) {
		p = util_trim(from, strlen(from), &n);
		if (util_strncpy0(addr, MAIL_ADDR_MAX, p, n) != PV_OK)
			return PV_EINVAL;
		return mail_addr_ok(addr) ? PV_OK : PV_EINVAL;
	}
	gt = strchr(lt, '>');
	if (!gt || util_trim(gt + 1, strlen(gt + 1), &n) == NULL || n != 0)
		return PV_EINVAL;
	if (util_strncpy0(addr, MAIL_ADDR_MAX, lt + 1, (size_t)(gt - lt - 1)) !=
		    PV_OK ||
	    !mail_addr_ok(addr))
		return PV_EINVAL;
	p = util_trim(from, (size_t)(lt - from), &n);
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (util_strncpy0(name, MAIL_NAME_MAX, p, n) != PV_OK)
		return PV_EINVAL;
	for (char *c = name; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			return PV_EINVAL;
	return PV_OK;
}

static int mail_is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* Appends s as RFC 2047 "B" encoded words of at most 75 characters,
 * folded with CRLF SP, never splitting a UTF-8 character. */
static int mail_add_encoded_words(buf *b, const char *s)
{
	size_t n = strlen(s), i = 0;
	int r = PV_OK;

	while (i < n && r == PV_OK) {
		size_t k = n - i > MAIL_EW_RAW ? MAIL_EW_RAW : n - i;
		char enc[sodium_base64_ENCODED_LEN(MAIL_EW_RAW,
						   sodium_base64_VARIANT_ORIGINAL)];

		while (i + k < n && k > 1 &&
		       ((unsigned char)s[i + k] & 0xc0) == 0x80)
			k--; /* do not cut before a continuation byte */
		sodium_bin2base64(enc, sizeof enc, (const unsigned char *)s + i,
				  k, sodium_base64_VARIANT_ORIGINAL);
		r = buf_addf(b, "%s=?UTF-8?B?%s?=", i ? "\r\n " : "", enc);
		i += k;
	}
	return r;
}

/* A phrase (display name) or unstructured text (subject): as is when it is
 * plain ASCII, else encoded words. quote: a display name with specials is
 * written as a quoted string. */
static int mail_add_text_header(buf *b, const char *s, int quote)
{
	int r = PV_OK;

	if (!mail_is_ascii(s))
		return mail_add_encoded_words(b, s);
	if (quote && strpbrk(s, "()<>[]:;@\\,.\"")) {
		r = buf_adds(b, "\"");
		for (; *s && r == PV_OK; s++) {
			if (*s == '"' || *s == '\\')
				r = buf_adds(b, "\\");
			if (r == PV_OK)
				r = buf_add(b, s, 1);
		}
		return r == PV_OK ? buf_adds(b, "\"") : r;
	}
	return buf_adds(b, s);
}

static void mail_date(int64_t ms, char out[64])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
					   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
					     "May", "Jun", "Jul", "Aug",
					     "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 64, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* 7bit when the body is ASCII with lines of at most 998 bytes, else base64
 * (safe whatever the server says about 8BITMIME). */
static int mail_body_7bit(const char *s)
{
	size_t line = 0;

	for (; *s; s++) {
		if ((unsigned char)*s >= 0x80 || *s == '\r')
			return 0;
		line = *s == '\n' ? 0 : line + 1;
		if (line > 998)
			return 0;
	}
	return 1;
}

static int mail_add_body(buf *b, const char *text)
{
	int r = PV_OK;

	if (mail_body_7bit(text)) {
		for (const char *p = text; *p && r == PV_OK; p++)
			r = *p == '\n' ? buf_adds(b, "\r\n") : buf_add(b, p, 1);
		return r == PV_OK ? buf_adds(b, "\r\n") : r;
	}
	{
		/* canonical form first: text/plain lines end in CRLF */
		buf canon;
		char *enc = NULL;
		size_t cap;

		buf_init(&canon, MAIL_MAX);
		for (const char *p = text; *p && r == PV_OK; p++)
			if (*p != '\r')
				r = *p == '\n' ? buf_adds(&canon, "\r\n")
					       : buf_add(&canon, p, 1);
		if (r == PV_OK && !canon.p)
			r = PV_EINVAL; /* unreachable: text is not 7bit, so not empty */
		if (r == PV_OK) {
			cap = sodium_base64_ENCODED_LEN(canon.len,
						       sodium_base64_VARIANT_ORIGINAL);
			enc = malloc(cap);
			if (!enc)
				r = PV_ENOMEM;
		}
		if (r == PV_OK)
			sodium_bin2base64(enc, cap, (const unsigned char *)canon.p,
					  canon.len, sodium_base64_VARIANT_ORIGINAL);
		for (size_t i = 0, el = enc ? strlen(enc) : 0; r == PV_OK && i < el;
		     i += 76) {
			r = buf_add(b, enc + i, el - i > 76 ? 76 : el - i);
			if (r == PV_OK)
				r = buf_adds(b, "\r\n");
		}
		free(enc);
		buf_free(&canon);
	}
	return r;
}

int notify__mail_build(const char *from_name, const char *from_addr,
		       const char *to, const char *subject, const char *text,
		       int64_t now_ms, char **out, size_t *len)
{
	char date[64], uuid[UUID_STR_LEN], subj[2048];
	const char *domain = strchr(from_addr, '@');
	buf b;
	int r;
	size_t i = 0;

	*out = NULL;
	/* a subject is one line: newlines and controls become spaces */
	for (const char *p = notify__s(subject); *p && i + 1 < sizeof subj; p++)
		subj[i++] = (unsigned char)*p < ' ' ? ' ' : *p;
	subj[i] = '\0';
	mail_date(now_ms, date);
	util_uuid(uuid);
	buf_init(&b, MAIL_MAX);
	r = buf_addf(&b, "Date: %s\r\nMessage-ID: <%s%s>\r\nFrom: ", date, uuid,
		     domain ? domain : "@localhost");
	if (r == PV_OK && from_name && from_name[0]) {
		r = mail_add_text_header(&b, from_name, 1);
		/* after encoded words, the address goes on a folded line */
		if (r == PV_OK)
			r = buf_adds(&b, mail_is_ascii(from_name) ? " " : "\r\n ");
	}
	if (r == PV_OK)
		r = buf_addf(&b, "<%s>\r\nTo: <%s>\r\nSubject: ", from_addr, to);
	if (r == PV_OK)
		r = mail_add_text_header(&b, subj, 0);
	if (r == PV_OK)
		r = buf_addf(&b,
			     "\r\nMIME-Version: 1.0\r\n"
			     "Content-Type: text/plain; charset=UTF-8\r\n"
			     "Content-Transfer-Encoding: %s\r\n"
			     "Auto-Submitted: auto-generated\r\n\r\n",
			     mail_body_7bit(notify__s(text)) ? "7bit" : "base64");
	if (r == PV_OK)
		r = mail_add_body(&b, notify__s(text));
	if (r == PV_OK)
		*out = buf_steal(&b, len);
	buf_free(&b);
	return r;
}

typedef struct mail_reader {
	const char *p;
	size_t left;
} mail_reader;

static size_t mail_read(char *dst, size_t size, size_t nmemb, void *ud)
{
	mail_reader *rd = ud;
	size_t n = size * nmemb;

	if (n > rd->left)
		n = rd->left;
	memcpy(dst, rd->p, n);
	rd->p += n;
	rd->left -= n;
	return n;
}

static int smtp_send(notify_transport *t, const notify_msg *m, char *err,
		     size_t errlen)
{
	smtp_transport *st = (smtp_transport *)t;
	char *msg = NULL, env_from[MAIL_ADDR_MAX + 2], env_to[MAIL_ADDR_MAX + 2];
	size_t len = 0;
	struct curl_slist *rcpt = NULL;
	CURL *c = NULL;
	CURLcode cc;
	mail_reader rd;
	int r;

	if (!mail_addr_ok(notify__s(m->to))) {
		notify__err(err, errlen, "not a plain e-mail address");
		return PV_EINVAL;
	}
	r = notify__mail_build(st->from_name, st->from_addr, m->to, m->subject,
			       m->text, util_now_ms(), &msg, &len);
	if (r != PV_OK) {
		notify__err(err, errlen, "cannot build the message: %s",
			    pv_strerror(r));
		r = r == PV_ELIMIT ? PV_EINVAL : r;
		goto out;
	}
	snprintf(env_from, sizeof env_from, "<%s>", st->from_addr);
	snprintf(env_to, sizeof env_to, "<%s>", m->to);
	rcpt = curl_slist_append(NULL, env_to);
	c = curl_easy_init();
	if (!rcpt || !c) {
		notify__err(err, errlen, "out of memory");
		r = PV_ENOMEM;
		goto out;
	}
	rd.p = msg;
	rd.left = len;
	curl_easy_setopt(c, CURLOPT_URL, st->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, st->connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, st->total_ms);
	if (!st->implicit_tls)
		curl_easy_setopt(c, CURLOPT_USE_SSL,
				 st->has_credentials ? (long)CURLUSESSL_ALL
						     : (long)CURLUSESSL_TRY);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, env_from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		long code = 0;

		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code)
			notify__err(err, errlen, "SMTP: %s (server said %ld)",
				    curl_easy_strerror(cc), code);
		else
			notify__err(err, errlen, "SMTP: %s",
				    curl_easy_strerror(cc));
		r = PV_EIO;
		goto out;
	}
	r = PV_OK;
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	free(msg);
	return r;
}

static void smtp_destroy(notify_transport *t)
{
	smtp_transport *st = (smtp_transport *)t;

	if (!st)
		return;
	if (st->url) {
		sodium_memzero(st->url, strlen(st->url)); /* may hold a password */
		free(st->url);
	}
	free(st);
}

int notify__smtp_new(const char *url, const char *from, int timeout_s,
		     notify_transport **out, char *err, size_t errlen)
{
	smtp_transport *st = NULL;
	const char *auth, *at;
	int r;

	*out = NULL;
	r = notify__curl_init();
	if (r != PV_OK) {
		notify__err(err, errlen, "cannot initialise libcurl");
		return r;
	}
	st = calloc(1, sizeof *st);
	if (!st)
		return PV_ENOMEM;
	if (mail_parse_from(from, st->from_name, st->from_addr) != PV_OK) {
		notify__err(err, errlen,
			    "--mail-from: expected \"Name <address>\" or an address");
		r = PV_EINVAL;
		goto out;
	}
	st->implicit_tls = strncasecmp(url, "smtps://", 8) == 0;
	auth = url + (st->implicit_tls ? 8 : 7);
	at = strchr(auth, '@');
	if (at && (size_t)(at - auth) < strcspn(auth, "/?#"))
		st->has_credentials = 1;
	if (!auth[0] || auth[0] == '/' || auth[0] == ':') {
		notify__err(err, errlen, "--mail: the SMTP URL needs a host");
		r = PV_EINVAL;
		goto out;
	}
	st->url = strdup(url);
	if (!st->url) {
		r = PV_ENOMEM;
		goto out;
	}
	st->total_ms = timeout_s > 0 ? timeout_s * 1000L : MAIL_TOTAL_MS;
	st->connect_ms = st->total_ms < MAIL_CONNECT_MS ? st->total_ms : MAIL_CONNECT_MS;
	st->base.name = "smtp";
	st->base.send = smtp_send;
	st->base.destroy = smtp_destroy;
	*out = &st->base;
	st = NULL;
	r = PV_OK;
out:
	smtp_destroy(st ? &st->base : NULL);
	return r;
}
