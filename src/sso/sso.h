/* sso: the relying party of single sign-on (Parichay, or any OpenID
 * provider), built on iddawc. Two modes, chosen by PRAVESH_SSO_MODE:
 *
 * - oidc: the provider's discovery document (issuer URL) gives the
 *   endpoints and the keys (JWKS); the id_token from the token endpoint is
 *   verified (signature through the JWKS, issuer, audience, expiry, nonce)
 *   and the e-mail comes from its claims or, when absent, from the userinfo
 *   endpoint (whose `sub` must match).
 * - oauth2: explicit authorize, token and user-details endpoints (Parichay:
 *   OAuth2 with PKCE, not OpenID Connect); the e-mail comes from the user
 *   details, under a configurable claim name (Parichay: loginId).
 *
 * Every login attempt gets its own state, nonce and PKCE S256 verifier,
 * kept server-side in the store (single-use token of kind "sso", keyed by a
 * keyed hash of the state) for at most 10 minutes. Discovery and JWKS are
 * cached in memory; the JWKS is fetched again when an id_token names a key
 * id it does not hold. Calls to the provider block (the caller runs in a
 * worker thread) and are bounded by PRAVESH_SSO_TIMEOUT.
 *
 * Nothing here knows HTTP serving or SQL. Reasons given in `why` are for
 * the log: they never hold a token, a code, a state or a secret. */
#ifndef PV_SSO_H
#define PV_SSO_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "core/keys.h"
#include "store/store.h"

#define SSO_STATE_MAX 128 /* longer `state` values are refused */
#define SSO_CODE_MAX 2048 /* longer `code` values are refused */
#define SSO_WHY_MAX 256
#define SSO_MAX_AGE_S 600 /* the longest a login attempt may live */

typedef struct sso sso;

/* What a finished login proved: the e-mail the provider vouches for. */
typedef struct sso_identity {
	char email[STORE_EMAIL_MAX];
	char subject[256]; /* the provider's id for the user ("" if none) */
} sso_identity;

/* Builds the relying party from cfg (the PRAVESH_SSO_* settings). *out is
 * NULL when SSO is off (mode unset or empty). Returns PV_OK, or PV_EINVAL
 * with the reason in err for an incomplete or contradictory configuration,
 * or PV_ENOMEM. Contacts nobody: discovery is fetched at the first login.
 * st and k must outlive the result, which sso_free() frees. */
int sso_open(const pv_config *cfg, store *st, const keys *k, sso **out,
	     char *err, size_t errlen);
void sso_free(sso *s);

/* The provider's display name ("Parichay"); "" for NULL. */
const char *sso_name(const sso *s);

/* Starts a login: creates and stores the state, nonce and PKCE verifier
 * and writes to *url the provider's authorization URL (malloc'd, caller
 * frees) and to state_out the state (for binding it to the browser).
 * redirect_uri is this server's callback URL. Returns PV_OK, or PV_EIO
 * when the provider's discovery cannot be had, or another error; why says
 * what went wrong. */
int sso_begin(sso *s, const char *redirect_uri, int64_t now_ms, char **url,
	      char state_out[SSO_STATE_MAX], char why[SSO_WHY_MAX]);

/* Finishes a login from the callback's `code` and `state` (either may be
 * NULL). provider_error non-zero: the provider redirected with an error
 * (the state is still spent). Consumes the login attempt (a state works
 * once), exchanges the code (with the PKCE verifier), verifies what the
 * provider answered and fills *id. Returns PV_OK; PV_ENOTFOUND for an
 * unknown or spent state; PV_EEXPIRED for an attempt older than its
 * maximum age; PV_EDENIED when the provider refused or its answer did not
 * verify; PV_EIO when it could not be reached or answered garbage;
 * PV_EINVAL for malformed input. why says which. */
int sso_finish(sso *s, const char *redirect_uri, const char *code,
	       const char *state, int provider_error, int64_t now_ms,
	       sso_identity *id, char why[SSO_WHY_MAX]);

#endif
