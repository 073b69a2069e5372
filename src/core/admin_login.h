/* admin_login: administrators' login in two steps (api.md): the password,
 * then a 6-digit code by SMS to the administrator's registered mobile.
 * Only a session made by both has the administrator's roles active; a
 * mobile OTP login of the same person is an ordinary user's session. With
 * the second factor off, the password alone makes such a session. */
#ifndef PV_ADMIN_LOGIN_H
#define PV_ADMIN_LOGIN_H

#include <stdint.h>

#include "core/accounts.h"
#include "core/keys.h"
#include "core/otp.h"
#include "core/sessions.h"
#include "store/store.h"

typedef struct adm_svc {
	store *st;
	const keys *k;
	const acct_policy *acct;
	const otp_svc *otp;
	const sess_svc *sess;
	int second_factor; /* 1: sms (the default), 0: off */
	/* The clock read after the slow password check, for the session's
	 * start (a session must not begin in the past); NULL: wall clock. */
	int64_t (*clock)(void);
} adm_svc;

enum adm_status {
	ADM_SESSION = 0, /* logged in: user, token, csrf */
	ADM_CHALLENGE,   /* the code is on its way: challenge, expires_in, mobile_hint */
	ADM_DENIED,      /* a wrong pair (the same answer for every reason) */
	ADM_LIMITED,     /* throttled: retry_after_s */
	ADM_CODE_WRONG,  /* attempts_left more tries of this code */
	ADM_RESTART      /* the challenge is over: the password step again */
};

typedef struct adm_result {
	enum adm_status status;
	int64_t retry_after_s, expires_in_s;
	int attempts_left;
	char challenge[OTP_TOKEN_LEN];
	char mobile_hint[16]; /* "******3210" */
	store_user user;
	char token[OTP_TOKEN_LEN], csrf[OTP_TOKEN_LEN];
} adm_result;

/* The first step. With the second factor on, a right pair answers
 * ADM_CHALLENGE and the code goes to the administrator's mobile (language
 * lang); with it off, ADM_SESSION. Returns PV_OK with res->status, or an
 * error. */
int adm_password(const adm_svc *svc, const char *username, const char *password,
		 const char *ip, const char *lang, int64_t now, adm_result *res);

/* The second step: the code for a challenge. ADM_SESSION when right (the
 * challenge is used up), ADM_CODE_WRONG while tries are left, ADM_RESTART
 * when the challenge is unknown, used, expired, or its code died (the
 * third wrong try), ADM_LIMITED when this address failed too often.
 * Returns PV_OK with res->status, or an error. */
int adm_second_factor(const adm_svc *svc, const char *challenge, const char *code,
		      const char *ip, int64_t now, adm_result *res);

#endif
