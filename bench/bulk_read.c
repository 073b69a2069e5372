/* bulk_read: the reading part of an import, alone. Reads FILE through the
 * import reader (src/import/reader.h, default limits) and prints its rows,
 * cells, bytes and seconds. bench/bulk.sh builds it against
 * build/libpravesh.a, and against an older tree's library to compare two
 * versions of the reader on the same file (it uses only what both have).
 * Temporary files go to $TMPDIR. Usage: bulk_read FILE */
#include <stdio.h>
#include <time.h>

#include "import/reader.h"

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	imp_reader *r = NULL;
	imp_row row;
	char err[256];
	long long rows = 0, cells = 0, bytes = 0;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: bulk_read FILE\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (imp_open(argv[1], NULL, &r, err, sizeof err) != 0) {
		fprintf(stderr, "bulk_read: %s: %s\n", argv[1], err);
		return 1;
	}
	while ((rc = imp_next(r, &row)) == 1) {
		rows++;
		cells += (long long)row.ncells;
		for (size_t i = 0; i < row.ncells; i++)
			bytes += (long long)row.cells[i].len;
	}
	if (rc < 0) {
		fprintf(stderr, "bulk_read: %s: %s\n", argv[1], imp_error(r));
		imp_close(r);
		return 1;
	}
	imp_close(r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.2f %lld %lld %lld\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, rows,
	       cells, bytes);
	return 0;
}
