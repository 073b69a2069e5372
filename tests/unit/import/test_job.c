/* The bulk-upload engine: every rule and message of bulk-upload.md run
 * through CSV and XLSX, header handling, file-level failures, result files
 * and resuming after a stop (the same outcome as an uninterrupted run). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "import/job.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/util.h"

static char dir[64];
static int seq;

typedef struct rule {
	const char *cells[4];
	const char *expect; /* NULL: success; "" : an empty row (skipped) */
} rule;

/* Row numbers: the header is row 1, rules[i] is row i + 2. */
static const rule rules[] = {
	{{"Asha", "Verma", "asha@example.com", "9876500001"}, NULL},
	{{"", "Verma", "a2@example.com", "9876500002"}, "[First Name is missing]"},
	{{"Asha1", "Verma", "a3@example.com", "9876500003"}, "[Invalid First Name]"},
	{{"Asha", "", "a4@example.com", "9876500004"}, "[Last Name is missing]"},
	{{"Asha", "V3rma", "a5@example.com", "9876500005"}, "[Invalid Last Name]"},
	{{"Asha", "Verma", "", "9876500006"}, "[Email Id is missing]"},
	{{"Asha", "Verma", "bad@", "9876500007"}, "[Invalid Email Id]"},
	{{"Asha", "Verma", "TAKEN@example.com", "9876500008"}, "[Email id already registered]"},
	{{"Asha", "Verma", "ASHA@Example.com", "9876500009"}, "[Duplicate Email Id in file (row 2)]"},
	{{"Asha", "Verma", "a10@example.com", ""}, "[Mobile Number is missing]"},
	{{"Asha", "Verma", "a11@example.com", "12345"}, "[Invalid Mobile Number]"},
	{{"Asha", "Verma", "a12@example.com", "9000000001"}, "[Mobile number is already registered]"},
	{{"Asha", "Verma", "a13@example.com", "+91 98765 00001"}, "[Duplicate Mobile Number in file (row 2)]"},
	{{"", "", "taken2@example.com", "9000000002"},
	 "[First Name is missing, Last Name is missing, Email id already registered, Mobile number is already registered]"},
	{{"Ravi", "K", "r15@example.com", "'+91 98765 00015"}, NULL},
	{{"Mohan", "Das", "m16@nic.in", "9.876500016E9"}, NULL},
	{{"", "", "", ""}, ""},
	{{"  मीरा ", "शर्मा", " m18@example.com ", "(987) 650-0018"}, NULL},
	{{"Lal", "Lal", "asha@example.com", "12"}, "[Duplicate Email Id in file (row 2), Invalid Mobile Number]"},
	{{"=cmd", "X", "x@example.com", "9876500020"}, "[Invalid First Name]"},
};
#define NRULES (sizeof rules / sizeof rules[0])

static const char *tpath(const char *name)
{
	static char p[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

static void write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
	fclose(f);
}

static void csv_cell(buf *b, const char *s, int first)
{
	if (!first)
		buf_adds(b, ",");
	if (strpbrk(s, ",\"") || s[0] == ' ' || (s[0] && s[strlen(s) - 1] == ' ')) {
		buf_adds(b, "\"");
		for (const char *p = s; *p; p++)
			buf_add(b, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
		buf_adds(b, "\"");
	} else {
		buf_adds(b, s);
	}
}

/* The rule table as a file (header row first). */
static void write_rules(const char *path, imp_format fmt, const char *const *hdr)
{
	if (fmt == IMP_CSV) {
		buf b;

		buf_init(&b, 1 << 20);
		for (int i = 0; i < 4; i++)
			csv_cell(&b, hdr[i], i == 0);
		buf_adds(&b, "\r\n");
		for (size_t r = 0; r < NRULES; r++) {
			for (int i = 0; i < 4; i++)
				csv_cell(&b, rules[r].cells[i], i == 0);
			buf_adds(&b, "\r\n");
		}
		write_text(path, b.p);
		buf_free(&b);
		return;
	}
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "Staff");

	for (int i = 0; i < 4; i++)
		worksheet_write_string(ws, 0, (lxw_col_t)i, hdr[i], NULL);
	for (size_t r = 0; r < NRULES; r++)
		for (int i = 0; i < 4; i++) {
			const char *v = rules[r].cells[i];

			if (!*v)
				continue;
			/* plain 10-digit mobiles as numeric cells, as Excel keeps them */
			if (i == 3 && strlen(v) == 10 && strspn(v, "0123456789") == 10)
				worksheet_write_number(ws, (lxw_row_t)(r + 1), 3, atof(v), NULL);
			else
				worksheet_write_string(ws, (lxw_row_t)(r + 1), (lxw_col_t)i, v, NULL);
		}
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
}

static store *new_store(void)
{
	char url[300];
	store *st = NULL;
	store_org o;
	store_user u;
	int conflict;

	snprintf(url, sizeof url, "sqlite:%s/db%d.sqlite", dir, ++seq);
	assert_int_equal(store_open(url, &st), PV_OK);
	assert_int_equal(store_migrate(st), PV_OK);
	memset(&o, 0, sizeof o);
	strcpy(o.id, "o1");
	strcpy(o.name, "Org \"One\"");
	strcpy(o.sector, "center");
	strcpy(o.type, "department");
	o.active = 1;
	o.created_at = o.updated_at = 1;
	assert_int_equal(store_org_upsert(st, &o), PV_OK);
	memset(&u, 0, sizeof u);
	strcpy(u.id, "taken-1");
	strcpy(u.first_name, "Taken");
	strcpy(u.email, "taken@example.com");
	strcpy(u.mobile, "9000000001");
	strcpy(u.org_id, "o1");
	strcpy(u.status, STORE_USER_ACTIVE);
	strcpy(u.source, "self");
	u.created_at = 1;
	assert_int_equal(store_user_insert(st, &u, &conflict), PV_OK);
	strcpy(u.id, "taken-2");
	strcpy(u.email, "Taken2@example.com");
	strcpy(u.mobile, "9000000002");
	assert_int_equal(store_user_insert(st, &u, &conflict), PV_OK);
	return st;
}

/* Inserts an upload of path, claimed by worker "w1". */
static void new_upload(store *st, const char *path, store_upload *u)
{
	memset(u, 0, sizeof *u);
	util_uuid(u->id);
	strcpy(u->org_id, "o1");
	snprintf(u->file_name, sizeof u->file_name, "1_f");
	util_strlcpy(u->stored_path, path, sizeof u->stored_path);
	strcpy(u->format, "csv");
	strcpy(u->status, STORE_UP_IN_PROGRESS);
	strcpy(u->claimed_by, "w1");
	u->created_at = util_now_ms();
	u->lease_until = u->created_at + 60000;
	assert_int_equal(store_upload_insert(st, u), PV_OK);
}

static void env_init(job_env *e, store *st)
{
	memset(e, 0, sizeof *e);
	e->st = st;
	e->worker = "w1";
	e->official_domains = "gov.in,nic.in";
	e->login_url = "http://x/login";
	e->lang = "en";
}

static int collect(void *ctx, const store_upload_failure *f)
{
	buf_addf(ctx, "%lld|%s\n", (long long)f->row, f->errors);
	return 0;
}

static char *failures(store *st, const char *id)
{
	buf b;

	buf_init(&b, 1 << 20);
	buf_adds(&b, "");
	assert_int_equal(store_upload_failure_each(st, id, collect, &b), PV_OK);
	return buf_steal(&b, NULL);
}

static char *expected_failures(void)
{
	buf b;

	buf_init(&b, 1 << 20);
	buf_adds(&b, "");
	for (size_t r = 0; r < NRULES; r++)
		if (rules[r].expect && *rules[r].expect)
			buf_addf(&b, "%zu|%s\n", r + 2, rules[r].expect);
	return buf_steal(&b, NULL);
}

/* The upload's welcome campaigns: one SMS and one e-mail campaign with
 * the organisation and login URL, and its created users in row order. */
static void check_campaigns(store *st, const store_upload *u, int64_t nsuccess)
{
	store_campaign c[2], other;
	store_user users[64];
	size_t n;
	int64_t last = 0;

	assert_int_equal(store_campaign_claim(st, "t", util_now_ms() + 1, 60000, &c[0]), PV_OK);
	assert_int_equal(store_campaign_claim(st, "t", util_now_ms() + 1, 60000, &c[1]), PV_OK);
	assert_int_equal(store_campaign_claim(st, "t", util_now_ms() + 1, 60000, &other),
			 PV_ENOTFOUND);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(c[i].upload_id, u->id);
		assert_string_equal(c[i].lang, "en");
		assert_string_equal(c[i].params,
				    "{\"org_name\":\"Org \\\"One\\\"\",\"login_url\":\"http://x/login\"}");
		assert_true(c[i].cursor == 0);
	}
	assert_string_equal(c[0].template_name, strcmp(c[0].channel, "sms") == 0 ? "welcome_sms"
									       : "welcome_email");
	assert_string_not_equal(c[0].channel, c[1].channel);
	assert_int_equal(store_campaign_users(st, u->id, 0, 64, users, &n), PV_OK);
	assert_int_equal(n, nsuccess);
	for (size_t i = 0; i < n; i++) {
		char id[STORE_ID_MAX];
		int64_t row = store_upload_user_row(users[i].id);

		assert_true(row > last);
		last = row;
		assert_int_equal(store_upload_user_id(u, row, id, sizeof id), PV_OK);
		assert_string_equal(users[i].id, id);
		assert_string_equal(users[i].source, "bulk");
	}
}

static void run_rules(imp_format fmt)
{
	static const char *const hdr[4] = {"First Name", "Last Name", "Email Id", "Mobile Number"};
	const char *path = tpath(fmt == IMP_CSV ? "rules.csv" : "rules.xlsx");
	store *st = new_store();
	store_upload u, got;
	store_user usr;
	job_env e;
	char *fails, *want;
	int64_t nsuccess = 0, nfail = 0;

	write_rules(path, fmt, hdr);
	for (size_t r = 0; r < NRULES; r++) {
		if (!rules[r].expect)
			nsuccess++;
		else if (*rules[r].expect)
			nfail++;
	}
	new_upload(st, path, &u);
	env_init(&e, st);
	assert_int_equal(job_run(&e, &u), PV_OK);
	assert_string_equal(u.status, STORE_UP_FAILED);
	assert_int_equal(store_upload_get(st, u.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_UP_FAILED);
	assert_string_equal(got.error, "");
	assert_int_equal(got.total_records, nsuccess + nfail);
	assert_int_equal(got.success_records, nsuccess);
	assert_int_equal(got.failed_records, nfail);
	assert_string_equal(got.claimed_by, "");
	fails = failures(st, u.id);
	want = expected_failures();
	assert_string_equal(fails, want);
	free(fails);
	free(want);
	/* the users as created */
	assert_int_equal(store_user_by_mobile(st, "9876500015", &usr), PV_OK);
	assert_string_equal(usr.source, "bulk");
	assert_string_equal(usr.status, STORE_USER_ACTIVE);
	assert_string_equal(usr.org_id, "o1");
	assert_string_equal(usr.position_id, "");
	assert_int_equal(usr.official_email, 0);
	assert_int_equal(store_user_by_mobile(st, "9876500016", &usr), PV_OK);
	assert_int_equal(usr.official_email, 1);
	assert_int_equal(store_user_by_mobile(st, "9876500018", &usr), PV_OK);
	assert_string_equal(usr.first_name, "मीरा");
	assert_string_equal(usr.email, "m18@example.com");
	assert_int_equal(store_user_by_email(st, "a2@example.com", &usr), PV_ENOTFOUND);
	/* two welcome messages per user owed by the upload's two campaigns,
	 * which walk the created users in row order */
	int64_t queued = 0, failed = 0;
	assert_int_equal(store_outbox_stats(st, &queued, &failed), PV_OK);
	assert_int_equal(queued, 2 * nsuccess);
	check_campaigns(st, &got, nsuccess);

	/* the result file: same format, echoed cells, Status, Error Details */
	const char *res = tpath(fmt == IMP_CSV ? "rules.result.csv" : "rules.result.xlsx");
	assert_int_equal(job_result(st, &got, NULL, res), PV_OK);
	imp_reader *rd;
	imp_row row;
	char err[128];
	size_t r = 0;
	assert_int_equal(imp_open(res, NULL, &rd, err, sizeof err), PV_OK);
	assert_int_equal(imp_get_format(rd), fmt);
	assert_int_equal(imp_next(rd, &row), 1);
	assert_int_equal(row.ncells, 6);
	assert_memory_equal(row.cells[4].p, "Status", 6);
	assert_memory_equal(row.cells[5].p, "Error Details", 13);
	while (imp_next(rd, &row) == 1) {
		while (r < NRULES && rules[r].expect && !*rules[r].expect)
			r++; /* the empty row is not in the result */
		assert_true(r < NRULES);
		const char *st_want = rules[r].expect ? "FAILED" : "SUCCESS";
		const char *er_want = rules[r].expect ? rules[r].expect : "";
		assert_true(row.ncells >= 5);
		assert_int_equal(row.cells[4].len, strlen(st_want));
		assert_memory_equal(row.cells[4].p, st_want, strlen(st_want));
		if (*er_want) {
			assert_int_equal(row.cells[5].len, strlen(er_want));
			assert_memory_equal(row.cells[5].p, er_want, strlen(er_want));
		}
		if (r == 19) /* formula-safe */
			assert_memory_equal(row.cells[0].p, "'=cmd", 5);
		r++;
	}
	assert_int_equal(r, NRULES);
	imp_close(rd);
	store_close(st);
}

static void test_rules_csv(void **state)
{
	(void)state;
	run_rules(IMP_CSV);
}

static void test_rules_xlsx(void **state)
{
	(void)state;
	run_rules(IMP_XLSX);
}

/* One upload of a CSV text; returns the final record. */
static void run_text(const char *text, store_upload *out)
{
	const char *path = tpath("h.csv");
	store *st = new_store();
	job_env e;

	write_text(path, text);
	new_upload(st, path, out);
	env_init(&e, st);
	assert_int_equal(job_run(&e, out), PV_OK);
	assert_int_equal(store_upload_get(st, out->id, out), PV_OK);
	store_close(st);
}

static void test_headers(void **state)
{
	store_upload u;

	(void)state;
	/* case, spaces, order, extra columns, Status / Error Details ignored */
	run_text("\n Mobile   NUMBER ,email id,Status,last name,FIRST NAME,Code,Error Details\n"
		 "9876511111,h1@example.com,FAILED,Roy,Nina,7,[x]\n", &u);
	assert_string_equal(u.status, STORE_UP_SUCCESSFUL);
	assert_int_equal(u.success_records, 1);
	run_text("First Name,Last Name,Email\nA,B,a@b.in\n", &u);
	assert_string_equal(u.status, STORE_UP_FAILED);
	assert_string_equal(u.error, "Missing column: Email Id, Mobile Number");
	assert_int_equal(u.total_records, 0);
	run_text("First Name,Last Name,Email Id\nA,B,a@b.in\n", &u);
	assert_string_equal(u.error, "Missing column: Mobile Number");
	run_text("First Name,Last Name,Email Id,Mobile Number,email id\nA,B,a@b.in,9876511112,c@d.in\n", &u);
	assert_string_equal(u.error, "Duplicate column: Email Id");
	run_text("First Name,Last Name,Email Id,Mobile Number\n,,,\n", &u);
	assert_string_equal(u.status, STORE_UP_FAILED);
	assert_string_equal(u.error, "The file has no data rows");
	run_text("\n\n", &u);
	assert_string_equal(u.error, "The file has no data rows");
	/* an unreadable row fails the file before anything is written (past
	 * the first 4 KiB, which the format sniffing reads) */
	{
		buf b;

		buf_init(&b, 1 << 20);
		buf_adds(&b, "First Name,Last Name,Email Id,Mobile Number\n");
		for (int i = 0; i < 200; i++)
			buf_addf(&b, "Asha,Verma,v%d@example.com,%lld\n", i, 9876600000LL + i);
		buf_adds(&b, "A,\xff,c@d.in,9876511114\n");
		run_text(b.p, &u);
		buf_free(&b);
	}
	assert_string_equal(u.status, STORE_UP_FAILED);
	assert_string_equal(u.error, "Invalid UTF-8 in row 202");
	assert_int_equal(u.success_records, 0);
	assert_int_equal(u.total_records, 0);
	/* every row fine */
	run_text("First Name;Last Name;Email Id;Mobile Number\nA;B;a@b.in;9876511115\n", &u);
	assert_string_equal(u.status, STORE_UP_SUCCESSFUL);
	assert_string_equal(u.error, "");
}

static atomic_int stop_flag;
static int chunks_seen;

static void stop_after_two(void *ctx, int phase, int64_t done, int64_t total)
{
	(void)ctx;
	(void)done;
	(void)total;
	if (phase == JOB_WRITING && ++chunks_seen == 2)
		atomic_store(&stop_flag, 1);
}

static void test_resume(void **state)
{
	static const char *const hdr[4] = {"First Name", "Last Name", "Email Id", "Mobile Number"};
	const char *path = tpath("resume.xlsx");
	store *a = new_store(), *b = new_store();
	store_upload ua, ub, got;
	job_env e;
	char *fa, *fb;

	(void)state;
	write_rules(path, IMP_XLSX, hdr);
	/* uninterrupted */
	new_upload(a, path, &ua);
	env_init(&e, a);
	e.chunk_rows = 3;
	assert_int_equal(job_run(&e, &ua), PV_OK);
	/* stopped after two chunks, handed back, claimed again, finished */
	new_upload(b, path, &ub);
	env_init(&e, b);
	e.chunk_rows = 3;
	e.stop = &stop_flag;
	e.progress = stop_after_two;
	assert_int_equal(job_run(&e, &ub), PV_ESTOPPED);
	assert_int_equal(store_upload_get(b, ub.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_UP_QUEUED);
	assert_int_equal(got.success_records + got.failed_records, 6);
	assert_true(got.cursor >= 7);
	atomic_store(&stop_flag, 0);
	/* a worker that lost the lease writes nothing */
	assert_int_equal(store_upload_claim(b, "w2", util_now_ms(), 60000, &got), PV_OK);
	assert_int_equal(job_run(&e, &got), PV_ECONFLICT); /* e.worker is w1 */
	e.worker = "w2";
	assert_int_equal(store_upload_get(b, ub.id, &got), PV_OK);
	assert_int_equal(got.success_records + got.failed_records, 6);
	assert_int_equal(job_run(&e, &got), PV_OK);
	assert_string_equal(got.status, ua.status);
	assert_int_equal(got.total_records, ua.total_records);
	assert_int_equal(got.success_records, ua.success_records);
	assert_int_equal(got.failed_records, ua.failed_records);
	fa = failures(a, ua.id);
	fb = failures(b, ub.id);
	assert_string_equal(fa, fb);
	free(fa);
	free(fb);
	int64_t qa, qb, f;
	assert_int_equal(store_outbox_stats(a, &qa, &f), PV_OK);
	assert_int_equal(store_outbox_stats(b, &qb, &f), PV_OK);
	assert_int_equal(qa, qb);
	/* the same users from the same rows; two campaigns, not four */
	store_user wa[32], wb[32];
	size_t na, nb;
	assert_int_equal(store_campaign_users(a, ua.id, 0, 32, wa, &na), PV_OK);
	assert_int_equal(store_campaign_users(b, ub.id, 0, 32, wb, &nb), PV_OK);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_true(store_upload_user_row(wa[i].id) == store_upload_user_row(wb[i].id));
		assert_string_equal(wa[i].email, wb[i].email);
	}
	check_campaigns(b, &ub, (int64_t)nb);
	store_close(a);
	store_close(b);
}

static void test_safe_name(void **state)
{
	char out[128];

	(void)state;
	job_safe_name("../../etc/My File (1).csv", out, sizeof out);
	assert_string_equal(out, "My_File__1_.csv");
	job_safe_name("C:\\Users\\x\\.hidden.xlsx", out, sizeof out);
	assert_string_equal(out, "hidden.xlsx");
	job_safe_name("", out, sizeof out);
	assert_string_equal(out, "upload");
	char longname[400];
	memset(longname, 'a', sizeof longname);
	strcpy(longname + 390, ".csv");
	job_safe_name(longname, out, sizeof out);
	assert_int_equal(strlen(out), 120);
	assert_string_equal(out + 116, ".csv");
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pv-job-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_csv),
		cmocka_unit_test(test_rules_xlsx),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_safe_name),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
