/* fielderr: a list of field errors, for validations that report every
 * problem at once. Strings are static (field names, codes, messages). */
#ifndef PV_FIELDERR_H
#define PV_FIELDERR_H

#include <stddef.h>

#define FIELDERR_MAX 24

/* The user-facing messages of field errors, one place for every caller
 * (docs/rules.md). */
#define MSG_REQUIRED "This field is required"
#define MSG_INVALID_NAME "Please enter a valid name"
#define MSG_INVALID_EMAIL "Please enter a valid email id"
#define MSG_INVALID_MOBILE "Please add a valid mobile number"
#define MSG_UNKNOWN_POSITION "Please choose a position from the list"
#define MSG_UNKNOWN_ORG "Please choose an organisation from the list"
#define MSG_DECLARATION "Please confirm that the above provided information is accurate"
#define MSG_TERMS "Please agree to the Terms of Service"
#define MSG_VERIFICATION "Please verify your mobile number with the OTP sent to it"
#define MSG_EMAIL_TAKEN "Email id already registered"
#define MSG_MOBILE_TAKEN "Mobile number is already registered"
#define MSG_INVALID_TEXT "Please remove control characters and keep it shorter"
#define MSG_TEXT_OUTDATED "This text has changed since the page was opened; please read it again"
#define MSG_TOKEN_INVALID "This link is not valid, has expired or was already used"
#define MSG_EMAIL_UNCHANGED "This is already your email id"

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
