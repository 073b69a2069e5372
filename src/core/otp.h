/* otp: one-time passwords by SMS and the verification tokens that prove a
 * number was verified. Codes are 6 digits from libsodium's generator,
 * stored only as HMACs under the server key, compared in constant time,
 * single use; a new code for the same number and purpose kills the older.
 * Every rule takes `now` (ms) from the caller, so tests inject the clock.
 *
 * Each call runs in its own store transaction (the SQLite backend takes
 * the write lock at BEGIN), so counters and attempts are exact under
 * concurrency and across server processes. */
#ifndef PV_OTP_H
#define PV_OTP_H

#include <stdint.h>

#include "core/keys.h"
#include "store/store.h"

/* The limits. Every limit that protects a person is counted first per
 * client address and only then per person, with the per-address limit
 * well below the person's: one address alone can neither use up a number's
 * codes nor lock it. */
typedef struct otp_policy {
	int ttl_s;         /* a code lives 300 s */
	int resend_s;      /* 30 s between codes for a number and purpose (per address) */
	int max_tries;     /* 3 wrong tries kill a code */
	int per_hour;      /* 5 codes per number per hour from one address */
	int per_day;       /* 20 codes per number per day from one address */
	int number_per_hour; /* 20 codes per number per hour in all */
	int number_per_day;  /* 60 codes per number per day in all */
	int per_ip_hour;   /* 30 codes per client address per hour */
	int fail_per_ip_hour; /* 30 wrong codes per client address per hour */
	int fail_lock;     /* 100 failed logins of a number within an hour... */
	int fail_lock_s;   /* ...lock it for 3600 s */
	int verify_ttl_s;  /* a verification token lives 900 s */
	int verify_taken;  /* a verification token dies at its 3rd email_taken */
} otp_policy;

void otp_policy_default(otp_policy *p);

typedef struct otp_svc {
	store *st;
	const keys *k;
	otp_policy pol;
	const char *login_url; /* in the "already registered" notice */
} otp_svc;

#define OTP_PURPOSE_REGISTER "register"
#define OTP_PURPOSE_REQUEST "request"
#define OTP_PURPOSE_LOGIN "login"
#define OTP_PURPOSE_ADMIN "admin" /* administrators' second factor */
/* a logged-in user's new number, and the user's own number before the
 * account is closed: both need the user (otp_request's `who`) */
#define OTP_PURPOSE_CHANGE_MOBILE "change_mobile"
#define OTP_PURPOSE_ERASURE "erasure"
/* 1 for a purpose a client may ask a code for: "register", "request",
 * "login", "change_mobile" or "erasure" */
int otp_purpose_valid(const char *purpose);
/* 1 for the purposes whose right code buys a verification token:
 * "register", "request", "change_mobile" and "erasure" (a login code
 * starts a session instead) */
int otp_purpose_verifiable(const char *purpose);
/* 1 for the purposes that belong to a logged-in user (change_mobile,
 * erasure): their codes are asked for and verified in a session, and their
 * verification tokens are bound to the user. */
int otp_purpose_needs_user(const char *purpose);

enum otp_status {
	OTP_OK = 0,
	OTP_RATE_LIMITED, /* retry_after says when */
	OTP_INVALID,      /* wrong code, or none live; attempts_left */
	OTP_EXPIRED,
	OTP_LOCKED,       /* the code died of wrong tries: send a new one */
	OTP_NUMBER_LOCKED /* too many failed logins: retry_after */
};

/* What a challenge sends: its code, a notice instead (the number is
 * already registered: template otp_registered_sms, or mobile_taken_sms for
 * a change of number), or nothing (a login code for an unknown number, an
 * erasure code for a number that is not the user's). The challenge and its
 * limits are the same in each case, so the answers cannot tell them
 * apart. */
enum otp_send { OTP_SEND_NOTHING = 0, OTP_SEND_CODE, OTP_SEND_NOTICE };

typedef struct otp_result {
	enum otp_status status;
	int64_t retry_after_s;
	int64_t expires_in_s, resend_in_s;
	int attempts_left;
} otp_result;

/* Issues a code for mobile (10 digits) and purpose, queueing what `send`
 * says in the outbox in the same transaction (language lang). code_out (7
 * bytes, may be NULL) receives the code, for tests and the benchmark only.
 * Returns PV_OK with res->status OTP_OK or OTP_RATE_LIMITED /
 * OTP_NUMBER_LOCKED, or a store error. */
int otp_issue(const otp_svc *svc, const char *mobile, const char *purpose,
	      const char *ip, enum otp_send send, const char *lang, int64_t now,
	      char *code_out, otp_result *res);

/* A client's request for a code (POST /api/v1/otp): decides what to send
 * from whether the number is registered (login: a code only to registered
 * numbers; register and change_mobile: a code, or to a registered number
 * the notice that it is registered and how to log in; request: a code;
 * erasure: a code only when the number is who's own) and issues it. who is
 * the logged-in user, required for the purposes otp_purpose_needs_user()
 * names (PV_EINVAL without), ignored for the others. The answer never
 * tells a caller whether a number is registered. */
int otp_request(const otp_svc *svc, const char *mobile, const char *purpose,
		const store_user *who, const char *ip, const char *lang,
		int64_t now, otp_result *res);

/* The same as otp_check inside the caller's transaction (for a login that
 * checks the code and starts the session in one transaction). */
int otp_check_tx(const otp_svc *svc, const char *mobile, const char *purpose,
		 const char *code, const char *ip, int64_t now, otp_result *res);

/* Checks a code; a right code is used up. Every failed check counts
 * against the client address, before anything else of it is written
 * (fail_per_ip_hour wrong codes an hour: then OTP_RATE_LIMITED, looked at
 * before anything about the number; a right code is not counted). For purpose login, failures then count
 * towards the number's lock and a success clears it. Returns PV_OK with
 * res->status, or a store error. */
int otp_check(const otp_svc *svc, const char *mobile, const char *purpose,
	      const char *code, const char *ip, int64_t now, otp_result *res);

/* Process-wide counters, for metrics. */
typedef struct otp_counters {
	uint64_t sent, verified, failed, rate_limited;
} otp_counters;
void otp_counters_get(otp_counters *out);

#define OTP_TOKEN_LEN 44 /* base64url of 32 bytes, with its NUL */
#define OTP_CODE_LEN 6  /* digits of a one-time code */

/* Issues a verification token (random, stored hashed, single use, bound
 * to number, purpose and holder, verify_ttl_s). holder: the id of the
 * logged-in user it is for, or NULL for an anonymous proof (registration,
 * requests). The store keeps only keyed hashes of the token and of what it
 * is bound to, never the number. */
int otp_token_issue(const otp_svc *svc, const char *mobile,
		    const char *purpose, const char *holder, int64_t now,
		    char token[OTP_TOKEN_LEN]);

/* Consumes a verification token for this number, purpose and holder (NULL
 * for none). PV_OK, or PV_ENOTFOUND (unknown, used, or bound to another
 * number, purpose or holder), PV_EEXPIRED. Call it inside the transaction
 * that acts on the proof: a rollback (any refusal) leaves the token unused,
 * so it keeps proving its own number and purpose, and only those. */
int otp_token_consume(const otp_svc *svc, const char *token,
		      const char *mobile, const char *purpose,
		      const char *holder, int64_t now);

/* The subject under which a number's codes are kept (a keyed hash), for
 * forgetting them at erasure. out: STORE_KEY_MAX bytes. */
int otp_subject(const otp_svc *svc, const char *mobile, char out[STORE_KEY_MAX]);

#endif
