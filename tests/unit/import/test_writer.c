/* Tests of src/import/writer.c: result files and templates written, then
 * read back with the readers of src/import/. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#include "import/reader.h"
#include "util/err.h"

static char tmpdir[64];
static char pathbuf[256];

static const char *tpath(const char *name)
{
	snprintf(pathbuf, sizeof(pathbuf), "%s/%s", tmpdir, name);
	return pathbuf;
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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pv-impw-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static imp_reader *open_ok(const char *path)
{
	imp_reader *r = NULL;
	char err[160] = "";
	int rc = imp_open(path, NULL, &r, err, sizeof(err));

	if (rc)
		fail_msg("imp_open(%s) failed: %d %s", path, rc, err);
	return r;
}

static void expect_cells(imp_reader *r, int64_t number, const char *const *want, size_t n)
{
	imp_row row;
	size_t i;
	int rc = imp_next(r, &row);

	if (rc != 1)
		fail_msg("expected row %lld, got %d (%s)", (long long)number, rc, imp_error(r));
	assert_int_equal(row.number, number);
	/* Trailing empty cells may be omitted by a reader. */
	assert_true(row.ncells <= n);
	for (i = 0; i < n; i++) {
		const char *got = i < row.ncells ? row.cells[i].p : "";
		size_t len = i < row.ncells ? row.cells[i].len : 0;

		if (len != strlen(want[i]) || memcmp(got, want[i], len) != 0)
			fail_msg("row %lld cell %zu: '%.*s', expected '%s'", (long long)number, i,
				 (int)len, got, want[i]);
	}
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	p = malloc((size_t)len + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	p[len] = '\0';
	fclose(f);
	*n = (size_t)len;
	return p;
}

/* The text of one entry of a ZIP archive (NUL-terminated; free it). */
static char *zip_entry(const char *path, const char *name)
{
	zip_t *za = zip_open(path, ZIP_RDONLY, NULL);
	zip_stat_t st;
	zip_file_t *zf;
	char *p;

	assert_non_null(za);
	assert_int_equal(zip_stat(za, name, 0, &st), 0);
	p = malloc(st.size + 1);
	assert_non_null(p);
	zf = zip_fopen(za, name, 0);
	assert_non_null(zf);
	assert_int_equal(zip_fread(zf, p, st.size), (zip_int64_t)st.size);
	p[st.size] = '\0';
	zip_fclose(zf);
	zip_discard(za);
	return p;
}

static const char *const header[] = {"First Name", "Last Name", "Email Id", "Mobile Number",
				     "Status", "Error Details"};
static const char *const in1[] = {"Asha", "Verma, Jr.", "asha@example.gov.in", "09876543210"};
static const char *const in2[] = {"=1+1", "say \"hi\"", "two\r\nlines", "+91 98765 43210"};
static const char *const in3[] = {"-5", "@SUM(A1)", "\tx", " padded "};
static const char *const in4[] = {"\xE0\xA4\x85\xE0\xA4\xAE\xE0\xA4\xBF\xE0\xA4\xA4", "", "a'b", "9876543210"};

static const char *const out1[] = {"Asha", "Verma, Jr.", "asha@example.gov.in", "09876543210",
				   "SUCCESS", ""};
static const char *const out2[] = {"'=1+1", "say \"hi\"", "two\r\nlines", "'+91 98765 43210",
				   "FAILED", "[Invalid First Name, Invalid Mobile Number]"};
static const char *const out3[] = {"'-5", "'@SUM(A1)", "'\tx", " padded ", "FAILED",
				   "-x"};
static const char *const out3_err = "'-x";
static const char *const out4[] = {"\xE0\xA4\x85\xE0\xA4\xAE\xE0\xA4\xBF\xE0\xA4\xA4", "", "a'b",
				   "9876543210", "SUCCESS", ""};

static void write_result(const char *path, imp_format fmt)
{
	imp_cell cells[6];
	imp_writer *w = NULL;
	size_t i;

	assert_int_equal(imp_writer_open(path, fmt, &w), PV_OK);
	for (i = 0; i < 4; i++) {
		cells[i].p = header[i];
		cells[i].len = strlen(header[i]);
	}
	assert_int_equal(imp_writer_row(w, cells, 4, "Status", "Error Details"), PV_OK);
#define ROW(in, st, er)                                                \
	do {                                                           \
		for (i = 0; i < 4; i++) {                              \
			cells[i].p = in[i];                            \
			cells[i].len = strlen(in[i]);                  \
		}                                                      \
		assert_int_equal(imp_writer_row(w, cells, 4, st, er), PV_OK); \
	} while (0)
	ROW(in1, "SUCCESS", "");
	ROW(in2, "FAILED", "[Invalid First Name, Invalid Mobile Number]");
	ROW(in3, "FAILED", "-x");
	ROW(in4, "SUCCESS", NULL);
#undef ROW
	/* A row without status: only the cells. */
	cells[0].p = "only";
	cells[0].len = 4;
	assert_int_equal(imp_writer_row(w, cells, 1, NULL, NULL), PV_OK);
	assert_int_equal(imp_writer_close(w), PV_OK);
}

static void read_result(const char *path, imp_format fmt)
{
	imp_reader *r = open_ok(path);
	const char *o3[6];
	const char *only[] = {"only"};
	imp_row row;

	assert_int_equal(imp_get_format(r), fmt);
	expect_cells(r, 1, header, 6);
	expect_cells(r, 2, out1, 6);
	expect_cells(r, 3, out2, 6);
	memcpy(o3, out3, sizeof(o3));
	o3[5] = out3_err;
	expect_cells(r, 4, o3, 6);
	expect_cells(r, 5, out4, 6);
	expect_cells(r, 6, only, 1);
	assert_int_equal(imp_next(r, &row), 0);
	imp_close(r);
}

static void test_csv_result(void **state)
{
	const char *p;
	char *data;
	size_t n;

	(void)state;
	p = tpath("result.csv");
	write_result(p, IMP_CSV);
	data = slurp(p, &n);
	/* BOM, CRLF, quoting */
	{
		static const char head[] = "\xEF\xBB\xBF" "First Name,Last Name,Email Id,"
					   "Mobile Number,Status,Error Details\r\n";

		assert_true(n > sizeof(head));
		assert_memory_equal(data, head, sizeof(head) - 1);
	}
	assert_non_null(strstr(data, "\r\nAsha,\"Verma, Jr.\",asha@example.gov.in,09876543210,"
				     "SUCCESS,\r\n"));
	assert_non_null(strstr(data, "\r\n'=1+1,\"say \"\"hi\"\"\",\"two\r\nlines\","
				     "'+91 98765 43210,FAILED,\"[Invalid First Name, Invalid Mobile Number]\"\r\n"));
	assert_non_null(strstr(data, "\r\n'-5,'@SUM(A1),\"'\tx\",\" padded \",FAILED,'-x\r\n"));
	assert_non_null(strstr(data, "\r\nonly\r\n"));
	free(data);
	read_result(tpath("result.csv"), IMP_CSV);
}

static void test_xlsx_result(void **state)
{
	char *sheet, *styles;
	const char *p;

	(void)state;
	p = tpath("result.xlsx");
	write_result(p, IMP_XLSX);
	/* Inline strings (constant_memory), text-formatted columns and cells. */
	sheet = zip_entry(tpath("result.xlsx"), "xl/worksheets/sheet1.xml");
	assert_non_null(strstr(sheet, "t=\"inlineStr\""));
	assert_null(strstr(sheet, "<v>"));
	assert_non_null(strstr(sheet, "<col min=\"1\" max=\"16384\""));
	styles = zip_entry(tpath("result.xlsx"), "xl/styles.xml");
	assert_non_null(strstr(styles, "numFmtId=\"49\""));
	free(sheet);
	free(styles);
	read_result(tpath("result.xlsx"), IMP_XLSX);
}

/* Many rows through the constant-memory writer and back. */
static void test_xlsx_many_rows(void **state)
{
	imp_writer *w = NULL;
	imp_reader *r;
	imp_row row;
	imp_cell c[2];
	char buf[32];
	int i, rc;
	int64_t n = 0;

	(void)state;
	assert_int_equal(imp_writer_open(tpath("many.xlsx"), IMP_XLSX, &w), PV_OK);
	for (i = 0; i < 20000; i++) {
		int k = snprintf(buf, sizeof(buf), "9%09d", i);

		c[0].p = buf;
		c[0].len = (size_t)k;
		c[1].p = "x";
		c[1].len = 1;
		assert_int_equal(imp_writer_row(w, c, 2, NULL, NULL), PV_OK);
	}
	assert_int_equal(imp_writer_close(w), PV_OK);
	r = open_ok(tpath("many.xlsx"));
	while ((rc = imp_next(r, &row)) == 1) {
		int k = snprintf(buf, sizeof(buf), "9%09d", (int)n);

		assert_int_equal(row.number, n + 1);
		assert_int_equal(row.ncells, 2);
		assert_int_equal(row.cells[0].len, k);
		assert_memory_equal(row.cells[0].p, buf, (size_t)k);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 20000);
	imp_close(r);
}

static void test_writer_errors(void **state)
{
	imp_writer *w = (imp_writer *)1;

	(void)state;
	assert_int_equal(imp_writer_open(tpath("nodir/x.csv"), IMP_CSV, &w), PV_EIO);
	assert_null(w);
	assert_int_equal(imp_writer_open(tpath("x.csv"), (imp_format)7, &w), PV_EINVAL);
	assert_int_equal(imp_writer_close(NULL), PV_OK);
	assert_int_equal(imp_write_template(tpath("nodir/t.csv"), IMP_CSV), PV_EIO);
	assert_int_equal(imp_write_template(tpath("t.txt"), (imp_format)0), PV_EINVAL);
}

static void test_templates(void **state)
{
	static const char *const want[] = {"First Name", "Last Name", "Email Id", "Mobile Number"};
	imp_reader *r;
	imp_row row;
	char *data, *wb, *sheet, *rules, *styles;
	size_t n;

	(void)state;
	assert_int_equal(imp_write_template(tpath("template.csv"), IMP_CSV), PV_OK);
	data = slurp(tpath("template.csv"), &n);
	assert_string_equal(data, "\xEF\xBB\xBF" "First Name,Last Name,Email Id,Mobile Number\r\n");
	free(data);
	r = open_ok(tpath("template.csv"));
	expect_cells(r, 1, want, 4);
	assert_int_equal(imp_next(r, &row), 0);
	imp_close(r);

	assert_int_equal(imp_write_template(tpath("template.xlsx"), IMP_XLSX), PV_OK);
	r = open_ok(tpath("template.xlsx"));
	assert_int_equal(imp_get_format(r), IMP_XLSX);
	expect_cells(r, 1, want, 4);
	assert_int_equal(imp_next(r, &row), 0);
	imp_close(r);
	wb = zip_entry(tpath("template.xlsx"), "xl/workbook.xml");
	assert_non_null(strstr(wb, "name=\"Users\""));
	assert_non_null(strstr(wb, "name=\"Rules\""));
	/* Column D (the 4th) carries the text format. */
	sheet = zip_entry(tpath("template.xlsx"), "xl/worksheets/sheet1.xml");
	assert_non_null(strstr(sheet, "<col min=\"4\" max=\"4\""));
	styles = zip_entry(tpath("template.xlsx"), "xl/styles.xml");
	assert_non_null(strstr(styles, "numFmtId=\"49\""));
	rules = zip_entry(tpath("template.xlsx"), "xl/sharedStrings.xml");
	assert_non_null(strstr(rules, "10 digits starting with 6, 7, 8 or 9"));
	assert_non_null(strstr(rules, "Completely empty rows are skipped."));
	free(wb);
	free(sheet);
	free(styles);
	free(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_result),
		cmocka_unit_test(test_xlsx_result),
		cmocka_unit_test(test_xlsx_many_rows),
		cmocka_unit_test(test_writer_errors),
		cmocka_unit_test(test_templates),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
