/* error.c: filling struct signet_error (see error.h). */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

enum signet_status error_set(struct signet_error *err, enum signet_status code, const char *spec,
			     const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		err->code = code;
		err->spec = spec;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}
