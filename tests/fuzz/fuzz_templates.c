/* fuzz_templates: the message templates (src/notify/templates.c), both
 * halves: the template file parser (notify_templates_load) and the
 * renderer (notify_render) with parameters as the outbox stores them.
 * Input: [which template][template text] NUL [parameters JSON] NUL [lang].
 * The template text replaces one file of a copy of templates/en in a
 * temporary folder, which is loaded and rendered; the parameters are also
 * rendered with every real template (loaded once from ./templates).
 * Promises held: a load failure says why; a render gives UTF-8 text at
 * most 64 KiB, or an error and an empty result. */
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/validate.h"
#include "fuzz_support.h"
#include "util/utf8.h"
#include "notify/notify.h"
#include "util/err.h"

static notify_templates *real;
static char tmp[64];

static int copy_file(const char *from, const char *to)
{
	char b[16384];
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	size_t n;
	int rc = 0;

	if (!in || !out)
		rc = -1;
	while (rc == 0 && (n = fread(b, 1, sizeof b, in)) > 0)
		if (fwrite(b, 1, n, out) != n)
			rc = -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	notify_templates_free(real);
	if (tmp[0])
		nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("PRAVESH_TEMPLATES");
	char err[256], from[512], to[512];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (!dir)
		dir = "templates";
	if (notify_templates_load(dir, &real, err, sizeof err) != PV_OK) {
		fprintf(stderr, "fuzz_templates: cannot load %s: %s\n", dir, err);
		exit(1);
	}
	snprintf(tmp, sizeof tmp, "/dev/shm/pv-fuzz-tpl-XXXXXX");
	if (!mkdtemp(tmp))
		exit(1);
	atexit(cleanup);
	snprintf(to, sizeof to, "%s/en", tmp);
	mkdir(to, 0700);
	for (size_t i = 0; i < notify_template_count; i++) {
		snprintf(from, sizeof from, "%s/en/%s.txt", dir, notify_template_names[i]);
		snprintf(to, sizeof to, "%s/en/%s.txt", tmp, notify_template_names[i]);
		if (copy_file(from, to) != 0)
			exit(1);
	}
	return 0;
}

static void check_rendered(int rc, const notify_rendered *r)
{
	if (rc != PV_OK) {
		FUZZ_CHECK(r->text == NULL && r->subject == NULL);
		return;
	}
	FUZZ_CHECK(r->text && r->subject && r->template_id && r->lang);
	FUZZ_CHECK(strlen(r->text) <= 64 * 1024);
	FUZZ_CHECK(utf8_valid(r->text, strlen(r->text)));
	FUZZ_CHECK(utf8_valid(r->subject, strlen(r->subject)));
}

static void render_all(const notify_templates *t, const char *params, const char *lang)
{
	for (size_t i = 0; i < notify_template_count; i++) {
		notify_rendered r = {0};
		char err[256] = "";
		int rc = notify_render(t, notify_template_names[i], lang, params, &r, err,
				       sizeof err);

		check_rendered(rc, &r);
		if (rc != PV_OK)
			FUZZ_CHECK(err[0] != '\0');
		notify_rendered_free(&r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *text, *rest, *params, *lang;
	size_t tn, rn, pn, ln;
	char path[600], err[256] = "", *p = NULL, *l = NULL;
	notify_templates *t = NULL;
	const char *name;
	FILE *f;

	if (size < 1)
		return 0;
	name = notify_template_names[data[0] % notify_template_count];
	fuzz_split(data + 1, size - 1, 0, &text, &tn, &rest, &rn);
	fuzz_split(rest, rn, 0, &params, &pn, &lang, &ln);
	p = fuzz_cstr(params, pn);
	l = fuzz_cstr(lang, ln);
	if (!p || !l)
		goto out;
	render_all(real, p, l);
	snprintf(path, sizeof path, "%s/en/%s.txt", tmp, name);
	f = fopen(path, "wb");
	if (!f)
		goto out;
	if (tn)
		fwrite(text, 1, tn, f);
	fclose(f);
	if (notify_templates_load(tmp, &t, err, sizeof err) != PV_OK) {
		FUZZ_CHECK(t == NULL && err[0] != '\0');
	} else {
		render_all(t, p, l);
		notify_templates_free(t);
	}
out:
	free(p);
	free(l);
	return 0;
}
