/* app: what the server's handlers and workers share, built by main.c and
 * torn down by it. Every pointer is owned by main.c. The services are
 * declared, not defined, here: an HTTP file includes the header of each
 * service it calls. */
#ifndef PV_APP_H
#define PV_APP_H

#include "config.h"
#include "store/store.h"

struct otp_svc;
struct sess_svc;
struct acct_policy;
struct reg_svc;
struct rq_svc;
struct adm_svc;
struct directory;
struct sso;
struct http_pages;
struct person_svc;
struct legal;

typedef struct app {
	const pv_config *cfg;
	store *st;
	struct directory *dir;
	const struct otp_svc *otp;
	const struct sess_svc *sess;
	const struct acct_policy *acct;
	const struct reg_svc *reg;
	const struct rq_svc *rq;
	const struct adm_svc *adm;
	char public_url[512];
	int secure_cookies; /* public URL is https */
	struct sso *sso; /* single sign-on; NULL when off */
	struct http_pages *pages; /* the web pages, prepared once */
	const struct person_svc *person; /* the person's own data */
	const struct legal *texts;       /* the terms and the privacy notice */
	const char *help_contact;        /* PRAVESH_HELP_URL, else _EMAIL, else "" */
} app;

#endif
