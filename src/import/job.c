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
 * copied) and the untouched tail of their capacity is never resident. */

typedef struct ekey {
	uint64_t h;
	uint32_t row;
} __attribute__((packed)) ekey;

typedef struct kset {
	uint64_t *mob; /* mobile words */
	ekey *em;      /* e-mail pairs */
	size_t nmob, capmob, nem, capem;
} kset;

static void kset_free(kset *ks)
{
	free(ks->mob);
	free(ks->em);
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

/* The first row holding the mobile key, or 0. */
static int64_t kset_mobile(const kset *ks, uint64_t key)
{
	size_t lo = 0, hi = ks->nmob;
	uint64_t want = key << ROW_BITS;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->mob[mid] < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ks->nmob && ks->mob[lo] >> ROW_BITS == key)
		return (int64_t)(ks->mob[lo] & ROW_MASK);
	return 0;
}

static int64_t kset_email(const kset *ks, uint64_t h)
{
	size_t lo = 0, hi = ks->nem;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t mh = ks->em[mid].h;

		if (mh < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ks->nem && ks->em[lo].h == h)
		return (int64_t)ks->em[lo].row;
	return 0;
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
	char *params_tail; /* ,"org_name":"...","login_url":"..."} */
	store_outbox sms, mail; /* welcome messages, prepared once */
	uint64_t id_seed, id_ctr;
	buf msg, params;
	char err[STORE_TEXT_MAX];
	char src[STORE_PATH_MAX]; /* the uploaded file, fetched from the store */
	int src_temp;             /* src is a copy, deleted at the end */
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
out:
	imp_close(r);
	return rc;
}

/* A time-ordered UUID (version 7 layout): 48 bits of milliseconds, then a
 * 36-bit counter of the job and 36 random bits drawn once per job, so that
 * the users' primary key index grows at its end and no id costs a call to
 * the random generator. */
static void job_uuid7(char out[UUID_STR_LEN], int64_t ms, uint64_t ctr,
		      uint64_t seed)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t t = (uint64_t)ms;
	char *p = out;

	for (int i = 44; i >= 0; i -= 4) {
		*p++ = hex[(t >> i) & 15];
		if (p - out == 8)
			*p++ = '-';
	}
	*p++ = '-';
	*p++ = '7';
	for (int i = 32; i >= 24; i -= 4)
		*p++ = hex[(ctr >> i) & 15];
	*p++ = '-';
	*p++ = '8';
	for (int i = 20; i >= 12; i -= 4)
		*p++ = hex[(ctr >> i) & 15];
	*p++ = '-';
	for (int i = 8; i >= 0; i -= 4)
		*p++ = hex[(ctr >> i) & 15];
	for (int i = 32; i >= 0; i -= 4)
		*p++ = hex[(seed >> i) & 15];
	*p = '\0';
}

/* The welcome SMS and e-mail: the same outbox rows notify_enqueue()
 * writes (queued, due now), built here from two prepared records because
 * the parameters are JSON made by this file (notify_enqueue would parse
 * them again for every message: a sixth of the import's time). */
static int job_welcome(job *j, const store_user *usr, int64_t now)
{
	store_outbox *m[2] = {&j->sms, &j->mail};
	const char *to[2] = {usr->mobile, usr->email};
	int rc;

	buf_reset(&j->params);
	buf_adds(&j->params, "{\"first_name\":\"");
	buf_add_json_str(&j->params, usr->first_name, strlen(usr->first_name));
	buf_adds(&j->params, "\"");
	if ((rc = buf_adds(&j->params, j->params_tail)) != PV_OK)
		return rc;
	for (int i = 0; i < 2; i++) {
		if (util_strlcpy(m[i]->to_addr, to[i], sizeof m[i]->to_addr) != PV_OK)
			return PV_ELIMIT;
		if ((rc = notify_seal_params(j->params.p, m[i]->params, sizeof m[i]->params)) != PV_OK)
			return rc;
		m[i]->id = 0;
		m[i]->next_at = m[i]->created_at = now;
		if ((rc = store_outbox_insert(j->st, m[i])) != PV_OK)
			return rc;
	}
	return PV_OK;
}

static void job_outbox_init(job *j)
{
	const char *lang = j->env->lang && j->env->lang[0] ? j->env->lang : "en";

	memset(&j->sms, 0, sizeof j->sms);
	util_strlcpy(j->sms.channel, NOTIFY_CHANNEL_SMS, sizeof j->sms.channel);
	util_strlcpy(j->sms.template_name, "welcome_sms", sizeof j->sms.template_name);
	util_strlcpy(j->sms.lang, lang, sizeof j->sms.lang);
	util_strlcpy(j->sms.status, STORE_OUT_QUEUED, sizeof j->sms.status);
	j->mail = j->sms;
	util_strlcpy(j->mail.channel, NOTIFY_CHANNEL_EMAIL, sizeof j->mail.channel);
	util_strlcpy(j->mail.template_name, "welcome_email", sizeof j->mail.template_name);
}

/* Pass 2 for one row, inside the chunk's transaction. */
static int job_row(job *j, const imp_row *r, int64_t now)
{
	store_user usr;
	store_upload_failure f;
	rowv v;
	int64_t first;
	int rc, conflict = 0;

	row_check(&j->h, r, &v);
	if (v.st[COL_EMAIL] == FS_OK && (first = kset_email(&j->keys, v.ekey)) &&
	    first < r->number) {
		v.st[COL_EMAIL] = FS_DUP;
		v.dup_row[COL_EMAIL] = first;
	}
	if (v.st[COL_MOBILE] == FS_OK && (first = kset_mobile(&j->keys, v.mkey)) &&
	    first < r->number) {
		v.st[COL_MOBILE] = FS_DUP;
		v.dup_row[COL_MOBILE] = first;
	}
	if (!row_bad(&v)) {
		memset(&usr, 0, sizeof usr);
		job_uuid7(usr.id, now, j->id_ctr++, j->id_seed);
		util_strncpy0(usr.first_name, sizeof usr.first_name, v.first, v.first_n);
		util_strncpy0(usr.last_name, sizeof usr.last_name, v.last, v.last_n);
		util_strncpy0(usr.email, sizeof usr.email, v.email, v.email_n);
		usr.official_email = val_official_email(usr.email, j->env->official_domains);
		memcpy(usr.mobile, v.mobile, sizeof usr.mobile);
		util_strlcpy(usr.org_id, j->u->org_id, sizeof usr.org_id);
		util_strlcpy(usr.status, STORE_USER_ACTIVE, sizeof usr.status);
		util_strlcpy(usr.source, "bulk", sizeof usr.source);
		usr.email_verified = 1; /* vouched for by the organisation */
		util_strlcpy(usr.upload_id, j->u->id, sizeof usr.upload_id);
		usr.created_at = usr.updated_at = now;
		rc = store_user_insert(j->st, &usr, &conflict);
		if (rc == PV_OK) {
			if ((rc = job_welcome(j, &usr, now)) != PV_OK)
				return rc;
			j->u->success_records++;
			return PV_OK;
		}
		if (rc != PV_ECONFLICT)
			return rc;
		v.taken[COL_EMAIL] = !!(conflict & STORE_CONFLICT_EMAIL);
		v.taken[COL_MOBILE] = !!(conflict & STORE_CONFLICT_MOBILE);
		if (!conflict) /* an id collision: not the row's fault; retry once */
			return PV_ESTORE;
	} else {
		/* A row with other problems: report registrations too, so that
		 * every problem of the row is told at once. */
		char email[STORE_EMAIL_MAX];

		if (v.st[COL_EMAIL] == FS_OK) {
			util_strncpy0(email, sizeof email, v.email, v.email_n);
			rc = store_user_by_email(j->st, email, &usr);
			if (rc != PV_OK && rc != PV_ENOTFOUND)
				return rc;
			v.taken[COL_EMAIL] = rc == PV_OK;
		}
		if (v.st[COL_MOBILE] == FS_OK) {
			rc = store_user_by_mobile(j->st, v.mobile, &usr);
			if (rc != PV_OK && rc != PV_ENOTFOUND)
				return rc;
			v.taken[COL_MOBILE] = rc == PV_OK;
		}
	}
	row_messages(&v, &j->msg);
	if ((rc = buf_error(&j->msg)) != PV_OK)
		return rc;
	memset(&f, 0, sizeof f);
	f.row = r->number;
	util_strlcpy(f.errors, j->msg.p, sizeof f.errors);
	rc = store_upload_failure_add(j->st, j->u->id, &f);
	if (rc != PV_OK)
		return rc;
	j->u->failed_records++;
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

/* Pass 2: chunks from the cursor to the end. */
static int job_write(job *j)
{
	const job_env *env = j->env;
	store *st = j->st;
	int64_t chunk = env->chunk_rows > 0 ? env->chunk_rows : JOB_CHUNK_ROWS;
	int64_t lease = env->lease_ms > 0 ? env->lease_ms : JOB_LEASE_MS;
	imp_reader *r = NULL;
	imp_row row;
	int rc, n = 1, in_tx = 0, header_seen = 0;
	int64_t in_chunk = 0, now;

	rc = imp_open(j->src, &j->lim, &r, j->err, sizeof j->err);
	if (rc != PV_OK)
		goto file_failed;
	while (n == 1) {
		if (!in_tx) {
			if (job_stopping(j)) {
				rc = job_finish(j, STORE_UP_QUEUED, "", util_now_ms());
				if (rc == PV_OK)
					rc = PV_ESTOPPED;
				goto out;
			}
			if ((rc = store_tx_begin(st)) != PV_OK)
				goto out;
			in_tx = 1;
			in_chunk = 0;
		}
		now = util_now_ms();
		while (in_chunk < chunk && (n = imp_next(r, &row)) == 1) {
			if (!header_seen) {
				header_seen = row.number >= j->h.row;
				continue;
			}
			if (row.number <= j->u->cursor || row_empty(&row))
				continue;
			if ((rc = job_row(j, &row, now)) != PV_OK)
				goto out;
			j->u->cursor = row.number;
			in_chunk++;
		}
		if (n < 0) {
			rc = store_tx_rollback(st);
			in_tx = 0;
			goto file_failed;
		}
		j->u->total_records = j->data_rows;
		if ((rc = store_upload_progress(st, j->u, env->worker, now, lease)) != PV_OK)
			goto out;
		if (n == 0) {
			int ok = j->u->failed_records == 0 && j->u->success_records > 0;

			if ((rc = job_finish(j, ok ? STORE_UP_SUCCESSFUL : STORE_UP_FAILED,
					     "", now)) != PV_OK)
				goto out;
		}
		if ((rc = store_tx_commit(st)) != PV_OK)
			goto out;
		in_tx = 0;
		atomic_fetch_add(&job_rows_total, (uint64_t)in_chunk);
		notify_kick();
		job_report(j, JOB_WRITING);
	}
	rc = PV_OK;
	goto out;
file_failed:
	/* The file changed or vanished since the scan. */
	if (!j->err[0])
		util_strlcpy(j->err, r ? imp_error(r) : "Cannot read the file", sizeof j->err);
	rc = job_finish(j, STORE_UP_FAILED, j->err, util_now_ms());
out:
	if (in_tx)
		store_tx_rollback(st);
	imp_close(r);
	return rc;
}

static int job_org_tail(job *j)
{
	buf b;
	int rc;

	rc = store_org_get(j->st, j->u->org_id, &j->org);
	if (rc != PV_OK)
		return rc;
	buf_init(&b, 4096);
	buf_adds(&b, ",\"org_name\":\"");
	buf_add_json_str(&b, j->org.name, strlen(j->org.name));
	buf_adds(&b, "\",\"login_url\":\"");
	buf_add_json_str(&b, j->env->login_url ? j->env->login_url : "",
			 j->env->login_url ? strlen(j->env->login_url) : 0);
	rc = buf_adds(&b, "\"}");
	if (rc != PV_OK) {
		buf_free(&b);
		return rc;
	}
	j->params_tail = buf_steal(&b, NULL);
	return j->params_tail ? PV_OK : PV_ENOMEM;
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
	buf_init(&j.msg, STORE_TEXT_MAX);
	buf_init(&j.params, STORE_JSON_MAX - 1);
	job_outbox_init(&j);
	{
		char seed[UUID_STR_LEN];

		util_uuid(seed);
		j.id_seed = strtoull(seed + 24, NULL, 16);
	}
	log_kv(LOG_INFO, "upload started", "id", u->id, "org", u->org_id,
	       "worker", env->worker, NULL);
	rc = job_org_tail(&j);
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
	rc = job_write(&j);
out:
	if (rc == PV_OK) {
		char tot[24], ok[24], bad[24];

		snprintf(tot, sizeof tot, "%lld", (long long)u->total_records);
		snprintf(ok, sizeof ok, "%lld", (long long)u->success_records);
		snprintf(bad, sizeof bad, "%lld", (long long)u->failed_records);
		log_kv(LOG_INFO, "upload finished", "id", u->id, "status", u->status,
		       "total", tot, "success", ok, "failed", bad, NULL);
	} else {
		log_kv(rc == PV_ESTOPPED ? LOG_INFO : LOG_WARN, "upload interrupted",
		       "id", u->id, "reason", pv_strerror(rc), NULL);
	}
	if (j.src_temp)
		unlink(j.src);
	kset_free(&j.keys);
	hdr_free(&j.h);
	buf_free(&j.msg);
	buf_free(&j.params);
	free(j.params_tail);
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
