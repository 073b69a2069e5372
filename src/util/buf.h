/* Bounded growable byte buffers (after curl's dynbuf): a buffer is created
 * with the size it may never exceed, and every append checks it. A failure
 * sticks: the first refused append frees the contents and marks the
 * buffer, every later append answers the same error, so a run of appends
 * can ignore their results and check buf_error() once at the end. */
#ifndef PV_BUF_H
#define PV_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
	char *p;    /* NUL-terminated when non-NULL; owned by the buffer */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard limit on len */
	int err;    /* the first error (PV_ENOMEM, PV_ELIMIT...), 0 while fine */
} buf;

void buf_init(buf *b, size_t max);
/* PV_OK, or PV_ENOMEM / PV_ELIMIT (the buffer is then freed and marked:
 * see above), or the error of an earlier failed append. */
int buf_add(buf *b, const void *data, size_t n);
int buf_adds(buf *b, const char *s);
int buf_addf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(buf *b, const char *fmt, va_list ap);
/* Appends s as the inside of a JSON string (escapes quotes, controls). */
int buf_add_json_str(buf *b, const char *s, size_t n);
/* PV_OK, or the error that ended the buffer's appends. */
int buf_error(const buf *b);
void buf_reset(buf *b); /* len = 0 and no error, keeps memory */
/* Hands the memory to the caller (free() it); the buffer is left empty.
 * NULL (and *len 0) when an append failed or memory ran out: "" otherwise
 * even for an empty buffer. */
char *buf_steal(buf *b, size_t *len);
void buf_free(buf *b); /* accepts NULL; the buffer can be used again */

#endif
