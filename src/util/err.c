#include "util/err.h"

const char *pv_strerror(int err)
{
	switch (err) {
#define PV_ERR_TEXT(name, value, text) \
	case value:                     \
		return text;
		PV_ERR_MAP(PV_ERR_TEXT)
#undef PV_ERR_TEXT
	default:
		return "unknown error";
	}
}

const char *pv_errname(int err)
{
	switch (err) {
#define PV_ERR_NAME(name, value, text) \
	case value:                     \
		return #name;
		PV_ERR_MAP(PV_ERR_NAME)
#undef PV_ERR_NAME
	default:
		return "EUNKNOWN";
	}
}
