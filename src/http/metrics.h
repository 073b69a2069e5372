/* metrics: request counts and latency histograms by route and status, in
 * the Prometheus text format, plus text from other sources (OTPs, outbox,
 * uploads) registered at start-up. Counters are atomics: no lock on the
 * request path. */
#ifndef PV_METRICS_H
#define PV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* route: index in http_routes, http_nroutes for static files, and
 * http_nroutes + 1 for requests that matched nothing. */
void metrics_observe(size_t route, int status, int64_t dur_ns);

/* A source appends its own metric families to out. */
typedef void (*metrics_source_fn)(void *ctx, buf *out);
/* At most 8 sources; call before the server starts. */
int metrics_add_source(metrics_source_fn fn, void *ctx);

/* The whole exposition; returns PV_OK and fills out. */
int metrics_render(buf *out);

#endif
