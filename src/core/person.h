/* person: a person's own data (DPDP Act 2023): seeing and correcting their
 * details, changing their mobile (proven by a code sent to the new number)
 * or their e-mail (proven by a link sent to the new address), everything
 * Pravesh holds about them (s.11), and closing their account (s.12): it
 * answers as unknown at once, and the sweeper erases its data after a
 * grace period (person_erase_due).
 *
 * Every change is one store transaction with its audit row (the person as
 * actor and target, the fields named, never their values) and its
 * messages. Only live users change: a user closed meanwhile answers
 * PV_ENOTFOUND. Every rule takes `now` (ms) from the caller. */
#ifndef PV_PERSON_H
#define PV_PERSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/accounts.h"
#include "core/directory.h"
#include "core/fielderr.h"
#include "core/otp.h"
#include "store/store.h"

#define PERSON_TOKEN_EMAIL "email_change"

typedef struct person_svc {
	store *st;
	directory *dir;           /* positions */
	const otp_svc *otp;       /* verification tokens and the server key */
	const char *official_domains;
	const char *public_url;   /* confirmation links */
	int email_ttl_s;          /* a confirmation link lives 86400 s */
	int email_per_day;        /* e-mail changes asked per person per day: 5 */
	int64_t grace_ms;         /* from closing to erasure: 30 days */
} person_svc;

/* PATCH /me: the names and position given (NULL: unchanged), with the
 * field rules of a registration (errors into fe: PV_EINVAL). *out gets the
 * user as it is now. */
typedef struct person_names {
	const char *first_name, *last_name, *position_id;
} person_names;
int person_set_names(const person_svc *svc, const store_user *u,
		     const person_names *in, const char *ip, int64_t now,
		     field_errs *fe, store_user *out);

/* A new mobile number, proven by a verification token of purpose
 * change_mobile for that number, issued to this user. PV_EINVAL with fe
 * (mobile: required, invalid_mobile; verification_token:
 * verification_required), PV_ECONFLICT with fe (mobile_taken: another
 * user has it; the token stays usable). The old number is told by SMS
 * (mobile_replaced_sms). Every session of the user but `session` (the
 * hash of the one making the change; NULL: none kept) ends. *out gets the
 * user as it is now. */
int person_change_mobile(const person_svc *svc, const store_user *u,
			 const unsigned char *session, const char *mobile,
			 const char *token, const char *ip, const char *lang,
			 int64_t now, field_errs *fe, store_user *out);

/* Asks to change the e-mail: a single-use link (email_ttl_s) goes to the
 * new address (email_confirm_email) and a notice to the old one
 * (email_change_email); nothing changes until the link is used. PV_EINVAL
 * with fe (email: required, invalid_email, email_unchanged), PV_ECONFLICT
 * with fe (email_taken), PV_ELIMIT past email_per_day (*retry_after_s).
 * Every request that passes the field rules counts against the limit, so
 * that the answer cannot be used to probe addresses in bulk. */
int person_request_email(const person_svc *svc, const store_user *u,
			 const char *email, const char *ip, const char *lang,
			 int64_t now, field_errs *fe, int64_t *retry_after_s);

/* Uses a confirmation link's token: the e-mail becomes the new address,
 * proven. PV_ENOTFOUND for a token unknown, used, expired or this user's
 * not (another's stays usable), PV_ECONFLICT when the address was taken
 * meanwhile. The person's other links are spent, and every session of
 * the user but `session` (as for person_change_mobile) ends. *out gets
 * the user as it is now. */
int person_confirm_email(const person_svc *svc, const store_user *u,
			 const unsigned char *session, const char *token,
			 const char *ip, int64_t now, store_user *out);

/* The e-mail change waiting for its link, if any: *email ("" when none,
 * STORE_EMAIL_MAX bytes) and when the link expires. */
int person_pending_email(const person_svc *svc, const char *user_id, int64_t now,
			 char *email, int64_t *expires_at);

/* Everything the store holds about a person (GET /me/data). Bounded: the
 * lists stop at their maximum (and say so). */
#define PERSON_CONSENTS_MAX 64
#define PERSON_SESSIONS_MAX 256
#define PERSON_REQUESTS_MAX 1000
#define PERSON_AUDIT_MAX 100000

typedef struct person_audit {
	int64_t at;
	char action[STORE_SHORT_MAX];
	char actor_id[STORE_ID_MAX];
	char target[STORE_ID_MAX * 2];
} person_audit;

typedef struct person_data {
	store_user user;
	store_role roles[ACCT_ROLES_MAX];
	size_t nroles;
	char username[STORE_USERNAME_MAX]; /* "" without a password login */
	char pending_email[STORE_EMAIL_MAX];
	int64_t pending_email_expires;
	store_consent consents[PERSON_CONSENTS_MAX];
	size_t nconsents;
	store_session sessions[PERSON_SESSIONS_MAX];
	size_t nsessions;
	store_request *requests; /* malloc'd */
	size_t nrequests;
	store_upload upload; /* the bulk upload that created the account */
	int has_upload;
	person_audit *audit; /* malloc'd, oldest first */
	size_t naudit;
	int audit_truncated;
} person_data;

/* Gathers it. *out is malloc'd: free it with person_data_free(). */
int person_export(const person_svc *svc, const char *user_id, person_data **out);
void person_data_free(person_data *d); /* accepts NULL */

/* Closes the account, proven by a verification token of purpose erasure
 * for its own number, issued to this user: the user becomes closed (it
 * answers as unknown everywhere from now on), every session ends, an
 * e-mail says what happens (account_closed_email), and the data is erased
 * from *erase_after = now + grace_ms on. PV_EINVAL with fe
 * (verification_token: required, verification_required). */
int person_close(const person_svc *svc, const store_user *u, const char *token,
		 const char *ip, const char *lang, int64_t now, field_errs *fe,
		 int64_t *erase_after);

/* The operator's closing of an account by its id (`pravesh account close`,
 * e.g. again after restoring a backup older than the person's closing):
 * the same as person_close without the proof and the e-mail; the audit row
 * names no actor. PV_ENOTFOUND when unknown, PV_ECONFLICT when already
 * closed or erased. */
int person_close_id(const person_svc *svc, const char *user_id, int64_t now,
		    int64_t *erase_after);

/* The sweeper's part: erases every closed account whose time has come, up
 * to max of them, each in its own transaction (store_user_erase, the codes
 * sent to its number, an audit row "erase_account" naming it by id).
 * *erased (may be NULL) gets how many. The caller scrubs the store after. */
int person_erase_due(const person_svc *svc, int64_t now, int max, int64_t *erased);

#endif
