#include "core/fielderr.h"

#include <string.h>

int ferr_has(const field_errs *fe, const char *field)
{
	for (size_t i = 0; i < fe->n; i++)
		if (strcmp(fe->e[i].field, field) == 0)
			return 1;
	return 0;
}

void ferr_add(field_errs *fe, const char *field, const char *code,
	      const char *message)
{
	if (fe->n == FIELDERR_MAX || ferr_has(fe, field))
		return;
	fe->e[fe->n].field = field;
	fe->e[fe->n].code = code;
	fe->e[fe->n].message = message;
	fe->n++;
}
