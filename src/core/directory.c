#include "core/directory.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/search_index.h"
#include "util/log.h"
#include "util/util.h"

#define DIR_RECHECK_MS 1000

/* Strings of a snapshot live in a chain of blocks freed together. */
struct dir_block {
	struct dir_block *next;
	size_t used, cap;
	char data[];
};

struct dir_snap {
	int refs; /* guarded by directory.mu */
	int64_t version;
	struct dir_block *blocks;
	dir_org *orgs;
	const char **parent_ids; /* while building: each org's parent id */
	size_t norgs, orgcap;
	uint32_t *org_byid; /* indices sorted by id */
	dir_position *pos;
	size_t npos, poscap;
	uint32_t *pos_byid;
	sidx *org_idx, *pos_idx;
	char **render; /* per organisation, filled lazily (atomics) */
};

struct directory {
	store *st;
	pthread_mutex_t mu;
	dir_snap *cur;     /* holds one reference */
	int64_t checked_at; /* last version check, ms */
	int stale;          /* dir_invalidate was called */
	int building;       /* a thread is building a snapshot */
};

static char *dir_strdup(dir_snap *sn, const char *s)
{
	size_t n = strlen(s) + 1;
	struct dir_block *b = sn->blocks;
	char *p;

	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;

		b = malloc(sizeof *b + cap);
		if (!b)
			return NULL;
		b->next = sn->blocks;
		b->used = 0;
		b->cap = cap;
		sn->blocks = b;
	}
	p = b->data + b->used;
	memcpy(p, s, n);
	b->used += n;
	return p;
}

static void dir_snap_free(dir_snap *sn)
{
	if (!sn)
		return;
	while (sn->blocks) {
		struct dir_block *b = sn->blocks;

		sn->blocks = b->next;
		free(b);
	}
	for (size_t i = 0; sn->render && i < sn->norgs; i++)
		free(sn->render[i]);
	free(sn->render);
	free(sn->orgs);
	free(sn->parent_ids);
	free(sn->org_byid);
	free(sn->pos);
	free(sn->pos_byid);
	sidx_free(sn->org_idx);
	sidx_free(sn->pos_idx);
	free(sn);
}

static int dir_collect_org(void *ctx, const store_org *o)
{
	dir_snap *sn = ctx;
	dir_org *d;

	if (sn->norgs == sn->orgcap) {
		size_t cap = sn->orgcap ? sn->orgcap * 2 : 1024;
		dir_org *n = realloc(sn->orgs, cap * sizeof *n);
		const char **np;

		if (!n)
			return PV_ENOMEM;
		sn->orgs = n;
		np = realloc(sn->parent_ids, cap * sizeof *np);
		if (!np)
			return PV_ENOMEM;
		sn->parent_ids = np;
		sn->orgcap = cap;
	}
	d = &sn->orgs[sn->norgs];
	memset(d, 0, sizeof *d);
	d->id = dir_strdup(sn, o->id);
	d->name = dir_strdup(sn, o->name);
	d->sector = dir_strdup(sn, o->sector);
	d->type = dir_strdup(sn, o->type);
	/* the parent's id, resolved to an index once all are read */
	d->parent = -1;
	sn->parent_ids[sn->norgs] = o->parent_id[0] ? dir_strdup(sn, o->parent_id) : NULL;
	if (!d->id || !d->name || !d->sector || !d->type ||
	    (o->parent_id[0] && !sn->parent_ids[sn->norgs]))
		return PV_ENOMEM;
	d->active = o->active;
	sn->norgs++;
	return PV_OK;
}

static int dir_collect_pos(void *ctx, const store_position *p)
{
	dir_snap *sn = ctx;
	dir_position *d;

	if (sn->npos == sn->poscap) {
		size_t cap = sn->poscap ? sn->poscap * 2 : 256;
		dir_position *n = realloc(sn->pos, cap * sizeof *n);

		if (!n)
			return PV_ENOMEM;
		sn->pos = n;
		sn->poscap = cap;
	}
	d = &sn->pos[sn->npos];
	d->id = dir_strdup(sn, p->id);
	d->name = dir_strdup(sn, p->name);
	d->active = p->active;
	if (!d->id || !d->name)
		return PV_ENOMEM;
	sn->npos++;
	return PV_OK;
}

static __thread const dir_snap *dir_sort_snap;

static int dir_cmp_org_id(const void *a, const void *b)
{
	return strcmp(dir_sort_snap->orgs[*(const uint32_t *)a].id,
		      dir_sort_snap->orgs[*(const uint32_t *)b].id);
}

static int dir_cmp_pos_id(const void *a, const void *b)
{
	return strcmp(dir_sort_snap->pos[*(const uint32_t *)a].id,
		      dir_sort_snap->pos[*(const uint32_t *)b].id);
}

static int32_t dir_find_org(const dir_snap *sn, const char *id)
{
	size_t lo = 0, hi = sn->norgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sn->orgs[sn->org_byid[mid]].id, id);

		if (c == 0)
			return (int32_t)sn->org_byid[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Resolves parents, depths (cutting cycles and over-deep chains) and
 * children counts. */
static void dir_link(dir_snap *sn)
{
	size_t i;

	for (i = 0; i < sn->norgs; i++) {
		dir_org *o = &sn->orgs[i];
		const char *pid = sn->parent_ids[i];

		o->parent = pid ? dir_find_org(sn, pid) : -1;
		if (o->parent == (int32_t)i)
			o->parent = -1;
	}
	for (i = 0; i < sn->norgs; i++) {
		dir_org *o = &sn->orgs[i];
		int32_t p = o->parent;
		int d = 0;

		while (p >= 0 && d <= DIR_MAX_DEPTH) {
			if (p == (int32_t)i)
				break; /* a cycle: treat as too deep */
			p = sn->orgs[p].parent;
			d++;
		}
		if (p >= 0) {
			log_kv(LOG_WARN, "organisation parent chain cut",
			       "id", o->id, NULL);
			o->parent = -1;
			d = 0;
		}
		o->depth = d;
	}
	for (i = 0; i < sn->norgs; i++)
		if (sn->orgs[i].parent >= 0)
			sn->orgs[sn->orgs[i].parent].children++;
}

static int dir_build(store *st, dir_snap **out)
{
	dir_snap *sn = calloc(1, sizeof *sn);
	sidx_item *items = NULL;
	size_t i, nitems;
	int rc = PV_ENOMEM;

	*out = NULL;
	if (!sn)
		goto out;
	if ((rc = store_dir_version(st, &sn->version)) != PV_OK)
		goto out;
	if ((rc = store_org_each(st, dir_collect_org, sn)) != PV_OK)
		goto out;
	if ((rc = store_position_each(st, dir_collect_pos, sn)) != PV_OK)
		goto out;
	rc = PV_ENOMEM;
	sn->org_byid = malloc((sn->norgs ? sn->norgs : 1) * sizeof(uint32_t));
	sn->pos_byid = malloc((sn->npos ? sn->npos : 1) * sizeof(uint32_t));
	sn->render = calloc(sn->norgs ? sn->norgs : 1, sizeof *sn->render);
	nitems = sn->norgs > sn->npos ? sn->norgs : sn->npos;
	items = malloc((nitems ? nitems : 1) * sizeof *items);
	if (!sn->org_byid || !sn->pos_byid || !items || !sn->render)
		goto out;
	for (i = 0; i < sn->norgs; i++)
		sn->org_byid[i] = (uint32_t)i;
	for (i = 0; i < sn->npos; i++)
		sn->pos_byid[i] = (uint32_t)i;
	dir_sort_snap = sn;
	qsort(sn->org_byid, sn->norgs, sizeof(uint32_t), dir_cmp_org_id);
	qsort(sn->pos_byid, sn->npos, sizeof(uint32_t), dir_cmp_pos_id);
	dir_sort_snap = NULL;
	dir_link(sn);
	free(sn->parent_ids);
	sn->parent_ids = NULL;
	for (i = 0; i < sn->norgs; i++) {
		const dir_org *o = &sn->orgs[i];

		items[i].name = o->name;
		items[i].depth = o->depth;
		items[i].flags = (o->active ? SIDX_ACTIVE : 0u) |
				 (strcmp(o->sector, "center") == 0 ? SIDX_CENTER : 0u) |
				 (strcmp(o->sector, "state") == 0 ? SIDX_STATE : 0u);
	}
	if ((rc = sidx_build(items, sn->norgs, &sn->org_idx)) != PV_OK)
		goto out;
	for (i = 0; i < sn->npos; i++) {
		items[i].name = sn->pos[i].name;
		items[i].depth = 0;
		items[i].flags = sn->pos[i].active ? SIDX_ACTIVE : 0u;
	}
	if ((rc = sidx_build(items, sn->npos, &sn->pos_idx)) != PV_OK)
		goto out;
	sn->refs = 1;
	*out = sn;
	sn = NULL;
	rc = PV_OK;
out:
	free(items);
	dir_snap_free(sn);
	return rc;
}

int dir_open(store *s, directory **out)
{
	directory *d = calloc(1, sizeof *d);
	int rc;

	*out = NULL;
	if (!d)
		return PV_ENOMEM;
	d->st = s;
	pthread_mutex_init(&d->mu, NULL);
	if ((rc = dir_build(s, &d->cur)) != PV_OK) {
		pthread_mutex_destroy(&d->mu);
		free(d);
		return rc;
	}
	d->checked_at = util_now_ms();
	*out = d;
	return PV_OK;
}

void dir_close(directory *d)
{
	if (!d)
		return;
	dir_snap_free(d->cur); /* callers released theirs before closing */
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static void dir_unref_locked(dir_snap *sn, dir_snap **tofree)
{
	if (sn && --sn->refs == 0)
		*tofree = sn;
}

dir_snap *dir_acquire(directory *d)
{
	dir_snap *sn, *fresh = NULL, *old = NULL;
	int64_t now = util_now_ms(), version = 0;
	int check = 0;

	pthread_mutex_lock(&d->mu);
	if (!d->building && (d->stale || now - d->checked_at >= DIR_RECHECK_MS)) {
		d->building = 1;
		check = 1;
	}
	pthread_mutex_unlock(&d->mu);

	if (check) {
		int stale;

		pthread_mutex_lock(&d->mu);
		stale = d->stale;
		d->stale = 0;
		pthread_mutex_unlock(&d->mu);
		if (store_dir_version(d->st, &version) == PV_OK &&
		    (stale || !d->cur || version != d->cur->version)) {
			if (dir_build(d->st, &fresh) != PV_OK)
				log_kv(LOG_ERROR, "directory rebuild failed", NULL);
		}
		pthread_mutex_lock(&d->mu);
		d->checked_at = now;
		d->building = 0;
		if (fresh) {
			dir_unref_locked(d->cur, &old);
			d->cur = fresh;
		}
		pthread_mutex_unlock(&d->mu);
		dir_snap_free(old);
	}

	pthread_mutex_lock(&d->mu);
	sn = d->cur;
	if (sn)
		sn->refs++;
	pthread_mutex_unlock(&d->mu);
	return sn;
}

void dir_release(directory *d, dir_snap *sn)
{
	dir_snap *old = NULL;

	if (!sn)
		return;
	pthread_mutex_lock(&d->mu);
	dir_unref_locked(sn, &old);
	pthread_mutex_unlock(&d->mu);
	dir_snap_free(old);
}

void dir_invalidate(directory *d)
{
	pthread_mutex_lock(&d->mu);
	d->stale = 1;
	pthread_mutex_unlock(&d->mu);
}

#define DIR_SEARCH_MAX 100

int dir_search_orgs(const dir_snap *sn, const char *q, size_t qlen,
		    const char *sector, size_t limit, const dir_org **out,
		    size_t *n)
{
	size_t idx[DIR_SEARCH_MAX], k;
	unsigned must = SIDX_ACTIVE;
	int rc;

	if (sector && strcmp(sector, "center") == 0)
		must |= SIDX_CENTER;
	else if (sector && strcmp(sector, "state") == 0)
		must |= SIDX_STATE;
	if (limit > DIR_SEARCH_MAX)
		limit = DIR_SEARCH_MAX;
	rc = sidx_search(sn->org_idx, q, qlen, must, limit, idx, &k);
	*n = 0;
	if (rc)
		return rc;
	for (size_t i = 0; i < k; i++)
		out[i] = &sn->orgs[idx[i]];
	*n = k;
	return PV_OK;
}

int dir_search_positions(const dir_snap *sn, const char *q, size_t qlen,
			 size_t limit, const dir_position **out, size_t *n)
{
	size_t idx[DIR_SEARCH_MAX], k;
	int rc;

	if (limit > DIR_SEARCH_MAX)
		limit = DIR_SEARCH_MAX;
	rc = sidx_search(sn->pos_idx, q, qlen, SIDX_ACTIVE, limit, idx, &k);
	*n = 0;
	if (rc)
		return rc;
	for (size_t i = 0; i < k; i++)
		out[i] = &sn->pos[idx[i]];
	*n = k;
	return PV_OK;
}

const dir_org *dir_org_by_id(const dir_snap *sn, const char *id)
{
	int32_t i = dir_find_org(sn, id);

	return i < 0 ? NULL : &sn->orgs[i];
}

const dir_position *dir_position_by_id(const dir_snap *sn, const char *id)
{
	size_t lo = 0, hi = sn->npos;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sn->pos[sn->pos_byid[mid]].id, id);

		if (c == 0)
			return &sn->pos[sn->pos_byid[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t dir_org_path(const dir_snap *sn, const dir_org *org,
		    const dir_org **path, size_t max)
{
	size_t n = 0, i;
	int32_t p = org->parent;

	while (p >= 0 && n < max && n < DIR_MAX_DEPTH) {
		path[n++] = &sn->orgs[p];
		p = sn->orgs[p].parent;
	}
	for (i = 0; i < n / 2; i++) {
		const dir_org *t = path[i];

		path[i] = path[n - 1 - i];
		path[n - 1 - i] = t;
	}
	return n;
}


const char *dir_org_render_get(const dir_snap *sn, const dir_org *org)
{
	return __atomic_load_n(&sn->render[org - sn->orgs], __ATOMIC_ACQUIRE);
}

const char *dir_org_render_put(const dir_snap *sn, const dir_org *org, char *s)
{
	char *expected = NULL;

	if (__atomic_compare_exchange_n(&sn->render[org - sn->orgs], &expected, s, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return s;
	free(s);
	return expected;
}
