#include "import/dirload.h"

#include <stdlib.h>
#include <string.h>

#include "core/validate.h"
#include "import/reader.h"
#include "util/err.h"
#include "util/util.h"
#include "util/utf8.h"

#define DL_MAX_COLS 8

struct dl_org {
	char *key, *name, *sector, *type, *parent;
	long line;
	int depth;
};

struct dl_file {
	imp_reader *r;
	int col[DL_MAX_COLS]; /* column index of each wanted name, -1 none */
	int errors;
	FILE *errs;
};

static void dl_err(struct dl_file *f, long line, const char *fmt, const char *arg)
{
	f->errors++;
	if (f->errors > 50)
		return; /* enough to fix the file; the count says the rest */
	if (line > 0)
		fprintf(f->errs, "line %ld: ", line);
	fprintf(f->errs, fmt, arg);
	fputc('\n', f->errs);
}

/* the trimmed cell i as a new string (caller frees), "" when absent */
static char *dl_cell(const imp_row *row, int i)
{
	size_t len = 0;
	const char *p = "";

	if (i >= 0 && (size_t)i < row->ncells)
		p = util_trim(row->cells[i].p, row->cells[i].len, &len);
	return strndup(p, len);
}

static int dl_row_empty(const imp_row *row)
{
	for (size_t i = 0; i < row->ncells; i++) {
		size_t len;

		util_trim(row->cells[i].p, row->cells[i].len, &len);
		if (len)
			return 0;
	}
	return 1;
}

/* Opens the file and maps the header; returns PV_OK or an error already
 * reported. */
static int dl_open(struct dl_file *f, const char *path, const char *const *names,
		   size_t nnames, FILE *errs)
{
	imp_limits lim;
	imp_row row;
	char msg[256];
	int rc;

	memset(f, 0, sizeof *f);
	f->errs = errs;
	imp_limits_default(&lim);
	lim.max_rows = DIRLOAD_MAX_ROWS;
	if ((rc = imp_open(path, &lim, &f->r, msg, sizeof msg)) != PV_OK) {
		dl_err(f, 0, "%s", msg);
		return rc;
	}
	do {
		rc = imp_next(f->r, &row);
	} while (rc == 1 && dl_row_empty(&row));
	if (rc != 1) {
		dl_err(f, 0, "%s", rc == 0 ? "the file has no header row" : imp_error(f->r));
		return PV_EINVAL;
	}
	for (size_t k = 0; k < nnames; k++) {
		f->col[k] = -1;
		for (size_t i = 0; i < row.ncells; i++) {
			size_t len;
			const char *p = util_trim(row.cells[i].p, row.cells[i].len, &len);

			if (len == strlen(names[k]) && strncasecmp(p, names[k], len) == 0)
				f->col[k] = (int)i;
		}
		if (f->col[k] < 0 && k == 0) {
			dl_err(f, 0, "missing column: %s", names[k]);
			return PV_EINVAL;
		}
	}
	return PV_OK;
}

static int dl_key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n >= STORE_ID_MAX)
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '-' || *k == '_' || *k == '.'))
			return 0;
	return 1;
}

static int dl_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 500 && utf8_valid(s, n) && val_text(s, n, 0);
}

static int dl_cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct dl_org *)a)->key, ((const struct dl_org *)b)->key);
}

static int dl_cmp_depth(const void *a, const void *b)
{
	const struct dl_org *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->line < y->line ? -1 : (x->line > y->line);
}

static struct dl_org *dl_find(struct dl_org *v, size_t n, const char *key)
{
	struct dl_org k;

	k.key = (char *)key;
	return bsearch(&k, v, n, sizeof *v, dl_cmp_key);
}

static void dl_orgs_free(struct dl_org *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].name);
		free(v[i].sector);
		free(v[i].type);
		free(v[i].parent);
	}
	free(v);
}

/* Depth of o within the file (a parent only in the store counts as a
 * root); -1 for a cycle or an unknown parent. */
static int dl_depth(struct dl_org *v, size_t n, struct dl_org *o, store *s)
{
	int d = 0;
	struct dl_org *p = o;
	store_org so;

	while (p->parent[0]) {
		struct dl_org *q = dl_find(v, n, p->parent);

		if (!q)
			return store_org_get(s, p->parent, &so) == PV_OK ? d : -1;
		if (++d > 16 || q == o)
			return -1;
		p = q;
	}
	return d;
}

/* The organisations of a checked file, parents first, in one transaction. */
struct dl_orgs_tx {
	struct dl_org *v;
	size_t n;
	int64_t now;
	struct dl_file *f;
	dirload_result *res;
};

static int dl_orgs_tx(store *s, void *ctx)
{
	struct dl_orgs_tx *x = ctx;
	int rc;

	memset(x->res, 0, sizeof *x->res);
	for (size_t i = 0; i < x->n; i++) {
		const struct dl_org *d = &x->v[i];
		store_org o, old;
		int had;

		memset(&o, 0, sizeof o);
		util_strlcpy(o.id, d->key, sizeof o.id);
		util_strlcpy(o.name, d->name, sizeof o.name);
		util_strlcpy(o.sector, d->sector, sizeof o.sector);
		util_strlcpy(o.type, d->type, sizeof o.type);
		util_strlcpy(o.parent_id, d->parent, sizeof o.parent_id);
		o.active = 1;
		o.created_at = o.updated_at = x->now;
		had = store_org_get(s, o.id, &old) == PV_OK;
		if (had && strcmp(old.name, o.name) == 0 &&
		    strcmp(old.sector, o.sector) == 0 && strcmp(old.type, o.type) == 0 &&
		    strcmp(old.parent_id, o.parent_id) == 0 && old.active) {
			x->res->unchanged++;
			continue;
		}
		if (had)
			o.created_at = old.created_at;
		if ((rc = store_org_upsert(s, &o)) != PV_OK) {
			dl_err(x->f, d->line, "could not be written (%s)", pv_strerror(rc));
			return rc;
		}
		if (had)
			x->res->updated++;
		else
			x->res->inserted++;
	}
	return PV_OK;
}

int dirload_orgs(store *s, const char *path, int64_t now, dirload_result *res,
		 FILE *errs)
{
	static const char *const names[] = {"key", "name", "sector", "type", "parent_key"};
	struct dl_file f;
	struct dl_org *v = NULL;
	size_t n = 0, cap = 0, i;
	imp_row row;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = dl_open(&f, path, names, 5, errs)) != PV_OK)
		goto out;
	for (i = 1; i < 5; i++)
		if (f.col[i] < 0 && i != 4) {
			dl_err(&f, 0, "missing column: %s", names[i]);
			rc = PV_EINVAL;
			goto out;
		}
	while ((rc = imp_next(f.r, &row)) == 1) {
		struct dl_org *o;

		if (dl_row_empty(&row))
			continue;
		if (n == cap) {
			struct dl_org *nv;

			cap = cap ? cap * 2 : 256;
			nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				rc = PV_ENOMEM;
				goto out;
			}
			v = nv;
		}
		o = &v[n++];
		memset(o, 0, sizeof *o);
		o->line = (long)row.number;
		o->key = dl_cell(&row, f.col[0]);
		o->name = dl_cell(&row, f.col[1]);
		o->sector = dl_cell(&row, f.col[2]);
		o->type = dl_cell(&row, f.col[3]);
		o->parent = dl_cell(&row, f.col[4]);
		if (!o->key || !o->name || !o->sector || !o->type || !o->parent) {
			rc = PV_ENOMEM;
			goto out;
		}
		util_lower_ascii(o->sector);
		if (!dl_key_ok(o->key))
			dl_err(&f, o->line, "invalid key '%s' (letters, digits, . _ -; at most 64)", o->key);
		if (!dl_name_ok(o->name))
			dl_err(&f, o->line, "invalid name%s", "");
		if (strcmp(o->sector, "center") && strcmp(o->sector, "state"))
			dl_err(&f, o->line, "sector must be center or state, not '%s'", o->sector);
		if (!o->type[0] || strlen(o->type) >= STORE_SHORT_MAX)
			dl_err(&f, o->line, "invalid type '%s'", o->type);
		if (o->parent[0] && !dl_key_ok(o->parent))
			dl_err(&f, o->line, "invalid parent_key '%s'", o->parent);
	}
	if (rc < 0) {
		dl_err(&f, 0, "%s", imp_error(f.r));
		goto out;
	}
	qsort(v, n, sizeof *v, dl_cmp_key);
	for (i = 0; i + 1 < n; i++)
		if (strcmp(v[i].key, v[i + 1].key) == 0)
			dl_err(&f, v[i + 1].line, "duplicate key '%s'", v[i].key);
	for (i = 0; i < n; i++) {
		v[i].depth = dl_depth(v, n, &v[i], s);
		if (v[i].depth < 0)
			dl_err(&f, v[i].line, "parent_key '%s' is unknown, or the parents form a cycle",
			       v[i].parent);
	}
	if (f.errors) {
		if (f.errors > 50)
			fprintf(errs, "... %d problems in all\n", f.errors);
		rc = PV_EINVAL;
		goto out;
	}
	qsort(v, n, sizeof *v, dl_cmp_depth);
	rc = store_tx(s, dl_orgs_tx, &(struct dl_orgs_tx){v, n, now, &f, res});
out:
	imp_close(f.r);
	dl_orgs_free(v, n);
	return rc;
}

/* The positions of a file, read and written in one transaction (the file
 * is read again if the transaction has to be run again). */
struct dl_pos_tx {
	const char *path;
	FILE *errs;
	int64_t now;
	dirload_result *res;
};

static int dl_positions_tx(store *s, void *ctx)
{
	static const char *const names[] = {"name"};
	struct dl_pos_tx *x = ctx;
	struct dl_file f;
	imp_row row;
	int rc;

	memset(x->res, 0, sizeof *x->res);
	if ((rc = dl_open(&f, x->path, names, 1, x->errs)) != PV_OK)
		return rc;
	while ((rc = imp_next(f.r, &row)) == 1) {
		store_position p, got;
		char *name;
		int created = 0;

		if (dl_row_empty(&row))
			continue;
		if (!(name = dl_cell(&row, f.col[0]))) {
			rc = PV_ENOMEM;
			goto out;
		}
		if (!dl_name_ok(name) || strlen(name) >= STORE_NAME_MAX) {
			dl_err(&f, (long)row.number, "invalid name%s", "");
			free(name);
			continue;
		}
		memset(&p, 0, sizeof p);
		util_uuid(p.id);
		util_strlcpy(p.name, name, sizeof p.name);
		free(name);
		p.active = 1;
		p.created_at = x->now;
		if ((rc = store_position_upsert_name(s, &p, &got, &created)) != PV_OK) {
			dl_err(&f, (long)row.number, "could not be written (%s)", pv_strerror(rc));
			goto out;
		}
		if (created)
			x->res->inserted++;
		else
			x->res->unchanged++;
	}
	if (rc < 0)
		dl_err(&f, 0, "%s", imp_error(f.r));
	else if (f.errors)
		rc = PV_EINVAL;
out:
	imp_close(f.r);
	return rc;
}

int dirload_positions(store *s, const char *path, int64_t now,
		      dirload_result *res, FILE *errs)
{
	return store_tx(s, dl_positions_tx, &(struct dl_pos_tx){path, errs, now, res});
}
