/* reader: one streaming row iterator over an uploaded file, with two
 * implementations (CSV on libcsv, XLSX on libzip + expat). The format is
 * decided by content: a ZIP archive is XLSX, valid UTF-8 text is CSV,
 * anything else is refused. Memory stays bounded whatever the file size:
 * a shared-strings table larger than max_shared_mem moves to two unlinked
 * temporary files in tmp_dir (their size bounded by max_shared_bytes).
 *
 * CSV (csv_reader.c): UTF-8 BOM stripped; CR, LF or CRLF line ends; RFC
 * 4180 quoting, quoted newlines included; ';' as the separator when the
 * first non-empty line has more ';' than ',' outside quotes. Row numbers
 * count records (a quoted newline does not start a new one); empty lines
 * are returned with no cells. Spaces around unquoted fields are trimmed.
 * XLSX (xlsx_reader.c): the first worksheet of xl/workbook.xml; cells
 * placed by their r= reference (missing ones returned empty); rows absent
 * from the sheet XML are not returned (row numbers show the gap); numbers
 * as the raw text of the file ("9.87654321E9"), booleans TRUE/FALSE.
 *
 * Failure messages (imp_open's err, imp_error()), the same for both
 * formats where they apply:
 *   "The file is not a CSV or XLSX file", "The file is empty",
 *   "The file is not UTF-8 text (save the CSV as UTF-8)",
 *   "File too large (limit N bytes)", "Too many rows (limit N)",
 *   "Too many columns (limit N)", "Cell too large in row N (limit N bytes)",
 *   "Invalid UTF-8 in row N" (NUL bytes included),
 *   "Invalid CSV quoting in row N",
 *   "The XLSX file is damaged", "The XLSX file has no worksheet",
 *   "The XLSX file has too many parts (limit N)",
 *   "The XLSX file's directory is too large (limit N bytes)",
 *   "The XLSX file expands too much (possible ZIP bomb)",
 *   "XML with a DTD or entities is not accepted",
 *   "Shared strings table too large (limit N bytes)",
 *   "Cannot read the file", "Cannot use a temporary file (REASON)",
 *   "Out of memory". */
#ifndef PV_IMPORT_READER_H
#define PV_IMPORT_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct imp_limits {
	int64_t max_file_bytes;    /* 100 MiB */
	int64_t max_rows;          /* 1,048,576 data rows: a row numbered
				    * above max_rows + 1 fails */
	size_t max_cell_bytes;     /* 16 KiB */
	size_t max_columns;        /* 256 */
	int64_t max_uncompressed;  /* XLSX: total inflated bytes, 1 GiB */
	int64_t max_ratio;         /* XLSX: inflated / compressed per entry
				    * (entries over 1 MiB), 200 */
	int64_t max_shared_bytes;  /* XLSX: shared strings table, 256 MiB
				    * (text plus 4 bytes a string) */
	int64_t max_shared_mem;    /* XLSX: that table in memory, 8 MiB; a
				    * larger one moves to two temporary
				    * files, read through a 1 MiB cache */
	int64_t max_zip_entries;   /* XLSX: entries of the ZIP archive, 10,000 */
	int64_t max_zip_dir_bytes; /* XLSX: size of its central directory,
				    * 4 MiB. Both are checked on the file's
				    * own end records before libzip reads
				    * the directory into memory. */
	const char *tmp_dir;       /* XLSX: folder of those files (unlinked
				    * at once); NULL: $TMPDIR, else /tmp.
				    * Borrowed until imp_open returns. */
} imp_limits;

/* The defaults above. */
void imp_limits_default(imp_limits *lim);

typedef struct imp_cell {
	const char *p; /* UTF-8, not NUL-terminated; valid until the next call */
	size_t len;
} imp_cell;

typedef struct imp_row {
	int64_t number; /* spreadsheet row number, 1-based (header = 1 if first) */
	size_t ncells;  /* trailing empty cells may be omitted */
	const imp_cell *cells;
} imp_row;

typedef struct imp_reader imp_reader;

typedef enum imp_format { IMP_CSV = 1, IMP_XLSX = 2 } imp_format;

/* Sniffs the first bytes of a file: IMP_XLSX for a ZIP signature, IMP_CSV
 * for text (no NUL or other binary control bytes, valid UTF-8; a sequence
 * cut by the end of head is allowed), 0 for anything else (binary, empty).
 * imp_open() looks at the first 4 KiB. */
int imp_sniff(const void *head, size_t n);

/* For a file that sniffs as a ZIP archive: 1 when it holds a workbook
 * (xl/workbook.xml), 0 when it is some other archive (not an XLSX file),
 * -1 when the archive cannot be read or is over lim's ZIP bounds (a
 * damaged XLSX, or one with too many parts: left to imp_open, which says
 * which). The ZIP bounds are checked before libzip opens the archive.
 * lim may be NULL for the defaults. */
int imp_zip_is_workbook(const char *path, const imp_limits *lim);

/* Opens path, deciding the format by content. On failure returns a
 * negative pv_err and writes a user-facing message into err (e.g. "The
 * file is not a CSV or XLSX file"). *out is released by imp_close(). */
int imp_open(const char *path, const imp_limits *lim, imp_reader **out,
	     char *err, size_t errlen);
/* lim may be NULL for the defaults. */
imp_format imp_get_format(const imp_reader *r);

/* Next row, empty rows included (callers skip them). Returns 1 with *row
 * filled, 0 at the end, or a negative pv_err with imp_error() telling the
 * user-facing reason (a bad file fails as a whole, the same message for
 * both formats: "Invalid UTF-8 in row 12", "Too many columns (limit 256)",
 * "Cell too large in row 3 (limit 16384 bytes)", "The XLSX file is
 * damaged", "The XLSX file expands too much (possible ZIP bomb)", "XML
 * with a DTD or entities is not accepted", ...). */
int imp_next(imp_reader *r, imp_row *row);
const char *imp_error(const imp_reader *r);
void imp_close(imp_reader *r); /* accepts NULL */

/* Result files: the uploaded columns plus Status and Error Details, in the
 * uploaded format, every cell written as text, formula-safe (a cell
 * starting with = + - @ tab or CR gets a leading '). CSV: UTF-8 with a
 * BOM (for Excel), CRLF, RFC 4180 quoting. XLSX: libxlsxwriter in
 * constant_memory mode, text-formatted columns. Details in writer.c. */
typedef struct imp_writer imp_writer;
int imp_writer_open(const char *path, imp_format fmt, imp_writer **out);
/* Writes one row: the cells, then (when status is not NULL) status and
 * errors as two more cells. */
int imp_writer_row(imp_writer *w, const imp_cell *cells, size_t n,
		   const char *status, const char *errors);
/* Finishes the file; returns PV_OK or an error; frees w either way. */
int imp_writer_close(imp_writer *w);

/* Writes an upload template at path: the header First Name, Last Name,
 * Email Id, Mobile Number. CSV: UTF-8 with a BOM, CRLF. XLSX: a "Users"
 * sheet with the header (Mobile Number column formatted as text) and a
 * "Rules" sheet with the rules of bulk-upload.md in short. PV_OK, PV_EIO
 * or PV_EINVAL. */
int imp_write_template(const char *path, imp_format fmt);

#endif
