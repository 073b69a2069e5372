/* sso_parse: the pure parsers of the provider's answers (see sso_int.h).
 * Everything the provider sends is untrusted: sizes are bounded by the
 * caller's buffers, strings are checked before they are copied, and only
 * short words of an error answer ever reach a log line. */
#include "sso/sso_int.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <rhonabwy.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

void sso__why(char why[SSO_WHY_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, SSO_WHY_MAX, fmt, ap);
	va_end(ap);
}

int sso__http_url(const char *u)
{
	return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
	       strlen(u) < SSO_URL_MAX;
}

int sso__token_chars(const char *v, size_t max)
{
	size_t n;

	if (!v)
		return 0;
	n = strlen(v);
	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return 0;
	}
	return 1;
}

json_t *sso__json(const char *p, size_t n)
{
	json_t *j;

	if (!p || !n)
		return NULL;
	j = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int sso__parse_discovery(const char *issuer, long status, const char *body, size_t n,
			 json_t **out, char why[SSO_WHY_MAX])
{
	json_t *d = NULL;
	const char *iss;
	int rc = PV_EIO;

	*out = NULL;
	if (status != 200) {
		sso__why(why, "the provider's discovery document answered HTTP %ld", status);
		goto out;
	}
	if (!(d = sso__json(body, n))) {
		sso__why(why, "the provider's discovery document is not a JSON object");
		goto out;
	}
	iss = json_string_value(json_object_get(d, "issuer"));
	if (!iss || strcmp(iss, issuer) != 0) {
		sso__why(why, "the discovery document names another issuer than PRAVESH_SSO_ISSUER");
		goto out;
	}
	if (!json_is_string(json_object_get(d, "authorization_endpoint")) ||
	    !json_is_string(json_object_get(d, "token_endpoint")) ||
	    !json_is_string(json_object_get(d, "jwks_uri"))) {
		sso__why(why, "the discovery document lacks authorization_endpoint, token_endpoint or jwks_uri");
		goto out;
	}
	*out = d;
	d = NULL;
	rc = PV_OK;
out:
	json_decref(d);
	return rc;
}

static int sso_copy_url(json_t *obj, const char *key, char *out, int required)
{
	const char *v = json_string_value(json_object_get(obj, key));

	out[0] = '\0';
	if (!v)
		return required ? PV_EFORMAT : PV_OK;
	if (!sso__http_url(v))
		return PV_EFORMAT;
	return util_strlcpy(out, v, SSO_URL_MAX);
}

int sso__endpoints(json_t *d, const char *issuer, sso_eps *e, char why[SSO_WHY_MAX])
{
	memset(e, 0, sizeof *e);
	util_strlcpy(e->issuer, issuer, SSO_URL_MAX);
	if (sso_copy_url(d, "authorization_endpoint", e->authorize, 1) != PV_OK ||
	    sso_copy_url(d, "token_endpoint", e->token, 1) != PV_OK ||
	    sso_copy_url(d, "jwks_uri", e->jwks, 1) != PV_OK ||
	    sso_copy_url(d, "userinfo_endpoint", e->userinfo, 0) != PV_OK ||
	    sso_copy_url(d, "revocation_endpoint", e->revoke, 0) != PV_OK) {
		sso__why(why, "the discovery document holds an endpoint that is not an http(s) URL");
		return PV_EIO;
	}
	return PV_OK;
}

int sso__parse_jwks(long status, const char *body, size_t n, json_t **out,
		    char why[SSO_WHY_MAX])
{
	json_t *j = NULL;
	jwks_t *probe = NULL;
	int rc = PV_EIO;

	*out = NULL;
	if (status != 200) {
		sso__why(why, "the provider's JWKS answered HTTP %ld", status);
		goto out;
	}
	j = sso__json(body, n);
	if (!j || !json_is_array(json_object_get(j, "keys")) || r_jwks_init(&probe) != RHN_OK ||
	    r_jwks_import_from_json_t(probe, j) != RHN_OK || r_jwks_size(probe) == 0) {
		sso__why(why, "the provider's JWKS is not a usable key set");
		goto out;
	}
	*out = j;
	j = NULL;
	rc = PV_OK;
out:
	r_jwks_free(probe);
	json_decref(j);
	return rc;
}

int sso__parse_token(long status, const char *body, size_t n, int oidc, json_t **tok,
		     const char **access, const char **idt, char why[SSO_WHY_MAX])
{
	json_t *t = sso__json(body, n);
	int rc;

	*tok = NULL;
	*access = NULL;
	*idt = NULL;
	if (status != 200) {
		const char *err = json_string_value(json_object_get(t, "error"));
		char safe[48] = "";

		/* the OAuth error code is a short word; copy only that */
		if (err && sso__token_chars(err, sizeof safe))
			util_strlcpy(safe, err, sizeof safe);
		sso__why(why, "the token endpoint refused the code (HTTP %ld%s%s)", status,
			 safe[0] ? ", " : "", safe);
		rc = status >= 500 || !t ? PV_EIO : PV_EDENIED;
		goto fail;
	}
	*access = json_string_value(json_object_get(t, "access_token"));
	if (!t || !*access || !sso__token_chars(*access, 4001)) {
		sso__why(why, "the token endpoint answered garbage (no access_token in a JSON object)");
		rc = PV_EIO;
		goto fail;
	}
	if (oidc) {
		*idt = json_string_value(json_object_get(t, "id_token"));
		if (!*idt || !sso__token_chars(*idt, 16384)) {
			sso__why(why, "the token endpoint sent no id_token");
			rc = PV_EDENIED;
			goto fail;
		}
	}
	*tok = t;
	return PV_OK;
fail:
	*access = NULL;
	*idt = NULL;
	json_decref(t);
	return rc;
}

json_t *sso__parse_userinfo(long status, const char *body, size_t n, char why[SSO_WHY_MAX])
{
	json_t *j;

	if (status != 200) {
		sso__why(why, "the user details endpoint answered HTTP %ld", status);
		return NULL;
	}
	if (!(j = sso__json(body, n)))
		sso__why(why, "the user details are not a JSON object");
	return j;
}

int sso__take_email(const char *email_claim, json_t *claims, sso_identity *id,
		    char why[SSO_WHY_MAX])
{
	json_t *ev = json_object_get(claims, "email_verified");
	const char *em = json_string_value(json_object_get(claims, email_claim));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	size_t n;

	if (!em) {
		sso__why(why, "the provider's answer has no '%.64s' claim", email_claim);
		return PV_EDENIED;
	}
	n = strlen(em);
	if (n < 3 || n >= sizeof id->email || !strchr(em, '@') ||
	    !sso__token_chars(em, sizeof id->email)) {
		sso__why(why, "the '%.64s' claim is not an e-mail address", email_claim);
		return PV_EDENIED;
	}
	/* an OpenID provider may vouch for the address or not; only a
	 * verified one may open an account's door */
	if (json_is_false(ev) || (json_is_string(ev) && strcmp(json_string_value(ev), "false") == 0)) {
		sso__why(why, "the provider has not verified the e-mail address");
		return PV_EDENIED;
	}
	util_strlcpy(id->email, em, sizeof id->email);
	if (sub)
		util_strlcpy(id->subject, sub, sizeof id->subject);
	return PV_OK;
}

/* Part `part` (0 the header, 1 the payload) of a compact JWS, decoded and
 * read as JSON with duplicate names refused: a new reference, or NULL when
 * it is missing, longer than max decoded bytes, not base64url or not
 * JSON. */
static json_t *sso_jwt_part(const char *jwt, int part, size_t max)
{
	const char *p = jwt, *dot;
	unsigned char *raw = NULL;
	json_t *j = NULL;
	size_t enc, n;

	for (int i = 0; i < part; i++) {
		if (!(p = strchr(p, '.')))
			goto out;
		p++;
	}
	if (!(dot = strchr(p, '.')) || (enc = (size_t)(dot - p)) > max / 3 * 4 + 4 ||
	    !(raw = malloc(enc / 4 * 3 + 3)))
		goto out;
	/* libsodium takes canonical unpadded base64url only: the bytes read
	 * are the segment as signed, with no second spelling */
	if (sodium_base642bin(raw, enc / 4 * 3 + 3, p, enc, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || n > max)
		goto out;
	j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
out:
	free(raw);
	return j;
}

json_t *sso__jwt_header(const char *jwt)
{
	return sso_jwt_part(jwt, 0, 1024);
}

/* The digest OpenID Connect hashes at_hash and c_hash with for a JWS
 * algorithm: the one of its signature, SHA-512 for EdDSA (Ed25519, the
 * curve of the EdDSA keys providers publish). GNUTLS_DIG_UNKNOWN for any
 * other: these are the algorithms an id_token may be signed with (public
 * keys only: no "none", no HS256 keyed with the client secret). */
static gnutls_digest_algorithm_t sso_hash_of(const char *alg)
{
	static const struct {
		const char *alg;
		gnutls_digest_algorithm_t d;
	} map[] = {
		{"RS256", GNUTLS_DIG_SHA256}, {"PS256", GNUTLS_DIG_SHA256}, {"ES256", GNUTLS_DIG_SHA256},
		{"RS384", GNUTLS_DIG_SHA384}, {"PS384", GNUTLS_DIG_SHA384}, {"ES384", GNUTLS_DIG_SHA384},
		{"RS512", GNUTLS_DIG_SHA512}, {"PS512", GNUTLS_DIG_SHA512}, {"ES512", GNUTLS_DIG_SHA512},
		{"EdDSA", GNUTLS_DIG_SHA512},
	};

	for (size_t i = 0; alg && i < sizeof map / sizeof map[0]; i++)
		if (strcmp(alg, map[i].alg) == 0)
			return map[i].d;
	return GNUTLS_DIG_UNKNOWN;
}

static int sso_alg_ok(const char *alg)
{
	return sso_hash_of(alg) != GNUTLS_DIG_UNKNOWN;
}

int sso__check_header(json_t *hdr, char why[SSO_WHY_MAX])
{
	if (!json_is_object(hdr)) {
		sso__why(why, "the id_token is not a JWS");
		return PV_EDENIED;
	}
	if (!sso_alg_ok(json_string_value(json_object_get(hdr, "alg")))) {
		sso__why(why, "the id_token is signed with a refused algorithm");
		return PV_EDENIED;
	}
	/* keys come from the provider's JWKS only, never from the token */
	if (json_object_get(hdr, "jwk") || json_object_get(hdr, "jku") ||
	    json_object_get(hdr, "x5u") || json_object_get(hdr, "x5c") || json_object_get(hdr, "crit") ||
	    json_object_get(hdr, "zip") || json_object_get(hdr, "enc")) {
		sso__why(why, "the id_token header carries keys, compression, encryption or critical extensions");
		return PV_EDENIED;
	}
	return PV_OK;
}

int sso__check_claims(json_t *claims, const char *client_id, const char *issuer,
		      const char *nonce, int64_t now_ms, char why[SSO_WHY_MAX])
{
	json_t *aud = json_object_get(claims, "aud");
	const char *v;
	json_int_t exp, iat;
	int aud_ok = 0;
	size_t i;

	if (json_is_string(aud))
		aud_ok = strcmp(json_string_value(aud), client_id) == 0;
	else if (json_is_array(aud) && json_array_size(aud) > 0) {
		json_t *a1;

		json_array_foreach(aud, i, a1)
			if (json_is_string(a1) && strcmp(json_string_value(a1), client_id) == 0)
				aud_ok = 1;
		v = json_string_value(json_object_get(claims, "azp"));
		if (json_array_size(aud) > 1 && (!v || strcmp(v, client_id) != 0))
			aud_ok = 0;
	}
	if (!aud_ok) {
		sso__why(why, "the id_token is meant for another client (aud)");
		return PV_EDENIED;
	}
	v = json_string_value(json_object_get(claims, "iss"));
	if (!v || strcmp(v, issuer) != 0) {
		sso__why(why, "the id_token comes from another issuer");
		return PV_EDENIED;
	}
	v = json_string_value(json_object_get(claims, "nonce"));
	if (!v || strlen(v) != strlen(nonce) || sodium_memcmp(v, nonce, strlen(nonce)) != 0) {
		sso__why(why, "the id_token carries another nonce");
		return PV_EDENIED;
	}
	/* compared in seconds: a provider's exp or iat times 1000 could
	 * overflow (exp * 1000 <= now_ms is exp <= now_ms / 1000 for whole
	 * seconds, and iat * 1000 > t is iat > t / 1000) */
	exp = json_integer_value(json_object_get(claims, "exp"));
	iat = json_integer_value(json_object_get(claims, "iat"));
	if (!json_is_integer(json_object_get(claims, "exp")) || exp <= now_ms / 1000) {
		sso__why(why, "the id_token has expired or has no expiry");
		return PV_EDENIED;
	}
	/* required (OpenID Connect Core 2); up to SSO_LEEWAY_S ahead of our
	 * clock, for a provider whose clock runs a little ahead */
	if (!json_is_integer(json_object_get(claims, "iat")) || iat <= 0 ||
	    iat > (now_ms + SSO_LEEWAY_S * 1000) / 1000) {
		sso__why(why, "the id_token has no issue time or is not yet valid (iat)");
		return PV_EDENIED;
	}
	if (json_string_length(json_object_get(claims, "sub")) == 0) {
		sso__why(why, "the id_token has no subject");
		return PV_EDENIED;
	}
	return PV_OK;
}

int sso__check_hash(json_t *claims, const char *name, const char *alg, const char *value,
		    char why[SSO_WHY_MAX])
{
	json_t *h = json_object_get(claims, name);
	gnutls_digest_algorithm_t d = sso_hash_of(alg);
	unsigned char dig[64];
	char enc[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	const char *want;
	size_t half;

	if (!h)
		return PV_OK;
	want = json_string_value(h);
	if (!want || !value || d == GNUTLS_DIG_UNKNOWN) {
		sso__why(why, "the id_token's %s cannot be checked", name);
		return PV_EDENIED;
	}
	half = gnutls_hash_get_len(d) / 2;
	if (half == 0 || half > 32 || gnutls_hash_fast(d, value, strlen(value), dig) != 0) {
		sso__why(why, "the id_token's %s cannot be checked", name);
		return PV_EDENIED;
	}
	sodium_bin2base64(enc, sizeof enc, dig, half, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (strlen(want) != strlen(enc) || sodium_memcmp(want, enc, strlen(enc)) != 0) {
		sso__why(why, "the id_token's %s does not match", name);
		return PV_EDENIED;
	}
	return PV_OK;
}

/* 1 when the published key kj may verify a signature by alg: a key for
 * signatures (use absent or "sig") and for alg (alg absent or the same,
 * RFC 8725 3.1), of alg's type and curve (Ed25519 for EdDSA, the one
 * SHA-512 hashes are right for). */
static int sso_key_fits(json_t *kj, const char *alg)
{
	static const struct {
		const char *alg, *kty, *crv;
	} types[] = {
		{"RS256", "RSA", NULL},	   {"RS384", "RSA", NULL},     {"RS512", "RSA", NULL},
		{"PS256", "RSA", NULL},	   {"PS384", "RSA", NULL},     {"PS512", "RSA", NULL},
		{"ES256", "EC", "P-256"},  {"ES384", "EC", "P-384"},   {"ES512", "EC", "P-521"},
		{"EdDSA", "OKP", "Ed25519"},
	};
	const char *use = json_string_value(json_object_get(kj, "use"));
	const char *kalg = json_string_value(json_object_get(kj, "alg"));
	const char *kty = json_string_value(json_object_get(kj, "kty"));
	const char *crv = json_string_value(json_object_get(kj, "crv"));

	if ((json_object_get(kj, "use") && (!use || strcmp(use, "sig") != 0)) ||
	    (json_object_get(kj, "alg") && (!kalg || strcmp(kalg, alg) != 0)) || !kty)
		return 0;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(alg, types[i].alg) == 0)
			return strcmp(kty, types[i].kty) == 0 &&
			       (!types[i].crv || (crv && strcmp(crv, types[i].crv) == 0));
	return 0;
}

json_t *sso__key_for(json_t *jwks, json_t *kid, const char *alg)
{
	json_t *ks = json_object_get(jwks, "keys"), *k;
	size_t i;

	if (!alg)
		return NULL;
	if (!kid) {
		k = json_array_size(ks) == 1 ? json_array_get(ks, 0) : NULL;
		return k && sso_key_fits(k, alg) ? k : NULL;
	}
	json_array_foreach(ks, i, k) {
		const char *v = json_string_value(json_object_get(k, "kid"));

		if (v && json_is_string(kid) && strcmp(v, json_string_value(kid)) == 0 &&
		    sso_key_fits(k, alg))
			return k;
	}
	return NULL;
}

json_t *sso__signed_claims(json_t *jwks, const char *idt, char why[SSO_WHY_MAX])
{
	json_t *hdr = sso__jwt_header(idt), *kj, *claims = NULL;
	const char *alg;
	jwt_t *jwt = NULL;
	jwk_t *k = NULL;

	if (sso__check_header(hdr, why) != PV_OK)
		goto out;
	alg = json_string_value(json_object_get(hdr, "alg"));
	if (!(kj = sso__key_for(jwks, json_object_get(hdr, "kid"), alg))) {
		sso__why(why, "no key of the provider fits the id_token (kid, use, alg, type)");
		goto out;
	}
	if (r_jwk_init(&k) != RHN_OK || r_jwt_init(&jwt) != RHN_OK) {
		sso__why(why, "cannot prepare the id_token check");
		goto out;
	}
	/* R_PARSE_NONE: no key or URL of the token's header is read or
	 * fetched (rhonabwy 1.1.11 fetches a jku even with IGNORE_REMOTE) */
	if (r_jwk_import_from_json_t(k, kj) != RHN_OK ||
	    r_jwt_advanced_parse(jwt, idt, R_PARSE_NONE, R_FLAG_IGNORE_REMOTE) != RHN_OK ||
	    r_jwt_get_type(jwt) != R_JWT_TYPE_SIGN ||
	    r_jwt_verify_signature(jwt, k, R_FLAG_IGNORE_REMOTE) != RHN_OK) {
		sso__why(why, "the id_token's signature did not verify");
		goto out;
	}
	/* the signed bytes read by our parser (duplicate names refused) */
	claims = sso_jwt_part(idt, 1, SSO_CLAIMS_MAX);
	if (!json_is_object(claims)) {
		sso__why(why, "the id_token's claims are not a JSON object");
		json_decref(claims);
		claims = NULL;
	}
out:
	r_jwk_free(k);
	r_jwt_free(jwt);
	json_decref(hdr);
	return claims;
}
