/* error.h: filling struct signet_error. Internal to libsignet. */
#ifndef SIGNET_ERROR_H
#define SIGNET_ERROR_H

#include <signet/signet.h>

/* Sets err (if not NULL) and returns code, so callers can write
 * `return error_set(err, SIGNET_ERR_SYNTAX, "RFC 6376 3.2", "...", ...);` */
enum signet_status error_set(struct signet_error *err, enum signet_status code, const char *spec,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Propagate a non-OK status. */
#define SIGNET_TRY(expr)                                                                           \
	do {                                                                                       \
		enum signet_status try_st_ = (expr);                                               \
		if (try_st_ != SIGNET_OK)                                                          \
			return try_st_;                                                            \
	} while (0)

#endif
