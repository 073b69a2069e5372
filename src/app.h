/* app: what the server's handlers and workers share, built by main.c and
 * torn down by it. Every pointer is owned by main.c. */
#ifndef PV_APP_H
#define PV_APP_H

#include "config.h"
#include "core/accounts.h"
#include "core/directory.h"
#include "core/keys.h"
#include "core/otp.h"
#include "core/registration.h"
#include "core/requests.h"
#include "core/sessions.h"
#include "sso/sso.h"
#include "store/store.h"

typedef struct app {
	const pv_config *cfg;
	store *st;
	directory *dir;
	keys key;
	otp_svc otp;
	sess_svc sess;
	acct_policy acct;
	reg_svc reg;
	rq_svc rq;
	char public_url[512];
	int secure_cookies; /* public URL is https */
	sso *sso; /* single sign-on; NULL when off */
} app;

#endif
