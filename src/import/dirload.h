/* dirload: loading the organisation directory and the positions list from
 * CSV files (pravesh orgs load / positions load). Loads are idempotent and
 * all-or-nothing: every row is checked first, then all are written in one
 * transaction, or nothing is. */
#ifndef PV_DIRLOAD_H
#define PV_DIRLOAD_H

#include <stdio.h>

#include "store/store.h"

#define DIRLOAD_MAX_ROWS 1000000

typedef struct dirload_result {
	long inserted, updated, unchanged;
} dirload_result;

/* CSV columns key,name,sector,type,parent_key (header required, any
 * order). Problems are written to errs, one line each ("line 7: unknown
 * parent_key 'm-x'"); returns PV_OK, PV_EINVAL (bad rows: nothing
 * written), or another pv_err. */
int dirload_orgs(store *s, const char *path, int64_t now, dirload_result *res,
		 FILE *errs);
/* CSV column name. */
int dirload_positions(store *s, const char *path, int64_t now,
		      dirload_result *res, FILE *errs);

#endif
