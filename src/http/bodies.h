/* bodies: the JSON bodies of the public and SPV routes, read into the
 * input structs of core/, which validates them. The handlers call these,
 * and so does the fuzz harness tests/fuzz/fuzz_json.c: one parser for both.
 * Each answers PV_OK, or PV_EINVAL after writing a 400 problem into resp
 * (a member of the wrong type, a missing or malformed mobile, an unknown
 * purpose). The
 * strings of the inputs point into body, which must outlive them; the
 * language is left to the handler (http_lang also reads a header). */
#ifndef PV_HTTP_BODIES_H
#define PV_HTTP_BODIES_H

#include <jansson.h>

#include "core/registration.h"
#include "core/requests.h"
#include "http/http.h"

/* POST /api/v1/registrations */
int body_registration(json_t *body, reg_input *in, http_resp *resp);
/* POST /api/v1/requests */
int body_request(json_t *body, rq_input *in, http_resp *resp);
/* POST /api/v1/admin/requests/{id}/approve and .../reject (actor and
 * address are the handler's) */
int body_decision(json_t *body, rq_decision *d, http_resp *resp);

/* The OTP bodies: POST /api/v1/otp (mobile, purpose), /api/v1/otp/verify
 * (mobile, purpose that buys a verification token, code) and
 * /api/v1/auth/otp (mobile, code). The mobile is normalised; purpose and
 * code are NULL when absent (code is not checked here: a malformed code
 * is a wrong code, counted as such). */
enum body_otp_kind { BODY_OTP_SEND, BODY_OTP_VERIFY, BODY_OTP_LOGIN };
typedef struct body_otp_in {
	char mobile[STORE_MOBILE_MAX];
	const char *purpose, *code;
} body_otp_in;
int body_otp(json_t *body, enum body_otp_kind kind, body_otp_in *out, http_resp *resp);

#endif
