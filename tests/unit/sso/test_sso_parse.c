/* The parsers of the provider's answers (src/sso/sso_parse.c): claims,
 * token answers, user details, the id_token's hashes. The id_token's
 * claims are checked by us once rhonabwy verified its signature; the
 * regression here (found by tests/fuzz/fuzz_sso.c) is an exp or iat so
 * large that multiplying it by 1000 overflowed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "sso/sso_int.h"
#include "util/err.h"

#include "jws_vectors.h"

#define ISS "https://op.example/realm"
#define NOW 1700000000000LL

static int claims(const char *json)
{
	char why[SSO_WHY_MAX] = "";
	json_t *c = json_loads(json, 0, NULL);
	int rc;

	assert_non_null(c);
	rc = sso__check_claims(c, "pravesh", ISS, "n1", NOW, why);
	if (rc != PV_OK)
		assert_true(why[0] != '\0');
	json_decref(c);
	return rc;
}

static int claims_of(json_t *c)
{
	char why[SSO_WHY_MAX] = "";

	return sso__check_claims(c, "pravesh", ISS, "n1", NOW, why);
}

static void test_claims_times(void **state)
{
	(void)state;
	/* valid for a minute */
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000060,\"iat\":1700000000}"),
			 PV_OK);
	/* expired exactly now, and before */
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000000,\"iat\":1700000000}"),
			 PV_EDENIED);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":-9223372036854775807,\"iat\":1700000000}"),
			 PV_EDENIED);
	/* far in the future: fine, and no overflow on the way (UBSan) */
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000600400000000,\"iat\":1700000000}"),
			 PV_OK);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":9223372036854775807,\"iat\":1700000000}"),
			 PV_OK);
	/* issued in the future beyond the leeway: refused, whatever its size */
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000600,\"iat\":1700000060}"),
			 PV_OK);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000600,\"iat\":1700000061}"),
			 PV_EDENIED);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000600,\"iat\":9223372036854775807}"),
			 PV_EDENIED);
	/* an issue time is required: missing, not a number, not positive */
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000600}"),
			 PV_EDENIED);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000600,\"iat\":\"1700000000\"}"),
			 PV_EDENIED);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000600,\"iat\":0}"),
			 PV_EDENIED);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000600,\"iat\":-5}"),
			 PV_EDENIED);
}

static void test_claims_parties(void **state)
{
	(void)state;
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":[\"pravesh\",\"x\"],\"azp\":\"pravesh\","
				"\"nonce\":\"n1\",\"sub\":\"s\",\"exp\":1700000060,\"iat\":1700000000}"),
			 PV_OK);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":[\"pravesh\",\"x\"],\"nonce\":\"n1\","
				"\"sub\":\"s\",\"exp\":1700000060,\"iat\":1700000000}"),
			 PV_EDENIED);
	assert_int_equal(claims("{\"iss\":\"" ISS "/\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"s\","
				"\"exp\":1700000060,\"iat\":1700000000}"),
			 PV_EDENIED);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n2\",\"sub\":\"s\","
				"\"exp\":1700000060,\"iat\":1700000000}"),
			 PV_EDENIED);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":\"\","
				"\"exp\":1700000060,\"iat\":1700000000}"),
			 PV_EDENIED);
	assert_int_equal(claims("{\"iss\":\"" ISS "\",\"aud\":\"pravesh\",\"nonce\":\"n1\",\"sub\":1,"
				"\"exp\":1700000060,\"iat\":1700000000}"),
			 PV_EDENIED);
}

static void test_token_answers(void **state)
{
	char why[SSO_WHY_MAX];
	const char *access, *idt;
	json_t *tok;
	const char ok[] = "{\"access_token\":\"at\",\"id_token\":\"a.b.c\"}";
	const char refused[] = "{\"error\":\"invalid_grant\"}";

	(void)state;
	assert_int_equal(sso__parse_token(200, ok, strlen(ok), 1, &tok, &access, &idt, why), PV_OK);
	assert_string_equal(access, "at");
	assert_string_equal(idt, "a.b.c");
	json_decref(tok);
	assert_int_equal(sso__parse_token(400, refused, strlen(refused), 0, &tok, &access, &idt, why),
			 PV_EDENIED);
	assert_null(tok);
	assert_non_null(strstr(why, "invalid_grant"));
	assert_int_equal(sso__parse_token(502, "<html>", 6, 0, &tok, &access, &idt, why), PV_EIO);
	assert_int_equal(sso__parse_token(200, "garbage", 7, 0, &tok, &access, &idt, why), PV_EIO);
	assert_int_equal(sso__parse_token(200, "{\"access_token\":\"a b\"}", 22, 0, &tok, &access,
					  &idt, why),
			 PV_EIO);
	assert_int_equal(sso__parse_token(200, "{\"access_token\":\"at\"}", 21, 1, &tok, &access, &idt,
					  why),
			 PV_EDENIED);
}

static void test_emails(void **state)
{
	char why[SSO_WHY_MAX];
	sso_identity id;
	json_t *ui;

	(void)state;
	ui = sso__parse_userinfo(200, "{\"loginId\":\"ravi@nic.in\",\"sub\":\"7\"}", 35, why);
	assert_non_null(ui);
	assert_int_equal(sso__take_email("loginId", ui, &id, why), PV_OK);
	assert_string_equal(id.email, "ravi@nic.in");
	assert_string_equal(id.subject, "7");
	assert_int_equal(sso__take_email("email", ui, &id, why), PV_EDENIED);
	json_decref(ui);
	ui = sso__parse_userinfo(200, "{\"email\":\"a@b.in\",\"email_verified\":false}", 42, why);
	assert_int_equal(sso__take_email("email", ui, &id, why), PV_EDENIED);
	json_decref(ui);
	assert_null(sso__parse_userinfo(500, "{}", 2, why));
	assert_null(sso__parse_userinfo(200, "[1]", 3, why));
}

/* at_hash and c_hash: the examples of OpenID Connect Core (appendix A.3
 * and A.4, RS256), and the same access token's hashes for SHA-384 and
 * SHA-512 computed with `openssl dgst` (iddawc 1.1.8 hashed RS512 with
 * SHA-384). */
#define AT "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
#define CODE "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"

static int hash_check(const char *json, const char *name, const char *alg, const char *value)
{
	char why[SSO_WHY_MAX] = "";
	json_t *c = json_loads(json, 0, NULL);
	int rc;

	assert_non_null(c);
	rc = sso__check_hash(c, name, alg, value, why);
	if (rc != PV_OK)
		assert_true(strstr(why, name) != NULL);
	json_decref(c);
	return rc;
}

static void test_hashes(void **state)
{
	(void)state;
	assert_int_equal(hash_check("{\"at_hash\":\"77QmUPtjPfzWtF2AnpK9RQ\"}", "at_hash", "RS256", AT), PV_OK);
	assert_int_equal(hash_check("{\"at_hash\":\"77QmUPtjPfzWtF2AnpK9RQ\"}", "at_hash", "ES256", AT), PV_OK);
	assert_int_equal(hash_check("{\"c_hash\":\"LDktKdoQak3Pk0cnXxCltA\"}", "c_hash", "PS256", CODE), PV_OK);
	assert_int_equal(hash_check("{\"at_hash\":\"jtAeDp945y1dDqU3nkIVGNZP1HjH_MFs\"}", "at_hash", "RS384", AT), PV_OK);
	assert_int_equal(hash_check("{\"at_hash\":\"q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM\"}", "at_hash", "RS512", AT), PV_OK);
	assert_int_equal(hash_check("{\"at_hash\":\"q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM\"}", "at_hash", "EdDSA", AT), PV_OK);
	/* absent: nothing to check */
	assert_int_equal(hash_check("{}", "at_hash", "RS256", AT), PV_OK);
	assert_int_equal(hash_check("{}", "c_hash", "RS256", NULL), PV_OK);
	/* the wrong digest, value, length, type; no value; an unknown alg */
	assert_int_equal(hash_check("{\"at_hash\":\"jtAeDp945y1dDqU3nkIVGNZP1HjH_MFs\"}", "at_hash", "RS512", AT), PV_EDENIED);
	assert_int_equal(hash_check("{\"at_hash\":\"77QmUPtjPfzWtF2AnpK9RQ\"}", "at_hash", "RS256", CODE), PV_EDENIED);
	assert_int_equal(hash_check("{\"at_hash\":\"77QmUPtjPfzWtF2AnpK9R\"}", "at_hash", "RS256", AT), PV_EDENIED);
	assert_int_equal(hash_check("{\"at_hash\":\"77QmUPtjPfzWtF2AnpK9RQx\"}", "at_hash", "RS256", AT), PV_EDENIED);
	assert_int_equal(hash_check("{\"at_hash\":\"\"}", "at_hash", "RS256", AT), PV_EDENIED);
	assert_int_equal(hash_check("{\"at_hash\":7}", "at_hash", "RS256", AT), PV_EDENIED);
	assert_int_equal(hash_check("{\"c_hash\":\"LDktKdoQak3Pk0cnXxCltA\"}", "c_hash", "RS256", NULL), PV_EDENIED);
	assert_int_equal(hash_check("{\"at_hash\":\"77QmUPtjPfzWtF2AnpK9RQ\"}", "at_hash", "HS256", AT), PV_EDENIED);
	assert_int_equal(hash_check("{\"at_hash\":\"77QmUPtjPfzWtF2AnpK9RQ\"}", "at_hash", NULL, AT), PV_EDENIED);
}

/* The claims of idt under the key set jwks, or NULL with the reason in
 * why. */
static json_t *signed_claims(const char *jwks, const char *idt, char why[SSO_WHY_MAX])
{
	json_t *ks = json_loads(jwks, 0, NULL), *c;

	assert_non_null(ks);
	why[0] = '\0';
	c = sso__signed_claims(ks, idt, why);
	if (!c)
		assert_true(why[0] != '\0');
	json_decref(ks);
	return c;
}

static int signed_ok(const char *jwks, const char *idt)
{
	char why[SSO_WHY_MAX];
	json_t *c = signed_claims(jwks, idt, why);
	int ok = c != NULL;

	if (c)
		assert_int_equal(claims_of(c), PV_OK);
	json_decref(c);
	return ok;
}

/* Refused, for the reason that names `reason`. */
static void refused_for(const char *jwks, const char *idt, const char *reason)
{
	char why[SSO_WHY_MAX];

	assert_null(signed_claims(jwks, idt, why));
	if (!strstr(why, reason))
		fail_msg("refused for \"%s\", not \"%s\"", why, reason);
}

static void test_signatures(void **state)
{
	char why[SSO_WHY_MAX];
	json_t *c;

	(void)state;
	/* the key its kid names, or the only key when it names none */
	c = signed_claims(JWKS1, T_OK, why);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "sub")), "s");
	json_decref(c);
	assert_true(signed_ok(JWKS2, T_OK));
	assert_true(signed_ok(JWKS1, T_NOKID));
	assert_true(signed_ok(JWKS2, T_ES));
	/* keys of two types under one id: the one that fits, by alg or, when
	 * the keys name none, by type, in either order */
	assert_true(signed_ok(JWKS_SAMEKID, T_ES_A));
	assert_true(signed_ok(JWKS_SAMEKID_NOALG, T_ES_A));
	assert_true(signed_ok(JWKS_SAMEKID_NOALG_REV, T_ES_A));
	assert_true(signed_ok(JWKS_SAMEKID_NOALG, T_RS_A));
	assert_true(signed_ok(JWKS_SAMEKID_NOALG_REV, T_RS_A));
	/* PS256 and EdDSA (Ed25519); not Ed448, whose hashes we cannot check */
	assert_true(signed_ok(JWKS_MORE, T_PS));
	assert_true(signed_ok(JWKS_MORE, T_ED));
	refused_for(JWKS_MORE, T_ED448, "no key");
	/* a kid that is not a string names no key */
	refused_for(JWKS1, T_KID_NUM, "no key");
	refused_for(JWKS1, T_KID_NULL, "no key");
	/* no kid among several keys; a kid the set lacks */
	refused_for(JWKS2, T_NOKID, "no key");
	refused_for(JWKS1, T_ES, "no key");
	/* claims changed after signing; a signature changed, cut or emptied */
	refused_for(JWKS1, T_ALTERED, "signature");
	{
		char cut[sizeof T_OK + 2];

		memcpy(cut, T_OK, sizeof T_OK);
		cut[sizeof T_OK - 4] = cut[sizeof T_OK - 4] == 'A' ? 'B' : 'A';
		refused_for(JWKS1, cut, "signature");
		*strrchr(cut, '.') = '\0';
		assert_false(signed_ok(JWKS1, cut));
		strcat(cut, ".");
		refused_for(JWKS1, cut, "signature");
	}
	/* the signed payload spelled otherwise (rhonabwy verifies these):
	 * read only as signed; a part more or an empty one after the token */
	refused_for(JWKS1, T_PAYLOAD_PAD, "claims");
	refused_for(JWKS1, T_PAYLOAD_BITS, "claims");
	assert_false(signed_ok(JWKS1, T_OK ".x"));
	assert_false(signed_ok(JWKS1, T_OK "."));
	/* an RS256 header naming the EC key; HS256 keyed with the public key;
	 * a JWE; keys, compression (truly deflated) or encryption in the
	 * header; duplicate or non-object claims, each validly signed */
	refused_for(JWKS2, T_E1_HDR_RSA_SIG, "no key");
	refused_for(JWKS1, T_HS, "algorithm");
	assert_false(signed_ok(JWKS1, T_JWE));
	refused_for(JWKS1, T_JKU, "keys");
	refused_for(JWKS1, T_ZIP, "compression");
	refused_for(JWKS1, T_ENC, "encryption");
	refused_for(JWKS1, T_DUP, "claims");
	refused_for(JWKS1, T_ARRAY, "claims");
	/* the key published for encryption, or for another algorithm */
	refused_for(JWKS_ENC, T_OK, "no key");
	refused_for(JWKS_512, T_OK, "no key");
	/* garbage */
	assert_false(signed_ok(JWKS1, ""));
	assert_false(signed_ok(JWKS1, "..."));
	refused_for("{\"keys\":[]}", T_OK, "no key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claims_times),
		cmocka_unit_test(test_claims_parties),
		cmocka_unit_test(test_token_answers),
		cmocka_unit_test(test_emails),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_signatures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
