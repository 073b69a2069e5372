/* audit: one row per administrative action, written in the transaction of
 * the action itself; and the rows made readable for people: who acted (by
 * name and username), on what (by name), and the names of the records the
 * detail refers to. */
#ifndef PV_AUDIT_H
#define PV_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "core/directory.h"
#include "store/store.h"

/* detail: a JSON object (stolen; may be NULL), cut to STORE_JSON_MAX. */
int audit_record(store *s, const char *actor_id, const char *action,
		 const char *target, const char *ip, json_t *detail, int64_t now);

/* The actions written today, for the pages' filter. */
extern const char *const audit_actions[];
extern const size_t audit_nactions;

/* An audit row as people read it. */
typedef struct audit_view {
	/* "" when the row has no actor (the command line) or they are gone */
	char actor_name[2 * STORE_PERSON_MAX];
	char actor_username[STORE_USERNAME_MAX];
	/* what the target is: "request", "organisation", "position", "user",
	 * "upload", or "" for an action this list does not know */
	const char *target_kind;
	char target_name[STORE_PATH_MAX]; /* "" when gone or unknown */
	/* {"<id>": "<name>"} for the organisations and positions named in the
	 * detail (org_id, parent_id, previous_parent_id, created_id); new
	 * reference, the caller decrefs */
	json_t *names;
} audit_view;

/* Fills v for row a, reading the store and the directory (dir may be
 * NULL: names from the store alone). PV_OK even when a name is gone;
 * PV_ENOMEM. */
int audit_describe(store *s, directory *dir, const store_audit *a, audit_view *v);

#endif
