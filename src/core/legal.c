#include "core/legal.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/utf8.h"
#include "util/util.h"

#define LEGAL_LANGS_MAX 16
#define LEGAL_LANG_MAX 9 /* "hi", "pt-br"... */
#define LEGAL_DOCS 2

static const char *const legal_docs[LEGAL_DOCS] = {LEGAL_TERMS, LEGAL_PRIVACY};

struct legal_text {
	char *text; /* rendered, malloc'd */
	char version[LEGAL_VERSION_MAX];
};

struct legal_lang {
	char tag[LEGAL_LANG_MAX];
	struct legal_text doc[LEGAL_DOCS];
};

struct legal {
	struct legal_lang lang[LEGAL_LANGS_MAX];
	size_t n; /* lang[0] is "en" */
};

static void legal_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void legal_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int legal_tag_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n >= LEGAL_LANG_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '-'))
			return 0;
	return 1;
}

/* The whole file at path into a malloc'd string (caller frees): PV_OK,
 * PV_ENOTFOUND when it does not exist, PV_ELIMIT past LEGAL_TEXT_MAX,
 * PV_EIO. */
static int legal_read(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t n = 0;
	int rc = PV_OK;

	*out = NULL;
	if (!f)
		return errno == ENOENT ? PV_ENOTFOUND : PV_EIO;
	if (!(p = malloc(LEGAL_TEXT_MAX + 1))) {
		rc = PV_ENOMEM;
		goto out;
	}
	n = fread(p, 1, LEGAL_TEXT_MAX + 1, f);
	if (ferror(f))
		rc = PV_EIO;
	else if (n > LEGAL_TEXT_MAX)
		rc = PV_ELIMIT;
out:
	fclose(f);
	if (rc != PV_OK) {
		free(p);
		return rc;
	}
	p[n] = '\0';
	*out = p;
	return PV_OK;
}

/* Replaces every {{name}} of src by its value into out. */
static int legal_render(const char *src, const legal_var *vars, size_t nvars,
			buf *out, char *bad, size_t badcap)
{
	const char *p = src;

	while (*p) {
		const char *open = strstr(p, "{{"), *close;
		size_t i, nlen;

		if (!open) {
			buf_adds(out, p);
			break;
		}
		buf_add(out, p, (size_t)(open - p));
		close = strstr(open + 2, "}}");
		nlen = close ? (size_t)(close - open - 2) : 0;
		for (i = 0; close && i < nvars; i++)
			if (strlen(vars[i].name) == nlen && strncmp(vars[i].name, open + 2, nlen) == 0)
				break;
		if (!close || i == nvars) {
			util_strncpy0(bad, badcap, open, close ? nlen + 4 : strcspn(open, "\n"));
			return PV_EFORMAT;
		}
		buf_adds(out, vars[i].value ? vars[i].value : "");
		p = close + 2;
	}
	return buf_error(out);
}

static int legal_doc_load(const char *dir, const char *tag, int d, const legal_var *vars,
			  size_t nvars, struct legal_text *out, char *err, size_t errlen)
{
	char path[4096], bad[80] = "", *raw = NULL;
	unsigned char h[crypto_hash_sha256_BYTES];
	buf b;
	int rc;

	buf_init(&b, LEGAL_TEXT_MAX * 2);
	if ((size_t)snprintf(path, sizeof path, "%s/%s/%s.md", dir, tag, legal_docs[d]) >=
	    sizeof path) {
		legal_err(err, errlen, "%s: path too long", dir);
		return PV_ELIMIT;
	}
	rc = legal_read(path, &raw);
	if (rc != PV_OK) {
		legal_err(err, errlen, "%s: %s", path,
			  rc == PV_ENOTFOUND ? "missing"
			  : rc == PV_ELIMIT  ? "larger than 64 KiB"
					     : "cannot be read");
		return rc;
	}
	if (!utf8_valid(raw, strlen(raw))) {
		legal_err(err, errlen, "%s: not UTF-8", path);
		rc = PV_EFORMAT;
		goto out;
	}
	rc = legal_render(raw, vars, nvars, &b, bad, sizeof bad);
	if (rc == PV_EFORMAT) {
		legal_err(err, errlen, "%s: unknown placeholder %s", path, bad);
		goto out;
	}
	if (rc != PV_OK) {
		legal_err(err, errlen, "%s: too long once rendered", path);
		goto out;
	}
	crypto_hash_sha256(h, (const unsigned char *)b.p, b.len);
	snprintf(out->version, sizeof out->version, "%s-%.5s-", legal_docs[d], tag);
	sodium_bin2hex(out->version + strlen(out->version),
		       sizeof out->version - strlen(out->version), h, 8);
	out->text = buf_steal(&b, NULL);
	if (!out->text)
		rc = PV_ENOMEM;
out:
	free(raw);
	buf_free(&b);
	return rc;
}

/* Both documents of one language; PV_ENOTFOUND when the directory has
 * neither (not a language of these texts). */
static int legal_lang_load(const char *dir, const char *tag, const legal_var *vars,
			   size_t nvars, struct legal_lang *out, char *err, size_t errlen)
{
	int rc, found = 0;

	util_strlcpy(out->tag, tag, sizeof out->tag);
	for (int d = 0; d < LEGAL_DOCS; d++) {
		rc = legal_doc_load(dir, tag, d, vars, nvars, &out->doc[d], err, errlen);
		if (rc == PV_ENOTFOUND)
			continue;
		if (rc != PV_OK)
			return rc;
		found++;
	}
	if (found == 0)
		return PV_ENOTFOUND;
	if (found < LEGAL_DOCS) {
		legal_err(err, errlen, "%s/%s: has %s.md but not %s.md", dir, tag,
			  out->doc[0].text ? legal_docs[0] : legal_docs[1],
			  out->doc[0].text ? legal_docs[1] : legal_docs[0]);
		return PV_EFORMAT;
	}
	return PV_OK;
}

static void legal_lang_free(struct legal_lang *l)
{
	for (int d = 0; d < LEGAL_DOCS; d++) {
		free(l->doc[d].text);
		l->doc[d].text = NULL;
	}
}

int legal_load(const char *dir, const legal_var *vars, size_t nvars,
	       legal **out, char *err, size_t errlen)
{
	legal *l;
	DIR *dh = NULL;
	struct dirent *de;
	int rc;

	*out = NULL;
	if (!dir)
		dir = "./templates";
	if (!(l = calloc(1, sizeof *l)))
		return PV_ENOMEM;
	rc = legal_lang_load(dir, "en", vars, nvars, &l->lang[0], err, errlen);
	if (rc != PV_OK) {
		if (rc == PV_ENOTFOUND)
			legal_err(err, errlen, "%s/en/terms.md and privacy.md: missing", dir);
		goto out;
	}
	l->n = 1;
	if (!(dh = opendir(dir))) {
		legal_err(err, errlen, "%s: cannot be read", dir);
		rc = PV_EIO;
		goto out;
	}
	while ((de = readdir(dh)) != NULL) {
		if (!legal_tag_ok(de->d_name) || strcmp(de->d_name, "en") == 0)
			continue;
		if (l->n == LEGAL_LANGS_MAX) {
			legal_err(err, errlen, "%s: more than %d languages", dir, LEGAL_LANGS_MAX);
			rc = PV_ELIMIT;
			goto out;
		}
		rc = legal_lang_load(dir, de->d_name, vars, nvars, &l->lang[l->n], err, errlen);
		if (rc == PV_ENOTFOUND) {
			legal_lang_free(&l->lang[l->n]);
			continue;
		}
		if (rc != PV_OK) {
			legal_lang_free(&l->lang[l->n]);
			goto out;
		}
		l->n++;
	}
	rc = PV_OK;
out:
	if (dh)
		closedir(dh);
	if (rc != PV_OK) {
		legal_free(l);
		return rc;
	}
	*out = l;
	return PV_OK;
}

void legal_free(legal *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < LEGAL_LANGS_MAX; i++)
		legal_lang_free(&l->lang[i]);
	free(l);
}

static int legal_doc_index(const char *doc)
{
	for (int d = 0; doc && d < LEGAL_DOCS; d++)
		if (strcmp(doc, legal_docs[d]) == 0)
			return d;
	return -1;
}

int legal_get(const legal *l, const char *doc, const char *lang,
	      const char **text, const char **version, const char **text_lang)
{
	int d = legal_doc_index(doc);
	const struct legal_lang *hit = &l->lang[0];
	char want[LEGAL_LANG_MAX];

	if (d < 0)
		return PV_ENOTFOUND;
	/* "hi-IN" tries "hi-in", then "hi" */
	util_strncpy0(want, sizeof want, lang ? lang : "", lang ? strnlen(lang, sizeof want - 1) : 0);
	util_lower_ascii(want);
	for (int pass = 0; pass < 2 && hit == &l->lang[0]; pass++) {
		for (size_t i = 1; i < l->n; i++)
			if (strcmp(l->lang[i].tag, want) == 0)
				hit = &l->lang[i];
		want[strcspn(want, "-")] = '\0';
	}
	if (text)
		*text = hit->doc[d].text;
	if (version)
		*version = hit->doc[d].version;
	if (text_lang)
		*text_lang = hit->tag;
	return PV_OK;
}

int legal_version_known(const legal *l, const char *doc, const char *version)
{
	int d = legal_doc_index(doc);

	for (size_t i = 0; d >= 0 && version && i < l->n; i++)
		if (strcmp(l->lang[i].doc[d].version, version) == 0)
			return 1;
	return 0;
}
