/* limits: how many times something may happen per key in a window (codes
 * per number, attempts per address...), counted in the store under a keyed
 * hash of the value, one atomic call each (store_throttle_hit), so that
 * every thread and every server process counts the same hits. */
#ifndef PV_LIMITS_H
#define PV_LIMITS_H

#include <stdint.h>

#include "core/keys.h"
#include "store/store.h"

/* Counts one hit of kind for value ("otp-ip", "203.0.113.7"). PV_OK while
 * at most `limit` hits fall in the window (the hit is counted), PV_ELIMIT
 * past it with *retry_after_s (may be NULL) set to the seconds until the
 * window ends, or a store error. A window or limit <= 0 turns it off. */
int lim_hit(store *s, const keys *k, const char *kind, const char *value,
	    int64_t window_ms, int64_t limit, int64_t now, int64_t *retry_after_s);

/* Whether one more hit would be past the limit, without counting it:
 * PV_ELIMIT (with *retry_after_s, may be NULL, as lim_hit sets it) when
 * the current window already holds `limit` hits, PV_OK when not, or a
 * store error. Reads without writing: no lock on the counter is taken. */
int lim_peek(store *s, const keys *k, const char *kind, const char *value,
	     int64_t window_ms, int64_t limit, int64_t now, int64_t *retry_after_s);

/* lim_peek, reading with it, in the same store call (one round trip on
 * PostgreSQL), the throttle of other_key (a key made by keys_subject):
 * *other_found is 1 and *other its state, or 0 when it has none (where
 * store_throttle_peek answers PV_ENOTFOUND). The answer is lim_peek's. */
int lim_peek_with(store *s, const keys *k, const char *kind, const char *value,
		  int64_t window_ms, int64_t limit, int64_t now, int64_t *retry_after_s,
		  const char *other_key, store_throttle *other, int *other_found);

/* lim_peek that also waits for the hits of the key in flight (not yet
 * committed) and counts them (store_throttle_peek_share): what a success
 * that is not counted asks just before it is granted, so that it cannot
 * pass the failures that take the last of the limit. Hits wait for it
 * until the transaction ends; other such peeks do not. */
int lim_peek_share(store *s, const keys *k, const char *kind, const char *value,
		   int64_t window_ms, int64_t limit, int64_t now, int64_t *retry_after_s);

/* Seconds from now until ms, at least 1. */
int64_t lim_wait_s(int64_t until_ms, int64_t now);

#endif
