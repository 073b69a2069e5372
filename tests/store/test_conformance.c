/* test_conformance.c: the behaviour every store backend must have, written
 * against store.h only. It opens PRAVESH_TEST_STORE_URL, or by default
 * "sqlite:" + a fresh temporary file, so the same file tests a future
 * PostgreSQL backend by changing the URL alone.
 *
 * The suite migrates the database itself. It tags every id, name, e-mail
 * and mobile with a per-run value and checks queue and count behaviour
 * with deltas or after draining, so it also passes on a database that
 * earlier runs have used. Assertions run on the main thread only: worker
 * threads record what they saw and the main thread checks it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/log.h"

#define T0 INT64_C(1750000000000) /* test clock: ms since the epoch */
#define FAR INT64_C(4000000000000000) /* beyond every test time */
#define LEASE INT64_C(60000)

static store *S;
static char tmp_path[256]; /* the temporary database, "" with an env URL */
static unsigned run_tag;
static unsigned seq;

/* ---- helpers ----------------------------------------------------------- */

static void uniq(char *out, size_t cap, const char *prefix)
{
	snprintf(out, cap, "%s-%08x-%u", prefix, run_tag, ++seq);
}

static void uniq_mobile(char out[STORE_MOBILE_MAX])
{
	snprintf(out, STORE_MOBILE_MAX, "9%09u",
		 (run_tag * 7919u + ++seq) % 1000000000u);
}

static void new_org(char id[STORE_ID_MAX], const char *parent)
{
	store_org o;

	memset(&o, 0, sizeof o);
	uniq(o.id, sizeof o.id, "org");
	snprintf(o.name, sizeof o.name, "Ministry %s", o.id);
	snprintf(o.sector, sizeof o.sector, "center");
	snprintf(o.type, sizeof o.type, "ministry");
	snprintf(o.parent_id, sizeof o.parent_id, "%s", parent ? parent : "");
	o.active = 1;
	o.created_at = o.updated_at = T0;
	assert_int_equal(store_org_upsert(S, &o), PV_OK);
	memcpy(id, o.id, STORE_ID_MAX);
}

static void make_user(store_user *u, const char *org_id, const char *email,
		      const char *mobile, int64_t at)
{
	memset(u, 0, sizeof *u);
	uniq(u->id, sizeof u->id, "user");
	snprintf(u->first_name, sizeof u->first_name, "Asha");
	snprintf(u->last_name, sizeof u->last_name, "Verma");
	snprintf(u->email, sizeof u->email, "%s", email);
	snprintf(u->mobile, sizeof u->mobile, "%s", mobile);
	snprintf(u->org_id, sizeof u->org_id, "%s", org_id);
	snprintf(u->status, sizeof u->status, "%s", STORE_USER_PENDING);
	snprintf(u->source, sizeof u->source, "self");
	u->created_at = u->updated_at = at;
}

/* A user with a fresh e-mail and mobile, inserted. */
static void add_user(store_user *u, const char *org_id, int64_t at)
{
	char email[STORE_EMAIL_MAX], mobile[STORE_MOBILE_MAX];
	int conflict = -1;

	uniq(email, sizeof email, "mail");
	strcat(email, "@example.gov.in");
	uniq_mobile(mobile);
	make_user(u, org_id, email, mobile, at);
	assert_int_equal(store_user_insert(S, u, &conflict), PV_OK);
	assert_int_equal(conflict, 0);
}

static void fill_hash(unsigned char h[STORE_HASH_LEN])
{
	unsigned v = run_tag * 2654435761u + ++seq;

	for (int i = 0; i < STORE_HASH_LEN; i++) {
		v = v * 1103515245u + 12345u;
		h[i] = (unsigned char)(v >> 16);
	}
}

/* Leases every claimable upload and message left by earlier tests or runs
 * until FAR, so a test's claims see only its own items. */
static void drain_queues(void)
{
	store_upload u;
	store_outbox m;
	int i, err;

	for (i = 0; i < 100000; i++) {
		err = store_upload_claim(S, "drain", FAR, LEASE, &u);
		if (err == PV_ENOTFOUND)
			break;
		assert_int_equal(err, PV_OK);
	}
	assert_true(i < 100000);
	for (i = 0; i < 100000; i++) {
		err = store_outbox_claim(S, "drain", FAR, LEASE, &m);
		if (err == PV_ENOTFOUND)
			break;
		assert_int_equal(err, PV_OK);
	}
	assert_true(i < 100000);
	for (i = 0; i < 100000; i++) {
		store_campaign c;

		err = store_campaign_claim(S, "drain", FAR, LEASE, &c);
		if (err == PV_ENOTFOUND)
			break;
		assert_int_equal(err, PV_OK);
	}
	assert_true(i < 100000);
}

/* ---- setup ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	const char *env = getenv("PRAVESH_TEST_STORE_URL");
	char url[300];

	(void)state;
	log_set_level(LOG_ERROR);
	run_tag = (unsigned)time(NULL) * 2654435761u ^ (unsigned)getpid();
	if (env && *env) {
		snprintf(url, sizeof url, "%s", env);
		tmp_path[0] = '\0';
	} else {
		int fd;

		snprintf(tmp_path, sizeof tmp_path,
			 "/tmp/pravesh-store-test-XXXXXX");
		fd = mkstemp(tmp_path);
		if (fd < 0)
			return -1;
		close(fd);
		snprintf(url, sizeof url, "sqlite:%s", tmp_path);
	}
	if (store_open(url, &S) != PV_OK)
		return -1;
	/* Migrating twice is harmless. */
	if (store_migrate(S) != PV_OK || store_migrate(S) != PV_OK)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char p[300];

	(void)state;
	store_close(S);
	S = NULL;
	if (tmp_path[0]) {
		unlink(tmp_path);
		snprintf(p, sizeof p, "%s-wal", tmp_path);
		unlink(p);
		snprintf(p, sizeof p, "%s-shm", tmp_path);
		unlink(p);
	}
	return 0;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_migrate_ping(void **state)
{
	(void)state;
	assert_non_null(store_backend_name(S));
	assert_int_equal(store_migrate(S), PV_OK);
	assert_int_equal(store_ping(S), PV_OK);
	store_close(NULL);
}

struct org_seen {
	const char *want1, *want2;
	int pos1, pos2, n;
	char last[STORE_ID_MAX];
	int ordered;
};

static int org_seen_cb(void *ctx, const store_org *o)
{
	struct org_seen *w = ctx;

	w->n++;
	if (w->last[0] && strcmp(w->last, o->id) >= 0)
		w->ordered = 0;
	memcpy(w->last, o->id, sizeof w->last);
	if (strcmp(o->id, w->want1) == 0)
		w->pos1 = w->n;
	if (strcmp(o->id, w->want2) == 0)
		w->pos2 = w->n;
	return 0;
}

static int stop_at_first(void *ctx, const store_org *o)
{
	(void)o;
	(*(int *)ctx)++;
	return 7;
}

static void test_orgs(void **state)
{
	char root[STORE_ID_MAX], child[STORE_ID_MAX];
	int64_t v0, v1, v2, n;
	store_org o;
	int calls = 0;

	(void)state;
	assert_int_equal(store_dir_version(S, &v0), PV_OK);
	new_org(root, NULL);
	assert_int_equal(store_dir_version(S, &v1), PV_OK);
	assert_true(v1 != v0);
	new_org(child, root);

	assert_int_equal(store_org_get(S, child, &o), PV_OK);
	assert_string_equal(o.id, child);
	assert_string_equal(o.parent_id, root);
	assert_string_equal(o.sector, "center");
	assert_string_equal(o.type, "ministry");
	assert_int_equal(o.active, 1);
	assert_true(o.created_at == T0);

	/* Update by id: new name, inactive; created_at is kept. */
	snprintf(o.name, sizeof o.name, "Renamed %s", child);
	o.active = 0;
	o.created_at = T0 + 500;
	o.updated_at = T0 + 1000;
	assert_int_equal(store_dir_version(S, &v1), PV_OK);
	assert_int_equal(store_org_upsert(S, &o), PV_OK);
	assert_int_equal(store_dir_version(S, &v2), PV_OK);
	assert_true(v2 != v1);
	memset(&o, 0, sizeof o);
	assert_int_equal(store_org_get(S, child, &o), PV_OK);
	assert_true(strncmp(o.name, "Renamed ", 8) == 0);
	assert_int_equal(o.active, 0);
	assert_true(o.created_at == T0);
	assert_true(o.updated_at == T0 + 1000);

	assert_int_equal(store_org_get(S, "no-such-org", &o), PV_ENOTFOUND);
	assert_int_equal(store_org_children(S, root, &n), PV_OK);
	assert_true(n == 1);
	assert_int_equal(store_org_children(S, child, &n), PV_OK);
	assert_true(n == 0);

	struct org_seen w = {root, child, 0, 0, 0, "", 1};
	assert_int_equal(store_org_each(S, org_seen_cb, &w), PV_OK);
	assert_true(w.pos1 > 0 && w.pos2 > 0); /* inactive ones too */
	assert_true(w.ordered);
	assert_int_equal(store_org_each(S, stop_at_first, &calls), 7);
	assert_int_equal(calls, 1);
}

/* org_update: each field alone, a move, and the refusals: a cycle
 * (itself, its child, a deeper descendant), an unknown organisation or
 * parent, deactivation over an active child, an active organisation under
 * an inactive one; a refusal changes nothing. */
static void test_org_update(void **state)
{
	char a[STORE_ID_MAX], b[STORE_ID_MAX], c[STORE_ID_MAX], d[STORE_ID_MAX];
	store_org o;
	store_org_change ch;
	int64_t v1, v2;
	int conflict = -1;

	(void)state;
	new_org(a, NULL);
	new_org(b, a);
	new_org(c, b);
	new_org(d, NULL);

	/* rename only: the rest stays, updated_at and the version move */
	memset(&ch, 0, sizeof ch);
	ch.active = -1;
	ch.name = "Department of Renaming";
	assert_int_equal(store_dir_version(S, &v1), PV_OK);
	assert_int_equal(store_org_update(S, b, &ch, T0 + 10, &o, &conflict), PV_OK);
	assert_int_equal(conflict, 0);
	assert_int_equal(store_dir_version(S, &v2), PV_OK);
	assert_true(v2 != v1);
	assert_string_equal(o.id, b);
	assert_string_equal(o.name, "Department of Renaming");
	assert_string_equal(o.parent_id, a);
	assert_string_equal(o.sector, "center");
	assert_string_equal(o.type, "ministry");
	assert_int_equal(o.active, 1);
	assert_true(o.created_at == T0);
	assert_true(o.updated_at == T0 + 10);
	memset(&o, 0, sizeof o);
	assert_int_equal(store_org_get(S, b, &o), PV_OK);
	assert_string_equal(o.name, "Department of Renaming");

	/* sector and type; out may be NULL */
	memset(&ch, 0, sizeof ch);
	ch.active = -1;
	ch.sector = "state";
	ch.type = "department";
	assert_int_equal(store_org_update(S, b, &ch, T0 + 11, NULL, NULL), PV_OK);
	assert_int_equal(store_org_get(S, b, &o), PV_OK);
	assert_string_equal(o.sector, "state");
	assert_string_equal(o.type, "department");
	assert_string_equal(o.name, "Department of Renaming");

	/* a move under another root, then back to being a root */
	memset(&ch, 0, sizeof ch);
	ch.active = -1;
	ch.parent_id = d;
	assert_int_equal(store_org_update(S, b, &ch, T0 + 12, &o, &conflict), PV_OK);
	assert_string_equal(o.parent_id, d);
	ch.parent_id = "";
	assert_int_equal(store_org_update(S, b, &ch, T0 + 13, &o, &conflict), PV_OK);
	assert_string_equal(o.parent_id, "");
	ch.parent_id = a;
	assert_int_equal(store_org_update(S, b, &ch, T0 + 14, &o, &conflict), PV_OK);

	/* cycles: under itself, under its child, under its grandchild */
	ch.parent_id = a;
	assert_int_equal(store_org_update(S, a, &ch, T0 + 15, &o, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_ORG_CYCLE);
	ch.parent_id = b;
	assert_int_equal(store_org_update(S, a, &ch, T0 + 15, &o, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_ORG_CYCLE);
	ch.parent_id = c;
	ch.name = "Never written";
	assert_int_equal(store_org_update(S, a, &ch, T0 + 15, &o, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_ORG_CYCLE);
	assert_int_equal(store_org_get(S, a, &o), PV_OK);
	assert_string_equal(o.parent_id, "");
	assert_true(strcmp(o.name, "Never written") != 0);
	assert_true(o.updated_at == T0);

	/* unknown organisation, unknown parent */
	memset(&ch, 0, sizeof ch);
	ch.active = -1;
	ch.name = "X";
	assert_int_equal(store_org_update(S, "no-such-org", &ch, T0, &o, &conflict), PV_ENOTFOUND);
	ch.name = NULL;
	ch.parent_id = "no-such-org";
	assert_int_equal(store_org_update(S, b, &ch, T0, &o, &conflict), PV_ENOTFOUND);
	assert_int_equal(store_org_get(S, b, &o), PV_OK);
	assert_string_equal(o.parent_id, a);
	ch.parent_id = NULL;
	ch.name = "";
	assert_int_equal(store_org_update(S, b, &ch, T0, &o, &conflict), PV_EINVAL);

	/* deactivation: refused over an active child, and the reasons add up */
	memset(&ch, 0, sizeof ch);
	ch.active = 0;
	assert_int_equal(store_org_update(S, b, &ch, T0 + 20, &o, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_ORG_CHILDREN);
	ch.parent_id = c;
	assert_int_equal(store_org_update(S, b, &ch, T0 + 20, &o, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_ORG_CYCLE | STORE_ORG_CHILDREN);
	ch.parent_id = NULL;
	/* the child first, then the parent; then both back */
	assert_int_equal(store_org_update(S, c, &ch, T0 + 21, &o, &conflict), PV_OK);
	assert_int_equal(o.active, 0);
	assert_int_equal(store_org_update(S, b, &ch, T0 + 22, &o, &conflict), PV_OK);
	assert_int_equal(o.active, 0);
	assert_int_equal(store_org_update(S, a, &ch, T0 + 22, &o, &conflict), PV_OK);
	/* nothing active under an inactive organisation: b is not
	 * reactivated while a is inactive, and no active organisation moves
	 * under an inactive one (d is active: not under b) */
	ch.active = 1;
	assert_int_equal(store_org_update(S, b, &ch, T0 + 23, &o, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_ORG_PARENT_INACTIVE);
	assert_int_equal(store_org_get(S, b, &o), PV_OK);
	assert_int_equal(o.active, 0);
	ch.active = -1;
	ch.parent_id = b;
	assert_int_equal(store_org_update(S, d, &ch, T0 + 23, &o, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_ORG_PARENT_INACTIVE);
	assert_int_equal(store_org_get(S, d, &o), PV_OK);
	assert_string_equal(o.parent_id, "");
	/* reactivated and moved at once, under an active parent: fine; an
	 * inactive organisation may sit under an inactive one; a rename of
	 * an inactive one is no reactivation */
	ch.active = 0;
	assert_int_equal(store_org_update(S, d, &ch, T0 + 23, &o, &conflict), PV_OK);
	ch.active = 1;
	ch.parent_id = "";
	assert_int_equal(store_org_update(S, d, &ch, T0 + 23, &o, &conflict), PV_OK);
	assert_int_equal(o.active, 1);
	assert_string_equal(o.parent_id, "");
	memset(&ch, 0, sizeof ch);
	ch.active = -1;
	ch.name = "Department Asleep";
	assert_int_equal(store_org_update(S, c, &ch, T0 + 23, &o, &conflict), PV_OK);
	/* both back, the parent first */
	memset(&ch, 0, sizeof ch);
	ch.active = 1;
	assert_int_equal(store_org_update(S, a, &ch, T0 + 23, &o, &conflict), PV_OK);
	assert_int_equal(store_org_update(S, b, &ch, T0 + 23, &o, &conflict), PV_OK);
	assert_int_equal(o.active, 1);
	assert_int_equal(store_org_get(S, c, &o), PV_OK);
	assert_int_equal(o.active, 0);
}

struct pos_seen {
	const char *want;
	int found, n;
};

static int pos_seen_cb(void *ctx, const store_position *p)
{
	struct pos_seen *w = ctx;

	w->n++;
	if (strcmp(p->id, w->want) == 0)
		w->found = 1;
	return 0;
}

static void test_positions(void **state)
{
	store_position p, q, out;
	int64_t v1, v2;
	int created = -1;

	(void)state;
	memset(&p, 0, sizeof p);
	uniq(p.id, sizeof p.id, "pos");
	snprintf(p.name, sizeof p.name, "Section Officer %s", p.id);
	p.active = 1;
	p.created_at = T0;
	assert_int_equal(store_dir_version(S, &v1), PV_OK);
	assert_int_equal(store_position_insert(S, &p), PV_OK);
	assert_int_equal(store_dir_version(S, &v2), PV_OK);
	assert_true(v1 != v2);

	/* Same name in other case: refused. */
	q = p;
	uniq(q.id, sizeof q.id, "pos");
	for (char *c = q.name; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	assert_int_equal(store_position_insert(S, &q), PV_ECONFLICT);
	/* The same id again: refused. */
	assert_int_equal(store_position_insert(S, &p), PV_ECONFLICT);

	/* upsert_name answers the existing one... */
	assert_int_equal(store_position_upsert_name(S, &q, &out, &created),
			 PV_OK);
	assert_int_equal(created, 0);
	assert_string_equal(out.id, p.id);
	assert_string_equal(out.name, p.name);
	/* ...or inserts. */
	uniq(q.id, sizeof q.id, "pos");
	snprintf(q.name, sizeof q.name, "Under Secretary %s", q.id);
	assert_int_equal(store_position_upsert_name(S, &q, &out, &created),
			 PV_OK);
	assert_int_equal(created, 1);
	assert_string_equal(out.id, q.id);
	memset(&out, 0, sizeof out);
	assert_int_equal(store_position_get(S, q.id, &out), PV_OK);
	assert_string_equal(out.name, q.name);
	assert_int_equal(out.active, 1);
	assert_int_equal(store_position_get(S, "no-such-pos", &out),
			 PV_ENOTFOUND);

	struct pos_seen w = {p.id, 0, 0};
	assert_int_equal(store_position_each(S, pos_seen_cb, &w), PV_OK);
	assert_true(w.found);
	assert_true(w.n >= 2);

	/* position_update: rename (its own name in another case is fine),
	 * deactivate, reactivate; another's name, an unknown id, "" refused */
	char name[STORE_NAME_MAX];
	snprintf(name, sizeof name, "Chief %s", p.id);
	assert_int_equal(store_dir_version(S, &v1), PV_OK);
	assert_int_equal(store_position_update(S, p.id, name, -1, &out), PV_OK);
	assert_int_equal(store_dir_version(S, &v2), PV_OK);
	assert_true(v1 != v2);
	assert_string_equal(out.id, p.id);
	assert_string_equal(out.name, name);
	assert_int_equal(out.active, 1);
	assert_true(out.created_at == T0);
	for (char *c = name; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	assert_int_equal(store_position_update(S, p.id, name, -1, &out), PV_OK);
	assert_string_equal(out.name, name);
	assert_int_equal(store_position_update(S, p.id, NULL, 0, &out), PV_OK);
	assert_int_equal(out.active, 0);
	assert_string_equal(out.name, name);
	assert_int_equal(store_position_get(S, p.id, &out), PV_OK);
	assert_int_equal(out.active, 0);
	assert_int_equal(store_position_update(S, p.id, NULL, 1, NULL), PV_OK);
	assert_int_equal(store_position_get(S, p.id, &out), PV_OK);
	assert_int_equal(out.active, 1);
	assert_int_equal(store_position_update(S, p.id, q.name, -1, &out), PV_ECONFLICT);
	assert_int_equal(store_position_get(S, p.id, &out), PV_OK);
	assert_string_equal(out.name, name);
	assert_int_equal(store_position_update(S, "no-such-pos", "Anything", -1, &out), PV_ENOTFOUND);
	assert_int_equal(store_position_update(S, p.id, "", -1, &out), PV_EINVAL);
}

static void test_user_insert_conflicts(void **state)
{
	char org[STORE_ID_MAX], email[STORE_EMAIL_MAX], upper[STORE_EMAIL_MAX];
	char m1[STORE_MOBILE_MAX], m2[STORE_MOBILE_MAX], m3[STORE_MOBILE_MAX];
	store_user u1, u2, u3, got;
	store_position pos;
	int conflict;

	(void)state;
	new_org(org, NULL);
	uniq(email, sizeof email, "dup");
	strcat(email, "@nic.in");
	snprintf(upper, sizeof upper, "%s", email);
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	uniq_mobile(m1);
	uniq_mobile(m2);
	uniq_mobile(m3);

	memset(&pos, 0, sizeof pos);
	uniq(pos.id, sizeof pos.id, "pos");
	snprintf(pos.name, sizeof pos.name, "Clerk %s", pos.id);
	pos.created_at = T0;
	assert_int_equal(store_position_insert(S, &pos), PV_OK);

	make_user(&u1, org, email, m1, T0);
	u1.official_email = 1;
	snprintf(u1.position_id, sizeof u1.position_id, "%s", pos.id);
	conflict = -1;
	assert_int_equal(store_user_insert(S, &u1, &conflict), PV_OK);
	assert_int_equal(conflict, 0);

	/* E-mail differing only in case, new mobile: EMAIL. */
	make_user(&u2, org, upper, m2, T0);
	assert_int_equal(store_user_insert(S, &u2, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_CONFLICT_EMAIL);
	/* New e-mail, same mobile: MOBILE. */
	make_user(&u2, org, "fresh-", m1, T0);
	uniq(u2.email + 6, sizeof u2.email - 6, "x");
	assert_int_equal(store_user_insert(S, &u2, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_CONFLICT_MOBILE);
	/* Both keys of the same user. */
	make_user(&u2, org, upper, m1, T0);
	assert_int_equal(store_user_insert(S, &u2, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_CONFLICT_EMAIL | STORE_CONFLICT_MOBILE);
	/* Both keys, held by two different users. */
	add_user(&u3, org, T0);
	make_user(&u2, org, upper, u3.mobile, T0);
	assert_int_equal(store_user_insert(S, &u2, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_CONFLICT_EMAIL | STORE_CONFLICT_MOBILE);
	/* The conflict pointer may be NULL. */
	assert_int_equal(store_user_insert(S, &u2, NULL), PV_ECONFLICT);
	/* A user of an unknown organisation. */
	make_user(&u2, "no-such-org", "nobody@example.org", m3, T0);
	uniq(u2.email, sizeof u2.email, "orphan");
	assert_int_equal(store_user_insert(S, &u2, &conflict), PV_ENOTFOUND);

	/* Reads. */
	assert_int_equal(store_user_get(S, u1.id, &got), PV_OK);
	assert_string_equal(got.email, email);
	assert_string_equal(got.mobile, m1);
	assert_string_equal(got.org_id, org);
	assert_string_equal(got.position_id, pos.id);
	assert_string_equal(got.status, STORE_USER_PENDING);
	assert_string_equal(got.source, "self");
	assert_string_equal(got.first_name, "Asha");
	assert_string_equal(got.last_name, "Verma");
	assert_int_equal(got.official_email, 1);
	assert_int_equal(got.email_verified, 0);
	assert_true(got.created_at == T0);
	/* An e-mail proven later; one vouched for at insertion. */
	assert_int_equal(store_user_verify_email(S, u1.id, T0 + 7), PV_OK);
	assert_int_equal(store_user_get(S, u1.id, &got), PV_OK);
	assert_true(got.email_verified == 1 && got.updated_at == T0 + 7);
	assert_int_equal(store_user_verify_email(S, "no-such-user", T0), PV_ENOTFOUND);
	assert_int_equal(store_user_get(S, u3.id, &got), PV_OK);
	assert_int_equal(got.email_verified, 0);
	{
		store_user v;
		char vm[STORE_MOBILE_MAX], ve[STORE_EMAIL_MAX];

		uniq_mobile(vm);
		uniq(ve, sizeof ve, "vouched");
		strcat(ve, "@example.org");
		make_user(&v, org, ve, vm, T0);
		v.email_verified = 1;
		assert_int_equal(store_user_insert(S, &v, NULL), PV_OK);
		assert_int_equal(store_user_get(S, v.id, &got), PV_OK);
		assert_int_equal(got.email_verified, 1);
	}
	memset(&got, 0, sizeof got);
	assert_int_equal(store_user_by_email(S, upper, &got), PV_OK);
	assert_string_equal(got.id, u1.id);
	assert_int_equal(store_user_by_mobile(S, m1, &got), PV_OK);
	assert_string_equal(got.id, u1.id);
	assert_int_equal(store_user_get(S, u3.id, &got), PV_OK);
	assert_string_equal(got.position_id, ""); /* none */
	assert_int_equal(store_user_get(S, "no-such-user", &got),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_by_email(S, "none@none.example", &got),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_by_mobile(S, m3, &got), PV_ENOTFOUND);

	/* Status. */
	assert_int_equal(store_user_set_status(S, u1.id, STORE_USER_ACTIVE,
						 T0 + 5),
			 PV_OK);
	assert_int_equal(store_user_get(S, u1.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_USER_ACTIVE);
	assert_true(got.updated_at == T0 + 5);
	assert_true(got.created_at == T0);
	assert_int_equal(store_user_set_status(S, "no-such-user",
						 STORE_USER_ACTIVE, T0),
			 PV_ENOTFOUND);
}

/* user_list with its query: a helper that asserts PV_OK. */
static void ulist(const char *org, const char *status, const char *q, int64_t page,
		  int64_t per_page, int64_t after, store_user **items, size_t *n,
		  store_user_list_info *info)
{
	store_user_query uq = {org, status, q, {page, per_page}, after};

	*items = NULL;
	assert_int_equal(store_user_list(S, &uq, items, n, info), PV_OK);
}

static void test_user_list(void **state)
{
	char org[STORE_ID_MAX], other[STORE_ID_MAX];
	store_user u[6], x, *items = NULL;
	store_user_list_info info;
	size_t n = 99;

	(void)state;
	new_org(org, NULL);
	new_org(other, NULL);
	for (int i = 0; i < 6; i++)
		add_user(&u[i], org, T0 + 100 * i);
	add_user(&x, other, T0 + 1000);
	assert_int_equal(store_user_set_status(S, u[1].id, STORE_USER_ACTIVE, T0), PV_OK);
	assert_int_equal(store_user_set_status(S, u[3].id, STORE_USER_ACTIVE, T0), PV_OK);

	/* Page 1 of 2 per page: newest first. */
	ulist(org, "", "", 1, 2, 0, &items, &n, &info);
	assert_true(info.total == 6 && info.total_exact);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].id, u[5].id);
	assert_string_equal(items[1].id, u[4].id);
	assert_true(info.next > 0);
	free(items);
	ulist(org, "", "", 3, 2, 0, &items, &n, &info);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].id, u[1].id);
	assert_string_equal(items[1].id, u[0].id);
	assert_true(info.next == 0); /* nothing follows */
	free(items);
	ulist(org, "", "", 4, 2, 0, &items, &n, &info); /* past the end */
	assert_int_equal(n, 0);
	assert_null(items);
	assert_true(info.total == 6 && info.next == 0);

	/* The cursor walks the same order as the pages. */
	int64_t after = 0;
	int seen = 0;
	do {
		ulist(org, "", "", 1, 4, after, &items, &n, &info);
		for (size_t i = 0; i < n; i++, seen++)
			assert_string_equal(items[i].id, u[5 - seen].id);
		after = info.next;
		free(items);
	} while (after);
	assert_int_equal(seen, 6);

	/* Status filter, with kept counts that follow status changes. */
	ulist(org, STORE_USER_ACTIVE, NULL, 1, 100, 0, &items, &n, &info);
	assert_true(info.total == 2);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].id, u[3].id);
	assert_string_equal(items[1].id, u[1].id);
	free(items);
	ulist(org, STORE_USER_ACTIVE, NULL, 1, 1, 0, &items, &n, &info);
	assert_int_equal(n, 1);
	after = info.next;
	free(items);
	ulist(org, STORE_USER_ACTIVE, NULL, 1, 1, after, &items, &n, &info);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, u[1].id);
	assert_true(info.next == 0);
	free(items);
	ulist(org, STORE_USER_PENDING, NULL, 1, 100, 0, &items, &n, &info);
	assert_true(info.total == 4 && n == 4);
	free(items);

	/* Exact mobile number and e-mail (case-insensitive), this
	 * organisation's only. */
	ulist(org, "", u[4].mobile, 1, 20, 0, &items, &n, &info);
	assert_true(info.total == 1 && n == 1);
	assert_string_equal(items[0].id, u[4].id);
	free(items);
	char q[STORE_EMAIL_MAX];
	snprintf(q, sizeof q, "%s", u[2].email);
	for (char *c = q; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	ulist(org, "", q, 1, 20, 0, &items, &n, &info);
	assert_true(info.total == 1 && n == 1);
	assert_string_equal(items[0].id, u[2].id);
	free(items);
	ulist(org, STORE_USER_ACTIVE, q, 1, 20, 0, &items, &n, &info); /* u[2] is pending */
	assert_true(info.total == 0 && n == 0);
	ulist(org, "", x.mobile, 1, 20, 0, &items, &n, &info);
	assert_true(info.total == 0 && n == 0);
	ulist(org, "", x.email, 1, 20, 0, &items, &n, &info);
	assert_true(info.total == 0 && n == 0);
	ulist(org, "", u[4].mobile + 2, 1, 20, 0, &items, &n, &info); /* not a number */
	assert_true(info.total == 0 && n == 0);

	/* Bad pages and queries. */
	store_user_query bad = {org, "", "", {0, 10}, 0};
	assert_int_equal(store_user_list(S, &bad, &items, &n, &info), PV_EINVAL);
	bad.pg = (store_page){1, 101};
	assert_int_equal(store_user_list(S, &bad, &items, &n, &info), PV_EINVAL);
	bad.pg = (store_page){1, 10};
	bad.q = "a b c d e f g h i";
	assert_int_equal(store_user_list(S, &bad, &items, &n, &info), PV_EINVAL);
}

/* A name search in org answers the users of u at the indexes of want,
 * newest first (-1 ends), and counts them exactly. */
static void names_found(const char *org, const store_user *u, const char *q, const int *want)
{
	store_user *items;
	store_user_list_info info;
	size_t n;
	int k = 0;

	ulist(org, "", q, 1, 20, 0, &items, &n, &info);
	while (want[k] >= 0) {
		assert_true((size_t)k < n);
		assert_string_equal(items[k].id, u[want[k]].id);
		k++;
	}
	assert_int_equal(n, k);
	assert_true(info.total == k && info.total_exact);
	free(items);
}

/* Name search: every word of q starts a word of the first or last name;
 * case folded for ASCII; punctuation separates words (no wildcards). Words
 * of any length and script, whether the user came alone, in a bulk batch,
 * or changed names later. */
static void test_user_names(void **state)
{
	static const char *const names[][2] = {
		{"Ram", "Kumar"}, {"Ramesh", "Kumar-Singh"}, {"Asha", "Ram"},
		{"Sita", "Rise50%Now"}, {"Kumari", "a_b"}, {"राम", "प्रसाद"},
		/* 6-8 come in one batch, 9 alone: words longer than eight
		 * characters (13; 8; 13 code points of Devanagari) */
		{"Chandrasekhar", "Venkataraman"}, {"Chandras", "Iyer"},
		{"अनिरुद्धकुमार", "Joshi"}, {"Venkatesh", "CHANDRASEKHARAN"},
	};
	enum { N = sizeof names / sizeof names[0], BATCH = 6, BATCH_N = 3 };
	char org[STORE_ID_MAX];
	store_user u[N], *items;
	store_user_list_info info;
	size_t n;
	int conflicts[BATCH_N];

	(void)state;
	new_org(org, NULL);
	for (int i = 0; i < N; i++) {
		char email[STORE_EMAIL_MAX], mobile[STORE_MOBILE_MAX];

		uniq(email, sizeof email, "name");
		strcat(email, "@example.org");
		uniq_mobile(mobile);
		make_user(&u[i], org, email, mobile, T0 + i);
		snprintf(u[i].first_name, sizeof u[i].first_name, "%s", names[i][0]);
		snprintf(u[i].last_name, sizeof u[i].last_name, "%s", names[i][1]);
		if (i < BATCH || i >= BATCH + BATCH_N)
			assert_int_equal(store_user_insert(S, &u[i], NULL), PV_OK);
		else if (i == BATCH + BATCH_N - 1)
			assert_int_equal(store_user_insert_batch(S, &u[BATCH], BATCH_N, conflicts), PV_OK);
	}
	struct {
		const char *q;
		int want[N + 1]; /* indexes, newest first, -1 ends */
	} cases[] = {
		{"ram", {2, 1, 0, -1}},      {"RAM kum", {1, 0, -1}}, {"kumar", {4, 1, 0, -1}},
		{"singh", {1, -1}},          {"kumar-singh", {1, -1}}, {"r", {3, 2, 1, 0, -1}},
		{"rise50", {3, -1}},         {"50%", {-1}},            {"now", {3, -1}},
		{"a_b", {4, -1}},            {"b", {4, -1}},           {"राम", {5, -1}},
		{"प्र", {5, -1}},            {"ram asha", {2, -1}},    {"zz", {-1}},
		{"chandras", {9, 7, 6, -1}}, {"chandrase", {9, 6, -1}},
		{"Chandrasekhar", {9, 6, -1}}, {"chandrasekhara", {9, -1}},
		{"chandrasekharx", {-1}},    {"chandrasekharan", {9, -1}},
		{"venkat", {9, 6, -1}},      {"venkata chandras", {6, -1}},
		{"iyer chandras", {7, -1}},  {"chandrasx", {-1}},
		{"अनिरुद्ध", {8, -1}},        {"अनिरुद्धकु", {8, -1}},
		{"अनिरुद्धकुमार jo", {8, -1}}, {"अनिरुद्धकुमारी", {-1}},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		names_found(org, u, cases[c].q, cases[c].want);
	/* A new name is found, the old one no longer. */
	assert_int_equal(store_user_set_names(S, u[7].id, "Chandrasekhara", "Iyengar", NULL, T0 + 50),
			 PV_OK);
	names_found(org, u, "chandrase", (const int[]){9, 7, 6, -1});
	names_found(org, u, "chandrasekhara iyengar", (const int[]){7, -1});
	names_found(org, u, "iyer", (const int[]){-1});
	assert_int_equal(store_user_set_names(S, u[7].id, "Chandras", "Iyer", NULL, T0 + 60), PV_OK);
	/* An erased user's names are gone, from the search too. */
	assert_int_equal(store_user_close(S, u[6].id, T0 + 70, T0 + 61), PV_OK);
	assert_int_equal(store_user_erase(S, u[6].id, T0 + 71), PV_OK);
	names_found(org, u, "venkataraman", (const int[]){-1});
	names_found(org, u, "chandrasekhar", (const int[]){9, -1});
	/* No word at all: nobody. */
	ulist(org, "", "%_*", 1, 20, 0, &items, &n, &info);
	assert_true(n == 0 && info.total == 0);
	/* Pages, a cursor and a status over a name search. */
	ulist(org, "", "ram", 1, 2, 0, &items, &n, &info);
	assert_int_equal(n, 2);
	assert_true(info.total == 3 && info.next > 0);
	free(items);
	ulist(org, "", "ram", 1, 2, info.next, &items, &n, &info);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, u[0].id);
	assert_true(info.next == 0);
	free(items);
	ulist(org, "", "ram", 2, 2, 0, &items, &n, &info);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, u[0].id);
	free(items);
	assert_int_equal(store_user_set_status(S, u[1].id, STORE_USER_ACTIVE, T0), PV_OK);
	ulist(org, STORE_USER_ACTIVE, "ram", 1, 20, 0, &items, &n, &info);
	assert_true(n == 1 && info.total == 1);
	assert_string_equal(items[0].id, u[1].id);
	free(items);
}

static void test_roles_creds_consents(void **state)
{
	char org[STORE_ID_MAX];
	store_user u, v;
	store_role r, out[4];
	store_cred cr, got;
	store_consent k;
	size_t n = 99;

	(void)state;
	new_org(org, NULL);
	add_user(&u, org, T0);
	add_user(&v, org, T0);

	memset(&r, 0, sizeof r);
	snprintf(r.role, sizeof r.role, "spv_admin");
	assert_int_equal(store_role_add(S, u.id, &r), PV_OK);
	snprintf(r.role, sizeof r.role, "mdo_admin");
	snprintf(r.org_id, sizeof r.org_id, "%s", org);
	assert_int_equal(store_role_add(S, u.id, &r), PV_OK);
	assert_int_equal(store_role_add(S, u.id, &r), PV_ECONFLICT);
	assert_int_equal(store_role_list(S, u.id, out, 4, &n), PV_OK);
	assert_int_equal(n, 2);
	int saw_spv = 0, saw_mdo = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(out[i].role, "spv_admin") == 0 && !out[i].org_id[0])
			saw_spv = 1;
		if (strcmp(out[i].role, "mdo_admin") == 0 &&
		    strcmp(out[i].org_id, org) == 0)
			saw_mdo = 1;
	}
	assert_true(saw_spv && saw_mdo);
	assert_int_equal(store_role_list(S, u.id, out, 1, &n), PV_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_role_list(S, v.id, out, 4, &n), PV_OK);
	assert_int_equal(n, 0);

	memset(&cr, 0, sizeof cr);
	snprintf(cr.user_id, sizeof cr.user_id, "%s", u.id);
	uniq(cr.username, sizeof cr.username, "Admin");
	snprintf(cr.pwhash, sizeof cr.pwhash, "$argon2id$v=19$m=65536,t=2,p=1$x$y");
	assert_int_equal(store_cred_insert(S, &cr), PV_OK);
	char lower[STORE_USERNAME_MAX];
	snprintf(lower, sizeof lower, "%s", cr.username);
	lower[0] = 'a';
	assert_int_equal(store_cred_by_username(S, lower, &got), PV_OK);
	assert_string_equal(got.user_id, u.id);
	assert_string_equal(got.username, cr.username);
	assert_string_equal(got.pwhash, cr.pwhash);
	assert_int_equal(store_cred_by_username(S, "no-such-admin", &got),
			 PV_ENOTFOUND);
	/* Username taken, whatever its case. */
	snprintf(cr.user_id, sizeof cr.user_id, "%s", v.id);
	snprintf(cr.username, sizeof cr.username, "%s", lower);
	assert_int_equal(store_cred_insert(S, &cr), PV_ECONFLICT);

	/* the credential of a user */
	assert_int_equal(store_cred_by_user(S, u.id, &got), PV_OK);
	assert_string_equal(got.user_id, u.id);
	assert_true(strcasecmp(got.username, lower) == 0);
	assert_int_equal(store_cred_by_user(S, v.id, &got), PV_ENOTFOUND);

	memset(&k, 0, sizeof k);
	snprintf(k.user_id, sizeof k.user_id, "%s", u.id);
	snprintf(k.kind, sizeof k.kind, "declaration");
	snprintf(k.version, sizeof k.version, "2024-01");
	snprintf(k.client_ip, sizeof k.client_ip, "10.0.0.1");
	k.at = T0;
	assert_int_equal(store_consent_add(S, &k), PV_OK);
	snprintf(k.kind, sizeof k.kind, "terms");
	assert_int_equal(store_consent_add(S, &k), PV_OK);
}

/* user_logged_in: last_login_at moves, updated_at does not; a new user
 * has never logged in. */
static void test_user_logged_in(void **state)
{
	char org[STORE_ID_MAX];
	store_user u, got;

	(void)state;
	new_org(org, NULL);
	add_user(&u, org, T0);
	assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
	assert_true(got.last_login_at == 0);
	assert_int_equal(store_user_logged_in(S, u.id, T0 + 5000), PV_OK);
	assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
	assert_true(got.last_login_at == T0 + 5000);
	assert_true(got.updated_at == T0);
	assert_int_equal(store_user_logged_in(S, "no-such-user", T0), PV_ENOTFOUND);
	/* whatever the record says, a new user starts with 0 */
	store_user w;
	char email[STORE_EMAIL_MAX], mobile[STORE_MOBILE_MAX];
	uniq(email, sizeof email, "mail");
	strcat(email, "@example.gov.in");
	uniq_mobile(mobile);
	make_user(&w, org, email, mobile, T0);
	w.last_login_at = T0 + 1;
	assert_int_equal(store_user_insert(S, &w, NULL), PV_OK);
	assert_int_equal(store_user_get(S, w.id, &got), PV_OK);
	assert_true(got.last_login_at == 0);
	/* and so does one of a batch (two rows: SQLite's single-row
	 * statement and PostgreSQL's set-wise insert alike) */
	store_user two[2];
	int conflicts[2];
	for (int i = 0; i < 2; i++) {
		uniq(email, sizeof email, "mail");
		strcat(email, "@example.gov.in");
		uniq_mobile(mobile);
		make_user(&two[i], org, email, mobile, T0);
		two[i].last_login_at = T0 + 2;
	}
	assert_int_equal(store_user_insert_batch(S, two, 2, conflicts), PV_OK);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(conflicts[i], 0);
		assert_int_equal(store_user_get(S, two[i].id, &got), PV_OK);
		assert_true(got.last_login_at == 0);
	}
}

/* admin_list: one row per role, filtered by role, organisation, status
 * and text (names, e-mail, mobile, username; literally, ASCII case
 * folded), ordered by organisation name, then last and first name. */
static void add_admin(store_user *u, const char *org, const char *role,
		      const char *first, const char *last, const char *username)
{
	store_role r;
	store_cred cr;
	char email[STORE_EMAIL_MAX], mobile[STORE_MOBILE_MAX];

	uniq(email, sizeof email, "mail");
	strcat(email, "@example.gov.in");
	uniq_mobile(mobile);
	make_user(u, org, email, mobile, T0);
	snprintf(u->first_name, sizeof u->first_name, "%s", first);
	snprintf(u->last_name, sizeof u->last_name, "%s", last);
	assert_int_equal(store_user_insert(S, u, NULL), PV_OK);
	memset(&r, 0, sizeof r);
	snprintf(r.role, sizeof r.role, "%s", role);
	snprintf(r.org_id, sizeof r.org_id, "%s", strcmp(role, "spv_admin") ? org : "");
	assert_int_equal(store_role_add(S, u->id, &r), PV_OK);
	if (username) {
		memset(&cr, 0, sizeof cr);
		snprintf(cr.user_id, sizeof cr.user_id, "%s", u->id);
		snprintf(cr.username, sizeof cr.username, "%s", username);
		snprintf(cr.pwhash, sizeof cr.pwhash, "$argon2id$x");
		assert_int_equal(store_cred_insert(S, &cr), PV_OK);
	}
}

static void test_admin_list(void **state)
{
	char o1[STORE_ID_MAX], o2[STORE_ID_MAX], un[STORE_USERNAME_MAX], q[64];
	store_org org;
	store_user a, b, c, d, plain;
	store_admin *items = NULL;
	size_t n = 0;
	int64_t total = 0;

	(void)state;
	/* two organisations whose names order them: o2 before o1 */
	new_org(o1, NULL);
	new_org(o2, NULL);
	assert_int_equal(store_org_get(S, o2, &org), PV_OK);
	store_org_change ch = {"AAA first", NULL, NULL, NULL, -1};
	assert_int_equal(store_org_update(S, o2, &ch, T0, NULL, NULL), PV_OK);
	uniq(un, sizeof un, "Mdo.One");
	add_admin(&a, o1, "mdo_admin", "Zoya", "Bhatt", un);
	add_admin(&b, o1, "mdo_admin", "Arun", "Bhatt", NULL);
	add_admin(&c, o2, "mdo_admin", "Kiran", "Zaveri", NULL);
	add_admin(&d, o1, "spv_admin", "Sita", "Ram", NULL);
	add_user(&plain, o1, T0);
	/* the same user may also be MDO administrator of o2: two rows */
	store_role r2 = {"mdo_admin", ""};
	snprintf(r2.org_id, sizeof r2.org_id, "%s", o2);
	assert_int_equal(store_role_add(S, a.id, &r2), PV_OK);

	assert_int_equal(store_admin_list(S, "mdo_admin", o1, "", "", (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 2);
	assert_int_equal(n, 2);
	/* same last name: first name decides */
	assert_string_equal(items[0].user.id, b.id);
	assert_string_equal(items[0].username, "");
	assert_string_equal(items[1].user.id, a.id);
	assert_string_equal(items[1].username, un);
	assert_string_equal(items[1].role.role, "mdo_admin");
	assert_string_equal(items[1].role.org_id, o1);
	assert_string_equal(items[1].user.email, a.email);
	assert_string_equal(items[1].user.status, STORE_USER_PENDING);
	free(items);

	/* by text: a part of the username, any case; of a name; of a mobile */
	snprintf(q, sizeof q, "mdo.ONE-%08x", run_tag);
	assert_int_equal(store_admin_list(S, "mdo_admin", "", "", q, (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 2); /* a, in o1 and in o2 */
	assert_string_equal(items[0].user.id, a.id);
	assert_string_equal(items[0].role.org_id, o2); /* "AAA first" sorts first */
	assert_string_equal(items[1].role.org_id, o1);
	free(items);
	assert_int_equal(store_admin_list(S, "mdo_admin", o2, "", "zaver", (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 1);
	assert_string_equal(items[0].user.id, c.id);
	free(items);
	assert_int_equal(store_admin_list(S, "mdo_admin", o2, "", c.mobile + 3, (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 1);
	free(items);
	/* % and _ are text, not wildcards */
	assert_int_equal(store_admin_list(S, "mdo_admin", o1, "", "%", (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 0);
	assert_null(items);

	/* the whole list of o2, organisation by organisation */
	assert_int_equal(store_admin_list(S, "mdo_admin", o2, "", "", (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 2);
	assert_string_equal(items[0].user.id, a.id); /* Bhatt before Zaveri */
	assert_string_equal(items[1].user.id, c.id);
	free(items);

	/* by status */
	assert_int_equal(store_user_set_status(S, c.id, STORE_USER_INACTIVE, T0 + 1), PV_OK);
	assert_int_equal(store_admin_list(S, "mdo_admin", o2, STORE_USER_INACTIVE, "", (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 1);
	assert_string_equal(items[0].user.id, c.id);
	assert_string_equal(items[0].user.status, STORE_USER_INACTIVE);
	free(items);

	/* another role; a user without a role is never listed */
	assert_int_equal(store_admin_list(S, "spv_admin", "", "", d.email, (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 1);
	assert_string_equal(items[0].user.id, d.id);
	assert_string_equal(items[0].role.org_id, "");
	free(items);
	assert_int_equal(store_admin_list(S, "mdo_admin", "", "", plain.email, (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 0);

	/* paging, and the last login is part of the user */
	assert_int_equal(store_user_logged_in(S, b.id, T0 + 99), PV_OK);
	assert_int_equal(store_admin_list(S, "mdo_admin", o1, "", "", (store_page){2, 1}, &items, &n, &total), PV_OK);
	assert_true(total == 2);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].user.id, a.id);
	free(items);
	assert_int_equal(store_admin_list(S, "mdo_admin", o1, "", "", (store_page){1, 1}, &items, &n, &total), PV_OK);
	assert_true(items[0].user.last_login_at == T0 + 99);
	free(items);
	assert_int_equal(store_admin_list(S, "mdo_admin", o1, "", "", (store_page){0, 1}, &items, &n, &total), PV_EINVAL);
	char longq[300];
	memset(longq, 'a', sizeof longq - 1);
	longq[sizeof longq - 1] = '\0';
	assert_int_equal(store_admin_list(S, "mdo_admin", o1, "", longq, (store_page){1, 1}, &items, &n, &total), PV_EINVAL);
}

static void make_otp(store_otp *o, const char *subject, const char *purpose,
		     int64_t at)
{
	memset(o, 0, sizeof *o);
	snprintf(o->subject, sizeof o->subject, "%s", subject);
	snprintf(o->purpose, sizeof o->purpose, "%s", purpose);
	fill_hash(o->code_mac);
	o->created_at = at;
	o->expires_at = at + 300000;
}

static void test_otp(void **state)
{
	char subject[STORE_KEY_MAX];
	store_otp o1, o2, o3, got;
	int attempts = -1;

	(void)state;
	uniq(subject, sizeof subject, "otp:");
	assert_int_equal(store_otp_last(S, subject, "login", &got),
			 PV_ENOTFOUND);

	make_otp(&o1, subject, "login", T0);
	o1.attempts = 7; /* ignored: a new challenge is live, untried */
	o1.state = STORE_OTP_DEAD;
	assert_int_equal(store_otp_insert(S, &o1), PV_OK);
	assert_true(o1.id > 0);
	assert_int_equal(store_otp_last(S, subject, "login", &got), PV_OK);
	assert_true(got.id == o1.id);
	assert_string_equal(got.subject, subject);
	assert_memory_equal(got.code_mac, o1.code_mac, STORE_HASH_LEN);
	assert_int_equal(got.state, STORE_OTP_LIVE);
	assert_int_equal(got.attempts, 0);
	assert_true(got.created_at == T0 && got.expires_at == T0 + 300000);

	make_otp(&o3, subject, "register", T0 + 5);
	assert_int_equal(store_otp_insert(S, &o3), PV_OK);
	/* A new challenge of the same purpose kills the older live one. */
	make_otp(&o2, subject, "login", T0 + 10);
	assert_int_equal(store_otp_insert(S, &o2), PV_OK);
	assert_true(o2.id != o1.id);
	assert_int_equal(store_otp_last(S, subject, "login", &got), PV_OK);
	assert_true(got.id == o2.id);
	/* o1 is dead: it can be neither used nor tried. */
	assert_int_equal(store_otp_use(S, o1.id), PV_ECONFLICT);
	assert_int_equal(store_otp_fail(S, o1.id, 3, &attempts), PV_ECONFLICT);
	/* Other purposes are untouched. */
	assert_int_equal(store_otp_last(S, subject, "register", &got), PV_OK);
	assert_true(got.id == o3.id && got.state == STORE_OTP_LIVE);

	/* Wrong tries count up; the max_tries-th kills it. */
	assert_int_equal(store_otp_fail(S, o3.id, 2, &attempts), PV_OK);
	assert_int_equal(attempts, 1);
	assert_int_equal(store_otp_last(S, subject, "register", &got), PV_OK);
	assert_true(got.attempts == 1 && got.state == STORE_OTP_LIVE);
	assert_int_equal(store_otp_fail(S, o3.id, 2, &attempts), PV_OK);
	assert_int_equal(attempts, 2);
	assert_int_equal(store_otp_last(S, subject, "register", &got), PV_OK);
	assert_int_equal(got.state, STORE_OTP_DEAD);
	assert_int_equal(store_otp_use(S, o3.id), PV_ECONFLICT);

	/* A wrong try, then the right one. */
	assert_int_equal(store_otp_fail(S, o2.id, 3, NULL), PV_OK);
	assert_int_equal(store_otp_use(S, o2.id), PV_OK);
	assert_int_equal(store_otp_last(S, subject, "login", &got), PV_OK);
	assert_true(got.id == o2.id && got.attempts == 1);
	assert_int_equal(got.state, STORE_OTP_USED);
	/* Used once: a second use, or a try, is refused. */
	assert_int_equal(store_otp_use(S, o2.id), PV_ECONFLICT);
	assert_int_equal(store_otp_fail(S, o2.id, 3, NULL), PV_ECONFLICT);
	assert_int_equal(store_otp_use(S, INT64_C(999999999999)), PV_ENOTFOUND);
	assert_int_equal(store_otp_fail(S, INT64_C(999999999999), 3, NULL),
			 PV_ENOTFOUND);
	assert_int_equal(store_otp_fail(S, o2.id, 0, NULL), PV_EINVAL);
}

/* throttle_peek_pair answers for each key what throttle_peek answers:
 * both, one, neither, an ended window, a lock that outlives its window,
 * the same key twice; in a transaction or not. */
static void test_throttle_peek_pair(void **state)
{
	char a[STORE_KEY_MAX], b[STORE_KEY_MAX], none[STORE_KEY_MAX];
	store_throttle t[2], p;
	int found[2];

	(void)state;
	uniq(a, sizeof a, "pair-a:");
	uniq(b, sizeof b, "pair-b:");
	uniq(none, sizeof none, "pair-none:");
	assert_int_equal(store_throttle_peek_pair(S, a, b, T0, t, found), PV_OK);
	assert_true(found[0] == 0 && found[1] == 0);
	assert_int_equal(store_throttle_hit(S, a, T0, 1000, 0, 0, NULL), PV_OK);
	assert_int_equal(store_throttle_hit(S, a, T0 + 1, 1000, 0, 0, NULL), PV_OK);
	/* b: locked at its first hit for 5 s, past its 1 s window */
	assert_int_equal(store_throttle_hit(S, b, T0, 1000, 1, 5000, NULL), PV_OK);
	memset(t, 0, sizeof t);
	assert_int_equal(store_throttle_peek_pair(S, a, b, T0 + 10, t, found), PV_OK);
	assert_true(found[0] == 1 && found[1] == 1);
	assert_string_equal(t[0].key, a);
	assert_true(t[0].count == 2 && t[0].window_start == T0 && t[0].window_end == T0 + 1000);
	assert_int_equal(store_throttle_peek(S, b, T0 + 10, &p), PV_OK);
	assert_string_equal(t[1].key, p.key);
	assert_true(t[1].count == p.count && t[1].window_start == p.window_start &&
		    t[1].window_end == p.window_end && t[1].locked_until == p.locked_until);
	/* the order of the keys is the caller's */
	assert_int_equal(store_throttle_peek_pair(S, none, a, T0 + 10, t, found), PV_OK);
	assert_true(found[0] == 0 && found[1] == 1 && t[1].count == 2);
	/* a's window has ended; b's lock has not */
	assert_int_equal(store_throttle_peek_pair(S, a, b, T0 + 1000, t, found), PV_OK);
	assert_true(found[0] == 0 && found[1] == 1 && t[1].locked_until == T0 + 5000);
	assert_int_equal(store_throttle_peek_pair(S, b, b, T0 + 1000, t, found), PV_OK);
	assert_true(found[0] == 1 && found[1] == 1 && t[0].locked_until == t[1].locked_until);
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_throttle_peek_pair(S, a, b, T0 + 10, t, found), PV_OK);
	assert_true(found[0] == 1 && found[1] == 1 && t[0].count == 2);
	assert_int_equal(store_tx_commit(S), PV_OK);
	assert_int_equal(store_throttle_peek_pair(S, a, b, T0 + 5000, t, found), PV_OK);
	assert_true(found[0] == 0 && found[1] == 0);
}

static void test_throttles(void **state)
{
	char key[STORE_KEY_MAX];
	store_throttle t;

	(void)state;
	uniq(key, sizeof key, "login-fail:");
	assert_int_equal(store_throttle_peek(S, key, T0, &t), PV_ENOTFOUND);
	/* Hits count within the window. */
	assert_int_equal(store_throttle_hit(S, key, T0, 1000, 0, 0, &t), PV_OK);
	assert_string_equal(t.key, key);
	assert_true(t.count == 1 && t.window_start == T0 &&
		    t.window_end == T0 + 1000 && t.locked_until == 0);
	assert_int_equal(store_throttle_hit(S, key, T0 + 500, 1000, 0, 0, &t),
			 PV_OK);
	assert_true(t.count == 2 && t.window_start == T0);
	assert_int_equal(store_throttle_peek(S, key, T0 + 999, &t), PV_OK);
	assert_true(t.count == 2);
	/* peek_share answers as peek (its lock is for the concurrent case,
	 * tests/unit/store/test_pg.c), in a transaction or not */
	memset(&t, 0, sizeof t);
	assert_int_equal(store_throttle_peek_share(S, key, T0 + 999, &t), PV_OK);
	assert_true(t.count == 2 && t.window_start == T0 && t.window_end == T0 + 1000);
	assert_string_equal(t.key, key);
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_throttle_peek_share(S, key, T0 + 999, &t), PV_OK);
	assert_true(t.count == 2);
	assert_int_equal(store_throttle_peek_share(S, key, T0 + 1000, &t), PV_ENOTFOUND);
	assert_int_equal(store_tx_commit(S), PV_OK);
	/* An ended window: peek sees nothing, a hit starts a new one. */
	assert_int_equal(store_throttle_peek(S, key, T0 + 1000, &t),
			 PV_ENOTFOUND);
	assert_int_equal(store_throttle_hit(S, key, T0 + 1000, 1000, 0, 0, &t),
			 PV_OK);
	assert_true(t.count == 1 && t.window_start == T0 + 1000 &&
		    t.window_end == T0 + 2000);
	/* Undo takes back a hit of the current window, not below 0. */
	assert_int_equal(store_throttle_undo(S, key, T0 + 1001), PV_OK);
	assert_int_equal(store_throttle_peek(S, key, T0 + 1001, &t), PV_OK);
	assert_true(t.count == 0);
	assert_int_equal(store_throttle_undo(S, key, T0 + 1001), PV_OK);
	assert_int_equal(store_throttle_peek(S, key, T0 + 1001, &t), PV_OK);
	assert_true(t.count == 0);
	/* The lock_at-th hit locks for lock_ms; hits while locked do not
	 * count; a served lock starts a new window. */
	assert_int_equal(store_throttle_hit(S, key, T0 + 1100, 1000, 3, 5000, &t),
			 PV_OK);
	assert_int_equal(store_throttle_hit(S, key, T0 + 1200, 1000, 3, 5000, &t),
			 PV_OK);
	assert_true(t.count == 2 && t.locked_until == 0);
	assert_int_equal(store_throttle_hit(S, key, T0 + 1300, 1000, 3, 5000, &t),
			 PV_OK);
	assert_true(t.count == 3 && t.locked_until == T0 + 6300);
	assert_int_equal(store_throttle_hit(S, key, T0 + 3000, 1000, 3, 5000, &t),
			 PV_OK);
	assert_true(t.count == 3 && t.locked_until == T0 + 6300);
	/* still locked after its window ended: peek shows the lock */
	assert_int_equal(store_throttle_peek(S, key, T0 + 6000, &t), PV_OK);
	assert_true(t.locked_until == T0 + 6300);
	assert_int_equal(store_throttle_hit(S, key, T0 + 6300, 1000, 3, 5000, &t),
			 PV_OK);
	assert_true(t.count == 1 && t.locked_until == 0 &&
		    t.window_start == T0 + 6300);
	/* lock_at 1: the first hit locks */
	assert_int_equal(store_throttle_clear(S, key), PV_OK);
	assert_int_equal(store_throttle_hit(S, key, T0, 1000, 1, 200, &t), PV_OK);
	assert_true(t.count == 1 && t.locked_until == T0 + 200);
	/* clear forgets; clearing nothing is fine */
	assert_int_equal(store_throttle_clear(S, key), PV_OK);
	assert_int_equal(store_throttle_peek(S, key, T0, &t), PV_ENOTFOUND);
	assert_int_equal(store_throttle_clear(S, key), PV_OK);
	assert_int_equal(store_throttle_undo(S, key, T0), PV_OK);
	/* arguments */
	assert_int_equal(store_throttle_hit(S, key, T0, 0, 0, 0, &t), PV_EINVAL);
	assert_int_equal(store_throttle_hit(S, "", T0, 10, 0, 0, &t), PV_EINVAL);
}

static void test_sweep(void **state)
{
	char subject[STORE_KEY_MAX], key[STORE_KEY_MAX], user_org[STORE_ID_MAX];
	store_otp o, got;
	store_token tk, tgot;
	store_session se, sgot;
	store_throttle t;
	store_user u;
	int64_t n = -1, later = T0 + 100000000;

	(void)state;
	new_org(user_org, NULL);
	add_user(&u, user_org, T0);
	uniq(subject, sizeof subject, "otp:");
	make_otp(&o, subject, "login", T0);
	assert_int_equal(store_otp_insert(S, &o), PV_OK);
	memset(&tk, 0, sizeof tk);
	fill_hash(tk.hash);
	snprintf(tk.kind, sizeof tk.kind, "verify");
	snprintf(tk.subject, sizeof tk.subject, "x");
	tk.created_at = T0;
	tk.expires_at = T0 + 1000;
	assert_int_equal(store_token_insert(S, &tk), PV_OK);
	memset(&se, 0, sizeof se);
	fill_hash(se.hash);
	fill_hash(se.csrf_hash);
	snprintf(se.user_id, sizeof se.user_id, "%s", u.id);
	se.created_at = se.last_seen = T0;
	se.expires_at = later * 2;
	assert_int_equal(store_session_insert(S, &se), PV_OK);
	uniq(key, sizeof key, "t:");
	assert_int_equal(store_throttle_hit(S, key, T0, 1000, 0, 0, &t), PV_OK);

	/* Nothing has ended yet (grace 60 s): nothing of ours goes. */
	assert_int_equal(store_sweep(S, T0 + 500, 60000, 1800000, 1000, &n), PV_OK);
	assert_int_equal(store_otp_last(S, subject, "login", &got), PV_OK);
	assert_int_equal(store_session_get(S, se.hash, &sgot), PV_OK);
	assert_int_equal(store_throttle_peek(S, key, T0 + 500, &t), PV_OK);
	/* Long after: the code, the token, the idle session and the ended
	 * throttle are deleted, in bounded calls. */
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(store_sweep(S, later, 60000, 1800000, 50, &n), PV_OK);
		if (n == 0)
			break;
	}
	assert_true(n == 0);
	assert_int_equal(store_otp_last(S, subject, "login", &got), PV_ENOTFOUND);
	assert_int_equal(store_token_consume(S, "verify", tk.hash, T0, &tgot),
			 PV_ENOTFOUND);
	assert_int_equal(store_session_get(S, se.hash, &sgot), PV_ENOTFOUND);
	assert_int_equal(store_throttle_hit(S, key, later, 1000, 0, 0, &t), PV_OK);
	assert_true(t.count == 1 && t.window_start == later);
	assert_int_equal(store_sweep(S, later, -1, 0, 10, &n), PV_EINVAL);
	assert_int_equal(store_sweep(S, later, 0, 0, 0, &n), PV_EINVAL);
}

static void test_tokens(void **state)
{
	store_token t, e, got;
	unsigned char unknown[STORE_HASH_LEN];

	(void)state;
	memset(&t, 0, sizeof t);
	fill_hash(t.hash);
	snprintf(t.kind, sizeof t.kind, "activation");
	uniq(t.subject, sizeof t.subject, "user");
	snprintf(t.extra, sizeof t.extra, "{\"a\":1}");
	t.created_at = T0;
	t.expires_at = T0 + 1000;
	assert_int_equal(store_token_insert(S, &t), PV_OK);
	assert_int_equal(store_token_insert(S, &t), PV_ECONFLICT);

	/* Looking does not use it. */
	memset(&got, 0, sizeof got);
	assert_int_equal(store_token_get(S, "activation", t.hash, T0 + 1, &got), PV_OK);
	assert_string_equal(got.subject, t.subject);
	assert_true(got.used_at == 0);
	assert_int_equal(store_token_get(S, "activation", t.hash, T0 + 1000, &got),
			 PV_EEXPIRED);
	assert_int_equal(store_token_get(S, "verify", t.hash, T0 + 1, &got),
			 PV_ENOTFOUND);
	/* The wrong kind does not find it. */
	assert_int_equal(store_token_consume(S, "verify", t.hash, T0 + 1,
					       &got),
			 PV_ENOTFOUND);
	assert_int_equal(store_token_consume(S, "activation", t.hash, T0 + 1,
					       &got),
			 PV_OK);
	assert_memory_equal(got.hash, t.hash, STORE_HASH_LEN);
	assert_string_equal(got.kind, "activation");
	assert_string_equal(got.subject, t.subject);
	assert_string_equal(got.extra, t.extra);
	assert_true(got.expires_at == T0 + 1000);
	assert_true(got.used_at == T0 + 1);
	/* Single use. */
	assert_int_equal(store_token_consume(S, "activation", t.hash, T0 + 2,
					       &got),
			 PV_ENOTFOUND);
	assert_int_equal(store_token_get(S, "activation", t.hash, T0 + 2, &got),
			 PV_ENOTFOUND);
	/* Used and later expired: still "used". */
	assert_int_equal(store_token_consume(S, "activation", t.hash,
					       T0 + 5000, &got),
			 PV_ENOTFOUND);

	e = t;
	fill_hash(e.hash);
	assert_int_equal(store_token_insert(S, &e), PV_OK);
	assert_int_equal(store_token_consume(S, "activation", e.hash,
					       T0 + 1000, &got),
			 PV_EEXPIRED);
	assert_int_equal(store_token_consume(S, "activation", e.hash,
					       T0 + 999, NULL),
			 PV_OK);

	fill_hash(unknown);
	assert_int_equal(store_token_consume(S, "activation", unknown, T0,
					       &got),
			 PV_ENOTFOUND);
}

/* A new user of a new organisation, and a session of theirs to store (an
 * hour long, new hashes). */
static void login_fixture(store_user *u, store_session *a)
{
	char org[STORE_ID_MAX];

	new_org(org, NULL);
	add_user(u, org, T0);
	memset(a, 0, sizeof *a);
	fill_hash(a->hash);
	fill_hash(a->csrf_hash);
	snprintf(a->user_id, sizeof a->user_id, "%s", u->id);
	a->expires_at = T0 + 3600000;
}

/* session_login: the session and the user's last_login_at together; a
 * refused session (a known hash, an unknown user) moves nothing. */
static void test_session_login(void **state)
{
	store_user u, got;
	store_session a, sgot;

	(void)state;
	login_fixture(&u, &a);
	snprintf(a.client_ip, sizeof a.client_ip, "192.0.2.1");
	a.created_at = a.last_seen = T0 + 700;
	assert_int_equal(store_session_login(S, &a), PV_OK);
	assert_int_equal(store_session_get(S, a.hash, &sgot), PV_OK);
	assert_string_equal(sgot.user_id, u.id);
	assert_string_equal(sgot.client_ip, "192.0.2.1");
	assert_memory_equal(sgot.csrf_hash, a.csrf_hash, STORE_HASH_LEN);
	assert_true(sgot.created_at == T0 + 700 && sgot.expires_at == T0 + 3600000);
	assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
	assert_true(got.last_login_at == T0 + 700);
	assert_true(got.updated_at == T0);
	/* the same hash again: refused as session_insert refuses it, and the
	 * user's last login stays */
	a.created_at = T0 + 900;
	assert_int_equal(store_session_login(S, &a), PV_ECONFLICT);
	assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
	assert_true(got.last_login_at == T0 + 700);
	/* an unknown user: the answer of session_insert, no session */
	fill_hash(a.hash);
	snprintf(a.user_id, sizeof a.user_id, "no-such-user");
	int want = store_session_insert(S, &a);
	assert_int_not_equal(want, PV_OK);
	fill_hash(a.hash);
	assert_int_equal(store_session_login(S, &a), want);
	assert_int_equal(store_session_get(S, a.hash, &sgot), PV_ENOTFOUND);
}

/* session_login inside a transaction (PostgreSQL sends it with the
 * COMMIT): the transaction's later reads see it; alone in its transaction
 * it commits with it; a rollback keeps nothing; a refusal is answered by
 * the login call or by the commit, and the transaction keeps nothing of
 * what it wrote before. */
static void test_session_login_tx(void **state)
{
	store_user u, got;
	store_session a, sgot;
	int rc;

	(void)state;
	login_fixture(&u, &a);
	a.last_seen = T0;
	/* alone in its transaction; read back in it after another
	 * statement; rolled back (then neither is kept) */
	for (int m = 0; m < 3; m++) {
		fill_hash(a.hash);
		a.created_at = T0 + 10 * (m + 1);
		assert_int_equal(store_tx_begin(S), PV_OK);
		if (m == 1)
			assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
		assert_int_equal(store_session_login(S, &a), PV_OK);
		if (m == 1) {
			assert_int_equal(store_session_get(S, a.hash, &sgot), PV_OK);
			assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
			assert_true(got.last_login_at == T0 + 20);
		}
		assert_int_equal(m == 2 ? store_tx_rollback(S) : store_tx_commit(S), PV_OK);
		assert_int_equal(store_session_get(S, a.hash, &sgot), m == 2 ? PV_ENOTFOUND : PV_OK);
		assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
		assert_true(got.last_login_at == (m == 2 ? T0 + 20 : a.created_at));
	}
	/* refused (a known hash, then an unknown user) after a write of the
	 * same transaction: the error comes back, from the call or from the
	 * commit, and the write is not kept */
	for (int k = 0; k < 3; k++) {
		store_session b = a;

		assert_int_equal(store_tx_begin(S), PV_OK);
		assert_int_equal(store_user_logged_in(S, u.id, T0 + 40), PV_OK);
		fill_hash(b.hash);
		if (k == 0) /* a known hash: one this transaction stored */
			assert_int_equal(store_session_insert(S, &b), PV_OK);
		else
			snprintf(b.user_id, sizeof b.user_id, "no-such-user");
		b.created_at = T0 + 41;
		rc = store_session_login(S, &b);
		/* k 2: a call after it answers a failure that cannot be
		 * taken for one of its own (not "not found") */
		if (rc == PV_OK && k == 2) {
			int rc2 = store_user_get(S, u.id, &got);

			assert_true(rc2 == PV_ESTORE || rc2 == PV_EBUSY);
		}
		if (rc == PV_OK)
			rc = store_tx_commit(S);
		else
			assert_int_equal(store_tx_rollback(S), PV_OK);
		assert_int_equal(rc, k == 0 ? PV_ECONFLICT : PV_ENOTFOUND);
		assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
		assert_true(got.last_login_at == T0 + 20);
		assert_int_equal(store_session_get(S, b.hash, &sgot), PV_ENOTFOUND);
	}
}

static void test_sessions(void **state)
{
	char org[STORE_ID_MAX];
	store_user u;
	store_session a, b, got;
	unsigned char unknown[STORE_HASH_LEN];

	(void)state;
	new_org(org, NULL);
	add_user(&u, org, T0);
	memset(&a, 0, sizeof a);
	fill_hash(a.hash);
	fill_hash(a.csrf_hash);
	snprintf(a.user_id, sizeof a.user_id, "%s", u.id);
	a.created_at = a.last_seen = T0;
	a.expires_at = T0 + 3600000;
	b = a;
	fill_hash(b.hash);
	b.elevated = 1;
	assert_int_equal(store_session_insert(S, &a), PV_OK);
	assert_int_equal(store_session_insert(S, &b), PV_OK);
	assert_int_equal(store_session_insert(S, &a), PV_ECONFLICT);

	assert_int_equal(store_session_get(S, a.hash, &got), PV_OK);
	assert_string_equal(got.user_id, u.id);
	assert_memory_equal(got.csrf_hash, a.csrf_hash, STORE_HASH_LEN);
	assert_true(got.expires_at == T0 + 3600000);
	assert_int_equal(got.revoked, 0);
	assert_int_equal(got.elevated, 0);
	assert_int_equal(store_session_get(S, b.hash, &got), PV_OK);
	assert_int_equal(got.elevated, 1);

	assert_int_equal(store_session_touch(S, a.hash, T0 + 60), PV_OK);
	assert_int_equal(store_session_get(S, a.hash, &got), PV_OK);
	assert_true(got.last_seen == T0 + 60);
	assert_true(got.created_at == T0);

	assert_int_equal(store_session_revoke(S, a.hash), PV_OK);
	assert_int_equal(store_session_get(S, a.hash, &got), PV_OK);
	assert_int_equal(got.revoked, 1);
	assert_int_equal(store_session_get(S, b.hash, &got), PV_OK);
	assert_int_equal(got.revoked, 0);
	assert_int_equal(store_session_revoke_user(S, u.id), PV_OK);
	assert_int_equal(store_session_get(S, b.hash, &got), PV_OK);
	assert_int_equal(got.revoked, 1);

	fill_hash(unknown);
	assert_int_equal(store_session_get(S, unknown, &got), PV_ENOTFOUND);
	assert_int_equal(store_session_touch(S, unknown, T0), PV_ENOTFOUND);
	assert_int_equal(store_session_revoke(S, unknown), PV_ENOTFOUND);
}

static void make_request(store_request *r, const char *kind, const char *name,
			 int64_t at)
{
	memset(r, 0, sizeof *r);
	uniq(r->id, sizeof r->id, "req");
	snprintf(r->kind, sizeof r->kind, "%s", kind);
	snprintf(r->full_name, sizeof r->full_name, "Ravi Kumar");
	snprintf(r->email, sizeof r->email, "ravi@example.org");
	snprintf(r->mobile, sizeof r->mobile, "9876543210");
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->details, sizeof r->details, "needed for the new cell");
	snprintf(r->status, sizeof r->status, "%s", STORE_REQ_PENDING);
	r->created_at = at;
}

static void test_requests(void **state)
{
	char name[STORE_NAME_MAX], upper[STORE_NAME_MAX];
	store_request r1, r2, r3, ex, got, *items = NULL;
	size_t n;
	int64_t total;

	(void)state;
	uniq(name, sizeof name, "Data Scientist");
	snprintf(upper, sizeof upper, "%s", name);
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');

	make_request(&r1, "position", name, T0);
	assert_int_equal(store_request_insert(S, &r1, &ex), PV_OK);
	/* A pending request of the same kind and name, in other case. */
	make_request(&r2, "position", upper, T0 + 1);
	assert_int_equal(store_request_insert(S, &r2, &ex), PV_ECONFLICT);
	assert_string_equal(ex.id, r1.id);
	assert_string_equal(ex.name, name);
	assert_int_equal(store_request_insert(S, &r2, NULL), PV_ECONFLICT);
	/* Another kind with the same name is fine. */
	make_request(&r3, "organisation", name, T0 + 2);
	snprintf(r3.sector, sizeof r3.sector, "state");
	snprintf(r3.parent_id, sizeof r3.parent_id, "parent-1");
	assert_int_equal(store_request_insert(S, &r3, &ex), PV_OK);

	assert_int_equal(store_request_get(S, r3.id, &got), PV_OK);
	assert_string_equal(got.kind, "organisation");
	assert_string_equal(got.status, STORE_REQ_PENDING);
	assert_string_equal(got.sector, "state");
	assert_string_equal(got.parent_id, "parent-1");
	assert_string_equal(got.full_name, "Ravi Kumar");
	assert_string_equal(got.details, "needed for the new cell");
	assert_true(got.created_at == T0 + 2 && got.decided_at == 0);
	assert_int_equal(store_request_get(S, "no-such-req", &got),
			 PV_ENOTFOUND);

	/* Decide once. */
	r1.decided_at = T0 + 100;
	snprintf(r1.status, sizeof r1.status, "%s", STORE_REQ_APPROVED);
	snprintf(r1.created_id, sizeof r1.created_id, "pos-created");
	snprintf(r1.decided_by, sizeof r1.decided_by, "admin-1");
	assert_int_equal(store_request_decide(S, &r1), PV_OK);
	assert_int_equal(store_request_get(S, r1.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_REQ_APPROVED);
	assert_string_equal(got.created_id, "pos-created");
	assert_string_equal(got.decided_by, "admin-1");
	assert_true(got.decided_at == T0 + 100);
	/* Twice: refused. */
	snprintf(r1.status, sizeof r1.status, "%s", STORE_REQ_REJECTED);
	assert_int_equal(store_request_decide(S, &r1), PV_ECONFLICT);
	assert_int_equal(store_request_get(S, r1.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_REQ_APPROVED);
	/* No longer pending: the same name may be asked for again. */
	assert_int_equal(store_request_insert(S, &r2, &ex), PV_OK);
	/* Reject with a reason. */
	snprintf(r2.status, sizeof r2.status, "%s", STORE_REQ_REJECTED);
	snprintf(r2.reason, sizeof r2.reason, "already exists");
	snprintf(r2.decided_by, sizeof r2.decided_by, "admin-2");
	r2.decided_at = T0 + 200;
	assert_int_equal(store_request_decide(S, &r2), PV_OK);
	assert_int_equal(store_request_get(S, r2.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_REQ_REJECTED);
	assert_string_equal(got.reason, "already exists");
	snprintf(r2.id, sizeof r2.id, "no-such-req");
	assert_int_equal(store_request_decide(S, &r2), PV_ENOTFOUND);

	/* Lists: oldest first, paged, filtered; count with deltas since the
	 * database may hold other requests. */
	int64_t before;
	store_page pg = {1, 100};
	assert_int_equal(store_request_list(S, STORE_REQ_PENDING,
					      "organisation", pg, &items, &n,
					      &before),
			 PV_OK);
	free(items);
	store_request extra[3];
	char xname[STORE_NAME_MAX];
	for (int i = 0; i < 3; i++) {
		uniq(xname, sizeof xname, "Org Cell");
		make_request(&extra[i], "organisation", xname, T0 + 10 + i);
		assert_int_equal(store_request_insert(S, &extra[i], NULL),
				 PV_OK);
	}
	int found[3] = {0, 0, 0}, order = 0;
	int64_t seen = 0;
	pg = (store_page){1, 2};
	for (int page = 1; page <= 100000; page++) {
		pg.page = page;
		assert_int_equal(store_request_list(S, STORE_REQ_PENDING,
						      "organisation", pg,
						      &items, &n, &total),
				 PV_OK);
		assert_true(total == before + 3);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(items[i].status,
					    STORE_REQ_PENDING);
			assert_string_equal(items[i].kind, "organisation");
			for (int k = 0; k < 3; k++)
				if (strcmp(items[i].id, extra[k].id) == 0)
					found[k] = ++order;
		}
		seen += (int64_t)n;
		free(items);
		if (n == 0)
			break;
	}
	assert_true(seen == total);
	assert_true(found[0] && found[1] > found[0] && found[2] > found[1]);
	/* Any status, any kind. */
	assert_int_equal(store_request_list(S, "", "", (store_page){1, 1},
					      &items, &n, &total),
			 PV_OK);
	assert_true(total >= 6);
	assert_int_equal(n, 1);
	free(items);
}

static void make_upload(store_upload *u, const char *org, int64_t at)
{
	memset(u, 0, sizeof *u);
	uniq(u->id, sizeof u->id, "up");
	snprintf(u->org_id, sizeof u->org_id, "%s", org);
	snprintf(u->uploader_id, sizeof u->uploader_id, "mdo-1");
	snprintf(u->file_name, sizeof u->file_name, "%lld_users.csv",
		 (long long)at);
	snprintf(u->stored_path, sizeof u->stored_path, "/data/%s.csv", u->id);
	snprintf(u->format, sizeof u->format, "csv");
	snprintf(u->status, sizeof u->status, "%s", STORE_UP_QUEUED);
	snprintf(u->original_name, sizeof u->original_name,
		 "Users of \u0926\u093F\u0932\u094D\u0932\u0940 (May).csv");
	u->created_at = u->updated_at = at;
}

struct fail_seen {
	int64_t rows[8];
	int n;
};

static int fail_cb(void *ctx, const store_upload_failure *f)
{
	struct fail_seen *w = ctx;

	if (w->n < 8)
		w->rows[w->n] = f->row;
	w->n++;
	if (f->row == 3 && strcmp(f->errors, "[Invalid mobile]") != 0)
		return 99;
	return 0;
}

static int stop_fail_cb(void *ctx, const store_upload_failure *f)
{
	(void)f;
	(*(int *)ctx)++;
	return 5;
}

static void test_uploads(void **state)
{
	char org[STORE_ID_MAX];
	store_upload a, b, got, *items = NULL;
	store_upload_failure f;
	int64_t q0, ip0, ok0, fl0, q1, ip1, ok1, fl1, total;
	size_t n;

	(void)state;
	new_org(org, NULL);
	assert_int_equal(store_upload_status_counts(S, &q0, &ip0, &ok0, &fl0),
			 PV_OK);
	make_upload(&a, org, T0);
	make_upload(&b, org, T0 + 10);
	assert_int_equal(store_upload_insert(S, &a), PV_OK);
	assert_int_equal(store_upload_insert(S, &b), PV_OK);
	assert_int_equal(store_upload_insert(S, &b), PV_ECONFLICT);
	assert_int_equal(store_upload_status_counts(S, &q1, &ip1, &ok1, &fl1),
			 PV_OK);
	assert_true(q1 == q0 + 2 && ip1 == ip0 && ok1 == ok0 && fl1 == fl0);

	assert_int_equal(store_upload_get(S, a.id, &got), PV_OK);
	assert_string_equal(got.org_id, org);
	assert_string_equal(got.file_name, a.file_name);
	assert_string_equal(got.original_name, a.original_name);
	assert_string_equal(got.stored_path, a.stored_path);
	assert_string_equal(got.format, "csv");
	assert_string_equal(got.status, STORE_UP_QUEUED);
	assert_string_equal(got.claimed_by, "");
	assert_true(got.total_records == 0 && got.cursor == 0);
	assert_int_equal(store_upload_get(S, "no-such-up", &got),
			 PV_ENOTFOUND);

	/* Newest first. */
	assert_int_equal(store_upload_list(S, org, (store_page){1, 10},
					     &items, &n, &total),
			 PV_OK);
	assert_true(total == 2);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].id, b.id);
	assert_string_equal(items[1].id, a.id);
	free(items);
	assert_int_equal(store_upload_list(S, org, (store_page){2, 1},
					     &items, &n, &total),
			 PV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, a.id);
	free(items);

	/* Failures come back in row order; a row is recorded once. */
	int64_t rows[] = {7, 3, 12};
	for (int i = 0; i < 3; i++) {
		memset(&f, 0, sizeof f);
		f.row = rows[i];
		snprintf(f.errors, sizeof f.errors, "[Invalid mobile]");
		assert_int_equal(store_upload_failure_add(S, a.id, &f),
				 PV_OK);
	}
	assert_int_equal(store_upload_failure_add(S, a.id, &f), PV_ECONFLICT);
	struct fail_seen w = {{0}, 0};
	assert_int_equal(store_upload_failure_each(S, a.id, fail_cb, &w),
			 PV_OK);
	assert_int_equal(w.n, 3);
	assert_true(w.rows[0] == 3 && w.rows[1] == 7 && w.rows[2] == 12);
	int calls = 0;
	assert_int_equal(store_upload_failure_each(S, a.id, stop_fail_cb,
						     &calls),
			 5);
	assert_int_equal(calls, 1);
	w.n = 0;
	assert_int_equal(store_upload_failure_each(S, b.id, fail_cb, &w),
			 PV_OK);
	assert_int_equal(w.n, 0);

	/* Finish without a claim (e.g. an unreadable file). */
	assert_int_equal(store_upload_finish(S, b.id, STORE_UP_FAILED,
					       "The file could not be read", NULL,
					       T0 + 20),
			 PV_OK);
	assert_int_equal(store_upload_get(S, b.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_UP_FAILED);
	assert_string_equal(got.error, "The file could not be read");
	assert_true(got.updated_at == T0 + 20);
	assert_int_equal(store_upload_finish(S, "no-such-up", STORE_UP_FAILED,
					       "", NULL, T0),
			 PV_ENOTFOUND);
	assert_int_equal(store_upload_status_counts(S, &q1, &ip1, &ok1, &fl1),
			 PV_OK);
	assert_true(q1 == q0 + 1 && fl1 == fl0 + 1);
}

static void test_upload_claims(void **state)
{
	char org[STORE_ID_MAX];
	store_upload a, b, c1, c2, got;
	int64_t now = T0 + 1000000;

	(void)state;
	drain_queues();
	new_org(org, NULL);
	make_upload(&a, org, T0 + 1);
	make_upload(&b, org, T0 + 2);
	assert_int_equal(store_upload_insert(S, &a), PV_OK);
	assert_int_equal(store_upload_insert(S, &b), PV_OK);

	/* Two claims never take the same upload; the oldest goes first. */
	assert_int_equal(store_upload_claim(S, "w-a", now, LEASE, &c1),
			 PV_OK);
	assert_int_equal(store_upload_claim(S, "w-b", now, LEASE, &c2),
			 PV_OK);
	assert_string_equal(c1.id, a.id);
	assert_string_equal(c2.id, b.id);
	assert_string_equal(c1.status, STORE_UP_IN_PROGRESS);
	assert_string_equal(c1.claimed_by, "w-a");
	assert_true(c1.lease_until == now + LEASE);
	assert_int_equal(store_upload_claim(S, "w-c", now + 1, LEASE, &got),
			 PV_ENOTFOUND);

	/* Progress by the holder renews the lease. */
	c1.total_records = 100;
	c1.success_records = 40;
	c1.failed_records = 2;
	c1.cursor = 4242;
	assert_int_equal(store_upload_progress(S, &c1, "w-a", now + 10,
						 LEASE),
			 PV_OK);
	assert_int_equal(store_upload_get(S, a.id, &got), PV_OK);
	assert_true(got.total_records == 100 && got.success_records == 40 &&
		    got.failed_records == 2 && got.cursor == 4242);
	assert_true(got.lease_until == now + 10 + LEASE);
	/* Not while the renewed lease runs. */
	assert_int_equal(store_upload_claim(S, "w-c", now + LEASE + 5, LEASE,
					      &got),
			 PV_OK);
	assert_string_equal(got.id, b.id); /* b's lease expired, a's did not */

	/* a's holder dies: after its lease, another worker takes it over and
	 * finds the counts and cursor of the last committed chunk. */
	int64_t later = now + 10 + LEASE;
	assert_int_equal(store_upload_claim(S, "w-d", later, LEASE, &got),
			 PV_OK);
	assert_string_equal(got.id, a.id);
	assert_string_equal(got.claimed_by, "w-d");
	assert_true(got.cursor == 4242 && got.success_records == 40);
	/* The old holder lost the lease. */
	assert_int_equal(store_upload_progress(S, &c1, "w-a", later + 1,
						 LEASE),
			 PV_ECONFLICT);
	assert_int_equal(store_upload_progress(S, &c1, "w-d", later + 1,
						 LEASE),
			 PV_OK);
	/* nor may it finish or hand back what another worker holds */
	assert_int_equal(store_upload_finish(S, c1.id, STORE_UP_QUEUED, "",
					       "w-a", later + 1),
			 PV_ECONFLICT);
	snprintf(c1.id, sizeof c1.id, "no-such-up");
	assert_int_equal(store_upload_progress(S, &c1, "w-d", later + 1,
						 LEASE),
			 PV_ENOTFOUND);

	/* Finished uploads are never claimed again. */
	assert_int_equal(store_upload_finish(S, a.id, STORE_UP_SUCCESSFUL, "", NULL,
					       later + 2),
			 PV_OK);
	assert_int_equal(store_upload_finish(S, b.id, STORE_UP_FAILED,
					       "row errors", NULL, later + 2),
			 PV_OK);
	assert_int_equal(store_upload_get(S, a.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_UP_SUCCESSFUL);
	assert_string_equal(got.claimed_by, "");
	assert_int_equal(store_upload_claim(S, "w-e", later + 10 * LEASE,
					      LEASE, &got),
			 PV_ENOTFOUND);
	/* Progress after finishing: refused. */
	snprintf(c1.id, sizeof c1.id, "%s", a.id);
	assert_int_equal(store_upload_progress(S, &c1, "w-d", later + 3,
						 LEASE),
			 PV_ECONFLICT);
}

/* An upload inserted already claimed (the import CLI) is not claimable
 * while its lease runs, and its holder may report progress at once. */
static void test_upload_insert_claimed(void **state)
{
	char org[STORE_ID_MAX];
	store_upload a, got;
	int64_t now = T0 + 5000000;

	(void)state;
	drain_queues();
	new_org(org, NULL);
	make_upload(&a, org, T0 + 3);
	snprintf(a.status, sizeof a.status, "%s", STORE_UP_IN_PROGRESS);
	snprintf(a.claimed_by, sizeof a.claimed_by, "cli-1");
	a.lease_until = now + LEASE;
	assert_int_equal(store_upload_insert(S, &a), PV_OK);
	assert_int_equal(store_upload_get(S, a.id, &got), PV_OK);
	assert_string_equal(got.claimed_by, "cli-1");
	assert_true(got.lease_until == now + LEASE);
	assert_int_equal(store_upload_claim(S, "w-x", now + 1, LEASE, &got),
			 PV_ENOTFOUND);
	a.cursor = 7;
	assert_int_equal(store_upload_progress(S, &a, "cli-1", now + 2, LEASE),
			 PV_OK);
	/* after its lease, a worker may take it over */
	assert_int_equal(store_upload_claim(S, "w-x", now + 3 + LEASE, LEASE,
					      &got),
			 PV_OK);
	assert_string_equal(got.id, a.id);
	assert_true(got.cursor == 7);
	assert_int_equal(store_upload_finish(S, a.id, STORE_UP_FAILED, "x", NULL,
					       now + 4 + LEASE),
			 PV_OK);
}

static void make_msg(store_outbox *m, int64_t at, int64_t next_at)
{
	memset(m, 0, sizeof *m);
	snprintf(m->channel, sizeof m->channel, "sms");
	uniq_mobile(m->to_addr);
	snprintf(m->template_name, sizeof m->template_name, "otp_login");
	snprintf(m->lang, sizeof m->lang, "en");
	snprintf(m->params, sizeof m->params, "{\"code_ref\":\"x\"}");
	m->created_at = at;
	m->next_at = next_at;
}

static void test_outbox(void **state)
{
	store_outbox m1, m2, m3, got;
	int64_t q0, f0, q1, f1;
	int64_t now = T0 + 2000000;

	(void)state;
	drain_queues();
	assert_int_equal(store_outbox_stats(S, &q0, &f0), PV_OK);
	make_msg(&m1, now, now);
	make_msg(&m2, now, now + 1000);
	assert_int_equal(store_outbox_insert(S, &m1), PV_OK);
	assert_int_equal(store_outbox_insert(S, &m2), PV_OK);
	assert_true(m1.id > 0 && m2.id > 0 && m1.id != m2.id);
	assert_int_equal(store_outbox_stats(S, &q1, &f1), PV_OK);
	assert_true(q1 == q0 + 2 && f1 == f0);

	assert_int_equal(store_outbox_claim(S, "w-a", now, LEASE, &got),
			 PV_OK);
	assert_true(got.id == m1.id);
	assert_string_equal(got.to_addr, m1.to_addr);
	assert_string_equal(got.params, m1.params);
	assert_string_equal(got.template_name, "otp_login");
	assert_string_equal(got.lang, "en");
	assert_string_equal(got.status, STORE_OUT_QUEUED);
	assert_string_equal(got.claimed_by, "w-a");
	/* m1 is leased, m2 is not due yet. */
	assert_int_equal(store_outbox_claim(S, "w-b", now, LEASE, &got),
			 PV_ENOTFOUND);
	assert_int_equal(store_outbox_claim(S, "w-b", now + 1000, LEASE,
					      &got),
			 PV_OK);
	assert_true(got.id == m2.id);

	assert_int_equal(store_outbox_sent(S, m1.id, now + 5), PV_OK);
	assert_int_equal(store_outbox_retry(S, m2.id, 1, now + 5000,
					      "gateway timeout"),
			 PV_OK);
	assert_int_equal(store_outbox_claim(S, "w-c", now + 4999, LEASE,
					      &got),
			 PV_ENOTFOUND);
	assert_int_equal(store_outbox_claim(S, "w-c", now + 5000, LEASE,
					      &got),
			 PV_OK);
	assert_true(got.id == m2.id);
	assert_int_equal(got.attempts, 1);
	assert_string_equal(got.last_error, "gateway timeout");
	assert_int_equal(store_outbox_fail(S, m2.id, 5, "gave up"), PV_OK);
	assert_int_equal(store_outbox_stats(S, &q1, &f1), PV_OK);
	assert_true(q1 == q0 && f1 == f0 + 1);
	/* Sent and failed messages are never claimed again. */
	assert_int_equal(store_outbox_claim(S, "w-d", now + 10 * LEASE,
					      LEASE, &got),
			 PV_ENOTFOUND);
	assert_int_equal(store_outbox_sent(S, INT64_C(999999999999), now),
			 PV_ENOTFOUND);

	/* An expired lease is claimable again. */
	make_msg(&m3, now, now);
	assert_int_equal(store_outbox_insert(S, &m3), PV_OK);
	assert_int_equal(store_outbox_claim(S, "w-a", now + 20 * LEASE,
					      LEASE, &got),
			 PV_OK);
	assert_true(got.id == m3.id);
	assert_int_equal(store_outbox_claim(S, "w-b", now + 21 * LEASE - 1,
					      LEASE, &got),
			 PV_ENOTFOUND);
	assert_int_equal(store_outbox_claim(S, "w-b", now + 21 * LEASE,
					      LEASE, &got),
			 PV_OK);
	assert_true(got.id == m3.id);
	assert_string_equal(got.claimed_by, "w-b");
	assert_int_equal(store_outbox_sent(S, m3.id, now), PV_OK);

	/* A long error is cut to fit. */
	char longerr[3000];
	memset(longerr, 'e', sizeof longerr - 1);
	longerr[sizeof longerr - 1] = '\0';
	make_msg(&m3, now, now);
	assert_int_equal(store_outbox_insert(S, &m3), PV_OK);
	assert_int_equal(store_outbox_retry(S, m3.id, 1, now, longerr),
			 PV_OK);
	assert_int_equal(store_outbox_claim(S, "w-a", now + 30 * LEASE,
					      LEASE, &got),
			 PV_OK);
	assert_true(got.id == m3.id);
	assert_int_equal(strlen(got.last_error), sizeof got.last_error - 1);
	assert_int_equal(store_outbox_fail(S, m3.id, 2, "x"), PV_OK);
}

/* A user of a bulk upload: row `row` of upload `up`, fresh keys. */
static void make_bulk_user(store_user *u, const char *org, const store_upload *up,
			   int64_t row)
{
	char email[STORE_EMAIL_MAX], mobile[STORE_MOBILE_MAX];

	uniq(email, sizeof email, "bulk");
	strcat(email, "@example.gov.in");
	uniq_mobile(mobile);
	make_user(u, org, email, mobile, T0);
	snprintf(u->status, sizeof u->status, "%s", STORE_USER_ACTIVE);
	snprintf(u->source, sizeof u->source, "bulk");
	assert_int_equal(store_upload_user_id(up, row, u->id, sizeof u->id), PV_OK);
}

/* The organisation's list after a batch with refused rows: every user
 * once, newest first, by cursor and by page number alike, the batch's last
 * stored user first. */
static void batch_listed(const char *org, const store_user *big, const int *bc,
			 int nbig)
{
	store_user *items, *pg2;
	store_user_list_info info, info2;
	size_t n, n2, seen = 0;
	int64_t after = 0, total = -1;
	char (*ids)[STORE_ID_MAX] = calloc(4096, sizeof *ids);
	int last = nbig - 1;

	assert_non_null(ids);
	while (last >= 0 && bc[last])
		last--;
	for (int page = 1; page < 100; page++) {
		ulist(org, "", "", after ? 1 : page, 50, after, &items, &n, &info);
		if (page == 1) {
			total = info.total;
			assert_true(n > 0);
			assert_string_equal(items[0].id, big[last].id);
		}
		if (page == 2) { /* the same page by its number */
			ulist(org, "", "", 2, 50, 0, &pg2, &n2, &info2);
			assert_int_equal(n2, n);
			for (size_t i = 0; i < n; i++)
				assert_string_equal(pg2[i].id, items[i].id);
			free(pg2);
		}
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < seen; j++)
				assert_string_not_equal(ids[j], items[i].id);
			assert_true(seen < 4096);
			snprintf(ids[seen++], STORE_ID_MAX, "%s", items[i].id);
		}
		free(items);
		after = info.next;
		if (!after)
			break;
	}
	assert_int_equal((int64_t)seen, total);
	for (int i = 0; i < nbig; i++) {
		int found = 0;

		if (bc[i] == STORE_CONFLICT_KEY)
			continue; /* its id is an earlier row's */
		for (size_t j = 0; j < seen && !found; j++)
			found = strcmp(ids[j], big[i].id) == 0;
		assert_int_equal(found, bc[i] == 0);
	}
	free(ids);
}

static void test_user_insert_batch(void **state)
{
	char org[STORE_ID_MAX], upper[STORE_EMAIL_MAX], id[STORE_ID_MAX];
	store_user held, b[8], got;
	store_upload upr, *up = &upr;
	int conflicts[8];

	(void)state;
	new_org(org, NULL);
	memset(&upr, 0, sizeof upr); /* ids of its users need no stored upload */
	uniq(upr.id, sizeof upr.id, "up");
	upr.created_at = T0;
	add_user(&held, org, T0);
	snprintf(upper, sizeof upper, "%s", held.email);
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	for (int i = 0; i < 8; i++)
		make_bulk_user(&b[i], org, up, i + 2);
	/* 1: e-mail of a user held (other case); 2: mobile held; 3: both */
	snprintf(b[1].email, sizeof b[1].email, "%s", upper);
	snprintf(b[2].mobile, sizeof b[2].mobile, "%s", held.mobile);
	snprintf(b[3].email, sizeof b[3].email, "%s", held.email);
	snprintf(b[3].mobile, sizeof b[3].mobile, "%s", held.mobile);
	/* 5 repeats the e-mail of 4, in the same call */
	snprintf(b[5].email, sizeof b[5].email, "%s", b[4].email);
	/* 6: the id of 0; 7: from the same row as 0 */
	snprintf(b[6].id, sizeof b[6].id, "%s", b[0].id);
	assert_int_equal(store_upload_user_id(up, 2, b[7].id, sizeof b[7].id), PV_OK);
	for (int i = 0; i < 8; i++)
		conflicts[i] = -1;
	assert_int_equal(store_user_insert_batch(S, b, 8, conflicts), PV_OK);
	assert_int_equal(conflicts[0], 0);
	assert_int_equal(conflicts[1], STORE_CONFLICT_EMAIL);
	assert_int_equal(conflicts[2], STORE_CONFLICT_MOBILE);
	assert_int_equal(conflicts[3], STORE_CONFLICT_EMAIL | STORE_CONFLICT_MOBILE);
	assert_int_equal(conflicts[4], 0);
	assert_int_equal(conflicts[5], STORE_CONFLICT_EMAIL);
	assert_int_equal(conflicts[6], STORE_CONFLICT_KEY);
	assert_int_equal(conflicts[7], STORE_CONFLICT_KEY);
	assert_int_equal(store_user_get(S, b[0].id, &got), PV_OK);
	assert_true(store_upload_user_row(got.id) == 2);
	assert_string_equal(got.source, "bulk");
	assert_string_equal(got.email, b[0].email);
	assert_int_equal(store_user_by_mobile(S, b[4].mobile, &got), PV_OK);
	assert_true(store_upload_user_row(got.id) == 6);
	assert_int_equal(store_user_by_mobile(S, b[5].mobile, &got), PV_ENOTFOUND);
	assert_int_equal(store_user_by_mobile(S, b[7].mobile, &got), PV_ENOTFOUND);
	/* the ids of an upload's users: one per row, in row order, apart
	 * from another upload's; rows out of range refused */
	assert_int_equal(store_upload_user_id(up, 3, id, sizeof id), PV_OK);
	assert_true(strcmp(b[0].id, id) < 0 && strcmp(id, b[2].id) < 0);
	assert_true(store_upload_user_row(id) == 3);
	assert_int_equal(store_upload_user_id(up, STORE_UPLOAD_ROW_MAX, id, sizeof id), PV_OK);
	assert_true(store_upload_user_row(id) == STORE_UPLOAD_ROW_MAX);
	assert_true(strcmp(b[5].id, id) < 0);
	assert_int_equal(store_upload_user_id(up, 0, id, sizeof id), PV_EINVAL);
	assert_int_equal(store_upload_user_id(up, STORE_UPLOAD_ROW_MAX + 1, id, sizeof id),
			 PV_EINVAL);
	assert_int_equal(store_upload_user_id(up, 1, id, 36), PV_EINVAL);
	{
		store_upload other = upr;

		uniq(other.id, sizeof other.id, "up");
		assert_int_equal(store_upload_user_id(&other, 3, id, sizeof id), PV_OK);
		assert_string_not_equal(id, b[1].id);
		assert_true(store_upload_user_row(id) == 3);
	}
	assert_true(store_upload_user_row(held.id) == 0);

	/* A refused record or an unknown organisation undoes the whole call,
	 * and inside a transaction only the call. */
	store_user c[3], before;
	for (int i = 0; i < 3; i++)
		make_bulk_user(&c[i], org, up, 100 + i);
	c[1].status[0] = '\0';
	assert_int_equal(store_user_insert_batch(S, c, 3, conflicts), PV_EINVAL);
	snprintf(c[1].status, sizeof c[1].status, "%s", STORE_USER_ACTIVE);
	snprintf(c[2].org_id, sizeof c[2].org_id, "no-such-org");
	assert_int_equal(store_user_insert_batch(S, c, 3, conflicts), PV_ENOTFOUND);
	assert_int_equal(store_user_get(S, c[0].id, &got), PV_ENOTFOUND);
	make_bulk_user(&before, org, up, 200);
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_user_insert(S, &before, NULL), PV_OK);
	assert_int_equal(store_user_insert_batch(S, c, 3, conflicts), PV_ENOTFOUND);
	snprintf(c[2].org_id, sizeof c[2].org_id, "%s", org);
	assert_int_equal(store_user_insert_batch(S, c, 3, conflicts), PV_OK);
	assert_true(conflicts[0] == 0 && conflicts[1] == 0 && conflicts[2] == 0);
	assert_int_equal(store_tx_commit(S), PV_OK);
	assert_int_equal(store_user_get(S, before.id, &got), PV_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_user_get(S, c[i].id, &got), PV_OK);
	/* a large batch: collisions anywhere in it, told row by row */
	enum { BIG = 150 };
	store_user *big = calloc(BIG, sizeof *big);
	int *bc = calloc(BIG, sizeof *bc);
	assert_non_null(big);
	assert_non_null(bc);
	for (int i = 0; i < BIG; i++)
		make_bulk_user(&big[i], org, up, 1000 + i);
	snprintf(big[3].email, sizeof big[3].email, "%s", upper);           /* held */
	snprintf(big[40].mobile, sizeof big[40].mobile, "%s", held.mobile); /* held */
	snprintf(big[41].email, sizeof big[41].email, "%s", big[40].email); /* 40 refused */
	snprintf(big[50].email, sizeof big[50].email, "%s", big[45].email); /* earlier row */
	snprintf(big[51].mobile, sizeof big[51].mobile, "%s", big[52].mobile); /* later row */
	snprintf(big[77].id, sizeof big[77].id, "%s", big[70].id);          /* earlier id */
	snprintf(big[99].id, sizeof big[99].id, "%s", big[98].id);         /* earlier row */
	snprintf(big[149].mobile, sizeof big[149].mobile, "%s", big[0].mobile);
	assert_int_equal(store_user_insert_batch(S, big, BIG, bc), PV_OK);
	for (int i = 0; i < BIG; i++) {
		int want = i == 3 ? STORE_CONFLICT_EMAIL
			   : i == 40 || i == 149 ? STORE_CONFLICT_MOBILE
			   : i == 50 || i == 52 ? (i == 50 ? STORE_CONFLICT_EMAIL : STORE_CONFLICT_MOBILE)
			   : i == 77 || i == 99 ? STORE_CONFLICT_KEY : 0;

		assert_int_equal(bc[i], want);
		assert_int_equal(store_user_get(S, big[i].id, &got),
				 want && i != 77 && i != 99 ? PV_ENOTFOUND : PV_OK);
	}
	assert_int_equal(store_user_get(S, big[77].id, &got), PV_OK);
	assert_string_equal(got.email, big[70].email); /* the first of the two */
	batch_listed(org, big, bc, BIG);

	/* A record repeated whole (id, e-mail and mobile): the user stored
	 * earlier, or an earlier row of the same call, refuses it as n
	 * user_insert calls would; it is not told inserted because a row
	 * just like it is in the table. */
	store_user prev = big[1]; /* inserted by the call above */

	for (int i = 0; i < BIG; i++)
		make_bulk_user(&big[i], org, up, 3000 + i);
	big[0] = prev;
	big[5] = big[2];   /* the same record twice in one statement */
	big[40] = big[33]; /* and in the next one */
	assert_int_equal(store_user_get(S, big[0].id, &got), PV_OK);
	assert_int_equal(store_user_insert_batch(S, big, BIG, bc), PV_OK);
	for (int i = 0; i < BIG; i++) {
		int want = i == 0 || i == 5 || i == 40
				   ? STORE_CONFLICT_EMAIL | STORE_CONFLICT_MOBILE : 0;

		assert_int_equal(bc[i], want);
	}
	free(big);
	free(bc);

	/* bounds */
	assert_int_equal(store_user_insert_batch(S, c, 0, NULL), PV_OK);
	assert_int_equal(store_user_insert_batch(S, c, STORE_BATCH_MAX + 1, conflicts),
			 PV_EINVAL);
	assert_int_equal(store_user_insert_batch(S, c, 1, NULL), PV_EINVAL);
}

/* Users a batch inserted are in the users list as n user_insert calls
 * would have put them: counted per status, found by name, numbered in
 * order after the users before them (a new organisation's first users
 * too), a refused row nowhere, and the numbering going on after them. */
static void test_batch_users_list(void **state)
{
	enum { NA = 34, NB = 6, N = NA + NB };
	char a[STORE_ID_MAX], b[STORE_ID_MAX];
	store_user held, after, u[N], *items;
	store_user_list_info info;
	store_upload upr;
	int conflicts[N];
	size_t n;

	(void)state;
	new_org(a, NULL); /* no user yet */
	new_org(b, NULL);
	add_user(&held, b, T0);
	memset(&upr, 0, sizeof upr);
	uniq(upr.id, sizeof upr.id, "up");
	upr.created_at = T0;
	for (int i = 0; i < N; i++) {
		make_bulk_user(&u[i], i < NA ? a : b, &upr, i + 2);
		snprintf(u[i].first_name, sizeof u[i].first_name, "%s",
			 i < 10 ? "Kavya" : "Kabir");
		snprintf(u[i].last_name, sizeof u[i].last_name, "Rao%c", 'a' + i % 3);
		if (i % 4 == 1)
			snprintf(u[i].status, sizeof u[i].status, "%s", STORE_USER_PENDING);
	}
	snprintf(u[5].mobile, sizeof u[5].mobile, "%s", held.mobile); /* refused */
	assert_int_equal(store_user_insert_batch(S, u, N, conflicts), PV_OK);
	for (int i = 0; i < N; i++)
		assert_int_equal(conflicts[i], i == 5 ? STORE_CONFLICT_MOBILE : 0);

	/* a: 33 users, the last first; 8 pending (1, 9, ..., 33; not 5) */
	ulist(a, "", "", 1, 50, 0, &items, &n, &info);
	assert_int_equal(info.total, NA - 1);
	assert_int_equal(n, NA - 1);
	for (size_t k = 0, i = NA - 1; k < n; k++, i -= i == 6 ? 2 : 1)
		assert_string_equal(items[k].id, u[i].id);
	free(items);
	ulist(a, STORE_USER_PENDING, "", 1, 50, 0, &items, &n, &info);
	assert_int_equal(info.total, 8);
	free(items);
	ulist(a, STORE_USER_ACTIVE, "", 1, 50, 0, &items, &n, &info);
	assert_int_equal(info.total, NA - 1 - 8);
	free(items);
	/* by name: 9 Kavya (5 refused), newest first; a word's prefix */
	ulist(a, "", "kavya", 1, 50, 0, &items, &n, &info);
	assert_int_equal(info.total, 9);
	assert_int_equal(n, 9);
	assert_string_equal(items[0].id, u[9].id);
	assert_string_equal(items[8].id, u[0].id);
	free(items);
	ulist(a, "", "kab raob", 1, 50, 0, &items, &n, &info);
	assert_int_equal(info.total, 8); /* 10..33 with i % 3 == 1 */
	free(items);
	/* b: the user before and the batch's six */
	ulist(b, "", "", 1, 50, 0, &items, &n, &info);
	assert_int_equal(info.total, NB + 1);
	assert_string_equal(items[0].id, u[N - 1].id);
	assert_string_equal(items[NB].id, held.id);
	free(items);
	ulist(b, "", "kabir", 1, 50, 0, &items, &n, &info);
	assert_int_equal(info.total, NB);
	free(items);

	/* one by one after the batch: the next number, found by name */
	add_user(&after, a, T0 + 1);
	ulist(a, "", "", 1, 2, 0, &items, &n, &info);
	assert_int_equal(info.total, NA);
	assert_string_equal(items[0].id, after.id);
	assert_string_equal(items[1].id, u[NA - 1].id);
	free(items);
	ulist(a, "", "asha", 1, 50, 0, &items, &n, &info);
	assert_int_equal(info.total, 1);
	free(items);
}

static void make_campaign(store_campaign *c, const char *up, const char *channel,
			  int64_t at)
{
	memset(c, 0, sizeof *c);
	snprintf(c->upload_id, sizeof c->upload_id, "%s", up);
	snprintf(c->channel, sizeof c->channel, "%s", channel);
	snprintf(c->template_name, sizeof c->template_name, "welcome_%s",
		 strcmp(channel, "sms") == 0 ? "sms" : "email");
	snprintf(c->lang, sizeof c->lang, "en");
	snprintf(c->params, sizeof c->params, "{\"org_name\":\"Org\"}");
	c->created_at = c->next_at = at;
}

static void test_campaigns(void **state)
{
	char org[STORE_ID_MAX];
	store_upload up, got_up;
	store_campaign sms, mail, got;
	store_user users[4], seen[4];
	int conflicts[4], done = -1;
	int64_t q0, f0, q1, f1, now = T0 + 5000000;
	size_t n;

	(void)state;
	drain_queues();
	assert_int_equal(store_outbox_stats(S, &q0, &f0), PV_OK);
	new_org(org, NULL);
	make_upload(&up, org, now);
	snprintf(up.status, sizeof up.status, "%s", STORE_UP_IN_PROGRESS);
	snprintf(up.claimed_by, sizeof up.claimed_by, "job");
	up.lease_until = FAR;
	assert_int_equal(store_upload_insert(S, &up), PV_OK);
	make_campaign(&sms, up.id, "sms", now);
	make_campaign(&mail, up.id, "email", now + 1);
	assert_int_equal(store_campaign_insert(S, &sms), PV_OK);
	assert_int_equal(store_campaign_insert(S, &mail), PV_OK);
	assert_true(sms.id > 0 && mail.id > 0 && sms.id != mail.id);
	make_campaign(&got, up.id, "sms", now);
	assert_int_equal(store_campaign_insert(S, &got), PV_ECONFLICT);
	make_campaign(&got, "no-such-up", "sms", now);
	assert_int_equal(store_campaign_insert(S, &got), PV_ENOTFOUND);

	/* the upload's first chunk: rows 2, 3 and 5 create users */
	make_bulk_user(&users[0], org, &up, 2);
	make_bulk_user(&users[1], org, &up, 3);
	make_bulk_user(&users[2], org, &up, 5);
	assert_int_equal(store_user_insert_batch(S, users, 3, conflicts), PV_OK);
	up.success_records = 3;
	up.cursor = 5;
	assert_int_equal(store_upload_progress(S, &up, "job", now, LEASE), PV_OK);
	assert_int_equal(store_outbox_stats(S, &q1, &f1), PV_OK);
	assert_true(q1 == q0 + 6 && f1 == f0); /* three users, two channels */

	/* claims in next_at order; a leased campaign is not claimed again */
	assert_int_equal(store_campaign_claim(S, "w-a", now, LEASE, &got), PV_OK);
	assert_true(got.id == sms.id);
	assert_string_equal(got.upload_id, up.id);
	assert_string_equal(got.channel, "sms");
	assert_string_equal(got.template_name, "welcome_sms");
	assert_string_equal(got.lang, "en");
	assert_string_equal(got.params, "{\"org_name\":\"Org\"}");
	assert_string_equal(got.status, STORE_CAMPAIGN_ACTIVE);
	assert_string_equal(got.claimed_by, "w-a");
	assert_true(got.cursor == 0 && got.handled == 0);
	assert_int_equal(store_campaign_claim(S, "w-b", now, LEASE, &got), PV_ENOTFOUND);
	assert_int_equal(store_campaign_claim(S, "w-b", now + 1, LEASE, &got), PV_OK);
	assert_true(got.id == mail.id);
	assert_int_equal(store_campaign_claim(S, "w-c", now + 1, LEASE, &got), PV_ENOTFOUND);

	/* the users in row order, from a cursor */
	assert_int_equal(store_campaign_users(S, up.id, 0, 2, seen, &n), PV_OK);
	assert_int_equal(n, 2);
	assert_string_equal(seen[0].id, users[0].id);
	assert_string_equal(seen[1].id, users[1].id);
	assert_true(store_upload_user_row(seen[1].id) == 3);
	assert_string_equal(seen[1].mobile, users[1].mobile);
	assert_int_equal(store_campaign_users(S, up.id, 3, 4, seen, &n), PV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(seen[0].id, users[2].id);
	assert_int_equal(store_campaign_users(S, up.id, 5, 4, seen, &n), PV_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_campaign_users(S, "no-such-up", 0, 4, seen, &n), PV_ENOTFOUND);
	assert_int_equal(n, 0);

	/* the cursor moves forward, only for the lease holder */
	assert_int_equal(store_campaign_advance(S, sms.id, "w-b", 2, now, LEASE), PV_ECONFLICT);
	assert_int_equal(store_campaign_advance(S, sms.id, "w-a", 2, now, LEASE), PV_OK);
	assert_int_equal(store_campaign_advance(S, sms.id, "w-a", 2, now, LEASE), PV_ECONFLICT);
	assert_int_equal(store_campaign_advance(S, sms.id, "w-a", 3, now, LEASE), PV_OK);
	assert_int_equal(store_campaign_advance(S, INT64_C(999999999999), "w-a", 9, now, LEASE),
			 PV_ENOTFOUND);
	assert_int_equal(store_outbox_stats(S, &q1, &f1), PV_OK);
	assert_true(q1 == q0 + 4);
	/* not finished: the upload runs, a user is left */
	assert_int_equal(store_campaign_finish(S, sms.id, "w-a", now, &done), PV_OK);
	assert_int_equal(done, 0);
	assert_int_equal(store_campaign_finish(S, sms.id, "w-b", now, &done), PV_ECONFLICT);
	/* released until later: not claimable before */
	assert_int_equal(store_campaign_release(S, sms.id, "w-b", now + 500), PV_ECONFLICT);
	assert_int_equal(store_campaign_release(S, sms.id, "w-a", now + 500), PV_OK);
	assert_int_equal(store_campaign_claim(S, "w-c", now + 499, LEASE, &got), PV_ENOTFOUND);
	assert_int_equal(store_campaign_claim(S, "w-c", now + 500, LEASE, &got), PV_OK);
	assert_true(got.id == sms.id && got.cursor == 3 && got.handled == 2);
	assert_int_equal(store_campaign_advance(S, sms.id, "w-a", 5, now, LEASE), PV_ECONFLICT);
	assert_int_equal(store_campaign_advance(S, sms.id, "w-c", 5, now, LEASE), PV_OK);
	/* nobody left, but the upload runs: still active */
	assert_int_equal(store_campaign_finish(S, sms.id, "w-c", now, &done), PV_OK);
	assert_int_equal(done, 0);

	/* the last chunk: one more user, and the upload finishes */
	make_bulk_user(&users[3], org, &up, 9);
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_user_insert_batch(S, &users[3], 1, conflicts), PV_OK);
	up.success_records = 4;
	up.cursor = 9;
	assert_int_equal(store_upload_progress(S, &up, "job", now, LEASE), PV_OK);
	assert_int_equal(store_upload_finish(S, up.id, STORE_UP_SUCCESSFUL, "", "job", now),
			 PV_OK);
	assert_int_equal(store_tx_commit(S), PV_OK);
	assert_int_equal(store_upload_get(S, up.id, &got_up), PV_OK);
	assert_string_equal(got_up.status, STORE_UP_SUCCESSFUL);
	assert_int_equal(store_campaign_finish(S, sms.id, "w-c", now, &done), PV_OK);
	assert_int_equal(done, 0); /* row 9 is after the cursor */
	assert_int_equal(store_campaign_users(S, up.id, 5, 4, seen, &n), PV_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_campaign_advance(S, sms.id, "w-c", 9, now, LEASE), PV_OK);
	assert_int_equal(store_campaign_finish(S, sms.id, "w-c", now + 7, &done), PV_OK);
	assert_int_equal(done, 1);
	/* done: never claimed, advanced or released again */
	assert_int_equal(store_campaign_advance(S, sms.id, "w-c", 10, now, LEASE), PV_ECONFLICT);
	assert_int_equal(store_campaign_release(S, sms.id, "w-c", now), PV_ECONFLICT);
	assert_int_equal(store_campaign_finish(S, sms.id, "w-c", now, &done), PV_ECONFLICT);
	assert_int_equal(store_outbox_stats(S, &q1, &f1), PV_OK);
	assert_true(q1 == q0 + 4); /* the e-mails */

	/* an expired lease is claimable again */
	assert_int_equal(store_campaign_claim(S, "w-d", now + 1 + LEASE, LEASE, &got), PV_OK);
	assert_true(got.id == mail.id);
	assert_int_equal(store_campaign_advance(S, mail.id, "w-b", 9, now, LEASE), PV_ECONFLICT);
	assert_int_equal(store_campaign_advance(S, mail.id, "w-d", 9, now, LEASE), PV_OK);
	assert_int_equal(store_outbox_stats(S, &q1, &f1), PV_OK);
	assert_true(q1 == q0 + 3); /* owed: users created less users handled */
	assert_int_equal(store_campaign_finish(S, mail.id, "w-d", now, &done), PV_OK);
	assert_int_equal(done, 1);
	assert_int_equal(store_outbox_stats(S, &q1, &f1), PV_OK);
	assert_true(q1 == q0 && f1 == f0);
	assert_int_equal(store_campaign_claim(S, "w-e", FAR, LEASE, &got), PV_ENOTFOUND);
}

/* Bulk uploads meet the person's own data: a closed or erased user holds
 * neither its e-mail nor its mobile for a batch either (the partial unique
 * indexes), a batch's users remember their upload, and a campaign's users
 * include the closed and erased ones (the campaign skips them) without
 * keeping the campaign from its end. */
static void test_batch_closed_users(void **state)
{
	char org[STORE_ID_MAX];
	store_user gone, erased, b[3], seen[4], got;
	store_upload up;
	store_campaign camp, cl;
	int conflicts[3], done = -1;
	int64_t now = T0 + 7000000;
	size_t n;

	(void)state;
	drain_queues();
	new_org(org, NULL);
	add_user(&gone, org, T0);
	add_user(&erased, org, T0);
	assert_int_equal(store_user_close(S, gone.id, FAR, T0 + 1), PV_OK);
	assert_int_equal(store_user_close(S, erased.id, T0 + 2, T0 + 1), PV_OK);
	assert_int_equal(store_user_erase(S, erased.id, T0 + 3), PV_OK);
	make_upload(&up, org, now);
	snprintf(up.status, sizeof up.status, "%s", STORE_UP_IN_PROGRESS);
	snprintf(up.claimed_by, sizeof up.claimed_by, "job");
	up.lease_until = FAR;
	assert_int_equal(store_upload_insert(S, &up), PV_OK);
	for (int i = 0; i < 3; i++) {
		make_bulk_user(&b[i], org, &up, i + 2);
		snprintf(b[i].upload_id, sizeof b[i].upload_id, "%s", up.id);
	}
	snprintf(b[0].email, sizeof b[0].email, "%s", gone.email);
	snprintf(b[1].mobile, sizeof b[1].mobile, "%s", gone.mobile);
	snprintf(b[2].mobile, sizeof b[2].mobile, "%s", b[1].mobile); /* still one key */
	assert_int_equal(store_user_insert_batch(S, b, 3, conflicts), PV_OK);
	assert_int_equal(conflicts[0], 0);
	assert_int_equal(conflicts[1], 0);
	assert_int_equal(conflicts[2], STORE_CONFLICT_MOBILE);
	assert_int_equal(store_user_by_email(S, gone.email, &got), PV_OK);
	assert_string_equal(got.id, b[0].id);
	assert_string_equal(got.upload_id, up.id);
	assert_true(got.erase_after == 0);
	assert_int_equal(store_user_by_mobile(S, gone.mobile, &got), PV_OK);
	assert_string_equal(got.id, b[1].id);
	assert_int_equal(store_user_get(S, gone.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_USER_CLOSED);

	/* the upload's first user closes, then is erased: still walked */
	make_campaign(&camp, up.id, "sms", now);
	assert_int_equal(store_campaign_insert(S, &camp), PV_OK);
	assert_int_equal(store_user_close(S, b[0].id, now, now), PV_OK);
	assert_int_equal(store_user_erase(S, b[0].id, now + 1), PV_OK);
	assert_int_equal(store_campaign_users(S, up.id, 0, 4, seen, &n), PV_OK);
	assert_int_equal(n, 2);
	assert_string_equal(seen[0].id, b[0].id);
	assert_string_equal(seen[0].status, STORE_USER_ERASED);
	assert_string_equal(seen[0].mobile, "");
	assert_string_equal(seen[1].status, STORE_USER_ACTIVE);
	assert_int_equal(store_upload_finish(S, up.id, STORE_UP_SUCCESSFUL, "", "job", now),
			 PV_OK);
	assert_int_equal(store_campaign_claim(S, "w", now, LEASE, &cl), PV_OK);
	assert_true(cl.id == camp.id);
	assert_int_equal(store_campaign_advance(S, camp.id, "w", 2, now, LEASE), PV_OK);
	assert_int_equal(store_campaign_finish(S, camp.id, "w", now, &done), PV_OK);
	assert_int_equal(done, 0);
	assert_int_equal(store_campaign_advance(S, camp.id, "w", 3, now, LEASE), PV_OK);
	assert_int_equal(store_campaign_finish(S, camp.id, "w", now, &done), PV_OK);
	assert_int_equal(done, 1);
}

static void test_audit(void **state)
{
	store_audit a[3], *items = NULL;
	size_t n;
	int64_t total;

	(void)state;
	for (int i = 0; i < 3; i++) {
		memset(&a[i], 0, sizeof a[i]);
		uniq(a[i].actor_id, sizeof a[i].actor_id, "admin");
		snprintf(a[i].action, sizeof a[i].action, "request.approve");
		snprintf(a[i].target, sizeof a[i].target, "req-%d", i);
		snprintf(a[i].client_ip, sizeof a[i].client_ip, "127.0.0.1");
		snprintf(a[i].detail, sizeof a[i].detail, "{\"i\":%d}", i);
		a[i].at = T0 + i;
		assert_int_equal(store_audit_add(S, &a[i]), PV_OK);
		if (i)
			assert_true(a[i].id > a[i - 1].id);
	}
	assert_int_equal(store_audit_list(S, NULL, (store_page){1, 3}, &items, &n,
					    &total),
			 PV_OK);
	assert_true(total >= 3);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(items[i].id == a[2 - i].id);
		assert_string_equal(items[i].actor_id, a[2 - i].actor_id);
		assert_string_equal(items[i].action, "request.approve");
		assert_string_equal(items[i].target, a[2 - i].target);
		assert_string_equal(items[i].detail, a[2 - i].detail);
		assert_true(items[i].at == a[2 - i].at);
	}
	free(items);

	/* filters: by action, by actor, by time [from, to), and together */
	char actor[STORE_ID_MAX], action[STORE_SHORT_MAX];
	store_audit b[4];
	uniq(actor, sizeof actor, "actor");
	uniq(action, sizeof action, "act");
	for (int i = 0; i < 4; i++) {
		memset(&b[i], 0, sizeof b[i]);
		snprintf(b[i].actor_id, sizeof b[i].actor_id, "%s", i < 3 ? actor : "");
		snprintf(b[i].action, sizeof b[i].action, "%s", i % 2 ? action : "upload");
		snprintf(b[i].target, sizeof b[i].target, "t-%d", i);
		snprintf(b[i].detail, sizeof b[i].detail, "{}");
		b[i].at = T0 + 1000 * (i + 1);
		assert_int_equal(store_audit_add(S, &b[i]), PV_OK);
	}
	store_audit_filter f = {action, NULL, 0, 0};
	assert_int_equal(store_audit_list(S, &f, (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 2);
	assert_true(items[0].id == b[3].id && items[1].id == b[1].id);
	free(items);
	f = (store_audit_filter){"", actor, 0, 0};
	assert_int_equal(store_audit_list(S, &f, (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 3);
	assert_true(items[0].id == b[2].id && items[2].id == b[0].id);
	free(items);
	f = (store_audit_filter){NULL, actor, T0 + 2000, T0 + 3000};
	assert_int_equal(store_audit_list(S, &f, (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 1);
	assert_true(items[0].id == b[1].id);
	free(items);
	f = (store_audit_filter){action, actor, T0 + 2000, 0};
	assert_int_equal(store_audit_list(S, &f, (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 1); /* b[3] has no actor */
	assert_true(items[0].id == b[1].id);
	free(items);
	f = (store_audit_filter){action, NULL, 0, T0 + 2000};
	assert_int_equal(store_audit_list(S, &f, (store_page){1, 10}, &items, &n, &total), PV_OK);
	assert_true(total == 0);
	assert_null(items);
}

/* ---- the person's own data --------------------------------------------------- */

static void test_user_changes(void **state)
{
	char org[STORE_ID_MAX], upper[STORE_EMAIL_MAX];
	store_user a, b, got;
	store_position pos;
	int conflict = -1;

	(void)state;
	new_org(org, NULL);
	add_user(&a, org, T0);
	add_user(&b, org, T0 + 1);
	memset(&pos, 0, sizeof pos);
	uniq(pos.id, sizeof pos.id, "pos");
	snprintf(pos.name, sizeof pos.name, "Deputy %s", pos.id);
	pos.active = 1;
	pos.created_at = T0;
	assert_int_equal(store_position_insert(S, &pos), PV_OK);

	/* Names and position. */
	assert_int_equal(store_user_set_names(S, a.id, "\u0938\u0941\u0930\u0947\u0936", "Rao", pos.id,
					      T0 + 5),
			 PV_OK);
	assert_int_equal(store_user_get(S, a.id, &got), PV_OK);
	assert_string_equal(got.first_name, "\u0938\u0941\u0930\u0947\u0936");
	assert_string_equal(got.last_name, "Rao");
	assert_string_equal(got.position_id, pos.id);
	assert_true(got.updated_at == T0 + 5);
	assert_string_equal(got.email, a.email); /* nothing else changed */
	assert_int_equal(store_user_set_names(S, a.id, "Suresh", "Rao", "",
					      T0 + 6),
			 PV_OK);
	assert_int_equal(store_user_get(S, a.id, &got), PV_OK);
	assert_string_equal(got.position_id, "");
	assert_int_equal(store_user_set_names(S, a.id, "X", "Y", "no-such-pos",
					      T0 + 7),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_set_names(S, "no-such-user", "X", "Y", "",
					      T0 + 7),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_get(S, a.id, &got), PV_OK);
	assert_string_equal(got.first_name, "Suresh");

	/* Mobile: unique among live users. */
	assert_int_equal(store_user_set_mobile(S, a.id, b.mobile, T0 + 8),
			 PV_ECONFLICT);
	char m[STORE_MOBILE_MAX];
	uniq_mobile(m);
	assert_int_equal(store_user_set_mobile(S, a.id, m, T0 + 8), PV_OK);
	assert_int_equal(store_user_by_mobile(S, m, &got), PV_OK);
	assert_string_equal(got.id, a.id);
	assert_int_equal(store_user_by_mobile(S, a.mobile, &got), PV_ENOTFOUND);
	assert_int_equal(store_user_set_mobile(S, "no-such-user", m, T0 + 8),
			 PV_ENOTFOUND);
	/* refused inside a transaction: it undoes only itself */
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_user_set_mobile(S, a.id, b.mobile, T0 + 8), PV_ECONFLICT);
	assert_int_equal(store_user_set_email(S, a.id, b.email, 0, 0, T0 + 8), PV_ECONFLICT);
	assert_int_equal(store_user_set_names(S, a.id, "X", "Y", "no-such-pos", T0 + 8),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_set_names(S, a.id, "Suresh", "Rao", "", T0 + 8), PV_OK);
	assert_int_equal(store_tx_commit(S), PV_OK);

	/* E-mail: unique case-insensitively, with its flags. */
	snprintf(upper, sizeof upper, "%s", b.email);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(store_user_set_email(S, a.id, upper, 1, 1, T0 + 9),
			 PV_ECONFLICT);
	char e[STORE_EMAIL_MAX];
	uniq(e, sizeof e, "new");
	strcat(e, "@Example.nic.in");
	assert_int_equal(store_user_set_email(S, a.id, e, 1, 1, T0 + 9), PV_OK);
	assert_int_equal(store_user_get(S, a.id, &got), PV_OK);
	assert_string_equal(got.email, e);
	assert_true(got.official_email == 1 && got.email_verified == 1);
	assert_true(got.updated_at == T0 + 9);
	assert_int_equal(store_user_set_email(S, a.id, e, 0, 0, T0 + 10), PV_OK);
	assert_int_equal(store_user_get(S, a.id, &got), PV_OK);
	assert_true(got.official_email == 0 && got.email_verified == 0);

	/* Closed users change no more; another may take their keys. */
	assert_int_equal(store_user_close(S, b.id, T0 + 1000, T0 + 11), PV_OK);
	assert_int_equal(store_user_set_names(S, b.id, "X", "Y", "", T0 + 12),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_set_mobile(S, b.id, b.mobile, T0 + 12),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_set_email(S, b.id, b.email, 0, 0, T0 + 12),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_set_mobile(S, a.id, b.mobile, T0 + 12), PV_OK);
	assert_int_equal(store_user_set_email(S, a.id, b.email, 0, 0, T0 + 12),
			 PV_OK);
	assert_int_equal(store_user_by_email(S, b.email, &got), PV_OK);
	assert_string_equal(got.id, a.id);
	(void)conflict;
}

static int audit_user_cb(void *ctx, const store_audit *a)
{
	store_audit *seen = ctx;

	for (int i = 0; i < 8; i++) {
		if (seen[i].id == 0) {
			seen[i] = *a;
			break;
		}
	}
	return 0;
}

static int audit_stop_cb(void *ctx, const store_audit *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 9;
}

static void test_user_close_erase(void **state)
{
	char org[STORE_ID_MAX], upper[STORE_EMAIL_MAX], ids[100][STORE_ID_MAX];
	store_user u, other, again, got, *items = NULL;
	store_request *reqs = NULL;
	store_role r = {.role = "mdo_admin"};
	store_cred cr, cgot;
	store_session se, sgot;
	store_token tk, tgot;
	store_consent k, ks[4];
	store_request rq1, rq2, rq3, rgot;
	store_outbox to_mobile, to_email, to_other, late;
	store_audit acted, about, unrelated, seen[8];
	store_user_list_info info;
	int64_t closed = T0 + 5000;
	size_t n;
	int conflict = -1, found;

	(void)state;
	new_org(org, NULL);
	add_user(&u, org, T0);
	add_user(&other, org, T0);
	snprintf(r.org_id, sizeof r.org_id, "%s", org);
	assert_int_equal(store_role_add(S, u.id, &r), PV_OK);
	memset(&cr, 0, sizeof cr);
	snprintf(cr.user_id, sizeof cr.user_id, "%s", u.id);
	uniq(cr.username, sizeof cr.username, "adm");
	snprintf(cr.pwhash, sizeof cr.pwhash, "$argon2id$x");
	assert_int_equal(store_cred_insert(S, &cr), PV_OK);
	assert_int_equal(store_cred_by_user(S, u.id, &cgot), PV_OK);
	assert_string_equal(cgot.username, cr.username);
	assert_int_equal(store_cred_by_user(S, other.id, &cgot), PV_ENOTFOUND);
	memset(&se, 0, sizeof se);
	fill_hash(se.hash);
	fill_hash(se.csrf_hash);
	snprintf(se.user_id, sizeof se.user_id, "%s", u.id);
	snprintf(se.client_ip, sizeof se.client_ip, "203.0.113.77");
	se.created_at = se.last_seen = T0;
	se.expires_at = FAR;
	assert_int_equal(store_session_insert(S, &se), PV_OK);
	memset(&tk, 0, sizeof tk);
	fill_hash(tk.hash);
	snprintf(tk.kind, sizeof tk.kind, "email_change");
	snprintf(tk.subject, sizeof tk.subject, "%s", u.id);
	snprintf(tk.extra, sizeof tk.extra, "{\"email\":\"new@example.org\"}");
	tk.created_at = T0;
	tk.expires_at = FAR;
	assert_int_equal(store_token_insert(S, &tk), PV_OK);
	memset(&k, 0, sizeof k);
	snprintf(k.user_id, sizeof k.user_id, "%s", u.id);
	snprintf(k.kind, sizeof k.kind, "terms");
	snprintf(k.version, sizeof k.version, "terms-en-1");
	snprintf(k.client_ip, sizeof k.client_ip, "198.51.100.9");
	k.at = T0;
	assert_int_equal(store_consent_add(S, &k), PV_OK);

	/* Requests by e-mail (in other case), by mobile, and someone else's. */
	char nm[64];
	snprintf(upper, sizeof upper, "%s", u.email);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	uniq(nm, sizeof nm, "Cell");
	make_request(&rq1, "position", nm, T0 + 1);
	snprintf(rq1.email, sizeof rq1.email, "%s", upper);
	assert_int_equal(store_request_insert(S, &rq1, &rgot), PV_OK);
	uniq(nm, sizeof nm, "Cell");
	make_request(&rq2, "position", nm, T0 + 2);
	snprintf(rq2.mobile, sizeof rq2.mobile, "%s", u.mobile);
	assert_int_equal(store_request_insert(S, &rq2, &rgot), PV_OK);
	uniq(nm, sizeof nm, "Cell");
	make_request(&rq3, "position", nm, T0 + 3);
	snprintf(rq3.email, sizeof rq3.email, "%s", other.email);
	snprintf(rq3.mobile, sizeof rq3.mobile, "%s", other.mobile);
	assert_int_equal(store_request_insert(S, &rq3, &rgot), PV_OK);

	/* What the person's export finds. */
	assert_int_equal(store_request_list_contact(S, u.email, u.mobile, 10,
						      &reqs, &n),
			 PV_OK);
	assert_int_equal(n, 2);
	assert_string_equal(reqs[0].id, rq1.id);
	assert_string_equal(reqs[1].id, rq2.id);
	free(reqs);
	assert_int_equal(store_request_list_contact(S, "", u.mobile, 10, &reqs,
						      &n),
			 PV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(reqs[0].id, rq2.id);
	free(reqs);
	assert_int_equal(store_request_list_contact(S, "", "", 10, &reqs, &n),
			 PV_OK);
	assert_true(n == 0 && reqs == NULL);
	assert_int_equal(store_request_list_contact(S, u.email, u.mobile, 1,
						      &reqs, &n),
			 PV_OK);
	assert_int_equal(n, 1);
	free(reqs);

	/* Messages to the person's two addresses, to another, and one
	 * written after the closing. */
	make_msg(&to_mobile, T0 + 10, T0 + 10);
	snprintf(to_mobile.to_addr, sizeof to_mobile.to_addr, "%s", u.mobile);
	make_msg(&to_email, T0 + 10, T0 + 10);
	snprintf(to_email.channel, sizeof to_email.channel, "email");
	snprintf(to_email.to_addr, sizeof to_email.to_addr, "%s", upper);
	make_msg(&to_other, T0 + 10, T0 + 10);
	snprintf(to_other.to_addr, sizeof to_other.to_addr, "%s", other.mobile);
	assert_int_equal(store_outbox_insert(S, &to_mobile), PV_OK);
	assert_int_equal(store_outbox_insert(S, &to_email), PV_OK);
	assert_int_equal(store_outbox_insert(S, &to_other), PV_OK);
	assert_int_equal(store_outbox_sent(S, to_email.id, T0 + 11), PV_OK);

	/* Audit rows the person acted in, about the person, and another. */
	memset(&acted, 0, sizeof acted);
	snprintf(acted.actor_id, sizeof acted.actor_id, "%s", u.id);
	snprintf(acted.action, sizeof acted.action, "change_names");
	snprintf(acted.target, sizeof acted.target, "%s", u.id);
	snprintf(acted.client_ip, sizeof acted.client_ip, "192.0.2.44");
	snprintf(acted.detail, sizeof acted.detail, "{\"fields\":[\"first_name\"]}");
	acted.at = T0 + 20;
	about = acted;
	snprintf(about.actor_id, sizeof about.actor_id, "%s", other.id);
	snprintf(about.action, sizeof about.action, "deactivate");
	snprintf(about.client_ip, sizeof about.client_ip, "192.0.2.45");
	snprintf(about.detail, sizeof about.detail, "{\"username\":\"%s\"}", cr.username);
	about.at = T0 + 21;
	unrelated = acted;
	snprintf(unrelated.actor_id, sizeof unrelated.actor_id, "%s", other.id);
	snprintf(unrelated.target, sizeof unrelated.target, "%s", other.id);
	snprintf(unrelated.client_ip, sizeof unrelated.client_ip, "192.0.2.46");
	unrelated.at = T0 + 22;
	assert_int_equal(store_audit_add(S, &acted), PV_OK);
	assert_int_equal(store_audit_add(S, &about), PV_OK);
	assert_int_equal(store_audit_add(S, &unrelated), PV_OK);
	memset(seen, 0, sizeof seen);
	assert_int_equal(store_audit_each_user(S, u.id, audit_user_cb, seen), PV_OK);
	assert_true(seen[0].id == acted.id && seen[1].id == about.id &&
		    seen[2].id == 0);
	assert_string_equal(seen[0].client_ip, "192.0.2.44");
	int calls = 0;
	assert_int_equal(store_audit_each_user(S, u.id, audit_stop_cb, &calls), 9);
	assert_int_equal(calls, 1);

	/* Closing: live statuses only, once. */
	assert_int_equal(store_user_erase(S, u.id, closed), PV_ECONFLICT);
	assert_int_equal(store_user_close(S, "no-such-user", T0, closed),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_close(S, u.id, closed + 1000, closed), PV_OK);
	assert_int_equal(store_user_close(S, u.id, closed + 1000, closed),
			 PV_ECONFLICT);
	assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_USER_CLOSED);
	assert_true(got.erase_after == closed + 1000 && got.updated_at == closed);
	assert_string_equal(got.email, u.email); /* kept until erased */
	/* A closed user is unknown by e-mail and mobile, and stays closed. */
	assert_int_equal(store_user_by_email(S, u.email, &got), PV_ENOTFOUND);
	assert_int_equal(store_user_by_mobile(S, u.mobile, &got), PV_ENOTFOUND);
	assert_int_equal(store_user_set_status(S, u.id, STORE_USER_ACTIVE, closed),
			 PV_ECONFLICT);
	assert_int_equal(store_user_set_status(S, "no-such-user", STORE_USER_ACTIVE,
					       closed),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_set_status(S, other.id, STORE_USER_CLOSED,
					       closed),
			 PV_EINVAL);
	/* Listed with its status (the kept counts follow), found by its
	 * names, which it keeps until erased, but no longer by its e-mail or
	 * mobile, which only live users hold. */
	ulist(org, STORE_USER_CLOSED, "", 1, 10, 0, &items, &n, &info);
	assert_true(n == 1 && info.total == 1);
	assert_string_equal(items[0].id, u.id);
	free(items);
	ulist(org, STORE_USER_PENDING, "", 1, 10, 0, &items, &n, &info);
	assert_true(n == 1 && info.total == 1);
	assert_string_equal(items[0].id, other.id);
	free(items);
	ulist(org, "", u.mobile, 1, 10, 0, &items, &n, &info);
	assert_true(n == 0 && info.total == 0);
	free(items);
	ulist(org, "", u.email, 1, 10, 0, &items, &n, &info);
	assert_true(n == 0 && info.total == 0);
	free(items);
	ulist(org, STORE_USER_CLOSED, "asha verma", 1, 10, 0, &items, &n, &info);
	assert_true(n == 1 && info.total == 1);
	assert_string_equal(items[0].id, u.id);
	free(items);

	/* The same person registers again at once with the same keys. */
	make_user(&again, org, upper, u.mobile, closed + 1);
	assert_int_equal(store_user_insert(S, &again, &conflict), PV_OK);
	assert_int_equal(conflict, 0);
	assert_int_equal(store_user_by_mobile(S, u.mobile, &got), PV_OK);
	assert_string_equal(got.id, again.id);
	snprintf(again.status, sizeof again.status, "%s", STORE_USER_CLOSED);
	uniq(again.id, sizeof again.id, "user");
	assert_int_equal(store_user_insert(S, &again, &conflict), PV_EINVAL);
	/* a message to the number made after the closing is the new
	 * account's: erasure leaves it */
	make_msg(&late, closed + 2, closed + 2);
	snprintf(late.to_addr, sizeof late.to_addr, "%s", u.mobile);
	assert_int_equal(store_outbox_insert(S, &late), PV_OK);

	/* Due from erase_after on, earliest first. */
	assert_int_equal(store_user_erase_due(S, closed + 999, ids, 100, &n), PV_OK);
	found = 0;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(ids[i], u.id) == 0;
	assert_false(found);
	assert_int_equal(store_user_erase_due(S, closed + 1000, ids, 100, &n), PV_OK);
	found = 0;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(ids[i], u.id) == 0;
	assert_true(found);
	assert_int_equal(store_user_erase_due(S, closed, ids, 0, &n), PV_EINVAL);
	assert_int_equal(store_user_erase_due(S, closed, ids, 101, &n), PV_EINVAL);

	/* Erasure. */
	assert_int_equal(store_user_erase(S, "no-such-user", closed + 2000),
			 PV_ENOTFOUND);
	assert_int_equal(store_user_erase(S, u.id, closed + 2000), PV_OK);
	assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_USER_ERASED);
	assert_string_equal(got.first_name, "");
	assert_string_equal(got.last_name, "");
	assert_string_equal(got.email, "");
	assert_string_equal(got.mobile, "");
	assert_string_equal(got.position_id, "");
	assert_true(got.official_email == 0 && got.email_verified == 0);
	assert_string_equal(got.org_id, org);
	assert_string_equal(got.source, "self");
	assert_true(got.created_at == T0 && got.updated_at == closed + 2000 &&
		    got.erase_after == closed + 1000);
	assert_int_equal(store_user_erase(S, u.id, closed + 3000), PV_ECONFLICT);
	assert_int_equal(store_user_erase_due(S, closed + 5000, ids, 100, &n), PV_OK);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(ids[i], u.id);
	assert_int_equal(store_user_set_status(S, u.id, STORE_USER_ACTIVE, closed),
			 PV_ECONFLICT);
	/* its roles, credential, sessions and tokens are gone */
	store_role roles[4];
	assert_int_equal(store_role_list(S, u.id, roles, 4, &n), PV_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_cred_by_username(S, cr.username, &cgot), PV_ENOTFOUND);
	assert_int_equal(store_cred_by_user(S, u.id, &cgot), PV_ENOTFOUND);
	assert_int_equal(store_session_get(S, se.hash, &sgot), PV_ENOTFOUND);
	assert_int_equal(store_token_get(S, "email_change", tk.hash, T0, &tgot),
			 PV_ENOTFOUND);
	assert_int_equal(store_session_list(S, u.id, &sgot, 1, &n), PV_OK);
	assert_int_equal(n, 0);
	/* consents keep their kind, version and time */
	assert_int_equal(store_consent_list(S, u.id, ks, 4, &n), PV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ks[0].kind, "terms");
	assert_string_equal(ks[0].version, "terms-en-1");
	assert_string_equal(ks[0].client_ip, "");
	assert_true(ks[0].at == T0);
	/* requests lose their contact details; another's keep theirs */
	assert_int_equal(store_request_get(S, rq1.id, &rgot), PV_OK);
	assert_true(!rgot.full_name[0] && !rgot.email[0] && !rgot.mobile[0]);
	assert_string_equal(rgot.name, rq1.name);
	assert_int_equal(store_request_get(S, rq2.id, &rgot), PV_OK);
	assert_true(!rgot.full_name[0] && !rgot.email[0] && !rgot.mobile[0]);
	assert_int_equal(store_request_get(S, rq3.id, &rgot), PV_OK);
	assert_string_equal(rgot.email, other.email);
	assert_string_equal(rgot.full_name, "Ravi Kumar");
	/* messages to the person are gone, sent or not; others stay */
	assert_int_equal(store_outbox_sent(S, to_mobile.id, closed), PV_ENOTFOUND);
	assert_int_equal(store_outbox_sent(S, to_email.id, closed), PV_ENOTFOUND);
	assert_int_equal(store_outbox_sent(S, to_other.id, closed), PV_OK);
	assert_int_equal(store_outbox_sent(S, late.id, closed), PV_OK);
	/* an address the person gave that was never the account's */
	store_outbox gave, gave_late;
	make_msg(&gave, T0 + 30, T0 + 30);
	snprintf(gave.to_addr, sizeof gave.to_addr, "Pending.%.200s", u.email);
	make_msg(&gave_late, closed + 50, closed + 50);
	snprintf(gave_late.to_addr, sizeof gave_late.to_addr, "pending.%.200s", u.email);
	assert_int_equal(store_outbox_insert(S, &gave), PV_OK);
	assert_int_equal(store_outbox_insert(S, &gave_late), PV_OK);
	char lowered[STORE_EMAIL_MAX];
	snprintf(lowered, sizeof lowered, "pending.%.200s", u.email);
	assert_int_equal(store_outbox_forget(S, lowered, closed), PV_OK);
	assert_int_equal(store_outbox_sent(S, gave.id, closed), PV_ENOTFOUND);
	assert_int_equal(store_outbox_sent(S, gave_late.id, closed), PV_OK);
	assert_int_equal(store_outbox_forget(S, "nobody@example.org", closed), PV_OK);
	/* audit rows name the person by id only */
	memset(seen, 0, sizeof seen);
	assert_int_equal(store_audit_each_user(S, u.id, audit_user_cb, seen), PV_OK);
	assert_true(seen[0].id == acted.id && seen[1].id == about.id &&
		    seen[2].id == 0);
	assert_string_equal(seen[0].client_ip, "");
	assert_string_equal(seen[0].action, "change_names");
	assert_string_equal(seen[0].actor_id, u.id);
	assert_string_equal(seen[1].client_ip, "192.0.2.45"); /* the actor's */
	assert_string_equal(seen[1].detail, "{}");
	assert_true(seen[1].at == T0 + 21);
	memset(seen, 0, sizeof seen);
	assert_int_equal(store_audit_each_user(S, other.id, audit_user_cb, seen), PV_OK);
	for (int i = 0; i < 8 && seen[i].id; i++)
		if (seen[i].id == unrelated.id)
			assert_string_equal(seen[i].client_ip, "192.0.2.46");
	/* the new account is untouched */
	assert_int_equal(store_user_get(S, again.id, &got), PV_ENOTFOUND);
	assert_int_equal(store_user_by_mobile(S, u.mobile, &got), PV_OK);
	assert_string_equal(got.email, upper);
	assert_string_equal(got.status, STORE_USER_PENDING);
	/* the erased user is listed as such (the kept counts follow), and
	 * its names left the name search */
	ulist(org, STORE_USER_ERASED, "", 1, 10, 0, &items, &n, &info);
	assert_true(n == 1 && info.total == 1);
	assert_string_equal(items[0].id, u.id);
	assert_string_equal(items[0].first_name, "");
	free(items);
	ulist(org, STORE_USER_CLOSED, "", 1, 10, 0, &items, &n, &info);
	assert_true(n == 0 && info.total == 0);
	free(items);
	ulist(org, "", "asha", 1, 10, 0, &items, &n, &info);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(items[i].id, u.id);
	free(items);
	/* the number is the new account's */
	ulist(org, "", u.mobile, 1, 10, 0, &items, &n, &info);
	assert_true(n == 1);
	assert_string_not_equal(items[0].id, u.id);
	assert_string_equal(items[0].status, STORE_USER_PENDING);
	free(items);
}

static void test_person_lists(void **state)
{
	char org[STORE_ID_MAX];
	store_user u;
	store_consent k, ks[4];
	store_session se[3], got[3];
	store_token t1, t2, t3, t4, tgot;
	size_t n;

	(void)state;
	new_org(org, NULL);
	add_user(&u, org, T0);
	for (int i = 0; i < 3; i++) {
		memset(&k, 0, sizeof k);
		snprintf(k.user_id, sizeof k.user_id, "%s", u.id);
		snprintf(k.kind, sizeof k.kind, "%s", i == 0 ? "declaration" : i == 1 ? "terms" : "privacy");
		snprintf(k.version, sizeof k.version, "v%d", i);
		snprintf(k.client_ip, sizeof k.client_ip, "10.0.0.%d", i);
		k.at = T0 + i;
		assert_int_equal(store_consent_add(S, &k), PV_OK);
	}
	assert_int_equal(store_consent_list(S, u.id, ks, 4, &n), PV_OK);
	assert_int_equal(n, 3);
	assert_string_equal(ks[0].kind, "declaration");
	assert_string_equal(ks[2].kind, "privacy");
	assert_string_equal(ks[1].client_ip, "10.0.0.1");
	assert_string_equal(ks[1].version, "v1");
	assert_int_equal(store_consent_list(S, u.id, ks, 2, &n), PV_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_consent_list(S, "no-such-user", ks, 4, &n), PV_OK);
	assert_int_equal(n, 0);

	for (int i = 0; i < 3; i++) {
		memset(&se[i], 0, sizeof se[i]);
		fill_hash(se[i].hash);
		fill_hash(se[i].csrf_hash);
		snprintf(se[i].user_id, sizeof se[i].user_id, "%s", u.id);
		snprintf(se[i].client_ip, sizeof se[i].client_ip, "2001:db8::%d", i + 1);
		se[i].created_at = se[i].last_seen = T0 + 100 * i;
		se[i].expires_at = FAR;
		se[i].revoked = i == 0;
		assert_int_equal(store_session_insert(S, &se[i]), PV_OK);
	}
	assert_int_equal(store_session_get(S, se[1].hash, &got[0]), PV_OK);
	assert_string_equal(got[0].client_ip, "2001:db8::2");
	assert_int_equal(store_session_list(S, u.id, got, 3, &n), PV_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(got[0].hash, se[2].hash, STORE_HASH_LEN);
	assert_memory_equal(got[2].hash, se[0].hash, STORE_HASH_LEN);
	assert_true(got[2].revoked == 1);
	assert_string_equal(got[2].client_ip, "2001:db8::1");
	assert_int_equal(store_session_list(S, u.id, got, 1, &n), PV_OK);
	assert_int_equal(n, 1);

	/* The tokens of a kind bound to a subject, newest first, used and
	 * expired ones too. */
	memset(&t1, 0, sizeof t1);
	fill_hash(t1.hash);
	snprintf(t1.kind, sizeof t1.kind, "email_change");
	snprintf(t1.subject, sizeof t1.subject, "%s", u.id);
	snprintf(t1.extra, sizeof t1.extra, "{\"email\":\"a@example.org\"}");
	t1.created_at = T0;
	t1.expires_at = T0 + 10000;
	t2 = t1;
	fill_hash(t2.hash);
	snprintf(t2.extra, sizeof t2.extra, "{\"email\":\"b@example.org\"}");
	t2.created_at = T0 + 5;
	t3 = t1;
	fill_hash(t3.hash);
	snprintf(t3.kind, sizeof t3.kind, "activation");
	t3.created_at = T0 + 9;
	t4 = t1;
	fill_hash(t4.hash);
	t4.created_at = T0 + 7;
	t4.expires_at = T0 + 50;
	assert_int_equal(store_token_insert(S, &t1), PV_OK);
	assert_int_equal(store_token_insert(S, &t2), PV_OK);
	assert_int_equal(store_token_insert(S, &t3), PV_OK);
	assert_int_equal(store_token_insert(S, &t4), PV_OK);
	store_token tl[4];
	assert_int_equal(store_token_consume(S, "email_change", t2.hash, T0 + 61, &tgot), PV_OK);
	assert_int_equal(store_token_list(S, "email_change", u.id, tl, 4, &n), PV_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(tl[0].hash, t4.hash, STORE_HASH_LEN);
	assert_memory_equal(tl[1].hash, t2.hash, STORE_HASH_LEN);
	assert_memory_equal(tl[2].hash, t1.hash, STORE_HASH_LEN);
	assert_string_equal(tl[1].extra, "{\"email\":\"b@example.org\"}");
	assert_true(tl[1].used_at == T0 + 61 && tl[0].used_at == 0);
	assert_true(tl[0].expires_at == T0 + 50);
	assert_int_equal(store_token_list(S, "email_change", u.id, tl, 1, &n), PV_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_token_list(S, "email_change", "no-such-user", tl, 4, &n), PV_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_token_list(S, "activation", u.id, tl, 4, &n), PV_OK);
	assert_int_equal(n, 1);
	(void)tgot;
}

static void test_otp_forget(void **state)
{
	char a[STORE_KEY_MAX], b[STORE_KEY_MAX];
	store_otp o, got;

	(void)state;
	uniq(a, sizeof a, "otp:");
	uniq(b, sizeof b, "otp:");
	make_otp(&o, a, "register", T0);
	assert_int_equal(store_otp_insert(S, &o), PV_OK);
	make_otp(&o, a, "login", T0 + 1);
	assert_int_equal(store_otp_insert(S, &o), PV_OK);
	make_otp(&o, b, "login", T0);
	assert_int_equal(store_otp_insert(S, &o), PV_OK);
	make_otp(&o, a, "erasure", T0 + 100);
	assert_int_equal(store_otp_insert(S, &o), PV_OK);
	assert_int_equal(store_otp_forget(S, a, T0 + 50), PV_OK);
	assert_int_equal(store_otp_last(S, a, "register", &got), PV_ENOTFOUND);
	assert_int_equal(store_otp_last(S, a, "login", &got), PV_ENOTFOUND);
	assert_int_equal(store_otp_last(S, a, "erasure", &got), PV_OK);
	assert_int_equal(store_otp_last(S, b, "login", &got), PV_OK);
	assert_int_equal(store_otp_forget(S, "otp:nothing-here", T0), PV_OK);
}

static void test_retention(void **state)
{
	char org[STORE_ID_MAX];
	store_upload old_ok, old_failed, new_ok, old_queued, got, batch[100];
	store_outbox sent, failed, queued, recent;
	store_audit old_row, new_row, seen[8];
	int64_t before = T0 - 1000000, del, sum;
	size_t n;
	int saw_ok = 0, saw_failed = 0, saw_other = 0;

	(void)state;
	new_org(org, NULL);
	/* far in the past, so that they are the oldest of a shared store */
	make_upload(&old_ok, org, 1000);
	snprintf(old_ok.status, sizeof old_ok.status, "%s", STORE_UP_SUCCESSFUL);
	make_upload(&old_failed, org, 1001);
	snprintf(old_failed.status, sizeof old_failed.status, "%s", STORE_UP_FAILED);
	make_upload(&new_ok, org, before + 10);
	snprintf(new_ok.status, sizeof new_ok.status, "%s", STORE_UP_SUCCESSFUL);
	make_upload(&old_queued, org, 1002);
	assert_int_equal(store_upload_insert(S, &old_ok), PV_OK);
	assert_int_equal(store_upload_insert(S, &old_failed), PV_OK);
	assert_int_equal(store_upload_insert(S, &new_ok), PV_OK);
	assert_int_equal(store_upload_insert(S, &old_queued), PV_OK);
	assert_int_equal(store_upload_get(S, old_ok.id, &got), PV_OK);
	assert_true(got.files_removed_at == 0);
	/* drain: every finished upload before `before` is listed once, in
	 * order, until its files are recorded as removed */
	for (int round = 0; round < 1000; round++) {
		assert_int_equal(store_upload_expired(S, before, 100, batch, &n), PV_OK);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (i)
				assert_true(batch[i - 1].updated_at <= batch[i].updated_at);
			saw_ok += strcmp(batch[i].id, old_ok.id) == 0;
			saw_failed += strcmp(batch[i].id, old_failed.id) == 0;
			saw_other += strcmp(batch[i].id, new_ok.id) == 0 ||
				     strcmp(batch[i].id, old_queued.id) == 0;
			assert_true(batch[i].updated_at < before);
			assert_int_equal(store_upload_files_removed(S, batch[i].id, T0), PV_OK);
		}
	}
	assert_true(saw_ok == 1 && saw_failed == 1 && saw_other == 0);
	assert_int_equal(store_upload_get(S, old_ok.id, &got), PV_OK);
	assert_true(got.files_removed_at == T0);
	assert_string_equal(got.status, STORE_UP_SUCCESSFUL);
	assert_int_equal(store_upload_files_removed(S, old_ok.id, T0 + 5), PV_OK);
	assert_int_equal(store_upload_get(S, old_ok.id, &got), PV_OK);
	assert_true(got.files_removed_at == T0); /* once */
	assert_int_equal(store_upload_files_removed(S, "no-such-up", T0), PV_ENOTFOUND);
	assert_int_equal(store_upload_expired(S, before, 0, batch, &n), PV_EINVAL);
	assert_int_equal(store_upload_expired(S, before, 101, batch, &n), PV_EINVAL);

	/* Sent and failed messages go once last due before `before`. */
	make_msg(&sent, 2000, 2000);
	make_msg(&failed, 2000, 2000);
	make_msg(&queued, 2000, 2000);
	make_msg(&recent, before + 10, before + 10);
	assert_int_equal(store_outbox_insert(S, &sent), PV_OK);
	assert_int_equal(store_outbox_insert(S, &failed), PV_OK);
	assert_int_equal(store_outbox_insert(S, &queued), PV_OK);
	assert_int_equal(store_outbox_insert(S, &recent), PV_OK);
	assert_int_equal(store_outbox_sent(S, sent.id, 2001), PV_OK);
	assert_int_equal(store_outbox_fail(S, failed.id, 8, "gave up"), PV_OK);
	assert_int_equal(store_outbox_sent(S, recent.id, before + 11), PV_OK);
	sum = 0;
	for (int i = 0; i < 100000; i++) {
		assert_int_equal(store_outbox_purge(S, before, 50, &del), PV_OK);
		assert_true(del >= 0 && del <= 50);
		sum += del;
		if (del == 0)
			break;
	}
	assert_true(sum >= 2);
	assert_int_equal(store_outbox_retry(S, sent.id, 1, 0, "x"), PV_ENOTFOUND);
	assert_int_equal(store_outbox_retry(S, failed.id, 1, 0, "x"), PV_ENOTFOUND);
	assert_int_equal(store_outbox_fail(S, queued.id, 1, "x"), PV_OK);  /* kept */
	assert_int_equal(store_outbox_sent(S, recent.id, before + 12), PV_OK); /* kept */
	assert_int_equal(store_outbox_purge(S, before, 0, &del), PV_EINVAL);

	/* Audit rows written before `before` go. */
	memset(&old_row, 0, sizeof old_row);
	uniq(old_row.actor_id, sizeof old_row.actor_id, "admin");
	snprintf(old_row.action, sizeof old_row.action, "approve");
	snprintf(old_row.target, sizeof old_row.target, "req-x");
	old_row.at = 3000;
	new_row = old_row;
	new_row.at = before + 1;
	assert_int_equal(store_audit_add(S, &old_row), PV_OK);
	assert_int_equal(store_audit_add(S, &new_row), PV_OK);
	for (int i = 0; i < 100000; i++) {
		assert_int_equal(store_audit_purge(S, before, 50, &del), PV_OK);
		if (del == 0)
			break;
	}
	memset(seen, 0, sizeof seen);
	assert_int_equal(store_audit_each_user(S, old_row.actor_id, audit_user_cb, seen),
			 PV_OK);
	assert_true(seen[0].id == new_row.id && seen[1].id == 0);
	assert_int_equal(store_audit_purge(S, before, 0, &del), PV_EINVAL);

	/* scrub: outside transactions only */
	assert_int_equal(store_scrub(S), PV_OK);
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_scrub(S), PV_EINVAL);
	assert_int_equal(store_tx_rollback(S), PV_OK);
}

struct reader_arg {
	const char *id;
	int err;
};

static void *read_user_thread(void *p)
{
	struct reader_arg *r = p;
	store_user u;

	r->err = store_user_get(S, r->id, &u);
	return NULL;
}

static void test_tx(void **state)
{
	char org[STORE_ID_MAX];
	store_user u, v, dup, got;
	store_role r;
	int conflict;

	(void)state;
	new_org(org, NULL);
	assert_int_equal(store_tx_rollback(S), PV_OK); /* none open */

	/* Rolled back: nothing remains. */
	char email[STORE_EMAIL_MAX], mobile[STORE_MOBILE_MAX];
	uniq(email, sizeof email, "tx");
	strcat(email, "@example.org");
	uniq_mobile(mobile);
	make_user(&u, org, email, mobile, T0);
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_user_insert(S, &u, &conflict), PV_OK);
	memset(&r, 0, sizeof r);
	snprintf(r.role, sizeof r.role, "mdo_admin");
	snprintf(r.org_id, sizeof r.org_id, "%s", org);
	assert_int_equal(store_role_add(S, u.id, &r), PV_OK);
	assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
	assert_int_equal(store_tx_rollback(S), PV_OK);
	assert_int_equal(store_user_get(S, u.id, &got), PV_ENOTFOUND);
	assert_int_equal(store_user_by_email(S, email, &got), PV_ENOTFOUND);
	assert_int_equal(store_tx_rollback(S), PV_OK);

	/* Committed: several calls at once; other threads see nothing
	 * before the commit; a refused insert leaves the transaction usable. */
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_true(store_tx_begin(S) != PV_OK); /* no nesting */
	assert_int_equal(store_user_insert(S, &u, &conflict), PV_OK);
	assert_int_equal(store_role_add(S, u.id, &r), PV_OK);
	make_user(&dup, org, email, "0000000000", T0);
	uniq_mobile(dup.mobile);
	assert_int_equal(store_user_insert(S, &dup, &conflict), PV_ECONFLICT);
	assert_int_equal(conflict, STORE_CONFLICT_EMAIL);
	add_user(&v, org, T0);
	pthread_t th;
	struct reader_arg ra = {u.id, 0};
	assert_int_equal(pthread_create(&th, NULL, read_user_thread, &ra), 0);
	pthread_join(th, NULL);
	assert_int_equal(ra.err, PV_ENOTFOUND);
	assert_int_equal(store_tx_commit(S), PV_OK);
	assert_true(store_tx_commit(S) != PV_OK); /* none open */

	assert_int_equal(store_user_get(S, u.id, &got), PV_OK);
	assert_int_equal(store_user_get(S, v.id, &got), PV_OK);
	ra.err = -1;
	assert_int_equal(pthread_create(&th, NULL, read_user_thread, &ra), 0);
	pthread_join(th, NULL);
	assert_int_equal(ra.err, PV_OK);
	store_role out[2];
	size_t n;
	assert_int_equal(store_role_list(S, u.id, out, 2, &n), PV_OK);
	assert_int_equal(n, 1);
}

/* ---- races ---------------------------------------------------------------- */

#define RACE_THREADS 8
#define RACE_PER 50
#define RACE_SHARED (RACE_PER / 2)

struct race {
	char org[STORE_ID_MAX];
	char shared_mobile[RACE_SHARED][STORE_MOBILE_MAX];
	char own_mobile[RACE_THREADS][RACE_SHARED][STORE_MOBILE_MAX];
	pthread_mutex_t lock;
	int wins[RACE_SHARED];
	int bad; /* unexpected answers */
	int ok_own;
};

struct race_arg {
	struct race *r;
	int t;
};

static int insert_retry(store_user *u, int *conflict)
{
	int err = PV_EBUSY;

	for (int i = 0; i < 50 && err == PV_EBUSY; i++)
		err = store_user_insert(S, u, conflict);
	return err;
}

static void *race_thread(void *p)
{
	struct race_arg *a = p;
	struct race *r = a->r;
	store_user u;
	int conflict, err;

	for (int i = 0; i < RACE_PER; i++) {
		char email[STORE_EMAIL_MAX];
		int k = i / 2;

		memset(&u, 0, sizeof u);
		if (i % 2 == 0) {
			/* Shared keys, the e-mail's case varying by thread. */
			snprintf(email, sizeof email, "%s%d-%08x@Example.Org",
				 a->t % 2 ? "race" : "RACE", k, run_tag);
			snprintf(u.mobile, sizeof u.mobile, "%s",
				 r->shared_mobile[k]);
		} else {
			snprintf(email, sizeof email, "own%d-%d-%08x@example.org",
				 a->t, k, run_tag);
			snprintf(u.mobile, sizeof u.mobile, "%s",
				 r->own_mobile[a->t][k]);
		}
		snprintf(u.id, sizeof u.id, "race-%08x-%d-%d", run_tag, a->t, i);
		snprintf(u.first_name, sizeof u.first_name, "Race");
		snprintf(u.email, sizeof u.email, "%s", email);
		snprintf(u.org_id, sizeof u.org_id, "%s", r->org);
		snprintf(u.status, sizeof u.status, "%s", STORE_USER_ACTIVE);
		snprintf(u.source, sizeof u.source, "bulk");
		u.created_at = u.updated_at = T0 + i;
		conflict = -1;
		err = insert_retry(&u, &conflict);
		pthread_mutex_lock(&r->lock);
		if (i % 2 == 0) {
			if (err == PV_OK)
				r->wins[k]++;
			else if (err != PV_ECONFLICT ||
				 conflict != (STORE_CONFLICT_EMAIL |
					      STORE_CONFLICT_MOBILE))
				r->bad++;
		} else {
			if (err == PV_OK)
				r->ok_own++;
			else
				r->bad++;
		}
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

static void test_user_race(void **state)
{
	struct race *r = calloc(1, sizeof *r);
	struct race_arg args[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	store_user *items = NULL;
	size_t n;

	(void)state;
	assert_non_null(r);
	new_org(r->org, NULL);
	for (int k = 0; k < RACE_SHARED; k++)
		uniq_mobile(r->shared_mobile[k]);
	for (int t = 0; t < RACE_THREADS; t++)
		for (int k = 0; k < RACE_SHARED; k++)
			uniq_mobile(r->own_mobile[t][k]);
	pthread_mutex_init(&r->lock, NULL);
	for (int t = 0; t < RACE_THREADS; t++) {
		args[t] = (struct race_arg){r, t};
		assert_int_equal(pthread_create(&th[t], NULL, race_thread,
						&args[t]),
				 0);
	}
	for (int t = 0; t < RACE_THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_mutex_destroy(&r->lock);

	assert_int_equal(r->bad, 0);
	assert_int_equal(r->ok_own, RACE_THREADS * RACE_SHARED);
	for (int k = 0; k < RACE_SHARED; k++)
		assert_int_equal(r->wins[k], 1);
	store_user_list_info info;
	ulist(r->org, "", "", 1, 1, 0, &items, &n, &info);
	assert_true(info.total == RACE_SHARED + RACE_THREADS * RACE_SHARED);
	free(items);
	free(r);
}

/* Counters and wrong tries counted by many threads at once lose nothing. */
#define HIT_THREADS 8
#define HIT_EACH 25

struct hit_arg {
	const char *key;
	int64_t otp_id;
	int ok, refused, bad;
};

static void *hit_thread(void *p)
{
	struct hit_arg *a = p;
	store_throttle t;

	for (int i = 0; i < HIT_EACH; i++) {
		int err = store_throttle_hit(S, a->key, T0 + 1, 3600000, 150, 3600000, &t);

		if (err == PV_EBUSY) {
			i--;
			continue;
		}
		if (err != PV_OK)
			a->bad++;
		else if (t.count > 150 || (t.locked_until && t.count != 150))
			a->bad++;
		err = store_otp_fail(S, a->otp_id, 100, NULL);
		if (err == PV_OK)
			a->ok++;
		else if (err == PV_ECONFLICT)
			a->refused++;
		else if (err != PV_EBUSY)
			a->bad++;
	}
	return NULL;
}

static void test_counter_race(void **state)
{
	char key[STORE_KEY_MAX], subject[STORE_KEY_MAX];
	struct hit_arg args[HIT_THREADS];
	pthread_t th[HIT_THREADS];
	store_throttle t;
	store_otp o, got;
	int ok = 0, refused = 0;

	(void)state;
	uniq(key, sizeof key, "race:");
	uniq(subject, sizeof subject, "otp:");
	make_otp(&o, subject, "login", T0);
	assert_int_equal(store_otp_insert(S, &o), PV_OK);
	for (int i = 0; i < HIT_THREADS; i++) {
		args[i] = (struct hit_arg){key, o.id, 0, 0, 0};
		assert_int_equal(pthread_create(&th[i], NULL, hit_thread, &args[i]), 0);
	}
	for (int i = 0; i < HIT_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].bad, 0);
		ok += args[i].ok;
		refused += args[i].refused;
	}
	/* 200 hits: the 150th locked the key, the 50 after were not counted */
	assert_int_equal(store_throttle_peek(S, key, T0 + 2, &t), PV_OK);
	assert_true(t.count == 150 && t.locked_until == T0 + 1 + 3600000);
	/* exactly 100 wrong tries were taken, the rest refused: dead */
	assert_int_equal(store_otp_last(S, subject, "login", &got), PV_OK);
	assert_int_equal(ok, 100);
	assert_int_equal(got.attempts, 100);
	assert_int_equal(got.state, STORE_OTP_DEAD);
	assert_true(ok + refused <= HIT_THREADS * HIT_EACH);
}

/* Two organisations moved under each other at the same instant, round
 * after round: one move wins, the other is refused as a cycle; never a
 * cycle in the directory. */
#define MOVE_ROUNDS 40

struct move_arg {
	const char *id, *parent;
	pthread_barrier_t *start, *done;
	int ok, refused, bad;
};

static void *move_thread(void *p)
{
	struct move_arg *a = p;

	for (int r = 0; r < MOVE_ROUNDS; r++) {
		store_org_change ch = {.parent_id = a->parent, .active = -1};
		int conflict = 0, err = PV_EBUSY;

		pthread_barrier_wait(a->start);
		for (int i = 0; i < 100 && err == PV_EBUSY; i++)
			err = store_org_update(S, a->id, &ch, T0 + r, NULL, &conflict);
		if (err == PV_OK)
			a->ok++;
		else if (err == PV_ECONFLICT && conflict == STORE_ORG_CYCLE)
			a->refused++;
		else
			a->bad++;
		pthread_barrier_wait(a->done);
	}
	return NULL;
}

static void test_org_move_race(void **state)
{
	char a[STORE_ID_MAX], b[STORE_ID_MAX];
	pthread_barrier_t start, done;
	struct move_arg args[2] = {{a, b, &start, &done, 0, 0, 0},
				   {b, a, &start, &done, 0, 0, 0}};
	store_org_change root = {.parent_id = "", .active = -1};
	pthread_t th[2];
	int cycles = 0, none = 0;

	(void)state;
	new_org(a, NULL);
	new_org(b, NULL);
	assert_int_equal(pthread_barrier_init(&start, NULL, 3), 0);
	assert_int_equal(pthread_barrier_init(&done, NULL, 3), 0);
	for (int t = 0; t < 2; t++)
		assert_int_equal(pthread_create(&th[t], NULL, move_thread, &args[t]), 0);
	for (int r = 0; r < MOVE_ROUNDS; r++) {
		store_org oa, ob;

		assert_int_equal(store_org_update(S, a, &root, T0, NULL, NULL), PV_OK);
		assert_int_equal(store_org_update(S, b, &root, T0, NULL, NULL), PV_OK);
		pthread_barrier_wait(&start);
		pthread_barrier_wait(&done);
		assert_int_equal(store_org_get(S, a, &oa), PV_OK);
		assert_int_equal(store_org_get(S, b, &ob), PV_OK);
		int a_moved = strcmp(oa.parent_id, b) == 0, b_moved = strcmp(ob.parent_id, a) == 0;

		cycles += a_moved && b_moved;
		none += !a_moved && !b_moved;
	}
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&done);
	assert_int_equal(cycles, 0);
	assert_int_equal(none, 0);
	assert_int_equal(args[0].bad + args[1].bad, 0);
	assert_int_equal(args[0].ok + args[1].ok, MOVE_ROUNDS);
	assert_int_equal(args[0].refused + args[1].refused, MOVE_ROUNDS);
}

/* store_tx: commit, rollback, and retries of a transaction the backend
 * abandoned. */
struct tx_arg {
	char key[STORE_KEY_MAX];
	int calls, busy_first;
	int result;
};

static int tx_fn(store *s, void *ctx)
{
	struct tx_arg *a = ctx;
	int rc;

	a->calls++;
	if ((rc = store_throttle_hit(s, a->key, T0, 60000, 0, 0, NULL)) != PV_OK)
		return rc;
	if (a->calls <= a->busy_first)
		return PV_EBUSY;
	return a->result;
}

static void test_store_tx(void **state)
{
	struct tx_arg a;
	store_throttle t;

	(void)state;
	memset(&a, 0, sizeof a);
	uniq(a.key, sizeof a.key, "tx:");
	a.busy_first = 2;
	assert_int_equal(store_tx(S, tx_fn, &a), PV_OK);
	assert_int_equal(a.calls, 3);
	assert_int_equal(store_throttle_peek(S, a.key, T0, &t), PV_OK);
	assert_true(t.count == 1); /* the two abandoned runs left nothing */
	/* an error rolls back */
	a.calls = 0;
	a.busy_first = 0;
	a.result = PV_ECONFLICT;
	assert_int_equal(store_tx(S, tx_fn, &a), PV_ECONFLICT);
	assert_int_equal(store_throttle_peek(S, a.key, T0, &t), PV_OK);
	assert_true(t.count == 1);
	/* always busy: given up after STORE_TX_TRIES runs */
	a.calls = 0;
	a.busy_first = 1000;
	a.result = PV_OK;
	assert_int_equal(store_tx(S, tx_fn, &a), PV_EBUSY);
	assert_int_equal(a.calls, STORE_TX_TRIES);
	assert_int_equal(store_throttle_peek(S, a.key, T0, &t), PV_OK);
	assert_true(t.count == 1);
	/* not inside another transaction */
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_tx(S, tx_fn, &a), PV_EINVAL);
	assert_int_equal(store_tx_rollback(S), PV_OK);
}

/* store_tx called by many threads at once (a backend may batch them into
 * one transaction: group commit): each caller gets its own answer and all
 * or nothing of its own work, whatever the others' functions answer; a
 * refused call inside a function undoes only itself; store_tx and
 * tx_begin are refused inside a function. */
#define TXC_THREADS 8
#define TXC_EACH 30

struct txc {
	char shared[STORE_KEY_MAX];
	char own[TXC_THREADS][STORE_KEY_MAX];
	store_user taken; /* a user whose mobile is taken */
	char org[STORE_ID_MAX];
};

struct txc_arg {
	struct txc *c;
	int t, i;
	int calls;     /* runs of fn for the current call */
	int nested;    /* what a nested store_tx / tx_begin answered */
	int ok, refused, bad;
};

static int txc_fn(store *s, void *ctx)
{
	struct txc_arg *a = ctx;
	int rc;

	a->calls++;
	if ((rc = store_throttle_hit(s, a->c->shared, T0, 3600000, 0, 0, NULL)) != PV_OK ||
	    (rc = store_throttle_hit(s, a->c->own[a->t], T0, 3600000, 0, 0, NULL)) != PV_OK)
		return rc;
	if (a->i % 5 == 1) { /* a refused call undoes only itself */
		store_user u = a->c->taken;
		int conflict = 0;

		snprintf(u.id, sizeof u.id, "txc-%08x-%d-%d", run_tag, a->t, a->i);
		rc = store_user_insert(s, &u, &conflict);
		if (rc != PV_ECONFLICT || conflict != (STORE_CONFLICT_EMAIL | STORE_CONFLICT_MOBILE))
			return PV_ESTORE;
	}
	if (a->i % 7 == 2) {
		a->nested = store_tx(s, txc_fn, a) == PV_EINVAL && store_tx_begin(s) == PV_EINVAL;
		if (!a->nested)
			return PV_ESTORE;
	}
	if (a->i % 4 == 3 && a->calls == 1)
		return PV_EBUSY; /* run again */
	return a->i % 3 == 0 ? PV_ECONFLICT : PV_OK; /* every third fails */
}

static void *txc_thread(void *p)
{
	struct txc_arg *a = p;

	for (a->i = 0; a->i < TXC_EACH; a->i++) {
		int rc;

		a->calls = 0;
		rc = store_tx(S, txc_fn, a);
		if (rc == PV_OK && a->i % 3 != 0)
			a->ok++;
		else if (rc == PV_ECONFLICT && a->i % 3 == 0)
			a->refused++;
		else if (rc != PV_EBUSY) /* given up under load: not counted */
			a->bad++;
		if (a->i % 4 == 3 && rc == PV_OK && a->calls < 2)
			a->bad++; /* the busy run was not run again */
	}
	return NULL;
}

static void test_store_tx_concurrent(void **state)
{
	struct txc *c = calloc(1, sizeof *c);
	struct txc_arg args[TXC_THREADS];
	pthread_t th[TXC_THREADS];
	store_throttle t;
	int ok = 0;

	(void)state;
	assert_non_null(c);
	uniq(c->shared, sizeof c->shared, "txc:");
	for (int i = 0; i < TXC_THREADS; i++)
		uniq(c->own[i], sizeof c->own[i], "txc-own:");
	new_org(c->org, NULL);
	add_user(&c->taken, c->org, T0);
	for (int i = 0; i < TXC_THREADS; i++) {
		args[i] = (struct txc_arg){.c = c, .t = i};
		assert_int_equal(pthread_create(&th[i], NULL, txc_thread, &args[i]), 0);
	}
	for (int i = 0; i < TXC_THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < TXC_THREADS; i++) {
		assert_int_equal(args[i].bad, 0);
		assert_true(args[i].refused <= (TXC_EACH + 2) / 3);
		/* exactly the work of the callers answered PV_OK remains */
		if (args[i].ok) {
			assert_int_equal(store_throttle_peek(S, c->own[i], T0, &t), PV_OK);
			assert_int_equal(t.count, args[i].ok);
		} else {
			assert_int_equal(store_throttle_peek(S, c->own[i], T0, &t), PV_ENOTFOUND);
		}
		ok += args[i].ok;
	}
	assert_true(ok > 0);
	assert_int_equal(store_throttle_peek(S, c->shared, T0, &t), PV_OK);
	assert_int_equal(t.count, ok);
	free(c);
}

/* store_tx_async from several threads: each done is called once with
 * store_tx's answer, after the commit (its work is visible then), and only
 * the work of those answered PV_OK remains. */
#define TXA_THREADS 4
#define TXA_EACH 40

struct txa {
	char shared[STORE_KEY_MAX];
	pthread_mutex_t lock;
	pthread_cond_t all_done;
	int pending, ok, refused, bad;
};

struct txa_one {
	struct txa *a;
	char own[STORE_KEY_MAX];
	int i, calls;
};

static int txa_fn(store *s, void *ctx)
{
	struct txa_one *o = ctx;
	int rc;

	o->calls++;
	if ((rc = store_throttle_hit(s, o->a->shared, T0, 3600000, 0, 0, NULL)) != PV_OK ||
	    (rc = store_throttle_hit(s, o->own, T0, 3600000, 0, 0, NULL)) != PV_OK)
		return rc;
	if (o->i % 5 == 4 && o->calls == 1)
		return PV_EBUSY;
	return o->i % 3 == 0 ? PV_ECONFLICT : PV_OK;
}

static void txa_done(void *ctx, int rc)
{
	struct txa_one *o = ctx;
	struct txa *a = o->a;
	store_throttle t;
	int seen = store_throttle_peek(S, o->own, T0, &t); /* committed: visible */

	pthread_mutex_lock(&a->lock);
	if (rc == PV_OK && o->i % 3 != 0 && seen == PV_OK && t.count == 1)
		a->ok++;
	else if (rc == PV_ECONFLICT && o->i % 3 == 0 && seen == PV_ENOTFOUND)
		a->refused++;
	else
		a->bad++;
	if (--a->pending == 0)
		pthread_cond_signal(&a->all_done);
	pthread_mutex_unlock(&a->lock);
}

struct txa_thread_arg {
	struct txa *a;
	struct txa_one *ones;
	int t;
};

static void *txa_thread(void *p)
{
	struct txa_thread_arg *ta = p;

	for (int i = 0; i < TXA_EACH; i++)
		store_tx_async(S, txa_fn, &ta->ones[i], txa_done, &ta->ones[i]);
	return NULL;
}

static void test_store_tx_async(void **state)
{
	struct txa a;
	struct txa_one *ones = calloc(TXA_THREADS * TXA_EACH, sizeof *ones);
	struct txa_thread_arg args[TXA_THREADS];
	pthread_t th[TXA_THREADS];
	store_throttle t;

	(void)state;
	assert_non_null(ones);
	memset(&a, 0, sizeof a);
	uniq(a.shared, sizeof a.shared, "txa:");
	pthread_mutex_init(&a.lock, NULL);
	pthread_cond_init(&a.all_done, NULL);
	a.pending = TXA_THREADS * TXA_EACH;
	for (int i = 0; i < TXA_THREADS * TXA_EACH; i++) {
		ones[i].a = &a;
		ones[i].i = i % TXA_EACH;
		uniq(ones[i].own, sizeof ones[i].own, "txa-own:");
	}
	for (int i = 0; i < TXA_THREADS; i++) {
		args[i] = (struct txa_thread_arg){&a, ones + i * TXA_EACH, i};
		assert_int_equal(pthread_create(&th[i], NULL, txa_thread, &args[i]), 0);
	}
	for (int i = 0; i < TXA_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_lock(&a.lock);
	while (a.pending > 0)
		pthread_cond_wait(&a.all_done, &a.lock);
	pthread_mutex_unlock(&a.lock);
	assert_int_equal(a.bad, 0);
	assert_int_equal(a.ok + a.refused, TXA_THREADS * TXA_EACH);
	assert_int_equal(store_throttle_peek(S, a.shared, T0, &t), PV_OK);
	assert_int_equal(t.count, a.ok);
	pthread_cond_destroy(&a.all_done);
	pthread_mutex_destroy(&a.lock);
	free(ones);
}

#define CLAIM_THREADS 4
#define CLAIM_ITEMS 40

struct claim_arg {
	int t, outbox, n, bad;
	char ids[CLAIM_ITEMS + 1][STORE_ID_MAX];
	int64_t mids[CLAIM_ITEMS + 1];
};

static void *claim_thread(void *p)
{
	struct claim_arg *a = p;
	char worker[STORE_ID_MAX];
	int err;

	snprintf(worker, sizeof worker, "claimer-%d", a->t);
	for (int i = 0; i < 10 * CLAIM_ITEMS; i++) {
		store_upload u;
		store_outbox m;

		err = a->outbox ? store_outbox_claim(S, worker, T0 + 5000000,
						       LEASE, &m)
				: store_upload_claim(S, worker, T0 + 5000000,
						       LEASE, &u);
		if (err == PV_EBUSY)
			continue;
		if (err == PV_ENOTFOUND)
			break;
		if (err != PV_OK || a->n > CLAIM_ITEMS) {
			a->bad++;
			break;
		}
		if (a->outbox)
			a->mids[a->n++] = m.id;
		else
			memcpy(a->ids[a->n++], u.id, STORE_ID_MAX);
	}
	return NULL;
}

static void claim_race(int outbox)
{
	char org[STORE_ID_MAX];
	char ids[CLAIM_ITEMS][STORE_ID_MAX];
	int64_t mids[CLAIM_ITEMS];
	int seen[CLAIM_ITEMS] = {0};
	struct claim_arg *args = calloc(CLAIM_THREADS, sizeof *args);
	pthread_t th[CLAIM_THREADS];

	assert_non_null(args);
	drain_queues();
	new_org(org, NULL);
	for (int i = 0; i < CLAIM_ITEMS; i++) {
		if (outbox) {
			store_outbox m;

			make_msg(&m, T0 + i, T0 + i);
			assert_int_equal(store_outbox_insert(S, &m), PV_OK);
			mids[i] = m.id;
		} else {
			store_upload u;

			make_upload(&u, org, T0 + i);
			assert_int_equal(store_upload_insert(S, &u), PV_OK);
			memcpy(ids[i], u.id, STORE_ID_MAX);
		}
	}
	for (int t = 0; t < CLAIM_THREADS; t++) {
		args[t].t = t;
		args[t].outbox = outbox;
		assert_int_equal(pthread_create(&th[t], NULL, claim_thread,
						&args[t]),
				 0);
	}
	for (int t = 0; t < CLAIM_THREADS; t++)
		pthread_join(th[t], NULL);
	int total = 0;
	for (int t = 0; t < CLAIM_THREADS; t++) {
		assert_int_equal(args[t].bad, 0);
		for (int j = 0; j < args[t].n; j++) {
			int k;

			for (k = 0; k < CLAIM_ITEMS; k++)
				if (outbox ? args[t].mids[j] == mids[k]
					   : strcmp(args[t].ids[j], ids[k]) == 0)
					break;
			assert_true(k < CLAIM_ITEMS); /* one of ours */
			seen[k]++;
			total++;
		}
	}
	assert_int_equal(total, CLAIM_ITEMS);
	for (int k = 0; k < CLAIM_ITEMS; k++)
		assert_int_equal(seen[k], 1); /* each exactly once */
	free(args);
}

static void test_upload_claim_race(void **state)
{
	(void)state;
	claim_race(0);
}

static void test_outbox_claim_race(void **state)
{
	(void)state;
	claim_race(1);
}

/* Blobs: put, get back byte for byte (several chunks' worth), refused
 * twice, deleted; never inside a transaction. */
static int write_file(const char *path, const unsigned char *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

static unsigned char *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	long len;

	*n = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)len + 1)) &&
	    fread(p, 1, (size_t)len, f) == (size_t)len)
		*n = (size_t)len;
	fclose(f);
	return p;
}

static void test_blobs(void **state)
{
	char dir[] = "/tmp/pravesh-blob-test-XXXXXX", src[128], dst[128];
	char id[STORE_ID_MAX], other[STORE_ID_MAX];
	size_t big = 3 * 1024 * 1024 + 17, n;
	unsigned char *data = malloc(big), *got;

	(void)state;
	assert_non_null(data);
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	snprintf(src, sizeof src, "%s/in", dir);
	snprintf(dst, sizeof dst, "%s/out", dir);
	assert_int_equal(write_file(src, data, big), 0);
	uniq(id, sizeof id, "blob");
	uniq(other, sizeof other, "blob");

	assert_int_equal(store_blob_get(S, id, dst), PV_ENOTFOUND);
	assert_int_equal(store_blob_put(S, id, src), PV_OK);
	assert_int_equal(store_blob_get(S, id, dst), PV_OK);
	got = read_file(dst, &n);
	assert_non_null(got);
	assert_true(n == big);
	assert_memory_equal(got, data, big);
	free(got);
	/* the file must not exist yet */
	assert_int_equal(store_blob_get(S, id, dst), PV_EIO);
	unlink(dst);
	/* an id is put once; the blob stays as it was */
	assert_int_equal(write_file(src, (const unsigned char *)"x", 1), 0);
	assert_int_equal(store_blob_put(S, id, src), PV_ECONFLICT);
	assert_int_equal(store_blob_get(S, id, dst), PV_OK);
	got = read_file(dst, &n);
	assert_true(got && n == big);
	free(got);
	unlink(dst);
	/* an empty file is a blob too */
	assert_int_equal(write_file(src, (const unsigned char *)"", 0), 0);
	assert_int_equal(store_blob_put(S, other, src), PV_OK);
	assert_int_equal(store_blob_get(S, other, dst), PV_OK);
	got = read_file(dst, &n);
	assert_true(got && n == 0);
	free(got);
	unlink(dst);
	/* deleted: gone; deleting nothing is fine */
	assert_int_equal(store_blob_delete(S, id), PV_OK);
	assert_int_equal(store_blob_get(S, id, dst), PV_ENOTFOUND);
	assert_int_equal(store_blob_delete(S, id), PV_OK);
	assert_int_equal(store_blob_delete(S, other), PV_OK);
	/* refusals */
	assert_int_equal(store_blob_put(S, "../x", src), PV_EINVAL);
	assert_int_equal(store_blob_put(S, "", src), PV_EINVAL);
	snprintf(dst, sizeof dst, "%s/missing", dir);
	assert_int_equal(store_blob_put(S, id, dst), PV_EIO);
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_blob_put(S, id, src), PV_EINVAL);
	assert_int_equal(store_tx_rollback(S), PV_OK);
	unlink(src);
	rmdir(dir);
	free(data);
}

/* ---- backup ------------------------------------------------------------ */

/* Removes the files of folder dir, then dir. */
static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && (size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p)
			unlink(p);
	if (d)
		closedir(d);
	rmdir(dir);
}

struct bk_writer {
	char prefix[STORE_ID_MAX - 16];
	int stop;    /* atomic */
	int written; /* organisations committed; atomic */
	int failed;  /* the writer stopped on an error (in rc); atomic */
	int rc;
};

/* Commits organisations prefix-0, prefix-1, ... one by one until told. */
static void *bk_write(void *arg)
{
	struct bk_writer *w = arg;
	store_org o;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) && w->rc == PV_OK) {
		memset(&o, 0, sizeof o);
		snprintf(o.id, sizeof o.id, "%s-%d", w->prefix, w->written);
		snprintf(o.name, sizeof o.name, "Backup Org %d", w->written);
		snprintf(o.sector, sizeof o.sector, "center");
		snprintf(o.type, sizeof o.type, "ministry");
		o.active = 1;
		o.created_at = o.updated_at = T0;
		w->rc = store_org_upsert(S, &o);
		if (w->rc == PV_OK)
			__atomic_fetch_add(&w->written, 1, __ATOMIC_RELEASE);
	}
	if (w->rc != PV_OK)
		__atomic_store_n(&w->failed, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A backup taken while another thread commits holds one instant: every
 * organisation committed before it, and of those the writer was adding, a
 * prefix without a gap; the blobs are in "<path>.blobs". A backend with its
 * own tools (PostgreSQL: pg_dump) answers PV_EINVAL instead; a backend
 * whose copy is a file opens it as a store (the SQLite backend: a bare
 * path). */
static void test_backup(void **state)
{
	struct bk_writer w;
	pthread_t th;
	char path[300], before[STORE_ID_MAX], id[STORE_ID_MAX], blob[STORE_ID_MAX];
	char src[340], got_path[400];
	unsigned char *got;
	size_t got_n;
	store *copy = NULL;
	store_org o;
	int rc, n = 0;

	(void)state;
	new_org(before, NULL);
	memset(&w, 0, sizeof w);
	uniq(w.prefix, sizeof w.prefix, "bk");
	snprintf(path, sizeof path, "/tmp/pv-backup-%08x-%u.db", run_tag, ++seq);
	snprintf(src, sizeof src, "%s.in", path);
	assert_int_equal(write_file(src, (const unsigned char *)"blob bytes", 10), 0);
	uniq(blob, sizeof blob, "bkblob");
	assert_int_equal(store_blob_put(S, blob, src), PV_OK);
	unlink(src);
	assert_int_equal(pthread_create(&th, NULL, bk_write, &w), 0);
	/* a writer that failed is reported below (w.rc), not waited for */
	while (__atomic_load_n(&w.written, __ATOMIC_RELAXED) < 20 &&
	       !__atomic_load_n(&w.failed, __ATOMIC_ACQUIRE))
		usleep(1000);
	rc = store_backup(S, path);
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_int_equal(w.rc, PV_OK);
	if (rc == PV_EINVAL) {
		assert_int_equal(store_blob_delete(S, blob), PV_OK);
		return; /* a backend with its own tools */
	}
	assert_int_equal(rc, PV_OK);
	assert_int_equal(store_open(path, &copy), PV_OK);
	assert_int_equal(store_org_get(copy, before, &o), PV_OK);
	for (;; n++) {
		snprintf(id, sizeof id, "%s-%d", w.prefix, n);
		if (store_org_get(copy, id, &o) != PV_OK)
			break;
	}
	assert_true(n >= 20 && n <= w.written);
	/* nothing after the first missing one: one instant, not a mix */
	for (int k = n; k < w.written; k++) {
		snprintf(id, sizeof id, "%s-%d", w.prefix, k);
		assert_int_equal(store_org_get(copy, id, &o), PV_ENOTFOUND);
	}
	store_close(copy);
	unlink(path);
	/* the blob, in the folder beside the copy */
	snprintf(got_path, sizeof got_path, "%s.blobs/%s", path, blob);
	got = read_file(got_path, &got_n);
	assert_non_null(got);
	assert_true(got_n == 10 && memcmp(got, "blob bytes", 10) == 0);
	free(got);
	snprintf(got_path, sizeof got_path, "%s.blobs", path);
	rm_tree(got_path);
	assert_int_equal(store_blob_delete(S, blob), PV_OK);
	/* no copy while the caller's transaction is open */
	assert_int_equal(store_tx_begin(S), PV_OK);
	assert_int_equal(store_backup(S, path), PV_EINVAL);
	assert_int_equal(store_tx_rollback(S), PV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_ping),
		cmocka_unit_test(test_orgs),
		cmocka_unit_test(test_org_update),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_user_insert_conflicts),
		cmocka_unit_test(test_user_list),
		cmocka_unit_test(test_user_names),
		cmocka_unit_test(test_roles_creds_consents),
		cmocka_unit_test(test_user_logged_in),
		cmocka_unit_test(test_admin_list),
		cmocka_unit_test(test_otp),
		cmocka_unit_test(test_throttles),
		cmocka_unit_test(test_throttle_peek_pair),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_session_login),
		cmocka_unit_test(test_session_login_tx),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_uploads),
		cmocka_unit_test(test_upload_claims),
		cmocka_unit_test(test_upload_insert_claimed),
		cmocka_unit_test(test_outbox),
		cmocka_unit_test(test_user_insert_batch),
		cmocka_unit_test(test_batch_users_list),
		cmocka_unit_test(test_campaigns),
		cmocka_unit_test(test_batch_closed_users),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_user_changes),
		cmocka_unit_test(test_user_close_erase),
		cmocka_unit_test(test_person_lists),
		cmocka_unit_test(test_otp_forget),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_tx),
		cmocka_unit_test(test_user_race),
		cmocka_unit_test(test_counter_race),
		cmocka_unit_test(test_org_move_race),
		cmocka_unit_test(test_store_tx),
		cmocka_unit_test(test_store_tx_concurrent),
		cmocka_unit_test(test_store_tx_async),
		cmocka_unit_test(test_upload_claim_race),
		cmocka_unit_test(test_outbox_claim_race),
		cmocka_unit_test(test_blobs),
		cmocka_unit_test(test_backup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
