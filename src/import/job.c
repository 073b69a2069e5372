/* job: the bulk-upload engine (see job.h for the shape, docs/bulk-upload.md
 * for the behaviour).
 *
 * Memory: the reader is streaming; the only structure that grows with the
 * file is the duplicate set: every valid mobile (exact, 8 bytes with its
 * row) and e-mail (a 64-bit hash of the lower-cased address and its row,
 * 12 bytes), about 20 MB for a million rows, in sorted arrays. Two
 * different addresses with the same 64-bit hash would be taken for
 * duplicates: for a million addresses the chance that any pair collides
 * is about 3e-8, a risk we accept rather than keep every address in
 * memory. */
#include "import/job.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/validate.h"
#include "notify/notify.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#define ROW_BITS 24
#define ROW_MASK ((UINT64_C(1) << ROW_BITS) - 1)
#define MOBILE_BASE INT64_C(6000000000)

enum { COL_FIRST, COL_LAST, COL_EMAIL, COL_MOBILE, NREQ };

static const char *const req_names[NREQ] = {"First Name", "Last Name",
					     "Email Id", "Mobile Number"};

const char *const job_messages[] = {
	"First Name is missing",
	"Invalid First Name",
	"Last Name is missing",
	"Invalid Last Name",
	"Email Id is missing",
	"Invalid Email Id",
	"Duplicate Email Id in file (row N)",
	"Email id already registered",
	"Mobile Number is missing",
	"Invalid Mobile Number",
	"Duplicate Mobile Number in file (row N)",
	"Mobile number is already registered",
	NULL,
};

static _Atomic uint64_t job_rows_total;

uint64_t job_rows_processed(void)
{
	return atomic_load(&job_rows_total);
}

/* ---- the duplicate set ----------------------------------------------------
 * Two arrays filled by the scan, then sorted: mobiles as 64-bit words
 * (number - 6000000000) << 24 | row, e-mails as (64-bit hash, row) pairs.
 * Sorted, equal keys are in row order, so the first entry of a key is its
 * first row. Arrays grow by realloc (large blocks are remapped, not
 * copied) and the untouched tail of their capacity is never resident.
 * Once sorted, they are reduced to what pass 2 needs: the rows that repeat
 * an earlier row's key, with that first row, in row order (few in a clean
 * file), read in step with pass 2's rows instead of a bisection per row
 * over arrays larger than the caches; the arrays are then freed. */

typedef struct ekey {
	uint64_t h;
	uint32_t row;
} __attribute__((packed)) ekey;

/* A row whose key an earlier row holds. */
typedef struct kdup {
	uint32_t row, first;
} kdup;

typedef struct kset {
	uint64_t *mob; /* mobile words */
	ekey *em;      /* e-mail pairs */
	size_t nmob, capmob, nem, capem;
	kdup *dmob, *dem; /* repeated mobiles, e-mails, in row order */
	size_t ndmob, ndem, pmob, pem; /* lengths; pass 2's positions */
} kset;

static void kset_free(kset *ks)
{
	free(ks->mob);
	free(ks->em);
	free(ks->dmob);
	free(ks->dem);
	memset(ks, 0, sizeof *ks);
}

static int kset_grow(void **p, size_t *cap, size_t esz)
{
	size_t ncap = *cap ? *cap + *cap / 2 : 65536;
	void *np;

	if (ncap > ((size_t)1 << 32))
		return PV_ELIMIT;
	np = realloc(*p, ncap * esz);
	if (!np)
		return PV_ENOMEM;
	*p = np;
	*cap = ncap;
	return PV_OK;
}

static int kset_add_mobile(kset *ks, uint64_t key, int64_t row)
{
	int rc;

	if (row < 1 || (uint64_t)row > ROW_MASK || key >> (64 - ROW_BITS))
		return PV_ELIMIT;
	if (ks->nmob == ks->capmob &&
	    (rc = kset_grow((void **)&ks->mob, &ks->capmob, sizeof *ks->mob)) != PV_OK)
		return rc;
	ks->mob[ks->nmob++] = key << ROW_BITS | (uint64_t)row;
	return PV_OK;
}

static int kset_add_email(kset *ks, uint64_t h, int64_t row)
{
	int rc;

	if (row < 1 || row > (int64_t)UINT32_MAX)
		return PV_ELIMIT;
	if (ks->nem == ks->capem &&
	    (rc = kset_grow((void **)&ks->em, &ks->capem, sizeof *ks->em)) != PV_OK)
		return rc;
	ks->em[ks->nem].h = h;
	ks->em[ks->nem].row = (uint32_t)row;
	ks->nem++;
	return PV_OK;
}

/* In-place heap sorts: glibc's qsort() would allocate a merge buffer as
 * large as the array (12 MB more for a million e-mails). */
static int ekey_less(const ekey *a, const ekey *b)
{
	uint64_t ah = a->h, bh = b->h;

	return ah < bh || (ah == bh && a->row < b->row);
}

static void sift_u64(uint64_t *a, size_t root, size_t n)
{
	for (size_t c; (c = 2 * root + 1) < n; root = c) {
		if (c + 1 < n && a[c] < a[c + 1])
			c++;
		if (!(a[root] < a[c]))
			return;
		uint64_t t = a[root];
		a[root] = a[c];
		a[c] = t;
	}
}

static void sift_ekey(ekey *a, size_t root, size_t n)
{
	for (size_t c; (c = 2 * root + 1) < n; root = c) {
		if (c + 1 < n && ekey_less(&a[c], &a[c + 1]))
			c++;
		if (!ekey_less(&a[root], &a[c]))
			return;
		ekey t = a[root];
		a[root] = a[c];
		a[c] = t;
	}
}

static void kset_sort(kset *ks)
{
	for (size_t i = ks->nmob / 2; i-- > 0;)
		sift_u64(ks->mob, i, ks->nmob);
	for (size_t n = ks->nmob; n > 1; n--) {
		uint64_t t = ks->mob[0];
		ks->mob[0] = ks->mob[n - 1];
		ks->mob[n - 1] = t;
		sift_u64(ks->mob, 0, n - 1);
	}
	for (size_t i = ks->nem / 2; i-- > 0;)
		sift_ekey(ks->em, i, ks->nem);
	for (size_t n = ks->nem; n > 1; n--) {
		ekey t = ks->em[0];
		ks->em[0] = ks->em[n - 1];
		ks->em[n - 1] = t;
		sift_ekey(ks->em, 0, n - 1);
	}
}

/* Heap sort of the duplicates by row (the list is in key order). */
static void sift_kdup(kdup *a, size_t root, size_t n)
{
	for (size_t c; (c = 2 * root + 1) < n; root = c) {
		if (c + 1 < n && a[c].row < a[c + 1].row)
			c++;
		if (!(a[root].row < a[c].row))
			return;
		kdup t = a[root];
		a[root] = a[c];
		a[c] = t;
	}
}

static void kdup_sort(kdup *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_kdup(a, i, n);
	for (size_t m = n; m > 1; m--) {
		kdup t = a[0];
		a[0] = a[m - 1];
		a[m - 1] = t;
		sift_kdup(a, 0, m - 1);
	}
}

static int kdup_add(kdup **a, size_t *n, size_t *cap, uint32_t row, uint32_t first)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		kdup *na = realloc(*a, ncap * sizeof *na);

		if (!na)
			return PV_ENOMEM;
		*a = na;
		*cap = ncap;
	}
	(*a)[(*n)++] = (kdup){row, first};
	return PV_OK;
}

/* From the sorted arrays to the duplicate lists; frees the arrays. */
static int kset_reduce(kset *ks)
{
	size_t capm = 0, cape = 0;
	int rc = PV_OK;

	for (size_t i = 1; i < ks->nmob && rc == PV_OK; i++) {
		size_t f = i - 1;

		while (i < ks->nmob && ks->mob[i] >> ROW_BITS == ks->mob[f] >> ROW_BITS && rc == PV_OK)
			rc = kdup_add(&ks->dmob, &ks->ndmob, &capm, (uint32_t)(ks->mob[i++] & ROW_MASK),
				      (uint32_t)(ks->mob[f] & ROW_MASK));
	}
	for (size_t i = 1; i < ks->nem && rc == PV_OK; i++) {
		size_t f = i - 1;

		while (i < ks->nem && ks->em[i].h == ks->em[f].h && rc == PV_OK)
			rc = kdup_add(&ks->dem, &ks->ndem, &cape, ks->em[i++].row, ks->em[f].row);
	}
	if (rc != PV_OK)
		return rc;
	kdup_sort(ks->dmob, ks->ndmob);
	kdup_sort(ks->dem, ks->ndem);
	free(ks->mob);
	free(ks->em);
	ks->mob = NULL;
	ks->em = NULL;
	ks->nmob = ks->nem = ks->capmob = ks->capem = 0;
	return PV_OK;
}

/* The first row holding the key of `row` in a duplicate list, or 0. Rows
 * are asked in increasing order: *pos walks the list once. */
static int64_t kdup_first(const kdup *a, size_t n, size_t *pos, int64_t row)
{
	while (*pos < n && a[*pos].row < row)
		(*pos)++;
	return *pos < n && a[*pos].row == row ? a[*pos].first : 0;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* 64-bit hash of the lower-cased address */
static uint64_t email_key(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * UINT64_C(0x100000001b3);
	}
	return mix64(h ^ n);
}

/* ---- header ------------------------------------------------------------ */

typedef struct hdr {
	int64_t row;        /* 0 until found */
	size_t col[NREQ];   /* column of each required field */
	size_t ncols;       /* cells of the header row */
	unsigned char *keep; /* per column: echoed in the result (not Status /
			      * Error Details); ncols entries */
	size_t nkeep;
} hdr;

static void hdr_free(hdr *h)
{
	free(h->keep);
	memset(h, 0, sizeof *h);
}

/* The cell trimmed, lower-cased, inner runs of white space collapsed. */
static void hdr_norm(const imp_cell *c, char *out, size_t cap)
{
	size_t n, o = 0;
	const char *p = util_trim(c->p, c->len, &n);
	int space = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		char ch = p[i];

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			space = 1;
			continue;
		}
		if (space && o + 2 < cap)
			out[o++] = ' ';
		space = 0;
		out[o++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	out[o] = '\0';
}

static int row_empty(const imp_row *r)
{
	for (size_t i = 0; i < r->ncells; i++) {
		size_t n;

		util_trim(r->cells[i].p, r->cells[i].len, &n);
		if (n)
			return 0;
	}
	return 1;
}

/* Reads the header from row r. On a file-level problem returns PV_EFORMAT
 * with the message in err. */
static int hdr_parse(hdr *h, const imp_row *r, char *err, size_t errlen)
{
	static const char *const lower[NREQ] = {"first name", "last name",
						"email id", "mobile number"};
	char name[64];
	int found[NREQ] = {0};
	buf miss;
	int rc = PV_OK;

	h->row = r->number;
	h->ncols = r->ncells;
	h->keep = calloc(r->ncells ? r->ncells : 1, 1);
	if (!h->keep)
		return PV_ENOMEM;
	for (size_t i = 0; i < r->ncells; i++) {
		hdr_norm(&r->cells[i], name, sizeof name);
		h->keep[i] = 1;
		if (strcmp(name, "status") == 0 || strcmp(name, "error details") == 0) {
			h->keep[i] = 0;
			continue;
		}
		for (int k = 0; k < NREQ; k++) {
			if (strcmp(name, lower[k]) != 0)
				continue;
			if (found[k]) {
				snprintf(err, errlen, "Duplicate column: %s", req_names[k]);
				return PV_EFORMAT;
			}
			found[k] = 1;
			h->col[k] = i;
		}
	}
	for (size_t i = 0; i < r->ncells; i++)
		h->nkeep += h->keep[i];
	buf_init(&miss, 256);
	for (int k = 0; k < NREQ; k++)
		if (!found[k])
			buf_addf(&miss, "%s%s", miss.len ? ", " : "", req_names[k]);
	if (buf_error(&miss) != PV_OK) {
		rc = buf_error(&miss);
	} else if (miss.len) {
		snprintf(err, errlen, "Missing column: %s", miss.p);
		rc = PV_EFORMAT;
	}
	buf_free(&miss);
	return rc;
}

/* ---- one row ------------------------------------------------------------- */

/* Field states */
enum { FS_OK = 0, FS_MISSING, FS_INVALID, FS_DUP };

typedef struct rowv {
	int64_t number;
	const char *first, *last, *email; /* trimmed, not NUL-terminated */
	size_t first_n, last_n, email_n;
	char mobile[VAL_MOBILE_LEN + 1];
	int st[NREQ];
	int64_t dup_row[NREQ]; /* for FS_DUP */
	int taken[NREQ];       /* email / mobile already registered */
	uint64_t ekey, mkey;
} rowv;

/* The trimmed cell i of r; a leading apostrophe that protects a formula
 * character (as result files write them: "'+91 98765 43210") is dropped. */
static const char *cellv(const imp_row *r, size_t i, size_t *n)
{
	const char *p;

	*n = 0;
	if (i >= r->ncells)
		return "";
	p = util_trim(r->cells[i].p, r->cells[i].len, n);
	if (*n >= 2 && p[0] == '\'' && memchr("=+-@\t\r", p[1], 6))
		p = util_trim(p + 1, *n - 1, n);
	return p;
}

/* Syntax checks of a row and its keys; no store access. */
static void row_check(const hdr *h, const imp_row *r, rowv *v)
{
	const char *mob;
	size_t mob_n;

	memset(v, 0, sizeof *v);
	v->number = r->number;
	v->first = cellv(r, h->col[COL_FIRST], &v->first_n);
	v->last = cellv(r, h->col[COL_LAST], &v->last_n);
	v->email = cellv(r, h->col[COL_EMAIL], &v->email_n);
	mob = cellv(r, h->col[COL_MOBILE], &mob_n);
	v->st[COL_FIRST] = !v->first_n ? FS_MISSING
			   : val_name(v->first, v->first_n) ? FS_OK : FS_INVALID;
	v->st[COL_LAST] = !v->last_n ? FS_MISSING
			  : val_name(v->last, v->last_n) ? FS_OK : FS_INVALID;
	v->st[COL_EMAIL] = !v->email_n ? FS_MISSING
			   : val_email(v->email, v->email_n) ? FS_OK : FS_INVALID;
	v->st[COL_MOBILE] = !mob_n ? FS_MISSING
			    : val_mobile(mob, mob_n, v->mobile) ? FS_OK : FS_INVALID;
	if (v->st[COL_EMAIL] == FS_OK)
		v->ekey = email_key(v->email, v->email_n);
	if (v->st[COL_MOBILE] == FS_OK)
		v->mkey = (uint64_t)(strtoll(v->mobile, NULL, 10) - MOBILE_BASE);
}

static int row_bad(const rowv *v)
{
	for (int k = 0; k < NREQ; k++)
		if (v->st[k] != FS_OK || v->taken[k])
			return 1;
	return 0;
}

/* "[message, message]" */
static void row_messages(const rowv *v, buf *out)
{
	static const char *const missing[NREQ] = {
		"First Name is missing", "Last Name is missing",
		"Email Id is missing", "Mobile Number is missing"};
	static const char *const invalid[NREQ] = {
		"Invalid First Name", "Invalid Last Name", "Invalid Email Id",
		"Invalid Mobile Number"};
	int first = 1;

	buf_reset(out);
	buf_adds(out, "[");
	for (int k = 0; k < NREQ; k++) {
		const char *sep = first ? "" : ", ";
		size_t before = out->len;

		if (v->st[k] == FS_MISSING)
			buf_addf(out, "%s%s", sep, missing[k]);
		else if (v->st[k] == FS_INVALID)
			buf_addf(out, "%s%s", sep, invalid[k]);
		else if (v->st[k] == FS_DUP)
			buf_addf(out, "%sDuplicate %s in file (row %lld)", sep,
				 k == COL_EMAIL ? "Email Id" : "Mobile Number",
				 (long long)v->dup_row[k]);
		else if (v->taken[k])
			buf_addf(out, "%s%s", sep,
				 k == COL_EMAIL ? "Email id already registered"
						: "Mobile number is already registered");
		if (out->len != before)
			first = 0;
	}
	buf_adds(out, "]");
}

/* ---- the job ------------------------------------------------------------- */

/* A data row of the chunk: its field states and, for a row that fails
 * anyway, its valid e-mail and mobile (the store is asked whether they are
 * registered, so that every problem is told at once). */
typedef struct crow {
	int64_t number;
	int st[NREQ];
	int64_t dup_row[NREQ];
	long user; /* index in job.users, -1 for a row with problems */
	char email[STORE_EMAIL_MAX];
	char mobile[STORE_MOBILE_MAX];
} crow;

typedef struct job {
	const job_env *env;
	store *st;
	store_upload *u;
	imp_limits lim;
	char tmp_dir[STORE_PATH_MAX]; /* lim.tmp_dir unless env->lim has one */
	hdr h;
	kset keys;
	int64_t data_rows; /* from the scan */
	store_org org;
	char *welcome; /* {"org_name":"...","login_url":"..."}: the campaigns' */
	int campaigns; /* the welcome campaigns exist (committed) */
	buf msg;
	char err[STORE_TEXT_MAX];
	char src[STORE_PATH_MAX]; /* the uploaded file, fetched from the store */
	int src_temp;             /* src is a copy, deleted at the end */
	/* The chunk being written, read into memory first so that its
	 * transaction can run again from the start (store_tx). */
	size_t cap;        /* rows a chunk holds */
	crow *rows;        /* cap: the chunk's data rows, in file order */
	store_user *users; /* cap: the valid rows' users, inserted at once */
	int *conflicts;    /* cap: what user_insert_batch answered */
	size_t nrows, nusers;
	int last;          /* the chunk ends the file */
	int64_t base_ok, base_failed, base_cursor; /* before the chunk */
} job;

/* Unless lim names one, the folder of the reader's temporary files is the
 * folder of the local copy of the uploaded file (job_fetch: the uploads
 * folder, in the data folder): room
 * for uploads is room for their shared strings, where /tmp may be small or
 * in memory. dir has cap bytes and must outlive the reader's opening. */
static void job_tmp_dir(imp_limits *lim, const char *stored_path, char *dir, size_t cap)
{
	const char *slash = strrchr(stored_path, '/');
	size_t n;

	if (lim->tmp_dir || !slash)
		return;
	n = slash == stored_path ? 1 : (size_t)(slash - stored_path);
	if (n >= cap)
		return;
	memcpy(dir, stored_path, n);
	dir[n] = '\0';
	lim->tmp_dir = dir;
}

static int job_stopping(const job *j)
{
	return j->env->stop && atomic_load(j->env->stop);
}

/* Pass 1. PV_EFORMAT with j->err for a file-level failure. */
static int job_scan(job *j)
{
	imp_reader *r = NULL;
	imp_row row;
	rowv v;
	int rc, n;

	rc = imp_open(j->src, &j->lim, &r, j->err, sizeof j->err);
	if (rc != PV_OK) {
		if (rc != PV_ENOMEM)
			rc = PV_EFORMAT;
		goto out;
	}
	while ((n = imp_next(r, &row)) == 1) {
		if (row_empty(&row))
			continue;
		if (!j->h.row) {
			if ((rc = hdr_parse(&j->h, &row, j->err, sizeof j->err)) != PV_OK)
				goto out;
			continue;
		}
		j->data_rows++;
		rc = PV_OK;
		if ((j->data_rows & 4095) == 0 && job_stopping(j)) {
			rc = PV_ESTOPPED;
			goto out;
		}
		/* a long scan keeps its lease (and learns when it lost it) */
		if ((j->data_rows & 65535) == 0 &&
		    (rc = store_upload_progress(j->st, j->u, j->env->worker, util_now_ms(),
						      j->env->lease_ms > 0 ? j->env->lease_ms
									   : JOB_LEASE_MS)) != PV_OK)
			goto out;
		row_check(&j->h, &row, &v);
		if (v.st[COL_EMAIL] == FS_OK)
			rc = kset_add_email(&j->keys, v.ekey, row.number);
		if (rc == PV_OK && v.st[COL_MOBILE] == FS_OK)
			rc = kset_add_mobile(&j->keys, v.mkey, row.number);
		if (rc != PV_OK) {
			if (rc == PV_ELIMIT)
				snprintf(j->err, sizeof j->err, "Too many rows");
			goto out;
		}
	}
	if (n < 0) {
		util_strlcpy(j->err, imp_error(r), sizeof j->err);
		rc = n == PV_ENOMEM ? PV_ENOMEM : PV_EFORMAT;
		goto out;
	}
	if (!j->h.row || j->data_rows == 0) {
		util_strlcpy(j->err, "The file has no data rows", sizeof j->err);
		rc = PV_EFORMAT;
		goto out;
	}
	kset_sort(&j->keys);
	rc = kset_reduce(&j->keys);
out:
	imp_close(r);
	return rc;
}

/* Pass 2 for one row, into the chunk: the checks, the in-file
 * duplicates and, for a valid row, its user. */
static void job_take(job *j, const imp_row *r, int64_t now)
{
	crow *c = &j->rows[j->nrows++];
	store_user *usr;
	rowv v;
	int64_t first;

	row_check(&j->h, r, &v);
	if (v.st[COL_EMAIL] == FS_OK &&
	    (first = kdup_first(j->keys.dem, j->keys.ndem, &j->keys.pem, r->number))) {
		v.st[COL_EMAIL] = FS_DUP;
		v.dup_row[COL_EMAIL] = first;
	}
	if (v.st[COL_MOBILE] == FS_OK &&
	    (first = kdup_first(j->keys.dmob, j->keys.ndmob, &j->keys.pmob, r->number))) {
		v.st[COL_MOBILE] = FS_DUP;
		v.dup_row[COL_MOBILE] = first;
	}
	c->number = r->number;
	memcpy(c->st, v.st, sizeof c->st);
	memcpy(c->dup_row, v.dup_row, sizeof c->dup_row);
	c->email[0] = c->mobile[0] = '\0';
	if (row_bad(&v)) {
		c->user = -1;
		if (v.st[COL_EMAIL] == FS_OK)
			util_strncpy0(c->email, sizeof c->email, v.email, v.email_n);
		if (v.st[COL_MOBILE] == FS_OK)
			memcpy(c->mobile, v.mobile, sizeof c->mobile);
		return;
	}
	c->user = (long)j->nusers;
	/* The array is zeroed once (job_chunk_alloc) and every field set here
	 * is set for every user: no memset of 1.5 KB per row (the chunk's
	 * array is larger than the caches). position_id stays "". */
	usr = &j->users[j->nusers++];
	/* the row's own id: a row creates one user at most (the limits keep
	 * row numbers in range: job_run) */
	store_upload_user_id(j->u, r->number, usr->id, sizeof usr->id);
	util_strncpy0(usr->first_name, sizeof usr->first_name, v.first, v.first_n);
	util_strncpy0(usr->last_name, sizeof usr->last_name, v.last, v.last_n);
	util_strncpy0(usr->email, sizeof usr->email, v.email, v.email_n);
	usr->official_email = val_official_email(usr->email, j->env->official_domains);
	memcpy(usr->mobile, v.mobile, sizeof usr->mobile);
	util_strlcpy(usr->org_id, j->u->org_id, sizeof usr->org_id);
	util_strlcpy(usr->status, STORE_USER_ACTIVE, sizeof usr->status);
	util_strlcpy(usr->source, "bulk", sizeof usr->source);
	usr->email_verified = 1; /* vouched for by the organisation */
	util_strlcpy(usr->upload_id, j->u->id, sizeof usr->upload_id);
	usr->created_at = usr->updated_at = now;
}

/* Records the failure of chunk row c, inside the chunk's transaction:
 * taken[] says which of its keys the store holds. */
static int job_fail_row(job *j, const crow *c, const int taken[NREQ])
{
	store_upload_failure f;
	rowv v;
	int rc;

	memset(&v, 0, sizeof v);
	memcpy(v.st, c->st, sizeof v.st);
	memcpy(v.dup_row, c->dup_row, sizeof v.dup_row);
	memcpy(v.taken, taken, sizeof v.taken);
	row_messages(&v, &j->msg);
	if ((rc = buf_error(&j->msg)) != PV_OK)
		return rc;
	memset(&f, 0, sizeof f);
	f.row = c->number;
	util_strlcpy(f.errors, j->msg.p, sizeof f.errors);
	if ((rc = store_upload_failure_add(j->st, j->u->id, &f)) != PV_OK)
		return rc;
	j->u->failed_records++;
	return PV_OK;
}

/* Which keys of a row with other problems are registered: point lookups,
 * so that every problem of the row is told at once. */
static int job_taken(job *j, const crow *c, int taken[NREQ])
{
	store_user usr;
	int rc;

	memset(taken, 0, NREQ * sizeof *taken);
	if (c->email[0]) {
		rc = store_user_by_email(j->st, c->email, &usr);
		if (rc != PV_OK && rc != PV_ENOTFOUND)
			return rc;
		taken[COL_EMAIL] = rc == PV_OK;
	}
	if (c->mobile[0]) {
		rc = store_user_by_mobile(j->st, c->mobile, &usr);
		if (rc != PV_OK && rc != PV_ENOTFOUND)
			return rc;
		taken[COL_MOBILE] = rc == PV_OK;
	}
	return PV_OK;
}

static void job_report(const job *j, int phase)
{
	if (j->env->progress)
		j->env->progress(j->env->progress_ctx, phase,
				 j->u->success_records + j->u->failed_records,
				 j->data_rows);
}

/* Writes the final status (inside the caller's transaction when one is
 * open). */
static int job_finish(job *j, const char *status, const char *error, int64_t now)
{
	int rc = store_upload_finish(j->st, j->u->id, status, error, j->env->worker, now);

	if (rc == PV_OK) {
		util_strlcpy(j->u->status, status, sizeof j->u->status);
		util_strlcpy(j->u->error, error, sizeof j->u->error);
		j->u->claimed_by[0] = '\0';
		j->u->lease_until = 0;
	}
	return rc;
}

/* The welcome campaigns of the upload (once per run; a resumed upload
 * has them already). */
static int job_campaigns(job *j, int64_t now)
{
	const char *lang = j->env->lang && j->env->lang[0] ? j->env->lang : "en";
	int rc;

	rc = notify_campaign_add(j->st, j->u->id, NOTIFY_CHANNEL_SMS, "welcome_sms", lang,
				 j->welcome, now);
	if (rc == PV_OK)
		rc = notify_campaign_add(j->st, j->u->id, NOTIFY_CHANNEL_EMAIL, "welcome_email",
					 lang, j->welcome, now);
	return rc;
}

/* The chunk's transaction (store_tx: it may run again from the start, so
 * it starts from the counts before the chunk): the users at once, each
 * row's failure, the counts and the cursor (only while this worker holds
 * the lease), and after the last chunk the final status. */
static int job_chunk_tx(store *st, void *ctx)
{
	job *j = ctx;
	store_upload *u = j->u;
	int64_t now = util_now_ms();
	int rc, taken[NREQ];

	u->success_records = j->base_ok;
	u->failed_records = j->base_failed;
	u->cursor = j->base_cursor;
	if (!j->campaigns && (rc = job_campaigns(j, now)) != PV_OK)
		return rc;
	rc = store_user_insert_batch(st, j->users, j->nusers, j->conflicts);
	if (rc != PV_OK)
		return rc;
	for (size_t i = 0; i < j->nrows; i++) {
		const crow *c = &j->rows[i];
		int bits = c->user >= 0 ? j->conflicts[c->user] : 0;

		u->cursor = c->number;
		if (c->user >= 0 && !bits) {
			u->success_records++;
			continue;
		}
		/* an id (or this very row) taken: not the row's fault */
		if (bits & STORE_CONFLICT_KEY)
			return PV_ESTORE;
		memset(taken, 0, sizeof taken);
		taken[COL_EMAIL] = !!(bits & STORE_CONFLICT_EMAIL);
		taken[COL_MOBILE] = !!(bits & STORE_CONFLICT_MOBILE);
		if (c->user < 0 && (rc = job_taken(j, c, taken)) != PV_OK)
			return rc;
		if ((rc = job_fail_row(j, c, taken)) != PV_OK)
			return rc;
	}
	u->total_records = j->data_rows;
	rc = store_upload_progress(st, u, j->env->worker, now,
				   j->env->lease_ms > 0 ? j->env->lease_ms : JOB_LEASE_MS);
	if (rc == PV_OK && j->last) {
		int ok = u->failed_records == 0 && u->success_records > 0;

		rc = store_upload_finish(st, u->id, ok ? STORE_UP_SUCCESSFUL : STORE_UP_FAILED,
					 "", j->env->worker, now);
	}
	return rc;
}

/* Reads the next chunk into memory: 1 when it is full (more may follow),
 * 0 at the end of the file, or the reader's error. header_seen is the
 * reader's state between calls. */
static int job_fill(job *j, imp_reader *r, int *header_seen)
{
	int64_t now = util_now_ms();
	imp_row row;
	int n = 0; /* never read unset (a full chunk answers 1); GCC at -O1 cannot tell */

	j->nrows = j->nusers = 0;
	while (j->nrows < j->cap && (n = imp_next(r, &row)) == 1) {
		if (!*header_seen) {
			*header_seen = row.number >= j->h.row;
			continue;
		}
		if (row.number <= j->u->cursor || row_empty(&row))
			continue;
		job_take(j, &row, now);
	}
	return j->nrows == j->cap ? 1 : n;
}

/* Pass 2: chunks from the cursor to the end. */
static int job_write(job *j)
{
	store_upload *u = j->u;
	imp_reader *r = NULL;
	int rc, n, header_seen = 0;

	rc = imp_open(j->src, &j->lim, &r, j->err, sizeof j->err);
	if (rc != PV_OK)
		goto file_failed;
	do {
		if (job_stopping(j)) {
			rc = job_finish(j, STORE_UP_QUEUED, "", util_now_ms());
			if (rc == PV_OK)
				rc = PV_ESTOPPED;
			goto out;
		}
		if ((n = job_fill(j, r, &header_seen)) < 0)
			goto file_failed;
		j->last = n == 0;
		j->base_ok = u->success_records;
		j->base_failed = u->failed_records;
		j->base_cursor = u->cursor;
		rc = store_tx(j->st, job_chunk_tx, j);
		if (rc != PV_OK) {
			u->success_records = j->base_ok;
			u->failed_records = j->base_failed;
			u->cursor = j->base_cursor;
			goto out;
		}
		j->campaigns = 1;
		if (j->last) {
			util_strlcpy(u->status, u->failed_records == 0 && u->success_records > 0
							? STORE_UP_SUCCESSFUL : STORE_UP_FAILED,
				     sizeof u->status);
			u->error[0] = '\0';
			u->claimed_by[0] = '\0';
			u->lease_until = 0;
		}
		atomic_fetch_add(&job_rows_total, (uint64_t)j->nrows);
		notify_kick();
		job_report(j, JOB_WRITING);
	} while (!j->last);
	rc = PV_OK;
	goto out;
file_failed:
	/* The file changed or vanished since the scan. */
	if (!j->err[0])
		util_strlcpy(j->err, r ? imp_error(r) : "Cannot read the file", sizeof j->err);
	rc = job_finish(j, STORE_UP_FAILED, j->err, util_now_ms());
out:
	imp_close(r);
	return rc;
}

/* The parameters of the welcome messages common to the upload's users:
 * {"org_name":"...","login_url":"..."} (first_name comes with each), at
 * most half of STORE_JSON_MAX. */
static int job_welcome_params(job *j)
{
	json_t *doc;
	int rc;

	rc = store_org_get(j->st, j->u->org_id, &j->org);
	if (rc != PV_OK)
		return rc;
	doc = json_pack("{s:s, s:s}", "org_name", j->org.name, "login_url",
			j->env->login_url ? j->env->login_url : "");
	if (!doc)
		return PV_EINVAL; /* not UTF-8 */
	j->welcome = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!j->welcome)
		return PV_ENOMEM;
	if (strlen(j->welcome) > STORE_JSON_MAX / 2) {
		free(j->welcome);
		j->welcome = NULL;
		return PV_ELIMIT;
	}
	return PV_OK;
}

/* The chunk's arrays (freed by job_run). */
static int job_chunk_alloc(job *j)
{
	int64_t chunk = j->env->chunk_rows > 0 ? j->env->chunk_rows : JOB_CHUNK_ROWS;

	j->cap = chunk < STORE_BATCH_MAX ? (size_t)chunk : STORE_BATCH_MAX;
	j->rows = malloc(j->cap * sizeof *j->rows);
	j->users = calloc(j->cap, sizeof *j->users);
	j->conflicts = malloc(j->cap * sizeof *j->conflicts);
	return j->rows && j->users && j->conflicts ? PV_OK : PV_ENOMEM;
}

/* The log line of a job's end: finished (any status) or interrupted. */
static void job_log_end(const store_upload *u, int rc)
{
	char tot[24], ok[24], bad[24];

	if (rc != PV_OK) {
		log_kv(rc == PV_ESTOPPED ? LOG_INFO : LOG_WARN, "upload interrupted",
		       "id", u->id, "reason", pv_strerror(rc), NULL);
		return;
	}
	snprintf(tot, sizeof tot, "%lld", (long long)u->total_records);
	snprintf(ok, sizeof ok, "%lld", (long long)u->success_records);
	snprintf(bad, sizeof bad, "%lld", (long long)u->failed_records);
	log_kv(LOG_INFO, "upload finished", "id", u->id, "status", u->status,
	       "total", tot, "success", ok, "failed", bad, NULL);
}

/* Frees what job_run's job holds and removes its temporary copy. */
static void job_release(job *j)
{
	if (j->src_temp)
		unlink(j->src);
	kset_free(&j->keys);
	hdr_free(&j->h);
	buf_free(&j->msg);
	free(j->welcome);
	free(j->rows);
	free(j->users);
	free(j->conflicts);
}

int job_run(const job_env *env, store_upload *u)
{
	job j;
	int rc;

	if (!env || !env->st || !env->worker || !u)
		return PV_EINVAL;
	memset(&j, 0, sizeof j);
	j.env = env;
	j.st = env->st;
	j.u = u;
	if (env->lim)
		j.lim = *env->lim;
	else
		imp_limits_default(&j.lim);
	/* a user's id holds its row number (store_upload_user_id) */
	if (j.lim.max_rows > STORE_UPLOAD_ROW_MAX - 1)
		j.lim.max_rows = STORE_UPLOAD_ROW_MAX - 1;
	buf_init(&j.msg, STORE_TEXT_MAX);
	log_kv(LOG_INFO, "upload started", "id", u->id, "org", u->org_id,
	       "worker", env->worker, NULL);
	rc = job_welcome_params(&j);
	if (rc == PV_ENOTFOUND) {
		rc = job_finish(&j, STORE_UP_FAILED, "The organisation does not exist",
				util_now_ms());
		goto out;
	}
	if (rc != PV_OK)
		goto out;
	rc = job_fetch(j.st, u, env->tmp_dir, j.src, sizeof j.src, &j.src_temp);
	if (rc == PV_EFORMAT) {
		rc = job_finish(&j, STORE_UP_FAILED, "The uploaded file is no longer stored",
				util_now_ms());
		goto out;
	}
	if (rc != PV_OK)
		goto out;
	job_tmp_dir(&j.lim, j.src, j.tmp_dir, sizeof j.tmp_dir);
	rc = job_scan(&j);
	if (rc == PV_ESTOPPED) {
		rc = job_finish(&j, STORE_UP_QUEUED, "", util_now_ms());
		if (rc == PV_OK)
			rc = PV_ESTOPPED;
		goto out;
	}
	if (rc == PV_EFORMAT) {
		u->total_records = u->success_records = u->failed_records = 0;
		rc = job_finish(&j, STORE_UP_FAILED, j.err, util_now_ms());
		goto out;
	}
	if (rc != PV_OK)
		goto out;
	/* the total is known from the scan: show it at once */
	u->total_records = j.data_rows;
	rc = store_upload_progress(env->st, u, env->worker, util_now_ms(),
					   env->lease_ms > 0 ? env->lease_ms : JOB_LEASE_MS);
	if (rc != PV_OK)
		goto out;
	job_report(&j, JOB_SCANNING);
	rc = job_chunk_alloc(&j);
	if (rc == PV_OK)
		rc = job_write(&j);
out:
	job_log_end(u, rc);
	job_release(&j);
	return rc;
}

/* ---- result files ----------------------------------------------------- */

typedef struct res {
	imp_reader *r;
	imp_writer *w;
	const hdr *h;
	imp_cell *cells; /* nkeep */
	int eof;
	int rc;
} res;

static int res_write(res *x, const imp_row *row, const char *status,
		     const char *errors)
{
	size_t o = 0;

	for (size_t i = 0; i < x->h->ncols; i++) {
		if (!x->h->keep[i])
			continue;
		if (i < row->ncells)
			x->cells[o] = row->cells[i];
		else
			x->cells[o] = (imp_cell){"", 0};
		o++;
	}
	return imp_writer_row(x->w, x->cells, o, status, errors);
}

/* Copies data rows up to row `upto` (0: to the end) as successes; the row
 * `upto` itself is written with errors. */
static int res_advance(res *x, int64_t upto, const char *errors)
{
	imp_row row;
	int n = 0;

	while (!x->eof && (n = imp_next(x->r, &row)) == 1) {
		if (row.number <= x->h->row || row_empty(&row))
			continue;
		if (upto && row.number == upto)
			return res_write(x, &row, "FAILED", errors);
		if (upto && row.number > upto)
			return PV_EFORMAT; /* the file changed */
		if ((x->rc = res_write(x, &row, "SUCCESS", "")) != PV_OK)
			return x->rc;
	}
	if (!x->eof && n < 0)
		return PV_EFORMAT;
	x->eof = 1;
	return upto ? PV_EFORMAT : PV_OK;
}

static int res_failure(void *ctx, const store_upload_failure *f)
{
	res *x = ctx;
	int rc = res_advance(x, f->row, f->errors);

	if (rc != PV_OK) {
		x->rc = rc;
		return 1;
	}
	return 0;
}

/* The folder of a file's path ("." when it has none). */
static void job_dir_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		util_strlcpy(out, ".", cap);
	else if (slash == path)
		util_strlcpy(out, "/", cap);
	else
		util_strncpy0(out, cap, path, (size_t)(slash - path));
}

int job_result(store *st, const store_upload *u, const imp_limits *lim,
	       const char *out_path)
{
	res x;
	hdr h;
	imp_row row;
	imp_limits rlim;
	char err[256], dir[STORE_PATH_MAX], src[STORE_PATH_MAX], tmp_dir[STORE_PATH_MAX];
	int rc, n, temp = 0;

	memset(&x, 0, sizeof x);
	memset(&h, 0, sizeof h);
	if (!st || !u || !out_path)
		return PV_EINVAL;
	if (u->error[0] || (strcmp(u->status, STORE_UP_SUCCESSFUL) != 0 &&
			    strcmp(u->status, STORE_UP_FAILED) != 0))
		return PV_EINVAL;
	job_dir_of(out_path, dir, sizeof dir);
	rc = job_fetch(st, u, dir, src, sizeof src, &temp);
	if (rc != PV_OK)
		return rc;
	if (lim)
		rlim = *lim;
	else
		imp_limits_default(&rlim);
	job_tmp_dir(&rlim, src, tmp_dir, sizeof tmp_dir);
	rc = imp_open(src, &rlim, &x.r, err, sizeof err);
	if (rc != PV_OK) {
		rc = rc == PV_ENOMEM ? rc : PV_EFORMAT;
		goto out;
	}
	while ((n = imp_next(x.r, &row)) == 1 && row_empty(&row))
		;
	if (n != 1) {
		rc = PV_EFORMAT;
		goto out;
	}
	if ((rc = hdr_parse(&h, &row, err, sizeof err)) != PV_OK)
		goto out;
	x.h = &h;
	x.cells = calloc(h.nkeep ? h.nkeep : 1, sizeof *x.cells);
	if (!x.cells) {
		rc = PV_ENOMEM;
		goto out;
	}
	if ((rc = imp_writer_open(out_path, imp_get_format(x.r), &x.w)) != PV_OK)
		goto out;
	if ((rc = res_write(&x, &row, "Status", "Error Details")) != PV_OK)
		goto out;
	rc = store_upload_failure_each(st, u->id, res_failure, &x);
	if (rc == 1)
		rc = x.rc;
	if (rc == PV_OK)
		rc = res_advance(&x, 0, NULL);
out:
	if (x.w) {
		int rc2 = imp_writer_close(x.w);

		if (rc == PV_OK)
			rc = rc2;
	}
	if (rc != PV_OK)
		unlink(out_path);
	imp_close(x.r);
	if (temp)
		unlink(src);
	free(x.cells);
	hdr_free(&h);
	return rc;
}

void job_result_blob(const store_upload *u, char *out, size_t cap)
{
	snprintf(out, cap, "%s.result", u->id);
}

int job_fetch(store *st, const store_upload *u, const char *dir, char *path,
	      size_t cap, int *temp)
{
	const char *blob = u->stored_path;
	char uid[UUID_STR_LEN];
	int rc;

	*temp = 0;
	if (strncmp(blob, JOB_BLOB_PREFIX, strlen(JOB_BLOB_PREFIX)) != 0) {
		/* recorded before uploads were kept in the store */
		if (access(blob, R_OK) != 0)
			return PV_EFORMAT;
		return util_strlcpy(path, blob, cap) == PV_OK ? PV_OK : PV_ELIMIT;
	}
	blob += strlen(JOB_BLOB_PREFIX);
	if (!dir || !*dir) {
		dir = getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
	}
	util_uuid(uid);
	if ((size_t)snprintf(path, cap, "%s/.fetch-%s", dir, uid) >= cap)
		return PV_ELIMIT;
	rc = store_blob_get(st, blob, path);
	if (rc == PV_ENOTFOUND) {
		log_kv(LOG_ERROR, "an upload's file is not in the store", "id", u->id,
		       NULL);
		return PV_EFORMAT;
	}
	if (rc == PV_OK)
		*temp = 1;
	return rc;
}

void job_safe_name(const char *name, char *out, size_t cap)
{
	const char *base = name ? name : "", *p;
	size_t n, o = 0, max = cap - 1 < 120 ? cap - 1 : 120;
	const char *dot;

	for (p = base; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	while (*base == '.')
		base++;
	n = strlen(base);
	dot = strrchr(base, '.');
	for (size_t i = 0; i < n && o < max; i++) {
		char c = base[i];

		/* keep room for the extension when the name is cut */
		if (dot && n > max && base + i < dot && o + strlen(dot) >= max) {
			i = (size_t)(dot - base) - 1;
			continue;
		}
		out[o++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')
				   ? c : '_';
	}
	out[o] = '\0';
	if (!o)
		util_strlcpy(out, "upload", cap);
}
