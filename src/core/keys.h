/* keys: the server key, kept outside the store, from which every keyed
 * hash of a secret is made (OTP codes, verification, activation and
 * session tokens). Loaded from PRAVESH_SECRET_KEY (64 hex digits) or from
 * <data-dir>/server.key, created once with mode 0600. */
#ifndef PV_KEYS_H
#define PV_KEYS_H

#include <stddef.h>

#include "store/store.h"

#include <sodium.h>

typedef struct keys {
	unsigned char k[32];
	/* HMAC-SHA256 keyed with k, its key blocks already hashed (set by
	 * keys_load; keys_mac keys it afresh when ready is 0) */
	crypto_auth_hmacsha256_state keyed;
	int ready;
} keys;

/* env_hex may be NULL. Returns PV_OK, PV_EINVAL for a malformed key, or
 * PV_EIO when the key file cannot be read or created. */
int keys_load(const char *data_dir, const char *env_hex, keys *out);

/* HMAC-SHA256 of (domain, 0x00, data) under the server key: the domain
 * ("otp", "session", "verify", ...) keeps one kind of secret from being
 * replayed as another. */
void keys_mac(const keys *k, const char *domain, const void *data, size_t n,
	      unsigned char out[STORE_HASH_LEN]);

/* A 32-byte key for another purpose (domain), derived from the server key:
 * the outbox's sealing key is keys_derive(k, "outbox"). */
void keys_derive(const keys *k, const char *domain, unsigned char out[32]);

/* The key under which a limit or a code about value (a mobile number, an
 * address, a username...) is stored: kind ":" and the hex HMAC of value
 * (domain "subject"), so the store never holds the value itself. kind is
 * a short word ("otp", "login-fail"...). PV_OK, or PV_EINVAL when kind is
 * empty or too long. */
int keys_subject(const keys *k, const char *kind, const char *value,
		 char out[STORE_KEY_MAX]);

#endif
