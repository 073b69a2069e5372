#include "core/accounts.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/audit.h"
#include "core/validate.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define ACCT_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define ACCT_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

void acct_policy_default(acct_policy *p)
{
	p->user_fails = 10;
	p->ip_fails = 50;
	p->window_s = 900;
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

	return s->ops->cred_by_username(s, username, &c) == PV_OK;
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
	int rc, conflict = 0, in_tx = 0;

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
	if (n < ACCT_PASSWORD_MIN || n > ACCT_PASSWORD_MAX || !val_utf8(a->password, n) ||
	    acct_chars(a->password) < ACCT_PASSWORD_MIN)
		ferr_add(fe, "password", "weak_password",
			 "Passwords have at least 12 characters");
	if (!a->org_id || !*a->org_id || s->ops->org_get(s, a->org_id, &org) != PV_OK)
		ferr_add(fe, "org_id", "unknown_org", MSG_UNKNOWN_ORG);
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
	if ((rc = s->ops->tx_begin(s)) != PV_OK)
		goto out;
	in_tx = 1;
	rc = s->ops->user_insert(s, &u, &conflict);
	if (rc == PV_ECONFLICT) {
		if (conflict & STORE_CONFLICT_EMAIL)
			ferr_add(fe, "email", "email_taken", MSG_EMAIL_TAKEN);
		if (conflict & STORE_CONFLICT_MOBILE)
			ferr_add(fe, "mobile", "mobile_taken", MSG_MOBILE_TAKEN);
		goto out;
	}
	if (rc != PV_OK || (rc = s->ops->role_add(s, u.id, &r)) != PV_OK)
		goto out;
	rc = s->ops->cred_insert(s, &c);
	if (rc == PV_ECONFLICT) {
		ferr_add(fe, "username", "username_taken", "This username is taken");
		goto out;
	}
	if (rc != PV_OK)
		goto out;
	if (a->actor_id &&
	    (rc = audit_record(s, a->actor_id, "create_admin", u.id, a->ip,
			       json_pack("{s:s, s:s, s:s}", "role", role, "username",
					 c.username, "org_id", u.org_id),
			       now)) != PV_OK)
		goto out;
	if ((rc = s->ops->tx_commit(s)) != PV_OK)
		goto out;
	in_tx = 0;
	if (out)
		*out = u;
out:
	if (in_tx)
		s->ops->tx_rollback(s);
	sodium_memzero(c.pwhash, sizeof c.pwhash);
	return rc;
}

/* Reads a throttle; returns the seconds left of its lock (0: not locked). */
static int64_t acct_locked(store *s, const char *key, int64_t now)
{
	store_throttle t;

	if (s->ops->throttle_get(s, key, &t) != PV_OK || t.locked_until <= now)
		return 0;
	return (t.locked_until - now + 999) / 1000;
}

static void acct_count_fail(store *s, const char *key, int limit, int window_s,
			    int64_t now)
{
	store_throttle t;

	if (s->ops->throttle_get(s, key, &t) != PV_OK ||
	    now - t.window_start >= window_s * 1000LL) {
		memset(&t, 0, sizeof t);
		util_strlcpy(t.key, key, sizeof t.key);
		t.window_start = now;
	}
	t.count++;
	if (t.count >= limit)
		t.locked_until = now + window_s * 1000LL;
	s->ops->throttle_put(s, &t);
}

/* Reserves an attempt for the username, in one transaction with the lock
 * checks: concurrent guesses cannot all slip past a count they have not
 * yet added to. Returns PV_OK, PV_ELIMIT (*wait set) or a store error. */
static int acct_reserve(store *s, const acct_policy *pol, const char *ukey,
			const char *ikey, int64_t now, int64_t *wait)
{
	int rc = s->ops->tx_begin(s);

	if (rc != PV_OK)
		return rc;
	*wait = acct_locked(s, ukey, now);
	if (!*wait)
		*wait = acct_locked(s, ikey, now);
	if (!*wait)
		acct_count_fail(s, ukey, pol->user_fails, pol->window_s, now);
	rc = s->ops->tx_commit(s);
	if (rc != PV_OK) {
		s->ops->tx_rollback(s);
		return rc;
	}
	return *wait ? PV_ELIMIT : PV_OK;
}

int acct_password_login(store *s, const acct_policy *pol,
			const char *username, const char *password,
			const char *ip, int64_t now, store_user *user,
			int64_t *retry_after_s)
{
	char ukey[STORE_USERNAME_MAX + 16], ikey[STORE_IP_MAX + 16];
	store_cred c;
	int found, ok, rc;

	*retry_after_s = 0;
	snprintf(ukey, sizeof ukey, "pw-user:%.64s", username ? username : "");
	util_lower_ascii(ukey);
	snprintf(ikey, sizeof ikey, "pw-ip:%s", ip);
	if ((rc = acct_reserve(s, pol, ukey, ikey, now, retry_after_s)) != PV_OK)
		return rc;
	pthread_once(&acct_dummy_once, acct_make_dummy);
	found = username && password && strlen(username) < STORE_USERNAME_MAX &&
		strlen(password) <= ACCT_PASSWORD_MAX &&
		s->ops->cred_by_username(s, username, &c) == PV_OK;
	if (!found)
		util_strlcpy(c.pwhash, acct_dummy, sizeof c.pwhash);
	/* the slow part, outside any transaction */
	ok = crypto_pwhash_str_verify(c.pwhash, password ? password : "",
				      password ? strlen(password) : 0) == 0;
	ok = ok && found && s->ops->user_get(s, c.user_id, user) == PV_OK &&
	     strcmp(user->status, STORE_USER_ACTIVE) == 0;
	if (!ok) {
		if (s->ops->tx_begin(s) == PV_OK) {
			acct_count_fail(s, ikey, pol->ip_fails, pol->window_s, now);
			if (s->ops->tx_commit(s) != PV_OK)
				s->ops->tx_rollback(s);
		}
		log_kv(LOG_INFO, "password login failed", NULL);
		return PV_EDENIED;
	}
	s->ops->throttle_del(s, ukey); /* a success clears the username's count */
	return PV_OK;
}

int acct_roles(store *s, const char *user_id, store_role *roles, size_t max,
	       size_t *n)
{
	return s->ops->role_list(s, user_id, roles, max, n);
}

int acct_set_status(store *s, const char *org_id, const char *user_id,
		    const char *status, const char *actor_id, int actor_is_spv,
		    const char *ip, int64_t now, store_user *out)
{
	store_user u;
	store_role roles[ACCT_ROLES_MAX];
	size_t nroles = 0;
	int rc, in_tx = 0;

	if (strcmp(status, STORE_USER_ACTIVE) != 0 && strcmp(status, STORE_USER_INACTIVE) != 0)
		return PV_EINVAL;
	if (actor_id && strcmp(actor_id, user_id) == 0)
		return PV_EDENIED;
	if ((rc = s->ops->tx_begin(s)) != PV_OK)
		return rc;
	in_tx = 1;
	if ((rc = s->ops->user_get(s, user_id, &u)) != PV_OK)
		goto out;
	if (strcmp(u.org_id, org_id) != 0) {
		rc = PV_ENOTFOUND; /* another organisation's user: not revealed */
		goto out;
	}
	if (!actor_is_spv) {
		if ((rc = s->ops->role_list(s, u.id, roles, ACCT_ROLES_MAX, &nroles)) != PV_OK)
			goto out;
		for (size_t i = 0; i < nroles; i++)
			if (strcmp(roles[i].role, ACCT_ROLE_SPV) == 0)
				rc = PV_ENOTFOUND;
		if (rc != PV_OK)
			goto out;
	}
	if (strcmp(u.status, status) != 0) {
		if ((rc = s->ops->user_set_status(s, u.id, status, now)) != PV_OK)
			goto out;
		if (strcmp(status, STORE_USER_INACTIVE) == 0 &&
		    (rc = s->ops->session_revoke_user(s, u.id)) != PV_OK)
			goto out;
		if ((rc = audit_record(s, actor_id,
				       strcmp(status, STORE_USER_ACTIVE) == 0 ? "activate" : "deactivate",
				       u.id, ip, json_pack("{s:s, s:s}", "from", u.status, "org_id", org_id),
				       now)) != PV_OK)
			goto out;
		util_strlcpy(u.status, status, sizeof u.status);
		u.updated_at = now;
	}
	if ((rc = s->ops->tx_commit(s)) != PV_OK)
		goto out;
	in_tx = 0;
	*out = u;
out:
	if (in_tx)
		s->ops->tx_rollback(s);
	return rc;
}
