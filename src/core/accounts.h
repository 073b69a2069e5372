/* accounts: users, administrators and their password logins. */
#ifndef PV_ACCOUNTS_H
#define PV_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/fielderr.h"
#include "core/keys.h"
#include "store/store.h"

#define ACCT_PASSWORD_MIN 12
#define ACCT_PASSWORD_MAX 256
#define ACCT_ROLES_MAX 16

#define ACCT_ROLE_SPV "spv_admin"
#define ACCT_ROLE_MDO "mdo_admin"

/* The fields of a new administrator. */
typedef struct acct_admin {
	const char *role; /* "spv" / "mdo" or ACCT_ROLE_* */
	const char *username, *password;
	const char *org_id; /* required for mdo; the SPV's own org for spv */
	const char *first_name, *last_name, *email, *mobile;
	/* who creates it, for the audit log (NULL: the command line) */
	const char *actor_id, *ip;
} acct_admin;

/* Password-login limits. One address may try ip_fails passwords per
 * window (any usernames; a success gives its attempt back); a username
 * is locked for a window after user_fails failures within one, whatever
 * the addresses: with the defaults one address alone can never lock an
 * administrator out. */
typedef struct acct_policy {
	int user_fails;  /* 50 failures per window lock the username */
	int ip_fails;    /* 10 attempts per window per address */
	int window_s;    /* the window and the lock: 3600 s */
	const char *official_domains;
	const keys *key; /* the server key, for the limits' keys */
} acct_policy;

void acct_policy_default(acct_policy *p);

/* Checks and creates an active administrator with its role and password
 * credential (argon2id), all in one transaction. Field problems go into
 * fe (returns PV_EINVAL); a taken username, e-mail or mobile answers
 * PV_ECONFLICT with fe naming the field. out (may be NULL) receives the
 * user. */
int acct_admin_create(store *s, const acct_policy *pol, const acct_admin *a,
		      int64_t now, field_errs *fe, store_user *out);

/* Checks a username and password. PV_OK with *user (active), PV_EDENIED
 * for any wrong pair or an inactive account (the same answer, in about
 * the same time), PV_ELIMIT when throttled (*retry_after_s set). */
int acct_password_login(store *s, const acct_policy *pol,
			const char *username, const char *password,
			const char *ip, int64_t now, store_user *user,
			int64_t *retry_after_s);

/* The roles of a user. */
int acct_roles(store *s, const char *user_id, store_role *roles, size_t max,
	       size_t *n);

/* An administrator's change of a user's status ("active" / "inactive"),
 * limited to users of org_id (PV_ENOTFOUND for anyone else's). Unless the
 * actor is an SPV administrator, users holding spv_admin are out of reach
 * (PV_ENOTFOUND too), and MDO administrators cannot be changed
 * (PV_EDENIED): only an SPV administrator changes an administrator's
 * status. Nobody changes their own status (PV_EDENIED). An account its
 * owner closed (or that was erased) never changes (PV_ECONFLICT).
 * Deactivating ends the user's sessions at once. Audited. *out gets the
 * user. */
int acct_set_status(store *s, const char *org_id, const char *user_id,
		    const char *status, const char *actor_id, int actor_is_spv,
		    const char *ip, int64_t now, store_user *out);

/* An SPV administrator's change of an MDO administrator's status (the
 * actor must be one: the caller has checked). PV_ENOTFOUND unless the
 * user holds mdo_admin; otherwise as acct_set_status, in the
 * administrator's own organisation. */
int acct_set_admin_status(store *s, const char *user_id, const char *status,
			  const char *actor_id, const char *ip, int64_t now, store_user *out);

/* 1 when any administrator credential exists with this username. */
int acct_username_exists(store *s, const char *username);

#endif
