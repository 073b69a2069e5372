#include "core/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"

static int keys_read_file(const char *path, keys *out)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? PV_ENOTFOUND : PV_EIO;
	n = read(fd, out->k, sizeof out->k);
	close(fd);
	return n == (ssize_t)sizeof out->k ? PV_OK : PV_EINVAL;
}

/* The HMAC state after the key: every keys_mac starts from a copy of it
 * instead of hashing the key's two blocks again. */
static int keys_ready(keys *k)
{
	crypto_auth_hmacsha256_init(&k->keyed, k->k, sizeof k->k);
	k->ready = 1;
	return PV_OK;
}

static int keys_load_raw(const char *data_dir, const char *env_hex, keys *out)
{
	char path[1024];
	size_t bin_len = 0;
	int fd, rc;

	if (env_hex && *env_hex) {
		if (sodium_hex2bin(out->k, sizeof out->k, env_hex, strlen(env_hex),
				   NULL, &bin_len, NULL) != 0 ||
		    bin_len != sizeof out->k) {
			log_kv(LOG_ERROR, "PRAVESH_SECRET_KEY must be 64 hex digits", NULL);
			return PV_EINVAL;
		}
		return PV_OK;
	}
	if ((size_t)snprintf(path, sizeof path, "%s/server.key", data_dir) >= sizeof path)
		return PV_EINVAL;
	rc = keys_read_file(path, out);
	if (rc != PV_ENOTFOUND) {
		if (rc != PV_OK)
			log_kv(LOG_ERROR, "cannot read the server key", "path", path, NULL);
		return rc;
	}
	randombytes_buf(out->k, sizeof out->k);
	/* O_EXCL: if another process created it meanwhile, use theirs */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? keys_read_file(path, out) : PV_EIO;
	if (write(fd, out->k, sizeof out->k) != (ssize_t)sizeof out->k ||
	    fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return PV_EIO;
	}
	close(fd);
	log_kv(LOG_INFO, "created the server key", "path", path, NULL);
	return PV_OK;
}

int keys_load(const char *data_dir, const char *env_hex, keys *out)
{
	int rc;

	out->ready = 0;
	if ((rc = keys_load_raw(data_dir, env_hex, out)) != PV_OK)
		return rc;
	return keys_ready(out);
}

void keys_mac(const keys *k, const char *domain, const void *data, size_t n,
	      unsigned char out[STORE_HASH_LEN])
{
	crypto_auth_hmacsha256_state st;
	static const unsigned char zero = 0;

	if (k->ready)
		st = k->keyed;
	else
		crypto_auth_hmacsha256_init(&st, k->k, sizeof k->k);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)domain, strlen(domain));
	crypto_auth_hmacsha256_update(&st, &zero, 1);
	crypto_auth_hmacsha256_update(&st, data, n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

int keys_subject(const keys *k, const char *kind, const char *value,
		 char out[STORE_KEY_MAX])
{
	unsigned char mac[STORE_HASH_LEN];
	size_t kl = strlen(kind);

	if (kl == 0 || kl + 1 + 2 * sizeof mac >= STORE_KEY_MAX)
		return PV_EINVAL;
	keys_mac(k, "subject", value, strlen(value), mac);
	memcpy(out, kind, kl);
	out[kl] = ':';
	sodium_bin2hex(out + kl + 1, STORE_KEY_MAX - kl - 1, mac, sizeof mac);
	sodium_memzero(mac, sizeof mac);
	return PV_OK;
}

void keys_derive(const keys *k, const char *domain, unsigned char out[32])
{
	keys_mac(k, domain, "derived key", strlen("derived key"), out);
}
