/* store.c: chooses the store backend once, from the URL, and runs
 * transactions for callers (store_tx). The backend table is the only place
 * that knows which backends exist. */
#include "store/store.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "util/log.h"

static int store_open_sqlite(const char *path, const store_options *opt,
			     store **out)
{
	(void)opt;
	return store_sqlite_open(path, out);
}

struct store_backend {
	const char *prefix;
	int keep_prefix; /* hand the whole URL to the backend */
	int (*open)(const char *rest, const store_options *opt, store **out);
};

static const struct store_backend store_backends[] = {
	{"sqlite:", 0, store_open_sqlite},
	{"postgres://", 1, store_pg_open},
	{"postgresql://", 1, store_pg_open},
};

int store_open(const char *url, store **out)
{
	return store_open_with(url, NULL, out);
}

int store_open_with(const char *url, const store_options *opt, store **out)
{
	static const store_options defaults = {STORE_STATEMENT_TIMEOUT_MS,
					       STORE_LOCK_TIMEOUT_MS};
	const char *rest;

	if (!opt)
		opt = &defaults;
	if (!out)
		return PV_EINVAL;
	*out = NULL;
	if (!url || !*url) {
		log_kv(LOG_ERROR, "store: empty URL", NULL);
		return PV_EINVAL;
	}
	for (size_t i = 0; i < sizeof store_backends / sizeof store_backends[0];
	     i++) {
		const struct store_backend *b = &store_backends[i];
		size_t n = strlen(b->prefix);

		if (strncmp(url, b->prefix, n) != 0)
			continue;
		rest = b->keep_prefix ? url : url + n;
		/* "sqlite:///abs/path" is accepted as "sqlite:/abs/path". */
		if (!b->keep_prefix && strncmp(rest, "//", 2) == 0)
			rest += 2;
		return b->open(rest, opt, out);
	}
	if (strstr(url, "://")) {
		log_kv(LOG_ERROR,
		       "store: unknown URL scheme (use sqlite:PATH or postgresql://...)",
		       NULL);
		return PV_EINVAL;
	}
	return store_sqlite_open(url, out); /* a bare path */
}

void store_close(store *s)
{
	if (s)
		s->ops->close(s);
}

static char store_versions_text[96];

static void store_versions_fill(void)
{
	snprintf(store_versions_text, sizeof store_versions_text, "%s, %s",
		 store_sqlite_version(), store_pg_version());
}

const char *store_versions(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, store_versions_fill);
	return store_versions_text;
}

int store_blob_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n >= STORE_ID_MAX || strcmp(id, ".") == 0 ||
	    strcmp(id, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* A pause before retrying a transaction: 1-4 ms on the first retry,
 * doubling, so that colliding writers spread out. */
static void store_backoff(int attempt)
{
	uint32_t base = 1000u << (attempt < 6 ? attempt : 6); /* us */
	uint32_t us = base + randombytes_uniform(base * 3);
	struct timespec ts = {0, (long)us * 1000L};

	nanosleep(&ts, NULL);
}

int store_tx(store *s, store_tx_fn fn, void *ctx)
{
	int rc = PV_EBUSY;

	for (int i = 0; i < STORE_TX_TRIES && rc == PV_EBUSY; i++) {
		if (i)
			store_backoff(i - 1);
		rc = store_tx_begin(s);
		if (rc == PV_EINVAL)
			return rc; /* one is already open: not ours to end */
		if (rc == PV_OK) {
			rc = fn(s, ctx);
			if (rc == PV_OK)
				rc = store_tx_commit(s);
		}
		if (rc != PV_OK)
			store_tx_rollback(s);
	}
	if (rc == PV_EBUSY)
		log_kv(LOG_WARN, "store transaction given up after retries", NULL);
	return rc;
}
