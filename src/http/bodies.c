/* bodies: JSON request bodies into core's inputs (see bodies.h). Types are
 * checked here; the rules (names, e-mails, mobiles, purposes) are core's
 * functions. */
#include "http/bodies.h"

#include <string.h>

#include "core/fielderr.h"
#include "core/otp.h"
#include "core/validate.h"
#include "util/err.h"

int body_registration(json_t *body, reg_input *in, http_resp *resp)
{
	static const char *const strs[] = {"first_name", "last_name", "position_id", "email",
					   "mobile", "verification_token", "org_id",
					   "terms_version", "privacy_version", NULL};

	int rc;

	memset(in, 0, sizeof *in);
	if ((rc = http_check_strings(body, strs, resp)) != PV_OK)
		return rc;
	in->first_name = http_jstr(body, "first_name");
	in->last_name = http_jstr(body, "last_name");
	in->position_id = http_jstr(body, "position_id");
	in->email = http_jstr(body, "email");
	in->mobile = http_jstr(body, "mobile");
	in->verification_token = http_jstr(body, "verification_token");
	in->org_id = http_jstr(body, "org_id");
	in->terms_version = http_jstr(body, "terms_version");
	in->privacy_version = http_jstr(body, "privacy_version");
	in->declaration = http_jbool(body, "declaration");
	in->terms = http_jbool(body, "terms");
	return PV_OK;
}

int body_request(json_t *body, rq_input *in, http_resp *resp)
{
	static const char *const strs[] = {"kind", "full_name", "email", "mobile", "verification_token",
					   "name", "details", "sector", "parent_id", NULL};

	int rc;

	memset(in, 0, sizeof *in);
	if ((rc = http_check_strings(body, strs, resp)) != PV_OK)
		return rc;
	in->kind = http_jstr(body, "kind");
	in->full_name = http_jstr(body, "full_name");
	in->email = http_jstr(body, "email");
	in->mobile = http_jstr(body, "mobile");
	in->verification_token = http_jstr(body, "verification_token");
	in->name = http_jstr(body, "name");
	in->details = http_jstr(body, "details");
	in->sector = http_jstr(body, "sector");
	in->parent_id = http_jstr(body, "parent_id");
	in->declaration = http_jbool(body, "declaration");
	return PV_OK;
}

int body_decision(json_t *body, rq_decision *d, http_resp *resp)
{
	static const char *const strs[] = {"name", "sector", "type", "parent_id", "reason", NULL};

	int rc;

	memset(d, 0, sizeof *d);
	if ((rc = http_check_strings(body, strs, resp)) != PV_OK)
		return rc;
	d->name = http_jstr(body, "name");
	d->sector = http_jstr(body, "sector");
	d->type = http_jstr(body, "type");
	d->parent_id = http_jstr(body, "parent_id");
	d->reason = http_jstr(body, "reason");
	return PV_OK;
}

static void body_purpose_problem(http_resp *resp, const char *detail)
{
	http_problem(resp, 400, "invalid_purpose", detail,
		     json_pack("[o]", http_field_error("purpose", "invalid_purpose", detail)));
}

int body_otp(json_t *body, enum body_otp_kind kind, body_otp_in *out, http_resp *resp)
{
	const char *m = http_jstr(body, "mobile");

	memset(out, 0, sizeof *out);
	if (!m || !val_mobile(m, strlen(m), out->mobile)) {
		http_problem(resp, 400, "invalid_mobile", MSG_INVALID_MOBILE,
			     json_pack("[o]", http_field_error("mobile", m ? "invalid_mobile" : "required",
							       MSG_INVALID_MOBILE)));
		return PV_EINVAL;
	}
	out->code = http_jstr(body, "code");
	if (kind == BODY_OTP_LOGIN)
		return PV_OK;
	out->purpose = http_jstr(body, "purpose");
	if (kind == BODY_OTP_SEND && !otp_purpose_valid(out->purpose)) {
		body_purpose_problem(resp, "purpose must be register, request, login, change_mobile or erasure");
		return PV_EINVAL;
	}
	if (kind == BODY_OTP_VERIFY && !otp_purpose_verifiable(out->purpose)) {
		body_purpose_problem(resp, "purpose must be register, request, change_mobile or erasure");
		return PV_EINVAL;
	}
	return PV_OK;
}
