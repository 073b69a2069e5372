#include "util/err.h"

const char *pv_strerror(int err)
{
	switch (err) {
	case PV_OK: return "ok";
	case PV_ENOMEM: return "out of memory";
	case PV_EINVAL: return "invalid input";
	case PV_ENOTFOUND: return "not found";
	case PV_ECONFLICT: return "conflict";
	case PV_EIO: return "input/output error";
	case PV_ELIMIT: return "limit exceeded";
	case PV_ESTORE: return "store error";
	case PV_EBUSY: return "busy";
	case PV_EEXPIRED: return "expired";
	case PV_EDENIED: return "denied";
	case PV_EFORMAT: return "unreadable or unsupported content";
	case PV_ESTOPPED: return "stopped";
	default: return "unknown error";
	}
}
