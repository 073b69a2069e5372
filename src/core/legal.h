/* legal: the texts a person is shown and agrees to, the terms of service
 * and the privacy notice. Each is a template file an operator can replace,
 * <templates>/<lang>/terms.md and privacy.md (English required, other
 * languages optional and falling back to English), written in a small
 * subset of Markdown ("# " and "## " headings, "- " list items, blank
 * lines between paragraphs, <https://...> and <mailto:...> links) with
 * {{placeholders}} for the settings they cite (the grievance contact,
 * retention periods...). The files are read and rendered once, at start.
 *
 * Versions: each rendered text's version is derived from its content,
 * "<doc>-<lang>-<16 hex digits of its SHA-256>", so that changing a file,
 * or a setting it cites, gives a new version; the consent records name the
 * version shown. */
#ifndef PV_LEGAL_H
#define PV_LEGAL_H

#include <stddef.h>

#define LEGAL_TERMS "terms"
#define LEGAL_PRIVACY "privacy"
#define LEGAL_VERSION_MAX 33 /* STORE_SHORT_MAX: "privacy-en-" + 16 hex */
#define LEGAL_TEXT_MAX (64 * 1024)

typedef struct legal legal;

/* One value for {{name}}. */
typedef struct legal_var {
	const char *name, *value;
} legal_var;

/* Loads and renders both documents in every language directory under dir
 * that has them (a directory with one but not the other is an error, as
 * is an unknown placeholder, a file over LEGAL_TEXT_MAX bytes or text that
 * is not UTF-8); "en" must have both. *out is owned by the caller:
 * legal_free(). On failure err (may be NULL) says why, in English. */
int legal_load(const char *dir, const legal_var *vars, size_t nvars,
	       legal **out, char *err, size_t errlen);
void legal_free(legal *l); /* accepts NULL */

/* The rendered text of doc (LEGAL_TERMS or LEGAL_PRIVACY) in lang ("hi",
 * "hi-IN"...; unknown or NULL: English), its version and the language it
 * is in; pointers owned by l. PV_OK, or PV_ENOTFOUND for an unknown doc. */
int legal_get(const legal *l, const char *doc, const char *lang,
	      const char **text, const char **version, const char **text_lang);

/* 1 when version is the version of doc in one of the languages. */
int legal_version_known(const legal *l, const char *doc, const char *version);

#endif
