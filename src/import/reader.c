/* reader: format sniffing, limits and the dispatch to the CSV and XLSX
 * readers through struct imp_reader_ops. */
#include "import/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import/reader_int.h"
#include "util/err.h"
#include "util/utf8.h"

/* How much of the file imp_open() looks at to decide its format. */
#define SNIFF_BYTES 4096

struct imp_reader {
	const struct imp_reader_ops *ops;
	void *impl;
	imp_format fmt;
	imp_limits lim;
	int rc;                /* sticky failure of imp_next, 0 while fine */
	char err[IMP_ERRLEN];  /* a failure detected here (row limit) */
};

void imp_limits_default(imp_limits *lim)
{
	lim->max_file_bytes = (int64_t)100 * 1024 * 1024;
	lim->max_rows = 1048576;
	lim->max_cell_bytes = 16 * 1024;
	lim->max_columns = 256;
	lim->max_uncompressed = (int64_t)1024 * 1024 * 1024;
	lim->max_ratio = 200;
	lim->max_shared_bytes = (int64_t)256 * 1024 * 1024;
	lim->max_shared_mem = (int64_t)8 * 1024 * 1024;
	lim->max_zip_entries = 10000;
	lim->max_zip_dir_bytes = (int64_t)4 * 1024 * 1024;
	lim->tmp_dir = NULL;
}

/* Well-formed UTF-8 without NUL (a NUL in a CSV cell is refused). */
int imp_utf8_ok(const char *s, size_t n)
{
	return utf8_valid(s, n) && memchr(s, '\0', n) == NULL;
}

/* Bytes that never occur in a text file: C0 controls other than tab,
 * line feed, form feed and carriage return. */
static int binary_byte(unsigned char c)
{
	return c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r';
}

/* 1 when the head looks like text (no binary control bytes), and sets
 * *utf8 to whether it is valid UTF-8 (a sequence cut by the end of the
 * head counts as valid). */
static int text_head(const unsigned char *h, size_t n, int *utf8)
{
	size_t i = 0;

	*utf8 = 1;
	for (i = 0; i < n; i++)
		if (binary_byte(h[i]))
			return 0;
	i = 0;
	while (i < n) {
		int k;

		if (h[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq_len(h + i, n - i);
		if (k < 0)
			break; /* cut by the end of the head */
		if (k == 0) {
			*utf8 = 0;
			break;
		}
		i += (size_t)k;
	}
	return 1;
}

int imp_sniff(const void *head, size_t n)
{
	const unsigned char *h = head;
	int utf8;

	if (!h || n == 0)
		return 0;
	if (n >= 4 && h[0] == 'P' && h[1] == 'K' &&
	    ((h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6)))
		return IMP_XLSX;
	if (text_head(h, n, &utf8) && utf8)
		return IMP_CSV;
	return 0;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

int imp_open(const char *path, const imp_limits *lim, imp_reader **out,
	     char *err, size_t errlen)
{
	unsigned char head[SNIFF_BYTES];
	imp_reader *r = NULL;
	struct stat st;
	ssize_t got;
	int fd = -1, rc, fmt, utf8;

	if (err && errlen)
		err[0] = '\0';
	if (!out || !path) {
		set_err(err, errlen, "Cannot read the file");
		return PV_EINVAL;
	}
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		set_err(err, errlen, "Out of memory");
		return PV_ENOMEM;
	}
	if (lim)
		r->lim = *lim;
	else
		imp_limits_default(&r->lim);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "Cannot read the file");
		rc = PV_EIO;
		goto out;
	}
	if ((int64_t)st.st_size > r->lim.max_file_bytes) {
		if (err && errlen)
			snprintf(err, errlen, "File too large (limit %" PRId64 " bytes)",
				 r->lim.max_file_bytes);
		rc = PV_ELIMIT;
		goto out;
	}
	do
		got = pread(fd, head, sizeof(head), 0);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		set_err(err, errlen, "Cannot read the file");
		rc = PV_EIO;
		goto out;
	}
	if (got == 0) {
		set_err(err, errlen, "The file is empty");
		rc = PV_EFORMAT;
		goto out;
	}
	fmt = imp_sniff(head, (size_t)got);
	if (fmt == IMP_CSV) {
		r->ops = &imp_csv_ops;
		r->fmt = IMP_CSV;
		rc = imp_csv_open(fd, &r->lim, &r->impl, err, errlen);
		fd = -1;
	} else if (fmt == IMP_XLSX) {
		r->ops = &imp_xlsx_ops;
		r->fmt = IMP_XLSX;
		rc = imp_xlsx_open(fd, &r->lim, &r->impl, err, errlen);
		fd = -1;
	} else {
		if (text_head(head, (size_t)got, &utf8) && !utf8)
			set_err(err, errlen,
				"The file is not UTF-8 text (save the CSV as UTF-8)");
		else
			set_err(err, errlen, "The file is not a CSV or XLSX file");
		rc = PV_EFORMAT;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		r->impl = NULL; /* the format reader released it on failure */
		imp_close(r);
		return rc;
	}
	*out = r;
	return PV_OK;
}

imp_format imp_get_format(const imp_reader *r)
{
	return r ? r->fmt : (imp_format)0;
}

int imp_next(imp_reader *r, imp_row *row)
{
	int rc;

	if (!r || !row)
		return PV_EINVAL;
	if (r->rc)
		return r->rc;
	rc = r->ops->next(r->impl, row);
	if (rc < 0) {
		r->rc = rc;
		return rc;
	}
	/* The header row plus max_rows data rows. */
	if (rc == 1 && row->number > r->lim.max_rows + 1) {
		snprintf(r->err, sizeof(r->err), "Too many rows (limit %" PRId64 ")",
			 r->lim.max_rows);
		r->rc = PV_ELIMIT;
		return r->rc;
	}
	return rc;
}

const char *imp_error(const imp_reader *r)
{
	if (!r)
		return "";
	if (r->err[0])
		return r->err;
	if (!r->rc)
		return "";
	return r->ops->error(r->impl);
}

void imp_close(imp_reader *r)
{
	if (!r)
		return;
	if (r->ops && r->impl)
		r->ops->close(r->impl);
	free(r);
}
