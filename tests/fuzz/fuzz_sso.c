/* fuzz_sso: what the single sign-on provider and the browser send us,
 * through the parsers sso.c runs on it (src/sso/sso_int.h) and the
 * callback's binding check (api_sso_bound):
 *   0 the callback: binding cookie's value NUL query string ("code=..&state=..")
 *   1 discovery document   2 JWKS   3 token answer (OAuth2)
 *   4 user details (and the e-mail taken from them)
 *   5 an id_token's header, and its signature under a fixed key set
 *   6 an id_token's claims   7 token answer (OIDC)
 * Input: [selector][status selector] bytes.
 * Promises held: endpoints taken are http(s) URLs; an access token or
 * id_token taken is printable without spaces and bounded; an e-mail taken
 * is bounded, has an '@' and no spaces; a bound state equals the cookie;
 * claims accepted name us (aud, azp), our issuer and nonce, and are in
 * date; a signature accepted is over bytes the key signed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "http/handlers.h"
#include "http/http.h"
#include "sso/sso_int.h"
#include "util/err.h"

#include "unit/sso/jws_vectors.h"

#define ISSUER "https://op.example/realm"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void check_url(const char *u)
{
	FUZZ_CHECK(strlen(u) < SSO_URL_MAX);
	FUZZ_CHECK(u[0] == '\0' || strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0);
}

static void fuzz_callback(const uint8_t *data, size_t n)
{
	const uint8_t *c, *q;
	size_t cn, qn;
	char *cookie, *query, *save = NULL;
	const char *state = NULL, *code = NULL;

	fuzz_split(data, n, 0, &c, &cn, &q, &qn);
	cookie = fuzz_cstr(c, cn);
	query = fuzz_cstr(q, qn);
	if (!cookie || !query)
		goto out;
	/* as MHD splits and decodes the query */
	for (char *arg = strtok_r(query, "&", &save); arg; arg = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(arg, '=');

		if (!eq)
			continue;
		*eq = '\0';
		for (char *p = eq + 1; *p; p++)
			if (*p == '+')
				*p = ' ';
		http_unescape(arg);
		http_unescape(eq + 1);
		if (strcmp(arg, "state") == 0 && !state)
			state = eq + 1;
		else if (strcmp(arg, "code") == 0 && !code)
			code = eq + 1;
	}
	if (api_sso_bound(cookie, state))
		FUZZ_CHECK(state && strcmp(cookie, state) == 0);
	if (sso__token_chars(state, SSO_STATE_MAX))
		FUZZ_CHECK(strlen(state) < SSO_STATE_MAX && !strchr(state, ' '));
	if (sso__token_chars(code, SSO_CODE_MAX))
		FUZZ_CHECK(strlen(code) < SSO_CODE_MAX);
out:
	free(cookie);
	free(query);
}

static void fuzz_discovery(const char *body, size_t n, long status)
{
	char why[SSO_WHY_MAX] = "";
	json_t *d = NULL;
	sso_eps e;

	if (sso__parse_discovery(ISSUER, status, body, n, &d, why) != PV_OK) {
		FUZZ_CHECK(d == NULL && why[0]);
		return;
	}
	FUZZ_CHECK(status == 200);
	if (sso__endpoints(d, ISSUER, &e, why) == PV_OK) {
		FUZZ_CHECK(e.authorize[0] && e.token[0] && e.jwks[0]);
		check_url(e.authorize);
		check_url(e.token);
		check_url(e.jwks);
		check_url(e.userinfo);
		check_url(e.revoke);
		FUZZ_CHECK(strcmp(e.issuer, ISSUER) == 0);
	}
	json_decref(d);
}

static void fuzz_token(const char *body, size_t n, long status, int oidc)
{
	char why[SSO_WHY_MAX] = "";
	const char *access, *idt;
	json_t *tok = NULL;
	int rc = sso__parse_token(status, body, n, oidc, &tok, &access, &idt, why);

	if (rc != PV_OK) {
		FUZZ_CHECK(rc == PV_EIO || rc == PV_EDENIED);
		FUZZ_CHECK(!tok && !access && !idt && why[0]);
		return;
	}
	FUZZ_CHECK(tok && access && strlen(access) <= 4000 && !strchr(access, ' '));
	if (oidc)
		FUZZ_CHECK(idt && strlen(idt) < 16384);
	json_decref(tok);
}

static void fuzz_userinfo(const char *body, size_t n, long status)
{
	static const char *const claims[] = {"email", "loginId"};
	char why[SSO_WHY_MAX] = "";
	json_t *ui = sso__parse_userinfo(status, body, n, why);

	if (!ui) {
		FUZZ_CHECK(why[0]);
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		sso_identity id;

		memset(&id, 0, sizeof id);
		if (sso__take_email(claims[i], ui, &id, why) != PV_OK)
			continue;
		FUZZ_CHECK(strlen(id.email) >= 3 && strlen(id.email) < sizeof id.email);
		FUZZ_CHECK(strchr(id.email, '@') && !strchr(id.email, ' '));
	}
	json_decref(ui);
}

/* The id_token's claims: accepted only when meant for us (aud, and azp
 * when aud names others too), from our issuer, with our nonce, unexpired,
 * not issued in the future (beyond the leeway) and about a subject. */
static void fuzz_claims(json_t *j)
{
	const int64_t now_ms = 1700000000000LL;
	char why[SSO_WHY_MAX] = "";
	json_t *aud = json_object_get(j, "aud"), *a1, *iat = json_object_get(j, "iat");
	const char *azp = json_string_value(json_object_get(j, "azp"));
	int rc = sso__check_claims(j, "pravesh", ISSUER, "nonce-1", now_ms, why);
	int ours = 0;
	size_t i;

	/* the hashes: an absent claim passes; a present one passes only as
	 * the one string the value hashes to (OpenID Connect Core A.3) */
	for (i = 0; i < 2; i++) {
		const char *name = i ? "c_hash" : "at_hash";
		json_t *h = json_object_get(j, name);
		char hwhy[SSO_WHY_MAX] = "";
		int hrc = sso__check_hash(j, name, "RS256",
					  "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", hwhy);

		FUZZ_CHECK(h ? (hrc == PV_OK) == (json_is_string(h) &&
						  strcmp(json_string_value(h), "77QmUPtjPfzWtF2AnpK9RQ") == 0)
			     : hrc == PV_OK);
		FUZZ_CHECK(hrc == PV_OK || hwhy[0]);
	}
	if (rc != PV_OK) {
		FUZZ_CHECK(rc == PV_EDENIED && why[0]);
		return;
	}
	if (json_is_string(aud))
		ours = strcmp(json_string_value(aud), "pravesh") == 0;
	json_array_foreach(aud, i, a1)
		ours |= json_is_string(a1) && strcmp(json_string_value(a1), "pravesh") == 0;
	FUZZ_CHECK(ours);
	if (json_is_array(aud) && json_array_size(aud) > 1)
		FUZZ_CHECK(azp && strcmp(azp, "pravesh") == 0);
	FUZZ_CHECK(json_is_string(json_object_get(j, "iss")) &&
		   strcmp(json_string_value(json_object_get(j, "iss")), ISSUER) == 0);
	FUZZ_CHECK(json_is_string(json_object_get(j, "nonce")) &&
		   strcmp(json_string_value(json_object_get(j, "nonce")), "nonce-1") == 0);
	FUZZ_CHECK(json_is_integer(json_object_get(j, "exp")) &&
		   json_integer_value(json_object_get(j, "exp")) > now_ms / 1000);
	FUZZ_CHECK(json_is_integer(iat) && json_integer_value(iat) > 0 &&
		   json_integer_value(iat) <= now_ms / 1000 + SSO_LEEWAY_S);
	FUZZ_CHECK(json_string_length(json_object_get(j, "sub")) > 0);
}

/* The signed part (header.payload) of a token, up to its last dot. The
 * signature's own spelling may vary (rhonabwy reads non-canonical base64url
 * there), the signed part may not: sso_jwt_part reads it through
 * libsodium's canonical decoding, so accepted claims are bytes the key
 * signed, spelled as signed. */
static int same_signed_part(const char *a, const char *b)
{
	const char *da = strrchr(a, '.'), *db = strrchr(b, '.');

	return da && db && da - a == db - b && memcmp(a, b, (size_t)(da - a)) == 0;
}

/* A token under a fixed key set: only what its key signed is accepted (the
 * corpus holds tokens signed by it; a fuzzer cannot sign), and then as an
 * object. */
static void fuzz_signed(const char *t)
{
	static json_t *ks;
	char why[SSO_WHY_MAX] = "";
	json_t *c;

	if (!ks && !(ks = json_loads(JWKS1, 0, NULL)))
		abort();
	c = sso__signed_claims(ks, t, why);
	FUZZ_CHECK(c ? json_is_object(c) && (same_signed_part(t, T_OK) || same_signed_part(t, T_NOKID))
		     : why[0] != '\0');
	json_decref(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 200, 200, 400, 401, 500, 302, 0};
	char why[SSO_WHY_MAX] = "";
	const char *body;
	size_t n;
	long status;
	char *s;
	json_t *j = NULL;

	if (size < 2)
		return 0;
	status = statuses[data[1] % (sizeof statuses / sizeof statuses[0])];
	body = (const char *)data + 2;
	n = size - 2;
	switch (data[0] % 8) {
	case 0:
		fuzz_callback(data + 2, n);
		break;
	case 1:
		fuzz_discovery(body, n, status);
		break;
	case 2:
		if (sso__parse_jwks(status, body, n, &j, why) == PV_OK)
			FUZZ_CHECK(json_is_array(json_object_get(j, "keys")));
		json_decref(j);
		break;
	case 3:
		fuzz_token(body, n, status, 0);
		break;
	case 4:
		fuzz_userinfo(body, n, status);
		break;
	case 5:
		if (!(s = fuzz_cstr(data + 2, n)))
			break;
		j = sso__jwt_header(s);
		if (sso__check_header(j, why) == PV_OK)
			FUZZ_CHECK(json_is_string(json_object_get(j, "alg")));
		json_decref(j);
		fuzz_signed(s);
		free(s);
		break;
	case 6:
		if ((j = sso__json(body, n)) != NULL) {
			fuzz_claims(j);
			json_decref(j);
		}
		break;
	default:
		fuzz_token(body, n, status, 1);
	}
	return 0;
}
