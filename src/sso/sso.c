/* The single sign-on relying party (see sso.h).
 *
 * iddawc builds the authorization request (state, nonce, PKCE S256 code
 * challenge) and verifies the id_token (JWS signature through the
 * provider's JWKS, issuer, nonce, expiry, at_hash). The calls to the
 * provider (discovery, JWKS, token, user details, revocation) are made here
 * with libcurl, because iddawc 1.1.8 offers no timeout for its own calls
 * and a provider that accepts a connection and never answers would hold a
 * worker thread forever. iddawc 1.1.8 does not compare the id_token's
 * audience with the client id either, so that check is made here, with
 * the algorithm, issuer, expiry and nonce checked a second time. */
#include "sso/sso.h"

#include <curl/curl.h>
#include <iddawc.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define SSO_URL_MAX 1024
#define SSO_BODY_MAX (256 * 1024)    /* largest answer read from the provider */
#define SSO_DISC_TTL_MS (3600 * 1000) /* discovery and JWKS are fetched again after */
#define SSO_JWKS_MIN_GAP_MS 2000      /* unknown key ids refetch at most this often */
#define SSO_LEEWAY_S 60               /* clock skew allowed on iat */
#define SSO_RANDOM_BYTES 32

struct sso {
	int oidc;
	int token_post; /* client_secret_post instead of basic */
	int max_age_s;
	long timeout_ms;
	const char *name, *issuer, *client_id, *client_secret, *scope;
	const char *authorize_url, *token_url, *userinfo_url, *revoke_url;
	const char *email_claim;
	store *st;
	const keys *k;
	int iddawc_up;
	pthread_mutex_t mu; /* guards the caches below */
	json_t *disc;       /* the discovery document */
	int64_t disc_at;
	json_t *jwks; /* the provider's public keys */
	int64_t jwks_at;
};

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

static void sso_why(char why[SSO_WHY_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sso_why(char why[SSO_WHY_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, SSO_WHY_MAX, fmt, ap);
	va_end(ap);
}

static void sso_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

static int sso_set(const char *s)
{
	return s && *s;
}

static int sso_http_url(const char *u)
{
	return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
	       strlen(u) < SSO_URL_MAX;
}

int sso_open(const pv_config *cfg, store *st, const keys *k, sso **out,
	     char *err, size_t errlen)
{
	sso *s;
	int oidc;

	*out = NULL;
	if (!sso_set(cfg->sso_mode))
		return PV_OK;
	if (strcmp(cfg->sso_mode, "oidc") == 0)
		oidc = 1;
	else if (strcmp(cfg->sso_mode, "oauth2") == 0)
		oidc = 0;
	else {
		sso_err(err, errlen, "PRAVESH_SSO_MODE must be oidc or oauth2");
		return PV_EINVAL;
	}
	if (!sso_set(cfg->sso_client_id)) {
		sso_err(err, errlen, "single sign-on needs PRAVESH_SSO_CLIENT_ID");
		return PV_EINVAL;
	}
	if (oidc && !sso_http_url(cfg->sso_issuer)) {
		sso_err(err, errlen, "oidc mode needs PRAVESH_SSO_ISSUER (an http(s) URL)");
		return PV_EINVAL;
	}
	if (!oidc && (!sso_http_url(cfg->sso_authorize_url) || !sso_http_url(cfg->sso_token_url) ||
		      !sso_http_url(cfg->sso_userinfo_url))) {
		sso_err(err, errlen,
			"oauth2 mode needs PRAVESH_SSO_AUTHORIZE_URL, PRAVESH_SSO_TOKEN_URL and PRAVESH_SSO_USERINFO_URL (http(s) URLs)");
		return PV_EINVAL;
	}
	if ((sso_set(cfg->sso_userinfo_url) && !sso_http_url(cfg->sso_userinfo_url)) ||
	    (sso_set(cfg->sso_revoke_url) && !sso_http_url(cfg->sso_revoke_url))) {
		sso_err(err, errlen, "PRAVESH_SSO_USERINFO_URL and PRAVESH_SSO_REVOKE_URL must be http(s) URLs");
		return PV_EINVAL;
	}
	if (cfg->sso_token_auth && strcmp(cfg->sso_token_auth, "basic") != 0 &&
	    strcmp(cfg->sso_token_auth, "post") != 0) {
		sso_err(err, errlen, "PRAVESH_SSO_TOKEN_AUTH must be basic or post");
		return PV_EINVAL;
	}
	if (!sso_set(cfg->sso_scope) || strlen(cfg->sso_scope) > 512 ||
	    !sso_set(cfg->sso_email_claim) || strlen(cfg->sso_email_claim) > 128) {
		sso_err(err, errlen, "PRAVESH_SSO_SCOPE and PRAVESH_SSO_EMAIL_CLAIM must be set (at most 512 and 128 bytes)");
		return PV_EINVAL;
	}
	if (cfg->sso_max_age < 1 || cfg->sso_max_age > SSO_MAX_AGE_S) {
		sso_err(err, errlen, "PRAVESH_SSO_MAX_AGE must be 1 to 600 seconds");
		return PV_EINVAL;
	}
	if (cfg->sso_timeout < 1 || cfg->sso_timeout > 120) {
		sso_err(err, errlen, "PRAVESH_SSO_TIMEOUT must be 1 to 120 seconds");
		return PV_EINVAL;
	}
	if (!(s = calloc(1, sizeof *s))) {
		sso_err(err, errlen, "out of memory");
		return PV_ENOMEM;
	}
	s->oidc = oidc;
	s->token_post = cfg->sso_token_auth && strcmp(cfg->sso_token_auth, "post") == 0;
	s->max_age_s = cfg->sso_max_age;
	s->timeout_ms = (long)cfg->sso_timeout * 1000;
	s->name = sso_set(cfg->sso_name) ? cfg->sso_name : "Parichay";
	s->issuer = cfg->sso_issuer;
	s->client_id = cfg->sso_client_id;
	s->client_secret = sso_set(cfg->sso_client_secret) ? cfg->sso_client_secret : NULL;
	s->scope = cfg->sso_scope;
	s->authorize_url = cfg->sso_authorize_url;
	s->token_url = cfg->sso_token_url;
	s->userinfo_url = sso_set(cfg->sso_userinfo_url) ? cfg->sso_userinfo_url : NULL;
	s->revoke_url = sso_set(cfg->sso_revoke_url) ? cfg->sso_revoke_url : NULL;
	s->email_claim = cfg->sso_email_claim;
	s->st = st;
	s->k = k;
	pthread_mutex_init(&s->mu, NULL);
	/* once, at start-up: neither is thread-safe */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || i_global_init() != I_OK) {
		sso_err(err, errlen, "cannot initialise libcurl or iddawc");
		sso_free(s);
		return PV_EIO;
	}
	s->iddawc_up = 1;
	*out = s;
	return PV_OK;
}

void sso_free(sso *s)
{
	if (!s)
		return;
	json_decref(s->disc);
	json_decref(s->jwks);
	pthread_mutex_destroy(&s->mu);
	if (s->iddawc_up)
		i_global_close();
	free(s);
}

const char *sso_name(const sso *s)
{
	return s ? s->name : "";
}

/* --- calls to the provider --- */

static size_t sso_write(char *data, size_t size, size_t n, void *ctx)
{
	buf *b = ctx;

	if (buf_add(b, data, size * n) != PV_OK)
		return 0; /* too large: curl stops with an error */
	return size * n;
}

/* One HTTP exchange with the provider: GET when form is NULL, else POST of
 * the form (application/x-www-form-urlencoded). auth is a whole header
 * value for Authorization, or NULL. Fills *status and body (bounded).
 * PV_OK when an answer came, whatever its status; PV_EIO otherwise. */
static int sso_call(const sso *s, const char *url, const char *form,
		    const char *auth, long *status, buf *body, char why[SSO_WHY_MAX])
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL, *t;
	char ah[2048];
	CURLcode cc;
	int rc = PV_EIO;

	buf_reset(body);
	*status = 0;
	if (!c) {
		sso_why(why, "cannot start an HTTP client");
		return PV_ENOMEM;
	}
	if (!(t = curl_slist_append(h, "Accept: application/json")))
		goto out;
	h = t;
	if (auth) {
		if (snprintf(ah, sizeof ah, "Authorization: %s", auth) >= (int)sizeof ah)
			goto out;
		t = curl_slist_append(h, ah);
		sodium_memzero(ah, sizeof ah);
		if (!t)
			goto out;
		h = t;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "pravesh");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sso_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (form) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		sso_why(why, "the provider could not be reached (%s)", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	rc = PV_OK;
out:
	if (rc != PV_OK && !why[0])
		sso_why(why, "cannot build the request to the provider");
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

/* Parses an answer as a JSON object (new reference), or NULL. */
static json_t *sso_json(const buf *body)
{
	json_t *j;

	if (!body->p || !body->len)
		return NULL;
	j = json_loadb(body->p, body->len, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Appends key=value, form-encoded, to b. */
static int sso_form_add(buf *b, const char *key, const char *value)
{
	char *e = curl_easy_escape(NULL, value, 0);
	int rc;

	if (!e)
		return PV_ENOMEM;
	rc = buf_addf(b, "%s%s=%s", b->len ? "&" : "", key, e);
	curl_free(e);
	return rc;
}

/* Client authentication at the token and revocation endpoints: fills
 * *auth (the Authorization value, client_secret_basic) or adds the client
 * to the form (client_secret_post, or a public client). */
static int sso_client_auth(const sso *s, buf *form, char *auth, size_t cap)
{
	char *id = NULL, *sec = NULL;
	char pair[1024];
	int n, rc = PV_OK;

	auth[0] = '\0';
	if (!s->client_secret || s->token_post) {
		rc = sso_form_add(form, "client_id", s->client_id);
		if (rc == PV_OK && s->client_secret)
			rc = sso_form_add(form, "client_secret", s->client_secret);
		return rc;
	}
	/* RFC 6749 2.3.1: both are form-encoded before base64 */
	id = curl_easy_escape(NULL, s->client_id, 0);
	sec = curl_easy_escape(NULL, s->client_secret, 0);
	if (!id || !sec) {
		rc = PV_ENOMEM;
		goto out;
	}
	n = snprintf(pair, sizeof pair, "%s:%s", id, sec);
	if (n < 0 || (size_t)n >= sizeof pair ||
	    cap < 7 + sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_ORIGINAL)) {
		rc = PV_ELIMIT;
		goto out;
	}
	memcpy(auth, "Basic ", 6);
	sodium_bin2base64(auth + 6, cap - 6, (const unsigned char *)pair, (size_t)n,
			  sodium_base64_VARIANT_ORIGINAL);
out:
	sodium_memzero(pair, sizeof pair);
	if (sec)
		sodium_memzero(sec, strlen(sec));
	curl_free(id);
	curl_free(sec);
	return rc;
}

/* --- discovery and keys --- */

static int sso_copy_str(json_t *obj, const char *key, char *out, int required)
{
	const char *v = json_string_value(json_object_get(obj, key));

	out[0] = '\0';
	if (!v)
		return required ? PV_EFORMAT : PV_OK;
	if (!sso_http_url(v))
		return PV_EFORMAT;
	return util_strlcpy(out, v, SSO_URL_MAX);
}

/* Fetches and checks the discovery document. *out: new reference. */
static int sso_fetch_disc(const sso *s, json_t **out, char why[SSO_WHY_MAX])
{
	char url[SSO_URL_MAX + 64];
	size_t il = strlen(s->issuer);
	long status;
	buf body;
	json_t *d = NULL;
	const char *iss;
	int rc;

	*out = NULL;
	while (il && s->issuer[il - 1] == '/')
		il--;
	snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)il, s->issuer);
	buf_init(&body, SSO_BODY_MAX);
	if ((rc = sso_call(s, url, NULL, NULL, &status, &body, why)) != PV_OK)
		goto out;
	rc = PV_EIO;
	if (status != 200) {
		sso_why(why, "the provider's discovery document answered HTTP %ld", status);
		goto out;
	}
	if (!(d = sso_json(&body))) {
		sso_why(why, "the provider's discovery document is not a JSON object");
		goto out;
	}
	iss = json_string_value(json_object_get(d, "issuer"));
	if (!iss || strcmp(iss, s->issuer) != 0) {
		sso_why(why, "the discovery document names another issuer than PRAVESH_SSO_ISSUER");
		goto out;
	}
	if (!json_is_string(json_object_get(d, "authorization_endpoint")) ||
	    !json_is_string(json_object_get(d, "token_endpoint")) ||
	    !json_is_string(json_object_get(d, "jwks_uri"))) {
		sso_why(why, "the discovery document lacks authorization_endpoint, token_endpoint or jwks_uri");
		goto out;
	}
	*out = d;
	d = NULL;
	rc = PV_OK;
out:
	json_decref(d);
	buf_free(&body);
	return rc;
}

/* Fetches the JWKS at url. *out: new reference. */
static int sso_fetch_jwks(const sso *s, const char *url, json_t **out, char why[SSO_WHY_MAX])
{
	long status;
	buf body;
	json_t *j = NULL;
	jwks_t *probe = NULL;
	int rc;

	*out = NULL;
	buf_init(&body, SSO_BODY_MAX);
	if ((rc = sso_call(s, url, NULL, NULL, &status, &body, why)) != PV_OK)
		goto out;
	rc = PV_EIO;
	if (status != 200) {
		sso_why(why, "the provider's JWKS answered HTTP %ld", status);
		goto out;
	}
	j = sso_json(&body);
	if (!j || !json_is_array(json_object_get(j, "keys")) || r_jwks_init(&probe) != RHN_OK ||
	    r_jwks_import_from_json_t(probe, j) != RHN_OK || r_jwks_size(probe) == 0) {
		sso_why(why, "the provider's JWKS is not a usable key set");
		goto out;
	}
	*out = j;
	j = NULL;
	rc = PV_OK;
out:
	r_jwks_free(probe);
	json_decref(j);
	buf_free(&body);
	return rc;
}

/* The endpoints of a login; in oidc mode from the cached discovery
 * document, fetched (with its JWKS) when missing or stale. */
static int sso_endpoints(sso *s, int64_t now, sso_eps *e, char why[SSO_WHY_MAX])
{
	json_t *d = NULL, *jw = NULL, *keep;
	int rc = PV_OK;

	memset(e, 0, sizeof *e);
	if (!s->oidc) {
		util_strlcpy(e->authorize, s->authorize_url, SSO_URL_MAX);
		util_strlcpy(e->token, s->token_url, SSO_URL_MAX);
		util_strlcpy(e->userinfo, s->userinfo_url, SSO_URL_MAX);
		if (s->revoke_url)
			util_strlcpy(e->revoke, s->revoke_url, SSO_URL_MAX);
		return PV_OK;
	}
	pthread_mutex_lock(&s->mu);
	if (s->disc && now - s->disc_at < SSO_DISC_TTL_MS)
		d = json_incref(s->disc);
	pthread_mutex_unlock(&s->mu);
	if (!d) {
		/* fetched without the lock: a slow provider must not stall
		 * the other logins; two fetches racing is harmless */
		if ((rc = sso_fetch_disc(s, &d, why)) != PV_OK)
			return rc;
		if ((rc = sso_fetch_jwks(s, json_string_value(json_object_get(d, "jwks_uri")), &jw, why)) != PV_OK) {
			json_decref(d);
			return rc;
		}
		pthread_mutex_lock(&s->mu);
		keep = s->disc;
		s->disc = json_incref(d);
		s->disc_at = now;
		json_decref(keep);
		keep = s->jwks;
		s->jwks = jw;
		s->jwks_at = now;
		json_decref(keep);
		pthread_mutex_unlock(&s->mu);
		log_kv(LOG_INFO, "sso discovery loaded", "issuer", s->issuer, NULL);
	}
	util_strlcpy(e->issuer, s->issuer, SSO_URL_MAX);
	if (sso_copy_str(d, "authorization_endpoint", e->authorize, 1) != PV_OK ||
	    sso_copy_str(d, "token_endpoint", e->token, 1) != PV_OK ||
	    sso_copy_str(d, "jwks_uri", e->jwks, 1) != PV_OK ||
	    sso_copy_str(d, "userinfo_endpoint", e->userinfo, 0) != PV_OK ||
	    sso_copy_str(d, "revocation_endpoint", e->revoke, 0) != PV_OK) {
		sso_why(why, "the discovery document holds an endpoint that is not an http(s) URL");
		rc = PV_EIO;
	}
	if (s->userinfo_url)
		util_strlcpy(e->userinfo, s->userinfo_url, SSO_URL_MAX);
	if (s->revoke_url)
		util_strlcpy(e->revoke, s->revoke_url, SSO_URL_MAX);
	json_decref(d);
	return rc;
}

/* 1 when the key set holds a key with this id. */
static int sso_has_kid(json_t *jwks, const char *kid)
{
	size_t i;
	json_t *key;

	json_array_foreach(json_object_get(jwks, "keys"), i, key) {
		const char *k = json_string_value(json_object_get(key, "kid"));

		if (k && strcmp(k, kid) == 0)
			return 1;
	}
	return 0;
}

/* The key set to verify a token signed with key id kid (may be NULL): the
 * cached one, fetched again when it does not hold kid (at most every
 * SSO_JWKS_MIN_GAP_MS, so a stream of bogus key ids cannot turn us into a
 * flood of requests) or when stale. Returns a new reference or NULL. */
static json_t *sso_keys_for(sso *s, const sso_eps *e, const char *kid, int64_t now,
			    char why[SSO_WHY_MAX])
{
	json_t *jw = NULL, *fresh = NULL, *keep;
	int refetch;

	pthread_mutex_lock(&s->mu);
	if (s->jwks)
		jw = json_incref(s->jwks);
	refetch = !jw || now - s->jwks_at >= SSO_DISC_TTL_MS ||
		  (kid && !sso_has_kid(jw, kid) && now - s->jwks_at >= SSO_JWKS_MIN_GAP_MS);
	pthread_mutex_unlock(&s->mu);
	if (!refetch)
		return jw;
	if (sso_fetch_jwks(s, e->jwks, &fresh, why) != PV_OK)
		return jw; /* the old keys may still do; the check will tell */
	json_decref(jw);
	pthread_mutex_lock(&s->mu);
	keep = s->jwks;
	s->jwks = json_incref(fresh);
	s->jwks_at = now;
	json_decref(keep);
	pthread_mutex_unlock(&s->mu);
	log_kv(LOG_INFO, "sso keys loaded", "issuer", s->issuer, NULL);
	return fresh;
}

/* --- the login --- */

/* The nonce and the PKCE verifier of a login attempt are derived from its
 * state under the server key, so neither is ever stored: the store keeps
 * only the keyed hash of the state. */
static void sso_derive(const sso *s, const char *domain, const char *state,
		       char out[64])
{
	unsigned char mac[STORE_HASH_LEN];

	keys_mac(s->k, domain, state, strlen(state), mac);
	sodium_bin2base64(out, 64, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(mac, sizeof mac);
}

int sso_begin(sso *s, const char *redirect_uri, int64_t now_ms, char **url,
	      char state_out[SSO_STATE_MAX], char why[SSO_WHY_MAX])
{
	struct _i_session is;
	sso_eps e;
	char nonce[64], verifier[64];
	store_token t;
	json_t *extra = NULL;
	char *dump = NULL, *u = NULL;
	const char *built;
	size_t alen;
	int rc, iinit = 0;

	*url = NULL;
	why[0] = '\0';
	state_out[0] = '\0';
	if ((rc = sso_endpoints(s, now_ms, &e, why)) != PV_OK)
		goto out;
	if ((rc = util_random_b64url(SSO_RANDOM_BYTES, state_out, SSO_STATE_MAX)) != PV_OK) {
		sso_why(why, "cannot draw random values");
		goto out;
	}
	sso_derive(s, "sso-nonce", state_out, nonce);
	sso_derive(s, "sso-pkce", state_out, verifier);
	rc = PV_EINVAL;
	if (i_init_session(&is) != I_OK) {
		sso_why(why, "cannot start an iddawc session");
		rc = PV_ENOMEM;
		goto out;
	}
	iinit = 1;
	/* no client secret here: this session only builds the URL */
	if (i_set_parameter_list(&is, I_OPT_RESPONSE_TYPE, I_RESPONSE_TYPE_CODE,
				 I_OPT_CLIENT_ID, s->client_id, I_OPT_REDIRECT_URI, redirect_uri,
				 I_OPT_SCOPE, s->scope, I_OPT_STATE, state_out, I_OPT_NONCE, nonce,
				 I_OPT_AUTH_ENDPOINT, e.authorize, I_OPT_PKCE_METHOD,
				 I_PKCE_METHOD_S256, I_OPT_PKCE_CODE_VERIFIER, verifier,
				 I_OPT_NONE) != I_OK ||
	    i_build_auth_url_get(&is) != I_OK ||
	    !(built = i_get_str_parameter(&is, I_OPT_REDIRECT_TO))) {
		sso_why(why, "iddawc could not build the authorization URL");
		goto out;
	}
	if (!(u = strdup(built))) {
		rc = PV_ENOMEM;
		goto out;
	}
	/* iddawc appends "?..." even to an endpoint that has a query */
	alen = strlen(e.authorize);
	if (strchr(e.authorize, '?') && strncmp(u, e.authorize, alen) == 0 && u[alen] == '?')
		u[alen] = '&';
	/* the attempt: only its state's keyed hash and its expiry are kept */
	extra = json_object();
	if (!extra || !(dump = json_dumps(extra, JSON_COMPACT)) || strlen(dump) >= STORE_JSON_MAX) {
		rc = PV_ENOMEM;
		goto out;
	}
	memset(&t, 0, sizeof t);
	keys_mac(s->k, "sso-state", state_out, strlen(state_out), t.hash);
	util_strlcpy(t.kind, "sso", sizeof t.kind);
	util_strlcpy(t.extra, dump, sizeof t.extra);
	t.created_at = now_ms;
	t.expires_at = now_ms + (int64_t)s->max_age_s * 1000;
	if ((rc = store_token_insert(s->st, &t)) != PV_OK) {
		sso_why(why, "cannot store the login attempt (%s)", pv_strerror(rc));
		sodium_memzero(&t, sizeof t);
		goto out;
	}
	sodium_memzero(&t, sizeof t);
	*url = u;
	u = NULL;
	rc = PV_OK;
out:
	if (iinit)
		i_clean_session(&is);
	if (dump) {
		sodium_memzero(dump, strlen(dump));
		free(dump);
	}
	json_decref(extra);
	free(u);
	sodium_memzero(nonce, sizeof nonce);
	sodium_memzero(verifier, sizeof verifier);
	if (rc != PV_OK)
		state_out[0] = '\0';
	return rc;
}

/* 1 when s is 1..max-1 bytes of base64url or other URL-safe characters. */
static int sso_token_chars(const char *v, size_t max)
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

/* The JSON header of a compact JWS (new reference), or NULL. */
static json_t *sso_jwt_header(const char *jwt)
{
	const char *dot = strchr(jwt, '.');
	unsigned char raw[1024];
	size_t n;

	if (!dot || (size_t)(dot - jwt) > 1300)
		return NULL;
	if (sodium_base642bin(raw, sizeof raw, jwt, (size_t)(dot - jwt), NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return NULL;
	return json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
}

static int sso_alg_ok(const char *alg)
{
	static const char *const ok[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
					 "PS512", "ES256", "ES384", "ES512", "EdDSA"};

	for (size_t i = 0; alg && i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(alg, ok[i]) == 0)
			return 1;
	return 0;
}

/* Verifies the id_token and returns its claims (new reference) or NULL
 * with why filled. */
static json_t *sso_id_token(sso *s, const sso_eps *e, const char *idt, const char *access,
			    const char *code, const char *nonce, int64_t now_ms,
			    char why[SSO_WHY_MAX])
{
	struct _i_session is;
	json_t *hdr = sso_jwt_header(idt), *jw = NULL, *claims = NULL, *aud;
	const char *alg, *kid, *v;
	json_int_t exp, iat;
	int iinit = 0, aud_ok = 0;
	size_t i;

	if (!hdr) {
		sso_why(why, "the id_token is not a JWS");
		goto fail;
	}
	alg = json_string_value(json_object_get(hdr, "alg"));
	kid = json_string_value(json_object_get(hdr, "kid"));
	if (!sso_alg_ok(alg)) {
		sso_why(why, "the id_token is signed with a refused algorithm");
		goto fail;
	}
	/* keys come from the provider's JWKS only, never from the token */
	if (json_object_get(hdr, "jwk") || json_object_get(hdr, "jku") ||
	    json_object_get(hdr, "x5u") || json_object_get(hdr, "x5c") || json_object_get(hdr, "crit")) {
		sso_why(why, "the id_token header carries keys or critical extensions");
		goto fail;
	}
	if (!(jw = sso_keys_for(s, e, kid, now_ms, why))) {
		if (!why[0])
			sso_why(why, "no keys of the provider to verify the id_token");
		goto fail;
	}
	if (kid && !sso_has_kid(jw, kid)) {
		sso_why(why, "the id_token is signed with a key the provider does not publish");
		goto fail;
	}
	if (i_init_session(&is) != I_OK)
		goto fail;
	iinit = 1;
	if (i_set_server_jwks(&is, jw) != I_OK ||
	    i_set_parameter_list(&is, I_OPT_X5U_FLAGS, R_FLAG_IGNORE_REMOTE, I_OPT_ISSUER, e->issuer,
				 I_OPT_CLIENT_ID, s->client_id, I_OPT_NONCE, nonce, I_OPT_ID_TOKEN, idt,
				 I_OPT_ACCESS_TOKEN, access, I_OPT_CODE, code, I_OPT_NONE) != I_OK) {
		sso_why(why, "cannot prepare the id_token check");
		goto fail;
	}
	if (i_verify_id_token(&is) != I_OK || !is.id_token_payload) {
		sso_why(why, "the id_token did not verify (signature, issuer, nonce, expiry or at_hash)");
		goto fail;
	}
	claims = json_incref(is.id_token_payload);
	/* iddawc 1.1.8 does not compare the audience; the rest again */
	aud = json_object_get(claims, "aud");
	if (json_is_string(aud))
		aud_ok = strcmp(json_string_value(aud), s->client_id) == 0;
	else if (json_is_array(aud) && json_array_size(aud) > 0) {
		json_t *a1;

		json_array_foreach(aud, i, a1)
			if (json_is_string(a1) && strcmp(json_string_value(a1), s->client_id) == 0)
				aud_ok = 1;
		v = json_string_value(json_object_get(claims, "azp"));
		if (json_array_size(aud) > 1 && (!v || strcmp(v, s->client_id) != 0))
			aud_ok = 0;
	}
	if (!aud_ok) {
		sso_why(why, "the id_token is meant for another client (aud)");
		goto fail;
	}
	v = json_string_value(json_object_get(claims, "iss"));
	if (!v || strcmp(v, e->issuer) != 0) {
		sso_why(why, "the id_token comes from another issuer");
		goto fail;
	}
	v = json_string_value(json_object_get(claims, "nonce"));
	if (!v || strlen(v) != strlen(nonce) || sodium_memcmp(v, nonce, strlen(nonce)) != 0) {
		sso_why(why, "the id_token carries another nonce");
		goto fail;
	}
	exp = json_integer_value(json_object_get(claims, "exp"));
	iat = json_integer_value(json_object_get(claims, "iat"));
	if (!json_is_integer(json_object_get(claims, "exp")) || exp * 1000 <= now_ms ||
	    (json_is_integer(json_object_get(claims, "iat")) &&
	     iat * 1000 > now_ms + SSO_LEEWAY_S * 1000)) {
		sso_why(why, "the id_token has expired or is not yet valid");
		goto fail;
	}
	if (!json_is_string(json_object_get(claims, "sub"))) {
		sso_why(why, "the id_token has no subject");
		goto fail;
	}
	i_clean_session(&is);
	json_decref(jw);
	json_decref(hdr);
	return claims;
fail:
	if (iinit)
		i_clean_session(&is);
	json_decref(claims);
	json_decref(jw);
	json_decref(hdr);
	return NULL;
}

/* The user details (userinfo) as a JSON object (new reference) or NULL. */
static json_t *sso_userinfo(const sso *s, const char *url, const char *access,
			    char why[SSO_WHY_MAX])
{
	char auth[4200];
	long status;
	buf body;
	json_t *j = NULL;

	if (strlen(access) > 4000) {
		sso_why(why, "the access token is too long");
		return NULL;
	}
	snprintf(auth, sizeof auth, "Bearer %s", access);
	buf_init(&body, SSO_BODY_MAX);
	if (sso_call(s, url, NULL, auth, &status, &body, why) != PV_OK)
		goto out;
	if (status != 200) {
		sso_why(why, "the user details endpoint answered HTTP %ld", status);
		goto out;
	}
	if (!(j = sso_json(&body)))
		sso_why(why, "the user details are not a JSON object");
out:
	sodium_memzero(auth, sizeof auth);
	buf_free(&body);
	return j;
}

/* Revokes one of the provider's tokens (RFC 7009); best effort, logged. */
static void sso_revoke(const sso *s, const char *url, const char *token, const char *hint)
{
	buf form;
	buf body;
	char auth[1500], why[SSO_WHY_MAX] = "";
	long status = 0;

	buf_init(&form, 16384);
	buf_init(&body, 4096);
	if (sso_form_add(&form, "token", token) != PV_OK ||
	    sso_form_add(&form, "token_type_hint", hint) != PV_OK ||
	    sso_client_auth(s, &form, auth, sizeof auth) != PV_OK) {
		log_kv(LOG_WARN, "sso revocation not sent", "reason", "cannot build the request", NULL);
		goto out;
	}
	if (sso_call(s, url, form.p, auth[0] ? auth : NULL, &status, &body, why) != PV_OK)
		log_kv(LOG_WARN, "sso revocation failed", "reason", why, NULL);
	else if (status != 200)
		log_kv(LOG_WARN, "sso revocation refused", "hint", hint, NULL);
	else
		log_kv(LOG_DEBUG, "sso token revoked at the provider", "hint", hint, NULL);
out:
	sodium_memzero(auth, sizeof auth);
	if (form.p)
		sodium_memzero(form.p, form.len);
	buf_free(&form);
	buf_free(&body);
}

/* Takes the e-mail (and subject) out of a claim set. */
static int sso_take_email(const sso *s, json_t *claims, sso_identity *id, char why[SSO_WHY_MAX])
{
	json_t *ev = json_object_get(claims, "email_verified");
	const char *em = json_string_value(json_object_get(claims, s->email_claim));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	size_t n;

	if (!em) {
		sso_why(why, "the provider's answer has no '%.64s' claim", s->email_claim);
		return PV_EDENIED;
	}
	n = strlen(em);
	if (n < 3 || n >= sizeof id->email || !strchr(em, '@') || !sso_token_chars(em, sizeof id->email)) {
		sso_why(why, "the '%.64s' claim is not an e-mail address", s->email_claim);
		return PV_EDENIED;
	}
	/* an OpenID provider may vouch for the address or not; only a
	 * verified one may open an account's door */
	if (json_is_false(ev) || (json_is_string(ev) && strcmp(json_string_value(ev), "false") == 0)) {
		sso_why(why, "the provider has not verified the e-mail address");
		return PV_EDENIED;
	}
	util_strlcpy(id->email, em, sizeof id->email);
	if (sub)
		util_strlcpy(id->subject, sub, sizeof id->subject);
	return PV_OK;
}

int sso_finish(sso *s, const char *redirect_uri, const char *code,
	       const char *state, int provider_error, int64_t now_ms,
	       sso_identity *id, char why[SSO_WHY_MAX])
{
	unsigned char h[STORE_HASH_LEN];
	store_token t;
	sso_eps e;
	json_t *tok = NULL, *claims = NULL, *ui = NULL;
	const char *verifier, *nonce, *access, *idt, *refresh;
	char nonce_buf[64], verifier_buf[64];
	buf form, body;
	char auth[1500];
	long status;
	int rc;

	memset(id, 0, sizeof *id);
	memset(&t, 0, sizeof t);
	why[0] = '\0';
	auth[0] = '\0';
	buf_init(&form, 16384);
	buf_init(&body, SSO_BODY_MAX);
	if (!sso_token_chars(state, SSO_STATE_MAX)) {
		sso_why(why, "the callback has no usable state");
		rc = PV_EINVAL;
		goto out;
	}
	/* spend the attempt first: whatever happens next, it is used */
	keys_mac(s->k, "sso-state", state, strlen(state), h);
	rc = store_token_consume(s->st, "sso", h, now_ms, &t);
	if (rc == PV_ENOTFOUND) {
		sso_why(why, "unknown or already used state");
		goto out;
	}
	if (rc == PV_EEXPIRED) {
		sso_why(why, "the login attempt expired");
		goto out;
	}
	if (rc != PV_OK) {
		sso_why(why, "cannot read the login attempt (%s)", pv_strerror(rc));
		goto out;
	}
	if (provider_error) {
		sso_why(why, "the provider answered the authorization request with an error");
		rc = PV_EDENIED;
		goto out;
	}
	if (!sso_token_chars(code, SSO_CODE_MAX)) {
		sso_why(why, "the callback has no usable code");
		rc = PV_EINVAL;
		goto out;
	}
	sso_derive(s, "sso-nonce", state, nonce_buf);
	sso_derive(s, "sso-pkce", state, verifier_buf);
	nonce = nonce_buf;
	verifier = verifier_buf;
	if ((rc = sso_endpoints(s, now_ms, &e, why)) != PV_OK)
		goto out;
	/* the code for tokens, with the PKCE verifier */
	if ((rc = sso_form_add(&form, "grant_type", "authorization_code")) != PV_OK ||
	    (rc = sso_form_add(&form, "code", code)) != PV_OK ||
	    (rc = sso_form_add(&form, "redirect_uri", redirect_uri)) != PV_OK ||
	    (rc = sso_form_add(&form, "code_verifier", verifier)) != PV_OK ||
	    (rc = sso_client_auth(s, &form, auth, sizeof auth)) != PV_OK) {
		sso_why(why, "cannot build the token request");
		goto out;
	}
	if ((rc = sso_call(s, e.token, form.p, auth[0] ? auth : NULL, &status, &body, why)) != PV_OK)
		goto out;
	tok = sso_json(&body);
	if (status != 200) {
		const char *err = json_string_value(json_object_get(tok, "error"));
		char safe[48] = "";

		/* the OAuth error code is a short word; copy only that */
		if (err && sso_token_chars(err, sizeof safe))
			util_strlcpy(safe, err, sizeof safe);
		sso_why(why, "the token endpoint refused the code (HTTP %ld%s%s)", status,
			safe[0] ? ", " : "", safe);
		rc = status >= 500 || !tok ? PV_EIO : PV_EDENIED;
		goto out;
	}
	access = json_string_value(json_object_get(tok, "access_token"));
	if (!tok || !access || !sso_token_chars(access, 4001)) {
		sso_why(why, "the token endpoint answered garbage (no access_token in a JSON object)");
		rc = PV_EIO;
		goto out;
	}
	rc = PV_EDENIED;
	if (s->oidc) {
		idt = json_string_value(json_object_get(tok, "id_token"));
		if (!idt || !sso_token_chars(idt, 16384)) {
			sso_why(why, "the token endpoint sent no id_token");
			goto out;
		}
		if (!(claims = sso_id_token(s, &e, idt, access, code, nonce, now_ms, why)))
			goto out;
		if (!json_object_get(claims, s->email_claim)) {
			/* the e-mail is in the userinfo; its sub must match */
			const char *sub = json_string_value(json_object_get(claims, "sub"));
			const char *usub;

			if (!e.userinfo[0]) {
				sso_why(why, "the id_token has no '%.64s' claim and the provider has no userinfo endpoint",
					s->email_claim);
				goto out;
			}
			if (!(ui = sso_userinfo(s, e.userinfo, access, why))) {
				rc = PV_EIO;
				goto out;
			}
			usub = json_string_value(json_object_get(ui, "sub"));
			if (!usub || strcmp(usub, sub) != 0) {
				sso_why(why, "the userinfo is about another subject than the id_token");
				goto out;
			}
			rc = sso_take_email(s, ui, id, why);
		} else {
			rc = sso_take_email(s, claims, id, why);
		}
	} else {
		if (!(ui = sso_userinfo(s, e.userinfo, access, why))) {
			rc = PV_EIO;
			goto out;
		}
		rc = sso_take_email(s, ui, id, why);
	}
	if (rc == PV_OK && e.revoke[0]) {
		/* the provider's tokens have served their one purpose */
		refresh = json_string_value(json_object_get(tok, "refresh_token"));
		if (refresh)
			sso_revoke(s, e.revoke, refresh, "refresh_token");
		sso_revoke(s, e.revoke, access, "access_token");
	}
out:
	if (rc != PV_OK)
		memset(id, 0, sizeof *id);
	sodium_memzero(auth, sizeof auth);
	sodium_memzero(&t, sizeof t);
	sodium_memzero(h, sizeof h);
	if (form.p)
		sodium_memzero(form.p, form.len);
	if (body.p)
		sodium_memzero(body.p, body.len);
	buf_free(&form);
	buf_free(&body);
	sodium_memzero(nonce_buf, sizeof nonce_buf);
	sodium_memzero(verifier_buf, sizeof verifier_buf);
	json_decref(tok);
	json_decref(claims);
	json_decref(ui);
	return rc;
}
