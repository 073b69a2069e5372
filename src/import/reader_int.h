/* Internal to src/import/: the vtable that puts the CSV and XLSX readers
 * behind the one iterator of reader.h, and shared helpers. Not for use
 * outside src/import/. */
#ifndef PV_IMPORT_READER_INT_H
#define PV_IMPORT_READER_INT_H

#include <stddef.h>

#include "import/reader.h"

/* Size of the blocks read from disk or from a ZIP entry. */
#define IMP_BLOCK (64 * 1024)
/* Size of the user-facing error messages. */
#define IMP_ERRLEN 160

struct imp_reader_ops {
	/* Same contract as imp_next(): 1 row, 0 end, negative pv_err. */
	int (*next)(void *impl, imp_row *row);
	/* The user-facing reason of the last failure (never NULL). */
	const char *(*error)(const void *impl);
	/* Releases impl (accepts NULL). */
	void (*close)(void *impl);
};

extern const struct imp_reader_ops imp_csv_ops;
extern const struct imp_reader_ops imp_xlsx_ops;

/* Opens a CSV reader on fd (taken over: closed by ops->close, or here on
 * failure). On failure writes a message into err. *impl is released by
 * imp_csv_ops.close. */
int imp_csv_open(int fd, const imp_limits *lim, void **impl, char *err,
		 size_t errlen);
/* Opens an XLSX reader on fd (taken over as above). */
int imp_xlsx_open(int fd, const imp_limits *lim, void **impl, char *err,
		  size_t errlen);

/* 1 when s[0..n) is well-formed UTF-8 without NUL (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
int imp_utf8_ok(const char *s, size_t n);

#endif
