#include "core/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

const char *const audit_actions[] = {
	"approve", "reject", "create_org", "update_org", "create_position",
	"update_position", "create_admin", "activate", "deactivate", "upload",
	/* the person's own changes (core/person.c) and the sweeper's erasure */
	"update_profile", "change_mobile", "request_email_change", "change_email",
	"close_account", "erase_account",
};
const size_t audit_nactions = sizeof audit_actions / sizeof audit_actions[0];

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

/* What each action's target is. */
static const struct {
	const char *action, *kind;
} audit_kinds[] = {
	{"approve", "request"},		 {"reject", "request"},
	{"create_org", "organisation"},	 {"update_org", "organisation"},
	{"create_position", "position"}, {"update_position", "position"},
	{"create_admin", "user"},	 {"activate", "user"},
	{"deactivate", "user"},		 {"upload", "upload"},
	{"update_profile", "user"},	 {"change_mobile", "user"},
	{"request_email_change", "user"}, {"change_email", "user"},
	{"close_account", "user"},	 {"erase_account", "user"},
};

static void audit_user_name(const store_user *u, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s", u->first_name, u->last_name[0] ? " " : "", u->last_name);
}

/* The name of organisation or position id (directory first, then the
 * store), or NULL. */
static const char *audit_dir_name(store *s, const dir_snap *sn, const char *kind,
				  const char *id, char *buf, size_t cap)
{
	if (!id || !*id)
		return NULL;
	if (strcmp(kind, "organisation") == 0) {
		const dir_org *o = sn ? dir_org_by_id(sn, id) : NULL;
		store_org so;

		if (o)
			return o->name;
		if (store_org_get(s, id, &so) == PV_OK)
			return util_strlcpy(buf, so.name, cap) == PV_OK ? buf : NULL;
	} else {
		const dir_position *p = sn ? dir_position_by_id(sn, id) : NULL;
		store_position sp;

		if (p)
			return p->name;
		if (store_position_get(s, id, &sp) == PV_OK)
			return util_strlcpy(buf, sp.name, cap) == PV_OK ? buf : NULL;
	}
	return NULL;
}

static void audit_target(store *s, const dir_snap *sn, const store_audit *a, audit_view *v)
{
	const char *k = v->target_kind, *name = NULL;
	char buf[STORE_NAME_MAX];
	store_request r;
	store_user u;
	store_upload up;

	if (!*k || !a->target[0])
		return;
	if (strcmp(k, "request") == 0 && store_request_get(s, a->target, &r) == PV_OK)
		name = r.name;
	else if (strcmp(k, "user") == 0 && store_user_get(s, a->target, &u) == PV_OK)
		audit_user_name(&u, v->target_name, sizeof v->target_name);
	else if (strcmp(k, "upload") == 0 && store_upload_get(s, a->target, &up) == PV_OK)
		name = up.original_name[0] ? up.original_name : up.file_name;
	else if (strcmp(k, "organisation") == 0 || strcmp(k, "position") == 0)
		name = audit_dir_name(s, sn, k, a->target, buf, sizeof buf);
	if (name)
		util_strlcpy(v->target_name, name, sizeof v->target_name);
}

/* Names of the organisations and positions the detail refers to. */
static void audit_names(store *s, const dir_snap *sn, const char *action, json_t *detail,
			json_t *names)
{
	static const char *const org_keys[] = {"org_id", "parent_id", "previous_parent_id"};
	char buf[STORE_NAME_MAX];
	const char *id, *name, *kind;

	for (size_t i = 0; i < sizeof org_keys / sizeof org_keys[0]; i++) {
		id = json_string_value(json_object_get(detail, org_keys[i]));
		if ((name = audit_dir_name(s, sn, "organisation", id, buf, sizeof buf)))
			json_object_set_new(names, id, json_string(name));
	}
	/* an approval created an organisation or a position */
	id = json_string_value(json_object_get(detail, "created_id"));
	kind = json_string_value(json_object_get(detail, "kind"));
	if (strcmp(action, "approve") == 0 && kind &&
	    (name = audit_dir_name(s, sn, strcmp(kind, "organisation") == 0 ? "organisation" : "position",
				   id, buf, sizeof buf)))
		json_object_set_new(names, id, json_string(name));
}

int audit_describe(store *s, directory *dir, const store_audit *a, audit_view *v)
{
	dir_snap *sn = dir ? dir_acquire(dir) : NULL;
	json_t *detail;
	store_user u;
	store_cred c;

	memset(v, 0, sizeof *v);
	v->target_kind = "";
	if (!(v->names = json_object())) {
		if (sn)
			dir_release(dir, sn);
		return PV_ENOMEM;
	}
	for (size_t i = 0; i < sizeof audit_kinds / sizeof audit_kinds[0]; i++)
		if (strcmp(audit_kinds[i].action, a->action) == 0)
			v->target_kind = audit_kinds[i].kind;
	if (a->actor_id[0] && store_user_get(s, a->actor_id, &u) == PV_OK) {
		audit_user_name(&u, v->actor_name, sizeof v->actor_name);
		if (store_cred_by_user(s, a->actor_id, &c) == PV_OK)
			util_strlcpy(v->actor_username, c.username, sizeof v->actor_username);
	}
	audit_target(s, sn, a, v);
	if ((detail = json_loads(a->detail, 0, NULL))) {
		audit_names(s, sn, a->action, detail, v->names);
		json_decref(detail);
	}
	if (sn)
		dir_release(dir, sn);
	return PV_OK;
}
