/* requests: "Request for help" — an employee asks for a new position or
 * organisation; an SPV administrator approves (creating it) or rejects;
 * the requester is told by SMS and e-mail either way. Also the SPV's
 * direct additions to the directory. */
#ifndef PV_REQUESTS_H
#define PV_REQUESTS_H

#include <stdint.h>

#include "core/directory.h"
#include "core/fielderr.h"
#include "core/otp.h"
#include "store/store.h"

typedef struct rq_svc {
	store *st;
	directory *dir;
	const otp_svc *otp;
} rq_svc;

typedef struct rq_input {
	const char *kind, *full_name, *email, *mobile, *verification_token,
		*name, *details, *sector, *parent_id;
	int declaration;
	const char *lang;
} rq_input;

/* The checks of rq_submit before its transaction: every field problem
 * into fe (PV_EINVAL), else PV_OK with *r the pending request to insert
 * (a new id, trimmed fields, normalised mobile). Reads the store for the
 * parent organisation, writes nothing. */
int rq_validate(const rq_svc *svc, const rq_input *in, int64_t now,
		store_request *r, field_errs *fe);

/* Files a request (verified mobile, purpose "request"). PV_OK with *out
 * and *existing = 0; or *existing = 1 and *out the pending request of the
 * same kind and name (nothing written, the token stays unused); PV_EINVAL
 * with fe. */
int rq_submit(const rq_svc *svc, const rq_input *in, int64_t now,
	      field_errs *fe, store_request *out, int *existing);

/* The administrator's decision. For approve, name/sector/type/parent_id
 * (may be NULL or "") correct the request; an organisation needs a sector
 * (from the request or here). PV_ENOTFOUND, PV_ECONFLICT (already
 * decided), PV_EINVAL with fe, or for a position whose name now exists
 * PV_EDENIED. The creation, the decision, the notifications and the audit
 * row are one transaction. */
typedef struct rq_decision {
	const char *name, *sector, *type, *parent_id, *reason;
	const char *actor_id, *ip;
} rq_decision;
/* The checks of a decision that need no store: a corrected name of an
 * approval, the reason of a rejection. PV_OK or PV_EINVAL with fe. */
int rq_decision_validate(const rq_decision *d, int approve, field_errs *fe);
int rq_approve(const rq_svc *svc, const char *id, const rq_decision *d,
	       int64_t now, field_errs *fe, store_request *out);
int rq_reject(const rq_svc *svc, const char *id, const rq_decision *d,
	      int64_t now, field_errs *fe, store_request *out);

/* Direct additions by an SPV administrator, audited. */
int rq_org_create(const rq_svc *svc, const char *name, const char *sector,
		  const char *type, const char *parent_id, const char *actor_id,
		  const char *ip, int64_t now, field_errs *fe, store_org *out);
/* PV_ECONFLICT when the name exists (case-insensitive). */
int rq_position_create(const rq_svc *svc, const char *name,
		       const char *actor_id, const char *ip, int64_t now,
		       field_errs *fe, store_position *out);

/* The organisation types an administrator chooses from: the usual ones,
 * then every other type the directory uses; copied into out (at most
 * max); returns how many. */
#define RQ_TYPES_MAX 64
size_t rq_org_types(const rq_svc *svc, char (*out)[STORE_SHORT_MAX], size_t max);

/* An SPV administrator's change of an organisation: rename, another
 * sector or type, a move (parent_id "" makes it a root), deactivation or
 * reactivation. NULL fields (active -1) stay as they are. The fields
 * follow the rules of rq_org_create; a new parent must be an active
 * organisation. PV_EINVAL with fe; PV_ENOTFOUND for an unknown id;
 * PV_ECONFLICT with fe: parent_id "org_cycle" (under itself or below
 * itself), active "org_has_children" (an active organisation is under
 * it), parent_id (a move) or active (a reactivation)
 * "org_parent_inactive" (it would be active under an inactive parent:
 * the parent may have been deactivated since it was checked). The change and its audit row ("update_org", each changed field
 * with its previous value) are one transaction. */
typedef struct rq_org_edit {
	const char *name, *sector, *type, *parent_id;
	int active; /* 1, 0, -1: unchanged */
} rq_org_edit;
int rq_org_update(const rq_svc *svc, const char *id, const rq_org_edit *e,
		  const char *actor_id, const char *ip, int64_t now, field_errs *fe,
		  store_org *out);

/* Renames (name NULL: keeps it) and/or (de)activates a position (active
 * -1: keeps it). PV_EINVAL with fe, PV_ENOTFOUND, PV_ECONFLICT with fe
 * name "position_exists". Audited ("update_position"). */
int rq_position_update(const rq_svc *svc, const char *id, const char *name, int active,
		       const char *actor_id, const char *ip, int64_t now, field_errs *fe,
		       store_position *out);

#endif
