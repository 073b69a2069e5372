/* The route table: every endpoint, its method, its authorisation and its
 * metrics name. Handlers live in api_*.c. */
#include "http/handlers.h"
#include "http/http.h"

const struct http_route http_routes[] = {
	{"GET", "/healthz", api_healthz, AUTH_NONE, "healthz", NULL},
	{"GET", "/metrics", api_metrics, AUTH_NONE, "metrics", NULL},
	{"GET", "/api/openapi.json", api_openapi, AUTH_NONE, "openapi", NULL},
	{"GET", "/api/v1/orgs", api_orgs_search, AUTH_NONE, "orgs_search", NULL},
	{"GET", "/api/v1/orgs/{id}", api_orgs_get, AUTH_NONE, "orgs_get", NULL},
	{"GET", "/api/v1/positions", api_positions_search, AUTH_NONE, "positions_search", NULL},
	{"POST", "/api/v1/otp", api_otp_send, AUTH_NONE, "otp_send", NULL},
	{"POST", "/api/v1/otp/verify", api_otp_verify, AUTH_NONE, "otp_verify", NULL},
	{"POST", "/api/v1/auth/otp", api_auth_otp, AUTH_NONE, "auth_otp", NULL},
	{"POST", "/api/v1/auth/password", api_auth_password, AUTH_NONE, "auth_password", NULL},
	{"POST", "/api/v1/auth/logout", api_auth_logout, AUTH_USER, "auth_logout", NULL},
	{"GET", "/api/v1/me", api_me, AUTH_USER, "me", NULL},
	{"GET", "/api/v1/site", api_site, AUTH_NONE, "site", NULL},
	{"GET", "/api/v1/sso", api_sso_info, AUTH_NONE, "sso_info", NULL},
	{"GET", "/auth/sso/parichay", api_sso_start, AUTH_NONE, "sso_start", NULL},
	{"GET", "/auth/sso/parichay/callback", api_sso_callback, AUTH_NONE, "sso_callback", NULL},
	{"POST", "/api/v1/registrations", api_registrations, AUTH_NONE, "registrations", NULL},
	{"POST", "/api/v1/activation", api_activation, AUTH_NONE, "activation", NULL},
	{"POST", "/api/v1/activation/resend", api_activation_resend, AUTH_NONE, "activation_resend", NULL},
	{"POST", "/api/v1/requests", api_requests_submit, AUTH_NONE, "requests_submit", NULL},
	{"GET", "/api/v1/admin/requests", api_admin_requests, AUTH_SPV, "admin_requests", NULL},
	{"POST", "/api/v1/admin/requests/{id}/approve", api_admin_approve, AUTH_SPV, "admin_approve", NULL},
	{"POST", "/api/v1/admin/requests/{id}/reject", api_admin_reject, AUTH_SPV, "admin_reject", NULL},
	{"POST", "/api/v1/admin/orgs", api_admin_orgs, AUTH_SPV, "admin_orgs", NULL},
	{"POST", "/api/v1/admin/positions", api_admin_positions, AUTH_SPV, "admin_positions", NULL},
	{"POST", "/api/v1/admin/mdo-admins", api_admin_mdo_admins, AUTH_SPV, "admin_mdo_admins", NULL},
	{"GET", "/api/v1/admin/audit", api_admin_audit, AUTH_SPV, "admin_audit", NULL},
	{"GET", "/api/v1/mdo/users", api_mdo_users, AUTH_MDO, "mdo_users", NULL},
	{"POST", "/api/v1/mdo/users/{id}/status", api_mdo_user_status, AUTH_MDO, "mdo_user_status", NULL},
	{"GET", "/api/v1/mdo/uploads/template", api_uploads_template, AUTH_MDO, "uploads_template", NULL},
	{"POST", "/api/v1/mdo/uploads", api_uploads_create, AUTH_MDO, "uploads_create", api_uploads_body},
	{"GET", "/api/v1/mdo/uploads", api_uploads_list, AUTH_MDO, "uploads_list", NULL},
	{"GET", "/api/v1/mdo/uploads/{id}", api_uploads_get, AUTH_MDO, "uploads_get", NULL},
	{"GET", "/api/v1/mdo/uploads/{id}/file", api_uploads_file, AUTH_MDO, "uploads_file", NULL},
	{"GET", "/api/v1/mdo/uploads/{id}/result", api_uploads_result, AUTH_MDO, "uploads_result", NULL},
};

const size_t http_nroutes = sizeof http_routes / sizeof http_routes[0];
