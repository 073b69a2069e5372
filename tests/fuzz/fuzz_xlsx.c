/* fuzz_xlsx: the XLSX reader (src/import/xlsx_reader.c, libzip + expat),
 * whole archive bytes in, written to an in-memory file and read by its
 * path as an uploaded file is: first the upload's check that the archive
 * is a workbook (imp_zip_is_workbook), then imp_open and every row.
 * Promises held as in fuzz_csv: cells within the limits, UTF-8 without
 * NUL, row numbers growing, a failure with a message that sticks. */
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

static void fuzz_read(const char *path, const imp_limits *lim)
{
	imp_reader *r = NULL;
	imp_row row;
	char err[160] = "";
	int64_t last = 0;
	int n;

	if (imp_open(path, lim, &r, err, sizeof err) != PV_OK) {
		FUZZ_CHECK(r == NULL);
		FUZZ_CHECK(err[0] != '\0');
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
	}
	if (n < 0) {
		FUZZ_CHECK(imp_error(r)[0] != '\0');
		FUZZ_CHECK(imp_next(r, &row) == n);
	} else {
		FUZZ_CHECK(imp_next(r, &row) == 0);
	}
	imp_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	imp_limits lim;
	int fd, wb;

	/* only ZIP archives: fuzz_csv covers text */
	if (size < 4 || imp_sniff(data, size < 4096 ? size : 4096) != IMP_XLSX)
		return 0;
	fd = fuzz_memfile(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	imp_limits_default(&lim);
	wb = imp_zip_is_workbook(path, NULL); /* as the upload route calls it */
	FUZZ_CHECK(wb >= -1 && wb <= 1);
	/* small bounds: the bomb, shared-strings and cell limits are reached
	 * by small inputs */
	lim.max_uncompressed = 1 << 20;
	lim.max_shared_bytes = 64 * 1024;
	fuzz_read(path, &lim);
	lim.max_rows = 5;
	lim.max_cell_bytes = 8;
	lim.max_columns = 4;
	lim.max_ratio = 4;
	fuzz_read(path, &lim);
	close(fd);
	return 0;
}
