/* The one error convention of Pravesh: every fallible function returns an
 * int that is PV_OK (0) or one of the negative codes below. http/ maps them
 * to HTTP statuses in one place (http/problem.c). */
#ifndef PV_ERR_H
#define PV_ERR_H

enum pv_err {
	PV_OK = 0,
	PV_ENOMEM = -1,    /* an allocation failed */
	PV_EINVAL = -2,    /* bad argument or input */
	PV_ENOTFOUND = -3, /* no such record */
	PV_ECONFLICT = -4, /* unique constraint or state conflict */
	PV_EIO = -5,       /* file or network I/O failed */
	PV_ELIMIT = -6,    /* a bound was exceeded (size, count, rate) */
	PV_ESTORE = -7,    /* the store failed (backend error) */
	PV_EBUSY = -8,     /* locked or busy; try again */
	PV_EEXPIRED = -9,  /* a code, token or lease has expired */
	PV_EDENIED = -10,  /* not allowed */
	PV_EFORMAT = -11,  /* unreadable or unsupported file content */
	PV_ESTOPPED = -12, /* stopped on request (shutdown) before the end */
};

/* A short static English text for an error code; never NULL. */
const char *pv_strerror(int err);

#endif
