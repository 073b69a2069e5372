/* csv_reader: the CSV side of reader.h, streaming on libcsv.
 *
 * The file is read in IMP_BLOCK blocks and handed to libcsv one physical
 * line at a time (up to and including the next CR or LF, or the rest of
 * the block), so that at most one record completes per call and no queue
 * of rows is needed. Memory: one block, libcsv's field buffer (at most
 * max_cell_bytes plus one block before a too-large cell is refused) and
 * the current row (at most max_columns cells of max_cell_bytes).
 *
 * Rows are numbered by record: every CR, LF or CRLF outside quotes ends a
 * record, empty lines included (returned with no cells); a newline inside
 * quotes does not start a new row number. libcsv runs with CSV_STRICT (a
 * stray quote is refused: "Invalid CSV quoting in row N"), CSV_STRICT_FINI
 * (an unterminated quote at the end too) and CSV_REPALL_NL (empty lines
 * are reported so row numbers stay right). Spaces and tabs around
 * unquoted fields are trimmed by libcsv (its default).
 *
 * Most lines of an upload hold no quote at all: such a line, when it
 * starts a record and ends within the block, is split here instead, with
 * libcsv's rules for unquoted fields (fields trimmed of spaces and tabs;
 * a line of nothing but spaces and tabs is an empty record), and its cells
 * point into the block itself. libcsv walks each byte through its state
 * machine and copies it twice (its buffer, then ours): it was a sixth of
 * an import's instructions. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csv.h>

#include "import/reader_int.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct csv_rd {
	int fd;
	imp_limits lim;
	struct csv_parser p;
	int p_ready;
	unsigned char *block;
	size_t blen, bpos;
	int eof;  /* read() returned 0 */
	int done; /* csv_fini called: no more rows */
	int64_t bytes_read;

	/* The record under construction. */
	buf arena;        /* cell bytes, back to back */
	size_t *off, *len; /* per cell, into arena */
	const char **direct; /* per cell of a line split here: into block */
	imp_cell *cells;  /* handed out by next() */
	size_t ncells, cap;
	int row_ready;
	int prev_cr;      /* the last record ended with CR (CRLF pairing) */
	int64_t rows;     /* records completed so far */

	int rc;
	char err[IMP_ERRLEN];
} csv_rd;

static int fail(csv_rd *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(csv_rd *c, int rc, const char *fmt, ...)
{
	va_list ap;

	if (c->rc)
		return c->rc;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->rc = rc;
	return rc;
}

static int fail_quoting(csv_rd *c)
{
	return fail(c, PV_EFORMAT, "Invalid CSV quoting in row %" PRId64,
		    c->rows + 1);
}

static int fail_cell(csv_rd *c)
{
	return fail(c, PV_ELIMIT, "Cell too large in row %" PRId64 " (limit %zu bytes)",
		    c->rows + 1, c->lim.max_cell_bytes);
}

/* libcsv field callback: one complete field of the current record. */
static void on_field(void *field, size_t n, void *data)
{
	csv_rd *c = data;
	const char *s = field;

	if (c->rc)
		return;
	if (c->ncells >= c->lim.max_columns) {
		fail(c, PV_ELIMIT, "Too many columns (limit %zu)", c->lim.max_columns);
		return;
	}
	if (n > c->lim.max_cell_bytes) {
		fail_cell(c);
		return;
	}
	if (n && !imp_utf8_ok(s, n)) {
		fail(c, PV_EFORMAT, "Invalid UTF-8 in row %" PRId64, c->rows + 1);
		return;
	}
	c->off[c->ncells] = c->arena.len;
	c->len[c->ncells] = n;
	c->direct[c->ncells] = NULL;
	if (n && buf_add(&c->arena, s, n) != PV_OK) {
		fail(c, PV_ENOMEM, "Out of memory");
		return;
	}
	c->ncells++;
}

/* libcsv record callback: ch is the terminator (CR, LF) or -1 at the end. */
static void on_record(int ch, void *data)
{
	csv_rd *c = data;

	if (c->rc)
		return;
	if (ch == '\n' && c->prev_cr && c->ncells == 0) {
		/* The LF of a CRLF: with CSV_REPALL_NL libcsv reports it as an
		 * empty record of its own. */
		c->prev_cr = 0;
		return;
	}
	c->prev_cr = (ch == '\r');
	c->rows++;
	c->row_ready = 1;
}

/* Fills the block; returns PV_OK (c->blen == 0 at the end of the file). */
static int read_block(csv_rd *c)
{
	size_t got = 0;

	while (got < IMP_BLOCK) {
		ssize_t n = read(c->fd, c->block + got, IMP_BLOCK - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(c, PV_EIO, "Cannot read the file");
		if (n == 0) {
			c->eof = 1;
			break;
		}
		got += (size_t)n;
	}
	c->blen = got;
	c->bpos = 0;
	c->bytes_read += (int64_t)got;
	if (c->bytes_read > c->lim.max_file_bytes)
		return fail(c, PV_ELIMIT, "File too large (limit %" PRId64 " bytes)",
			    c->lim.max_file_bytes);
	return PV_OK;
}

/* ';' when the first non-empty line has more semicolons than commas
 * outside quotes, else ','. Looks at the first block only. */
static unsigned char detect_delim(const unsigned char *s, size_t n)
{
	size_t i = 0, line, commas = 0, semis = 0;
	int inq = 0;

	/* Skip blank lines (only spaces, tabs, CR and LF). */
	line = 0;
	while (i < n) {
		if (s[i] == '\r' || s[i] == '\n') {
			line = ++i;
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		break;
	}
	for (i = line; i < n; i++) {
		unsigned char ch = s[i];

		if (ch == '"')
			inq = !inq;
		else if (inq)
			continue;
		else if (ch == '\r' || ch == '\n')
			break;
		else if (ch == ',')
			commas++;
		else if (ch == ';')
			semis++;
	}
	return semis > commas ? ';' : ',';
}

static void csv_close_impl(void *impl)
{
	csv_rd *c = impl;

	if (!c)
		return;
	if (c->p_ready)
		csv_free(&c->p);
	if (c->fd >= 0)
		close(c->fd);
	free(c->block);
	buf_free(&c->arena);
	free(c->off);
	free(c->len);
	free(c->direct);
	free(c->cells);
	free(c);
}

int imp_csv_open(int fd, const imp_limits *lim, void **impl, char *err,
		 size_t errlen)
{
	csv_rd *c;
	size_t arena_max;
	int rc;

	*impl = NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		snprintf(err, errlen, "Out of memory");
		return PV_ENOMEM;
	}
	c->fd = fd;
	c->lim = *lim;
	if (c->lim.max_columns == 0)
		c->lim.max_columns = 1;
	arena_max = c->lim.max_cell_bytes < (SIZE_MAX / 2) / c->lim.max_columns
			    ? c->lim.max_cell_bytes * c->lim.max_columns + 1
			    : SIZE_MAX / 2;
	buf_init(&c->arena, arena_max);
	c->block = malloc(IMP_BLOCK);
	if (!c->block || csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
		rc = fail(c, PV_ENOMEM, "Out of memory");
		goto out;
	}
	c->p_ready = 1;
	csv_set_blk_size(&c->p, 4096);
	rc = read_block(c);
	if (rc)
		goto out;
	/* A UTF-8 byte order mark would end up inside the first field. */
	if (c->blen >= 3 && c->block[0] == 0xEF && c->block[1] == 0xBB &&
	    c->block[2] == 0xBF)
		c->bpos = 3;
	csv_set_delim(&c->p, detect_delim(c->block + c->bpos, c->blen - c->bpos));
out:
	if (rc) {
		snprintf(err, errlen, "%s", c->err);
		csv_close_impl(c);
		return rc;
	}
	*impl = c;
	return PV_OK;
}

/* The length of the next piece to parse: up to and including the next CR
 * or LF, or the rest of the block. *quote is set when it holds a '"'. */
static size_t piece_len(const unsigned char *s, size_t n, int *quote)
{
	size_t i;

	*quote = 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = s[i];

		if (ch > '"')
			continue;
		if (ch == '\n' || ch == '\r')
			return i + 1;
		if (ch == '"')
			*quote = 1;
	}
	return n;
}

static int is_blank(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

/* A whole line without quotes, at the start of a record: its cells,
 * split and trimmed as libcsv would, pointing into the block (s, n
 * without the line end), then the record. */
static void split_line(csv_rd *c, const char *s, size_t n, int end)
{
	const char *e = s + n;
	unsigned char delim = c->p.delim_char;

	while (s < e && is_blank((unsigned char)*s))
		s++;
	if (s == e) { /* nothing but spaces and tabs: an empty record */
		on_record(end, c);
		return;
	}
	for (;;) {
		const char *f = s, *d = memchr(s, delim, (size_t)(e - s));
		const char *fe = d ? d : e;

		while (f < fe && is_blank((unsigned char)*f))
			f++;
		while (fe > f && is_blank((unsigned char)fe[-1]))
			fe--;
		if (c->ncells >= c->lim.max_columns) {
			fail(c, PV_ELIMIT, "Too many columns (limit %zu)", c->lim.max_columns);
			return;
		}
		if ((size_t)(fe - f) > c->lim.max_cell_bytes) {
			fail_cell(c);
			return;
		}
		if (fe > f && !imp_utf8_ok(f, (size_t)(fe - f))) {
			fail(c, PV_EFORMAT, "Invalid UTF-8 in row %" PRId64, c->rows + 1);
			return;
		}
		c->direct[c->ncells] = f;
		c->len[c->ncells++] = (size_t)(fe - f);
		if (!d)
			break;
		s = d + 1;
	}
	on_record(end, c);
}

static int csv_next_impl(void *impl, imp_row *row)
{
	csv_rd *c = impl;
	size_t i;

	if (c->rc)
		return c->rc;
	c->arena.len = 0;
	c->ncells = 0;
	c->row_ready = 0;
	if (!c->direct) {
		c->off = calloc(c->lim.max_columns, sizeof *c->off);
		c->len = calloc(c->lim.max_columns, sizeof *c->len);
		c->direct = calloc(c->lim.max_columns, sizeof *c->direct);
		if (!c->off || !c->len || !c->direct)
			return fail(c, PV_ENOMEM, "Out of memory");
		c->cap = c->lim.max_columns;
	}
	for (;;) {
		size_t n, used;
		int quote;

		if (c->rc)
			return c->rc;
		if (c->row_ready)
			break;
		if (c->done)
			return 0;
		if (c->bpos == c->blen) {
			if (c->eof) {
				if (csv_fini(&c->p, on_field, on_record, c) != 0)
					return fail_quoting(c);
				c->done = 1;
				continue;
			}
			if (read_block(c))
				return c->rc;
			continue;
		}
		n = piece_len(c->block + c->bpos, c->blen - c->bpos, &quote);
		if (!quote && c->p.pstate == 0 /* ROW_NOT_BEGUN */ && c->p.entry_pos == 0 &&
		    (c->block[c->bpos + n - 1] == '\n' || c->block[c->bpos + n - 1] == '\r')) {
			split_line(c, (const char *)c->block + c->bpos, n - 1,
				   c->block[c->bpos + n - 1]);
			c->bpos += n;
			continue;
		}
		used = csv_parse(&c->p, c->block + c->bpos, n, on_field, on_record, c);
		if (c->rc)
			return c->rc;
		if (used < n) {
			if (csv_error(&c->p) == CSV_EPARSE)
				return fail_quoting(c);
			return fail(c, PV_ENOMEM, "Out of memory");
		}
		c->bpos += n;
		/* A field still open: refuse it as soon as it is too large
		 * (its buffer may hold a closing quote and trailing spaces). */
		if (c->p.entry_pos > c->lim.max_cell_bytes + 1 + c->p.spaces)
			return fail_cell(c);
	}
	if (c->ncells && !c->cells) {
		c->cells = calloc(c->lim.max_columns, sizeof(*c->cells));
		if (!c->cells)
			return fail(c, PV_ENOMEM, "Out of memory");
	}
	for (i = 0; i < c->ncells; i++) {
		c->cells[i].p = c->direct[i] ? c->direct[i]
			      : c->len[i] ? c->arena.p + c->off[i] : "";
		c->cells[i].len = c->len[i];
	}
	row->number = c->rows;
	row->ncells = c->ncells;
	row->cells = c->cells;
	return 1;
}

static const char *csv_error_impl(const void *impl)
{
	const csv_rd *c = impl;

	return c && c->err[0] ? c->err : "";
}

const struct imp_reader_ops imp_csv_ops = {
	.next = csv_next_impl,
	.error = csv_error_impl,
	.close = csv_close_impl,
};
