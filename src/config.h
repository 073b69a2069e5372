/* config: every setting of Pravesh, given as a flag (--name value or
 * --name=value) or an environment variable (PRAVESH_NAME); flags win.
 * One table (config.c) lists them all with defaults and help, so `help`,
 * `COMMAND --help`, docs and parsing cannot drift apart. */
#ifndef PV_CONFIG_H
#define PV_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

typedef struct pv_config {
	/* storage */
	const char *db, *data_dir;
	const char *sqlite_sync; /* "full" or "normal" (store_options) */
	int64_t pg_statement_timeout_ms, pg_lock_timeout_ms;
	/* HTTP */
	const char *listen, *public_url, *web_root, *metrics_listen;
	const char *trusted_proxies;
	int workers, pool_threads, queue_max, queue_timeout_ms;
	int max_conn, max_conn_per_ip, header_timeout, body_timeout;
	int64_t max_body, min_rate;
	/* logs */
	const char *log;
	/* notifications */
	const char *sms, *mail, *mail_from, *templates;
	const char *sms_url, *sms_method, *sms_headers, *sms_body;
	int sms_timeout, mail_timeout; /* seconds */
	int notify_workers;
	/* rules */
	const char *official_domains;
	/* one-time passwords */
	int otp_ttl, otp_resend, otp_max_tries, otp_per_hour, otp_per_day,
		otp_per_ip_hour, otp_number_per_hour, otp_number_per_day,
		login_fail_lock, login_fail_lock_secs, login_fail_per_ip_hour;
	/* other limits per client address, per hour */
	int anon_per_ip_hour, sso_per_ip_hour;
	/* administrators */
	const char *admin_second_factor;
	int password_fail_per_ip_hour, password_fail_lock;
	/* the sweeper */
	int sweep_interval;
	/* the person's own data: erasure, retention, limits, contacts */
	int erasure_grace_days, upload_retention_days, message_retention_days,
		audit_retention_days, self_per_hour, email_change_per_day;
	const char *grievance_email, *help_url, *help_email;
	/* activation links */
	int activation_ttl, activation_resend_per_hour;
	/* sessions */
	int session_idle, session_absolute;
	/* uploads */
	int64_t upload_max_bytes;
	int upload_workers;
	/* single sign-on */
	const char *sso_mode, *sso_issuer, *sso_client_id, *sso_client_secret,
		*sso_scope, *sso_authorize_url, *sso_token_url,
		*sso_userinfo_url, *sso_revoke_url, *sso_email_claim;
	const char *sso_name, *sso_token_auth;
	int sso_max_age, sso_timeout, sso_concurrency;
	/* the learning platform the home page links to ("" = none) */
	const char *learning_url;
	/* the bootstrap administrator (make run) */
	const char *bootstrap_admin, *bootstrap_org;
	/* the server key (hex), else <data-dir>/server.key */
	const char *secret_key;
} pv_config;

/* Fills cfg from the defaults, then the environment, then argv (flags
 * known to the table; others are left in the positional list). Positional
 * arguments are returned in pos (pointers into argv, at most maxpos) and
 * *npos. Returns PV_OK, or PV_EINVAL after printing the reason to stderr.
 * Strings point into argv, the environment or static defaults: nothing to
 * free. `--help` sets *help. */
int config_parse(pv_config *cfg, int argc, char **argv, const char **pos,
		 size_t maxpos, size_t *npos, int *help);

/* Prints every setting with its flag, variable, default and meaning. */
void config_print_help(FILE *out);

#endif
