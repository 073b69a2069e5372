/* sms_http: the HTTP SMS gateway transport. Indian SMS gateways differ in
 * everything (GET query strings, form posts, JSON posts, header API keys),
 * so the request is described by settings rather than code: a URL and a
 * body with {{mobile}}, {{text}} and {{template_id}} placeholders, a method
 * and extra headers (notify.h, notify_http_cfg). One curl easy handle per
 * send keeps the transport thread-safe without locks; a few SMS a second
 * do not need connection reuse. */
#include "notify/notify.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify/notify_int.h"
#include "util/buf.h"
#include "util/util.h"

#define SMS_HTTP_MAX (64 * 1024)   /* an expanded URL or body */
#define SMS_HTTP_HEADERS_MAX 32
#define SMS_HTTP_CONNECT_MS 5000L
#define SMS_HTTP_TOTAL_MS 15000L

enum { ENC_RAW, ENC_JSON, ENC_URL, ENC_XML };

typedef struct http_transport {
	notify_transport base;
	char *url;
	char *method; /* "GET", "POST", "PUT" */
	char *body;   /* NULL for GET */
	int body_enc; /* ENC_* for substitutions in the body */
	struct curl_slist *headers;
	long total_ms, connect_ms; /* bounds of one request */
} http_transport;

static const char sms_http_default_body[] =
	"{\"mobile\":\"{{mobile}}\",\"text\":\"{{text}}\","
	"\"template_id\":\"{{template_id}}\"}";

/* Percent-encoding (RFC 3986 unreserved characters kept), by curl. */
static int sms_url_encode(buf *b, const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	int r;

	if (!e)
		return PV_ENOMEM;
	r = buf_adds(b, e);
	curl_free(e);
	return r;
}

/* XML character data and attribute values: the five predefined entities. */
static int sms_xml_encode(buf *b, const char *s)
{
	int r = PV_OK;

	for (; *s && r == PV_OK; s++) {
		switch (*s) {
		case '&': r = buf_adds(b, "&amp;"); break;
		case '<': r = buf_adds(b, "&lt;"); break;
		case '>': r = buf_adds(b, "&gt;"); break;
		case '"': r = buf_adds(b, "&quot;"); break;
		case '\'': r = buf_adds(b, "&apos;"); break;
		default: r = buf_add(b, s, 1);
		}
	}
	return r;
}

static int sms_add_value(buf *b, const char *v, int enc)
{
	switch (enc) {
	case ENC_JSON:
		return buf_add_json_str(b, v, strlen(v));
	case ENC_URL:
		return sms_url_encode(b, v);
	case ENC_XML:
		return sms_xml_encode(b, v);
	default:
		return buf_adds(b, v);
	}
}

/* Expands the gateway placeholders of tmpl into *out (malloc'd, caller
 * frees). Unknown {{...}} are kept as written. */
static int sms_expand(const char *tmpl, const notify_msg *m, int enc,
		      char **out)
{
	static const char *const names[] = {"{{mobile}}", "{{text}}",
					    "{{template_id}}"};
	const char *vals[] = {notify__s(m->to), notify__s(m->text),
			      notify__s(m->template_id)};
	const char *p = tmpl;
	buf b;
	int r = PV_OK;

	buf_init(&b, SMS_HTTP_MAX);
	while (*p && r == PV_OK) {
		size_t i;

		for (i = 0; i < 3; i++)
			if (strncmp(p, names[i], strlen(names[i])) == 0)
				break;
		if (i < 3) {
			r = sms_add_value(&b, vals[i], enc);
			p += strlen(names[i]);
		} else {
			r = buf_add(&b, p, 1);
			p++;
		}
	}
	if (r == PV_OK && !b.p)
		r = buf_add(&b, "", 0);
	if (r == PV_OK && !b.p)
		r = PV_ENOMEM;
	if (r == PV_OK)
		*out = buf_steal(&b, NULL);
	buf_free(&b);
	return r;
}

static size_t sms_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb; /* the answer's body is never read or logged */
}

static int sms_valid_mobile(const char *s)
{
	size_t n = strlen(s);

	if (n < 8 || n > 15)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int sms_http_send(notify_transport *t, const notify_msg *m, char *err,
			 size_t errlen)
{
	http_transport *h = (http_transport *)t;
	CURL *c = NULL;
	char *url = NULL, *body = NULL;
	CURLcode cc;
	long status = 0;
	int r;

	if (!sms_valid_mobile(notify__s(m->to))) {
		notify__err(err, errlen, "not a mobile number");
		return PV_EINVAL;
	}
	r = sms_expand(h->url, m, ENC_URL, &url);
	if (r == PV_OK && h->body)
		r = sms_expand(h->body, m, h->body_enc, &body);
	if (r != PV_OK) {
		notify__err(err, errlen, "SMS request too large");
		r = r == PV_ELIMIT ? PV_EINVAL : r;
		goto out;
	}
	c = curl_easy_init();
	if (!c) {
		notify__err(err, errlen, "cannot create an HTTP handle");
		r = PV_ENOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->total_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "pravesh");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sms_discard);
	if (h->headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
	if (strcmp(h->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(body));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		if (strcmp(h->method, "PUT") == 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		/* curl_easy_strerror, not the error buffer: the latter may
		 * quote the URL, which can carry a gateway key */
		notify__err(err, errlen, "SMS gateway: %s",
			    curl_easy_strerror(cc));
		r = PV_EIO;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		notify__err(err, errlen, "SMS gateway answered HTTP %ld", status);
		r = PV_EIO;
		goto out;
	}
	r = PV_OK;
out:
	curl_easy_cleanup(c);
	free(url);
	free(body);
	return r;
}

static void sms_http_destroy(notify_transport *t)
{
	http_transport *h = (http_transport *)t;

	if (!h)
		return;
	curl_slist_free_all(h->headers);
	free(h->url);
	free(h->method);
	free(h->body);
	free(h);
}

/* Splits "Name: value" lines separated by "\n" or the two characters
 * backslash-n into h->headers; notes whether a Content-Type is given. */
static int sms_parse_headers(http_transport *h, const char *spec,
			     char *ctype, size_t ctcap, char *err,
			     size_t errlen)
{
	const char *p = spec;
	int count = 0;

	ctype[0] = '\0';
	while (*p) {
		const char *e = p, *colon;
		size_t len;
		char line[1024];
		struct curl_slist *l;

		while (*e && *e != '\n' && !(e[0] == '\\' && e[1] == 'n'))
			e++;
		p = util_trim(p, (size_t)(e - p), &len);
		if (len) {
			if (len >= sizeof line || ++count > SMS_HTTP_HEADERS_MAX) {
				notify__err(err, errlen,
					    "PRAVESH_SMS_HEADERS: too long");
				return PV_EINVAL;
			}
			memcpy(line, p, len);
			line[len] = '\0';
			colon = strchr(line, ':');
			if (!colon || colon == line || strchr(line, '\r') ||
			    memchr(line, ' ', (size_t)(colon - line))) {
				notify__err(err, errlen,
					    "PRAVESH_SMS_HEADERS: expected \"Name: value\" lines");
				return PV_EINVAL;
			}
			if ((size_t)(colon - line) == 12 &&
			    strncasecmp(line, "Content-Type", 12) == 0) {
				size_t vl;
				const char *v = util_trim(colon + 1,
							  strlen(colon + 1), &vl);

				util_strncpy0(ctype, ctcap, v, vl);
				util_lower_ascii(ctype);
			}
			l = curl_slist_append(h->headers, line);
			if (!l)
				return PV_ENOMEM;
			h->headers = l;
		}
		if (!*e)
			break;
		p = e + (*e == '\n' ? 1 : 2);
	}
	return PV_OK;
}

/* h's body template (body, or the default when empty), its encoding from
 * the content type ctype (or, without one, from the body's first
 * character) and the Content-Type header a JSON or XML body without one
 * needs. */
static int sms_body_setup(http_transport *h, const char *body, const char *ctype)
{
	size_t bl;
	const char *b0;
	int looks_json;

	if (!body || !body[0])
		body = sms_http_default_body;
	b0 = util_trim(body, strlen(body), &bl);
	looks_json = bl && (b0[0] == '{' || b0[0] == '[');
	h->body = strdup(body);
	if (!h->body)
		return PV_ENOMEM;
	if (strstr(ctype, "xml") || (!ctype[0] && bl && b0[0] == '<'))
		h->body_enc = ENC_XML;
	else if (looks_json || strstr(ctype, "json"))
		h->body_enc = ENC_JSON;
	else if (!ctype[0] || strstr(ctype, "application/x-www-form-urlencoded"))
		h->body_enc = ENC_URL;
	else
		h->body_enc = ENC_RAW;
	if (!ctype[0] && (looks_json || h->body_enc == ENC_XML)) {
		struct curl_slist *l = curl_slist_append(
			h->headers, h->body_enc == ENC_XML
					    ? "Content-Type: application/xml; charset=utf-8"
					    : "Content-Type: application/json");

		if (!l)
			return PV_ENOMEM;
		h->headers = l;
	}
	return PV_OK;
}

int notify__sms_http_new(const notify_http_cfg *cfg, notify_transport **out,
			 char *err, size_t errlen)
{
	http_transport *h = NULL;
	char ctype[128];
	const char *method = cfg->method && cfg->method[0] ? cfg->method : "POST";
	int r = PV_ENOMEM;

	*out = NULL;
	if (strncasecmp(cfg->url, "http://", 7) != 0 &&
	    strncasecmp(cfg->url, "https://", 8) != 0) {
		notify__err(err, errlen, "PRAVESH_SMS_URL must be http:// or https://");
		return PV_EINVAL;
	}
	if (strcasecmp(method, "GET") != 0 && strcasecmp(method, "POST") != 0 &&
	    strcasecmp(method, "PUT") != 0) {
		notify__err(err, errlen, "PRAVESH_SMS_METHOD must be GET, POST or PUT");
		return PV_EINVAL;
	}
	r = notify__curl_init();
	if (r != PV_OK) {
		notify__err(err, errlen, "cannot initialise libcurl");
		return r;
	}
	r = PV_ENOMEM;
	h = calloc(1, sizeof *h);
	if (!h)
		goto out;
	h->url = strdup(cfg->url);
	h->method = strdup(method);
	if (!h->url || !h->method)
		goto out;
	for (char *c = h->method; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	r = sms_parse_headers(h, notify__s(cfg->headers), ctype, sizeof ctype,
			      err, errlen);
	if (r != PV_OK)
		goto out;
	if (strcmp(h->method, "GET") != 0 &&
	    (r = sms_body_setup(h, cfg->body, ctype)) != PV_OK)
		goto out;
	h->total_ms = cfg->timeout_s > 0 ? cfg->timeout_s * 1000L : SMS_HTTP_TOTAL_MS;
	h->connect_ms = h->total_ms < SMS_HTTP_CONNECT_MS ? h->total_ms : SMS_HTTP_CONNECT_MS;
	h->base.name = "http";
	h->base.send = sms_http_send;
	h->base.destroy = sms_http_destroy;
	*out = &h->base;
	h = NULL;
	r = PV_OK;
out:
	if (h)
		sms_http_destroy(&h->base);
	return r;
}
