/* test_http_faults: the HTTP side of injected store faults. The real
 * server (http_server_start, the route table, the handlers, problem.c) runs
 * in this process over a store wrapped by tests/support/faultstore, and a
 * real HTTP client (libcurl) sends requests. Walking N over every store call
 * of a request, each fault must end in the request's normal answer (a busy
 * transaction retried) or in a 503 problem+json (store_unavailable for an
 * I/O error, busy for a busy store) with Retry-After, and the store must
 * hold all of the request's writes or none. Nothing in the shipped binary
 * knows about faults: the store is chosen here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "core/accounts.h"
#include "core/directory.h"
#include "core/keys.h"
#include "core/otp.h"
#include "core/registration.h"
#include "core/requests.h"
#include "core/sessions.h"
#include "http/http.h"
#include "store/store.h"
#include "support/faultstore.h"
#include "support/tmpstore.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

typedef struct fx {
	char dir[64], path[128], base[64];
	store *inner, *fs;
	sqlite3 *db;
	pv_config cfg;
	app a;
	keys k;
	otp_svc otp;
	sess_svc sess;
	acct_policy acct;
	reg_svc reg;
	rq_svc rq;
	http_server *srv;
	int seq;
} fx;

typedef struct reply {
	long status;
	char retry_after[16];
	char ctype[64];
	buf body;
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	buf *b = ctx;

	return buf_add(b, p, size * n) == PV_OK ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	reply *r = ctx;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		util_strncpy0(r->retry_after, sizeof r->retry_after, p + 13, strcspn(p + 13, "\r\n"));
	if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
		util_strncpy0(r->ctype, sizeof r->ctype, p + 14, strcspn(p + 14, "\r\n"));
	return len;
}

static void post(fx *f, const char *path, const char *json, reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[256];

	memset(r, 0, sizeof *r);
	buf_init(&r->body, 1 << 20);
	snprintf(url, sizeof url, "%s%s", f->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static long count(fx *f, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	long n = -1;

	assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	static char *argv[] = {"--listen", "127.0.0.1:0", "--web-root", "web", NULL};
	const char *pos[4];
	size_t npos = 0;
	int help = 0;
	unsigned port = 0;
	store_org o;
	store_position p;

	if (!f || tmpstore_open(f->dir, sizeof f->dir, f->path, sizeof f->path, &f->inner) != 0 ||
	    keys_load(NULL, KEY_HEX, &f->k) != PV_OK || !(f->fs = faultstore_wrap(f->inner)) ||
	    config_parse(&f->cfg, 4, argv, pos, 4, &npos, &help) != PV_OK)
		return -1;
	f->cfg.data_dir = f->dir;
	memset(&o, 0, sizeof o);
	util_strlcpy(o.id, "d-doj", sizeof o.id);
	util_strlcpy(o.name, "Department of Justice", sizeof o.name);
	util_strlcpy(o.sector, "center", sizeof o.sector);
	util_strlcpy(o.type, "department", sizeof o.type);
	o.active = 1;
	memset(&p, 0, sizeof p);
	util_strlcpy(p.id, "p-so", sizeof p.id);
	util_strlcpy(p.name, "Section Officer", sizeof p.name);
	p.active = 1;
	if (store_org_upsert(f->inner, &o) != PV_OK || store_position_insert(f->inner, &p) != PV_OK ||
	    sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	f->a.cfg = &f->cfg;
	f->a.st = f->fs;
	if (dir_open(f->inner, &f->a.dir) != PV_OK)
		return -1;
	f->otp.st = f->fs;
	f->otp.k = &f->k;
	otp_policy_default(&f->otp.pol);
	f->otp.pol.per_ip_hour = 1000000;
	f->sess.st = f->fs;
	f->sess.k = &f->k;
	f->sess.idle_s = 1800;
	f->sess.absolute_s = 43200;
	acct_policy_default(&f->acct);
	f->acct.key = &f->k;
	f->reg.st = f->fs;
	f->reg.dir = f->a.dir;
	f->reg.otp = &f->otp;
	f->reg.official_domains = "gov.in,nic.in";
	f->reg.public_url = f->a.public_url;
	f->reg.activation_ttl_s = 86400;
	f->reg.resend_per_hour = 3;
	f->rq.st = f->fs;
	f->rq.dir = f->a.dir;
	f->rq.otp = &f->otp;
	f->a.otp = &f->otp;
	f->a.sess = &f->sess;
	f->a.acct = &f->acct;
	f->a.reg = &f->reg;
	f->a.rq = &f->rq;
	util_strlcpy(f->a.public_url, "http://127.0.0.1", sizeof f->a.public_url);
	if (http_server_start(&f->a, &f->srv, &port) != PV_OK)
		return -1;
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", port);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	http_server_stop(f->srv);
	dir_close(f->a.dir);
	sqlite3_close(f->db);
	store_close(f->fs);
	tmpstore_remove(f->inner, f->dir, f->path);
	free(f);
	return 0;
}

typedef struct http_op {
	const char *name;
	/* sends request i; fills r */
	void (*send)(fx *f, int i, reply *r);
	int ok_status; /* the normal answer */
	/* 1 when the store holds all of request i, 0 when none, -1 else */
	int (*state)(fx *f, int i);
} http_op;

/* The answer to a request that met a store fault: the normal one, or a
 * 503 problem+json with Retry-After whose code says why. */
static void check_answer(const http_op *op, const reply *r, int err, const char *ctx)
{
	json_t *doc;
	const char *code;

	if (r->status == op->ok_status)
		return;
	if (r->status != 503)
		fail_msg("%s: answered %ld %s", ctx, r->status, r->body.p ? r->body.p : "");
	if (strcmp(r->ctype, "application/problem+json") != 0 || !r->retry_after[0])
		fail_msg("%s: a 503 without problem+json or Retry-After (%s, '%s')", ctx, r->ctype,
			 r->retry_after);
	assert_int_equal(http_parse_json_object(r->body.p, r->body.len, &doc), PV_OK);
	code = json_string_value(json_object_get(doc, "code"));
	if (!code || strcmp(code, err == PV_EBUSY ? "busy" : "store_unavailable") != 0)
		fail_msg("%s: 503 with code %s", ctx, code ? code : "(none)");
	json_decref(doc);
}

static void walk(fx *f, const http_op *op)
{
	static const int errs[2] = {PV_ESTORE, PV_EBUSY};
	char ctx[160];
	reply r;
	long calls;
	int i = f->seq++, st;

	faultstore_arm(f->fs, 0, 0);
	op->send(f, i, &r);
	if (r.status != op->ok_status)
		fail_msg("%s without a fault answered %ld: %s", op->name, r.status, r.body.p);
	buf_free(&r.body);
	calls = faultstore_calls(f->fs);
	assert_int_equal(op->state(f, i), 1);
	for (long n = 1; n <= calls; n++) {
		for (int e = 0; e < 2; e++) {
			const char *at = NULL;

			i = f->seq++;
			faultstore_arm(f->fs, n, errs[e]);
			op->send(f, i, &r);
			faultstore_fired(f->fs, &at, NULL);
			faultstore_arm(f->fs, 0, 0);
			snprintf(ctx, sizeof ctx, "%s, %s at call %ld of %ld (%s)", op->name,
				 pv_errname(errs[e]), n, calls, at ? at : "not reached");
			if (!at)
				fail_msg("%s: the fault was not injected", ctx);
			check_answer(op, &r, errs[e], ctx);
			st = op->state(f, i);
			if (st != (r.status == op->ok_status))
				fail_msg("%s: answered %ld but the store holds %s", ctx, r.status,
					 st == 1 ? "all of it" : st == 0 ? "none of it" : "part of it");
			buf_free(&r.body);
		}
	}
}

/* ---- POST /api/v1/otp ---- */

static void mobile_of(int i, char lead, char *out)
{
	snprintf(out, 11, "%c%09u", lead, (unsigned)(700000 + i) % 1000000000u);
}

static void otp_send(fx *f, int i, reply *r)
{
	char body[128], m[11];

	mobile_of(i, '9', m);
	snprintf(body, sizeof body, "{\"mobile\":\"%s\",\"purpose\":\"register\"}", m);
	post(f, "/api/v1/otp", body, r);
}

static int otp_state(fx *f, int i)
{
	char m[11], key[STORE_KEY_MAX];
	long codes, sms;

	mobile_of(i, '9', m);
	assert_int_equal(keys_subject(&f->k, "otp", m, key), PV_OK);
	codes = count(f, "SELECT count(*) FROM otps WHERE subject = ?1", key);
	sms = count(f, "SELECT count(*) FROM outbox WHERE to_addr = ?1", m);
	return codes == 1 && sms == 1 ? 1 : codes == 0 && sms == 0 ? 0 : -1;
}

static const http_op op_otp = {"POST /api/v1/otp", otp_send, 202, otp_state};

/* ---- POST /api/v1/registrations ---- */

static void reg_send(fx *f, int i, reply *r)
{
	char body[512], m[11], token[OTP_TOKEN_LEN];
	otp_svc in = f->otp;

	mobile_of(i, '8', m);
	in.st = f->inner;
	assert_int_equal(otp_token_issue(&in, m, OTP_PURPOSE_REGISTER, NULL, util_now_ms(), token), PV_OK);
	snprintf(body, sizeof body,
		 "{\"first_name\":\"Ravi\",\"last_name\":\"Kumar\",\"position_id\":\"p-so\","
		 "\"org_id\":\"d-doj\",\"email\":\"r%d@doj.gov.in\",\"mobile\":\"%s\","
		 "\"verification_token\":\"%s\",\"declaration\":true,\"terms\":true}",
		 i, m, token);
	post(f, "/api/v1/registrations", body, r);
}

static int reg_state(fx *f, int i)
{
	char m[11];
	long users, consents, mails;

	mobile_of(i, '8', m);
	users = count(f, "SELECT count(*) FROM users WHERE mobile = ?1", m);
	consents = count(f, "SELECT count(*) FROM consents c JOIN users u ON u.id = c.user_id WHERE u.mobile = ?1", m);
	mails = count(f, "SELECT count(*) FROM outbox o JOIN users u ON u.email = o.to_addr WHERE u.mobile = ?1", m);
	return users == 1 && consents == 2 && mails == 1 ? 1
	       : users == 0 && consents == 0 ? 0 : -1;
}

static const http_op op_reg = {"POST /api/v1/registrations", reg_send, 201, reg_state};

static void test_otp_send(void **state)
{
	walk(*state, &op_otp);
}

static void test_registration(void **state)
{
	walk(*state, &op_reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_otp_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
	};

	log_set_level(LOG_ERROR + 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
