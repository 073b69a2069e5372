/* registration: self-registration of an employee (the SOP's Register
 * screen), e-mail activation, and its re-sending. */
#ifndef PV_REGISTRATION_H
#define PV_REGISTRATION_H

#include <stdint.h>

#include "core/directory.h"
#include "core/fielderr.h"
#include "core/legal.h"
#include "core/otp.h"
#include "store/store.h"

/* The versions of the texts a user accepts, recorded as consent: the
 * declaration's is fixed; the terms' and the privacy notice's come from
 * their template files (core/legal.h), REG_TERMS_VERSION only without
 * them (tests). */
#define REG_DECLARATION_VERSION "declaration-2023-05-30"
#define REG_TERMS_VERSION "terms-2023-05-30"

typedef struct reg_svc {
	store *st;
	directory *dir;
	const otp_svc *otp; /* verification tokens; its keys hash activation tokens */
	const legal *texts; /* the terms and the privacy notice; NULL: fixed versions */
	const char *official_domains;
	const char *public_url; /* activation links */
	int activation_ttl_s;   /* 86400 */
	int resend_per_hour;    /* activation e-mails per address per hour: 3 */
} reg_svc;

/* Strings may be NULL (absent); booleans: 1 true, 0 false or absent. */
typedef struct reg_input {
	const char *first_name, *last_name, *position_id, *email, *mobile,
		*verification_token, *org_id;
	/* the versions of the terms and the privacy notice the page showed
	 * (NULL: those of lang now) */
	const char *terms_version, *privacy_version;
	int declaration, terms;
	const char *ip, *lang;
} reg_input;

/* The checks of reg_register without the store: every field problem into
 * fe (PV_EINVAL; a missing verification token is one, whether a given one
 * is good is known only in the transaction), else PV_OK with *u the
 * pending user to insert (a new id, normalised mobile, trimmed fields,
 * official_email decided). Reads the directory, writes nothing. */
int reg_validate(const reg_svc *svc, const reg_input *in, int64_t now,
		 store_user *u, field_errs *fe);

/* Registers a pending user: every field problem into fe (PV_EINVAL), a
 * missing/used/expired/foreign verification token as verification_required
 * (PV_EINVAL), a version of the terms or privacy notice that is no longer
 * shown as text_outdated (PV_EINVAL), a duplicate e-mail or mobile as
 * PV_ECONFLICT with fe naming it (email_taken, mobile_taken). On success
 * the user, its consents (declaration, terms, privacy notice: each with
 * its version, the time and the address), the activation token and its
 * e-mail are written in one transaction. */
int reg_register(const reg_svc *svc, const reg_input *in, int64_t now,
		 field_errs *fe, store_user *out);

/* The field rules of a registration, shared with a person's own changes
 * (core/person.h); each adds its error to fe under its field's name:
 * - reg_field_name: trimmed into out (cap bytes): required, invalid_name;
 * - reg_field_email: trimmed into out: required, invalid_email;
 * - reg_field_mobile: normalised to 10 digits into out: required,
 *   invalid_mobile;
 * - reg_field_position: the id of an active position into out ("position_id":
 *   required, unknown_position). */
void reg_field_name(field_errs *fe, const char *field, const char *in, char *out,
		    size_t cap);
void reg_field_email(field_errs *fe, const char *in, char out[STORE_EMAIL_MAX]);
void reg_field_mobile(field_errs *fe, const char *in, char out[STORE_MOBILE_MAX]);
void reg_field_position(directory *dir, field_errs *fe, const char *in,
			char out[STORE_ID_MAX]);

/* Activates the user of an activation token: PV_OK, PV_ENOTFOUND
 * (unknown or used), PV_EEXPIRED. */
int reg_activate(const reg_svc *svc, const char *token, int64_t now);

/* Sends a new activation link when email belongs to a pending user (at
 * most resend_per_hour an hour); says nothing either way. */
int reg_resend(const reg_svc *svc, const char *email, const char *lang,
	       int64_t now);

#endif
