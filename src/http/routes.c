/* The route table: every endpoint, its method, its authorisation, its
 * metrics name and where its work runs (EXEC_POOL unless said). Handlers
 * live in api_*.c. /metrics is not here: it has its own listener
 * (PRAVESH_METRICS_LISTEN). */
#include "http/handlers.h"
#include "http/http.h"

const struct http_route http_routes[] = {
	{"GET", "/healthz", api_healthz, AUTH_NONE, "healthz", NULL, EXEC_INLINE},
	{"GET", "/api/openapi.json", api_openapi, AUTH_NONE, "openapi", NULL, EXEC_INLINE},
	{"GET", "/api/v1/orgs", api_orgs_search, AUTH_NONE, "orgs_search", NULL, EXEC_INLINE},
	{"GET", "/api/v1/orgs/{id}", api_orgs_get, AUTH_NONE, "orgs_get", NULL, EXEC_INLINE},
	{"GET", "/api/v1/positions", api_positions_search, AUTH_NONE, "positions_search", NULL, EXEC_INLINE},
	{"POST", "/api/v1/otp", api_otp_send, AUTH_NONE, "otp_send", NULL, EXEC_POOL},
	{"POST", "/api/v1/otp/verify", api_otp_verify, AUTH_NONE, "otp_verify", NULL, EXEC_POOL},
	{"POST", "/api/v1/auth/otp", api_auth_otp, AUTH_NONE, "auth_otp", NULL, EXEC_POOL},
	{"POST", "/api/v1/auth/password", api_auth_password, AUTH_NONE, "auth_password", NULL, EXEC_POOL},
	{"POST", "/api/v1/auth/password/otp", api_auth_password_otp, AUTH_NONE, "auth_password_otp", NULL, EXEC_POOL},
	{"POST", "/api/v1/auth/logout", api_auth_logout, AUTH_USER, "auth_logout", NULL, EXEC_POOL},
	{"GET", "/api/v1/me", api_me, AUTH_USER, "me", NULL, EXEC_POOL},
	{"PATCH", "/api/v1/me", api_me_patch, AUTH_USER, "me_patch", NULL, EXEC_POOL},
	{"POST", "/api/v1/me/mobile", api_me_mobile, AUTH_USER, "me_mobile", NULL, EXEC_POOL},
	{"POST", "/api/v1/me/email", api_me_email, AUTH_USER, "me_email", NULL, EXEC_POOL},
	{"POST", "/api/v1/me/email/confirm", api_me_email_confirm, AUTH_USER, "me_email_confirm", NULL, EXEC_POOL},
	{"GET", "/api/v1/me/data", api_me_data, AUTH_USER, "me_data", NULL, EXEC_POOL},
	{"POST", "/api/v1/me/erasure", api_me_erasure, AUTH_USER, "me_erasure", NULL, EXEC_POOL},
	{"GET", "/api/v1/legal/{doc}", api_legal, AUTH_NONE, "legal", NULL, EXEC_INLINE},
	{"GET", "/api/v1/site", api_site, AUTH_NONE, "site", NULL, EXEC_INLINE},
	{"GET", "/api/v1/sso", api_sso_info, AUTH_NONE, "sso_info", NULL, EXEC_INLINE},
	{"GET", "/auth/sso/parichay", api_sso_start, AUTH_NONE, "sso_start", NULL, EXEC_REMOTE},
	{"GET", "/auth/sso/parichay/callback", api_sso_callback, AUTH_NONE, "sso_callback", NULL, EXEC_REMOTE},
	{"POST", "/api/v1/registrations", api_registrations, AUTH_NONE, "registrations", NULL, EXEC_POOL},
	{"POST", "/api/v1/activation", api_activation, AUTH_NONE, "activation", NULL, EXEC_POOL},
	{"POST", "/api/v1/activation/resend", api_activation_resend, AUTH_NONE, "activation_resend", NULL, EXEC_POOL},
	{"POST", "/api/v1/requests", api_requests_submit, AUTH_NONE, "requests_submit", NULL, EXEC_POOL},
	{"GET", "/api/v1/admin/requests", api_admin_requests, AUTH_SPV, "admin_requests", NULL, EXEC_POOL},
	{"POST", "/api/v1/admin/requests/{id}/approve", api_admin_approve, AUTH_SPV, "admin_approve", NULL, EXEC_POOL},
	{"POST", "/api/v1/admin/requests/{id}/reject", api_admin_reject, AUTH_SPV, "admin_reject", NULL, EXEC_POOL},
	{"POST", "/api/v1/admin/orgs", api_admin_orgs, AUTH_SPV, "admin_orgs", NULL, EXEC_POOL},
	{"POST", "/api/v1/admin/positions", api_admin_positions, AUTH_SPV, "admin_positions", NULL, EXEC_POOL},
	{"POST", "/api/v1/admin/mdo-admins", api_admin_mdo_admins, AUTH_SPV, "admin_mdo_admins", NULL, EXEC_POOL},
	{"GET", "/api/v1/admin/audit", api_admin_audit, AUTH_SPV, "admin_audit", NULL, EXEC_POOL},
	{"GET", "/api/v1/mdo/users", api_mdo_users, AUTH_MDO, "mdo_users", NULL, EXEC_POOL},
	{"POST", "/api/v1/mdo/users/{id}/status", api_mdo_user_status, AUTH_MDO, "mdo_user_status", NULL, EXEC_POOL},
	{"GET", "/api/v1/mdo/uploads/template", api_uploads_template, AUTH_MDO, "uploads_template", NULL, EXEC_POOL},
	{"POST", "/api/v1/mdo/uploads", api_uploads_create, AUTH_MDO, "uploads_create", api_uploads_body, EXEC_POOL},
	{"GET", "/api/v1/mdo/uploads", api_uploads_list, AUTH_MDO, "uploads_list", NULL, EXEC_POOL},
	{"GET", "/api/v1/mdo/uploads/{id}", api_uploads_get, AUTH_MDO, "uploads_get", NULL, EXEC_POOL},
	{"GET", "/api/v1/mdo/uploads/{id}/file", api_uploads_file, AUTH_MDO, "uploads_file", NULL, EXEC_POOL},
	{"GET", "/api/v1/mdo/uploads/{id}/result", api_uploads_result, AUTH_MDO, "uploads_result", NULL, EXEC_POOL},
};

const size_t http_nroutes = sizeof http_routes / sizeof http_routes[0];
