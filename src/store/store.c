/* store.c: chooses the store backend once, from the URL, and runs
 * transactions for callers (store_tx: the retries are here; one attempt is
 * the backend's when it batches attempts, else begin/fn/commit here). The
 * backend table is the only place that knows which backends exist. */
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
	const char *sync = opt->sqlite_sync;

	*out = NULL;
	if (sync && *sync && strcmp(sync, "full") != 0 && strcmp(sync, "normal") != 0) {
		log_kv(LOG_ERROR, "PRAVESH_SQLITE_SYNC must be full or normal", "value", sync, NULL);
		return PV_EINVAL;
	}
	return store_sqlite_open(path, !(sync && strcmp(sync, "normal") == 0), out);
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
					       STORE_LOCK_TIMEOUT_MS, NULL};
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
	return store_open_sqlite(url, opt, out); /* a bare path */
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

void store_engine_memory(int64_t *used, int64_t *highwater, int64_t *limit)
{
	store_sqlite_memory(used, highwater, limit);
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

/* The hash of the last upload id asked for, per thread: a bulk upload
 * asks for a million ids of one upload. */
static __thread struct {
	char id[STORE_ID_MAX];
	uint64_t tag;
} uid_cache;

static void uid_hex(char *p, uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";

	while (digits-- > 0) {
		p[digits] = hex[v & 15];
		v >>= 4;
	}
}

int store_upload_user_id(const store_upload *u, int64_t row, char *out,
			 size_t cap)
{
	uint64_t t, tag;

	if (!u || !out || cap < 37 || row < 1 || row > STORE_UPLOAD_ROW_MAX ||
	    u->created_at < 0 || strnlen(u->id, sizeof u->id) >= sizeof uid_cache.id)
		return PV_EINVAL;
	if (strcmp(uid_cache.id, u->id) != 0 || !u->id[0]) {
		unsigned char h[crypto_generichash_BYTES_MIN];

		crypto_generichash(h, sizeof h, (const unsigned char *)u->id, strlen(u->id),
				   NULL, 0);
		tag = 0;
		for (int i = 0; i < 6; i++)
			tag = tag << 8 | h[i];
		memcpy(uid_cache.id, u->id, strlen(u->id) + 1);
		uid_cache.tag = tag;
	}
	tag = uid_cache.tag;
	t = (uint64_t)u->created_at & UINT64_C(0xffffffffffff);
	/* tttttttt-tttt-7uuu-8uuu-uuuuuurrrrrr */
	uid_hex(out, t >> 16, 8);
	out[8] = '-';
	uid_hex(out + 9, t & 0xffff, 4);
	out[13] = '-';
	out[14] = '7';
	uid_hex(out + 15, tag >> 36, 3);
	out[18] = '-';
	out[19] = '8';
	uid_hex(out + 20, tag >> 24 & 0xfff, 3);
	out[23] = '-';
	uid_hex(out + 24, tag & 0xffffff, 6);
	uid_hex(out + 30, (uint64_t)row, 6);
	out[36] = '\0';
	return PV_OK;
}

int64_t store_upload_user_row(const char *id)
{
	int64_t row = 0;

	if (!id || strlen(id) != 36 || id[14] != '7' || id[19] != '8')
		return 0;
	for (int i = 30; i < 36; i++) {
		char c = id[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return 0;
		row = row << 4 | v;
	}
	return row;
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

/* One attempt of a transaction on the calling thread's connection. */
static int store_tx_once(store *s, store_tx_fn fn, void *ctx)
{
	int rc = store_tx_begin(s);

	if (rc == PV_EINVAL)
		return rc; /* one is already open: not ours to end */
	if (rc == PV_OK) {
		rc = fn(s, ctx);
		if (rc == PV_OK)
			rc = store_tx_commit(s);
	}
	if (rc != PV_OK)
		store_tx_rollback(s);
	return rc;
}

int store_tx(store *s, store_tx_fn fn, void *ctx)
{
	int rc = PV_EBUSY;

	for (int i = 0; i < STORE_TX_TRIES && rc == PV_EBUSY; i++) {
		if (i)
			store_backoff(i - 1);
		rc = s->ops->tx_attempt ? s->ops->tx_attempt(s, fn, ctx)
					: store_tx_once(s, fn, ctx);
		if (rc == PV_EINVAL)
			return rc;
	}
	if (rc == PV_EBUSY)
		log_kv(LOG_WARN, "store transaction given up after retries", NULL);
	return rc;
}

void store_tx_async(store *s, store_tx_fn fn, void *ctx, store_tx_done done, void *done_ctx)
{
	if (s->ops->tx_submit) {
		s->ops->tx_submit(s, fn, ctx, done, done_ctx);
		return;
	}
	done(done_ctx, store_tx(s, fn, ctx));
}

int store_tx_async_waits(store *s)
{
	return s->ops->tx_submit == NULL;
}
