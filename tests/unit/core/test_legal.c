/* test_legal.c: the terms and the privacy notice from template files:
 * placeholders, versions that follow the rendered text, languages and
 * their fallback, and the files refused at start. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/legal.h"
#include "util/err.h"
#include "util/log.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
	char p[256], d[256];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	snprintf(d, sizeof d, "%s", p);
	*strrchr(d, '/') = '\0';
	mkdir(d, 0700);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void drop(const char *rel)
{
	char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	unlink(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pv-legal-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	put("en/terms.md", "# Terms\n\nErased after {{days}} days.\n");
	put("en/privacy.md", "Write to <mailto:{{grievance}}>.\n");
	put("en/otp_sms.txt", "not a legal text\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const legal_var vars[] = {{"days", "30"}, {"grievance", "dpo@example.gov.in"}};
static const legal_var vars7[] = {{"days", "7"}, {"grievance", "dpo@example.gov.in"}};

static void test_render_and_versions(void **state)
{
	legal *l = NULL, *l2 = NULL;
	const char *text, *version, *lang;
	char v1[LEGAL_VERSION_MAX], err[256];

	(void)state;
	assert_int_equal(legal_load(dir, vars, 2, &l, err, sizeof err), PV_OK);
	assert_int_equal(legal_get(l, LEGAL_TERMS, "en", &text, &version, &lang), PV_OK);
	assert_string_equal(text, "# Terms\n\nErased after 30 days.\n");
	assert_string_equal(lang, "en");
	assert_int_equal(strlen(version), strlen("terms-en-") + 16);
	assert_int_equal(strncmp(version, "terms-en-", 9), 0);
	snprintf(v1, sizeof v1, "%s", version);
	assert_true(legal_version_known(l, LEGAL_TERMS, v1));
	assert_false(legal_version_known(l, LEGAL_PRIVACY, v1));
	assert_false(legal_version_known(l, LEGAL_TERMS, "terms-en-0000000000000000"));
	assert_int_equal(legal_get(l, LEGAL_PRIVACY, NULL, &text, NULL, NULL), PV_OK);
	assert_string_equal(text, "Write to <mailto:dpo@example.gov.in>.\n");
	assert_int_equal(legal_get(l, "cookies", "en", &text, NULL, NULL), PV_ENOTFOUND);
	/* no Hindi texts: English */
	assert_int_equal(legal_get(l, LEGAL_TERMS, "hi", &text, NULL, &lang), PV_OK);
	assert_string_equal(lang, "en");
	/* a setting the text cites changes its version */
	assert_int_equal(legal_load(dir, vars7, 2, &l2, err, sizeof err), PV_OK);
	assert_int_equal(legal_get(l2, LEGAL_TERMS, "en", NULL, &version, NULL), PV_OK);
	assert_string_not_equal(version, v1);
	assert_false(legal_version_known(l2, LEGAL_TERMS, v1));
	legal_free(l2);
	/* so does the text: the same settings, the same version, until then */
	assert_int_equal(legal_load(dir, vars, 2, &l2, err, sizeof err), PV_OK);
	assert_int_equal(legal_get(l2, LEGAL_TERMS, "en", NULL, &version, NULL), PV_OK);
	assert_string_equal(version, v1);
	legal_free(l2);
	put("en/terms.md", "# Terms\n\nErased after {{days}} days!\n");
	assert_int_equal(legal_load(dir, vars, 2, &l2, err, sizeof err), PV_OK);
	assert_int_equal(legal_get(l2, LEGAL_TERMS, "en", NULL, &version, NULL), PV_OK);
	assert_string_not_equal(version, v1);
	legal_free(l2);
	legal_free(l);
	legal_free(NULL);
}

static void test_languages(void **state)
{
	legal *l = NULL;
	const char *text, *version, *lang;
	char err[256];

	(void)state;
	put("hi/terms.md", "# \u0936\u0930\u094d\u0924\u0947\u0902 {{days}}\n");
	put("hi/privacy.md", "{{grievance}}\n");
	assert_int_equal(legal_load(dir, vars, 2, &l, err, sizeof err), PV_OK);
	assert_int_equal(legal_get(l, LEGAL_TERMS, "hi-IN", &text, &version, &lang), PV_OK);
	assert_string_equal(lang, "hi");
	assert_string_equal(text, "# \u0936\u0930\u094d\u0924\u0947\u0902 30\n");
	assert_int_equal(strncmp(version, "terms-hi-", 9), 0);
	assert_true(legal_version_known(l, LEGAL_TERMS, version));
	assert_int_equal(legal_get(l, LEGAL_TERMS, "ta", NULL, NULL, &lang), PV_OK);
	assert_string_equal(lang, "en");
	legal_free(l);
	drop("hi/terms.md");
	drop("hi/privacy.md");
}

static void test_refused(void **state)
{
	legal *l = NULL;
	char err[256] = "";

	(void)state;
	/* an unknown placeholder (a typo) */
	put("en/privacy.md", "Write to {{grievence}}.\n");
	assert_int_equal(legal_load(dir, vars, 2, &l, err, sizeof err), PV_EFORMAT);
	assert_null(l);
	assert_non_null(strstr(err, "{{grievence}}"));
	put("en/privacy.md", "Write to {{grievance}}.\n");
	/* a language with one text but not the other */
	put("hi/terms.md", "x\n");
	assert_int_equal(legal_load(dir, vars, 2, &l, err, sizeof err), PV_EFORMAT);
	assert_non_null(strstr(err, "privacy.md"));
	drop("hi/terms.md");
	/* not UTF-8 */
	put("en/terms.md", "\xff\xfe\n");
	assert_int_equal(legal_load(dir, vars, 2, &l, err, sizeof err), PV_EFORMAT);
	/* English: one missing, or both */
	drop("en/terms.md");
	assert_int_equal(legal_load(dir, vars, 2, &l, err, sizeof err), PV_EFORMAT);
	drop("en/privacy.md");
	assert_int_equal(legal_load(dir, vars, 2, &l, err, sizeof err), PV_ENOTFOUND);
	assert_non_null(strstr(err, "en/terms.md"));
	put("en/terms.md", "# Terms\n");
	put("en/privacy.md", "Privacy\n");
	assert_int_equal(legal_load(dir, vars, 2, &l, err, sizeof err), PV_OK);
	legal_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_and_versions),
		cmocka_unit_test(test_languages),
		cmocka_unit_test(test_refused),
	};

	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
