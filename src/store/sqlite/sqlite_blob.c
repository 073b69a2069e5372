/* sqlite_blob.c: blobs of the SQLite backend, kept as files in a folder
 * beside the database ("<database>.blobs", mode 0700), one file per blob
 * named by its id. A blob is written under a temporary name and linked to
 * its id, so it is whole or absent; it is never changed afterwards, so
 * blob_get hands out a hard link when it can (a copy otherwise). Every
 * process that opens the same database file sees the same folder. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite/sqlite_internal.h"
#include "util/util.h"

/* dir: the blob folder; path (may be NULL): the blob id's file in it. */
static int blob_paths(store *s, const char *id, char *dir, char *path,
		      size_t cap)
{
	struct sqs_store *ss = (struct sqs_store *)s;
	struct sqs_conn *c;
	int err;

	if (!store_blob_id_valid(id))
		return PV_EINVAL;
	if ((err = sqs_enter(s, &c)) != PV_OK)
		return err;
	if (c->in_tx)
		return PV_EINVAL;
	if ((size_t)snprintf(dir, cap, "%s.blobs", ss->path) >= cap)
		return PV_ELIMIT;
	if (path && (size_t)snprintf(path, cap, "%s/%s", dir, id) >= cap)
		return PV_ELIMIT;
	return PV_OK;
}

/* Copies src to a new file dst (mode 0600, never overwritten): PV_EIO on
 * any failure, dst removed. */
static int blob_copy(const char *src, const char *dst)
{
	char b[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = PV_OK;
	ssize_t n;

	if (in < 0)
		return PV_EIO;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return PV_EIO;
	}
	while ((n = read(in, b, sizeof b)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = PV_EIO;
			break;
		}
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(out, b + o, (size_t)(n - o));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = PV_EIO;
				goto out;
			}
			o += w;
		}
	}
	if (rc == PV_OK && fsync(out) != 0)
		rc = PV_EIO;
out:
	close(in);
	if (close(out) != 0 && rc == PV_OK)
		rc = PV_EIO;
	if (rc != PV_OK)
		unlink(dst);
	return rc;
}

int sqs_blob_put(store *s, const char *id, const char *path)
{
	char dir[STORE_PATH_MAX], dst[STORE_PATH_MAX], tmp[STORE_PATH_MAX];
	char uid[UUID_STR_LEN];
	int err;

	if ((err = blob_paths(s, id, dir, dst, sizeof dst)) != PV_OK)
		return err;
	if (!path)
		return PV_EINVAL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return PV_EIO;
	util_uuid(uid);
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/.part-%s", dir, uid) >= sizeof tmp)
		return PV_ELIMIT;
	if ((err = blob_copy(path, tmp)) != PV_OK)
		return err;
	if (link(tmp, dst) != 0)
		err = errno == EEXIST ? PV_ECONFLICT : PV_EIO;
	unlink(tmp);
	return err;
}

int sqs_blob_get(store *s, const char *id, const char *path)
{
	char dir[STORE_PATH_MAX], src[STORE_PATH_MAX];
	int err;

	if ((err = blob_paths(s, id, dir, src, sizeof src)) != PV_OK)
		return err;
	if (!path)
		return PV_EINVAL;
	if (access(src, F_OK) != 0)
		return errno == ENOENT ? PV_ENOTFOUND : PV_EIO;
	if (link(src, path) == 0)
		return PV_OK;
	if (errno == EEXIST)
		return PV_EIO;
	err = blob_copy(src, path); /* another file system */
	if (err && access(src, F_OK) != 0 && errno == ENOENT)
		err = PV_ENOTFOUND; /* deleted meanwhile */
	return err;
}

int sqs_blob_delete(store *s, const char *id)
{
	char dir[STORE_PATH_MAX], p[STORE_PATH_MAX];
	int err;

	if ((err = blob_paths(s, id, dir, p, sizeof p)) != PV_OK)
		return err;
	if (unlink(p) != 0 && errno != ENOENT)
		return PV_EIO;
	return PV_OK;
}
