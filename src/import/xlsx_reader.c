/* xlsx_reader: the XLSX side of reader.h, on libzip + expat.
 *
 * Opening: the archive's end records are read by hand first (zip_check),
 * so that an archive announcing more than max_zip_entries parts, or a
 * central directory over max_zip_dir_bytes, is refused before libzip
 * builds its directory in memory (it allocates for every entry an archive
 * announces); then libzip opens the archive with ZIP_CHECKCONS. The first
 * worksheet is found through xl/workbook.xml (the first <sheet> whose
 * relationship is a worksheet; a chartsheet is skipped) and
 * xl/_rels/workbook.xml.rels (Target relative to xl/, or absolute
 * "/xl/..."), never by the name sheet1.xml. The shared strings
 * (relationship of type .../sharedStrings, else xl/sharedStrings.xml) go
 * into a strtab (strtab.h): in memory up to max_shared_mem, in a temporary
 * file beyond, bounded by max_shared_bytes. Rich text runs are
 * concatenated, phonetic runs (<rPh>) skipped, _xHHHH_ escapes decoded; a
 * string longer than max_cell_bytes is kept cut to max_cell_bytes + 1
 * bytes (a cell that uses it fails all the same).
 *
 * Reading: the sheet is inflated in IMP_BLOCK chunks with zip_fread and
 * fed to expat, which is suspended at each </row>, so memory holds one
 * chunk and one row whatever the sheet's size. Cells are placed by their
 * r= reference (missing cells in between are returned empty); a row is
 * numbered by its r= attribute (or the previous number + 1). Rows absent
 * from the XML are not returned (the numbers of the rows that are show the
 * gap); a <row> with no cells is returned with no cells. Values: shared
 * string (t="s"), inline string (t="inlineStr", rich runs concatenated),
 * formula string (t="str"), boolean (t="b": TRUE/FALSE), error (t="e":
 * its text, e.g. #N/A), and numbers, dates and anything else as the raw
 * text of <v>, byte for byte ("9.87654321E9" stays so). Formulas (<f>)
 * are ignored; their cached value is returned.
 *
 * Security: every entry's declared size is checked against
 * max_uncompressed (all entries read so far, together) and, above
 * RATIO_GRACE bytes, its ratio to the compressed size against max_ratio
 * before it is inflated; the inflated bytes are counted while reading
 * (declared sizes can lie) against the same bounds and against the
 * declared size. Any DOCTYPE or entity declaration stops the parser. A
 * token expat would have to buffer beyond TOKEN_MAX bytes (a gigantic
 * tag, attribute or comment) and nesting deeper than MAX_DEPTH are
 * refused as damage.
 *
 * Messages (shared with the CSV reader where they apply):
 *   "The file is not a CSV or XLSX file"  a ZIP without xl/workbook.xml
 *   "The XLSX file is damaged"            ZIP or XML unreadable, bad refs
 *   "The XLSX file has no worksheet"
 *   "The XLSX file has too many parts (limit N)"
 *   "The XLSX file's directory is too large (limit N bytes)"
 *   "The XLSX file expands too much (possible ZIP bomb)"
 *   "XML with a DTD or entities is not accepted"
 *   "Shared strings table too large (limit N bytes)"
 *   "Too many columns (limit N)"
 *   "Cell too large in row N (limit N bytes)"
 *   "Out of memory", "Cannot read the file",
 *   "Cannot use a temporary file (REASON)" */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <expat.h>
#include <zip.h>

#include "import/reader_int.h"
#include "import/strtab.h"
#include "util/buf.h"
#include "util/err.h"

#define RATIO_GRACE (1024 * 1024)
#define TOKEN_MAX (4 * 1024 * 1024)
#define MAX_DEPTH 256
#define MAX_SHEETS 64
#define PATH_MAX_LEN 1024

static const char MSG_DAMAGED[] = "The XLSX file is damaged";
static const char MSG_BOMB[] = "The XLSX file expands too much (possible ZIP bomb)";
static const char MSG_DTD[] = "XML with a DTD or entities is not accepted";

enum ctype { CT_NUM, CT_SST, CT_INLINE, CT_STR, CT_BOOL, CT_ERR, CT_OTHER };

/* An entry being inflated. */
typedef struct zentry {
	zip_file_t *zf;
	int64_t declared, comp, got;
} zentry;

typedef struct xlsx_rd {
	imp_limits lim;
	zip_t *za;
	int64_t declared_total; /* declared sizes of the entries opened */
	int64_t total;          /* bytes inflated so far, all entries */

	/* The parser running now, for the handlers. */
	XML_Parser cur;
	int parsing;        /* inside a parse call: handlers may stop cur */
	int64_t fed;        /* bytes given to cur */
	int64_t last_event; /* byte index of cur's last event */
	int depth;

	/* workbook.xml and its relationships */
	char *sheet_ids[MAX_SHEETS];
	size_t nsheet_ids;
	size_t best_sheet; /* index into sheet_ids of the chosen sheet */
	char *sheet_target, *sst_target;

	/* shared strings: the table, and the raw text of the <si> being read:
	 * its first si.max bytes, enough to tell a string too long for any
	 * cell (an _xHHHH_ escape turns 7 bytes into at least 1) */
	strtab *sst;
	buf si;
	int64_t si_raw;    /* raw bytes of the <si>, all of them */
	int si_over;       /* si_raw > si.max: si holds only the start */
	int64_t sst_bytes; /* decoded bytes of the strings before it */
	size_t sst_limit;  /* bytes for text and 4 a string together */
	int in_si, rph, collect;

	/* the sheet */
	zentry sheet;
	XML_Parser xp;
	int suspended, final_fed, done;
	int in_sheetdata, in_row, in_c, in_is;
	enum ctype ctype;
	size_t col, nextcol, cell_start;
	int64_t rownum, lastrow;
	buf arena;
	size_t *off, *len;
	imp_cell *cells;
	size_t ncells, cap;
	int row_ready;

	int rc;
	char err[IMP_ERRLEN];
} xlsx_rd;

static int fail(xlsx_rd *x, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first failure (later ones keep it) and stops the running
 * parser, if any. */
static int fail(xlsx_rd *x, int rc, const char *fmt, ...)
{
	va_list ap;

	if (x->rc)
		return x->rc;
	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
	x->rc = rc;
	if (x->cur && x->parsing)
		XML_StopParser(x->cur, XML_FALSE);
	return rc;
}

static int damaged(xlsx_rd *x)
{
	return fail(x, PV_EFORMAT, "%s", MSG_DAMAGED);
}

static int bomb(xlsx_rd *x)
{
	return fail(x, PV_ELIMIT, "%s", MSG_BOMB);
}

static const char *local_name(const char *name)
{
	const char *c = strrchr(name, ':');

	return c ? c + 1 : name;
}

static const char *attr(const char **atts, const char *want)
{
	size_t i;

	for (i = 0; atts[i] && atts[i + 1]; i += 2)
		if (strcmp(atts[i], want) == 0)
			return atts[i + 1];
	return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Decodes the _xHHHH_ escapes of OOXML strings (ECMA-376 ST_Xstring) in
 * place; returns the new length (never longer). _x0000_ and surrogates
 * are left as they are. */
static size_t decode_x(char *s, size_t n)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (s[i] == '_' && n - i >= 7 && s[i + 1] == 'x' && s[i + 6] == '_') {
			unsigned cp = 0;
			int k, ok = 1;

			for (k = 2; k < 6; k++) {
				char ch = s[i + k];
				unsigned d;

				if (ch >= '0' && ch <= '9')
					d = (unsigned)(ch - '0');
				else if (ch >= 'a' && ch <= 'f')
					d = (unsigned)(ch - 'a' + 10);
				else if (ch >= 'A' && ch <= 'F')
					d = (unsigned)(ch - 'A' + 10);
				else {
					ok = 0;
					break;
				}
				cp = cp * 16 + d;
			}
			if (ok && cp != 0 && (cp < 0xD800 || cp > 0xDFFF)) {
				if (cp < 0x80) {
					s[o++] = (char)cp;
				} else if (cp < 0x800) {
					s[o++] = (char)(0xC0 | (cp >> 6));
					s[o++] = (char)(0x80 | (cp & 0x3F));
				} else {
					s[o++] = (char)(0xE0 | (cp >> 12));
					s[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
					s[o++] = (char)(0x80 | (cp & 0x3F));
				}
				i += 7;
				continue;
			}
		}
		s[o++] = s[i++];
	}
	return o;
}

/* ---- ZIP entries, with the bomb checks ---- */

static int find_entry(xlsx_rd *x, const char *name, zip_uint64_t *idx)
{
	zip_int64_t i = zip_name_locate(x->za, name, 0);

	if (i < 0)
		i = zip_name_locate(x->za, name, ZIP_FL_NOCASE);
	if (i < 0)
		return PV_ENOTFOUND;
	*idx = (zip_uint64_t)i;
	return PV_OK;
}

/* 1 when got bytes out of comp compressed ones exceed the ratio. */
static int over_ratio(const xlsx_rd *x, int64_t got, int64_t comp)
{
	if (got <= RATIO_GRACE)
		return 0;
	if (comp <= 0)
		return 1;
	if (x->lim.max_ratio <= 0 || comp > INT64_MAX / x->lim.max_ratio)
		return 0;
	return got > comp * x->lim.max_ratio;
}

static int entry_open(xlsx_rd *x, zip_uint64_t idx, zentry *e)
{
	zip_stat_t st;

	memset(e, 0, sizeof(*e));
	zip_stat_init(&st);
	if (zip_stat_index(x->za, idx, 0, &st) != 0 ||
	    (st.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE)) !=
		    (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE))
		return damaged(x);
	if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) &&
	    st.encryption_method != ZIP_EM_NONE)
		return damaged(x);
	if (st.size > (zip_uint64_t)INT64_MAX || st.comp_size > (zip_uint64_t)INT64_MAX)
		return bomb(x);
	e->declared = (int64_t)st.size;
	e->comp = (int64_t)st.comp_size;
	if (e->declared > x->lim.max_uncompressed ||
	    x->declared_total > x->lim.max_uncompressed - e->declared ||
	    over_ratio(x, e->declared, e->comp))
		return bomb(x);
	x->declared_total += e->declared;
	e->zf = zip_fopen_index(x->za, idx, 0);
	if (!e->zf)
		return damaged(x);
	return PV_OK;
}

/* Reads up to cap bytes of e into dst, counting them; returns the number
 * read (0 at the end) or a negative pv_err. */
static int64_t entry_read(xlsx_rd *x, zentry *e, void *dst, size_t cap)
{
	zip_int64_t n = zip_fread(e->zf, dst, cap);

	if (n < 0)
		return damaged(x);
	e->got += n;
	x->total += n;
	if (x->total > x->lim.max_uncompressed || over_ratio(x, e->got, e->comp))
		return bomb(x);
	if (e->got > e->declared)
		return damaged(x);
	if (n == 0 && e->got != e->declared)
		return damaged(x);
	return n;
}

static void entry_close(zentry *e)
{
	if (e->zf)
		zip_fclose(e->zf);
	e->zf = NULL;
}

/* ---- expat plumbing shared by every part ---- */

static void mark(xlsx_rd *x)
{
	XML_Index i = XML_GetCurrentByteIndex(x->cur);

	if (i >= 0)
		x->last_event = (int64_t)i;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	fail(ud, PV_EFORMAT, "%s", MSG_DTD);
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
			      const XML_Char *value, int value_length,
			      const XML_Char *base, const XML_Char *sysid,
			      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_length;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(ud, PV_EFORMAT, "%s", MSG_DTD);
}

static XML_Parser new_parser(xlsx_rd *x, XML_StartElementHandler start,
			     XML_EndElementHandler end, XML_CharacterDataHandler text)
{
	XML_Parser p = XML_ParserCreate(NULL);

	if (!p)
		return NULL;
	XML_SetUserData(p, x);
	XML_SetElementHandler(p, start, end);
	XML_SetCharacterDataHandler(p, text);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	XML_SetEntityDeclHandler(p, on_entity);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	x->cur = p;
	x->fed = 0;
	x->last_event = 0;
	x->depth = 0;
	return p;
}

/* After a parse call: the result as a pv_err (PV_OK when it went on). */
static int parse_status(xlsx_rd *x, enum XML_Status st)
{
	if (x->rc)
		return x->rc;
	if (st == XML_STATUS_ERROR)
		return damaged(x);
	if (x->fed - x->last_event > TOKEN_MAX)
		return damaged(x);
	return PV_OK;
}

/* Depth bookkeeping for the start handlers: 0 to go on. */
static int enter(xlsx_rd *x)
{
	mark(x);
	if (x->rc)
		return -1;
	if (++x->depth > MAX_DEPTH) {
		damaged(x);
		return -1;
	}
	return 0;
}

/* Streams the whole entry `name` through a new parser with the given
 * handlers. PV_ENOTFOUND (no error recorded) when there is no such entry. */
static int parse_part(xlsx_rd *x, const char *name, XML_StartElementHandler start,
		      XML_EndElementHandler end, XML_CharacterDataHandler text)
{
	zentry e = {0};
	zip_uint64_t idx;
	XML_Parser p = NULL;
	int rc;

	rc = find_entry(x, name, &idx);
	if (rc)
		return rc;
	rc = entry_open(x, idx, &e);
	if (rc)
		goto out;
	p = new_parser(x, start, end, text);
	if (!p) {
		rc = fail(x, PV_ENOMEM, "Out of memory");
		goto out;
	}
	for (;;) {
		void *b = XML_GetBuffer(p, IMP_BLOCK);
		enum XML_Status st;
		int64_t n;

		if (!b) {
			rc = fail(x, PV_ENOMEM, "Out of memory");
			goto out;
		}
		n = entry_read(x, &e, b, IMP_BLOCK);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		x->fed += n;
		x->parsing = 1;
		st = XML_ParseBuffer(p, (int)n, n == 0);
		x->parsing = 0;
		rc = parse_status(x, st);
		if (rc || n == 0)
			goto out;
	}
out:
	x->cur = NULL;
	if (p)
		XML_ParserFree(p);
	entry_close(&e);
	return rc;
}

/* ---- workbook.xml: the r:id of every sheet, in order ---- */

static void XMLCALL wb_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	xlsx_rd *x = ud;
	size_t i;

	if (enter(x))
		return;
	if (strcmp(local_name(name), "sheet") != 0 || x->nsheet_ids >= MAX_SHEETS)
		return;
	for (i = 0; atts[i] && atts[i + 1]; i += 2) {
		/* r:id, whatever the prefix; not sheetId */
		if (strchr(atts[i], ':') && strcmp(local_name(atts[i]), "id") == 0) {
			char *id = strdup(atts[i + 1]);

			if (!id) {
				fail(x, PV_ENOMEM, "Out of memory");
				return;
			}
			x->sheet_ids[x->nsheet_ids++] = id;
			return;
		}
	}
}

static void XMLCALL any_end(void *ud, const XML_Char *name)
{
	xlsx_rd *x = ud;

	(void)name;
	mark(x);
	x->depth--;
}

static void XMLCALL any_text(void *ud, const XML_Char *s, int len)
{
	(void)s;
	(void)len;
	mark(ud);
}

/* ---- workbook.xml.rels: the targets of the sheet and shared strings ---- */

static int set_str(xlsx_rd *x, char **dst, const char *s)
{
	char *d;

	if (strlen(s) >= PATH_MAX_LEN)
		return damaged(x);
	d = strdup(s);
	if (!d)
		return fail(x, PV_ENOMEM, "Out of memory");
	free(*dst);
	*dst = d;
	return PV_OK;
}

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	xlsx_rd *x = ud;
	const char *id, *type, *target, *mode;
	size_t i;

	if (enter(x))
		return;
	if (strcmp(local_name(name), "Relationship") != 0)
		return;
	id = attr(atts, "Id");
	type = attr(atts, "Type");
	target = attr(atts, "Target");
	mode = attr(atts, "TargetMode");
	if (!id || !type || !target || (mode && strcmp(mode, "External") == 0))
		return;
	if (ends_with(type, "/worksheet")) {
		for (i = 0; i < x->nsheet_ids && i < x->best_sheet; i++) {
			if (strcmp(x->sheet_ids[i], id) == 0) {
				if (set_str(x, &x->sheet_target, target) == PV_OK)
					x->best_sheet = i;
				return;
			}
		}
	} else if (ends_with(type, "/sharedStrings") && !x->sst_target) {
		set_str(x, &x->sst_target, target);
	}
}

/* The part name of a relationship target of xl/workbook.xml: relative to
 * xl/ or absolute from the package root, "." and ".." resolved. */
static int resolve(const char *target, char *out, size_t cap)
{
	char tmp[PATH_MAX_LEN + 8];
	size_t o = 0;
	char *seg, *save = NULL;
	int n;

	if (target[0] == '/')
		n = snprintf(tmp, sizeof(tmp), "%s", target + 1);
	else
		n = snprintf(tmp, sizeof(tmp), "xl/%s", target);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return PV_ELIMIT;
	out[0] = '\0';
	for (seg = strtok_r(tmp, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			char *slash;

			if (o == 0)
				return PV_EINVAL;
			out[o] = '\0';
			slash = strrchr(out, '/');
			o = slash ? (size_t)(slash - out) : 0;
			out[o] = '\0';
			continue;
		}
		n = snprintf(out + o, cap - o, "%s%s", o ? "/" : "", seg);
		if (n < 0 || (size_t)n >= cap - o)
			return PV_ELIMIT;
		o += (size_t)n;
	}
	return o ? PV_OK : PV_EINVAL;
}

/* ---- sharedStrings.xml ---- */

/* Room for extra more raw bytes of the current string: the text and 4
 * bytes a string count against max_shared_bytes, as they did when the
 * table was all in memory. */
static int sst_room(xlsx_rd *x, size_t extra)
{
	uint64_t lim = x->sst_limit;
	uint64_t used = (uint64_t)x->sst_bytes + (uint64_t)x->si_raw;

	if (extra > lim || used > lim - extra ||
	    ((uint64_t)strtab_count(x->sst) + 1) > (lim - used - extra) / sizeof(uint32_t))
		return fail(x, PV_ELIMIT, "Shared strings table too large (limit %" PRId64 " bytes)",
			    x->lim.max_shared_bytes);
	return PV_OK;
}

/* A failure of the string table as the reader's failure. */
static int sst_fail(xlsx_rd *x, int rc)
{
	char tmp[96];

	if (rc == PV_EIO)
		return fail(x, PV_EIO, "Cannot use a temporary file (%s)",
			    strerror_r(strtab_errno(x->sst), tmp, sizeof(tmp)));
	if (rc == PV_ELIMIT)
		return fail(x, PV_ELIMIT, "Shared strings table too large (limit %" PRId64 " bytes)",
			    x->lim.max_shared_bytes);
	if (rc == PV_ENOMEM)
		return fail(x, PV_ENOMEM, "Out of memory");
	return damaged(x);
}

static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	xlsx_rd *x = ud;
	const char *l = local_name(name);

	(void)atts;
	if (enter(x))
		return;
	if (strcmp(l, "si") == 0) {
		x->in_si = 1;
		x->rph = 0;
		x->collect = 0;
		buf_reset(&x->si);
		x->si_raw = 0;
		x->si_over = 0;
	} else if (x->in_si && strcmp(l, "rPh") == 0) {
		x->rph++;
	} else if (x->in_si && !x->rph && strcmp(l, "t") == 0) {
		x->collect = 1;
	}
}

/* The end of an <si>: its decoded text goes into the table, cut to
 * max_cell_bytes + 1 bytes (no cell can hold more). */
static void sst_si_end(xlsx_rd *x)
{
	size_t cut = x->lim.max_cell_bytes < SIZE_MAX ? x->lim.max_cell_bytes + 1 : SIZE_MAX;
	size_t n, keep;
	int rc;

	if (sst_room(x, 0))
		return;
	if (x->si_over) {
		n = (size_t)x->si_raw; /* the decoded size is not known: count raw */
		keep = cut < x->si.len ? cut : x->si.len;
	} else {
		n = x->si.len ? decode_x(x->si.p, x->si.len) : 0;
		keep = cut < n ? cut : n;
	}
	x->sst_bytes += (int64_t)n;
	rc = strtab_add(x->sst, keep ? x->si.p : "", keep);
	if (rc)
		sst_fail(x, rc);
}

static void XMLCALL sst_end(void *ud, const XML_Char *name)
{
	xlsx_rd *x = ud;
	const char *l = local_name(name);

	mark(x);
	x->depth--;
	if (x->rc || !x->in_si)
		return;
	if (strcmp(l, "t") == 0) {
		x->collect = 0;
	} else if (strcmp(l, "rPh") == 0) {
		if (x->rph)
			x->rph--;
	} else if (strcmp(l, "si") == 0) {
		x->in_si = 0;
		x->collect = 0;
		sst_si_end(x);
	}
}

static void XMLCALL sst_text(void *ud, const XML_Char *s, int len)
{
	xlsx_rd *x = ud;
	int rc;

	mark(x);
	if (x->rc || !x->collect || len <= 0)
		return;
	if (sst_room(x, (size_t)len))
		return;
	x->si_raw += len;
	if (x->si_over)
		return;
	rc = buf_add(&x->si, s, (size_t)len);
	if (rc == PV_ELIMIT) {
		/* Too long for any cell: keep what fits, count the rest. */
		x->si_over = 1;
		rc = buf_add(&x->si, s, x->si.max - x->si.len);
	}
	if (rc)
		fail(x, PV_ENOMEM, "Out of memory");
}

/* ---- the worksheet ---- */

static int fail_cell(xlsx_rd *x)
{
	return fail(x, PV_ELIMIT, "Cell too large in row %" PRId64 " (limit %zu bytes)",
		    x->rownum, x->lim.max_cell_bytes);
}

/* Column index of a reference like "AB12" (A = 0); -1 when malformed. */
static int64_t ref_col(const char *r)
{
	int64_t col = 0;
	int k = 0;

	while (*r >= 'A' && *r <= 'Z') {
		if (++k > 3)
			return -1;
		col = col * 26 + (*r - 'A' + 1);
		r++;
	}
	if (k == 0)
		return -1;
	while (*r >= '0' && *r <= '9')
		r++;
	return *r ? -1 : col - 1;
}

/* A positive row number of at most 10 digits; -1 when malformed. */
static int64_t parse_rownum(const char *s)
{
	int64_t v = 0;
	int k = 0;

	for (; *s; s++) {
		if (*s < '0' || *s > '9' || ++k > 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return k && v > 0 ? v : -1;
}

static int cells_reserve(xlsx_rd *x, size_t n)
{
	size_t ncap;
	size_t *no, *nl;

	if (n <= x->cap)
		return PV_OK;
	ncap = x->cap ? x->cap * 2 : 16;
	if (ncap < n)
		ncap = n;
	if (ncap > x->lim.max_columns)
		ncap = x->lim.max_columns;
	no = realloc(x->off, ncap * sizeof(*no));
	if (no)
		x->off = no;
	nl = no ? realloc(x->len, ncap * sizeof(*nl)) : NULL;
	if (nl)
		x->len = nl;
	if (!no || !nl)
		return fail(x, PV_ENOMEM, "Out of memory");
	x->cap = ncap;
	return PV_OK;
}

static int arena_add(xlsx_rd *x, const char *s, size_t n)
{
	int rc = buf_add(&x->arena, s, n);

	if (rc == PV_ELIMIT)
		return fail_cell(x);
	if (rc)
		return fail(x, PV_ENOMEM, "Out of memory");
	return PV_OK;
}

static void cell_start(xlsx_rd *x, const char **atts)
{
	const char *t = attr(atts, "t"), *r = attr(atts, "r");
	int64_t col;

	if (!t || strcmp(t, "n") == 0)
		x->ctype = CT_NUM;
	else if (strcmp(t, "s") == 0)
		x->ctype = CT_SST;
	else if (strcmp(t, "inlineStr") == 0)
		x->ctype = CT_INLINE;
	else if (strcmp(t, "str") == 0)
		x->ctype = CT_STR;
	else if (strcmp(t, "b") == 0)
		x->ctype = CT_BOOL;
	else if (strcmp(t, "e") == 0)
		x->ctype = CT_ERR;
	else
		x->ctype = CT_OTHER;
	col = r ? ref_col(r) : (int64_t)x->nextcol;
	if (col < 0 || col < (int64_t)x->nextcol) {
		damaged(x); /* malformed, or not in ascending order */
		return;
	}
	if ((uint64_t)col >= x->lim.max_columns) {
		fail(x, PV_ELIMIT, "Too many columns (limit %zu)", x->lim.max_columns);
		return;
	}
	x->col = (size_t)col;
	x->in_c = 1;
	x->in_is = 0;
	x->rph = 0;
	x->collect = 0;
	x->cell_start = x->arena.len;
}

static void cell_end(xlsx_rd *x)
{
	size_t n = x->arena.len - x->cell_start, i;
	char *v = x->arena.p ? x->arena.p + x->cell_start : NULL;

	switch (x->ctype) {
	case CT_SST: {
		size_t idx = 0, k;
		const char *s;
		size_t sn;
		int rc;

		if (n == 0)
			break; /* no value: an empty cell */
		if (n > 10) {
			damaged(x);
			return;
		}
		for (k = 0; k < n; k++) {
			if (v[k] < '0' || v[k] > '9') {
				damaged(x);
				return;
			}
			idx = idx * 10 + (size_t)(v[k] - '0');
		}
		if (idx >= strtab_count(x->sst)) {
			damaged(x);
			return;
		}
		rc = strtab_get(x->sst, idx, &s, &sn);
		if (rc) {
			sst_fail(x, rc);
			return;
		}
		if (sn > x->lim.max_cell_bytes) {
			fail_cell(x);
			return;
		}
		x->arena.len = x->cell_start;
		if (arena_add(x, s, sn))
			return;
		break;
	}
	case CT_BOOL:
		if (n == 1 && (v[0] == '0' || v[0] == '1')) {
			const char *word = v[0] == '1' ? "TRUE" : "FALSE";

			x->arena.len = x->cell_start;
			if (arena_add(x, word, strlen(word)))
				return;
		}
		break;
	case CT_INLINE:
	case CT_STR:
		if (n)
			x->arena.len = x->cell_start + decode_x(v, n);
		break;
	default:
		break;
	}
	if (cells_reserve(x, x->col + 1))
		return;
	for (i = x->nextcol; i < x->col; i++) {
		x->off[i] = x->cell_start;
		x->len[i] = 0;
	}
	x->off[x->col] = x->cell_start;
	x->len[x->col] = x->arena.len - x->cell_start;
	x->nextcol = x->col + 1;
	x->ncells = x->nextcol;
}

static void XMLCALL sh_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	xlsx_rd *x = ud;
	const char *l;

	if (enter(x))
		return;
	l = local_name(name);
	if (!x->in_sheetdata) {
		if (strcmp(l, "sheetData") == 0)
			x->in_sheetdata = 1;
		return;
	}
	if (x->in_c) {
		if (strcmp(l, "v") == 0 && !x->in_is)
			x->collect = 1;
		else if (strcmp(l, "is") == 0)
			x->in_is = 1;
		else if (x->in_is && strcmp(l, "rPh") == 0)
			x->rph++;
		else if (x->in_is && !x->rph && strcmp(l, "t") == 0)
			x->collect = 1;
		return;
	}
	if (x->in_row) {
		if (strcmp(l, "c") == 0)
			cell_start(x, atts);
		return;
	}
	if (strcmp(l, "row") == 0) {
		const char *r = attr(atts, "r");
		int64_t num = r ? parse_rownum(r) : x->lastrow + 1;

		if (num <= x->lastrow) {
			damaged(x); /* malformed, or not in ascending order */
			return;
		}
		x->rownum = num;
		x->in_row = 1;
		x->arena.len = 0;
		x->ncells = 0;
		x->nextcol = 0;
	}
}

static void XMLCALL sh_end(void *ud, const XML_Char *name)
{
	xlsx_rd *x = ud;
	const char *l = local_name(name);

	mark(x);
	x->depth--;
	if (x->rc || !x->in_sheetdata)
		return;
	if (x->in_c) {
		if (strcmp(l, "v") == 0 || strcmp(l, "t") == 0) {
			x->collect = 0;
		} else if (strcmp(l, "rPh") == 0) {
			if (x->rph)
				x->rph--;
		} else if (strcmp(l, "is") == 0) {
			x->in_is = 0;
		} else if (strcmp(l, "c") == 0) {
			x->in_c = 0;
			x->collect = 0;
			cell_end(x);
		}
		return;
	}
	if (x->in_row && strcmp(l, "row") == 0) {
		x->in_row = 0;
		x->lastrow = x->rownum;
		x->row_ready = 1;
		XML_StopParser(x->cur, XML_TRUE);
	} else if (strcmp(l, "sheetData") == 0) {
		x->in_sheetdata = 0;
		x->done = 1;
		XML_StopParser(x->cur, XML_TRUE);
	}
}

static void XMLCALL sh_text(void *ud, const XML_Char *s, int len)
{
	xlsx_rd *x = ud;
	size_t have;

	mark(x);
	if (x->rc || !x->collect || len <= 0)
		return;
	have = x->arena.len - x->cell_start;
	if (x->ctype == CT_SST || x->ctype == CT_BOOL) {
		if (have + (size_t)len > 32) {
			damaged(x);
			return;
		}
	} else if (have + (size_t)len > x->lim.max_cell_bytes) {
		fail_cell(x);
		return;
	}
	arena_add(x, s, (size_t)len);
}

/* ---- opening ---- */

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int pread_all(int fd, void *dst, size_t n, off_t at)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (char *)dst + got, n - got, at + (off_t)got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* The ZIP records zip_check reads (APPNOTE.TXT 4.3.12-4.3.16) and how much
 * of the file's end libzip searches for the end record: a comment of up
 * to 64 KiB, the end record and the ZIP64 locator before it. */
enum {
	EOCD_LEN = 22,
	LOC64_LEN = 20,
	EOCD64_LEN = 56,
	CDH_LEN = 46,
	TAIL_LEN = 65536 + EOCD_LEN + LOC64_LEN,
	CD_WINDOW = 64 * 1024,
	MAX_EOCDS = 8, /* end records in the tail; a real archive has one */
};

/* What an end record says about the central directory. */
typedef struct zdir {
	uint64_t entries, size, offset;
} zdir;

/* The end record whose signature is at tail[i] (file offset base + i),
 * read as libzip 1.7 reads it (zip_open.c, _zip_read_eocd and
 * _zip_read_eocd64): through the ZIP64 locator and record when the
 * locator sits just before it. 1 when libzip would take it for an end
 * record and build a directory for it, 0 when it would pass it over,
 * PV_EIO. */
static int eocd_read(int fd, const unsigned char *tail, size_t n, size_t i,
		     uint64_t base, zdir *d)
{
	const unsigned char *e = tail + i, *loc, *r;
	unsigned char rec[EOCD64_LEN];
	uint64_t at;
	uint32_t disks, disk;

	if (i < LOC64_LEN || le32(e - LOC64_LEN) != 0x07064b50u) {
		if (le32(e + 4) != 0 || le16(e + 8) != le16(e + 10))
			return 0; /* several disks */
		d->entries = le16(e + 10);
		d->size = le32(e + 12);
		d->offset = le32(e + 16);
		return 1;
	}
	loc = e - LOC64_LEN;
	disks = le16(loc + 4);
	disk = le16(loc + 6);
	at = le64(loc + 8);
	if (at > INT64_MAX || at + EOCD64_LEN > base + i - LOC64_LEN)
		return 0;
	if (at >= base && at - base + EOCD64_LEN <= n) {
		r = tail + (at - base);
	} else {
		/* before the locator, so inside the file */
		if (pread_all(fd, rec, sizeof(rec), (off_t)at) != 0)
			return PV_EIO;
		r = rec;
	}
	if (le32(r) != 0x06064b50u)
		return 0;
	if (disks == 0xFFFF)
		disks = le32(r + 16);
	if (disk == 0xFFFF)
		disk = le32(r + 20);
	if (disks || disk || le64(r + 24) != le64(r + 32))
		return 0;
	d->entries = le64(r + 32);
	d->size = le64(r + 40);
	d->offset = le64(r + 48);
	return 1;
}

/* Counts the entries of the directory d by their headers, as libzip will
 * read them (it reads past the announced count while bytes are left: the
 * InfoZIP convention for more than 65,535 entries without ZIP64), and
 * stops at max + 1 or at the first bad signature (where libzip fails). */
static int cd_count(int fd, const zdir *d, unsigned char *win, uint64_t max,
		    uint64_t *count)
{
	uint64_t pos = d->offset, end = d->offset + d->size, wpos = 0, wlen = 0;

	*count = 0;
	/* Each turn moves on by CDH_LEN bytes at least; at most max + 1. */
	while (end - pos >= CDH_LEN && *count <= max) {
		const unsigned char *h;

		if (pos < wpos || pos + CDH_LEN > wpos + wlen) {
			wlen = end - pos < CD_WINDOW ? end - pos : CD_WINDOW;
			wpos = pos;
			if (pread_all(fd, win, (size_t)wlen, (off_t)pos) != 0)
				return PV_EIO;
		}
		h = win + (pos - wpos);
		if (le32(h) != 0x02014b50u)
			break;
		++*count;
		pos += CDH_LEN + (uint64_t)le16(h + 28) + le16(h + 30) + le16(h + 32);
		if (pos > end)
			break;
	}
	return PV_OK;
}

/* The bounds of lim against the directory of one end record: PV_OK,
 * PV_ELIMIT with a message in err, or PV_EIO. */
static int dir_check(int fd, const zdir *d, uint64_t fsize, const imp_limits *lim,
		     unsigned char *win, char *err, size_t errlen)
{
	uint64_t count, max = lim->max_zip_entries > 0 ? (uint64_t)lim->max_zip_entries : 0;
	int rc;

	if (d->entries > max)
		goto too_many;
	if (lim->max_zip_dir_bytes < 0 || d->size > (uint64_t)lim->max_zip_dir_bytes) {
		snprintf(err, errlen,
			 "The XLSX file's directory is too large (limit %" PRId64 " bytes)",
			 lim->max_zip_dir_bytes);
		return PV_ELIMIT;
	}
	if (d->offset > fsize || d->size > fsize - d->offset)
		return PV_OK; /* outside the file: libzip reads nothing of it */
	rc = cd_count(fd, d, win, max, &count);
	if (rc || count <= max)
		return rc;
too_many:
	snprintf(err, errlen, "The XLSX file has too many parts (limit %" PRId64 ")",
		 lim->max_zip_entries);
	return PV_ELIMIT;
}

/* Checks the end records of the ZIP archive on fd against lim before
 * libzip reads it: every record libzip would build a directory for
 * (libzip 1.7 builds one for each it finds in the tail) must announce at
 * most max_zip_entries entries and a directory of at most
 * max_zip_dir_bytes, and hold no more entries than that. Reads at most
 * the tail (TAIL_LEN bytes) and, per record, the directory's headers.
 * PV_OK; PV_ELIMIT or PV_EFORMAT (no end record) with a message in err;
 * PV_EIO, PV_ENOMEM. Leaves fd's offset alone (pread). */
static int zip_check(int fd, const imp_limits *lim, char *err, size_t errlen)
{
	unsigned char *tail = NULL;
	struct stat st;
	uint64_t base;
	size_t n, i;
	int rc = PV_OK, found = 0;

	if (fstat(fd, &st) != 0 || st.st_size < 0) {
		snprintf(err, errlen, "Cannot read the file");
		return PV_EIO;
	}
	if (st.st_size < EOCD_LEN) {
		snprintf(err, errlen, "%s", MSG_DAMAGED);
		return PV_EFORMAT;
	}
	n = st.st_size < TAIL_LEN ? (size_t)st.st_size : TAIL_LEN;
	base = (uint64_t)st.st_size - n;
	tail = malloc(TAIL_LEN + CD_WINDOW); /* the tail, then a window */
	if (!tail) {
		snprintf(err, errlen, "Out of memory");
		return PV_ENOMEM;
	}
	if (pread_all(fd, tail, n, (off_t)base) != 0) {
		rc = PV_EIO;
		goto out;
	}
	/* Where libzip looks: every signature with a whole record after it,
	 * from the start of the tail (past the locator's room when the tail
	 * is full). At most n turns. */
	for (i = n == TAIL_LEN ? LOC64_LEN : 0; i + EOCD_LEN <= n && !rc; i++) {
		zdir d;
		int k;

		if (tail[i] != 'P' || le32(tail + i) != 0x06054b50u)
			continue;
		k = eocd_read(fd, tail, n, i, base, &d);
		if (k < 0)
			rc = k;
		if (k <= 0)
			continue; /* not a record libzip takes, or PV_EIO */
		if (++found > MAX_EOCDS) {
			snprintf(err, errlen, "%s", MSG_DAMAGED);
			rc = PV_EFORMAT;
			goto out;
		}
		rc = dir_check(fd, &d, (uint64_t)st.st_size, lim, tail + TAIL_LEN, err, errlen);
	}
	if (!rc && !found) {
		snprintf(err, errlen, "%s", MSG_DAMAGED);
		rc = PV_EFORMAT;
	}
out:
	if (rc == PV_EIO)
		snprintf(err, errlen, "Cannot read the file");
	free(tail);
	return rc;
}

static void xlsx_close_impl(void *impl)
{
	xlsx_rd *x = impl;
	size_t i;

	if (!x)
		return;
	if (x->xp)
		XML_ParserFree(x->xp);
	entry_close(&x->sheet);
	if (x->za)
		zip_discard(x->za);
	for (i = 0; i < x->nsheet_ids; i++)
		free(x->sheet_ids[i]);
	free(x->sheet_target);
	free(x->sst_target);
	strtab_free(x->sst);
	buf_free(&x->si);
	buf_free(&x->arena);
	free(x->off);
	free(x->len);
	free(x->cells);
	free(x);
}

static int open_workbook(xlsx_rd *x, int fd)
{
	char path[PATH_MAX_LEN];
	zip_uint64_t idx;
	int rc, zerr = 0;

	rc = zip_check(fd, &x->lim, x->err, sizeof(x->err));
	if (rc) {
		x->rc = rc;
		close(fd);
		return rc;
	}
	x->za = zip_fdopen(fd, ZIP_CHECKCONS | ZIP_RDONLY, &zerr);
	if (!x->za) {
		close(fd);
		if (zerr == ZIP_ER_MEMORY)
			return fail(x, PV_ENOMEM, "Out of memory");
		return damaged(x);
	}
	/* fd now belongs to x->za. */

	rc = parse_part(x, "xl/workbook.xml", wb_start, any_end, any_text);
	if (rc == PV_ENOTFOUND && !x->rc)
		return fail(x, PV_EFORMAT, "The file is not a CSV or XLSX file");
	if (rc)
		return rc;
	if (x->nsheet_ids == 0)
		return fail(x, PV_EFORMAT, "The XLSX file has no worksheet");
	x->best_sheet = MAX_SHEETS;
	rc = parse_part(x, "xl/_rels/workbook.xml.rels", rels_start, any_end, any_text);
	if (rc == PV_ENOTFOUND && !x->rc)
		return damaged(x);
	if (rc)
		return rc;
	if (!x->sheet_target)
		return fail(x, PV_EFORMAT, "The XLSX file has no worksheet");

	/* Shared strings, when there are any. */
	rc = strtab_new(x->lim.max_shared_mem <= 0 ? 0
			: (uint64_t)x->lim.max_shared_mem > SIZE_MAX
				? SIZE_MAX
				: (size_t)x->lim.max_shared_mem,
			x->lim.tmp_dir, &x->sst);
	if (rc)
		return fail(x, rc, "Out of memory");
	if (x->sst_target) {
		if (resolve(x->sst_target, path, sizeof(path)) != PV_OK)
			return damaged(x);
	} else {
		snprintf(path, sizeof(path), "xl/sharedStrings.xml");
	}
	rc = parse_part(x, path, sst_start, sst_end, sst_text);
	if (rc == PV_ENOTFOUND && !x->rc) {
		if (x->sst_target)
			return damaged(x);
		rc = PV_OK;
	}
	if (rc)
		return rc;
	rc = strtab_seal(x->sst);
	if (rc)
		return sst_fail(x, rc);
	buf_free(&x->si);
	x->in_si = x->rph = x->collect = 0;

	/* The sheet: opened here, read by next(). */
	if (resolve(x->sheet_target, path, sizeof(path)) != PV_OK ||
	    find_entry(x, path, &idx) != PV_OK)
		return damaged(x);
	rc = entry_open(x, idx, &x->sheet);
	if (rc)
		return rc;
	x->xp = new_parser(x, sh_start, sh_end, sh_text);
	if (!x->xp)
		return fail(x, PV_ENOMEM, "Out of memory");
	return PV_OK;
}

int imp_xlsx_open(int fd, const imp_limits *lim, void **impl, char *err,
		  size_t errlen)
{
	xlsx_rd *x;
	size_t arena_max;
	int rc;

	*impl = NULL;
	x = calloc(1, sizeof(*x));
	if (!x) {
		close(fd);
		snprintf(err, errlen, "Out of memory");
		return PV_ENOMEM;
	}
	x->lim = *lim;
	if (x->lim.max_columns == 0)
		x->lim.max_columns = 1;
	if (x->lim.max_columns > 16384)
		x->lim.max_columns = 16384; /* XFD, the last column there is */
	x->sst_limit = x->lim.max_shared_bytes <= 0 ? 0
		       : (uint64_t)x->lim.max_shared_bytes > UINT32_MAX
			       ? UINT32_MAX
			       : (size_t)x->lim.max_shared_bytes;
	arena_max = x->lim.max_cell_bytes < (SIZE_MAX / 4) / x->lim.max_columns
			    ? (x->lim.max_cell_bytes + 8) * x->lim.max_columns + 1
			    : SIZE_MAX / 4;
	buf_init(&x->arena, arena_max);
	buf_init(&x->si, x->lim.max_cell_bytes < SIZE_MAX / 8
				 ? 7 * (x->lim.max_cell_bytes + 1)
				 : SIZE_MAX / 8);
	rc = open_workbook(x, fd);
	if (rc) {
		snprintf(err, errlen, "%s", x->err);
		xlsx_close_impl(x);
		return rc;
	}
	*impl = x;
	return PV_OK;
}

/* ---- reading ---- */

static int xlsx_next_impl(void *impl, imp_row *row)
{
	xlsx_rd *x = impl;
	size_t i;

	if (x->rc)
		return x->rc;
	x->row_ready = 0;
	x->cur = x->xp;
	for (;;) {
		enum XML_Status st;
		int rc;

		if (x->done)
			return 0;
		if (x->suspended) {
			x->suspended = 0;
			x->parsing = 1;
			st = XML_ResumeParser(x->xp);
			x->parsing = 0;
		} else if (x->final_fed) {
			x->done = 1;
			return 0;
		} else {
			void *b = XML_GetBuffer(x->xp, IMP_BLOCK);
			int64_t n;

			if (!b)
				return fail(x, PV_ENOMEM, "Out of memory");
			n = entry_read(x, &x->sheet, b, IMP_BLOCK);
			if (n < 0)
				return (int)n;
			x->fed += n;
			if (n == 0)
				x->final_fed = 1;
			x->parsing = 1;
			st = XML_ParseBuffer(x->xp, (int)n, n == 0);
			x->parsing = 0;
		}
		if (st == XML_STATUS_SUSPENDED)
			x->suspended = 1;
		rc = parse_status(x, st);
		if (rc)
			return rc;
		if (x->row_ready)
			break;
	}
	if (x->ncells && !x->cells) {
		x->cells = calloc(x->lim.max_columns, sizeof(*x->cells));
		if (!x->cells)
			return fail(x, PV_ENOMEM, "Out of memory");
	}
	for (i = 0; i < x->ncells; i++) {
		x->cells[i].p = x->len[i] ? x->arena.p + x->off[i] : "";
		x->cells[i].len = x->len[i];
	}
	row->number = x->rownum;
	row->ncells = x->ncells;
	row->cells = x->cells;
	return 1;
}

static const char *xlsx_error_impl(const void *impl)
{
	const xlsx_rd *x = impl;

	return x && x->err[0] ? x->err : "";
}

const struct imp_reader_ops imp_xlsx_ops = {
	.next = xlsx_next_impl,
	.error = xlsx_error_impl,
	.close = xlsx_close_impl,
};

int imp_zip_is_workbook(const char *path, const imp_limits *lim)
{
	imp_limits def;
	char err[IMP_ERRLEN];
	zip_t *z;
	int fd, zerr = 0, found;

	if (!lim) {
		imp_limits_default(&def);
		lim = &def;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* The file checked is the file libzip opens. */
	if (zip_check(fd, lim, err, sizeof(err)) != PV_OK) {
		close(fd);
		return -1;
	}
	z = zip_fdopen(fd, ZIP_RDONLY, &zerr);
	if (!z) {
		close(fd);
		return -1;
	}
	/* fd now belongs to z. */
	found = zip_name_locate(z, "xl/workbook.xml", 0) >= 0;
	zip_discard(z);
	return found;
}
