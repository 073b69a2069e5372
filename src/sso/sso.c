/* The single sign-on relying party (see sso.h).
 *
 * iddawc builds the authorization request (state, nonce, PKCE S256 code
 * challenge). The calls to the provider (discovery, JWKS, token, user
 * details, revocation) are made here with libcurl, because iddawc 1.1.8
 * offers no timeout for its own calls and a provider that accepts a
 * connection and never answers would hold a worker thread forever. The
 * id_token is verified by sso_parse.c: its signature by rhonabwy (the JWT
 * library under iddawc) with the provider's published key, then its claims
 * and hashes. iddawc 1.1.8's i_verify_id_token does not compare the
 * audience, hashes the at_hash of RS512, PS512 and ES512 tokens with
 * SHA-384, and refuses an iat even one second ahead of time(): time() is
 * the kernel's coarse clock, a tick behind the provider's, so a token
 * issued and checked within that tick after a second began was refused
 * now and then, and every token of a provider whose clock runs a second
 * ahead would be. */
#include "sso/sso.h"
#include "sso/sso_int.h"

#include <curl/curl.h>
#include <iddawc.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define SSO_BODY_MAX (256 * 1024)    /* largest answer read from the provider */
#define SSO_DISC_TTL_MS (3600 * 1000) /* discovery and JWKS are fetched again after */
#define SSO_JWKS_MIN_GAP_MS 2000      /* tokens no cached key fits refetch at most this often */
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

static void sso_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

static int sso_set(const char *s)
{
	return s && *s;
}

/* The settings single sign-on needs beyond its mode: PV_OK, or PV_EINVAL
 * with the reason in err. */
static int sso_check_cfg(const pv_config *cfg, int oidc, char *err, size_t errlen)
{
	if (!sso_set(cfg->sso_client_id)) {
		sso_err(err, errlen, "single sign-on needs PRAVESH_SSO_CLIENT_ID");
		return PV_EINVAL;
	}
	if (oidc && !sso__http_url(cfg->sso_issuer)) {
		sso_err(err, errlen, "oidc mode needs PRAVESH_SSO_ISSUER (an http(s) URL)");
		return PV_EINVAL;
	}
	if (!oidc && (!sso__http_url(cfg->sso_authorize_url) || !sso__http_url(cfg->sso_token_url) ||
		      !sso__http_url(cfg->sso_userinfo_url))) {
		sso_err(err, errlen,
			"oauth2 mode needs PRAVESH_SSO_AUTHORIZE_URL, PRAVESH_SSO_TOKEN_URL and PRAVESH_SSO_USERINFO_URL (http(s) URLs)");
		return PV_EINVAL;
	}
	if ((sso_set(cfg->sso_userinfo_url) && !sso__http_url(cfg->sso_userinfo_url)) ||
	    (sso_set(cfg->sso_revoke_url) && !sso__http_url(cfg->sso_revoke_url))) {
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
	return PV_OK;
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
	if (sso_check_cfg(cfg, oidc, err, errlen) != PV_OK)
		return PV_EINVAL;
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

#define SSO_TRIES 3
#define SSO_RETRY_PAUSE_MS 100

/* 1 when an exchange that ended so is worth another try (see sso_call). */
static int sso_retryable(CURLcode cc, long status, int get)
{
	switch (cc) {
	case CURLE_OK:
		return get && status >= 500;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return 1;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL: /* a reply that is no HTTP (0.9) */
	case CURLE_PARTIAL_FILE:
		return get;
	default:
		return 0;
	}
}

static void sso_pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* One HTTP exchange with the provider: GET when form is NULL, else POST of
 * the form (application/x-www-form-urlencoded). auth is a whole header
 * value for Authorization, or NULL. Fills *status and body (bounded).
 * PV_OK when an answer came, whatever its status; PV_EIO otherwise. */
static int sso_call(const sso *s, const char *url, const char *form,
		    const char *auth, long *status, buf *body, char why[SSO_WHY_MAX])
{
	CURL *c = curl_easy_init();
	int64_t t0 = util_mono_ns();
	struct curl_slist *h = NULL, *t;
	char ah[2048];
	CURLcode cc;
	int rc = PV_EIO;

	buf_reset(body);
	*status = 0;
	if (!c) {
		sso__why(why, "cannot start an HTTP client");
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
	/* A failed exchange is tried again, a little later, while the call's
	 * time lasts: whenever nothing was sent (no connection), and for a
	 * GET (discovery, keys, user details: asking twice changes nothing)
	 * also when the provider dropped the connection, answered garbage or
	 * a server error. A POST that may have reached the provider (the code
	 * is single use) is not sent twice. */
	for (int attempt = 0;; attempt++) {
		int64_t left = s->timeout_ms - (util_mono_ns() - t0) / 1000000;
		long pause = SSO_RETRY_PAUSE_MS << (2 * attempt); /* 100, 400 ms */

		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
		buf_reset(body);
		*status = 0;
		cc = curl_easy_perform(c);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		left = s->timeout_ms - (util_mono_ns() - t0) / 1000000;
		if (attempt + 1 >= SSO_TRIES || left <= pause || !sso_retryable(cc, *status, !form))
			break;
		log_kv(LOG_WARN, "sso: the provider's answer failed; trying again", "error",
		       cc != CURLE_OK ? curl_easy_strerror(cc) : "HTTP 5xx", NULL);
		sso_pause_ms(pause);
	}
	if (cc != CURLE_OK) {
		sso__why(why, "the provider could not be reached (%s)", curl_easy_strerror(cc));
		goto out;
	}
	rc = PV_OK;
out:
	if (rc != PV_OK && !why[0])
		sso__why(why, "cannot build the request to the provider");
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
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

/* Fetches and checks the discovery document. *out: new reference. */
static int sso_fetch_disc(const sso *s, json_t **out, char why[SSO_WHY_MAX])
{
	char url[SSO_URL_MAX + 64];
	size_t il = strlen(s->issuer);
	long status;
	buf body;
	int rc;

	*out = NULL;
	while (il && s->issuer[il - 1] == '/')
		il--;
	snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)il, s->issuer);
	buf_init(&body, SSO_BODY_MAX);
	if ((rc = sso_call(s, url, NULL, NULL, &status, &body, why)) != PV_OK)
		goto out;
	rc = sso__parse_discovery(s->issuer, status, body.p, body.len, out, why);
out:
	buf_free(&body);
	return rc;
}

/* Fetches the JWKS at url. *out: new reference. */
static int sso_fetch_jwks(const sso *s, const char *url, json_t **out, char why[SSO_WHY_MAX])
{
	long status;
	buf body;
	int rc;

	*out = NULL;
	buf_init(&body, SSO_BODY_MAX);
	if ((rc = sso_call(s, url, NULL, NULL, &status, &body, why)) != PV_OK)
		goto out;
	rc = sso__parse_jwks(status, body.p, body.len, out, why);
out:
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
	rc = sso__endpoints(d, s->issuer, e, why);
	if (s->userinfo_url)
		util_strlcpy(e->userinfo, s->userinfo_url, SSO_URL_MAX);
	if (s->revoke_url)
		util_strlcpy(e->revoke, s->revoke_url, SSO_URL_MAX);
	json_decref(d);
	return rc;
}

/* The key set to verify a token whose header is hdr: the cached one,
 * fetched again when no key of it fits the header (a new key id, or an id
 * the provider now publishes with another type or algorithm), at most every
 * SSO_JWKS_MIN_GAP_MS so a stream of bogus key ids cannot turn us into a
 * flood of requests, or when stale. Returns a new reference or NULL. */
static json_t *sso_keys_for(sso *s, const sso_eps *e, json_t *hdr, int64_t now,
			    char why[SSO_WHY_MAX])
{
	json_t *jw = NULL, *fresh = NULL, *keep;
	int refetch;

	pthread_mutex_lock(&s->mu);
	if (s->jwks)
		jw = json_incref(s->jwks);
	refetch = !jw || now - s->jwks_at >= SSO_DISC_TTL_MS ||
		  (!sso__key_for(jw, json_object_get(hdr, "kid"),
				 json_string_value(json_object_get(hdr, "alg"))) &&
		   now - s->jwks_at >= SSO_JWKS_MIN_GAP_MS);
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

/* Stores the login attempt of state: only its keyed hash, no extra, and
 * its expiry (PRAVESH_SSO_MAX_AGE from now). */
static int sso_keep_attempt(sso *s, const char *state, int64_t now_ms, char why[SSO_WHY_MAX])
{
	store_token t;
	int rc;

	memset(&t, 0, sizeof t);
	keys_mac(s->k, "sso-state", state, strlen(state), t.hash);
	util_strlcpy(t.kind, "sso", sizeof t.kind);
	util_strlcpy(t.extra, "{}", sizeof t.extra);
	t.created_at = now_ms;
	t.expires_at = now_ms + (int64_t)s->max_age_s * 1000;
	if ((rc = store_token_insert(s->st, &t)) != PV_OK)
		sso__why(why, "cannot store the login attempt (%s)", pv_strerror(rc));
	sodium_memzero(&t, sizeof t);
	return rc;
}

int sso_begin(sso *s, const char *redirect_uri, int64_t now_ms, char **url,
	      char state_out[SSO_STATE_MAX], char why[SSO_WHY_MAX])
{
	struct _i_session is;
	sso_eps e;
	char nonce[64], verifier[64];
	char *u = NULL;
	const char *built;
	size_t alen;
	int rc, iinit = 0;

	*url = NULL;
	why[0] = '\0';
	state_out[0] = '\0';
	if ((rc = sso_endpoints(s, now_ms, &e, why)) != PV_OK)
		goto out;
	if ((rc = util_random_b64url(SSO_RANDOM_BYTES, state_out, SSO_STATE_MAX)) != PV_OK) {
		sso__why(why, "cannot draw random values");
		goto out;
	}
	sso_derive(s, "sso-nonce", state_out, nonce);
	sso_derive(s, "sso-pkce", state_out, verifier);
	rc = PV_EINVAL;
	if (i_init_session(&is) != I_OK) {
		sso__why(why, "cannot start an iddawc session");
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
		sso__why(why, "iddawc could not build the authorization URL");
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
	if ((rc = sso_keep_attempt(s, state_out, now_ms, why)) != PV_OK)
		goto out;
	*url = u;
	u = NULL;
	rc = PV_OK;
out:
	if (iinit)
		i_clean_session(&is);
	free(u);
	sodium_memzero(nonce, sizeof nonce);
	sodium_memzero(verifier, sizeof verifier);
	if (rc != PV_OK)
		state_out[0] = '\0';
	return rc;
}

/* Verifies the id_token and returns its claims (new reference) or NULL
 * with why filled: the header, the signature by the provider's published
 * key, then the claims (audience, issuer, nonce, expiry and issue time with
 * SSO_LEEWAY_S of clock skew, subject) and the at_hash and c_hash. */
static json_t *sso_id_token(sso *s, const sso_eps *e, const char *idt, const char *access,
			    const char *code, const char *nonce, int64_t now_ms,
			    char why[SSO_WHY_MAX])
{
	json_t *hdr = sso__jwt_header(idt), *jw = NULL, *claims = NULL;
	const char *alg;

	if (sso__check_header(hdr, why) != PV_OK)
		goto fail;
	alg = json_string_value(json_object_get(hdr, "alg"));
	why[0] = '\0'; /* from here, set only by a failed fetch of the keys */
	if (!(jw = sso_keys_for(s, e, hdr, now_ms, why))) {
		if (!why[0])
			sso__why(why, "no keys of the provider to verify the id_token");
		goto fail;
	}
	/* a fetch of the keys that failed says why no key fits; otherwise the
	 * check below says it */
	if (why[0] && !sso__key_for(jw, json_object_get(hdr, "kid"), alg))
		goto fail;
	why[0] = '\0';
	if (!(claims = sso__signed_claims(jw, idt, why)) ||
	    sso__check_claims(claims, s->client_id, e->issuer, nonce, now_ms, why) != PV_OK ||
	    sso__check_hash(claims, "at_hash", alg, access, why) != PV_OK ||
	    sso__check_hash(claims, "c_hash", alg, code, why) != PV_OK)
		goto fail;
	json_decref(jw);
	json_decref(hdr);
	return claims;
fail:
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
		sso__why(why, "the access token is too long");
		return NULL;
	}
	snprintf(auth, sizeof auth, "Bearer %s", access);
	buf_init(&body, SSO_BODY_MAX);
	if (sso_call(s, url, NULL, auth, &status, &body, why) != PV_OK)
		goto out;
	j = sso__parse_userinfo(status, body.p, body.len, why);
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

/* Spends the login attempt that state names (whatever happens next, it
 * is used), then checks what the callback brought: PV_OK, or the reason
 * in why. */
static int sso_spend_state(sso *s, const char *state, const char *code,
			   int provider_error, int64_t now_ms, char why[SSO_WHY_MAX])
{
	unsigned char h[STORE_HASH_LEN];
	store_token t;
	int rc;

	if (!sso__token_chars(state, SSO_STATE_MAX)) {
		sso__why(why, "the callback has no usable state");
		return PV_EINVAL;
	}
	keys_mac(s->k, "sso-state", state, strlen(state), h);
	rc = store_token_consume(s->st, "sso", h, now_ms, &t);
	sodium_memzero(&t, sizeof t);
	sodium_memzero(h, sizeof h);
	if (rc == PV_ENOTFOUND) {
		sso__why(why, "unknown or already used state");
		return rc;
	}
	if (rc == PV_EEXPIRED) {
		sso__why(why, "the login attempt expired");
		return rc;
	}
	if (rc != PV_OK) {
		sso__why(why, "cannot read the login attempt (%s)", pv_strerror(rc));
		return rc;
	}
	if (provider_error) {
		sso__why(why, "the provider answered the authorization request with an error");
		return PV_EDENIED;
	}
	if (!sso__token_chars(code, SSO_CODE_MAX)) {
		sso__why(why, "the callback has no usable code");
		return PV_EINVAL;
	}
	return PV_OK;
}

/* The person's e-mail into id: from the checked id_token (OIDC), or from
 * the user details (OAuth2, or an id_token without the e-mail claim: then
 * the details must be about the id_token's subject). PV_OK, PV_EIO (the
 * details could not be fetched) or PV_EDENIED, with the reason in why. */
static int sso_identify(sso *s, const sso_eps *e, const char *idt, const char *access,
			const char *code, const char *nonce, int64_t now_ms,
			sso_identity *id, char why[SSO_WHY_MAX])
{
	json_t *claims = NULL, *ui = NULL;
	const char *sub, *usub;
	int rc = PV_EDENIED;

	if (s->oidc) {
		if (!(claims = sso_id_token(s, e, idt, access, code, nonce, now_ms, why)))
			goto out;
		if (json_object_get(claims, s->email_claim)) {
			rc = sso__take_email(s->email_claim, claims, id, why);
			goto out;
		}
		if (!e->userinfo[0]) {
			sso__why(why, "the id_token has no '%.64s' claim and the provider has no userinfo endpoint",
				 s->email_claim);
			goto out;
		}
	}
	if (!(ui = sso_userinfo(s, e->userinfo, access, why))) {
		rc = PV_EIO;
		goto out;
	}
	if (claims) { /* the e-mail is in the userinfo; its sub must match */
		sub = json_string_value(json_object_get(claims, "sub"));
		usub = json_string_value(json_object_get(ui, "sub"));
		if (!usub || !sub || strcmp(usub, sub) != 0) {
			sso__why(why, "the userinfo is about another subject than the id_token");
			goto out;
		}
	}
	rc = sso__take_email(s->email_claim, ui, id, why);
out:
	json_decref(claims);
	json_decref(ui);
	return rc;
}

int sso_finish(sso *s, const char *redirect_uri, const char *code,
	       const char *state, int provider_error, int64_t now_ms,
	       sso_identity *id, char why[SSO_WHY_MAX])
{
	sso_eps e;
	json_t *tok = NULL;
	const char *verifier, *nonce, *access, *idt, *refresh;
	char nonce_buf[64], verifier_buf[64];
	buf form, body;
	char auth[1500];
	long status;
	int rc;

	memset(id, 0, sizeof *id);
	why[0] = '\0';
	auth[0] = '\0';
	buf_init(&form, 16384);
	buf_init(&body, SSO_BODY_MAX);
	if ((rc = sso_spend_state(s, state, code, provider_error, now_ms, why)) != PV_OK)
		goto out;
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
		sso__why(why, "cannot build the token request");
		goto out;
	}
	if ((rc = sso_call(s, e.token, form.p, auth[0] ? auth : NULL, &status, &body, why)) != PV_OK)
		goto out;
	if ((rc = sso__parse_token(status, body.p, body.len, s->oidc, &tok, &access, &idt, why)) != PV_OK)
		goto out;
	rc = sso_identify(s, &e, idt, access, code, nonce, now_ms, id, why);
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
	if (form.p)
		sodium_memzero(form.p, form.len);
	if (body.p)
		sodium_memzero(body.p, body.len);
	buf_free(&form);
	buf_free(&body);
	sodium_memzero(nonce_buf, sizeof nonce_buf);
	sodium_memzero(verifier_buf, sizeof verifier_buf);
	json_decref(tok);
	return rc;
}
