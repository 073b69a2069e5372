/* Bounded growable byte buffers (after curl's dynbuf): a buffer is created
 * with the size it may never exceed, and every append checks it. */
#ifndef PV_BUF_H
#define PV_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
	char *p;    /* NUL-terminated when non-NULL; owned by the buffer */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard limit on len */
} buf;

void buf_init(buf *b, size_t max);
/* PV_OK, PV_ENOMEM, or PV_ELIMIT (the buffer is left unchanged). */
int buf_add(buf *b, const void *data, size_t n);
int buf_adds(buf *b, const char *s);
int buf_addf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(buf *b, const char *fmt, va_list ap);
/* Appends s as the inside of a JSON string (escapes quotes, controls). */
int buf_add_json_str(buf *b, const char *s, size_t n);
void buf_reset(buf *b); /* len = 0, keeps memory */
/* Hands the memory to the caller (free() it); the buffer is left empty. */
char *buf_steal(buf *b, size_t *len);
void buf_free(buf *b);

#endif
