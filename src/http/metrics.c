#include "http/metrics.h"

#include <string.h>

#include "http/http.h"
#include "util/err.h"

#define MET_MAX_ROUTES 128
static const int met_statuses[] = {200, 201, 202, 204, 302, 304, 400, 401,
				   403, 404, 405, 409, 413, 415, 429, 500,
				   503};
#define MET_NSTATUS (sizeof met_statuses / sizeof met_statuses[0])
#define MET_OTHER MET_NSTATUS /* any other status */
/* upper bounds in microseconds */
static const int64_t met_bounds_us[] = {250,   500,    1000,   2500,  5000,
					10000, 25000,  50000,  100000, 250000,
					500000, 1000000, 5000000};
#define MET_NB (sizeof met_bounds_us / sizeof met_bounds_us[0])

struct met_route {
	uint64_t count[MET_NSTATUS + 1];
	uint64_t bucket[MET_NB + 1]; /* last: +Inf */
	uint64_t sum_us;
};

static struct met_route met_routes[MET_MAX_ROUTES + 2];

static struct {
	metrics_source_fn fn;
	void *ctx;
} met_sources[8];
static size_t met_nsources;

static size_t met_route_slot(size_t route)
{
	if (route >= http_nroutes)
		return route == http_nroutes ? MET_MAX_ROUTES : MET_MAX_ROUTES + 1;
	return route < MET_MAX_ROUTES ? route : MET_MAX_ROUTES + 1;
}

void metrics_observe(size_t route, int status, int64_t dur_ns)
{
	struct met_route *m = &met_routes[met_route_slot(route)];
	int64_t us = dur_ns / 1000;
	size_t s, b;

	for (s = 0; s < MET_NSTATUS && met_statuses[s] != status; s++)
		;
	__atomic_fetch_add(&m->count[s], 1, __ATOMIC_RELAXED);
	for (b = 0; b < MET_NB && us > met_bounds_us[b]; b++)
		;
	__atomic_fetch_add(&m->bucket[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->sum_us, (uint64_t)(us > 0 ? us : 0),
			   __ATOMIC_RELAXED);
}

int metrics_add_source(metrics_source_fn fn, void *ctx)
{
	if (met_nsources == sizeof met_sources / sizeof met_sources[0])
		return PV_ELIMIT;
	met_sources[met_nsources].fn = fn;
	met_sources[met_nsources].ctx = ctx;
	met_nsources++;
	return PV_OK;
}

static const char *met_route_name(size_t slot)
{
	if (slot == MET_MAX_ROUTES)
		return "static";
	if (slot == MET_MAX_ROUTES + 1)
		return "unmatched";
	return http_routes[slot].name;
}

int metrics_render(buf *out)
{
	size_t r, s, b;

	buf_adds(out, "# HELP pravesh_http_requests_total HTTP requests by route and status.\n"
		      "# TYPE pravesh_http_requests_total counter\n");
	for (r = 0; r < MET_MAX_ROUTES + 2; r++) {
		if (r < MET_MAX_ROUTES && r >= http_nroutes)
			continue;
		for (s = 0; s <= MET_NSTATUS; s++) {
			uint64_t c = __atomic_load_n(&met_routes[r].count[s],
						     __ATOMIC_RELAXED);

			if (!c)
				continue;
			if (s == MET_OTHER)
				buf_addf(out, "pravesh_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
					 met_route_name(r), (unsigned long long)c);
			else
				buf_addf(out, "pravesh_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
					 met_route_name(r), met_statuses[s],
					 (unsigned long long)c);
		}
	}
	buf_adds(out, "# HELP pravesh_http_request_duration_seconds Time to answer, by route.\n"
		      "# TYPE pravesh_http_request_duration_seconds histogram\n");
	for (r = 0; r < MET_MAX_ROUTES + 2; r++) {
		uint64_t cum = 0;

		if (r < MET_MAX_ROUTES && r >= http_nroutes)
			continue;
		for (b = 0; b <= MET_NB; b++)
			cum += __atomic_load_n(&met_routes[r].bucket[b],
					       __ATOMIC_RELAXED);
		if (!cum)
			continue;
		cum = 0;
		for (b = 0; b <= MET_NB; b++) {
			cum += __atomic_load_n(&met_routes[r].bucket[b],
					       __ATOMIC_RELAXED);
			if (b < MET_NB)
				buf_addf(out, "pravesh_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
					 met_route_name(r),
					 (double)met_bounds_us[b] / 1e6,
					 (unsigned long long)cum);
			else
				buf_addf(out, "pravesh_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
					 met_route_name(r), (unsigned long long)cum);
		}
		buf_addf(out, "pravesh_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
			 met_route_name(r),
			 (double)__atomic_load_n(&met_routes[r].sum_us,
						 __ATOMIC_RELAXED) / 1e6);
		buf_addf(out, "pravesh_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
			 met_route_name(r), (unsigned long long)cum);
	}
	for (s = 0; s < met_nsources; s++)
		met_sources[s].fn(met_sources[s].ctx, out);
	return buf_error(out);
}
