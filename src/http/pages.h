/* pages: the web pages and their files, prepared once when the server
 * starts and served from memory.
 *
 * Preparing (http_pages_open) reads every file under the web root and:
 * - HTML: expands <!--#include virtual="/partials/x.html" --> (the shared
 *   header, footer and <noscript>), inlines the stylesheets, versions the
 *   module scripts (?v=<hash>) with an import map so that every module
 *   they import is versioned too, preloads every module of the page and
 *   the dictionary of its language, and writes one copy per language
 *   (web/i18n/<lang>.json) with the text of every data-i18n element filled
 *   in, so that text shows before any script has run;
 * - every file: a content hash (its version and ETag) and, for text, a
 *   gzip copy.
 * Serving (http_static): the copy in the chosen language (the
 * pravesh_lang cookie, else Accept-Language) and encoding, ETag and
 * If-None-Match, Cache-Control "immutable" for a URL whose ?v= is the
 * file's version and "no-cache" otherwise, a Content-Security-Policy
 * naming the hashes of the page's inline parts. Unknown pages answer an
 * HTML 404 page in the chosen language. Files changed on disk are seen
 * after a restart. */
#ifndef PV_HTTP_PAGES_H
#define PV_HTTP_PAGES_H

#include <stddef.h>

#include "http/http.h"

#define PG_MAX_FILES 512
#define PG_MAX_FILE (4u << 20)   /* bytes of one file */
#define PG_MAX_TOTAL (32u << 20) /* bytes of the web root */
#define PG_MAX_LANGS 4

typedef struct http_pages http_pages;

/* Prepares the files under root. *out is freed by http_pages_free. On
 * failure the reason goes into err (errcap bytes). PV_OK, PV_EIO (the root
 * or a file cannot be read), PV_ELIMIT (too many or too big files),
 * PV_EFORMAT (a dictionary that is not a JSON object, an include of a
 * missing file), PV_ENOMEM. */
int http_pages_open(const char *root, http_pages **out, char *err, size_t errcap);
void http_pages_free(http_pages *p); /* accepts NULL */

/* The version (content hash, 16 hex digits) of the file at path, or NULL:
 * for tests and the log. */
const char *http_pages_version(const http_pages *p, const char *path);

/* Answers a GET or HEAD for a page or a file, or the 404 page. */
void http_static(http_req *req, http_resp *resp);
/* The HTML 404 page in the chosen language (status 404). */
void http_not_found_page(http_req *req, http_resp *resp);

#endif
