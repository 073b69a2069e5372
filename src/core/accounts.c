#include "core/accounts.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/audit.h"
#include "core/keys.h"
#include "core/validate.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"
#include "util/utf8.h"

_Static_assert(STORE_MOBILE_MAX == VAL_MOBILE_LEN + 1, "a stored mobile is a normalised one");

#define ACCT_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define ACCT_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

void acct_policy_default(acct_policy *p)
{
	p->user_fails = 50;
	p->ip_fails = 10;
	p->window_s = 3600;
	p->official_domains = "gov.in,nic.in";
}

/* A hash that no password matches, verified for unknown usernames so that
 * they cost the same time as a wrong password. */
static char acct_dummy[crypto_pwhash_STRBYTES];
static pthread_once_t acct_dummy_once = PTHREAD_ONCE_INIT;

static void acct_make_dummy(void)
{
	char pw[33];

	util_random_b64url(24, pw, sizeof pw);
	if (crypto_pwhash_str(acct_dummy, pw, strlen(pw), ACCT_OPS, ACCT_MEM) != 0)
		acct_dummy[0] = '\0';
}

static int acct_username_ok(const char *u)
{
	size_t n = strlen(u);

	if (n < 3 || n >= STORE_USERNAME_MAX)
		return 0;
	for (; *u; u++)
		if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		      (*u >= '0' && *u <= '9') || *u == '.' || *u == '_' || *u == '-' ||
		      *u == '@'))
			return 0;
	return 1;
}

/* Characters (code points) of well-formed UTF-8: the minimum length of a
 * password counts characters, the maximum bytes. */
static size_t acct_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

int acct_username_exists(store *s, const char *username)
{
	store_cred c;

	return store_cred_by_username(s, username, &c) == PV_OK;
}

/* The writes of a new administrator, in one transaction. */
struct acct_create_tx {
	const acct_admin *a;
	const store_user *u;
	const store_role *r;
	const store_cred *c;
	field_errs *fe;
	int64_t now;
};

static int acct_create_tx(store *s, void *ctx)
{
	struct acct_create_tx *x = ctx;
	int rc, conflict = 0;

	x->fe->n = 0;
	rc = store_user_insert(s, x->u, &conflict);
	if (rc == PV_ECONFLICT) {
		if (conflict & STORE_CONFLICT_EMAIL)
			ferr_add(x->fe, "email", "email_taken", MSG_EMAIL_TAKEN);
		if (conflict & STORE_CONFLICT_MOBILE)
			ferr_add(x->fe, "mobile", "mobile_taken", MSG_MOBILE_TAKEN);
		return rc;
	}
	if (rc != PV_OK || (rc = store_role_add(s, x->u->id, x->r)) != PV_OK)
		return rc;
	rc = store_cred_insert(s, x->c);
	if (rc == PV_ECONFLICT) {
		ferr_add(x->fe, "username", "username_taken", "This username is taken");
		return rc;
	}
	if (rc != PV_OK || !x->a->actor_id)
		return rc;
	return audit_record(s, x->a->actor_id, "create_admin", x->u->id, x->a->ip,
			    json_pack("{s:s, s:s, s:s}", "role", x->r->role, "username",
				      x->c->username, "org_id", x->u->org_id),
			    x->now);
}

int acct_admin_create(store *s, const acct_policy *pol, const acct_admin *a,
		      int64_t now, field_errs *fe, store_user *out)
{
	store_user u;
	store_role r;
	store_cred c;
	store_org org;
	const char *role;
	size_t n;
	int rc;

	memset(&u, 0, sizeof u);
	memset(&r, 0, sizeof r);
	memset(&c, 0, sizeof c);
	fe->n = 0;
	role = a->role && (strcmp(a->role, "spv") == 0 || strcmp(a->role, ACCT_ROLE_SPV) == 0)
		       ? ACCT_ROLE_SPV
	       : a->role && (strcmp(a->role, "mdo") == 0 || strcmp(a->role, ACCT_ROLE_MDO) == 0)
		       ? ACCT_ROLE_MDO
		       : NULL;
	if (!role)
		ferr_add(fe, "role", "invalid_role", "The role must be spv or mdo");
	if (!a->username || !acct_username_ok(a->username))
		ferr_add(fe, "username", "invalid_username",
			 "Usernames are 3-64 letters, digits or . _ - @");
	n = a->password ? strlen(a->password) : 0;
	if (n < ACCT_PASSWORD_MIN || n > ACCT_PASSWORD_MAX || !utf8_valid(a->password, n) ||
	    acct_chars(a->password) < ACCT_PASSWORD_MIN)
		ferr_add(fe, "password", "weak_password",
			 "Passwords have at least 12 characters");
	rc = a->org_id && *a->org_id && strlen(a->org_id) < sizeof org.id
		     ? store_org_get(s, a->org_id, &org)
		     : PV_ENOTFOUND;
	if (rc == PV_ENOTFOUND)
		ferr_add(fe, "org_id", "unknown_org", MSG_UNKNOWN_ORG);
	else if (rc != PV_OK)
		return rc; /* the store failed: not the caller's mistake */
	if (!a->first_name || !val_name(a->first_name, strlen(a->first_name)))
		ferr_add(fe, "first_name", "invalid_name", MSG_INVALID_NAME);
	if (!a->last_name || !val_name(a->last_name, strlen(a->last_name)))
		ferr_add(fe, "last_name", "invalid_name", MSG_INVALID_NAME);
	if (!a->email || !val_email(a->email, strlen(a->email)))
		ferr_add(fe, "email", "invalid_email", MSG_INVALID_EMAIL);
	if (!a->mobile || !val_mobile(a->mobile, strlen(a->mobile), u.mobile))
		ferr_add(fe, "mobile", "invalid_mobile", MSG_INVALID_MOBILE);
	if (fe->n)
		return PV_EINVAL;
	util_uuid(u.id);
	util_strlcpy(u.first_name, a->first_name, sizeof u.first_name);
	util_strlcpy(u.last_name, a->last_name, sizeof u.last_name);
	util_strlcpy(u.email, a->email, sizeof u.email);
	u.official_email = val_official_email(a->email, pol->official_domains);
	util_strlcpy(u.org_id, a->org_id, sizeof u.org_id);
	util_strlcpy(u.status, STORE_USER_ACTIVE, sizeof u.status);
	util_strlcpy(u.source, "admin", sizeof u.source);
	u.email_verified = 1; /* vouched for by the administrator creating it */
	u.created_at = u.updated_at = now;
	util_strlcpy(r.role, role, sizeof r.role);
	if (strcmp(role, ACCT_ROLE_MDO) == 0)
		util_strlcpy(r.org_id, a->org_id, sizeof r.org_id);
	util_strlcpy(c.user_id, u.id, sizeof c.user_id);
	util_strlcpy(c.username, a->username, sizeof c.username);
	/* hash before the transaction: it takes a while and holds no lock */
	if (crypto_pwhash_str(c.pwhash, a->password, strlen(a->password), ACCT_OPS,
			      ACCT_MEM) != 0)
		return PV_ENOMEM;
	rc = store_tx(s, acct_create_tx,
		      &(struct acct_create_tx){a, &u, &r, &c, fe, now});
	if (rc == PV_OK && out)
		*out = u;
	sodium_memzero(c.pwhash, sizeof c.pwhash);
	return rc;
}

static int64_t acct_wait_s(int64_t until, int64_t now)
{
	return until > now ? (until - now + 999) / 1000 : 1;
}

int acct_password_login(store *s, const acct_policy *pol,
			const char *username, const char *password,
			const char *ip, int64_t now, store_user *user,
			int64_t *retry_after_s)
{
	char lower[STORE_USERNAME_MAX], ukey[STORE_KEY_MAX], ikey[STORE_KEY_MAX];
	int64_t window = pol->window_s * 1000LL;
	store_throttle t;
	store_cred c;
	int found, ok, rc;

	*retry_after_s = 0;
	util_strncpy0(lower, sizeof lower, username ? username : "",
		      username ? strnlen(username, sizeof lower - 1) : 0);
	util_lower_ascii(lower);
	if ((rc = keys_subject(pol->key, "pw-ip", ip ? ip : "", ikey)) != PV_OK ||
	    (rc = keys_subject(pol->key, "pw-user", lower, ukey)) != PV_OK)
		return rc;
	/* Every attempt is counted up front (a success gives it back), so
	 * that concurrent guesses, on any number of servers, cannot slip past
	 * a count they have not yet added to. The address first: it stops a
	 * single client long before the username's own lock, which takes
	 * several addresses to reach. */
	if ((rc = store_throttle_hit(s, ikey, now, window, 0, 0, &t)) != PV_OK)
		return rc;
	if (t.count > pol->ip_fails) {
		*retry_after_s = acct_wait_s(t.window_end, now);
		return PV_ELIMIT;
	}
	rc = store_throttle_hit(s, ukey, now, window, pol->user_fails + 1LL, window, &t);
	if (rc != PV_OK)
		return rc;
	if (t.locked_until > now) {
		*retry_after_s = acct_wait_s(t.locked_until, now);
		log_kv(LOG_WARN, "administrator login locked after failures", NULL);
		return PV_ELIMIT;
	}
	pthread_once(&acct_dummy_once, acct_make_dummy);
	rc = username && password && strlen(username) < STORE_USERNAME_MAX &&
		     strlen(password) <= ACCT_PASSWORD_MAX
		     ? store_cred_by_username(s, username, &c)
		     : PV_ENOTFOUND;
	/* a store that fails is not a wrong password */
	if (rc != PV_OK && rc != PV_ENOTFOUND)
		return rc;
	found = rc == PV_OK;
	if (!found)
		util_strlcpy(c.pwhash, acct_dummy, sizeof c.pwhash);
	/* the slow part, outside any transaction */
	ok = crypto_pwhash_str_verify(c.pwhash, password ? password : "",
				      password ? strlen(password) : 0) == 0;
	if (ok && found) {
		rc = store_user_get(s, c.user_id, user);
		if (rc != PV_OK && rc != PV_ENOTFOUND) {
			sodium_memzero(c.pwhash, sizeof c.pwhash);
			return rc;
		}
		ok = rc == PV_OK && strcmp(user->status, STORE_USER_ACTIVE) == 0;
	} else {
		ok = 0;
	}
	sodium_memzero(c.pwhash, sizeof c.pwhash);
	if (!ok) {
		log_kv(LOG_INFO, "password login failed", NULL);
		return PV_EDENIED;
	}
	/* a success clears the username's count and gives its attempt back
	 * to the address */
	if ((rc = store_throttle_clear(s, ukey)) != PV_OK ||
	    (rc = store_throttle_undo(s, ikey, now)) != PV_OK)
		return rc;
	return PV_OK;
}

int acct_roles(store *s, const char *user_id, store_role *roles, size_t max,
	       size_t *n)
{
	return store_role_list(s, user_id, roles, max, n);
}

/* The status change, in one transaction. */
struct acct_status_tx {
	const char *org_id, *user_id, *status, *actor_id, *ip;
	int actor_is_spv;
	int64_t now;
	store_user u; /* out */
};

static int acct_status_tx(store *s, void *ctx)
{
	struct acct_status_tx *x = ctx;
	store_user *u = &x->u;
	store_role roles[ACCT_ROLES_MAX];
	size_t nroles = 0;
	int rc;

	if ((rc = store_user_get(s, x->user_id, u)) != PV_OK)
		return rc;
	if (strcmp(u->org_id, x->org_id) != 0)
		return PV_ENOTFOUND; /* another organisation's user: not revealed */
	if (strcmp(u->status, STORE_USER_CLOSED) == 0 || strcmp(u->status, STORE_USER_ERASED) == 0)
		return PV_ECONFLICT; /* closed by its owner: for good */
	if ((rc = store_role_list(s, u->id, roles, ACCT_ROLES_MAX, &nroles)) != PV_OK)
		return rc;
	/* only an SPV administrator changes an administrator's status; SPV
	 * administrators are out of anyone else's sight */
	for (size_t i = 0; i < nroles && !x->actor_is_spv; i++) {
		if (strcmp(roles[i].role, ACCT_ROLE_SPV) == 0)
			return PV_ENOTFOUND;
		if (strcmp(roles[i].role, ACCT_ROLE_MDO) == 0)
			rc = PV_EDENIED;
	}
	if (rc != PV_OK || strcmp(u->status, x->status) == 0)
		return rc;
	if ((rc = store_user_set_status(s, u->id, x->status, x->now)) != PV_OK)
		return rc;
	if (strcmp(x->status, STORE_USER_INACTIVE) == 0 &&
	    (rc = store_session_revoke_user(s, u->id)) != PV_OK)
		return rc;
	rc = audit_record(s, x->actor_id,
			  strcmp(x->status, STORE_USER_ACTIVE) == 0 ? "activate" : "deactivate",
			  u->id, x->ip,
			  json_pack("{s:s, s:s}", "from", u->status, "org_id", x->org_id), x->now);
	if (rc != PV_OK)
		return rc;
	util_strlcpy(u->status, x->status, sizeof u->status);
	u->updated_at = x->now;
	return PV_OK;
}

/* The SPV administrator's change of an MDO administrator: the rules of
 * acct_set_status with the administrator's own organisation, after
 * checking, in the same transaction, that they hold mdo_admin. */
static int acct_admin_status_tx(store *s, void *ctx)
{
	struct acct_status_tx *x = ctx;
	store_role roles[ACCT_ROLES_MAX];
	size_t nroles = 0, i;
	int rc;

	if ((rc = store_user_get(s, x->user_id, &x->u)) != PV_OK ||
	    (rc = store_role_list(s, x->user_id, roles, ACCT_ROLES_MAX, &nroles)) != PV_OK)
		return rc;
	for (i = 0; i < nroles && strcmp(roles[i].role, ACCT_ROLE_MDO) != 0; i++)
		;
	if (i == nroles)
		return PV_ENOTFOUND; /* not an MDO administrator */
	x->org_id = x->u.org_id;
	return acct_status_tx(s, x);
}

int acct_set_admin_status(store *s, const char *user_id, const char *status,
			  const char *actor_id, const char *ip, int64_t now, store_user *out)
{
	struct acct_status_tx x;
	int rc;

	memset(&x, 0, sizeof x);
	x.user_id = user_id;
	x.status = status;
	x.actor_id = actor_id;
	x.ip = ip;
	x.actor_is_spv = 1;
	x.now = now;
	if (strcmp(status, STORE_USER_ACTIVE) != 0 && strcmp(status, STORE_USER_INACTIVE) != 0)
		return PV_EINVAL;
	if (actor_id && strcmp(actor_id, user_id) == 0)
		return PV_EDENIED;
	rc = store_tx(s, acct_admin_status_tx, &x);
	if (rc == PV_OK)
		*out = x.u;
	return rc;
}

int acct_set_status(store *s, const char *org_id, const char *user_id,
		    const char *status, const char *actor_id, int actor_is_spv,
		    const char *ip, int64_t now, store_user *out)
{
	struct acct_status_tx x;
	int rc;

	memset(&x, 0, sizeof x);
	x.org_id = org_id;
	x.user_id = user_id;
	x.status = status;
	x.actor_id = actor_id;
	x.ip = ip;
	x.actor_is_spv = actor_is_spv;
	x.now = now;
	if (strcmp(status, STORE_USER_ACTIVE) != 0 && strcmp(status, STORE_USER_INACTIVE) != 0)
		return PV_EINVAL;
	if (actor_id && strcmp(actor_id, user_id) == 0)
		return PV_EDENIED;
	rc = store_tx(s, acct_status_tx, &x);
	if (rc == PV_OK)
		*out = x.u;
	return rc;
}
