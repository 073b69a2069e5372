#include "core/audit.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

int audit_record(store *s, const char *actor_id, const char *action,
		 const char *target, const char *ip, json_t *detail, int64_t now)
{
	store_audit a;
	char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;

	memset(&a, 0, sizeof a);
	util_strlcpy(a.actor_id, actor_id ? actor_id : "", sizeof a.actor_id);
	util_strlcpy(a.action, action, sizeof a.action);
	util_strlcpy(a.target, target ? target : "", sizeof a.target);
	util_strlcpy(a.client_ip, ip ? ip : "", sizeof a.client_ip);
	/* a detail too long for its column is replaced, never cut into
	 * invalid JSON */
	if (d && util_strlcpy(a.detail, d, sizeof a.detail) != PV_OK)
		util_strlcpy(a.detail, "{\"truncated\":true}", sizeof a.detail);
	else if (!d)
		util_strlcpy(a.detail, "{}", sizeof a.detail);
	free(d);
	json_decref(detail);
	a.at = now;
	return store_audit_add(s, &a);
}
