/* writer: result files and upload templates.
 *
 * CSV is written by hand: UTF-8 with a byte order mark (so that Excel,
 * which reads a CSV without one in the local ANSI code page, shows names
 * in Devanagari and other scripts correctly; our reader and most tools
 * strip it), comma separated, CRLF line ends, RFC 4180 quoting of any cell
 * holding a comma, quote, CR or LF, or starting or ending with a space or
 * tab (which a reader would otherwise trim).
 *
 * XLSX goes through libxlsxwriter in constant_memory mode (rows are
 * flushed to a temporary file as they are written: memory stays flat
 * whatever the row count), every cell a string in text format ("@"), in
 * columns formatted as text, so mobile numbers keep all their digits.
 *
 * Both are formula-safe: a cell starting with = + - @ tab or CR is written
 * with a leading apostrophe. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "import/reader.h"
#include "util/err.h"
#include "util/util.h"

#define CSV_BOM "\xEF\xBB\xBF"
#define COL_WIDTH 20.0

struct imp_writer {
	imp_format fmt;
	FILE *f;            /* CSV */
	lxw_workbook *wb;   /* XLSX */
	lxw_worksheet *ws;
	lxw_format *text;
	lxw_row_t row;
	char *scratch;      /* a NUL-terminated copy of the cell for libxlsxwriter */
	size_t scap;
	int rc;             /* first failure, sticky */
};

static int needs_apostrophe(const char *s, size_t n)
{
	return n > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
			 s[0] == '\t' || s[0] == '\r');
}

/* The error of a failed write: a full disk is PV_ENOSPACE (util.h). */
static int wr_errno(void)
{
	return util_errno_err(errno);
}

static int lxw_to_pv(lxw_error e)
{
	switch (e) {
	case LXW_NO_ERROR:
		return PV_OK;
	case LXW_ERROR_MEMORY_MALLOC_FAILED:
		return PV_ENOMEM;
	case LXW_ERROR_MAX_STRING_LENGTH_EXCEEDED:
	case LXW_ERROR_WORKSHEET_INDEX_OUT_OF_RANGE:
		return PV_ELIMIT;
	default:
		/* libxlsxwriter's file errors leave errno as the system set it */
		return errno == ENOSPC || errno == EDQUOT || errno == EFBIG ? PV_ENOSPACE
									    : PV_EIO;
	}
}

/* ---- CSV ---- */

static FILE *create_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		return NULL;
	}
	return f;
}

static int csv_cell(FILE *f, const char *s, size_t n, int first)
{
	int quote = 0;
	size_t i, run = 0;

	if (!first && putc(',', f) == EOF)
		return wr_errno();
	if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		quote = 1;
	for (i = 0; i < n && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = 1;
	if (quote && putc('"', f) == EOF)
		return wr_errno();
	if (needs_apostrophe(s, n) && putc('\'', f) == EOF)
		return wr_errno();
	/* runs up to each '"' at a time, which is doubled (putc per byte,
	 * locking the stream each time, was a twentieth of an import) */
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '"')
			continue;
		if (i > run && fwrite(s + run, 1, i - run, f) != i - run)
			return wr_errno();
		if (i < n && putc('"', f) == EOF)
			return wr_errno();
		run = i;
	}
	if (quote && putc('"', f) == EOF)
		return wr_errno();
	return PV_OK;
}

/* ---- XLSX ---- */

static int xlsx_cell(imp_writer *w, lxw_col_t col, const char *s, size_t n)
{
	size_t need = n + 2, o = 0;

	if (need > w->scap) {
		size_t ncap = w->scap ? w->scap : 256;
		char *np;

		while (ncap < need)
			ncap *= 2;
		np = realloc(w->scratch, ncap);
		if (!np)
			return PV_ENOMEM;
		w->scratch = np;
		w->scap = ncap;
	}
	if (needs_apostrophe(s, n))
		w->scratch[o++] = '\'';
	if (n)
		memcpy(w->scratch + o, s, n);
	w->scratch[o + n] = '\0';
	return lxw_to_pv(worksheet_write_string(w->ws, w->row, col, w->scratch, w->text));
}

/* A workbook with one text-formatted sheet; constant_memory for results. */
static int xlsx_begin(imp_writer *w, const char *path, int constant_memory,
		      const char *sheet)
{
	lxw_workbook_options opt = {0};

	opt.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE;
	opt.use_zip64 = LXW_FALSE;
	w->wb = workbook_new_opt(path, &opt);
	if (!w->wb)
		return PV_EIO;
	w->ws = workbook_add_worksheet(w->wb, sheet);
	w->text = workbook_add_format(w->wb);
	if (!w->ws || !w->text)
		return PV_EIO;
	format_set_num_format_index(w->text, 49); /* built-in "@" (Text) */
	return PV_OK;
}

/* ---- the public side ---- */

int imp_writer_open(const char *path, imp_format fmt, imp_writer **out)
{
	imp_writer *w;
	int rc = PV_OK;

	if (!out || !path || (fmt != IMP_CSV && fmt != IMP_XLSX))
		return PV_EINVAL;
	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return PV_ENOMEM;
	w->fmt = fmt;
	if (fmt == IMP_CSV) {
		w->f = create_file(path);
		if (!w->f) {
			rc = wr_errno();
			goto out;
		}
		if (fputs(CSV_BOM, w->f) == EOF)
			rc = wr_errno();
	} else {
		rc = xlsx_begin(w, path, 1, NULL);
		/* Every column text-formatted, set before any row (required in
		 * constant_memory mode). */
		if (!rc)
			rc = lxw_to_pv(worksheet_set_column(w->ws, 0, LXW_COL_MAX - 1,
							    COL_WIDTH, w->text));
	}
out:
	if (rc) {
		w->rc = rc;
		imp_writer_close(w);
		return rc;
	}
	*out = w;
	return PV_OK;
}

int imp_writer_row(imp_writer *w, const imp_cell *cells, size_t n,
		   const char *status, const char *errors)
{
	size_t i;
	int rc = PV_OK;

	if (!w || (n && !cells))
		return PV_EINVAL;
	if (w->rc)
		return w->rc;
	if (w->fmt == IMP_CSV) {
		for (i = 0; i < n && !rc; i++)
			rc = csv_cell(w->f, cells[i].p, cells[i].len, i == 0);
		if (!rc && status) {
			rc = csv_cell(w->f, status, strlen(status), n == 0);
			if (!rc)
				rc = csv_cell(w->f, errors ? errors : "",
					      errors ? strlen(errors) : 0, 0);
		}
		if (!rc && fputs("\r\n", w->f) == EOF)
			rc = wr_errno();
	} else {
		if (n + 2 > LXW_COL_MAX)
			rc = PV_ELIMIT;
		for (i = 0; i < n && !rc; i++)
			rc = xlsx_cell(w, (lxw_col_t)i, cells[i].p, cells[i].len);
		if (!rc && status) {
			rc = xlsx_cell(w, (lxw_col_t)n, status, strlen(status));
			if (!rc)
				rc = xlsx_cell(w, (lxw_col_t)(n + 1), errors ? errors : "",
					       errors ? strlen(errors) : 0);
		}
		if (!rc)
			w->row++;
	}
	if (rc)
		w->rc = rc;
	return rc;
}

int imp_writer_close(imp_writer *w)
{
	int rc;

	if (!w)
		return PV_OK;
	rc = w->rc;
	if (w->f) {
		if (fflush(w->f) != 0 || ferror(w->f))
			rc = rc ? rc : wr_errno();
		if (fclose(w->f) != 0)
			rc = rc ? rc : wr_errno();
	}
	if (w->wb) {
		int crc = lxw_to_pv(workbook_close(w->wb)); /* frees wb */

		if (!rc)
			rc = crc;
	}
	free(w->scratch);
	free(w);
	return rc;
}

/* ---- the template ---- */

static const char *const template_header[] = {
	"First Name", "Last Name", "Email Id", "Mobile Number",
};

static const char *const template_rules[][2] = {
	{"Topic", "Rule"},
	{"File", "CSV (UTF-8, comma separated) or XLSX (the first sheet is read)."},
	{"Header", "The first non-empty row: First Name, Last Name, Email Id, "
		   "Mobile Number, in any order. Other columns are kept."},
	{"Empty rows", "Completely empty rows are skipped."},
	{"First Name", "Required. 1-100 characters: letters of any script, "
		       "spaces, . ' and -."},
	{"Last Name", "Required. Same as First Name."},
	{"Email Id", "Required. A plain address such as name@example.gov.in "
		     "(at most 254 characters), not already registered and not "
		     "repeated in the file."},
	{"Mobile Number", "Required. 10 digits starting with 6, 7, 8 or 9; "
			  "spaces, hyphens, parentheses and a +91, 91 or 0 "
			  "prefix are accepted. Not already registered and not "
			  "repeated in the file."},
	{"Limits", "100 MiB per file, 1,048,576 data rows, 16 KiB per cell."},
	{"Result", "You receive the file back with two more columns: Status "
		   "(SUCCESS or FAILED) and Error Details."},
};

static int template_csv(const char *path)
{
	FILE *f = create_file(path);
	size_t i;
	int rc = PV_OK;

	if (!f)
		return wr_errno();
	if (fputs(CSV_BOM, f) == EOF)
		rc = wr_errno();
	for (i = 0; !rc && i < sizeof(template_header) / sizeof(template_header[0]); i++)
		rc = csv_cell(f, template_header[i], strlen(template_header[i]), i == 0);
	if (!rc && fputs("\r\n", f) == EOF)
		rc = wr_errno();
	if (fclose(f) != 0 && !rc)
		rc = wr_errno();
	return rc;
}

static int template_xlsx(const char *path)
{
	imp_writer w = {0};
	lxw_worksheet *rules;
	lxw_format *bold, *bold_text, *wrap;
	lxw_row_t r;
	lxw_col_t c;
	int rc;

	rc = xlsx_begin(&w, path, 0, "Users");
	if (rc)
		goto out;
	rules = workbook_add_worksheet(w.wb, "Rules");
	bold = workbook_add_format(w.wb);
	bold_text = workbook_add_format(w.wb);
	wrap = workbook_add_format(w.wb);
	if (!rules || !bold || !bold_text || !wrap) {
		rc = PV_EIO;
		goto out;
	}
	format_set_bold(bold);
	format_set_bold(bold_text);
	format_set_num_format_index(bold_text, 49);
	format_set_text_wrap(wrap);
	format_set_align(wrap, LXW_ALIGN_VERTICAL_TOP);

	/* Users: names and e-mail as general columns, Mobile Number as text. */
	rc = lxw_to_pv(worksheet_set_column(w.ws, 0, 2, COL_WIDTH, NULL));
	if (!rc)
		rc = lxw_to_pv(worksheet_set_column(w.ws, 3, 3, COL_WIDTH, w.text));
	for (c = 0; !rc && c < 4; c++)
		rc = lxw_to_pv(worksheet_write_string(w.ws, 0, c, template_header[c],
						      c == 3 ? bold_text : bold));
	if (rc)
		goto out;
	worksheet_freeze_panes(w.ws, 1, 0);

	rc = lxw_to_pv(worksheet_set_column(rules, 0, 0, 16, NULL));
	if (!rc)
		rc = lxw_to_pv(worksheet_set_column(rules, 1, 1, 90, wrap));
	for (r = 0; !rc && r < sizeof(template_rules) / sizeof(template_rules[0]); r++)
		for (c = 0; !rc && c < 2; c++)
			rc = lxw_to_pv(worksheet_write_string(rules, r, c, template_rules[r][c],
							      r == 0 || c == 0 ? bold : wrap));
out:
	if (w.wb) {
		int crc = lxw_to_pv(workbook_close(w.wb));

		if (!rc)
			rc = crc;
	}
	return rc;
}

int imp_write_template(const char *path, imp_format fmt)
{
	if (!path)
		return PV_EINVAL;
	if (fmt == IMP_CSV)
		return template_csv(path);
	if (fmt == IMP_XLSX)
		return template_xlsx(path);
	return PV_EINVAL;
}
