/* pg_blob.c: blobs of the PostgreSQL backend: a row in blobs and the bytes
 * in chunks of at most PGS_CHUNK bytes in blob_chunks, written in one
 * transaction (so a blob is whole or absent) and read one chunk per
 * statement (so memory stays bounded whatever the file's size). Every
 * process sharing the database reads what any of them put. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/postgres/pg_internal.h"
#include "util/log.h"
#include "util/util.h"

#define PGS_CHUNK (1024 * 1024)

enum {
	Q_BLOB_NEW = PGS_Q_FIRST_BLOB,
	Q_BLOB_CHUNK,
	Q_BLOB_DONE,
	Q_BLOB_HEAD,
	Q_BLOB_READ,
	Q_BLOB_DEL,
	Q_BLOB_END
};

_Static_assert(Q_BLOB_END <= PGS_Q_FIRST_OP, "too many blob statements");

static const struct pgs_query BQ[] = {
	[Q_BLOB_NEW - PGS_Q_FIRST_BLOB] = {
		"INSERT INTO blobs (id, created_at) VALUES ($1, $2)"
		" ON CONFLICT DO NOTHING RETURNING 1", "ti", 0, "blob_put", 0},
	[Q_BLOB_CHUNK - PGS_Q_FIRST_BLOB] = {
		"INSERT INTO blob_chunks (blob_id, n, data) VALUES ($1, $2, $3)",
		"tib", 0, "blob_put", 0},
	[Q_BLOB_DONE - PGS_Q_FIRST_BLOB] = {
		"UPDATE blobs SET size = $2, chunks = $3 WHERE id = $1", "tii", 0,
		"blob_put", 0},
	[Q_BLOB_HEAD - PGS_Q_FIRST_BLOB] = {
		"SELECT size, chunks FROM blobs WHERE id = $1", "t", 1,
		"blob_get", 0},
	[Q_BLOB_READ - PGS_Q_FIRST_BLOB] = {
		"SELECT data FROM blob_chunks WHERE blob_id = $1 AND n = $2",
		"ti", 1, "blob_get", 0},
	[Q_BLOB_DEL - PGS_Q_FIRST_BLOB] = {
		"DELETE FROM blobs WHERE id = $1", "t", 0, "blob_delete", 0},
};

static int bexec(struct pgs_conn *c, int q, const struct pgs_args *a,
		 int binary, PGresult **r)
{
	return pgs_exec(c, q, &BQ[q - PGS_Q_FIRST_BLOB], a, binary, r);
}

/* The calling thread's connection, outside any transaction. */
static int blob_conn(store *s, const char *id, struct pgs_conn **c)
{
	int err;

	if (!store_blob_id_valid(id))
		return PV_EINVAL;
	err = pgs_enter(s, c);
	if (err)
		return err;
	return (*c)->in_tx ? PV_EINVAL : PV_OK;
}

/* Reads up to cap bytes (fewer only at the end of the file). */
static ssize_t read_full(int fd, unsigned char *p, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, p + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int pgs_blob_put(store *s, const char *id, const char *path)
{
	struct pgs_conn *c;
	unsigned char *buf = NULL;
	int64_t size = 0, chunks = 0;
	PGresult *r = NULL;
	int fd = -1, err;

	if ((err = blob_conn(s, id, &c)) != PV_OK)
		return err;
	if (!path || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return PV_EIO;
	buf = malloc(PGS_CHUNK);
	if (!buf) {
		err = PV_ENOMEM;
		goto out;
	}
	if ((err = pgs_simple(c, "BEGIN", "blob_put")) != PV_OK)
		goto out;
	c->in_tx = 1; /* errors mark it lost; pgs_abandon ends it */
	struct pgs_args a = {0};
	pgs_p_text(&a, id, STORE_ID_MAX);
	pgs_p_int(&a, util_now_ms());
	if ((err = bexec(c, Q_BLOB_NEW, &a, 0, &r)) != PV_OK)
		goto out;
	if (PQntuples(r) == 0) {
		err = PV_ECONFLICT;
		goto out;
	}
	for (;;) {
		ssize_t n = read_full(fd, buf, PGS_CHUNK);
		struct pgs_args b = {0};

		if (n < 0) {
			err = PV_EIO;
			goto out;
		}
		if (n == 0)
			break;
		pgs_p_text(&b, id, STORE_ID_MAX);
		pgs_p_int(&b, chunks);
		pgs_p_bytea(&b, buf, (size_t)n);
		PQclear(r);
		if ((err = bexec(c, Q_BLOB_CHUNK, &b, 0, &r)) != PV_OK)
			goto out;
		chunks++;
		size += n;
		if ((size_t)n < PGS_CHUNK)
			break;
	}
	struct pgs_args d = {0};
	pgs_p_text(&d, id, STORE_ID_MAX);
	pgs_p_int(&d, size);
	pgs_p_int(&d, chunks);
	PQclear(r);
	if ((err = bexec(c, Q_BLOB_DONE, &d, 0, &r)) != PV_OK)
		goto out;
	err = pgs_simple(c, "COMMIT", "blob_put");
	if (err && c->lost)
		err = PV_ESTORE; /* committed or not: unknown */
out:
	PQclear(r);
	if (c->in_tx)
		pgs_abandon(c);
	free(buf);
	close(fd);
	return err;
}

int pgs_blob_get(store *s, const char *id, const char *path)
{
	struct pgs_conn *c;
	PGresult *r = NULL;
	int64_t size, chunks, got = 0;
	int fd = -1, err;

	if ((err = blob_conn(s, id, &c)) != PV_OK)
		return err;
	if (!path)
		return PV_EINVAL;
	struct pgs_args a = {0};
	pgs_p_text(&a, id, STORE_ID_MAX);
	if ((err = bexec(c, Q_BLOB_HEAD, &a, 0, &r)) != PV_OK)
		return err;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return PV_ENOTFOUND;
	}
	size = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	chunks = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	r = NULL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return PV_EIO;
	for (int64_t n = 0; n < chunks; n++) {
		struct pgs_args b = {0};
		const char *p;
		size_t len, off = 0;

		pgs_p_text(&b, id, STORE_ID_MAX);
		pgs_p_int(&b, n);
		PQclear(r);
		if ((err = bexec(c, Q_BLOB_READ, &b, 1, &r)) != PV_OK)
			goto out;
		if (PQntuples(r) != 1) {
			err = PV_ENOTFOUND; /* deleted meanwhile */
			goto out;
		}
		p = PQgetvalue(r, 0, 0);
		len = (size_t)PQgetlength(r, 0, 0);
		while (off < len) {
			ssize_t w = write(fd, p + off, len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				err = PV_EIO;
				goto out;
			}
			off += (size_t)w;
		}
		got += (int64_t)len;
	}
	if (got != size) {
		log_kv(LOG_ERROR, "store: a blob's size does not match its chunks",
		       "id", id, NULL);
		err = PV_ESTORE;
	}
out:
	PQclear(r);
	if (close(fd) != 0 && !err)
		err = PV_EIO;
	if (err)
		unlink(path);
	return err;
}

int pgs_blob_delete(store *s, const char *id)
{
	struct pgs_conn *c;
	PGresult *r;
	int err;

	if ((err = blob_conn(s, id, &c)) != PV_OK)
		return err;
	struct pgs_args a = {0};
	pgs_p_text(&a, id, STORE_ID_MAX);
	err = bexec(c, Q_BLOB_DEL, &a, 0, &r);
	PQclear(r);
	return err;
}
