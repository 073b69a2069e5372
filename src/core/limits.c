#include "core/limits.h"

#include "util/err.h"

int64_t lim_wait_s(int64_t until_ms, int64_t now)
{
	return until_ms > now ? (until_ms - now + 999) / 1000 : 1;
}

int lim_hit(store *s, const keys *k, const char *kind, const char *value,
	    int64_t window_ms, int64_t limit, int64_t now, int64_t *retry_after_s)
{
	char key[STORE_KEY_MAX];
	store_throttle t;
	int rc;

	if (window_ms <= 0 || limit <= 0)
		return PV_OK;
	if ((rc = keys_subject(k, kind, value ? value : "", key)) != PV_OK ||
	    (rc = store_throttle_hit(s, key, now, window_ms, 0, 0, &t)) != PV_OK)
		return rc;
	if (t.count <= limit)
		return PV_OK;
	if (retry_after_s)
		*retry_after_s = lim_wait_s(t.window_end, now);
	return PV_ELIMIT;
}

/* The answer of a peek from the state read (t NULL: none). */
static int lim_judge(const store_throttle *t, int64_t limit, int64_t now,
		     int64_t *retry_after_s)
{
	/* an ended window counts for nothing (the next hit starts anew) */
	if (!t || t->window_end <= now || t->count < limit)
		return PV_OK;
	if (retry_after_s)
		*retry_after_s = lim_wait_s(t->window_end, now);
	return PV_ELIMIT;
}

static int lim_read(store *s, const keys *k, const char *kind, const char *value,
		    int64_t window_ms, int64_t limit, int64_t now, int share,
		    int64_t *retry_after_s)
{
	char key[STORE_KEY_MAX];
	store_throttle t;
	int rc;

	if (window_ms <= 0 || limit <= 0)
		return PV_OK;
	if ((rc = keys_subject(k, kind, value ? value : "", key)) != PV_OK)
		return rc;
	rc = share ? store_throttle_peek_share(s, key, now, &t)
		   : store_throttle_peek(s, key, now, &t);
	if (rc == PV_ENOTFOUND)
		return PV_OK;
	if (rc != PV_OK)
		return rc;
	return lim_judge(&t, limit, now, retry_after_s);
}

int lim_peek_with(store *s, const keys *k, const char *kind, const char *value,
		  int64_t window_ms, int64_t limit, int64_t now, int64_t *retry_after_s,
		  const char *other_key, store_throttle *other, int *other_found)
{
	char key[STORE_KEY_MAX];
	store_throttle t[2];
	int found[2], rc;

	*other_found = 0;
	if (window_ms <= 0 || limit <= 0) { /* this limit is off: the other alone */
		rc = store_throttle_peek(s, other_key, now, other);
		*other_found = rc == PV_OK;
		return rc == PV_ENOTFOUND ? PV_OK : rc;
	}
	if ((rc = keys_subject(k, kind, value ? value : "", key)) != PV_OK ||
	    (rc = store_throttle_peek_pair(s, key, other_key, now, t, found)) != PV_OK)
		return rc;
	if ((*other_found = found[1]))
		*other = t[1];
	return lim_judge(found[0] ? &t[0] : NULL, limit, now, retry_after_s);
}

int lim_peek(store *s, const keys *k, const char *kind, const char *value,
	     int64_t window_ms, int64_t limit, int64_t now, int64_t *retry_after_s)
{
	return lim_read(s, k, kind, value, window_ms, limit, now, 0, retry_after_s);
}

int lim_peek_share(store *s, const keys *k, const char *kind, const char *value,
		   int64_t window_ms, int64_t limit, int64_t now, int64_t *retry_after_s)
{
	return lim_read(s, k, kind, value, window_ms, limit, now, 1, retry_after_s);
}
