/* audit: one row per administrative action, written in the transaction of
 * the action itself. */
#ifndef PV_AUDIT_H
#define PV_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

/* detail: a JSON object (stolen; may be NULL), cut to STORE_JSON_MAX. */
int audit_record(store *s, const char *actor_id, const char *action,
		 const char *target, const char *ip, json_t *detail, int64_t now);

#endif
