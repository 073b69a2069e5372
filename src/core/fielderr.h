/* fielderr: a list of field errors, for validations that report every
 * problem at once. Strings are static (field names, codes, messages). */
#ifndef PV_FIELDERR_H
#define PV_FIELDERR_H

#include <stddef.h>

#define FIELDERR_MAX 24

typedef struct field_err {
	const char *field, *code, *message;
} field_err;

typedef struct field_errs {
	field_err e[FIELDERR_MAX];
	size_t n;
} field_errs;

/* Adds one error (silently dropped past FIELDERR_MAX; one per field). */
void ferr_add(field_errs *fe, const char *field, const char *code,
	      const char *message);
/* 1 when field already has an error. */
int ferr_has(const field_errs *fe, const char *field);

#endif
