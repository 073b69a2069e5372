/* handlers: every route handler, declared once (routes.c lists them in
 * the route table; each lives in an api_*.c file). */
#ifndef PV_HTTP_HANDLERS_H
#define PV_HTTP_HANDLERS_H

#include "http/http.h"

void api_healthz(http_req *req, http_resp *resp);
void api_metrics(http_req *req, http_resp *resp);
void api_openapi(http_req *req, http_resp *resp);
void api_site(http_req *req, http_resp *resp);
void api_orgs_search(http_req *req, http_resp *resp);
void api_orgs_get(http_req *req, http_resp *resp);
void api_positions_search(http_req *req, http_resp *resp);
void api_otp_send(http_req *req, http_resp *resp);
void api_otp_verify(http_req *req, http_resp *resp);
void api_auth_otp(http_req *req, http_resp *resp);
void api_auth_password(http_req *req, http_resp *resp);
void api_auth_password_otp(http_req *req, http_resp *resp);
void api_auth_logout(http_req *req, http_resp *resp);
void api_me(http_req *req, http_resp *resp);
void api_me_patch(http_req *req, http_resp *resp);
void api_me_mobile(http_req *req, http_resp *resp);
void api_me_email(http_req *req, http_resp *resp);
void api_me_email_confirm(http_req *req, http_resp *resp);
void api_me_data(http_req *req, http_resp *resp);
void api_me_erasure(http_req *req, http_resp *resp);
void api_legal(http_req *req, http_resp *resp);
void api_sso_start(http_req *req, http_resp *resp);
void api_sso_callback(http_req *req, http_resp *resp);
void api_sso_info(http_req *req, http_resp *resp);
/* 1 when the callback's state (may be NULL) is the one this browser
 * started with: bound, the value of its binding cookie (constant-time
 * comparison). */
int api_sso_bound(const char *bound, const char *state);
void api_registrations(http_req *req, http_resp *resp);
void api_activation(http_req *req, http_resp *resp);
void api_activation_resend(http_req *req, http_resp *resp);
void api_requests_submit(http_req *req, http_resp *resp);
void api_admin_requests(http_req *req, http_resp *resp);
void api_admin_approve(http_req *req, http_resp *resp);
void api_admin_reject(http_req *req, http_resp *resp);
void api_admin_orgs(http_req *req, http_resp *resp);
void api_admin_positions(http_req *req, http_resp *resp);
void api_admin_mdo_admins(http_req *req, http_resp *resp);
void api_admin_audit(http_req *req, http_resp *resp);
void api_admin_mdo_admins_list(http_req *req, http_resp *resp);
void api_admin_mdo_admin_status(http_req *req, http_resp *resp);
void api_admin_orgs_list(http_req *req, http_resp *resp);
void api_admin_org_update(http_req *req, http_resp *resp);
void api_admin_positions_list(http_req *req, http_resp *resp);
void api_admin_position_update(http_req *req, http_resp *resp);
void api_admin_org_types(http_req *req, http_resp *resp);
void api_mdo_users(http_req *req, http_resp *resp);
void api_mdo_user_status(http_req *req, http_resp *resp);
void api_uploads_template(http_req *req, http_resp *resp);
void api_uploads_create(http_req *req, http_resp *resp);
int api_uploads_body(http_req *req, const char *data, size_t n);
void api_uploads_list(http_req *req, http_resp *resp);
void api_uploads_get(http_req *req, http_resp *resp);
void api_uploads_file(http_req *req, http_resp *resp);
void api_uploads_result(http_req *req, http_resp *resp);

#endif
