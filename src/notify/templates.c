/* templates: message texts in files, one per language and name, loaded
 * once at start so that a missing or malformed text stops the server at
 * start-up instead of failing a message at three in the morning. The file
 * format is described in notify.h and docs/notifications.md. */
#include "notify/notify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/util.h"
#include "util/utf8.h"

#define TPL_MAX_LANGS 32
#define TPL_MAX_PER_LANG 64
#define TPL_MAX_FILE (16 * 1024)
#define TPL_MAX_CHOICES 32
#define TPL_NAME_MAX 64
#define TPL_LANG_MAX 16
#define TPL_OUT_MAX (64 * 1024)
#define TPL_PARAM_MAX 64

const char *const notify_template_names[] = {
	"otp_sms",
	"otp_registered_sms",
	"activation_email",
	"welcome_sms",
	"welcome_email",
	"request_approved_sms",
	"request_approved_email",
	"request_rejected_sms",
	"request_rejected_email",
	"mobile_taken_sms",
	"mobile_replaced_sms",
	"email_confirm_email",
	"email_change_email",
	"account_closed_email",
};
const size_t notify_template_count =
	sizeof notify_template_names / sizeof notify_template_names[0];

/* "Text-<param>-<value>: text": a wording for one value of one parameter.
 * All three point into the template's raw text. */
typedef struct tpl_choice {
	const char *param, *value, *text;
} tpl_choice;

typedef struct tpl {
	char name[TPL_NAME_MAX];
	char *raw; /* the file's bytes; every pointer below points into it */
	const char *subject, *template_id, *body;
	tpl_choice choices[TPL_MAX_CHOICES];
	size_t nchoices;
} tpl;

typedef struct tpl_lang {
	char tag[TPL_LANG_MAX];
	tpl *items; /* TPL_MAX_PER_LANG slots */
	size_t n;
} tpl_lang;

struct notify_templates {
	tpl_lang langs[TPL_MAX_LANGS];
	size_t nlangs;
};

static void tpl_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void tpl_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}


static int tpl_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* A template file name: [a-z0-9_]{1,63}. */
static int tpl_valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= TPL_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* A language directory: "en", "hin", "pt-br" (lower case). */
static int tpl_valid_lang(const char *s)
{
	size_t n = strlen(s), i = 0;

	if (n >= TPL_LANG_MAX)
		return 0;
	while (i < n && s[i] >= 'a' && s[i] <= 'z')
		i++;
	if (i < 2 || i > 3)
		return 0;
	if (i == n)
		return 1;
	if (s[i] != '-' || n - i - 1 < 2 || n - i - 1 > 8)
		return 0;
	for (i++; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static int tpl_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Checks that every "{{" opens a well-formed placeholder. */
static int tpl_check_placeholders(const char *s, const char *file,
				  const char *what, char *err, size_t errlen)
{
	const char *p = s;

	while ((p = strstr(p, "{{")) != NULL) {
		const char *q = p + 2;

		while (tpl_is_name_char(*q))
			q++;
		if (q == p + 2 || q - (p + 2) >= TPL_PARAM_MAX ||
		    strncmp(q, "}}", 2) != 0) {
			tpl_err(err, errlen,
				"%s: malformed placeholder in the %s", file,
				what);
			return PV_EFORMAT;
		}
		p = q + 2;
	}
	return PV_OK;
}

/* One header line p ("Name: value", NUL-terminated, modified in place)
 * into t. */
static int tpl_header(tpl *t, char *p, const char *file, int line, char *err,
		      size_t errlen)
{
	char *colon = strchr(p, ':'), *v;

	if (!colon || colon == p) {
		tpl_err(err, errlen, "%s:%d: header line without a name", file, line);
		return PV_EFORMAT;
	}
	*colon = '\0';
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	for (char *e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t');)
		*--e = '\0';
	if (strcasecmp(p, "Subject") == 0) {
		t->subject = v;
	} else if (strcasecmp(p, "DLT-Template-Id") == 0) {
		t->template_id = v;
	} else if (strncasecmp(p, "Text-", 5) == 0) {
		char *param = p + 5, *dash = strchr(param, '-');

		if (!dash || dash == param || dash[1] == '\0' ||
		    t->nchoices == TPL_MAX_CHOICES) {
			tpl_err(err, errlen, "%s:%d: expected Text-<param>-<value>",
				file, line);
			return PV_EFORMAT;
		}
		*dash = '\0';
		t->choices[t->nchoices].param = param;
		t->choices[t->nchoices].value = dash + 1;
		t->choices[t->nchoices].text = v;
		t->nchoices++;
	} else {
		tpl_err(err, errlen, "%s:%d: unknown header \"%s\"", file, line, p);
		return PV_EFORMAT;
	}
	return PV_OK;
}

/* The body p in place: CRLF to LF, trailing white space and newlines
 * dropped. */
static void tpl_body_trim(char *p)
{
	char *w = p, *end;

	for (char *q = p; *q; q++)
		if (!(q[0] == '\r' && q[1] == '\n'))
			*w++ = *q;
	*w = '\0';
	end = w;
	while (end > p && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
}

/* Parses t->raw (NUL-terminated, modified in place). */
static int tpl_parse(tpl *t, const char *file, char *err, size_t errlen)
{
	char *p = t->raw;
	int line = 0, r;

	if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
	    (unsigned char)p[2] == 0xbf)
		p += 3;
	t->subject = "";
	t->template_id = "";
	for (;;) {
		char *nl = strchr(p, '\n');
		size_t len;

		line++;
		if (!nl) {
			tpl_err(err, errlen,
				"%s: no blank line between the headers and the body",
				file);
			return PV_EFORMAT;
		}
		*nl = '\0';
		len = (size_t)(nl - p);
		if (len && p[len - 1] == '\r')
			p[--len] = '\0';
		if (len == 0) {
			p = nl + 1;
			break;
		}
		if (p[0] == '#') {
			p = nl + 1;
			continue;
		}
		if ((r = tpl_header(t, p, file, line, err, errlen)) != PV_OK)
			return r;
		p = nl + 1;
	}
	tpl_body_trim(p);
	t->body = p;
	if (t->body[0] == '\0') {
		tpl_err(err, errlen, "%s: empty body", file);
		return PV_EFORMAT;
	}
	if (tpl_ends_with(t->name, "_email") && t->subject[0] == '\0') {
		tpl_err(err, errlen, "%s: an e-mail template needs a Subject",
			file);
		return PV_EFORMAT;
	}
	if (tpl_ends_with(t->name, "_sms") && t->subject[0] != '\0') {
		tpl_err(err, errlen, "%s: an SMS template has no Subject", file);
		return PV_EFORMAT;
	}
	r = tpl_check_placeholders(t->subject, file, "subject", err, errlen);
	if (r == PV_OK)
		r = tpl_check_placeholders(t->body, file, "body", err, errlen);
	return r;
}

static int tpl_read_file(const char *path, char **out)
{
	int fd = -1, r = PV_EIO;
	struct stat st;
	char *data = NULL;
	size_t got = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size > TPL_MAX_FILE) {
		r = PV_ELIMIT;
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		r = PV_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	data[got] = '\0';
	if (strlen(data) != got || !utf8_valid(data, got)) {
		r = PV_EFORMAT;
		goto out;
	}
	*out = data;
	data = NULL;
	r = PV_OK;
out:
	free(data);
	if (fd >= 0)
		close(fd);
	return r;
}

static int tpl_load_lang(tpl_lang *l, const char *langdir, char *err,
			 size_t errlen)
{
	DIR *d = opendir(langdir);
	struct dirent *de;
	int r = PV_OK;
	char path[4096];

	if (!d) {
		tpl_err(err, errlen, "cannot open template directory %s",
			langdir);
		return PV_EIO;
	}
	l->items = calloc(TPL_MAX_PER_LANG, sizeof *l->items);
	if (!l->items) {
		r = PV_ENOMEM;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		tpl *t;

		if (de->d_name[0] == '.' || !tpl_ends_with(de->d_name, ".txt"))
			continue;
		if (!tpl_valid_name(de->d_name, n - 4)) {
			tpl_err(err, errlen,
				"%s/%s: template names are [a-z0-9_]", langdir,
				de->d_name);
			r = PV_EFORMAT;
			goto out;
		}
		if (l->n == TPL_MAX_PER_LANG) {
			tpl_err(err, errlen, "%s: more than %d templates",
				langdir, TPL_MAX_PER_LANG);
			r = PV_ELIMIT;
			goto out;
		}
		t = &l->items[l->n];
		util_strncpy0(t->name, sizeof t->name, de->d_name, n - 4);
		if (snprintf(path, sizeof path, "%s/%s", langdir, de->d_name) >=
		    (int)sizeof path) {
			r = PV_ELIMIT;
			tpl_err(err, errlen, "template path too long");
			goto out;
		}
		r = tpl_read_file(path, &t->raw);
		if (r != PV_OK) {
			tpl_err(err, errlen, "%s: %s", path,
				r == PV_EFORMAT ? "not UTF-8 text"
				: r == PV_ELIMIT ? "larger than 16 KiB"
						 : "cannot read");
			goto out;
		}
		l->n++;
		r = tpl_parse(t, path, err, errlen);
		if (r != PV_OK)
			goto out;
	}
out:
	closedir(d);
	return r;
}

static const tpl *tpl_find_in(const tpl_lang *l, const char *name)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(l->items[i].name, name) == 0)
			return &l->items[i];
	return NULL;
}

static const tpl_lang *tpl_lang_find(const notify_templates *t,
				     const char *tag)
{
	for (size_t i = 0; i < t->nlangs; i++)
		if (strcmp(t->langs[i].tag, tag) == 0)
			return &t->langs[i];
	return NULL;
}

void notify_templates_free(notify_templates *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nlangs; i++) {
		for (size_t j = 0; t->langs[i].items && j < TPL_MAX_PER_LANG; j++)
			free(t->langs[i].items[j].raw);
		free(t->langs[i].items);
	}
	free(t);
}

int notify_templates_load(const char *dir, notify_templates **out, char *err,
			  size_t errlen)
{
	notify_templates *t = NULL;
	DIR *d = NULL;
	struct dirent *de;
	char path[4096];
	int r = PV_OK;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!dir || !dir[0])
		dir = "./templates";
	t = calloc(1, sizeof *t);
	if (!t) {
		r = PV_ENOMEM;
		goto out;
	}
	d = opendir(dir);
	if (!d) {
		tpl_err(err, errlen, "cannot open template directory %s", dir);
		r = PV_EIO;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.' || !tpl_valid_lang(de->d_name))
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >=
		    (int)sizeof path) {
			tpl_err(err, errlen, "template path too long");
			r = PV_ELIMIT;
			goto out;
		}
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (t->nlangs == TPL_MAX_LANGS) {
			tpl_err(err, errlen, "%s: more than %d languages", dir,
				TPL_MAX_LANGS);
			r = PV_ELIMIT;
			goto out;
		}
		util_strlcpy(t->langs[t->nlangs].tag, de->d_name,
			     sizeof t->langs[0].tag);
		t->nlangs++;
		r = tpl_load_lang(&t->langs[t->nlangs - 1], path, err, errlen);
		if (r != PV_OK)
			goto out;
	}
	if (!tpl_lang_find(t, "en")) {
		tpl_err(err, errlen, "%s/en: the English templates are missing",
			dir);
		r = PV_ENOTFOUND;
		goto out;
	}
	for (size_t i = 0; i < t->nlangs; i++)
		for (size_t j = 0; j < notify_template_count; j++)
			if (!tpl_find_in(&t->langs[i], notify_template_names[j])) {
				tpl_err(err, errlen,
					"%s/%s/%s.txt: missing template", dir,
					t->langs[i].tag,
					notify_template_names[j]);
				r = PV_ENOTFOUND;
				goto out;
			}
	*out = t;
	t = NULL;
out:
	if (d)
		closedir(d);
	notify_templates_free(t);
	return r;
}

void notify_rendered_free(notify_rendered *r)
{
	if (!r)
		return;
	free(r->lang);
	free(r->subject);
	free(r->template_id);
	free(r->text);
	memset(r, 0, sizeof *r);
}

/* Appends the text of parameter `name` (n bytes) to b. */
static int tpl_subst(const tpl *t, json_t *params, const char *name, size_t n,
		     buf *b, char *err, size_t errlen)
{
	char key[TPL_PARAM_MAX], num[64];
	json_t *v;
	const char *s;
	int has_choices = 0;

	util_strncpy0(key, sizeof key, name, n);
	v = json_object_get(params, key);
	if (!v) {
		tpl_err(err, errlen, "%s: missing parameter \"%s\"", t->name,
			key);
		return PV_EINVAL;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		s = num;
	} else if (json_is_real(v)) {
		snprintf(num, sizeof num, "%.15g", json_real_value(v));
		s = num;
	} else {
		tpl_err(err, errlen,
			"%s: parameter \"%s\" is not a string or a number",
			t->name, key);
		return PV_EINVAL;
	}
	for (size_t i = 0; i < t->nchoices; i++) {
		if (strcmp(t->choices[i].param, key) != 0)
			continue;
		has_choices = 1;
		if (strcmp(t->choices[i].value, s) == 0)
			return buf_adds(b, t->choices[i].text);
	}
	if (has_choices) {
		/* the value itself is not logged: only its parameter name */
		tpl_err(err, errlen, "%s: no wording for this value of \"%s\"",
			t->name, key);
		return PV_EINVAL;
	}
	return buf_adds(b, s);
}

static int tpl_expand(const tpl *t, const char *src, json_t *params,
		      char **out, char *err, size_t errlen)
{
	buf b;
	const char *p = src, *q;
	int r = PV_OK;

	buf_init(&b, TPL_OUT_MAX);
	while ((q = strstr(p, "{{")) != NULL) {
		const char *e = strstr(q + 2, "}}"); /* checked at load */

		r = buf_add(&b, p, (size_t)(q - p));
		if (r == PV_OK)
			r = tpl_subst(t, params, q + 2, (size_t)(e - q - 2), &b,
				      err, errlen);
		if (r != PV_OK)
			goto out;
		p = e + 2;
	}
	r = buf_adds(&b, p);
	if (r == PV_OK && !b.p)
		r = buf_add(&b, "", 0);
	if (r == PV_OK && !b.p)
		r = PV_ENOMEM;
	if (r != PV_OK)
		goto out;
	*out = buf_steal(&b, NULL);
out:
	if (r == PV_ELIMIT)
		tpl_err(err, errlen, "%s: rendered text exceeds 64 KiB",
			t->name);
	else if (r == PV_ENOMEM)
		tpl_err(err, errlen, "out of memory");
	buf_free(&b);
	return r;
}

static char *tpl_strdup(const char *s)
{
	return strdup(s ? s : "");
}

int notify_render(const notify_templates *t, const char *name,
		  const char *lang, const char *params_json,
		  notify_rendered *out, char *err, size_t errlen)
{
	char tag[TPL_LANG_MAX];
	const tpl_lang *l = NULL, *en;
	const tpl *tp = NULL;
	json_t *params = NULL;
	json_error_t jerr;
	int r = PV_OK;

	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = '\0';
	if (!t || !name) {
		tpl_err(err, errlen, "no templates");
		return PV_EINVAL;
	}
	en = tpl_lang_find(t, "en");
	if (lang && lang[0] && strlen(lang) < sizeof tag) {
		char *dash;

		util_strlcpy(tag, lang, sizeof tag);
		for (char *c = tag; *c; c++)
			if (*c == '_')
				*c = '-';
		util_lower_ascii(tag);
		l = tpl_lang_find(t, tag);
		if (!l && (dash = strchr(tag, '-')) != NULL) {
			*dash = '\0';
			l = tpl_lang_find(t, tag);
		}
	}
	tp = tpl_find_in(l, name);
	if (!tp) {
		l = en;
		tp = tpl_find_in(l, name);
	}
	if (!tp) {
		tpl_err(err, errlen, "unknown template \"%s\"", name);
		return PV_ENOTFOUND;
	}
	if (params_json && params_json[0]) {
		params = json_loads(params_json, JSON_REJECT_DUPLICATES, &jerr);
		if (!params || !json_is_object(params)) {
			tpl_err(err, errlen,
				"%s: the parameters are not a JSON object",
				name);
			r = PV_EINVAL;
			goto out;
		}
	} else {
		params = json_object();
		if (!params) {
			r = PV_ENOMEM;
			goto out;
		}
	}
	r = tpl_expand(tp, tp->subject, params, &out->subject, err, errlen);
	if (r == PV_OK)
		r = tpl_expand(tp, tp->body, params, &out->text, err, errlen);
	if (r != PV_OK)
		goto out;
	out->template_id = tpl_strdup(tp->template_id);
	out->lang = tpl_strdup(l->tag);
	if (!out->template_id || !out->lang)
		r = PV_ENOMEM;
out:
	json_decref(params);
	if (r != PV_OK)
		notify_rendered_free(out);
	return r;
}
