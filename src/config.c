#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

enum cfg_type { CFG_STR, CFG_INT, CFG_I64 };

struct cfg_setting {
	const char *flag; /* without the leading "--"; NULL: environment only */
	const char *env;
	const char *def; /* NULL: unset */
	enum cfg_type type;
	size_t off;
	const char *help;
};

#define S(f, e, d, field, h) {f, e, d, CFG_STR, offsetof(pv_config, field), h}
#define I(f, e, d, field, h) {f, e, d, CFG_INT, offsetof(pv_config, field), h}
#define L(f, e, d, field, h) {f, e, d, CFG_I64, offsetof(pv_config, field), h}

static const struct cfg_setting cfg_table[] = {
	S("db", "PRAVESH_DB", "sqlite:./pravesh-data/pravesh.db", db,
	  "the store: sqlite:PATH, a bare path, or a PostgreSQL URI postgresql://user:password@host:port/db?sslmode=... (any libpq connection URI)"),
	L("pg-statement-timeout-ms", "PRAVESH_PG_STATEMENT_TIMEOUT_MS", "30000",
	  pg_statement_timeout_ms,
	  "PostgreSQL: statement_timeout of every connection, ms (0: none); a statement cut short fails its request"),
	L("pg-lock-timeout-ms", "PRAVESH_PG_LOCK_TIMEOUT_MS", "5000",
	  pg_lock_timeout_ms,
	  "PostgreSQL: lock_timeout of every connection, ms (0: none); a transaction that waited this long for a lock is run again"),
	S(NULL, "PRAVESH_SQLITE_SYNC", "full", sqlite_sync,
	  "SQLite: full (every write is on disk before it is answered) or normal (faster; the last writes before a power cut may be lost)"),
	S("data-dir", "PRAVESH_DATA_DIR", "./pravesh-data", data_dir,
	  "uploaded and result files, the server key"),
	S("listen", "PRAVESH_LISTEN", "127.0.0.1:8080", listen,
	  "address:port to serve on; port 0 picks a free one and prints it"),
	S("public-url", "PRAVESH_PUBLIC_URL", NULL, public_url,
	  "the URL users see (links in e-mails, cookie Secure flag, SSO redirect); default http://<listen>"),
	S("web-root", "PRAVESH_WEB_ROOT", "./web", web_root,
	  "folder of the static web pages"),
	I("workers", "PRAVESH_WORKERS", "0", workers,
	  "HTTP worker threads (0: number of cores)"),
	I("pool-threads", "PRAVESH_POOL_THREADS", "0", pool_threads,
	  "threads doing the work of requests (0: 16 per core on SQLite, 4 on PostgreSQL)"),
	I("queue-max", "PRAVESH_QUEUE_MAX", "256", queue_max,
	  "requests waiting for a work thread; beyond it the server answers 503 at once"),
	I("queue-timeout-ms", "PRAVESH_QUEUE_TIMEOUT_MS", "2000", queue_timeout_ms,
	  "a request that waited longer for a work thread answers 503 (0: no limit)"),
	I("max-connections", "PRAVESH_MAX_CONNECTIONS", "4096", max_conn,
	  "open connections in all"),
	I("max-conn-per-ip", "PRAVESH_MAX_CONN_PER_IP", "64", max_conn_per_ip,
	  "open connections per client address (trusted proxies exempt; 0: no limit)"),
	I("header-timeout", "PRAVESH_HEADER_TIMEOUT", "10", header_timeout,
	  "seconds for a whole request header, from the connection's start or its previous answer"),
	I("body-timeout", "PRAVESH_BODY_TIMEOUT", "30", body_timeout,
	  "seconds a request body (or an answer) may take at least; longer ones must keep --min-rate"),
	L("min-rate", "PRAVESH_MIN_RATE", "16384", min_rate,
	  "bytes per second a long upload or download must keep on average"),
	S(NULL, "PRAVESH_TRUSTED_PROXIES", "", trusted_proxies,
	  "reverse proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For names the client"),
	S(NULL, "PRAVESH_METRICS_LISTEN", "", metrics_listen,
	  "host:port of the separate /metrics listener (an internal interface); empty: off"),
	L("max-body", "PRAVESH_MAX_BODY", "65536", max_body,
	  "largest JSON request body in bytes"),
	S("log", "PRAVESH_LOG", "info", log,
	  "log level: debug, info, warn, error (JSON lines on standard error)"),
	S("sms", "PRAVESH_SMS", "log", sms,
	  "SMS transport: log, file:PATH or http"),
	S("mail", "PRAVESH_MAIL", "log", mail,
	  "e-mail transport: log, file:PATH, smtp://host:port or smtps://host:port"),
	S("mail-from", "PRAVESH_MAIL_FROM", "Pravesh <no-reply@localhost>",
	  mail_from, "sender of e-mails"),
	S("templates", "PRAVESH_TEMPLATES", "./templates", templates,
	  "folder of the message templates (en, hi)"),
	S(NULL, "PRAVESH_SMS_URL", NULL, sms_url, "HTTP SMS gateway URL"),
	S(NULL, "PRAVESH_SMS_METHOD", "POST", sms_method,
	  "HTTP SMS gateway method"),
	S(NULL, "PRAVESH_SMS_HEADERS", NULL, sms_headers,
	  "HTTP SMS gateway headers, 'Name: value' lines"),
	S(NULL, "PRAVESH_SMS_BODY", NULL, sms_body,
	  "HTTP SMS gateway body template with {{mobile}}, {{text}}, {{template_id}}"),
	I(NULL, "PRAVESH_SMS_TIMEOUT", "15", sms_timeout,
	  "seconds an SMS gateway request may take in all, at most 45 (connecting: at most 5); then it is retried later"),
	I(NULL, "PRAVESH_MAIL_TIMEOUT", "30", mail_timeout,
	  "seconds an SMTP delivery may take in all, at most 45 (connecting: at most 5); then it is retried later"),
	I("notify-workers", "PRAVESH_NOTIFY_WORKERS", "2", notify_workers,
	  "threads delivering the outbox"),
	S("official-domains", "PRAVESH_OFFICIAL_DOMAINS", "gov.in,nic.in",
	  official_domains, "official e-mail domains (sub-domains included)"),
	I("otp-ttl", "PRAVESH_OTP_TTL", "300", otp_ttl,
	  "seconds a one-time password stays valid"),
	I("otp-resend", "PRAVESH_OTP_RESEND", "30", otp_resend,
	  "seconds before a new code may be sent to the same number"),
	I("otp-max-tries", "PRAVESH_OTP_MAX_TRIES", "3", otp_max_tries,
	  "wrong tries that kill a code"),
	I("otp-per-hour", "PRAVESH_OTP_PER_HOUR", "5", otp_per_hour,
	  "codes per number per hour"),
	I("otp-per-day", "PRAVESH_OTP_PER_DAY", "20", otp_per_day,
	  "codes per number per day"),
	I("otp-per-ip-hour", "PRAVESH_OTP_PER_IP_HOUR", "30", otp_per_ip_hour,
	  "codes per client address per hour"),
	I("otp-number-per-hour", "PRAVESH_OTP_NUMBER_PER_HOUR", "20", otp_number_per_hour,
	  "codes per number per hour from all addresses together"),
	I("otp-number-per-day", "PRAVESH_OTP_NUMBER_PER_DAY", "60", otp_number_per_day,
	  "codes per number per day from all addresses together"),
	I("login-fail-lock", "PRAVESH_LOGIN_FAIL_LOCK", "100", login_fail_lock,
	  "consecutive failed logins that lock a number"),
	I("login-fail-lock-secs", "PRAVESH_LOGIN_FAIL_LOCK_SECS", "3600",
	  login_fail_lock_secs, "how long such a lock lasts, in seconds"),
	I("login-fail-per-ip-hour", "PRAVESH_LOGIN_FAIL_PER_IP_HOUR", "30",
	  login_fail_per_ip_hour, "wrong codes per client address per hour (logins and verifications)"),
	I("password-fail-per-ip-hour", "PRAVESH_PASSWORD_FAIL_PER_IP_HOUR", "10",
	  password_fail_per_ip_hour, "password attempts per client address per hour (a success gives its attempt back)"),
	I("password-fail-lock", "PRAVESH_PASSWORD_FAIL_LOCK", "50", password_fail_lock,
	  "failed passwords within an hour that lock a username for an hour"),
	S(NULL, "PRAVESH_ADMIN_SECOND_FACTOR", "sms", admin_second_factor,
	  "administrators' second factor after the password: sms or off"),
	I("anon-per-ip-hour", "PRAVESH_ANON_PER_IP_HOUR", "120", anon_per_ip_hour,
	  "anonymous writes (registrations, activations, requests, re-sends) per client address per hour"),
	I(NULL, "PRAVESH_SSO_PER_IP_HOUR", "60", sso_per_ip_hour,
	  "single sign-on starts and callbacks per client address per hour"),
	I("sweep-interval", "PRAVESH_SWEEP_INTERVAL", "60", sweep_interval,
	  "seconds between sweeps: expired codes, tokens, sessions and limits, erasure of closed accounts, retention"),
	I(NULL, "PRAVESH_ERASURE_GRACE_DAYS", "30", erasure_grace_days,
	  "days between a person closing their account and the erasure of its data (0: within a sweep interval)"),
	I(NULL, "PRAVESH_UPLOAD_RETENTION_DAYS", "180", upload_retention_days,
	  "days a finished bulk upload's file and result file are kept (0: for ever)"),
	I(NULL, "PRAVESH_MESSAGE_RETENTION_DAYS", "7", message_retention_days,
	  "days a sent or failed SMS or e-mail (its recipient and template) is kept (0: for ever)"),
	I(NULL, "PRAVESH_AUDIT_RETENTION_DAYS", "365", audit_retention_days,
	  "days audit rows are kept: at least 365 (DPDP Rules 2025), 0: for ever"),
	I(NULL, "PRAVESH_SELF_PER_HOUR", "30", self_per_hour,
	  "a logged-in person's changes and downloads of their own data per hour"),
	I(NULL, "PRAVESH_EMAIL_CHANGE_PER_DAY", "5", email_change_per_day,
	  "changes of e-mail address a person may ask for per day"),
	S(NULL, "PRAVESH_GRIEVANCE_EMAIL", NULL, grievance_email,
	  "the grievance officer's e-mail address, shown in the privacy notice"),
	S(NULL, "PRAVESH_HELP_URL", NULL, help_url,
	  "where 'Need help? contact us here' leads (a URL)"),
	S(NULL, "PRAVESH_HELP_EMAIL", NULL, help_email,
	  "or the e-mail address it writes to, when PRAVESH_HELP_URL is unset"),
	I("activation-ttl", "PRAVESH_ACTIVATION_TTL", "86400", activation_ttl,
	  "seconds an activation link stays valid"),
	I("activation-resend-per-hour", "PRAVESH_ACTIVATION_RESEND_PER_HOUR", "3",
	  activation_resend_per_hour, "activation e-mails re-sent per account per hour"),
	I("session-idle", "PRAVESH_SESSION_IDLE", "1800", session_idle,
	  "seconds of inactivity that end a session"),
	I("session-absolute", "PRAVESH_SESSION_ABSOLUTE", "43200",
	  session_absolute, "seconds after login that end a session"),
	L("upload-max-bytes", "PRAVESH_UPLOAD_MAX_BYTES", "104857600",
	  upload_max_bytes, "largest bulk upload file in bytes"),
	I("upload-workers", "PRAVESH_UPLOAD_WORKERS", "1", upload_workers,
	  "threads processing bulk uploads"),
	S(NULL, "PRAVESH_SSO_MODE", NULL, sso_mode,
	  "single sign-on: oidc (discovery + id_token) or oauth2 (explicit endpoints + user details, Parichay); unset: off (docs/sso.md)"),
	S(NULL, "PRAVESH_SSO_NAME", "Parichay", sso_name,
	  "name of the identity provider shown on the login button"),
	S(NULL, "PRAVESH_SSO_ISSUER", NULL, sso_issuer,
	  "oidc mode: issuer URL, exactly as the provider's discovery document states it"),
	S(NULL, "PRAVESH_SSO_CLIENT_ID", NULL, sso_client_id,
	  "client id registered at the provider"),
	S(NULL, "PRAVESH_SSO_CLIENT_SECRET", NULL, sso_client_secret,
	  "client secret (unset: a public client, PKCE only)"),
	S(NULL, "PRAVESH_SSO_TOKEN_AUTH", "basic", sso_token_auth,
	  "how the client authenticates at the token endpoint: basic (client_secret_basic) or post (client_secret_post)"),
	S(NULL, "PRAVESH_SSO_SCOPE", "openid email", sso_scope,
	  "scopes asked for, space-separated (Parichay: as registered for the client)"),
	S(NULL, "PRAVESH_SSO_AUTHORIZE_URL", NULL, sso_authorize_url,
	  "oauth2 mode: authorize endpoint"),
	S(NULL, "PRAVESH_SSO_TOKEN_URL", NULL, sso_token_url,
	  "oauth2 mode: token endpoint"),
	S(NULL, "PRAVESH_SSO_USERINFO_URL", NULL, sso_userinfo_url,
	  "oauth2 mode: user details endpoint (Parichay's userdetails); oidc: overrides discovery"),
	S(NULL, "PRAVESH_SSO_REVOKE_URL", NULL, sso_revoke_url,
	  "revoke endpoint (optional; oidc: default from discovery): the provider's tokens are revoked once the e-mail is read"),
	S(NULL, "PRAVESH_SSO_EMAIL_CLAIM", "email", sso_email_claim,
	  "claim holding the e-mail (Parichay: loginId)"),
	I(NULL, "PRAVESH_SSO_MAX_AGE", "600", sso_max_age,
	  "seconds a login attempt (state, nonce, PKCE verifier) stays valid, at most 600"),
	I(NULL, "PRAVESH_SSO_TIMEOUT", "10", sso_timeout,
	  "seconds allowed for each call to the identity provider"),
	I(NULL, "PRAVESH_SSO_CONCURRENCY", "4", sso_concurrency,
	  "calls to the identity provider running at once (more wait, or get 503)"),
	S("learning-url", "PRAVESH_LEARNING_URL", "https://igotkarmayogi.gov.in/", learning_url,
	  "the learning platform a logged-in user goes on to from the home page (http:// or https://; empty: no link)"),
	S("bootstrap-admin", "PRAVESH_BOOTSTRAP_ADMIN", NULL, bootstrap_admin,
	  "serve: when no administrator USERNAME exists, create it as SPV administrator and print its password once"),
	S("bootstrap-org", "PRAVESH_BOOTSTRAP_ORG", "d-dopt", bootstrap_org,
	  "organisation of the bootstrap administrator"),
	S(NULL, "PRAVESH_SECRET_KEY", NULL, secret_key,
	  "server key, 64 hex digits (default: <data-dir>/server.key, created once, mode 0600)"),
};

#define CFG_N (sizeof cfg_table / sizeof cfg_table[0])

static int cfg_set(pv_config *cfg, const struct cfg_setting *s,
		   const char *val, const char *from)
{
	char *end;
	void *field = (char *)cfg + s->off;
	long long v;

	if (s->type == CFG_STR) {
		*(const char **)field = val;
		return PV_OK;
	}
	errno = 0;
	v = strtoll(val, &end, 10);
	if (errno || end == val || *end || v < 0 ||
	    (s->type == CFG_INT && v > 1000000000)) {
		fprintf(stderr, "pravesh: %s: '%s' is not a valid number\n",
			from, val);
		return PV_EINVAL;
	}
	if (s->type == CFG_INT)
		*(int *)field = (int)v;
	else
		*(int64_t *)field = v;
	return PV_OK;
}

int config_parse(pv_config *cfg, int argc, char **argv, const char **pos,
		 size_t maxpos, size_t *npos, int *help)
{
	size_t i;
	int a, rc;

	memset(cfg, 0, sizeof *cfg);
	*npos = 0;
	*help = 0;
	for (i = 0; i < CFG_N; i++) {
		const struct cfg_setting *s = &cfg_table[i];
		const char *env = getenv(s->env);
		const char *val = (env && *env) ? env : s->def;

		if (val && (rc = cfg_set(cfg, s, val, s->env)) != PV_OK)
			return rc;
	}
	for (a = 0; a < argc; a++) {
		const char *arg = argv[a];
		const struct cfg_setting *hit = NULL;
		const char *val = NULL;
		size_t nlen;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			*help = 1;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			if (*npos >= maxpos) {
				fprintf(stderr, "pravesh: too many arguments\n");
				return PV_EINVAL;
			}
			pos[(*npos)++] = arg;
			continue;
		}
		arg += 2;
		nlen = strcspn(arg, "=");
		for (i = 0; i < CFG_N && !hit; i++)
			if (cfg_table[i].flag && strlen(cfg_table[i].flag) == nlen &&
			    strncmp(cfg_table[i].flag, arg, nlen) == 0)
				hit = &cfg_table[i];
		if (!hit) {
			/* a command's own flag (--org, --role...): positional */
			if (*npos >= maxpos) {
				fprintf(stderr, "pravesh: too many arguments\n");
				return PV_EINVAL;
			}
			pos[(*npos)++] = argv[a];
			continue;
		}
		if (arg[nlen] == '=')
			val = arg + nlen + 1;
		else if (a + 1 < argc)
			val = argv[++a];
		else {
			fprintf(stderr, "pravesh: --%s needs a value\n", hit->flag);
			return PV_EINVAL;
		}
		if ((rc = cfg_set(cfg, hit, val, argv[a])) != PV_OK)
			return rc;
	}
	return PV_OK;
}

void config_print_help(FILE *out)
{
	size_t i;

	fprintf(out, "Settings (flags win over environment variables):\n");
	for (i = 0; i < CFG_N; i++) {
		const struct cfg_setting *s = &cfg_table[i];
		char flag[64];

		snprintf(flag, sizeof flag, "%s%s", s->flag ? "--" : "",
			 s->flag ? s->flag : "");
		fprintf(out, "  %-24s %-30s default: %s\n      %s\n", flag,
			s->env, s->def ? s->def : "(unset)", s->help);
	}
}
