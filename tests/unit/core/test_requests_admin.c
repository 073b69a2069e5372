/* test_requests_admin.c: the SPV administrator's changes to the directory
 * (rq_org_update, rq_position_update: field rules, refusals as field
 * errors, audit rows with the previous values), browsing the directory
 * (dir_browse_*), the organisation types, and audit rows made readable
 * (audit_describe), against the SQLite store on a fresh file per test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/directory.h"
#include "core/requests.h"
#include "store/store.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define T0 1700000000000LL

typedef struct fx {
	char dir[64], path[128];
	store *st;
	directory *d;
	rq_svc rq;
	store_user admin;
} fx;

static void add_org(store *s, const char *id, const char *name, const char *parent, int active)
{
	store_org o;

	memset(&o, 0, sizeof o);
	util_strlcpy(o.id, id, sizeof o.id);
	util_strlcpy(o.name, name, sizeof o.name);
	util_strlcpy(o.sector, "center", sizeof o.sector);
	util_strlcpy(o.type, strcmp(id, "st") ? "ministry" : "board", sizeof o.type);
	util_strlcpy(o.parent_id, parent, sizeof o.parent_id);
	o.active = active;
	o.created_at = o.updated_at = T0;
	assert_int_equal(store_org_upsert(s, &o), PV_OK);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	store_cred c;

	if (!f || tmpstore_open(f->dir, sizeof f->dir, f->path, sizeof f->path, &f->st) != 0)
		return -1;
	add_org(f->st, "m", "Ministry of Testing", "", 1);
	add_org(f->st, "d1", "Department of Beta", "m", 1);
	add_org(f->st, "d2", "department of alpha", "m", 1);
	add_org(f->st, "d3", "Department of Gamma", "m", 0);
	add_org(f->st, "s", "Section of Beta", "d1", 1);
	add_org(f->st, "st", "Standalone Board", "", 1);
	memset(&f->admin, 0, sizeof f->admin);
	util_strlcpy(f->admin.id, "admin-1", sizeof f->admin.id);
	util_strlcpy(f->admin.first_name, "Sita", sizeof f->admin.first_name);
	util_strlcpy(f->admin.last_name, "Ram", sizeof f->admin.last_name);
	util_strlcpy(f->admin.email, "sita@nic.in", sizeof f->admin.email);
	util_strlcpy(f->admin.mobile, "9876543210", sizeof f->admin.mobile);
	util_strlcpy(f->admin.org_id, "m", sizeof f->admin.org_id);
	util_strlcpy(f->admin.status, STORE_USER_ACTIVE, sizeof f->admin.status);
	util_strlcpy(f->admin.source, "admin", sizeof f->admin.source);
	f->admin.created_at = T0;
	if (store_user_insert(f->st, &f->admin, NULL) != PV_OK)
		return -1;
	memset(&c, 0, sizeof c);
	util_strlcpy(c.user_id, "admin-1", sizeof c.user_id);
	util_strlcpy(c.username, "spv.sita", sizeof c.username);
	util_strlcpy(c.pwhash, "$argon2id$x", sizeof c.pwhash);
	if (store_cred_insert(f->st, &c) != PV_OK || dir_open(f->st, &f->d) != PV_OK)
		return -1;
	f->rq.st = f->st;
	f->rq.dir = f->d;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	dir_close(f->d);
	tmpstore_remove(f->st, f->dir, f->path);
	free(f);
	return 0;
}

/* The newest audit row. */
static void last_audit(fx *f, store_audit *out)
{
	store_audit *items = NULL;
	size_t n = 0;
	int64_t total = 0;

	assert_int_equal(store_audit_list(f->st, NULL, (store_page){1, 1}, &items, &n, &total), PV_OK);
	assert_int_equal(n, 1);
	*out = items[0];
	free(items);
}

static void test_browse(void **state)
{
	fx *f = *state;
	const dir_org *o[10];
	const char *types[10];
	size_t n, total;
	dir_snap *sn = dir_acquire(f->d);

	/* roots, by name without case */
	assert_int_equal(dir_browse_orgs(sn, NULL, NULL, -1, 0, 10, o, &n, &total), PV_OK);
	assert_int_equal(total, 2);
	assert_string_equal(o[0]->id, "m");
	assert_string_equal(o[1]->id, "st");
	/* children: inactive ones too unless asked; "alpha" before "Beta" */
	assert_int_equal(dir_browse_orgs(sn, "m", "", -1, 0, 10, o, &n, &total), PV_OK);
	assert_int_equal(total, 3);
	assert_string_equal(o[0]->id, "d2");
	assert_string_equal(o[1]->id, "d1");
	assert_string_equal(o[2]->id, "d3");
	assert_int_equal(dir_browse_orgs(sn, "m", "", 1, 0, 10, o, &n, &total), PV_OK);
	assert_int_equal(total, 2);
	assert_int_equal(dir_browse_orgs(sn, "m", "", 0, 0, 10, o, &n, &total), PV_OK);
	assert_int_equal(total, 1);
	/* a page */
	assert_int_equal(dir_browse_orgs(sn, "m", "", -1, 1, 1, o, &n, &total), PV_OK);
	assert_int_equal(n, 1);
	assert_int_equal(total, 3);
	assert_string_equal(o[0]->id, "d1");
	/* search anywhere, without case */
	assert_int_equal(dir_browse_orgs(sn, "m", "BETA", -1, 0, 10, o, &n, &total), PV_OK);
	assert_int_equal(total, 2);
	assert_string_equal(o[0]->id, "d1");
	assert_string_equal(o[1]->id, "s");
	assert_int_equal(dir_browse_orgs(sn, "nope", NULL, -1, 0, 10, o, &n, &total), PV_ENOTFOUND);
	/* types in use */
	n = dir_org_types(sn, types, 10);
	assert_int_equal(n, 2);
	dir_release(f->d, sn);
	{
		char all[RQ_TYPES_MAX][STORE_SHORT_MAX];
		size_t k = rq_org_types(&f->rq, all, RQ_TYPES_MAX), i;
		int board = 0, ministry = 0;

		for (i = 0; i < k; i++) {
			board += strcmp(all[i], "board") == 0;
			ministry += strcmp(all[i], "ministry") == 0;
		}
		assert_int_equal(board, 1);    /* in use, so offered */
		assert_int_equal(ministry, 1); /* usual and in use: once */
		assert_string_equal(all[0], "ministry");
	}
}

static void test_org_update(void **state)
{
	fx *f = *state;
	rq_org_edit e;
	field_errs fe;
	store_org o;
	store_audit a;
	json_t *d;

	/* a rename and a move, with the previous values in the audit row */
	memset(&e, 0, sizeof e);
	e.active = -1;
	e.name = "  Department of Delta ";
	e.parent_id = "st";
	assert_int_equal(rq_org_update(&f->rq, "d1", &e, "admin-1", "10.0.0.1", T0 + 5, &fe, &o), PV_OK);
	assert_string_equal(o.name, "Department of Delta");
	assert_string_equal(o.parent_id, "st");
	last_audit(f, &a);
	assert_string_equal(a.action, "update_org");
	assert_string_equal(a.target, "d1");
	d = json_loads(a.detail, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(d, "name")), "Department of Delta");
	assert_string_equal(json_string_value(json_object_get(d, "previous_name")), "Department of Beta");
	assert_string_equal(json_string_value(json_object_get(d, "parent_id")), "st");
	assert_string_equal(json_string_value(json_object_get(d, "previous_parent_id")), "m");
	assert_null(json_object_get(d, "sector"));
	json_decref(d);
	/* the directory sees it at once */
	{
		dir_snap *sn = dir_acquire(f->d);
		const dir_org *x = dir_org_by_id(sn, "d1");

		assert_string_equal(x->name, "Department of Delta");
		dir_release(f->d, sn);
	}

	/* field rules */
	memset(&e, 0, sizeof e);
	e.active = -1;
	e.name = "";
	e.sector = "moon";
	e.type = "a\nb";
	e.parent_id = "d3"; /* inactive */
	assert_int_equal(rq_org_update(&f->rq, "d2", &e, "admin-1", NULL, T0, &fe, &o), PV_EINVAL);
	assert_int_equal(fe.n, 4);
	assert_string_equal(fe.e[0].field, "name");
	assert_string_equal(fe.e[1].code, "invalid_sector");
	assert_string_equal(fe.e[2].code, "invalid_type");
	assert_string_equal(fe.e[3].code, "unknown_org");

	/* refusals of the store as field errors */
	memset(&e, 0, sizeof e);
	e.active = -1;
	e.parent_id = "s";
	assert_int_equal(rq_org_update(&f->rq, "d1", &e, "admin-1", NULL, T0, &fe, &o), PV_ECONFLICT);
	assert_int_equal(fe.n, 1);
	assert_string_equal(fe.e[0].field, "parent_id");
	assert_string_equal(fe.e[0].code, "org_cycle");
	memset(&e, 0, sizeof e);
	e.active = 0;
	assert_int_equal(rq_org_update(&f->rq, "d1", &e, "admin-1", NULL, T0, &fe, &o), PV_ECONFLICT);
	assert_string_equal(fe.e[0].field, "active");
	assert_string_equal(fe.e[0].code, "org_has_children");
	assert_int_equal(rq_org_update(&f->rq, "none", &e, "admin-1", NULL, T0, &fe, &o), PV_ENOTFOUND);
	/* a root again: parent "" */
	memset(&e, 0, sizeof e);
	e.active = -1;
	e.parent_id = "";
	assert_int_equal(rq_org_update(&f->rq, "d1", &e, "admin-1", NULL, T0, &fe, &o), PV_OK);
	assert_string_equal(o.parent_id, "");
}

static void test_position_update(void **state)
{
	fx *f = *state;
	field_errs fe;
	store_position p, q, out;
	store_audit a;

	assert_int_equal(rq_position_create(&f->rq, "Data Steward", "admin-1", NULL, T0, &fe, &p), PV_OK);
	assert_int_equal(rq_position_create(&f->rq, "Analyst", "admin-1", NULL, T0, &fe, &q), PV_OK);
	assert_int_equal(rq_position_update(&f->rq, p.id, " Chief Data Steward ", -1, "admin-1", NULL, T0 + 1, &fe, &out), PV_OK);
	assert_string_equal(out.name, "Chief Data Steward");
	assert_int_equal(rq_position_update(&f->rq, p.id, NULL, 0, "admin-1", NULL, T0 + 2, &fe, &out), PV_OK);
	assert_int_equal(out.active, 0);
	last_audit(f, &a);
	assert_string_equal(a.action, "update_position");
	assert_string_equal(a.detail, "{\"active\":false}");
	assert_int_equal(rq_position_update(&f->rq, p.id, "analyst", -1, "admin-1", NULL, T0, &fe, &out), PV_ECONFLICT);
	assert_string_equal(fe.e[0].code, "position_exists");
	assert_int_equal(rq_position_update(&f->rq, p.id, "x", -1, "admin-1", NULL, T0, &fe, &out), PV_EINVAL);
	assert_int_equal(rq_position_update(&f->rq, "none", NULL, 1, "admin-1", NULL, T0, &fe, &out), PV_ENOTFOUND);
}

static void test_audit_describe(void **state)
{
	fx *f = *state;
	store_audit a;
	audit_view v;

	/* an administrator's change of an organisation */
	memset(&a, 0, sizeof a);
	util_strlcpy(a.actor_id, "admin-1", sizeof a.actor_id);
	util_strlcpy(a.action, "update_org", sizeof a.action);
	util_strlcpy(a.target, "d2", sizeof a.target);
	util_strlcpy(a.detail, "{\"parent_id\":\"st\",\"previous_parent_id\":\"m\"}", sizeof a.detail);
	assert_int_equal(audit_describe(f->st, f->d, &a, &v), PV_OK);
	assert_string_equal(v.actor_name, "Sita Ram");
	assert_string_equal(v.actor_username, "spv.sita");
	assert_string_equal(v.target_kind, "organisation");
	assert_string_equal(v.target_name, "department of alpha");
	assert_string_equal(json_string_value(json_object_get(v.names, "st")), "Standalone Board");
	assert_string_equal(json_string_value(json_object_get(v.names, "m")), "Ministry of Testing");
	json_decref(v.names);

	/* the command line: no actor; an action on a user; a gone target */
	memset(&a, 0, sizeof a);
	util_strlcpy(a.action, "deactivate", sizeof a.action);
	util_strlcpy(a.target, "admin-1", sizeof a.target);
	util_strlcpy(a.detail, "{\"org_id\":\"m\"}", sizeof a.detail);
	assert_int_equal(audit_describe(f->st, NULL, &a, &v), PV_OK);
	assert_string_equal(v.actor_name, "");
	assert_string_equal(v.target_kind, "user");
	assert_string_equal(v.target_name, "Sita Ram");
	assert_string_equal(json_string_value(json_object_get(v.names, "m")), "Ministry of Testing");
	json_decref(v.names);
	util_strlcpy(a.action, "upload", sizeof a.action);
	util_strlcpy(a.target, "no-such-upload", sizeof a.target);
	assert_int_equal(audit_describe(f->st, f->d, &a, &v), PV_OK);
	assert_string_equal(v.target_kind, "upload");
	assert_string_equal(v.target_name, "");
	json_decref(v.names);
	util_strlcpy(a.action, "something_new", sizeof a.action);
	assert_int_equal(audit_describe(f->st, f->d, &a, &v), PV_OK);
	assert_string_equal(v.target_kind, "");
	json_decref(v.names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_browse),
		T(test_org_update),
		T(test_position_update),
		T(test_audit_describe),
#undef T
	};

	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
