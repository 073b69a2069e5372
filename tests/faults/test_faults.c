/* test_faults: injected store faults, after SQLite's faultsim. Each
 * operation below runs once with no fault to count its store calls, then
 * once for every N of those calls with the Nth failing, first with an I/O
 * error (PV_ESTORE), then with a busy store (PV_EBUSY: retry the
 * transaction). After each fault:
 * - the caller answered a clean error (the injected one) or succeeded
 *   because it retried (store_tx retries PV_EBUSY; workers retry later);
 * - the store (read directly with SQL) holds all of the operation or none
 *   of it: no user without both consent rows, activation token and e-mail;
 *   no approval without what it created, its two messages and its audit
 *   row; no chunk counted twice; no message lost or sent twice;
 * - run again without a fault, the operation succeeds (nothing was half
 *   consumed: a verification token or a code rolled back stays usable).
 * The operations: a registration, an OTP login (the code's issue, then
 * the login), an SPV approval (of a position, and of an organisation under
 * a parent), a bulk upload's chunks (through the worker's job_work_once:
 * the file fetched from the store, each chunk's user_insert_batch, its
 * failures, progress and welcome campaigns in one transaction),
 * an outbox delivery (through the delivery workers, with and without a
 * failed first attempt), and an administrator's creation (user, role,
 * credential and audit row: the multi-table write erasure will be). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/accounts.h"
#include "core/directory.h"
#include "core/keys.h"
#include "core/otp.h"
#include "core/registration.h"
#include "core/requests.h"
#include "core/sessions.h"
#include "import/job.h"
#include "notify/notify.h"
#include "store/store.h"
#include "support/faultstore.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define NOW 1700000000000LL

typedef struct fx {
	char dir[64], path[128];
	store *inner, *fs;
	sqlite3 *db; /* read-only view for the checks */
	keys k;
	directory *dir_;
	otp_svc otp_in, otp_fs; /* set-up through inner; the operation through fs */
	sess_svc sess_fs;
	reg_svc reg_fs;
	rq_svc rq_fs;
	acct_policy pol;
	int seq; /* distinct data for every run */
} fx;

static const int errs[2] = {PV_ESTORE, PV_EBUSY};

#define FAILF(...)                                   \
	do {                                         \
		print_error(__VA_ARGS__);            \
		fail();                              \
	} while (0)
#define CHECKF(cond, ...)                                                    \
	do {                                                                 \
		if (!(cond)) {                                               \
			print_error("%s:%d: %s: ", __FILE__, __LINE__, #cond); \
			FAILF(__VA_ARGS__);                                  \
		}                                                            \
	} while (0)

/* ---- set-up ---- */

static void add_org(fx *f, const char *id, const char *parent)
{
	store_org o;

	memset(&o, 0, sizeof o);
	util_strlcpy(o.id, id, sizeof o.id);
	snprintf(o.name, sizeof o.name, "Organisation %s", id);
	util_strlcpy(o.sector, "center", sizeof o.sector);
	util_strlcpy(o.type, "department", sizeof o.type);
	util_strlcpy(o.parent_id, parent, sizeof o.parent_id);
	o.active = 1;
	assert_int_equal(store_org_upsert(f->inner, &o), PV_OK);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	store_position p;

	if (!f || tmpstore_open(f->dir, sizeof f->dir, f->path, sizeof f->path, &f->inner) != 0 ||
	    keys_load(NULL, KEY_HEX, &f->k) != PV_OK || !(f->fs = faultstore_wrap(f->inner)))
		return -1;
	add_org(f, "m-law", "");
	add_org(f, "d-doj", "m-law");
	memset(&p, 0, sizeof p);
	util_strlcpy(p.id, "p-so", sizeof p.id);
	util_strlcpy(p.name, "Section Officer", sizeof p.name);
	p.active = 1;
	if (store_position_insert(f->inner, &p) != PV_OK || dir_open(f->inner, &f->dir_) != PV_OK)
		return -1;
	if (sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	f->otp_in.st = f->inner;
	f->otp_in.k = &f->k;
	otp_policy_default(&f->otp_in.pol);
	f->otp_fs = f->otp_in;
	f->otp_fs.st = f->fs;
	f->sess_fs.st = f->fs;
	f->sess_fs.k = &f->k;
	f->sess_fs.idle_s = 1800;
	f->sess_fs.absolute_s = 43200;
	f->reg_fs.st = f->fs;
	f->reg_fs.dir = f->dir_;
	f->reg_fs.otp = &f->otp_fs;
	f->reg_fs.official_domains = "gov.in,nic.in";
	f->reg_fs.public_url = "http://127.0.0.1:8080";
	f->reg_fs.activation_ttl_s = 86400;
	f->reg_fs.resend_per_hour = 3;
	f->rq_fs.st = f->fs;
	f->rq_fs.dir = f->dir_;
	f->rq_fs.otp = &f->otp_fs;
	acct_policy_default(&f->pol);
	f->pol.key = &f->k;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	sqlite3_close(f->db);
	dir_close(f->dir_);
	store_close(f->fs);
	tmpstore_remove(f->inner, f->dir, f->path);
	free(f);
	return 0;
}

/* count(*) of sql with ?1 bound to arg (may be NULL: no parameter). */
static long count(fx *f, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	long n = -1;

	if (sqlite3_prepare_v2(f->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("bad check SQL %s: %s", sql, sqlite3_errmsg(f->db));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void text(fx *f, const char *sql, const char *arg, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	if (sqlite3_prepare_v2(f->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("bad check SQL %s: %s", sql, sqlite3_errmsg(f->db));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		util_strlcpy(out, (const char *)sqlite3_column_text(st, 0), cap);
	sqlite3_finalize(st);
}

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A 10-digit mobile: lead digit, then base + i. */
static void mob(char *out, char lead, int base, int i)
{
	snprintf(out, 11, "%c%09u", lead, (unsigned)(base + i) % 1000000000u);
}

/* ---- the walk ---- */

typedef struct fault_op {
	const char *name;
	/* Runs the operation on data set i (through f->fs); returns its answer. */
	int (*run)(fx *f, int i);
	/* Checks that the store holds all (done) or none of data set i. */
	void (*check)(fx *f, int i, int done, const char *ctx);
	/* 1 when a busy fault inside a transaction must be absorbed by a
	 * retry (store_tx) */
	int retries_busy;
	/* 1 when the number of calls depends on timing (a worker's claims of
	 * a message not yet due): a fault past the end may not be reached */
	int timing;
	/* NULL, or an operation of the store that the walk must fail at
	 * least once (the one that does the operation's work) */
	const char *must_reach;
} fault_op;

static void walk(fx *f, const fault_op *op)
{
	char ctx[160];
	long calls;
	int i = f->seq++, rc, reached = 0;

	faultstore_arm(f->fs, 0, 0);
	rc = op->run(f, i);
	CHECKF(rc == PV_OK, "%s without a fault answered %s", op->name, pv_errname(rc));
	calls = faultstore_calls(f->fs);
	CHECKF(calls > 0, "%s made no store call", op->name);
	snprintf(ctx, sizeof ctx, "%s without a fault", op->name);
	op->check(f, i, 1, ctx);
	for (long n = 1; n <= calls; n++) {
		for (int e = 0; e < 2; e++) {
			const char *at = NULL;
			int in_tx = 0;

			i = f->seq++;
			faultstore_arm(f->fs, n, errs[e]);
			rc = op->run(f, i);
			faultstore_fired(f->fs, &at, &in_tx);
			faultstore_arm(f->fs, 0, 0);
			reached |= at && op->must_reach && strcmp(at, op->must_reach) == 0;
			snprintf(ctx, sizeof ctx, "%s, %s at call %ld of %ld (%s)", op->name,
				 pv_errname(errs[e]), n, calls, at ? at : "not reached");
			CHECKF(at != NULL || op->timing, "%s: the fault was not injected", ctx);
			CHECKF(rc == PV_OK || rc == errs[e], "%s: answered %s", ctx, pv_errname(rc));
			/* a transaction that met a busy store is run again; a
			 * lone read outside one may answer busy (HTTP: 503
			 * with Retry-After) */
			if (errs[e] == PV_EBUSY && op->retries_busy && in_tx)
				CHECKF(rc == PV_OK, "%s: a busy store was not retried", ctx);
			op->check(f, i, rc == PV_OK, ctx);
			if (rc == PV_OK)
				continue;
			/* the caller tries again: nothing was left half done */
			rc = op->run(f, i);
			CHECKF(rc == PV_OK, "%s: the retry answered %s", ctx, pv_errname(rc));
			op->check(f, i, 1, ctx);
		}
	}
	CHECKF(!op->must_reach || reached, "%s: no fault reached %s", op->name, op->must_reach);
}

/* ---- a registration ---- */

static void reg_mobile(int i, char out[11])
{
	mob(out, '9', 100000, i);
}

static char reg_tokens[4096][OTP_TOKEN_LEN];

static int reg_run(fx *f, int i)
{
	char mobile[11], email[64];
	reg_input in;
	field_errs fe;
	store_user u;

	assert_true(i < 4096);
	reg_mobile(i, mobile);
	snprintf(email, sizeof email, "person%d@doj.gov.in", i);
	if (!reg_tokens[i][0])
		assert_int_equal(otp_token_issue(&f->otp_in, mobile, OTP_PURPOSE_REGISTER, NULL, NOW,
						 reg_tokens[i]),
				 PV_OK);
	memset(&in, 0, sizeof in);
	in.first_name = "Ravi";
	in.last_name = "Kumar";
	in.position_id = "p-so";
	in.org_id = "d-doj";
	in.email = email;
	in.mobile = mobile;
	in.verification_token = reg_tokens[i];
	in.declaration = in.terms = 1;
	in.ip = "10.0.0.1";
	in.lang = "en";
	return reg_register(&f->reg_fs, &in, NOW, &fe, &u);
}

static void reg_check(fx *f, int i, int done, const char *ctx)
{
	char mobile[11], email[64], id[STORE_ID_MAX];
	long users, consents, tokens, mails;

	reg_mobile(i, mobile);
	snprintf(email, sizeof email, "person%d@doj.gov.in", i);
	users = count(f, "SELECT count(*) FROM users WHERE mobile = ?1", mobile);
	text(f, "SELECT id FROM users WHERE mobile = ?1", mobile, id, sizeof id);
	consents = count(f, "SELECT count(*) FROM consents c JOIN users u ON u.id = c.user_id WHERE u.mobile = ?1", mobile);
	tokens = count(f, "SELECT count(*) FROM tokens WHERE kind = 'activation' AND subject = ?1", id);
	mails = count(f, "SELECT count(*) FROM outbox WHERE to_addr = ?1", email);
	CHECKF(users == done && consents == 2 * done && tokens == done && mails == done,
	       "%s: users %ld, consents %ld, activation tokens %ld, e-mails %ld", ctx, users,
	       consents, tokens, mails);
}

static const fault_op op_registration = {"registration", reg_run, reg_check, 1, 0, NULL};

/* ---- an OTP login: the code's issue, then the login ---- */

static void login_mobile(int i, char out[11])
{
	mob(out, '8', 200000, i);
}

static void login_user(fx *f, int i)
{
	store_user u;
	char mobile[11];

	login_mobile(i, mobile);
	if (store_user_by_mobile(f->inner, mobile, &u) == PV_OK)
		return;
	memset(&u, 0, sizeof u);
	util_uuid(u.id);
	util_strlcpy(u.first_name, "Asha", sizeof u.first_name);
	util_strlcpy(u.last_name, "Verma", sizeof u.last_name);
	snprintf(u.email, sizeof u.email, "login%d@example.in", i);
	util_strlcpy(u.mobile, mobile, sizeof u.mobile);
	util_strlcpy(u.org_id, "d-doj", sizeof u.org_id);
	util_strlcpy(u.status, STORE_USER_ACTIVE, sizeof u.status);
	util_strlcpy(u.source, "admin", sizeof u.source);
	assert_int_equal(store_user_insert(f->inner, &u, NULL), PV_OK);
}

static int issue_run(fx *f, int i)
{
	char mobile[11], ip[32];
	otp_result res;
	int rc;

	login_user(f, i);
	login_mobile(i, mobile);
	snprintf(ip, sizeof ip, "10.1.%d.%d", i / 250, i % 250);
	rc = otp_request(&f->otp_fs, mobile, OTP_PURPOSE_LOGIN, NULL, ip, "en", NOW, &res);
	if (rc == PV_OK && res.status != OTP_OK)
		return PV_EDENIED; /* a limit counted a hit that was rolled back */
	return rc;
}

static void issue_check(fx *f, int i, int done, const char *ctx)
{
	char mobile[11], key[STORE_KEY_MAX], ip[32], pair[64];
	long codes, sms, limits = 0;
	/* the limits counted per address, per number and address, per number */
	static const char *const kinds[5] = {"otp-ip", "otp-hour", "otp-day", "otp-number-hour",
					     "otp-number-day"};

	login_mobile(i, mobile);
	snprintf(ip, sizeof ip, "10.1.%d.%d", i / 250, i % 250);
	snprintf(pair, sizeof pair, "%s|%s", mobile, ip);
	assert_int_equal(keys_subject(&f->k, "otp", mobile, key), PV_OK);
	codes = count(f, "SELECT count(*) FROM otps WHERE subject = ?1", key);
	sms = count(f, "SELECT count(*) FROM outbox WHERE to_addr = ?1", mobile);
	for (int k = 0; k < 5; k++) {
		assert_int_equal(keys_subject(&f->k, kinds[k], k == 0 ? ip : k < 3 ? pair : mobile, key),
				 PV_OK);
		limits += count(f, "SELECT count(*) FROM throttles WHERE tkey = ?1 AND hits = 1", key);
	}
	CHECKF(codes == done && sms == done && limits == 5 * done,
	       "%s: codes %ld, SMS %ld, limits counted %ld", ctx, codes, sms, limits);
}

static const fault_op op_otp_issue = {"OTP issue", issue_run, issue_check, 1, 0, NULL};

static char login_codes[4096][7];

static int login_run(fx *f, int i)
{
	char mobile[11], ip[32];
	otp_result res;
	sess_login_result lr;
	int rc;

	assert_true(i < 4096);
	login_user(f, i);
	login_mobile(i, mobile);
	if (!login_codes[i][0]) {
		snprintf(ip, sizeof ip, "10.2.%d.%d", i / 250, i % 250);
		assert_int_equal(otp_issue(&f->otp_in, mobile, OTP_PURPOSE_LOGIN, ip, OTP_SEND_NOTHING,
					   "en", NOW, login_codes[i], &res),
				 PV_OK);
		assert_int_equal(res.status, OTP_OK);
	}
	rc = sess_login_otp(&f->sess_fs, &f->otp_fs, mobile, login_codes[i], "10.3.0.1", NOW + 1000,
			    &lr);
	if (rc == PV_OK && lr.status != SESS_LOGIN_OK)
		return PV_EDENIED;
	return rc;
}

static void login_check(fx *f, int i, int done, const char *ctx)
{
	char mobile[11], key[STORE_KEY_MAX];
	long sessions, used, live, fails;

	login_mobile(i, mobile);
	sessions = count(f, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.mobile = ?1", mobile);
	assert_int_equal(keys_subject(&f->k, "otp", mobile, key), PV_OK);
	used = count(f, "SELECT count(*) FROM otps WHERE subject = ?1 AND state = 1", key);
	live = count(f, "SELECT count(*) FROM otps WHERE subject = ?1 AND state = 0", key);
	assert_int_equal(keys_subject(&f->k, "login-fail", mobile, key), PV_OK);
	fails = count(f, "SELECT count(*) FROM throttles WHERE tkey = ?1", key);
	/* the address's attempt, counted up front, is given back or rolled back */
	assert_int_equal(keys_subject(&f->k, "otp-fail-ip", "10.3.0.1", key), PV_OK);
	fails += count(f, "SELECT coalesce(sum(hits), 0) FROM throttles WHERE tkey = ?1", key);
	CHECKF(sessions == done && used == done && live == !done && fails == 0,
	       "%s: sessions %ld, codes used %ld, live %ld, failures counted %ld", ctx, sessions,
	       used, live, fails);
}

static const fault_op op_otp_login = {"OTP login", login_run, login_check, 1, 0, NULL};

/* ---- an SPV approval ---- */

static void rq_name(int i, char *out, size_t cap)
{
	snprintf(out, cap, "Requested Thing %d", i);
}

static int approve_run(fx *f, int i, const char *kind)
{
	store_request r, existing, out;
	rq_decision d;
	field_errs fe;
	char id[STORE_ID_MAX];
	int rc;

	snprintf(id, sizeof id, "req-%s-%d", kind, i);
	if (store_request_get(f->inner, id, &r) != PV_OK) {
		memset(&r, 0, sizeof r);
		util_strlcpy(r.id, id, sizeof r.id);
		util_strlcpy(r.kind, kind, sizeof r.kind);
		util_strlcpy(r.full_name, "Anu Sharma", sizeof r.full_name);
		snprintf(r.email, sizeof r.email, "req%d@nic.in", i);
		mob(r.mobile, '7', 300000, i);
		rq_name(i, r.name, sizeof r.name);
		if (strcmp(kind, "organisation") == 0) {
			util_strlcpy(r.sector, "center", sizeof r.sector);
			util_strlcpy(r.parent_id, "m-law", sizeof r.parent_id);
		}
		r.created_at = NOW;
		assert_int_equal(store_request_insert(f->inner, &r, &existing), PV_OK);
	}
	memset(&d, 0, sizeof d);
	d.actor_id = "spv-admin";
	d.ip = "10.0.0.9";
	rc = rq_approve(&f->rq_fs, id, &d, NOW, &fe, &out);
	return rc;
}

static void approve_check(fx *f, int i, int done, const char *ctx, const char *kind)
{
	char id[STORE_ID_MAX], name[128], status[32], mobile[11], email[64];
	long made, msgs, audit;

	snprintf(id, sizeof id, "req-%s-%d", kind, i);
	rq_name(i, name, sizeof name);
	snprintf(email, sizeof email, "req%d@nic.in", i);
	mob(mobile, '7', 300000, i);
	text(f, "SELECT status FROM requests WHERE id = ?1", id, status, sizeof status);
	made = count(f, strcmp(kind, "position") == 0 ? "SELECT count(*) FROM positions WHERE name = ?1"
						       : "SELECT count(*) FROM orgs WHERE name = ?1",
		     name);
	msgs = count(f, "SELECT count(*) FROM outbox WHERE to_addr IN (?1, (SELECT email FROM requests WHERE mobile = ?1))",
		     mobile);
	audit = count(f, "SELECT count(*) FROM audit WHERE action_name = 'approve' AND target = ?1", id);
	CHECKF(strcmp(status, done ? "approved" : "pending") == 0 && made == done &&
		       msgs == 2 * done && audit == done,
	       "%s: request %s, created %ld, messages %ld, audit rows %ld", ctx, status, made, msgs,
	       audit);
}

static int approve_pos_run(fx *f, int i)
{
	return approve_run(f, i, "position");
}

static void approve_pos_check(fx *f, int i, int done, const char *ctx)
{
	approve_check(f, i, done, ctx, "position");
}

static int approve_org_run(fx *f, int i)
{
	return approve_run(f, i, "organisation");
}

static void approve_org_check(fx *f, int i, int done, const char *ctx)
{
	approve_check(f, i, done, ctx, "organisation");
}

static const fault_op op_approve_pos = {"SPV approval of a position", approve_pos_run,
					approve_pos_check, 1, 0, NULL};
static const fault_op op_approve_org = {"SPV approval of an organisation under a parent",
					approve_org_run, approve_org_check, 1, 0, NULL};

/* ---- an administrator's creation (user, role, credential, audit) ---- */

static int admin_run(fx *f, int i)
{
	char user[32], email[64], mobile[11];
	acct_admin a;
	field_errs fe;

	snprintf(user, sizeof user, "mdo.admin.%d", i);
	snprintf(email, sizeof email, "mdo%d@doj.gov.in", i);
	mob(mobile, '6', 400000, i);
	memset(&a, 0, sizeof a);
	a.role = "mdo";
	a.username = user;
	a.password = "a long enough password";
	a.org_id = "d-doj";
	a.first_name = "Meera";
	a.last_name = "Iyer";
	a.email = email;
	a.mobile = mobile;
	a.actor_id = "spv-admin";
	a.ip = "10.0.0.9";
	return acct_admin_create(f->fs, &f->pol, &a, NOW, &fe, NULL);
}

static void admin_check(fx *f, int i, int done, const char *ctx)
{
	char mobile[11], user[32];
	long users, roles, creds, audit;

	snprintf(user, sizeof user, "mdo.admin.%d", i);
	mob(mobile, '6', 400000, i);
	users = count(f, "SELECT count(*) FROM users WHERE mobile = ?1", mobile);
	roles = count(f, "SELECT count(*) FROM roles r JOIN users u ON u.id = r.user_id WHERE u.mobile = ?1", mobile);
	creds = count(f, "SELECT count(*) FROM credentials WHERE username = ?1", user);
	audit = count(f, "SELECT count(*) FROM audit a JOIN users u ON u.id = a.target WHERE a.action_name = 'create_admin' AND u.mobile = ?1",
		      mobile);
	CHECKF(users == done && roles == done && creds == done && audit == done,
	       "%s: users %ld, roles %ld, credentials %ld, audit rows %ld", ctx, users, roles,
	       creds, audit);
}

static const fault_op op_admin = {"administrator creation", admin_run, admin_check, 1, 0, NULL};

static void test_registration(void **state)
{
	walk(*state, &op_registration);
}

static void test_otp_issue(void **state)
{
	walk(*state, &op_otp_issue);
}

static void test_otp_login(void **state)
{
	walk(*state, &op_otp_login);
}

static void test_approval(void **state)
{
	walk(*state, &op_approve_pos);
	walk(*state, &op_approve_org);
}

static void test_admin_create(void **state)
{
	walk(*state, &op_admin);
}

/* ---- the chunks of a bulk upload, through the worker ---- */

#define UP_ROWS 7 /* 5 good, an invalid mobile, a repeated e-mail */
#define UP_GOOD 5
#define UP_CHUNK 2

static char up_ids[4096][STORE_ID_MAX];

static void up_file(fx *f, int i, char *path, size_t cap)
{
	FILE *out;

	snprintf(path, cap, "%s/up-%d.csv", f->dir, i);
	out = fopen(path, "w");
	assert_non_null(out);
	fprintf(out, "First Name,Last Name,Email Id,Mobile Number\n");
	for (int k = 0; k < UP_GOOD; k++)
		fprintf(out, "Bulk,Person,bulk%d.%d@example.in,7%09d\n", i, k, 500000 + i * 10 + k);
	fprintf(out, "Bad,Mobile,bad%d@example.in,12345\n", i);
	fprintf(out, "Dup,Email,bulk%d.0@example.in,7%09d\n", i, 500000 + i * 10 + 9);
	fclose(out);
}

/* Runs the worker's step until upload i is finished; the first step is
 * the one the fault is armed for. Returns that step's answer. */
static int upload_run(fx *f, int i)
{
	job_env env;
	char path[256];
	store_upload u;
	int rc, first = PV_OK, claimed;

	assert_true(i < 4096);
	if (!up_ids[i][0]) {
		up_file(f, i, path, sizeof path);
		assert_int_equal(job_intake(f->inner,
					    &(job_intake_in){path, 0, "users.csv", "d-doj", "csv",
							     "mdo", "10.0.0.7", NULL, 1, NOW},
					    &u),
				 PV_OK);
		util_strlcpy(up_ids[i], u.id, sizeof up_ids[i]);
		unlink(path);
	}
	memset(&env, 0, sizeof env);
	env.st = f->fs;
	env.worker = "worker-under-test";
	env.official_domains = "gov.in,nic.in";
	env.login_url = "http://127.0.0.1:8080/login";
	env.lang = "en";
	env.chunk_rows = UP_CHUNK;
	env.lease_ms = 100;
	env.tmp_dir = f->dir;
	for (int step = 0; step < 500; step++) {
		rc = job_work_once(&env, &claimed);
		if (step == 0)
			first = rc;
		assert_int_equal(store_upload_get(f->inner, up_ids[i], &u), PV_OK);
		if (strcmp(u.status, STORE_UP_SUCCESSFUL) == 0 || strcmp(u.status, STORE_UP_FAILED) == 0)
			return first == PV_ENOTFOUND ? PV_OK : first;
		if (rc == PV_ENOTFOUND) /* its lease is still held: wait it out */
			pause_ms(20);
	}
	fail_msg("upload %d never finished (status %s)", i, u.status);
	return PV_ESTORE;
}

static void upload_check(fx *f, int i, int done, const char *ctx)
{
	char st[32];
	long users, fails, camps, ok, bad, total;
	const char *id = up_ids[i];

	/* whatever the fault, the worker went on: the upload always ends,
	 * with every row once */
	(void)done;
	text(f, "SELECT status FROM uploads WHERE id = ?1", id, st, sizeof st);
	{
		char pat[32];

		snprintf(pat, sizeof pat, "bulk%d.%%", i);
		users = count(f, "SELECT count(*) FROM users WHERE source = 'bulk' AND email LIKE ?1", pat);
	}
	/* the welcome messages: one campaign per channel over the upload's
	 * users, made with its first chunk */
	camps = count(f, "SELECT count(*) FROM campaigns WHERE upload_id = ?1 AND template_name IN ('welcome_sms', 'welcome_email')",
		      id);
	fails = count(f, "SELECT count(*) FROM upload_failures WHERE upload_id = ?1", id);
	ok = count(f, "SELECT success_records FROM uploads WHERE id = ?1", id);
	bad = count(f, "SELECT failed_records FROM uploads WHERE id = ?1", id);
	total = count(f, "SELECT total_records FROM uploads WHERE id = ?1", id);
	CHECKF(strcmp(st, STORE_UP_FAILED) == 0 && users == UP_GOOD && ok == UP_GOOD &&
		       fails == UP_ROWS - UP_GOOD && bad == UP_ROWS - UP_GOOD &&
		       total == UP_ROWS && camps == 2,
	       "%s: status %s, users %ld (counted %ld), failures %ld (counted %ld), total %ld, welcome campaigns %ld",
	       ctx, st, users, ok, fails, bad, total, camps);
}

static const fault_op op_upload = {"bulk upload chunks", upload_run, upload_check, 0, 0,
				   "user_insert_batch"};

static void test_upload_chunks(void **state)
{
	walk(*state, &op_upload);
}

/* ---- an outbox delivery, through the delivery workers ---- */

typedef struct rec_transport {
	notify_transport base;
	pthread_mutex_t mu;
	char sent[256][64]; /* recipients of successful sends */
	int nsent;
	char failed_once[256][64];
	int nfailed;
} rec_transport;

static int rec_send(notify_transport *t, const notify_msg *m, char *err, size_t errlen)
{
	rec_transport *r = (rec_transport *)t;
	int rc = PV_OK, seen = 0;

	pthread_mutex_lock(&r->mu);
	/* "fail1-" recipients fail their first attempt */
	if (strncmp(m->to, "fail1-", 6) == 0) {
		for (int k = 0; k < r->nfailed; k++)
			seen |= strcmp(r->failed_once[k], m->to) == 0;
		if (!seen && r->nfailed < 256) {
			util_strlcpy(r->failed_once[r->nfailed++], m->to, 64);
			snprintf(err, errlen, "the gateway is down");
			rc = PV_EIO;
		}
	}
	if (rc == PV_OK && r->nsent < 256)
		util_strlcpy(r->sent[r->nsent++], m->to, 64);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static void rec_destroy(notify_transport *t)
{
	(void)t;
}

static rec_transport rec = {{"recorder", rec_send, rec_destroy}, PTHREAD_MUTEX_INITIALIZER, {{0}}, 0, {{0}}, 0};
static notify_runtime *rt;
static notify_templates *tpl;

static int rec_count(const char *to)
{
	int n = 0;

	pthread_mutex_lock(&rec.mu);
	for (int k = 0; k < rec.nsent; k++)
		n += strcmp(rec.sent[k], to) == 0;
	pthread_mutex_unlock(&rec.mu);
	return n;
}

static void outbox_addr(int i, int fail_first, char *out, size_t cap)
{
	snprintf(out, cap, "%sperson%d@example.in", fail_first ? "fail1-" : "", i);
}

/* Queues message i and waits until the workers have delivered it, then
 * waits out a lease: a message whose outcome was lost would be sent
 * again by then. */
static int outbox_run_kind(fx *f, int i, int fail_first)
{
	char to[64], st[32] = "";
	int64_t id;

	outbox_addr(i, fail_first, to, sizeof to);
	assert_int_equal(notify_enqueue(f->inner, NOTIFY_CHANNEL_EMAIL, to, "welcome_email", "en",
					"{\"first_name\":\"Ravi\",\"org_name\":\"DoJ\",\"login_url\":\"http://x/login\"}",
					&id),
			 PV_OK);
	for (int k = 0; k < 2000 && strcmp(st, STORE_OUT_SENT) != 0; k++) {
		notify_kick(); /* a worker that failed to claim waits for this */
		pause_ms(5);
		text(f, "SELECT status FROM outbox WHERE to_addr = ?1", to, st, sizeof st);
	}
	for (int k = 0; k < 6; k++) {
		pause_ms(30); /* the lease is 100 ms */
		notify_kick();
	}
	return PV_OK;
}

static void outbox_check_kind(fx *f, int i, int fail_first, const char *ctx)
{
	char to[64], st[32];
	int sent;

	outbox_addr(i, fail_first, to, sizeof to);
	text(f, "SELECT status FROM outbox WHERE to_addr = ?1", to, st, sizeof st);
	sent = rec_count(to);
	CHECKF(strcmp(st, STORE_OUT_SENT) == 0 && sent == 1, "%s: status %s, sent %d times", ctx, st,
	       sent);
}

static int outbox_run(fx *f, int i)
{
	return outbox_run_kind(f, i, 0);
}

static void outbox_check(fx *f, int i, int done, const char *ctx)
{
	(void)done;
	outbox_check_kind(f, i, 0, ctx);
}

static int outbox_fail_run(fx *f, int i)
{
	return outbox_run_kind(f, i, 1);
}

static void outbox_fail_check(fx *f, int i, int done, const char *ctx)
{
	(void)done;
	outbox_check_kind(f, i, 1, ctx);
}

static const fault_op op_outbox = {"outbox delivery", outbox_run, outbox_check, 0, 1, NULL};
static const fault_op op_outbox_retry = {"outbox delivery after a failed attempt",
					 outbox_fail_run, outbox_fail_check, 0, 1, NULL};

static void test_outbox_delivery(void **state)
{
	fx *f = *state;
	notify_config nc;
	char err[256];

	assert_int_equal(notify_templates_load("templates", &tpl, err, sizeof err), PV_OK);
	memset(&nc, 0, sizeof nc);
	nc.st = f->fs;
	nc.templates = tpl;
	nc.mail = &rec.base;
	nc.workers = 1;
	nc.lease_ms = 100;
	nc.poll_ms = 60000; /* only kicks wake the worker: the calls are the test's */
	nc.backoff_ms = 10;
	nc.backoff_max_ms = 10;
	assert_int_equal(notify_start(&nc, &rt), PV_OK);
	walk(f, &op_outbox);
	walk(f, &op_outbox_retry);
	notify_stop(rt);
	notify_templates_free(tpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_otp_issue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_otp_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_delivery, setup, teardown),
	};

	log_set_level(getenv("FAULTS_LOG") ? LOG_DEBUG : LOG_ERROR + 1); /* injected faults log errors by design */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
