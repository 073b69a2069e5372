/* fuzz_csv: the CSV reader (src/import/csv_reader.c) through imp_open and
 * imp_next, as the upload workers read an uploaded file: the bytes go to
 * an in-memory file opened by its path. Small limits make the limit paths
 * reachable. Promises held: a row never has more cells than the column
 * limit, no cell is larger than the cell limit or invalid UTF-8, row
 * numbers grow, and a failure has a message. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/validate.h"
#include "fuzz_support.h"
#include "util/utf8.h"
#include "import/reader.h"
#include "util/err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

/* Reads every row of the file at path; checks the reader's promises. */
static void fuzz_read(const char *path, const imp_limits *lim, int want_fmt)
{
	imp_reader *r = NULL;
	imp_row row;
	char err[160] = "";
	int64_t last = 0, rows = 0;
	int n;

	if (imp_open(path, lim, &r, err, sizeof err) != PV_OK) {
		FUZZ_CHECK(r == NULL);
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	if (want_fmt && (int)imp_get_format(r) != want_fmt) {
		imp_close(r);
		return;
	}
	while ((n = imp_next(r, &row)) == 1) {
		FUZZ_CHECK(row.number > last);
		FUZZ_CHECK(row.ncells <= lim->max_columns);
		FUZZ_CHECK(row.number <= lim->max_rows + 1);
		last = row.number;
		for (size_t i = 0; i < row.ncells; i++) {
			FUZZ_CHECK(row.cells[i].len <= lim->max_cell_bytes);
			FUZZ_CHECK(row.cells[i].len == 0 || row.cells[i].p != NULL);
			FUZZ_CHECK(utf8_valid(row.cells[i].p, row.cells[i].len));
			FUZZ_CHECK(row.cells[i].len == 0 ||
				   memchr(row.cells[i].p, 0, row.cells[i].len) == NULL);
		}
		rows++;
	}
	if (n < 0)
		FUZZ_CHECK(imp_error(r)[0] != '\0');
	/* a failure sticks */
	if (n < 0)
		FUZZ_CHECK(imp_next(r, &row) == n);
	else
		FUZZ_CHECK(imp_next(r, &row) == 0);
	imp_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	imp_limits lim;
	int fd;

	/* a ZIP signature makes it an XLSX file: fuzz_xlsx covers those */
	if (size >= 2 && data[0] == 'P' && data[1] == 'K')
		return 0;
	fd = fuzz_memfile(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	imp_limits_default(&lim);
	fuzz_read(path, &lim, IMP_CSV);
	lim.max_rows = 5;
	lim.max_cell_bytes = 8;
	lim.max_columns = 4;
	lim.max_file_bytes = 4096;
	fuzz_read(path, &lim, IMP_CSV);
	close(fd);
	return 0;
}
