/* Tests of src/import/ readers: CSV and XLSX fixtures are made here, in a
 * temporary directory (XLSX by libxlsxwriter and by hand with libzip). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csv.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "import/reader.h"
#include "util/err.h"

static char tmpdir[64];
static char pathbuf[256];

/* ---- helpers ---- */

static const char *tpath(const char *name)
{
	snprintf(pathbuf, sizeof(pathbuf), "%s/%s", tmpdir, name);
	return pathbuf;
}

static const char *write_file(const char *name, const void *data, size_t n)
{
	const char *p = tpath(name);
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	return p;
}

static const char *write_str(const char *name, const char *s)
{
	return write_file(name, s, strlen(s));
}

static imp_reader *open_ok(const char *path, const imp_limits *lim)
{
	imp_reader *r = NULL;
	char err[160] = "";
	int rc = imp_open(path, lim, &r, err, sizeof(err));

	if (rc)
		fail_msg("imp_open(%s) failed: %d %s", path, rc, err);
	assert_non_null(r);
	return r;
}

static void open_fails(const char *path, const imp_limits *lim, const char *msg)
{
	imp_reader *r = NULL;
	char err[160] = "";
	int rc = imp_open(path, lim, &r, err, sizeof(err));

	assert_true(rc < 0);
	assert_null(r);
	assert_string_equal(err, msg);
}

/* Reads the next row and checks its number and cells (n strings). */
static void expect_row(imp_reader *r, int64_t number, size_t n, ...)
{
	imp_row row;
	va_list ap;
	size_t i;
	int rc = imp_next(r, &row);

	if (rc != 1)
		fail_msg("expected row %lld, got rc %d (%s)", (long long)number, rc,
			 imp_error(r));
	assert_int_equal(row.number, number);
	if (row.ncells != n)
		fail_msg("row %lld: %zu cells, expected %zu", (long long)number,
			 row.ncells, n);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);

		if (row.cells[i].len != strlen(want) ||
		    memcmp(row.cells[i].p, want, row.cells[i].len) != 0)
			fail_msg("row %lld cell %zu: '%.*s', expected '%s'",
				 (long long)number, i, (int)row.cells[i].len,
				 row.cells[i].p, want);
	}
	va_end(ap);
}

static void expect_end(imp_reader *r)
{
	imp_row row;

	assert_int_equal(imp_next(r, &row), 0);
	assert_int_equal(imp_next(r, &row), 0);
}

/* Reads rows until a failure, which must carry msg. */
static void expect_failure(imp_reader *r, const char *msg)
{
	imp_row row;
	int rc, guard = 0;

	while ((rc = imp_next(r, &row)) == 1)
		assert_true(++guard < 10000000);
	assert_true(rc < 0);
	assert_string_equal(imp_error(r), msg);
	/* sticky */
	assert_int_equal(imp_next(r, &row), rc);
}

static int count_fds(void)
{
	char p[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		struct stat st;

		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		if (stat(p, &st) == 0)
			n++;
	}
	return n;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pv-imp-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* A growable string for building fixtures. */
typedef struct sb {
	char *p;
	size_t len, cap;
} sb;

static void sb_add(sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 1024;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		b->p = realloc(b->p, ncap);
		assert_non_null(b->p);
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_adds(sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_addf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_addf(sb *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	sb_add(b, tmp, (size_t)n);
}

/* ---- sniffing and opening ---- */

static void test_sniff(void **state)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A,
					    0, 0, 0, 13, 'I', 'H', 'D', 'R'};
	static const char zip[] = "PK\x03\x04\x14\x00";
	static const char latin1[] = "Name\nJos\xe9\n";
	static const char cut[] = "Name\n\xe0\xa4"; /* a sequence cut by the end */

	(void)state;
	assert_int_equal(imp_sniff(png, sizeof(png)), 0);
	assert_int_equal(imp_sniff("", 0), 0);
	assert_int_equal(imp_sniff(zip, sizeof(zip) - 1), IMP_XLSX);
	assert_int_equal(imp_sniff("a,b\r\n", 5), IMP_CSV);
	assert_int_equal(imp_sniff("\xEF\xBB\xBF" "a", 4), IMP_CSV);
	assert_int_equal(imp_sniff("a\0b", 3), 0);
	assert_int_equal(imp_sniff(latin1, sizeof(latin1) - 1), 0);
	assert_int_equal(imp_sniff(cut, sizeof(cut) - 1), IMP_CSV);
}

static void test_open_refusals(void **state)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A,
					    0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 1, 0};
	imp_limits lim;

	(void)state;
	open_fails(write_file("x.png", png, sizeof(png)), NULL,
		   "The file is not a CSV or XLSX file");
	/* An XLSX renamed .csv is still read as XLSX and vice versa: the
	 * name does not matter; an old binary .xls (OLE2) is refused. */
	open_fails(write_file("old.xls", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0", 10),
		   NULL, "The file is not a CSV or XLSX file");
	open_fails(write_file("empty.csv", "", 0), NULL, "The file is empty");
	open_fails(write_str("latin1.csv", "First Name\nJos\xe9\n"), NULL,
		   "The file is not UTF-8 text (save the CSV as UTF-8)");
	open_fails(tpath("does-not-exist.csv"), NULL, "Cannot read the file");
	open_fails(tmpdir, NULL, "Cannot read the file");
	imp_limits_default(&lim);
	lim.max_file_bytes = 10;
	open_fails(write_str("big.csv", "a,b\n1,2\n3,4\n"), &lim,
		   "File too large (limit 10 bytes)");
}

static void test_limits_default(void **state)
{
	imp_limits lim;

	(void)state;
	imp_limits_default(&lim);
	assert_int_equal(lim.max_file_bytes, 100 * 1024 * 1024);
	assert_int_equal(lim.max_rows, 1048576);
	assert_int_equal(lim.max_cell_bytes, 16384);
	assert_int_equal(lim.max_columns, 256);
	assert_int_equal(lim.max_uncompressed, 1024LL * 1024 * 1024);
	assert_int_equal(lim.max_ratio, 200);
	assert_int_equal(lim.max_shared_bytes, 256LL * 1024 * 1024);
	assert_int_equal(lim.max_shared_mem, 8 * 1024 * 1024);
	assert_null(lim.tmp_dir);
	assert_int_equal(lim.max_zip_entries, 10000);
	assert_int_equal(lim.max_zip_dir_bytes, 4 * 1024 * 1024);
}

/* ---- CSV ---- */

static void test_csv_bom_crlf(void **state)
{
	imp_reader *r;

	(void)state;
	r = open_ok(write_str("bom.csv", "\xEF\xBB\xBF" "First Name,Last Name\r\n"
					  "Asha,Verma\r\n" "\xE0\xA4\x85\xE0\xA4\xAE\xE0\xA4\xBF\xE0\xA4\xA4,K\r\n"),
		    NULL);
	assert_int_equal(imp_get_format(r), IMP_CSV);
	expect_row(r, 1, 2, "First Name", "Last Name");
	expect_row(r, 2, 2, "Asha", "Verma");
	expect_row(r, 3, 2, "\xE0\xA4\x85\xE0\xA4\xAE\xE0\xA4\xBF\xE0\xA4\xA4", "K");
	expect_end(r);
	imp_close(r);

	/* No final newline, LF only, CR only. */
	r = open_ok(write_str("lf.csv", "a,b\nc,d"), NULL);
	expect_row(r, 1, 2, "a", "b");
	expect_row(r, 2, 2, "c", "d");
	expect_end(r);
	imp_close(r);
	r = open_ok(write_str("cr.csv", "a,b\rc,d\r"), NULL);
	expect_row(r, 1, 2, "a", "b");
	expect_row(r, 2, 2, "c", "d");
	expect_end(r);
	imp_close(r);
}

static void test_csv_quoting(void **state)
{
	imp_reader *r;

	(void)state;
	r = open_ok(write_str("q.csv", "h1,h2,h3\r\n"
				       "\"line1\r\nline2\",\"a,b\",\"say \"\"hi\"\"\"\r\n"
				       "\"x\ny\nz\",,\"\"\r\n"
				       "next,  spaced  ,\" kept \"\r\n"),
		    NULL);
	expect_row(r, 1, 3, "h1", "h2", "h3");
	expect_row(r, 2, 3, "line1\r\nline2", "a,b", "say \"hi\"");
	/* Two quoted newlines: still row 3, and the next record is row 4. */
	expect_row(r, 3, 3, "x\ny\nz", "", "");
	expect_row(r, 4, 3, "next", "spaced", " kept ");
	expect_end(r);
	imp_close(r);

	r = open_ok(write_str("stray.csv", "h\nok\nO\"Brien\n"), NULL);
	expect_row(r, 1, 1, "h");
	expect_row(r, 2, 1, "ok");
	expect_failure(r, "Invalid CSV quoting in row 3");
	imp_close(r);

	r = open_ok(write_str("unterminated.csv", "h\n\"abc\ndef"), NULL);
	expect_row(r, 1, 1, "h");
	expect_failure(r, "Invalid CSV quoting in row 2");
	imp_close(r);
}

static void test_csv_semicolon(void **state)
{
	imp_reader *r;

	(void)state;
	r = open_ok(write_str("semi.csv", "\n\r\nFirst Name;Last Name;Email Id;Mobile Number\n"
					  "\"a;b\";c;d,e;98765 43210\n"),
		    NULL);
	expect_row(r, 1, 0);
	expect_row(r, 2, 0);
	expect_row(r, 3, 4, "First Name", "Last Name", "Email Id", "Mobile Number");
	expect_row(r, 4, 4, "a;b", "c", "d,e", "98765 43210");
	expect_end(r);
	imp_close(r);

	/* Semicolons inside quotes do not count. */
	r = open_ok(write_str("comma.csv", "\"a;b;c\",d\n1;2,3\n"), NULL);
	expect_row(r, 1, 2, "a;b;c", "d");
	expect_row(r, 2, 2, "1;2", "3");
	expect_end(r);
	imp_close(r);
}

static void test_csv_empty_rows(void **state)
{
	imp_reader *r;

	(void)state;
	r = open_ok(write_str("empty-rows.csv", "h1,h2\r\n\r\n   \r\n,\r\na,b\n\nc,d\n"), NULL);
	expect_row(r, 1, 2, "h1", "h2");
	expect_row(r, 2, 0);
	expect_row(r, 3, 0);
	expect_row(r, 4, 2, "", "");
	expect_row(r, 5, 2, "a", "b");
	expect_row(r, 6, 0);
	expect_row(r, 7, 2, "c", "d");
	expect_end(r);
	imp_close(r);
}

/* libcsv's own fields of one line (the reader's options), "|"-joined. */
struct lc_fields {
	char out[512];
	size_t n, fields;
};

static void lc_field(void *f, size_t n, void *data)
{
	struct lc_fields *x = data;

	x->n += (size_t)snprintf(x->out + x->n, sizeof x->out - x->n, "%s%.*s",
				 x->fields++ ? "|" : "", (int)n, f ? (const char *)f : "");
}

static void lc_line(const char *line, char delim, char *out, size_t cap)
{
	struct csv_parser p;
	struct lc_fields x = {"", 0, 0};
	char buf[256];

	assert_int_equal(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL), 0);
	csv_set_delim(&p, (unsigned char)delim);
	snprintf(buf, sizeof buf, "%s\n", line);
	assert_int_equal(csv_parse(&p, buf, strlen(buf), lc_field, NULL, &x), strlen(buf));
	csv_fini(&p, lc_field, NULL, &x);
	csv_free(&p);
	snprintf(out, cap, "%s", x.out);
}

/* Lines without quotes are split by the reader itself: the same cells as
 * libcsv gives, line by line, whatever the spaces, tabs, empty fields and
 * line ends, and whether the line before was libcsv's (quoted). */
static void test_csv_unquoted_lines(void **state)
{
	static const char *const lines[] = {
		"a,b,c", " a , b\t,\t c ", "a,,b", ",", " , ", ",,", "a,", ",a",
		"  x  y  ,z", "\t", "a b,c\td", "\xE0\xA4\x85 , \xE0\xA4\xAE",
		"9876543210,  +91 98765 43210  ,x@y.in",
	};
	char text[4096], want[512], got[512];
	size_t o = 0;
	imp_reader *r;
	imp_row row;

	(void)state;
	for (int delim = 0; delim < 2; delim++) {
		char d = delim ? ';' : ',';

		o = (size_t)snprintf(text, sizeof text, "h%c\"q\"\r\n", d);
		for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
			char line[128];

			snprintf(line, sizeof line, "%s", lines[i]);
			for (char *c = line; *c && delim; c++)
				if (*c == ',')
					*c = ';';
			/* line ends: LF, CRLF, CR; every other line after a quoted one */
			o += (size_t)snprintf(text + o, sizeof text - o, "%s%s%s",
					      i % 2 ? "\"q\"\n" : "", line,
					      i % 3 == 0 ? "\n" : i % 3 == 1 ? "\r\n" : "\r");
		}
		r = open_ok(write_str(delim ? "unq-semi.csv" : "unq.csv", text), NULL);
		assert_int_equal(imp_next(r, &row), 1); /* the header */
		for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
			char line[128];
			size_t n = 0;

			snprintf(line, sizeof line, "%s", lines[i]);
			for (char *c = line; *c && delim; c++)
				if (*c == ',')
					*c = ';';
			if (i % 2) {
				assert_int_equal(imp_next(r, &row), 1);
				assert_int_equal(row.ncells, 1);
			}
			lc_line(line, d, want, sizeof want);
			assert_int_equal(imp_next(r, &row), 1);
			got[0] = '\0';
			for (size_t k = 0; k < row.ncells; k++)
				n += (size_t)snprintf(got + n, sizeof got - n, "%s%.*s", k ? "|" : "",
						      (int)row.cells[k].len, row.cells[k].p);
			if (strcmp(got, want) != 0)
				fail_msg("line '%s': '%s', libcsv '%s'", line, got, want);
		}
		expect_end(r);
		imp_close(r);
	}
}

static void test_csv_invalid_utf8(void **state)
{
	static const char *const bad[] = {"bad\xff", "over\xC0\xAF", "sur\xED\xA0\x80",
					  "big\xF4\x90\x80\x80", "cut\xE0\xA4"};
	imp_reader *r;
	size_t k;
	int i;

	(void)state;
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		sb b = {0};
		char msg[64];

		/* Past the 4 KiB that imp_open sniffs. */
		sb_adds(&b, "Name,Mobile\n");
		for (i = 0; i < 500; i++)
			sb_addf(&b, "name%d,98765%05d\n", i, i);
		sb_adds(&b, "ok,1\n");
		sb_addf(&b, "x,%s\n", bad[k]);
		r = open_ok(write_file("utf8.csv", b.p, b.len), NULL);
		snprintf(msg, sizeof(msg), "Invalid UTF-8 in row %d", 503);
		expect_failure(r, msg);
		imp_close(r);
		free(b.p);
	}

	/* A NUL byte past the head. */
	{
		sb b = {0};

		sb_adds(&b, "Name\n");
		for (i = 0; i < 1000; i++)
			sb_addf(&b, "name%d\n", i);
		sb_add(&b, "a\0b\n", 4);
		r = open_ok(write_file("nul.csv", b.p, b.len), NULL);
		expect_failure(r, "Invalid UTF-8 in row 1002");
		imp_close(r);
		free(b.p);
	}
}

/* A 1 GiB line (a sparse file: 1 MiB of text, then a hole) is refused as
 * soon as the cell passes the limit, without reading the rest. */
static void test_csv_huge_line(void **state)
{
	imp_limits lim;
	imp_reader *r;
	char *chunk;
	const char *p;
	int fd;

	(void)state;
	chunk = malloc(1 << 20);
	assert_non_null(chunk);
	memset(chunk, 'a', 1 << 20);
	p = tpath("huge.csv");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "Name\n", 5), 5);
	assert_int_equal(write(fd, chunk, 1 << 20), 1 << 20);
	assert_int_equal(ftruncate(fd, (off_t)1 << 30), 0);
	close(fd);
	free(chunk);

	imp_limits_default(&lim);
	lim.max_file_bytes = (int64_t)2 << 30;
	r = open_ok(tpath("huge.csv"), &lim);
	expect_row(r, 1, 1, "Name");
	expect_failure(r, "Cell too large in row 2 (limit 16384 bytes)");
	imp_close(r);
	unlink(tpath("huge.csv"));

	/* The same inside quotes, and a cell just over the limit ending in
	 * the same line; a cell of exactly the limit is fine. */
	{
		sb b = {0};
		int i;

		sb_adds(&b, "h\n\"");
		for (i = 0; i < 200000; i++)
			sb_add(&b, "q", 1);
		r = open_ok(write_file("hugeq.csv", b.p, b.len), NULL);
		expect_row(r, 1, 1, "h");
		expect_failure(r, "Cell too large in row 2 (limit 16384 bytes)");
		imp_close(r);
		free(b.p);

		memset(&b, 0, sizeof(b));
		sb_adds(&b, "h,i\n");
		for (i = 0; i < 16384; i++)
			sb_add(&b, "x", 1);
		sb_adds(&b, ",y\nz,");
		for (i = 0; i < 16385; i++)
			sb_add(&b, "x", 1);
		sb_adds(&b, "\n");
		r = open_ok(write_file("limit.csv", b.p, b.len), NULL);
		expect_row(r, 1, 2, "h", "i");
		{
			imp_row row;

			assert_int_equal(imp_next(r, &row), 1);
			assert_int_equal(row.number, 2);
			assert_int_equal(row.cells[0].len, 16384);
		}
		expect_failure(r, "Cell too large in row 3 (limit 16384 bytes)");
		imp_close(r);
		free(b.p);
	}
}

static void test_csv_too_many_columns(void **state)
{
	sb b = {0};
	imp_reader *r;
	int i;

	(void)state;
	for (i = 0; i < 20000; i++)
		sb_addf(&b, "%sc%d", i ? "," : "", i);
	sb_adds(&b, "\n");
	r = open_ok(write_file("cols.csv", b.p, b.len), NULL);
	expect_failure(r, "Too many columns (limit 256)");
	imp_close(r);
	free(b.p);

	/* Exactly 256 is fine. */
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 256; i++)
		sb_addf(&b, "%sc%d", i ? "," : "", i);
	sb_adds(&b, "\n");
	r = open_ok(write_file("cols256.csv", b.p, b.len), NULL);
	{
		imp_row row;

		assert_int_equal(imp_next(r, &row), 1);
		assert_int_equal(row.ncells, 256);
		assert_int_equal(row.cells[255].len, 4);
		assert_memory_equal(row.cells[255].p, "c255", 4);
	}
	expect_end(r);
	imp_close(r);
	free(b.p);
}

static void test_csv_max_rows(void **state)
{
	imp_limits lim;
	imp_reader *r;

	(void)state;
	imp_limits_default(&lim);
	lim.max_rows = 2;
	r = open_ok(write_str("rows.csv", "h\n1\n2\n3\n"), &lim);
	expect_row(r, 1, 1, "h");
	expect_row(r, 2, 1, "1");
	expect_row(r, 3, 1, "2");
	expect_failure(r, "Too many rows (limit 2)");
	imp_close(r);
}

/* Many rows across 64 KiB block boundaries, CRLF and quoted newlines
 * falling on them somewhere. */
static void test_csv_streaming(void **state)
{
	sb b = {0};
	imp_reader *r;
	imp_row row;
	int i, rc;
	int64_t n = 0;

	(void)state;
	sb_adds(&b, "Id,Name\r\n");
	for (i = 0; i < 60000; i++) {
		if (i % 7 == 0)
			sb_addf(&b, "%d,\"multi\r\nline %d\"\r\n", i, i);
		else
			sb_addf(&b, "%d,name %d\r\n", i, i);
	}
	r = open_ok(write_file("stream.csv", b.p, b.len), NULL);
	expect_row(r, 1, 2, "Id", "Name");
	while ((rc = imp_next(r, &row)) == 1) {
		char want[64];
		int k;

		assert_int_equal(row.number, n + 2);
		assert_int_equal(row.ncells, 2);
		k = snprintf(want, sizeof(want), "%lld", (long long)n);
		assert_int_equal(row.cells[0].len, k);
		assert_memory_equal(row.cells[0].p, want, (size_t)k);
		if (n % 7 == 0)
			k = snprintf(want, sizeof(want), "multi\r\nline %lld", (long long)n);
		else
			k = snprintf(want, sizeof(want), "name %lld", (long long)n);
		assert_int_equal(row.cells[1].len, k);
		assert_memory_equal(row.cells[1].p, want, (size_t)k);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 60000);
	imp_close(r);
	free(b.p);
}

/* ---- XLSX by hand ---- */

#define NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define NS_PKG "http://schemas.openxmlformats.org/package/2006/relationships"
#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"

static const char WB_ONE[] =
	XML_DECL "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><sheets>"
	"<sheet name=\"Data\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";

static const char RELS_ONE[] =
	XML_DECL "<Relationships xmlns=\"" NS_PKG "\">"
	"<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	"<Relationship Id=\"rId2\" Type=\"" NS_REL "/sharedStrings\" Target=\"sharedStrings.xml\"/>"
	"</Relationships>";

static const char RELS_NO_SST[] =
	XML_DECL "<Relationships xmlns=\"" NS_PKG "\">"
	"<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	"</Relationships>";

typedef struct part {
	const char *name;
	const char *data;
	size_t len; /* 0: strlen(data) */
} part;

static const char *make_zip(const char *name, const part *parts, size_t n)
{
	const char *p = tpath(name);
	zip_t *za;
	size_t i;
	int err = 0;

	za = zip_open(p, ZIP_CREATE | ZIP_TRUNCATE, &err);
	assert_non_null(za);
	for (i = 0; i < n; i++) {
		size_t len = parts[i].len ? parts[i].len : strlen(parts[i].data);
		zip_source_t *src = zip_source_buffer(za, parts[i].data, len, 0);

		assert_non_null(src);
		assert_true(zip_file_add(za, parts[i].name, src, ZIP_FL_ENC_UTF_8) >= 0);
	}
	assert_int_equal(zip_close(za), 0);
	return p;
}

/* A workbook with one sheet at xl/worksheets/sheet1.xml and optional
 * shared strings. */
static const char *make_xlsx(const char *name, const char *sheet, const char *sst)
{
	part parts[5] = {
		{"[Content_Types].xml", "<Types/>", 0},
		{"xl/workbook.xml", WB_ONE, 0},
		{"xl/_rels/workbook.xml.rels", sst ? RELS_ONE : RELS_NO_SST, 0},
		{"xl/worksheets/sheet1.xml", sheet, 0},
		{"xl/sharedStrings.xml", sst, 0},
	};

	return make_zip(name, parts, sst ? 5 : 4);
}

#define SHEET(rows) \
	XML_DECL "<worksheet xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\">" \
	"<dimension ref=\"A1\"/><sheetData>" rows "</sheetData>" \
	"<pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" header=\"0.3\" footer=\"0.3\"/>" \
	"</worksheet>"

static void test_xlsx_inline_numbers(void **state)
{
	imp_reader *r;

	(void)state;
	r = open_ok(make_xlsx("inline.xlsx",
			      SHEET("<row r=\"1\">"
				    "<c r=\"A1\" t=\"inlineStr\"><is><t>Mobile</t></is></c>"
				    "</row><row r=\"2\" spans=\"1:9\">"
				    "<c r=\"A2\"><v>9876543210</v></c>"
				    "<c r=\"B2\" s=\"1\"><v>9876543210.0</v></c>"
				    "<c r=\"C2\" t=\"n\"><v>9.87654321E9</v></c>"
				    "<c r=\"D2\" t=\"inlineStr\"><is><r><rPr><b/></rPr><t>Ku</t></r>"
				    "<r><t xml:space=\"preserve\">mar </t></r></is></c>"
				    "<c r=\"E2\" t=\"b\"><v>1</v></c>"
				    "<c r=\"F2\" t=\"b\"><v>0</v></c>"
				    "<c r=\"G2\" t=\"e\"><v>#N/A</v></c>"
				    "<c r=\"H2\" t=\"str\"><f>A1&amp;\"x\"</f><v>x_x000D_y &lt;&amp;&gt;</v></c>"
				    "<c r=\"I2\" t=\"inlineStr\"><is><t>a_x005F_x0041_b_x0041_</t></is></c>"
				    "</row>"),
			      NULL),
		    NULL);
	assert_int_equal(imp_get_format(r), IMP_XLSX);
	expect_row(r, 1, 1, "Mobile");
	expect_row(r, 2, 9, "9876543210", "9876543210.0", "9.87654321E9", "Kumar ", "TRUE",
		   "FALSE", "#N/A", "x\ry <&>", "a_x0041_bA");
	expect_end(r);
	imp_close(r);
}

/* Descriptors of unlinked files in dir: the shared strings' temporary
 * files. */
static int tmp_fds(const char *dir)
{
	char p[64], target[512];
	size_t dl = strlen(dir);
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		ssize_t k;

		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		k = readlink(p, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		if (strncmp(target, dir, dl) == 0 && target[dl] == '/' &&
		    strstr(target, "(deleted)"))
			n++;
	}
	return n;
}

/* Rich text, phonetic runs, entities, an empty string, an index out of
 * range and the table's bound: the same in memory and spilled to a
 * temporary file (a budget of 0 spills at the first string). */
static void test_xlsx_shared_strings(void **state)
{
	static const char sst[] =
		XML_DECL "<sst xmlns=\"" NS_MAIN "\" count=\"5\" uniqueCount=\"5\">"
		"<si><t>First Name</t></si>"
		"<si><r><rPr><sz val=\"11\"/></rPr><t>\xE6\x9D\xB1</t></r><r><t>\xE4\xBA\xAC</t></r>"
		"<rPh sb=\"0\" eb=\"1\"><t>\xE3\x83\x88\xE3\x82\xA6</t></rPh>"
		"<phoneticPr fontId=\"1\"/></si>"
		"<si><t>A &amp; B</t></si>"
		"<si><t/></si>"
		"<si><t xml:space=\"preserve\"> sp </t><rPh sb=\"0\" eb=\"0\"><t>x</t></rPh></si>"
		"</sst>";
	static const char sheet[] =
		SHEET("<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row>"
		      "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>1</v></c>"
		      "<c r=\"B2\" t=\"s\"><v>2</v></c><c r=\"C2\" t=\"s\"><v>3</v></c>"
		      "<c r=\"D2\" t=\"s\"><v>4</v></c></row>"
		      "<row r=\"3\"><c r=\"A3\" t=\"s\"><v>5</v></c></row>");
	imp_limits lim;
	imp_reader *r;
	char p[256];
	int spill;

	(void)state;
	snprintf(p, sizeof(p), "%s", make_xlsx("sst.xlsx", sheet, sst));
	for (spill = 0; spill < 2; spill++) {
		imp_limits_default(&lim);
		if (spill) {
			lim.max_shared_mem = 0;
			lim.tmp_dir = tmpdir;
		}
		r = open_ok(p, &lim);
		assert_int_equal(tmp_fds(tmpdir), spill ? 2 : 0);
		expect_row(r, 1, 1, "First Name");
		expect_row(r, 2, 4, "\xE6\x9D\xB1\xE4\xBA\xAC", "A & B", "", " sp ");
		/* Index 5 does not exist. */
		expect_failure(r, "The XLSX file is damaged");
		imp_close(r);
		assert_int_equal(tmp_fds(tmpdir), 0);

		/* A table over max_shared_bytes. */
		lim.max_shared_bytes = 40;
		open_fails(make_xlsx("sst-big.xlsx",
				     SHEET("<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row>"),
				     sst),
			   &lim, "Shared strings table too large (limit 40 bytes)");
		assert_int_equal(tmp_fds(tmpdir), 0);
	}

	/* A temporary folder that is not there. */
	imp_limits_default(&lim);
	lim.max_shared_mem = 16;
	lim.tmp_dir = tpath("no-such-folder");
	open_fails(p, &lim, "Cannot use a temporary file (No such file or directory)");
}

/* The expected text of string i of the spill workbook. */
static void spill_string(int i, sb *out)
{
	out->len = 0;
	if (i < 10) {
		sb_addf(out, "common %d", i);
	} else if (i % 500 == 7) {
		/* Long strings, over pages of the temporary file. */
		uint32_t seed = (uint32_t)i;
		int k;

		for (k = 0; k < 6000 + i % 3000; k++) {
			char ch;

			seed = seed * 1103515245u + 12345u;
			ch = (char)('a' + (seed >> 18) % 26);
			sb_add(out, &ch, 1);
		}
	} else {
		switch (i % 3) {
		case 0:
			sb_addf(out, "name%d", i);
			break;
		case 1:
			sb_addf(out, "rich%d", i);
			break;
		default:
			sb_addf(out, "a&bA%d\xE0\xA4\x85", i);
			break;
		}
	}
	if (!out->p)
		sb_add(out, "", 0);
}

/* The XML of string i, as Excel would write it. */
static void spill_si(int i, sb *xml, sb *tmp)
{
	spill_string(i, tmp);
	if (i >= 10 && i % 500 != 7 && i % 3 == 1) {
		/* rich text in two runs, with a phonetic run that is not text */
		sb_addf(xml, "<si><r><rPr><b/></rPr><t>ri</t></r><r><t>ch%d</t></r>"
			     "<rPh sb=\"0\" eb=\"1\"><t>reading</t></rPh></si>", i);
	} else if (i >= 10 && i % 500 != 7 && i % 3 == 2) {
		/* an entity and an _xHHHH_ escape */
		sb_addf(xml, "<si><t>a&amp;b_x0041_%d\xE0\xA4\x85</t></si>", i);
	} else {
		sb_adds(xml, "<si><t>");
		sb_add(xml, tmp->p, tmp->len);
		sb_adds(xml, "</t></si>");
	}
}

/* A table of 30,010 strings (long ones among them) spilled to a temporary
 * file by a budget of 4 KiB, read in the sheet's order and then out of
 * order, with a cell that names a string too large for a cell. */
static void test_xlsx_shared_strings_spill(void **state)
{
	enum { NSTR = 30010, ROWS = 10000 };
	sb xml = {0}, sheet = {0}, tmp = {0}, want = {0};
	imp_limits lim;
	imp_reader *r;
	imp_row row;
	const char *p;
	uint32_t seed = 7;
	int i, c, spill;

	(void)state;
	sb_addf(&xml, XML_DECL "<sst xmlns=\"" NS_MAIN "\" count=\"%d\" uniqueCount=\"%d\">",
		NSTR + 1, NSTR + 1);
	for (i = 0; i < NSTR; i++)
		spill_si(i, &xml, &tmp);
	/* string NSTR: 20,000 bytes, too large for any cell */
	sb_adds(&xml, "<si><t>");
	for (i = 0; i < 2000; i++)
		sb_adds(&xml, "0123456789");
	sb_adds(&xml, "</t></si></sst>");

	/* rows 1..ROWS: strings 10 + 3k .. 12 + 3k and a common one; then
	 * 2,000 rows of four strings anywhere in the table; then the string
	 * too large */
	sb_adds(&sheet, XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>");
	for (i = 0; i < ROWS; i++)
		sb_addf(&sheet, "<row r=\"%d\"><c t=\"s\"><v>%d</v></c><c t=\"s\"><v>%d</v></c>"
				"<c t=\"s\"><v>%d</v></c><c t=\"s\"><v>%d</v></c></row>",
			i + 1, 10 + 3 * i, 11 + 3 * i, 12 + 3 * i, i % 10);
	for (i = 0; i < 2000; i++) {
		sb_addf(&sheet, "<row r=\"%d\">", ROWS + 1 + i);
		for (c = 0; c < 4; c++) {
			seed = seed * 1103515245u + 12345u;
			sb_addf(&sheet, "<c t=\"s\"><v>%u</v></c>", (seed >> 8) % NSTR);
		}
		sb_adds(&sheet, "</row>");
	}
	sb_addf(&sheet, "<row r=\"%d\"><c t=\"s\"><v>%d</v></c></row>", ROWS + 2001, NSTR);
	sb_adds(&sheet, "</sheetData></worksheet>");
	p = make_xlsx("spill.xlsx", sheet.p, xml.p);

	for (spill = 0; spill < 2; spill++) {
		imp_limits_default(&lim);
		lim.tmp_dir = tmpdir;
		if (spill)
			lim.max_shared_mem = 4096;
		r = open_ok(p, &lim);
		assert_int_equal(tmp_fds(tmpdir), spill ? 2 : 0);
		seed = 7;
		for (i = 0; i < ROWS + 2000; i++) {
			assert_int_equal(imp_next(r, &row), 1);
			assert_int_equal(row.number, i + 1);
			assert_int_equal(row.ncells, 4);
			for (c = 0; c < 4; c++) {
				int idx;

				if (i < ROWS) {
					idx = c < 3 ? 10 + 3 * i + c : i % 10;
				} else {
					seed = seed * 1103515245u + 12345u;
					idx = (int)((seed >> 8) % NSTR);
				}
				spill_string(idx, &want);
				if (row.cells[c].len != want.len ||
				    memcmp(row.cells[c].p, want.p, want.len) != 0)
					fail_msg("row %d cell %d: '%.*s', expected '%s'", i + 1, c,
						 (int)row.cells[c].len, row.cells[c].p, want.p);
			}
		}
		expect_failure(r, "Cell too large in row 12001 (limit 16384 bytes)");
		imp_close(r);
	}
	assert_int_equal(tmp_fds(tmpdir), 0);
	free(xml.p);
	free(sheet.p);
	free(tmp.p);
	free(want.p);
}

static void test_xlsx_sparse(void **state)
{
	imp_reader *r;

	(void)state;
	r = open_ok(make_xlsx("sparse.xlsx",
			      SHEET("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a</t></is></c>"
				    "<c r=\"C1\" t=\"inlineStr\"><is><t>c</t></is></c></row>"
				    "<row r=\"5\"><c r=\"B5\"><v>7</v></c></row>"
				    "<row><c><v>1</v></c><c><v>2</v></c><c r=\"AA6\"><v>27</v></c></row>"
				    "<row r=\"8\"/>"
				    "<row r=\"9\"><c r=\"A9\"/><c r=\"B9\" t=\"s\"/></row>"),
			      NULL),
		    NULL);
	expect_row(r, 1, 3, "a", "", "c");
	/* Rows 2-4 are not in the file and are not returned. */
	expect_row(r, 5, 2, "", "7");
	{
		imp_row row;

		assert_int_equal(imp_next(r, &row), 1);
		assert_int_equal(row.number, 6);
		assert_int_equal(row.ncells, 27);
		assert_memory_equal(row.cells[0].p, "1", 1);
		assert_memory_equal(row.cells[1].p, "2", 1);
		assert_int_equal(row.cells[2].len, 0);
		assert_int_equal(row.cells[26].len, 2);
		assert_memory_equal(row.cells[26].p, "27", 2);
	}
	expect_row(r, 8, 0);
	expect_row(r, 9, 2, "", "");
	expect_end(r);
	imp_close(r);

	/* Rows or cells out of order. */
	r = open_ok(make_xlsx("order.xlsx",
			      SHEET("<row r=\"2\"><c r=\"A2\"><v>1</v></c></row>"
				    "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row>"),
			      NULL),
		    NULL);
	expect_row(r, 2, 1, "1");
	expect_failure(r, "The XLSX file is damaged");
	imp_close(r);
	r = open_ok(make_xlsx("order2.xlsx",
			      SHEET("<row r=\"1\"><c r=\"B1\"><v>1</v></c><c r=\"A1\"><v>1</v></c></row>"),
			      NULL),
		    NULL);
	expect_failure(r, "The XLSX file is damaged");
	imp_close(r);
}

static void test_xlsx_first_sheet_by_rels(void **state)
{
	static const char wb[] =
		XML_DECL "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><sheets>"
		"<sheet name=\"Chart\" sheetId=\"3\" r:id=\"rId9\"/>"
		"<sheet name=\"Users\" sheetId=\"2\" r:id=\"rId7\"/>"
		"<sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
	static const char rels[] =
		XML_DECL "<Relationships xmlns=\"" NS_PKG "\">"
		"<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
		"<Relationship Id=\"rId9\" Type=\"" NS_REL "/chartsheet\" Target=\"chartsheets/sheet1.xml\"/>"
		"<Relationship Id=\"rId7\" Type=\"" NS_REL "/worksheet\" Target=\"worksheets/data.xml\"/>"
		"</Relationships>";
	static const char rels_abs[] =
		XML_DECL "<Relationships xmlns=\"" NS_PKG "\">"
		"<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" Target=\"/xl/worksheets/sheet1.xml\"/>"
		"<Relationship Id=\"rId7\" Type=\"" NS_REL "/worksheet\" Target=\"/xl/worksheets/../worksheets/./data.xml\"/>"
		"</Relationships>";
	static const char wrong[] = SHEET("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>wrong sheet</t></is></c></row>");
	static const char right[] = SHEET("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>data sheet</t></is></c></row>");
	part parts[] = {
		{"xl/workbook.xml", wb, 0},
		{"xl/_rels/workbook.xml.rels", rels, 0},
		{"xl/worksheets/sheet1.xml", wrong, 0},
		{"xl/worksheets/data.xml", right, 0},
		{"xl/chartsheets/sheet1.xml", "<chartsheet/>", 0},
	};
	imp_reader *r;

	(void)state;
	r = open_ok(make_zip("rels.xlsx", parts, 5), NULL);
	expect_row(r, 1, 1, "data sheet");
	expect_end(r);
	imp_close(r);

	parts[1].data = rels_abs;
	r = open_ok(make_zip("rels-abs.xlsx", parts, 5), NULL);
	expect_row(r, 1, 1, "data sheet");
	expect_end(r);
	imp_close(r);

	/* A target that is not in the archive; a ZIP that is no workbook. */
	parts[3].name = "xl/worksheets/other.xml";
	open_fails(make_zip("rels-missing.xlsx", parts, 5), NULL, "The XLSX file is damaged");
	{
		part z[] = {{"hello.txt", "hello", 0}};

		open_fails(make_zip("plain.zip", z, 1), NULL, "The file is not a CSV or XLSX file");
	}
}

static void test_xlsx_doctype(void **state)
{
	static const char laughs[] =
		XML_DECL "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
		"<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
		"<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
		"<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
		"<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"1\"><c t=\"inlineStr\"><is><t>&lol3;</t></is></c></row>"
		"</sheetData></worksheet>";
	static const char wb_dtd[] =
		XML_DECL "<!DOCTYPE workbook SYSTEM \"http://example.com/x.dtd\">"
		"<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><sheets>"
		"<sheet name=\"Data\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
	imp_reader *r;

	(void)state;
	r = open_ok(make_xlsx("lol.xlsx", laughs, NULL), NULL);
	expect_failure(r, "XML with a DTD or entities is not accepted");
	imp_close(r);
	{
		part parts[] = {
			{"xl/workbook.xml", wb_dtd, 0},
			{"xl/_rels/workbook.xml.rels", RELS_NO_SST, 0},
			{"xl/worksheets/sheet1.xml", SHEET(""), 0},
		};

		open_fails(make_zip("wbdtd.xlsx", parts, 3), NULL,
			   "XML with a DTD or entities is not accepted");
	}
	/* An undeclared entity is plain damage. */
	r = open_ok(make_xlsx("ent.xlsx", SHEET("<row r=\"1\"><c><v>&foo;</v></c></row>"), NULL),
		    NULL);
	expect_failure(r, "The XLSX file is damaged");
	imp_close(r);
}

/* A 50 MB sheet of blanks: refused by its declared size against a low
 * max_uncompressed, by its ratio with the defaults, and by counting when
 * the declared sizes are forged. */
static void test_xlsx_zip_bomb(void **state)
{
	size_t big = 50u * 1000 * 1000;
	char *sheet = malloc(big);
	static const char head[] = "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>";
	static const char tail[] = "</sheetData></worksheet>";
	imp_limits lim;
	const char *p;

	(void)state;
	assert_non_null(sheet);
	memset(sheet, ' ', big);
	memcpy(sheet, head, sizeof(head) - 1);
	memcpy(sheet + big - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	{
		part parts[] = {
			{"xl/workbook.xml", WB_ONE, 0},
			{"xl/_rels/workbook.xml.rels", RELS_NO_SST, 0},
			{"xl/worksheets/sheet1.xml", sheet, big},
		};

		p = make_zip("bomb.xlsx", parts, 3);
	}
	free(sheet);
	imp_limits_default(&lim);
	lim.max_uncompressed = 10 * 1024 * 1024;
	lim.max_ratio = 100000;
	open_fails(p, &lim, "The XLSX file expands too much (possible ZIP bomb)");
	open_fails(p, NULL, "The XLSX file expands too much (possible ZIP bomb)");

	/* Forge the declared size of the sheet (local and central headers)
	 * to 1000 bytes: the inflated bytes are counted anyway. */
	{
		FILE *f = fopen(p, "rb");
		unsigned char *z;
		long n, i;
		int patched = 0;
		imp_reader *r = NULL;
		char err[160] = "";
		int rc;

		assert_non_null(f);
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		n = ftell(f);
		rewind(f);
		z = malloc((size_t)n);
		assert_non_null(z);
		assert_int_equal(fread(z, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		for (i = 0; i + 46 < n; i++) {
			size_t off = 0, namelen;

			if (memcmp(z + i, "PK\x03\x04", 4) == 0)
				off = 22, namelen = (size_t)(z[i + 26] | z[i + 27] << 8);
			else if (memcmp(z + i, "PK\x01\x02", 4) == 0)
				off = 24, namelen = (size_t)(z[i + 28] | z[i + 29] << 8);
			else
				continue;
			if (namelen == 24 &&
			    memcmp(z + i + (off == 22 ? 30 : 46), "xl/worksheets/sheet1.xml", 24) == 0) {
				z[i + off] = 0xE8;
				z[i + off + 1] = 0x03;
				z[i + off + 2] = 0;
				z[i + off + 3] = 0;
				patched++;
			}
		}
		assert_int_equal(patched, 2);
		p = write_file("forged.xlsx", z, (size_t)n);
		free(z);
		rc = imp_open(p, NULL, &r, err, sizeof(err));
		if (rc == 0) {
			imp_row row;

			assert_true(imp_next(r, &row) < 0);
			snprintf(err, sizeof(err), "%s", imp_error(r));
			imp_close(r);
		}
		print_message("forged sizes refused at %s: %s\n", rc ? "open" : "read", err);
		if (strcmp(err, "The XLSX file is damaged") != 0 &&
		    strcmp(err, "The XLSX file expands too much (possible ZIP bomb)") != 0)
			fail_msg("forged sizes: %s", err);
	}
}

static void test_xlsx_damaged(void **state)
{
	lxw_workbook *wb;
	lxw_worksheet *ws;
	unsigned char *z;
	const char *p;
	FILE *f;
	long n;
	int i;

	(void)state;
	p = tpath("good.xlsx");
	wb = workbook_new(p);
	ws = workbook_add_worksheet(wb, NULL);
	for (i = 0; i < 2000; i++) {
		worksheet_write_string(ws, (lxw_row_t)i, 0, "some text to compress", NULL);
		worksheet_write_number(ws, (lxw_row_t)i, 1, 9876543210.0 + i, NULL);
	}
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
	f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	z = malloc((size_t)n);
	assert_non_null(z);
	assert_int_equal(fread(z, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	/* Truncated: no end of central directory (and no descriptor left
	 * open behind). */
	i = count_fds();
	open_fails(write_file("trunc.xlsx", z, (size_t)n / 2), NULL, "The XLSX file is damaged");
	open_fails(write_file("trunc2.xlsx", z, 30), NULL, "The XLSX file is damaged");
	assert_int_equal(count_fds(), i);

	/* Bytes flipped inside the archive: refused at open or while reading. */
	for (i = 0; i < 64; i++)
		z[n / 3 + i] ^= 0x5A;
	{
		imp_reader *r = NULL;
		char err[160] = "";

		p = write_file("flipped.xlsx", z, (size_t)n);
		if (imp_open(p, NULL, &r, err, sizeof(err)) == 0) {
			imp_row row;
			int rc, guard = 0;

			while ((rc = imp_next(r, &row)) == 1)
				assert_true(++guard < 100000);
			assert_true(rc < 0);
			snprintf(err, sizeof(err), "%s", imp_error(r));
			imp_close(r);
		}
		assert_string_equal(err, "The XLSX file is damaged");
	}
	free(z);
}

static void test_xlsx_limits(void **state)
{
	sb b = {0};
	imp_reader *r;
	int i;

	(void)state;
	/* 20,000 columns */
	sb_adds(&b, XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"1\">");
	for (i = 0; i < 20000; i++)
		sb_addf(&b, "<c><v>%d</v></c>", i);
	sb_adds(&b, "</row></sheetData></worksheet>");
	r = open_ok(make_xlsx("cols.xlsx", b.p, NULL), NULL);
	expect_failure(r, "Too many columns (limit 256)");
	imp_close(r);
	free(b.p);

	/* A cell past the limit, in pieces (entities split the text). */
	memset(&b, 0, sizeof(b));
	sb_adds(&b, XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>"
			     "<row r=\"1\"><c t=\"inlineStr\"><is><t>h</t></is></c></row>"
			     "<row r=\"2\"><c t=\"inlineStr\"><is><t>");
	for (i = 0; i < 6000; i++)
		sb_adds(&b, "ab&amp;");
	sb_adds(&b, "</t></is></c></row></sheetData></worksheet>");
	r = open_ok(make_xlsx("bigcell.xlsx", b.p, NULL), NULL);
	expect_row(r, 1, 1, "h");
	expect_failure(r, "Cell too large in row 2 (limit 16384 bytes)");
	imp_close(r);
	free(b.p);

	/* A 5 MB attribute: expat would have to buffer the whole tag. */
	{
		uint32_t seed = 1;

		memset(&b, 0, sizeof(b));
		sb_adds(&b, XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>"
				     "<row r=\"1\"><c><v>1</v></c></row><row r=\"2\" x=\"");
		for (i = 0; i < 5 * 1000 * 1000; i++) {
			char ch;

			seed = seed * 1103515245u + 12345u;
			ch = (char)('a' + (seed >> 18) % 26);
			sb_add(&b, &ch, 1);
		}
		sb_adds(&b, "\"/></sheetData></worksheet>");
		r = open_ok(make_xlsx("bigattr.xlsx", b.p, NULL), NULL);
		expect_row(r, 1, 1, "1");
		expect_failure(r, "The XLSX file is damaged");
		imp_close(r);
		free(b.p);
	}

	/* More parts than any workbook has. */
	{
		const char *p = tpath("parts.zip");
		zip_t *za;
		char name[32];
		int err = 0;

		za = zip_open(p, ZIP_CREATE | ZIP_TRUNCATE, &err);
		assert_non_null(za);
		for (i = 0; i < 10001; i++) {
			zip_source_t *src = zip_source_buffer(za, "x", 1, 0);

			snprintf(name, sizeof(name), "p%d", i);
			assert_true(zip_file_add(za, name, src, 0) >= 0);
			zip_set_file_compression(za, (zip_uint64_t)i, ZIP_CM_STORE, 0);
		}
		assert_int_equal(zip_close(za), 0);
		open_fails(p, NULL, "The XLSX file has too many parts (limit 10000)");
	}

	/* Max rows. */
	{
		imp_limits lim;

		imp_limits_default(&lim);
		lim.max_rows = 1;
		r = open_ok(make_xlsx("rows.xlsx",
				      SHEET("<row r=\"1\"><c><v>1</v></c></row>"
					    "<row r=\"2\"><c><v>2</v></c></row>"
					    "<row r=\"1048577\"><c><v>3</v></c></row>"),
				      NULL),
			    &lim);
		expect_row(r, 1, 1, "1");
		expect_row(r, 2, 1, "2");
		expect_failure(r, "Too many rows (limit 1)");
		imp_close(r);
	}
}

/* Text split over many callbacks and chunk boundaries: rows of 5 cells of
 * about 12,000 bytes of random text with entities and multi-byte letters,
 * so cells straddle the 64 KiB chunks (random so the ZIP ratio stays
 * realistic). */
static void test_xlsx_split_text(void **state)
{
	static const char *const pieces[][2] = {
		{"&amp;", "&"}, {"&lt;", "<"}, {"\xE0\xA4\x85", "\xE0\xA4\x85"},
		{"&#x928;", "\xE0\xA4\xA8"}, {" ", " "},
	};
	sb b = {0}, want[100];
	imp_reader *r;
	imp_row row;
	uint32_t seed = 12345;
	int i, k;

	(void)state;
	memset(want, 0, sizeof(want));
	sb_adds(&b, XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>");
	for (k = 0; k < 20; k++) {
		sb_addf(&b, "<row r=\"%d\">", k + 1);
		for (i = 0; i < 5; i++) {
			sb *w = &want[k * 5 + i];

			sb_adds(&b, "<c t=\"inlineStr\"><is><t xml:space=\"preserve\">");
			while (w->len < 12000) {
				seed = seed * 1103515245u + 12345u;
				if ((seed >> 16) % 4 == 0) {
					size_t pi = (seed >> 20) % 5;

					sb_adds(&b, pieces[pi][0]);
					sb_adds(w, pieces[pi][1]);
				} else {
					char ch = (char)('a' + (seed >> 18) % 26);

					sb_add(&b, &ch, 1);
					sb_add(w, &ch, 1);
				}
			}
			sb_adds(&b, "</t></is></c>");
		}
		sb_adds(&b, "</row>");
	}
	sb_adds(&b, "</sheetData></worksheet>");
	r = open_ok(make_xlsx("split.xlsx", b.p, NULL), NULL);
	for (k = 0; k < 20; k++) {
		assert_int_equal(imp_next(r, &row), 1);
		assert_int_equal(row.number, k + 1);
		assert_int_equal(row.ncells, 5);
		for (i = 0; i < 5; i++) {
			sb *w = &want[k * 5 + i];

			assert_int_equal(row.cells[i].len, w->len);
			assert_memory_equal(row.cells[i].p, w->p, w->len);
		}
	}
	assert_int_equal(imp_next(r, &row), 0);
	imp_close(r);
	free(b.p);
	for (i = 0; i < 100; i++)
		free(want[i].p);
}

/* ---- ZIP archives by hand: the checks made before libzip opens one ---- */

/* libzip's openings, counted by the linker's --wrap (Makefile): the ZIP
 * checks must refuse an archive before libzip builds its directory. */
static int zip_opens;
zip_t *__real_zip_open(const char *path, int flags, int *errorp);
zip_t *__real_zip_fdopen(int fd, int flags, int *errorp);
zip_t *__wrap_zip_open(const char *path, int flags, int *errorp);
zip_t *__wrap_zip_fdopen(int fd, int flags, int *errorp);

zip_t *__wrap_zip_open(const char *path, int flags, int *errorp)
{
	if (!(flags & ZIP_CREATE))
		zip_opens++;
	return __real_zip_open(path, flags, errorp);
}

zip_t *__wrap_zip_fdopen(int fd, int flags, int *errorp)
{
	zip_opens++;
	return __real_zip_fdopen(fd, flags, errorp);
}

static uint32_t crc32_of(const char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= (unsigned char)p[i];
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
	}
	return ~c;
}

static void put16(sb *b, unsigned v)
{
	char c[2] = {(char)(v & 0xFF), (char)(v >> 8 & 0xFF)};

	sb_add(b, c, 2);
}

static void put32(sb *b, uint32_t v)
{
	put16(b, v & 0xFFFF);
	put16(b, v >> 16);
}

static void put64(sb *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}

/* An archive of stored entries: local entries, then the directory. */
typedef struct zw {
	sb body, cd;
	uint64_t n;
} zw;

static void zw_add(zw *z, const char *name, const char *data)
{
	size_t nl = strlen(name), len = strlen(data);
	uint32_t crc = crc32_of(data, len), off = (uint32_t)z->body.len;

	put32(&z->body, 0x04034b50);
	put16(&z->body, 20);  /* version needed */
	put16(&z->body, 0);   /* flags */
	put16(&z->body, 0);   /* stored */
	put16(&z->body, 0);   /* time */
	put16(&z->body, 0x21); /* date: 1980-01-01 */
	put32(&z->body, crc);
	put32(&z->body, (uint32_t)len);
	put32(&z->body, (uint32_t)len);
	put16(&z->body, (unsigned)nl);
	put16(&z->body, 0);
	sb_add(&z->body, name, nl);
	sb_add(&z->body, data, len);

	put32(&z->cd, 0x02014b50);
	put16(&z->cd, 20); /* made by */
	put16(&z->cd, 20); /* needed */
	put16(&z->cd, 0);
	put16(&z->cd, 0);
	put16(&z->cd, 0);
	put16(&z->cd, 0x21);
	put32(&z->cd, crc);
	put32(&z->cd, (uint32_t)len);
	put32(&z->cd, (uint32_t)len);
	put16(&z->cd, (unsigned)nl);
	put16(&z->cd, 0); /* extra */
	put16(&z->cd, 0); /* comment */
	put16(&z->cd, 0); /* disk */
	put16(&z->cd, 0); /* internal attributes */
	put32(&z->cd, 0); /* external attributes */
	put32(&z->cd, off);
	sb_add(&z->cd, name, nl);
	z->n++;
}

/* Writes the archive with end records announcing `entries` entries
 * (UINT64_MAX: as many as there are; the classic record keeps the low 16
 * bits, as InfoZIP does past 65,535), with ZIP64 end records when zip64. */
static const char *zw_write(const zw *z, const char *name, int zip64, uint64_t entries)
{
	sb out = {0};
	const char *p;

	if (entries == UINT64_MAX)
		entries = z->n;
	sb_add(&out, z->body.p, z->body.len);
	sb_add(&out, z->cd.p, z->cd.len);
	if (zip64) {
		uint64_t rec = out.len;

		put32(&out, 0x06064b50);
		put64(&out, 44); /* size of the rest of the record */
		put16(&out, 45);
		put16(&out, 45);
		put32(&out, 0);
		put32(&out, 0);
		put64(&out, entries);
		put64(&out, entries);
		put64(&out, z->cd.len);
		put64(&out, z->body.len);
		put32(&out, 0x07064b50);
		put32(&out, 0);
		put64(&out, rec);
		put32(&out, 1);
	}
	put32(&out, 0x06054b50);
	put32(&out, 0); /* disks */
	put16(&out, zip64 ? 0xFFFF : (unsigned)(entries & 0xFFFF));
	put16(&out, zip64 ? 0xFFFF : (unsigned)(entries & 0xFFFF));
	put32(&out, zip64 ? 0xFFFFFFFFu : (uint32_t)z->cd.len);
	put32(&out, zip64 ? 0xFFFFFFFFu : (uint32_t)z->body.len);
	put16(&out, 0); /* comment */
	p = write_file(name, out.p, out.len);
	free(out.p);
	return p;
}

static void zw_workbook(zw *z)
{
	zw_add(z, "[Content_Types].xml", "<Types/>");
	zw_add(z, "xl/workbook.xml", WB_ONE);
	zw_add(z, "xl/_rels/workbook.xml.rels", RELS_NO_SST);
	zw_add(z, "xl/worksheets/sheet1.xml",
	       SHEET("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>ok</t></is></c></row>"));
}

static void zw_free(zw *z)
{
	free(z->body.p);
	free(z->cd.p);
}

static void expect_refused(const char *p, const imp_limits *lim, const char *msg)
{
	zip_opens = 0;
	assert_int_equal(imp_zip_is_workbook(p, lim), -1);
	open_fails(p, lim, msg);
	assert_int_equal(zip_opens, 0);
}

static void expect_workbook(const char *p, const imp_limits *lim)
{
	imp_reader *r;

	assert_int_equal(imp_zip_is_workbook(p, lim), 1);
	r = open_ok(p, lim);
	expect_row(r, 1, 1, "ok");
	expect_end(r);
	imp_close(r);
}

/* A workbook of 2,004 entries against a limit of 1,000 (the check is the
 * same at the default 10,000): refused before libzip opens it, with the
 * classic end record, with ZIP64 end records, and when the count in the
 * end record is cut to 16 bits (libzip then reads on while directory
 * bytes are left). */
static void test_zip_entry_limit(void **state)
{
	zw z = {0};
	imp_limits lim;
	const char *p;
	char name[32];
	int i;

	(void)state;
	imp_limits_default(&lim);
	assert_int_equal(lim.max_shared_mem, 8 * 1024 * 1024);
	assert_null(lim.tmp_dir);
	assert_int_equal(lim.max_zip_entries, 10000);
	lim.max_zip_entries = 1000;
	zw_workbook(&z);
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "xl/media/f%d.bin", i);
		zw_add(&z, name, "x");
	}
	p = zw_write(&z, "many.xlsx", 0, UINT64_MAX);
	expect_refused(p, &lim, "The XLSX file has too many parts (limit 1000)");
	zip_opens = 0;
	expect_workbook(p, NULL);
	assert_int_equal(zip_opens, 2);

	p = zw_write(&z, "many64.xlsx", 1, UINT64_MAX);
	expect_refused(p, &lim, "The XLSX file has too many parts (limit 1000)");
	expect_workbook(p, NULL);

	p = zw_write(&z, "many-cut.xlsx", 0, 4);
	expect_refused(p, &lim, "The XLSX file has too many parts (limit 1000)");

	/* A directory over its bound, whatever the count. */
	imp_limits_default(&lim);
	lim.max_zip_dir_bytes = 4096;
	p = zw_write(&z, "many.xlsx", 0, UINT64_MAX);
	expect_refused(p, &lim, "The XLSX file's directory is too large (limit 4096 bytes)");
	zw_free(&z);
}

/* End records that announce more entries than the archive holds: refused
 * by what they announce, before libzip allocates a directory for them. */
static void test_zip_forged_count(void **state)
{
	zw z = {0};
	const char *p;

	(void)state;
	zw_workbook(&z);
	expect_workbook(zw_write(&z, "small.xlsx", 0, UINT64_MAX), NULL);
	expect_workbook(zw_write(&z, "small64.xlsx", 1, UINT64_MAX), NULL);

	p = zw_write(&z, "forged64.xlsx", 1, 1000000);
	expect_refused(p, NULL, "The XLSX file has too many parts (limit 10000)");
	p = zw_write(&z, "forged.xlsx", 0, 60000);
	expect_refused(p, NULL, "The XLSX file has too many parts (limit 10000)");

	/* Garbage after the archive hides its end record: damaged. */
	{
		sb b = {0};
		FILE *f = fopen(tpath("small.xlsx"), "rb");
		char chunk[4096];
		size_t k;

		assert_non_null(f);
		while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
			sb_add(&b, chunk, k);
		fclose(f);
		memset(chunk, 'z', sizeof(chunk));
		for (k = 0; k < 20; k++)
			sb_add(&b, chunk, sizeof(chunk)); /* 80 KiB: past libzip's search */
		p = write_file("buried.xlsx", b.p, b.len);
		free(b.p);
		expect_refused(p, NULL, "The XLSX file is damaged");
	}
	zw_free(&z);
}

/* ---- XLSX made by libxlsxwriter ---- */

static void check_lxw_book(const char *p)
{
	imp_reader *r = open_ok(p, NULL);
	imp_row row;
	int i, rc;

	expect_row(r, 1, 4, "First Name", "Last Name", "Email Id", "Mobile Number");
	expect_row(r, 2, 4, "\xE0\xA4\x85\xE0\xA4\xAE\xE0\xA4\xBF\xE0\xA4\xA4", "Shah",
		   "amit@example.gov.in", "9876543210");
	expect_row(r, 3, 4, "=1+1", "TRUE", "", "9123456789");
	for (i = 0; i < 3000; i++) {
		char want[32];
		int k;

		assert_int_equal(imp_next(r, &row), 1);
		assert_int_equal(row.number, i + 4);
		assert_int_equal(row.ncells, 4);
		k = snprintf(want, sizeof(want), "user%d", i);
		assert_int_equal(row.cells[0].len, k);
		assert_memory_equal(row.cells[0].p, want, (size_t)k);
		k = snprintf(want, sizeof(want), "%lld", 9000000000LL + i);
		assert_int_equal(row.cells[3].len, k);
		assert_memory_equal(row.cells[3].p, want, (size_t)k);
	}
	rc = imp_next(r, &row);
	assert_int_equal(rc, 0);
	imp_close(r);
}

static void write_lxw_book(const char *p, int constant_memory)
{
	lxw_workbook_options opt = {.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE};
	lxw_workbook *wb = workbook_new_opt(p, &opt);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "Users");
	int i;

	assert_non_null(ws);
	worksheet_write_string(ws, 0, 0, "First Name", NULL);
	worksheet_write_string(ws, 0, 1, "Last Name", NULL);
	worksheet_write_string(ws, 0, 2, "Email Id", NULL);
	worksheet_write_string(ws, 0, 3, "Mobile Number", NULL);
	worksheet_write_string(ws, 1, 0, "\xE0\xA4\x85\xE0\xA4\xAE\xE0\xA4\xBF\xE0\xA4\xA4", NULL);
	worksheet_write_string(ws, 1, 1, "Shah", NULL);
	worksheet_write_string(ws, 1, 2, "amit@example.gov.in", NULL);
	worksheet_write_number(ws, 1, 3, 9876543210.0, NULL);
	worksheet_write_string(ws, 2, 0, "=1+1", NULL);
	worksheet_write_boolean(ws, 2, 1, 1, NULL);
	worksheet_write_number(ws, 2, 3, 9123456789.0, NULL);
	for (i = 0; i < 3000; i++) {
		char name[32];

		snprintf(name, sizeof(name), "user%d", i);
		worksheet_write_string(ws, (lxw_row_t)(i + 3), 0, name, NULL);
		worksheet_write_string(ws, (lxw_row_t)(i + 3), 1, "x", NULL);
		worksheet_write_string(ws, (lxw_row_t)(i + 3), 2, "y", NULL);
		worksheet_write_number(ws, (lxw_row_t)(i + 3), 3, 9000000000.0 + i, NULL);
	}
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
}

static void test_xlsx_libxlsxwriter(void **state)
{
	(void)state;
	write_lxw_book(tpath("lxw-shared.xlsx"), 0);
	check_lxw_book(tpath("lxw-shared.xlsx"));
	write_lxw_book(tpath("lxw-inline.xlsx"), 1);
	check_lxw_book(tpath("lxw-inline.xlsx"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_limits_default),
		cmocka_unit_test(test_csv_bom_crlf),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_semicolon),
		cmocka_unit_test(test_csv_empty_rows),
		cmocka_unit_test(test_csv_unquoted_lines),
		cmocka_unit_test(test_csv_invalid_utf8),
		cmocka_unit_test(test_csv_huge_line),
		cmocka_unit_test(test_csv_too_many_columns),
		cmocka_unit_test(test_csv_max_rows),
		cmocka_unit_test(test_csv_streaming),
		cmocka_unit_test(test_xlsx_inline_numbers),
		cmocka_unit_test(test_xlsx_shared_strings),
		cmocka_unit_test(test_xlsx_shared_strings_spill),
		cmocka_unit_test(test_xlsx_sparse),
		cmocka_unit_test(test_xlsx_first_sheet_by_rels),
		cmocka_unit_test(test_xlsx_doctype),
		cmocka_unit_test(test_xlsx_zip_bomb),
		cmocka_unit_test(test_xlsx_damaged),
		cmocka_unit_test(test_xlsx_limits),
		cmocka_unit_test(test_xlsx_split_text),
		cmocka_unit_test(test_xlsx_libxlsxwriter),
		cmocka_unit_test(test_zip_entry_limit),
		cmocka_unit_test(test_zip_forged_count),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
