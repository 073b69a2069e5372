/* Requests for help and the SPV's decisions (src/core/requests.c). The
 * regression here (found by tests/fuzz/fuzz_json.c): an approval whose
 * corrected name is blank was refused with no field named, and had it gone
 * through it would have created a position without a name. A blank
 * correction is no correction: the name asked for stays. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/directory.h"
#include "core/keys.h"
#include "core/otp.h"
#include "core/requests.h"
#include "store/store.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define NOW 1700000000000LL

typedef struct fx {
	char dir[64], path[128];
	store *st;
	keys k;
	otp_svc otp;
	rq_svc rq;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);

	if (!f || tmpstore_open(f->dir, sizeof f->dir, f->path, sizeof f->path, &f->st) != 0 ||
	    keys_load(NULL, KEY_HEX, &f->k) != PV_OK)
		return -1;
	f->otp.st = f->st;
	f->otp.k = &f->k;
	otp_policy_default(&f->otp.pol);
	f->rq.st = f->st;
	f->rq.otp = &f->otp;
	if (dir_open(f->st, &f->rq.dir) != PV_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	dir_close(f->rq.dir);
	tmpstore_remove(f->st, f->dir, f->path);
	free(f);
	return 0;
}

static void pending(fx *f, const char *id, const char *name)
{
	store_request r, existing;

	memset(&r, 0, sizeof r);
	util_strlcpy(r.id, id, sizeof r.id);
	util_strlcpy(r.kind, "position", sizeof r.kind);
	util_strlcpy(r.full_name, "Anu Sharma", sizeof r.full_name);
	util_strlcpy(r.email, "anu@nic.in", sizeof r.email);
	util_strlcpy(r.mobile, "9876543210", sizeof r.mobile);
	util_strlcpy(r.name, name, sizeof r.name);
	r.created_at = NOW;
	assert_int_equal(store_request_insert(f->st, &r, &existing), PV_OK);
}

static void test_blank_name_is_no_correction(void **state)
{
	fx *f = *state;
	rq_decision d;
	field_errs fe;
	store_request out;
	store_position p;

	memset(&d, 0, sizeof d);
	d.name = "   ";
	d.actor_id = "spv";
	assert_int_equal(rq_decision_validate(&d, 1, &fe), PV_OK);
	assert_int_equal(fe.n, 0);
	pending(f, "r1", "Data Steward");
	assert_int_equal(rq_approve(&f->rq, "r1", &d, NOW, &fe, &out), PV_OK);
	assert_string_equal(out.name, "Data Steward");
	assert_int_equal(store_position_get(f->st, out.created_id, &p), PV_OK);
	assert_string_equal(p.name, "Data Steward");
}

static void test_corrected_name(void **state)
{
	fx *f = *state;
	rq_decision d;
	field_errs fe;
	store_request out;

	memset(&d, 0, sizeof d);
	d.name = "  Data Officer  ";
	d.actor_id = "spv";
	pending(f, "r2", "data officr");
	assert_int_equal(rq_approve(&f->rq, "r2", &d, NOW, &fe, &out), PV_OK);
	assert_string_equal(out.name, "Data Officer");
	/* a name that is there but wrong is refused, and named */
	d.name = "x";
	assert_int_equal(rq_decision_validate(&d, 1, &fe), PV_EINVAL);
	assert_int_equal(fe.n, 1);
	assert_string_equal(fe.e[0].field, "name");
}

static void test_reject_needs_reason(void **state)
{
	rq_decision d;
	field_errs fe;

	(void)state;
	memset(&d, 0, sizeof d);
	d.reason = " \t ";
	assert_int_equal(rq_decision_validate(&d, 0, &fe), PV_EINVAL);
	assert_int_equal(fe.n, 1);
	assert_string_equal(fe.e[0].field, "reason");
	d.reason = "A duplicate";
	assert_int_equal(rq_decision_validate(&d, 0, &fe), PV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blank_name_is_no_correction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrected_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_needs_reason, setup, teardown),
	};

	log_set_level(LOG_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
