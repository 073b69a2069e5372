/* Internal to src/sso/: the parsers of what the provider answers
 * (discovery, JWKS, token, user details, the id_token's header and claims)
 * and of the callback's values. They are pure: no network, no store, no
 * lock, so that sso.c calls them on what it fetched and the fuzz harness
 * tests/fuzz/fuzz_sso.c calls the same code on anything. `why` gets a
 * reason for the log, never a token, a code or a secret. */
#ifndef PV_SSO_INT_H
#define PV_SSO_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sso/sso.h"

#define SSO_URL_MAX 1024
#define SSO_LEEWAY_S 60      /* clock skew allowed on iat */
#define SSO_CLAIMS_MAX 12288 /* largest id_token payload read, decoded */

/* The endpoints of one login, copied out of the configuration or the
 * cached discovery document so that no lock is held while they are used. */
typedef struct sso_eps {
	char issuer[SSO_URL_MAX];
	char authorize[SSO_URL_MAX];
	char token[SSO_URL_MAX];
	char userinfo[SSO_URL_MAX];
	char revoke[SSO_URL_MAX];
	char jwks[SSO_URL_MAX];
} sso_eps;

void sso__why(char why[SSO_WHY_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* 1 for an http(s) URL shorter than SSO_URL_MAX. */
int sso__http_url(const char *u);
/* 1 when v is 1..max-1 bytes of printable ASCII without spaces (tokens,
 * codes, states, addresses as the provider sends them). */
int sso__token_chars(const char *v, size_t max);
/* n bytes as a JSON object (new reference), or NULL. */
json_t *sso__json(const char *p, size_t n);

/* The discovery document of issuer, as answered (HTTP status, body): a
 * JSON object naming the same issuer, with authorization, token and JWKS
 * endpoints. PV_OK with *out (new reference), else PV_EIO and why. */
int sso__parse_discovery(const char *issuer, long status, const char *body, size_t n,
			 json_t **out, char why[SSO_WHY_MAX]);
/* The endpoints of a checked discovery document into e (issuer copied):
 * every endpoint present must be an http(s) URL. PV_OK or PV_EIO. */
int sso__endpoints(json_t *disc, const char *issuer, sso_eps *e, char why[SSO_WHY_MAX]);
/* A JWKS as answered: a JSON object whose "keys" rhonabwy imports, at
 * least one. PV_OK with *out (new reference), else PV_EIO. */
int sso__parse_jwks(long status, const char *body, size_t n, json_t **out,
		    char why[SSO_WHY_MAX]);
/* The token endpoint's answer. PV_OK with *tok (new reference) and
 * *access (and *idt in oidc mode) pointing into it; PV_EDENIED when the
 * provider refused the code (4xx with a JSON error) or sent no id_token
 * in oidc mode; PV_EIO for a server error or garbage. *tok is NULL on
 * failure. */
int sso__parse_token(long status, const char *body, size_t n, int oidc, json_t **tok,
		     const char **access, const char **idt, char why[SSO_WHY_MAX]);
/* The user details (userinfo) answer: a JSON object (new reference) or
 * NULL with why. */
json_t *sso__parse_userinfo(long status, const char *body, size_t n, char why[SSO_WHY_MAX]);
/* The verified e-mail (and subject) of a claim set: the claim
 * email_claim, an address, not marked unverified. PV_OK or PV_EDENIED. */
int sso__take_email(const char *email_claim, json_t *claims, sso_identity *id,
		    char why[SSO_WHY_MAX]);
/* The JSON header of a compact JWS (new reference), or NULL. */
json_t *sso__jwt_header(const char *jwt);
/* An id_token header we accept: an asymmetric algorithm, no keys,
 * compression, encryption or critical extensions of its own. PV_OK or
 * PV_EDENIED. */
int sso__check_header(json_t *hdr, char why[SSO_WHY_MAX]);
/* The key of jwks (the provider's set) to verify a signature by alg with,
 * borrowed: the first that kid (the header's, NULL when absent) names and
 * that fits (published for signatures, for alg, of alg's type and curve;
 * keys of different types may share an id, RFC 7517 4.5), or the set's
 * only key when kid is NULL; NULL when none fits, kid is not a string or
 * alg is NULL (alg is one sso__check_header accepts). */
json_t *sso__key_for(json_t *jwks, json_t *kid, const char *alg);
/* The claims (new reference) of an id_token whose header passes
 * sso__check_header and whose signature verifies with the key of jwks
 * (the provider's set) its header's kid names (the set's only key when it
 * names none), that key published for signatures, this algorithm and of
 * its type; or NULL with why. rhonabwy checks the signature and reads
 * nothing else of the token (no key, no URL); the claims are read as
 * signed, for sso__check_claims. */
json_t *sso__signed_claims(json_t *jwks, const char *idt, char why[SSO_WHY_MAX]);
/* The claims of an id_token whose signature verified: audience (and azp
 * when several), issuer, nonce, expiry, issue time (required, at most
 * SSO_LEEWAY_S ahead), subject (a non-empty string). PV_OK or
 * PV_EDENIED. */
int sso__check_claims(json_t *claims, const char *client_id, const char *issuer,
		      const char *nonce, int64_t now_ms, char why[SSO_WHY_MAX]);
/* The id_token's hash claim `name` (at_hash, c_hash) against value (the
 * access token, the code), by the header's algorithm alg (OpenID Connect
 * Core 3.1.3.6, 3.3.2.11): an absent claim passes, a present one must be
 * the left half of the value's digest, base64url. PV_OK or PV_EDENIED. */
int sso__check_hash(json_t *claims, const char *name, const char *alg, const char *value,
		    char why[SSO_WHY_MAX]);

#endif
