/* test_sweeper.c: the sweeper's retention and erasure rounds with an
 * injected clock, against the SQLite store on a fresh temporary file per
 * test: upload files, sent messages and audit rows go after their periods
 * (and not before), closed accounts are erased from their erase_after on,
 * and a round that erased or deleted scrubs the store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/keys.h"
#include "core/otp.h"
#include "core/person.h"
#include "core/sweeper.h"
#include "import/job.h"
#include "store/store.h"
#include "support/tmpstore.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define T0 1700000000000LL
#define DAY (86400 * 1000LL)

#define KEY_HEX "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000"

typedef struct fx {
	char dir[64], path[128];
	store *st;
	keys k;
	otp_svc otp;
	person_svc person;
	sweeper_cfg cfg;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	store_org org;

	if (!f || tmpstore_open(f->dir, sizeof f->dir, f->path, sizeof f->path, &f->st) != 0 ||
	    keys_load(NULL, KEY_HEX, &f->k) != PV_OK)
		return -1;
	memset(&org, 0, sizeof org);
	util_strlcpy(org.id, "org1", sizeof org.id);
	util_strlcpy(org.name, "Ministry of Testing", sizeof org.name);
	org.active = 1;
	if (store_org_upsert(f->st, &org) != PV_OK)
		return -1;
	f->otp.st = f->st;
	f->otp.k = &f->k;
	otp_policy_default(&f->otp.pol);
	f->person.st = f->st;
	f->person.otp = &f->otp;
	f->person.grace_ms = 30 * DAY;
	f->cfg.st = f->st;
	f->cfg.interval_s = 60;
	f->cfg.grace_ms = 3600 * 1000LL;
	f->cfg.idle_ms = 1800 * 1000LL;
	f->cfg.person = &f->person;
	f->cfg.upload_keep_ms = 180 * DAY;
	f->cfg.message_keep_ms = 7 * DAY;
	f->cfg.audit_keep_ms = 365 * DAY;
	f->cfg.remove_upload = job_files_remove;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	char p[256];

	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/up%d.csv", f->dir, i);
		unlink(p);
		snprintf(p, sizeof p, "%s/up%d.csv.result", f->dir, i);
		unlink(p);
	}
	tmpstore_remove(f->st, f->dir, f->path);
	free(f);
	return 0;
}

static void touch(const char *path)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs("First Name,Last Name,Email Id,Mobile Number\n", fp);
	fclose(fp);
}

static void add_upload(fx *f, int i, int64_t finished, store_upload *u)
{
	memset(u, 0, sizeof *u);
	snprintf(u->id, sizeof u->id, "up-%d", i);
	util_strlcpy(u->org_id, "org1", sizeof u->org_id);
	snprintf(u->file_name, sizeof u->file_name, "1_up%d.csv", i);
	snprintf(u->stored_path, sizeof u->stored_path, "%s/up%d.csv", f->dir, i);
	util_strlcpy(u->format, "csv", sizeof u->format);
	util_strlcpy(u->status, STORE_UP_SUCCESSFUL, sizeof u->status);
	u->created_at = u->updated_at = finished;
	assert_int_equal(store_upload_insert(f->st, u), PV_OK);
	touch(u->stored_path);
	char result[STORE_PATH_MAX + 8];
	snprintf(result, sizeof result, "%s.result", u->stored_path);
	touch(result);
}

static int exists(const char *path, const char *suffix)
{
	char p[STORE_PATH_MAX + 16];

	snprintf(p, sizeof p, "%s%s", path, suffix);
	return access(p, F_OK) == 0;
}

static void test_upload_files(void **state)
{
	fx *f = *state;
	store_upload old, recent, got;
	sweeper_counts c;

	add_upload(f, 0, T0, &old);
	add_upload(f, 1, T0 + 100 * DAY, &recent);
	/* a day before the end of its 180 days: kept */
	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 179 * DAY, 10, &c), PV_OK);
	assert_true(c.uploads == 0);
	assert_true(exists(old.stored_path, "") && exists(old.stored_path, ".result"));
	/* after: both its files go, and the store says so */
	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 181 * DAY, 10, &c), PV_OK);
	assert_true(c.uploads == 1);
	assert_false(exists(old.stored_path, ""));
	assert_false(exists(old.stored_path, ".result"));
	assert_int_equal(store_upload_get(f->st, old.id, &got), PV_OK);
	assert_true(got.files_removed_at == T0 + 181 * DAY);
	assert_string_equal(got.status, STORE_UP_SUCCESSFUL);
	assert_true(exists(recent.stored_path, "") && exists(recent.stored_path, ".result"));
	assert_int_equal(store_upload_get(f->st, recent.id, &got), PV_OK);
	assert_true(got.files_removed_at == 0);
	/* once */
	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 182 * DAY, 10, &c), PV_OK);
	assert_true(c.uploads == 0);
	/* 0 keeps them for ever */
	f->cfg.upload_keep_ms = 0;
	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 1000 * DAY, 10, &c), PV_OK);
	assert_true(c.uploads == 0 && exists(recent.stored_path, ""));
}

static void test_messages_and_audit(void **state)
{
	fx *f = *state;
	store_outbox sent, waiting;
	store_audit a;
	sweeper_counts c;

	memset(&sent, 0, sizeof sent);
	util_strlcpy(sent.channel, "sms", sizeof sent.channel);
	util_strlcpy(sent.to_addr, "9876543210", sizeof sent.to_addr);
	util_strlcpy(sent.template_name, "otp_sms", sizeof sent.template_name);
	sent.created_at = sent.next_at = T0;
	waiting = sent;
	assert_int_equal(store_outbox_insert(f->st, &sent), PV_OK);
	assert_int_equal(store_outbox_insert(f->st, &waiting), PV_OK);
	assert_int_equal(store_outbox_sent(f->st, sent.id, T0 + 1), PV_OK);
	memset(&a, 0, sizeof a);
	util_strlcpy(a.actor_id, "admin-1", sizeof a.actor_id);
	util_strlcpy(a.action, "approve", sizeof a.action);
	a.at = T0;
	assert_int_equal(store_audit_add(f->st, &a), PV_OK);

	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 6 * DAY, 10, &c), PV_OK);
	assert_true(c.messages == 0 && c.audit == 0 && !c.scrubbed);
	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 8 * DAY, 10, &c), PV_OK);
	assert_true(c.messages == 1 && !c.scrubbed); /* only an erasure scrubs */
	assert_int_equal(store_outbox_retry(f->st, sent.id, 1, 0, "x"), PV_ENOTFOUND);
	assert_int_equal(store_outbox_retry(f->st, waiting.id, 1, T0, "x"), PV_OK); /* queued: kept */
	/* audit rows stay a year at least */
	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 364 * DAY, 10, &c), PV_OK);
	assert_true(c.audit == 0);
	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 366 * DAY, 10, &c), PV_OK);
	assert_true(c.audit == 1);
}

static int seen_erase(void *ctx, const store_audit *a)
{
	if (strcmp(a->action, "erase_account") == 0)
		(*(int *)ctx)++;
	return 0;
}

static void test_erasure_after_grace(void **state)
{
	fx *f = *state;
	store_user u, got;
	store_otp o;
	char subject[STORE_KEY_MAX];
	sweeper_counts c;
	int erased = 0;

	memset(&u, 0, sizeof u);
	util_strlcpy(u.id, "user-1", sizeof u.id);
	util_strlcpy(u.first_name, "Asha", sizeof u.first_name);
	util_strlcpy(u.last_name, "Rao", sizeof u.last_name);
	util_strlcpy(u.email, "asha@example.org", sizeof u.email);
	util_strlcpy(u.mobile, "9876543210", sizeof u.mobile);
	util_strlcpy(u.org_id, "org1", sizeof u.org_id);
	util_strlcpy(u.status, STORE_USER_ACTIVE, sizeof u.status);
	util_strlcpy(u.source, "self", sizeof u.source);
	u.created_at = u.updated_at = T0;
	assert_int_equal(store_user_insert(f->st, &u, NULL), PV_OK);
	/* a code sent to the number before the closing */
	memset(&o, 0, sizeof o);
	assert_int_equal(otp_subject(&f->otp, u.mobile, subject), PV_OK);
	util_strlcpy(o.subject, subject, sizeof o.subject);
	util_strlcpy(o.purpose, "erasure", sizeof o.purpose);
	o.created_at = T0 + 1;
	o.expires_at = T0 + 1000 * DAY; /* not swept as expired */
	assert_int_equal(store_otp_insert(f->st, &o), PV_OK);
	assert_int_equal(store_user_close(f->st, u.id, T0 + 30 * DAY, T0 + 2), PV_OK);

	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 30 * DAY - 1, 10, &c), PV_OK);
	assert_true(c.erased == 0);
	assert_int_equal(store_user_get(f->st, u.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_USER_CLOSED);
	assert_string_equal(got.first_name, "Asha");

	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 30 * DAY, 10, &c), PV_OK);
	assert_true(c.erased == 1 && c.scrubbed);
	assert_int_equal(store_user_get(f->st, u.id, &got), PV_OK);
	assert_string_equal(got.status, STORE_USER_ERASED);
	assert_string_equal(got.first_name, "");
	assert_string_equal(got.mobile, "");
	assert_string_equal(got.org_id, "org1");
	assert_int_equal(store_otp_last(f->st, subject, "erasure", &o), PV_ENOTFOUND);
	assert_int_equal(store_audit_each_user(f->st, u.id, seen_erase, &erased), PV_OK);
	assert_int_equal(erased, 1);
	/* once */
	assert_int_equal(sweeper_run_once(&f->cfg, T0 + 31 * DAY, 10, &c), PV_OK);
	assert_true(c.erased == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_upload_files),
		T(test_messages_and_audit),
		T(test_erasure_after_grace),
#undef T
	};

	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
