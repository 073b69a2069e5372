#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

void buf_init(buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->err = 0;
}

/* Frees the contents and marks the buffer failed with err; returns err. */
static int buf_fail(buf *b, int err)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = err;
	return err;
}

static int buf_reserve(buf *b, size_t extra)
{
	size_t need, ncap;
	char *np;

	if (b->err)
		return b->err;
	if (extra > b->max || b->len > b->max - extra)
		return buf_fail(b, PV_ELIMIT);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return PV_OK;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	np = realloc(b->p, ncap);
	if (!np)
		return buf_fail(b, PV_ENOMEM);
	b->p = np;
	b->cap = ncap;
	return PV_OK;
}

int buf_add(buf *b, const void *data, size_t n)
{
	int rc = buf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return PV_OK;
}

int buf_adds(buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_vaddf(buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (b->err)
		return b->err;
	if (n < 0)
		return buf_fail(b, PV_EINVAL);
	rc = buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return PV_OK;
}

int buf_addf(buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int buf_add_json_str(buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, start = 0;
	int rc = PV_OK;

	for (i = 0; i < n && rc == PV_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		rc = buf_add(b, s + start, i - start);
		if (rc)
			break;
		start = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		rc = buf_add(b, esc, elen);
	}
	if (rc == PV_OK)
		rc = buf_add(b, s + start, n - start);
	return rc;
}

int buf_error(const buf *b)
{
	return b->err;
}

void buf_reset(buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p)
		b->p[0] = '\0';
}

char *buf_steal(buf *b, size_t *len)
{
	char *p = b->p;

	if (len)
		*len = b->err ? 0 : b->len;
	if (!p && !b->err)
		p = calloc(1, 1);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
	return p;
}

void buf_free(buf *b)
{
	if (!b)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}
