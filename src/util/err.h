/* The one error convention of Pravesh: every fallible function returns an
 * int that is PV_OK (0) or one of the negative codes below. http/ maps them
 * to HTTP statuses in one place (http/problem.c). The codes, their names
 * and their texts come from one list (after libuv's UV_ERRNO_MAP). */
#ifndef PV_ERR_H
#define PV_ERR_H

/* X(name, value, text) */
#define PV_ERR_MAP(X)                                                      \
	X(OK, 0, "ok")                                                     \
	X(ENOMEM, -1, "out of memory")                                     \
	X(EINVAL, -2, "invalid input")                                     \
	X(ENOTFOUND, -3, "not found")                                      \
	X(ECONFLICT, -4, "conflict")                                       \
	X(EIO, -5, "input/output error")                                   \
	X(ELIMIT, -6, "limit exceeded")                                    \
	X(ESTORE, -7, "store error")                                       \
	X(EBUSY, -8, "busy: try the transaction again")                    \
	X(EEXPIRED, -9, "expired")                                         \
	X(EDENIED, -10, "denied")                                          \
	X(EFORMAT, -11, "unreadable or unsupported content")               \
	X(ESTOPPED, -12, "stopped")                                        \
	X(ENOSPACE, -13, "no space left on the device")

enum pv_err {
#define PV_ERR_ENUM(name, value, text) PV_##name = value,
	PV_ERR_MAP(PV_ERR_ENUM)
#undef PV_ERR_ENUM
};

/* A short static English text for an error code; never NULL. */
const char *pv_strerror(int err);
/* The code's name without its prefix ("ENOTFOUND"); "EUNKNOWN" for a
 * value that is not a code. */
const char *pv_errname(int err);

#endif
