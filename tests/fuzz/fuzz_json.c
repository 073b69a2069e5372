/* fuzz_json: the JSON request bodies of registration, OTP (send, verify,
 * login), requests for help and SPV decisions, through the same parsing
 * and validation the handlers use: http_parse_json_object (the body),
 * body_*() (http/bodies.c: members and types) and core's checks
 * (reg_validate, rq_validate, rq_decision_validate, val_mobile and the
 * OTP purposes). Core reads a small directory and store made once in a
 * temporary folder; nothing is written.
 * Input: [route selector] JSON bytes.
 * Promises held: a refused body answers a 400 problem; an accepted
 * registration or request holds only valid names, an e-mail, a 10-digit
 * mobile and directory entries that exist and are active; a refusal names
 * at least one field. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/directory.h"
#include "core/fielderr.h"
#include "core/keys.h"
#include "core/otp.h"
#include "core/registration.h"
#include "core/requests.h"
#include "core/validate.h"
#include "fuzz_support.h"
#include "http/bodies.h"
#include "http/http.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/util.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char dir_path[64], db_path[128];
static store *st;
static directory *dir;
static keys key;
static otp_svc otp;
static reg_svc reg;
static rq_svc rq;

static void cleanup(void)
{
	dir_close(dir);
	tmpstore_remove(st, dir_path, db_path);
}

static void add_org(const char *id, const char *name, const char *parent, int active)
{
	store_org o;

	memset(&o, 0, sizeof o);
	util_strlcpy(o.id, id, sizeof o.id);
	util_strlcpy(o.name, name, sizeof o.name);
	util_strlcpy(o.sector, "center", sizeof o.sector);
	util_strlcpy(o.type, "ministry", sizeof o.type);
	util_strlcpy(o.parent_id, parent, sizeof o.parent_id);
	o.active = active;
	if (store_org_upsert(st, &o) != PV_OK)
		abort();
}

static void add_position(const char *id, const char *name, int active)
{
	store_position p;

	memset(&p, 0, sizeof p);
	util_strlcpy(p.id, id, sizeof p.id);
	util_strlcpy(p.name, name, sizeof p.name);
	p.active = active;
	if (store_position_insert(st, &p) != PV_OK)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (tmpstore_open(dir_path, sizeof dir_path, db_path, sizeof db_path, &st) != 0 ||
	    keys_load(NULL, KEY_HEX, &key) != PV_OK)
		abort();
	add_org("m-law", "Ministry of Law and Justice", "", 1);
	add_org("d-doj", "Department of Justice", "m-law", 1);
	add_org("d-old", "Old Department", "m-law", 0);
	add_position("p-so", "Section Officer", 1);
	add_position("p-old", "Old Position", 0);
	if (dir_open(st, &dir) != PV_OK)
		abort();
	atexit(cleanup);
	otp.st = st;
	otp.k = &key;
	otp_policy_default(&otp.pol);
	reg.st = st;
	reg.dir = dir;
	reg.otp = &otp;
	reg.official_domains = "gov.in,nic.in";
	reg.public_url = "http://127.0.0.1:8080";
	reg.activation_ttl_s = 86400;
	reg.resend_per_hour = 3;
	rq.st = st;
	rq.dir = dir;
	rq.otp = &otp;
	return 0;
}

static void resp_clear(http_resp *r)
{
	free(r->body);
	for (size_t i = 0; i < r->nhdr; i++)
		free(r->hval[i]);
	memset(r, 0, sizeof *r);
	r->fd = -1;
}

/* A refusal by body_*(): a 400 problem whose body is JSON. */
static void check_refusal(const http_resp *r)
{
	json_t *doc = NULL;

	FUZZ_CHECK(r->status == 400);
	FUZZ_CHECK(r->body && http_parse_json_object(r->body, r->len, &doc) == PV_OK);
	FUZZ_CHECK(json_is_string(json_object_get(doc, "code")));
	json_decref(doc);
}

static void check_fields(int rc, const field_errs *fe)
{
	FUZZ_CHECK(rc == PV_OK || rc == PV_EINVAL);
	if (rc == PV_EINVAL)
		FUZZ_CHECK(fe->n > 0 && fe->n <= FIELDERR_MAX);
	for (size_t i = 0; i < fe->n; i++)
		FUZZ_CHECK(fe->e[i].field && fe->e[i].code && fe->e[i].message);
}

static void check_person(const char *first, const char *last, const char *email,
			 const char *mobile)
{
	char again[11];

	if (first)
		FUZZ_CHECK(val_name(first, strlen(first)));
	if (last)
		FUZZ_CHECK(val_name(last, strlen(last)));
	FUZZ_CHECK(val_email(email, strlen(email)));
	FUZZ_CHECK(strlen(mobile) == 10 && val_mobile(mobile, 10, again) &&
		   strcmp(again, mobile) == 0);
}

static void fuzz_registration(json_t *body, http_resp *resp)
{
	reg_input in;
	store_user u;
	field_errs fe;
	int rc;

	if (body_registration(body, &in, resp) != PV_OK) {
		check_refusal(resp);
		return;
	}
	in.ip = "127.0.0.1";
	in.lang = "en";
	rc = reg_validate(&reg, &in, 1700000000000LL, &u, &fe);
	check_fields(rc, &fe);
	if (rc != PV_OK)
		return;
	check_person(u.first_name, u.last_name, u.email, u.mobile);
	FUZZ_CHECK(strcmp(u.org_id, "m-law") == 0 || strcmp(u.org_id, "d-doj") == 0);
	FUZZ_CHECK(strcmp(u.position_id, "p-so") == 0);
	FUZZ_CHECK(strcmp(u.status, STORE_USER_PENDING) == 0);
	FUZZ_CHECK(in.declaration && in.terms && in.verification_token && *in.verification_token);
}

static void fuzz_request(json_t *body, http_resp *resp)
{
	rq_input in;
	store_request r;
	field_errs fe;
	int rc;

	if (body_request(body, &in, resp) != PV_OK) {
		check_refusal(resp);
		return;
	}
	rc = rq_validate(&rq, &in, 1700000000000LL, &r, &fe);
	check_fields(rc, &fe);
	if (rc != PV_OK)
		return;
	check_person(r.full_name, NULL, r.email, r.mobile);
	FUZZ_CHECK(strcmp(r.kind, "position") == 0 || strcmp(r.kind, "organisation") == 0);
	FUZZ_CHECK(strlen(r.name) >= 2 && val_text(r.name, strlen(r.name), 0));
	FUZZ_CHECK(val_text(r.details, strlen(r.details), 1));
	FUZZ_CHECK(!r.parent_id[0] || strcmp(r.parent_id, "m-law") == 0 ||
		   strcmp(r.parent_id, "d-doj") == 0);
}

static void fuzz_decision(json_t *body, http_resp *resp, int approve)
{
	rq_decision d;
	field_errs fe;
	int rc;

	if (body_decision(body, &d, resp) != PV_OK) {
		check_refusal(resp);
		return;
	}
	rc = rq_decision_validate(&d, approve, &fe);
	check_fields(rc, &fe);
	if (rc == PV_OK && !approve)
		FUZZ_CHECK(d.reason != NULL);
}

static void fuzz_otp(json_t *body, http_resp *resp, enum body_otp_kind kind)
{
	body_otp_in in;
	char again[11];

	if (body_otp(body, kind, &in, resp) != PV_OK) {
		check_refusal(resp);
		return;
	}
	FUZZ_CHECK(strlen(in.mobile) == 10 && val_mobile(in.mobile, 10, again));
	if (kind == BODY_OTP_SEND)
		FUZZ_CHECK(otp_purpose_valid(in.purpose));
	if (kind == BODY_OTP_VERIFY)
		FUZZ_CHECK(otp_purpose_verifiable(in.purpose) && otp_purpose_valid(in.purpose));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = NULL;
	http_resp resp;
	int rc;

	if (size < 1)
		return 0;
	rc = http_parse_json_object((const char *)data + 1, size - 1, &body);
	if (rc != PV_OK) {
		FUZZ_CHECK(body == NULL && (rc == PV_EINVAL || rc == PV_EFORMAT));
		return 0;
	}
	memset(&resp, 0, sizeof resp);
	resp.fd = -1;
	switch (data[0] % 7) {
	case 0: fuzz_registration(body, &resp); break;
	case 1: fuzz_request(body, &resp); break;
	case 2: fuzz_decision(body, &resp, 1); break;
	case 3: fuzz_decision(body, &resp, 0); break;
	case 4: fuzz_otp(body, &resp, BODY_OTP_SEND); break;
	case 5: fuzz_otp(body, &resp, BODY_OTP_VERIFY); break;
	default: fuzz_otp(body, &resp, BODY_OTP_LOGIN); break;
	}
	resp_clear(&resp);
	json_decref(body);
	return 0;
}
