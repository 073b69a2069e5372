/* directory: the organisations and positions users choose from, held as an
 * immutable in-memory snapshot (search_index.h) built from the store.
 *
 * Freshness: a snapshot is rebuilt when the store's directory version has
 * changed. The version is read at most once a second per process (so a
 * second server process on the same database sees a new organisation
 * within a second), and at once after dir_invalidate() (this process wrote
 * the directory). Searches keep using the old snapshot while a new one is
 * built; snapshots are reference counted. */
#ifndef PV_DIRECTORY_H
#define PV_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define DIR_MAX_DEPTH 16 /* deeper parent chains are cut (and cycles) */

typedef struct dir_org {
	const char *id, *name, *sector, *type;
	int32_t parent; /* index in the snapshot, -1 for a root */
	int depth;
	int active;
	int64_t children; /* direct children, active or not */
} dir_org;

typedef struct dir_position {
	const char *id, *name;
	int active;
} dir_position;

typedef struct dir_snap dir_snap;
typedef struct directory directory;

/* Opens the directory over a store (not owned) and builds the first
 * snapshot. *out is freed by dir_close(). */
int dir_open(store *s, directory **out);
void dir_close(directory *d); /* accepts NULL; all snapshots released */

/* The current snapshot, refreshed if stale; NULL only when no snapshot
 * could ever be built. Every acquire is paired with dir_release(). */
dir_snap *dir_acquire(directory *d);
void dir_release(directory *d, dir_snap *sn);
/* Forces a rebuild at the next acquire (after a write to the directory). */
void dir_invalidate(directory *d);

/* sector: NULL or "" = both, "center", "state". Writes up to limit
 * pointers (valid while the snapshot is held) into out. PV_EINVAL for a
 * query that is too long or has too many words. */
int dir_search_orgs(const dir_snap *sn, const char *q, size_t qlen,
		    const char *sector, size_t limit, const dir_org **out,
		    size_t *n);
int dir_search_positions(const dir_snap *sn, const char *q, size_t qlen,
			 size_t limit, const dir_position **out, size_t *n);
const dir_org *dir_org_by_id(const dir_snap *sn, const char *id);
const dir_position *dir_position_by_id(const dir_snap *sn, const char *id);
/* Ancestors of org, root first, into path (at most max); returns count. */
size_t dir_org_path(const dir_snap *sn, const dir_org *org,
		    const dir_org **path, size_t max);

/* A per-organisation slot where a caller may keep a rendering of it (the
 * HTTP layer keeps its JSON), valid as long as the snapshot: organisations
 * do not change within a snapshot. get returns NULL when empty; put takes
 * ownership of s (malloc'd) and returns the string that won when two
 * threads raced (the loser's is freed). Freed with the snapshot. */
const char *dir_org_render_get(const dir_snap *sn, const dir_org *org);
const char *dir_org_render_put(const dir_snap *sn, const dir_org *org, char *s);

#endif
