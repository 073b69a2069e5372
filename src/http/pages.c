/* pages.c: the web root prepared once and served from memory (pages.h
 * says what preparing does). Paths are matched against the table of files
 * read at start-up: no request ever opens a file, so no path can reach
 * outside the web root. */
#include "http/pages.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define PG_PATH_MAX 256
#define PG_HASH_LEN 17 /* 16 hex digits and the NUL */
#define PG_MAX_INLINE 4 /* inline parts of a page (styles, the import map) */
#define PG_HEAD_MARK "<!--#pravesh-head-->"
#define PG_IMMUTABLE "public, max-age=31536000, immutable"

/* One copy of a file as sent: a language of a page, or the file itself. */
typedef struct pg_copy {
	char *body; /* owned */
	size_t len;
	char *gz; /* owned; NULL when not compressed */
	size_t gzlen;
	char etag[PG_HASH_LEN + 8];    /* "\"<hash>\"" */
	char gzetag[PG_HASH_LEN + 12]; /* "\"<hash>-gz\"" */
	char *csp;		       /* owned; pages only */
} pg_copy;

typedef struct pg_file {
	char path[PG_PATH_MAX]; /* as served: "/js/ui.js", "/register.html" */
	const char *ctype;
	int html;
	int hidden; /* under /partials/: included, never served */
	char hash[PG_HASH_LEN];
	char *raw; /* the file as read (pages: freed once prepared) */
	size_t rawlen;
	pg_copy c[PG_MAX_LANGS]; /* pages: one per language; files: c[0] */
	size_t ncopies;
} pg_file;

struct http_pages {
	pg_file *f; /* sorted by path */
	size_t n;
	char lang[PG_MAX_LANGS][8]; /* "en" first when there is one */
	size_t nlangs;
	json_t *dict[PG_MAX_LANGS]; /* while preparing */
	const pg_file *notfound;    /* /404.html or NULL */
	size_t total;
	char *importmap; /* while preparing: the <script type="importmap"> */
	char importmap_hash[64];
};

static const struct {
	const char *ext, *type;
	int text;
} pg_types[] = {
	{".html", "text/html; charset=utf-8", 1},
	{".css", "text/css; charset=utf-8", 1},
	{".js", "text/javascript; charset=utf-8", 1},
	{".mjs", "text/javascript; charset=utf-8", 1},
	{".json", "application/json", 1},
	{".svg", "image/svg+xml", 1},
	{".txt", "text/plain; charset=utf-8", 1},
	{".csv", "text/csv; charset=utf-8", 1},
	{".png", "image/png", 0},
	{".ico", "image/x-icon", 0},
	{".woff2", "font/woff2", 0},
	{".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 0},
};

static int pg_type(const char *path, const char **ctype)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof pg_types / sizeof pg_types[0]; i++)
		if (strcmp(dot, pg_types[i].ext) == 0) {
			*ctype = pg_types[i].type;
			return pg_types[i].text;
		}
	*ctype = "application/octet-stream";
	return 0;
}

static void pg_err(char *err, size_t cap, const char *what, const char *path)
{
	snprintf(err, cap, "web root: %s: %s", path, what);
}

/* ---- reading ---- */

static int pg_read_file(const char *full, char **out, size_t *len)
{
	struct stat sb;
	char *p = NULL;
	size_t got = 0;
	int fd = open(full, O_RDONLY | O_CLOEXEC), rc = PV_EIO;

	if (fd < 0)
		return PV_EIO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto out;
	rc = PV_ELIMIT;
	if ((uint64_t)sb.st_size > PG_MAX_FILE)
		goto out;
	rc = PV_ENOMEM;
	if (!(p = malloc((size_t)sb.st_size + 1)))
		goto out;
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, p + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	rc = got == (size_t)sb.st_size ? PV_OK : PV_EIO;
	p[got] = '\0';
out:
	close(fd);
	if (rc != PV_OK)
		free(p);
	else {
		*out = p; /* the caller frees */
		*len = got;
	}
	return rc;
}

/* Reads every regular file under root/rel (names starting with "." are
 * skipped) into p->f. */
static int pg_walk(http_pages *p, const char *root, const char *rel, char *err, size_t errcap)
{
	char dirpath[PG_PATH_MAX * 2 + 8], full[PG_PATH_MAX * 2 + 8];
	struct dirent *de;
	DIR *d;
	int rc = PV_OK;

	snprintf(dirpath, sizeof dirpath, "%s%s", root, rel);
	if (!(d = opendir(dirpath))) {
		pg_err(err, errcap, strerror(errno), dirpath);
		return PV_EIO;
	}
	while (rc == PV_OK && (de = readdir(d))) {
		char path[PG_PATH_MAX];
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", rel, de->d_name) >= sizeof path) {
			pg_err(err, errcap, "path too long", de->d_name);
			rc = PV_ELIMIT;
			break;
		}
		snprintf(full, sizeof full, "%s%s", root, path);
		if (stat(full, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			rc = pg_walk(p, root, path, err, errcap);
			continue;
		}
		if (!S_ISREG(sb.st_mode))
			continue;
		if (p->n == PG_MAX_FILES) {
			pg_err(err, errcap, "too many files", root);
			rc = PV_ELIMIT;
			break;
		}
		pg_file *f = &p->f[p->n];

		memset(f, 0, sizeof *f);
		util_strlcpy(f->path, path, sizeof f->path);
		pg_type(path, &f->ctype);
		f->html = strcmp(f->ctype, pg_types[0].type) == 0;
		f->hidden = strncmp(path, "/partials/", 10) == 0;
		if ((rc = pg_read_file(full, &f->raw, &f->rawlen)) != PV_OK) {
			pg_err(err, errcap, rc == PV_ELIMIT ? "file too large" : "cannot read", path);
			break;
		}
		p->n++;
		p->total += f->rawlen;
		if (p->total > PG_MAX_TOTAL) {
			pg_err(err, errcap, "more than 32 MB of files", root);
			rc = PV_ELIMIT;
		}
	}
	closedir(d);
	return rc;
}

static int pg_cmp(const void *a, const void *b)
{
	return strcmp(((const pg_file *)a)->path, ((const pg_file *)b)->path);
}

static pg_file *pg_find(const http_pages *p, const char *path)
{
	pg_file key;

	if (strlen(path) >= sizeof key.path)
		return NULL;
	util_strlcpy(key.path, path, sizeof key.path);
	return bsearch(&key, p->f, p->n, sizeof *p->f, pg_cmp);
}

/* ---- hashes and compression ---- */

static void pg_hash(const char *data, size_t n, char out[PG_HASH_LEN])
{
	unsigned char h[8];

	crypto_generichash(h, sizeof h, (const unsigned char *)data, n, NULL, 0);
	sodium_bin2hex(out, PG_HASH_LEN, h, sizeof h);
}

/* 'sha256-<base64>' of data, for a Content-Security-Policy. */
static void pg_csp_hash(const char *data, size_t n, char out[64])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];

	crypto_hash_sha256(h, (const unsigned char *)data, n);
	sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, 64, "'sha256-%s'", b64);
}

/* A gzip copy of c->body when it is smaller; no copy is no error. */
static int pg_gzip(pg_copy *c)
{
	z_stream z;
	uLong bound;
	char *out;

	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return PV_ENOMEM;
	bound = deflateBound(&z, (uLong)c->len) + 32;
	if (!(out = malloc(bound))) {
		deflateEnd(&z);
		return PV_ENOMEM;
	}
	z.next_in = (Bytef *)c->body;
	z.avail_in = (uInt)c->len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out >= c->len) {
		free(out);
		deflateEnd(&z);
		return PV_OK;
	}
	c->gz = out; /* freed with the copy */
	c->gzlen = z.total_out;
	deflateEnd(&z);
	return PV_OK;
}

/* The ETags and the gzip copy of a finished copy. */
static int pg_finish_copy(pg_copy *c, int text)
{
	char h[PG_HASH_LEN];

	pg_hash(c->body, c->len, h);
	snprintf(c->etag, sizeof c->etag, "\"%s\"", h);
	snprintf(c->gzetag, sizeof c->gzetag, "\"%s-gz\"", h);
	return text ? pg_gzip(c) : PV_OK;
}

/* ---- languages ---- */

static int pg_langs(http_pages *p, char *err, size_t errcap)
{
	for (size_t i = 0; i < p->n; i++) {
		const char *path = p->f[i].path, *l = path + 6;
		size_t ll = strcspn(l, ".");
		json_error_t je;
		size_t k;

		if (strncmp(path, "/i18n/", 6) != 0 || ll < 2 || ll > 3 || strcmp(l + ll, ".json") != 0)
			continue;
		if (p->nlangs == PG_MAX_LANGS)
			break;
		/* "en" first: the default */
		k = strncmp(l, "en", ll) == 0 && ll == 2 ? 0 : p->nlangs;
		if (k == 0 && p->nlangs) {
			memmove(&p->lang[1], &p->lang[0], sizeof p->lang[0] * p->nlangs);
			memmove(&p->dict[1], &p->dict[0], sizeof p->dict[0] * p->nlangs);
		}
		util_strncpy0(p->lang[k], sizeof p->lang[k], l, ll);
		p->dict[k] = json_loadb(p->f[i].raw, p->f[i].rawlen, 0, &je);
		p->nlangs++;
		if (!json_is_object(p->dict[k])) {
			pg_err(err, errcap, "not a JSON object", path);
			return PV_EFORMAT;
		}
	}
	if (!p->nlangs) {
		util_strlcpy(p->lang[0], "en", sizeof p->lang[0]);
		p->dict[0] = json_object();
		p->nlangs = 1;
	}
	return PV_OK;
}

/* ---- modules ---- */

/* Resolves spec (a relative or absolute path) against the folder of from
 * into out; 0 when it is not a path. */
static int pg_resolve(const char *from, const char *spec, size_t n, char out[PG_PATH_MAX])
{
	char tmp[PG_PATH_MAX * 2];
	size_t len;

	if (n == 0 || n >= PG_PATH_MAX)
		return 0;
	if (spec[0] == '/') {
		util_strncpy0(out, PG_PATH_MAX, spec, n);
		return 1;
	}
	if (strncmp(spec, "./", 2) != 0 && strncmp(spec, "../", 3) != 0)
		return 0;
	len = (size_t)(strrchr(from, '/') - from); /* the folder, without its slash */
	memcpy(tmp, from, len);
	tmp[len] = '\0';
	while (n) {
		if (n >= 2 && strncmp(spec, "./", 2) == 0) {
			spec += 2;
			n -= 2;
		} else if (n >= 3 && strncmp(spec, "../", 3) == 0) {
			char *s = strrchr(tmp, '/');

			if (!s)
				return 0;
			*s = '\0';
			spec += 3;
			n -= 3;
		} else {
			break;
		}
	}
	len = strlen(tmp);
	if (len + 1 + n >= PG_PATH_MAX)
		return 0;
	memcpy(out, tmp, len);
	out[len] = '/';
	memcpy(out + len + 1, spec, n);
	out[len + 1 + n] = '\0';
	return 1;
}

/* Marks f and every module it imports (static imports, found by their
 * "from '...'" and "import '...'") in seen[], by index. */
static void pg_closure(const http_pages *p, const pg_file *f, unsigned char *seen)
{
	const char *s = f->raw, *end = f->raw + f->rawlen;

	if (seen[f - p->f])
		return;
	seen[f - p->f] = 1;
	while (s < end && (s = strstr(s, "import")) != NULL) {
		const char *q = s + 6, *from = NULL;
		char path[PG_PATH_MAX];
		const pg_file *g;

		s += 6;
		/* import './x.js' or import ... from './x.js' (before the ';') */
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (*q != '\'' && *q != '"') {
			const char *semi = strchr(q, ';');

			from = strstr(q, "from");
			if (!from || (semi && from > semi))
				continue;
			q = from + 4;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (*q != '\'' && *q != '"')
				continue;
		}
		const char *close = strchr(q + 1, *q);

		if (!close || !pg_resolve(f->path, q + 1, (size_t)(close - q - 1), path))
			continue;
		if ((g = pg_find(p, path)) && !g->html)
			pg_closure(p, g, seen);
	}
}

/* <script type="importmap">: every script under /js/ to its versioned
 * URL, so that the modules' own imports are versioned too. */
static int pg_importmap(http_pages *p)
{
	json_t *imports = json_object(), *doc;
	char *js;
	buf b;

	for (size_t i = 0; imports && i < p->n; i++) {
		char url[PG_PATH_MAX + 24];

		const char *dot = strrchr(p->f[i].path, '.');

		if (strncmp(p->f[i].path, "/js/", 4) != 0 || !dot || strcmp(dot, ".js") != 0)
			continue;
		snprintf(url, sizeof url, "%s?v=%s", p->f[i].path, p->f[i].hash);
		json_object_set_new(imports, p->f[i].path, json_string(url));
	}
	doc = json_pack("{s:o}", "imports", imports);
	js = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!js)
		return PV_ENOMEM;
	pg_csp_hash(js, strlen(js), p->importmap_hash);
	buf_init(&b, 1u << 20);
	buf_adds(&b, "<script type=\"importmap\">");
	buf_adds(&b, js);
	buf_adds(&b, "</script>\n");
	free(js);
	p->importmap = buf_steal(&b, NULL);
	return p->importmap ? PV_OK : PV_ENOMEM;
}

/* ---- pages ---- */

/* Copies in[0..n) into out with every <!--#include virtual="X" -->
 * replaced by file X (one level: includes do not nest). */
static int pg_includes(const http_pages *p, const pg_file *page, buf *out, char *err, size_t errcap)
{
	static const char open[] = "<!--#include virtual=\"";
	const char *s = page->raw, *hit;

	while ((hit = strstr(s, open))) {
		const char *name = hit + sizeof open - 1, *q = strchr(name, '"'), *close;
		char path[PG_PATH_MAX];
		const pg_file *inc;

		close = q ? strstr(q, "-->") : NULL;
		if (!close || (size_t)(q - name) >= sizeof path) {
			pg_err(err, errcap, "unfinished include", page->path);
			return PV_EFORMAT;
		}
		util_strncpy0(path, sizeof path, name, (size_t)(q - name));
		if (!(inc = pg_find(p, path)) || inc->html == 0 || !inc->raw) {
			pg_err(err, errcap, "include of a missing file", path);
			return PV_EFORMAT;
		}
		buf_add(out, s, (size_t)(hit - s));
		/* the file's last newline would double the one after the include */
		buf_add(out, inc->raw, inc->rawlen && inc->raw[inc->rawlen - 1] == '\n' ? inc->rawlen - 1 : inc->rawlen);
		s = close + 3;
	}
	buf_adds(out, s);
	return buf_error(out);
}

/* The value of attribute name (with its leading space, e.g.
 * " href=\"") inside tag [t, e), into out; 0 when absent. */
static int pg_attr(const char *t, const char *e, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (const char *s = t; s + nl < e; s++) {
		if (strncmp(s, name, nl) != 0)
			continue;
		const char *v = s + nl, *q = memchr(v, '"', (size_t)(e - v));

		if (!q || (size_t)(q - v) >= cap)
			return 0;
		util_strncpy0(out, cap, v, (size_t)(q - v));
		return 1;
	}
	return 0;
}

/* What a page needs from pass one. */
struct pg_page {
	char styles[PG_MAX_INLINE][64]; /* CSP hashes of inlined styles */
	size_t nstyles;
	unsigned char *seen; /* modules to preload, by file index */
};

/* Pass one over a page with its includes expanded: stylesheets inlined,
 * module scripts versioned, modulepreload links dropped (pass two writes
 * them all), the head block's place marked after </title>. */
static int pg_page_pass1(const http_pages *p, const char *in, buf *out, struct pg_page *pg)
{
	const char *s = in;

	while (*s) {
		const char *lt = strchr(s, '<'), *gt;
		char href[PG_PATH_MAX];
		const pg_file *f;

		if (!lt) {
			buf_adds(out, s);
			break;
		}
		buf_add(out, s, (size_t)(lt - s));
		if (strncmp(lt, "</title>", 8) == 0) {
			buf_adds(out, "</title>\n" PG_HEAD_MARK);
			s = lt + 8;
			continue;
		}
		gt = strchr(lt, '>');
		if (!gt) {
			buf_adds(out, lt);
			break;
		}
		if (strncmp(lt, "<link ", 6) == 0 && pg_attr(lt, gt, " rel=\"", href, sizeof href) &&
		    strcmp(href, "modulepreload") == 0) {
			s = gt + 1;
			if (*s == '\n')
				s++;
			continue;
		}
		if (strncmp(lt, "<link ", 6) == 0 && pg_attr(lt, gt, " rel=\"", href, sizeof href) &&
		    strcmp(href, "stylesheet") == 0 && pg_attr(lt, gt, " href=\"", href, sizeof href) &&
		    (f = pg_find(p, href)) && f->raw && pg->nstyles < PG_MAX_INLINE) {
			size_t n = f->rawlen;

			while (n && (f->raw[n - 1] == '\n' || f->raw[n - 1] == ' '))
				n--;
			pg_csp_hash(f->raw, n, pg->styles[pg->nstyles++]);
			buf_adds(out, "<style>");
			buf_add(out, f->raw, n);
			buf_adds(out, "</style>");
			s = gt + 1;
			continue;
		}
		if (strncmp(lt, "<script ", 8) == 0 && pg_attr(lt, gt, " type=\"", href, sizeof href) &&
		    strcmp(href, "module") == 0 && pg_attr(lt, gt, " src=\"", href, sizeof href) &&
		    (f = pg_find(p, href)) && !f->html) {
			pg_closure(p, f, pg->seen);
			buf_addf(out, "<script type=\"module\" src=\"%s?v=%s\">", f->path, f->hash);
			s = gt + 1;
			continue;
		}
		buf_add(out, lt, (size_t)(gt + 1 - lt));
		s = gt + 1;
	}
	return buf_error(out);
}

/* The head block of a page in language li: the import map, a preload of
 * every module of the page, and its dictionary (versioned). */
static void pg_head(const http_pages *p, const struct pg_page *pg, size_t li, buf *out)
{
	const pg_file *d;
	char path[32];

	buf_adds(out, p->importmap);
	for (size_t i = 0; i < p->n; i++)
		if (pg->seen[i])
			buf_addf(out, "<link rel=\"modulepreload\" href=\"%s?v=%s\">\n", p->f[i].path,
				 p->f[i].hash);
	buf_adds(out, "<meta name=\"pravesh-i18n\"");
	for (size_t l = 0; l < p->nlangs; l++) {
		snprintf(path, sizeof path, "/i18n/%s.json", p->lang[l]);
		if ((d = pg_find(p, path)))
			buf_addf(out, " data-%s=\"%s?v=%s\"", p->lang[l], d->path, d->hash);
	}
	buf_adds(out, ">\n");
	snprintf(path, sizeof path, "/i18n/%s.json", p->lang[li]);
	if ((d = pg_find(p, path)))
		buf_addf(out, "<link rel=\"preload\" href=\"%s?v=%s\" as=\"fetch\" crossorigin>\n",
			 d->path, d->hash);
}

static void pg_escape(buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		default: buf_add(out, s, 1);
		}
	}
}

/* Pass two, for language li: the head block at its mark, <html lang>,
 * the language's option selected, and the text of every element that has
 * data-i18n="key" and no content yet (and of <title>) from the
 * dictionary. Texts with {placeholders} are left to the page's script. */
static int pg_page_pass2(const http_pages *p, const struct pg_page *pg, const char *in, size_t li,
			 buf *out)
{
	json_t *dict = p->dict[li];
	const char *s = in;
	char opt[48];

	snprintf(opt, sizeof opt, "<option value=\"%s\" lang=\"%s\">", p->lang[li], p->lang[li]);
	while (*s) {
		const char *lt = strchr(s, '<'), *gt, *txt;
		char key[128], name[16];
		size_t nl;

		if (!lt) {
			buf_adds(out, s);
			break;
		}
		buf_add(out, s, (size_t)(lt - s));
		if (strncmp(lt, PG_HEAD_MARK, sizeof PG_HEAD_MARK - 1) == 0) {
			pg_head(p, pg, li, out);
			s = lt + sizeof PG_HEAD_MARK - 1;
			continue;
		}
		if (!(gt = strchr(lt, '>'))) {
			buf_adds(out, lt);
			break;
		}
		s = gt + 1;
		if (strncmp(lt, "<html ", 6) == 0) {
			buf_addf(out, "<html lang=\"%s\">", p->lang[li]);
			continue;
		}
		if (strncmp(lt, opt, strlen(opt)) == 0) {
			buf_add(out, lt, (size_t)(gt - lt));
			buf_adds(out, " selected>");
			continue;
		}
		buf_add(out, lt, (size_t)(gt + 1 - lt));
		nl = strspn(lt + 1, "abcdefghijklmnopqrstuvwxyz0123456789");
		if (nl == 0 || nl >= sizeof name || !pg_attr(lt, gt, " data-i18n=\"", key, sizeof key))
			continue;
		util_strncpy0(name, sizeof name, lt + 1, nl);
		txt = json_string_value(json_object_get(dict, key));
		if (!txt || strchr(txt, '{'))
			continue;
		if (s[0] == '<' && s[1] == '/' && strncmp(s + 2, name, nl) == 0 && s[2 + nl] == '>') {
			pg_escape(out, txt);
		} else if (strcmp(name, "title") == 0 && strstr(s, "</title>")) {
			pg_escape(out, txt);
			s = strstr(s, "</title>");
		}
	}
	return buf_error(out);
}

static int pg_prepare_page(http_pages *p, pg_file *f, char *err, size_t errcap)
{
	struct pg_page pg;
	buf a, b;
	int rc;

	memset(&pg, 0, sizeof pg);
	buf_init(&a, PG_MAX_TOTAL);
	buf_init(&b, PG_MAX_TOTAL);
	if (!(pg.seen = calloc(p->n ? p->n : 1, 1))) {
		rc = PV_ENOMEM;
		goto out;
	}
	if ((rc = pg_includes(p, f, &a, err, errcap)) != PV_OK ||
	    (rc = pg_page_pass1(p, a.p, &b, &pg)) != PV_OK)
		goto out;
	for (size_t li = 0; li < p->nlangs; li++) {
		pg_copy *c = &f->c[li];
		buf page, csp;

		buf_init(&page, PG_MAX_TOTAL);
		if ((rc = pg_page_pass2(p, &pg, b.p, li, &page)) != PV_OK) {
			buf_free(&page);
			goto out;
		}
		c->body = buf_steal(&page, &c->len);
		buf_init(&csp, 4096);
		buf_addf(&csp, "default-src 'self'; script-src 'self' %s; style-src 'self'",
			 p->importmap_hash);
		for (size_t i = 0; i < pg.nstyles; i++)
			buf_addf(&csp, " %s", pg.styles[i]);
		buf_adds(&csp, "; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
			       "form-action 'self'");
		c->csp = buf_steal(&csp, NULL);
		if (!c->body || !c->csp) {
			rc = PV_ENOMEM;
			goto out;
		}
		f->ncopies++;
		if ((rc = pg_finish_copy(c, 1)) != PV_OK)
			goto out;
	}
	util_strlcpy(f->hash, f->c[0].etag + 1, sizeof f->hash);
out:
	free(pg.seen);
	buf_free(&a);
	buf_free(&b);
	return rc;
}

int http_pages_open(const char *root, http_pages **out, char *err, size_t errcap)
{
	http_pages *p = calloc(1, sizeof *p);
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (!p || !(p->f = calloc(PG_MAX_FILES, sizeof *p->f))) {
		free(p);
		return PV_ENOMEM;
	}
	if ((rc = pg_walk(p, root, "", err, errcap)) != PV_OK)
		goto fail;
	qsort(p->f, p->n, sizeof *p->f, pg_cmp);
	if ((rc = pg_langs(p, err, errcap)) != PV_OK)
		goto fail;
	/* files first: the pages name their versions */
	for (size_t i = 0; i < p->n; i++) {
		pg_file *f = &p->f[i];
		const char *ct;

		pg_hash(f->raw, f->rawlen, f->hash);
		if (f->html)
			continue;
		f->c[0].body = f->raw; /* the copy owns it from here */
		f->c[0].len = f->rawlen;
		f->ncopies = 1;
		if ((rc = pg_finish_copy(&f->c[0], pg_type(f->path, &ct))) != PV_OK)
			goto fail;
	}
	if ((rc = pg_importmap(p)) != PV_OK)
		goto fail;
	for (size_t i = 0; i < p->n; i++)
		if (p->f[i].html && !p->f[i].hidden &&
		    (rc = pg_prepare_page(p, &p->f[i], err, errcap)) != PV_OK)
			goto fail;
	for (size_t i = 0; i < p->n; i++)
		if (p->f[i].html) {
			free(p->f[i].raw);
			p->f[i].raw = NULL;
		}
	for (size_t l = 0; l < p->nlangs; l++) {
		json_decref(p->dict[l]);
		p->dict[l] = NULL;
	}
	free(p->importmap);
	p->importmap = NULL;
	p->notfound = pg_find(p, "/404.html");
	log_kv(LOG_INFO, "web pages prepared", "root", root, NULL);
	*out = p;
	return PV_OK;
fail:
	if (!err[0])
		snprintf(err, errcap, "web root %s: %s", root, pv_strerror(rc));
	http_pages_free(p);
	return rc;
}

void http_pages_free(http_pages *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		pg_file *f = &p->f[i];

		if (f->html || !f->ncopies)
			free(f->raw);
		for (size_t c = 0; c < f->ncopies; c++) {
			free(f->c[c].body);
			free(f->c[c].gz);
			free(f->c[c].csp);
		}
	}
	for (size_t l = 0; l < p->nlangs; l++)
		json_decref(p->dict[l]);
	free(p->importmap);
	free(p->f);
	free(p);
}

const char *http_pages_version(const http_pages *p, const char *path)
{
	const pg_file *f = p ? pg_find(p, path) : NULL;

	return f ? f->hash : NULL;
}

/* ---- serving ---- */

/* The language of the answer: the pravesh_lang cookie, else the first
 * language of Accept-Language that we have, else the default. */
static size_t pg_lang(const http_pages *p, http_req *req)
{
	const char *c = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, "pravesh_lang");
	const char *al = http_header_in(req, "Accept-Language");

	for (size_t l = 0; c && l < p->nlangs; l++)
		if (strcmp(c, p->lang[l]) == 0)
			return l;
	while (al && *al) {
		size_t n;

		al += strspn(al, " ,");
		n = strcspn(al, "-;, ");
		for (size_t l = 0; l < p->nlangs; l++)
			if (n == strlen(p->lang[l]) && strncasecmp(al, p->lang[l], n) == 0)
				return l;
		al = strchr(al, ',');
	}
	return 0;
}

/* 1 when If-None-Match names etag (or is "*"). */
static int pg_not_modified(http_req *req, const char *etag)
{
	const char *inm = http_header_in(req, "If-None-Match");
	size_t n = strlen(etag);

	if (!inm)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	for (const char *s = inm; (s = strstr(s, etag)); s += n)
		if ((s == inm || s[-1] == ' ' || s[-1] == ',') && (s[n] == '\0' || s[n] == ',' || s[n] == ' '))
			return 1;
	return 0;
}

static void pg_send(http_req *req, http_resp *resp, const pg_file *f, int status, int cache)
{
	const char *ae = http_header_in(req, "Accept-Encoding");
	const char *v = http_query(req, "v");
	size_t li = f->html ? pg_lang(req->app->pages, req) : 0;
	const pg_copy *c = &f->c[li < f->ncopies ? li : 0];
	int gz = c->gz && ae && strstr(ae, "gzip");
	const char *etag = gz ? c->gzetag : c->etag;

	resp->ctype = f->ctype;
	http_add_header(resp, "Vary", f->html ? "Accept-Encoding, Accept-Language, Cookie" : "Accept-Encoding");
	if (!cache) {
		http_add_header(resp, "Cache-Control", "no-cache");
	} else {
		http_add_header(resp, "ETag", etag);
		/* a URL that names this version never changes */
		http_add_header(resp, "Cache-Control",
				v && strcmp(v, f->hash) == 0 && !f->html ? PG_IMMUTABLE : "no-cache");
	}
	if (c->csp)
		http_add_header(resp, "Content-Security-Policy", c->csp);
	if (cache && pg_not_modified(req, etag)) {
		resp->status = 304;
		return;
	}
	if (gz)
		http_add_header(resp, "Content-Encoding", "gzip");
	resp->status = status;
	resp->body = gz ? c->gz : c->body;
	resp->len = gz ? c->gzlen : c->len;
	resp->body_static = 1;
}

void http_not_found_page(http_req *req, http_resp *resp)
{
	const http_pages *p = req->app->pages;

	if (!p || !p->notfound) {
		http_problem(resp, 404, "not_found", "There is nothing at this address.", NULL);
		return;
	}
	pg_send(req, resp, p->notfound, 404, 0);
}

void http_static(http_req *req, http_resp *resp)
{
	const http_pages *p = req->app->pages;
	char path[PG_PATH_MAX + 8];
	const pg_file *f = NULL;

	/* only an absolute path names a file: a request line may carry any
	 * target ("GET x", "GET *"), which has no folder to look in */
	if (p && req->path[0] == '/' && strlen(req->path) < PG_PATH_MAX) {
		snprintf(path, sizeof path, "%s", strcmp(req->path, "/") == 0 ? "/index.html" : req->path);
		f = pg_find(p, path);
		/* a page without its extension: /register is register.html */
		if (!f && !strchr(strrchr(path, '/'), '.')) {
			snprintf(path + strlen(path), sizeof path - strlen(path), ".html");
			f = pg_find(p, path);
		}
	}
	if (!f || f->hidden || !f->ncopies) {
		http_not_found_page(req, resp);
		return;
	}
	pg_send(req, resp, f, 200, 1);
}
