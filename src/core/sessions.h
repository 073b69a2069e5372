/* sessions: 256-bit opaque tokens, stored only as keyed hashes, with an
 * idle and an absolute timeout, revocable, a new token at every login.
 * Each session has a CSRF token (double-submit cookie) whose hash is kept
 * with it. */
#ifndef PV_SESSIONS_H
#define PV_SESSIONS_H

#include <stdint.h>

#include "core/keys.h"
#include "core/otp.h"
#include "store/store.h"

typedef struct sess_svc {
	store *st;
	const keys *k;
	int idle_s;     /* 1800 */
	int absolute_s; /* 43200 */
} sess_svc;

/* last_seen is written at most this often, so reads stay reads */
#define SESS_TOUCH_MS 30000

/* Starts a session for user_id and records the login (the user's
 * last_login_at); writes the token and the CSRF token. elevated: the
 * login proved a password and its second factor (the user's administrator
 * roles are active in this session only then). ip: the client address of
 * the login (NULL: unknown), kept with the session and shown to its owner
 * in their data. Run it inside the login's transaction when there is one. */
int sess_create(const sess_svc *svc, const char *user_id, int64_t now,
		int elevated, const char *ip, char token[OTP_TOKEN_LEN],
		char csrf[OTP_TOKEN_LEN]);

/* A session's secrets made ahead of its transaction: the two tokens and
 * their keyed hashes. Random and hashing work need no store, so a login
 * does it before it queues for the one writer. The holder wipes it
 * (sodium_memzero) when done. */
typedef struct sess_secrets {
	char token[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
	unsigned char hash[STORE_HASH_LEN], csrf_hash[STORE_HASH_LEN];
} sess_secrets;
int sess_secrets_make(const sess_svc *svc, sess_secrets *out);
/* sess_create with secrets made by sess_secrets_make. */
int sess_create_with(const sess_svc *svc, const sess_secrets *sec, const char *user_id,
		     int64_t now, int elevated, const char *ip);


/* Logs in with a mobile number and a login code, in ONE store
 * transaction: the code is checked (and used up, or its failure counted),
 * the user looked up and, when active, a session started. */
enum sess_login {
	SESS_LOGIN_OK = 0,
	SESS_LOGIN_FAILED,        /* wrong, expired or no code; unknown number */
	SESS_LOGIN_CODE_DEAD,     /* too many wrong tries: a new code is needed */
	SESS_LOGIN_NUMBER_LOCKED, /* retry_after_s */
	SESS_LOGIN_NOT_ACTIVATED,
	SESS_LOGIN_INACTIVE,
	SESS_LOGIN_RATE_LIMITED   /* this address failed too often: retry_after_s */
};
typedef struct sess_login_result {
	enum sess_login status;
	int64_t retry_after_s;
	/* SESS_LOGIN_FAILED after a wrong code of a live challenge: the tries
	 * that code has left (> 0); 0 when there was no live code. The same
	 * for registered and unknown numbers (both have a challenge). */
	int attempts_left;
	store_user user;
	char token[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
} sess_login_result;
int sess_login_otp(const sess_svc *svc, const otp_svc *otp, const char *mobile,
		   const char *code, const char *ip, int64_t now, sess_login_result *res);

/* The same login without waiting for the store (store_tx_async): done(job,
 * rc) is called once with what sess_login_otp would have answered and
 * job->res filled, on this thread before sess_login_otp_async returns or
 * later on the store's thread (see store_tx_async: done must be short and
 * must not start a transaction). The caller owns job (mobile, code and ip
 * are copied into it) and keeps it until done; done may free it. */
typedef struct sess_login_job sess_login_job;
typedef void (*sess_login_done)(sess_login_job *job, int rc);
struct sess_login_job {
	sess_login_result res; /* the answer, for done */
	void *ctx;             /* the caller's */
	/* private */
	const sess_svc *svc;
	const otp_svc *otp;
	char mobile[STORE_MOBILE_MAX], code[16], ip[STORE_IP_MAX];
	int64_t now;
	sess_login_done done;
	sess_secrets sec; /* made before the transaction */
};
void sess_login_otp_async(const sess_svc *svc, const otp_svc *otp, const char *mobile,
			  const char *code, const char *ip, int64_t now,
			  sess_login_job *job, sess_login_done done);

/* Logs in the user whose e-mail a single sign-on provider vouched for:
 * only an active user whose e-mail is official and proven (activation link
 * used, or vouched for by an MDO's bulk upload or by the administrator who
 * created the account; an administrator activating
 * a pending self-registration proves nothing) gets an ordinary user's
 * session. */
enum sess_sso { SESS_SSO_OK = 0, SESS_SSO_NOT_REGISTERED, SESS_SSO_INACTIVE };
typedef struct sess_sso_result {
	enum sess_sso status;
	const char *why; /* for the log: why not */
	store_user user;
	char token[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
} sess_sso_result;
int sess_login_sso(const sess_svc *svc, const char *email, const char *ip,
		   int64_t now, sess_sso_result *res);

/* Resolves a token to its session and active user. PV_OK, PV_ENOTFOUND
 * (unknown or revoked), PV_EEXPIRED (idle or absolute limit passed: the
 * session is revoked), PV_EDENIED (the user is no longer active). */
int sess_resolve(const sess_svc *svc, const char *token, int64_t now,
		 store_session *se, store_user *user);

/* 1 when csrf is the session's CSRF token (constant time). */
int sess_csrf_ok(const sess_svc *svc, const store_session *se, const char *csrf);

/* Revokes the session of this token (unknown tokens are fine). */
int sess_revoke(const sess_svc *svc, const char *token);
/* Revokes a resolved session (logout). */
int sess_end(const sess_svc *svc, const store_session *se);

#endif
