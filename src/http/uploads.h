/* uploads: the body of an upload as it streams in (api_uploads.c). MHD's
 * multipart/form-data parser, made from the request's Content-Type, hands
 * the part named "file" to a new temporary file "<dir>/.part-<uuid>" as
 * it arrives; other parts are ignored, and so is a second "file" part.
 * The server's upload route and the fuzz harness tests/fuzz/fuzz_multipart.c
 * run this same code. */
#ifndef PV_HTTP_UPLOADS_H
#define PV_HTTP_UPLOADS_H

#include <stdint.h>

#include "store/store.h"

struct MHD_Connection;
struct MHD_PostProcessor;

typedef struct up_body {
	struct MHD_PostProcessor *pp;
	int fd;                   /* the temporary file while writing, else -1 */
	char tmp[STORE_PATH_MAX]; /* its path; "" once kept or removed */
	uint64_t bytes;           /* of the file part, written */
	int64_t max;              /* the largest file part accepted */
	char fname[256];          /* the file name the client gave */
	int has_file, too_large, parse_error, later_part;
	int write_err; /* the pv_err of a failed write (PV_ENOSPACE, PV_EIO) */
} up_body;

/* Starts the body of the upload on connection c, its file going to dir
 * (which exists). PV_OK; PV_EFORMAT when no multipart parser can be made
 * for the request (not multipart/form-data, or no boundary); PV_ENOSPACE
 * or PV_EIO when the temporary file cannot be made; PV_ENOMEM. *out is
 * freed by up_body_free (also on failure, when not NULL). */
int up_body_begin(struct MHD_Connection *c, const char *dir, int64_t max, up_body **out);
/* Takes n more bytes of the body. PV_OK to go on, or the outcome once the
 * body is refused (then the rest need not be fed). */
int up_body_feed(up_body *b, const char *data, size_t n);
/* The end of the body: the parser's last word, then the file synced and
 * closed. The outcome, in this order: PV_ELIMIT (the file part is larger
 * than max), PV_ENOSPACE or PV_EIO (it could not be written), PV_ENOTFOUND
 * (no part named "file"), PV_EFORMAT (malformed multipart), PV_EINVAL (the
 * file is empty), else PV_OK: b->tmp holds b->bytes bytes. */
int up_body_end(up_body *b);
/* Accepts NULL. Closes and removes the temporary file unless b->tmp was
 * cleared (the file was kept), and clears b->tmp: done at once when the
 * body is refused, and before a refusal is answered. */
void up_body_drop(up_body *b);
/* Accepts NULL. up_body_drop, then frees b and its parser. */
void up_body_free(up_body *b);

#endif
